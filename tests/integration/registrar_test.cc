// registrar + usrloc against the real sipsd: REGISTER over TLS answered 200 with the bindings
// and shown by ul_dump, unregistration (Expires 0, "*"), max_contacts, a call to a registered
// phone delivered over the phone's own TLS connection when the INVITE arrives at another
// worker, parallel forking to every binding, 404 for an unknown user, tcp_persistent_flag
// bindings dropped when their connection closes, and the usrloc/registrar statistics.
#include <gtest/gtest.h>

#include <chrono>
#include <set>
#include <string>
#include <thread>

#include "core/db/connection.h"
#include "core/db/schema.h"
#include "tests/integration/proxy_fixture.h"
#include "tests/integration/sip_dialog.h"
#include "tests/integration/sip_test_client.h"
#include "tests/integration/sipsd_server.h"
#include "tests/integration/test_endpoint.h"
#include "tests/integration/test_env.h"

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
  if (is_method("REGISTER")) {
    if ($hdr(X-Persistent) != NULL) setflag("KEEP_CONN");
    if ($hdr(X-Path) != NULL) { save("location", "path-lazy"); exit; }
    save("location");
    exit;
  }
  if (!lookup("location")) { sl_send_reply(404, "Not Found"); exit; }
  record_route();
  if ($hdr(X-Serial) != NULL) {
    serialize_branches(1);
    next_branches();
    t_on_failure("next_q");
  }
  if (!t_relay()) sl_reply_error();
}

failure_route[next_q] {
  if (t_was_cancelled()) exit;
  if (t_check_status("408|480|486") && next_branches()) {
    t_on_failure("next_q");
    t_relay();
  }
}
)cfg";

SipsdOptions registrar_options(int workers = 2) {
  SipsdOptions o;
  o.workers = workers;
  o.modparams = {"loadmodule \"tm.so\"",
                 "loadmodule \"rr.so\"",
                 "loadmodule \"maxfwd.so\"",
                 "loadmodule \"usrloc.so\"",
                 "loadmodule \"registrar.so\"",
                 "modparam(\"tm\", \"fr_timeout\", 2)",
                 "modparam(\"tm\", \"fr_inv_timeout\", 3)",
                 "modparam(\"tm\", \"wt_timer\", 1)",
                 "modparam(\"usrloc\", \"timer_interval\", 1)",
                 "modparam(\"registrar\", \"max_contacts\", 2)",
                 "modparam(\"registrar\", \"tcp_persistent_flag\", \"KEEP_CONN\")"};
  o.route = kRegistrarRoute;
  return o;
}

// A REGISTER for `user` from endpoint `ep`: `contact` as its Contact URI ("" = no Contact
// header of the helper's), then the extra header lines as given.
SipRequest make_register(TestEndpoint& ep, const std::string& user, const std::string& contact,
                         std::vector<std::string> extra, uint32_t cseq = 1,
                         const std::string& call_id = "") {
  SipRequestSpec spec;
  spec.method = "REGISTER";
  spec.request_uri = "sip:127.0.0.1";
  spec.from_uri = "sip:" + user + "@127.0.0.1";
  spec.to_uri = spec.from_uri;
  spec.contact = contact.empty() ? "sip:placeholder@invalid" : contact;
  spec.cseq = cseq;
  spec.call_id = call_id;
  spec.extra_headers = std::move(extra);
  SipRequest r = build_sip_request(spec, ep.hop());
  if (contact.empty()) {
    const std::string line = "Contact: <sip:placeholder@invalid>\r\n";
    size_t at = r.text.find(line);
    if (at != std::string::npos) r.text.erase(at, line.size());
  }
  return r;
}

Result<SipMessage> do_register(TestEndpoint& ep, const SipRequest& r) {
  Status st = ep.send(r.text);
  if (!st.ok()) return make_error(st.message());
  return ep.recv(5s);
}

size_t aor_count(SipsdServer& srv) {
  auto r = srv.mi_result("ul_dump");
  if (!r.ok()) return 999;
  const Json* domains = r->find("Domains");
  if (domains == nullptr || domains->items().empty()) return 998;
  const Json* aors = domains->items()[0].find("AORs");
  return aors ? aors->items().size() : 997;
}

