// auth + auth_db against the real sipsd and the real sipsctl: subscribers created with
// `sipsctl db init` / `user add` in a SQLite file, REGISTER and INVITE challenged (401/407),
// the right answer accepted, wrong passwords, replayed nonce counts and expired nonces refused
// with the auth: counters moving, and users added or removed while sipsd runs becoming
// (un)usable within cache_refresh.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <chrono>
#include <fstream>
#include <iterator>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "core/auth/digest.h"
#include "tests/integration/sip_test_client.h"
#include "tests/integration/sipsd_server.h"
#include "tests/integration/subprocess.h"
#include "tests/integration/test_env.h"

namespace sipsd::test {
namespace {

using namespace std::chrono_literals;
using auth::Algorithm;

RunResult sipsctl(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {SIPSCTL_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  return run(argv);
}

// One column of the first row a query returns ("" when none), read with the sqlite3 C API.
std::string query_one(const std::string& file, const std::string& sql) {
  sqlite3* db = nullptr;
  std::string out;
  if (sqlite3_open_v2(file.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW) {
      const unsigned char* t = sqlite3_column_text(st, 0);
      if (t) out = reinterpret_cast<const char*>(t);
    }
    sqlite3_finalize(st);
  }
  sqlite3_close(db);
  return out;
}

const char* kRoute = R"(route {
  if (is_method("REGISTER")) {
    if (!www_authorize("", "subscriber")) {
      www_challenge("", "auth");
      exit;
    }
    if (!db_is_to_authorized("subscriber")) {
      sl_send_reply(403, "Forbidden");
      exit;
    }
    consume_credentials();
    sl_send_reply(200, "OK $au $ar");
    exit;
  }
  if (is_method("INVITE")) {
    if (!proxy_authorize("", "subscriber")) {
      proxy_challenge("", "auth", "MD5,SHA-256,SHA-512-256");
      exit;
    }
    sl_send_reply(200, "OK $au");
    exit;
  }
  sl_send_reply(501, "Not Implemented");
})";

struct Challenge {
  std::string realm, nonce, qop, algorithm;
  bool stale = false;
};

Challenge parse_challenge(const std::string& v) {
  Challenge c;
  auto param = [&](const char* name) {
    std::string key = std::string(name) + "=";
    size_t p = v.find(key);
    if (p == std::string::npos) return std::string();
    p += key.size();
    if (v[p] == '"') {
      size_t e = v.find('"', p + 1);
      return v.substr(p + 1, e - p - 1);
    }
    size_t e = v.find_first_of(", ", p);
    return v.substr(p, e == std::string::npos ? std::string::npos : e - p);
  };
  c.realm = param("realm");
  c.nonce = param("nonce");
  c.qop = param("qop");
  c.algorithm = param("algorithm");
  c.stale = param("stale") == "true";
  return c;
}

class AuthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_file_ = dir_.file("sipsd.db");
    url_ = "sqlite://" + db_file_;
    RunResult init = sipsctl({"db", "init", url_});
    ASSERT_TRUE(init.ok()) << init.describe();
    RunResult add = sipsctl({"user", "add", "alice@a.example", "wonderland", "--db", url_});
    ASSERT_TRUE(add.ok()) << add.describe();
  }

  void start(int nonce_expire = 30) {
    SipsdOptions o;
    o.tls = false;
    o.workers = 2;
    o.modparams = {"loadmodule \"auth.so\"",
                   "loadmodule \"auth_db.so\"",
                   "modparam(\"auth\", \"nonce_expire\", " + std::to_string(nonce_expire) + ")",
                   "modparam(\"auth_db\", \"db_url\", \"" + url_ + "\")",
                   "modparam(\"auth_db\", \"load_credentials\", \"\")",
                   "modparam(\"auth_db\", \"cache_refresh\", 1)"};
    o.route = kRoute;
    auto srv = SipsdServer::start(o);
    ASSERT_TRUE(srv.ok()) << srv.message();
    srv_ = std::move(srv).value();
    auto c = SipTestClient::connect_tcp("127.0.0.1", srv_->tcp_port());
    ASSERT_TRUE(c.ok()) << c.message();
    client_ = std::move(c).value();
  }

  // Sends a REGISTER (or INVITE) for `user`@a.example with `auth_header` (if any) and reads the
  // reply.
  SipReply send(const std::string& method, const std::string& user,
                const std::string& auth_header = "") {
    SipRequestSpec spec;
    spec.method = method;
    spec.request_uri = method == "REGISTER" ? "sip:a.example" : "sip:bob@a.example";
    spec.from_uri = "sip:" + user + "@a.example";
    spec.to_uri = method == "REGISTER" ? spec.from_uri : "sip:bob@a.example";
    spec.cseq = ++cseq_;
    if (!auth_header.empty()) spec.extra_headers.push_back(auth_header);
    SipRequest req = build_sip_request(spec, client_->hop());
    EXPECT_TRUE(client_->send(req.text).ok());
    auto reply = client_->read_reply(5s);
    EXPECT_TRUE(reply.ok()) << reply.message() << "\n" << srv_->log();
    return reply.ok() ? *reply : SipReply();
  }

  static std::string answer(const std::string& method, const std::string& header_name,
                            const std::string& user, const std::string& password,
                            const Challenge& ch, const std::string& nc, Algorithm a) {
    const std::string uri = method == "REGISTER" ? "sip:a.example" : "sip:bob@a.example";
    std::string ha1 = auth::compute_ha1(auth::base_algorithm(a), user, ch.realm, password);
    auth::DigestInput in{method, uri, ch.nonce, "0a4f113b", nc, "auth", ""};
    std::string h = header_name + ": Digest username=\"" + user + "\", realm=\"" + ch.realm +
                    "\", nonce=\"" + ch.nonce + "\", uri=\"" + uri + "\", response=\"" +
                    auth::compute_response(a, ha1, in) +
                    "\", cnonce=\"0a4f113b\", qop=auth, nc=" + nc;
    if (!ch.algorithm.empty()) h += ", algorithm=" + ch.algorithm;
    return h;
  }

  // REGISTER without credentials: the 401's challenge.
  Challenge challenge_for(const std::string& user) {
    SipReply r = send("REGISTER", user);
    EXPECT_EQ(r.status(), 401) << r.text();
    auto h = r.header("WWW-Authenticate");
    EXPECT_TRUE(h.has_value()) << r.text();
    return parse_challenge(h.value_or(""));
  }

  uint64_t stat(const std::string& name) {
    auto s = srv_->stats();
    EXPECT_TRUE(s.ok()) << s.message();
    return s.ok() ? s->get(name) : 0;
  }

  TempDir dir_{"sipsd-auth"};
  std::string db_file_, url_;
  std::unique_ptr<SipsdServer> srv_;
  SipTestClient::Ptr client_;
  uint32_t cseq_ = 0;
};

