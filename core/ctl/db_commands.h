// sipsctl's database commands: they work directly on the SQLite file (sipsd need not run;
// a running sipsd picks changes up within auth_db's cache_refresh seconds, or at once with
// `sipsctl auth_reload`).
//   db init URL                     creates the OpenSIPS tables and their version rows
//   user add AOR PASSWORD           a subscriber with ha1, ha1_sha256, ha1_sha512t256
//   user passwd AOR PASSWORD        new hashes
//   user rm AOR
// AOR is user@domain (a leading sip: is accepted); the realm of the hashes is the domain, as
// OpenSIPS expects with auth_db's defaults. The plain password is not stored.
#pragma once

#include <string>
#include <string_view>

#include "core/base/result.h"

namespace sipsd::ctl {

struct Aor {
  std::string user;
  std::string domain;
};
Result<Aor> parse_aor(std::string_view text);

Status db_init(std::string_view url);
Status user_add(std::string_view url, std::string_view aor, std::string_view password);
Status user_passwd(std::string_view url, std::string_view aor, std::string_view password);
Status user_rm(std::string_view url, std::string_view aor);

}  // namespace sipsd::ctl
