// modparam("tls_mgm", "db_url", …): domains from the OpenSIPS `tls_mgm` table (PEM content in
// the blob columns), ahead of the cfg's domains, bad rows skipped with a warning.
#include "tls_mgm/tls_db_domains.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "core/base/file_read.h"
#include "core/db/connection.h"
#include "core/db/schema.h"
#include "tests/unit/support/test_certs.h"
#include "tls_mgm/tls_setup.h"

namespace sipsd {
namespace {

using test::unit_cert;

std::string read_all(const std::string& path) {
  auto r = read_small_file(path, 1 << 20);
  EXPECT_TRUE(r.ok()) << path;
  return r.ok() ? *r : std::string();
}

class TlsDbDomains : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = std::filesystem::temp_directory_path().string() + "/tls-db-XXXXXX";
    dir_ = mkdtemp(tmpl.data());
    url_ = "sqlite://" + dir_ + "/tls.db";
    auto c = db::Connection::open(url_, db::OpenMode::kCreate);
    ASSERT_TRUE(c.ok()) << c.message();
    ASSERT_TRUE(db::create_schema(*c).ok());
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  void insert(const std::string& domain, int type, const std::string& cert, const std::string& key,
              const std::string& match_ip = "*") {
    auto c = db::Connection::open(url_, db::OpenMode::kReadWrite);
    ASSERT_TRUE(c.ok());
    auto ins = c->prepare(
        "INSERT INTO tls_mgm (domain, type, match_ip_address, match_sip_domain, certificate, "
        "private_key, verify_cert, require_cert) VALUES (?1, ?2, ?3, '*', ?4, ?5, 0, 0)");
    ASSERT_TRUE(ins.ok()) << ins.message();
    ins->bind(1, domain).bind(2, type).bind(3, match_ip).bind_blob(4, cert).bind_blob(5, key);
    ASSERT_TRUE(ins->run().ok());
  }

  Config cfg(bool with_file_domain) {
    Config c;
    c.path = "/etc/sipsd/sipsd.cfg";
    auto add = [&](const std::string& name, const std::string& value) {
      c.tls_mgm_params.push_back(ModParam{"tls_mgm", name, value, CfgPos{"sipsd.cfg", 1, 1}});
    };
    add("db_url", url_);
    if (with_file_domain) {
      add("server_domain", "file");
      add("match_ip_address", "[file]127.0.0.1:5061");
      add("certificate", "[file]" + unit_cert("cert.pem"));
      add("private_key", "[file]" + unit_cert("ckey.pem"));
      add("verify_cert", "[file]0");
      add("require_cert", "[file]0");
    }
    return c;
  }

  std::string dir_, url_;
};

TEST_F(TlsDbDomains, RowsLoadAheadOfTheCfgDomainsAndBadRowsAreSkipped) {
  const std::string cert = read_all(unit_cert("cert.pem"));
  const std::string key = read_all(unit_cert("ckey.pem"));
  insert("dbsrv", 2, cert, key);
  insert("broken", 2, "not a certificate", key);
  insert("dbcli", 1, cert, key);
  insert("weird", 7, cert, key);
  setenv("TMPDIR", dir_.c_str(), 1);  // nothing may be written there (or anywhere)
  std::vector<std::string> warnings;
  auto snap = load_tls_domains(cfg(true), &warnings);
  ASSERT_TRUE(snap.ok()) << snap.message();
  ASSERT_EQ(snap->server_domains_size(), 2);
  EXPECT_EQ(snap->server_domains(0).name(), "dbsrv");  // DB domains first
  EXPECT_EQ(snap->server_domains(1).name(), "file");
  EXPECT_EQ(snap->server_domains(0).certificate_pem(), cert);
  // From memory: no file behind it, and marked as the table's (tls_list omits the file keys).
  EXPECT_TRUE(snap->server_domains(0).from_db());
  EXPECT_EQ(snap->server_domains(0).certificate_path(), "");
  EXPECT_EQ(snap->server_domains(0).private_key_path(), "");
  EXPECT_FALSE(snap->server_domains(1).from_db());
  EXPECT_NE(snap->server_domains(1).certificate_path(), "");
  ASSERT_EQ(snap->client_domains_size(), 1);
  EXPECT_EQ(snap->client_domains(0).name(), "dbcli");
  std::string all;
  for (const auto& w : warnings) all += w + "\n";
  EXPECT_NE(all.find("row id 2: tls_mgm: domain 'broken' skipped"), std::string::npos) << all;
  EXPECT_NE(all.find("domain 'weird' skipped: type must be 1 (client) or 2 (server)"),
            std::string::npos)
      << all;
  // The bad row's message names the row and column its PEM came from.
  EXPECT_NE(all.find("row id 2 column certificate"), std::string::npos) << all;
  // Nothing was written for the loader.
  for (const auto& e : std::filesystem::directory_iterator(dir_))
    EXPECT_EQ(e.path().filename().string().rfind("sipsd-tls-db-", 0), std::string::npos);
  unsetenv("TMPDIR");
}

TEST_F(TlsDbDomains, ANameTheCfgAlreadyUsesIsSkipped) {
  insert("file", 2, read_all(unit_cert("cert.pem")), read_all(unit_cert("ckey.pem")));
  std::vector<std::string> warnings;
  auto snap = load_tls_domains(cfg(true), &warnings);
  ASSERT_TRUE(snap.ok()) << snap.message();
  EXPECT_EQ(snap->server_domains_size(), 1);
  ASSERT_FALSE(warnings.empty());
  EXPECT_NE(warnings.back().find("already defined"), std::string::npos);
}

TEST_F(TlsDbDomains, AMissingDatabaseOrWrongVersionIsAnError) {
  Config c = cfg(false);
  c.tls_mgm_params[0].value = std::string("sqlite://" + dir_ + "/none.db");
  std::vector<std::string> warnings;
  auto snap = load_tls_domains(c, &warnings);
  ASSERT_FALSE(snap.ok());
  EXPECT_NE(snap.message().find("sipsd.cfg:1:1: tls_mgm: db_url:"), std::string::npos)
      << snap.message();
  {
    auto conn = db::Connection::open(url_, db::OpenMode::kReadWrite);
    ASSERT_TRUE(conn.ok());
    ASSERT_TRUE(
        conn->exec("UPDATE version SET table_version = 2 WHERE table_name = 'tls_mgm'").ok());
  }
  auto wrong = load_tls_domains(cfg(false), &warnings);
  ASSERT_FALSE(wrong.ok());
  EXPECT_NE(wrong.message().find("invalid version 2 for table 'tls_mgm', expected 3"),
            std::string::npos)
      << wrong.message();
}

}  // namespace
}  // namespace sipsd
