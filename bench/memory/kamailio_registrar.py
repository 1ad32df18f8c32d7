"""Kamailio as the registrar of bench/memory/registered_phones.py (--servers kamailio).

The same registrar bench-compare's register scenarios run (bench/compare/kamailio-register.cfg.in:
Kamailio 5.6, auth + auth_db on db_sqlite, usrloc in memory (db_mode 0), registrar,
www_authorize / www_challenge with qop=auth, save("location")) with the same TLS certificate as
sipsd (BUILD/test-certs/cert.pem, ECDSA P-256) through bench/compare/kamailio-relay-tls.cfg.in
(TLS 1.2+, no client certificate). What this file changes in the generated cfg, so that it is
comparable with registered_phones.py's sipsd:

  - tcp_connection_lifetime 3600 (sipsd's there), tcp_max_connections / tls_max_connections
    phones + 2000, capped below the 20,000 descriptors a process may have here: Kamailio's
    tcp_main keeps a descriptor of every connection, so one Kamailio holds at most ~19,000
    phones on this box whatever its reader count;
  - usrloc's hash_size as sipsd's (2^hash_size slots);
  - `ctl` (binrpc on a unix socket in the work dir) and `kex` for `kamcmd`: statistics
    (stats.get_statistics) and core.tcp_info (the open TLS connections); `jsonrpcs` on a FIFO
    in the work dir for ul.dump (too large a reply for kamcmd);
  - the TLS readers (tcp_children): --workers when this Kamailio has tls_threads_mode (5.7.5+),
    else 1 unless asked otherwise: 5.6 with OpenSSL 3 corrupts its shared memory when several
    readers do handshakes at once (see bench/compare/bench-compare.sh); the connections live in
    shared memory either way, so the reader count moves the baseline, not the cost per phone.
    The UDP listener of the cfg keeps its --workers UDP receivers (baseline only).

Kamailio runs as `kamailio -DD -E -f CFG -m SHM_MB -M PKG_MB`: the creator in the foreground (its
direct children are the processes to measure), logging to the work dir. Its shared memory is
one anonymous shared mapping of -m MB; only the pages it touches count in RSS and PSS.
"""
import hashlib
import json
import os
import re
import select
import sqlite3
import subprocess
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.dirname(os.path.dirname(HERE))
COMPARE = os.path.join(SOURCE, "bench", "compare")
KAM_SQL = "/usr/share/kamailio/db_sqlite"
FD_LIMIT = 20000


def find_kamailio():
    for p in ("/usr/sbin/kamailio", "/usr/local/sbin/kamailio"):
        if os.access(p, os.X_OK):
            return p
    raise RuntimeError("kamailio not found: apt-get install kamailio kamailio-tls-modules "
                       "kamailio-sqlite-modules")


def module_dir():
    for d in ("/usr/lib/x86_64-linux-gnu/kamailio/modules", "/usr/lib/kamailio/modules",
              "/usr/local/lib64/kamailio/modules"):
        if os.path.exists(os.path.join(d, "tls.so")):
            return d
    raise RuntimeError("Kamailio's tls.so not found (kamailio-tls-modules)")


def has_threads_fix(kamailio):
    """Does this Kamailio have the core parameter tls_threads_mode (the OpenSSL 3 fix)?"""
    with open(kamailio, "rb") as f:
        return b"tls_threads_mode" in f.read()


def max_phones():
    return FD_LIMIT - 1000


def provision(db, n, domain):
    """Kamailio's own schema (standard + auth_db create scripts) and n subscribers
    phone<i>@domain, password pw<i>, ha1 = MD5(user:domain:password): the ones
    registered_phones.provision gives sipsd."""
    con = sqlite3.connect(db)
    for f in ("standard", "auth_db"):
        with open(os.path.join(KAM_SQL, "%s-create.sql" % f)) as s:
            con.executescript(s.read())

    def rows():
        for i in range(n):
            u, p = "phone%d" % i, "pw%d" % i
            yield u, domain, p, hashlib.md5(("%s:%s:%s" % (u, domain, p)).encode()).hexdigest()

    con.executemany("INSERT INTO subscriber (username, domain, password, ha1) VALUES (?, ?, ?, ?)",
                    rows())
    con.commit()
    con.close()


