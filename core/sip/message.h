// SIP message parser (RFC 3261 §7, §20, §25): parses one framed message in place.
//
// The stream framer hands over exactly one message (start line, headers, empty line, body of
// Content-Length bytes) in a mutable, connection-owned buffer. parse_message() rewrites folded
// header lines in place (each header value becomes one clean line) and records views into the
// buffer; they stay valid until the buffer is reused for the next message. No heap allocation in
// the steady state: the caller reuses one Message, whose clear() keeps the header vector's
// capacity (bounded by Message::kMaxHeaders).
//
// Input is hostile: every index is bounded by the length, nothing recurses, every pass is linear
// in the message size, no line or header longer than kMaxLineLength is accepted.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "core/sip/name_addr.h"
#include "core/sip/via.h"

namespace sipsd::sip {

// Headers the core looks at. Names compare case-insensitively; compact forms map here too.
enum class HeaderType : uint8_t {
  kOther,
  kVia,     // v
  kFrom,    // f
  kTo,      // t
  kCallId,  // i
  kCSeq,
  kMaxForwards,
  kContentLength,  // l
  kUserAgent,
  kContact,      // m
  kContentType,  // c
  kRoute,
  kRecordRoute,
  kSupported,  // k
  kRequire,
  kAllow,
  kSubject,          // s
  kContentEncoding,  // e
  kProxyRequire,
  kUnsupported,
  kServer,
  kExpires,
  kEvent,    // o
  kReferTo,  // r
  kAuthorization,
  kProxyAuthorization,
  kWwwAuthenticate,
  kProxyAuthenticate,
  kAlertInfo,
};
inline constexpr size_t kHeaderTypeCount = static_cast<size_t>(HeaderType::kAlertInfo) + 1;

// Canonical (long-form) name of a header type, e.g. "Call-ID"; "" for kOther.
std::string_view header_type_name(HeaderType t);
// Classifies a header name (case-insensitive, compact forms included).
HeaderType classify_header(std::string_view name);

struct Header {
  HeaderType type;
  std::string_view name;   // as received, without surrounding whitespace
  std::string_view value;  // trimmed, unfolded (one line, no CR/LF)
  // The whole header as it stands in the buffer: from the first character of its name through
  // the line end (CRLF, or a bare LF) of its last physical line. Removing this span removes the
  // header; after unfolding, a folded header's continuation line ends have become spaces, so the
  // span holds exactly one line end, at its end.
  std::string_view line;
};

enum class Method : uint8_t {
  kOther,
  kInvite,
  kAck,
  kOptions,
  kBye,
  kCancel,
  kRegister,
  kInfo,
  kPrack,
  kUpdate,
  kSubscribe,
  kNotify,
  kMessage,
  kRefer,
  kPublish,
};
// Maps a method token (case-sensitive, RFC 3261 §7.1) to its id; kOther for extensions.
Method method_from_name(std::string_view name);

class MessageParser;

class Message {
 public:
  // More headers than this: kBadRequest "Too many headers" (the first kMaxHeaders are kept).
  static constexpr size_t kMaxHeaders = 256;
  // Longest start line, or header with its continuation lines, in bytes (kUnparseable beyond).
  static constexpr size_t kMaxLineLength = 8192;

  Message() { clear(); }

  void clear();

  bool is_request() const { return is_request_; }
  // Requests.
  std::string_view method() const { return method_; }
  Method method_id() const { return method_id_; }
  std::string_view ruri() const { return ruri_; }
  // Replies.
  int status_code() const { return status_code_; }
  std::string_view reason() const { return reason_; }
  // "SIP/2.0" as received.
  std::string_view version() const { return version_; }

  // In message order; at most kMaxHeaders.
  const std::vector<Header>& headers() const { return headers_; }
  // The first header of type t, nullptr if absent.
  const Header* first(HeaderType t) const;
  // Number of headers of type t.
  size_t count(HeaderType t) const { return counts_[static_cast<size_t>(t)]; }

