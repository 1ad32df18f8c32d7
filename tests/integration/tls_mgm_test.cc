// tls_mgm against the real sipsd: reload through shared memory, session resumption across
// workers.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <set>
#include <thread>

#include "tests/integration/sip_test_client.h"
#include "tests/integration/sipsd_server.h"
#include "tests/integration/test_env.h"

namespace sipsd::test {
namespace {

using namespace std::chrono_literals;

// Replace a domain's files and send SIGHUP: new handshakes get the new certificate, a connection
// made before keeps working; a reload with a key that does not match keeps the old generation.
TEST(TlsMgm, SighupReloadsCertificatesWithoutDroppingConnections) {
  ReloadableCertFiles files;  // ECDSA
  SipsdOptions o;
  o.tls_domain = files.tls_domain();
  auto srv = SipsdServer::start(o);
  ASSERT_TRUE(srv.ok()) << srv.message();

  auto before = SipTestClient::connect_tls("127.0.0.1", (*srv)->tls_port(), default_tls_options());
  ASSERT_TRUE(before.ok()) << before.message();
  EXPECT_EQ((*before)->peer_key_type(), EVP_PKEY_EC);
  ASSERT_EQ(options_status(**before), 200);

  files.install("server-rsa.pem", "server-rsa-key.pem");
  ASSERT_TRUE((*srv)->child().signal(SIGHUP));
  ASSERT_TRUE((*srv)->wait_for_log("as generation 2")) << (*srv)->log();

  EXPECT_TRUE(eventually_serves_key_type(**srv, EVP_PKEY_RSA))
      << "new handshakes still present the old certificate";
  EXPECT_EQ(options_status(**before), 200) << "the connection made before the reload was dropped";

  // A broken reload: the key no longer matches. Nothing changes, and the log says why.
  files.install_key("other-key.pem");
  ASSERT_TRUE((*srv)->child().signal(SIGHUP));
  ASSERT_TRUE((*srv)->wait_for_log("reload refused, still serving generation 2"));
  EXPECT_NE((*srv)->log().find("does not match the certificate"), std::string::npos);
  for (int i = 0; i < 4; ++i) {
    auto again = SipTestClient::connect_tls("127.0.0.1", (*srv)->tls_port(), default_tls_options());
    ASSERT_TRUE(again.ok()) << again.message();
    EXPECT_EQ((*again)->peer_key_type(), EVP_PKEY_RSA);
  }
  EXPECT_EQ(options_status(**before), 200);
}

// 20 reconnects with a saved session, spread over the workers: every one resumes, whichever
// worker it lands on (the ticket keys are shared through shared memory). TLS 1.3 tickets are
// single-use on the client (RFC 8446 C.4), so each reconnect saves the ticket it got for the
// next; TLS 1.2 reuses the first session every time.
TEST(TlsMgm, SessionsResumeOnAnyWorker) {
  for (int version : {TLS1_3_VERSION, TLS1_2_VERSION}) {
    SipsdOptions o;
    o.workers = 3;
    auto srv = SipsdServer::start(o);
    ASSERT_TRUE(srv.ok()) << srv.message();
    TlsClientOptions to = default_tls_options();
    to.min_version = to.max_version = version;
    auto first = SipTestClient::connect_tls("127.0.0.1", (*srv)->tls_port(), to);
    ASSERT_TRUE(first.ok()) << first.message();
    ASSERT_EQ(options_status(**first), 200);
    to.session = (*first)->session();
    ASSERT_TRUE(to.session) << "no session to resume";
    (*first)->close();
    // The reconnects stay open, so the management interface shows where each one landed.
    int resumed = 0;
    std::vector<SipTestClient::Ptr> reconnects;
    for (int i = 0; i < 20; ++i) {
      auto c = SipTestClient::connect_tls("127.0.0.1", (*srv)->tls_port(), to);
      ASSERT_TRUE(c.ok()) << c.message();
      resumed += (*c)->session_reused();
      EXPECT_EQ(options_status(**c), 200);
      if (version == TLS1_3_VERSION) to.session = (*c)->session();
      reconnects.push_back(std::move(c).value());
    }
    EXPECT_EQ(resumed, 20) << "TLS version " << version;
    auto stats = (*srv)->stats();
    ASSERT_TRUE(stats.ok()) << stats.message();
    ASSERT_EQ(stats->connections.size(), 20u);
    std::set<int> workers_used;
    for (const MiConnection& c : stats->connections) workers_used.insert(c.worker);
    EXPECT_GE(workers_used.size(), 2u) << "the reconnects all landed on one worker";
    EXPECT_EQ(stats->get("tls:resumed"), 20u);
  }
}

// Session tickets survive a TLS reload: the keys are not part of the snapshot.
TEST(TlsMgm, ReloadKeepsSessionTicketsValid) {
  SipsdOptions o;
  o.workers = 2;
  auto srv = SipsdServer::start(o);
  ASSERT_TRUE(srv.ok()) << srv.message();
  TlsClientOptions to = default_tls_options();
  auto first = SipTestClient::connect_tls("127.0.0.1", (*srv)->tls_port(), to);
  ASSERT_TRUE(first.ok()) << first.message();
  ASSERT_EQ(options_status(**first), 200);
  to.session = (*first)->session();
  ASSERT_TRUE(to.session);
  (*first)->close();
  ASSERT_TRUE((*srv)->child().signal(SIGHUP));
  ASSERT_TRUE((*srv)->wait_for_log("as generation 2"));
  auto again = SipTestClient::connect_tls("127.0.0.1", (*srv)->tls_port(), to);
  ASSERT_TRUE(again.ok()) << again.message();
  EXPECT_TRUE((*again)->session_reused());
  EXPECT_EQ(options_status(**again), 200);
}

// ---- domains chosen by listener address and SNI ----------------------------------------------

std::string param(const std::string& name, const std::string& value) {
  return "modparam(\"tls_mgm\", \"" + name + "\", \"" + value + "\")";
}

// Three domains on 127.0.0.1 chosen by SNI (sip, other, and "none" for clients without SNI)
// and a fourth that owns a second listener on 127.0.0.2 whatever the SNI.
class TlsDomains : public ::testing::Test {
 protected:
  void SetUp() override {
    second_port_ = free_tcp_port("127.0.0.2");
    std::string second = "127.0.0.2:" + std::to_string(second_port_);
    SipsdOptions o;
    o.workers = 2;
    o.globals = {"socket=tls:" + second};
    o.tls_domain = {
        // "default" (declared by the harness): clients that send no SNI.
        param("certificate", "[default]" + test_cert("cert.pem")),
        param("private_key", "[default]" + test_cert("ckey.pem")),
        param("match_sip_domain", "[default]none"),
        param("verify_cert", "[default]0"),
        // sip.example.com: requires a client certificate from ca.pem, checks the CRL, offers
        // only ChaCha20 in TLS 1.3.
        param("server_domain", "sip"),
        param("match_sip_domain", "[sip]sip.example.com"),
        param("certificate", "[sip]" + test_cert("sip-example.pem")),
        param("private_key", "[sip]" + test_cert("sip-example-key.pem")),
        param("ca_list", "[sip]" + test_cert("ca.pem")),
        param("crl_dir", "[sip]" + test_cert("crl")),
        param("verify_cert", "[sip]1"),
        param("require_cert", "[sip]1"),
        param("ciphersuites", "[sip]TLS_CHACHA20_POLY1305_SHA256"),
        param("ciphers_list", "[sip]ECDHE-ECDSA-CHACHA20-POLY1305"),
        // other.example.com and *.other.example.com: no client certificate, TLS 1.3 only.
        param("server_domain", "other"),
        param("match_sip_domain", "[other]other.example.com, *.other.example.com"),
        param("certificate", "[other]" + test_cert("other-example.pem")),
        param("private_key", "[other]" + test_cert("other-example-key.pem")),
        param("verify_cert", "[other]0"),
        param("require_cert", "[other]0"),
        param("tls_method", "[other]TLSv1_3"),
        // The second listener's own domain, for any SNI or none.
        param("server_domain", "edge2"),
        param("match_ip_address", "[edge2]" + second),
        param("certificate", "[edge2]" + test_cert("wild.pem")),
        param("private_key", "[edge2]" + test_cert("wild-key.pem")),
        param("verify_cert", "[edge2]0"),
        param("require_cert", "[edge2]0"),
    };
    // The script shows what it sees of the TLS connection in the reason phrase.
    o.route = R"(route {
    if (is_method("OPTIONS")) {
        if ($tls_peer_verified == "1" && is_peer_verified()) {
            sl_send_reply(200, "Verified $tls_peer_subject_cn via $tls_domain for $tls_sni");
            exit;
        }
        sl_send_reply(200, "OK $tls_domain $tls_version");
        exit;
    }
    sl_send_reply(501, "Not Implemented");
})";
    auto srv = SipsdServer::start(o);
    ASSERT_TRUE(srv.ok()) << srv.message();
    srv_ = std::move(srv).value();
  }

