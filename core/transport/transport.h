// Transport: everything a worker sends and receives SIP messages over, behind one interface.
//
//   receive: stream connections handed over by the supervisor (TLS handshake, framing), the
//            worker's UDP sockets, and messages other workers relay to this one;
//   send:    to a next hop (proto, ip, port): UDP from the listener's socket; TCP/TLS on the
//            connection the caller names, else on any live connection to that address in the
//            shared connection index (this worker's, or another worker's: then the bytes go to
//            the owner, which writes them on its SSL*), else on a new outbound connection this
//            worker opens (queued until it is connected and its handshake is done).
//
// It owns the worker's connections, its TLS contexts (server and client, rebuilt when the
// supervisor publishes a new snapshot) and its links to the other workers. What a message means
// is the caller's business (TransportUser).
#pragma once

#include <event2/event.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/base/event_ptr.h"
#include "core/base/result.h"
#include "core/base/transport.h"
#include "core/cfg/config.h"
#include "core/shm/shm_region.h"
#include "core/transport/peer_links.h"
#include "core/transport/udp_socket.h"
#include "ipc/channel.h"
#include "proto_tls/stream_conn.h"
#include "proto_tls/tls13_record_layer.h"
#include "tls_mgm/client_tls_contexts.h"
#include "tls_mgm/server_tls_contexts.h"
#include "tls_mgm/ticket_keys.h"

namespace sipsd {

// A listener as bound: the address messages leave from (Via, Record-Route) and is_myself().
struct SocketAddr {
  Proto proto = Proto::kTcp;
  std::string ip;
  uint16_t port = 0;
  // What Via and Record-Route advertise (socket `as`, advertised_address/_port); ""/0 = ip/port.
  std::string adv_ip;
  uint16_t adv_port = 0;
  const std::string& shown_ip() const { return adv_ip.empty() ? ip : adv_ip; }
  uint16_t shown_port() const { return adv_port != 0 ? adv_port : port; }
};

// Where a received message came from.
struct Inbound {
  Proto proto = Proto::kUdp;
  std::string_view src_ip;
  uint16_t src_port = 0;
  int listener = -1;       // the socket it arrived on (index into Transport::sockets()); -1 when
                           // it came on a connection this side opened
  uint32_t conn_id = 0;    // TCP/TLS: the connection (0 for UDP)
  int conn_owner = 0;      // the worker that owns that connection
  std::string_view label;  // "tls:1.2.3.4:5061", for log lines
  TlsConnView tls;         // $tls_* (ssl null: not TLS, or relayed from another worker)
  int relayed_from = 0;    // the worker that read it, when it was relayed here (0 = read here)
};

// A next hop. ip is numeric (DNS happened before).
struct NextHop {
  Proto proto = Proto::kUdp;
  std::string ip;
  uint16_t port = 0;
  std::string server_name;  // TLS: SNI and the name the certificate must carry ("" = the ip)
  // TLS, a new connection: the client domain by name (client_tls_domain_avp), else the one
  // whose match_sip_domain matches sip_domain (client_sip_domain_avp; "" = OpenSIPS's "*").
  std::string client_domain;
  std::string sip_domain;
  uint32_t conn_id = 0;  // a connection to use while it lives (replies; registered phones)
  int conn_owner = 0;
  int socket = -1;  // the listener to send from (force_send_socket); -1: choose_socket()
  // TCP/TLS: fail rather than open a new connection (a registered phone is reached only over
  // the connection it registered from).
  bool no_new_conn = false;
};

struct SendResult {
  bool ok = false;
  uint32_t conn_id = 0;  // TCP/TLS: the connection it went on (or waits for)
  int conn_owner = 0;
  std::string error;  // !ok: why
};

class TransportUser {
 public:
  virtual ~TransportUser() = default;
  // One complete SIP message, mutable in place, valid until the call returns.
  virtual void on_sip_message(char* data, size_t len, const Inbound& from) = 0;
  // A connection this worker opened closed before it was ever established (refused, handshake
  // failed, timed out): what was queued on it is lost. Transactions waiting on it fail over.
  virtual void on_connect_failed(uint32_t conn_id, std::string_view reason) {}
};

struct TransportSetup {
  struct event_base* base = nullptr;
  const Config* config = nullptr;
  ShmRegion* shm = nullptr;
  int proc_index = 0;
  std::vector<SocketAddr> sockets;  // every listener, in cfg order
  TransportUser* user = nullptr;
};

class Transport final : public StreamConnOwner, public PeerMessageHandler, public DatagramHandler {
 public:
  explicit Transport(TransportSetup setup);
  ~Transport() override;
  Transport(const Transport&) = delete;
  Transport& operator=(const Transport&) = delete;

