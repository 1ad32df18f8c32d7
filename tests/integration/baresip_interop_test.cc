// Issue 11's trusted-call scenario with a real phone none of us wrote: baresip (Debian's
// baresip-core) registers over TLS with a password, places, answers and hangs up calls, driven
// over its ctrl_tcp interface (tests/integration/baresip_phone.h). The two domains are the
// trusted-call example's own cfgs (etc/examples/trusted/a.cfg, b.cfg, common-routes.cfg) on
// 127.0.0.1 (a.example) and 127.0.0.2 (b.example), each with its own CA, SQLite database and
// users made with sipsctl, on ports the test picks. Each test checks both what the phones
// report (events, and the SIP messages in their trace) and what the servers show (ul_dump,
// auth: statistics, the trust decision in their log).
//   1. alice@A and alice2@A register (401, then 200); alice calls alice2: 407, rings with A's
//      trusted Alert-Info, answered, hung up.
//   2. alice@A calls bob@B: A challenges, relays over mutual TLS to B; bob rings with B's
//      trusted Alert-Info; answered; bob hangs up, the BYE goes back through both servers.
//   3. untrusted: sipp sends bob an INVITE straight to B over UDP claiming to be alice@A and
//      carrying B's own trusted Alert-Info: bob rings without it.
//   4. bob's phone is reached over its registration connection, which another worker of B owns
//      than the one reading A's INVITE; B never opens a connection towards bob.
//   5. a wrong password: 401 again, REGISTER_FAIL, auth:failed_responses, nothing in ul_dump.
// Skipped only when the baresip binary is missing (make test installs baresip-core).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "core/base/unique_fd.h"
#include "tests/integration/baresip_phone.h"
#include "tests/integration/sipp_runner.h"
#include "tests/integration/sipsd_server.h"
#include "tests/integration/subprocess.h"
#include "tests/integration/test_env.h"

