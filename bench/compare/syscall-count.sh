#!/usr/bin/env bash
# syscall-count.sh SIPSD SIPSBENCH [seconds [loads]] - system calls per request and per TLS connection.
#
# Starts SIPSD (the etc/sipsd.cfg of this tree through make_sipsd_cfg.py, 2 workers, a throwaway
# ECDSA certificate) on 127.0.0.1:2709x and runs three sipsbench loads, each for `seconds`
# (default 4) with `strace -c -f` attached to the supervisor and every worker:
#   tls32   throughput, TLS, --conns 4 --inflight 32       -> calls per request
#   hs      handshake --conns 4 (connect, full handshake, one OPTIONS, close) -> per connection
#   resume  the same with --resume                          -> per connection
# and prints each syscall's count divided by the requests (or connections) sipsbench made while
# strace was attached (its replies_total: one reply per connection in handshake mode). strace slows the server down: rates are meaningless here, the
# counts per unit are not. `loads` (comma-separated, default tls32,tls1,hs,resume) picks which
# of them run (ab-sipsd.sh runs only those of its scenarios). Needs strace, openssl, python3;
# only 127.0.0.1.
set -euo pipefail

SIPSD="$(realpath "${1:?usage: syscall-count.sh SIPSD SIPSBENCH [seconds]}")"
BENCH="$(realpath "${2:?usage: syscall-count.sh SIPSD SIPSBENCH [seconds]}")"
SECS="${3:-4}"
LOADS=",${4:-tls32,tls1,hs,resume},"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
# shellcheck source=bench-lib.sh
source "$HERE/bench-lib.sh"
TMP="$(mktemp -d /tmp/syscall-count.XXXXXX)"
SPID=""
cleanup() {
  [[ -n "$SPID" ]] && kill "$SPID" 2>/dev/null && wait "$SPID" 2>/dev/null
  [[ -n "${KEEP:-}" ]] && echo "kept $TMP" || rm -rf "$TMP"
}
trap cleanup EXIT

make_throwaway_pki "$TMP" "syscall-count CA" 2
python3 "$HERE/make_sipsd_cfg.py" "$REPO/etc/sipsd.cfg" "$TMP/sipsd.cfg" --workers 2 \
  --tcp 27090 --tls 27091 --tls-rsa 27092 --max-conns 4096 --ecdsa "$TMP/ecdsa.pem" \
  "$TMP/ecdsa.key" --rsa "$TMP/rsa.pem" "$TMP/rsa.key" --fifo "$TMP/fifo"
"$SIPSD" -f "$TMP/sipsd.cfg" >"$TMP/sipsd.log" 2>&1 </dev/null &
SPID=$!
TARGET=tls:127.0.0.1:27091
for _ in $(seq 50); do
  answers_options "$BENCH" "$TARGET" "$TMP/ca.pem" && break
  sleep 0.2
done
PIDS=("$SPID" $(cat /proc/"$SPID"/task/*/children))

run() {  # NAME UNIT sipsbench-args...
  local name="$1" unit="$2"
  shift 2
  local args=()
  for p in "${PIDS[@]}"; do args+=(-p "$p"); done
  strace -c -f -o "$TMP/$name.strace" "${args[@]}" 2>/dev/null &
  local spid=$!
  sleep 1  # attached
  "$BENCH" "$@" --target $TARGET --ca "$TMP/ca.pem" --warmup 0 --duration "$SECS" \
    --json "$TMP/$name.json" --quiet >"$TMP/$name.out" 2>&1 || true
  sleep 0.5  # the last replies and closes
  kill -INT "$spid"
  wait "$spid" || true
  python3 - "$name" "$unit" "$TMP/$name.json" "$TMP/$name.strace" <<'EOF'
import json, sys
name, unit, jfile, sfile = sys.argv[1:]
j = json.load(open(jfile))
# Everything sipsbench did while strace was attached: all replies (a handshake run has one
# per connection).
n = j.get("replies_total") or 0
calls = {}
for line in open(sfile):
    f = line.split()
    if len(f) >= 5 and f[0][0].isdigit() and f[-1] != "total":
        calls[f[-1]] = int(f[3])
total = sum(calls.values())
print(f"== {name}: {n:.0f} {unit}s measured (sipsbench), {total} syscalls "
      f"-> {total / max(n, 1):.2f} per {unit}")
for c, k in sorted(calls.items(), key=lambda x: -x[1]):
    if k / max(n, 1) >= 0.005:
        print(f"   {c:16s} {k:9d}  {k / max(n, 1):8.3f} per {unit}")
EOF
}

[[ $LOADS == *,tls32,* ]] && run tls32 request throughput --conns 4 --inflight 32
[[ $LOADS == *,tls1,* ]] && run tls1 request throughput --conns 4 --inflight 1
[[ $LOADS == *,hs,* ]] && run hs connection handshake --conns 4
[[ $LOADS == *,resume,* ]] && run resume connection handshake --conns 4 --resume
exit 0
