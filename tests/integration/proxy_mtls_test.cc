// Two sipsd instances peering over mutually authenticated TLS, as in the proxy reference §10
// (trusted calls between two domains): proxy A takes a caller's call over UDP and relays it to
// proxy B over TLS, presenting its certificate from a client domain; B requires and verifies
// that certificate on its peering listener, says so in a header its route adds, and relays to
// the callee over UDP. Both record-route (twice each: the transport changes), so the dialog's
// ACK and BYE go through both again, and a callee's BYE makes B open the reverse connection to
// A, with the same mutual authentication. A proxy whose certificate comes from a CA B does not
// trust gets no call through.
//
// The PKI (tests/gen_certs.sh): A's client certificate is client-ca2.pem (CN alice.example.com,
// issued by "sipsd test CA 2"), so B trusts ca2.pem for its peers; B's certificate is cert.pem
// (127.0.0.1, issued by "sipsd test CA"), which A verifies against ca.pem. The intruder C
// presents client.pem: the same CN, issued by the CA B does not trust for peers.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "tests/integration/sip_dialog.h"
#include "tests/integration/sip_test_client.h"
#include "tests/integration/sipsd_server.h"
#include "tests/integration/test_env.h"
#include "tests/integration/udp_test_peer.h"

namespace sipsd::test {
namespace {

using namespace std::chrono_literals;

constexpr const char* kTmModules[] = {
    "loadmodule \"tm.so\"",
    "loadmodule \"rr.so\"",
    "loadmodule \"maxfwd.so\"",
    "modparam(\"tm\", \"fr_timeout\", 2)",
    "modparam(\"tm\", \"fr_inv_timeout\", 5)",
    "modparam(\"tm\", \"wt_timer\", 1)",
};

// In-dialog requests and retransmissions, as every proxy of §10 handles them.
constexpr const char* kInDialog = R"cfg(
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
)cfg";

constexpr const char* kRelay = R"cfg(
route[relay] {
  if (!t_relay()) sl_reply_error();
  exit;
}
)cfg";

// A: every new call goes to the peer over TLS (§10 route[to_peer]).
std::string caller_proxy_route(uint16_t peer_tls_port) {
  return std::string("route {") + kInDialog +
         "  record_route();\n"
         "  $du = \"sip:127.0.0.1:" +
         std::to_string(peer_tls_port) +
         ";transport=tls\";\n"
         "  route(relay);\n"
         "}\n" +
         kRelay;
}

// B: only calls that came over TLS from a verified peer (§10 route[classify]); the callee is
// told who the peer was.
std::string callee_proxy_route() {
  return std::string("route {") + kInDialog +
         R"cfg(
  if ($socket_in(proto) != "tls" || !is_peer_verified()) {
    sl_send_reply(403, "Not from a verified peer");
    exit;
  }
  xlog("L_NOTICE", "peer call $ci from $si: verified=$tls_peer_verified cn=$tls_peer_subject_cn\n");
  remove_hf("X-Peer-Verified");
  append_hf("X-Peer-Verified: $tls_peer_verified $tls_peer_subject_cn\r\n");
  record_route();
  route(relay);
}
)cfg" + kRelay;
}

std::vector<std::string> tm_modules() {
  return {std::begin(kTmModules), std::end(kTmModules)};
}

// A tls_mgm domain as modparam lines: "[name]value" for each (parameter, value).
std::vector<std::string> tls_domain(const std::string& type, const std::string& name,
                                    const std::vector<std::pair<std::string, std::string>>& p) {
  std::vector<std::string> out = {"modparam(\"tls_mgm\", \"" + type + "\", \"" + name + "\")"};
  for (const auto& [k, v] : p)
    out.push_back("modparam(\"tls_mgm\", \"" + k + "\", \"[" + name + "]" + v + "\")");
  return out;
}

void append(std::vector<std::string>* to, const std::vector<std::string>& lines) {
  to->insert(to->end(), lines.begin(), lines.end());
}

