#include "core/supervisor/supervisor.h"

#include <arpa/inet.h>
#include <grp.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/rand.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <initializer_list>
#include <vector>

#include "core/base/clock.h"
#include "core/base/event_ptr.h"
#include "core/base/process_context.h"
#include "core/base/signal_watch.h"
#include "core/base/sockaddr_text.h"
#include "core/cfg/script.h"
#include "core/mi/core_commands.h"
#include "core/mi/fifo_server.h"
#include "core/shm/shm_region.h"
#include "core/shm/stats.h"
#include "core/shm/stats_view.h"
#include "core/supervisor/acc_writer.h"
#include "core/supervisor/auth_service.h"
#include "core/supervisor/listener.h"
#include "core/supervisor/worker_pool.h"
#include "core/tm/flow_token.h"
#include "core/usrloc/location_db.h"
#include "core/usrloc/location_table.h"
#include "core/usrloc/mi_commands.h"
#include "core/worker/worker.h"
#include "ipc/channel.h"
#include "tls_mgm/mi_commands.h"
#include "tls_mgm/snapshot_store.h"
#include "tls_mgm/ticket_keys.h"
#include "tls_mgm/tls_setup.h"

namespace sipsd {

namespace {

constexpr int kMaxAcceptsPerEvent = 64;
constexpr int kStopGraceSeconds = 5;
constexpr int64_t kRefusalLogIntervalMs = 1000;
constexpr uint64_t kMinTlsSlot = 1 << 20;

class Supervisor;

struct Listener {
  Supervisor* self = nullptr;
  BoundListener bound;
  int index = 0;
  EventPtr ev;
  EventPtr resume_ev;  // re-enables accepting after running out of descriptors
};

// Libevent callbacks get a pointer to their Listener or WorkerSlot: each is heap-allocated
// once (the supervisor holds unique_ptrs), so the pointer stays valid whatever happens to the
// vectors.
struct WorkerSlot {
  Supervisor* self = nullptr;
  int index = 0;  // 0-based; the process index is index + 1
  ipc::Channel channel;
  EventPtr channel_ev;
  EventPtr respawn_ev;
  int64_t stalled_since_ms = 0;  // monotonic; while stalled (tcp_worker_stall_timeout)
};

class Supervisor final : public MiHost, public TlsMiHost {
 public:
  Supervisor(const Config& cfg, const SupervisorOptions& opts)
      : cfg_(cfg),
        opts_(opts),
        tcp_workers_(has_listener(cfg, {Proto::kTcp, Proto::kTls}) ? cfg.core.tcp_workers : 0),
        udp_workers_(has_listener(cfg, {Proto::kUdp}) ? cfg.core.udp_workers : 0),
        pool_(tcp_workers_ + udp_workers_, tcp_workers_) {}

  int run();

  // MiHost: what the management interface reaches.
  const Config& config() const override { return cfg_; }
  ShmRegion& shm() override { return *shm_; }  // MiHost and TlsMiHost
  StatsView& stats() override {
    refresh_usrloc_gauges();
    return *stats_;
  }
  int64_t started_ms() const override { return started_ms_; }
  const std::vector<std::string>& argv() const override { return opts_.argv; }
  std::vector<std::string> listener_names() const override { return listener_names_; }
  Status reload_tls() override { return reload_tls("MI tls_reload"); }
  void shutdown_soon(const char* why) override;
  bool close_connection(uint32_t id, int owner) override;

 private:
  Status setup_shm_and_tls();
  static void on_ticket_rotation(evutil_socket_t, short, void* arg);
  static void on_load_sample(evutil_socket_t, short, void* arg);
  static void on_health_check(evutil_socket_t, short, void* arg);
  // Reads every TCP worker's heartbeat: one that stalled gets no new connection until it
  // beats again; each change is logged once and shown in shm (MI ps, load:stalled_workers).
  void check_health();
  // A reaped worker: fold its counters into the totals and zero its slot, so its gauges
  // (connections, queued bytes, transactions) stop counting at once.
  void clear_worker_slot(int i);
  // usrloc's timer: removes expired bindings and those whose connection is gone.
  static void on_usrloc_timer(evutil_socket_t, short, void* arg);
  // usrloc:registered_users, location-users, location-contacts: the table's counts.
  void refresh_usrloc_gauges();
  // db_mode 2: writes the table back when it changed.
  void usrloc_write_back(const char* why);
  // do_accounting("db"): writes the rows the workers sent (a timer, a full batch, shutdown).
  void flush_acc(const char* why);
  static void on_acc_timer(evutil_socket_t, short, void* arg);
  bool usrloc_enabled() const { return cfg_.has_module("usrloc") || cfg_.has_module("registrar"); }
  static void on_mi_stop(evutil_socket_t, short, void* arg);
  Status start_mi();
  void arm_ticket_rotation(int64_t delay_ms);
  // Re-reads every TLS file of the configured domains, validates, and publishes a new
  // generation; a failure changes nothing. SIGHUP (and later MI tls_reload) call it.
  Status reload_tls(const char* why);
  Status bind_listeners();
  Status drop_privileges();
  Status spawn(int i);
  [[noreturn]] void become_worker(int i, ipc::Channel channel,
                                  std::vector<std::pair<int, ipc::Channel>> peers);
  static bool has_listener(const Config& cfg, std::initializer_list<Proto> protos);

  static void on_accept(evutil_socket_t fd, short, void* arg);
  static void on_resume_accept(evutil_socket_t, short, void* arg);
  static void on_channel(evutil_socket_t, short, void* arg);
  static void on_respawn(evutil_socket_t, short, void* arg);
  static void on_stop_timeout(evutil_socket_t, short, void* arg);

  void on_signal(int sig);
  // Ends the loop once a shutdown has begun and every worker is gone.
  void finish_if_stopped();
  void hand_off(Listener& l, UniqueFd fd, const struct sockaddr_storage& peer);
  void set_accepted_socket_options(int fd) const;
  std::vector<uint64_t> closed_counts() const;
  void reap();
  void begin_shutdown(const char* why);
  void dump_stats();
  bool log_refusal_now();