TEST(Registrar, RegisterOverTlsAnd200ListsTheBinding) {
  auto srv = SipsdServer::start(registrar_options());
  ASSERT_TRUE(srv.ok()) << srv.message();
  auto phone = TestEndpoint::tls(**srv);
  ASSERT_TRUE(phone.ok()) << phone.message();
  const std::string contact = (*phone)->uri("alice");
  auto ok = do_register(**phone, make_register(**phone, "alice", contact, {"Expires: 600"}));
  ASSERT_TRUE(ok.ok()) << ok.message() << "\n" << (*srv)->log();
  EXPECT_EQ(ok->status(), 200) << ok->text();
  auto c = ok->header("Contact");
  ASSERT_TRUE(c.has_value()) << ok->text();
  EXPECT_EQ(*c, "<" + contact + ">;expires=600");
  EXPECT_TRUE(ok->header("To").value_or("").find(";tag=") != std::string::npos);

  // ul_dump shows it, ul_show_contact too.
  auto dump = (*srv)->mi_result("ul_dump");
  ASSERT_TRUE(dump.ok()) << dump.message();
  std::string text = dump->dump();
  EXPECT_NE(text.find(R"("name":"location","hash_size":512,"AORs":[{"AOR":"alice","Contacts":)"
                      R"([{"Contact":")" +
                      contact + R"(","ContactID":)"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find(R"("Socket":"tls:127.0.0.1:)"), std::string::npos) << text;
  Json args = Json::array();
  args.push("location");
  args.push("alice");
  auto show = (*srv)->mi_result("ul_show_contact", args);
  ASSERT_TRUE(show.ok()) << show.message();
  EXPECT_EQ(show->find("AOR")->as_string(), "alice");
  Json nobody = Json::array();
  nobody.push("location");
  nobody.push("nobody");
  auto missing = (*srv)->mi("ul_show_contact", nobody);
  ASSERT_TRUE(missing.ok());
  EXPECT_NE(missing->dump().find(R"("error":{"code":404,"message":"AOR not found"})"),
            std::string::npos)
      << missing->dump();

  EXPECT_EQ(server_stat(**srv, "usrloc:registered_users"), 1);
  EXPECT_EQ(server_stat(**srv, "usrloc:location-contacts"), 1);
  EXPECT_EQ(server_stat(**srv, "registrar:accepted_regs"), 1);
  EXPECT_EQ(server_stat(**srv, "registrar:max_contacts"), 2);
  EXPECT_EQ(server_stat(**srv, "registrar:default_expire"), 3600);

  // A short Expires is raised to min_expires (60), never 423.
  auto short_reg = do_register(**phone, make_register(**phone, "alice", contact, {"Expires: 5"}, 2,
                                                      "short-" + unique_token()));
  ASSERT_TRUE(short_reg.ok());
  EXPECT_EQ(short_reg->status(), 200);
  EXPECT_EQ(short_reg->header("Contact").value_or(""), "<" + contact + ">;expires=60");
}

TEST(Registrar, UnregisterWithExpiresZeroAndWildcard) {
  auto srv = SipsdServer::start(registrar_options());
  ASSERT_TRUE(srv.ok()) << srv.message();
  auto phone = TestEndpoint::tls(**srv);
  ASSERT_TRUE(phone.ok()) << phone.message();
  const std::string call_id = unique_token();
  const std::string c1 = (*phone)->uri("bob");
  const std::string c2 = "sip:bob@192.0.2.7:5061;transport=tls";
  auto r = do_register(**phone, make_register(**phone, "bob", c1, {}, 1, call_id));
  ASSERT_TRUE(r.ok() && r->status() == 200) << (*srv)->log();
  r = do_register(**phone, make_register(**phone, "bob", c2, {"Expires: 300"}, 2, call_id));
  ASSERT_TRUE(r.ok() && r->status() == 200);
  EXPECT_NE(r->header("Contact").value_or("").find(", <" + c2 + ">;expires=300"), std::string::npos)
      << r->text();

  auto zero = do_register(
      **phone, make_register(**phone, "bob", "", {"Contact: <" + c1 + ">;expires=0"}, 4, call_id));
  ASSERT_TRUE(zero.ok());
  EXPECT_EQ(zero->status(), 200) << zero->text();
  EXPECT_EQ(zero->header("Contact").value_or("").rfind("<" + c2 + ">;expires=", 0), 0u)
      << zero->text();

  // "*" needs Expires: 0.
  auto bad = do_register(
      **phone, make_register(**phone, "bob", "", {"Contact: *", "Expires: 60"}, 5, call_id));
  ASSERT_TRUE(bad.ok());
  EXPECT_EQ(bad->status(), 400);
  EXPECT_TRUE(bad->header("P-Registrar-Error").has_value()) << bad->text();
  auto star = do_register(
      **phone, make_register(**phone, "bob", "", {"Contact: *", "Expires: 0"}, 6, call_id));
  ASSERT_TRUE(star.ok());
  EXPECT_EQ(star->status(), 200) << star->text();
  EXPECT_FALSE(star->header("Contact").has_value()) << star->text();
  EXPECT_EQ(aor_count(**srv), 0u);
  EXPECT_EQ(server_stat(**srv, "usrloc:registered_users"), 0);
  EXPECT_EQ(server_stat(**srv, "registrar:rejected_regs"), 1);
}

