#include "core/transport/transport.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include "core/base/clock.h"
#include "core/base/log.h"
#include "core/base/printable.h"
#include "core/base/sockaddr_text.h"
#include "core/shm/stats.h"
#include "proto_tls/tcp_io.h"
#include "proto_tls/tls13_handoff.h"
#include "proto_tls/tls_connector.h"
#include "proto_tls/tls_io.h"
#include "tls_mgm/ip_key.h"
#include "tls_mgm/snapshot_store.h"

namespace sipsd {

namespace {

constexpr size_t kReadScratchSize = 64 * 1024 + 1024;

// client_tls_domain_avp named a client domain that does not exist.
std::string unknown_client_domain(const NextHop& hop) {
  return "tls:" + ip_port_text(hop.ip, hop.port) + ": no tls_mgm client domain named '" +
         printable(hop.client_domain) + "' (client_tls_domain_avp)";
}

StreamConnParams stream_params(const Config& cfg, const StreamProtoParams& p) {
  StreamConnParams s;
  s.framer.crlf_pingpong = p.crlf_pingpong;
  s.framer.crlf_drop = p.crlf_drop;
  s.framer.max_msg_chunks = p.max_msg_chunks;
  s.handshake_timeout_ms = int64_t{cfg.core.tcp_max_msg_time} * 1000;
  s.msg_timeout_ms = int64_t{cfg.core.tcp_max_msg_time} * 1000;
  s.lifetime_ms = int64_t{cfg.core.tcp_connection_lifetime} * 1000;
  s.max_output_bytes = static_cast<size_t>(cfg.core.tcp_max_output_queue);
  return s;
}

// The TLS contexts a connection keeps alive: the server set it was accepted with, or the client
// set it was opened with.
struct TlsKeepAlive {
  std::shared_ptr<const ServerTlsContexts> server;
  std::shared_ptr<const ClientTlsContexts> client;
};

}  // namespace

Transport::Transport(TransportSetup setup)
    : s_(std::move(setup)),
      sockets_(s_.sockets),
      table_(s_.shm->conn_table()),
      index_(s_.shm->conn_index()),
      tls_params_(stream_params(*s_.config, s_.config->tls)),
      tcp_params_(stream_params(*s_.config, s_.config->tcp)),
      tickets_(s_.shm->ticket_keys()) {
  scratch_.buf.resize(kReadScratchSize);
  if (s_.config->tls.record_handoff) {
    std::string error;
    tls13_crypto_ = Tls13Crypto::create(&error);
    if (!tls13_crypto_)
      LOG_WARN("proto_tls", "worker %d: tls_record_handoff off: %s", s_.proc_index, error.c_str());
  }
  conn_ctx_ = StreamConnContext{s_.base, this, &scratch_, table_, s_.proc_index, index_, &batch_};
  peers_ = std::make_unique<PeerLinks>(s_.base, s_.proc_index, *this);
  peers_->set_output_batch(&batch_);
  reap_ev_.reset(event_new(s_.base, -1, 0, on_reap, this));
}

Transport::~Transport() {
  close_all("worker stopping");
  graveyard_.clear();
}

// ---- TLS contexts ---------------------------------------------------------------------------

Status Transport::load_tls() {
  SnapshotStore store(*s_.shm);
  if (store.generation() == 0) return Status::Ok();  // no TLS domains configured
  Result<tls::TlsSnapshot> snap = store.read();
  if (!snap.ok()) return make_error(snap.message());
  Result<std::shared_ptr<const ServerTlsContexts>> server = ServerTlsContexts::build(
      *snap, &tickets_, tls13_crypto_ ? &Tls13Handoff::keylog_callback : nullptr);
  if (!server.ok()) return make_error(server.message());
  Result<std::shared_ptr<const ClientTlsContexts>> client = ClientTlsContexts::build(*snap);
  if (!client.ok()) return make_error(client.message());
  server_tls_ = std::move(server).value();
  client_tls_ = std::move(client).value();
  return Status::Ok();
}

uint64_t Transport::tls_generation() const {
  return server_tls_ ? server_tls_->generation() : 0;
}

void Transport::reload_tls() {
  uint64_t before = tls_generation();
  if (SnapshotStore(*s_.shm).generation() == before) return;
  Status st = load_tls();
  if (!st.ok()) {
    LOG_ERR("tls_mgm", "worker %d: keeping TLS generation %llu: %s", s_.proc_index,
            static_cast<unsigned long long>(before), st.message().c_str());
    return;
  }
  LOG_INFO("tls_mgm", "worker %d: TLS generation %llu -> %llu", s_.proc_index,
           static_cast<unsigned long long>(before),
           static_cast<unsigned long long>(tls_generation()));
}

// ---- receiving ------------------------------------------------------------------------------

int Transport::listener_of(Proto proto, std::string_view ip, uint16_t port) const {
  for (size_t i = 0; i < sockets_.size(); ++i)
    if (sockets_[i].proto == proto && sockets_[i].port == port && sockets_[i].ip == ip)
      return static_cast<int>(i);
  // A wildcard listener: the first of that proto and port.
  for (size_t i = 0; i < sockets_.size(); ++i)
    if (sockets_[i].proto == proto && sockets_[i].port == port) return static_cast<int>(i);
  return -1;
}

void Transport::accept_handoff(const ipc::ConnHandoff& h, UniqueFd fd) {
  ConnEndpoints ends;
  ends.id = h.conn_id();
  ends.slot = h.conn_slot();
  ends.proto = h.transport() == ipc::TRANSPORT_TLS ? Proto::kTls : Proto::kTcp;
  ends.local_ip = h.local().ip();
  ends.local_port = static_cast<uint16_t>(h.local().port());
  ends.remote_ip = h.remote().ip();
  ends.remote_port = static_cast<uint16_t>(h.remote().port());
  ends.accepted_at_ms = h.accepted_at_ms();
  ends.listener = static_cast<int>(h.listener_index());
  stat_add(ends.proto, TStat::kConnsHandled);

  std::unique_ptr<StreamIo> io;
  const StreamConnParams* params = &tcp_params_;
  auto keep = std::make_shared<TlsKeepAlive>();
  if (ends.proto == Proto::kTls) {
    params = &tls_params_;
    std::string error = "no TLS server domain is configured";
    std::optional<std::string> local_key = ip_port_key(ends.local_ip, ends.local_port);
    std::unique_ptr<TlsIo> tls_io =
        server_tls_ && local_key
            ? TlsIo::accept(*server_tls_, *local_key, fd.get(), &error, tls13_crypto_.get())
            : nullptr;
    if (!tls_io) {
      LOG_NOTICE("proto_tls", "tls:%s:%u (id %u): closed: %s", ends.remote_ip.c_str(),
                 ends.remote_port, ends.id, error.c_str());
      table_.release(ends.slot);
      stat_add(Proto::kTls, TStat::kHandshakesFailed);
      stat_add(Proto::kTls, TStat::kConnsClosed);
      stat_add(Stat::kInboundClosed);
      return;
    }
    io = std::move(tls_io);
    keep->server = server_tls_;
  } else {
    io = std::make_unique<TcpIo>(fd.get());
  }
  auto conn = std::make_unique<StreamConn>(conn_ctx_, std::move(fd), std::move(io), ends, *params,
                                           std::move(keep));
  StreamConn* raw = conn.get();
  conns_[ends.id] = std::move(conn);
  Status started = raw->start();
  if (!started.ok()) raw->close(started.message(), LogLevel::kErr, CloseNotify::kSkip);
}

Status Transport::add_udp_socket(UniqueFd fd, int listener, bool read) {
  const SocketAddr& a = sockets_.at(static_cast<size_t>(listener));
  auto sock = std::make_unique<UdpSocket>(std::move(fd), a.ip, a.port, listener);
  if (read && !sock->start_reading(s_.base, this, &batch_))
    return make_error(strprintf("udp:%s:%u: cannot watch the socket", a.ip.c_str(), a.port));
  udp_.push_back(std::move(sock));
  return Status::Ok();
}

void Transport::on_message(StreamConn& conn, char* data, size_t len) {
  const ConnEndpoints& e = conn.endpoints();
  Inbound in;
  in.proto = e.proto;
  in.src_ip = e.remote_ip;
  in.src_port = e.remote_port;
  in.listener = e.listener;
  in.conn_id = e.id;
  in.conn_owner = s_.proc_index;
  in.label = conn.label();
  in.tls = conn.tls_view();
  s_.user->on_sip_message(data, len, in);
}

void Transport::on_datagram(UdpSocket& socket, char* data, size_t len,
                            const struct sockaddr_storage& from) {
  // Keep-alives (CRLF, CRLFCRLF, a lone NUL) and runts carry no message.
  if (len < 16) return;
  IpPort src = sockaddr_to_ip_port(from);
  char label[INET6_ADDRSTRLEN + 16];
  snprintf(label, sizeof label, "udp:%s:%u", src.ip.c_str(), src.port);
  Inbound in;
  in.proto = Proto::kUdp;
  in.src_ip = src.ip;
  in.src_port = src.port;
  in.listener = socket.listener();
  in.label = label;
  s_.user->on_sip_message(data, len, in);
}

void Transport::on_closed(StreamConn& conn) {
  auto it = conns_.find(conn.endpoints().id);
  if (it == conns_.end()) return;
  const bool never_up = conn.endpoints().outbound && !conn.was_established();
  const uint32_t id = conn.endpoints().id;
  std::string reason = conn.close_reason();
  graveyard_.push_back(std::move(it->second));
  conns_.erase(it);
  if (!closing_all_) event_active(reap_ev_.get(), EV_TIMEOUT, 0);
  if (never_up && !closing_all_) s_.user->on_connect_failed(id, reason);
}

void Transport::on_reap(evutil_socket_t, short, void* arg) {
  static_cast<Transport*>(arg)->graveyard_.clear();
}

bool Transport::set_alias(uint32_t conn_id, uint16_t port) {
  StreamConn* c = local_conn(conn_id);
  if (c == nullptr || port == 0 || c->alias_port() == port) return c != nullptr;
  const ConnEndpoints& e = c->endpoints();
  std::optional<ConnEndpoint> key = ConnEndpoint::parse(e.proto, e.remote_ip.c_str(), port);
  if (!key) return false;
  if (std::optional<ConnIndex::Found> other = index_.find(*key)) {
    if (other->info.id != conn_id) {
      // RFC 5923 §10: an alias another connection holds is not taken over.
      stat_add(Stat::kAliasRefused);
      LOG_NOTICE("core",
                 "%s (id %u): alias port %u refused: connection %u holds it (possible "
                 "port hijack attempt)",
                 c->label().c_str(), conn_id, port, other->info.id);
      return false;
    }
  }
  c->set_alias_port(port);
  return true;
}

void Transport::extend_lifetime(uint32_t conn_id, int64_t ms) {
  if (StreamConn* c = local_conn(conn_id)) c->extend_lifetime(ms);
}

std::optional<int> Transport::conn_owner(Proto proto, std::string_view ip, uint16_t port,
                                         uint32_t conn_id) const {
  std::string text(ip);
  std::optional<ConnEndpoint> key = ConnEndpoint::parse(proto, text.c_str(), port);
  if (!key) return std::nullopt;
  std::optional<ConnIndex::Found> f = index_.find(*key);
  if (!f || f->info.id != conn_id) return std::nullopt;
  if (f->state != ConnState::kEstablished && f->state != ConnState::kHandshaking)
    return std::nullopt;
  return f->info.owner;
}

void Transport::close_conn(uint32_t id, std::string_view reason) {
  if (StreamConn* c = local_conn(id)) c->close(reason, LogLevel::kNotice);
}

void Transport::close_all(std::string_view reason) {
  closing_all_ = true;
  // close() moves each connection to the graveyard through on_closed().
  while (!conns_.empty()) conns_.begin()->second->close(reason, LogLevel::kDebug);
  closing_all_ = false;
}

void Transport::on_peer_message(int from, ipc::Envelope& env) {
  switch (env.body_case()) {
    case ipc::Envelope::kSendOnConn: {
      const ipc::SendOnConn& m = env.send_on_conn();
      StreamConn* c = local_conn(m.conn_id());
      if (c == nullptr) {
        stat_add(Stat::kRelayLost);
        LOG_INFO("core", "worker %d: connection %u is gone; %zu bytes from worker %d dropped",
                 s_.proc_index, m.conn_id(), m.data().size(), from);
        return;
      }
      c->send(m.data());
      return;
    }
    case ipc::Envelope::kRelayedMessage: {
      ipc::RelayedMessage* m = env.mutable_relayed_message();
      Inbound in;
      in.proto = m->transport() == ipc::TRANSPORT_TLS   ? Proto::kTls
                 : m->transport() == ipc::TRANSPORT_TCP ? Proto::kTcp
                                                        : Proto::kUdp;
      in.src_ip = m->remote().ip();
      in.src_port = static_cast<uint16_t>(m->remote().port());
      in.listener =
          listener_of(in.proto, m->local().ip(), static_cast<uint16_t>(m->local().port()));
      in.conn_id = m->conn_id();
      in.conn_owner = m->conn_owner();
      std::string label =
          strprintf("%s:%s:%u", proto_name(in.proto), m->remote().ip().c_str(), m->remote().port());
      in.label = label;
      in.relayed_from = from;
      std::string* data = m->mutable_data();
      stat_add(Stat::kRelayedIn);
      s_.user->on_sip_message(data->data(), data->size(), in);
      return;
    }
    default:
      LOG_ERR("core", "worker %d: unexpected message kind %d from worker %d", s_.proc_index,
              static_cast<int>(env.body_case()), from);
  }
}

bool Transport::relay(int worker, const Inbound& from, std::string_view bytes) {
  ipc::Envelope env;
  ipc::RelayedMessage* m = env.mutable_relayed_message();
  m->set_transport(from.proto == Proto::kTls   ? ipc::TRANSPORT_TLS
                   : from.proto == Proto::kTcp ? ipc::TRANSPORT_TCP
                                               : ipc::TRANSPORT_UDP);
  m->mutable_remote()->set_ip(std::string(from.src_ip));
  m->mutable_remote()->set_port(from.src_port);
  if (from.listener >= 0) {
    const SocketAddr& l = sockets_[static_cast<size_t>(from.listener)];
    m->mutable_local()->set_ip(l.ip);
    m->mutable_local()->set_port(l.port);
  }
  m->set_conn_id(from.conn_id);
  m->set_conn_owner(from.conn_owner);
  m->set_data(std::string(bytes));
  m->set_from(s_.proc_index);
  m->set_received_at_ms(realtime_coarse_ms());
  return hand_over(worker, env);
}

bool Transport::hand_over(int worker, const ipc::Envelope& env) {
  // Counted before the write: the other worker may act on the message, and its effects reach
  // the peers (who may then read the statistics), before this process runs again.
  stat_add(Stat::kRelayedOut);
  if (peers_->send(worker, env)) return true;
  stat_add(Stat::kRelayedOut, ~uint64_t{0});  // not handed over after all: taken back
  stat_add(Stat::kRelayLost);
  return false;
}

// ---- sending --------------------------------------------------------------------------------

StreamConn* Transport::local_conn(uint32_t id) const {
  auto it = conns_.find(id);
  return it == conns_.end() || it->second->closed() ? nullptr : it->second.get();
}

int Transport::choose_socket(Proto proto, bool ipv6, int forced, int inbound) const {
  auto fits = [&](int i) {
    if (i < 0 || static_cast<size_t>(i) >= sockets_.size()) return false;
    const SocketAddr& s = sockets_[static_cast<size_t>(i)];
    return s.proto == proto && (s.ip.find(':') != std::string::npos) == ipv6;
  };
  if (forced >= 0) return fits(forced) ? forced : -1;
  if (fits(inbound)) return inbound;
  for (size_t i = 0; i < sockets_.size(); ++i)
    if (fits(static_cast<int>(i))) return static_cast<int>(i);
  return -1;
}

SendResult Transport::send(const NextHop& hop, std::string_view bytes) {
  return hop.proto == Proto::kUdp ? send_udp(hop, bytes) : send_stream(hop, bytes);
}

SendResult Transport::send_udp(const NextHop& hop, std::string_view bytes) {
  SendResult r;
  const bool v6 = hop.ip.find(':') != std::string::npos;
  int listener = choose_socket(Proto::kUdp, v6, hop.socket, -1);
  for (const auto& sock : udp_) {
    if (sock->listener() != listener) continue;
    r.ok = sock->send_to(hop.ip, hop.port, bytes, &r.error);
    if (!r.ok) r.error = strprintf("udp:%s:%u: %s", hop.ip.c_str(), hop.port, r.error.c_str());
    return r;
  }
  r.error = strprintf("udp:%s:%u: no udp listener to send from", hop.ip.c_str(), hop.port);
  return r;
}

SendResult Transport::send_on(uint32_t conn_id, int owner, std::string_view bytes) {
  SendResult r;
  r.conn_id = conn_id;
  r.conn_owner = owner;
  if (owner == s_.proc_index) {
    StreamConn* c = local_conn(conn_id);
    if (c == nullptr) {
      r.error = strprintf("connection %u is closed", conn_id);
      return r;
    }
    c->send(bytes);
    r.ok = !c->closed();
    if (!r.ok) r.error = c->close_reason();
    return r;
  }
  ipc::Envelope env;
  ipc::SendOnConn* m = env.mutable_send_on_conn();
  m->set_conn_id(conn_id);
  m->set_data(std::string(bytes));
  m->set_from(s_.proc_index);
  r.ok = hand_over(owner, env);
  if (!r.ok)
    r.error = strprintf("cannot reach worker %d, which owns connection %u", owner, conn_id);
  return r;
}

SendResult Transport::send_stream(const NextHop& hop, std::string_view bytes) {
  // 1. The connection the caller names, while it lives.
  if (hop.conn_id != 0) {
    if (hop.conn_owner == s_.proc_index) {
      if (local_conn(hop.conn_id) != nullptr) return send_on(hop.conn_id, hop.conn_owner, bytes);
    } else if (hop.conn_owner > 0) {
      // The owner writes it if the connection still lives (else it counts the loss).
      return send_on(hop.conn_id, hop.conn_owner, bytes);
    }
  }
  // 2. Any live connection to that address; an outbound TLS one only if it was made with the
  //    client domain this message would use (cert_check_on_conn_reusage).
  std::optional<ConnEndpoint> key = ConnEndpoint::parse(hop.proto, hop.ip.c_str(), hop.port);
  if (!key) {
    SendResult r;
    r.error = "not a numeric address: " + hop.ip;
    return r;
  }
  std::string domain;
  if (hop.proto == Proto::kTls && client_tls_ && s_.config->tls.cert_check_on_conn_reusage) {
    int d = client_tls_->select(hop.client_domain, ip_port_text(hop.ip, hop.port), hop.sip_domain);
    if (d >= 0) {
      domain = client_tls_->name(d);
    } else if (!hop.client_domain.empty()) {
      // Named, and no such domain: not "any connection will do".
      SendResult r;
      r.error = unknown_client_domain(hop);
      return r;
    }
  }
  if (std::optional<ConnIndex::Found> f = index_.find(*key, domain))
    return send_on(f->info.id, f->info.owner, bytes);
  // 3. A new connection of our own.
  if (hop.no_new_conn) {
    SendResult r;
    r.error = strprintf("%s:%s:%u: no connection to it and none may be opened",
                        proto_name(hop.proto), hop.ip.c_str(), hop.port);
    return r;
  }
  Result<StreamConn*> c = connect(hop);
  if (!c.ok()) {
    SendResult r;
    r.error = c.message();
    return r;
  }
  (*c)->send(bytes);  // queued until connected (and the handshake is done)
  SendResult r;
  r.ok = !(*c)->closed();
  r.conn_id = (*c)->endpoints().id;
  r.conn_owner = s_.proc_index;
  if (!r.ok) r.error = (*c)->close_reason();
  return r;
}

Result<StreamConn*> Transport::connect(const NextHop& hop) {
  OutboundTarget t;
  t.proto = hop.proto;
  t.ip = hop.ip;
  t.port = hop.port;
  t.server_name = hop.server_name;
  SSL_CTX* ctx = nullptr;
  auto keep = std::make_shared<TlsKeepAlive>();
  if (hop.proto == Proto::kTls) {
    const std::string dest = ip_port_text(hop.ip, hop.port);
    int d = client_tls_ ? client_tls_->select(hop.client_domain, dest, hop.sip_domain) : -1;
    if (d < 0 && !hop.client_domain.empty()) return make_error(unknown_client_domain(hop));
    if (d < 0)
      return make_error("tls:" + dest + ": no tls_mgm client domain matches" +
                        (hop.sip_domain.empty() ? std::string(" (add a client_domain)")
                                                : " SIP domain '" + printable(hop.sip_domain) +
                                                      "' (client_sip_domain_avp)"));
    ctx = client_tls_->ctx(d);
    t.client_domain = client_tls_->name(d);
    keep->client = client_tls_;
  }
  // Ids of outbound connections: the high bit set, then this worker's index, then a counter,
  // so that they never collide with the supervisor's ids or another worker's.
  uint32_t id = 0x80000000u | (static_cast<uint32_t>(s_.proc_index & 0x7ff) << 20) |
                (next_outbound_id_++ & 0xfffffu);
  Result<std::unique_ptr<StreamConn>> conn = start_outbound(
      conn_ctx_, hop.proto == Proto::kTls ? tls_params_ : tcp_params_, t, ctx, id, std::move(keep));
  if (!conn.ok()) return conn.error();
  StreamConn* raw = conn->get();
  stat_add(hop.proto, TStat::kConnsHandled);
  conns_[id] = std::move(conn).value();
  Status started = raw->start();
  if (!started.ok()) {
    raw->close(started.message(), LogLevel::kErr, CloseNotify::kSkip);
    return make_error(started.message());
  }
  return raw;
}

}  // namespace sipsd
