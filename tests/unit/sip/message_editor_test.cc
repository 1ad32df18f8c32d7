#include "core/sip/message_editor.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <string_view>

#include "core/sip/header_cursor.h"
#include "tests/unit/sip/sip_test_util.h"

namespace sipsd::sip {
namespace {

using testing_util::Crlf;
using testing_util::ParsedMessage;

constexpr std::string_view kInvite =
    "INVITE sip:bob@biloxi.example.com SIP/2.0\n"
    "Via: SIP/2.0/TLS client.atlanta.example.com:5061;branch=z9hG4bK74bf9\n"
    "Max-Forwards: 70\n"
    "Route: <sip:edge.example.com;lr>, <sip:core.example.com;lr>\n"
    "From: Alice <sip:alice@atlanta.example.com>;tag=9fxced76sl\n"
    "To: Bob <sip:bob@biloxi.example.com>\n"
    "Call-ID: 3848276298220188511@atlanta.example.com\n"
    "CSeq: 1 INVITE\n"
    "Content-Type: text/plain\n"
    "Content-Length: {CL}\n"
    "\n"
    "hi\n";

constexpr std::string_view kReply =
    "SIP/2.0 486 Busy Here\n"
    "Via: SIP/2.0/TLS proxy.example.com:5061;branch=z9hG4bKp1, SIP/2.0/TLS "
    "client.example.com;branch=z9hG4bKc1\n"
    "Via: SIP/2.0/TLS last.example.com;branch=z9hG4bKl1\n"
    "From: <sip:a@example.com>;tag=1\n"
    "To: <sip:b@example.com>;tag=2\n"
    "Call-ID: c1\n"
    "CSeq: 1 INVITE\n"
    "Content-Length: 0\n"
    "\n";

class EditorTest : public ::testing::Test {
 protected:
  // Parses `wire` (already CRLF) and resets the editor on it.
  const Message& Load(std::string_view wire) {
    parsed_ = std::make_unique<ParsedMessage>(wire);
    EXPECT_NE(parsed_->result.status, ParseStatus::kUnparseable) << parsed_->result.reason;
    EXPECT_EQ(ed_.reset(parsed_->msg), EditStatus::kOk);
    return parsed_->msg;
  }
  std::string Build() {
    std::string out = "stale";
    EXPECT_TRUE(ed_.build(&out));
    EXPECT_EQ(out.size(), ed_.output_size());
    return out;
  }
  const Header& Nth(HeaderType t, size_t n = 0) {
    size_t seen = 0;
    for (const Header& h : parsed_->msg.headers()) {
      if (h.type == t && seen++ == n) return h;
    }
    ADD_FAILURE() << "no such header";
    return parsed_->msg.headers().front();
  }

