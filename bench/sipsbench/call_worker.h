// CallWorker: one thread's share of call mode — some caller connections (UAC) and some callee
// endpoints (UAS) on one event loop. Calls from its callers go to every callee of the run, in
// turn, through the proxy; the callees answer whatever reaches them.
//
//   setup:  callers connect; callees listen (bound in init_call()) or connect and send an
//           OPTIONS that must be answered 2xx; the coordinator waits for both
//   go:     the coordinator publishes the plan and the callee URIs (CallControl::go); the
//           worker starts calls from plan.start: --concurrent in flight (closed loop) or on a
//           schedule of --rate calls/s (open loop) until plan.measure_to
//   drain:  calls in progress finish (each transaction bounded by --timeout); drained() once
//           none is left or plan.stop has passed
//   stop:   CallControl::stop: every socket is closed and the loop ends
//
// A call (UAC): INVITE (UDP: retransmitted at T1, 2T1, ... until a response) -> 1xx -> 2xx ->
// ACK along the route set of the 2xx -> --hold -> BYE (UDP: retransmitted, capped at T2) -> 2xx.
// With --caller-auth the first INVITE's 401/407 is ACKed and the INVITE sent again with
// credentials (CSeq 2, a new branch); the call's --timeout then starts again.
// Its timers live in one min-heap; an entry names the call's slot, the slot's generation and
// the transaction, so a stale entry is recognised and dropped when it comes due.
// call_worker.cc holds the caller side and the loop, call_worker_uas.cc the callee side.
#pragma once

#include <event2/event.h>

#include <atomic>
#include <deque>
#include <memory>
#include <queue>
#include <string>
#include <unordered_map>
#include <vector>

#include "bench/sipsbench/call_channel.h"
#include "bench/sipsbench/call_messages.h"
#include "bench/sipsbench/call_stats.h"
#include "bench/sipsbench/loop_worker.h"
#include "core/base/unique_fd.h"
#include "tls_mgm/openssl_ptr.h"

namespace sipsd::bench {

// Coordinator -> workers. plan and callee_uris are written before go is set (release) and read
// by a worker after it sees go (acquire); never written again.
struct CallControl {
  RunPlan plan;
  std::vector<std::string> callee_uris;  // of the callees that are ready
  std::atomic<bool> go{false};
  std::atomic<bool> stop{false};
};

enum class CalleeState : int { kPending = 0, kReady = 1, kFailed = 2 };

class CallWorker : public LoopWorker, private ChannelHandler {
 public:
  // `callers`: this worker's caller connections, globally numbered from `caller_base`;
  // `callees`: the global indices of its callees;
  // `in_flight`: its share of --concurrent; `rate`: its calls/s (0: closed loop).
  CallWorker(const Options& options, int index, int callers, std::vector<int> callees,
             int in_flight, double rate, const RunPlan& outer, const std::atomic<bool>& interrupted,
             const CallControl& control, uint32_t run_id, int caller_base);
  ~CallWorker() override;

  // Main thread, before run(): the callees' server TLS context and, in listen mode, their
  // listening sockets (an error here stops the run before it starts).
  Status init_call();

  // Read by the coordinator at any time.
  int callers_ready() const { return callers_ready_.load(std::memory_order_relaxed); }
  size_t callee_count() const { return callees_.size(); }
  // kReady publishes callee_uri(i) (acquire).
  CalleeState callee_state(size_t i) const {
    return static_cast<CalleeState>(callee_states_[i].load(std::memory_order_acquire));
  }
  const std::string& callee_uri(size_t i) const { return callees_[i]->uri; }
  const std::string& callee_error(size_t i) const { return callees_[i]->error; }
  bool drained() const { return drained_.load(std::memory_order_acquire); }
  uint64_t live_completed() const { return live_completed_.load(std::memory_order_relaxed); }
  uint64_t live_failed() const { return live_failed_.load(std::memory_order_relaxed); }
  // Complete once the thread has ended.
  const CallStats& call_stats() const { return cs_; }