  const Config& cfg_;
  SupervisorOptions opts_;
  int tcp_workers_;  // process indexes 1..tcp_workers_
  int udp_workers_;  // then the UDP workers
  WorkerPool pool_;
  std::unique_ptr<ShmRegion> shm_;
  ConnTable table_;
  std::vector<std::unique_ptr<Listener>> listeners_;
  std::vector<std::unique_ptr<WorkerSlot>> workers_;
  EventBasePtr base_;
  std::unique_ptr<SignalWatch> signals_;
  EventPtr stop_ev_;
  std::unique_ptr<TicketKeyRotator> tickets_;
  std::unique_ptr<AuthService> auth_;  // auth/auth_db (null: not loaded)
  // RFC 5626 flow tokens' HMAC key: drawn once, so every worker (a respawned one too) checks
  // the tokens every other wrote.
  std::string flow_token_key_;
  std::unique_ptr<StatsView> stats_;
  EventPtr load_ev_;
  EventPtr health_ev_;
  ul::LocationTable location_;
  EventPtr usrloc_ev_;
  std::unique_ptr<AccWriter> acc_writer_;  // do_accounting("db"): null without acc's db_url
  EventPtr acc_ev_;
  MiRegistry mi_registry_;
  std::unique_ptr<MiFifoServer> mi_;
  EventPtr mi_stop_ev_;
  const char* mi_stop_why_ = "";
  std::vector<std::string> listener_names_;
  int64_t started_ms_ = 0;
  EventPtr ticket_ev_;
  pid_t my_pid_ = 0;
  uint32_t next_conn_id_ = 1;
  bool stopping_ = false;
  bool announced_ready_ = false;
  int64_t last_refusal_log_ms_ = 0;
  int64_t next_ticket_rotation_ms_ = 0;
};

Status Supervisor::setup_shm_and_tls() {
  std::vector<std::string> warnings;
  Result<TlsSetup> setup = load_tls_setup(cfg_, &warnings);
  for (const std::string& w : warnings) LOG_WARN("tls_mgm", "%s", w.c_str());
  if (!setup.ok()) return make_error(setup.message());
  tls::TlsSnapshot* snap = &setup->snapshot;

  ShmRegion::Layout layout;
  layout.max_procs = static_cast<uint32_t>(tcp_workers_ + udp_workers_) + 1;
  uint32_t max_conns = static_cast<uint32_t>(cfg_.core.tcp_max_connections);
  // Slack: slots of closing connections are released a moment after the counters move.
  layout.conn_capacity = max_conns + max_conns / 8 + 64;
  // Room for reloads that grow the material.
  layout.tls_slot_size = std::max<uint64_t>(kMinTlsSlot, 4 * snap->ByteSizeLong());
  const uint32_t ul_capacity = static_cast<uint32_t>(cfg_.usrloc.max_contacts_total);
  const uint32_t ul_bits = static_cast<uint32_t>(cfg_.usrloc.hash_size);
  if (usrloc_enabled()) layout.usrloc_bytes = ul::LocationTable::bytes_for(ul_capacity, ul_bits);
  Result<std::unique_ptr<ShmRegion>> shm = ShmRegion::create(layout);
  if (!shm.ok()) return make_error(shm.message());
  shm_ = std::move(shm).value();
  if (usrloc_enabled()) {
    Result<ul::LocationTable> t =
        ul::LocationTable::init(shm_->usrloc_area(), shm_->usrloc_size(), ul_capacity, ul_bits);
    if (!t.ok()) return make_error(t.message());
    location_ = *t;
    if (cfg_.usrloc.db_mode == 2) {
      Result<size_t> n =
          ul::load_locations(cfg_.usrloc.db_url, location_, static_cast<int64_t>(time(nullptr)));
      if (!n.ok()) return make_error("usrloc db_mode 2: " + n.message());
      LOG_INFO("usrloc", "%zu bindings loaded from %s", *n, cfg_.usrloc.db_url.c_str());
    }
  }
  table_ = shm_->conn_table();
  if (snap->server_domains_size() + snap->client_domains_size() > 0) {
    Result<uint64_t> gen = SnapshotStore(*shm_).publish(std::move(*snap));
    if (!gen.ok()) return make_error(gen.message());
  }
  LOG_INFO("core", "shared memory: %zu bytes (%u connection slots)", shm_->size(),
           layout.conn_capacity);
  tickets_ = std::make_unique<TicketKeyRotator>(std::move(setup->ticket_keys),
                                                TicketKeyStore(shm_->ticket_keys()));
  Result<int64_t> next = tickets_->rotate(realtime_ms());
  if (!next.ok()) return make_error(next.message());
  next_ticket_rotation_ms_ = *next;
  return Status::Ok();
}

void Supervisor::arm_ticket_rotation(int64_t delay_ms) {
  if (!ticket_ev_) ticket_ev_.reset(evtimer_new(base_.get(), on_ticket_rotation, this));
  struct timeval tv = ms_to_timeval(delay_ms);
  evtimer_add(ticket_ev_.get(), &tv);
}

void Supervisor::on_ticket_rotation(evutil_socket_t, short, void* arg) {
  auto* s = static_cast<Supervisor*>(arg);
  Result<int64_t> next = s->tickets_->rotate(realtime_ms());
  if (!next.ok()) {
    LOG_ERR("tls_mgm", "cannot rotate the session ticket keys: %s", next.message().c_str());
    s->arm_ticket_rotation(60000);
    return;
  }
  LOG_INFO("tls_mgm", "session ticket keys rotated");
  s->arm_ticket_rotation(std::max<int64_t>(*next, 1));
}

Status Supervisor::reload_tls(const char* why) {
  std::vector<std::string> warnings;
  Result<tls::TlsSnapshot> snap = load_tls_domains(cfg_, &warnings);
  if (!snap.ok()) {
    LOG_ERR("tls_mgm", "%s: reload refused, still serving generation %llu: %s", why,
            static_cast<unsigned long long>(SnapshotStore(*shm_).generation()),
            snap.message().c_str());
    return make_error(snap.message());
  }
  for (const std::string& w : warnings) LOG_WARN("tls_mgm", "%s", w.c_str());
  int domains = snap->server_domains_size() + snap->client_domains_size();
  Result<uint64_t> gen = SnapshotStore(*shm_).publish(std::move(snap).value());
  if (!gen.ok()) {
    LOG_ERR("tls_mgm", "%s: reload refused: %s", why, gen.message().c_str());
    return make_error(gen.message());
  }
  ipc::Envelope env;
  env.mutable_tls_reload()->set_generation(*gen);
  for (int i = 0; i < pool_.size(); ++i)
    if (pool_.pid(i) != 0) workers_[i]->channel.send(env);
  LOG_NOTICE("tls_mgm", "%s: reloaded %d domains as generation %llu", why, domains,
             static_cast<unsigned long long>(*gen));
  return Status::Ok();
}

Status Supervisor::bind_listeners() {
  for (const ListenSpec& spec : cfg_.listeners) {
    Result<BoundListener> b = bind_listener(spec, cfg_.core.tcp_socket_backlog, udp_workers_);
    if (!b.ok()) return make_error(b.message());
    auto l = std::make_unique<Listener>();
    l->self = this;
    l->bound = std::move(b).value();
    l->index = static_cast<int>(listeners_.size());
    if (l->bound.fd) set_accepted_socket_options(l->bound.fd.get());
    LOG_NOTICE("core", "listening on %s", l->bound.name().c_str());
    listener_names_.push_back(l->bound.name());
    listeners_.push_back(std::move(l));
  }
  return Status::Ok();
}

Status Supervisor::drop_privileges() {
  std::string user = !opts_.user.empty() ? opts_.user : cfg_.core.user;
  std::string group = !opts_.group.empty() ? opts_.group : cfg_.core.group;
  if (user.empty() && group.empty()) return Status::Ok();
  uid_t uid = getuid();
  gid_t gid = getgid();
  if (!user.empty()) {
    struct passwd* pw = getpwnam(user.c_str());
    if (pw == nullptr) return make_error("user '" + user + "' does not exist");
    uid = pw->pw_uid;
    gid = pw->pw_gid;
  }
  if (!group.empty()) {
    struct group* gr = getgrnam(group.c_str());
    if (gr == nullptr) return make_error("group '" + group + "' does not exist");
    gid = gr->gr_gid;
  }
  if (setgroups(1, &gid) != 0 || setgid(gid) != 0)
    return make_error(strprintf("cannot switch to group %u: %s", gid, strerror(errno)));
  if (!user.empty() && setuid(uid) != 0)
    return make_error(strprintf("cannot switch to user %s: %s", user.c_str(), strerror(errno)));
  if (!user.empty() && uid != 0 && setuid(0) == 0)
    return make_error("privileges could be regained after dropping them; refusing to run");
  LOG_NOTICE("core", "running as uid %u gid %u", getuid(), getgid());
  return Status::Ok();
}

bool Supervisor::has_listener(const Config& cfg, std::initializer_list<Proto> protos) {
  for (const ListenSpec& l : cfg.listeners)
    for (Proto p : protos)
      if (l.proto == p) return true;
  return false;
}

void Supervisor::become_worker(int i, ipc::Channel channel,
                               std::vector<std::pair<int, ipc::Channel>> peers) {
  // Signals: SIGTERM/SIGINT stay blocked (the worker reads them from its own signalfd, so one
  // that arrives now waits instead of killing it); the supervisor's others are not for workers.
  signal(SIGHUP, SIG_IGN);
  signal(SIGUSR1, SIG_IGN);
  signal(SIGCHLD, SIG_DFL);
  sigset_t unblock;
  sigemptyset(&unblock);
  for (int sig : {SIGCHLD, SIGHUP, SIGUSR1}) sigaddset(&unblock, sig);
  sigprocmask(SIG_UNBLOCK, &unblock, nullptr);
  // Die with the supervisor (a SIGTERM: the graceful path); it may already be gone.
  prctl(PR_SET_PDEATHSIG, SIGTERM);
  if (getppid() != my_pid_) _exit(0);

  WorkerSetup setup;
  setup.config = &cfg_;
  setup.shm = shm_.get();
  setup.proc_index = i + 1;
  setup.role = i < tcp_workers_ ? ProcessRole::kTcpWorker : ProcessRole::kUdpWorker;
  setup.supervisor_pid = my_pid_;
  if (auth_) {
    setup.auth_shared = auth_->shared();
    setup.auth_params = auth_->params();
  }
  setup.flow_token_key = flow_token_key_;
  std::vector<int> keep = {channel.fd()};
  if (logger().syslog_fd() >= 0) keep.push_back(logger().syslog_fd());
  setup.channel = std::move(channel);
  for (auto& [peer, ch] : peers) keep.push_back(ch.fd());
  setup.peers = std::move(peers);
  for (const auto& l : listeners_) {
    setup.listeners.push_back(ListenerAddr{l->bound.spec.proto, l->bound.ip, l->bound.port,
                                           l->bound.spec.adv_host, l->bound.spec.adv_port});
    if (l->bound.udp_fds.empty()) continue;
    // A UDP worker reads its own socket of the group; any other worker sends from one of them
    // (the source address is the listener's either way) and never reads it.
    const bool reads = i >= tcp_workers_;
    const size_t k = static_cast<size_t>(reads ? i - tcp_workers_ : i) % l->bound.udp_fds.size();
    const int fd = l->bound.udp_fds[k].get();
    keep.push_back(fd);
    setup.udp.push_back(UdpSocketSetup{UniqueFd(fd), l->index, reads});
  }
  // Keep stdio and the descriptors above; close everything else inherited (listeners, other
  // workers' channels, the supervisor's event loop). The supervisor's objects in this copy of
  // its memory are never destroyed (the child ends with _exit), so nothing closes twice.
  std::sort(keep.begin(), keep.end());
  unsigned next = 3;
  for (int fd : keep) {
    if (static_cast<unsigned>(fd) > next) close_range(next, static_cast<unsigned>(fd) - 1, 0);
    next = static_cast<unsigned>(fd) + 1;
  }
  close_range(next, ~0U, 0);
  _exit(run_worker(std::move(setup)));
}

Status Supervisor::spawn(int i) {
  Result<std::pair<ipc::Channel, ipc::Channel>> pair = ipc::Channel::make_pair();
  if (!pair.ok()) return make_error(pair.message());
  // A channel to every worker running now; the ones that start later make theirs to this one.
  std::vector<std::pair<int, ipc::Channel>> mine;    // the new worker's ends, by peer index
  std::vector<std::pair<int, ipc::Channel>> theirs;  // the running workers' ends, by slot
  for (int j = 0; j < pool_.size(); ++j) {
    if (j == i || pool_.pid(j) == 0) continue;
    Result<std::pair<ipc::Channel, ipc::Channel>> link = ipc::Channel::make_pair();
    if (!link.ok()) return make_error(link.message());
    mine.emplace_back(j + 1, std::move(link->first));
    theirs.emplace_back(j, std::move(link->second));
  }
  ProcSlot& slot = shm_->proc(i + 1);
  if (slot.started_ms.load(std::memory_order_relaxed) != 0) stats_->retire(i + 1);
  slot.stats.reset();
  const ProcessRole role = i < tcp_workers_ ? ProcessRole::kTcpWorker : ProcessRole::kUdpWorker;
  slot.role.store(static_cast<int32_t>(role), std::memory_order_relaxed);
  // A respawned worker starts at the supervisor's level (MI log_level may have changed it).
  slot.log_level.store(logger().level(), std::memory_order_relaxed);
  slot.heartbeat_ms.store(monotonic_ms(), std::memory_order_relaxed);
  slot.stalled.store(0, std::memory_order_relaxed);
  pid_t pid = fork();
  if (pid < 0) return make_error(strprintf("fork: %s", strerror(errno)));
  if (pid == 0) {
    pair->first.close();
    theirs.clear();
    become_worker(i, std::move(pair->second), std::move(mine));
  }
  pair->second.close();
  mine.clear();
  slot.pid.store(pid, std::memory_order_relaxed);
  slot.started_ms.store(realtime_ms(), std::memory_order_relaxed);
  WorkerSlot& w = *workers_[i];
  w.channel = std::move(pair->first);
  w.channel_ev.reset(event_new(base_.get(), w.channel.fd(), EV_READ | EV_PERSIST, on_channel, &w));
  event_add(w.channel_ev.get(), nullptr);
  pool_.on_spawned(i, pid, monotonic_ms());
  for (auto& [j, end] : theirs) {
    ipc::Envelope env;
    env.mutable_peer_channel()->set_peer(i + 1);
    std::string err;
    if (workers_[j]->channel.send(env, end.fd(), &err) != ipc::IoStatus::kOk)
      LOG_ERR("core", "worker %d cannot be linked to worker %d: %s", j + 1, i + 1,
              err.empty() ? "its channel is full" : err.c_str());
  }
  LOG_INFO("core", "%s %d started (pid %d)", process_role_name(role), i + 1, pid);
  return Status::Ok();
}

std::vector<uint64_t> Supervisor::closed_counts() const {
  std::vector<uint64_t> closed(workers_.size());
  for (size_t i = 0; i < workers_.size(); ++i) {
    const ProcStats& st = shm_->proc(static_cast<int>(i) + 1).stats;
    closed[i] = st.get(Stat::kInboundClosed);
  }
  return closed;
}

bool Supervisor::log_refusal_now() {
  int64_t now = monotonic_ms();
  if (now - last_refusal_log_ms_ < kRefusalLogIntervalMs) return false;
  last_refusal_log_ms_ = now;
  return true;
}

void Supervisor::on_accept(evutil_socket_t fd, short, void* arg) {
  auto* l = static_cast<Listener*>(arg);
  Supervisor* s = l->self;
  for (int n = 0; n < kMaxAcceptsPerEvent && !s->stopping_; ++n) {
    struct sockaddr_storage peer = {};
    socklen_t len = sizeof peer;
    int c =
        accept4(fd, reinterpret_cast<struct sockaddr*>(&peer), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (c >= 0) {
      s->hand_off(*l, UniqueFd(c), peer);
      continue;
    }
    if (errno == EINTR || errno == ECONNABORTED) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return;
    if (s->log_refusal_now())
      LOG_ERR("core", "accept on %s: %s", l->bound.name().c_str(), strerror(errno));
    // Out of descriptors or memory: the pending connection stays in the backlog; stop polling
    // this listener for a moment instead of spinning on it.
    event_del(l->ev.get());
    l->resume_ev.reset(evtimer_new(s->base_.get(), on_resume_accept, l));
    struct timeval pause = {0, 100 * 1000};
    evtimer_add(l->resume_ev.get(), &pause);
    return;
  }
}

void Supervisor::on_resume_accept(evutil_socket_t, short, void* arg) {
  auto* l = static_cast<Listener*>(arg);
  if (!l->self->stopping_) event_add(l->ev.get(), nullptr);
}

// Set once on a listening socket, these options are copied by Linux into every socket accept()
// returns, which saves two to five setsockopt() calls per connection.
void Supervisor::set_accepted_socket_options(int fd) const {
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (cfg_.core.tcp_keepalive) {
    setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
    if (cfg_.core.tcp_keepidle > 0)
      setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &cfg_.core.tcp_keepidle, sizeof(int));
    if (cfg_.core.tcp_keepinterval > 0)
      setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &cfg_.core.tcp_keepinterval, sizeof(int));
    if (cfg_.core.tcp_keepcount > 0)
      setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cfg_.core.tcp_keepcount, sizeof(int));
  }
}

