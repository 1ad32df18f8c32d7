#include "core/db/schema.h"

#include <array>

namespace sipsd::db {
namespace {

constexpr std::string_view kVersionSql =
    "CREATE TABLE IF NOT EXISTS version ("
    " table_name CHAR(32) NOT NULL,"
    " table_version INTEGER DEFAULT 0 NOT NULL,"
    " CONSTRAINT version_t_name_idx UNIQUE (table_name));";

// subscriber: the 3.6 columns plus 3.4's email_address and rpid (same version 8), so that
// auth_db's default load_credentials ("rpid") works as well.
constexpr std::string_view kSubscriberSql =
    "CREATE TABLE IF NOT EXISTS subscriber ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,"
    " username CHAR(64) DEFAULT '' NOT NULL,"
    " domain CHAR(64) DEFAULT '' NOT NULL,"
    " password CHAR(25) DEFAULT '' NOT NULL,"
    " email_address CHAR(64) DEFAULT '' NOT NULL,"
    " ha1 CHAR(64) DEFAULT '' NOT NULL,"
    " ha1_sha256 CHAR(64) DEFAULT '' NOT NULL,"
    " ha1_sha512t256 CHAR(64) DEFAULT '' NOT NULL,"
    " rpid CHAR(255) DEFAULT NULL,"
    " CONSTRAINT subscriber_account_idx UNIQUE (username, domain));"
    "CREATE INDEX IF NOT EXISTS subscriber_username_idx ON subscriber (username);";

constexpr std::string_view kUriSql =
    "CREATE TABLE IF NOT EXISTS uri ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,"
    " username CHAR(64) DEFAULT '' NOT NULL,"
    " domain CHAR(64) DEFAULT '' NOT NULL,"
    " uri_user CHAR(64) DEFAULT '' NOT NULL,"
    " last_modified DATETIME DEFAULT '1900-01-01 00:00:01' NOT NULL,"
    " CONSTRAINT uri_account_idx UNIQUE (username, domain, uri_user));";

constexpr std::string_view kLocationSql =
    "CREATE TABLE IF NOT EXISTS location ("
    " contact_id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,"
    " username CHAR(64) DEFAULT '' NOT NULL,"
    " domain CHAR(64) DEFAULT NULL,"
    " contact TEXT NOT NULL,"
    " received CHAR(255) DEFAULT NULL,"
    " path CHAR(255) DEFAULT NULL,"
    " expires INTEGER NOT NULL,"
    " q FLOAT(10,2) DEFAULT 1.0 NOT NULL,"
    " callid CHAR(255) DEFAULT 'Default-Call-ID' NOT NULL,"
    " cseq INTEGER DEFAULT 13 NOT NULL,"
    " last_modified DATETIME DEFAULT '1900-01-01 00:00:01' NOT NULL,"
    " flags INTEGER DEFAULT 0 NOT NULL,"
    " cflags CHAR(255) DEFAULT NULL,"
    " user_agent CHAR(255) DEFAULT '' NOT NULL,"
    " socket CHAR(64) DEFAULT NULL,"
    " methods INTEGER DEFAULT NULL,"
    " sip_instance CHAR(255) DEFAULT NULL,"
    " kv_store TEXT(512) DEFAULT NULL,"
    " attr CHAR(255) DEFAULT NULL);";

constexpr std::string_view kTlsMgmSql =
    "CREATE TABLE IF NOT EXISTS tls_mgm ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,"
    " domain CHAR(64) NOT NULL,"
    " match_ip_address CHAR(255) DEFAULT NULL,"
    " match_sip_domain CHAR(255) DEFAULT NULL,"
    " type INTEGER DEFAULT 1 NOT NULL,"
    " method CHAR(16) DEFAULT 'SSLv23',"
    " verify_cert INTEGER DEFAULT 1,"
    " require_cert INTEGER DEFAULT 1,"
    " certificate BLOB,"
    " private_key BLOB,"
    " crl_check_all INTEGER DEFAULT 0,"
    " crl_dir CHAR(255) DEFAULT NULL,"
    " ca_list BLOB DEFAULT NULL,"
    " ca_dir CHAR(255) DEFAULT NULL,"
    " cipher_list CHAR(255) DEFAULT NULL,"
    " dh_params BLOB DEFAULT NULL,"
    " ec_curve CHAR(255) DEFAULT NULL,"
    " CONSTRAINT tls_mgm_domain_type_idx UNIQUE (domain, type));";

constexpr std::string_view kAccSql =
    "CREATE TABLE IF NOT EXISTS acc ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,"
    " method CHAR(16) DEFAULT '' NOT NULL,"
    " from_tag CHAR(64) DEFAULT '' NOT NULL,"
    " to_tag CHAR(64) DEFAULT '' NOT NULL,"
    " callid CHAR(64) DEFAULT '' NOT NULL,"
    " sip_code CHAR(3) DEFAULT '' NOT NULL,"
    " sip_reason CHAR(32) DEFAULT '' NOT NULL,"
    " time DATETIME NOT NULL,"
    " duration INTEGER DEFAULT 0 NOT NULL,"
    " ms_duration INTEGER DEFAULT 0 NOT NULL,"
    " setuptime INTEGER DEFAULT 0 NOT NULL,"
    " created DATETIME DEFAULT NULL);"
    "CREATE INDEX IF NOT EXISTS acc_callid_idx ON acc (callid);";

constexpr std::string_view kMissedCallsSql =
    "CREATE TABLE IF NOT EXISTS missed_calls ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,"
    " method CHAR(16) DEFAULT '' NOT NULL,"
    " from_tag CHAR(64) DEFAULT '' NOT NULL,"
    " to_tag CHAR(64) DEFAULT '' NOT NULL,"
    " callid CHAR(64) DEFAULT '' NOT NULL,"
    " sip_code CHAR(3) DEFAULT '' NOT NULL,"
    " sip_reason CHAR(32) DEFAULT '' NOT NULL,"
    " time DATETIME NOT NULL);"
    "CREATE INDEX IF NOT EXISTS missed_calls_callid_idx ON missed_calls (callid);";

constexpr std::array<TableSpec, 6> kTables = {{
    {"subscriber", kSubscriberVersion, kSubscriberSql},
    {"uri", kUriVersion, kUriSql},
    {"location", kLocationVersion, kLocationSql},
    {"tls_mgm", kTlsMgmVersion, kTlsMgmSql},
    {"acc", kAccVersion, kAccSql},
    {"missed_calls", kMissedCallsVersion, kMissedCallsSql},
}};

}  // namespace

std::span<const TableSpec> opensips_tables() {
  return kTables;
}

Status create_schema(Connection& conn) {
  // WAL lets the readers (sipsd's cache loaders) run while sipsctl or the usrloc writer writes;
  // the mode is stored in the file.
  if (auto st = conn.exec("PRAGMA journal_mode=WAL"); !st.ok()) return st;
  auto tx = Transaction::begin(conn);
  if (!tx.ok()) return tx.error();
  if (auto st = conn.exec(kVersionSql); !st.ok()) return st;
  auto insert =
      conn.prepare("INSERT OR IGNORE INTO version (table_name, table_version) VALUES (?1, ?2)");
  if (!insert.ok()) return insert.error();
  for (const TableSpec& t : kTables) {
    if (auto st = conn.exec(t.create_sql); !st.ok()) return st;
    insert->reset();
    insert->bind(1, t.name).bind(2, t.version);
    if (auto st = insert->run(); !st.ok()) return st;
  }
  return tx->commit();
}

Result<int> table_version(Connection& conn, std::string_view table) {
  auto q = conn.prepare("SELECT table_version FROM version WHERE table_name = ?1");
  if (!q.ok()) return q.error();
  q->bind(1, table);
  auto row = q->step();
  if (!row.ok()) return row.error();
  if (!*row) {
    return make_error(strprintf("database %s: table '%.*s': record not found in 'version' table",
                                conn.path().c_str(), static_cast<int>(table.size()), table.data()));
  }
  return static_cast<int>(q->int64(0));
}

Status check_table_version(Connection& conn, std::string_view table, int expected) {
  auto v = table_version(conn, table);
  if (!v.ok()) {
    return make_error(v.message() + " (create the tables with: sipsctl db init sqlite://" +
                      conn.path() + ")");
  }
  if (*v != expected) {
    return make_error(strprintf("database %s: invalid version %d for table '%.*s', expected %d",
                                conn.path().c_str(), *v, static_cast<int>(table.size()),
                                table.data(), expected));
  }
  return Status::Ok();
}

}  // namespace sipsd::db
