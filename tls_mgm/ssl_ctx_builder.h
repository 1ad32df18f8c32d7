// Building SSL_CTXs from the domains of a TLS snapshot, in the process that will use them
// (OpenSSL objects are never shared across processes).
//
// Both kinds apply the domain's tls_method (TLS 1.2 floor unless a lower version was named),
// ciphers_list (TLS <= 1.2; without it effective_cipher_list()), ciphersuites (TLS 1.3), ec_curve
// (groups list), certificate chain and key, verify depth (default 3, as OpenSIPS), and a CA store
// from ca_list and ca_dir with the CRLs of crl_dir (X509_V_FLAG_CRL_CHECK, plus CRL_CHECK_ALL with
// crl_check_all). Fixed policy: no renegotiation, no compression, unexpected EOF is a plain close,
// record buffers released when idle, partial writes from a moving buffer.
#pragma once

#include <string>

#include "core/base/result.h"
#include "tls_mgm/openssl_ptr.h"
#include "tls_mgm/tls_snapshot.pb.h"

namespace sipsd {

// The verify depth a domain asks for (its verify_depth, else kDefaultVerifyDepth: 3).
int effective_verify_depth(const tls::TlsDomain& domain);

// The TLS <= 1.2 cipher list a domain uses: its ciphers_list as given, else sipsd's default,
// Mozilla's "intermediate" profile: ECDHE (ECDSA or RSA) with AES-GCM or CHACHA20-POLY1305,
// plus the same DHE-RSA suites when the domain has dh_params. No CBC, RC4, 3DES, NULL, export
// or static-RSA suite (OpenSSL's own default offers CBC suites, LUCKY13-prone). TLS 1.3 suites
// are separate (ciphersuites) and stay at OpenSSL's default.
std::string effective_cipher_list(const tls::TlsDomain& domain);

// A server SSL_CTX (TLS_server_method): the policy above plus server cipher preference, DH
// parameters (dh_params), the session cache off (resumption is by stateless session tickets,
// whose keys are installed separately), a fixed session id context, and the verify mode from
// verify_cert/require_cert (the CAs of ca_list are announced in the CertificateRequest). The
// domain must have a certificate.
Result<SslCtxPtr> build_server_ctx(const tls::TlsDomain& domain);

// A client SSL_CTX (TLS_client_method) for outbound connections: the policy above, the
// certificate and key when the domain has one, SSL_VERIFY_PEER when verify_cert (otherwise the
// server's chain is still verified against the store and the result recorded). Host name checks
// are per connection (SSL_set1_host), not here.
Result<SslCtxPtr> build_client_ctx(const tls::TlsDomain& domain);

}  // namespace sipsd
