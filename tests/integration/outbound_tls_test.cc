// Outbound TLS (the client side routing will use): SNI is sent, the server's certificate must
// name the host we meant to reach. Driven in-process through start_outbound() on a real event
// loop, against `openssl s_server`.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>

#include "core/base/event_ptr.h"
#include "core/base/process_context.h"
#include "core/base/unique_fd.h"
#include "core/shm/shm_region.h"
#include "core/shm/stats.h"
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

// What this process logs (StreamConn's close line names the reason) while the object lives:
// stderr goes to a temporary file and comes back when the object goes away.
class StderrCapture {
 public:
  StderrCapture() : saved_(dup(STDERR_FILENO)), file_(tmpfile()) {
    fflush(stderr);
    if (file_ != nullptr) dup2(fileno(file_), STDERR_FILENO);
  }
  ~StderrCapture() {
    restore();
    if (file_ != nullptr) fclose(file_);
  }
  // Restores stderr and returns everything written meanwhile.
  std::string finish() {
    restore();
    std::string out;
    if (file_ == nullptr) return out;
    rewind(file_);
    char buf[4096];
    for (size_t n; (n = fread(buf, 1, sizeof buf, file_)) > 0;) out.append(buf, n);
    return out;
  }

 private:
  void restore() {
    if (saved_.get() < 0) return;
    fflush(stderr);
    dup2(saved_.get(), STDERR_FILENO);
    saved_.reset();
  }
  UniqueFd saved_;
  FILE* file_;
};

// A loopback port that refuses connections: bound, never listened on, and kept bound (so nobody
// else can start listening there meanwhile).
UniqueFd refusing_port(uint16_t* port) {
  UniqueFd fd(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  struct sockaddr_in a = {};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (!fd || bind(fd.get(), reinterpret_cast<struct sockaddr*>(&a), sizeof a) != 0 ||
      getsockname(fd.get(), reinterpret_cast<struct sockaddr*>(&a), &len) != 0)
    return UniqueFd();
  *port = ntohs(a.sin_port);
  return fd;
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
    // The connections count into stats_ (this process has no shm statistics slot).
    saved_stats_ = process_context().stats;
    process_context().stats = &stats_;
  }
  void TearDown() override { process_context().stats = saved_stats_; }

  struct Outcome {
    bool established = false;
    bool closed = false;                  // closed by itself (not by the test)
    std::chrono::milliseconds elapsed{};  // start() to established or closed (or to giving up)
    std::string log;                      // what the connection logged; its close line says why
  };

  // Connects and runs the loop until the handshake is done, the connection closed, or `limit`
  // passed (longer than the connection's own deadline, tcp_max_msg_time, so that it is the
  // connection that gives up first).
  Outcome connect(uint16_t port, const std::string& server_name) {
    Outcome out;
    StreamConnContext ctx{base_.get(),        &owner_, &scratch_,
                          shm_->conn_table(), 1,       shm_->conn_index()};
    OutboundTarget t;
    t.ip = "127.0.0.1";
    t.port = port;
    t.server_name = server_name;
    auto conn = start_outbound(ctx, params_, t, ctx_.get(), kConnId, nullptr);
    EXPECT_TRUE(conn.ok()) << conn.message();
    if (!conn.ok()) return out;
    owner_.closed = false;
    StderrCapture capture;
    auto start = std::chrono::steady_clock::now();
    EXPECT_TRUE((*conn)->start().ok());
    auto limit = std::chrono::milliseconds(params_.handshake_timeout_ms) + 2s;
    while (!(*conn)->established() && !owner_.closed &&
           std::chrono::steady_clock::now() - start < limit) {
      struct timeval tv = {0, 10000};
      event_base_loopexit(base_.get(), &tv);
      event_base_dispatch(base_.get());
    }
    out.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - start);
    out.established = (*conn)->established() && !owner_.closed;
    out.closed = owner_.closed;
    if (!owner_.closed) (*conn)->close("test done", LogLevel::kDebug);
    out.log = capture.finish();
    return out;
  }

  uint64_t tls_stat(TStat t) const { return stats_.get(tstat(Proto::kTls, t)); }

  static constexpr uint32_t kConnId = 0x80000001;  // "(id 2147483649)" in the log
  std::unique_ptr<ShmRegion> shm_;
  EventBasePtr base_;
  ReadScratch scratch_;
  StreamConnParams params_;
  Owner owner_;
  SslCtxPtr ctx_;
  ProcStats stats_{};
  ProcStats* saved_stats_ = nullptr;
};