namespace sipsd::test {
namespace {

using namespace std::chrono_literals;

constexpr const char* kIpA = "127.0.0.1";
constexpr const char* kIpB = "127.0.0.2";
constexpr const char* kTrustedRingA = "<http://ring.a.example/trusted.wav>";
constexpr const char* kTrustedRingB = "<http://ring.b.example/trusted.wav>";

RunResult run_tool(std::vector<std::string> argv) {
  return run(argv, RunOptions{});
}

RunResult sipsctl(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {SIPSCTL_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_tool(argv);
}

void replace_all(std::string* s, const std::string& from, const std::string& to) {
  for (size_t p = 0; (p = s->find(from, p)) != std::string::npos; p += to.size())
    s->replace(p, from.size(), to);
}

bool port_free(const char* ip, uint16_t port, int type) {
  UniqueFd fd(socket(AF_INET, type | SOCK_CLOEXEC, 0));
  if (!fd) return false;
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  inet_pton(AF_INET, ip, &sa.sin_addr);
  return bind(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0;
}

// The example's three ports (plain UDP+TCP, phones TLS, peering TLS), which both domains use
// on their own address: each free on both addresses.
struct ExamplePorts {
  uint16_t plain = 0, phones = 0, peering = 0;
};

uint16_t port_free_on_both(bool udp_too) {
  for (int attempt = 0; attempt < 50; ++attempt) {
    uint16_t p = free_tcp_port(kIpA);
    if (p == 0 || !port_free(kIpB, p, SOCK_STREAM)) continue;
    if (udp_too && (!port_free(kIpA, p, SOCK_DGRAM) || !port_free(kIpB, p, SOCK_DGRAM))) continue;
    return p;
  }
  return 0;
}

// demo.sh's PKI for domain `d` on `ip`: its own CA; the server's certificate (CN and first DNS
// name sip.<d>.example, and the address) for the phones' port and for peering both ways.
Status make_domain_pki(const std::string& dir, const std::string& d, const std::string& ip) {
  const std::string ca = dir + "/ca.pem", ca_key = dir + "/ca-key.pem", key = dir + "/key.pem",
                    req = dir + "/req.pem", ext = dir + "/ext.cnf", cert = dir + "/cert.pem";
  std::ofstream(ext) << "subjectAltName=DNS:sip." << d << ".example,IP:" << ip
                     << "\nextendedKeyUsage=serverAuth,clientAuth\n";
  const std::vector<std::vector<std::string>> steps = {
      {"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
       "-days", "2", "-subj", "/CN=" + d + ".example CA", "-keyout", ca_key, "-out", ca},
      {"openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj",
       "/CN=sip." + d + ".example", "-keyout", key, "-out", req},
      {"openssl", "x509", "-req", "-in", req, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial",
       "-days", "2", "-extfile", ext, "-out", cert},
      {"chmod", "600", key, ca_key},
  };
  for (const auto& argv : steps) {
    RunResult r = run_tool(argv);
    if (!r.ok()) return make_error(r.describe());
  }
  return Status::Ok();
}

// The statuses of the replies to `method` among `ms`, in order ("401 200").
std::string reply_statuses(const std::vector<BaresipTraceMessage>& ms, const std::string& method) {
  std::string out;
  for (const auto& m : ms) {
    if (m.start_line().rfind("SIP/2.0 ", 0) != 0 || m.cseq_method() != method) continue;
    if (!out.empty()) out += ' ';
    out += m.start_line().substr(8, 3);
  }
  return out;
}

std::string event_param(const Json& e) {
  const Json* p = e.find("param");
  return p && p->is_string() ? p->as_string() : "";
}

class BaresipInterop : public ::testing::Test {
 protected:
  void SetUp() override {
    if (baresip_binary().empty())
      GTEST_SKIP() << "baresip is not installed: apt-get install baresip-core "
                      "(make test installs it)";
    ports_.plain = port_free_on_both(true);
    ports_.phones = port_free_on_both(false);
    ports_.peering = port_free_on_both(false);
    ASSERT_TRUE(ports_.plain != 0 && ports_.phones != 0 && ports_.peering != 0) << "no free ports";
    ASSERT_TRUE(ports_.plain != ports_.phones && ports_.phones != ports_.peering &&
                ports_.plain != ports_.peering);
    for (const auto& [d, ip, user, password] :
         {std::tuple{"a", kIpA, "alice", "alicepw"}, std::tuple{"a", kIpA, "alice2", "alice2pw"},
          std::tuple{"b", kIpB, "bob", "bobpw"}}) {
      const std::string ddir = dir_.file(d);
      const std::string url = "sqlite://" + ddir + "/" + d + ".db";
      if (access(ddir.c_str(), F_OK) != 0) {
        ASSERT_EQ(mkdir(ddir.c_str(), 0700), 0);
        Status pki = make_domain_pki(ddir, d, ip);
        ASSERT_TRUE(pki.ok()) << pki.message();
        RunResult init = sipsctl({"db", "init", url});
        ASSERT_TRUE(init.ok()) << init.describe();
      }
      RunResult add =
          sipsctl({"user", "add", std::string(user) + "@" + d + ".example", password, "--db", url});
      ASSERT_TRUE(add.ok()) << add.describe();
    }
    // Each domain's peering port accepts the other's CA (b.cfg names its federation's CAs
    // peer-cas.pem: here just a.example's).
    for (const auto& [d, peer] : {std::pair{"a", "b"}, std::pair{"b", "a"}})
      std::ofstream(dir_.file(d) + "/peer-cas.pem") << read_file(dir_.file(peer) + "/ca.pem");
    std::string routes = read_file(source_dir() + "/etc/examples/trusted/common-routes.cfg");
    ASSERT_FALSE(routes.empty());
    replace_all(&routes, "@DIR@", dir_.path());
    std::ofstream(dir_.file("common-routes.cfg")) << routes;
  }

  // The example's a.cfg or b.cfg with this test's directory, ports and the MI FIFO where
  // SipsdServer reads it.
  std::string example_cfg(const std::string& d, const std::string& server_dir) {
    std::string cfg = read_file(source_dir() + "/etc/examples/trusted/" + d + ".cfg");
    EXPECT_NE(cfg.find("\"@DIR@/" + d + "/fifo\")"), std::string::npos) << d << ".cfg changed";
    replace_all(&cfg, "\"@DIR@/" + d + "/fifo\")",
                "\"" + server_dir + "/mi_fifo\")\nmodparam(\"mi_fifo\", \"reply_dir\", \"" +
                    server_dir + "/\")");
    replace_all(&cfg, "@DIR@", dir_.path());
    // Through placeholders, so that a chosen port that looks like another of the example's
    // ports cannot be replaced twice.
    replace_all(&cfg, "15060", "@PLAIN@");
    replace_all(&cfg, "15061", "@PHONES@");
    replace_all(&cfg, "15062", "@PEERING@");
    replace_all(&cfg, "@PLAIN@", std::to_string(ports_.plain));
    replace_all(&cfg, "@PHONES@", std::to_string(ports_.phones));
    replace_all(&cfg, "@PEERING@", std::to_string(ports_.peering));
    return cfg;
  }

  std::unique_ptr<SipsdServer> start_domain(const std::string& d) {
    auto srv = SipsdServer::start_cfg(
        [&](const std::string& server_dir) { return example_cfg(d, server_dir); });
    EXPECT_TRUE(srv.ok()) << srv.message();
    return srv.ok() ? std::move(srv).value() : nullptr;
  }

  // The phones' address of domain a or b ("127.0.0.1:PORT"): what the phones' trace shows as
  // the source of everything the server sent them.
  std::string server_of(const std::string& d) const {
    return std::string(d == "a" ? kIpA : kIpB) + ":" + std::to_string(ports_.phones);
  }

  BaresipPhone* phone(const std::string& name, const std::string& d) {
    auto p = BaresipPhone::start(
        {.name = name, .local_ip = d == "a" ? kIpA : kIpB, .ca_file = dir_.file(d) + "/ca.pem"});
    EXPECT_TRUE(p.ok()) << p.message();
    if (!p.ok()) return nullptr;
    phones_.push_back(std::move(p).value());
    return phones_.back().get();
  }

  // Creates the account on the phone (it registers at once); the event that ended it.
  Result<Json> register_phone(BaresipPhone& p, const std::string& user, const std::string& d,
                              const std::string& password, const std::string& outcome) {
    Result<std::string> added =
        p.command("uanew", baresip_account({.user = user,
                                            .domain = d + ".example",
                                            .password = password,
                                            .proxy_host = d == "a" ? kIpA : kIpB,
                                            .proxy_port = ports_.phones}));
    if (!added.ok()) return make_error(added.message());
    return p.wait_event(outcome);
  }

  static uint64_t stat(SipsdServer& srv, const std::string& name) {
    auto s = srv.stats();
    EXPECT_TRUE(s.ok()) << s.message();
    return s.ok() ? s->get(name) : 0;
  }

  static std::string ul_dump(SipsdServer& srv) {
    auto dump = srv.mi_result("ul_dump");
    EXPECT_TRUE(dump.ok()) << dump.message();
    return dump.ok() ? dump->dump() : "";
  }

  // The INVITE the server delivered to `callee`, once it is in the callee's trace.
  static std::optional<BaresipTraceMessage> invite_received(BaresipPhone& callee,
                                                            const std::string& server) {
    return callee.wait_received(
        server, [](const BaresipTraceMessage& m) { return m.is_request("INVITE"); });
  }

  TempDir dir_{"sipsd-baresip"};
  ExamplePorts ports_;
  std::unique_ptr<SipsdServer> a_, b_;
  std::vector<std::unique_ptr<BaresipPhone>> phones_;  // stopped before the servers
};

// Group 1: two users of A register with digest authentication over TLS and call each other;
// the callee rings with A's trusted Alert-Info (the caller is an authenticated user of A).
TEST_F(BaresipInterop, OwnUsersRegisterWithDigestAndRingTrusted) {
  a_ = start_domain("a");
  ASSERT_NE(a_, nullptr);
  BaresipPhone* alice = phone("alice", "a");
  BaresipPhone* alice2 = phone("alice2", "a");
  ASSERT_TRUE(alice && alice2);
  const std::string server = server_of("a");

  for (auto [p, user, password] :
       {std::tuple{alice, "alice", "alicepw"}, std::tuple{alice2, "alice2", "alice2pw"}}) {
    auto ok = register_phone(*p, user, "a", password, "REGISTER_OK");
    ASSERT_TRUE(ok.ok()) << ok.message() << "\n" << p->describe() << "\n" << a_->log();
    EXPECT_EQ(event_param(*ok), "200 OK");
    // What the phone saw: challenged first, then accepted, both over TLS from A.
    ASSERT_TRUE(p->wait_received(server, [](const auto& m) { return m.is_reply(200); }));
    EXPECT_EQ(reply_statuses(p->received_from(server), "REGISTER"), "401 200") << p->describe();
    for (const auto& m : p->received_from(server)) EXPECT_EQ(m.transport, "TLS");
  }
  // What A shows: two challenges, two good answers, both bindings over TLS.
  EXPECT_EQ(stat(*a_, "auth:challenges"), 2u);
  EXPECT_EQ(stat(*a_, "auth:authorized"), 2u);
  EXPECT_EQ(stat(*a_, "auth:failed_responses"), 0u);
  EXPECT_EQ(stat(*a_, "usrloc:registered_users"), 2u);
  const std::string dump = ul_dump(*a_);
  EXPECT_NE(dump.find(R"("AOR":"alice",)"), std::string::npos) << dump;
  EXPECT_NE(dump.find(R"("AOR":"alice2",)"), std::string::npos) << dump;
  EXPECT_NE(dump.find("\"Socket\":\"tls:" + server + "\""), std::string::npos) << dump;

  // alice calls alice2: A challenges the INVITE (407), then delivers it with its trusted ring.
  ASSERT_TRUE(alice->command("dial", "sip:alice2@a.example").ok()) << alice->describe();
  auto incoming = alice2->wait_event("CALL_INCOMING");
  ASSERT_TRUE(incoming.ok()) << incoming.message() << "\n" << a_->log();
  EXPECT_EQ(event_param(*incoming), "sip:alice@a.example");
  auto invite = invite_received(*alice2, server);
  ASSERT_TRUE(invite.has_value()) << alice2->describe();
  EXPECT_EQ(invite->header_values("Alert-Info"), std::vector<std::string>{kTrustedRingA})
      << invite->text;
  EXPECT_FALSE(invite->header_values("Record-Route").empty()) << invite->text;
  ASSERT_TRUE(alice->wait_event("CALL_RINGING").ok()) << alice->describe();
  EXPECT_EQ(reply_statuses(alice->received_from(server), "INVITE").substr(0, 3), "407")
      << alice->describe();
  EXPECT_TRUE(
      a_->wait_for_log("trust: INVITE from sip:alice@a.example: authenticated local user alice"))
      << a_->log();
  EXPECT_EQ(stat(*a_, "auth:challenges"), 3u);
  EXPECT_EQ(stat(*a_, "auth:authorized"), 3u);

  // Answered, then hung up by the caller: the BYE reaches alice2 through A.
  ASSERT_TRUE(alice2->command("accept").ok()) << alice2->describe();
  ASSERT_TRUE(alice2->wait_event("CALL_ESTABLISHED").ok()) << alice2->describe();
  ASSERT_TRUE(alice->wait_event("CALL_ESTABLISHED").ok()) << alice->describe();
  ASSERT_TRUE(alice->command("hangup").ok()) << alice->describe();
  ASSERT_TRUE(alice->wait_event("CALL_CLOSED").ok()) << alice->describe();
  ASSERT_TRUE(alice2->wait_event("CALL_CLOSED").ok()) << alice2->describe();
  EXPECT_TRUE(alice2->wait_received(server, [](const auto& m) { return m.is_request("BYE"); }))
      << alice2->describe();
  EXPECT_TRUE(alice->wait_received(server, [](const auto& m) {
    return m.is_reply(200) && m.cseq_method() == "BYE";
  })) << alice->describe();
}

// Group 2: alice@A calls bob@B. A challenges the INVITE and relays it over mutual TLS to B,
// which sees A's verified certificate: bob rings with B's trusted Alert-Info. The call is
// answered and bob hangs up; the BYE goes back to alice through both servers (record-routed).
TEST_F(BaresipInterop, CallToPeerDomainIsTrustedAndCompletesThroughBothServers) {
  a_ = start_domain("a");
  b_ = start_domain("b");
  ASSERT_TRUE(a_ && b_);
  BaresipPhone* alice = phone("alice", "a");
  BaresipPhone* bob = phone("bob", "b");
  ASSERT_TRUE(alice && bob);
  const std::string server_a = server_of("a"), server_b = server_of("b");

  auto alice_ok = register_phone(*alice, "alice", "a", "alicepw", "REGISTER_OK");
  ASSERT_TRUE(alice_ok.ok()) << alice_ok.message() << "\n" << a_->log();
  auto bob_ok = register_phone(*bob, "bob", "b", "bobpw", "REGISTER_OK");
  ASSERT_TRUE(bob_ok.ok()) << bob_ok.message() << "\n" << b_->log();
  const std::string dump_b = ul_dump(*b_);
  EXPECT_NE(dump_b.find(R"("AOR":"bob",)"), std::string::npos) << dump_b;
  EXPECT_NE(dump_b.find("\"Socket\":\"tls:" + server_b + "\""), std::string::npos) << dump_b;
  EXPECT_EQ(stat(*b_, "auth:authorized"), 1u);

  ASSERT_TRUE(alice->command("dial", "sip:bob@b.example").ok()) << alice->describe();
  auto incoming = bob->wait_event("CALL_INCOMING");
  ASSERT_TRUE(incoming.ok()) << incoming.message() << "\n" << a_->log() << "\n" << b_->log();
  EXPECT_EQ(event_param(*incoming), "sip:alice@a.example");
  auto invite = invite_received(*bob, server_b);
  ASSERT_TRUE(invite.has_value()) << bob->describe();
  EXPECT_EQ(invite->header_values("Alert-Info"), std::vector<std::string>{kTrustedRingB})
      << invite->text;
  // Record-routed twice by each server (in on one listener, out on another: phones <-> peering),
  // so that requests from either phone find their way back: B towards bob from the listener bob
  // registered on, A towards B from its peering listener (force_send_socket).
  std::vector<std::string> rr = invite->header_values("Record-Route");
  const std::vector<std::string> hops = {
      server_b, std::string(kIpB) + ":" + std::to_string(ports_.peering),
      std::string(kIpA) + ":" + std::to_string(ports_.peering), server_a};
  ASSERT_EQ(rr.size(), hops.size()) << invite->text;
  for (size_t i = 0; i < hops.size(); ++i)
    EXPECT_EQ(rr[i].rfind("<sip:" + hops[i] + ";transport=tls;r2=on;lr", 0), 0u) << rr[i];
  // A challenged alice's INVITE; B trusted A's certificate, not a password.
  EXPECT_EQ(reply_statuses(alice->received_from(server_a), "INVITE").substr(0, 3), "407")
      << alice->describe();
  EXPECT_TRUE(
      a_->wait_for_log("trust: INVITE from sip:alice@a.example: authenticated local user alice"))
      << a_->log();
  EXPECT_TRUE(
      b_->wait_for_log("trust: INVITE from sip:alice@a.example: verified peer sip.a.example"))
      << b_->log();
  EXPECT_EQ(stat(*a_, "auth:authorized"), 2u);  // alice's REGISTER and INVITE
  EXPECT_EQ(stat(*b_, "auth:authorized"), 1u);  // bob's REGISTER only
  EXPECT_EQ(stat(*b_, "auth:challenges"), 1u);

  ASSERT_TRUE(alice->wait_event("CALL_RINGING").ok()) << alice->describe();
  ASSERT_TRUE(bob->command("accept").ok()) << bob->describe();
  ASSERT_TRUE(bob->wait_event("CALL_ESTABLISHED").ok()) << bob->describe();
  ASSERT_TRUE(alice->wait_event("CALL_ESTABLISHED").ok()) << alice->describe();
  EXPECT_TRUE(bob->wait_received(server_b, [](const auto& m) { return m.is_request("ACK"); }))
      << bob->describe();
  ASSERT_TRUE(bob->command("hangup").ok()) << bob->describe();
  ASSERT_TRUE(bob->wait_event("CALL_CLOSED").ok()) << bob->describe();
  ASSERT_TRUE(alice->wait_event("CALL_CLOSED").ok()) << alice->describe() << "\n"
                                                     << bob->describe() << "\nA:\n"
                                                     << a_->log() << "\nB:\n"
                                                     << b_->log();
  EXPECT_TRUE(alice->wait_received(server_a, [](const auto& m) { return m.is_request("BYE"); }))
      << alice->describe();
  EXPECT_TRUE(bob->wait_received(server_b, [](const auto& m) {
    return m.is_reply(200) && m.cseq_method() == "BYE";
  })) << bob->describe();
}

// Group 3 (untrusted): a caller none of us wrote (sipp) sends bob an INVITE straight to B's plain
// UDP port, claiming to be alice@a.example and carrying B's own trusted ring. B removes the
// Alert-Info, finds no reason to trust the call (no authentication, no verified peer), and bob
// rings without it; bob rejects, sipp gets the 486 and ACKs it.
TEST_F(BaresipInterop, SpoofedCallStraightToBOverUdpRingsUntrusted) {
  b_ = start_domain("b");
  ASSERT_NE(b_, nullptr);
  BaresipPhone* bob = phone("bob", "b");
  ASSERT_TRUE(bob);
  auto bob_ok = register_phone(*bob, "bob", "b", "bobpw", "REGISTER_OK");
  ASSERT_TRUE(bob_ok.ok()) << bob_ok.message() << "\n" << b_->log();

  Sipp uac = Sipp::make(dir_, "spoofer", "spoof_uac.xml", "u1", 1);
  uac.keys = {{"callee", "sip:bob@b.example"},
              {"from", "sip:alice@a.example"},
              {"alert_info", kTrustedRingB}};
  const std::string target = std::string(kIpB) + ":" + std::to_string(ports_.plain);
  auto run = std::async(std::launch::async, [&uac, target] { return uac.run_to_end(target); });
  auto incoming = bob->wait_event("CALL_INCOMING", 10s);
  ASSERT_TRUE(incoming.ok()) << incoming.message() << "\n" << b_->log();
  EXPECT_EQ(event_param(*incoming), "sip:alice@a.example");
  auto invite = invite_received(*bob, server_of("b"));
  ASSERT_TRUE(invite.has_value()) << bob->describe();
  EXPECT_TRUE(invite->header_values("Alert-Info").empty()) << invite->text;
  EXPECT_TRUE(b_->wait_for_log("trust: INVITE from sip:alice@a.example over udp:" +
                               std::to_string(ports_.plain) + ": not trusted"))
      << b_->log();
  ASSERT_TRUE(bob->command("hangup").ok()) << bob->describe();
  RunResult done = run.get();
  EXPECT_TRUE(done.ok()) << done.describe() << "\n" << uac.errors() << "\n" << b_->log();
  std::string why;
  auto counts = uac.counts(&why);
  ASSERT_TRUE(counts.has_value()) << why;
  EXPECT_EQ(counts->successful, 1u);
  EXPECT_EQ(counts->failed, 0u);
}

// Group 4 (NAT): bob's phone is reached only over the TLS connection it registered on. A's
// relayed INVITE arrives at B on the peering connection, which the supervisor hands to another
// worker than bob's (the least loaded), so that worker passes the INVITE to the owner of
// bob's connection; B opens no connection towards bob, and every message bob receives arrives
// on its registration connection.
TEST_F(BaresipInterop, CallReachesBobOverHisRegistrationConnectionFromAnotherWorker) {
  a_ = start_domain("a");
  b_ = start_domain("b");
  ASSERT_TRUE(a_ && b_);
  BaresipPhone* alice = phone("alice", "a");
  BaresipPhone* bob = phone("bob", "b");
  ASSERT_TRUE(alice && bob);
  const std::string server_b = server_of("b");
  auto bob_ok = register_phone(*bob, "bob", "b", "bobpw", "REGISTER_OK");
  ASSERT_TRUE(bob_ok.ok()) << bob_ok.message() << "\n" << b_->log();
  auto ok200 = bob->wait_received(server_b, [](const auto& m) { return m.is_reply(200); });
  ASSERT_TRUE(ok200.has_value()) << bob->describe();
  const std::string bob_conn = ok200->destination;  // bob's end of his registration connection
  auto alice_ok = register_phone(*alice, "alice", "a", "alicepw", "REGISTER_OK");
  ASSERT_TRUE(alice_ok.ok()) << alice_ok.message() << "\n" << a_->log();

  ASSERT_TRUE(alice->command("dial", "sip:bob@b.example").ok()) << alice->describe();
  auto incoming = bob->wait_event("CALL_INCOMING");
  ASSERT_TRUE(incoming.ok()) << incoming.message() << "\n" << a_->log() << "\n" << b_->log();
  auto invite = invite_received(*bob, server_b);
  ASSERT_TRUE(invite.has_value()) << bob->describe();
  EXPECT_EQ(invite->destination, bob_conn) << invite->text;

  // B's connections: bob's and A's peering one are owned by different workers, and none goes
  // from B towards bob.
  auto stats = b_->stats();
  ASSERT_TRUE(stats.ok()) << stats.message();
  int bob_worker = 0, peer_worker = 0;
  for (const MiConnection& c : stats->connections) {
    if (c.remote == bob_conn) bob_worker = c.worker;
    if (!c.outbound && c.remote.rfind(std::string(kIpA) + ":", 0) == 0) peer_worker = c.worker;
    EXPECT_FALSE(c.outbound && c.remote.rfind(std::string(kIpB) + ":", 0) == 0)
        << "B connected to bob: " << c.remote;
  }
  EXPECT_NE(bob_worker, 0) << "bob's connection is not in list_tcp_conns";
  EXPECT_NE(peer_worker, 0) << "A's connection is not in list_tcp_conns";
  EXPECT_NE(bob_worker, peer_worker) << "both connections on worker " << bob_worker;
  EXPECT_GE(stat(*b_, "core:relayed_out"), 1u);

  ASSERT_TRUE(bob->command("accept").ok()) << bob->describe();
  ASSERT_TRUE(bob->wait_event("CALL_ESTABLISHED").ok()) << bob->describe();
  ASSERT_TRUE(alice->wait_event("CALL_ESTABLISHED").ok()) << alice->describe();
  ASSERT_TRUE(alice->command("hangup").ok()) << alice->describe();
  ASSERT_TRUE(bob->wait_event("CALL_CLOSED").ok()) << bob->describe();
  auto bye = bob->wait_received(server_b, [](const auto& m) { return m.is_request("BYE"); });
  ASSERT_TRUE(bye.has_value()) << bob->describe();
  for (const auto& m : bob->received_from(server_b)) EXPECT_EQ(m.destination, bob_conn) << m.text;
}

// Group 5 (wrong password): the answer to the challenge is refused with 401 again, baresip
// reports the registration failed, A counts the failed response, and nothing is registered.
TEST_F(BaresipInterop, WrongPasswordIsRefusedAndCounted) {
  a_ = start_domain("a");
  ASSERT_NE(a_, nullptr);
  BaresipPhone* mallory = phone("mallory", "a");
  ASSERT_TRUE(mallory);
  const std::string server = server_of("a");
  auto failed = register_phone(*mallory, "alice", "a", "not-alicepw", "REGISTER_FAIL");
  ASSERT_TRUE(failed.ok()) << failed.message() << "\n" << mallory->describe() << "\n" << a_->log();
  EXPECT_NE(event_param(*failed).find("401"), std::string::npos) << event_param(*failed);
  // Challenged, answered wrongly, challenged again; never a 200.
  const std::string statuses = reply_statuses(mallory->received_from(server), "REGISTER");
  EXPECT_EQ(statuses.rfind("401 401", 0), 0u) << statuses;
  EXPECT_EQ(statuses.find("200"), std::string::npos) << statuses;
  EXPECT_GE(stat(*a_, "auth:failed_responses"), 1u);
  EXPECT_EQ(stat(*a_, "auth:authorized"), 0u);
  EXPECT_EQ(stat(*a_, "usrloc:registered_users"), 0u);
  const std::string dump = ul_dump(*a_);
  EXPECT_EQ(dump.find(R"("AOR":"alice")"), std::string::npos) << dump;
}

}  // namespace
}  // namespace sipsd::test
