// OutputBatch: what one worker's connections write while it handles one event leaves together.
//
// While a Scope is open (a stream connection's read event, a message from another worker, a
// batch of datagrams), StreamConn::send() on an established connection only appends to that
// connection's output and registers it here; when the outermost Scope closes, every registered
// connection writes all of it at once: one SSL_write (one TLS record up to 16 KB) and one
// write() per connection, however many replies and forwarded requests the event produced.
// Outside a Scope (a timer, a DNS answer) send() writes at once, so a lone message never waits.
#pragma once

#include <vector>

namespace sipsd {

class StreamConn;

class OutputBatch {
 public:
  class Scope {
   public:
    explicit Scope(OutputBatch* batch) : batch_(batch) {
      if (batch_ != nullptr) ++batch_->depth_;
    }
    ~Scope() {
      if (batch_ != nullptr && --batch_->depth_ == 0) batch_->flush();
    }
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;

   private:
    OutputBatch* batch_;
  };

  OutputBatch() = default;
  OutputBatch(const OutputBatch&) = delete;
  OutputBatch& operator=(const OutputBatch&) = delete;

  bool open() const { return depth_ > 0; }
  // `conn` has output to write when the batch ends (registered once until then).
  void add(StreamConn* conn) { pending_.push_back(conn); }
  // `conn` is closing: it must not be flushed.
  void remove(StreamConn* conn);
  // Writes every registered connection's output (also called when the outermost Scope ends).
  void flush();

 private:
  int depth_ = 0;
  std::vector<StreamConn*> pending_;
  std::vector<StreamConn*> flushing_;
};

}  // namespace sipsd
