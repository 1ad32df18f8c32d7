// RFC 5626 at an edge proxy in front of a registrar: two real sipsd processes, the edge E
// (add_path(), record_route(), loose_route()) and the registrar R (save with path-lazy,
// lookup). A phone registers with outbound over TLS to E; E's Path carries a flow token and
// ;ob, so R accepts the outbound binding; calls from R's side reach the phone over its own TLS
// connection at E (whichever E worker reads them), and get 430 (Flow Failed) once that
// connection is gone; a made-up token gets the script's 403 and is counted; a dialog the phone
// starts is record-routed with its flow token, so the callee's BYE reaches the phone too; a UDP
// flow is the address the REGISTER came from and the edge's UDP socket.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>

#include "tests/integration/proxy_fixture.h"
#include "tests/integration/sip_dialog.h"
#include "tests/integration/sip_test_client.h"
#include "tests/integration/sipsd_server.h"
#include "tests/integration/test_endpoint.h"

namespace sipsd::test {
namespace {

using namespace std::chrono_literals;

const char* const kRegistrarRoute = R"cfg(
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
  if (is_method("REGISTER")) { save("location", "path-lazy"); exit; }
  if (!lookup("location")) { sl_send_reply(404, "Not Found"); exit; }
  record_route();
  t_relay();
}
)cfg";

// The edge: everything from the phones goes to the registrar over TCP; what comes back with
// our Route goes where loose_route() says (a flow, when the Route carries a token).
std::string edge_route(uint16_t registrar_tcp_port) {
  const std::string registrar =
      "sip:127.0.0.1:" + std::to_string(registrar_tcp_port) + ";transport=tcp";
  return R"cfg(
route {
  if (!mf_process_maxfwd_header(10)) { sl_send_reply(483, "Too Many Hops"); exit; }
  loose_route();
  $var(lr) = $rc;
  if ($var(lr) == -2) { sl_send_reply(403, "Forbidden"); exit; }
  if (has_totag()) {
    if ($var(lr) > 0) { t_relay(); exit; }
    if (is_method("ACK")) { if (t_check_trans()) t_relay(); exit; }
    sl_send_reply(404, "Not here"); exit;
  }
  if (is_method("CANCEL")) { if (t_check_trans()) t_relay(); exit; }
  t_check_trans();
  if ($var(lr) > 0) { t_relay(); exit; }
  if (is_method("OPTIONS") && is_myself("$rd")) { sl_send_reply(200, "OK"); exit; }
  if (is_method("REGISTER")) {
    add_path();
    $du = ")cfg" +
         registrar + R"cfg(";
    t_relay();
    exit;
  }
  record_route();
  $du = ")cfg" +
         registrar + R"cfg(";
  t_relay();
}
)cfg";
}

std::vector<std::string> proxy_modules() {
  return {"loadmodule \"tm.so\"",
          "loadmodule \"rr.so\"",
          "loadmodule \"maxfwd.so\"",
          "modparam(\"tm\", \"fr_timeout\", 2)",
          "modparam(\"tm\", \"fr_inv_timeout\", 3)",
          "modparam(\"tm\", \"wt_timer\", 1)"};
}

SipsdOptions registrar_options() {
  SipsdOptions o;
  o.workers = 2;
  o.modparams = proxy_modules();
  o.modparams.push_back("loadmodule \"usrloc.so\"");
  o.modparams.push_back("loadmodule \"registrar.so\"");
  o.route = kRegistrarRoute;
  return o;
}

SipsdOptions edge_options(uint16_t registrar_tcp_port) {
  SipsdOptions o;
  o.workers = 3;
  o.udp = true;
  o.modparams = proxy_modules();
  o.modparams.push_back("loadmodule \"path.so\"");
  o.route = edge_route(registrar_tcp_port);
  return o;
}

const std::string kInstance =
    ";+sip.instance=\"<urn:uuid:0c67b4e8-3d35-4f61-a1c6-a3c9e0ec8a21>\";reg-id=1";

// An outbound REGISTER for `user`@127.0.0.1 from `phone` (its Contact names an address nothing
// listens on: only its flow reaches it).
SipRequest outbound_register(TestEndpoint& phone, const std::string& user = "carol",
                             const std::string& transport = "tls") {
  SipRequestSpec spec;
  spec.method = "REGISTER";
  spec.request_uri = "sip:127.0.0.1";
  spec.from_uri = "sip:" + user + "@127.0.0.1";
  spec.to_uri = spec.from_uri;
  spec.contact = "sip:" + user + "@192.0.2.77:5999;transport=" + transport + ";ob";
  spec.extra_headers = {"Supported: outbound, path", "Expires: 600"};
  SipRequest r = build_sip_request(spec, phone.hop());
  const std::string plain = "Contact: <" + spec.contact + ">";
  size_t at = r.text.find(plain);
  if (at != std::string::npos) r.text.insert(at + plain.size(), kInstance);
  return r;
}

