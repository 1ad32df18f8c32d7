#include "core/auth/authorizer.h"

#include <gtest/gtest.h>

#include "core/auth/credentials.h"
#include "core/auth/digest.h"
#include "core/sip/message.h"

namespace sipsd::auth {
namespace {

constexpr int64_t kNow = 1'800'000'000;

// A REGISTER from alice@a.example, with an Authorization header when `auth` is given.
class Req {
 public:
  explicit Req(const std::string& auth, const char* method = "REGISTER", bool proxy = false) {
    text_ = std::string(method) +
            " sip:a.example SIP/2.0\r\n"
            "Via: SIP/2.0/TLS 127.0.0.1:5999;branch=z9hG4bK1\r\n"
            "From: <sip:alice@a.example>;tag=1\r\nTo: <sip:alice@a.example>\r\n"
            "Call-ID: c1\r\nCSeq: 1 " +
            method + "\r\n";
    if (!auth.empty())
      text_ += std::string(proxy ? "Proxy-Authorization: " : "Authorization: ") + auth + "\r\n";
    text_ += "Content-Length: 0\r\n\r\n";
    auto r = sip::parse_message(text_.data(), text_.size(), &msg_);
    EXPECT_EQ(r.status, sip::ParseStatus::kOk);
  }
  const sip::Message& msg() const { return msg_; }

 private:
  std::string text_;
  sip::Message msg_;
};

// The nonce of a challenge header value.
std::string nonce_of(const std::string& challenge) {
  size_t p = challenge.find("nonce=\"") + 7;
  return challenge.substr(p, challenge.find('"', p) - p);
}

class AuthorizerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = AuthShared::create({.nonce_slots = 1024, .cache_size = 16}, std::string(32, 's'));
    ASSERT_TRUE(s.ok());
    shared_ = std::move(s).value();
    shared_->begin_fill();
    std::string why;
    ASSERT_TRUE(shared_->add(
        {"alice", "a.example", "", compute_ha1(Algorithm::kMd5, "alice", "a.example", "secret"),
         compute_ha1(Algorithm::kSha256, "alice", "a.example", "secret"),
         compute_ha1(Algorithm::kSha512t256, "alice", "a.example", "secret")},
        &why));
    shared_->publish();
    auth_ = std::make_unique<Authorizer>(shared_.get(), &params_);
  }

  std::string challenge(const char* algorithms = "", const char* qop = "auth", int64_t now = kNow) {
    Req r("");
    auto h = auth_->challenge(r.msg(), "a.example", qop, algorithms, false, false, now);
    EXPECT_TRUE(h.ok());
    return h->front();
  }

  static std::string answer(const std::string& nonce, const char* password,
                            Algorithm a = Algorithm::kMd5, const char* nc = "00000001",
                            bool with_alg = false) {
    std::string ha1 = compute_ha1(base_algorithm(a), "alice", "a.example", password);
    DigestInput in{"REGISTER", "sip:a.example", nonce, "cn", nc, "auth", ""};
    std::string h = "Digest username=\"alice\", realm=\"a.example\", nonce=\"" + nonce +
                    "\", uri=\"sip:a.example\", response=\"" + compute_response(a, ha1, in) +
                    "\", cnonce=\"cn\", qop=auth, nc=" + nc;
    if (with_alg) h += ", algorithm=" + std::string(algorithm_name(a));
    return h;
  }

  AuthParams params_;
  std::unique_ptr<AuthShared> shared_;
  std::unique_ptr<Authorizer> auth_;
};

TEST_F(AuthorizerTest, ChallengeLayout) {
  std::string c = challenge();
  EXPECT_EQ(c.rfind("Digest realm=\"a.example\", nonce=\"", 0), 0u) << c;
  EXPECT_NE(c.find(", qop=\"auth\""), std::string::npos);
  EXPECT_EQ(c.find("algorithm="), std::string::npos);
  EXPECT_EQ(nonce_of(c).size(), 44u);
  Req r("");
  auto many = auth_->challenge(r.msg(), "", "", "MD5,SHA-256,SHA-512-256", true, false, kNow);
  ASSERT_TRUE(many.ok());
  ASSERT_EQ(many->size(), 3u);
  EXPECT_NE((*many)[0].find("algorithm=SHA-512-256"), std::string::npos);
  EXPECT_NE((*many)[1].find("algorithm=SHA-256"), std::string::npos);
  EXPECT_NE((*many)[2].find("algorithm=MD5"), std::string::npos);
  EXPECT_NE((*many)[0].find("qop=\"auth\""), std::string::npos);  // forced by SHA
  EXPECT_NE((*many)[0].find("stale=true"), std::string::npos);
  EXPECT_NE((*many)[0].find("realm=\"a.example\""), std::string::npos);  // To host of REGISTER
  EXPECT_FALSE(auth_->challenge(r.msg(), "a", "auth-conf", "", false, false, kNow).ok());
  EXPECT_FALSE(auth_->challenge(r.msg(), "a", "auth", "SHA-1", false, false, kNow).ok());
}

