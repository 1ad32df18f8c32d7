#include "bench/sipsbench/call_mode.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <random>
#include <thread>
#include <utility>
#include <vector>

#include "bench/sipsbench/call_worker.h"
#include "bench/sipsbench/report.h"
#include "bench/sipsbench/runner.h"

namespace sipsd::bench {

namespace {

// The load starts this long after it is ordered, so every worker has seen the order by then.
constexpr int64_t kStartLeadNs = 50 * 1000 * 1000;
// How long past the plan's stop the coordinator waits for the workers to say they drained.
constexpr int64_t kStopSlackNs = kSecondNs;

void nap(int64_t until) {
  int64_t left = std::min(until - now_ns(), kSecondNs / 20);
  if (left <= 0) return;
  timespec ts = {0, static_cast<long>(left)};
  nanosleep(&ts, nullptr);  // EINTR (a signal) just ends the nap early
}

class Coordinator {
 public:
  Coordinator(const Options& o, const std::atomic<bool>& interrupted, CallResult* result)
      : o_(o), interrupted_(interrupted), r_(*result) {}
  ~Coordinator() { stop(); }

  Status start() {
    std::random_device rd;
    uint32_t run_id = rd() ^ static_cast<uint32_t>(getpid());
    RunPlan outer;
    outer.timeout = to_ns(o_.timeout);
    outer.start = now_ns();
    outer.measure_from = outer.start;
    outer.measure_to = outer.start + drain_ns() + to_ns(o_.warmup + o_.duration) + setup_ns();
    outer.stop = outer.measure_to;
    int w = o_.workers;
    int caller_base = 0;
    for (int i = 0; i < w; ++i) {
      int callers = o_.conns / w + (i < o_.conns % w ? 1 : 0);
      std::vector<int> callees;
      for (int c = i; c < o_.call.callees; c += w) callees.push_back(c);
      int in_flight = o_.call.concurrent / w + (i < o_.call.concurrent % w ? 1 : 0);
      double rate = o_.call.rate * callers / o_.conns;
      auto worker =
          std::make_unique<CallWorker>(o_, i, callers, std::move(callees), std::max(in_flight, 1),
                                       rate, outer, interrupted_, control_, run_id, caller_base);
      caller_base += callers;
      Status s = worker->init_call();
      if (!s.ok()) return s;
      workers_.push_back(std::move(worker));
    }
    for (auto& wk : workers_) threads_.emplace_back([&wk] { wk->run(); });
    return Status::Ok();
  }

  // Waits until every caller connection is open and every callee is ready or failed (at most
  // --timeout and a second); then publishes the callee URIs and the plan. False when the load
  // cannot start (r_.stop_reason says why).
  bool setup() {
    int64_t until = now_ns() + setup_ns();
    for (;;) {
      bool pending = false;
      for (auto& w : workers_) {
        for (size_t i = 0; i < w->callee_count(); ++i)
          pending = pending || w->callee_state(i) == CalleeState::kPending;
      }
      if ((!pending && callers_ready() == o_.conns) || now_ns() >= until || interrupted_.load())
        break;
      nap(until);
    }
    std::vector<std::pair<int, std::string>> uris;
    for (size_t k = 0; k < workers_.size(); ++k) {
      CallWorker& w = *workers_[k];
      for (size_t i = 0; i < w.callee_count(); ++i) {
        int global = static_cast<int>(k + i * workers_.size());
        CalleeState st = w.callee_state(i);
        if (st == CalleeState::kReady) {
          uris.emplace_back(global, w.callee_uri(i));
        } else if (r_.callee_error.empty()) {
          r_.callee_error = st == CalleeState::kFailed
                                ? w.callee_error(i)
                                : strprintf("callee-%d: not ready within --timeout", global);
        }
      }
    }
    std::sort(uris.begin(), uris.end());
    r_.callees_ready = static_cast<int>(uris.size());
    r_.callers_ready = callers_ready();
    if (interrupted_.load()) {
      r_.stop_reason = "interrupted";
      return false;
    }
    if (uris.empty()) {
      r_.stop_reason =
          "no callee is ready" + (r_.callee_error.empty() ? std::string() : ": " + r_.callee_error);
      return false;
    }
    if (r_.callers_ready == 0) {
      r_.stop_reason = "no caller connection could be established";
      return false;
    }
    for (auto& [global, uri] : uris) control_.callee_uris.push_back(std::move(uri));
    RunPlan& p = control_.plan;
    p.timeout = to_ns(o_.timeout);
    p.start = now_ns() + kStartLeadNs;
    p.measure_from = p.start + to_ns(o_.warmup);
    p.measure_to = p.measure_from + to_ns(o_.duration);
    p.stop = p.measure_to + drain_ns();
    control_.go.store(true, std::memory_order_release);
    return true;
  }

