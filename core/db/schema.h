// The OpenSIPS tables sipsd uses, as OpenSIPS's SQLite scripts create them (same names,
// columns and `version` rows), so an OpenSIPS database and ours are interchangeable.
#pragma once

#include <span>
#include <string_view>

#include "core/base/result.h"
#include "core/db/connection.h"

namespace sipsd::db {

// Table versions recorded in the `version` table (OpenSIPS 3.4-3.6).
inline constexpr int kSubscriberVersion = 8;
inline constexpr int kUriVersion = 2;
inline constexpr int kLocationVersion = 1013;
inline constexpr int kTlsMgmVersion = 3;
inline constexpr int kAccVersion = 7;
inline constexpr int kMissedCallsVersion = 5;

struct TableSpec {
  std::string_view name;
  int version;
  std::string_view create_sql;  // CREATE TABLE IF NOT EXISTS … (plus its indexes)
};

// version, subscriber, uri, location, tls_mgm, acc, missed_calls.
std::span<const TableSpec> opensips_tables();

// Creates every missing table, records its version (an existing table and its version row
// are left alone) and switches the file to WAL so readers never wait for the writer.
// Idempotent.
Status create_schema(Connection& conn);

// The version recorded for `table`; an error when there is no row (or no version table).
Result<int> table_version(Connection& conn, std::string_view table);

// OpenSIPS's start-up check: the row must exist and hold `expected`; the error names the
// table, the file and both numbers.
Status check_table_version(Connection& conn, std::string_view table, int expected);

}  // namespace sipsd::db
