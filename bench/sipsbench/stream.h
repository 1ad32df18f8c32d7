// Stream: one non-blocking client connection to the target, plain TCP or TLS, driven by the
// caller's event loop. connect_step() runs the TCP connect and the TLS handshake; read() and
// write() are single non-blocking calls returning a small status; when one returns kAgain,
// wants_write() says whether to wait for writability (else readability).
#pragma once

#include <netinet/in.h>
#include <openssl/ssl.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "bench/sipsbench/options.h"
#include "core/base/result.h"
#include "core/base/unique_fd.h"
#include "tls_mgm/openssl_ptr.h"

namespace sipsd::bench {

enum class Io : uint8_t { kOk, kAgain, kClosed, kError };

class Stream {
 public:
  enum class Phase : uint8_t { kClosed, kConnecting, kHandshaking, kOpen };

  // Starts connecting to the target. ctx == nullptr: plain TCP; else TLS, offering `session`
  // (may be null) for resumption. `source` (may be null): the local address to bind to first
  // (its port is chosen at connect time, so one address serves many destinations).
  Status open(const Options& options, SSL_CTX* ctx, SSL_SESSION* session,
              const sockaddr_in* source = nullptr);
  // Takes over `fd`, a connection accepted from a listening socket (non-blocking). ctx ==
  // nullptr: plain TCP, open at once; else the server side of a TLS handshake (connect_step()).
  Status adopt(int fd, SSL_CTX* server_ctx);
  // Continues the connect / handshake. kOk: open; kAgain: wait; kError/kClosed: see error().
  Io connect_step();
  // One read into buf; *n bytes on kOk. kClosed: the server closed (EOF or close_notify).
  Io read(char* buf, size_t cap, size_t* n);
  // One write of up to len bytes; *n written on kOk (may be fewer than len).
  Io write(const char* data, size_t len, size_t* n);
  // Sends close_notify (TLS, best effort, no wait) and closes the socket.
  void close();

  bool wants_write() const { return want_write_; }
  Phase phase() const { return phase_; }
  int fd() const { return fd_.get(); }
  SSL* ssl() const { return ssl_.get(); }
  uint16_t local_port() const;
  // Why the last kError / kClosed happened.
  const std::string& error() const { return error_; }

 private:
  Io ssl_status(int ret, const char* op);

  UniqueFd fd_;
  SslPtr ssl_;
  Phase phase_ = Phase::kClosed;
  bool want_write_ = false;
  sockaddr_in peer_{};
  std::string error_;
};

}  // namespace sipsd::bench