TEST(Registrar, MaxContactsExceededIs503) {
  auto srv = SipsdServer::start(registrar_options());
  ASSERT_TRUE(srv.ok()) << srv.message();
  auto phone = TestEndpoint::tls(**srv);
  ASSERT_TRUE(phone.ok()) << phone.message();
  auto r = do_register(**phone, make_register(**phone, "carol", "",
                                              {"Contact: <sip:c@10.0.0.1>, "
                                               "<sip:c@10.0.0.2>"}));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status(), 200);
  r = do_register(**phone, make_register(**phone, "carol", "sip:c@10.0.0.3", {}, 2));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status(), 503) << r->text();
  EXPECT_EQ(r->header("P-Registrar-Error").value_or(""), "Too many registered contacts");
  // A REGISTER with 1,000 Contacts (100 headers of 10): refused, nothing stored, the server
  // still answers.
  std::vector<std::string> many;
  for (int line = 0; line < 100; ++line) {
    std::string h = "Contact: ";
    for (int i = 0; i < 10; ++i)
      h += (i ? ", <sip:d@10.1." : "<sip:d@10.1.") + std::to_string(line) + "." +
           std::to_string(i) + ">";
    many.push_back(h);
  }
  r = do_register(**phone, make_register(**phone, "dave", "", many));
  ASSERT_TRUE(r.ok()) << r.message();
  EXPECT_EQ(r->status(), 503);
  EXPECT_EQ(aor_count(**srv), 1u);
  SipRequestSpec opt;
  opt.request_uri = "sip:127.0.0.1";
  ASSERT_TRUE((*phone)->send(build_sip_request(opt, (*phone)->hop()).text).ok());
  auto pong = (*phone)->recv(5s);
  ASSERT_TRUE(pong.ok()) << pong.message();
  EXPECT_EQ(pong->status(), 200);
}

// Registers `user` from `ep` with its own URI as Contact (and `extra` lines); asserts a 200.
void register_ok(SipsdServer& srv, TestEndpoint& ep, const std::string& user,
                 std::vector<std::string> extra = {}) {
  auto r =
      do_register(ep, make_register(ep, user, ep.uri(user), std::move(extra), 1, unique_token()));
  ASSERT_TRUE(r.ok()) << r.message() << "\n" << srv.log();
  ASSERT_EQ(r->status(), 200) << r->text();
}

// An INVITE to sip:<user>@127.0.0.1 from `caller`.
SipRequest invite_to(TestEndpoint& caller, const std::string& user) {
  SipRequestSpec spec;
  spec.method = "INVITE";
  spec.request_uri = "sip:" + user + "@127.0.0.1";
  spec.from_uri = "sip:alice@127.0.0.1";
  spec.contact = caller.uri("alice");
  spec.body = sdp();
  return build_sip_request(spec, caller.hop());
}

