#include "bench/sipsbench/run_stats.h"

namespace sipsd::bench {

void RunStats::merge(const RunStats& o) {
  sent += o.sent;
  answered += o.answered;
  measured += o.measured;
  for (int i = 0; i < 7; ++i) status_class[i] += o.status_class[i];
  late += o.late;
  unanswered_at_end += o.unanswered_at_end;
  timeouts += o.timeouts;
  mismatched += o.mismatched;
  unexpected += o.unexpected;
  bad_replies += o.bad_replies;
  connect_failed += o.connect_failed;
  handshake_failed += o.handshake_failed;
  closed += o.closed;
  lost += o.lost;
  connections += o.connections;
  measured_connections += o.measured_connections;
  resumed += o.resumed;
  latency.merge(o.latency);
  handshake.merge(o.handshake);
  if (first_error.empty()) first_error = o.first_error;
}

}  // namespace sipsd::bench
