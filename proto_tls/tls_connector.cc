#include "proto_tls/tls_connector.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "core/base/clock.h"
#include "proto_tls/tcp_io.h"
#include "proto_tls/tls_io.h"
#include "tls_mgm/openssl_errors.h"

namespace sipsd {

namespace {

bool is_ip(const std::string& s) {
  unsigned char buf[16];
  return inet_pton(AF_INET, s.c_str(), buf) == 1 || inet_pton(AF_INET6, s.c_str(), buf) == 1;
}

}  // namespace

Result<std::unique_ptr<StreamConn>> start_outbound(const StreamConnContext& conn_ctx,
                                                   const StreamConnParams& params,
                                                   const OutboundTarget& target, SSL_CTX* ssl_ctx,
                                                   uint32_t conn_id,
                                                   std::shared_ptr<const void> keep_alive) {
  std::string where = strprintf("%s:%s:%u", proto_name(target.proto), target.ip.c_str(),
                                static_cast<unsigned>(target.port));
  struct sockaddr_storage ss = {};
  socklen_t len;
  int family;
  if (inet_pton(AF_INET, target.ip.c_str(), &reinterpret_cast<sockaddr_in*>(&ss)->sin_addr) == 1) {
    auto* a = reinterpret_cast<struct sockaddr_in*>(&ss);
    a->sin_family = family = AF_INET;
    a->sin_port = htons(target.port);
    len = sizeof *a;
  } else if (inet_pton(AF_INET6, target.ip.c_str(),
                       &reinterpret_cast<sockaddr_in6*>(&ss)->sin6_addr) == 1) {
    auto* a = reinterpret_cast<struct sockaddr_in6*>(&ss);
    a->sin6_family = family = AF_INET6;
    a->sin6_port = htons(target.port);
    len = sizeof *a;
  } else {
    return make_error(where + ": not a numeric address");
  }
  if (target.proto == Proto::kTls && ssl_ctx == nullptr)
    return make_error(where + ": no TLS client domain to connect with");

  UniqueFd fd(socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) return make_error(where + ": socket: " + strerror(errno));
  int one = 1;
  setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (connect(fd.get(), reinterpret_cast<struct sockaddr*>(&ss), len) != 0 && errno != EINPROGRESS)
    return make_error(where + ": connect: " + strerror(errno));

  std::unique_ptr<StreamIo> io;
  if (target.proto == Proto::kTls) {
    openssl_clear_errors();
    SslPtr ssl(SSL_new(ssl_ctx));
    if (!ssl || SSL_set_fd(ssl.get(), fd.get()) != 1)
      return make_error(where + ": SSL_new: " + openssl_drain_errors());
    SSL_set_connect_state(ssl.get());
    if (!target.server_name.empty() && !is_ip(target.server_name)) {
      // SNI carries host names only (RFC 6066 §3); the check covers SAN dNSName, then CN.
      if (SSL_set_tlsext_host_name(ssl.get(), target.server_name.c_str()) != 1 ||
          SSL_set1_host(ssl.get(), target.server_name.c_str()) != 1)
        return make_error(where + ": bad server name '" + target.server_name + "'");
    } else {
      const std::string& addr = target.server_name.empty() ? target.ip : target.server_name;
      if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl.get()), addr.c_str()) != 1)
        return make_error(where + ": cannot check the certificate against " + addr);
    }
    io = std::make_unique<TlsIo>(std::move(ssl), target.tls_domain);
  } else {
    io = std::make_unique<TcpIo>(fd.get());
  }

  ConnInfo info;
  info.id = conn_id;
  info.owner = conn_ctx.owner_index;
  info.proto = static_cast<uint8_t>(target.proto);
  info.remote_port = target.port;
  info.created_ms = realtime_ms();
  ConnTable table = conn_ctx.table;
  std::optional<uint32_t> slot = table.allocate(info);
  if (!slot) return make_error(where + ": the connection table is full");

  ConnEndpoints ends;
  ends.id = conn_id;
  ends.slot = *slot;
  ends.proto = target.proto;
  ends.remote_ip = target.ip;
  ends.remote_port = target.port;
  ends.accepted_at_ms = info.created_ms;
  ends.outbound = true;
  ends.listener = -1;
  auto conn = std::make_unique<StreamConn>(conn_ctx, std::move(fd), std::move(io), ends, params,
                                           std::move(keep_alive));
  return conn;
}

}  // namespace sipsd
