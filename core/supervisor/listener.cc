#include "core/supervisor/listener.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "core/base/sockaddr_text.h"

namespace sipsd {

std::string BoundListener::name() const {
  bool v6 = ip.find(':') != std::string::npos;
  return strprintf(v6 ? "%s:[%s]:%u" : "%s:%s:%u", proto_name(spec.proto), ip.c_str(),
                   static_cast<unsigned>(port));
}

Result<BoundListener> bind_listener(const ListenSpec& spec, int backlog) {
  std::string where = spec.pos.str() + ": listen " + proto_name(spec.proto) + ":" + spec.host;
  struct addrinfo hints = {};
  hints.ai_socktype = SOCK_STREAM;
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
