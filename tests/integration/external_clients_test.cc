// Clients none of us wrote, against the real sipsd: openssl s_client, sipp over TCP, and sipp
// through stunnel for TLS (Debian's sipp is built without TLS).
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>

#include "tests/integration/sip_test_client.h"
#include "tests/integration/sipsd_server.h"
#include "tests/integration/subprocess.h"
#include "tests/integration/test_env.h"

namespace sipsd::test {
namespace {

using namespace std::chrono_literals;

const std::string kScenario =
    std::string(SIPSD_SOURCE_DIR) + "/tests/integration/sipp/options_uac.xml";

std::string options_request(uint16_t port) {
  return "OPTIONS sip:127.0.0.1:" + std::to_string(port) +
         " SIP/2.0\r\n"
         "Via: SIP/2.0/TLS 192.0.2.10:5061;branch=z9hG4bKsclient1;rport\r\n"
         "From: <sip:probe@example.com>;tag=sc1\r\n"
         "To: <sip:127.0.0.1>\r\n"
         "Call-ID: s_client-1@example.com\r\n"
         "CSeq: 7 OPTIONS\r\n"
         "Max-Forwards: 70\r\n"
         "Content-Length: 0\r\n"
         "\r\n";
}

TEST(ExternalClients, OpensslSClientGetsA200) {
  SipsdOptions o;
  o.globals = {"tcp_connection_lifetime=2"};  // the server closes, so s_client exits
  auto srv = SipsdServer::start(o);
  ASSERT_TRUE(srv.ok()) << srv.message();
  RunOptions ro;
  ro.stdin_data = options_request((*srv)->tls_port());
  ro.timeout = 15s;
  RunResult r =
      run({"openssl", "s_client", "-connect", "127.0.0.1:" + std::to_string((*srv)->tls_port()),
           "-CAfile", test_certs_dir() + "/ca.pem", "-verify_return_error", "-verify_ip",
           "127.0.0.1", "-quiet"},
          ro);
  ASSERT_TRUE(r.started) << r.describe();
  EXPECT_FALSE(r.timed_out) << r.describe();
  EXPECT_NE(r.out.find("SIP/2.0 200 OK\r\n"), std::string::npos) << r.describe();
  EXPECT_NE(r.out.find("received=127.0.0.1"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("CSeq: 7 OPTIONS"), std::string::npos) << r.out;
}

// TLS 1.2 client-initiated renegotiation (CVE-2009-3555 / CVE-2011-1473) is refused: s_client's
// "R" command gets a no_renegotiation alert, never a second handshake.
TEST(ExternalClients, OpensslRenegotiationIsRefused) {
  auto srv = SipsdServer::start({});
  ASSERT_TRUE(srv.ok()) << srv.message();
  // s_client takes its "R" command only while stdin stays open.
  ChildOptions co;
  co.stdin_pipe = true;
  auto client = Child::start(
      {"openssl", "s_client", "-connect", "127.0.0.1:" + std::to_string((*srv)->tls_port()),
       "-tls1_2", "-CAfile", test_cert("ca.pem")},
      co);
  ASSERT_TRUE(client.ok()) << client.message();
  ASSERT_TRUE(client->wait_for_line("Verify return code: 0", 10s)) << client->describe();
  ASSERT_TRUE(client->write_stdin("R\n").ok());
  EXPECT_TRUE(client->wait_for_line("RENEGOTIATING", 10s)) << client->describe();
  EXPECT_TRUE(client->wait_for_line("no renegotiation", 10s)) << client->describe();
  client->stop();
  auto stats = (*srv)->stats();
  ASSERT_TRUE(stats.ok()) << stats.message();
  EXPECT_EQ(stats->get("tls:handshakes_ok"), 1u);
}

RunResult run_sipp(uint16_t port, int calls, const std::string& dir) {
  RunOptions ro;
  ro.cwd = dir;
  ro.timeout = 60s;
  return run({"sipp", "-t", "t1", "-sf", kScenario, "127.0.0.1:" + std::to_string(port), "-m",
              std::to_string(calls), "-r", "200", "-l", "20", "-timeout", "30s", "-timeout_error",
              "-nostdin", "-trace_err", "-i", "127.0.0.1"},
             ro);
}

TEST(ExternalClients, SippOverTcp) {
  auto srv = SipsdServer::start({});
  ASSERT_TRUE(srv.ok()) << srv.message();
  RunResult r = run_sipp((*srv)->tcp_port(), 100, (*srv)->dir());
  EXPECT_TRUE(r.ok()) << r.describe();
  auto stats = (*srv)->stats();
  ASSERT_TRUE(stats.ok()) << stats.message();
  EXPECT_EQ(stats->get("core:rcv_requests"), 100u);
  EXPECT_EQ(stats->get("sl:sent_replies"), 100u);
}

TEST(ExternalClients, SippOverTlsThroughStunnel) {
  auto srv = SipsdServer::start({});
  ASSERT_TRUE(srv.ok()) << srv.message();
  uint16_t plain = free_tcp_port();
  std::string conf = (*srv)->dir() + "/stunnel.conf";
  {
    std::ofstream out(conf);
    out << "foreground = yes\n"
        << "pid =\n"
        << "debug = 5\n"
        << "[sip]\n"
        << "client = yes\n"
        << "accept = 127.0.0.1:" << plain << "\n"
        << "connect = 127.0.0.1:" << (*srv)->tls_port() << "\n"
        << "CAfile = " << test_certs_dir() << "/ca.pem\n"
        << "verifyChain = yes\n"
        << "checkIP = 127.0.0.1\n";
  }
  auto stunnel = Child::start({"stunnel4", conf});
  ASSERT_TRUE(stunnel.ok()) << stunnel.message();
  ASSERT_TRUE(stunnel->wait_for_line("Configuration successful", 10s)) << stunnel->describe();

  RunResult r = run_sipp(plain, 100, (*srv)->dir());
  EXPECT_TRUE(r.ok()) << r.describe() << "\n" << stunnel->describe();
  auto stats = (*srv)->stats();
  ASSERT_TRUE(stats.ok()) << stats.message();
  EXPECT_EQ(stats->get("core:rcv_requests"), 100u);
  EXPECT_GE(stats->get("tls:handshakes_ok"), 1u);  // it really came over TLS
  stunnel->stop();
}

}  // namespace
}  // namespace sipsd::test
