// StreamFramer: cuts whole SIP messages out of a TCP/TLS byte stream (RFC 3261 §18.3).
//
// A resumable, bounded state machine with no heap use. The caller owns the bytes: it keeps
// every received-but-unconsumed byte contiguous and calls next() with all of them. The framer
// remembers how far it has scanned, so each byte is looked at once however the stream is split.
//
//   idle ──non-space byte──► headers ──empty line──► body ──Content-Length bytes──► message
//     │                        │ (Content-Length / l remembered; none → error)
//     ├─ CRLFCRLF (pingpong) ──► ping (caller answers with one CRLF)
//     └─ lone CRLF at the end of the data: dropped (crlf_drop) or kept until more arrives
//
// Limits (shared by proto_tls and proto_tcp, OpenSIPS names): a message is at most
// max_msg_size bytes (headers + body); tls_max_msg_chunks read events may pass while a message
// is incomplete; the connection enforces tcp_max_msg_time with the deadline it arms when
// in_message() first becomes true.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace sipsd {

struct FramerLimits {
  size_t max_msg_size = 65535;
  bool crlf_pingpong = true;  // tls_crlf_pingpong / tcp_crlf_pingpong
  bool crlf_drop = false;     // tls_crlf_drop / tcp_crlf_drop
  int max_msg_chunks = 4;     // tls_max_msg_chunks / tcp_max_msg_chunks
};

enum class FrameKind : uint8_t {
  kNeedMore,  // nothing complete; drop `skip` bytes, keep the rest, read more
  kMessage,   // a message at [skip, skip + length); drop skip + length afterwards
  kPing,      // a CRLFCRLF keep-alive ending at `skip`; answer CRLF, drop `skip` bytes
  kError,     // framing error: close the connection (see `error`)
};

enum class FrameError : uint8_t {
  kNone,
  kNoContentLength,           // headers ended without Content-Length / l
  kBadContentLength,          // not a non-negative decimal number, or folded
  kConflictingContentLength,  // two Content-Length headers with different values
  kTooLarge,                  // headers + body would exceed max_msg_size
  kTooManyChunks,             // the message spans more than max_msg_chunks read events
};

const char* frame_error_text(FrameError e);

struct Frame {
  FrameKind kind = FrameKind::kNeedMore;
  FrameError error = FrameError::kNone;
  size_t skip = 0;    // leading bytes consumed before the message (keep-alives, whitespace)
  size_t length = 0;  // message length, kMessage only
  size_t consumed() const { return skip + length; }
};

class StreamFramer {
 public:
  explicit StreamFramer(const FramerLimits& limits) : limits_(limits) {}

  // `pending` is every unconsumed byte, starting right after what the previous frame (and its
  // skip) consumed. Must be called again until it returns kNeedMore or kError.
  Frame next(std::string_view pending);

  // Called once at the end of each read event. Counts the event against max_msg_chunks when a
  // message is still incomplete; returns kTooManyChunks when the limit is reached.
  FrameError end_read_event();

  // True while part of a message (or of a CRLFCRLF ping) is buffered: the message timer runs.
  bool in_message() const { return state_ != State::kIdle; }
  int chunks() const { return chunks_; }

  void reset();

 private:
  enum class State : uint8_t { kIdle, kPingPrefix, kHeaders, kBody };

  Frame skip_keepalives(std::string_view pending);
  Frame scan_headers(std::string_view msg, size_t skip);
  // Examines one complete header line [start, end) (end excludes CR/LF).
  FrameError header_line(std::string_view line);
  Frame complete(FrameKind kind, size_t skip, size_t length);

  FramerLimits limits_;
  State state_ = State::kIdle;
  size_t scan_ = 0;         // headers: next byte to scan (relative to message start)
  size_t line_start_ = 0;   // headers: start of the current line
  bool first_line_ = true;  // the start line is not a header
  bool last_was_cl_ = false;
  int64_t content_length_ = -1;
  size_t header_len_ = 0;  // body state: bytes up to and including the empty line
  int chunks_ = 0;
};

}  // namespace sipsd
