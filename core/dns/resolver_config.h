// The resolver's parameters from the validated cfg: the dns_* core parameters, tls_port as
// the TLS default port, and the transports sipsd listens on (NAPTR may only choose those).
#pragma once

#include "core/cfg/config.h"
#include "core/dns/resolver.h"

namespace sipsd::dns {

ResolverParams resolver_params(const Config& cfg);

}  // namespace sipsd::dns
