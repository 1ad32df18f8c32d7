// A handed-off TLS 1.3 connection's byte I/O (tls13_handoff.h): records are read from the
// socket into the worker's buffer and opened there; sealed records are written straight from
// the worker's buffer. Only what a call could not finish stays with the connection (a partial
// record, plaintext the caller had no room for, records the socket did not take), so an idle
// connection holds no buffer at all. The semantics are TlsIo's (SSL_read/SSL_write): a write
// that returns kWantWrite is retried with the same bytes.
#pragma once

#include <memory>
#include <string>

#include "proto_tls/stream_io.h"
#include "proto_tls/tls13_record_layer.h"

namespace sipsd {

class Tls13RecordIo {
 public:
  Tls13RecordIo(int fd, std::unique_ptr<Tls13RecordLayer> layer, Tls13Crypto* crypto)
      : fd_(fd), layer_(std::move(layer)), crypto_(crypto) {}

  IoResult read(char* buf, size_t cap);
  IoResult write(const char* buf, size_t len);
  // As TlsIo::drained(): nothing left here and the last socket read came up short.
  bool drained() const;
  // As TlsIo: set when the owner's read event fires; until then a short read means "empty".
  void on_readable() {
    event_driven_ = true;
    socket_empty_ = false;
  }
  // The read state TlsIo had when it handed the connection over.
  void carry_read_state(bool last_read_short, bool socket_empty, bool event_driven) {
    last_read_short_ = last_read_short;
    socket_empty_ = socket_empty;
    event_driven_ = event_driven;
  }
  // Best effort, never blocks: close_notify.
  void shutdown();
  const std::string& error() const { return error_; }
  const Tls13RecordLayer& layer() const { return *layer_; }

 private:
  enum class End : uint8_t { kNone, kClosed, kError };
  // Opens the whole records in [in + *pos, in + len) into buf (up to cap, *got so far; a
  // record's rest that does not fit goes to plain_), moving *pos past them. kNone: it stopped
  // at a partial record or a full buf.
  End open_records(uint8_t* in, size_t len, size_t* pos, char* buf, size_t cap, size_t* got);
  // Sends what is left of unsent_: kOk once it is all gone.
  IoResult flush_unsent();
  // Seals and sends an alert, best effort (the connection closes next).
  void send_alert(Tls13Alert alert);
  IoResult end_result() const;
  // Reports `end` now, or after the data already taken (got > 0).
  IoResult finish(End end, size_t got);
  bool tail_has_record() const;

  int fd_;
  std::unique_ptr<Tls13RecordLayer> layer_;
  Tls13Crypto* crypto_;
  std::string tail_;   // received bytes short of a whole record (or records not yet opened)
  std::string plain_;  // opened application data the caller had no room for
  size_t plain_off_ = 0;
  std::string unsent_;  // sealed records the socket did not take
  size_t unsent_off_ = 0;
  size_t unsent_plain_ = 0;  // the application bytes behind them: what the retry reports
  End end_ = End::kNone;     // reported by the next read, after the data before it
  bool last_read_short_ = false;
  bool socket_empty_ = false;
  bool event_driven_ = false;
  std::string error_;
};

}  // namespace sipsd
