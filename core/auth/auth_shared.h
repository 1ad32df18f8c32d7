// AuthShared: auth's state in shared memory, one anonymous MAP_SHARED mapping the supervisor
// makes before it forks (so only its children see it; the nonce secret lives here):
//
//   AuthShmHeader | NonceSlot[nonce_slots] | SubscriberTable[2]
//
// * the nonce secret (random at start-up, or auth's `secret` modparam);
// * the nonce index: one slot per recently issued nonce (a ring of nonce_slots), holding the
//   nonce-counts seen so far, so a nonce is accepted once per nc (RFC 7616 §3.4) and any
//   worker can check it; a slot is reused after nonce_slots further nonces, and reusing one
//   whose nonce has not expired yet is counted (auth:nonce_index_full);
// * the subscriber cache: two tables (double buffer); the supervisor fills the inactive one
//   from SQLite and flips `active`; workers look users up without any lock or database call
//   (a per-table seqlock makes a reader that raced a refill retry).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/base/result.h"

namespace sipsd::auth {

inline constexpr size_t kSecretSize = 32;
inline constexpr size_t kFieldSize = 64;  // username, domain, password (CHAR(64) columns)

struct NonceSlot {
  std::atomic<uint32_t> lock;  // spinlock: held for a few instructions
  uint32_t index;              // the nonce's index (full 32 bits: detects reuse)
  int64_t expires;             // unix seconds
  uint32_t max_nc;             // highest nonce-count accepted (0 = none yet)
  uint64_t window;             // bit k: nc max_nc - k was accepted
};

// One subscriber row as the workers need it.
struct SubscriberEntry {
  uint8_t username_len, domain_len, password_len;
  char username[kFieldSize];
  char domain[kFieldSize];
  char password[kFieldSize];  // only with calculate_ha1 = 1
  char ha1_md5[32];
  char ha1_sha256[64];
  char ha1_sha512t256[64];
  uint8_t has_md5, has_sha256, has_sha512t256;
};

// A copy for the caller.
struct Subscriber {
  std::string username, domain, password, ha1_md5, ha1_sha256, ha1_sha512t256;
};

class AuthShared {
 public:
  struct Layout {
    uint32_t nonce_slots = 1 << 17;
    uint32_t cache_size = 65536;  // subscribers the cache holds
  };
  // `secret`: kSecretSize bytes, or empty for a random one.
  static Result<std::unique_ptr<AuthShared>> create(const Layout& layout, std::string_view secret);
  ~AuthShared();
  AuthShared(const AuthShared&) = delete;
  AuthShared& operator=(const AuthShared&) = delete;

  std::string_view secret() const;
  uint32_t nonce_slots() const;
  uint32_t cache_size() const;

  // ---- nonce index
  // The next nonce index; `expires` recorded for it. Returns false in `*overwrote_live` terms:
  // true when the slot still held an unexpired nonce (the index is too small for the load).
  uint32_t issue_nonce(int64_t expires, int64_t now, bool* overwrote_live);
  enum class NcCheck : uint8_t { kOk, kForgotten, kReplayed };
  // Accepts nonce-count `nc` (1 for a nonce used without qop) of nonce `index` once.
  NcCheck use_nonce_count(uint32_t index, uint32_t nc);

  // ---- subscriber cache
  // Looks up `username` (and `domain` when match_domain); copies the row into *out.
  bool find_subscriber(std::string_view username, std::string_view domain, bool match_domain,
                       Subscriber* out) const;
  // Writer side (one process: the supervisor). begin_fill() clears the inactive table,
  // add() puts one row there (false: the table is full or a field too long; the reason in
  // *why), publish() makes it the active one.
  void begin_fill();
  bool add(const Subscriber& s, std::string* why);
  uint32_t publish();  // the number of subscribers now active
  uint32_t active_count() const;
  uint64_t generation() const;

 private:
  AuthShared(void* base, size_t size);
  struct Header;
  struct Table;
  Header& header() const;
  NonceSlot* slots() const;
  Table& table(int i) const;
  uint32_t* table_index(int i) const;
  SubscriberEntry* table_entries(int i) const;

  char* base_;
  size_t size_;
  int filling_ = -1;  // writer: the table being filled
};

}  // namespace sipsd::auth
