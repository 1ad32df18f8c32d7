#!/usr/bin/env bash
# ab-sipsd.sh A_SIPSD B_SIPSD SIPSBENCH [options] - two sipsd builds A/B in one session.
#
# Server CPU per TLS connection (or per request) of two sipsd binaries, A (before) and B (after),
# measured in ONE session with the runs interleaved in ABBA order (round 1: A B, round 2: B A,
# round 3: A B, ...), so that the drift and the noise of a shared machine hit both alike. Separate
# `make bench-compare` sessions differ by +-15 % on a busy 2-core box, more than a per-connection
# change is worth; the ratio B/A of two adjacent runs is much steadier.
#
# Both binaries run the SAME cfg file (etc/sipsd.cfg of this tree through make_sipsd_cfg.py, as
# bench-compare and syscall-count.sh make it; --cfg-src FILE for another source when the older
# binary rejects it), each checked with `sipsd -c` first, on the same ports (2818x), one at a
# time: every run starts its server fresh, waits for a 200 to OPTIONS, runs sipsbench with
# --server-pid (utime+stime of the supervisor and all workers from /proc over the measured
# period, warm-up excluded), then stops it. The client load is bench-compare's:
#   hs_ecdsa   handshake --conns 4: connect, full TLS handshake (ECDSA P-256), one OPTIONS, close
#   hs_resume  the same with --resume (session resumption)
#   hs_rsa     the same on the RSA-2048 listener
#   tls32      throughput --conns 4 --inflight 32 (per request)
#   tls1       throughput --conns 4 --inflight 1 (per request)
# Then (with strace, --syscalls SEC > 0) syscall-count.sh on A and on B for the same loads:
# system calls per connection / request side by side.
#
# Prints per round: server CPU per connection (us), rate, errors, the B/A ratio of the pair; per
# scenario: medians, the median of the per-pair ratios with their min-max, and how many pairs
# have B below A. Results: OUT/table.txt, OUT/results.json, OUT/raw/ (each run's JSON, output,
# server logs, the cfg). Bounded: every run has --duration/--warmup/--timeout and is wrapped in
# `timeout`; only 127.0.0.1; everything started here is stopped on exit, Ctrl-C or failure.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
# shellcheck source=bench-lib.sh
source "$HERE/bench-lib.sh"

usage() {
  cat <<'EOF'
usage: bench/compare/ab-sipsd.sh A_SIPSD B_SIPSD SIPSBENCH [options]

Server CPU per connection/request of two sipsd binaries (A = before, B = after), interleaved
A B, B A, A B, ... in one session, same cfg, same load. Prints per-round figures, medians and the
B/A ratio with its spread over the pairs.

  --rounds N        ABBA rounds (default 6; each runs every scenario once on A and once on B)
  --scenarios LIST  comma-separated, of hs_ecdsa,hs_resume,hs_rsa,tls32,tls1
                    (default hs_ecdsa,hs_resume)
  --workers N       TCP/TLS workers of both servers (default 4, as bench-compare)
  --duration SEC    measured seconds per run (default 8)
  --warmup SEC      warm-up seconds before each (default 2)
  --cfg-src FILE    cfg that make_sipsd_cfg.py starts from (default etc/sipsd.cfg of this tree)
  --syscalls SEC    also count system calls per unit with syscall-count.sh on A and B, SEC
                    seconds per load (default 4; 0: skip; needs strace)
  --out DIR         results directory (default: ab-sipsd/ next to B_SIPSD, e.g. build/ab-sipsd)
  --keep            keep the temp dir (certificates, cfg) and say where it is
  -h, --help        this text
EOF
}

if [[ $# -lt 3 || "$1" == -h || "$1" == --help ]]; then
  usage
  [[ $# -lt 3 && "${1:-}" != -h && "${1:-}" != --help ]] && exit 2 || exit 0
fi
A_BIN="$(realpath "$1")"
B_BIN="$(realpath "$2")"
BENCH="$(realpath "$3")"
shift 3
ROUNDS=6
SCEN_LIST="hs_ecdsa,hs_resume"
WORKERS=4
DURATION=8
WARMUP=2
CFG_SRC="$REPO/etc/sipsd.cfg"
SYSCALL_SECS=4
OUT=""
KEEP=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --rounds) ROUNDS="$2"; shift 2 ;;
    --scenarios) SCEN_LIST="$2"; shift 2 ;;
    --workers) WORKERS="$2"; shift 2 ;;
    --duration) DURATION="$2"; shift 2 ;;
    --warmup) WARMUP="$2"; shift 2 ;;
    --cfg-src) CFG_SRC="$(realpath "$2")"; shift 2 ;;
    --syscalls) SYSCALL_SECS="$2"; shift 2 ;;
    --out) OUT="$2"; shift 2 ;;
    --keep) KEEP=1; shift ;;
    -h | --help) usage; exit 0 ;;
    *) echo "ab-sipsd: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
