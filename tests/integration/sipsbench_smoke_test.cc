// sipsbench against the real sipsd for a couple of seconds: proves the load generator works
// (replies matched, nothing lost, the server saw every request, resumption happens, idle
// connections are held and answer pings, a ramp runs its steps, failure is reported by the exit
// status). Call mode runs its callers straight against its own callees (no proxy: sipsd relays
// nothing yet; bench/compare/relay-check.sh runs it through Kamailio by hand). Asserts on counts
// only, never on speed.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "tests/integration/sipsd_server.h"
#include "tests/integration/subprocess.h"
#include "tests/integration/test_env.h"

namespace sipsd::test {
namespace {

using namespace std::chrono_literals;

// bench/CMakeLists.txt puts the binary here (and makes integration_tests depend on it).
const std::string kSipsbench = std::string(SIPSD_BUILD_DIR) + "/bench/sipsbench";

// The figures of a --json report (flat keys, numbers and strings).
class BenchReport {
 public:
  static Result<BenchReport> load(const std::string& path) {
    std::ifstream in(path);
    if (!in) return make_error("no JSON report at " + path);
    std::stringstream ss;
    ss << in.rdbuf();
    BenchReport r;
    r.text_ = ss.str();
    return r;
  }
  // The number after "key": ; NaN when the key is missing.
  double num(const std::string& key) const {
    std::string needle = "\"" + key + "\": ";
    size_t p = text_.find(needle);
    if (p == std::string::npos) return std::nan("");
    return std::strtod(text_.c_str() + p + needle.size(), nullptr);
  }
  const std::string& text() const { return text_; }
  // How many times "key": occurs (e.g. once per element of an array of objects).
  size_t occurrences(const std::string& key) const {
    std::string needle = "\"" + key + "\": ";
    size_t n = 0;
    for (size_t p = text_.find(needle); p != std::string::npos; p = text_.find(needle, p + 1)) ++n;
    return n;
  }
  // The text after "key": up to the next comma or line end (e.g. "null"); "" when missing.
  std::string token(const std::string& key) const {
    std::string needle = "\"" + key + "\": ";
    size_t p = text_.find(needle);
    if (p == std::string::npos) return "";
    p += needle.size();
    return text_.substr(p, text_.find_first_of(",\n", p) - p);
  }
  // Every number after "key": in order.
  std::vector<double> nums(const std::string& key) const {
    std::string needle = "\"" + key + "\": ";
    std::vector<double> out;
    for (size_t p = text_.find(needle); p != std::string::npos; p = text_.find(needle, p + 1))
      out.push_back(std::strtod(text_.c_str() + p + needle.size(), nullptr));
    return out;
  }

