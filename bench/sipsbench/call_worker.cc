#include "bench/sipsbench/call_worker.h"

#include <arpa/inet.h>
#include <errno.h>
#include <sys/socket.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "bench/sipsbench/client_tls.h"
#include "bench/sipsbench/digest_client.h"
#include "core/auth/digest.h"

namespace sipsd::bench {

namespace {

constexpr int64_t kReconnectDelayNs = 100 * 1000 * 1000;
constexpr int64_t kMinPaceNs = 100 * 1000;
constexpr int64_t kMaxPaceNs = 1000 * 1000;
constexpr std::string_view kCallIdSuffix = "@sipsbench";

timeval to_timeval(int64_t ns) {
  if (ns < 0) ns = 0;
  return timeval{static_cast<time_t>(ns / kSecondNs),
                 static_cast<suseconds_t>((ns % kSecondNs) / 1000)};
}

bool parse_u32(std::string_view s, uint32_t* out) {
  if (s.empty() || s.size() > 9) return false;
  uint32_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<uint32_t>(c - '0');
  }
  *out = v;
  return true;
}

}  // namespace

CallWorker::CallWorker(const Options& options, int index, int callers, std::vector<int> callees,
                       int in_flight, double rate, const RunPlan& outer,
                       const std::atomic<bool>& interrupted, const CallControl& control,
                       uint32_t run_id, int caller_base)
    : LoopWorker(options, index, callers, outer, interrupted),
      control_(control),
      run_id_(run_id),
      caller_base_(caller_base),
      in_flight_(in_flight),
      rate_(rate),
      t1_(static_cast<int64_t>(options.call.t1_ms * 1e6)),
      t2_(8 * static_cast<int64_t>(options.call.t1_ms * 1e6)),
      hold_(static_cast<int64_t>(options.call.hold_ms * 1e6)) {
  callers_.resize(static_cast<size_t>(callers));
  calls_.resize(static_cast<size_t>(in_flight));
  for (size_t i = calls_.size(); i-- > 0;) free_.push_back(static_cast<uint32_t>(i));
  callee_states_ = std::make_unique<std::atomic<int>[]>(callees.size());
  for (size_t i = 0; i < callees.size(); ++i) {
    auto c = std::make_unique<Callee>();
    c->global = callees[i];
    c->user = strprintf("callee-%d", callees[i]);
    if (options.call.callee_mode == CalleeMode::kRegister) {
      int sub = options.reg.first_user + callees[i];
      c->user = options.reg.user_prefix + std::to_string(sub);
      c->ha1 = auth::compute_ha1(auth::Algorithm::kMd5, c->user, options.reg.domain,
                                 expand_index(options.reg.password, sub));
    }
    callees_.push_back(std::move(c));
    callee_states_[i].store(static_cast<int>(CalleeState::kPending));
  }
  offer_ = sdp_body("caller", static_cast<uint32_t>(index) + 1, 40000);
  answer_ = sdp_body("callee", static_cast<uint32_t>(index) + 1, 50000);
}

CallWorker::~CallWorker() {
  shutdown();
}

// --- setup --------------------------------------------------------------------------------

Status CallWorker::init_call() {
  Status s = init();
  if (!s.ok()) return s;
  const CallOptions& co = options_.call;
  if (co.callee_mode != CalleeMode::kListen) return Status::Ok();
  if (options_.target.transport == Transport::kTls) {
    Result<SslCtxPtr> ctx = build_server_ctx(options_);
    if (!ctx.ok()) return make_error(ctx.message());
    server_ctx_ = std::move(ctx).value();
  }
  for (size_t i = 0; i < callees_.size(); ++i) {
    Status l = listen_callee(*callees_[i], i);
    if (!l.ok()) return l;
  }
  return Status::Ok();
}

void CallWorker::start() {
  timer_ev_.reset(event_new(base(), -1, 0, &CallWorker::timer_cb, this));
  pacer_.reset(event_new(base(), -1, EV_PERSIST, &CallWorker::pace_cb, this));
  int64_t now = now_ns();
  for (size_t i = 0; i < callers_.size(); ++i) open_caller(i, now);
  if (options_.call.callee_mode != CalleeMode::kListen) {
    for (size_t i = 0; i < callees_.size(); ++i) connect_callee(*callees_[i], i, now);
  }
}

