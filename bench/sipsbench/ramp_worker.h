// RampWorker: one thread's share of ramp mode. Holds --conns persistent connections (its
// share) and, for each step the coordinator orders, sends requests on a timer at the step's
// rate (open loop: never waiting for replies, at most --inflight outstanding per connection; a
// request due beyond that is skipped and counted), then stops sending and awaits the step's
// outstanding replies (at most --timeout) before it reports the step done.
//
// Coordination without locks: the coordinator writes a StepOrder, then bumps
// StepControl::generation (release); a worker that sees the new generation (acquire) copies the
// order. The worker fills that step's StepStats and then stores the generation in done()
// (release); the coordinator reads the StepStats only after seeing it there (acquire), and the
// worker never touches them again.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "bench/sipsbench/loop_worker.h"
#include "bench/sipsbench/request_template.h"
#include "bench/sipsbench/stream.h"

namespace sipsd::bench {

// What happened to the requests of one step (one worker's, or merged).
struct StepStats {
  uint64_t sent = 0;
  uint64_t skipped = 0;            // due, but the connection(s) had --inflight outstanding
  uint64_t replies = 0;            // final replies to this step's requests
  uint64_t replies_in_window = 0;  // final replies received during the step (achieved rate)
  uint64_t status_class[7] = {};   // by status / 100
  uint64_t timeouts = 0;
  uint64_t mismatched = 0;
  uint64_t unexpected = 0;
  uint64_t bad_replies = 0;
  uint64_t connect_failed = 0;
  uint64_t handshake_failed = 0;
  uint64_t closed = 0;
  uint64_t lost = 0;
  int64_t max_lag_ns = 0;    // latest send after its scheduled time (the client falling behind)
  LatencyHistogram latency;  // request written -> final reply
  std::string first_error;

  uint64_t errors() const {
    return timeouts + mismatched + unexpected + bad_replies + connect_failed + handshake_failed +
           closed + lost;
  }
  void note_error(const std::string& what) {
    if (first_error.empty()) first_error = what;
  }
  void merge(const StepStats& o);
};

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

class RampWorker : public LoopWorker {
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
  struct Slot {
    bool busy = false;
    uint32_t seq = 0;
    uint32_t timed_out_seq = 0;
    int generation = 0;  // the step that sent it
    int64_t sent_ns = 0;
  };
  struct Conn;

  void start() override;
  void on_tick(int64_t now) override;
  bool precise_timer() const override { return true; }

  void open(Conn& c, int64_t now);
  static void io_cb(evutil_socket_t fd, short what, void* arg);
  void on_io(Conn& c);
  void on_connected(Conn& c);
  bool read_all(Conn& c);
  bool handle_frames(Conn& c, int64_t now);
  void handle_reply(Conn& c, std::string_view msg, int64_t now);
  bool flush(Conn& c);
  void expire(Conn& c, int64_t now, int64_t limit);
  void broken(Conn& c, uint64_t RunStats::*total, uint64_t StepStats::*step,
              const std::string& why);
  void release(Conn& c, Slot& s, uint16_t slot);
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

  const StepControl& control_;
  const double share_;
  std::vector<std::unique_ptr<Conn>> conns_list_;
  std::vector<std::unique_ptr<StepStats>> steps_;  // by generation; sized once, never moved
  std::atomic<int> ready_{0};
  std::atomic<int> done_{0};
  int ready_count_ = 0;
  uint64_t outstanding_ = 0;
  uint32_t attempts_ = 0;
  uint64_t ticks_ = 0;
  // The step in progress.
  StepOrder order_;
  bool in_step_ = false;
  bool sending_ = false;
  double rate_ = 0;      // this worker's req/s
  uint64_t issued_ = 0;  // requests of this step scheduled so far (sent or skipped)
  uint64_t total_ = 0;   // requests this step schedules in all
  size_t rr_ = 0;        // next connection to send on
  EventPtr pacer_;
  std::vector<Conn*> touched_;
};

}  // namespace sipsd::bench
