// The route script: compiled once from the cfg AST at start (core/script.cc), interpreted per
// message in a worker. The interpreter reaches the message and the connection only through
// ScriptEnv, so it can be unit-tested without sockets.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "core/base/log.h"

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

class ScriptEnv {
 public:
  virtual ~ScriptEnv() = default;
  // The value of a pseudo-variable for the current message; nullopt = NULL (not present).
  // The view stays valid until the script run ends. is_peer_verified() is
  // pv(PvId::kTlsPeerVerified) == "1".
  virtual std::optional<std::string_view> pv(PvId id) = 0;
  // sl_send_reply(code, reason): > 0 on success, < 0 on failure (script truth value).
  virtual int sl_send_reply(int code, std::string_view reason) = 0;
  // xlog output, already formatted (variables substituted, trailing newline removed).
  virtual void xlog(LogLevel level, std::string_view text) = 0;
};

enum class ScriptOutcome : uint8_t {
  kEnd,   // the main route ran to its end
  kExit,  // `exit` (or return(0))
  kDrop,  // `drop`
};

}  // namespace sipsd

namespace sipsd {

class CfgScriptBuilder;  // core/script.cc builds a Script from the parsed cfg

// A compiled, immutable route script, shared by every message a process handles.
class Script {
 public:
  ~Script();
  Script(const Script&) = delete;
  Script& operator=(const Script&) = delete;

  // Runs the main request route (`route { ... }` / `route[0]`) for one request. A script
  // without a main route returns kEnd at once.
  ScriptOutcome run_request(ScriptEnv& env) const;

  struct Impl;

 private:
  friend class CfgScriptBuilder;
  explicit Script(Impl* impl);
  Impl* impl_;
};

}  // namespace sipsd
