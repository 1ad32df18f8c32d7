// A worker's own SSL_CTXs, built from the published snapshot (never shared across processes:
// OpenSSL objects stay in the heap of the process that made them). Connections hold a
// shared_ptr to the set they started with, so a newer generation can replace it without
// disturbing them.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/result.h"
#include "tls_mgm/openssl_ptr.h"
#include "tls_mgm/ticket_keys.h"
#include "tls_mgm/tls_snapshot.pb.h"

namespace sipsd {

struct ServerTlsDomain {
  std::string name;
  SslCtxPtr ctx;
};

class ServerTlsContexts {
 public:
  // `tickets` (may be null: per-context keys) seals and opens session tickets; it must outlive
  // the set.
  static Result<std::shared_ptr<const ServerTlsContexts>> build(const tls::TlsSnapshot& snap,
                                                                const TicketKeyStore* tickets);

  uint64_t generation() const { return generation_; }
  bool empty() const { return domains_.empty(); }
  // The domain a new connection on a listener starts with (issue: SNI selection comes with the
  // full domain model).
  const ServerTlsDomain* initial_domain() const {
    return domains_.empty() ? nullptr : &domains_.front();
  }

 private:
  uint64_t generation_ = 0;
  std::vector<ServerTlsDomain> domains_;
};

}  // namespace sipsd
