// Statistics: per-process counters in shared memory. Each process writes only its own
// counters (plain relaxed load+store, no lock, no read-modify-write bus lock); readers sum
// them across processes. Names follow OpenSIPS's "group:name" (core:rcv_requests), with a
// tcp: and a tls: group for the transports and a dns: group for the resolver (OpenSIPS has
// none of them).
#pragma once

#include <time.h>

#include <atomic>
#include <cstdint>

#include "core/base/process_context.h"
#include "core/base/transport.h"

namespace sipsd {

// Per-transport counters: one block for TCP, one for TLS, in this order.
enum class TStat : uint16_t {
  kConnsAccepted,      // supervisor
  kConnsRefused,       // supervisor: tcp_max_connections reached
  kConnsHandled,       // worker: received from the supervisor, or opened outbound
  kConnsClosed,        // worker
  kHandshakesOk,       // TLS
  kHandshakesFailed,   // TLS, all reasons (the next three are some of them)
  kHandshakeTimeouts,  // TLS: not done within tcp_max_msg_time
  kSniUnmatched,       // TLS: no server domain for the SNI
  kVerifyFailed,       // TLS: the peer's certificate did not verify
  kResumed,            // TLS: handshakes that resumed a session
  kRecordHandoffs,     // TLS: connections whose records left OpenSSL (tls_record_handoff)
  kConnectsFailed,     // outbound connects that failed
  kCrlfPings,
  kChunksExceeded,
  kMsgTimeouts,
  kOversized,
  kFramingErrors,  // missing/bad Content-Length
  kIdleTimeouts,
  kWritesQueued,    // writes the socket did not take at once
  kWriteOverflows,  // peer not reading: write queue over its cap
  kBytesIn,
  kBytesOut,
  kQueuedBytes,  // gauge: bytes waiting in connection output queues (net:waiting_*)
  kCount
};
inline constexpr int kTStatCount = static_cast<int>(TStat::kCount);

enum class Stat : uint16_t {
  // core: (workers)
  kRcvRequests,
  kRcvReplies,
  kDropRequests,  // dropped by the script (`drop`)
  kErrRequests,   // invalid requests answered with 400
  kBadMsgHdr,     // unparsable messages (connection closed)
  // sl: (workers)
  kSlSentReplies,
  kSlSentErrReplies,  // >= 300
  kSl1xx,
  kSl2xx,
  kSl3xx,
  kSl4xx,
  kSl5xx,
  kSl6xx,
  kSlReceivedAcks,  // ACKs of our own stateless replies, absorbed before the script
  // core: (supervisor)
  kHandoffFailed,
  kWorkerRespawns,
  kWorkerStalls,  // a TCP worker's heartbeat went older than tcp_worker_stall_timeout
  // dns: (each process with a resolver, core/dns/resolver.h)
  kDnsQueries,           // queries sent to a DNS server
  kDnsCacheHits,         // questions answered from the cache
  kDnsFailures,          // resolutions that ended in an error
  kDnsPending,           // gauge: resolutions waiting for DNS
  kDnsPendingLimitHits,  // resolutions refused: dns_max_pending reached
  // udp: (workers)
  kUdpReceived,
  kUdpSent,
  kUdpDropped,  // truncated on receipt, or not taken by the socket when sending
  kUdpBytesIn,
  kUdpBytesOut,
  // core: messages handed between workers (a connection or transaction another worker owns)
  kRelayedOut,
  kRelayedIn,
  kRelayLost,     // the other worker or its connection was gone, or its queue full
  kAliasRefused,  // RFC 5923 aliases another connection already held
  // core: forwarding (OpenSIPS names)
  kFwdRequests,
  kFwdReplies,
  kDropReplies,  // replies that match nothing and cannot be relayed statelessly
  // tm: (OpenSIPS names, plus refused/absorbed)
  kTmReceivedReplies,
  kTmRelayedReplies,
  kTmLocalReplies,
  kTmUas,  // server transactions created
  kTmUac,  // client transactions (branches) created
  kTm2xx,  // transactions that ended with a 2xx upstream, …
  kTm3xx,
  kTm4xx,
  kTm5xx,
  kTm6xx,
  kTmInuse,                    // gauge
  kTmRetransmissions,          // requests retransmitted over UDP
  kTmReplyRetransmissions,     // replies retransmitted over UDP (retransmission_rpl_T2)
  kTmRetransmissionsAbsorbed,  // request retransmissions answered with the last reply
  kTmTimeout,                  // branches that got no final reply within fr_timeout
  kTmTimeoutInv,               // INVITE branches, within fr_timeout / fr_inv_timeout
  kTmLimitHits,                // transactions or branches refused: max_transactions/max_branches
  // usrloc: (OpenSIPS names; the three gauges are the table's own counts, which the supervisor
  // copies into its counters whenever statistics are read)
  kUlUsers,          // registered_users
  kUlLocationUsers,  // location-users
  kUlContacts,       // location-contacts
  kUlExpires,        // location-expires: bindings that expired
  kUlTableFull,      // table_full (sipsd): bindings refused, max_contacts_total reached
  // registrar: (OpenSIPS names; the last three are constants the supervisor sets)
  kRegAccepted,       // accepted_regs
  kRegRejected,       // rejected_regs
  kRegMaxExpires,     // max_expires
  kRegMaxContacts,    // max_contacts
  kRegDefaultExpire,  // default_expire
  // auth: (workers; the last four from the supervisor's subscriber loader)
  kAuthChallenges,       // 401/407 challenges sent
  kAuthAuthorized,       // credentials accepted
  kAuthFailedResponses,  // wrong password/response (-2)
  kAuthUnknownUsers,     // user not in the subscriber cache (-1)
  kAuthStaleNonces,      // expired nonces, or issued for another algorithm/qop (-3)
  kAuthReplayedNonces,   // a nonce count used twice (-3)
  kAuthForgedNonces,     // nonces that fail the secret's MAC (-2)
  kAuthMalformed,        // malformed credentials, answered with 400
  kAuthNonceIndexFull,   // a nonce slot reused while its nonce was still valid
  kAuthSubscribers,      // gauge: subscribers in the shared cache
  kAuthCacheFull,        // subscriber rows left out: cache_size reached
  kAuthDbReloads,        // subscriber cache (re)loads
  kAuthDbErrors,         // subscriber loads that failed
  // acc: do_accounting("db") (sipsd's names)
  kAccDbWritten,  // db_rows_written: rows the supervisor wrote to acc's db_url
  kAccDbDropped,  // db_rows_dropped: rows lost (a worker's channel full, or a failed write)
  // outbound: RFC 5626 flow tokens (sipsd's names; OpenSIPS has no outbound)
  kOutboundFlowsFailed,  // flows_failed: requests for a flow that was gone (430 Flow Failed)
  kOutboundBadTokens,    // bad_flow_tokens: Route flow tokens that failed their check (forged)
  // bookkeeping: microseconds a worker spent handling events (load:)
  kBusyUs,
  // bookkeeping: connections handed to this worker that have closed (the supervisor's load
  // count; connections a worker opened itself are not in it)
  kInboundClosed,
  kTransportBase,
  kCount = kTransportBase + 2 * kTStatCount
};
inline constexpr int kStatCount = static_cast<int>(Stat::kCount);

// The counter of transport statistic t for protocol p.
inline Stat tstat(Proto p, TStat t) {
  int base = static_cast<int>(Stat::kTransportBase) + (p == Proto::kTls ? kTStatCount : 0);
  return static_cast<Stat>(base + static_cast<int>(t));
}

struct StatInfo {
  const char* group;  // "core", "sl", "dns", "tcp", "tls", "" for internal bookkeeping
  const char* name;
  bool incremental;  // a counter reset_statistics may reset (not a gauge)
};
StatInfo stat_info(Stat s);

struct ProcStats {
  std::atomic<uint64_t> v[kStatCount];

