// RFC 5626 flow tokens: what an edge proxy writes into the user part of its Path (add_path*)
// and Record-Route URIs so that requests coming back towards an outbound phone leave on the
// very flow the phone registered (or called) over, and are refused with 430 (Flow Failed) when
// that flow is gone, rather than sent on a new connection the phone would never accept.
//
//   flow-<hex>   where the bytes are
//   version (1) | proto (1) | family (1: 4|6) | ip (4|16) | port (2) | listener (2)
//   | connection id (4) | HMAC-SHA256(key, the bytes before), first 10 bytes
//
// The key is random, drawn by the supervisor before it forks, so every worker (a respawned one
// too) checks every token, and a token names a connection of this run only. A token that does
// not verify was forged or altered (RFC 5626 §5.2 asks for that protection).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/base/transport.h"

namespace sipsd::tm {

inline constexpr std::string_view kFlowTokenPrefix = "flow-";
inline constexpr size_t kFlowTokenKeySize = 32;

// The flow a request arrived on: the peer's address, the listener it came to, and (TCP/TLS)
// the connection.
struct Flow {
  Proto proto = Proto::kUdp;
  std::string ip;  // numeric
  uint16_t port = 0;
  int listener = -1;     // -1: a connection this side opened
  uint32_t conn_id = 0;  // 0 for UDP
};

// "" when the flow cannot be written (an address that is not numeric).
std::string encode_flow_token(std::string_view key, const Flow& flow);

enum class FlowTokenStatus : uint8_t {
  kNotAToken,  // no "flow-" prefix: an ordinary user part
  kOk,
  kForged,  // the prefix, but malformed or the MAC does not verify
};
FlowTokenStatus decode_flow_token(std::string_view key, std::string_view user, Flow* out);

}  // namespace sipsd::tm