TEST_F(AuthTest, SipsctlWritesTheOpenSipsTablesAndHashes) {
  EXPECT_EQ(query_one(db_file_, "SELECT table_version FROM version WHERE table_name='subscriber'"),
            "8");
  EXPECT_EQ(query_one(db_file_, "SELECT table_version FROM version WHERE table_name='location'"),
            "1013");
  EXPECT_EQ(query_one(db_file_, "SELECT table_version FROM version WHERE table_name='tls_mgm'"),
            "3");
  EXPECT_EQ(query_one(db_file_,
                      "SELECT ha1 FROM subscriber WHERE username='alice' AND "
                      "domain='a.example'"),
            auth::compute_ha1(Algorithm::kMd5, "alice", "a.example", "wonderland"));
  EXPECT_EQ(query_one(db_file_, "SELECT ha1_sha256 FROM subscriber WHERE username='alice'"),
            auth::compute_ha1(Algorithm::kSha256, "alice", "a.example", "wonderland"));
  EXPECT_EQ(query_one(db_file_, "SELECT ha1_sha512t256 FROM subscriber WHERE username='alice'"),
            auth::compute_ha1(Algorithm::kSha512t256, "alice", "a.example", "wonderland"));
  EXPECT_EQ(query_one(db_file_, "SELECT password FROM subscriber WHERE username='alice'"), "");
  EXPECT_EQ(query_one(db_file_, "PRAGMA journal_mode"), "wal");

  RunResult again = sipsctl({"user", "add", "alice@a.example", "x", "--db", url_});
  EXPECT_EQ(again.status.code, 1) << again.describe();
  EXPECT_NE(again.err.find("already exists"), std::string::npos) << again.err;
  RunResult passwd = sipsctl({"user", "passwd", "alice@a.example", "newpass", "--db", url_});
  ASSERT_TRUE(passwd.ok()) << passwd.describe();
  EXPECT_EQ(query_one(db_file_, "SELECT ha1 FROM subscriber WHERE username='alice'"),
            auth::compute_ha1(Algorithm::kMd5, "alice", "a.example", "newpass"));
  RunResult rm = sipsctl({"user", "rm", "alice@a.example", "--db", url_});
  ASSERT_TRUE(rm.ok()) << rm.describe();
  EXPECT_EQ(query_one(db_file_, "SELECT count(*) FROM subscriber"), "0");
  RunResult rm2 = sipsctl({"user", "rm", "alice@a.example", "--db", url_});
  EXPECT_EQ(rm2.status.code, 1);
  EXPECT_NE(rm2.err.find("no user alice@a.example"), std::string::npos) << rm2.err;
  RunResult bad = sipsctl({"user", "add", "nodomain", "pw", "--db", url_});
  EXPECT_EQ(bad.status.code, 1);
  RunResult nodb =
      sipsctl({"user", "add", "a@b", "pw", "--db", "sqlite://" + dir_.file("none.db")});
  EXPECT_EQ(nodb.status.code, 1);
  EXPECT_NE(nodb.err.find("sipsctl db init"), std::string::npos) << nodb.err;
  RunResult badurl = sipsctl({"db", "init", "mysql://localhost/opensips"});
  EXPECT_EQ(badurl.status.code, 1);
  EXPECT_NE(badurl.err.find("unsupported database scheme 'mysql'"), std::string::npos);
}

