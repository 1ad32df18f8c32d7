// The management FIFO of the real sipsd (mi_fifo: OpenSIPS MI JSON-RPC 2.0): the raw wire
// protocol, every command's reply shape, statistics that follow real traffic, log_level reaching
// the workers, tls_reload, tcp_close, shutdown, sipsctl and an opensips-cli look-alike.
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/ctl/mi_client.h"
#include "core/mi/json.h"
#include "gtest/gtest.h"
#include "tests/integration/mi_cli_test_client.h"
#include "tests/integration/sip_test_client.h"
#include "tests/integration/sipsd_server.h"
#include "tests/integration/subprocess.h"
#include "tests/integration/test_env.h"

namespace sipsd::test {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

std::unique_ptr<SipsdServer> start_with_mi(const SipsdOptions& o = {}) {
  auto srv = SipsdServer::start(o);
  EXPECT_TRUE(srv.ok()) << srv.message();
  return srv.ok() ? std::move(srv).value() : nullptr;
}

// Positional params: ["a","b"].
Json array_of(std::initializer_list<std::string> items) {
  Json a = Json::array();
  for (const std::string& s : items) a.push(s);
  return a;
}

// The one array parameter of the statistics commands: [["a","b"]].
Json selectors(std::initializer_list<std::string> items) {
  Json a = Json::array();
  a.push(array_of(items));
  return a;
}

std::vector<std::string> keys_of(const Json& object) {
  std::vector<std::string> keys;
  for (const auto& [k, v] : object.members()) keys.push_back(k);
  return keys;
}

bool contains(const Json& array, const std::string& s) {
  return std::any_of(array.items().begin(), array.items().end(),
                     [&](const Json& j) { return j.is_string() && j.as_string() == s; });
}

uint64_t stat_value(const Json& stats, const std::string& name) {
  const Json* v = stats.find(name);
  return v && v->is_int() ? static_cast<uint64_t>(v->as_int()) : ~uint64_t{0};
}

// Writes `data` to the server FIFO exactly as given (one write).
void write_raw(SipsdServer& srv, const std::string& data) {
  auto fd = mi_open_server_fifo(srv.mi_options().fifo);
  ASSERT_TRUE(fd.ok()) << fd.message();
  Status s = mi_write_all(fd->get(), data, Clock::now() + 2s);
  ASSERT_TRUE(s.ok()) << s.message();
}

// A reply FIFO in the server's reply_dir, open for reading.
MiReplyFifo reply_fifo(SipsdServer& srv) {
  auto f = MiReplyFifo::create(srv.mi_options().reply_dir, "raw_", 0600);
  EXPECT_TRUE(f.ok()) << f.message();
  if (!f.ok()) return {};
  Status s = f->open_for_reading();
  EXPECT_TRUE(s.ok()) << s.message();
  return std::move(f).value();
}

// ---- the wire protocol ----------------------------------------------------------------------

TEST(MiFifoWire, RequestsRepliesAndBadInputAgainstTheRealServer) {
  auto srv = start_with_mi();
  ASSERT_TRUE(srv);
  struct stat st = {};
  ASSERT_EQ(stat(srv->mi_options().fifo.c_str(), &st), 0);
  EXPECT_TRUE(S_ISFIFO(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0600u) << "mi_fifo's fifo_mode defaults to 0600 here";

  // A valid request: one line of compact JSON (no newline: EOF ends it), the id echoed with
  // its type (a number here).
  {
    MiReplyFifo r = reply_fifo(*srv);
    write_raw(*srv, ":" + r.name() + ":{\"jsonrpc\":\"2.0\",\"method\":\"version\",\"id\":7}\n");
    auto reply = r.read_reply(Clock::now() + 5s);
    ASSERT_TRUE(reply.ok()) << reply.message();
    EXPECT_EQ(*reply, std::string("{\"jsonrpc\":\"2.0\",\"result\":{\"Server\":\"sipsd (") +
                          SIPSD_VERSION + " (x86_64/linux))\"},\"id\":7}");
  }
  // Invalid JSON: logged, no reply; the server carries on.
  {
    MiReplyFifo r = reply_fifo(*srv);
    write_raw(*srv, ":" + r.name() + ":{\"jsonrpc\":\"2.0\",\"method\":uptime,\"id\":1}\n");
    EXPECT_FALSE(r.read_reply(Clock::now() + 500ms).ok()) << "invalid JSON was answered";
  }
  // Reply names with '.', '/' or '\' are refused (they could point outside reply_dir).
  for (const char* name : {"../evil", "a.b", "x\\\\y"}) {
    write_raw(*srv,
              std::string(":") + name + ":{\"jsonrpc\":\"2.0\",\"method\":\"ps\",\"id\":1}\n");
  }
  // A request without an id is a notification: it runs, the reply FIFO is closed empty.
  {
    MiReplyFifo r = reply_fifo(*srv);
    write_raw(*srv, ":" + r.name() + ":{\"jsonrpc\":\"2.0\",\"method\":\"uptime\"}\n");
    auto reply = r.read_reply(Clock::now() + 5s);
    ASSERT_TRUE(reply.ok()) << reply.message();
    EXPECT_EQ(*reply, "");
  }
  // A reply FIFO that does not exist: logged, nothing else happens.
  write_raw(*srv, ":no_such_reply_fifo:{\"jsonrpc\":\"2.0\",\"method\":\"ps\",\"id\":\"1\"}\n");
  // Three requests in one write, to three reply FIFOs: all answered, ids as sent.
  {
    MiReplyFifo a = reply_fifo(*srv), b = reply_fifo(*srv), c = reply_fifo(*srv);
    write_raw(*srv, ":" + a.name() +
                        ":{\"jsonrpc\":\"2.0\",\"method\":\"pwd\",\"id\":\"a\"}\n:" + b.name() +
                        ":{\"jsonrpc\":\"2.0\",\"method\":\"nosuch\",\"id\":2}\n:" + c.name() +
                        ":{\"jsonrpc\":\"2.0\",\"method\":\"uptime\",\"id\":null}\n");
    auto ra = a.read_reply(Clock::now() + 5s);
    auto rb = b.read_reply(Clock::now() + 5s);
    auto rc = c.read_reply(Clock::now() + 5s);
    ASSERT_TRUE(ra.ok() && rb.ok() && rc.ok()) << ra.message() << rb.message() << rc.message();
    EXPECT_NE(ra->find("\"WD\":"), std::string::npos) << *ra;
    EXPECT_NE(ra->find("\"id\":\"a\""), std::string::npos) << *ra;
    EXPECT_EQ(*rb,
              "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":-32601,\"message\":\"Method not "
              "found\"},\"id\":2}");
    EXPECT_NE(rc->find("\"id\":null"), std::string::npos) << *rc;
  }
  // Not JSON-RPC 2.0: -32600 with a null id.
  {
    MiReplyFifo r = reply_fifo(*srv);
    write_raw(*srv, ":" + r.name() + ":{\"jsonrpc\":\"1.0\",\"method\":\"ps\",\"id\":3}\n");
    auto reply = r.read_reply(Clock::now() + 5s);
    ASSERT_TRUE(reply.ok()) << reply.message();
    EXPECT_NE(reply->find("\"code\":-32600"), std::string::npos) << *reply;
  }
  // The log reaches us through a pipe that a thread of ours drains: wait for the lines.
  EXPECT_TRUE(srv->wait_for_log("no_such_reply_fifo")) << srv->log();
  EXPECT_TRUE(srv->wait_for_log("../evil")) << "refused reply names are logged:\n" << srv->log();
  // After all of that the server still serves SIP and MI.
  auto c = SipTestClient::connect_tls("127.0.0.1", srv->tls_port(), default_tls_options());
  ASSERT_TRUE(c.ok()) << c.message();
  EXPECT_EQ(options_status(**c), 200);
  EXPECT_TRUE(srv->mi_result("uptime").ok());
  EXPECT_TRUE(srv->stop().success());
}

TEST(MiFifoWire, FifoIsRecreatedWhenDeletedAndRemovedOnExit) {
  auto srv = start_with_mi();
  ASSERT_TRUE(srv);
  std::string fifo = srv->mi_options().fifo;
  ASSERT_EQ(unlink(fifo.c_str()), 0);
  // The FIFO is checked on a timer and on SIGHUP.
  ASSERT_TRUE(srv->child().signal(SIGHUP));
  bool back = false;
  for (int i = 0; i < 100 && !back; ++i) {
    std::this_thread::sleep_for(20ms);
    back = access(fifo.c_str(), F_OK) == 0;
  }
  ASSERT_TRUE(back) << srv->log();
  auto r = srv->mi_result("uptime");
  EXPECT_TRUE(r.ok()) << r.message();
  EXPECT_TRUE(srv->stop().success());
  EXPECT_NE(access(fifo.c_str(), F_OK), 0) << "the FIFO outlived the server";
}

// ---- every command's reply shape -------------------------------------------------------------

TEST(MiCommands, ReplyShapes) {
  SipsdOptions o;
  o.workers = 2;
  auto srv = start_with_mi(o);
  ASSERT_TRUE(srv);

  auto which = srv->mi_result("which");
  ASSERT_TRUE(which.ok()) << which.message();
  for (const char* cmd : {"which",
                          "help",
                          "uptime",
                          "version",
                          "pwd",
                          "arg",
                          "ps",
                          "kill",
                          "shutdown",
                          "log_level",
                          "get_statistics",
                          "list_statistics",
                          "reset_statistics",
                          "reset_all_statistics",
                          "list_tcp_conns",
                          "tcp_close",
                          "tls_list",
                          "tls_reload",
                          "tls_trace",
                          "tls_cert_status",
                          "tls_mgm:list",
                          "statistics:get"})
    EXPECT_TRUE(contains(*which, cmd)) << cmd << " missing from which: " << which->dump();
  auto recipes = srv->mi_result("which", array_of({"log_level"}));
  ASSERT_TRUE(recipes.ok());
  EXPECT_EQ(recipes->dump(), "[[],[\"level\"],[\"level\",\"pid\"]]");

  auto help = srv->mi_result("help", array_of({"tls_list"}));
  ASSERT_TRUE(help.ok()) << help.message();
  EXPECT_EQ(help->dump(), "{\"Help\":\"lists all domains\",\"Exported by\":\"tls_mgm\"}");

  auto uptime = srv->mi_result("uptime");
  ASSERT_TRUE(uptime.ok());
  EXPECT_EQ(keys_of(*uptime), (std::vector<std::string>{"Now", "Up since", "Up time"}));
  EXPECT_NE(uptime->find("Up time")->as_string().find(" [sec]"), std::string::npos);

  auto pwd = srv->mi_result("pwd");
  ASSERT_TRUE(pwd.ok());
  ASSERT_NE(pwd->find("WD"), nullptr);
  EXPECT_EQ(pwd->find("WD")->as_string(), std::filesystem::current_path().string());

  auto arg = srv->mi_result("arg");
  ASSERT_TRUE(arg.ok());
  ASSERT_EQ(arg->size(), 3u) << arg->dump();
  EXPECT_EQ(arg->items()[1].as_string(), "-f");
  EXPECT_EQ(arg->items()[2].as_string(), srv->cfg_path());

  auto ps = srv->mi_result("ps");
  ASSERT_TRUE(ps.ok());
  const Json* procs = ps->find("Processes");
  ASSERT_NE(procs, nullptr);
  ASSERT_EQ(procs->size(), 3u) << ps->dump();
  EXPECT_EQ(procs->items()[0].find("PID")->as_int(), srv->pid());
  EXPECT_EQ(procs->items()[0].find("Type")->as_string(), "supervisor, MI FIFO");
  for (size_t i = 1; i < 3; ++i) {
    const Json& w = procs->items()[i];
    EXPECT_EQ(keys_of(w), (std::vector<std::string>{"ID", "PID", "Type", "Listeners", "Stalled"}));
    EXPECT_FALSE(w.find("Stalled")->as_bool()) << w.dump();
    EXPECT_EQ(w.find("Type")->as_string(), "TCP receiver");
    EXPECT_TRUE(contains(*w.find("Listeners"), "tls:127.0.0.1:" + std::to_string(srv->tls_port())))
        << w.dump();
  }

  // log_level: the list, then the OpenSIPS errors.
  auto levels = srv->mi_result("log_level");
  ASSERT_TRUE(levels.ok());
  ASSERT_EQ(levels->find("Processes")->size(), 3u);
  EXPECT_EQ(levels->find("Processes")->items()[1].find("Log level")->as_int(), 3);
  auto bad_pid = srv->mi("log_level", array_of({"3", "999999"}));
  ASSERT_TRUE(bad_pid.ok());
  EXPECT_EQ(bad_pid->find("error")->dump(),
            "{\"code\":-32602,\"message\":\"Invalid params\",\"data\":\"Bad PID\"}");
  auto bad_level = srv->mi("log_level", array_of({"abc"}));
  ASSERT_TRUE(bad_level.ok());
  EXPECT_EQ(bad_level->find("error")->find("data")->as_string(), "Bad type for parameter 'level'");
  auto too_many = srv->mi("uptime", array_of({"x"}));
  ASSERT_TRUE(too_many.ok());
  EXPECT_EQ(too_many->find("error")->find("code")->as_int(), -32602);

  // Statistics: all, a group, bare names, and what is listed.
  auto all = srv->mi_result("get_statistics", selectors({"all"}));
  ASSERT_TRUE(all.ok());
  for (const char* name :
       {"core:rcv_requests",  "core:rcv_replies",      "core:fwd_requests",   "core:fwd_replies",
        "core:drop_requests", "core:err_requests",     "core:bad_msg_hdr",    "core:timestamp",
        "net:waiting_tcp",    "net:waiting_tls",       "tls:conns_open",      "tls:conns_accepted",
        "tls:handshakes_ok",  "tls:handshakes_failed", "tls:resumed",         "tls:sni_unmatched",
        "tls:verify_failed",  "tls:crlf_pings",        "tls:chunks_exceeded", "tls:msg_timeouts",
        "tls:oversized",      "tls:bytes_in",          "tls:bytes_out",       "tcp:conns_open",
        "tcp:bytes_in",       "shmem:total_size",      "shmem:used_size",     "load:load"})
    EXPECT_NE(all->find(name), nullptr) << name << " missing: " << all->dump();
  auto group = srv->mi_result("get_statistics", selectors({"shmem:"}));
  ASSERT_TRUE(group.ok());
  for (const auto& [k, v] : group->members()) EXPECT_EQ(k.rfind("shmem:", 0), 0u) << k;
  EXPECT_GT(stat_value(*group, "shmem:total_size"), 0u);
  auto named = srv->mi_result("get_statistics", selectors({"rcv_requests", "handshakes_ok"}));
  ASSERT_TRUE(named.ok());
  EXPECT_EQ(keys_of(*named), (std::vector<std::string>{"core:rcv_requests", "tls:handshakes_ok"}));
  auto listed = srv->mi_result("list_statistics", selectors({"core:"}));
  ASSERT_TRUE(listed.ok());
  ASSERT_NE(listed->find("core:rcv_requests"), nullptr) << listed->dump();
  EXPECT_TRUE(listed->find("core:rcv_requests")->is_string());
  auto not_there = srv->mi("reset_statistics", selectors({"nosuch"}));
  ASSERT_TRUE(not_there.ok());
  EXPECT_EQ(not_there->find("error")->find("code")->as_int(), 404);

  // Connections: one TLS and one TCP connection, with their details.
  auto tls = SipTestClient::connect_tls("127.0.0.1", srv->tls_port(), default_tls_options());
  ASSERT_TRUE(tls.ok()) << tls.message();
  ASSERT_EQ(options_status(**tls), 200);
  auto tcp = SipTestClient::connect_tcp("127.0.0.1", srv->tcp_port());
  ASSERT_TRUE(tcp.ok()) << tcp.message();
  ASSERT_EQ(options_status(**tcp), 200);
  auto conns = srv->mi_result("list_tcp_conns");
  ASSERT_TRUE(conns.ok());
  const Json* list = conns->find("Connections");
  ASSERT_NE(list, nullptr);
  ASSERT_EQ(list->size(), 2u) << conns->dump();
  for (const Json& c : list->items()) {
    std::string remote = c.find("Remote")->as_string();
    if (c.find("Type")->as_string() == "tls") {
      EXPECT_EQ(remote, "127.0.0.1:" + std::to_string((*tls)->local_port()));
      EXPECT_EQ(c.find("Local")->as_string(), "127.0.0.1:" + std::to_string(srv->tls_port()));
      EXPECT_EQ(c.find("TLS Version")->as_string(), (*tls)->tls_version());
      EXPECT_EQ(c.find("TLS Cipher")->as_string(), (*tls)->cipher());
      EXPECT_FALSE(c.find("TLS Peer verified")->as_bool());
      EXPECT_EQ(c.find("TLS Domain")->as_string(), "default");
    } else {
      EXPECT_EQ(c.find("Type")->as_string(), "tcp");
      EXPECT_EQ(remote, "127.0.0.1:" + std::to_string((*tcp)->local_port()));
      EXPECT_EQ(c.find("TLS Version"), nullptr);
    }
    for (const char* k : {"ID", "State", "Lifetime", "Alias port"})
      EXPECT_NE(c.find(k), nullptr) << k << " missing: " << c.dump();
    EXPECT_EQ(c.find("State")->as_int(), 0);
  }
  auto only_tcp = srv->mi_result("list_tcp_conns", array_of({"tcp"}));
  ASSERT_TRUE(only_tcp.ok());
  EXPECT_EQ(only_tcp->find("Connections")->size(), 1u);

  // TLS domains.
  auto domains = srv->mi_result("tls_list");
  ASSERT_TRUE(domains.ok());
  ASSERT_EQ(domains->find("Domains")->size(), 1u);
  EXPECT_EQ(keys_of(domains->find("Domains")->items()[0]),
            (std::vector<std::string>{"name", "type", "IP ADDRESS FILTERS", "SIP DOMAIN FILTERS",
                                      "METHOD", "VERIFY_CERT", "REQ_CLI_CERT", "CRL_CHECKALL",
                                      "CERT_FILE", "CRL_DIR", "CA_FILE", "CA_DIR", "PKEY_FILE",
                                      "CIPHER_LIST", "DH_PARAMS_FILE", "EC_CURVE"}));
  EXPECT_EQ(domains->find("Domains")->items()[0].find("type")->as_string(), "TLS_DOMAIN_SRV");
  auto certs = srv->mi_result("tls_cert_status");
  ASSERT_TRUE(certs.ok());
  const Json& cert = certs->find("Domains")->items()[0];
  EXPECT_EQ(cert.find("Subject")->as_string(), "CN=localhost");
  EXPECT_TRUE(contains(*cert.find("SANs"), "IP:127.0.0.1")) << cert.dump();
  EXPECT_GT(cert.find("Days left")->as_int(), 30);
  auto trace = srv->mi_result("tls_trace");
  ASSERT_TRUE(trace.ok());
  EXPECT_EQ(trace->dump(), "{\"TLS tracing\":\"off\"}");
  // 4.0-style alias.
  auto alias = srv->mi_result("tls_mgm:list");
  ASSERT_TRUE(alias.ok());
  EXPECT_EQ(alias->dump(), domains->dump());
  EXPECT_TRUE(srv->stop().success());
}

// ---- statistics follow the traffic -------------------------------------------------------------

TEST(MiStatistics, CountersFollowRealTrafficAndReset) {
  auto srv = start_with_mi();
  ASSERT_TRUE(srv);
  Json groups = selectors({"core:", "tls:", "sl:", "net:", "load:"});
  auto before = srv->mi_result("get_statistics", groups);
  ASSERT_TRUE(before.ok()) << before.message();

  constexpr int kRequests = 25;
  auto c = SipTestClient::connect_tls("127.0.0.1", srv->tls_port(), default_tls_options());
  ASSERT_TRUE(c.ok()) << c.message();
  for (int i = 0; i < kRequests; ++i) ASSERT_EQ(options_status(**c), 200);
  ASSERT_TRUE((*c)->send("\r\n\r\n").ok());
  ASSERT_TRUE((*c)->read_bytes(2, 5s).ok());

  auto after = srv->mi_result("get_statistics", groups);
  ASSERT_TRUE(after.ok()) << after.message();
  EXPECT_EQ(stat_value(*after, "core:rcv_requests") - stat_value(*before, "core:rcv_requests"),
            static_cast<uint64_t>(kRequests))
      << after->dump();
  EXPECT_EQ(stat_value(*after, "sl:sent_replies") - stat_value(*before, "sl:sent_replies"),
            static_cast<uint64_t>(kRequests));
  EXPECT_EQ(stat_value(*after, "tls:handshakes_ok") - stat_value(*before, "tls:handshakes_ok"), 1u);
  EXPECT_EQ(stat_value(*after, "tls:conns_accepted") - stat_value(*before, "tls:conns_accepted"),
            1u);
  EXPECT_EQ(stat_value(*after, "tls:conns_open"), 1u);
  EXPECT_EQ(stat_value(*after, "tls:crlf_pings") - stat_value(*before, "tls:crlf_pings"), 1u);
  EXPECT_GT(stat_value(*after, "tls:bytes_in"),
            stat_value(*before, "tls:bytes_in") + kRequests * 200);
  EXPECT_GT(stat_value(*after, "tls:bytes_out"), stat_value(*before, "tls:bytes_out"));

  auto reset = srv->mi_result("reset_statistics", selectors({"rcv_requests"}));
  ASSERT_TRUE(reset.ok()) << reset.message();
  auto zero = srv->mi_result("get_statistics", groups);
  ASSERT_TRUE(zero.ok());
  EXPECT_EQ(stat_value(*zero, "core:rcv_requests"), 0u);
  EXPECT_EQ(stat_value(*zero, "sl:sent_replies"), stat_value(*after, "sl:sent_replies"))
      << "reset_statistics touched another counter";
  ASSERT_EQ(options_status(**c), 200);
  auto one = srv->mi_result("get_statistics", selectors({"rcv_requests"}));
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(stat_value(*one, "core:rcv_requests"), 1u);
  (*c)->close();
  auto closed = srv->mi_result("get_statistics", selectors({"tls:conns_open"}));
  ASSERT_TRUE(closed.ok());
  for (int i = 0; i < 100 && stat_value(*closed, "tls:conns_open") != 0; ++i) {
    std::this_thread::sleep_for(20ms);
    closed = srv->mi_result("get_statistics", selectors({"tls:conns_open"}));
    ASSERT_TRUE(closed.ok());
  }
  EXPECT_EQ(stat_value(*closed, "tls:conns_open"), 0u);
  EXPECT_TRUE(srv->stop().success());
}

// ---- log_level reaches the workers at once ---------------------------------------------------

TEST(MiLogLevel, ChangesWhatWorkersLogGloballyAndPerPid) {
  // The probe is the core's own DBG line for a reply that matches no transaction (xlog() has its
  // own threshold, xlog_level, which log_level does not move: OpenSIPS's semantics).
  SipsdOptions o;
  o.workers = 1;
  o.log_level = 3;
  o.route = "route { sl_send_reply(200, \"OK\"); }\n";
  auto srv = start_with_mi(o);
  ASSERT_TRUE(srv);
  auto c = SipTestClient::connect_tls("127.0.0.1", srv->tls_port(), default_tls_options());
  ASSERT_TRUE(c.ok()) << c.message();
  // A stray reply with a marker status code, then a request whose answer proves the worker has
  // handled the reply (one connection, handled in order).
  auto send_marked = [&](int code) {
    std::string stray = "SIP/2.0 " + std::to_string(code) +
                        " Marker\r\nVia: SIP/2.0/TLS 127.0.0.1:5999;branch=z9hG4bKstray" +
                        std::to_string(code) +
                        "\r\nFrom: <sip:a@example.com>;tag=1\r\nTo: <sip:b@example.com>;tag=2\r\n"
                        "Call-ID: stray-" +
                        std::to_string(code) + "\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n";
    EXPECT_TRUE((*c)->send(stray).ok());
    SipRequestSpec spec;
    EXPECT_TRUE((*c)->send((*c)->make_options(spec).text).ok());
    auto reply = (*c)->read_reply(5s);
    EXPECT_TRUE(reply.ok()) << reply.message();
  };
  auto logged = [&](int code) {
    return srv->log().find("reply " + std::to_string(code) + " ") != std::string::npos;
  };
  send_marked(281);
  auto set = srv->mi_result("log_level", array_of({"4"}));
  ASSERT_TRUE(set.ok()) << set.message();
  EXPECT_EQ(set->dump(), "{\"New global log level\":4}");
  send_marked(282);
  EXPECT_TRUE(srv->wait_for_log("reply 282 ")) << srv->log();
  EXPECT_FALSE(logged(281)) << srv->log();

  // Per pid: the worker back to 3; the list shows it.
  auto ps = srv->mi_result("ps");
  ASSERT_TRUE(ps.ok());
  std::string worker_pid = std::to_string(ps->find("Processes")->items()[1].find("PID")->as_int());
  auto one = srv->mi_result("log_level", array_of({"3", worker_pid}));
  ASSERT_TRUE(one.ok()) << one.message();
  EXPECT_EQ(one->dump(), "{\"Log level\":3}");
  send_marked(283);
  auto levels = srv->mi_result("log_level");
  ASSERT_TRUE(levels.ok());
  EXPECT_EQ(levels->find("Processes")->items()[0].find("Log level")->as_int(), 4);
  EXPECT_EQ(levels->find("Processes")->items()[1].find("Log level")->as_int(), 3);
  EXPECT_FALSE(logged(283)) << srv->log();
  EXPECT_TRUE(srv->stop().success());
}

// ---- tls_reload --------------------------------------------------------------------------------

TEST(MiTlsReload, ServesTheNewCertificateAndRefusesABrokenOne) {
  ReloadableCertFiles files;  // ECDSA
  SipsdOptions o;
  o.tls_domain = files.tls_domain();
  auto srv = start_with_mi(o);
  ASSERT_TRUE(srv);
  auto before = SipTestClient::connect_tls("127.0.0.1", srv->tls_port(), default_tls_options());
  ASSERT_TRUE(before.ok()) << before.message();
  EXPECT_EQ((*before)->peer_key_type(), EVP_PKEY_EC);

  files.install("server-rsa.pem", "server-rsa-key.pem");
  auto ok = srv->mi_result("tls_reload");
  ASSERT_TRUE(ok.ok()) << ok.message();
  EXPECT_EQ(ok->dump(), "\"OK\"");
  EXPECT_TRUE(eventually_serves_key_type(*srv, EVP_PKEY_RSA))
      << "new handshakes still present the old certificate";
  EXPECT_EQ(options_status(**before), 200) << "the connection made before the reload was dropped";

  // A key that does not match: a 500 that says why; still serving the RSA certificate.
  files.install_key("other-key.pem");
  auto refused = srv->mi("tls_reload");
  ASSERT_TRUE(refused.ok()) << refused.message();
  const Json* error = refused->find("error");
  ASSERT_NE(error, nullptr) << refused->dump();
  EXPECT_EQ(error->find("code")->as_int(), 500);
  EXPECT_EQ(error->find("message")->as_string(), "Failed to reload");
  EXPECT_NE(error->find("data")->as_string().find("does not match the certificate"),
            std::string::npos)
      << error->dump();
  auto again = SipTestClient::connect_tls("127.0.0.1", srv->tls_port(), default_tls_options());
  ASSERT_TRUE(again.ok()) << again.message();
  EXPECT_EQ((*again)->peer_key_type(), EVP_PKEY_RSA);
  EXPECT_TRUE(srv->stop().success());
}

// ---- tcp_close ---------------------------------------------------------------------------------

TEST(MiTcpClose, ClosesOneConnectionByIdOrAddress) {
  auto srv = start_with_mi();
  ASSERT_TRUE(srv);
  std::vector<SipTestClient::Ptr> clients;
  for (int i = 0; i < 3; ++i) {
    auto c = SipTestClient::connect_tls("127.0.0.1", srv->tls_port(), default_tls_options());
    ASSERT_TRUE(c.ok()) << c.message();
    ASSERT_EQ(options_status(**c), 200);
    clients.push_back(std::move(c).value());
  }
  auto conns = srv->mi_result("list_tcp_conns");
  ASSERT_TRUE(conns.ok());
  std::string first_id;
  for (const Json& c : conns->find("Connections")->items())
    if (c.find("Remote")->as_string() == "127.0.0.1:" + std::to_string(clients[0]->local_port()))
      first_id = std::to_string(c.find("ID")->as_int());
  ASSERT_FALSE(first_id.empty()) << conns->dump();

  auto by_id = srv->mi_result("tcp_close", array_of({first_id}));
  ASSERT_TRUE(by_id.ok()) << by_id.message();
  EXPECT_EQ(by_id->dump(), "\"OK\"");
  EXPECT_TRUE(clients[0]->wait_closed(5s));
  std::string second = "tls:127.0.0.1:" + std::to_string(clients[1]->local_port());
  auto by_addr = srv->mi_result("tcp_close", array_of({second}));
  ASSERT_TRUE(by_addr.ok()) << by_addr.message();
  EXPECT_TRUE(clients[1]->wait_closed(5s));
  EXPECT_EQ(options_status(*clients[2]), 200) << "another connection was disturbed";
  auto gone = srv->mi_result("tcp_close", array_of({"127.0.0.1:1"}));
  ASSERT_TRUE(gone.ok());
  EXPECT_TRUE(gone->is_null());
  auto bad = srv->mi("tcp_close", array_of({"nonsense"}));
  ASSERT_TRUE(bad.ok());
  EXPECT_EQ(bad->find("error")->find("code")->as_int(), 400);
  EXPECT_NE(srv->log().find("MI"), std::string::npos);
  EXPECT_TRUE(srv->stop().success());
}

// ---- shutdown ----------------------------------------------------------------------------------

TEST(MiShutdown, StopsGracefullyExitsZeroAndRemovesTheFifo) {
  auto srv = start_with_mi();
  ASSERT_TRUE(srv);
  auto c = SipTestClient::connect_tls("127.0.0.1", srv->tls_port(), default_tls_options());
  ASSERT_TRUE(c.ok()) << c.message();
  ASSERT_EQ(options_status(**c), 200);
  std::string fifo = srv->mi_options().fifo;
  auto r = srv->mi_result("shutdown");
  ASSERT_TRUE(r.ok()) << r.message();
  EXPECT_EQ(r->dump(), "\"OK\"");
  EXPECT_TRUE((*c)->wait_closed(5s));
  EXPECT_EQ((*c)->close_reason(), "close_notify");
  auto status = srv->child().wait(8s);
  ASSERT_TRUE(status.has_value()) << "sipsd still running after MI shutdown";
  EXPECT_TRUE(status->success()) << status->describe();
  EXPECT_NE(access(fifo.c_str(), F_OK), 0) << "the FIFO outlived the server";
  EXPECT_NE(srv->log().find("MI shutdown"), std::string::npos) << srv->log();
}

// ---- sipsctl -----------------------------------------------------------------------------------

RunResult sipsctl(SipsdServer& srv, std::vector<std::string> args,
                  std::chrono::milliseconds timeout = 10s) {
  MiClientOptions o = srv.mi_options();
  std::vector<std::string> argv = {SIPSCTL_BINARY, "--fifo", o.fifo, "--reply-dir", o.reply_dir};
  argv.insert(argv.end(), args.begin(), args.end());
  RunOptions ro;
  ro.timeout = timeout;
  return run(argv, ro);
}

TEST(Sipsctl, TablesJsonErrorsAndExitCodes) {
  auto srv = start_with_mi();
  ASSERT_TRUE(srv);
  auto c = SipTestClient::connect_tls("127.0.0.1", srv->tls_port(), default_tls_options());
  ASSERT_TRUE(c.ok()) << c.message();
  ASSERT_EQ(options_status(**c), 200);

  RunResult ps = sipsctl(*srv, {"ps"});
  ASSERT_TRUE(ps.ok()) << ps.describe();
  EXPECT_EQ(ps.out.rfind("ID", 0), 0u) << ps.out;
  EXPECT_NE(ps.out.find(std::to_string(srv->pid()) + "  supervisor, MI FIFO"), std::string::npos)
      << ps.out;
  EXPECT_NE(ps.out.find("TCP receiver"), std::string::npos) << ps.out;

  RunResult conns = sipsctl(*srv, {"list_tcp_conns"});
  ASSERT_TRUE(conns.ok()) << conns.describe();
  EXPECT_NE(conns.out.find("127.0.0.1:" + std::to_string((*c)->local_port())), std::string::npos)
      << conns.out;
  EXPECT_NE(conns.out.find((*c)->tls_version()), std::string::npos) << conns.out;

  RunResult certs = sipsctl(*srv, {"tls_cert_status"});
  ASSERT_TRUE(certs.ok()) << certs.describe();
  EXPECT_NE(certs.out.find("Days left"), std::string::npos) << certs.out;
  EXPECT_NE(certs.out.find("CN=localhost"), std::string::npos) << certs.out;

  RunResult stats = sipsctl(*srv, {"get_statistics", "core:", "tls:"});
  ASSERT_TRUE(stats.ok()) << stats.describe();
  EXPECT_NE(stats.out.find("core:\n"), std::string::npos) << stats.out;
  EXPECT_NE(stats.out.find("tls:\n"), std::string::npos) << stats.out;
  EXPECT_NE(stats.out.find("rcv_requests"), std::string::npos) << stats.out;

  RunResult json = sipsctl(*srv, {"--json", "get_statistics", "rcv_requests"});
  ASSERT_TRUE(json.ok()) << json.describe();
  EXPECT_EQ(json.out, "{\"core:rcv_requests\":1}\n");

  RunResult unknown = sipsctl(*srv, {"nosuch"});
  EXPECT_TRUE(unknown.status.exited);
  EXPECT_EQ(unknown.status.code, 1);
  EXPECT_NE(unknown.err.find("-32601 Method not found"), std::string::npos) << unknown.err;

  RunResult bad = sipsctl(*srv, {"log_level", "3", "999999"});
  EXPECT_EQ(bad.status.code, 1);
  EXPECT_NE(bad.err.find("Bad PID"), std::string::npos) << bad.err;

  RunResult watch = sipsctl(*srv, {"watch", "--interval", "0.2", "--count", "2"});
  ASSERT_TRUE(watch.ok()) << watch.describe();
  EXPECT_FALSE(watch.out.empty());

  // A server that does not answer: sipsctl gives up at its timeout with exit code 2.
  ASSERT_TRUE(srv->child().signal(SIGSTOP));
  RunResult stuck = sipsctl(*srv, {"--timeout", "0.5", "uptime"});
  ASSERT_TRUE(srv->child().signal(SIGCONT));
  EXPECT_FALSE(stuck.timed_out);
  EXPECT_EQ(stuck.status.code, 2) << stuck.describe();
  EXPECT_NE(stuck.err.find("no reply from sipsd within 0.5 s"), std::string::npos) << stuck.err;
  EXPECT_TRUE(srv->stop().success());

  // No server at all.
  RunResult none = sipsctl(*srv, {"ps"});
  EXPECT_EQ(none.status.code, 2) << none.describe();
  EXPECT_FALSE(none.err.empty());
}

// ---- opensips-cli (its behaviour, see mi_cli_test_client.h) --------------------------------

TEST(OpensipsCli, LookAlikeDrivesSipsd) {
  auto srv = start_with_mi();
  ASSERT_TRUE(srv);
  OpensipsCliOptions o;
  o.fifo = srv->mi_options().fifo;
  o.reply_dir = srv->dir();
  OpensipsCliRun ps = opensips_cli_run(o, "ps", {});
  ASSERT_TRUE(ps.ok) << ps.error;
  ASSERT_EQ(ps.requests.size(), 2u);
  EXPECT_NE(ps.requests[0].find("\"method\":\"which\""), std::string::npos) << ps.requests[0];
  EXPECT_NE(ps.result.find("Processes"), nullptr);

  auto stats = opensips_cli_mi(o, "get_statistics", {"core:", "tls:"});
  ASSERT_TRUE(stats.ok()) << stats.message();
  EXPECT_NE(stats->find("core:rcv_requests"), nullptr);
  EXPECT_NE(stats->find("tls:handshakes_ok"), nullptr);
  auto level = opensips_cli_mi(o, "log_level", {"level=2"});
  ASSERT_TRUE(level.ok()) << level.message();
  EXPECT_EQ(level->dump(), "{\"New global log level\":2}");
  auto tls = opensips_cli_mi(o, "tls_list", {});
  ASSERT_TRUE(tls.ok()) << tls.message();
  OpensipsCliRun nosuch = opensips_cli_run(o, "no_such_command", {});
  EXPECT_FALSE(nosuch.ok);
  EXPECT_EQ(nosuch.requests.size(), 1u) << "a command not in `which` must never be sent";
  OpensipsCliRun bad = opensips_cli_run(o, "log_level", {"abc"});
  EXPECT_FALSE(bad.ok);
  EXPECT_EQ(bad.code, -32602);
  EXPECT_TRUE(srv->stop().success());
}

}  // namespace
}  // namespace sipsd::test
