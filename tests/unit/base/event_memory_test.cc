// SmallSlotPool: libevent's small records kept together (core/base/event_memory.h).
#include "core/base/event_memory.h"

#include <event2/event.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <set>
#include <vector>

namespace sipsd {
namespace {

TEST(SmallSlotPool, SlotsAreDistinctReusedAndOwned) {
  SmallSlotPool pool;
  std::vector<void*> got;
  std::set<void*> seen;
  // More than one block's worth.
  const size_t n = SmallSlotPool::kBlockSize / SmallSlotPool::kSlotSize + 10;
  for (size_t i = 0; i < n; ++i) {
    void* p = pool.alloc();
    ASSERT_NE(p, nullptr);
    EXPECT_TRUE(seen.insert(p).second) << "slot handed out twice";
    EXPECT_TRUE(pool.owns(p));
    got.push_back(p);
  }
  EXPECT_EQ(pool.blocks(), 2u);
  // Consecutive slots are adjacent: they share pages.
  EXPECT_EQ(static_cast<char*>(got[1]) - static_cast<char*>(got[0]),
            static_cast<ptrdiff_t>(SmallSlotPool::kSlotSize));
  void* heap = std::malloc(16);
  EXPECT_FALSE(pool.owns(heap));
  std::free(heap);
  int on_stack = 0;
  EXPECT_FALSE(pool.owns(&on_stack));
  pool.free(got[5]);
  EXPECT_EQ(pool.alloc(), got[5]) << "a freed slot is reused first";
  for (void* p : got) pool.free(p);
  EXPECT_EQ(pool.blocks(), 2u);
}

// With the routing installed, libevent works as before: events made and freed, a loop run.
TEST(SmallSlotPool, LibeventRunsWithTheRouting) {
  route_libevent_small_allocations();
  struct event_base* base = event_base_new();
  ASSERT_NE(base, nullptr);
  int fired = 0;
  struct event* ev = event_new(
      base, -1, 0, [](evutil_socket_t, short, void* arg) { ++*static_cast<int*>(arg); }, &fired);
  ASSERT_NE(ev, nullptr);
  struct timeval now = {0, 0};
  event_add(ev, &now);
  event_base_loop(base, EVLOOP_ONCE);
  EXPECT_EQ(fired, 1);
  event_free(ev);
  event_base_free(base);
}

}  // namespace
}  // namespace sipsd
