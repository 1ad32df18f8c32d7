#include "bench/sipsbench/report.h"

#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <optional>

namespace sipsd::bench {

namespace {

const char* rate_unit(const Options& o) {
  if (o.mode == Mode::kCall) return "calls/s";
  return o.mode == Mode::kHandshake ? "conn/s" : "req/s";
}

double us(uint64_t ns) {
  return static_cast<double>(ns) / 1000.0;
}

std::string percentiles(const LatencyHistogram& h) {
  if (h.count() == 0) return "-";
  return strprintf("p50 %.1f  p90 %.1f  p99 %.1f  p99.9 %.1f  max %.1f", us(h.percentile(50)),
                   us(h.percentile(90)), us(h.percentile(99)), us(h.percentile(99.9)), us(h.max()));
}

std::string error_details(const RunStats& s) {
  std::string out;
  auto add = [&](const char* name, uint64_t n) {
    if (n == 0) return;
    if (!out.empty()) out += ", ";
    out += strprintf("%s %llu", name, static_cast<unsigned long long>(n));
  };
  add("timeouts", s.timeouts);
  add("mismatched", s.mismatched);
  add("unexpected", s.unexpected);
  add("bad replies", s.bad_replies);
  add("connect failed", s.connect_failed);
  add("handshake failed", s.handshake_failed);
  add("closed", s.closed);
  add("lost", s.lost);
  return out;
}

std::string json_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          out += strprintf("\\u%04x", c);
        } else {
          out += c;
        }
    }
  }
  return out;
}

// Builds one JSON object, keys in insertion order.
class JsonObject {
 public:
  JsonObject& num(const char* key, double v) {
    if (!std::isfinite(v)) v = 0;
    return raw(key, strprintf("%.3f", v));
  }
  JsonObject& count(const char* key, uint64_t v) {
    return raw(key, strprintf("%llu", static_cast<unsigned long long>(v)));
  }
  JsonObject& boolean(const char* key, bool v) { return raw(key, v ? "true" : "false"); }
  JsonObject& str(const char* key, const std::string& v) {
    return raw(key, "\"" + json_escape(v) + "\"");
  }
  JsonObject& raw(const char* key, const std::string& v) {
    body_ += strprintf("%s\n  \"%s\": %s", body_.empty() ? "" : ",", key, v.c_str());
    return *this;
  }
  std::string text() const { return "{" + body_ + "\n}\n"; }

 private:
  std::string body_;
};

std::string latency_json(const LatencyHistogram& h) {
  return strprintf(
      "{\"p50\": %.1f, \"p90\": %.1f, \"p99\": %.1f, \"p99_9\": %.1f, \"max\": %.1f, "
      "\"mean\": %.1f, \"count\": %llu}",
      us(h.percentile(50)), us(h.percentile(90)), us(h.percentile(99)), us(h.percentile(99.9)),
      us(h.max()), h.mean() / 1000.0, static_cast<unsigned long long>(h.count()));
}

// The keys every mode's report starts with.
void common_json(JsonObject& j, const Options& o) {
  j.str("tool", "sipsbench").str("mode", mode_name(o.mode)).str("target", o.target.text());
  j.count("conns", static_cast<uint64_t>(o.conns));
}

std::string mib(uint64_t kb) {
  return strprintf("%.1f MiB", static_cast<double>(kb) / 1024.0);
}

std::string null_or(const std::optional<double>& v) {
  return v ? strprintf("%.3f", *v) : "null";
}

// One "name value" row of a summary, names padded to `width`.
struct SummaryRow {
  FILE* out;
  int width;
  void operator()(const char* name, const std::string& value) const {
    fprintf(out, "  %-*s %s\n", width, name, value.c_str());
  }
};

// The rows every summary ends with: the server's CPU (with --server-pid; `server_extra` after
// its figure) and sipsbench's own, both over `span` (e.g. " over the steps"); then a blank line.
void end_summary(const SummaryRow& row, const Options& o, const CpuFigures& c, const char* span,
                 const std::string& server_extra) {
  if (o.server_pid != 0) {
    row("server CPU",
        c.have_server_cpu
            ? strprintf("%.2f s%s in %d processes (pid %d)%s", c.server_cpu_s, span, c.server_procs,
                        static_cast<int>(o.server_pid), server_extra.c_str())
            : "unknown: " + c.server_cpu_error);
  }
  row("sipsbench CPU", strprintf("%.2f s%s", c.bench_cpu_s, span));
  fprintf(row.out, "\n");
  fflush(row.out);
}

}  // namespace

void print_progress(FILE* out, const Options& o, double elapsed_s, const char* phase, double rate,
                    uint64_t done, uint64_t errors) {
  fprintf(out, "[%5.0fs] %-9s %10.0f %-6s  total %llu  errors %llu\n", elapsed_s, phase, rate,
          rate_unit(o), static_cast<unsigned long long>(done),
          static_cast<unsigned long long>(errors));
  fflush(out);
}

