#include "bench/sipsbench/request_pipe.h"

#include <algorithm>
#include <cstring>

#include "bench/sipsbench/loop_worker.h"
#include "bench/sipsbench/reply_parser.h"

namespace sipsd::bench {

namespace {

constexpr int64_t kReconnectDelayNs = 100 * 1000 * 1000;
constexpr size_t kMaxInput = (size_t{1} << 20) + kReadChunk;

}  // namespace

RequestPipe::RequestPipe(PipeShared& shared, PipeObserver& observer)
    : shared_(shared), observer_(observer), framer_(client_framer_limits()) {
  slots_.resize(static_cast<size_t>(shared.options.inflight));
  in_.resize(2 * kReadChunk);
}

void RequestPipe::open(int64_t now) {
  ready_ = false;
  tag_ = shared_.next_tag();
  deadline_ = now + shared_.plan.timeout;
  Status s =
      stream_.open(shared_.base, &RequestPipe::io_cb, this, shared_.options, shared_.ctx, nullptr);
  if (!s.ok()) broken(&ErrorCounts::connect_failed, s.message());
}

void RequestPipe::io_cb(evutil_socket_t, short, void* arg) {
  static_cast<RequestPipe*>(arg)->on_io();
}

void RequestPipe::on_io() {
  if (!ready_) {
    Io io = stream_.connect_step();
    if (io == Io::kAgain) return;
    if (io != Io::kOk) {
      broken(stream_.handshaking() ? &ErrorCounts::handshake_failed : &ErrorCounts::connect_failed,
             stream_.error());
      return;
    }
    on_connected();
  }
  if (!flush() || !read_all()) return;
  observer_.pipe_progress(*this, now_ns());
}

void RequestPipe::on_connected() {
  const Options& o = shared_.options;
  tmpl_ = RequestTemplate(target_request(o, o.method, o.body_size, stream_.local_port(), tag_));
  free_.clear();
  for (size_t i = slots_.size(); i-- > 0;) {
    slots_[i] = PipeSlot{};
    free_.push_back(static_cast<uint16_t>(i));
  }
  outstanding_ = 0;
  out_.clear();
  out_off_ = 0;
  in_off_ = in_len_ = 0;
  framer_.reset();
  ready_ = true;
  observer_.pipe_open(*this);
}

bool RequestPipe::read_all() {
  for (;;) {
    if (in_.size() - in_len_ < kReadChunk) {
      // Move the unconsumed bytes to the front; grow only for a message longer than the buffer.
      if (in_off_ > 0) {
        memmove(in_.data(), in_.data() + in_off_, in_len_ - in_off_);
        in_len_ -= in_off_;
        in_off_ = 0;
      }
      if (in_.size() - in_len_ < kReadChunk) {
        if (in_.size() >= kMaxInput) {
          broken(&ErrorCounts::bad_replies, "reply larger than 1 MiB");
          return false;
        }
        in_.resize(in_.size() * 2);
      }
    }
    size_t n = 0;
    Io io = stream_.read(in_.data() + in_len_, in_.size() - in_len_, &n);
    if (io == Io::kAgain) return true;
    if (io != Io::kOk) {
      broken(&ErrorCounts::closed, stream_.error());
      return false;
    }
    in_len_ += n;
    if (!handle_frames(now_ns())) return false;
  }
}

bool RequestPipe::handle_frames(int64_t now) {
  for (;;) {
    std::string_view pending(in_.data() + in_off_, in_len_ - in_off_);
    Frame f = framer_.next(pending);
    switch (f.kind) {
      case FrameKind::kNeedMore:
        in_off_ += f.skip;
        if (in_off_ == in_len_) in_off_ = in_len_ = 0;
        return true;
      case FrameKind::kPing:
        in_off_ += f.skip;
        break;
      case FrameKind::kMessage:
        handle_reply(pending.substr(f.skip, f.length), now);
        in_off_ += f.consumed();
        break;
      case FrameKind::kError:
        broken(&ErrorCounts::bad_replies,
               std::string("reply stream: ") + frame_error_text(f.error));
        return false;
    }
  }
}

void RequestPipe::handle_reply(std::string_view msg, int64_t now) {
  RunStats& stats = shared_.stats;
  ReplyView reply;
  const char* why = nullptr;
  if (!parse_reply(msg, &reply, &why)) {
    error(&ErrorCounts::bad_replies, std::string("bad reply: ") + why, nullptr);
    return;
  }
  CallIdFields id;
  if (!decode_call_id(reply.call_id, &id) || id.tag != tag_ || id.slot >= slots_.size()) {
    error(&ErrorCounts::unexpected, "reply with a foreign Call-ID: " + std::string(reply.call_id),
          nullptr);
    return;
  }
  PipeSlot& s = slots_[id.slot];
  if (!s.busy || s.seq != id.seq) {
    if (s.timed_out_seq == id.seq && id.seq != 0) {
      ++stats.late;
      if (reply.status >= 200) s.timed_out_seq = 0;
    } else {
      error(&ErrorCounts::unexpected,
            "reply to no outstanding request: " + std::string(reply.call_id), nullptr);
    }
    return;
  }
  if (reply.cseq != s.seq || reply.cseq_method != tmpl_.method()) {
    error(&ErrorCounts::mismatched,
          strprintf("reply CSeq %u %.*s does not match request %u %s", reply.cseq,
                    static_cast<int>(reply.cseq_method.size()), reply.cseq_method.data(), s.seq,
                    tmpl_.method().c_str()),
          &s);
    release(id.slot);
    return;
  }
  bool in_period = shared_.plan.measured(now);
  if (reply.status < 200) {  // provisional: the final reply is still to come
    if (in_period) ++stats.status_class[1];
    return;
  }
  ++stats.answered;
  if (in_period) {
    ++stats.measured;
    ++stats.status_class[reply.status / 100];
    stats.latency.record(static_cast<uint64_t>(now - s.sent_ns));
  }
  observer_.pipe_answered(s, reply.status, now);
  release(id.slot);
}

void RequestPipe::queue(int64_t now, int batch) {
  if (out_off_ == out_.size()) {
    out_.clear();
    out_off_ = 0;
  }
  uint16_t slot = free_.back();
  free_.pop_back();
  PipeSlot& s = slots_[slot];
  s.busy = true;
  s.seq = next_seq_;
  s.batch = batch;
  s.sent_ns = now;
  next_seq_ = next_seq_ == kMaxSeq ? 1 : next_seq_ + 1;
  tmpl_.append_to(&out_, slot, s.seq);
  ++outstanding_;
  ++shared_.outstanding;
  ++shared_.stats.sent;
}

bool RequestPipe::flush() {
  Io io = stream_.write_from(out_, &out_off_);
  if (io == Io::kAgain) return true;
  if (io != Io::kOk) {
    broken(&ErrorCounts::closed, stream_.error());
    return false;
  }
  out_.clear();
  out_off_ = 0;
  return true;
}

bool RequestPipe::expire(int64_t now, int64_t sent_by) {
  bool any = false;
  for (size_t i = 0; i < slots_.size(); ++i) {
    PipeSlot& s = slots_[i];
    if (!s.busy || s.sent_ns > sent_by) continue;
    // Found on a tick, up to a few ticks after its time ran out: the time it was given.
    int64_t waited = std::min(now - s.sent_ns, shared_.plan.timeout);
    error(&ErrorCounts::timeouts, strprintf("request timed out after %.3f s", waited / 1e9), &s);
    s.timed_out_seq = s.seq;
    release(static_cast<uint16_t>(i));
    any = true;
  }
  return any;
}

bool RequestPipe::tick(int64_t now, bool reconnect, bool expire_old) {
  if (stream_.closed()) {
    if (reconnect && now >= retry_at_) open(now);
    return false;
  }
  if (!ready_) {
    if (now >= deadline_) {
      bool tls = stream_.handshaking();
      broken(tls ? &ErrorCounts::handshake_failed : &ErrorCounts::connect_failed,
             tls ? "TLS handshake timed out" : "connect timed out");
    }
    return false;
  }
  return expire_old && expire(now, now - shared_.plan.timeout);
}

void RequestPipe::close() {
  stream_.close();
  ready_ = false;
}

void RequestPipe::release(uint16_t slot) {
  slots_[slot].busy = false;
  free_.push_back(slot);
  --outstanding_;
  --shared_.outstanding;
}

void RequestPipe::error(uint64_t ErrorCounts::*counter, const std::string& why,
                        const PipeSlot* request) {
  shared_.stats.count(counter, why);
  observer_.pipe_error(*this, PipeError{counter, why, request});
}

void RequestPipe::broken(uint64_t ErrorCounts::*counter, const std::string& why) {
  shared_.stats.count(counter, why);
  shared_.stats.lost += outstanding_;
  observer_.pipe_error(*this, PipeError{counter, why, nullptr, true, outstanding_});
  shared_.outstanding -= outstanding_;
  outstanding_ = 0;
  for (PipeSlot& s : slots_) s.busy = false;
  close();
  retry_at_ = now_ns() + kReconnectDelayNs;
}

}  // namespace sipsd::bench
