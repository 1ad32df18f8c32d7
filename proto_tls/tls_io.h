// TLS I/O: a server-side SSL object on a non-blocking socket. Every SSL_* call whose result is
// inspected starts with a clean error queue and drains it into error() on failure.
#pragma once

#include "proto_tls/stream_io.h"
#include "tls_mgm/openssl_ptr.h"

namespace sipsd {

class TlsIo final : public StreamIo {
 public:
  TlsIo(SslPtr ssl) : ssl_(std::move(ssl)) {}
  bool is_tls() const override { return true; }
  IoResult handshake() override;
  IoResult read(char* buf, size_t cap) override;
  IoResult write(const char* buf, size_t len) override;
  void shutdown() override;
  const std::string& error() const override { return error_; }
  void describe(ConnInfo* info) const override;

  SSL* ssl() const { return ssl_.get(); }

 private:
  IoResult map_error(int rc, const char* op);

  SslPtr ssl_;
  std::string error_;
};

}  // namespace sipsd