void print_summary(FILE* out, const Options& o, const RunResult& r) {
  const RunStats& s = r.stats;
  bool tls = o.target.transport == Transport::kTls;
  std::string load =
      o.mode == Mode::kThroughput
          ? strprintf("%d conns x %d in flight, %s%s", o.conns, o.inflight, o.method.c_str(),
                      o.body_size > 0 ? strprintf(" (%d-byte body)", o.body_size).c_str() : "")
          : strprintf("%d concurrent, %s%s", o.conns, tls ? "TLS " : "TCP ",
                      o.resume ? "with resumption" : "full handshakes");
  fprintf(out, "\nsipsbench %s  %s  %s, %d worker%s%s\n", mode_name(o.mode),
          o.target.text().c_str(), load.c_str(), o.workers, o.workers == 1 ? "" : "s",
          tls && o.ca_file.empty() ? ", server certificate not verified" : "");
  fprintf(out, "measured %.2f s after %.2f s warm-up%s\n\n", r.measured_s, o.warmup,
          r.interrupted ? " (interrupted)" : "");

  SummaryRow row{out, 18};
  if (o.mode == Mode::kThroughput) {
    row("replies",
        strprintf("%llu   %.1f req/s", static_cast<unsigned long long>(s.measured), r.rate()));
  } else {
    row("connections",
        strprintf("%llu   %.1f conn/s", static_cast<unsigned long long>(s.measured_connections),
                  r.rate()));
    if (tls) {
      double ratio = s.measured_connections > 0
                         ? static_cast<double>(s.resumed) / s.measured_connections
                         : 0.0;
      row("resumed",
          strprintf("%llu (%.1f%%)", static_cast<unsigned long long>(s.resumed), 100.0 * ratio));
    }
  }
  std::string classes;
  for (int c = 1; c <= 6; ++c) {
    if (s.status_class[c] == 0) continue;
    classes += strprintf("%s%dxx %llu", classes.empty() ? "" : "  ", c,
                         static_cast<unsigned long long>(s.status_class[c]));
  }
  row("by class", classes.empty() ? "-" : classes);
  if (o.mode == Mode::kThroughput) {
    row("latency (us)", percentiles(s.latency));
  } else {
    row(tls ? "handshake (us)" : "connect (us)", percentiles(s.handshake));
    row("to reply (us)", percentiles(s.latency));
  }
  row("sent", strprintf("%llu over the whole run, %llu answered, %llu unanswered at the end",
                        static_cast<unsigned long long>(s.sent),
                        static_cast<unsigned long long>(s.answered),
                        static_cast<unsigned long long>(s.unanswered_at_end)));
  std::string errors = strprintf("%llu", static_cast<unsigned long long>(s.errors()));
  if (s.errors() > 0) errors += "  (" + error_details(s) + ")";
  if (s.late > 0)
    errors += strprintf("  late replies %llu", static_cast<unsigned long long>(s.late));
  row("errors", errors);
  if (!s.first_error.empty()) row("first error", s.first_error);
  end_summary(row, o, r, "",
              strprintf("  ->  %.0f %s per server-CPU-second", r.rate_per_server_cpu(),
                        o.mode == Mode::kThroughput ? "req" : "conn"));
}

std::string render_json(const Options& o, const RunResult& r) {
  const RunStats& s = r.stats;
  JsonObject j;
  common_json(j, o);
  j.count("inflight", static_cast<uint64_t>(o.inflight))
      .str("method", o.method)
      .count("body_size", static_cast<uint64_t>(o.body_size))
      .count("workers", static_cast<uint64_t>(o.workers))
      .boolean("resume", o.resume)
      .boolean("verified", !o.ca_file.empty())
      .num("duration_s", o.duration)
      .num("warmup_s", o.warmup)
      .num("timeout_s", o.timeout);
  j.num("measured_s", r.measured_s).boolean("interrupted", r.interrupted);
  j.count("sent", s.sent)
      .count("replies", s.measured)
      .count("replies_total", s.answered)
      .num("rate_per_s", r.rate());
  for (int c = 1; c <= 6; ++c) {
    char key[16];
    snprintf(key, sizeof key, "class_%dxx", c);
    j.count(key, s.status_class[c]);
  }
  j.raw("latency_us", latency_json(s.latency));
  j.count("errors", s.errors())
      .count("timeouts", s.timeouts)
      .count("mismatched", s.mismatched)
      .count("unexpected", s.unexpected)
      .count("bad_replies", s.bad_replies)
      .count("connect_failed", s.connect_failed)
      .count("handshake_failed", s.handshake_failed)
      .count("closed", s.closed)
      .count("lost", s.lost)
      .count("late", s.late)
      .count("unanswered_at_end", s.unanswered_at_end)
      .str("first_error", s.first_error);
  if (o.mode == Mode::kHandshake) {
    double ratio =
        s.measured_connections > 0 ? static_cast<double>(s.resumed) / s.measured_connections : 0.0;
    j.count("handshakes", s.measured_connections)
        .count("handshakes_total", s.connections)
        .num("handshakes_per_s", r.rate())
        .count("resumed", s.resumed)
        .num("resumed_ratio", ratio)
        .raw("handshake_us", latency_json(s.handshake));
  }
  j.count("server_pid", static_cast<uint64_t>(o.server_pid));
  if (r.have_server_cpu) {
    j.num("server_cpu_s", r.server_cpu_s)
        .count("server_processes", static_cast<uint64_t>(r.server_procs))
        .num("rate_per_server_cpu_s", r.rate_per_server_cpu());
  }
  j.num("bench_cpu_s", r.bench_cpu_s);
  return j.text();
}

