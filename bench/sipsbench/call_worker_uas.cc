// CallWorker's callee side (UAS): the callees come up (listening, or connecting to the proxy and
// announcing themselves with an OPTIONS, or with a REGISTER answered with digest credentials),
// accept the proxy's connections, and answer what reaches
// them: INVITE with 180 and 200 (SDP), ACK, BYE with 200 (481 without a dialog), anything else
// with 200; over UDP the 200 is retransmitted until the ACK and duplicates are absorbed.
#include <arpa/inet.h>
#include <errno.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>

#include "bench/sipsbench/call_worker.h"
#include "bench/sipsbench/digest_client.h"

namespace sipsd::bench {

namespace {

constexpr std::string_view kCallIdSuffix = "@sipsbench";

}  // namespace

// --- coming up ----------------------------------------------------------------------------

Status CallWorker::listen_callee(Callee& c, size_t i) {
  const CallOptions& co = options_.call;
  Transport t = options_.target.transport;
  uint16_t port = co.listen_port == 0 ? 0 : static_cast<uint16_t>(co.listen_port + c.global);
  sockaddr_in addr = ipv4_addr(co.listen_ip, port);
  uint16_t bound = 0;
  if (t == Transport::kUdp) {
    c.channel = std::make_unique<SipChannel>(base(), handler(), -static_cast<int>(i) - 1);
    Status s = c.channel->open_udp(addr, nullptr);
    if (!s.ok()) return make_error(c.user + ": " + s.message());
    bound = c.channel->local_port();
  } else {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return make_error(strprintf("socket: %s", strerror(errno)));
    c.listen_fd.reset(fd);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0 ||
        ::listen(fd, 1024) != 0)
      return make_error(strprintf("%s: listen on %s:%u: %s", c.user.c_str(), co.listen_ip.c_str(),
                                  static_cast<unsigned>(port), strerror(errno)));
    sockaddr_in local{};
    socklen_t len = sizeof local;
    getsockname(fd, reinterpret_cast<sockaddr*>(&local), &len);
    bound = ntohs(local.sin_port);
    c.accept_ev.reset(event_new(base(), fd, EV_READ | EV_PERSIST, &CallWorker::accept_cb, this));
    event_add(c.accept_ev.get(), nullptr);
  }
  c.uri = sip_uri(c.user, co.listen_ip, bound, t);
  c.contact = "Contact: <" + c.uri + ">\r\n";
  callee_ready(i);
  return Status::Ok();
}

void CallWorker::connect_callee(Callee& c, size_t i, int64_t now) {
  c.options_deadline = now + plan_.timeout;
  c.channel = std::make_unique<SipChannel>(base(), handler(), -static_cast<int>(i) - 1);
  Status s;
  if (options_.target.transport == Transport::kUdp) {
    s = c.channel->open_udp(ipv4_addr(options_.target.ip, 0), &options_.target.addr);
    if (s.ok()) send_callee_options(c, now);
  } else {
    s = c.channel->connect_stream(options_, ctx());
  }
  if (!s.ok()) callee_failed(i, s.message());
}

void CallWorker::send_callee_options(Callee& c, int64_t now) {
  if (options_.call.callee_mode == CalleeMode::kRegister) {
    send_callee_register(c, now, nullptr);
    return;
  }
  CallerEnd end{c.channel->transport(), c.channel->local_ip(), c.channel->local_port(), c.user, {}};
  c.uri = sip_uri(c.user, end.ip, end.port, end.transport);
  c.contact = "Contact: <" + c.uri + ">\r\n";
  c.options_call_id = strprintf("o%08x.%d%.*s", run_id_, c.global,
                                static_cast<int>(kCallIdSuffix.size()), kCallIdSuffix.data());
  std::string target = strprintf("sip:%s:%u", options_.target.ip.c_str(),
                                 static_cast<unsigned>(options_.target.port)) +
                       std::string(uri_transport_param(end.transport));
  c.options.clear();
  append_register_options(&c.options, end, target, c.options_call_id,
                          strprintf("%x", static_cast<unsigned>(c.global) + 1),
                          strprintf("z9hG4bK.o%08x.%d", run_id_, c.global));
  c.options_retx_at = now + t1_;
  c.channel->send(c.options);
}

