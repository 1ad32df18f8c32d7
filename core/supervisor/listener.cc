#include "core/supervisor/listener.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "core/base/sockaddr_text.h"

namespace sipsd {

std::string BoundListener::name() const {
  bool v6 = ip.find(':') != std::string::npos;
  return strprintf(v6 ? "%s:[%s]:%u" : "%s:%s:%u", proto_name(spec.proto), ip.c_str(),
                   static_cast<unsigned>(port));
}

namespace {

// A UDP socket for `spec` bound to `addr`, in the SO_REUSEPORT group of that address.
Result<UniqueFd> bind_udp(const std::string& where, const struct addrinfo* res, uint16_t port) {
  UniqueFd fd(socket(res->ai_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) return make_error(where + ": socket: " + strerror(errno));
  int one = 1;
  setsockopt(fd.get(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  if (res->ai_family == AF_INET6) setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  // Room for bursts: the kernel caps this at net.core.rmem_max.
  int rcvbuf = 4 << 20;
  setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  struct sockaddr_storage ss = {};
  memcpy(&ss, res->ai_addr, res->ai_addrlen);
  if (ss.ss_family == AF_INET6)
    reinterpret_cast<struct sockaddr_in6*>(&ss)->sin6_port = htons(port);
  else
    reinterpret_cast<struct sockaddr_in*>(&ss)->sin_port = htons(port);
  if (bind(fd.get(), reinterpret_cast<struct sockaddr*>(&ss), res->ai_addrlen) != 0)
    return make_error(where + strprintf(":%u: cannot bind: %s", port, strerror(errno)));
  return fd;
}

}  // namespace

Result<BoundListener> bind_listener(const ListenSpec& spec, int backlog, int udp_sockets) {
  std::string where = spec.pos.str() + ": listen " + proto_name(spec.proto) + ":" + spec.host;
  struct addrinfo hints = {};
  hints.ai_socktype = spec.proto == Proto::kUdp ? SOCK_DGRAM : SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  const char* host = spec.host == "*" ? nullptr : spec.host.c_str();
  if (host == nullptr) hints.ai_family = AF_INET;
  std::string port = std::to_string(spec.port);
  struct addrinfo* res = nullptr;
  int rc = getaddrinfo(host, port.c_str(), &hints, &res);
  if (rc != 0) return make_error(where + ": cannot resolve: " + gai_strerror(rc));
  std::unique_ptr<struct addrinfo, decltype(&freeaddrinfo)> owned(res, freeaddrinfo);

  BoundListener l;
  l.spec = spec;
  l.wildcard = host == nullptr;
  int family = res->ai_family;
  if (spec.proto == Proto::kUdp) {
    // The first socket takes the port (the real one when the cfg asked for 0); the others
    // join its group.
    uint16_t group_port = spec.port;
    for (int i = 0; i < std::max(udp_sockets, 1); ++i) {
      Result<UniqueFd> fd = bind_udp(where, res, group_port);
      if (!fd.ok()) return fd.error();
      if (i == 0) {
        IpPort bound = local_ip_port(fd->get());
        l.ip = std::move(bound.ip);
        l.port = group_port = bound.port;
      }
      l.udp_fds.push_back(std::move(fd).value());
    }
    return l;
  }
  l.fd.reset(socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!l.fd) return make_error(where + ": socket: " + strerror(errno));
  int one = 1;
  setsockopt(l.fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (family == AF_INET6) setsockopt(l.fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  if (bind(l.fd.get(), res->ai_addr, res->ai_addrlen) != 0)
    return make_error(where + strprintf(":%u: cannot bind: %s", spec.port, strerror(errno)));
  if (listen(l.fd.get(), backlog) != 0) return make_error(where + ": listen: " + strerror(errno));

  IpPort bound = local_ip_port(l.fd.get());
  l.ip = std::move(bound.ip);
  l.port = bound.port;
  return l;
}

}  // namespace sipsd
