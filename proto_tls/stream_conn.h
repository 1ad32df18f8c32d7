// StreamConn: one accepted TCP or TLS connection, owned by the worker it was handed to for its
// whole life. A small state machine on the worker's libevent loop:
//
//   [connecting ──►] handshaking ──ok──► established ──error / EOF / timeout / limit──► closed
//        └──────── failure or tcp_max_msg_time (connect + handshake) ────────────────┘
//
// It reads until the transport would block, cuts messages with the StreamFramer (answering
// CRLFCRLF pings itself), hands each message to its owner, queues what cannot be written at
// once and finishes it when the socket is writable. Limits close only this connection, with a
// log line naming the peer and the reason. Idle connections hold no read buffer: bytes are read
// into the worker's scratch buffer and only an incomplete tail is copied into the connection.
#pragma once

#include <event2/event.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/event_ptr.h"
#include "core/base/log.h"
#include "core/base/unique_fd.h"
#include "core/cfg/config.h"
#include "core/shm/conn_index.h"
#include "core/shm/conn_table.h"
#include "proto_tls/output_batch.h"
#include "proto_tls/stream_framer.h"
#include "proto_tls/stream_io.h"

namespace sipsd {

struct ConnEndpoints {
  uint32_t id = 0;
  uint32_t slot = 0;
  Proto proto = Proto::kTcp;
  std::string local_ip;
  uint16_t local_port = 0;
  std::string remote_ip;
  uint16_t remote_port = 0;
  int64_t accepted_at_ms = 0;
  bool outbound = false;  // we connected (the socket's connect() is in progress at start())
  int listener = -1;      // inbound: the listener (index in the cfg) that accepted it
};

struct StreamConnParams {
  FramerLimits framer;
  int64_t handshake_timeout_ms = 4000;  // tcp_max_msg_time
  int64_t msg_timeout_ms = 4000;        // tcp_max_msg_time
  int64_t lifetime_ms = 120000;         // tcp_connection_lifetime
  size_t max_output_bytes = 1 << 20;    // a peer that stops reading is cut off here
};

class StreamConn;

class StreamConnOwner {
 public:
  virtual ~StreamConnOwner() = default;
  // One complete SIP message, mutable in place, valid until this call returns.
  virtual void on_message(StreamConn& conn, char* data, size_t len) = 0;
  // The connection has closed (called once). The owner destroys it later, never inside this
  // call: the connection may still be on the stack.
  virtual void on_closed(StreamConn& conn) = 0;
};

// The worker's read buffer, shared by all its connections (one event at a time).
struct ReadScratch {
  std::vector<char> buf;
};

// What every connection of one worker shares: its loop, the owner its messages go to, the read
// buffer, the shm connection table, the worker's process index and its output batch.
struct StreamConnContext {
  struct event_base* base = nullptr;
  StreamConnOwner* owner = nullptr;
  ReadScratch* scratch = nullptr;
  ConnTable table;
  int owner_index = 0;
  ConnIndex index;               // where other workers look connections up by peer address
  OutputBatch* batch = nullptr;  // null: every send() writes at once
};

// Whether close() sends a TLS close_notify first. kSkip when the peer is gone or the TLS state
// failed (an alert written into a broken session helps nobody).
enum class CloseNotify : uint8_t { kSend, kSkip };

class StreamConn {
 public:
  // `keep_alive` is held for the connection's life (e.g. the SSL_CTX set it started with).
  StreamConn(const StreamConnContext& ctx, UniqueFd fd, std::unique_ptr<StreamIo> io,
             ConnEndpoints ends, const StreamConnParams& params,
             std::shared_ptr<const void> keep_alive);
  ~StreamConn();
  StreamConn(const StreamConn&) = delete;
  StreamConn& operator=(const StreamConn&) = delete;

  // Arms the events and starts the handshake (TLS) or reading (TCP).
  Status start();
  // Queues bytes for the peer and writes what the socket takes now, or, while the worker's
  // output batch is open, when it closes (output_batch.h).
  void send(std::string_view bytes);
  // The output batch closed: writes what send() appended while it was open.
  void flush_batch();
  // Closes the connection (idempotent), logging `reason` at `level`.
  void close(std::string_view reason, LogLevel level, CloseNotify notify = CloseNotify::kSend);

