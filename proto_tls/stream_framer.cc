#include "proto_tls/stream_framer.h"

#include <algorithm>
#include <cstring>

#include "core/base/ascii.h"

namespace sipsd {

const char* frame_error_text(FrameError e) {
  switch (e) {
    case FrameError::kNone:
      return "no error";
    case FrameError::kNoContentLength:
      return "message without Content-Length";
    case FrameError::kBadContentLength:
      return "unparsable Content-Length";
    case FrameError::kConflictingContentLength:
      return "conflicting Content-Length headers";
    case FrameError::kTooLarge:
      return "message too large";
    case FrameError::kTooManyChunks:
      return "message spans too many reads";
  }
  return "?";
}

namespace {

bool is_space(char c) {
  return c == ' ' || c == '\t';
}

// "Content-Length" (also with '_', as OpenSIPS accepts) or the compact "l", any case.
bool is_content_length_name(std::string_view name) {
  if (name.size() == 1) return ascii_lower(name[0]) == 'l';
  static constexpr std::string_view kName = "content-length";
  if (name.size() != kName.size()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    char c = ascii_lower(name[i]);
    if (c == '_') c = '-';
    if (c != kName[i]) return false;
  }
  return true;
}

constexpr std::string_view kPing = "\r\n\r\n";

}  // namespace

void StreamFramer::reset() {
  state_ = State::kIdle;
  scan_ = 0;
  line_start_ = 0;
  first_line_ = true;
  last_was_cl_ = false;
  content_length_ = -1;
  header_len_ = 0;
  chunks_ = 0;
}

Frame StreamFramer::complete(FrameKind kind, size_t skip, size_t length) {
  reset();
  Frame f;
  f.kind = kind;
  f.skip = skip;
  f.length = length;
  return f;
}

static Frame framing_error(FrameError e) {
  Frame f;
  f.kind = FrameKind::kError;
  f.error = e;
  return f;
}

static Frame need_more(size_t skip) {
  Frame f;
  f.skip = skip;
  return f;
}

Frame StreamFramer::next(std::string_view pending) {
  size_t skip = 0;
  if (state_ == State::kIdle || state_ == State::kPingPrefix) {
    Frame f = skip_keepalives(pending);
    if (f.kind != FrameKind::kNeedMore || state_ != State::kHeaders) return f;
    skip = f.skip;  // a message starts here
  }
  std::string_view msg = pending.substr(skip);
  if (state_ == State::kHeaders) {
    Frame f = scan_headers(msg, skip);
    if (f.kind != FrameKind::kNeedMore || state_ != State::kBody) return f;
  }
  size_t total = header_len_ + static_cast<size_t>(content_length_);
  if (msg.size() >= total) return complete(FrameKind::kMessage, skip, total);
  return need_more(skip);
}

Frame StreamFramer::skip_keepalives(std::string_view p) {
  size_t i = 0;
  while (i < p.size()) {
    char c = p[i];
    if (c == '\r' && limits_.crlf_pingpong) {
      size_t n = std::min(p.size() - i, kPing.size());
      if (p.compare(i, n, kPing, 0, n) == 0) {
        if (n == kPing.size()) return complete(FrameKind::kPing, i + n, 0);
        if (n == 2 && limits_.crlf_drop) {  // a lone CRLF keep-alive, dropped silently
          i += 2;
          continue;
        }
        // The start of a CRLFCRLF ping (or a lone CRLF): wait for what follows.
        state_ = State::kPingPrefix;
        return need_more(i);
      }
    }
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {  // leading empty lines are skipped
      ++i;
      continue;
    }
    state_ = State::kHeaders;
    scan_ = 0;
    line_start_ = 0;
    first_line_ = true;
    last_was_cl_ = false;
    content_length_ = -1;
    return need_more(i);
  }
  state_ = State::kIdle;
  return need_more(i);
}

Frame StreamFramer::scan_headers(std::string_view msg, size_t skip) {
  while (scan_ < msg.size()) {
    const void* lf = memchr(msg.data() + scan_, '\n', msg.size() - scan_);
    if (lf == nullptr) {
      scan_ = msg.size();
      break;
    }
    size_t lf_pos = static_cast<size_t>(static_cast<const char*>(lf) - msg.data());
    size_t end = lf_pos;
    if (end > line_start_ && msg[end - 1] == '\r') --end;
    std::string_view line = msg.substr(line_start_, end - line_start_);
    scan_ = lf_pos + 1;
    line_start_ = scan_;
    if (line.empty()) {  // end of headers: LF LF or LF CR LF
      header_len_ = scan_;
      if (content_length_ < 0) return framing_error(FrameError::kNoContentLength);
      if (header_len_ + static_cast<size_t>(content_length_) > limits_.max_msg_size)
        return framing_error(FrameError::kTooLarge);
      state_ = State::kBody;
      return need_more(skip);
    }
    if (first_line_) {  // the request or status line
      first_line_ = false;
      continue;
    }
    FrameError e = header_line(line);
    if (e != FrameError::kNone) return framing_error(e);
  }
  if (msg.size() >= limits_.max_msg_size) return framing_error(FrameError::kTooLarge);
  return need_more(skip);
}

FrameError StreamFramer::header_line(std::string_view line) {
  if (is_space(line[0])) {  // a folded continuation of the previous header
    return last_was_cl_ ? FrameError::kBadContentLength : FrameError::kNone;
  }
  last_was_cl_ = false;
  size_t i = 0;
  while (i < line.size() && line[i] != ':' && !is_space(line[i])) ++i;
  if (!is_content_length_name(line.substr(0, i))) return FrameError::kNone;
  while (i < line.size() && is_space(line[i])) ++i;
  if (i == line.size() || line[i] != ':') return FrameError::kNone;  // the SIP parser rejects it
  ++i;
  while (i < line.size() && is_space(line[i])) ++i;
  size_t digits = 0;
  int64_t value = 0;
  for (; i < line.size() && line[i] >= '0' && line[i] <= '9'; ++i, ++digits) {
    // Saturate instead of overflowing: 4294967328 must never become 32 (CVE-2026-23457).
    if (value <= static_cast<int64_t>(limits_.max_msg_size)) value = value * 10 + (line[i] - '0');
  }
  while (i < line.size() && is_space(line[i])) ++i;
  if (digits == 0 || i != line.size()) return FrameError::kBadContentLength;
  if (value > static_cast<int64_t>(limits_.max_msg_size)) return FrameError::kTooLarge;
  if (content_length_ >= 0 && content_length_ != value)
    return FrameError::kConflictingContentLength;
  content_length_ = value;
  last_was_cl_ = true;
  return FrameError::kNone;
}

FrameError StreamFramer::end_read_event() {
  if (!in_message()) return FrameError::kNone;
  if (++chunks_ >= limits_.max_msg_chunks) return FrameError::kTooManyChunks;
  return FrameError::kNone;
}

}  // namespace sipsd
