// Answers kept for their TTL (the smallest TTL of the records used), at most max_entries of
// them: when full, the entry stored longest ago goes. NXDOMAIN and NODATA are kept for the
// SOA's negative TTL (RFC 2308), or kDefaultNegativeTtl when the reply had no SOA; server
// failures and timeouts are not kept. Pure: the caller passes the time.
#pragma once

#include <cstdint>
#include <list>
#include <memory>
#include <string>
#include <unordered_map>

#include "core/dns/records.h"

namespace sipsd::dns {

inline constexpr uint32_t kDefaultNegativeTtl = 30;  // seconds
inline constexpr uint32_t kMaxNegativeTtl = 300;
inline constexpr uint32_t kMaxPositiveTtl = 86400;

class DnsCache {
 public:
  explicit DnsCache(size_t max_entries) : max_entries_(max_entries) {}

  // The answer to `q` if one is fresh at now_ms (an expired one is dropped), else null.
  std::shared_ptr<const Answer> find(const Question& q, int64_t now_ms);
  // Keeps `a` for keep_seconds(*a) from now_ms, replacing an older answer to `q`.
  void put(const Question& q, std::shared_ptr<const Answer> a, int64_t now_ms);

  // How long an answer may be kept: 0 = not at all.
  static uint32_t keep_seconds(const Answer& a);

  size_t size() const { return index_.size(); }
  size_t max_entries() const { return max_entries_; }

 private:
  struct Entry {
    std::string key;
    int64_t expires_ms;
    std::shared_ptr<const Answer> answer;
  };
  using Order = std::list<Entry>;  // oldest first

  size_t max_entries_;
  Order order_;
  std::unordered_map<std::string, Order::iterator> index_;
};

}  // namespace sipsd::dns
