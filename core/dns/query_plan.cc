#include "core/dns/query_plan.h"

#include <algorithm>

#include "core/base/ascii.h"
#include "core/dns/host_name.h"

namespace sipsd::dns {

namespace {

bool supports(const std::vector<Proto>& supported, Proto p) {
  return supported.empty() || std::find(supported.begin(), supported.end(), p) != supported.end();
}

// SIP+D2U, SIP+D2T, SIPS+D2T (RFC 3263 §4.1); D2S is SCTP, which sipsd does not speak.
std::optional<Proto> naptr_service_proto(std::string_view service) {
  if (ascii_iequals(service, "SIP+D2U")) return Proto::kUdp;
  if (ascii_iequals(service, "SIP+D2T")) return Proto::kTcp;
  if (ascii_iequals(service, "SIPS+D2T")) return Proto::kTls;
  return std::nullopt;
}

}  // namespace

const char* srv_prefix(Proto p) {
  switch (p) {
    case Proto::kUdp:
      return "_sip._udp";
    case Proto::kTcp:
      return "_sip._tcp";
    case Proto::kTls:
      return "_sips._tcp";
  }
  return "_sip._udp";
}

Proto default_proto(bool secure, const std::vector<Proto>& supported) {
  if (secure) return Proto::kTls;
  for (Proto p : {Proto::kUdp, Proto::kTcp, Proto::kTls})
    if (supports(supported, p)) return p;
  return Proto::kUdp;
}

std::vector<NaptrChoice> select_naptr(const std::vector<NaptrRecord>& records, bool secure,
                                      const std::vector<Proto>& supported) {
  std::vector<const NaptrRecord*> usable;
  for (const NaptrRecord& r : records) {
    if (!ascii_iequals(r.flags, "s") || !r.regexp.empty() || r.replacement.empty()) continue;
    std::optional<Proto> proto = naptr_service_proto(r.service);
    if (!proto || (secure && *proto != Proto::kTls) || !supports(supported, *proto)) continue;
    if (!dns_name(r.replacement).ok()) continue;
    usable.push_back(&r);
  }
  std::stable_sort(usable.begin(), usable.end(), [](const NaptrRecord* a, const NaptrRecord* b) {
    return a->order != b->order ? a->order < b->order : a->preference < b->preference;
  });
  std::vector<NaptrChoice> out;
  for (const NaptrRecord* r : usable) {
    NaptrChoice c{*naptr_service_proto(r->service), *dns_name(r->replacement)};
    if (std::find(out.begin(), out.end(), c) != out.end()) continue;
    out.push_back(std::move(c));
    if (out.size() == kMaxNaptrChoices) break;
  }
  return out;
}

std::vector<SrvRecord> order_srv(const std::vector<SrvRecord>& records, const Random& random) {
  std::vector<SrvRecord> sorted;
  for (const SrvRecord& r : records) {
    if (r.target.empty()) continue;  // "." : not available there
    Result<std::string> name = dns_name(r.target);
    if (!name.ok()) continue;
    sorted.push_back(r);
    sorted.back().target = std::move(name).value();
  }
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const SrvRecord& a, const SrvRecord& b) { return a.priority < b.priority; });
  std::vector<SrvRecord> out;
  out.reserve(sorted.size());
  for (size_t begin = 0; begin < sorted.size();) {
    size_t end = begin;
    while (end < sorted.size() && sorted[end].priority == sorted[begin].priority) ++end;
    // RFC 2782: weight-0 records first, then pick by running sum against a random number.
    std::vector<SrvRecord> pool(sorted.begin() + static_cast<ptrdiff_t>(begin),
                                sorted.begin() + static_cast<ptrdiff_t>(end));
    std::stable_partition(pool.begin(), pool.end(),
                          [](const SrvRecord& r) { return r.weight == 0; });
    while (!pool.empty()) {
      uint32_t sum = 0;
      for (const SrvRecord& r : pool) sum += r.weight;
      const uint32_t pick = random(sum);
      uint32_t running = 0;
      size_t i = 0;
      for (; i + 1 < pool.size(); ++i) {
        running += pool[i].weight;
        if (running >= pick) break;
      }
      out.push_back(std::move(pool[i]));
      pool.erase(pool.begin() + static_cast<ptrdiff_t>(i));
    }
    begin = end;
  }
  return out;
}

