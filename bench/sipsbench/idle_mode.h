// Idle mode: what one idle connection costs the server. Opens --connections connections
// (--conns handshakes at a time, bound in turn to --sources loopback addresses), keeps each
// alive with CRLFCRLF pings (RFC 5626) every --ping-interval, holds them for --duration, then
// samples the server's memory again and asks --check of them for an OPTIONS.
//
//   baseline memory ─► connect phase (≤ --connect-limit) ─► hold (--duration) ─► await pongs (≤
//   --timeout)
//     ─► memory after ─► check (≤ --timeout) ─► close all
//
// With --register a connection, once its handshake is done, registers one subscriber
// (REGISTER -> 401 -> REGISTER with Authorization -> 200, within --timeout) before it counts as
// established and starts pinging: the idle phones of a registrar.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include "bench/sipsbench/cpu_usage.h"
#include "bench/sipsbench/latency_histogram.h"
#include "bench/sipsbench/options.h"
#include "bench/sipsbench/proc_memory.h"
#include "core/base/result.h"

namespace sipsd::bench {

// Attempts per connection before it counts as failed; every failed attempt is an error.
inline constexpr int kIdleMaxAttempts = 3;

// CPU (CpuFigures) over the whole run: baseline sample to after sample.
struct IdleResult : CpuFigures {
  // Connections.
  uint64_t requested = 0;
  uint64_t established = 0;       // completed the handshake (on some attempt)
  uint64_t failed = 0;            // never did: attempts exhausted or the connect phase ended
  uint64_t connect_failed = 0;    // failed attempts: TCP connect refused or timed out
  uint64_t handshake_failed = 0;  // failed attempts: TLS handshake failed or timed out
  uint64_t closed = 0;            // established, then closed by the server before the end
  uint64_t open_at_after = 0;     // open when the "after" memory sample was taken
  // --register: registrations answered 2xx, and those that failed (the connection then counts
  // as failed and is closed).
  uint64_t registered = 0;
  uint64_t register_failed = 0;
  uint64_t register_challenges = 0;
  // Keep-alives (whole run).
  uint64_t pings_sent = 0;
  uint64_t pongs_received = 0;
  uint64_t unsolicited = 0;  // pongs with no ping outstanding, or bytes that are not CRLF
  // The check at the end.
  uint64_t checked = 0;
  uint64_t check_ok = 0;  // answered 200
  std::string first_check_error;

  LatencyHistogram handshake;     // connect start → handshake done (per successful attempt)
  LatencyHistogram pong;          // ping written → pong read
  LatencyHistogram registration;  // --register: first REGISTER written → its 200 read
  std::string first_error;

  double connect_s = 0;  // length of the connect phase
  double hold_s = 0;     // hold actually run after it
  bool interrupted = false;

  // Server memory (with --server-pid).
  bool have_memory = false;
  TreeMemory before;
  TreeMemory after;
  std::string memory_error;

  uint64_t errors() const { return connect_failed + handshake_failed + closed + unsolicited; }
  // (after - before) / connections open at the after sample; 0 when unknown.
  double rss_per_conn_bytes() const;
  double pss_per_conn_bytes() const;
  void note_error(const std::string& what) {
    if (first_error.empty()) first_error = what;
  }
};

// Runs in the calling thread. `interrupted` (set by a signal handler) ends the run early; what
// was measured so far is reported.
Result<IdleResult> run_idle(const Options& options, const std::atomic<bool>& interrupted);

}  // namespace sipsd::bench
