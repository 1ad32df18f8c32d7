// Ramp mode: open-loop offered load in steps. The coordinator (the calling thread) starts
// --workers RampWorkers, waits for their connections, runs an unreported warm-up step, then
// one step per rate of ramp_rates(): orders it, waits until every worker has its replies in,
// merges the workers' figures, and stops after the first step that did not keep up.
#pragma once

#include <atomic>
#include <optional>
#include <string>
#include <vector>

#include "bench/sipsbench/cpu_usage.h"
#include "bench/sipsbench/options.h"
#include "bench/sipsbench/ramp_worker.h"
#include "bench/sipsbench/run_stats.h"
#include "core/base/result.h"

namespace sipsd::bench {

// A step keeps up when it achieves at least this fraction of its offered rate (and has no
// errors, no skipped requests and its p99 within --p99-cap).
inline constexpr double kKeptUpFraction = 0.9;

struct RampStep {
  double offered = 0;     // req/s
  double duration_s = 0;  // the sending window
  StepStats stats;        // merged over the workers
  bool kept_up = false;
  std::string verdict;  // why not, or "ok"
  bool have_server_cpu = false;
  double server_cpu_s = 0;  // over the sending window

  double achieved() const {
    return duration_s > 0 ? static_cast<double>(stats.replies_in_window) / duration_s : 0.0;
  }
};

// CPU (CpuFigures): sums over the reported steps' sending windows.
struct RampResult : CpuFigures {
  std::vector<RampStep> steps;  // reported steps, in order (the warm-up is not one)
  RunStats totals;              // the whole run, warm-up included
  int connected = 0;            // connections ready when the first step started
  bool interrupted = false;
  std::string stop_reason;  // why the ramp ended

  // The lowest offered rate from which p99 stays over `ms` for every later step: the first
  // step of the final run of steps over it (an earlier blip does not count). None when the
  // last step is not over it. A step with no reply has no p99 and is not over it.
  std::optional<double> p99_stays_over_from(double ms) const;
  // The highest achieved rate among the steps that kept up; 0 if none did.
  double max_sustained() const;
  uint64_t replies() const;
};

Result<RampResult> run_ramp(const Options& options, const std::atomic<bool>& interrupted);

}  // namespace sipsd::bench
