#include "core/dns/resolver.h"

#include <ares.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "core/base/clock.h"
#include "core/base/log.h"
#include "core/base/sockaddr_text.h"
#include "core/dns/dns_message.h"
#include "core/shm/stats.h"

namespace sipsd::dns {

namespace {

constexpr int kClassIn = 1;
constexpr int64_t kLimitLogIntervalMs = 10000;

}  // namespace

// What c-ares hands back to on_query: who asked what.
struct Resolver::QueryCtx {
  Resolver* self;
  Question q;
};

void Resolver::ChannelDestroy::operator()(ares_channeldata* ch) const {
  ares_destroy(ch);
}

Resolver::Resolver(struct event_base* base, ResolverParams params)
    : base_(base),
      params_(std::move(params)),
      cache_(params_.max_cache_entries),
      rng_(std::random_device{}()) {}

Result<std::unique_ptr<Resolver>> Resolver::create(struct event_base* base, ResolverParams params) {
  if (base == nullptr) return make_error("dns resolver: no event base");
  if (int rc = ares_library_init(ARES_LIB_INIT_ALL); rc != ARES_SUCCESS)
    return make_error(strprintf("dns resolver: c-ares library init: %s", ares_strerror(rc)));
  std::unique_ptr<Resolver> r(new Resolver(base, std::move(params)));
  r->library_initialized_ = true;
  if (Status st = r->init_channel(); !st.ok()) return make_error(st.message());
  return r;
}

Status Resolver::init_channel() {
  struct ares_options opts = {};
  int mask = ARES_OPT_SOCK_STATE_CB;
  opts.sock_state_cb = &Resolver::on_sock_state;
  opts.sock_state_cb_data = this;
  if (params_.retr_time_s > 0) {
    mask |= ARES_OPT_TIMEOUTMS;
    opts.timeout = params_.retr_time_s * 1000;
  }
  if (params_.retr_no > 0) {
    mask |= ARES_OPT_TRIES;
    opts.tries = params_.retr_no;
  }
  ares_channel ch = nullptr;
  if (int rc = ares_init_options(&ch, &opts, mask); rc != ARES_SUCCESS)
    return make_error(strprintf("dns resolver: c-ares init: %s", ares_strerror(rc)));
  channel_.reset(ch);

  if (!params_.servers.empty()) {
    Result<std::vector<IpPort>> list = parse_ip_port_list(params_.servers, 53);
    if (!list.ok()) return make_error("dns_servers: " + list.message());
    std::vector<ares_addr_port_node> nodes(list->size());
    for (size_t i = 0; i < list->size(); ++i) {
      const IpPort& s = (*list)[i];
      ares_addr_port_node& n = nodes[i];
      n.next = i + 1 < nodes.size() ? &nodes[i + 1] : nullptr;
      n.udp_port = n.tcp_port = s.port;
      if (inet_pton(AF_INET, s.ip.c_str(), &n.addr.addr4) == 1) {
        n.family = AF_INET;
      } else if (inet_pton(AF_INET6, s.ip.c_str(), &n.addr.addr6) == 1) {
        n.family = AF_INET6;
      } else {
        return make_error(strprintf("dns_servers: '%s': not an IP address", s.ip.c_str()));
      }
    }
    if (int rc = ares_set_servers_ports(ch, nodes.data()); rc != ARES_SUCCESS)
      return make_error(strprintf("dns_servers: c-ares: %s", ares_strerror(rc)));
  }

  timer_.reset(evtimer_new(base_, &Resolver::on_timer, this));
  ready_event_.reset(event_new(base_, -1, 0, &Resolver::on_ready, this));
  if (!timer_ || !ready_event_) return make_error("dns resolver: cannot create libevent events");
  return Status::Ok();
}

Resolver::~Resolver() {
  // c-ares calls every query's callback with ARES_EDESTRUCTION and on_sock_state for its
  // sockets: both need the members below, so the channel goes first.
  channel_.reset();
  sock_events_.clear();
  if (waiting_dns_ > 0) stat_add(Stat::kDnsPending, -static_cast<uint64_t>(waiting_dns_));
  if (library_initialized_) ares_library_cleanup();
}

PlanParams Resolver::plan_params() const {
  return PlanParams{.try_naptr = params_.try_naptr,
                    .try_ipv6 = params_.try_ipv6,
                    .default_port = params_.default_port,
                    .tls_default_port = params_.tls_default_port,
                    .supported = params_.supported};
}

QueryPlan Resolver::make_plan(const SipTarget& t) {
  return QueryPlan(t, plan_params(), [this](uint32_t bound) {
    return std::uniform_int_distribution<uint32_t>(0, bound)(rng_);
  });
}

size_t Resolver::fill_from_cache(QueryPlan& plan, std::vector<Question>* misses) {
  size_t hits = 0;
  const int64_t now = monotonic_ms();
  for (;;) {
    std::vector<Question> qs = plan.take_questions();
    bool any_hit = false;
    for (Question& q : qs) {
      if (std::shared_ptr<const Answer> a = cache_.find(q, now)) {
        plan.add_answer(q, std::move(a));
        ++hits;
        any_hit = true;
      } else {
        misses->push_back(std::move(q));
      }
    }
    if (!any_hit) return hits;  // nothing new to ask until the misses are answered
  }
}

std::optional<ResolveResult> Resolver::resolve_now(const SipTarget& t) {
  QueryPlan plan = make_plan(t);
  std::vector<Question> misses;
  size_t hits = fill_from_cache(plan, &misses);
  if (!plan.done()) return std::nullopt;
  if (hits) stat_add(Stat::kDnsCacheHits, hits);
  ResolveResult res = plan.result();
  if (!res.ok()) stat_add(Stat::kDnsFailures);
  return res;
}

uint64_t Resolver::resolve(const SipTarget& t, Callback cb) {
  const uint64_t id = next_id_++;
  std::vector<Question> misses;
  QueryPlan plan = make_plan(t);
  if (size_t hits = fill_from_cache(plan, &misses)) stat_add(Stat::kDnsCacheHits, hits);
  Resolution& r =
      resolutions_.emplace(id, Resolution{std::move(plan), std::move(cb), false, std::nullopt})
          .first->second;
  if (r.plan.done()) {
    finish(id, r);
    return id;
  }
  if (waiting_dns_ >= params_.max_pending) {
    note_limit_hit();
    r.result = ResolveResult{
        {},
        strprintf("too many DNS resolutions pending (dns_max_pending=%zu)", params_.max_pending)};
    stat_add(Stat::kDnsFailures);
    ready_.push_back(id);
    event_active(ready_event_.get(), 0, 0);
    return id;
  }
  r.waiting_dns = true;
  ++waiting_dns_;
  stat_add(Stat::kDnsPending);
  for (const Question& q : misses) ask(id, q);
  drain_answers();  // c-ares may have failed a query at once (no server, bad name)
  arm_timer();
  return id;
}

void Resolver::cancel(uint64_t id) {
  auto it = resolutions_.find(id);
  if (it == resolutions_.end()) return;
  if (it->second.waiting_dns) {
    --waiting_dns_;
    stat_add(Stat::kDnsPending, static_cast<uint64_t>(-1));
  }
  resolutions_.erase(it);  // its queries go on: their answers still fill the cache
}

void Resolver::ask(uint64_t id, const Question& q) {
  std::vector<uint64_t>& waiters = in_flight_[q.key()];
  waiters.push_back(id);
  if (waiters.size() > 1) return;  // that query is already on its way
  stat_add(Stat::kDnsQueries);
  auto* ctx = new QueryCtx{this, q};
  ares_query(channel_.get(), q.name.c_str(), kClassIn, static_cast<int>(q.type),
             &Resolver::on_query, ctx);
}

void Resolver::advance(uint64_t id, Resolution& r) {
  std::vector<Question> misses;
  if (size_t hits = fill_from_cache(r.plan, &misses)) stat_add(Stat::kDnsCacheHits, hits);
  for (const Question& q : misses) ask(id, q);
  if (r.plan.done()) finish(id, r);
}

void Resolver::finish(uint64_t id, Resolution& r) {
  r.result = r.plan.result();
  if (!r.result->ok()) stat_add(Stat::kDnsFailures);
  if (r.waiting_dns) {
    r.waiting_dns = false;
    --waiting_dns_;
    stat_add(Stat::kDnsPending, static_cast<uint64_t>(-1));
  }
  ready_.push_back(id);
  event_active(ready_event_.get(), 0, 0);
}

void Resolver::on_query(void* arg, int status, int timeouts, unsigned char* abuf, int alen) {
  std::unique_ptr<QueryCtx> ctx(static_cast<QueryCtx*>(arg));
  if (status == ARES_EDESTRUCTION) return;  // the Resolver is being destroyed
  auto answer = std::make_shared<const Answer>(answer_from_ares(ctx->q, status, abuf, alen));
  ctx->self->answered_.emplace_back(std::move(ctx->q), std::move(answer));
}

void Resolver::drain_answers() {
  if (draining_) return;
  draining_ = true;
  while (!answered_.empty()) {
    auto [q, a] = std::move(answered_.front());
    answered_.pop_front();
    on_query_done(q, std::move(a));
  }
  draining_ = false;
}

void Resolver::on_query_done(const Question& q, std::shared_ptr<const Answer> a) {
  if (a->outcome != Outcome::kOk && a->outcome != Outcome::kNxDomain &&
      a->outcome != Outcome::kNoData)
    LOG_INFO("dns", "%s", describe_failure(q, *a).c_str());
  cache_.put(q, a, monotonic_ms());
  auto it = in_flight_.find(q.key());
  if (it == in_flight_.end()) return;
  std::vector<uint64_t> waiters = std::move(it->second);
  in_flight_.erase(it);
  for (uint64_t id : waiters) {
    auto r = resolutions_.find(id);
    if (r == resolutions_.end() || r->second.result) continue;  // cancelled
    r->second.plan.add_answer(q, a);
    advance(id, r->second);
  }
}

void Resolver::arm_timer() {
  if (!channel_) return;
  struct timeval tv;
  if (ares_timeout(channel_.get(), nullptr, &tv) != nullptr)
    evtimer_add(timer_.get(), &tv);
  else
    evtimer_del(timer_.get());
}

void Resolver::deliver_ready() {
  std::deque<uint64_t> batch;
  batch.swap(ready_);
  for (uint64_t id : batch) {
    auto it = resolutions_.find(id);
    if (it == resolutions_.end() || !it->second.result) continue;  // cancelled meanwhile
    Callback cb = std::move(it->second.cb);
    ResolveResult res = std::move(*it->second.result);
    resolutions_.erase(it);
    if (cb) cb(std::move(res));  // may resolve() or cancel(): nothing above is kept across it
  }
}

void Resolver::note_limit_hit() {
  stat_add(Stat::kDnsPendingLimitHits);
  const int64_t now = monotonic_ms();
  if (last_limit_log_ms_ != 0 && now - last_limit_log_ms_ < kLimitLogIntervalMs) {
    ++limit_hits_unlogged_;
    return;
  }
  LOG_WARN("dns",
           "%zu resolutions waiting for DNS (dns_max_pending=%zu): refusing new ones "
           "(%llu more refused since the last report)",
           waiting_dns_, params_.max_pending,
           static_cast<unsigned long long>(limit_hits_unlogged_));
  last_limit_log_ms_ = now;
  limit_hits_unlogged_ = 0;
}

// ---- libevent glue ---------------------------------------------------------------------------

void Resolver::on_sock_state(void* data, int fd, int readable, int writable) {
  auto* self = static_cast<Resolver*>(data);
  self->sock_events_.erase(fd);
  if (!readable && !writable) return;  // c-ares is done with the socket
  const short what = EV_PERSIST | (readable ? EV_READ : 0) | (writable ? EV_WRITE : 0);
  EventPtr ev(event_new(self->base_, fd, what, &Resolver::on_sock_event, self));
  if (!ev || event_add(ev.get(), nullptr) != 0) {
    LOG_ERR("dns", "cannot watch DNS socket %d: libevent refused the event", fd);
    return;  // the query on it times out
  }
  self->sock_events_[fd] = std::move(ev);
}

void Resolver::on_sock_event(evutil_socket_t fd, short what, void* arg) {
  auto* self = static_cast<Resolver*>(arg);
  ares_process_fd(self->channel_.get(), (what & EV_READ) ? fd : ARES_SOCKET_BAD,
                  (what & EV_WRITE) ? fd : ARES_SOCKET_BAD);
  self->drain_answers();
  self->arm_timer();
}

void Resolver::on_timer(evutil_socket_t, short, void* arg) {
  auto* self = static_cast<Resolver*>(arg);
  ares_process_fd(self->channel_.get(), ARES_SOCKET_BAD, ARES_SOCKET_BAD);
  self->drain_answers();
  self->arm_timer();
}

void Resolver::on_ready(evutil_socket_t, short, void* arg) {
  static_cast<Resolver*>(arg)->deliver_ready();
}

}  // namespace sipsd::dns