TEST(Registrar, CallReachesThePhoneOverItsOwnConnectionFromAnotherWorker) {
  auto srv = SipsdServer::start(registrar_options(3));
  ASSERT_TRUE(srv.ok()) << srv.message();
  // The phone behind "NAT": its Contact names a port nothing listens on; only its TLS
  // connection reaches it.
  auto phone = TestEndpoint::tls(**srv);
  ASSERT_TRUE(phone.ok()) << phone.message();
  auto r =
      do_register(**phone, make_register(**phone, "bob", "sip:bob@192.0.2.99:5999;transport=tls",
                                         {}, 1, unique_token()));
  ASSERT_TRUE(r.ok() && r->status() == 200) << (*srv)->log();

  // Callers on further connections: the supervisor spreads them over the other workers.
  std::vector<std::unique_ptr<TestEndpoint>> callers;
  for (int i = 0; i < 3; ++i) {
    auto c = TestEndpoint::tls(**srv);
    ASSERT_TRUE(c.ok()) << c.message();
    callers.push_back(std::move(c).value());
  }
  auto st = (*srv)->stats();
  ASSERT_TRUE(st.ok());
  std::set<int> workers;
  for (const MiConnection& c : st->connections) workers.insert(c.worker);
  EXPECT_GE(workers.size(), 2u) << "connections all on one worker";

  for (auto& caller : callers) {
    SipRequest inv = invite_to(*caller, "bob");
    ASSERT_TRUE(caller->send(inv.text).ok());
    auto trying = caller->recv(5s);
    ASSERT_TRUE(trying.ok()) << trying.message() << "\n" << (*srv)->log();
    EXPECT_EQ(trying->status(), 100);
    auto in = (*phone)->recv(5s);
    ASSERT_TRUE(in.ok()) << in.message() << "\n" << (*srv)->log();
    EXPECT_EQ(in->method(), "INVITE");
    EXPECT_EQ(in->uri(), "sip:bob@192.0.2.99:5999;transport=tls");
    ASSERT_TRUE((*phone)->send(build_reply(*in, reply_spec(486, "b0b"))).ok());
    auto busy = caller->recv(5s);
    ASSERT_TRUE(busy.ok()) << busy.message() << "\n" << (*srv)->log();
    EXPECT_EQ(busy->status(), 486);
    // The ACK of the negative reply is tm's business (hop by hop); the phone gets tm's ACK.
    auto ack = (*phone)->recv(5s);
    ASSERT_TRUE(ack.ok()) << ack.message();
    EXPECT_EQ(ack->method(), "ACK");
  }
  // No connection was opened towards the phone: every connection is one a client opened.
  st = (*srv)->stats();
  ASSERT_TRUE(st.ok());
  for (const MiConnection& c : st->connections) EXPECT_FALSE(c.outbound) << c.remote;
  EXPECT_GE(st->get("core:relayed_out"), 1u);
}

TEST(Registrar, UnknownUserIs404AndEveryBindingIsForked) {
  auto srv = SipsdServer::start(registrar_options(2));
  ASSERT_TRUE(srv.ok()) << srv.message();
  auto caller = TestEndpoint::tls(**srv);
  ASSERT_TRUE(caller.ok()) << caller.message();
  ASSERT_TRUE((*caller)->send(invite_to(**caller, "nobody").text).ok());
  auto nf = (*caller)->recv(5s);
  ASSERT_TRUE(nf.ok()) << nf.message();
  EXPECT_EQ(nf->status(), 404);

  // Two phones of carol with different q: both ring (parallel fork), the best q first.
  auto hi = TestEndpoint::tls(**srv);
  auto lo = TestEndpoint::tls(**srv);
  ASSERT_TRUE(hi.ok() && lo.ok());
  auto r = do_register(
      **lo, make_register(**lo, "carol", "", {"Contact: <" + (*lo)->uri("carol") + ">;q=0.1"}, 1,
                          unique_token()));
  ASSERT_TRUE(r.ok() && r->status() == 200);
  r = do_register(
      **hi, make_register(**hi, "carol", "", {"Contact: <" + (*hi)->uri("carol") + ">;q=0.9"}, 1,
                          unique_token()));
  ASSERT_TRUE(r.ok() && r->status() == 200);
  EXPECT_NE(r->header("Contact").value_or("").find(";q=0.9;expires=3600, <"), std::string::npos)
      << r->text();
  ASSERT_TRUE((*caller)->send(invite_to(**caller, "carol").text).ok());
  auto in_hi = (*hi)->recv(5s);
  auto in_lo = (*lo)->recv(5s);
  ASSERT_TRUE(in_hi.ok()) << in_hi.message() << "\n" << (*srv)->log();
  ASSERT_TRUE(in_lo.ok()) << in_lo.message() << "\n" << (*srv)->log();
  EXPECT_EQ(in_hi->method(), "INVITE");
  EXPECT_EQ(in_lo->method(), "INVITE");
  EXPECT_EQ(in_hi->uri(), (*hi)->uri("carol"));
  EXPECT_EQ(in_lo->uri(), (*lo)->uri("carol"));
  ASSERT_TRUE((*hi)->send(build_reply(*in_hi, reply_spec(486, "h1"))).ok());
  ASSERT_TRUE((*lo)->send(build_reply(*in_lo, reply_spec(480, "l1"))).ok());
  // The best final reply goes upstream (486 ranks before 480 in tm's choice? either is a 4xx).
  for (int i = 0; i < 3; ++i) {
    auto m = (*caller)->recv(5s);
    ASSERT_TRUE(m.ok()) << m.message() << "\n" << (*srv)->log();
    if (m->status() == 100) continue;
    EXPECT_TRUE(m->status() == 486 || m->status() == 480) << m->text();
    break;
  }
}