TEST_F(OutboundTls, HostNameThatMatchesTheCertificateIsAccepted) {
  auto server = start_s_server({}, test_cert("sip-example.pem"), test_cert("sip-example-key.pem"));
  ASSERT_TRUE(server.ok()) << server.message();
  Outcome o = connect(server->port, "sip.example.com");
  EXPECT_TRUE(o.established) << o.log;
  EXPECT_EQ(tls_stat(TStat::kHandshakesOk), 1u);
}

// The refusal must be the name check, not any failure: the same server is first reached under
// the name its certificate holds (the positive twin), then under another name, then by address.
TEST_F(OutboundTls, HostNameMismatchIsRefused) {
  auto server = start_s_server({}, test_cert("sip-example.pem"), test_cert("sip-example-key.pem"));
  ASSERT_TRUE(server.ok()) << server.message();
  Outcome right = connect(server->port, "sip.example.com");
  ASSERT_TRUE(right.established) << "the server cannot be reached at all:\n" << right.log;

  Outcome wrong = connect(server->port, "other.example.com");
  EXPECT_FALSE(wrong.established);
  ASSERT_TRUE(wrong.closed) << wrong.log;
  const std::string closed_line =
      "tls:127.0.0.1:" + std::to_string(server->port) + " (id 2147483649): closed: ";
  EXPECT_NE(wrong.log.find(closed_line + "TLS handshake failed: handshake: "), std::string::npos)
      << wrong.log;
  EXPECT_NE(wrong.log.find("certificate verify failed"), std::string::npos) << wrong.log;
  EXPECT_NE(wrong.log.find("(peer certificate: hostname mismatch)"), std::string::npos)
      << wrong.log;
  EXPECT_EQ(tls_stat(TStat::kVerifyFailed), 1u);

  // No name: the certificate must then name the address, and this one does not.
  Outcome by_address = connect(server->port, "");
  EXPECT_FALSE(by_address.established);
  ASSERT_TRUE(by_address.closed) << by_address.log;
  EXPECT_NE(by_address.log.find("(peer certificate: IP address mismatch)"), std::string::npos)
      << by_address.log;
  EXPECT_EQ(tls_stat(TStat::kVerifyFailed), 2u);
  EXPECT_EQ(tls_stat(TStat::kHandshakesFailed), 2u);
  EXPECT_EQ(tls_stat(TStat::kHandshakesOk), 1u);  // the twin only
}

TEST_F(OutboundTls, SniIsSent) {
  // The server presents other.example.com only to a client that asks for it by SNI; without
  // SNI it would present sip.example.com and the name check would fail.
  auto server =
      start_s_server({"-servername", "other.example.com", "-cert2", test_cert("other-example.pem"),
                      "-key2", test_cert("other-example-key.pem")},
                     test_cert("sip-example.pem"), test_cert("sip-example-key.pem"));
  ASSERT_TRUE(server.ok()) << server.message();
  Outcome o = connect(server->port, "other.example.com");
  EXPECT_TRUE(o.established) << o.log;
}

TEST_F(OutboundTls, AddressTargetsAreCheckedAgainstTheCertificatesIp) {
  auto server = start_s_server();  // cert.pem: SAN IP:127.0.0.1
  ASSERT_TRUE(server.ok()) << server.message();
  Outcome o = connect(server->port, "");
  EXPECT_TRUE(o.established) << o.log;
}

