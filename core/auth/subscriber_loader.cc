#include "core/auth/subscriber_loader.h"

#include "core/base/log.h"
#include "core/db/schema.h"
#include "core/shm/stats.h"

namespace sipsd::auth {

Result<std::unique_ptr<SubscriberLoader>> SubscriberLoader::open(const AuthParams& params,
                                                                 AuthShared* shared) {
  auto conn = db::Connection::open(params.db_url, db::OpenMode::kReadOnly);
  if (!conn.ok())
    return make_error("auth_db: " + conn.message() + " (create it with: sipsctl db init " +
                      params.db_url + ")");
  if (!params.skip_version_check) {
    Status st = db::check_table_version(*conn, "subscriber", db::kSubscriberVersion);
    if (!st.ok()) return make_error("auth_db: " + st.message());
  }
  return std::unique_ptr<SubscriberLoader>(
      new SubscriberLoader(params, shared, std::move(conn).value()));
}

Result<int64_t> SubscriberLoader::data_version() {
  auto q = conn_.prepare("PRAGMA data_version");
  if (!q.ok()) return q.error();
  auto r = q->step();
  if (!r.ok()) return r.error();
  return *r ? q->int64(0) : int64_t{-1};
}

Result<uint32_t> SubscriberLoader::load() {
  // Column names come from the cfg: quote them as identifiers.
  auto ident = [](const std::string& s) {
    std::string q = "\"";
    for (char c : s) {
      if (c == '"') q += '"';
      q += c;
    }
    return q + "\"";
  };
  const std::string sql = "SELECT " + ident(p_.user_column) + ", " + ident(p_.domain_column) +
                          ", " + ident(p_.password_column) + ", " + ident(p_.hash_column_sha256) +
                          ", " + ident(p_.hash_column_sha512t256) + " FROM subscriber";
  auto version = data_version();
  if (!version.ok()) return version.error();
  // One read transaction: a consistent view even while sipsctl writes.
  if (Status st = conn_.exec("BEGIN"); !st.ok()) return make_error(st.message());
  auto q = conn_.prepare(sql);
  if (!q.ok()) {
    (void)conn_.exec("ROLLBACK");
    stat_add(Stat::kAuthDbErrors);
    return make_error("auth_db: " + q.message());
  }
  shared_->begin_fill();
  uint32_t skipped = 0;
  std::string why, first_why;
  for (;;) {
    auto row = q->step();
    if (!row.ok()) {
      shared_->publish();
      (void)conn_.exec("ROLLBACK");
      stat_add(Stat::kAuthDbErrors);
      return make_error("auth_db: " + row.message());
    }
    if (!*row) break;
    Subscriber s;
    s.username = std::string(q->text(0));
    s.domain = std::string(q->text(1));
    if (p_.calculate_ha1)
      s.password = std::string(q->text(2));
    else
      s.ha1_md5 = std::string(q->text(2));
    s.ha1_sha256 = std::string(q->text(3));
    s.ha1_sha512t256 = std::string(q->text(4));
    if (!shared_->add(s, &why)) {
      if (skipped++ == 0) first_why = s.username + "@" + s.domain + ": " + why;
    }
  }
  (void)conn_.exec("COMMIT");
  const uint32_t before = shared_->active_count();
  const uint32_t n = shared_->publish();
  stat_add(Stat::kAuthSubscribers, static_cast<uint64_t>(n) - before);
  stat_add(Stat::kAuthDbReloads);
  if (skipped > 0) {
    stat_add(Stat::kAuthCacheFull, skipped);
    LOG_ERR("auth_db",
            "%u subscriber rows not cached (first: %s); raise modparam(\"auth_db\", "
            "\"cache_size\")",
            skipped, first_why.c_str());
  }
  last_version_ = *version;
  return n;
}

Result<int64_t> SubscriberLoader::refresh_if_changed() {
  auto v = data_version();
  if (!v.ok()) return v.error();
  if (*v == last_version_) return int64_t{-1};
  auto n = load();
  if (!n.ok()) return n.error();
  return int64_t{*n};
}

}  // namespace sipsd::auth