// ---- QueryPlan ------------------------------------------------------------------------------

struct QueryPlan::Eval {
  std::vector<Question> need;  // needed now, not answered yet
  std::vector<Destination> out;
  std::vector<std::string> errors;  // failures on the way, for an empty result
  size_t targets = 0;               // SRV targets expanded so far
};

QueryPlan::QueryPlan(const SipTarget& target, PlanParams params, Random random)
    : params_(std::move(params)), random_(std::move(random)), secure_(target.secure) {
  if (target.transport) {
    proto_ = *target.transport;
    if (secure_ && proto_ == Proto::kTcp) proto_ = Proto::kTls;  // sips: over TCP is TLS
    if (secure_ && proto_ == Proto::kUdp) {
      invalid_ = "a sips: URI cannot use transport=udp";
      return;
    }
  } else {
    proto_ = default_proto(secure_, params_.supported);
  }
  if (std::optional<std::string> ip = ip_literal(target.host)) {
    kind_ = Kind::kLiteral;
    name_ = std::move(*ip);
    port_ = target.port ? target.port : port_for(proto_);
    return;
  }
  Result<std::string> name = dns_name(target.host);
  if (!name.ok()) {
    invalid_ = name.message();
    return;
  }
  name_ = std::move(name).value();
  server_name_ = name_;
  if (target.port) {
    kind_ = Kind::kHostPort;
    port_ = target.port;
  } else {
    kind_ = target.transport ? Kind::kHostTransport : Kind::kHostOnly;
  }
}

uint16_t QueryPlan::port_for(Proto p) const {
  return p == Proto::kTls ? params_.tls_default_port : params_.default_port;
}

const Answer* QueryPlan::lookup(RrType type, const std::string& name, Eval& e) const {
  // "_sips._tcp." + a long host can pass 253 characters: such a name cannot be asked.
  static const Answer kTooLong = [] {
    Answer a;
    a.outcome = Outcome::kBadName;
    a.detail = "name too long";
    return a;
  }();
  if (name.size() > kMaxNameLength) return &kTooLong;
  Question q{type, name};
  auto it = answers_.find(q.key());
  if (it != answers_.end()) return it->second.get();
  if (std::find(e.need.begin(), e.need.end(), q) == e.need.end()) e.need.push_back(std::move(q));
  return nullptr;
}

void QueryPlan::add_destination(Eval& e, Proto proto, const std::string& ip, uint16_t port) const {
  if (e.out.size() >= kMaxDestinations) return;
  Destination d{.proto = proto, .ip = ip, .port = port, .server_name = server_name_};
  if (std::find(e.out.begin(), e.out.end(), d) == e.out.end()) e.out.push_back(std::move(d));
}

void QueryPlan::addresses(const std::string& host, uint16_t port, Proto proto, Eval& e) const {
  if (std::optional<std::string> ip = ip_literal(host)) {  // an SRV target written as an IP
    add_destination(e, proto, *ip, port);
    return;
  }
  const Answer* a = lookup(RrType::kA, host, e);
  if (!a) return;
  if (a->ok()) {
    for (const std::string& ip : a->addresses) add_destination(e, proto, ip, port);
    return;
  }
  e.errors.push_back(describe_failure({RrType::kA, host}, *a));
  if (!params_.try_ipv6) return;
  const Answer* aaaa = lookup(RrType::kAaaa, host, e);
  if (!aaaa) return;
  if (aaaa->ok()) {
    for (const std::string& ip : aaaa->addresses) add_destination(e, proto, ip, port);
    return;
  }
  e.errors.push_back(describe_failure({RrType::kAaaa, host}, *aaaa));
}

