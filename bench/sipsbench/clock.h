// Time in sipsbench: CLOCK_MONOTONIC nanoseconds, and seconds (as the options give them)
// converted to them.
#pragma once

#include <time.h>

#include <cstdint>

namespace sipsd::bench {

inline constexpr int64_t kSecondNs = 1000000000;

inline int64_t now_ns() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * kSecondNs + ts.tv_nsec;
}

inline int64_t to_ns(double seconds) {
  return static_cast<int64_t>(seconds * 1e9);
}

}  // namespace sipsd::bench