// The caller's proxy (A, or the intruder C): UDP for phones, its TLS listener with the test
// server certificate (peers must present one verified against ca.pem: B's CA), and the client
// domain "peer_out" presenting `cert` to the peer at 127.0.0.1:peer_tls_port, whose certificate
// it verifies against ca.pem. require_cert is set on the client domain as §10 writes it; sipsd
// warns that it has no effect there.
SipsdOptions caller_proxy(uint16_t peer_tls_port, const std::string& cert, const std::string& key) {
  SipsdOptions o;
  o.udp = true;
  o.tls_domain = {
      "modparam(\"tls_mgm\", \"certificate\", \"[default]" + test_cert("cert.pem") + "\")",
      "modparam(\"tls_mgm\", \"private_key\", \"[default]" + test_cert("ckey.pem") + "\")",
      "modparam(\"tls_mgm\", \"ca_list\", \"[default]" + test_cert("ca.pem") + "\")",
      "modparam(\"tls_mgm\", \"verify_cert\", \"[default]1\")",
      "modparam(\"tls_mgm\", \"require_cert\", \"[default]1\")"};
  o.modparams = tm_modules();
  append(&o.modparams,
         tls_domain("client_domain", "peer_out",
                    {{"match_ip_address", "127.0.0.1:" + std::to_string(peer_tls_port)},
                     {"match_sip_domain", "*"},
                     {"certificate", test_cert(cert)},
                     {"private_key", test_cert(key)},
                     {"ca_list", test_cert("ca.pem")},
                     {"verify_cert", "1"},
                     {"require_cert", "1"}}));
  o.route = caller_proxy_route(peer_tls_port);
  return o;
}

// B: its TLS listener is the peering one (certificate required, verified against ca2.pem:
// A's CA); a client domain for requests it sends back to A (its own certificate, which A
// verifies against ca.pem).
SipsdOptions callee_proxy() {
  SipsdOptions o;
  o.udp = true;
  o.tls_domain = {
      "modparam(\"tls_mgm\", \"certificate\", \"[default]" + test_cert("cert.pem") + "\")",
      "modparam(\"tls_mgm\", \"private_key\", \"[default]" + test_cert("ckey.pem") + "\")",
      "modparam(\"tls_mgm\", \"ca_list\", \"[default]" + test_cert("ca2.pem") + "\")",
      "modparam(\"tls_mgm\", \"verify_cert\", \"[default]1\")",
      "modparam(\"tls_mgm\", \"require_cert\", \"[default]1\")"};
  o.modparams = tm_modules();
  append(&o.modparams, tls_domain("client_domain", "peer_out",
                                  {{"certificate", test_cert("cert.pem")},
                                   {"private_key", test_cert("ckey.pem")},
                                   {"ca_list", test_cert("ca.pem")},
                                   {"verify_cert", "1"}}));
  o.route = callee_proxy_route();
  return o;
}

std::string sdp() {
  return "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
         "m=audio 4000 RTP/AVP 0\r\n";
}

// The next message that is not a 100 (each proxy sends its own).
Result<SipMessage> recv_skipping_trying(UdpPeer& p, std::chrono::milliseconds t,
                                        UdpPeer::Datagram* from = nullptr) {
  for (int i = 0; i < 5; ++i) {
    Result<SipMessage> m = p.recv_message(t, from);
    if (!m.ok() || m->status() != 100) return m;
  }
  return make_error("only 100s");
}

// The caller's ACK of a negative final reply (RFC 3261 17.1.1.3: the INVITE's Request-URI and
// top Via, the reply's To).
std::string ack_of(const SipRequest& invite, const SipMessage& reply) {
  auto sent = SipMessage::parse(invite.text);
  if (!sent.ok()) return "";
  std::string ack = "ACK " + sent->uri() + " SIP/2.0\r\n";
  ack += "Via: " + sent->vias().at(0) + "\r\n";
  ack += "From: " + reply.header("From").value_or("") + "\r\n";
  ack += "To: " + reply.header("To").value_or("") + "\r\n";
  ack += "Call-ID: " + invite.call_id + "\r\n";
  ack += "CSeq: " + std::to_string(invite.cseq) + " ACK\r\nMax-Forwards: 70\r\n";
  ack += "Content-Length: 0\r\n\r\n";
  return ack;
}

// One row of list_tcp_conns, with the TLS fields MiConnection leaves out.
struct ConnRow {
  std::string type, direction, remote, local;
  bool peer_verified = false;
  bool has_tls = false;
};

