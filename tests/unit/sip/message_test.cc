#include "core/sip/message.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <string_view>

#include "tests/unit/sip/sip_test_util.h"

namespace sipsd::sip {
namespace {

using namespace std::string_literals;

using testing_util::Crlf;

class SipMsgTest : public ::testing::Test {
 protected:
  // Parses a copy of `wire` held in an exactly-sized heap buffer (so ASan sees any over-read).
  ParseResult Parse(std::string_view wire) {
    len_ = wire.size();
    buf_ = std::make_unique<char[]>(len_ == 0 ? 1 : len_);
    if (len_ > 0) memcpy(buf_.get(), wire.data(), len_);
    return parse_message(buf_.get(), len_, &msg_);
  }
  ParseResult ParseCrlf(std::string_view text) { return Parse(Crlf(text)); }
  std::string_view Buffer() const { return std::string_view(buf_.get(), len_); }

  void ExpectOk(const ParseResult& r) {
    EXPECT_EQ(r.status, ParseStatus::kOk) << r.reason;
    EXPECT_STREQ(r.reason, "OK");
  }
  void ExpectBad(const ParseResult& r, const char* reason, int code = 400) {
    EXPECT_EQ(r.status, ParseStatus::kBadRequest) << r.reason;
    EXPECT_STREQ(r.reason, reason);
    EXPECT_EQ(r.reply_code, code);
  }
  void ExpectUnparseable(const ParseResult& r, const char* reason) {
    EXPECT_EQ(r.status, ParseStatus::kUnparseable) << r.reason;
    EXPECT_STREQ(r.reason, reason);
  }

