#!/usr/bin/env python3
"""How many registered TLS phones one sipsd (or Kamailio) holds on this box, and what each costs.

Starts sipsd (BUILD/sipsd) as a registrar (auth + auth_db on db_sqlite, usrloc in memory,
registrar) with W TCP workers and a TLS listener on 127.0.0.1, then:

  1. provisions N subscribers phone0..phone(N-1)@phones.example (password pw<i>) with
     `sipsctl db init` and one SQLite transaction (ha1, ha1_sha256, ha1_sha512t256);
  2. baseline  the server's RSS and PSS (/proc/PID/smaps_rollup of the supervisor and every
               worker, as bench/memory/idle_memory.py);
  3. register  K = ceil(N / --per-proc) `sipsbench idle --register` processes, each from its own
               source address 127.0.0.(2+k), open their share of the TLS connections; each
               connection registers one subscriber (REGISTER -> 401 -> REGISTER with digest
               credentials -> 200) and then idles with a CRLFCRLF ping every --ping-interval s;
  4. held      once usrloc:registered_users says N (or stops growing), the server's memory
               again, usrloc's and tls's statistics, and (--ul-dump) the bindings ul_dump lists;
  5. the sipsbench processes hold for --hold s, ask 20 phones each for an OPTIONS, and close.

It prints phones registered, the time to register them all, the server's RSS/PSS before and
after and the bytes per registered phone. Limits of this box: at most 20,000 descriptors per
process (so --per-proc <= 19,000 and N / W below 19,000 for the workers), 2 cores shared by the
clients and the server, 23 GB of memory.

--servers sipsd,kamailio runs the same phones against each server in turn (sipsd first) and
ends with the ratio of their memory per registered phone. Kamailio (bench/memory/
kamailio_registrar.py) is bench-compare's registrar, bench/compare/kamailio-register.cfg.in:
5.6's auth + auth_db on db_sqlite with the same subscribers in its own schema, usrloc in
memory (db_mode 0) with the same hash_size, registrar, TLS with the same certificate,
tcp_connection_lifetime 3600, statistics through kamcmd (ctl + kex). Its tcp_main keeps a
descriptor for every connection, so with 20,000 descriptors per process it holds at most
19,000 phones here; and 5.6 without tls_threads_mode gets one TLS reader (--kam-readers).

usage: bench/memory/registered_phones.py BUILD [--phones 100000] [--workers 8]
           [--servers sipsd|kamailio|sipsd,kamailio] [--kam-readers N] [--kam-shm MB]
           [--per-proc 15000] [--conns 32] [--hold 60] [--ping-interval 30] [--ul-dump]
           [--json FILE] [--keep]
"""
import argparse
import hashlib
import json
import math
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
from idle_memory import children, free_port, proc_memory, sample  # noqa: E402
import kamailio_registrar  # noqa: E402

DOMAIN = "phones.example"
FD_LIMIT = 20000  # per process on this box


def provision(sipsctl, db, n):
    """sipsctl db init, then n subscribers in one transaction (sipsctl user add per user would
    take minutes for 100,000)."""
    subprocess.check_call([sipsctl, "db", "init", "sqlite://" + db], stdout=subprocess.DEVNULL)

    def rows():
        for i in range(n):
            u, p = "phone%d" % i, "pw%d" % i
            a1 = ("%s:%s:%s" % (u, DOMAIN, p)).encode()
            yield (u, DOMAIN, p, hashlib.md5(a1).hexdigest(), hashlib.sha256(a1).hexdigest(),
                   hashlib.new("sha512_256", a1).hexdigest())

    con = sqlite3.connect(db)
    con.executemany("INSERT INTO subscriber (username, domain, password, ha1, ha1_sha256, "
                    "ha1_sha512t256) VALUES (?, ?, ?, ?, ?, ?)", rows())
    con.commit()
    con.close()