TEST(Registrar, SerialForkingByQWithNextBranches) {
  auto srv = SipsdServer::start(registrar_options(2));
  ASSERT_TRUE(srv.ok()) << srv.message();
  auto caller = TestEndpoint::tls(**srv);
  auto hi = TestEndpoint::tls(**srv);
  auto lo = TestEndpoint::tls(**srv);
  ASSERT_TRUE(caller.ok() && hi.ok() && lo.ok());
  for (auto* ep : {&*lo, &*hi}) {
    const std::string q = ep == &*hi ? "0.9" : "0.1";
    auto r = do_register(
        **ep, make_register(**ep, "hank", "", {"Contact: <" + (*ep)->uri("hank") + ">;q=" + q}, 1,
                            unique_token()));
    ASSERT_TRUE(r.ok() && r->status() == 200) << (*srv)->log();
  }
  SipRequest inv = invite_to(**caller, "hank");
  inv.text.insert(inv.text.find("\r\n") + 2, "X-Serial: 1\r\n");
  ASSERT_TRUE((*caller)->send(inv.text).ok());
  // The best q rings alone first.
  auto first = (*hi)->recv(5s);
  ASSERT_TRUE(first.ok()) << first.message() << "\n" << (*srv)->log();
  EXPECT_EQ(first->method(), "INVITE");
  EXPECT_TRUE((*lo)->nothing_within(300ms));
  ASSERT_TRUE((*hi)->send(build_reply(*first, reply_spec(486, "h1"))).ok());
  auto ack = (*hi)->recv(5s);
  ASSERT_TRUE(ack.ok());
  EXPECT_EQ(ack->method(), "ACK");
  // Then the next group, from the failure_route.
  auto second = (*lo)->recv(5s);
  ASSERT_TRUE(second.ok()) << second.message() << "\n" << (*srv)->log();
  EXPECT_EQ(second->method(), "INVITE");
  EXPECT_EQ(second->uri(), (*lo)->uri("hank"));
  ASSERT_TRUE((*lo)->send(build_reply(*second, reply_spec(486, "l1"))).ok());
  for (int i = 0; i < 3; ++i) {
    auto m = (*caller)->recv(5s);
    ASSERT_TRUE(m.ok()) << m.message() << "\n" << (*srv)->log();
    if (m->status() == 100) continue;
    EXPECT_EQ(m->status(), 486) << m->text();
    break;
  }
}

