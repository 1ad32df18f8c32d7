// UDP listeners against the real sipsd: udp_workers processes read a listener's socket group,
// replies go back to the source (RFC 3581 rport/received), garbage and keep-alives are ignored,
// every source gets answered whichever worker reads it, and a killed UDP worker is replaced.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <set>
#include <thread>
#include <vector>

#include "tests/integration/sip_test_client.h"
#include "tests/integration/sipsd_server.h"
#include "tests/integration/udp_test_peer.h"

namespace sipsd::test {
namespace {

using namespace std::chrono_literals;

Result<std::unique_ptr<SipsdServer>> start_udp(int udp_workers) {
  SipsdOptions o;
  o.tls = false;
  o.udp = true;
  o.udp_workers = udp_workers;
  return SipsdServer::start(o);
}

SipRequest udp_options(const UdpPeer& p, uint16_t server_port) {
  SipRequestSpec spec;
  spec.request_uri = "sip:127.0.0.1:" + std::to_string(server_port);
  return build_sip_request(spec, p.hop("127.0.0.1", server_port));
}

TEST(UdpTransport, OptionsIsAnsweredToTheSourceWithRportAndReceived) {
  auto srv = start_udp(2);
  ASSERT_TRUE(srv.ok()) << srv.message();
  auto peer = UdpPeer::bind();
  ASSERT_TRUE(peer.ok()) << peer.message();
  SipRequest req = udp_options(**peer, (*srv)->udp_port());
  ASSERT_TRUE((*peer)->send_to("127.0.0.1", (*srv)->udp_port(), req.text).ok());
  UdpPeer::Datagram from;
  auto reply = (*peer)->recv_message(3s, &from);
  ASSERT_TRUE(reply.ok()) << reply.message() << "\n" << (*srv)->log();
  EXPECT_EQ(reply->status(), 200);
  EXPECT_EQ(from.from_port, (*srv)->udp_port());  // from the listener's own address
  auto via = reply->header("Via");
  ASSERT_TRUE(via.has_value());
  EXPECT_EQ(header_param(*via, "branch"), req.branch);
  EXPECT_EQ(header_param(*via, "rport"), std::to_string((*peer)->local_port()));
  EXPECT_EQ(header_param(*via, "received"), "127.0.0.1");
  EXPECT_EQ(reply->header("Call-ID"), req.call_id);
}

TEST(UdpTransport, GarbageAndKeepAlivesAreIgnoredAndTheNextRequestIsAnswered) {
  auto srv = start_udp(1);
  ASSERT_TRUE(srv.ok()) << srv.message();
  auto peer = UdpPeer::bind();
  ASSERT_TRUE(peer.ok()) << peer.message();
  const uint16_t port = (*srv)->udp_port();
  ASSERT_TRUE((*peer)->send_to("127.0.0.1", port, "\r\n\r\n").ok());
  ASSERT_TRUE((*peer)->send_to("127.0.0.1", port, std::string(3000, '\x01')).ok());
  ASSERT_TRUE((*peer)->send_to("127.0.0.1", port, "NOT SIP AT ALL, JUST TEXT\r\n\r\n").ok());
  EXPECT_TRUE((*peer)->expect_nothing(300ms));
  // A request without Content-Length is fine over UDP (RFC 3261 §18.3 asks for it on streams).
  SipRequest req = udp_options(**peer, port);
  ASSERT_TRUE((*peer)->send_to("127.0.0.1", port, req.text).ok());
  auto reply = (*peer)->recv_message(3s);
  ASSERT_TRUE(reply.ok()) << reply.message() << "\n" << (*srv)->log();
  EXPECT_EQ(reply->status(), 200);
  Json groups = Json::array();
  groups.push("udp:");
  Json params = Json::array();
  params.push(std::move(groups));
  auto stats = (*srv)->mi_result("get_statistics", params);
  ASSERT_TRUE(stats.ok()) << stats.message();
  const Json* rcv = stats->find("udp:rcv_datagrams");
  ASSERT_NE(rcv, nullptr) << stats->dump();
  EXPECT_GE(rcv->as_int(), 3);  // the keep-alive is below the size a message needs
}

TEST(UdpTransport, ManySourcesAreAllAnsweredAcrossTheWorkerGroup) {
  auto srv = start_udp(3);
  ASSERT_TRUE(srv.ok()) << srv.message();
  std::vector<std::unique_ptr<UdpPeer>> peers;
  for (int i = 0; i < 30; ++i) {
    auto p = UdpPeer::bind();
    ASSERT_TRUE(p.ok()) << p.message();
    peers.push_back(std::move(p).value());
  }
  std::vector<SipRequest> reqs;
  for (auto& p : peers) {
    reqs.push_back(udp_options(*p, (*srv)->udp_port()));
    ASSERT_TRUE(p->send_to("127.0.0.1", (*srv)->udp_port(), reqs.back().text).ok());
  }
  for (size_t i = 0; i < peers.size(); ++i) {
    auto reply = peers[i]->recv_message(3s);
    ASSERT_TRUE(reply.ok()) << "peer " << i << ": " << reply.message();
    EXPECT_EQ(reply->header("Call-ID"), reqs[i].call_id);
  }
  // ps: three UDP receivers serving the udp listener, TCP receivers the tcp one.
  auto ps = (*srv)->mi_result("ps");
  ASSERT_TRUE(ps.ok()) << ps.message();
  int udp_receivers = 0;
  for (const Json& p : ps->find("Processes")->items()) {
    if (p.find("Type")->as_string() != "UDP receiver") continue;
    ++udp_receivers;
    ASSERT_EQ(p.find("Listeners")->items().size(), 1u) << ps->dump();
    EXPECT_EQ(p.find("Listeners")->items()[0].as_string().rfind("udp:127.0.0.1:", 0), 0u);
  }
  EXPECT_EQ(udp_receivers, 3) << ps->dump();
}

TEST(UdpTransport, AKilledUdpWorkerIsReplacedAndTheListenerKeepsAnswering) {
  auto srv = start_udp(1);
  ASSERT_TRUE(srv.ok()) << srv.message();
  auto ps = (*srv)->mi_result("ps");
  ASSERT_TRUE(ps.ok()) << ps.message();
  int victim = 0;
  for (const Json& p : ps->find("Processes")->items())
    if (p.find("Type")->as_string() == "UDP receiver")
      victim = static_cast<int>(p.find("PID")->as_int());
  ASSERT_GT(victim, 0) << ps->dump();
  ASSERT_EQ(kill(victim, SIGKILL), 0);
  ASSERT_TRUE((*srv)->wait_for_log("killed by signal 9", 5s)) << (*srv)->log();
  // Its replacement shows up in ps under a new pid.
  int successor = 0;
  for (int attempt = 0; attempt < 50 && successor == 0; ++attempt) {
    auto now = (*srv)->mi_result("ps");
    ASSERT_TRUE(now.ok()) << now.message();
    for (const Json& p : now->find("Processes")->items())
      if (p.find("Type")->as_string() == "UDP receiver" && p.find("PID")->as_int() != victim)
        successor = static_cast<int>(p.find("PID")->as_int());
    if (successor == 0) std::this_thread::sleep_for(100ms);
  }
  ASSERT_GT(successor, 0) << (*srv)->log();
  auto peer = UdpPeer::bind();
  ASSERT_TRUE(peer.ok()) << peer.message();
  // The only reader of the group is the new process: an answer proves it reads the socket.
  std::optional<int> status;
  for (int attempt = 0; attempt < 20 && !status; ++attempt) {
    SipRequest req = udp_options(**peer, (*srv)->udp_port());
    ASSERT_TRUE((*peer)->send_to("127.0.0.1", (*srv)->udp_port(), req.text).ok());
    auto reply = (*peer)->recv_message(250ms);
    if (reply.ok()) status = reply->status();
  }
  ASSERT_TRUE(status.has_value()) << (*srv)->log();
  EXPECT_EQ(*status, 200);
}

}  // namespace
}  // namespace sipsd::test