TEST_F(AuthTest, RegisterIsChallengedThenAccepted) {
  start();
  Challenge ch = challenge_for("alice");
  EXPECT_EQ(ch.realm, "a.example");
  EXPECT_EQ(ch.qop, "auth");
  EXPECT_EQ(ch.nonce.size(), 44u);
  EXPECT_FALSE(ch.stale);
  SipReply ok = send(
      "REGISTER", "alice",
      answer("REGISTER", "Authorization", "alice", "wonderland", ch, "00000001", Algorithm::kMd5));
  EXPECT_EQ(ok.status(), 200) << ok.text() << srv_->log();
  EXPECT_EQ(ok.reason(), "OK alice a.example");
  // The same nonce with the next nonce count is fine too (RFC 7616 §3.4).
  SipReply next = send(
      "REGISTER", "alice",
      answer("REGISTER", "Authorization", "alice", "wonderland", ch, "00000002", Algorithm::kMd5));
  EXPECT_EQ(next.status(), 200) << next.text();
  EXPECT_GE(stat("auth:challenges"), 1u);
  EXPECT_EQ(stat("auth:authorized"), 2u);
  EXPECT_EQ(stat("auth:subscribers"), 1u);
}

TEST_F(AuthTest, WrongPasswordIsChallengedAgainAndCounted) {
  start();
  Challenge ch = challenge_for("alice");
  SipReply bad =
      send("REGISTER", "alice",
           answer("REGISTER", "Authorization", "alice", "guess", ch, "00000001", Algorithm::kMd5));
  EXPECT_EQ(bad.status(), 401) << bad.text();
  Challenge again = parse_challenge(bad.header("WWW-Authenticate").value_or(""));
  EXPECT_FALSE(again.stale);
  EXPECT_NE(again.nonce, ch.nonce);
  EXPECT_EQ(stat("auth:failed_responses"), 1u);
  EXPECT_EQ(stat("auth:challenges"), 2u);
  EXPECT_EQ(stat("auth:authorized"), 0u);
  // Someone not in the subscriber table.
  Challenge ch2 = challenge_for("mallory");
  SipReply unknown =
      send("REGISTER", "mallory",
           answer("REGISTER", "Authorization", "mallory", "x", ch2, "00000001", Algorithm::kMd5));
  EXPECT_EQ(unknown.status(), 401);
  EXPECT_EQ(stat("auth:unknown_users"), 1u);
  // Malformed credentials: 400.
  SipReply malformed = send("REGISTER", "alice", "Authorization: Digest username=\"alice");
  EXPECT_EQ(malformed.status(), 400) << malformed.text();
  EXPECT_EQ(stat("auth:malformed_credentials"), 1u);
}

