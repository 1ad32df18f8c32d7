#include "core/worker/sip_receiver.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/base/process_context.h"
#include "core/shm/stats.h"

namespace sipsd {
namespace {

struct Sink final : ReplySink {
  void send_reply(std::string_view bytes) override { replies.emplace_back(bytes); }
  std::vector<std::string> replies;
};

std::shared_ptr<const Script> script(const std::string& route) {
  std::string cfg =
      "socket=tls:127.0.0.1:5061\n"
      "loadmodule \"proto_tls.so\"\nloadmodule \"tls_mgm.so\"\n"
      "loadmodule \"sl.so\"\nloadmodule \"sipmsgops.so\"\n" +
      route;
  auto c = load_config_text(cfg, "test.cfg");
  EXPECT_TRUE(c.ok()) << c.message();
  return c.ok() ? c->script : nullptr;
}

const char* kDefaultRoute = R"(route {
  if (is_method("OPTIONS") && $proto == "tls" && $si == "10.1.2.3" && $sp == 5099) {
    sl_send_reply(200, "OK");
    exit;
  }
  if (is_method("BYE")) drop;
  sl_send_reply(501, "Not Implemented");
})";

std::string request(const std::string& method, bool with_call_id = true) {
  std::string r = method +
                  " sip:a@example.com SIP/2.0\r\n"
                  "Via: SIP/2.0/TLS 192.0.2.1:5061;branch=z9hG4bK1;rport\r\n"
                  "From: <sip:b@example.com>;tag=7\r\n"
                  "To: <sip:a@example.com>\r\n";
  if (with_call_id) r += "Call-ID: c1\r\n";
  r += "CSeq: 3 " + method + "\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n";
  return r;
}

// A message from 10.1.2.3:5099 over TLS.
Inbound tls_peer() {
  Inbound in;
  in.proto = Proto::kTls;
  in.src_ip = "10.1.2.3";
  in.src_port = 5099;
  in.label = "tls:10.1.2.3:5099";
  return in;
}

class SipReceiverTest : public ::testing::Test {
 protected:
  ReceiveVerdict feed(std::string msg) {
    return receiver_.receive(msg.data(), msg.size(), origin_, sink_);
  }
  SipReceiver receiver_{script(kDefaultRoute), "sipsd (test)"};
  Inbound origin_ = tls_peer();
  Sink sink_;
};

TEST_F(SipReceiverTest, ScriptSeesTheMessageAndTheConnection) {
  EXPECT_EQ(feed(request("OPTIONS")), ReceiveVerdict::kKeep);
  ASSERT_EQ(sink_.replies.size(), 1u);
  const std::string& r = sink_.replies[0];
  EXPECT_EQ(r.rfind("SIP/2.0 200 OK\r\n", 0), 0u) << r;
  EXPECT_NE(r.find("received=10.1.2.3"), std::string::npos) << r;
  EXPECT_NE(r.find("rport=5099"), std::string::npos) << r;
  EXPECT_NE(r.find("Server: sipsd (test)\r\n"), std::string::npos) << r;

  origin_.src_port = 5100;  // the script's $sp test fails now
  feed(request("OPTIONS"));
  ASSERT_EQ(sink_.replies.size(), 2u);
  EXPECT_EQ(sink_.replies[1].rfind("SIP/2.0 501 ", 0), 0u);
}

// Counts this thread's statistics into a local ProcStats (unit tests have none otherwise).
class CountedStats {
 public:
  CountedStats() : saved_(process_context().stats) { process_context().stats = &stats_; }
  ~CountedStats() { process_context().stats = saved_; }
  uint64_t get(Stat s) const { return stats_.get(s); }

 private:
  ProcStats stats_{};
  ProcStats* saved_;
};

