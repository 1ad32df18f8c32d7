// TLS I/O: a server-side SSL object on a non-blocking socket. Every SSL_* call whose result is
// inspected starts with a clean error queue and drains it into error() on failure.
//
// With the record hand-off (tls13_handoff.h), an accepted TLS 1.3 connection leaves OpenSSL
// once its handshake is done and nothing is buffered: the SSL is freed and Tls13RecordIo
// carries the records; what the connection must still tell about itself (version, cipher,
// certificates, verify result) is kept here.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "proto_tls/stream_io.h"
#include "proto_tls/tls13_handoff.h"
#include "proto_tls/tls13_record_io.h"
#include "tls_mgm/openssl_ptr.h"
#include "tls_mgm/server_tls_contexts.h"

namespace sipsd {

class TlsIo final : public StreamIo {
 public:
  // Outbound: an SSL in connect state with its fd set, made with the client domain
  // `client_domain`.
  explicit TlsIo(SslPtr ssl, std::string client_domain = {});
  // Accepted: an SSL from `set` for the connection's local address (its domain may change at
  // the ClientHello, by SNI). Null with *error set when no domain serves that address.
  // `handoff` (null: off) is the worker's record-layer crypto: a TLS 1.3 connection leaves
  // OpenSSL after its handshake (the contexts in `set` must carry the key-log callback).
  static std::unique_ptr<TlsIo> accept(const ServerTlsContexts& set, std::string_view local_key,
                                       int fd, std::string* error, Tls13Crypto* handoff = nullptr);
  ~TlsIo() override;

  bool is_tls() const override { return true; }
  IoResult handshake() override;
  IoResult read(char* buf, size_t cap) override;
  IoResult write(const char* buf, size_t len) override;
  bool drained() const override;
  void on_readable() override {
    event_driven_ = true;
    socket_empty_ = false;
    if (records_) records_->on_readable();
  }
  void shutdown() override;
  const std::string& error() const override { return records_ ? records_->error() : error_; }
  void describe(ConnInfo* info) const override;
  TlsConnView tls_view() const override;
  bool session_resumed() const override;
  bool peer_verify_failed() const override;

  // Null once the connection has been handed off.
  SSL* ssl() const { return ssl_.get(); }
  // The hand-off's record layer (null: OpenSSL has the connection).
  const Tls13RecordIo* records() const { return records_.get(); }
  // The server domain chosen for this connection and the SNI it asked for.
  const TlsSelection& selection() const { return sel_; }

 private:
  TlsIo() = default;
  IoResult map_error(int rc, const char* op);
  // Hands the connection to Tls13RecordIo when the handshake is done and OpenSSL holds no
  // bytes; called after each handshake step, read and write that may have got it there.
  void try_hand_off();
  // Read-ahead (a read() takes every record the socket holds, not a header and then a body)
  // and the watch on the socket reads behind drained().
  void tune_reads();
  static long on_bio(BIO* bio, int oper, const char* argp, size_t len, int argi, long argl, int ret,
                     size_t* processed);

  SslPtr ssl_;
  std::string error_;
  TlsSelection sel_;
  std::string client_domain_;     // outbound connections
  bool last_read_short_ = false;  // the last socket read returned less than asked for
  // Set by a short socket read, cleared by the next read event: until then OpenSSL's reads
  // (e.g. for the next handshake flight, right after writing ours) are answered "retry"
  // without a read() that could only return EAGAIN. The level-triggered read event reports
  // whatever arrives meanwhile.
  bool socket_empty_ = false;
  bool event_driven_ = false;  // on_readable() was called: socket_empty_ applies

  // The hand-off: watching the handshake, then the records.
  int fd_ = -1;
  Tls13Crypto* crypto_ = nullptr;
  std::unique_ptr<Tls13Handoff> handoff_;
  std::unique_ptr<Tls13RecordIo> records_;
  bool write_pending_ = false;  // an SSL_write returned "retry": OpenSSL holds sealed bytes

  // What the connection tells about itself, taken from the SSL once its handshake is done (none
  // of it changes afterwards, and it outlives the SSL when the connection is handed off).
  struct Established {
    TlsConnView view;  // its certificates are the references below
    X509Ptr peer;
    X509Ptr local;
    bool resumed = false;
  };
  void keep_established();
  std::optional<Established> established_;
};

}  // namespace sipsd