TEST_F(AuthTest, ReplayedNonceCountIsRefusedAsStale) {
  start();
  Challenge ch = challenge_for("alice");
  const std::string h =
      answer("REGISTER", "Authorization", "alice", "wonderland", ch, "00000001", Algorithm::kMd5);
  EXPECT_EQ(send("REGISTER", "alice", h).status(), 200);
  // The very same credentials again, on a new connection (likely another worker).
  auto c2 = SipTestClient::connect_tcp("127.0.0.1", srv_->tcp_port());
  ASSERT_TRUE(c2.ok());
  client_ = std::move(c2).value();
  SipReply replay = send("REGISTER", "alice", h);
  EXPECT_EQ(replay.status(), 401) << replay.text();
  EXPECT_TRUE(parse_challenge(replay.header("WWW-Authenticate").value_or("")).stale);
  EXPECT_EQ(stat("auth:replayed_nonces"), 1u);
  // A nonce that was never issued by this server.
  Challenge forged = ch;
  forged.nonce = std::string(43, 'A') + "=";
  SipReply f = send("REGISTER", "alice",
                    answer("REGISTER", "Authorization", "alice", "wonderland", forged, "00000001",
                           Algorithm::kMd5));
  EXPECT_EQ(f.status(), 401);
  EXPECT_FALSE(parse_challenge(f.header("WWW-Authenticate").value_or("")).stale);
  EXPECT_EQ(stat("auth:forged_nonces"), 1u);
}

TEST_F(AuthTest, ExpiredNonceGetsStaleTrue) {
  start(/*nonce_expire=*/1);
  Challenge ch = challenge_for("alice");
  std::this_thread::sleep_for(2100ms);
  SipReply r = send(
      "REGISTER", "alice",
      answer("REGISTER", "Authorization", "alice", "wonderland", ch, "00000001", Algorithm::kMd5));
  EXPECT_EQ(r.status(), 401) << r.text();
  Challenge fresh = parse_challenge(r.header("WWW-Authenticate").value_or(""));
  EXPECT_TRUE(fresh.stale);
  EXPECT_EQ(stat("auth:stale_nonces"), 1u);
  // The fresh nonce works.
  EXPECT_EQ(send("REGISTER", "alice",
                 answer("REGISTER", "Authorization", "alice", "wonderland", fresh, "00000001",
                        Algorithm::kMd5))
                .status(),
            200);
}