Status write_json(const std::string& path, const Options& o, const RunResult& r) {
  return write_json_text(path, render_json(o, r));
}

Status write_json_text(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  if (!f) return make_error(strprintf("--json %s: %s", path.c_str(), strerror(errno)));
  f << text;
  f.close();
  if (!f) return make_error(strprintf("--json %s: write failed", path.c_str()));
  return Status::Ok();
}

// --- idle ---------------------------------------------------------------------------------

void print_idle_progress(FILE* out, double elapsed_s, const char* phase, uint64_t established,
                         uint64_t failed, uint64_t open, uint64_t pings, uint64_t pongs,
                         uint64_t errors) {
  fprintf(out,
          "[%5.0fs] %-7s established %llu  failed %llu  open %llu  pings %llu  pongs %llu  "
          "errors %llu\n",
          elapsed_s, phase, static_cast<unsigned long long>(established),
          static_cast<unsigned long long>(failed), static_cast<unsigned long long>(open),
          static_cast<unsigned long long>(pings), static_cast<unsigned long long>(pongs),
          static_cast<unsigned long long>(errors));
  fflush(out);
}

void print_idle_summary(FILE* out, const Options& o, const IdleResult& r) {
  bool tls = o.target.transport == Transport::kTls;
  fprintf(out,
          "\nsipsbench idle  %s  %d connections from %d source address%s, %d %s at a time, "
          "ping every %g s%s\n",
          o.target.text().c_str(), o.connections, o.sources, o.sources == 1 ? "" : "es", o.conns,
          tls ? "handshakes" : "connects", o.ping_interval,
          tls && o.ca_file.empty() ? ", server certificate not verified" : "");
  fprintf(out, "connected in %.2f s, held %.2f s%s\n\n", r.connect_s, r.hold_s,
          r.interrupted ? " (interrupted)" : "");
  SummaryRow row{out, 18};
  auto u = [](uint64_t v) { return static_cast<unsigned long long>(v); };
  row("connections",
      strprintf("%llu of %llu established, %llu failed; %llu closed by the server, %llu open "
                "at the memory sample",
                u(r.established), u(r.requested), u(r.failed), u(r.closed), u(r.open_at_after)));
  row(tls ? "handshake (us)" : "connect (us)", percentiles(r.handshake));
  if (o.idle_register) {
    row("registrations",
        strprintf("%llu registered (%s%d.. @%s), %llu failed, %llu challenged", u(r.registered),
                  o.reg.user_prefix.c_str(), o.reg.first_user, o.reg.domain.c_str(),
                  u(r.register_failed), u(r.register_challenges)));
    row("register (us)", percentiles(r.registration));
  }
  double ratio = r.pings_sent > 0 ? 100.0 * static_cast<double>(r.pongs_received) /
                                        static_cast<double>(r.pings_sent)
                                  : 0.0;
  row("pings",
      strprintf("%llu sent, %llu pongs (%.1f%%)", u(r.pings_sent), u(r.pongs_received), ratio));
  row("pong (us)", percentiles(r.pong));
  std::string check =
      strprintf("%llu of %llu answered OPTIONS with 200", u(r.check_ok), u(r.checked));
  if (!r.first_check_error.empty()) check += "; first failure: " + r.first_check_error;
  row("check", o.check == 0 ? "-" : check);
  if (o.server_pid == 0) {
    row("server memory", "unknown (no --server-pid)");
  } else if (!r.have_memory) {
    row("server memory", "unknown: " + r.memory_error);
  } else {
    std::string mem =
        strprintf("RSS %s -> %s", mib(r.before.rss_kb).c_str(), mib(r.after.rss_kb).c_str());
    if (r.before.have_pss && r.after.have_pss) {
      mem += strprintf(", PSS %s -> %s", mib(r.before.pss_kb).c_str(), mib(r.after.pss_kb).c_str());
    } else {
      mem += ", PSS unreadable";
    }
    mem += strprintf(" (%d processes)", r.after.processes);
    row("server memory", mem);
    std::string per = strprintf("RSS %.0f bytes", r.rss_per_conn_bytes());
    if (r.before.have_pss && r.after.have_pss)
      per += strprintf(", PSS %.0f bytes", r.pss_per_conn_bytes());
    row("per connection", per);
  }
  std::string errors = strprintf("%llu", u(r.errors()));
  if (r.errors() > 0) {
    errors += strprintf(
        "  (connect failed %llu, handshake failed %llu, closed %llu, "
        "unsolicited %llu)",
        u(r.connect_failed), u(r.handshake_failed), u(r.closed), u(r.unsolicited));
  }
  row("errors", errors);
  if (!r.first_error.empty()) row("first error", r.first_error);
  end_summary(row, o, r, "", "");
}

