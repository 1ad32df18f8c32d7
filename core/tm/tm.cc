#include "core/tm/tm.h"

#include <arpa/inet.h>
#include <openssl/rand.h>

#include <algorithm>
#include <charconv>
#include <cstring>

#include "core/base/ascii.h"
#include "core/base/clock.h"
#include "core/base/log.h"
#include "core/base/printable.h"
#include "core/base/sockaddr_text.h"
#include "core/shm/stats.h"
#include "core/sip/header_cursor.h"
#include "core/sip/reply_builder.h"
#include "core/sip/request_builder.h"
#include "core/sip/uri.h"
#include "core/tm/branch_id.h"
#include "core/tm/reply_priority.h"

namespace sipsd::tm {

namespace {

constexpr std::string_view kTrying = "Giving it a try";
constexpr std::string_view kNoAnswerReason = "SIP;cause=480;text=\"NO_ANSWER\"";
constexpr std::string_view kCancelReason = "SIP;cause=487;text=\"ORIGINATOR_CANCEL\"";
constexpr int64_t kLimitLogIntervalMs = 10000;

bool is_ip_literal(std::string_view host) {
  std::string h(host);
  if (h.size() > 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  unsigned char buf[16];
  return inet_pton(AF_INET, h.c_str(), buf) == 1 || inet_pton(AF_INET6, h.c_str(), buf) == 1;
}

// The first Path header (RFC 3327): a proxy's own goes above it.
const sip::Header* first_path_header(const sip::Message& m) {
  for (const sip::Header& h : m.headers())
    if (ascii_iequals(h.name, "Path")) return &h;
  return nullptr;
}

Stat code_class_stat(int code) {
  if (code < 300) return Stat::kTm2xx;
  if (code < 400) return Stat::kTm3xx;
  if (code < 500) return Stat::kTm4xx;
  if (code < 600) return Stat::kTm5xx;
  return Stat::kTm6xx;
}

std::string label_of(const Upstream& up) {
  return up.label;
}

}  // namespace

bool Transaction::all_done() const {
  for (const auto& b : branches)
    if (!b->done()) return false;
  return true;
}

Tm::Tm(TmSetup setup)
    : s_(std::move(setup)),
      tags_(sip::kTmTagSignature,
            s_.transport->sockets().empty() ? "" : s_.transport->sockets()[0].ip,
            s_.transport->sockets().empty() ? 0 : s_.transport->sockets()[0].port,
            sip::kTmTagSeparator) {
  // Transaction numbers of this process start from a random point, so that a branch of a
  // previous incarnation of this worker never matches a transaction of this one.
  uint32_t r = 0;
  RAND_bytes(reinterpret_cast<unsigned char*>(&r), sizeof r);
  salt_ = uint64_t{r} << 32;
  reap_ev_.reset(event_new(s_.base, -1, 0, on_reap, this));
}

Tm::~Tm() {
  while (!live_.empty()) retire(*live_.begin()->second);
  graveyard_.clear();
}

// ---- matching ---------------------------------------------------------------------------------

std::string Tm::match_key(const sip::Message& req, bool as_invite) {
  const sip::Via* v = req.top_via();
  std::string key;
  key.reserve(96);
  key += as_invite ? "INVITE" : std::string(req.method());
  key += '|';
  if (v != nullptr && v->branch.starts_with(kMagicCookie)) {
    key.append(v->branch);
    key += '|';
    key.append(v->sent_by);
    return key;
  }
  // RFC 2543 peers: Call-ID, CSeq number, From tag and the top Via (§17.2.3 fallback).
  key.append(req.call_id());
  key += '|';
  key += std::to_string(req.cseq_number());
  key += '|';
  key.append(req.from_tag());
  if (v != nullptr) {
    key += '|';
    key.append(v->value);
  }
  return key;
}

Transaction* Tm::find(uint64_t id) const {
  auto it = live_.find(id);
  return it == live_.end() ? nullptr : it->second.get();
}

Transaction* Tm::match(const sip::Message& req, bool ack_or_cancel_of_invite) const {
  auto it = by_key_.find(match_key(req, ack_or_cancel_of_invite));
  return it == by_key_.end() ? nullptr : it->second;
}

int Tm::owner_elsewhere(const sip::Message& req) const {
  const sip::Method m = req.method_id();
  if (m != sip::Method::kCancel && m != sip::Method::kAck) return 0;
  if (match(req, true) != nullptr) return 0;
  const std::string key = match_key(req, true);
  int owner = 0;
  s_.owner_index.find(hash_bytes(key.data(), key.size()), [&](uint32_t v) {
    owner = static_cast<int>(v);
    return true;
  });
  return owner == s_.proc_index ? 0 : owner;
}

// ---- creating transactions --------------------------------------------------------------------

bool Tm::build_base(Transaction& tx, const RequestCtx& ctx) {
  // The request as received, with the script's edits and the upstream Via's received/rport
  // (RFC 3261 §18.2.1, RFC 3581).
  sip::MessageEditor local;
  sip::MessageEditor* ed = ctx.edits;
  if (ed == nullptr) {
    ed = &local;
    if (local.reset(*ctx.msg) != sip::EditStatus::kOk) return false;
  }
  const sip::Via* v = ctx.msg->top_via();
  const sip::Header* vh = ctx.msg->first(sip::HeaderType::kVia);
  std::string value;
  if (v != nullptr && vh != nullptr && ctx.from != nullptr &&
      sip::top_via_with_received(vh->value, *v, ctx.from->src_ip, ctx.from->src_port,
                                 ctx.force_rport, &value)) {
    sip::EditStatus st = ed->replace_header_value(*vh, value);
    if (st != sip::EditStatus::kOk && st != sip::EditStatus::kOverlap) return false;
  }
  if (!ed->build(&tx.request)) return false;
  sip::ParseResult pr = sip::parse_message(tx.request.data(), tx.request.size(), &tx.req);
  return pr.status == sip::ParseStatus::kOk;
}

Transaction* Tm::create(RequestCtx& ctx) {
  if (live_.size() >= s_.config.max_transactions) {
    stat_add(Stat::kTmLimitHits);
    int64_t now = monotonic_ms();
    if (now - last_limit_log_ms_ >= kLimitLogIntervalMs) {
      last_limit_log_ms_ = now;
      LOG_WARN("tm", "worker %d: %zu transactions in use (max_transactions): new ones refused",
               s_.proc_index, live_.size());
    }
    return nullptr;
  }
  auto owned = std::make_unique<Transaction>();
  Transaction& tx = *owned;
  tx.tm = this;
  tx.id = salt_ | (next_id_++ & 0xffffffffull);
  tx.method.assign(ctx.msg->method());
  tx.invite = ctx.msg->method_id() == sip::Method::kInvite;
  if (!build_base(tx, ctx)) {
    LOG_ERR("tm", "%.*s: cannot keep the request for its transaction",
            ctx.from ? static_cast<int>(ctx.from->label.size()) : 0,
            ctx.from ? ctx.from->label.data() : "");
    return nullptr;
  }
  tx.match_key = match_key(*ctx.msg, tx.invite);
  // Upstream: back on the connection, or over UDP to received:rport (else the Via port).
  const Inbound& in = *ctx.from;
  tx.up.proto = in.proto;
  tx.up.ip = std::string(in.src_ip);
  tx.up.port = in.src_port;
  tx.up.listener = in.listener;
  tx.up.conn_id = in.conn_id;
  tx.up.conn_owner = in.conn_owner;
  tx.up.label = std::string(in.label);
  if (in.proto == Proto::kUdp) {
    const sip::Via* v = ctx.msg->top_via();
    if (v != nullptr && !v->has_rport && !ctx.force_rport)
      tx.up.port = v->port != 0 ? v->port : 5060;
  }
  char tag[sip::LocalTagGenerator::kLength];
  tx.to_tag.assign(tags_.make(*ctx.msg, tag));
  tx.flags = ctx.flags;
  tx.acc = ctx.acc;
  tx.rr = ctx.rr;
  tx.path = ctx.path;
  tx.on_failure = ctx.on_failure;
  tx.on_reply = ctx.on_reply;
  tx.on_branch = ctx.on_branch;
  tx.forced_socket = ctx.forced_socket;
  if (ctx.avps != nullptr) tx.avps = *ctx.avps;
  // A transaction nobody ever answers (no branch, no reply) does not live forever.
  tx.lifetime_ev.reset(evtimer_new(s_.base, on_lifetime, &tx));
  struct timeval tv = ms_to_timeval(s_.config.fr_inv_timeout_ms + s_.config.wt_ms);
  evtimer_add(tx.lifetime_ev.get(), &tv);

  by_key_[tx.match_key] = &tx;
  if (tx.invite) {
    tx.indexed = s_.owner_index.add(hash_bytes(tx.match_key.data(), tx.match_key.size()),
                                    static_cast<uint32_t>(s_.proc_index));
  }
  stat_add(Stat::kTmUas);
  stat_add(Stat::kTmInuse);
  Transaction* raw = owned.get();
  live_[tx.id] = std::move(owned);
  ctx.tx = raw;
  if (raw->invite && s_.config.auto_100trying) reply_local(*raw, 100, kTrying);
  return raw;
}

void Tm::retire(Transaction& tx) {
  auto it = live_.find(tx.id);
  if (it == live_.end()) return;
  for (auto& b : tx.branches) {
    if (b->dns_query != 0 && s_.resolver != nullptr) s_.resolver->cancel(b->dns_query);
    b->dns_query = 0;
    b->retransmit_ev.reset();
    b->fr_ev.reset();
  }
  tx.retransmit_ev.reset();
  tx.linger_ev.reset();
  tx.lifetime_ev.reset();
  auto k = by_key_.find(tx.match_key);
  if (k != by_key_.end() && k->second == &tx) by_key_.erase(k);
  if (tx.indexed)
    s_.owner_index.remove(hash_bytes(tx.match_key.data(), tx.match_key.size()),
                          static_cast<uint32_t>(s_.proc_index));
  stat_add(Stat::kTmInuse, static_cast<uint64_t>(-1));
  graveyard_.push_back(std::move(it->second));
  live_.erase(it);
  event_active(reap_ev_.get(), EV_TIMEOUT, 0);
}

void Tm::on_reap(evutil_socket_t, short, void* arg) {
  static_cast<Tm*>(arg)->graveyard_.clear();
}

void Tm::on_lifetime(evutil_socket_t, short, void* arg) {
  auto* tx = static_cast<Transaction*>(arg);
  if (!tx->all_done()) {
    // A branch still waits for its final reply: its fr timer bounds it (fr_inv_timeout runs
    // from its last provisional reply, so it can end after this) and ends it with a CANCEL
    // and a 408. This guard is for transactions nothing else will end.
    struct timeval tv =
        ms_to_timeval(tx->tm->s_.config.fr_inv_timeout_ms + tx->tm->s_.config.wt_ms);
    evtimer_add(tx->lifetime_ev.get(), &tv);
    return;
  }
  LOG_INFO("tm", "%s: %s transaction ended without a final reply", label_of(tx->up).c_str(),
           tx->method.c_str());
  tx->tm->retire(*tx);
}

// ---- script functions -------------------------------------------------------------------------

int Tm::t_check_trans(RequestCtx& ctx) {
  const sip::Message& req = *ctx.msg;
  switch (req.method_id()) {
    case sip::Method::kCancel:
      return match(req, true) != nullptr ? 1 : -1;
    case sip::Method::kAck: {
      Transaction* tx = match(req, true);
      if (tx == nullptr) return -1;
      if (tx->reply_code >= 300) {
        // The ACK of a negative reply: hop by hop, ours. Absorbed.
        tx->confirmed = true;
        tx->retransmit_ev.reset();
        return 1;
      }
      return -2;  // an end-to-end ACK of a 2xx
    }
    default: {
      Transaction* tx = match(req, false);
      if (tx == nullptr) return -1;
      if (!tx->reply.empty()) send_upstream(*tx, tx->reply, tx->reply_code, tx->reply_local);
      stat_add(Stat::kTmRetransmissionsAbsorbed);
      return 0;
    }
  }
}

int Tm::t_newtran(RequestCtx& ctx) {
  if (ctx.tx != nullptr) return 1;
  const sip::Message& req = *ctx.msg;
  if (req.method_id() == sip::Method::kAck) {
    Transaction* tx = match(req, true);
    if (tx != nullptr && tx->reply_code >= 300) {
      tx->confirmed = true;
      tx->retransmit_ev.reset();
      return 0;
    }
    return -1;  // no transaction for an ACK
  }
  if (Transaction* tx = match(req, false)) {
    if (!tx->reply.empty()) send_upstream(*tx, tx->reply, tx->reply_code, tx->reply_local);
    stat_add(Stat::kTmRetransmissionsAbsorbed);
    return 0;
  }
  if (ctx.from == nullptr) return -1;
  return create(ctx) != nullptr ? 1 : -1;
}

int Tm::t_reply(RequestCtx& ctx, int code, std::string_view reason) {
  if (code < 100 || code > 699) return -1;
  if (ctx.tx == nullptr) {
    int rc = t_newtran(ctx);
    if (rc <= 0) return rc;
  }
  Transaction& tx = *ctx.tx;
  if (tx.final_sent()) return -1;
  if (code >= 200) {
    // A final reply of our own ends what the branches do.
    cancel_pending_branches(tx, nullptr, kCancelReason);
  }
  reply_local(tx, code, reason);
  if (code >= 200) finish(tx);
  return 1;
}

int Tm::t_relay(RequestCtx& ctx, const RelayFlags& flags) {
  const sip::Message& req = *ctx.msg;
  if (ctx.kind == RouteKind::kRequest && ctx.tx == nullptr) {
    if (req.method_id() == sip::Method::kAck) {
      // A hop-by-hop ACK of ours is absorbed; any other goes on statelessly (the ACK of a 2xx
      // is a transaction of its own).
      Transaction* tx = match(req, true);
      if (tx != nullptr && tx->reply_code >= 300) {
        tx->confirmed = true;
        tx->retransmit_ev.reset();
        return 0;
      }
      return forward(ctx, flags.proxy);
    }
    if (req.method_id() == sip::Method::kCancel) {
      if (Transaction* invite = match(req, true)) {
        handle_cancel(ctx, *invite);
        return 1;
      }
    }
    int rc = t_newtran(ctx);
    if (rc <= 0) return rc;
  }
  if (ctx.tx == nullptr) return -1;
  Transaction& tx = *ctx.tx;
  if (tx.final_sent() && tx.reply_code >= 200) return -1;
  if (tx.cancelled) {
    reply_local(tx, 487, "Request Terminated");
    finish(tx);
    return -3;
  }
  if (static_cast<int>(tx.branches.size()) >= s_.config.max_branches) {
    stat_add(Stat::kTmLimitHits);
    LOG_WARN("tm", "%s: %zu branches already (max_branches): no new one", tx.up.label.c_str(),
             tx.branches.size());
    return -1;
  }
  if (ctx.kind == RouteKind::kFailure) {
    // A new serial round from a failure_route: the script's edits go into this round.
    if (ctx.edits != nullptr && ctx.edits->edit_count() > 0) {
      std::string rebased;
      if (ctx.edits->build(&rebased)) {
        tx.request = std::move(rebased);
        sip::parse_message(tx.request.data(), tx.request.size(), &tx.req);
        ctx.edits->reset(tx.req);
        ctx.msg = &tx.req;
      }
    }
    tx.round_start = static_cast<int>(tx.branches.size());
    tx.on_failure = ctx.on_failure;
    tx.in_failure = false;
  } else {
    tx.flags = ctx.flags;
    tx.acc = ctx.acc;
    tx.rr = ctx.rr;
    tx.path = ctx.path;
    tx.on_failure = ctx.on_failure;
    tx.on_reply = ctx.on_reply;
    tx.on_branch = ctx.on_branch;
    if (!ctx.serial.empty()) tx.serial = std::move(ctx.serial);
    ctx.serial.clear();
  }
  tx.forced_socket = ctx.forced_socket;
  tx.no_dns_failover = flags.no_dns_failover || s_.config.disable_dns_failover;
  tx.no_auto_477 = flags.no_auto_477;
  std::string du = ctx.du;
  if (du.empty() && !flags.proxy.empty()) {
    du = flags.proxy.find(':') != std::string::npos && flags.proxy.compare(0, 4, "sip:") != 0 &&
                 flags.proxy.compare(0, 5, "sips:") != 0
             ? "sip:" + flags.proxy.substr(flags.proxy.find(':') + 1) +
                   ";transport=" + flags.proxy.substr(0, flags.proxy.find(':'))
             : flags.proxy;
  }
  // The R-URI branch, then the ones lookup() appended (forked in parallel).
  std::vector<BranchTarget> targets;
  targets.push_back(BranchTarget{std::string(ctx.effective_ruri()), du, ctx.dst_conn_id,
                                 ctx.dst_conn_owner, ctx.dst_no_new_conn, ctx.dst_q, ctx.dst_path});
  targets.back().flow = ctx.dst_flow;
  for (BranchTarget& t : ctx.branches) targets.push_back(std::move(t));
  ctx.branches.clear();
  std::vector<int> started;
  for (BranchTarget& t : targets) {
    if (static_cast<int>(tx.branches.size()) >= s_.config.max_branches) {
      stat_add(Stat::kTmLimitHits);
      LOG_WARN("tm", "%s: max_branches reached: %s not tried", tx.up.label.c_str(), t.ruri.c_str());
      break;
    }
    int b = add_branch(tx, std::move(t.ruri), std::move(t.du), RouteRef{});
    if (b < 0) continue;
    Branch& branch = *tx.branches[static_cast<size_t>(b)];
    branch.conn_id = t.conn_id;
    branch.conn_owner = t.conn_owner;
    branch.no_new_conn = t.no_new_conn;
    branch.path = std::move(t.path);
    branch.forced_socket = t.socket;
    branch.flow = t.flow;
    if (!run_branch_route(tx, branch)) {
      // The branch_route dropped it (or its edits did not apply): no branch.
      tx.branches.pop_back();
      continue;
    }
    started.push_back(b);
  }
  if (started.empty()) return -1;
  const uint64_t tx_id = tx.id;
  for (int b : started) {
    // A branch that fails at once may complete the transaction.
    if (find(tx_id) == nullptr || tx.final_sent()) break;
    start_branch(tx, *tx.branches[static_cast<size_t>(b)]);
  }
  return 1;
}

// ---- branches ---------------------------------------------------------------------------------

int Tm::add_branch(Transaction& tx, std::string ruri, std::string du, RouteRef on_reply) {
  auto b = std::make_unique<Branch>();
  b->tx = &tx;
  b->index = static_cast<int>(tx.branches.size());
  b->ruri = std::move(ruri);
  b->du = std::move(du);
  b->on_reply = on_reply;
  tx.branches.push_back(std::move(b));
  stat_add(Stat::kTmUac);
  return static_cast<int>(tx.branches.size()) - 1;
}

bool Tm::parse_next_hop(std::string_view uri_text, dns::SipTarget* t, std::string* why) const {
  sip::Uri u;
  sip::UriResult r = sip::parse_uri(uri_text, &u);
  if (!r.ok()) {
    *why = std::string("bad next-hop URI: ") + r.reason;
    return false;
  }
  if (u.scheme == sip::UriScheme::kTel) {
    *why = "a tel: URI has no host to send to";
    return false;
  }
  t->host = std::string(u.host);
  t->port = u.port;
  t->secure = u.scheme == sip::UriScheme::kSips;
  std::string_view transport;
  if (u.param("transport", &transport)) {
    std::optional<Proto> p = proto_from_name(transport);
    if (!p) {
      *why = "unsupported transport '" + printable(transport) + "'";
      return false;
    }
    t->transport = *p;
  }
  std::string_view maddr;
  if (u.param("maddr", &maddr) && !maddr.empty()) t->host = std::string(maddr);
  return true;
}

bool Tm::run_branch_route(Transaction& tx, Branch& b) {
  if (!tx.on_branch.valid()) return true;
  sip::MessageEditor edits;
  if (edits.reset(tx.req) != sip::EditStatus::kOk) return false;
  if (!s_.host->run_branch_route(tx, b, tx.on_branch, edits)) return false;
  if (edits.edit_count() == 0) return true;
  if (!edits.build(&b.base)) return false;
  if (sip::parse_message(b.base.data(), b.base.size(), &b.base_msg).status != sip::ParseStatus::kOk)
    return false;
  b.has_base = true;
  return true;
}

void Tm::start_branch(Transaction& tx, Branch& b) {
  dns::SipTarget target;
  std::string why;
  const std::string& next = b.du.empty() ? b.ruri : b.du;
  if (!parse_next_hop(next, &target, &why)) {
    LOG_NOTICE("tm", "%s: branch %d: %s", tx.up.label.c_str(), b.index, why.c_str());
    branch_failed_locally(tx, b, 476, "Unresolvable destination (476/TM)");
    maybe_complete(tx);
    return;
  }
  if (s_.resolver == nullptr && !is_ip_literal(target.host)) {
    branch_failed_locally(tx, b, 476, "Unresolvable destination (476/TM)");
    maybe_complete(tx);
    return;
  }
  if (s_.resolver != nullptr) {
    if (std::optional<dns::ResolveResult> now = s_.resolver->resolve_now(target)) {
      resolved(tx, b, std::move(*now));
      return;
    }
    const uint64_t tx_id = tx.id;
    const int index = b.index;
    b.dns_query = s_.resolver->resolve(target, [this, tx_id, index](dns::ResolveResult r) {
      Transaction* t = find(tx_id);
      if (t == nullptr || static_cast<size_t>(index) >= t->branches.size()) return;
      Branch& br = *t->branches[static_cast<size_t>(index)];
      br.dns_query = 0;
      resolved(*t, br, std::move(r));
    });
    // While DNS runs, a timer still bounds the branch.
    arm_fr(b, s_.config.fr_timeout_ms);
    return;
  }
  // No resolver: an IP literal.
  dns::Destination d;
  d.proto = target.transport.value_or(target.secure ? Proto::kTls : Proto::kUdp);
  d.ip = target.host;
  d.port = target.port != 0 ? target.port
                            : (d.proto == Proto::kTls ? static_cast<uint16_t>(5061) : 5060);
  resolved(tx, b, dns::ResolveResult{{d}, ""});
}

void Tm::resolved(Transaction& tx, Branch& b, dns::ResolveResult r) {
  if (b.done() || live_.count(tx.id) == 0) return;
  if (!r.ok() || r.destinations.empty()) {
    LOG_NOTICE("tm", "%s: branch %d to %s: %s", tx.up.label.c_str(), b.index,
               printable(b.du.empty() ? b.ruri : b.du).c_str(), r.error.c_str());
    branch_failed_locally(tx, b, 476, "Unresolvable destination (476/TM)");
    maybe_complete(tx);
    return;
  }
  b.alternatives = std::move(r.destinations);
  b.next_alternative = 0;
  if (!try_next_address(tx, b)) maybe_complete(tx);
}

Result<NextHop> Tm::hop_for(const dns::Destination& d, const Transaction& tx) const {
  NextHop h;
  h.proto = d.proto;
  h.ip = d.ip;
  h.port = d.port;
  h.server_name = d.server_name;
  if (d.proto == Proto::kTls) {
    // As OpenSIPS's tls_mgm: the client domain by name if client_tls_domain_avp has a value,
    // else by destination and the SIP domain in client_sip_domain_avp ("" when unset: "*").
    auto avp_text = [&tx](int slot) {
      if (slot < 0) return std::string();
      ScriptValue v = tx.avps.get(slot);
      if (v.is_str()) return std::string(v.str());
      if (v.is_int()) return std::to_string(v.int_value());
      return std::string();
    };
    h.client_domain = avp_text(s_.config.client_tls_domain_avp_slot);
    if (h.client_domain.empty()) h.sip_domain = avp_text(s_.config.client_sip_domain_avp_slot);
  }
  return h;
}

int Tm::socket_for(Proto proto, const std::string& ip, int forced, const Upstream* up) const {
  const bool v6 = ip.find(':') != std::string::npos;
  return s_.transport->choose_socket(proto, v6, forced, up ? up->listener : -1);
}

std::string Tm::via_value(int socket, std::string_view branch) const {
  const SocketAddr& s = s_.transport->sockets()[static_cast<size_t>(socket)];
  std::string v = "SIP/2.0/";
  v += proto_name(s.proto);
  for (size_t i = 8; i < v.size(); ++i) v[i] = static_cast<char>(v[i] - 'a' + 'A');
  v += ' ';
  v += ip_port_text(s.shown_ip(), s.shown_port());
  v += ";branch=";
  v.append(branch);
  return v;
}

bool Tm::try_next_address(Transaction& tx, Branch& b) {
  while (b.next_alternative < b.alternatives.size()) {
    const dns::Destination& d = b.alternatives[b.next_alternative++];
    Result<NextHop> hop = hop_for(d, tx);
    if (!hop.ok()) continue;
    b.hop = std::move(hop).value();
    b.socket = socket_for(b.hop.proto, b.hop.ip,
                          b.forced_socket >= 0 ? b.forced_socket : tx.forced_socket, &tx.up);
    if (b.socket < 0) {
      LOG_NOTICE("tm", "%s: branch %d: no %s listener to send from", tx.up.label.c_str(), b.index,
                 proto_name(b.hop.proto));
      continue;
    }
    if (b.hop.proto != Proto::kUdp) b.hop.socket = b.socket;
    if (b.hop.proto != Proto::kUdp && (b.conn_id != 0 || b.no_new_conn)) {
      b.hop.conn_id = b.conn_id;
      b.hop.conn_owner = b.conn_owner;
      b.hop.no_new_conn = b.no_new_conn;
    }
    send_branch(tx, b);
    // Sent (or failed over to an address that was): pending. A send that failed with no
    // address left ended the branch with a local 477 (430 on a flow), which the caller must
    // complete.
    return !b.done();
  }
  send_failed(tx, b);
  return false;
}

bool Tm::build_request(Transaction& tx, Branch& b, std::string* out) {
  sip::MessageEditor& ed = editor_;
  const sip::Message& req = b.has_base ? b.base_msg : tx.req;
  if (ed.reset(req) != sip::EditStatus::kOk) return false;
  if (b.ruri != req.ruri()) {
    if (ed.set_request_uri(b.ruri) != sip::EditStatus::kOk) return false;
  }
  const std::string branch = encode_branch(BranchId{s_.proc_index, tx.id, b.index});
  if (ed.push_via(via_value(b.socket, branch)) != sip::EditStatus::kOk) return false;
  if (!b.path.empty()) {
    // RFC 3327: the Path vector is a preloaded route set, in the order it was received.
    const sip::Header* first_route = req.first(sip::HeaderType::kRoute);
    sip::EditStatus st = first_route != nullptr
                             ? ed.insert_header_before(*first_route, "Route", b.path)
                             : ed.insert_header_first("Route", b.path);
    if (st != sip::EditStatus::kOk) return false;
  }
  if (tx.path.enabled && !add_path_headers(tx.path, tx.up, b.socket, req, ed)) return false;
  if (tx.rr.enabled) {
    std::vector<std::string> rrs = record_route_values(tx.rr, req, tx.up.listener, b.socket);
    // Ours goes on top of the Record-Route list (RFC 3261 §16.6 step 4).
    const sip::Header* first_rr = req.first(sip::HeaderType::kRecordRoute);
    for (const std::string& v : rrs) {
      sip::EditStatus st = first_rr != nullptr
                               ? ed.insert_header_before(*first_rr, "Record-Route", v)
                               : ed.insert_header_first("Record-Route", v);
      if (st != sip::EditStatus::kOk) return false;
    }
  }
  return ed.build(out);
}

void Tm::send_branch(Transaction& tx, Branch& b) {
  if (!build_request(tx, b, &b.request)) {
    LOG_ERR("tm", "%s: branch %d: the request cannot be built", tx.up.label.c_str(), b.index);
    branch_failed_locally(tx, b, 500, "Server Internal Error");
    return;
  }
  SendResult r = s_.transport->send(b.hop, b.request);
  if (!r.ok) {
    LOG_NOTICE("tm", "%s: branch %d: %s", tx.up.label.c_str(), b.index, r.error.c_str());
    if (!tx.no_dns_failover && b.next_alternative < b.alternatives.size()) {
      try_next_address(tx, b);
      return;
    }
    send_failed(tx, b);
    return;
  }
  b.hop.conn_id = r.conn_id;
  b.hop.conn_owner = r.conn_owner;
  stat_add(Stat::kFwdRequests);
  arm_fr(b, s_.config.fr_timeout_ms);
  if (b.hop.proto == Proto::kUdp) {
    b.retransmit_ms = s_.config.t1_ms;
    arm_retransmit(b);
  }
}

void Tm::send_failed(Transaction& tx, Branch& b) {
  if (b.flow) {
    // RFC 5626 §5.3: the flow a phone registered (or called) over is gone; it is not
    // reached any other way.
    stat_add(Stat::kOutboundFlowsFailed);
    LOG_INFO("tm", "%s: branch %d: the flow to %s:%s:%u is gone: 430", tx.up.label.c_str(), b.index,
             proto_name(b.hop.proto), b.hop.ip.c_str(), b.hop.port);
    branch_failed_locally(tx, b, 430, "Flow Failed");
    return;
  }
  branch_failed_locally(tx, b, 477, "Send failed (477/TM)");
}

void Tm::branch_failed_locally(Transaction& tx, Branch& b, int code, std::string_view reason) {
  b.retransmit_ev.reset();
  b.fr_ev.reset();
  b.last_code = code;
  b.local = true;
  b.final_reply.clear();
  (void)tx;
  (void)reason;
}

void Tm::arm_fr(Branch& b, int64_t ms) {
  if (!b.fr_ev) b.fr_ev.reset(evtimer_new(s_.base, on_branch_fr, &b));
  struct timeval tv = ms_to_timeval(ms);
  evtimer_add(b.fr_ev.get(), &tv);
}

void Tm::arm_retransmit(Branch& b) {
  if (!b.retransmit_ev) b.retransmit_ev.reset(evtimer_new(s_.base, on_branch_retransmit, &b));
  struct timeval tv = ms_to_timeval(b.retransmit_ms);
  evtimer_add(b.retransmit_ev.get(), &tv);
}

void Tm::on_branch_retransmit(evutil_socket_t, short, void* arg) {
  auto* b = static_cast<Branch*>(arg);
  Transaction& tx = *b->tx;
  Tm& tm = *tx.tm;
  const std::string& bytes = b->cancelled && !b->cancel.empty() ? b->cancel : b->request;
  SendResult r = tm.s_.transport->send(b->hop, bytes);
  if (!r.ok) LOG_DBG("tm", "%s: retransmission lost: %s", tx.up.label.c_str(), r.error.c_str());
  stat_add(Stat::kTmRetransmissions);
  b->retransmit_ms = std::min(b->retransmit_ms * 2, tm.s_.config.t2_ms);
  tm.arm_retransmit(*b);
}

void Tm::on_branch_fr(evutil_socket_t, short, void* arg) {
  auto* b = static_cast<Branch*>(arg);
  Transaction& tx = *b->tx;
  Tm& tm = *tx.tm;
  if (b->done()) return;
  if (b->dns_query != 0 && tm.s_.resolver != nullptr) {
    tm.s_.resolver->cancel(b->dns_query);
    b->dns_query = 0;
  }
  const bool had_reply = b->last_code != 0;
  stat_add(tx.invite ? Stat::kTmTimeoutInv : Stat::kTmTimeout);
  LOG_INFO("tm", "%s: branch %d to %s:%s:%u: no final reply in time (%s)", tx.up.label.c_str(),
           b->index, proto_name(b->hop.proto), b->hop.ip.c_str(), b->hop.port,
           had_reply ? "fr_inv_timeout" : "fr_timeout");
  if (tx.invite && had_reply) tm.send_cancel(tx, *b, kNoAnswerReason);
  b->retransmit_ev.reset();
  // DNS failover: a branch that got no reply at all tries the next address.
  if (!had_reply && !tx.no_dns_failover && b->next_alternative < b->alternatives.size()) {
    b->last_code = 0;
    if (tm.try_next_address(tx, *b)) return;
  }
  tm.branch_failed_locally(tx, *b, 408, "Request Timeout");
  tm.maybe_complete(tx);
}

void Tm::send_cancel(Transaction& tx, Branch& b, std::string_view reason) {
  if (b.cancelled || b.request.empty()) return;
  if (b.last_code == 0) {  // RFC 3261 §9.1: only after a provisional reply
    b.cancel_pending = true;
    return;
  }
  std::string copy = b.request;
  sip::Message sent;
  if (sip::parse_message(copy.data(), copy.size(), &sent).status != sip::ParseStatus::kOk ||
      !sip::build_cancel(sent, reason, &b.cancel)) {
    LOG_ERR("tm", "%s: branch %d: cannot build the CANCEL", tx.up.label.c_str(), b.index);
    return;
  }
  b.cancelled = true;
  b.cancel_pending = false;
  SendResult r = s_.transport->send(b.hop, b.cancel);
  if (!r.ok)
    LOG_NOTICE("tm", "%s: branch %d: CANCEL not sent: %s", tx.up.label.c_str(), b.index,
               r.error.c_str());
  if (b.hop.proto == Proto::kUdp) {
    b.retransmit_ms = s_.config.t1_ms;
    arm_retransmit(b);
  }
}

void Tm::cancel_pending_branches(Transaction& tx, Branch* except, std::string_view reason) {
  for (auto& b : tx.branches) {
    if (b.get() == except || b->done()) continue;
    if (b->dns_query != 0 && s_.resolver != nullptr) {
      s_.resolver->cancel(b->dns_query);
      b->dns_query = 0;
      branch_failed_locally(tx, *b, 487, "Request Terminated");
      continue;
    }
    send_cancel(tx, *b, reason);
  }
}

// ---- CANCEL -----------------------------------------------------------------------------------

void Tm::handle_cancel(RequestCtx& ctx, Transaction& invite) {
  // 200 to the CANCEL itself, statelessly, with the INVITE transaction's To-tag.
  sip::LocalReply lr;
  lr.code = 200;
  lr.reason = "canceling";
  lr.to_tag = invite.to_tag;
  sip::ReplyParams p;
  p.source_ip = ctx.from->src_ip;
  p.source_port = ctx.from->src_port;
  p.server = s_.config.server_header;
  std::string reply;
  if (sip::build_reply(*ctx.msg, lr, p, &reply)) {
    NextHop hop;
    hop.proto = ctx.from->proto;
    hop.ip = std::string(ctx.from->src_ip);
    hop.port = ctx.from->src_port;
    hop.conn_id = ctx.from->conn_id;
    hop.conn_owner = ctx.from->conn_owner;
    hop.socket = ctx.from->listener;
    s_.transport->send(hop, reply);
    stat_add(Stat::kTmLocalReplies);
  }
  if (invite.final_sent() || invite.cancelled) return;
  invite.cancelled = true;
  if (invite.branches.empty()) {
    reply_local(invite, 487, "Request Terminated");
    finish(invite);
    return;
  }
  cancel_pending_branches(invite, nullptr, kCancelReason);
  maybe_complete(invite);
}

// ---- replies ----------------------------------------------------------------------------------

void Tm::on_reply(sip::Message& reply, const Inbound& from) {
  stat_add(Stat::kRcvReplies);
  stat_add(Stat::kTmReceivedReplies);
  const sip::Via* v = reply.top_via();
  std::optional<BranchId> id = v != nullptr ? decode_branch(v->branch) : std::nullopt;
  if (!id) {
    if (v != nullptr && v->branch.starts_with("z9hG4bK-sl")) {
      forward_reply_stateless(reply, from);
      return;
    }
    stat_add(Stat::kDropReplies);
    LOG_DBG("tm", "%.*s: reply %d matches no transaction of ours",
            static_cast<int>(from.label.size()), from.label.data(), reply.status_code());
    return;
  }
  if (id->owner != s_.proc_index) {
    if (from.relayed_from == 0 && s_.transport->relay(id->owner, from, reply.raw())) return;
    stat_add(Stat::kDropReplies);
    return;
  }
  Transaction* tx = find(id->transaction);
  if (tx == nullptr || id->branch >= static_cast<int>(tx->branches.size())) {
    // RFC 3261 §16.7: a 2xx to an INVITE whose transaction is gone still goes upstream.
    if (reply.status_code() >= 200 && reply.status_code() < 300 &&
        reply.cseq_method() == "INVITE") {
      forward_reply_stateless(reply, from);
      return;
    }
    stat_add(Stat::kDropReplies);
    LOG_DBG("tm", "%.*s: late reply %d (transaction gone)", static_cast<int>(from.label.size()),
            from.label.data(), reply.status_code());
    return;
  }
  Branch& b = *tx->branches[static_cast<size_t>(id->branch)];
  // The reply to our own CANCEL: it ends nothing (the INVITE's 487 will).
  if (reply.cseq_method() == "CANCEL") {
    if (b.cancelled && b.hop.proto == Proto::kUdp && b.last_code >= 100) b.retransmit_ev.reset();
    return;
  }
  branch_reply(*tx, b, reply, from);
}

void Tm::branch_reply(Transaction& tx, Branch& b, sip::Message& reply, const Inbound& from) {
  const int code = reply.status_code();
  if (b.done()) {
    // A retransmitted final reply: ACK it again (INVITE, negative) or relay it (2xx).
    if (tx.invite && code >= 300) ack_negative(tx, b, reply);
    if (code >= 200 && code < 300) {
      editor_.reset(reply);
      relay_reply(tx, reply, editor_, code);
    }
    return;
  }
  sip::MessageEditor edits;
  edits.reset(reply);
  RouteRef route = b.on_reply.valid() ? b.on_reply : tx.on_reply;
  bool keep = s_.host->run_reply_routes(&tx, &b, route, reply, edits, from);
  if (live_.count(tx.id) == 0) return;  // the route ended it (t_reply in onreply is not ours)
  const bool first_reply = b.last_code == 0;
  if (code < 200) {
    b.last_code = std::max(b.last_code, code);
    // Any provisional reply stops INVITE retransmissions; a non-INVITE one paces them at T2.
    if (tx.invite) {
      b.retransmit_ev.reset();
    } else if (b.retransmit_ev) {
      b.retransmit_ms = s_.config.t2_ms;
    }
    if (tx.invite && (first_reply || s_.config.restart_fr_on_each_reply))
      arm_fr(b, s_.config.fr_inv_timeout_ms);
    if (b.cancel_pending) send_cancel(tx, b, kCancelReason);
    if (code > 100 && keep && !tx.final_sent()) relay_reply(tx, reply, edits, code);
    return;
  }
  b.last_code = code;
  b.retransmit_ev.reset();
  b.fr_ev.reset();
  if (tx.invite && code >= 300) ack_negative(tx, b, reply);
  if (code < 300) {
    // Every 2xx goes upstream at once; the other branches are cancelled.
    b.final_reply.clear();
    tx.winner = b.index;
    cancel_pending_branches(tx, &b, kCancelReason);
    relay_reply(tx, reply, edits, code);
    finish(tx);
    return;
  }
  // A negative final reply: kept until every branch is done. The edits of the reply route
  // go with it.
  if (!edits.build(&b.final_reply)) b.final_reply.assign(reply.raw());
  b.local = false;
  // DNS failover on a 503 (RFC 3263 §4.3).
  if (code == 503 && !tx.no_dns_failover && b.next_alternative < b.alternatives.size()) {
    const int nb = add_branch(tx, b.ruri, b.du, b.on_reply);
    if (nb >= 0) {
      Branch& next = *tx.branches[static_cast<size_t>(nb)];
      Branch& prev = *tx.branches[static_cast<size_t>(b.index)];  // add_branch may move b
      if (prev.has_base) {
        next.base = prev.base;
        next.has_base =
            sip::parse_message(next.base.data(), next.base.size(), &next.base_msg).status ==
            sip::ParseStatus::kOk;
      }
      next.alternatives.assign(b.alternatives.begin() + static_cast<long>(b.next_alternative),
                               b.alternatives.end());
      b.next_alternative = b.alternatives.size();
      if (try_next_address(tx, next)) return;
    }
  }
  if (code >= 600 && !s_.config.disable_6xx_block) cancel_pending_branches(tx, &b, kCancelReason);
  maybe_complete(tx);
}

int Tm::pick_winner(const Transaction& tx) const {
  int best = -1;
  int best_prio = 0;
  for (size_t i = 0; i < tx.branches.size(); ++i) {
    const Branch& b = *tx.branches[i];
    if (!b.done()) continue;
    int prio = reply_priority(b.last_code, tx.cancelled);
    if (best < 0 || prio < best_prio) {
      best = static_cast<int>(i);
      best_prio = prio;
    }
  }
  return best;
}

void Tm::maybe_complete(Transaction& tx) {
  if (live_.count(tx.id) == 0 || tx.final_sent() || tx.in_failure) return;
  for (size_t i = static_cast<size_t>(tx.round_start); i < tx.branches.size(); ++i)
    if (!tx.branches[i]->done()) return;
  if (tx.branches.empty()) return;
  tx.winner = pick_winner(tx);
  if (tx.winner < 0) return;
  Branch& w = *tx.branches[static_cast<size_t>(tx.winner)];
  if (tx.on_failure.valid() && !tx.cancelled) {
    RouteRef route = tx.on_failure;
    tx.on_failure = RouteRef{};  // re-armed by t_on_failure() inside the route
    tx.in_failure = true;
    const size_t before = tx.branches.size();
    s_.host->run_failure_route(tx, route);
    if (live_.count(tx.id) == 0) return;
    tx.in_failure = false;
    if (tx.final_sent()) return;
    if (tx.branches.size() > before) {
      // New branches: wait for them (they may have failed already, synchronously).
      for (size_t i = before; i < tx.branches.size(); ++i)
        if (!tx.branches[i]->done()) return;
      maybe_complete(tx);
      return;
    }
    tx.winner = pick_winner(tx);
  }
  relay_stored_reply(tx, *tx.branches[static_cast<size_t>(tx.winner)]);
  (void)w;
  finish(tx);
}

void Tm::relay_stored_reply(Transaction& tx, Branch& b) {
  if (b.local || b.final_reply.empty()) {
    int code = b.last_code;
    std::string_view reason = code == 408   ? "Request Timeout"
                              : code == 476 ? "Unresolvable destination (476/TM)"
                              : code == 477 ? "Send failed (477/TM)"
                              : code == 430 ? "Flow Failed"
                              : code == 487 ? "Request Terminated"
                                            : std::string_view();
    if (code == 477 && tx.no_auto_477) return;
    reply_local(tx, code, reason);
    return;
  }
  sip::Message stored;
  std::string copy = b.final_reply;
  if (sip::parse_message(copy.data(), copy.size(), &stored).status != sip::ParseStatus::kOk) {
    reply_local(tx, 500, "Server Internal Error");
    return;
  }
  editor_.reset(stored);
  relay_reply(tx, stored, editor_, b.last_code);
}

void Tm::relay_reply(Transaction& tx, sip::Message& reply, sip::MessageEditor& edits, int code) {
  // Our Via off the top (RFC 3261 §16.7 step 3).
  sip::EditStatus st = edits.remove_top_via();
  std::string bytes;
  if ((st != sip::EditStatus::kOk && st != sip::EditStatus::kOverlap) || !edits.build(&bytes)) {
    LOG_ERR("tm", "%s: reply %d cannot be relayed", tx.up.label.c_str(), code);
    return;
  }
  if (code >= 200 && tx.reply_code < 200 && s_.host != nullptr) {
    const sip::NameAddr* to = reply.to();
    s_.host->on_final_reply(tx, code, reply.reason(),
                            to != nullptr && to->has_tag ? to->tag : std::string_view());
  }
  stat_add(Stat::kTmRelayedReplies);
  stat_add(Stat::kFwdReplies);
  send_upstream(tx, std::move(bytes), code, false);
}

void Tm::send_upstream(Transaction& tx, std::string bytes, int code, bool local) {
  NextHop hop;
  hop.proto = tx.up.proto;
  hop.ip = tx.up.ip;
  hop.port = tx.up.port;
  hop.conn_id = tx.up.conn_id;
  hop.conn_owner = tx.up.conn_owner;
  hop.socket = tx.up.listener;
  SendResult r = s_.transport->send(hop, bytes);
  if (!r.ok)
    LOG_NOTICE("tm", "%s: reply %d not sent upstream: %s", tx.up.label.c_str(), code,
               r.error.c_str());
  if (code >= tx.reply_code || code >= 200) {
    if (code >= 200 && tx.reply_code < 200) stat_add(code_class_stat(code));
    tx.reply_code = code;
    tx.reply = std::move(bytes);
    tx.reply_local = local;
  }
}

void Tm::reply_local(Transaction& tx, int code, std::string_view reason) {
  sip::LocalReply lr;
  lr.code = code;
  lr.reason = reason;
  if (code >= 180) lr.to_tag = tx.to_tag;
  sip::ReplyParams p;
  p.server = s_.config.server_header;
  std::string bytes;
  if (!sip::build_reply(tx.req, lr, p, &bytes)) {
    LOG_ERR("tm", "%s: cannot build a %d reply", tx.up.label.c_str(), code);
    return;
  }
  stat_add(Stat::kTmLocalReplies);
  if (code >= 200 && tx.reply_code < 200 && s_.host != nullptr)
    s_.host->on_final_reply(tx, code, reason, tx.to_tag);
  send_upstream(tx, std::move(bytes), code, true);
}

void Tm::finish(Transaction& tx) {
  if (live_.count(tx.id) == 0) return;
  tx.lifetime_ev.reset();
  // A negative final reply to an INVITE over UDP is retransmitted until its ACK arrives.
  if (tx.invite && tx.reply_code >= 300 && tx.up.proto == Proto::kUdp && !tx.confirmed) {
    tx.retransmit_ms = s_.config.t1_ms;
    tx.retransmit_ev.reset(evtimer_new(s_.base, on_upstream_retransmit, &tx));
    struct timeval tv = ms_to_timeval(tx.retransmit_ms);
    evtimer_add(tx.retransmit_ev.get(), &tv);
  }
  arm_linger(tx);
}

void Tm::arm_linger(Transaction& tx) {
  // Long enough to absorb retransmissions and the ACK; for a negative INVITE reply over UDP,
  // as long as its retransmissions run (fr_timeout, OpenSIPS's wait for the ACK).
  int64_t ms = s_.config.wt_ms;
  if (tx.retransmit_ev) ms = std::max(ms, s_.config.fr_timeout_ms);
  tx.linger_ev.reset(evtimer_new(s_.base, on_linger, &tx));
  struct timeval tv = ms_to_timeval(ms);
  evtimer_add(tx.linger_ev.get(), &tv);
}

void Tm::on_linger(evutil_socket_t, short, void* arg) {
  auto* tx = static_cast<Transaction*>(arg);
  tx->tm->retire(*tx);
}

void Tm::on_upstream_retransmit(evutil_socket_t, short, void* arg) {
  auto* tx = static_cast<Transaction*>(arg);
  Tm& tm = *tx->tm;
  if (tx->confirmed || tx->reply.empty()) return;
  NextHop hop;
  hop.proto = tx->up.proto;
  hop.ip = tx->up.ip;
  hop.port = tx->up.port;
  hop.socket = tx->up.listener;
  tm.s_.transport->send(hop, tx->reply);
  stat_add(Stat::kTmReplyRetransmissions);
  tx->retransmit_ms = std::min(tx->retransmit_ms * 2, tm.s_.config.t2_ms);
  struct timeval tv = ms_to_timeval(tx->retransmit_ms);
  evtimer_add(tx->retransmit_ev.get(), &tv);
}

void Tm::ack_negative(Transaction& tx, Branch& b, const sip::Message& reply) {
  std::string copy = b.request;
  sip::Message sent;
  std::string ack;
  if (sip::parse_message(copy.data(), copy.size(), &sent).status != sip::ParseStatus::kOk ||
      !sip::build_non2xx_ack(sent, reply, &ack)) {
    LOG_NOTICE("tm", "%s: branch %d: cannot build the ACK for %d", tx.up.label.c_str(), b.index,
               reply.status_code());
    return;
  }
  s_.transport->send(b.hop, ack);
}

void Tm::forward_reply_stateless(sip::Message& reply, const Inbound& from) {
  // Upstream is the second Via (RFC 3261 §16.7 step 3, 18.2.2).
  sip::Via second;
  if (!sip::via_at(reply, 1, &second)) {
    stat_add(Stat::kDropReplies);
    return;
  }
  NextHop hop;
  std::optional<Proto> p = proto_from_name(second.transport);
  if (!p) {
    stat_add(Stat::kDropReplies);
    return;
  }
  hop.proto = *p;
  hop.ip = std::string(second.has_received ? second.received : second.host);
  hop.port =
      second.has_rport && !second.rport.empty()
          ? static_cast<uint16_t>(std::strtoul(std::string(second.rport).c_str(), nullptr, 10))
          : (second.port != 0 ? second.port : (hop.proto == Proto::kTls ? 5061 : 5060));
  if (!is_ip_literal(hop.ip)) {
    stat_add(Stat::kDropReplies);
    LOG_INFO("tm", "%.*s: reply %d: upstream Via has no address to send to",
             static_cast<int>(from.label.size()), from.label.data(), reply.status_code());
    return;
  }
  hop.socket = socket_for(hop.proto, hop.ip, -1, nullptr);
  editor_.reset(reply);
  std::string bytes;
  if (editor_.remove_top_via() != sip::EditStatus::kOk || !editor_.build(&bytes)) return;
  SendResult r = s_.transport->send(hop, bytes);
  if (r.ok) stat_add(Stat::kFwdReplies);
}

// ---- stateless forward() ----------------------------------------------------------------------

int Tm::forward(RequestCtx& ctx, std::string_view dest) {
  std::string target_uri;
  if (!dest.empty()) {
    target_uri = dest.starts_with("sip:") || dest.starts_with("sips:") ? std::string(dest)
                                                                       : "sip:" + std::string(dest);
    // "proto:host:port" → sip:host:port;transport=proto
    size_t c = dest.find(':');
    if (c != std::string_view::npos && proto_from_name(dest.substr(0, c)))
      target_uri =
          "sip:" + std::string(dest.substr(c + 1)) + ";transport=" + std::string(dest.substr(0, c));
  } else {
    target_uri = ctx.du.empty() ? std::string(ctx.effective_ruri()) : ctx.du;
  }
  dns::SipTarget target;
  std::string why;
  if (!parse_next_hop(target_uri, &target, &why)) {
    LOG_NOTICE("core", "forward(): %s", why.c_str());
    return -1;
  }
  std::optional<dns::ResolveResult> r =
      s_.resolver ? s_.resolver->resolve_now(target) : std::nullopt;
  if (!r && s_.resolver == nullptr && is_ip_literal(target.host)) {
    dns::Destination d;
    d.proto = target.transport.value_or(target.secure ? Proto::kTls : Proto::kUdp);
    d.ip = target.host;
    d.port = target.port ? target.port : (d.proto == Proto::kTls ? 5061 : 5060);
    r = dns::ResolveResult{{d}, ""};
  }
  if (!r || !r->ok() || r->destinations.empty()) {
    // forward() is synchronous in OpenSIPS; a name not in the DNS cache cannot be waited for
    // here without blocking, so the request is dropped (it will be retransmitted, by then the
    // cache has it).
    if (s_.resolver != nullptr && !r) s_.resolver->resolve(target, [](dns::ResolveResult) {});
    LOG_INFO("core", "forward(): %s: %s", printable(target_uri).c_str(),
             r ? r->error.c_str() : "resolving (not cached yet); request dropped");
    return -1;
  }
  const dns::Destination& d = r->destinations.front();
  NextHop hop;
  hop.proto = d.proto;
  hop.ip = d.ip;
  hop.port = d.port;
  hop.server_name = d.server_name;
  if (is_stream(hop.proto) && (ctx.dst_conn_id != 0 || ctx.dst_no_new_conn)) {
    // lookup()'s phone, or loose_route()'s flow: that connection only.
    hop.conn_id = ctx.dst_conn_id;
    hop.conn_owner = ctx.dst_conn_owner;
    hop.no_new_conn = ctx.dst_no_new_conn;
  }
  const int socket =
      s_.transport->choose_socket(d.proto, d.ip.find(':') != std::string::npos, ctx.forced_socket,
                                  ctx.from ? ctx.from->listener : -1);
  if (socket < 0) {
    LOG_NOTICE("core", "forward(): no %s listener to send from", proto_name(d.proto));
    return -1;
  }
  if (hop.proto != Proto::kUdp) hop.socket = socket;
  // The request with the script's edits, received/rport on the upstream Via, our Via with a
  // branch that is the same for every retransmission, and the new Request-URI.
  Transaction scratch;
  if (!build_base(scratch, ctx)) return -1;
  const sip::Via* v = ctx.msg->top_via();
  std::string key = v != nullptr && v->branch.starts_with(kMagicCookie)
                        ? std::string(v->branch)
                        : std::string(ctx.msg->call_id()) + std::string(ctx.msg->from_tag()) +
                              std::to_string(ctx.msg->cseq_number());
  if (ctx.msg->method_id() == sip::Method::kCancel || ctx.msg->method_id() == sip::Method::kAck)
    key += "|I";  // the same branch as the INVITE it belongs to would get
  sip::MessageEditor& ed = editor_;
  if (ed.reset(scratch.req) != sip::EditStatus::kOk) return -1;
  std::string_view ruri = ctx.effective_ruri();
  if (ruri != scratch.req.ruri() && ed.set_request_uri(ruri) != sip::EditStatus::kOk) return -1;
  if (ed.push_via(via_value(socket, stateless_branch(key))) != sip::EditStatus::kOk) return -1;
  if (ctx.path.enabled && ctx.from != nullptr) {
    Upstream up;
    up.proto = ctx.from->proto;
    up.ip = std::string(ctx.from->src_ip);
    up.port = ctx.from->src_port;
    up.listener = ctx.from->listener;
    if (!add_path_headers(ctx.path, up, socket, scratch.req, ed)) return -1;
  }
  if (ctx.rr.enabled) {
    const sip::Header* first_rr = scratch.req.first(sip::HeaderType::kRecordRoute);
    for (const std::string& rv :
         record_route_values(ctx.rr, scratch.req, ctx.from ? ctx.from->listener : -1, socket)) {
      if (first_rr != nullptr)
        ed.insert_header_before(*first_rr, "Record-Route", rv);
      else
        ed.insert_header_first("Record-Route", rv);
    }
  }
  if (!ed.build(&out_)) return -1;
  SendResult sent = s_.transport->send(hop, out_);
  if (!sent.ok) {
    if (ctx.dst_flow) stat_add(Stat::kOutboundFlowsFailed);
    LOG_NOTICE("core", "forward(): %s", sent.error.c_str());
    return -1;
  }
  stat_add(Stat::kFwdRequests);
  return 1;
}

// ---- rr ---------------------------------------------------------------------------------------

std::string Tm::our_route_uri(int socket, std::string_view user, bool r2) const {
  const SocketAddr& s = s_.transport->sockets()[static_cast<size_t>(socket)];
  std::string v = "<sip:";
  if (!user.empty()) {
    v.append(user);
    v += '@';
  }
  const std::string& ip = s.shown_ip();
  v += ip.find(':') != std::string::npos ? "[" + ip + "]" : ip;
  if (s.shown_port() != 5060) v += ":" + std::to_string(s.shown_port());  // OpenSIPS: no 5060
  if (s.proto != Proto::kUdp) {
    v += ";transport=";
    v += proto_name(s.proto);
  }
  if (r2) v += ";r2=on";
  v += ";lr";
  return v;
}

std::vector<std::string> Tm::record_route_values(const RecordRouteSpec& rr, const sip::Message& req,
                                                 int in_socket, int out_socket) const {
  std::vector<std::string> out;
  std::string ftag;
  if (s_.config.append_fromtag && !req.from_tag().empty()) {
    ftag = ";ftag=";
    ftag.append(req.from_tag());
  }
  if (rr.preset) {
    out.push_back("<sip:" + rr.preset_out + ";lr" + ftag + rr.params + ">");
    if (!rr.preset_in.empty())
      out.push_back("<sip:" + rr.preset_in + ";lr" + ftag + rr.params + ">");
    return out;
  }
  auto one = [&](int socket, bool r2) {
    std::string v = our_route_uri(socket, rr.user, r2);
    v += ftag;
    v += rr.params;
    v += '>';
    return v;
  };
  const bool differ = in_socket >= 0 && in_socket != out_socket;
  if (differ && s_.config.enable_double_rr) {
    out.push_back(one(out_socket, true));
    out.push_back(one(in_socket, true));
  } else {
    out.push_back(one(out_socket, false));
  }
  return out;
}

// ---- path -------------------------------------------------------------------------------------

std::vector<std::string> Tm::path_values(const PathSpec& path, const Upstream& up,
                                         int out_socket) const {
  auto one = [&](int socket, bool r2, bool received) {
    std::string v = our_route_uri(socket, path.user, r2);
    if (received) {
      std::string src = "sip:" + ip_port_text(up.ip, up.port);
      if (up.proto != Proto::kUdp) src += std::string(";transport=") + proto_name(up.proto);
      v += ";received=" + sip::escape_param_value(src);
    }
    if (path.ob) v += ";ob";
    v += '>';
    return v;
  };
  std::vector<std::string> out;
  if (up.listener >= 0 && up.listener != out_socket && s_.config.enable_double_path) {
    // The second (the socket the REGISTER came in on) carries ;received, as OpenSIPS's.
    out.push_back(one(out_socket, true, false));
    out.push_back(one(up.listener, true, path.received));
  } else {
    out.push_back(one(out_socket, false, path.received));
  }
  return out;
}

bool Tm::add_path_headers(const PathSpec& path, const Upstream& up, int out_socket,
                          const sip::Message& req, sip::MessageEditor& ed) const {
  // Ours goes on top of the Path list (RFC 3327 §4.3), in order.
  const sip::Header* first_path = first_path_header(req);
  for (const std::string& v : path_values(path, up, out_socket)) {
    sip::EditStatus st = first_path != nullptr ? ed.insert_header_before(*first_path, "Path", v)
                                               : ed.insert_header_first("Path", v);
    if (st != sip::EditStatus::kOk) return false;
  }
  return true;
}

}  // namespace sipsd::tm