done
for v in ROUNDS WORKERS; do
  [[ "${!v}" =~ ^[1-9][0-9]*$ ]] || { echo "ab-sipsd: --${v,,} must be a positive integer" >&2; exit 2; }
done
[[ "$SYSCALL_SECS" =~ ^[0-9]+$ ]] || { echo "ab-sipsd: --syscalls must be a whole number of seconds" >&2; exit 2; }
for v in DURATION WARMUP; do
  [[ "${!v}" =~ ^[0-9]+(\.[0-9]+)?$ ]] || { echo "ab-sipsd: --${v,,} must be a number of seconds" >&2; exit 2; }
done
[[ $ROUNDS -le 40 && $WORKERS -le 64 ]] || { echo "ab-sipsd: --rounds <= 40, --workers <= 64" >&2; exit 2; }
SCENARIOS=()
IFS=, read -r -a req <<<"$SCEN_LIST"
for s in "${req[@]}"; do
  case "$s" in
    hs_ecdsa | hs_resume | hs_rsa | tls32 | tls1) SCENARIOS+=("$s") ;;
    *) echo "ab-sipsd: unknown scenario '$s' (hs_ecdsa,hs_resume,hs_rsa,tls32,tls1)" >&2; exit 2 ;;
  esac
done
[[ ${#SCENARIOS[@]} -gt 0 ]] || { echo "ab-sipsd: --scenarios names no scenario" >&2; exit 2; }
for b in "$A_BIN" "$B_BIN" "$BENCH"; do
  [[ -x "$b" ]] || { echo "ab-sipsd: $b is not an executable" >&2; exit 2; }
done
[[ -f "$CFG_SRC" ]] || { echo "ab-sipsd: $CFG_SRC not found" >&2; exit 2; }
OUT="${OUT:-$(dirname "$B_BIN")/ab-sipsd}"

# Ports: 2818x (0 TCP, 1 TLS ECDSA, 2 TLS RSA), loopback only; A and B never run at once.
TCP_PORT=28180
TLS_PORT=28181
RSA_PORT=28182

log() { printf '[ab-sipsd %s] %s\n' "$(date +%H:%M:%S)" "$*"; }
die() { printf 'ab-sipsd: %s\n' "$*" >&2; exit 1; }

require_free_tcp_ports $TCP_PORT $TLS_PORT $RSA_PORT || exit 1

# ---------------------------------------------------------------------------------------------
# Temp dir, cleanup
# ---------------------------------------------------------------------------------------------
TMP="$(mktemp -d /tmp/ab-sipsd.XXXXXX)"
SPID=""
BENCH_PID=""

stop_server() {
  stop_process_group "$SPID"
  SPID=""
}

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [[ -n "$BENCH_PID" ]]; then kill -TERM "$BENCH_PID" 2>/dev/null || true; fi
  stop_server
  keep_logs_and_tmp ab-sipsd "$TMP" "$OUT" "$KEEP"
  exit "$rc"
}
trap cleanup EXIT
trap 'echo "ab-sipsd: interrupted" >&2; exit 130' INT TERM

fresh_out_dir "$OUT"
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

# ---------------------------------------------------------------------------------------------
# Certificates (as bench-compare: a throwaway CA, ECDSA P-256 and RSA-2048 for 127.0.0.1)
# ---------------------------------------------------------------------------------------------
make_throwaway_pki "$TMP" "ab-sipsd throwaway CA" 2
CA="$TMP/ca.pem"

# ---------------------------------------------------------------------------------------------
# One cfg for both binaries
# ---------------------------------------------------------------------------------------------
python3 "$HERE/make_sipsd_cfg.py" "$CFG_SRC" "$TMP/sipsd.cfg" --workers "$WORKERS" \
  --tcp "$TCP_PORT" --tls "$TLS_PORT" --tls-rsa "$RSA_PORT" --max-conns 4096 \
  --ecdsa "$TMP/ecdsa.pem" "$TMP/ecdsa.key" --rsa "$TMP/rsa.pem" "$TMP/rsa.key" \
  --fifo "$TMP/sipsd_fifo"
declare -A BIN=([A]="$A_BIN" [B]="$B_BIN")
for x in A B; do
  "${BIN[$x]}" -c -f "$TMP/sipsd.cfg" >"$TMP/check-$x.log" 2>&1 ||
    { cat "$TMP/check-$x.log" >&2; die "$x (${BIN[$x]}) rejects the cfg made from $CFG_SRC; pass --cfg-src with a cfg both accept (e.g. the older tree's etc/sipsd.cfg)"; }
done
log "A: $A_BIN ($("$A_BIN" -V 2>&1 | head -1))"
log "B: $B_BIN ($("$B_BIN" -V 2>&1 | head -1))"
log "cfg: $CFG_SRC via make_sipsd_cfg.py, $WORKERS workers, accepted by both"

# ---------------------------------------------------------------------------------------------
# Runs
# ---------------------------------------------------------------------------------------------
start_server() {  # A|B
  local logf="$TMP/sipsd-$1.log"
  echo "=== start $(date +%T)" >>"$logf"
  setsid "${BIN[$1]}" -f "$TMP/sipsd.cfg" >>"$logf" 2>&1 </dev/null &
  SPID=$!
  for _ in $(seq 1 100); do
    kill -0 "$SPID" 2>/dev/null || { tail -20 "$logf" >&2; die "$1 exited at start (log above)"; }
    answers_options "$BENCH" "tls:127.0.0.1:$TLS_PORT" "$CA" && return 0
    sleep 0.2
  done
  tail -20 "$logf" >&2
  die "$1 does not answer an OPTIONS on 127.0.0.1:$TLS_PORT after 20 s"
}

scenario_args() {  # SCENARIO
  load_args "$1" "tls:127.0.0.1:$TLS_PORT" "tls:127.0.0.1:$RSA_PORT" "tcp:127.0.0.1:$TCP_PORT" \
    "$CA" "$DURATION" "$WARMUP"
}

run_one() {  # SCENARIO A|B ROUND
  local s="$1" x="$2" r="$3" json="$OUT/raw/$2-$1-r$3.json" txt="$OUT/raw/$2-$1-r$3.txt"
  local logf="$TMP/sipsd-$2.log" args rc=0 limit
  start_server "$x"
  local log_before
  log_before="$(stat -c %s "$logf")"
  args="$(scenario_args "$s")"
  limit="$(python3 -c "print(int($DURATION + $WARMUP + 30))")"
  # shellcheck disable=SC2086
  timeout --signal=INT --kill-after=10 "$limit" \
    "$BENCH" $args --server-pid "$SPID" --json "$json" --quiet >"$txt" 2>&1 &
  BENCH_PID=$!
  wait "$BENCH_PID" || rc=$?
  BENCH_PID=""
  local crash=""
  if grep -a -q -E 'killed by signal|core was generated' <(tail -c +"$((log_before + 1))" "$logf"); then
    crash="$(tail -c +"$((log_before + 1))" "$logf" | grep -a -m1 -E 'killed by signal|core was generated' | cut -c1-160)"
  elif ! kill -0 "$SPID" 2>/dev/null; then
    crash="supervisor $SPID is gone"
  fi
  stop_server
  if [[ -n "$crash" ]]; then
    log "round $r  $s  $x: SERVER CRASHED: $crash; run not counted"
    mv -f "$json" "${json%.json}.crashed.json" 2>/dev/null || true
  elif [[ $rc -ne 0 ]]; then
    log "round $r  $s  $x: sipsbench exit $rc: $(tail -1 "$txt")"
  fi
  log "round $r  $s  $x: $(python3 "$HERE/ab_report.py" --one "$json" 2>/dev/null || echo 'no JSON')"
  sleep 1  # let closing connections drain before the next run
}

log "$ROUNDS ABBA round(s) of: ${SCENARIOS[*]} (${DURATION}s + ${WARMUP}s warm-up each, fresh server per run)"
for r in $(seq 1 "$ROUNDS"); do
  order=(A B)
  [[ $((r % 2)) -eq 0 ]] && order=(B A)
  for s in "${SCENARIOS[@]}"; do
    for x in "${order[@]}"; do run_one "$s" "$x" "$r"; done
  done
done

# ---------------------------------------------------------------------------------------------
# System calls per unit (syscall-count.sh: strace -c -f on the supervisor and the workers)
# ---------------------------------------------------------------------------------------------
SYSCALL_ARGS=()
if [[ $SYSCALL_SECS -gt 0 ]]; then
  if ! command -v strace >/dev/null; then
    log "syscall counts skipped: no strace (apt-get install strace)"
  else
    loads=""
    for s in "${SCENARIOS[@]}"; do
      case "$s" in
        hs_ecdsa) loads+="hs," ;;
        hs_resume) loads+="resume," ;;
        tls32 | tls1) loads+="$s," ;;
      esac
    done
    if [[ -n "$loads" ]]; then
      for x in A B; do
        log "syscall counts of $x (syscall-count.sh, ${SYSCALL_SECS}s per load: ${loads%,})"
        timeout 300 "$HERE/syscall-count.sh" "${BIN[$x]}" "$BENCH" "$SYSCALL_SECS" "${loads%,}" \
          >"$OUT/raw/syscalls-$x.txt" 2>&1 || log "syscall-count.sh on $x failed: $(tail -1 "$OUT/raw/syscalls-$x.txt")"
      done
      SYSCALL_ARGS=(--syscalls "$OUT/raw/syscalls-A.txt" "$OUT/raw/syscalls-B.txt")
    fi
  fi
fi

python3 "$HERE/ab_report.py" --raw "$OUT/raw" --rounds "$ROUNDS" --scenarios "${SCENARIOS[@]}" \
  --a "$A_BIN" --b "$B_BIN" --workers "$WORKERS" --duration "$DURATION" --warmup "$WARMUP" \
  --out "$OUT/results.json" "${SYSCALL_ARGS[@]}" | tee "$OUT/table.txt"
