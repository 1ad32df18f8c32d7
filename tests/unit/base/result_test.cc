#include "core/base/result.h"

#include <gtest/gtest.h>

namespace sipsd {
namespace {

TEST(Result, HoldsValueOrError) {
  Result<int> good(7);
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(*good, 7);
  Result<int> bad(make_error("nope"));
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.message(), "nope");
}

TEST(Strprintf, FormatsLongStrings) {
  std::string big(1000, 'x');
  EXPECT_EQ(strprintf("%s-%d", big.c_str(), 5), big + "-5");
}

}  // namespace
}  // namespace sipsd
