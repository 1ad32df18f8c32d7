// Storm mode: what a network blip costs. --connections idle TLS phones, spread over --procs
// client processes (each under 20,000 descriptors) and --sources loopback addresses, connect
// (--conns handshakes at a time per process), answer an OPTIONS and keep their session. Then,
// at one instant, every connection drops (RST, no close_notify) and reconnects at once offering
// its session, and sends an OPTIONS:
//
//   setup (≤ 120 s) ─► server CPU sample ─► GO: drop all, reconnect all ─► every OPTIONS
//     answered (or failed) ─► server CPU sample ─► close all
//
// Reported: the time from the drop until the last connection is answered, p50/p99 per
// connection (drop to its 200), the share of reconnections that resumed, failures, and the
// server's CPU seconds over the storm (with --server-pid).
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include "bench/sipsbench/cpu_usage.h"
#include "bench/sipsbench/options.h"
#include "core/base/result.h"

namespace sipsd::bench {

// The setup phase never lasts longer than this, nor does the storm.
inline constexpr double kStormSetupLimitS = 120;
inline constexpr double kStormLimitS = 120;
// Attempts per reconnection (and per setup connection), each bounded by --timeout.
inline constexpr int kStormMaxAttempts = 3;

struct StormResult : CpuFigures {
  uint64_t requested = 0;
  uint64_t set_up = 0;        // connected and answered before the storm
  uint64_t setup_failed = 0;  // never did: they take no part in the storm
  uint64_t with_ticket = 0;   // set up with a resumable session to offer
  uint64_t reconnected = 0;   // answered 200 again after the drop
  uint64_t failed = 0;        // did not (attempts exhausted)
  uint64_t resumed = 0;       // reconnections that resumed their session
  uint64_t retries = 0;       // failed attempts during the storm that were retried
  double setup_s = 0;
  double storm_s = 0;  // drop → the last reconnection answered (or failed)
  double p50_ms = 0, p90_ms = 0, p99_ms = 0, max_ms = 0;  // per connection, drop → its 200
  int procs = 0;
  std::string first_error;
  bool interrupted = false;

  double resumed_share() const {
    return reconnected == 0 ? 0 : static_cast<double>(resumed) / static_cast<double>(reconnected);
  }
};

Result<StormResult> run_storm(const Options& options, const std::atomic<bool>& interrupted);

void print_storm_summary(FILE* out, const Options& options, const StormResult& result);
std::string render_storm_json(const Options& options, const StormResult& result);

}  // namespace sipsd::bench
