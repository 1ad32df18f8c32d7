// Worker health against the real sipsd: a stopped worker gets no new connections until it runs
// again (tcp_worker_stall_timeout), and the gauges stay right when a worker is killed and
// replaced, and when the statistics are reset.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "tests/integration/sip_test_client.h"
#include "tests/integration/sipsd_server.h"
#include "tests/integration/test_env.h"

namespace sipsd::test {
namespace {

using namespace std::chrono_literals;

// Sends SIGCONT to a stopped process when the test ends, however it ends (a stopped worker
// would hold up the server's graceful stop).
class ContinueAtEnd {
 public:
  explicit ContinueAtEnd(pid_t pid) : pid_(pid) {}
  ~ContinueAtEnd() { kill(pid_, SIGCONT); }
  ContinueAtEnd(const ContinueAtEnd&) = delete;
  ContinueAtEnd& operator=(const ContinueAtEnd&) = delete;

 private:
  pid_t pid_;
};

// The "Stalled" field of MI ps for the process with this pid; nullopt when it is not listed
// or has no such field.
std::optional<bool> ps_stalled(SipsdServer& srv, pid_t pid) {
  auto ps = srv.mi_result("ps");
  if (!ps.ok()) return std::nullopt;
  const Json* procs = ps->find("Processes");
  if (procs == nullptr) return std::nullopt;
  for (const Json& p : procs->items()) {
    const Json* id = p.find("PID");
    const Json* stalled = p.find("Stalled");
    if (id != nullptr && id->as_int() == pid && stalled != nullptr) return stalled->as_bool();
  }
  return std::nullopt;
}

size_t conns_of_type(const ServerStats& s, const std::string& type) {
  size_t n = 0;
  for (const MiConnection& c : s.connections) n += c.type == type;
  return n;
}

// A worker stopped with SIGSTOP (as one stuck in a long call would be): every new TLS
// connection still gets its handshake and its OPTIONS answered, by the other workers; the stall
// is logged, counted and shown in ps; after SIGCONT the worker takes connections again.
TEST(WorkerHealth, StoppedWorkerGetsNoNewConnectionsUntilItRunsAgain) {
  SipsdOptions o;
  o.workers = 3;
  o.globals = {"tcp_worker_stall_timeout=1000"};
  auto srv = SipsdServer::start(o);
  ASSERT_TRUE(srv.ok()) << srv.message();
  auto before = (*srv)->stats();
  ASSERT_TRUE(before.ok()) << before.message();
  ASSERT_EQ(before->worker_pids().size(), 3u);
  const pid_t victim = before->worker_pids()[1];  // process 2
  EXPECT_EQ(ps_stalled(**srv, victim), false);

  ASSERT_EQ(kill(victim, SIGSTOP), 0);
  ContinueAtEnd cont(victim);
  const std::string who = "TCP worker 2 (pid " + std::to_string(victim) + ")";
  ASSERT_TRUE((*srv)->wait_for_log(who + " has shown no progress", 5s)) << (*srv)->log();
  EXPECT_EQ(ps_stalled(**srv, victim), true);

  TlsClientOptions tls = default_tls_options();
  tls.timeout = 3s;
  std::vector<SipTestClient::Ptr> clients;
  for (int i = 0; i < 12; ++i) {
    auto c = SipTestClient::connect_tls("127.0.0.1", (*srv)->tls_port(), tls);
    ASSERT_TRUE(c.ok()) << "connection " << i << ": " << c.message();
    ASSERT_EQ(options_status(**c, 3s), 200) << "connection " << i;
    clients.push_back(std::move(c).value());
  }
  auto during = (*srv)->stats();
  ASSERT_TRUE(during.ok()) << during.message();
  EXPECT_EQ(during->connections_of(2), 0u) << "the stopped worker was handed a connection";
  EXPECT_EQ(during->connections.size(), 12u);
  EXPECT_GE(during->get("core:worker_stalls"), 1u);
  EXPECT_GE(during->get("load:stalled_workers"), 1u);

  ASSERT_EQ(kill(victim, SIGCONT), 0);
  ASSERT_TRUE((*srv)->wait_for_log(who + " is making progress again", 5s)) << (*srv)->log();
  auto after =
      (*srv)->stats_until([](const ServerStats& s) { return s.get("load:stalled_workers") == 0; });
  ASSERT_TRUE(after.ok()) << after.message();
  EXPECT_EQ(after->get("load:stalled_workers"), 0u);
  EXPECT_EQ(ps_stalled(**srv, victim), false);
  // The least loaded again: the next connections go to it.
  for (int i = 0; i < 3; ++i) {
    auto c = SipTestClient::connect_tls("127.0.0.1", (*srv)->tls_port(), tls);
    ASSERT_TRUE(c.ok()) << c.message();
    ASSERT_EQ(options_status(**c, 3s), 200);
    clients.push_back(std::move(c).value());
  }
  auto last = (*srv)->stats();
  ASSERT_TRUE(last.ok()) << last.message();
  EXPECT_GT(last->connections_of(2), 0u) << "the recovered worker got no connection";
  // Logged once each way.
  const std::string log = (*srv)->log();
  EXPECT_EQ(log.find(who + " has shown no progress"), log.rfind(who + " has shown no progress"));
}

// tls:conns_open and tcp:conns_open equal what list_tcp_conns shows after a worker is killed
// with its connections and replaced, after reset_all_statistics, and when everything closed.
TEST(WorkerHealth, GaugesAreRightAfterAKilledWorkerAndAReset) {
  SipsdOptions o;
  o.workers = 2;
  auto srv = SipsdServer::start(o);
  ASSERT_TRUE(srv.ok()) << srv.message();
  std::vector<SipTestClient::Ptr> clients;
  for (int i = 0; i < 8; ++i) {
    auto c = SipTestClient::connect_tls("127.0.0.1", (*srv)->tls_port(), default_tls_options());
    ASSERT_TRUE(c.ok()) << c.message();
    ASSERT_EQ(options_status(**c), 200);
    clients.push_back(std::move(c).value());
  }
  for (int i = 0; i < 4; ++i) {
    auto c = SipTestClient::connect_tcp("127.0.0.1", (*srv)->tcp_port());
    ASSERT_TRUE(c.ok()) << c.message();
    ASSERT_EQ(options_status(**c), 200);
    clients.push_back(std::move(c).value());
  }
  auto before = (*srv)->stats();
  ASSERT_TRUE(before.ok()) << before.message();
  EXPECT_EQ(before->get("tls:conns_open"), 8u);
  EXPECT_EQ(before->get("tcp:conns_open"), 4u);
  const pid_t victim = before->worker_pids()[0];
  const size_t lost = before->connections_of(1);
  ASSERT_GT(lost, 0u);

  ASSERT_EQ(kill(victim, SIGKILL), 0);
  ASSERT_TRUE((*srv)->wait_for_log("killed by signal 9"));
  auto after = (*srv)->stats_until([&](const ServerStats& s) {
    std::vector<pid_t> now = s.worker_pids();
    return now.size() == 2 && now[0] != victim && now[0] != 0;
  });
  ASSERT_TRUE(after.ok()) << after.message();
  ASSERT_EQ(after->connections.size(), 12 - lost);
  EXPECT_EQ(after->get("tls:conns_open"), conns_of_type(*after, "tls"));
  EXPECT_EQ(after->get("tcp:conns_open"), conns_of_type(*after, "tcp"));
  EXPECT_EQ(after->get("tls:conns_handled"), 8u) << "a counter lost what the dead worker counted";

  ASSERT_TRUE((*srv)->mi_result("reset_all_statistics").ok());
  auto reset = (*srv)->stats();
  ASSERT_TRUE(reset.ok()) << reset.message();
  EXPECT_EQ(reset->get("tls:conns_handled"), 0u);
  EXPECT_EQ(reset->get("tls:conns_open"), conns_of_type(*reset, "tls"));
  EXPECT_EQ(reset->get("tcp:conns_open"), conns_of_type(*reset, "tcp"));

  clients.clear();
  auto closed = (*srv)->stats_until([](const ServerStats& s) { return s.connections.empty(); });
  ASSERT_TRUE(closed.ok()) << closed.message();
  auto gauges = (*srv)->stats_until([](const ServerStats& s) { return s.open() == 0; });
  ASSERT_TRUE(gauges.ok()) << gauges.message();
  EXPECT_EQ(gauges->get("tls:conns_open"), 0u);
  EXPECT_EQ(gauges->get("tcp:conns_open"), 0u);
  EXPECT_EQ(gauges->get("net:waiting_tls"), 0u);
  EXPECT_EQ(gauges->get("tm:inuse_transactions"), 0u);
}

}  // namespace
}  // namespace sipsd::test
