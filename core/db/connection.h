// Connection and Statement: RAII owners of a sqlite3 handle and a prepared statement.
// A Connection belongs to one process (never opened before fork and used after it). Every
// error names the database file and what failed.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "core/base/result.h"
#include "core/db/db_url.h"

namespace sipsd::db {

struct SqliteCloser {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
struct SqliteFinalizer {
  void operator()(sqlite3_stmt* st) const { sqlite3_finalize(st); }
};
using SqlitePtr = std::unique_ptr<sqlite3, SqliteCloser>;
using SqliteStmtPtr = std::unique_ptr<sqlite3_stmt, SqliteFinalizer>;

enum class OpenMode {
  kReadOnly,   // the file must exist; no writes
  kReadWrite,  // the file must exist
  kCreate,     // read-write, creating the file if missing
};

class Statement;

// One open database file.
class Connection {
 public:
  // Opens the file; sets a busy timeout (milliseconds, <= 0: none) so a writer in another
  // process makes us wait at most that long instead of failing at once.
  static Result<Connection> open(const DbUrl& url, OpenMode mode, int busy_timeout_ms = 500);
  static Result<Connection> open(std::string_view url, OpenMode mode, int busy_timeout_ms = 500);

  // Runs one or more statements that return no rows.
  Status exec(std::string_view sql);
  Result<Statement> prepare(std::string_view sql);

  int64_t last_insert_rowid() const { return sqlite3_last_insert_rowid(db_.get()); }
  int changes() const { return sqlite3_changes(db_.get()); }
  const std::string& path() const { return path_; }
  sqlite3* raw() const { return db_.get(); }
  // "<path>: <sqlite message>" for the last error on this handle.
  std::string error_text(std::string_view what) const;

 private:
  Connection(SqlitePtr db, std::string path) : db_(std::move(db)), path_(std::move(path)) {}
  SqlitePtr db_;
  std::string path_;
};

// A prepared statement. bind_* record the first failure, which step() then reports.
// Parameters are numbered from 1 (SQLite convention), columns from 0. The Connection must
// outlive its statements.
class Statement {
 public:
  Statement& bind(int index, std::string_view text);
  Statement& bind(int index, int64_t value);
  Statement& bind(int index, int value) { return bind(index, static_cast<int64_t>(value)); }
  Statement& bind(int index, double value);
  Statement& bind_blob(int index, std::string_view bytes);
  Statement& bind_null(int index);

  // true: a row is ready; false: done. Errors name the file and the statement.
  Result<bool> step();
  // Steps until done (for statements that return no rows).
  Status run();
  // Ready for another execution; keeps the bindings unless clear_bindings.
  void reset(bool clear_bindings = false);

  int column_count() const { return sqlite3_column_count(st_.get()); }
  bool is_null(int col) const { return sqlite3_column_type(st_.get(), col) == SQLITE_NULL; }
  int64_t int64(int col) const { return sqlite3_column_int64(st_.get(), col); }
  double real(int col) const { return sqlite3_column_double(st_.get(), col); }
  // Text or blob bytes of the current row; valid until the next step/reset.
  std::string_view text(int col) const;

 private:
  friend class Connection;
  Statement(SqliteStmtPtr st, sqlite3* db, std::string path)
      : st_(std::move(st)), db_(db), path_(std::move(path)) {}
  void note_bind(int rc, int index);

  SqliteStmtPtr st_;
  sqlite3* db_;
  std::string path_;  // the database file, for error messages
  std::string bind_error_;
};

// BEGIN IMMEDIATE … COMMIT; rolls back when destroyed uncommitted.
class Transaction {
 public:
  static Result<Transaction> begin(Connection& conn);
  Transaction(Transaction&& o) noexcept : conn_(std::exchange(o.conn_, nullptr)) {}
  Transaction& operator=(Transaction&&) = delete;
  ~Transaction();
  Status commit();

 private:
  explicit Transaction(Connection* conn) : conn_(conn) {}
  Connection* conn_;
};

}  // namespace sipsd::db