  Result<SipTestClient::Ptr> connect(const std::string& sni, TlsClientOptions o = {},
                                     const std::string& ip = "127.0.0.1") {
    o.ca_file = test_cert("ca.pem");
    o.sni = sni;
    uint16_t port = ip == "127.0.0.1" ? srv_->tls_port() : second_port_;
    return SipTestClient::connect_tls(ip, port, o);
  }
  // The CN the server presented, "" when the handshake failed.
  std::string served(const std::string& sni, TlsClientOptions o = {},
                     const std::string& ip = "127.0.0.1") {
    auto c = connect(sni, o, ip);
    if (!c.ok()) return "";
    EXPECT_EQ(options_status(**c), 200);
    return (*c)->peer_subject();
  }

  std::unique_ptr<SipsdServer> srv_;
  uint16_t second_port_ = 0;
};

TlsClientOptions with_client_cert(const std::string& cert, const std::string& key) {
  TlsClientOptions o;
  o.cert_file = test_cert(cert);
  o.key_file = test_cert(key);
  return o;
}

TEST_F(TlsDomains, SniChoosesTheDomainAndUnknownNamesAreRefused) {
  TlsClientOptions alice = with_client_cert("client.pem", "client-key.pem");
  EXPECT_EQ(served("sip.example.com", alice), "CN = sip.example.com");
  EXPECT_EQ(served("OTHER.example.com"), "CN = other.example.com");  // case-insensitive
  EXPECT_EQ(served("a.b.other.example.com"), "CN = other.example.com");
  EXPECT_EQ(served(""), "CN = localhost");  // no SNI: the "none" domain
  auto unknown = connect("unknown.example.net");
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.message().find("unrecognized name"), std::string::npos) << unknown.message();
  EXPECT_TRUE(srv_->wait_for_log("no tls_mgm server domain matches SNI 'unknown.example.net'"));
  auto stats = srv_->stats();
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->get("tls:sni_unmatched"), 1u);
}