  std::unique_ptr<char[]> buf_;
  size_t len_ = 0;
  Message msg_;
};

constexpr std::string_view kInvite =
    "INVITE sip:bob@biloxi.example.com SIP/2.0\n"
    "Via: SIP/2.0/TLS client.atlanta.example.com:5061;branch=z9hG4bK74bf9\n"
    "Max-Forwards: 70\n"
    "From: Alice <sip:alice@atlanta.example.com>;tag=9fxced76sl\n"
    "To: Bob <sip:bob@biloxi.example.com>\n"
    "Call-ID: 3848276298220188511@atlanta.example.com\n"
    "CSeq: 1 INVITE\n"
    "Contact: <sips:alice@client.atlanta.example.com>\n"
    "User-Agent: softphone/1.0\n"
    "Content-Type: application/sdp\n"
    "Content-Length: {CL}\n"
    "\n"
    "v=0\n"
    "o=alice 2890844526 2890844526 IN IP4 client.atlanta.example.com\n";

TEST_F(SipMsgTest, ParsesRequest) {
  ExpectOk(ParseCrlf(kInvite));
  EXPECT_TRUE(msg_.is_request());
  EXPECT_EQ(msg_.method(), "INVITE");
  EXPECT_EQ(msg_.method_id(), Method::kInvite);
  EXPECT_EQ(msg_.ruri(), "sip:bob@biloxi.example.com");
  EXPECT_EQ(msg_.version(), "SIP/2.0");
  ASSERT_EQ(msg_.headers().size(), 10u);
  EXPECT_EQ(msg_.headers()[0].type, HeaderType::kVia);
  EXPECT_EQ(msg_.headers()[0].name, "Via");
  EXPECT_EQ(msg_.headers()[1].type, HeaderType::kMaxForwards);
  EXPECT_EQ(msg_.headers()[9].type, HeaderType::kContentLength);
  EXPECT_EQ(msg_.call_id(), "3848276298220188511@atlanta.example.com");
  EXPECT_EQ(msg_.user_agent(), "softphone/1.0");
  EXPECT_EQ(msg_.cseq_number(), 1u);
  EXPECT_EQ(msg_.cseq_method(), "INVITE");
  EXPECT_EQ(msg_.max_forwards(), 70);
  EXPECT_EQ(msg_.from_tag(), "9fxced76sl");
  EXPECT_FALSE(msg_.has_to_tag());
  EXPECT_EQ(msg_.to_tag(), "");
  ASSERT_NE(msg_.first(HeaderType::kContact), nullptr);
  EXPECT_EQ(msg_.first(HeaderType::kContact)->value, "<sips:alice@client.atlanta.example.com>");
  EXPECT_EQ(msg_.first(HeaderType::kRoute), nullptr);
  EXPECT_EQ(msg_.count(HeaderType::kVia), 1u);
  const Via* v = msg_.top_via();
  ASSERT_NE(v, nullptr);
  EXPECT_EQ(v->protocol_name, "SIP");
  EXPECT_EQ(v->protocol_version, "2.0");
  EXPECT_EQ(v->transport, "TLS");
  EXPECT_EQ(v->host, "client.atlanta.example.com");
  EXPECT_EQ(v->port, 5061);
  EXPECT_EQ(v->sent_by, "client.atlanta.example.com:5061");
  EXPECT_EQ(v->branch, "z9hG4bK74bf9");
  EXPECT_EQ(v->params, ";branch=z9hG4bK74bf9");
  EXPECT_FALSE(v->has_rport);
  EXPECT_FALSE(v->has_received);
  EXPECT_EQ(msg_.body(),
            "v=0\r\no=alice 2890844526 2890844526 IN IP4 client.atlanta.example.com\r\n");
}

TEST_F(SipMsgTest, ParsesReply) {
  ExpectOk(
      ParseCrlf("SIP/2.0 180 Ringing\n"
                "Via: SIP/2.0/TLS 192.0.2.4;branch=z9hG4bKnashds8;received=192.0.2.3\n"
                "To: Bob <sip:bob@biloxi.example.com>;tag=a6c85cf\n"
                "From: Alice <sip:alice@atlanta.example.com>;tag=1928301774\n"
                "Call-ID: a84b4c76e66710\n"
                "CSeq: 314159 INVITE\n"
                "Content-Length: 0\n\n"));
  EXPECT_FALSE(msg_.is_request());
  EXPECT_EQ(msg_.status_code(), 180);
  EXPECT_EQ(msg_.reason(), "Ringing");
  EXPECT_EQ(msg_.version(), "SIP/2.0");
  EXPECT_EQ(msg_.method(), "");
  EXPECT_EQ(msg_.to_tag(), "a6c85cf");
  EXPECT_TRUE(msg_.has_to_tag());
  EXPECT_EQ(msg_.cseq_number(), 314159u);
  EXPECT_EQ(msg_.cseq_method(), "INVITE");  // no mismatch check for replies
  ASSERT_NE(msg_.top_via(), nullptr);
  EXPECT_EQ(msg_.top_via()->received, "192.0.2.3");
  EXPECT_EQ(msg_.body(), "");
}

TEST_F(SipMsgTest, ReplyReasonPhrases) {
  // RFC 4475 §3.1.1.13 noreason: empty reason after the SP.
  ExpectOk(
      ParseCrlf("SIP/2.0 100 \n"
                "Via: SIP/2.0/UDP 192.0.2.105;branch=z9hG4bK2398ndaoe\n"
                "Call-ID: noreason.asndj203insdf99223ndf\n"
                "CSeq: 35 INVITE\n"
                "From: <sip:user@example.com>;tag=39ansfi3\n"
                "To: <sip:user@example.edu>;tag=902jndnke3\n"
                "Content-Length: 0\n\n"));
  EXPECT_EQ(msg_.status_code(), 100);
  EXPECT_EQ(msg_.reason(), "");
  // §3.1.1.12 unreason: UTF-8 and odd characters in the reason.
  const std::string reason = "= 2**3 * 5**2 \xD0\xBD\xD0\xBE \xD1\x81\xD1\x82\xD0\xBE";
  ExpectOk(ParseCrlf("SIP/2.0 200 " + reason +
                     "\n"
                     "Via: SIP/2.0/UDP 192.0.2.198;branch=z9hG4bK1324923\n"
                     "Call-ID: unreason.1234ksdfak3j2erwedfsASdf\n"
                     "CSeq: 35 INVITE\n"
                     "From: sip:user@example.com;tag=11141343\n"
                     "To: sip:user@example.edu;tag=2229\n"
                     "Content-Length: 0\n\n"));
  EXPECT_EQ(msg_.status_code(), 200);
  EXPECT_EQ(msg_.reason(), reason);
}

TEST_F(SipMsgTest, StatusLineErrors) {
  const std::string tail =
      "\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\nFrom: <sip:a@b>;tag=1\nTo: <sip:c@d>\n"
      "Call-ID: x\nCSeq: 1 INVITE\n\n";
  // RFC 4475 §3.1.2.19 bigcode.
  ExpectUnparseable(ParseCrlf("SIP/2.0 4294967301 better not break the receiver" + tail),
                    "Bad status line");
  ExpectUnparseable(ParseCrlf("SIP/2.0 099 Low" + tail), "Bad status line");
  ExpectUnparseable(ParseCrlf("SIP/2.0 700 High" + tail), "Bad status line");
  ExpectUnparseable(ParseCrlf("SIP/2.0 20x OK" + tail), "Bad status line");
  ExpectUnparseable(ParseCrlf("SIP/2.0 200OK" + tail), "Bad status line");
  ExpectUnparseable(ParseCrlf("SIP/2.0" + tail), "Bad status line");
  ExpectUnparseable(ParseCrlf("SIP/3.0 200 OK" + tail), "Bad status line");
  ExpectUnparseable(ParseCrlf("SIP/ 200 OK" + tail), "Bad status line");
  ExpectOk(ParseCrlf("SIP/2.0 200" + tail));  // no SP and reason: tolerated
  EXPECT_EQ(msg_.status_code(), 200);
  ExpectOk(ParseCrlf("sip/2.0 699 Odd" + tail));  // the version is case-insensitive
}

TEST_F(SipMsgTest, MethodIds) {
  struct Case {
    const char* name;
    Method id;
  } cases[] = {
      {"INVITE", Method::kInvite},   {"ACK", Method::kAck},
      {"OPTIONS", Method::kOptions}, {"BYE", Method::kBye},
      {"CANCEL", Method::kCancel},   {"REGISTER", Method::kRegister},
      {"INFO", Method::kInfo},       {"PRACK", Method::kPrack},
      {"UPDATE", Method::kUpdate},   {"SUBSCRIBE", Method::kSubscribe},
      {"NOTIFY", Method::kNotify},   {"MESSAGE", Method::kMessage},
      {"REFER", Method::kRefer},     {"PUBLISH", Method::kPublish},
      {"invite", Method::kOther},    {"NEWMETHOD", Method::kOther},
  };
  for (const Case& c : cases) {
    const std::string m = c.name;
    ExpectOk(ParseCrlf(m + " sip:a@example.com SIP/2.0\nVia: SIP/2.0/TLS h;branch=z9hG4bK1\n" +
                       "From: <sip:a@b>;tag=1\nTo: <sip:c@d>\nCall-ID: x\nCSeq: 7 " + m +
                       "\nContent-Length: 0\n\n"));
    EXPECT_EQ(msg_.method(), m);
    EXPECT_EQ(msg_.method_id(), c.id) << m;
  }
}

TEST_F(SipMsgTest, CompactFormsAndCaseInsensitiveNames) {
  ExpectOk(
      ParseCrlf("MESSAGE sip:a@example.com SIP/2.0\n"
                "v: SIP/2.0/TLS h.example.com;branch=z9hG4bK1\n"
                "f: <sip:a@b>;tag=1\n"
                "T: <sip:c@d>\n"
                "I: compact@host\n"
                "cSeQ: 2 MESSAGE\n"
                "MAX-FORWARDS: 9\n"
                "m: <sip:a@10.0.0.1>\n"
                "C: text/plain\n"
                "k: path\n"
                "s: hello\n"
                "e: gzip\n"
                "o: presence\n"
                "r: <sip:x@y>\n"
                "l: 5\n"
                "\n"
                "hello"));
  const HeaderType want[] = {
      HeaderType::kVia,
      HeaderType::kFrom,
      HeaderType::kTo,
      HeaderType::kCallId,
      HeaderType::kCSeq,
      HeaderType::kMaxForwards,
      HeaderType::kContact,
      HeaderType::kContentType,
      HeaderType::kSupported,
      HeaderType::kSubject,
      HeaderType::kContentEncoding,
      HeaderType::kEvent,
      HeaderType::kReferTo,
      HeaderType::kContentLength,
  };
  ASSERT_EQ(msg_.headers().size(), std::size(want));
  for (size_t i = 0; i < std::size(want); ++i) {
    EXPECT_EQ(msg_.headers()[i].type, want[i]) << msg_.headers()[i].name;
  }
  EXPECT_EQ(msg_.call_id(), "compact@host");
  EXPECT_EQ(msg_.max_forwards(), 9);
  EXPECT_EQ(msg_.body(), "hello");
  EXPECT_EQ(classify_header("x"), HeaderType::kOther);
  EXPECT_EQ(classify_header("Record-ROUTE"), HeaderType::kRecordRoute);
  EXPECT_EQ(classify_header("Vias"), HeaderType::kOther);
  EXPECT_EQ(header_type_name(HeaderType::kCallId), "Call-ID");
  EXPECT_EQ(header_type_name(HeaderType::kOther), "");
}

TEST_F(SipMsgTest, WhitespaceAroundColon) {
  ExpectOk(
      ParseCrlf("OPTIONS sip:a@example.com SIP/2.0\n"
                "Via \t : SIP/2.0/TLS h;branch=z9hG4bK1\n"
                "From:<sip:a@b>;tag=1\n"
                "To    :    <sip:c@d>   \n"
                "Call-ID: x\n"
                "CSeq: 1 OPTIONS\n"
                "X-Empty:\n"
                "X-Blank:    \n"
                "\n"));
  EXPECT_EQ(msg_.headers()[0].name, "Via");
  EXPECT_EQ(msg_.headers()[1].value, "<sip:a@b>;tag=1");
  EXPECT_EQ(msg_.headers()[2].name, "To");
  EXPECT_EQ(msg_.headers()[2].value, "<sip:c@d>");
  EXPECT_EQ(msg_.headers()[5].value, "");
  EXPECT_EQ(msg_.headers()[6].value, "");
}

TEST_F(SipMsgTest, FoldingIsUnfoldedInPlace) {
  const std::string wire = Crlf(
      "OPTIONS sip:a@example.com SIP/2.0\n"
      "Via: SIP/2.0/TLS h;branch=z9hG4bK1\n"
      "Subject: I know you're there,   \n"
      "         pick up the phone\n"
      "\tand talk to me!\n"
      "From: <sip:a@b>;tag=1\n"
      "To:\n"
      "   <sip:c@d>\n"
      "Call-ID: x\n"
      "CSeq: 1\n"
      " OPTIONS\n"
      "X-Trailing: a\n"
      "   \n"
      "Content-Length: 0\n"
      "\n");
  ExpectOk(Parse(wire));
  ASSERT_EQ(msg_.headers().size(), 8u);
  EXPECT_EQ(msg_.headers()[1].name, "Subject");
  EXPECT_EQ(msg_.headers()[1].value, "I know you're there, pick up the phone and talk to me!");
  EXPECT_EQ(msg_.headers()[2].name, "From");
  EXPECT_EQ(msg_.headers()[2].value, "<sip:a@b>;tag=1");
  EXPECT_EQ(msg_.headers()[3].value, "<sip:c@d>");
  EXPECT_EQ(msg_.headers()[5].value, "1 OPTIONS");
  EXPECT_EQ(msg_.cseq_number(), 1u);
  EXPECT_EQ(msg_.headers()[6].value, "a");
  EXPECT_EQ(msg_.headers()[7].type, HeaderType::kContentLength);
  for (const Header& h : msg_.headers()) {
    EXPECT_EQ(h.value.find_first_of("\r\n"), std::string_view::npos) << h.name;
  }
  // The buffer still reads as the same message, with the same length: parsing it again gives
  // the same headers (the unfolding is idempotent).
  const std::string once(Buffer());
  EXPECT_EQ(once.size(), wire.size());
  std::vector<std::string> values;
  for (const Header& h : msg_.headers()) values.emplace_back(h.value);
  ExpectOk(Parse(once));
  ASSERT_EQ(msg_.headers().size(), values.size());
  for (size_t i = 0; i < values.size(); ++i) EXPECT_EQ(msg_.headers()[i].value, values[i]);
  EXPECT_EQ(Buffer(), once);
}

TEST_F(SipMsgTest, BareLfAndMixedLineEnds) {
  // Only LF (RFC 3261 §7.5 asks for CRLF, but OpenSIPS accepts LF and so do we).
  ExpectOk(
      Parse("REGISTER sip:example.com SIP/2.0\n"
            "Via: SIP/2.0/TLS 10.0.0.1:5061;branch=z9hG4bKlf\n"
            "From: <sip:a@example.com>;tag=1\n"
            "To: <sip:a@example.com>\n"
            "Call-ID: lf@10.0.0.1\n"
            "CSeq: 3 REGISTER\n"
            "Subject: folded\n"
            " line\n"
            "Content-Length: 4\n"
            "\n"
            "body"));
  EXPECT_EQ(msg_.method_id(), Method::kRegister);
  EXPECT_EQ(msg_.headers()[5].value, "folded line");
  EXPECT_EQ(msg_.body(), "body");
  // Mixed.
  ExpectOk(
      Parse("REGISTER sip:example.com SIP/2.0\r\n"
            "Via: SIP/2.0/TLS 10.0.0.1:5061;branch=z9hG4bKlf\n"
            "From: <sip:a@example.com>;tag=1\r\n"
            "To: <sip:a@example.com>\n"
            "Call-ID: lf@10.0.0.1\r\n"
            "CSeq: 3 REGISTER\n"
            "Content-Length: 2\r\n"
            "\n"
            "ab"));
  EXPECT_EQ(msg_.call_id(), "lf@10.0.0.1");
  EXPECT_EQ(msg_.body(), "ab");
}

TEST_F(SipMsgTest, LeadingEmptyLinesIgnored) {
  ExpectOk(Parse("\r\n\n\r\n" + Crlf(kInvite)));
  EXPECT_EQ(msg_.method(), "INVITE");
}

TEST_F(SipMsgTest, ContentLengthOptionalAndChecked) {
  // Absent: the body is what the framer cut.
  ExpectOk(
      ParseCrlf("OPTIONS sip:a@example.com SIP/2.0\nVia: SIP/2.0/TLS h;branch=z9hG4bK1\n"
                "From: <sip:a@b>;tag=1\nTo: <sip:c@d>\nCall-ID: x\nCSeq: 1 OPTIONS\n\nxyz"));
  EXPECT_EQ(msg_.body(), "xyz");
  ExpectOk(
      ParseCrlf("OPTIONS sip:a@example.com SIP/2.0\nVia: SIP/2.0/TLS h;branch=z9hG4bK1\n"
                "From: <sip:a@b>;tag=1\nTo: <sip:c@d>\nCall-ID: x\nCSeq: 1 OPTIONS\n"
                "Content-Length: 0003\n\nxyz"));
}

// A valid OPTIONS with one header replaced, removed or added.
std::string Options(std::string_view replace_name = {}, std::string_view replacement = {},
                    std::string_view extra = {}) {
  const std::pair<std::string_view, std::string_view> hs[] = {
      {"Via", "Via: SIP/2.0/TLS h.example.com;branch=z9hG4bK1"},
      {"From", "From: <sip:a@example.com>;tag=1"},
      {"To", "To: <sip:c@example.com>"},
      {"Call-ID", "Call-ID: abc@h"},
      {"CSeq", "CSeq: 1 OPTIONS"},
      {"Max-Forwards", "Max-Forwards: 70"},
  };
  std::string s = "OPTIONS sip:c@example.com SIP/2.0\n";
  for (const auto& [name, line] : hs) {
    if (name == replace_name) {
      if (!replacement.empty()) s += std::string(replacement) + "\n";
    } else {
      s += std::string(line) + "\n";
    }
  }
  if (!extra.empty()) s += std::string(extra) + "\n";
  s += "Content-Length: 0\n\n";
  return Crlf(s);
}

TEST_F(SipMsgTest, MissingMandatoryHeaders) {
  ExpectOk(Parse(Options()));
  ExpectBad(Parse(Options("Via")), "Missing Via header");
  ExpectBad(Parse(Options("From")), "Missing From header");
  ExpectBad(Parse(Options("To")), "Missing To header");
  ExpectBad(Parse(Options("Call-ID")), "Missing Call-ID header");
  EXPECT_EQ(msg_.call_id(), "");
  // What could be parsed is there, for the 400.
  EXPECT_NE(msg_.top_via(), nullptr);
  EXPECT_EQ(msg_.cseq_number(), 1u);
  ExpectBad(Parse(Options("CSeq")), "Missing CSeq header");
  EXPECT_EQ(msg_.cseq_number(), 0u);
  EXPECT_EQ(msg_.cseq_method(), "");
  // Max-Forwards is optional.
  ExpectOk(Parse(Options("Max-Forwards")));
  EXPECT_EQ(msg_.max_forwards(), -1);
  // RFC 4475 §3.1.2.16 insuf: several missing; the first in Via, From, To, Call-ID, CSeq
  // order is named.
  ExpectBad(ParseCrlf("INVITE sip:user@example.com SIP/2.0\n"
                      "CSeq: 193942 INVITE\n"
                      "Via: SIP/2.0/UDP 192.0.2.95;branch=z9hG4bKkdj.insuf\n"
                      "Content-Type: application/sdp\n"
                      "l: 0\n\n"),
            "Missing From header");
}

TEST_F(SipMsgTest, DuplicateSingleValuedHeaders) {
  ExpectBad(Parse(Options({}, {}, "From: <sip:x@y>;tag=2")), "Duplicate From header");
  ExpectBad(Parse(Options({}, {}, "t: <sip:x@y>")), "Duplicate To header");
  ExpectBad(Parse(Options({}, {}, "i: other")), "Duplicate Call-ID header");
  ExpectBad(Parse(Options({}, {}, "CSeq: 2 OPTIONS")), "Duplicate CSeq header");
  ExpectBad(Parse(Options({}, {}, "Max-Forwards: 70")), "Duplicate Max-Forwards header");
  // Several Via headers are normal.
  ExpectOk(Parse(Options({}, {}, "Via: SIP/2.0/TCP p.example.com;branch=z9hG4bK2")));
  EXPECT_EQ(msg_.count(HeaderType::kVia), 2u);
  EXPECT_EQ(msg_.top_via()->host, "h.example.com");
}

TEST_F(SipMsgTest, CSeqRules) {
  ExpectBad(Parse(Options("CSeq", "CSeq: abc OPTIONS")), "Bad CSeq");
  ExpectBad(Parse(Options("CSeq", "CSeq: 1")), "Bad CSeq");
  ExpectBad(Parse(Options("CSeq", "CSeq: OPTIONS")), "Bad CSeq");
  ExpectBad(Parse(Options("CSeq", "CSeq: 1OPTIONS")), "Bad CSeq");
  ExpectBad(Parse(Options("CSeq", "CSeq: 1 OPTIONS extra")), "Bad CSeq");
  ExpectBad(Parse(Options("CSeq", "CSeq: -1 OPTIONS")), "Bad CSeq");
  ExpectBad(Parse(Options("CSeq", "CSeq:")), "Bad CSeq");
  ExpectBad(Parse(Options("CSeq", "CSeq: 2147483648 OPTIONS")), "Bad CSeq");
  ExpectBad(Parse(Options("CSeq", "CSeq: 4294967296 OPTIONS")), "Bad CSeq");
  // CVE-2017-9372 (PJSIP heap overflow on a long CSeq) and RFC 4475 §3.1.2.4 scalarlg.
  ExpectBad(Parse(Options("CSeq", "CSeq: 36893488147419103232 OPTIONS")), "Bad CSeq");
  ExpectBad(Parse(Options("CSeq", "CSeq: " + std::string(5000, '9') + " OPTIONS")), "Bad CSeq");
  EXPECT_EQ(msg_.cseq_number(), 0u);
  ExpectOk(Parse(Options("CSeq", "CSeq: 2147483647 OPTIONS")));
  EXPECT_EQ(msg_.cseq_number(), 2147483647u);
  ExpectOk(Parse(Options("CSeq", "CSeq: 0 OPTIONS")));
  ExpectOk(Parse(Options("CSeq", "CSeq: 000042 \t OPTIONS")));
  EXPECT_EQ(msg_.cseq_number(), 42u);
  // The method must be the request's, case-sensitively (RFC 4475 §3.4.1 mismatch01).
  ExpectBad(Parse(Options("CSeq", "CSeq: 1 INVITE")), "CSeq method mismatch");
  ExpectBad(Parse(Options("CSeq", "CSeq: 1 options")), "CSeq method mismatch");
}

TEST_F(SipMsgTest, MaxForwardsRules) {
  ExpectBad(Parse(Options("Max-Forwards", "Max-Forwards: 256")), "Bad Max-Forwards");
  ExpectBad(Parse(Options("Max-Forwards", "Max-Forwards: 300")), "Bad Max-Forwards");
  ExpectBad(Parse(Options("Max-Forwards", "Max-Forwards: -1")), "Bad Max-Forwards");
  ExpectBad(Parse(Options("Max-Forwards", "Max-Forwards: seven")), "Bad Max-Forwards");
  ExpectBad(Parse(Options("Max-Forwards", "Max-Forwards: 1 2")), "Bad Max-Forwards");
  ExpectBad(Parse(Options("Max-Forwards", "Max-Forwards:")), "Bad Max-Forwards");
  ExpectBad(Parse(Options("Max-Forwards", "Max-Forwards: 18446744073709551617")),
            "Bad Max-Forwards");
  ExpectOk(Parse(Options("Max-Forwards", "Max-Forwards: 0")));
  EXPECT_EQ(msg_.max_forwards(), 0);
  ExpectOk(Parse(Options("Max-Forwards", "Max-Forwards: 255")));
  EXPECT_EQ(msg_.max_forwards(), 255);
  ExpectOk(Parse(Options("Max-Forwards", "Max-Forwards: 0068")));
  EXPECT_EQ(msg_.max_forwards(), 68);
}

TEST_F(SipMsgTest, BadViaHeaders) {
  const char* bad[] = {
      "Via:",
      "Via: SIP/2.0/TLS",
      "Via: SIP/2.0/TLS ",
      "Via: SIP/2.0 TLS h",
      "Via: SIP//TLS h",
      "Via: SIP/2.0/TLSh",
      "Via: SIP/2.0/TLS h:",
      "Via: SIP/2.0/TLS h:99999",
      "Via: SIP/2.0/TLS h:65536",
      "Via: SIP/2.0/TLS h:0",
      "Via: SIP/2.0/TLS h:50x",
      "Via: SIP/2.0/TLS [::1",
      "Via: SIP/2.0/TLS [zz::1]",
      "Via: SIP/2.0/TLS []",
      "Via: SIP/2.0/TLS 2001:db8::9:1;branch=z9hG4bK1",  // RFC 5118 §4.4: no brackets
      "Via: SIP/2.0/TLS h;branch=",
      "Via: SIP/2.0/TLS h;=x",
      "Via: SIP/2.0/TLS h;",
      "Via: SIP/2.0/TLS h;rport=abc",
      "Via: SIP/2.0/TLS h;rport=70000",
      "Via: SIP/2.0/TLS h;rport;rport",
      "Via: SIP/2.0/TLS h;received=1.2.3.4;received=1.2.3.4",
      "Via: SIP/2.0/TLS h junk",
      "Via: SIP/2.0/TLS h;branch=\"unterminated",
      "Via: SIP/2.0/TLS user@h",
      "Via: , SIP/2.0/TLS h",
  };
  for (const char* via : bad) {
    ExpectBad(Parse(Options("Via", via)), "Bad Via header");
    EXPECT_EQ(msg_.top_via(), nullptr) << via;
  }
}

TEST_F(SipMsgTest, ViaParameters) {
  ExpectOk(Parse(Options("Via",
                         "Via: SIP/2.0/TLS 192.0.2.1:5061;rport;Branch=z9hG4bKab;alias;"
                         "received=198.51.100.7;maddr=239.1.1.1;ttl=16;x=\"q;v\"")));
  const Via* v = msg_.top_via();
  ASSERT_NE(v, nullptr);
  EXPECT_EQ(v->host, "192.0.2.1");
  EXPECT_EQ(v->port, 5061);
  EXPECT_EQ(v->branch, "z9hG4bKab");
  EXPECT_TRUE(v->has_rport);
  EXPECT_EQ(v->rport, "");
  EXPECT_EQ(v->rport_param, ";rport");
  EXPECT_TRUE(v->has_alias);
  EXPECT_TRUE(v->has_received);
  EXPECT_EQ(v->received, "198.51.100.7");
  EXPECT_EQ(v->received_param, ";received=198.51.100.7");
  EXPECT_EQ(v->value,
            "SIP/2.0/TLS 192.0.2.1:5061;rport;Branch=z9hG4bKab;alias;received=198.51.100.7;"
            "maddr=239.1.1.1;ttl=16;x=\"q;v\"");

  ExpectOk(Parse(Options("Via", "Via: SIP/2.0/TCP h;rport=5062")));
  EXPECT_TRUE(msg_.top_via()->has_rport);
  EXPECT_EQ(msg_.top_via()->rport, "5062");
  EXPECT_EQ(msg_.top_via()->port, 0);
  EXPECT_EQ(msg_.top_via()->branch, "");
}

TEST_F(SipMsgTest, ViaIpv6) {
  // RFC 5118 §4.1, §4.5 (IPv6 reference, port, received), §4.7 (IPv4-mapped).
  ExpectOk(Parse(Options("Via",
                         "Via: SIP/2.0/TLS [2001:db8::9:1]:6050;branch=z9hG4bKas3-111;"
                         "received=[2001:db8::9:255]")));
  const Via* v = msg_.top_via();
  ASSERT_NE(v, nullptr);
  EXPECT_TRUE(v->host_is_ipv6);
  EXPECT_EQ(v->host, "2001:db8::9:1");
  EXPECT_EQ(v->sent_by, "[2001:db8::9:1]:6050");
  EXPECT_EQ(v->port, 6050);
  EXPECT_EQ(v->received, "[2001:db8::9:255]");
  ExpectOk(Parse(Options("Via", "Via: SIP/2.0/UDP [::ffff:192.0.2.10]:19823;branch=z9hG4bK1")));
  EXPECT_EQ(msg_.top_via()->host, "::ffff:192.0.2.10");
  ExpectOk(Parse(Options("Via", "Via: SIP/2.0/TLS [::1];received=2001:db8::9:255")));
  EXPECT_EQ(msg_.top_via()->received, "2001:db8::9:255");
  // An embedded NUL must not cut the address short for inet_pton (found by uri_fuzz).
  ExpectBad(
      Parse(Options("Via", std::string("Via: SIP/2.0/TLS [2001:db8::\0x<y>];branch=z9hG4bK1", 50))),
      "Bad Via header");
}

TEST_F(SipMsgTest, MultipleViaValuesInOneHeader) {
  ExpectOk(Parse(
      Options("Via",
              "Via: SIP/2.0/TLS a.example.com;branch=z9hG4bKa , SIP/2.0/TCP b.example.com:5070"
              ";branch=z9hG4bKb,SIP/2.0/UDP [2001:db8::1];branch=z9hG4bKc")));
  const Via* v = msg_.top_via();
  ASSERT_NE(v, nullptr);
  EXPECT_EQ(v->host, "a.example.com");
  EXPECT_EQ(v->branch, "z9hG4bKa");
  EXPECT_EQ(v->value, "SIP/2.0/TLS a.example.com;branch=z9hG4bKa");
  // parse_via walks the rest of the header.
  std::string_view rest = msg_.first(HeaderType::kVia)->value;
  std::vector<std::string> hosts;
  Via each;
  while (!rest.empty()) {
    ASSERT_TRUE(parse_via(rest, &each, &rest));
    hosts.emplace_back(each.host);
  }
  EXPECT_EQ(hosts, (std::vector<std::string>{"a.example.com", "b.example.com", "2001:db8::1"}));
  // Only the top via-parm is judged when parsing the message.
  ExpectOk(Parse(Options("Via", "Via: SIP/2.0/TLS a;branch=z9hG4bKa, not a via")));
  ExpectBad(Parse(Options("Via", "Via: SIP/2.0/TLS a;branch=z9hG4bKa; , SIP/2.0/TLS b")),
            "Bad Via header");
}

TEST_F(SipMsgTest, BadFromAndTo) {
  // RFC 4475 §3.1.2.14 quotbal: unterminated quoted display name.
  ExpectBad(Parse(Options("To", "To: \"Mr. J. User <sip:j.user@example.com>")), "Bad To header");
  ExpectBad(Parse(Options("To", "To: <sip:j.user@example.com")), "Bad To header");
  ExpectBad(Parse(Options("To", "To: <>")), "Bad To header");
  ExpectBad(Parse(Options("To", "To:")), "Bad To header");
  ExpectBad(Parse(Options("To", "To: ;tag=1")), "Bad To header");
  ExpectBad(Parse(Options("To", "To: <sip:a@b>, <sip:c@d>")), "Bad To header");
  ExpectBad(Parse(Options("To", "To: <sip:a@b> junk")), "Bad To header");
  ExpectBad(Parse(Options("To", "To: <sip:a@b>;tag=")), "Bad To header");
  ExpectBad(Parse(Options("To", "To: sip:a@b>")), "Bad To header");
  EXPECT_FALSE(msg_.has_to_tag());
  ExpectBad(Parse(Options("From", "From: <sip:a@b>;tag=\"x")), "Bad From header");
  EXPECT_EQ(msg_.from_tag(), "");
  ExpectBad(Parse(Options("From", "From: \"a\\")), "Bad From header");
  // Accepted shapes.
  ExpectOk(Parse(Options("To", "To: sip:a@b ;   tag    = 1918181833n")));
  EXPECT_EQ(msg_.to_tag(), "1918181833n");
  ExpectOk(Parse(Options("To", "To: \"x<y>;tag=z\" <sip:a@b;tag=uri-param>;TAG=real")));
  EXPECT_EQ(msg_.to_tag(), "real");
  ExpectOk(Parse(Options("From", "From: caller<sip:caller@example.com>;tag=323")));
  EXPECT_EQ(msg_.from_tag(), "323");
  ExpectOk(Parse(Options("From", "From: sip:caller@example.com")));  // RFC 2543: no tag
  EXPECT_EQ(msg_.from_tag(), "");
}

TEST_F(SipMsgTest, BadCallId) {
  ExpectBad(Parse(Options("Call-ID", "Call-ID: a b")), "Bad Call-ID header");
  ExpectBad(Parse(Options("Call-ID", "Call-ID:")), "Bad Call-ID header");
}

TEST_F(SipMsgTest, MalformedRequestUri) {
  const std::string tail =
      " SIP/2.0\nVia: SIP/2.0/TLS h;branch=z9hG4bK1\nFrom: <sip:a@b>;tag=1\nTo: <sip:c@d>\n"
      "Call-ID: x\nCSeq: 1 INVITE\n\n";
  // RFC 4475 §3.1.2.10 lwsruri, §3.1.2.11 ltgtruri, and a URI without a scheme.
  ExpectBad(ParseCrlf("INVITE sip:user@example.com; lr" + tail), "Malformed Request-URI");
  EXPECT_EQ(msg_.ruri(), "sip:user@example.com; lr");
  EXPECT_EQ(msg_.call_id(), "x");  // the headers are there for the 400
  ExpectBad(ParseCrlf("INVITE <sip:user@example.com>" + tail), "Malformed Request-URI");
  ExpectBad(ParseCrlf("INVITE user@example.com" + tail), "Malformed Request-URI");
  ExpectBad(ParseCrlf("INVITE sip:" + tail), "Malformed Request-URI");
  ExpectBad(ParseCrlf("INVITE 1sip:a@b" + tail), "Malformed Request-URI");
  // §3.1.1.8 lwsstart, §3.1.1.9 trws: extra whitespace in the request line is tolerated.
  ExpectOk(ParseCrlf("INVITE  sip:user@example.com \t SIP/2.0   " + tail.substr(8)));
  EXPECT_EQ(msg_.ruri(), "sip:user@example.com");
  EXPECT_EQ(msg_.version(), "SIP/2.0");
  // unkscm / escruri-style: any scheme, escaped content.
  ExpectOk(ParseCrlf("INVITE nobody:user@example.com?Route=%3Csip:example.com%3E" + tail));
}

TEST_F(SipMsgTest, UnsupportedVersion) {
  // RFC 4475 §3.3.13 badvers: 505.
  ExpectBad(ParseCrlf("OPTIONS sip:t.watson@example.org SIP/7.0\n"
                      "Via: SIP/7.0/UDP c.example.com;branch=z9hG4bKkdjuw\n"
                      "Max-Forwards: 70\n"
                      "From: A. Bell <sip:a.g.bell@example.com>;tag=qweoiqpe\n"
                      "To: T. Watson <sip:t.watson@example.org>\n"
                      "Call-ID: badvers.31417@c.example.com\n"
                      "CSeq: 1 OPTIONS\n"
                      "l: 0\n\n"),
            "Version Not Supported", 505);
  EXPECT_EQ(msg_.version(), "SIP/7.0");
  ASSERT_NE(msg_.top_via(), nullptr);
  EXPECT_EQ(msg_.top_via()->protocol_version, "7.0");
}

TEST_F(SipMsgTest, Unparseable) {
  ExpectUnparseable(Parse(""), "Empty message");
  ExpectUnparseable(Parse("\r\n\r\n"), "No end of start line");
  ExpectUnparseable(Parse("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"s + std::string(40, '\0')),
                    "No end of start line");
  ExpectUnparseable(Parse("\x80\x81\xff\xfe garbage\r\n\r\n"), "Bad request line");
  ExpectUnparseable(Parse("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), "Bad request line");
  ExpectUnparseable(ParseCrlf("INVITE sip:a@b\nVia: SIP/2.0/TLS h\n\n"), "Bad request line");
  ExpectUnparseable(ParseCrlf("INVITE SIP/2.0\nVia: SIP/2.0/TLS h\n\n"), "Bad request line");
  ExpectUnparseable(ParseCrlf("INVITE\nVia: SIP/2.0/TLS h\n\n"), "Bad request line");
  ExpectUnparseable(ParseCrlf("INV@TE sip:a@b SIP/2.0\nVia: SIP/2.0/TLS h\n\n"),
                    "Bad request line");
  ExpectUnparseable(ParseCrlf(" INVITE sip:a@b SIP/2.0\nVia: SIP/2.0/TLS h\n\n"),
                    "Bad request line");
  ExpectUnparseable(ParseCrlf("INVITE sip:a@b SIP/2.0\nVia SIP/2.0/TLS h\n\n"),
                    "Header without colon");
  ExpectUnparseable(ParseCrlf("INVITE sip:a@b SIP/2.0\nVia: SIP/2.0/TLS h\nJunk\n\n"),
                    "Header without colon");
  ExpectUnparseable(ParseCrlf("INVITE sip:a@b SIP/2.0\n: value\n\n"), "Bad header name");
  ExpectUnparseable(ParseCrlf("INVITE sip:a@b SIP/2.0\nBad Name: value\n\n"),
                    "Header without colon");
  ExpectUnparseable(ParseCrlf("INVITE sip:a@b SIP/2.0\n\x01Name: value\n\n"), "Bad header name");
  ExpectUnparseable(ParseCrlf("INVITE sip:a@b SIP/2.0\nN\x01me: value\n\n"),
                    "Header without colon");
  ExpectUnparseable(ParseCrlf("INVITE sip:a@b SIP/2.0\n folded: first\n\n"),
                    "Continuation line without a header");
  ExpectUnparseable(Parse("INVITE sip:a@b SIP/2.0\r\nVia: SIP/2.0/TLS h\r\n"), "No end of headers");
  ExpectUnparseable(Parse("INVITE sip:a@b SIP/2.0\r\nVia: SIP/2.0/TLS h"), "No end of headers");
  ExpectUnparseable(Parse("INVITE sip:a@b SIP/2.0\r\nCall-ID: a\rVia: injected\r\n\r\n"),
                    "Bare CR in header");
  ExpectUnparseable(Parse("INVITE sip:a@b\r SIP/2.0\r\n\r\n"), "Bare CR in start line");
}

TEST_F(SipMsgTest, OverlongLines) {
  const std::string big(Message::kMaxLineLength, 'a');
  ExpectUnparseable(ParseCrlf("INVITE sip:" + big + " SIP/2.0\n\n"), "Start line too long");
  // A start line without any LF in a huge buffer: bounded scan.
  ExpectUnparseable(Parse("INVITE sip:" + std::string(200000, 'a')), "Start line too long");
  ExpectUnparseable(Parse(Options({}, {}, "X-Big: " + big)), "Header line too long");
  // The limit applies to a header with its continuation lines (the 64 KB folded line).
  std::string folded = "X-Folded: start";
  for (int i = 0; i < 8000; ++i) folded += "\n x";
  ExpectUnparseable(Parse(Options({}, {}, folded)), "Header line too long");
  // Just under the limit is fine.
  ExpectOk(Parse(Options({}, {}, "X-Big: " + std::string(Message::kMaxLineLength - 7, 'b'))));
  EXPECT_EQ(msg_.headers()[6].value.size(), Message::kMaxLineLength - 7);
}

TEST_F(SipMsgTest, ContentLengthFraming) {
  const std::string head =
      "OPTIONS sip:a@example.com SIP/2.0\nVia: SIP/2.0/TLS h;branch=z9hG4bK1\n"
      "From: <sip:a@b>;tag=1\nTo: <sip:c@d>\nCall-ID: x\nCSeq: 1 OPTIONS\n";
  // RFC 4475 §3.1.2.7 clerr: a Content-Length larger than the body.
  ExpectUnparseable(ParseCrlf(head + "Content-Length: 9999\n\nshort"),
                    "Content-Length does not match the body");
  ExpectUnparseable(ParseCrlf(head + "Content-Length: 4\n\nshort"),
                    "Content-Length does not match the body");
  // §3.1.2.6 ncl: negative.
  ExpectUnparseable(ParseCrlf(head + "Content-Length: -999\n\n"), "Bad Content-Length");
  ExpectUnparseable(ParseCrlf(head + "Content-Length: 12abc\n\n"), "Bad Content-Length");
  ExpectUnparseable(ParseCrlf(head + "Content-Length:\n\n"), "Bad Content-Length");
  // §3.3.9 mcl01: multiple Content-Length values.
  ExpectUnparseable(ParseCrlf(head + "Content-Length: 5\nl: 5\n\nshort"),
                    "Multiple Content-Length headers");
  // A u32 wrap (2^32 + 32, CVE-2026-23457) and 10^30 never match a 32-byte body.
  const std::string body32(32, 'b');
  ExpectUnparseable(ParseCrlf(head + "Content-Length: 4294967328\n\n" + body32),
                    "Content-Length does not match the body");
  ExpectUnparseable(
      ParseCrlf(head + "Content-Length: 1000000000000000000000000000000\n\n" + body32),
      "Content-Length does not match the body");
  ExpectOk(ParseCrlf(head + "Content-Length: 32\n\n" + body32));
  // Unparseable wins over a bad request.
  ExpectUnparseable(ParseCrlf("OPTIONS sip:a@example.com SIP/2.0\nl: 3\n\n"),
                    "Content-Length does not match the body");
}

TEST_F(SipMsgTest, TooManyHeaders) {
  std::string s =
      "OPTIONS sip:a@example.com SIP/2.0\r\nVia: SIP/2.0/TLS h;branch=z9hG4bK1\r\n"
      "From: <sip:a@b>;tag=1\r\nTo: <sip:c@d>\r\nCall-ID: x\r\nCSeq: 1 OPTIONS\r\n";
  for (int i = 0; i < 10000; ++i) s += "X-H" + std::to_string(i) + ": v\r\n";
  s += "Content-Length: 0\r\n\r\n";
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < 20; ++i) {
    ExpectBad(Parse(s), "Too many headers");
  }
  const auto elapsed = std::chrono::steady_clock::now() - t0;
  EXPECT_LT(elapsed, std::chrono::seconds(2));
  EXPECT_EQ(msg_.headers().size(), Message::kMaxHeaders);
  // The mandatory headers before the cut are parsed, for the 400.
  EXPECT_EQ(msg_.call_id(), "x");
  EXPECT_NE(msg_.top_via(), nullptr);
  EXPECT_EQ(msg_.body(), "");

  // Exactly kMaxHeaders is accepted.
  std::string ok =
      "OPTIONS sip:a@example.com SIP/2.0\r\nVia: SIP/2.0/TLS h;branch=z9hG4bK1\r\n"
      "From: <sip:a@b>;tag=1\r\nTo: <sip:c@d>\r\nCall-ID: x\r\nCSeq: 1 OPTIONS\r\n";
  for (size_t i = 5; i < Message::kMaxHeaders; ++i) ok += "X: v\r\n";
  ok += "\r\n";
  ExpectOk(Parse(ok));
  EXPECT_EQ(msg_.headers().size(), Message::kMaxHeaders);
  ExpectBad(Parse(ok.substr(0, ok.size() - 2) + "X: one more\r\n\r\n"), "Too many headers");
}

TEST_F(SipMsgTest, ManyViaValuesAreCheap) {
  // One Via header with as many values as fit in a line, then 200 more Via headers: only the top
  // value is parsed, the rest is left to whoever walks them with parse_via().
  std::string via = "Via: SIP/2.0/TLS top.example.com;branch=z9hG4bKtop";
  size_t values = 1;
  while (via.size() < Message::kMaxLineLength - 60) {
    via += ",SIP/2.0/TLS h.example.com;branch=z9hG4bKx";
    ++values;
  }
  std::string s = "OPTIONS sip:a@example.com SIP/2.0\r\n" + via + "\r\n";
  for (int i = 0; i < 200; ++i) s += "v: SIP/2.0/TLS p" + std::to_string(i) + ";branch=b\r\n";
  s += "From: <sip:a@b>;tag=1\r\nTo: <sip:c@d>\r\nCall-ID: x\r\nCSeq: 1 OPTIONS\r\n\r\n";
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < 100; ++i) ExpectOk(Parse(s));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(2));
  EXPECT_EQ(msg_.count(HeaderType::kVia), 201u);
  EXPECT_EQ(msg_.top_via()->host, "top.example.com");
  std::string_view rest = msg_.first(HeaderType::kVia)->value;
  size_t n = 0;
  Via v;
  while (!rest.empty()) {
    ASSERT_TRUE(parse_via(rest, &v, &rest));
    ++n;
  }
  EXPECT_EQ(n, values);
}

TEST_F(SipMsgTest, ManyContinuationLinesAreLinear) {
  // 200 headers, each folded over ~2700 lines (just under the per-header limit): unfolding must
  // touch each byte a bounded number of times, whether the continuations are blank or not.
  for (const char* cont : {" \r\n", " x\r\n"}) {
    std::string s =
        "OPTIONS sip:a@example.com SIP/2.0\r\nVia: SIP/2.0/TLS h;branch=z9hG4bK1\r\n"
        "From: <sip:a@b>;tag=1\r\nTo: <sip:c@d>\r\nCall-ID: x\r\nCSeq: 1 OPTIONS\r\n";
    std::string folded = "X-F: a\r\n";
    while (folded.size() + strlen(cont) < Message::kMaxLineLength) folded += cont;
    for (int i = 0; i < 200; ++i) s += folded;
    s += "\r\n";
    const auto t0 = std::chrono::steady_clock::now();
    ExpectOk(Parse(s));
    EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(500)) << cont;
    ASSERT_EQ(msg_.headers().size(), 205u);
    if (cont[1] == 'x') {
      EXPECT_EQ(msg_.headers()[5].value.substr(0, 8), "a x x x ");
    } else {
      EXPECT_EQ(msg_.headers()[5].value, "a");
    }
  }
}

