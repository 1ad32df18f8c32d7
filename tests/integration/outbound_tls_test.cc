// Outbound TLS (the client side routing will use): SNI is sent, the server's certificate must
// name the host we meant to reach. Driven in-process through start_outbound() on a real event
// loop, against `openssl s_server`.
#include <gtest/gtest.h>

#include <chrono>

#include "core/base/event_ptr.h"
#include "core/shm/shm_region.h"
#include "proto_tls/outbound_table.h"
#include "proto_tls/tls_connector.h"
#include "tests/integration/openssl_server.h"
#include "tests/integration/sip_test_client.h"
#include "tests/integration/sipsd_server.h"
#include "tests/integration/test_env.h"
#include "tls_mgm/client_tls_contexts.h"
#include "tls_mgm/ip_key.h"
#include "tls_mgm/ssl_ctx_builder.h"
#include "tls_mgm/tls_domain_config.h"
#include "tls_mgm/tls_loader.h"

namespace sipsd::test {
namespace {

using namespace std::chrono_literals;

class Owner final : public StreamConnOwner {
 public:
  void on_message(StreamConn&, char* data, size_t len) override {
    messages.emplace_back(data, len);
  }
  void on_closed(StreamConn&) override { closed = true; }
  bool closed = false;
  std::vector<std::string> messages;
};

// The TLS snapshot of a cfg's tls_mgm lines, exactly as the supervisor loads it.
Result<tls::TlsSnapshot> snapshot_of(const std::string& tls_mgm_lines) {
  std::string text =
      "socket=tcp:127.0.0.1:0\nloadmodule \"proto_tcp.so\"\nloadmodule \"tls_mgm.so\"\n" +
      tls_mgm_lines;
  auto cfg = load_config_text(text, "outbound.cfg");
  if (!cfg.ok()) return cfg.error();
  std::vector<std::string> warnings;
  auto domains = parse_tls_domains(*cfg, &warnings);
  if (!domains.ok()) return domains.error();
  return load_tls_snapshot(*domains, &warnings);
}

class OutboundTls : public ::testing::Test {
 protected:
  void SetUp() override {
    auto shm = ShmRegion::create(ShmRegion::Layout{});
    ASSERT_TRUE(shm.ok());
    shm_ = std::move(shm).value();
    base_.reset(event_base_new());
    scratch_.buf.resize(70000);
    auto snap = snapshot_of(
        "modparam(\"tls_mgm\", \"client_domain\", \"peer\")\n"
        "modparam(\"tls_mgm\", \"ca_list\", \"[peer]" +
        test_cert("ca.pem") + "\")\n");
    ASSERT_TRUE(snap.ok()) << snap.message();
    ASSERT_EQ(snap->client_domains_size(), 1);
    auto ctx = build_client_ctx(snap->client_domains(0));
    ASSERT_TRUE(ctx.ok()) << ctx.message();
    ctx_ = std::move(ctx).value();
  }

