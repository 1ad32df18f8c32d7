#include "bench/sipsbench/ramp_mode.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <thread>

#include "bench/sipsbench/cpu_usage.h"
#include "bench/sipsbench/report.h"
#include "bench/sipsbench/runner.h"

namespace sipsd::bench {

namespace {

// A step starts this long after it is ordered, so every worker has seen the order by then.
constexpr int64_t kStepLeadNs = 50 * 1000 * 1000;
// How long past a step's end + --timeout the coordinator waits for a worker to report it.
constexpr int64_t kStepSlackNs = 2 * kSecondNs;

void nap(int64_t until) {
  int64_t left = std::min(until - now_ns(), kSecondNs / 10);
  if (left <= 0) return;
  timespec ts = {0, static_cast<long>(left)};
  nanosleep(&ts, nullptr);  // EINTR (a signal) just ends the nap early
}

class Coordinator {
 public:
  Coordinator(const Options& o, const std::atomic<bool>& interrupted, RampResult* result)
      : o_(o), interrupted_(interrupted), r_(*result) {}
  ~Coordinator() { stop(); }

  Status start() {
    plan_.timeout = to_ns(o_.timeout);
    plan_.start = now_ns();
    plan_.measure_from = plan_.start;
    // The outer bound of the whole run: connecting, warm-up and every step with its drain.
    size_t steps = ramp_rates(o_).size();
    int64_t per_step = to_ns(o_.step_duration) + plan_.timeout + kStepLeadNs + kStepSlackNs;
    plan_.measure_to = plan_.start + 2 * plan_.timeout + to_ns(o_.warmup) + per_step +
                       static_cast<int64_t>(steps) * per_step;
    plan_.stop = plan_.measure_to;
    for (int i = 0; i < o_.workers; ++i) {
      int share = o_.conns / o_.workers + (i < o_.conns % o_.workers ? 1 : 0);
      auto w = std::make_unique<RampWorker>(o_, i, share, plan_, interrupted_, control_,
                                            static_cast<double>(share) / o_.conns);
      Status s = w->init();
      if (!s.ok()) return s;
      workers_.push_back(std::move(w));
    }
    for (auto& w : workers_) threads_.emplace_back([&w] { w->run(); });
    return Status::Ok();
  }

  // Waits (at most --timeout and a second) until every connection is ready; how many are.
  int await_connections() {
    int64_t until = now_ns() + plan_.timeout + kSecondNs;
    for (;;) {
      int ready = 0;
      for (auto& w : workers_) ready += w->ready();
      if (ready == o_.conns || now_ns() >= until || interrupted_.load()) return ready;
      nap(until);
    }
  }

  // Runs one step at `rate` for `seconds`; false when the run was interrupted or a worker
  // did not report in time (the step's figures are then read after the workers have stopped).
  bool run_step(double rate, double seconds, RampStep* out) {
    int generation = ++generation_;
    StepOrder& order = control_.order;
    order.generation = generation;
    order.rate = rate;
    order.start = now_ns() + kStepLeadNs;
    order.end = order.start + to_ns(seconds);
    control_.generation.store(generation, std::memory_order_release);
    out->offered = rate;
    out->duration_s = seconds;

    bool progress = !o_.quiet && isatty(STDOUT_FILENO);
    nap_until(order.start);
    double cpu0 = 0;
    bool have_cpu = sample_cpu(&cpu0, nullptr);
    double bench0 = self_cpu_seconds();
    uint64_t last_done = live_done();
    int64_t last_t = now_ns();
    int64_t next_progress = order.start + kSecondNs;
    while (now_ns() < order.end && !interrupted_.load()) {
      int64_t now = now_ns();
      if (now >= next_progress) {
        next_progress += kSecondNs;
        if (!progress) continue;
        uint64_t done = live_done();
        char phase[32];
        snprintf(phase, sizeof phase, "%.0f/s", rate);
        print_progress(
            stdout, o_, static_cast<double>(now - plan_.start) / 1e9, phase,
            static_cast<double>(done - last_done) * 1e9 / static_cast<double>(now - last_t), done,
            live_errors());
        last_done = done;
        last_t = now;
      }
      nap(std::min(order.end, next_progress));
    }
    double cpu1 = 0;
    if (have_cpu && sample_cpu(&cpu1, &r_.server_procs)) {
      out->have_server_cpu = true;
      out->server_cpu_s = cpu1 - cpu0;
    }
    r_.bench_cpu_s += self_cpu_seconds() - bench0;

    int64_t deadline = order.end + plan_.timeout + kStepSlackNs;
    bool all_done = false;
    while (!interrupted_.load() && now_ns() < deadline) {
      all_done = std::all_of(workers_.begin(), workers_.end(),
                             [&](const auto& w) { return w->done() >= generation; });
      if (all_done) break;
      nap(deadline);
    }
    if (!all_done) stop();  // after join() the figures so far may be read
    for (auto& w : workers_) {
      if (const StepStats* s = w->step(generation)) out->stats.merge(*s);
    }
    return all_done;
  }

