// StreamIo: the byte-level I/O of one connection, TLS (tls_io.h) or plain TCP (tcp_io.h).
// The connection picks the implementation once, when it is created; nothing on the read or
// write path asks "TLS or not?" again.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "core/shm/conn_table.h"
#include "tls_mgm/tls_vars.h"

namespace sipsd {

enum class IoStatus : uint8_t {
  kOk,         // `bytes` transferred (handshake: finished)
  kWantRead,   // retry when the socket is readable
  kWantWrite,  // retry when the socket is writable
  kClosed,     // orderly close by the peer (EOF, close_notify, reset)
  kError,      // fatal; error() says why
};

struct IoResult {
  IoStatus status;
  size_t bytes = 0;
};

class StreamIo {
 public:
  virtual ~StreamIo() = default;
  virtual bool is_tls() const = 0;
  // One non-blocking handshake step; plain TCP is done at once.
  virtual IoResult handshake() = 0;
  virtual IoResult read(char* buf, size_t cap) = 0;
  virtual IoResult write(const char* buf, size_t len) = 0;
  // After a read that returned bytes: whether it left nothing buffered and the socket read
  // under it returned less than asked for (the socket was empty then). Reading again now would
  // only get EAGAIN; the level-triggered read event reports what arrives later.
  virtual bool drained() const { return false; }
  // The owner is about to read because the socket may hold data (its read event fired, or the
  // connection starts). Once an owner calls it, a transport may skip socket reads between a
  // short read and the next call (TlsIo::on_bio): the owner's level-triggered read event
  // reports what arrives. Owners that never call it see every read reach the socket.
  virtual void on_readable() {}
  // Best effort, never blocks: TLS sends close_notify.
  virtual void shutdown() = 0;
  // Why the last call failed (kError), for the log line.
  virtual const std::string& error() const = 0;
  // TLS version, cipher and peer verification into the connection-table entry.
  virtual void describe(ConnInfo* info) const {}
  // TLS: whether the handshake resumed a session / failed on the peer's certificate.
  virtual bool session_resumed() const { return false; }
  virtual bool peer_verify_failed() const { return false; }
  // What the script's $tls_* variables read (ssl null: not TLS).
  virtual TlsConnView tls_view() const { return {}; }
};

}  // namespace sipsd
