#include "bench/sipsbench/idle_mode.h"

#include <arpa/inet.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <deque>
#include <functional>
#include <memory>
#include <queue>
#include <utility>
#include <vector>

#include "bench/sipsbench/call_messages.h"
#include "bench/sipsbench/cpu_usage.h"
#include "bench/sipsbench/digest_client.h"
#include "bench/sipsbench/loop_stream.h"
#include "bench/sipsbench/loop_worker.h"
#include "bench/sipsbench/reply_parser.h"
#include "bench/sipsbench/report.h"
#include "bench/sipsbench/request_template.h"
#include "bench/sipsbench/runner.h"
#include "core/auth/digest.h"
#include "core/sip/message.h"

namespace sipsd::bench {

namespace {

constexpr int64_t kRetryDelayNs = 100 * 1000 * 1000;
constexpr std::string_view kPing = "\r\n\r\n";
constexpr size_t kMaxCheckReply = 65536;
constexpr double kGoldenFraction = 0.6180339887498949;

// The connection set, driven by one event loop. Holds no state the report needs: it counts
// into the IdleResult it is given.
class IdleWorker : public LoopWorker {
 public:
  // `at_hold_end` takes the "after" samples; it runs once, after the hold and the pong drain,
  // before the check.
  IdleWorker(const Options& options, const RunPlan& plan, const std::atomic<bool>& interrupted,
             IdleResult* result, std::function<void(uint64_t open)> at_hold_end)
      : LoopWorker(options, 0, options.conns, plan, interrupted),
        r_(*result),
        at_hold_end_(std::move(at_hold_end)),
        progress_(!options.quiet && isatty(STDOUT_FILENO)) {}
  ~IdleWorker() override { close_all(); }

 private:
  // kRegistering (--register): handshake done, the REGISTER not answered 2xx yet.
  enum class State : uint8_t { kNew, kConnecting, kRegistering, kRetry, kOpen, kClosed, kFailed };
  enum class Phase : uint8_t { kConnecting, kHolding, kDraining, kChecking, kDone };

  // Only the connections chosen for the check carry one.
  struct Check {
    Check() : framer(client_framer_limits()) {}
    StreamFramer framer;
    std::vector<char> in;
    uint32_t tag = 0;
    bool done = false;
    // --register: the registration in progress on the connection using this reader.
    int64_t reg_started = 0;
    uint32_t reg_cseq = 0;
  };

  struct Conn {
    IdleWorker* owner = nullptr;
    uint32_t index = 0;
    State state = State::kNew;
    int attempts = 0;
    LoopStream stream;
    int64_t started = 0;   // this attempt's start
    int64_t deadline = 0;  // this attempt's end
    int64_t retry_at = 0;
    uint32_t pings_out = 0;   // pings written, pong not yet read
    int64_t oldest_ping = 0;  // when the oldest of those was written
    std::string out;          // bytes not yet written (a ping or the check request)
    std::unique_ptr<Check> check;
  };

  struct Due {
    int64_t at;
    uint32_t index;
    bool operator>(const Due& o) const { return at > o.at; }
  };

  void start() override {
    int64_t now = now_ns();
    // An idle connection keeps no 34 KiB of read and write buffers.
    if (ctx() != nullptr) SSL_CTX_set_mode(ctx(), SSL_MODE_RELEASE_BUFFERS);
    sources_.resize(static_cast<size_t>(options_.sources));
    for (int k = 0; k < options_.sources; ++k) {
      sockaddr_in& a = sources_[static_cast<size_t>(k)];
      a = sockaddr_in{};
      a.sin_family = AF_INET;
      a.sin_addr.s_addr = htonl((127u << 24) | static_cast<uint32_t>(options_.first_source + k));
    }
    conns_list_.resize(static_cast<size_t>(options_.connections));
    for (size_t i = 0; i < conns_list_.size(); ++i) {
      conns_list_[i] = std::make_unique<Conn>();
      conns_list_[i]->owner = this;
      conns_list_[i]->index = static_cast<uint32_t>(i);
    }
    r_.requested = conns_list_.size();
    phase_start_ = now;
    connect_until_ = now + to_ns(options_.connect_limit);
    next_progress_ = now + kSecondNs;
    launch(now);
  }

