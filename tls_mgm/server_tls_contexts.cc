#include "tls_mgm/server_tls_contexts.h"

#include "tls_mgm/ssl_ctx_builder.h"

namespace sipsd {

Result<std::shared_ptr<const ServerTlsContexts>> ServerTlsContexts::build(
    const tls::TlsSnapshot& snap, const TicketKeyStore* tickets) {
  auto set = std::make_shared<ServerTlsContexts>();
  set->generation_ = snap.generation();
  for (const tls::TlsDomain& d : snap.server_domains()) {
    Result<SslCtxPtr> ctx = build_server_ctx(d);
    if (!ctx.ok()) return ctx.error();
    if (tickets != nullptr) install_ticket_keys(ctx->get(), tickets);
    set->domains_.push_back(ServerTlsDomain{d.name(), std::move(ctx).value()});
  }
  return std::shared_ptr<const ServerTlsContexts>(std::move(set));
}

}  // namespace sipsd
