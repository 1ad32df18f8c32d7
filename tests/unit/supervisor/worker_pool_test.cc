#include "core/supervisor/worker_pool.h"

#include <gtest/gtest.h>

namespace sipsd {
namespace {

TEST(WorkerPool, PicksTheLeastLoadedReadyWorker) {
  WorkerPool pool(3);
  std::vector<uint64_t> closed(3, 0);
  EXPECT_EQ(pool.pick(closed), -1);  // nobody ready yet
  for (int i = 0; i < 3; ++i) {
    pool.on_spawned(i, 100 + i, 0);
    pool.on_ready(i);
  }
  // Equal loads: round-robin.
  int a = pool.pick(closed);
  pool.on_handed(a);
  int b = pool.pick(closed);
  pool.on_handed(b);
  int c = pool.pick(closed);
  pool.on_handed(c);
  EXPECT_NE(a, b);
  EXPECT_NE(b, c);
  EXPECT_NE(a, c);
  // Worker 1 closes its connection: it is now the least loaded.
  closed[1] = 1;
  EXPECT_EQ(pool.pick(closed), 1);
  EXPECT_EQ(pool.total_open(closed), 2u);
}

TEST(WorkerPool, SpreadsABurstEvenly) {
  WorkerPool pool(4);
  std::vector<uint64_t> closed(4, 0);
  for (int i = 0; i < 4; ++i) {
    pool.on_spawned(i, 10 + i, 0);
    pool.on_ready(i);
  }
  std::vector<int> count(4, 0);
  for (int n = 0; n < 50; ++n) {
    int w = pool.pick(closed);
    ASSERT_GE(w, 0);
    pool.on_handed(w);
    ++count[w];
  }
  for (int i = 0; i < 4; ++i) EXPECT_GE(count[i], 12) << i;
}

TEST(WorkerPool, SkipsWorkersThatAreNotReady) {
  WorkerPool pool(2);
  std::vector<uint64_t> closed(2, 0);
  pool.on_spawned(0, 10, 0);
  pool.on_spawned(1, 11, 0);
  pool.on_ready(1);
  for (int n = 0; n < 5; ++n) EXPECT_EQ(pool.pick(closed), 1);
  EXPECT_FALSE(pool.all_ready());
  pool.on_ready(0);
  EXPECT_TRUE(pool.all_ready());
  EXPECT_EQ(pool.index_of(11), 1);
  EXPECT_EQ(pool.index_of(99), -1);
}

TEST(WorkerPool, RespawnBacksOffOnlyForCrashLoops) {
  WorkerPool pool(1);
  pool.on_spawned(0, 10, 0);
  // Dies long after starting: respawn at once.
  EXPECT_EQ(pool.on_exited(0, 60000), 0);
  // Dies right after starting, repeatedly: the delay grows, capped.
  int64_t now = 100000;
  int64_t last = 0;
  for (int k = 0; k < 12; ++k) {
    pool.on_spawned(0, 20 + k, now);
    int64_t d = pool.on_exited(0, now + 10);
    EXPECT_GE(d, last);
    EXPECT_LE(d, WorkerPool::kMaxRespawnDelayMs);
    last = d;
    now += 20000 + d;
    now -= 20000;  // keep failures fast
  }
  EXPECT_EQ(last, WorkerPool::kMaxRespawnDelayMs);
  // A worker that then lives normally resets the back-off.
  pool.on_spawned(0, 99, now);
  EXPECT_EQ(pool.on_exited(0, now + 60000), 0);
}

TEST(WorkerPool, RespawnedWorkerStartsWithNoLoad) {
  WorkerPool pool(2);
  std::vector<uint64_t> closed(2, 0);
  pool.on_spawned(0, 10, 0);
  pool.on_spawned(1, 11, 0);
  pool.on_ready(0);
  pool.on_ready(1);
  for (int n = 0; n < 10; ++n) pool.on_handed(0);
  pool.on_exited(0, 50000);
  pool.on_spawned(0, 12, 50000);
  pool.on_ready(0);
  closed[0] = 0;  // the new process's counters start at zero
  EXPECT_EQ(pool.load(0, closed[0]), 0u);
}

// tcp_worker_stall_timeout: a worker whose heartbeat is too old gets nothing new until it
// beats again; each change is reported once.
TEST(WorkerPool, StalledWorkerGetsNoNewConnectionsUntilItRecovers) {
  WorkerPool pool(3);
  pool.set_stall_timeout(500);
  std::vector<uint64_t> closed(3, 0);
  for (int i = 0; i < 3; ++i) {
    pool.on_spawned(i, 10 + i, 0);
    pool.on_ready(i);
  }
  using H = WorkerPool::Health;
  // Worker 0 beat last at 1000; at 1400 it is fine, at 1501 it has stalled (reported once).
  EXPECT_EQ(pool.update_health(0, 1000, 1400), H::kUnchanged);
  EXPECT_EQ(pool.update_health(0, 1000, 1501), H::kStalled);
  EXPECT_EQ(pool.update_health(0, 1000, 3000), H::kUnchanged);
  EXPECT_TRUE(pool.stalled(0));
  // The others are busier, yet worker 0 (no connection at all) is passed over.
  for (int n = 0; n < 10; ++n) {
    int w = pool.pick(closed);
    ASSERT_NE(w, 0);
    ASSERT_GE(w, 0);
    pool.on_handed(w);
  }
  EXPECT_EQ(pool.load(0, 0), 0u);
  // Every candidate stalled: a slow worker rather than a dropped connection.
  EXPECT_EQ(pool.update_health(1, 1000, 3000), H::kStalled);
  EXPECT_EQ(pool.update_health(2, 1000, 3000), H::kStalled);
  EXPECT_EQ(pool.pick(closed), 0);
  // It beats again: recovered once, and as the least loaded it takes the next ones.
  EXPECT_EQ(pool.update_health(1, 2990, 3000), H::kRecovered);
  EXPECT_EQ(pool.update_health(2, 2990, 3000), H::kRecovered);
  EXPECT_EQ(pool.update_health(0, 2990, 3000), H::kRecovered);
  EXPECT_EQ(pool.update_health(0, 2990, 3000), H::kUnchanged);
  EXPECT_FALSE(pool.stalled(0));
  EXPECT_EQ(pool.pick(closed), 0);
}

TEST(WorkerPool, StallCheckIgnoresWorkersNotReadyDisabledOrDead) {
  WorkerPool pool(2, 1);  // worker 1 is a UDP worker
  std::vector<uint64_t> closed(2, 0);
  pool.on_spawned(0, 10, 0);
  pool.on_spawned(1, 11, 0);
  pool.on_ready(1);
  // Timeout 0: never stalled.
  EXPECT_EQ(pool.update_health(0, 1, 100000), WorkerPool::Health::kUnchanged);
  pool.set_stall_timeout(100);
  // Not ready yet (still starting), or not a stream worker: not judged.
  EXPECT_EQ(pool.update_health(0, 1, 100000), WorkerPool::Health::kUnchanged);
  EXPECT_EQ(pool.update_health(1, 1, 100000), WorkerPool::Health::kUnchanged);
  pool.on_ready(0);
  EXPECT_EQ(pool.update_health(0, 1, 100000), WorkerPool::Health::kStalled);
  // A stalled worker that dies: its replacement starts healthy, with no load.
  pool.on_handed(0);
  pool.on_exited(0, 200000);
  EXPECT_FALSE(pool.stalled(0));
  EXPECT_EQ(pool.load(0, 0), 0u);
  EXPECT_EQ(pool.total_open(closed), 0u);
}

}  // namespace
}  // namespace sipsd
