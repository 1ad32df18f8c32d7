// UdpSocket: one socket of a UDP listener's SO_REUSEPORT group, in a worker. UDP workers read it
// (a batch of datagrams per wake-up, recvmmsg); every worker sends from it, so that what leaves
// over UDP carries the listener's address whichever worker sends it. Sends never block: a
// datagram the socket buffer cannot take is dropped and counted, as the network would.
#pragma once

#include <event2/event.h>
#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/event_ptr.h"
#include "core/base/unique_fd.h"
#include "proto_tls/output_batch.h"

namespace sipsd {

class UdpSocket;

class DatagramHandler {
 public:
  virtual ~DatagramHandler() = default;
  // One datagram, mutable in place, valid until this call returns.
  virtual void on_datagram(UdpSocket& socket, char* data, size_t len,
                           const struct sockaddr_storage& from) = 0;
};

class UdpSocket {
 public:
  static constexpr size_t kMaxDatagram = 65535;
  static constexpr int kBatch = 16;

  UdpSocket(UniqueFd fd, std::string ip, uint16_t port, int listener);
  ~UdpSocket();
  UdpSocket(const UdpSocket&) = delete;
  UdpSocket& operator=(const UdpSocket&) = delete;

  // Starts reading on `base`, handing each datagram to `handler`.
  // Stream output made for one batch of datagrams leaves together (`batch`, may be null).
  bool start_reading(struct event_base* base, DatagramHandler* handler,
                     OutputBatch* batch = nullptr);
  // Sends one datagram to ip:port (numeric). False with *error when it did not leave.
  bool send_to(std::string_view ip, uint16_t port, std::string_view bytes, std::string* error);

  const std::string& ip() const { return ip_; }
  uint16_t port() const { return port_; }
  int listener() const { return listener_; }
  bool is_ipv6() const { return ip_.find(':') != std::string::npos; }

 private:
  static void on_readable(evutil_socket_t, short, void* arg);
  void read_batch();

  UniqueFd fd_;
  std::string ip_;
  uint16_t port_;
  int listener_;
  DatagramHandler* handler_ = nullptr;
  OutputBatch* batch_ = nullptr;
  EventPtr read_ev_;
  std::unique_ptr<char[]> buffers_;  // kBatch × (kMaxDatagram + 1), allocated when reading
};

}  // namespace sipsd
