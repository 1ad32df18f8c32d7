#include "core/cfg/config.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "core/cfg/script.h"

namespace sipsd {
namespace {

constexpr const char* kTcp = "loadmodule \"proto_tcp.so\"\nsocket = tcp:127.0.0.1:5060\n";
constexpr const char* kTls =
    "loadmodule \"tls_mgm.so\"\nloadmodule \"proto_tls.so\"\nsocket = tls:127.0.0.1:5061\n";

Config load_ok(const std::string& text) {
  Result<Config> cfg = load_config_text(text, "c.cfg");
  EXPECT_TRUE(cfg.ok()) << cfg.message();
  if (!cfg.ok()) return Config{};
  return std::move(cfg).value();
}

std::string first_error(const std::string& text) {
  Result<Config> cfg = load_config_text(text, "c.cfg");
  if (cfg.ok()) return "";
  return cfg.message().substr(0, cfg.message().find('\n'));
}

std::string errors(const std::string& text) {
  Result<Config> cfg = load_config_text(text, "c.cfg");
  return cfg.ok() ? "" : cfg.message();
}

// Error lines only (no excerpt), for messages with several errors.
std::vector<std::string> error_lines(const std::string& text) {
  std::vector<std::string> out;
  std::string all = errors(text);
  size_t p = 0;
  while (p < all.size()) {
    size_t nl = all.find('\n', p);
    std::string line = all.substr(p, nl == std::string::npos ? std::string::npos : nl - p);
    if (line.rfind("c.cfg:", 0) == 0) out.push_back(line);
    p = nl == std::string::npos ? all.size() : nl + 1;
  }
  return out;
}

TEST(Config, Defaults) {
  Config cfg = load_ok(kTcp);
  EXPECT_EQ(cfg.path, "c.cfg");
  EXPECT_EQ(cfg.core.log_level, 2);
  EXPECT_TRUE(cfg.core.stderror_enabled);
  EXPECT_EQ(cfg.core.tcp_workers, 8);
  EXPECT_EQ(cfg.core.tcp_max_connections, 2048);
  EXPECT_EQ(cfg.core.tcp_connection_lifetime, 120);
  EXPECT_EQ(cfg.core.tcp_max_msg_time, 4);
  EXPECT_EQ(cfg.core.tcp_socket_backlog, 10);
  EXPECT_TRUE(cfg.core.tcp_keepalive);
  EXPECT_EQ(cfg.core.tcp_keepcount, 0);
  EXPECT_EQ(cfg.core.user, "");
  EXPECT_EQ(cfg.tls.port, 5061);
  EXPECT_EQ(cfg.tcp.port, 5060);
  EXPECT_TRUE(cfg.tls.crlf_pingpong);
  EXPECT_FALSE(cfg.tls.crlf_drop);
  EXPECT_EQ(cfg.tls.max_msg_chunks, 4);
  EXPECT_EQ(cfg.modules, std::vector<std::string>{"proto_tcp"});
  EXPECT_TRUE(cfg.tls_mgm_params.empty());
  ASSERT_NE(cfg.script, nullptr);  // never null, even without a route
  ASSERT_EQ(cfg.warnings.size(), 1u);
  EXPECT_EQ(cfg.warnings[0],
            "c.cfg:1:1: no main route (route { ... }) is defined: the script "
            "does nothing");
}

TEST(Config, CoreParameters) {
  Config cfg = load_ok(std::string(kTcp) +
                       "log_level = -1\nstderror_enabled = no\ntcp_workers=4\n"
                       "tcp_max_connections = 100000\ntcp_connection_lifetime = 3600\n"
                       "tcp_max_msg_time = 2\ntcp_socket_backlog = 0x400\ntcp_keepalive = off\n"
                       "tcp_keepcount = 5\ntcp_keepidle = 30\ntcp_keepinterval = 010\n"
                       "user = \"sipsd\"\ngroup = nogroup\n");
  EXPECT_EQ(cfg.core.log_level, -1);
  EXPECT_FALSE(cfg.core.stderror_enabled);
  EXPECT_EQ(cfg.core.tcp_workers, 4);
  EXPECT_EQ(cfg.core.tcp_max_connections, 100000);
  EXPECT_EQ(cfg.core.tcp_connection_lifetime, 3600);
  EXPECT_EQ(cfg.core.tcp_max_msg_time, 2);
  EXPECT_EQ(cfg.core.tcp_socket_backlog, 1024);
  EXPECT_FALSE(cfg.core.tcp_keepalive);
  EXPECT_EQ(cfg.core.tcp_keepcount, 5);
  EXPECT_EQ(cfg.core.tcp_keepidle, 30);
  EXPECT_EQ(cfg.core.tcp_keepinterval, 8);
  EXPECT_EQ(cfg.core.user, "sipsd");
  EXPECT_EQ(cfg.core.group, "nogroup");
  cfg = load_ok(std::string(kTcp) + "user = 1000\n");
  EXPECT_EQ(cfg.core.user, "1000");
}

TEST(Config, CoreParameterChecks) {
  std::string h = kTcp;  // two lines
  EXPECT_EQ(first_error(h + "log_level = 0"),
            "c.cfg:3:13: log_level = 0 is not a valid level (allowed: -3..4 except 0: -3 ALERT, "
            "-2 CRIT, -1 ERR, 1 WARN, 2 NOTICE, 3 INFO, 4 DBG)");
  EXPECT_EQ(first_error(h + "log_level = 5"),
            "c.cfg:3:13: log_level = 5 is out of range (allowed: -3..4)");
  EXPECT_EQ(first_error(h + "tcp_workers = 0"),
            "c.cfg:3:15: tcp_workers = 0 is out of range (allowed: 1..256)");
  EXPECT_EQ(first_error(h + "tcp_workers = 300"),
            "c.cfg:3:15: tcp_workers = 300 is out of range (allowed: 1..256)");
  EXPECT_EQ(first_error(h + "tcp_max_msg_time = 0"),
            "c.cfg:3:20: tcp_max_msg_time = 0 is out of range (allowed: at least 1)");
  EXPECT_EQ(first_error(h + "tcp_keepidle = -1"),
            "c.cfg:3:16: tcp_keepidle = -1 is out of range (allowed: at least 0)");
  EXPECT_EQ(first_error(h + "tcp_workers = \"4\""),
            "c.cfg:3:15: number expected for 'tcp_workers', got a string");
  EXPECT_EQ(first_error(h + "tcp_keepalive = 2"),
            "c.cfg:3:17: boolean value expected for 'tcp_keepalive' (yes/no, true/false, on/off, "
            "1/0)");
  EXPECT_EQ(first_error(h + "user = \"\""), "c.cfg:3:8: 'user' must not be empty");
}

TEST(Config, DnsParameters) {
  Config defaults = load_ok(kTcp);
  EXPECT_TRUE(defaults.core.dns_try_naptr);
  EXPECT_FALSE(defaults.core.dns_try_ipv6);
  EXPECT_EQ(defaults.core.dns_retr_time, 0);
  EXPECT_EQ(defaults.core.dns_retr_no, 0);
  EXPECT_FALSE(defaults.core.disable_dns_failover);
  EXPECT_EQ(defaults.core.dns_servers, "");
  EXPECT_EQ(defaults.core.dns_max_pending, 1024);

  Config cfg = load_ok(std::string(kTcp) +
                       "dns_try_naptr = no\ndns_try_ipv6 = yes\ndns_retr_time = 2\n"
                       "dns_retr_no = 3\ndisable_dns_failover = on\n"
                       "dns_servers = \"127.0.0.1:5353, [::1]:53,10.0.0.1\"\n"
                       "dns_max_pending = 50\n");
  EXPECT_FALSE(cfg.core.dns_try_naptr);
  EXPECT_TRUE(cfg.core.dns_try_ipv6);
  EXPECT_EQ(cfg.core.dns_retr_time, 2);
  EXPECT_EQ(cfg.core.dns_retr_no, 3);
  EXPECT_TRUE(cfg.core.disable_dns_failover);
  EXPECT_EQ(cfg.core.dns_servers, "127.0.0.1:5353, [::1]:53,10.0.0.1");
  EXPECT_EQ(cfg.core.dns_max_pending, 50);

  std::string h = kTcp;
  EXPECT_EQ(first_error(h + "dns_retr_time = 61"),
            "c.cfg:3:17: dns_retr_time = 61 is out of range (allowed: 0..60)");
  EXPECT_EQ(first_error(h + "dns_retr_no = -1"),
            "c.cfg:3:15: dns_retr_no = -1 is out of range (allowed: 0..10)");
  EXPECT_EQ(first_error(h + "dns_max_pending = 0"),
            "c.cfg:3:19: dns_max_pending = 0 is out of range (allowed: 1..1000000)");
  EXPECT_EQ(first_error(h + "dns_try_naptr = 3"),
            "c.cfg:3:17: boolean value expected for 'dns_try_naptr' (yes/no, true/false, on/off, "
            "1/0)");
  EXPECT_EQ(first_error(h + "dns_servers = \"ns.example\""),
            "c.cfg:3:15: dns_servers: 'ns.example': not a numeric IP address");
  EXPECT_EQ(first_error(h + "dns_servers = \"127.0.0.1:0\""),
            "c.cfg:3:15: dns_servers: '127.0.0.1:0': bad port (allowed: 1..65535)");
  EXPECT_EQ(first_error(h + "dns_servers = \"\""),
            "c.cfg:3:15: dns_servers: empty address in list");
  EXPECT_EQ(first_error(h + "dns_servers = 53"),
            "c.cfg:3:15: string expected for 'dns_servers', got a number");
  // Still OpenSIPS names sipsd does not implement.
  EXPECT_EQ(first_error(h + "dns_use_search_list = no"),
            "c.cfg:3:1: OpenSIPS's core parameter 'dns_use_search_list' is not supported by sipsd");
}

TEST(Config, DeprecatedAliasesWarn) {
  Config cfg = load_ok(std::string(kTcp) + "tcp_children = 3\nlog_stderror = no\n");
  EXPECT_EQ(cfg.core.tcp_workers, 3);
  EXPECT_FALSE(cfg.core.stderror_enabled);
  ASSERT_GE(cfg.warnings.size(), 2u);
  EXPECT_EQ(cfg.warnings[0], "c.cfg:3:1: 'tcp_children' is deprecated, use tcp_workers");
  EXPECT_EQ(cfg.warnings[1], "c.cfg:4:1: 'log_stderror' is deprecated, use stderror_enabled");
}

TEST(Config, ListenForms) {
  Config cfg = load_ok(std::string(kTls) +
                       "loadmodule \"proto_tcp.so\"\n"
                       "socket = tcp:10.0.0.1\n"
                       "socket = TLS:[2001:db8::1]:5071\n"
                       "socket = tls:[::1]\n"
                       "socket= tls:fe80::1\n"
                       "socket = tcp:sip-1.example.com:5080\n"
                       "socket = tcp:*:0\n"
                       "socket = tls:\"my host\":5090\n"
                       "listen = tcp:localhost\n"
                       "modparam(\"proto_tls\", \"tls_port\", 6061)\n"
                       "modparam(\"proto_tcp\", \"tcp_port\", 6060)\n");
  ASSERT_EQ(cfg.listeners.size(), 9u);
  auto check = [&](size_t i, Proto proto, const char* host, int port, bool given, int line) {
    SCOPED_TRACE(i);
    const ListenSpec& l = cfg.listeners[i];
    EXPECT_EQ(l.proto, proto);
    EXPECT_EQ(l.host, host);
    EXPECT_EQ(l.port, port);
    EXPECT_EQ(l.port_given, given);
    EXPECT_EQ(l.pos.file, "c.cfg");
    EXPECT_EQ(l.pos.line, line);
  };
  check(0, Proto::kTls, "127.0.0.1", 5061, true, 3);
  check(1, Proto::kTcp, "10.0.0.1", 6060, false, 5);  // default port from a later modparam
  check(2, Proto::kTls, "2001:db8::1", 5071, true, 6);
  check(3, Proto::kTls, "::1", 6061, false, 7);
  check(4, Proto::kTls, "fe80::1", 6061, false, 8);
  check(5, Proto::kTcp, "sip-1.example.com", 5080, true, 9);
  check(6, Proto::kTcp, "*", 0, true, 10);  // port 0: ephemeral
  check(7, Proto::kTls, "my host", 5090, true, 11);
  check(8, Proto::kTcp, "localhost", 6060, false, 12);
  EXPECT_EQ(cfg.listeners[1].pos.col, 10);
  EXPECT_EQ(cfg.listeners[4].pos.col, 9);
  EXPECT_NE(std::find(cfg.warnings.begin(), cfg.warnings.end(),
                      "c.cfg:12:1: 'listen' is deprecated, use socket"),
            cfg.warnings.end());
}

TEST(Config, BareIpv6WithPort) {
  Config cfg = load_ok(
      "loadmodule \"proto_tcp.so\"\nsocket = tcp:2001:db8:0:0:0:0:0:1:5062\n"
      "socket = tcp:::1:15061\n");
  ASSERT_EQ(cfg.listeners.size(), 2u);
  EXPECT_EQ(cfg.listeners[0].host, "2001:db8:0:0:0:0:0:1");
  EXPECT_EQ(cfg.listeners[0].port, 5062);
  EXPECT_EQ(cfg.listeners[1].host, "::1");
  EXPECT_EQ(cfg.listeners[1].port, 15061);
  // "::1:5060" is itself a valid address: taken whole, with a warning.
  cfg = load_ok("loadmodule \"proto_tcp.so\"\nsocket = tcp:::1:5060\n");
  EXPECT_EQ(cfg.listeners[0].host, "::1:5060");
  EXPECT_FALSE(cfg.listeners[0].port_given);
  EXPECT_NE(cfg.warnings[0].find("c.cfg:2:14: bare IPv6 address '::1:5060' is taken whole"),
            std::string::npos);
}

TEST(Config, ListenErrors) {
  std::string h = "loadmodule \"proto_tcp.so\"\n";
  EXPECT_EQ(first_error(h + "socket = udp:127.0.0.1:5060"),
            "c.cfg:2:10: listeners found for protocol udp, but loadmodule \"proto_udp.so\" is "
            "missing");
  EXPECT_EQ(first_error(h + "socket = ws:127.0.0.1:80"),
            "c.cfg:2:10: protocol 'ws' is not supported");
  EXPECT_EQ(first_error(h + "socket = tlss:127.0.0.1"),
            "c.cfg:2:10: unknown protocol 'tlss' (expected udp, tcp or tls) (did you mean 'tls'?)");
  EXPECT_EQ(first_error(h + "socket = tcp:127.0.0.1:70000"),
            "c.cfg:2:24: port 70000 is out of range (0..65535)");
  EXPECT_EQ(first_error(h + "socket = tcp:127.0.0.1:abc"),
            "c.cfg:2:24: port number expected, got 'abc'");
  EXPECT_EQ(first_error(h + "socket = tcp:127.0.0.1:5060-5062"),
            "c.cfg:2:24: port ranges and lists are not supported yet");
  EXPECT_EQ(first_error(h + "socket = tcp:127.0.0.1:5060,5070"),
            "c.cfg:2:28: port ranges and lists are not supported yet");
  EXPECT_EQ(first_error(h + "socket = tcp:300.0.0.1"),
            "c.cfg:2:14: invalid IPv4 address '300.0.0.1'");
  EXPECT_EQ(first_error(h + "socket = tcp:[1::2::3]"),
            "c.cfg:2:14: invalid IPv6 address '1::2::3'");
  EXPECT_EQ(first_error(h + "socket = tcp:[::1"), "c.cfg:2:14: missing ']' after IPv6 address");
  EXPECT_EQ(first_error(h + "socket = 127.0.0.1:5060"),
            "c.cfg:2:10: protocol expected in socket definition (syntax: proto:host[:port], e.g. "
            "tls:127.0.0.1:5061)");
  EXPECT_EQ(first_error(h + "socket = tcp 127.0.0.1"),
            "c.cfg:2:14: ':' expected after protocol 'tcp' (syntax: proto:host[:port])");
  EXPECT_EQ(first_error(h + "socket = tcp:bad..name"),
            "c.cfg:2:14: invalid hostname 'bad..name' (use quotes if the hostname has unusual "
            "characters)");
  Config adv = load_ok(h +
                       "socket = tcp:127.0.0.1:5060 as 10.0.0.1:5070\n"
                       "socket = tcp:127.0.0.1:5062 AS edge.example.com\n"
                       "socket = tcp:127.0.0.1:5063\n"
                       "advertised_port = 5080\n"
                       "alias = edge.example.com\nalias = TLS:sip.example.com:5061\n");
  ASSERT_EQ(adv.listeners.size(), 3u);
  EXPECT_EQ(adv.listeners[0].adv_host, "10.0.0.1");
  EXPECT_EQ(adv.listeners[0].adv_port, 5070);
  EXPECT_EQ(adv.listeners[1].adv_host, "edge.example.com");
  EXPECT_EQ(adv.listeners[1].adv_port, 5080);
  EXPECT_EQ(adv.listeners[2].adv_host, "");
  EXPECT_EQ(adv.listeners[2].adv_port, 5080);
  ASSERT_EQ(adv.aliases.size(), 2u);
  EXPECT_TRUE(adv.aliases[0].any_proto);
  EXPECT_EQ(adv.aliases[0].host, "edge.example.com");
  EXPECT_EQ(adv.aliases[0].port, 0);
  EXPECT_FALSE(adv.aliases[1].any_proto);
  EXPECT_EQ(adv.aliases[1].proto, Proto::kTls);
  EXPECT_EQ(adv.aliases[1].host, "sip.example.com");
  EXPECT_EQ(adv.aliases[1].port, 5061);
  EXPECT_EQ(first_error(h + "socket = tcp:127.0.0.1 tag edge"),
            "c.cfg:2:24: socket option 'tag' is not supported yet");
  EXPECT_EQ(first_error(h + "socket = tcp:127.0.0.1 REUSE_PORT"),
            "c.cfg:2:24: socket option 'reuse_port' is not supported yet");
  Config cfg = load_ok(h + "socket = tcp:127.0.0.1:5060 use_workers 2\n");
  ASSERT_EQ(cfg.listeners.size(), 1u);
  EXPECT_EQ(cfg.warnings[0],
            "c.cfg:2:29: socket option 'use_workers' is ignored (tcp/tls listeners are served "
            "by the tcp_workers pool, udp listeners by the udp_workers pool)");
}

TEST(Config, UdpListenersAndWorkers) {
  Config cfg = load_ok(
      "loadmodule \"proto_udp.so\"\nmodparam(\"proto_udp\", \"udp_port\", 5070)\n"
      "socket = udp:127.0.0.1\nsocket = udp:127.0.0.2:5080\nudp_workers = 3\n");
  ASSERT_EQ(cfg.listeners.size(), 2u);
  EXPECT_EQ(cfg.listeners[0].proto, Proto::kUdp);
  EXPECT_EQ(cfg.listeners[0].port, 5070);  // udp_port
  EXPECT_EQ(cfg.listeners[1].port, 5080);
  EXPECT_EQ(cfg.core.udp_workers, 3);
  EXPECT_EQ(load_ok("loadmodule \"proto_udp.so\"\nsocket = udp:127.0.0.1\n").listeners[0].port,
            5060);
  EXPECT_EQ(load_ok("loadmodule \"proto_udp.so\"\nsocket = udp:127.0.0.1\n").core.udp_workers,
            8);  // OpenSIPS's default
  Config old = load_ok("loadmodule \"proto_udp.so\"\nsocket = udp:127.0.0.1\nchildren = 2\n");
  EXPECT_EQ(old.core.udp_workers, 2);
  EXPECT_EQ(old.warnings[0], "c.cfg:3:1: 'children' is deprecated, use udp_workers");
  EXPECT_EQ(first_error("loadmodule \"proto_udp.so\"\nsocket = udp:127.0.0.1\nudp_workers = 0\n"),
            "c.cfg:3:15: udp_workers = 0 is out of range (allowed: 1..256)");
}

TEST(Config, ListenersNeedTheirModules) {
  EXPECT_EQ(first_error("loadmodule \"proto_tcp.so\"\nsocket = tcp:127.0.0.1\n"
                        "socket = tls:127.0.0.1\nsocket = tls:127.0.0.2\n"),
            "c.cfg:3:10: listeners found for protocol tls, but loadmodule \"proto_tls.so\" is "
            "missing");
  EXPECT_EQ(first_error("socket = tcp:127.0.0.1\n"),
            "c.cfg:1:10: listeners found for protocol tcp, but loadmodule \"proto_tcp.so\" is "
            "missing");
  EXPECT_EQ(first_error("loadmodule \"proto_tls.so\"\nsocket = tls:127.0.0.1\n"),
            "c.cfg:1:12: module 'proto_tls' needs tls_mgm: add loadmodule \"tls_mgm.so\"");
  EXPECT_EQ(errors("loadmodule \"proto_tcp.so\"\n"), "c.cfg:1:1: no listen/socket defined");
  EXPECT_EQ(first_error("loadmodule \"proto_tcp.so\"\nsocket = tcp:1.2.3.4:5060\n"
                        "socket = tcp:1.2.3.4\n"),
            "c.cfg:3:10: duplicate listener tcp:1.2.3.4:5060 (already defined at c.cfg:2:10)");
}

TEST(Config, LoadModule) {
  Config cfg = load_ok(
      "loadmodule \"/usr/lib/opensips/modules/proto_tcp.so\"\n"
      "loadmodule \"sl\"\nloadmodule 'tls_openssl.so'\nloadmodule \"sipmsgops.so\"\n"
      "loadmodule \"sl.so\"\n"
      "mpath = \"/usr/lib/opensips/modules/\"\n"
      "socket = tcp:127.0.0.1\n");
  EXPECT_EQ(cfg.modules, (std::vector<std::string>{"proto_tcp", "sl", "tls_openssl", "sipmsgops"}));
  EXPECT_TRUE(cfg.has_module("sl"));
  EXPECT_FALSE(cfg.has_module("tm"));
  EXPECT_EQ(cfg.warnings[0], "c.cfg:5:12: module 'sl' is already loaded");
  EXPECT_EQ(cfg.warnings[1], "c.cfg:6:1: mpath ignored: modules are built into sipsd");
  EXPECT_EQ(first_error(std::string(kTcp) + "loadmodule \"proto_tsl.so\""),
            "c.cfg:3:12: unknown module 'proto_tsl' (did you mean 'proto_tls'?)");
  EXPECT_EQ(first_error(std::string(kTcp) + "loadmodule \"mi_http.so\""),
            "c.cfg:3:12: OpenSIPS's module 'mi_http' is not supported by sipsd");
  EXPECT_EQ(first_error(std::string(kTcp) + "loadmodule \"dispatcher.so\""),
            "c.cfg:3:12: OpenSIPS's module 'dispatcher' is not supported by sipsd");
  EXPECT_EQ(first_error(std::string(kTcp) + "loadmodule \"tm.so\"\nloadmodule \"rr.so\""), "");
}

TEST(Config, ModParams) {
  Config cfg = load_ok(std::string(kTls) +
                       "loadmodule \"proto_tcp.so\"\n"
                       "modparam(\"proto_tls\", \"tls_port\", 5071)\n"
                       "modparam(\"proto_tls\", \"tls_crlf_pingpong\", no)\n"
                       "modparam(\"proto_tls\", \"tls_crlf_drop\", 1)\n"
                       "modparam(\"proto_tls\", \"tls_max_msg_chunks\", 8)\n"
                       "modparam(\"proto_tls\", \"tls_max_msg_chunks\", 6)\n"  // overwrites
                       "modparam(\"PROTO_TCP\", \"tcp_max_msg_chunks\", 2)\n"
                       "modparam(\"proto_t(cp|ls)\", \"tcp_crlf_drop\", 1)\n");
  EXPECT_EQ(cfg.tls.port, 5071);
  EXPECT_FALSE(cfg.tls.crlf_pingpong);
  EXPECT_TRUE(cfg.tls.crlf_drop);
  EXPECT_EQ(cfg.tls.max_msg_chunks, 6);
  EXPECT_EQ(cfg.tcp.max_msg_chunks, 2);
  EXPECT_TRUE(cfg.tcp.crlf_drop);
  EXPECT_EQ(cfg.tcp.port, 5060);
  EXPECT_EQ(cfg.listeners[0].port, 5061);  // given explicitly
}

TEST(Config, ModParamErrors) {
  std::string h = kTls;  // three lines
  EXPECT_EQ(first_error(h + "modparam(\"proto_tls\", \"tls_port\", \"5061\")"),
            "c.cfg:4:35: modparam: parameter 'tls_port' of module 'proto_tls' expects an "
            "integer, got a string");
  EXPECT_EQ(first_error(h + "modparam(\"tls_mgm\", \"certificate\", 5)"),
            "c.cfg:4:36: modparam: parameter 'certificate' of module 'tls_mgm' expects a "
            "string, got an integer");
  EXPECT_EQ(first_error(h + "modparam(\"proto_tls\", \"tls_prot\", 5061)"),
            "c.cfg:4:23: parameter 'tls_prot' not found in module 'proto_tls' (did you mean "
            "'tls_port'?)");
  EXPECT_EQ(first_error(h + "modparam(\"proto_tls\", \"tls_max_msg_chunks\", 0)"),
            "c.cfg:4:45: modparam: parameter 'tls_max_msg_chunks' of module 'proto_tls' must be "
            "at least 1, got 0");
  EXPECT_EQ(first_error(h + "modparam(\"proto_tls\", \"tls_port\", 65536)"),
            "c.cfg:4:35: modparam: parameter 'tls_port' of module 'proto_tls' must be "
            "0..65535, got 65536");
  EXPECT_EQ(first_error(h + "modparam(\"sl\", \"x\", 1)"),
            "c.cfg:4:10: modparam: module 'sl' is not loaded (loadmodule \"sl.so\" must come "
            "first)");
  EXPECT_EQ(
      first_error(h + "modparam(\"proto_tcp\", \"tcp_port\", 1)\nloadmodule \"proto_tcp.so\""),
      "c.cfg:4:10: modparam: module 'proto_tcp' is not loaded (loadmodule "
      "\"proto_tcp.so\" must come first)");
  EXPECT_EQ(first_error(h + "modparam(\"proto_(\", \"x\", 1)"),
            "c.cfg:4:10: modparam: invalid module name regex 'proto_(': Unmatched ( or \\(");
  EXPECT_EQ(first_error(h + "modparam(\"t" + std::string(40, '+') + "ls_mgm\", \"x\", \"y\")"),
            "c.cfg:4:10: modparam: invalid module name regex 't" + std::string(40, '+') +
                "ls_mgm': regular expression is too complex (its repetitions expand too much)");
  EXPECT_EQ(first_error(h + "modparam(\".*\", \"nope\", 1)"),
            "c.cfg:4:16: parameter 'nope' not found in modules 'tls_mgm', 'proto_tls'");
}

TEST(Config, NoEffectParamsWarn) {
  Config cfg = load_ok(std::string(kTls) +
                       "loadmodule \"proto_tcp.so\"\n"
                       "modparam(\"proto_tls\", \"tls_handshake_timeout\", 100)\n"
                       "modparam(\"proto_tls\", \"tls_send_timeout\", 100)\n"
                       "modparam(\"proto_tcp\", \"tcp_send_timeout\", 100)\n");
  ASSERT_GE(cfg.warnings.size(), 3u);
  EXPECT_EQ(cfg.warnings[0],
            "c.cfg:5:23: modparam: parameter 'tls_handshake_timeout' of module "
            "'proto_tls' has no effect: sipsd never blocks (handshakes are "
            "bounded by tcp_max_msg_time)");
  EXPECT_NE(cfg.warnings[1].find("'tls_send_timeout' of module 'proto_tls' has no effect"),
            std::string::npos);
  EXPECT_NE(cfg.warnings[2].find("'tcp_send_timeout' of module 'proto_tcp' has no effect"),
            std::string::npos);
}

TEST(Config, TlsMgmParamsAccumulateInOrder) {
  Config cfg = load_ok(std::string(kTls) +
                       "modparam(\"tls_mgm\", \"server_domain\", \"srv\")\n"
                       "modparam(\"tls_mgm\", \"certificate\", \"[srv]/etc/\" \"cert.pem\")\n"
                       "modparam(\"tls_mgm\", \"server_domain\", \"other\")\n"
                       "modparam(\"tls_mgm\", \"verify_cert\", '[srv]0')\n");
  ASSERT_EQ(cfg.tls_mgm_params.size(), 4u);
  const ModParam& p = cfg.tls_mgm_params[1];
  EXPECT_EQ(p.module, "tls_mgm");
  EXPECT_EQ(p.name, "certificate");
  EXPECT_EQ(std::get<std::string>(p.value), "[srv]/etc/cert.pem");
  EXPECT_EQ(p.pos.str(), "c.cfg:5:36");
  EXPECT_EQ(std::get<std::string>(cfg.tls_mgm_params[0].value), "srv");
  EXPECT_EQ(std::get<std::string>(cfg.tls_mgm_params[2].value), "other");
  EXPECT_EQ(std::get<std::string>(cfg.tls_mgm_params[3].value), "[srv]0");
}

TEST(Config, SeveralErrorsAreCollected) {
  std::vector<std::string> lines = error_lines(std::string(kTcp) +
                                               "tcp_workers = 0\nloadmodule \"nope.so\"\n"
                                               "modparam(\"proto_tcp\", \"tcp_port\", \"x\")\n"
                                               "route { xlog(\"$nosuchvar\"); }\n");
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[0], "c.cfg:3:15: tcp_workers = 0 is out of range (allowed: 1..256)");
  EXPECT_EQ(lines[1], "c.cfg:4:12: unknown module 'nope'");
  EXPECT_EQ(lines[2].substr(0, 12), "c.cfg:5:35: ");
  EXPECT_EQ(lines[3], "c.cfg:6:14: unknown script variable '$nosuchvar' in format string");
}

TEST(Config, HelpersAndPaths) {
  EXPECT_EQ((CfgPos{"a.cfg", 3, 7}.str()), "a.cfg:3:7");
  EXPECT_STREQ(proto_name(Proto::kTls), "tls");
  EXPECT_STREQ(proto_name(Proto::kTcp), "tcp");
  EXPECT_STREQ(proto_name(Proto::kUdp), "udp");

  char tmpl[] = "/tmp/sipsd-conf-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  std::string dir = tmpl;
  std::ofstream(dir + "/cert.pem") << "x";
  CfgPos pos{dir + "/main.cfg", 1, 1};
  EXPECT_EQ(resolve_cfg_path("/abs/path.pem", pos), "/abs/path.pem");
  EXPECT_EQ(resolve_cfg_path("cert.pem", pos), dir + "/cert.pem");  // next to the cfg
  EXPECT_EQ(resolve_cfg_path("missing.pem", pos), "missing.pem");

  // load_config from a file, with an include found next to it.
  std::ofstream(dir + "/mods.cfg") << "loadmodule \"proto_tcp.so\"\nloadmodule \"sl.so\"\n";
  std::ofstream(dir + "/main.cfg") << "include_file \"mods.cfg\"\nsocket = tcp:127.0.0.1:0\n"
                                      "route { sl_send_reply(200, \"OK\"); }\n";
  Result<Config> cfg = load_config(dir + "/main.cfg");
  ASSERT_TRUE(cfg.ok()) << cfg.message();
  EXPECT_EQ(cfg->path, dir + "/main.cfg");
  EXPECT_EQ(cfg->modules, (std::vector<std::string>{"proto_tcp", "sl"}));
  EXPECT_EQ(cfg->listeners[0].pos.str(), dir + "/main.cfg:2:10");
  std::filesystem::remove_all(dir);
}

// Script visibility of TLS (issue 3): the $tls_* variables and is_peer_verified() come with
// tls_mgm, as in OpenSIPS.
TEST(Config, TlsScriptVisibility) {
  Config cfg = load_ok(std::string(kTls) +
                       "loadmodule \"sl.so\"\n"
                       "route {\n"
                       "  if (!is_peer_verified()) {\n"
                       "    xlog(\"L_WARN\", \"unverified $tls_peer_subject ($tls_peer_issuer_cn) "
                       "over $tls_version/$tls_cipher_info sni=$tls_sni domain=$tls_domain\\n\");\n"
                       "    sl_send_reply(403, \"Not verified: $tls_peer_subject_cn\");\n"
                       "    exit;\n"
                       "  }\n"
                       "  if ($tls_peer_expired == 1 || $tls_peer_revoked || $tls_peer_selfsigned)"
                       " drop;\n"
                       "  if ($tls_peer_fingerprint =~ \"^AB:\") exit;\n"
                       "}\n");
  ASSERT_NE(cfg.script, nullptr);
  EXPECT_EQ(first_error(std::string(kTcp) + "route { if (is_peer_verified()) exit; }"),
            "c.cfg:3:13: unknown command <is_peer_verified>, missing loadmodule \"tls_mgm.so\"?");
  EXPECT_EQ(first_error(std::string(kTcp) + "route { if ($tls_peer_verified == 1) exit; }"),
            "c.cfg:3:13: unknown script variable '$tls_peer_verified', missing loadmodule "
            "\"tls_mgm.so\"?");
  EXPECT_EQ(first_error(std::string(kTls) + "route { if ($tls_peer_subject_common == 1) exit; }"),
            "c.cfg:4:13: unknown script variable '$tls_peer_subject_common'");
  EXPECT_EQ(first_error(std::string(kTls) + "route { if ($tls_my_subject_unti) exit; }"),
            "c.cfg:4:13: unknown script variable '$tls_my_subject_unti' (did you mean "
            "'$tls_my_subject_unit'?)");
}

// The minimal config of the reference (A11), adjusted to what sipsd supports: no mi_fifo,
// maxfwd, udp_workers or syslog_enabled, no `as`, and $proto for $socket_in(proto).
TEST(Config, RealisticConfigLoads) {
  const char* text = R"CFG(#
# sipsd example configuration
#
log_level=3
stderror_enabled=yes
tcp_workers=2
socket=tls:127.0.0.1:15061
mpath="/usr/lib/x86_64-linux-gnu/opensips/modules/"
loadmodule "proto_tcp.so"
loadmodule "sl.so"
loadmodule "sipmsgops.so"
loadmodule "tls_openssl.so"
loadmodule "tls_mgm.so"
modparam("tls_mgm", "server_domain", "srv")
modparam("tls_mgm", "certificate", "[srv]/etc/opensips/tls/cert.pem")
modparam("tls_mgm", "private_key", "[srv]/etc/opensips/tls/key.pem")
loadmodule "proto_tls.so"
modparam("proto_tls", "tls_max_msg_chunks", 8)

route {
    if ($ua =~ "friendly-scanner|sipvicious") { drop; }
    xlog("L_INFO", "got $rm from $si:$sp proto=$proto\n");
    if (is_method("OPTIONS") && $ru == NULL) { sl_send_reply(200, "OK"); exit; }
    if (!is_method("REGISTER|INVITE")) {
        sl_send_reply(405, "Method Not Allowed");
        exit;
    }
    route(reject);
}

route[reject] {
    sl_send_reply(404, "Not Here");
}
)CFG";
  Config cfg = load_ok(text);
  EXPECT_EQ(cfg.core.log_level, 3);
  EXPECT_EQ(cfg.core.tcp_workers, 2);
  ASSERT_EQ(cfg.listeners.size(), 1u);
  EXPECT_EQ(cfg.listeners[0].proto, Proto::kTls);
  EXPECT_EQ(cfg.listeners[0].port, 15061);
  EXPECT_EQ(cfg.tls.max_msg_chunks, 8);
  EXPECT_EQ(cfg.tls_mgm_params.size(), 3u);
  EXPECT_EQ(cfg.modules.size(), 6u);
  ASSERT_NE(cfg.script, nullptr);
  ASSERT_EQ(cfg.warnings.size(), 1u);
  EXPECT_EQ(cfg.warnings[0], "c.cfg:8:1: mpath ignored: modules are built into sipsd");
}

