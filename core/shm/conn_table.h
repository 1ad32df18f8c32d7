// The connection table in shared memory: one fixed slot per live connection, written by its
// owner (the supervisor when it hands the connection off, then the worker that owns it),
// readable by every process through a per-slot seqlock. It answers "which connections exist,
// who owns them, in what state" for the management interface and tests.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>

namespace sipsd {

enum class ConnState : uint32_t {
  kFree = 0,
  kHandedOff,    // accepted by the supervisor, on its way to a worker
  kHandshaking,  // TLS handshake in progress
  kEstablished,
  kClosing,
  kClaimed,     // being filled in by allocate()
  kConnecting,  // outbound: TCP connect in progress
};

const char* conn_state_name(ConnState s);

// A plain, trivially copyable description of one connection.
struct ConnInfo {
  uint32_t id = 0;
  int32_t owner = -1;  // process index (0 supervisor, 1..N workers)
  uint8_t proto = 0;   // sipsd::Proto
  uint8_t family = 0;  // AF_INET / AF_INET6
  uint16_t local_port = 0;
  uint16_t remote_port = 0;
  uint8_t local_ip[16] = {};
  uint8_t remote_ip[16] = {};
  int64_t created_ms = 0;
  int64_t lifetime_ms = 0;  // idle lifetime (tcp_connection_lifetime)
  uint8_t outbound = 0;
  uint8_t tls_peer_verified = 0;
  uint16_t alias_port = 0;  // RFC 5923 alias (the peer's Via port), 0 = none
  char tls_version[12] = {};
  char tls_cipher[64] = {};
  char tls_sni[64] = {};     // truncated for display
  char tls_domain[32] = {};  // the tls_mgm domain
};

struct ConnSlot {
  std::atomic<uint32_t> state;  // ConnState; the allocation word
  std::atomic<uint32_t> seq;    // seqlock over `info`: odd while being written
  // Wall-clock ms of the last complete message or write, stored by the owner on its hot path
  // with one relaxed store (outside the seqlock); Lifetime = this + info.lifetime_ms.
  std::atomic<int64_t> active_ms;
  ConnInfo info;
};

class ConnTable {
 public:
  ConnTable() = default;
  ConnTable(ConnSlot* slots, uint32_t capacity) : slots_(slots), capacity_(capacity) {}

  uint32_t capacity() const { return capacity_; }

  // Claims a free slot (atomically: the supervisor and workers may allocate at once) and writes
  // `info` into it (state kHandedOff).
  std::optional<uint32_t> allocate(const ConnInfo& info);
  // The slot's owner: rewrites the description and state.
  void update(uint32_t slot, const ConnInfo& info, ConnState state);
  // The slot's owner: frees the slot.
  void release(uint32_t slot);
  // Supervisor, after the worker at `owner` died: frees every slot it owned, calling
  // `on_release` (if set) with each one's last description first.
  uint32_t release_owned_by(int32_t owner,
                            const std::function<void(uint32_t, const ConnInfo&)>& on_release = {});

  // The slot's owner: the connection was active now (hot path: one relaxed store).
  void touch(uint32_t slot, int64_t now_ms) {
    slots_[slot].active_ms.store(now_ms, std::memory_order_relaxed);
  }
  int64_t active_ms(uint32_t slot) const {
    return slots_[slot].active_ms.load(std::memory_order_relaxed);
  }
  // Any process: a consistent copy of a slot; nullopt if free.
  std::optional<ConnInfo> read(uint32_t slot, ConnState* state = nullptr) const;
  uint32_t count_in_use() const;

 private:
  void write_info(ConnSlot& s, const ConnInfo& info);

  ConnSlot* slots_ = nullptr;
  uint32_t capacity_ = 0;
  uint32_t cursor_ = 0;  // supervisor-private: where the next free-slot scan starts
};

}  // namespace sipsd
