// libFuzzer target: parse -> edit -> build -> parse again (core/sip/message_editor.h), plus the
// header cursors over every parsed message.
//
// Input: one byte choosing the edits, then one framed message. For every message whose header
// section parsed completely, a proxy's edits are applied (bit set -> edit made):
//   0x01 insert_header_first Record-Route    0x10 remove_top_via
//   0x02 push_via (our branch)               0x20 set_request_uri (requests)
//   0x04 set_max_forwards(69)                0x40 replace_body
//   0x08 remove the first extension header   0x80 append_header with text from the input
// Checks:
//  - the original buffer is not changed; output_size() is the built size;
//  - append_header with input text is refused exactly when the text holds CR, LF or NUL (or is
//    over the line limit): no caller text can add a line;
//  - for a message that parsed kOk, the rebuilt message parses with the expected status (kOk,
//    or the Via error the edits explain), and its header list is exactly the expected one:
//    the original headers in order, minus the removed ones, with changed values where edited,
//    plus the added ones at their documented places; R-URI and body as edited;
//  - for any other editable message, the rebuilt message is not kUnparseable;
//  - every cursor (Via, Route, Record-Route, Contact) stays inside the buffer.
// Run: message_edit_fuzz -max_len=8192 tests/fuzz/corpus/message_edit_fuzz
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/sip/header_cursor.h"
#include "core/sip/message.h"
#include "core/sip/message_editor.h"
#include "core/sip/name_addr.h"
#include "core/sip/via.h"
#include "tests/fuzz/fuzz_checks.h"

namespace {

using namespace sipsd::sip;
using sipsd::fuzz::check;
using sipsd::fuzz::inside;
using sipsd::fuzz::longest_line;

constexpr std::string_view kOurVia = "SIP/2.0/TLS 192.0.2.1:5061;branch=z9hG4bKfuzz.0.0";
constexpr std::string_view kRecordRoute = "<sip:192.0.2.1:5061;transport=tls;lr>";
constexpr std::string_view kNewUri = "sip:fuzz@192.0.2.2:5061;transport=tls";
constexpr std::string_view kNewBody = "fuzz body\r\n";

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool line_safe(std::string_view s) {
  return s.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos;
}

void walk_cursors(const Message& m, const char* buf, size_t len) {
  Via v;
  for (ViaCursor c(m); c.next(&v);) check(inside(v.value, buf, len) && inside(v.host, buf, len));
  for (HeaderType t : {HeaderType::kRoute, HeaderType::kRecordRoute, HeaderType::kContact}) {
    NameAddr na;
    NameAddrCursor c(m, t);
    while (c.next(&na)) check(inside(na.value, buf, len) && inside(na.uri, buf, len));
    check(!c.failed() || c.error() != nullptr);
  }
}

struct Expected {
  std::string name;
  std::string value;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Message msg;
  static Message again;
  static MessageEditor ed;
  static std::string out;
  if (size < 1) return 0;
  const uint8_t ops = data[0];
  const size_t len = size - 1;
  std::unique_ptr<char[]> buf(new char[len == 0 ? 1 : len]);
  if (len > 0) memcpy(buf.get(), data + 1, len);
  const ParseResult r = parse_message(buf.get(), len, &msg);
  walk_cursors(msg, buf.get(), len);
  if (ed.reset(msg) != EditStatus::kOk) {
    check(!msg.headers_complete());
    return 0;
  }
  check(r.status != ParseStatus::kUnparseable);
  const std::string before(buf.get(), len);

  // The extension header to remove, and the text for append_header.
  const Header* removed = nullptr;
  if (ops & 0x08) {
    for (const Header& h : msg.headers()) {
      if (h.type == HeaderType::kOther) {
        removed = &h;
        break;
      }
    }
  }
  const std::string_view input_text =
      std::string_view(reinterpret_cast<const char*>(data) + 1, len).substr(len / 2, 40);

