#include "tls_mgm/domain_matcher.h"

#include <map>
#include <utility>

#include "core/base/ascii.h"

namespace sipsd {
namespace {

// FNV-1a, 64 bits.
uint64_t hash_bytes(std::string_view s) {
  uint64_t h = 14695981039346656037ull;
  for (char c : s) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ull;
  }
  return h;
}

bool has_glob_meta(std::string_view s) {
  return s.find_first_of("*?[\\") != std::string_view::npos;
}

// A bracket expression starting at pattern[p] == '['. Sets *end to the index just past its
// ']' and returns whether `c` (lower-cased) is in the set; returns false with *end = npos
// when the bracket is unterminated (then '[' is an ordinary character).
bool match_bracket(std::string_view pattern, size_t p, char c, size_t* end) {
  size_t i = p + 1;
  bool negate = false;
  if (i < pattern.size() && (pattern[i] == '!' || pattern[i] == '^')) {
    negate = true;
    ++i;
  }
  bool found = false;
  bool first = true;
  while (i < pattern.size()) {
    char lo = pattern[i];
    if (lo == ']' && !first) {
      *end = i + 1;
      return found != negate;
    }
    first = false;
    if (lo == '\\' && i + 1 < pattern.size()) lo = pattern[++i];
    ++i;
    char hi = lo;
    if (i + 1 < pattern.size() && pattern[i] == '-' && pattern[i + 1] != ']') {
      hi = pattern[i + 1];
      i += 2;
      if (hi == '\\' && i < pattern.size()) hi = pattern[i++];
    }
    lo = ascii_lower(lo);
    hi = ascii_lower(hi);
    if (static_cast<unsigned char>(lo) <= static_cast<unsigned char>(c) &&
        static_cast<unsigned char>(c) <= static_cast<unsigned char>(hi))
      found = true;
  }
  *end = std::string_view::npos;
  return false;
}

// Fails when two domains list the same (address key, pattern) pair or share a name.
Status check_unique(const std::vector<DomainMatchRules>& domains, const char* kind) {
  std::map<std::string, size_t> names;
  std::map<std::pair<std::string, std::string>, size_t> owner;
  for (size_t i = 0; i < domains.size(); ++i) {
    const DomainMatchRules& d = domains[i];
    auto [n, fresh] = names.emplace(d.name, i);
    if (!fresh)
      return make_error(strprintf("tls_mgm: two %s domains are named '%s'", kind, d.name.c_str()));
    for (const std::string& key : d.ip_keys) {
      for (const std::string& raw : d.sip_domains) {
        std::string pattern = ascii_to_lower(raw);
        if (pattern.empty())
          return make_error(strprintf("tls_mgm: %s domain '%s' has an empty SIP domain pattern",
                                      kind, d.name.c_str()));
        auto [it, inserted] = owner.emplace(std::make_pair(key, pattern), i);
        if (inserted || it->second == i) continue;
        return make_error(strprintf(
            "tls_mgm: %s domains '%s' and '%s' both match address %s with SIP domain '%s': a "
            "connection could not tell them apart",
            kind, domains[it->second].name.c_str(), d.name.c_str(),
            key == "*" ? "* (any address)" : key.c_str(), pattern.c_str()));
      }
    }
  }
  return Status::Ok();
}

}  // namespace

