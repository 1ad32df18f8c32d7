// Statistics as the management interface shows them (OpenSIPS get_statistics and friends):
// every counter summed over the processes, minus what reset_statistics took away, plus the
// computed ones (load:, net:, shmem:, conns_open, core:timestamp). Lives in the supervisor;
// only reads the counters in shared memory, never writes another process's.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/shm/shm_region.h"

namespace sipsd {

struct StatEntry {
  std::string name;  // "group:name"
  uint64_t value = 0;
  bool incremental = true;  // a counter reset_statistics can reset
};

class StatsView {
 public:
  StatsView(const ShmRegion& shm, int64_t started_ms) : shm_(shm), started_ms_(started_ms) {}

  // Every statistic, group by group.
  std::vector<StatEntry> all(int64_t now_ms) const;
  // OpenSIPS selectors: "all", "group:" (a whole group), a bare name (case-insensitive, first
  // match across groups), and also "group:name". Unmatched selectors are skipped; each
  // statistic appears once.
  std::vector<StatEntry> select(const std::vector<std::string>& selectors, int64_t now_ms) const;
  // reset_statistics: names (bare or group:name; not whole groups, as OpenSIPS). False when
  // none matched an incremental statistic.
  bool reset(const std::vector<std::string>& names, int64_t now_ms);
  void reset_all(int64_t now_ms);

  // A worker is gone: keep what it counted. The caller then zeroes its slot, so its gauges
  // (and the connections it had open) stop counting at once, before any replacement starts.
  void retire(int proc_index);
  // Once a second: worker busy time -> load (percent of one core), with 1 and 10 minute
  // averages.
  void sample_load(int64_t now_ms);

 private:
  uint64_t counter(Stat s) const;  // summed + retired - baseline
  uint64_t live(Stat s) const;     // summed over the processes' slots as they are now

  const ShmRegion& shm_;
  int64_t started_ms_;
  std::vector<uint64_t> retired_ = std::vector<uint64_t>(kStatCount, 0);
  std::vector<uint64_t> baseline_ = std::vector<uint64_t>(kStatCount, 0);
  struct Load {
    uint64_t last_busy_us = 0;
    double now = 0, avg1m = 0, avg10m = 0;
  };
  std::vector<Load> load_;  // per process index
  int64_t last_sample_ms_ = 0;
};

}  // namespace sipsd