std::string render_idle_json(const Options& o, const IdleResult& r) {
  JsonObject j;
  common_json(j, o);
  j.count("connections_requested", r.requested)
      .count("connections_established", r.established)
      .count("connections_failed", r.failed)
      .count("connections_closed", r.closed)
      .count("connections_open", r.open_at_after)
      .count("sources", static_cast<uint64_t>(o.sources))
      .num("ping_interval_s", o.ping_interval)
      .num("duration_s", o.duration)
      .num("timeout_s", o.timeout)
      .boolean("verified", !o.ca_file.empty())
      .num("connect_s", r.connect_s)
      .num("hold_s", r.hold_s)
      .boolean("interrupted", r.interrupted);
  j.count("pings_sent", r.pings_sent)
      .count("pongs_received", r.pongs_received)
      .count("unsolicited", r.unsolicited)
      .raw("pong_us", latency_json(r.pong))
      .raw("handshake_us", latency_json(r.handshake));
  j.boolean("register", o.idle_register)
      .count("first_user", static_cast<uint64_t>(o.reg.first_user))
      .count("first_source", static_cast<uint64_t>(o.first_source))
      .count("registered", r.registered)
      .count("register_failed", r.register_failed)
      .count("register_challenges", r.register_challenges)
      .raw("register_us", latency_json(r.registration));
  j.count("checked", r.checked)
      .count("check_ok", r.check_ok)
      .str("check_error", r.first_check_error);
  j.count("errors", r.errors())
      .count("connect_failed", r.connect_failed)
      .count("handshake_failed", r.handshake_failed)
      .str("first_error", r.first_error);
  bool pss = r.have_memory && r.before.have_pss && r.after.have_pss;
  j.count("server_rss_before_kb", r.have_memory ? r.before.rss_kb : 0)
      .count("server_rss_after_kb", r.have_memory ? r.after.rss_kb : 0)
      .count("server_pss_before_kb", pss ? r.before.pss_kb : 0)
      .count("server_pss_after_kb", pss ? r.after.pss_kb : 0)
      .num("rss_per_conn_bytes", r.rss_per_conn_bytes())
      .num("pss_per_conn_bytes", r.pss_per_conn_bytes())
      .count("server_processes", static_cast<uint64_t>(r.have_memory ? r.after.processes : 0));
  j.count("server_pid", static_cast<uint64_t>(o.server_pid));
  if (r.have_server_cpu) j.num("server_cpu_s", r.server_cpu_s);
  j.num("bench_cpu_s", r.bench_cpu_s);
  return j.text();
}

// --- ramp ---------------------------------------------------------------------------------

namespace {

const char* kRampHeader =
    "   offered/s  achieved/s   errors  skipped     p50 us     p90 us     p99 us   p99.9 us     "
    "max us  verdict\n";

std::string ramp_row(const RampStep& st) {
  const LatencyHistogram& h = st.stats.latency;
  return strprintf("%12.0f %11.0f %8llu %8llu %10.1f %10.1f %10.1f %10.1f %10.1f  %s\n", st.offered,
                   st.achieved(), static_cast<unsigned long long>(st.stats.errors()),
                   static_cast<unsigned long long>(st.stats.skipped), us(h.percentile(50)),
                   us(h.percentile(90)), us(h.percentile(99)), us(h.percentile(99.9)), us(h.max()),
                   st.verdict.c_str());
}

}  // namespace

void print_ramp_step(FILE* out, const RampStep& step) {
  fprintf(out, "%s%s", kRampHeader, ramp_row(step).c_str());
  fflush(out);
}

void print_ramp_summary(FILE* out, const Options& o, const RampResult& r) {
  bool tls = o.target.transport == Transport::kTls;
  std::string step =
      o.rate_add > 0 ? strprintf("+%g", o.rate_add) : strprintf("x%g", o.rate_factor);
  fprintf(out,
          "\nsipsbench ramp  %s  %d conns, %s, at most %d outstanding per conn, %d worker%s%s\n",
          o.target.text().c_str(), o.conns, o.method.c_str(), o.inflight, o.workers,
          o.workers == 1 ? "" : "s",
          tls && o.ca_file.empty() ? ", server certificate not verified" : "");
  fprintf(out,
          "steps of %g s from %g/s, %s, up to %g/s, after %g s warm-up; %d of %d connections "
          "ready; stopped: %s\n\n",
          o.step_duration, o.rate_start, step.c_str(), o.rate_max, o.warmup, r.connected, o.conns,
          r.stop_reason.c_str());
  fputs(kRampHeader, out);
  for (const RampStep& s : r.steps) fputs(ramp_row(s).c_str(), out);
  fputs("\n", out);
  SummaryRow row{out, 25};
  auto at = [](const std::optional<double>& v) {
    return v ? strprintf("%.0f/s offered", *v) : std::string("never");
  };
  row("p99 stays over 1 ms from", at(r.p99_stays_over_from(1)));
  row("p99 stays over 10 ms from", at(r.p99_stays_over_from(10)));
  row("max sustained", strprintf("%.0f req/s", r.max_sustained()));
  for (const RampStep& s : r.steps) {
    if (!s.stats.first_error.empty()) {
      row("first error", strprintf("(at %.0f/s) %s", s.offered, s.stats.first_error.c_str()));
      break;
    }
  }
  if (r.steps.empty() && !r.totals.first_error.empty()) row("first error", r.totals.first_error);
  end_summary(row, o, r, " over the steps", "");
}