  // Connects and runs the loop until the handshake is done or the connection closed.
  bool connect(uint16_t port, const std::string& server_name) {
    StreamConnContext ctx{base_.get(), &owner_, &scratch_, shm_->conn_table(), 1,
                          shm_->conn_index()};
    OutboundTarget t;
    t.ip = "127.0.0.1";
    t.port = port;
    t.server_name = server_name;
    auto conn = start_outbound(ctx, params_, t, ctx_.get(), 0x80000001, nullptr);
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

// Client domains: the one chosen by SIP domain presents its certificate to a server that
// requires one; another domain to the same peer gets its own connection.
TEST(OutboundDomains, ClientDomainChoosesTheCertificateAndReuseFollowsTheDomain) {
  auto param = [](const std::string& n, const std::string& v) {
    return "modparam(\"tls_mgm\", \"" + n + "\", \"" + v + "\")\n";
  };
  // The peer: sipsd serving sip.example.com, client certificates from ca.pem required.
  SipsdOptions so;
  so.tls_domain = {param("certificate", "[default]" + test_cert("sip-example.pem")),
                   param("private_key", "[default]" + test_cert("sip-example-key.pem")),
                   param("ca_list", "[default]" + test_cert("ca.pem")),
                   param("verify_cert", "[default]1"), param("require_cert", "[default]1")};
  for (auto& l : so.tls_domain) l.pop_back();  // no trailing newline in the harness lines
  auto srv = SipsdServer::start(so);
  ASSERT_TRUE(srv.ok()) << srv.message();

  // Our side: "alice" (client certificate) for sip.example.com, "anon" (none) for the rest.
  auto snap = snapshot_of(
      param("client_domain", "alice") + param("certificate", "[alice]" + test_cert("client.pem")) +
      param("private_key", "[alice]" + test_cert("client-key.pem")) +
      param("ca_list", "[alice]" + test_cert("ca.pem")) +
      param("match_sip_domain", "[alice]sip.example.com") + param("client_domain", "anon") +
      param("ca_list", "[anon]" + test_cert("ca.pem")));
  ASSERT_TRUE(snap.ok()) << snap.message();
  auto clients = ClientTlsContexts::build(*snap);
  ASSERT_TRUE(clients.ok()) << clients.message();

  std::string dest = *ip_port_key("127.0.0.1", (*srv)->tls_port());
  int alice = (*clients)->select("", dest, "sip.example.com");
  int anon = (*clients)->select("", dest, "other.example.com");
  ASSERT_GE(alice, 0);
  ASSERT_GE(anon, 0);
  EXPECT_EQ((*clients)->name(alice), "alice");
  EXPECT_EQ((*clients)->name(anon), "anon");
  EXPECT_EQ((*clients)->select("anon", dest, "sip.example.com"), anon);  // by name first

  ShmRegion::Layout layout;
  layout.conn_capacity = 8;
  auto shm = ShmRegion::create(layout);
  ASSERT_TRUE(shm.ok());
  EventBasePtr base(event_base_new());
  ReadScratch scratch;
  scratch.buf.resize(70000);
  StreamConnParams params;
  Owner owner;
  StreamConnContext ctx{base.get(), &owner, &scratch, (*shm)->conn_table(), 1,
                        (*shm)->conn_index()};
  auto run_until = [&](auto pred) {
    auto deadline = std::chrono::steady_clock::now() + 5s;
    while (!pred() && std::chrono::steady_clock::now() < deadline) {
      struct timeval tv = {0, 10000};
      event_base_loopexit(base.get(), &tv);
      event_base_dispatch(base.get());
    }
  };
  OutboundTarget target{Proto::kTls, "127.0.0.1", (*srv)->tls_port(), "sip.example.com"};

  // alice: handshake, then a request answered over the connection.
  auto c1 = start_outbound(ctx, params, target, (*clients)->ctx(alice), 0x80000011, nullptr);
  ASSERT_TRUE(c1.ok()) << c1.message();
  ASSERT_TRUE((*c1)->start().ok());
  run_until([&] { return (*c1)->established() || owner.closed; });
  ASSERT_TRUE((*c1)->established());
  SipHop hop{"TLS", "127.0.0.1", 5999, "127.0.0.1", (*srv)->tls_port()};
  (*c1)->send(build_sip_request({}, hop).text);
  run_until([&] { return !owner.messages.empty() || owner.closed; });
  ASSERT_EQ(owner.messages.size(), 1u);
  EXPECT_EQ(owner.messages[0].rfind("SIP/2.0 200 OK", 0), 0u) << owner.messages[0];

  // anon has no certificate: the peer refuses it (after the TLS 1.3 handshake, on first use).
  auto c2 = start_outbound(ctx, params, target, (*clients)->ctx(anon), 0x80000012, nullptr);
  ASSERT_TRUE(c2.ok()) << c2.message();
  ASSERT_TRUE((*c2)->start().ok());
  owner.closed = false;
  run_until([&] { return (*c2)->established() || owner.closed; });
  if (!owner.closed) {
    (*c2)->send(build_sip_request({}, hop).text);
    run_until([&] { return owner.closed; });
  }
  EXPECT_TRUE(owner.closed);
  EXPECT_EQ(owner.messages.size(), 1u);

  // Reuse: only with the same client domain, unless the check is off (OpenSIPS's default).
  OutboundTable strict(/*check_domain=*/true), loose(/*check_domain=*/false);
  strict.add(dest, alice, c1->get());
  loose.add(dest, alice, c1->get());
  EXPECT_EQ(strict.find(dest, alice), c1->get());
  EXPECT_EQ(strict.find(dest, anon), nullptr);
  EXPECT_EQ(loose.find(dest, anon), c1->get());
  (*c1)->close("test done", LogLevel::kDebug);
  EXPECT_EQ(strict.find(dest, alice), nullptr);  // closed connections are never handed out
  strict.remove(c1->get());
  EXPECT_EQ(strict.size(), 0u);
}

}  // namespace
}  // namespace sipsd::test
