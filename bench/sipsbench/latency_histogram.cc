#include "bench/sipsbench/latency_histogram.h"

#include <algorithm>
#include <cmath>

namespace sipsd::bench {

namespace {

constexpr int kSubBits = 10;                             // 1024 sub-buckets per power of two
constexpr uint64_t kSubCount = uint64_t{1} << kSubBits;  // 1024
constexpr uint64_t kLinearLimit = kSubCount * 2;         // values < 2048: one bucket each
constexpr int kTopBit = 35;                              // kMaxValueNs has 36 bits
constexpr size_t kBuckets = kLinearLimit + (kTopBit - kSubBits) * kSubCount;

}  // namespace

LatencyHistogram::LatencyHistogram() : counts_(kBuckets, 0) {}

size_t LatencyHistogram::index_of(uint64_t v) {
  if (v < kLinearLimit) return static_cast<size_t>(v);
  int msb = 63 - __builtin_clzll(v);  // >= 11
  int shift = msb - kSubBits;         // v >> shift is in [1024, 2047]
  uint64_t sub = (v >> shift) - kSubCount;
  return static_cast<size_t>(kLinearLimit + static_cast<uint64_t>(shift - 1) * kSubCount + sub);
}

uint64_t LatencyHistogram::highest_equivalent(size_t index) {
  if (index < kLinearLimit) return index;
  uint64_t i = index - kLinearLimit;
  int shift = static_cast<int>(i / kSubCount) + 1;
  uint64_t sub = i % kSubCount + kSubCount;
  return ((sub + 1) << shift) - 1;
}

void LatencyHistogram::record(uint64_t ns) {
  ns = std::min(ns, kMaxValueNs);
  ++counts_[index_of(ns)];
  ++count_;
  sum_ += ns;
  min_ = std::min(min_, ns);
  max_ = std::max(max_, ns);
}

void LatencyHistogram::merge(const LatencyHistogram& other) {
  for (size_t i = 0; i < counts_.size(); ++i) counts_[i] += other.counts_[i];
  count_ += other.count_;
  sum_ += other.sum_;
  min_ = std::min(min_, other.min_);
  max_ = std::max(max_, other.max_);
}

uint64_t LatencyHistogram::percentile(double p) const {
  if (count_ == 0) return 0;
  p = std::clamp(p, 0.0, 100.0);
  // The rank of the sample at p: at least the first, at most the last.
  uint64_t rank = static_cast<uint64_t>(std::ceil(p / 100.0 * static_cast<double>(count_)));
  rank = std::clamp<uint64_t>(rank, 1, count_);
  uint64_t seen = 0;
  for (size_t i = 0; i < counts_.size(); ++i) {
    seen += counts_[i];
    if (seen >= rank) return std::min(highest_equivalent(i), max_);
  }
  return max_;
}

}  // namespace sipsd::bench