TEST_F(AuthTest, InviteGets407WithEveryAlgorithmStrongestFirst) {
  start();
  SipReply r = send("INVITE", "alice");
  EXPECT_EQ(r.status(), 407) << r.text();
  std::vector<std::string> hs = r.headers("Proxy-Authenticate");
  ASSERT_EQ(hs.size(), 3u) << r.text();
  std::vector<Challenge> ch;
  for (const auto& h : hs) ch.push_back(parse_challenge(h));
  EXPECT_EQ(ch[0].algorithm, "SHA-512-256");
  EXPECT_EQ(ch[1].algorithm, "SHA-256");
  EXPECT_EQ(ch[2].algorithm, "MD5");
  const Algorithm algs[] = {Algorithm::kSha512t256, Algorithm::kSha256, Algorithm::kMd5};
  for (int i = 0; i < 3; ++i) {
    SipReply ok = send(
        "INVITE", "alice",
        answer("INVITE", "Proxy-Authorization", "alice", "wonderland", ch[i], "00000001", algs[i]));
    EXPECT_EQ(ok.status(), 200) << ch[i].algorithm << "\n" << ok.text() << srv_->log();
  }
  // A digest for one algorithm against a nonce issued for another: stale.
  Challenge mixed = ch[2];
  mixed.algorithm = "SHA-256";
  SipReply m = send("INVITE", "alice",
                    answer("INVITE", "Proxy-Authorization", "alice", "wonderland", mixed,
                           "00000002", Algorithm::kSha256));
  EXPECT_EQ(m.status(), 407);
}

TEST_F(AuthTest, UsersAddedOrRemovedWithSipsctlTakeEffectWhileRunning) {
  start();
  ASSERT_TRUE(sipsctl({"user", "add", "bob@a.example", "builder", "--db", url_}).ok());
  int status = 0;
  for (int i = 0; i < 40 && status != 200; ++i) {  // cache_refresh is 1 s
    Challenge ch = challenge_for("bob");
    status =
        send("REGISTER", "bob",
             answer("REGISTER", "Authorization", "bob", "builder", ch, "00000001", Algorithm::kMd5))
            .status();
    if (status != 200) std::this_thread::sleep_for(100ms);
  }
  EXPECT_EQ(status, 200) << srv_->log();
  ASSERT_TRUE(sipsctl({"user", "rm", "bob@a.example", "--db", url_}).ok());
  // MI auth_reload makes it immediate.
  auto reload = srv_->mi_result("auth_reload");
  ASSERT_TRUE(reload.ok()) << reload.message();
  Challenge ch = challenge_for("bob");
  EXPECT_EQ(
      send("REGISTER", "bob",
           answer("REGISTER", "Authorization", "bob", "builder", ch, "00000001", Algorithm::kMd5))
          .status(),
      401);
  EXPECT_EQ(stat("auth:subscribers"), 1u);
}

TEST(AuthStartup, ADatabaseWithoutTablesIsAClearStartupError) {
  TempDir dir("sipsd-auth");
  const std::string url = "sqlite://" + dir.file("empty.db");
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(dir.file("empty.db").c_str(), &db), SQLITE_OK);
    sqlite3_exec(db, "CREATE TABLE x (a)", nullptr, nullptr, nullptr);
    sqlite3_close(db);
  }
  SipsdOptions o;
  o.tls = false;
  o.modparams = {"loadmodule \"auth.so\"", "loadmodule \"auth_db.so\"",
                 "modparam(\"auth_db\", \"db_url\", \"" + url + "\")"};
  o.route = kRoute;
  auto srv = SipsdServer::start(o, 5s);
  ASSERT_FALSE(srv.ok());
  EXPECT_NE(srv.message().find("no such table: version"), std::string::npos) << srv.message();
}

}  // namespace
}  // namespace sipsd::test