TEST(Registrar, PersistentBindingGoesWithItsConnection) {
  auto srv = SipsdServer::start(registrar_options(2));
  ASSERT_TRUE(srv.ok()) << srv.message();
  auto kept = TestEndpoint::tls(**srv);
  ASSERT_TRUE(kept.ok());
  register_ok(**srv, **kept, "erin");
  {
    auto bound = TestEndpoint::tls(**srv);
    ASSERT_TRUE(bound.ok());
    register_ok(**srv, **bound, "frank", {"X-Persistent: 1"});
    EXPECT_EQ(aor_count(**srv), 2u);
  }  // frank's connection closes
  auto deadline = std::chrono::steady_clock::now() + 6s;
  while (aor_count(**srv) != 1u && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(100ms);
  EXPECT_EQ(aor_count(**srv), 1u) << (*srv)->mi_result("ul_dump")->dump();
  EXPECT_EQ(server_stat(**srv, "usrloc:registered_users"), 1);
  // MI removes the other one.
  Json args = Json::array();
  args.push("location");
  args.push("erin");
  auto rm = (*srv)->mi_result("ul_rm", args);
  ASSERT_TRUE(rm.ok()) << rm.message();
  EXPECT_EQ(aor_count(**srv), 0u);
}

// RFC 5626 outbound: a phone registers a flow (Supported: outbound, +sip.instance, reg-id)
// over TLS, gets "Require: outbound", then reconnects (a NAT rebinding) and registers the same
// flow from a new connection and port: the binding moves to the new connection, calls go
// there, and when that connection closes the flow's binding goes with it (no
// tcp_persistent_flag needed).
TEST(Registrar, OutboundFlowMovesToTheNewConnectionAndDiesWithIt) {
  auto srv = SipsdServer::start(registrar_options(2));
  ASSERT_TRUE(srv.ok()) << srv.message();
  const std::string flow =
      ";+sip.instance=\"<urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6>\";reg-id=1";
  auto first = TestEndpoint::tls(**srv);
  ASSERT_TRUE(first.ok());
  SipRequest reg1 =
      make_register(**first, "gina", "",
                    {"Supported: outbound", "Contact: <" + (*first)->uri("gina") + ";ob>" + flow});
  auto r = do_register(**first, reg1);
  ASSERT_TRUE(r.ok()) << r.message() << "\n" << (*srv)->log();
  ASSERT_EQ(r->status(), 200) << r->text();
  EXPECT_EQ(r->header("Require"), "outbound") << r->text();

  auto second = TestEndpoint::tls(**srv);
  ASSERT_TRUE(second.ok());
  SipRequest reg2 =
      make_register(**second, "gina", "",
                    {"Supported: outbound", "Contact: <" + (*second)->uri("gina") + ";ob>" + flow},
                    2, unique_token());
  r = do_register(**second, reg2);
  ASSERT_TRUE(r.ok()) << r.message();
  ASSERT_EQ(r->status(), 200) << r->text();
  auto dump = (*srv)->mi_result("ul_dump");
  ASSERT_TRUE(dump.ok());
  const std::string text = dump->dump();
  size_t contacts = 0;
  for (size_t at = text.find("\"Contact\":"); at != std::string::npos;
       at = text.find("\"Contact\":", at + 1))
    ++contacts;
  EXPECT_EQ(contacts, 1u) << text;
  EXPECT_NE(text.find(":" + std::to_string((*second)->hop().local_port)), std::string::npos)
      << text;

  auto caller = TestEndpoint::tls(**srv);
  ASSERT_TRUE(caller.ok());
  SipRequest inv = invite_to(**caller, "gina");
  ASSERT_TRUE((*caller)->send(inv.text).ok());
  auto in = (*second)->recv(5s);
  ASSERT_TRUE(in.ok()) << in.message() << "\n" << (*srv)->log();
  EXPECT_EQ(in->method(), "INVITE");
  EXPECT_TRUE((*first)->nothing_within(200ms));
  ASSERT_TRUE((*second)->send(build_reply(*in, reply_spec(486, "g1"))).ok());
  auto busy = (*caller)->recv_final_or_ringing(5s);
  ASSERT_TRUE(busy.ok()) << busy.message();
  EXPECT_EQ(busy->status(), 486);

  (*second).reset();  // the flow fails
  auto deadline = std::chrono::steady_clock::now() + 6s;
  while (aor_count(**srv) != 0u && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(100ms);
  EXPECT_EQ(aor_count(**srv), 0u) << (*srv)->mi_result("ul_dump")->dump();
}

// RFC 3327: a phone registered through an edge proxy (the test endpoint, adding a Path of two
// proxies; save with path-lazy) is reached through that proxy, with the whole Path vector as
// the INVITE's Route headers, in order.
TEST(Registrar, PathVectorBecomesTheRouteSet) {
  auto srv = SipsdServer::start(registrar_options(2));
  ASSERT_TRUE(srv.ok()) << srv.message();
  auto edge = TestEndpoint::tls(**srv);
  ASSERT_TRUE(edge.ok());
  const SipHop h = (*edge)->hop();
  const std::string path = "<sip:127.0.0.1:" + std::to_string(h.local_port) +
                           ";transport=tls;lr>, <sip:inner.example;lr>";
  auto r = do_register(
      **edge, make_register(**edge, "hank", "sip:hank@192.0.2.50:5060",
                            {"X-Path: 1", "Supported: path", "Path: " + path}, 1, unique_token()));
  ASSERT_TRUE(r.ok()) << r.message() << "\n" << (*srv)->log();
  ASSERT_EQ(r->status(), 200) << r->text();
  EXPECT_EQ(split_header_list(r->header("Path").value_or("")),
            split_header_list(path))  // echoed (the UA supports path)
      << r->text();

  auto caller = TestEndpoint::tls(**srv);
  ASSERT_TRUE(caller.ok());
  ASSERT_TRUE((*caller)->send(invite_to(**caller, "hank").text).ok());
  auto in = (*edge)->recv(5s);
  ASSERT_TRUE(in.ok()) << in.message() << "\n" << (*srv)->log();
  EXPECT_EQ(in->method(), "INVITE");
  EXPECT_EQ(in->uri(), "sip:hank@192.0.2.50:5060");
  std::vector<std::string> routes;
  for (const std::string& v : in->headers("Route"))
    for (const std::string& one : split_header_list(v)) routes.push_back(one);
  ASSERT_EQ(routes.size(), 2u) << in->text();
  EXPECT_EQ(routes[0], "<sip:127.0.0.1:" + std::to_string(h.local_port) + ";transport=tls;lr>");
  EXPECT_EQ(routes[1], "<sip:inner.example;lr>");
  ASSERT_TRUE((*edge)->send(build_reply(*in, reply_spec(486, "h1"))).ok());
  auto busy = (*caller)->recv_final_or_ringing(5s);
  ASSERT_TRUE(busy.ok()) << busy.message();
  EXPECT_EQ(busy->status(), 486);
}

TEST(Registrar, DbMode2BindingsSurviveARestart) {
  TempDir dir;
  const std::string url = "sqlite://" + dir.path() + "/ul.db";
  {
    auto c = db::Connection::open(url, db::OpenMode::kCreate);
    ASSERT_TRUE(c.ok()) << c.message();
    ASSERT_TRUE(db::create_schema(*c).ok());
  }
  SipsdOptions o = registrar_options(2);
  o.modparams.push_back("modparam(\"usrloc\", \"db_mode\", 2)");
  o.modparams.push_back("modparam(\"usrloc\", \"db_url\", \"" + url + "\")");
  std::string contact;
  {
    auto srv = SipsdServer::start(o);
    ASSERT_TRUE(srv.ok()) << srv.message();
    auto phone = TestEndpoint::tls(**srv);
    ASSERT_TRUE(phone.ok()) << phone.message();
    contact = (*phone)->uri("gina");
    auto r = do_register(
        **phone, make_register(**phone, "gina", "",
                               {"Contact: <" + contact + ">;q=0.7", "User-Agent: phone/1"}));
    ASSERT_TRUE(r.ok() && r->status() == 200) << (*srv)->log();
    // ul_flush writes at once; the shutdown writes again.
    auto f = (*srv)->mi_result("ul_flush");
    ASSERT_TRUE(f.ok()) << f.message();
    ExitStatus ex = (*srv)->stop();
    EXPECT_TRUE(ex.exited && ex.code == 0) << (*srv)->log();
  }
  {
    auto c = db::Connection::open(url, db::OpenMode::kReadOnly);
    ASSERT_TRUE(c.ok());
    auto q = c->prepare("SELECT username, contact, q, user_agent FROM location");
    ASSERT_TRUE(q.ok());
    auto row = q->step();
    ASSERT_TRUE(row.ok() && *row);
    EXPECT_EQ(q->text(0), "gina");
    EXPECT_EQ(q->text(1), contact);
    EXPECT_DOUBLE_EQ(q->real(2), 0.7);
    EXPECT_EQ(q->text(3), "phone/1");
  }
  auto srv = SipsdServer::start(o);
  ASSERT_TRUE(srv.ok()) << srv.message();
  auto dump = (*srv)->mi_result("ul_dump");
  ASSERT_TRUE(dump.ok()) << dump.message();
  EXPECT_NE(dump->dump().find(R"({"AOR":"gina","Contacts":[{"Contact":")" + contact),
            std::string::npos)
      << dump->dump();
  EXPECT_NE(dump->dump().find(R"("Q":"0.7")"), std::string::npos) << dump->dump();
  EXPECT_NE(dump->dump().find(R"("State":"CS_SYNC")"), std::string::npos) << dump->dump();
  EXPECT_EQ(server_stat(**srv, "usrloc:registered_users"), 1);
}

}  // namespace
}  // namespace sipsd::test
