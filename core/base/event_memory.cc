#include "core/base/event_memory.h"

#include <event2/event.h>
#include <sys/mman.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

namespace sipsd {

SmallSlotPool::~SmallSlotPool() {
  for (char* b : blocks_) munmap(b, kBlockSize);
}

void* SmallSlotPool::alloc() {
  if (free_ == nullptr) {
    void* m = mmap(nullptr, kBlockSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) return nullptr;
    char* block = static_cast<char*>(m);
    blocks_.insert(std::upper_bound(blocks_.begin(), blocks_.end(), block), block);
    // Thread the new slots onto the free list, lowest address first.
    for (size_t off = kBlockSize; off >= kSlotSize; off -= kSlotSize) {
      auto* s = reinterpret_cast<FreeSlot*>(block + off - kSlotSize);
      s->next = free_;
      free_ = s;
    }
  }
  FreeSlot* s = free_;
  free_ = s->next;
  return s;
}

bool SmallSlotPool::owns(const void* p) const {
  const char* c = static_cast<const char*>(p);
  auto it = std::upper_bound(blocks_.begin(), blocks_.end(), c);
  if (it == blocks_.begin()) return false;
  --it;
  return c < *it + kBlockSize;
}

void SmallSlotPool::free(void* p) {
  auto* s = static_cast<FreeSlot*>(p);
  s->next = free_;
  free_ = s;
}

namespace {

// libevent's hooks are plain function pointers with no argument, so the pool is this process's
// one instance (the one piece of global state outside the process context).
SmallSlotPool& pool() {
  static SmallSlotPool* p = new SmallSlotPool();  // never destroyed: libevent may free late
  return *p;
}

void* event_malloc(size_t n) {
  if (n <= SmallSlotPool::kSlotSize) {
    if (void* p = pool().alloc()) return p;
  }
  return std::malloc(n);
}

void* event_realloc(void* p, size_t n) {
  if (p == nullptr) return event_malloc(n);
  if (!pool().owns(p)) return std::realloc(p, n);
  if (n <= SmallSlotPool::kSlotSize) return p;
  void* q = std::malloc(n);
  if (q == nullptr) return nullptr;
  std::memcpy(q, p, SmallSlotPool::kSlotSize);
  pool().free(p);
  return q;
}

void event_free_fn(void* p) {
  if (p == nullptr) return;
  if (pool().owns(p)) {
    pool().free(p);
  } else {
    std::free(p);
  }
}

}  // namespace

void route_libevent_small_allocations() {
  event_set_mem_functions(event_malloc, event_realloc, event_free_fn);
}

}  // namespace sipsd