std::string render_ramp_json(const Options& o, const RampResult& r) {
  JsonObject j;
  common_json(j, o);
  j.count("inflight", static_cast<uint64_t>(o.inflight))
      .str("method", o.method)
      .count("workers", static_cast<uint64_t>(o.workers))
      .boolean("verified", !o.ca_file.empty())
      .num("rate_start", o.rate_start)
      .num("rate_factor", o.rate_add > 0 ? 1.0 : o.rate_factor)
      .num("rate_add", o.rate_add)
      .num("rate_max", o.rate_max)
      .num("step_duration_s", o.step_duration)
      .num("warmup_s", o.warmup)
      .num("timeout_s", o.timeout)
      .num("p99_cap_ms", o.p99_cap_ms)
      .count("connected", static_cast<uint64_t>(r.connected))
      .boolean("interrupted", r.interrupted)
      .str("stop_reason", r.stop_reason);
  std::string steps = "[";
  for (size_t i = 0; i < r.steps.size(); ++i) {
    const RampStep& st = r.steps[i];
    const StepStats& s = st.stats;
    steps += strprintf(
        "%s\n    {\"offered_per_s\": %.3f, \"achieved_per_s\": %.3f, \"duration_s\": %.3f, "
        "\"sent\": %llu, \"replies\": %llu, \"replies_in_window\": %llu, \"class_2xx\": %llu, "
        "\"errors\": %llu, \"timeouts\": %llu, \"skipped\": %llu, \"send_lag_max_us\": %.1f, "
        "\"kept_up\": %s, \"verdict\": \"%s\", \"latency_us\": %s",
        i == 0 ? "" : ",", st.offered, st.achieved(), st.duration_s,
        static_cast<unsigned long long>(s.sent), static_cast<unsigned long long>(s.replies),
        static_cast<unsigned long long>(s.replies_in_window),
        static_cast<unsigned long long>(s.status_class[2]),
        static_cast<unsigned long long>(s.errors()), static_cast<unsigned long long>(s.timeouts),
        static_cast<unsigned long long>(s.skipped),
        us(static_cast<uint64_t>(std::max<int64_t>(s.max_lag_ns, 0))),
        st.kept_up ? "true" : "false", json_escape(st.verdict).c_str(),
        latency_json(s.latency).c_str());
    if (st.have_server_cpu) steps += strprintf(", \"server_cpu_s\": %.3f", st.server_cpu_s);
    steps += "}";
  }
  steps += r.steps.empty() ? "]" : "\n  ]";
  j.raw("steps", steps);
  j.raw("p99_over_1ms_at_offered", null_or(r.p99_stays_over_from(1)))
      .raw("p99_over_10ms_at_offered", null_or(r.p99_stays_over_from(10)))
      .num("max_sustained_per_s", r.max_sustained());
  const RunStats& t = r.totals;
  j.count("sent", t.sent)
      .count("replies_total", t.answered)
      .count("errors", t.errors())
      .count("late", t.late)
      .str("first_error", t.first_error);
  j.count("server_pid", static_cast<uint64_t>(o.server_pid));
  if (r.have_server_cpu) {
    j.num("server_cpu_s", r.server_cpu_s)
        .count("server_processes", static_cast<uint64_t>(r.server_procs));
  }
  j.num("bench_cpu_s", r.bench_cpu_s);
  return j.text();
}

// --- call ---------------------------------------------------------------------------------

namespace {

std::string call_load(const Options& o) {
  const CallOptions& c = o.call;
  std::string load =
      c.rate > 0 ? strprintf("%g calls/s offered (at most %d in flight)", c.rate, c.concurrent)
                 : strprintf("%d calls in flight", c.concurrent);
  return strprintf("%s, %d caller %s%s, %d callees (%s), hold %g ms", load.c_str(), o.conns,
                   o.target.transport == Transport::kUdp ? "sockets" : "connections",
                   c.caller_auth ? " (authenticated)" : "", c.callees,
                   callee_mode_name(c.callee_mode), c.hold_ms);
}

std::string codes_text(const std::map<std::string, uint64_t>& codes) {
  std::string out;
  for (const auto& [code, n] : codes)
    out += strprintf("%s%s x%llu", out.empty() ? "" : ", ", code.c_str(),
                     static_cast<unsigned long long>(n));
  return out;
}

std::string ms_percentiles(const LatencyHistogram& h) {
  if (h.count() == 0) return "-";
  auto ms = [](uint64_t ns) { return static_cast<double>(ns) / 1e6; };
  return strprintf("p50 %.3f  p90 %.3f  p99 %.3f  max %.3f", ms(h.percentile(50)),
                   ms(h.percentile(90)), ms(h.percentile(99)), ms(h.max()));
}

}  // namespace

