// Plain TCP I/O on a non-blocking socket.
#pragma once

#include "proto_tls/stream_io.h"

namespace sipsd {

class TcpIo final : public StreamIo {
 public:
  explicit TcpIo(int fd) : fd_(fd) {}
  bool is_tls() const override { return false; }
  IoResult handshake() override { return {IoStatus::kOk}; }
  IoResult read(char* buf, size_t cap) override;
  IoResult write(const char* buf, size_t len) override;
  bool drained() const override { return last_read_short_; }
  void shutdown() override {}
  const std::string& error() const override { return error_; }

 private:
  int fd_;
  std::string error_;
  bool last_read_short_ = false;
};

}  // namespace sipsd
