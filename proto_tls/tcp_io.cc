#include "proto_tls/tcp_io.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace sipsd {

IoResult TcpIo::read(char* buf, size_t cap) {
  for (;;) {
    ssize_t n = ::recv(fd_, buf, cap, 0);
    if (n > 0) {
      last_read_short_ = static_cast<size_t>(n) < cap;
      return {IoStatus::kOk, static_cast<size_t>(n)};
    }
    if (n == 0) return {IoStatus::kClosed};
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return {IoStatus::kWantRead};
    if (errno == ECONNRESET) return {IoStatus::kClosed};
    error_ = strerror(errno);
    return {IoStatus::kError};
  }
}

IoResult TcpIo::write(const char* buf, size_t len) {
  for (;;) {
    ssize_t n = ::send(fd_, buf, len, MSG_NOSIGNAL);
    if (n >= 0) return {IoStatus::kOk, static_cast<size_t>(n)};
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return {IoStatus::kWantWrite};
    if (errno == EPIPE || errno == ECONNRESET) return {IoStatus::kClosed};
    error_ = strerror(errno);
    return {IoStatus::kError};
  }
}

}  // namespace sipsd
