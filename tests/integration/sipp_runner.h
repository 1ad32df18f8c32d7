// sipp (Debian's sip-tester) as a test phone: one run of a scenario of tests/integration/sipp/,
// bound to 127.0.0.1, logging into a test directory, every wait bounded; what it counted; what
// it received; and stunnel4 in front of it for TLS (Debian's sipp has none).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/base/result.h"
#include "tests/integration/sip_test_client.h"
#include "tests/integration/sipsd_server.h"
#include "tests/integration/subprocess.h"
#include "tests/integration/test_env.h"

namespace sipsd::test {

// What sipp counted, from the last line of its -trace_stat file (written when it exits).
struct SippCounts {
  uint64_t successful = 0;
  uint64_t failed = 0;
  uint64_t created = 0;
  uint64_t retransmissions = 0;
};
std::optional<SippCounts> read_sipp_counts(const std::string& csv, std::string* why);

// Lines of a sipp message trace that are a request line of `method` (sent or received).
size_t count_request_lines(const std::string& trace, const std::string& method);
// The messages a sipp received, parsed, in order, from its -trace_msg file.
std::vector<SipMessage> received_messages(const std::string& trace_file);

// One sipp: a callee in the background (start_uas) or a caller run to completion (run_to_end).
// The files are dir/name.csv, dir/name_messages.log, dir/name_errors.log.
struct Sipp {
  std::string dir;
  std::string name;                         // "uas", "uac", ...
  std::string scenario;                     // file name in tests/integration/sipp/
  std::string transport;                    // "u1" or "t1"
  uint16_t port = 0;                        // local port
  int calls = 1;                            // -m
  std::map<std::string, std::string> keys;  // -key NAME VALUE
  std::vector<std::string> extra;           // more sipp options

  // A free local port and the given role, scenario, transport and number of calls.
  static Sipp make(const TempDir& in, std::string role, std::string xml, std::string t, int calls);

  std::vector<std::string> argv(const std::string& remote) const;
  // Started in the background; returns once it has bound its port.
  Result<Child> start_uas() const;
  // Run against `remote` ("127.0.0.1:PORT") until it exits (at most 40 s).
  RunResult run_to_end(const std::string& remote) const;

  std::string messages() const { return dir + "/" + name + "_messages.log"; }
  std::string errors() const { return read_file(dir + "/" + name + "_errors.log"); }
  std::optional<SippCounts> counts(std::string* why) const {
    return read_sipp_counts(dir + "/" + name + ".csv", why);
  }
};

// Both sides completed every call: the caller's run and the callee's process exited 0, and
// sipp's own counters say uac.calls created and successful, none failed, on both sides.
void expect_all_calls_completed(const Sipp& uac, const RunResult& uac_run, const Sipp& uas,
                                Child& uas_child, SipsdServer& srv);

// stunnel4 in the foreground: a client tunnel (plain accept -> TLS connect, verifying the
// server against the test CA and its IP) or a server tunnel (TLS accept with the test
// certificate -> plain connect). Its configuration is dir/name.conf.
Result<Child> start_stunnel(const std::string& dir, const std::string& name, bool client,
                            uint16_t accept, uint16_t connect);

}  // namespace sipsd::test
