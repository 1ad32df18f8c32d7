#include "tests/integration/test_endpoint.h"

#include "tests/integration/sipsd_server.h"

namespace sipsd::test {

namespace {

class UdpEndpoint final : public TestEndpoint {
 public:
  UdpEndpoint(std::unique_ptr<UdpPeer> p, uint16_t server_port)
      : p_(std::move(p)), server_port_(server_port) {}
  Status send(std::string_view bytes) override {
    return p_->send_to("127.0.0.1", server_port_, bytes);
  }
  Result<SipMessage> recv(Millis timeout) override { return p_->recv_message(timeout); }
  bool nothing_within(Millis quiet) override { return p_->expect_nothing(quiet); }
  SipHop hop() const override { return p_->hop("127.0.0.1", server_port_); }

 private:
  std::unique_ptr<UdpPeer> p_;
  uint16_t server_port_;
};

class StreamEndpoint final : public TestEndpoint {
 public:
  explicit StreamEndpoint(SipTestClient::Ptr c) : c_(std::move(c)) {}
  Status send(std::string_view bytes) override { return c_->send(bytes); }
  Result<SipMessage> recv(Millis timeout) override { return c_->read_reply(timeout); }
  bool nothing_within(Millis quiet) override { return c_->expect_nothing(quiet); }
  SipHop hop() const override { return c_->hop(); }

 private:
  SipTestClient::Ptr c_;
};

}  // namespace

Result<std::unique_ptr<TestEndpoint>> TestEndpoint::udp(const SipsdServer& srv) {
  auto p = UdpPeer::bind();
  if (!p.ok()) return p.error();
  return std::unique_ptr<TestEndpoint>(new UdpEndpoint(std::move(p).value(), srv.udp_port()));
}

namespace {

// A phone's connection is in use once the server has answered on it (as after a REGISTER):
// before that, the server may not have taken it from the listen queue yet.
Result<std::unique_ptr<TestEndpoint>> stream_endpoint(Result<SipTestClient::Ptr> c) {
  if (!c.ok()) return c.error();
  if (options_status(**c) != 200) return make_error("the server did not answer an OPTIONS");
  return std::unique_ptr<TestEndpoint>(new StreamEndpoint(std::move(c).value()));
}

}  // namespace

Result<std::unique_ptr<TestEndpoint>> TestEndpoint::tcp(const SipsdServer& srv) {
  return stream_endpoint(SipTestClient::connect_tcp("127.0.0.1", srv.tcp_port()));
}

Result<std::unique_ptr<TestEndpoint>> TestEndpoint::tls(const SipsdServer& srv) {
  return stream_endpoint(
      SipTestClient::connect_tls("127.0.0.1", srv.tls_port(), default_tls_options()));
}

Result<SipMessage> TestEndpoint::recv_final_or_ringing(Millis timeout) {
  for (int i = 0; i < 5; ++i) {
    Result<SipMessage> m = recv(timeout);
    if (!m.ok() || m->status() != 100) return m;
  }
  return make_error("only 100 Trying replies");
}

std::string TestEndpoint::uri(const std::string& user) const {
  SipHop h = hop();
  std::string t = h.transport;
  for (char& c : t) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
  return "sip:" + user + "@" + h.local_ip + ":" + std::to_string(h.local_port) + ";transport=" + t;
}

}  // namespace sipsd::test