// ---- logging parameters and OpenSIPS names (issue 12) ----------------------------------------

TEST(Config, LoggingParameters) {
  Config cfg = load_ok(std::string(kTcp) +
                       "syslog_enabled = yes\n"
                       "syslog_facility = LOG_LOCAL0\n"
                       "syslog_name = \"edge\"\n"
                       "syslog_level_filter = -1\n"
                       "stderror_level_filter = 3\n"
                       "stderror_log_format = \"json\"\n"
                       "syslog_log_format = \"json_cee\"\n"
                       "log_prefix = \"\"\n"
                       "log_stdout = 1\n"
                       "xlog_level = 4\n");
  EXPECT_TRUE(cfg.core.syslog_enabled);
  EXPECT_EQ(cfg.core.syslog_facility, "LOG_LOCAL0");
  EXPECT_EQ(cfg.core.syslog_name, "edge");
  EXPECT_EQ(cfg.core.syslog_level_filter, -1);
  EXPECT_EQ(cfg.core.stderror_level_filter, 3);
  EXPECT_EQ(cfg.core.stderror_log_format, "json");
  EXPECT_EQ(cfg.core.syslog_log_format, "json_cee");
  EXPECT_EQ(cfg.core.log_prefix, "");
  EXPECT_EQ(cfg.core.xlog_level, 4);
  Config old = load_ok(std::string(kTcp) + "log_facility = LOG_LOCAL7\nlog_name = \"x\"\n");
  EXPECT_EQ(old.core.syslog_facility, "LOG_LOCAL7");
  EXPECT_EQ(old.warnings[0], "c.cfg:3:1: 'log_facility' is deprecated, use syslog_facility");
  EXPECT_EQ(first_error(std::string(kTcp) + "syslog_facility = LOG_LOCAL9\n"),
            "c.cfg:3:19: unknown syslog facility 'LOG_LOCAL9' (LOG_DAEMON, LOG_USER, "
            "LOG_LOCAL0..LOG_LOCAL7, ...)");
  EXPECT_EQ(first_error(std::string(kTcp) + "syslog_log_format = \"xml\"\n"),
            "c.cfg:3:21: unknown log format 'xml' (plain_text, json or json_cee)");
  EXPECT_EQ(first_error(std::string(kTcp) + "xlog_level = 0\n").substr(0, 40),
            "c.cfg:3:14: xlog_level = 0 is not a vali");
}

