// Message accessors added for the stateful proxy (header lines, From/To, Content-Length,
// Expires) and the header cursors (header_cursor.h).
#include "core/sip/header_cursor.h"

#include <gtest/gtest.h>

#include <cctype>
#include <string>
#include <string_view>
#include <vector>

#include "core/sip/uri.h"
#include "tests/unit/sip/sip_test_util.h"

namespace sipsd::sip {
namespace {

using testing_util::Crlf;
using testing_util::ParsedMessage;

constexpr std::string_view kProxied =
    "INVITE sip:bob@biloxi.example.com SIP/2.0\n"
    "Via: SIP/2.0/TLS proxy2.example.net:5061;branch=z9hG4bK2d4790.1\n"
    "v: SIP/2.0/TLS proxy1.example.com;branch=z9hG4bK1a2b.1,\n"
    "  SIP/2.0/TLS [2001:db8::5]:5061;branch=z9hG4bK74bf9;received=192.0.2.101\n"
    "Route: <sip:p3.example.org;lr>, \"Edge\" <sip:p4.example.org;lr;transport=tls>\n"
    "Max-Forwards: 68\n"
    "Record-Route: <sip:proxy2.example.net;lr>\n"
    "Record-Route: <sip:proxy1.example.com;lr;ftag=9fxced76sl>\n"
    "Route: <sip:p5.example.org;lr>\n"
    "From: \"Alice\" <sips:alice@atlanta.example.com>;tag=9fxced76sl\n"
    "To: Bob <sip:bob@biloxi.example.com>\n"
    "Call-ID: 3848276298220188511@atlanta.example.com\n"
    "CSeq: 1 INVITE\n"
    "Contact: <sip:alice@client.atlanta.example.com;transport=tls>;expires=600;q=0.8,\n"
    "  sip:alice@backup.example.com;q=0.1\n"
    "Path: <sip:edge.example.com;lr>\n"
    "path: <sip:edge2.example.com;lr>\n"
    "Expires: 3600\n"
    "Supported:\n"
    "Content-Type: text/plain\n"
    "Content-Length: {CL}\n"
    "\n"
    "hello\n";

TEST(MessageAccessors, HeaderLinesCoverTheHeaderSection) {
  ParsedMessage p(Crlf(kProxied));
  ASSERT_TRUE(p.ok()) << p.result.reason;
  const Message& m = p.msg;
  EXPECT_EQ(m.start_line(), "INVITE sip:bob@biloxi.example.com SIP/2.0");
  EXPECT_TRUE(m.headers_complete());
  // The lines tile header_lines() exactly, each ending in one CRLF.
  std::string joined;
  for (const Header& h : m.headers()) {
    ASSERT_GE(h.line.size(), 2u);
    EXPECT_EQ(h.line.substr(h.line.size() - 2), "\r\n");
    EXPECT_EQ(h.line.substr(0, h.line.size() - 2).find_first_of("\r\n"), std::string_view::npos);
    EXPECT_EQ(h.line.data(), h.name.data());
    EXPECT_EQ(h.line.data(), m.header_lines().data() + joined.size());
    joined += h.line;
  }
  EXPECT_EQ(joined, m.header_lines());
  EXPECT_EQ(m.header_lines().data(), m.start_line().data() + m.start_line().size() + 2);
  EXPECT_EQ(m.header_lines().data() + m.header_lines().size() + 2, m.body().data());
  // A folded header's line covers its continuation, now blanked.
  const Header& v = m.headers()[1];
  EXPECT_EQ(v.name, "v");
  EXPECT_EQ(v.line.substr(0, v.line.size() - 2).substr(0, 3 + v.value.size()),
            std::string("v: ") + std::string(v.value));
  EXPECT_EQ(m.headers().back().line, "Content-Length: 7\r\n");
}

TEST(MessageAccessors, LinesWithBareLfAndLeadingEmptyLines) {
  ParsedMessage p(
      "\r\n\nOPTIONS sip:a@b SIP/2.0\n"
      "Via: SIP/2.0/TLS h;branch=z9hG4bK1\r\n"
      "From: <sip:a@b>;tag=1\n"
      "To: <sip:c@d>\n"
      "Call-ID: x\n"
      "CSeq: 1 OPTIONS\n"
      "\n");
  ASSERT_TRUE(p.ok()) << p.result.reason;
  const Message& m = p.msg;
  EXPECT_EQ(m.start_line(), "OPTIONS sip:a@b SIP/2.0");
  EXPECT_EQ(m.start_line().data(), p.buffer().data() + 3);
  EXPECT_EQ(m.headers()[0].line, "Via: SIP/2.0/TLS h;branch=z9hG4bK1\r\n");
  EXPECT_EQ(m.headers()[1].line, "From: <sip:a@b>;tag=1\n");
  EXPECT_EQ(m.header_lines(),
            "Via: SIP/2.0/TLS h;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\nTo: <sip:c@d>\n"
            "Call-ID: x\nCSeq: 1 OPTIONS\n");
  EXPECT_EQ(m.content_length(), -1);
  EXPECT_EQ(m.body(), "");
}

TEST(MessageAccessors, HeaderSectionIncompleteOrAbsent) {
  std::string many = "OPTIONS sip:a@b SIP/2.0\r\n";
  for (size_t i = 0; i <= Message::kMaxHeaders; ++i) many += "X: 1\r\n";
  many += "\r\n";
  ParsedMessage too_many(many);
  EXPECT_STREQ(too_many.result.reason, "Too many headers");
  EXPECT_FALSE(too_many.msg.headers_complete());
  EXPECT_EQ(too_many.msg.header_lines(), "");

  ParsedMessage no_end("OPTIONS sip:a@b SIP/2.0\r\nVia: x\r\n");
  EXPECT_EQ(no_end.result.status, ParseStatus::kUnparseable);
  EXPECT_FALSE(no_end.msg.headers_complete());

  ParsedMessage bad_length("OPTIONS sip:a@b SIP/2.0\r\nl: 5\r\n\r\nabc");
  EXPECT_STREQ(bad_length.result.reason, "Content-Length does not match the body");
  EXPECT_FALSE(bad_length.msg.headers_complete());
  EXPECT_EQ(bad_length.msg.header_lines(), "");

  ParsedMessage none("OPTIONS sip:a@b SIP/2.0\r\n\r\n");
  EXPECT_EQ(none.result.status, ParseStatus::kBadRequest);
  EXPECT_TRUE(none.msg.headers_complete());
  EXPECT_EQ(none.msg.header_lines(), "");
  EXPECT_EQ(none.msg.header_lines().data(), none.buffer().data() + 25);
}

TEST(MessageAccessors, FromToContentLengthExpires) {
  ParsedMessage p(Crlf(kProxied));
  ASSERT_TRUE(p.ok());
  const Message& m = p.msg;
  ASSERT_NE(m.from(), nullptr);
  EXPECT_EQ(m.from()->display_name, "\"Alice\"");
  EXPECT_EQ(m.from()->uri, "sips:alice@atlanta.example.com");
  EXPECT_EQ(m.from()->tag, "9fxced76sl");
  EXPECT_EQ(m.from_tag(), "9fxced76sl");
  ASSERT_NE(m.to(), nullptr);
  EXPECT_EQ(m.to()->uri, "sip:bob@biloxi.example.com");
  EXPECT_FALSE(m.to()->has_tag);
  EXPECT_FALSE(m.has_to_tag());
  Uri from_uri;
  ASSERT_TRUE(parse_uri(m.from()->uri, &from_uri).ok());
  EXPECT_EQ(from_uri.scheme, UriScheme::kSips);
  EXPECT_EQ(from_uri.host, "atlanta.example.com");
  EXPECT_EQ(m.content_length(), 7);
  uint32_t secs = 0;
  EXPECT_TRUE(m.expires(&secs));
  EXPECT_EQ(secs, 3600u);
}

TEST(MessageAccessors, ExpiresValues) {
  const std::string base =
      "REGISTER sip:example.com SIP/2.0\nVia: SIP/2.0/TLS h;branch=z9hG4bK1\n"
      "From: <sip:a@example.com>;tag=1\nTo: <sip:a@example.com>\nCall-ID: x\n"
      "CSeq: 1 REGISTER\n";
  uint32_t secs = 7;
  ParsedMessage absent(Crlf(base + "\n"));
  EXPECT_FALSE(absent.msg.expires(&secs));
  EXPECT_EQ(secs, 7u);
  ParsedMessage zero(Crlf(base + "Expires: 0\n\n"));
  EXPECT_TRUE(zero.msg.expires(&secs));
  EXPECT_EQ(secs, 0u);
  // RFC 4475 §3.1.2.4 scalarlg-style: saturates.
  ParsedMessage huge(Crlf(base + "Expires: 280297596632815\n\n"));
  EXPECT_TRUE(huge.msg.expires(&secs));
  EXPECT_EQ(secs, 4294967295u);
  ParsedMessage bad(Crlf(base + "Expires: soon\n\n"));
  EXPECT_FALSE(bad.msg.expires(&secs));
  ParsedMessage negative(Crlf(base + "Expires: -1\n\n"));
  EXPECT_FALSE(negative.msg.expires(&secs));
}

TEST(MessageAccessors, BadFromOrToHasNoParsedAddress) {
  const std::string tail = "Via: SIP/2.0/TLS h;branch=z9hG4bK1\nCall-ID: x\nCSeq: 1 OPTIONS\n\n";
  ParsedMessage bad_to(Crlf("OPTIONS sip:a@b SIP/2.0\nFrom: <sip:a@b>;tag=1\nTo: <sip:c\n" + tail));
  EXPECT_STREQ(bad_to.result.reason, "Bad To header");
  EXPECT_EQ(bad_to.msg.to(), nullptr);
  ASSERT_NE(bad_to.msg.from(), nullptr);
  ParsedMessage missing(Crlf("OPTIONS sip:a@b SIP/2.0\nTo: <sip:c@d>\n" + tail));
  EXPECT_EQ(missing.msg.from(), nullptr);
  EXPECT_EQ(missing.msg.from_tag(), "");
}

TEST(HeaderNames, EveryTypeClassifiesInAnyCase) {
  for (size_t i = 1; i < kHeaderTypeCount; ++i) {
    const auto t = static_cast<HeaderType>(i);
    const std::string name(header_type_name(t));
    ASSERT_FALSE(name.empty());
    std::string lower = name;
    std::string upper = name;
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    EXPECT_EQ(classify_header(name), t) << name;
    EXPECT_EQ(classify_header(lower), t) << lower;
    EXPECT_EQ(classify_header(upper), t) << upper;
    // Same length, another first or last letter; one letter more or less.
    std::string other = name;
    other[0] = other[0] == 'X' ? 'Y' : 'X';
    EXPECT_EQ(classify_header(other), HeaderType::kOther) << other;
    other = name;
    other.back() = other.back() == 'X' ? 'Y' : 'X';
    EXPECT_EQ(classify_header(other), HeaderType::kOther) << other;
    EXPECT_EQ(classify_header(name + "s"), HeaderType::kOther);
    // ("T", the truncated "To", is a compact form.)
    if (name.size() > 2) {
      EXPECT_EQ(classify_header(name.substr(0, name.size() - 1)), HeaderType::kOther) << name;
    }
  }
  EXPECT_EQ(classify_header(""), HeaderType::kOther);
  EXPECT_EQ(classify_header(std::string(100, 'a')), HeaderType::kOther);
  EXPECT_EQ(classify_header("Proxy-Authorizations"), HeaderType::kOther);
  EXPECT_EQ(classify_header("X-Custom"), HeaderType::kOther);
}

// ---- cursors ---------------------------------------------------------------------------------

TEST(ViaCursor, EveryValueInOrder) {
  ParsedMessage p(Crlf(kProxied));
  ASSERT_TRUE(p.ok());
  std::vector<std::string> hosts;
  std::vector<const Header*> from;
  Via v;
  ViaCursor c(p.msg);
  EXPECT_EQ(c.header(), nullptr);
  while (c.next(&v)) {
    hosts.emplace_back(v.host);
    from.push_back(c.header());
  }
  EXPECT_FALSE(c.failed());
  EXPECT_EQ(hosts,
            (std::vector<std::string>{"proxy2.example.net", "proxy1.example.com", "2001:db8::5"}));
  EXPECT_EQ(from[0], &p.msg.headers()[0]);
  EXPECT_EQ(from[1], &p.msg.headers()[1]);
  EXPECT_EQ(from[2], &p.msg.headers()[1]);
  // The second value is where a proxy sends a reply.
  ASSERT_TRUE(via_at(p.msg, 1, &v));
  EXPECT_EQ(v.branch, "z9hG4bK1a2b.1");
  ASSERT_TRUE(via_at(p.msg, 2, &v));
  EXPECT_EQ(v.received, "192.0.2.101");
  EXPECT_EQ(v.port, 5061);
  EXPECT_FALSE(via_at(p.msg, 3, &v));
  ASSERT_TRUE(via_at(p.msg, 0, &v));
  EXPECT_EQ(v.value, p.msg.top_via()->value);
}

TEST(ViaCursor, StopsAtAMalformedValue) {
  ParsedMessage p(
      Crlf("SIP/2.0 200 OK\nVia: SIP/2.0/TLS a;branch=z9hG4bKa, not a via\nVia: SIP/2.0/TLS c\n"
           "From: <sip:a@b>;tag=1\nTo: <sip:c@d>;tag=2\nCall-ID: x\nCSeq: 1 INVITE\n\n"));
  ASSERT_TRUE(p.ok());  // only the top value is judged by the parser
  Via v;
  ViaCursor c(p.msg);
  ASSERT_TRUE(c.next(&v));
  EXPECT_EQ(v.host, "a");
  EXPECT_FALSE(c.next(&v));
  EXPECT_TRUE(c.failed());
  EXPECT_FALSE(c.next(&v));
  EXPECT_FALSE(via_at(p.msg, 1, &v));

  ParsedMessage empty_elem(
      Crlf("SIP/2.0 200 OK\nVia: SIP/2.0/TLS a;branch=z9hG4bKa,,SIP/2.0/TLS b\n"
           "From: <sip:a@b>;tag=1\nTo: <sip:c@d>;tag=2\nCall-ID: x\nCSeq: 1 INVITE\n\n"));
  ViaCursor c2(empty_elem.msg);
  ASSERT_TRUE(c2.next(&v));
  EXPECT_FALSE(c2.next(&v));
  EXPECT_TRUE(c2.failed());
}

TEST(NameAddrCursor, RoutesAcrossHeadersInOrder) {
  ParsedMessage p(Crlf(kProxied));
  ASSERT_TRUE(p.ok());
  std::vector<std::string> uris;
  NameAddr na;
  NameAddrCursor routes(p.msg, HeaderType::kRoute);
  while (routes.next(&na)) uris.emplace_back(na.uri);
  EXPECT_FALSE(routes.failed());
  EXPECT_EQ(routes.error(), nullptr);
  EXPECT_EQ(uris, (std::vector<std::string>{"sip:p3.example.org;lr",
                                            "sip:p4.example.org;lr;transport=tls",
                                            "sip:p5.example.org;lr"}));
  uris.clear();
  NameAddrCursor rr(p.msg, HeaderType::kRecordRoute);
  while (rr.next(&na)) uris.emplace_back(na.uri);
  EXPECT_EQ(uris, (std::vector<std::string>{"sip:proxy2.example.net;lr",
                                            "sip:proxy1.example.com;lr;ftag=9fxced76sl"}));
  // By name, for headers the parser does not classify.
  uris.clear();
  NameAddrCursor path(p.msg, "PATH", AddrForm::kRoute);
  while (path.next(&na)) uris.emplace_back(na.uri);
  EXPECT_EQ(uris,
            (std::vector<std::string>{"sip:edge.example.com;lr", "sip:edge2.example.com;lr"}));
  // By a known name or its compact form: the same as by type.
  NameAddrCursor contact_m(p.msg, "m", AddrForm::kContact);
  ASSERT_TRUE(contact_m.next(&na));
  EXPECT_EQ(na.q, 800);
  // None of a type.
  NameAddrCursor none(p.msg, HeaderType::kReferTo);
  EXPECT_FALSE(none.next(&na));
  EXPECT_FALSE(none.failed());
}

TEST(NameAddrCursor, ContactsWithParams) {
  ParsedMessage p(Crlf(kProxied));
  ASSERT_TRUE(p.ok());
  NameAddr na;
  NameAddrCursor c(p.msg, HeaderType::kContact);
  ASSERT_TRUE(c.next(&na));
  EXPECT_EQ(na.uri, "sip:alice@client.atlanta.example.com;transport=tls");
  EXPECT_EQ(na.expires, 600);
  EXPECT_EQ(na.q, 800);
  ASSERT_TRUE(c.next(&na));
  EXPECT_EQ(na.uri, "sip:alice@backup.example.com");
  EXPECT_FALSE(na.angle_brackets);
  EXPECT_EQ(na.q, 100);
  EXPECT_FALSE(c.next(&na));
  EXPECT_FALSE(c.failed());
}

TEST(NameAddrCursor, ErrorsSayWhy) {
  const std::string head =
      "REGISTER sip:example.com SIP/2.0\nVia: SIP/2.0/TLS h;branch=z9hG4bK1\n"
      "From: <sip:a@example.com>;tag=1\nTo: <sip:a@example.com>\nCall-ID: x\n"
      "CSeq: 1 REGISTER\n";
  ParsedMessage star(Crlf(head + "Contact: *\n\n"));
  NameAddr na;
  NameAddrCursor c1(star.msg, HeaderType::kContact);
  ASSERT_TRUE(c1.next(&na));
  EXPECT_TRUE(na.star);

  ParsedMessage bad_q(Crlf(head + "Contact: <sip:a@h>;q=2, <sip:b@h>\n\n"));
  NameAddrCursor c2(bad_q.msg, HeaderType::kContact);
  EXPECT_FALSE(c2.next(&na));
  EXPECT_TRUE(c2.failed());
  EXPECT_STREQ(c2.error(), "Bad q value");
  EXPECT_FALSE(c2.next(&na));

  ParsedMessage bad_list(Crlf(head + "Route: <sip:a@h;lr>,\nRoute: <sip:b@h;lr>\n\n"));
  NameAddrCursor c3(bad_list.msg, HeaderType::kRoute);
  ASSERT_TRUE(c3.next(&na));
  EXPECT_FALSE(c3.next(&na));
  EXPECT_STREQ(c3.error(), "Bad list");

  ParsedMessage bare_route(Crlf(head + "Route: sip:a@h;lr\n\n"));
  NameAddrCursor c4(bare_route.msg, HeaderType::kRoute);
  EXPECT_FALSE(c4.next(&na));
  EXPECT_STREQ(c4.error(), "Route address without <>");
}

TEST(HeaderValueCursor, EmptyValuesAndNames) {
  ParsedMessage p(Crlf(kProxied));
  ASSERT_TRUE(p.ok());
  std::string_view e;
  HeaderValueCursor supported(p.msg, HeaderType::kSupported);
  EXPECT_FALSE(supported.next(&e));  // "Supported:" has no elements
  EXPECT_FALSE(supported.failed());
  EXPECT_NE(supported.header(), nullptr);
  HeaderValueCursor ct(p.msg, "content-type");
  ASSERT_TRUE(ct.next(&e));
  EXPECT_EQ(e, "text/plain");
  EXPECT_EQ(ct.header()->type, HeaderType::kContentType);
  HeaderValueCursor unknown(p.msg, "X-Nothing");
  EXPECT_FALSE(unknown.next(&e));
  EXPECT_FALSE(unknown.failed());
}

}  // namespace
}  // namespace sipsd::sip
