// TLS session-ticket keys shared by all workers, so that a client resumes its session whichever
// worker its next connection lands on (OpenSSL's default keys are per SSL_CTX, i.e. per worker).
//
// The supervisor owns the keys: it makes one per period (ticket_key_interval), publishes it in
// shared memory with the previous one, and replaces them at every period boundary. Workers seal
// new tickets with the current key and open tickets sealed with either key (a ticket under the
// previous key is renewed). Keys are random, so a restart starts afresh; with ticket_key_file
// they are derived from the file's secret and the period number instead (HKDF-SHA256), which
// makes every host that shares the file, and every restart, use the same keys. A TLS reload
// leaves them alone, so tickets stay valid across it.
#pragma once

#include <openssl/ssl.h>

#include <cstdint>
#include <optional>
#include <string>

#include "core/base/result.h"
#include "core/shm/shm_region.h"

namespace sipsd {

struct TicketKey {
  unsigned char name[16];
  unsigned char aes[32];
  unsigned char hmac[32];
};

// Where keys come from.
class TicketKeySource {
 public:
  // key_file empty: random keys. Otherwise the file must hold at least 32 bytes and must not be
  // readable by other users.
  static Result<TicketKeySource> create(const std::string& key_file, int interval_s);

  int interval_s() const { return interval_s_; }
  bool from_file() const { return !secret_.empty(); }
  // The key of period k (k = unix time / interval).
  Result<TicketKey> key_for_period(uint64_t k) const;

 private:
  std::string secret_;
  int interval_s_ = 43200;
};

// The shared-memory slot, read by workers without a lock.
class TicketKeyStore {
 public:
  explicit TicketKeyStore(TicketKeySlot& slot) : slot_(&slot) {}

  // Supervisor only.
  void publish(const TicketKey& current, const TicketKey* previous);
  // Any process: a consistent copy; false when nothing is published.
  bool read(TicketKey* current, TicketKey* previous, bool* has_previous) const;
  uint64_t generation() const { return slot_->generation.load(std::memory_order_acquire); }

 private:
  TicketKeySlot* slot_;
};

// The supervisor's side: publishes the key of the current period (keeping the previous one)
// and says when the next period starts.
class TicketKeyRotator {
 public:
  TicketKeyRotator(TicketKeySource source, TicketKeyStore store)
      : source_(std::move(source)), store_(store) {}
  // Publishes the keys for the period containing now_unix_ms (a no-op when they already are);
  // returns the milliseconds until the next period.
  Result<int64_t> rotate(int64_t now_unix_ms);

 private:
  TicketKeySource source_;
  TicketKeyStore store_;
  std::optional<uint64_t> period_;
  std::optional<TicketKey> current_;
};

// Worker side: seal and open this context's tickets with the keys in `store` (which must
// outlive the context).
void install_ticket_keys(SSL_CTX* ctx, const TicketKeyStore* store);

}  // namespace sipsd
