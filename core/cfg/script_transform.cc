#include "core/cfg/script_transform.h"

#include <algorithm>
#include <charconv>

#include "core/base/ascii.h"

namespace sipsd::script {

namespace {

bool parse_int_text(std::string_view s, int64_t* out) {
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  if (s.empty()) return false;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), *out, 10);
  return ec == std::errc() && ptr == s.data() + s.size();
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// The text of a value (an integer is written into scratch).
std::string_view text_of(const ScriptValue& v, std::string& scratch) {
  if (v.is_str()) return v.str();
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v.int_value());
  scratch.assign(buf, static_cast<size_t>(end - buf));
  return scratch;
}

constexpr char ascii_upper(char c) {
  return (c >= 'a' && c <= 'z') ? static_cast<char>(c - ('a' - 'A')) : c;
}

}  // namespace

std::string_view transform_names_text() {
  return "s.len, s.int, s.tolower, s.toupper, s.substr, uri.user, uri.host, uri.port, uri.param";
}

std::string compile_transform(std::string_view text, Transform* out) {
  const size_t comma = text.find(',');
  const std::string_view name = trim(text.substr(0, comma));
  struct Def {
    std::string_view name;
    Transform::Op op;
    int min_params;
    int max_params;
  };
  static constexpr Def kDefs[] = {
      {"s.len", Transform::Op::kSLen, 0, 0},         {"s.int", Transform::Op::kSInt, 0, 0},
      {"s.tolower", Transform::Op::kSToLower, 0, 0}, {"s.toupper", Transform::Op::kSToUpper, 0, 0},
      {"s.substr", Transform::Op::kSSubstr, 1, 2},   {"uri.user", Transform::Op::kUriUser, 0, 0},
      {"uri.host", Transform::Op::kUriHost, 0, 0},   {"uri.port", Transform::Op::kUriPort, 0, 0},
      {"uri.param", Transform::Op::kUriParam, 1, 1},
  };
  const Def* def = nullptr;
  for (const Def& d : kDefs) {
    if (d.name == name) def = &d;
  }
  if (!def) {
    return "unknown transformation '{" + std::string(text) +
           "}' (supported: " + std::string(transform_names_text()) + ")";
  }
  std::string_view params[3];
  int n = 0;
  if (comma != std::string_view::npos) {
    std::string_view rest = text.substr(comma + 1);
    for (;;) {
      const size_t c = rest.find(',');
      if (n < 3) params[n] = trim(rest.substr(0, c));
      ++n;
      if (c == std::string_view::npos) break;
      rest.remove_prefix(c + 1);
    }
  }
  if (n < def->min_params || n > def->max_params) {
    return "transformation '{" + std::string(text) + "}' takes " +
           (def->min_params == def->max_params
                ? std::to_string(def->min_params)
                : std::to_string(def->min_params) + " or " + std::to_string(def->max_params)) +
           " parameter(s)";
  }
  out->op = def->op;
  if (def->op == Transform::Op::kSSubstr) {
    if (!parse_int_text(params[0], &out->a) || (n == 2 && !parse_int_text(params[1], &out->b))) {
      return "transformation '{" + std::string(text) + "}': offset and length must be integers";
    }
  } else if (def->op == Transform::Op::kUriParam) {
    if (params[0].empty()) return "transformation '{uri.param,name}' needs a parameter name";
    out->param.assign(params[0]);
  }
  return {};
}