  // Starts attempts until --conns are in progress: retries first, then new connections.
  void launch(int64_t now) {
    if (phase_ != Phase::kConnecting) return;
    // Bounded: each pass starts an attempt or stops; a start that fails at once still counts.
    while (active_ < options_.conns && !interrupted()) {
      Conn* c = nullptr;
      if (!retry_.empty() && conns_list_[retry_.front()]->retry_at <= now) {
        c = conns_list_[retry_.front()].get();
        retry_.pop_front();
      } else if (next_new_ < conns_list_.size()) {
        c = conns_list_[next_new_++].get();
      } else {
        break;
      }
      begin(*c, now);
    }
  }

  void begin(Conn& c, int64_t now) {
    ++c.attempts;
    c.started = now;
    c.deadline = now + plan_.timeout;
    c.state = State::kConnecting;
    ++active_;
    const sockaddr_in& src = sources_[c.index % sources_.size()];
    Status s = c.stream.open(base(), &IdleWorker::io_cb, &c, options_, ctx(), nullptr, &src);
    if (!s.ok()) attempt_failed(c, &r_.connect_failed, s.message(), now);
  }

  void attempt_failed(Conn& c, uint64_t* counter, const std::string& why, int64_t now) {
    ++*counter;
    r_.note_error(why);
    drop(c);
    --active_;
    if (c.attempts < kIdleMaxAttempts && now < connect_until_) {
      c.state = State::kRetry;
      c.retry_at = now + kRetryDelayNs;
      retry_.push_back(c.index);
    } else {
      c.state = State::kFailed;
      ++r_.failed;
    }
  }

  void drop(Conn& c) {
    c.stream.close();
    c.out.clear();
    outstanding_pings_ -= c.pings_out;
    c.pings_out = 0;
  }

  static void io_cb(evutil_socket_t, short, void* arg) {
    auto* c = static_cast<Conn*>(arg);
    c->owner->on_io(*c);
  }

  void on_io(Conn& c) {
    if (finished()) return;
    int64_t now = now_ns();
    if (c.state == State::kConnecting) {
      Io io = c.stream.connect_step();
      if (io == Io::kAgain) return;
      if (io != Io::kOk) {
        attempt_failed(c, c.stream.handshaking() ? &r_.handshake_failed : &r_.connect_failed,
                       c.stream.error(), now);
        launch(now);
        return;
      }
      r_.handshake.record(static_cast<uint64_t>(now - c.started));
      if (options_.idle_register) {
        begin_register(c, now);
        return;
      }
      established(c, now);
      launch(now);
    }
    if (c.state == State::kRegistering) {
      if (!flush(c)) return;
      read_all(c, now);
      return;
    }
    if (c.state != State::kOpen) return;
    if (!flush(c)) return;
    read_all(c, now);
    if (phase_ == Phase::kChecking && checks_left_ == 0) end_run();
  }

  void established(Conn& c, int64_t now) {
    c.state = State::kOpen;
    --active_;
    ++r_.established;
    ++open_;
    // The first ping at a fraction of the interval that spreads the pings over it evenly.
    double frac = std::fmod(static_cast<double>(c.index) * kGoldenFraction, 1.0);
    pings_.push(
        Due{now + static_cast<int64_t>(frac * static_cast<double>(ping_interval_)), c.index});
  }

  // --register: connection i registers subscriber PREFIX(--first-user + i) from its own address.
  void begin_register(Conn& c, int64_t now) {
    c.state = State::kRegistering;
    c.deadline = now + plan_.timeout;
    c.check = std::make_unique<Check>();
    c.check->reg_started = now;
    send_register(c, nullptr);
  }

