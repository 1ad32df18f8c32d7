#include "bench/sipsbench/call_stats.h"

#include <algorithm>

namespace sipsd::bench {

void CallStats::merge(const CallStats& o) {
  attempted += o.attempted;
  completed += o.completed;
  failed_invite_timeout += o.failed_invite_timeout;
  failed_bye_timeout += o.failed_bye_timeout;
  failed_non2xx += o.failed_non2xx;
  failed_transport += o.failed_transport;
  failed_protocol += o.failed_protocol;
  unfinished += o.unfinished;
  for (const auto& [code, n] : o.failed_codes) failed_codes[code] += n;
  skipped += o.skipped;
  setup.merge(o.setup);
  bye.merge(o.bye);
  started_total += o.started_total;
  completed_total += o.completed_total;
  failed_total += o.failed_total;
  trying += o.trying;
  ringing += o.ringing;
  late += o.late;
  invite_retransmits += o.invite_retransmits;
  bye_retransmits += o.bye_retransmits;
  ack_resent += o.ack_resent;
  callee_2xx_retransmits += o.callee_2xx_retransmits;
  callee_ack_timeouts += o.callee_ack_timeouts;
  callee_duplicates += o.callee_duplicates;
  callee_invites += o.callee_invites;
  callee_acks += o.callee_acks;
  callee_byes += o.callee_byes;
  callee_unknown += o.callee_unknown;
  callee_other += o.callee_other;
  callee_registered += o.callee_registered;
  caller_challenges += o.caller_challenges;
  auth_refused += o.auth_refused;
  protocol_errors += o.protocol_errors;
  connection_errors += o.connection_errors;
  note_error(o.first_error);
  if (first_failure.empty()) first_failure = o.first_failure;
  max_lag_ns = std::max(max_lag_ns, o.max_lag_ns);
}

}  // namespace sipsd::bench
