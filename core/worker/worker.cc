#include "core/worker/worker.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "core/base/clock.h"
#include "core/base/event_memory.h"
#include "core/base/event_ptr.h"
#include "core/base/process_context.h"
#include "core/base/signal_watch.h"
#include "core/dns/resolver.h"
#include "core/dns/resolver_config.h"
#include "core/registrar/registrar.h"
#include "core/shm/stats.h"
#include "core/sip/message.h"
#include "core/tm/tm.h"
#include "core/transport/transport.h"
#include "core/usrloc/location_table.h"
#include "core/worker/memory_return.h"
#include "core/worker/myself.h"
#include "core/worker/sip_receiver.h"
#include "tls_mgm/tls_domain_config.h"

namespace sipsd {

namespace {

constexpr int kMaxChannelMessagesPerEvent = 64;

tm::TmConfig tm_config(const Config& cfg) {
  tm::TmConfig c;
  c.fr_timeout_ms = int64_t{cfg.tm.fr_timeout} * 1000;
  c.fr_inv_timeout_ms = int64_t{cfg.tm.fr_inv_timeout} * 1000;
  c.t1_ms = cfg.tm.t1_timer;
  c.t2_ms = cfg.tm.t2_timer;
  c.wt_ms = int64_t{cfg.tm.wt_timer} * 1000;
  c.restart_fr_on_each_reply = cfg.tm.restart_fr_on_each_reply;
  c.auto_100trying = cfg.tm.auto_100trying;
  c.disable_6xx_block = cfg.tm.disable_6xx_block;
  c.disable_dns_failover = cfg.core.disable_dns_failover;
  c.max_transactions = static_cast<size_t>(cfg.tm.max_transactions);
  c.max_branches = cfg.tm.max_branches;
  c.append_fromtag = cfg.rr.append_fromtag;
  c.enable_double_rr = cfg.rr.enable_double_rr;
  c.enable_double_path = cfg.path_mod.enable_double_path;
  c.server_header = std::string("sipsd (") + SIPSD_VERSION + ")";
  // Checked at load (tls_setup); a cfg that got this far parses.
  if (Result<TlsMgmGlobals> g = parse_tls_globals(cfg); g.ok() && cfg.script != nullptr) {
    c.client_tls_domain_avp_slot = cfg.script->avp_slot(g->client_tls_domain_avp);
    c.client_sip_domain_avp_slot = cfg.script->avp_slot(g->client_sip_domain_avp);
  }
  return c;
}

// A flag modparam ("NAME" or a number) as the script's bit; -1 when unset or never used.
int flag_bit(const Script& script, const std::string& text) {
  if (text.empty()) return -1;
  if (text.find_first_not_of("0123456789") == std::string::npos) return std::stoi(text) & 31;
  for (int bit = 0; bit < 32; ++bit)
    if (script.flag_name(bit) == text) return bit;
  return -1;
}

class Worker final : public TransportUser {
 public:
  explicit Worker(WorkerSetup setup)
      : s_(std::move(setup)),
        receiver_(s_.config->script, std::string("sipsd (") + SIPSD_VERSION + ")") {}

  int run();

  // TransportUser
  void on_sip_message(char* data, size_t len, const Inbound& from) override;

 private:
  // Replies of the stateless path go back the way the request came: on its connection, or over
  // UDP to its source (RFC 3581: the source port when the request asked for rport, which sipsd
  // treats as always, as OpenSIPS's sl does for replies it sends from the receiving socket).
  class ReplyBack final : public ReplySink {
   public:
    ReplyBack(Transport& t, const Inbound& in) : t_(t), in_(in) {}
    void send_reply(std::string_view bytes) override {
      NextHop hop;
      hop.proto = in_.proto;
      hop.ip = std::string(in_.src_ip);
      hop.port = in_.src_port;
      hop.conn_id = in_.conn_id;
      hop.conn_owner = in_.conn_owner;
      hop.socket = in_.listener;
      SendResult r = t_.send(hop, bytes);
      if (!r.ok)
        LOG_INFO("core", "%.*s: reply not sent: %s", static_cast<int>(in_.label.size()),
                 in_.label.data(), r.error.c_str());
    }

   private:
    Transport& t_;
    const Inbound& in_;
  };

