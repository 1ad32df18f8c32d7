// The client side of SIP digest authentication (RFC 3261 22, RFC 2617) as sipsbench's phones
// need it: pick the MD5 challenge out of a 401/407, and answer it with an Authorization or
// Proxy-Authorization value (qop=auth when offered). Pure functions of strings: no sockets, no
// clock; register mode, call mode (challenged callers, registering callees) and idle mode
// (--register) share them.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/sip/message.h"

namespace sipsd::bench {

// "{i}" in a pattern (--password) becomes the subscriber's index.
std::string expand_index(std::string_view pattern, int i);

// One parameter of a challenge's parameter list (`k=v, k="v"`, quotes and backslash escapes
// removed); "" when absent. Names compare case-insensitively.
std::string challenge_param(std::string_view params, std::string_view name);

struct DigestChallenge {
  std::string realm;
  std::string nonce;
  std::string opaque;
  bool qop_auth = false;  // the challenge offers qop=auth
  bool stale = false;
};

// The first Digest challenge with algorithm MD5 (or none named) in the WWW-Authenticate (401)
// or Proxy-Authenticate (407) headers of `msg`; false when there is none.
bool find_md5_challenge(const sip::Message& msg, DigestChallenge* out);
// The same from one header value ("Digest realm=..., nonce=...").
bool parse_md5_challenge(std::string_view header_value, DigestChallenge* out);

// What an answer needs besides the challenge.
struct DigestAnswer {
  std::string_view user;
  std::string_view ha1;  // MD5(user:realm:password), lower-case hex
  std::string_view method;
  std::string_view uri;  // the digest-uri: the request's R-URI
  uint32_t nc = 1;       // with qop only
  std::string_view cnonce;
};

// The header value `Digest username="...", realm="...", nonce="...", uri="...",
// response="...", algorithm=MD5[, qop=auth, nc=..., cnonce="..."][, opaque="..."]`.
std::string digest_credentials(const DigestChallenge& ch, const DigestAnswer& a);

}  // namespace sipsd::bench
