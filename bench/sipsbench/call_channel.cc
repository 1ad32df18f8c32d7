#include "bench/sipsbench/call_channel.h"

#include <arpa/inet.h>
#include <errno.h>
#include <sys/socket.h>

#include <cstring>

#include "bench/sipsbench/loop_worker.h"

namespace sipsd::bench {

namespace {

constexpr size_t kMaxInput = (size_t{1} << 20) + kReadChunk;
constexpr size_t kMaxDatagram = 65535;
constexpr int kUdpBufferBytes = 4 << 20;

}  // namespace

sockaddr_in ipv4_addr(const std::string& ip, uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  inet_pton(AF_INET, ip.c_str(), &a.sin_addr);
  return a;
}

SipChannel::SipChannel(event_base* base, ChannelHandler& handler, int owner_index)
    : base_(base), handler_(handler), owner_index_(owner_index), framer_(client_framer_limits()) {}

Status SipChannel::connect_stream(const Options& options, SSL_CTX* client_ctx) {
  transport_ = client_ctx != nullptr ? Transport::kTls : Transport::kTcp;
  in_.resize(2 * kReadChunk);
  peer_ = options.target.addr;
  return stream_.open(base_, &SipChannel::stream_cb, this, options, client_ctx, nullptr);
}

Status SipChannel::adopt_stream(int fd, SSL_CTX* server_ctx) {
  transport_ = server_ctx != nullptr ? Transport::kTls : Transport::kTcp;
  in_.resize(2 * kReadChunk);
  Status s = stream_.adopt(base_, &SipChannel::stream_cb, this, fd, server_ctx);
  if (!s.ok()) return s;
  if (server_ctx == nullptr) stream_opened();
  return Status::Ok();
}

Status SipChannel::open_udp(const sockaddr_in& local, const sockaddr_in* peer) {
  transport_ = Transport::kUdp;
  int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return make_error(strprintf("socket: %s", strerror(errno)));
  udp_fd_.reset(fd);
  int size = kUdpBufferBytes;  // bursts of datagrams are not dropped at the socket
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&local), sizeof local) != 0) {
    char ip[INET_ADDRSTRLEN] = "?";
    inet_ntop(AF_INET, &local.sin_addr, ip, sizeof ip);
    return make_error(strprintf("bind udp %s:%u: %s", ip,
                                static_cast<unsigned>(ntohs(local.sin_port)), strerror(errno)));
  }
  if (peer != nullptr) {
    peer_ = *peer;
    if (::connect(fd, reinterpret_cast<const sockaddr*>(peer), sizeof *peer) != 0)
      return make_error(strprintf("connect udp: %s", strerror(errno)));
    udp_connected_ = true;
  }
  udp_ev_.reset(event_new(base_, fd, EV_READ | EV_PERSIST, &SipChannel::udp_cb, this));
  event_add(udp_ev_.get(), nullptr);
  note_local();
  open_ = true;
  return Status::Ok();
}

void SipChannel::note_local() {
  int fd = transport_ == Transport::kUdp ? udp_fd_.get() : -1;
  sockaddr_in local{};
  socklen_t len = sizeof local;
  if (fd >= 0) {
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&local), &len) != 0) return;
  } else {
    local_port_ = stream_.local_port();
    local_ip_ = "127.0.0.1";
    return;
  }
  char ip[INET_ADDRSTRLEN] = "?";
  inet_ntop(AF_INET, &local.sin_addr, ip, sizeof ip);
  local_ip_ = ip;
  local_port_ = ntohs(local.sin_port);
}

void SipChannel::stream_cb(evutil_socket_t, short, void* arg) {
  static_cast<SipChannel*>(arg)->on_stream_io();
}

void SipChannel::udp_cb(evutil_socket_t, short, void* arg) {
  static_cast<SipChannel*>(arg)->on_udp_readable();
}

void SipChannel::stream_opened() {
  open_ = true;
  note_local();
  handler_.channel_open(*this);
}

void SipChannel::on_stream_io() {
  if (closed_) return;
  if (!open_) {
    Io io = stream_.connect_step();
    if (io == Io::kAgain) return;
    if (io != Io::kOk) {
      broken(std::string(stream_.handshaking() ? "TLS handshake: " : "connect: ") +
             stream_.error());
      return;
    }
    stream_opened();
    if (closed_) return;
  }
  if (!flush()) return;
  read_stream();
}

