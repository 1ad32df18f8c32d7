// The auth and auth_db modparams (OpenSIPS names and defaults), plus sipsd's bounds for the
// shared nonce index and subscriber cache.
#pragma once

#include <string>
#include <vector>

#include "core/base/result.h"
#include "core/cfg/config.h"

namespace sipsd::auth {

struct AuthParams {
  bool auth_loaded = false;     // loadmodule "auth.so"
  bool auth_db_loaded = false;  // loadmodule "auth_db.so"
  // auth
  int nonce_expire = 30;  // seconds
  std::string secret;     // exactly 32 characters, or "" for a random one
  bool disable_nonce_check = false;
  std::string realm_prefix;
  int nonce_index_size = 1 << 17;  // sipsd: slots of the nonce index (nonces in flight)
  // auth_db
  std::string db_url;
  bool calculate_ha1 = false;
  std::string user_column = "username";
  std::string domain_column = "domain";
  std::string password_column = "ha1";
  std::string hash_column_sha256 = "ha1_sha256";
  std::string hash_column_sha512t256 = "ha1_sha512t256";
  bool use_domain = false;
  bool skip_version_check = false;
  int cache_size = 65536;  // sipsd: subscribers held in the shared cache
  int cache_refresh = 5;   // sipsd: seconds between checks of the database for changes
};

// Reads cfg.auth_params. Errors name the modparam's position.
Result<AuthParams> auth_params(const Config& cfg);

}  // namespace sipsd::auth
