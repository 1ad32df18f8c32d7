// SubscriberLoader: fills the shared subscriber cache from the `subscriber` table. Runs in
// the supervisor only (at start-up, then on a timer and on MI auth_reload), never in a worker:
// the database is read off the SIP path. A refresh first asks SQLite whether any other
// connection has committed since the last load (PRAGMA data_version) and reloads only then.
#pragma once

#include <memory>

#include "core/auth/auth_params.h"
#include "core/auth/auth_shared.h"
#include "core/base/result.h"
#include "core/db/connection.h"

namespace sipsd::auth {

class SubscriberLoader {
 public:
  // Opens db_url read-only and checks the subscriber table's version (8) unless
  // skip_version_check.
  static Result<std::unique_ptr<SubscriberLoader>> open(const AuthParams& params,
                                                        AuthShared* shared);

  // Reloads every row (the cache flips to the new rows at once). Returns the count.
  Result<uint32_t> load();
  // Reloads when the database changed since the last load; -1 = nothing changed.
  Result<int64_t> refresh_if_changed();

 private:
  SubscriberLoader(const AuthParams& p, AuthShared* s, db::Connection c)
      : p_(p), shared_(s), conn_(std::move(c)) {}
  Result<int64_t> data_version();

  AuthParams p_;
  AuthShared* shared_;
  db::Connection conn_;
  int64_t last_version_ = -1;
};

}  // namespace sipsd::auth
