#include "core/sip/via.h"

#include "core/base/ascii.h"
#include "core/sip/syntax.h"

namespace sipsd::sip {

using lex::has_class;
using lex::is_digit;
using lex::is_ws;
using lex::parse_decimal;
using lex::scan_token;
using lex::skip_ws;

bool parse_via(std::string_view s, Via* v, std::string_view* rest) {
  *v = Via{};
  size_t i = 0;
  skip_ws(s, &i);
  const size_t start = i;

  // sent-protocol = protocol-name SLASH protocol-version SLASH transport (SLASH = SWS "/" SWS)
  std::string_view parts[3];
  for (int k = 0; k < 3; ++k) {
    if (k > 0) {
      skip_ws(s, &i);
      if (i >= s.size() || s[i] != '/') return false;
      ++i;
      skip_ws(s, &i);
    }
    const size_t ts = i;
    i = scan_token(s, i);
    if (i == ts) return false;
    parts[k] = s.substr(ts, i - ts);
  }
  v->protocol_name = parts[0];
  v->protocol_version = parts[1];
  v->transport = parts[2];

  // LWS sent-by
  if (i >= s.size() || !is_ws(s[i])) return false;
  skip_ws(s, &i);
  const size_t sb = i;
  if (i < s.size() && s[i] == '[') {
    const size_t close = s.find(']', i + 1);
    if (close == std::string_view::npos) return false;
    v->host = s.substr(i + 1, close - i - 1);
    if (!lex::valid_ipv6(v->host)) return false;
    v->host_is_ipv6 = true;
    i = close + 1;
  } else {
    const size_t hs = i;
    while (i < s.size() && has_class(s[i], lex::kHost)) ++i;
    if (i == hs) return false;
    v->host = s.substr(hs, i - hs);
  }
  size_t sb_end = i;
  size_t j = i;
  skip_ws(s, &j);
  if (j < s.size() && s[j] == ':') {
    ++j;
    skip_ws(s, &j);
    const size_t ps = j;
    while (j < s.size() && is_digit(s[j])) ++j;
    uint64_t port = 0;
    if (j == ps || j - ps > 5 || !parse_decimal(s.substr(ps, j - ps), 65535, &port) || port == 0 ||
        port > 65535) {
      return false;
    }
    v->port = static_cast<uint16_t>(port);
    i = sb_end = j;
  }
  v->sent_by = s.substr(sb, sb_end - sb);

  // *( SEMI via-params )
  size_t end = i;  // end of the last element, before any whitespace
  size_t params_start = std::string_view::npos;
  for (;;) {
    size_t k = i;
    skip_ws(s, &k);
    if (k >= s.size() || s[k] == ',') {
      i = k;
      break;
    }
    if (s[k] != ';') return false;
    const size_t pstart = k;
    ++k;
    std::string_view name;
    std::string_view value;
    bool has_value = false;
    if (!lex::parse_generic_param(s, &k, &name, &value, &has_value)) return false;
    const std::string_view whole = s.substr(pstart, k - pstart);
    if (params_start == std::string_view::npos) params_start = pstart;
    if (ascii_iequals(name, "branch")) {
      if (v->branch.empty()) v->branch = value;
    } else if (ascii_iequals(name, "received")) {
      if (v->has_received) return false;  // two would make the rewrite ambiguous
      v->has_received = true;
      v->received = value;
      v->received_param = whole;
    } else if (ascii_iequals(name, "rport")) {
      if (v->has_rport) return false;
      if (has_value) {
        uint64_t port = 0;
        if (value.size() > 5 || !parse_decimal(value, 65535, &port) || port > 65535) return false;
      }
      v->has_rport = true;
      v->rport = value;
      v->rport_param = whole;
    } else if (ascii_iequals(name, "alias")) {
      v->has_alias = true;
    }
    i = end = k;
  }
  v->value = s.substr(start, end - start);
  if (params_start != std::string_view::npos) {
    v->params = s.substr(params_start, end - params_start);
  }
  if (i < s.size()) {  // s[i] == ','
    *rest = s.substr(i + 1);
  } else {
    *rest = {};
  }
  return true;
}
}  // namespace sipsd::sip