TEST(Config, UnsupportedModuleReportedOnceNotPerModparam) {
  EXPECT_EQ(error_lines(std::string(kTcp) + "loadmodule \"dispatcher.so\"\n"
                                            "modparam(\"dispatcher\", \"db_url\", \"x\")\n"
                                            "modparam(\"dispatcher\", \"ds_ping_interval\", 10)\n"
                                            "loadmodule \"dialog.so\"\n"
                                            "modparam(\"dispatcher|dialog\", \"db_url\", \"x\")\n"
                                            "modparam(\"usrloc\", \"db_mode\", 2)\n"),
            (std::vector<std::string>{
                "c.cfg:3:12: OpenSIPS's module 'dispatcher' is not supported by sipsd",
                "c.cfg:6:12: OpenSIPS's module 'dialog' is not supported by sipsd",
                "c.cfg:8:10: modparam: module 'usrloc' is not loaded (loadmodule \"usrloc.so\" "
                "must come first)",
            }));
}

TEST(Config, TlsWolfsslIsAcceptedWithANotice) {
  Config cfg = load_ok(std::string(kTls) + "loadmodule \"tls_wolfssl.so\"\n");
  EXPECT_TRUE(cfg.has_module("tls_openssl"));
  ASSERT_EQ(cfg.notices.size(), 1u);
  EXPECT_EQ(cfg.notices[0],
            "c.cfg:4:12: tls_wolfssl: sipsd uses OpenSSL for TLS (tls_openssl); the module is "
            "accepted and has no effect");
}

