// The core MI commands through their MiHost seam: a fake host around a real shared-memory region
// (process table, counters, connection table written here), called over JSON-RPC exactly as the
// FIFO calls them. Reply shapes and errors are OpenSIPS's (see core_commands.h).
#include "core/mi/core_commands.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/utsname.h>
#include <time.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "core/base/clock.h"
#include "tests/unit/mi/mi_test_command.h"

namespace sipsd {
namespace {

using test::mi_args;
using test::mi_call;
using test::mi_selectors;

class FakeHost final : public MiHost {
 public:
  explicit FakeHost(std::unique_ptr<ShmRegion> shm)
      : shm_(std::move(shm)), stats_(*shm_, kStartedMs) {}

  const Config& config() const override { return config_; }
  ShmRegion& shm() override { return *shm_; }
  StatsView& stats() override { return stats_; }
  int64_t started_ms() const override { return started_ms_; }
  const std::vector<std::string>& argv() const override { return argv_; }
  std::vector<std::string> listener_names() const override { return listeners_; }
  void shutdown_soon(const char* why) override { shutdowns.emplace_back(why); }
  bool close_connection(uint32_t id, int owner) override {
    closes.emplace_back(id, owner);
    return worker_reachable;
  }

  static constexpr int64_t kStartedMs = 1000;
  int64_t started_ms_ = kStartedMs;
  std::vector<std::string> argv_ = {"/usr/sbin/sipsd", "-f", "/etc/sipsd/sipsd.cfg"};
  std::vector<std::string> listeners_ = {"tls:127.0.0.1:5061", "tcp:127.0.0.1:5060"};
  std::vector<std::string> shutdowns;
  std::vector<std::pair<uint32_t, int>> closes;
  bool worker_reachable = true;

 private:
  Config config_;
  std::unique_ptr<ShmRegion> shm_;
  StatsView stats_;
};

std::vector<std::string> keys_of(const Json& object) {
  std::vector<std::string> keys;
  for (const auto& [k, v] : object.members()) keys.push_back(k);
  return keys;
}

class CoreCommandsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ShmRegion::Layout layout;
    layout.max_procs = 3;  // the supervisor and two workers
    layout.conn_capacity = 8;
    layout.tls_slot_size = 4096;
    auto shm = ShmRegion::create(layout);
    ASSERT_TRUE(shm.ok()) << shm.message();
    host_ = std::make_unique<FakeHost>(std::move(shm).value());
    add_core_mi_commands(&reg_, host_.get());
  }

  ShmRegion& shm() { return host_->shm(); }
  void set_proc(int index, int pid, ProcessRole role, int level = 3) {
    ProcSlot& p = shm().proc(index);
    p.pid.store(pid);
    p.role.store(static_cast<int32_t>(role));
    p.log_level.store(level);
  }
  void count(int proc, Stat s, uint64_t n) { shm().proc(proc).stats.add(s, n); }

  // The "result" of a call (the test fails on an error reply).
  Json result(const std::string& method, Json params = Json()) {
    Json reply = mi_call(reg_, method, std::move(params));
    const Json* r = reply.find("result");
    EXPECT_NE(r, nullptr) << method << ": " << reply.dump();
    return r ? *r : Json();
  }
  // The "error" object of a call (the test fails on a result).
  Json error(const std::string& method, Json params = Json()) {
    Json reply = mi_call(reg_, method, std::move(params));
    const Json* e = reply.find("error");
    EXPECT_NE(e, nullptr) << method << ": " << reply.dump();
    return e ? *e : Json();
  }
  uint64_t stat(const std::string& name) {
    Json r = result("get_statistics", mi_selectors({name}));
    const Json* v = r.find(name);
    EXPECT_NE(v, nullptr) << name << ": " << r.dump();
    return v ? static_cast<uint64_t>(v->as_int()) : ~uint64_t{0};
  }

  MiRegistry reg_;
  std::unique_ptr<FakeHost> host_;
};

// ---- processes and the server ---------------------------------------------------------------

