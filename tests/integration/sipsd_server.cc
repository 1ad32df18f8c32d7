#include "tests/integration/sipsd_server.h"

#include <signal.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

namespace sipsd::test {

namespace {

constexpr std::string_view kDumpEnd = "stats conn_table ";

const char* kDefaultRoute = R"(route {
    if (is_method("OPTIONS")) {
        sl_send_reply(200, "OK");
        exit;
    }
    if (is_method("ACK")) {
        exit;
    }
    sl_send_reply(501, "Not Implemented");
})";

size_t count_of(const std::string& hay, std::string_view needle) {
  size_t n = 0;
  for (size_t p = hay.find(needle); p != std::string::npos; p = hay.find(needle, p + 1)) ++n;
  return n;
}

// "... key=value key=value" -> counters; also picks proc=, pid=, role=.
ProcStatsLine parse_proc_line(std::string_view line) {
  ProcStatsLine out;
  std::istringstream in{std::string(line.substr(line.find("stats proc=") + 6))};
  std::string kv;
  while (in >> kv) {
    size_t eq = kv.find('=');
    if (eq == std::string::npos) continue;
    std::string k = kv.substr(0, eq), v = kv.substr(eq + 1);
    if (k == "proc") {
      out.proc = std::stoi(v);
    } else if (k == "pid") {
      out.pid = static_cast<pid_t>(std::stol(v));
    } else if (k == "role") {
      out.role = v;
    } else {
      out.counters[k] = std::stoull(v);
    }
  }
  return out;
}

uint64_t field(std::string_view line, std::string_view key) {
  size_t p = line.find(std::string(key) + "=");
  if (p == std::string_view::npos) return 0;
  return std::stoull(std::string(line.substr(p + key.size() + 1)));
}

std::optional<uint16_t> listening_port(const std::string& log, const std::string& proto) {
  std::string needle = "listening on " + proto + ":127.0.0.1:";
  size_t p = log.find(needle);
  if (p == std::string::npos) return std::nullopt;
  return static_cast<uint16_t>(std::stoi(log.substr(p + needle.size())));
}

}  // namespace

uint64_t ProcStatsLine::get(const std::string& name) const {
  auto it = counters.find(name);
  return it == counters.end() ? 0 : it->second;
}

uint64_t ServerStats::sum(const std::string& name) const {
  uint64_t total = 0;
  for (const ProcStatsLine& p : procs) total += p.get(name);
  return total;
}

std::vector<pid_t> ServerStats::worker_pids() const {
  std::vector<pid_t> pids;
  for (const ProcStatsLine& p : procs)
    if (p.role == "worker") pids.push_back(p.pid);
  return pids;
}

std::string SipsdServer::render_cfg(const SipsdOptions& o, const std::string& certs,
                                    const std::string& mi_dir) {
  std::ostringstream cfg;
  cfg << "# written by the integration test harness\n"
      << "log_level=" << o.log_level << "\n"
      << "stderror_enabled=yes\n"
      << "tcp_workers=" << o.workers << "\n";
  if (o.tls) cfg << "socket=tls:127.0.0.1:0\n";
  if (o.tcp) cfg << "socket=tcp:127.0.0.1:0\n";
  for (const std::string& g : o.globals) cfg << g << "\n";
  if (o.tcp) cfg << "loadmodule \"proto_tcp.so\"\n";
  if (o.udp) {
    cfg << "socket=udp:127.0.0.1:0\n"
        << "udp_workers=" << o.udp_workers << "\n"
        << "loadmodule \"proto_udp.so\"\n";
  }
  if (o.tls) {
    cfg << "loadmodule \"proto_tls.so\"\n"
        << "loadmodule \"tls_mgm.so\"\n"
        << "modparam(\"tls_mgm\", \"server_domain\", \"default\")\n";
    if (o.tls_domain.empty()) {
      cfg << "modparam(\"tls_mgm\", \"certificate\", \"[default]" << certs << "/cert.pem\")\n"
          << "modparam(\"tls_mgm\", \"private_key\", \"[default]" << certs << "/ckey.pem\")\n"
          << "modparam(\"tls_mgm\", \"ca_list\", \"[default]" << certs << "/ca.pem\")\n"
          << "modparam(\"tls_mgm\", \"verify_cert\", \"[default]0\")\n"
          << "modparam(\"tls_mgm\", \"require_cert\", \"[default]0\")\n";
    } else {
      for (const std::string& l : o.tls_domain) cfg << l << "\n";
    }
  }
  cfg << "loadmodule \"sl.so\"\n"
      << "loadmodule \"sipmsgops.so\"\n";
  if (o.mi) {
    cfg << "loadmodule \"mi_fifo.so\"\n"
        << "modparam(\"mi_fifo\", \"fifo_name\", \"" << mi_dir << "/mi_fifo\")\n"
        << "modparam(\"mi_fifo\", \"reply_dir\", \"" << mi_dir << "/\")\n";
  }
  for (const std::string& m : o.modparams) cfg << m << "\n";
  cfg << (o.route.empty() ? kDefaultRoute : o.route.c_str()) << "\n";
  return cfg.str();
}

