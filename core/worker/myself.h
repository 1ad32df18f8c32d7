// "Is this host:port us?" (OpenSIPS's check_self, behind is_myself(), `uri == myself` and
// loose_route()): the addresses of the listeners, as bound and as advertised (`as`), and the
// cfg's alias= names.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "core/cfg/config.h"
#include "core/transport/transport.h"

namespace sipsd {

class Myself {
 public:
  // `aliases`: the cfg's alias= names (may be null).
  explicit Myself(const std::vector<SocketAddr>* sockets,
                  const std::vector<AliasSpec>* aliases = nullptr)
      : sockets_(sockets), aliases_(aliases) {}

  // The listener (index) that host:port names, or -1. Port 0 (the URI had none) matches a
  // listener on any port. IPv6 references may keep their brackets.
  int socket_of(std::string_view host, uint16_t port) const;
  // The same for a SIP URI, or a bare "host[:port]".
  int socket_of_uri(std::string_view uri_or_host) const;

 private:
  const std::vector<SocketAddr>* sockets_;
  const std::vector<AliasSpec>* aliases_;
};

}  // namespace sipsd
