#!/usr/bin/env python3
"""The table of `ab-sipsd.sh`: two sipsd builds, A (before) and B (after), run in ABBA order.

  ab_report.py --one FILE.json
      one line about one run (what ab-sipsd.sh logs after each run)
  ab_report.py --raw DIR --rounds N --scenarios S... --a BIN --b BIN [--workers N]
               [--duration S] [--warmup S] [--out results.json] [--syscalls A.txt B.txt]
      reads DIR/<A|B>-<scenario>-r<round>.json and prints, per scenario, each round's server
      CPU per unit (connection for the handshake scenarios, request for the throughput ones),
      rate and errors, the B/A ratio of the round's pair, the medians, the median of the per-pair
      ratios with their min-max and how many pairs have B below A; with --syscalls the system
      calls per unit of syscall-count.sh's output for A and B side by side.

The per-pair ratio is the figure to read: both runs of a pair are adjacent in time (ABBA order),
so most of the machine's drift cancels in it. "B lower than A beyond the spread" means every
pair's ratio is below 1 (the largest ratio < 1), with at least 6 pairs.
"""
import argparse
import json
import math
import os
import re
import statistics
import sys

from aggregate import load  # sipsbench --json files, None when unreadable

DESC = {
    "hs_ecdsa": ("full TLS handshake (ECDSA P-256) + one OPTIONS + close, 4 at a time", "conn"),
    "hs_resume": ("resumed TLS handshake + one OPTIONS + close, 4 at a time", "conn"),
    "hs_rsa": ("full TLS handshake (RSA-2048) + one OPTIONS + close, 4 at a time", "conn"),
    "tls32": ("TLS OPTIONS, 4 connections x 32 in flight", "req"),
    "tls1": ("TLS OPTIONS, 4 connections x 1 in flight", "req"),
}
SYSCALL_LOAD = {"hs_ecdsa": "hs", "hs_resume": "resume", "tls32": "tls32", "tls1": "tls1"}


def units(j):
    """Measured connections (handshake mode) or replies (throughput mode)."""
    if j.get("mode") == "handshake":
        return j.get("handshakes") or 0
    return j.get("replies") or 0


def cpu_per_unit_us(j):
    if j is None or j.get("server_cpu_s") is None:
        return None
    n = units(j)
    if n <= 0:
        return None
    return j["server_cpu_s"] * 1e6 / n


def one_line(j):
    n = units(j)
    per = cpu_per_unit_us(j)
    unit = "conn" if j.get("mode") == "handshake" else "req"
    rate = n / j["measured_s"] if j.get("measured_s") else 0
    s = "%d %s in %.1f s (%.0f/s), server CPU %.2f s in %s processes -> %s us/%s" % (
        n, unit, j.get("measured_s", 0), rate, j.get("server_cpu_s") or 0,
        j.get("server_processes", "?"), "%.1f" % per if per is not None else "?", unit)
    if j.get("mode") == "handshake" and j.get("resume"):
        s += ", resumed %.1f%%" % (100 * (j.get("resumed_ratio") or 0))
    if j.get("errors"):
        s += ", errors %d (%s)" % (j["errors"], j.get("first_error") or "")
    return s


def parse_syscalls(path):
    """syscall-count.sh output -> {load: (total per unit, {syscall: per unit})}."""
    out = {}
    cur = None
    try:
        lines = open(path).read().splitlines()
    except OSError:
        return out
    for line in lines:
        m = re.match(r"^== (\S+): .* -> ([0-9.]+) per (\S+)", line)
        if m:
            cur = m.group(1)
            out[cur] = (float(m.group(2)), {})
            continue
        m = re.match(r"^\s+(\S+)\s+(\d+)\s+([0-9.]+) per ", line)
        if m and cur:
            out[cur][1][m.group(1)] = float(m.group(3))
    return out


def sign_test_p(below, n):
    """Two-sided sign test: the chance of a split at least this uneven if A and B cost the same."""
    if n == 0:
        return 1.0
    k = min(below, n - below)
    tail = sum(math.comb(n, i) for i in range(k + 1)) / 2.0 ** n
    return min(1.0, 2 * tail)


# Two-sided 95 % quantiles of Student's t for 1..30 degrees of freedom (more: 2.0).
T975 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179,
        2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064,
        2.060, 2.056, 2.052, 2.048, 2.045, 2.042]


