// HandshakeWorker: new connections as fast as they complete, --conns (this worker's share) at
// a time. Each attempt connects, runs the TLS handshake (offering the previous connection's
// session with --resume), sends one OPTIONS, reads the reply, sends close_notify and closes;
// then the next attempt starts at once.
#pragma once

#include <memory>
#include <vector>

#include "bench/sipsbench/loop_stream.h"
#include "bench/sipsbench/loop_worker.h"
#include "bench/sipsbench/request_template.h"

namespace sipsd::bench {

class HandshakeWorker : public LoopWorker {
 public:
  HandshakeWorker(const Options& options, int index, int conns, const RunPlan& plan,
                  const std::atomic<bool>& interrupted);
  ~HandshakeWorker() override;

 private:
  struct Attempt;

  void start() override;
  void on_tick(int64_t now) override;

  void begin(Attempt& a, int64_t now);
  static void io_cb(evutil_socket_t fd, short what, void* arg);
  void on_io(Attempt& a);
  void on_handshake_done(Attempt& a, int64_t now);
  // Reads until the reply or until the stream would block; false when the attempt ended.
  bool read_reply(Attempt& a);
  bool flush(Attempt& a);
  void succeed(Attempt& a, int status, int64_t now);
  void fail(Attempt& a, uint64_t* counter, const std::string& why);
  void end(Attempt& a);
  void maybe_finish(int64_t now);

  std::vector<std::unique_ptr<Attempt>> attempts_;
  int active_ = 0;         // attempts with a connection open
  uint32_t started_ = 0;   // attempts so far (part of the connection tag)
  SslSessionPtr session_;  // --resume: the session of the last successful connection
};

}  // namespace sipsd::bench
