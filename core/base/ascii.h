// ASCII-only case handling. SIP tokens, header names, cfg keywords and host names compare
// case-insensitively in ASCII (RFC 3261 §7.3.1); the C library's locale-dependent tolower()
// has no place there.
#pragma once

#include <string>
#include <string_view>

namespace sipsd {

constexpr char ascii_lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + ('a' - 'A')) : c;
}

constexpr bool ascii_iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  return true;
}

// True when `s` starts with `prefix`, ignoring ASCII case.
constexpr bool ascii_istarts_with(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && ascii_iequals(s.substr(0, prefix.size()), prefix);
}

inline std::string ascii_to_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = ascii_lower(c);
  return out;
}

}  // namespace sipsd
