#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "core/db/connection.h"
#include "core/db/db_url.h"
#include "core/db/schema.h"

namespace sipsd::db {
namespace {

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "sipsd-db-XXXXXX").string();
    path_ = mkdtemp(tmpl.data());
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string file(const char* name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

TEST(DbUrl, ParsesAbsoluteSqlitePath) {
  auto u = DbUrl::parse("sqlite:///var/lib/sipsd/a.db");
  ASSERT_TRUE(u.ok()) << u.message();
  EXPECT_EQ(u->path, "/var/lib/sipsd/a.db");
  EXPECT_EQ(u->text(), "sqlite:///var/lib/sipsd/a.db");
}

TEST(DbUrl, RefusesOtherSchemesAndRelativePaths) {
  auto m = DbUrl::parse("mysql://opensips:opensipsrw@localhost/opensips");
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.message().find("unsupported database scheme 'mysql'"), std::string::npos);
  auto r = DbUrl::parse("sqlite://relative.db");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.message().find("must be absolute"), std::string::npos);
  EXPECT_FALSE(DbUrl::parse("").ok());
  EXPECT_FALSE(DbUrl::parse("sqlite:///").ok());
  EXPECT_FALSE(DbUrl::parse("sqlite:///tmp/dir/").ok());
  EXPECT_FALSE(DbUrl::parse("sqlite:///tmp/a.db?mode=ro").ok());
}

TEST(DbConnection, OpenMissingFileFailsUnlessCreate) {
  TempDir dir;
  std::string url = "sqlite://" + dir.file("x.db");
  auto ro = Connection::open(url, OpenMode::kReadWrite);
  ASSERT_FALSE(ro.ok());
  EXPECT_NE(ro.message().find("cannot open"), std::string::npos) << ro.message();
  auto c = Connection::open(url, OpenMode::kCreate);
  ASSERT_TRUE(c.ok()) << c.message();
}

TEST(DbConnection, NotADatabaseIsAClearError) {
  TempDir dir;
  std::string file = dir.file("junk.db");
  FILE* f = fopen(file.c_str(), "w");
  ASSERT_NE(f, nullptr);
  fputs("this is not an sqlite database, just some text that is long enough......", f);
  fclose(f);
  auto c = Connection::open("sqlite://" + file, OpenMode::kReadWrite);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.message().find(file), std::string::npos) << c.message();
}

TEST(DbStatement, BindStepAndRead) {
  TempDir dir;
  auto c = Connection::open("sqlite://" + dir.file("t.db"), OpenMode::kCreate);
  ASSERT_TRUE(c.ok()) << c.message();
  ASSERT_TRUE(c->exec("CREATE TABLE t (a TEXT, b INTEGER, c REAL, d BLOB)").ok());
  auto ins = c->prepare("INSERT INTO t VALUES (?1, ?2, ?3, ?4)");
  ASSERT_TRUE(ins.ok()) << ins.message();
  ins->bind(1, std::string_view("alice"))
      .bind(2, int64_t{42})
      .bind(3, 0.5)
      .bind_blob(4, std::string_view("\0x", 2));
  ASSERT_TRUE(ins->run().ok());
  ins->reset(true);
  ins->bind(1, std::string_view("bob")).bind_null(2);
  ASSERT_TRUE(ins->run().ok());
  EXPECT_EQ(c->changes(), 1);

  auto q = c->prepare("SELECT a, b, c, d FROM t ORDER BY a");
  ASSERT_TRUE(q.ok());
  auto r = q->step();
  ASSERT_TRUE(r.ok() && *r);
  EXPECT_EQ(q->text(0), "alice");
  EXPECT_EQ(q->int64(1), 42);
  EXPECT_DOUBLE_EQ(q->real(2), 0.5);
  EXPECT_EQ(q->text(3), std::string_view("\0x", 2));
  r = q->step();
  ASSERT_TRUE(r.ok() && *r);
  EXPECT_EQ(q->text(0), "bob");
  EXPECT_TRUE(q->is_null(1));
  r = q->step();
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(*r);
}