  void stop() {
    control_.stop.store(true);
    for (std::thread& t : threads_) t.join();
    threads_.clear();
  }

  void merge_totals() {
    for (auto& w : workers_) r_.totals.merge(w->stats());
  }

 private:
  void nap_until(int64_t t) {
    while (now_ns() < t && !interrupted_.load()) nap(t);
  }

  bool sample_cpu(double* seconds, int* procs) {
    return o_.server_pid != 0 &&
           sample_tree_cpu(o_.server_pid, seconds, procs, &r_.server_cpu_error);
  }

  uint64_t live_done() const {
    uint64_t n = 0;
    for (auto& w : workers_) n += w->live().done.load(std::memory_order_relaxed);
    return n;
  }
  uint64_t live_errors() const {
    uint64_t n = 0;
    for (auto& w : workers_) n += w->live().errors.load(std::memory_order_relaxed);
    return n;
  }

  const Options& o_;
  const std::atomic<bool>& interrupted_;
  RampResult& r_;
  RunPlan plan_;
  StepControl control_;
  int generation_ = 0;
  std::vector<std::unique_ptr<RampWorker>> workers_;
  std::vector<std::thread> threads_;
};

// Whether a step kept up, and if not, why.
void judge(const Options& o, RampStep* step) {
  const StepStats& s = step->stats;
  double p99_ms = static_cast<double>(s.latency.percentile(99)) / 1e6;
  if (s.errors() > 0) {
    step->verdict = strprintf("%llu errors", static_cast<unsigned long long>(s.errors()));
  } else if (s.skipped > 0) {
    step->verdict = strprintf("%llu requests skipped (--inflight %d outstanding per connection)",
                              static_cast<unsigned long long>(s.skipped), o.inflight);
  } else if (step->achieved() < kKeptUpFraction * step->offered) {
    step->verdict =
        strprintf("achieved %.0f/s < %.0f%% of offered", step->achieved(), 100 * kKeptUpFraction);
  } else if (p99_ms > o.p99_cap_ms) {
    step->verdict = strprintf("p99 %.3f ms > --p99-cap %g ms", p99_ms, o.p99_cap_ms);
  } else {
    step->kept_up = true;
    step->verdict = "ok";
  }
}

}  // namespace

std::optional<double> RampResult::p99_stays_over_from(double ms) const {
  std::optional<double> from;
  for (const RampStep& s : steps) {
    bool over = s.stats.latency.count() > 0 &&
                static_cast<double>(s.stats.latency.percentile(99)) > ms * 1e6;
    if (!over) {
      from.reset();
    } else if (!from) {
      from = s.offered;
    }
  }
  return from;
}

double RampResult::max_sustained() const {
  double best = 0;
  for (const RampStep& s : steps) {
    if (s.kept_up) best = std::max(best, s.achieved());
  }
  return best;
}

uint64_t RampResult::replies() const {
  uint64_t n = 0;
  for (const RampStep& s : steps) n += s.stats.replies;
  return n;
}

Result<RampResult> run_ramp(const Options& o, const std::atomic<bool>& interrupted) {
  Status ready = prepare_load_run(o);
  if (!ready.ok()) return make_error(ready.message());
  RampResult result;
  Coordinator co(o, interrupted, &result);
  Status s = co.start();
  if (!s.ok()) return make_error(s.message());

  bool progress = !o.quiet && isatty(STDOUT_FILENO);
  result.connected = co.await_connections();
  if (result.connected == 0) {
    result.stop_reason = "no connection could be established";
  } else {
    bool ok = true;
    if (o.warmup > 0 && !interrupted.load()) {
      RampStep warmup;
      ok = co.run_step(o.rate_start, o.warmup, &warmup);
    }
    for (double rate : ramp_rates(o)) {
      if (!ok || interrupted.load()) break;
      RampStep step;
      ok = co.run_step(rate, o.step_duration, &step);
      judge(o, &step);
      if (progress) print_ramp_step(stdout, step);
      if (step.have_server_cpu) {
        result.have_server_cpu = true;
        result.server_cpu_s += step.server_cpu_s;
      }
      bool kept_up = step.kept_up;
      std::string verdict = step.verdict;
      result.steps.push_back(std::move(step));
      if (!kept_up) {
        result.stop_reason =
            strprintf("the step at %.0f/s did not keep up: %s", rate, verdict.c_str());
        break;
      }
    }
    if (!ok && result.stop_reason.empty())
      result.stop_reason = interrupted.load() ? "interrupted" : "a worker did not finish a step";
    if (result.stop_reason.empty()) result.stop_reason = "reached --rate-max";
  }
  result.interrupted = interrupted.load();
  co.stop();
  co.merge_totals();
  return result;
}

}  // namespace sipsd::bench
