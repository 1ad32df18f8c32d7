#include "core/sip/message_editor.h"

#include <charconv>
#include <cstdint>
#include <functional>

#include "core/sip/name_addr.h"
#include "core/sip/syntax.h"

namespace sipsd::sip {
namespace {

bool is_insertion(uint32_t begin, uint32_t end) {
  return begin == end;
}

// Would edits a and b write or remove the same bytes, or one insert inside the other's span?
bool conflicts(uint32_t ab, uint32_t ae, uint32_t bb, uint32_t be) {
  const bool a_ins = is_insertion(ab, ae);
  const bool b_ins = is_insertion(bb, be);
  if (!a_ins && !b_ins) return ab < be && bb < ae;
  if (a_ins && !b_ins) return bb < ab && ab < be;
  if (!a_ins && b_ins) return ab < bb && bb < ae;
  return false;
}

// The number as decimal text in buf.
std::string_view decimal(uint64_t v, char (&buf)[24]) {
  const auto r = std::to_chars(buf, buf + sizeof(buf), v);
  return std::string_view(buf, static_cast<size_t>(r.ptr - buf));
}

}  // namespace

std::string_view edit_status_name(EditStatus s) {
  switch (s) {
    case EditStatus::kOk:
      return "ok";
    case EditStatus::kNotEditable:
      return "not editable";
    case EditStatus::kOutOfRange:
      return "out of range";
    case EditStatus::kOverlap:
      return "overlap";
    case EditStatus::kBadText:
      return "bad text";
    case EditStatus::kTooLong:
      return "too long";
    case EditStatus::kTooManyEdits:
      return "too many edits";
    case EditStatus::kNotFound:
      return "not found";
  }
  return "?";
}

EditStatus MessageEditor::reset(const Message& msg) {
  count_ = 0;
  text_.clear();
  max_forwards_set_ = body_replaced_ = false;
  msg_ = nullptr;
  if (!msg.headers_complete() || msg.raw().size() > UINT32_MAX) return EditStatus::kNotEditable;
  msg_ = &msg;
  return EditStatus::kOk;
}

bool MessageEditor::offset_of(std::string_view v, size_t* off) const {
  const std::string_view raw = msg_->raw();
  const auto base = reinterpret_cast<uintptr_t>(raw.data());
  const auto p = reinterpret_cast<uintptr_t>(v.data());
  if (p < base || p - base > raw.size() || v.size() > raw.size() - (p - base)) return false;
  *off = p - base;
  return true;
}

bool MessageEditor::in_text_region(size_t begin, size_t end) const {
  size_t b = 0;
  if (!offset_of(msg_->start_line(), &b)) return false;
  if (begin >= b && end <= b + msg_->start_line().size()) return true;
  // The header whose line holds `begin`: the last one starting at or before it.
  const std::vector<Header>& hs = msg_->headers();
  size_t lo = 0;
  size_t hi = hs.size();
  while (lo < hi) {
    const size_t mid = lo + (hi - lo) / 2;
    size_t line = 0;
    offset_of(hs[mid].line, &line);
    if (line <= begin) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  if (lo == 0) return false;
  const Header& h = hs[lo - 1];
  size_t value = 0;
  size_t line = 0;
  offset_of(h.value, &value);
  offset_of(h.line, &line);
  const std::string_view l = h.line;
  const size_t eol = l.size() >= 2 && l[l.size() - 2] == '\r' ? 2 : 1;
  const size_t content_end = line + l.size() - eol;
  return begin >= value && end <= content_end;
}

EditStatus MessageEditor::check(const Edit& e) const {
  if (count_ >= kMaxEdits) return EditStatus::kTooManyEdits;
  for (size_t i = 0; i < count_; ++i) {
    if (conflicts(e.begin, e.end, edits_[i].begin, edits_[i].end)) return EditStatus::kOverlap;
  }
  return EditStatus::kOk;
}

void MessageEditor::insert_sorted(const Edit& e) {
  // The first edit that comes after e: a later start, or, at the same start, a removal or
  // replacement when e is an insertion (insertions at one point keep their order).
  size_t i = 0;
  while (i < count_) {
    const Edit& x = edits_[i];
    if (x.begin > e.begin) break;
    if (x.begin == e.begin && is_insertion(e.begin, e.end) && !is_insertion(x.begin, x.end)) break;
    ++i;
  }
  for (size_t k = count_; k > i; --k) edits_[k] = edits_[k - 1];
  edits_[i] = e;
  ++count_;
}

uint32_t MessageEditor::stage(std::string_view a, std::string_view b, std::string_view c,
                              std::string_view d) {
  const auto off = static_cast<uint32_t>(text_.size());
  text_.append(a).append(b).append(c).append(d);
  return off;
}

EditStatus MessageEditor::add_text_edit(size_t begin, size_t end, std::string_view text) {
  if (!lex::is_line_safe(text)) return EditStatus::kBadText;
  if (text.size() > Message::kMaxLineLength) return EditStatus::kTooLong;
  if (!in_text_region(begin, end)) return EditStatus::kOutOfRange;
  Edit e{static_cast<uint32_t>(begin), static_cast<uint32_t>(end), 0,
         static_cast<uint32_t>(text.size())};
  if (const EditStatus s = check(e); s != EditStatus::kOk) return s;
  e.text_off = stage(text);
  insert_sorted(e);
  return EditStatus::kOk;
}

EditStatus MessageEditor::add_header_line(size_t at, std::string_view name,
                                          std::string_view value) {
  if (!lex::all_of_class(name, lex::kToken) || !lex::is_line_safe(value))
    return EditStatus::kBadText;
  if (name.size() + value.size() + 2 > Message::kMaxLineLength) return EditStatus::kTooLong;
  Edit e{static_cast<uint32_t>(at), static_cast<uint32_t>(at), 0,
         static_cast<uint32_t>(name.size() + value.size() + 4)};
  if (const EditStatus s = check(e); s != EditStatus::kOk) return s;
  e.text_off = stage(name, ": ", value, "\r\n");
  insert_sorted(e);
  return EditStatus::kOk;
}

EditStatus MessageEditor::replace(std::string_view span, std::string_view text) {
  if (msg_ == nullptr) return EditStatus::kNotEditable;
  size_t b = 0;
  if (!offset_of(span, &b)) return EditStatus::kOutOfRange;
  return add_text_edit(b, b + span.size(), text);
}

EditStatus MessageEditor::insert_before(std::string_view anchor, std::string_view text) {
  if (msg_ == nullptr) return EditStatus::kNotEditable;
  size_t b = 0;
  if (!offset_of(anchor, &b)) return EditStatus::kOutOfRange;
  return add_text_edit(b, b, text);
}

EditStatus MessageEditor::insert_after(std::string_view anchor, std::string_view text) {
  if (msg_ == nullptr) return EditStatus::kNotEditable;
  size_t b = 0;
  if (!offset_of(anchor, &b)) return EditStatus::kOutOfRange;
  return add_text_edit(b + anchor.size(), b + anchor.size(), text);
}

EditStatus MessageEditor::set_request_uri(std::string_view uri) {
  if (msg_ == nullptr) return EditStatus::kNotEditable;
  if (!msg_->is_request()) return EditStatus::kOutOfRange;
  if (uri.empty()) return EditStatus::kBadText;
  for (char c : uri) {
    if (lex::is_ws(c)) return EditStatus::kBadText;
  }
  return replace(msg_->ruri(), uri);
}

EditStatus MessageEditor::replace_header_value(const Header& h, std::string_view value) {
  return replace(h.value, value);
}

namespace {

bool is_header_of(const Message& m, const Header& h) {
  const Header* first = m.headers().data();
  const std::less<const Header*> less;
  return !m.headers().empty() && !less(&h, first) && less(&h, first + m.headers().size());
}

}  // namespace

EditStatus MessageEditor::remove_header(const Header& h) {
  if (msg_ == nullptr) return EditStatus::kNotEditable;
  size_t b = 0;
  if (!is_header_of(*msg_, h) || !offset_of(h.line, &b)) return EditStatus::kOutOfRange;
  Edit e{static_cast<uint32_t>(b), static_cast<uint32_t>(b + h.line.size()), 0, 0};
  if (const EditStatus s = check(e); s != EditStatus::kOk) return s;
  insert_sorted(e);
  return EditStatus::kOk;
}

EditStatus MessageEditor::insert_header_first(std::string_view name, std::string_view value) {
  if (msg_ == nullptr) return EditStatus::kNotEditable;
  size_t at = 0;
  offset_of(msg_->header_lines(), &at);
  return add_header_line(at, name, value);
}

EditStatus MessageEditor::append_header(std::string_view name, std::string_view value) {
  if (msg_ == nullptr) return EditStatus::kNotEditable;
  size_t at = 0;
  offset_of(msg_->header_lines(), &at);
  return add_header_line(at + msg_->header_lines().size(), name, value);
}

EditStatus MessageEditor::insert_header_before(const Header& anchor, std::string_view name,
                                               std::string_view value) {
  if (msg_ == nullptr) return EditStatus::kNotEditable;
  size_t at = 0;
  if (!is_header_of(*msg_, anchor) || !offset_of(anchor.line, &at)) {
    return EditStatus::kOutOfRange;
  }
  return add_header_line(at, name, value);
}

EditStatus MessageEditor::insert_header_after(const Header& anchor, std::string_view name,
                                              std::string_view value) {
  if (msg_ == nullptr) return EditStatus::kNotEditable;
  size_t at = 0;
  if (!is_header_of(*msg_, anchor) || !offset_of(anchor.line, &at)) {
    return EditStatus::kOutOfRange;
  }
  return add_header_line(at + anchor.line.size(), name, value);
}

EditStatus MessageEditor::push_via(std::string_view value) {
  if (msg_ == nullptr) return EditStatus::kNotEditable;
  if (const Header* via = msg_->first(HeaderType::kVia)) {
    return insert_header_before(*via, "Via", value);
  }
  return insert_header_first("Via", value);
}

EditStatus MessageEditor::remove_top_via() {
  if (msg_ == nullptr) return EditStatus::kNotEditable;
  const Header* via = msg_->first(HeaderType::kVia);
  if (via == nullptr) return EditStatus::kNotFound;
  ListSplitter values(via->value);
  std::string_view top;
  if (!values.next(&top)) return EditStatus::kNotFound;
  const size_t next_start = values.position();
  std::string_view second;
  const bool more = values.next(&second);
  if (values.failed()) return EditStatus::kNotFound;
  if (!more) return remove_header(*via);
  // "a, b" -> "b": from the top value through the comma and blanks after it.
  size_t value_off = 0;
  size_t top_off = 0;
  offset_of(via->value, &value_off);
  offset_of(top, &top_off);
  Edit e{static_cast<uint32_t>(top_off), static_cast<uint32_t>(value_off + next_start), 0, 0};
  if (const EditStatus s = check(e); s != EditStatus::kOk) return s;
  insert_sorted(e);
  return EditStatus::kOk;
}

EditStatus MessageEditor::set_max_forwards(unsigned value) {
  if (msg_ == nullptr) return EditStatus::kNotEditable;
  if (value > 255) return EditStatus::kBadText;
  if (max_forwards_set_) return EditStatus::kOverlap;
  char buf[24];
  const std::string_view num = decimal(value, buf);
  const Header* h = msg_->first(HeaderType::kMaxForwards);
  const EditStatus s = h != nullptr ? replace(h->value, num) : append_header("Max-Forwards", num);
  if (s == EditStatus::kOk) max_forwards_set_ = true;
  return s;
}

EditStatus MessageEditor::replace_body(std::string_view body) {
  if (msg_ == nullptr) return EditStatus::kNotEditable;
  if (body_replaced_) return EditStatus::kOverlap;
  if (body.size() > UINT32_MAX - msg_->raw().size()) return EditStatus::kTooLong;
  if (count_ + 2 > kMaxEdits) return EditStatus::kTooManyEdits;
  size_t body_off = 0;
  offset_of(msg_->body(), &body_off);
  const Edit body_edit{static_cast<uint32_t>(body_off), static_cast<uint32_t>(msg_->raw().size()),
                       0, static_cast<uint32_t>(body.size())};
  char buf[24];
  const std::string_view num = decimal(body.size(), buf);
  Edit cl_edit{};
  std::string_view cl_prefix;
  std::string_view cl_suffix;
  if (const Header* cl = msg_->first(HeaderType::kContentLength)) {
    size_t off = 0;
    offset_of(cl->value, &off);
    cl_edit = Edit{static_cast<uint32_t>(off), static_cast<uint32_t>(off + cl->value.size()), 0, 0};
  } else {
    size_t at = 0;
    offset_of(msg_->header_lines(), &at);
    at += msg_->header_lines().size();
    cl_edit = Edit{static_cast<uint32_t>(at), static_cast<uint32_t>(at), 0, 0};
    cl_prefix = "Content-Length: ";
    cl_suffix = "\r\n";
  }
  if (const EditStatus s = check(body_edit); s != EditStatus::kOk) return s;
  if (const EditStatus s = check(cl_edit); s != EditStatus::kOk) return s;
  cl_edit.text_off = stage(cl_prefix, num, cl_suffix);
  cl_edit.text_len = static_cast<uint32_t>(text_.size() - cl_edit.text_off);
  Edit staged_body = body_edit;
  staged_body.text_off = stage(body);
  insert_sorted(cl_edit);
  insert_sorted(staged_body);
  body_replaced_ = true;
  return EditStatus::kOk;
}

size_t MessageEditor::output_size() const {
  if (msg_ == nullptr) return 0;
  size_t start = 0;
  offset_of(msg_->start_line(), &start);
  size_t n = msg_->raw().size() - start;
  for (size_t i = 0; i < count_; ++i) {
    // Removed spans lie inside raw after the start line, so n never goes below zero.
    n += edits_[i].text_len;
    n -= edits_[i].end - edits_[i].begin;
  }
  return n;
}

bool MessageEditor::build(std::string* out) const {
  out->clear();
  if (msg_ == nullptr) return false;
  const std::string_view raw = msg_->raw();
  size_t cursor = 0;
  offset_of(msg_->start_line(), &cursor);
  out->reserve(output_size());
  for (size_t i = 0; i < count_; ++i) {
    const Edit& e = edits_[i];
    if (e.begin > cursor) out->append(raw.substr(cursor, e.begin - cursor));
    out->append(text_, e.text_off, e.text_len);
    if (e.end > cursor) cursor = e.end;
  }
  out->append(raw.substr(cursor));
  return true;
}

}  // namespace sipsd::sip
