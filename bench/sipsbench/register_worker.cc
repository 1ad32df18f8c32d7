#include "bench/sipsbench/register_worker.h"

#include <strings.h>
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "core/auth/digest.h"
#include "core/base/result.h"

namespace sipsd::bench {

void RegisterStats::merge(const RegisterStats& o) {
  attempted += o.attempted;
  completed += o.completed;
  failed_timeout += o.failed_timeout;
  failed_auth += o.failed_auth;
  failed_non2xx += o.failed_non2xx;
  failed_transport += o.failed_transport;
  unfinished += o.unfinished;
  skipped += o.skipped;
  for (const auto& [code, n] : o.failed_codes) failed_codes[code] += n;
  if (first_failure.empty()) first_failure = o.first_failure;
  completed_total += o.completed_total;
  requests_sent += o.requests_sent;
  retransmits += o.retransmits;
  challenges += o.challenges;
  with_credentials += o.with_credentials;
  nonce_reused += o.nonce_reused;
  nonce_reuse_accepted += o.nonce_reuse_accepted;
  stale += o.stale;
  stray += o.stray;
  bad_messages += o.bad_messages;
  connection_errors += o.connection_errors;
  if (first_error.empty()) first_error = o.first_error;
  latency.merge(o.latency);
}

RegisterWorker::RegisterWorker(const Options& options, int index, int conns, std::vector<int> users,
                               int in_flight, double rate, const RunPlan& plan,
                               const std::atomic<bool>& interrupted, uint32_t run_id)
    : LoopWorker(options, index, conns, plan, interrupted),
      run_id_(run_id),
      in_flight_(in_flight),
      rate_(rate),
      stride_(options.workers),
      t1_(static_cast<int64_t>(options.call.t1_ms * 1e6)) {
  const RegisterOptions& r = options.reg;
  users_.resize(users.size());
  for (size_t k = 0; k < users.size(); ++k) {
    User& u = users_[k];
    u.global = users[k];
    u.name = r.user_prefix + std::to_string(u.global);
    u.ha1 = auth::compute_ha1(auth::Algorithm::kMd5, u.name, r.domain,
                              expand_index(r.password, u.global));
    u.call_id = strprintf("reg-%08x-%d", run_id_, u.global);
    u.from_tag = strprintf("rt%x-%d", run_id_, u.global);
  }
  links_.resize(static_cast<size_t>(conns));
}

RegisterWorker::~RegisterWorker() = default;

void RegisterWorker::start() {
  for (size_t i = 0; i < links_.size(); ++i) open_conn(i);
}

void RegisterWorker::open_conn(size_t i) {
  Conn& c = links_[i];
  c.ready = false;
  c.ch = std::make_unique<SipChannel>(base(), *static_cast<ChannelHandler*>(this),
                                      static_cast<int>(i));
  Status s;
  if (options_.target.transport == Transport::kUdp) {
    s = c.ch->open_udp(ipv4_addr(options_.target.ip, 0), &options_.target.addr);
    if (s.ok()) channel_open(*c.ch);
  } else {
    s = c.ch->connect_stream(options_, ctx());
  }
  if (!s.ok()) {
    ++rs_.connection_errors;
    if (rs_.first_error.empty()) rs_.first_error = s.message();
  }
}

void RegisterWorker::channel_open(SipChannel& ch) {
  Conn& c = links_[static_cast<size_t>(ch.owner_index())];
  if (c.ready) return;
  c.ready = true;
  std::string hp = strprintf("%s:%u", ch.local_ip().c_str(), ch.local_port());
  c.via_host = strprintf("SIP/2.0/%s %s", transport_via(ch.transport()), hp.c_str());
  c.contact_host = hp + ";transport=" + transport_name(ch.transport());
  conns_ready_.fetch_add(1, std::memory_order_relaxed);
}

void RegisterWorker::channel_error(SipChannel&, const std::string& why) {
  ++rs_.bad_messages;
  if (rs_.first_error.empty()) rs_.first_error = why;
}

void RegisterWorker::channel_broken(SipChannel& ch, const std::string& why) {
  size_t i = static_cast<size_t>(ch.owner_index());
  ++rs_.connection_errors;
  if (rs_.first_error.empty()) rs_.first_error = why;
  if (links_[i].ready) conns_ready_.fetch_sub(1, std::memory_order_relaxed);
  links_[i].ready = false;
  int64_t now = now_ns();
  for (User& u : users_) {
    if (u.busy && &conn_of(u) == &links_[i]) end(u, Outcome::kTransport, "connection: " + why, now);
  }
}

void RegisterWorker::on_tick(int64_t now) {
  // The channel is freed outside its callbacks; a broken stream is reopened while loading.
  for (size_t i = 0; i < links_.size(); ++i) {
    Conn& c = links_[i];
    if (c.ch && c.ch->closed()) {
      c.ch.reset();
      if (sending(now)) open_conn(i);
    }
  }
  for (User& u : users_) {
    if (!u.busy) continue;
    if (now >= u.deadline) {
      end(u, Outcome::kTimeout, "no final response within --timeout", now);
    } else if (u.retx_at != 0 && now >= u.retx_at) {
      Conn& c = conn_of(u);
      if (c.ready && c.ch->send(u.request)) ++rs_.retransmits;
      u.retx_interval = std::min(u.retx_interval * 2, 8 * t1_);
      u.retx_at = now + u.retx_interval;
    }
  }
  if (!loading_ && now >= plan_.start) {
    loading_ = true;
    load_start_ = now;
  }
  if (loading_ && sending(now)) {
    if (rate_ > 0) {
      auto due = static_cast<uint64_t>(rate_ * static_cast<double>(now - load_start_) / 1e9);
      while (issued_ < due) {
        ++issued_;
        if (active_ >= in_flight_ || !start_registration(now)) ++rs_.skipped;
      }
    } else {
      fill(now);
    }
  }
  live_completed_.store(rs_.completed_total, std::memory_order_relaxed);
  live_failed_.store(rs_.failed(), std::memory_order_relaxed);
  if (now >= plan_.stop || (!sending(now) && active_ == 0) || (interrupted() && active_ == 0)) {
    for (User& u : users_)
      if (u.busy) {
        u.busy = false;
        ++rs_.unfinished;
      }
    for (Conn& c : links_) c.ch.reset();
    finish();
  }
}

void RegisterWorker::fill(int64_t now) {
  while (active_ < in_flight_ && start_registration(now)) {
  }
}

// The next idle subscriber whose connection is ready starts a registration; false when none.
bool RegisterWorker::start_registration(int64_t now) {
  for (size_t n = 0; n < users_.size(); ++n) {
    User& u = users_[next_user_];
    next_user_ = (next_user_ + 1) % users_.size();
    if (u.busy || !conn_of(u).ready) continue;
    u.busy = true;
    ++active_;
    ++rs_.attempted;
    u.started = now;
    u.auth_sent = 0;
    u.reused = options_.reg.nonce_reuse && !u.chal.nonce.empty();
    if (u.reused) ++rs_.nonce_reused;
    send_register(u, u.reused, now);
    return true;
  }
  return false;
}

void RegisterWorker::send_register(User& u, bool credentials, int64_t now) {
  Conn& c = conn_of(u);
  const RegisterOptions& r = options_.reg;
  ++u.cseq;
  std::string& m = scratch_;
  m.clear();
  m += "REGISTER sip:" + r.domain + " SIP/2.0\r\n";
  m += strprintf("Via: %s;branch=z9hG4bK-%x-%d-%u;rport\r\n", c.via_host.c_str(), run_id_, u.global,
                 u.cseq);
  m += "Max-Forwards: 70\r\n";
  m += "From: <sip:" + u.name + "@" + r.domain + ">;tag=" + u.from_tag + "\r\n";
  m += "To: <sip:" + u.name + "@" + r.domain + ">\r\n";
  m += "Call-ID: " + u.call_id + "\r\n";
  m += strprintf("CSeq: %u REGISTER\r\n", u.cseq);
  m += "Contact: <sip:" + u.name + "@" + c.contact_host + ">\r\n";
  m += strprintf("Expires: %d\r\n", r.expires);
  if (credentials) {
    ++u.nc;
    std::string uri = "sip:" + r.domain;
    std::string cnonce =
        strprintf("%x%llx", run_id_, static_cast<unsigned long long>(++cnonce_counter_));
    m += "Authorization: " +
         digest_credentials(u.chal, DigestAnswer{u.name, u.ha1, "REGISTER", uri, u.nc, cnonce}) +
         "\r\n";
    ++rs_.with_credentials;
  }
  m += "User-Agent: sipsbench\r\nContent-Length: 0\r\n\r\n";
  u.cred_on_last = credentials;
  u.deadline = now + plan_.timeout;
  ++rs_.requests_sent;
  bool udp = options_.target.transport == Transport::kUdp;
  if (udp) {
    u.request = m;
    u.retx_interval = t1_;
    u.retx_at = now + t1_;
  } else {
    u.retx_at = 0;
  }
  if (!c.ch->send(m)) {
    if (u.busy) end(u, Outcome::kTransport, "send failed", now);
  }
}

void RegisterWorker::channel_message(SipChannel&, sip::Message& msg, const sockaddr_in&) {
  int64_t now = now_ns();
  if (msg.is_request()) {
    ++rs_.stray;
    return;
  }
  std::string_view cid = msg.call_id();
  std::string prefix = strprintf("reg-%08x-", run_id_);
  if (cid.substr(0, prefix.size()) != prefix) {
    ++rs_.stray;
    return;
  }
  int global = atoi(std::string(cid.substr(prefix.size())).c_str());
  if (global % stride_ != index_ || static_cast<size_t>(global / stride_) >= users_.size()) {
    ++rs_.stray;
    return;
  }
  User& u = users_[static_cast<size_t>(global / stride_)];
  if (!u.busy || msg.cseq_number() != u.cseq) {
    ++rs_.stray;
    return;
  }
  response(u, msg, now);
}

void RegisterWorker::response(User& u, sip::Message& msg, int64_t now) {
  int code = msg.status_code();
  if (code < 200) {
    u.retx_at = 0;  // a provisional response stops the retransmissions
    return;
  }
  if (code >= 200 && code < 300) {
    if (u.reused && u.auth_sent == 0) ++rs_.nonce_reuse_accepted;
    end(u, Outcome::kCompleted, "", now);
    return;
  }
  if (code == 401 || code == 407) {
    ++rs_.challenges;
    DigestChallenge ch;
    if (!find_md5_challenge(msg, &ch)) {
      end(u, Outcome::kNon2xx, strprintf("%d without an MD5 digest challenge", code), now);
      return;
    }
    if (ch.stale) ++rs_.stale;
    // Fresh credentials refused (not just a stale nonce): the password is wrong.
    if (u.cred_on_last && !(u.reused && u.auth_sent == 0) && (!ch.stale || u.auth_sent >= 2)) {
      end(u, Outcome::kAuth, strprintf("%d after credentials for %s", code, u.name.c_str()), now);
      return;
    }
    u.chal = std::move(ch);
    u.nc = 0;
    ++u.auth_sent;
    send_register(u, true, now);
    return;
  }
  end(u, Outcome::kNon2xx, strprintf("%d %s", code, std::string(msg.reason()).c_str()), now);
  if (code >= 300) ++rs_.failed_codes[code];
}

void RegisterWorker::end(User& u, Outcome outcome, const std::string& why, int64_t now) {
  if (!u.busy) return;
  u.busy = false;
  u.request.clear();
  --active_;
  bool measured = plan_.measured(now);
  if (outcome == Outcome::kCompleted) {
    ++rs_.completed_total;
    if (measured) {
      ++rs_.completed;
      rs_.latency.record(static_cast<uint64_t>(now - u.started));
    }
  } else {
    if (outcome != Outcome::kTimeout) u.chal.nonce.clear();
    if (measured) {
      switch (outcome) {
        case Outcome::kTimeout:
          ++rs_.failed_timeout;
          break;
        case Outcome::kAuth:
          ++rs_.failed_auth;
          break;
        case Outcome::kNon2xx:
          ++rs_.failed_non2xx;
          break;
        case Outcome::kTransport:
          ++rs_.failed_transport;
          break;
        case Outcome::kCompleted:
          break;
      }
      if (rs_.first_failure.empty()) rs_.first_failure = u.name + ": " + why;
    }
  }
  if (rate_ == 0 && sending(now)) fill(now);
}

}  // namespace sipsd::bench
