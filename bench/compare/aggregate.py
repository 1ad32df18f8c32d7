#!/usr/bin/env python3
"""Aggregates the sipsbench JSON files of `make bench-compare` into one table and one JSON.

  aggregate.py --one FILE.json
      one line about one run (what bench-compare.sh logs after each run)
  aggregate.py --raw DIR --meta META.json --out DIR [--plot latency-vs-load.gp]
      reads DIR/<server>-<scenario>-r<round>.json (and .crash markers), prints the table
      (medians over rounds, min-max spread, sipsd/Kamailio ratio), the machine, the crypto
      ceiling; writes OUT/results.json, OUT/ramp-<server>.dat and, with gnuplot,
      OUT/latency-vs-load.png
"""
import argparse
import glob
import json
import os
import re
import statistics
import subprocess
import sys

SERVERS = ["sipsd", "kamailio"]
NAMES = {"sipsd": "sipsd", "kamailio": "Kamailio"}

# scenario -> description
SCENARIOS = [
    ("tls32", "TLS, 4 conns x 32 in flight (OPTIONS, ECDSA cert)"),
    ("tls1", "TLS, 4 conns x 1 in flight"),
    ("tcp32", "TCP, 4 conns x 32 in flight"),
    ("hs_ecdsa", "full TLS handshakes, ECDSA P-256, 4 at a time"),
    ("hs_rsa", "full TLS handshakes, RSA-2048, 4 at a time"),
    ("hs_resume", "resumed TLS handshakes (ECDSA), 4 at a time"),
    ("idle", "idle TLS connections held (CRLFCRLF keep-alives)"),
    ("storm", "reconnect storm: every idle TLS phone drops and reconnects at once (tickets)"),
    ("ramp", "open-loop ramp, TLS, 4 conns (latency vs offered load)"),
    ("call_tls", "relayed calls over TLS, callees listening (the proxy connects to them)"),
    ("call_tls_paced", "the same, paced at half the lower server's peak"),
    ("call_tls_reuse", "relayed calls over TLS, callees connected first (connection reuse)"),
    ("call_tls_reuse_paced", "the same, paced at half the lower server's peak"),
    ("call_udp", "relayed calls over UDP, callees listening"),
    ("call_udp_paced", "the same, paced at half the lower server's peak"),
    ("call_auth_tls", "authenticated calls over TLS: callees registered (digest), every INVITE "
     "challenged (407) and sent again with credentials, lookup(\"location\")"),
    ("call_auth_tls_paced", "the same, paced at half the lower server's peak"),
    ("register", "REGISTER with digest auth over TLS, nonce reused with nc+1"),
    ("register_fresh", "REGISTER with digest auth over TLS, every registration challenged"),
]
REGISTER = {"register": "nonce reuse", "register_fresh": "fresh challenge"}
RELAY = {"call_tls": "TLS", "call_tls_reuse": "TLS reuse", "call_udp": "UDP",
         "call_auth_tls": "TLS authenticated"}