void Supervisor::hand_off(Listener& l, UniqueFd fd, const struct sockaddr_storage& peer) {
  stat_add(l.bound.spec.proto, TStat::kConnsAccepted);
  check_health();  // no connection for a worker that stopped beating since the last check
  const IpPort remote = sockaddr_to_ip_port(peer);
  const char* ip = remote.ip.c_str();
  const uint16_t port = remote.port;
  const char* proto = proto_name(l.bound.spec.proto);

  std::vector<uint64_t> closed = closed_counts();
  uint64_t open = pool_.total_open(closed);
  if (open >= static_cast<uint64_t>(cfg_.core.tcp_max_connections)) {
    stat_add(l.bound.spec.proto, TStat::kConnsRefused);
    if (log_refusal_now())
      LOG_WARN("core", "%s:%s:%u: refused: tcp_max_connections (%d) reached", proto, ip, port,
               cfg_.core.tcp_max_connections);
    return;
  }

  // TCP_NODELAY and the keepalive options came with the socket from its listener.

  std::string local_ip = l.bound.ip;
  uint16_t local_port = l.bound.port;
  if (l.bound.wildcard) {
    IpPort local = local_ip_port(fd.get());
    if (!local.ip.empty()) local_ip = std::move(local.ip);
  }

  uint32_t id = next_conn_id_++;
  if (next_conn_id_ == 0) next_conn_id_ = 1;
  ipc::Envelope env;
  ipc::ConnHandoff* h = env.mutable_conn_handoff();
  h->set_conn_id(id);
  h->set_transport(l.bound.spec.proto == Proto::kTls ? ipc::TRANSPORT_TLS : ipc::TRANSPORT_TCP);
  h->set_listener_index(static_cast<uint32_t>(l.index));
  h->mutable_local()->set_ip(local_ip);
  h->mutable_local()->set_port(local_port);
  h->mutable_remote()->set_ip(ip);
  h->mutable_remote()->set_port(port);
  h->set_accepted_at_ms(realtime_ms());

  ConnInfo info;
  info.id = id;
  info.proto = static_cast<uint8_t>(l.bound.spec.proto);
  info.remote_port = port;
  info.local_port = local_port;
  info.created_ms = h->accepted_at_ms();

  std::vector<bool> skip(workers_.size(), false);
  for (size_t attempt = 0; attempt < workers_.size(); ++attempt) {
    int w = pool_.pick(closed, &skip);
    if (w < 0) break;
    info.owner = w + 1;
    std::optional<uint32_t> slot = table_.allocate(info);
    if (!slot) break;
    h->set_conn_slot(*slot);
    std::string err;
    ipc::IoStatus st = workers_[w]->channel.send(env, fd.get(), &err);
    if (st == ipc::IoStatus::kOk) {
      pool_.on_handed(w);
      return;  // fd closes here: the worker has its own copy
    }
    table_.release(*slot);
    skip[w] = true;
    LOG_WARN("core", "%s:%s:%u: cannot hand off to worker %d: %s", proto, ip, port, w + 1,
             st == ipc::IoStatus::kAgain ? "its queue is full" : err.c_str());
  }
  stat_add(Stat::kHandoffFailed);
  if (log_refusal_now())
    LOG_ERR("core", "%s:%s:%u: dropped: no TCP worker available", proto, ip, port);
}

