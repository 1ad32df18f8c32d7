// sipsd as a stateful, record-routing proxy between SIP endpoints none of us wrote: a sipp
// caller and a sipp callee (Debian's sip-tester) run the scenarios in tests/integration/sipp/
// through the real binary over UDP, TCP, and TLS (sipp has no TLS in Debian: stunnel4 carries
// it, a client tunnel in front of the caller and a server tunnel in front of the callee, so
// that sipsd opens the outbound TLS connection itself), and from UDP to TLS (double
// Record-Route). Every call must complete on both sides, sipp's own statistics must say so,
// and sipsd must be left with no transaction and no connection.
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "tests/integration/sip_test_client.h"
#include "tests/integration/sipp_runner.h"
#include "tests/integration/sipsd_server.h"
#include "tests/integration/subprocess.h"
#include "tests/integration/test_env.h"

namespace sipsd::test {
namespace {

using namespace std::chrono_literals;

constexpr int kCalls = 5;

// The record-routing proxy an OpenSIPS admin writes (proxy reference §10, common-routes.cfg,
// without registrar and auth): the Request-URI is the next hop.
constexpr const char* kProxyRoute = R"cfg(
route {
  if (!mf_process_maxfwd_header(10)) { sl_send_reply(483, "Too Many Hops"); exit; }
  if (has_totag()) {
    if (is_method("ACK") && t_check_trans()) { t_relay(); exit; }
    if (!loose_route()) {
      if (!is_method("ACK")) sl_send_reply(404, "Not here");
      exit;
    }
    route(relay);
  }
  if (is_method("CANCEL")) { if (t_check_trans()) t_relay(); exit; }
  t_check_trans();
  record_route();
  route(relay);
}

route[relay] {
  if (!t_relay()) sl_reply_error();
  exit;
}
)cfg";

// UDP, TCP and TLS listeners; a tls_mgm client domain that verifies the callee's tunnel
// against the test CA (OpenSIPS: the peer_out domain of §10, without a client certificate).
SipsdOptions proxy_options() {
  SipsdOptions o;
  o.udp = true;
  o.udp_workers = 2;
  const std::string ca = test_cert("ca.pem");
  o.modparams = {"loadmodule \"tm.so\"",
                 "loadmodule \"rr.so\"",
                 "loadmodule \"maxfwd.so\"",
                 "modparam(\"tm\", \"fr_timeout\", 3)",
                 "modparam(\"tm\", \"fr_inv_timeout\", 5)",
                 "modparam(\"tm\", \"wt_timer\", 1)",
                 "modparam(\"tls_mgm\", \"client_domain\", \"callees\")",
                 "modparam(\"tls_mgm\", \"match_ip_address\", \"[callees]*\")",
                 "modparam(\"tls_mgm\", \"match_sip_domain\", \"[callees]*\")",
                 "modparam(\"tls_mgm\", \"ca_list\", \"[callees]" + ca + "\")",
                 "modparam(\"tls_mgm\", \"verify_cert\", \"[callees]1\")",
                 "modparam(\"tls_mgm\", \"require_cert\", \"[callees]0\")"};
  o.route = kProxyRoute;
  return o;
}

// sipsd is left with nothing: every transaction ended (wt_timer after the last reply) and
// every connection closed (the peers closed theirs when sipp and stunnel were done).
void expect_drained(SipsdServer& srv) {
  auto s = srv.stats_until(
      [](const ServerStats& st) {
        return st.get("tm:inuse_transactions") == 0 && st.get("tcp:conns_open") == 0 &&
               st.get("tls:conns_open") == 0;
      },
      8s);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(s->get("tm:inuse_transactions"), 0u) << srv.log();
  EXPECT_EQ(s->get("tcp:conns_open"), 0u);
  EXPECT_EQ(s->get("tls:conns_open"), 0u);
  // Each call: an INVITE and a BYE transaction, both answered 2xx.
  EXPECT_EQ(s->get("tm:2xx_transactions"), static_cast<uint64_t>(2 * kCalls));
}

// The callee's trace: one ACK received per call (the proxy's own, for a negative reply), and
// nothing unexpected: sipp aborts a call on an unexpected message (a second ACK) but still
// exits 0, so its error file is read too.
void expect_one_ack_per_call(const Sipp& uas) {
  EXPECT_EQ(count_request_lines(uas.messages(), "ACK"), static_cast<size_t>(kCalls))
      << read_file(uas.messages());
  EXPECT_EQ(uas.errors().find("unexpected message"), std::string::npos) << uas.errors();
}

// --- the tests -------------------------------------------------------------------------------

TEST(ProxyInterop, SippCallOverUdp) {
  auto srv = SipsdServer::start(proxy_options());
  ASSERT_TRUE(srv.ok()) << srv.message();
  TempDir dir("sipsd-interop");
  Sipp uas = Sipp::make(dir, "uas", "call_uas.xml", "u1", kCalls);
  uas.keys["contact"] = "127.0.0.1:" + std::to_string(uas.port) + ";transport=udp";
  Sipp uac = Sipp::make(dir, "uac", "call_uac.xml", "u1", kCalls);
  uac.keys["callee"] = "sip:bob@127.0.0.1:" + std::to_string(uas.port);

  auto uas_child = uas.start_uas();
  ASSERT_TRUE(uas_child.ok()) << uas_child.message();
  RunResult r = uac.run_to_end("127.0.0.1:" + std::to_string((*srv)->udp_port()));
  expect_all_calls_completed(uac, r, uas, *uas_child, **srv);
  expect_drained(**srv);
}

TEST(ProxyInterop, SippCallOverTcp) {
  auto srv = SipsdServer::start(proxy_options());
  ASSERT_TRUE(srv.ok()) << srv.message();
  TempDir dir("sipsd-interop");
  Sipp uas = Sipp::make(dir, "uas", "call_uas.xml", "t1", kCalls);
  uas.keys["contact"] = "127.0.0.1:" + std::to_string(uas.port) + ";transport=tcp";
  Sipp uac = Sipp::make(dir, "uac", "call_uac.xml", "t1", kCalls);
  uac.keys["callee"] = "sip:bob@127.0.0.1:" + std::to_string(uas.port) + ";transport=tcp";

  auto uas_child = uas.start_uas();
  ASSERT_TRUE(uas_child.ok()) << uas_child.message();
  RunResult r = uac.run_to_end("127.0.0.1:" + std::to_string((*srv)->tcp_port()));
  expect_all_calls_completed(uac, r, uas, *uas_child, **srv);
  expect_drained(**srv);
}

// TLS on both of sipsd's sides: the caller's tunnel connects to sipsd's TLS listener; sipsd
// connects to the callee's tunnel (a new outbound TLS connection, verified against the test
// CA by the "callees" client domain) and in-dialog requests reuse it, since the callee's
// Contact names the tunnel.
TEST(ProxyInterop, SippCallOverTlsThroughStunnel) {
  auto srv = SipsdServer::start(proxy_options());
  ASSERT_TRUE(srv.ok()) << srv.message();
  TempDir dir("sipsd-interop");
  const uint16_t uas_tls = free_tcp_port();
  Sipp uas = Sipp::make(dir, "uas", "call_uas.xml", "t1", kCalls);
  uas.keys["contact"] = "127.0.0.1:" + std::to_string(uas_tls) + ";transport=tls";
  const uint16_t uac_plain = free_tcp_port();
  Sipp uac = Sipp::make(dir, "uac", "call_uac.xml", "t1", kCalls);
  uac.keys["callee"] = "sip:bob@127.0.0.1:" + std::to_string(uas_tls) + ";transport=tls";

  auto uas_child = uas.start_uas();
  ASSERT_TRUE(uas_child.ok()) << uas_child.message();
  auto to_uas = start_stunnel(dir.path(), "uas_tunnel", false, uas_tls, uas.port);
  ASSERT_TRUE(to_uas.ok()) << to_uas.message();
  auto from_uac = start_stunnel(dir.path(), "uac_tunnel", true, uac_plain, (*srv)->tls_port());
  ASSERT_TRUE(from_uac.ok()) << from_uac.message();

  RunResult r = uac.run_to_end("127.0.0.1:" + std::to_string(uac_plain));
  expect_all_calls_completed(uac, r, uas, *uas_child, **srv);
  // Two TLS connections for all the calls: the caller's tunnel's, and the one sipsd opened to
  // the callee's tunnel, which every later request reuses (from whichever worker sends it).
  auto s = (*srv)->stats();
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(s->get("tls:conns_handled"), 2u) << (*srv)->log();
  EXPECT_EQ(s->get("tls:handshakes_ok"), 2u);
  EXPECT_EQ(s->get("tcp:conns_handled"), 0u);
  expect_drained(**srv);
}

// UDP in, TLS out: the proxy record-routes twice (RFC 3261 16.6 with OpenSIPS's r2=on, proxy
// reference §3), and the caller's ACK and BYE switch from UDP to TLS on loose_route's socket.
TEST(ProxyInterop, SippCallUdpToTlsRecordRoutesTwice) {
  auto srv = SipsdServer::start(proxy_options());
  ASSERT_TRUE(srv.ok()) << srv.message();
  TempDir dir("sipsd-interop");
  const uint16_t uas_tls = free_tcp_port();
  Sipp uas = Sipp::make(dir, "uas", "call_uas.xml", "t1", kCalls);
  uas.keys["contact"] = "127.0.0.1:" + std::to_string(uas_tls) + ";transport=tls";
  Sipp uac = Sipp::make(dir, "uac", "call_uac.xml", "u1", kCalls);
  uac.keys["callee"] = "sip:bob@127.0.0.1:" + std::to_string(uas_tls) + ";transport=tls";

  auto uas_child = uas.start_uas();
  ASSERT_TRUE(uas_child.ok()) << uas_child.message();
  auto to_uas = start_stunnel(dir.path(), "uas_tunnel", false, uas_tls, uas.port);
  ASSERT_TRUE(to_uas.ok()) << to_uas.message();

  RunResult r = uac.run_to_end("127.0.0.1:" + std::to_string((*srv)->udp_port()));
  expect_all_calls_completed(uac, r, uas, *uas_child, **srv);

  // One TLS connection to the callee for every call: reused by the UDP workers that relay
  // the later INVITEs, ACKs and BYEs, whichever of them opened it.
  auto stats = (*srv)->stats();
  ASSERT_TRUE(stats.ok()) << stats.message();
  EXPECT_EQ(stats->get("tls:conns_handled"), 1u) << (*srv)->log();

  // What the callee saw: two Record-Routes, TLS socket first, both r2=on.
  const std::string trace = read_file(uas.messages());
  const std::string port = std::to_string((*srv)->tls_port());
  EXPECT_NE(trace.find("Record-Route: <sip:127.0.0.1:" + port + ";transport=tls;r2=on;lr;ftag="),
            std::string::npos)
      << trace.substr(0, 3000);
  EXPECT_NE(trace.find("Record-Route: <sip:127.0.0.1:" + std::to_string((*srv)->udp_port()) +
                       ";r2=on;lr;ftag="),
            std::string::npos);
  expect_drained(**srv);
}

// A busy callee: sipsd ACKs the 486 itself (hop by hop) and absorbs the caller's ACK, so the
// callee sees exactly one ACK per call; the caller gets its 486 and is not sent it again.
TEST(ProxyInterop, SippBusyCalleeGetsOneAckFromTheProxy) {
  auto srv = SipsdServer::start(proxy_options());
  ASSERT_TRUE(srv.ok()) << srv.message();
  TempDir dir("sipsd-interop");
  Sipp uas = Sipp::make(dir, "uas", "busy_uas.xml", "u1", kCalls);
  Sipp uac = Sipp::make(dir, "uac", "busy_uac.xml", "u1", kCalls);
  uac.keys["callee"] = "sip:bob@127.0.0.1:" + std::to_string(uas.port);

  auto uas_child = uas.start_uas();
  ASSERT_TRUE(uas_child.ok()) << uas_child.message();
  RunResult r = uac.run_to_end("127.0.0.1:" + std::to_string((*srv)->udp_port()));
  ASSERT_NO_FATAL_FAILURE(expect_all_calls_completed(uac, r, uas, *uas_child, **srv));
  expect_one_ack_per_call(uas);
  // The caller's trace: the 486 came once per call (no retransmission after its ACK).
  const std::string uac_trace = read_file(uac.messages());
  size_t n486 = 0;
  for (size_t p = uac_trace.find("SIP/2.0 486"); p != std::string::npos;
       p = uac_trace.find("SIP/2.0 486", p + 1))
    ++n486;
  EXPECT_EQ(n486, static_cast<size_t>(kCalls)) << uac_trace;

  auto drained = (*srv)->stats_until(
      [](const ServerStats& now) { return now.get("tm:inuse_transactions") == 0; }, 8s);
  ASSERT_TRUE(drained.ok()) << drained.message();
  EXPECT_EQ(drained->get("tm:inuse_transactions"), 0u) << (*srv)->log();
  EXPECT_EQ(drained->get("tm:4xx_transactions"), static_cast<uint64_t>(kCalls));
  EXPECT_EQ(drained->get("tm:retransmission_rpl_T2"), 0u);
}

// The caller gives up while it rings: sipsd answers the CANCEL (200), CANCELs the branch with
// the INVITE's branch id, relays the callee's 487, ACKs that 487 itself and absorbs the
// caller's ACK.
TEST(ProxyInterop, SippCallerCancelsWhileRinging) {
  auto srv = SipsdServer::start(proxy_options());
  ASSERT_TRUE(srv.ok()) << srv.message();
  TempDir dir("sipsd-interop");
  Sipp uas = Sipp::make(dir, "uas", "cancel_uas.xml", "u1", kCalls);
  Sipp uac = Sipp::make(dir, "uac", "cancel_uac.xml", "u1", kCalls);
  uac.keys["callee"] = "sip:bob@127.0.0.1:" + std::to_string(uas.port);

  auto uas_child = uas.start_uas();
  ASSERT_TRUE(uas_child.ok()) << uas_child.message();
  RunResult r = uac.run_to_end("127.0.0.1:" + std::to_string((*srv)->udp_port()));
  ASSERT_NO_FATAL_FAILURE(expect_all_calls_completed(uac, r, uas, *uas_child, **srv));
  expect_one_ack_per_call(uas);
  // The proxy's CANCEL is hop by hop (RFC 3261 9.1, 16.10): one Via, the top Via of the INVITE
  // it sent (same branch), the INVITE's Request-URI and CSeq number.
  std::map<std::string, SipMessage> invites;
  size_t cancels = 0;
  for (const SipMessage& m : received_messages(uas.messages())) {
    const std::string call = m.header("Call-ID").value_or("");
    if (m.method() == "INVITE") invites.emplace(call, m);
    if (m.method() != "CANCEL") continue;
    ++cancels;
    auto inv = invites.find(call);
    ASSERT_NE(inv, invites.end()) << "a CANCEL before its INVITE: " << m.text();
    ASSERT_EQ(m.vias().size(), 1u) << m.text();
    EXPECT_EQ(m.vias()[0], inv->second.vias().at(0)) << m.text();
    EXPECT_EQ(m.uri(), inv->second.uri());
    EXPECT_EQ(m.header("CSeq"), "1 CANCEL");
  }
  EXPECT_EQ(cancels, static_cast<size_t>(kCalls)) << read_file(uas.messages());

  auto drained = (*srv)->stats_until(
      [](const ServerStats& now) { return now.get("tm:inuse_transactions") == 0; }, 8s);
  ASSERT_TRUE(drained.ok()) << drained.message();
  EXPECT_EQ(drained->get("tm:inuse_transactions"), 0u) << (*srv)->log();
  EXPECT_EQ(drained->get("tm:4xx_transactions"), static_cast<uint64_t>(kCalls));
}

// A callee whose 180 comes 2 s after the INVITE and that then rings unanswered: sipsd CANCELs
// it when fr_inv_timeout (2 s after the 180) expires, with OpenSIPS's Reason, and answers the
// caller 408. The transaction has to live that long although it began more than
// fr_inv_timeout + wt_timer earlier.
TEST(ProxyInterop, SippCalleeRingsLateAndNeverAnswers) {
  SipsdOptions o = proxy_options();
  for (std::string& m : o.modparams) {
    if (m.find("\"fr_timeout\"") != std::string::npos) m = "modparam(\"tm\", \"fr_timeout\", 3)";
    if (m.find("\"fr_inv_timeout\"") != std::string::npos)
      m = "modparam(\"tm\", \"fr_inv_timeout\", 2)";
  }
  auto srv = SipsdServer::start(o);
  ASSERT_TRUE(srv.ok()) << srv.message();
  TempDir dir("sipsd-interop");
  Sipp uas = Sipp::make(dir, "uas", "cancel_uas.xml", "u1", kCalls);
  uas.extra = {"-d", "2000"};  // the pause before the 180
  Sipp uac = Sipp::make(dir, "uac", "noanswer_uac.xml", "u1", kCalls);
  uac.keys["callee"] = "sip:bob@127.0.0.1:" + std::to_string(uas.port);

  auto uas_child = uas.start_uas();
  ASSERT_TRUE(uas_child.ok()) << uas_child.message();
  RunResult r = uac.run_to_end("127.0.0.1:" + std::to_string((*srv)->udp_port()));
  ASSERT_NO_FATAL_FAILURE(expect_all_calls_completed(uac, r, uas, *uas_child, **srv));
  expect_one_ack_per_call(uas);
  size_t cancels = 0;
  for (const SipMessage& m : received_messages(uas.messages())) {
    if (m.method() != "CANCEL") continue;
    ++cancels;
    EXPECT_EQ(m.header("Reason"), "SIP;cause=480;text=\"NO_ANSWER\"") << m.text();
  }
  EXPECT_EQ(cancels, static_cast<size_t>(kCalls));

  auto drained = (*srv)->stats_until(
      [](const ServerStats& now) { return now.get("tm:inuse_transactions") == 0; }, 8s);
  ASSERT_TRUE(drained.ok()) << drained.message();
  EXPECT_EQ(drained->get("tm:inuse_transactions"), 0u) << (*srv)->log();
  EXPECT_EQ(drained->get("tm:timeout_finalresponse_inv"), static_cast<uint64_t>(kCalls));
}

}  // namespace
}  // namespace sipsd::test
