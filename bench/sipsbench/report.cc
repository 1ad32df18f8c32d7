#include "bench/sipsbench/report.h"

#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>

namespace sipsd::bench {

namespace {

const char* rate_unit(const Options& o) {
  return o.mode == Mode::kThroughput ? "req/s" : "conn/s";
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

  auto row = [&](const char* name, const std::string& value) {
    fprintf(out, "  %-18s %s\n", name, value.c_str());
  };
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
  if (o.server_pid != 0) {
    if (r.have_server_cpu) {
      row("server CPU",
          strprintf("%.2f s in %d processes (pid %d)  ->  %.0f %s per server-CPU-second",
                    r.server_cpu_s, r.server_procs, static_cast<int>(o.server_pid),
                    r.rate_per_server_cpu(), o.mode == Mode::kThroughput ? "req" : "conn"));
    } else {
      row("server CPU", "unknown: " + r.server_cpu_error);
    }
  }
  row("sipsbench CPU", strprintf("%.2f s", r.bench_cpu_s));
  fprintf(out, "\n");
  fflush(out);
}

std::string render_json(const Options& o, const RunResult& r) {
  const RunStats& s = r.stats;
  JsonObject j;
  j.str("tool", "sipsbench").str("mode", mode_name(o.mode)).str("target", o.target.text());
  j.count("conns", static_cast<uint64_t>(o.conns))
      .count("inflight", static_cast<uint64_t>(o.inflight))
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
  std::string text = render_json(o, r);
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  if (!f) return make_error(strprintf("--json %s: %s", path.c_str(), strerror(errno)));
  f << text;
  f.close();
  if (!f) return make_error(strprintf("--json %s: write failed", path.c_str()));
  return Status::Ok();
}

}  // namespace sipsd::bench
