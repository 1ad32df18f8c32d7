#include "core/auth/auth_shared.h"

#include <openssl/rand.h>
#include <sys/mman.h>

#include <bit>
#include <cstring>

namespace sipsd::auth {

struct AuthShared::Header {
  char magic[8];
  uint32_t nonce_slots;
  uint32_t cache_size;
  uint32_t index_size;  // hash index words per table, a power of two
  uint64_t slots_off;
  uint64_t table_off[2];
  uint64_t table_bytes;
  unsigned char secret[kSecretSize];
  std::atomic<uint32_t> next_index;
  std::atomic<uint32_t> active;  // 0 or 1
  std::atomic<uint64_t> generation;
};

struct AuthShared::Table {
  std::atomic<uint64_t> seq;  // odd while being filled
  uint32_t count;
  // followed by uint32_t index[index_size] (entry + 1, 0 = empty), then entries[cache_size]
};

namespace {

constexpr char kMagic[8] = {'S', 'I', 'P', 'S', 'A', 'U', 'T', 'H'};

uint64_t align64(uint64_t n) {
  return (n + 63) & ~uint64_t{63};
}

uint32_t hash_name(std::string_view s) {
  uint32_t h = 2166136261u;  // FNV-1a
  for (char c : s) {
    h ^= static_cast<unsigned char>(c);
    h *= 16777619u;
  }
  return h;
}

class SpinGuard {
 public:
  explicit SpinGuard(std::atomic<uint32_t>& l) : l_(l) {
    while (l_.exchange(1, std::memory_order_acquire) != 0) {
      while (l_.load(std::memory_order_relaxed) != 0) {
      }
    }
  }
  ~SpinGuard() { l_.store(0, std::memory_order_release); }
  SpinGuard(const SpinGuard&) = delete;
  SpinGuard& operator=(const SpinGuard&) = delete;

