// SipChannel: one SIP transport endpoint of call mode on a worker's event loop — a TCP/TLS
// connection (to the proxy, or accepted by a listening callee) cut into messages by the stream
// framer, or a UDP socket (one datagram = one message). Every message received is parsed in
// place (sipsd's parser) and handed to the owner's ChannelHandler with its source address;
// send() queues and writes (stream) or sends one datagram. A channel never destroys itself:
// after on_broken() it is closed, and its owner frees it outside the callback.
#pragma once

#include <netinet/in.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "bench/sipsbench/loop_stream.h"
#include "bench/sipsbench/options.h"
#include "core/base/event_ptr.h"
#include "core/base/unique_fd.h"
#include "core/sip/message.h"
#include "proto_tls/stream_framer.h"

namespace sipsd::bench {

class SipChannel;

// IP (dotted quad) and port as a sockaddr_in.
sockaddr_in ipv4_addr(const std::string& ip, uint16_t port);

class ChannelHandler {
 public:
  // The connection is open (TCP connected, TLS handshake done; UDP: at once).
  virtual void channel_open(SipChannel&) {}
  // A message parsed without error; `from` is the sender (the peer, for a stream).
  virtual void channel_message(SipChannel& ch, sip::Message& msg, const sockaddr_in& from) = 0;
  // An error the channel survives: bytes that are not a valid SIP message, a UDP socket error
  // (e.g. the ICMP "port unreachable" of a connected socket).
  virtual void channel_error(SipChannel& ch, const std::string& why) = 0;
  // The stream failed or closed; the channel is closed now (never for UDP).
  virtual void channel_broken(SipChannel& ch, const std::string& why) = 0;

 protected:
  ~ChannelHandler() = default;
};

class SipChannel {
 public:
  SipChannel(event_base* base, ChannelHandler& handler, int owner_index);
  ~SipChannel() { close(); }
  SipChannel(const SipChannel&) = delete;
  SipChannel& operator=(const SipChannel&) = delete;

  // A TCP/TLS connection to --target (ctx null: TCP).
  Status connect_stream(const Options& options, SSL_CTX* client_ctx);
  // An accepted connection (server_ctx null: TCP).
  Status adopt_stream(int fd, SSL_CTX* server_ctx);
  // A UDP socket bound to `local` (port 0: any), connected to `peer` unless it is null.
  Status open_udp(const sockaddr_in& local, const sockaddr_in* peer);

  // Sends one message: stream: queued and written as far as the socket takes it; UDP: one
  // datagram to `to`, or to the connected peer when `to` is null. False when it could not be
  // sent (the stream broke: channel_broken() was called; UDP: the datagram was dropped).
  bool send(std::string_view msg, const sockaddr_in* to = nullptr);
  void close();

  bool is_open() const { return open_; }
  bool closed() const { return closed_; }
  Transport transport() const { return transport_; }
  int owner_index() const { return owner_index_; }
  // The local address (after the connect / bind).
  const std::string& local_ip() const { return local_ip_; }
  uint16_t local_port() const { return local_port_; }
  // Writes pending (stream) when the socket would block.
  size_t queued() const { return out_.size() - out_off_; }

 private:
  static void stream_cb(evutil_socket_t, short, void* arg);
  static void udp_cb(evutil_socket_t, short, void* arg);
  void on_stream_io();
  void on_udp_readable();
  void stream_opened();
  bool flush();
  bool read_stream();
  void deliver(char* data, size_t len, const sockaddr_in& from);
  void broken(const std::string& why);
  void note_local();

  event_base* base_;
  ChannelHandler& handler_;
  const int owner_index_;
  Transport transport_ = Transport::kTcp;
  bool open_ = false;
  bool closed_ = false;
  std::string local_ip_;
  uint16_t local_port_ = 0;
  sockaddr_in peer_{};
  // Stream.
  LoopStream stream_;
  std::string out_;
  size_t out_off_ = 0;
  std::vector<char> in_;
  size_t in_off_ = 0;
  size_t in_len_ = 0;
  StreamFramer framer_;
  // UDP.
  UniqueFd udp_fd_;
  EventPtr udp_ev_;
  bool udp_connected_ = false;
  sip::Message msg_;
};

}  // namespace sipsd::bench
