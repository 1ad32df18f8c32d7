// libFuzzer target for the SIP message parser and the stateless reply builder.
//
// The input is one framed message. Beyond "no crash, no over-read" (ASan/UBSan), it checks:
//  - every view lies inside the buffer, header values hold no CR/LF, the header cap holds;
//  - a kOk request has what the worker relies on (top Via, mandatory headers, CSeq method);
//  - parsing is idempotent: the buffer rewritten by unfolding parses to the same result;
//  - the stateless reply to any request that is not unparseable parses back (kOk for a kOk
//    request) with the request's Call-ID, CSeq and a To tag.
// Run: sip_msg_fuzz -max_len=16384 corpus/   (seed with RFC 4475 messages)
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

#include "core/sip/message.h"
#include "core/sip/sl_reply.h"
#include "tests/fuzz/fuzz_checks.h"

namespace {

using sipsd::fuzz::check;
using sipsd::fuzz::inside;
using sipsd::fuzz::longest_line;
using sipsd::sip::Header;
using sipsd::sip::HeaderType;
using sipsd::sip::Message;
using sipsd::sip::Method;
using sipsd::sip::ParseResult;
using sipsd::sip::ParseStatus;

void check_message(const Message& m, const ParseResult& r, const char* buf, size_t len) {
  check(r.reason != nullptr);
  check(m.headers().size() <= Message::kMaxHeaders);
  for (const Header& h : m.headers()) {
    check(inside(h.name, buf, len) && inside(h.value, buf, len));
    check(!h.name.empty());
    check(h.value.find_first_of("\r\n") == std::string_view::npos);
  }
  check(inside(m.body(), buf, len));
  check(inside(m.method(), buf, len) && inside(m.ruri(), buf, len));
  if (r.status == ParseStatus::kBadRequest) check(r.reply_code == 400 || r.reply_code == 505);
  if (r.status != ParseStatus::kOk) return;
  check(m.top_via() != nullptr);
  check(inside(m.top_via()->value, buf, len));
  for (HeaderType t : {HeaderType::kVia, HeaderType::kFrom, HeaderType::kTo, HeaderType::kCallId,
                       HeaderType::kCSeq}) {
    check(m.first(t) != nullptr);
  }
  check(!m.call_id().empty());
  check(m.cseq_number() < (1u << 31));
  if (m.is_request()) {
    check(m.cseq_method() == m.method());
    check(!m.ruri().empty());
  } else {
    check(m.status_code() >= 100 && m.status_code() <= 699);
  }
  if (const Header* cl = m.first(HeaderType::kContentLength)) {
    check(std::to_string(m.body().size()).size() <= cl->value.size());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // Reused across inputs, as a worker reuses them across messages.
  static Message msg;
  static Message again;
  static Message reply_msg;
  static std::string reply;

  // Exactly-sized heap copies, so any read past the end is an ASan report.
  std::unique_ptr<char[]> buf(new char[size == 0 ? 1 : size]);
  if (size > 0) memcpy(buf.get(), data, size);
  const ParseResult r = sipsd::sip::parse_message(buf.get(), size, &msg);
  check_message(msg, r, buf.get(), size);

  // Idempotence over the rewritten buffer.
  std::unique_ptr<char[]> copy(new char[size == 0 ? 1 : size]);
  if (size > 0) memcpy(copy.get(), buf.get(), size);
  const ParseResult r2 = sipsd::sip::parse_message(copy.get(), size, &again);
  check(r2.status == r.status && strcmp(r2.reason, r.reason) == 0);
  check(again.headers().size() == msg.headers().size());
  for (size_t i = 0; i < msg.headers().size(); ++i) {
    check(again.headers()[i].type == msg.headers()[i].type);
    check(again.headers()[i].name == msg.headers()[i].name);
    check(again.headers()[i].value == msg.headers()[i].value);
  }
  check(memcmp(copy.get(), buf.get(), size) == 0);

  if (!msg.is_request() || r.status == ParseStatus::kUnparseable) return 0;
  const int code = r.status == ParseStatus::kOk ? 486 : r.reply_code;
  const sipsd::sip::ReplyParams params{"192.0.2.1", 5061, "sipsd (fuzz)"};
  sipsd::sip::build_stateless_reply(msg, code, r.status == ParseStatus::kOk ? "" : r.reason, params,
                                    &reply);
  if (msg.method_id() == Method::kAck) {
    check(reply.empty());
    return 0;
  }
  check(!reply.empty());
  // Our own additions (received, tag) can push a line just past our own line limit.
  if (longest_line(reply) > Message::kMaxLineLength) return 0;
  const ParseResult rr = sipsd::sip::parse_message(reply.data(), reply.size(), &reply_msg);
  check(rr.status != ParseStatus::kUnparseable);
  check(!reply_msg.is_request() && reply_msg.status_code() == code);
  check(reply_msg.body().empty());
  if (r.status == ParseStatus::kOk) {
    check(rr.status == ParseStatus::kOk);
    check(reply_msg.call_id() == msg.call_id());
    check(reply_msg.cseq_number() == msg.cseq_number());
    check(reply_msg.has_to_tag());
    if (!msg.has_to_tag()) check(sipsd::sip::is_sl_to_tag(reply_msg.to_tag()));
    check(reply_msg.top_via() != nullptr);
    check(reply_msg.top_via()->branch == msg.top_via()->branch);
    check(reply_msg.count(HeaderType::kVia) == msg.count(HeaderType::kVia));
  }
  return 0;
}
