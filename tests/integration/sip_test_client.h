// SipTestClient: a blocking SIP-over-TCP/TLS client for integration tests.
//
// Every call is bounded by its timeout (the socket is non-blocking underneath and every wait is a
// poll() with a deadline), so a test can fail but never hang. Received bytes are kept in a
// per-connection buffer (capped) and cut into SIP messages by sipsd's own StreamFramer, with
// CRLF ping-pong off: CRLF keep-alives before a message are skipped by read_message(), and can be
// read exactly with read_bytes() when a test expects a pong.
//
//   auto c = SipTestClient::connect_tls("127.0.0.1", port, {.ca_file = certs + "/ca.pem"});
//   ASSERT_TRUE(c.ok()) << c.message();
//   SipRequest req = (*c)->make_options();
//   ASSERT_TRUE((*c)->send(req.text));
//   auto reply = (*c)->read_reply(2s);
//   ASSERT_TRUE(reply.ok()) << reply.message();
//   EXPECT_EQ(reply->status(), 200);
//
// Not thread-safe: one test thread per client.
#pragma once

#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/socket.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/result.h"
#include "proto_tls/stream_framer.h"
#include "tls_mgm/openssl_ptr.h"

namespace sipsd::test {

// ---- OpenSSL RAII: the server's owners (tls_mgm/openssl_ptr.h) --------------------------------

using sipsd::BioPtr;
using sipsd::EvpPkeyPtr;
using sipsd::SslCtxPtr;
using sipsd::SslPtr;
using sipsd::X509Ptr;
// Shared (unlike the server's), because a saved session is handed to any number of connects.
using SslSessionPtr = std::shared_ptr<SSL_SESSION>;

// ---- connecting ----------------------------------------------------------------------------

struct TlsClientOptions {
  std::string ca_file;      // verify the server's chain against these CAs; empty: no verification
  std::string verify_name;  // with ca_file: the server cert must also match this DNS name or IP
  std::string cert_file;    // client certificate (PEM, may hold a chain); empty: present none
  std::string key_file;     // its private key; empty: read from cert_file
  std::string sni;          // server_name extension; empty: none sent
  int min_version = 0;      // TLS1_2_VERSION, TLS1_3_VERSION, ...; 0: OpenSSL's default
  int max_version = 0;
  std::string cipher_list;   // TLS <= 1.2 cipher list; empty: OpenSSL's default
  std::string ciphersuites;  // TLS 1.3 suites; empty: OpenSSL's default
  SslSessionPtr session;     // offer to resume this session (from SipTestClient::session())
  std::string local_ip;      // bind to this source address (e.g. 127.0.0.2) before connecting
  int receive_buffer = 0;    // SO_RCVBUF set before connecting (a small window); 0: the OS's
  std::chrono::milliseconds timeout{5000};  // TCP connect + TLS handshake together
};

// ---- SIP requests ---------------------------------------------------------------------------

struct SipRequestSpec {
  std::string method = "OPTIONS";
  std::string request_uri;  // empty: sip:<server ip>:<port>;transport=tls|tcp
  std::string from_uri = "sip:alice@example.com";
  std::string from_tag;  // empty: a unique one
  std::string to_uri;    // empty: the request URI
  std::string call_id;   // empty: a unique one
  uint32_t cseq = 1;
  int max_forwards = 70;
  std::string branch;      // empty: "z9hG4bK" + a unique token (given: used as is)
  std::string contact;     // Contact URI; empty: none, except INVITE/REGISTER/SUBSCRIBE/REFER get
                           // <sip:alice@<local ip>:<local port>;transport=...>
  std::string user_agent;  // empty: no User-Agent header
  std::vector<std::string> extra_headers;        // complete "Name: value" lines, added as given
  std::string content_type = "application/sdp";  // sent only with a body
  std::string body;                              // Content-Length is always sent (RFC 3261 §18.3)
};

// A built request and the identifiers a test matches the reply with.
struct SipRequest {
  std::string text;  // the bytes to send
  std::string method;
  std::string branch;
  std::string call_id;
  std::string from_tag;
  uint32_t cseq = 0;
};

// Where the request is sent from and to; SipTestClient::make_options() fills it in.
struct SipHop {
  std::string transport = "TLS";  // Via transport and ;transport= URI parameter: TLS or TCP
  std::string local_ip;
  uint16_t local_port = 0;
  std::string peer_ip;
  uint16_t peer_port = 0;
};

SipRequest build_sip_request(const SipRequestSpec& spec, const SipHop& hop);

// A unique token (hex) for branches, tags and Call-IDs: unique within and across processes.
std::string unique_token();

// ---- SIP message parsing (test-only) --------------------------------------------------------

// One SIP request or reply, parsed just enough for assertions. Header names are matched
// case-insensitively, compact forms included (v = Via, l = Content-Length, ...).
class SipMessage {
 public:
  static Result<SipMessage> parse(std::string_view text);

