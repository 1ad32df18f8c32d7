// bench/sipsbench/digest_client and the authenticated requests of call_messages: the MD5
// challenge a phone picks, the credentials it answers with (checked against RFC 2617's worked
// example), and the REGISTER / re-sent INVITE that carry them.
#include "bench/sipsbench/digest_client.h"

#include <gtest/gtest.h>

#include <string>

#include "bench/sipsbench/call_messages.h"
#include "core/auth/digest.h"

namespace sipsd::bench {
namespace {

void parse(const std::string& text, std::string* buf, sip::Message* msg) {
  *buf = text;
  sip::ParseResult r = sip::parse_message(buf->data(), buf->size(), msg);
  ASSERT_EQ(r.status, sip::ParseStatus::kOk) << r.reason << "\n" << text;
}

TEST(DigestClient, ExpandsTheIndexEverywhere) {
  EXPECT_EQ(expand_index("pw{i}", 17), "pw17");
  EXPECT_EQ(expand_index("{i}-{i}", 3), "3-3");
  EXPECT_EQ(expand_index("secret", 3), "secret");
}

TEST(DigestClient, ReadsQuotedAndTokenParameters) {
  std::string_view v = R"(realm="a \"b\", c", nonce=xyz ,QOP="auth,auth-int", stale=TRUE)";
  EXPECT_EQ(challenge_param(v, "realm"), R"(a "b", c)");
  EXPECT_EQ(challenge_param(v, "nonce"), "xyz");
  EXPECT_EQ(challenge_param(v, "qop"), "auth,auth-int");
  EXPECT_EQ(challenge_param(v, "opaque"), "");
}

TEST(DigestClient, ParsesAnMd5ChallengeOnly) {
  DigestChallenge ch;
  ASSERT_TRUE(parse_md5_challenge(
      R"(Digest realm="bench.example", nonce="n1", qop="auth-int, auth", opaque="o", stale=true)",
      &ch));
  EXPECT_EQ(ch.realm, "bench.example");
  EXPECT_EQ(ch.nonce, "n1");
  EXPECT_EQ(ch.opaque, "o");
  EXPECT_TRUE(ch.qop_auth);
  EXPECT_TRUE(ch.stale);
  ASSERT_TRUE(parse_md5_challenge(R"(Digest realm="r", nonce="n2", algorithm=md5)", &ch));
  EXPECT_FALSE(ch.qop_auth);
  EXPECT_FALSE(ch.stale);
  EXPECT_FALSE(parse_md5_challenge(R"(Digest realm="r", nonce="n", algorithm=SHA-256)", &ch));
  EXPECT_FALSE(parse_md5_challenge(R"(Digest realm="r", qop="auth-int")", &ch));  // no nonce
  EXPECT_FALSE(parse_md5_challenge(R"(Basic realm="r")", &ch));
}

TEST(DigestClient, PicksTheMd5ProxyChallengeOfA407) {
  std::string buf;
  sip::Message m;
  parse(
      "SIP/2.0 407 Proxy Authentication Required\r\n"
      "Via: SIP/2.0/TLS 127.0.0.1:5000;branch=z9hG4bK.1\r\n"
      "From: <sip:alice4@bench.example>;tag=a\r\n"
      "To: <sip:alice0@bench.example>;tag=p\r\n"
      "Call-ID: c1@sipsbench\r\n"
      "CSeq: 1 INVITE\r\n"
      "Proxy-Authenticate: Digest realm=\"bench.example\", nonce=\"s\", algorithm=SHA-256\r\n"
      "Proxy-Authenticate: Digest realm=\"bench.example\", nonce=\"m\", qop=\"auth\"\r\n"
      "WWW-Authenticate: Digest realm=\"other\", nonce=\"w\"\r\n"
      "Content-Length: 0\r\n\r\n",
      &buf, &m);
  DigestChallenge ch;
  ASSERT_TRUE(find_md5_challenge(m, &ch));
  EXPECT_EQ(ch.nonce, "m");
  EXPECT_TRUE(ch.qop_auth);
}

// RFC 2617 3.5: Mufasa / "Circle Of Life" / testrealm@host.com.
TEST(DigestClient, AnswersWithRfc2617sResponse) {
  DigestChallenge ch;
  ch.realm = "testrealm@host.com";
  ch.nonce = "dcd98b7102dd2f0e8b11d0f600bfb0c093";
  ch.opaque = "5ccc069c403ebaf9f0171e9517f40e41";
  ch.qop_auth = true;
  std::string ha1 = auth::compute_ha1(auth::Algorithm::kMd5, "Mufasa", ch.realm, "Circle Of Life");
  std::string v =
      digest_credentials(ch, DigestAnswer{"Mufasa", ha1, "GET", "/dir/index.html", 1, "0a4f113b"});
  EXPECT_EQ(v,
            "Digest username=\"Mufasa\", realm=\"testrealm@host.com\", "
            "nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", uri=\"/dir/index.html\", "
            "response=\"6629fae49393a05397450978507c4ef1\", algorithm=MD5, qop=auth, "
            "nc=00000001, cnonce=\"0a4f113b\", opaque=\"5ccc069c403ebaf9f0171e9517f40e41\"");
  ch.qop_auth = false;
  ch.opaque.clear();
  v = digest_credentials(ch, DigestAnswer{"Mufasa", ha1, "GET", "/dir/index.html", 1, "x"});
  EXPECT_EQ(v.find("qop"), std::string::npos);
  EXPECT_EQ(v.find("cnonce"), std::string::npos);
}

TEST(DigestClient, RegisterCarriesTheAorContactAndCredentials) {
  CallerEnd end{Transport::kTls, "127.0.0.9", 40000, "alice3", "bench.example"};
  std::string out;
  append_register(&out, end, "r1@sipsbench", "t1", "z9hG4bK.r1", 2, 600, "Digest username=\"x\"");
  std::string buf;
  sip::Message m;
  parse(out, &buf, &m);
  EXPECT_EQ(m.method(), "REGISTER");
  EXPECT_EQ(m.ruri(), "sip:bench.example");
  EXPECT_EQ(m.cseq_number(), 2u);
  EXPECT_NE(out.find("From: <sip:alice3@bench.example>;tag=t1\r\n"), std::string::npos);
  EXPECT_NE(out.find("To: <sip:alice3@bench.example>\r\n"), std::string::npos);
  EXPECT_NE(out.find("Contact: <sip:alice3@127.0.0.9:40000;transport=tls>\r\n"), std::string::npos);
  EXPECT_NE(out.find("Expires: 600\r\n"), std::string::npos);
  EXPECT_NE(out.find("Authorization: Digest username=\"x\"\r\n"), std::string::npos);
  out.clear();
  append_register(&out, end, "r1@sipsbench", "t1", "z9hG4bK.r1", 1, 600, "");
  EXPECT_EQ(out.find("Authorization"), std::string::npos);
}

TEST(DigestClient, ReInviteWithCredentialsUsesTheNextCSeqThroughout) {
  CallerEnd end{Transport::kTls, "127.0.0.1", 5000, "alice4", "bench.example"};
  CallerDialog d;
  d.call_id = "c1@sipsbench";
  d.from_tag = "a";
  d.branch = "z9hG4bK.c1.2";
  d.ruri = "sip:alice0@bench.example";
  d.to = "<sip:alice0@bench.example>";
  d.cseq = 2;
  d.auth = "Proxy-Authorization: Digest username=\"alice4\"\r\n";
  std::string out;
  append_invite(&out, end, d, "v=0\r\n");
  EXPECT_NE(out.find("CSeq: 2 INVITE\r\n"), std::string::npos);
  EXPECT_NE(out.find("From: <sip:alice4@bench.example>;tag=a\r\n"), std::string::npos);
  EXPECT_NE(out.find("\r\nProxy-Authorization: Digest username=\"alice4\"\r\n"), std::string::npos);
  d.route.request_uri = "sip:alice0@127.0.0.1:6000;transport=tls";
  out.clear();
  append_ack_2xx(&out, end, d);
  EXPECT_NE(out.find("CSeq: 2 ACK\r\n"), std::string::npos);
  out.clear();
  append_ack_non2xx(&out, end, d);
  EXPECT_NE(out.find("CSeq: 2 ACK\r\n"), std::string::npos);
  out.clear();
  append_bye(&out, end, d);
  EXPECT_NE(out.find("CSeq: 3 BYE\r\n"), std::string::npos);
  EXPECT_EQ(out.find("Authorization"), std::string::npos);
}

}  // namespace
}  // namespace sipsd::bench