 private:
  std::atomic<uint32_t>& l_;
};

bool copy_field(std::string_view v, char* dst, uint8_t* len) {
  if (v.size() > kFieldSize) return false;
  memcpy(dst, v.data(), v.size());
  *len = static_cast<uint8_t>(v.size());
  return true;
}

}  // namespace

Result<std::unique_ptr<AuthShared>> AuthShared::create(const Layout& layout,
                                                       std::string_view secret) {
  if (layout.nonce_slots == 0 || layout.cache_size == 0)
    return make_error("auth: the nonce index and the subscriber cache need at least one slot");
  const uint32_t index_size = std::bit_ceil(2 * layout.cache_size);
  const uint64_t header_bytes = align64(sizeof(Header));
  const uint64_t slots_bytes = align64(uint64_t{layout.nonce_slots} * sizeof(NonceSlot));
  const uint64_t table_bytes = align64(sizeof(Table)) + align64(uint64_t{index_size} * 4) +
                               align64(uint64_t{layout.cache_size} * sizeof(SubscriberEntry));
  const uint64_t total = header_bytes + slots_bytes + 2 * table_bytes;
  void* p = mmap(nullptr, total, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE,
                 -1, 0);
  if (p == MAP_FAILED)
    return make_error(strprintf("auth: cannot map %llu bytes of shared memory: %s",
                                static_cast<unsigned long long>(total), strerror(errno)));
  std::unique_ptr<AuthShared> s(new AuthShared(p, total));
  Header& h = *new (p) Header{};
  memcpy(h.magic, kMagic, sizeof kMagic);
  h.nonce_slots = layout.nonce_slots;
  h.cache_size = layout.cache_size;
  h.index_size = index_size;
  h.slots_off = header_bytes;
  h.table_off[0] = header_bytes + slots_bytes;
  h.table_off[1] = header_bytes + slots_bytes + table_bytes;
  h.table_bytes = table_bytes;
  for (uint64_t off : h.table_off) new (static_cast<char*>(p) + off) Table{};
  for (uint32_t i = 0; i < layout.nonce_slots; ++i)
    new (static_cast<char*>(p) + header_bytes + i * sizeof(NonceSlot)) NonceSlot{};
  if (secret.empty()) {
    if (RAND_bytes(h.secret, kSecretSize) != 1)
      return make_error("auth: no random bytes for the nonce secret");
  } else {
    if (secret.size() != kSecretSize)
      return make_error(strprintf("auth: secret must be exactly %zu characters, got %zu",
                                  kSecretSize, secret.size()));
    memcpy(h.secret, secret.data(), kSecretSize);
  }
  uint32_t start = 0;
  RAND_bytes(reinterpret_cast<unsigned char*>(&start), sizeof start);
  h.next_index.store(start, std::memory_order_relaxed);
  return s;
}

AuthShared::AuthShared(void* base, size_t size) : base_(static_cast<char*>(base)), size_(size) {}

AuthShared::~AuthShared() {
  munmap(base_, size_);
}

AuthShared::Header& AuthShared::header() const {
  return *reinterpret_cast<Header*>(base_);
}
NonceSlot* AuthShared::slots() const {
  return reinterpret_cast<NonceSlot*>(base_ + header().slots_off);
}
AuthShared::Table& AuthShared::table(int i) const {
  return *reinterpret_cast<Table*>(base_ + header().table_off[i]);
}
uint32_t* AuthShared::table_index(int i) const {
  return reinterpret_cast<uint32_t*>(base_ + header().table_off[i] + align64(sizeof(Table)));
}
SubscriberEntry* AuthShared::table_entries(int i) const {
  return reinterpret_cast<SubscriberEntry*>(base_ + header().table_off[i] + align64(sizeof(Table)) +
                                            align64(uint64_t{header().index_size} * 4));
}

std::string_view AuthShared::secret() const {
  return {reinterpret_cast<const char*>(header().secret), kSecretSize};
}
uint32_t AuthShared::nonce_slots() const {
  return header().nonce_slots;
}
uint32_t AuthShared::cache_size() const {
  return header().cache_size;
}

uint32_t AuthShared::issue_nonce(int64_t expires, int64_t now, bool* overwrote_live) {
  Header& h = header();
  const uint32_t index = h.next_index.fetch_add(1, std::memory_order_relaxed);
  NonceSlot& s = slots()[index % h.nonce_slots];
  SpinGuard g(s.lock);
  *overwrote_live = s.expires > now;
  s.index = index;
  s.expires = expires;
  s.max_nc = 0;
  s.window = 0;
  return index;
}

AuthShared::NcCheck AuthShared::use_nonce_count(uint32_t index, uint32_t nc) {
  NonceSlot& s = slots()[index % header().nonce_slots];
  SpinGuard g(s.lock);
  if (s.index != index || s.expires == 0) return NcCheck::kForgotten;
  if (nc == 0) return NcCheck::kReplayed;
  if (nc > s.max_nc) {
    const uint32_t shift = nc - s.max_nc;
    s.window = shift >= 64 ? 0 : s.window << shift;
    s.window |= 1;
    s.max_nc = nc;
    return NcCheck::kOk;
  }
  const uint32_t back = s.max_nc - nc;
  if (back >= 64 || (s.window & (uint64_t{1} << back))) return NcCheck::kReplayed;
  s.window |= uint64_t{1} << back;
  return NcCheck::kOk;
}

bool AuthShared::find_subscriber(std::string_view username, std::string_view domain,
                                 bool match_domain, Subscriber* out) const {
  const Header& h = header();
  for (int attempt = 0; attempt < 64; ++attempt) {
    const int t = static_cast<int>(h.active.load(std::memory_order_acquire));
    Table& tb = table(t);
    const uint64_t seq1 = tb.seq.load(std::memory_order_acquire);
    if (seq1 & 1) continue;
    const uint32_t* index = table_index(t);
    const SubscriberEntry* entries = table_entries(t);
    const uint32_t mask = h.index_size - 1;
    bool found = false;
    SubscriberEntry copy;
    for (uint32_t i = hash_name(username) & mask, n = 0; n <= mask; i = (i + 1) & mask, ++n) {
      const uint32_t e = index[i];
      if (e == 0 || e > h.cache_size) break;
      const SubscriberEntry& se = entries[e - 1];
      if (std::string_view(se.username, std::min<size_t>(se.username_len, kFieldSize)) != username)
        continue;
      if (match_domain &&
          std::string_view(se.domain, std::min<size_t>(se.domain_len, kFieldSize)) != domain)
        continue;
      memcpy(&copy, &se, sizeof copy);
      found = true;
      break;
    }
    std::atomic_thread_fence(std::memory_order_acquire);
    if (tb.seq.load(std::memory_order_relaxed) != seq1) continue;  // refilled meanwhile
    if (!found) return false;
    auto field = [](const char* p, size_t n, size_t max) {
      return std::string(p, std::min(n, max));
    };
    out->username = field(copy.username, copy.username_len, kFieldSize);
    out->domain = field(copy.domain, copy.domain_len, kFieldSize);
    out->password = field(copy.password, copy.password_len, kFieldSize);
    out->ha1_md5 = copy.has_md5 ? std::string(copy.ha1_md5, 32) : std::string();
    out->ha1_sha256 = copy.has_sha256 ? std::string(copy.ha1_sha256, 64) : std::string();
    out->ha1_sha512t256 =
        copy.has_sha512t256 ? std::string(copy.ha1_sha512t256, 64) : std::string();
    return true;
  }
  return false;
}

void AuthShared::begin_fill() {
  Header& h = header();
  filling_ = 1 - static_cast<int>(h.active.load(std::memory_order_relaxed));
  Table& tb = table(filling_);
  const uint64_t seq = tb.seq.load(std::memory_order_relaxed);
  tb.seq.store(seq + 1, std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_release);
  memset(table_index(filling_), 0, uint64_t{h.index_size} * 4);
  tb.count = 0;
}

bool AuthShared::add(const Subscriber& s, std::string* why) {
  Header& h = header();
  Table& tb = table(filling_);
  if (tb.count >= h.cache_size) {
    *why = strprintf("the subscriber cache is full (%u entries)", h.cache_size);
    return false;
  }
  SubscriberEntry& e = table_entries(filling_)[tb.count];
  memset(&e, 0, sizeof e);
  if (!copy_field(s.username, e.username, &e.username_len) ||
      !copy_field(s.domain, e.domain, &e.domain_len) ||
      !copy_field(s.password, e.password, &e.password_len)) {
    *why = "a field is longer than 64 characters";
    return false;
  }
  if (s.ha1_md5.size() == 32) {
    memcpy(e.ha1_md5, s.ha1_md5.data(), 32);
    e.has_md5 = 1;
  }
  if (s.ha1_sha256.size() == 64) {
    memcpy(e.ha1_sha256, s.ha1_sha256.data(), 64);
    e.has_sha256 = 1;
  }
  if (s.ha1_sha512t256.size() == 64) {
    memcpy(e.ha1_sha512t256, s.ha1_sha512t256.data(), 64);
    e.has_sha512t256 = 1;
  }
  uint32_t* index = table_index(filling_);
  const uint32_t mask = h.index_size - 1;
  uint32_t i = hash_name(s.username) & mask;
  while (index[i] != 0) i = (i + 1) & mask;  // the index is at least twice the capacity
  index[i] = ++tb.count;
  return true;
}

uint32_t AuthShared::publish() {
  Header& h = header();
  Table& tb = table(filling_);
  tb.seq.store(tb.seq.load(std::memory_order_relaxed) + 1, std::memory_order_release);
  h.active.store(static_cast<uint32_t>(filling_), std::memory_order_release);
  h.generation.fetch_add(1, std::memory_order_release);
  const uint32_t n = tb.count;
  filling_ = -1;
  return n;
}

uint32_t AuthShared::active_count() const {
  return table(static_cast<int>(header().active.load(std::memory_order_acquire))).count;
}

uint64_t AuthShared::generation() const {
  return header().generation.load(std::memory_order_acquire);
}

}  // namespace sipsd::auth
