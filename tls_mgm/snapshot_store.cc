#include "tls_mgm/snapshot_store.h"

#include <cstring>
#include <string>

namespace sipsd {

Result<uint64_t> SnapshotStore::publish(tls::TlsSnapshot snap) {
  uint64_t gen = generation() + 1;
  snap.set_generation(gen);
  std::string bytes = snap.SerializeAsString();
  if (bytes.size() > shm_.header().tls_slot_size)
    return make_error(
        strprintf("TLS snapshot of %zu bytes does not fit its %llu-byte shared "
                  "memory slot",
                  bytes.size(), static_cast<unsigned long long>(shm_.header().tls_slot_size)));
  int index = static_cast<int>(gen % 2);
  TlsSlot& slot = shm_.tls_slot(index);
  uint64_t seq = slot.seq.load(std::memory_order_relaxed);
  slot.seq.store(seq + 1, std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_release);
  memcpy(shm_.tls_data(index), bytes.data(), bytes.size());
  slot.size.store(bytes.size(), std::memory_order_relaxed);
  slot.generation.store(gen, std::memory_order_relaxed);
  slot.seq.store(seq + 2, std::memory_order_release);
  shm_.header().tls_generation.store(gen, std::memory_order_release);
  return gen;
}

uint64_t SnapshotStore::generation() const {
  return shm_.header().tls_generation.load(std::memory_order_acquire);
}

Result<tls::TlsSnapshot> SnapshotStore::read() const {
  std::string bytes;
  for (int attempt = 0; attempt < 1000; ++attempt) {
    uint64_t gen = generation();
    if (gen == 0) return make_error("no TLS snapshot has been published");
    int index = static_cast<int>(gen % 2);
    const TlsSlot& slot = shm_.tls_slot(index);
    uint64_t seq1 = slot.seq.load(std::memory_order_acquire);
    if (seq1 & 1) continue;
    uint64_t size = slot.size.load(std::memory_order_relaxed);
    uint64_t slot_gen = slot.generation.load(std::memory_order_relaxed);
    if (size > shm_.header().tls_slot_size) continue;
    bytes.assign(shm_.tls_data(index), size);
    std::atomic_thread_fence(std::memory_order_acquire);
    if (slot.seq.load(std::memory_order_relaxed) != seq1 || slot_gen != gen) continue;
    tls::TlsSnapshot snap;
    if (!snap.ParseFromString(bytes) || snap.generation() != gen)
      return make_error("TLS snapshot in shared memory is corrupt");
    return snap;
  }
  return make_error("TLS snapshot kept changing while being read");
}

}  // namespace sipsd
