// An attack suite against the real sipsd, each attack bounded in count and time: slowloris,
// fragmentation, Content-Length abuse, a CRLF flood, a connection flood, TLS abuse, mutated
// INVITEs, tls_reload under load and a killed worker. Every attack runs while a canary TLS
// connection is open on the same server, and each test checks afterwards that the canary lost
// nothing (its OPTIONS are answered on the same connection), that no worker died (except the one
// the test kills), and that the server's descriptors and open-connection gauges are back to their
// baseline.
//
// The longer versions of these runs (thousands of connections, minutes) belong in bench/.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "tests/integration/sip_test_client.h"
#include "tests/integration/sipsd_server.h"
#include "tests/integration/test_env.h"

namespace sipsd::test {
namespace {

using namespace std::chrono_literals;

size_t fd_count(pid_t pid) {
  std::error_code ec;
  size_t n = 0;
  for (auto it = std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec))
    ++n;
  return n;
}

class AttackSuite : public ::testing::Test {
 protected:
  void SetUp() override {
    SipsdOptions o;
    o.workers = 3;
    // The listen backlog of a deployment that expects bursts (OpenSIPS's default of 10 makes
    // the kernel drop the SYNs of a 400-connection burst, so the clients' connects straggle in
    // over many seconds of SYN retransmissions).
    o.globals = {"tcp_max_msg_time=2", "tcp_connection_lifetime=30", "tcp_max_connections=4096",
                 "tcp_socket_backlog=1024"};
    o.modparams = {"modparam(\"proto_tls\", \"tls_max_msg_chunks\", 4)"};
    auto srv = SipsdServer::start(o);
    ASSERT_TRUE(srv.ok()) << srv.message();
    srv_ = std::move(srv).value();
    auto c = SipTestClient::connect_tls("127.0.0.1", srv_->tls_port(), default_tls_options());
    ASSERT_TRUE(c.ok()) << c.message();
    canary_ = std::move(c).value();
    ASSERT_EQ(options_status(*canary_), 200);
    auto st = srv_->stats_until([](const ServerStats& s) { return s.open() == 1; });
    ASSERT_TRUE(st.ok()) << st.message();
    ASSERT_EQ(st->open(), 1u);
    pids_ = st->pids;
    baseline_fds_ = fds();
  }

  size_t fds() const {
    size_t n = 0;
    for (pid_t p : pids_)
      if (p > 0) n += fd_count(p);
    return n;
  }

  // The canary still answers on its own connection, and nothing else is left: only the
  // canary's connection is open, every process is the one that was there before (pids_) and
  // has the descriptors it had then.
  void expect_unharmed() {
    EXPECT_FALSE(canary_->closed()) << canary_->close_reason() << "\n" << srv_->log();
    EXPECT_EQ(options_status(*canary_), 200) << srv_->log();
    auto st = srv_->stats_until([](const ServerStats& s) { return s.open() == 1; }, 15s);
    ASSERT_TRUE(st.ok()) << st.message();
    EXPECT_EQ(st->open(), 1u) << srv_->log();
    ASSERT_EQ(st->pids.size(), pids_.size());
    for (size_t i = 0; i < pids_.size(); ++i)
      EXPECT_EQ(st->pids[i], pids_[i]) << "process " << i << " changed";
    // Descriptors drain as the workers notice the closes: wait (bounded) for the baseline.
    size_t now = fds();
    for (int i = 0; i < 100 && now != baseline_fds_; ++i) {
      std::this_thread::sleep_for(100ms);
      now = fds();
    }
    EXPECT_EQ(now, baseline_fds_) << "descriptors of sipsd's processes";
  }

  SipTestClient::Ptr tls_client() {
    auto c = SipTestClient::connect_tls("127.0.0.1", srv_->tls_port(), default_tls_options());
    EXPECT_TRUE(c.ok()) << c.message();
    return c.ok() ? std::move(c).value() : nullptr;
  }

  std::string options_text(SipTestClient& c) {
    SipRequestSpec spec;
    return build_sip_request(spec, c.hop()).text;
  }

