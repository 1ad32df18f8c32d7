// Outbound connections: a non-blocking connect() and, for TLS, a client handshake that sends
// SNI and checks the server's certificate against the name (or address) we meant to reach —
// the two things OpenSIPS's client side never did (its issues #3529 and #3064). The result is
// an ordinary StreamConn owned by the calling worker, in the connection table like the others.
#pragma once

#include <openssl/ssl.h>

#include <cstdint>
#include <memory>
#include <string>

#include "core/base/result.h"
#include "core/cfg/config.h"
#include "proto_tls/stream_conn.h"

namespace sipsd {

struct OutboundTarget {
  Proto proto = Proto::kTls;
  std::string ip;  // numeric
  uint16_t port = 0;
  // The name to reach: sent as SNI and matched against the certificate's SAN/CN. Empty: no SNI,
  // and the certificate must name `ip` instead.
  std::string server_name;
  // TLS: the name of the tls_mgm client domain `ssl_ctx` belongs to. The connection shows it
  // (ConnInfo::tls_domain) from the start, so that a later send to the same peer with the same
  // domain reuses it (cert_check_on_conn_reusage).
  std::string tls_domain;
};

// Starts connecting from the worker described by `conn_ctx`. `ssl_ctx` is the client domain's
// context (null for plain TCP); the server's certificate must match target.server_name (or the
// address), unless the client domain has verify_cert=0, which records the result instead.
// `keep_alive` is held by the connection (the context set it was made from). Errors here are local
// (no slot, bad address, socket); what happens on the network later closes the returned connection
// with a logged reason.
Result<std::unique_ptr<StreamConn>> start_outbound(const StreamConnContext& conn_ctx,
                                                   const StreamConnParams& params,
                                                   const OutboundTarget& target, SSL_CTX* ssl_ctx,
                                                   uint32_t conn_id,
                                                   std::shared_ptr<const void> keep_alive);

}  // namespace sipsd