  std::unique_ptr<ParsedMessage> parsed_;
  MessageEditor ed_;
};

TEST_F(EditorTest, NoEditsRebuildsTheMessage) {
  const std::string wire = Crlf(kInvite);
  Load("\r\n\r\n" + wire);  // leading empty lines are dropped
  EXPECT_EQ(ed_.edit_count(), 0u);
  EXPECT_EQ(Build(), wire);
}

TEST_F(EditorTest, ProxyForwardsARequest) {
  // RFC 3261 §16.6: new R-URI (from the next Route), Max-Forwards - 1, Record-Route, own Via,
  // our Route value removed (loose routing, §16.4).
  const Message& m = Load(Crlf(kInvite));
  NameAddrCursor routes(m, HeaderType::kRoute);
  NameAddr first;
  ASSERT_TRUE(routes.next(&first));
  NameAddr second;
  ASSERT_TRUE(routes.next(&second));
  EXPECT_EQ(
      ed_.replace(std::string_view(first.value.data(),
                                   static_cast<size_t>(second.value.data() - first.value.data())),
                  ""),
      EditStatus::kOk);
  EXPECT_EQ(ed_.set_request_uri("sip:bob@192.0.2.20:5061;transport=tls"), EditStatus::kOk);
  EXPECT_EQ(ed_.set_max_forwards(static_cast<unsigned>(m.max_forwards() - 1)), EditStatus::kOk);
  EXPECT_EQ(ed_.insert_header_first("Record-Route", "<sip:proxy.example.com;transport=tls;lr>"),
            EditStatus::kOk);
  EXPECT_EQ(ed_.push_via("SIP/2.0/TLS proxy.example.com;branch=z9hG4bKab.0.0"), EditStatus::kOk);
  EXPECT_EQ(ed_.edit_count(), 5u);
  const std::string out = Build();
  EXPECT_EQ(out, Crlf("INVITE sip:bob@192.0.2.20:5061;transport=tls SIP/2.0\n"
                      "Record-Route: <sip:proxy.example.com;transport=tls;lr>\n"
                      "Via: SIP/2.0/TLS proxy.example.com;branch=z9hG4bKab.0.0\n"
                      "Via: SIP/2.0/TLS client.atlanta.example.com:5061;branch=z9hG4bK74bf9\n"
                      "Max-Forwards: 69\n"
                      "Route: <sip:core.example.com;lr>\n"
                      "From: Alice <sip:alice@atlanta.example.com>;tag=9fxced76sl\n"
                      "To: Bob <sip:bob@biloxi.example.com>\n"
                      "Call-ID: 3848276298220188511@atlanta.example.com\n"
                      "CSeq: 1 INVITE\n"
                      "Content-Type: text/plain\n"
                      "Content-Length: 4\n"
                      "\n"
                      "hi\n"));
  ParsedMessage again(out);
  ASSERT_TRUE(again.ok()) << again.result.reason;
  EXPECT_EQ(again.msg.top_via()->branch, "z9hG4bKab.0.0");
  EXPECT_EQ(again.msg.max_forwards(), 69);
  EXPECT_EQ(again.msg.ruri(), "sip:bob@192.0.2.20:5061;transport=tls");
}

TEST_F(EditorTest, RemoveTopViaKeepsTheRest) {
  Load(Crlf(kReply));
  EXPECT_EQ(ed_.remove_top_via(), EditStatus::kOk);
  std::string out = Build();
  EXPECT_NE(out.find("\r\nVia: SIP/2.0/TLS client.example.com;branch=z9hG4bKc1\r\n"
                     "Via: SIP/2.0/TLS last.example.com;branch=z9hG4bKl1\r\n"),
            std::string::npos)
      << out;
  // Twice on one message is an overlap.
  EXPECT_EQ(ed_.remove_top_via(), EditStatus::kOverlap);

  // A header holding only the top value goes as a whole.
  Load(
      Crlf("SIP/2.0 200 OK\nVia: SIP/2.0/TLS p;branch=z9hG4bK1\nv: SIP/2.0/TLS q;branch=z9hG4bK2\n"
           "From: <sip:a@b>;tag=1\nTo: <sip:a@b>;tag=2\nCall-ID: c\nCSeq: 1 BYE\n\n"));
  EXPECT_EQ(ed_.remove_top_via(), EditStatus::kOk);
  out = Build();
  EXPECT_EQ(out, Crlf("SIP/2.0 200 OK\nv: SIP/2.0/TLS q;branch=z9hG4bK2\n"
                      "From: <sip:a@b>;tag=1\nTo: <sip:a@b>;tag=2\nCall-ID: c\nCSeq: 1 BYE\n\n"));
  ParsedMessage again(out);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again.msg.top_via()->branch, "z9hG4bK2");