TEST_F(CoreCommandsTest, UptimeVersionPwdArg) {
  host_->started_ms_ = realtime_ms() - 90 * 1000;
  Json up = result("uptime");
  EXPECT_EQ(keys_of(up), (std::vector<std::string>{"Now", "Up since", "Up time"}));
  time_t since = static_cast<time_t>(host_->started_ms_ / 1000);
  char buf[32];
  ctime_r(&since, buf);
  std::string since_text(buf);
  since_text.pop_back();  // ctime's newline
  EXPECT_EQ(up.find("Up since")->as_string(), since_text);
  const std::string& up_time = up.find("Up time")->as_string();
  EXPECT_TRUE(up_time == "90 [sec]" || up_time == "91 [sec]") << up_time;

  struct utsname u;
  ASSERT_EQ(uname(&u), 0);
  std::string os = u.sysname;
  for (char& c : os) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  EXPECT_EQ(result("version").dump(), std::string("{\"Server\":\"sipsd (") + SIPSD_VERSION + " (" +
                                          u.machine + "/" + os + "))\"}");
  EXPECT_EQ(keys_of(result("pwd")), std::vector<std::string>{"WD"});
  EXPECT_EQ(result("arg").dump(), "[\"/usr/sbin/sipsd\",\"-f\",\"/etc/sipsd/sipsd.cfg\"]");
}

TEST_F(CoreCommandsTest, PsListsTheLiveProcessesWithTheWorkersListeners) {
  set_proc(0, 100, ProcessRole::kSupervisor);
  set_proc(2, 102, ProcessRole::kTcpWorker);  // slot 1 is empty (a worker being respawned)
  Json ps = result("ps");
  EXPECT_EQ(ps.dump(),
            "{\"Processes\":[{\"ID\":0,\"PID\":100,\"Type\":\"supervisor, MI FIFO\"},"
            "{\"ID\":2,\"PID\":102,\"Type\":\"TCP receiver\",\"Listeners\":"
            "[\"tls:127.0.0.1:5061\",\"tcp:127.0.0.1:5060\"],\"Stalled\":false}]}");
  // A worker the supervisor found stalled (tcp_worker_stall_timeout).
  shm().proc(2).stalled.store(1);
  EXPECT_NE(result("ps").dump().find("\"Stalled\":true"), std::string::npos);
}

TEST_F(CoreCommandsTest, KillAndShutdownAskTheHostToStop) {
  EXPECT_EQ(result("shutdown").dump(), "\"OK\"");
  EXPECT_EQ(result("kill").dump(), "\"OK\"");
  EXPECT_EQ(host_->shutdowns, (std::vector<std::string>{"MI shutdown", "MI kill"}));
}

// ---- log_level -------------------------------------------------------------------------------

TEST_F(CoreCommandsTest, LogLevelListsSetsGloballyAndPerPid) {
  set_proc(0, 100, ProcessRole::kSupervisor, 3);
  set_proc(1, 101, ProcessRole::kTcpWorker, 3);
  set_proc(2, 102, ProcessRole::kTcpWorker, 2);
  EXPECT_EQ(result("log_level").dump(),
            "{\"Processes\":[{\"PID\":100,\"Log level\":3,\"Type\":\"supervisor, MI FIFO\"},"
            "{\"PID\":101,\"Log level\":3,\"Type\":\"TCP receiver\"},"
            "{\"PID\":102,\"Log level\":2,\"Type\":\"TCP receiver\"}]}");

  EXPECT_EQ(result("log_level", mi_args({"4"})).dump(), "{\"New global log level\":4}");
  for (int i = 0; i < 3; ++i) EXPECT_EQ(shm().proc(i).log_level.load(), 4) << "process " << i;

  // One process by pid; a number works as well as a numeric string.
  Json by_pid = Json::array();
  by_pid.push(-1);
  by_pid.push(102);
  EXPECT_EQ(result("log_level", std::move(by_pid)).dump(), "{\"Log level\":-1}");
  EXPECT_EQ(shm().proc(2).log_level.load(), -1);
  EXPECT_EQ(shm().proc(1).log_level.load(), 4);
  EXPECT_EQ(shm().proc(0).log_level.load(), 4);
}

