// What one worker counted during a run (RunStats) and during one ramp step (StepStats), merged
// over workers for the report; the run's time plan (warm-up, measured period, drain) and the
// live counters the progress line reads.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include "bench/sipsbench/clock.h"
#include "bench/sipsbench/latency_histogram.h"

namespace sipsd::bench {

// Absolute CLOCK_MONOTONIC times (ns). Load runs from start to measure_to; replies completing
// in [measure_from, measure_to) are the measured ones; requests still outstanding at
// measure_to may be answered until stop, then every worker has closed its connections.
struct RunPlan {
  int64_t start = 0;
  int64_t measure_from = 0;
  int64_t measure_to = 0;
  int64_t stop = 0;
  int64_t timeout = 0;  // a request's / a connection attempt's time limit (ns)
  bool measured(int64_t t) const { return t >= measure_from && t < measure_to; }
};

// Read by the main thread for the progress line while the worker runs.
struct LiveCounters {
  std::atomic<uint64_t> done{0};    // final replies (throughput) or completed connections
  std::atomic<uint64_t> errors{0};  // RunStats::errors()
};

// The errors both RunStats and StepStats count, and the first one seen (for the report).
struct ErrorCounts {
  uint64_t timeouts = 0;          // no final reply within --timeout
  uint64_t mismatched = 0;        // our Call-ID, but CSeq number or method differ
  uint64_t unexpected = 0;        // a reply to no outstanding request of this connection
  uint64_t bad_replies = 0;       // unparsable reply or stream framing error
  uint64_t connect_failed = 0;    // TCP connect refused or timed out
  uint64_t handshake_failed = 0;  // TLS handshake failed or timed out
  uint64_t closed = 0;            // connection closed by the server or broken
  uint64_t lost = 0;              // requests outstanding on a connection that broke
  std::string first_error;

  uint64_t errors() const {
    return timeouts + mismatched + unexpected + bad_replies + connect_failed + handshake_failed +
           closed + lost;
  }
  void note_error(const std::string& what) {
    if (first_error.empty()) first_error = what;
  }
  // ++counter and note_error(why).
  void count(uint64_t ErrorCounts::*counter, const std::string& why) {
    ++(this->*counter);
    note_error(why);
  }
  void merge(const ErrorCounts& o);
};

// Errors (ErrorCounts) are counted over the whole run.
struct RunStats : ErrorCounts {
  // Requests (handshake mode sends one per connection). Whole run unless said otherwise.
  uint64_t sent = 0;
  uint64_t answered = 0;           // final replies matched to their request
  uint64_t measured = 0;           // of those, completed in the measured period
  uint64_t status_class[7] = {};   // measured period, by status / 100 (1 = provisional)
  uint64_t late = 0;               // replies to requests already counted as timed out
  uint64_t unanswered_at_end = 0;  // still outstanding when the run stopped (not errors)

  // Handshake mode: connections that completed handshake + request + reply.
  uint64_t connections = 0;           // whole run
  uint64_t measured_connections = 0;  // completed in the measured period
  uint64_t resumed = 0;               // of the measured ones, SSL_session_reused()

  LatencyHistogram latency;    // request sent → final reply (handshake mode: connect → reply)
  LatencyHistogram handshake;  // handshake mode: connect start → handshake done

  void merge(const RunStats& o);
};

// What happened to the requests of one ramp step (one worker's, or merged). Its errors are
// those of the step's requests and of the connections that broke during it.
struct StepStats : ErrorCounts {
  uint64_t sent = 0;
  uint64_t skipped = 0;            // due, but the connection(s) had --inflight outstanding
  uint64_t replies = 0;            // final replies to this step's requests
  uint64_t replies_in_window = 0;  // final replies received during the step (achieved rate)
  uint64_t status_class[7] = {};   // by status / 100
  int64_t max_lag_ns = 0;    // latest send after its scheduled time (the client falling behind)
  LatencyHistogram latency;  // request written -> final reply

  void merge(const StepStats& o);
};

}  // namespace sipsd::bench
