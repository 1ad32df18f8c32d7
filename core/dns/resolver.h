// The asynchronous RFC 3263 resolver of one process: c-ares on the process's libevent loop (a
// worker's loop never blocks on DNS), a TTL cache in front of it, and query_plan.h's rules
// (OpenSIPS's sip_resolvehost rules) deciding what to ask.
//
//   auto r = dns::Resolver::create(base, params);          // once per process, after fork
//   if (auto now = r->resolve_now(target)) use(*now);       // IP literal or all in the cache
//   else id = r->resolve(target, [](dns::ResolveResult res) { ... });   // later, on the loop
//
// Results: ResolveResult::destinations in failover order (the first is the next hop; the rest
// is what tm's DNS failover tries), each with the transport, numeric IP, port and the TLS
// server_name (the host of the SipTarget, never an SRV/NAPTR target: RFC 5922 §4); or
// ResolveResult::error naming each lookup that failed.
//
// Cache: every DNS answer is kept for its TTL (NXDOMAIN/NODATA for the SOA's negative TTL or
// 30 s; failures not at all), at most max_cache_entries answers (the oldest goes first).
// Queries in flight are shared: two resolutions that need the same record send one query.
//
// Statistics (dns: group): queries (sent to a server), cache_hits (questions answered from
// the cache), failures (resolutions that ended in an error), pending (gauge: resolutions
// waiting for DNS), pending_limit_hits (resolutions refused by max_pending).
//
// Not used: /etc/hosts and resolv.conf's search list (OpenSIPS's dns_use_search_list); only
// IN-class A, AAAA, SRV, NAPTR queries are sent.
//
// Single-threaded: call it only from the loop's thread. Callbacks run from the loop, never
// inside resolve(); a callback may call resolve() and cancel(), but must not destroy the
// Resolver. Destroying it drops every pending resolution without calling its callback.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/base/event_ptr.h"
#include "core/base/result.h"
#include "core/base/transport.h"
#include "core/dns/dns_cache.h"
#include "core/dns/query_plan.h"
#include "core/dns/records.h"
#include "core/dns/target.h"

struct ares_channeldata;

namespace sipsd::dns {

struct ResolverParams {
  bool try_naptr = true;  // dns_try_naptr
  bool try_ipv6 = false;  // dns_try_ipv6: AAAA when a name has no A record
  int retr_time_s = 0;    // dns_retr_time: seconds before the first retry; 0 = c-ares default
  int retr_no = 0;        // dns_retr_no: tries per server; 0 = c-ares default
  // dns_servers: "ip[:port],..." (IPv6 as [::1]:53), where queries go; "" = /etc/resolv.conf.
  std::string servers = {};
  size_t max_pending = 1024;  // dns_max_pending: resolutions waiting for DNS at once
  size_t max_cache_entries = 4096;
  uint16_t default_port = 5060;       // UDP and TCP
  uint16_t tls_default_port = 5061;   // tls_port
  std::vector<Proto> supported = {};  // transports we have listeners for; empty = all
};

class Resolver {
 public:
  using Callback = std::function<void(ResolveResult)>;

  // Errors name what failed: "dns_servers: '1.2.3:x': bad port ...", "c-ares init: ...".
  static Result<std::unique_ptr<Resolver>> create(struct event_base* base, ResolverParams params);
  ~Resolver();
  Resolver(const Resolver&) = delete;
  Resolver& operator=(const Resolver&) = delete;

  // IP literals, targets that cannot be resolved (a bad name), and targets whose every answer
  // is in the cache: the result now. nullopt: a query is needed (call resolve()).
  std::optional<ResolveResult> resolve_now(const SipTarget& t);

  // Resolves `t`; `cb` runs later on the loop, never inside this call, exactly once unless
  // cancelled. Over max_pending resolutions waiting for DNS, `cb` gets an error on the next
  // pass of the loop, dns:pending_limit_hits counts it and a log line says so (at most one
  // every 10 s). Returns an id for cancel() (never 0).
  uint64_t resolve(const SipTarget& t, Callback cb);

  // The callback of resolution `id` will not run. Unknown or finished ids are ignored.
  void cancel(uint64_t id);

  // Resolutions not yet called back (waiting for DNS or for the loop).
  size_t pending() const { return resolutions_.size(); }

 private:
  struct ChannelDestroy {
    void operator()(ares_channeldata* ch) const;
  };
  struct Resolution {
    QueryPlan plan;
    Callback cb;
    bool waiting_dns = false;  // counted in dns:pending
    std::optional<ResolveResult> result;
  };
  struct QueryCtx;

  Resolver(struct event_base* base, ResolverParams params);
  Status init_channel();
  PlanParams plan_params() const;

  QueryPlan make_plan(const SipTarget& t);
  // Feeds the plan every answer the cache has, as far as they lead; the questions the cache
  // could not answer go to `misses`. Returns the number of cache hits.
  size_t fill_from_cache(QueryPlan& plan, std::vector<Question>* misses);
  // Resolution `id` waits for `q`: joins the query in flight, or sends one.
  void ask(uint64_t id, const Question& q);
  // After an answer: the cache, then new queries; finishes the resolution when done.
  void advance(uint64_t id, Resolution& r);
  void finish(uint64_t id, Resolution& r);
  void on_query_done(const Question& q, std::shared_ptr<const Answer> a);
  void drain_answers();
  void arm_timer();
  void deliver_ready();
  void note_limit_hit();

  static void on_sock_state(void* data, int fd, int readable, int writable);
  static void on_query(void* arg, int status, int timeouts, unsigned char* abuf, int alen);
  static void on_sock_event(evutil_socket_t fd, short what, void* arg);
  static void on_timer(evutil_socket_t fd, short what, void* arg);
  static void on_ready(evutil_socket_t fd, short what, void* arg);

  struct event_base* base_;
  ResolverParams params_;
  DnsCache cache_;
  std::minstd_rand rng_;
  uint64_t next_id_ = 1;
  size_t waiting_dns_ = 0;
  std::unordered_map<uint64_t, Resolution> resolutions_;
  // Queries in flight by Question::key: the resolutions waiting for each.
  std::unordered_map<std::string, std::vector<uint64_t>> in_flight_;
  // Answers c-ares has handed over, processed after it returns (never inside its callbacks).
  std::deque<std::pair<Question, std::shared_ptr<const Answer>>> answered_;
  bool draining_ = false;
  std::deque<uint64_t> ready_;  // finished resolutions to call back on the next loop pass
  int64_t last_limit_log_ms_ = 0;
  uint64_t limit_hits_unlogged_ = 0;
  std::unordered_map<int, EventPtr> sock_events_;
  EventPtr timer_;
  EventPtr ready_event_;
  bool library_initialized_ = false;
  std::unique_ptr<ares_channeldata, ChannelDestroy> channel_;  // last: destroyed first
};

}  // namespace sipsd::dns
