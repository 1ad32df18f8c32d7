#!/usr/bin/env python3
"""Where a sipsd's memory goes with N idle TLS connections, and whether it comes back.

Starts sipsd (BUILD/sipsd) with W TCP workers and a TLS listener on 127.0.0.1, then:

  1. baseline   per-process VmRSS and PSS (/proc/PID/smaps_rollup, smem-style) of the
                supervisor and every worker;
  2. open       `sipsbench idle` opens N TLS connections (spread over --sources loopback source
                addresses) and keeps them alive with CRLFCRLF pings; once tls:conns_open says N
                the script samples again: (open - baseline) / N is the PSS per idle connection;
  3. closed     sipsbench closes them all; once tls:conns_open is 0 and a few seconds passed,
                the script samples again: what did not return to the system.

Repeat with --rounds R to see whether memory after close keeps growing round after round.

usage: bench/memory/idle_memory.py BUILD [--connections 5000] [--workers 4] [--rounds 1]
                                         [--json FILE] [--modparam MOD,NAME,VALUE ...]

--modparam adds a cfg line, e.g. `--modparam proto_tls,tls_record_handoff,0` for the idle
connection as OpenSSL keeps it.

The certificates come from BUILD/test-certs (made by tests/gen_certs.sh when missing). It
needs `ulimit -n` above N + 100 for sipsbench and the workers (max 20,000 per process).
"""
import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.dirname(os.path.dirname(HERE))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def proc_memory(pid):
    """(rss_kb, pss_kb, anon_kb) of one process."""
    rss = pss = anon = 0
    with open("/proc/%d/smaps_rollup" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            v = v.strip().split()
            if not v:
                continue
            if k == "Rss":
                rss = int(v[0])
            elif k == "Pss":
                pss = int(v[0])
            elif k == "Anonymous":
                anon = int(v[0])
    return rss, pss, anon


def children(pid):
    out = []
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
            out = [int(x) for x in f.read().split()]
    except OSError:
        pass
    return out


def sample(root):
    """{"supervisor": (rss, pss, anon), "worker <pid>": ..., "total": ...}"""
    procs = {"supervisor": proc_memory(root)}
    for c in sorted(children(root)):
        try:
            procs["worker %d" % c] = proc_memory(c)
        except OSError:
            pass
    total = tuple(sum(v[i] for v in procs.values()) for i in range(3))
    procs["total"] = total
    return procs


class Sipsd:
    def __init__(self, build, workers, max_conns, extra=""):
        self.dir = tempfile.mkdtemp(prefix="sipsd-mem-")
        certs = os.path.join(build, "test-certs")
        if not os.path.exists(os.path.join(certs, "cert.pem")):
            subprocess.check_call(["sh", os.path.join(SOURCE, "tests/gen_certs.sh"), certs])
        self.port = free_port()
        self.fifo = os.path.join(self.dir, "fifo")
        cfg = os.path.join(self.dir, "sipsd.cfg")
        with open(cfg, "w") as f:
            f.write("""log_level=2
stderror_enabled=yes
tcp_workers=%d
tcp_max_connections=%d
tcp_connection_lifetime=3600
socket=tls:127.0.0.1:%d
loadmodule "proto_tls.so"
loadmodule "tls_mgm.so"
loadmodule "mi_fifo.so"
loadmodule "sl.so"
loadmodule "sipmsgops.so"
modparam("mi_fifo", "fifo_name", "%s")
modparam("mi_fifo", "reply_dir", "%s/")
modparam("tls_mgm", "server_domain", "default")
modparam("tls_mgm", "certificate", "[default]%s/cert.pem")
modparam("tls_mgm", "private_key", "[default]%s/ckey.pem")
modparam("tls_mgm", "verify_cert", "[default]0")
modparam("tls_mgm", "require_cert", "[default]0")
%s
route { if (is_method("OPTIONS")) { sl_send_reply(200, "OK"); exit; } sl_send_reply(501, "Not Implemented"); }
""" % (workers, max_conns, self.port, self.fifo, self.dir, certs, certs, extra))
        self.log = open(os.path.join(self.dir, "sipsd.log"), "w")
        self.sipsctl = os.path.join(build, "sipsctl")
        self.proc = subprocess.Popen([os.path.join(build, "sipsd"), "-f", cfg], stdout=self.log,
                                     stderr=subprocess.STDOUT)
        deadline = time.time() + 15
        while time.time() < deadline:
            if os.path.exists(self.fifo) and len(children(self.proc.pid)) == workers:
                try:
                    self.stat("tls:conns_open")
                    return
                except Exception:
                    pass
            time.sleep(0.1)
        raise RuntimeError("sipsd did not start; see %s" % self.log.name)

    def stat(self, name):
        out = subprocess.check_output([self.sipsctl, "--fifo", self.fifo, "--reply-dir", self.dir + "/", "--json", "get_statistics",
                                       name], timeout=10)
        return int(json.loads(out)[name])

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        shutil.rmtree(self.dir, ignore_errors=True)


def wait_for(pred, timeout):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return True
        time.sleep(0.2)
    return False


def show(title, s, base=None, per=None):
    print("%-12s %10s %10s %10s" % (title, "RSS kB", "PSS kB", "anon kB"))
    for k, v in s.items():
        line = "  %-18s %8d %10d %10d" % (k, v[0], v[1], v[2])
        if base is not None and k in base:
            d = [v[i] - base[k][i] for i in range(3)]
            line += "   delta %+8d %+8d %+8d" % tuple(d)
            if per and k == "total":
                line += "   = %.0f B PSS per connection" % (d[1] * 1024.0 / per)
        print(line)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build")
    ap.add_argument("--connections", type=int, default=5000)
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--sources", type=int, default=4)
    ap.add_argument("--hold", type=float, default=5)
    ap.add_argument("--json")
    ap.add_argument("--modparam", action="append", default=[], metavar="MOD,NAME,VALUE",
                    help="a modparam line for the cfg, e.g. proto_tls,tls_record_handoff,0")
    a = ap.parse_args()
    build = os.path.abspath(a.build)
    extra = ""
    for m in a.modparam:
        mod, name, value = m.split(",", 2)
        extra += 'modparam("%s", "%s", %s)\n' % (mod, name, value if value.isdigit() else '"%s"' % value)
    srv = Sipsd(build, a.workers, a.connections + 1000, extra)
    results = {"connections": a.connections, "workers": a.workers, "rounds": []}
    try:
        time.sleep(1)
        base = sample(srv.proc.pid)
        show("baseline", base)
        results["baseline"] = base
        for r in range(a.rounds):
            bench = subprocess.Popen(
                [os.path.join(build, "bench", "sipsbench"), "idle", "--target",
                 "tls:127.0.0.1:%d" % srv.port, "--connections", str(a.connections),
                 "--sources", str(a.sources), "--duration", str(a.hold + 5), "--check", "10",
                 "--quiet"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            if not wait_for(lambda: srv.stat("tls:conns_open") >= a.connections, 180):
                print("only %d connections opened" % srv.stat("tls:conns_open"))
            time.sleep(a.hold)
            opened = sample(srv.proc.pid)
            show("round %d open" % (r + 1), opened, base, a.connections)
            out, _ = bench.communicate(timeout=300)
            wait_for(lambda: srv.stat("tls:conns_open") == 0, 60)
            time.sleep(3)
            closed = sample(srv.proc.pid)
            show("round %d closed" % (r + 1), closed, base)
            results["rounds"].append({"open": opened, "closed": closed})
            if bench.returncode != 0:
                print(out)
    finally:
        srv.stop()
    if a.json:
        with open(a.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
