// SIP, SIPS and tel URIs (RFC 3261 §19.1, §25.1; RFC 3966 for tel): parsed into views of the
// text they came from, and written back out with changed parts.
//
// parse_uri() never allocates, never recurses and reads only inside its argument; its cost is
// linear in the URI's length (no limit of its own: a URI inside a Message is already bounded by
// Message::kMaxLineLength). Views in a Uri point into the parsed text (for a Message: its
// buffer) and keep escapes as received ("%41" stays "%41"): compare users with escapes decoded,
// hosts and parameter names case-insensitively (§19.1.4) when it matters.
//
// The grammar is RFC 3261's, with two lenient points shared with the Via parser: '_' is
// accepted in host names, and a trailing '.' in a host name too (it is legal). The userinfo ends
// at the first '@' (neither user nor password may hold an unescaped '@', §25.1), so
// "sip:user;par=u%40example.net@example.com" has the user "user;par=u%40example.net" (RFC 4475
// §3.1.1.9 semiuri).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace sipsd::sip {

enum class UriScheme : uint8_t { kSip, kSips, kTel };

struct Uri {
  UriScheme scheme = UriScheme::kSip;
  std::string_view scheme_text;  // as received: "sip", "SIPS", "tel"
  // sip/sips: "" when there is no userinfo (a present user is never empty).
  // tel: the number (global or local, visual separators kept), before any ';'.
  std::string_view user;
  bool has_password = false;  // "sip:alice:@host" has an empty password
  std::string_view password;
  std::string_view host;  // an IPv6 reference without its brackets; "" for tel
  bool host_is_ipv6 = false;
  uint16_t port = 0;  // 0 when absent (a written ":0" is an error)
  // From the first ';' after the host[:port] (tel: after the number) to '?' or the end, the ';'
  // included: ";transport=tls;lr". "" when there are none.
  std::string_view params;
  // From '?' to the end, the '?' included: "?subject=x&priority=urgent". "" when absent; never
  // set for tel.
  std::string_view headers;

  // Case-insensitive lookup of a URI parameter (";lr", ";transport=tls", ";r2=on", ";maddr=",
  // ";ftag=", ";user=phone", ";ob", ...). True when present; *value is then its value as
  // received, "" for a flag parameter without '='. The first of repeated names wins.
  bool param(std::string_view name, std::string_view* value = nullptr) const;
  // The same for a header of the headers part ("?subject=x": header("Subject") finds "x").
  bool header(std::string_view name, std::string_view* value = nullptr) const;
};

enum class UriStatus : uint8_t {
  kOk,
  kUnsupportedScheme,  // a well-formed scheme other than sip, sips, tel (416 for a Request-URI)
  kMalformed,
};

struct UriResult {
  UriStatus status;
  const char* reason;  // static, never null: "OK" or why ("Bad port", "Bad host", ...)
  bool ok() const { return status == UriStatus::kOk; }
};

// Parses a whole URI (no surrounding whitespace or angle brackets). On failure *out holds
// whatever was parsed before the error.
UriResult parse_uri(std::string_view text, Uri* out);

// One parameter of a params span (";a=1;b") or one header of a headers span ("?h=v&i=w").
struct UriParam {
  std::string_view name;
  std::string_view value;  // "" when the parameter has no '=' (headers always have one)
};

// Walks a Uri::params or Uri::headers span one element at a time:
//   for (UriParamCursor c(uri.params); c.next(&p);) { ... }
// The span must come from a parsed Uri (the cursor does not re-validate it).
class UriParamCursor {
 public:
  explicit UriParamCursor(std::string_view span) : rest_(span) {}
  bool next(UriParam* out);

 private:
  std::string_view rest_;
};

// Appends `u` as URI text: scheme ":" [user [":" password] "@"] host [":" port] params headers
// (tel: "tel:" user params). The scheme is written in lower case from u.scheme; an IPv6 host
// gets its brackets; port 0 is left out. Meant for writing a parsed URI with some parts
// changed (host, port, params for Record-Route, Contact or a new Request-URI).
// Every part is checked against the grammar parse_uri() applies, so the text parses back to the
// same parts (and can carry no CR, LF, whitespace or '>'); returns false and appends nothing
// when one does not. `params` must be empty or start with ';', `headers` empty or start with '?'.
bool append_uri(const Uri& u, std::string* out);

// A URI written as a URI parameter's value (";received=sip:1.2.3.4:5060%3Btransport%3Dtls"):
// every character a parameter value cannot hold (RFC 3261 paramchar) %-escaped, and back.
// Unescaping leaves a malformed escape as it is.
std::string escape_param_value(std::string_view v);
std::string unescape_param_value(std::string_view v);

}  // namespace sipsd::sip
