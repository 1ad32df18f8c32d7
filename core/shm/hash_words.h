// A lock-free multiset of (hash, value) pairs in shared memory: open addressing over 64-bit
// words, the high 32 bits a tag of the key's hash, the low 32 bits the value (never 0). 0 marks
// a word never used, kTombstone a removed one. Any process may add and remove with
// compare-and-swap; readers never lock. A tag can collide, so a hit only says "this value may
// belong to the key": callers check it against the real record (the connection index reads the
// connection's slot) or accept a rare false hit (the transaction index: a CANCEL relayed to the
// wrong worker is then handled there as an unmatched one).
#pragma once

#include <atomic>
#include <cstdint>

namespace sipsd {

struct HashWord {
  std::atomic<uint64_t> word;
};

class HashWords {
 public:
  static constexpr uint64_t kTombstone = ~uint64_t{0};

  HashWords() = default;
  // `capacity` must be a power of two.
  HashWords(HashWord* words, uint32_t capacity) : words_(words), mask_(capacity - 1) {}

  bool valid() const { return words_ != nullptr; }
  // The smallest power of two >= want (and >= 64).
  static uint32_t round_capacity(uint64_t want);

  // Adds (hash, value) unless that very pair is there already. False when full.
  bool add(uint64_t hash, uint32_t value);
  // Removes one (hash, value) pair, if present.
  void remove(uint64_t hash, uint32_t value);
  // Calls visit(value) for each value stored under hash's tag, in probe order, until it
  // returns true; returns whether one did.
  template <class Visit>
  bool find(uint64_t hash, Visit visit) const {
    if (words_ == nullptr) return false;
    const uint32_t tag = tag_of(hash);
    uint32_t i = static_cast<uint32_t>(hash) & mask_;
    for (uint32_t n = 0; n <= mask_; ++n, i = (i + 1) & mask_) {
      uint64_t w = words_[i].word.load(std::memory_order_acquire);
      if (w == 0) return false;
      if (w == kTombstone || static_cast<uint32_t>(w >> 32) != tag) continue;
      if (visit(static_cast<uint32_t>(w))) return true;
    }
    return false;
  }

 private:
  static uint32_t tag_of(uint64_t hash) { return static_cast<uint32_t>(hash >> 32) | 1; }

  HashWord* words_ = nullptr;
  uint32_t mask_ = 0;
};

// FNV-1a over bytes, then a final mix so that both halves of the result are well spread.
uint64_t hash_bytes(const void* data, size_t len, uint64_t seed = 1469598103934665603ull);

}  // namespace sipsd
