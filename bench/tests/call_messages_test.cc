// bench/sipsbench/call_messages: the route set a caller builds from a 2xx (RFC 3261 12.1.2,
// 12.2.1.1), name-addr list splitting, and the responses a callee builds.
#include "bench/sipsbench/call_messages.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace sipsd::bench {
namespace {

// Parses `text` (CRLF line ends added) into `msg`, keeping the bytes alive in `buf`.
void parse(const std::string& text, std::string* buf, sip::Message* msg) {
  *buf = text;
  sip::ParseResult r = sip::parse_message(buf->data(), buf->size(), msg);
  ASSERT_EQ(r.status, sip::ParseStatus::kOk) << r.reason << "\n" << text;
}

std::string ok_with(const std::string& extra) {
  return "SIP/2.0 200 OK\r\n"
         "Via: SIP/2.0/TLS 127.0.0.1:5000;branch=z9hG4bK.1;rport=5000\r\n"
         "From: <sip:caller@127.0.0.1>;tag=a\r\n"
         "To: <sip:callee-0@127.0.0.1:6000>;tag=b\r\n"
         "Call-ID: c1@sipsbench\r\n"
         "CSeq: 1 INVITE\r\n" +
         extra + "Content-Length: 0\r\n\r\n";
}

TEST(CallMessages, SplitsNameAddrListsOutsideBracketsAndQuotes) {
  std::vector<std::string_view> out;
  split_name_addrs(R"(<sip:a;lr>, "x, y" <sip:b>,sip:c;p=1 ,  <sip:d,e>)", &out);
  ASSERT_EQ(out.size(), 4u);
  EXPECT_EQ(out[0], "<sip:a;lr>");
  EXPECT_EQ(out[1], R"("x, y" <sip:b>)");
  EXPECT_EQ(out[2], "sip:c;p=1");
  EXPECT_EQ(out[3], "<sip:d,e>");
  EXPECT_EQ(name_addr_uri(out[1]), "sip:b");
  EXPECT_EQ(name_addr_uri(out[2]), "sip:c");
}

TEST(CallMessages, FindsTheLrParameter) {
  EXPECT_TRUE(uri_has_lr("sip:127.0.0.1:5061;transport=tls;lr"));
  EXPECT_TRUE(uri_has_lr("sip:p.example;LR;ftag=x"));
  EXPECT_TRUE(uri_has_lr("sip:p.example;lr=on"));
  EXPECT_FALSE(uri_has_lr("sip:p.example;lrx"));
  EXPECT_FALSE(uri_has_lr("sip:lr@p.example"));
  EXPECT_FALSE(uri_has_lr("sip:p.example?lr"));
}

TEST(CallMessages, NoRecordRouteMeansTheContactAndNoRoute) {
  std::string buf;
  sip::Message m;
  parse(ok_with("Contact: <sip:callee-0@127.0.0.1:6000;transport=tls>\r\n"), &buf, &m);
  DialogRoute d;
  const char* why = nullptr;
  ASSERT_TRUE(dialog_route_from_2xx(m, &d, &why));
  EXPECT_EQ(d.request_uri, "sip:callee-0@127.0.0.1:6000;transport=tls");
  EXPECT_EQ(d.route, "");
}

TEST(CallMessages, RouteSetIsTheRecordRouteReversed) {
  // Two proxies, the second double-record-routing; one of them in a header of its own.
  std::string buf;
  sip::Message m;
  parse(ok_with(
            "Record-Route: <sip:10.0.0.2;r2=on;lr>, <sip:10.0.0.2:5061;transport=tls;r2=on;lr>\r\n"
            "Record-Route: <sip:127.0.0.1:5061;transport=tls;lr>\r\n"
            "Contact: \"Bob\" <sip:callee-0@127.0.0.1:6000>;expires=60\r\n"),
        &buf, &m);
  DialogRoute d;
  const char* why = nullptr;
  ASSERT_TRUE(dialog_route_from_2xx(m, &d, &why));
  EXPECT_EQ(d.request_uri, "sip:callee-0@127.0.0.1:6000");
  EXPECT_EQ(d.route,
            "Route: <sip:127.0.0.1:5061;transport=tls;lr>, "
            "<sip:10.0.0.2:5061;transport=tls;r2=on;lr>, <sip:10.0.0.2;r2=on;lr>\r\n");
}

TEST(CallMessages, StrictRouterBecomesTheRequestUri) {
  std::string buf;
  sip::Message m;
  parse(ok_with("Record-Route: <sip:p2.example;lr>\r\n"
                "Record-Route: <sip:p1.example>\r\n"
                "Contact: <sip:callee@127.0.0.1:6000>\r\n"),
        &buf, &m);
  DialogRoute d;
  const char* why = nullptr;
  ASSERT_TRUE(dialog_route_from_2xx(m, &d, &why));
  EXPECT_EQ(d.request_uri, "sip:p1.example");
  EXPECT_EQ(d.route, "Route: <sip:p2.example;lr>, <sip:callee@127.0.0.1:6000>\r\n");
}

TEST(CallMessages, A2xxWithoutContactCannotBeFollowed) {
  std::string buf;
  sip::Message m;
  parse(ok_with(""), &buf, &m);
  DialogRoute d;
  const char* why = nullptr;
  EXPECT_FALSE(dialog_route_from_2xx(m, &d, &why));
  EXPECT_STREQ(why, "2xx without Contact");
}

TEST(CallMessages, CallerRequestsFollowTheDialog) {
  CallerEnd end{Transport::kTls, "127.0.0.1", 5000, "caller-0-0", {}};
  CallerDialog d;
  d.call_id = "c1@sipsbench";
  d.from_tag = "a";
  d.branch = "z9hG4bK.c1";
  d.ruri = "sip:callee-0@127.0.0.1:6000;transport=tls";
  d.to = "<sip:callee-0@127.0.0.1:6000>";
  std::string invite;
  append_invite(&invite, end, d, sdp_body("caller", 1, 4000));
  std::string buf;
  sip::Message m;
  parse(invite, &buf, &m);
  EXPECT_EQ(m.method_id(), sip::Method::kInvite);
  EXPECT_EQ(m.ruri(), d.ruri);
  EXPECT_EQ(m.top_via()->branch, "z9hG4bK.c1");
  EXPECT_EQ(m.max_forwards(), 70);
  EXPECT_EQ(m.cseq_number(), 1u);
  EXPECT_NE(m.body().find("m=audio 4000 RTP/AVP"), std::string_view::npos);
  EXPECT_NE(invite.find("Contact: <sip:caller-0-0@127.0.0.1:5000;transport=tls>\r\n"),
            std::string::npos);

  d.to = "<sip:callee-0@127.0.0.1:6000>;tag=b";
  d.route = DialogRoute{"sip:callee-0@127.0.0.1:6000", "Route: <sip:127.0.0.1:5061;lr>\r\n"};
  std::string bye;
  append_bye(&bye, end, d);
  parse(bye, &buf, &m);
  EXPECT_EQ(m.method_id(), sip::Method::kBye);
  EXPECT_EQ(m.ruri(), "sip:callee-0@127.0.0.1:6000");
  EXPECT_EQ(m.to_tag(), "b");
  EXPECT_EQ(m.cseq_number(), 2u);
  EXPECT_NE(m.top_via()->branch, "z9hG4bK.c1");  // a new transaction
  EXPECT_NE(bye.find("Route: <sip:127.0.0.1:5061;lr>\r\n"), std::string::npos);

  std::string ack;
  append_ack_non2xx(&ack, end, d);
  parse(ack, &buf, &m);
  EXPECT_EQ(m.method_id(), sip::Method::kAck);
  EXPECT_EQ(m.ruri(), d.ruri);                   // the INVITE's R-URI ...
  EXPECT_EQ(m.top_via()->branch, "z9hG4bK.c1");  // ... and branch (17.1.1.3)
  EXPECT_EQ(ack.find("Route:"), std::string::npos);
}

TEST(CallMessages, ResponsesCopyViasRecordRouteAndAddTheToTag) {
  std::string buf;
  sip::Message req;
  parse(
      "INVITE sip:callee-0@127.0.0.1:6000 SIP/2.0\r\n"
      "Via: SIP/2.0/TLS 127.0.0.1:5061;branch=z9hG4bK.p\r\n"
      "Via: SIP/2.0/TLS 127.0.0.1:5000;branch=z9hG4bK.c;rport=5000\r\n"
      "Record-Route: <sip:127.0.0.1:5061;transport=tls;lr>\r\n"
      "From: <sip:caller@127.0.0.1>;tag=a\r\n"
      "To: <sip:callee-0@127.0.0.1:6000>\r\n"
      "Call-ID: c1@sipsbench\r\n"
      "CSeq: 1 INVITE\r\n"
      "Max-Forwards: 69\r\n"
      "Content-Length: 0\r\n\r\n",
      &buf, &req);
  std::string out;
  append_response(&out, req, 200, "OK", "t1", true, "Contact: <sip:callee-0@127.0.0.1:6000>\r\n",
                  "v=0\r\n");
  EXPECT_EQ(out,
            "SIP/2.0 200 OK\r\n"
            "Via: SIP/2.0/TLS 127.0.0.1:5061;branch=z9hG4bK.p\r\n"
            "Via: SIP/2.0/TLS 127.0.0.1:5000;branch=z9hG4bK.c;rport=5000\r\n"
            "Record-Route: <sip:127.0.0.1:5061;transport=tls;lr>\r\n"
            "From: <sip:caller@127.0.0.1>;tag=a\r\n"
            "To: <sip:callee-0@127.0.0.1:6000>;tag=t1\r\n"
            "Call-ID: c1@sipsbench\r\n"
            "CSeq: 1 INVITE\r\n"
            "Contact: <sip:callee-0@127.0.0.1:6000>\r\n"
            "Content-Type: application/sdp\r\n"
            "Content-Length: 5\r\n\r\n"
            "v=0\r\n");
  out.clear();
  append_response(&out, req, 100, "Trying", "t1", false, {}, {});
  EXPECT_NE(out.find("To: <sip:callee-0@127.0.0.1:6000>\r\n"), std::string::npos);  // no tag
  EXPECT_EQ(out.find("Record-Route"), std::string::npos);
}

}  // namespace
}  // namespace sipsd::bench
