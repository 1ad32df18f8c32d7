// baresip (Debian's baresip-core, 1.0.0) as a test phone: a real SIP user agent none of us
// wrote, speaking TLS itself. One BaresipPhone is one baresip process with its own config
// directory in a temporary directory, bound to one loopback address, no audio hardware (the
// ausine source, the aubridge player, opus), its SIP trace (-s) on stdout, and driven over its
// ctrl_tcp command interface (netstring-framed JSON on a loopback port): commands ("uanew",
// "dial", "accept", "hangup") and the events it reports (REGISTER_OK, CALL_INCOMING,
// CALL_ESTABLISHED, CALL_CLOSED, ...).
//
//   auto phone = BaresipPhone::start({.name = "alice", .ca_file = ca});
//   ASSERT_TRUE(phone.ok()) << phone.message();
//   (*phone)->command("uanew", baresip_account({...}));
//   auto ok = (*phone)->wait_event("REGISTER_OK");
//
// Every wait is bounded; the destructor stops the process (SIGTERM, then SIGKILL).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/base/result.h"
#include "core/base/unique_fd.h"
#include "core/mi/json.h"
#include "tests/integration/subprocess.h"
#include "tests/integration/test_env.h"

namespace sipsd::test {

// The baresip binary ("baresip" on PATH, else /usr/bin/baresip); empty when not installed.
std::string baresip_binary();

struct BaresipOptions {
  std::string name = "phone";          // for messages and the config directory's name
  std::string local_ip = "127.0.0.1";  // SIP, RTP and the ctrl_tcp port are bound here
  std::string ca_file;                 // sip_cafile: the CA the phone's TLS trusts
};

// One account line for "uanew" (baresip's accounts-file syntax): user@domain over TLS, with the
// password for digest authentication and the home server as outbound proxy; calls are answered
// only on "accept" (answermode=manual); re-registration far beyond any test.
struct BaresipAccount {
  std::string user;
  std::string domain;
  std::string password;
  std::string proxy_host;  // the server's address for phones
  uint16_t proxy_port = 0;
};
std::string baresip_account(const BaresipAccount& a);

// One SIP message of baresip's trace (-s): the transport line ("TLS 127.0.0.1:4711 ->
// 127.0.0.1:5061") and the message.
struct BaresipTraceMessage {
  std::string transport;  // "TLS", "TCP", "UDP"
  std::string source;     // "127.0.0.1:4711"
  std::string destination;
  std::string text;  // start line, headers, body

  std::string start_line() const;
  bool is_request(const std::string& method) const;  // "INVITE sip:..."
  bool is_reply(int status) const;                   // "SIP/2.0 407 ..."
  std::optional<std::string> cseq_method() const;    // "INVITE" from "CSeq: 2 INVITE"
  // The value of the first header of that name (case-insensitive, no compact forms).
  std::optional<std::string> header(const std::string& name) const;
  // Every value of every header of that name, in order.
  std::vector<std::string> header_values(const std::string& name) const;
};

// Parses baresip's SIP trace out of its standard output.
std::vector<BaresipTraceMessage> parse_baresip_trace(const std::string& out);

class BaresipPhone {
 public:
  static Result<std::unique_ptr<BaresipPhone>> start(
      const BaresipOptions& options,
      std::chrono::milliseconds timeout = std::chrono::milliseconds(5000));
  ~BaresipPhone();
  BaresipPhone(const BaresipPhone&) = delete;
  BaresipPhone& operator=(const BaresipPhone&) = delete;

  // Sends a ctrl_tcp command and waits for its response; its "data" when "ok" is true, else an
  // Error with the data. Events that arrive meanwhile are kept for wait_event.
  Result<std::string> command(const std::string& command, const std::string& params = "",
                              std::chrono::milliseconds timeout = std::chrono::milliseconds(5000));
  // The first event of `type` not returned before (in arrival order), waiting for it if none
  // has arrived yet. An Error on timeout names the events seen.
  Result<Json> wait_event(const std::string& type,
                          std::chrono::milliseconds timeout = std::chrono::milliseconds(5000));
  // Every event so far ("REGISTERING REGISTER_OK ..."), for failure messages.
  std::string event_types() const;

  // The SIP messages baresip sent or received so far.
  std::vector<BaresipTraceMessage> trace() const;
  // The messages it received from `peer` ("127.0.0.1:5061").
  std::vector<BaresipTraceMessage> received_from(const std::string& peer) const;
  // Waits until a message from `peer` matching `pred` is in the trace (the trace reaches us
  // through baresip's stdout, a moment after the event that it caused).
  std::optional<BaresipTraceMessage> wait_received(
      const std::string& peer, const std::function<bool(const BaresipTraceMessage&)>& pred,
      std::chrono::milliseconds timeout = std::chrono::milliseconds(3000)) const;

  // For failure messages: the process, its recent output, the events.
  std::string describe() const;
  // SIGTERM (baresip unregisters), then SIGKILL after `grace`.
  void stop(std::chrono::milliseconds grace = std::chrono::milliseconds(1500));

 private:
  BaresipPhone() = default;
  Status connect_ctrl(std::chrono::steady_clock::time_point deadline);
  // Reads whatever arrives until `deadline` or until one message is complete; queues events and
  // responses. False on timeout or a closed/broken connection (then `error_` says why).
  bool read_some(std::chrono::steady_clock::time_point deadline);
  void take_messages();

  std::string name_;
  std::string local_ip_;
  int next_token_ = 0;
  std::unique_ptr<TempDir> dir_;
  std::unique_ptr<Child> child_;
  uint16_t ctrl_port_ = 0;
  UniqueFd ctrl_;
  std::string inbuf_;
  std::vector<Json> events_;
  std::vector<bool> event_taken_;
  std::vector<Json> responses_;
  std::string error_;
};

}  // namespace sipsd::test
