#include "core/cfg/schema.h"

#include <algorithm>
#include <cstdlib>
#include <limits>

#include "core/base/log.h"
#include "core/base/sockaddr_text.h"
#include "core/base/syslog_sink.h"
#include "core/cfg/opensips_names.h"

namespace sipsd::cfg {

namespace {

constexpr int64_t kIntMax = std::numeric_limits<int>::max();

// dns_servers = "ip[:port],...": numeric addresses only (a name would need DNS to be found).
std::string check_dns_servers(std::string_view text) {
  Result<std::vector<IpPort>> list = parse_ip_port_list(text, 53);
  return list.ok() ? std::string() : "dns_servers: " + list.message();
}

std::string check_log_format(std::string_view text) {
  LogFormat f;
  return parse_log_format(text, &f)
             ? std::string()
             : "unknown log format '" + std::string(text) + "' (plain_text, json or json_cee)";
}

std::string check_syslog_facility(std::string_view text) {
  int f;
  return parse_syslog_facility(text, &f)
             ? std::string()
             : "unknown syslog facility '" + std::string(text) +
                   "' (LOG_DAEMON, LOG_USER, LOG_LOCAL0..LOG_LOCAL7, ...)";
}

std::string check_any_text(std::string_view) {
  return {};
}

// clang-format off
const CoreParamDef kCoreParams[] = {
    {.name = "log_level", .type = CoreType::kInt, .min = -3, .max = 4,
     .int_field = &CoreParams::log_level},
    {.name = "stderror_enabled", .type = CoreType::kBool,
     .bool_field = &CoreParams::stderror_enabled},
    {.name = "log_stderror", .type = CoreType::kBool,
     .bool_field = &CoreParams::stderror_enabled, .use_instead = "stderror_enabled"},
    {.name = "stderror_level_filter", .type = CoreType::kInt, .min = -3, .max = 4,
     .int_field = &CoreParams::stderror_level_filter},
    {.name = "stderror_log_format", .type = CoreType::kString,
     .str_field = &CoreParams::stderror_log_format, .check_text = &check_log_format},
    {.name = "syslog_enabled", .type = CoreType::kBool, .bool_field = &CoreParams::syslog_enabled},
    {.name = "syslog_level_filter", .type = CoreType::kInt, .min = -3, .max = 4,
     .int_field = &CoreParams::syslog_level_filter},
    {.name = "syslog_log_format", .type = CoreType::kString,
     .str_field = &CoreParams::syslog_log_format, .check_text = &check_log_format},
    {.name = "syslog_facility", .type = CoreType::kString,
     .str_field = &CoreParams::syslog_facility, .check_text = &check_syslog_facility},
    {.name = "log_facility", .type = CoreType::kString, .str_field = &CoreParams::syslog_facility,
     .use_instead = "syslog_facility", .check_text = &check_syslog_facility},
    {.name = "syslog_name", .type = CoreType::kString, .str_field = &CoreParams::syslog_name},
    {.name = "log_name", .type = CoreType::kString, .str_field = &CoreParams::syslog_name,
     .use_instead = "syslog_name"},
    {.name = "log_prefix", .type = CoreType::kString, .str_field = &CoreParams::log_prefix,
     .check_text = &check_any_text},
    {.name = "log_stdout", .type = CoreType::kBool, .bool_field = &CoreParams::log_stdout},
    {.name = "xlog_level", .type = CoreType::kInt, .min = -3, .max = 4,
     .int_field = &CoreParams::xlog_level},
    {.name = "tcp_workers", .type = CoreType::kInt, .min = 1, .max = 256,
     .int_field = &CoreParams::tcp_workers},
    {.name = "tcp_children", .type = CoreType::kInt, .min = 1, .max = 256,
     .int_field = &CoreParams::tcp_workers, .use_instead = "tcp_workers"},
    {.name = "udp_workers", .type = CoreType::kInt, .min = 1, .max = 256,
     .int_field = &CoreParams::udp_workers},
    {.name = "children", .type = CoreType::kInt, .min = 1, .max = 256,
     .int_field = &CoreParams::udp_workers, .use_instead = "udp_workers"},
    {.name = "socket", .type = CoreType::kSocket},
    {.name = "listen", .type = CoreType::kSocket, .use_instead = "socket"},
    {.name = "alias", .type = CoreType::kSocket},
    {.name = "advertised_address", .type = CoreType::kString,
     .str_field = &CoreParams::advertised_address},
    {.name = "advertised_port", .type = CoreType::kInt, .min = 1, .max = 65535,
     .int_field = &CoreParams::advertised_port},
    {.name = "tcp_max_connections", .type = CoreType::kInt, .min = 1, .max = kIntMax,
     .int_field = &CoreParams::tcp_max_connections},
    {.name = "tcp_connection_lifetime", .type = CoreType::kInt, .min = 1, .max = kIntMax,
     .int_field = &CoreParams::tcp_connection_lifetime},
    {.name = "tcp_max_msg_time", .type = CoreType::kInt, .min = 1, .max = kIntMax,
     .int_field = &CoreParams::tcp_max_msg_time},
    {.name = "tcp_socket_backlog", .type = CoreType::kInt, .min = 1, .max = kIntMax,
     .int_field = &CoreParams::tcp_socket_backlog},
    {.name = "tcp_keepalive", .type = CoreType::kBool, .bool_field = &CoreParams::tcp_keepalive},
    {.name = "tcp_keepcount", .type = CoreType::kInt, .min = 0, .max = kIntMax,
     .int_field = &CoreParams::tcp_keepcount},
    {.name = "tcp_keepidle", .type = CoreType::kInt, .min = 0, .max = kIntMax,
     .int_field = &CoreParams::tcp_keepidle},
    {.name = "tcp_keepinterval", .type = CoreType::kInt, .min = 0, .max = kIntMax,
     .int_field = &CoreParams::tcp_keepinterval},
    {.name = "tcp_accept_aliases", .type = CoreType::kInt, .min = 0, .max = 2,
     .int_field = &CoreParams::tcp_accept_aliases},
    {.name = "tcp_max_output_queue", .type = CoreType::kInt, .min = 16384, .max = 1 << 30,
     .int_field = &CoreParams::tcp_max_output_queue},
    {.name = "tcp_worker_stall_timeout", .type = CoreType::kInt, .min = 0, .max = 3600000,
     .int_field = &CoreParams::tcp_worker_stall_timeout},
    {.name = "user", .type = CoreType::kString, .str_field = &CoreParams::user},
    {.name = "group", .type = CoreType::kString, .str_field = &CoreParams::group},
    {.name = "dns_try_naptr", .type = CoreType::kBool, .bool_field = &CoreParams::dns_try_naptr},
    {.name = "dns_try_ipv6", .type = CoreType::kBool, .bool_field = &CoreParams::dns_try_ipv6},
    {.name = "dns_retr_time", .type = CoreType::kInt, .min = 0, .max = 60,
     .int_field = &CoreParams::dns_retr_time},
    {.name = "dns_retr_no", .type = CoreType::kInt, .min = 0, .max = 10,
     .int_field = &CoreParams::dns_retr_no},
    {.name = "disable_dns_failover", .type = CoreType::kBool,
     .bool_field = &CoreParams::disable_dns_failover},
    {.name = "dns_servers", .type = CoreType::kString, .str_field = &CoreParams::dns_servers,
     .check_text = &check_dns_servers},
    {.name = "dns_max_pending", .type = CoreType::kInt, .min = 1, .max = 1000000,
     .int_field = &CoreParams::dns_max_pending},
    // OpenSIPS's Via checks through DNS, off by default; sipsd does none of them, so only "no".
    {.name = "check_via", .type = CoreType::kBool, .bool_field = &CoreParams::check_via},
    {.name = "dns", .type = CoreType::kBool, .bool_field = &CoreParams::dns_via},
    {.name = "rev_dns", .type = CoreType::kBool, .bool_field = &CoreParams::rev_dns_via},
    {.name = "max_while_loops", .type = CoreType::kInt, .min = 1, .max = 100000000,
     .int_field = &CoreParams::max_while_loops},
};

// OpenSIPS 3.x (and a few 2.x) core keywords sipsd does not implement.
constexpr std::string_view kUnsupportedCore[] = {
    "xlog_buf_size", "xlog_force_color",
    "xlog_print_level", "debug_mode", "debug", "timer_workers",
    "port", "auto_aliases",
    "tcp_connect_timeout", "tcp_threshold", "tcpthreshold",
    "tcp_no_new_conn_bflag", "tcp_no_new_conn_rplflag", "tcp_parallel_read_on_workers",
    "tcp_listen_backlog", "tcp_async", "tcp_async_max_postponed_chunks",
    "tcp_async_local_connect_timeout", "tcp_async_local_write_timeout", "open_files_limit",
    "chroot", "workdir", "wdir", "fork", "uid", "gid",
    "dns_servers_no", "dns_use_search_list", "disable_dns_blacklist",
    "dst_blacklist", "server_header", "server_signature", "user_agent_header", "maxbuffer",
    "mhomed", "disable_tcp", "disable_tls", "memlog", "mem_log", "memdump",
    "mem_dump", "shm_hash_split_percentage", "shm_secondary_hash_size", "mem_warming",
    "mem_warming_percentage", "mem_warming_pattern_file", "shm_memlog_size",
    "sip_warning", "db_version_table", "db_default_url", "db_max_async_connections",
    "exec_dns_threshold", "exec_msg_threshold", "event_pkg_threshold", "event_shm_threshold",
    "query_buffer_size", "query_flush_time", "abort_on_assert", "enable_asserts",
    "restart_persistency_cache_id", "include_file", "import_file",
};

const ModParamDef kProtoTlsParams[] = {
    {.name = "tls_port", .type = ParamType::kInt, .min = 0, .max = 65535},
    {.name = "tls_crlf_pingpong", .type = ParamType::kInt, .min = 0, .max = kIntMax},
    {.name = "tls_crlf_drop", .type = ParamType::kInt, .min = 0, .max = kIntMax},
    {.name = "tls_max_msg_chunks", .type = ParamType::kInt, .min = 1, .max = kIntMax},
    {.name = "cert_check_on_conn_reusage", .type = ParamType::kInt, .min = 0, .max = 1},
    {.name = "tls_record_handoff", .type = ParamType::kInt, .min = 0, .max = 1},
    {.name = "tls_handshake_timeout", .type = ParamType::kInt, .min = std::numeric_limits<int64_t>::min(),
     .max = std::numeric_limits<int64_t>::max(),
     .no_effect = "sipsd never blocks (handshakes are bounded by tcp_max_msg_time)"},
    {.name = "tls_send_timeout", .type = ParamType::kInt, .min = std::numeric_limits<int64_t>::min(),
     .max = std::numeric_limits<int64_t>::max(),
     .no_effect = "sipsd never blocks (writes are non-blocking)"},
};

const ModParamDef kProtoTcpParams[] = {
    {.name = "tcp_port", .type = ParamType::kInt, .min = 0, .max = 65535},
    {.name = "tcp_crlf_pingpong", .type = ParamType::kInt, .min = 0, .max = kIntMax},
    {.name = "tcp_crlf_drop", .type = ParamType::kInt, .min = 0, .max = kIntMax},
    {.name = "tcp_max_msg_chunks", .type = ParamType::kInt, .min = 1, .max = kIntMax},
    {.name = "tcp_send_timeout", .type = ParamType::kInt, .min = std::numeric_limits<int64_t>::min(),
     .max = std::numeric_limits<int64_t>::max(),
     .no_effect = "sipsd never blocks (writes are non-blocking)"},
};

const ModParamDef kProtoUdpParams[] = {
    {.name = "udp_port", .type = ParamType::kInt, .min = 0, .max = 65535},
};

#define SIPSD_TLS_MGM_PARAM(n) {.name = n, .type = ParamType::kStr, .accumulates = true}
const ModParamDef kTlsMgmParams[] = {
    SIPSD_TLS_MGM_PARAM("server_domain"),    SIPSD_TLS_MGM_PARAM("client_domain"),
    SIPSD_TLS_MGM_PARAM("match_ip_address"), SIPSD_TLS_MGM_PARAM("match_sip_domain"),
    SIPSD_TLS_MGM_PARAM("certificate"),      SIPSD_TLS_MGM_PARAM("private_key"),
    SIPSD_TLS_MGM_PARAM("ca_list"),          SIPSD_TLS_MGM_PARAM("ca_dir"),
    SIPSD_TLS_MGM_PARAM("crl_dir"),          SIPSD_TLS_MGM_PARAM("crl_check_all"),
    SIPSD_TLS_MGM_PARAM("verify_cert"),      SIPSD_TLS_MGM_PARAM("require_cert"),
    SIPSD_TLS_MGM_PARAM("ciphers_list"),     SIPSD_TLS_MGM_PARAM("tls_method"),
    SIPSD_TLS_MGM_PARAM("dh_params"),        SIPSD_TLS_MGM_PARAM("ec_curve"),
    SIPSD_TLS_MGM_PARAM("ciphersuites"),     SIPSD_TLS_MGM_PARAM("verify_depth"),
    // Module-wide (no "[domain]"); they accumulate too, so that tls_mgm sees them in order.
    {.name = "ticket_key_file", .type = ParamType::kStr, .accumulates = true},
    {.name = "ticket_key_interval", .type = ParamType::kInt, .min = 60, .max = 604800,
     .accumulates = true},
    {.name = "db_url", .type = ParamType::kStr, .accumulates = true},  // tls_mgm/tls_db_domains.h
    {.name = "db_table", .type = ParamType::kStr, .accumulates = true},
    {.name = "client_tls_domain_avp", .type = ParamType::kStr, .accumulates = true},
    {.name = "client_sip_domain_avp", .type = ParamType::kStr, .accumulates = true},
};
#undef SIPSD_TLS_MGM_PARAM

const ModParamDef kMiFifoParams[] = {
    {.name = "fifo_name", .type = ParamType::kStr},
    // At most 0777: config.cc checks it and says so in octal.
    {.name = "fifo_mode", .type = ParamType::kInt, .min = 0, .max = kIntMax},
    {.name = "fifo_user", .type = ParamType::kIntOrStr, .min = 0, .max = kIntMax},
    {.name = "fifo_group", .type = ParamType::kIntOrStr, .min = 0, .max = kIntMax},
    {.name = "reply_dir", .type = ParamType::kStr},
    {.name = "pretty_printing", .type = ParamType::kInt, .min = 0, .max = 1,
     .no_effect = "replies are always one line of compact JSON (opensips-cli reads one line)"},
};

// ---- script functions --------------------------------------------------------------------
// Route masks are OpenSIPS 3.x's (module exports); `ready` marks what sipsd's worker carries out
// today (the others load only with LoadOptions::allow_unimplemented).

constexpr RouteMask kReq = route_bit(RouteType::kRequest);
constexpr RouteMask kFail = route_bit(RouteType::kFailure);
constexpr RouteMask kReply = route_bit(RouteType::kOnReply);
constexpr RouteMask kBranch = route_bit(RouteType::kBranch);
constexpr RouteMask kLocal = route_bit(RouteType::kLocal);
constexpr RouteMask kErrorRt = route_bit(RouteType::kError);
constexpr RouteMask kMsgOps = kReq | kReply | kFail | kBranch | kLocal;

constexpr ArgSpec kStrArg(std::string_view what) {
  return ArgSpec{.kind = ArgKind::kStr, .what = what};
}
constexpr ArgSpec kReplyCode{
    .kind = ArgKind::kInt, .what = "reply code", .min = 100, .max = 699};
constexpr ArgSpec kReason{.kind = ArgKind::kStr, .what = "reason phrase", .quoted = true};
constexpr ArgSpec kFlagArg{.kind = ArgKind::kFlag, .what = "flag"};

const FuncDef kCoreFuncs[] = {
    {.name = "xlog", .id = FuncId::kXlog, .min_args = 1, .max_args = 2,
     .args = {ArgSpec{.kind = ArgKind::kStatic, .what = "log level"},
              ArgSpec{.kind = ArgKind::kStr, .what = "format string", .quoted = true}},
     .builtin = true, .ready = true},
    {.name = "setflag", .id = FuncId::kSetflag, .min_args = 1, .max_args = 1,
     .args = {kFlagArg}, .ready = true},
    {.name = "resetflag", .id = FuncId::kResetflag, .min_args = 1, .max_args = 1,
     .args = {kFlagArg}, .ready = true},
    {.name = "isflagset", .id = FuncId::kIsflagset, .min_args = 1, .max_args = 1,
     .args = {kFlagArg}, .ready = true},
    {.name = "force_rport", .id = FuncId::kForceRport, .ready = true},
    {.name = "force_send_socket", .id = FuncId::kForceSendSocket, .min_args = 1, .max_args = 1,
     .args = {ArgSpec{.kind = ArgKind::kStatic, .what = "socket"}},
     .routes = kReq | kFail | kBranch, .ready = true},
    {.name = "forward", .id = FuncId::kForward, .min_args = 0, .max_args = 1,
     .args = {kStrArg("destination")}, .ready = true},
    {.name = "serialize_branches", .id = FuncId::kSerializeBranches, .min_args = 1,
     .max_args = 1, .args = {ArgSpec{.kind = ArgKind::kInt, .what = "clear", .min = 0, .max = 1}},
     .routes = kReq | kFail, .ready = true},
    {.name = "next_branches", .id = FuncId::kNextBranches, .routes = kReq | kFail, .ready = true},
    {.name = "is_myself", .id = FuncId::kIsMyself, .min_args = 1, .max_args = 2,
     .args = {kStrArg("host"),
              ArgSpec{.kind = ArgKind::kInt, .what = "port", .min = 0, .max = 65535}}, .ready = true},
    // R-URI and branch flags (OpenSIPS core; branch flags of the R-URI branch).
    {.name = "setbflag", .id = FuncId::kSetbflag, .min_args = 1, .max_args = 1,
     .args = {kFlagArg}, .ready = true},
    {.name = "resetbflag", .id = FuncId::kResetbflag, .min_args = 1, .max_args = 1,
     .args = {kFlagArg}, .ready = true},
    {.name = "isbflagset", .id = FuncId::kIsbflagset, .min_args = 1, .max_args = 1,
     .args = {kFlagArg}, .ready = true},
    {.name = "strip", .id = FuncId::kStrip, .min_args = 1, .max_args = 1,
     .args = {ArgSpec{.kind = ArgKind::kInt, .what = "length", .min = 0, .max = 1024}},
     .routes = kReq | kFail | kBranch, .ready = true},
    {.name = "prefix", .id = FuncId::kPrefix, .min_args = 1, .max_args = 1,
     .args = {kStrArg("prefix")}, .routes = kReq | kFail | kBranch, .ready = true},
    {.name = "rewriteuser", .id = FuncId::kRewriteuser, .min_args = 1, .max_args = 1,
     .args = {kStrArg("user")}, .routes = kReq | kFail | kBranch, .ready = true},
    {.name = "rewritehostport", .id = FuncId::kRewritehostport, .min_args = 1, .max_args = 1,
     .args = {kStrArg("host[:port]")}, .routes = kReq | kFail | kBranch, .ready = true},
};
const FuncDef kSlFuncs[] = {
    {.name = "sl_send_reply", .id = FuncId::kSlSendReply, .min_args = 2, .max_args = 2,
     .args = {kReplyCode, kReason}, .routes = kReq | kErrorRt, .ready = true},
    {.name = "sl_reply_error", .id = FuncId::kSlReplyError, .routes = kReq, .ready = true},
};
const FuncDef kSignalingFuncs[] = {
    {.name = "send_reply", .id = FuncId::kSendReply, .min_args = 2, .max_args = 2,
     .args = {kReplyCode, kReason}, .routes = kReq | kErrorRt | kFail, .ready = true},
};
const FuncDef kSipmsgopsFuncs[] = {
    {.name = "is_method", .id = FuncId::kIsMethod, .min_args = 1, .max_args = 1,
     .args = {ArgSpec{.kind = ArgKind::kStatic, .what = "list of methods"}}, .routes = kMsgOps,
     .builtin = true, .ready = true},
    {.name = "append_hf", .id = FuncId::kAppendHf, .min_args = 1, .max_args = 2,
     .args = {kStrArg("header text"), kStrArg("header name")}, .routes = kMsgOps, .ready = true},
    {.name = "insert_hf", .id = FuncId::kInsertHf, .min_args = 1, .max_args = 2,
     .args = {kStrArg("header text"), kStrArg("header name")}, .routes = kMsgOps, .ready = true},
    {.name = "remove_hf", .id = FuncId::kRemoveHf, .min_args = 1, .max_args = 1,
     .args = {kStrArg("header name")}, .routes = kMsgOps, .ready = true},
    {.name = "is_present_hf", .id = FuncId::kIsPresentHf, .min_args = 1, .max_args = 1,
     .args = {kStrArg("header name")}, .routes = kMsgOps, .ready = true},
    {.name = "has_totag", .id = FuncId::kHasTotag, .routes = kMsgOps, .ready = true},
    {.name = "has_body", .id = FuncId::kHasBody, .min_args = 0, .max_args = 1,
     .args = {kStrArg("content type")}, .routes = kMsgOps, .ready = true},
};
const ModParamDef kTmParams[] = {
    {.name = "fr_timeout", .type = ParamType::kInt, .min = 1, .max = 86400},
    {.name = "fr_inv_timeout", .type = ParamType::kInt, .min = 1, .max = 86400},
    {.name = "T1_timer", .type = ParamType::kInt, .min = 10, .max = 60000},
    {.name = "T2_timer", .type = ParamType::kInt, .min = 10, .max = 600000},
    {.name = "wt_timer", .type = ParamType::kInt, .min = 1, .max = 3600},
    {.name = "restart_fr_on_each_reply", .type = ParamType::kInt, .min = 0, .max = 1},
    {.name = "auto_100trying", .type = ParamType::kInt, .min = 0, .max = 1},
    {.name = "disable_6xx_block", .type = ParamType::kInt, .min = 0, .max = 1},
    {.name = "max_transactions", .type = ParamType::kInt, .min = 1, .max = 10000000},
    {.name = "max_branches", .type = ParamType::kInt, .min = 1, .max = 64},
    {.name = "delete_timer", .type = ParamType::kInt, .min = 0, .max = 3600,
     .no_effect = "transactions are freed as soon as their linger ends"},
    {.name = "onreply_avp_mode", .type = ParamType::kInt, .min = 0, .max = 1,
     .no_effect = "$avp variables of the transaction are always visible in onreply routes"},
    {.name = "syn_branch", .type = ParamType::kInt, .min = 0, .max = 1,
     .no_effect = "sipsd's branches always name the worker and the transaction"},
};

const ModParamDef kRrParams[] = {
    {.name = "append_fromtag", .type = ParamType::kInt, .min = 0, .max = 1},
    {.name = "enable_double_rr", .type = ParamType::kInt, .min = 0, .max = 1},
    {.name = "add_username", .type = ParamType::kInt, .min = 0, .max = 1,
     .no_effect = "Record-Route URIs carry no user part"},
    {.name = "enable_socket_mismatch_warning", .type = ParamType::kInt, .min = 0, .max = 1,
     .no_effect = "sipsd does not warn about socket mismatches"},
};

const ModParamDef kMaxfwdParams[] = {
    {.name = "max_limit", .type = ParamType::kInt, .min = 0, .max = 255,
     .no_effect = "the value given to mf_process_maxfwd_header() is used as is"},
};

const FuncDef kMaxfwdFuncs[] = {
    {.name = "mf_process_maxfwd_header", .id = FuncId::kMfProcessMaxfwdHeader, .min_args = 1,
     .max_args = 1, .args = {ArgSpec{.kind = ArgKind::kInt, .what = "limit", .min = 0, .max = 255}},
     .routes = kReq, .ready = true},
};
const FuncDef kTmFuncs[] = {
    {.name = "t_relay", .id = FuncId::kTRelay, .min_args = 0, .max_args = 2,
     .args = {ArgSpec{.kind = ArgKind::kAny, .what = "flags"}, kStrArg("outbound proxy")},
     .routes = kReq | kFail, .ready = true},
    {.name = "t_newtran", .id = FuncId::kTNewtran, .routes = kReq, .ready = true},
    {.name = "t_reply", .id = FuncId::kTReply, .min_args = 2, .max_args = 2,
     .args = {kReplyCode, kReason}, .routes = kReq | kFail, .ready = true},
    {.name = "t_check_trans", .id = FuncId::kTCheckTrans, .routes = kReq | kBranch, .ready = true},
    {.name = "t_on_failure", .id = FuncId::kTOnFailure, .min_args = 1, .max_args = 1,
     .args = {ArgSpec{.kind = ArgKind::kRoute, .route = RouteType::kFailure}},
     .routes = kReq | kFail | kReply | kBranch | kLocal, .ready = true},
    {.name = "t_on_reply", .id = FuncId::kTOnReply, .min_args = 1, .max_args = 1,
     .args = {ArgSpec{.kind = ArgKind::kRoute, .route = RouteType::kOnReply}},
     .routes = kReq | kFail | kReply | kBranch | kLocal, .ready = true},
    {.name = "t_on_branch", .id = FuncId::kTOnBranch, .min_args = 1, .max_args = 1,
     .args = {ArgSpec{.kind = ArgKind::kRoute, .route = RouteType::kBranch}},
     .routes = kReq | kFail | kReply | kBranch, .ready = true},
    {.name = "t_check_status", .id = FuncId::kTCheckStatus, .min_args = 1, .max_args = 1,
     .args = {ArgSpec{.kind = ArgKind::kRegex, .what = "status regex"}},
     .routes = kReq | kFail | kReply | kBranch, .ready = true},
    {.name = "t_was_cancelled", .id = FuncId::kTWasCancelled,
     .routes = kReq | kFail | kReply | kBranch, .ready = true},
    {.name = "t_local_replied", .id = FuncId::kTLocalReplied, .min_args = 1, .max_args = 1,
     .args = {ArgSpec{.kind = ArgKind::kStatic, .what = "all|branch|last"}},
     .routes = kReq | kFail | kReply | kBranch, .ready = true},
};
const FuncDef kRrFuncs[] = {
    {.name = "record_route", .id = FuncId::kRecordRoute, .min_args = 0, .max_args = 1,
     .args = {kStrArg("parameters")}, .routes = kReq | kBranch | kFail, .ready = true},
    {.name = "record_route_preset", .id = FuncId::kRecordRoutePreset, .min_args = 1,
     .max_args = 2, .args = {kStrArg("address"), kStrArg("second address")},
     .routes = kReq | kBranch | kFail, .ready = true},
    {.name = "loose_route", .id = FuncId::kLooseRoute, .routes = kReq, .ready = true},
    {.name = "add_rr_param", .id = FuncId::kAddRrParam, .min_args = 1, .max_args = 1,
     .args = {kStrArg("parameter")}, .routes = kReq | kBranch | kFail, .ready = true},
    {.name = "check_route_param", .id = FuncId::kCheckRouteParam, .min_args = 1, .max_args = 1,
     .args = {ArgSpec{.kind = ArgKind::kRegex, .what = "parameter regex"}}, .routes = kReq, .ready = true},
    {.name = "is_direction", .id = FuncId::kIsDirection, .min_args = 1, .max_args = 1,
     .args = {ArgSpec{.kind = ArgKind::kStatic, .what = "downstream|upstream"}},
     .routes = kReq, .ready = true},
};
const ModParamDef kPathParams[] = {
    {.name = "use_received", .type = ParamType::kInt, .min = 0, .max = 1},
    {.name = "enable_double_path", .type = ParamType::kInt, .min = 0, .max = 1},
};
const FuncDef kPathFuncs[] = {
    {.name = "add_path", .id = FuncId::kAddPath, .min_args = 0, .max_args = 1,
     .args = {kStrArg("user")}, .routes = kReq, .ready = true},
    {.name = "add_path_received", .id = FuncId::kAddPathReceived, .min_args = 0, .max_args = 1,
     .args = {kStrArg("user")}, .routes = kReq, .ready = true},
};
// acc: accounting to the log and to the database (do_accounting("log|db", ...)); aaa/evi need
// modules sipsd lacks. The three flags OpenSIPS defaults to 0 are accepted at 0 only (config.cc).
const ModParamDef kAccParams[] = {
    {.name = "log_level", .type = ParamType::kInt, .min = -3, .max = 4},
    {.name = "log_facility", .type = ParamType::kStr},
    {.name = "db_url", .type = ParamType::kStr},
    {.name = "db_table_acc", .type = ParamType::kStr},
    {.name = "db_table_missed_calls", .type = ParamType::kStr},
    {.name = "early_media", .type = ParamType::kInt, .min = 0, .max = 1},
    {.name = "report_cancels", .type = ParamType::kInt, .min = 0, .max = 1},
    {.name = "detect_direction", .type = ParamType::kInt, .min = 0, .max = 1},
};
const FuncDef kAccFuncs[] = {
    {.name = "do_accounting", .id = FuncId::kDoAccounting, .min_args = 1, .max_args = 3,
     .args = {ArgSpec{.kind = ArgKind::kStatic, .what = "accounting type (log, db)"},
              ArgSpec{.kind = ArgKind::kStatic, .what = "accounting flags"},
              kStrArg("table")},
     .routes = kReq | kFail | kBranch, .ready = true},
};
const FuncDef kTlsMgmFuncs[] = {
    {.name = "is_peer_verified", .id = FuncId::kIsPeerVerified, .routes = kReq,
     .builtin = true, .ready = true},
};

const ModParamDef kUsrlocParams[] = {
    {.name = "db_mode", .type = ParamType::kInt, .min = 0, .max = 3},
    {.name = "working_mode_preset", .type = ParamType::kStr},
    {.name = "db_url", .type = ParamType::kStr},
    {.name = "timer_interval", .type = ParamType::kInt, .min = 1, .max = 86400},
    {.name = "nat_bflag", .type = ParamType::kIntOrStr, .min = 0, .max = 31},
    {.name = "use_domain", .type = ParamType::kInt, .min = 0, .max = 1},
    {.name = "hash_size", .type = ParamType::kInt, .min = 1, .max = 16},
    {.name = "cseq_delay", .type = ParamType::kInt, .min = 0, .max = 3600},
    {.name = "max_contacts_total", .type = ParamType::kInt, .min = 1, .max = 10000000},
    {.name = "matching_mode", .type = ParamType::kInt, .min = 0, .max = 0},
    {.name = "desc_time_order", .type = ParamType::kInt, .min = 0, .max = 1,
     .no_effect = "bindings of equal q are always listed oldest first"},
};
const ModParamDef kRegistrarParams[] = {
    {.name = "default_expires", .type = ParamType::kInt, .min = 1, .max = kIntMax},
    {.name = "min_expires", .type = ParamType::kInt, .min = 0, .max = kIntMax},
    {.name = "max_expires", .type = ParamType::kInt, .min = 0, .max = kIntMax},
    {.name = "max_contacts", .type = ParamType::kInt, .min = 0, .max = 1000000},
    {.name = "tcp_persistent_flag", .type = ParamType::kIntOrStr, .min = 0, .max = 31},
    {.name = "received_avp", .type = ParamType::kStr},
    {.name = "received_param", .type = ParamType::kStr},
    {.name = "retry_after", .type = ParamType::kInt, .min = 0, .max = kIntMax},
    {.name = "case_sensitive", .type = ParamType::kInt, .min = 0, .max = 1,
     .no_effect = "AoRs are compared as written"},
};
constexpr ArgSpec kLocationArg{.kind = ArgKind::kStatic, .what = "location"};
const FuncDef kRegistrarFuncs[] = {
    {.name = "save", .id = FuncId::kSave, .min_args = 1, .max_args = 3,
     .args = {kLocationArg, kStrArg("flags"), kStrArg("AoR")}, .routes = kReq, .ready = true},
    {.name = "lookup", .id = FuncId::kLookup, .min_args = 1, .max_args = 3,
     .args = {kLocationArg, kStrArg("flags"), kStrArg("AoR")}, .routes = kReq | kFail,
     .ready = true},
    {.name = "is_registered", .id = FuncId::kIsRegistered, .min_args = 1, .max_args = 2,
     .args = {kLocationArg, kStrArg("AoR")}, .routes = kReq | kFail | kReply | kBranch,
     .ready = true},
    {.name = "remove", .id = FuncId::kRemove, .min_args = 2, .max_args = 3,
     .args = {kLocationArg, kStrArg("AoR"), kStrArg("contact")}, .routes = kReq | kFail,
     .ready = true},
};
const ModParamDef kAuthParams[] = {
    {.name = "nonce_expire", .type = ParamType::kInt, .min = 1, .max = 86400},
    {.name = "secret", .type = ParamType::kStr},
    {.name = "disable_nonce_check", .type = ParamType::kInt, .min = 0, .max = 1},
    {.name = "realm_prefix", .type = ParamType::kStr},
    {.name = "nonce_index_size", .type = ParamType::kInt, .min = 1024, .max = 1 << 24},
    {.name = "rpid_prefix", .type = ParamType::kStr, .no_effect = "sipsd has no RPID functions"},
    {.name = "rpid_suffix", .type = ParamType::kStr, .no_effect = "sipsd has no RPID functions"},
};
const ModParamDef kAuthDbParams[] = {
    {.name = "db_url", .type = ParamType::kStr},
    {.name = "calculate_ha1", .type = ParamType::kInt, .min = 0, .max = 1},
    {.name = "user_column", .type = ParamType::kStr},
    {.name = "domain_column", .type = ParamType::kStr},
    {.name = "password_column", .type = ParamType::kStr},
    {.name = "hash_column_sha256", .type = ParamType::kStr},
    {.name = "hash_column_sha512t256", .type = ParamType::kStr},
    {.name = "use_domain", .type = ParamType::kInt, .min = 0, .max = 1},
    {.name = "skip_version_check", .type = ParamType::kInt, .min = 0, .max = 1},
    {.name = "load_credentials", .type = ParamType::kStr},  // only "" (core/auth/auth_params.cc)
    {.name = "cache_size", .type = ParamType::kInt, .min = 1, .max = 10000000},
    {.name = "cache_refresh", .type = ParamType::kInt, .min = 1, .max = 86400},
};
const ModParamDef kDbSqliteParams[] = {
    {.name = "busy_timeout", .type = ParamType::kInt, .min = -1, .max = kIntMax,
     .no_effect = "sipsd's connections wait 500 ms for a writer"},
    {.name = "alloc_limit", .type = ParamType::kInt, .min = 0, .max = kIntMax,
     .no_effect = "rows are read one at a time"},
    {.name = "exec_pragma", .type = ParamType::kStr,
     .no_effect = "sipsctl db init sets journal_mode=wal"},
};
constexpr ArgSpec kRealmArg{.kind = ArgKind::kStr, .what = "realm"};
const FuncDef kAuthFuncs[] = {
    {.name = "www_challenge", .id = FuncId::kWwwChallenge, .min_args = 1, .max_args = 3,
     .args = {kRealmArg, kStrArg("qop"), kStrArg("algorithms")}, .routes = kReq, .ready = true},
    {.name = "proxy_challenge", .id = FuncId::kProxyChallenge, .min_args = 1, .max_args = 3,
     .args = {kRealmArg, kStrArg("qop"), kStrArg("algorithms")}, .routes = kReq, .ready = true},
    {.name = "consume_credentials", .id = FuncId::kConsumeCredentials, .routes = kReq,
     .ready = true},
};
const FuncDef kAuthDbFuncs[] = {
    {.name = "www_authorize", .id = FuncId::kWwwAuthorize, .min_args = 2, .max_args = 2,
     .args = {kRealmArg, kStrArg("table")}, .routes = kReq, .ready = true},
    {.name = "proxy_authorize", .id = FuncId::kProxyAuthorize, .min_args = 2, .max_args = 2,
     .args = {kRealmArg, kStrArg("table")}, .routes = kReq, .ready = true},
    {.name = "db_is_to_authorized", .id = FuncId::kDbIsToAuthorized, .min_args = 0,
     .max_args = 1, .args = {kStrArg("table")}, .routes = kReq, .ready = true},
    {.name = "db_is_from_authorized", .id = FuncId::kDbIsFromAuthorized, .min_args = 0,
     .max_args = 1, .args = {kStrArg("table")}, .routes = kReq, .ready = true},
};

const ModuleDef kModules[] = {
    {"proto_tls", kProtoTlsParams, {}},
    {"proto_tcp", kProtoTcpParams, {}},
    {"proto_udp", kProtoUdpParams, {}},
    {"tls_mgm", kTlsMgmParams, kTlsMgmFuncs},
    {"tls_openssl", {}, {}},
    {"sl", {}, kSlFuncs},
    {"sipmsgops", {}, kSipmsgopsFuncs},
    {"mi_fifo", kMiFifoParams, {}},
    {"signaling", {}, kSignalingFuncs},
    {"maxfwd", kMaxfwdParams, kMaxfwdFuncs},
    {"tm", kTmParams, kTmFuncs},
    {"rr", kRrParams, kRrFuncs},
    {"path", kPathParams, kPathFuncs},
    {"usrloc", kUsrlocParams, {}},
    {"registrar", kRegistrarParams, kRegistrarFuncs},
    {"auth", kAuthParams, kAuthFuncs},
    {"auth_db", kAuthDbParams, kAuthDbFuncs},
    {"db_sqlite", kDbSqliteParams, {}},
    {"acc", kAccParams, kAccFuncs},
};

constexpr std::string_view kUnsupportedModules[] = {
    "mi_http", "mi_datagram", "mi_script", "httpd",
    "textops", "proto_ws", "proto_wss",
    "proto_sctp", "proto_bin", "proto_bins", "proto_hep", "proto_smpp", "proto_msrp",
    "tls_wolfssl", "dialog", "db_mysql", "db_postgres", "db_text",
    "dispatcher", "load_balancer", "drouting", "nathelper", "rtpproxy",
    "rtpengine", "uac", "uac_auth", "permissions", "pike", "siptrace", "tracer",
    "statistics", "cfgutils", "avpops", "exec", "json", "sqlops", "topology_hiding",
    "event_route", "event_routing", "b2b_entities", "b2b_logic", "presence", "pua",
    "alias_db", "domain", "uri", "enum", "dialplan", "ratelimit", "cachedb_local",
    "clusterer", "freeswitch", "mediaproxy",
};

struct UnsupportedFunc {
  std::string_view name;
  std::string_view module;
};
constexpr UnsupportedFunc kUnsupportedFuncs[] = {
    {"nat_uac_test", "nathelper"},
    {"fix_nated_contact", "nathelper"},
    {"fix_nated_register", "nathelper"},
    {"t_reply_with_body", "tm"},
    {"t_cancel_branch", "tm"},
    {"t_add_hdrs", "tm"},
    {"t_flush_flags", "tm"},
    {"remove_hf_re", "sipmsgops"},
    {"append_to_reply", "sipmsgops"},
    {"set_advertised_address", "core"},
    {"append_branch", "core"},
    {"log", "core"},
    {"xdbg", "core"},
    {"assert", "core"},
};

// ---- script variables ----------------------------------------------------------------------

#define SIPSD_TLS_PV(n, pv_id) {.name = n, .id = PvId::pv_id, .module = "tls_mgm"}
constexpr PvDef kPvs[] = {
    {.name = "rm", .id = PvId::kRm},
    {.name = "ru", .id = PvId::kRu, .writable = true},
    {.name = "si", .id = PvId::kSi},
    {.name = "sp", .id = PvId::kSp, .numeric = true},
    {.name = "proto", .id = PvId::kProto},
    {.name = "ci", .id = PvId::kCi},
    {.name = "ua", .id = PvId::kUa},
    {.name = "rU", .id = PvId::kRuUser, .writable = true},
    {.name = "rd", .id = PvId::kRuHost, .writable = true},
    {.name = "rp", .id = PvId::kRuPort, .writable = true, .numeric = true},
    {.name = "rP", .id = PvId::kRuProto},
    {.name = "du", .id = PvId::kDu, .writable = true},
    {.name = "fu", .id = PvId::kFromUri},
    {.name = "fU", .id = PvId::kFromUser},
    {.name = "fd", .id = PvId::kFromHost},
    {.name = "ft", .id = PvId::kFromTag},
    {.name = "tu", .id = PvId::kToUri},
    {.name = "tU", .id = PvId::kToUser},
    {.name = "td", .id = PvId::kToHost},
    {.name = "tt", .id = PvId::kToTag},
    {.name = "cs", .id = PvId::kCseq, .numeric = true},
    {.name = "socket_in", .id = PvId::kSocketIn, .arg = PvArg::kOptional},
    {.name = "socket_out", .id = PvId::kSocketOut, .writable = true, .arg = PvArg::kOptional},
    {.name = "Ri", .id = PvId::kRcvIp},
    {.name = "Rp", .id = PvId::kRcvPort, .numeric = true},
    {.name = "rs", .id = PvId::kReplyStatus, .numeric = true},
    {.name = "rr", .id = PvId::kReplyReason},
    {.name = "hdr", .id = PvId::kHdr, .arg = PvArg::kName},
    {.name = "T_reply_code", .id = PvId::kTReplyCode, .module = "tm", .numeric = true},
    {.name = "T_branch_idx", .id = PvId::kTBranchIdx, .module = "tm", .numeric = true},
    {.name = "au", .id = PvId::kAuthUser, .module = "auth"},
    {.name = "ad", .id = PvId::kAuthDomain, .module = "auth"},
    {.name = "aU", .id = PvId::kAuthUsername, .module = "auth"},
    {.name = "ar", .id = PvId::kAuthRealm, .module = "auth"},
    {.name = "var", .id = PvId::kVar, .writable = true, .arg = PvArg::kName},
    {.name = "avp", .id = PvId::kAvp, .writable = true, .arg = PvArg::kName},
    {.name = "rc", .id = PvId::kRc, .numeric = true},
    {.name = "retcode", .id = PvId::kRc, .numeric = true},
    {.name = "param", .id = PvId::kParam, .arg = PvArg::kName},
    {.name = "rb", .id = PvId::kBody},
    {.name = "cl", .id = PvId::kContentLength, .numeric = true},
    {.name = "Ts", .id = PvId::kTimestamp, .numeric = true},
    {.name = "pp", .id = PvId::kPid, .numeric = true},
    {.name = "time", .id = PvId::kTime, .arg = PvArg::kName},
    SIPSD_TLS_PV("tls_version", kTlsVersion),
    SIPSD_TLS_PV("tls_description", kTlsDescription),
    SIPSD_TLS_PV("tls_cipher_info", kTlsCipherInfo),
    SIPSD_TLS_PV("tls_cipher_bits", kTlsCipherBits),
    SIPSD_TLS_PV("tls_peer_version", kTlsPeerVersion),
    SIPSD_TLS_PV("tls_my_version", kTlsMyVersion),
    SIPSD_TLS_PV("tls_peer_serial", kTlsPeerSerial),
    SIPSD_TLS_PV("tls_my_serial", kTlsMySerial),
    SIPSD_TLS_PV("tls_peer_subject", kTlsPeerSubject),
    SIPSD_TLS_PV("tls_peer_subject_cn", kTlsPeerSubjectCn),
    SIPSD_TLS_PV("tls_peer_subject_locality", kTlsPeerSubjectLocality),
    SIPSD_TLS_PV("tls_peer_subject_country", kTlsPeerSubjectCountry),
    SIPSD_TLS_PV("tls_peer_subject_state", kTlsPeerSubjectState),
    SIPSD_TLS_PV("tls_peer_subject_organization", kTlsPeerSubjectOrganization),
    SIPSD_TLS_PV("tls_peer_subject_unit", kTlsPeerSubjectUnit),
    SIPSD_TLS_PV("tls_peer_subject_serial", kTlsPeerSubjectSerial),
    SIPSD_TLS_PV("tls_peer_issuer", kTlsPeerIssuer),
    SIPSD_TLS_PV("tls_peer_issuer_cn", kTlsPeerIssuerCn),
    SIPSD_TLS_PV("tls_peer_issuer_locality", kTlsPeerIssuerLocality),
    SIPSD_TLS_PV("tls_peer_issuer_country", kTlsPeerIssuerCountry),
    SIPSD_TLS_PV("tls_peer_issuer_state", kTlsPeerIssuerState),
    SIPSD_TLS_PV("tls_peer_issuer_organization", kTlsPeerIssuerOrganization),
    SIPSD_TLS_PV("tls_peer_issuer_unit", kTlsPeerIssuerUnit),
    SIPSD_TLS_PV("tls_my_subject", kTlsMySubject),
    SIPSD_TLS_PV("tls_my_subject_cn", kTlsMySubjectCn),
    SIPSD_TLS_PV("tls_my_subject_locality", kTlsMySubjectLocality),
    SIPSD_TLS_PV("tls_my_subject_country", kTlsMySubjectCountry),
    SIPSD_TLS_PV("tls_my_subject_state", kTlsMySubjectState),
    SIPSD_TLS_PV("tls_my_subject_organization", kTlsMySubjectOrganization),
    SIPSD_TLS_PV("tls_my_subject_unit", kTlsMySubjectUnit),
    SIPSD_TLS_PV("tls_my_subject_serial", kTlsMySubjectSerial),
    SIPSD_TLS_PV("tls_my_issuer", kTlsMyIssuer),
    SIPSD_TLS_PV("tls_my_issuer_cn", kTlsMyIssuerCn),
    SIPSD_TLS_PV("tls_my_issuer_locality", kTlsMyIssuerLocality),
    SIPSD_TLS_PV("tls_my_issuer_country", kTlsMyIssuerCountry),
    SIPSD_TLS_PV("tls_my_issuer_state", kTlsMyIssuerState),
    SIPSD_TLS_PV("tls_my_issuer_organization", kTlsMyIssuerOrganization),
    SIPSD_TLS_PV("tls_my_issuer_unit", kTlsMyIssuerUnit),
    SIPSD_TLS_PV("tls_peer_san_email", kTlsPeerSanEmail),
    SIPSD_TLS_PV("tls_peer_san_hostname", kTlsPeerSanHostname),
    SIPSD_TLS_PV("tls_peer_san_uri", kTlsPeerSanUri),
    SIPSD_TLS_PV("tls_peer_san_ip", kTlsPeerSanIp),
    SIPSD_TLS_PV("tls_my_san_email", kTlsMySanEmail),
    SIPSD_TLS_PV("tls_my_san_hostname", kTlsMySanHostname),
    SIPSD_TLS_PV("tls_my_san_uri", kTlsMySanUri),
    SIPSD_TLS_PV("tls_my_san_ip", kTlsMySanIp),
    SIPSD_TLS_PV("tls_peer_verified", kTlsPeerVerified),
    SIPSD_TLS_PV("tls_peer_revoked", kTlsPeerRevoked),
    SIPSD_TLS_PV("tls_peer_expired", kTlsPeerExpired),
    SIPSD_TLS_PV("tls_peer_selfsigned", kTlsPeerSelfsigned),
    SIPSD_TLS_PV("tls_peer_notBefore", kTlsPeerNotBefore),
    SIPSD_TLS_PV("tls_peer_notAfter", kTlsPeerNotAfter),
    SIPSD_TLS_PV("tls_sni", kTlsSni),
    SIPSD_TLS_PV("tls_domain", kTlsDomain),
    SIPSD_TLS_PV("tls_peer_fingerprint", kTlsPeerFingerprint),
};
#undef SIPSD_TLS_PV
// clang-format on

template <class T, size_t N>
bool contains(const T (&arr)[N], std::string_view name) {
  for (const auto& e : arr) {
    if (std::string_view(e) == name) return true;
  }
  return false;
}

const char* type_word(ParamType t) {
  return t == ParamType::kInt ? "an integer" : "a string";
}

const char* value_word(const Value& v) {
  switch (v.kind) {
    case Value::Kind::kNumber:
      return "an integer";
    case Value::Kind::kString:
      return "a string";
    case Value::Kind::kId:
      return "a bare word";
  }
  return "a value";
}

std::string range_text(int64_t min, int64_t max) {
  if (max == kIntMax || max == std::numeric_limits<int64_t>::max()) {
    return strprintf("at least %lld", static_cast<long long>(min));
  }
  return strprintf("%lld..%lld", static_cast<long long>(min), static_cast<long long>(max));
}

}  // namespace

const CoreParamDef* find_core_param(std::string_view name) {
  for (const auto& p : kCoreParams) {
    if (p.name == name) return &p;
  }
  return nullptr;
}

std::span<const CoreParamDef> core_param_defs() {
  return kCoreParams;
}

std::span<const ModuleDef> module_defs() {
  return kModules;
}

std::span<const FuncDef> core_func_defs() {
  return kCoreFuncs;
}

const std::vector<std::string_view>& core_param_names() {
  static const std::vector<std::string_view> names = [] {
    std::vector<std::string_view> v;
    for (const auto& p : kCoreParams) {
      if (p.use_instead.empty() || p.name == "listen") v.push_back(p.name);
    }
    return v;
  }();
  return names;
}

bool is_unsupported_core_param(std::string_view name) {
  return contains(kUnsupportedCore, name) || opensips::is_core_param(name);
}

std::string check_core_value(const CoreParamDef& def, const Value& value) {
  const std::string name(def.name);
  switch (def.type) {
    case CoreType::kInt:
      if (value.kind != Value::Kind::kNumber) {
        return strprintf("number expected for '%s', got %s", name.c_str(), value_word(value));
      }
      if ((def.int_field == &CoreParams::log_level || def.int_field == &CoreParams::xlog_level) &&
          value.num == 0) {
        return name +
               " = 0 is not a valid level (allowed: -3..4 except 0: -3 ALERT, "
               "-2 CRIT, -1 ERR, 1 WARN, 2 NOTICE, 3 INFO, 4 DBG)";
      }
      if (value.num < def.min || value.num > def.max) {
        return strprintf("%s = %lld is out of range (allowed: %s)", name.c_str(),
                         static_cast<long long>(value.num), range_text(def.min, def.max).c_str());
      }
      return {};
    case CoreType::kBool:
      if (value.kind != Value::Kind::kNumber || (value.num != 0 && value.num != 1)) {
        return strprintf("boolean value expected for '%s' (yes/no, true/false, on/off, 1/0)",
                         name.c_str());
      }
      return {};
    case CoreType::kString:
      if (def.check_text) {
        if (value.kind == Value::Kind::kNumber)
          return strprintf("string expected for '%s', got a number", name.c_str());
        return def.check_text(value.str);
      }
      if (value.kind == Value::Kind::kNumber) {
        if (value.num < 0) return strprintf("'%s' expects a name or an id", name.c_str());
        return {};
      }
      if (value.str.empty()) return strprintf("'%s' must not be empty", name.c_str());
      return {};
    case CoreType::kSocket:
      return strprintf("'%s' expects a socket definition", name.c_str());
  }
  return {};
}

const ModuleDef* find_module(std::string_view name) {
  for (const auto& m : kModules) {
    if (m.name == name) return &m;
  }
  return nullptr;
}

const std::vector<std::string_view>& module_names() {
  static const std::vector<std::string_view> names = [] {
    std::vector<std::string_view> v;
    for (const auto& m : kModules) v.push_back(m.name);
    return v;
  }();
  return names;
}

bool is_unsupported_module(std::string_view name) {
  return contains(kUnsupportedModules, name) || opensips::is_module(name);
}

const ModParamDef* find_mod_param(const ModuleDef& module, std::string_view name) {
  for (const auto& p : module.params) {
    if (p.name == name) return &p;
  }
  return nullptr;
}

std::vector<std::string_view> mod_param_names(const ModuleDef& module) {
  std::vector<std::string_view> v;
  for (const auto& p : module.params) v.push_back(p.name);
  return v;
}

std::string check_mod_param_value(const ModuleDef& module, const ModParamDef& def,
                                  const Value& value) {
  const std::string who =
      strprintf("modparam: parameter '%.*s' of module '%.*s'", static_cast<int>(def.name.size()),
                def.name.data(), static_cast<int>(module.name.size()), module.name.data());
  const bool is_int = value.kind == Value::Kind::kNumber;
  if (def.type != ParamType::kIntOrStr && is_int != (def.type == ParamType::kInt)) {
    return strprintf("%s expects %s, got %s", who.c_str(), type_word(def.type), value_word(value));
  }
  if (is_int && (value.num < def.min || value.num > def.max)) {
    return strprintf("%s must be %s, got %lld", who.c_str(), range_text(def.min, def.max).c_str(),
                     static_cast<long long>(value.num));
  }
  return {};
}

FuncInfo find_function(std::string_view name) {
  for (const auto& f : kCoreFuncs) {
    if (f.name == name) return FuncInfo{&f, nullptr};
  }
  for (const auto& m : kModules) {
    for (const auto& f : m.funcs) {
      if (f.name == name) return FuncInfo{&f, &m};
    }
  }
  return {};
}

namespace {

struct FuncIndex {
  std::array<const FuncDef*, kFuncIdCount> def{};
  std::array<std::string_view, kFuncIdCount> module{};
};

const FuncIndex& func_index() {
  static const FuncIndex index = [] {
    FuncIndex x;
    auto add = [&x](const FuncDef& f, std::string_view module) {
      const auto i = static_cast<size_t>(f.id);
      if (i >= kFuncIdCount || x.def[i] != nullptr) {
        LOG_ERR("cfg", "internal error: function table: duplicate or bad id for %.*s",
                static_cast<int>(f.name.size()), f.name.data());
        abort();
      }
      x.def[i] = &f;
      x.module[i] = module;
    };
    for (const auto& f : kCoreFuncs) add(f, "core");
    for (const auto& m : kModules) {
      for (const auto& f : m.funcs) add(f, m.name);
    }
    for (size_t i = 0; i < kFuncIdCount; ++i) {
      if (x.def[i] == nullptr) {
        LOG_ERR("cfg", "internal error: function table: FuncId %zu has no row", i);
        abort();
      }
    }
    return x;
  }();
  return index;
}

}  // namespace

const FuncDef& func_def(FuncId id) {
  return *func_index().def[static_cast<size_t>(id)];
}

std::string_view func_module(FuncId id) {
  return func_index().module[static_cast<size_t>(id)];
}

const std::vector<std::string_view>& function_names() {
  static const std::vector<std::string_view> names = [] {
    std::vector<std::string_view> v = {"route", "exit", "drop", "return"};
    for (const auto& f : kCoreFuncs) v.push_back(f.name);
    for (const auto& m : kModules) {
      for (const auto& f : m.funcs) v.push_back(f.name);
    }
    return v;
  }();
  return names;
}

std::string_view unsupported_function_module(std::string_view name) {
  for (const auto& f : kUnsupportedFuncs) {
    if (f.name == name) return f.module;
  }
  return opensips::function_module(name);
}

std::string_view route_type_keyword(RouteType t) {
  static constexpr std::string_view kNames[kRouteTypeCount] = {
      "route",       "branch_route",  "failure_route", "onreply_route", "local_route",
      "error_route", "startup_route", "timer_route",   "event_route",
  };
  return kNames[static_cast<size_t>(t)];
}

std::string route_mask_text(RouteMask mask) {
  std::string out;
  for (size_t i = 0; i < kRouteTypeCount; ++i) {
    if (!(mask & route_bit(static_cast<RouteType>(i)))) continue;
    if (!out.empty()) out += ", ";
    out += route_type_keyword(static_cast<RouteType>(i));
  }
  return out;
}

const PvDef* find_pv_def(std::string_view name) {
  for (const auto& p : kPvs) {
    if (p.name == name) return &p;
  }
  return nullptr;
}

const PvDef& pv_def(PvId id) {
  for (const auto& p : kPvs) {
    if (p.id == id) return p;
  }
  return kPvs[0];  // every id has a row (script_test checks)
}

std::span<const PvDef> pv_defs() {
  return kPvs;
}

bool find_pv(std::string_view name, PvId* id) {
  const PvDef* d = find_pv_def(name);
  if (!d) return false;
  *id = d->id;
  return true;
}

std::string_view pv_module(PvId id) {
  return pv_def(id).module;
}

const std::vector<std::string_view>& pv_names() {
  static const std::vector<std::string> spelled = [] {
    std::vector<std::string> v;
    for (const auto& p : kPvs) v.push_back("$" + std::string(p.name));
    return v;
  }();
  static const std::vector<std::string_view> names(spelled.begin(), spelled.end());
  return names;
}

const std::string& writable_pv_text() {
  static const std::string text = [] {
    std::string t;
    for (const auto& p : kPvs) {
      if (!p.writable) continue;
      if (!t.empty()) t += ' ';
      t += "$" + std::string(p.name) + (p.arg == PvArg::kName ? "(x)" : "");
    }
    return t;
  }();
  return text;
}

std::string regex_problem(std::string_view pattern) {
  // glibc's regcomp copies the repeated subexpression for `+` and `{n,m}`, so "(a{99}){99}" or
  // "a++++++..." grow a tree exponentially. Estimate the tree size over a rough ERE grammar:
  // concatenation and alternation add, `+` doubles, `{n,m}` multiplies by max(n, m, 1).
  constexpr size_t kMaxLen = 1024;
  constexpr int64_t kBudget = 5000;
  if (pattern.size() > kMaxLen) {
    return strprintf("regular expression is too long (at most %zu characters)", kMaxLen);
  }
  struct Frame {
    int64_t total = 0;  // committed size
    int64_t last = 0;   // the most recent atom (what a postfix operator applies to)
  };
  std::vector<Frame> stack(1);
  auto cap = [](int64_t v) { return std::min(v, kBudget + 1); };
  auto atom = [&](int64_t size) {
    Frame& f = stack.back();
    f.total = cap(f.total + f.last);
    f.last = size;
  };
  const size_t n = pattern.size();
  for (size_t i = 0; i < n; ++i) {
    const char c = pattern[i];
    if (c == '\\') {
      ++i;
      atom(1);
    } else if (c == '[') {
      size_t j = i + 1;
      if (j < n && pattern[j] == '^') ++j;
      if (j < n && pattern[j] == ']') ++j;
      while (j < n && pattern[j] != ']') {
        if (pattern[j] == '[' && j + 1 < n &&
            (pattern[j + 1] == ':' || pattern[j + 1] == '.' || pattern[j + 1] == '=')) {
          size_t close = pattern.find(std::string{pattern[j + 1], ']'}, j + 2);
          j = close == std::string_view::npos ? n : close + 2;
        } else {
          ++j;
        }
      }
      i = j;
      atom(1);
    } else if (c == '(') {
      atom(0);
      stack.emplace_back();
    } else if (c == ')' && stack.size() > 1) {
      Frame inner = stack.back();
      stack.pop_back();
      atom(cap(inner.total + inner.last));
    } else if (c == '|') {
      atom(0);
    } else if (c == '*' || c == '?') {
      // no copy
    } else if (c == '+') {
      stack.back().last = cap(stack.back().last * 2);
    } else if (c == '{') {
      int64_t biggest = 0, cur = 0;
      bool unbounded = false;
      size_t j = i + 1;
      for (; j < n && ((pattern[j] >= '0' && pattern[j] <= '9') || pattern[j] == ','); ++j) {
        if (pattern[j] == ',') {
          unbounded = true;
          cur = 0;
        } else {
          unbounded = false;
          cur = cap(cur * 10 + (pattern[j] - '0'));
          biggest = std::max(biggest, cur);
        }
      }
      if (j < n && pattern[j] == '}') {
        int64_t mult = std::max<int64_t>(biggest + (unbounded ? 1 : 0), 1);
        stack.back().last = cap(stack.back().last * mult);
        i = j;
      } else {
        atom(1);
      }
    } else {
      atom(1);
    }
    const Frame& f = stack.back();
    if (f.total + f.last > kBudget)
      return "regular expression is too complex (its repetitions "
             "expand too much)";
  }
  int64_t total = 0;
  for (const Frame& f : stack) total = cap(total + f.total + f.last);
  if (total > kBudget) return "regular expression is too complex (its repetitions expand too much)";
  return {};
}

}  // namespace sipsd::cfg
