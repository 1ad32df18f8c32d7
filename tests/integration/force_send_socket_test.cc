// force_send_socket() against the real sipsd: a request forced out of a second listener leaves
// from it (its address is the datagram's source and the top Via) and is record-routed twice
// (;r2=on), as OpenSIPS does when the outbound listener differs from the inbound one; a socket
// that is not a listener makes the function fail with a log line and changes nothing; without
// it, UDP leaves from the listener the request came in on.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "tests/integration/proxy_fixture.h"
#include "tests/integration/sipsd_server.h"
#include "tests/integration/udp_test_peer.h"

namespace sipsd::test {
namespace {

using namespace std::chrono_literals;

// X-Out names the listener to send from; "none" when force_send_socket() refused it.
const char* const kRoute = R"cfg(
route {
  if (has_totag()) { if (loose_route()) t_relay(); exit; }
  record_route();
  if ($hdr(X-Out) != NULL) {
    if (!force_send_socket("udp:127.0.0.3")) append_hf("X-Forced: none\r\n");
  }
  if ($hdr(X-Out-Pv) != NULL) {
    if ($socket_out == NULL) append_hf("X-Unforced: yes\r\n");
    $socket_out = "udp:127.0.0.3";
    append_hf("X-Socket-Out: $socket_out $socket_out(proto) $socket_out(ip) $socket_out(port)\r\n");
  }
  if ($hdr(X-Bad) != NULL) {
    if (!force_send_socket("udp:127.0.0.9:5999")) append_hf("X-Forced: none\r\n");
  }
  t_relay();
}
)cfg";

struct Delivered {
  SipMessage msg;
  UdpPeer::Datagram from;
};

class ForceSendSocket : public ::testing::Test {
 protected:
  void SetUp() override {
    SipsdOptions o = proxy_options();
    o.udp_workers = 1;
    o.globals = {"socket=udp:127.0.0.3:0"};
    o.route = kRoute;
    auto srv = SipsdServer::start(o);
    ASSERT_TRUE(srv.ok()) << srv.message();
    srv_ = std::move(srv).value();
    auto uac = UdpPeer::bind();
    auto uas = UdpPeer::bind();
    ASSERT_TRUE(uac.ok() && uas.ok());
    uac_ = std::move(uac).value();
    uas_ = std::move(uas).value();
  }

  // An INVITE from the UAC through the proxy (with `header`), as the UAS got it; sent to the
  // proxy's listener at `ip`:`port` (0: its first UDP listener).
  Delivered invite_with(const std::string& header, const std::string& ip = "127.0.0.1",
                        uint16_t port = 0) {
    if (port == 0) port = srv_->udp_port();
    SipRequestSpec spec;
    spec.method = "INVITE";
    spec.request_uri = "sip:bob@127.0.0.1:" + std::to_string(uas_->local_port());
    spec.from_uri = "sip:alice@a.example";
    spec.extra_headers.push_back(header);
    spec.body = sdp();
    SipRequest invite = build_sip_request(spec, uac_->hop(ip, port));
    EXPECT_TRUE(uac_->send_to(ip, port, invite.text).ok());
    Delivered d;
    auto in = uas_->recv_message(3s, &d.from);
    EXPECT_TRUE(in.ok()) << in.message() << "\n" << srv_->log();
    if (in.ok()) d.msg = *in;
    return d;
  }

  std::unique_ptr<SipsdServer> srv_;
  std::unique_ptr<UdpPeer> uac_, uas_;
};

TEST_F(ForceSendSocket, LeavesFromTheForcedListenerAndRecordRoutesTwice) {
  Delivered d = invite_with("X-Out: yes");
  EXPECT_EQ(d.from.from_ip, "127.0.0.3");
  std::vector<std::string> vias = d.msg.vias();
  ASSERT_FALSE(vias.empty()) << d.msg.text();
  EXPECT_EQ(vias[0].rfind("SIP/2.0/UDP 127.0.0.3:" + std::to_string(d.from.from_port) + ";", 0), 0u)
      << vias[0];
  std::vector<std::string> rrs = d.msg.headers("Record-Route");
  ASSERT_EQ(rrs.size(), 2u) << d.msg.text();
  EXPECT_EQ(rrs[0].rfind("<sip:127.0.0.3:" + std::to_string(d.from.from_port) + ";r2=on;lr", 0), 0u)
      << rrs[0];
  EXPECT_EQ(rrs[1].rfind("<sip:127.0.0.1:" + std::to_string(srv_->udp_port()) + ";r2=on;lr", 0), 0u)
      << rrs[1];
  EXPECT_FALSE(d.msg.header("X-Forced").has_value()) << d.msg.text();
}

// $socket_out: NULL until something forces a socket; assigning a listener forces it, as
// force_send_socket() does, and reads back whole or by field.
TEST_F(ForceSendSocket, SocketOutReadsAndForcesTheSendingSocket) {
  Delivered d = invite_with("X-Out-Pv: yes");
  EXPECT_EQ(d.from.from_ip, "127.0.0.3");
  const std::string port = std::to_string(d.from.from_port);
  EXPECT_EQ(d.msg.header("X-Unforced"), "yes") << d.msg.text();
  EXPECT_EQ(d.msg.header("X-Socket-Out"), "udp:127.0.0.3:" + port + " udp 127.0.0.3 " + port)
      << d.msg.text();
  EXPECT_EQ(d.msg.headers("Record-Route").size(), 2u) << d.msg.text();
}

// Without force_send_socket(), a request relayed over UDP leaves from the UDP listener it came
// in on (as OpenSIPS's get_send_socket), and its Via names that listener.
TEST_F(ForceSendSocket, UdpLeavesFromTheInboundListenerByDefault) {
  const uint16_t second = invite_with("X-Out: yes").from.from_port;  // 127.0.0.3's port
  ASSERT_NE(second, 0);
  Delivered d = invite_with("X-None: yes", "127.0.0.3", second);
  EXPECT_EQ(d.from.from_ip, "127.0.0.3");
  EXPECT_EQ(d.from.from_port, second);
  std::vector<std::string> vias = d.msg.vias();
  ASSERT_FALSE(vias.empty()) << d.msg.text();
  EXPECT_EQ(vias[0].rfind("SIP/2.0/UDP 127.0.0.3:" + std::to_string(second) + ";", 0), 0u)
      << vias[0];
  // One Record-Route: in and out on the same listener.
  EXPECT_EQ(d.msg.headers("Record-Route").size(), 1u) << d.msg.text();
}

TEST_F(ForceSendSocket, ANonListenerFailsAndChangesNothing) {
  Delivered plain = invite_with("X-None: yes");
  Delivered d = invite_with("X-Bad: yes");
  EXPECT_EQ(d.msg.header("X-Forced"), "none") << d.msg.text();
  EXPECT_TRUE(
      srv_->wait_for_log("force_send_socket(\"udp:127.0.0.9:5999\"): no such listening socket"))
      << srv_->log();
  // It leaves as a request that never called force_send_socket() does.
  EXPECT_EQ(d.from.from_ip, plain.from.from_ip);
  EXPECT_EQ(d.from.from_port, plain.from.from_port);
  EXPECT_EQ(d.msg.headers("Record-Route").size(), plain.msg.headers("Record-Route").size());
}

}  // namespace
}  // namespace sipsd::test