class Registrar:
    def __init__(self, build, workdir, workers, phones, db):
        self.dir = workdir
        certs = os.path.join(build, "test-certs")
        if not os.path.exists(os.path.join(certs, "cert.pem")):
            subprocess.check_call(["sh", os.path.join(SOURCE, "tests/gen_certs.sh"), certs])
        self.ca = os.path.join(certs, "ca.pem")
        self.port = free_port()
        self.fifo = os.path.join(self.dir, "fifo")
        self.sipsctl = os.path.join(build, "sipsctl")
        self.workers = workers
        hash_bits = max(9, min(16, int(math.ceil(math.log2(max(phones, 1))))))
        cfg = os.path.join(self.dir, "registrar.cfg")
        with open(cfg, "w") as f:
            f.write("""log_level=2
stderror_enabled=yes
tcp_workers=%(workers)d
tcp_max_connections=%(conns)d
tcp_connection_lifetime=3600
socket=tls:127.0.0.1:%(port)d
loadmodule "proto_tls.so"
loadmodule "tls_mgm.so"
loadmodule "mi_fifo.so"
loadmodule "sl.so"
loadmodule "sipmsgops.so"
loadmodule "usrloc.so"
loadmodule "registrar.so"
loadmodule "auth.so"
loadmodule "auth_db.so"
modparam("mi_fifo", "fifo_name", "%(fifo)s")
modparam("mi_fifo", "reply_dir", "%(dir)s/")
modparam("tls_mgm", "server_domain", "default")
modparam("tls_mgm", "certificate", "[default]%(certs)s/cert.pem")
modparam("tls_mgm", "private_key", "[default]%(certs)s/ckey.pem")
modparam("tls_mgm", "verify_cert", "[default]0")
modparam("tls_mgm", "require_cert", "[default]0")
modparam("usrloc", "db_mode", 0)
modparam("usrloc", "max_contacts_total", %(slots)d)
modparam("usrloc", "hash_size", %(hash_bits)d)
modparam("auth_db", "db_url", "sqlite://%(db)s")
modparam("auth_db", "load_credentials", "")
modparam("auth_db", "cache_size", %(slots)d)
route {
    if (is_method("OPTIONS")) { sl_send_reply(200, "OK"); exit; }
    if (is_method("REGISTER")) {
        if (!www_authorize("", "subscriber")) { www_challenge("", "auth"); exit; }
        consume_credentials();
        if (!save("location")) sl_reply_error();
        exit;
    }
    sl_send_reply(403, "Forbidden");
}
""" % {"workers": workers, "conns": phones + 2000, "port": self.port, "fifo": self.fifo,
                "dir": self.dir, "certs": certs, "slots": phones + 1000, "hash_bits": hash_bits,
                "db": db})
        self.log = open(os.path.join(self.dir, "sipsd.log"), "w")
        self.proc = subprocess.Popen([os.path.join(build, "sipsd"), "-f", cfg], stdout=self.log,
                                     stderr=subprocess.STDOUT)
        deadline = time.time() + 30
        while time.time() < deadline:
            if self.proc.poll() is not None:
                break
            if os.path.exists(self.fifo) and len(children(self.proc.pid)) >= workers:
                try:
                    self.stat("usrloc:registered_users")
                    return
                except Exception:
                    pass
            time.sleep(0.2)
        raise RuntimeError("sipsd did not start; see %s" % self.log.name)

    name = "sipsd"

    def describe(self):
        return "sipsd with %d TCP workers" % self.workers

    def registered(self):
        return self.stat("usrloc:registered_users")

    def conns_open(self):
        return self.stat("tls:conns_open")

    def all_statistics(self):
        stats = {}
        for name in ("usrloc:registered_users", "usrloc:location-contacts", "tls:conns_open",
                     "registrar:accepted_regs", "registrar:rejected_regs", "auth:"):
            try:
                stats.update(json.loads(self.mi("get_statistics", name)))
            except Exception as e:
                stats[name] = "error: %s" % e
        return stats

    def ul_dump_count(self):
        return ul_dump_count(self)

    def mi(self, *args, timeout=30):
        return subprocess.check_output([self.sipsctl, "--fifo", self.fifo, "--reply-dir",
                                        self.dir + "/", "--json"] + list(args), timeout=timeout)

    def stat(self, name):
        return int(json.loads(self.mi("get_statistics", name))[name])

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def ul_dump_count(reg):
    """Bindings listed by `ul_dump` (OpenSIPS shape: Domains[].AORs[].Contacts[])."""
    d = json.loads(reg.mi("ul_dump", timeout=120))
    aors = contacts = 0
    for dom in d.get("Domains", []):
        for aor in dom.get("AORs", []):
            aors += 1
            contacts += len(aor.get("Contacts", []))
    return aors, contacts


