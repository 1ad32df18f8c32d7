// TLS I/O: a server-side SSL object on a non-blocking socket. Every SSL_* call whose result is
// inspected starts with a clean error queue and drains it into error() on failure.
#pragma once

#include <memory>
#include <string_view>

#include "proto_tls/stream_io.h"
#include "tls_mgm/openssl_ptr.h"
#include "tls_mgm/server_tls_contexts.h"

namespace sipsd {

class TlsIo final : public StreamIo {
 public:
  // Outbound: an SSL in connect state, from the client domain named `client_domain`.
  TlsIo(SslPtr ssl, std::string client_domain)
      : ssl_(std::move(ssl)), client_domain_(std::move(client_domain)) {}
  // Accepted: an SSL from `set` for the connection's local address (its domain may change at
  // the ClientHello, by SNI). Null with *error set when no domain serves that address.
  static std::unique_ptr<TlsIo> accept(const ServerTlsContexts& set, std::string_view local_key,
                                       int fd, std::string* error);

  bool is_tls() const override { return true; }
  IoResult handshake() override;
  IoResult read(char* buf, size_t cap) override;
  IoResult write(const char* buf, size_t len) override;
  void shutdown() override;
  const std::string& error() const override { return error_; }
  void describe(ConnInfo* info) const override;
  TlsConnView tls_view() const override;
  bool session_resumed() const override { return SSL_session_reused(ssl_.get()) == 1; }
  bool peer_verify_failed() const override {
    return SSL_get_verify_result(ssl_.get()) != X509_V_OK;
  }

  SSL* ssl() const { return ssl_.get(); }
  // The server domain chosen for this connection and the SNI it asked for.
  const TlsSelection& selection() const { return sel_; }

 private:
  TlsIo() = default;
  IoResult map_error(int rc, const char* op);

  SslPtr ssl_;
  std::string error_;
  TlsSelection sel_;           // accepted: the server domain
  std::string client_domain_;  // outbound: the client domain
};

}  // namespace sipsd
