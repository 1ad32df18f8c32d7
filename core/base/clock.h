// Clocks in milliseconds. Deadlines use the monotonic clock; timestamps shown to people use
// the real-time clock.
#pragma once

#include <sys/time.h>
#include <time.h>

#include <cstdint>

namespace sipsd {

inline int64_t monotonic_ms() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return int64_t{ts.tv_sec} * 1000 + ts.tv_nsec / 1000000;
}

// Cheap (jiffy resolution) wall clock, for "last active" stamps on hot paths.
inline int64_t realtime_coarse_ms() {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME_COARSE, &ts);
  return int64_t{ts.tv_sec} * 1000 + ts.tv_nsec / 1000000;
}

inline int64_t realtime_ms() {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return int64_t{ts.tv_sec} * 1000 + ts.tv_nsec / 1000000;
}

// A duration in milliseconds as the struct timeval libevent timers take.
inline struct timeval ms_to_timeval(int64_t ms) {
  return timeval{static_cast<time_t>(ms / 1000), static_cast<suseconds_t>((ms % 1000) * 1000)};
}

}  // namespace sipsd
