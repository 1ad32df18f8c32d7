// Channel: one end of a SOCK_SEQPACKET socketpair between the supervisor and a worker.
// One sendmsg() carries one protobuf Envelope and at most one file descriptor (SCM_RIGHTS).
// Receiving is strict: truncated messages, unexpected control data, more than one fd, or an
// fd on a kind that must not carry one are rejected and any received fd is closed.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/result.h"
#include "core/base/unique_fd.h"
#include "ipc/ipc.pb.h"

namespace sipsd::ipc {

// Largest serialized Envelope a channel accepts.
inline constexpr size_t kMaxEnvelopeSize = 128 * 1024;

// True for the Envelope kinds that carry a file descriptor (see ipc.proto).
bool carries_fd(const Envelope& env);

enum class IoStatus { kOk, kAgain, kClosed, kError };

class Channel {
 public:
  Channel() = default;
  explicit Channel(UniqueFd fd) : fd_(std::move(fd)) {}

  // A connected pair, both ends non-blocking and close-on-exec.
  static Result<std::pair<Channel, Channel>> make_pair();

  int fd() const { return fd_.get(); }
  bool valid() const { return fd_.valid(); }
  void close() { fd_.reset(); }

  // Sends env and, if fd_to_pass >= 0, that descriptor (the caller keeps its own copy).
  // kAgain: the peer's queue is full; nothing was sent.
  IoStatus send(const Envelope& env, int fd_to_pass = -1, std::string* error = nullptr);

  // Sends an Envelope already serialized (one that carries no fd), e.g. one queued after
  // kAgain. kAgain: nothing was sent.
  IoStatus send_serialized(std::string_view bytes, std::string* error = nullptr);

  // Receives one message. kAgain: nothing queued. kClosed: the peer is gone. On kOk, *fd holds
  // the passed descriptor if the kind carries one (and is invalid otherwise).
  IoStatus recv(Envelope* env, UniqueFd* fd, std::string* error = nullptr);

  // Waits (poll) up to timeout_ms for a message; for start-up handshakes and tests only,
  // never in an event loop.
  IoStatus recv_wait(Envelope* env, UniqueFd* fd, int timeout_ms, std::string* error = nullptr);

 private:
  UniqueFd fd_;
  std::vector<char> rbuf_;  // receive buffer, allocated on first use
};

}  // namespace sipsd::ipc
