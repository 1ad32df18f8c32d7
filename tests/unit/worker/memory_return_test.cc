// MemoryReturn: when a worker gives its free heap pages back (malloc_trim) after connections
// closed: only after a drop that matters, at most once a second.
#include "core/worker/memory_return.h"

#include <gtest/gtest.h>

namespace sipsd {
namespace {

TEST(MemoryReturn, TrimsAfterALargeDropAtMostOnceASecond) {
  MemoryReturn m;
  EXPECT_FALSE(m.due(0, 1000));
  EXPECT_FALSE(m.due(2000, 1100));  // growing: nothing to give back
  EXPECT_FALSE(m.due(1900, 1200));  // 100 gone: too few
  EXPECT_TRUE(m.due(1500, 1300));   // 500 gone, a quarter of the peak
  // The peak starts again from what is left; the next drop must be large again, and a second
  // has to pass.
  EXPECT_FALSE(m.due(1400, 1400));
  EXPECT_FALSE(m.due(0, 1500));  // all gone, but within a second of the last trim
  EXPECT_TRUE(m.due(0, 2300));
  EXPECT_FALSE(m.due(0, 9000)) << "nothing closed since the last trim";
}

TEST(MemoryReturn, ASmallShareOfManyConnectionsIsNotWorthIt) {
  MemoryReturn m;
  EXPECT_FALSE(m.due(20000, 1000));
  EXPECT_FALSE(m.due(19000, 5000));  // 1000 gone of 20000: churn, the pages are reused
  EXPECT_TRUE(m.due(14000, 6000));   // over a quarter gone
}

TEST(MemoryReturn, OnTickTrims) {
  MemoryReturn m;
  EXPECT_FALSE(m.on_tick(1000, 1000));
  EXPECT_TRUE(m.on_tick(0, 2000));
}

}  // namespace
}  // namespace sipsd
