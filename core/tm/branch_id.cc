#include "core/tm/branch_id.h"

#include <charconv>

namespace sipsd::tm {

namespace {

constexpr std::string_view kStatefulTag = "-sd";
constexpr std::string_view kStatelessTag = "-sl";

void append_hex(std::string* out, uint64_t v) {
  char buf[20];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v, 16);
  out->append(buf, end);
}

// A whole lower-case hexadecimal number (at most 16 digits) written as append_hex() writes it:
// no leading zero, so one number has one spelling and a branch matches only its own encoding.
std::optional<uint64_t> parse_hex(std::string_view s) {
  if (s.empty() || s.size() > 16 || (s.size() > 1 && s[0] == '0')) return std::nullopt;
  for (char c : s)
    if (c >= 'A' && c <= 'F') return std::nullopt;
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v, 16);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

}  // namespace

std::string encode_branch(const BranchId& id) {
  std::string out;
  out.reserve(48);
  out.append(kMagicCookie);
  out.append(kStatefulTag);
  append_hex(&out, static_cast<uint64_t>(id.owner));
  out += '.';
  append_hex(&out, id.transaction);
  out += '.';
  append_hex(&out, static_cast<uint64_t>(id.branch));
  return out;
}

std::optional<BranchId> decode_branch(std::string_view branch) {
  const std::string_view prefix_cookie = kMagicCookie;
  if (!branch.starts_with(prefix_cookie)) return std::nullopt;
  branch.remove_prefix(prefix_cookie.size());
  if (!branch.starts_with(kStatefulTag)) return std::nullopt;
  branch.remove_prefix(kStatefulTag.size());
  size_t dot1 = branch.find('.');
  if (dot1 == std::string_view::npos) return std::nullopt;
  size_t dot2 = branch.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos) return std::nullopt;
  std::optional<uint64_t> owner = parse_hex(branch.substr(0, dot1));
  std::optional<uint64_t> tx = parse_hex(branch.substr(dot1 + 1, dot2 - dot1 - 1));
  std::optional<uint64_t> br = parse_hex(branch.substr(dot2 + 1));
  if (!owner || !tx || !br || *owner == 0 || *owner > 0xffff || *br > 0xff) return std::nullopt;
  return BranchId{static_cast<int>(*owner), *tx, static_cast<int>(*br)};
}

std::string stateless_branch(std::string_view key) {
  // FNV-1a, 64 bits: no secret is needed, only the same result for the same key.
  uint64_t h = 1469598103934665603ull;
  for (char c : key) {
    h ^= static_cast<uint8_t>(c);
    h *= 1099511628211ull;
  }
  std::string out;
  out.reserve(32);
  out.append(kMagicCookie);
  out.append(kStatelessTag);
  append_hex(&out, h);
  return out;
}

}  // namespace sipsd::tm
