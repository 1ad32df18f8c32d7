#include "core/sip/uri.h"

#include <charconv>

#include "core/base/ascii.h"
#include "core/sip/syntax.h"

namespace sipsd::sip {
namespace {

using lex::has_class;
using lex::is_digit;
using lex::is_escaped_run;

constexpr UriResult kOk{UriStatus::kOk, "OK"};

UriResult malformed(const char* why) {
  return UriResult{UriStatus::kMalformed, why};
}

bool is_alpha(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

// user = 1*( unreserved / escaped / user-unreserved )
bool valid_user(std::string_view s) {
  return is_escaped_run(s, lex::kUnreserved | lex::kUser);
}

// password = *( unreserved / escaped / "&" / "=" / "+" / "$" / "," )
bool valid_password(std::string_view s) {
  return s.empty() || is_escaped_run(s, lex::kUnreserved | lex::kPassword);
}

// hostname = *( domainlabel "." ) toplabel [ "." ], IPv4address: labels of alphanum and '-'
// (and '_', leniently) that neither start nor end with '-'; no empty label but a final one
// after a trailing dot.
bool valid_hostname(std::string_view s) {
  if (s.empty() || s.front() == '.') return false;
  size_t label = 0;  // start of the current label
  for (size_t i = 0; i <= s.size(); ++i) {
    if (i < s.size() && s[i] != '.') {
      if (!has_class(s[i], lex::kHost)) return false;
      continue;
    }
    const size_t len = i - label;
    if (len == 0) return i == s.size() && i > 0;  // only a trailing dot may end empty
    if (s[label] == '-' || s[i - 1] == '-') return false;
    label = i + 1;
  }
  return true;
}

// tel (RFC 3966) number: digits, hex digits, visual separators, '*', '#', '+' or escapes.
bool valid_tel_number(std::string_view s) {
  if (s.empty()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '%') {
      if (i + 2 >= s.size() || !lex::is_hex(s[i + 1]) || !lex::is_hex(s[i + 2])) return false;
      i += 2;
      continue;
    }
    const bool alnum = is_alpha(c) || is_digit(c);
    if (!alnum && std::string_view("+-.()*#").find(c) == std::string_view::npos) return false;
  }
  return true;
}

// A list after a lead character, elements split by `sep`, each name [ "=" value ] of class
// `cls` (or escaped): an empty span, or `lead` element *( `sep` element ).
//   uri-parameters = *( ";" pname [ "=" pvalue ] ), pname/pvalue = 1*paramchar
//   headers = "?" hname "=" hvalue *( "&" hname "=" hvalue ), hvalue may be empty
struct ListGrammar {
  char lead;
  char sep;
  uint16_t cls;
  bool value_required;  // headers: "=" is mandatory
  bool empty_value_ok;  // headers: hvalue = *( ... )
};

constexpr ListGrammar kParamsGrammar{';', ';', lex::kUnreserved | lex::kParam, false, false};
constexpr ListGrammar kHeadersGrammar{'?', '&', lex::kUnreserved | lex::kHnv, true, true};

bool valid_list(std::string_view s, const ListGrammar& g) {
  if (s.empty()) return true;
  if (s[0] != g.lead) return false;
  size_t i = 1;
  for (;;) {
    size_t e = s.find(g.sep, i);
    if (e == std::string_view::npos) e = s.size();
    const std::string_view elem = s.substr(i, e - i);
    const size_t eq = elem.find('=');
    if (!is_escaped_run(elem.substr(0, eq), g.cls)) return false;
    if (eq == std::string_view::npos) {
      if (g.value_required) return false;
    } else {
      const std::string_view v = elem.substr(eq + 1);
      if (!(v.empty() && g.empty_value_ok) && !is_escaped_run(v, g.cls)) return false;
    }
    if (e == s.size()) return true;
    i = e + 1;
  }
}

bool valid_params(std::string_view s) {
  return valid_list(s, kParamsGrammar);
}

bool valid_headers(std::string_view s) {
  return valid_list(s, kHeadersGrammar);
}

bool find_in(std::string_view span, std::string_view name, std::string_view* value) {
  UriParamCursor c(span);
  UriParam p;
  while (c.next(&p)) {
    if (ascii_iequals(p.name, name)) {
      if (value != nullptr) *value = p.value;
      return true;
    }
  }
  return false;
}

}  // namespace

bool UriParamCursor::next(UriParam* out) {
  if (rest_.size() < 2) return false;
  const char sep = rest_[0] == '?' || rest_[0] == '&' ? '&' : ';';
  std::string_view elem = rest_.substr(1);
  const size_t e = elem.find(sep);
  if (e == std::string_view::npos) {
    rest_ = {};
  } else {
    rest_ = elem.substr(e);
    elem = elem.substr(0, e);
  }
  const size_t eq = elem.find('=');
  out->name = elem.substr(0, eq);
  out->value = eq == std::string_view::npos ? std::string_view() : elem.substr(eq + 1);
  return true;
}

bool Uri::param(std::string_view name, std::string_view* value) const {
  return find_in(params, name, value);
}

bool Uri::header(std::string_view name, std::string_view* value) const {
  return find_in(headers, name, value);
}

UriResult parse_uri(std::string_view s, Uri* u) {
  *u = Uri{};
  // scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )
  if (s.empty() || !is_alpha(s[0])) return malformed("No URI scheme");
  size_t i = 1;
  while (i < s.size() && has_class(s[i], lex::kScheme)) ++i;
  if (i >= s.size() || s[i] != ':') return malformed("No URI scheme");
  u->scheme_text = s.substr(0, i);
  if (ascii_iequals(u->scheme_text, "sip")) {
    u->scheme = UriScheme::kSip;
  } else if (ascii_iequals(u->scheme_text, "sips")) {
    u->scheme = UriScheme::kSips;
  } else if (ascii_iequals(u->scheme_text, "tel")) {
    u->scheme = UriScheme::kTel;
  } else {
    return UriResult{UriStatus::kUnsupportedScheme, "Unsupported URI scheme"};
  }
  const std::string_view rest = s.substr(i + 1);

  if (u->scheme == UriScheme::kTel) {
    const size_t semi = rest.find(';');
    u->user = rest.substr(0, semi);
    if (!valid_tel_number(u->user)) return malformed("Bad telephone number");
    if (semi != std::string_view::npos) u->params = rest.substr(semi);
    if (!valid_params(u->params)) return malformed("Bad URI parameter");
    return kOk;
  }

  // [ userinfo "@" ]: the first '@' ends it (neither user nor password holds a raw '@').
  size_t j = 0;
  const size_t at = rest.find('@');
  if (at != std::string_view::npos) {
    const std::string_view userinfo = rest.substr(0, at);
    const size_t colon = userinfo.find(':');
    u->user = userinfo.substr(0, colon);
    if (!valid_user(u->user)) return malformed("Bad URI user");
    if (colon != std::string_view::npos) {
      u->has_password = true;
      u->password = userinfo.substr(colon + 1);
      if (!valid_password(u->password)) return malformed("Bad URI password");
    }
    j = at + 1;
  }

  // host
  if (j < rest.size() && rest[j] == '[') {
    const size_t close = rest.find(']', j + 1);
    if (close == std::string_view::npos) return malformed("Bad IPv6 reference");
    u->host = rest.substr(j + 1, close - j - 1);
    u->host_is_ipv6 = true;
    if (!lex::valid_ipv6(u->host)) return malformed("Bad IPv6 reference");
    j = close + 1;
  } else {
    const size_t hs = j;
    while (j < rest.size() && has_class(rest[j], lex::kHost)) ++j;
    u->host = rest.substr(hs, j - hs);
    if (!valid_hostname(u->host)) return malformed("Bad URI host");
  }

  // [ ":" port ]
  if (j < rest.size() && rest[j] == ':') {
    const size_t ps = ++j;
    while (j < rest.size() && is_digit(rest[j])) ++j;
    uint64_t port = 0;
    if (j - ps > 5 || !lex::parse_decimal(rest.substr(ps, j - ps), 65535, &port) || port == 0 ||
        port > 65535) {
      return malformed("Bad URI port");
    }
    u->port = static_cast<uint16_t>(port);
  }
  if (j < rest.size() && rest[j] != ';' && rest[j] != '?') {
    return malformed("Bad character after URI host");
  }

  // uri-parameters up to '?' (no paramchar is '?'), then headers.
  if (j < rest.size() && rest[j] == ';') {
    size_t pe = rest.find('?', j);
    if (pe == std::string_view::npos) pe = rest.size();
    u->params = rest.substr(j, pe - j);
    if (!valid_params(u->params)) return malformed("Bad URI parameter");
    j = pe;
  }
  if (j < rest.size()) {
    u->headers = rest.substr(j);
    if (!valid_headers(u->headers)) return malformed("Bad URI header");
  }
  return kOk;
}

bool append_uri(const Uri& u, std::string* out) {
  if (!valid_params(u.params)) return false;
  std::string_view scheme;
  switch (u.scheme) {
    case UriScheme::kTel:
      if (!valid_tel_number(u.user)) return false;
      out->append("tel:");
      out->append(u.user);
      out->append(u.params);
      return true;
    case UriScheme::kSip:
      scheme = "sip:";
      break;
    case UriScheme::kSips:
      scheme = "sips:";
      break;
  }
  if (!u.user.empty() && !valid_user(u.user)) return false;
  if (u.has_password && (u.user.empty() || !valid_password(u.password))) return false;
  if (u.host_is_ipv6 ? !lex::valid_ipv6(u.host) : !valid_hostname(u.host)) return false;
  if (!valid_headers(u.headers)) return false;

  out->append(scheme);
  if (!u.user.empty()) {
    out->append(u.user);
    if (u.has_password) {
      out->push_back(':');
      out->append(u.password);
    }
    out->push_back('@');
  }
  if (u.host_is_ipv6) out->push_back('[');
  out->append(u.host);
  if (u.host_is_ipv6) out->push_back(']');
  if (u.port != 0) {
    char buf[8];
    const auto r = std::to_chars(buf, buf + sizeof(buf), u.port);
    out->push_back(':');
    out->append(buf, static_cast<size_t>(r.ptr - buf));
  }
  out->append(u.params);
  out->append(u.headers);
  return true;
}

std::string escape_param_value(std::string_view v) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : v) {
    const auto u = static_cast<unsigned char>(c);
    if (lex::has_class(c, lex::kUnreserved | lex::kParam)) {  // paramchar, unescaped
      out += c;
    } else {
      out += '%';
      out += kHex[u >> 4];
      out += kHex[u & 15];
    }
  }
  return out;
}

std::string unescape_param_value(std::string_view v) {
  auto hex = [](char c) {
    return lex::is_digit(c) ? c - '0' : (c | 0x20) - 'a' + 10;  // c is a hex digit
  };
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) {
    if (v[i] == '%' && i + 2 < v.size() && lex::is_hex(v[i + 1]) && lex::is_hex(v[i + 2])) {
      out += static_cast<char>(hex(v[i + 1]) << 4 | hex(v[i + 2]));
      i += 2;
    } else {
      out += v[i];
    }
  }
  return out;
}

}  // namespace sipsd::sip