// "Sends nothing" only means something if the same receiver, script and sink do send: the
// request that takes the route's last line (where an ACK would end up) is answered 501, and the
// BYE and the ACK are parsed, counted and kept, not lost on the way.
TEST_F(SipReceiverTest, DropAndAckSendNothing) {
  CountedStats stats;
  EXPECT_EQ(feed(request("INVITE")), ReceiveVerdict::kKeep);
  ASSERT_EQ(sink_.replies.size(), 1u) << "the receiver under test answers nothing at all";
  EXPECT_EQ(sink_.replies[0].rfind("SIP/2.0 501 Not Implemented\r\n", 0), 0u) << sink_.replies[0];
  EXPECT_EQ(stats.get(Stat::kSlSentReplies), 1u);

  EXPECT_EQ(feed(request("BYE")), ReceiveVerdict::kKeep);  // the script drops it
  EXPECT_EQ(feed(request("ACK")), ReceiveVerdict::kKeep);  // it would be answered 501
  EXPECT_EQ(sink_.replies.size(), 1u) << sink_.replies.back();
  EXPECT_EQ(stats.get(Stat::kRcvRequests), 3u);
  EXPECT_EQ(stats.get(Stat::kDropRequests), 1u);
  EXPECT_EQ(stats.get(Stat::kSlSentReplies), 1u);

  // A bad ACK (no Call-ID) is not answered either, where any other bad request gets its 400.
  EXPECT_EQ(feed(request("ACK", false)), ReceiveVerdict::kKeep);
  EXPECT_EQ(sink_.replies.size(), 1u) << sink_.replies.back();
  EXPECT_EQ(feed(request("INVITE", false)), ReceiveVerdict::kKeep);
  ASSERT_EQ(sink_.replies.size(), 2u);
  EXPECT_EQ(sink_.replies[1].rfind("SIP/2.0 400 ", 0), 0u) << sink_.replies[1];
  EXPECT_EQ(stats.get(Stat::kErrRequests), 2u);
}

TEST_F(SipReceiverTest, MissingMandatoryHeaderGets400WithTheReason) {
  EXPECT_EQ(feed(request("OPTIONS", false)), ReceiveVerdict::kKeep);
  ASSERT_EQ(sink_.replies.size(), 1u);
  EXPECT_EQ(sink_.replies[0].rfind("SIP/2.0 400 Missing Call-ID", 0), 0u) << sink_.replies[0];
}

TEST_F(SipReceiverTest, RepliesAreNotRoutedAndGarbageClosesTheConnection) {
  EXPECT_EQ(feed("SIP/2.0 200 OK\r\nVia: SIP/2.0/TLS 1.2.3.4;branch=z9hG4bKx\r\nFrom: <sip:a@b>;"
                 "tag=1\r\nTo: <sip:c@d>;tag=2\r\nCall-ID: x\r\nCSeq: 1 OPTIONS\r\n"
                 "Content-Length: 0\r\n\r\n"),
            ReceiveVerdict::kKeep);
  EXPECT_TRUE(sink_.replies.empty());
  EXPECT_EQ(feed("\x16\x03\x01 not sip at all\r\n\r\n"), ReceiveVerdict::kClose);
  EXPECT_TRUE(sink_.replies.empty());
}

// What the worker's ScriptEnv offers besides the default route's variables: headers, tags,
// CSeq, $var kept from one message to the next, $avp and $ru/$du per message.
TEST(SipReceiverScript, VariablesOfTheMessageAndTheProcess) {
  SipReceiver receiver(script(R"cfg(route {
    $var(n) = $var(n) + 1;
    if ($avp(seen) != NULL) { sl_send_reply(500, "avp leaked"); exit; }
    $avp(seen) = 1;
    if ($du != NULL) { sl_send_reply(500, "du leaked"); exit; }
    $du = "sip:10.0.0.1:5061;transport=tls";
    $ru = $ru + ";x=1";
    $var(r) = "n=$var(n) ft=$ft tt=$tt cs=$cs";  # a literal: not expanded
    sl_send_reply(299, "n=$var(n) ft=$ft tt=$tt cs=$cs via=$(hdr(Via)[-1]) cid=$hdr(i) ru=$ru du=$du max=$hdr(max-forwards) r=$(var(r){s.len})");
  })cfg"),
                       "sipsd (test)");
  Inbound origin = tls_peer();
  Sink sink;
  for (int i = 0; i < 2; ++i) {
    std::string msg = request("MESSAGE");
    receiver.receive(msg.data(), msg.size(), origin, sink);
  }
  ASSERT_EQ(sink.replies.size(), 2u);
  EXPECT_EQ(sink.replies[0].rfind("SIP/2.0 299 n=1 ft=7 tt=<null> cs=3 via=SIP/2.0/TLS "
                                  "192.0.2.1:5061;branch=z9hG4bK1;rport cid=c1 "
                                  "ru=sip:a@example.com;x=1 du=sip:10.0.0.1:5061;transport=tls "
                                  "max=70 r=30\r\n",
                                  0),
            0u)
      << sink.replies[0];
  EXPECT_EQ(sink.replies[1].rfind("SIP/2.0 299 n=2 ", 0), 0u) << sink.replies[1];
}

