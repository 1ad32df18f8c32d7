// LoopWorker: what both load modes share — one thread's libevent loop, its SSL_CTX, a periodic
// tick that enforces deadlines and the run plan, and the counters the main thread reads.
// A mode derives from it and implements start() and on_tick().
#pragma once

#include <event2/event.h>

#include <atomic>
#include <cstdint>

#include "bench/sipsbench/options.h"
#include "bench/sipsbench/request_template.h"
#include "bench/sipsbench/run_stats.h"
#include "core/base/event_ptr.h"
#include "core/base/result.h"
#include "proto_tls/stream_framer.h"
#include "tls_mgm/openssl_ptr.h"

namespace sipsd::bench {

// How often deadlines (connect, handshake, request timeouts, the end of the run) are checked.
inline constexpr int64_t kTickNs = 20 * 1000 * 1000;
// Bytes asked for per read call: a TLS record's plaintext and then some.
inline constexpr size_t kReadChunk = 16384 + 512;

// The framer's limits for replies read by a client: no keep-alive answers, no read-count limit.
FramerLimits client_framer_limits();

class LoopWorker {
 public:
  // `index` names the worker (it goes into every Call-ID); `conns` is its share of --conns.
  LoopWorker(const Options& options, int index, int conns, const RunPlan& plan,
             const std::atomic<bool>& interrupted);
  virtual ~LoopWorker() = default;
  LoopWorker(const LoopWorker&) = delete;
  LoopWorker& operator=(const LoopWorker&) = delete;

  // Creates the event loop and the TLS context. Called before the thread starts.
  Status init();
  // The thread body: start(), then the loop until the plan's stop time (or earlier when done).
  void run();

  const RunStats& stats() const { return stats_; }
  const LiveCounters& live() const { return live_; }

 protected:
  virtual void start() = 0;
  // True: the event loop keeps timers with sub-millisecond precision.
  virtual bool precise_timer() const { return false; }
  // Every kTickNs. The mode checks its deadlines; it calls finish() when it is done.
  virtual void on_tick(int64_t now) = 0;

  // Leaves the event loop (after the current callback).
  void finish();
  bool finished() const { return finished_; }
  // True while new requests / connections may be started.
  bool sending(int64_t now) const {
    return now < plan_.measure_to && !interrupted_.load(std::memory_order_relaxed);
  }
  bool interrupted() const { return interrupted_.load(std::memory_order_relaxed); }
  // Makes the live counters current.
  void publish() {
    live_.done.store(stats_.answered, std::memory_order_relaxed);
    live_.errors.store(stats_.errors(), std::memory_order_relaxed);
  }
  // A connection tag: worker index in the top byte, connection number below.
  uint32_t conn_tag(uint32_t n) const { return make_conn_tag(index_, n); }

  event_base* base() const { return base_.get(); }
  SSL_CTX* ctx() const { return ctx_.get(); }  // null for a tcp: target

  const Options& options_;
  const int index_;
  const int conns_;
  const RunPlan plan_;
  RunStats stats_;

 private:
  static void tick_cb(evutil_socket_t, short, void* arg);

  const std::atomic<bool>& interrupted_;
  LiveCounters live_;
  EventBasePtr base_;
  EventPtr tick_;
  SslCtxPtr ctx_;
  bool finished_ = false;
};

}  // namespace sipsd::bench
