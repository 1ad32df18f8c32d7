#include "core/mi/core_commands.h"

#include <arpa/inet.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <climits>
#include <memory>

#include "core/base/clock.h"
#include "core/shm/conn_table.h"
#include "core/base/log.h"
#include "core/mi/rpc.h"
#include "tls_mgm/openssl_ptr.h"
#include "tls_mgm/snapshot_store.h"

namespace sipsd {

namespace {

MiError error(int code, std::string message, std::string data = "") {
  return MiError{code, std::move(message), std::move(data)};
}

MiError invalid_params(std::string data) {
  return error(kMiInvalidParams, "Invalid params", std::move(data));
}

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

std::string addr_string(const uint8_t* ip, uint8_t family, uint16_t port) {
  char buf[INET6_ADDRSTRLEN] = "?";
  if (family == AF_INET6) {
    inet_ntop(AF_INET6, ip, buf, sizeof buf);
    return "[" + std::string(buf) + "]:" + std::to_string(port);
  }
  inet_ntop(AF_INET, ip, buf, sizeof buf);
  return std::string(buf) + ":" + std::to_string(port);
}

// OpenSIPS connection states: 0 OK, 1 connecting (list_tcp_conns "State").
int opensips_state(ConnState s) {
  return s == ConnState::kConnecting ? 1 : 0;
}

MiCommand command(std::string name, std::string help, std::string module,
                  std::vector<std::vector<std::string>> recipes, MiHandler handler,
                  std::vector<std::string> aliases = {}) {
  return MiCommand{std::move(name),    std::move(help),    std::move(module),
                   std::move(recipes), std::move(handler), std::move(aliases)};
}

template <class T>
bool failed(const std::variant<T, MiError>& v, MiError* out) {
  if (const MiError* e = std::get_if<MiError>(&v)) {
    *out = *e;
    return true;
  }
  return false;
}

// ---- core ------------------------------------------------------------------------------------

void add_core(MiRegistry* reg, MiHost* host) {
  reg->add(command("uptime", "prints various time information about the server", "core", {{}},
                   [host](const MiParams&) -> MiResult {
                     int64_t now = realtime_ms();
                     Json r = Json::object();
                     r.add("Now", ctime_string(now));
                     r.add("Up since", ctime_string(host->started_ms()));
                     r.add("Up time", std::to_string((now - host->started_ms()) / 1000) + " [sec]");
                     return r;
                   }));
  reg->add(command("version", "prints the version string of the running server", "core", {{}},
                   [](const MiParams&) -> MiResult {
                     Json r = Json::object();
                     r.add("Server", std::string("sipsd (") + SIPSD_VERSION + " (x86_64/linux))");
                     return r;
                   }));
  reg->add(command("pwd", "prints the working directory of the server", "core", {{}},
                   [](const MiParams&) -> MiResult {
                     char buf[PATH_MAX];
                     Json r = Json::object();
                     r.add("WD", getcwd(buf, sizeof buf) ? std::string(buf) : std::string("?"));
                     return r;
                   }));
  reg->add(command("arg", "prints the command line of the server", "core", {{}},
                   [host](const MiParams&) -> MiResult {
                     Json r = Json::array();
                     for (const std::string& a : host->argv()) r.push(a);
                     return r;
                   }));
  reg->add(command("ps", "lists the server's processes", "core", {{}},
                   [host](const MiParams&) -> MiResult {
                     Json list = Json::array();
                     const ShmRegion& shm = host->shm();
                     std::vector<std::string> listeners = host->listener_names();
                     for (uint32_t i = 0; i < shm.max_procs(); ++i) {
                       const ProcSlot& slot = shm.proc(static_cast<int>(i));
                       int pid = slot.pid.load(std::memory_order_relaxed);
                       if (pid == 0) continue;
                       Json p = Json::object();
                       p.add("ID", static_cast<int64_t>(i));
                       p.add("PID", pid);
                       if (i == 0) {
                         p.add("Type", "supervisor, MI FIFO");
                       } else {
                         p.add("Type", "TCP receiver");
                         Json l = Json::array();
                         for (const std::string& n : listeners) l.push(n);
                         p.add("Listeners", std::move(l));
                       }
                       list.push(std::move(p));
                     }
                     Json r = Json::object();
                     r.add("Processes", std::move(list));
                     return r;
                   }));
  auto stop = [host](const char* why) {
    return [host, why](const MiParams&) -> MiResult {
      host->shutdown_soon(why);
      return Json("OK");
    };
  };
  reg->add(command("kill", "terminates the server", "core", {{}}, stop("MI kill")));
  reg->add(command("shutdown", "stops the server gracefully: close every connection, exit 0",
                   "core", {{}}, stop("MI shutdown")));
  reg->add(command("log_level", "gets or sets the log level of every process, or of one (pid)",
                   "core", {{}, {"level"}, {"level", "pid"}},
                   [host](const MiParams& params) -> MiResult {
                     ShmRegion& shm = host->shm();
                     if (!params.has("level")) {
                       Json list = Json::array();
                       for (uint32_t i = 0; i < shm.max_procs(); ++i) {
                         const ProcSlot& slot = shm.proc(static_cast<int>(i));
                         if (slot.pid.load() == 0) continue;
                         Json p = Json::object();
                         p.add("PID", slot.pid.load());
                         p.add("Log level", slot.log_level.load());
                         p.add("Type", i == 0 ? "supervisor, MI FIFO" : "TCP receiver");
                         list.push(std::move(p));
                       }
                       Json r = Json::object();
                       r.add("Processes", std::move(list));
                       return r;
                     }
                     auto level = params.get_int("level");
                     MiError err;
                     if (failed(level, &err)) return err;
                     int64_t lv = std::get<int64_t>(level);
                     if (lv < -3 || lv > 4) return invalid_params("Bad type for parameter 'level'");
                     if (!params.has("pid")) {
                       for (uint32_t i = 0; i < shm.max_procs(); ++i)
                         shm.proc(static_cast<int>(i)).log_level.store(static_cast<int32_t>(lv));
                       Json r = Json::object();
                       r.add("New global log level", lv);
                       return r;
                     }
                     auto pid = params.get_int("pid");
                     if (failed(pid, &err)) return err;
                     for (uint32_t i = 0; i < shm.max_procs(); ++i) {
                       ProcSlot& slot = shm.proc(static_cast<int>(i));
                       if (slot.pid.load() != 0 && slot.pid.load() == std::get<int64_t>(pid)) {
                         slot.log_level.store(static_cast<int32_t>(lv));
                         Json r = Json::object();
                         r.add("Log level", lv);
                         return r;
                       }
                     }
                     return invalid_params("Bad PID");
                   }));
}

// ---- statistics --------------------------------------------------------------------------------

void add_statistics(MiRegistry* reg, MiHost* host) {
  reg->add(command("get_statistics", "prints the statistics (all, group:, or names) given", "core",
                   {{"statistics"}},
                   [host](const MiParams& params) -> MiResult {
                     auto sel = params.get_string_array("statistics");
                     MiError err;
                     if (failed(sel, &err)) return err;
                     std::vector<StatEntry> found = host->stats().select(
                         std::get<std::vector<std::string>>(sel), realtime_ms());
                     if (found.empty()) return error(404, "Statistics Not Found");
                     Json r = Json::object();
                     for (const StatEntry& e : found) r.add(e.name, e.value);
                     return r;
                   },
                   {"statistics:get"}));
  reg->add(command("list_statistics",
                   "lists the statistics (all, or the ones given) and their kind", "core",
                   {{}, {"statistics"}},
                   [host](const MiParams& params) -> MiResult {
                     std::vector<std::string> sel = {"all"};
                     if (params.has("statistics")) {
                       auto s = params.get_string_array("statistics");
                       MiError err;
                       if (failed(s, &err)) return err;
                       sel = std::get<std::vector<std::string>>(s);
                     }
                     Json r = Json::object();
                     for (const StatEntry& e : host->stats().select(sel, realtime_ms()))
                       r.add(e.name, e.incremental ? "incremental" : "non-incremental");
                     return r;
                   },
                   {"statistics:list"}));
  reg->add(
      command("reset_statistics", "resets the statistics named (not whole groups)", "core",
              {{"statistics"}},
              [host](const MiParams& params) -> MiResult {
                auto sel = params.get_string_array("statistics");
                MiError err;
                if (failed(sel, &err)) return err;
                if (!host->stats().reset(std::get<std::vector<std::string>>(sel), realtime_ms()))
                  return error(404, "Statistics Not Found");
                return Json("OK");
              },
              {"statistics:reset"}));
  reg->add(command("reset_all_statistics", "resets every counter", "core", {{}},
                   [host](const MiParams&) -> MiResult {
                     host->stats().reset_all(realtime_ms());
                     return Json("OK");
                   },
                   {"statistics:reset_all"}));
}

// ---- TCP ---------------------------------------------------------------------------------------

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

void add_tcp(MiRegistry* reg, MiHost* host) {
  reg->add(command("list_tcp_conns", "lists the TCP and TLS connections (optionally of one proto)",
                   "core", {{}, {"proto"}},
                   [host](const MiParams& params) -> MiResult {
                     std::string only;
                     if (params.has("proto")) {
                       auto p = params.get_string("proto");
                       MiError err;
                       if (failed(p, &err)) return err;
                       only = std::get<std::string>(p);
                       if (only == "any") only.clear();
                     }
                     ConnTable table = host->shm().conn_table();
                     Json list = Json::array();
                     for (const FoundConn& c : live_connections(host->shm())) {
                       const ConnInfo& i = c.info;
                       const char* proto = proto_name(static_cast<Proto>(i.proto));
                       if (!only.empty() && only != proto) continue;
                       ConnState state = ConnState::kEstablished;
                       table.read(c.slot, &state);
                       Json j = Json::object();
                       j.add("ID", static_cast<int64_t>(i.id));
                       j.add("Type", proto);
                       j.add("State", opensips_state(state));
                       j.add("Remote", addr_string(i.remote_ip, i.family, i.remote_port));
                       j.add("Local", addr_string(i.local_ip, i.family, i.local_port));
                       int64_t active = table.active_ms(c.slot);
                       j.add("Lifetime",
                             local_time_string((active ? active : i.created_ms) + i.lifetime_ms));
                       j.add("Alias port", static_cast<int64_t>(i.remote_port));
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
                   },
                   {"tcp:list"}));
  reg->add(command(
      "tcp_close", "closes a connection given by ID, ip:port or proto:ip:port", "core", {{"conn"}},
      [host](const MiParams& params) -> MiResult {
        auto which = params.get_string("conn");
        MiError err;
        if (failed(which, &err)) return err;
        std::string w = std::get<std::string>(which);
        // ID?
        uint32_t id = 0;
        auto [end, ec] = std::from_chars(w.data(), w.data() + w.size(), id);
        bool by_id = ec == std::errc() && end == w.data() + w.size();
        std::string proto, ipport = w;
        if (!by_id) {
          size_t colon = w.find(':');
          if (colon != std::string::npos &&
              (w.compare(0, colon, "tcp") == 0 || w.compare(0, colon, "tls") == 0)) {
            proto = w.substr(0, colon);
            ipport = w.substr(colon + 1);
          }
          if (ipport.find(':') == std::string::npos)
            return error(400, "Bad tcp connection", "expected an ID, ip:port or proto:ip:port");
        }
        for (const FoundConn& c : live_connections(host->shm())) {
          const ConnInfo& i = c.info;
          bool match =
              by_id ? i.id == id
                    : addr_string(i.remote_ip, i.family, i.remote_port) == ipport &&
                          (proto.empty() || proto == proto_name(static_cast<Proto>(i.proto)));
          if (!match) continue;
          if (!host->close_connection(i.id, i.owner))
            return error(500, "Cannot reach the connection's worker");
          return Json("OK");
        }
        return Json();  // not found: null, as OpenSIPS 4.0's tcp:close
      },
      {"tcp:close"}));
}

// ---- TLS ---------------------------------------------------------------------------------------

Json string_list(const google::protobuf::RepeatedPtrField<std::string>& v) {
  Json a = Json::array();
  for (const std::string& s : v) a.push(s);
  return a;
}

std::string x509_name(X509_NAME* name) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return n > 0 ? std::string(data, static_cast<size_t>(n)) : "";
}

Json cert_status(const tls::TlsDomain& d) {
  Json j = Json::object();
  j.add("name", d.name());
  j.add("type", d.type() == tls::DOMAIN_TYPE_SERVER ? "server" : "client");
  if (d.certificate_pem().empty()) {
    j.add("Certificate", "");
    return j;
  }
  BioPtr bio(
      BIO_new_mem_buf(d.certificate_pem().data(), static_cast<int>(d.certificate_pem().size())));
  X509Ptr x(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  j.add("Certificate", d.certificate_path());
  if (!x) return j;
  j.add("Subject", x509_name(X509_get_subject_name(x.get())));
  j.add("Issuer", x509_name(X509_get_issuer_name(x.get())));
  Json sans = Json::array();
  if (auto* names = static_cast<GENERAL_NAMES*>(
          X509_get_ext_d2i(x.get(), NID_subject_alt_name, nullptr, nullptr))) {
    for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
      const GENERAL_NAME* g = sk_GENERAL_NAME_value(names, i);
      if (g->type == GEN_DNS) {
        sans.push("DNS:" +
                  std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(g->d.dNSName)),
                              static_cast<size_t>(ASN1_STRING_length(g->d.dNSName))));
      } else if (g->type == GEN_IPADD) {
        char buf[INET6_ADDRSTRLEN] = {};
        int len = ASN1_STRING_length(g->d.iPAddress);
        inet_ntop(len == 16 ? AF_INET6 : AF_INET, ASN1_STRING_get0_data(g->d.iPAddress), buf,
                  sizeof buf);
        sans.push(std::string("IP:") + buf);
      }
    }
    GENERAL_NAMES_free(names);
  }
  j.add("SANs", std::move(sans));
  const ASN1_TIME* not_after = X509_get0_notAfter(x.get());
  struct tm tm = {};
  if (ASN1_TIME_to_tm(not_after, &tm) == 1) {
    char buf[40];
    strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
    j.add("Not after", buf);
  }
  int days = 0, secs = 0;
  if (ASN1_TIME_diff(&days, &secs, nullptr, not_after) == 1) j.add("Days left", days);
  return j;
}

