// sipsbench's command line: what to run, against which loopback target, for how long.
#pragma once

#include <netinet/in.h>
#include <sys/types.h>

#include <cstdint>
#include <string>

#include "core/result.h"

namespace sipsd::bench {

enum class Mode { kThroughput, kHandshake };
enum class Transport { kTls, kTcp };

const char* mode_name(Mode m);
const char* transport_name(Transport t);  // "tls", "tcp"
const char* transport_via(Transport t);   // "TLS", "TCP" (Via and transport= parameter)

struct Target {
  Transport transport = Transport::kTls;
  sockaddr_in addr{};  // always a 127.0.0.0/8 address
  std::string ip;      // dotted quad, as given
  uint16_t port = 0;
  std::string text() const;  // "tls:127.0.0.1:5061"
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
  int conns = 4;
  int inflight = 1;  // throughput: requests outstanding per connection
  std::string method = "OPTIONS";
  int body_size = 0;  // MESSAGE body bytes
  int workers = 1;    // client threads, each with its own event loop
  // Time (seconds)
  double duration = 10;
  double warmup = 2;
  double timeout = 5;  // per request (throughput) or per connection (handshake)
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

// Parses argv. An error names the offending argument. `*help` is set for -h/--help (then the
// returned Options are meaningless).
Result<Options> parse_options(int argc, char** argv, bool* help);
std::string usage();

}  // namespace sipsd::bench
