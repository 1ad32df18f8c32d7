// Plain TCP I/O on a non-blocking socket, and the one send()/recv() step every stream transport
// shares (the TLS record hand-off writes its records with it too).
#pragma once

#include <string>

#include "proto_tls/stream_io.h"

namespace sipsd {

// One non-blocking send() of [p, p + len) (EINTR retried): kOk with the bytes taken (maybe
// fewer than len), kWantWrite when the socket takes nothing now, kClosed when the peer is gone
// (EPIPE, ECONNRESET), else kError with *error = strerror.
IoResult socket_send(int fd, const void* p, size_t len, std::string* error);
// One non-blocking recv() into [p, p + cap) (EINTR retried): kOk with the bytes read, kWantRead
// when there are none, kClosed on EOF or ECONNRESET, else kError with *error = strerror.
IoResult socket_recv(int fd, void* p, size_t cap, std::string* error);

class TcpIo final : public StreamIo {
 public:
  explicit TcpIo(int fd) : fd_(fd) {}
  bool is_tls() const override { return false; }
  IoResult handshake() override { return {IoStatus::kOk}; }
  IoResult read(char* buf, size_t cap) override;
  IoResult write(const char* buf, size_t len) override {
    return socket_send(fd_, buf, len, &error_);
  }
  bool drained() const override { return last_read_short_; }
  void shutdown() override {}
  const std::string& error() const override { return error_; }

 private:
  int fd_;
  std::string error_;
  bool last_read_short_ = false;
};

}  // namespace sipsd