// OpenSIPS core names added for cfg compatibility: R-URI edits, branch flags, has_body(), $rb,
// $cl, $Ts, $pp, $time(fmt).
TEST(SipReceiverScript, RuriEditsBranchFlagsAndMiscVariables) {
  SipReceiver receiver(script(R"cfg(route {
    strip(1);
    prefix("00");
    $var(u1) = $rU;
    rewriteuser("bob");
    rewritehostport("[2001:db8::1]:5070");
    $var(r1) = $ru;
    rewritehostport("gw.example.com");
    setbflag(3);
    if (!isbflagset(3) || isbflagset(4)) { sl_send_reply(500, "bflag"); exit; }
    resetbflag(3);
    if (isbflagset(3)) { sl_send_reply(500, "bflag reset"); exit; }
    if (has_body()) { sl_send_reply(500, "no body expected"); exit; }
    if ($Ts < 1700000000 || $pp < 1 || $(time(%Y){s.len}) != 4) { sl_send_reply(500, "misc"); exit; }
    sl_send_reply(299, "u1=$var(u1) r1=$var(r1) ru=$ru cl=$cl rb=$rb");
  })cfg"),
                       "sipsd (test)");
  Inbound origin = tls_peer();
  Sink sink;
  std::string msg = request("MESSAGE");
  receiver.receive(msg.data(), msg.size(), origin, sink);
  ASSERT_EQ(sink.replies.size(), 1u);
  EXPECT_EQ(sink.replies[0].rfind("SIP/2.0 299 u1=00 r1=sip:bob@[2001:db8::1]:5070 "
                                  "ru=sip:bob@gw.example.com cl=0 rb=<null>\r\n",
                                  0),
            0u)
      << sink.replies[0];
}

TEST(SipReceiverScript, HasBodyByContentType) {
  SipReceiver receiver(script(R"cfg(route {
    if (has_body("application/sdp") && !has_body("text/plain") && has_body())
      sl_send_reply(299, "sdp $cl");
    else
      sl_send_reply(500, "has_body");
  })cfg"),
                       "sipsd (test)");
  Inbound origin = tls_peer();
  Sink sink;
  std::string msg = request("MESSAGE");
  const std::string body = "v=0\r\n";
  msg.replace(
      msg.find("Content-Length: 0"), 17,
      "Content-Type: application/sdp; x=1\r\nContent-Length: " + std::to_string(body.size()));
  msg += body;
  receiver.receive(msg.data(), msg.size(), origin, sink);
  ASSERT_EQ(sink.replies.size(), 1u);
  EXPECT_EQ(sink.replies[0].rfind("SIP/2.0 299 sdp 5\r\n", 0), 0u) << sink.replies[0];
}

// startup_route and timer_route run without a message: $var works, flag functions fail.
TEST(SipReceiverScript, RoutesWithoutAMessage) {
  auto s = script(R"cfg(
startup_route { $var(boot) = 1; if (!isflagset(1)) $var(boot) = 2; }
timer_route[tick, 5] { $var(ticks) = $var(ticks) + 1; }
route { sl_send_reply(299, "boot=$var(boot) ticks=$var(ticks)"); }
)cfg");
  ASSERT_TRUE(s);
  SipReceiver receiver(s, "sipsd (test)");
  receiver.run_route(s->startup_route());
  ASSERT_EQ(s->timer_routes().size(), 1u);
  EXPECT_EQ(s->timer_routes()[0].interval, 5);
  receiver.run_route(s->timer_routes()[0].route);
  receiver.run_route(s->timer_routes()[0].route);
  Inbound origin = tls_peer();
  Sink sink;
  std::string msg = request("MESSAGE");
  receiver.receive(msg.data(), msg.size(), origin, sink);
  ASSERT_EQ(sink.replies.size(), 1u);
  EXPECT_EQ(sink.replies[0].rfind("SIP/2.0 299 boot=2 ticks=2\r\n", 0), 0u) << sink.replies[0];
}

}  // namespace
}  // namespace sipsd
