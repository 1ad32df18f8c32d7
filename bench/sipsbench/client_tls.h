// The client side of TLS for sipsbench: one SSL_CTX per worker thread, built from the
// options (trust anchors, client certificate, protocol versions, session caching).
#pragma once

#include "bench/sipsbench/options.h"
#include "core/base/result.h"
#include "tls_mgm/openssl_ptr.h"

namespace sipsd::bench {

Result<SslCtxPtr> build_client_ctx(const Options& options);

// Call mode: the listening callees' server side, --cert/--key (no client certificate asked
// for), the --tls-version range.
Result<SslCtxPtr> build_server_ctx(const Options& options);

// A new SSL for one connection on `fd`: SNI and the name or address to verify set up,
// `session` (may be null) offered for resumption.
Result<SslPtr> new_client_ssl(SSL_CTX* ctx, const Options& options, int fd, SSL_SESSION* session);

}  // namespace sipsd::bench
