// The $tls_* script variables (OpenSIPS tls_mgm names, plus $tls_sni, $tls_domain and
// $tls_peer_fingerprint) and is_peer_verified(), computed from a connection's TlsConnView.
//
// Formats (see tls_vars.cc for the details):
//   $tls_version         SSL_get_version: "TLSv1.3"                               (OpenSIPS)
//   $tls_description     the cipher's one-line description, trailing newline cut  (OpenSIPS)
//   $tls_cipher_info     cipher name: "TLS_AES_256_GCM_SHA384"                    (OpenSIPS)
//   $tls_cipher_bits     decimal: "256"                                           (OpenSIPS)
//   $tls_*_version       X.509 version field, decimal, 0-based: v3 = "2"          (OpenSIPS)
//   $tls_*_serial        decimal, full length (OpenSIPS prints a long: truncated)
//   $tls_*_subject/issuer one-line DN: "/C=AT/O=Example/CN=alice"                 (OpenSIPS)
//   $tls_*_{subject,issuer}_{cn,…,unit}, _subject_serial
//                        the first RDN of that type, as UTF-8                     (OpenSIPS)
//   $tls_*_san_*         the first subjectAltName of that type; IPs as inet_ntop prints them
//   $tls_peer_verified   "1" a peer certificate that verified OK, else "0"        (OpenSIPS)
//   $tls_peer_revoked    "1" when the verify result is "certificate revoked"      (OpenSIPS)
//   $tls_peer_expired    "1" when the verify result says expired or notAfter has passed
//   $tls_peer_selfsigned "1" when the verify result says self-signed leaf or the
//                        certificate signs itself
//   $tls_peer_notBefore/notAfter  "Nov 27 00:53:06 2026 GMT" (ASN1_TIME_print)   (OpenSIPS)
//   $tls_sni             the server name the client sent; NULL when it sent none
//   $tls_domain          the matched tls_mgm domain name; NULL when unknown
//   $tls_peer_fingerprint SHA-256 of the DER certificate, "AB:01:…" (upper-case hex, as
//                        `openssl x509 -fingerprint -sha256` prints it)
// Everything is NULL on a connection that is not TLS; certificate values are NULL when there
// is no such certificate (no client certificate, no local certificate on a client connection).
#pragma once

#include <openssl/ssl.h>
#include <openssl/types.h>

#include <array>
#include <optional>
#include <string>
#include <string_view>

#include "core/cfg/pv.h"

namespace sipsd {

// The TLS side of one connection, as the script sees it: read from its SSL, or kept by the
// connection when the SSL is gone (tls_record_handoff). Pointers live as long as the connection.
struct TlsConnView {
  bool tls = false;                    // false = not a TLS connection
  const char* version = nullptr;       // SSL_get_version
  const SSL_CIPHER* cipher = nullptr;  // SSL_get_current_cipher
  X509* peer = nullptr;                // the peer's certificate; null = none
  X509* local = nullptr;               // ours; null = none
  long verify = 0;                     // SSL_get_verify_result (0 = X509_V_OK)
  std::string_view sni;     // the SNI the ClientHello carried ("" = none, or not captured)
  std::string_view domain;  // the tls_mgm domain chosen for the connection ("" = unknown)

  // Everything from a live SSL; sni is the name the SSL knows (the one a client sent).
  static TlsConnView of(SSL* ssl);
};

// The value of a $tls_* pseudo-variable; `scratch` holds it when it must be formatted (the
// returned view may point into scratch or into OpenSSL's objects, which live as long as the
// SSL). nullopt = NULL, also for an id that is not a $tls_* one.
std::optional<std::string_view> tls_pv(const TlsConnView& conn, PvId id, std::string* scratch);

// is_peer_verified(): a TLS connection whose peer presented a certificate that verified OK.
bool tls_peer_verified(const TlsConnView& conn);

// Each $tls_* value computed once and kept while the cache lives, so a ScriptEnv can hand out
// views valid for the whole script run even when two are alive at once ($a == $b). Per
// message (or per connection, reset() when a message starts):
//   if (is_tls_pv(id)) return tls_cache_.get(id);
class TlsPvCache {
 public:
  TlsPvCache() = default;
  explicit TlsPvCache(const TlsConnView& conn) : conn_(conn) {}

  // Forgets every value; the next get() computes from `conn`.
  void reset(const TlsConnView& conn);
  std::optional<std::string_view> get(PvId id);

 private:
  enum class State : uint8_t { kUnknown, kNull, kValue };
  TlsConnView conn_;
  std::array<State, kTlsPvCount> state_{};
  std::array<std::string_view, kTlsPvCount> value_{};
  std::array<std::string, kTlsPvCount> scratch_;
};

}  // namespace sipsd
