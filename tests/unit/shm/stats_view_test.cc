// StatsView: the statistics the management interface shows, from the per-process counters in
// a real shared-memory region: sums over processes, a dead worker's counts kept, selectors,
// reset semantics and the load: figures.
#include "core/shm/stats_view.h"

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace sipsd {
namespace {

constexpr int64_t kStarted = 1'000'000;

class StatsViewTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ShmRegion::Layout layout;
    layout.max_procs = 3;  // supervisor + 2 workers
    layout.conn_capacity = 4;
    layout.tls_slot_size = 4096;
    auto shm = ShmRegion::create(layout);
    ASSERT_TRUE(shm.ok()) << shm.message();
    shm_ = std::move(shm).value();
    view_ = std::make_unique<StatsView>(*shm_, kStarted);
  }

  void count(int proc, Stat s, uint64_t n) { shm_->proc(proc).stats.add(s, n); }
  // name -> value of all(), checking each name appears once.
  std::map<std::string, uint64_t> all(int64_t now = kStarted) {
    std::map<std::string, uint64_t> m;
    for (const StatEntry& e : view_->all(now))
      EXPECT_TRUE(m.emplace(e.name, e.value).second) << e.name << " listed twice";
    return m;
  }
  uint64_t value(const std::string& name, int64_t now = kStarted) {
    auto m = all(now);
    auto it = m.find(name);
    EXPECT_NE(it, m.end()) << name;
    return it == m.end() ? ~uint64_t{0} : it->second;
  }
  std::vector<std::string> names(const std::vector<std::string>& selectors) {
    std::vector<std::string> out;
    for (const StatEntry& e : view_->select(selectors, kStarted)) out.push_back(e.name);
    return out;
  }

  std::unique_ptr<ShmRegion> shm_;
  std::unique_ptr<StatsView> view_;
};

