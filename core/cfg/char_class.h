// Character classes of the cfg language (ASCII only), shared by the lexer and the socket-spec
// scanner.
#pragma once

#include <string>

#include "core/base/result.h"

namespace sipsd::cfg {

constexpr bool is_alpha(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
constexpr bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
constexpr bool is_alnum(char c) {
  return is_alpha(c) || is_digit(c);
}
constexpr bool is_word(char c) {
  return is_alnum(c) || c == '_';
}
constexpr bool is_hex(char c) {
  return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
constexpr bool is_octal(char c) {
  return c >= '0' && c <= '7';
}
constexpr int hex_value(char c) {
  if (is_digit(c)) return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return c - 'A' + 10;
}

// "unexpected character 'x'" / "unexpected byte 0x01", for error messages.
inline std::string describe_char(char c) {
  auto u = static_cast<unsigned char>(c);
  if (u >= 0x21 && u < 0x7f) return strprintf("unexpected character '%c'", c);
  return strprintf("unexpected byte 0x%02x", u);
}

}  // namespace sipsd::cfg
