// Building SSL_CTXs from the domains of a TLS snapshot, in the process that will use them
// (OpenSSL objects are never shared across processes).
#pragma once

#include "core/result.h"
#include "tls_mgm/openssl_ptr.h"
#include "tls_mgm/tls_snapshot.pb.h"

namespace sipsd {

// One server SSL_CTX with sipsd's fixed policy (TLS 1.2 floor, no renegotiation, no
// compression, server cipher preference) and the domain's material and verify settings.
Result<SslCtxPtr> build_server_ctx(const tls::TlsDomain& domain);

}  // namespace sipsd