void Supervisor::on_channel(evutil_socket_t, short, void* arg) {
  auto* slot = static_cast<WorkerSlot*>(arg);
  Supervisor* s = slot->self;
  int i = slot->index;
  for (int n = 0; n < 16; ++n) {
    ipc::Envelope env;
    UniqueFd fd;
    std::string err;
    ipc::IoStatus st = slot->channel.recv(&env, &fd, &err);
    if (st == ipc::IoStatus::kAgain) return;
    if (st == ipc::IoStatus::kClosed) {
      // The worker is exiting; SIGCHLD does the rest.
      slot->channel_ev.reset();
      return;
    }
    if (st == ipc::IoStatus::kError) {
      LOG_ERR("core", "bad message from worker %d: %s", i + 1, err.c_str());
      continue;
    }
    if (env.body_case() == ipc::Envelope::kWorkerReady) {
      s->pool_.on_ready(i);
      LOG_DBG("core", "worker %d (pid %d) ready", i + 1, env.worker_ready().pid());
      if (!s->announced_ready_ && s->pool_.all_ready()) {
        s->announced_ready_ = true;
        LOG_NOTICE("core", "sipsd %s ready: %d workers, %zu listeners", SIPSD_VERSION,
                   s->pool_.size(), s->listeners_.size());
      }
    } else if (env.body_case() == ipc::Envelope::kAccRecord) {
      AccWriter::Added a = s->acc_writer_
                               ? s->acc_writer_->add(std::move(*env.mutable_acc_record()))
                               : AccWriter::Added::kDropped;
      if (a == AccWriter::Added::kDropped) stat_add(Stat::kAccDbDropped);
      if (a == AccWriter::Added::kBatchDue) s->flush_acc("batch");
    } else {
      LOG_ERR("core", "unexpected message kind %d from worker %d",
              static_cast<int>(env.body_case()), i + 1);
    }
  }
}

