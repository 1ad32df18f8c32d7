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
#include <unistd.h>

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
#include "core/mi/core_commands.h"
#include "core/mi/fifo_server.h"
#include "core/shm/shm_region.h"
#include "core/shm/stats.h"
#include "core/shm/stats_view.h"
#include "core/supervisor/listener.h"
#include "core/supervisor/worker_pool.h"
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
  StatsView& stats() override { return *stats_; }
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
  std::unique_ptr<StatsView> stats_;
  EventPtr load_ev_;
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
  Result<std::unique_ptr<ShmRegion>> shm = ShmRegion::create(layout);
  if (!shm.ok()) return make_error(shm.message());
  shm_ = std::move(shm).value();
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

void Supervisor::hand_off(Listener& l, UniqueFd fd, const struct sockaddr_storage& peer) {
  stat_add(l.bound.spec.proto, TStat::kConnsAccepted);
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

  int one = 1;
  setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (cfg_.core.tcp_keepalive) {
    setsockopt(fd.get(), SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
    if (cfg_.core.tcp_keepidle > 0)
      setsockopt(fd.get(), IPPROTO_TCP, TCP_KEEPIDLE, &cfg_.core.tcp_keepidle, sizeof(int));
    if (cfg_.core.tcp_keepinterval > 0)
      setsockopt(fd.get(), IPPROTO_TCP, TCP_KEEPINTVL, &cfg_.core.tcp_keepinterval, sizeof(int));
    if (cfg_.core.tcp_keepcount > 0)
      setsockopt(fd.get(), IPPROTO_TCP, TCP_KEEPCNT, &cfg_.core.tcp_keepcount, sizeof(int));
  }

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
    shm_->proc(i + 1).pid.store(0, std::memory_order_relaxed);
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

void Supervisor::on_load_sample(evutil_socket_t, short, void* arg) {
  auto* s = static_cast<Supervisor*>(arg);
  s->stats_->sample_load(monotonic_ms());
}

Status Supervisor::start_mi() {
  if (!cfg_.mi_fifo.enabled) return Status::Ok();
  add_core_mi_commands(&mi_registry_, this);
  add_tls_mi_commands(&mi_registry_, this);
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
  load_ev_.reset(event_new(base_.get(), -1, EV_PERSIST, on_load_sample, this));
  struct timeval one_second = {1, 0};
  event_add(load_ev_.get(), &one_second);
  stats_->sample_load(monotonic_ms());
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
  LOG_NOTICE("core", "sipsd stopped");
  return st.ok() ? 0 : 1;
}

}  // namespace

int run_supervisor(const Config& cfg, const SupervisorOptions& opts) {
  Supervisor s(cfg, opts);
  return s.run();
}

}  // namespace sipsd
