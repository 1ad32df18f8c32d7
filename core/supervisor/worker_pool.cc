#include "core/supervisor/worker_pool.h"

#include <algorithm>

namespace sipsd {

WorkerPool::WorkerPool(int workers, int stream_workers)
    : w_(static_cast<size_t>(workers)), stream_(stream_workers < 0 ? workers : stream_workers) {}

void WorkerPool::on_spawned(int i, pid_t pid, int64_t now_ms) {
  W& w = w_[i];
  w.pid = pid;
  w.ready = false;
  w.handed = 0;  // the new process starts with fresh counters
  w.started_ms = now_ms;
  w.stalled = false;
}

void WorkerPool::on_ready(int i) {
  w_[i].ready = true;
}

int64_t WorkerPool::on_exited(int i, int64_t now_ms) {
  W& w = w_[i];
  w.pid = 0;
  w.ready = false;
  w.handed = 0;  // its connections went with it (its counters are cleared too)
  w.stalled = false;
  if (now_ms - w.started_ms < kFastFailureMs) {
    ++w.fast_failures;
  } else {
    w.fast_failures = 0;
  }
  if (w.fast_failures == 0) return 0;
  int64_t delay = int64_t{100} << std::min(w.fast_failures - 1, 10);
  return std::min(delay, kMaxRespawnDelayMs);
}

WorkerPool::Health WorkerPool::update_health(int i, int64_t heartbeat_ms, int64_t now_ms) {
  W& w = w_[i];
  bool late = stall_timeout_ms_ > 0 && i < stream_ && w.ready && heartbeat_ms > 0 &&
              now_ms - heartbeat_ms > stall_timeout_ms_;
  if (late == w.stalled) return Health::kUnchanged;
  w.stalled = late;
  return late ? Health::kStalled : Health::kRecovered;
}

int WorkerPool::pick(const std::vector<uint64_t>& closed, const std::vector<bool>* skip) {
  int best = pick_among(closed, skip, false);
  return best >= 0 ? best : pick_among(closed, skip, true);
}

int WorkerPool::pick_among(const std::vector<uint64_t>& closed, const std::vector<bool>* skip,
                           bool include_stalled) {
  int n = stream_;
  if (n == 0) return -1;
  int best = -1;
  uint64_t best_load = 0;
  for (int k = 0; k < n; ++k) {
    int i = (next_ + k) % n;
    if (!w_[i].ready || (skip != nullptr && (*skip)[i])) continue;
    if (w_[i].stalled && !include_stalled) continue;
    uint64_t l = load(i, closed[i]);
    if (best < 0 || l < best_load) {
      best = i;
      best_load = l;
    }
  }
  if (best >= 0) next_ = (best + 1) % n;
  return best;
}

bool WorkerPool::all_ready() const {
  return std::all_of(w_.begin(), w_.end(), [](const W& w) { return w.ready; });
}

int WorkerPool::index_of(pid_t pid) const {
  for (int i = 0; i < size(); ++i)
    if (w_[i].pid == pid) return i;
  return -1;
}

uint64_t WorkerPool::total_open(const std::vector<uint64_t>& closed) const {
  uint64_t total = 0;
  for (int i = 0; i < stream_; ++i) total += load(i, closed[i]);
  return total;
}

}  // namespace sipsd
