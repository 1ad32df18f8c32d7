// The shared-memory region: one anonymous MAP_SHARED mapping made by the supervisor before it
// forks, so only its own children can see it (private keys live here). Its layout is versioned
// like a wire format: a header with magic, layout version and the offset and size of each part;
// a process that finds an unexpected header refuses to run.
//
//   ShmHeader | ProcSlot[max_procs] | ConnSlot[conn_capacity] | HashWord[index_capacity]
//   | HashWord[tx_index_capacity] | TicketKeySlot | TlsSlot[2] | usrloc area
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "core/base/process_context.h"
#include "core/base/result.h"
#include "core/shm/conn_index.h"
#include "core/shm/conn_table.h"
#include "core/shm/stats.h"

namespace sipsd {

inline constexpr char kShmMagic[8] = {'S', 'I', 'P', 'S', 'D', 'S', 'H', 'M'};
inline constexpr uint32_t kShmLayoutVersion =
    7;  // 6: worker heartbeat and stalled flag; 7: the usrloc area

// One per process (index 0 = supervisor, 1..N = workers). Written by that process only,
// except pid/role, which the supervisor sets before forking, and `stalled`, which only the
// supervisor writes.
struct ProcSlot {
  std::atomic<int32_t> pid;
  std::atomic<int32_t> role;  // ProcessRole
  std::atomic<int64_t> started_ms;
  std::atomic<int32_t> log_level;  // the process's Logger follows it (MI log_level)
  // The worker's event loop writes the monotonic clock (ms) here on a short timer; a worker
  // stopped or stuck in one callback stops writing (tcp_worker_stall_timeout).
  std::atomic<int64_t> heartbeat_ms;
  // 1 while the supervisor gives this worker no new connections because its heartbeat is too
  // old (MI ps "Stalled", load:stalled_workers).
  std::atomic<int32_t> stalled;
  ProcStats stats;
};

// A serialized TLS snapshot: seqlock-protected bytes (tls_mgm/snapshot_store.h).
struct TlsSlot {
  std::atomic<uint64_t> seq;
  std::atomic<uint64_t> generation;
  std::atomic<uint64_t> size;
  // followed by `tls_slot_size` bytes of data
};

// TLS session-ticket keys, written by the supervisor (tls_mgm/ticket_keys.h) and read by every
// worker under a seqlock: the key new tickets are sealed with, and the previous one, still
// accepted.
struct TicketKeySlot {
  std::atomic<uint64_t> seq;
  std::atomic<uint64_t> generation;  // 0 = no keys published (tickets then stay per worker)
  unsigned char current[80];         // name(16) | aes-256 key(32) | hmac-sha256 key(32)
  unsigned char previous[80];
  uint8_t has_previous;
};

struct ShmHeader {
  char magic[8];
  uint32_t layout_version;
  uint32_t header_size;
  uint64_t total_size;
  uint32_t max_procs;
  uint32_t proc_slot_size;
  uint64_t proc_off;
  uint32_t conn_capacity;
  uint32_t conn_slot_size;
  uint64_t conn_off;
  uint32_t index_capacity;  // connection index words, a power of two
  uint64_t index_off;
  uint32_t tx_index_capacity;  // INVITE transaction owners (core/tm), a power of two
  uint64_t tx_index_off;
  uint64_t ticket_off;
  uint64_t tls_slot_size;  // data bytes per slot
  uint64_t tls_off;
  // usrloc's location table (core/usrloc/location_table.h lays it out); 0 bytes: none.
  uint64_t usrloc_off;
  uint64_t usrloc_size;
  // The generation of the TLS snapshot currently published (0 = none yet).
  std::atomic<uint64_t> tls_generation;
};

class ShmRegion {
 public:
  struct Layout {
    uint32_t max_procs = 1;
    uint32_t conn_capacity = 1;
    uint64_t tls_slot_size = 1 << 20;
    uint32_t tx_index_capacity = 1 << 16;  // a power of two
    uint64_t usrloc_bytes = 0;             // LocationTable::bytes_for(...)
  };

  static Result<std::unique_ptr<ShmRegion>> create(const Layout& layout);
  ~ShmRegion();
  ShmRegion(const ShmRegion&) = delete;
  ShmRegion& operator=(const ShmRegion&) = delete;

  // Checks magic, layout version and sizes; a process refuses to run on a mismatch.
  Status validate() const;

  ShmHeader& header() const { return *header_; }
  size_t size() const { return size_; }
  uint32_t max_procs() const { return header_->max_procs; }
  ProcSlot& proc(int index) const;
  ConnTable conn_table() const;
  ConnIndex conn_index() const;
  // Which worker holds the INVITE server transaction of (top Via branch, sent-by): a CANCEL or
  // an ACK that arrives at another worker goes there (core/tm/tx_owner_index.h).
  HashWords tx_index() const;
  TicketKeySlot& ticket_keys() const;
  TlsSlot& tls_slot(int index) const;
  char* tls_data(int index) const;
  // The usrloc area (zero-filled at creation); null when the layout has none.
  void* usrloc_area() const;
  size_t usrloc_size() const { return header_->usrloc_size; }

 private:
  ShmRegion(void* base, size_t size);

  char* base_;
  size_t size_;
  ShmHeader* header_;
};

}  // namespace sipsd
