#include "proto_tls/stream_conn.h"

#include <arpa/inet.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "core/base/clock.h"
#include "core/base/sockaddr_text.h"
#include "core/shm/stats.h"

namespace sipsd {

namespace {

constexpr int kMaxReadsPerEvent = 64;     // then yield to other connections
constexpr size_t kMinInputBuffer = 4096;  // first allocation for an incomplete message
constexpr size_t kKeepOutputCapacity = 64 * 1024;
constexpr size_t kBatchWriteBytes = 64 * 1024;  // batched output written before the event ends

std::string make_label(const ConnEndpoints& e) {
  bool v6 = e.remote_ip.find(':') != std::string::npos;
  return strprintf(v6 ? "%s:[%s]:%u" : "%s:%s:%u", proto_name(e.proto), e.remote_ip.c_str(),
                   static_cast<unsigned>(e.remote_port));
}

void fill_addr(const std::string& ip, uint8_t* out, uint8_t* family) {
  if (inet_pton(AF_INET, ip.c_str(), out) == 1) {
    *family = AF_INET;
  } else if (inet_pton(AF_INET6, ip.c_str(), out) == 1) {
    *family = AF_INET6;
  }
}

const char* max_chunks_param(Proto p) {
  return p == Proto::kTls ? "tls_max_msg_chunks" : "tcp_max_msg_chunks";
}

}  // namespace

StreamConn::StreamConn(const StreamConnContext& ctx, UniqueFd fd, std::unique_ptr<StreamIo> io,
                       ConnEndpoints ends, const StreamConnParams& params,
                       std::shared_ptr<const void> keep_alive)
    : base_(ctx.base),
      fd_(std::move(fd)),
      io_(std::move(io)),
      ends_(std::move(ends)),
      params_(params),
      owner_(*ctx.owner),
      scratch_(*ctx.scratch),
      table_(ctx.table),
      index_(ctx.index),
      owner_index_(ctx.owner_index),
      batch_(ctx.batch),
      keep_alive_(std::move(keep_alive)),
      label_(make_label(ends_)),
      framer_(params.framer),
      lifetime_ms_(params.lifetime_ms) {}

StreamConn::~StreamConn() = default;

Status StreamConn::start() {
  read_ev_.reset(event_new(base_, fd_.get(), EV_READ | EV_PERSIST, on_read_event, this));
  write_ev_.reset(event_new(base_, fd_.get(), EV_WRITE, on_write_event, this));
  timer_ev_.reset(evtimer_new(base_, on_timer_event, this));
  if (!read_ev_ || !write_ev_ || !timer_ev_ || event_add(read_ev_.get(), nullptr) != 0)
    return make_error(label_ + ": cannot register connection events");
  int64_t now = monotonic_ms();
  last_activity_ = now;
  if (ends_.outbound) {
    // Writable = connected (or failed); the deadline covers the connect and the handshake.
    handshake_deadline_ = now + params_.handshake_timeout_ms;
    on_readable_ = on_writable_ = &StreamConn::connect_step;
    publish_state(ConnState::kConnecting);
    arm_timer();
    arm_write();
  } else if (io_->is_tls()) {
    handshake_deadline_ = now + params_.handshake_timeout_ms;
    publish_state(ConnState::kHandshaking);
    arm_timer();
    io_->on_readable();
    handshake_step();  // the ClientHello is often queued already
  } else {
    on_handshake_done();
  }
  return Status::Ok();
}

void StreamConn::connect_step() {
  int err = 0;
  socklen_t len = sizeof err;
  if (getsockopt(fd_.get(), SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
  if (err == EINPROGRESS || err == EALREADY) return;
  if (err != 0) {
    stat_add(ends_.proto, TStat::kConnectsFailed);
    close(strprintf("connect failed: %s", strerror(err)), LogLevel::kNotice, CloseNotify::kSkip);
    return;
  }
  IpPort local = local_ip_port(fd_.get());
  if (!local.ip.empty()) {
    ends_.local_ip = std::move(local.ip);
    ends_.local_port = local.port;
  }
  if (!io_->is_tls()) {
    handshake_deadline_ = 0;
    on_handshake_done();
    return;
  }
  on_readable_ = on_writable_ = &StreamConn::handshake_step;
  publish_state(ConnState::kHandshaking);
  handshake_step();  // sends the ClientHello
}

void StreamConn::on_read_event(evutil_socket_t, short, void* arg) {
  BusyScope busy;
  auto* c = static_cast<StreamConn*>(arg);
  // Replies and forwarded requests made for the messages read now leave together at the end.
  OutputBatch::Scope batch(c->batch_);
  c->io_->on_readable();
  if (c->write_wants_read_) {
    c->write_wants_read_ = false;
    c->flush_step();
    if (c->closed_) return;
  }
  (c->*(c->on_readable_))();
}

void StreamConn::on_write_event(evutil_socket_t, short, void* arg) {
  BusyScope busy;
  auto* c = static_cast<StreamConn*>(arg);
  (c->*(c->on_writable_))();
}

void StreamConn::on_timer_event(evutil_socket_t, short, void* arg) {
  BusyScope busy;
  auto* c = static_cast<StreamConn*>(arg);
  c->timer_at_ = 0;
  int64_t now = monotonic_ms();
  if (c->handshake_deadline_ != 0 && now >= c->handshake_deadline_) {
    stat_add(c->ends_.proto, TStat::kHandshakeTimeouts);
    stat_add(c->ends_.proto, TStat::kHandshakesFailed);
    c->close(strprintf("%s not completed within %lld ms (tcp_max_msg_time)",
                       c->ends_.outbound ? "connect and TLS handshake" : "TLS handshake",
                       static_cast<long long>(c->params_.handshake_timeout_ms)),
             LogLevel::kNotice, CloseNotify::kSkip);
    return;
  }
  if (c->msg_deadline_ != 0 && now >= c->msg_deadline_) {
    stat_add(c->ends_.proto, TStat::kMsgTimeouts);
    c->close(strprintf("read timeout with incomplete SIP message (%zu bytes buffered after "
                       "%lld ms, tcp_max_msg_time)",
                       c->in_len_, static_cast<long long>(c->params_.msg_timeout_ms)),
             LogLevel::kNotice);
    return;
  }
  if (now >= c->last_activity_ + c->lifetime_ms_) {
    stat_add(c->ends_.proto, TStat::kIdleTimeouts);
    c->close(strprintf("no traffic for %lld s (tcp_connection_lifetime)",
                       static_cast<long long>(c->lifetime_ms_ / 1000)),
             LogLevel::kInfo);
    return;
  }
  c->arm_timer();
}

void StreamConn::arm_timer() {
  if (closed_) return;
  int64_t next = last_activity_ + lifetime_ms_;
  if (handshake_deadline_ != 0) next = std::min(next, handshake_deadline_);
  if (msg_deadline_ != 0) next = std::min(next, msg_deadline_);
  // An armed timer that fires earlier re-arms itself (lazy idle refresh: activity only moves
  // last_activity_, it never touches the timer heap).
  if (timer_at_ != 0 && timer_at_ <= next) return;
  int64_t delay = std::max<int64_t>(next - monotonic_ms(), 1);
  struct timeval tv = ms_to_timeval(delay);
  evtimer_add(timer_ev_.get(), &tv);
  timer_at_ = next;
}

void StreamConn::mark_active() {
  last_activity_ = monotonic_ms();
  table_.touch(ends_.slot, realtime_coarse_ms());
}

void StreamConn::arm_write() {
  if (!closed_) event_add(write_ev_.get(), nullptr);
}

void StreamConn::extend_lifetime(int64_t ms) {
  if (closed_ || ms <= lifetime_ms_) return;
  lifetime_ms_ = ms;
  publish_state(state_);
}

void StreamConn::set_alias_port(uint16_t port) {
  if (closed_ || port == alias_port_ || port == ends_.remote_port) return;
  if (indexed_ && alias_port_ != 0) {
    ConnInfo old;
    old.proto = static_cast<uint8_t>(ends_.proto);
    old.remote_port = alias_port_;
    fill_addr(ends_.remote_ip, old.remote_ip, &old.family);
    index_.remove_conn(ends_.slot, old);
  }
  alias_port_ = port;
  indexed_ = false;  // publish_state adds the keys again (the primary one is already there)
  publish_state(state_);
}

void StreamConn::publish_state(ConnState state) {
  ConnInfo info;
  info.id = ends_.id;
  info.owner = owner_index_;
  info.proto = static_cast<uint8_t>(ends_.proto);
  info.local_port = ends_.local_port;
  info.remote_port = ends_.remote_port;
  fill_addr(ends_.local_ip, info.local_ip, &info.family);
  fill_addr(ends_.remote_ip, info.remote_ip, &info.family);
  info.created_ms = ends_.accepted_at_ms;
  info.lifetime_ms = lifetime_ms_;
  info.outbound = ends_.outbound;
  info.alias_port = alias_port_;
  state_ = state;
  if (established_ || ends_.outbound) {
    // An outbound connection names its client domain from the start, so that a second request
    // to the same peer finds it while it is still connecting or in its handshake (and is
    // queued on it) instead of opening another one.
    TlsConnView tls = io_->tls_view();
    snprintf(info.tls_domain, sizeof info.tls_domain, "%.*s", static_cast<int>(tls.domain.size()),
             tls.domain.data());
    if (established_) {
      io_->describe(&info);
      snprintf(info.tls_sni, sizeof info.tls_sni, "%.*s", static_cast<int>(tls.sni.size()),
               tls.sni.data());
    }
  }
  table_.touch(ends_.slot, realtime_coarse_ms());
  table_.update(ends_.slot, info, state);
  if (!indexed_) {
    index_.add_conn(ends_.slot, info);
    indexed_ = true;
  }
}

void StreamConn::handshake_step() {
  IoResult r = io_->handshake();
  switch (r.status) {
    case IoStatus::kOk:
      on_handshake_done();
      return;
    case IoStatus::kWantRead:
      return;  // the read event is always armed
    case IoStatus::kWantWrite:
      arm_write();
      return;
    case IoStatus::kClosed:
    case IoStatus::kError:
      stat_add(ends_.proto, TStat::kHandshakesFailed);
      if (io_->peer_verify_failed()) stat_add(ends_.proto, TStat::kVerifyFailed);
      close("TLS handshake failed: " + io_->error(), LogLevel::kNotice, CloseNotify::kSkip);
      return;
  }
}

void StreamConn::on_handshake_done() {
  established_ = true;
  was_established_ = true;
  handshake_deadline_ = 0;
  on_readable_ = &StreamConn::read_step;
  on_writable_ = &StreamConn::flush_step;
  last_activity_ = monotonic_ms();
  publish_state(ConnState::kEstablished);
  if (io_->is_tls()) {
    stat_add(ends_.proto, TStat::kHandshakesOk);
    if (io_->session_resumed()) stat_add(ends_.proto, TStat::kResumed);
    if (logger().enabled(LogLevel::kInfo)) {
      ConnInfo info;
      io_->describe(&info);
      LOG_INFO("proto_tls", "%s (id %u): TLS connection established: %s, %s, peer %s",
               label_.c_str(), ends_.id, info.tls_version, info.tls_cipher,
               info.tls_peer_verified ? "verified" : "not verified");
    }
  }
  arm_timer();
  if (out_off_ < out_.size()) flush_step();
  // Application data that arrived together with the Finished (no read when the handshake's
  // last read found the socket empty).
  if (!closed_ && !(io_->is_tls() && io_->drained())) read_step();
}

void StreamConn::read_step() {
  if (read_wants_write_) return;  // the transport waits for writability first
  for (int reads = 0; !closed_;) {
    bool into_scratch = in_len_ == 0;
    char* dst;
    size_t cap;
    if (into_scratch) {
      dst = scratch_.buf.data();
      cap = scratch_.buf.size();
    } else {
      if (in_cap_ - in_len_ < 1024 && in_cap_ < params_.framer.max_msg_size + 1) {
        size_t grown = std::min(in_cap_ * 2, params_.framer.max_msg_size + 1);
        std::unique_ptr<char[]> bigger(new char[grown]);
        memcpy(bigger.get(), in_.get(), in_len_);
        in_ = std::move(bigger);
        in_cap_ = grown;
      }
      dst = in_.get() + in_len_;
      cap = in_cap_ - in_len_;
      if (cap == 0) {  // the framer refuses oversized messages before this can happen
        stat_add(ends_.proto, TStat::kOversized);
        close("message too large", LogLevel::kNotice);
        return;
      }
    }
    IoResult r = io_->read(dst, cap);
    switch (r.status) {
      case IoStatus::kOk: {
        stat_add(ends_.proto, TStat::kBytesIn, r.bytes);
        if (into_scratch) {
          size_t used = consume(dst, r.bytes);
          if (closed_) return;
          keep_tail(dst + used, r.bytes - used);
        } else {
          in_len_ += r.bytes;
          size_t used = consume(in_.get(), in_len_);
          if (closed_) return;
          in_len_ -= used;
          if (in_len_ == 0) {
            in_.reset();
            in_cap_ = 0;
          } else if (used > 0) {
            memmove(in_.get(), in_.get() + used, in_len_);
          }
        }
        if (io_->drained()) {  // no read() that could only say EAGAIN
          end_read_event();
          return;
        }
        if (++reads >= kMaxReadsPerEvent) {
          event_active(read_ev_.get(), EV_READ, 0);  // continue on the next loop turn
          end_read_event();
          return;
        }
        continue;
      }
      case IoStatus::kWantRead:
        end_read_event();
        return;
      case IoStatus::kWantWrite:
        read_wants_write_ = true;
        arm_write();
        end_read_event();
        return;
      case IoStatus::kClosed:
        close(framer_.in_message() ? "closed by peer in the middle of a message" : "closed by peer",
              LogLevel::kInfo, CloseNotify::kSkip);
        return;
      case IoStatus::kError:
        close(io_->error(), LogLevel::kNotice, CloseNotify::kSkip);
        return;
    }
  }
}

size_t StreamConn::consume(char* data, size_t len) {
  size_t off = 0;
  while (!closed_) {
    Frame f = framer_.next(std::string_view(data + off, len - off));
    off += f.skip;
    switch (f.kind) {
      case FrameKind::kMessage:
        mark_active();
        msg_deadline_ = 0;
        owner_.on_message(*this, data + off, f.length);
        off += f.length;
        continue;
      case FrameKind::kPing:
        mark_active();
        msg_deadline_ = 0;
        stat_add(ends_.proto, TStat::kCrlfPings);
        send("\r\n");
        continue;
      case FrameKind::kNeedMore:
        return off;
      case FrameKind::kError:
        if (f.error == FrameError::kTooLarge) {
          stat_add(ends_.proto, TStat::kOversized);
          close(strprintf("message larger than %zu bytes", params_.framer.max_msg_size),
                LogLevel::kNotice);
        } else {
          stat_add(ends_.proto, TStat::kFramingErrors);
          close(frame_error_text(f.error), LogLevel::kNotice);
        }
        return off;
    }
  }
  return off;
}

void StreamConn::keep_tail(const char* data, size_t len) {
  if (len == 0) return;
  in_cap_ = std::max(kMinInputBuffer, len * 2);
  in_cap_ = std::min(in_cap_, params_.framer.max_msg_size + 1);
  in_.reset(new char[in_cap_]);
  memcpy(in_.get(), data, len);
  in_len_ = len;
}

void StreamConn::end_read_event() {
  if (closed_) return;
  if (framer_.end_read_event() == FrameError::kTooManyChunks) {
    stat_add(ends_.proto, TStat::kChunksExceeded);
    close(strprintf("message not complete after %d reads (%s=%d)", framer_.chunks(),
                    max_chunks_param(ends_.proto), params_.framer.max_msg_chunks),
          LogLevel::kNotice);
    return;
  }
  if (framer_.in_message()) {
    if (msg_deadline_ == 0) {
      msg_deadline_ = monotonic_ms() + params_.msg_timeout_ms;
      arm_timer();
    }
  } else {
    msg_deadline_ = 0;
  }
}

void StreamConn::send(std::string_view bytes) {
  if (closed_) return;
  if (established_ && batch_ != nullptr && batch_->open() && !write_wants_read_ &&
      (in_batch_ || out_off_ == out_.size())) {
    if (out_.size() - out_off_ + bytes.size() > params_.max_output_bytes) {
      stat_add(ends_.proto, TStat::kWriteOverflows);
      close(strprintf("peer is not reading: more than %zu bytes queued", params_.max_output_bytes),
            LogLevel::kWarn, CloseNotify::kSkip);
      return;
    }
    if (!in_batch_) {
      in_batch_ = true;
      batch_->add(this);
      out_.clear();
      out_off_ = 0;
    } else if (out_off_ >= kKeepOutputCapacity && out_off_ * 2 >= out_.size()) {
      out_.erase(0, out_off_);  // written already
      out_off_ = 0;
    }
    stat_add(ends_.proto, TStat::kQueuedBytes, bytes.size());
    out_.append(bytes);
    // A read event that answers a flood of pipelined requests writes as it goes rather than
    // holding everything (and hitting max_output_bytes) until it ends.
    if (out_.size() - out_off_ >= kBatchWriteBytes && !write_wants_read_) flush_step();
    return;
  }
  if (established_ && out_off_ == out_.size()) {  // nothing queued: write straight away
    while (!bytes.empty()) {
      IoResult r = io_->write(bytes.data(), bytes.size());
      if (r.status == IoStatus::kOk) {
        stat_add(ends_.proto, TStat::kBytesOut, r.bytes);
        bytes.remove_prefix(r.bytes);
        continue;
      }
      if (r.status == IoStatus::kWantRead) write_wants_read_ = true;
      if (r.status == IoStatus::kWantWrite || r.status == IoStatus::kWantRead) break;
      close(r.status == IoStatus::kClosed ? "closed by peer" : io_->error(), LogLevel::kInfo,
            CloseNotify::kSkip);
      return;
    }
    if (bytes.empty()) {
      mark_active();
      return;
    }
  }
  if (out_.size() - out_off_ + bytes.size() > params_.max_output_bytes) {
    stat_add(ends_.proto, TStat::kWriteOverflows);
    close(strprintf("peer is not reading: more than %zu bytes queued", params_.max_output_bytes),
          LogLevel::kWarn, CloseNotify::kSkip);
    return;
  }
  if (out_off_ == out_.size()) {
    out_.clear();
    out_off_ = 0;
  } else if (out_off_ >= kKeepOutputCapacity && out_off_ * 2 >= out_.size()) {
    out_.erase(0, out_off_);  // drop what was written, so the buffer does not keep growing
    out_off_ = 0;
  }
  stat_add(ends_.proto, TStat::kWritesQueued);
  stat_add(ends_.proto, TStat::kQueuedBytes, bytes.size());
  out_.append(bytes);
  if (!write_wants_read_) arm_write();
}

void StreamConn::flush_batch() {
  if (!in_batch_) return;
  in_batch_ = false;
  if (closed_) return;
  flush_step();
  if (!closed_ && out_off_ < out_.size()) stat_add(ends_.proto, TStat::kWritesQueued);
}

void StreamConn::flush_step() {
  while (out_off_ < out_.size()) {
    IoResult r = io_->write(out_.data() + out_off_, out_.size() - out_off_);
    switch (r.status) {
      case IoStatus::kOk:
        stat_add(ends_.proto, TStat::kBytesOut, r.bytes);
        stat_add(ends_.proto, TStat::kQueuedBytes, -static_cast<uint64_t>(r.bytes));
        out_off_ += r.bytes;
        continue;
      case IoStatus::kWantWrite:
        arm_write();
        return;
      case IoStatus::kWantRead:
        write_wants_read_ = true;  // the next read event retries the write first
        return;
      case IoStatus::kClosed:
        close("closed by peer", LogLevel::kInfo, CloseNotify::kSkip);
        return;
      case IoStatus::kError:
        close(io_->error(), LogLevel::kNotice, CloseNotify::kSkip);
        return;
    }
  }
  out_.clear();
  out_off_ = 0;
  if (out_.capacity() > kKeepOutputCapacity) out_.shrink_to_fit();
  mark_active();
  if (read_wants_write_) {
    read_wants_write_ = false;
    read_step();
  }
}

void StreamConn::close(std::string_view reason, LogLevel level, CloseNotify notify) {
  if (closed_) return;
  closed_ = true;
  close_reason_.assign(reason);
  if (in_batch_) {
    // What this event answered before the close still goes out (a 400 before a framing
    // error, a reply to a request that came with the FIN), as it did when sends wrote at once.
    in_batch_ = false;
    batch_->remove(this);
    while (out_off_ < out_.size()) {
      IoResult r = io_->write(out_.data() + out_off_, out_.size() - out_off_);
      if (r.status != IoStatus::kOk) break;
      stat_add(ends_.proto, TStat::kBytesOut, r.bytes);
      stat_add(ends_.proto, TStat::kQueuedBytes, -static_cast<uint64_t>(r.bytes));
      out_off_ += r.bytes;
    }
  }
  if (logger().enabled(level)) {
    logger().write(level, "proto_tls", "%s (id %u): closed: %.*s", label_.c_str(), ends_.id,
                   static_cast<int>(reason.size()), reason.data());
  }
  if (notify == CloseNotify::kSend && established_) io_->shutdown();
  read_ev_.reset();
  write_ev_.reset();
  timer_ev_.reset();
  io_.reset();
  fd_.reset();
  in_.reset();
  in_len_ = in_cap_ = 0;
  stat_add(ends_.proto, TStat::kQueuedBytes, -static_cast<uint64_t>(out_.size() - out_off_));
  std::string().swap(out_);
  if (indexed_) {
    ConnInfo key;
    key.proto = static_cast<uint8_t>(ends_.proto);
    key.remote_port = ends_.remote_port;
    key.alias_port = alias_port_;
    fill_addr(ends_.remote_ip, key.remote_ip, &key.family);
    index_.remove_conn(ends_.slot, key);
  }
  table_.release(ends_.slot);
  stat_add(ends_.proto, TStat::kConnsClosed);
  if (!ends_.outbound) stat_add(Stat::kInboundClosed);
  owner_.on_closed(*this);
}

}  // namespace sipsd