TEST_F(SipMsgTest, ReuseKeepsCapacityAndForgetsOldMessage) {
  ExpectOk(ParseCrlf(kInvite));
  const size_t cap = msg_.headers().capacity();
  const Header* first_before = msg_.headers().data();
  EXPECT_EQ(msg_.user_agent(), "softphone/1.0");
  ExpectOk(Parse(Options()));
  EXPECT_EQ(msg_.headers().capacity(), cap);
  EXPECT_EQ(msg_.headers().data(), first_before);  // no reallocation
  EXPECT_EQ(msg_.user_agent(), "");
  EXPECT_EQ(msg_.first(HeaderType::kContact), nullptr);
  EXPECT_EQ(msg_.first(HeaderType::kContentType), nullptr);
  EXPECT_EQ(msg_.method_id(), Method::kOptions);
  EXPECT_EQ(msg_.body(), "");
  msg_.clear();
  EXPECT_FALSE(msg_.is_request());
  EXPECT_TRUE(msg_.headers().empty());
  EXPECT_EQ(msg_.top_via(), nullptr);
  EXPECT_EQ(msg_.max_forwards(), -1);
}

// ---- RFC 4475 torture messages -----------------------------------------------------------------

constexpr std::string_view kSdp150 =
    "v=0\n"
    "o=mhandley 29739 7272939 IN IP4 192.0.2.3\n"
    "s=-\n"
    "c=IN IP4 192.0.2.4\n"
    "t=0 0\n"
    "m=audio 49217 RTP/AVP 0 12\n"
    "m=video 3227 RTP/AVP 31\n"
    "a=rtpmap:31 LPC\n";

