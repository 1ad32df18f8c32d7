#include "bench/sipsbench/ramp_worker.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "bench/sipsbench/reply_parser.h"

namespace sipsd::bench {

namespace {

constexpr int64_t kReconnectDelayNs = 100 * 1000 * 1000;
constexpr size_t kMaxInput = (size_t{1} << 20) + kReadChunk;
constexpr uint64_t kExpireEveryTicks = 5;
// The pacing timer's period: one request per period at low rates, batches above 10000 req/s.
constexpr int64_t kMinPaceNs = 100 * 1000;
constexpr int64_t kMaxPaceNs = 1000 * 1000;

}  // namespace

void StepStats::merge(const StepStats& o) {
  sent += o.sent;
  skipped += o.skipped;
  replies += o.replies;
  replies_in_window += o.replies_in_window;
  for (int i = 0; i < 7; ++i) status_class[i] += o.status_class[i];
  timeouts += o.timeouts;
  mismatched += o.mismatched;
  unexpected += o.unexpected;
  bad_replies += o.bad_replies;
  connect_failed += o.connect_failed;
  handshake_failed += o.handshake_failed;
  closed += o.closed;
  lost += o.lost;
  max_lag_ns = std::max(max_lag_ns, o.max_lag_ns);
  latency.merge(o.latency);
  if (first_error.empty()) first_error = o.first_error;
}

struct RampWorker::Conn {
  Conn() : framer(client_framer_limits()) {}

  RampWorker* owner = nullptr;
  uint32_t tag = 0;
  Stream stream;
  EventPtr rev;
  EventPtr wev;
  bool ready = false;
  bool touched = false;
  int64_t deadline = 0;
  int64_t retry_at = 0;
  RequestTemplate tmpl;
  std::vector<Slot> slots;
  std::vector<uint16_t> free_slots;
  int outstanding = 0;
  uint32_t next_seq = 1;
  std::string out;
  size_t out_off = 0;
  std::vector<char> in;
  size_t in_off = 0;
  size_t in_len = 0;
  StreamFramer framer;
};

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
  int64_t now = now_ns();
  for (int i = 0; i < conns_; ++i) {
    auto c = std::make_unique<Conn>();
    c->owner = this;
    c->slots.resize(static_cast<size_t>(options_.inflight));
    c->in.resize(2 * kReadChunk);
    conns_list_.push_back(std::move(c));
  }
  for (auto& c : conns_list_) open(*c, now);
}

void RampWorker::open(Conn& c, int64_t now) {
  c.ready = false;
  c.tag = conn_tag(++attempts_ & 0xffffff);
  c.deadline = now + plan_.timeout;
  Status s = c.stream.open(options_, ctx(), nullptr);
  if (!s.ok()) {
    broken(c, &RunStats::connect_failed, &StepStats::connect_failed, s.message());
    return;
  }
  c.rev.reset(event_new(base(), c.stream.fd(), EV_READ | EV_PERSIST, &RampWorker::io_cb, &c));
  c.wev.reset(event_new(base(), c.stream.fd(), EV_WRITE, &RampWorker::io_cb, &c));
  event_add(c.rev.get(), nullptr);
  event_add(c.wev.get(), nullptr);
}

void RampWorker::io_cb(evutil_socket_t, short, void* arg) {
  auto* c = static_cast<Conn*>(arg);
  c->owner->on_io(*c);
}

void RampWorker::on_io(Conn& c) {
  if (finished()) return;
  if (!c.ready) {
    Io io = c.stream.connect_step();
    if (io == Io::kAgain) {
      if (c.stream.wants_write()) event_add(c.wev.get(), nullptr);
      return;
    }
    if (io != Io::kOk) {
      bool tls_phase = c.stream.phase() == Stream::Phase::kHandshaking;
      if (tls_phase) {
        broken(c, &RunStats::handshake_failed, &StepStats::handshake_failed, c.stream.error());
      } else {
        broken(c, &RunStats::connect_failed, &StepStats::connect_failed, c.stream.error());
      }
      return;
    }
    on_connected(c);
  }
  if (!flush(c)) return;
  if (!read_all(c)) return;
  maybe_end_step(now_ns());
}

void RampWorker::on_connected(Conn& c) {
  RequestSpec spec;
  spec.transport = options_.target.transport;
  spec.method = options_.method;
  spec.body_size = options_.body_size;
  spec.target_ip = options_.target.ip;
  spec.target_port = options_.target.port;
  spec.local_ip = options_.target.ip;
  spec.local_port = c.stream.local_port();
  spec.tag = c.tag;
  c.tmpl = RequestTemplate(spec);
  c.free_slots.clear();
  for (size_t i = c.slots.size(); i-- > 0;) {
    c.slots[i] = Slot{};
    c.free_slots.push_back(static_cast<uint16_t>(i));
  }
  c.outstanding = 0;
  c.out.clear();
  c.out_off = 0;
  c.in_off = c.in_len = 0;
  c.framer.reset();
  c.ready = true;
  ready_.store(++ready_count_, std::memory_order_relaxed);
}

