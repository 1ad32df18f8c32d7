// Register mode: --users subscribers (PREFIXi@DOMAIN, password --password with {i} -> i) each
// registering with digest authentication (register_worker.h), --concurrent registrations in
// progress (closed loop) or --rate registrations/s (open loop). The coordinator starts
// --workers RegisterWorkers, samples the server's CPU at both ends of the measured period and
// merges their figures.
#pragma once

#include <atomic>

#include "bench/sipsbench/cpu_usage.h"
#include "bench/sipsbench/options.h"
#include "bench/sipsbench/register_worker.h"
#include "core/base/result.h"

namespace sipsd::bench {

struct RegisterResult : CpuFigures {
  RegisterStats stats;
  double measured_s = 0;
  bool interrupted = false;
  int conns_ready = 0;  // connections open when the measured period began

  double registrations_per_s() const;
  double registrations_per_server_cpu() const;
  double server_cpu_per_registration_us() const;
  // Share of REGISTERs answered with a challenge.
  double challenge_share() const;
};

Result<RegisterResult> run_register(const Options& options, const std::atomic<bool>& interrupted);

}  // namespace sipsd::bench
