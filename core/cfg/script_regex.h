// Regular expressions of the route script: POSIX extended and case-insensitive, as OpenSIPS
// compiles them (`=~`, t_check_status(), check_route_param()). Literals are compiled at load;
// patterns computed at run time go through a small per-process cache.
#pragma once

#include <regex.h>

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace sipsd {

class ScriptRegex {
 public:
  ScriptRegex() = default;
  ~ScriptRegex();
  ScriptRegex(const ScriptRegex&) = delete;
  ScriptRegex& operator=(const ScriptRegex&) = delete;

  // Compiles `pattern` (after cfg::regex_problem's size check). "" when fine, else why not.
  std::string compile(std::string_view pattern);
  bool ok() const { return ok_; }
  // Whether the regex matches somewhere in `text` (false when not compiled).
  bool match(std::string_view text) const;
  const std::string& pattern() const { return pattern_; }

 private:
  regex_t re_{};
  bool ok_ = false;
  std::string pattern_;
};

namespace script {

// The last few patterns compiled at run time, least recently used out first. A pattern that
// does not compile is remembered too (with why), so a bad one costs one compilation.
class RegexCache {
 public:
  static constexpr size_t kCapacity = 16;

  // The compiled regex for `pattern`; *why is set (and null returned) when it does not
  // compile. The pointer stays valid until kCapacity other patterns were looked up.
  const ScriptRegex* get(std::string_view pattern, std::string* why);

 private:
  struct Entry {
    std::unique_ptr<ScriptRegex> re;
    std::string why;
    uint64_t used = 0;
  };
  std::vector<Entry> entries_;
  uint64_t clock_ = 0;
};

}  // namespace script
}  // namespace sipsd
