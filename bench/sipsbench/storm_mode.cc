#include "bench/sipsbench/storm_mode.h"

#include <arpa/inet.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <deque>
#include <memory>
#include <vector>

#include "bench/sipsbench/client_tls.h"
#include "bench/sipsbench/clock.h"
#include "bench/sipsbench/loop_stream.h"
#include "bench/sipsbench/loop_worker.h"
#include "bench/sipsbench/reply_parser.h"
#include "bench/sipsbench/report.h"
#include "bench/sipsbench/request_template.h"
#include "bench/sipsbench/runner.h"
#include "core/base/event_ptr.h"
#include "proto_tls/stream_framer.h"

namespace sipsd::bench {

namespace {

constexpr size_t kMaxReply = 65536;

// What a client process tells the parent: after the setup, then after the storm.
struct SetupReport {
  uint64_t set_up = 0;
  uint64_t failed = 0;
  uint64_t with_ticket = 0;
};
struct StormReport {
  uint64_t reconnected = 0;
  uint64_t failed = 0;
  uint64_t resumed = 0;
  uint64_t retries = 0;
  uint64_t latencies = 0;  // followed by this many uint32 microseconds
  char first_error[200] = {};
};

bool write_all(int fd, const void* data, size_t len) {
  const char* p = static_cast<const char*>(data);
  while (len > 0) {
    ssize_t n = ::write(fd, p, len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    p += n;
    len -= static_cast<size_t>(n);
  }
  return true;
}

// Reads exactly len bytes, waiting at most until `deadline` (now_ns clock).
bool read_all(int fd, void* data, size_t len, int64_t deadline) {
  char* p = static_cast<char*>(data);
  while (len > 0) {
    int64_t left_ms = (deadline - now_ns()) / 1000000;
    if (left_ms <= 0) return false;
    pollfd pfd{fd, POLLIN, 0};
    int r = poll(&pfd, 1, static_cast<int>(std::min<int64_t>(left_ms, 1000)));
    if (r < 0 && errno != EINTR) return false;
    if (r <= 0) continue;
    ssize_t n = ::read(fd, p, len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    p += n;
    len -= static_cast<size_t>(n);
  }
  return true;
}

// One client process: its share of the phones, on one event loop.
class StormClient {
 public:
  StormClient(const Options& o, int proc, uint32_t first, uint32_t count,
              const std::atomic<bool>& interrupted)
      : o_(o), proc_(proc), first_(first), count_(count), interrupted_(interrupted) {}

  // The child's whole life: setup, report, wait for GO, storm, report, wait for the end.
  int run(int to_parent, int from_parent) {
    Status s = init();
    if (!s.ok()) {
      fprintf(stderr, "sipsbench storm (process %d): %s\n", proc_, s.message().c_str());
      return 2;
    }
    // Setup: --conns at a time.
    phase_ = Phase::kSetup;
    phase_deadline_ = now_ns() + to_ns(kStormSetupLimitS);
    for (auto& c : conns_) queue_.push_back(c.get());
    done_ = false;
    launch(now_ns());
    loop();
    SetupReport sr;
    for (auto& c : conns_) {
      if (c->state != State::kIdle) {  // unfinished when the setup ended: out of the storm
        c->stream.close();
        c->state = State::kSetupFailed;
      }
      if (c->state == State::kIdle) {
        ++sr.set_up;
        if (c->session) ++sr.with_ticket;
      } else {
        ++sr.failed;
      }
    }
    if (!write_all(to_parent, &sr, sizeof sr)) return 2;
    char go = 0;
    if (!read_all(from_parent, &go, 1, now_ns() + to_ns(3600)) || go != 'G') return 2;

    // The storm: every idle connection drops and reconnects at once.
    phase_ = Phase::kStorm;
    storm_start_ = now_ns();
    phase_deadline_ = storm_start_ + to_ns(kStormLimitS);
    queue_.clear();
    for (auto& c : conns_) {
      if (c->state != State::kIdle) continue;
      drop(*c);
      c->attempts = 0;
      queue_.push_back(c.get());
    }
    done_ = false;
    launch(storm_start_);
    loop();

    StormReport rep;
    std::vector<uint32_t> lat;
    for (auto& c : conns_) {
      if (c->state == State::kDone) {
        ++rep.reconnected;
        if (c->resumed) ++rep.resumed;
        lat.push_back(c->latency_us);
      } else if (c->state != State::kSetupFailed) {
        ++rep.failed;
      }
    }
    rep.retries = retries_;
    rep.latencies = lat.size();
    snprintf(rep.first_error, sizeof rep.first_error, "%s", first_error_.c_str());
    if (!write_all(to_parent, &rep, sizeof rep) ||
        !write_all(to_parent, lat.data(), lat.size() * sizeof(uint32_t)))
      return 2;
    // Hold the connections until the parent has taken its CPU sample.
    read_all(from_parent, &go, 1, now_ns() + to_ns(60));
    for (auto& c : conns_) c->stream.close();
    return 0;
  }

 private:
  enum class Phase : uint8_t { kSetup, kStorm };
  enum class State : uint8_t {
    kNew,          // setup not begun
    kConnecting,   // TCP connect + TLS handshake
    kAwaiting,     // OPTIONS sent
    kIdle,         // set up, holding
    kSetupFailed,  // never set up
    kDropped,      // dropped by the storm, to reconnect
    kDone,         // reconnected and answered
    kFailed,       // not reconnected
  };

  struct Conn {
    StormClient* owner = nullptr;
    uint32_t index = 0;  // global phone number
    State state = State::kNew;
    int attempts = 0;
    LoopStream stream;
    SslSessionPtr session;
    int64_t deadline = 0;
    StreamFramer framer{client_framer_limits()};
    std::vector<char> in;
    std::string out;
    uint32_t seq = 0;
    bool resumed = false;
    uint32_t latency_us = 0;
  };

  Status init() {
    Status limit = raise_fd_limit(static_cast<int>(count_), "--connections per process");
    if (!limit.ok()) return limit;
    base_.reset(event_base_new());
    if (!base_) return make_error("event_base_new failed");
    Result<SslCtxPtr> ctx = build_client_ctx(o_);
    if (!ctx.ok()) return make_error(ctx.message());
    ctx_ = std::move(ctx).value();
    // Idle phones keep no 34 KiB of read and write buffers.
    SSL_CTX_set_mode(ctx_.get(), SSL_MODE_RELEASE_BUFFERS);
    tick_.reset(event_new(base_.get(), -1, EV_PERSIST, on_tick, this));
    struct timeval tv = {0, 20 * 1000};
    event_add(tick_.get(), &tv);
    for (uint32_t i = 0; i < count_; ++i) {
      auto c = std::make_unique<Conn>();
      c->owner = this;
      c->index = first_ + i;
      conns_.push_back(std::move(c));
    }
    return Status::Ok();
  }

  // Runs the loop until launch() (or the tick, at the deadline) says the phase is over.
  void loop() {
    while (!done_) event_base_loop(base_.get(), EVLOOP_ONCE);
  }

  // Starts queued connections while fewer than --conns are in progress: the clients' own
  // handshakes share the cores with the server, and a client that started thousands at once
  // would answer the server's flights later than its handshake timeout.
  void launch(int64_t now) {
    while (active_ < o_.conns && !queue_.empty() && !interrupted()) {
      Conn* c = queue_.front();
      queue_.pop_front();
      ++active_;
      begin(*c, now);
    }
    if (active_ == 0 && queue_.empty()) done_ = true;
  }

  void begin(Conn& c, int64_t now) {
    ++c.attempts;
    sockaddr_in src{};
    src.sin_family = AF_INET;
    src.sin_addr.s_addr = htonl((127u << 24) | (2u + c.index % static_cast<uint32_t>(o_.sources)));
    c.in.clear();
    c.framer = StreamFramer(client_framer_limits());
    c.out.clear();
    SSL_SESSION* offer = phase_ == Phase::kStorm ? c.session.get() : nullptr;
    Status s = c.stream.open(base_.get(), on_event, &c, o_, ctx_.get(), offer, &src);
    c.state = State::kConnecting;
    c.deadline = now + to_ns(o_.timeout);
    if (!s.ok()) attempt_failed(c, s.message());
  }

  static void on_event(evutil_socket_t, short, void* arg) {
    auto* c = static_cast<Conn*>(arg);
    c->owner->step(*c);
  }

  void step(Conn& c) {
    if (c.state == State::kConnecting) {
      Io io = c.stream.connect_step();
      if (io == Io::kAgain) return;
      if (io != Io::kOk) {
        attempt_failed(c,
                       (c.stream.handshaking() ? "handshake: " : "connect: ") + c.stream.error());
        return;
      }
      c.state = State::kAwaiting;
      c.resumed = c.stream.ssl() != nullptr && SSL_session_reused(c.stream.ssl()) == 1;
      c.seq = c.seq >= kMaxSeq ? 1 : c.seq + 1;
      RequestTemplate(target_request(o_, "OPTIONS", 0, c.stream.local_port(), c.index))
          .append_to(&c.out, 0, c.seq);
    }
    if (!c.out.empty()) {
      size_t off = 0;
      Io io = c.stream.write_from(c.out, &off);
      c.out.erase(0, off);
      if (io == Io::kClosed || io == Io::kError) {
        attempt_failed(c, "write: " + c.stream.error());
        return;
      }
    }
    read_some(c);
  }

  void read_some(Conn& c) {
    char buf[kReadChunk];
    for (;;) {
      size_t n = 0;
      Io io = c.stream.read(buf, sizeof buf, &n);
      if (io == Io::kAgain) return;
      if (io != Io::kOk) {
        if (c.state == State::kAwaiting) {
          attempt_failed(c, "closed before the reply: " + c.stream.error());
        } else {
          // Set up and idle: it takes no part in the storm. Reconnected: it was answered.
          note_error("closed by the server while idle: " + c.stream.error());
          c.stream.close();
          if (c.state == State::kIdle) c.state = State::kSetupFailed;
        }
        return;
      }
      if (c.state != State::kAwaiting) continue;  // nothing else is expected; ignored
      if (c.in.size() + n > kMaxReply) {
        attempt_failed(c, "reply larger than 64 KiB");
        return;
      }
      c.in.insert(c.in.end(), buf, buf + n);
      if (!on_reply_bytes(c)) return;
    }
  }

  // False when the attempt ended (answered or failed).
  bool on_reply_bytes(Conn& c) {
    size_t off = 0;
    for (;;) {
      std::string_view pending(c.in.data() + off, c.in.size() - off);
      Frame f = c.framer.next(pending);
      if (f.kind == FrameKind::kNeedMore) {
        off += f.skip;
        break;
      }
      if (f.kind == FrameKind::kError) {
        attempt_failed(c, std::string("reply: ") + frame_error_text(f.error));
        return false;
      }
      off += f.consumed();
      if (f.kind != FrameKind::kMessage) continue;
      ReplyView reply;
      const char* why = nullptr;
      if (!parse_reply(pending.substr(f.skip, f.length), &reply, &why)) {
        attempt_failed(c, std::string("reply: ") + why);
        return false;
      }
      if (reply.status < 200) continue;
      if (reply.status != 200) {
        attempt_failed(c, strprintf("OPTIONS answered %d", reply.status));
        return false;
      }
      answered(c);
      return false;
    }
    c.in.erase(c.in.begin(), c.in.begin() + static_cast<std::ptrdiff_t>(off));
    return true;
  }

  void answered(Conn& c) {
    c.in.clear();
    int64_t now = now_ns();
    if (phase_ == Phase::kSetup) {
      // After the reply: a TLS 1.3 server's tickets came before it.
      SslSessionPtr s(SSL_get1_session(c.stream.ssl()));
      if (s && SSL_SESSION_is_resumable(s.get())) c.session = std::move(s);
      c.state = State::kIdle;
    } else {
      c.state = State::kDone;
      c.latency_us =
          static_cast<uint32_t>(std::min<int64_t>((now - storm_start_) / 1000, UINT32_MAX));
    }
    --active_;
    launch(now);
  }

  void attempt_failed(Conn& c, const std::string& why) {
    c.stream.close();
    --active_;  // the next tick starts the retry (no recursion through begin())
    if (c.attempts < kStormMaxAttempts && !interrupted() && now_ns() < phase_deadline_) {
      if (phase_ == Phase::kStorm) ++retries_;
      c.state = State::kNew;
      queue_.push_back(&c);
      return;
    }
    note_error(strprintf("phone %u: %s", c.index, why.c_str()));
    c.state = phase_ == Phase::kSetup ? State::kSetupFailed : State::kFailed;
  }

  // A network blip: the socket goes without close_notify, with an RST.
  void drop(Conn& c) {
    if (SSL* ssl = c.stream.ssl()) {
      int fd = SSL_get_fd(ssl);
      struct linger lg = {1, 0};
      if (fd >= 0) setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
      SSL_set_quiet_shutdown(ssl, 1);
    }
    c.stream.close();
    c.state = State::kDropped;
  }

  static void on_tick(evutil_socket_t, short, void* arg) {
    auto* self = static_cast<StormClient*>(arg);
    int64_t now = now_ns();
    if (self->interrupted() || now >= self->phase_deadline_) {
      self->done_ = true;
      return;
    }
    for (auto& c : self->conns_) {
      if ((c->state == State::kConnecting || c->state == State::kAwaiting) && now >= c->deadline)
        self->attempt_failed(*c, c->state == State::kConnecting
                                     ? "connect and handshake not done within --timeout"
                                     : "no reply to the OPTIONS within --timeout");
    }
    self->launch(now);
  }

  bool interrupted() const { return interrupted_.load(std::memory_order_relaxed); }
  void note_error(const std::string& what) {
    if (first_error_.empty()) first_error_ = what;
  }

  const Options& o_;
  const int proc_;
  const uint32_t first_;
  const uint32_t count_;
  const std::atomic<bool>& interrupted_;
  EventBasePtr base_;
  EventPtr tick_;
  SslCtxPtr ctx_;
  std::vector<std::unique_ptr<Conn>> conns_;
  std::deque<Conn*> queue_;  // to start (or start again)
  Phase phase_ = Phase::kSetup;
  int64_t phase_deadline_ = 0;
  int64_t storm_start_ = 0;
  int active_ = 0;  // attempts in progress
  uint64_t retries_ = 0;
  bool done_ = false;
  std::string first_error_;
};

struct Child {
  pid_t pid = -1;
  int to = -1;    // parent writes GO / END
  int from = -1;  // parent reads the reports
};

double percentile_ms(const std::vector<uint32_t>& sorted, double p) {
  if (sorted.empty()) return 0;
  size_t i = static_cast<size_t>(p * static_cast<double>(sorted.size() - 1) + 0.5);
  return sorted[std::min(i, sorted.size() - 1)] / 1000.0;
}

}  // namespace

Result<StormResult> run_storm(const Options& o, const std::atomic<bool>& interrupted) {
  StormResult r;
  r.requested = static_cast<uint64_t>(o.connections);
  r.procs = o.procs;
  if (o.server_pid != 0) {
    Result<TreeCpu> c = process_tree_cpu(o.server_pid);
    if (!c.ok()) return make_error("--server-pid: " + c.message());
  }
  fflush(stdout);
  fflush(stderr);
  std::vector<Child> kids;
  auto reap = [&kids]() {
    for (Child& k : kids) {
      if (k.to >= 0) ::close(k.to);
      if (k.from >= 0) ::close(k.from);
      if (k.pid > 0) waitpid(k.pid, nullptr, 0);
    }
  };
  const int64_t t_setup = now_ns();
  uint32_t next = 0;
  for (int p = 0; p < o.procs; ++p) {
    uint32_t count = static_cast<uint32_t>(o.connections / o.procs + (p < o.connections % o.procs));
    int down[2], up[2];
    if (pipe(down) != 0 || pipe(up) != 0) {
      reap();
      return make_error(strprintf("pipe: %s", strerror(errno)));
    }
    pid_t pid = fork();
    if (pid < 0) {
      reap();
      return make_error(strprintf("fork: %s", strerror(errno)));
    }
    if (pid == 0) {
      ::close(down[1]);
      ::close(up[0]);
      for (Child& k : kids) {
        ::close(k.to);
        ::close(k.from);
      }
      int code = StormClient(o, p, next, count, interrupted).run(up[1], down[0]);
      _exit(code);
    }
    ::close(down[0]);
    ::close(up[1]);
    kids.push_back(Child{pid, down[1], up[0]});
    next += count;
  }

  // Setup reports.
  const int64_t setup_deadline = now_ns() + to_ns(kStormSetupLimitS + 10);
  for (Child& k : kids) {
    SetupReport sr;
    if (!read_all(k.from, &sr, sizeof sr, setup_deadline)) {
      for (Child& x : kids) kill(x.pid, SIGTERM);
      reap();
      return make_error("a client process did not finish its setup");
    }
    r.set_up += sr.set_up;
    r.setup_failed += sr.failed;
    r.with_ticket += sr.with_ticket;
  }
  r.setup_s = static_cast<double>(now_ns() - t_setup) / 1e9;

  // The storm.
  double server0 = 0;
  bool have_cpu =
      o.server_pid != 0 && sample_tree_cpu(o.server_pid, &server0, nullptr, &r.server_cpu_error);
  const int64_t t0 = now_ns();
  for (Child& k : kids) write_all(k.to, "G", 1);
  const int64_t storm_deadline = t0 + to_ns(kStormLimitS + 10);
  std::vector<uint32_t> lat;
  bool lost = false;
  for (Child& k : kids) {
    StormReport rep;
    if (!read_all(k.from, &rep, sizeof rep, storm_deadline)) {
      lost = true;
      continue;
    }
    std::vector<uint32_t> part(rep.latencies);
    if (!read_all(k.from, part.data(), part.size() * sizeof(uint32_t), storm_deadline)) {
      lost = true;
      continue;
    }
    lat.insert(lat.end(), part.begin(), part.end());
    r.reconnected += rep.reconnected;
    r.failed += rep.failed;
    r.resumed += rep.resumed;
    r.retries += rep.retries;
    if (r.first_error.empty() && rep.first_error[0] != 0) r.first_error = rep.first_error;
  }
  const int64_t t1 = now_ns();
  double server1 = 0;
  if (have_cpu && sample_tree_cpu(o.server_pid, &server1, &r.server_procs, &r.server_cpu_error)) {
    r.have_server_cpu = true;
    r.server_cpu_s = server1 - server0;
  }
  for (Child& k : kids) write_all(k.to, "E", 1);
  reap();
  if (lost && r.first_error.empty()) r.first_error = "a client process did not report";
  r.interrupted = interrupted.load();
  std::sort(lat.begin(), lat.end());
  // The last answer, as the clients measured it (the parent's t1 also waited for reports).
  r.storm_s = lat.empty() ? static_cast<double>(t1 - t0) / 1e9 : lat.back() / 1e6;
  if (r.failed > 0) r.storm_s = static_cast<double>(t1 - t0) / 1e9;
  r.p50_ms = percentile_ms(lat, 0.50);
  r.p90_ms = percentile_ms(lat, 0.90);
  r.p99_ms = percentile_ms(lat, 0.99);
  r.max_ms = lat.empty() ? 0 : lat.back() / 1000.0;
  return r;
}

void print_storm_summary(FILE* out, const Options& o, const StormResult& r) {
  fprintf(out, "storm: %s, %llu phones over %d processes and %d source addresses\n",
          o.target.text().c_str(), static_cast<unsigned long long>(r.requested), r.procs,
          o.sources);
  fprintf(out, "  setup:        %llu connected (%llu with a session ticket), %llu failed, %.1f s\n",
          static_cast<unsigned long long>(r.set_up), static_cast<unsigned long long>(r.with_ticket),
          static_cast<unsigned long long>(r.setup_failed), r.setup_s);
  fprintf(out,
          "  storm:        %llu of %llu re-established and answered in %.3f s (%llu failed, "
          "%llu attempts retried)\n",
          static_cast<unsigned long long>(r.reconnected), static_cast<unsigned long long>(r.set_up),
          r.storm_s, static_cast<unsigned long long>(r.failed),
          static_cast<unsigned long long>(r.retries));
  fprintf(out, "  per phone:    p50 %.1f ms, p90 %.1f ms, p99 %.1f ms, max %.1f ms (drop to 200)\n",
          r.p50_ms, r.p90_ms, r.p99_ms, r.max_ms);
  fprintf(out, "  resumed:      %.1f %%\n", 100.0 * r.resumed_share());
  if (r.have_server_cpu) {
    fprintf(out, "  server CPU:   %.3f s over the storm (%d processes), %.1f us per reconnection\n",
            r.server_cpu_s, r.server_procs,
            r.reconnected == 0 ? 0.0 : r.server_cpu_s * 1e6 / static_cast<double>(r.reconnected));
  } else if (o.server_pid != 0) {
    fprintf(out, "  server CPU:   unknown (%s)\n", r.server_cpu_error.c_str());
  }
  if (!r.first_error.empty()) fprintf(out, "  first error:  %s\n", r.first_error.c_str());
}

std::string render_storm_json(const Options& o, const StormResult& r) {
  std::string err;
  for (char ch : r.first_error) {
    if (ch == '"' || ch == '\\') err += '\\';
    if (static_cast<unsigned char>(ch) >= 0x20) err += ch;
  }
  return strprintf(
      "{\n  \"tool\": \"sipsbench\",\n  \"mode\": \"storm\",\n  \"target\": \"%s\",\n"
      "  \"connections\": %llu,\n  \"procs\": %d,\n  \"sources\": %d,\n  \"set_up\": %llu,\n"
      "  \"setup_failed\": %llu,\n  \"with_ticket\": %llu,\n  \"setup_s\": %.3f,\n"
      "  \"reconnected\": %llu,\n  \"failed\": %llu,\n  \"retries\": %llu,\n"
      "  \"resumed\": %llu,\n  \"resumed_ratio\": %.4f,\n  \"storm_s\": %.4f,\n"
      "  \"p50_ms\": %.3f,\n  \"p90_ms\": %.3f,\n  \"p99_ms\": %.3f,\n  \"max_ms\": %.3f,\n"
      "  \"server_pid\": %d,\n  \"server_cpu_s\": %s,\n  \"server_cpu_per_conn_us\": %s,\n"
      "  \"server_procs\": %d,\n"
      "  \"interrupted\": %s,\n  \"first_error\": \"%s\"\n}\n",
      o.target.text().c_str(), static_cast<unsigned long long>(r.requested), r.procs, o.sources,
      static_cast<unsigned long long>(r.set_up), static_cast<unsigned long long>(r.setup_failed),
      static_cast<unsigned long long>(r.with_ticket), r.setup_s,
      static_cast<unsigned long long>(r.reconnected), static_cast<unsigned long long>(r.failed),
      static_cast<unsigned long long>(r.retries), static_cast<unsigned long long>(r.resumed),
      r.resumed_share(), r.storm_s, r.p50_ms, r.p90_ms, r.p99_ms, r.max_ms,
      static_cast<int>(o.server_pid),
      r.have_server_cpu ? strprintf("%.4f", r.server_cpu_s).c_str() : "null",
      r.have_server_cpu && r.reconnected > 0
          ? strprintf("%.1f", r.server_cpu_s * 1e6 / static_cast<double>(r.reconnected)).c_str()
          : "null",
      r.server_procs, r.interrupted ? "true" : "false", err.c_str());
}

}  // namespace sipsd::bench