namespace sipsd::test {
namespace {

std::string file_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// modparam("tls_mgm", "db_url", …): a domain inserted into the tls_mgm table appears after
// MI tls_reload, next to the cfg's own, without file keys in tls_list (as OpenSIPS: its PEM
// came from the row, loaded from memory), and serves the handshakes whose SNI it matches.
TEST(TlsMgmDb, TlsReloadReadsTheTable) {
  TempDir dir("sipsd-tlsdb");
  const std::string file = dir.file("tls.db");
  const std::string url = "sqlite://" + file;
  ASSERT_TRUE(sipsctl({"db", "init", url}).ok());
  SipsdOptions o;
  o.modparams = {"modparam(\"tls_mgm\", \"db_url\", \"" + url + "\")"};
  auto srv = SipsdServer::start(o);
  ASSERT_TRUE(srv.ok()) << srv.message();
  auto before = (*srv)->mi_result("tls_list");
  ASSERT_TRUE(before.ok()) << before.message();
  const size_t n = before->find("Domains")->size();
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(file.c_str(), &db), SQLITE_OK);
    sqlite3_stmt* st = nullptr;
    ASSERT_EQ(
        sqlite3_prepare_v2(db,
                           "INSERT INTO tls_mgm (domain, type, match_ip_address, "
                           "match_sip_domain, certificate, private_key, verify_cert, "
                           "require_cert) VALUES ('fromdb', 2, '*', 'db.example', ?1, ?2, 0, 0)",
                           -1, &st, nullptr),
        SQLITE_OK);
    const std::string cert = file_text(test_cert("sip-example.pem"));
    const std::string key = file_text(test_cert("sip-example-key.pem"));
    sqlite3_bind_blob(st, 1, cert.data(), static_cast<int>(cert.size()), SQLITE_TRANSIENT);
    sqlite3_bind_blob(st, 2, key.data(), static_cast<int>(key.size()), SQLITE_TRANSIENT);
    EXPECT_EQ(sqlite3_step(st), SQLITE_DONE);
    sqlite3_finalize(st);
    sqlite3_close(db);
  }
  auto reload = (*srv)->mi_result("tls_reload");
  ASSERT_TRUE(reload.ok()) << reload.message() << (*srv)->log();
  auto after = (*srv)->mi_result("tls_list");
  ASSERT_TRUE(after.ok());
  ASSERT_EQ(after->find("Domains")->size(), n + 1) << after->dump();
  const Json* fromdb = nullptr;
  for (const Json& d : after->find("Domains")->items())
    if (d.find("name") != nullptr && d.find("name")->as_string() == "fromdb") fromdb = &d;
  ASSERT_NE(fromdb, nullptr) << after->dump();
  EXPECT_EQ(fromdb->find("CERT_FILE"), nullptr) << after->dump();
  EXPECT_EQ(fromdb->find("PKEY_FILE"), nullptr) << after->dump();
  EXPECT_NE(fromdb->find("CRL_DIR"), nullptr) << after->dump();
  // SNI db.example gets the table's certificate; no SNI still the cfg's domain.
  TlsClientOptions by_sni = default_tls_options();
  by_sni.sni = "db.example";
  by_sni.verify_name = "sip.example.com";  // the table's certificate, not the IP's
  auto db_client = SipTestClient::connect_tls("127.0.0.1", (*srv)->tls_port(), by_sni);
  ASSERT_TRUE(db_client.ok()) << db_client.message() << (*srv)->log();
  EXPECT_EQ((*db_client)->peer_subject(), "CN = sip.example.com");
  EXPECT_EQ(options_status(**db_client), 200);
  auto c = SipTestClient::connect_tls("127.0.0.1", (*srv)->tls_port(), default_tls_options());
  ASSERT_TRUE(c.ok()) << c.message();
  EXPECT_EQ((*c)->peer_subject(), "CN = localhost");
  EXPECT_EQ(options_status(**c), 200);
}

