// Dnsmasq: a real DNS server for integration tests (Debian's dnsmasq-base), on 127.0.0.1 at a
// free port, answering from the records given on its command line (--host-record, --srv-host,
// --naptr-record, ...) and logging every query. Stopped when the object goes.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/base/result.h"
#include "tests/integration/subprocess.h"

namespace sipsd::test {

class Dnsmasq {
 public:
  static Result<Dnsmasq> start(const std::vector<std::string>& records);

  uint16_t port() const { return port_; }
  // "127.0.0.1:port", as sipsd's dns_servers and the resolver's servers take it.
  std::string server() const { return "127.0.0.1:" + std::to_string(port_); }
  // Queries dnsmasq logged for "query[TYPE] name from".
  int queries(const std::string& type, const std::string& name) const;
  std::string log() const { return child_.err(); }

 private:
  Dnsmasq(Child child, uint16_t port) : child_(std::move(child)), port_(port) {}
  Child child_;
  uint16_t port_;
};

}  // namespace sipsd::test