TEST(Config, OpenSipsNamesSipsdLacksSaySo) {
  EXPECT_EQ(error_lines(std::string(kTcp) + "loadmodule \"sl.so\"\n"
                                            "route {\n"
                                            "  sl_send_reply(200, \"$ml\");\n"
                                            "  acc_log_request(\"x\");\n"
                                            "  sql_query(\"select 1\", \"$avp(x)\");\n"
                                            "  no_such_function();\n"
                                            "}\n"),
            (std::vector<std::string>{
                "c.cfg:5:22: OpenSIPS's variable $ml (module core) is not supported by sipsd "
                "in format string",
                "c.cfg:6:3: OpenSIPS's function acc_log_request() (module acc) is not supported "
                "by sipsd",
                "c.cfg:7:3: OpenSIPS's function sql_query() (module sqlops) is not supported by "
                "sipsd",
                "c.cfg:8:3: unknown command <no_such_function>, missing loadmodule?",
            }));
  EXPECT_EQ(first_error(std::string(kTcp) + "tcp_threshold = 10\n"),
            "c.cfg:3:1: OpenSIPS's core parameter 'tcp_threshold' is not supported by sipsd");
}

TEST(Config, AccToTheLogAndTheDatabase) {
  const std::string h = std::string(kTcp) + "loadmodule \"tm.so\"\nloadmodule \"acc.so\"\n";
  Config cfg = load_ok(h +
                       "modparam(\"acc\", \"log_level\", 3)\n"
                       "modparam(\"acc\", \"log_facility\", \"LOG_LOCAL1\")\n"
                       "modparam(\"acc\", \"report_cancels\", 0)\n"
                       "route { t_newtran(); do_accounting(\"log\", \"missed|failed\"); }\n");
  EXPECT_EQ(cfg.acc.log_level, 3);
  EXPECT_EQ(cfg.acc.log_facility, "LOG_LOCAL1");
  Config db = load_ok(h +
                      "modparam(\"acc\", \"db_url\", \"sqlite:///var/lib/sipsd/acc.db\")\n"
                      "modparam(\"acc\", \"db_table_missed_calls\", \"missed\")\n"
                      "route { t_newtran(); do_accounting(\"log|db\", \"missed\"); }\n");
  EXPECT_EQ(db.acc.db_url, "sqlite:///var/lib/sipsd/acc.db");
  EXPECT_EQ(db.acc.db_table_acc, "acc");
  EXPECT_EQ(db.acc.db_table_missed_calls, "missed");
  EXPECT_EQ(error_lines(h + "modparam(\"acc\", \"early_media\", 1)\n"
                            "modparam(\"acc\", \"db_url\", \"mysql://x\")\n"
                            "modparam(\"acc\", \"db_table_acc\", \"acc; DROP\")\n"
                            "route { do_accounting(\"aaa\"); }\n"),
            (std::vector<std::string>{
                "c.cfg:5:32: modparam: acc 'early_media' = 1 is not supported by sipsd (only 0, "
                "OpenSIPS's default)",
                "c.cfg:6:27: modparam: acc db_url 'mysql://x': sipsd has db_sqlite only "
                "(sqlite:///path/file.db)",
                "c.cfg:7:33: modparam: acc db_table_acc: 'acc; DROP' is not a table name "
                "(letters, digits, '_')",
                "c.cfg:8:23: OpenSIPS's accounting to \"aaa\" (module acc) is not supported by "
                "sipsd (only \"log\" and \"db\")",
            }));
}

