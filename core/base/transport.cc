#include "core/base/transport.h"

#include "core/base/ascii.h"

namespace sipsd {

const char* proto_name(Proto p) {
  switch (p) {
    case Proto::kUdp:
      return "udp";
    case Proto::kTcp:
      return "tcp";
    case Proto::kTls:
      return "tls";
  }
  return "?";
}

std::optional<Proto> proto_from_name(std::string_view name) {
  if (ascii_iequals(name, "udp")) return Proto::kUdp;
  if (ascii_iequals(name, "tcp")) return Proto::kTcp;
  if (ascii_iequals(name, "tls")) return Proto::kTls;
  return std::nullopt;
}

}  // namespace sipsd