Result<std::vector<ConnRow>> connections(SipsdServer& srv) {
  Result<Json> r = srv.mi_result("list_tcp_conns");
  if (!r.ok()) return r.error();
  const Json* list = r->find("Connections");
  if (list == nullptr || !list->is_array()) return make_error("no Connections: " + r->dump());
  std::vector<ConnRow> out;
  for (const Json& c : list->items()) {
    ConnRow row;
    auto str = [&](const char* k) {
      const Json* v = c.find(k);
      return v != nullptr && v->is_string() ? v->as_string() : std::string();
    };
    row.type = str("Type");
    row.direction = str("Direction");
    row.remote = str("Remote");
    row.local = str("Local");
    if (const Json* v = c.find("TLS Peer verified")) {
      row.has_tls = true;
      row.peer_verified = v->is_bool() && v->as_bool();
    }
    out.push_back(row);
  }
  return out;
}

std::string describe(const std::vector<ConnRow>& rows) {
  std::string s;
  for (const ConnRow& r : rows)
    s += r.type + " " + r.direction + " " + r.local + " -> " + r.remote +
         (r.has_tls ? (r.peer_verified ? " verified" : " NOT verified") : "") + "\n";
  return s;
}

bool no_transactions(SipsdServer& srv) {
  auto s = srv.stats_until(
      [](const ServerStats& st) { return st.get("tm:inuse_transactions") == 0; }, 8s);
  return s.ok() && s->get("tm:inuse_transactions") == 0;
}

std::string port_of(uint16_t p) {
  return std::to_string(p);
}

// Two proxies, A (the caller's) and B (the callee's), and a UDP phone on each side.
class TwoProxies : public ::testing::Test {
 protected:
  void start_b(const SipsdOptions& o) {
    auto b = SipsdServer::start(o);
    ASSERT_TRUE(b.ok()) << b.message();
    b_ = std::move(b).value();
  }
  void start_a_and_phones(const SipsdOptions& o) {
    auto a = SipsdServer::start(o);
    ASSERT_TRUE(a.ok()) << a.message();
    a_ = std::move(a).value();
    auto uac = UdpPeer::bind();
    auto uas = UdpPeer::bind();
    ASSERT_TRUE(uac.ok() && uas.ok());
    uac_ = std::move(uac).value();
    uas_ = std::move(uas).value();
  }

  std::string logs() const { return "--- A:\n" + a_->log() + "\n--- B:\n" + b_->log(); }

  std::unique_ptr<SipsdServer> a_, b_;
  std::unique_ptr<UdpPeer> uac_, uas_;
};

