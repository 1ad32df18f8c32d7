// Via branches of sipsd's own requests: stateful ones carry the owner, the transaction and the
// branch and decode back; anything else is not ours; stateless ones are stable per key.
#include "core/tm/branch_id.h"

#include <gtest/gtest.h>

namespace sipsd::tm {
namespace {

TEST(BranchId, RoundTrip) {
  BranchId id{7, 0x1f0a2b3c00000012ull, 3};
  std::string b = encode_branch(id);
  EXPECT_EQ(b, "z9hG4bK-sd7.1f0a2b3c00000012.3");
  auto back = decode_branch(b);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->owner, 7);
  EXPECT_EQ(back->transaction, 0x1f0a2b3c00000012ull);
  EXPECT_EQ(back->branch, 3);
  EXPECT_EQ(decode_branch(encode_branch({65535, ~0ull, 255}))->owner, 65535);
}

TEST(BranchId, ForeignAndMalformedBranchesAreNotOurs) {
  for (const char* b :
       {"", "z9hG4bK", "z9hG4bK776asdhds", "z9hG4bK-sd", "z9hG4bK-sd1.2", "z9hG4bK-sd1..0",
        "z9hG4bK-sd0.5.0", "z9hG4bK-sdx.5.0", "z9hG4bK-sd1.5.x", "z9hG4bK-sd1.5.100",
        "z9hG4bK-sd1.11111111111111111.0", "z9hG4bK-sd10000.5.0", "Z9HG4BK-sd1.5.0",
        "z9hG4bK-sl1234",
        // one number, one spelling: no leading zero, no upper case
        "z9hG4bK-sd1.05.0", "z9hG4bK-sd01.5.0", "z9hG4bK-sd1.5.00", "z9hG4bK-sd1.A.0"})
    EXPECT_FALSE(decode_branch(b).has_value()) << b;
}

TEST(BranchId, StatelessBranchIsStablePerKey) {
  std::string a = stateless_branch("z9hG4bKabc");
  EXPECT_EQ(a, stateless_branch("z9hG4bKabc"));
  EXPECT_NE(a, stateless_branch("z9hG4bKabd"));
  EXPECT_TRUE(a.starts_with("z9hG4bK-sl"));
  EXPECT_FALSE(decode_branch(a).has_value());
}

}  // namespace
}  // namespace sipsd::tm