 private:
  std::string text_;
};

struct BenchRun {
  RunResult result;
  BenchReport report;
};

BenchRun run_bench_as_given(const std::string& mode, const std::vector<std::string>& args);

// Runs sipsbench MODE with the common short timing and a JSON report in a temporary directory.
BenchRun run_bench(const std::string& mode, const std::vector<std::string>& args) {
  std::vector<std::string> timing = {"--duration", "2", "--warmup", "0.5"};
  timing.insert(timing.end(), args.begin(), args.end());
  return run_bench_as_given(mode, timing);
}

// Runs sipsbench MODE with --timeout 3, a JSON report and `args`, nothing else.
BenchRun run_bench_as_given(const std::string& mode, const std::vector<std::string>& args) {
  TempDir dir("sipsbench-smoke");
  std::vector<std::string> argv = {kSipsbench, mode,     "--timeout",
                                   "3",        "--json", dir.file("report.json")};
  argv.insert(argv.end(), args.begin(), args.end());
  RunOptions ro;
  ro.timeout = 20s;
  BenchRun out;
  out.result = run(argv, ro);
  auto report = BenchReport::load(dir.file("report.json"));
  if (report.ok()) out.report = std::move(report).value();
  return out;
}

std::unique_ptr<SipsdServer> start_server(SipsdOptions options = {}) {
  options.log_level = 2;  // no log line per connection: the harness parses the log
  auto srv = SipsdServer::start(options);
  EXPECT_TRUE(srv.ok()) << srv.message();
  return srv.ok() ? std::move(srv).value() : nullptr;
}

std::string tls_target(const SipsdServer& srv) {
  return "tls:127.0.0.1:" + std::to_string(srv.tls_port());
}

// Checks a throughput run and that the server received at least every request answered.
void expect_clean_throughput(SipsdServer& srv, const BenchRun& b) {
  ASSERT_TRUE(b.result.ok()) << b.result.describe();
  const BenchReport& r = b.report;
  EXPECT_GT(r.num("replies"), 0) << r.text();
  EXPECT_EQ(r.num("errors"), 0) << r.text() << b.result.out;
  EXPECT_EQ(r.num("class_2xx"), r.num("replies")) << r.text();
  EXPECT_GE(r.num("replies_total"), r.num("replies")) << r.text();
  EXPECT_GE(r.num("sent"), r.num("replies_total")) << r.text();
  EXPECT_NE(r.text().find("\"p99_9\": "), std::string::npos) << r.text();
  EXPECT_GE(r.num("server_processes"), 2) << r.text();  // supervisor + workers

  auto answered = static_cast<uint64_t>(r.num("replies_total"));
  auto stats =
      srv.stats_until([&](const ServerStats& s) { return s.get("core:rcv_requests") >= answered; });
  ASSERT_TRUE(stats.ok()) << stats.message();
  EXPECT_GE(stats->get("core:rcv_requests"), answered) << srv.log();
}

TEST(SipsbenchSmoke, ThroughputOverTlsMatchesEveryReply) {
  auto srv = start_server();
  ASSERT_TRUE(srv);
  BenchRun b =
      run_bench("throughput", {"--target", tls_target(*srv), "--ca", test_cert("ca.pem"), "--conns",
                               "2", "--inflight", "8", "--server-pid", std::to_string(srv->pid())});
  expect_clean_throughput(*srv, b);
}

TEST(SipsbenchSmoke, ThroughputOverTcpMatchesEveryReply) {
  auto srv = start_server();
  ASSERT_TRUE(srv);
  BenchRun b =
      run_bench("throughput",
                {"--target", "tcp:127.0.0.1:" + std::to_string(srv->tcp_port()), "--conns", "2",
                 "--inflight", "8", "--workers", "2", "--server-pid", std::to_string(srv->pid())});
  expect_clean_throughput(*srv, b);
}

TEST(SipsbenchSmoke, HandshakeModeCompletesConnections) {
  auto srv = start_server();
  ASSERT_TRUE(srv);
  BenchRun b = run_bench(
      "handshake", {"--target", tls_target(*srv), "--ca", test_cert("ca.pem"), "--conns", "2"});
  ASSERT_TRUE(b.result.ok()) << b.result.describe();
  EXPECT_GT(b.report.num("handshakes"), 0) << b.report.text();
  EXPECT_EQ(b.report.num("errors"), 0) << b.report.text();
  EXPECT_EQ(b.report.num("resumed"), 0) << b.report.text();  // full handshakes only
  auto stats = srv->stats_until([&](const ServerStats& s) {
    return s.get("tls:handshakes_ok") >= static_cast<uint64_t>(b.report.num("handshakes_total"));
  });
  ASSERT_TRUE(stats.ok()) << stats.message();
  EXPECT_GE(stats->get("tls:handshakes_ok"),
            static_cast<uint64_t>(b.report.num("handshakes_total")));
}

// One worker: until session-ticket keys are shared by all workers (DESIGN.md, tls_mgm 5), a
// session resumes only on the worker that issued it, and connections are spread round-robin.
TEST(SipsbenchSmoke, HandshakeModeResumesSessions) {
  SipsdOptions o;
  o.workers = 1;
  auto srv = start_server(o);
  ASSERT_TRUE(srv);
  for (const char* version : {"1.2", "1.3"}) {
    SCOPED_TRACE(std::string("TLS ") + version);
    BenchRun b = run_bench("handshake", {"--target", tls_target(*srv), "--ca", test_cert("ca.pem"),
                                         "--conns", "2", "--resume", "--tls-version", version});
    ASSERT_TRUE(b.result.ok()) << b.result.describe();
    EXPECT_GT(b.report.num("handshakes"), 0) << b.report.text();
    EXPECT_EQ(b.report.num("errors"), 0) << b.report.text();
    EXPECT_GT(b.report.num("resumed_ratio"), 0.5) << b.report.text();
  }
}

// 50 connections held for 2 s with a ping every 0.5 s: all established, every ping answered,
// the sample still answers OPTIONS, the server's memory was read before and after.
TEST(SipsbenchSmoke, IdleHoldsConnectionsAndTheyAnswerPings) {
  auto srv = start_server();
  ASSERT_TRUE(srv);
  BenchRun b = run_bench_as_given(
      "idle", {"--target", tls_target(*srv), "--ca", test_cert("ca.pem"), "--connections", "50",
               "--conns", "8", "--sources", "2", "--duration", "2", "--ping-interval", "0.5",
               "--check", "10", "--server-pid", std::to_string(srv->pid())});
  ASSERT_TRUE(b.result.ok()) << b.result.describe();
  const BenchReport& r = b.report;
  EXPECT_EQ(r.num("connections_requested"), 50) << r.text();
  EXPECT_EQ(r.num("connections_established"), 50) << r.text() << b.result.out;
  EXPECT_EQ(r.num("connections_failed"), 0) << r.text();
  EXPECT_EQ(r.num("errors"), 0) << r.text();
  EXPECT_GE(r.num("pings_sent"), 50) << r.text();  // each connection pinged at least once
  EXPECT_EQ(r.num("pongs_received"), r.num("pings_sent")) << r.text();
  EXPECT_EQ(r.num("checked"), 10) << r.text();
  EXPECT_EQ(r.num("check_ok"), 10) << r.text();
  EXPECT_GT(r.num("server_rss_before_kb"), 0) << r.text();
  EXPECT_GT(r.num("server_rss_after_kb"), 0) << r.text();
  EXPECT_GE(r.num("server_processes"), 2) << r.text();  // supervisor + workers
  for (const char* key : {"server_pss_before_kb", "server_pss_after_kb", "rss_per_conn_bytes",
                          "pss_per_conn_bytes", "server_cpu_s", "bench_cpu_s", "conns"})
    EXPECT_FALSE(std::isnan(r.num(key))) << key << " missing: " << r.text();

  // The server counted the pings as keep-alives and answered the check as requests.
  auto pings = static_cast<uint64_t>(r.num("pings_sent"));
  auto stats = srv->stats_until([&](const ServerStats& s) {
    return s.get("tls:crlf_pings") >= pings && s.get("core:rcv_requests") >= 10;
  });
  ASSERT_TRUE(stats.ok()) << stats.message();
  EXPECT_GE(stats->get("core:rcv_requests"), 10u) << srv->log();
}

TEST(SipsbenchSmoke, IdleWithNoServerFails) {
  BenchRun b =
      run_bench_as_given("idle", {"--target", "tcp:127.0.0.1:" + std::to_string(free_tcp_port()),
                                  "--connections", "5", "--duration", "0.2"});
  ASSERT_TRUE(b.result.started) << b.result.describe();
  ASSERT_FALSE(b.result.timed_out) << b.result.describe();
  EXPECT_TRUE(b.result.status.exited && b.result.status.code == 1) << b.result.describe();
  EXPECT_EQ(b.report.num("connections_established"), 0) << b.report.text();
  EXPECT_EQ(b.report.num("connections_failed"), 5) << b.report.text();
  EXPECT_GT(b.report.num("connect_failed"), 5) << b.report.text();  // with the retries
}

// Three short steps (200, 400, 800 req/s): every step reports offered, achieved and latency
// percentiles, and the server received every request answered.
TEST(SipsbenchSmoke, RampRunsItsSteps) {
  auto srv = start_server();
  ASSERT_TRUE(srv);
  BenchRun b = run_bench_as_given("ramp", {"--target",
                                           tls_target(*srv),
                                           "--ca",
                                           test_cert("ca.pem"),
                                           "--conns",
                                           "2",
                                           "--rate-start",
                                           "200",
                                           "--rate-step",
                                           "2",
                                           "--rate-max",
                                           "800",
                                           "--step-duration",
                                           "1",
                                           "--warmup",
                                           "0.3",
                                           "--p99-cap",
                                           "2000",
                                           "--server-pid",
                                           std::to_string(srv->pid())});
  ASSERT_TRUE(b.result.ok()) << b.result.describe();
  const BenchReport& r = b.report;
  EXPECT_EQ(r.num("errors"), 0) << r.text();
  // A step that did not keep up (a stall on a loaded machine) ends the ramp early; the first
  // one always runs, and the steps run in order.
  std::vector<double> offered = r.nums("offered_per_s");
  ASSERT_GE(offered.size(), 1u) << r.text();
  ASSERT_LE(offered.size(), 3u) << r.text();
  const double expected[] = {200, 400, 800};
  for (size_t i = 0; i < offered.size(); ++i) EXPECT_EQ(offered[i], expected[i]) << r.text();
  if (offered.size() < 3) {
    EXPECT_NE(r.text().find("did not keep up"), std::string::npos) << r.text();
  }
  EXPECT_EQ(r.occurrences("achieved_per_s"), offered.size()) << r.text();
  EXPECT_EQ(r.occurrences("p99_9"), offered.size()) << r.text();
  EXPECT_GT(r.nums("achieved_per_s").front(), 0) << r.text();
  EXPECT_GT(r.num("max_sustained_per_s"), 0) << r.text();
  EXPECT_EQ(r.occurrences("p99_over_1ms_at_offered"), 1u) << r.text();
  EXPECT_EQ(r.occurrences("p99_over_10ms_at_offered"), 1u) << r.text();
  // Where p99 stays over 1 ms / 10 ms: the offered rate of the first step of the final run of
  // steps whose p99 is over it; null when the last step is not (the steps' p99 is in us).
  std::vector<double> p99_us = r.nums("p99");
  ASSERT_EQ(p99_us.size(), offered.size()) << r.text();
  auto stays_over_from = [&](double limit_us) {
    std::string from = "null";
    for (size_t i = 0; i < offered.size(); ++i) {
      if (p99_us[i] <= limit_us) {
        from = "null";
      } else if (from == "null") {
        char text[32];
        snprintf(text, sizeof text, "%.3f", offered[i]);
        from = text;
      }
    }
    return from;
  };
  EXPECT_EQ(r.token("p99_over_1ms_at_offered"), stays_over_from(1000)) << r.text();
  EXPECT_EQ(r.token("p99_over_10ms_at_offered"), stays_over_from(10000)) << r.text();
  EXPECT_NE(b.result.out.find("p99 stays over 1 ms from"), std::string::npos) << b.result.out;

  auto answered = static_cast<uint64_t>(r.num("replies_total"));
  EXPECT_GT(answered, 0u) << r.text();
  auto stats = srv->stats_until(
      [&](const ServerStats& s) { return s.get("core:rcv_requests") >= answered; });
  ASSERT_TRUE(stats.ok()) << stats.message();
  EXPECT_GE(stats->get("core:rcv_requests"), answered) << srv->log();
}

// --- call mode ----------------------------------------------------------------------------

// Keys every call report carries (the numbers bench-compare and the README rely on).
void expect_call_report_keys(const BenchReport& r) {
  for (const char* key : {"calls_attempted",
                          "calls_completed",
                          "calls_failed",
                          "calls_unfinished",
                          "calls_per_s",
                          "failed_timeout",
                          "failed_non2xx",
                          "failed_transport",
                          "failed_protocol",
                          "skipped",
                          "p50",
                          "p90",
                          "p99",
                          "max",
                          "calls_started_total",
                          "trying_received",
                          "ringing_received",
                          "invite_retransmits",
                          "bye_retransmits",
                          "callee_invites",
                          "callee_byes",
                          "errors",
                          "bench_cpu_s",
                          "callers_ready",
                          "callees_ready"})
    EXPECT_FALSE(std::isnan(r.num(key))) << key << " missing: " << r.text();
  EXPECT_EQ(r.occurrences("setup_latency_us"), 1u) << r.text();
  EXPECT_EQ(r.occurrences("bye_latency_us"), 1u) << r.text();
  EXPECT_EQ(r.occurrences("failed_codes"), 1u) << r.text();
}

// A caller talking straight to a callee (no proxy): the caller's target is the callee's
// listener, so INVITE, ACK and BYE all reach it and every call must complete.
BenchRun run_direct_calls(const std::string& transport, std::vector<std::string> extra) {
  std::string port = std::to_string(free_tcp_port());
  std::vector<std::string> args = {"--target",        transport + ":127.0.0.1:" + port,
                                   "--callee-listen", "127.0.0.1:" + port,
                                   "--callees",       "1",
                                   "--conns",         "2"};
  if (transport == "tls") {
    args.insert(args.end(), {"--ca", test_cert("ca.pem"), "--cert", test_cert("cert.pem"), "--key",
                             test_cert("ckey.pem")});
  }
  args.insert(args.end(), extra.begin(), extra.end());
  return run_bench("call", args);
}

void expect_clean_calls(const BenchRun& b, int callees = 1) {
  ASSERT_TRUE(b.result.ok()) << b.result.describe();
  const BenchReport& r = b.report;
  expect_call_report_keys(r);
  EXPECT_GT(r.num("calls_completed"), 0) << r.text() << b.result.out;
  EXPECT_EQ(r.num("calls_failed"), 0) << r.text() << b.result.out;
  EXPECT_EQ(r.num("errors"), 0) << r.text();
  EXPECT_EQ(r.num("calls_attempted"),
            r.num("calls_completed") + r.num("calls_failed") + r.num("calls_unfinished"))
      << r.text();
  EXPECT_GT(r.num("calls_per_s"), 0) << r.text();
  EXPECT_EQ(r.num("callers_ready"), 2) << r.text();
  EXPECT_EQ(r.num("callees_ready"), callees) << r.text();
  // The callee saw every call the caller finished, with its ACK and its BYE.
  EXPECT_GE(r.num("callee_invites"), r.num("calls_completed_total")) << r.text();
  EXPECT_GE(r.num("callee_acks"), r.num("calls_completed_total")) << r.text();
  EXPECT_GE(r.num("callee_byes"), r.num("calls_completed_total")) << r.text();
  EXPECT_EQ(r.num("ringing_received"), r.num("calls_started_total")) << r.text();
  EXPECT_NE(b.result.out.find("setup (ms)"), std::string::npos) << b.result.out;
}

TEST(SipsbenchSmoke, CallsOverTcpComplete) {
  expect_clean_calls(run_direct_calls("tcp", {"--concurrent", "8"}));
}

TEST(SipsbenchSmoke, CallsOverTlsComplete) {
  expect_clean_calls(run_direct_calls("tls", {"--concurrent", "8", "--workers", "2"}));
}

// Open loop over UDP with a hold time: paced calls, each held 20 ms before its BYE.
TEST(SipsbenchSmoke, PacedCallsOverUdpComplete) {
  BenchRun b = run_direct_calls("udp", {"--rate", "200", "--hold", "20"});
  expect_clean_calls(b);
  const BenchReport& r = b.report;
  // 200 calls/s for 2 s (give or take a scheduling hiccup on a loaded machine).
  EXPECT_GT(r.num("calls_attempted"), 250) << r.text();
  EXPECT_LE(r.num("calls_attempted"), 401) << r.text();
  EXPECT_EQ(r.token("load"), "\"rate\"") << r.text();
  // The BYE follows the hold: the call's BYE latency is not the hold.
  EXPECT_GT(r.num("p50"), 0) << r.text();
}

// Connect mode against sipsd with the test servers' route script (OPTIONS -> 200, anything else
// -> 501): the callees announce themselves, every INVITE is answered 501, and the report says so
// by reason and code (and the exit status by 1: no call completed).
TEST(SipsbenchSmoke, CallsThroughAServerThatAnswers501FailWithTheirCode) {
  auto srv = start_server();
  ASSERT_TRUE(srv);
  BenchRun b = run_bench("call", {"--target", tls_target(*srv), "--ca", test_cert("ca.pem"),
                                  "--callee-mode", "connect", "--callees", "3", "--conns", "1",
                                  "--concurrent", "4", "--server-pid", std::to_string(srv->pid())});
  ASSERT_TRUE(b.result.started) << b.result.describe();
  ASSERT_FALSE(b.result.timed_out) << b.result.describe();
  EXPECT_TRUE(b.result.status.exited && b.result.status.code == 1) << b.result.describe();
  const BenchReport& r = b.report;
  expect_call_report_keys(r);
  EXPECT_EQ(r.num("callees_ready"), 3) << r.text();
  EXPECT_EQ(r.num("calls_completed"), 0) << r.text();
  EXPECT_GT(r.num("calls_failed"), 0) << r.text();
  EXPECT_EQ(r.num("failed_non2xx"), r.num("calls_failed")) << r.text();
  EXPECT_NE(r.text().find("\"INVITE 501\": "), std::string::npos) << r.text();
  EXPECT_EQ(r.num("callee_invites"), 0) << r.text();
  EXPECT_GE(r.num("server_processes"), 2) << r.text();
}

TEST(SipsbenchSmoke, CallModeRejectsBadOptions) {
  for (std::vector<std::string> args :
       {std::vector<std::string>{"call", "--target", "tcp:127.0.0.1:5060", "--inflight", "4"},
        std::vector<std::string>{"call", "--target", "tls:127.0.0.1:5061"},  // no --cert
        std::vector<std::string>{"call", "--target", "127.0.0.1:5060"},      // no protocol
        std::vector<std::string>{"call", "--target", "udp:127.0.0.1:5060", "--transport", "tcp"},
        std::vector<std::string>{"throughput", "--target", "udp:127.0.0.1:5060"},
        std::vector<std::string>{"throughput", "--target", "tcp:127.0.0.1:5060", "--hold", "1"}}) {
    args.insert(args.begin(), kSipsbench);
    RunResult r = run(args);
    ASSERT_TRUE(r.started) << r.describe();
    EXPECT_TRUE(r.status.exited && r.status.code == 2) << r.describe();
  }
}

TEST(SipsbenchSmoke, RejectsOptionsOfAnotherMode) {
  for (std::vector<std::string> args :
       {std::vector<std::string>{"throughput", "--connections", "10"},
        std::vector<std::string>{"idle", "--rate-start", "10"},
        std::vector<std::string>{"ramp", "--duration", "10"},
        std::vector<std::string>{"throughput", "--users", "10"},
        std::vector<std::string>{"register", "--callees", "2"},
        std::vector<std::string>{"register", "--nonce-reuse", "maybe"}}) {
    args.insert(args.begin(), kSipsbench);
    args.insert(args.end(), {"--target", "tcp:127.0.0.1:5060"});
    RunResult r = run(args);
    ASSERT_TRUE(r.started) << r.describe();
    EXPECT_TRUE(r.status.exited && r.status.code == 2) << r.describe();
  }
}

TEST(SipsbenchSmoke, NothingSucceedingIsAFailure) {
  // Nobody listens on the port: every connect is refused, the exit status says so.
  TempDir dir("sipsbench-smoke");
  RunOptions ro;
  ro.timeout = 10s;
  RunResult r =
      run({kSipsbench, "throughput", "--target", "tcp:127.0.0.1:" + std::to_string(free_tcp_port()),
           "--duration", "0.5", "--warmup", "0", "--json", dir.file("report.json")},
          ro);
  ASSERT_TRUE(r.started) << r.describe();
  ASSERT_FALSE(r.timed_out) << r.describe();
  EXPECT_TRUE(r.status.exited && r.status.code == 1) << r.describe();
  EXPECT_NE(r.err.find("nothing succeeded"), std::string::npos) << r.err;
  auto report = BenchReport::load(dir.file("report.json"));
  ASSERT_TRUE(report.ok()) << report.message();
  EXPECT_EQ(report->num("replies"), 0);
  EXPECT_GT(report->num("connect_failed"), 0) << report->text();
}

// --- register mode -------------------------------------------------------------------------

// sipsd as a registrar with digest auth: auth_db on a SQLite file made with sipsctl (users
// alice0..alice5@a.example, passwords pw0..pw5), usrloc + registrar saving the contacts; and
// as the proxy of that domain: INVITEs challenged (proxy_authorize), then lookup("location"),
// record_route() and t_relay().
class SipsbenchRegister : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string url = "sqlite://" + dir_.file("sipsd.db");
    RunResult init = run({SIPSCTL_BINARY, "db", "init", url});
    ASSERT_TRUE(init.ok()) << init.describe();
    for (int i = 0; i < kSubscribers; ++i) {
      std::string aor = "alice" + std::to_string(i) + "@a.example";
      RunResult add =
          run({SIPSCTL_BINARY, "user", "add", aor, "pw" + std::to_string(i), "--db", url});
      ASSERT_TRUE(add.ok()) << add.describe();
    }
    SipsdOptions o;
    o.udp = true;
    o.log_level = 2;
    o.modparams = {"loadmodule \"tm.so\"",
                   "loadmodule \"rr.so\"",
                   "loadmodule \"usrloc.so\"",
                   "loadmodule \"registrar.so\"",
                   "loadmodule \"auth.so\"",
                   "loadmodule \"auth_db.so\"",
                   "modparam(\"auth_db\", \"db_url\", \"" + url + "\")",
                   "modparam(\"auth_db\", \"load_credentials\", \"\")"};
    o.route = R"(route {
  if (has_totag()) {
    if (loose_route()) t_relay();
    exit;  # and the ACK of a 407
  }
  if (is_method("REGISTER")) {
    if (!www_authorize("", "subscriber")) {
      www_challenge("", "auth");
      exit;
    }
    consume_credentials();
    if (!save("location")) sl_reply_error();
    exit;
  }
  if (is_method("OPTIONS")) {
    sl_send_reply(200, "OK");
    exit;
  }
  if (is_method("INVITE")) {
    if (!proxy_authorize("", "subscriber")) {
      proxy_challenge("", "auth");
      exit;
    }
    consume_credentials();
    if (!lookup("location")) {
      sl_send_reply(404, "Not Found");
      exit;
    }
    record_route();
    t_relay();
    exit;
  }
  sl_send_reply(501, "Not Implemented");
})";
    auto srv = SipsdServer::start(o);
    ASSERT_TRUE(srv.ok()) << srv.message();
    srv_ = std::move(srv).value();
  }

  BenchRun run_register(const std::string& target, std::vector<std::string> extra) {
    std::vector<std::string> args = {
        "--target",  target,       "--users", std::to_string(kUsers), "--domain",
        "a.example", "--password", "pw{i}",   "--server-pid",         std::to_string(srv_->pid())};
    args.insert(args.end(), extra.begin(), extra.end());
    return run_bench("register", args);
  }

  static void expect_clean(const BenchRun& b) {
    ASSERT_TRUE(b.result.ok()) << b.result.describe();
    const BenchReport& r = b.report;
    EXPECT_GT(r.num("registrations_completed"), 0) << r.text() << b.result.out;
    EXPECT_EQ(r.num("registrations_failed"), 0) << r.text() << b.result.out;
    EXPECT_EQ(r.num("errors"), 0) << r.text();
    EXPECT_GT(r.num("challenges"), 0) << r.text();
    EXPECT_GT(r.num("registrations_per_server_cpu_s"), 0) << r.text();
    EXPECT_NE(r.text().find("\"nonce_policy\": "), std::string::npos) << r.text();
    EXPECT_NE(b.result.out.find("registrations/s"), std::string::npos) << b.result.out;
  }

  std::string tls_target() const { return "tls:127.0.0.1:" + std::to_string(srv_->tls_port()); }

  static constexpr int kUsers = 3;  // register mode's
  static constexpr int kSubscribers = 6;
  TempDir dir_{"sipsbench-register"};
  std::unique_ptr<SipsdServer> srv_;
};