TEST_F(CoreCommandsTest, LogLevelRefusesBadLevelsAndUnknownPids) {
  set_proc(0, 100, ProcessRole::kSupervisor, 3);
  set_proc(1, 101, ProcessRole::kTcpWorker, 3);
  const std::string bad_level =
      "{\"code\":-32602,\"message\":\"Invalid params\",\"data\":\"Bad type for parameter "
      "'level'\"}";
  EXPECT_EQ(error("log_level", mi_args({"abc"})).dump(), bad_level);
  EXPECT_EQ(error("log_level", mi_args({"5"})).dump(), bad_level);   // L_DBG is 4
  EXPECT_EQ(error("log_level", mi_args({"-4"})).dump(), bad_level);  // L_ALERT is -3
  EXPECT_EQ(error("log_level", mi_args({"9", "101"})).dump(), bad_level);
  const std::string bad_pid =
      "{\"code\":-32602,\"message\":\"Invalid params\",\"data\":\"Bad PID\"}";
  EXPECT_EQ(error("log_level", mi_args({"2", "999999"})).dump(), bad_pid);
  EXPECT_EQ(error("log_level", mi_args({"2", "0"})).dump(), bad_pid);  // empty slots have pid 0
  EXPECT_EQ(error("log_level", mi_args({"2", "x"})).find("data")->as_string(),
            "Bad type for parameter 'pid'");
  // Nothing changed on the way.
  EXPECT_EQ(shm().proc(0).log_level.load(), 3);
  EXPECT_EQ(shm().proc(1).log_level.load(), 3);
}

// ---- statistics ------------------------------------------------------------------------------

TEST_F(CoreCommandsTest, GetStatisticsSumsOverProcessesBySelector) {
  count(1, Stat::kRcvRequests, 3);
  count(2, Stat::kRcvRequests, 4);
  count(1, Stat::kSl2xx, 7);
  count(0, tstat(Proto::kTls, TStat::kConnsAccepted), 5);
  count(1, tstat(Proto::kTls, TStat::kConnsHandled), 2);
  count(2, tstat(Proto::kTls, TStat::kConnsHandled), 3);
  count(2, tstat(Proto::kTls, TStat::kConnsClosed), 1);

  Json all = result("get_statistics", mi_selectors({"all"}));
  EXPECT_EQ(all.find("core:rcv_requests")->as_int(), 7);
  EXPECT_EQ(all.find("sl:2xx_replies")->as_int(), 7);
  EXPECT_EQ(all.find("tls:conns_accepted")->as_int(), 5);
  EXPECT_EQ(all.find("tls:conns_open")->as_int(), 4);  // handled 5 - closed 1
  EXPECT_EQ(all.find("load:processes_number")->as_int(), 3);
  EXPECT_EQ(all.find("tcp:handshakes_ok"), nullptr) << "TLS-only statistic in tcp:";

  Json sl = result("get_statistics", mi_selectors({"sl:"}));
  EXPECT_EQ(keys_of(sl),
            (std::vector<std::string>{"sl:sent_replies", "sl:sent_err_replies", "sl:1xx_replies",
                                      "sl:2xx_replies", "sl:3xx_replies", "sl:4xx_replies",
                                      "sl:5xx_replies", "sl:6xx_replies", "sl:received_ACKs"}));

  // Bare names (any case, first group that has them), full names, each once, in the order
  // asked; unknown ones are skipped.
  Json named = result("get_statistics", mi_selectors({"RCV_REQUESTS", "nosuch", "conns_accepted",
                                                      "tls:conns_accepted", "core:rcv_requests"}));
  EXPECT_EQ(named.dump(),
            "{\"core:rcv_requests\":7,\"tcp:conns_accepted\":0,\"tls:conns_accepted\":5}");
}

