// Loads and validates what the TLS domains point at (certificates, keys, CA lists, CRLs, DH
// parameters) and builds the snapshot the supervisor publishes to the workers. Runs in the
// supervisor only, at start (and on reload): it is the only place that reads TLS files from
// disk.
//
// Checked per domain, server and client alike: every file readable; the private key not
// readable or writable by other users and matching the certificate; the certificate neither
// expired nor not yet valid (a warning when it expires within 14 days); the certificate's chain
// (with the intermediates of its own file) against the domain's ca_list/ca_dir when given — an
// issuer that is simply not there is a warning (a server's own CA need not be the one it trusts
// for clients), any other failure an error; each file of crl_dir one or more PEM CRLs (a CRL
// past its nextUpdate is a warning); dh_params PEM DH parameters; tls_method, ciphers_list,
// ciphersuites and ec_curve accepted by OpenSSL; and finally the worker's SSL_CTX built once
// from the result (tls_mgm/ssl_ctx_builder.h), so a snapshot that loads is one workers can use.
#pragma once

#include <string>
#include <vector>

#include "core/base/result.h"
#include "tls_mgm/tls_domain_config.h"
#include "tls_mgm/tls_snapshot.pb.h"

namespace sipsd {

// Days before a certificate's notAfter from which loading warns.
constexpr int kCertExpiryWarningDays = 14;

// Every error reads "file:line:col: tls_mgm: domain 'x': parameter 'y': ..." and names the file
// when one is involved; warnings likewise.
Result<tls::TlsSnapshot> load_tls_snapshot(const std::vector<TlsDomainConfig>& domains,
                                           std::vector<std::string>* warnings);

}  // namespace sipsd