// A refused connect closes the connection at once, saying so; a connection that hung until its
// deadline (tcp_max_msg_time) would close with "not completed within ... ms" instead, and late.
TEST_F(OutboundTls, ConnectionRefusedIsReportedNotHung) {
  uint16_t port = 0;
  UniqueFd refusing = refusing_port(&port);
  ASSERT_TRUE(refusing) << strerror(errno);
  params_.handshake_timeout_ms = 4000;
  Outcome o = connect(port, "sip.example.com");
  EXPECT_FALSE(o.established);
  ASSERT_TRUE(o.closed) << "still not closed after " << o.elapsed.count() << " ms:\n" << o.log;
  EXPECT_LT(o.elapsed.count(), params_.handshake_timeout_ms / 2)
      << "closed by the deadline, not by the refusal:\n"
      << o.log;
  EXPECT_NE(o.log.find("tls:127.0.0.1:" + std::to_string(port) +
                       " (id 2147483649): closed: connect failed: Connection refused"),
            std::string::npos)
      << o.log;
  EXPECT_EQ(tls_stat(TStat::kConnectsFailed), 1u);
  EXPECT_EQ(tls_stat(TStat::kHandshakeTimeouts), 0u);
  EXPECT_EQ(shm_->conn_table().count_in_use(), 0u) << "the table slot was not released";
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
  StreamConnContext ctx{base.get(),           &owner, &scratch,
                        (*shm)->conn_table(), 1,      (*shm)->conn_index()};
  auto run_until = [&](auto pred) {
    auto deadline = std::chrono::steady_clock::now() + 5s;
    while (!pred() && std::chrono::steady_clock::now() < deadline) {
      struct timeval tv = {0, 10000};
      event_base_loopexit(base.get(), &tv);
      event_base_dispatch(base.get());
    }
  };
  OutboundTarget target{Proto::kTls, "127.0.0.1", (*srv)->tls_port(), "sip.example.com", ""};

  // alice: handshake, then a request answered over the connection.
  target.client_domain = (*clients)->name(alice);
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
  target.client_domain = (*clients)->name(anon);
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

  // Reuse (cert_check_on_conn_reusage): the connection is published in the shared index with
  // the client domain it was made with; a message for another client domain does not ride it,
  // one for any domain does when the check is off (OpenSIPS's default).
  std::optional<ConnEndpoint> key = ConnEndpoint::parse(Proto::kTls, "127.0.0.1", target.port);
  ASSERT_TRUE(key.has_value());
  ConnIndex index = (*shm)->conn_index();
  auto strict_alice = index.find(*key, (*clients)->name(alice));
  ASSERT_TRUE(strict_alice.has_value());
  EXPECT_EQ(strict_alice->info.id, 0x80000011u);
  EXPECT_EQ(std::string(strict_alice->info.tls_domain), (*clients)->name(alice));
  EXPECT_FALSE(index.find(*key, (*clients)->name(anon)).has_value());
  EXPECT_TRUE(index.find(*key).has_value());
  (*c1)->close("test done", LogLevel::kDebug);
  EXPECT_FALSE(index.find(*key).has_value());  // closed connections are never handed out

  // A connection still connecting is found for its client domain at once, so that a second
  // request to the peer queues on it instead of opening another connection.
  target.client_domain = (*clients)->name(alice);
  auto c3 = start_outbound(ctx, params, target, (*clients)->ctx(alice), 0x80000013, nullptr);
  ASSERT_TRUE(c3.ok()) << c3.message();
  ASSERT_TRUE((*c3)->start().ok());
  ASSERT_FALSE((*c3)->established());
  auto connecting = index.find(*key, (*clients)->name(alice));
  ASSERT_TRUE(connecting.has_value()) << "the connecting connection is not found";
  EXPECT_EQ(connecting->info.id, 0x80000013u);
  EXPECT_FALSE(index.find(*key, (*clients)->name(anon)).has_value());
  (*c3)->close("test done", LogLevel::kDebug);
}

}  // namespace
}  // namespace sipsd::test
