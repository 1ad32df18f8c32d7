#include "core/auth/nonce.h"

#include <gtest/gtest.h>

#include "core/auth/auth_shared.h"

namespace sipsd::auth {
namespace {

const std::string kSecret(32, 'k');

TEST(Nonce, RoundTripsAndIs44Chars) {
  NonceFields f{1700000000, 0xdeadbeef, Algorithm::kSha256, kQopAuth};
  std::string n = make_nonce(kSecret, f);
  EXPECT_EQ(n.size(), kNonceLength);
  NonceFields back;
  ASSERT_EQ(read_nonce(kSecret, n, &back), NonceStatus::kOk);
  EXPECT_EQ(back.expires, f.expires);
  EXPECT_EQ(back.index, f.index);
  EXPECT_EQ(back.algorithm, Algorithm::kSha256);
  EXPECT_EQ(back.qop, kQopAuth);
  EXPECT_NE(make_nonce(kSecret, f), n);  // random bytes: never the same nonce twice
}

TEST(Nonce, ForgedAndMalformedAreRefused) {
  std::string n = make_nonce(kSecret, NonceFields{1700000000, 7, Algorithm::kMd5, 0});
  NonceFields out;
  EXPECT_EQ(read_nonce(std::string(32, 'x'), n, &out), NonceStatus::kForged);
  std::string tampered = n;
  tampered[3] = tampered[3] == 'A' ? 'B' : 'A';
  EXPECT_EQ(read_nonce(kSecret, tampered, &out), NonceStatus::kForged);
  EXPECT_EQ(read_nonce(kSecret, "short", &out), NonceStatus::kMalformed);
  EXPECT_EQ(read_nonce(kSecret, std::string(44, '!'), &out), NonceStatus::kMalformed);
}

TEST(NonceIndex, EachNonceCountOnce) {
  auto shared = AuthShared::create({.nonce_slots = 1024, .cache_size = 4}, kSecret);
  ASSERT_TRUE(shared.ok()) << shared.message();
  AuthShared& s = **shared;
  bool live = true;
  uint32_t i = s.issue_nonce(1000, 900, &live);
  EXPECT_FALSE(live);
  EXPECT_EQ(s.use_nonce_count(i, 1), AuthShared::NcCheck::kOk);
  EXPECT_EQ(s.use_nonce_count(i, 1), AuthShared::NcCheck::kReplayed);
  EXPECT_EQ(s.use_nonce_count(i, 3), AuthShared::NcCheck::kOk);
  EXPECT_EQ(s.use_nonce_count(i, 2), AuthShared::NcCheck::kOk);  // out of order, once
  EXPECT_EQ(s.use_nonce_count(i, 2), AuthShared::NcCheck::kReplayed);
  EXPECT_EQ(s.use_nonce_count(i, 0), AuthShared::NcCheck::kReplayed);
  EXPECT_EQ(s.use_nonce_count(i, 200), AuthShared::NcCheck::kOk);
  EXPECT_EQ(s.use_nonce_count(i, 100), AuthShared::NcCheck::kReplayed);  // out of the window
  EXPECT_EQ(s.use_nonce_count(i + 1, 1), AuthShared::NcCheck::kForgotten);
}

TEST(NonceIndex, ReuseOfALiveSlotIsReported) {
  auto shared = AuthShared::create({.nonce_slots = 2, .cache_size = 4}, kSecret);
  ASSERT_TRUE(shared.ok());
  AuthShared& s = **shared;
  bool live = false;
  uint32_t first = s.issue_nonce(1000, 900, &live);
  s.issue_nonce(1000, 900, &live);
  EXPECT_FALSE(live);
  s.issue_nonce(1000, 900, &live);  // the ring wrapped onto `first`, still valid
  EXPECT_TRUE(live);
  EXPECT_EQ(s.use_nonce_count(first, 1), AuthShared::NcCheck::kForgotten);
  s.issue_nonce(1000, 2000, &live);  // expired by now: not counted
  EXPECT_FALSE(live);
}

TEST(SubscriberCache, FillPublishAndFind) {
  auto shared = AuthShared::create({.nonce_slots = 16, .cache_size = 2}, "");
  ASSERT_TRUE(shared.ok());
  AuthShared& s = **shared;
  EXPECT_EQ(s.secret().size(), kSecretSize);
  Subscriber out;
  EXPECT_FALSE(s.find_subscriber("alice", "a.example", false, &out));
  s.begin_fill();
  std::string why;
  ASSERT_TRUE(
      s.add({"alice", "a.example", "", std::string(32, 'a'), std::string(64, 'b'), ""}, &why));
  ASSERT_TRUE(s.add({"alice", "b.example", "", std::string(32, 'c'), "", ""}, &why));
  EXPECT_FALSE(s.add({"bob", "a.example", "", "", "", ""}, &why));  // full
  EXPECT_NE(why.find("full"), std::string::npos);
  EXPECT_EQ(s.publish(), 2u);
  ASSERT_TRUE(s.find_subscriber("alice", "b.example", true, &out));
  EXPECT_EQ(out.ha1_md5, std::string(32, 'c'));
  EXPECT_TRUE(out.ha1_sha256.empty());
  ASSERT_TRUE(s.find_subscriber("alice", "a.example", true, &out));
  EXPECT_EQ(out.ha1_sha256, std::string(64, 'b'));
  EXPECT_FALSE(s.find_subscriber("alice", "c.example", true, &out));
  EXPECT_TRUE(s.find_subscriber("alice", "c.example", false, &out));
  // A reload replaces the rows.
  s.begin_fill();
  ASSERT_TRUE(s.add({"carol", "a.example", "", std::string(32, 'd'), "", ""}, &why));
  EXPECT_EQ(s.publish(), 1u);
  EXPECT_FALSE(s.find_subscriber("alice", "a.example", false, &out));
  EXPECT_TRUE(s.find_subscriber("carol", "a.example", false, &out));
}

TEST(AuthShared, SecretMustBe32Chars) {
  EXPECT_FALSE(AuthShared::create({}, "short").ok());
}

}  // namespace
}  // namespace sipsd::auth
