// WorkerPool: the supervisor's decisions about its workers, with no sockets or signals in it
// (the supervisor shell feeds it events): which worker gets the next connection, which worker
// has stalled, when a dead worker is respawned.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <vector>

namespace sipsd {

class WorkerPool {
 public:
  // `workers` processes; the first `stream_workers` of them take TCP/TLS connections (the others
  // are UDP workers: respawned the same way, never handed a connection).
  explicit WorkerPool(int workers, int stream_workers = -1);

  int size() const { return static_cast<int>(w_.size()); }
  int stream_workers() const { return stream_; }
  // Slot i (0-based) got a new process.
  void on_spawned(int i, pid_t pid, int64_t now_ms);
  void on_ready(int i);
  // The process of slot i is gone. Returns the delay in ms before respawning it: 0 normally,
  // growing (up to kMaxRespawnDelayMs) while the slot keeps dying right after it starts.
  int64_t on_exited(int i, int64_t now_ms);

  // The worker for a new connection: the ready stream worker with the fewest open connections
  // (handed to it minus the ones it reports closed), ties going round-robin, passing over
  // stalled workers unless every candidate is stalled (then a slow worker is better than a
  // dropped connection). -1 if none is ready. `closed[i]` is worker i's closed-connections
  // counter; workers with skip[i] set (e.g. whose channel is full right now) are passed over.
  int pick(const std::vector<uint64_t>& closed, const std::vector<bool>* skip = nullptr);
  // A connection was handed to worker i (or the hand-off failed: undo).
  void on_handed(int i) { ++w_[i].handed; }
  void on_handoff_failed(int i) { --w_[i].handed; }

  // Stalled workers: a ready stream worker whose loop last wrote its heartbeat (monotonic ms)
  // more than `timeout_ms` ago gets no new connection until it beats again. 0 = never stalled.
  void set_stall_timeout(int64_t timeout_ms) { stall_timeout_ms_ = timeout_ms; }
  enum class Health { kUnchanged, kStalled, kRecovered };
  // Worker i's heartbeat as read now: whether it has just stalled or just recovered.
  Health update_health(int i, int64_t heartbeat_ms, int64_t now_ms);
  bool stalled(int i) const { return w_[i].stalled; }

  pid_t pid(int i) const { return w_[i].pid; }
  bool ready(int i) const { return w_[i].ready; }
  bool all_ready() const;
  int index_of(pid_t pid) const;
  // Open connections of worker i according to the counters.
  uint64_t load(int i, uint64_t closed) const { return w_[i].handed - closed; }
  uint64_t total_open(const std::vector<uint64_t>& closed) const;

  static constexpr int64_t kFastFailureMs = 2000;
  static constexpr int64_t kMaxRespawnDelayMs = 10000;

 private:
  struct W {
    pid_t pid = 0;
    bool ready = false;
    uint64_t handed = 0;
    int64_t started_ms = 0;
    int fast_failures = 0;
    bool stalled = false;
  };
  int pick_among(const std::vector<uint64_t>& closed, const std::vector<bool>* skip,
                 bool include_stalled);

  std::vector<W> w_;
  int stream_ = 0;
  int64_t stall_timeout_ms_ = 0;
  int next_ = 0;  // round-robin start for ties
};

}  // namespace sipsd
