// libFuzzer target for the URI parser and writer (core/sip/uri.h).
//
// The input is one URI. Beyond "no crash, no over-read" (ASan/UBSan), it checks:
//  - every view of a parsed Uri lies inside the input, and a parsed URI holds no whitespace,
//    CR, LF, '<' or '>' (it could not break a header line or a name-addr);
//  - parameter and header lookups find what the cursors walk;
//  - append_uri() writes every parsed URI back, and the text parses to the same parts;
//  - append_uri() with a host taken from the input either refuses (appending nothing) or writes
//    a URI that parses back with that host.
// Run: uri_fuzz -max_len=512 tests/fuzz/corpus/uri_fuzz
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

#include "core/sip/uri.h"
#include "tests/fuzz/fuzz_checks.h"

namespace {

using sipsd::fuzz::check;
using sipsd::fuzz::inside;
using sipsd::sip::append_uri;
using sipsd::sip::parse_uri;
using sipsd::sip::Uri;
using sipsd::sip::UriParam;
using sipsd::sip::UriParamCursor;

bool same_parts(const Uri& a, const Uri& b) {
  return a.scheme == b.scheme && a.user == b.user && a.has_password == b.has_password &&
         a.password == b.password && a.host == b.host && a.host_is_ipv6 == b.host_is_ipv6 &&
         a.port == b.port && a.params == b.params && a.headers == b.headers;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // An exactly-sized heap copy, so a read past the end is an ASan report.
  std::unique_ptr<char[]> buf(new char[size == 0 ? 1 : size]);
  if (size > 0) memcpy(buf.get(), data, size);
  const std::string_view text(buf.get(), size);

  Uri u;
  if (!parse_uri(text, &u).ok()) return 0;
  for (std::string_view v : {u.scheme_text, u.user, u.password, u.host, u.params, u.headers}) {
    check(inside(v, text));
  }
  check(text.find_first_of(" \t\r\n<>\"") == std::string_view::npos);
  check(u.params.empty() || u.params[0] == ';');
  check(u.headers.empty() || u.headers[0] == '?');

  UriParam p;
  for (UriParamCursor c(u.params); c.next(&p);) {
    check(!p.name.empty() && inside(p.name, text) && inside(p.value, text));
    check(u.param(p.name));
  }
  for (UriParamCursor c(u.headers); c.next(&p);) {
    check(!p.name.empty());
    check(u.header(p.name));
  }

  // Written back and parsed again: the same parts.
  std::string out;
  check(append_uri(u, &out));
  Uri again;
  check(parse_uri(out, &again).ok());
  check(same_parts(u, again));

  // A host from the input: refused, or it round-trips.
  Uri changed = u;
  if (changed.scheme == sipsd::sip::UriScheme::kTel) return 0;
  changed.host = text.substr(0, text.size() / 2);
  changed.host_is_ipv6 = (size & 1) != 0;
  std::string out2 = "x";
  if (append_uri(changed, &out2)) {
    Uri back;
    check(parse_uri(std::string_view(out2).substr(1), &back).ok());
    check(back.host == changed.host && back.host_is_ipv6 == changed.host_is_ipv6);
  } else {
    check(out2 == "x");
  }
  return 0;
}
