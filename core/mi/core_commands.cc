#include "core/mi/core_commands.h"

#include <netinet/in.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <charconv>
#include <climits>
#include <cstring>
#include <memory>

#include "core/base/ascii.h"
#include "core/base/clock.h"
#include "core/base/sockaddr_text.h"
#include "core/mi/rpc.h"
#include "core/shm/conn_table.h"

namespace sipsd {

namespace {

// "Thu Nov 26 19:21:50 2026" (ctime without the newline), as OpenSIPS's uptime.
std::string ctime_string(int64_t ms) {
  time_t t = static_cast<time_t>(ms / 1000);
  char buf[32];
  ctime_r(&t, buf);
  std::string s(buf);
  while (!s.empty() && s.back() == '\n') s.pop_back();
  return s;
}

// "2026-11-26 20:22:21", local time (list_tcp_conns Lifetime).
std::string local_time_string(int64_t ms) {
  time_t t = static_cast<time_t>(ms / 1000);
  struct tm tm;
  localtime_r(&t, &tm);
  char buf[32];
  strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  return buf;
}

std::string conn_addr(const uint8_t* ip, uint8_t family, uint16_t port) {
  struct sockaddr_storage ss = {};
  ss.ss_family = family;
  if (family == AF_INET6) {
    memcpy(&reinterpret_cast<struct sockaddr_in6*>(&ss)->sin6_addr, ip, 16);
  } else {
    ss.ss_family = AF_INET;
    memcpy(&reinterpret_cast<struct sockaddr_in*>(&ss)->sin_addr, ip, 4);
  }
  return ip_port_text(sockaddr_to_ip_port(ss).ip, port);
}

// OpenSIPS connection states: 0 OK, 1 connecting (list_tcp_conns "State").
int opensips_state(ConnState s) {
  return s == ConnState::kConnecting ? 1 : 0;
}

// The process types `ps` and `log_level` show (OpenSIPS's words where it has the same process).
const char* mi_process_type(ProcessRole role) {
  switch (role) {
    case ProcessRole::kSupervisor:
      return "supervisor, MI FIFO";
    case ProcessRole::kTcpWorker:
      return "TCP receiver";
    case ProcessRole::kUdpWorker:
      return "UDP receiver";
    case ProcessRole::kNone:
      break;
  }
  return "";
}

// "sipsd (0.1.0 (x86_64/linux))": the machine and system this process runs on, as OpenSIPS's
// "opensips 3.6.0 (x86_64/linux)".
std::string server_version() {
  struct utsname u;
  std::string arch = "?";
  std::string os = "?";
  if (uname(&u) == 0) {
    arch = u.machine;
    os = ascii_to_lower(u.sysname);
  }
  return std::string("sipsd (") + SIPSD_VERSION + " (" + arch + "/" + os + "))";
}

struct FoundConn {
  uint32_t slot;
  ConnInfo info;
};

std::vector<FoundConn> live_connections(const ShmRegion& shm) {
  std::vector<FoundConn> out;
  ConnTable table = shm.conn_table();
  for (uint32_t i = 0; i < table.capacity(); ++i)
    if (auto info = table.read(i)) out.push_back({i, *info});
  return out;
}

// One method per command; register() below names them and their parameter recipes.
class CoreCommands {
 public:
  explicit CoreCommands(MiHost* host) : host_(host) {}

  void register_on(MiRegistry* reg);

 private:
  MiResult uptime(const MiParams&);
  MiResult version(const MiParams&);
  MiResult pwd(const MiParams&);
  MiResult arg(const MiParams&);
  MiResult ps(const MiParams&);
  MiResult kill(const MiParams&);
  MiResult shutdown(const MiParams&);
  MiResult log_level(const MiParams& params);
  MiResult get_statistics(const MiParams& params);
  MiResult list_statistics(const MiParams& params);
  MiResult reset_statistics(const MiParams& params);
  MiResult reset_all_statistics(const MiParams&);
  MiResult list_tcp_conns(const MiParams& params);
  MiResult tcp_close(const MiParams& params);

  Json process_levels() const;

