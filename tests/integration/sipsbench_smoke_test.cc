// sipsbench against the real sipsd for a couple of seconds: proves the load generator works
// (replies matched, nothing lost, the server saw every request, resumption happens, failure is
// reported by the exit status). Asserts on counts only, never on speed.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
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

 private:
  std::string text_;
};

struct BenchRun {
  RunResult result;
  BenchReport report;
};

// Runs sipsbench MODE with the common short timing and a JSON report in a temporary directory.
BenchRun run_bench(const std::string& mode, const std::vector<std::string>& args) {
  TempDir dir("sipsbench-smoke");
  std::vector<std::string> argv = {
      kSipsbench, mode,        "--duration", "2",      "--warmup",
      "0.5",      "--timeout", "3",          "--json", dir.file("report.json")};
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
      srv.stats_until([&](const ServerStats& s) { return s.sum("core:rcv_requests") >= answered; });
  ASSERT_TRUE(stats.ok()) << stats.message();
  EXPECT_GE(stats->sum("core:rcv_requests"), answered) << srv.log();
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
    return s.sum("tls:handshakes_ok") >= static_cast<uint64_t>(b.report.num("handshakes_total"));
  });
  ASSERT_TRUE(stats.ok()) << stats.message();
  EXPECT_GE(stats->sum("tls:handshakes_ok"),
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

TEST(SipsbenchSmoke, RefusesTargetsOffLoopback) {
  RunResult r = run({kSipsbench, "throughput", "--target", "tls:192.0.2.1:5061"});
  ASSERT_TRUE(r.started) << r.describe();
  EXPECT_TRUE(r.status.exited && r.status.code == 2) << r.describe();
  EXPECT_NE(r.err.find("loopback"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace sipsd::test