SipRequest invite(TestEndpoint& from, const std::string& user, const std::string& contact) {
  SipRequestSpec spec;
  spec.method = "INVITE";
  spec.request_uri = "sip:" + user + "@127.0.0.1";
  spec.from_uri = "sip:caller@127.0.0.1";
  spec.contact = contact;
  spec.body = sdp();
  return build_sip_request(spec, from.hop());
}

// Final reply, skipping provisional ones.
Result<SipMessage> final_reply(TestEndpoint& ep) {
  for (int i = 0; i < 10; ++i) {
    auto r = ep.recv(6s);
    if (!r.ok() || r->status() >= 200) return r;
  }
  return make_error("only provisional replies");
}

class OutboundEdge : public ::testing::Test {
 protected:
  void SetUp() override {
    auto r = SipsdServer::start(registrar_options());
    ASSERT_TRUE(r.ok()) << r.message();
    registrar_ = std::move(r).value();
    auto e = SipsdServer::start(edge_options(registrar_->tcp_port()));
    ASSERT_TRUE(e.ok()) << e.message();
    edge_ = std::move(e).value();
  }

  std::string logs() const {
    return "--- edge\n" + edge_->log() + "--- registrar\n" + registrar_->log();
  }

  // carol registers through the edge; returns her phone (its TLS connection to the edge).
  std::unique_ptr<TestEndpoint> register_carol() {
    auto phone = TestEndpoint::tls(*edge_);
    EXPECT_TRUE(phone.ok()) << phone.message();
    if (!phone.ok()) return nullptr;
    EXPECT_TRUE((*phone)->send(outbound_register(**phone).text).ok());
    auto ok = final_reply(**phone);
    EXPECT_TRUE(ok.ok()) << ok.message() << "\n" << logs();
    if (!ok.ok()) return nullptr;
    EXPECT_EQ(ok->status(), 200) << ok->text();
    EXPECT_EQ(ok->header("Require").value_or(""), "outbound") << ok->text();
    return std::move(phone).value();
  }

  std::unique_ptr<SipsdServer> registrar_;
  std::unique_ptr<SipsdServer> edge_;
};

TEST_F(OutboundEdge, PathCarriesAFlowTokenAndCallsComeBackOnTheFlow) {
  auto phone = register_carol();
  ASSERT_NE(phone, nullptr);
  auto dump = registrar_->mi_result("ul_dump");
  ASSERT_TRUE(dump.ok());
  const std::string text = dump->dump();
  // Double Path (the phone came over TLS, the REGISTER left over TCP), each with the token;
  // the edge's ;ob told the registrar outbound works through it.
  EXPECT_NE(text.find("<sip:flow-"), std::string::npos) << text;
  EXPECT_NE(text.find(";transport=tcp;r2=on;lr;ob>"), std::string::npos) << text;
  EXPECT_NE(text.find(";transport=tls;r2=on;lr;ob>"), std::string::npos) << text;

  // Calls from the registrar's side: they come to the edge on the registrar's connection,
  // which the supervisor hands to another edge worker than the phone's (the least loaded), and
  // each reaches the phone on its registration connection.
  for (int i = 0; i < 4; ++i) {
    auto caller = TestEndpoint::tcp(*registrar_);
    ASSERT_TRUE(caller.ok());
    ASSERT_TRUE((*caller)->send(invite(**caller, "carol", (*caller)->uri("caller")).text).ok());
    // (The edge's ACK of the previous call's 486 may come first.)
    auto in = phone->recv(5s);
    for (int skip = 0; in.ok() && in->method() != "INVITE" && skip < 3; ++skip)
      in = phone->recv(5s);
    ASSERT_TRUE(in.ok()) << in.message() << "\n" << logs();
    EXPECT_EQ(in->method(), "INVITE");
    EXPECT_EQ(in->uri(), "sip:carol@192.0.2.77:5999;transport=tls;ob");
    // Both our Routes were consumed at the edge.
    EXPECT_TRUE(in->headers("Route").empty()) << in->text();
    ASSERT_TRUE(phone->send(build_reply(*in, reply_spec(486, "c" + std::to_string(i)))).ok());
    auto busy = final_reply(**caller);
    ASSERT_TRUE(busy.ok()) << busy.message() << "\n" << logs();
    EXPECT_EQ(busy->status(), 486) << busy->text();
  }
  EXPECT_EQ(server_stat(*edge_, "outbound:flows_failed"), 0);
  // The phone's connection and the registrar's were with different edge workers: the INVITEs
  // crossed from one worker to the other.
  auto conns = edge_->stats();
  ASSERT_TRUE(conns.ok()) << conns.message();
  int phone_worker = 0, registrar_worker = 0;
  for (const MiConnection& c : conns->connections) {
    if (c.outbound) continue;
    if (c.type == "tls") phone_worker = c.worker;
    if (c.type == "tcp") registrar_worker = c.worker;
  }
  EXPECT_NE(phone_worker, 0);
  EXPECT_NE(registrar_worker, 0);
  EXPECT_NE(phone_worker, registrar_worker);
  EXPECT_GE(server_stat(*edge_, "core:relayed_out"), 4);

  // The flow fails: the registrar still holds the binding (it is the edge's flow, not one of
  // the registrar's connections), and the edge answers 430 rather than opening a connection.
  phone.reset();
  auto closed =
      edge_->stats_until([](const ServerStats& s) { return s.get("tls:conns_open") == 0; });
  ASSERT_TRUE(closed.ok()) << closed.message();
  ASSERT_EQ(closed->get("tls:conns_open"), 0u);
  auto caller = TestEndpoint::tcp(*registrar_);
  ASSERT_TRUE(caller.ok());
  ASSERT_TRUE((*caller)->send(invite(**caller, "carol", (*caller)->uri("caller")).text).ok());
  auto failed = final_reply(**caller);
  ASSERT_TRUE(failed.ok()) << failed.message() << "\n" << logs();
  EXPECT_EQ(failed->status(), 430) << failed->text();
  EXPECT_EQ(failed->reason(), "Flow Failed") << failed->text();
  EXPECT_EQ(server_stat(*edge_, "outbound:flows_failed"), 1);
  EXPECT_TRUE(edge_->wait_for_log("is gone: 430")) << logs();
}