def geo_mean_ci(ratios):
    """Geometric mean of the pair ratios and its 95 % confidence interval (t on the logs)."""
    logs = [math.log(r) for r in ratios]
    m = statistics.mean(logs)
    if len(logs) < 2:
        return math.exp(m), None, None
    se = statistics.stdev(logs) / math.sqrt(len(logs))
    t = T975[len(logs) - 2] if len(logs) - 2 < len(T975) else 2.0
    return math.exp(m), math.exp(m - t * se), math.exp(m + t * se)


def spread(vals):
    return "%.3f-%.3f" % (min(vals), max(vals)) if vals else "-"


def report(a):
    results = {"a": a.a, "b": a.b, "rounds": a.rounds, "workers": a.workers,
               "duration_s": a.duration, "warmup_s": a.warmup, "scenarios": {}}
    print()
    print("sipsd A/B in one session, ABBA order (odd rounds A then B, even rounds B then A)")
    print("  A (before): %s" % a.a)
    print("  B (after):  %s" % a.b)
    print("  %s workers, %s s measured after %s s warm-up per run, a fresh server per run; "
          "server CPU = utime+stime of the supervisor and all workers (/proc) over the measured "
          "period" % (a.workers, a.duration, a.warmup))
    verdicts = []
    for scen in a.scenarios:
        desc, unit = DESC.get(scen, (scen, "unit"))
        print()
        print("%s: %s; server CPU per %s (us)" % (scen, desc, unit))
        print("  %-5s %-5s %10s %10s %8s %10s %10s %8s %8s" % (
            "round", "order", "A us/" + unit, "B us/" + unit, "B/A", "A " + unit + "/s",
            "B " + unit + "/s", "A err", "B err"))
        a_vals, b_vals, ratios, a_rates, b_rates = [], [], [], [], []
        rows = []
        for r in range(1, a.rounds + 1):
            ja = load(os.path.join(a.raw, "A-%s-r%d.json" % (scen, r)))
            jb = load(os.path.join(a.raw, "B-%s-r%d.json" % (scen, r)))
            pa = cpu_per_unit_us(ja) if ja else None
            pb = cpu_per_unit_us(jb) if jb else None
            ra = units(ja) / ja["measured_s"] if ja and ja.get("measured_s") else None
            rb = units(jb) / jb["measured_s"] if jb and jb.get("measured_s") else None
            ratio = pb / pa if pa and pb else None
            if pa is not None:
                a_vals.append(pa)
            if pb is not None:
                b_vals.append(pb)
            if ratio is not None:
                ratios.append(ratio)
            if ra:
                a_rates.append(ra)
            if rb:
                b_rates.append(rb)
            f = lambda v, p="%.1f": p % v if v is not None else "-"
            print("  %-5d %-5s %10s %10s %8s %10s %10s %8s %8s" % (
                r, "AB" if r % 2 else "BA", f(pa), f(pb), f(ratio, "%.3f"), f(ra, "%.0f"),
                f(rb, "%.0f"), ja.get("errors", "-") if ja else "-",
                jb.get("errors", "-") if jb else "-"))
            rows.append({"round": r, "order": "AB" if r % 2 else "BA", "a_us": pa, "b_us": pb,
                         "ratio": ratio, "a_rate": ra, "b_rate": rb,
                         "a_errors": ja.get("errors") if ja else None,
                         "b_errors": jb.get("errors") if jb else None,
                         "a_resumed": ja.get("resumed_ratio") if ja else None,
                         "b_resumed": jb.get("resumed_ratio") if jb else None})
        med = lambda v: statistics.median(v) if v else None
        ma, mb, mr = med(a_vals), med(b_vals), med(ratios)
        print("  %-11s %10s %10s %8s %10s %10s" % (
            "median", "%.1f" % ma if ma else "-", "%.1f" % mb if mb else "-",
            "%.3f" % (mb / ma) if ma and mb else "-", "%.0f" % med(a_rates) if a_rates else "-",
            "%.0f" % med(b_rates) if b_rates else "-"))
        below = sum(1 for x in ratios if x < 1)
        if ratios:
            p = sign_test_p(below, len(ratios))
            print("  B/A per pair: median %.3f, min-max %s, B below A in %d of %d pairs "
                  "(sign test p=%.3f)" % (mr, spread(ratios), below, len(ratios), p))
            gm, lo, hi = geo_mean_ci(ratios)
            if lo is not None:
                print("  B/A geometric mean %.3f, 95%% confidence interval %.3f-%.3f" % (gm, lo, hi))
            print("  spread of single runs (max/min - 1): A %.1f%%, B %.1f%%" % (
                100 * (max(a_vals) / min(a_vals) - 1), 100 * (max(b_vals) / min(b_vals) - 1)))
            if len(ratios) < 6:
                v = ("too few pairs (%d) for a verdict: with 6 or more, all on one side of 1 has "
                     "p <= 0.03" % len(ratios))
            elif max(ratios) < 1:
                v = "B lower than A beyond the spread: every pair below 1 (%.1f%% lower, median)" % (
                    100 * (1 - mr))
            elif min(ratios) > 1:
                v = "B HIGHER than A beyond the spread: every pair above 1 (%.1f%% higher, median)" % (
                    100 * (mr - 1))
            else:
                v = "no difference beyond the spread (pairs on both sides of 1)"
                if lo is not None and hi < 1:
                    v += "; B lower on average: %.1f%% (95%% CI %.1f-%.1f%%)" % (
                        100 * (1 - gm), 100 * (1 - hi), 100 * (1 - lo))
                elif lo is not None and lo > 1:
                    v += "; B higher on average: %.1f%% (95%% CI %.1f-%.1f%%)" % (
                        100 * (gm - 1), 100 * (lo - 1), 100 * (hi - 1))
                else:
                    v += "; the 95% CI of the mean ratio includes 1"
            print("  -> %s" % v)
            verdicts.append("%s: %s" % (scen, v))
        results["scenarios"][scen] = {
            "unit": unit, "rows": rows, "a_median_us": ma, "b_median_us": mb,
            "ratio_of_medians": mb / ma if ma and mb else None, "pair_ratio_median": mr,
            "pair_ratio_min": min(ratios) if ratios else None,
            "pair_ratio_max": max(ratios) if ratios else None,
            "pairs_b_below_a": below, "pairs": len(ratios),
            "sign_test_p": sign_test_p(below, len(ratios)) if ratios else None,
            "pair_ratio_geomean": geo_mean_ci(ratios)[0] if ratios else None,
            "pair_ratio_ci95": list(geo_mean_ci(ratios)[1:]) if len(ratios) > 1 else None}
    if a.syscalls:
        sa, sb = parse_syscalls(a.syscalls[0]), parse_syscalls(a.syscalls[1])
        results["syscalls"] = {"a": sa, "b": sb}
        print()
        print("system calls per unit (syscall-count.sh: strace -c -f on supervisor + workers, "
              "2 workers)")
        for scen in a.scenarios:
            ld = SYSCALL_LOAD.get(scen)
            if ld is None or ld not in sa or ld not in sb:
                continue
            unit = DESC[scen][1]
            print("  %s (per %s): A %.2f, B %.2f" % (scen, unit, sa[ld][0], sb[ld][0]))
            names = sorted(set(sa[ld][1]) | set(sb[ld][1]),
                           key=lambda n: -(sa[ld][1].get(n, 0) + sb[ld][1].get(n, 0)))
            for n in names:
                print("    %-16s %8.3f %8.3f" % (n, sa[ld][1].get(n, 0), sb[ld][1].get(n, 0)))
    if verdicts:
        print()
        for v in verdicts:
            print(v)
    if a.out:
        with open(a.out, "w") as f:
            json.dump(results, f, indent=1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--one")
    ap.add_argument("--raw")
    ap.add_argument("--rounds", type=int, default=6)
    ap.add_argument("--scenarios", nargs="+", default=["hs_ecdsa", "hs_resume"])
    ap.add_argument("--a", default="A")
    ap.add_argument("--b", default="B")
    ap.add_argument("--workers", default="?")
    ap.add_argument("--duration", default="?")
    ap.add_argument("--warmup", default="?")
    ap.add_argument("--out")
    ap.add_argument("--syscalls", nargs=2, metavar=("A_TXT", "B_TXT"))
    a = ap.parse_args()
    if a.one:
        j = load(a.one)
        if j is None:
            sys.exit("no JSON")
        print(one_line(j))
        return
    if not a.raw:
        ap.error("--one or --raw")
    report(a)


if __name__ == "__main__":
    main()
