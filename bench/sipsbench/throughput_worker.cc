#include "bench/sipsbench/throughput_worker.h"

namespace sipsd::bench {

namespace {

// Request timeouts are looked for every this many ticks (a scan of every in-flight slot).
constexpr uint64_t kExpireEveryTicks = 5;

}  // namespace

ThroughputWorker::ThroughputWorker(const Options& options, int index, int conns,
                                   const RunPlan& plan, const std::atomic<bool>& interrupted)
    : LoopWorker(options, index, conns, plan, interrupted) {}

ThroughputWorker::~ThroughputWorker() {
  close_all();
}

void ThroughputWorker::start() {
  shared_.emplace(options_, plan_, base(), ctx(), index_, stats_);
  PipeObserver& observer = *this;
  for (int i = 0; i < conns_; ++i)
    pipes_.push_back(std::make_unique<RequestPipe>(*shared_, observer));
  int64_t now = now_ns();
  for (auto& p : pipes_) p->open(now);
}

void ThroughputWorker::pipe_progress(RequestPipe& pipe, int64_t now) {
  fill(pipe, now);
  pipe.flush();
  maybe_finish(now);
}

void ThroughputWorker::fill(RequestPipe& pipe, int64_t now) {
  if (!sending(now)) return;
  while (pipe.can_send()) pipe.queue(now, 0);
}

void ThroughputWorker::maybe_finish(int64_t now) {
  if (shared_->outstanding == 0 && !sending(now)) {
    close_all();
    finish();
  }
}

void ThroughputWorker::on_tick(int64_t now) {
  if (finished()) return;
  if (now >= plan_.stop || interrupted()) {
    stats_.unanswered_at_end += shared_->outstanding;
    close_all();
    finish();
    return;
  }
  bool expire_now = ++ticks_ % kExpireEveryTicks == 0;
  for (auto& p : pipes_) {
    if (p->tick(now, sending(now), expire_now)) {
      fill(*p, now);
      p->flush();
    }
  }
  maybe_finish(now);
}

void ThroughputWorker::close_all() {
  for (auto& p : pipes_) p->close();
}

}  // namespace sipsd::bench