  // The last Via: the reply would have none (the caller's business: it is for us).
  Load(
      Crlf("SIP/2.0 200 OK\nVia: SIP/2.0/TLS p;branch=z9hG4bK1\n"
           "From: <sip:a@b>;tag=1\nTo: <sip:a@b>;tag=2\nCall-ID: c\nCSeq: 1 BYE\n\n"));
  EXPECT_EQ(ed_.remove_top_via(), EditStatus::kOk);
  EXPECT_EQ(Build().find("Via"), std::string::npos);
}

TEST_F(EditorTest, RemoveTopViaErrors) {
  Load(
      Crlf("SIP/2.0 200 OK\nFrom: <sip:a@b>;tag=1\nTo: <sip:a@b>;tag=2\nCall-ID: c\n"
           "CSeq: 1 BYE\n\n"));
  EXPECT_EQ(ed_.remove_top_via(), EditStatus::kNotFound);
  Load(
      Crlf("SIP/2.0 200 OK\nVia: SIP/2.0/TLS p;branch=z9hG4bK1,,SIP/2.0/TLS q\n"
           "From: <sip:a@b>;tag=1\nTo: <sip:a@b>;tag=2\nCall-ID: c\nCSeq: 1 BYE\n\n"));
  EXPECT_EQ(ed_.remove_top_via(), EditStatus::kNotFound);
  Load(
      Crlf("SIP/2.0 200 OK\nVia:\nFrom: <sip:a@b>;tag=1\nTo: <sip:a@b>;tag=2\nCall-ID: c\n"
           "CSeq: 1 BYE\n\n"));
  EXPECT_EQ(ed_.remove_top_via(), EditStatus::kNotFound);
  EXPECT_EQ(ed_.edit_count(), 0u);
}

TEST_F(EditorTest, HeaderLinePositions) {
  Load(Crlf("OPTIONS sip:a@b SIP/2.0\nA: 1\nB: 2\n\nbody"));
  const Header& a = Nth(HeaderType::kOther, 0);
  const Header& b = Nth(HeaderType::kOther, 1);
  EXPECT_EQ(ed_.append_header("Z", "last"), EditStatus::kOk);
  EXPECT_EQ(ed_.insert_header_first("F1", "first"), EditStatus::kOk);
  EXPECT_EQ(ed_.insert_header_first("F2", "second"), EditStatus::kOk);  // in call order
  EXPECT_EQ(ed_.insert_header_after(a, "AA", "after a"), EditStatus::kOk);
  EXPECT_EQ(ed_.insert_header_before(b, "BB", "before b"), EditStatus::kOk);  // same point
  EXPECT_EQ(ed_.insert_header_before(a, "A0", ""), EditStatus::kOk);
  EXPECT_EQ(Build(), Crlf("OPTIONS sip:a@b SIP/2.0\nF1: first\nF2: second\nA0: \nA: 1\n"
                          "AA: after a\nBB: before b\nB: 2\nZ: last\n\nbody"));
}

TEST_F(EditorTest, InsertionsAroundARemovedHeader) {
  // Replacing a header = remove its line + insert at its start; an insertion at the end of a
  // removed line lands after it. The output does not depend on which came first.
  for (int order = 0; order < 2; ++order) {
    Load(Crlf("OPTIONS sip:a@b SIP/2.0\nA: 1\nB: 2\nC: 3\n\n"));
    const Header& b = Nth(HeaderType::kOther, 1);
    if (order == 0) {
      EXPECT_EQ(ed_.remove_header(b), EditStatus::kOk);
      EXPECT_EQ(ed_.insert_header_before(b, "B", "new"), EditStatus::kOk);
      EXPECT_EQ(ed_.insert_header_after(b, "B2", "after"), EditStatus::kOk);
    } else {
      EXPECT_EQ(ed_.insert_header_after(b, "B2", "after"), EditStatus::kOk);
      EXPECT_EQ(ed_.insert_header_before(b, "B", "new"), EditStatus::kOk);
      EXPECT_EQ(ed_.remove_header(b), EditStatus::kOk);
    }
    EXPECT_EQ(Build(), Crlf("OPTIONS sip:a@b SIP/2.0\nA: 1\nB: new\nB2: after\nC: 3\n\n")) << order;
  }
}

TEST_F(EditorTest, OverlapsAreRejected) {
  Load(Crlf(kInvite));
  const Header& to = Nth(HeaderType::kTo);
  const Header& from = Nth(HeaderType::kFrom);
  EXPECT_EQ(ed_.remove_header(to), EditStatus::kOk);
  EXPECT_EQ(ed_.remove_header(to), EditStatus::kOverlap);
  EXPECT_EQ(ed_.replace_header_value(to, "x"), EditStatus::kOverlap);
  EXPECT_EQ(ed_.insert_after(to.value.substr(0, 3), ";x"), EditStatus::kOverlap);

  // Replace then remove: rejected too (either order).
  EXPECT_EQ(ed_.replace(from.value.substr(0, 5), "Alicia"), EditStatus::kOk);
  EXPECT_EQ(ed_.remove_header(from), EditStatus::kOverlap);
  EXPECT_EQ(ed_.replace(from.value.substr(2, 5), "y"), EditStatus::kOverlap);
  EXPECT_EQ(ed_.insert_after(from.value.substr(0, 2), "y"), EditStatus::kOverlap);
  // Touching is fine: adjacent replacement, insertions at either end.
  EXPECT_EQ(ed_.replace(from.value.substr(5, 2), " <"), EditStatus::kOk);
  EXPECT_EQ(ed_.insert_before(from.value, "\"The\" "), EditStatus::kOk);
  EXPECT_EQ(ed_.insert_after(from.value, ";x=1"), EditStatus::kOk);
  EXPECT_EQ(ed_.edit_count(), 5u);
  const std::string out = Build();
  EXPECT_NE(out.find("From: \"The\" Alicia <sip:alice@atlanta.example.com>;tag=9fxced76sl;x=1\r\n"),
            std::string::npos)
      << out;
  EXPECT_EQ(out.find("To:"), std::string::npos);
}

TEST_F(EditorTest, TextMustNotAddLines) {
  Load(Crlf(kInvite));
  const Header& to = Nth(HeaderType::kTo);
  for (std::string_view bad : {std::string_view("x\r\nVia: evil"), std::string_view("x\ny"),
                               std::string_view("x\r"), std::string_view("a\0b", 3)}) {
    EXPECT_EQ(ed_.replace_header_value(to, bad), EditStatus::kBadText);
    EXPECT_EQ(ed_.insert_after(to.value, bad), EditStatus::kBadText);
    EXPECT_EQ(ed_.append_header("X-Y", bad), EditStatus::kBadText);
    EXPECT_EQ(ed_.push_via(bad), EditStatus::kBadText);
    EXPECT_EQ(ed_.set_request_uri(bad), EditStatus::kBadText);
  }
  for (std::string_view name : {"", "X Y", "X:", "X\r\n", "Ä"}) {
    EXPECT_EQ(ed_.append_header(name, "v"), EditStatus::kBadText) << name;
  }
  EXPECT_EQ(ed_.set_request_uri(""), EditStatus::kBadText);
  EXPECT_EQ(ed_.set_request_uri("sip:a@b SIP/2.0"), EditStatus::kBadText);
  EXPECT_EQ(ed_.set_request_uri("sip:a@b\t"), EditStatus::kBadText);
  EXPECT_EQ(ed_.set_max_forwards(256), EditStatus::kBadText);
  const std::string long_text(Message::kMaxLineLength + 1, 'x');
  EXPECT_EQ(ed_.replace_header_value(to, long_text), EditStatus::kTooLong);
  EXPECT_EQ(ed_.append_header("X", long_text), EditStatus::kTooLong);
  EXPECT_EQ(ed_.edit_count(), 0u);
  EXPECT_EQ(Build(), Crlf(kInvite));
}

TEST_F(EditorTest, TextEditsStayInsideValuesAndTheStartLine) {
  const Message& m = Load(Crlf(kInvite));
  const Header& to = Nth(HeaderType::kTo);
  const std::string_view raw = m.raw();
  // Header names, colons, line ends, the empty line and the body are out of range.
  EXPECT_EQ(ed_.replace(to.name, "T"), EditStatus::kOutOfRange);
  EXPECT_EQ(ed_.insert_before(to.line, "X-"), EditStatus::kOutOfRange);
  EXPECT_EQ(ed_.replace(std::string_view(to.value.data() - 2, 2), ":"), EditStatus::kOutOfRange);
  EXPECT_EQ(ed_.replace(std::string_view(to.value.data(), to.value.size() + 1), "x"),
            EditStatus::kOutOfRange);                                  // into the CR
  EXPECT_EQ(ed_.insert_after(to.line, "x"), EditStatus::kOutOfRange);  // next line's start
  EXPECT_EQ(ed_.replace(m.body(), "x"), EditStatus::kOutOfRange);
  EXPECT_EQ(ed_.insert_before(raw.substr(raw.find("\r\n\r\n") + 2), "x"), EditStatus::kOutOfRange);
  // Two lines at once.
  const Header& from = Nth(HeaderType::kFrom);
  EXPECT_EQ(ed_.replace(std::string_view(from.value.data(),
                                         static_cast<size_t>(to.value.data() - from.value.data())),
                        "x"),
            EditStatus::kOutOfRange);
  // Not a view of this message.
  const std::string other = "sip:x@y";
  EXPECT_EQ(ed_.replace(other, "x"), EditStatus::kOutOfRange);
  EXPECT_EQ(ed_.replace(std::string_view(), "x"), EditStatus::kOutOfRange);
  EXPECT_EQ(ed_.replace(std::string_view(raw.data() + raw.size() - 1, 2), "x"),
            EditStatus::kOutOfRange);
  ParsedMessage second(Crlf(kInvite));
  EXPECT_EQ(ed_.remove_header(second.msg.headers()[0]), EditStatus::kOutOfRange);
  EXPECT_EQ(ed_.insert_header_before(second.msg.headers()[0], "X", "y"), EditStatus::kOutOfRange);
  EXPECT_EQ(ed_.insert_header_after(second.msg.headers()[0], "X", "y"), EditStatus::kOutOfRange);
  EXPECT_EQ(ed_.edit_count(), 0u);
  // Anywhere in the start line is fine, e.g. the method and the version.
  EXPECT_EQ(ed_.replace(m.method(), "OPTIONS"), EditStatus::kOk);
  EXPECT_EQ(ed_.insert_after(m.start_line(), ""), EditStatus::kOk);
  // An empty header value can be filled.
  Load(Crlf("OPTIONS sip:a@b SIP/2.0\nSupported:\nX: 1\n\n"));
  EXPECT_EQ(ed_.replace_header_value(Nth(HeaderType::kSupported), "path"), EditStatus::kOk);
  EXPECT_EQ(Build(), Crlf("OPTIONS sip:a@b SIP/2.0\nSupported:path\nX: 1\n\n"));
}

TEST_F(EditorTest, ReplyStartLineAndRequestUri) {
  const Message& m = Load(Crlf(kReply));
  EXPECT_EQ(ed_.set_request_uri("sip:x@y"), EditStatus::kOutOfRange);
  EXPECT_EQ(ed_.replace(m.reason(), "Busy Everywhere"), EditStatus::kOk);
  EXPECT_EQ(Build().substr(0, 34), "SIP/2.0 486 Busy Everywhere\r\nVia: ");
}

TEST_F(EditorTest, FoldedHeaderValue) {
  Load(Crlf("OPTIONS sip:a@b SIP/2.0\nSubject: a\n  folded\n  value\nX: 1\n\n"));
  const Header& subj = Nth(HeaderType::kSubject);
  EXPECT_EQ(subj.value, "a folded value");
  EXPECT_EQ(ed_.insert_after(subj.value, " more"), EditStatus::kOk);
  const std::string out = Build();
  ParsedMessage again(out);
  EXPECT_EQ(again.msg.first(HeaderType::kSubject)->value, "a folded value more");
  // Trailing blanks of the unfolded header are inside the value region too.
  Load(Crlf("OPTIONS sip:a@b SIP/2.0\nSubject: a\n  b\nX: 1\n\n"));
  const Header& s2 = Nth(HeaderType::kSubject);
  const std::string_view line = s2.line;
  EXPECT_EQ(ed_.insert_before(line.substr(line.size() - 2), "!"), EditStatus::kOk);
}

TEST_F(EditorTest, MaxForwards) {
  Load(Crlf(kInvite));
  EXPECT_EQ(ed_.set_max_forwards(0), EditStatus::kOk);
  EXPECT_EQ(ed_.set_max_forwards(5), EditStatus::kOverlap);
  EXPECT_NE(Build().find("\r\nMax-Forwards: 0\r\n"), std::string::npos);
  Load(Crlf("OPTIONS sip:a@b SIP/2.0\nX: 1\n\nbody"));
  EXPECT_EQ(ed_.set_max_forwards(70), EditStatus::kOk);
  EXPECT_EQ(ed_.set_max_forwards(70), EditStatus::kOverlap);
  EXPECT_EQ(Build(), Crlf("OPTIONS sip:a@b SIP/2.0\nX: 1\nMax-Forwards: 70\n\nbody"));
}

TEST_F(EditorTest, ReplaceBodyFixesContentLength) {
  Load(Crlf(kInvite));
  EXPECT_EQ(ed_.replace_body("v=0\r\ns=-\r\n"), EditStatus::kOk);
  EXPECT_EQ(ed_.replace_body("again"), EditStatus::kOverlap);
  std::string out = Build();
  ParsedMessage again(out);
  ASSERT_TRUE(again.ok()) << again.result.reason;
  EXPECT_EQ(again.msg.body(), "v=0\r\ns=-\r\n");
  EXPECT_EQ(again.msg.content_length(), 10);

  // No Content-Length: one is added (streams need it); an empty body.
  Load(Crlf("OPTIONS sip:a@b SIP/2.0\nX: 1\n\nold body"));
  EXPECT_EQ(ed_.replace_body(""), EditStatus::kOk);
  EXPECT_EQ(Build(), Crlf("OPTIONS sip:a@b SIP/2.0\nX: 1\nContent-Length: 0\n\n"));

  // A body where there was none (compact l:).
  Load(Crlf("OPTIONS sip:a@b SIP/2.0\nl: 0\n\n"));
  EXPECT_EQ(ed_.replace_body("abc"), EditStatus::kOk);
  EXPECT_EQ(Build(), Crlf("OPTIONS sip:a@b SIP/2.0\nl: 3\n\nabc"));

  // Content-Length already edited by the caller: the whole replace_body is refused.
  Load(Crlf(kInvite));
  EXPECT_EQ(ed_.replace_header_value(Nth(HeaderType::kContentLength), "4"), EditStatus::kOk);
  EXPECT_EQ(ed_.replace_body("abc"), EditStatus::kOverlap);
  EXPECT_EQ(ed_.edit_count(), 1u);
  EXPECT_EQ(Build(), Crlf(kInvite));
}

TEST_F(EditorTest, TooManyEdits) {
  Load(Crlf(kInvite));
  for (size_t i = 0; i + 1 < MessageEditor::kMaxEdits; ++i) {
    ASSERT_EQ(ed_.append_header("X", std::to_string(i)), EditStatus::kOk);
  }
  EXPECT_EQ(ed_.replace_body("x"), EditStatus::kTooManyEdits);  // needs two
  EXPECT_EQ(ed_.append_header("X", "last"), EditStatus::kOk);
  EXPECT_EQ(ed_.append_header("X", "one too many"), EditStatus::kTooManyEdits);
  EXPECT_EQ(ed_.remove_header(Nth(HeaderType::kTo)), EditStatus::kTooManyEdits);
  EXPECT_EQ(ed_.edit_count(), MessageEditor::kMaxEdits);
  ParsedMessage again(Build());
  EXPECT_TRUE(again.ok());
  EXPECT_EQ(again.msg.count(HeaderType::kOther), MessageEditor::kMaxEdits);
}

TEST_F(EditorTest, NotEditable) {
  MessageEditor fresh;
  std::string out = "x";
  EXPECT_FALSE(fresh.build(&out));
  EXPECT_EQ(out, "");
  EXPECT_EQ(fresh.output_size(), 0u);
  EXPECT_EQ(fresh.append_header("X", "y"), EditStatus::kNotEditable);
  EXPECT_EQ(fresh.remove_top_via(), EditStatus::kNotEditable);
  EXPECT_EQ(fresh.replace_body("x"), EditStatus::kNotEditable);
  EXPECT_EQ(fresh.set_max_forwards(1), EditStatus::kNotEditable);
  EXPECT_EQ(fresh.set_request_uri("sip:a@b"), EditStatus::kNotEditable);
  EXPECT_EQ(fresh.insert_header_first("X", "y"), EditStatus::kNotEditable);
  EXPECT_EQ(fresh.push_via("v"), EditStatus::kNotEditable);

  std::string many = "OPTIONS sip:a@b SIP/2.0\r\n";
  for (size_t i = 0; i <= Message::kMaxHeaders; ++i) many += "X: 1\r\n";
  ParsedMessage too_many(many + "\r\n");
  EXPECT_EQ(fresh.reset(too_many.msg), EditStatus::kNotEditable);
  EXPECT_FALSE(fresh.build(&out));
  EXPECT_EQ(fresh.remove_header(too_many.msg.headers()[0]), EditStatus::kNotEditable);
}

TEST_F(EditorTest, ResetForgetsEarlierEdits) {
  Load(Crlf(kInvite));
  EXPECT_EQ(ed_.append_header("X", "1"), EditStatus::kOk);
  EXPECT_EQ(ed_.set_max_forwards(1), EditStatus::kOk);
  EXPECT_EQ(ed_.replace_body("b"), EditStatus::kOk);
  Load(Crlf(kReply));
  EXPECT_EQ(ed_.edit_count(), 0u);
  EXPECT_EQ(Build(), Crlf(kReply));
  EXPECT_EQ(ed_.set_max_forwards(1), EditStatus::kOk);  // allowed again
  EXPECT_EQ(ed_.replace_body("b"), EditStatus::kOk);
}

TEST_F(EditorTest, BareLfMessagesGetCrlfOnlyOnNewLines) {
  Load("OPTIONS sip:a@b SIP/2.0\nVia: SIP/2.0/TLS h;branch=z9hG4bK1\nX: 1\n\n");
  EXPECT_EQ(ed_.push_via("SIP/2.0/TLS p;branch=z9hG4bK2"), EditStatus::kOk);
  EXPECT_EQ(ed_.replace_header_value(Nth(HeaderType::kOther), "2"), EditStatus::kOk);
  EXPECT_EQ(Build(),
            "OPTIONS sip:a@b SIP/2.0\nVia: SIP/2.0/TLS p;branch=z9hG4bK2\r\n"
            "Via: SIP/2.0/TLS h;branch=z9hG4bK1\nX: 2\n\n");
}

TEST(EditStatusName, EveryValueHasOne) {
  for (EditStatus s : {EditStatus::kOk, EditStatus::kNotEditable, EditStatus::kOutOfRange,
                       EditStatus::kOverlap, EditStatus::kBadText, EditStatus::kTooLong,
                       EditStatus::kTooManyEdits, EditStatus::kNotFound}) {
    EXPECT_NE(edit_status_name(s), "?");
    EXPECT_FALSE(edit_status_name(s).empty());
  }
  EXPECT_EQ(edit_status_name(EditStatus::kOverlap), "overlap");
}

}  // namespace
}  // namespace sipsd::sip
