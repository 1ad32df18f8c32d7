#include "core/dns/dns_cache.h"

#include <algorithm>

namespace sipsd::dns {

uint32_t DnsCache::keep_seconds(const Answer& a) {
  switch (a.outcome) {
    case Outcome::kOk:
      return std::min(a.ttl, kMaxPositiveTtl);
    case Outcome::kNxDomain:
    case Outcome::kNoData:
      return a.has_soa ? std::min(a.ttl, kMaxNegativeTtl) : kDefaultNegativeTtl;
    default:
      return 0;  // SERVFAIL, timeouts, bad replies: the next query may do better
  }
}

std::shared_ptr<const Answer> DnsCache::find(const Question& q, int64_t now_ms) {
  auto it = index_.find(q.key());
  if (it == index_.end()) return nullptr;
  if (it->second->expires_ms <= now_ms) {
    order_.erase(it->second);
    index_.erase(it);
    return nullptr;
  }
  return it->second->answer;
}

void DnsCache::put(const Question& q, std::shared_ptr<const Answer> a, int64_t now_ms) {
  if (!a) return;
  const uint32_t keep = keep_seconds(*a);
  if (keep == 0 || max_entries_ == 0) return;
  std::string key = q.key();
  if (auto it = index_.find(key); it != index_.end()) {
    order_.erase(it->second);
    index_.erase(it);
  }
  while (index_.size() >= max_entries_) {
    index_.erase(order_.front().key);
    order_.pop_front();
  }
  order_.push_back(Entry{key, now_ms + int64_t{keep} * 1000, std::move(a)});
  index_.emplace(std::move(key), std::prev(order_.end()));
}

}  // namespace sipsd::dns