def free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class KamailioRegistrar:
    name = "kamailio"

    def __init__(self, build, workdir, workers, phones, db, hash_bits, readers=None, shm_mb=None):
        self.dir = workdir
        certs = os.path.join(build, "test-certs")
        self.ca = os.path.join(certs, "ca.pem")
        self.kamailio = find_kamailio()
        self.kamcmd = os.path.join(os.path.dirname(self.kamailio), "kamcmd")
        self.threads_fix = has_threads_fix(self.kamailio)
        self.readers = readers or (workers if self.threads_fix else 1)
        self.workers = workers
        self.port = free_port()
        self.ctl = os.path.join(self.dir, "kamailio_ctl")
        self.rpc_fifo = os.path.join(self.dir, "kamailio_rpc.fifo")
        conns = min(phones + 2000, max_phones())
        # Kamailio's own count: about 70 kB of shared memory per registered TLS phone (18,000:
        # shmem:used_size 1,255 MB, max_used 1,347 MB); room for 96 kB each and 512 MB more,
        # at least 1 GB. Only the pages it touches count in RSS and PSS.
        self.shm_mb = shm_mb or max(1024, phones * 96 // 1024 + 512)
        self.pkg_mb = 64  # ul.dump's reply is built in the RPC process's private memory
        tls_cfg = os.path.join(self.dir, "kamailio-tls.cfg")
        with open(os.path.join(COMPARE, "kamailio-relay-tls.cfg.in")) as f:
            text = f.read()
        text = (text.replace("@ECDSA_CERT@", os.path.join(certs, "cert.pem"))
                .replace("@ECDSA_KEY@", os.path.join(certs, "ckey.pem"))
                .replace("@CA@", self.ca))
        with open(tls_cfg, "w") as f:
            f.write(text)
        extra = ("tls_threads_mode=2          # OpenSSL 3 state per process (5.7.5+)"
                 if self.threads_fix else
                 "# (no tls_threads_mode in this Kamailio: one TLS reader, see the notes in "
                 "bench-compare.sh)")
        with open(os.path.join(COMPARE, "kamailio-register.cfg.in")) as f:
            cfg = f.read()
        subst = {"UDP_PORT": str(free_port()), "TCP_PORT": str(free_port()),
                 "TLS_PORT": str(self.port), "WORKERS": str(workers), "MAX_CONNS": str(conns),
                 "MODULE_DIR": module_dir(), "TLS_CFG": tls_cfg, "EXTRA": extra, "DB": db}
        for k, v in subst.items():
            cfg = cfg.replace("@%s@" % k, v)
        cfg, n = re.subn(r"(?m)^tcp_children=\S+", "tcp_children=%d" % self.readers, cfg)
        if n != 1:
            raise RuntimeError("kamailio-register.cfg.in: no tcp_children line")
        cfg, n = re.subn(r"(?m)^tcp_connection_lifetime=\S+", "tcp_connection_lifetime=3600", cfg)
        if n != 1:
            raise RuntimeError("kamailio-register.cfg.in: no tcp_connection_lifetime line")
        marker = "####### Routing logic"
        if marker not in cfg:
            raise RuntimeError("kamailio-register.cfg.in: no '%s' marker" % marker)
        cfg = cfg.replace(marker, """# registered_phones.py: kamcmd's statistics, core.tcp_info and ul.dump
loadmodule "kex.so"
loadmodule "ctl.so"
modparam("ctl", "binrpc", "unix:%s")
modparam("usrloc", "hash_size", %d)
loadmodule "jsonrpcs.so"
modparam("jsonrpcs", "transport", 2)
modparam("jsonrpcs", "fifo_name", "%s")
modparam("jsonrpcs", "fifo_reply_dir", "%s/")
modparam("jsonrpcs", "pretty_format", 0)

""" % (self.ctl, hash_bits, self.rpc_fifo, self.dir) + marker, 1)
        self.cfg = os.path.join(self.dir, "kamailio-register.cfg")
        with open(self.cfg, "w") as f:
            f.write(cfg)
        check = subprocess.run([self.kamailio, "-c", "-f", self.cfg], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
        if check.returncode != 0:
            raise RuntimeError("kamailio -c rejected %s:\n%s" % (self.cfg, check.stdout[-2000:]))
        self.log = open(os.path.join(self.dir, "kamailio.log"), "w")
        self.proc = subprocess.Popen(
            [self.kamailio, "-DD", "-E", "-f", self.cfg, "-m", str(self.shm_mb), "-M",
             str(self.pkg_mb)], stdout=self.log, stderr=subprocess.STDOUT,
            start_new_session=True)
        deadline = time.time() + 30
        while time.time() < deadline:
            if self.proc.poll() is not None:
                break
            if os.path.exists(self.ctl):
                try:
                    self.registered()
                    time.sleep(1)  # the readers and timers forked after ctl answers
                    return
                except Exception:
                    pass
            time.sleep(0.2)
        raise RuntimeError("kamailio did not start; see %s" % self.log.name)

    def describe(self):
        return "Kamailio (%d TLS readers, %d UDP receivers, -m %d MB)" % (
            self.readers, self.workers, self.shm_mb)

    def rpc(self, *args, timeout=30):
        return subprocess.check_output([self.kamcmd, "-s", "unix:" + self.ctl] + list(args),
                                       timeout=timeout, text=True)

    def statistics(self, name):
        """{"group:name": int} for a name or a group ("usrloc:")."""
        out = {}
        for line in self.rpc("stats.get_statistics", name).splitlines():
            k, sep, v = line.strip().partition(" = ")
            if sep:
                try:
                    out[k.strip()] = int(v)
                except ValueError:
                    out[k.strip()] = v.strip()
        return out

    def registered(self):
        # Kamailio takes a bare name or a "group:"; it answers with "group:name = value".
        return int(self.statistics("registered_users")["usrloc:registered_users"])

    def conns_open(self):
        m = re.search(r"opened_tls_connections:\s*(\d+)", self.rpc("core.tcp_info"))
        if not m:
            raise RuntimeError("core.tcp_info: no opened_tls_connections")
        return int(m.group(1))

    def all_statistics(self):
        stats = {}
        for group in ("usrloc:", "registrar:", "shmem:"):
            try:
                stats.update(self.statistics(group))
            except Exception as e:
                stats[group] = "error: %s" % e
        try:
            stats["core.tcp_info:opened_tls_connections"] = self.conns_open()
        except Exception as e:
            stats["core.tcp_info"] = "error: %s" % e
        return stats

    def jsonrpc_fifo(self, method, params=(), timeout=120):
        """One JSON-RPC command over jsonrpcs's FIFO: the reply text. (kamcmd says "reply too big"
        to ul.dump of a few thousand contacts.)"""
        reply = "kamailio_reply_%d" % os.getpid()  # no dot: jsonrpcs refuses it
        path = os.path.join(self.dir, reply)
        if os.path.exists(path):
            os.unlink(path)
        os.mkfifo(path, 0o600)
        try:
            rfd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
            try:
                req = json.dumps({"jsonrpc": "2.0", "method": method, "params": list(params),
                                  "reply_name": reply, "id": 1}) + "\n"
                with open(self.rpc_fifo, "w") as f:
                    f.write(req)
                chunks, got = [], False
                deadline = time.time() + timeout
                while time.time() < deadline:
                    r, _, _ = select.select([rfd], [], [], 0.5)
                    if not r:
                        continue
                    data = os.read(rfd, 1 << 20)
                    if data:
                        chunks.append(data)
                        got = True
                    elif got:  # the writer closed after its reply
                        return b"".join(chunks).decode("utf-8", "replace")
                    else:  # no writer yet: a reader of a FIFO without one sees EOF
                        time.sleep(0.05)
                raise RuntimeError("jsonrpcs %s: no complete reply in %d s" % (method, timeout))
            finally:
                os.close(rfd)
        finally:
            os.unlink(path)

    def ul_dump_count(self):
        """(AoRs, contacts) that ul.dump lists."""
        out = self.jsonrpc_fifo("ul.dump")
        return out.count('"AoR":'), out.count('"Address":')

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()
