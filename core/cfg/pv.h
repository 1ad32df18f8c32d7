// Pseudo-variable ids: the types the route script, the receive path and tls_mgm's $tls_*
// variables share. Types only: no functions beyond constexpr predicates.
#pragma once

#include <cstddef>
#include <cstdint>

namespace sipsd {

// Pseudo-variables the script may read (OpenSIPS names).
enum class PvId : uint8_t {
  kRm,     // $rm    request method
  kRu,     // $ru    request URI
  kSi,     // $si    source IP
  kSp,     // $sp    source port
  kProto,  // $proto transport of the received message: "tls", "tcp"
  kCi,     // $ci    Call-ID
  kUa,     // $ua    User-Agent

  // tls_mgm: the connection's TLS session (OpenSIPS names; NULL on a connection that is not
  // TLS). tls_mgm/tls_vars.h computes them; keep them contiguous, kTlsVersion first and
  // kTlsPeerFingerprint last (is_tls_pv).
  kTlsVersion,      // $tls_version       protocol, "TLSv1.3"
  kTlsDescription,  // $tls_description   the cipher's one-line description
  kTlsCipherInfo,   // $tls_cipher_info   cipher name
  kTlsCipherBits,   // $tls_cipher_bits   symmetric key bits
  kTlsPeerVersion,  // $tls_peer_version  X.509 version field (v3 = "2")
  kTlsMyVersion,    // $tls_my_version
  kTlsPeerSerial,   // $tls_peer_serial   serial number, decimal, full length
  kTlsMySerial,     // $tls_my_serial
  // $tls_{peer,my}_{subject,issuer}: one-line DN; _cn … _unit: the first such RDN, UTF-8.
  kTlsPeerSubject,
  kTlsPeerSubjectCn,
  kTlsPeerSubjectLocality,
  kTlsPeerSubjectCountry,
  kTlsPeerSubjectState,
  kTlsPeerSubjectOrganization,
  kTlsPeerSubjectUnit,
  kTlsPeerSubjectSerial,  // the DN's serialNumber attribute
  kTlsPeerIssuer,
  kTlsPeerIssuerCn,
  kTlsPeerIssuerLocality,
  kTlsPeerIssuerCountry,
  kTlsPeerIssuerState,
  kTlsPeerIssuerOrganization,
  kTlsPeerIssuerUnit,
  kTlsMySubject,
  kTlsMySubjectCn,
  kTlsMySubjectLocality,
  kTlsMySubjectCountry,
  kTlsMySubjectState,
  kTlsMySubjectOrganization,
  kTlsMySubjectUnit,
  kTlsMySubjectSerial,
  kTlsMyIssuer,
  kTlsMyIssuerCn,
  kTlsMyIssuerLocality,
  kTlsMyIssuerCountry,
  kTlsMyIssuerState,
  kTlsMyIssuerOrganization,
  kTlsMyIssuerUnit,
  // $tls_{peer,my}_san_{email,hostname,uri,ip}: the first subjectAltName of that type.
  kTlsPeerSanEmail,
  kTlsPeerSanHostname,
  kTlsPeerSanUri,
  kTlsPeerSanIp,
  kTlsMySanEmail,
  kTlsMySanHostname,
  kTlsMySanUri,
  kTlsMySanIp,
  kTlsPeerVerified,     // $tls_peer_verified    "1": a peer certificate that verified OK
  kTlsPeerRevoked,      // $tls_peer_revoked     "1"/"0"
  kTlsPeerExpired,      // $tls_peer_expired     "1"/"0"
  kTlsPeerSelfsigned,   // $tls_peer_selfsigned  "1"/"0"
  kTlsPeerNotBefore,    // $tls_peer_notBefore   "Jan  1 00:00:00 2030 GMT"
  kTlsPeerNotAfter,     // $tls_peer_notAfter
  kTlsSni,              // $tls_sni              server name the client sent (beyond OpenSIPS)
  kTlsDomain,           // $tls_domain           matched tls_mgm domain (beyond OpenSIPS)
  kTlsPeerFingerprint,  // $tls_peer_fingerprint SHA-256, "AB:01:…" (beyond OpenSIPS)
};

constexpr PvId kFirstTlsPv = PvId::kTlsVersion;
constexpr PvId kLastTlsPv = PvId::kTlsPeerFingerprint;
constexpr size_t kTlsPvCount =
    static_cast<size_t>(kLastTlsPv) - static_cast<size_t>(kFirstTlsPv) + 1;

// A $tls_* variable: the ScriptEnv answers it from the connection (tls_mgm/tls_vars.h).
constexpr bool is_tls_pv(PvId id) {
  return id >= kFirstTlsPv && id <= kLastTlsPv;
}

}  // namespace sipsd
