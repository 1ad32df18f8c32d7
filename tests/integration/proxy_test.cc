// sipsd as a stateful proxy against the real binary: calls relayed between test endpoints over
// UDP, TCP and TLS (INVITE/100/180/200/ACK/BYE with record-routing), CANCEL, negative replies
// and their ACK, timeouts with serial forking in a failure_route, Max-Forwards, and the
// transaction counters returning to zero.
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <thread>

#include "tests/integration/proxy_fixture.h"
#include "tests/integration/sip_dialog.h"
#include "tests/integration/sip_test_client.h"
#include "tests/integration/sipsd_server.h"
#include "tests/integration/test_endpoint.h"
#include "tests/integration/test_env.h"
#include "tests/integration/udp_test_peer.h"

namespace sipsd::test {
namespace {

using namespace std::chrono_literals;

// The ACK of a reply sipsd sent statelessly (here sl_send_reply(483) for Max-Forwards 0) ends
// at sipsd, as OpenSIPS's sl module filters it before the script: even with a Route to us that
// loose_route() would follow, nothing is relayed, and sl:received_ACKs counts it.
TEST(Proxy, TheAckOfAStatelessReplyIsAbsorbed) {
  auto srv = SipsdServer::start(proxy_options());
  ASSERT_TRUE(srv.ok()) << srv.message();
  auto uac = UdpPeer::bind();
  auto uas = UdpPeer::bind();
  ASSERT_TRUE(uac.ok() && uas.ok());
  SipRequestSpec spec;
  spec.method = "INVITE";
  spec.request_uri = "sip:bob@127.0.0.1:" + std::to_string((*uas)->local_port());
  spec.max_forwards = 0;
  SipRequest invite = build_sip_request(spec, (*uac)->hop("127.0.0.1", (*srv)->udp_port()));
  ASSERT_TRUE((*uac)->send_to("127.0.0.1", (*srv)->udp_port(), invite.text).ok());
  auto reply = (*uac)->recv_message(5s);
  ASSERT_TRUE(reply.ok()) << reply.message();
  ASSERT_EQ(reply->status(), 483);
  // The ACK (RFC 3261 17.1.1.3), with a Route naming the proxy.
  auto sent = SipMessage::parse(invite.text);
  ASSERT_TRUE(sent.ok());
  std::string ack = "ACK " + spec.request_uri + " SIP/2.0\r\nVia: " + sent->vias().at(0) +
                    "\r\nRoute: <sip:127.0.0.1:" + std::to_string((*srv)->udp_port()) +
                    ";lr>\r\nFrom: " + reply->header("From").value_or("") +
                    "\r\nTo: " + reply->header("To").value_or("") +
                    "\r\nCall-ID: " + invite.call_id + "\r\nCSeq: " + std::to_string(invite.cseq) +
                    " ACK\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n";
  ASSERT_TRUE((*uac)->send_to("127.0.0.1", (*srv)->udp_port(), ack).ok());
  EXPECT_TRUE((*uas)->expect_nothing(500ms));
  EXPECT_EQ(server_stat(**srv, "sl:received_ACKs"), 1) << (*srv)->log();
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
  EXPECT_GE(server_stat(**srv, "tm:UAS_transactions"), 2);
  EXPECT_EQ(server_stat(**srv, "tm:2xx_transactions"), 2);
}

// One whole call from `caller` to `callee` through the proxy: INVITE, 180, 200, ACK, BYE, 200.
// Returns the INVITE as the callee saw it (for checks on Record-Route and Via).
SipMessage call(TestEndpoint& caller, TestEndpoint& callee, const SipsdServer& srv) {
  SipRequestSpec spec;
  spec.method = "INVITE";
  spec.request_uri = callee.uri("bob");
  spec.from_uri = "sip:alice@a.example";
  spec.contact = caller.uri("alice");
  spec.body = sdp();
  SipRequest invite = build_sip_request(spec, caller.hop());
  EXPECT_TRUE(caller.send(invite.text).ok());
  auto in = callee.recv(3s);
  EXPECT_TRUE(in.ok()) << in.message() << "\n" << srv.log();
  if (!in.ok()) return SipMessage();
  EXPECT_EQ(in->method(), "INVITE");
  const std::string contact = callee.uri("bob");
  EXPECT_TRUE(callee.send(build_reply(*in, reply_spec(180, "b0b"))).ok());
  auto r180 = caller.recv_final_or_ringing(3s);
  EXPECT_TRUE(r180.ok()) << r180.message() << "\n" << srv.log();
  if (r180.ok()) {
    EXPECT_EQ(r180->status(), 180);
  }
  EXPECT_TRUE(callee.send(build_reply(*in, reply_spec(200, "b0b", contact, sdp()))).ok());
  auto r200 = caller.recv_final_or_ringing(3s);
  EXPECT_TRUE(r200.ok()) << r200.message() << "\n" << srv.log();
  if (!r200.ok()) return *in;
  EXPECT_EQ(r200->status(), 200);
  EXPECT_EQ(r200->vias().size(), 1u) << r200->text();
  Dialog d = Dialog::from_2xx(invite, spec, *r200);
  EXPECT_TRUE(caller.send(d.request("ACK", caller.hop(), invite.cseq).text).ok());
  auto ack = callee.recv(3s);
  EXPECT_TRUE(ack.ok()) << ack.message() << "\n" << srv.log();
  if (ack.ok()) {
    EXPECT_EQ(ack->method(), "ACK");
    EXPECT_EQ(ack->uri(), contact);
  }
  // The callee hangs up: its BYE follows its own route set (the Record-Route in order).
  SipRequest invite_as_seen;
  invite_as_seen.call_id = invite.call_id;
  invite_as_seen.from_tag = "b0b";
  invite_as_seen.cseq = 1;
  Dialog back;
  back.call_id = invite.call_id;
  back.local_uri = "sip:bob@b.example";
  back.local_tag = "b0b";
  back.remote_uri = spec.from_uri;
  back.remote_tag = invite.from_tag;
  back.remote_target = spec.contact;
  for (const std::string& h : in->headers("Record-Route"))
    for (const std::string& v : split_header_list(h)) back.route_set.push_back(v);
  EXPECT_TRUE(callee.send(back.request("BYE", callee.hop(), 1).text).ok());
  auto bye = caller.recv(3s);
  EXPECT_TRUE(bye.ok()) << bye.message() << "\n" << srv.log();
  if (!bye.ok()) return *in;
  EXPECT_EQ(bye->method(), "BYE");
  EXPECT_EQ(bye->uri(), spec.contact);
  EXPECT_TRUE(caller.send(build_reply(*bye, reply_spec(200))).ok());
  auto bye_ok = callee.recv(3s);
  EXPECT_TRUE(bye_ok.ok()) << bye_ok.message() << "\n" << srv.log();
  if (bye_ok.ok()) {
    EXPECT_EQ(bye_ok->status(), 200);
  }
  return *in;
}

class ProxyCall : public ::testing::TestWithParam<std::pair<const char*, const char*>> {};

TEST_P(ProxyCall, InviteRingingOkAckAndByeFromTheCallee) {
  auto srv = SipsdServer::start(proxy_options());
  ASSERT_TRUE(srv.ok()) << srv.message();
  auto caller = endpoint(**srv, GetParam().first);
  auto callee = endpoint(**srv, GetParam().second);
  ASSERT_TRUE(caller.ok()) << caller.message();
  ASSERT_TRUE(callee.ok()) << callee.message();
  SipMessage in = call(**caller, **callee, **srv);
  // Record-Route: one entry when the call stays on one transport, two with ;r2=on (outbound
  // socket first) when it changes (RFC 3261 §16.6 step 4 as OpenSIPS's rr does it).
  std::vector<std::string> rrs;
  for (const std::string& h : in.headers("Record-Route"))
    for (const std::string& v : split_header_list(h)) rrs.push_back(v);
  if (std::string(GetParam().first) == GetParam().second) {
    ASSERT_EQ(rrs.size(), 1u) << in.text();
    EXPECT_EQ(rrs[0].find("r2=on"), std::string::npos);
  } else {
    ASSERT_EQ(rrs.size(), 2u) << in.text();
    EXPECT_NE(rrs[0].find("r2=on"), std::string::npos);
    EXPECT_NE(rrs[1].find("r2=on"), std::string::npos);
    const std::string out = GetParam().second, inbound = GetParam().first;
    EXPECT_EQ(rrs[0].find(";transport=tcp") != std::string::npos, out == "tcp") << rrs[0];
    EXPECT_EQ(rrs[0].find(";transport=tls") != std::string::npos, out == "tls") << rrs[0];
    EXPECT_EQ(rrs[1].find(";transport=tls") != std::string::npos, inbound == "tls") << rrs[1];
  }
  EXPECT_TRUE(eventually_zero(**srv, "tm:inuse_transactions", 5s)) << (*srv)->log();
}

// etc/sipsd.cfg as shipped (certificates from the test PKI, ephemeral ports, the MI FIFO in
// the server's directory) relays a call between two phones.
TEST(Proxy, TheShippedConfigRelaysACall) {
  std::ifstream in(std::string(SIPSD_SOURCE_DIR) + "/etc/sipsd.cfg");
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string shipped = ss.str();
  auto srv = SipsdServer::start_cfg([&shipped](const std::string& dir) {
    std::string cfg =
        std::regex_replace(shipped, std::regex("\\]tls/"), "]" + test_certs_dir() + "/");
    cfg = std::regex_replace(cfg, std::regex("(socket=[a-z]+:127\\.0\\.0\\.1):[0-9]+"), "$1:0");
    cfg = std::regex_replace(cfg, std::regex("/tmp/opensips_fifo"), dir + "/mi_fifo");
    cfg += "\nmodparam(\"mi_fifo\", \"reply_dir\", \"" + dir + "/\")\n";
    return cfg;
  });
  ASSERT_TRUE(srv.ok()) << srv.message();
  auto caller = endpoint(**srv, "tls");
  auto callee = endpoint(**srv, "udp");
  ASSERT_TRUE(caller.ok() && callee.ok());
  SipMessage seen = call(**caller, **callee, **srv);
  EXPECT_EQ(seen.method(), "INVITE");
  EXPECT_TRUE(eventually_zero(**srv, "tm:inuse_transactions", 8s)) << (*srv)->log();
}

INSTANTIATE_TEST_SUITE_P(
    Transports, ProxyCall,
    ::testing::Values(std::make_pair("udp", "udp"), std::make_pair("tls", "tls"),
                      std::make_pair("tls", "udp"), std::make_pair("udp", "tls"),
                      std::make_pair("tcp", "tls"), std::make_pair("tls", "tcp")),
    [](const auto& test) { return std::string(test.param.first) + "_to_" + test.param.second; });

}  // namespace
}  // namespace sipsd::test
