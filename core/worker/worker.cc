#include "core/worker/worker.h"

#include <openssl/ssl.h>
#include <signal.h>
#include <unistd.h>

#include <unordered_map>
#include <vector>

#include "core/base/event_ptr.h"
#include "core/base/process_context.h"
#include "core/base/signal_watch.h"
#include "core/shm/stats.h"
#include "core/worker/sip_receiver.h"
#include "proto_tls/stream_conn.h"
#include "proto_tls/tcp_io.h"
#include "proto_tls/tls_io.h"
#include "tls_mgm/ip_key.h"
#include "tls_mgm/openssl_errors.h"
#include "tls_mgm/server_tls_contexts.h"
#include "tls_mgm/snapshot_store.h"

namespace sipsd {

namespace {

constexpr int kMaxChannelMessagesPerEvent = 64;
constexpr size_t kReadScratchSize = 64 * 1024 + 1024;

StreamConnParams stream_params(const Config& cfg, const StreamProtoParams& p) {
  StreamConnParams s;
  s.framer.crlf_pingpong = p.crlf_pingpong;
  s.framer.crlf_drop = p.crlf_drop;
  s.framer.max_msg_chunks = p.max_msg_chunks;
  s.handshake_timeout_ms = int64_t{cfg.core.tcp_max_msg_time} * 1000;
  s.msg_timeout_ms = int64_t{cfg.core.tcp_max_msg_time} * 1000;
  s.lifetime_ms = int64_t{cfg.core.tcp_connection_lifetime} * 1000;
  return s;
}

class Worker final : public StreamConnOwner {
 public:
  explicit Worker(WorkerSetup setup)
      : s_(std::move(setup)),
        table_(s_.shm->conn_table()),
        tls_params_(stream_params(*s_.config, s_.config->tls)),
        tcp_params_(stream_params(*s_.config, s_.config->tcp)),
        receiver_(s_.config->script, std::string("sipsd (") + SIPSD_VERSION + ")"),
        tickets_(s_.shm->ticket_keys()) {
    scratch_.buf.resize(kReadScratchSize);
  }

  int run();

  void on_message(StreamConn& conn, char* data, size_t len) override;
  void on_closed(StreamConn& conn) override;

 private:
  struct ConnSink final : ReplySink {
    explicit ConnSink(StreamConn& c) : conn(c) {}
    void send_reply(std::string_view bytes) override { conn.send(bytes); }
    StreamConn& conn;
  };

  static void on_channel(evutil_socket_t, short, void* arg);
  static void on_parent_check(evutil_socket_t, short, void* arg);
  static void on_reap(evutil_socket_t, short, void* arg);

  Status load_tls();
  // A new snapshot generation: new SSL_CTXs for new handshakes; live connections keep theirs.
  void reload_tls();
  void accept_conn(const ipc::ConnHandoff& h, UniqueFd fd);
  void stop(const char* why);

  WorkerSetup s_;
  ConnTable table_;
  StreamConnParams tls_params_;
  StreamConnParams tcp_params_;
  SipReceiver receiver_;
  ReadScratch scratch_;
  StreamConnContext conn_ctx_;
  TicketKeyStore tickets_;
  std::shared_ptr<const ServerTlsContexts> tls_;

