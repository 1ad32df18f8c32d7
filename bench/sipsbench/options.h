// sipsbench's command line: what to run, against which loopback target, for how long.
#pragma once

#include <netinet/in.h>
#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "core/base/result.h"

namespace sipsd::bench {

enum class Mode { kThroughput, kHandshake, kIdle, kRamp, kCall, kStorm, kRegister };
enum class Transport { kTls, kTcp, kUdp };  // kUdp: call and register modes only
// Call mode: how the proxy reaches the callees (kRegister: they connect and REGISTER with
// digest auth; the proxy finds them with lookup("location")).
enum class CalleeMode { kListen, kConnect, kRegister };

const char* mode_name(Mode m);
const char* transport_name(Transport t);     // "tls", "tcp", "udp"
const char* transport_via(Transport t);      // "TLS", "TCP", "UDP" (Via and transport= parameter)
const char* callee_mode_name(CalleeMode m);  // "listen", "connect", "register"

struct Target {
  Transport transport = Transport::kTls;
  sockaddr_in addr{};  // always a 127.0.0.0/8 address
  std::string ip;      // dotted quad, as given
  uint16_t port = 0;
  std::string text() const;  // "tls:127.0.0.1:5061"
};

// Call mode: what the calls are and how they arrive.
struct CallOptions {
  int callees = 4;  // callee endpoints (UAS)
  CalleeMode callee_mode = CalleeMode::kListen;
  std::string listen_ip = "127.0.0.1";  // listen mode: callee i listens on listen_ip ...
  uint16_t listen_port = 0;             // ... port listen_port + i (0: one the kernel picks)
  double rate = 0;     // calls/s offered (open loop); 0: closed loop, --concurrent in flight
  int concurrent = 0;  // closed loop: calls in flight; open loop: the cap on them
  double hold_ms = 0;  // between the ACK and the BYE
  double t1_ms = 500;  // UDP retransmission base (RFC 3261 T1); T2 is 8 x T1
  // Every INVITE is sent without credentials first; its 401/407 is ACKed and the INVITE sent
  // again (CSeq 2) with (Proxy-)Authorization as the caller's subscriber.
  bool caller_auth = false;
};

// Register mode: who registers where (--rate, --concurrent, --transport and --t1 are shared
// with call mode, in CallOptions).
struct RegisterOptions {
  int users = 100;  // subscribers PREFIX0 .. PREFIX(users-1)
  std::string user_prefix = "alice";
  std::string domain = "example.com";  // the AOR's domain, R-URI and digest realm expected
  std::string password = "pw{i}";      // "{i}" becomes the subscriber's index
  int expires = 3600;
  bool nonce_reuse = true;  // a re-registration reuses the last nonce with the next nc
  // The first subscriber index used by call mode (callees PREFIX(first_user + i), then the
  // callers) and idle mode with --register (connection i registers PREFIX(first_user + i)).
  int first_user = 0;
};

struct Options {
  Mode mode = Mode::kThroughput;
  Target target;
  // TLS
  std::string ca_file;    // empty: the server certificate is not verified
  std::string sni;        // server name sent and verified; empty: none sent, the IP is verified
  std::string cert_file;  // client certificate (with key_file)
  std::string key_file;
  int tls_version = 0;  // 0: 1.2 or 1.3 as negotiated; else TLS1_2_VERSION / TLS1_3_VERSION
  bool resume = false;  // handshake mode: resume the previous connection's session
  // Load
  int conns = 4;     // connections (throughput, ramp) or attempts at a time (handshake, idle)
  int inflight = 1;  // throughput: requests outstanding per connection; ramp: the cap on them
  std::string method = "OPTIONS";
  int body_size = 0;  // MESSAGE body bytes
  int workers = 1;    // client threads, each with its own event loop
  // Time (seconds)
  double duration = 10;
  double warmup = 2;
  double timeout = 5;  // per request (throughput) or per connection (handshake)
  // Idle mode
  int connections = 1000;      // connections to open and hold
  int sources = 0;             // source addresses 127.0.0.2, .3, ...; 0: one per 20000 connections
  double ping_interval = 10;   // CRLFCRLF keep-alive period per connection (s)
  int check = 20;              // connections asked for an OPTIONS at the end
  int first_source = 2;        // --sources start at 127.0.0.first_source
  double connect_limit = 120;  // idle: the connect phase ends after this many seconds
  bool idle_register = false;  // each connection REGISTERs one subscriber (digest) first
  // Storm mode (also --connections, --sources, --conns: handshakes at a time while setting up)
  int procs = 0;  // client processes the connections are spread over; 0: one per 10000
  // Ramp mode
  double rate_start = 1000;  // req/s offered in the first step
  double rate_factor = 2;    // each step offers rate x factor ...
  double rate_add = 0;       // ... or rate + add (when > 0)
  double rate_max = 1000000;
  double step_duration = 5;  // seconds per step
  double p99_cap_ms = 100;   // a step whose p99 exceeds this did not keep up
  // Call mode (--cert/--key are then the listening callees' server certificate)
  CallOptions call;
  RegisterOptions reg;
  // Reporting
  pid_t server_pid = 0;  // 0: no server CPU accounting
  std::string json_file;
  bool quiet = false;  // no progress lines even on a terminal
};

// Limits that keep a run bounded.
inline constexpr int kMaxConns = 100000;
inline constexpr int kMaxInflight = 4096;
inline constexpr int kMaxWorkers = 64;
inline constexpr int kMaxBodySize = 60000;
inline constexpr int kMaxOutstanding = 1 << 20;     // conns x inflight
inline constexpr int kMaxInflightBytes = 16 << 20;  // inflight x request size, per connection
inline constexpr double kMaxDuration = 3600;
inline constexpr double kMaxTimeout = 60;
inline constexpr int kMaxSources = 250;              // 127.0.0.2 .. 127.0.0.251
inline constexpr int kConnectionsPerSource = 20000;  // idle: default --sources
inline constexpr int kMaxSteps = 64;                 // ramp
inline constexpr double kMaxRate = 10000000;         // ramp: req/s
inline constexpr int kIdleDefaultConns = 64;
inline constexpr int kMaxStormProcs = 64;
inline constexpr int kStormDefaultConns = 256;    // storm: handshakes in progress per process
inline constexpr int kStormConnsPerProc = 10000;  // storm: default --procs
inline constexpr int kStormMaxConnsPerProc =
    19000;  // under 20,000 descriptors per process         // idle: handshakes at a time
inline constexpr int kRampDefaultInflight = 1024;  // ramp: outstanding cap per connection
inline constexpr int kMaxCallees = 10000;          // call mode
inline constexpr int kMaxCallsInFlight = 200000;   // call mode: --concurrent
inline constexpr int kCallDefaultConcurrent = 16;  // call mode, closed loop
inline constexpr int kCallDefaultCap = 10000;      // call mode, open loop: in-flight cap
inline constexpr double kMaxHoldMs = 600000;       // call mode: --hold
inline constexpr int kMaxUsers = 1000000;          // register mode: --users

// Parses argv. An error names the offending argument. `*help` is set for -h/--help (then the
// returned Options are meaningless).
Result<Options> parse_options(int argc, char** argv, bool* help);
std::string usage();

// Ramp mode: the offered rate of every step, --rate-start up to --rate-max (at most kMaxSteps).
std::vector<double> ramp_rates(const Options& options);

}  // namespace sipsd::bench
