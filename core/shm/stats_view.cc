#include "core/shm/stats_view.h"

#include <strings.h>

#include <algorithm>
#include <cmath>
#include <set>

namespace sipsd {

namespace {

// TLS-only transport statistics, not shown in tcp:.
bool tls_only(TStat t) {
  switch (t) {
    case TStat::kHandshakesOk:
    case TStat::kHandshakesFailed:
    case TStat::kHandshakeTimeouts:
    case TStat::kSniUnmatched:
    case TStat::kVerifyFailed:
    case TStat::kResumed:
    case TStat::kRecordHandoffs:
      return true;
    default:
      return false;
  }
}

}  // namespace

uint64_t StatsView::counter(Stat s) const {
  uint64_t sum = retired_[static_cast<size_t>(s)];
  for (uint32_t p = 0; p < shm_.max_procs(); ++p)
    sum += shm_.proc(static_cast<int>(p)).stats.get(s);
  return sum - baseline_[static_cast<size_t>(s)];
}

uint64_t StatsView::live(Stat s) const {
  uint64_t sum = 0;
  for (uint32_t p = 0; p < shm_.max_procs(); ++p)
    sum += shm_.proc(static_cast<int>(p)).stats.get(s);
  return sum;
}

std::vector<StatEntry> StatsView::all(int64_t now_ms) const {
  std::vector<StatEntry> out;
  auto add = [&](std::string group, std::string name, uint64_t v, bool inc) {
    out.push_back(StatEntry{group + ":" + name, v, inc});
  };
  auto add_stat = [&](Stat s) {
    StatInfo i = stat_info(s);
    add(i.group, i.name, counter(s), i.incremental);
  };
  // core:, in OpenSIPS's order; what sipsd does not count reads 0.
  add_stat(Stat::kRcvRequests);
  add_stat(Stat::kRcvReplies);
  add_stat(Stat::kFwdRequests);
  add_stat(Stat::kFwdReplies);
  add_stat(Stat::kDropRequests);
  add_stat(Stat::kDropReplies);
  add_stat(Stat::kErrRequests);
  add("core", "err_replies", 0, false);
  add("core", "bad_URIs_rcvd", 0, false);
  add_stat(Stat::kBadMsgHdr);
  add("core", "slow_messages", 0, false);
  add("core", "timestamp", static_cast<uint64_t>(std::max<int64_t>(now_ms - started_ms_, 0) / 1000),
      false);
  add_stat(Stat::kHandoffFailed);
  add_stat(Stat::kWorkerRespawns);
  add_stat(Stat::kWorkerStalls);
  for (int s = static_cast<int>(Stat::kSlSentReplies); s <= static_cast<int>(Stat::kSlReceivedAcks);
       ++s)
    add_stat(static_cast<Stat>(s));
  for (int s = static_cast<int>(Stat::kDnsQueries);
       s <= static_cast<int>(Stat::kDnsPendingLimitHits); ++s)
    add_stat(static_cast<Stat>(s));
  for (int s = static_cast<int>(Stat::kUdpReceived); s <= static_cast<int>(Stat::kAliasRefused);
       ++s)
    add_stat(static_cast<Stat>(s));
  for (int s = static_cast<int>(Stat::kTmReceivedReplies);
       s <= static_cast<int>(Stat::kTmLimitHits); ++s)
    add_stat(static_cast<Stat>(s));
  for (int s = static_cast<int>(Stat::kUlUsers); s <= static_cast<int>(Stat::kRegDefaultExpire);
       ++s)
    add_stat(static_cast<Stat>(s));
  for (int s = static_cast<int>(Stat::kAuthChallenges);
       s <= static_cast<int>(Stat::kOutboundBadTokens); ++s)
    add_stat(static_cast<Stat>(s));
  for (Proto p : {Proto::kTcp, Proto::kTls}) {
    const char* group = proto_name(p);
    for (int t = 0; t < kTStatCount; ++t) {
      TStat ts = static_cast<TStat>(t);
      if (ts == TStat::kQueuedBytes || (p == Proto::kTcp && tls_only(ts))) continue;
      add_stat(tstat(p, ts));
      // A gauge from the live processes' own counts only: what a dead worker had open went
      // with it (the supervisor clears its slot when it reaps it), and a reset moves the
      // counters' baselines, never this.
      if (ts == TStat::kConnsClosed)
        add(group, "conns_open",
            live(tstat(p, TStat::kConnsHandled)) - live(tstat(p, TStat::kConnsClosed)), false);
    }
  }
  add("net", "waiting_tcp", counter(tstat(Proto::kTcp, TStat::kQueuedBytes)), false);
  add("net", "waiting_tls", counter(tstat(Proto::kTls, TStat::kQueuedBytes)), false);
  // load: per worker first, as OpenSIPS, then the averages over the workers.
  double sum_now = 0, sum_1m = 0, sum_10m = 0;
  int workers = 0;
  for (size_t i = 1; i < load_.size(); ++i) {
    add("load", "load-proc-" + std::to_string(i), static_cast<uint64_t>(std::lround(load_[i].now)),
        false);
    add("load", "load1m-proc-" + std::to_string(i),
        static_cast<uint64_t>(std::lround(load_[i].avg1m)), false);
    add("load", "load10m-proc-" + std::to_string(i),
        static_cast<uint64_t>(std::lround(load_[i].avg10m)), false);
    sum_now += load_[i].now;
    sum_1m += load_[i].avg1m;
    sum_10m += load_[i].avg10m;
    ++workers;
  }
  auto avg = [&](double s) {
    return static_cast<uint64_t>(workers ? std::lround(s / workers) : 0);
  };
  add("load", "load", avg(sum_now), false);
  add("load", "load1m", avg(sum_1m), false);
  add("load", "load10m", avg(sum_10m), false);
  add("load", "processes_number", shm_.max_procs(), false);
  uint64_t stalled = 0;
  for (uint32_t p = 1; p < shm_.max_procs(); ++p)
    stalled += shm_.proc(static_cast<int>(p)).stalled.load(std::memory_order_relaxed) != 0;
  add("load", "stalled_workers", stalled, false);  // ours: tcp_worker_stall_timeout
  // shmem: the one region; "used" = the parts holding live data.
  const ShmHeader& h = shm_.header();
  uint64_t used = h.conn_off + uint64_t{shm_.conn_table().count_in_use()} * h.conn_slot_size;
  add("shmem", "total_size", shm_.size(), false);
  add("shmem", "used_size", used, false);
  add("shmem", "free_size", shm_.size() - std::min<uint64_t>(used, shm_.size()), false);
  return out;
}

std::vector<StatEntry> StatsView::select(const std::vector<std::string>& selectors,
                                         int64_t now_ms) const {
  std::vector<StatEntry> every = all(now_ms);
  std::vector<StatEntry> out;
  std::set<size_t> taken;
  auto take = [&](size_t i) {
    if (taken.insert(i).second) out.push_back(every[i]);
  };
  for (const std::string& sel : selectors) {
    if (strcasecmp(sel.c_str(), "all") == 0) {
      for (size_t i = 0; i < every.size(); ++i) take(i);
    } else if (!sel.empty() && sel.back() == ':') {
      for (size_t i = 0; i < every.size(); ++i)
        if (every[i].name.compare(0, sel.size(), sel) == 0) take(i);
    } else {
      bool qualified = sel.find(':') != std::string::npos;
      for (size_t i = 0; i < every.size(); ++i) {
        std::string_view name = every[i].name;
        std::string_view bare = name.substr(name.find(':') + 1);
        std::string_view cand = qualified ? name : bare;
        if (cand.size() == sel.size() && strncasecmp(cand.data(), sel.data(), sel.size()) == 0) {
          take(i);
          break;  // first match across groups
        }
      }
    }
  }
  return out;
}

bool StatsView::reset(const std::vector<std::string>& names, int64_t now_ms) {
  bool any = false;
  for (const std::string& n : names) {
    if (!n.empty() && n.back() == ':') continue;  // groups are not accepted (OpenSIPS)
    for (const StatEntry& e : select({n}, now_ms)) {
      if (!e.incremental) continue;
      for (int s = 0; s < kStatCount; ++s) {
        StatInfo info = stat_info(static_cast<Stat>(s));
        if (e.name == std::string(info.group) + ":" + info.name) {
          baseline_[static_cast<size_t>(s)] += counter(static_cast<Stat>(s));
          any = true;
        }
      }
    }
  }
  return any;
}

void StatsView::reset_all(int64_t now_ms) {
  (void)now_ms;
  for (int s = 0; s < kStatCount; ++s)
    if (stat_info(static_cast<Stat>(s)).incremental)
      baseline_[static_cast<size_t>(s)] += counter(static_cast<Stat>(s));
}

void StatsView::retire(int proc_index) {
  const ProcStats& st = shm_.proc(proc_index).stats;
  for (int s = 0; s < kStatCount; ++s)
    if (stat_info(static_cast<Stat>(s)).incremental)
      retired_[static_cast<size_t>(s)] += st.get(static_cast<Stat>(s));
  if (static_cast<size_t>(proc_index) < load_.size()) load_[static_cast<size_t>(proc_index)] = {};
}

void StatsView::sample_load(int64_t now_ms) {
  if (load_.size() != shm_.max_procs()) load_.resize(shm_.max_procs());
  int64_t elapsed = last_sample_ms_ ? now_ms - last_sample_ms_ : 0;
  last_sample_ms_ = now_ms;
  for (size_t i = 0; i < load_.size(); ++i) {
    uint64_t busy = shm_.proc(static_cast<int>(i)).stats.get(Stat::kBusyUs);
    Load& l = load_[i];
    if (elapsed > 0 && busy >= l.last_busy_us) {
      double pct = 100.0 * static_cast<double>(busy - l.last_busy_us) /
                   (static_cast<double>(elapsed) * 1000.0);
      l.now = std::min(pct, 100.0);
      double a1 = 1 - std::exp(-static_cast<double>(elapsed) / 60000.0);
      double a10 = 1 - std::exp(-static_cast<double>(elapsed) / 600000.0);
      l.avg1m += a1 * (l.now - l.avg1m);
      l.avg10m += a10 * (l.now - l.avg10m);
    }
    l.last_busy_us = busy;
  }
}

}  // namespace sipsd
