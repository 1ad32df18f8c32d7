// Transaction behaviour of the proxy against the real binary: CANCEL, negative replies and
// their hop-by-hop ACK, timeouts (408) with serial forking in a failure_route, UDP
// retransmissions (ours, and the caller's absorbed), Max-Forwards, requests and replies that
// cross workers, and DNS (SRV through a real dnsmasq) with failover to the next target.
#include <gtest/gtest.h>

#include <chrono>
#include <set>
#include <string>
#include <thread>

#include "tests/integration/dnsmasq.h"
#include "tests/integration/proxy_fixture.h"
#include "tests/integration/sip_dialog.h"
#include "tests/integration/udp_test_peer.h"

namespace sipsd::test {
namespace {

using namespace std::chrono_literals;

struct Call {
  SipRequestSpec spec;
  SipRequest invite;
};

Call start_invite(TestEndpoint& caller, const std::string& ruri,
                  std::vector<std::string> extra = {}) {
  Call c;
  c.spec.method = "INVITE";
  c.spec.request_uri = ruri;
  c.spec.from_uri = "sip:alice@a.example";
  c.spec.contact = caller.uri("alice");
  c.spec.body = sdp();
  c.spec.extra_headers = std::move(extra);
  c.invite = build_sip_request(c.spec, caller.hop());
  EXPECT_TRUE(caller.send(c.invite.text).ok());
  return c;
}

// The CANCEL of `c` (same top Via branch, RFC 3261 §9.1).
std::string cancel_of(const Call& c, const SipHop& hop) {
  SipRequestSpec s = c.spec;
  s.method = "CANCEL";
  s.branch = c.invite.branch;
  s.call_id = c.invite.call_id;
  s.from_tag = c.invite.from_tag;
  s.cseq = c.invite.cseq;
  s.body.clear();
  s.contact = "-";  // no Contact in a CANCEL
  std::string text = build_sip_request(s, hop).text;
  size_t p = text.find("Contact: <->\r\n");
  if (p != std::string::npos) text.erase(p, 14);
  return text;
}

TEST(ProxyTm, CancelBeforeTheAnswerEndsWith487UpstreamAndACancelDownstream) {
  auto srv = SipsdServer::start(proxy_options());
  ASSERT_TRUE(srv.ok()) << srv.message();
  auto caller = endpoint(**srv, "tls");
  auto callee = endpoint(**srv, "udp");
  ASSERT_TRUE(caller.ok() && callee.ok());
  Call c = start_invite(**caller, (*callee)->uri("bob"));
  auto in = (*callee)->recv(3s);
  ASSERT_TRUE(in.ok()) << in.message() << "\n" << (*srv)->log();
  ASSERT_TRUE((*callee)->send(build_reply(*in, reply_spec(180, "b0b"))).ok());
  auto ringing = (*caller)->recv_final_or_ringing(3s);
  ASSERT_TRUE(ringing.ok()) << ringing.message();
  EXPECT_EQ(ringing->status(), 180);

  ASSERT_TRUE((*caller)->send(cancel_of(c, (*caller)->hop())).ok());
  // 200 to the CANCEL itself, from the proxy.
  auto cancel_ok = (*caller)->recv(3s);
  ASSERT_TRUE(cancel_ok.ok()) << cancel_ok.message() << "\n" << (*srv)->log();
  EXPECT_EQ(cancel_ok->status(), 200);
  EXPECT_EQ(cancel_ok->header("CSeq"), "1 CANCEL");
  // The callee gets a CANCEL on the branch the INVITE took (same Via branch as that INVITE).
  auto cancel_in = (*callee)->recv(3s);
  ASSERT_TRUE(cancel_in.ok()) << cancel_in.message() << "\n" << (*srv)->log();
  EXPECT_EQ(cancel_in->method(), "CANCEL");
  EXPECT_EQ(header_param(cancel_in->vias()[0], "branch"), header_param(in->vias()[0], "branch"));
  EXPECT_NE(cancel_in->header("Reason").value_or("").find("cause=487"), std::string::npos);
  ASSERT_TRUE((*callee)->send(build_reply(*cancel_in, reply_spec(200, "b0b"))).ok());
  ASSERT_TRUE((*callee)->send(build_reply(*in, reply_spec(487, "b0b"))).ok());
  // The proxy ACKs the 487 itself; the caller gets the 487.
  auto ack = (*callee)->recv(3s);
  ASSERT_TRUE(ack.ok()) << ack.message() << "\n" << (*srv)->log();
  EXPECT_EQ(ack->method(), "ACK");
  auto r487 = (*caller)->recv(3s);
  ASSERT_TRUE(r487.ok()) << r487.message() << "\n" << (*srv)->log();
  EXPECT_EQ(r487->status(), 487);
  EXPECT_TRUE(eventually_zero(**srv, "tm:inuse_transactions", 5s)) << (*srv)->log();
}

TEST(ProxyTm, NegativeReplyIsAckedHopByHopAndTheCallersAckAbsorbed) {
  auto srv = SipsdServer::start(proxy_options());
  ASSERT_TRUE(srv.ok()) << srv.message();
  auto caller = endpoint(**srv, "udp");
  auto callee = endpoint(**srv, "udp");
  ASSERT_TRUE(caller.ok() && callee.ok());
  Call c = start_invite(**caller, (*callee)->uri("bob"));
  auto in = (*callee)->recv(3s);
  ASSERT_TRUE(in.ok()) << in.message();
  ASSERT_TRUE((*callee)->send(build_reply(*in, reply_spec(488, "b0b"))).ok());
  auto ack = (*callee)->recv(3s);
  ASSERT_TRUE(ack.ok()) << ack.message() << "\n" << (*srv)->log();
  EXPECT_EQ(ack->method(), "ACK");
  EXPECT_EQ(ack->header("CSeq"), "1 ACK");
  EXPECT_NE(ack->header("To").value_or("").find("tag=b0b"), std::string::npos);
  auto r488 = (*caller)->recv_final_or_ringing(3s);
  ASSERT_TRUE(r488.ok()) << r488.message();
  EXPECT_EQ(r488->status(), 488);
  // The caller's ACK (same branch as its INVITE, RFC 3261 §17.1.1.3) stops at the proxy.
  SipRequestSpec s = c.spec;
  s.method = "ACK";
  s.branch = c.invite.branch;
  s.call_id = c.invite.call_id;
  s.from_tag = c.invite.from_tag;
  s.to_uri = c.spec.request_uri;
  s.body.clear();
  std::string ack_text = build_sip_request(s, (*caller)->hop()).text;
  size_t to = ack_text.find("To: <" + c.spec.request_uri + ">");
  ASSERT_NE(to, std::string::npos);
  ack_text.insert(to + 6 + c.spec.request_uri.size(), ";tag=b0b");
  ASSERT_TRUE((*caller)->send(ack_text).ok());
  EXPECT_TRUE((*callee)->nothing_within(600ms));
  EXPECT_EQ(server_stat(**srv, "tm:4xx_transactions"), 1);
}

TEST(ProxyTm, ATimedOutBranchGives408AndTheFailureRouteTriesTheNextOne) {
  auto srv = SipsdServer::start(proxy_options());
  ASSERT_TRUE(srv.ok()) << srv.message();
  auto caller = endpoint(**srv, "tls");
  auto silent = UdpPeer::bind();
  auto callee = endpoint(**srv, "udp");
  ASSERT_TRUE(caller.ok() && silent.ok() && callee.ok());
  const std::string silent_uri = "sip:127.0.0.1:" + std::to_string((*silent)->local_port());
  Call c = start_invite(**caller, (*callee)->uri("bob"),
                        {"X-Next: " + silent_uri, "X-Second: " + (*callee)->uri("bob")});
  // The silent hop sees the INVITE and its retransmissions (T1 = 500 ms, doubling).
  int invites = 0;
  auto t0 = std::chrono::steady_clock::now();
  while (std::chrono::steady_clock::now() - t0 < 1800ms) {
    auto d = (*silent)->recv_message(200ms);
    if (d.ok() && d->method() == "INVITE") ++invites;
  }
  EXPECT_GE(invites, 2) << "the INVITE was not retransmitted over UDP";
  // fr_timeout (2 s) expires: the failure_route sends it to the second UAS, which answers.
  auto in = (*callee)->recv(4s);
  ASSERT_TRUE(in.ok()) << in.message() << "\n" << (*srv)->log();
  EXPECT_EQ(in->method(), "INVITE");
  ASSERT_TRUE(
      (*callee)->send(build_reply(*in, reply_spec(200, "b0b", (*callee)->uri("bob"), sdp()))).ok());
  auto ok = (*caller)->recv_final_or_ringing(3s);
  ASSERT_TRUE(ok.ok()) << ok.message() << "\n" << (*srv)->log();
  EXPECT_EQ(ok->status(), 200);
  EXPECT_GE(server_stat(**srv, "tm:timeout_finalresponse_inv"), 1);
}

TEST(ProxyTm, NobodyAnswersSoTheCallerGetsA408) {
  auto srv = SipsdServer::start(proxy_options());
  ASSERT_TRUE(srv.ok()) << srv.message();
  auto caller = endpoint(**srv, "udp");
  auto silent = UdpPeer::bind();
  ASSERT_TRUE(caller.ok() && silent.ok());
  start_invite(**caller, "sip:nobody@127.0.0.1:" + std::to_string((*silent)->local_port()));
  auto r = (*caller)->recv_final_or_ringing(5s);
  ASSERT_TRUE(r.ok()) << r.message() << "\n" << (*srv)->log();
  EXPECT_EQ(r->status(), 408);
  // A local reply carries the proxy's own To-tag (37 characters, OpenSIPS's layout).
  auto tag = header_param(r->header("To").value_or(""), "tag");
  ASSERT_TRUE(tag.has_value());
  EXPECT_EQ(tag->size(), 37u);
  EXPECT_TRUE(eventually_zero(**srv, "tm:inuse_transactions", 8s)) << (*srv)->log();
}

TEST(ProxyTm, AUdpRetransmissionOfTheInviteIsAbsorbedWithTheLastReply) {
  auto srv = SipsdServer::start(proxy_options());
  ASSERT_TRUE(srv.ok()) << srv.message();
  auto caller = UdpPeer::bind();
  auto callee = endpoint(**srv, "udp");
  ASSERT_TRUE(caller.ok() && callee.ok());
  const uint16_t port = (*srv)->udp_port();
  SipRequestSpec spec;
  spec.method = "INVITE";
  spec.request_uri = (*callee)->uri("bob");
  SipRequest invite = build_sip_request(spec, (*caller)->hop("127.0.0.1", port));
  ASSERT_TRUE((*caller)->send_to("127.0.0.1", port, invite.text).ok());
  auto trying = (*caller)->recv_message(3s);
  ASSERT_TRUE(trying.ok()) << trying.message();
  EXPECT_EQ(trying->status(), 100);
  auto in = (*callee)->recv(3s);
  ASSERT_TRUE(in.ok()) << in.message();
  // The caller retransmits before any reply came back: it gets the 100 again, the callee
  // nothing new (sipsd's own T1 retransmission of the branch comes later than 300 ms).
  ASSERT_TRUE((*caller)->send_to("127.0.0.1", port, invite.text).ok());
  auto again = (*caller)->recv_message(3s);
  ASSERT_TRUE(again.ok()) << again.message();
  EXPECT_EQ(again->status(), 100);
  EXPECT_TRUE((*callee)->nothing_within(300ms));
  EXPECT_EQ(server_stat(**srv, "tm:absorbed_retransmissions"), 1);
  ASSERT_TRUE((*callee)->send(build_reply(*in, reply_spec(486, "b0b"))).ok());
}

TEST(ProxyTm, MaxForwardsZeroGets483) {
  auto srv = SipsdServer::start(proxy_options());
  ASSERT_TRUE(srv.ok()) << srv.message();
  auto caller = endpoint(**srv, "tcp");
  ASSERT_TRUE(caller.ok()) << caller.message();
  SipRequestSpec spec;
  spec.method = "INVITE";
  spec.request_uri = "sip:bob@127.0.0.1:9";
  spec.max_forwards = 0;
  ASSERT_TRUE((*caller)->send(build_sip_request(spec, (*caller)->hop()).text).ok());
  auto r = (*caller)->recv(3s);
  ASSERT_TRUE(r.ok()) << r.message();
  EXPECT_EQ(r->status(), 483);
}

// Requests to a phone whose connection another worker owns go through that worker, and the
// replies that come back there reach the transaction's worker.
TEST(ProxyTm, CallsBetweenConnectionsOfDifferentWorkers) {
  SipsdOptions o = proxy_options();
  o.workers = 2;
  auto srv = SipsdServer::start(o);
  ASSERT_TRUE(srv.ok()) << srv.message();
  // Connections go to the least loaded worker: two in a row land on different ones.
  auto caller = endpoint(**srv, "tls");
  auto callee = endpoint(**srv, "tls");
  ASSERT_TRUE(caller.ok() && callee.ok());
  auto conns = (*srv)->mi_result("list_tcp_conns");
  ASSERT_TRUE(conns.ok()) << conns.message();
  std::set<int64_t> workers;
  for (const Json& c : conns->find("Connections")->items())
    workers.insert(c.find("Worker")->as_int());
  ASSERT_EQ(workers.size(), 2u) << conns->dump();
  const int64_t relayed_before = server_stat(**srv, "core:relayed_out");
  Call c = start_invite(**caller, (*callee)->uri("bob"));
  auto in = (*callee)->recv(3s);
  ASSERT_TRUE(in.ok()) << in.message() << "\n" << (*srv)->log();
  ASSERT_TRUE(
      (*callee)->send(build_reply(*in, reply_spec(200, "b0b", (*callee)->uri("bob"), sdp()))).ok());
  auto ok = (*caller)->recv_final_or_ringing(3s);
  ASSERT_TRUE(ok.ok()) << ok.message() << "\n" << (*srv)->log();
  EXPECT_EQ(ok->status(), 200);
  // The INVITE went to the callee's worker (SendOnConn), the 200 to the caller's
  // (RelayedMessage).
  EXPECT_GE(server_stat(**srv, "core:relayed_out") - relayed_before, 2);
  EXPECT_EQ(server_stat(**srv, "core:relay_lost"), 0);
}

// A name resolved through SRV (a real dnsmasq on loopback): the first target never answers,
// the INVITE times out there and goes to the second target (RFC 3263 §4.3 failover).
TEST(ProxyTm, SrvTargetsAreTriedInOrderWithFailoverAfterATimeout) {
  auto dead = UdpPeer::bind("127.0.0.1");
  auto live = UdpPeer::bind("127.0.0.1");
  ASSERT_TRUE(dead.ok() && live.ok());
  auto dns = Dnsmasq::start({"--local=/test/", "--host-record=one.sip.test,127.0.0.1",
                             "--srv-host=_sip._udp.svc.test,one.sip.test," +
                                 std::to_string((*dead)->local_port()) + ",10,0",
                             "--srv-host=_sip._udp.svc.test,one.sip.test," +
                                 std::to_string((*live)->local_port()) + ",20,0"});
  ASSERT_TRUE(dns.ok()) << dns.message();
  SipsdOptions o = proxy_options();
  o.globals = {"dns_servers = \"" + dns->server() + "\"", "dns_try_naptr = no"};
  auto srv = SipsdServer::start(o);
  ASSERT_TRUE(srv.ok()) << srv.message();
  auto caller = endpoint(**srv, "udp");
  ASSERT_TRUE(caller.ok());
  start_invite(**caller, "sip:bob@svc.test;transport=udp");
  auto first = (*dead)->recv_message(3s);
  ASSERT_TRUE(first.ok()) << first.message() << "\n" << (*srv)->log();
  EXPECT_EQ(first->method(), "INVITE");
  // fr_timeout is 2 s: then the second SRV target gets it.
  UdpPeer::Datagram from;
  auto second = (*live)->recv_message(5s, &from);
  for (int i = 0; i < 10 && second.ok() && second->method() != "INVITE"; ++i)
    second = (*live)->recv_message(5s, &from);
  ASSERT_TRUE(second.ok()) << second.message() << "\n" << (*srv)->log();
  EXPECT_EQ(second->method(), "INVITE");
  ASSERT_TRUE(
      (*live)
          ->send_to(from.from_ip, from.from_port,
                    build_reply(*second, reply_spec(200, "b0b", "sip:bob@127.0.0.1", sdp())))
          .ok());
  auto ok = (*caller)->recv_final_or_ringing(3s);
  ASSERT_TRUE(ok.ok()) << ok.message() << "\n" << (*srv)->log();
  EXPECT_EQ(ok->status(), 200);
  EXPECT_GE(dns->queries("SRV", "_sip._udp.svc.test"), 1);
}

// RFC 5923 (tcp_accept_aliases=1): a phone whose Via says ;alias is reached at its Via port
// over the connection it came on; a second connection cannot take that alias over.
TEST(ProxyTm, ViaAliasPortsReachTheConnectionAndCannotBeHijacked) {
  SipsdOptions o = proxy_options();
  o.globals.push_back("tcp_accept_aliases=1");
  auto srv = SipsdServer::start(o);
  ASSERT_TRUE(srv.ok()) << srv.message();
  auto phone = SipTestClient::connect_tcp("127.0.0.1", (*srv)->tcp_port());
  auto thief = SipTestClient::connect_tcp("127.0.0.1", (*srv)->tcp_port());
  ASSERT_TRUE(phone.ok() && thief.ok());
  // OPTIONS from a Via claiming port 5999 with ;alias.
  auto hello = [&](SipTestClient& c) {
    SipRequestSpec spec;
    spec.request_uri = "sip:127.0.0.1:" + std::to_string((*srv)->tcp_port()) + ";transport=tcp";
    std::string text = c.make_options(spec).text;
    const std::string via =
        "Via: SIP/2.0/TCP " + c.local_ip() + ":" + std::to_string(c.local_port());
    size_t at = text.find(via);
    EXPECT_NE(at, std::string::npos);
    text.replace(at, via.size(), "Via: SIP/2.0/TCP 127.0.0.1:5999;alias");
    EXPECT_TRUE(c.send(text).ok());
    auto r = c.read_reply(3s);
    return r.ok() ? r->status() : -1;
  };
  ASSERT_EQ(hello(**phone), 200);
  ASSERT_EQ(hello(**thief), 200);
  EXPECT_EQ(server_stat(**srv, "core:alias_refused"), 1);
  // A call to sip:bob@127.0.0.1:5999;transport=tcp rides the phone's connection.
  auto caller = endpoint(**srv, "udp");
  ASSERT_TRUE(caller.ok());
  Call c = start_invite(**caller, "sip:bob@127.0.0.1:5999;transport=tcp");
  auto in = (*phone)->read_reply(3s);
  ASSERT_TRUE(in.ok()) << in.message() << "\n" << (*srv)->log();
  EXPECT_EQ(in->method(), "INVITE");
  EXPECT_TRUE((*thief)->expect_nothing(200ms));
  // list_tcp_conns shows the alias as a second "Alias port".
  auto conns = (*srv)->mi("list_tcp_conns");
  ASSERT_TRUE(conns.ok()) << conns.message();
  EXPECT_NE(conns->dump().find("\"Alias port\":5999"), std::string::npos) << conns->dump();
  ASSERT_TRUE((*phone)->send(build_reply(*in, reply_spec(486, "b0b"))).ok());
}

}  // namespace
}  // namespace sipsd::test