# (scenario, json path, label, unit, better) ; better: "higher" / "lower"
METRICS = [
    ("tls32", "rate_per_s", "TLS 4x32 throughput", "req/s", "higher"),
    ("tls32", "rate_per_server_cpu_s", "TLS 4x32 per server-CPU-s", "req/CPU-s", "higher"),
    ("tls32", "latency_us.p50", "TLS 4x32 latency p50", "us", "lower"),
    ("tls32", "latency_us.p99", "TLS 4x32 latency p99", "us", "lower"),
    ("tls1", "rate_per_s", "TLS 4x1 throughput", "req/s", "higher"),
    ("tls1", "rate_per_server_cpu_s", "TLS 4x1 per server-CPU-s", "req/CPU-s", "higher"),
    ("tls1", "latency_us.p50", "TLS 4x1 latency p50", "us", "lower"),
    ("tls1", "latency_us.p99", "TLS 4x1 latency p99", "us", "lower"),
    ("tcp32", "rate_per_s", "TCP 4x32 throughput", "req/s", "higher"),
    ("tcp32", "rate_per_server_cpu_s", "TCP 4x32 per server-CPU-s", "req/CPU-s", "higher"),
    ("tcp32", "latency_us.p99", "TCP 4x32 latency p99", "us", "lower"),
    ("hs_ecdsa", "handshakes_per_s", "full handshakes ECDSA", "hs/s", "higher"),
    ("hs_ecdsa", "rate_per_server_cpu_s", "full hs ECDSA per server-CPU-s", "hs/CPU-s", "higher"),
    ("hs_ecdsa", "handshake_us.p99", "full hs ECDSA handshake p99", "us", "lower"),
    ("hs_rsa", "handshakes_per_s", "full handshakes RSA", "hs/s", "higher"),
    ("hs_rsa", "rate_per_server_cpu_s", "full hs RSA per server-CPU-s", "hs/CPU-s", "higher"),
    ("hs_rsa", "handshake_us.p99", "full hs RSA handshake p99", "us", "lower"),
    ("hs_resume", "handshakes_per_s", "resumed handshakes", "hs/s", "higher"),
    ("hs_resume", "rate_per_server_cpu_s", "resumed hs per server-CPU-s", "hs/CPU-s", "higher"),
    ("hs_resume", "resumed_ratio", "resumed ratio", "", "higher"),
    ("idle", "connections_established", "idle conns established", "conns", "higher"),
    ("idle", "rss_per_conn_bytes", "idle RSS per connection", "bytes", "lower"),
    ("idle", "pss_per_conn_bytes", "idle PSS per connection", "bytes", "lower"),
    ("storm", "reconnected", "storm phones re-established", "conns", "higher"),
    ("storm", "storm_s", "storm: all answering again after", "s", "lower"),
    ("storm", "p50_ms", "storm per phone p50", "ms", "lower"),
    ("storm", "p99_ms", "storm per phone p99", "ms", "lower"),
    ("storm", "resumed_ratio", "storm resumed share", "", "higher"),
    ("storm", "server_cpu_per_conn_us", "storm server CPU per reconnection", "us", "lower"),
    ("ramp", "max_sustained_per_s", "ramp max sustained", "req/s", "higher"),
    ("ramp", "p99_over_1ms_at_offered", "ramp p99 stays > 1 ms from", "req/s", "higher"),
    ("ramp", "p99_over_10ms_at_offered", "ramp p99 stays > 10 ms from", "req/s", "higher"),
]
for _scen, _name in RELAY.items():
    METRICS += [
        (_scen, "calls_per_s", "relay %s calls/s (max)" % _name, "calls/s", "higher"),
        (_scen, "calls_per_server_cpu_s", "relay %s calls per server-CPU-s" % _name,
         "calls/CPU-s", "higher"),
        (_scen, "calls_failed", "relay %s failed calls (max run)" % _name, "calls", "lower"),
        (_scen + "_paced", "rate_offered_per_s", "relay %s paced run offered" % _name,
         "calls/s", "same"),
        (_scen + "_paced", "setup_latency_us.p50", "relay %s setup p50 at half peak" % _name,
         "us", "lower"),
        (_scen + "_paced", "setup_latency_us.p99", "relay %s setup p99 at half peak" % _name,
         "us", "lower"),
        (_scen + "_paced", "calls_failed", "relay %s failed calls (paced run)" % _name,
         "calls", "lower"),
    ]
for _scen, _name in REGISTER.items():
    METRICS += [
        (_scen, "registrations_per_s", "register (%s) registrations/s" % _name, "reg/s",
         "higher"),
        (_scen, "registrations_per_server_cpu_s",
         "register (%s) per server-CPU-s" % _name, "reg/CPU-s", "higher"),
        (_scen, "latency_us.p50", "register (%s) latency p50" % _name, "us", "lower"),
        (_scen, "latency_us.p99", "register (%s) latency p99" % _name, "us", "lower"),
        (_scen, "challenge_share", "register (%s) challenged share" % _name, "", "same"),
        (_scen, "registrations_failed", "register (%s) failed" % _name, "registrations", "lower"),
    ]


def get(d, path):
    for k in path.split("."):
        if not isinstance(d, dict) or k not in d:
            return None
        d = d[k]
    if isinstance(d, bool):
        return float(d)
    if isinstance(d, (int, float)):
        return float(d)
    return None


