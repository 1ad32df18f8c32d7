// Builders tm needs: CANCEL and non-2xx ACK (request_builder.h), stateful local replies
// (reply_builder.h) and local To-tags (local_tag.h).
#include "core/sip/request_builder.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "core/sip/header_cursor.h"
#include "core/sip/local_tag.h"
#include "core/sip/reply_builder.h"
#include "tests/unit/sip/sip_test_util.h"

namespace sipsd::sip {
namespace {

using testing_util::Crlf;
using testing_util::ParsedMessage;

// The INVITE as the proxy sent it on a branch: its own Via on top, the branch's Route set.
constexpr std::string_view kSentInvite =
    "INVITE sip:bob@192.0.2.20:5061;transport=tls SIP/2.0\n"
    "Via: SIP/2.0/TLS proxy.example.com;branch=z9hG4bKab12.0.0\n"
    "Via: SIP/2.0/TLS client.atlanta.example.com:5061;branch=z9hG4bK74bf9\n"
    "route: <sip:p1.example.org;lr>, <sip:p2.example.org;lr>\n"
    "Route: <sip:p3.example.org;lr>\n"
    "Max-Forwards: 69\n"
    "Record-Route: <sip:proxy.example.com;transport=tls;lr>\n"
    "f: Alice <sip:alice@atlanta.example.com>;tag=9fxced76sl\n"
    "To: Bob <sip:bob@biloxi.example.com>\n"
    "Call-ID: 3848276298220188511@atlanta.example.com\n"
    "CSeq: 31 INVITE\n"
    "Content-Type: application/sdp\n"
    "Content-Length: {CL}\n"
    "\n"
    "v=0\n";

std::string Reply486(std::string_view call_id = "3848276298220188511@atlanta.example.com",
                     std::string_view cseq = "31 INVITE", std::string_view code = "486 Busy Here") {
  return Crlf("SIP/2.0 " + std::string(code) +
              "\n"
              "Via: SIP/2.0/TLS proxy.example.com;branch=z9hG4bKab12.0.0;received=192.0.2.5\n"
              "From: Alice <sip:alice@atlanta.example.com>;tag=9fxced76sl\n"
              "To: Bob <sip:bob@biloxi.example.com>;tag=8321234356\n"
              "Call-ID: " +
              std::string(call_id) + "\nCSeq: " + std::string(cseq) +
              "\n"
              "Content-Length: 0\n\n");
}

TEST(BuildCancel, Rfc3261Section9_1) {
  ParsedMessage inv(Crlf(kSentInvite));
  ASSERT_TRUE(inv.ok()) << inv.result.reason;
  std::string out = "stale";
  ASSERT_TRUE(build_cancel(inv.msg, "", &out));
  EXPECT_EQ(out, Crlf("CANCEL sip:bob@192.0.2.20:5061;transport=tls SIP/2.0\n"
                      "Via: SIP/2.0/TLS proxy.example.com;branch=z9hG4bKab12.0.0\n"
                      "Route: <sip:p1.example.org;lr>, <sip:p2.example.org;lr>\n"
                      "Route: <sip:p3.example.org;lr>\n"
                      "Max-Forwards: 70\n"
                      "From: Alice <sip:alice@atlanta.example.com>;tag=9fxced76sl\n"
                      "To: Bob <sip:bob@biloxi.example.com>\n"
                      "Call-ID: 3848276298220188511@atlanta.example.com\n"
                      "CSeq: 31 CANCEL\n"
                      "Content-Length: 0\n"
                      "\n"));
  ParsedMessage back(out);
  ASSERT_TRUE(back.ok()) << back.result.reason;
  EXPECT_EQ(back.msg.method_id(), Method::kCancel);
  EXPECT_EQ(back.msg.top_via()->branch, inv.msg.top_via()->branch);
  EXPECT_EQ(back.msg.count(HeaderType::kVia), 1u);
  EXPECT_EQ(back.msg.cseq_number(), 31u);
  EXPECT_FALSE(back.msg.has_to_tag());
}

TEST(BuildCancel, WithReason) {
  ParsedMessage inv(Crlf(kSentInvite));
  std::string out;
  ASSERT_TRUE(build_cancel(inv.msg, "SIP;cause=480;text=\"NO_ANSWER\"", &out));
  EXPECT_NE(out.find("\r\nCSeq: 31 CANCEL\r\nReason: SIP;cause=480;text=\"NO_ANSWER\"\r\n"
                     "Content-Length: 0\r\n\r\n"),
            std::string::npos)
      << out;
  EXPECT_FALSE(build_cancel(inv.msg, "SIP;cause=487\r\nX-Evil: 1", &out));
  EXPECT_EQ(out, "");
}

TEST(BuildCancel, OnlyForUsableInvites) {
  std::string out = "x";
  ParsedMessage options(
      Crlf("OPTIONS sip:a@b SIP/2.0\nVia: SIP/2.0/TLS h;branch=z9hG4bK1\nFrom: <sip:a@b>;tag=1\n"
           "To: <sip:a@b>\nCall-ID: c\nCSeq: 1 OPTIONS\n\n"));
  ASSERT_TRUE(options.ok());
  EXPECT_FALSE(build_cancel(options.msg, "", &out));
  EXPECT_EQ(out, "");
  ParsedMessage reply(Reply486());
  EXPECT_FALSE(build_cancel(reply.msg, "", &out));
  // An INVITE missing pieces (parsed as kBadRequest).
  ParsedMessage no_from(
      Crlf("INVITE sip:a@b SIP/2.0\nVia: SIP/2.0/TLS h;branch=z9hG4bK1\n"
           "To: <sip:a@b>\nCall-ID: c\nCSeq: 1 INVITE\n\n"));
  EXPECT_FALSE(build_cancel(no_from.msg, "", &out));
  ParsedMessage bad_via(
      Crlf("INVITE sip:a@b SIP/2.0\nVia: junk\nFrom: <sip:a@b>;tag=1\n"
           "To: <sip:a@b>\nCall-ID: c\nCSeq: 1 INVITE\n\n"));
  EXPECT_FALSE(build_cancel(bad_via.msg, "", &out));
  ParsedMessage bad_cseq(
      Crlf("INVITE sip:a@b SIP/2.0\nVia: SIP/2.0/TLS h;branch=z9hG4bK1\n"
           "From: <sip:a@b>;tag=1\nTo: <sip:a@b>\nCall-ID: c\nCSeq: x\n\n"));
  EXPECT_FALSE(build_cancel(bad_cseq.msg, "", &out));
}

TEST(BuildNon2xxAck, Rfc3261Section17_1_1_3) {
  ParsedMessage inv(Crlf(kSentInvite));
  ParsedMessage reply(Reply486());
  ASSERT_TRUE(reply.ok()) << reply.result.reason;
  std::string out;
  ASSERT_TRUE(build_non2xx_ack(inv.msg, reply.msg, &out));
  EXPECT_EQ(out, Crlf("ACK sip:bob@192.0.2.20:5061;transport=tls SIP/2.0\n"
                      "Via: SIP/2.0/TLS proxy.example.com;branch=z9hG4bKab12.0.0\n"
                      "Route: <sip:p1.example.org;lr>, <sip:p2.example.org;lr>\n"
                      "Route: <sip:p3.example.org;lr>\n"
                      "Max-Forwards: 70\n"
                      "From: Alice <sip:alice@atlanta.example.com>;tag=9fxced76sl\n"
                      "To: Bob <sip:bob@biloxi.example.com>;tag=8321234356\n"
                      "Call-ID: 3848276298220188511@atlanta.example.com\n"
                      "CSeq: 31 ACK\n"
                      "Content-Length: 0\n"
                      "\n"));
  ParsedMessage back(out);
  ASSERT_TRUE(back.ok()) << back.result.reason;
  EXPECT_EQ(back.msg.method_id(), Method::kAck);
  EXPECT_EQ(back.msg.to_tag(), "8321234356");
  std::vector<std::string> routes;
  NameAddr na;
  for (NameAddrCursor c(back.msg, HeaderType::kRoute); c.next(&na);) routes.emplace_back(na.uri);
  EXPECT_EQ(routes, (std::vector<std::string>{"sip:p1.example.org;lr", "sip:p2.example.org;lr",
                                              "sip:p3.example.org;lr"}));
}

TEST(BuildNon2xxAck, OnlyForNegativeFinalRepliesOfThatInvite) {
  ParsedMessage inv(Crlf(kSentInvite));
  std::string out = "x";
  for (std::string_view code : {"200 OK", "180 Ringing", "100 Trying"}) {
    ParsedMessage r(Reply486("3848276298220188511@atlanta.example.com", "31 INVITE", code));
    ASSERT_TRUE(r.ok());
    EXPECT_FALSE(build_non2xx_ack(inv.msg, r.msg, &out)) << code;
    EXPECT_EQ(out, "");
  }
  for (std::string_view code : {"300 Multiple Choices", "699 Whatever"}) {
    ParsedMessage r(Reply486("3848276298220188511@atlanta.example.com", "31 INVITE", code));
    EXPECT_TRUE(build_non2xx_ack(inv.msg, r.msg, &out)) << code;
  }
  ParsedMessage other_call(Reply486("other@x"));
  EXPECT_FALSE(build_non2xx_ack(inv.msg, other_call.msg, &out));
  ParsedMessage other_cseq(Reply486("3848276298220188511@atlanta.example.com", "32 INVITE"));
  EXPECT_FALSE(build_non2xx_ack(inv.msg, other_cseq.msg, &out));
  ParsedMessage reply(Reply486());
  EXPECT_FALSE(build_non2xx_ack(reply.msg, reply.msg, &out));  // the "INVITE" is a reply
  EXPECT_FALSE(build_non2xx_ack(inv.msg, inv.msg, &out));      // the "reply" is a request
}

// ---- stateful local replies -------------------------------------------------------------

TEST(BuildReply, StatefulWithTagRecordRouteContactAndBody) {
  ParsedMessage inv(
      Crlf("INVITE sip:bob@biloxi.example.com SIP/2.0\n"
           "Via: SIP/2.0/TLS 192.0.2.5:5061;branch=z9hG4bK74bf9;rport\n"
           "Record-Route: <sip:p2.example.org;lr>\n"
           "Record-Route: <sip:p1.example.org;lr>, <sip:p0.example.org;lr>\n"
           "From: Alice <sip:alice@atlanta.example.com>;tag=9fxced76sl\n"
           "To: Bob <sip:bob@biloxi.example.com>\n"
           "Call-ID: c1\n"
           "CSeq: 1 INVITE\n"
           "Content-Length: 0\n\n"));
  ASSERT_TRUE(inv.ok());
  const HeaderField extra[] = {{"Contact", "<sip:bob@192.0.2.20:5061;transport=tls>"},
                               {"Content-Type", "text/plain"}};
  LocalReply r;
  r.code = 183;
  r.to_tag = "85886aa0d23bdbbf979c61fb0a6ab6ed-b437";
  r.copy_record_route = true;
  r.headers = extra;
  r.body = "hello\r\n";
  std::string out;
  ASSERT_TRUE(build_reply(inv.msg, r, ReplyParams{"198.51.100.7", 40312, "sipsd"}, &out));
  EXPECT_EQ(out,
            Crlf("SIP/2.0 183 Session Progress\n"
                 "Via: SIP/2.0/TLS 192.0.2.5:5061;branch=z9hG4bK74bf9;rport=40312;"
                 "received=198.51.100.7\n"
                 "From: Alice <sip:alice@atlanta.example.com>;tag=9fxced76sl\n"
                 "To: Bob <sip:bob@biloxi.example.com>;tag=85886aa0d23bdbbf979c61fb0a6ab6ed-b437\n"
                 "Call-ID: c1\n"
                 "CSeq: 1 INVITE\n"
                 "Record-Route: <sip:p2.example.org;lr>\n"
                 "Record-Route: <sip:p1.example.org;lr>, <sip:p0.example.org;lr>\n"
                 "Contact: <sip:bob@192.0.2.20:5061;transport=tls>\n"
                 "Content-Type: text/plain\n"
                 "Server: sipsd\n"
                 "Content-Length: 7\n"
                 "\n"
                 "hello\n"));
  ParsedMessage back(out);
  ASSERT_TRUE(back.ok()) << back.result.reason;
  EXPECT_EQ(back.msg.body(), "hello\r\n");
}

TEST(BuildReply, TagOnlyWhenGivenAndMissing) {
  const std::string tail = "Call-ID: c\nCSeq: 1 INVITE\n\n";
  ParsedMessage no_tag(
      Crlf("INVITE sip:a@b SIP/2.0\nVia: SIP/2.0/TLS h;branch=z9hG4bK1\n"
           "From: <sip:a@b>;tag=1\nTo: <sip:a@b>\n" +
           tail));
  ParsedMessage tagged(
      Crlf("INVITE sip:a@b SIP/2.0\nVia: SIP/2.0/TLS h;branch=z9hG4bK1\n"
           "From: <sip:a@b>;tag=1\nTo: <sip:a@b>;tag=dialog\n" +
           tail));
  LocalReply r;
  r.code = 100;
  r.reason = "Giving it a try";  // tm's 100: no tag
  std::string out;
  ASSERT_TRUE(build_reply(no_tag.msg, r, ReplyParams{}, &out));
  EXPECT_NE(out.find("SIP/2.0 100 Giving it a try\r\n"), std::string::npos);
  EXPECT_NE(out.find("\r\nTo: <sip:a@b>\r\n"), std::string::npos);
  EXPECT_NE(out.find("\r\nContent-Length: 0\r\n\r\n"), std::string::npos);
  r.code = 487;
  r.reason = {};
  r.to_tag = "x";
  ASSERT_TRUE(build_reply(tagged.msg, r, ReplyParams{}, &out));
  EXPECT_NE(out.find("SIP/2.0 487 Request Terminated\r\n"), std::string::npos);
  EXPECT_NE(out.find("\r\nTo: <sip:a@b>;tag=dialog\r\n"), std::string::npos);
  ASSERT_TRUE(build_reply(no_tag.msg, r, ReplyParams{}, &out));
  EXPECT_NE(out.find("\r\nTo: <sip:a@b>;tag=x\r\n"), std::string::npos);
}

TEST(BuildReply, RejectsWhatWouldNotBeHeaderText) {
  ParsedMessage req(
      Crlf("INVITE sip:a@b SIP/2.0\nVia: SIP/2.0/TLS h;branch=z9hG4bK1\n"
           "From: <sip:a@b>;tag=1\nTo: <sip:a@b>\nCall-ID: c\nCSeq: 1 INVITE\n\n"));
  std::string out = "x";
  LocalReply r;
  r.code = 200;
  r.to_tag = "a b";
  EXPECT_FALSE(build_reply(req.msg, r, ReplyParams{}, &out));
  EXPECT_EQ(out, "");
  r.to_tag = "a\r\nX: y";
  EXPECT_FALSE(build_reply(req.msg, r, ReplyParams{}, &out));
  r.to_tag = {};
  const HeaderField bad_value[] = {{"Contact", "<sip:a@b>\r\nX-Evil: 1"}};
  r.headers = bad_value;
  EXPECT_FALSE(build_reply(req.msg, r, ReplyParams{}, &out));
  const HeaderField bad_name[] = {{"Bad Name", "v"}};
  r.headers = bad_name;
  EXPECT_FALSE(build_reply(req.msg, r, ReplyParams{}, &out));
  const HeaderField empty_name[] = {{"", "v"}};
  r.headers = empty_name;
  EXPECT_FALSE(build_reply(req.msg, r, ReplyParams{}, &out));
  r.headers = {};
  for (int code : {0, 99, 700}) {
    r.code = code;
    EXPECT_FALSE(build_reply(req.msg, r, ReplyParams{}, &out)) << code;
  }
  r.code = 200;
  EXPECT_TRUE(build_reply(req.msg, r, ReplyParams{}, &out));
  ParsedMessage ack(
      Crlf("ACK sip:a@b SIP/2.0\nVia: SIP/2.0/TLS h;branch=z9hG4bK1\n"
           "From: <sip:a@b>;tag=1\nTo: <sip:a@b>\nCall-ID: c\nCSeq: 1 ACK\n\n"));
  EXPECT_FALSE(build_reply(ack.msg, r, ReplyParams{}, &out));
  ParsedMessage reply(Reply486());
  EXPECT_FALSE(build_reply(reply.msg, r, ReplyParams{}, &out));
}

// ---- To-tags ------------------------------------------------------------------------------

TEST(LocalTag, Crc16Ccitt) {
  EXPECT_EQ(crc16_ccitt({"123456789"}), 0x29b1);  // the CRC-16/CCITT-FALSE check value
  EXPECT_EQ(crc16_ccitt({"1234", "", "56789"}), 0x29b1);
  EXPECT_EQ(crc16_ccitt({}), 0xffff);
}

TEST(LocalTag, LayoutAndDeterminism) {
  const LocalTagGenerator tm(kTmTagSignature, "192.0.2.10", 5061, kTmTagSeparator);
  const LocalTagGenerator sl(kSlTagSignature, "192.0.2.10", 5061, kSlTagSeparator);
  // MD5("OpenSIPS-TM/tags" "192.0.2.10" "5061"), then the separator.
  EXPECT_EQ(tm.prefix(), "85886aa0d23bdbbf979c61fb0a6ab6ed-");
  EXPECT_EQ(sl.prefix(), "c5a2af2e60ecee6160698abc1ba1ac91.");

  ParsedMessage inv(
      Crlf("INVITE sip:bob@biloxi.example.com SIP/2.0\n"
           "Via: SIP/2.0/TLS client.atlanta.example.com:5061;branch=z9hG4bK74bf9\n"
           "From: <sip:a@b>;tag=1\nTo: <sip:c@d>\nCall-ID: c\nCSeq: 1 INVITE\n\n"));
  char buf[LocalTagGenerator::kLength];
  const std::string tag(tm.make(inv.msg, buf));
  EXPECT_EQ(tag.size(), 37u);
  // CRC-16/CCITT of host "client.atlanta.example.com", port "5061", branch "z9hG4bK74bf9".
  EXPECT_EQ(tag, "85886aa0d23bdbbf979c61fb0a6ab6ed-b437");
  EXPECT_EQ(std::string(sl.make(inv.msg, buf)), "c5a2af2e60ecee6160698abc1ba1ac91.b437");
  EXPECT_TRUE(tm.matches(inv.msg, tag));
  EXPECT_FALSE(sl.matches(inv.msg, tag));
  EXPECT_FALSE(tm.matches(inv.msg, tag.substr(1)));

  // The CANCEL and the non-2xx ACK share the INVITE's top Via: same tag.
  ParsedMessage cancel(
      Crlf("CANCEL sip:bob@biloxi.example.com SIP/2.0\n"
           "Via: SIP/2.0/TLS client.atlanta.example.com:5061;branch=z9hG4bK74bf9\n"
           "From: <sip:a@b>;tag=1\nTo: <sip:c@d>\nCall-ID: c\nCSeq: 1 CANCEL\n\n"));
  EXPECT_EQ(std::string(tm.make(cancel.msg, buf)), tag);
  // Another branch, another tag.
  ParsedMessage other(
      Crlf("INVITE sip:bob@biloxi.example.com SIP/2.0\n"
           "Via: SIP/2.0/TLS client.atlanta.example.com:5061;branch=z9hG4bK74bfa\n"
           "From: <sip:a@b>;tag=1\nTo: <sip:c@d>\nCall-ID: c\nCSeq: 1 INVITE\n\n"));
  EXPECT_NE(std::string(tm.make(other.msg, buf)), tag);
  // Another server, another prefix.
  const LocalTagGenerator tm2(kTmTagSignature, "192.0.2.11", 5061, kTmTagSeparator);
  EXPECT_NE(tm2.prefix(), tm.prefix());
  // No parsed top Via: the CRC of nothing.
  ParsedMessage no_via(
      Crlf("INVITE sip:a@b SIP/2.0\nFrom: <sip:a@b>;tag=1\nTo: <sip:c@d>\n"
           "Call-ID: c\nCSeq: 1 INVITE\n\n"));
  EXPECT_EQ(std::string(tm.make(no_via.msg, buf)), "85886aa0d23bdbbf979c61fb0a6ab6ed-ffff");
  // A tag is a token, so it can go into a To header.
  LocalReply r;
  r.code = 404;
  r.to_tag = tag;
  std::string out;
  EXPECT_TRUE(build_reply(inv.msg, r, ReplyParams{}, &out));
}

}  // namespace
}  // namespace sipsd::sip