QueryPlan::SrvState QueryPlan::via_srv(const std::string& srv_name, Proto proto, Eval& e) const {
  const Answer* a = lookup(RrType::kSrv, srv_name, e);
  if (!a) return SrvState::kPending;
  if (!a->ok()) {
    e.errors.push_back(describe_failure({RrType::kSrv, srv_name}, *a));
    return SrvState::kNone;
  }
  auto it = srv_order_.find(srv_name);
  if (it == srv_order_.end() || it->second.empty()) {
    e.errors.push_back("no usable SRV target for " + srv_name);
    return SrvState::kNone;
  }
  for (const SrvRecord& s : it->second) {
    if (e.targets >= kMaxSrvTargets) break;
    ++e.targets;
    addresses(s.target, s.port, proto, e);
  }
  return SrvState::kTargets;
}

QueryPlan::Eval QueryPlan::evaluate() const {
  Eval e;
  switch (kind_) {
    case Kind::kInvalid:
      break;
    case Kind::kLiteral:
      add_destination(e, proto_, name_, port_);
      break;
    case Kind::kHostPort:
      addresses(name_, port_, proto_, e);
      break;
    case Kind::kHostTransport:
      if (via_srv(std::string(srv_prefix(proto_)) + "." + name_, proto_, e) == SrvState::kNone)
        addresses(name_, port_for(proto_), proto_, e);
      break;
    case Kind::kHostOnly: {
      if (params_.try_naptr) {
        const Answer* n = lookup(RrType::kNaptr, name_, e);
        if (!n) break;
        if (!n->ok())
          e.errors.push_back(describe_failure({RrType::kNaptr, name_}, *n));
        else if (naptr_choices_.empty())
          e.errors.push_back("no usable NAPTR record for " + name_);
        for (const NaptrChoice& c : naptr_choices_) via_srv(c.srv_name, c.proto, e);
        if (!e.need.empty() || !e.out.empty()) break;  // waiting, or NAPTR gave the answer
      }
      const std::string srv = std::string(srv_prefix(proto_)) + "." + name_;
      if (via_srv(srv, proto_, e) == SrvState::kNone) addresses(name_, port_for(proto_), proto_, e);
      break;
    }
  }
  return e;
}

std::vector<Question> QueryPlan::take_questions() {
  std::vector<Question> out;
  for (Question& q : evaluate().need)
    if (asked_.insert(q.key()).second) out.push_back(std::move(q));
  return out;
}

void QueryPlan::add_answer(const Question& q, std::shared_ptr<const Answer> a) {
  std::string key = q.key();
  if (!asked_.count(key) || answers_.count(key) || !a) return;
  if (q.type == RrType::kSrv && a->ok()) srv_order_[q.name] = order_srv(a->srv, random_);
  if (q.type == RrType::kNaptr && a->ok() && q.name == name_)
    naptr_choices_ = select_naptr(a->naptr, secure_, params_.supported);
  answers_.emplace(std::move(key), std::move(a));
}

bool QueryPlan::done() const {
  return evaluate().need.empty();
}

ResolveResult QueryPlan::result() const {
  if (kind_ == Kind::kInvalid) return {{}, invalid_};
  Eval e = evaluate();
  if (!e.need.empty()) return {{}, "resolution not finished"};
  if (!e.out.empty()) return {std::move(e.out), ""};
  std::string error;
  std::set<std::string> shown;
  for (const std::string& s : e.errors) {
    if (!shown.insert(s).second) continue;
    if (!error.empty()) error += "; ";
    error += s;
  }
  if (error.empty()) error = "no address for " + name_;
  return {{}, error};
}

}  // namespace sipsd::dns