def cpu_seconds(pids):
    """utime + stime of these processes (/proc/PID/stat), in seconds."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for p in pids:
        try:
            with open("/proc/%d/stat" % p) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except (OSError, IndexError, ValueError):
            pass
    return total / float(tick)


def tree_rss_kb(pids):
    total = 0
    for p in pids:
        try:
            total += proc_memory(p)[0]
        except OSError:
            pass
    return total


def start_server(kind, build, work, a, n):
    """Provision the subscribers in the server's own schema and start it as the registrar."""
    os.makedirs(work, exist_ok=True)
    hash_bits = max(9, min(16, int(math.ceil(math.log2(max(n, 1))))))
    t = time.time()
    if kind == "sipsd":
        db = os.path.join(work, "phones.db")
        provision(os.path.join(build, "sipsctl"), db, n)
    else:
        db = os.path.join(work, "kamailio-phones.db")
        kamailio_registrar.provision(db, n, DOMAIN)
    provision_s = time.time() - t
    print("%s: provisioned %d subscribers in %.1f s (%s)" % (kind, n, provision_s, db))
    if kind == "sipsd":
        srv = Registrar(build, work, a.workers, n, db)
    else:
        srv = kamailio_registrar.KamailioRegistrar(build, work, a.workers, n, db, hash_bits,
                                                   readers=a.kam_readers, shm_mb=a.kam_shm)
    return srv, provision_s


