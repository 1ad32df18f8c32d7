// Authorizer: www_authorize/proxy_authorize and www_challenge/proxy_challenge (OpenSIPS auth +
// auth_db semantics and return codes) for one worker, on top of the shared nonce index and
// subscriber cache. It never touches the database and never blocks.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/auth/auth_params.h"
#include "core/auth/auth_shared.h"
#include "core/sip/message.h"

namespace sipsd::auth {

// OpenSIPS's auth_result values.
enum AuthRc : int {
  kAuthorized = 1,
  kBadCredentials = 0,  // malformed credentials or no realm: the caller sends 400 and stops
  kUserUnknown = -1,
  kInvalidPassword = -2,
  kStaleNonce = -3,
  kNoCredentials = -4,
  kAuthError = -5,
};

struct AuthOutcome {
  int rc = kAuthError;
  // On success: the credentials header used (its index in msg.headers(), for
  // consume_credentials) and the $au/$ad/$aU/$ar values.
  int header_index = -1;
  std::string user;      // $au: the user part of the digest username
  std::string domain;    // $ad: its domain part ("" when none)
  std::string username;  // $aU: the whole digest username
  std::string realm;     // $ar
  std::string why;       // for the log line when rc != 1
};

class Authorizer {
 public:
  Authorizer(AuthShared* shared, const AuthParams* params) : shared_(shared), p_(params) {}

  // `proxy`: proxy_authorize (Proxy-Authorization) instead of www_authorize (Authorization).
  AuthOutcome authorize(const sip::Message& msg, std::string_view realm, std::string_view table,
                        bool proxy, int64_t now);

  // The WWW-Authenticate / Proxy-Authenticate values for a challenge, one per algorithm,
  // strongest first. `qop`: "", "auth", "auth-int", "auth,auth-int" (also "0"/"1" as in 2.x);
  // `algorithms`: CSV of algorithm names ("" = one challenge without algorithm=, i.e. MD5).
  // An error for an unknown qop or algorithm.
  Result<std::vector<std::string>> challenge(const sip::Message& msg, std::string_view realm,
                                             std::string_view qop, std::string_view algorithms,
                                             bool stale, bool proxy, int64_t now);

  // The realm used when the script gives none: the To host for REGISTER (www), the From host
  // otherwise, without realm_prefix.
  std::string default_realm(const sip::Message& msg, bool proxy) const;
  const AuthParams& params() const { return *p_; }

 private:
  AuthShared* shared_;
  const AuthParams* p_;
};

}  // namespace sipsd::auth
