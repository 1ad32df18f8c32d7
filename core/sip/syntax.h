// Lexical pieces of RFC 3261 §25.1 shared by the SIP parsers in core/sip (message, Via, URI,
// name-addr): character classes, whitespace, quoted strings, decimal numbers, generic-params.
// Internal to core/sip; other folders use the parsers, not these.
//
// Every function takes a string_view and an index and never reads outside the view; nothing
// allocates or recurses.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace sipsd::sip::lex {

enum : uint16_t {
  kToken = 1,        // token (§25.1): alphanum - . ! % * _ + ` ' ~
  kHost = 2,         // hostname / IPv4 characters, leniently with '_': alphanum - . _
  kValue = 4,        // unquoted generic-param value: token / host, IPv6 ':' '[' ']' included
  kScheme = 8,       // URI scheme after its first letter: alphanum + - .
  kUnreserved = 16,  // unreserved = alphanum / mark; mark = - _ . ! ~ * ' ( )
  kUser = 32,        // user-unreserved: & = + $ , ; ? /
  kPassword = 64,    // the password extras: & = + $ ,
  kParam = 128,      // param-unreserved: [ ] / : & + $
  kHnv = 256,        // hnv-unreserved: [ ] / ? : + $
};

constexpr std::array<uint16_t, 256> make_classes() {
  std::array<uint16_t, 256> t{};
  for (int c = 0; c < 256; ++c) {
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    const bool digit = c >= '0' && c <= '9';
    uint16_t f = 0;
    if (alpha || digit) f |= kToken | kHost | kValue | kScheme | kUnreserved;
    const auto in = [c](std::string_view set) {
      return set.find(static_cast<char>(c)) != set.npos;
    };
    if (in("-.")) f |= kToken | kHost | kValue | kScheme;
    if (in("_")) f |= kToken | kHost | kValue;
    if (in("+")) f |= kToken | kValue | kScheme;
    if (in("!%*`'~")) f |= kToken | kValue;
    if (in(":[]")) f |= kValue;
    if (in("-_.!~*'()")) f |= kUnreserved;
    if (in("&=+$,;?/")) f |= kUser;
    if (in("&=+$,")) f |= kPassword;
    if (in("[]/:&+$")) f |= kParam;
    if (in("[]/?:+$")) f |= kHnv;
    t[static_cast<size_t>(c)] = f;
  }
  return t;
}

inline constexpr std::array<uint16_t, 256> kClasses = make_classes();

inline bool has_class(char c, uint16_t f) {
  return (kClasses[static_cast<unsigned char>(c)] & f) != 0;
}
inline bool is_token(char c) {
  return has_class(c, kToken);
}
inline bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
inline bool is_hex(char c) {
  return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
inline bool is_ws(char c) {
  return c == ' ' || c == '\t';
}

inline void skip_ws(std::string_view s, size_t* i) {
  while (*i < s.size() && is_ws(s[*i])) ++*i;
}

inline std::string_view trim(std::string_view s) {
  size_t b = 0;
  size_t e = s.size();
  while (b < e && is_ws(s[b])) ++b;
  while (e > b && is_ws(s[e - 1])) --e;
  return s.substr(b, e - b);
}

// The end of the token starting at i (i itself when s[i] is not a token character).
inline size_t scan_token(std::string_view s, size_t i) {
  while (i < s.size() && is_token(s[i])) ++i;
  return i;
}

// True when s holds no CR, LF or NUL: text that cannot end or split a header line.
inline bool is_line_safe(std::string_view s) {
  for (char c : s) {
    if (c == '\r' || c == '\n' || c == '\0') return false;
  }
  return true;
}

// True when every character of s is in class f (and s is not empty).
inline bool all_of_class(std::string_view s, uint16_t f) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!has_class(c, f)) return false;
  }
  return true;
}

// True when s is one or more characters of class f or escaped octets ("%" HEXDIG HEXDIG).
bool is_escaped_run(std::string_view s, uint16_t f);

// s[*i] == '"'. Moves *i past the closing quote; false when unterminated. quoted-pair escapes
// any character (RFC 3261 §25.1).
inline bool skip_quoted(std::string_view s, size_t* i) {
  size_t j = *i + 1;
  while (j < s.size()) {
    const char c = s[j];
    if (c == '\\') {
      if (j + 1 >= s.size()) return false;
      j += 2;
      continue;
    }
    ++j;
    if (c == '"') {
      *i = j;
      return true;
    }
  }
  return false;
}

// Decimal digits only (already trimmed). *out saturates at `cap` + 1 (cap < UINT64_MAX / 10), so
// huge values (CSeq 36893488147419103232, CVE-2017-9372) can neither overflow nor wrap into range.
inline bool parse_decimal(std::string_view s, uint64_t cap, uint64_t* out) {
  if (s.empty()) return false;
  uint64_t v = 0;
  for (char c : s) {
    if (!is_digit(c)) return false;
    if (v > cap) continue;
    v = v * 10 + static_cast<uint64_t>(c - '0');
    if (v > cap) v = cap + 1;
  }
  *out = v;
  return true;
}

// One generic-param (after its ';'): token [ EQUAL ( token / host / quoted-string ) ].
// *i is on the first character after ';' and ends after the parameter. Whitespace around the
// name and '=' is skipped (SEMI and EQUAL allow it). Returns false on a syntax error.
bool parse_generic_param(std::string_view s, size_t* i, std::string_view* name,
                         std::string_view* value, bool* has_value);

// A textual IPv6 address (no brackets): only hex digits, ':' and '.', as inet_pton(AF_INET6)
// accepts them.
bool valid_ipv6(std::string_view s);

}  // namespace sipsd::sip::lex