void CallWorker::open_caller(size_t i, int64_t now) {
  CallerConn& cc = callers_[i];
  cc.ready = false;
  cc.deadline = now + plan_.timeout;
  cc.ch = std::make_unique<SipChannel>(base(), handler(), static_cast<int>(i));
  Status s;
  if (options_.target.transport == Transport::kUdp) {
    s = cc.ch->open_udp(ipv4_addr(options_.target.ip, 0), &options_.target.addr);
    if (s.ok()) channel_open(*cc.ch);
  } else {
    s = cc.ch->connect_stream(options_, ctx());
  }
  if (!s.ok()) caller_broken(i, s.message());
}

// --- channel events -----------------------------------------------------------------------

void CallWorker::channel_open(SipChannel& ch) {
  int owner = ch.owner_index();
  if (owner >= 0) {
    CallerConn& cc = callers_[static_cast<size_t>(owner)];
    cc.end = CallerEnd{ch.transport(),
                       ch.local_ip(),
                       ch.local_port(),
                       strprintf("caller-%d-%d", index_, owner),
                       {}};
    if (options_.call.caller_auth) {
      const RegisterOptions& r = options_.reg;
      int sub = r.first_user + options_.call.callees + caller_base_ + owner;
      cc.end.user = r.user_prefix + std::to_string(sub);
      cc.end.domain = r.domain;
      cc.ha1 = auth::compute_ha1(auth::Algorithm::kMd5, cc.end.user, r.domain,
                                 expand_index(r.password, sub));
    }
    cc.ready = true;
    callers_ready_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  Callee& c = callee_of(ch);
  if (options_.call.callee_mode != CalleeMode::kListen && &ch == c.channel.get())
    send_callee_options(c, now_ns());
}

void CallWorker::channel_message(SipChannel& ch, sip::Message& msg, const sockaddr_in& from) {
  if (ch.owner_index() >= 0) {
    if (msg.is_request()) {
      answer_stray_request(ch, msg, from);
    } else {
      caller_response(ch, msg);
    }
    return;
  }
  callee_message(ch, callee_of(ch), msg, from);
}

void CallWorker::channel_error(SipChannel& ch, const std::string& why) {
  std::string where = ch.owner_index() >= 0 ? strprintf("caller %d: ", ch.owner_index())
                                            : callee_of(ch).user + ": ";
  note_protocol_error(where + why);
}

void CallWorker::channel_broken(SipChannel& ch, const std::string& why) {
  // Stopping: the other workers are closing their connections too (a callee here sees the EOF).
  if (control_.stop.load(std::memory_order_acquire)) return;
  int owner = ch.owner_index();
  if (owner >= 0) {
    caller_broken(static_cast<size_t>(owner), why);
    return;
  }
  size_t i = static_cast<size_t>(-owner - 1);
  Callee& c = *callees_[i];
  if (&ch == c.channel.get() && !c.answered) {
    callee_failed(i, why);
    return;
  }
  ++cs_.connection_errors;
  cs_.note_error(c.user + ": connection: " + why);
}

void CallWorker::caller_broken(size_t i, const std::string& why) {
  CallerConn& cc = callers_[i];
  if (cc.ready) callers_ready_.fetch_sub(1, std::memory_order_relaxed);
  cc.ready = false;
  if (cc.ch) cc.ch->close();
  ++cs_.connection_errors;
  std::string what = strprintf("caller %zu: %s", i, why.c_str());
  cs_.note_error(what);
  if (cc.calls > 0) {
    for (uint32_t slot = 0; slot < calls_.size(); ++slot) {
      Call& c = calls_[slot];
      if (c.state != CallState::kFree && c.conn == i) end_call(slot, c, Outcome::kTransport, what);
    }
  }
  cc.retry_at = now_ns() + kReconnectDelayNs;
}

void CallWorker::note_protocol_error(const std::string& why) {
  ++cs_.protocol_errors;
  cs_.note_error(why);
}

// --- load ---------------------------------------------------------------------------------

bool CallWorker::sending(int64_t now) const {
  return loaded_ && now < run_.measure_to && !interrupted();
}

void CallWorker::begin_load(int64_t now) {
  run_ = control_.plan;
  uris_ = &control_.callee_uris;
  loaded_ = true;
  next_callee_ = static_cast<size_t>(index_);
  if (rate_ > 0) {
    double span_s = static_cast<double>(run_.measure_to - run_.start) / 1e9;
    total_ = static_cast<uint64_t>(std::ceil(span_s * rate_));
    int64_t period = std::clamp(static_cast<int64_t>(1e9 / rate_), kMinPaceNs, kMaxPaceNs);
    timeval tv = to_timeval(period);
    event_add(pacer_.get(), &tv);
    pace(now);
  } else {
    fill(now);
  }
}

void CallWorker::fill(int64_t now) {
  if (rate_ > 0) return;
  // Bounded: a call whose INVITE cannot be sent ends at once and frees its slot again.
  for (int n = 0; n < in_flight_ && active_ < static_cast<uint32_t>(in_flight_) && sending(now);
       ++n) {
    if (!start_call(now)) break;
  }
}

void CallWorker::pace_cb(evutil_socket_t, short, void* arg) {
  auto* self = static_cast<CallWorker*>(arg);
  self->pace(now_ns());
  self->publish_live();
}

void CallWorker::pace(int64_t now) {
  if (now < run_.start) return;
  double elapsed_s = static_cast<double>(std::min(now, run_.measure_to) - run_.start) / 1e9;
  uint64_t due = std::min(total_, static_cast<uint64_t>(elapsed_s * rate_) + 1);
  // Bounded by the schedule: at most total_ calls over the whole run.
  for (; issued_ < due && !interrupted(); ++issued_) {
    int64_t intended =
        run_.start + static_cast<int64_t>(static_cast<double>(issued_) * 1e9 / rate_);
    cs_.max_lag_ns = std::max(cs_.max_lag_ns, now - intended);
    if (!start_call(now) && run_.measured(intended)) ++cs_.skipped;
  }
  if (now >= run_.measure_to || issued_ >= total_) event_del(pacer_.get());
}

size_t CallWorker::next_ready_conn() {
  for (size_t tries = 0; tries < callers_.size(); ++tries) {
    size_t i = rr_++ % callers_.size();
    if (callers_[i].ready) return i;
  }
  return callers_.size();
}

bool CallWorker::start_call(int64_t now) {
  if (free_.empty() || uris_ == nullptr || uris_->empty()) return false;
  size_t conn = next_ready_conn();
  if (conn == callers_.size()) return false;
  uint32_t slot = free_.back();
  free_.pop_back();
  Call& c = calls_[slot];
  CallerConn& cc = callers_[conn];
  c.state = CallState::kInviting;
  c.conn = static_cast<uint16_t>(conn);
  c.started = now;
  c.tx_sent = now;
  c.provisional = false;
  c.measured = run_.measured(now);
  c.retx_interval = t1_;
  CallerDialog& d = c.d;
  d.call_id = strprintf("c%08x.%d.%u.%u", run_id_, index_, slot, c.gen);
  d.call_id.append(kCallIdSuffix);
  d.from_tag = strprintf("%x%x.%x", run_id_ & 0xffff, static_cast<unsigned>(index_ + 1),
                         static_cast<unsigned>(c.gen * 131071u + slot));
  d.branch = strprintf("z9hG4bK.c%08x.%d.%u.%u", run_id_, index_, slot, c.gen);
  d.ruri = (*uris_)[next_callee_++ % uris_->size()];
  // To: the callee's address of record without URI parameters.
  d.to = "<" + d.ruri.substr(0, d.ruri.find(';')) + ">";
  d.route = DialogRoute{};
  d.cseq = 1;
  d.auth.clear();
  ++active_;
  ++cc.calls;
  ++cs_.started_total;
  if (c.measured) ++cs_.attempted;
  scratch_.clear();
  append_invite(&scratch_, cc.end, d, offer_);
  bool udp = options_.target.transport == Transport::kUdp;
  if (udp) c.request = scratch_;
  if (!send_for(slot, c, scratch_)) return true;  // counted as a failed call
  push_timer(Timer{now + plan_.timeout, slot, c.gen, TimerKind::kTimeout, CallState::kInviting});
  if (udp) push_timer(Timer{now + t1_, slot, c.gen, TimerKind::kRetransmit, CallState::kInviting});
  return true;
}

bool CallWorker::send_for(uint32_t slot, Call& c, const std::string& text) {
  CallerConn& cc = callers_[c.conn];
  if (cc.ch && cc.ch->send(text)) return true;
  if (cc.ch && cc.ch->transport() != Transport::kUdp) return false;  // caller_broken ended it
  if (c.state != CallState::kFree)
    end_call(slot, c, Outcome::kTransport, strprintf("caller %u: send failed", c.conn));
  return false;
}

bool CallWorker::decode_call_id(std::string_view call_id, uint32_t* slot) const {
  // c<run:8 hex>.<worker>.<slot>.<gen>@sipsbench
  if (call_id.size() < 10 || call_id[0] != 'c' ||
      call_id.substr(call_id.size() - kCallIdSuffix.size()) != kCallIdSuffix)
    return false;
  std::string_view rest = call_id.substr(1, call_id.size() - 1 - kCallIdSuffix.size());
  uint32_t fields[4] = {};
  for (int k = 0; k < 4; ++k) {
    size_t dot = rest.find('.');
    std::string_view f = rest.substr(0, dot);
    if (k == 0) {
      if (f.size() != 8) return false;
      char text[9] = {};
      memcpy(text, f.data(), 8);
      char* end = nullptr;
      fields[0] = static_cast<uint32_t>(strtoul(text, &end, 16));
      if (end != text + 8) return false;
    } else if (!parse_u32(f, &fields[k])) {
      return false;
    }
    if (dot == std::string_view::npos) {
      if (k != 3) return false;
      break;
    }
    rest.remove_prefix(dot + 1);
  }
  if (fields[0] != run_id_ || fields[1] != static_cast<uint32_t>(index_) ||
      fields[2] >= calls_.size() || calls_[fields[2]].gen != fields[3])
    return false;
  *slot = fields[2];
  return true;
}

void CallWorker::caller_response(SipChannel&, sip::Message& msg) {
  uint32_t slot = 0;
  if (!decode_call_id(msg.call_id(), &slot)) {
    // A response to a call that has ended (the slot moved on) is late, anything else foreign.
    if (msg.call_id().size() > 10 && msg.call_id()[0] == 'c') {
      ++cs_.late;
    } else {
      note_protocol_error("response with a foreign Call-ID: " + std::string(msg.call_id()));
    }
    return;
  }
  Call& c = calls_[slot];
  int64_t now = now_ns();
  if (msg.cseq_method() == "INVITE" && msg.cseq_number() == c.d.cseq) {
    invite_response(slot, c, msg, now);
  } else if (msg.cseq_method() == "BYE" && msg.cseq_number() == c.d.cseq + 1) {
    bye_response(slot, c, msg, now);
  } else if (msg.cseq_method() == "INVITE" && msg.cseq_number() < c.d.cseq) {
    ++cs_.late;  // e.g. the challenge retransmitted (UDP) after the INVITE with credentials
  } else {
    note_protocol_error(strprintf("response with an unexpected CSeq %u %.*s", msg.cseq_number(),
                                  static_cast<int>(msg.cseq_method().size()),
                                  msg.cseq_method().data()));
  }
  fill(now);
}

void CallWorker::invite_response(uint32_t slot, Call& c, sip::Message& msg, int64_t now) {
  int code = msg.status_code();
  if (c.state != CallState::kInviting && c.state != CallState::kInvitingAuth) {
    if (code >= 200 && code < 300 && c.state != CallState::kFree) {
      // The 2xx was retransmitted (our ACK was lost, or late): ACK it again (13.2.2.4).
      scratch_.clear();
      append_ack_2xx(&scratch_, callers_[c.conn].end, c.d);
      send_for(slot, c, scratch_);
      ++cs_.ack_resent;
    } else {
      ++cs_.late;
    }
    return;
  }
  if (code < 200) {
    c.provisional = true;  // stops the INVITE retransmissions (17.1.1.2)
    if (code == 100) {
      ++cs_.trying;
    } else {
      ++cs_.ringing;
    }
    return;
  }
  const sip::Header* to = msg.first(sip::HeaderType::kTo);
  if (to != nullptr) c.d.to = std::string(to->value);
  if (code >= 300) {
    scratch_.clear();
    append_ack_non2xx(&scratch_, callers_[c.conn].end, c.d);
    send_for(slot, c, scratch_);
    if (c.state == CallState::kFree) return;
    bool challenge = (code == 401 || code == 407) && options_.call.caller_auth;
    if (challenge && c.state == CallState::kInviting) {
      ++cs_.caller_challenges;
      reinvite_with_credentials(slot, c, msg, now);
      return;
    }
    if (challenge) ++cs_.auth_refused;  // challenged again: the credentials were refused
    end_call(slot, c, Outcome::kNon2xx, strprintf("INVITE %d", code));
    return;
  }
  if (c.measured) cs_.setup.record(static_cast<uint64_t>(now - c.started));
  const char* why = nullptr;
  if (!dialog_route_from_2xx(msg, &c.d.route, &why)) {
    end_call(slot, c, Outcome::kProtocol, why);
    return;
  }
  c.state = CallState::kConfirmed;
  c.request.clear();
  scratch_.clear();
  append_ack_2xx(&scratch_, callers_[c.conn].end, c.d);
  if (!send_for(slot, c, scratch_)) return;
  if (hold_ == 0) {
    send_bye(slot, c, now);
  } else {
    push_timer(Timer{now + hold_, slot, c.gen, TimerKind::kHoldEnd, CallState::kConfirmed});
  }
}

void CallWorker::reinvite_with_credentials(uint32_t slot, Call& c, const sip::Message& challenge,
                                           int64_t now) {
  int code = challenge.status_code();
  DigestChallenge ch;
  if (!find_md5_challenge(challenge, &ch)) {
    end_call(slot, c, Outcome::kNon2xx, strprintf("INVITE %d without an MD5 challenge", code));
    return;
  }
  CallerConn& cc = callers_[c.conn];
  CallerDialog& d = c.d;
  // A new INVITE of the same call (RFC 3261 22.2): same Call-ID and From tag, the To without
  // the challenge's tag, the next CSeq, a new branch.
  d.to = "<" + d.ruri.substr(0, d.ruri.find(';')) + ">";
  d.cseq = 2;
  d.branch.append(".2");
  std::string cnonce =
      strprintf("%x.%llx", run_id_, static_cast<unsigned long long>(++cnonce_counter_));
  d.auth = code == 407 ? "Proxy-Authorization: " : "Authorization: ";
  d.auth += digest_credentials(ch, DigestAnswer{cc.end.user, cc.ha1, "INVITE", d.ruri, 1, cnonce});
  d.auth += "\r\n";
  c.state = CallState::kInvitingAuth;
  c.provisional = false;
  c.tx_sent = now;
  c.retx_interval = t1_;
  scratch_.clear();
  append_invite(&scratch_, cc.end, d, offer_);
  bool udp = options_.target.transport == Transport::kUdp;
  if (udp) c.request = scratch_;
  if (!send_for(slot, c, scratch_)) return;
  push_timer(
      Timer{now + plan_.timeout, slot, c.gen, TimerKind::kTimeout, CallState::kInvitingAuth});
  if (udp)
    push_timer(Timer{now + t1_, slot, c.gen, TimerKind::kRetransmit, CallState::kInvitingAuth});
}

void CallWorker::send_bye(uint32_t slot, Call& c, int64_t now) {
  c.state = CallState::kByeing;
  c.tx_sent = now;
  c.provisional = false;
  c.retx_interval = t1_;
  scratch_.clear();
  append_bye(&scratch_, callers_[c.conn].end, c.d);
  bool udp = options_.target.transport == Transport::kUdp;
  if (udp) c.request = scratch_;
  if (!send_for(slot, c, scratch_)) return;
  push_timer(Timer{now + plan_.timeout, slot, c.gen, TimerKind::kTimeout, CallState::kByeing});
  if (udp) push_timer(Timer{now + t1_, slot, c.gen, TimerKind::kRetransmit, CallState::kByeing});
}

void CallWorker::bye_response(uint32_t slot, Call& c, sip::Message& msg, int64_t now) {
  int code = msg.status_code();
  if (c.state != CallState::kByeing) {
    ++cs_.late;
    return;
  }
  if (code < 200) {
    c.provisional = true;  // non-INVITE: retransmissions go on at T2 (17.1.2.2)
    return;
  }
  if (code >= 300) {
    end_call(slot, c, Outcome::kNon2xx, strprintf("BYE %d", code));
    return;
  }
  if (c.measured) cs_.bye.record(static_cast<uint64_t>(now - c.tx_sent));
  end_call(slot, c, Outcome::kCompleted, {});
}

void CallWorker::end_call(uint32_t slot, Call& c, Outcome outcome, const std::string& why) {
  if (outcome == Outcome::kCompleted) {
    ++cs_.completed_total;
    if (c.measured) ++cs_.completed;
  } else {
    ++cs_.failed_total;
    if (cs_.first_failure.empty()) cs_.first_failure = c.d.call_id + ": " + why;
    if (c.measured) {
      switch (outcome) {
        case Outcome::kInviteTimeout:
          ++cs_.failed_invite_timeout;
          break;
        case Outcome::kByeTimeout:
          ++cs_.failed_bye_timeout;
          break;
        case Outcome::kNon2xx:
          ++cs_.failed_non2xx;
          ++cs_.failed_codes[why];
          break;
        case Outcome::kTransport:
          ++cs_.failed_transport;
          break;
        case Outcome::kProtocol:
        case Outcome::kCompleted:
          ++cs_.failed_protocol;
          break;
      }
    }
  }
  CallerConn& cc = callers_[c.conn];
  if (cc.calls > 0) --cc.calls;
  c.state = CallState::kFree;
  ++c.gen;
  c.request.clear();
  --active_;
  free_.push_back(slot);  // refilled by the caller of end_call's caller (fill), never from here
}

void CallWorker::answer_stray_request(SipChannel& ch, sip::Message& msg, const sockaddr_in& from) {
  if (msg.method_id() == sip::Method::kAck) return;
  bool options = msg.method_id() == sip::Method::kOptions;
  if (!options) note_protocol_error("a caller received a " + std::string(msg.method()));
  scratch_.clear();
  append_response(&scratch_, msg, options ? 200 : 481,
                  options ? "OK" : "Call/Transaction Does Not Exist", "c0", false, {}, {});
  ch.send(scratch_, &from);
}

// --- call timers --------------------------------------------------------------------------

void CallWorker::push_timer(const Timer& t) {
  timers_.push(t);
  if (t.due < armed_for_) arm_timer(now_ns());
}

void CallWorker::arm_timer(int64_t now) {
  if (timers_.empty()) {
    armed_for_ = INT64_MAX;
    return;
  }
  armed_for_ = timers_.top().due;
  timeval tv = to_timeval(armed_for_ - now);
  event_add(timer_ev_.get(), &tv);
}

void CallWorker::timer_cb(evutil_socket_t, short, void* arg) {
  auto* self = static_cast<CallWorker*>(arg);
  int64_t now = now_ns();
  self->armed_for_ = INT64_MAX;
  self->run_timers(now);
  self->fill(now);
  self->publish_live();
}

void CallWorker::run_timers(int64_t now) {
  // Bounded: each pass pops one entry; entries pushed meanwhile are due later than now.
  while (!timers_.empty() && timers_.top().due <= now) {
    Timer t = timers_.top();
    timers_.pop();
    timer_due(t, now);
  }
  arm_timer(now);
}

void CallWorker::timer_due(const Timer& t, int64_t now) {
  Call& c = calls_[t.slot];
  if (c.gen != t.gen || c.state != t.state) return;  // stale
  switch (t.kind) {
    case TimerKind::kTimeout: {
      bool invite = t.state != CallState::kByeing;
      end_call(t.slot, c, invite ? Outcome::kInviteTimeout : Outcome::kByeTimeout,
               strprintf("%s timed out after %.3f s", invite ? "INVITE" : "BYE",
                         static_cast<double>(plan_.timeout) / 1e9));
      break;
    }
    case TimerKind::kHoldEnd:
      send_bye(t.slot, c, now);
      break;
    case TimerKind::kRetransmit: {
      bool invite = t.state != CallState::kByeing;
      if (invite && c.provisional) return;  // a response stopped them
      if (!send_for(t.slot, c, c.request)) return;
      if (invite) {
        ++cs_.invite_retransmits;
        c.retx_interval *= 2;
      } else {
        ++cs_.bye_retransmits;
        c.retx_interval = c.provisional ? t2_ : std::min(2 * c.retx_interval, t2_);
      }
      push_timer(Timer{now + c.retx_interval, t.slot, t.gen, TimerKind::kRetransmit, t.state});
      break;
    }
  }
}

// --- the tick -----------------------------------------------------------------------------

void CallWorker::on_tick(int64_t now) {
  if (finished()) return;
  if (control_.stop.load(std::memory_order_acquire)) {
    shutdown();
    finish();
    return;
  }
  if (!loaded_ && control_.go.load(std::memory_order_acquire) && now >= control_.plan.start)
    begin_load(now);
  // Connections still connecting past their deadline; broken ones coming back.
  for (size_t i = 0; i < callers_.size(); ++i) {
    CallerConn& cc = callers_[i];
    if (cc.ch && !cc.ch->closed() && !cc.ready && now >= cc.deadline) {
      caller_broken(i, "connect/handshake timed out");
    } else if ((!cc.ch || cc.ch->closed()) && now >= cc.retry_at && (!loaded_ || sending(now))) {
      open_caller(i, now);
    }
  }
  for (size_t i = 0; i < callees_.size(); ++i) {
    Callee& c = *callees_[i];
    if (callee_state(i) == CalleeState::kPending && c.channel && !c.answered) {
      if (now >= c.options_deadline) {
        callee_failed(i, "no answer to its OPTIONS within --timeout");
      } else if (c.channel->transport() == Transport::kUdp && !c.options.empty() &&
                 now >= c.options_retx_at) {
        c.channel->send(c.options);
        c.options_retx_at = now + t1_;
      }
    }
    // Accepted connections the proxy closed.
    c.accepted.erase(std::remove_if(c.accepted.begin(), c.accepted.end(),
                                    [](const auto& ch) { return ch->closed(); }),
                     c.accepted.end());
  }
  callee_retransmit(now);
  if (loaded_) {
    fill(now);
    bool over = now >= run_.measure_to || interrupted();
    if (over && !drained() && (active_ == 0 || now >= run_.stop)) {
      if (active_ > 0) {
        for (Call& c : calls_) {
          if (c.state == CallState::kFree) continue;
          if (c.measured) ++cs_.unfinished;
        }
      }
      event_del(pacer_.get());
      drained_.store(true, std::memory_order_release);
    }
  }
  publish_live();
}

void CallWorker::publish_live() {
  live_completed_.store(cs_.completed_total, std::memory_order_relaxed);
  live_failed_.store(cs_.failed_total, std::memory_order_relaxed);
}

void CallWorker::shutdown() {
  if (pacer_) event_del(pacer_.get());
  if (timer_ev_) event_del(timer_ev_.get());
  for (CallerConn& cc : callers_) {
    if (cc.ch) cc.ch->close();
  }
  for (auto& c : callees_) {
    c->accept_ev.reset();
    c->listen_fd.reset();
    if (c->channel) c->channel->close();
    for (auto& ch : c->accepted) ch->close();
  }
}

}  // namespace sipsd::bench
