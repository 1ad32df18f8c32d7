#include "core/transport/udp_socket.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cerrno>
#include <cstring>

#include "core/base/log.h"
#include "core/shm/stats.h"

namespace sipsd {

UdpSocket::UdpSocket(UniqueFd fd, std::string ip, uint16_t port, int listener)
    : fd_(std::move(fd)), ip_(std::move(ip)), port_(port), listener_(listener) {}

UdpSocket::~UdpSocket() = default;

bool UdpSocket::start_reading(struct event_base* base, DatagramHandler* handler,
                              OutputBatch* batch) {
  handler_ = handler;
  batch_ = batch;
  buffers_ = std::make_unique<char[]>(static_cast<size_t>(kBatch) * (kMaxDatagram + 1));
  read_ev_.reset(event_new(base, fd_.get(), EV_READ | EV_PERSIST, on_readable, this));
  return read_ev_ && event_add(read_ev_.get(), nullptr) == 0;
}

void UdpSocket::on_readable(evutil_socket_t, short, void* arg) {
  BusyScope busy;
  auto* self = static_cast<UdpSocket*>(arg);
  OutputBatch::Scope batch(self->batch_);
  self->read_batch();
}

void UdpSocket::read_batch() {
  struct mmsghdr msgs[kBatch];
  struct iovec iov[kBatch];
  struct sockaddr_storage from[kBatch];
  // A few batches per wake-up, then back to the loop so other events get their turn.
  for (int round = 0; round < 4; ++round) {
    for (int i = 0; i < kBatch; ++i) {
      iov[i].iov_base = buffers_.get() + static_cast<size_t>(i) * (kMaxDatagram + 1);
      iov[i].iov_len = kMaxDatagram;
      memset(&msgs[i].msg_hdr, 0, sizeof msgs[i].msg_hdr);
      msgs[i].msg_hdr.msg_iov = &iov[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
      msgs[i].msg_hdr.msg_name = &from[i];
      msgs[i].msg_hdr.msg_namelen = sizeof from[i];
    }
    int n = recvmmsg(fd_.get(), msgs, kBatch, MSG_DONTWAIT, nullptr);
    if (n < 0) {
      if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
        LOG_ERR("core", "udp:%s:%u: recvmmsg: %s", ip_.c_str(), port_, strerror(errno));
      return;
    }
    for (int i = 0; i < n; ++i) {
      size_t len = msgs[i].msg_len;
      if (msgs[i].msg_hdr.msg_flags & MSG_TRUNC) {
        stat_add(Stat::kUdpDropped);
        continue;
      }
      stat_add(Stat::kUdpReceived);
      stat_add(Stat::kUdpBytesIn, len);
      handler_->on_datagram(*this, static_cast<char*>(iov[i].iov_base), len, from[i]);
    }
    if (n < kBatch) return;
  }
}

bool UdpSocket::send_to(std::string_view ip, uint16_t port, std::string_view bytes,
                        std::string* error) {
  struct sockaddr_storage ss = {};
  socklen_t len;
  std::string ip_text(ip);
  if (inet_pton(AF_INET, ip_text.c_str(), &reinterpret_cast<sockaddr_in*>(&ss)->sin_addr) == 1) {
    auto* a = reinterpret_cast<struct sockaddr_in*>(&ss);
    a->sin_family = AF_INET;
    a->sin_port = htons(port);
    len = sizeof *a;
  } else if (inet_pton(AF_INET6, ip_text.c_str(),
                       &reinterpret_cast<sockaddr_in6*>(&ss)->sin6_addr) == 1) {
    auto* a = reinterpret_cast<struct sockaddr_in6*>(&ss);
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(port);
    len = sizeof *a;
  } else {
    *error = "not a numeric address: " + ip_text;
    return false;
  }
  for (;;) {
    ssize_t n = sendto(fd_.get(), bytes.data(), bytes.size(), MSG_DONTWAIT,
                       reinterpret_cast<struct sockaddr*>(&ss), len);
    if (n >= 0) {
      stat_add(Stat::kUdpSent);
      stat_add(Stat::kUdpBytesOut, bytes.size());
      return true;
    }
    if (errno == EINTR) continue;
    stat_add(Stat::kUdpDropped);
    *error = std::string("sendto: ") + strerror(errno);
    return false;
  }
}

}  // namespace sipsd
