// The connection table under concurrency: its per-slot seqlock (a reader never returns a
// half-written entry), its allocation word (a slot is never handed out twice), and the cleanup
// after a dead worker. Threads stand in for processes: each has its own ConnTable view of the
// same shared slots, as each process has. Every loop is bounded.
#include "core/shm/conn_table.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <memory>
#include <thread>
#include <vector>

#include "core/shm/shm_region.h"

namespace sipsd {
namespace {

std::unique_ptr<ShmRegion> make_region(uint32_t conns) {
  ShmRegion::Layout layout;
  layout.max_procs = 4;
  layout.conn_capacity = conns;
  layout.tls_slot_size = 4096;
  auto r = ShmRegion::create(layout);
  EXPECT_TRUE(r.ok()) << r.message();
  return r.ok() ? std::move(r).value() : nullptr;
}

// A record whose every byte is `b`: self-consistent, and any mix of two of them shows.
ConnInfo uniform(unsigned char b) {
  ConnInfo i;
  memset(static_cast<void*>(&i), b, sizeof i);
  return i;
}

// 0 when the copy is torn (bytes of both records), else the byte it is made of.
unsigned char uniform_byte(const ConnInfo& i) {
  const auto* p = reinterpret_cast<const unsigned char*>(&i);
  for (size_t k = 1; k < sizeof i; ++k)
    if (p[k] != p[0]) return 0;
  return p[0];
}

TEST(ConnTableSeqlock, ReadersNeverSeeAHalfWrittenEntry) {
  auto shm = make_region(4);
  ASSERT_TRUE(shm);
  const ConnInfo a = uniform(0x11), b = uniform(0xEE);
  ConnTable writer_view = shm->conn_table();
  auto slot = writer_view.allocate(a);
  ASSERT_TRUE(slot.has_value());
  // Established before any reader looks (allocate() leaves it handed off).
  writer_view.update(*slot, a, ConnState::kEstablished);

  std::atomic<bool> stop{false};
  std::thread writer([&] {
    // The owner rewrites its entry, alternating between the two records, until the readers
    // have seen enough (or a cap, so the test ends whatever the scheduler does).
    for (long n = 0; n < 50'000'000 && !stop.load(std::memory_order_relaxed); ++n)
      writer_view.update(*slot, (n & 1) ? b : a, ConnState::kEstablished);
  });
  struct Seen {
    long reads = 0, torn = 0, changes = 0, missed = 0;
  };
  auto reader = [&](Seen* seen) {
    ConnTable view = shm->conn_table();
    unsigned char last = 0;
    for (long n = 0; n < 5'000'000 && (seen->reads < 200'000 || seen->changes < 100); ++n) {
      ConnState state;
      std::optional<ConnInfo> got = view.read(*slot, &state);
      if (!got) {  // gave up retrying while the writer was busy: allowed, never a torn copy
        ++seen->missed;
        continue;
      }
      ++seen->reads;
      unsigned char byte = uniform_byte(*got);
      if (byte == 0) {
        ++seen->torn;
        continue;
      }
      EXPECT_TRUE(byte == 0x11 || byte == 0xEE);
      EXPECT_EQ(state, ConnState::kEstablished);
      if (last != 0 && byte != last) ++seen->changes;
      last = byte;
    }
  };
  Seen r1, r2;
  std::thread reader1(reader, &r1);
  std::thread reader2(reader, &r2);
  reader1.join();
  reader2.join();
  stop = true;
  writer.join();

  EXPECT_EQ(r1.torn + r2.torn, 0) << "torn reads out of " << r1.reads + r2.reads;
  // The readers really ran against the writer: they saw the entry change under them.
  EXPECT_GT(r1.changes + r2.changes, 0) << "no overlap between the writer and the readers";
  EXPECT_GT(r1.reads, 0);
  EXPECT_GT(r2.reads, 0);
}

TEST(ConnTableAllocation, ConcurrentAllocateNeverHandsOutASlotTwice) {
  // Few slots, more would-be owners than slots, everyone starting at once from slot 0: the
  // threads keep colliding on the same free slot.
  constexpr uint32_t kCapacity = 4;
  constexpr int kThreads = 4;
  constexpr int kRounds = 1'000'000;
  auto shm = make_region(kCapacity);
  ASSERT_TRUE(shm);
  // How many threads hold each slot right now: never more than one.
  std::vector<std::atomic<int>> holders(kCapacity);
  std::atomic<long> doubles{0}, overwritten{0}, allocated{0}, full{0};
  std::atomic<int> ready{0};

  auto run = [&](int t) {
    ConnTable view = shm->conn_table();  // this "process's" view (its own scan cursor)
    ready.fetch_add(1);
    for (int spin = 0; spin < 100'000'000 && ready.load() < kThreads; ++spin) {
    }
    uint32_t mine[2];
    for (int round = 0; round < kRounds; ++round) {
      int held = 0;
      for (int k = 0; k < 2; ++k) {  // 4 threads x 2 > 4 slots: the table fills up at times
        ConnInfo info;
        info.id = static_cast<uint32_t>(t << 28 | round << 1 | k);
        info.owner = t + 1;
        std::optional<uint32_t> s = view.allocate(info);
        if (!s) {
          ++full;
          break;
        }
        ++allocated;
        if (holders[*s].fetch_add(1) != 0) ++doubles;
        mine[held++] = *s;
        // Nobody else may have written our entry.
        std::optional<ConnInfo> back = view.read(*s);
        if (!back || back->id != info.id || back->owner != info.owner) ++overwritten;
      }
      for (int k = 0; k < held; ++k) {
        holders[mine[k]].fetch_sub(1);
        view.release(mine[k]);
      }
    }
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) threads.emplace_back(run, t);
  for (auto& th : threads) th.join();

  EXPECT_EQ(doubles.load(), 0) << "a slot was handed to two owners at once";
  EXPECT_EQ(overwritten.load(), 0) << "an owner's entry was written by someone else";
  // The threads did collide for real (the table is full at times, so not every try succeeds:
  // at least one allocation per round of each thread is not guaranteed).
  EXPECT_GT(allocated.load(), kRounds);
  EXPECT_GT(full.load(), 0);
  EXPECT_EQ(shm->conn_table().count_in_use(), 0u);
}

TEST(ConnTableAllocation, ReleaseOwnedByFreesOnlyTheDeadWorkersLiveSlots) {
  auto shm = make_region(8);
  ASSERT_TRUE(shm);
  ConnTable t = shm->conn_table();
  auto with = [](uint32_t id, int owner) {
    ConnInfo i;
    i.id = id;
    i.owner = owner;
    return i;
  };
  // Worker 2 had a connection that closed normally: its free slot still holds owner 2.
  auto closed = t.allocate(with(1, 2));
  ASSERT_TRUE(closed);
  t.release(*closed);
  auto a = t.allocate(with(10, 1));
  auto b = t.allocate(with(20, 2));
  auto c = t.allocate(with(21, 2));
  auto d = t.allocate(with(30, 3));
  ASSERT_TRUE(a && b && c && d);
  t.update(*c, with(21, 2), ConnState::kEstablished);

  EXPECT_EQ(t.release_owned_by(2), 2u) << "counts only live slots";
  EXPECT_FALSE(t.read(*b).has_value());
  EXPECT_FALSE(t.read(*c).has_value());
  auto still_a = t.read(*a);
  auto still_d = t.read(*d);
  ASSERT_TRUE(still_a && still_d);
  EXPECT_EQ(still_a->id, 10u);
  EXPECT_EQ(still_d->id, 30u);
  EXPECT_EQ(t.count_in_use(), 2u);
  EXPECT_EQ(t.release_owned_by(2), 0u) << "a second cleanup finds nothing";
  EXPECT_EQ(t.release_owned_by(4), 0u);
  // The freed slots are usable again: the table holds 8.
  for (int i = 0; i < 6; ++i) EXPECT_TRUE(t.allocate(with(40 + i, 1)).has_value()) << i;
  EXPECT_FALSE(t.allocate(with(99, 1)).has_value());
}

}  // namespace
}  // namespace sipsd
