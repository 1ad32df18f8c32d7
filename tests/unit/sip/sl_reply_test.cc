#include "core/sip/sl_reply.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

#include "core/sip/message.h"
#include "tests/unit/sip/sip_test_util.h"

namespace sipsd::sip {
namespace {

using testing_util::Crlf;

// A parsed request together with the buffer its views point into.
struct Parsed {
  explicit Parsed(std::string_view wire) : buf(wire) {
    result = parse_message(buf.data(), buf.size(), &msg);
  }
  Parsed(const Parsed&) = delete;
  std::string buf;
  Message msg;
  ParseResult result{};
};

std::string Request(std::string_view via, std::string_view to = "To: Bob <sip:bob@example.com>",
                    std::string_view method = "INVITE", std::string_view call_id = "a84b4c76e667",
                    std::string_view from_tag = "1928301774", std::string_view cseq = "314159") {
  std::string s = std::string(method) + " sip:bob@example.com SIP/2.0\n";
  s += std::string(via) + "\n";
  s += "Max-Forwards: 70\n";
  s += std::string(to) + "\n";
  s += "From: Alice <sip:alice@example.com>";
  if (!from_tag.empty()) s += ";tag=" + std::string(from_tag);
  s += "\n";
  s += "Call-ID: " + std::string(call_id) + "\n";
  s += "CSeq: " + std::string(cseq) + " " + std::string(method) + "\n";
  s += "Content-Length: 0\n\n";
  return Crlf(s);
}

constexpr std::string_view kVia = "Via: SIP/2.0/TLS client.example.com:5061;branch=z9hG4bK74bf9";

std::string Reply(const Message& req, int code, std::string_view reason, std::string_view ip,
                  uint16_t port, std::string_view server = {}) {
  std::string out;
  build_stateless_reply(req, code, reason, ReplyParams{ip, port, server}, &out);
  return out;
}

// The Via lines of a reply, in order.
std::vector<std::string> ViaLines(const std::string& reply) {
  std::vector<std::string> out;
  size_t pos = 0;
  while ((pos = reply.find("\r\nVia: ", pos)) != std::string::npos) {
    const size_t b = pos + 7;
    const size_t e = reply.find("\r\n", b);
    out.push_back(reply.substr(b, e - b));
    pos = e;
  }
  return out;
}

TEST(SlReply, BuildsCompleteReply) {
  Parsed p(Request(kVia));
  ASSERT_EQ(p.result.status, ParseStatus::kOk) << p.result.reason;
  char tag[kSlTagLength];
  const std::string t(sl_to_tag(p.msg, tag));
  EXPECT_EQ(Reply(p.msg, 404, "Not Found", "192.0.2.1", 40312, "sipsd (0.1.0)"),
            "SIP/2.0 404 Not Found\r\n"
            "Via: SIP/2.0/TLS client.example.com:5061;branch=z9hG4bK74bf9;received=192.0.2.1\r\n"
            "From: Alice <sip:alice@example.com>;tag=1928301774\r\n"
            "To: Bob <sip:bob@example.com>;tag=" +
                t +
                "\r\n"
                "Call-ID: a84b4c76e667\r\n"
                "CSeq: 314159 INVITE\r\n"
                "Server: sipsd (0.1.0)\r\n"
                "Content-Length: 0\r\n"
                "\r\n");
  EXPECT_TRUE(is_sl_to_tag(t));
  EXPECT_EQ(t.substr(0, kSlTagPrefix.size()), kSlTagPrefix);
}

TEST(SlReply, DefaultReasonAndNoServer) {
  Parsed p(Request(kVia));
  const std::string r = Reply(p.msg, 486, "", "192.0.2.1", 5061);
  EXPECT_EQ(r.substr(0, r.find("\r\n")), "SIP/2.0 486 Busy Here");
  EXPECT_EQ(r.find("Server:"), std::string::npos);
  EXPECT_EQ(Reply(p.msg, 499, "", "192.0.2.1", 5061).substr(0, 27),
            "SIP/2.0 499 Client Error\r\nV");
  EXPECT_EQ(default_reason(200), "OK");
  EXPECT_EQ(default_reason(505), "Version Not Supported");
  EXPECT_EQ(default_reason(42), "");
}

TEST(SlReply, ReasonAndServerCannotInjectLines) {
  Parsed p(Request(kVia));
  const std::string r =
      Reply(p.msg, 403, "Forbidden\r\nX-Evil: 1", "192.0.2.1", 5061, "sipsd\r\nX-Evil: 2");
  EXPECT_EQ(r.find("\r\nX-Evil"), std::string::npos);
  EXPECT_EQ(r.substr(0, r.find("\r\n")), "SIP/2.0 403 Forbidden  X-Evil: 1");
}

TEST(SlReply, ReceivedOnlyWhenHostDiffers) {
  // RFC 3261 §18.2.1: sent-by host == source address, no rport: Via unchanged.
  Parsed same(Request("Via: SIP/2.0/TLS 192.0.2.1:5061;branch=z9hG4bK1"));
  EXPECT_EQ(ViaLines(Reply(same.msg, 200, "OK", "192.0.2.1", 40312)),
            std::vector<std::string>{"SIP/2.0/TLS 192.0.2.1:5061;branch=z9hG4bK1"});
  // The port plays no part.
  EXPECT_EQ(ViaLines(Reply(same.msg, 200, "OK", "192.0.2.1", 5061)),
            std::vector<std::string>{"SIP/2.0/TLS 192.0.2.1:5061;branch=z9hG4bK1"});
  // A different address, or a host name.
  EXPECT_EQ(
      ViaLines(Reply(same.msg, 200, "OK", "198.51.100.9", 40312)),
      std::vector<std::string>{"SIP/2.0/TLS 192.0.2.1:5061;branch=z9hG4bK1;received=198.51.100.9"});
  Parsed name(Request("Via: SIP/2.0/TLS pc33.example.com;branch=z9hG4bK1"));
  EXPECT_EQ(
      ViaLines(Reply(name.msg, 200, "OK", "192.0.2.1", 40312)),
      std::vector<std::string>{"SIP/2.0/TLS pc33.example.com;branch=z9hG4bK1;received=192.0.2.1"});
  // No source address known: nothing added.
  EXPECT_EQ(ViaLines(Reply(name.msg, 200, "OK", "", 0)),
            std::vector<std::string>{"SIP/2.0/TLS pc33.example.com;branch=z9hG4bK1"});
}

TEST(SlReply, Ipv6SentByComparedAsAddresses) {
  Parsed p(Request("Via: SIP/2.0/TLS [2001:db8::9:1]:5061;branch=z9hG4bK1"));
  ASSERT_EQ(p.result.status, ParseStatus::kOk) << p.result.reason;
  // Same address, different spelling: no received.
  EXPECT_EQ(ViaLines(Reply(p.msg, 200, "OK", "2001:DB8:0:0::9:1", 1)),
            std::vector<std::string>{"SIP/2.0/TLS [2001:db8::9:1]:5061;branch=z9hG4bK1"});
  EXPECT_EQ(ViaLines(Reply(p.msg, 200, "OK", "[2001:db8::9:1]", 1)),
            std::vector<std::string>{"SIP/2.0/TLS [2001:db8::9:1]:5061;branch=z9hG4bK1"});
  // Different: received carries the bare address (RFC 5118 §4.5).
  EXPECT_EQ(ViaLines(Reply(p.msg, 200, "OK", "[2001:db8::9:255]", 1)),
            std::vector<std::string>{
                "SIP/2.0/TLS [2001:db8::9:1]:5061;branch=z9hG4bK1;received=2001:db8::9:255"});
  // An IPv4 peer seen through a dual-stack socket.
  Parsed v4(Request("Via: SIP/2.0/TLS 192.0.2.10;branch=z9hG4bK1"));
  EXPECT_EQ(ViaLines(Reply(v4.msg, 200, "OK", "::ffff:192.0.2.10", 1)),
            std::vector<std::string>{"SIP/2.0/TLS 192.0.2.10;branch=z9hG4bK1"});
}

TEST(SlReply, ExistingReceivedIsReplaced) {
  Parsed p(Request("Via: SIP/2.0/TLS h.example.com;received=10.9.9.9;branch=z9hG4bK1"));
  EXPECT_EQ(
      ViaLines(Reply(p.msg, 200, "OK", "192.0.2.1", 1)),
      std::vector<std::string>{"SIP/2.0/TLS h.example.com;received=192.0.2.1;branch=z9hG4bK1"});
  // Even when the sent-by is the source (a stale received is corrected, never duplicated).
  Parsed q(Request("Via: SIP/2.0/TLS 192.0.2.1;branch=z9hG4bK1 ; received = 10.9.9.9"));
  EXPECT_EQ(ViaLines(Reply(q.msg, 200, "OK", "192.0.2.1", 1)),
            std::vector<std::string>{"SIP/2.0/TLS 192.0.2.1;branch=z9hG4bK1 ;received=192.0.2.1"});
}

TEST(SlReply, RportRules) {
  // RFC 3581 §4: a bare rport gets the source port, and received is added even when the
  // sent-by host is the source address.
  Parsed bare(Request("Via: SIP/2.0/TLS 192.0.2.1:5061;rport;branch=z9hG4bK1"));
  EXPECT_EQ(ViaLines(Reply(bare.msg, 200, "OK", "192.0.2.1", 40312)),
            std::vector<std::string>{
                "SIP/2.0/TLS 192.0.2.1:5061;rport=40312;branch=z9hG4bK1;received=192.0.2.1"});
  Parsed nat(Request("Via: SIP/2.0/TLS 10.0.0.5:5061;branch=z9hG4bK1;rport"));
  EXPECT_EQ(ViaLines(Reply(nat.msg, 200, "OK", "203.0.113.7", 61000)),
            std::vector<std::string>{
                "SIP/2.0/TLS 10.0.0.5:5061;branch=z9hG4bK1;rport=61000;received=203.0.113.7"});
  // Both rewritten in place, in either order.
  Parsed both(Request("Via: SIP/2.0/TLS h;received=1.1.1.1;rport;branch=z9hG4bK1"));
  EXPECT_EQ(
      ViaLines(Reply(both.msg, 200, "OK", "203.0.113.7", 61000)),
      std::vector<std::string>{"SIP/2.0/TLS h;received=203.0.113.7;rport=61000;branch=z9hG4bK1"});
  Parsed both2(Request("Via: SIP/2.0/TLS h;rport;received=1.1.1.1;branch=z9hG4bK1"));
  EXPECT_EQ(
      ViaLines(Reply(both2.msg, 200, "OK", "203.0.113.7", 61000)),
      std::vector<std::string>{"SIP/2.0/TLS h;rport=61000;received=203.0.113.7;branch=z9hG4bK1"});
  // rport with a value is left alone; no rport: none added.
  Parsed valued(Request("Via: SIP/2.0/TLS 192.0.2.1;rport=1234;branch=z9hG4bK1"));
  EXPECT_EQ(ViaLines(Reply(valued.msg, 200, "OK", "192.0.2.1", 40312)),
            std::vector<std::string>{"SIP/2.0/TLS 192.0.2.1;rport=1234;branch=z9hG4bK1"});
  Parsed none(Request("Via: SIP/2.0/TLS 192.0.2.1;branch=z9hG4bK1"));
  const std::string r = Reply(none.msg, 200, "OK", "192.0.2.1", 40312);
  EXPECT_EQ(r.find("rport"), std::string::npos);
}

TEST(SlReply, AllViasCopiedInOrderOnlyTopRewritten) {
  Parsed p(
      Crlf("BYE sip:bob@example.com SIP/2.0\n"
           "Via: SIP/2.0/TLS proxy2.example.com:5061;branch=z9hG4bK2;rport ,  "
           "SIP/2.0/TLS proxy1.example.com;branch=z9hG4bK1;rport\n"
           "Max-Forwards: 69\n"
           "v: SIP/2.0/TLS  client.example.com ;branch=z9hG4bK0;rport\n"
           "From: <sip:alice@example.com>;tag=a\n"
           "To: <sip:bob@example.com>;tag=b\n"
           "Call-ID: c\n"
           "CSeq: 2 BYE\n"
           "Via: SIP/2.0/TLS [2001:db8::1];branch=z9hG4bKz\n"
           "Content-Length: 0\n\n"));
  ASSERT_EQ(p.result.status, ParseStatus::kOk) << p.result.reason;
  const std::string r = Reply(p.msg, 481, "", "192.0.2.2", 5555);
  EXPECT_EQ(ViaLines(r),
            (std::vector<std::string>{
                "SIP/2.0/TLS proxy2.example.com:5061;branch=z9hG4bK2;rport=5555;"
                "received=192.0.2.2 ,  SIP/2.0/TLS proxy1.example.com;branch=z9hG4bK1;rport",
                "SIP/2.0/TLS  client.example.com ;branch=z9hG4bK0;rport",
                "SIP/2.0/TLS [2001:db8::1];branch=z9hG4bKz",
            }));
  // The existing To tag is kept, none added.
  EXPECT_NE(r.find("\r\nTo: <sip:bob@example.com>;tag=b\r\n"), std::string::npos);
  EXPECT_EQ(r.find(kSlTagPrefix), std::string::npos);
}

TEST(SlReply, ToTagDeterministic) {
  Parsed a(Request(kVia));
  Parsed b(Request(kVia));
  const std::string ra = Reply(a.msg, 486, "", "192.0.2.1", 1);
  EXPECT_EQ(ra, Reply(b.msg, 486, "", "192.0.2.1", 1));  // a retransmission
  char t1[kSlTagLength];
  char t2[kSlTagLength];
  const std::string tag(sl_to_tag(a.msg, t1));
  EXPECT_EQ(sl_to_tag(b.msg, t2), tag);
  // The reply code and reason play no part; 100 gets no tag.
  EXPECT_NE(Reply(a.msg, 603, "", "192.0.2.1", 1).find(";tag=" + tag), std::string::npos);
  EXPECT_EQ(Reply(a.msg, 100, "", "192.0.2.1", 1).find(kSlTagPrefix), std::string::npos);
  EXPECT_NE(Reply(a.msg, 101, "", "192.0.2.1", 1).find(kSlTagPrefix), std::string::npos);
  // Each input changes it.
  auto tag_of = [](const std::string& wire) {
    Parsed p(wire);
    char t[kSlTagLength];
    return std::string(sl_to_tag(p.msg, t));
  };
  EXPECT_NE(tag_of(Request("Via: SIP/2.0/TLS client.example.com:5061;branch=z9hG4bK74bfA")), tag);
  EXPECT_NE(tag_of(Request(kVia, "To: Bob <sip:bob@example.com>", "INVITE", "other")), tag);
  EXPECT_NE(tag_of(Request(kVia, "To: Bob <sip:bob@example.com>", "INVITE", "a84b4c76e667", "2")),
            tag);
  EXPECT_NE(tag_of(Request(kVia, "To: Bob <sip:bob@example.com>", "INVITE", "a84b4c76e667",
                           "1928301774", "314160")),
            tag);
  // A CANCEL shares the INVITE's branch and CSeq number, and gets the same tag (RFC 3261 §9.2).
  EXPECT_EQ(tag_of(Request(kVia, "To: Bob <sip:bob@example.com>", "CANCEL")), tag);
  // The To display name is not an input.
  EXPECT_EQ(tag_of(Request(kVia, "To: \"Robert\" <sip:bob@example.com>")), tag);
  // RFC 2543 requests (no branch, no From tag) still get a tag, depending on the sent-by.
  const std::string t2543 =
      tag_of(Request("Via: SIP/2.0/TLS 192.0.2.15", "To: <sip:b@x>", "INVITE", "1@192.0.2.15", ""));
  EXPECT_TRUE(is_sl_to_tag(t2543));
  EXPECT_NE(
      tag_of(Request("Via: SIP/2.0/TLS 192.0.2.16", "To: <sip:b@x>", "INVITE", "1@192.0.2.15", "")),
      t2543);
  EXPECT_FALSE(is_sl_to_tag("sipsd-sl-0123"));
  EXPECT_FALSE(is_sl_to_tag("abcdefghijklmnopqrstuvwxy"));
}

TEST(SlReply, ExistingToTagPreserved) {
  Parsed p(Request(kVia, "To: Bob <sip:bob@example.com>;tag=existing-42"));
  const std::string r = Reply(p.msg, 500, "", "192.0.2.1", 1);
  EXPECT_NE(r.find("\r\nTo: Bob <sip:bob@example.com>;tag=existing-42\r\n"), std::string::npos);
  EXPECT_EQ(r.find(";tag=sipsd"), std::string::npos);
  // Addr-spec form: the tag goes after the URI as a header parameter.
  Parsed q(Request(kVia, "t: sip:bob@example.com"));
  const std::string rq = Reply(q.msg, 404, "", "192.0.2.1", 1);
  EXPECT_NE(rq.find("\r\nTo: sip:bob@example.com;tag=sipsd-sl-"), std::string::npos);
}

TEST(SlReply, BadRequestsStillGetA400) {
  // Missing everything but the start line: status line and Content-Length.
  Parsed bare(Crlf("OPTIONS sip:a@example.com SIP/2.0\n\n"));
  ASSERT_EQ(bare.result.status, ParseStatus::kBadRequest);
  EXPECT_EQ(Reply(bare.msg, 400, bare.result.reason, "192.0.2.1", 1),
            "SIP/2.0 400 Missing Via header\r\nContent-Length: 0\r\n\r\n");
  // Missing To: the rest is copied.
  Parsed no_to(
      Crlf("OPTIONS sip:a@example.com SIP/2.0\n"
           "Via: SIP/2.0/TLS h;branch=z9hG4bK1\n"
           "From: <sip:a@b>;tag=1\nCall-ID: x\nCSeq: 1 OPTIONS\n\n"));
  ASSERT_EQ(no_to.result.status, ParseStatus::kBadRequest);
  EXPECT_EQ(Reply(no_to.msg, 400, no_to.result.reason, "192.0.2.1", 1),
            "SIP/2.0 400 Missing To header\r\n"
            "Via: SIP/2.0/TLS h;branch=z9hG4bK1;received=192.0.2.1\r\n"
            "From: <sip:a@b>;tag=1\r\n"
            "Call-ID: x\r\n"
            "CSeq: 1 OPTIONS\r\n"
            "Content-Length: 0\r\n\r\n");
  // A bad top Via is copied as received, without received/rport.
  Parsed bad_via(
      Crlf("OPTIONS sip:a@example.com SIP/2.0\n"
           "Via: SIP/2.0/TLS h:99999;rport\n"
           "From: <sip:a@b>;tag=1\nTo: <sip:c@d>\nCall-ID: x\nCSeq: 1 OPTIONS\n\n"));
  ASSERT_EQ(bad_via.result.status, ParseStatus::kBadRequest);
  EXPECT_STREQ(bad_via.result.reason, "Bad Via header");
  EXPECT_EQ(ViaLines(Reply(bad_via.msg, 400, bad_via.result.reason, "192.0.2.1", 1)),
            std::vector<std::string>{"SIP/2.0/TLS h:99999;rport"});
  // A bad CSeq: the tag is still computed (CSeq number 0).
  Parsed bad_cseq(Request(kVia, "To: <sip:b@x>", "INVITE", "c", "f", "99999999999"));
  ASSERT_EQ(bad_cseq.result.status, ParseStatus::kBadRequest);
  const std::string r = Reply(bad_cseq.msg, 400, bad_cseq.result.reason, "192.0.2.1", 1);
  EXPECT_EQ(r.substr(0, 25), "SIP/2.0 400 Bad CSeq\r\nVia");
  EXPECT_NE(r.find("\r\nCSeq: 99999999999 INVITE\r\n"), std::string::npos);
}

TEST(SlReply, NothingForAckRepliesOrBadCodes) {
  Parsed ack(Request(kVia, "To: Bob <sip:bob@example.com>", "ACK"));
  ASSERT_EQ(ack.result.status, ParseStatus::kOk) << ack.result.reason;
  std::string out = "stale";
  build_stateless_reply(ack.msg, 200, "OK", ReplyParams{"192.0.2.1", 1, {}}, &out);
  EXPECT_TRUE(out.empty());
  Parsed reply(
      Crlf("SIP/2.0 200 OK\nVia: SIP/2.0/TLS h;branch=z9hG4bK1\n"
           "From: <sip:a@b>;tag=1\nTo: <sip:c@d>;tag=2\nCall-ID: x\nCSeq: 1 INVITE\n\n"));
  ASSERT_EQ(reply.result.status, ParseStatus::kOk) << reply.result.reason;
  EXPECT_EQ(Reply(reply.msg, 200, "OK", "192.0.2.1", 1), "");
  Parsed req(Request(kVia));
  EXPECT_EQ(Reply(req.msg, 99, "x", "192.0.2.1", 1), "");
  EXPECT_EQ(Reply(req.msg, 700, "x", "192.0.2.1", 1), "");
  EXPECT_EQ(Reply(Message(), 200, "OK", "192.0.2.1", 1), "");
}

TEST(SlReply, ReplyParsesBack) {
  Parsed req(
      Request("Via: SIP/2.0/TLS 10.0.0.5:5061;rport;branch=z9hG4bKrt, "
              "SIP/2.0/TLS p.example.com;branch=z9hG4bKp"));
  ASSERT_EQ(req.result.status, ParseStatus::kOk) << req.result.reason;
  const std::string wire =
      Reply(req.msg, 488, "Not Acceptable Here", "203.0.113.7", 61000, "sipsd (0.1.0)");
  Parsed rep(wire);
  ASSERT_EQ(rep.result.status, ParseStatus::kOk) << rep.result.reason << "\n" << wire;
  const Message& m = rep.msg;
  EXPECT_FALSE(m.is_request());
  EXPECT_EQ(m.status_code(), 488);
  EXPECT_EQ(m.reason(), "Not Acceptable Here");
  EXPECT_EQ(m.call_id(), req.msg.call_id());
  EXPECT_EQ(m.cseq_number(), req.msg.cseq_number());
  EXPECT_EQ(m.cseq_method(), "INVITE");
  EXPECT_EQ(m.from_tag(), req.msg.from_tag());
  char t[kSlTagLength];
  EXPECT_EQ(m.to_tag(), sl_to_tag(req.msg, t));
  EXPECT_TRUE(is_sl_to_tag(m.to_tag()));
  ASSERT_NE(m.top_via(), nullptr);
  EXPECT_EQ(m.top_via()->host, "10.0.0.5");
  EXPECT_EQ(m.top_via()->branch, "z9hG4bKrt");
  EXPECT_EQ(m.top_via()->received, "203.0.113.7");
  EXPECT_EQ(m.top_via()->rport, "61000");
  EXPECT_EQ(m.count(HeaderType::kVia), 1u);
  EXPECT_EQ(m.first(HeaderType::kServer)->value, "sipsd (0.1.0)");
  EXPECT_EQ(m.first(HeaderType::kContentLength)->value, "0");
  EXPECT_EQ(m.body(), "");
  // Parsing the reply of a reply-shaped request round-trips the same way for IPv6.
  Parsed v6(Request("Via: SIP/2.0/TLS [2001:db8::1]:5061;rport;branch=z9hG4bK6"));
  Parsed rep6(Reply(v6.msg, 200, "OK", "2001:db8::2", 5062));
  ASSERT_EQ(rep6.result.status, ParseStatus::kOk) << rep6.result.reason;
  EXPECT_EQ(rep6.msg.top_via()->received, "2001:db8::2");
  EXPECT_EQ(rep6.msg.top_via()->rport, "5062");
}

TEST(SlReply, ReusesOutputCapacity) {
  Parsed req(Request(kVia));
  std::string out;
  build_stateless_reply(req.msg, 404, "", ReplyParams{"192.0.2.1", 1, "sipsd"}, &out);
  const std::string first = out;
  const char* data = out.data();
  const size_t cap = out.capacity();
  for (int i = 0; i < 10; ++i) {
    build_stateless_reply(req.msg, 404, "", ReplyParams{"192.0.2.1", 1, "sipsd"}, &out);
  }
  EXPECT_EQ(out, first);
  EXPECT_EQ(out.data(), data);
  EXPECT_EQ(out.capacity(), cap);
}

}  // namespace
}  // namespace sipsd::sip