  void send_register(Conn& c, const DigestChallenge* ch) {
    const RegisterOptions& r = options_.reg;
    int sub = r.first_user + static_cast<int>(c.index);
    const sockaddr_in& src = sources_[c.index % sources_.size()];
    char ip[INET_ADDRSTRLEN] = "127.0.0.1";
    inet_ntop(AF_INET, &src.sin_addr, ip, sizeof ip);
    CallerEnd end{options_.target.transport, ip, c.stream.local_port(),
                  r.user_prefix + std::to_string(sub), r.domain};
    std::string authorization;
    if (ch != nullptr) {
      std::string ha1 = auth::compute_ha1(auth::Algorithm::kMd5, end.user, r.domain,
                                          expand_index(r.password, sub));
      std::string cnonce = strprintf("%x.%u", run_tag_, c.index);
      authorization = digest_credentials(
          *ch, DigestAnswer{end.user, ha1, "REGISTER", "sip:" + r.domain, 1, cnonce});
    }
    uint32_t cseq = ++c.check->reg_cseq;
    append_register(
        &c.out, end, strprintf("i%x.%u@sipsbench", run_tag_, c.index), strprintf("%x", c.index + 1),
        strprintf("z9hG4bK.i%x.%u.%u", run_tag_, c.index, cseq), cseq, r.expires, authorization);
    flush(c);
  }

  void register_failed(Conn& c, const std::string& why) {
    char where[64];
    snprintf(where, sizeof where, "connection %u: ", c.index);
    ++r_.register_failed;
    r_.note_error(where + why);
    drop(c);
    c.check.reset();
    --active_;
    c.state = State::kFailed;
    ++r_.failed;
  }

  // The registrar's replies to the connection's REGISTER.
  void on_register_bytes(Conn& c, std::string_view data, int64_t now) {
    Check& k = *c.check;
    if (k.in.size() + data.size() > kMaxCheckReply) {
      register_failed(c, "REGISTER reply larger than 64 KiB");
      return;
    }
    k.in.insert(k.in.end(), data.begin(), data.end());
    size_t off = 0;
    for (;;) {
      std::string_view pending(k.in.data() + off, k.in.size() - off);
      Frame f = k.framer.next(pending);
      if (f.kind == FrameKind::kNeedMore) {
        off += f.skip;
        break;
      }
      if (f.kind == FrameKind::kError) {
        register_failed(c, std::string("REGISTER reply: ") + frame_error_text(f.error));
        return;
      }
      off += f.consumed();
      if (f.kind != FrameKind::kMessage) continue;
      std::string text(pending.substr(f.skip, f.length));
      sip::Message msg;
      sip::ParseResult pr = sip::parse_message(text.data(), text.size(), &msg);
      if (pr.status != sip::ParseStatus::kOk || msg.is_request()) {
        register_failed(c, "REGISTER reply: not a SIP response");
        return;
      }
      if (msg.cseq_number() != k.reg_cseq || msg.status_code() < 200) continue;
      int code = msg.status_code();
      if (code < 300) {
        r_.registration.record(static_cast<uint64_t>(now - k.reg_started));
        ++r_.registered;
        c.check.reset();
        established(c, now);
        launch(now);
        return;
      }
      DigestChallenge ch;
      if ((code == 401 || code == 407) && k.reg_cseq == 1 && find_md5_challenge(msg, &ch)) {
        ++r_.register_challenges;
        send_register(c, &ch);
        if (c.state != State::kRegistering) return;  // the send broke the connection
        continue;
      }
      register_failed(c, strprintf("REGISTER answered %d", code));
      return;
    }
    k.in.erase(k.in.begin(), k.in.begin() + static_cast<std::ptrdiff_t>(off));
  }

  // Writes what is queued; false when the connection broke.
  bool flush(Conn& c) {
    size_t off = 0;
    Io io = c.stream.write_from(c.out, &off);
    c.out.erase(0, off);
    if (io == Io::kOk || io == Io::kAgain) return true;
    closed_by_server(c, c.stream.error());
    return false;
  }

  void read_all(Conn& c, int64_t now) {
    // Bounded: every pass reads bytes or returns; the server sends only what we asked for.
    for (;;) {
      size_t n = 0;
      Io io = c.stream.read(scratch_.data(), scratch_.size(), &n);
      if (io == Io::kAgain) return;
      if (io != Io::kOk) {
        closed_by_server(c, c.stream.error());
        return;
      }
      if (c.state == State::kRegistering) {
        on_register_bytes(c, std::string_view(scratch_.data(), n), now);
        if (c.state != State::kRegistering) return;
      } else if (c.check) {
        if (!on_check_bytes(c, std::string_view(scratch_.data(), n))) return;
      } else {
        on_pong_bytes(c, std::string_view(scratch_.data(), n), now);
      }
    }
  }