void add_tls(MiRegistry* reg, MiHost* host) {
  auto snapshot = [host]() { return SnapshotStore(host->shm()).read(); };
  reg->add(command("tls_list", "lists all domains", "tls_mgm", {{}},
                   [snapshot](const MiParams&) -> MiResult {
                     Json domains = Json::array();
                     auto snap = snapshot();
                     if (snap.ok()) {
                       auto describe = [&](const tls::TlsDomain& d) {
                         Json j = Json::object();
                         j.add("name", d.name());
                         j.add("type", d.type() == tls::DOMAIN_TYPE_SERVER ? "TLS_DOMAIN_SRV"
                                                                           : "TLS_DOMAIN_CLI");
                         j.add("IP ADDRESS FILTERS", string_list(d.match_ip_address()));
                         j.add("SIP DOMAIN FILTERS", string_list(d.match_sip_domain()));
                         j.add("METHOD", d.tls_method().empty() ? "SSLv23" : d.tls_method());
                         j.add("VERIFY_CERT", d.verify_cert());
                         j.add("REQ_CLI_CERT", d.require_cert());
                         j.add("CRL_CHECKALL", d.crl_check_all());
                         j.add("CERT_FILE", d.certificate_path());
                         j.add("CRL_DIR", d.crl_dir());
                         j.add("CA_FILE", d.ca_list_path());
                         j.add("CA_DIR", d.ca_dir());
                         j.add("PKEY_FILE", d.private_key_path());
                         j.add("CIPHER_LIST", d.ciphers_list());
                         j.add("DH_PARAMS_FILE", d.dh_params_path());
                         j.add("EC_CURVE", d.ec_curve());
                         domains.push(std::move(j));
                       };
                       for (const tls::TlsDomain& d : snap->client_domains()) describe(d);
                       for (const tls::TlsDomain& d : snap->server_domains()) describe(d);
                     }
                     Json r = Json::object();
                     r.add("Domains", std::move(domains));
                     return r;
                   },
                   {"tls_mgm:list"}));
  reg->add(
      command("tls_reload",
              "re-reads every TLS domain's files (certificates, keys, CAs, CRLs) and publishes "
              "them to the workers; a failure changes nothing",
              "tls_mgm", {{}},
              [host](const MiParams&) -> MiResult {
                Status st = host->reload_tls();
                if (!st.ok()) return error(500, "Failed to reload", st.message());
                return Json("OK");
              },
              {"tls_mgm:reload"}));
  auto tracing = std::make_shared<bool>(false);
  reg->add(command("tls_trace", "shows or sets TLS tracing (on/off)", "proto_tls",
                   {{}, {"trace_mode"}},
                   [tracing](const MiParams& params) -> MiResult {
                     if (!params.has("trace_mode")) {
                       Json r = Json::object();
                       r.add("TLS tracing", *tracing ? "on" : "off");
                       return r;
                     }
                     auto mode = params.get_string("trace_mode");
                     MiError err;
                     if (failed(mode, &err)) return err;
                     std::string m = std::get<std::string>(mode);
                     if (strncasecmp(m.c_str(), "off", 3) == 0) {
                       *tracing = false;
                       return Json("OK");
                     }
                     if (strncasecmp(m.c_str(), "on", 2) == 0)
                       return error(500, "Tracing not available",
                                    "sipsd has no HEP trace destination (proto_hep) yet");
                     return error(500, "Bad parameter value", "trace_mode should be 'on' or 'off'");
                   },
                   {"tls:trace"}));
  reg->add(command("tls_cert_status",
                   "each domain's certificate: subject, SANs, expiry and days left", "tls_mgm",
                   {{}},
                   [snapshot](const MiParams&) -> MiResult {
                     Json domains = Json::array();
                     auto snap = snapshot();
                     if (snap.ok()) {
                       for (const tls::TlsDomain& d : snap->client_domains())
                         domains.push(cert_status(d));
                       for (const tls::TlsDomain& d : snap->server_domains())
                         domains.push(cert_status(d));
                     }
                     Json r = Json::object();
                     r.add("Domains", std::move(domains));
                     return r;
                   },
                   {"tls_mgm:cert_status"}));
}

}  // namespace

void add_mi_commands(MiRegistry* reg, MiHost* host) {
  add_statistics(reg, host);
  add_core(reg, host);
  mi_add_builtins(reg);
  add_tcp(reg, host);
  add_tls(reg, host);
}

}  // namespace sipsd
