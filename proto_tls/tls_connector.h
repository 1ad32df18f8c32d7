// Outbound connections: a non-blocking connect() and, for TLS, a client handshake that sends
// SNI and checks the server's certificate against the name (or address) we meant to reach —
// the two things OpenSIPS's client side never did (its issues #3529 and #3064). The result is
// an ordinary StreamConn owned by the calling worker, in the connection table like the others.
#pragma once

#include <openssl/ssl.h>

#include <cstdint>
#include <memory>
#include <string>

#include "core/cfg/config.h"
#include "core/base/result.h"
#include "proto_tls/stream_conn.h"

namespace sipsd {

struct OutboundTarget {
  Proto proto = Proto::kTls;
  std::string ip;  // numeric
  uint16_t port = 0;
  // The name to reach: sent as SNI and matched against the certificate's SAN/CN. Empty: no SNI,
  // and the certificate must name `ip` instead.
  std::string server_name;
};

// What the worker provides for its outbound connections.
struct OutboundEnv {
  struct event_base* base = nullptr;
  const StreamConnParams* params = nullptr;
  StreamConnOwner* owner = nullptr;
  ReadScratch* scratch = nullptr;
  ConnTable table;
  int owner_index = 0;
};

// Starts connecting. `ctx` is the client domain's context (null for plain TCP); `check_name`:
// refuse a certificate that does not match the target (the default; a client domain with
// verify_cert=0 records the result instead). `keep_alive` is held by the connection (the
// context set it was made from). Errors here are local (no slot, bad address, socket); what
// happens on the network later closes the returned connection with a logged reason.
Result<std::unique_ptr<StreamConn>> start_outbound(OutboundEnv& env, const OutboundTarget& target,
                                                   SSL_CTX* ctx, uint32_t conn_id,
                                                   std::shared_ptr<const void> keep_alive);

}  // namespace sipsd