void Supervisor::reap() {
  for (;;) {
    int status = 0;
    pid_t pid = waitpid(-1, &status, WNOHANG);
    if (pid <= 0) return;
    int i = pool_.index_of(pid);
    if (i < 0) continue;
    if (WIFSIGNALED(status) && stopping_ && WTERMSIG(status) == SIGTERM) {
      LOG_DBG("core", "worker %d (pid %d) stopped by SIGTERM", i + 1, pid);
    } else if (WIFSIGNALED(status)) {
      LOG_ERR("core", "worker %d (pid %d) killed by signal %d (%s)", i + 1, pid, WTERMSIG(status),
              strsignal(WTERMSIG(status)));
    } else if (WEXITSTATUS(status) != 0 || !stopping_) {
      LOG_ERR("core", "worker %d (pid %d) exited with status %d", i + 1, pid, WEXITSTATUS(status));
    }
    ConnIndex index = shm_->conn_index();
    uint32_t freed = table_.release_owned_by(
        i + 1, [&index](uint32_t slot, const ConnInfo& info) { index.remove_conn(slot, info); });
    if (freed > 0) LOG_NOTICE("core", "worker %d: %u connections lost with it", i + 1, freed);
    workers_[i]->channel_ev.reset();
    workers_[i]->channel.close();
    clear_worker_slot(i);
    int64_t delay = pool_.on_exited(i, monotonic_ms());
    if (stopping_) continue;
    stat_add(Stat::kWorkerRespawns);
    if (delay == 0) {
      Status st = spawn(i);
      if (!st.ok()) LOG_ERR("core", "cannot respawn worker %d: %s", i + 1, st.message().c_str());
    } else {
      LOG_WARN("core", "worker %d keeps dying at start; respawning in %lld ms", i + 1,
               static_cast<long long>(delay));
      struct timeval tv = ms_to_timeval(delay);
      workers_[i]->respawn_ev.reset(evtimer_new(base_.get(), on_respawn, workers_[i].get()));
      evtimer_add(workers_[i]->respawn_ev.get(), &tv);
    }
  }
}