bool SipChannel::send(std::string_view msg, const sockaddr_in* to) {
  if (closed_ || !open_) return false;
  if (transport_ == Transport::kUdp) {
    ssize_t n;
    if (to != nullptr && !udp_connected_) {
      n = ::sendto(udp_fd_.get(), msg.data(), msg.size(), MSG_NOSIGNAL,
                   reinterpret_cast<const sockaddr*>(to), sizeof *to);
    } else {
      n = ::send(udp_fd_.get(), msg.data(), msg.size(), MSG_NOSIGNAL);
    }
    return n == static_cast<ssize_t>(msg.size());
  }
  if (out_off_ == out_.size()) {
    out_.clear();
    out_off_ = 0;
  }
  out_.append(msg);
  return flush();
}

bool SipChannel::flush() {
  Io io = stream_.write_from(out_, &out_off_);
  if (io == Io::kAgain) return true;
  if (io != Io::kOk) {
    broken("write: " + stream_.error());
    return false;
  }
  out_.clear();
  out_off_ = 0;
  return true;
}

bool SipChannel::read_stream() {
  // Bounded: each pass reads bytes or returns; a message larger than 1 MiB breaks the stream.
  for (;;) {
    if (in_.size() - in_len_ < kReadChunk) {
      if (in_off_ > 0) {
        memmove(in_.data(), in_.data() + in_off_, in_len_ - in_off_);
        in_len_ -= in_off_;
        in_off_ = 0;
      }
      if (in_.size() - in_len_ < kReadChunk) {
        if (in_.size() >= kMaxInput) {
          broken("message larger than 1 MiB");
          return false;
        }
        in_.resize(in_.size() * 2);
      }
    }
    size_t n = 0;
    Io io = stream_.read(in_.data() + in_len_, in_.size() - in_len_, &n);
    if (io == Io::kAgain) return true;
    if (io != Io::kOk) {
      broken(stream_.error());
      return false;
    }
    in_len_ += n;
    for (;;) {
      std::string_view pending(in_.data() + in_off_, in_len_ - in_off_);
      Frame f = framer_.next(pending);
      if (f.kind == FrameKind::kNeedMore) {
        in_off_ += f.skip;
        if (in_off_ == in_len_) in_off_ = in_len_ = 0;
        break;
      }
      if (f.kind == FrameKind::kError) {
        broken(std::string("stream: ") + frame_error_text(f.error));
        return false;
      }
      if (f.kind == FrameKind::kMessage) {
        char* data = in_.data() + in_off_ + f.skip;
        in_off_ += f.consumed();
        deliver(data, f.length, peer_);
        if (closed_) return false;
      } else {
        in_off_ += f.skip;  // a keep-alive
      }
    }
  }
}

void SipChannel::on_udp_readable() {
  static thread_local std::vector<char> buf(kMaxDatagram + 1);
  // Bounded: at most 256 datagrams per event, so one busy socket does not starve the others.
  for (int i = 0; i < 256 && !closed_; ++i) {
    sockaddr_in from{};
    socklen_t len = sizeof from;
    ssize_t n = ::recvfrom(udp_fd_.get(), buf.data(), kMaxDatagram, 0,
                           reinterpret_cast<sockaddr*>(&from), &len);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return;
      // A connected socket reports an ICMP error (nobody listens at the peer) here.
      handler_.channel_error(*this, strprintf("udp receive: %s", strerror(errno)));
      continue;
    }
    if (n == 0) continue;
    deliver(buf.data(), static_cast<size_t>(n), from);
  }
}

void SipChannel::deliver(char* data, size_t len, const sockaddr_in& from) {
  sip::ParseResult r = sip::parse_message(data, len, &msg_);
  if (r.status != sip::ParseStatus::kOk) {
    handler_.channel_error(*this, std::string("bad message: ") + r.reason);
    return;
  }
  handler_.channel_message(*this, msg_, from);
}

void SipChannel::broken(const std::string& why) {
  close();
  handler_.channel_broken(*this, why);
}

void SipChannel::close() {
  if (closed_) return;
  closed_ = true;
  open_ = false;
  stream_.close();
  udp_ev_.reset();
  udp_fd_.reset();
}

}  // namespace sipsd::bench
