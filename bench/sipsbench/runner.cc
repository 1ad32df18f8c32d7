#include "bench/sipsbench/runner.h"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <thread>
#include <vector>

#include "bench/sipsbench/cpu_usage.h"
#include "bench/sipsbench/handshake_worker.h"
#include "bench/sipsbench/report.h"
#include "bench/sipsbench/throughput_worker.h"

namespace sipsd::bench {

namespace {

constexpr int64_t kMaxDrainNs = 2 * kSecondNs;

void sleep_until(int64_t t) {
  int64_t left = t - now_ns();
  if (left <= 0) return;
  timespec ts = {static_cast<time_t>(left / kSecondNs), static_cast<long>(left % kSecondNs)};
  nanosleep(&ts, nullptr);  // EINTR (a signal) just ends the nap early
}

}  // namespace

Status raise_fd_limit(int needed, const char* what) {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
    return make_error(strprintf("getrlimit(RLIMIT_NOFILE): %s", strerror(errno)));
  if (rl.rlim_cur != rl.rlim_max) {
    rlimit raised = rl;
    raised.rlim_cur = rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0) rl = raised;
  }
  rlim_t need = static_cast<rlim_t>(needed) + 64;  // and a margin for the rest
  if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need)
    return make_error(strprintf(
        "%s %d needs %llu file descriptors but the limit is %llu (hard limit %llu): raise it "
        "with `ulimit -n` (as root up to /proc/sys/fs/nr_open) or ask for fewer",
        what, needed, static_cast<unsigned long long>(need),
        static_cast<unsigned long long>(rl.rlim_cur),
        static_cast<unsigned long long>(rl.rlim_max)));
  return Status::Ok();
}

uint64_t RunResult::successes() const {
  return stats.measured;
}

double RunResult::rate() const {
  return measured_s > 0 ? static_cast<double>(successes()) / measured_s : 0.0;
}

double RunResult::rate_per_server_cpu() const {
  return have_server_cpu && server_cpu_s > 0 ? static_cast<double>(successes()) / server_cpu_s
                                             : 0.0;
}

Status prepare_load_run(const Options& o) {
  Status limit = raise_fd_limit(o.conns, "--conns");
  if (!limit.ok()) return limit;
  if (o.server_pid != 0) {
    Result<TreeCpu> probe = process_tree_cpu(o.server_pid);
    if (!probe.ok()) return make_error("--server-pid: " + probe.message());
  }
  return Status::Ok();
}

Result<RunResult> run_benchmark(const Options& o, const std::atomic<bool>& interrupted) {
  Status ready = prepare_load_run(o);
  if (!ready.ok()) return make_error(ready.message());

  RunPlan plan;
  plan.timeout = to_ns(o.timeout);
  plan.start = now_ns();
  plan.measure_from = plan.start + to_ns(o.warmup);
  plan.measure_to = plan.measure_from + to_ns(o.duration);
  plan.stop = plan.measure_to + std::min(plan.timeout, kMaxDrainNs);

  std::vector<std::unique_ptr<LoopWorker>> workers;
  for (int i = 0; i < o.workers; ++i) {
    int share = o.conns / o.workers + (i < o.conns % o.workers ? 1 : 0);
    std::unique_ptr<LoopWorker> w;
    if (o.mode == Mode::kThroughput) {
      w = std::make_unique<ThroughputWorker>(o, i, share, plan, interrupted);
    } else {
      w = std::make_unique<HandshakeWorker>(o, i, share, plan, interrupted);
    }
    Status s = w->init();
    if (!s.ok()) return make_error(s.message());
    workers.push_back(std::move(w));
  }

  std::vector<std::thread> threads;
  for (auto& w : workers) threads.emplace_back([&w] { w->run(); });

  bool progress = !o.quiet && isatty(STDOUT_FILENO);
  auto live_done = [&] {
    uint64_t n = 0;
    for (auto& w : workers) n += w->live().done.load(std::memory_order_relaxed);
    return n;
  };
  auto live_errors = [&] {
    uint64_t n = 0;
    for (auto& w : workers) n += w->live().errors.load(std::memory_order_relaxed);
    return n;
  };

  RunResult result;
  bool cpu_started = false;
  double server_cpu0 = 0;
  double bench_cpu0 = 0;
  auto sample_server = [&](double* seconds, int* procs) {
    return sample_tree_cpu(o.server_pid, seconds, procs, &result.server_cpu_error);
  };
  auto start_measuring = [&] {
    cpu_started = true;
    bench_cpu0 = self_cpu_seconds();
    if (o.server_pid != 0) result.have_server_cpu = sample_server(&server_cpu0, nullptr);
  };

  int64_t next_progress = plan.start + kSecondNs;
  uint64_t last_done = 0;
  int64_t last_t = plan.start;
  int64_t measured_end = plan.measure_to;
  for (;;) {
    int64_t now = now_ns();
    if (!cpu_started && now >= plan.measure_from) start_measuring();
    if (interrupted.load() || now >= plan.measure_to) {
      measured_end = std::min(now, plan.measure_to);
      result.interrupted = interrupted.load();
      break;
    }
    if (now >= next_progress) {
      if (progress) {
        uint64_t done = live_done();
        const char* phase = last_t < plan.measure_from ? "warm-up" : "measuring";
        double rate =
            static_cast<double>(done - last_done) * 1e9 / static_cast<double>(now - last_t);
        print_progress(stdout, o, static_cast<double>(now - plan.start) / 1e9, phase, rate, done,
                       live_errors());
        last_done = done;
        last_t = now;
      }
      next_progress += kSecondNs;
    }
    int64_t wake = std::min({next_progress, plan.measure_to, now + kSecondNs / 10});
    if (!cpu_started) wake = std::min(wake, plan.measure_from);
    sleep_until(wake);
  }
  if (cpu_started) {
    result.measured_s = static_cast<double>(measured_end - plan.measure_from) / 1e9;
    result.bench_cpu_s = self_cpu_seconds() - bench_cpu0;
    double server_cpu1 = 0;
    if (result.have_server_cpu) {
      result.have_server_cpu = sample_server(&server_cpu1, &result.server_procs);
      result.server_cpu_s = server_cpu1 - server_cpu0;
    }
  }

  for (std::thread& t : threads) t.join();
  for (auto& w : workers) result.stats.merge(w->stats());
  return result;
}

}  // namespace sipsd::bench
