// The process model against the real sipsd: connections spread over the workers, a worker that
// dies is replaced without disturbing the others, SIGTERM leaves nothing behind, plain TCP
// behaves like TLS.
#include <gtest/gtest.h>
#include <signal.h>

#include <cerrno>
#include <chrono>
#include <fstream>
#include <optional>
#include <set>
#include <thread>

#include "tests/integration/sip_test_client.h"
#include "tests/integration/sipsd_server.h"
#include "tests/integration/test_env.h"

namespace sipsd::test {
namespace {

using namespace std::chrono_literals;

bool process_gone(pid_t pid) {
  return kill(pid, 0) != 0 && errno == ESRCH;
}

TEST(ProcessModel, FiftyConcurrentTlsClientsSpreadOverAllWorkers) {
  SipsdOptions o;
  o.workers = 4;
  auto srv = SipsdServer::start(o);
  ASSERT_TRUE(srv.ok()) << srv.message();
  std::vector<SipTestClient::Ptr> clients;
  for (int i = 0; i < 50; ++i) {
    auto c = SipTestClient::connect_tls("127.0.0.1", (*srv)->tls_port(), default_tls_options());
    ASSERT_TRUE(c.ok()) << "client " << i << ": " << c.message();
    clients.push_back(std::move(c).value());
  }
  // All 50 are open at once; each sends, then all read.
  std::vector<SipRequest> reqs;
  for (auto& c : clients) {
    reqs.push_back(c->make_options());
    ASSERT_TRUE(c->send(reqs.back().text).ok());
  }
  for (size_t i = 0; i < clients.size(); ++i) {
    auto reply = clients[i]->read_reply(5s);
    ASSERT_TRUE(reply.ok()) << "client " << i << ": " << reply.message();
    EXPECT_EQ(reply->status(), 200);
    EXPECT_EQ(reply->header("Call-ID").value_or(""), reqs[i].call_id);
  }
  auto stats = (*srv)->stats();
  ASSERT_TRUE(stats.ok()) << stats.message();
  ASSERT_EQ(stats->worker_pids().size(), 4u);
  ASSERT_EQ(stats->connections.size(), 50u);
  for (int w = 1; w <= 4; ++w)
    EXPECT_GT(stats->connections_of(w), 0u) << "worker " << w << " got no connection";
  EXPECT_EQ(stats->get("tls:conns_accepted"), 50u);
  EXPECT_EQ(stats->get("tls:conns_handled"), 50u);
  EXPECT_EQ(stats->get("core:rcv_requests"), 50u);
  EXPECT_EQ(stats->get("tls:conns_open"), 50u);
}

// SIGUSR1 writes the statistics to the log (a documented debugging hook): one line per process
// slot with every counter, then the connection table. The one test that reads the dump; every
// other test reads counters over MI, and this one checks the dump against MI.
TEST(ProcessModel, SigusrOneDumpsEveryProcessAndTheConnectionTable) {
  auto srv = SipsdServer::start({});
  ASSERT_TRUE(srv.ok()) << srv.message();
  auto c = SipTestClient::connect_tls("127.0.0.1", (*srv)->tls_port(), default_tls_options());
  ASSERT_TRUE(c.ok()) << c.message();
  for (int i = 0; i < 3; ++i) ASSERT_EQ(options_status(**c), 200);
  auto mi = (*srv)->stats();
  ASSERT_TRUE(mi.ok()) << mi.message();

  size_t from = (*srv)->log().size();
  ASSERT_TRUE((*srv)->child().signal(SIGUSR1));
  ASSERT_TRUE((*srv)->wait_for_log("stats conn_table in_use=")) << (*srv)->log();
  std::string dump = (*srv)->log().substr(from);
  size_t table = dump.find("stats conn_table ");
  ASSERT_NE(table, std::string::npos);
  std::string table_line = dump.substr(table, dump.find('\n', table) - table);
  EXPECT_NE(table_line.find(" in_use=1 "), std::string::npos) << table_line;
  EXPECT_NE(table_line.find(" open=1"), std::string::npos) << table_line;

  // "... stats proc=N pid=P role=R name=value ..." -> the value of `key` on the line of proc N.
  auto value = [&](int proc, const std::string& key) -> std::optional<std::string> {
    std::string head = "stats proc=" + std::to_string(proc) + " ";
    size_t line = dump.find(head);
    if (line == std::string::npos) return std::nullopt;
    std::string text = dump.substr(line, dump.find('\n', line) - line);
    size_t at = text.find(" " + key + "=");
    if (at == std::string::npos) return std::nullopt;
    at += key.size() + 2;
    return text.substr(at, text.find(' ', at) - at);
  };
  std::vector<pid_t> pids = mi->worker_pids();
  ASSERT_EQ(pids.size(), 2u);
  EXPECT_EQ(value(0, "pid"), std::to_string((*srv)->pid())) << dump;
  EXPECT_EQ(value(0, "role"), "supervisor") << dump;
  uint64_t requests = 0, handshakes = 0;
  for (int w = 1; w <= 2; ++w) {
    EXPECT_EQ(value(w, "pid"), std::to_string(pids[static_cast<size_t>(w) - 1])) << dump;
    EXPECT_EQ(value(w, "role"), "worker") << dump;
    auto r = value(w, "core:rcv_requests");
    auto h = value(w, "tls:handshakes_ok");
    ASSERT_TRUE(r && h) << dump;
    requests += std::stoull(*r);
    handshakes += std::stoull(*h);
  }
  EXPECT_EQ(value(0, "tls:conns_accepted"), "1") << dump;
  EXPECT_EQ(value(3, "pid"), std::nullopt) << "a line for a process that does not exist:\n" << dump;
  // The dump and MI agree.
  EXPECT_EQ(requests, 3u) << dump;
  EXPECT_EQ(requests, mi->get("core:rcv_requests"));
  EXPECT_EQ(handshakes, mi->get("tls:handshakes_ok"));
}

TEST(ProcessModel, PlainTcpWorksTheSameWay) {
  auto srv = SipsdServer::start({});
  ASSERT_TRUE(srv.ok()) << srv.message();
  auto c = SipTestClient::connect_tcp("127.0.0.1", (*srv)->tcp_port());
  ASSERT_TRUE(c.ok()) << c.message();
  SipHop hop = (*c)->hop();
  hop.local_ip = "198.51.100.1";
  SipRequest req = build_sip_request({}, hop);
  ASSERT_TRUE((*c)->send(req.text).ok());
  auto reply = (*c)->read_reply(5s);
  ASSERT_TRUE(reply.ok()) << reply.message();
  EXPECT_EQ(reply->status(), 200);
  auto vias = reply->vias();
  ASSERT_EQ(vias.size(), 1u);
  EXPECT_NE(vias[0].find("SIP/2.0/TCP"), std::string::npos);
  EXPECT_EQ(header_param(vias[0], "received").value_or(""), "127.0.0.1");
  EXPECT_EQ(header_param(vias[0], "rport").value_or(""), std::to_string((*c)->local_port()));

  ASSERT_TRUE((*c)->send("\r\n\r\n").ok());
  auto pong = (*c)->read_bytes(2, 5s);
  ASSERT_TRUE(pong.ok()) << pong.message();
  EXPECT_EQ(*pong, "\r\n");

  // tcp_max_msg_chunks applies to plain TCP too.
  auto bad = SipTestClient::connect_tcp("127.0.0.1", (*srv)->tcp_port());
  ASSERT_TRUE(bad.ok());
  std::string text = (*bad)->make_options().text;
  std::vector<std::string> pieces;
  for (size_t i = 0; i < 5; ++i)
    pieces.push_back(text.substr(i * 20, i == 4 ? std::string::npos : 20));
  ASSERT_TRUE((*bad)->send_in_records(pieces, 150ms).ok());
  EXPECT_TRUE((*bad)->wait_closed(5s));
  EXPECT_TRUE((*srv)->wait_for_log("tcp_max_msg_chunks=4"));
  EXPECT_EQ(options_status(**c), 200);
}

TEST(ProcessModel, KilledWorkerIsRespawnedAndOthersKeepTheirConnections) {
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
  auto before = (*srv)->stats();
  ASSERT_TRUE(before.ok()) << before.message();
  std::vector<pid_t> pids = before->worker_pids();
  ASSERT_EQ(pids.size(), 2u);
  const pid_t victim = pids[0];  // process 1
  size_t victim_conns = before->connections_of(1);
  ASSERT_GT(victim_conns, 0u);
  ASSERT_LT(victim_conns, 8u);

  ASSERT_EQ(kill(victim, SIGKILL), 0);
  ASSERT_TRUE((*srv)->wait_for_log("killed by signal 9"));

  // The victim's connections are gone; the other worker's still answer.
  size_t answered = 0, dropped = 0;
  for (auto& c : clients) {
    int status = options_status(*c);
    if (status == 200) {
      ++answered;
    } else {
      EXPECT_TRUE(c->closed());
      ++dropped;
    }
  }
  EXPECT_EQ(dropped, victim_conns);
  EXPECT_EQ(answered, 8 - victim_conns);

  // A new worker took the slot; new connections are served (by both workers again).
  auto after = (*srv)->stats_until([&](const ServerStats& s) {
    std::vector<pid_t> now = s.worker_pids();
    return now.size() == 2 && now[0] != victim && now[0] != 0;
  });
  ASSERT_TRUE(after.ok()) << after.message();
  std::vector<pid_t> now = after->worker_pids();
  ASSERT_EQ(now.size(), 2u);
  EXPECT_NE(now[0], victim);
  EXPECT_EQ(now[1], pids[1]);
  EXPECT_EQ(after->connections_of(1), 0u) << "the dead worker's table entries were not freed";
  std::vector<SipTestClient::Ptr> fresh;
  for (int i = 0; i < 6; ++i) {
    auto c = SipTestClient::connect_tls("127.0.0.1", (*srv)->tls_port(), default_tls_options());
    ASSERT_TRUE(c.ok()) << c.message();
    EXPECT_EQ(options_status(**c), 200);
    fresh.push_back(std::move(c).value());
  }
  auto last = (*srv)->stats();
  ASSERT_TRUE(last.ok()) << last.message();
  EXPECT_GT(last->connections_of(1), 0u) << "the new worker got no connection";
  EXPECT_EQ(last->get("core:worker_respawns"), 1u);
}

// tcp_max_connections: the connection over the limit is closed at once; the ones inside it keep
// working, and a slot freed by a close is available again.
TEST(ProcessModel, ConnectionsOverTcpMaxConnectionsAreRefused) {
  SipsdOptions o;
  o.globals = {"tcp_max_connections=4"};
  auto srv = SipsdServer::start(o);
  ASSERT_TRUE(srv.ok()) << srv.message();
  std::vector<SipTestClient::Ptr> held;
  for (int i = 0; i < 4; ++i) {
    auto c = SipTestClient::connect_tcp("127.0.0.1", (*srv)->tcp_port());
    ASSERT_TRUE(c.ok()) << c.message();
    ASSERT_EQ(options_status(**c), 200);
    held.push_back(std::move(c).value());
  }
  auto extra = SipTestClient::connect_tcp("127.0.0.1", (*srv)->tcp_port());
  ASSERT_TRUE(extra.ok());  // the kernel completes the TCP handshake; sipsd then closes it
  EXPECT_TRUE((*extra)->wait_closed(5s));
  EXPECT_TRUE((*srv)->wait_for_log("tcp_max_connections (4) reached"));
  for (auto& c : held) EXPECT_EQ(options_status(*c), 200);

  held.back()->close();
  held.pop_back();
  auto again = (*srv)->stats_until([](const ServerStats& s) { return s.open() == 3; });
  ASSERT_TRUE(again.ok()) << again.message();
  EXPECT_EQ(again->open(), 3u);
  EXPECT_EQ(again->get("tcp:conns_refused"), 1u);
  auto fresh = SipTestClient::connect_tcp("127.0.0.1", (*srv)->tcp_port());
  ASSERT_TRUE(fresh.ok());
  EXPECT_EQ(options_status(**fresh), 200);
}

TEST(ProcessModel, SigtermStopsEverythingAndExitsZero) {
  SipsdOptions o;
  o.workers = 3;
  auto srv = SipsdServer::start(o);
  ASSERT_TRUE(srv.ok()) << srv.message();
  auto stats = (*srv)->stats();
  ASSERT_TRUE(stats.ok()) << stats.message();
  std::vector<pid_t> workers = stats->worker_pids();
  ASSERT_EQ(workers.size(), 3u);
  auto c = SipTestClient::connect_tls("127.0.0.1", (*srv)->tls_port(), default_tls_options());
  ASSERT_TRUE(c.ok());
  ASSERT_EQ(options_status(**c), 200);

  ExitStatus st = (*srv)->stop();
  EXPECT_TRUE(st.exited) << st.describe();
  EXPECT_EQ(st.code, 0) << (*srv)->log();
  EXPECT_TRUE((*c)->wait_closed(2s));
  EXPECT_EQ((*c)->close_reason(), "close_notify");
  for (pid_t w : workers) EXPECT_TRUE(process_gone(w)) << "worker " << w << " survived";
  EXPECT_NE((*srv)->log().find("sipsd stopped"), std::string::npos);
}

TEST(ProcessModel, WorkersLeaveWhenTheSupervisorDies) {
  auto srv = SipsdServer::start({});
  ASSERT_TRUE(srv.ok()) << srv.message();
  auto stats = (*srv)->stats();
  ASSERT_TRUE(stats.ok()) << stats.message();
  std::vector<pid_t> workers = stats->worker_pids();
  ASSERT_EQ(workers.size(), 2u);
  ASSERT_EQ(kill((*srv)->pid(), SIGKILL), 0);
  (*srv)->child().wait(5s);
  auto deadline = std::chrono::steady_clock::now() + 5s;
  for (pid_t w : workers) {
    while (!process_gone(w) && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(20ms);
    EXPECT_TRUE(process_gone(w)) << "worker " << w << " outlived its supervisor";
  }
}

}  // namespace
}  // namespace sipsd::test