TEST_F(CoreCommandsTest, GetStatisticsErrors) {
  EXPECT_EQ(error("get_statistics", mi_selectors({"nosuch", "core:nosuch"})).dump(),
            "{\"code\":404,\"message\":\"Statistics Not Found\"}");
  EXPECT_EQ(error("get_statistics", mi_selectors({"nogroup:"})).find("code")->as_int(), 404);
  Json empty = Json::array();
  empty.push(Json::array());
  EXPECT_EQ(error("get_statistics", std::move(empty)).find("data")->as_string(),
            "Empty array in parameter 'statistics'");
  EXPECT_EQ(error("get_statistics").find("code")->as_int(), kMiInvalidParams);
}

TEST_F(CoreCommandsTest, ResetStatisticsResetsCountersNotGaugesNorGroups) {
  count(1, Stat::kRcvRequests, 10);
  count(1, Stat::kSlSentReplies, 6);
  count(2, Stat::kDnsPending, 2);  // a gauge

  EXPECT_EQ(result("reset_statistics", mi_selectors({"rcv_requests"})).dump(), "\"OK\"");
  EXPECT_EQ(stat("core:rcv_requests"), 0u);
  EXPECT_EQ(stat("sl:sent_replies"), 6u) << "another counter was reset";
  count(2, Stat::kRcvRequests, 2);
  EXPECT_EQ(stat("core:rcv_requests"), 2u) << "counting does not resume from the reset";

  for (const char* refused : {"dns:pending", "pending", "core:", "sl:", "nosuch"}) {
    EXPECT_EQ(error("reset_statistics", mi_selectors({refused})).dump(),
              "{\"code\":404,\"message\":\"Statistics Not Found\"}")
        << refused;
  }
  EXPECT_EQ(stat("dns:pending"), 2u);
  EXPECT_EQ(stat("sl:sent_replies"), 6u);

  EXPECT_EQ(result("reset_all_statistics").dump(), "\"OK\"");
  EXPECT_EQ(stat("core:rcv_requests"), 0u);
  EXPECT_EQ(stat("sl:sent_replies"), 0u);
  EXPECT_EQ(stat("dns:pending"), 2u) << "reset_all_statistics reset a gauge";

  Json kinds = result("list_statistics", mi_selectors({"rcv_requests", "dns:pending"}));
  EXPECT_EQ(kinds.dump(),
            "{\"core:rcv_requests\":\"incremental\",\"dns:pending\":\"non-incremental\"}");
  EXPECT_EQ(result("list_statistics").size(),
            result("get_statistics", mi_selectors({"all"})).size());
}

// ---- connections -----------------------------------------------------------------------------

ConnInfo conn(uint32_t id, int owner, Proto proto, const char* remote_ip, uint16_t remote_port,
              const char* local_ip, uint16_t local_port) {
  ConnInfo i;
  i.id = id;
  i.owner = owner;
  i.proto = static_cast<uint8_t>(proto);
  bool v6 = strchr(remote_ip, ':') != nullptr;
  i.family = v6 ? AF_INET6 : AF_INET;
  inet_pton(i.family, remote_ip, i.remote_ip);
  inet_pton(i.family, local_ip, i.local_ip);
  i.remote_port = remote_port;
  i.local_port = local_port;
  i.created_ms = int64_t{1767225600} * 1000;  // 2026-01-01 00:00:00 UTC
  i.lifetime_ms = 120000;
  return i;
}

std::string local_time(int64_t ms) {
  time_t t = static_cast<time_t>(ms / 1000);
  struct tm tm;
  localtime_r(&t, &tm);
  char buf[32];
  strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  return buf;
}

