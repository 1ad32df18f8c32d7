// run_benchmark: one run of the chosen mode. Splits --conns over --workers threads (one event
// loop each), keeps time (warm-up, measured period, drain), samples CPU at both ends of the
// measured period, prints progress once a second on a terminal, and merges the workers' stats.
#pragma once

#include <atomic>
#include <string>

#include "bench/sipsbench/cpu_usage.h"
#include "bench/sipsbench/options.h"
#include "bench/sipsbench/run_stats.h"
#include "core/base/result.h"

namespace sipsd::bench {

// CPU (CpuFigures) over the measured period.
struct RunResult : CpuFigures {
  RunStats stats;
  double measured_s = 0;     // length of the measured period actually run
  bool interrupted = false;  // SIGINT/SIGTERM cut the run short

  // Successful requests (throughput) or connections (handshake) per second / per server-CPU-s.
  uint64_t successes() const;
  double rate() const;
  double rate_per_server_cpu() const;
};

// Raises the soft RLIMIT_NOFILE to the hard limit; an error naming `what` (the option that
// asks for `needed` connections) when they and a margin do not fit under it.
Status raise_fd_limit(int needed, const char* what);

// What a load mode (throughput, handshake, ramp) checks before it starts: the fd limit for
// --conns connections, and that --server-pid (if given) names a live process.
Status prepare_load_run(const Options& options);

// `interrupted` is set from a signal handler; the run then stops early and reports what it has.
Result<RunResult> run_benchmark(const Options& options, const std::atomic<bool>& interrupted);

}  // namespace sipsd::bench
