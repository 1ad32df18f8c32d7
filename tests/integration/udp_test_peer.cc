#include "tests/integration/udp_test_peer.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace sipsd::test {

namespace {

using Clock = std::chrono::steady_clock;

int ms_left(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return left.count() < 0 ? 0 : static_cast<int>(left.count());
}

}  // namespace

Result<std::unique_ptr<UdpPeer>> UdpPeer::bind(const std::string& ip, uint16_t port) {
  std::unique_ptr<UdpPeer> p(new UdpPeer());
  p->fd_ = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (p->fd_ < 0) return make_error(std::string("socket: ") + strerror(errno));
  struct sockaddr_in a = {};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  if (inet_pton(AF_INET, ip.c_str(), &a.sin_addr) != 1) return make_error("bad address " + ip);
  if (::bind(p->fd_, reinterpret_cast<struct sockaddr*>(&a), sizeof a) != 0)
    return make_error(strprintf("bind %s:%u: %s", ip.c_str(), port, strerror(errno)));
  socklen_t len = sizeof a;
  getsockname(p->fd_, reinterpret_cast<struct sockaddr*>(&a), &len);
  p->local_ip_ = ip;
  p->local_port_ = ntohs(a.sin_port);
  return p;
}

UdpPeer::~UdpPeer() {
  if (fd_ >= 0) close(fd_);
}

Status UdpPeer::send_to(const std::string& ip, uint16_t port, std::string_view bytes) {
  struct sockaddr_in a = {};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  if (inet_pton(AF_INET, ip.c_str(), &a.sin_addr) != 1) return make_error("bad address " + ip);
  ssize_t n =
      sendto(fd_, bytes.data(), bytes.size(), 0, reinterpret_cast<struct sockaddr*>(&a), sizeof a);
  if (n != static_cast<ssize_t>(bytes.size()))
    return make_error(std::string("sendto: ") + strerror(errno));
  return Status::Ok();
}

Result<UdpPeer::Datagram> UdpPeer::recv(Millis timeout) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    struct pollfd pfd = {fd_, POLLIN, 0};
    int rc = poll(&pfd, 1, ms_left(deadline));
    if (rc < 0 && errno == EINTR) continue;
    if (rc <= 0) return make_error("timeout: no datagram");
    char buf[65536];
    struct sockaddr_in from = {};
    socklen_t len = sizeof from;
    ssize_t n = recvfrom(fd_, buf, sizeof buf, 0, reinterpret_cast<struct sockaddr*>(&from), &len);
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) continue;
      return make_error(std::string("recvfrom: ") + strerror(errno));
    }
    Datagram d;
    d.data.assign(buf, static_cast<size_t>(n));
    char ip[INET_ADDRSTRLEN] = {};
    inet_ntop(AF_INET, &from.sin_addr, ip, sizeof ip);
    d.from_ip = ip;
    d.from_port = ntohs(from.sin_port);
    return d;
  }
}

Result<SipMessage> UdpPeer::recv_message(Millis timeout, Datagram* from) {
  Result<Datagram> d = recv(timeout);
  if (!d.ok()) return d.error();
  if (from) *from = *d;
  return SipMessage::parse(d->data);
}

bool UdpPeer::expect_nothing(Millis quiet) {
  return !recv(quiet).ok();
}

SipHop UdpPeer::hop(const std::string& peer_ip, uint16_t peer_port) const {
  SipHop h;
  h.transport = "UDP";
  h.local_ip = local_ip_;
  h.local_port = local_port_;
  h.peer_ip = peer_ip;
  h.peer_port = peer_port;
  return h;
}

}  // namespace sipsd::test
