// MemoryReturn: gives the heap memory of closed connections back to the system.
//
// A worker is single-threaded, so all its allocations come from glibc's main arena. free()
// gives pages back only from the top of that heap (and only above M_TRIM_THRESHOLD); the
// memory of thousands of connections that closed sits in the middle, between allocations that
// are still alive, and would stay in the worker's RSS for good. After the number of
// connections has dropped by a good share, malloc_trim(0) hands every whole free page back
// (madvise(MADV_DONTNEED)), wherever it is in the heap. It walks the free chunks once, so it
// runs at most once a second, and only after a drop worth it.
#pragma once

#include <cstddef>
#include <cstdint>

namespace sipsd {

class MemoryReturn {
 public:
  // At least this many connections must have gone since the peak...
  static constexpr size_t kMinDrop = 256;
  // ...and at least 1/kMinShare of the peak...
  static constexpr size_t kMinShare = 4;
  // ...and this long since the last trim.
  static constexpr int64_t kMinIntervalMs = 1000;

  // Whether to trim now, with `conns` connections open; counts the peak since the last trim.
  bool due(size_t conns, int64_t now_ms);
  // Trims if due(); true when it did.
  bool on_tick(size_t conns, int64_t now_ms);

 private:
  size_t peak_ = 0;  // most connections seen since the last trim
  int64_t last_trim_ms_ = 0;
};

}  // namespace sipsd