TEST_F(SipMsgTest, Rfc4475Wsinv) {
  // §3.1.1.2: a short, tricky message full of whitespace and folding.
  const std::string msg = Crlf(
      "INVITE sip:vivekg@chair-dnrc.example.com;unknownparam SIP/2.0\n"
      "TO :\n"
      " sip:vivekg@chair-dnrc.example.com ;   tag    = 1918181833n\n"
      "from   : \"J Rosenberg \\\\\\\"\"       <sip:jdrosen@example.com>\n"
      "  ;\n"
      "  tag = 98asjd8\n"
      "MaX-fOrWaRdS: 0068\n"
      "Call-ID: wsinv.ndaksdj@192.0.2.1\n"
      "Content-Length   : 150\n"
      "cseq: 0009\n"
      "  INVITE\n"
      "Via  : SIP  /   2.0\n"
      " /UDP\n"
      "    192.0.2.2;rport;branch=390skdjuw\n"
      "s :\n"
      "NewFangledHeader:   newfangled value\n"
      " continued newfangled value\n"
      "UnknownHeaderWithUnusualValue: ;;,,;;,;\n"
      "Content-Type: application/sdp\n"
      "Route:\n"
      " <sip:services.example.com;lr;unknownwith=value;unknown-no-value>\n"
      "v:  SIP  / 2.0  / TCP     spindle.example.com   ;\n"
      "  branch  =   z9hG4bK9ikj8  ,\n"
      " SIP  /    2.0   / UDP  192.168.255.111   ; branch=\n"
      " z9hG4bK30239\n"
      "m:\"Quoted string \\\"\\\"\" <sip:jdrosen@example.com> ; newparam =\n"
      "      newvalue ;\n"
      "  secondparam ; q = 0.33\n"
      "\n" +
      std::string(kSdp150));
  ExpectOk(Parse(msg));
  EXPECT_EQ(msg_.ruri(), "sip:vivekg@chair-dnrc.example.com;unknownparam");
  EXPECT_EQ(msg_.to_tag(), "1918181833n");
  EXPECT_EQ(msg_.from_tag(), "98asjd8");
  EXPECT_EQ(msg_.first(HeaderType::kFrom)->value,
            "\"J Rosenberg \\\\\\\"\"       <sip:jdrosen@example.com> ; tag = 98asjd8");
  EXPECT_EQ(msg_.max_forwards(), 68);
  EXPECT_EQ(msg_.cseq_number(), 9u);
  EXPECT_EQ(msg_.cseq_method(), "INVITE");
  EXPECT_EQ(msg_.call_id(), "wsinv.ndaksdj@192.0.2.1");
  const Via* v = msg_.top_via();
  ASSERT_NE(v, nullptr);
  EXPECT_EQ(v->transport, "UDP");
  EXPECT_EQ(v->host, "192.0.2.2");
  EXPECT_TRUE(v->has_rport);
  EXPECT_EQ(v->branch, "390skdjuw");
  EXPECT_EQ(msg_.count(HeaderType::kVia), 2u);
  EXPECT_EQ(msg_.first(HeaderType::kSubject)->value, "");
  EXPECT_EQ(msg_.first(HeaderType::kRoute)->value,
            "<sip:services.example.com;lr;unknownwith=value;unknown-no-value>");
  // The second Via header holds two values, both parseable.
  const Header* second = nullptr;
  for (const Header& h : msg_.headers()) {
    if (h.type == HeaderType::kVia && &h != msg_.first(HeaderType::kVia)) second = &h;
  }
  ASSERT_NE(second, nullptr);
  Via a;
  Via b;
  std::string_view rest;
  ASSERT_TRUE(parse_via(second->value, &a, &rest));
  EXPECT_EQ(a.transport, "TCP");
  EXPECT_EQ(a.host, "spindle.example.com");
  EXPECT_EQ(a.branch, "z9hG4bK9ikj8");
  ASSERT_TRUE(parse_via(rest, &b, &rest));
  EXPECT_EQ(b.host, "192.168.255.111");
  EXPECT_EQ(b.branch, "z9hG4bK30239");
  EXPECT_TRUE(rest.empty());
  EXPECT_EQ(msg_.body().size(), 150u);
  for (const Header& h : msg_.headers()) {
    if (h.name == "NewFangledHeader") {
      EXPECT_EQ(h.value, "newfangled value continued newfangled value");
    }
  }
  EXPECT_EQ(msg_.headers().size(), 14u);
}