TEST_F(StatsViewTest, SumsEveryCounterOverTheProcesses) {
  count(1, Stat::kRcvRequests, 3);
  count(2, Stat::kRcvRequests, 4);
  count(0, Stat::kWorkerRespawns, 1);
  count(0, tstat(Proto::kTls, TStat::kConnsAccepted), 9);
  count(1, tstat(Proto::kTls, TStat::kConnsHandled), 5);
  count(2, tstat(Proto::kTls, TStat::kConnsHandled), 4);
  count(1, tstat(Proto::kTls, TStat::kConnsClosed), 2);
  count(1, tstat(Proto::kTcp, TStat::kQueuedBytes), 100);
  count(2, tstat(Proto::kTls, TStat::kQueuedBytes), 30);
  auto m = all(kStarted + 12'345);
  EXPECT_EQ(m["core:rcv_requests"], 7u);
  EXPECT_EQ(m["core:worker_respawns"], 1u);
  EXPECT_EQ(m["tls:conns_accepted"], 9u);
  EXPECT_EQ(m["tls:conns_handled"], 9u);
  EXPECT_EQ(m["tls:conns_open"], 7u);  // handled - closed
  EXPECT_EQ(m["tcp:conns_open"], 0u);
  EXPECT_EQ(m["net:waiting_tcp"], 100u);
  EXPECT_EQ(m["net:waiting_tls"], 30u);
  EXPECT_EQ(m["core:timestamp"], 12u);  // seconds since the start
  EXPECT_EQ(m["core:fwd_requests"], 0u);
  EXPECT_EQ(m["load:processes_number"], 3u);
  EXPECT_EQ(m.count("tcp:handshakes_ok"), 0u) << "TLS-only statistics stay out of tcp:";
  EXPECT_EQ(m.count("tls:queued_bytes"), 0u) << "shown as net:waiting_tls";
  EXPECT_EQ(m.count(":busy_us"), 0u);
  // shmem: the region, and the connection slots in use.
  EXPECT_EQ(m["shmem:total_size"], shm_->size());
  uint64_t used = m["shmem:used_size"];
  EXPECT_EQ(used + m["shmem:free_size"], shm_->size());
  ASSERT_TRUE(shm_->conn_table().allocate(ConnInfo{}).has_value());
  EXPECT_EQ(value("shmem:used_size"), used + shm_->header().conn_slot_size);
}

TEST_F(StatsViewTest, RetireKeepsADeadWorkersCountersButNotItsGauges) {
  count(1, Stat::kRcvRequests, 5);
  count(2, Stat::kRcvRequests, 1);
  count(1, Stat::kDnsPending, 3);  // a gauge: what the dead worker was waiting for is gone
  view_->retire(1);
  shm_->proc(1).stats.reset();  // the replacement starts from 0 (WorkerPool's respawn)
  EXPECT_EQ(value("core:rcv_requests"), 6u);
  EXPECT_EQ(value("dns:pending"), 0u);
  count(1, Stat::kRcvRequests, 2);  // the new worker counts on top
  EXPECT_EQ(value("core:rcv_requests"), 8u);
  // A second death of the same slot adds again.
  view_->retire(1);
  shm_->proc(1).stats.reset();
  EXPECT_EQ(value("core:rcv_requests"), 8u);
}

// conns_open is a gauge: a dead worker's open connections leave it at once (the supervisor
// zeroes the slot after retire), and reset_all_statistics never moves it.
TEST_F(StatsViewTest, ConnsOpenIsRightAfterADeadWorkerAndAfterAReset) {
  count(1, tstat(Proto::kTls, TStat::kConnsHandled), 5);
  count(2, tstat(Proto::kTls, TStat::kConnsHandled), 4);
  count(2, tstat(Proto::kTls, TStat::kConnsClosed), 1);
  count(1, tstat(Proto::kTls, TStat::kQueuedBytes), 70);
  EXPECT_EQ(value("tls:conns_open"), 8u);
  view_->retire(1);  // worker 1 killed with its 5 connections
  shm_->proc(1).stats.reset();
  EXPECT_EQ(value("tls:conns_open"), 3u);
  EXPECT_EQ(value("tls:conns_handled"), 9u) << "counters keep what the dead worker counted";
  EXPECT_EQ(value("net:waiting_tls"), 0u);
  count(1, tstat(Proto::kTls, TStat::kConnsHandled), 2);  // the replacement takes two
  EXPECT_EQ(value("tls:conns_open"), 5u);
  view_->reset_all(kStarted);
  EXPECT_EQ(value("tls:conns_handled"), 0u);
  EXPECT_EQ(value("tls:conns_open"), 5u) << "reset_all_statistics moved a gauge";
  EXPECT_FALSE(view_->reset({"tls:conns_open"}, kStarted));
  count(2, tstat(Proto::kTls, TStat::kConnsClosed), 3);  // all of worker 2's close
  EXPECT_EQ(value("tls:conns_open"), 2u);
  count(1, tstat(Proto::kTls, TStat::kConnsClosed), 2);
  EXPECT_EQ(value("tls:conns_open"), 0u);
}

TEST_F(StatsViewTest, StalledWorkersAreCountedFromTheirSlots) {
  EXPECT_EQ(value("load:stalled_workers"), 0u);
  shm_->proc(2).stalled.store(1);
  count(0, Stat::kWorkerStalls, 1);
  EXPECT_EQ(value("load:stalled_workers"), 1u);
  EXPECT_EQ(value("core:worker_stalls"), 1u);
}

TEST_F(StatsViewTest, SelectorsAllGroupNameAndQualifiedName) {
  EXPECT_EQ(view_->select({"all"}, kStarted).size(), view_->all(kStarted).size());
  EXPECT_EQ(view_->select({"ALL"}, kStarted).size(), view_->all(kStarted).size());
  std::vector<std::string> dns = names({"dns:"});
  EXPECT_EQ(dns, (std::vector<std::string>{"dns:queries", "dns:cache_hits", "dns:failures",
                                           "dns:pending", "dns:pending_limit_hits"}));
  // A bare name: case-insensitive, the first group that has it (tcp: before tls:).
  EXPECT_EQ(names({"Conns_Accepted"}), std::vector<std::string>{"tcp:conns_accepted"});
  EXPECT_EQ(names({"tls:conns_accepted"}), std::vector<std::string>{"tls:conns_accepted"});
  EXPECT_EQ(names({"TLS:CONNS_ACCEPTED"}), std::vector<std::string>{"tls:conns_accepted"});
  // Each statistic once, in the order asked; unknown selectors skipped.
  EXPECT_EQ(names({"sent_replies", "nosuch", "core:rcv_requests", "sl:sent_replies", "sl:"}),
            (std::vector<std::string>{"sl:sent_replies", "core:rcv_requests", "sl:sent_err_replies",
                                      "sl:1xx_replies", "sl:2xx_replies", "sl:3xx_replies",
                                      "sl:4xx_replies", "sl:5xx_replies", "sl:6xx_replies",
                                      "sl:received_ACKs"}));
  EXPECT_TRUE(names({"nosuch", "nogroup:", "rcv", "core:rcv_requests:"}).empty());
  // "group:" matches the group, not a prefix of a group's name.
  EXPECT_TRUE(names({"tl:"}).empty());
}

TEST_F(StatsViewTest, ResetMovesTheBaselineOfCountersOnly) {
  count(1, Stat::kRcvRequests, 10);
  count(2, Stat::kSlSentReplies, 4);
  count(2, Stat::kDnsPending, 2);
  count(1, tstat(Proto::kTcp, TStat::kQueuedBytes), 50);

  EXPECT_TRUE(view_->reset({"RCV_REQUESTS"}, kStarted));
  EXPECT_EQ(value("core:rcv_requests"), 0u);
  EXPECT_EQ(value("sl:sent_replies"), 4u);
  count(2, Stat::kRcvRequests, 3);
  EXPECT_EQ(value("core:rcv_requests"), 3u) << "counting goes on from the reset";
  EXPECT_EQ(shm_->proc(1).stats.get(Stat::kRcvRequests), 10u) << "a process's own slot changed";

  // Not resettable: gauges, computed values, groups, unknown names. Nothing changes.
  EXPECT_FALSE(view_->reset({"dns:pending"}, kStarted));
  EXPECT_FALSE(view_->reset({"net:waiting_tcp"}, kStarted));
  EXPECT_FALSE(view_->reset({"core:timestamp"}, kStarted));
  EXPECT_FALSE(view_->reset({"sl:"}, kStarted));
  EXPECT_FALSE(view_->reset({"nosuch"}, kStarted));
  EXPECT_EQ(value("sl:sent_replies"), 4u);
  EXPECT_EQ(value("dns:pending"), 2u);
  // Several names: true when one of them was reset.
  EXPECT_TRUE(view_->reset({"nosuch", "sl:sent_replies"}, kStarted));
  EXPECT_EQ(value("sl:sent_replies"), 0u);

  count(2, Stat::kSlSentReplies, 1);
  view_->reset_all(kStarted);
  EXPECT_EQ(value("core:rcv_requests"), 0u);
  EXPECT_EQ(value("sl:sent_replies"), 0u);
  EXPECT_EQ(value("dns:pending"), 2u) << "reset_all touched a gauge";
  EXPECT_EQ(value("net:waiting_tcp"), 50u) << "reset_all touched a gauge";
  count(1, Stat::kRcvRequests, 1);
  EXPECT_EQ(value("core:rcv_requests"), 1u);
}

TEST_F(StatsViewTest, LoadIsBusyTimeOverElapsedTimePerWorker) {
  // No samples yet: the averages read 0 and there is nothing per worker.
  EXPECT_EQ(value("load:load"), 0u);
  EXPECT_EQ(all().count("load:load-proc-1"), 0u);

  view_->sample_load(10'000);        // the first sample only records where the counters are
  count(1, Stat::kBusyUs, 500'000);  // worker 1 busy half of the next second
  count(2, Stat::kBusyUs, 100'000);  // worker 2 a tenth
  count(0, Stat::kBusyUs, 900'000);  // the supervisor is not a worker: not in load:load
  view_->sample_load(11'000);
  auto m = all();
  EXPECT_EQ(m["load:load-proc-1"], 50u);
  EXPECT_EQ(m["load:load-proc-2"], 10u);
  EXPECT_EQ(m.count("load:load-proc-0"), 0u);
  EXPECT_EQ(m["load:load"], 30u);  // the workers' average
  // The 1 and 10 minute averages move towards it slowly: 1 s of 60 s, of 600 s.
  EXPECT_EQ(m["load:load1m-proc-1"], 1u);   // 50 * (1 - e^(-1/60)) = 0.83
  EXPECT_EQ(m["load:load10m-proc-1"], 0u);  // 50 * (1 - e^(-1/600)) = 0.08

  // More busy time than wall time (a late sample) is capped at 100 %.
  count(1, Stat::kBusyUs, 3'000'000);
  view_->sample_load(12'000);
  EXPECT_EQ(value("load:load-proc-1"), 100u);
  EXPECT_EQ(value("load:load-proc-2"), 0u);

  // A respawned worker (counter back to 0) does not make a negative or huge load.
  view_->retire(1);
  shm_->proc(1).stats.reset();
  count(1, Stat::kBusyUs, 200'000);
  view_->sample_load(13'000);
  EXPECT_LE(value("load:load-proc-1"), 100u);
  count(1, Stat::kBusyUs, 250'000);
  view_->sample_load(14'000);
  EXPECT_EQ(value("load:load-proc-1"), 25u);
}

}  // namespace
}  // namespace sipsd
