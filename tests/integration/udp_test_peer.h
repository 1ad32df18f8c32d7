// UdpPeer: a UDP SIP endpoint for integration tests (a phone, a UAS, a downstream proxy): one
// bound socket, blocking calls bounded by their timeouts (poll with a deadline), so a test can
// fail but never hang.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "core/base/result.h"
#include "tests/integration/sip_test_client.h"

namespace sipsd::test {

class UdpPeer {
 public:
  using Millis = std::chrono::milliseconds;

  // Bound to ip:port (port 0: an ephemeral one).
  static Result<std::unique_ptr<UdpPeer>> bind(const std::string& ip = "127.0.0.1",
                                               uint16_t port = 0);
  ~UdpPeer();
  UdpPeer(const UdpPeer&) = delete;
  UdpPeer& operator=(const UdpPeer&) = delete;

  Status send_to(const std::string& ip, uint16_t port, std::string_view bytes);

  struct Datagram {
    std::string data;
    std::string from_ip;
    uint16_t from_port = 0;
  };
  Result<Datagram> recv(Millis timeout);
  // recv() + SipMessage::parse(); *from gets the sender when given.
  Result<SipMessage> recv_message(Millis timeout, Datagram* from = nullptr);
  // True if no datagram arrives within `quiet`.
  bool expect_nothing(Millis quiet);

  const std::string& local_ip() const { return local_ip_; }
  uint16_t local_port() const { return local_port_; }
  // A hop description for build_sip_request() (Via: SIP/2.0/UDP local ip:port).
  SipHop hop(const std::string& peer_ip, uint16_t peer_port) const;

 private:
  UdpPeer() = default;

  int fd_ = -1;
  std::string local_ip_;
  uint16_t local_port_ = 0;
};

}  // namespace sipsd::test
