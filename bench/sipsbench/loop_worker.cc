#include "bench/sipsbench/loop_worker.h"

#include <memory>

#include "bench/sipsbench/client_tls.h"

namespace sipsd::bench {

FramerLimits client_framer_limits() {
  FramerLimits l;
  l.max_msg_size = size_t{1} << 20;
  l.crlf_pingpong = false;  // a client answers no pings; a stray CRLF is skipped as whitespace
  l.crlf_drop = false;
  l.max_msg_chunks = 1 << 30;  // end_read_event() is never called
  return l;
}

LoopWorker::LoopWorker(const Options& options, int index, int conns, const RunPlan& plan,
                       const std::atomic<bool>& interrupted)
    : options_(options), index_(index), conns_(conns), plan_(plan), interrupted_(interrupted) {}

namespace {

struct EventConfigFree {
  void operator()(event_config* c) const { event_config_free(c); }
};
using EventConfigPtr = std::unique_ptr<event_config, EventConfigFree>;

}  // namespace

Status LoopWorker::init() {
  EventConfigPtr cfg(event_config_new());
  if (!cfg) return make_error("event_config_new failed");
  // Sub-millisecond timers (timerfd) for a mode that paces requests.
  if (precise_timer()) event_config_set_flag(cfg.get(), EVENT_BASE_FLAG_PRECISE_TIMER);
  base_.reset(event_base_new_with_config(cfg.get()));
  if (!base_) return make_error("event_base_new failed");
  tick_.reset(event_new(base_.get(), -1, EV_PERSIST, &LoopWorker::tick_cb, this));
  if (!tick_) return make_error("event_new failed");
  if (options_.target.transport == Transport::kTls) {
    Result<SslCtxPtr> ctx = build_client_ctx(options_);
    if (!ctx.ok()) return make_error(ctx.message());
    ctx_ = std::move(ctx).value();
  }
  return Status::Ok();
}

void LoopWorker::run() {
  timeval tv = {0, static_cast<suseconds_t>(kTickNs / 1000)};
  event_add(tick_.get(), &tv);
  start();
  publish();
  if (!finished_) event_base_dispatch(base_.get());
  event_del(tick_.get());
  publish();
}

void LoopWorker::finish() {
  finished_ = true;
  event_base_loopbreak(base_.get());
}

void LoopWorker::tick_cb(evutil_socket_t, short, void* arg) {
  auto* self = static_cast<LoopWorker*>(arg);
  self->on_tick(now_ns());
  self->publish();
}

}  // namespace sipsd::bench