void Supervisor::clear_worker_slot(int i) {
  ProcSlot& slot = shm_->proc(i + 1);
  stats_->retire(i + 1);
  slot.stats.reset();
  slot.pid.store(0, std::memory_order_relaxed);
  slot.started_ms.store(0, std::memory_order_relaxed);  // spawn() need not retire it again
  slot.stalled.store(0, std::memory_order_relaxed);
  workers_[i]->stalled_since_ms = 0;
}

void Supervisor::check_health() {
  if (cfg_.core.tcp_worker_stall_timeout <= 0) return;
  const int64_t now = monotonic_ms();
  for (int i = 0; i < tcp_workers_; ++i) {
    ProcSlot& slot = shm_->proc(i + 1);
    const int64_t beat = slot.heartbeat_ms.load(std::memory_order_relaxed);
    WorkerSlot& w = *workers_[i];
    switch (pool_.update_health(i, beat, now)) {
      case WorkerPool::Health::kStalled: {
        w.stalled_since_ms = beat;
        slot.stalled.store(1, std::memory_order_relaxed);
        stat_add(Stat::kWorkerStalls);
        const uint64_t open = pool_.load(i, slot.stats.get(Stat::kInboundClosed));
        LOG_WARN("core",
                 "TCP worker %d (pid %d) has shown no progress for %lld ms "
                 "(tcp_worker_stall_timeout=%d): no new connections for it until it recovers; "
                 "its %llu connections wait for it",
                 i + 1, pool_.pid(i), static_cast<long long>(now - beat),
                 cfg_.core.tcp_worker_stall_timeout, static_cast<unsigned long long>(open));
        break;
      }
      case WorkerPool::Health::kRecovered:
        slot.stalled.store(0, std::memory_order_relaxed);
        LOG_NOTICE("core",
                   "TCP worker %d (pid %d) is making progress again after %lld ms: it takes "
                   "new connections again",
                   i + 1, pool_.pid(i), static_cast<long long>(beat - w.stalled_since_ms));
        w.stalled_since_ms = 0;
        break;
      case WorkerPool::Health::kUnchanged:
        break;
    }
  }
}

void Supervisor::on_health_check(evutil_socket_t, short, void* arg) {
  static_cast<Supervisor*>(arg)->check_health();
}

void Supervisor::on_respawn(evutil_socket_t, short, void* arg) {
  auto* slot = static_cast<WorkerSlot*>(arg);
  if (slot->self->stopping_) return;
  Status st = slot->self->spawn(slot->index);
  if (!st.ok())
    LOG_ERR("core", "cannot respawn worker %d: %s", slot->index + 1, st.message().c_str());
}

void Supervisor::on_signal(int sig) {
  switch (sig) {
    case SIGCHLD:
      reap();
      break;
    case SIGUSR1:
      dump_stats();
      break;
    case SIGHUP:
      (void)reload_tls("SIGHUP");
      if (mi_) mi_->check();
      break;
    default:
      begin_shutdown(sig == SIGINT ? "SIGINT" : "SIGTERM");
      break;
  }
  finish_if_stopped();
}

void Supervisor::finish_if_stopped() {
  if (!stopping_) return;
  for (int i = 0; i < pool_.size(); ++i)
    if (pool_.pid(i) != 0) return;
  event_base_loopbreak(base_.get());
}

void Supervisor::begin_shutdown(const char* why) {
  if (stopping_) return;
  stopping_ = true;
  LOG_NOTICE("core", "%s: shutting down", why);
  listeners_.clear();  // stop accepting: events and sockets go
  mi_.reset();         // the FIFO goes too
  ipc::Envelope bye;
  bye.mutable_shutdown();
  for (int i = 0; i < pool_.size(); ++i) {
    workers_[i]->respawn_ev.reset();
    if (pool_.pid(i) == 0) continue;
    workers_[i]->channel.send(bye);
    kill(pool_.pid(i), SIGTERM);
  }
  struct timeval grace = {kStopGraceSeconds, 0};
  stop_ev_.reset(evtimer_new(base_.get(), on_stop_timeout, this));
  evtimer_add(stop_ev_.get(), &grace);
}

void Supervisor::shutdown_soon(const char* why) {
  // After the reply: the MI server must not be destroyed from inside its own handler.
  mi_stop_why_ = why;
  if (!mi_stop_ev_) mi_stop_ev_.reset(evtimer_new(base_.get(), on_mi_stop, this));
  struct timeval tv = {0, 200 * 1000};
  evtimer_add(mi_stop_ev_.get(), &tv);
}

void Supervisor::on_mi_stop(evutil_socket_t, short, void* arg) {
  auto* s = static_cast<Supervisor*>(arg);
  s->begin_shutdown(s->mi_stop_why_);
  s->finish_if_stopped();
}