 private:
  // kInvitingAuth: the INVITE with credentials, after a challenge (--caller-auth).
  enum class CallState : uint8_t { kFree, kInviting, kInvitingAuth, kConfirmed, kByeing };
  enum class Outcome : uint8_t {
    kCompleted,
    kInviteTimeout,
    kByeTimeout,
    kNon2xx,
    kTransport,
    kProtocol
  };
  enum class TimerKind : uint8_t { kRetransmit, kTimeout, kHoldEnd };

  struct Call {
    uint32_t gen = 1;
    CallState state = CallState::kFree;
    bool measured = false;
    bool provisional = false;  // the current transaction had a 1xx
    uint16_t conn = 0;
    int64_t started = 0;  // INVITE first sent
    int64_t tx_sent = 0;  // the current transaction's first send
    int64_t retx_interval = 0;
    CallerDialog d;
    std::string request;  // UDP: the INVITE or BYE, for retransmission
  };

  struct Timer {
    int64_t due;
    uint32_t slot;
    uint32_t gen;
    TimerKind kind;
    CallState state;  // the call's state when armed: stale once it changed
    bool operator>(const Timer& o) const { return due > o.due; }
  };

  struct CallerConn {
    std::unique_ptr<SipChannel> ch;
    CallerEnd end;
    int64_t deadline = 0;  // connect + handshake by then
    int64_t retry_at = 0;  // when broken: reconnect at
    bool ready = false;
    uint32_t calls = 0;  // in progress on it
    std::string ha1;     // --caller-auth: of its subscriber (end.user)
  };

  struct Callee {
    int global = 0;
    std::string user;
    std::string uri;      // what callers put in the R-URI
    std::string contact;  // "Contact: <uri>\r\n"
    std::string error;    // why it failed (connect mode)
    UniqueFd listen_fd;   // listen mode over TCP/TLS
    EventPtr accept_ev;
    std::unique_ptr<SipChannel> channel;  // UDP socket, or the connection (connect mode)
    std::vector<std::unique_ptr<SipChannel>> accepted;
    // Connect mode: the OPTIONS that announces it.
    std::string options;
    std::string options_call_id;
    int64_t options_deadline = 0;
    int64_t options_retx_at = 0;
    bool answered = false;
    // Register mode: the REGISTER in c.options, its CSeq, whether it carried credentials.
    std::string ha1;
    uint32_t reg_cseq = 0;
    bool reg_credentials = false;
  };

  enum class DialogState : uint8_t { kAnswered, kConfirmed, kTerminated };
  struct CalleeDialog {
    DialogState state = DialogState::kAnswered;
    int callee = 0;
    int64_t answered_at = 0;
    std::string ok;  // UDP: the 200, retransmitted until the ACK
    sockaddr_in peer{};
  };
  struct CalleeRetx {
    int64_t due;
    int64_t interval;
    std::string call_id;
    bool operator>(const CalleeRetx& o) const { return due > o.due; }
  };

  // LoopWorker
  void start() override;
  void on_tick(int64_t now) override;
  bool precise_timer() const override { return true; }

  // ChannelHandler
  void channel_open(SipChannel& ch) override;
  void channel_message(SipChannel& ch, sip::Message& msg, const sockaddr_in& from) override;
  void channel_error(SipChannel& ch, const std::string& why) override;
  void channel_broken(SipChannel& ch, const std::string& why) override;

  // Callers.
  void open_caller(size_t i, int64_t now);
  void caller_broken(size_t i, const std::string& why);
  void begin_load(int64_t now);
  bool sending(int64_t now) const;
  void fill(int64_t now);
  static void pace_cb(evutil_socket_t, short, void* arg);
  void pace(int64_t now);
  bool start_call(int64_t now);
  size_t next_ready_conn();
  void caller_response(SipChannel& ch, sip::Message& msg);
  void invite_response(uint32_t slot, Call& c, sip::Message& msg, int64_t now);
  // --caller-auth: the INVITE again with credentials for the challenge in `challenge`.
  void reinvite_with_credentials(uint32_t slot, Call& c, const sip::Message& challenge,
                                 int64_t now);
  void bye_response(uint32_t slot, Call& c, sip::Message& msg, int64_t now);
  void send_bye(uint32_t slot, Call& c, int64_t now);
  // Sends on the call's connection; false (the call failed, kTransport) when it could not.
  bool send_for(uint32_t slot, Call& c, const std::string& text);
  void end_call(uint32_t slot, Call& c, Outcome outcome, const std::string& why);
  bool decode_call_id(std::string_view call_id, uint32_t* slot) const;
  void answer_stray_request(SipChannel& ch, sip::Message& msg, const sockaddr_in& from);