class ConnCommandsTest : public CoreCommandsTest {
 protected:
  void SetUp() override {
    CoreCommandsTest::SetUp();
    ConnTable t = shm().conn_table();
    // 5: inbound TLS, established, with its TLS details; active a minute after it was made.
    ConnInfo tls = conn(5, 1, Proto::kTls, "10.0.0.7", 40312, "127.0.0.1", 5061);
    strcpy(tls.tls_version, "TLSv1.3");
    strcpy(tls.tls_cipher, "TLS_AES_256_GCM_SHA384");
    tls.tls_peer_verified = 1;
    strcpy(tls.tls_sni, "sip.example.com");
    strcpy(tls.tls_domain, "edge");
    tls_slot_ = *t.allocate(tls);
    t.update(tls_slot_, tls, ConnState::kEstablished);
    t.touch(tls_slot_, tls.created_ms + 60000);
    // 6: inbound TCP on worker 2.
    ConnInfo tcp = conn(6, 2, Proto::kTcp, "10.0.0.8", 5060, "127.0.0.1", 5060);
    t.update(*t.allocate(tcp), tcp, ConnState::kEstablished);
    // 7: outbound TLS over IPv6, still connecting (no TLS details yet).
    ConnInfo out = conn(7, 2, Proto::kTls, "2001:db8::7", 5061, "2001:db8::1", 41000);
    out.outbound = 1;
    t.update(*t.allocate(out), out, ConnState::kConnecting);
    // A freed slot is not listed.
    t.release(*t.allocate(conn(8, 1, Proto::kTcp, "10.0.0.9", 1, "127.0.0.1", 5060)));
  }

  std::vector<int64_t> ids(const Json& r) {
    std::vector<int64_t> out;
    for (const Json& c : r.find("Connections")->items()) out.push_back(c.find("ID")->as_int());
    return out;
  }

  uint32_t tls_slot_ = 0;
};

TEST_F(ConnCommandsTest, ListTcpConnsShowsEveryLiveConnectionWithTlsDetailsOnlyForTls) {
  Json r = result("list_tcp_conns");
  ASSERT_EQ(ids(r), (std::vector<int64_t>{5, 6, 7})) << r.dump();
  const std::vector<Json>& c = r.find("Connections")->items();
  const int64_t created = int64_t{1767225600} * 1000;
  EXPECT_EQ(c[0].dump(),
            "{\"ID\":5,\"Type\":\"tls\",\"State\":0,\"Remote\":\"10.0.0.7:40312\","
            "\"Local\":\"127.0.0.1:5061\",\"Lifetime\":\"" +
                local_time(created + 60000 + 120000) +
                "\",\"Alias port\":40312,\"TLS Version\":\"TLSv1.3\","
                "\"TLS Cipher\":\"TLS_AES_256_GCM_SHA384\",\"TLS Peer verified\":true,"
                "\"TLS SNI\":\"sip.example.com\",\"TLS Domain\":\"edge\","
                "\"Direction\":\"inbound\",\"Worker\":1}");
  EXPECT_EQ(c[1].dump(),
            "{\"ID\":6,\"Type\":\"tcp\",\"State\":0,\"Remote\":\"10.0.0.8:5060\","
            "\"Local\":\"127.0.0.1:5060\",\"Lifetime\":\"" +
                local_time(created + 120000) +
                "\",\"Alias port\":5060,\"Direction\":\"inbound\",\"Worker\":2}");
  // Connecting (OpenSIPS state 1), IPv6 in brackets, TLS without details until the handshake.
  EXPECT_EQ(c[2].find("State")->as_int(), 1);
  EXPECT_EQ(c[2].find("Remote")->as_string(), "[2001:db8::7]:5061");
  EXPECT_EQ(c[2].find("Local")->as_string(), "[2001:db8::1]:41000");
  EXPECT_EQ(c[2].find("TLS Version"), nullptr) << c[2].dump();
  EXPECT_EQ(c[2].find("Direction")->as_string(), "outbound");
}

