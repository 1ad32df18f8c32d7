#include "bench/sipsbench/register_mode.h"

#include <unistd.h>

#include <algorithm>
#include <memory>
#include <random>
#include <thread>
#include <vector>

#include "bench/sipsbench/report.h"
#include "bench/sipsbench/runner.h"

namespace sipsd::bench {

namespace {

void nap_until(int64_t t) {
  int64_t left = std::min(t - now_ns(), kSecondNs / 10);
  if (left <= 0) return;
  timespec ts = {0, static_cast<long>(left)};
  nanosleep(&ts, nullptr);  // EINTR (a signal) just ends the nap early
}

}  // namespace

double RegisterResult::registrations_per_s() const {
  return measured_s > 0 ? static_cast<double>(stats.completed) / measured_s : 0.0;
}

double RegisterResult::registrations_per_server_cpu() const {
  return have_server_cpu && server_cpu_s > 0 ? static_cast<double>(stats.completed) / server_cpu_s
                                             : 0.0;
}

double RegisterResult::server_cpu_per_registration_us() const {
  return have_server_cpu && stats.completed > 0
             ? server_cpu_s * 1e6 / static_cast<double>(stats.completed)
             : 0.0;
}

double RegisterResult::challenge_share() const {
  return stats.requests_sent > 0
             ? static_cast<double>(stats.challenges) / static_cast<double>(stats.requests_sent)
             : 0.0;
}

Result<RegisterResult> run_register(const Options& o, const std::atomic<bool>& interrupted) {
  Status ready = prepare_load_run(o);
  if (!ready.ok()) return make_error(ready.message());
  std::random_device rd;
  uint32_t run_id = rd() ^ static_cast<uint32_t>(getpid());

  RunPlan plan;
  plan.timeout = to_ns(o.timeout);
  plan.start = now_ns();
  plan.measure_from = plan.start + to_ns(o.warmup);
  plan.measure_to = plan.measure_from + to_ns(o.duration);
  plan.stop = plan.measure_to + plan.timeout + kSecondNs / 2;

  int w = o.workers;
  std::vector<std::unique_ptr<RegisterWorker>> workers;
  for (int i = 0; i < w; ++i) {
    int conns = o.conns / w + (i < o.conns % w ? 1 : 0);
    std::vector<int> users;
    for (int u = i; u < o.reg.users; u += w) users.push_back(u);
    int in_flight = o.call.concurrent / w + (i < o.call.concurrent % w ? 1 : 0);
    double rate = o.call.rate / w;
    auto worker = std::make_unique<RegisterWorker>(
        o, i, conns, std::move(users), std::max(in_flight, 1), rate, plan, interrupted, run_id);
    Status s = worker->init();
    if (!s.ok()) return make_error(s.message());
    workers.push_back(std::move(worker));
  }
  std::vector<std::thread> threads;
  for (auto& wk : workers) threads.emplace_back([&wk] { wk->run(); });

  RegisterResult r;
  bool progress = !o.quiet && isatty(STDOUT_FILENO);
  auto live = [&](uint64_t (RegisterWorker::*get)() const) {
    uint64_t n = 0;
    for (auto& wk : workers) n += ((*wk).*get)();
    return n;
  };
  bool measuring = false;
  double server0 = 0;
  double bench0 = 0;
  int64_t next_progress = plan.start + kSecondNs;
  uint64_t last_done = 0;
  int64_t last_t = plan.start;
  int64_t measured_end = plan.measure_to;
  for (;;) {
    int64_t now = now_ns();
    if (!measuring && now >= plan.measure_from) {
      measuring = true;
      bench0 = self_cpu_seconds();
      for (auto& wk : workers) r.conns_ready += wk->conns_ready();
      if (o.server_pid != 0)
        r.have_server_cpu = sample_tree_cpu(o.server_pid, &server0, nullptr, &r.server_cpu_error);
    }
    if (interrupted.load() || now >= plan.measure_to) {
      measured_end = std::min(now, plan.measure_to);
      break;
    }
    if (now >= next_progress) {
      next_progress += kSecondNs;
      if (progress) {
        uint64_t done = live(&RegisterWorker::live_completed);
        double rate =
            static_cast<double>(done - last_done) * 1e9 / static_cast<double>(now - last_t);
        print_progress(stdout, o, static_cast<double>(now - plan.start) / 1e9,
                       now < plan.measure_from ? "warm-up" : "measuring", rate, done,
                       live(&RegisterWorker::live_failed));
        last_done = done;
        last_t = now;
      }
    }
    nap_until(std::min(
        {next_progress, plan.measure_to, measuring ? plan.measure_to : plan.measure_from}));
  }
  if (measuring) {
    r.measured_s = static_cast<double>(measured_end - plan.measure_from) / 1e9;
    r.bench_cpu_s = self_cpu_seconds() - bench0;
    double server1 = 0;
    if (r.have_server_cpu) {
      r.have_server_cpu =
          sample_tree_cpu(o.server_pid, &server1, &r.server_procs, &r.server_cpu_error);
      r.server_cpu_s = server1 - server0;
    }
  }
  r.interrupted = interrupted.load();
  for (std::thread& t : threads) t.join();
  for (auto& wk : workers) r.stats.merge(wk->register_stats());
  return r;
}

}  // namespace sipsd::bench
