#include "core/base/sockaddr_text.h"

#include <arpa/inet.h>
#include <netinet/in.h>

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

}  // namespace sipsd
