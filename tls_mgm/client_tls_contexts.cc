#include "tls_mgm/client_tls_contexts.h"

#include "tls_mgm/ssl_ctx_builder.h"

namespace sipsd {

Result<std::shared_ptr<const ClientTlsContexts>> ClientTlsContexts::build(
    const tls::TlsSnapshot& snap) {
  auto set = std::make_shared<ClientTlsContexts>();
  std::vector<DomainMatchRules> rules;
  for (const tls::TlsDomain& d : snap.client_domains()) {
    Result<SslCtxPtr> ctx = build_client_ctx(d);
    if (!ctx.ok()) return ctx.error();
    set->domains_.push_back(Domain{d.name(), std::move(ctx).value(), d.verify_cert()});
    rules.push_back(DomainMatchRules{d.name(),
                                     {d.match_ip_address().begin(), d.match_ip_address().end()},
                                     {d.match_sip_domain().begin(), d.match_sip_domain().end()}});
  }
  Result<ClientDomainMatcher> matcher = ClientDomainMatcher::build(rules);
  if (!matcher.ok()) return matcher.error();
  set->matcher_ = std::make_unique<ClientDomainMatcher>(std::move(matcher).value());
  return std::shared_ptr<const ClientTlsContexts>(std::move(set));
}

int ClientTlsContexts::select(std::string_view name, std::string_view dest_key,
                              std::string_view sip_domain) const {
  if (!name.empty()) return matcher_->by_name(name);
  return matcher_->match(dest_key, sip_domain);
}

}  // namespace sipsd