bool Supervisor::close_connection(uint32_t id, int owner) {
  int i = owner - 1;
  if (i < 0 || i >= pool_.size() || pool_.pid(i) == 0) return false;
  ipc::Envelope env;
  env.mutable_close_conn()->set_conn_id(id);
  return workers_[i]->channel.send(env) == ipc::IoStatus::kOk;
}

void Supervisor::refresh_usrloc_gauges() {
  if (!location_.valid()) return;
  ProcStats& st = shm_->proc(0).stats;
  st.set(Stat::kUlUsers, location_.aor_count());
  st.set(Stat::kUlLocationUsers, location_.aor_count());
  st.set(Stat::kUlContacts, location_.contact_count());
}

void Supervisor::usrloc_write_back(const char* why) {
  if (!location_.valid() || cfg_.usrloc.db_mode != 2 || !location_.dirty()) return;
  Result<size_t> n = ul::write_back_locations(cfg_.usrloc.db_url, location_);
  if (!n.ok()) {
    LOG_ERR("usrloc", "write-back (%s) failed: %s", why, n.message().c_str());
    return;
  }
  LOG_DBG("usrloc", "write-back (%s): %zu bindings", why, *n);
}

void Supervisor::on_usrloc_timer(evutil_socket_t, short, void* arg) {
  auto* s = static_cast<Supervisor*>(arg);
  ConnIndex index = s->shm_->conn_index();
  s->location_.expire(
      static_cast<int64_t>(time(nullptr)),
      [&index](const ul::Contact& c) {
        std::optional<ConnEndpoint> key =
            ConnEndpoint::parse(c.proto, c.src_ip.c_str(), c.src_port);
        if (!key) return true;
        std::optional<ConnIndex::Found> f = index.find(*key);
        return !f || f->info.id != c.conn_id;
      },
      nullptr);
  s->usrloc_write_back("timer");
}

void Supervisor::flush_acc(const char* why) {
  if (!acc_writer_ || acc_writer_->pending() == 0) return;
  const size_t rows = acc_writer_->pending();
  Result<size_t> n = acc_writer_->flush();
  if (n.ok()) {
    stat_add(Stat::kAccDbWritten, *n);
    LOG_DBG("acc", "%s: %zu rows written", why, *n);
    return;
  }
  stat_add(Stat::kAccDbDropped, rows);
  LOG_ERR("acc", "writing accounting rows (%s): %s: %zu rows lost", why, n.message().c_str(), rows);
}

void Supervisor::on_acc_timer(evutil_socket_t, short, void* arg) {
  static_cast<Supervisor*>(arg)->flush_acc("timer");
}

void Supervisor::on_load_sample(evutil_socket_t, short, void* arg) {
  auto* s = static_cast<Supervisor*>(arg);
  s->stats_->sample_load(monotonic_ms());
}

Status Supervisor::start_mi() {
  if (!cfg_.mi_fifo.enabled) return Status::Ok();
  add_core_mi_commands(&mi_registry_, this);
  add_tls_mi_commands(&mi_registry_, this);
  if (location_.valid()) {
    ul::UlMiSetup ul_setup;
    ul_setup.table = location_;
    ul_setup.use_domain = cfg_.usrloc.use_domain;
    std::shared_ptr<const Script> script = cfg_.script;
    ul_setup.flag_names = [script](uint32_t mask) {
      std::string out;
      for (int bit = 0; bit < 32; ++bit) {
        if (!(mask & (1u << bit))) continue;
        if (!out.empty()) out += ' ';
        std::string_view n = script ? script->flag_name(bit) : std::string_view();
        out += n.empty() ? std::to_string(bit) : std::string(n);
      }
      return out;
    };
    if (cfg_.usrloc.db_mode == 2) ul_setup.flush = [this] { usrloc_write_back("ul_flush"); };
    ul::add_usrloc_mi_commands(&mi_registry_, std::move(ul_setup));
  }
  if (auth_) auth_->add_mi_commands(&mi_registry_);
  Result<std::unique_ptr<MiFifoServer>> mi =
      MiFifoServer::start(base_.get(), cfg_.mi_fifo, &mi_registry_);
  if (!mi.ok()) return make_error(mi.message());
  mi_ = std::move(mi).value();
  LOG_NOTICE("mi_fifo", "management FIFO at %s", cfg_.mi_fifo.fifo_name.c_str());
  return Status::Ok();
}

void Supervisor::on_stop_timeout(evutil_socket_t, short, void* arg) {
  auto* s = static_cast<Supervisor*>(arg);
  for (int i = 0; i < s->pool_.size(); ++i) {
    if (s->pool_.pid(i) == 0) continue;
    LOG_WARN("core", "worker %d (pid %d) did not stop within %d s; killing it", i + 1,
             s->pool_.pid(i), kStopGraceSeconds);
    kill(s->pool_.pid(i), SIGKILL);
  }
  event_base_loopbreak(s->base_.get());
}

void Supervisor::dump_stats() {
  for (uint32_t p = 0; p < shm_->max_procs(); ++p) {
    const ProcSlot& slot = shm_->proc(static_cast<int>(p));
    std::string line = strprintf("stats proc=%u pid=%d role=%s", p, slot.pid.load(),
                                 p == 0 ? "supervisor" : "worker");
    for (int k = 0; k < kStatCount; ++k) {
      Stat st = static_cast<Stat>(k);
      StatInfo info = stat_info(st);
      line += strprintf(" %s%s%s=%llu", info.group, *info.group ? ":" : "", info.name,
                        static_cast<unsigned long long>(slot.stats.get(st)));
    }
    LOG_NOTICE("core", "%s", line.c_str());
  }
  std::vector<uint64_t> closed = closed_counts();
  LOG_NOTICE("core", "stats conn_table in_use=%u capacity=%u open=%llu", table_.count_in_use(),
             table_.capacity(), static_cast<unsigned long long>(pool_.total_open(closed)));
}

