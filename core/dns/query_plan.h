// RFC 3263 next-hop resolution as OpenSIPS's sip_resolvehost does it, without sockets: a
// QueryPlan is fed DNS answers and says which questions it needs next, until it can give the
// ordered list of destinations. resolver.cc asks the questions (cache or c-ares).
//
// Rules (OpenSIPS 3.x sip_resolvehost on top of RFC 3263), for a SipTarget:
//  1. IP literal: the URI's transport, else the default transport; the URI's port, else the
//     transport's default port. No DNS.
//  2. Host with a port: A (then AAAA when try_ipv6 and A gave nothing) on that port.
//  3. Host with a transport, no port: SRV _sip._udp / _sip._tcp / _sips._tcp (TLS) of the host;
//     when it has no records, A on the transport's default port.
//  4. Host only: NAPTR of the host when try_naptr: records with flag S, an empty regexp and a
//     service SIP+D2U / SIP+D2T / SIPS+D2T (a sips: URI keeps SIPS+ only) whose transport is
//     supported, in order then preference; SRV of each replacement. When that gives no
//     destination: one SRV, _sip._udp (or _sips._tcp for sips:), then A on the default port.
// The default transport is UDP (TLS for sips:), as in OpenSIPS; when UDP is not among the
// supported transports, TCP, then TLS: sipsd may have no UDP listener to send from.
// A sips: URI is resolved for TLS (";transport=tcp" too); ";transport=udp" is an error.
// SRV records are ordered by priority, then weighted-randomly within a priority (RFC 2782);
// every A/AAAA of every target goes into the list, in that order, duplicates removed, at most
// kMaxDestinations, from at most kMaxSrvTargets targets and kMaxNaptrChoices NAPTR records.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/base/transport.h"
#include "core/dns/records.h"
#include "core/dns/target.h"

namespace sipsd::dns {

inline constexpr size_t kMaxNaptrChoices = 4;
inline constexpr size_t kMaxSrvTargets = 16;

struct PlanParams {
  bool try_naptr = true;
  bool try_ipv6 = false;
  uint16_t default_port = 5060;       // UDP and TCP
  uint16_t tls_default_port = 5061;   // tls_port
  std::vector<Proto> supported = {};  // transports NAPTR may choose; empty = all
};

// Uniform random number in [0, bound] (SRV weights).
using Random = std::function<uint32_t(uint32_t bound)>;

// "_sip._udp", "_sip._tcp", "_sips._tcp".
const char* srv_prefix(Proto p);
// The transport used when neither the URI nor DNS says one (see above).
Proto default_proto(bool secure, const std::vector<Proto>& supported);

// A NAPTR record that leads to an SRV lookup.
struct NaptrChoice {
  Proto proto;
  std::string srv_name;

  bool operator==(const NaptrChoice&) const = default;
};

// The usable NAPTR records (rule 4), in order then preference, duplicates removed, at most
// kMaxNaptrChoices.
std::vector<NaptrChoice> select_naptr(const std::vector<NaptrRecord>& records, bool secure,
                                      const std::vector<Proto>& supported);

// RFC 2782 order: priority ascending; within a priority, weighted random (weight-0 records
// get a small chance). Records whose target is "." or not a valid host name are dropped.
std::vector<SrvRecord> order_srv(const std::vector<SrvRecord>& records, const Random& random);

class QueryPlan {
 public:
  QueryPlan(const SipTarget& target, PlanParams params, Random random);

  // The questions needed now that were not returned before (each question once). Empty while
  // the plan waits for answers, and when it is done.
  std::vector<Question> take_questions();
  // An answer to a question returned by take_questions(); others are ignored.
  void add_answer(const Question& q, std::shared_ptr<const Answer> a);
  // Every question needed has its answer.
  bool done() const;
  // The destinations (or the error); valid once done().
  ResolveResult result() const;

 private:
  enum class Kind : uint8_t { kInvalid, kLiteral, kHostPort, kHostTransport, kHostOnly };
  enum class SrvState : uint8_t { kPending, kNone, kTargets };
  struct Eval;

  Eval evaluate() const;
  const Answer* lookup(RrType type, const std::string& name, Eval& e) const;
  void addresses(const std::string& host, uint16_t port, Proto proto, Eval& e) const;
  SrvState via_srv(const std::string& srv_name, Proto proto, Eval& e) const;
  void add_destination(Eval& e, Proto proto, const std::string& ip, uint16_t port) const;
  uint16_t port_for(Proto p) const;

  PlanParams params_;
  Random random_;
  Kind kind_ = Kind::kInvalid;
  bool secure_ = false;
  Proto proto_ = Proto::kUdp;  // the URI's transport, or the default one
  uint16_t port_ = 0;          // kLiteral, kHostPort
  std::string name_;           // the host as a DNS name, or the literal's numeric text
  std::string server_name_;
  std::string invalid_;                                                     // kInvalid: why
  std::unordered_map<std::string, std::shared_ptr<const Answer>> answers_;  // by Question::key
  std::unordered_map<std::string, std::vector<SrvRecord>> srv_order_;       // by SRV name
  std::vector<NaptrChoice> naptr_choices_;
  std::set<std::string> asked_;
};

}  // namespace sipsd::dns