bool split_sip_uri(std::string_view s, SipUriParts* out) {
  *out = SipUriParts();
  s = trim(s);
  if (!s.empty() && s.front() == '<') {
    size_t close = s.find('>');
    if (close == std::string_view::npos) return false;
    s = s.substr(1, close - 1);
  }
  bool tel = false;
  if (ascii_istarts_with(s, "sip:")) {
    s.remove_prefix(4);
  } else if (ascii_istarts_with(s, "sips:")) {
    s.remove_prefix(5);
  } else if (ascii_istarts_with(s, "tel:")) {
    s.remove_prefix(4);
    tel = true;
  } else {
    return false;
  }
  s = s.substr(0, s.find('?'));  // headers are not looked at
  if (tel) {
    size_t semi = s.find(';');
    out->user = s.substr(0, semi);
    if (semi != std::string_view::npos) out->params = s.substr(semi + 1);
    return !out->user.empty();
  }
  std::string_view hostport = s;
  size_t at = s.rfind('@');
  if (at != std::string_view::npos) {
    std::string_view userinfo = s.substr(0, at);
    out->user = userinfo.substr(0, userinfo.find(':'));
    hostport = s.substr(at + 1);
  }
  size_t semi = hostport.find(';');
  if (semi != std::string_view::npos) {
    out->params = hostport.substr(semi + 1);
    hostport = hostport.substr(0, semi);
  }
  size_t colon;
  if (!hostport.empty() && hostport.front() == '[') {
    size_t close = hostport.find(']');
    if (close == std::string_view::npos) return false;
    out->host = hostport.substr(0, close + 1);
    colon = close + 1;
    if (colon < hostport.size() && hostport[colon] != ':') return false;
  } else {
    colon = hostport.find(':');
    out->host = hostport.substr(0, colon);
  }
  if (out->host.empty()) return false;
  if (colon < hostport.size()) {
    int64_t port = 0;
    if (!parse_int_text(hostport.substr(colon + 1), &port) || port < 1 || port > 65535) {
      return false;
    }
    out->port = static_cast<int>(port);
  }
  return true;
}

bool uri_param(std::string_view params, std::string_view name, std::string_view* value) {
  while (!params.empty()) {
    size_t semi = params.find(';');
    std::string_view p = trim(params.substr(0, semi));
    size_t eq = p.find('=');
    if (ascii_iequals(trim(p.substr(0, eq)), name)) {
      *value = eq == std::string_view::npos ? std::string_view() : trim(p.substr(eq + 1));
      return true;
    }
    if (semi == std::string_view::npos) break;
    params.remove_prefix(semi + 1);
  }
  return false;
}

ScriptValue apply_transform(const Transform& t, const ScriptValue& v, std::string& scratch) {
  if (v.is_null() || v.kind() == ScriptValue::Kind::kRegex) {
    if (t.op == Transform::Op::kSLen || t.op == Transform::Op::kSInt) return ScriptValue::of(0);
    return ScriptValue::null();
  }
  switch (t.op) {
    case Transform::Op::kSLen:
      return ScriptValue::of(static_cast<int64_t>(text_of(v, scratch).size()));
    case Transform::Op::kSInt: {
      if (v.is_int()) return v;
      std::string_view s = trim(v.str());
      size_t n = 0;
      if (n < s.size() && (s[n] == '-' || s[n] == '+')) ++n;
      while (n < s.size() && s[n] >= '0' && s[n] <= '9') ++n;
      int64_t x = 0;
      std::string_view digits = s.substr(0, n);
      if (!parse_int_text(digits, &x)) x = 0;
      return ScriptValue::of(x);
    }
    case Transform::Op::kSToLower:
    case Transform::Op::kSToUpper: {
      if (v.is_int()) return v;
      scratch.assign(v.str());
      for (char& c : scratch) {
        c = t.op == Transform::Op::kSToLower ? ascii_lower(c) : ascii_upper(c);
      }
      return ScriptValue::of(std::string_view(scratch));
    }
    case Transform::Op::kSSubstr: {
      std::string_view s = text_of(v, scratch);
      const auto size = static_cast<int64_t>(s.size());
      int64_t begin = t.a < 0 ? size + t.a : t.a;
      begin = std::clamp<int64_t>(begin, 0, size);
      int64_t end = t.b == 0 ? size : t.b > 0 ? begin + t.b : size + t.b;
      end = std::clamp<int64_t>(end, begin, size);
      return ScriptValue::of(
          s.substr(static_cast<size_t>(begin), static_cast<size_t>(end - begin)));
    }
    case Transform::Op::kUriUser:
    case Transform::Op::kUriHost:
    case Transform::Op::kUriPort:
    case Transform::Op::kUriParam: {
      SipUriParts u;
      if (!split_sip_uri(text_of(v, scratch), &u)) return ScriptValue::null();
      if (t.op == Transform::Op::kUriUser) return ScriptValue::of(u.user);
      if (t.op == Transform::Op::kUriHost) return ScriptValue::of(u.host);
      if (t.op == Transform::Op::kUriPort) {
        return u.port < 0 ? ScriptValue::null() : ScriptValue::of(static_cast<int64_t>(u.port));
      }
      std::string_view value;
      if (!uri_param(u.params, t.param, &value)) return ScriptValue::null();
      return ScriptValue::of(value);
    }
  }
  return ScriptValue::null();
}

}  // namespace sipsd::script