  // Builds the TLS contexts of the published snapshot (none published: TLS refused).
  Status load_tls();
  // A new snapshot generation: new contexts for new connections; live ones keep theirs.
  void reload_tls();
  uint64_t tls_generation() const;

  // ---- receiving
  void accept_handoff(const ipc::ConnHandoff& h, UniqueFd fd);
  // A socket of a UDP listener's group; `read`: this worker reads it.
  Status add_udp_socket(UniqueFd fd, int listener, bool read);
  void attach_peer(int peer, ipc::Channel channel) { peers_->attach(peer, std::move(channel)); }
  void close_conn(uint32_t id, std::string_view reason);
  // RFC 5923: requests to the peer's address with `port` may use this worker's connection
  // `conn_id` too. False when another connection holds that alias (logged, counted).
  bool set_alias(uint32_t conn_id, uint16_t port);
  // registrar's tcp_persistent_flag: this worker's connection `conn_id` lives idle for at least
  // `ms` (as long as the binding made over it).
  void extend_lifetime(uint32_t conn_id, int64_t ms);
  // The worker owning a live connection `conn_id` to (proto, ip, port), found through the shared
  // index; nullopt when it is gone.
  std::optional<int> conn_owner(Proto proto, std::string_view ip, uint16_t port,
                                uint32_t conn_id) const;
  // Closes every connection (shutdown).
  void close_all(std::string_view reason);
  size_t connection_count() const { return conns_.size(); }

  // ---- sending
  const std::vector<SocketAddr>& sockets() const { return sockets_; }
  // The listener a message to `proto` leaves from: `forced` when given (and of that proto), else
  // the socket it came in on when that one has the same proto and family, else the first
  // listener of that proto and family. -1 when there is none.
  int choose_socket(Proto proto, bool ipv6, int forced, int inbound) const;
  SendResult send(const NextHop& hop, std::string_view bytes);
  // Hands a received message to the worker that must handle it.
  bool relay(int worker, const Inbound& from, std::string_view bytes);

  // StreamConnOwner, PeerMessageHandler, DatagramHandler
  void on_message(StreamConn& conn, char* data, size_t len) override;
  void on_closed(StreamConn& conn) override;
  void on_peer_message(int from, ipc::Envelope& env) override;
  void on_datagram(UdpSocket& socket, char* data, size_t len,
                   const struct sockaddr_storage& from) override;

 private:
  static void on_reap(evutil_socket_t, short, void* arg);

  StreamConn* local_conn(uint32_t id) const;
  SendResult send_udp(const NextHop& hop, std::string_view bytes);
  SendResult send_stream(const NextHop& hop, std::string_view bytes);
  // Writes on a connection this worker or another owns.
  SendResult send_on(uint32_t conn_id, int owner, std::string_view bytes);
  // Sends `env` to another worker, counting core:relayed_out (before the write) or
  // core:relay_lost.
  bool hand_over(int worker, const ipc::Envelope& env);
  Result<StreamConn*> connect(const NextHop& hop);
  int listener_of(Proto proto, std::string_view ip, uint16_t port) const;

  TransportSetup s_;
  std::vector<SocketAddr> sockets_;
  ConnTable table_;
  ConnIndex index_;
  StreamConnParams tls_params_;
  StreamConnParams tcp_params_;
  ReadScratch scratch_;
  OutputBatch batch_;  // declared before the connections, which unregister from it
  StreamConnContext conn_ctx_;
  TicketKeyStore tickets_;
  std::unique_ptr<Tls13Crypto> tls13_crypto_;  // tls_record_handoff (null: off)
  std::shared_ptr<const ServerTlsContexts> server_tls_;
  std::shared_ptr<const ClientTlsContexts> client_tls_;
  std::unique_ptr<PeerLinks> peers_;
  std::vector<std::unique_ptr<UdpSocket>> udp_;  // this worker's socket of each UDP listener
  std::unordered_map<uint32_t, std::unique_ptr<StreamConn>> conns_;
  std::vector<std::unique_ptr<StreamConn>> graveyard_;
  EventPtr reap_ev_;
  uint32_t next_outbound_id_ = 0;
  bool closing_all_ = false;
};

}  // namespace sipsd
