// Where libevent's smallest allocations go.
//
// libevent keeps a small record (struct evmap_io, 16 bytes with epoll) for every descriptor
// number a loop has ever watched, for the life of the event base. In a worker they are made
// one by one as connections arrive, from the same heap as the connections' own memory
// (OpenSSL's ~15 kB per TLS connection), so each one lands between two connections and pins
// its page: after a flood of N connections has closed, up to N pages (4 kB each) stay
// resident however the heap is trimmed. Routing libevent's allocations of at most kSlotSize
// bytes to a pool of their own keeps those records together on a few pages.
#pragma once

#include <cstddef>
#include <vector>

namespace sipsd {

// Installs the routing (event_set_mem_functions) for this process. Call before the process's
// first libevent call that allocates (a worker: before its event_base_new). Memory libevent
// allocated before keeps going back to free(): a pointer the pool does not own is freed by
// malloc's free.
void route_libevent_small_allocations();

// Fixed-size slots carved from blocks of their own (mmap), kept on a free list; blocks are
// never given back (what lives there lives as long as the event base).
class SmallSlotPool {
 public:
  static constexpr size_t kSlotSize = 32;
  static constexpr size_t kBlockSize = 64 * 1024;

  SmallSlotPool() = default;
  SmallSlotPool(const SmallSlotPool&) = delete;
  SmallSlotPool& operator=(const SmallSlotPool&) = delete;
  ~SmallSlotPool();

  void* alloc();  // nullptr when no block can be mapped
  bool owns(const void* p) const;
  void free(void* p);  // p must be owned
  size_t blocks() const { return blocks_.size(); }

 private:
  struct FreeSlot {
    FreeSlot* next;
  };
  std::vector<char*> blocks_;  // sorted by address
  FreeSlot* free_ = nullptr;
};

}  // namespace sipsd