  bool is_request() const { return status_ == 0; }
  int status() const { return status_; }                 // replies: 100..699; requests: 0
  const std::string& reason() const { return reason_; }  // replies
  const std::string& method() const { return method_; }  // requests
  const std::string& uri() const { return uri_; }        // requests

  // The first value of a header, nullopt when absent. Folded lines are joined with a space.
  std::optional<std::string> header(std::string_view name) const;
  // Every occurrence of a header, one entry per header line, in order.
  std::vector<std::string> headers(std::string_view name) const;
  // Every Via value, top first: all Via lines, comma-separated values split.
  std::vector<std::string> vias() const;
  // The header names in order, canonical (long, lower-case) form.
  std::vector<std::string> header_names() const;

  const std::string& body() const { return body_; }
  const std::string& text() const { return text_; }  // the whole message as received

 private:
  struct Header {
    std::string name;  // canonical: long form, lower case
    std::string value;
  };
  int status_ = 0;
  std::string reason_, method_, uri_, body_, text_;
  std::vector<Header> headers_;
};
using SipReply = SipMessage;

// The value of parameter `name` in a header value, e.g. header_param(via, "branch") or
// header_param(from, "tag"); "" for a parameter without value (";rport"); nullopt if absent.
// Parameters inside <...> (URI parameters) and quoted strings are skipped.
std::optional<std::string> header_param(std::string_view value, std::string_view name);

// Splits a header value at commas outside quotes and <...>; trims each part.
std::vector<std::string> split_header_list(std::string_view value);

// ---- the client -----------------------------------------------------------------------------

class SipTestClient {
 public:
  using Ptr = std::unique_ptr<SipTestClient>;
  using Millis = std::chrono::milliseconds;

  static Result<Ptr> connect_tcp(const std::string& ip, uint16_t port,
                                 Millis timeout = Millis(5000), const std::string& local_ip = "");
  static Result<Ptr> connect_tls(const std::string& ip, uint16_t port,
                                 const TlsClientOptions& options = {});

  ~SipTestClient();
  SipTestClient(const SipTestClient&) = delete;
  SipTestClient& operator=(const SipTestClient&) = delete;

  // -- writing: bounded by io_timeout() --
  // Over TLS: exactly one SSL_write, so up to 16 KiB leaves as one TLS record.
  Status send(std::string_view bytes);
  // Each piece its own SSL_write (TLS record) / send(), with `gap` between them, so the server
  // sees separate read events.
  Status send_in_records(const std::vector<std::string>& pieces, Millis gap);

