#include "core/base/printable.h"

#include <cstdint>

namespace sipsd {

namespace {

// Length of the well-formed UTF-8 sequence at s[i] that may be shown raw, or 0 when the byte
// at s[i] (>= 0x80) must be escaped: ill-formed, truncated, or a code point that controls a
// terminal or the text direction.
size_t shown_utf8(std::string_view s, size_t i) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  size_t len;
  uint32_t cp;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    len = 2;
    cp = b0 & 0x1Fu;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    len = 3;
    cp = b0 & 0x0Fu;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    len = 4;
    cp = b0 & 0x07u;
  } else {
    return 0;  // continuation byte, C0/C1 overlong lead, or beyond U+10FFFF
  }
  if (s.size() - i < len) return 0;
  for (size_t k = 1; k < len; ++k) {
    const auto b = static_cast<unsigned char>(s[i + k]);
    if ((b & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (b & 0x3Fu);
  }
  if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF))) return 0;
  if (cp >= 0xD800 && cp <= 0xDFFF) return 0;  // surrogates
  if (cp <= 0x9F) return 0;                    // C1 controls
  if (cp == 0x200E || cp == 0x200F) return 0;  // LRM, RLM
  if (cp >= 0x2028 && cp <= 0x202E) return 0;  // LS, PS, LRE..RLO
  if (cp >= 0x2066 && cp <= 0x2069) return 0;  // LRI..PDI
  return len;
}

void append_hex(std::string* out, unsigned char c) {
  static constexpr char kHex[] = "0123456789abcdef";
  out->push_back('\\');
  out->push_back('x');
  out->push_back(kHex[c >> 4]);
  out->push_back(kHex[c & 0xF]);
}

// Appends the escape for a control byte (< 0x20 or DEL). `tab_raw`: TAB stays as it is.
void append_control(std::string* out, unsigned char c, bool tab_raw) {
  switch (c) {
    case '\n':
      out->append("\\n");
      return;
    case '\r':
      out->append("\\r");
      return;
    case '\t':
      if (tab_raw) {
        out->push_back('\t');
      } else {
        out->append("\\t");
      }
      return;
    default:
      append_hex(out, c);
  }
}

bool is_control(unsigned char c) {
  return c < 0x20 || c == 0x7f;
}

// Escapes s[0, limit) into out; `full`: printable() rules, else escape_controls() rules;
// `quotes`: backslash and quotes escaped too (full only).
void escape_into(std::string* out, std::string_view s, size_t limit, bool full, bool quotes) {
  for (size_t i = 0; i < limit;) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      if (is_control(c)) {
        append_control(out, c, /*tab_raw=*/!full);
      } else if (full && quotes && (c == '\\' || c == '"' || c == '\'')) {
        out->push_back('\\');
        out->push_back(static_cast<char>(c));
      } else {
        out->push_back(static_cast<char>(c));
      }
      ++i;
      continue;
    }
    const size_t n = shown_utf8(s, i);
    if (n == 0 || i + n > limit) {
      append_hex(out, c);
      ++i;
    } else {
      out->append(s.substr(i, n));
      i += n;
    }
  }
}

}  // namespace

void append_printable(std::string* out, std::string_view s, size_t max_bytes, Quotes quotes) {
  const size_t limit = s.size() < max_bytes ? s.size() : max_bytes;
  out->reserve(out->size() + limit + 16);
  escape_into(out, s, limit, /*full=*/true, quotes == Quotes::kEscape);
  if (limit < s.size()) {
    out->append("...[+");
    out->append(std::to_string(s.size() - limit));
    out->append(" bytes]");
  }
}

std::string printable(std::string_view s, size_t max_bytes, Quotes quotes) {
  std::string out;
  append_printable(&out, s, max_bytes, quotes);
  return out;
}

bool needs_control_escape(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      if (is_control(c) && c != '\t') return true;
      ++i;
      continue;
    }
    const size_t n = shown_utf8(s, i);
    if (n == 0) return true;
    i += n;
  }
  return false;
}

std::string escape_controls(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 16);
  escape_into(&out, s, s.size(), /*full=*/false, /*quotes=*/false);
  return out;
}

}  // namespace sipsd
