#include "tests/alloc/allocation_counter.h"

#include <atomic>
#include <cstdlib>
#include <new>

namespace {

std::atomic<int> g_counting{0};
std::atomic<long> g_allocations{0};

}  // namespace

// The replacements every allocation of this binary goes through. C++ code that calls no malloc
// directly makes every allocation here.
void* operator new(std::size_t n) {
  if (g_counting.load(std::memory_order_relaxed) > 0)
    g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}

// GCC 12 cannot see that this operator new is the one paired with these deletes and warns that
// free() is called on memory from `new`; that pairing is exactly what a replacement does.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}
#pragma GCC diagnostic pop

namespace sipsd::test {

AllocationCounter::AllocationCounter() {
  g_allocations.store(0, std::memory_order_relaxed);
  g_counting.fetch_add(1, std::memory_order_relaxed);
}

AllocationCounter::~AllocationCounter() {
  g_counting.fetch_sub(1, std::memory_order_relaxed);
}

long AllocationCounter::count() const {
  return g_allocations.load(std::memory_order_relaxed);
}

}  // namespace sipsd::test
