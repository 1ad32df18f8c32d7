// RequestPipe: one persistent connection carrying up to --inflight requests at a time, one per
// slot. It connects (again after a failure), writes the requests its worker queues, cuts the
// replies off the stream, matches each to its request by Call-ID (connection tag, slot,
// sequence) and CSeq, expires requests older than --timeout, and counts every request, reply
// and error into the worker's RunStats. When to send is its worker's business: ThroughputWorker
// keeps every slot busy (closed loop), RampWorker sends on a timer (open loop).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "bench/sipsbench/loop_stream.h"
#include "bench/sipsbench/options.h"
#include "bench/sipsbench/request_template.h"
#include "bench/sipsbench/run_stats.h"
#include "proto_tls/stream_framer.h"

namespace sipsd::bench {

// What the pipes of one worker share: the loop, where they count, and their totals.
struct PipeShared {
  PipeShared(const Options& o, const RunPlan& p, event_base* b, SSL_CTX* c, int worker, RunStats& s)
      : options(o), plan(p), base(b), ctx(c), stats(s), worker_index(worker) {}

  // A new connection tag: this worker in the top byte, the attempt's number below.
  uint32_t next_tag() { return make_conn_tag(worker_index, ++attempts & 0xffffff); }

  const Options& options;
  const RunPlan& plan;
  event_base* base;
  SSL_CTX* ctx;  // null for a tcp: target
  RunStats& stats;
  const int worker_index;
  uint32_t attempts = 0;     // connection attempts so far
  uint64_t outstanding = 0;  // requests outstanding over all the pipes
};

// One slot of a pipe and the request in it.
struct PipeSlot {
  bool busy = false;
  uint32_t seq = 0;            // of the request outstanding in this slot
  uint32_t timed_out_seq = 0;  // of the last request here that timed out (its reply is late)
  int batch = 0;               // the worker's label for the request (ramp: its step)
  int64_t sent_ns = 0;
};

// An error a pipe counted into RunStats.
struct PipeError {
  uint64_t ErrorCounts::*counter = nullptr;
  std::string why;
  const PipeSlot* request = nullptr;  // the request it concerns, if it concerns one
  bool breaks = false;                // the connection is closed right after
  uint64_t lost = 0;                  // then: requests outstanding on it, counted as lost
};

class RequestPipe;

// What a worker hears from its pipes, beyond what they count into RunStats.
class PipeObserver {
 public:
  // The connection is open and every slot is free.
  virtual void pipe_open(RequestPipe&) {}
  // The pipe handled all it could read and is still open.
  virtual void pipe_progress(RequestPipe& pipe, int64_t now) = 0;
  // Told before a breaking error closes the connection (pipe.ready() is still as it was).
  virtual void pipe_error(RequestPipe&, const PipeError&) {}
  // A final reply to `request`, received at `now`.
  virtual void pipe_answered(const PipeSlot&, int /*status*/, int64_t /*now*/) {}

 protected:
  ~PipeObserver() = default;
};

class RequestPipe {
 public:
  RequestPipe(PipeShared& shared, PipeObserver& observer);
  RequestPipe(const RequestPipe&) = delete;
  RequestPipe& operator=(const RequestPipe&) = delete;

  // Starts a connection attempt with a new tag; a failure is counted, and retried by tick().
  void open(int64_t now);
  // The periodic check: reopens a closed pipe after the retry delay (if `reconnect`), fails an
  // attempt past its deadline and (if `expire_old`) expires the requests older than --timeout.
  // True when expiry freed slots.
  bool tick(int64_t now, bool reconnect, bool expire_old);
  // The requests sent at or before `sent_by` with no final reply are timeouts; true if any.
  bool expire(int64_t now, int64_t sent_by);

  // Open, with a free slot.
  bool can_send() const { return ready_ && !free_.empty(); }
  // Queues one request in a free slot (can_send() must hold), labelled `batch`; flush() writes.
  void queue(int64_t now, int batch);
  // Writes what is queued; false when the connection broke.
  bool flush();
  // Closes the connection; what is outstanding is neither counted nor retried.
  void close();

  bool ready() const { return ready_; }

 private:
  static void io_cb(evutil_socket_t fd, short what, void* arg);
  void on_io();
  void on_connected();
  // Reads until the stream would block, handling every reply; false when the connection broke.
  bool read_all();
  bool handle_frames(int64_t now);
  void handle_reply(std::string_view msg, int64_t now);
  // Counts an error that leaves the connection open.
  void error(uint64_t ErrorCounts::*counter, const std::string& why, const PipeSlot* request);
  // The connection failed or broke: count it, forget its requests, reconnect later.
  void broken(uint64_t ErrorCounts::*counter, const std::string& why);
  void release(uint16_t slot);

  PipeShared& shared_;
  PipeObserver& observer_;
  LoopStream stream_;
  uint32_t tag_ = 0;  // this attempt's; replies carrying another are unexpected
  bool ready_ = false;
  int64_t deadline_ = 0;  // connect + handshake must finish by then
  int64_t retry_at_ = 0;  // when closed: reconnect at
  RequestTemplate tmpl_;
  std::vector<PipeSlot> slots_;
  std::vector<uint16_t> free_;
  uint64_t outstanding_ = 0;
  uint32_t next_seq_ = 1;
  std::string out_;  // requests not yet written, from out_off_
  size_t out_off_ = 0;
  std::vector<char> in_;  // received bytes not yet consumed: [in_off_, in_len_)
  size_t in_off_ = 0;
  size_t in_len_ = 0;
  StreamFramer framer_;
};

}  // namespace sipsd::bench