  // Outside the check a server sends nothing but CRLF pongs: each LF ends one.
  void on_pong_bytes(Conn& c, std::string_view data, int64_t now) {
    for (char ch : data) {
      if (ch == '\r') continue;
      if (ch != '\n') {
        ++r_.unsolicited;
        r_.note_error("unexpected data from the server on an idle connection");
        continue;
      }
      if (c.pings_out == 0) {
        ++r_.unsolicited;
        r_.note_error("a pong with no ping outstanding");
        continue;
      }
      ++r_.pongs_received;
      --c.pings_out;
      --outstanding_pings_;
      r_.pong.record(static_cast<uint64_t>(now - c.oldest_ping));
      c.oldest_ping = now;  // the next outstanding one was written no later than now
    }
  }

  void closed_by_server(Conn& c, const std::string& why) {
    if (c.state == State::kRegistering) {
      register_failed(c, "closed while registering: " + why);
      return;
    }
    char where[64];
    snprintf(where, sizeof where, "connection %u: ", c.index);
    if (c.check && !c.check->done) check_done(c, false, where + why);
    drop(c);
    c.state = State::kClosed;
    ++r_.closed;
    --open_;
    r_.note_error(where + why);
  }

  void send_ping(Conn& c, int64_t now) {
    if (c.pings_out == 0) c.oldest_ping = now;
    ++c.pings_out;
    ++outstanding_pings_;
    ++r_.pings_sent;
    c.out.append(kPing);
    flush(c);
  }

  void on_tick(int64_t now) override {
    if (finished()) return;
    if (interrupted() && phase_ != Phase::kDone) {
      r_.interrupted = true;
      if (phase_ < Phase::kChecking) {
        hold_end(now);
      }
      end_run();
      return;
    }
    switch (phase_) {
      case Phase::kConnecting:
        expire_attempts(now);
        launch(now);
        if (r_.established + r_.failed == r_.requested || now >= connect_until_) {
          give_up_connecting(now);
          phase_ = Phase::kHolding;
          r_.connect_s = static_cast<double>(now - phase_start_) / 1e9;
          phase_start_ = now;
          if (open_ == 0) {  // nothing to hold or check
            hold_end(now);
            end_run();
            return;
          }
        }
        break;
      case Phase::kHolding:
        if (now >= phase_start_ + to_ns(options_.duration)) {
          r_.hold_s = static_cast<double>(now - phase_start_) / 1e9;
          phase_ = Phase::kDraining;
          phase_start_ = now;
        }
        break;
      case Phase::kDraining:
        if (outstanding_pings_ == 0 || now >= phase_start_ + plan_.timeout) {
          hold_end(now);
          start_check(now);
        }
        break;
      case Phase::kChecking:
        if (checks_left_ == 0 || now >= phase_start_ + plan_.timeout) {
          for (auto& c : conns_list_) {
            if (c->check && !c->check->done)
              check_done(*c, false, "no reply to the check OPTIONS within --timeout");
          }
          end_run();
        }
        break;
      case Phase::kDone:
        break;
    }
    if (phase_ == Phase::kConnecting || phase_ == Phase::kHolding) ping_due(now);
    if (progress_ && now >= next_progress_) {
      next_progress_ += kSecondNs;
      static constexpr const char* kNames[] = {"connect", "hold", "drain", "check", "done"};
      print_idle_progress(stdout, static_cast<double>(now - plan_.start) / 1e9,
                          kNames[static_cast<int>(phase_)], r_.established, r_.failed, open_,
                          r_.pings_sent, r_.pongs_received, r_.errors());
    }
  }

  void expire_attempts(int64_t now) {
    for (size_t i = 0; i < next_new_; ++i) {
      Conn& c = *conns_list_[i];
      if (c.state == State::kRegistering && now >= c.deadline) {
        register_failed(c, "no 2xx to the REGISTER within --timeout");
        continue;
      }
      if (c.state != State::kConnecting || now < c.deadline) continue;
      bool tls = c.stream.handshaking();
      attempt_failed(c, tls ? &r_.handshake_failed : &r_.connect_failed,
                     tls ? "TLS handshake timed out" : "connect timed out", now);
    }
  }

