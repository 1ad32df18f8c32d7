// What call mode counts, per worker and merged for the report. A call belongs to the measured
// period when its INVITE was first sent in it; its outcome is counted whenever it comes (the
// run waits for it, bounded). Whole-run figures say so.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "bench/sipsbench/latency_histogram.h"

namespace sipsd::bench {

struct CallStats {
  // Calls started in the measured period and what became of them.
  uint64_t attempted = 0;
  uint64_t completed = 0;                        // BYE answered 2xx
  uint64_t failed_invite_timeout = 0;            // no final response to the INVITE within --timeout
  uint64_t failed_bye_timeout = 0;               // no final response to the BYE within --timeout
  uint64_t failed_non2xx = 0;                    // a final response >= 300 to the INVITE or the BYE
  uint64_t failed_transport = 0;                 // the caller's connection broke, or a send failed
  uint64_t failed_protocol = 0;                  // a 2xx the dialog cannot follow (no Contact)
  uint64_t unfinished = 0;                       // still in progress when the run stopped
  std::map<std::string, uint64_t> failed_codes;  // "INVITE 486" -> calls
  uint64_t skipped = 0;                          // open loop: due, but --concurrent in flight or no
                                                 // caller connection ready
  LatencyHistogram setup;                        // INVITE first sent -> 200 received
  LatencyHistogram bye;                          // BYE first sent -> its 200 received

  // The whole run (warm-up and drain included).
  uint64_t started_total = 0;
  uint64_t completed_total = 0;
  uint64_t failed_total = 0;
  uint64_t trying = 0;   // 100 received by callers
  uint64_t ringing = 0;  // 180/183 received by callers
  uint64_t late = 0;     // responses to a transaction that had ended (or a call that had)
  // UDP retransmissions.
  uint64_t invite_retransmits = 0;
  uint64_t bye_retransmits = 0;
  uint64_t ack_resent = 0;  // a caller answered a retransmitted 2xx with its ACK again
  uint64_t callee_2xx_retransmits = 0;
  uint64_t callee_ack_timeouts = 0;  // a callee's 2xx never ACKed (64 x T1)
  uint64_t callee_duplicates = 0;    // retransmitted INVITE/BYE absorbed by a callee
  // Callee side.
  uint64_t callee_invites = 0;
  uint64_t callee_acks = 0;
  uint64_t callee_byes = 0;
  uint64_t callee_unknown = 0;     // BYE for no dialog: 481
  uint64_t callee_other = 0;       // other requests (OPTIONS, ...): 200
  uint64_t callee_registered = 0;  // --callee-mode register: REGISTERs answered 2xx
  // --caller-auth.
  uint64_t caller_challenges = 0;  // 401/407 to a first INVITE, answered with credentials
  uint64_t auth_refused = 0;       // 401/407 again to the INVITE with credentials
  // Errors not tied to one call's outcome: bad or unexpected messages, broken connections.
  uint64_t protocol_errors = 0;
  uint64_t connection_errors = 0;
  std::string first_error;
  std::string first_failure;  // why the first failed call failed
  int64_t max_lag_ns = 0;     // open loop: latest start after its scheduled time

  uint64_t failed() const {
    return failed_invite_timeout + failed_bye_timeout + failed_non2xx + failed_transport +
           failed_protocol;
  }
  uint64_t errors() const { return protocol_errors + connection_errors; }
  void note_error(const std::string& why) {
    if (first_error.empty()) first_error = why;
  }
  void merge(const CallStats& o);
};

}  // namespace sipsd::bench
