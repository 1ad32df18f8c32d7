// The digest credentials of an Authorization / Proxy-Authorization header (RFC 3261 §25,
// RFC 7616 §3.4): a bounded, allocation-light parser. Views point into the header value,
// except quoted strings with backslash escapes, which are unescaped into `storage`.
#pragma once

#include <string>
#include <string_view>

#include "core/base/result.h"

namespace sipsd::auth {

struct Credentials {
  std::string_view username;
  std::string_view realm;
  std::string_view nonce;
  std::string_view uri;
  std::string_view response;
  std::string_view algorithm;  // "" = MD5
  std::string_view cnonce;
  std::string_view opaque;
  std::string_view qop;
  std::string_view nc;
  bool userhash = false;
  std::string storage;  // unescaped quoted values live here (reserved up front: stable views)
};

// Parses `Digest k=v, k="v", …`. Errors: not Digest, a parameter without '=', an unterminated
// quoted string, a value over 1024 bytes, more than 32 parameters, or a required parameter
// (username, realm, nonce, uri, response) missing; with qop, cnonce and nc are required and nc
// must be 8 hex digits.
Status parse_credentials(std::string_view header_value, Credentials* out);

}  // namespace sipsd::auth