bool RampWorker::read_all(Conn& c) {
  for (;;) {
    if (c.in.size() - c.in_len < kReadChunk) {
      if (c.in_off > 0) {
        memmove(c.in.data(), c.in.data() + c.in_off, c.in_len - c.in_off);
        c.in_len -= c.in_off;
        c.in_off = 0;
      }
      if (c.in.size() - c.in_len < kReadChunk) {
        if (c.in.size() >= kMaxInput) {
          broken(c, &RunStats::bad_replies, &StepStats::bad_replies, "reply larger than 1 MiB");
          return false;
        }
        c.in.resize(c.in.size() * 2);
      }
    }
    size_t n = 0;
    Io io = c.stream.read(c.in.data() + c.in_len, c.in.size() - c.in_len, &n);
    if (io == Io::kOk) {
      c.in_len += n;
      if (!handle_frames(c, now_ns())) return false;
      continue;
    }
    if (io == Io::kAgain) {
      if (c.stream.wants_write()) event_add(c.wev.get(), nullptr);
      return true;
    }
    broken(c, &RunStats::closed, &StepStats::closed, c.stream.error());
    return false;
  }
}

bool RampWorker::handle_frames(Conn& c, int64_t now) {
  for (;;) {
    std::string_view pending(c.in.data() + c.in_off, c.in_len - c.in_off);
    Frame f = c.framer.next(pending);
    switch (f.kind) {
      case FrameKind::kNeedMore:
        c.in_off += f.skip;
        if (c.in_off == c.in_len) c.in_off = c.in_len = 0;
        return true;
      case FrameKind::kPing:
        c.in_off += f.skip;
        break;
      case FrameKind::kMessage:
        handle_reply(c, pending.substr(f.skip, f.length), now);
        c.in_off += f.consumed();
        break;
      case FrameKind::kError:
        broken(c, &RunStats::bad_replies, &StepStats::bad_replies,
               std::string("reply stream: ") + frame_error_text(f.error));
        return false;
    }
  }
}

void RampWorker::release(Conn& c, Slot& s, uint16_t slot) {
  s.busy = false;
  c.free_slots.push_back(slot);
  --c.outstanding;
  --outstanding_;
}

void RampWorker::handle_reply(Conn& c, std::string_view msg, int64_t now) {
  StepStats* st = current();
  auto error = [&](uint64_t RunStats::*total, uint64_t StepStats::*step, const std::string& why) {
    ++(stats_.*total);
    stats_.note_error(why);
    if (st != nullptr) {
      ++(st->*step);
      st->note_error(why);
    }
  };
  ReplyView reply;
  const char* why = nullptr;
  if (!parse_reply(msg, &reply, &why)) {
    error(&RunStats::bad_replies, &StepStats::bad_replies, std::string("bad reply: ") + why);
    return;
  }
  CallIdFields id;
  if (!decode_call_id(reply.call_id, &id) || id.tag != c.tag || id.slot >= c.slots.size()) {
    error(&RunStats::unexpected, &StepStats::unexpected,
          "reply with a foreign Call-ID: " + std::string(reply.call_id));
    return;
  }
  Slot& s = c.slots[id.slot];
  if (!s.busy || s.seq != id.seq) {
    if (s.timed_out_seq == id.seq && id.seq != 0) {
      ++stats_.late;
      if (reply.status >= 200) s.timed_out_seq = 0;
    } else {
      error(&RunStats::unexpected, &StepStats::unexpected,
            "reply to no outstanding request: " + std::string(reply.call_id));
    }
    return;
  }
  if (reply.cseq != s.seq || reply.cseq_method != c.tmpl.method()) {
    error(&RunStats::mismatched, &StepStats::mismatched,
          strprintf("reply CSeq %u does not match request %u", reply.cseq, s.seq));
    release(c, s, id.slot);
    return;
  }
  if (reply.status < 200) return;
  ++stats_.answered;
  ++stats_.measured;
  ++stats_.status_class[reply.status / 100];
  // Every outstanding request belongs to the step in progress (steps drain before the next).
  if (st != nullptr && s.generation == order_.generation) {
    ++st->replies;
    ++st->status_class[reply.status / 100];
    if (now < order_.end) ++st->replies_in_window;
    st->latency.record(static_cast<uint64_t>(now - s.sent_ns));
  }
  release(c, s, id.slot);
}