// Caller -> A (UDP) -> B (mutual TLS) -> callee (UDP), and the whole dialog back and forth.
class MutualTlsPeering : public TwoProxies {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(start_b(callee_proxy()));
    ASSERT_NO_FATAL_FAILURE(
        start_a_and_phones(caller_proxy(b_->tls_port(), "client-ca2.pem", "client-ca2-key.pem")));
  }

  // The caller's INVITE reaches the callee through A and B; the callee answers 180 and 200;
  // the caller has its dialog.
  void establish() {
    spec_.method = "INVITE";
    spec_.request_uri = "sip:bob@127.0.0.1:" + port_of(uas_->local_port());
    spec_.from_uri = "sip:alice@a.example";
    spec_.body = sdp();
    invite_ = build_sip_request(spec_, uac_->hop("127.0.0.1", a_->udp_port()));
    ASSERT_TRUE(uac_->send_to("127.0.0.1", a_->udp_port(), invite_.text).ok());

    UdpPeer::Datagram from_b;
    auto in = uas_->recv_message(5s, &from_b);
    ASSERT_TRUE(in.ok()) << in.message() << "\n" << logs();
    ASSERT_EQ(in->method(), "INVITE");
    EXPECT_EQ(from_b.from_port, b_->udp_port());
    in_invite_ = *in;

    const std::string contact = "sip:bob@127.0.0.1:" + port_of(uas_->local_port());
    ASSERT_TRUE(
        uas_->send_to("127.0.0.1", b_->udp_port(), build_reply(in_invite_, reply_spec(180, "b0b")))
            .ok());
    auto r180 = recv_skipping_trying(*uac_, 5s);
    ASSERT_TRUE(r180.ok()) << r180.message() << "\n" << logs();
    EXPECT_EQ(r180->status(), 180);
    ASSERT_TRUE(uas_->send_to("127.0.0.1", b_->udp_port(),
                              build_reply(in_invite_, reply_spec(200, "b0b", contact, sdp())))
                    .ok());
    auto r200 = recv_skipping_trying(*uac_, 5s);
    ASSERT_TRUE(r200.ok()) << r200.message() << "\n" << logs();
    ASSERT_EQ(r200->status(), 200);
    EXPECT_EQ(r200->vias().size(), 1u) << r200->text();
    dialog_ = Dialog::from_2xx(invite_, spec_, *r200);
  }

  // The caller's ACK reaches the callee, through both proxies again.
  void ack() {
    SipRequest ack = dialog_.request("ACK", uac_->hop("127.0.0.1", a_->udp_port()), invite_.cseq);
    ASSERT_TRUE(uac_->send_to("127.0.0.1", a_->udp_port(), ack.text).ok());
    auto in = uas_->recv_message(5s);
    ASSERT_TRUE(in.ok()) << in.message() << "\n" << logs();
    EXPECT_EQ(in->method(), "ACK");
    EXPECT_EQ(in->uri(), "sip:bob@127.0.0.1:" + port_of(uas_->local_port()));
    EXPECT_FALSE(in->header("Route").has_value()) << in->text();
    EXPECT_EQ(in->vias().size(), 3u) << in->text();
  }

  SipRequestSpec spec_;
  SipRequest invite_;
  SipMessage in_invite_;
  Dialog dialog_;
};

TEST_F(MutualTlsPeering, CallerHangsUp) {
  ASSERT_NO_FATAL_FAILURE(establish());

  // B saw A's certificate verified, and told the callee.
  EXPECT_EQ(in_invite_.header("X-Peer-Verified"), "1 alice.example.com") << in_invite_.text();
  EXPECT_TRUE(b_->wait_for_log("verified=1 cn=alice.example.com", 2s)) << b_->log();
  // Three Vias (B, A, the caller) and four Record-Routes, each proxy's outbound socket first:
  // B (UDP, then the TLS listener A reached), A (TLS, then UDP).
  EXPECT_EQ(in_invite_.vias().size(), 3u) << in_invite_.text();
  std::vector<std::string> rrs;
  for (const std::string& h : in_invite_.headers("Record-Route"))
    for (const std::string& v : split_header_list(h)) rrs.push_back(v);
  const std::string ftag = ";lr;ftag=" + invite_.from_tag + ">";
  ASSERT_EQ(rrs.size(), 4u) << in_invite_.text();
  EXPECT_EQ(rrs[0], "<sip:127.0.0.1:" + port_of(b_->udp_port()) + ";r2=on" + ftag);
  EXPECT_EQ(rrs[1], "<sip:127.0.0.1:" + port_of(b_->tls_port()) + ";transport=tls;r2=on" + ftag);
  EXPECT_EQ(rrs[2], "<sip:127.0.0.1:" + port_of(a_->tls_port()) + ";transport=tls;r2=on" + ftag);
  EXPECT_EQ(rrs[3], "<sip:127.0.0.1:" + port_of(a_->udp_port()) + ";r2=on" + ftag);
  EXPECT_EQ(in_invite_.body(), sdp());
  ASSERT_EQ(dialog_.route_set.size(), 4u);

  ASSERT_NO_FATAL_FAILURE(ack());

  // The caller's BYE, and the callee's 200 back.
  SipRequest bye = dialog_.request("BYE", uac_->hop("127.0.0.1", a_->udp_port()), invite_.cseq + 1);
  ASSERT_TRUE(uac_->send_to("127.0.0.1", a_->udp_port(), bye.text).ok());
  auto bye_in = uas_->recv_message(5s);
  ASSERT_TRUE(bye_in.ok()) << bye_in.message() << "\n" << logs();
  EXPECT_EQ(bye_in->method(), "BYE");
  EXPECT_FALSE(bye_in->header("Route").has_value()) << bye_in->text();
  ASSERT_TRUE(
      uas_->send_to("127.0.0.1", b_->udp_port(), build_reply(*bye_in, reply_spec(200))).ok());
  auto bye_ok = uac_->recv_message(5s);
  ASSERT_TRUE(bye_ok.ok()) << bye_ok.message() << "\n" << logs();
  EXPECT_EQ(bye_ok->status(), 200);
  EXPECT_EQ(bye_ok->header("CSeq"), std::to_string(invite_.cseq + 1) + " BYE");

  // One TLS connection for the whole dialog: A's, outbound, B's certificate verified; B's end
  // of it, inbound, A's certificate verified.
  auto on_a = connections(*a_);
  ASSERT_TRUE(on_a.ok()) << on_a.message();
  ASSERT_EQ(on_a->size(), 1u) << describe(*on_a);
  EXPECT_EQ((*on_a)[0].type, "tls");
  EXPECT_EQ((*on_a)[0].direction, "outbound");
  EXPECT_EQ((*on_a)[0].remote, "127.0.0.1:" + port_of(b_->tls_port()));
  EXPECT_TRUE((*on_a)[0].has_tls && (*on_a)[0].peer_verified) << describe(*on_a);
  auto on_b = connections(*b_);
  ASSERT_TRUE(on_b.ok()) << on_b.message();
  ASSERT_EQ(on_b->size(), 1u) << describe(*on_b);
  EXPECT_EQ((*on_b)[0].direction, "inbound");
  EXPECT_TRUE((*on_b)[0].has_tls && (*on_b)[0].peer_verified) << describe(*on_b);

  // B's UDP workers read the callee's replies; the TCP worker that owns A's connection wrote
  // them (SendOnConn between workers), and nothing was lost on the way.
  auto bs = b_->stats();
  ASSERT_TRUE(bs.ok()) << bs.message();
  EXPECT_GT(bs->get("core:relayed_out"), 0u);
  EXPECT_EQ(bs->get("core:relay_lost"), 0u);

  EXPECT_TRUE(no_transactions(*a_)) << a_->log();
  EXPECT_TRUE(no_transactions(*b_)) << b_->log();
}

