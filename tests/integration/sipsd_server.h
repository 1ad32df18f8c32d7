// SipsdServer: the real sipsd binary, started for one test on 127.0.0.1 with ephemeral ports,
// a cfg written from SipsdOptions and the test certificates; stopped (and checked) at the end.
//
//   auto srv = SipsdServer::start({.workers = 2});
//   ASSERT_TRUE(srv.ok()) << srv.message();
//   auto c = SipTestClient::connect_tls("127.0.0.1", (*srv)->tls_port(), ...);
//
// Every server loads mi_fifo with its FIFO in the server's own temporary directory; counters,
// processes and connections come from the management interface (SipsdServer::stats()), as an
// operator would read them.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/result.h"
#include "core/ctl/mi_client.h"
#include "core/mi/json.h"
#include "tests/integration/sip_test_client.h"
#include "tests/integration/subprocess.h"
#include "tests/integration/test_env.h"

namespace sipsd::test {

struct SipsdOptions {
  int workers = 2;
  bool tls = true;
  bool tcp = true;
  bool udp = false;     // a udp listener too (proto_udp)
  int udp_workers = 2;  // with udp
  int log_level = 3;
  // Extra global lines ("tcp_connection_lifetime=2") and modparam lines, added as given.
  std::vector<std::string> globals;
  std::vector<std::string> modparams;
  // tls_mgm lines for the "default" server domain; empty: the test certificates, no client
  // certificate requested.
  std::vector<std::string> tls_domain;
  // The route script; empty: OPTIONS -> 200, ACK -> nothing, anything else -> 501.
  std::string route;
};

// One row of MI list_tcp_conns.
struct MiConnection {
  int64_t id = 0;
  std::string type;    // "tls", "tcp"
  std::string remote;  // "127.0.0.1:40312"
  int worker = 0;      // process index of the owner (1..N)
  bool outbound = false;
};

// The server as the management interface shows it at one moment: MI get_statistics ["all"],
// ps and list_tcp_conns.
struct ServerStats {
  std::map<std::string, uint64_t> values;  // "core:rcv_requests" -> value (summed by sipsd)
  std::vector<pid_t> pids;                 // by process index (0 = supervisor); 0 = empty slot
  std::vector<MiConnection> connections;

  // A statistic by its full name; a name the server does not report fails the test (and reads
  // 0), so a misspelt name cannot pass as "nothing counted".
  uint64_t get(const std::string& name) const;
  // tcp:conns_open + tls:conns_open.
  uint64_t open() const { return get("tcp:conns_open") + get("tls:conns_open"); }
  // Worker pids by worker (index 0 = process 1); 0 while a slot is being respawned.
  std::vector<pid_t> worker_pids() const;
  // Connections owned by the worker with process index `proc`.
  size_t connections_of(int proc) const;
};

// SipsdOptions::tls_domain for the "default" server domain with these certificate and key
// files, no client certificate asked for.
std::vector<std::string> default_domain_with(const std::string& cert, const std::string& key);

// Certificate and key files of the "default" domain that a reload test replaces: they start as
// the ECDSA test certificate; install() copies other test files (test_cert names) over them.
class ReloadableCertFiles {
 public:
  ReloadableCertFiles();
  void install(std::string_view cert_name, std::string_view key_name);
  void install_key(std::string_view key_name);
  std::vector<std::string> tls_domain() const { return default_domain_with(cert_, key_); }

 private:
  TempDir dir_;
  std::string cert_;
  std::string key_;
};

// TLS options for a client of SipsdServer: verify the server against the test CA.
TlsClientOptions default_tls_options();
// Sends an OPTIONS on c and returns the reply's status, or -1 (send failed, no reply in time).
int options_status(SipTestClient& c,
                   std::chrono::milliseconds timeout = std::chrono::milliseconds(5000));
// Sends the request `spec` describes on `c` and returns its final reply's status, skipping
// provisional replies; -1 when none came within `timeout` per reply.
int final_status(SipTestClient& c, const SipRequestSpec& spec,
                 std::chrono::milliseconds timeout = std::chrono::milliseconds(5000));

class SipsdServer {
 public:
  static Result<std::unique_ptr<SipsdServer>> start(
      const SipsdOptions& options,
      std::chrono::milliseconds timeout = std::chrono::milliseconds(15000));
  // With a cfg of the test's own: make_cfg(dir) gets the server's temporary directory (put the
  // MI FIFO there: fifo_name dir + "/mi_fifo", reply_dir dir + "/") and returns the cfg text.
  // `extra_args`: more sipsd options after "-f CFG" (e.g. "-E" for a cfg that logs to syslog only).
  static Result<std::unique_ptr<SipsdServer>> start_cfg(
      const std::function<std::string(const std::string&)>& make_cfg,
      std::chrono::milliseconds timeout = std::chrono::milliseconds(15000),
      const std::vector<std::string>& extra_args = {});
  ~SipsdServer();

  uint16_t tls_port() const { return tls_port_; }
  uint16_t tcp_port() const { return tcp_port_; }
  uint16_t udp_port() const { return udp_port_; }
  pid_t pid() const { return child_->pid(); }
  const std::string& cfg_path() const { return cfg_path_; }
  const std::string& dir() const { return dir_->path(); }
  std::string log() const { return child_->err(); }
  Child& child() { return *child_; }

  // Waits for a log line containing `needle` (anywhere in the log so far or to come).
  bool wait_for_log(const std::string& needle,
                    std::chrono::milliseconds timeout = std::chrono::milliseconds(5000));
  // Statistics, processes and connections, read over MI.
  Result<ServerStats> stats();
  // Polls stats() until pred holds or the timeout passes; returns the last stats.
  template <class Pred>
  Result<ServerStats> stats_until(
      Pred pred, std::chrono::milliseconds timeout = std::chrono::milliseconds(5000));

  // The management FIFO: where it is, and one JSON-RPC call over it that returns the whole
  // response (with "result" or "error").
  MiClientOptions mi_options() const;
  Result<Json> mi(const std::string& method, const Json& params = Json());
  // The "result" of a call; an Error with the server's error text when it answered an error.
  Result<Json> mi_result(const std::string& method, const Json& params = Json());

  // SIGTERM and wait; the exit status. Afterwards the process group must be empty.
  ExitStatus stop(std::chrono::milliseconds grace = std::chrono::milliseconds(8000));

  // The cfg text SipsdOptions produce (for tests that only check it). `mi_dir`: where the MI
  // FIFO and its replies live; empty: no mi_fifo (start() always gives its own directory).
  static std::string render_cfg(const SipsdOptions& options, const std::string& certs_dir,
                                const std::string& mi_dir = "");

 private:
  SipsdServer() = default;

  std::unique_ptr<TempDir> dir_;
  std::string cfg_path_;
  std::unique_ptr<Child> child_;
  uint16_t tls_port_ = 0;
  uint16_t tcp_port_ = 0;
  uint16_t udp_port_ = 0;
};

// New handshakes until one presents a certificate whose key has `key_type` (EVP_PKEY_RSA, …):
// workers take a new TLS generation from their channel a moment after it is published. False
// when none did within about a second.
bool eventually_serves_key_type(const SipsdServer& srv, int key_type);

template <class Pred>
Result<ServerStats> SipsdServer::stats_until(Pred pred, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    Result<ServerStats> s = stats();
    if (!s.ok() || pred(*s) || std::chrono::steady_clock::now() >= deadline) return s;
    struct timespec ts = {0, 50 * 1000 * 1000};
    nanosleep(&ts, nullptr);
  }
}

}  // namespace sipsd::test
