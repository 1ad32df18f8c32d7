#include "bench/sipsbench/stream.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>

#include "bench/sipsbench/client_tls.h"
#include "tls_mgm/openssl_errors.h"

namespace sipsd::bench {

Status Stream::open(const Options& options, SSL_CTX* ctx, SSL_SESSION* session,
                    const sockaddr_in* source) {
  close();
  error_.clear();
  peer_ = options.target.addr;
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return make_error(strprintf("socket: %s", strerror(errno)));
  fd_.reset(fd);
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (source != nullptr) {
    // Without this, bind() picks the port alone and one address runs out after ~28000.
    setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
    if (::bind(fd, reinterpret_cast<const sockaddr*>(source), sizeof *source) != 0) {
      char ip[INET_ADDRSTRLEN] = "?";
      inet_ntop(AF_INET, &source->sin_addr, ip, sizeof ip);
      std::string why = strprintf("bind %s: %s", ip, strerror(errno));
      fd_.reset();
      return make_error(why);
    }
  }
  if (ctx != nullptr) {
    Result<SslPtr> ssl = new_client_ssl(ctx, options, fd, session);
    if (!ssl.ok()) {
      fd_.reset();
      return make_error(ssl.message());
    }
    ssl_ = std::move(ssl).value();
  }
  phase_ = Phase::kConnecting;
  want_write_ = true;  // a connect completes when the socket becomes writable
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&peer_), sizeof peer_) != 0 &&
      errno != EINPROGRESS) {
    std::string why = strprintf("connect: %s", strerror(errno));
    close();
    return make_error(why);
  }
  return Status::Ok();
}

Status Stream::adopt(int fd, SSL_CTX* server_ctx) {
  close();
  error_.clear();
  fd_.reset(fd);
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  socklen_t len = sizeof peer_;
  if (getpeername(fd, reinterpret_cast<sockaddr*>(&peer_), &len) != 0) peer_ = sockaddr_in{};
  if (server_ctx == nullptr) {
    phase_ = Phase::kOpen;
    want_write_ = false;
    return Status::Ok();
  }
  openssl_clear_errors();
  ssl_.reset(SSL_new(server_ctx));
  if (!ssl_ || SSL_set_fd(ssl_.get(), fd) != 1) {
    std::string why = "SSL_new: " + openssl_drain_errors();
    close();
    return make_error(why);
  }
  SSL_set_accept_state(ssl_.get());
  phase_ = Phase::kHandshaking;
  want_write_ = false;
  return Status::Ok();
}

Io Stream::connect_step() {
  if (phase_ == Phase::kConnecting) {
    // A second connect() tells whether the first has finished, and how.
    if (::connect(fd_.get(), reinterpret_cast<const sockaddr*>(&peer_), sizeof peer_) != 0 &&
        errno != EISCONN) {
      if (errno == EINPROGRESS || errno == EALREADY || errno == EINTR) {
        want_write_ = true;
        return Io::kAgain;
      }
      error_ = strprintf("connect: %s", strerror(errno));
      return Io::kError;
    }
    want_write_ = false;
    phase_ = ssl_ ? Phase::kHandshaking : Phase::kOpen;
    if (!ssl_) return Io::kOk;
  }
  if (phase_ == Phase::kHandshaking) {
    openssl_clear_errors();
    int ret = SSL_do_handshake(ssl_.get());
    if (ret == 1) {
      phase_ = Phase::kOpen;
      want_write_ = false;
      return Io::kOk;
    }
    Io io = ssl_status(ret, "handshake");
    if (io == Io::kError) {
      long verify = SSL_get_verify_result(ssl_.get());
      if (verify != X509_V_OK)
        error_ += strprintf(" (certificate: %s)", X509_verify_cert_error_string(verify));
    }
    return io;
  }
  return phase_ == Phase::kOpen ? Io::kOk : Io::kError;
}

Io Stream::ssl_status(int ret, const char* op) {
  int err = SSL_get_error(ssl_.get(), ret);
  switch (err) {
    case SSL_ERROR_WANT_READ:
      want_write_ = false;
      return Io::kAgain;
    case SSL_ERROR_WANT_WRITE:
      want_write_ = true;
      return Io::kAgain;
    case SSL_ERROR_ZERO_RETURN:
      error_ = strprintf("%s: closed by the server (close_notify)", op);
      return Io::kClosed;
    case SSL_ERROR_SYSCALL: {
      int saved = errno;
      std::string queued = openssl_drain_errors();
      if (!queued.empty()) {
        error_ = strprintf("%s: %s", op, queued.c_str());
      } else if (saved == 0 || saved == ECONNRESET || saved == EPIPE) {
        error_ = strprintf("%s: connection closed by the server%s", op,
                           saved == 0 ? "" : strprintf(" (%s)", strerror(saved)).c_str());
        return Io::kClosed;
      } else {
        error_ = strprintf("%s: %s", op, strerror(saved));
      }
      return Io::kError;
    }
    default: {
      std::string queued = openssl_drain_errors();
      error_ = strprintf("%s: %s", op, queued.empty() ? "TLS error" : queued.c_str());
      return Io::kError;
    }
  }
}

Io Stream::read(char* buf, size_t cap, size_t* n) {
  *n = 0;
  if (ssl_) {
    openssl_clear_errors();
    int ret = SSL_read(ssl_.get(), buf, static_cast<int>(cap));
    if (ret > 0) {
      *n = static_cast<size_t>(ret);
      return Io::kOk;
    }
    return ssl_status(ret, "read");
  }
  ssize_t ret = ::recv(fd_.get(), buf, cap, 0);
  if (ret > 0) {
    *n = static_cast<size_t>(ret);
    return Io::kOk;
  }
  if (ret == 0) {
    error_ = "read: connection closed by the server";
    return Io::kClosed;
  }
  if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
    want_write_ = false;
    return Io::kAgain;
  }
  error_ = strprintf("read: %s", strerror(errno));
  return errno == ECONNRESET ? Io::kClosed : Io::kError;
}

Io Stream::write(const char* data, size_t len, size_t* n) {
  *n = 0;
  if (ssl_) {
    openssl_clear_errors();
    int ret = SSL_write(ssl_.get(), data, static_cast<int>(std::min<size_t>(len, 1 << 30)));
    if (ret > 0) {
      *n = static_cast<size_t>(ret);
      return Io::kOk;
    }
    return ssl_status(ret, "write");
  }
  ssize_t ret = ::send(fd_.get(), data, len, MSG_NOSIGNAL);
  if (ret >= 0) {
    *n = static_cast<size_t>(ret);
    return Io::kOk;
  }
  if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
    want_write_ = true;
    return Io::kAgain;
  }
  error_ = strprintf("write: %s", strerror(errno));
  return (errno == EPIPE || errno == ECONNRESET) ? Io::kClosed : Io::kError;
}

void Stream::close() {
  if (ssl_ && phase_ == Phase::kOpen) {
    SSL_shutdown(ssl_.get());  // queue and try to send close_notify; never wait for the peer's
    openssl_clear_errors();
  }
  ssl_.reset();
  fd_.reset();
  phase_ = Phase::kClosed;
  want_write_ = false;
}

uint16_t Stream::local_port() const {
  sockaddr_in local{};
  socklen_t len = sizeof local;
  if (getsockname(fd_.get(), reinterpret_cast<sockaddr*>(&local), &len) != 0) return 0;
  return ntohs(local.sin_port);
}

}  // namespace sipsd::bench