void CallWorker::send_callee_register(Callee& c, int64_t now, const sip::Message* challenge) {
  const RegisterOptions& r = options_.reg;
  CallerEnd end{c.channel->transport(), c.channel->local_ip(), c.channel->local_port(), c.user,
                r.domain};
  // Callers call the address of record; the proxy's lookup("location") finds this connection.
  c.uri = "sip:" + c.user + "@" + r.domain;
  c.contact = "Contact: <" + sip_uri(c.user, end.ip, end.port, end.transport) + ">\r\n";
  c.options_call_id = strprintf("r%08x.%d%.*s", run_id_, c.global,
                                static_cast<int>(kCallIdSuffix.size()), kCallIdSuffix.data());
  std::string authorization;
  if (challenge != nullptr) {
    DigestChallenge ch;
    if (!find_md5_challenge(*challenge, &ch)) {
      callee_failed(static_cast<size_t>(-c.channel->owner_index() - 1),
                    strprintf("the proxy answered its REGISTER %d without an MD5 challenge",
                              challenge->status_code()));
      return;
    }
    std::string cnonce = strprintf("%x.r%d", run_id_, c.global);
    authorization = digest_credentials(
        ch, DigestAnswer{c.user, c.ha1, "REGISTER", "sip:" + r.domain, 1, cnonce});
  }
  c.reg_credentials = challenge != nullptr;
  ++c.reg_cseq;
  c.options.clear();
  append_register(&c.options, end, c.options_call_id,
                  strprintf("%x", static_cast<unsigned>(c.global) + 1),
                  strprintf("z9hG4bK.r%08x.%d.%u", run_id_, c.global, c.reg_cseq), c.reg_cseq,
                  r.expires, authorization);
  c.options_retx_at = now + t1_;
  c.channel->send(c.options);
}

void CallWorker::callee_ready(size_t i) {
  callee_states_[i].store(static_cast<int>(CalleeState::kReady), std::memory_order_release);
}

void CallWorker::callee_failed(size_t i, const std::string& why) {
  Callee& c = *callees_[i];
  if (c.error.empty()) c.error = c.user + ": " + why;
  ++cs_.connection_errors;
  cs_.note_error(c.error);
  if (callee_states_[i].load(std::memory_order_relaxed) == static_cast<int>(CalleeState::kPending))
    callee_states_[i].store(static_cast<int>(CalleeState::kFailed), std::memory_order_release);
  if (c.channel) c.channel->close();
}

void CallWorker::accept_cb(evutil_socket_t fd, short, void* arg) {
  auto* self = static_cast<CallWorker*>(arg);
  for (size_t i = 0; i < self->callees_.size(); ++i) {
    if (self->callees_[i]->listen_fd.get() == fd) {
      self->accept_all(i);
      return;
    }
  }
}

void CallWorker::accept_all(size_t i) {
  Callee& c = *callees_[i];
  // Bounded: the backlog empties, or an error ends the loop.
  for (int n = 0; n < 256; ++n) {
    int fd = ::accept4(c.listen_fd.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        ++cs_.connection_errors;
        cs_.note_error(strprintf("%s: accept: %s", c.user.c_str(), strerror(errno)));
      }
      return;
    }
    auto ch = std::make_unique<SipChannel>(base(), handler(), -static_cast<int>(i) - 1);
    Status s = ch->adopt_stream(fd, server_ctx_.get());
    if (!s.ok()) {
      ++cs_.connection_errors;
      cs_.note_error(c.user + ": " + s.message());
      continue;
    }
    c.accepted.push_back(std::move(ch));
  }
}

// --- callees (UAS) ------------------------------------------------------------------------

void CallWorker::callee_message(SipChannel& ch, Callee& c, sip::Message& msg,
                                const sockaddr_in& from) {
  if (!msg.is_request()) {
    callee_announce_response(ch, c, msg);
    return;
  }
  switch (msg.method_id()) {
    case sip::Method::kInvite:
      callee_invite(ch, c, msg, from);
      return;
    case sip::Method::kAck: {
      auto it = dialogs_.find(std::string(msg.call_id()));
      if (it == dialogs_.end()) return;  // e.g. the ACK of a 2xx retransmitted after the BYE
      ++cs_.callee_acks;
      if (it->second.state == DialogState::kAnswered) {
        it->second.state = DialogState::kConfirmed;
        it->second.ok.clear();
        it->second.ok.shrink_to_fit();
      }
      return;
    }
    case sip::Method::kBye: {
      auto it = dialogs_.find(std::string(msg.call_id()));
      scratch_.clear();
      if (it == dialogs_.end()) {
        ++cs_.callee_unknown;
        append_response(&scratch_, msg, 481, "Call/Transaction Does Not Exist", "x", false, {}, {});
      } else {
        if (it->second.state == DialogState::kTerminated) {
          ++cs_.callee_duplicates;
        } else {
          ++cs_.callee_byes;
        }
        append_response(&scratch_, msg, 200, "OK", {}, false, {}, {});
        if (ch.transport() == Transport::kUdp) {
          if (it->second.state != DialogState::kTerminated) {
            it->second.state = DialogState::kTerminated;
            it->second.ok.clear();
            linger_.emplace_back(now_ns() + plan_.timeout + kSecondNs, it->first);
          }
        } else {
          dialogs_.erase(it);
        }
      }
      ch.send(scratch_, &from);
      return;
    }
    default:
      ++cs_.callee_other;
      scratch_.clear();
      append_response(&scratch_, msg, 200, "OK", "o", false, c.contact, {});
      ch.send(scratch_, &from);
      return;
  }
}

