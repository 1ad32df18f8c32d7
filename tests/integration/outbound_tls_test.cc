// Outbound TLS (the client side routing will use): SNI is sent, the server's certificate must
// name the host we meant to reach. Driven in-process through start_outbound() on a real event
// loop, against `openssl s_server`.
#include <gtest/gtest.h>

#include <chrono>

#include "core/event_ptr.h"
#include "core/shm_region.h"
#include "proto_tls/tls_connector.h"
#include "tests/integration/openssl_server.h"
#include "tests/integration/test_env.h"
#include "tls_mgm/ssl_ctx_builder.h"
#include "tls_mgm/tls_domain_config.h"
#include "tls_mgm/tls_loader.h"

namespace sipsd::test {
namespace {

using namespace std::chrono_literals;

class Owner final : public StreamConnOwner {
 public:
  void on_message(StreamConn&, char*, size_t) override {}
  void on_closed(StreamConn&) override { closed = true; }
  bool closed = false;
};

class OutboundTls : public ::testing::Test {
 protected:
  void SetUp() override {
    auto shm = ShmRegion::create(ShmRegion::Layout{});
    ASSERT_TRUE(shm.ok());
    shm_ = std::move(shm).value();
    base_.reset(event_base_new());
    scratch_.buf.resize(70000);
    // A client domain exactly as a cfg declares one.
    std::string cfg_text =
        "socket=tcp:127.0.0.1:0\n"
        "loadmodule \"proto_tcp.so\"\n"
        "loadmodule \"tls_mgm.so\"\n"
        "modparam(\"tls_mgm\", \"client_domain\", \"peer\")\n"
        "modparam(\"tls_mgm\", \"ca_list\", \"[peer]" +
        test_cert("ca.pem") + "\")\n";
    auto cfg = load_config_text(cfg_text, "outbound.cfg");
    ASSERT_TRUE(cfg.ok()) << cfg.message();
    std::vector<std::string> warnings;
    auto domains = parse_tls_domains(*cfg, &warnings);
    ASSERT_TRUE(domains.ok()) << domains.message();
    auto snap = load_tls_snapshot(*domains, &warnings);
    ASSERT_TRUE(snap.ok()) << snap.message();
    ASSERT_EQ(snap->client_domains_size(), 1);
    auto ctx = build_client_ctx(snap->client_domains(0));
    ASSERT_TRUE(ctx.ok()) << ctx.message();
    ctx_ = std::move(ctx).value();
  }

  // Connects and runs the loop until the handshake is done or the connection closed.
  bool connect(uint16_t port, const std::string& server_name) {
    OutboundEnv env;
    env.base = base_.get();
    env.params = &params_;
    env.owner = &owner_;
    env.scratch = &scratch_;
    env.table = shm_->conn_table();
    env.owner_index = 1;
    OutboundTarget t;
    t.ip = "127.0.0.1";
    t.port = port;
    t.server_name = server_name;
    auto conn = start_outbound(env, t, ctx_.get(), 0x80000001, nullptr);
    EXPECT_TRUE(conn.ok()) << conn.message();
    if (!conn.ok()) return false;
    owner_.closed = false;
    EXPECT_TRUE((*conn)->start().ok());
    auto deadline = std::chrono::steady_clock::now() + 5s;
    while (!(*conn)->established() && !owner_.closed &&
           std::chrono::steady_clock::now() < deadline) {
      struct timeval tv = {0, 10000};
      event_base_loopexit(base_.get(), &tv);
      event_base_dispatch(base_.get());
    }
    bool ok = (*conn)->established() && !owner_.closed;
    if (!owner_.closed) (*conn)->close("test done", LogLevel::kDebug);
    return ok;
  }

  std::unique_ptr<ShmRegion> shm_;
  EventBasePtr base_;
  ReadScratch scratch_;
  StreamConnParams params_;
  Owner owner_;
  SslCtxPtr ctx_;
};

TEST_F(OutboundTls, HostNameThatMatchesTheCertificateIsAccepted) {
  auto server = start_s_server({}, test_cert("sip-example.pem"), test_cert("sip-example-key.pem"));
  ASSERT_TRUE(server.ok()) << server.message();
  EXPECT_TRUE(connect(server->port, "sip.example.com"));
}

TEST_F(OutboundTls, HostNameMismatchIsRefused) {
  auto server = start_s_server({}, test_cert("sip-example.pem"), test_cert("sip-example-key.pem"));
  ASSERT_TRUE(server.ok()) << server.message();
  EXPECT_FALSE(connect(server->port, "other.example.com"));
  // No name: the certificate must then name the address, and this one does not.
  auto again = start_s_server({}, test_cert("sip-example.pem"), test_cert("sip-example-key.pem"));
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(connect(again->port, ""));
}

TEST_F(OutboundTls, SniIsSent) {
  // The server presents other.example.com only to a client that asks for it by SNI; without
  // SNI it would present sip.example.com and the name check would fail.
  auto server =
      start_s_server({"-servername", "other.example.com", "-cert2", test_cert("other-example.pem"),
                      "-key2", test_cert("other-example-key.pem")},
                     test_cert("sip-example.pem"), test_cert("sip-example-key.pem"));
  ASSERT_TRUE(server.ok()) << server.message();
  EXPECT_TRUE(connect(server->port, "other.example.com"));
}

TEST_F(OutboundTls, AddressTargetsAreCheckedAgainstTheCertificatesIp) {
  auto server = start_s_server();  // cert.pem: SAN IP:127.0.0.1
  ASSERT_TRUE(server.ok()) << server.message();
  EXPECT_TRUE(connect(server->port, ""));
}

TEST_F(OutboundTls, ConnectionRefusedIsReportedNotHung) {
  uint16_t port = free_tcp_port();
  EXPECT_FALSE(connect(port, "sip.example.com"));
}

}  // namespace
}  // namespace sipsd::test
