#include "ipc/channel.h"

#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <vector>

namespace sipsd::ipc {

bool carries_fd(const Envelope& env) {
  return env.body_case() == Envelope::kConnHandoff || env.body_case() == Envelope::kPeerChannel;
}

Result<std::pair<Channel, Channel>> Channel::make_pair() {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) != 0)
    return make_error(strprintf("socketpair(SOCK_SEQPACKET): %s", strerror(errno)));
  return std::make_pair(Channel(UniqueFd(sv[0])), Channel(UniqueFd(sv[1])));
}

static void set_error(std::string* error, std::string msg) {
  if (error) *error = std::move(msg);
}

IoStatus Channel::send(const Envelope& env, int fd_to_pass, std::string* error) {
  if (carries_fd(env) != (fd_to_pass >= 0)) {
    set_error(error, "envelope kind and fd presence disagree");
    return IoStatus::kError;
  }
  size_t size = env.ByteSizeLong();
  if (size > kMaxEnvelopeSize) {
    set_error(error, strprintf("envelope of %zu bytes exceeds the channel limit", size));
    return IoStatus::kError;
  }
  char stack_buf[512];
  std::vector<char> heap_buf;
  char* buf = stack_buf;
  if (size > sizeof stack_buf) {
    heap_buf.resize(size);
    buf = heap_buf.data();
  }
  if (!env.SerializeToArray(buf, static_cast<int>(size))) {
    set_error(error, "envelope serialization failed");
    return IoStatus::kError;
  }
  struct iovec iov = {buf, size};
  struct msghdr msg = {};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(struct cmsghdr) char control[CMSG_SPACE(sizeof(int))];
  if (fd_to_pass >= 0) {
    memset(control, 0, sizeof control);
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    struct cmsghdr* cm = CMSG_FIRSTHDR(&msg);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(cm), &fd_to_pass, sizeof(int));
  }
  for (;;) {
    ssize_t n = sendmsg(fd_.get(), &msg, MSG_NOSIGNAL);
    if (n == static_cast<ssize_t>(size)) return IoStatus::kOk;
    if (n >= 0) {  // cannot happen on SOCK_SEQPACKET, but never pretend it worked
      set_error(error, "short sendmsg on a seqpacket channel");
      return IoStatus::kError;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return IoStatus::kAgain;
    if (errno == EPIPE || errno == ECONNRESET) return IoStatus::kClosed;
    set_error(error, strprintf("sendmsg: %s", strerror(errno)));
    return IoStatus::kError;
  }
}

IoStatus Channel::send_serialized(std::string_view bytes, std::string* error) {
  if (bytes.size() > kMaxEnvelopeSize) {
    set_error(error, strprintf("envelope of %zu bytes exceeds the channel limit", bytes.size()));
    return IoStatus::kError;
  }
  for (;;) {
    ssize_t n = ::send(fd_.get(), bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n == static_cast<ssize_t>(bytes.size())) return IoStatus::kOk;
    if (n >= 0) {
      set_error(error, "short send on a seqpacket channel");
      return IoStatus::kError;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return IoStatus::kAgain;
    if (errno == EPIPE || errno == ECONNRESET) return IoStatus::kClosed;
    set_error(error, strprintf("send: %s", strerror(errno)));
    return IoStatus::kError;
  }
}

IoStatus Channel::recv(Envelope* env, UniqueFd* fd, std::string* error) {
  fd->reset();
  if (rbuf_.empty()) rbuf_.resize(kMaxEnvelopeSize);  // once per channel, reused
  struct iovec iov = {rbuf_.data(), rbuf_.size()};
  struct msghdr msg = {};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  // Room for more than one fd so that an illegal extra one is received and closed, not leaked.
  alignas(struct cmsghdr) char control[CMSG_SPACE(4 * sizeof(int))];
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  ssize_t n;
  do {
    n = recvmsg(fd_.get(), &msg, MSG_CMSG_CLOEXEC);
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK) return IoStatus::kAgain;
    if (errno == ECONNRESET) return IoStatus::kClosed;
    set_error(error, strprintf("recvmsg: %s", strerror(errno)));
    return IoStatus::kError;
  }
  if (n == 0) return IoStatus::kClosed;

  // Collect every received fd first so that each one is closed on any error path.
  std::vector<UniqueFd> fds;
  bool bad_control = false;
  for (struct cmsghdr* cm = CMSG_FIRSTHDR(&msg); cm != nullptr; cm = CMSG_NXTHDR(&msg, cm)) {
    if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS ||
        cm->cmsg_len < CMSG_LEN(sizeof(int))) {
      bad_control = true;
      continue;
    }
    size_t count = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < count; ++i) {
      int received;
      memcpy(&received, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
      fds.emplace_back(received);
    }
  }
  if (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) {
    set_error(error, "truncated channel message");
    return IoStatus::kError;
  }
  if (bad_control || fds.size() > 1) {
    set_error(error, "unexpected control data on channel");
    return IoStatus::kError;
  }
  if (!env->ParseFromArray(rbuf_.data(), static_cast<int>(n))) {
    set_error(error, "unparsable envelope");
    return IoStatus::kError;
  }
  bool want_fd = carries_fd(*env);
  if (want_fd != (fds.size() == 1)) {
    set_error(error, want_fd ? "envelope without its fd" : "fd on an envelope kind without one");
    return IoStatus::kError;
  }
  if (want_fd) *fd = std::move(fds[0]);
  return IoStatus::kOk;
}

IoStatus Channel::recv_wait(Envelope* env, UniqueFd* fd, int timeout_ms, std::string* error) {
  struct pollfd pfd = {fd_.get(), POLLIN, 0};
  int rc;
  do {
    rc = poll(&pfd, 1, timeout_ms);
  } while (rc < 0 && errno == EINTR);
  if (rc == 0) return IoStatus::kAgain;
  if (rc < 0) {
    set_error(error, strprintf("poll: %s", strerror(errno)));
    return IoStatus::kError;
  }
  return recv(env, fd, error);
}

}  // namespace sipsd::ipc