void print_call_summary(FILE* out, const Options& o, const CallResult& r) {
  const CallStats& s = r.stats;
  bool tls = o.target.transport == Transport::kTls;
  auto u = [](uint64_t v) { return static_cast<unsigned long long>(v); };
  fprintf(out, "\nsipsbench call  %s  %s, %d worker%s%s\n", o.target.text().c_str(),
          call_load(o).c_str(), o.workers, o.workers == 1 ? "" : "s",
          tls && o.ca_file.empty() ? ", proxy certificate not verified" : "");
  fprintf(out, "measured %.2f s after %.2f s warm-up%s\n\n", r.measured_s, o.warmup,
          r.interrupted ? " (interrupted)" : "");
  SummaryRow row{out, 18};
  if (!r.stop_reason.empty()) row("not started", r.stop_reason);
  row("set up", strprintf("%d of %d caller connections, %d of %d callees", r.callers_ready, o.conns,
                          r.callees_ready, o.call.callees));
  if (!r.callee_error.empty()) row("callee failure", r.callee_error);
  row("calls",
      strprintf("%llu attempted, %llu completed, %llu failed, %llu unfinished   %.1f "
                "calls/s",
                u(s.attempted), u(s.completed), u(s.failed()), u(s.unfinished), r.calls_per_s()));
  if (s.failed() > 0) {
    std::string why = strprintf(
        "timeout %llu (INVITE %llu, BYE %llu), non-2xx %llu, transport "
        "%llu, protocol %llu",
        u(s.failed_invite_timeout + s.failed_bye_timeout), u(s.failed_invite_timeout),
        u(s.failed_bye_timeout), u(s.failed_non2xx), u(s.failed_transport), u(s.failed_protocol));
    if (!s.failed_codes.empty()) why += " [" + codes_text(s.failed_codes) + "]";
    row("failed by reason", why);
    row("first failure", s.first_failure);
  }
  if (o.call.rate > 0)
    row("skipped", strprintf("%llu (due with --concurrent %d in flight or no caller connection "
                             "ready); send lag max %.3f ms",
                             u(s.skipped), o.call.concurrent,
                             static_cast<double>(std::max<int64_t>(s.max_lag_ns, 0)) / 1e6));
  row("setup (ms)", ms_percentiles(s.setup));
  row("BYE (ms)", ms_percentiles(s.bye));
  row("whole run", strprintf("%llu started, %llu completed, %llu failed; 100 x%llu, 18x x%llu; "
                             "late responses %llu",
                             u(s.started_total), u(s.completed_total), u(s.failed_total),
                             u(s.trying), u(s.ringing), u(s.late)));
  if (o.target.transport == Transport::kUdp)
    row("retransmissions",
        strprintf("INVITE %llu, BYE %llu, ACK again %llu; callees: 200 %llu, "
                  "never ACKed %llu, duplicates absorbed %llu",
                  u(s.invite_retransmits), u(s.bye_retransmits), u(s.ack_resent),
                  u(s.callee_2xx_retransmits), u(s.callee_ack_timeouts), u(s.callee_duplicates)));
  if (o.call.caller_auth || o.call.callee_mode == CalleeMode::kRegister)
    row("authentication",
        strprintf("%llu callees registered; %llu INVITEs challenged and sent again with "
                  "credentials, %llu challenged again (refused)",
                  u(s.callee_registered), u(s.caller_challenges), u(s.auth_refused)));
  row("callees saw", strprintf("%llu INVITE, %llu ACK, %llu BYE, %llu unknown (481), %llu other",
                               u(s.callee_invites), u(s.callee_acks), u(s.callee_byes),
                               u(s.callee_unknown), u(s.callee_other)));
  row("errors", strprintf("%llu (protocol %llu, connection %llu)", u(s.errors()),
                          u(s.protocol_errors), u(s.connection_errors)));
  if (!s.first_error.empty()) row("first error", s.first_error);
  end_summary(row, o, r, "",
              r.have_server_cpu && s.completed > 0
                  ? strprintf("  ->  %.0f calls per server-CPU-second, %.1f us of server CPU per "
                              "call",
                              r.calls_per_server_cpu(), r.server_cpu_per_call_us())
                  : std::string());
}