// A UDP flow is the phone's address and port and the edge's UDP socket: the INVITE leaves
// from that socket to the port the REGISTER came from, not to the Contact.
TEST_F(OutboundEdge, AUdpFlowIsTheSourceAddressAndTheSocket) {
  auto phone = TestEndpoint::udp(*edge_);
  ASSERT_TRUE(phone.ok()) << phone.message();
  ASSERT_TRUE((*phone)->send(outbound_register(**phone, "erin", "udp").text).ok());
  auto ok = final_reply(**phone);
  ASSERT_TRUE(ok.ok()) << ok.message() << "\n" << logs();
  ASSERT_EQ(ok->status(), 200) << ok->text();
  EXPECT_EQ(ok->header("Require").value_or(""), "outbound") << ok->text();

  auto caller = TestEndpoint::tcp(*registrar_);
  ASSERT_TRUE(caller.ok());
  ASSERT_TRUE((*caller)->send(invite(**caller, "erin", (*caller)->uri("caller")).text).ok());
  auto in = (*phone)->recv(5s);
  for (int skip = 0; in.ok() && in->method() != "INVITE" && skip < 3; ++skip)
    in = (*phone)->recv(5s);
  ASSERT_TRUE(in.ok()) << in.message() << "\n" << logs();
  EXPECT_EQ(in->uri(), "sip:erin@192.0.2.77:5999;transport=udp;ob");
  ASSERT_FALSE(in->vias().empty());
  EXPECT_NE(in->vias()[0].find("SIP/2.0/UDP 127.0.0.1:" + std::to_string(edge_->udp_port())),
            std::string::npos)
      << in->text();
  ASSERT_TRUE((*phone)->send(build_reply(*in, reply_spec(486, "e1"))).ok());
  auto busy = final_reply(**caller);
  ASSERT_TRUE(busy.ok()) << busy.message() << "\n" << logs();
  EXPECT_EQ(busy->status(), 486) << busy->text();
}

TEST_F(OutboundEdge, AForgedFlowTokenIsRefusedAndCounted) {
  auto phone = register_carol();
  ASSERT_NE(phone, nullptr);
  auto dump = registrar_->mi_result("ul_dump");
  ASSERT_TRUE(dump.ok());
  const std::string text = dump->dump();
  const size_t at = text.find("flow-");
  ASSERT_NE(at, std::string::npos) << text;
  std::string token = text.substr(at, text.find('@', at) - at);
  // One changed hex digit of the connection id.
  token[token.size() - 22] = token[token.size() - 22] == '0' ? '1' : '0';

  auto attacker = TestEndpoint::tcp(*edge_);
  ASSERT_TRUE(attacker.ok());
  SipRequestSpec spec;
  spec.method = "INVITE";
  spec.request_uri = "sip:carol@192.0.2.77:5999;transport=tls";
  spec.from_uri = "sip:mallory@127.0.0.1";
  spec.contact = (*attacker)->uri("mallory");
  spec.body = sdp();
  spec.extra_headers = {"Route: <sip:" + token + "@127.0.0.1:" + std::to_string(edge_->tcp_port()) +
                        ";transport=tcp;lr>"};
  ASSERT_TRUE((*attacker)->send(build_sip_request(spec, (*attacker)->hop()).text).ok());
  auto refused = final_reply(**attacker);
  ASSERT_TRUE(refused.ok()) << refused.message() << "\n" << logs();
  EXPECT_EQ(refused->status(), 403);
  EXPECT_TRUE(phone->nothing_within(300ms));
  EXPECT_EQ(server_stat(*edge_, "outbound:bad_flow_tokens"), 1);
  EXPECT_TRUE(edge_->wait_for_log("the flow token in our Route fails its check")) << logs();
}

