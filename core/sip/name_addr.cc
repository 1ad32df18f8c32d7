#include "core/sip/name_addr.h"

#include "core/base/ascii.h"
#include "core/sip/syntax.h"

namespace sipsd::sip {
namespace {

using lex::is_digit;
using lex::is_ws;
using lex::skip_ws;

bool fail(const char** why, const char* reason) {
  if (why != nullptr) *why = reason;
  return false;
}

constexpr uint64_t kMaxDeltaSeconds = 4294967295u;  // 2^32 - 1
constexpr int64_t kMalformedExpires = 3600;         // RFC 3261 §20.10

}  // namespace

bool ListSplitter::next(std::string_view* element) {
  if (failed_) return false;
  size_t i = pos_;
  skip_ws(s_, &i);
  if (i >= s_.size()) {
    if (after_comma_) failed_ = true;  // "a," ends in an empty element
    pos_ = s_.size();
    return false;
  }
  const size_t start = i;
  while (i < s_.size() && s_[i] != ',') {
    if (s_[i] == '"') {
      if (!lex::skip_quoted(s_, &i)) {
        failed_ = true;
        return false;
      }
      continue;
    }
    if (s_[i] == '<') {
      const size_t gt = s_.find('>', i + 1);
      if (gt == std::string_view::npos) {
        failed_ = true;
        return false;
      }
      i = gt + 1;
      continue;
    }
    ++i;
  }
  size_t end = i;
  while (end > start && is_ws(s_[end - 1])) --end;
  if (end == start) {  // ",a" or "a,,b"
    failed_ = true;
    return false;
  }
  *element = s_.substr(start, end - start);
  after_comma_ = i < s_.size();
  pos_ = after_comma_ ? i + 1 : i;
  skip_ws(s_, &pos_);
  return true;
}

bool parse_qvalue(std::string_view s, int* out) {
  if (s.empty() || (s[0] != '0' && s[0] != '1')) return false;
  int v = (s[0] - '0') * 1000;
  if (s.size() == 1) {
    *out = v;
    return true;
  }
  if (s[1] != '.' || s.size() > 5) return false;
  int scale = 100;
  for (size_t i = 2; i < s.size(); ++i, scale /= 10) {
    if (!is_digit(s[i])) return false;
    if (s[0] == '1' && s[i] != '0') return false;
    v += (s[i] - '0') * scale;
  }
  *out = v;
  return true;
}

bool NameAddr::param(std::string_view name, std::string_view* value_out) const {
  size_t k = 0;
  while (k < params.size()) {
    skip_ws(params, &k);
    if (k >= params.size() || params[k] != ';') return false;
    ++k;
    std::string_view n;
    std::string_view v;
    bool has_value = false;
    if (!lex::parse_generic_param(params, &k, &n, &v, &has_value)) return false;
    if (ascii_iequals(n, name)) {
      if (value_out != nullptr) *value_out = v;
      return true;
    }
  }
  return false;
}

bool parse_name_addr(std::string_view element, AddrForm form, NameAddr* out, const char** why) {
  *out = NameAddr{};
  const std::string_view s = lex::trim(element);
  out->value = s;
  if (s.empty()) return fail(why, "Empty address");
  if (form == AddrForm::kContact && s == "*") {
    out->star = true;
    return true;
  }

  // Find '<' outside quoted strings; a ';' first means an addr-spec with parameters.
  size_t i = 0;
  size_t lt = std::string_view::npos;
  size_t semi = std::string_view::npos;
  while (i < s.size()) {
    const char c = s[i];
    if (c == '"') {
      if (!lex::skip_quoted(s, &i)) return fail(why, "Unterminated quoted string");
      continue;
    }
    if (c == '<') {
      lt = i;
      break;
    }
    if (c == '>') return fail(why, "Unexpected '>'");
    if (c == ';') {
      semi = i;
      break;
    }
    ++i;
  }

  size_t params_at = 0;
  if (lt != std::string_view::npos) {
    out->display_name = lex::trim(s.substr(0, lt));
    const size_t gt = s.find('>', lt + 1);
    if (gt == std::string_view::npos) return fail(why, "Missing '>'");
    out->uri = s.substr(lt + 1, gt - lt - 1);
    out->angle_brackets = true;
    if (out->uri.empty()) return fail(why, "Empty URI");
    params_at = gt + 1;
  } else {
    if (form == AddrForm::kRoute) return fail(why, "Route address without <>");
    const size_t end = semi == std::string_view::npos ? s.size() : semi;
    out->uri = lex::trim(s.substr(0, end));
    if (out->uri.empty()) return fail(why, "Empty URI");
    for (char c : out->uri) {
      if (is_ws(c) || c == '"') return fail(why, "Bad addr-spec");
    }
    params_at = end;
  }
  if (form == AddrForm::kContact && out->uri == "*") return fail(why, "Bad Contact wildcard");

  // *( SEMI generic-param )
  size_t k = params_at;
  size_t first_semi = std::string_view::npos;
  for (;;) {
    skip_ws(s, &k);
    if (k >= s.size()) break;
    if (s[k] != ';') return fail(why, "Junk after address");
    if (first_semi == std::string_view::npos) first_semi = k;
    ++k;
    std::string_view name;
    std::string_view value;
    bool has_value = false;
    if (!lex::parse_generic_param(s, &k, &name, &value, &has_value)) {
      return fail(why, "Bad parameter");
    }
    if (ascii_iequals(name, "tag")) {
      if (!out->has_tag) {
        out->has_tag = true;
        out->tag = value;
      }
    } else if (form == AddrForm::kContact && ascii_iequals(name, "q")) {
      if (out->q < 0 && !parse_qvalue(value, &out->q)) {
        out->q = -1;
        return fail(why, "Bad q value");
      }
    } else if (form == AddrForm::kContact && ascii_iequals(name, "expires")) {
      if (out->expires < 0) {
        uint64_t secs = 0;
        if (lex::parse_decimal(value, kMaxDeltaSeconds, &secs)) {
          out->expires = static_cast<int64_t>(secs > kMaxDeltaSeconds ? kMaxDeltaSeconds : secs);
        } else {
          out->expires = kMalformedExpires;
          out->expires_malformed = true;
        }
      }
    }
  }
  if (first_semi != std::string_view::npos) out->params = s.substr(first_semi);
  return true;
}

}  // namespace sipsd::sip