// acc: do_accounting("db", ...) rows reach OpenSIPS's `acc` and `missed_calls` tables of
// acc's db_url (made by `sipsctl db init`), written by the supervisor in batches: an answered
// OPTIONS, a busy INVITE (missed and failed), and nothing for an unaccounted negative reply.
// acc:db_rows_written counts them.
TEST(AccDb, RowsReachTheAccAndMissedCallsTables) {
  TempDir dir("sipsd-accdb");
  const std::string file = dir.file("acc.db");
  const std::string url = "sqlite://" + file;
  ASSERT_TRUE(sipsctl({"db", "init", url}).ok());
  SipsdOptions o;
  o.workers = 2;
  o.modparams = {"loadmodule \"tm.so\"", "loadmodule \"acc.so\"",
                 "modparam(\"acc\", \"db_url\", \"" + url + "\")"};
  o.route =
      "route {\n"
      "  t_newtran();\n"
      "  if (is_method(\"OPTIONS\")) { do_accounting(\"db\"); t_reply(200, \"OK\"); exit; }\n"
      "  if ($ci == \"acc-quiet\") { do_accounting(\"log|db\"); t_reply(404, \"No\"); exit; }\n"
      "  do_accounting(\"db\", \"missed|failed\");\n"
      "  t_reply(486, \"Busy Here\");\n"
      "}\n";
  auto srv = SipsdServer::start(o);
  ASSERT_TRUE(srv.ok()) << srv.message();
  auto c = SipTestClient::connect_tls("127.0.0.1", (*srv)->tls_port(), default_tls_options());
  ASSERT_TRUE(c.ok()) << c.message();
  auto send = [&](const std::string& method, const std::string& call_id) {
    SipRequestSpec spec;
    spec.method = method;
    spec.call_id = call_id;
    spec.from_tag = "ft-" + call_id;
    EXPECT_GE(final_status(**c, spec), 200) << method << " " << call_id;
  };
  send("OPTIONS", "acc-ok");
  send("MESSAGE", "acc-quiet");
  send("INVITE", "acc-busy");
  auto st = (*srv)->stats_until(
      [](const ServerStats& s) { return s.get("acc:db_rows_written") >= 3; }, 5s);
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_EQ(st->get("acc:db_rows_written"), 3u) << (*srv)->log();
  EXPECT_EQ(st->get("acc:db_rows_dropped"), 0u);
  EXPECT_EQ(query_one(file,
                      "SELECT method || ' ' || from_tag || ' ' || sip_code || ' ' || "
                      "sip_reason FROM acc WHERE callid = 'acc-ok'"),
            "OPTIONS ft-acc-ok 200 OK");
  EXPECT_NE(query_one(file, "SELECT to_tag FROM acc WHERE callid = 'acc-ok'"), "");
  EXPECT_EQ(query_one(file,
                      "SELECT sip_code || ' ' || sip_reason FROM acc "
                      "WHERE callid = 'acc-busy'"),
            "486 Busy Here");
  EXPECT_EQ(query_one(file,
                      "SELECT method || ' ' || sip_code FROM missed_calls "
                      "WHERE callid = 'acc-busy'"),
            "INVITE 486");
  EXPECT_EQ(query_one(file, "SELECT count(*) FROM acc WHERE callid = 'acc-quiet'"), "0");
  // time is a DATETIME as OpenSIPS writes it.
  EXPECT_TRUE(std::regex_match(query_one(file, "SELECT time FROM acc WHERE callid = 'acc-ok'"),
                               std::regex(R"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)")));
}

// A db_url whose tables are missing stops sipsd at start with the table named.
TEST(AccDb, AMissingTableIsAStartupError) {
  TempDir dir("sipsd-accdb");
  const std::string url = "sqlite://" + dir.file("empty.db");
  ASSERT_TRUE(sipsctl({"db", "init", url}).ok());
  SipsdOptions o;
  o.modparams = {"loadmodule \"tm.so\"", "loadmodule \"acc.so\"",
                 "modparam(\"acc\", \"db_url\", \"" + url + "\")",
                 "modparam(\"acc\", \"db_table_acc\", \"acc_other\")"};
  auto srv = SipsdServer::start(o);
  ASSERT_FALSE(srv.ok());
  EXPECT_NE(srv.message().find("acc_other"), std::string::npos) << srv.message();
}

}  // namespace
}  // namespace sipsd::test