TEST_F(OutboundEdge, ADialogThePhoneStartsComesBackOnItsFlow) {
  auto phone = register_carol();
  ASSERT_NE(phone, nullptr);
  // dave registers straight at the registrar (no outbound).
  auto dave = TestEndpoint::tcp(*registrar_);
  ASSERT_TRUE(dave.ok());
  {
    SipRequestSpec spec;
    spec.method = "REGISTER";
    spec.request_uri = "sip:127.0.0.1";
    spec.from_uri = "sip:dave@127.0.0.1";
    spec.to_uri = spec.from_uri;
    spec.contact = (*dave)->uri("dave");
    ASSERT_TRUE((*dave)->send(build_sip_request(spec, (*dave)->hop()).text).ok());
    auto ok = final_reply(**dave);
    ASSERT_TRUE(ok.ok()) << ok.message() << "\n" << logs();
    ASSERT_EQ(ok->status(), 200) << ok->text();
  }

  // carol calls dave with an outbound Contact: the edge's Record-Route names her flow.
  const std::string carol_contact = "sip:carol@192.0.2.77:5999;transport=tls;ob";
  SipRequest inv = invite(*phone, "dave", carol_contact);
  ASSERT_TRUE(phone->send(inv.text).ok());
  auto in = (*dave)->recv(5s);
  ASSERT_TRUE(in.ok()) << in.message() << "\n" << logs();
  ASSERT_EQ(in->method(), "INVITE");
  std::vector<std::string> rr;
  for (const std::string& v : in->headers("Record-Route"))
    for (const std::string& one : split_header_list(v)) rr.push_back(one);
  ASSERT_EQ(rr.size(), 3u) << in->text();  // the registrar's, then the edge's double one
  EXPECT_EQ(rr[0].find("flow-"), std::string::npos) << rr[0];
  EXPECT_NE(rr[1].find("<sip:flow-"), std::string::npos) << rr[1];
  EXPECT_NE(rr[2].find("<sip:flow-"), std::string::npos) << rr[2];
  ASSERT_TRUE(
      (*dave)->send(build_reply(*in, reply_spec(200, "d1", (*dave)->uri("dave"), sdp()))).ok());
  auto ok = phone->recv(5s);
  for (int skip = 0; ok.ok() && ok->status() < 200 && skip < 3; ++skip) ok = phone->recv(5s);
  ASSERT_TRUE(ok.ok()) << ok.message() << "\n" << logs();
  ASSERT_EQ(ok->status(), 200) << ok->text();

  // dave hangs up: his BYE follows the route set (Record-Route in order, RFC 3261 §12.1.1)
  // to the registrar, then to the edge, which sends it down carol's flow (her Contact is
  // unreachable).
  std::string routes;
  for (const std::string& r : rr) routes += (routes.empty() ? "" : ", ") + r;
  SipRequestSpec bye;
  bye.method = "BYE";
  bye.request_uri = carol_contact;
  bye.from_uri = "sip:dave@127.0.0.1";
  bye.from_tag = "d1";
  bye.to_uri = "sip:caller@127.0.0.1";
  bye.call_id = inv.call_id;
  bye.cseq = 1;
  bye.extra_headers = {"Route: " + routes};
  SipRequest b = build_sip_request(bye, (*dave)->hop());
  // The To of dave's BYE is carol's From with her tag.
  const std::string to_line = "To: <sip:caller@127.0.0.1>";
  if (size_t at = b.text.find(to_line); at != std::string::npos)
    b.text.insert(at + to_line.size(), ";tag=" + inv.from_tag);
  ASSERT_TRUE((*dave)->send(b.text).ok());
  auto got = phone->recv(5s);
  for (int skip = 0; got.ok() && !got->is_request() && skip < 3; ++skip) got = phone->recv(5s);
  ASSERT_TRUE(got.ok()) << got.message() << "\n" << logs();
  EXPECT_EQ(got->method(), "BYE") << got->text();
  ASSERT_TRUE(phone->send(build_reply(*got, reply_spec(200))).ok());
  auto bye_ok = final_reply(**dave);
  ASSERT_TRUE(bye_ok.ok()) << bye_ok.message() << "\n" << logs();
  EXPECT_EQ(bye_ok->status(), 200);
}

}  // namespace
}  // namespace sipsd::test