TEST_F(SipMsgTest, Rfc4475Intmeth) {
  // §3.1.1.3: every token character in the method, odd URI, control characters escaped in a
  // quoted display name (BEL, NUL, DEL), UTF-8 in a parameter and a header value.
  const std::string method = "!interesting-Method0123456789_*+`.%indeed'~";
  std::string msg =
      method +
      " sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*:&it+has=1,weird!*pas$wo~d_too."
      "(doesn't-it)@example.com SIP/2.0\r\n"
      "Via: SIP/2.0/TCP host1.example.com;branch=z9hG4bK-.!%66*_+`'~\r\n"
      "To: \"BEL:\\\x07 NUL:\\"s +
      '\0' +
      " DEL:\\\x7f\" <sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*@example.com>\r\n"
      "From: token1~` token2'+_ token3*%!.- <sip:mundane@example.com>;fromParam''~+*_!.-%="
      "\"\xD1\x80\xD0\xB0\xD0\xB1\xD0\xBE\xD1\x82\xD0\xB0\xD1\x8E\xD1\x89\xD0\xB8\xD0\xB9\""
      ";tag=_token~1'+`*%!-.\r\n"
      "Call-ID: intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{\r\n"
      "CSeq: 139122385 " +
      method +
      "\r\n"
      "Max-Forwards: 255\r\n"
      "extensionHeader-!.%*+_`'~:\xEF\xBB\xBF\xE5\xA4\xA7\xE5\x81\x9C\xE9\x9B\xBB\r\n"
      "Content-Length: 0\r\n\r\n";
  ExpectOk(Parse(msg));
  EXPECT_EQ(msg_.method(), method);
  EXPECT_EQ(msg_.method_id(), Method::kOther);
  EXPECT_EQ(msg_.cseq_number(), 139122385u);
  EXPECT_EQ(msg_.from_tag(), "_token~1'+`*%!-.");
  EXPECT_FALSE(msg_.has_to_tag());
  EXPECT_EQ(msg_.call_id(), "intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{");
  EXPECT_EQ(msg_.top_via()->branch, "z9hG4bK-.!%66*_+`'~");
  EXPECT_EQ(msg_.headers()[6].name, "extensionHeader-!.%*+_`'~");
  EXPECT_EQ(msg_.headers()[6].value, "\xEF\xBB\xBF\xE5\xA4\xA7\xE5\x81\x9C\xE9\x9B\xBB");
  EXPECT_NE(msg_.first(HeaderType::kTo)->value.find('\0'), std::string_view::npos);
  EXPECT_EQ(msg_.first(HeaderType::kTo)->value.back(), '>');
}