  uint64_t get(Stat s) const { return v[static_cast<int>(s)].load(std::memory_order_relaxed); }
  // Only the owning process calls these.
  void add(Stat s, uint64_t n) {
    auto& a = v[static_cast<int>(s)];
    a.store(a.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  void reset() {
    for (auto& a : v) a.store(0, std::memory_order_relaxed);
  }
  // A gauge only this process writes: set to `value`.
  void set(Stat s, uint64_t value) {
    v[static_cast<int>(s)].store(value, std::memory_order_relaxed);
  }
};

// Counts into this process's statistics (a no-op in tools and unit tests). n may be negative
// for gauges (the sum across processes stays right; a single process's value may wrap).
inline void stat_add(Stat s, uint64_t n = 1) {
  if (ProcStats* st = process_context().stats) st->add(s, n);
}
inline void stat_add(Proto p, TStat t, uint64_t n = 1) {
  stat_add(tstat(p, t), n);
}

// Counts the time until the end of the scope as busy (load:), around each event callback of a
// worker. Two vDSO clock reads per event.
class BusyScope {
 public:
  BusyScope() : start_us_(now_us()) {}
  ~BusyScope() { stat_add(Stat::kBusyUs, now_us() - start_us_); }
  BusyScope(const BusyScope&) = delete;
  BusyScope& operator=(const BusyScope&) = delete;

 private:
  static uint64_t now_us() {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1000000 + static_cast<uint64_t>(ts.tv_nsec) / 1000;
  }
  uint64_t start_us_;
};

}  // namespace sipsd
