// LoopStream: a Stream watched by one thread's event loop — a persistent read event and a
// one-shot write event, both calling the owner's callback. A call that returns kAgain while the
// stream waits for writability arms the write event again, so the caller only returns and waits
// for the next callback. The events are freed before the socket is closed.
#pragma once

#include <event2/event.h>

#include <string>

#include "bench/sipsbench/stream.h"
#include "core/base/event_ptr.h"

namespace sipsd::bench {

class LoopStream {
 public:
  LoopStream() = default;
  ~LoopStream() { close(); }
  LoopStream(const LoopStream&) = delete;
  LoopStream& operator=(const LoopStream&) = delete;

  // Starts connecting (Stream::open: `session` and `source` may be null) and watches the
  // socket on `base`: cb(fd, what, arg) whenever it is readable, or writable when waited for.
  Status open(event_base* base, event_callback_fn cb, void* arg, const Options& options,
              SSL_CTX* ctx, SSL_SESSION* session, const sockaddr_in* source = nullptr);
  // Stream::adopt() (an accepted connection), watched as open() does.
  Status adopt(event_base* base, event_callback_fn cb, void* arg, int fd, SSL_CTX* server_ctx);
  // Stream::connect_step(), read() and write(), waiting on kAgain as said above.
  Io connect_step() { return waited(stream_.connect_step()); }
  Io read(char* buf, size_t cap, size_t* n) { return waited(stream_.read(buf, cap, n)); }
  // Writes data[*off, size) until all is written (kOk), the stream would block (kAgain) or it
  // fails; *off advances past what was written.
  Io write_from(const std::string& data, size_t* off);
  // Stops watching, sends close_notify (TLS, best effort) and closes the socket.
  void close();

  Stream::Phase phase() const { return stream_.phase(); }
  bool closed() const { return stream_.phase() == Stream::Phase::kClosed; }
  // Whether a failed or timed-out connect_step() failed in the TLS handshake (else in connect).
  bool handshaking() const { return stream_.phase() == Stream::Phase::kHandshaking; }
  SSL* ssl() const { return stream_.ssl(); }
  uint16_t local_port() const { return stream_.local_port(); }
  const std::string& error() const { return stream_.error(); }

 private:
  Io waited(Io io) {
    if (io == Io::kAgain && stream_.wants_write()) event_add(wev_.get(), nullptr);
    return io;
  }

  Stream stream_;
  EventPtr rev_;  // persistent read readiness
  EventPtr wev_;  // one-shot write readiness, armed when a connect or write must wait
};

}  // namespace sipsd::bench
