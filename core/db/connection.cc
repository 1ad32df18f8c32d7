#include "core/db/connection.h"

namespace sipsd::db {

Result<Connection> Connection::open(const DbUrl& url, OpenMode mode, int busy_timeout_ms) {
  int flags = SQLITE_OPEN_NOMUTEX;
  switch (mode) {
    case OpenMode::kReadOnly:
      flags |= SQLITE_OPEN_READONLY;
      break;
    case OpenMode::kReadWrite:
      flags |= SQLITE_OPEN_READWRITE;
      break;
    case OpenMode::kCreate:
      flags |= SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
      break;
  }
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(url.path.c_str(), &raw, flags, nullptr);
  SqlitePtr db(raw);
  if (rc != SQLITE_OK) {
    std::string why = raw ? sqlite3_errmsg(raw) : sqlite3_errstr(rc);
    return make_error(strprintf("database %s: cannot open: %s", url.path.c_str(), why.c_str()));
  }
  sqlite3_extended_result_codes(db.get(), 1);
  if (busy_timeout_ms > 0) sqlite3_busy_timeout(db.get(), busy_timeout_ms);
  Connection conn(std::move(db), url.path);
  // A file that is not a database only shows itself on the first read.
  if (auto st = conn.exec("SELECT count(*) FROM sqlite_master"); !st.ok()) {
    return make_error(st.message());
  }
  return conn;
}

Result<Connection> Connection::open(std::string_view url, OpenMode mode, int busy_timeout_ms) {
  auto parsed = DbUrl::parse(url);
  if (!parsed.ok()) return parsed.error();
  return open(*parsed, mode, busy_timeout_ms);
}

std::string Connection::error_text(std::string_view what) const {
  return strprintf("database %s: %.*s: %s", path_.c_str(), static_cast<int>(what.size()),
                   what.data(), sqlite3_errmsg(db_.get()));
}

Status Connection::exec(std::string_view sql) {
  std::string text(sql);
  char* err = nullptr;
  int rc = sqlite3_exec(db_.get(), text.c_str(), nullptr, nullptr, &err);
  if (rc != SQLITE_OK) {
    std::string msg = strprintf("database %s: %s", path_.c_str(), err ? err : sqlite3_errstr(rc));
    sqlite3_free(err);
    return make_error(std::move(msg));
  }
  return Status::Ok();
}

Result<Statement> Connection::prepare(std::string_view sql) {
  sqlite3_stmt* raw = nullptr;
  int rc = sqlite3_prepare_v2(db_.get(), sql.data(), static_cast<int>(sql.size()), &raw, nullptr);
  SqliteStmtPtr st(raw);
  if (rc != SQLITE_OK || !st) {
    return make_error(strprintf("database %s: cannot prepare '%.*s': %s", path_.c_str(),
                                static_cast<int>(sql.size()), sql.data(),
                                sqlite3_errmsg(db_.get())));
  }
  return Statement(std::move(st), db_.get(), path_);
}

void Statement::note_bind(int rc, int index) {
  if (rc != SQLITE_OK && bind_error_.empty()) {
    bind_error_ = strprintf("database %s: cannot bind parameter %d of '%s': %s", path_.c_str(),
                            index, sqlite3_sql(st_.get()), sqlite3_errstr(rc));
  }
}

Statement& Statement::bind(int index, std::string_view text) {
  note_bind(sqlite3_bind_text(st_.get(), index, text.data(), static_cast<int>(text.size()),
                              SQLITE_TRANSIENT),
            index);
  return *this;
}
Statement& Statement::bind(int index, int64_t value) {
  note_bind(sqlite3_bind_int64(st_.get(), index, value), index);
  return *this;
}
Statement& Statement::bind(int index, double value) {
  note_bind(sqlite3_bind_double(st_.get(), index, value), index);
  return *this;
}
Statement& Statement::bind_blob(int index, std::string_view bytes) {
  note_bind(sqlite3_bind_blob(st_.get(), index, bytes.data(), static_cast<int>(bytes.size()),
                              SQLITE_TRANSIENT),
            index);
  return *this;
}
Statement& Statement::bind_null(int index) {
  note_bind(sqlite3_bind_null(st_.get(), index), index);
  return *this;
}

Result<bool> Statement::step() {
  if (!bind_error_.empty()) return make_error(bind_error_);
  int rc = sqlite3_step(st_.get());
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return make_error(strprintf("database %s: '%s': %s", path_.c_str(), sqlite3_sql(st_.get()),
                              sqlite3_errmsg(db_)));
}

Status Statement::run() {
  for (;;) {
    auto r = step();
    if (!r.ok()) return r.error();
    if (!*r) return Status::Ok();
  }
}

void Statement::reset(bool clear_bindings) {
  sqlite3_reset(st_.get());
  if (clear_bindings) sqlite3_clear_bindings(st_.get());
  bind_error_.clear();
}

std::string_view Statement::text(int col) const {
  const void* p = sqlite3_column_blob(st_.get(), col);
  int n = sqlite3_column_bytes(st_.get(), col);
  if (!p || n <= 0) return {};
  return {static_cast<const char*>(p), static_cast<size_t>(n)};
}

Result<Transaction> Transaction::begin(Connection& conn) {
  if (auto st = conn.exec("BEGIN IMMEDIATE"); !st.ok()) return make_error(st.message());
  return Transaction(&conn);
}

Transaction::~Transaction() {
  if (conn_) (void)conn_->exec("ROLLBACK");
}

Status Transaction::commit() {
  if (!conn_) return make_error("transaction already finished");
  Connection* c = std::exchange(conn_, nullptr);
  auto st = c->exec("COMMIT");
  if (!st.ok()) (void)c->exec("ROLLBACK");
  return st;
}

}  // namespace sipsd::db