  // The connect phase is over: what has not connected yet never will.
  void give_up_connecting(int64_t now) {
    for (auto& cp : conns_list_) {
      Conn& c = *cp;
      if (c.state == State::kRegistering) {
        register_failed(c, "the connect phase ended (--connect-limit) before the registration did");
        continue;
      }
      if (c.state == State::kConnecting) {
        drop(c);
        --active_;
      }
      if (c.state == State::kConnecting || c.state == State::kRetry || c.state == State::kNew) {
        if (c.state == State::kConnecting && now < c.deadline)
          r_.note_error("the connect phase ended (--connect-limit) before the handshake did");
        c.state = State::kFailed;
        ++r_.failed;
      }
    }
    retry_.clear();
  }

  // Writes the pings that are due; each connection's next one is one interval later.
  void ping_due(int64_t now) {
    while (!pings_.empty() && pings_.top().at <= now) {
      Due d = pings_.top();
      pings_.pop();
      Conn& c = *conns_list_[d.index];
      if (c.state != State::kOpen) continue;
      send_ping(c, now);
      // Later than now, so this loop ends; a ping that fell behind keeps its phase otherwise.
      int64_t next = d.at + ping_interval_;
      pings_.push(Due{next > now ? next : now + ping_interval_, d.index});
    }
  }

  void hold_end(int64_t now) {
    if (after_taken_) return;
    after_taken_ = true;
    if (r_.hold_s == 0 && phase_ == Phase::kHolding)
      r_.hold_s = static_cast<double>(now - phase_start_) / 1e9;
    r_.open_at_after = open_;
    at_hold_end_(open_);
  }

  // Sends one OPTIONS on --check open connections spread evenly over the set.
  void start_check(int64_t now) {
    phase_ = Phase::kChecking;
    phase_start_ = now;
    std::vector<Conn*> open;
    for (auto& c : conns_list_) {
      if (c->state == State::kOpen) open.push_back(c.get());
    }
    size_t want = std::min(open.size(), static_cast<size_t>(options_.check));
    if (static_cast<size_t>(options_.check) > open.size()) {
      r_.checked += static_cast<size_t>(options_.check) - open.size();
      if (r_.first_check_error.empty())
        r_.first_check_error =
            strprintf("only %zu connections open for --check %d", open.size(), options_.check);
    }
    std::vector<Conn*> chosen;
    for (size_t i = 0; i < want; ++i) chosen.push_back(open[i * open.size() / want]);
    checks_left_ = chosen.size();
    for (Conn* c : chosen) {
      ++r_.checked;
      c->check = std::make_unique<Check>();
      c->check->tag = conn_tag(c->index);
      RequestTemplate(target_request(options_, "OPTIONS", 0, c->stream.local_port(), c->check->tag))
          .append_to(&c->out, 0, 1);
      flush(*c);
    }
    if (checks_left_ == 0) end_run();
  }

  // False when the connection's check ended (the caller stops reading it).
  bool on_check_bytes(Conn& c, std::string_view data) {
    Check& k = *c.check;
    if (k.done) return true;  // anything after the reply is ignored
    if (k.in.size() + data.size() > kMaxCheckReply) {
      check_done(c, false, "check reply larger than 64 KiB");
      return false;
    }
    k.in.insert(k.in.end(), data.begin(), data.end());
    size_t off = 0;
    for (;;) {
      std::string_view pending(k.in.data() + off, k.in.size() - off);
      Frame f = k.framer.next(pending);
      if (f.kind == FrameKind::kNeedMore) {
        off += f.skip;
        break;
      }
      if (f.kind == FrameKind::kError) {
        check_done(c, false, std::string("check reply: ") + frame_error_text(f.error));
        return false;
      }
      off += f.consumed();
      if (f.kind != FrameKind::kMessage) continue;
      ReplyView reply;
      const char* why = nullptr;
      if (!parse_reply(pending.substr(f.skip, f.length), &reply, &why)) {
        check_done(c, false, std::string("check reply: ") + why);
        return false;
      }
      CallIdFields id;
      if (!decode_call_id(reply.call_id, &id) || id.tag != k.tag || id.seq != 1) {
        check_done(c, false, "check reply with a foreign Call-ID");
        return false;
      }
      if (reply.status < 200) continue;
      check_done(c, reply.status == 200, strprintf("check OPTIONS answered %d", reply.status));
      return false;
    }
    k.in.erase(k.in.begin(), k.in.begin() + static_cast<std::ptrdiff_t>(off));
    return true;
  }

