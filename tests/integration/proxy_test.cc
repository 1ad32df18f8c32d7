// sipsd as a stateful proxy against the real binary: calls relayed between test endpoints over
// UDP, TCP and TLS (INVITE/100/180/200/ACK/BYE with record-routing), CANCEL, negative replies
// and their ACK, timeouts with serial forking in a failure_route, Max-Forwards, and the
// transaction counters returning to zero.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>

#include "tests/integration/sip_dialog.h"
#include "tests/integration/sip_test_client.h"
#include "tests/integration/sipsd_server.h"
#include "tests/integration/udp_test_peer.h"

namespace sipsd::test {
namespace {

using namespace std::chrono_literals;

// The cfg an OpenSIPS admin writes for a record-routing proxy (proxy reference §2, §3).
constexpr const char* kProxyRoute = R"cfg(
route {
  if (!mf_process_maxfwd_header(10)) { sl_send_reply(483, "Too Many Hops"); exit; }
  if (has_totag()) {
    if (loose_route()) { t_relay(); exit; }
    if (is_method("ACK")) { if (t_check_trans()) t_relay(); exit; }
    sl_send_reply(404, "Not here"); exit;
  }
  if (is_method("CANCEL")) { if (t_check_trans()) t_relay(); exit; }
  t_check_trans();
  if (is_method("OPTIONS") && is_myself("$rd")) { sl_send_reply(200, "OK"); exit; }
  record_route();
  if ($hdr(X-Next) != NULL) { $du = $hdr(X-Next); t_on_failure("next"); }
  if (!t_relay()) sl_reply_error();
}

failure_route[next] {
  if (t_was_cancelled()) exit;
  if (t_check_status("408|5[0-9][0-9]") && $hdr(X-Second) != NULL) {
    $du = $hdr(X-Second);
    t_relay();
  }
}
)cfg";

SipsdOptions proxy_options() {
  SipsdOptions o;
  o.udp = true;
  o.udp_workers = 2;
  o.modparams = {"loadmodule \"tm.so\"",
                 "loadmodule \"rr.so\"",
                 "loadmodule \"maxfwd.so\"",
                 "modparam(\"tm\", \"fr_timeout\", 2)",
                 "modparam(\"tm\", \"fr_inv_timeout\", 3)",
                 "modparam(\"tm\", \"wt_timer\", 1)"};
  o.route = kProxyRoute;
  return o;
}

std::string sdp() {
  return "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
         "m=audio 4000 RTP/AVP 0\r\n";
}

// Receives until a message that is not a 100 Trying (the proxy's own).
Result<SipMessage> recv_skipping_trying(UdpPeer& p, std::chrono::milliseconds t,
                                        UdpPeer::Datagram* from = nullptr) {
  for (int i = 0; i < 5; ++i) {
    Result<SipMessage> m = p.recv_message(t, from);
    if (!m.ok() || m->status() != 100) return m;
  }
  return make_error("only 100s");
}

int64_t stat(SipsdServer& srv, const std::string& name) {
  Json groups = Json::array();
  groups.push(name);
  Json params = Json::array();
  params.push(std::move(groups));
  auto r = srv.mi_result("get_statistics", params);
  if (!r.ok()) return -1;
  const Json* v = r->find(name);
  return v && v->is_int() ? v->as_int() : -1;
}

bool eventually_zero(SipsdServer& srv, const std::string& name, std::chrono::seconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (stat(srv, name) == 0) return true;
    std::this_thread::sleep_for(100ms);
  }
  return false;
}

