#include "tests/integration/sipp_runner.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

#include "tests/integration/sipsd_server.h"

namespace sipsd::test {

using namespace std::chrono_literals;

namespace {

// True once something is bound to 127.0.0.1:port (UDP or TCP): binding it ourselves fails.
bool port_taken(int type, uint16_t port) {
  int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
  const bool taken = bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0;
  close(fd);
  return taken;
}

bool wait_bound(int type, uint16_t port, std::chrono::milliseconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (port_taken(type, port)) return true;
    std::this_thread::sleep_for(20ms);
  }
  return false;
}

std::vector<std::string> split_cells(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string cell;
  while (std::getline(ss, cell, ';')) out.push_back(cell);
  return out;
}

}  // namespace

std::optional<SippCounts> read_sipp_counts(const std::string& csv, std::string* why) {
  std::ifstream in(csv);
  std::string header, line, last;
  if (!std::getline(in, header)) {
    *why = "no statistics file " + csv;
    return std::nullopt;
  }
  while (std::getline(in, line))
    if (!line.empty()) last = line;
  std::vector<std::string> names = split_cells(header), values = split_cells(last);
  std::map<std::string, std::string> row;
  for (size_t i = 0; i < names.size() && i < values.size(); ++i) row[names[i]] = values[i];
  auto get = [&](const std::string& name, uint64_t* out) {
    auto it = row.find(name);
    if (it == row.end()) return false;
    *out = std::stoull(it->second);
    return true;
  };
  SippCounts c;
  if (!get("SuccessfulCall(C)", &c.successful) || !get("FailedCall(C)", &c.failed) ||
      !get("TotalCallCreated", &c.created) || !get("Retransmissions(C)", &c.retransmissions)) {
    *why = "unexpected statistics in " + csv + ":\n" + header + "\n" + last;
    return std::nullopt;
  }
  return c;
}

size_t count_request_lines(const std::string& trace, const std::string& method) {
  std::ifstream in(trace);
  std::string line;
  size_t n = 0;
  while (std::getline(in, line))
    if (line.rfind(method + " sip:", 0) == 0) ++n;
  return n;
}

// The trace shows each message as "<T> message received [N] bytes :\n\n" and then the N bytes
// as they came.
std::vector<SipMessage> received_messages(const std::string& trace_file) {
  const std::string trace = read_file(trace_file);
  const std::string mark = " message received [";
  std::vector<SipMessage> out;
  for (size_t p = trace.find(mark); p != std::string::npos; p = trace.find(mark, p + 1)) {
    size_t n = std::strtoul(trace.c_str() + p + mark.size(), nullptr, 10);
    size_t start = trace.find(" bytes :\n\n", p);
    if (start == std::string::npos) break;
    start += 10;
    if (auto m = SipMessage::parse(trace.substr(start, n)); m.ok()) out.push_back(*m);
  }
  return out;
}

Sipp Sipp::make(const TempDir& in, std::string role, std::string xml, std::string t, int calls) {
  Sipp s;
  s.dir = in.path();
  s.name = std::move(role);
  s.scenario = std::move(xml);
  s.transport = std::move(t);
  s.port = free_tcp_port();
  s.calls = calls;
  return s;
}

std::vector<std::string> Sipp::argv(const std::string& remote) const {
  std::vector<std::string> a = {"sipp",
                                "-sf",
                                source_dir() + "/tests/integration/sipp/" + scenario,
                                "-t",
                                transport,
                                "-i",
                                "127.0.0.1",
                                "-bind_local",
                                "-p",
                                std::to_string(port),
                                "-m",
                                std::to_string(calls),
                                "-nostdin",
                                "-recv_timeout",
                                "5000",
                                "-timeout",
                                "30s",
                                "-timeout_error",
                                "-trace_err",
                                "-error_file",
                                dir + "/" + name + "_errors.log",
                                "-trace_msg",
                                "-message_file",
                                messages(),
                                "-trace_stat",
                                "-stf",
                                dir + "/" + name + ".csv"};
  for (const auto& [k, v] : keys) a.insert(a.end(), {"-key", k, v});
  a.insert(a.end(), extra.begin(), extra.end());
  if (!remote.empty()) a.insert(a.end(), {"-r", "20", "-l", "5", remote});
  return a;
}

Result<Child> Sipp::start_uas() const {
  ChildOptions co;
  co.cwd = dir;
  Result<Child> c = Child::start(argv(""), co);
  if (!c.ok()) return c;
  if (!wait_bound(transport[0] == 'u' ? SOCK_DGRAM : SOCK_STREAM, port, 5s))
    return make_error("sipp UAS never bound its port:\n" + c->describe());
  return c;
}

RunResult Sipp::run_to_end(const std::string& remote) const {
  RunOptions ro;
  ro.cwd = dir;
  ro.timeout = 40s;
  return run(argv(remote), ro);
}

void expect_all_calls_completed(const Sipp& uac, const RunResult& uac_run, const Sipp& uas,
                                Child& uas_child, SipsdServer& srv) {
  const auto calls = static_cast<uint64_t>(uac.calls);
  EXPECT_TRUE(uac_run.ok()) << uac_run.describe() << "\n" << uac.errors() << "\n" << srv.log();
  std::string why;
  auto c = uac.counts(&why);
  ASSERT_TRUE(c.has_value()) << why;
  EXPECT_EQ(c->created, calls);
  EXPECT_EQ(c->successful, calls) << uac.errors() << srv.log();
  EXPECT_EQ(c->failed, 0u) << uac.errors();

  std::optional<ExitStatus> st = uas_child.wait(10s);
  ASSERT_TRUE(st.has_value()) << "sipp UAS still running:\n" << uas_child.describe();
  EXPECT_TRUE(st->success()) << st->describe() << "\n"
                             << uas_child.describe() << "\n"
                             << uas.errors();
  auto s = uas.counts(&why);
  ASSERT_TRUE(s.has_value()) << why;
  EXPECT_EQ(s->successful, calls) << uas.errors();
  EXPECT_EQ(s->failed, 0u) << uas.errors();
}

Result<Child> start_stunnel(const std::string& dir, const std::string& name, bool client,
                            uint16_t accept, uint16_t connect) {
  std::string conf = dir + "/" + name + ".conf";
  {
    std::ofstream out(conf);
    out << "foreground = yes\n"
        << "pid =\n"
        << "debug = 5\n"
        << "[" << name << "]\n"
        << "client = " << (client ? "yes" : "no") << "\n"
        << "accept = 127.0.0.1:" << accept << "\n"
        << "connect = 127.0.0.1:" << connect << "\n";
    if (client) {
      out << "CAfile = " << test_cert("ca.pem") << "\n"
          << "verifyChain = yes\n"
          << "checkIP = 127.0.0.1\n";
    } else {
      out << "cert = " << test_cert("cert.pem") << "\n"
          << "key = " << test_cert("ckey.pem") << "\n";
    }
  }
  Result<Child> s = Child::start({"stunnel4", conf});
  if (!s.ok()) return s;
  if (!s->wait_for_line("Configuration successful", 10s))
    return make_error("stunnel " + name + " did not start:\n" + s->describe());
  return s;
}

}  // namespace sipsd::test