// The callee hangs up: its BYE follows the route set the other way, so B opens a TLS
// connection to A's listener (the one in A's Record-Route), presenting its own certificate,
// which A requires and verifies; the caller's 200 comes back the same way.
TEST_F(MutualTlsPeering, CalleeHangsUpOverTheReverseConnection) {
  ASSERT_NO_FATAL_FAILURE(establish());
  ASSERT_NO_FATAL_FAILURE(ack());

  // The callee's view of the dialog (RFC 3261 12.1.1): route set = Record-Route in order,
  // remote target = the caller's Contact.
  Dialog callee;
  callee.call_id = invite_.call_id;
  callee.local_uri = spec_.request_uri;
  callee.local_tag = "b0b";
  callee.remote_uri = spec_.from_uri;
  callee.remote_tag = invite_.from_tag;
  auto contact = in_invite_.header("Contact");
  ASSERT_TRUE(contact.has_value()) << in_invite_.text();
  callee.remote_target = contact->substr(1, contact->find('>') - 1);
  for (const std::string& h : in_invite_.headers("Record-Route"))
    for (const std::string& v : split_header_list(h)) callee.route_set.push_back(v);
  ASSERT_EQ(callee.route_set.size(), 4u);

  SipRequest bye = callee.request("BYE", uas_->hop("127.0.0.1", b_->udp_port()), 1);
  ASSERT_TRUE(uas_->send_to("127.0.0.1", b_->udp_port(), bye.text).ok());
  auto bye_in = uac_->recv_message(5s);
  ASSERT_TRUE(bye_in.ok()) << bye_in.message() << "\n" << logs();
  EXPECT_EQ(bye_in->method(), "BYE");
  EXPECT_EQ(bye_in->uri(), callee.remote_target);
  EXPECT_FALSE(bye_in->header("Route").has_value()) << bye_in->text();
  EXPECT_EQ(bye_in->vias().size(), 3u) << bye_in->text();
  ASSERT_TRUE(
      uac_->send_to("127.0.0.1", a_->udp_port(), build_reply(*bye_in, reply_spec(200))).ok());
  auto ok = uas_->recv_message(5s);
  ASSERT_TRUE(ok.ok()) << ok.message() << "\n" << logs();
  EXPECT_EQ(ok->status(), 200);
  EXPECT_EQ(ok->header("CSeq"), "1 BYE");

  // Two connections between them now, one opened by each side, each verified at both ends.
  auto on_a = connections(*a_);
  ASSERT_TRUE(on_a.ok()) << on_a.message();
  ASSERT_EQ(on_a->size(), 2u) << describe(*on_a);
  for (const ConnRow& c : *on_a) EXPECT_TRUE(c.peer_verified) << describe(*on_a);
  auto on_b = connections(*b_);
  ASSERT_TRUE(on_b.ok()) << on_b.message();
  ASSERT_EQ(on_b->size(), 2u) << describe(*on_b);
  for (const ConnRow& c : *on_b) EXPECT_TRUE(c.peer_verified) << describe(*on_b);
  int outbound = 0;
  for (const ConnRow& c : *on_b) {
    if (c.direction != "outbound") continue;
    ++outbound;
    EXPECT_EQ(c.remote, "127.0.0.1:" + port_of(a_->tls_port()));
  }
  EXPECT_EQ(outbound, 1) << describe(*on_b);

  EXPECT_TRUE(no_transactions(*a_)) << a_->log();
  EXPECT_TRUE(no_transactions(*b_)) << b_->log();
}