TEST_F(TlsDomains, TheSecondListenersDomainServesItWhateverTheSni) {
  EXPECT_EQ(served("", {}, "127.0.0.2"), "CN = *.wild.example.com");
  EXPECT_EQ(served("sip.example.com", {}, "127.0.0.2"), "CN = *.wild.example.com");
  EXPECT_EQ(served("anything.example.org", {}, "127.0.0.2"), "CN = *.wild.example.com");
}

// In TLS 1.3 the client finishes its handshake before the server has checked the client's
// certificate: a refusal shows on the first exchange.
bool usable(Result<SipTestClient::Ptr> c) {
  return c.ok() && options_status(**c) == 200;
}

TEST_F(TlsDomains, VerifySettingsFollowTheChosenDomain) {
  // sip requires a client certificate; other, on the same listener, does not.
  EXPECT_FALSE(usable(connect("sip.example.com")));
  EXPECT_EQ(served("other.example.com"), "CN = other.example.com");
  // A certificate from another CA, or a revoked one, is refused by sip.
  EXPECT_FALSE(
      usable(connect("sip.example.com", with_client_cert("client-ca2.pem", "client-ca2-key.pem"))));
  EXPECT_FALSE(usable(connect("sip.example.com",
                              with_client_cert("client-revoked.pem", "client-revoked-key.pem"))));
  EXPECT_TRUE(srv_->wait_for_log("certificate revoked")) << srv_->log();
  // A valid one is accepted.
  EXPECT_EQ(served("sip.example.com", with_client_cert("client.pem", "client-key.pem")),
            "CN = sip.example.com");
}

TEST_F(TlsDomains, TheScriptSeesTheVerifiedPeerAndTheDomain) {
  auto alice = connect("sip.example.com", with_client_cert("client.pem", "client-key.pem"));
  ASSERT_TRUE(alice.ok()) << alice.message();
  ASSERT_TRUE((*alice)->send((*alice)->make_options().text).ok());
  auto reply = (*alice)->read_reply(5s);
  ASSERT_TRUE(reply.ok()) << reply.message();
  EXPECT_EQ(reply->reason(), "Verified alice.example.com via sip for sip.example.com");

  auto anonymous = connect("other.example.com");
  ASSERT_TRUE(anonymous.ok()) << anonymous.message();
  ASSERT_TRUE((*anonymous)->send((*anonymous)->make_options().text).ok());
  auto reply2 = (*anonymous)->read_reply(5s);
  ASSERT_TRUE(reply2.ok()) << reply2.message();
  EXPECT_EQ(reply2->reason(), "OK other TLSv1.3");
}

TEST_F(TlsDomains, VersionsAndCiphersFollowTheChosenDomain) {
  TlsClientOptions tls12;
  tls12.max_version = TLS1_2_VERSION;
  EXPECT_FALSE(connect("other.example.com", tls12).ok());  // other is TLS 1.3 only
  TlsClientOptions alice12 = with_client_cert("client.pem", "client-key.pem");
  alice12.max_version = TLS1_2_VERSION;
  auto sip12 = connect("sip.example.com", alice12);  // sip allows 1.2
  ASSERT_TRUE(sip12.ok()) << sip12.message();
  EXPECT_EQ((*sip12)->tls_version(), "TLSv1.2");
  EXPECT_EQ((*sip12)->cipher(), "ECDHE-ECDSA-CHACHA20-POLY1305");  // sip's ciphers_list

  auto sip13 = connect("sip.example.com", with_client_cert("client.pem", "client-key.pem"));
  ASSERT_TRUE(sip13.ok()) << sip13.message();
  EXPECT_EQ((*sip13)->cipher(), "TLS_CHACHA20_POLY1305_SHA256");
  auto other13 = connect("other.example.com");
  ASSERT_TRUE(other13.ok()) << other13.message();
  EXPECT_NE((*other13)->cipher(), "TLS_CHACHA20_POLY1305_SHA256");
}

}  // namespace
}  // namespace sipsd::test
