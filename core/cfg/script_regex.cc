#include "core/cfg/script_regex.h"

#include "core/cfg/schema.h"

namespace sipsd {

ScriptRegex::~ScriptRegex() {
  if (ok_) regfree(&re_);
}

std::string ScriptRegex::compile(std::string_view pattern) {
  if (ok_) {
    regfree(&re_);
    ok_ = false;
  }
  pattern_.assign(pattern);
  std::string why = cfg::regex_problem(pattern);
  if (!why.empty()) return why;
  if (pattern_.find('\0') != std::string::npos) return "NUL byte in regular expression";
  int rc = regcomp(&re_, pattern_.c_str(), REG_EXTENDED | REG_ICASE | REG_NOSUB);
  if (rc != 0) {
    char buf[256];
    regerror(rc, &re_, buf, sizeof buf);
    return buf;
  }
  ok_ = true;
  return {};
}

bool ScriptRegex::match(std::string_view text) const {
  if (!ok_) return false;
#ifdef REG_STARTEND
  regmatch_t m[1];
  m[0].rm_so = 0;
  m[0].rm_eo = static_cast<regoff_t>(text.size());
  return regexec(&re_, text.empty() ? "" : text.data(), 1, m, REG_STARTEND) == 0;
#else
  std::string copy(text);
  return regexec(&re_, copy.c_str(), 0, nullptr, 0) == 0;
#endif
}

namespace script {

const ScriptRegex* RegexCache::get(std::string_view pattern, std::string* why) {
  ++clock_;
  for (Entry& e : entries_) {
    if (e.re->pattern() == pattern) {
      e.used = clock_;
      if (!e.re->ok()) {
        *why = e.why;
        return nullptr;
      }
      return e.re.get();
    }
  }
  Entry* slot = nullptr;
  if (entries_.size() < kCapacity) {
    entries_.emplace_back();
    slot = &entries_.back();
    slot->re = std::make_unique<ScriptRegex>();
  } else {
    slot = &entries_[0];
    for (Entry& e : entries_) {
      if (e.used < slot->used) slot = &e;
    }
  }
  slot->used = clock_;
  slot->why = slot->re->compile(pattern);
  if (!slot->re->ok()) {
    *why = slot->why;
    return nullptr;
  }
  return slot->re.get();
}

}  // namespace script
}  // namespace sipsd