  EventBasePtr base_;
  EventPtr channel_ev_;
  std::unique_ptr<SignalWatch> signals_;
  EventPtr parent_check_ev_;
  EventPtr reap_ev_;
  std::unordered_map<uint32_t, std::unique_ptr<StreamConn>> conns_;
  std::vector<std::unique_ptr<StreamConn>> graveyard_;
  bool stopping_ = false;
};

Status Worker::load_tls() {
  SnapshotStore store(*s_.shm);
  if (store.generation() == 0) return Status::Ok();  // no TLS domains configured
  Result<tls::TlsSnapshot> snap = store.read();
  if (!snap.ok()) return make_error(snap.message());
  Result<std::shared_ptr<const ServerTlsContexts>> built =
      ServerTlsContexts::build(*snap, &tickets_);
  if (!built.ok()) return make_error(built.message());
  tls_ = std::move(built).value();
  return Status::Ok();
}

int Worker::run() {
  Status shm_ok = s_.shm->validate();
  if (!shm_ok.ok()) {
    LOG_ERR("core", "worker %d: %s", s_.proc_index, shm_ok.message().c_str());
    return 1;
  }
  Status tls_ok = load_tls();
  if (!tls_ok.ok()) {
    LOG_ERR("core", "worker %d: cannot build TLS contexts: %s", s_.proc_index,
            tls_ok.message().c_str());
    return 1;
  }
  base_.reset(event_base_new());
  if (!base_) {
    LOG_ERR("core", "worker %d: cannot create an event loop", s_.proc_index);
    return 1;
  }
  channel_ev_.reset(
      event_new(base_.get(), s_.channel.fd(), EV_READ | EV_PERSIST, on_channel, this));
  event_add(channel_ev_.get(), nullptr);
  // SIGTERM/SIGINT arrive blocked from the supervisor: one sent before this point is pending
  // and is read from the signalfd now.
  auto signals = SignalWatch::create(base_.get(), {SIGTERM, SIGINT}, [this](int sig) {
    stop(sig == SIGINT ? "SIGINT" : "SIGTERM");
  });
  if (!signals.ok()) {
    LOG_ERR("core", "worker %d: %s", s_.proc_index, signals.message().c_str());
    return 1;
  }
  signals_ = std::move(signals).value();
  parent_check_ev_.reset(event_new(base_.get(), -1, EV_PERSIST, on_parent_check, this));
  struct timeval one_second = {1, 0};
  event_add(parent_check_ev_.get(), &one_second);
  reap_ev_.reset(event_new(base_.get(), -1, 0, on_reap, this));

  ipc::Envelope ready;
  ready.mutable_worker_ready()->set_pid(getpid());
  ready.mutable_worker_ready()->set_tls_generation(tls_ ? tls_->generation() : 0);
  std::string err;
  if (s_.channel.send(ready, -1, &err) != ipc::IoStatus::kOk) {
    LOG_ERR("core", "worker %d: cannot report to the supervisor: %s", s_.proc_index, err.c_str());
    return 1;
  }
  conn_ctx_ = StreamConnContext{base_.get(), this, &scratch_, table_, s_.proc_index};
  LOG_DBG("core", "worker %d ready", s_.proc_index);
  event_base_dispatch(base_.get());
  graveyard_.clear();
  conns_.clear();
  return 0;
}

void Worker::reload_tls() {
  uint64_t before = tls_ ? tls_->generation() : 0;
  if (SnapshotStore(*s_.shm).generation() == before) return;
  Status st = load_tls();
  if (!st.ok()) {
    LOG_ERR("tls_mgm", "worker %d: keeping TLS generation %llu: %s", s_.proc_index,
            static_cast<unsigned long long>(before), st.message().c_str());
    return;
  }
  LOG_INFO("tls_mgm", "worker %d: TLS generation %llu -> %llu", s_.proc_index,
           static_cast<unsigned long long>(before),
           static_cast<unsigned long long>(tls_->generation()));
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
        w->accept_conn(env.conn_handoff(), std::move(fd));
        break;
      case ipc::Envelope::kTlsReload:
        w->reload_tls();
        break;
      case ipc::Envelope::kCloseConn: {
        auto it = w->conns_.find(env.close_conn().conn_id());
        if (it != w->conns_.end())
          it->second->close("closed by the management interface (tcp_close)", LogLevel::kNotice);
        break;
      }
      case ipc::Envelope::kShutdown:
        w->stop("shutdown requested");
        return;
      default:
        LOG_ERR("core", "worker %d: unexpected message kind %d", w->s_.proc_index,
                static_cast<int>(env.body_case()));
    }
  }
}

