#include "core/shm/conn_table.h"

#include <cstring>

namespace sipsd {

const char* conn_state_name(ConnState s) {
  switch (s) {
    case ConnState::kFree:
      return "free";
    case ConnState::kClaimed:
      return "claimed";
    case ConnState::kConnecting:
      return "connecting";
    case ConnState::kHandedOff:
      return "handed-off";
    case ConnState::kHandshaking:
      return "handshaking";
    case ConnState::kEstablished:
      return "established";
    case ConnState::kClosing:
      return "closing";
  }
  return "?";
}

void ConnTable::write_info(ConnSlot& s, const ConnInfo& info) {
  uint32_t seq = s.seq.load(std::memory_order_relaxed);
  s.seq.store(seq + 1, std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_release);
  memcpy(&s.info, &info, sizeof info);
  s.seq.store(seq + 2, std::memory_order_release);
}

std::optional<uint32_t> ConnTable::allocate(const ConnInfo& info) {
  for (uint32_t n = 0; n < capacity_; ++n) {
    uint32_t i = cursor_;
    cursor_ = (cursor_ + 1 == capacity_) ? 0 : cursor_ + 1;
    ConnSlot& s = slots_[i];
    uint32_t expected = static_cast<uint32_t>(ConnState::kFree);
    if (s.state.load(std::memory_order_relaxed) != expected) continue;
    // Claim it first: workers allocate slots for outbound connections too.
    if (!s.state.compare_exchange_strong(expected, static_cast<uint32_t>(ConnState::kClaimed),
                                         std::memory_order_acquire))
      continue;
    write_info(s, info);
    s.state.store(static_cast<uint32_t>(ConnState::kHandedOff), std::memory_order_release);
    return i;
  }
  return std::nullopt;
}

void ConnTable::update(uint32_t slot, const ConnInfo& info, ConnState state) {
  ConnSlot& s = slots_[slot];
  write_info(s, info);
  s.state.store(static_cast<uint32_t>(state), std::memory_order_release);
}

void ConnTable::release(uint32_t slot) {
  slots_[slot].state.store(static_cast<uint32_t>(ConnState::kFree), std::memory_order_release);
}

uint32_t ConnTable::release_owned_by(
    int32_t owner, const std::function<void(uint32_t, const ConnInfo&)>& on_release) {
  // The owner is dead, so nothing writes these slots concurrently: read them directly (a
  // write it died in the middle of leaves an odd sequence, which is repaired here).
  uint32_t freed = 0;
  for (uint32_t i = 0; i < capacity_; ++i) {
    ConnSlot& s = slots_[i];
    if (s.state.load(std::memory_order_acquire) == static_cast<uint32_t>(ConnState::kFree))
      continue;
    if (s.info.owner != owner) continue;
    uint32_t seq = s.seq.load(std::memory_order_relaxed);
    if (seq & 1) s.seq.store(seq + 1, std::memory_order_relaxed);
    if (on_release) on_release(i, s.info);
    release(i);
    ++freed;
  }
  return freed;
}

std::optional<ConnInfo> ConnTable::read(uint32_t slot, ConnState* state) const {
  const ConnSlot& s = slots_[slot];
  // Bounded: a writer killed half-way leaves the sequence odd forever.
  for (int attempt = 0; attempt < 10000; ++attempt) {
    uint32_t st = s.state.load(std::memory_order_acquire);
    if (st == static_cast<uint32_t>(ConnState::kFree)) return std::nullopt;
    uint32_t seq1 = s.seq.load(std::memory_order_acquire);
    if (seq1 & 1) continue;
    ConnInfo copy;
    memcpy(&copy, &s.info, sizeof copy);
    std::atomic_thread_fence(std::memory_order_acquire);
    if (s.seq.load(std::memory_order_relaxed) != seq1) continue;
    if (state) *state = static_cast<ConnState>(st);
    return copy;
  }
  return std::nullopt;
}

uint32_t ConnTable::count_in_use() const {
  uint32_t n = 0;
  for (uint32_t i = 0; i < capacity_; ++i)
    if (slots_[i].state.load(std::memory_order_relaxed) != 0) ++n;
  return n;
}

}  // namespace sipsd