std::string render_call_json(const Options& o, const CallResult& r) {
  const CallStats& s = r.stats;
  const CallOptions& c = o.call;
  JsonObject j;
  common_json(j, o);
  j.str("transport", transport_name(o.target.transport))
      .count("callees", static_cast<uint64_t>(c.callees))
      .str("callee_mode", callee_mode_name(c.callee_mode))
      .str("load", c.rate > 0 ? "rate" : "concurrent")
      .num("rate_offered_per_s", c.rate)
      .count("concurrent", static_cast<uint64_t>(c.concurrent))
      .num("hold_ms", c.hold_ms)
      .num("t1_ms", c.t1_ms)
      .count("workers", static_cast<uint64_t>(o.workers))
      .boolean("verified", !o.ca_file.empty())
      .num("duration_s", o.duration)
      .num("warmup_s", o.warmup)
      .num("timeout_s", o.timeout);
  j.num("measured_s", r.measured_s).boolean("interrupted", r.interrupted);
  j.str("stop_reason", r.stop_reason)
      .count("callers_ready", static_cast<uint64_t>(r.callers_ready))
      .count("callees_ready", static_cast<uint64_t>(r.callees_ready))
      .str("callee_error", r.callee_error);
  j.count("calls_attempted", s.attempted)
      .count("calls_completed", s.completed)
      .count("calls_failed", s.failed())
      .count("calls_unfinished", s.unfinished)
      .num("calls_per_s", r.calls_per_s())
      .count("failed_timeout", s.failed_invite_timeout + s.failed_bye_timeout)
      .count("failed_invite_timeout", s.failed_invite_timeout)
      .count("failed_bye_timeout", s.failed_bye_timeout)
      .count("failed_non2xx", s.failed_non2xx)
      .count("failed_transport", s.failed_transport)
      .count("failed_protocol", s.failed_protocol);
  std::string codes = "{";
  for (const auto& [code, n] : s.failed_codes)
    codes += strprintf("%s\"%s\": %llu", codes.size() > 1 ? ", " : "", json_escape(code).c_str(),
                       static_cast<unsigned long long>(n));
  j.raw("failed_codes", codes + "}");
  j.str("first_failure", s.first_failure)
      .count("skipped", s.skipped)
      .num("send_lag_max_us", us(static_cast<uint64_t>(std::max<int64_t>(s.max_lag_ns, 0))));
  j.raw("setup_latency_us", latency_json(s.setup)).raw("bye_latency_us", latency_json(s.bye));
  j.count("calls_started_total", s.started_total)
      .count("calls_completed_total", s.completed_total)
      .count("calls_failed_total", s.failed_total)
      .count("trying_received", s.trying)
      .count("ringing_received", s.ringing)
      .count("late_responses", s.late)
      .count("invite_retransmits", s.invite_retransmits)
      .count("bye_retransmits", s.bye_retransmits)
      .count("ack_resent", s.ack_resent)
      .count("callee_2xx_retransmits", s.callee_2xx_retransmits)
      .count("callee_ack_timeouts", s.callee_ack_timeouts)
      .count("callee_duplicates", s.callee_duplicates)
      .count("callee_invites", s.callee_invites)
      .count("callee_acks", s.callee_acks)
      .count("callee_byes", s.callee_byes)
      .count("callee_unknown", s.callee_unknown)
      .count("callee_other", s.callee_other)
      .boolean("caller_auth", c.caller_auth)
      .count("callee_registered", s.callee_registered)
      .count("caller_challenges", s.caller_challenges)
      .count("auth_refused", s.auth_refused);
  j.count("errors", s.errors())
      .count("protocol_errors", s.protocol_errors)
      .count("connection_errors", s.connection_errors)
      .str("first_error", s.first_error);
  j.count("server_pid", static_cast<uint64_t>(o.server_pid));
  if (r.have_server_cpu) {
    j.num("server_cpu_s", r.server_cpu_s)
        .count("server_processes", static_cast<uint64_t>(r.server_procs))
        .num("calls_per_server_cpu_s", r.calls_per_server_cpu())
        .num("server_cpu_per_call_us", r.server_cpu_per_call_us());
  }
  j.num("bench_cpu_s", r.bench_cpu_s);
  return j.text();
}

// --- register mode ----------------------------------------------------------------------

namespace {

std::string register_codes(const std::map<int, uint64_t>& codes, bool json) {
  std::string out;
  for (const auto& [code, n] : codes)
    out += strprintf(json ? "%s\"%d\": %llu" : "%s%d x%llu", out.empty() ? "" : ", ", code,
                     static_cast<unsigned long long>(n));
  return json ? "{" + out + "}" : out;
}

// "reused (nc+1 accepted)", "fresh challenge each time" or "not tried".
std::string nonce_policy(const Options& o, const RegisterStats& s) {
  if (!o.reg.nonce_reuse) return "off: every registration starts without credentials";
  if (s.nonce_reused == 0) return "not tried (no re-registration)";
  if (s.nonce_reuse_accepted == s.nonce_reused) return "accepted: nonce reused with nc+1";
  if (s.nonce_reuse_accepted == 0) return "refused: a fresh challenge each time";
  return "partly accepted";
}

}  // namespace