  std::unique_ptr<SipsdServer> srv_;
  SipTestClient::Ptr canary_;
  std::vector<pid_t> pids_;
  size_t baseline_fds_ = 0;
};

// Slowloris: connections that start a request and never finish it are closed after
// tcp_max_msg_time, whatever they trickle in meanwhile.
TEST_F(AttackSuite, SlowlorisConnectionsAreCutOff) {
  std::vector<SipTestClient::Ptr> slow;
  for (int i = 0; i < 40; ++i) {
    auto c = tls_client();
    ASSERT_TRUE(c);
    ASSERT_TRUE(c->send("OPTIONS sip:x@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TLS 127.0.0.1").ok());
    slow.push_back(std::move(c));
  }
  for (int round = 0; round < 3; ++round) {  // a byte now and then, as slowloris does
    std::this_thread::sleep_for(300ms);
    for (auto& c : slow) (void)c->send("1");
  }
  EXPECT_EQ(options_status(*canary_), 200);  // answered while they hang on
  for (auto& c : slow) EXPECT_TRUE(c->wait_closed(10s)) << "a slowloris connection stayed open";
  expect_unharmed();
}

// Fragmentation: a request spread over more TLS records than tls_max_msg_chunks closes that
// connection only.
TEST_F(AttackSuite, FragmentedRequestsCloseOnlyTheirConnections) {
  for (int i = 0; i < 10; ++i) {
    auto c = tls_client();
    ASSERT_TRUE(c);
    std::string req = options_text(*c);
    std::vector<std::string> pieces;
    for (char ch : req.substr(0, 40)) pieces.emplace_back(1, ch);
    (void)c->send_in_records(pieces, 0ms);
    EXPECT_TRUE(c->wait_closed(10s));
  }
  expect_unharmed();
}

// Content-Length abuse: huge, negative, conflicting, and longer than what follows.
TEST_F(AttackSuite, ContentLengthAbuseIsRefused) {
  const char* const kHeaders[] = {"Content-Length: 99999999999", "Content-Length: -5",
                                  "Content-Length: 4\r\nContent-Length: 8", "Content-Length: 1000"};
  for (const char* h : kHeaders) {
    auto c = tls_client();
    ASSERT_TRUE(c);
    std::string msg =
        "INVITE sip:bob@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TLS 127.0.0.1:5999;branch=" +
        std::string("z9hG4bK") + unique_token() +
        "\r\nFrom: <sip:a@x>;tag=1\r\nTo: <sip:b@y>\r\nCall-ID: " + unique_token() +
        "\r\nCSeq: 1 INVITE\r\nMax-Forwards: 70\r\n" + h + "\r\n\r\nabcd";
    ASSERT_TRUE(c->send(msg).ok());
    // Either a 400 and then the close, or the close (never a 2xx, never a hang).
    auto r = c->read_reply(8s);
    if (r.ok()) {
      EXPECT_GE(r->status(), 400) << h;
    }
    EXPECT_TRUE(c->wait_closed(10s)) << h;
  }
  expect_unharmed();
}

// A CRLF flood: 256 KiB of keep-alives on one connection. It is answered or dropped; the
// server neither dies nor stalls the canary.
TEST_F(AttackSuite, CrlfFloodDoesNotHurtOthers) {
  auto c = tls_client();
  ASSERT_TRUE(c);
  std::string crlf;
  for (int i = 0; i < 64 * 1024; ++i) crlf += "\r\n\r\n";
  (void)c->send(crlf);
  EXPECT_EQ(options_status(*canary_), 200);
  c->close();
  expect_unharmed();
}

// A connection flood: 400 TCP connections to the TLS port that never send a ClientHello; the
// canary is answered while they are all open, and each is cut off by the handshake timeout.
// (It once failed under load: with the default backlog of 10 the connects took over 30 s of
// SYN retransmissions, and the idle canary reached tcp_connection_lifetime; see SetUp.)
TEST_F(AttackSuite, ConnectionFloodWithoutHandshakes) {
  std::vector<SipTestClient::Ptr> flood;
  for (int i = 0; i < 400; ++i) {
    auto c = SipTestClient::connect_tcp("127.0.0.1", srv_->tls_port(), 5000ms,
                                        "127.0.0." + std::to_string(2 + i % 8));
    ASSERT_TRUE(c.ok()) << c.message();
    flood.push_back(std::move(c).value());
  }
  // (A generous wait: the machine running the tests may be busy with other work.)
  EXPECT_EQ(options_status(*canary_, 10s), 200) << srv_->log();
  for (auto& c : flood) EXPECT_TRUE(c->wait_closed(15s));
  expect_unharmed();
}

// TLS abuse: bytes that are not TLS, a truncated ClientHello, and an SSLv2-style hello.
TEST_F(AttackSuite, NonTlsAndTruncatedHandshakesAreClosed) {
  const std::string kInputs[] = {
      std::string("GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
      std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11),  // a hello cut short
      std::string("\x80\x2e\x01\x00\x02\x00\x15\x00\x00\x00\x10", 11),  // SSLv2 framing
      std::string(4096, '\0')};
  for (const std::string& in : kInputs) {
    auto c = SipTestClient::connect_tcp("127.0.0.1", srv_->tls_port());
    ASSERT_TRUE(c.ok()) << c.message();
    (void)(*c)->send(in);
    EXPECT_TRUE((*c)->wait_closed(10s));
  }
  expect_unharmed();
}

// Mutated INVITEs: 300 of them over 10 connections. Each gets an answer or its connection is
// closed; no worker dies.
TEST_F(AttackSuite, MutatedInvitesKillNoWorker) {
  std::mt19937 rng(20261202);
  for (int conn = 0; conn < 10; ++conn) {
    auto c = tls_client();
    ASSERT_TRUE(c);
    SipRequestSpec spec;
    spec.method = "INVITE";
    spec.body = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n";
    for (int i = 0; i < 30 && !c->closed(); ++i) {
      std::string m = build_sip_request(spec, c->hop()).text;
      size_t header_end = m.find("\r\n\r\n");
      for (int k = 0; k < 3; ++k) {  // edits inside the header, where the parser works
        size_t at = rng() % header_end;
        switch (rng() % 3) {
          case 0:
            m[at] = static_cast<char>(rng());
            break;
          case 1:
            m.insert(at, std::string(1 + rng() % 40, ";,<>:\"@"[rng() % 7]));
            break;
          default:
            m.erase(at, 1 + rng() % 8);
            break;
        }
      }
      if (!c->send(m).ok()) break;
    }
    c->close();
  }
  expect_unharmed();
}

// tls_reload under load: while four clients keep OPTIONS going, MI tls_reload runs ten times;
// every request is answered on its own connection (none is lost or closed), each reload
// publishes a new generation, and the canary is unharmed.
TEST_F(AttackSuite, ReloadsUnderLoadLoseNothing) {
  std::vector<SipTestClient::Ptr> clients;
  for (int i = 0; i < 4; ++i) {
    auto c = tls_client();
    ASSERT_TRUE(c);
    clients.push_back(std::move(c));
  }
  int answered = 0, sent = 0, reloads = 0;
  for (int round = 0; round < 10; ++round) {
    auto reload = srv_->mi_result("tls_reload");
    ASSERT_TRUE(reload.ok()) << reload.message() << "\n" << srv_->log();
    ++reloads;
    for (int i = 0; i < 20; ++i) {
      for (auto& c : clients) {
        ++sent;
        if (options_status(*c) == 200) ++answered;
      }
    }
  }
  EXPECT_EQ(answered, sent) << srv_->log();
  for (auto& c : clients) EXPECT_FALSE(c->closed()) << c->close_reason();
  EXPECT_TRUE(srv_->wait_for_log("as generation " + std::to_string(reloads + 1), 2s))
      << srv_->log();
  for (auto& c : clients) c->close();
  expect_unharmed();
}

// kill -9 of a worker that does not own the canary: the canary keeps its connection, the
// worker is replaced, and the gauges count only what is open.
TEST_F(AttackSuite, KilledWorkerLosesOnlyItsOwnConnections) {
  auto st = srv_->stats();
  ASSERT_TRUE(st.ok()) << st.message();
  int canary_owner = 0;
  for (const MiConnection& c : st->connections) canary_owner = c.worker;
  ASSERT_GT(canary_owner, 0);
  pid_t victim = 0;
  std::vector<pid_t> workers = st->worker_pids();
  for (size_t i = 0; i < workers.size(); ++i)
    if (static_cast<int>(i) + 1 != canary_owner) victim = workers[i];
  ASSERT_GT(victim, 0);
  ASSERT_EQ(kill(victim, SIGKILL), 0);
  auto back = srv_->stats_until(
      [&](const ServerStats& s) {
        for (pid_t p : s.worker_pids())
          if (p == 0 || p == victim) return false;
        return true;
      },
      10s);
  ASSERT_TRUE(back.ok()) << back.message();
  // The new worker's descriptors are its own: the baseline is re-taken with it, once the
  // respawn has settled (the new worker still receives its channels to the other workers when
  // ps first shows it, and the others replace theirs to it): the same count three times
  // 200 ms apart, within 5 s.
  for (size_t i = 0; i < pids_.size(); ++i)
    if (pids_[i] == victim) pids_[i] = back->pids[i];
  size_t same = 0;
  baseline_fds_ = fds();
  for (int i = 0; i < 25 && same < 3; ++i) {
    std::this_thread::sleep_for(200ms);
    const size_t now = fds();
    same = now == baseline_fds_ ? same + 1 : 0;
    baseline_fds_ = now;
  }
  ASSERT_EQ(same, 3u) << "sipsd's descriptors did not settle after the respawn";
  expect_unharmed();
}

}  // namespace
}  // namespace sipsd::test
