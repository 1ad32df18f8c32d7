#include "bench/sipsbench/run_stats.h"

#include <algorithm>

namespace sipsd::bench {

void ErrorCounts::merge(const ErrorCounts& o) {
  timeouts += o.timeouts;
  mismatched += o.mismatched;
  unexpected += o.unexpected;
  bad_replies += o.bad_replies;
  connect_failed += o.connect_failed;
  handshake_failed += o.handshake_failed;
  closed += o.closed;
  lost += o.lost;
  note_error(o.first_error);
}

void RunStats::merge(const RunStats& o) {
  ErrorCounts::merge(o);
  sent += o.sent;
  answered += o.answered;
  measured += o.measured;
  for (int i = 0; i < 7; ++i) status_class[i] += o.status_class[i];
  late += o.late;
  unanswered_at_end += o.unanswered_at_end;
  connections += o.connections;
  measured_connections += o.measured_connections;
  resumed += o.resumed;
  latency.merge(o.latency);
  handshake.merge(o.handshake);
}

void StepStats::merge(const StepStats& o) {
  ErrorCounts::merge(o);
  sent += o.sent;
  skipped += o.skipped;
  replies += o.replies;
  replies_in_window += o.replies_in_window;
  for (int i = 0; i < 7; ++i) status_class[i] += o.status_class[i];
  max_lag_ns = std::max(max_lag_ns, o.max_lag_ns);
  latency.merge(o.latency);
}

}  // namespace sipsd::bench
