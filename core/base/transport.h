// The transports a SIP message can travel on. Every layer names them (statistics, the
// connection table, listeners, the cfg), so the enum lives at the bottom of the tree.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace sipsd {

enum class Proto : uint8_t { kUdp, kTcp, kTls };

// "udp", "tcp", "tls" (lower case, as OpenSIPS's $socket_in(proto)).
const char* proto_name(Proto p);
// Case-insensitive "udp" / "tcp" / "tls"; nullopt for anything else.
std::optional<Proto> proto_from_name(std::string_view name);
// True for the connection-oriented transports (TCP and TLS).
constexpr bool is_stream(Proto p) {
  return p != Proto::kUdp;
}

}  // namespace sipsd