TEST_F(SipMsgTest, Rfc4475Esc01) {
  // §3.1.1.4: escaped characters in URIs, a compact Content-Type in upper case, a folded Contact.
  ExpectOk(
      Parse(Crlf("INVITE sip:sips%3Auser%40example.com@example.net SIP/2.0\n"
                 "To: sip:%75se%72@example.com\n"
                 "From: <sip:I%20have%20spaces@example.net>;tag=938\n"
                 "Max-Forwards: 87\n"
                 "i: esc01.239409asdfakjkn23onasd0-3234\n"
                 "CSeq: 234234 INVITE\n"
                 "Via: SIP/2.0/UDP host5.example.net;branch=z9hG4bKkdjuw\n"
                 "C: application/sdp\n"
                 "Contact:\n"
                 "  <sip:cal%6Cer@host5.example.net;%6C%72;n%61me=v%61lue%25%34%31>\n"
                 "Content-Length: 150\n"
                 "\n" +
                 std::string(kSdp150))));
  EXPECT_EQ(msg_.ruri(), "sip:sips%3Auser%40example.com@example.net");
  EXPECT_EQ(msg_.first(HeaderType::kContentType)->value, "application/sdp");
  EXPECT_EQ(msg_.first(HeaderType::kContact)->value,
            "<sip:cal%6Cer@host5.example.net;%6C%72;n%61me=v%61lue%25%34%31>");
  EXPECT_EQ(msg_.call_id(), "esc01.239409asdfakjkn23onasd0-3234");
  EXPECT_EQ(msg_.from_tag(), "938");
}