// Closed loop over TLS: every subscriber re-registers many times; sipsd accepts the reused
// nonce with the next nonce-count, so most registrations need no new challenge.
TEST_F(SipsbenchRegister, RegistrationsOverTlsComplete) {
  BenchRun b = run_register("tls:127.0.0.1:" + std::to_string(srv_->tls_port()),
                            {"--concurrent", "3", "--conns", "2"});
  expect_clean(b);
  EXPECT_GT(b.report.num("nonce_reuse_accepted"), 0) << b.report.text();
}

// Paced over UDP, every registration challenged afresh (--nonce-reuse no).
TEST_F(SipsbenchRegister, PacedRegistrationsOverUdpWithoutNonceReuseComplete) {
  BenchRun b = run_register("udp:127.0.0.1:" + std::to_string(srv_->udp_port()),
                            {"--rate", "100", "--nonce-reuse", "no"});
  expect_clean(b);
  const BenchReport& r = b.report;
  EXPECT_EQ(r.num("nonce_reused"), 0) << r.text();
  // Every registration was challenged once: half of the REGISTERs got a 401.
  EXPECT_EQ(r.num("challenges"), r.num("with_credentials")) << r.text();
}

// A wrong password: every registration fails as "auth rejected", and the exit status says so.
TEST_F(SipsbenchRegister, AWrongPasswordIsCountedAsAuthRejected) {
  BenchRun b = run_register("tcp:127.0.0.1:" + std::to_string(srv_->tcp_port()),
                            {"--concurrent", "1", "--password", "wrong"});
  EXPECT_TRUE(b.result.status.exited && b.result.status.code == 1) << b.result.describe();
  EXPECT_EQ(b.report.num("registrations_completed"), 0) << b.report.text();
  EXPECT_GT(b.report.num("failed_auth"), 0) << b.report.text();
}

