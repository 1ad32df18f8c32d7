// RegisterWorker: one thread's share of register mode — some connections to the registrar and
// the subscribers whose index is this worker's modulo --workers, on one event loop.
//
// A registration: REGISTER (no credentials, or with the user's last nonce and the next
// nonce-count when --nonce-reuse is on and the user has one) -> 401 -> REGISTER with
// Authorization (Digest MD5, qop=auth when offered) -> 200. It is counted in the period in which
// its 200 (or its failure) arrives; its latency runs from the first REGISTER sent to the 200.
// A subscriber has at most one registration in progress; its Call-ID stays the same across its
// registrations and its CSeq grows (RFC 3261 §10.2). UDP requests are retransmitted at T1,
// 2T1, ... (capped at 8 T1) until a response. Deadlines are checked on the loop's tick.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "bench/sipsbench/call_channel.h"
#include "bench/sipsbench/digest_client.h"
#include "bench/sipsbench/latency_histogram.h"
#include "bench/sipsbench/loop_worker.h"

namespace sipsd::bench {

struct RegisterStats {
  uint64_t attempted = 0;         // registrations started (whole run)
  uint64_t completed = 0;         // 200 received in the measured period
  uint64_t failed_timeout = 0;    // measured period, by reason
  uint64_t failed_auth = 0;       // 401/407 again after fresh credentials
  uint64_t failed_non2xx = 0;     // another final status
  uint64_t failed_transport = 0;  // the connection broke / a send failed
  uint64_t unfinished = 0;        // still in progress when the run stopped
  uint64_t skipped = 0;           // --rate: due while --concurrent were in progress
  std::map<int, uint64_t> failed_codes;
  std::string first_failure;
  uint64_t completed_total = 0;
  uint64_t requests_sent = 0;         // REGISTERs (retransmissions not counted)
  uint64_t retransmits = 0;           // UDP
  uint64_t challenges = 0;            // 401/407 received
  uint64_t with_credentials = 0;      // REGISTERs sent with Authorization
  uint64_t nonce_reused = 0;          // registrations that started with a cached nonce
  uint64_t nonce_reuse_accepted = 0;  // ... and got their 200 without a new challenge
  uint64_t stale = 0;                 // challenges with stale=true
  uint64_t stray = 0;                 // responses to no registration in progress
  uint64_t bad_messages = 0;
  uint64_t connection_errors = 0;
  std::string first_error;
  LatencyHistogram latency;  // first REGISTER sent -> 200

  uint64_t failed() const {
    return failed_timeout + failed_auth + failed_non2xx + failed_transport;
  }
  void merge(const RegisterStats& o);
};

class RegisterWorker : public LoopWorker, private ChannelHandler {
 public:
  // `users`: this worker's subscriber indices; `in_flight`: its share of --concurrent;
  // `rate`: its registrations/s (0: closed loop).
  RegisterWorker(const Options& options, int index, int conns, std::vector<int> users,
                 int in_flight, double rate, const RunPlan& plan,
                 const std::atomic<bool>& interrupted, uint32_t run_id);
  ~RegisterWorker() override;

  int conns_ready() const { return conns_ready_.load(std::memory_order_relaxed); }
  uint64_t live_completed() const { return live_completed_.load(std::memory_order_relaxed); }
  uint64_t live_failed() const { return live_failed_.load(std::memory_order_relaxed); }
  // Complete once the thread has ended.
  const RegisterStats& register_stats() const { return rs_; }

 private:
  enum class Outcome : uint8_t { kCompleted, kTimeout, kAuth, kNon2xx, kTransport };

  struct User {
    int global = 0;
    std::string name;  // alice17
    std::string ha1;
    std::string call_id;
    std::string from_tag;
    uint32_t cseq = 0;
    DigestChallenge chal;  // the last challenge (an empty nonce: none)
    uint32_t nc = 0;
    // The registration in progress.
    bool busy = false;
    bool reused = false;        // it started with a cached nonce
    int auth_sent = 0;          // REGISTERs with fresh credentials sent
    bool cred_on_last = false;  // the last REGISTER carried credentials
    int64_t started = 0;
    int64_t deadline = 0;
    int64_t retx_at = 0;
    int64_t retx_interval = 0;
    std::string request;  // UDP: for retransmission
  };

  struct Conn {
    std::unique_ptr<SipChannel> ch;
    bool ready = false;
    std::string contact_host;  // ip:port;transport=x
    std::string via_host;
  };

  void start() override;
  void on_tick(int64_t now) override;

  void channel_open(SipChannel& ch) override;
  void channel_message(SipChannel& ch, sip::Message& msg, const sockaddr_in& from) override;
  void channel_error(SipChannel& ch, const std::string& why) override;
  void channel_broken(SipChannel& ch, const std::string& why) override;

  void open_conn(size_t i);
  void fill(int64_t now);
  bool start_registration(int64_t now);
  void send_register(User& u, bool credentials, int64_t now);
  void response(User& u, sip::Message& msg, int64_t now);
  void end(User& u, Outcome outcome, const std::string& why, int64_t now);
  Conn& conn_of(const User& u) {
    return links_[static_cast<size_t>(u.global / stride_) % links_.size()];
  }

  const uint32_t run_id_;
  const int in_flight_;
  const double rate_;
  const int stride_;  // --workers
  const int64_t t1_;
  std::vector<Conn> links_;
  std::vector<User> users_;
  size_t next_user_ = 0;
  int active_ = 0;
  bool loading_ = false;
  int64_t load_start_ = 0;
  uint64_t issued_ = 0;
  uint64_t cnonce_counter_ = 0;
  RegisterStats rs_;
  std::string scratch_;
  std::atomic<int> conns_ready_{0};
  std::atomic<uint64_t> live_completed_{0};
  std::atomic<uint64_t> live_failed_{0};
};

}  // namespace sipsd::bench
