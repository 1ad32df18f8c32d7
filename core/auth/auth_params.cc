#include "core/auth/auth_params.h"

#include "core/db/db_url.h"

namespace sipsd::auth {

Result<AuthParams> auth_params(const Config& cfg) {
  AuthParams p;
  p.auth_loaded = cfg.has_module("auth");
  p.auth_db_loaded = cfg.has_module("auth_db");
  for (const ModParam& m : cfg.auth_params) {
    const int64_t* num = std::get_if<int64_t>(&m.value);
    const std::string* str = std::get_if<std::string>(&m.value);
    const int i = num ? static_cast<int>(*num) : 0;
    const std::string where = m.pos.str() + ": modparam(\"" + m.module + "\", \"" + m.name + "\")";
    if (m.module == "auth") {
      if (m.name == "nonce_expire")
        p.nonce_expire = i;
      else if (m.name == "secret") {
        if (str && str->size() != 32)
          return make_error(strprintf("%s: the secret must be exactly 32 characters, got %zu",
                                      where.c_str(), str->size()));
        if (str) p.secret = *str;
      } else if (m.name == "disable_nonce_check")
        p.disable_nonce_check = i != 0;
      else if (m.name == "realm_prefix" && str)
        p.realm_prefix = *str;
      else if (m.name == "nonce_index_size")
        p.nonce_index_size = i;
    } else if (m.module == "auth_db") {
      if (m.name == "db_url" && str) {
        auto u = db::DbUrl::parse(*str);
        if (!u.ok()) return make_error(where + ": " + u.message());
        p.db_url = *str;
      } else if (m.name == "calculate_ha1")
        p.calculate_ha1 = i != 0;
      else if (m.name == "user_column" && str)
        p.user_column = *str;
      else if (m.name == "domain_column" && str)
        p.domain_column = *str;
      else if (m.name == "password_column" && str)
        p.password_column = *str;
      else if (m.name == "hash_column_sha256" && str)
        p.hash_column_sha256 = *str;
      else if (m.name == "hash_column_sha512t256" && str)
        p.hash_column_sha512t256 = *str;
      else if (m.name == "use_domain")
        p.use_domain = i != 0;
      else if (m.name == "skip_version_check")
        p.skip_version_check = i != 0;
      else if (m.name == "load_credentials" && str && !str->empty())
        return make_error(where +
                          ": loading credentials into AVPs is not supported; set it to \"\"");
      else if (m.name == "cache_size")
        p.cache_size = i;
      else if (m.name == "cache_refresh")
        p.cache_refresh = i;
    }
  }
  if (p.auth_db_loaded && p.db_url.empty())
    return make_error(
        "auth_db: modparam(\"auth_db\", \"db_url\", \"sqlite:///path.db\") is "
        "required (sipsd has no default database)");
  return p;
}

}  // namespace sipsd::auth
