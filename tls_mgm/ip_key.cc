#include "tls_mgm/ip_key.h"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>

namespace sipsd {

std::optional<std::string> ip_port_key(std::string_view ip, uint16_t port) {
  char in[INET6_ADDRSTRLEN + 1];
  if (ip.empty() || ip.size() >= sizeof in) return std::nullopt;
  ip.copy(in, ip.size());
  in[ip.size()] = '\0';
  unsigned char bin[16];
  char out[INET6_ADDRSTRLEN];
  std::string key;
  if (inet_pton(AF_INET, in, bin) == 1) {
    inet_ntop(AF_INET, bin, out, sizeof out);
    key = out;
  } else if (inet_pton(AF_INET6, in, bin) == 1) {
    // An IPv4-mapped IPv6 address is the IPv4 address (a dual-stack listener reports those).
    static constexpr unsigned char kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (std::equal(kMapped, kMapped + 12, bin)) {
      inet_ntop(AF_INET, bin + 12, out, sizeof out);
      key = out;
    } else {
      inet_ntop(AF_INET6, bin, out, sizeof out);
      key = std::string("[") + out + "]";
    }
  } else {
    return std::nullopt;
  }
  key += ':';
  key += std::to_string(port);
  return key;
}

std::optional<std::string> parse_ip_port_key(std::string_view text) {
  size_t colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == text.size())
    return std::nullopt;
  std::string_view host = text.substr(0, colon);
  std::string_view port_text = text.substr(colon + 1);
  unsigned port = 0;
  auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc() || end != port_text.data() + port_text.size() || port > 65535)
    return std::nullopt;
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  return ip_port_key(host, static_cast<uint16_t>(port));
}

}  // namespace sipsd