TEST_F(AuthorizerTest, RightPasswordThenReplay) {
  std::string nonce = nonce_of(challenge());
  Req ok(answer(nonce, "secret"));
  AuthOutcome o = auth_->authorize(ok.msg(), "a.example", "subscriber", false, kNow);
  EXPECT_EQ(o.rc, kAuthorized) << o.why;
  EXPECT_EQ(o.user, "alice");
  EXPECT_EQ(o.realm, "a.example");
  EXPECT_GE(o.header_index, 0);
  // The same nc again: a replay, refused as stale.
  o = auth_->authorize(ok.msg(), "a.example", "subscriber", false, kNow);
  EXPECT_EQ(o.rc, kStaleNonce);
  // The next nc is fine.
  Req next(answer(nonce, "secret", Algorithm::kMd5, "00000002"));
  EXPECT_EQ(auth_->authorize(next.msg(), "a.example", "subscriber", false, kNow).rc, kAuthorized);
}

TEST_F(AuthorizerTest, WrongPasswordUnknownUserNoCredentials) {
  std::string nonce = nonce_of(challenge());
  Req bad(answer(nonce, "guess"));
  EXPECT_EQ(auth_->authorize(bad.msg(), "a.example", "subscriber", false, kNow).rc,
            kInvalidPassword);
  std::string h = answer(nonce, "secret");
  h.replace(h.find("alice"), 5, "mallory");
  Req unknown(h);
  EXPECT_EQ(auth_->authorize(unknown.msg(), "a.example", "subscriber", false, kNow).rc,
            kUserUnknown);
  Req none("");
  EXPECT_EQ(auth_->authorize(none.msg(), "a.example", "subscriber", false, kNow).rc,
            kNoCredentials);
  Req other_realm(answer(nonce, "secret"));
  EXPECT_EQ(auth_->authorize(other_realm.msg(), "b.example", "subscriber", false, kNow).rc,
            kNoCredentials);
  Req garbage("Digest username=\"alice");
  EXPECT_EQ(auth_->authorize(garbage.msg(), "a.example", "subscriber", false, kNow).rc,
            kBadCredentials);
  // Proxy-Authorization is not looked at by www_authorize, and the reverse.
  Req proxied(answer(nonce, "secret"), "INVITE", true);
  EXPECT_EQ(auth_->authorize(proxied.msg(), "a.example", "subscriber", false, kNow).rc,
            kNoCredentials);
}

TEST_F(AuthorizerTest, ExpiredNonceIsStaleOnlyWithTheRightPassword) {
  std::string nonce = nonce_of(challenge("", "auth", kNow - 100));  // expired 70 s ago
  Req right(answer(nonce, "secret"));
  EXPECT_EQ(auth_->authorize(right.msg(), "a.example", "subscriber", false, kNow).rc, kStaleNonce);
  Req wrong(answer(nonce, "guess", Algorithm::kMd5, "00000002"));
  EXPECT_EQ(auth_->authorize(wrong.msg(), "a.example", "subscriber", false, kNow).rc,
            kInvalidPassword);
}

TEST_F(AuthorizerTest, ForgedNonceAndAlgorithmMismatch) {
  Req forged(answer(std::string(43, 'A') + "=", "secret"));
  EXPECT_EQ(auth_->authorize(forged.msg(), "a.example", "subscriber", false, kNow).rc,
            kInvalidPassword);
  // A nonce issued for MD5 answered with SHA-256: stale.
  std::string nonce = nonce_of(challenge());
  Req sha(answer(nonce, "secret", Algorithm::kSha256, "00000001", true));
  EXPECT_EQ(auth_->authorize(sha.msg(), "a.example", "subscriber", false, kNow).rc, kStaleNonce);
}

TEST_F(AuthorizerTest, Sha256AndSha512t256) {
  for (Algorithm a : {Algorithm::kSha256, Algorithm::kSha512t256}) {
    std::string nonce = nonce_of(challenge(std::string(algorithm_name(a)).c_str()));
    Req r(answer(nonce, "secret", a, "00000001", true));
    EXPECT_EQ(auth_->authorize(r.msg(), "a.example", "subscriber", false, kNow).rc, kAuthorized)
        << algorithm_name(a);
  }
}

TEST_F(AuthorizerTest, CalculateHa1FromPlainPassword) {
  shared_->begin_fill();
  std::string why;
  ASSERT_TRUE(shared_->add({"alice", "a.example", "plain", "", "", ""}, &why));
  shared_->publish();
  params_.calculate_ha1 = true;
  std::string nonce = nonce_of(challenge());
  Req r(answer(nonce, "plain"));
  EXPECT_EQ(auth_->authorize(r.msg(), "a.example", "subscriber", false, kNow).rc, kAuthorized);
}

TEST_F(AuthorizerTest, AckAndCancelPass) {
  Req ack("", "ACK");
  EXPECT_EQ(auth_->authorize(ack.msg(), "a.example", "subscriber", true, kNow).rc, kAuthorized);
}

}  // namespace
}  // namespace sipsd::auth