TEST_F(ConnCommandsTest, ListTcpConnsFiltersByProto) {
  EXPECT_EQ(ids(result("list_tcp_conns", mi_args({"tls"}))), (std::vector<int64_t>{5, 7}));
  EXPECT_EQ(ids(result("list_tcp_conns", mi_args({"tcp"}))), (std::vector<int64_t>{6}));
  EXPECT_EQ(ids(result("list_tcp_conns", mi_args({"any"}))), (std::vector<int64_t>{5, 6, 7}));
  EXPECT_EQ(ids(result("list_tcp_conns", mi_args({"udp"}))), (std::vector<int64_t>{}));
  EXPECT_EQ(ids(result("tcp:list")), (std::vector<int64_t>{5, 6, 7}));  // 4.0 name
}

TEST_F(ConnCommandsTest, TcpCloseByIdOrAddressAsksTheOwningWorker) {
  EXPECT_EQ(result("tcp_close", mi_args({"6"})).dump(), "\"OK\"");
  EXPECT_EQ(result("tcp_close", mi_args({"10.0.0.7:40312"})).dump(), "\"OK\"");
  EXPECT_EQ(result("tcp_close", mi_args({"tls:[2001:db8::7]:5061"})).dump(), "\"OK\"");
  Json numeric = Json::array();
  numeric.push(5);  // a number is an ID too
  EXPECT_EQ(result("tcp:close", std::move(numeric)).dump(), "\"OK\"");
  EXPECT_EQ(host_->closes, (std::vector<std::pair<uint32_t, int>>{{6, 2}, {5, 1}, {7, 2}, {5, 1}}));
}

TEST_F(ConnCommandsTest, TcpCloseErrors) {
  // Not found: null (OpenSIPS 4.0's tcp:close), and no worker is bothered.
  EXPECT_TRUE(result("tcp_close", mi_args({"99"})).is_null());
  EXPECT_TRUE(result("tcp_close", mi_args({"10.0.0.7:1"})).is_null());
  EXPECT_TRUE(result("tcp_close", mi_args({"tcp:10.0.0.7:40312"})).is_null()) << "wrong proto";
  EXPECT_TRUE(result("tcp_close", mi_args({"10.0.0.9:1"})).is_null()) << "a freed slot";
  EXPECT_TRUE(host_->closes.empty());
  // Not an ID nor an address: 400.
  for (const char* bad : {"nonsense", "tls:10.0.0.7", "", "5x"}) {
    EXPECT_EQ(error("tcp_close", mi_args({bad})).dump(),
              "{\"code\":400,\"message\":\"Bad tcp connection\",\"data\":\"expected an ID, "
              "ip:port or proto:ip:port\"}")
        << "'" << bad << "'";
  }
  EXPECT_TRUE(host_->closes.empty());
  // The owning worker cannot be told: 500.
  host_->worker_reachable = false;
  EXPECT_EQ(error("tcp_close", mi_args({"5"})).dump(),
            "{\"code\":500,\"message\":\"Cannot reach the connection's worker\"}");
  EXPECT_EQ(host_->closes, (std::vector<std::pair<uint32_t, int>>{{5, 1}}));
}

TEST_F(CoreCommandsTest, WhichListsEveryCommandAndThe40Aliases) {
  Json which = result("which");
  std::vector<std::string> names;
  for (const Json& n : which.items()) names.push_back(n.as_string());
  for (const char* cmd : {"get_statistics",
                          "list_statistics",
                          "reset_statistics",
                          "reset_all_statistics",
                          "uptime",
                          "version",
                          "pwd",
                          "arg",
                          "ps",
                          "kill",
                          "shutdown",
                          "log_level",
                          "which",
                          "help",
                          "list_tcp_conns",
                          "tcp_close",
                          "statistics:get",
                          "statistics:list",
                          "statistics:reset",
                          "statistics:reset_all",
                          "tcp:list",
                          "tcp:close"})
    EXPECT_NE(std::find(names.begin(), names.end(), cmd), names.end()) << cmd;
  EXPECT_EQ(result("help", mi_args({"tcp_close"})).dump(),
            "{\"Help\":\"closes a connection given by ID, ip:port or proto:ip:port\","
            "\"Exported by\":\"core\"}");
}

}  // namespace
}  // namespace sipsd
