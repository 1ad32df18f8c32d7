// ThroughputWorker: closed-loop load. --conns persistent connections (this worker's share,
// RequestPipes), each keeping --inflight requests outstanding: a slot freed by a reply (or a
// timeout) is refilled at once, and all refills of one event go out in one write.
#pragma once

#include <memory>
#include <optional>
#include <vector>

#include "bench/sipsbench/loop_worker.h"
#include "bench/sipsbench/request_pipe.h"

namespace sipsd::bench {

class ThroughputWorker : public LoopWorker, private PipeObserver {
 public:
  ThroughputWorker(const Options& options, int index, int conns, const RunPlan& plan,
                   const std::atomic<bool>& interrupted);
  ~ThroughputWorker() override;

 private:
  void start() override;
  void on_tick(int64_t now) override;
  void pipe_progress(RequestPipe& pipe, int64_t now) override;

  // Queues a request in every free slot of `pipe` (while the plan allows sending).
  void fill(RequestPipe& pipe, int64_t now);
  // The last outstanding reply is in and nothing more is to be sent: the worker is done.
  void maybe_finish(int64_t now);
  void close_all();

  std::optional<PipeShared> shared_;  // from start(), once the loop exists
  std::vector<std::unique_ptr<RequestPipe>> pipes_;
  uint64_t ticks_ = 0;
};

}  // namespace sipsd::bench
