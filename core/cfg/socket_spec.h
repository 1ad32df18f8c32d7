// `socket=` / `listen=` definitions as written, before they are checked (core/cfg/config.cc).
// The scanner is part of the Lexer (core/cfg/socket_spec.cc), because host syntax (IPv6,
// dotted names) is decided character by character.
#pragma once

#include <cstdint>
#include <string>

#include "core/cfg/source.h"

namespace sipsd::cfg {

// What `socket=` / `listen=` hold up to the options: PROTO ":" HOST [ ":" PORT ].
struct SocketSpec {
  std::string proto;  // as written
  Loc proto_loc;
  std::string host;  // IPv6 without brackets, quotes removed, "*" for any
  Loc host_loc;
  bool has_port = false;
  int64_t port = 0;
  Loc port_loc;
};

}  // namespace sipsd::cfg
