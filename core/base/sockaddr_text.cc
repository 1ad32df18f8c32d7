#include "core/base/sockaddr_text.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <charconv>

namespace sipsd {

IpPort sockaddr_to_ip_port(const struct sockaddr_storage& ss) {
  IpPort out;
  char buf[INET6_ADDRSTRLEN] = {};
  if (ss.ss_family == AF_INET6) {
    const auto* a = reinterpret_cast<const struct sockaddr_in6*>(&ss);
    inet_ntop(AF_INET6, &a->sin6_addr, buf, sizeof buf);
    out.port = ntohs(a->sin6_port);
  } else if (ss.ss_family == AF_INET) {
    const auto* a = reinterpret_cast<const struct sockaddr_in*>(&ss);
    inet_ntop(AF_INET, &a->sin_addr, buf, sizeof buf);
    out.port = ntohs(a->sin_port);
  }
  out.ip = buf;
  return out;
}

IpPort local_ip_port(int fd) {
  struct sockaddr_storage ss = {};
  socklen_t len = sizeof ss;
  if (getsockname(fd, reinterpret_cast<struct sockaddr*>(&ss), &len) != 0) return {};
  return sockaddr_to_ip_port(ss);
}

std::string ip_port_text(const std::string& ip, uint16_t port) {
  if (ip.find(':') != std::string::npos) return "[" + ip + "]:" + std::to_string(port);
  return ip + ":" + std::to_string(port);
}

namespace {

bool is_ip(const std::string& s, int family) {
  unsigned char buf[sizeof(struct in6_addr)];
  return inet_pton(family, s.c_str(), buf) == 1;
}

std::string_view trim_blanks(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

Result<std::vector<IpPort>> parse_ip_port_list(std::string_view text, uint16_t default_port,
                                               size_t max_items) {
  std::vector<IpPort> out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    if (comma == std::string_view::npos) comma = text.size();
    std::string_view item = trim_blanks(text.substr(start, comma - start));
    start = comma + 1;
    const std::string shown(item);
    if (item.empty()) return make_error("empty address in list");
    if (out.size() == max_items)
      return make_error(strprintf("too many addresses (at most %zu)", max_items));
    IpPort ip_port{.ip = "", .port = default_port};
    std::string_view port_text;
    if (item.front() == '[') {  // [IPv6] or [IPv6]:port
      size_t close = item.find(']');
      if (close == std::string_view::npos)
        return make_error(strprintf("'%s': missing ']'", shown.c_str()));
      ip_port.ip = std::string(item.substr(1, close - 1));
      std::string_view rest = item.substr(close + 1);
      if (!rest.empty()) {
        if (rest.front() != ':')
          return make_error(strprintf("'%s': expected ':port' after ']'", shown.c_str()));
        port_text = rest.substr(1);
        if (port_text.empty()) return make_error(strprintf("'%s': empty port", shown.c_str()));
      }
      if (!is_ip(ip_port.ip, AF_INET6))
        return make_error(strprintf("'%s': not an IPv6 address", shown.c_str()));
    } else if (item.find(':') != item.rfind(':')) {  // bare IPv6, no port
      ip_port.ip = std::string(item);
      if (!is_ip(ip_port.ip, AF_INET6))
        return make_error(strprintf("'%s': not an IPv6 address", shown.c_str()));
    } else {  // IPv4 or IPv4:port
      size_t colon = item.find(':');
      ip_port.ip = std::string(item.substr(0, colon));
      if (colon != std::string_view::npos) {
        port_text = item.substr(colon + 1);
        if (port_text.empty()) return make_error(strprintf("'%s': empty port", shown.c_str()));
      }
      if (!is_ip(ip_port.ip, AF_INET))
        return make_error(strprintf("'%s': not a numeric IP address", shown.c_str()));
    }
    if (!port_text.empty()) {
      unsigned port = 0;
      auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
      if (ec != std::errc() || end != port_text.data() + port_text.size() || port == 0 ||
          port > 65535)
        return make_error(strprintf("'%s': bad port (allowed: 1..65535)", shown.c_str()));
      ip_port.port = static_cast<uint16_t>(port);
    }
    out.push_back(std::move(ip_port));
  }
  return out;
}

}  // namespace sipsd