void Worker::accept_conn(const ipc::ConnHandoff& h, UniqueFd fd) {
  ConnEndpoints ends;
  ends.id = h.conn_id();
  ends.slot = h.conn_slot();
  ends.proto = h.transport() == ipc::TRANSPORT_TLS ? Proto::kTls : Proto::kTcp;
  ends.local_ip = h.local().ip();
  ends.local_port = static_cast<uint16_t>(h.local().port());
  ends.remote_ip = h.remote().ip();
  ends.remote_port = static_cast<uint16_t>(h.remote().port());
  ends.accepted_at_ms = h.accepted_at_ms();
  stat_add(ends.proto, TStat::kConnsHandled);

  std::unique_ptr<StreamIo> io;
  const StreamConnParams* params = &tcp_params_;
  if (ends.proto == Proto::kTls) {
    params = &tls_params_;
    std::string error = "no TLS server domain is configured";
    std::optional<std::string> local_key = ip_port_key(ends.local_ip, ends.local_port);
    std::unique_ptr<TlsIo> tls_io =
        tls_ && local_key ? TlsIo::accept(*tls_, *local_key, fd.get(), &error) : nullptr;
    if (!tls_io) {
      LOG_NOTICE("proto_tls", "tls:%s:%u (id %u): closed: %s", ends.remote_ip.c_str(),
                 ends.remote_port, ends.id, error.c_str());
      table_.release(ends.slot);
      stat_add(Proto::kTls, TStat::kHandshakesFailed);
      stat_add(Proto::kTls, TStat::kConnsClosed);
      return;
    }
    io = std::move(tls_io);
  } else {
    io = std::make_unique<TcpIo>(fd.get());
  }
  auto conn =
      std::make_unique<StreamConn>(conn_ctx_, std::move(fd), std::move(io), ends, *params, tls_);
  StreamConn* raw = conn.get();
  conns_[ends.id] = std::move(conn);
  Status started = raw->start();
  if (!started.ok()) raw->close(started.message(), LogLevel::kErr, CloseNotify::kSkip);
}

void Worker::on_message(StreamConn& conn, char* data, size_t len) {
  const ConnEndpoints& e = conn.endpoints();
  MessageOrigin origin;
  origin.proto = e.proto;
  origin.src_ip = e.remote_ip;
  origin.src_port = e.remote_port;
  origin.label = conn.label();
  origin.tls = conn.tls_view();
  ConnSink sink(conn);
  if (receiver_.receive(data, len, origin, sink) == ReceiveVerdict::kClose)
    conn.close("unparsable SIP message", LogLevel::kNotice);
}

void Worker::on_closed(StreamConn& conn) {
  auto it = conns_.find(conn.endpoints().id);
  if (it == conns_.end()) return;
  graveyard_.push_back(std::move(it->second));
  conns_.erase(it);
  if (!stopping_) event_active(reap_ev_.get(), EV_TIMEOUT, 0);
}

void Worker::on_reap(evutil_socket_t, short, void* arg) {
  static_cast<Worker*>(arg)->graveyard_.clear();
}

void Worker::on_parent_check(evutil_socket_t, short, void* arg) {
  auto* w = static_cast<Worker*>(arg);
  if (getppid() != w->s_.supervisor_pid) {
    w->stop("the supervisor is gone");
    return;
  }
  w->reload_tls();  // in case a reload notice was missed
}

void Worker::stop(const char* why) {
  if (stopping_) return;
  stopping_ = true;
  LOG_DBG("core", "worker %d stopping: %s (%zu connections)", s_.proc_index, why, conns_.size());
  // close() moves each connection to the graveyard through on_closed().
  while (!conns_.empty()) conns_.begin()->second->close("server shutting down", LogLevel::kDebug);
  event_base_loopbreak(base_.get());
}

}  // namespace

int run_worker(WorkerSetup setup) {
  ProcessContext& ctx = process_context();
  ctx.role = ProcessRole::kTcpWorker;
  ctx.proc_index = setup.proc_index;
  ctx.shm = setup.shm;
  ctx.stats = &setup.shm->proc(setup.proc_index).stats;
  ctx.log.share_level(&setup.shm->proc(setup.proc_index).log_level);
  Worker worker(std::move(setup));
  return worker.run();
}

}  // namespace sipsd