bool glob_match(std::string_view pattern, std::string_view name) {
  // Greedy with backtracking to the last '*' only: a later '*' can absorb anything an
  // earlier one would have, so this is exact for globs and linear in practice.
  size_t p = 0, n = 0;
  size_t star_p = std::string_view::npos, star_n = 0;
  while (n < name.size()) {
    char c = ascii_lower(name[n]);
    if (p < pattern.size()) {
      char pc = pattern[p];
      if (pc == '*') {
        star_p = ++p;
        star_n = n;
        continue;
      }
      if (pc == '?') {
        ++p;
        ++n;
        continue;
      }
      if (pc == '[') {
        size_t end = 0;
        bool in = match_bracket(pattern, p, c, &end);
        if (end != std::string_view::npos) {
          if (in) {
            p = end;
            ++n;
            continue;
          }
        } else if (c == '[') {  // unterminated: a literal '['
          ++p;
          ++n;
          continue;
        }
      } else {
        if (pc == '\\' && p + 1 < pattern.size()) pc = pattern[++p];
        if (ascii_lower(pc) == c) {
          ++p;
          ++n;
          continue;
        }
      }
    }
    // Mismatch: let the last '*' absorb one more character, if there was one.
    if (star_p == std::string_view::npos) return false;
    p = star_p;
    n = ++star_n;
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

namespace domain_match_detail {

void NameTable::build(const std::vector<std::pair<std::string, int>>& entries) {
  arena_.clear();
  size_ = entries.size();
  size_t capacity = 2;
  while (capacity < 2 * entries.size()) capacity *= 2;
  slots_.assign(capacity, Slot{});
  for (const auto& [key, value] : entries) {
    size_t i = hash_bytes(key) & (capacity - 1);
    while (slots_[i].value != -1) i = (i + 1) & (capacity - 1);
    slots_[i] =
        Slot{static_cast<uint32_t>(arena_.size()), static_cast<uint32_t>(key.size()), value};
    arena_ += key;
  }
}

int NameTable::find(std::string_view key) const {
  if (size_ == 0) return -1;
  size_t mask = slots_.size() - 1;
  for (size_t i = hash_bytes(key) & mask;; i = (i + 1) & mask) {
    const Slot& s = slots_[i];
    if (s.value == -1) return -1;  // at most half full: an empty slot always ends the probe
    if (s.length == key.size() && arena_.compare(s.offset, s.length, key) == 0) return s.value;
  }
}

}  // namespace domain_match_detail

int MatchCandidates::match_lowered(std::string_view name) const {
  if (int d = exact_.find(name); d >= 0) return d;
  if (!suffixes_.empty()) {
    // Leftmost dot first = longest suffix first.
    for (size_t dot = name.find('.'); dot != std::string_view::npos; dot = name.find('.', dot + 1))
      if (int d = suffixes_.find(name.substr(dot)); d >= 0) return d;
  }
  for (const Glob& g : globs_)
    if (glob_match(g.pattern, name)) return g.domain;
  return any_;
}

Result<DomainAddressIndex> DomainAddressIndex::build(const std::vector<DomainMatchRules>& domains,
                                                     const char* kind) {
  if (Status s = check_unique(domains, kind); !s) return make_error(s.message());

  // Per address key, the (pattern, domain) pairs in cfg order.
  struct Pending {
    std::vector<std::pair<std::string, int>> patterns;
    std::vector<int> domains;
  };
  std::vector<std::string> key_order;
  std::map<std::string, Pending> by_key;
  std::vector<std::pair<std::string, int>> names;
  for (size_t i = 0; i < domains.size(); ++i) {
    const int index = static_cast<int>(i);
    names.emplace_back(domains[i].name, index);
    for (const std::string& key : domains[i].ip_keys) {
      auto [it, fresh] = by_key.try_emplace(key);
      if (fresh) key_order.push_back(key);
      Pending& p = it->second;
      if (!p.domains.empty() && p.domains.back() == index) continue;  // key listed twice
      p.domains.push_back(index);
      for (const std::string& pattern : domains[i].sip_domains)
        p.patterns.emplace_back(ascii_to_lower(pattern), index);
    }
  }

  DomainAddressIndex out;
  out.names_.build(names);
  std::vector<std::pair<std::string, int>> key_entries;
  for (const std::string& key : key_order) {
    Pending& p = by_key[key];
    MatchCandidates c;
    c.domains_ = p.domains;
    std::vector<std::pair<std::string, int>> exact, suffixes;
    std::map<std::string, bool> seen;  // one domain may list a pattern twice
    for (auto& [pattern, domain] : p.patterns) {
      if (!seen.emplace(pattern, true).second) continue;
      if (pattern == "*") {
        c.any_ = domain;
      } else if (pattern == "none") {
        c.none_ = domain;
      } else if (!has_glob_meta(pattern)) {
        exact.emplace_back(pattern, domain);
      } else if (pattern.size() >= 2 && pattern[0] == '*' && pattern[1] == '.' &&
                 !has_glob_meta(std::string_view(pattern).substr(1))) {
        suffixes.emplace_back(pattern.substr(1), domain);  // ".example.com"
      } else {
        c.globs_.push_back(MatchCandidates::Glob{pattern, domain});
      }
    }
    c.exact_.build(exact);
    c.suffixes_.build(suffixes);
    c.initial_ = c.none_ >= 0 ? c.none_ : c.any_ >= 0 ? c.any_ : c.domains_.front();
    if (key == "*") out.any_set_ = static_cast<int>(out.sets_.size());
    key_entries.emplace_back(key, static_cast<int>(out.sets_.size()));
    out.sets_.push_back(std::move(c));
  }
  out.keys_.build(key_entries);
  return out;
}

const MatchCandidates* DomainAddressIndex::candidates(std::string_view key) const {
  int i = keys_.find(key);
  if (i < 0) i = any_set_;
  return i < 0 ? nullptr : &sets_[static_cast<size_t>(i)];
}

int DomainAddressIndex::match(const MatchCandidates& c, std::string_view name,
                              bool none_matches_empty) const {
  if (name.empty()) return none_matches_empty && c.none_ >= 0 ? c.none_ : c.any_;
  if (name.size() > kMaxSniLength) return -1;
  char buf[kMaxSniLength];
  for (size_t i = 0; i < name.size(); ++i) buf[i] = ascii_lower(name[i]);
  return c.match_lowered(std::string_view(buf, name.size()));
}

Result<ServerDomainMatcher> ServerDomainMatcher::build(
    const std::vector<DomainMatchRules>& domains) {
  Result<DomainAddressIndex> index = DomainAddressIndex::build(domains, "server");
  if (!index) return index.error();
  return ServerDomainMatcher(std::move(index).value());
}

Result<ClientDomainMatcher> ClientDomainMatcher::build(
    const std::vector<DomainMatchRules>& domains) {
  Result<DomainAddressIndex> index = DomainAddressIndex::build(domains, "client");
  if (!index) return index.error();
  return ClientDomainMatcher(std::move(index).value());
}

int ClientDomainMatcher::match(std::string_view dest_key, std::string_view sip_domain) const {
  const MatchCandidates* c = index_.candidates(dest_key);
  if (c == nullptr) return -1;
  return index_.match(*c, sip_domain, /*none_matches_empty=*/false);
}

}  // namespace sipsd