  // Edits in a fixed order (the expected list below follows it).
  const bool rr = ops & 0x01;
  const bool via = ops & 0x02;
  const bool mf = ops & 0x04;
  check(!rr || ed.insert_header_first("Record-Route", kRecordRoute) == EditStatus::kOk);
  check(!via || ed.push_via(kOurVia) == EditStatus::kOk);
  check(!mf || ed.set_max_forwards(69) == EditStatus::kOk);
  check(removed == nullptr || ed.remove_header(*removed) == EditStatus::kOk);
  bool top_removed = false;
  if (ops & 0x10) {
    const EditStatus s = ed.remove_top_via();
    check(s == EditStatus::kOk || s == EditStatus::kNotFound);
    top_removed = s == EditStatus::kOk;
  }
  const bool ruri = (ops & 0x20) && msg.is_request();
  check(!ruri || ed.set_request_uri(kNewUri) == EditStatus::kOk);
  const bool body = ops & 0x40;
  check(!body || ed.replace_body(kNewBody) == EditStatus::kOk);
  bool text_added = false;
  if (ops & 0x80) {
    const EditStatus s = ed.append_header("X-Fuzz-Text", input_text);
    text_added = s == EditStatus::kOk;
    check(text_added == line_safe(input_text));
  }

  check(ed.build(&out));
  check(out.size() == ed.output_size());
  check(memcmp(before.data(), buf.get(), len) == 0);
  if (longest_line(out) > Message::kMaxLineLength) return 0;
  const ParseResult r2 = parse_message(out.data(), out.size(), &again);
  walk_cursors(again, out.data(), out.size());
  check(r2.status != ParseStatus::kUnparseable);
  if (r.status != ParseStatus::kOk) return 0;

  // The expected header list.
  std::vector<Expected> want;
  if (rr) want.push_back({"Record-Route", std::string(kRecordRoute)});
  const Header* first_via = msg.first(HeaderType::kVia);
  if (via && first_via == nullptr) want.push_back({"Via", std::string(kOurVia)});
  for (const Header& h : msg.headers()) {
    if (via && &h == first_via) want.push_back({"Via", std::string(kOurVia)});
    if (&h == removed) continue;
    std::string value(h.value);
    if (&h == first_via && top_removed) {
      ListSplitter split(h.value);
      std::string_view top;
      split.next(&top);
      if (split.position() >= h.value.size()) continue;  // the only value: line removed
      value = std::string(h.value.substr(split.position()));
    }
    if (mf && &h == msg.first(HeaderType::kMaxForwards)) value = "69";
    if (body && &h == msg.first(HeaderType::kContentLength)) {
      value = std::to_string(kNewBody.size());
    }
    want.push_back({std::string(h.name), value});
  }
  if (mf && msg.first(HeaderType::kMaxForwards) == nullptr) want.push_back({"Max-Forwards", "69"});
  if (body && msg.first(HeaderType::kContentLength) == nullptr) {
    want.push_back({"Content-Length", std::to_string(kNewBody.size())});
  }
  if (text_added) want.push_back({"X-Fuzz-Text", std::string(trim(input_text))});
  if (want.size() > Message::kMaxHeaders) return 0;

  // The expected status: kOk unless the Via edits leave no Via or a bad top one.
  const Expected* top_via = nullptr;
  for (const Expected& e : want) {
    if (classify_header(e.name) == HeaderType::kVia) {
      top_via = &e;
      break;
    }
  }
  Via parsed_top;
  std::string_view rest;
  if (top_via == nullptr) {
    check(r2.status == ParseStatus::kBadRequest && strcmp(r2.reason, "Missing Via header") == 0);
  } else if (!parse_via(top_via->value, &parsed_top, &rest)) {
    check(r2.status == ParseStatus::kBadRequest && strcmp(r2.reason, "Bad Via header") == 0);
  } else {
    check(r2.status == ParseStatus::kOk);
  }

  check(again.headers().size() == want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    check(again.headers()[i].name == want[i].name);
    check(again.headers()[i].value == want[i].value);
  }
  check(again.is_request() == msg.is_request());
  if (msg.is_request()) check(again.ruri() == (ruri ? kNewUri : msg.ruri()));
  check(again.body() == (body ? kNewBody : msg.body()));
  check(again.call_id() == msg.call_id() && again.cseq_number() == msg.cseq_number());
  if (mf) check(again.max_forwards() == 69);
  return 0;
}
