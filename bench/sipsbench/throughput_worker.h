// ThroughputWorker: --conns persistent connections (this worker's share), each keeping
// --inflight requests outstanding. Replies are cut off the stream by the StreamFramer and
// matched to their request through Call-ID (connection tag, slot, sequence) and CSeq; a freed
// slot is refilled at once, and all refills of one event go out in one write.
#pragma once

#include <memory>
#include <vector>

#include "bench/sipsbench/loop_worker.h"
#include "bench/sipsbench/request_template.h"
#include "bench/sipsbench/stream.h"

namespace sipsd::bench {

class ThroughputWorker : public LoopWorker {
 public:
  ThroughputWorker(const Options& options, int index, int conns, const RunPlan& plan,
                   const std::atomic<bool>& interrupted);
  ~ThroughputWorker() override;

 private:
  struct Slot {
    bool busy = false;
    uint32_t seq = 0;            // of the request outstanding in this slot
    uint32_t timed_out_seq = 0;  // of the last request here that timed out (its reply is late)
    int64_t sent_ns = 0;
  };
  struct Conn;

  void start() override;
  void on_tick(int64_t now) override;

  void open(Conn& c, int64_t now);
  static void io_cb(evutil_socket_t fd, short what, void* arg);
  void on_io(Conn& c);
  void on_connected(Conn& c);
  // Reads until the stream would block, handling every reply; false when the connection broke.
  bool read_all(Conn& c);
  bool handle_frames(Conn& c, int64_t now);
  void handle_reply(Conn& c, std::string_view msg, int64_t now);
  // Queues a request in every free slot (while the plan allows sending) and writes them.
  void fill(Conn& c, int64_t now);
  bool flush(Conn& c);
  // Counts and frees the requests older than --timeout; true when it freed any.
  bool expire(Conn& c, int64_t now);
  // The connection failed or broke: count it, forget its requests, reconnect later.
  void broken(Conn& c, uint64_t* counter, const std::string& why);
  void release(Conn& c, Slot& s, uint16_t slot);
  void close_all();

  std::vector<std::unique_ptr<Conn>> conns_list_;
  uint64_t outstanding_ = 0;  // requests outstanding over all connections
  uint32_t generation_ = 0;   // connection attempts so far (part of the connection tag)
  uint64_t ticks_ = 0;
};

}  // namespace sipsd::bench
