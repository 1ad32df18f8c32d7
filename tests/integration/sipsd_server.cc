#include "tests/integration/sipsd_server.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

namespace sipsd::test {

namespace {

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

std::optional<uint16_t> listening_port(const std::string& log, const std::string& proto) {
  std::string needle = "listening on " + proto + ":127.0.0.1:";
  size_t p = log.find(needle);
  if (p == std::string::npos) return std::nullopt;
  return static_cast<uint16_t>(std::stoi(log.substr(p + needle.size())));
}

}  // namespace

uint64_t ServerStats::get(const std::string& name) const {
  auto it = values.find(name);
  if (it != values.end()) return it->second;
  ADD_FAILURE() << "sipsd reports no statistic '" << name << "'";
  return 0;
}

std::vector<pid_t> ServerStats::worker_pids() const {
  if (pids.size() <= 1) return {};
  return std::vector<pid_t>(pids.begin() + 1, pids.end());
}

size_t ServerStats::connections_of(int proc) const {
  size_t n = 0;
  for (const MiConnection& c : connections) n += c.worker == proc;
  return n;
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
  if (!mi_dir.empty()) {
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
  return start_cfg(
      [&options](const std::string& dir) { return render_cfg(options, test_certs_dir(), dir); },
      timeout);
}

Result<std::unique_ptr<SipsdServer>> SipsdServer::start_cfg(
    const std::function<std::string(const std::string&)>& make_cfg,
    std::chrono::milliseconds timeout, const std::vector<std::string>& extra_args) {
  std::unique_ptr<SipsdServer> srv(new SipsdServer());
  srv->dir_ = std::make_unique<TempDir>("sipsd-server");
  srv->cfg_path_ = srv->dir_->file("sipsd.cfg");
  {
    std::ofstream out(srv->cfg_path_);
    out << make_cfg(srv->dir_->path());
  }
  std::vector<std::string> argv = {SIPSD_BINARY, "-f", srv->cfg_path_};
  argv.insert(argv.end(), extra_args.begin(), extra_args.end());
  Result<Child> child = Child::start(argv);
  if (!child.ok()) return make_error("cannot start sipsd: " + child.message());
  srv->child_ = std::make_unique<Child>(std::move(child).value());
  if (!srv->child_->wait_for_line(" ready: ", timeout))
    return make_error("sipsd did not become ready:\n" + srv->child_->describe());
  // The ports the listeners got (the cfgs of the tests ask for port 0).
  std::string log = srv->log();
  srv->tls_port_ = listening_port(log, "tls").value_or(0);
  srv->tcp_port_ = listening_port(log, "tcp").value_or(0);
  srv->udp_port_ = listening_port(log, "udp").value_or(0);
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

int final_status(SipTestClient& c, const SipRequestSpec& spec, std::chrono::milliseconds timeout) {
  if (!c.send(c.make_options(spec).text).ok()) return -1;
  for (int i = 0; i < 3; ++i) {  // a 100 Trying (or two) before the final reply
    auto reply = c.read_reply(timeout);
    if (!reply.ok()) return -1;
    if (reply->status() >= 200) return reply->status();
  }
  return -1;
}

bool SipsdServer::wait_for_log(const std::string& needle, std::chrono::milliseconds timeout) {
  return child_->wait_for_line(needle, timeout).has_value();
}

Result<ServerStats> SipsdServer::stats() {
  Json selectors = Json::array();
  selectors.push("all");
  Json params = Json::array();  // get_statistics takes one parameter, an array: [["all"]]
  params.push(std::move(selectors));
  Result<Json> values = mi_result("get_statistics", params);
  if (!values.ok()) return values.error();
  Result<Json> ps = mi_result("ps");
  if (!ps.ok()) return ps.error();
  Result<Json> conns = mi_result("list_tcp_conns");
  if (!conns.ok()) return conns.error();

  ServerStats stats;
  for (const auto& [name, v] : values->members()) {
    if (!v.is_int()) return make_error("get_statistics: " + name + " is not a number: " + v.dump());
    stats.values[name] = static_cast<uint64_t>(v.as_int());
  }
  // Every process slot, including the ones ps leaves out because they are empty right now.
  auto slots = stats.values.find("load:processes_number");
  stats.pids.assign(slots == stats.values.end() ? 0 : slots->second, 0);
  const Json* procs = ps->find("Processes");
  if (procs == nullptr || !procs->is_array()) return make_error("ps: no Processes: " + ps->dump());
  for (const Json& p : procs->items()) {
    const Json* id = p.find("ID");
    const Json* pid = p.find("PID");
    if (id == nullptr || pid == nullptr || id->as_int() < 0)
      return make_error("ps: a process without ID or PID: " + p.dump());
    auto index = static_cast<size_t>(id->as_int());
    if (index >= stats.pids.size()) stats.pids.resize(index + 1, 0);
    stats.pids[index] = static_cast<pid_t>(pid->as_int());
  }
  const Json* list = conns->find("Connections");
  if (list == nullptr || !list->is_array())
    return make_error("list_tcp_conns: no Connections: " + conns->dump());
  for (const Json& c : list->items()) {
    const Json* id = c.find("ID");
    const Json* type = c.find("Type");
    const Json* remote = c.find("Remote");
    const Json* worker = c.find("Worker");
    const Json* direction = c.find("Direction");
    if (!id || !type || !remote || !worker || !direction)
      return make_error("list_tcp_conns: an incomplete connection: " + c.dump());
    stats.connections.push_back(MiConnection{id->as_int(), type->as_string(), remote->as_string(),
                                             static_cast<int>(worker->as_int()),
                                             direction->as_string() == "outbound"});
  }
  return stats;
}

ExitStatus SipsdServer::stop(std::chrono::milliseconds grace) {
  return child_->stop(grace);
}

}  // namespace sipsd::test
