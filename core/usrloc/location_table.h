// usrloc's location table in shared memory: every worker reads and writes the same bindings, so
// a phone that registered through worker 1 is found by a call that arrives at worker 2, and the
// management interface (the supervisor) dumps them without asking anyone.
//
// Layout (inside the area ShmRegion::usrloc_area() gives, versioned like the region itself):
//
//   UlHeader | UlBucket[2^hash_size] | UlSlot[capacity]
//
// Capacity is fixed (usrloc `max_contacts_total`, a sipsd bound): a full table refuses new
// bindings (save() answers 503, usrloc:table_full counts it, a log line names the AoR). Each
// bucket (hash of the AoR) has a robust process-shared mutex and a chain of slots; a free list
// under its own mutex (always taken after a bucket's, never before) hands out slots. A process
// that dies holding a lock leaves it to the next taker (EOWNERDEAD: the chain is still
// consistent because links are written last). Readers lock the bucket too: lookups copy a few
// records, which is far shorter than anything else on the path of a call.
#pragma once

#include <pthread.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string_view>
#include <vector>

#include "core/base/result.h"
#include "core/usrloc/contact.h"

namespace sipsd::ul {

inline constexpr char kUlMagic[8] = {'S', 'I', 'P', 'S', 'D', 'U', 'L', '1'};
inline constexpr uint32_t kUlLayoutVersion = 1;

// A binding as stored: fixed-size, trivially copyable (NUL-terminated texts).
struct UlRecord {
  char aor[kMaxAorLen + 1];
  char uri[kMaxContactLen + 1];
  char received[kMaxReceivedLen + 1];
  char path[kMaxPathLen + 1];
  char callid[kMaxCallidLen + 1];
  char user_agent[kMaxUserAgentLen + 1];
  char instance[kMaxInstanceLen + 1];
  char socket[kMaxSocketLen + 1];
  char src_ip[48];
  int64_t expires;
  int64_t last_modified;
  uint64_t contact_id;
  int32_t q;
  uint32_t cseq;
  uint32_t flags;
  uint32_t cflags;
  uint32_t methods;
  uint32_t reg_id;
  uint32_t conn_id;
  uint32_t conn_slot;
  uint16_t src_port;
  uint8_t proto;
  uint8_t conn_bound;
  uint8_t state;
};

struct UlSlot {
  uint32_t next;  // 1-based index of the next slot in the chain (bucket or free list); 0 = end
  uint32_t in_use;
  uint64_t aor_hash;
  UlRecord rec;
};

struct UlBucket {
  pthread_mutex_t lock;
  uint32_t head;  // 1-based slot index; 0 = empty
};

struct UlHeader {
  char magic[8];
  uint32_t layout_version;
  uint32_t capacity;
  uint32_t hash_bits;
  uint32_t slot_size;
  pthread_mutex_t alloc_lock;
  uint32_t free_head;   // 1-based
  uint32_t never_used;  // slots [never_used, capacity) were never handed out
  std::atomic<uint64_t> next_contact_id;
  std::atomic<uint32_t> contacts;
  std::atomic<uint32_t> aors;
  std::atomic<uint64_t> changes;  // every change to the table counts one
  std::atomic<uint64_t> synced;   // `changes` when the database was last written (db_mode 2)
};

class LocationTable {
 public:
  LocationTable() = default;

  // Bytes an area needs for `capacity` bindings and 2^hash_bits buckets.
  static size_t bytes_for(uint32_t capacity, uint32_t hash_bits);
  // Lays the table out in a zero-filled area (the supervisor, before forking).
  static Result<LocationTable> init(void* area, size_t size, uint32_t capacity, uint32_t hash_bits);
  // Checks an area init() laid out (a worker, or a test).
  static Result<LocationTable> attach(void* area, size_t size);

  bool valid() const { return h_ != nullptr; }
  uint32_t capacity() const { return h_->capacity; }
  uint32_t hash_size() const { return 1u << h_->hash_bits; }
  uint32_t contact_count() const { return h_->contacts.load(std::memory_order_relaxed); }
  uint32_t aor_count() const { return h_->aors.load(std::memory_order_relaxed); }
  // db_mode 2: how many changes so far; whether some are not in the database yet.
  uint64_t changes() const { return h_->changes.load(std::memory_order_acquire); }
  bool dirty() const { return changes() != h_->synced.load(std::memory_order_relaxed); }
  // Every binding is now in the database as of `changes` (their state becomes CS_SYNC).
  void mark_synced(uint64_t changes);

  // The bindings of `aor`, in usrloc order (contact_before), expired ones included.
  std::vector<Contact> get(std::string_view aor) const;

  // Read-modify-write of one AoR under its bucket lock: `edit` gets the current bindings (each
  // with its `slot`) and changes, erases or appends (slot 0) entries; it returns false to leave
  // the table as it was. New bindings get a contact_id. kFull: the table had no room for some
  // new bindings (the rest of the edit is applied; `stored` says how many new ones made it).
  enum class UpdateStatus { kOk, kUnchanged, kFull };
  struct UpdateOutcome {
    UpdateStatus status = UpdateStatus::kUnchanged;
    size_t before = 0;  // bindings of the AoR before and after
    size_t after = 0;
    size_t stored = 0;
  };
  UpdateOutcome update(std::string_view aor,
                       const std::function<bool(std::vector<Contact>&)>& edit);

  // Removes every binding of `aor`; returns how many there were.
  size_t remove_aor(std::string_view aor);
  // Removes the binding of `aor` whose URI is `uri`; false when there is none.
  bool remove_contact(std::string_view aor, std::string_view uri);
  // Removes every binding; returns how many.
  size_t clear();

  // Every AoR with its bindings (usrloc order), one bucket at a time: a binding that changes
  // meanwhile may be seen before or after the change.
  void for_each_aor(const std::function<void(const std::vector<Contact>&)>& visit) const;

  // Removes the bindings that expired at `now` or for which `gone` says their connection is
  // gone (conn_bound ones only); appends them to *removed when it is not null. Returns how
  // many were removed.
  size_t expire(int64_t now, const std::function<bool(const Contact&)>& gone,
                std::vector<Contact>* removed);

 private:
  explicit LocationTable(char* base);

  class BucketLock;
  UlBucket& bucket(uint64_t hash) const;
  UlSlot& slot(uint32_t index1) const;  // 1-based
  uint32_t alloc_slot();
  void free_slot(uint32_t index1);
  // The slots of `aor` in bucket `b` (caller holds the lock).
  void collect(const UlBucket& b, uint64_t hash, std::string_view aor,
               std::vector<uint32_t>* out) const;
  void unlink(UlBucket& b, uint32_t index1);
  // Stat deltas for an AoR that went from `before` to `after` bindings.
  void count(size_t before, size_t after);

  UlHeader* h_ = nullptr;
  UlBucket* buckets_ = nullptr;
  UlSlot* slots_ = nullptr;
};

}  // namespace sipsd::ul
