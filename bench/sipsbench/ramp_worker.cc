#include "bench/sipsbench/ramp_worker.h"

#include <algorithm>
#include <cmath>
#include <cstdint>

namespace sipsd::bench {

namespace {

constexpr uint64_t kExpireEveryTicks = 5;
// The pacing timer's period: one request per period at low rates, batches above 10000 req/s.
constexpr int64_t kMinPaceNs = 100 * 1000;
constexpr int64_t kMaxPaceNs = 1000 * 1000;

}  // namespace

RampWorker::RampWorker(const Options& options, int index, int conns, const RunPlan& plan,
                       const std::atomic<bool>& interrupted, const StepControl& control,
                       double share)
    : LoopWorker(options, index, conns, plan, interrupted), control_(control), share_(share) {
  steps_.resize(static_cast<size_t>(kMaxSteps) + 2);
}

RampWorker::~RampWorker() {
  close_all();
}

const StepStats* RampWorker::step(int generation) const {
  if (generation < 0 || static_cast<size_t>(generation) >= steps_.size()) return nullptr;
  return steps_[static_cast<size_t>(generation)].get();
}

void RampWorker::start() {
  pacer_.reset(event_new(base(), -1, EV_PERSIST, &RampWorker::pace_cb, this));
  shared_.emplace(options_, plan_, base(), ctx(), index_, stats_);
  PipeObserver& observer = *this;
  for (int i = 0; i < conns_; ++i)
    pipes_.push_back(std::make_unique<RequestPipe>(*shared_, observer));
  is_touched_.assign(pipes_.size(), false);
  int64_t now = now_ns();
  for (auto& p : pipes_) p->open(now);
}

void RampWorker::pipe_open(RequestPipe&) {
  ready_.store(++ready_count_, std::memory_order_relaxed);
}

void RampWorker::pipe_progress(RequestPipe&, int64_t now) {
  maybe_end_step(now);
}

void RampWorker::pipe_error(RequestPipe& pipe, const PipeError& e) {
  StepStats* st = current();
  // Every outstanding request belongs to the step in progress (steps drain before the next).
  if (st != nullptr && (e.request == nullptr || e.request->batch == order_.generation)) {
    st->count(e.counter, e.why);
    st->lost += e.lost;
  }
  if (e.breaks && pipe.ready()) ready_.store(--ready_count_, std::memory_order_relaxed);
}

void RampWorker::pipe_answered(const PipeSlot& request, int status, int64_t now) {
  StepStats* st = current();
  if (st == nullptr || request.batch != order_.generation) return;
  ++st->replies;
  ++st->status_class[status / 100];
  if (now < order_.end) ++st->replies_in_window;
  st->latency.record(static_cast<uint64_t>(now - request.sent_ns));
}

void RampWorker::begin_step(int64_t now) {
  order_ = control_.order;
  auto& slot = steps_.at(static_cast<size_t>(order_.generation));
  slot = std::make_unique<StepStats>();
  in_step_ = true;
  sending_ = true;
  rate_ = order_.rate * share_;
  issued_ = 0;
  double span_s = static_cast<double>(order_.end - order_.start) / 1e9;
  total_ = static_cast<uint64_t>(std::ceil(span_s * rate_));
  int64_t period = rate_ > 0 ? static_cast<int64_t>(1e9 / rate_) : kMaxPaceNs;
  period = std::clamp(period, kMinPaceNs, kMaxPaceNs);
  timeval tv = {0, static_cast<suseconds_t>(period / 1000)};
  event_add(pacer_.get(), &tv);
  pace(now);
}

void RampWorker::pace_cb(evutil_socket_t, short, void* arg) {
  auto* self = static_cast<RampWorker*>(arg);
  self->pace(now_ns());
  self->publish();
}

size_t RampWorker::next_free_pipe() {
  for (size_t tries = 0; tries < pipes_.size(); ++tries) {
    size_t i = rr_++ % pipes_.size();
    if (pipes_[i]->can_send()) return i;
  }
  return pipes_.size();
}

void RampWorker::pace(int64_t now) {
  if (!sending_ || finished()) return;
  StepStats& st = *current();
  if (now >= order_.start) {
    double elapsed_s = static_cast<double>(std::min(now, order_.end) - order_.start) / 1e9;
    uint64_t due = std::min(total_, static_cast<uint64_t>(elapsed_s * rate_) + 1);
    // Bounded by the step's schedule: at most total_ requests over the whole step.
    for (; issued_ < due; ++issued_) {
      int64_t intended =
          order_.start + static_cast<int64_t>(static_cast<double>(issued_) * 1e9 / rate_);
      st.max_lag_ns = std::max(st.max_lag_ns, now - intended);
      size_t i = next_free_pipe();
      if (i == pipes_.size()) {
        ++st.skipped;
        continue;
      }
      pipes_[i]->queue(now, order_.generation);
      ++st.sent;
      if (!is_touched_[i]) {
        is_touched_[i] = true;
        touched_.push_back(i);
      }
    }
    for (size_t i : touched_) {
      is_touched_[i] = false;
      pipes_[i]->flush();
    }
    touched_.clear();
  }
  if (now >= order_.end) {
    sending_ = false;
    event_del(pacer_.get());
    maybe_end_step(now);
  }
}

void RampWorker::maybe_end_step(int64_t now) {
  if (!in_step_ || sending_ || now < order_.end) return;
  if (shared_->outstanding > 0 && now < order_.end + plan_.timeout) return;
  for (auto& p : pipes_) p->expire(now, INT64_MAX);
  in_step_ = false;
  publish();
  done_.store(order_.generation, std::memory_order_release);
}

void RampWorker::on_tick(int64_t now) {
  if (finished()) return;
  if (now >= plan_.stop || interrupted() || control_.stop.load(std::memory_order_relaxed)) {
    stats_.unanswered_at_end += shared_->outstanding;
    event_del(pacer_.get());
    close_all();
    finish();
    return;
  }
  int generation = control_.generation.load(std::memory_order_acquire);
  if (generation != order_.generation && !in_step_) begin_step(now);
  bool expire_now = ++ticks_ % kExpireEveryTicks == 0;
  for (auto& p : pipes_) p->tick(now, true, expire_now);
  maybe_end_step(now);
}

void RampWorker::close_all() {
  for (auto& p : pipes_) p->close();
  ready_count_ = 0;
  ready_.store(0, std::memory_order_relaxed);
}

}  // namespace sipsd::bench
