// Statistics: per-process counters in shared memory. Each process writes only its own
// counters (plain relaxed load+store, no lock, no read-modify-write bus lock); readers sum
// them across processes.
#pragma once

#include <atomic>
#include <cstdint>

#include "core/process_context.h"

namespace sipsd {

enum class Stat : uint16_t {
  // SIP core (worker)
  kRcvRequests,
  kRcvReplies,
  kDropRequests,  // dropped by the script (`drop`)
  kErrRequests,   // invalid requests answered with 400
  kBadMsgHdr,     // unparsable messages (connection closed)
  kSlReplies,     // stateless replies sent
  // connections (worker)
  kConnsHandled,  // connections received from the supervisor
  kConnsClosed,
  kTlsHandshakesOk,
  kTlsHandshakesFailed,
  kHandshakeTimeouts,
  kConnectsFailed,  // outbound connects that failed
  kSniUnmatched,    // handshakes refused: no server domain for the SNI
  kCrlfPings,
  kChunksExceeded,
  kMsgTimeouts,
  kOversized,
  kFramingErrors,  // missing/bad Content-Length
  kIdleTimeouts,
  kWritesQueued,    // writes the socket did not take at once (finished when writable)
  kWriteOverflows,  // peer not reading: write queue over its cap
  kBytesIn,
  kBytesOut,
  // supervisor
  kConnsAccepted,
  kConnsRefused,  // tcp_max_connections reached
  kHandoffFailed,
  kWorkerRespawns,
  kCount
};

const char* stat_name(Stat s);

struct ProcStats {
  std::atomic<uint64_t> v[static_cast<int>(Stat::kCount)];

  uint64_t get(Stat s) const { return v[static_cast<int>(s)].load(std::memory_order_relaxed); }
  // Only the owning process calls this.
  void add(Stat s, uint64_t n) {
    auto& a = v[static_cast<int>(s)];
    a.store(a.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  void reset() {
    for (auto& a : v) a.store(0, std::memory_order_relaxed);
  }
};

// Counts into this process's statistics (a no-op in tools and unit tests).
inline void stat_add(Stat s, uint64_t n = 1) {
  if (ProcStats* st = process_context().stats) st->add(s, n);
}

}  // namespace sipsd
