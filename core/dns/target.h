// What the resolver is asked (a next hop as a SIP URI names it) and what it answers (the
// addresses to try, in failover order). Types only: tm and the transports include this
// without the c-ares shell.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/base/transport.h"

namespace sipsd::dns {

// The next hop as a SIP URI ($du, else the R-URI) says it.
struct SipTarget {
  std::string host;   // a name or an IP literal (IPv6 with or without brackets)
  uint16_t port = 0;  // 0 = the URI has no port
  std::optional<Proto> transport = std::nullopt;  // ;transport= of the URI, if any
  bool secure = false;                            // a sips: URI

  bool operator==(const SipTarget&) const = default;
};

// One address to try.
struct Destination {
  Proto proto = Proto::kUdp;
  std::string ip;  // numeric, IPv6 without brackets
  uint16_t port = 0;
  // The name a TLS connection must present a certificate for, and sends as SNI: the host of
  // the SipTarget (the domain the user asked for; RFC 5922 §4: not an SRV/NAPTR target, which
  // DNS without DNSSEC cannot vouch for). "" when the target was an IP literal.
  std::string server_name;

  bool operator==(const Destination&) const = default;
};

struct ResolveResult {
  // In failover order: the first is the next hop, the rest is what tm's DNS failover tries
  // after a 503 or a timeout. At most kMaxDestinations; empty when error is set.
  std::vector<Destination> destinations;
  // "" = ok; else why, naming each lookup that failed on the way, e.g.
  // "NXDOMAIN for b.example; NXDOMAIN for _sips._tcp.b.example".
  std::string error;

  bool ok() const { return error.empty(); }
};

inline constexpr size_t kMaxDestinations = 16;

}  // namespace sipsd::dns