def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def one_line(path):
    j = load(path)
    if j is None:
        return "no result"
    mode = j.get("mode", "?")
    err = int(j.get("errors", 0) or 0)
    cpu = j.get("rate_per_server_cpu_s")
    if mode == "throughput":
        s = "%.0f req/s, %s req/CPU-s, p50 %.0f us, p99 %.0f us" % (
            j.get("rate_per_s", 0), "%.0f" % cpu if cpu is not None else "?",
            get(j, "latency_us.p50") or 0, get(j, "latency_us.p99") or 0)
    elif mode == "handshake":
        s = "%.0f hs/s, %s hs/CPU-s, resumed %.0f%%" % (
            j.get("handshakes_per_s", 0), "%.0f" % cpu if cpu is not None else "?",
            100 * (j.get("resumed_ratio") or 0))
    elif mode == "idle":
        s = "%s conns (%s failed), RSS/conn %s B, PSS/conn %s B, check %s" % (
            j.get("connections_established"), j.get("connections_failed"),
            fmt(get(j, "rss_per_conn_bytes")), fmt(get(j, "pss_per_conn_bytes")),
            j.get("check_ok"))
    elif mode == "call":
        s = "%.0f calls/s (%s offered), %s calls/CPU-s, setup p50 %.0f us p99 %.0f us, " \
            "%d attempted, %d failed" % (
                j.get("calls_per_s", 0),
                "%.0f/s" % j["rate_offered_per_s"] if j.get("load") == "rate" else
                "%s in flight" % j.get("concurrent"),
                "%.0f" % j["calls_per_server_cpu_s"] if j.get("calls_per_server_cpu_s") is not None
                else "?", get(j, "setup_latency_us.p50") or 0, get(j, "setup_latency_us.p99") or 0,
                j.get("calls_attempted", 0), j.get("calls_failed", 0))
        if j.get("calls_failed"):
            s += " (first: %s)" % j.get("first_failure", "")
        if j.get("stop_reason"):
            s += ", not started: %s" % j["stop_reason"]
    elif mode == "register":
        cpu = j.get("registrations_per_server_cpu_s")
        s = "%.0f reg/s, %s reg/CPU-s, p50 %.0f us p99 %.0f us, challenged %.0f%%, " \
            "nonce reuse: %s, %d failed" % (
                j.get("registrations_per_s", 0), "%.0f" % cpu if cpu is not None else "?",
                get(j, "latency_us.p50") or 0, get(j, "latency_us.p99") or 0,
                100 * (j.get("challenge_share") or 0), j.get("nonce_policy", "?"),
                j.get("registrations_failed", 0))
        if j.get("registrations_failed"):
            s += " (first: %s)" % j.get("first_failure", "")
    elif mode == "storm":
        s = "%s/%s phones back in %s s, p50 %s ms, p99 %s ms, resumed %.0f%%, %s us CPU/conn" % (
            j.get("reconnected"), j.get("set_up"), fmt(get(j, "storm_s")),
            fmt(get(j, "p50_ms")), fmt(get(j, "p99_ms")), 100 * (j.get("resumed_ratio") or 0),
            fmt(get(j, "server_cpu_per_conn_us")))
        if j.get("failed"):
            s += ", %s failed (%s)" % (j.get("failed"), j.get("first_error", ""))
    elif mode == "ramp":
        s = "max sustained %s req/s, p99 stays >1ms from %s, >10ms from %s, %d steps" % (
            fmt(get(j, "max_sustained_per_s")), fmt(get(j, "p99_over_1ms_at_offered")),
            fmt(get(j, "p99_over_10ms_at_offered")), len(j.get("steps") or []))
    else:
        s = mode
    if err:
        s += ", %d errors (%s)" % (err, j.get("first_error", ""))
    return s


def sipsd_relay_skipped(meta, scen):
    """Whether bench-compare left sipsd out of this relay scenario (its relay cfg rejected)."""
    if not scen.startswith("call_"):
        return False
    if scen.startswith("call_auth"):
        return meta.get("sipsd_call_auth") == 0
    relay = meta.get("sipsd_relay")
    return relay == "none" or (relay == "stream" and scen.startswith("call_udp"))


def fmt(v, unit=""):
    if v is None:
        return "-"
    if unit in ("calls", "registrations"):  # counts
        return "%.0f" % v
    if unit == "" and v <= 1.0 and v != int(v):
        return "%.2f" % v
    a = abs(v)
    if a >= 100:
        return "%.0f" % v
    if a >= 10:
        return "%.1f" % v
    return "%.2f" % v


