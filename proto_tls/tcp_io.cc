#include "proto_tls/tcp_io.h"

#include <sys/socket.h>

#include <cerrno>
#include <cstring>

namespace sipsd {

IoResult socket_send(int fd, const void* p, size_t len, std::string* error) {
  for (;;) {
    ssize_t n = ::send(fd, p, len, MSG_NOSIGNAL);
    if (n >= 0) return {IoStatus::kOk, static_cast<size_t>(n)};
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return {IoStatus::kWantWrite};
    if (errno == EPIPE || errno == ECONNRESET) return {IoStatus::kClosed};
    *error = strerror(errno);
    return {IoStatus::kError};
  }
}

IoResult socket_recv(int fd, void* p, size_t cap, std::string* error) {
  for (;;) {
    ssize_t n = ::recv(fd, p, cap, 0);
    if (n > 0) return {IoStatus::kOk, static_cast<size_t>(n)};
    if (n == 0) return {IoStatus::kClosed};
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return {IoStatus::kWantRead};
    if (errno == ECONNRESET) return {IoStatus::kClosed};
    *error = strerror(errno);
    return {IoStatus::kError};
  }
}

IoResult TcpIo::read(char* buf, size_t cap) {
  IoResult r = socket_recv(fd_, buf, cap, &error_);
  if (r.status == IoStatus::kOk) last_read_short_ = r.bytes < cap;
  return r;
}

}  // namespace sipsd
