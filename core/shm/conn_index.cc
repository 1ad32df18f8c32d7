#include "core/shm/conn_index.h"

#include <arpa/inet.h>

#include <cstring>

namespace sipsd {

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
  return HashWords::round_capacity(uint64_t{conn_capacity} * 4);
}

uint64_t ConnIndex::hash(const ConnEndpoint& key) {
  uint8_t bytes[20];
  bytes[0] = static_cast<uint8_t>(key.proto);
  bytes[1] = key.family;
  bytes[2] = static_cast<uint8_t>(key.port >> 8);
  bytes[3] = static_cast<uint8_t>(key.port);
  memcpy(bytes + 4, key.ip, 16);
  return hash_bytes(bytes, key.family == AF_INET6 ? 20 : 8);
}

bool ConnIndex::matches(const ConnInfo& info, const ConnEndpoint& key) {
  if (info.proto != static_cast<uint8_t>(key.proto) || info.family != key.family) return false;
  if (info.remote_port != key.port && (info.alias_port == 0 || info.alias_port != key.port))
    return false;
  return memcmp(info.remote_ip, key.ip, key.family == AF_INET6 ? 16 : 4) == 0;
}

bool ConnIndex::add(const ConnEndpoint& key, uint32_t slot) {
  return words_.add(hash(key), slot + 1);
}

void ConnIndex::remove(const ConnEndpoint& key, uint32_t slot) {
  words_.remove(hash(key), slot + 1);
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
  std::optional<Found> found;
  words_.find(hash(key), [&](uint32_t value) {
    const uint32_t slot = value - 1;
    if (slot >= table_.capacity()) return false;
    ConnState state = ConnState::kFree;
    std::optional<ConnInfo> info = table_.read(slot, &state);
    if (!info || !matches(*info, key)) return false;
    if (state == ConnState::kClosing || state == ConnState::kClaimed) return false;
    if (!outbound_tls_domain.empty() && info->outbound &&
        std::string_view(info->tls_domain) != outbound_tls_domain)
      return false;
    found = Found{slot, *info, state};
    return true;
  });
  return found;
}

}  // namespace sipsd