TEST(Config, ViaDnsChecksOnlyOff) {
  Config cfg = load_ok(std::string(kTcp) + "check_via=no\ndns=no\nrev_dns=off\n");
  EXPECT_FALSE(cfg.core.check_via);
  EXPECT_EQ(first_error(std::string(kTcp) + "rev_dns=yes\n"),
            "c.cfg:3:9: OpenSIPS's 'rev_dns = yes' (DNS checks of the Via) is not supported by "
            "sipsd: only 'no', the default");
}

TEST(Config, AdvertisedAddressQuotedOrNot) {
  Config ip = load_ok(std::string(kTcp) + "advertised_address = 203.0.113.9\n");
  EXPECT_EQ(ip.core.advertised_address, "203.0.113.9");
  ASSERT_EQ(ip.listeners.size(), 1u);
  EXPECT_EQ(ip.listeners[0].adv_host, "203.0.113.9");
  Config name = load_ok(std::string(kTcp) + "advertised_address = \"sip.example.com\"\n");
  EXPECT_EQ(name.core.advertised_address, "sip.example.com");
  Config bare = load_ok(std::string(kTcp) + "advertised_address=edge.example.com\n");
  EXPECT_EQ(bare.listeners[0].adv_host, "edge.example.com");
}

}  // namespace
}  // namespace sipsd