  void check_done(Conn& c, bool ok, const std::string& why) {
    c.check->done = true;
    --checks_left_;
    if (ok) {
      ++r_.check_ok;
    } else if (r_.first_check_error.empty()) {
      r_.first_check_error = strprintf("connection %u: %s", c.index, why.c_str());
    }
  }

  void end_run() {
    if (phase_ == Phase::kDone) return;
    phase_ = Phase::kDone;
    close_all();
    finish();
  }

  void close_all() {
    for (auto& c : conns_list_) {
      if (c) c->stream.close();  // close_notify, best effort
    }
  }

  IdleResult& r_;
  std::function<void(uint64_t)> at_hold_end_;
  const bool progress_;
  const int64_t ping_interval_ = to_ns(options_.ping_interval);
  const uint32_t run_tag_ = static_cast<uint32_t>(getpid());
  std::vector<sockaddr_in> sources_;
  std::vector<std::unique_ptr<Conn>> conns_list_;
  std::deque<uint32_t> retry_;
  std::priority_queue<Due, std::vector<Due>, std::greater<Due>> pings_;
  std::vector<char> scratch_ = std::vector<char>(kReadChunk);
  Phase phase_ = Phase::kConnecting;
  int64_t phase_start_ = 0;
  int64_t connect_until_ = 0;
  int64_t next_progress_ = 0;
  size_t next_new_ = 0;  // connections [0, next_new_) have had an attempt
  int active_ = 0;       // attempts in progress
  uint64_t open_ = 0;
  uint64_t outstanding_pings_ = 0;
  size_t checks_left_ = 0;
  bool after_taken_ = false;
};

}  // namespace

double IdleResult::rss_per_conn_bytes() const {
  if (!have_memory || open_at_after == 0) return 0;
  return (static_cast<double>(after.rss_kb) - static_cast<double>(before.rss_kb)) * 1024.0 /
         static_cast<double>(open_at_after);
}

double IdleResult::pss_per_conn_bytes() const {
  if (!have_memory || open_at_after == 0 || !before.have_pss || !after.have_pss) return 0;
  return (static_cast<double>(after.pss_kb) - static_cast<double>(before.pss_kb)) * 1024.0 /
         static_cast<double>(open_at_after);
}

Result<IdleResult> run_idle(const Options& o, const std::atomic<bool>& interrupted) {
  Status limit = raise_fd_limit(o.connections, "--connections");
  if (!limit.ok()) return make_error(limit.message());
  IdleResult result;
  double server_cpu0 = 0;
  if (o.server_pid != 0) {
    Result<TreeMemory> m = process_tree_memory(o.server_pid);
    if (!m.ok()) return make_error("--server-pid: " + m.message());
    result.before = *m;
    Result<TreeCpu> c = process_tree_cpu(o.server_pid);
    if (!c.ok()) return make_error("--server-pid: " + c.message());
    server_cpu0 = c->seconds;
  }
  double bench_cpu0 = self_cpu_seconds();

  RunPlan plan;
  plan.timeout = to_ns(o.timeout);
  plan.start = now_ns();
  // The phases keep their own time; this is the outer bound for LoopWorker::sending().
  plan.measure_from = plan.start;
  plan.measure_to = plan.start + to_ns(o.connect_limit + o.duration) + 3 * plan.timeout;
  plan.stop = plan.measure_to;

  auto at_hold_end = [&](uint64_t) {
    result.bench_cpu_s = self_cpu_seconds() - bench_cpu0;
    if (o.server_pid == 0) return;
    Result<TreeMemory> m = process_tree_memory(o.server_pid);
    if (m.ok()) {
      result.after = *m;
      result.have_memory = true;
    } else {
      result.memory_error = m.message();
    }
    Result<TreeCpu> c = process_tree_cpu(o.server_pid);
    if (c.ok()) {
      result.have_server_cpu = true;
      result.server_cpu_s = c->seconds - server_cpu0;
      result.server_procs = c->processes;
    } else {
      result.server_cpu_error = c.message();
    }
  };
  IdleWorker worker(o, plan, interrupted, &result, at_hold_end);
  Status s = worker.init();
  if (!s.ok()) return make_error(s.message());
  worker.run();
  return result;
}

}  // namespace sipsd::bench
