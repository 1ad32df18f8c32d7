// Checks shared by the libFuzzer targets in tests/fuzz.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdlib>
#include <string_view>

namespace sipsd::fuzz {

// A failed property: abort, so libFuzzer records the input.
inline void check(bool ok) {
  if (!ok) abort();
}

// True when v is empty or lies inside buf[0, len).
inline bool inside(std::string_view v, const char* buf, size_t len) {
  if (v.empty()) return true;
  return v.data() >= buf && v.data() + v.size() <= buf + len;
}

inline bool inside(std::string_view v, std::string_view text) {
  return inside(v, text.data(), text.size());
}

// The length of the longest line of s (without its LF).
inline size_t longest_line(std::string_view s) {
  size_t best = 0;
  size_t start = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\n') {
      best = std::max(best, i - start);
      start = i + 1;
    }
  }
  return std::max(best, s.size() - start);
}

}  // namespace sipsd::fuzz