  MiHost* host_;
};

MiResult CoreCommands::uptime(const MiParams&) {
  int64_t now = realtime_ms();
  Json r = Json::object();
  r.add("Now", ctime_string(now));
  r.add("Up since", ctime_string(host_->started_ms()));
  r.add("Up time", std::to_string((now - host_->started_ms()) / 1000) + " [sec]");
  return r;
}

MiResult CoreCommands::version(const MiParams&) {
  Json r = Json::object();
  r.add("Server", server_version());
  return r;
}

MiResult CoreCommands::pwd(const MiParams&) {
  char buf[PATH_MAX];
  Json r = Json::object();
  r.add("WD", getcwd(buf, sizeof buf) ? std::string(buf) : std::string("?"));
  return r;
}

MiResult CoreCommands::arg(const MiParams&) {
  Json r = Json::array();
  for (const std::string& a : host_->argv()) r.push(a);
  return r;
}

MiResult CoreCommands::ps(const MiParams&) {
  Json list = Json::array();
  const ShmRegion& shm = host_->shm();
  std::vector<std::string> listeners = host_->listener_names();
  for (uint32_t i = 0; i < shm.max_procs(); ++i) {
    const ProcSlot& slot = shm.proc(static_cast<int>(i));
    int pid = slot.pid.load(std::memory_order_relaxed);
    if (pid == 0) continue;
    auto role = static_cast<ProcessRole>(slot.role.load(std::memory_order_relaxed));
    Json p = Json::object();
    p.add("ID", static_cast<int64_t>(i));
    p.add("PID", pid);
    p.add("Type", mi_process_type(role));
    if (role == ProcessRole::kTcpWorker || role == ProcessRole::kUdpWorker) {
      // TCP receivers serve the stream listeners, UDP receivers the udp ones.
      const bool udp = role == ProcessRole::kUdpWorker;
      Json l = Json::array();
      for (const std::string& n : listeners)
        if (n.starts_with("udp:") == udp) l.push(n);
      p.add("Listeners", std::move(l));
    }
    // Ours: a TCP receiver whose loop has not beaten within tcp_worker_stall_timeout gets no
    // new connections until it does.
    if (role == ProcessRole::kTcpWorker)
      p.add("Stalled", slot.stalled.load(std::memory_order_relaxed) != 0);
    list.push(std::move(p));
  }
  Json r = Json::object();
  r.add("Processes", std::move(list));
  return r;
}

MiResult CoreCommands::kill(const MiParams&) {
  host_->shutdown_soon("MI kill");
  return Json("OK");
}

MiResult CoreCommands::shutdown(const MiParams&) {
  host_->shutdown_soon("MI shutdown");
  return Json("OK");
}

Json CoreCommands::process_levels() const {
  const ShmRegion& shm = host_->shm();
  Json list = Json::array();
  for (uint32_t i = 0; i < shm.max_procs(); ++i) {
    const ProcSlot& slot = shm.proc(static_cast<int>(i));
    if (slot.pid.load() == 0) continue;
    Json p = Json::object();
    p.add("PID", slot.pid.load());
    p.add("Log level", slot.log_level.load());
    p.add("Type", mi_process_type(static_cast<ProcessRole>(slot.role.load())));
    list.push(std::move(p));
  }
  Json r = Json::object();
  r.add("Processes", std::move(list));
  return r;
}

MiResult CoreCommands::log_level(const MiParams& params) {
  if (!params.has("level")) return process_levels();
  MiError err;
  auto level = params.get_int("level");
  if (mi_failed(level, &err)) return err;
  int64_t lv = std::get<int64_t>(level);
  if (lv < -3 || lv > 4) return mi_invalid_params("Bad type for parameter 'level'");
  ShmRegion& shm = host_->shm();
  if (!params.has("pid")) {
    for (uint32_t i = 0; i < shm.max_procs(); ++i)
      shm.proc(static_cast<int>(i)).log_level.store(static_cast<int32_t>(lv));
    Json r = Json::object();
    r.add("New global log level", lv);
    return r;
  }
  auto pid = params.get_int("pid");
  if (mi_failed(pid, &err)) return err;
  for (uint32_t i = 0; i < shm.max_procs(); ++i) {
    ProcSlot& slot = shm.proc(static_cast<int>(i));
    if (slot.pid.load() != 0 && slot.pid.load() == std::get<int64_t>(pid)) {
      slot.log_level.store(static_cast<int32_t>(lv));
      Json r = Json::object();
      r.add("Log level", lv);
      return r;
    }
  }
  return mi_invalid_params("Bad PID");
}

MiResult CoreCommands::get_statistics(const MiParams& params) {
  MiError err;
  auto sel = params.get_string_array("statistics");
  if (mi_failed(sel, &err)) return err;
  std::vector<StatEntry> found =
      host_->stats().select(std::get<std::vector<std::string>>(sel), realtime_ms());
  if (found.empty()) return mi_error(404, "Statistics Not Found");
  Json r = Json::object();
  for (const StatEntry& e : found) r.add(e.name, e.value);
  return r;
}

MiResult CoreCommands::list_statistics(const MiParams& params) {
  std::vector<std::string> sel = {"all"};
  if (params.has("statistics")) {
    MiError err;
    auto s = params.get_string_array("statistics");
    if (mi_failed(s, &err)) return err;
    sel = std::get<std::vector<std::string>>(s);
  }
  Json r = Json::object();
  for (const StatEntry& e : host_->stats().select(sel, realtime_ms()))
    r.add(e.name, e.incremental ? "incremental" : "non-incremental");
  return r;
}

MiResult CoreCommands::reset_statistics(const MiParams& params) {
  MiError err;
  auto sel = params.get_string_array("statistics");
  if (mi_failed(sel, &err)) return err;
  if (!host_->stats().reset(std::get<std::vector<std::string>>(sel), realtime_ms()))
    return mi_error(404, "Statistics Not Found");
  return Json("OK");
}

MiResult CoreCommands::reset_all_statistics(const MiParams&) {
  host_->stats().reset_all(realtime_ms());
  return Json("OK");
}

MiResult CoreCommands::list_tcp_conns(const MiParams& params) {
  std::string only;
  if (params.has("proto")) {
    MiError err;
    auto p = params.get_string("proto");
    if (mi_failed(p, &err)) return err;
    only = std::get<std::string>(p);
    if (only == "any") only.clear();
  }
  ConnTable table = host_->shm().conn_table();
  Json list = Json::array();
  for (const FoundConn& c : live_connections(host_->shm())) {
    const ConnInfo& i = c.info;
    const char* proto = proto_name(static_cast<Proto>(i.proto));
    if (!only.empty() && only != proto) continue;
    ConnState state = ConnState::kEstablished;
    table.read(c.slot, &state);
    Json j = Json::object();
    j.add("ID", static_cast<int64_t>(i.id));
    j.add("Type", proto);
    j.add("State", opensips_state(state));
    j.add("Remote", conn_addr(i.remote_ip, i.family, i.remote_port));
    j.add("Local", conn_addr(i.local_ip, i.family, i.local_port));
    int64_t active = table.active_ms(c.slot);
    j.add("Lifetime", local_time_string((active ? active : i.created_ms) + i.lifetime_ms));
    // One "Alias port" key per alias, as OpenSIPS: the source port, then the RFC 5923 one.
    j.add("Alias port", static_cast<int64_t>(i.remote_port));
    if (i.alias_port != 0) j.add("Alias port", static_cast<int64_t>(i.alias_port));
    if (i.proto == static_cast<uint8_t>(Proto::kTls) && i.tls_version[0]) {
      j.add("TLS Version", i.tls_version);
      j.add("TLS Cipher", i.tls_cipher);
      j.add("TLS Peer verified", static_cast<bool>(i.tls_peer_verified));
      j.add("TLS SNI", i.tls_sni);
      j.add("TLS Domain", i.tls_domain);
    }
    j.add("Direction", i.outbound ? "outbound" : "inbound");
    j.add("Worker", static_cast<int64_t>(i.owner));
    list.push(std::move(j));
  }
  Json r = Json::object();
  r.add("Connections", std::move(list));
  return r;
}

MiResult CoreCommands::tcp_close(const MiParams& params) {
  MiError err;
  auto which = params.get_string("conn");
  if (mi_failed(which, &err)) return err;
  const std::string& w = std::get<std::string>(which);
  uint32_t id = 0;
  auto [end, ec] = std::from_chars(w.data(), w.data() + w.size(), id);
  const bool by_id = ec == std::errc() && end == w.data() + w.size();
  std::string proto;
  std::string ipport = w;
  if (!by_id) {
    size_t colon = w.find(':');
    if (colon != std::string::npos &&
        (w.compare(0, colon, "tcp") == 0 || w.compare(0, colon, "tls") == 0)) {
      proto = w.substr(0, colon);
      ipport = w.substr(colon + 1);
    }
    if (ipport.find(':') == std::string::npos)
      return mi_error(400, "Bad tcp connection", "expected an ID, ip:port or proto:ip:port");
  }
  for (const FoundConn& c : live_connections(host_->shm())) {
    const ConnInfo& i = c.info;
    const bool match =
        by_id ? i.id == id
              : conn_addr(i.remote_ip, i.family, i.remote_port) == ipport &&
                    (proto.empty() || proto == proto_name(static_cast<Proto>(i.proto)));
    if (!match) continue;
    if (!host_->close_connection(i.id, i.owner))
      return mi_error(500, "Cannot reach the connection's worker");
    return Json("OK");
  }
  return Json();  // not found: null, as OpenSIPS 4.0's tcp:close
}

void CoreCommands::register_on(MiRegistry* reg) {
  auto add = [&](const char* name, const char* help, std::vector<std::vector<std::string>> recipes,
                 MiResult (CoreCommands::*fn)(const MiParams&),
                 std::vector<std::string> aliases = {}) {
    reg->add(MiCommand{name, help, "core", std::move(recipes),
                       [this, fn](const MiParams& p) { return (this->*fn)(p); },
                       std::move(aliases)});
  };
  add("get_statistics", "prints the statistics (all, group:, or names) given", {{"statistics"}},
      &CoreCommands::get_statistics, {"statistics:get"});
  add("list_statistics", "lists the statistics (all, or the ones given) and their kind",
      {{}, {"statistics"}}, &CoreCommands::list_statistics, {"statistics:list"});
  add("reset_statistics", "resets the statistics named (not whole groups)", {{"statistics"}},
      &CoreCommands::reset_statistics, {"statistics:reset"});
  add("reset_all_statistics", "resets every counter", {{}}, &CoreCommands::reset_all_statistics,
      {"statistics:reset_all"});
  add("uptime", "prints various time information about the server", {{}}, &CoreCommands::uptime);
  add("version", "prints the version string of the running server", {{}}, &CoreCommands::version);
  add("pwd", "prints the working directory of the server", {{}}, &CoreCommands::pwd);
  add("arg", "prints the command line of the server", {{}}, &CoreCommands::arg);
  add("ps", "lists the server's processes", {{}}, &CoreCommands::ps);
  add("kill", "terminates the server", {{}}, &CoreCommands::kill);
  add("shutdown", "stops the server gracefully: close every connection, exit 0", {{}},
      &CoreCommands::shutdown);
  add("log_level", "gets or sets the log level of every process, or of one (pid)",
      {{}, {"level"}, {"level", "pid"}}, &CoreCommands::log_level);
  mi_add_builtins(reg);
  add("list_tcp_conns", "lists the TCP and TLS connections (optionally of one proto)",
      {{}, {"proto"}}, &CoreCommands::list_tcp_conns, {"tcp:list"});
  add("tcp_close", "closes a connection given by ID, ip:port or proto:ip:port", {{"conn"}},
      &CoreCommands::tcp_close, {"tcp:close"});
}

}  // namespace

void add_core_mi_commands(MiRegistry* reg, MiHost* host) {
  // The registry's handlers keep the command object alive.
  auto commands = std::make_shared<CoreCommands>(host);
  commands->register_on(reg);
  reg->keep_alive(std::move(commands));
}

}  // namespace sipsd
