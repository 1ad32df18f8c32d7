#include "bench/sipsbench/handshake_worker.h"

#include <cstring>

#include "bench/sipsbench/reply_parser.h"

namespace sipsd::bench {

namespace {

// After a failed attempt the next one waits this long, so a refusing server is not hammered.
constexpr int64_t kRetryDelayNs = 10 * 1000 * 1000;

}  // namespace

struct HandshakeWorker::Attempt {
  Attempt() : framer(client_framer_limits()) {}

  HandshakeWorker* owner = nullptr;
  LoopStream stream;
  bool active = false;
  bool requested = false;  // handshake done, request queued
  int64_t started = 0;
  int64_t handshake_done = 0;
  int64_t deadline = 0;
  int64_t retry_at = 0;
  RequestTemplate tmpl;
  uint32_t tag = 0;
  std::string out;
  size_t out_off = 0;
  std::vector<char> in;
  size_t in_len = 0;
  StreamFramer framer;
};

HandshakeWorker::HandshakeWorker(const Options& options, int index, int conns, const RunPlan& plan,
                                 const std::atomic<bool>& interrupted)
    : LoopWorker(options, index, conns, plan, interrupted) {}

HandshakeWorker::~HandshakeWorker() = default;

void HandshakeWorker::start() {
  for (int i = 0; i < conns_; ++i) {
    auto a = std::make_unique<Attempt>();
    a->owner = this;
    a->in.resize(4096);
    attempts_.push_back(std::move(a));
  }
  int64_t now = now_ns();
  for (auto& a : attempts_) begin(*a, now);
}

void HandshakeWorker::begin(Attempt& a, int64_t now) {
  a.tag = conn_tag(++started_ & 0xffffff);
  a.started = now;
  a.deadline = now + plan_.timeout;
  a.requested = false;
  a.out.clear();
  a.out_off = 0;
  a.in_len = 0;
  a.framer.reset();
  a.active = true;
  ++active_;
  SSL_SESSION* offer = options_.resume ? session_.get() : nullptr;
  Status s = a.stream.open(base(), &HandshakeWorker::io_cb, &a, options_, ctx(), offer);
  if (!s.ok()) fail(a, &stats_.connect_failed, s.message());
}

void HandshakeWorker::io_cb(evutil_socket_t, short, void* arg) {
  auto* a = static_cast<Attempt*>(arg);
  a->owner->on_io(*a);
}

void HandshakeWorker::on_io(Attempt& a) {
  if (finished() || !a.active) return;
  if (!a.requested) {
    Io io = a.stream.connect_step();
    if (io == Io::kAgain) return;
    if (io != Io::kOk) {
      fail(a, a.stream.handshaking() ? &stats_.handshake_failed : &stats_.connect_failed,
           a.stream.error());
      return;
    }
    on_handshake_done(a, now_ns());
  }
  if (!flush(a)) return;
  read_reply(a);
}

void HandshakeWorker::on_handshake_done(Attempt& a, int64_t now) {
  a.handshake_done = now;
  a.tmpl = RequestTemplate(target_request(options_, "OPTIONS", 0, a.stream.local_port(), a.tag));
  a.tmpl.append_to(&a.out, 0, 1);
  a.requested = true;
  ++stats_.sent;
}

bool HandshakeWorker::flush(Attempt& a) {
  Io io = a.stream.write_from(a.out, &a.out_off);
  if (io == Io::kOk || io == Io::kAgain) return true;
  fail(a, &stats_.closed, a.stream.error());
  return false;
}

bool HandshakeWorker::read_reply(Attempt& a) {
  for (;;) {
    if (a.in.size() - a.in_len < kReadChunk) a.in.resize(a.in_len + 2 * kReadChunk);
    size_t n = 0;
    Io io = a.stream.read(a.in.data() + a.in_len, a.in.size() - a.in_len, &n);
    if (io == Io::kAgain) return true;
    if (io != Io::kOk) {
      fail(a, &stats_.closed, a.stream.error());
      return false;
    }
    a.in_len += n;
    int64_t now = now_ns();
    size_t off = 0;
    for (;;) {
      std::string_view pending(a.in.data() + off, a.in_len - off);
      Frame f = a.framer.next(pending);
      if (f.kind == FrameKind::kError) {
        fail(a, &stats_.bad_replies, std::string("reply stream: ") + frame_error_text(f.error));
        return false;
      }
      if (f.kind == FrameKind::kNeedMore) {
        off += f.skip;
        break;
      }
      off += f.consumed();
      if (f.kind != FrameKind::kMessage) continue;
      ReplyView reply;
      const char* why = nullptr;
      std::string_view msg = pending.substr(f.skip, f.length);
      if (!parse_reply(msg, &reply, &why)) {
        fail(a, &stats_.bad_replies, std::string("bad reply: ") + why);
        return false;
      }
      CallIdFields id;
      if (!decode_call_id(reply.call_id, &id) || id.tag != a.tag || id.slot != 0 || id.seq != 1) {
        fail(a, &stats_.unexpected, "reply with a foreign Call-ID: " + std::string(reply.call_id));
        return false;
      }
      if (reply.cseq != 1 || reply.cseq_method != "OPTIONS") {
        fail(a, &stats_.mismatched, "reply CSeq does not match the request");
        return false;
      }
      if (reply.status < 200) {
        if (plan_.measured(now)) ++stats_.status_class[1];
        continue;
      }
      succeed(a, reply.status, now);
      return false;
    }
    memmove(a.in.data(), a.in.data() + off, a.in_len - off);
    a.in_len -= off;
  }
}

void HandshakeWorker::succeed(Attempt& a, int status, int64_t now) {
  ++stats_.answered;
  ++stats_.connections;
  SSL* ssl = a.stream.ssl();
  if (plan_.measured(now)) {
    ++stats_.measured;
    ++stats_.measured_connections;
    ++stats_.status_class[status / 100];
    stats_.latency.record(static_cast<uint64_t>(now - a.started));
    stats_.handshake.record(static_cast<uint64_t>(a.handshake_done - a.started));
    if (ssl != nullptr && SSL_session_reused(ssl)) ++stats_.resumed;
  }
  if (options_.resume && ssl != nullptr) {
    // After the reply: a TLS 1.3 server's tickets came before it, so this is the newest one.
    SslSessionPtr s(SSL_get1_session(ssl));
    if (s && SSL_SESSION_is_resumable(s.get())) session_ = std::move(s);
  }
  end(a);
  a.retry_at = now;
  if (sending(now)) begin(a, now);
  maybe_finish(now);
}

void HandshakeWorker::fail(Attempt& a, uint64_t* counter, const std::string& why) {
  ++*counter;
  stats_.note_error(why);
  end(a);
  a.retry_at = now_ns() + kRetryDelayNs;
}

void HandshakeWorker::end(Attempt& a) {
  a.stream.close();
  if (a.active) --active_;
  a.active = false;
}

void HandshakeWorker::maybe_finish(int64_t now) {
  if (active_ == 0 && !sending(now)) finish();
}

void HandshakeWorker::on_tick(int64_t now) {
  if (finished()) return;
  if (now >= plan_.stop || interrupted()) {
    for (auto& a : attempts_) {
      if (a->active) ++stats_.unanswered_at_end;
      end(*a);
    }
    finish();
    return;
  }
  for (auto& ap : attempts_) {
    Attempt& a = *ap;
    if (!a.active) {
      if (sending(now) && now >= a.retry_at) begin(a, now);
      continue;
    }
    if (now < a.deadline) continue;
    if (a.requested) {
      fail(a, &stats_.timeouts, "no reply within the timeout");
    } else if (a.stream.handshaking()) {
      fail(a, &stats_.handshake_failed, "TLS handshake timed out");
    } else {
      fail(a, &stats_.connect_failed, "connect timed out");
    }
  }
  maybe_finish(now);
}

}  // namespace sipsd::bench
