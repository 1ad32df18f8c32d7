// Call mode: SIP calls through a proxy, both ends played by sipsbench (call_worker.h). The
// coordinator (the calling thread) starts --workers CallWorkers, waits (at most --timeout and
// a second) for the callers' connections and the callees, publishes the callee URIs and the
// time plan, samples the server's CPU at both ends of the measured period, waits until every
// worker has drained its calls (at most --hold + 2 x --timeout after the period), stops them
// and merges their figures.
#pragma once

#include <atomic>
#include <string>

#include "bench/sipsbench/call_stats.h"
#include "bench/sipsbench/cpu_usage.h"
#include "bench/sipsbench/options.h"
#include "core/base/result.h"

namespace sipsd::bench {

// CPU (CpuFigures) over the measured period.
struct CallResult : CpuFigures {
  CallStats stats;
  double measured_s = 0;
  bool interrupted = false;
  int callers_ready = 0;  // connections open when the load started
  int callees_ready = 0;
  std::string callee_error;  // the first callee that failed, and why
  std::string stop_reason;   // when the load never started

  double calls_per_s() const;
  double calls_per_server_cpu() const;
  double server_cpu_per_call_us() const;
};

Result<CallResult> run_call(const Options& options, const std::atomic<bool>& interrupted);

}  // namespace sipsd::bench
