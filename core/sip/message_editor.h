// Edits to a parsed message, applied when the outgoing copy is built (OpenSIPS calls them
// "lumps"): remove or add header lines, replace or insert text in the start line or a header
// value, remove the top via-parm, set Max-Forwards, replace the body. build() then writes the
// outgoing message in one pass into a string reserved once. The Message and its buffer are
// never changed, so several editors can build different branches from one request.
//
// Where an edit may go
//  - Text edits (replace, insert_before, insert_after and the helpers built on them) lie inside
//    the start line, or inside one header's value region: from the first character of
//    Header::value to the line end (trailing blanks of an unfolded header included). Header
//    names, colons and line ends are never touched by text edits: rename a header by removing
//    its line and inserting a new one.
//  - Header-line edits add or remove whole lines at line boundaries; the editor writes ": " and
//    CRLF itself.
//  - The body changes only through replace_body(), which also fixes Content-Length.
//  Anything else is kOutOfRange.
//
// Order and conflicts (decided when an edit is added, so the caller learns which edit failed;
// a rejected edit changes nothing):
//  - Every edit is a span [begin, end) of the original buffer that it removes or replaces, or an
//    insertion point (begin == end).
//  - Two edits whose spans share a byte: the later one is rejected (kOverlap). The same for an
//    insertion strictly inside a removed or replaced span, whichever came first. So removing a
//    header and then editing its value (or removing it twice) is kOverlap.
//  - At one position, insertions are written in the order they were added, all before a
//    removal or replacement that starts there; an insertion at the end of a removed span comes
//    after the removal. The output is therefore the same whatever order the non-insertion edits
//    were added in.
//  - set_max_forwards() and replace_body() may each be used once per reset() (kOverlap after).
//
// Text safety: caller text holding CR, LF or NUL is rejected (kBadText), so no edit can add a
// line; header names must be tokens; a new Request-URI must be non-empty without whitespace.
// Text longer than Message::kMaxLineLength is kTooLong. The editor does not judge the SIP
// meaning of what it writes (a replaced Via value is not parsed).
//
// Limits: kMaxEdits edits per message. Storage: a fixed edit table and one text arena that
// keeps its capacity across reset(), so a reused editor stops allocating once warmed up.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/sip/message.h"

namespace sipsd::sip {

enum class EditStatus : uint8_t {
  kOk,
  kNotEditable,   // no message, or one whose header section was not parsed completely
  kOutOfRange,    // a span or anchor outside the places listed at the top of this file
  kOverlap,       // conflicts with an edit already made
  kBadText,       // CR/LF/NUL in text, a header name that is not a token, a bad R-URI or value
  kTooLong,       // text longer than Message::kMaxLineLength
  kTooManyEdits,  // more than kMaxEdits
  kNotFound,      // remove_top_via(): no Via header, or its value list is malformed
};

// "ok", "overlap", ... for log lines.
std::string_view edit_status_name(EditStatus s);

class MessageEditor {
 public:
  static constexpr size_t kMaxEdits = 64;

  MessageEditor() = default;
  MessageEditor(const MessageEditor&) = delete;
  MessageEditor& operator=(const MessageEditor&) = delete;

  // Starts editing `msg`, forgetting earlier edits. `msg` and its buffer must stay alive and
  // unchanged until the last build(). kNotEditable (and every later edit too) unless
  // msg.headers_complete().
  EditStatus reset(const Message& msg);

  // ---- text in the start line or a header value ------------------------------------------
  // `span` and `anchor` are views into msg.raw() (e.g. msg.ruri(), header.value, via.value).
  EditStatus replace(std::string_view span, std::string_view text);
  EditStatus insert_before(std::string_view anchor, std::string_view text);
  EditStatus insert_after(std::string_view anchor, std::string_view text);
  // The Request-URI (requests only; kOutOfRange for a reply).
  EditStatus set_request_uri(std::string_view uri);
  EditStatus replace_header_value(const Header& h, std::string_view value);

  // ---- whole header lines (h: one of msg.headers()) ------------------------------------------
  EditStatus remove_header(const Header& h);
  // "name: value" CRLF right after the start line (OpenSIPS insert_hf).
  EditStatus insert_header_first(std::string_view name, std::string_view value);
  // ... after the last header (OpenSIPS append_hf).
  EditStatus append_header(std::string_view name, std::string_view value);
  EditStatus insert_header_before(const Header& anchor, std::string_view name,
                                  std::string_view value);
  EditStatus insert_header_after(const Header& anchor, std::string_view name,
                                 std::string_view value);
  // A new top Via (a proxy's own, RFC 3261 §16.6 step 8): "Via: value" before the first Via
  // header, or after the start line when there is none.
  EditStatus push_via(std::string_view value);
  // Removes the top via-parm (a proxy forwarding a reply, §16.7 step 3): "Via: a, b" keeps
  // "Via: b"; a header holding only the top value is removed. kNotFound without a Via header or
  // when its value list is malformed.
  EditStatus remove_top_via();
  // Max-Forwards (0..255, else kBadText): the first header's value replaced, or a header
  // appended when there is none.
  EditStatus set_max_forwards(unsigned value);
  // The body (any bytes), with the first Content-Length value set to its size, or a
  // Content-Length header appended when there is none.
  EditStatus replace_body(std::string_view body);

  // Edits recorded since reset().
  size_t edit_count() const { return count_; }
  // The size build() will produce.
  size_t output_size() const;

  // Writes the edited message (from its start line; leading empty lines dropped) into *out,
  // replacing its content, after one reserve(). False, with *out empty, when there is no
  // editable message.
  bool build(std::string* out) const;

 private:
  struct Edit {
    uint32_t begin;  // offsets into msg_->raw()
    uint32_t end;
    uint32_t text_off;  // into text_
    uint32_t text_len;
  };

  bool offset_of(std::string_view v, size_t* off) const;
  bool in_text_region(size_t begin, size_t end) const;
  EditStatus check(const Edit& e) const;
  void insert_sorted(const Edit& e);
  EditStatus add_text_edit(size_t begin, size_t end, std::string_view text);
  EditStatus add_header_line(size_t at, std::string_view name, std::string_view value);
  // Appends text to the arena; returns its offset.
  uint32_t stage(std::string_view a, std::string_view b = {}, std::string_view c = {},
                 std::string_view d = {});

  const Message* msg_ = nullptr;
  std::array<Edit, kMaxEdits> edits_{};
  size_t count_ = 0;
  std::string text_;
  bool max_forwards_set_ = false;
  bool body_replaced_ = false;
};

}  // namespace sipsd::sip