void print_register_summary(FILE* out, const Options& o, const RegisterResult& r) {
  const RegisterStats& s = r.stats;
  bool tls = o.target.transport == Transport::kTls;
  auto u = [](uint64_t v) { return static_cast<unsigned long long>(v); };
  std::string load = o.call.rate > 0 ? strprintf(
                                           "%g registrations/s offered (at most %d in "
                                           "progress)",
                                           o.call.rate, o.call.concurrent)
                                     : strprintf("%d in progress", o.call.concurrent);
  fprintf(out, "\nsipsbench register  %s  %d users @%s, %s, %d connection%s, %d worker%s%s\n",
          o.target.text().c_str(), o.reg.users, o.reg.domain.c_str(), load.c_str(), o.conns,
          o.conns == 1 ? "" : "s", o.workers, o.workers == 1 ? "" : "s",
          tls && o.ca_file.empty() ? ", server certificate not verified" : "");
  fprintf(out, "measured %.2f s after %.2f s warm-up%s\n\n", r.measured_s, o.warmup,
          r.interrupted ? " (interrupted)" : "");
  SummaryRow row{out, 18};
  row("connections", strprintf("%d of %d open", r.conns_ready, o.conns));
  row("registrations", strprintf("%llu completed, %llu failed   %.1f registrations/s",
                                 u(s.completed), u(s.failed()), r.registrations_per_s()));
  if (s.failed() > 0) {
    std::string why =
        strprintf("timeout %llu, auth rejected %llu, non-2xx %llu, transport %llu",
                  u(s.failed_timeout), u(s.failed_auth), u(s.failed_non2xx), u(s.failed_transport));
    if (!s.failed_codes.empty()) why += " [" + register_codes(s.failed_codes, false) + "]";
    row("failed by reason", why);
    row("first failure", s.first_failure);
  }
  if (o.call.rate > 0) row("skipped", strprintf("%llu (due while at the cap)", u(s.skipped)));
  row("latency (ms)", ms_percentiles(s.latency));
  row("challenges",
      strprintf("%llu of %llu REGISTERs (%.1f%%), %llu with stale=true", u(s.challenges),
                u(s.requests_sent), 100.0 * r.challenge_share(), u(s.stale)));
  row("nonce reuse", strprintf("%s (%llu of %llu)", nonce_policy(o, s).c_str(),
                               u(s.nonce_reuse_accepted), u(s.nonce_reused)));
  row("whole run",
      strprintf("%llu started, %llu completed, %llu unfinished, %llu skipped; "
                "stray responses %llu",
                u(s.attempted), u(s.completed_total), u(s.unfinished), u(s.skipped), u(s.stray)));
  if (o.target.transport == Transport::kUdp)
    row("retransmissions", strprintf("%llu", u(s.retransmits)));
  row("errors",
      strprintf("bad messages %llu, connection %llu", u(s.bad_messages), u(s.connection_errors)));
  if (!s.first_error.empty()) row("first error", s.first_error);
  end_summary(row, o, r, "",
              r.have_server_cpu && s.completed > 0
                  ? strprintf("  ->  %.0f registrations per server-CPU-second, %.1f us of "
                              "server CPU per registration",
                              r.registrations_per_server_cpu(), r.server_cpu_per_registration_us())
                  : std::string());
}

std::string render_register_json(const Options& o, const RegisterResult& r) {
  const RegisterStats& s = r.stats;
  JsonObject j;
  common_json(j, o);
  j.str("transport", transport_name(o.target.transport))
      .count("users", static_cast<uint64_t>(o.reg.users))
      .str("domain", o.reg.domain)
      .boolean("nonce_reuse", o.reg.nonce_reuse)
      .str("load", o.call.rate > 0 ? "rate" : "concurrent")
      .num("rate_offered_per_s", o.call.rate)
      .count("concurrent", static_cast<uint64_t>(o.call.concurrent))
      .count("workers", static_cast<uint64_t>(o.workers))
      .boolean("verified", !o.ca_file.empty())
      .num("duration_s", o.duration)
      .num("warmup_s", o.warmup)
      .num("timeout_s", o.timeout);
  j.num("measured_s", r.measured_s)
      .boolean("interrupted", r.interrupted)
      .count("conns_ready", static_cast<uint64_t>(r.conns_ready));
  j.count("registrations_completed", s.completed)
      .count("registrations_failed", s.failed())
      .num("registrations_per_s", r.registrations_per_s())
      .count("failed_timeout", s.failed_timeout)
      .count("failed_auth", s.failed_auth)
      .count("failed_non2xx", s.failed_non2xx)
      .count("failed_transport", s.failed_transport)
      .raw("failed_codes", register_codes(s.failed_codes, true))
      .str("first_failure", s.first_failure)
      .count("skipped", s.skipped)
      .raw("latency_us", latency_json(s.latency));
  j.count("requests_sent", s.requests_sent)
      .count("challenges", s.challenges)
      .num("challenge_share", r.challenge_share())
      .count("stale_challenges", s.stale)
      .count("with_credentials", s.with_credentials)
      .count("nonce_reused", s.nonce_reused)
      .count("nonce_reuse_accepted", s.nonce_reuse_accepted)
      .str("nonce_policy", nonce_policy(o, s))
      .count("registrations_started_total", s.attempted)
      .count("registrations_completed_total", s.completed_total)
      .count("unfinished", s.unfinished)
      .count("retransmits", s.retransmits)
      .count("stray_responses", s.stray);
  j.count("errors", s.bad_messages + s.connection_errors)
      .count("bad_messages", s.bad_messages)
      .count("connection_errors", s.connection_errors)
      .str("first_error", s.first_error);
  j.count("server_pid", static_cast<uint64_t>(o.server_pid));
  if (r.have_server_cpu) {
    j.num("server_cpu_s", r.server_cpu_s)
        .count("server_processes", static_cast<uint64_t>(r.server_procs))
        .num("registrations_per_server_cpu_s", r.registrations_per_server_cpu())
        .num("server_cpu_per_registration_us", r.server_cpu_per_registration_us());
  }
  j.num("bench_cpu_s", r.bench_cpu_s);
  return j.text();
}

}  // namespace sipsd::bench
