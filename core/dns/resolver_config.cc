#include "core/dns/resolver_config.h"

#include <algorithm>

namespace sipsd::dns {

ResolverParams resolver_params(const Config& cfg) {
  ResolverParams p;
  p.try_naptr = cfg.core.dns_try_naptr;
  p.try_ipv6 = cfg.core.dns_try_ipv6;
  p.retr_time_s = cfg.core.dns_retr_time;
  p.retr_no = cfg.core.dns_retr_no;
  p.servers = cfg.core.dns_servers;
  p.max_pending = static_cast<size_t>(cfg.core.dns_max_pending);
  p.tls_default_port = static_cast<uint16_t>(cfg.tls.port);
  for (const ListenSpec& l : cfg.listeners)
    if (std::find(p.supported.begin(), p.supported.end(), l.proto) == p.supported.end())
      p.supported.push_back(l.proto);
  return p;
}

}  // namespace sipsd::dns
