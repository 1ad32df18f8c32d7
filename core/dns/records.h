// DNS questions and answers as the resolver's pure parts see them (types only): what
// dns_message.cc makes out of a reply, what dns_cache.cc keeps and what query_plan.cc decides
// on. Every list here is bounded by dns_message.cc's limits.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace sipsd::dns {

// The record types RFC 3263 needs (values are the wire type codes).
enum class RrType : uint16_t { kA = 1, kCname = 5, kSoa = 6, kAaaa = 28, kSrv = 33, kNaptr = 35 };

const char* rr_type_name(RrType t);  // "A", "AAAA", "SRV", "NAPTR", ...

// One query: a type and a name, lower case, without the trailing dot.
struct Question {
  RrType type = RrType::kA;
  std::string name;

  bool operator==(const Question&) const = default;
  // "A|b.example": the key of the cache and of the queries in flight.
  std::string key() const;
};

// How a query ended.
enum class Outcome : uint8_t {
  kOk,        // at least one record of the asked type (after following CNAMEs)
  kNxDomain,  // the name does not exist
  kNoData,    // the name exists, but has no record of this type
  kServFail,  // (c-ares tries the next server instead: these reach us as kError)
  kRefused,
  kTimeout,
  kBadReply,  // malformed, truncated, a CNAME loop, an unexpected rcode
  kBadName,   // the name cannot be asked (too long, bad label)
  kError,     // no server answered, out of memory, ... (Answer::detail says)
};

const char* outcome_name(Outcome o);  // "NXDOMAIN", "SERVFAIL", "timeout", ...

struct SrvRecord {
  uint16_t priority = 0;
  uint16_t weight = 0;
  uint16_t port = 0;
  std::string target;  // "" for "." (RFC 2782: the service is not available there)
};

struct NaptrRecord {
  uint16_t order = 0;
  uint16_t preference = 0;
  std::string flags;
  std::string service;
  std::string regexp;
  std::string replacement;  // "" for "."
};

struct Answer {
  Outcome outcome = Outcome::kOk;
  // Seconds the answer may be kept: the smallest TTL of the records used (CNAMEs included);
  // for NXDOMAIN/NODATA the SOA's negative TTL (min of its TTL and MINIMUM), 0 when the reply
  // had no SOA. dns_cache.cc decides what it keeps.
  uint32_t ttl = 0;
  bool has_soa = false;
  std::vector<std::string> addresses;  // A/AAAA: numeric text, IPv6 without brackets
  std::vector<SrvRecord> srv;
  std::vector<NaptrRecord> naptr;
  std::string detail;  // why, for kBadReply / kError ("CNAME chain longer than 8", ...)

  bool ok() const { return outcome == Outcome::kOk; }
};

// "NXDOMAIN for b.example", "no SRV record for _sip._udp.b.example",
// "timeout for b.example (A)", "bad reply for b.example (A): CNAME loop at b.example": the
// failure of `a` to answer `q`, for ResolveResult::error.
std::string describe_failure(const Question& q, const Answer& a);

}  // namespace sipsd::dns
