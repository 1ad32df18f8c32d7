// Publishing the TLS snapshot through shared memory. The supervisor serializes a TlsSnapshot
// into the slot not currently published (double buffer, each slot under its own seqlock) and
// then flips the header's generation with release semantics. Workers read the current slot
// without any lock and retry if it changed under them.
#pragma once

#include <cstdint>

#include "core/base/result.h"
#include "core/shm/shm_region.h"
#include "tls_mgm/tls_snapshot.pb.h"

namespace sipsd {

class SnapshotStore {
 public:
  explicit SnapshotStore(ShmRegion& shm) : shm_(shm) {}

  // Supervisor: publishes `snap` as the next generation (snap's generation field is set here).
  // Fails, changing nothing, when the serialized snapshot does not fit a slot.
  Result<uint64_t> publish(tls::TlsSnapshot snap);

  // Any process: the generation currently published (0 = none).
  uint64_t generation() const;

  // Worker: a copy of the current snapshot.
  Result<tls::TlsSnapshot> read() const;

 private:
  ShmRegion& shm_;
};

}  // namespace sipsd