TEST(DbStatement, ErrorsNameTheFile) {
  TempDir dir;
  auto c = Connection::open("sqlite://" + dir.file("e.db"), OpenMode::kCreate);
  ASSERT_TRUE(c.ok());
  auto bad = c->prepare("SELECT * FROM nowhere");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.message().find("no such table: nowhere"), std::string::npos);
  EXPECT_NE(bad.message().find("e.db"), std::string::npos);
  ASSERT_TRUE(c->exec("CREATE TABLE u (a TEXT UNIQUE)").ok());
  auto ins = c->prepare("INSERT INTO u VALUES (?1)");
  ASSERT_TRUE(ins.ok());
  ins->bind(1, std::string_view("x"));
  ASSERT_TRUE(ins->run().ok());
  ins->reset();
  auto st = ins->run();
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("UNIQUE"), std::string::npos) << st.message();
  ins->reset();
  ins->bind(7, std::string_view("y"));
  auto st2 = ins->run();
  ASSERT_FALSE(st2.ok());
  EXPECT_NE(st2.message().find("parameter 7"), std::string::npos) << st2.message();
}

TEST(DbTransaction, RollsBackUnlessCommitted) {
  TempDir dir;
  auto c = Connection::open("sqlite://" + dir.file("tx.db"), OpenMode::kCreate);
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE(c->exec("CREATE TABLE t (a INTEGER)").ok());
  {
    auto tx = Transaction::begin(*c);
    ASSERT_TRUE(tx.ok());
    ASSERT_TRUE(c->exec("INSERT INTO t VALUES (1)").ok());
  }
  {
    auto tx = Transaction::begin(*c);
    ASSERT_TRUE(tx.ok());
    ASSERT_TRUE(c->exec("INSERT INTO t VALUES (2)").ok());
    ASSERT_TRUE(tx->commit().ok());
  }
  auto q = c->prepare("SELECT group_concat(a) FROM t");
  ASSERT_TRUE(q.ok());
  ASSERT_TRUE(*q->step());
  EXPECT_EQ(q->text(0), "2");
}

TEST(DbSchema, CreatesOpenSipsTablesWithVersions) {
  TempDir dir;
  auto c = Connection::open("sqlite://" + dir.file("s.db"), OpenMode::kCreate);
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE(create_schema(*c).ok());
  ASSERT_TRUE(create_schema(*c).ok());  // idempotent
  EXPECT_TRUE(check_table_version(*c, "subscriber", 8).ok());
  EXPECT_TRUE(check_table_version(*c, "location", 1013).ok());
  EXPECT_TRUE(check_table_version(*c, "tls_mgm", 3).ok());
  EXPECT_TRUE(check_table_version(*c, "uri", 2).ok());
  auto wrong = check_table_version(*c, "location", 1012);
  ASSERT_FALSE(wrong.ok());
  EXPECT_NE(wrong.message().find("invalid version 1013 for table 'location', expected 1012"),
            std::string::npos)
      << wrong.message();
  auto missing = check_table_version(*c, "dialog", 12);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.message().find("record not found in 'version' table"), std::string::npos);
  // The columns OpenSIPS's modules query exist.
  EXPECT_TRUE(c->prepare("SELECT username, domain, password, ha1, ha1_sha256, ha1_sha512t256, "
                         "rpid FROM subscriber")
                  .ok());
  EXPECT_TRUE(c->prepare("SELECT contact_id, username, domain, contact, received, path, expires, "
                         "q, callid, cseq, last_modified, flags, cflags, user_agent, socket, "
                         "methods, sip_instance, kv_store, attr FROM location")
                  .ok());
  EXPECT_TRUE(c->prepare("SELECT id, domain, match_ip_address, match_sip_domain, type, method, "
                         "verify_cert, require_cert, certificate, private_key, crl_check_all, "
                         "crl_dir, ca_list, ca_dir, cipher_list, dh_params, ec_curve FROM tls_mgm")
                  .ok());
  EXPECT_TRUE(c->prepare("SELECT method, from_tag, to_tag, callid, sip_code, sip_reason, time "
                         "FROM missed_calls")
                  .ok());
}

}  // namespace
}  // namespace sipsd::db