Result<std::unique_ptr<SipsdServer>> SipsdServer::start(const SipsdOptions& options,
                                                        std::chrono::milliseconds timeout) {
  std::unique_ptr<SipsdServer> srv(new SipsdServer());
  srv->dir_ = std::make_unique<TempDir>("sipsd-server");
  srv->cfg_path_ = srv->dir_->file("sipsd.cfg");
  {
    std::ofstream out(srv->cfg_path_);
    out << render_cfg(options, test_certs_dir(), srv->dir_->path());
  }
  Result<Child> child = Child::start({SIPSD_BINARY, "-f", srv->cfg_path_});
  if (!child.ok()) return make_error("cannot start sipsd: " + child.message());
  srv->child_ = std::make_unique<Child>(std::move(child).value());
  if (!srv->child_->wait_for_line(" ready: ", timeout))
    return make_error("sipsd did not become ready:\n" + srv->child_->describe());
  std::string log = srv->log();
  if (options.tls) {
    auto p = listening_port(log, "tls");
    if (!p) return make_error("no tls listener in the log:\n" + log);
    srv->tls_port_ = *p;
  }
  if (options.tcp) {
    auto p = listening_port(log, "tcp");
    if (!p) return make_error("no tcp listener in the log:\n" + log);
    srv->tcp_port_ = *p;
  }
  if (options.udp) {
    auto p = listening_port(log, "udp");
    if (!p) return make_error("no udp listener in the log:\n" + log);
    srv->udp_port_ = *p;
  }
  return srv;
}

SipsdServer::~SipsdServer() {
  if (child_) child_->stop(std::chrono::milliseconds(8000));
}

MiClientOptions SipsdServer::mi_options() const {
  MiClientOptions o;
  o.fifo = dir_->path() + "/mi_fifo";
  o.reply_dir = dir_->path() + "/";
  o.timeout = std::chrono::milliseconds(5000);
  return o;
}

Result<Json> SipsdServer::mi(const std::string& method, const Json& params) {
  return mi_call(mi_options(), method, params);
}

Result<Json> SipsdServer::mi_result(const std::string& method, const Json& params) {
  Result<Json> response = mi(method, params);
  if (!response.ok()) return response;
  if (const Json* result = response->find("result")) return *result;
  return make_error(method + ": " + mi_error_text(*response));
}

std::vector<std::string> default_domain_with(const std::string& cert, const std::string& key) {
  return {
      "modparam(\"tls_mgm\", \"certificate\", \"[default]" + cert + "\")",
      "modparam(\"tls_mgm\", \"private_key\", \"[default]" + key + "\")",
      "modparam(\"tls_mgm\", \"verify_cert\", \"[default]0\")",
      "modparam(\"tls_mgm\", \"require_cert\", \"[default]0\")",
  };
}

ReloadableCertFiles::ReloadableCertFiles()
    : dir_("sipsd-reload"), cert_(dir_.file("cert.pem")), key_(dir_.file("key.pem")) {
  install("cert.pem", "ckey.pem");
}

void ReloadableCertFiles::install(std::string_view cert_name, std::string_view key_name) {
  copy_private_file(test_cert(cert_name), cert_);
  install_key(key_name);
}

void ReloadableCertFiles::install_key(std::string_view key_name) {
  copy_private_file(test_cert(key_name), key_);
}

bool eventually_serves_key_type(const SipsdServer& srv, int key_type) {
  for (int i = 0; i < 50; ++i) {
    auto c = SipTestClient::connect_tls("127.0.0.1", srv.tls_port(), default_tls_options());
    if (c.ok() && (*c)->peer_key_type() == key_type) return options_status(**c) == 200;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

TlsClientOptions default_tls_options() {
  TlsClientOptions o;
  o.ca_file = test_cert("ca.pem");
  o.verify_name = "127.0.0.1";
  return o;
}

int options_status(SipTestClient& c, std::chrono::milliseconds timeout) {
  if (!c.send(c.make_options().text).ok()) return -1;
  auto reply = c.read_reply(timeout);
  return reply.ok() ? reply->status() : -1;
}

bool SipsdServer::wait_for_log(const std::string& needle, std::chrono::milliseconds timeout) {
  return child_->wait_for_line(needle, timeout).has_value();
}

Result<ServerStats> SipsdServer::stats(std::chrono::milliseconds timeout) {
  std::string before = log();
  size_t dumps = count_of(before, kDumpEnd);
  if (!child_->signal(SIGUSR1)) return make_error("sipsd is not running:\n" + child_->describe());
  auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string now_log;
  for (;;) {
    now_log = log();
    if (count_of(now_log, kDumpEnd) > dumps) {
      // The dump ends with a complete conn_table line.
      size_t end = now_log.rfind(kDumpEnd);
      if (now_log.find('\n', end) != std::string::npos) break;
    }
    if (std::chrono::steady_clock::now() >= deadline)
      return make_error("no statistics dump from sipsd:\n" + child_->describe());
    struct timespec ts = {0, 10 * 1000 * 1000};
    nanosleep(&ts, nullptr);
  }
  // Everything after the previous dump.
  size_t start = 0;
  if (dumps > 0) {
    start = before.rfind(kDumpEnd);
    start = before.find('\n', start);
  }
  ServerStats stats;
  std::istringstream in(now_log.substr(start));
  std::string line;
  while (std::getline(in, line)) {
    if (line.find("stats proc=") != std::string::npos) {
      stats.procs.push_back(parse_proc_line(line));
    } else if (line.find(kDumpEnd) != std::string::npos) {
      stats.conn_table_in_use = field(line, "in_use");
      stats.open = field(line, "open");
    }
  }
  return stats;
}

ExitStatus SipsdServer::stop(std::chrono::milliseconds grace) {
  return child_->stop(grace);
}

}  // namespace sipsd::test
