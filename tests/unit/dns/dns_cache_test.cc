#include "core/dns/dns_cache.h"

#include <gtest/gtest.h>

namespace sipsd::dns {
namespace {

std::shared_ptr<const Answer> answer(Outcome o, uint32_t ttl, bool soa = false,
                                     std::string ip = "10.0.0.1") {
  auto a = std::make_shared<Answer>();
  a->outcome = o;
  a->ttl = ttl;
  a->has_soa = soa;
  if (o == Outcome::kOk) a->addresses = {std::move(ip)};
  return a;
}

const Question kQ{RrType::kA, "a.example"};

TEST(DnsCache, KeepsForTheTtl) {
  DnsCache c(10);
  c.put(kQ, answer(Outcome::kOk, 5), 1000);
  ASSERT_NE(c.find(kQ, 1000), nullptr);
  EXPECT_EQ(c.find(kQ, 5999)->addresses[0], "10.0.0.1");
  EXPECT_EQ(c.find(kQ, 6000), nullptr);  // expired, and dropped
  EXPECT_EQ(c.size(), 0u);
  EXPECT_EQ(c.find({RrType::kAaaa, "a.example"}, 1000), nullptr);  // another type
}

TEST(DnsCache, ZeroTtlAndFailuresAreNotKept) {
  DnsCache c(10);
  c.put(kQ, answer(Outcome::kOk, 0), 0);
  c.put({RrType::kA, "b.example"}, answer(Outcome::kTimeout, 60), 0);
  c.put({RrType::kA, "c.example"}, answer(Outcome::kServFail, 60), 0);
  c.put({RrType::kA, "d.example"}, answer(Outcome::kBadReply, 60), 0);
  EXPECT_EQ(c.size(), 0u);
}

TEST(DnsCache, NegativeAnswersTakeTheSoaOrThirtySeconds) {
  EXPECT_EQ(DnsCache::keep_seconds(*answer(Outcome::kNxDomain, 0)), kDefaultNegativeTtl);
  EXPECT_EQ(DnsCache::keep_seconds(*answer(Outcome::kNoData, 7, true)), 7u);
  EXPECT_EQ(DnsCache::keep_seconds(*answer(Outcome::kNxDomain, 86400, true)), kMaxNegativeTtl);
  EXPECT_EQ(DnsCache::keep_seconds(*answer(Outcome::kOk, 1u << 30)), kMaxPositiveTtl);
  DnsCache c(10);
  c.put(kQ, answer(Outcome::kNxDomain, 0), 0);
  ASSERT_NE(c.find(kQ, 29999), nullptr);
  EXPECT_EQ(c.find(kQ, 29999)->outcome, Outcome::kNxDomain);
  EXPECT_EQ(c.find(kQ, 30000), nullptr);
}

TEST(DnsCache, BoundedOldestGoesFirst) {
  DnsCache c(3);
  for (int i = 0; i < 5; ++i)
    c.put({RrType::kA, "h" + std::to_string(i) + ".example"}, answer(Outcome::kOk, 60), i);
  EXPECT_EQ(c.size(), 3u);
  EXPECT_EQ(c.find({RrType::kA, "h0.example"}, 10), nullptr);
  EXPECT_EQ(c.find({RrType::kA, "h1.example"}, 10), nullptr);
  EXPECT_NE(c.find({RrType::kA, "h2.example"}, 10), nullptr);
  EXPECT_NE(c.find({RrType::kA, "h4.example"}, 10), nullptr);
  // Storing h2 again makes it the newest: h3 is the next to go.
  c.put({RrType::kA, "h2.example"}, answer(Outcome::kOk, 60, false, "10.0.0.2"), 20);
  c.put({RrType::kA, "h5.example"}, answer(Outcome::kOk, 60), 21);
  EXPECT_EQ(c.find({RrType::kA, "h3.example"}, 22), nullptr);
  ASSERT_NE(c.find({RrType::kA, "h2.example"}, 22), nullptr);
  EXPECT_EQ(c.find({RrType::kA, "h2.example"}, 22)->addresses[0], "10.0.0.2");
  EXPECT_EQ(c.size(), 3u);
}

TEST(DnsCache, ZeroEntriesKeepsNothing) {
  DnsCache c(0);
  c.put(kQ, answer(Outcome::kOk, 60), 0);
  EXPECT_EQ(c.find(kQ, 0), nullptr);
}

}  // namespace
}  // namespace sipsd::dns
