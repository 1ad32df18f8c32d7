#include "proto_tls/output_batch.h"

#include <algorithm>

#include "proto_tls/stream_conn.h"

namespace sipsd {

void OutputBatch::remove(StreamConn* conn) {
  std::replace(pending_.begin(), pending_.end(), conn, static_cast<StreamConn*>(nullptr));
  std::replace(flushing_.begin(), flushing_.end(), conn, static_cast<StreamConn*>(nullptr));
}

void OutputBatch::flush() {
  // Sends made while flushing (a write that lets a stalled read go on) are not batched: the
  // batch is closed, so they write at once or join their connection's pending output.
  flushing_.swap(pending_);
  for (size_t i = 0; i < flushing_.size(); ++i) {
    if (StreamConn* c = flushing_[i]) c->flush_batch();
  }
  flushing_.clear();
}

}  // namespace sipsd
