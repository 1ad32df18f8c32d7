// Which live outbound connection a new message may ride. Keyed by destination; with
// cert_check_on_conn_reusage (sipsd's default, unlike OpenSIPS) a connection made with one
// client domain (one client certificate, one set of trusted CAs) is never reused for another
// (OpenSIPS issues #1651/#2369, PJSIP CVE-2020-15260).
#pragma once

#include <string>
#include <string_view>
#include <unordered_map>

namespace sipsd {

class StreamConn;

class OutboundTable {
 public:
  explicit OutboundTable(bool check_domain) : check_domain_(check_domain) {}

  // A usable connection to dest_key ("ip:port", tls_mgm/ip_key.h) for client domain `domain`
  // (-1 for plain TCP), or null.
  StreamConn* find(std::string_view dest_key, int domain) const;
  void add(std::string_view dest_key, int domain, StreamConn* conn);
  void remove(const StreamConn* conn);
  size_t size() const { return conns_.size(); }

 private:
  std::string key(std::string_view dest_key, int domain) const;

  bool check_domain_;
  std::unordered_multimap<std::string, StreamConn*> conns_;
  std::unordered_map<const StreamConn*, std::string> keys_;  // for remove()
};

}  // namespace sipsd
