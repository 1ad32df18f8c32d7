// The validated configuration: what the cfg file (core/cfg_*) produces and the rest of the
// server consumes. Everything here has been type- and range-checked; positions are kept so
// later checks (tls_mgm file loading, binding) can still name file:line:col.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/base/result.h"
#include "core/base/transport.h"
#include "core/cfg/source.h"

namespace sipsd {

class Script;

// listen= / socket= proto:host[:port]
struct ListenSpec {
  Proto proto = Proto::kTcp;
  std::string host;         // as written, IPv6 without brackets; "*" = any
  uint16_t port = 0;        // resolved: the proto's default port (tls_port/tcp_port) when omitted
  bool port_given = false;  // the cfg wrote a port; port 0 then means "ephemeral" (tests)
  // `as host[:port]` (else advertised_address / advertised_port): what Via and Record-Route
  // say instead of the bound address. "" / 0 = the bound one.
  std::string adv_host;
  uint16_t adv_port = 0;
  CfgPos pos;
};

// alias = [proto:]host[:port]: another name of this server (is_myself, loose_route).
struct AliasSpec {
  bool any_proto = true;
  Proto proto = Proto::kUdp;
  std::string host;
  uint16_t port = 0;  // 0 = any port
};

// proto_tls / proto_tcp modparams (OpenSIPS names and defaults).
struct StreamProtoParams {
  int port = 0;
  bool crlf_pingpong = true;
  bool crlf_drop = false;
  int max_msg_chunks = 4;
  // proto_tls only: reuse an outbound connection only if it was made with the same TLS client
  // domain. OpenSIPS defaults to 0; sipsd to 1.
  bool cert_check_on_conn_reusage = true;
  // proto_tls only, ours: a TLS 1.3 connection leaves OpenSSL after its handshake and the SSL
  // object is freed (proto_tls/tls13_handoff.h).
  bool record_handoff = true;
};

// proto_udp modparams.
struct UdpProtoParams {
  int port = 5060;  // udp_port: the port of udp listeners that name none
};

using ModParamValue = std::variant<int64_t, std::string>;

struct ModParam {
  std::string module;
  std::string name;
  ModParamValue value;
  CfgPos pos;
};

// mi_fifo modparams. Defaults are OpenSIPS 3.x's except fifo_mode: 0600 here
// (OpenSIPS: 0660), so only the owner can send management commands unless the cfg says so.
// tm modparams (OpenSIPS names and defaults; max_transactions and max_branches are sipsd's
// bounds: OpenSIPS has no per-process cap and a compile-time limit of 12 branches).
struct TmParams {
  int fr_timeout = 30;       // seconds
  int fr_inv_timeout = 120;  // seconds
  int t1_timer = 500;        // T1_timer, ms
  int t2_timer = 4000;       // T2_timer, ms
  int wt_timer = 5;          // seconds
  bool restart_fr_on_each_reply = true;
  bool auto_100trying = true;
  bool disable_6xx_block = false;
  int max_transactions = 65536;  // per worker
  int max_branches = 12;
};

// rr modparams.
struct RrParams {
  bool append_fromtag = true;
  bool enable_double_rr = true;
};

// path modparams (OpenSIPS names and defaults).
struct PathParams {
  bool use_received = false;  // loose_route(): our Route's ;received= becomes $du
  bool enable_double_path = true;
};

// usrloc modparams (OpenSIPS names and defaults; max_contacts_total is sipsd's bound on the
// shared location table).
struct UsrlocParams {
  int db_mode = 0;  // 0 memory only (the only mode without a database layer)
  std::string db_url;
  int timer_interval = 60;  // seconds: expiry (and write-back) timer
  std::string nat_bflag;    // a flag name or number ("" = unset)
  bool use_domain = false;
  int hash_size = 9;  // 2^9 buckets
  int cseq_delay = 20;
  int max_contacts_total = 65536;
};

// registrar modparams (OpenSIPS names and defaults).
struct RegistrarParams {
  int default_expires = 3600;
  int min_expires = 60;
  int max_expires = 0;
  int max_contacts = 0;
  std::string tcp_persistent_flag;  // a flag name or number ("" = unset)
  std::string received_avp;         // the AVP's name, from "name" or "$avp(name)" ("" = unset)
  std::string received_param = "received";
  int retry_after = 0;
};

// acc modparams (OpenSIPS names and defaults; only accounting to the log is carried out).
struct AccParams {
  int log_level = 2;                        // L_NOTICE
  std::string log_facility = "LOG_DAEMON";  // syslog facility of the ACC lines
  // do_accounting("db"): where the records go (the supervisor writes them, batched).
  std::string db_url;
  std::string db_table_acc = "acc";
  std::string db_table_missed_calls = "missed_calls";
};

struct MiFifoParams {
  bool enabled = false;  // loadmodule "mi_fifo.so" seen
  std::string fifo_name = "/tmp/opensips_fifo";
  int fifo_mode = 0600;    // permission bits; 0 in the cfg means 0600
  std::string fifo_user;   // user name or numeric uid as written ("" = the creator's)
  std::string fifo_group;  // group name or numeric gid ("" = the creator's)
  // A reply goes to reply_dir + name (plain concatenation: keep the trailing '/').
  std::string reply_dir = "/tmp/";
};

// Core (global) parameters; defaults are OpenSIPS 3.x's.
struct CoreParams {
  int log_level = 2;
  bool stderror_enabled = true;
  // Logging outputs (OpenSIPS 3.4+ names; core/base/log.h LogOutputs).
  int stderror_level_filter = 0;                   // 0 = no filter
  std::string stderror_log_format = "plain_text";  // plain_text | json | json_cee
  bool syslog_enabled = false;
  int syslog_level_filter = 0;
  std::string syslog_log_format = "plain_text";
  std::string syslog_facility = "LOG_DAEMON";
  std::string syslog_name = "sipsd";  // the syslog tag (OpenSIPS: argv[0])
  std::string log_prefix;
  bool log_stdout = false;  // accepted; sipsd never closes stdout
  int xlog_level = 2;       // xlog()'s own threshold
  int tcp_workers = 8;
  int udp_workers = 8;  // processes reading each UDP listener (OpenSIPS's udp_workers)
  int tcp_max_connections = 2048;
  int tcp_connection_lifetime = 120;  // seconds
  int tcp_max_msg_time = 4;           // seconds
  int tcp_socket_backlog = 10;
  bool tcp_keepalive = true;
  int tcp_keepcount = 0;     // 0 = OS default
  int tcp_keepidle = 0;      // seconds, 0 = OS default
  int tcp_keepinterval = 0;  // seconds, 0 = OS default
  // RFC 5923: 1 = a request whose top Via has ;alias makes its Via port an alias of the
  // connection it came on (later requests to source IP:that port reuse it); 2 = for every
  // request, ;alias or not. 0 (OpenSIPS's default) = never.
  int tcp_accept_aliases = 0;
  // Bytes a TCP/TLS connection may queue for a peer that does not read (then it is closed).
  int tcp_max_output_queue = 1 << 20;
  // Milliseconds a TCP worker's loop may go without a heartbeat before the supervisor stops
  // handing it new connections (until it beats again); 0 = never (OpenSIPS has no such check).
  int tcp_worker_stall_timeout = 2000;
  std::string advertised_address;  // for sockets without `as` ("" = none)
  int advertised_port = 0;
  std::string user;  // drop privileges to this user after binding ("" = don't)
  std::string group;
  // DNS (core/dns/resolver.h).
  bool dns_try_naptr = true;
  bool dns_try_ipv6 = false;
  int dns_retr_time = 0;  // seconds before a query is retried; 0 = the resolver's default
  int dns_retr_no = 0;    // tries per server; 0 = the resolver's default
  bool disable_dns_failover = false;  // tm: no failover to the next address after 503/408
  std::string dns_servers;            // "ip[:port],..."; "" = /etc/resolv.conf (sipsd only)
  int dns_max_pending = 1024;         // resolutions waiting for DNS per process (sipsd only)
  int max_while_loops = 10000;        // iterations of one while loop before it is cut short
  // check_via, dns, rev_dns: OpenSIPS's DNS checks of the top Via (default off); only "no".
  bool check_via = false;
  bool dns_via = false;
  bool rev_dns_via = false;
};

struct Config {
  std::string path;  // the file given to -f
  CoreParams core;
  std::vector<ListenSpec> listeners;
  std::vector<AliasSpec> aliases;
  std::vector<std::string> modules;  // loaded modules, without ".so", in load order
  StreamProtoParams tls{.port = 5061};
  StreamProtoParams tcp{.port = 5060};
  UdpProtoParams udp;
  TmParams tm;
  RrParams rr;
  PathParams path_mod;  // modparam("path", …)
  UsrlocParams usrloc;
  RegistrarParams registrar;
  AccParams acc;
  // modparam("tls_mgm", ...) lines in cfg order; tls_mgm interprets "[domain]value".
  std::vector<ModParam> tls_mgm_params;
  // modparam("auth" | "auth_db" | "db_sqlite", ...) lines in cfg order; core/auth reads them.
  std::vector<ModParam> auth_params;
  MiFifoParams mi_fifo;
  // Warnings found while loading (deprecated names, ignored parameters), each prefixed with
  // its position. The caller logs them.
  std::vector<std::string> warnings;
  std::vector<std::string> notices;  // the same, for information (logged at NOTICE)
  // The compiled route script (never null after a successful load).
  std::shared_ptr<const Script> script;

  bool has_module(std::string_view name) const;
};

struct LoadOptions {
  // Accept the modules, script functions and variables sipsd does not carry out yet (the
  // schema's `ready` flags: tm, rr, maxfwd, signaling, $fu, ...). For the tests of the script
  // engine and of the layers that implement them; never in sipsd itself, where using one is a
  // load error instead of a silent no-op.
  bool allow_unimplemented = false;
};

// Loads, flattens include_file, parses, type-checks and compiles a cfg file. On failure the
// error message holds one line per error, each starting with "file:line:col: ", followed for
// the first error by the offending source line and a caret line.
Result<Config> load_config(const std::string& path, const LoadOptions& options = {});

// The same, from text in memory; `name` is used as the file name in positions and relative
// include_file paths are resolved against the current directory.
Result<Config> load_config_text(std::string_view text, const std::string& name,
                                const LoadOptions& options = {});

}  // namespace sipsd
