// The record hand-off (`tls_record_handoff`, ours): OpenSSL runs a TLS 1.3 server handshake;
// once it is done and OpenSSL holds no unread or unsent bytes, the connection's records are
// sealed and opened by Tls13RecordLayer and the SSL object (~14 kB with OpenSSL 3.0) is freed.
// An idle phone then costs its socket, sipsd's connection state and ~250 bytes of keys.
//
// Tls13Handoff watches one handshake for what the hand-off needs and OpenSSL 3.0 has no API
// for: the two application traffic secrets (from the key-log callback, which every server
// SSL_CTX gets while the hand-off is on) and how many records each side has protected with
// them (from the message callback: record headers after each side's Finished). A connection
// that is not TLS 1.3, uses a CCM suite or saw a KeyUpdate before the hand-off stays with
// OpenSSL for its whole life.
#pragma once

#include <openssl/ssl.h>

#include <cstdint>
#include <memory>

#include "proto_tls/tls13_record_layer.h"

namespace sipsd {

class Tls13Handoff {
 public:
  // Watches `ssl`, a server SSL before its handshake; the SSL must not outlive this object
  // unless take() succeeded or the object was destroyed first (both detach it).
  explicit Tls13Handoff(SSL* ssl);
  ~Tls13Handoff();
  Tls13Handoff(const Tls13Handoff&) = delete;
  Tls13Handoff& operator=(const Tls13Handoff&) = delete;

  // SSL_CTX_set_keylog_callback() for every server context while the hand-off is on.
  static void keylog_callback(const SSL* ssl, const char* line);

  enum class Verdict : uint8_t {
    kReady,  // the layer is made: free the SSL
    kLater,  // OpenSSL still holds bytes (or the handshake is not done): ask again later
    kNever,  // this connection stays with OpenSSL
  };
  // The record layer for the connection as it stands, at OpenSSL's sequence numbers. The
  // caller makes sure no SSL_write is half done.
  Verdict take(Tls13Crypto* crypto, std::unique_ptr<Tls13RecordLayer>* layer);

 private:
  static void on_message(int write_p, int version, int content_type, const void* buf, size_t len,
                         SSL* ssl, void* arg);
  void detach();

  SSL* ssl_;
  uint8_t client_secret_[kTls13MaxSecret];  // client_application_traffic_secret_0
  uint8_t server_secret_[kTls13MaxSecret];  // server_application_traffic_secret_0
  uint8_t client_secret_len_ = 0;
  uint8_t server_secret_len_ = 0;
  bool read_counting_ = false;   // the client's Finished has been read
  bool write_counting_ = false;  // our Finished has been written
  bool key_update_ = false;      // a KeyUpdate went either way: the secrets above are stale
  uint64_t read_records_ = 0;    // records read since the client's Finished
  uint64_t write_records_ = 0;   // records written since ours
};

}  // namespace sipsd
