#include "bench/sipsbench/throughput_worker.h"

#include <cstring>

#include "bench/sipsbench/reply_parser.h"

namespace sipsd::bench {

namespace {

constexpr int64_t kReconnectDelayNs = 100 * 1000 * 1000;
constexpr size_t kMaxInput = (size_t{1} << 20) + kReadChunk;
// Request timeouts are looked for every this many ticks (a scan of every in-flight slot).
constexpr uint64_t kExpireEveryTicks = 5;

}  // namespace

struct ThroughputWorker::Conn {
  Conn() : framer(client_framer_limits()) {}

  uint32_t tag = 0;  // this attempt's tag; replies carrying another are unexpected
  Stream stream;
  EventPtr rev;  // persistent read readiness
  EventPtr wev;  // one-shot write readiness, armed when a connect or write must wait
  bool ready = false;
  int64_t deadline = 0;  // connect + handshake must finish by then
  int64_t retry_at = 0;  // when down: reconnect at
  RequestTemplate tmpl;
  std::vector<Slot> slots;
  std::vector<uint16_t> free_slots;
  int outstanding = 0;
  uint32_t next_seq = 1;
  std::string out;  // requests not yet written, from out_off
  size_t out_off = 0;
  std::vector<char> in;  // received bytes not yet consumed: [in_off, in_len)
  size_t in_off = 0;
  size_t in_len = 0;
  StreamFramer framer;
  ThroughputWorker* owner = nullptr;
};

ThroughputWorker::ThroughputWorker(const Options& options, int index, int conns,
                                   const RunPlan& plan, const std::atomic<bool>& interrupted)
    : LoopWorker(options, index, conns, plan, interrupted) {}

ThroughputWorker::~ThroughputWorker() {
  close_all();
}

void ThroughputWorker::start() {
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

void ThroughputWorker::open(Conn& c, int64_t now) {
  c.ready = false;
  c.tag = conn_tag(++generation_ & 0xffffff);
  c.deadline = now + plan_.timeout;
  Status s = c.stream.open(options_, ctx(), nullptr);
  if (!s.ok()) {
    broken(c, &stats_.connect_failed, s.message());
    return;
  }
  c.rev.reset(event_new(base(), c.stream.fd(), EV_READ | EV_PERSIST, &ThroughputWorker::io_cb, &c));
  c.wev.reset(event_new(base(), c.stream.fd(), EV_WRITE, &ThroughputWorker::io_cb, &c));
  event_add(c.rev.get(), nullptr);
  event_add(c.wev.get(), nullptr);
}

void ThroughputWorker::io_cb(evutil_socket_t, short, void* arg) {
  auto* c = static_cast<Conn*>(arg);
  c->owner->on_io(*c);
}

void ThroughputWorker::on_io(Conn& c) {
  if (finished()) return;
  if (!c.ready) {
    Io io = c.stream.connect_step();
    if (io == Io::kAgain) {
      if (c.stream.wants_write()) event_add(c.wev.get(), nullptr);
      return;
    }
    if (io != Io::kOk) {
      bool tls_phase = c.stream.phase() == Stream::Phase::kHandshaking;
      broken(c, tls_phase ? &stats_.handshake_failed : &stats_.connect_failed, c.stream.error());
      return;
    }
    on_connected(c);
  }
  if (!read_all(c)) return;
  int64_t now = now_ns();
  fill(c, now);
  flush(c);
  if (outstanding_ == 0 && !sending(now)) {  // the last outstanding reply of the run
    close_all();
    finish();
  }
}

void ThroughputWorker::on_connected(Conn& c) {
  RequestSpec spec;
  spec.transport = options_.target.transport;
  spec.method = options_.method;
  spec.body_size = options_.body_size;
  spec.target_ip = options_.target.ip;
  spec.target_port = options_.target.port;
  spec.local_ip = options_.target.ip;  // loopback: the same address family and host
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
}

bool ThroughputWorker::read_all(Conn& c) {
  for (;;) {
    if (c.in.size() - c.in_len < kReadChunk) {
      // Move the unconsumed bytes to the front; grow only for a message longer than the buffer.
      if (c.in_off > 0) {
        memmove(c.in.data(), c.in.data() + c.in_off, c.in_len - c.in_off);
        c.in_len -= c.in_off;
        c.in_off = 0;
      }
      if (c.in.size() - c.in_len < kReadChunk) {
        if (c.in.size() >= kMaxInput) {
          broken(c, &stats_.bad_replies, "reply larger than 1 MiB");
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
    broken(c, &stats_.closed, c.stream.error());
    return false;
  }
}

bool ThroughputWorker::handle_frames(Conn& c, int64_t now) {
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
        broken(c, &stats_.bad_replies, std::string("reply stream: ") + frame_error_text(f.error));
        return false;
    }
  }
}

void ThroughputWorker::release(Conn& c, Slot& s, uint16_t slot) {
  s.busy = false;
  c.free_slots.push_back(slot);
  --c.outstanding;
  --outstanding_;
}

void ThroughputWorker::handle_reply(Conn& c, std::string_view msg, int64_t now) {
  ReplyView reply;
  const char* why = nullptr;
  if (!parse_reply(msg, &reply, &why)) {
    ++stats_.bad_replies;
    stats_.note_error(std::string("bad reply: ") + why);
    return;
  }
  CallIdFields id;
  if (!decode_call_id(reply.call_id, &id) || id.tag != c.tag || id.slot >= c.slots.size()) {
    ++stats_.unexpected;
    stats_.note_error("reply with a foreign Call-ID: " + std::string(reply.call_id));
    return;
  }
  Slot& s = c.slots[id.slot];
  if (!s.busy || s.seq != id.seq) {
    if (s.timed_out_seq == id.seq && id.seq != 0) {
      ++stats_.late;
      if (reply.status >= 200) s.timed_out_seq = 0;
    } else {
      ++stats_.unexpected;
      stats_.note_error("reply to no outstanding request: " + std::string(reply.call_id));
    }
    return;
  }
  if (reply.cseq != s.seq || reply.cseq_method != c.tmpl.method()) {
    ++stats_.mismatched;
    stats_.note_error(strprintf("reply CSeq %u %.*s does not match request %u %s", reply.cseq,
                                static_cast<int>(reply.cseq_method.size()),
                                reply.cseq_method.data(), s.seq, c.tmpl.method().c_str()));
    release(c, s, id.slot);
    return;
  }
  bool in_period = plan_.measured(now);
  if (reply.status < 200) {  // provisional: the final reply is still to come
    if (in_period) ++stats_.status_class[1];
    return;
  }
  ++stats_.answered;
  if (in_period) {
    ++stats_.measured;
    ++stats_.status_class[reply.status / 100];
    stats_.latency.record(static_cast<uint64_t>(now - s.sent_ns));
  }
  release(c, s, id.slot);
}

void ThroughputWorker::fill(Conn& c, int64_t now) {
  if (!c.ready || c.free_slots.empty() || !sending(now)) return;
  if (c.out_off == c.out.size()) {
    c.out.clear();
    c.out_off = 0;
  }
  while (!c.free_slots.empty()) {
    uint16_t slot = c.free_slots.back();
    c.free_slots.pop_back();
    Slot& s = c.slots[slot];
    s.busy = true;
    s.seq = c.next_seq;
    s.sent_ns = now;
    c.next_seq = c.next_seq == kMaxSeq ? 1 : c.next_seq + 1;
    c.tmpl.append_to(&c.out, slot, s.seq);
    ++c.outstanding;
    ++outstanding_;
    ++stats_.sent;
  }
}

bool ThroughputWorker::flush(Conn& c) {
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
    broken(c, &stats_.closed, c.stream.error());
    return false;
  }
  c.out.clear();
  c.out_off = 0;
  return true;
}

bool ThroughputWorker::expire(Conn& c, int64_t now) {
  int64_t limit = now - plan_.timeout;
  bool any = false;
  for (size_t i = 0; i < c.slots.size(); ++i) {
    Slot& s = c.slots[i];
    if (!s.busy || s.sent_ns > limit) continue;
    ++stats_.timeouts;
    stats_.note_error(strprintf("request timed out after %.3f s", plan_.timeout / 1e9));
    s.timed_out_seq = s.seq;
    release(c, s, static_cast<uint16_t>(i));
    any = true;
  }
  return any;
}

void ThroughputWorker::broken(Conn& c, uint64_t* counter, const std::string& why) {
  ++*counter;
  stats_.note_error(why);
  stats_.lost += static_cast<uint64_t>(c.outstanding);
  outstanding_ -= static_cast<uint64_t>(c.outstanding);
  c.outstanding = 0;
  c.rev.reset();
  c.wev.reset();
  c.stream.close();
  c.ready = false;
  c.retry_at = now_ns() + kReconnectDelayNs;
}

void ThroughputWorker::on_tick(int64_t now) {
  if (finished()) return;
  if (now >= plan_.stop || interrupted()) {
    stats_.unanswered_at_end += outstanding_;
    close_all();
    finish();
    return;
  }
  bool expire_now = ++ticks_ % kExpireEveryTicks == 0;
  for (auto& cp : conns_list_) {
    Conn& c = *cp;
    if (c.stream.phase() == Stream::Phase::kClosed) {
      if (sending(now) && now >= c.retry_at) open(c, now);
      continue;
    }
    if (!c.ready) {
      if (now >= c.deadline) {
        bool tls_phase = c.stream.phase() == Stream::Phase::kHandshaking;
        broken(c, tls_phase ? &stats_.handshake_failed : &stats_.connect_failed,
               tls_phase ? "TLS handshake timed out" : "connect timed out");
      }
      continue;
    }
    if (expire_now && expire(c, now)) {
      fill(c, now);
      flush(c);
    }
  }
  if (!sending(now) && outstanding_ == 0) {
    close_all();
    finish();
  }
}

void ThroughputWorker::close_all() {
  for (auto& c : conns_list_) {
    c->rev.reset();
    c->wev.reset();
    c->stream.close();
    c->ready = false;
  }
}

}  // namespace sipsd::bench