  // Runs the plan: progress lines, CPU at both ends of the measured period, the drain.
  void run() {
    const RunPlan& p = control_.plan;
    bool progress = !o_.quiet && isatty(STDOUT_FILENO);
    int64_t next_progress = p.start + kSecondNs;
    uint64_t last_done = 0;
    int64_t last_t = p.start;
    bool measuring = false;
    double server0 = 0;
    double bench0 = 0;
    int64_t measured_end = p.measure_to;
    for (;;) {
      int64_t now = now_ns();
      if (!measuring && now >= p.measure_from) {
        measuring = true;
        bench0 = self_cpu_seconds();
        if (o_.server_pid != 0)
          r_.have_server_cpu =
              sample_tree_cpu(o_.server_pid, &server0, nullptr, &r_.server_cpu_error);
      }
      if (interrupted_.load() || now >= p.measure_to) {
        measured_end = std::min(now, p.measure_to);
        break;
      }
      if (now >= next_progress) {
        next_progress += kSecondNs;
        if (progress) {
          uint64_t done = live(&CallWorker::live_completed);
          double rate =
              static_cast<double>(done - last_done) * 1e9 / static_cast<double>(now - last_t);
          print_progress(stdout, o_, static_cast<double>(now - p.start) / 1e9,
                         now < p.measure_from ? "warm-up" : "measuring", rate, done,
                         live(&CallWorker::live_failed));
          last_done = done;
          last_t = now;
        }
      }
      nap(std::min({next_progress, p.measure_to, measuring ? p.measure_to : p.measure_from}));
    }
    if (measuring) {
      r_.measured_s = static_cast<double>(measured_end - p.measure_from) / 1e9;
      r_.bench_cpu_s = self_cpu_seconds() - bench0;
      double server1 = 0;
      if (r_.have_server_cpu) {
        r_.have_server_cpu =
            sample_tree_cpu(o_.server_pid, &server1, &r_.server_procs, &r_.server_cpu_error);
        r_.server_cpu_s = server1 - server0;
      }
    }
    // The drain: every worker's calls have ended (or the plan's stop has passed).
    int64_t until = p.stop + kStopSlackNs;
    while (now_ns() < until && !interrupted_.load()) {
      if (std::all_of(workers_.begin(), workers_.end(), [](const auto& w) { return w->drained(); }))
        break;
      nap(until);
    }
  }

  void stop() {
    control_.stop.store(true, std::memory_order_release);
    for (std::thread& t : threads_) t.join();
    threads_.clear();
  }

  void merge() {
    for (auto& w : workers_) r_.stats.merge(w->call_stats());
  }

 private:
  int64_t setup_ns() const { return to_ns(o_.timeout) + kSecondNs; }
  int64_t drain_ns() const {
    return static_cast<int64_t>(o_.call.hold_ms * 1e6) + 2 * to_ns(o_.timeout) + kSecondNs / 2;
  }
  int callers_ready() const {
    int n = 0;
    for (auto& w : workers_) n += w->callers_ready();
    return n;
  }
  uint64_t live(uint64_t (CallWorker::*get)() const) const {
    uint64_t n = 0;
    for (auto& w : workers_) n += ((*w).*get)();
    return n;
  }

  const Options& o_;
  const std::atomic<bool>& interrupted_;
  CallResult& r_;
  CallControl control_;
  std::vector<std::unique_ptr<CallWorker>> workers_;
  std::vector<std::thread> threads_;
};

}  // namespace

double CallResult::calls_per_s() const {
  return measured_s > 0 ? static_cast<double>(stats.completed) / measured_s : 0.0;
}

double CallResult::calls_per_server_cpu() const {
  return have_server_cpu && server_cpu_s > 0 ? static_cast<double>(stats.completed) / server_cpu_s
                                             : 0.0;
}

double CallResult::server_cpu_per_call_us() const {
  return have_server_cpu && stats.completed > 0
             ? server_cpu_s * 1e6 / static_cast<double>(stats.completed)
             : 0.0;
}

Result<CallResult> run_call(const Options& o, const std::atomic<bool>& interrupted) {
  // Callers, callee sockets and the connections the proxy opens to them, and a margin.
  Status limit = raise_fd_limit(o.conns + 4 * o.call.callees, "--conns + 4 x --callees =");
  if (!limit.ok()) return make_error(limit.message());
  if (o.server_pid != 0) {
    Result<TreeCpu> probe = process_tree_cpu(o.server_pid);
    if (!probe.ok()) return make_error("--server-pid: " + probe.message());
  }
  CallResult result;
  Coordinator co(o, interrupted, &result);
  Status s = co.start();
  if (!s.ok()) return make_error(s.message());
  if (co.setup()) co.run();
  result.interrupted = interrupted.load();
  co.stop();
  co.merge();
  return result;
}

}  // namespace sipsd::bench