// C presents a certificate for the same name, issued by a CA B does not trust for peers: B
// refuses the handshake, the call never reaches B's script or the callee, the caller gets a
// final failure from C, and both proxies keep running.
TEST(MutualTlsPeeringRefused, UntrustedPeerCertificateGetsNoCallThrough) {
  auto b = SipsdServer::start(callee_proxy());
  ASSERT_TRUE(b.ok()) << b.message();
  auto c = SipsdServer::start(caller_proxy((*b)->tls_port(), "client.pem", "client-key.pem"));
  ASSERT_TRUE(c.ok()) << c.message();
  auto uac = UdpPeer::bind();
  auto uas = UdpPeer::bind();
  ASSERT_TRUE(uac.ok() && uas.ok());

  SipRequestSpec spec;
  spec.method = "INVITE";
  spec.request_uri = "sip:bob@127.0.0.1:" + port_of((*uas)->local_port());
  spec.from_uri = "sip:mallory@c.example";
  spec.body = sdp();
  SipRequest invite = build_sip_request(spec, (*uac)->hop("127.0.0.1", (*c)->udp_port()));
  ASSERT_TRUE((*uac)->send_to("127.0.0.1", (*c)->udp_port(), invite.text).ok());

  // The caller gets a final failure from C. Today it is a 408 at fr_timeout (2 s), as from
  // OpenSIPS: C finished its side of the TLS 1.3 handshake and wrote the INVITE before B's
  // verdict arrived, so nothing tells tm the branch is lost. A 477 or 503 at once would do too.
  auto final_reply = recv_skipping_trying(**uac, 5s);
  ASSERT_TRUE(final_reply.ok()) << final_reply.message() << "\n" << (*c)->log();
  EXPECT_TRUE(final_reply->status() == 408 || final_reply->status() == 477 ||
              final_reply->status() == 503)
      << final_reply->text();
  ASSERT_TRUE((*uac)->send_to("127.0.0.1", (*c)->udp_port(), ack_of(invite, *final_reply)).ok());
  EXPECT_TRUE((*uas)->expect_nothing(300ms));

  auto bs = (*b)->stats();
  ASSERT_TRUE(bs.ok()) << bs.message();
  EXPECT_EQ(bs->get("core:rcv_requests"), 0u) << (*b)->log();
  EXPECT_GE(bs->get("tls:handshakes_failed"), 1u) << (*b)->log();
  EXPECT_GE(bs->get("tls:verify_failed"), 1u) << (*b)->log();
  EXPECT_EQ(bs->get("tls:handshakes_ok"), 0u) << (*b)->log();
  EXPECT_EQ(bs->get("tls:conns_open"), 0u);
  auto cs = (*c)->stats_until([](const ServerStats& st) { return st.get("tls:conns_open") == 0; });
  ASSERT_TRUE(cs.ok()) << cs.message();
  EXPECT_EQ(cs->get("tls:conns_open"), 0u) << (*c)->log();
  EXPECT_TRUE((*b)->child().running());
  EXPECT_TRUE((*c)->child().running());
  EXPECT_TRUE(no_transactions(**c)) << (*c)->log();
}