TEST_F(SipMsgTest, Rfc4475Lwsdisp) {
  // §3.1.1.6: no whitespace between display name and '<'.
  ExpectOk(
      Parse(Crlf("OPTIONS sip:user@example.com SIP/2.0\n"
                 "To: sip:user@example.com\n"
                 "From: caller<sip:caller@example.com>;tag=323\n"
                 "Max-Forwards: 70\n"
                 "Call-ID: lwsdisp.1234abcd@funky.example.com\n"
                 "CSeq: 60 OPTIONS\n"
                 "Via: SIP/2.0/UDP funky.example.com;branch=z9hG4bKkdjuw\n"
                 "l: 0\n"
                 "\n")));
  EXPECT_EQ(msg_.from_tag(), "323");
  EXPECT_EQ(msg_.cseq_number(), 60u);
}

TEST_F(SipMsgTest, Rfc4475LongreqShape) {
  // §3.1.1.7 longreq: long values everywhere, many Via headers.
  const std::string l(300, 'l');
  std::string s = "INVITE sip:user@example.com SIP/2.0\n";
  s += "Via: SIP/2.0/TCP sip33.example.com\n";
  for (int i = 32; i > 1; --i) {
    s += (i % 2 ? "v: " : "Via: ") + "SIP/2.0/TCP sip"s + std::to_string(i) + ".example.com\n";
  }
  s += "Via: SIP/2.0/TCP host1.example.com;branch=z9hG4bK" + l + "\n";
  s += "To: \"I have a user name of " + l +
       " proportion\" <sip:user@example.com:6000;"
       "unknownparam1=very" +
       l + "value;longparam" + l + "name=shortvalue>\n";
  s += "From: sip:amazinglylongcallername" + l + "@example.net;tag=12982" + l + "\n";
  s += "Call-ID: longreq.one" + l + "@" + l + ".example.com\n";
  s += "CSeq: 3882340 INVITE\n";
  s += "Unknown-" + l + "-Long: unknown-" + l + ";unknown-" + l + "=\"unknown-" + l + "\"\n";
  s += "Max-Forwards: 70\n";
  s += "Route: <sip:" + l + "@example.com>, <sip:" + l + "@example.net>\n";
  s += "Contact: <sip:amazinglylongcallername" + l + "@host5.example.net>\n";
  s += "Content-Type: application/sdp\nl: {CL}\n\n";
  s += std::string(kSdp150);
  ExpectOk(Parse(Crlf(s)));
  EXPECT_EQ(msg_.count(HeaderType::kVia), 33u);
  EXPECT_EQ(msg_.top_via()->host, "sip33.example.com");
  EXPECT_EQ(msg_.from_tag(), "12982" + l);
  EXPECT_EQ(msg_.body().size(), 150u);
}