  // Empty if absent (or invalid, for the parsed ones).
  std::string_view call_id() const;
  std::string_view user_agent() const;
  uint32_t cseq_number() const { return cseq_number_; }
  std::string_view cseq_method() const { return cseq_method_; }
  // -1 when absent.
  int max_forwards() const { return max_forwards_; }
  // The parsed first value of the first Via header; nullptr when absent or malformed. Every
  // value in order: ViaCursor (header_cursor.h).
  const Via* top_via() const { return has_top_via_ ? &top_via_ : nullptr; }
  // From and To (AddrForm::kFromTo); nullptr when absent or malformed. Their `uri` is not parsed:
  // parse_uri(msg.from()->uri, &uri) when needed. Route, Record-Route, Contact: NameAddrCursor.
  const NameAddr* from() const { return has_from_ ? &from_ : nullptr; }
  const NameAddr* to() const { return has_to_ ? &to_ : nullptr; }
  std::string_view from_tag() const { return has_from_ ? from_.tag : std::string_view(); }
  std::string_view to_tag() const { return has_to_ ? to_.tag : std::string_view(); }
  bool has_to_tag() const { return has_to_ && to_.has_tag; }
  // The Content-Length value (equal to body().size() when the parse got that far); -1 when the
  // header is absent.
  int64_t content_length() const { return content_length_; }
  // The Expires header's delta-seconds, values above 2^32-1 taken as 2^32-1 (RFC 3261 §20.19).
  // False when the header is absent or not a number (parsed on each call).
  bool expires(uint32_t* seconds) const;

  std::string_view body() const { return body_; }
  // The whole message as parsed (after in-place unfolding), leading empty lines included.
  std::string_view raw() const { return raw_; }
  // The start line without its line end.
  std::string_view start_line() const { return start_line_; }
  // Every header line, from the first header's name through the last header's line end; empty
  // (pointing after the start line) when there are no headers. The empty line and the body
  // follow it. Empty when !headers_complete().
  std::string_view header_lines() const { return header_lines_; }
  // True when the empty line ending the headers was reached and every header was recorded (not
  // the case for kUnparseable, nor for kBadRequest "Too many headers"): only then do headers()
  // and header_lines() describe the whole header section.
  bool headers_complete() const { return headers_complete_; }

 private:
  friend class MessageParser;

  std::string_view raw_;
  bool is_request_ = false;
  Method method_id_ = Method::kOther;
  std::string_view method_;
  std::string_view ruri_;
  std::string_view version_;
  int status_code_ = 0;
  std::string_view reason_;
  std::vector<Header> headers_;
  std::array<int16_t, kHeaderTypeCount> first_{};
  std::array<uint16_t, kHeaderTypeCount> counts_{};
  uint32_t cseq_number_ = 0;
  std::string_view cseq_method_;
  int max_forwards_ = -1;
  bool has_top_via_ = false;
  Via top_via_;
  bool has_from_ = false;
  bool has_to_ = false;
  NameAddr from_;
  NameAddr to_;
  int64_t content_length_ = -1;
  std::string_view start_line_;
  std::string_view header_lines_;
  bool headers_complete_ = false;
  std::string_view body_;
};

enum class ParseStatus : uint8_t { kOk, kBadRequest, kUnparseable };

struct ParseResult {
  ParseStatus status;
  // Static string, never null: "OK", or why (e.g. "Missing Call-ID header").
  const char* reason;
  // For kBadRequest: the status code to answer with (400, or 505 for a SIP version other
  // than 2.0); 0 otherwise.
  int reply_code = 0;
};

// Parses one framed message in place (see the top of this file).
//   kUnparseable: the start line or the header structure is not SIP, or the framing is
//     inconsistent (Content-Length); the caller closes the connection.
//   kBadRequest: SIP, but invalid; for a request the caller answers `reply_code` with `reason`
//     as the reason phrase (the Message holds whatever could be parsed, enough to build the
//     reply). A reply in this state is dropped.
//   kOk otherwise.
ParseResult parse_message(char* data, size_t len, Message* out);

}  // namespace sipsd::sip