// A next hop we cannot send to fails its branch as a send failure does in OpenSIPS: the next
// DNS address, else "477 Send failed" at once, not a 408 when fr_timeout expires.
class PeerConnectFails : public ::testing::Test {
 protected:
  // Sends an INVITE through `proxy` (its route sends everything to its peer) and returns the
  // final reply and how long it took.
  void call_through(SipsdServer& proxy, int* status, std::chrono::milliseconds* took) {
    auto uac = UdpPeer::bind();
    ASSERT_TRUE(uac.ok());
    SipRequestSpec spec;
    spec.method = "INVITE";
    spec.request_uri = "sip:bob@127.0.0.1:9";
    spec.body = sdp();
    SipRequest invite = build_sip_request(spec, (*uac)->hop("127.0.0.1", proxy.udp_port()));
    auto start = std::chrono::steady_clock::now();
    ASSERT_TRUE((*uac)->send_to("127.0.0.1", proxy.udp_port(), invite.text).ok());
    auto reply = recv_skipping_trying(**uac, 12s);
    ASSERT_TRUE(reply.ok()) << reply.message() << "\n" << proxy.log();
    *took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                  start);
    *status = reply->status();
    EXPECT_EQ(reply->reason(), reply->status() == 477 ? "Send failed (477/TM)" : reply->reason());
    ASSERT_TRUE((*uac)->send_to("127.0.0.1", proxy.udp_port(), ack_of(invite, *reply)).ok());
  }
};

// The send fails at once: no tls_mgm client domain matches the peer's address (the only one
// is for another port).
TEST_F(PeerConnectFails, NoClientDomainForThePeer) {
  SipsdOptions o = caller_proxy(free_tcp_port(), "client-ca2.pem", "client-ca2-key.pem");
  o.route = std::string("route {") + kInDialog +
            "  $du = \"sip:127.0.0.1:" + std::to_string(free_tcp_port()) +
            ";transport=tls\";\n  route(relay);\n}\n" + kRelay;
  auto a = SipsdServer::start(o);
  ASSERT_TRUE(a.ok()) << a.message();
  int status = 0;
  std::chrono::milliseconds took{0};
  ASSERT_NO_FATAL_FAILURE(call_through(**a, &status, &took));
  EXPECT_EQ(status, 477) << (*a)->log();
  EXPECT_TRUE((*a)->wait_for_log("no tls_mgm client domain matches", 1s)) << (*a)->log();
  EXPECT_TRUE(no_transactions(**a)) << (*a)->log();
}