def measure(kind, build, work, a, n, procs):
    """One server: start it, register and hold the n phones, sample, stop. The result dict."""
    srv, provision_s = start_server(kind, build, work, a, n)
    print("%s: %s, TLS on 127.0.0.1:%d" % (kind, srv.describe(), srv.port))
    result = {"server": kind, "server_setup": srv.describe(), "phones": n,
              "workers": a.workers, "sipsbench_processes": procs, "per_proc": a.per_proc,
              "ping_interval_s": a.ping_interval, "provision_s": provision_s}
    benches = []
    try:
        time.sleep(1)
        base = sample(srv.proc.pid)
        server_pids = [srv.proc.pid] + children(srv.proc.pid)
        cpu0 = cpu_seconds(server_pids)
        t0 = time.time()
        # An even share each, so the processes finish connecting together (each holds --hold
        # from the end of its own connect phase).
        for k in range(procs):
            first = k * n // procs
            count = (k + 1) * n // procs - first
            jf = os.path.join(work, "sipsbench-%d.json" % k)
            args = [os.path.join(build, "bench", "sipsbench"), "idle", "--register",
                    "--target", "tls:127.0.0.1:%d" % srv.port, "--ca", srv.ca,
                    "--connections", str(count), "--conns", str(min(a.conns, count)),
                    "--sources", "1", "--first-source", str(2 + k),
                    "--user-prefix", "phone", "--first-user", str(first), "--domain", DOMAIN,
                    "--password", "pw{i}", "--ping-interval", str(a.ping_interval),
                    "--duration", str(a.hold), "--timeout", str(a.timeout),
                    "--connect-limit", str(a.connect_limit), "--check", "20", "--json", jf,
                    "--quiet"]
            out = open(os.path.join(work, "sipsbench-%d.txt" % k), "w")
            benches.append((subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT), jf,
                            out.name))
        # Registered: poll the statistic until all are there, it stops growing for 30 s, or
        # every sipsbench process has ended (or the server has).
        last, last_change, registered = -1, time.time(), 0
        progress = []
        while True:
            time.sleep(1)
            if srv.proc.poll() is not None:
                print("  %s exited (status %s) while the phones registered" % (
                    kind, srv.proc.returncode))
                break
            try:
                registered = srv.registered()
            except Exception as e:  # a slow answer under load: try again
                print("  (statistics: %s)" % e)
                continue
            now = time.time()
            if registered != last:
                last, last_change = registered, now
                progress.append((round(now - t0, 1), registered))
                print("  %6.1f s  %d registered" % (now - t0, registered), flush=True)
            if registered >= n or now - last_change > 30 or \
                    all(p.poll() is not None for p, _, _ in benches):
                break
        if srv.proc.poll() is not None:
            raise RuntimeError("%s exited during the run; see the log in %s" % (kind, work))
        t_all = last_change - t0
        server_cpu_s = cpu_seconds(server_pids) - cpu0
        cpu_window_s = time.time() - t0
        client_cpu_s = cpu_seconds([p.pid for p, _, _ in benches])
        time.sleep(3)  # the last 200s written, the loops idle again
        open_before = srv.conns_open()
        held = sample(srv.proc.pid)
        open_after = srv.conns_open()
        stats = srv.all_statistics()
        if a.ul_dump:
            t = time.time()
            try:
                aors, contacts = srv.ul_dump_count()
                result["ul_dump"] = {"aors": aors, "contacts": contacts, "s": time.time() - t}
            except Exception as e:
                result["ul_dump"] = {"error": str(e)[:300]}
        client_rss_kb = tree_rss_kb([p.pid for p, _, _ in benches])
        # The sipsbench processes hold, check and exit on their own.
        for p, _, _ in benches:
            try:
                p.wait(timeout=a.connect_limit + a.hold + 3 * a.timeout + 60)
            except subprocess.TimeoutExpired:
                p.terminate()
                p.wait()
        clients = []
        for p, jf, txt in benches:
            try:
                with open(jf) as f:
                    clients.append(json.load(f))
            except (OSError, ValueError):
                clients.append({"error": "no JSON (exit %s); see %s" % (p.returncode, txt)})
    finally:
        for p, _, _ in benches:
            if p.poll() is None:
                p.terminate()
                p.wait()
        srv.stop()

    d_rss = held["total"][0] - base["total"][0]
    d_pss = held["total"][1] - base["total"][1]
    # What the sample held: the bindings, and the TLS connections open (the lower of the counts
    # before and after it, should a process have ended its hold meanwhile).
    held_phones = min(registered, open_before, open_after)
    per = held_phones if held_phones > 0 else 1
    result.update({
        "registered": registered,
        "tls_conns_open_at_sample": [open_before, open_after],
        "phones_held_at_sample": held_phones,
        "time_to_register_s": t_all,
        "registrations_per_s": registered / t_all if t_all > 0 else 0,
        "server_cpu_s": server_cpu_s,
        "server_cpu_per_phone_us": server_cpu_s * 1e6 / max(registered, 1),
        "client_cpu_s": client_cpu_s,
        "cpu_window_s": cpu_window_s,
        "server_before_kb": {"rss": base["total"][0], "pss": base["total"][1]},
        "server_held_kb": {"rss": held["total"][0], "pss": held["total"][1]},
        "server_processes": len(held) - 1,
        "rss_per_phone_bytes": d_rss * 1024.0 / per,
        "pss_per_phone_bytes": d_pss * 1024.0 / per,
        "server_per_process_held_kb": {k: v[:2] for k, v in held.items()},
        "statistics": stats,
        "client_rss_kb": client_rss_kb,
        "progress": progress,
        "clients": [{k: c.get(k) for k in ("connections_requested", "connections_established",
                                           "connections_failed", "registered", "register_failed",
                                           "register_challenges", "connections_closed",
                                           "check_ok", "checked", "connect_s", "first_error",
                                           "error", "handshake_us", "register_us")}
                    for c in clients],
    })
    report(result, a, n, procs, base, held)
    return result


