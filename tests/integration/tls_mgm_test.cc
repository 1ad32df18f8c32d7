// tls_mgm against the real sipsd: reload through shared memory, session resumption across
// workers.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "tests/integration/sip_test_client.h"
#include "tests/integration/sipsd_server.h"
#include "tests/integration/test_env.h"

namespace sipsd::test {
namespace {

using namespace std::chrono_literals;

void copy_file(const std::string& from, const std::string& to) {
  std::filesystem::copy_file(from, to, std::filesystem::copy_options::overwrite_existing);
  chmod(to.c_str(), 0600);
}

int peer_key_type(const SipTestClient& c) {
  X509Ptr cert = c.peer_certificate();
  return cert ? EVP_PKEY_base_id(X509_get0_pubkey(cert.get())) : 0;
}

// Replace a domain's files and send SIGHUP: new handshakes get the new certificate, a connection
// made before keeps working; a reload with a key that does not match keeps the old generation.
TEST(TlsMgm, SighupReloadsCertificatesWithoutDroppingConnections) {
  TempDir files("sipsd-reload");
  std::string cert = files.file("cert.pem"), key = files.file("key.pem");
  copy_file(test_cert("cert.pem"), cert);  // ECDSA
  copy_file(test_cert("ckey.pem"), key);
  SipsdOptions o;
  o.tls_domain = {
      "modparam(\"tls_mgm\", \"certificate\", \"[default]" + cert + "\")",
      "modparam(\"tls_mgm\", \"private_key\", \"[default]" + key + "\")",
      "modparam(\"tls_mgm\", \"verify_cert\", \"[default]0\")",
      "modparam(\"tls_mgm\", \"require_cert\", \"[default]0\")",
  };
  auto srv = SipsdServer::start(o);
  ASSERT_TRUE(srv.ok()) << srv.message();

  auto before = SipTestClient::connect_tls("127.0.0.1", (*srv)->tls_port(), default_tls_options());
  ASSERT_TRUE(before.ok()) << before.message();
  EXPECT_EQ(peer_key_type(**before), EVP_PKEY_EC);
  ASSERT_EQ(options_status(**before), 200);

  copy_file(test_cert("server-rsa.pem"), cert);
  copy_file(test_cert("server-rsa-key.pem"), key);
  ASSERT_TRUE((*srv)->child().signal(SIGHUP));
  ASSERT_TRUE((*srv)->wait_for_log("as generation 2")) << (*srv)->log();

  // Workers pick the new generation up from their channel; give them a moment.
  bool rsa = false;
  for (int i = 0; i < 50 && !rsa; ++i) {
    auto after = SipTestClient::connect_tls("127.0.0.1", (*srv)->tls_port(), default_tls_options());
    ASSERT_TRUE(after.ok()) << after.message();
    rsa = peer_key_type(**after) == EVP_PKEY_RSA;
    if (rsa) {
      EXPECT_EQ(options_status(**after), 200);
    } else {
      std::this_thread::sleep_for(20ms);
    }
  }
  EXPECT_TRUE(rsa) << "new handshakes still present the old certificate";
  EXPECT_EQ(options_status(**before), 200) << "the connection made before the reload was dropped";

  // A broken reload: the key no longer matches. Nothing changes, and the log says why.
  copy_file(test_cert("other-key.pem"), key);
  ASSERT_TRUE((*srv)->child().signal(SIGHUP));
  ASSERT_TRUE((*srv)->wait_for_log("reload refused, still serving generation 2"));
  EXPECT_NE((*srv)->log().find("does not match the certificate"), std::string::npos);
  for (int i = 0; i < 4; ++i) {
    auto again = SipTestClient::connect_tls("127.0.0.1", (*srv)->tls_port(), default_tls_options());
    ASSERT_TRUE(again.ok()) << again.message();
    EXPECT_EQ(peer_key_type(**again), EVP_PKEY_RSA);
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
    int resumed = 0;
    for (int i = 0; i < 20; ++i) {
      auto c = SipTestClient::connect_tls("127.0.0.1", (*srv)->tls_port(), to);
      ASSERT_TRUE(c.ok()) << c.message();
      resumed += (*c)->session_reused();
      EXPECT_EQ(options_status(**c), 200);
      if (version == TLS1_3_VERSION) to.session = (*c)->session();
      (*c)->close();
    }
    EXPECT_EQ(resumed, 20) << "TLS version " << version;
    auto stats = (*srv)->stats();
    ASSERT_TRUE(stats.ok());
    int workers_used = 0;
    for (const ProcStatsLine& p : stats->procs)
      if (p.role == "worker" && p.get("handshakes_ok") > 0) ++workers_used;
    EXPECT_GE(workers_used, 2) << "the reconnects all landed on one worker";
  }
}

}  // namespace
}  // namespace sipsd::test