void CallWorker::callee_announce_response(SipChannel& ch, Callee& c, sip::Message& msg) {
  size_t i = static_cast<size_t>(-ch.owner_index() - 1);
  if (msg.call_id() != c.options_call_id || c.answered) {
    note_protocol_error(c.user + ": unexpected response " + std::to_string(msg.status_code()));
    return;
  }
  bool reg = options_.call.callee_mode == CalleeMode::kRegister;
  if (reg && msg.cseq_number() != c.reg_cseq) return;  // to an earlier REGISTER (UDP)
  int code = msg.status_code();
  if (code < 200) return;
  if (reg && (code == 401 || code == 407) && !c.reg_credentials) {
    send_callee_register(c, now_ns(), &msg);
    return;
  }
  c.answered = true;
  if (code < 300) {
    if (reg) ++cs_.callee_registered;
    callee_ready(i);
  } else {
    callee_failed(i, strprintf("the proxy answered its %s %d", reg ? "REGISTER" : "OPTIONS", code));
  }
}

void CallWorker::callee_invite(SipChannel& ch, Callee& c, sip::Message& msg,
                               const sockaddr_in& from) {
  std::string call_id(msg.call_id());
  auto it = dialogs_.find(call_id);
  if (it != dialogs_.end()) {
    // A retransmitted INVITE: the 200 again while it is not ACKed (UDP), else nothing.
    ++cs_.callee_duplicates;
    if (it->second.state == DialogState::kAnswered && !it->second.ok.empty())
      ch.send(it->second.ok, &from);
    return;
  }
  if (msg.has_to_tag()) {  // a re-INVITE for a dialog we do not know
    ++cs_.callee_unknown;
    scratch_.clear();
    append_response(&scratch_, msg, 481, "Call/Transaction Does Not Exist", {}, false, {}, {});
    ch.send(scratch_, &from);
    return;
  }
  ++cs_.callee_invites;
  std::string to_tag = strprintf("%x.%llx", static_cast<unsigned>(c.global) + 1,
                                 static_cast<unsigned long long>(++tag_counter_));
  CalleeDialog d;
  d.callee = -ch.owner_index() - 1;
  d.answered_at = now_ns();
  scratch_.clear();
  append_response(&scratch_, msg, 180, "Ringing", to_tag, true, c.contact, {});
  bool udp = ch.transport() == Transport::kUdp;
  if (udp) {
    ch.send(scratch_, &from);
    scratch_.clear();
  }
  size_t ok_at = scratch_.size();
  append_response(&scratch_, msg, 200, "OK", to_tag, true, c.contact, answer_);
  ch.send(scratch_, &from);
  if (udp) {
    d.ok = scratch_.substr(ok_at);
    d.peer = from;
    callee_retx_.push(CalleeRetx{d.answered_at + t1_, t1_, call_id});
  }
  dialogs_.emplace(std::move(call_id), std::move(d));
}

// UDP: the 200 again at T1, 2T1, ... (capped at T2) until the ACK, for 64 x T1 (13.3.1.4); the
// dialogs of finished calls are forgotten after --timeout and a second (a BYE retransmission
// comes within --timeout).
void CallWorker::callee_retransmit(int64_t now) {
  // Bounded: each pass pops one entry; re-pushed entries are due later than now.
  while (!callee_retx_.empty() && callee_retx_.top().due <= now) {
    CalleeRetx r = callee_retx_.top();
    callee_retx_.pop();
    auto it = dialogs_.find(r.call_id);
    if (it == dialogs_.end() || it->second.state != DialogState::kAnswered) continue;
    CalleeDialog& d = it->second;
    if (now - d.answered_at >= 64 * t1_) {
      ++cs_.callee_ack_timeouts;
      cs_.note_error(r.call_id + ": the callee's 200 was never ACKed");
      dialogs_.erase(it);
      continue;
    }
    Callee& c = *callees_[static_cast<size_t>(d.callee)];
    if (c.channel) c.channel->send(d.ok, &d.peer);
    ++cs_.callee_2xx_retransmits;
    int64_t next = std::min(2 * r.interval, t2_);
    callee_retx_.push(CalleeRetx{now + next, next, std::move(r.call_id)});
  }
  while (!linger_.empty() && linger_.front().first <= now) {
    auto it = dialogs_.find(linger_.front().second);
    if (it != dialogs_.end() && it->second.state == DialogState::kTerminated) dialogs_.erase(it);
    linger_.pop_front();
  }
}

}  // namespace sipsd::bench
