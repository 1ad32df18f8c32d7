// Pseudo-variable ids: the types the route script, the receive path and tls_mgm's $tls_*
// variables share. Types only: no functions beyond constexpr predicates.
//
// Who answers what:
//   - the interpreter itself: $var(x), $avp(x) (through ScriptEnv::avps()), $rc/$retcode,
//     $param(n);
//   - the ScriptEnv (pv_get / pv_set): everything else. Names, which ones are writable and
//     which ones are numbers are in the schema's variable table (core/cfg/schema.cc, pv_defs()).
// Numeric variables ($sp, $rp, $cs, $Rp, $rs, $T_reply_code, $T_branch_idx) should be answered
// as integers: `+` concatenates as soon as one side is a string.
#pragma once

#include <cstddef>
#include <cstdint>

namespace sipsd {

enum class PvId : uint8_t {
  kRm,     // $rm    request method (on a reply: the CSeq method)
  kRu,     // $ru    request URI                                   writable
  kSi,     // $si    source IP
  kSp,     // $sp    source port (int)
  kProto,  // $proto, $socket_in(proto): transport of the received message, "tls", "tcp"
  kCi,     // $ci    Call-ID
  kUa,     // $ua    User-Agent

  kRuUser,    // $rU    R-URI user                                   writable
  kRuHost,    // $rd    R-URI host                                   writable
  kRuPort,    // $rp    R-URI port (int)                             writable
  kRuProto,   // $rP    R-URI transport parameter
  kDu,        // $du    destination URI (next hop)                   writable (NULL resets)
  kFromUri,   // $fu
  kFromUser,  // $fU
  kFromHost,  // $fd
  kFromTag,   // $ft
  kToUri,     // $tu
  kToUser,    // $tU
  kToHost,    // $td
  kToTag,     // $tt
  kCseq,      // $cs    CSeq number (int)
  kSocketIn,  // $socket_in  the receiving socket, "tls:192.0.2.1:5061"
  kRcvIp,     // $Ri, $socket_in(ip)    receiving IP
  kRcvPort,   // $Rp, $socket_in(port)  receiving port (int)
  // $socket_out[(proto|ip|port)]: the listener the request is forced out of (force_send_socket
  // or an assignment), "udp:192.0.2.1:5060"; NULL when none is forced. Writable (the whole
  // variable): a listener as force_send_socket() takes it; NULL removes the forcing.
  kSocketOut,
  kReplyStatus,  // $rs    reply status code (int); NULL on requests
  kReplyReason,  // $rr    reply reason phrase; NULL on requests
  kHdr,          // $hdr(Name)[i]  header body; PvRef::name is Name, PvRef::index is i
  kTReplyCode,   // $T_reply_code  (int) 0 when there is no reply
  kTBranchIdx,   // $T_branch_idx  (int)
  // OpenSIPS core variables added for cfg compatibility (issue 12).
  kBody,           // $rb    message body; NULL when there is none
  kContentLength,  // $cl    Content-Length (int)
  kTimestamp,      // $Ts    current Unix time (int)
  kPid,            // $pp    this process's pid (int)
  kTime,           // $time(fmt)  current local time through strftime(fmt); PvRef::name is fmt

  // auth (the credentials www_authorize/proxy_authorize accepted)
  kAuthUser,      // $au  user part of the digest username
  kAuthDomain,    // $ad  its domain part
  kAuthUsername,  // $aU  the whole digest username
  kAuthRealm,     // $ar  the realm

  // Answered by the interpreter, never by the ScriptEnv.
  kVar,    // $var(x)     per process
  kAvp,    // $avp(x)     per message/transaction (AvpStore)
  kRc,     // $rc, $retcode
  kParam,  // $param(n)   route(name, args...) parameter

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

constexpr size_t kPvIdCount = static_cast<size_t>(PvId::kTlsPeerFingerprint) + 1;

constexpr PvId kFirstTlsPv = PvId::kTlsVersion;
constexpr PvId kLastTlsPv = PvId::kTlsPeerFingerprint;
constexpr size_t kTlsPvCount =
    static_cast<size_t>(kLastTlsPv) - static_cast<size_t>(kFirstTlsPv) + 1;

// A $tls_* variable: the ScriptEnv answers it from the connection (tls_mgm/tls_vars.h).
constexpr bool is_tls_pv(PvId id) {
  return id >= kFirstTlsPv && id <= kLastTlsPv;
}

// Variables the interpreter keeps itself: a ScriptEnv never sees them.
constexpr bool is_script_pv(PvId id) {
  return id == PvId::kVar || id == PvId::kAvp || id == PvId::kRc || id == PvId::kParam;
}

}  // namespace sipsd