  bool closed() const { return closed_; }
  bool established() const { return established_; }
  // Whether the connection ever got to established (after close() too).
  bool was_established() const { return was_established_; }
  // Why close() was called ("" while open).
  const std::string& close_reason() const { return close_reason_; }
  const ConnEndpoints& endpoints() const { return ends_; }
  // "tls:127.0.0.1:40312", for log lines.
  const std::string& label() const { return label_; }
  // The TLS view of the connection for $tls_* variables (ssl null: TCP, or closed).
  TlsConnView tls_view() const { return io_ ? io_->tls_view() : TlsConnView{}; }
  // RFC 5923: requests to the peer's address with this port may use this connection too (the
  // peer's Via port, with tcp_accept_aliases). Published in the connection index.
  void set_alias_port(uint16_t port);
  // Lets the connection live idle for at least `ms` (registrar's tcp_persistent_flag: as long
  // as the binding made over it). Only ever extends.
  void extend_lifetime(int64_t ms);
  uint16_t alias_port() const { return alias_port_; }
  // Bytes accepted by send() that the socket has not taken yet.
  size_t queued_bytes() const { return out_.size() - out_off_; }

 private:
  static void on_read_event(evutil_socket_t, short, void* arg);
  static void on_write_event(evutil_socket_t, short, void* arg);
  static void on_timer_event(evutil_socket_t, short, void* arg);

  // Read/write handlers, switched once when the connect and the handshake complete.
  void connect_step();
  void handshake_step();
  void read_step();
  void flush_step();

  void on_handshake_done();
  // Feeds bytes to the framer and dispatches frames; returns bytes consumed.
  size_t consume(char* data, size_t len);
  void keep_tail(const char* data, size_t len);
  void end_read_event();
  void mark_active();  // a complete message or write: refreshes the idle lifetime
  void arm_write();
  void arm_timer();
  void publish_state(ConnState state);

  struct event_base* base_;
  UniqueFd fd_;
  std::unique_ptr<StreamIo> io_;
  ConnEndpoints ends_;
  const StreamConnParams& params_;
  StreamConnOwner& owner_;
  ReadScratch& scratch_;
  ConnTable table_;
  ConnIndex index_;
  int owner_index_;
  OutputBatch* batch_;
  std::shared_ptr<const void> keep_alive_;  // e.g. the SSL_CTX set this connection started with
  std::string label_;

  EventPtr read_ev_;
  EventPtr write_ev_;
  EventPtr timer_ev_;
  void (StreamConn::*on_readable_)() = &StreamConn::handshake_step;
  void (StreamConn::*on_writable_)() = &StreamConn::handshake_step;

  StreamFramer framer_;
  std::unique_ptr<char[]> in_;  // incomplete message bytes; null when there are none
  size_t in_len_ = 0;
  size_t in_cap_ = 0;
  std::string out_;  // bytes the socket has not taken yet
  size_t out_off_ = 0;

  int64_t handshake_deadline_ = 0;
  int64_t msg_deadline_ = 0;  // 0 when no message is incomplete
  int64_t last_activity_ = 0;
  int64_t timer_at_ = 0;  // when the armed timer fires (0 = not armed)
  bool established_ = false;
  bool was_established_ = false;
  bool indexed_ = false;  // in the connection index
  uint16_t alias_port_ = 0;
  int64_t lifetime_ms_ = 0;  // idle lifetime: params_.lifetime_ms, or longer (extend_lifetime)
  ConnState state_ = ConnState::kHandedOff;  // as last published
  bool closed_ = false;
  std::string close_reason_;
  bool read_wants_write_ = false;  // SSL_read asked for writability
  bool write_wants_read_ = false;  // SSL_write asked for readability
  bool in_batch_ = false;          // registered in batch_, output written when it closes
};

}  // namespace sipsd
