// libFuzzer target: what tm does with a message before it trusts anything in it — the Via
// branch of a reply decoded to find its transaction (core/tm/branch_id.h), loose_route() on a
// request's Route set (core/tm/loose_route.h), a reply's top Via removed to relay it.
//
// Checks: decode_branch() never crashes and what it accepts encodes back to the same text;
// loose_route() only ever yields a request that parses again (its Route edits keep the message
// well formed), a $du or R-URI that it took from the Route set, and return values 1 or -1; a
// relayed reply parses again with one Via less.
// Run: tm_route_fuzz -max_len=8192 <scratch dir> tests/fuzz/corpus/tm_route_fuzz
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "core/sip/header_cursor.h"
#include "core/sip/message.h"
#include "core/sip/message_editor.h"
#include "core/tm/branch_id.h"
#include "core/tm/loose_route.h"
#include "tests/fuzz/fuzz_checks.h"

namespace {

using sipsd::fuzz::check;
namespace sip = sipsd::sip;
namespace tmx = sipsd::tm;

size_t count_vias(const sip::Message& m) {
  sip::ViaCursor c(m);
  sip::Via v;
  size_t n = 0;
  while (c.next(&v)) ++n;
  return n;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<char> buf(data, data + size);
  sip::Message msg;
  sip::ParseResult pr = sip::parse_message(buf.data(), buf.size(), &msg);
  if (pr.status != sip::ParseStatus::kOk) return 0;

  if (const sip::Via* v = msg.top_via()) {
    if (auto id = tmx::decode_branch(v->branch)) check(tmx::encode_branch(*id) == v->branch);
  }

  sip::MessageEditor ed;
  if (ed.reset(msg) != sip::EditStatus::kOk) return 0;
  std::string out;
  if (msg.is_request()) {
    // "Ourselves" is 127.0.0.1 on any port, or 192.0.2.1:5061 (the r2 case).
    auto myself = [](std::string_view host, uint16_t port) {
      if (host == "127.0.0.1") return 0;
      if (host == "192.0.2.1" && (port == 0 || port == 5061)) return 1;
      return -1;
    };
    tmx::LooseRouteResult r = tmx::loose_route(msg, ed, myself);
    check(r.rc == 1 || r.rc == -1);
    check(r.du.empty() || msg.raw().find(r.du) != std::string_view::npos);
    check(r.ruri.empty() || msg.raw().find(r.ruri) != std::string_view::npos);
    check(r.forced_socket == -1 || r.forced_socket == 0 || r.forced_socket == 1);
    check(ed.build(&out));
    sip::Message again;
    sip::ParseResult pr2 = sip::parse_message(out.data(), out.size(), &again);
    check(pr2.status == sip::ParseStatus::kOk);
  } else if (count_vias(msg) >= 1 && ed.remove_top_via() == sip::EditStatus::kOk) {
    const size_t before = count_vias(msg);
    check(ed.build(&out));
    sip::Message again;
    if (sip::parse_message(out.data(), out.size(), &again).status == sip::ParseStatus::kOk)
      check(count_vias(again) + 1 == before);
  }
  return 0;
}