// Authenticated calls (issue 11): callees alice0 and alice1 register with digest auth, callers
// alice2 and alice3 are challenged on every INVITE, ACK the 407 and send the INVITE again with
// Proxy-Authorization; sipsd finds the callees with lookup("location") and reaches them over
// their registration connections.
TEST_F(SipsbenchRegister, AuthenticatedCallsReachRegisteredCallees) {
  BenchRun b = run_bench(
      "call", {"--target", tls_target(), "--ca", test_cert("ca.pem"), "--callee-mode", "register",
               "--caller-auth", "--callees", "2", "--conns", "2", "--concurrent", "4", "--domain",
               "a.example", "--password", "pw{i}", "--server-pid", std::to_string(srv_->pid())});
  expect_clean_calls(b, 2);
  const BenchReport& r = b.report;
  EXPECT_EQ(r.num("callee_registered"), 2) << r.text();
  // Every call started was challenged once (the measured ones are a part of them).
  EXPECT_EQ(r.num("caller_challenges"), r.num("calls_started_total")) << r.text();
  EXPECT_EQ(r.num("auth_refused"), 0) << r.text();
  EXPECT_NE(b.result.out.find("INVITEs challenged"), std::string::npos) << b.result.out;
}

// Idle mode with --register: each held connection registers one subscriber (alice2..alice5)
// before it idles, then answers the check.
TEST_F(SipsbenchRegister, IdleConnectionsRegisterBeforeTheyIdle) {
  BenchRun b = run_bench_as_given(
      "idle", {"--target", tls_target(), "--ca", test_cert("ca.pem"), "--register", "--connections",
               "4", "--first-user", "2", "--domain", "a.example", "--duration", "0.5", "--check",
               "2", "--server-pid", std::to_string(srv_->pid())});
  ASSERT_TRUE(b.result.ok()) << b.result.describe();
  const BenchReport& r = b.report;
  EXPECT_EQ(r.num("registered"), 4) << r.text() << b.result.out;
  EXPECT_EQ(r.num("register_failed"), 0) << r.text();
  EXPECT_EQ(r.num("register_challenges"), 4) << r.text();
  EXPECT_EQ(r.num("connections_established"), 4) << r.text();
  EXPECT_EQ(r.num("check_ok"), 2) << r.text();
}

TEST(SipsbenchSmoke, RefusesTargetsOffLoopback) {
  RunResult r = run({kSipsbench, "throughput", "--target", "tls:192.0.2.1:5061"});
  ASSERT_TRUE(r.started) << r.describe();
  EXPECT_TRUE(r.status.exited && r.status.code == 2) << r.describe();
  EXPECT_NE(r.err.find("loopback"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace sipsd::test
