// TestEndpoint: one SIP phone of a proxy test, over UDP (a bound socket that talks to sipsd's
// UDP listener) or over TCP/TLS (a connection to sipsd, which the proxy also uses to reach the
// phone — the NAT'd phone case). Calls are bounded by their timeouts.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "core/base/result.h"
#include "tests/integration/sip_test_client.h"
#include "tests/integration/udp_test_peer.h"

namespace sipsd::test {

class SipsdServer;

class TestEndpoint {
 public:
  using Millis = std::chrono::milliseconds;
  virtual ~TestEndpoint() = default;

  // "UDP", "TCP" or "TLS" endpoints connected to (or talking to) `srv`. A TCP/TLS one has had
  // an OPTIONS answered on its connection (the cfg must answer OPTIONS to the server itself).
  static Result<std::unique_ptr<TestEndpoint>> udp(const SipsdServer& srv);
  static Result<std::unique_ptr<TestEndpoint>> tcp(const SipsdServer& srv);
  static Result<std::unique_ptr<TestEndpoint>> tls(const SipsdServer& srv);

  virtual Status send(std::string_view bytes) = 0;
  virtual Result<SipMessage> recv(Millis timeout) = 0;
  // Receives until something that is not a 100 (the proxy's own Trying).
  Result<SipMessage> recv_final_or_ringing(Millis timeout);
  virtual bool nothing_within(Millis quiet) = 0;
  virtual SipHop hop() const = 0;
  // sip:<user>@ip:port;transport=... : where the proxy reaches this endpoint.
  std::string uri(const std::string& user) const;
};

}  // namespace sipsd::test