TEST(Proxy, UdpCallInviteRingingOkAckBye) {
  auto srv = SipsdServer::start(proxy_options());
  ASSERT_TRUE(srv.ok()) << srv.message();
  auto uac = UdpPeer::bind();
  auto uas = UdpPeer::bind();
  ASSERT_TRUE(uac.ok() && uas.ok());
  const uint16_t port = (*srv)->udp_port();

  SipRequestSpec spec;
  spec.method = "INVITE";
  spec.request_uri = "sip:bob@127.0.0.1:" + std::to_string((*uas)->local_port());
  spec.from_uri = "sip:alice@a.example";
  spec.body = sdp();
  SipRequest invite = build_sip_request(spec, (*uac)->hop("127.0.0.1", port));
  ASSERT_TRUE((*uac)->send_to("127.0.0.1", port, invite.text).ok());

  // 100 Trying from the proxy.
  auto trying = (*uac)->recv_message(3s);
  ASSERT_TRUE(trying.ok()) << trying.message() << "\n" << (*srv)->log();
  EXPECT_EQ(trying->status(), 100);
  EXPECT_EQ(trying->reason(), "Giving it a try");

  // The UAS gets it with the proxy's Via on top, a Record-Route and Max-Forwards 69.
  UdpPeer::Datagram from_proxy;
  auto in = (*uas)->recv_message(3s, &from_proxy);
  ASSERT_TRUE(in.ok()) << in.message() << "\n" << (*srv)->log();
  EXPECT_EQ(in->method(), "INVITE");
  EXPECT_EQ(in->uri(), spec.request_uri);
  EXPECT_EQ(from_proxy.from_port, port);
  std::vector<std::string> vias = in->vias();
  ASSERT_EQ(vias.size(), 2u) << in->text();
  EXPECT_EQ(
      vias[0].rfind("SIP/2.0/UDP 127.0.0.1:" + std::to_string(port) + ";branch=z9hG4bK-sd", 0), 0u)
      << vias[0];
  EXPECT_NE(vias[1].find("received=127.0.0.1"), std::string::npos) << vias[1];
  EXPECT_NE(vias[1].find("rport=" + std::to_string((*uac)->local_port())), std::string::npos);
  EXPECT_EQ(in->header("Max-Forwards"), "69");
  auto rr = in->header("Record-Route");
  ASSERT_TRUE(rr.has_value()) << in->text();
  EXPECT_EQ(*rr, "<sip:127.0.0.1:" + std::to_string(port) + ";lr;ftag=" + invite.from_tag + ">");
  EXPECT_EQ(in->body(), sdp());

  // 180 then 200 go upstream without the proxy's Via.
  const std::string contact = "sip:bob@127.0.0.1:" + std::to_string((*uas)->local_port());
  ReplySpec ringing = reply_spec(180, "b0b");
  ASSERT_TRUE((*uas)->send_to("127.0.0.1", port, build_reply(*in, ringing)).ok());
  auto r180 = (*uac)->recv_message(3s);
  ASSERT_TRUE(r180.ok()) << r180.message() << "\n" << (*srv)->log();
  EXPECT_EQ(r180->status(), 180);
  EXPECT_EQ(r180->vias().size(), 1u);
  ReplySpec ok = reply_spec(200, "b0b", contact, sdp());
  ASSERT_TRUE((*uas)->send_to("127.0.0.1", port, build_reply(*in, ok)).ok());
  auto r200 = (*uac)->recv_message(3s);
  ASSERT_TRUE(r200.ok()) << r200.message() << "\n" << (*srv)->log();
  EXPECT_EQ(r200->status(), 200);
  EXPECT_EQ(r200->vias().size(), 1u);
  EXPECT_EQ(r200->header("Record-Route"), rr);

  // ACK and BYE follow the route set through the proxy.
  Dialog d = Dialog::from_2xx(invite, spec, *r200);
  ASSERT_EQ(d.route_set.size(), 1u);
  SipRequest ack = d.request("ACK", (*uac)->hop("127.0.0.1", port), invite.cseq);
  ASSERT_TRUE((*uac)->send_to("127.0.0.1", port, ack.text).ok());
  auto ack_in = (*uas)->recv_message(3s);
  ASSERT_TRUE(ack_in.ok()) << ack_in.message() << "\n" << (*srv)->log();
  EXPECT_EQ(ack_in->method(), "ACK");
  EXPECT_EQ(ack_in->uri(), contact);
  EXPECT_FALSE(ack_in->header("Route").has_value()) << ack_in->text();

  SipRequest bye = d.request("BYE", (*uac)->hop("127.0.0.1", port), invite.cseq + 1);
  ASSERT_TRUE((*uac)->send_to("127.0.0.1", port, bye.text).ok());
  auto bye_in = (*uas)->recv_message(3s);
  ASSERT_TRUE(bye_in.ok()) << bye_in.message() << "\n" << (*srv)->log();
  EXPECT_EQ(bye_in->method(), "BYE");
  ASSERT_TRUE((*uas)->send_to("127.0.0.1", port, build_reply(*bye_in, reply_spec(200))).ok());
  auto bye_ok = (*uac)->recv_message(3s);
  ASSERT_TRUE(bye_ok.ok()) << bye_ok.message() << "\n" << (*srv)->log();
  EXPECT_EQ(bye_ok->status(), 200);
  EXPECT_EQ(bye_ok->header("CSeq"), std::to_string(invite.cseq + 1) + " BYE");

  EXPECT_TRUE(eventually_zero(**srv, "tm:inuse_transactions", 5s)) << (*srv)->log();
  EXPECT_GE(stat(**srv, "tm:UAS_transactions"), 2);
  EXPECT_EQ(stat(**srv, "tm:2xx_transactions"), 2);
}

}  // namespace
}  // namespace sipsd::test
