// Logging as OpenSIPS does it: syslog for real (a datagram socket the test binds stands in for
// /dev/log through SIPSD_SYSLOG_SOCKET), facility, tag, log_prefix, level filters, JSON formats
// and xlog_level.
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <regex>
#include <string>
#include <vector>

#include "core/base/unique_fd.h"
#include "tests/integration/sipsd_server.h"
#include "tests/integration/test_env.h"

namespace sipsd::test {
namespace {

using namespace std::chrono_literals;

// A Unix datagram socket at a temporary path, named to sipsd through SIPSD_SYSLOG_SOCKET while
// it lives.
class FakeSyslog {
 public:
  FakeSyslog() : path_(dir_.file("log")) {
    fd_.reset(socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    strncpy(sa.sun_path, path_.c_str(), sizeof sa.sun_path - 1);
    bound_ = bind(fd_.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0;
    setenv("SIPSD_SYSLOG_SOCKET", path_.c_str(), 1);
  }
  ~FakeSyslog() { unsetenv("SIPSD_SYSLOG_SOCKET"); }
  bool bound() const { return bound_; }

  // The first datagram (read so far or arriving within `timeout`) containing `needle`.
  std::string wait_for(const std::string& needle, std::chrono::milliseconds timeout = 5s) {
    for (const std::string& d : seen_)
      if (d.find(needle) != std::string::npos) return d;
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      pollfd p{fd_.get(), POLLIN, 0};
      if (poll(&p, 1, 100) <= 0) continue;
      char buf[8192];
      ssize_t n = recv(fd_.get(), buf, sizeof buf, 0);
      if (n <= 0) continue;
      seen_.emplace_back(buf, static_cast<size_t>(n));
      if (seen_.back().find(needle) != std::string::npos) return seen_.back();
    }
    return {};
  }
  std::string all() const {
    std::string out;
    for (const std::string& d : seen_) out += d + "\n";
    return out;
  }

 private:
  TempDir dir_{"sipsd-syslog"};
  std::string path_;
  UniqueFd fd_;
  bool bound_ = false;
  std::vector<std::string> seen_;
};

SipsdOptions marker_route(std::vector<std::string> globals) {
  SipsdOptions o;
  o.workers = 1;
  o.globals = std::move(globals);
  o.route =
      "route {\n"
      "  xlog(\"L_NOTICE\", \"call $ci\\n\");\n"
      "  xlog(\"L_INFO\", \"info $ci\\n\");\n"
      "  sl_send_reply(200, \"OK\");\n"
      "}\n";
  return o;
}

void send_options(SipsdServer& srv, const std::string& call_id) {
  auto c = SipTestClient::connect_tls("127.0.0.1", srv.tls_port(), default_tls_options());
  ASSERT_TRUE(c.ok()) << c.message();
  SipRequestSpec spec;
  spec.call_id = call_id;
  ASSERT_TRUE((*c)->send((*c)->make_options(spec).text).ok());
  auto reply = (*c)->read_reply(5s);
  ASSERT_TRUE(reply.ok()) << reply.message();
}

TEST(Logging, SyslogGetsFacilityTagPrefixAndLevel) {
  FakeSyslog syslog;
  ASSERT_TRUE(syslog.bound());
  auto srv = SipsdServer::start(
      marker_route({"syslog_enabled = yes", "syslog_facility = LOG_LOCAL3",
                    "syslog_name = \"edge-proxy\"", "log_prefix = \"[edge] \""}));
  ASSERT_TRUE(srv.ok()) << srv.message();
  send_options(**srv, "marker-1");
  std::string d = syslog.wait_for("call marker-1");
  // <PRI> = LOG_LOCAL3 (19 << 3) + LOG_NOTICE (5); then "Mmm dd hh:mm:ss TAG[PID]: MESSAGE".
  EXPECT_TRUE(std::regex_search(
      d, std::regex(R"(^<157>[A-Z][a-z]{2} [ 0-9]\d \d\d:\d\d:\d\d edge-proxy\[\d+\]: )"
                    R"(\[edge\] NOTICE:call marker-1$)")))
      << d << "\nall:\n"
      << syslog.all();
  // The core's own lines carry their module; INFO from xlog is below xlog_level (2).
  std::string ready = syslog.wait_for(" ready: ");
  EXPECT_NE(ready.find("[edge] NOTICE:core: "), std::string::npos) << ready;
  EXPECT_EQ(syslog.wait_for("info marker-1", 200ms), "");
  // stderr keeps its own plain format with the prefix.
  EXPECT_NE((*srv)->log().find("] [edge] NOTICE:call marker-1"), std::string::npos)
      << (*srv)->log();
  EXPECT_TRUE((*srv)->stop().success());
}

TEST(Logging, LevelFiltersAndXlogLevel) {
  FakeSyslog syslog;
  ASSERT_TRUE(syslog.bound());
  // syslog gets WARN and worse only; stderr everything; xlog prints up to INFO.
  auto srv = SipsdServer::start(
      marker_route({"syslog_enabled = 1", "syslog_level_filter = 1", "xlog_level = 3"}));
  ASSERT_TRUE(srv.ok()) << srv.message();
  send_options(**srv, "marker-2");
  EXPECT_TRUE((*srv)->wait_for_log("INFO:info marker-2")) << (*srv)->log();
  EXPECT_EQ(syslog.wait_for("marker-2", 300ms), "") << syslog.all();
  EXPECT_TRUE((*srv)->stop().success());
}

TEST(Logging, JsonOnStderrAndJsonCeeOnSyslog) {
  FakeSyslog syslog;
  ASSERT_TRUE(syslog.bound());
  auto srv = SipsdServer::start(marker_route(
      {"stderror_log_format = \"json\"", "syslog_enabled = yes", "syslog_log_format = \"json_cee\"",
       "syslog_name = \"edge\"", "log_prefix = \"edge1:\""}));
  ASSERT_TRUE(srv.ok()) << srv.message();
  send_options(**srv, "marker\"3\"");
  EXPECT_TRUE((*srv)->wait_for_log("call marker\\\"3\\\"")) << (*srv)->log();
  EXPECT_TRUE(std::regex_search(
      (*srv)->log(),
      std::regex(R"(\{"time": "[A-Z][a-z]{2} \d\d \d\d:\d\d:\d\d", "pid": \d+, "level": "NOTICE", )"
                 R"("prefix": "edge1", "message": "call marker\\"3\\""\})")))
      << (*srv)->log();
  EXPECT_TRUE(
      std::regex_search((*srv)->log(), std::regex(R"("level": "NOTICE", "module": "core", )")))
      << (*srv)->log();
  std::string d = syslog.wait_for("call marker");
  EXPECT_TRUE(std::regex_search(
      d, std::regex(R"(^<29>.* edge\[\d+\]: @cee: \{"time": "[^"]+", "proc": \{"id": "\d+"\}, )"
                    R"("pri": "NOTICE", "native": \{"log_prefix": "edge1"\}, )"
                    R"("msg": "call marker\\"3\\"", "pname": "edge", "hostname": "[^"]*"\}$)")))
      << d << "\nall:\n"
      << syslog.all();
  EXPECT_TRUE((*srv)->stop().success());
}

// acc: do_accounting("log", ...) writes OpenSIPS's ACC lines when the transaction's final reply
// goes upstream, at acc's log_level, with acc's log_facility on syslog.
TEST(Logging, AccountingToTheLog) {
  FakeSyslog syslog;
  ASSERT_TRUE(syslog.bound());
  SipsdOptions o;
  o.workers = 1;
  o.globals = {"syslog_enabled = yes"};
  o.modparams = {"loadmodule \"tm.so\"", "loadmodule \"acc.so\"",
                 "modparam(\"acc\", \"log_facility\", \"LOG_LOCAL5\")",
                 "modparam(\"acc\", \"early_media\", 0)"};
  o.route =
      "route {\n"
      "  t_newtran();\n"
      "  if (is_method(\"OPTIONS\")) { do_accounting(\"log\"); t_reply(200, \"OK\"); exit; }\n"
      "  if ($ci == \"acc-quiet\") { do_accounting(\"log\"); t_reply(404, \"Not Here\"); exit; }\n"
      "  do_accounting(\"log\", \"missed|failed\");\n"
      "  t_reply(486, \"Busy Here\");\n"
      "}\n";
  auto srv = SipsdServer::start(o);
  ASSERT_TRUE(srv.ok()) << srv.message();
  auto c = SipTestClient::connect_tls("127.0.0.1", (*srv)->tls_port(), default_tls_options());
  ASSERT_TRUE(c.ok()) << c.message();
  auto send = [&](const std::string& method, const std::string& call_id) {
    SipRequestSpec spec;
    spec.method = method;
    spec.call_id = call_id;
    spec.from_tag = "ft-" + call_id;
    EXPECT_GE(final_status(**c, spec), 200) << method << " " << call_id;
  };
  send("OPTIONS", "acc-ok");
  send("MESSAGE", "acc-quiet");
  send("INVITE", "acc-busy");
  std::string ok = syslog.wait_for("call_id=acc-ok");
  EXPECT_TRUE(std::regex_search(
      ok, std::regex(R"(^<173>.* sipsd\[\d+\]: NOTICE:ACC: transaction answered: )"
                     R"(timestamp=\d+;method=OPTIONS;from_tag=ft-acc-ok;to_tag=[^;]+;)"
                     R"(call_id=acc-ok;code=200;reason=OK$)")))
      << ok << "\nall:\n"
      << syslog.all();
  std::string missed = syslog.wait_for("ACC: call missed");
  EXPECT_NE(missed.find("method=INVITE;from_tag=ft-acc-busy;"), std::string::npos) << missed;
  EXPECT_NE(missed.find("call_id=acc-busy;code=486;reason=Busy Here"), std::string::npos) << missed;
  syslog.wait_for("no such line", 300ms);  // collect what else arrives
  EXPECT_TRUE(std::regex_search(
      syslog.all(), std::regex(R"(ACC: transaction answered: timestamp=\d+;method=INVITE;)"
                               R"(.*call_id=acc-busy;code=486;reason=Busy Here)")))
      << syslog.all();
  // Without "failed", a negative reply is not accounted.
  EXPECT_EQ(syslog.wait_for("call_id=acc-quiet", 300ms), "") << syslog.all();
  // stderr gets them too (no module part: "NOTICE:ACC: ...").
  EXPECT_NE((*srv)->log().find("] NOTICE:ACC: transaction answered: "), std::string::npos)
      << (*srv)->log();
  EXPECT_TRUE((*srv)->stop().success());
}

}  // namespace
}  // namespace sipsd::test