bool RampWorker::flush(Conn& c) {
  while (c.out_off < c.out.size()) {
    size_t n = 0;
    Io io = c.stream.write(c.out.data() + c.out_off, c.out.size() - c.out_off, &n);
    if (io == Io::kOk) {
      c.out_off += n;
      continue;
    }
    if (io == Io::kAgain) {
      if (c.stream.wants_write()) event_add(c.wev.get(), nullptr);
      return true;
    }
    broken(c, &RunStats::closed, &StepStats::closed, c.stream.error());
    return false;
  }
  c.out.clear();
  c.out_off = 0;
  return true;
}

// Requests sent before `limit` without a final reply are timeouts.
void RampWorker::expire(Conn& c, int64_t now, int64_t limit) {
  StepStats* st = current();
  for (size_t i = 0; i < c.slots.size(); ++i) {
    Slot& s = c.slots[i];
    if (!s.busy || s.sent_ns >= limit) continue;
    ++stats_.timeouts;
    std::string why = strprintf("request timed out after %.3f s", (now - s.sent_ns) / 1e9);
    stats_.note_error(why);
    if (st != nullptr && s.generation == order_.generation) {
      ++st->timeouts;
      st->note_error(why);
    }
    s.timed_out_seq = s.seq;
    release(c, s, static_cast<uint16_t>(i));
  }
}

void RampWorker::broken(Conn& c, uint64_t RunStats::*total, uint64_t StepStats::*step,
                        const std::string& why) {
  ++(stats_.*total);
  stats_.note_error(why);
  stats_.lost += static_cast<uint64_t>(c.outstanding);
  if (StepStats* st = current()) {
    ++(st->*step);
    st->note_error(why);
    st->lost += static_cast<uint64_t>(c.outstanding);
  }
  outstanding_ -= static_cast<uint64_t>(c.outstanding);
  c.outstanding = 0;
  for (Slot& s : c.slots) s.busy = false;
  if (c.ready) ready_.store(--ready_count_, std::memory_order_relaxed);
  c.rev.reset();
  c.wev.reset();
  c.stream.close();
  c.ready = false;
  c.retry_at = now_ns() + kReconnectDelayNs;
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
      Conn* c = nullptr;
      for (size_t tries = 0; tries < conns_list_.size() && c == nullptr; ++tries) {
        Conn* cand = conns_list_[rr_++ % conns_list_.size()].get();
        if (cand->ready && !cand->free_slots.empty()) c = cand;
      }
      if (c == nullptr) {
        ++st.skipped;
        continue;
      }
      if (c->out_off == c->out.size()) {
        c->out.clear();
        c->out_off = 0;
      }
      uint16_t slot = c->free_slots.back();
      c->free_slots.pop_back();
      Slot& s = c->slots[slot];
      s.busy = true;
      s.seq = c->next_seq;
      s.sent_ns = now;
      s.generation = order_.generation;
      c->next_seq = c->next_seq == kMaxSeq ? 1 : c->next_seq + 1;
      c->tmpl.append_to(&c->out, slot, s.seq);
      ++c->outstanding;
      ++outstanding_;
      ++st.sent;
      ++stats_.sent;
      if (!c->touched) {
        c->touched = true;
        touched_.push_back(c);
      }
    }
    for (Conn* c : touched_) {
      c->touched = false;
      flush(*c);
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
  if (outstanding_ > 0 && now < order_.end + plan_.timeout) return;
  for (auto& c : conns_list_) expire(*c, now, INT64_MAX);
  in_step_ = false;
  publish();
  done_.store(order_.generation, std::memory_order_release);
}

void RampWorker::on_tick(int64_t now) {
  if (finished()) return;
  if (now >= plan_.stop || interrupted() || control_.stop.load(std::memory_order_relaxed)) {
    stats_.unanswered_at_end += outstanding_;
    event_del(pacer_.get());
    close_all();
    finish();
    return;
  }
  int generation = control_.generation.load(std::memory_order_acquire);
  if (generation != order_.generation && !in_step_) begin_step(now);
  bool expire_now = ++ticks_ % kExpireEveryTicks == 0;
  for (auto& cp : conns_list_) {
    Conn& c = *cp;
    if (c.stream.phase() == Stream::Phase::kClosed) {
      if (now >= c.retry_at) open(c, now);
      continue;
    }
    if (!c.ready) {
      if (now >= c.deadline) {
        if (c.stream.phase() == Stream::Phase::kHandshaking) {
          broken(c, &RunStats::handshake_failed, &StepStats::handshake_failed,
                 "TLS handshake timed out");
        } else {
          broken(c, &RunStats::connect_failed, &StepStats::connect_failed, "connect timed out");
        }
      }
      continue;
    }
    if (expire_now) expire(c, now, now - plan_.timeout);
  }
  maybe_end_step(now);
}

void RampWorker::close_all() {
  for (auto& c : conns_list_) {
    c->rev.reset();
    c->wev.reset();
    c->stream.close();
    c->ready = false;
  }
  ready_count_ = 0;
  ready_.store(0, std::memory_order_relaxed);
}

}  // namespace sipsd::bench
