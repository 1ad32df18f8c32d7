#include "core/sip/syntax.h"

#include <arpa/inet.h>

#include <cstring>

namespace sipsd::sip::lex {

bool is_escaped_run(std::string_view s, uint16_t f) {
  if (s.empty()) return false;
  for (size_t i = 0; i < s.size();) {
    if (s[i] == '%') {
      if (i + 2 >= s.size() || !is_hex(s[i + 1]) || !is_hex(s[i + 2])) return false;
      i += 3;
      continue;
    }
    if (!has_class(s[i], f)) return false;
    ++i;
  }
  return true;
}

bool parse_generic_param(std::string_view s, size_t* i, std::string_view* name,
                         std::string_view* value, bool* has_value) {
  skip_ws(s, i);
  const size_t ns = *i;
  *i = scan_token(s, *i);
  if (*i == ns) return false;
  *name = s.substr(ns, *i - ns);
  *value = {};
  *has_value = false;
  size_t j = *i;
  skip_ws(s, &j);
  if (j < s.size() && s[j] == '=') {
    ++j;
    skip_ws(s, &j);
    const size_t vs = j;
    if (j < s.size() && s[j] == '"') {
      if (!skip_quoted(s, &j)) return false;
    } else {
      while (j < s.size() && has_class(s[j], kValue)) ++j;
    }
    if (j == vs) return false;
    *value = s.substr(vs, j - vs);
    *has_value = true;
    *i = j;
  }
  return true;
}

bool valid_ipv6(std::string_view s) {
  char buf[INET6_ADDRSTRLEN + 1];
  if (s.empty() || s.size() >= sizeof(buf)) return false;
  // inet_pton stops at a NUL: "2001:db8::\0junk" must not pass as "2001:db8::".
  for (char c : s) {
    if (!is_hex(c) && c != ':' && c != '.') return false;
  }
  memcpy(buf, s.data(), s.size());
  buf[s.size()] = '\0';
  in6_addr a;
  return inet_pton(AF_INET6, buf, &a) == 1;
}

}  // namespace sipsd::sip::lex
