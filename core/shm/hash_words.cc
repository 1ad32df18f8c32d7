#include "core/shm/hash_words.h"

namespace sipsd {

uint32_t HashWords::round_capacity(uint64_t want) {
  uint64_t c = 64;
  while (c < want) c <<= 1;
  return static_cast<uint32_t>(c);
}

bool HashWords::add(uint64_t hash, uint32_t value) {
  if (words_ == nullptr || value == 0) return false;
  const uint64_t word = (uint64_t{tag_of(hash)} << 32) | value;
  for (int attempt = 0; attempt < 4; ++attempt) {
    uint32_t i = static_cast<uint32_t>(hash) & mask_;
    int64_t reuse = -1;  // the first tombstone on the probe path
    for (uint32_t n = 0; n <= mask_; ++n, i = (i + 1) & mask_) {
      uint64_t w = words_[i].word.load(std::memory_order_acquire);
      if (w == word) return true;
      if (w == kTombstone && reuse < 0) reuse = i;
      if (w != 0) continue;
      const uint32_t target = reuse >= 0 ? static_cast<uint32_t>(reuse) : i;
      uint64_t expected = reuse >= 0 ? kTombstone : 0;
      if (words_[target].word.compare_exchange_strong(expected, word, std::memory_order_acq_rel))
        return true;
      break;  // another writer took it: probe again
    }
  }
  return false;
}

void HashWords::remove(uint64_t hash, uint32_t value) {
  if (words_ == nullptr) return;
  const uint64_t word = (uint64_t{tag_of(hash)} << 32) | value;
  uint32_t i = static_cast<uint32_t>(hash) & mask_;
  for (uint32_t n = 0; n <= mask_; ++n, i = (i + 1) & mask_) {
    uint64_t w = words_[i].word.load(std::memory_order_acquire);
    if (w == 0) return;
    if (w != word) continue;
    words_[i].word.compare_exchange_strong(w, kTombstone, std::memory_order_acq_rel);
    return;
  }
}

uint64_t hash_bytes(const void* data, size_t len, uint64_t seed) {
  uint64_t h = seed;
  const auto* p = static_cast<const unsigned char*>(data);
  for (size_t i = 0; i < len; ++i) {
    h ^= p[i];
    h *= 1099511628211ull;
  }
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  return h;
}

}  // namespace sipsd