TEST_F(SipMsgTest, Rfc4475Inv2543AndTransports) {
  // RFC 4475 inv2543: an RFC 2543 request, no branch, no From tag.
  ExpectOk(
      Parse(Crlf("INVITE sip:UserB@example.com SIP/2.0\n"
                 "Via: SIP/2.0/UDP 192.0.2.15\n"
                 "From: <sip:UserA@example.com>\n"
                 "To: <sip:UserB@example.com>\n"
                 "Call-ID: 1@192.0.2.15\n"
                 "CSeq: 1 INVITE\n"
                 "Content-Length: 0\n\n")));
  EXPECT_EQ(msg_.top_via()->branch, "");
  EXPECT_EQ(msg_.from_tag(), "");
  // RFC 4475 transports: unknown transports in Via are syntax-valid.
  ExpectOk(Parse(Options({}, {},
                         "Via: SIP/2.0/SCTP t3.example.com;branch=z9hG4bKsctp, "
                         "SIP/2.0/UNKNOWN t4.example.com;branch=z9hG4bKunk")));
}

TEST_F(SipMsgTest, Rfc4475Multi01) {
  // RFC 4475 multi01: multiple values in single-valued headers.
  ExpectBad(Parse(Crlf("INVITE sip:user@company.com SIP/2.0\n"
                       "Contact: <sip:caller@host25.example.net>\n"
                       "Via: SIP/2.0/UDP 192.0.2.25;branch=z9hG4bKkdjuw\n"
                       "Max-Forwards: 70\n"
                       "CSeq: 5 INVITE\n"
                       "Call-ID: multi01.98asdh@192.0.2.1\n"
                       "CSeq: 59 INVITE\n"
                       "Call-ID: multi01.98asdh@192.0.2.2\n"
                       "From: sip:caller@example.com;tag=3413415\n"
                       "To: sip:user@example.com\n"
                       "To: sip:other@example.net\n"
                       "From: sip:caller@example.net;tag=2923420123\n"
                       "Content-Type: application/sdp\n"
                       "l: 0\n"
                       "Contact: <sip:caller@host36.example.net>\n"
                       "Max-Forwards: 5\n\n")),
            "Duplicate From header");
}

TEST_F(SipMsgTest, Rfc5118Ipv6Requests) {
  ExpectOk(
      Parse(Crlf("REGISTER sip:[2001:db8::10] SIP/2.0\n"
                 "To: sip:user@example.com\n"
                 "From: sip:user@example.com;tag=81x2\n"
                 "Via: SIP/2.0/UDP [2001:db8::9:1];branch=z9hG4bKas3-111\n"
                 "Call-ID: SSG9559905523997077@hlau_4100\n"
                 "Max-Forwards: 70\n"
                 "Contact: \"Caller\" <sip:caller@[2001:db8::1]>\n"
                 "CSeq: 98176 REGISTER\n"
                 "Content-Length: 0\n\n")));
  EXPECT_EQ(msg_.ruri(), "sip:[2001:db8::10]");
  EXPECT_EQ(msg_.top_via()->host, "2001:db8::9:1");
  EXPECT_TRUE(msg_.top_via()->host_is_ipv6);
}

// Every prefix and many random mutations of a valid message: no crash, no read past the end
// (ASan builds), and a truncated message is never accepted with a wrong body.
TEST_F(SipMsgTest, TruncationsAndMutationsAreSafe) {
  const std::string full = Crlf(kInvite);
  for (size_t n = 0; n < full.size(); ++n) {
    const ParseResult r = Parse(full.substr(0, n));
    if (r.status == ParseStatus::kOk) {
      EXPECT_EQ(msg_.body().size(), n - full.find("\r\n\r\n") - 4);
    }
  }
  std::mt19937 rng(4475);
  const char alphabet[] = {'\r', '\n', ' ', '\t', ':', ';', ',', '"',  '<',    '>',   '[',
                           ']',  '\\', '=', '/',  '0', '9', 'a', '\0', '\x7f', '\xff'};
  for (int i = 0; i < 20000; ++i) {
    std::string m = full;
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits; ++e) {
      const size_t at = rng() % m.size();
      switch (rng() % 3) {
        case 0:
          m[at] = alphabet[rng() % sizeof(alphabet)];
          break;
        case 1:
          m.erase(at, 1 + rng() % 8);
          break;
        default:
          m.insert(at, 1, alphabet[rng() % sizeof(alphabet)]);
          break;
      }
      if (m.empty()) m = "x";
    }
    const ParseResult r = Parse(m);
    ASSERT_NE(r.reason, nullptr);
    for (const Header& h : msg_.headers()) {
      ASSERT_GE(h.value.data(), buf_.get());
      ASSERT_LE(h.value.data() + h.value.size(), buf_.get() + len_);
    }
  }
}

}  // namespace
}  // namespace sipsd::sip