  static void on_channel(evutil_socket_t, short, void* arg);
  static void on_parent_check(evutil_socket_t, short, void* arg);
  static void on_heartbeat(evutil_socket_t, short, void* arg);
  // Proves to the supervisor that this loop turns (tcp_worker_stall_timeout): a timer writes
  // the monotonic clock into this process's shm slot, a few times per timeout. The same tick
  // gives the heap back to the system after many connections closed (MemoryReturn).
  void start_heartbeat();

  void stop(const char* why);

  WorkerSetup s_;
  SipReceiver receiver_;
  EventBasePtr base_;
  std::unique_ptr<Transport> transport_;
  std::unique_ptr<dns::Resolver> resolver_;
  std::unique_ptr<Myself> myself_;
  std::unique_ptr<tm::Tm> tm_;
  std::unique_ptr<reg::Registrar> registrar_;
  std::unique_ptr<auth::Authorizer> auth_;
  EventPtr channel_ev_;
  std::unique_ptr<SignalWatch> signals_;
  EventPtr parent_check_ev_;
  EventPtr heartbeat_ev_;
  MemoryReturn memory_return_;
  // startup_route and timer_route (the first TCP worker runs them, OpenSIPS's timer process).
  struct TimerRouteEvent {
    Worker* worker;
    RouteRef route;
    EventPtr ev;
  };
  void start_script_timers();
  static void on_timer_route(evutil_socket_t, short, void* arg);
  std::vector<std::unique_ptr<TimerRouteEvent>> timer_routes_;
  bool stopping_ = false;
};

int Worker::run() {
  const char* role = process_role_name(s_.role);
  Status shm_ok = s_.shm->validate();
  if (!shm_ok.ok()) {
    LOG_ERR("core", "%s %d: %s", role, s_.proc_index, shm_ok.message().c_str());
    return 1;
  }
  base_.reset(event_base_new());
  if (!base_) {
    LOG_ERR("core", "%s %d: cannot create an event loop", role, s_.proc_index);
    return 1;
  }
  TransportSetup ts;
  ts.base = base_.get();
  ts.config = s_.config;
  ts.shm = s_.shm;
  ts.proc_index = s_.proc_index;
  for (const ListenerAddr& l : s_.listeners)
    ts.sockets.push_back(SocketAddr{l.proto, l.ip, l.port, l.adv_ip, l.adv_port});
  ts.user = this;
  transport_ = std::make_unique<Transport>(std::move(ts));
  Status tls_ok = transport_->load_tls();
  if (!tls_ok.ok()) {
    LOG_ERR("core", "%s %d: cannot build TLS contexts: %s", role, s_.proc_index,
            tls_ok.message().c_str());
    return 1;
  }
  Result<std::unique_ptr<dns::Resolver>> resolver =
      dns::Resolver::create(base_.get(), dns::resolver_params(*s_.config));
  if (!resolver.ok()) {
    LOG_ERR("core", "%s %d: %s", role, s_.proc_index, resolver.message().c_str());
    return 1;
  }
  resolver_ = std::move(resolver).value();
  myself_ = std::make_unique<Myself>(&transport_->sockets(), &s_.config->aliases);
  tm::TmSetup tms;
  tms.base = base_.get();
  tms.transport = transport_.get();
  tms.resolver = resolver_.get();
  tms.config = tm_config(*s_.config);
  tms.proc_index = s_.proc_index;
  tms.owner_index = s_.shm->tx_index();
  tms.host = &receiver_;
  tm_ = std::make_unique<tm::Tm>(std::move(tms));
  receiver_.attach(tm_.get(), transport_.get(), myself_.get(), s_.config->core.tcp_accept_aliases);
  if (s_.config->has_module("registrar") && s_.shm->usrloc_area() != nullptr) {
    Result<ul::LocationTable> table =
        ul::LocationTable::attach(s_.shm->usrloc_area(), s_.shm->usrloc_size());
    if (!table.ok()) {
      LOG_ERR("core", "%s %d: %s", role, s_.proc_index, table.message().c_str());
      return 1;
    }
    const Config& c = *s_.config;
    reg::RegistrarConfig rc;
    rc.default_expires = c.registrar.default_expires;
    rc.min_expires = c.registrar.min_expires;
    rc.max_expires = c.registrar.max_expires;
    rc.max_contacts = c.registrar.max_contacts;
    rc.tcp_persistent_flag = flag_bit(*c.script, c.registrar.tcp_persistent_flag);
    rc.received_param = c.registrar.received_param;
    rc.retry_after = c.registrar.retry_after;
    rc.use_domain = c.usrloc.use_domain;
    rc.cseq_delay = c.usrloc.cseq_delay;
    rc.server_header = std::string("sipsd (") + SIPSD_VERSION + ")";
    registrar_ = std::make_unique<reg::Registrar>(std::move(rc), *table);
    const int avp_slot =
        c.registrar.received_avp.empty() ? -1 : c.script->avp_slot(c.registrar.received_avp);
    receiver_.attach_registrar(registrar_.get(), avp_slot);
  }
  if (s_.auth_shared != nullptr && s_.auth_params != nullptr) {
    auth_ = std::make_unique<auth::Authorizer>(s_.auth_shared, s_.auth_params);
    receiver_.set_auth(auth_.get());
  }
  receiver_.set_outbound(s_.flow_token_key, s_.config->path_mod.use_received);
  receiver_.set_acc(s_.config->acc);
  if (!s_.config->acc.db_url.empty()) {
    // do_accounting("db"): the supervisor writes the rows (batched, off this loop). A full
    // channel drops the row (counted), it never blocks the worker.
    receiver_.set_acc_db_sink([this](const ipc::AccRecord& r) {
      ipc::Envelope env;
      *env.mutable_acc_record() = r;
      return s_.channel.send(env) == ipc::IoStatus::kOk;
    });
  }
  for (auto& [peer, channel] : s_.peers) transport_->attach_peer(peer, std::move(channel));
  s_.peers.clear();
  for (UdpSocketSetup& u : s_.udp) {
    Status st = transport_->add_udp_socket(std::move(u.fd), u.listener, u.read);
    if (!st.ok()) {
      LOG_ERR("core", "%s %d: %s", role, s_.proc_index, st.message().c_str());
      return 1;
    }
  }
  s_.udp.clear();

  channel_ev_.reset(
      event_new(base_.get(), s_.channel.fd(), EV_READ | EV_PERSIST, on_channel, this));
  event_add(channel_ev_.get(), nullptr);
  // SIGTERM/SIGINT arrive blocked from the supervisor: one sent before this point is pending
  // and is read from the signalfd now.
  auto signals = SignalWatch::create(base_.get(), {SIGTERM, SIGINT}, [this](int sig) {
    stop(sig == SIGINT ? "SIGINT" : "SIGTERM");
  });
  if (!signals.ok()) {
    LOG_ERR("core", "%s %d: %s", role, s_.proc_index, signals.message().c_str());
    return 1;
  }
  signals_ = std::move(signals).value();
  parent_check_ev_.reset(event_new(base_.get(), -1, EV_PERSIST, on_parent_check, this));
  struct timeval one_second = {1, 0};
  event_add(parent_check_ev_.get(), &one_second);
  start_heartbeat();

  ipc::Envelope ready;
  ready.mutable_worker_ready()->set_pid(getpid());
  ready.mutable_worker_ready()->set_tls_generation(transport_->tls_generation());
  std::string err;
  if (s_.channel.send(ready, -1, &err) != ipc::IoStatus::kOk) {
    LOG_ERR("core", "%s %d: cannot report to the supervisor: %s", role, s_.proc_index, err.c_str());
    return 1;
  }
  LOG_DBG("core", "%s %d ready", role, s_.proc_index);
  if (s_.proc_index == 1) start_script_timers();
  event_base_dispatch(base_.get());
  receiver_.attach(nullptr, nullptr, nullptr);
  receiver_.attach_registrar(nullptr, -1);
  tm_.reset();
  transport_.reset();
  resolver_.reset();
  return 0;
}

void Worker::on_channel(evutil_socket_t, short, void* arg) {
  BusyScope busy;
  auto* w = static_cast<Worker*>(arg);
  for (int i = 0; i < kMaxChannelMessagesPerEvent && !w->stopping_; ++i) {
    ipc::Envelope env;
    UniqueFd fd;
    std::string err;
    ipc::IoStatus st = w->s_.channel.recv(&env, &fd, &err);
    if (st == ipc::IoStatus::kAgain) return;
    if (st == ipc::IoStatus::kClosed) {
      w->stop("the supervisor closed its channel");
      return;
    }
    if (st == ipc::IoStatus::kError) {
      LOG_ERR("core", "worker %d: bad message from the supervisor: %s", w->s_.proc_index,
              err.c_str());
      continue;
    }
    switch (env.body_case()) {
      case ipc::Envelope::kConnHandoff:
        w->transport_->accept_handoff(env.conn_handoff(), std::move(fd));
        break;
      case ipc::Envelope::kPeerChannel:
        w->transport_->attach_peer(env.peer_channel().peer(), ipc::Channel(std::move(fd)));
        break;
      case ipc::Envelope::kTlsReload:
        w->transport_->reload_tls();
        break;
      case ipc::Envelope::kCloseConn:
        w->transport_->close_conn(env.close_conn().conn_id(),
                                  "closed by the management interface (tcp_close)");
        break;
      case ipc::Envelope::kShutdown:
        w->stop("shutdown requested");
        return;
      default:
        LOG_ERR("core", "worker %d: unexpected message kind %d", w->s_.proc_index,
                static_cast<int>(env.body_case()));
    }
  }
}

void Worker::on_sip_message(char* data, size_t len, const Inbound& from) {
  ReplyBack sink(*transport_, from);
  if (receiver_.receive(data, len, from, sink) == ReceiveVerdict::kClose &&
      from.conn_owner == s_.proc_index && from.conn_id != 0)
    transport_->close_conn(from.conn_id, "unparsable SIP message");
}

void Worker::start_script_timers() {
  const Script& script = *s_.config->script;
  if (script.startup_route().valid()) receiver_.run_route(script.startup_route());
  for (const TimerRoute& t : script.timer_routes()) {
    auto tr = std::make_unique<TimerRouteEvent>(TimerRouteEvent{this, t.route, nullptr});
    tr->ev.reset(event_new(base_.get(), -1, EV_PERSIST, on_timer_route, tr.get()));
    struct timeval every = {t.interval, 0};
    event_add(tr->ev.get(), &every);
    timer_routes_.push_back(std::move(tr));
  }
}

void Worker::on_timer_route(evutil_socket_t, short, void* arg) {
  BusyScope busy;
  auto* t = static_cast<TimerRouteEvent*>(arg);
  if (!t->worker->stopping_) t->worker->receiver_.run_route(t->route);
}

void Worker::on_parent_check(evutil_socket_t, short, void* arg) {
  auto* w = static_cast<Worker*>(arg);
  if (getppid() != w->s_.supervisor_pid) {
    w->stop("the supervisor is gone");
    return;
  }
  w->transport_->reload_tls();  // in case a reload notice was missed
}

void Worker::start_heartbeat() {
  const int timeout = s_.config->core.tcp_worker_stall_timeout;
  const int64_t every = timeout > 0 ? std::clamp(timeout / 4, 10, 500) : 1000;
  heartbeat_ev_.reset(event_new(base_.get(), -1, EV_PERSIST, on_heartbeat, this));
  struct timeval tv = ms_to_timeval(every);
  event_add(heartbeat_ev_.get(), &tv);
  on_heartbeat(-1, 0, this);
}

void Worker::on_heartbeat(evutil_socket_t, short, void* arg) {
  auto* w = static_cast<Worker*>(arg);
  const int64_t now = monotonic_ms();
  w->s_.shm->proc(w->s_.proc_index).heartbeat_ms.store(now, std::memory_order_relaxed);
  const size_t conns = w->transport_->connection_count();
  if (w->memory_return_.on_tick(conns, now))
    LOG_DBG("core", "worker %d: heap trimmed (%zu connections left)", w->s_.proc_index, conns);
}

void Worker::stop(const char* why) {
  if (stopping_) return;
  stopping_ = true;
  LOG_DBG("core", "worker %d stopping: %s (%zu connections)", s_.proc_index, why,
          transport_->connection_count());
  transport_->close_all("server shutting down");
  event_base_loopbreak(base_.get());
}

}  // namespace

int run_worker(WorkerSetup setup) {
  ProcessContext& ctx = process_context();
  ctx.role = setup.role;
  ctx.proc_index = setup.proc_index;
  ctx.shm = setup.shm;
  ctx.stats = &setup.shm->proc(setup.proc_index).stats;
  ctx.log.share_level(&setup.shm->proc(setup.proc_index).log_level);
  // Before the loop exists: libevent's per-descriptor records go to a pool of their own, so
  // they do not pin the pages of closed connections (core/base/event_memory.h).
  route_libevent_small_allocations();
  Worker worker(std::move(setup));
  return worker.run();
}

}  // namespace sipsd
