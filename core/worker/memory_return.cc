#include "core/worker/memory_return.h"

#include <malloc.h>

#include <algorithm>

namespace sipsd {

bool MemoryReturn::due(size_t conns, int64_t now_ms) {
  peak_ = std::max(peak_, conns);
  const size_t dropped = peak_ - conns;
  if (dropped < kMinDrop || dropped * kMinShare < peak_) return false;
  if (last_trim_ms_ != 0 && now_ms - last_trim_ms_ < kMinIntervalMs) return false;
  peak_ = conns;
  last_trim_ms_ = now_ms;
  return true;
}

bool MemoryReturn::on_tick(size_t conns, int64_t now_ms) {
  if (!due(conns, now_ms)) return false;
  malloc_trim(0);
  return true;
}

}  // namespace sipsd