  // Call timers.
  void push_timer(const Timer& t);
  void arm_timer(int64_t now);
  static void timer_cb(evutil_socket_t, short, void* arg);
  void run_timers(int64_t now);
  void timer_due(const Timer& t, int64_t now);

  // Callees.
  Status listen_callee(Callee& c, size_t i);
  void connect_callee(Callee& c, size_t i, int64_t now);
  void send_callee_options(Callee& c, int64_t now);
  // Register mode: the callee's REGISTER, with an Authorization answering `challenge` when not
  // null.
  void send_callee_register(Callee& c, int64_t now, const sip::Message* challenge);
  // A response to the callee's OPTIONS or REGISTER.
  void callee_announce_response(SipChannel& ch, Callee& c, sip::Message& msg);
  void callee_ready(size_t i);
  void callee_failed(size_t i, const std::string& why);
  static void accept_cb(evutil_socket_t fd, short, void* arg);
  void accept_all(size_t i);
  void callee_message(SipChannel& ch, Callee& c, sip::Message& msg, const sockaddr_in& from);
  void callee_invite(SipChannel& ch, Callee& c, sip::Message& msg, const sockaddr_in& from);
  void callee_retransmit(int64_t now);
  Callee& callee_of(const SipChannel& ch) {
    return *callees_[static_cast<size_t>(-ch.owner_index() - 1)];
  }

  // This worker as its channels' handler (a private base: named here, where it is accessible).
  ChannelHandler& handler() { return *this; }
  void note_protocol_error(const std::string& why);
  void shutdown();
  void publish_live();

  const CallControl& control_;
  const uint32_t run_id_;
  const int caller_base_;
  const int in_flight_;
  const double rate_;
  const int64_t t1_;
  const int64_t t2_;
  const int64_t hold_;
  SslCtxPtr server_ctx_;
  RunPlan run_{};  // the coordinator's plan, from go on
  bool loaded_ = false;
  const std::vector<std::string>* uris_ = nullptr;
  size_t next_callee_ = 0;
  std::string offer_;   // SDP
  std::string answer_;  // SDP

  std::vector<CallerConn> callers_;
  size_t rr_ = 0;
  std::vector<Call> calls_;
  std::vector<uint32_t> free_;
  uint32_t active_ = 0;
  std::priority_queue<Timer, std::vector<Timer>, std::greater<Timer>> timers_;
  EventPtr timer_ev_;
  int64_t armed_for_ = INT64_MAX;
  EventPtr pacer_;
  uint64_t issued_ = 0;
  uint64_t total_ = 0;

  std::vector<std::unique_ptr<Callee>> callees_;
  std::unique_ptr<std::atomic<int>[]> callee_states_;
  std::unordered_map<std::string, CalleeDialog> dialogs_;
  std::priority_queue<CalleeRetx, std::vector<CalleeRetx>, std::greater<CalleeRetx>> callee_retx_;
  std::deque<std::pair<int64_t, std::string>> linger_;  // UDP: terminated dialogs kept until
  uint64_t tag_counter_ = 0;
  uint64_t cnonce_counter_ = 0;

  CallStats cs_;
  std::atomic<int> callers_ready_{0};
  std::atomic<bool> drained_{false};
  std::atomic<uint64_t> live_completed_{0};
  std::atomic<uint64_t> live_failed_{0};
  std::string scratch_;
};

}  // namespace sipsd::bench
