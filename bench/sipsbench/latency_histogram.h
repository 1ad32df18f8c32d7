// LatencyHistogram: an HDR-style log-linear histogram of durations in nanoseconds.
//
// Fixed memory, O(1) record, 3 significant decimal digits: values below 2048 ns have their own
// bucket; above that every power of two is split into 1024 linear sub-buckets, so a bucket is
// never wider than 1/1024 of its value. Percentiles report the highest value equivalent to the
// bucket (HDR's convention: never under-reports); the maximum is kept exactly.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace sipsd::bench {

class LatencyHistogram {
 public:
  // Values above kMaxValueNs (about 68.7 s) are recorded as kMaxValueNs.
  static constexpr uint64_t kMaxValueNs = (uint64_t{1} << 36) - 1;

  LatencyHistogram();

  void record(uint64_t ns);
  void merge(const LatencyHistogram& other);

  uint64_t count() const { return count_; }
  uint64_t max() const { return max_; }
  uint64_t min() const { return count_ == 0 ? 0 : min_; }
  double mean() const { return count_ == 0 ? 0.0 : static_cast<double>(sum_) / count_; }
  // The value at percentile p (0 < p <= 100); 0 when empty.
  uint64_t percentile(double p) const;

  // Bucket arithmetic, exposed for tests.
  static size_t index_of(uint64_t ns);
  static uint64_t highest_equivalent(size_t index);

 private:
  std::vector<uint64_t> counts_;
  uint64_t count_ = 0;
  uint64_t sum_ = 0;
  uint64_t min_ = UINT64_MAX;
  uint64_t max_ = 0;
};

}  // namespace sipsd::bench