int Supervisor::run() {
  my_pid_ = getpid();
  ProcessContext& ctx = process_context();
  ctx.role = ProcessRole::kSupervisor;
  ctx.proc_index = 0;

  Status st = setup_shm_and_tls();
  if (!st.ok()) {
    LOG_ERR("core", "%s", st.message().c_str());
    return 1;
  }
  ctx.shm = shm_.get();
  ctx.stats = &shm_->proc(0).stats;
  flow_token_key_.resize(tm::kFlowTokenKeySize);
  if (RAND_bytes(reinterpret_cast<unsigned char*>(flow_token_key_.data()),
                 static_cast<int>(flow_token_key_.size())) != 1) {
    LOG_ERR("core", "no random bytes for the flow token key");
    return 1;
  }
  // auth/auth_db: the shared state and the first subscriber load, before any worker forks.
  if (Result<std::unique_ptr<AuthService>> auth = AuthService::create(cfg_); auth.ok()) {
    auth_ = std::move(auth).value();
  } else {
    LOG_ERR("core", "%s", auth.message().c_str());
    return 1;
  }
  started_ms_ = realtime_ms();
  stats_ = std::make_unique<StatsView>(*shm_, started_ms_);
  shm_->proc(0).log_level.store(logger().level(), std::memory_order_relaxed);
  ctx.log.share_level(&shm_->proc(0).log_level);
  shm_->proc(0).pid.store(my_pid_, std::memory_order_relaxed);
  shm_->proc(0).role.store(static_cast<int32_t>(ProcessRole::kSupervisor),
                           std::memory_order_relaxed);
  shm_->proc(0).started_ms.store(realtime_ms(), std::memory_order_relaxed);

  st = bind_listeners();
  if (st.ok()) st = drop_privileges();
  if (!st.ok()) {
    LOG_ERR("core", "%s", st.message().c_str());
    return 1;
  }
  signal(SIGPIPE, SIG_IGN);

  base_.reset(event_base_new());
  if (!base_) {
    LOG_ERR("core", "cannot create the event loop");
    return 1;
  }
  auto signals = SignalWatch::create(base_.get(), {SIGTERM, SIGINT, SIGCHLD, SIGHUP, SIGUSR1},
                                     [this](int sig) { on_signal(sig); });
  if (!signals.ok()) {
    LOG_ERR("core", "%s", signals.message().c_str());
    return 1;
  }
  signals_ = std::move(signals).value();
  arm_ticket_rotation(next_ticket_rotation_ms_);
  if (auth_) auth_->start_timer(base_.get());
  load_ev_.reset(event_new(base_.get(), -1, EV_PERSIST, on_load_sample, this));
  struct timeval one_second = {1, 0};
  event_add(load_ev_.get(), &one_second);
  stats_->sample_load(monotonic_ms());
  pool_.set_stall_timeout(cfg_.core.tcp_worker_stall_timeout);
  if (cfg_.core.tcp_worker_stall_timeout > 0 && tcp_workers_ > 0) {
    health_ev_.reset(event_new(base_.get(), -1, EV_PERSIST, on_health_check, this));
    struct timeval every =
        ms_to_timeval(std::clamp<int64_t>(cfg_.core.tcp_worker_stall_timeout / 2, 50, 1000));
    event_add(health_ev_.get(), &every);
  }
  if (location_.valid()) {
    ProcStats& st0 = shm_->proc(0).stats;
    st0.set(Stat::kRegMaxExpires, static_cast<uint64_t>(cfg_.registrar.max_expires));
    st0.set(Stat::kRegMaxContacts, static_cast<uint64_t>(cfg_.registrar.max_contacts));
    st0.set(Stat::kRegDefaultExpire, static_cast<uint64_t>(cfg_.registrar.default_expires));
    usrloc_ev_.reset(event_new(base_.get(), -1, EV_PERSIST, on_usrloc_timer, this));
    struct timeval tv = {cfg_.usrloc.timer_interval, 0};
    event_add(usrloc_ev_.get(), &tv);
  }
  if (!cfg_.acc.db_url.empty()) {
    Result<std::unique_ptr<AccWriter>> acc = AccWriter::open(cfg_.acc);
    if (!acc.ok()) {
      LOG_ERR("acc", "%s", acc.message().c_str());
      return 1;
    }
    acc_writer_ = std::move(acc).value();
    acc_ev_.reset(event_new(base_.get(), -1, EV_PERSIST, on_acc_timer, this));
    event_add(acc_ev_.get(), &one_second);
  }
  st = start_mi();
  if (!st.ok()) {
    LOG_ERR("mi_fifo", "%s", st.message().c_str());
    return 1;
  }
  for (int i = 0; i < pool_.size(); ++i) {
    auto slot = std::make_unique<WorkerSlot>();
    slot->self = this;
    slot->index = i;
    workers_.push_back(std::move(slot));
  }
  for (int i = 0; i < pool_.size(); ++i) {
    st = spawn(i);
    if (!st.ok()) {
      LOG_ERR("core", "cannot start worker %d: %s", i + 1, st.message().c_str());
      begin_shutdown("start-up failure");
      break;
    }
  }
  for (auto& l : listeners_) {
    l->ev.reset(
        event_new(base_.get(), l->bound.fd.get(), EV_READ | EV_PERSIST, on_accept, l.get()));
    event_add(l->ev.get(), nullptr);
  }
  event_base_dispatch(base_.get());

  // Leave no child behind.
  for (int i = 0; i < pool_.size(); ++i) {
    pid_t pid = pool_.pid(i);
    if (pid == 0) continue;
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
  }
  usrloc_write_back("shutdown");
  flush_acc("shutdown");
  LOG_NOTICE("core", "sipsd stopped");
  return st.ok() ? 0 : 1;
}

}  // namespace

int run_supervisor(const Config& cfg, const SupervisorOptions& opts) {
  Supervisor s(cfg, opts);
  return s.run();
}

}  // namespace sipsd