def spread(vals):
    if len(vals) < 2:
        return ""
    lo, hi = min(vals), max(vals)
    med = statistics.median(vals)
    if med:
        return "±%.0f%%" % (100.0 * (hi - lo) / 2 / abs(med))
    return "%s-%s" % (fmt(lo), fmt(hi))


def parse_speed(mr):
    """openssl speed -mr lines: +F2 rsa (bits, sign/s, verify/s), +F4 ecdsa, +F5 ecdh."""
    out = {}
    for m in re.finditer(r"\+F(\d+):(\d+):(\d+):([0-9.]+):([0-9.]+)", mr or ""):
        kind, bits, a = m.group(1), int(m.group(3)), float(m.group(4))
        b = float(m.group(5))
        if kind == "2" and bits == 2048:
            out["rsa2048_sign_per_s"] = a
            out["rsa2048_verify_per_s"] = b
        elif kind == "4" and bits == 256:
            out["ecdsap256_sign_per_s"] = a
            out["ecdsap256_verify_per_s"] = b
        elif kind == "5":
            out["kex_ops_per_s"] = a
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--one")
    ap.add_argument("--raw")
    ap.add_argument("--meta")
    ap.add_argument("--out")
    ap.add_argument("--plot")
    a = ap.parse_args()
    if a.one:
        print(one_line(a.one))
        return

    meta = load(a.meta) or {}
    runs = {}  # (scenario, server) -> list of (round, json)
    crashes = {}
    for path in sorted(glob.glob(os.path.join(a.raw, "*-r*.json"))):
        m = re.match(r"(sipsd|kamailio)-(\w+)-r(\d+)\.json$", os.path.basename(path))
        if not m:
            continue
        j = load(path)
        if j is not None:
            runs.setdefault((m.group(2), m.group(1)), []).append((int(m.group(3)), j))
    retried = {}
    for path in glob.glob(os.path.join(a.raw, "*-r*.retried")):
        m = re.match(r"(sipsd|kamailio)-(\w+)-r(\d+)\.retried$", os.path.basename(path))
        if m:
            retried.setdefault((m.group(2), m.group(1)), []).append(int(m.group(3)))
    for path in glob.glob(os.path.join(a.raw, "*-r*.crash")):
        m = re.match(r"(sipsd|kamailio)-(\w+)-r(\d+)\.crash$", os.path.basename(path))
        if m:
            crashes.setdefault((m.group(2), m.group(1)), []).append(int(m.group(3)))
    # A run during which the server crashed measures the crash, not the server: its figures
    # are kept in results.json (marked) but not in the medians.
    crashed_runs = {}
    for key, rounds in crashes.items():
        keep = []
        for r, j in runs.get(key, []):
            if r in rounds:
                j["crashed"] = True
                crashed_runs.setdefault(key, []).append((r, j))
            else:
                keep.append((r, j))
        runs[key] = keep

    speed = parse_speed(meta.get("openssl_speed_mr", ""))
    kex = speed.get("kex_ops_per_s")
    ceiling = {}
    if kex and speed.get("ecdsap256_sign_per_s"):
        ceiling["hs_ecdsa"] = 1.0 / (1.0 / speed["ecdsap256_sign_per_s"] + 1.0 / kex)
    if kex and speed.get("rsa2048_sign_per_s"):
        ceiling["hs_rsa"] = 1.0 / (1.0 / speed["rsa2048_sign_per_s"] + 1.0 / kex)

    rows = []
    for scen, path, label, unit, better in METRICS:
        row = {"scenario": scen, "metric": path, "label": label, "unit": unit,
               "better": better}
        have = False
        for srv in SERVERS:
            vals = [v for v in (get(j, path) for _, j in runs.get((scen, srv), [])) if v is not None]
            # A crashed or crippled run says nothing about a rate: no zero from a crash.
            row[srv] = {"values": vals,
                        "median": statistics.median(vals) if vals else None,
                        "min": min(vals) if vals else None,
                        "max": max(vals) if vals else None}
            have = have or bool(vals)
        if not have:
            continue
        ms, mk = row["sipsd"]["median"], row["kamailio"]["median"]
        row["ratio"] = ms / mk if ms is not None and mk else None
        rows.append(row)
        if scen in ceiling and path == "rate_per_server_cpu_s":
            frow = {"scenario": scen, "metric": path + "/ceiling",
                    "label": label.replace("per server-CPU-s", "") .strip() +
                    " per CPU-s / crypto ceiling", "unit": "%", "better": "higher"}
            for srv in SERVERS:
                d = row[srv]
                frow[srv] = {k: (100 * d[k] / ceiling[scen] if d[k] is not None else None)
                             for k in ("median", "min", "max")}
                frow[srv]["values"] = [100 * v / ceiling[scen] for v in d["values"]]
            frow["ratio"] = row["ratio"]
            rows.append(frow)

    # Errors and crashes per scenario and server.
    notes = []
    for scen, _ in SCENARIOS:
        for srv in SERVERS:
            rs = runs.get((scen, srv), [])
            errs = sum(int(j.get("errors", 0) or 0) for _, j in rs)
            if errs:
                first = next((j.get("first_error") for _, j in rs if j.get("first_error")), "")
                notes.append("%s %s: %d errors over %d run(s); first: %s" %
                             (NAMES[srv], scen, errs, len(rs), first))
            for r in sorted(retried.get((scen, srv), [])):
                notes.append("%s %s round %d: the server crashed during the run; restarted "
                             "and run once more" % (NAMES[srv], scen, r))
            for r in sorted(crashes.get((scen, srv), [])):
                notes.append("%s %s round %d: the server crashed during the run" %
                             (NAMES[srv], scen, r))
            for r, j in rs:
                if j.get("mode") == "call" and (j.get("calls_failed") or j.get("stop_reason")):
                    notes.append("%s %s round %d: %s of %s calls failed%s; first: %s" % (
                        NAMES[srv], scen, r, j.get("calls_failed"), j.get("calls_attempted"),
                        " (not started: %s)" % j["stop_reason"] if j.get("stop_reason") else "",
                        j.get("first_failure") or j.get("first_error") or "-"))
            for r, j in rs:
                if j.get("mode") == "register" and j.get("registrations_failed"):
                    notes.append("%s %s round %d: %s registrations failed; first: %s" % (
                        NAMES[srv], scen, r, j.get("registrations_failed"),
                        j.get("first_failure") or "-"))
            if scen == "idle":
                for r, j in rs:
                    if j.get("check_ok") is False or (j.get("connections_failed") or 0) > 0:
                        notes.append("%s idle round %d: %s established, %s failed, check %s/%s" % (
                            NAMES[srv], r, j.get("connections_established"),
                            j.get("connections_failed"), j.get("check_ok"), j.get("checked")))

    # ----- table -----
    lines = []
    lines.append("sipsd vs Kamailio on this machine (medians over %s round(s); spread = "
                 "half the min-max range as %% of the median)" % meta.get("rounds", "?"))
    lines.append("")
    lines.append("machine : %s, %s cores, %s" % (meta.get("cpu_model"), meta.get("cores"),
                                                 meta.get("kernel")))
    lines.append("software: %s; Kamailio %s; %s" % (meta.get("openssl"), meta.get("kamailio"),
                                                    meta.get("sipsd")))
    lines.append("config  : %s TCP/TLS workers each; TLS 1.2-1.3; key exchange %s; "
                 "stateless 200 to OPTIONS; no per-request logging" %
                 (meta.get("workers"), meta.get("kex_group")))
    if meta.get("kamailio_handshake_readers") != meta.get("workers"):
        why = ("(--kam-hs-readers)" if meta.get("kamailio_tls_threads_mode") else
               "because this Kamailio (no tls_threads_mode) crashes with several readers "
               "under concurrent TLS handshakes with OpenSSL 3 (kamailio issues #3695, #3791)")
        lines.append("          Kamailio ran the handshake and idle scenarios with %s TCP "
                     "reader(s) %s" % (meta.get("kamailio_handshake_readers"), why))
    if any(r["scenario"].startswith("call_") for r in rows):
        lines.append("relay   : call_* = sipsbench call: 4 caller connections, 4 callees, "
                     "INVITE/180/200/ACK, BYE/200, no hold; max = %s calls in flight; paced = "
                     "%s; both servers stateful (tm + rr, record_route, loose_route, t_relay)" %
                     ((meta.get("call") or {}).get("concurrent", "?"),
                      (meta.get("call") or {}).get("paced", "?")))
        relay = meta.get("sipsd_relay")
        if relay == "none":
            lines.append("          sipsd: NOT RUN in the relay scenarios (Kamailio only): "
                         "`sipsd -c` rejects the relay cfg: %s" % meta.get("sipsd_relay_why"))
        elif relay == "stream":
            lines.append("          sipsd: call_udp NOT RUN (Kamailio only): %s" %
                         meta.get("sipsd_relay_why"))
    if any(r["scenario"].startswith("call_auth") for r in rows):
        lines.append("auth    : call_auth_tls = the same calls between subscribers of the register "
                     "scenarios: callees --callee-mode register (REGISTER, 401, REGISTER with "
                     "credentials), callers --caller-auth (INVITE, 407, ACK, INVITE with "
                     "Proxy-Authorization); both servers: proxy_authorize + consume_credentials, "
                     "record_route, lookup(\"location\"), t_relay; auth_db on db_sqlite, usrloc "
                     "in memory; a fresh server per run")
        if meta.get("sipsd_call_auth") == 0:
            lines.append("          sipsd: call_auth_tls NOT RUN (Kamailio only): %s" %
                         meta.get("sipsd_call_auth_why"))
    if any(r["scenario"].startswith("register") for r in rows):
        reg = meta.get("register") or {}
        lines.append("register: sipsbench register: %s subscribers @%s over %s TLS connections, "
                     "%s registrations in progress; auth + auth_db on db_sqlite (subscriber "
                     "table, ha1), usrloc in memory + registrar; Digest MD5, qop=auth" %
                     (reg.get("users", "?"), reg.get("domain", "?"), reg.get("conns", "?"),
                      reg.get("concurrent", "?")))
        if meta.get("sipsd_register") == 0:
            lines.append("          sipsd: NOT RUN in the register scenarios (Kamailio only): %s" %
                         meta.get("sipsd_register_why"))
    lines.append("")
    w = max(len(r["label"]) + len(r["unit"]) + 3 for r in rows) if rows else 30
    hdr = "%-*s | %-20s | %-20s | %-7s | %s" % (w, "metric", "sipsd", "Kamailio", "ratio",
                                                  "better")
    lines.append(hdr)
    lines.append("-" * len(hdr))
    last = None
    for r in rows:
        if last is not None and r["scenario"] != last:
            lines.append("")
        last = r["scenario"]
        name = r["label"] + (" (%s)" % r["unit"] if r["unit"] else "")
        cells = []
        for srv in SERVERS:
            d = r[srv]
            if d["median"] is None and srv == "sipsd" and sipsd_relay_skipped(meta, r["scenario"]):
                cells.append("not run")
            elif d["median"] is None:
                cells.append("-")
            else:
                cells.append(("%s %s" % (fmt(d["median"], r["unit"]), spread(d["values"]))).strip())
        ratio = "%.2f" % r["ratio"] if r.get("ratio") is not None else "-"
        if r["metric"].endswith("/ceiling"):
            ratio = ""
        lines.append("%-*s | %-20s | %-20s | %-7s | %s" % (w, name, cells[0], cells[1], ratio,
                                                          r["better"]))
    lines.append("")
    lines.append("ratio = sipsd / Kamailio (medians); 'better' says whether a higher or a "
                 "lower value is better for that row.")
    lines.append("Rates per server-CPU-second count the CPU time of the server's main "
                 "process and all its children during the measured period: the fair figure "
                 "when sipsbench and the server share the same cores.")

    if speed:
        lines.append("")
        lines.append("crypto ceiling of this machine (openssl speed -seconds 2, one core):")
        if "ecdsap256_sign_per_s" in speed:
            lines.append("  ecdsap256 sign   %10.0f /s" % speed["ecdsap256_sign_per_s"])
        if "rsa2048_sign_per_s" in speed:
            lines.append("  rsa2048 sign     %10.0f /s" % speed["rsa2048_sign_per_s"])
        if kex:
            lines.append("  %-16s %10.0f /s" % (meta.get("kex_alg", "kex"), kex))
        for scen, lab in (("hs_ecdsa", "ECDSA"), ("hs_rsa", "RSA")):
            if scen not in ceiling:
                continue
            c = ceiling[scen]
            parts = []
            for srv in SERVERS:
                rs = runs.get((scen, srv), [])
                hs = [get(j, "handshakes_per_s") for _, j in rs]
                hs = [v for v in hs if v is not None]
                pc = [get(j, "rate_per_server_cpu_s") for _, j in rs]
                pc = [v for v in pc if v is not None]
                if hs:
                    parts.append("%s %.0f hs/s = %.0f%% of %d cores x ceiling, %s per CPU-s" % (
                        NAMES[srv], statistics.median(hs),
                        100 * statistics.median(hs) / (c * int(meta.get("cores", 1))),
                        int(meta.get("cores", 1)),
                        "%.0f%% of ceiling" % (100 * statistics.median(pc) / c) if pc else "-"))
            lines.append("  full handshake %s: 1 sign + 1 %s = %.0f hs/s per core%s" % (
                lab, meta.get("kex_alg", "kex"), c, "" if parts else ""))
            for p in parts:
                lines.append("      " + p)
        lines.append("  (a TLS 1.3 server full handshake costs ~1 signature + 1 key exchange; "
                     "the ephemeral key generation, hashing and record crypto come on top)")

    if notes:
        lines.append("")
        lines.append("errors and failures:")
        for n in notes:
            lines.append("  " + n)

    skipped = []
    if not meta.get("have_idle"):
        skipped.append("idle (sipsbench has no idle mode)")
    if not meta.get("have_ramp"):
        skipped.append("ramp (sipsbench has no ramp mode)")
    if meta.get("have_register") == 0:
        skipped.append("register* (sipsbench has no register mode)")
    if meta.get("have_call") == 0:
        skipped.append("call_* (sipsbench has no call mode)")
    if skipped:
        lines.append("")
        lines.append("skipped: " + "; ".join(skipped))

    # ----- ramp data and plot -----
    plot_files = {}
    for srv in SERVERS:
        rs = [(r, j) for r, j in runs.get(("ramp", srv), []) if j.get("steps")]
        if not rs:
            continue
        # The round whose max sustained rate is the median one.
        rs.sort(key=lambda x: get(x[1], "max_sustained_per_s") or 0)
        r, j = rs[(len(rs) - 1) // 2]
        dat = os.path.join(a.out, "ramp-%s.dat" % srv)
        with open(dat, "w") as f:
            f.write("# %s ramp, round %d: offered achieved errors p50_us p99_us\n" % (srv, r))
            for st in j["steps"]:
                f.write("%s %s %s %s %s\n" % (st.get("offered_per_s"), st.get("achieved_per_s"),
                                              st.get("errors"), get(st, "latency_us.p50"),
                                              get(st, "latency_us.p99")))
        plot_files[srv] = dat
    png = None
    if plot_files and a.plot:
        png = os.path.join(a.out, "latency-vs-load.png")
        cmd = ["gnuplot", "-e",
               "outfile='%s'; sipsd='%s'; kamailio='%s'" % (
                   png, plot_files.get("sipsd", ""), plot_files.get("kamailio", "")), a.plot]
        try:
            subprocess.run(cmd, check=True, timeout=60, capture_output=True)
        except (OSError, subprocess.SubprocessError) as e:
            lines.append("gnuplot failed: %s" % e)
            png = None

    results = {
        "meta": meta,
        "crypto": {"openssl_speed": speed, "handshake_ceiling_per_core": ceiling},
        "rows": rows,
        "notes": notes,
        "runs": {"%s/%s" % (srv, scen): [dict(j, round=r) for r, j in sorted(
                     runs.get((scen, srv), []) + crashed_runs.get((scen, srv), []),
                     key=lambda x: x[0])]
                 for (scen, srv) in set(runs) | set(crashed_runs)},
        "crashes": {"%s/%s" % (srv, scen): v for (scen, srv), v in crashes.items()},
    }
    rj = os.path.join(a.out, "results.json")
    with open(rj, "w") as f:
        json.dump(results, f, indent=1)

    lines.append("")
    lines.append("results: %s" % rj)
    if png:
        lines.append("plot   : %s" % png)
    lines.append("raw    : %s (one JSON and one text output per run, server logs, cfgs)" % a.raw)
    print("\n".join(lines))


if __name__ == "__main__":
    sys.exit(main())
