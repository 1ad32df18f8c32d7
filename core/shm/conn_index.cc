#include "core/shm/conn_index.h"

#include <arpa/inet.h>

#include <cstring>

namespace sipsd {

namespace {

constexpr uint64_t make_word(uint64_t tag, uint32_t slot) {
  return (tag << 32) | (uint64_t{slot} + 1);
}
constexpr uint32_t word_tag(uint64_t w) {
  return static_cast<uint32_t>(w >> 32);
}
constexpr uint32_t word_slot(uint64_t w) {
  return static_cast<uint32_t>(w & 0xffffffffu) - 1;
}

}  // namespace

std::optional<ConnEndpoint> ConnEndpoint::parse(Proto proto, const char* ip, uint16_t port) {
  ConnEndpoint e;
  e.proto = proto;
  e.port = port;
  if (inet_pton(AF_INET, ip, e.ip) == 1) {
    e.family = AF_INET;
  } else if (inet_pton(AF_INET6, ip, e.ip) == 1) {
    e.family = AF_INET6;
  } else {
    return std::nullopt;
  }
  return e;
}

uint32_t ConnIndex::capacity_for(uint32_t conn_capacity) {
  uint64_t want = uint64_t{conn_capacity} * 4;
  uint64_t c = 64;
  while (c < want) c <<= 1;
  return static_cast<uint32_t>(c);
}

uint64_t ConnIndex::hash(const ConnEndpoint& key) {
  // FNV-1a over the fields that identify a peer, then a final mix so that the low bits (the
  // bucket) and the high bits (the tag) are both well spread.
  uint64_t h = 1469598103934665603ull;
  auto mix = [&h](uint8_t b) {
    h ^= b;
    h *= 1099511628211ull;
  };
  mix(static_cast<uint8_t>(key.proto));
  mix(key.family);
  const int n = key.family == AF_INET6 ? 16 : 4;
  for (int i = 0; i < n; ++i) mix(key.ip[i]);
  mix(static_cast<uint8_t>(key.port >> 8));
  mix(static_cast<uint8_t>(key.port));
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  return h;
}

bool ConnIndex::matches(const ConnInfo& info, const ConnEndpoint& key) {
  if (info.proto != static_cast<uint8_t>(key.proto) || info.family != key.family) return false;
  if (info.remote_port != key.port && (info.alias_port == 0 || info.alias_port != key.port))
    return false;
  return memcmp(info.remote_ip, key.ip, key.family == AF_INET6 ? 16 : 4) == 0;
}

bool ConnIndex::add(const ConnEndpoint& key, uint32_t slot) {
  if (entries_ == nullptr) return false;
  const uint64_t h = hash(key);
  const uint64_t word = make_word(h >> 32 | 1, slot);  // the tag is never 0
  for (int attempt = 0; attempt < 4; ++attempt) {
    uint32_t i = static_cast<uint32_t>(h) & mask_;
    int64_t reuse = -1;  // first tombstone on the probe path
    for (uint32_t n = 0; n <= mask_; ++n, i = (i + 1) & mask_) {
      uint64_t w = entries_[i].word.load(std::memory_order_acquire);
      if (w == word) return true;  // already there
      if (w == kTombstone && reuse < 0) reuse = i;
      if (w != 0) continue;
      uint32_t target = reuse >= 0 ? static_cast<uint32_t>(reuse) : i;
      uint64_t expected = reuse >= 0 ? kTombstone : 0;
      if (entries_[target].word.compare_exchange_strong(expected, word, std::memory_order_acq_rel))
        return true;
      break;  // another writer took it: probe again
    }
  }
  return false;
}

void ConnIndex::remove(const ConnEndpoint& key, uint32_t slot) {
  if (entries_ == nullptr) return;
  const uint64_t h = hash(key);
  const uint64_t word = make_word(h >> 32 | 1, slot);
  uint32_t i = static_cast<uint32_t>(h) & mask_;
  for (uint32_t n = 0; n <= mask_; ++n, i = (i + 1) & mask_) {
    uint64_t w = entries_[i].word.load(std::memory_order_acquire);
    if (w == 0) return;
    if (w != word) continue;
    entries_[i].word.compare_exchange_strong(w, kTombstone, std::memory_order_acq_rel);
    return;
  }
}

namespace {

ConnEndpoint endpoint_of(const ConnInfo& info, uint16_t port) {
  ConnEndpoint e;
  e.proto = static_cast<Proto>(info.proto);
  e.family = info.family;
  memcpy(e.ip, info.remote_ip, sizeof e.ip);
  e.port = port;
  return e;
}

}  // namespace

void ConnIndex::add_conn(uint32_t slot, const ConnInfo& info) {
  add(endpoint_of(info, info.remote_port), slot);
  if (info.alias_port != 0 && info.alias_port != info.remote_port)
    add(endpoint_of(info, info.alias_port), slot);
}

void ConnIndex::remove_conn(uint32_t slot, const ConnInfo& info) {
  remove(endpoint_of(info, info.remote_port), slot);
  if (info.alias_port != 0 && info.alias_port != info.remote_port)
    remove(endpoint_of(info, info.alias_port), slot);
}

std::optional<ConnIndex::Found> ConnIndex::find(const ConnEndpoint& key,
                                                std::string_view outbound_tls_domain) const {
  if (entries_ == nullptr) return std::nullopt;
  const uint64_t h = hash(key);
  const uint32_t tag = static_cast<uint32_t>(h >> 32 | 1);
  uint32_t i = static_cast<uint32_t>(h) & mask_;
  for (uint32_t n = 0; n <= mask_; ++n, i = (i + 1) & mask_) {
    uint64_t w = entries_[i].word.load(std::memory_order_acquire);
    if (w == 0) return std::nullopt;
    if (w == kTombstone || word_tag(w) != tag) continue;
    uint32_t slot = word_slot(w);
    if (slot >= table_.capacity()) continue;
    ConnState state = ConnState::kFree;
    std::optional<ConnInfo> info = table_.read(slot, &state);
    if (!info || !matches(*info, key)) continue;
    if (state == ConnState::kClosing || state == ConnState::kClaimed) continue;
    if (!outbound_tls_domain.empty() && info->outbound &&
        std::string_view(info->tls_domain) != outbound_tls_domain)
      continue;
    return Found{slot, *info, state};
  }
  return std::nullopt;
}

}  // namespace sipsd
