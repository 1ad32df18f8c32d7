// RampWorker: one thread's share of ramp mode. Holds --conns persistent connections (its
// share, RequestPipes) and, for each step the coordinator orders, sends requests on a timer at
// the step's rate (open loop: never waiting for replies, at most --inflight outstanding per
// connection; a request due beyond that is skipped and counted), then stops sending and awaits the
// step's outstanding replies (at most --timeout) before it reports the step done.
//
// Coordination without locks: the coordinator writes a StepOrder, then bumps
// StepControl::generation (release); a worker that sees the new generation (acquire) copies the
// order. The worker fills that step's StepStats and then stores the generation in done()
// (release); the coordinator reads the StepStats only after seeing it there (acquire), and the
// worker never touches them again.
#pragma once

#include <atomic>
#include <memory>
#include <optional>
#include <vector>

#include "bench/sipsbench/loop_worker.h"
#include "bench/sipsbench/request_pipe.h"
#include "bench/sipsbench/run_stats.h"

namespace sipsd::bench {

struct StepOrder {
  int generation = 0;  // 1, 2, ...: the warm-up (if any) and every step
  double rate = 0;     // req/s offered by all workers together
  int64_t start = 0;   // CLOCK_MONOTONIC ns
  int64_t end = 0;
};

struct StepControl {
  StepOrder order;  // written by the coordinator before generation is bumped
  std::atomic<int> generation{0};
  std::atomic<bool> stop{false};  // close the connections and leave the loop
};

class RampWorker : public LoopWorker, private PipeObserver {
 public:
  // `share`: this worker's fraction of the offered rate (its share of the connections).
  RampWorker(const Options& options, int index, int conns, const RunPlan& plan,
             const std::atomic<bool>& interrupted, const StepControl& control, double share);
  ~RampWorker() override;

  // Connections with their handshake done (read by the coordinator at any time).
  int ready() const { return ready_.load(std::memory_order_relaxed); }
  // The last generation whose StepStats are complete.
  int done() const { return done_.load(std::memory_order_acquire); }
  // Complete once done() >= generation (or after the thread has ended); null if never started.
  const StepStats* step(int generation) const;

 private:
  void start() override;
  void on_tick(int64_t now) override;
  bool precise_timer() const override { return true; }

  // What the pipes tell: the ready count, and the step's share of their errors and replies.
  void pipe_open(RequestPipe& pipe) override;
  void pipe_progress(RequestPipe& pipe, int64_t now) override;
  void pipe_error(RequestPipe& pipe, const PipeError& e) override;
  void pipe_answered(const PipeSlot& request, int status, int64_t now) override;
  void close_all();

  // Steps.
  void begin_step(int64_t now);
  static void pace_cb(evutil_socket_t, short, void* arg);
  void pace(int64_t now);
  // Ends the current step when its sending is over and its replies are in (or timed out).
  void maybe_end_step(int64_t now);
  // The stats of the step in progress, or null between steps.
  StepStats* current() {
    return in_step_ ? steps_[static_cast<size_t>(order_.generation)].get() : nullptr;
  }

  // The next pipe (round robin) with a free slot; pipes_.size() when every one is full or down.
  size_t next_free_pipe();

  const StepControl& control_;
  const double share_;
  std::optional<PipeShared> shared_;  // from start(), once the loop exists
  std::vector<std::unique_ptr<RequestPipe>> pipes_;
  std::vector<std::unique_ptr<StepStats>> steps_;  // by generation; sized once, never moved
  std::atomic<int> ready_{0};
  std::atomic<int> done_{0};
  int ready_count_ = 0;
  uint64_t ticks_ = 0;
  // The step in progress.
  StepOrder order_;
  bool in_step_ = false;
  bool sending_ = false;
  double rate_ = 0;      // this worker's req/s
  uint64_t issued_ = 0;  // requests of this step scheduled so far (sent or skipped)
  uint64_t total_ = 0;   // requests this step schedules in all
  size_t rr_ = 0;        // next pipe to send on
  EventPtr pacer_;
  std::vector<size_t> touched_;   // pipes with requests queued by this pace()
  std::vector<bool> is_touched_;  // by pipe
};

}  // namespace sipsd::bench