def report(r, a, n, procs, base, held):
    clients = r["clients"]
    est = sum(c.get("connections_established") or 0 for c in clients)
    failed = sum(c.get("connections_failed") or 0 for c in clients)
    closed = sum(c.get("connections_closed") or 0 for c in clients)
    checks = sum(c.get("check_ok") or 0 for c in clients)
    checked = sum(c.get("checked") or 0 for c in clients)
    print()
    print("== %s" % r["server_setup"])
    print("registered TLS phones: %d of %d (usrloc registered_users), %d sipsbench processes" % (
        r["registered"], n, procs))
    if "ul_dump" in r:
        u = r["ul_dump"]
        if "error" in u:
            print("ul_dump:               error: %s" % u["error"])
        else:
            print("ul_dump:               %d AoRs, %d contacts (%.1f s)" % (
                u["aors"], u["contacts"], u["s"]))
    print("time to register all:  %.1f s (%.0f registrations/s, each TLS handshake + REGISTER + "
          "401 + REGISTER + 200)" % (r["time_to_register_s"], r["registrations_per_s"]))
    print("CPU while registering: server %.1f s (%.0f us per phone), sipsbench %.1f s, over %.1f s "
          "on %d cores" % (r["server_cpu_s"], r["server_cpu_per_phone_us"], r["client_cpu_s"],
                          r["cpu_window_s"], os.cpu_count() or 0))
    print("server memory:         RSS %.1f -> %.1f MiB, PSS %.1f -> %.1f MiB (%d processes)" % (
        base["total"][0] / 1024.0, held["total"][0] / 1024.0, base["total"][1] / 1024.0,
        held["total"][1] / 1024.0, len(held) - 1))
    print("per registered phone:  RSS %.0f bytes, PSS %.0f bytes (%d phones registered and "
          "connected at the sample; TLS connections open %d before it, %d after)" % (
              r["rss_per_phone_bytes"], r["pss_per_phone_bytes"], r["phones_held_at_sample"],
              r["tls_conns_open_at_sample"][0], r["tls_conns_open_at_sample"][1]))
    if r["phones_held_at_sample"] < n:
        print("  WARNING: not all %d phones were held at the sample (raise --hold)" % n)
    print("clients (sipsbench):   %d established+registered, %d failed, %d closed by the server "
          "while held; %d of %d checks answered 200; client RSS %.0f MiB" % (
              est, failed, closed, checks, checked, r["client_rss_kb"] / 1024.0))
    print("statistics:            %s" % ", ".join(
        "%s=%s" % kv for kv in sorted(r["statistics"].items())
        if not kv[0].startswith("auth:") or kv[1] not in (0, "0")))
    for c in clients:
        if c.get("first_error") or c.get("error"):
            print("  client error: %s" % (c.get("first_error") or c.get("error")))
            break


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("build")
    ap.add_argument("--phones", type=int, default=100000)
    ap.add_argument("--servers", default="sipsd",
                    help="comma-separated, run one after the other: sipsd, kamailio")
    ap.add_argument("--workers", type=int, default=8,
                    help="sipsd tcp_workers; Kamailio's UDP receivers and (with "
                         "tls_threads_mode) TLS readers")
    ap.add_argument("--kam-readers", type=int,
                    help="Kamailio TLS readers (tcp_children); default --workers when this "
                         "Kamailio has tls_threads_mode, else 1 (OpenSSL 3 crash of 5.6)")
    ap.add_argument("--kam-shm", type=int, help="Kamailio shared memory, MB (-m)")
    ap.add_argument("--per-proc", type=int, default=15000, help="phones per sipsbench process")
    ap.add_argument("--conns", type=int, default=32,
                    help="handshakes + registrations in progress per sipsbench process")
    ap.add_argument("--hold", type=float, default=60, help="seconds each process holds")
    ap.add_argument("--ping-interval", type=float, default=30)
    ap.add_argument("--connect-limit", type=float, default=600)
    ap.add_argument("--timeout", type=float, default=30)
    ap.add_argument("--ul-dump", action="store_true", help="also count the bindings ul_dump lists")
    ap.add_argument("--json")
    ap.add_argument("--keep", action="store_true",
                    help="keep the work dir (cfg, database, logs, per-process JSON)")
    a = ap.parse_args()
    build = os.path.abspath(a.build)
    n = a.phones
    servers = [s.strip() for s in a.servers.split(",") if s.strip()]
    if not servers or any(s not in ("sipsd", "kamailio") for s in servers) or \
            len(set(servers)) != len(servers):
        sys.exit("--servers: a comma-separated list of sipsd, kamailio")
    if not 1 <= a.per_proc <= FD_LIMIT - 1000:
        sys.exit("--per-proc must be 1..%d (descriptors per process)" % (FD_LIMIT - 1000))
    if "sipsd" in servers and n / a.workers > FD_LIMIT - 1000:
        sys.exit("%d phones over %d workers is more than %d connections per worker: raise "
                 "--workers" % (n, a.workers, FD_LIMIT - 1000))
    if "kamailio" in servers and n > kamailio_registrar.max_phones():
        sys.exit("Kamailio's tcp_main keeps a descriptor of every connection: at most %d phones "
                 "with %d descriptors per process" % (kamailio_registrar.max_phones(), FD_LIMIT))
    procs = int(math.ceil(n / a.per_proc))
    if procs > 250:
        sys.exit("too many sipsbench processes (source addresses 127.0.0.2..251)")
    try:
        import resource
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        want = min(hard, FD_LIMIT) if hard != resource.RLIM_INFINITY else FD_LIMIT
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    except (ValueError, OSError):
        pass
    certs = os.path.join(build, "test-certs")
    if not os.path.exists(os.path.join(certs, "cert.pem")):
        subprocess.check_call(["sh", os.path.join(SOURCE, "tests/gen_certs.sh"), certs])

    work = tempfile.mkdtemp(prefix="sipsd-phones-")
    results = {}
    ok = True
    for kind in servers:
        try:
            results[kind] = measure(kind, build, os.path.join(work, kind), a, n, procs)
            ok = ok and results[kind]["registered"] >= n
        except Exception as e:
            print("%s: %s" % (kind, e))
            results[kind] = {"server": kind, "error": str(e)}
            ok = False
    if len(servers) > 1 and all("pss_per_phone_bytes" in r for r in results.values()):
        print()
        print("PSS per registered phone (%d phones): %s" % (n, ", ".join(
            "%s %.0f B" % (k, r["pss_per_phone_bytes"]) for k, r in results.items())))
        if "sipsd" in results and "kamailio" in results:
            s, k = results["sipsd"], results["kamailio"]
            print("kamailio / sipsd: PSS %.2fx, RSS %.2fx, server CPU per phone %.2fx" % (
                k["pss_per_phone_bytes"] / max(s["pss_per_phone_bytes"], 1),
                k["rss_per_phone_bytes"] / max(s["rss_per_phone_bytes"], 1),
                k["server_cpu_per_phone_us"] / max(s["server_cpu_per_phone_us"], 1e-9)))
    if a.json:
        with open(a.json, "w") as f:
            json.dump(results if len(servers) > 1 else results[servers[0]], f, indent=1)
    if a.keep:
        print("work dir (cfgs, databases, logs, per-process JSON): %s" % work)
    else:
        shutil.rmtree(work, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