// tls_mgm's client_sip_domain_avp and client_tls_domain_avp (the tls_mgm README's "client
// domains by SIP domain" example): A has two client domains for B's address, "alice" for the
// SIP domain a.example (client.pem, CN alice.example.com) and "anyone" for "*"
// (client-revoked.pem, CN mallory.example.com; B checks no CRL, so both verify against
// ca.pem); its route puts the From domain in $avp(tls_sip_dom), and an X-Client-Domain header's
// value in $avp(tls_dom). B tells the callee which certificate it saw.
class ClientDomainAvps : public TwoProxies {
 protected:
  void SetUp() override {
    SipsdOptions bo = callee_proxy();
    for (std::string& l : bo.tls_domain)
      if (size_t at = l.find("ca2.pem"); at != std::string::npos) l.replace(at, 7, "ca.pem");
    ASSERT_NO_FATAL_FAILURE(start_b(bo));

    SipsdOptions ao = caller_proxy(b_->tls_port(), "client.pem", "client-key.pem");
    ao.modparams = tm_modules();
    ao.modparams.push_back("modparam(\"tls_mgm\", \"client_sip_domain_avp\", \"tls_sip_dom\")");
    ao.modparams.push_back("modparam(\"tls_mgm\", \"client_tls_domain_avp\", \"$avp(tls_dom)\")");
    const std::string b_addr = "127.0.0.1:" + port_of(b_->tls_port());
    auto domain = [&](const std::string& name, const std::string& sip_domain,
                      const std::string& cert) {
      append(&ao.modparams, tls_domain("client_domain", name,
                                       {{"match_ip_address", b_addr},
                                        {"match_sip_domain", sip_domain},
                                        {"certificate", test_cert(cert + ".pem")},
                                        {"private_key", test_cert(cert + "-key.pem")},
                                        {"ca_list", test_cert("ca.pem")},
                                        {"verify_cert", "1"}}));
    };
    domain("alice", "a.example", "client");
    domain("anyone", "*", "client-revoked");
    ao.route = std::string("route {") + kInDialog +
               "  $avp(tls_sip_dom) = $fd;\n"
               "  if (is_present_hf(\"X-Client-Domain\")) $avp(tls_dom) = $hdr(X-Client-Domain);\n"
               "  $du = \"sip:" +
               b_addr + ";transport=tls\";\n  route(relay);\n}\n" + kRelay;
    ASSERT_NO_FATAL_FAILURE(start_a_and_phones(ao));
  }

  // An OPTIONS from `from_uri` through A and B: the certificate B saw (X-Peer-Verified at the
  // callee), or (`refused`: A answers it itself) the final reply's status when the callee got
  // nothing.
  std::string send_through(const std::string& from_uri, const std::string& client_domain = "",
                           bool refused = false) {
    SipRequestSpec spec;
    spec.method = "OPTIONS";
    spec.request_uri = "sip:bob@127.0.0.1:" + port_of(uas_->local_port());
    spec.from_uri = from_uri;
    if (!client_domain.empty()) spec.extra_headers.push_back("X-Client-Domain: " + client_domain);
    SipRequest req = build_sip_request(spec, uac_->hop("127.0.0.1", a_->udp_port()));
    if (!uac_->send_to("127.0.0.1", a_->udp_port(), req.text).ok()) return "send failed";
    if (refused) {
      auto reply = recv_skipping_trying(*uac_, 5s);
      if (!uas_->expect_nothing(100ms)) return "the callee got it";
      return reply.ok() ? "reply " + std::to_string(reply->status()) : "nothing";
    }
    auto in = uas_->recv_message(3s);
    if (!in.ok()) return "the callee got nothing";
    if (!uas_->send_to("127.0.0.1", b_->udp_port(), build_reply(*in, reply_spec(200))).ok())
      return "reply not sent";
    auto ok = recv_skipping_trying(*uac_, 5s);
    if (!ok.ok() || ok->status() != 200) return "no 200 back";
    return in->header("X-Peer-Verified").value_or("no header");
  }
};

TEST_F(ClientDomainAvps, PickTheClientDomainBySipDomainAndByName) {
  // By SIP domain: a.example matches "alice"; any other (and no AVP value) only the "*" domain.
  EXPECT_EQ(send_through("sip:alice@a.example"), "1 alice.example.com") << logs();
  EXPECT_EQ(send_through("sip:carol@c.example"), "1 mallory.example.com") << logs();
  // By name, whatever the SIP domain: the connection made for "alice" is reused for it.
  EXPECT_EQ(send_through("sip:carol@c.example", "alice"), "1 alice.example.com") << logs();
  // Two connections (cert_check_on_conn_reusage: one per client domain), both outbound.
  auto on_a = connections(*a_);
  ASSERT_TRUE(on_a.ok()) << on_a.message();
  EXPECT_EQ(on_a->size(), 2u) << describe(*on_a);
  // A name no client domain has: the send fails at once (477), and the log says which name.
  EXPECT_EQ(send_through("sip:alice@a.example", "nosuch", /*refused=*/true), "reply 477") << logs();
  EXPECT_TRUE(
      a_->wait_for_log("no tls_mgm client domain named 'nosuch' (client_tls_domain_avp)", 1s))
      << logs();
  EXPECT_TRUE(no_transactions(*a_)) << a_->log();
}

}  // namespace
}  // namespace sipsd::test