  // -- reading --
  // The next complete SIP message (keep-alive CRLFs before it are skipped). Bytes after it stay
  // buffered. Errors: timeout, connection closed, framing error (all say what was buffered).
  Result<std::string> read_message(Millis timeout);
  // read_message() + SipMessage::parse().
  Result<SipMessage> read_reply(Millis timeout);
  // Exactly n bytes (e.g. a "\r\n" pong).
  Result<std::string> read_bytes(size_t n, Millis timeout);
  // True if nothing is buffered and no byte arrives within `quiet`, and the peer did not close.
  bool expect_nothing(Millis quiet);
  // True once the peer closed (close_notify, EOF, reset, TLS alert) within `timeout`; bytes
  // that arrive first are kept for read_*().
  bool wait_closed(Millis timeout);
  bool closed() const { return closed_; }
  // How the peer closed: "close_notify", "EOF", "EOF without close_notify", "connection reset",
  // "TLS error: ...". Empty while open.
  const std::string& close_reason() const { return close_reason_; }
  size_t buffered() const { return rx_.size(); }

  // -- closing --
  void close();  // TLS: send close_notify (not waiting for the peer's); then close the socket
  void reset();  // abortive close: RST (SO_LINGER 0), no close_notify

  // -- the connection --
  bool is_tls() const { return ssl_ != nullptr; }
  std::string transport() const { return is_tls() ? "TLS" : "TCP"; }
  const std::string& local_ip() const { return local_ip_; }
  uint16_t local_port() const { return local_port_; }
  const std::string& peer_ip() const { return peer_ip_; }
  uint16_t peer_port() const { return peer_port_; }
  int fd() const { return fd_; }
  void set_io_timeout(Millis t) { io_timeout_ = t; }
  Millis io_timeout() const { return io_timeout_; }

  // -- TLS details ("" / false / null over TCP) --
  std::string tls_version() const;  // "TLSv1.3"
  std::string cipher() const;       // "TLS_AES_256_GCM_SHA384"
  bool session_reused() const;
  // The session to resume later. TLS 1.3 tickets arrive after the handshake, so this reads (up
  // to `wait`, keeping any data) until the server's ticket has been processed. Null if none.
  SslSessionPtr session(Millis wait = Millis(1000));
  X509Ptr peer_certificate() const;
  int peer_key_type() const;         // EVP_PKEY_EC, EVP_PKEY_RSA, …; 0 without a certificate
  std::string peer_subject() const;  // one line, "CN = localhost"
  long verify_result() const;        // X509_V_OK when verified (or not verifying)

  // -- requests from this connection --
  // A request per `spec` (OPTIONS by default) with a Via for this connection:
  // SIP/2.0/<TLS|TCP> <local ip>:<local port>;branch=z9hG4bK...;rport
  SipRequest make_options(const SipRequestSpec& spec = {}) const;
  SipHop hop() const;

 private:
  enum class Io { kData, kTimeout, kClosed, kFull };
  using Clock = std::chrono::steady_clock;

  SipTestClient();
  static Result<Ptr> connect_socket(const std::string& ip, uint16_t port,
                                    const std::string& local_ip, int receive_buffer,
                                    Clock::time_point deadline);
  Status handshake(const TlsClientOptions& o, Clock::time_point deadline);
  // Reads what is available (waiting up to deadline for the first byte) into rx_, or into the
  // void when `keep` is false.
  Io fill(Clock::time_point deadline, bool keep = true);
  Status write_all(std::string_view bytes, Clock::time_point deadline);
  void mark_closed(std::string reason);
  bool wait_io(short events, Clock::time_point deadline) const;
  std::string describe_buffer() const;
  static int on_new_session(SSL* ssl, SSL_SESSION* session);

  int fd_ = -1;
  SslCtxPtr ctx_;
  SslPtr ssl_;
  bool tls_failed_ = false;  // no SSL_shutdown after a fatal TLS error
  std::string rx_;           // received, not yet consumed
  StreamFramer framer_;
  bool closed_ = false;
  std::string close_reason_;
  std::string local_ip_, peer_ip_;
  uint16_t local_port_ = 0, peer_port_ = 0;
  Millis io_timeout_{5000};
  SslSessionPtr last_session_;  // from the new-session callback
};

}  // namespace sipsd::test
