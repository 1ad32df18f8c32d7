#include "core/auth/digest.h"

#include <gtest/gtest.h>

#include "core/auth/credentials.h"

namespace sipsd::auth {
namespace {

TEST(Digest, Rfc2617Example) {
  std::string ha1 = compute_ha1(Algorithm::kMd5, "Mufasa", "testrealm@host.com", "Circle Of Life");
  EXPECT_EQ(ha1, "939e7578ed9e3c518a452acee763bce9");
  DigestInput in{"GET",      "/dir/index.html", "dcd98b7102dd2f0e8b11d0f600bfb0c093",
                 "0a4f113b", "00000001",        "auth",
                 ""};
  EXPECT_EQ(compute_response(Algorithm::kMd5, ha1, in), "6629fae49393a05397450978507c4ef1");
}

TEST(Digest, Rfc7616ExamplesMd5AndSha256) {
  DigestInput in{"GET",
                 "/dir/index.html",
                 "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
                 "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
                 "00000001",
                 "auth",
                 ""};
  std::string md5 =
      compute_ha1(Algorithm::kMd5, "Mufasa", "http-auth@example.org", "Circle of Life");
  EXPECT_EQ(compute_response(Algorithm::kMd5, md5, in), "8ca523f5e9506fed4657c9700eebdbec");
  std::string sha =
      compute_ha1(Algorithm::kSha256, "Mufasa", "http-auth@example.org", "Circle of Life");
  EXPECT_EQ(compute_response(Algorithm::kSha256, sha, in),
            "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1");
}

TEST(Digest, Sha512t256IsTheTruncatedVariant) {
  // FIPS 180-4 example: SHA-512/256("abc").
  EXPECT_EQ(hash_hex(Algorithm::kSha512t256, "abc"),
            "53048e2681941ef99b2e29b76b4c7dabe4c2d0c634fc6d46e0e2f13107e7af23");
  EXPECT_EQ(compute_ha1(Algorithm::kSha512t256, "a", "b", "c"),
            hash_hex(Algorithm::kSha512t256, "a:b:c"));
  EXPECT_EQ(hex_length(Algorithm::kSha512t256Sess), 64u);
  EXPECT_EQ(hex_length(Algorithm::kMd5Sess), 32u);
}

TEST(Digest, SessAndNoQop) {
  const std::string ha1 = compute_ha1(Algorithm::kMd5, "u", "r", "p");
  DigestInput in{"REGISTER", "sip:r", "N", "C", "00000001", "auth", ""};
  const std::string sess_ha1 = hash_hex(Algorithm::kMd5, ha1 + ":N:C");
  EXPECT_EQ(compute_response(Algorithm::kMd5Sess, ha1, in),
            compute_response(Algorithm::kMd5, sess_ha1, in));
  DigestInput plain{"REGISTER", "sip:r", "N", "", "", "", ""};
  const std::string ha2 = hash_hex(Algorithm::kMd5, "REGISTER:sip:r");
  EXPECT_EQ(compute_response(Algorithm::kMd5, ha1, plain),
            hash_hex(Algorithm::kMd5, ha1 + ":N:" + ha2));
}

TEST(Digest, AlgorithmNames) {
  EXPECT_EQ(parse_algorithm("sha-512-256"), Algorithm::kSha512t256);
  EXPECT_EQ(parse_algorithm("MD5-sess"), Algorithm::kMd5Sess);
  EXPECT_FALSE(parse_algorithm("SHA-1").has_value());
  EXPECT_EQ(algorithm_name(Algorithm::kSha256Sess), "SHA-256-sess");
  EXPECT_TRUE(hex_equal("ABcd", "abCD"));
  EXPECT_FALSE(hex_equal("abcd", "abce"));
  EXPECT_FALSE(hex_equal("abc", "abcd"));
}

TEST(Credentials, ParsesQuotedAndTokenValues) {
  Credentials c;
  Status st = parse_credentials(
      "Digest username=\"alice\", realm=\"a.example\",nonce=\"abc\", uri=\"sip:a.example\", "
      "response=\"0123\", algorithm=SHA-256, cnonce=\"x\\\"y\", qop=auth, nc=0000000a, "
      "opaque=\"\"",
      &c);
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_EQ(c.username, "alice");
  EXPECT_EQ(c.realm, "a.example");
  EXPECT_EQ(c.nonce, "abc");
  EXPECT_EQ(c.uri, "sip:a.example");
  EXPECT_EQ(c.algorithm, "SHA-256");
  EXPECT_EQ(c.cnonce, "x\"y");
  EXPECT_EQ(c.qop, "auth");
  EXPECT_EQ(c.nc, "0000000a");
}

TEST(Credentials, RefusesMalformed) {
  Credentials c;
  EXPECT_FALSE(parse_credentials("Basic dXNlcjpwYXNz", &c).ok());
  EXPECT_FALSE(parse_credentials("Digest username=\"alice", &c).ok());
  EXPECT_FALSE(parse_credentials("Digest username", &c).ok());
  EXPECT_FALSE(
      parse_credentials("Digest username=\"a\", realm=\"r\", nonce=\"n\", uri=\"u\"", &c).ok());
  // qop needs cnonce and an 8-hex-digit nc.
  EXPECT_FALSE(parse_credentials("Digest username=a, realm=r, nonce=n, uri=u, response=r, "
                                 "qop=auth, cnonce=c, nc=1",
                                 &c)
                   .ok());
  std::string many = "Digest ";
  for (int i = 0; i < 40; ++i) many += "x" + std::to_string(i) + "=1, ";
  EXPECT_FALSE(parse_credentials(many, &c).ok());
  EXPECT_FALSE(parse_credentials("Digest username=\"" + std::string(2000, 'a') + "\"", &c).ok());
}

}  // namespace
}  // namespace sipsd::auth
