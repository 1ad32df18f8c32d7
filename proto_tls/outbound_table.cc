#include "proto_tls/outbound_table.h"

#include "proto_tls/stream_conn.h"

namespace sipsd {

std::string OutboundTable::key(std::string_view dest_key, int domain) const {
  std::string k(dest_key);
  if (check_domain_) {
    k += '#';
    k += std::to_string(domain);
  }
  return k;
}

StreamConn* OutboundTable::find(std::string_view dest_key, int domain) const {
  auto range = conns_.equal_range(key(dest_key, domain));
  for (auto it = range.first; it != range.second; ++it)
    if (!it->second->closed()) return it->second;
  return nullptr;
}

void OutboundTable::add(std::string_view dest_key, int domain, StreamConn* conn) {
  std::string k = key(dest_key, domain);
  conns_.emplace(k, conn);
  keys_[conn] = std::move(k);
}

void OutboundTable::remove(const StreamConn* conn) {
  auto k = keys_.find(conn);
  if (k == keys_.end()) return;
  auto range = conns_.equal_range(k->second);
  for (auto it = range.first; it != range.second; ++it) {
    if (it->second == conn) {
      conns_.erase(it);
      break;
    }
  }
  keys_.erase(k);
}

}  // namespace sipsd
