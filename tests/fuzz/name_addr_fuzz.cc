// libFuzzer target for header lists and addresses (core/sip/name_addr.h).
//
// The first byte picks the form (From/To, Route, Contact); the rest is one header value.
// Beyond "no crash, no over-read" (ASan/UBSan), it checks:
//  - ListSplitter yields non-empty, trimmed elements inside the value, in order, without
//    overlap, and position() never goes backwards;
//  - when the split succeeds, joining the elements with ", " and splitting again gives the
//    same elements;
//  - each parsed element has its views inside it, a URI unless it is Contact's "*", params that
//    start with ';', a tag among the params, q in 0..1000 and expires in 0..2^32-1 (or -1), and
//    param() finds the tag.
// Run: name_addr_fuzz -max_len=1024 tests/fuzz/corpus/name_addr_fuzz
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/sip/name_addr.h"
#include "tests/fuzz/fuzz_checks.h"

namespace {

using sipsd::fuzz::check;
using sipsd::fuzz::inside;
using sipsd::sip::AddrForm;
using sipsd::sip::ListSplitter;
using sipsd::sip::NameAddr;

bool is_blank(char c) {
  return c == ' ' || c == '\t';
}

void check_element(std::string_view e, AddrForm form) {
  NameAddr na;
  const char* why = nullptr;
  if (!sipsd::sip::parse_name_addr(e, form, &na, &why)) {
    check(why != nullptr);
    return;
  }
  for (std::string_view v : {na.value, na.display_name, na.uri, na.params, na.tag}) {
    check(inside(v, e));
  }
  if (na.star) {
    check(form == AddrForm::kContact && na.uri.empty() && na.params.empty());
    return;
  }
  check(!na.uri.empty());
  if (form == AddrForm::kRoute) check(na.angle_brackets);
  check(na.params.empty() || na.params[0] == ';');
  if (na.has_tag) {
    check(inside(na.tag, na.params));
    std::string_view tag;
    check(na.param("tag", &tag) && tag == na.tag);
  }
  check(na.q >= -1 && na.q <= 1000);
  check(na.expires >= -1 && na.expires <= 4294967295LL);
  if (form != AddrForm::kContact) check(na.q == -1 && na.expires == -1);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const AddrForm form = static_cast<AddrForm>(data[0] % 3);
  std::unique_ptr<char[]> buf(new char[size]);
  memcpy(buf.get(), data + 1, size - 1);
  const std::string_view value(buf.get(), size - 1);

  // The whole value as one address (how From and To are parsed).
  check_element(value, form);

  std::vector<std::string_view> elements;
  ListSplitter split(value);
  std::string_view e;
  const char* last_end = value.data();
  size_t last_pos = 0;
  while (split.next(&e)) {
    check(!e.empty() && inside(e, value));
    check(!is_blank(e.front()) && !is_blank(e.back()));
    check(e.data() >= last_end);
    last_end = e.data() + e.size();
    check(split.position() >= last_pos && split.position() <= value.size());
    last_pos = split.position();
    elements.push_back(e);
    check_element(e, form);
  }
  check(!split.next(&e));
  if (split.failed() || elements.empty()) return 0;

  std::string joined;
  for (std::string_view x : elements) {
    if (!joined.empty()) joined += ", ";
    joined += x;
  }
  ListSplitter again(joined);
  for (std::string_view x : elements) {
    check(again.next(&e) && e == x);
  }
  check(!again.next(&e) && !again.failed());
  return 0;
}
