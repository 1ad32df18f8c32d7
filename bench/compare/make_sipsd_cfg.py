#!/usr/bin/env python3
"""Derive the sipsd side of `make bench-compare` from etc/sipsd.cfg.

The shipped development cfg is the starting point, so the comparison runs what users run; only
what a benchmark must change is changed, and each change is checked to have happened (a cfg
that no longer looks as expected stops the run instead of silently benchmarking something else):

  - log_level=2 (NOTICE): nothing is logged per request or per connection;
  - the per-request xlog line is removed (Kamailio's cfg has none either);
  - tcp_workers, the sockets and tcp_max_connections come from the command line;
  - the tls_mgm domain is replaced by two server domains, one per TLS listener: the ECDSA
    P-256 certificate on the first, the RSA-2048 one on the second (match_ip_address);
  - the mi_fifo FIFO goes into the run's temp dir, so it cannot collide with a `make run`.

usage: make_sipsd_cfg.py SRC DST --workers N --tcp PORT --tls PORT --tls-rsa PORT
           --max-conns N --ecdsa CERT KEY --rsa CERT KEY --fifo PATH
"""
import argparse
import re
import sys


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("src")
    ap.add_argument("dst")
    ap.add_argument("--workers", type=int, required=True)
    ap.add_argument("--tcp", type=int, required=True)
    ap.add_argument("--tls", type=int, required=True)
    ap.add_argument("--tls-rsa", type=int, required=True)
    ap.add_argument("--max-conns", type=int, required=True)
    ap.add_argument("--ecdsa", nargs=2, required=True, metavar=("CERT", "KEY"))
    ap.add_argument("--rsa", nargs=2, required=True, metavar=("CERT", "KEY"))
    ap.add_argument("--fifo", required=True)
    a = ap.parse_args()

    with open(a.src) as f:
        lines = f.read().split("\n")

    done = set()
    out = []
    for line in lines:
        s = line.strip()
        if re.match(r"^log_level\s*=", s):
            out.append("log_level=2                 # bench-compare: NOTICE, nothing per request")
            done.add("log_level")
        elif re.match(r"^(tcp_workers|tcp_children)\s*=", s):
            out.append("tcp_workers=%d" % a.workers)
            out.append("socket=tls:127.0.0.1:%d      # ECDSA P-256 certificate" % a.tls)
            out.append("socket=tls:127.0.0.1:%d      # RSA-2048 certificate" % a.tls_rsa)
            out.append("socket=tcp:127.0.0.1:%d" % a.tcp)
            done.add("tcp_workers")
        elif re.match(r"^(socket|listen)\s*=", s):
            done.add("socket")  # replaced above
        elif re.match(r"^tcp_max_connections\s*=", s):
            out.append("tcp_max_connections=%d" % a.max_conns)
            done.add("tcp_max_connections")
        elif re.match(r'^modparam\(\s*"tls_mgm"', s):
            done.add("tls_mgm_params")  # replaced after loadmodule "tls_mgm.so"
        elif re.match(r'^loadmodule\s+"tls_mgm\.so"', s):
            out.append(line)
            out += [
                "# bench-compare: one server domain per TLS listener (as Kamailio's tls.cfg).",
                'modparam("tls_mgm", "server_domain", "ecdsa")',
                'modparam("tls_mgm", "match_ip_address", "[ecdsa]127.0.0.1:%d")' % a.tls,
                'modparam("tls_mgm", "certificate", "[ecdsa]%s")' % a.ecdsa[0],
                'modparam("tls_mgm", "private_key", "[ecdsa]%s")' % a.ecdsa[1],
                'modparam("tls_mgm", "verify_cert", "[ecdsa]0")',
                'modparam("tls_mgm", "require_cert", "[ecdsa]0")',
                'modparam("tls_mgm", "tls_method", "[ecdsa]TLSv1_2-TLSv1_3")',
                'modparam("tls_mgm", "server_domain", "rsa")',
                'modparam("tls_mgm", "match_ip_address", "[rsa]127.0.0.1:%d")' % a.tls_rsa,
                'modparam("tls_mgm", "certificate", "[rsa]%s")' % a.rsa[0],
                'modparam("tls_mgm", "private_key", "[rsa]%s")' % a.rsa[1],
                'modparam("tls_mgm", "verify_cert", "[rsa]0")',
                'modparam("tls_mgm", "require_cert", "[rsa]0")',
                'modparam("tls_mgm", "tls_method", "[rsa]TLSv1_2-TLSv1_3")',
            ]
            done.add("tls_mgm")
        elif re.match(r'^modparam\(\s*"mi_fifo"\s*,\s*"fifo_name"', s):
            out.append('modparam("mi_fifo", "fifo_name", "%s")' % a.fifo)
            done.add("fifo")
        elif re.match(r"^xlog\(", s):
            done.add("xlog")  # per-request log line: dropped
        else:
            out.append(line)

    need = {"log_level", "tcp_workers", "socket", "tcp_max_connections", "tls_mgm",
            "tls_mgm_params"}
    missing = sorted(need - done)
    if missing:
        sys.exit("make_sipsd_cfg.py: %s no longer has the expected %s line(s); update "
                 "bench/compare/make_sipsd_cfg.py" % (a.src, ", ".join(missing)))
    # A FIFO at the shared default path would collide with a running `make run`.
    if any(re.match(r'^loadmodule\s+"mi_fifo\.so"', l.strip()) for l in out) and "fifo" not in done:
        out.append('modparam("mi_fifo", "fifo_name", "%s")' % a.fifo)

    with open(a.dst, "w") as f:
        f.write("# Generated by bench/compare/make_sipsd_cfg.py from %s\n" % a.src)
        f.write("\n".join(out))


if __name__ == "__main__":
    main()
