#!/usr/bin/env bash
# bench-compare.sh BUILD_DIR [options] - sipsd and Kamailio side by side on this machine.
#
# `make bench-compare` runs it after building sipsd and sipsbench. It installs what is missing
# (kamailio, kamailio-tls-modules, gnuplot-nox, python3, openssl), makes a throwaway CA with an
# ECDSA P-256 and an RSA-2048 server certificate, generates equivalent configurations for both
# servers, starts them on 127.0.0.1, runs the same sipsbench scenarios against each in
# alternation, and prints one table (medians over rounds, spread, sipsd/Kamailio ratio), the
# machine, and the crypto ceiling from `openssl speed`. Results: OUT/results.json,
# OUT/latency-vs-load.png, OUT/table.txt, raw per-run JSON and the server logs in OUT/raw/.
#
# Kamailio quirks handled here (see also kamailio.cfg.in):
#  - Debian 12 ships Kamailio 5.6.3 built against OpenSSL 3.0. With more than one TCP reader
#    process, concurrent TLS handshakes corrupt Kamailio's shared memory and a reader aborts
#    ("qm_debug_check_frag(): BUG: ... beginning overwritten", "freeing already freed
#    pointer ... tls_init.c"), which takes the whole server down: OpenSSL 3 keeps per-thread
#    state (the error queue) that Kamailio allocates in shared memory before forking, so all
#    readers share it (kamailio issues #3695, #3791; fixed from 5.7.5/5.8 by the core
#    parameter tls_threads_mode). Reproduced here with 4 readers and 4 concurrent handshakes
#    within a second. When the installed Kamailio has no tls_threads_mode, the
#    handshake-heavy scenarios (full and resumed handshakes, idle connections) run Kamailio
#    with ONE reader (tcp_children=1) and the table says so; the steady-state scenarios
#    (throughput, ramp: a handful of handshakes at the start) use --workers readers. When
#    tls_threads_mode exists it is set to 2 and every scenario uses --workers readers.
#    A Kamailio that dies during a run anyway is detected (its main process is gone), it is
#    restarted and the run is made once more; a second crash is recorded (no figures).
#  - There is no listen backlog parameter in 5.6; its built-in backlog is 1024, the same as
#    sipsd's tcp_socket_backlog in etc/sipsd.cfg (checked with `ss -ltn` in development).
#  - Kamailio logs to syslog unless told otherwise: -E (stderr) into the log file here.
#  - `-DD` keeps the creator in the foreground (its pid is the one to measure: sipsbench
#    --server-pid sums it and all its descendants); plain -D would not fork the readers.
#  - The sl module warns that tm is not loaded (it only needs tm for t_reply-aware
#    replies); harmless. The tls module warns about "openssl bug #1491" thresholds; harmless
#    with -m 1024.
#  - Kamailio answers CRLFCRLF with CRLF on TCP/TLS (tcp_crlf_ping, default yes).
#  - The relay scenarios (call_*) run both servers as stateful proxies (kamailio-relay.cfg.in,
#    sipsd-relay.cfg.in) with a UDP listener too; Kamailio needs tmx for t_precheck_trans().
#    Until `sipsd -c` accepts sipsd-relay.cfg (tm, rr, maxfwd), those scenarios run Kamailio
#    only and the table says so; a sipsd that relays over TCP/TLS but has no UDP listener runs
#    call_tls and call_tls_reuse, not call_udp.
#  - The register scenarios run both servers as registrars (sipsd-register.cfg.in,
#    kamailio-register.cfg.in): auth + auth_db on db_sqlite, usrloc in memory + registrar, the
#    same --reg-users subscribers (alice0..N-1@bench.example, password pw<i>) in each server's
#    own subscriber schema, ha1 computed here (sipsctl db init for sipsd's tables; Kamailio's
#    /usr/share/kamailio/db_sqlite/*-create.sql, kamailio-sqlite-modules). register: TLS,
#    re-registrations reuse the nonce with nc+1; register_fresh: every registration challenged.
#  - call_auth_tls runs both servers as the proxy of a small domain (sipsd-call-auth.cfg.in,
#    kamailio-call-auth.cfg.in): the same subscribers and databases as the register scenarios;
#    sipsbench's callees REGISTER with digest auth over TLS (--callee-mode register), every
#    call's INVITE is challenged (407), ACKed and sent again with Proxy-Authorization
#    (--caller-auth), then proxy_authorize, record_route, lookup("location") and t_relay over
#    the callee's registration connection. Each run starts a fresh server, so no contact of an
#    earlier run's (closed) connections is left in usrloc.
#
# Bounded: every sipsbench run has --duration/--warmup/--timeout (idle: a 120 s handshake
# cap inside sipsbench, ramp: --rate-max and --step-duration) and the whole run is wrapped in
# `timeout`; only 127.0.0.x; everything started here is stopped on exit, Ctrl-C or failure.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
# shellcheck source=bench-lib.sh
source "$HERE/bench-lib.sh"

usage() {
  cat <<'EOF'
usage: bench/compare/bench-compare.sh BUILD_DIR [options]

Runs sipsd (BUILD_DIR/sipsd) and Kamailio side by side with sipsbench (BUILD_DIR/bench/sipsbench)
on 127.0.0.1 and prints a table of medians over rounds. Must run as root on Debian 12 (installs
missing packages with apt-get).

  --rounds N        rounds of A/B alternation (default 3; the first server alternates per round)
  --workers N       TCP/TLS worker processes of each server (default 4)
  --duration SEC    measured seconds per throughput/handshake run (default 8)
  --warmup SEC      warm-up seconds before each (default 2)
  --idle-conns N    connections held by the idle scenario (default 10000)
  --idle-hold SEC   how long they are held (default 20)
  --storm-conns N   TLS phones that drop and reconnect at once in the storm scenario
                    (default 10000; --quick: 1000)
  --kam-hs-readers N  Kamailio TCP readers for the handshake and idle scenarios (default:
                    --workers if this Kamailio has tls_threads_mode, else 1; see the notes
                    at the top of this script)
  --only LIST       comma-separated scenarios to run (default: all):
                    tls32,tls1,tcp32,ramp,hs_ecdsa,hs_rsa,hs_resume,idle,storm,
                    call_tls,call_tls_reuse,call_udp,call_auth_tls (each call_* is a run at
                    the maximum rate, then one paced at half the lower server's peak:
                    call_*_paced), register,register_fresh
  --call-concurrent K  calls in flight in the maximum-rate call runs (default 64)
  --reg-users N     subscribers of the register scenarios (default 1000)
  --reg-concurrent K  registrations in progress in the register scenarios (default 64)
  --out DIR         results directory (default BUILD_DIR/bench-compare)
  --quick           1 round, 3 s runs, 1000 idle connections, short ramp: a fast check
  --keep            keep the temp dir (certificates, generated cfgs) and say where it is
  -h, --help        this text
EOF
}

# ---------------------------------------------------------------------------------------------
# Options
# ---------------------------------------------------------------------------------------------
if [[ $# -lt 1 || "$1" == -h || "$1" == --help ]]; then
  usage
  [[ $# -lt 1 ]] && exit 2 || exit 0
fi
BUILD="$(cd "$1" && pwd)"
shift
ROUNDS=3
WORKERS=4
DURATION=8
WARMUP=2
IDLE_CONNS=10000
IDLE_HOLD=20
STORM_CONNS=10000
RAMP_START=1000
RAMP_STEP=1.5
RAMP_MAX=400000
RAMP_STEP_S=3
CALL_CONCURRENT=64
REG_USERS=1000
REG_CONCURRENT=64
ONLY=""
KAM_HS_READERS_OPT=""
OUT=""
KEEP=0
QUICK=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --rounds) ROUNDS="$2"; shift 2 ;;
    --workers) WORKERS="$2"; shift 2 ;;
    --duration) DURATION="$2"; shift 2 ;;
    --warmup) WARMUP="$2"; shift 2 ;;
    --idle-conns) IDLE_CONNS="$2"; shift 2 ;;
    --idle-hold) IDLE_HOLD="$2"; shift 2 ;;
    --storm-conns) STORM_CONNS="$2"; shift 2 ;;
    --only) ONLY="$2"; shift 2 ;;
    --kam-hs-readers) KAM_HS_READERS_OPT="$2"; shift 2 ;;
    --call-concurrent) CALL_CONCURRENT="$2"; shift 2 ;;
    --reg-users) REG_USERS="$2"; shift 2 ;;
    --reg-concurrent) REG_CONCURRENT="$2"; shift 2 ;;
    --out) OUT="$2"; shift 2 ;;
    --keep) KEEP=1; shift ;;
    --quick) QUICK=1; shift ;;
    -h | --help) usage; exit 0 ;;
    *) echo "bench-compare: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
done
if [[ $QUICK -eq 1 ]]; then
  ROUNDS=1 DURATION=3 WARMUP=1 IDLE_CONNS=1000 IDLE_HOLD=5 RAMP_STEP=2 RAMP_STEP_S=2
  STORM_CONNS=1000
fi
for v in ROUNDS WORKERS IDLE_CONNS IDLE_HOLD STORM_CONNS CALL_CONCURRENT REG_USERS REG_CONCURRENT; do
  [[ "${!v}" =~ ^[1-9][0-9]*$ ]] || { echo "bench-compare: --${v,,} must be a positive integer" >&2; exit 2; }
done
[[ $ROUNDS -le 20 && $WORKERS -le 64 && $IDLE_CONNS -le 50000 && $STORM_CONNS -le 50000 &&
  $CALL_CONCURRENT -le 10000 && $REG_USERS -le 1000000 && $REG_CONCURRENT -le 10000 ]] ||
  { echo "bench-compare: --rounds <= 20, --workers <= 64, --idle-conns and --storm-conns <= 50000, --call-concurrent and --reg-concurrent <= 10000, --reg-users <= 1000000" >&2; exit 2; }
OUT="${OUT:-$BUILD/bench-compare}"
SIPSD="$BUILD/sipsd"
SIPSCTL="$BUILD/sipsctl"
BENCH="$BUILD/bench/sipsbench"
for b in "$SIPSD" "$BENCH"; do
  [[ -x "$b" ]] || { echo "bench-compare: $b not found (build it: make bench-compare)" >&2; exit 2; }
done
[[ "$(id -u)" -eq 0 ]] || { echo "bench-compare: run as root (it installs packages and raises limits)" >&2; exit 2; }

ALL_SCENARIOS="tls32 tls1 tcp32 ramp hs_ecdsa hs_rsa hs_resume idle storm call_tls call_tls_reuse call_udp call_auth_tls register register_fresh"
SCENARIOS=""
for s in $ALL_SCENARIOS; do
  if [[ -z "$ONLY" || ",$ONLY," == *",$s,"* ]]; then
    SCENARIOS+="$s "
    # Each relay scenario: the maximum rate, then a paced run at half of it.
    [[ $s == call_* ]] && SCENARIOS+="${s}_paced "
  fi
done
[[ -n "$SCENARIOS" ]] || { echo "bench-compare: --only '$ONLY' names no scenario ($ALL_SCENARIOS)" >&2; exit 2; }

# Ports: sipsd 2506x, Kamailio 2606x (x: 0 TCP, 1 TLS ECDSA, 2 TLS RSA, 3 UDP for the relay
# scenarios). Loopback only. Listening callees take ports the kernel picks.
declare -A UDP_PORT=([sipsd]=25063 [kamailio]=26063)
declare -A TCP_PORT=([sipsd]=25060 [kamailio]=26060)
declare -A TLS_PORT=([sipsd]=25061 [kamailio]=26061)
declare -A RSA_PORT=([sipsd]=25062 [kamailio]=26062)
SERVERS=(sipsd kamailio)

log() { printf '[bench-compare %s] %s\n' "$(date +%H:%M:%S)" "$*"; }
die() { printf 'bench-compare: %s\n' "$*" >&2; exit 1; }

# ---------------------------------------------------------------------------------------------
# Packages (as the Makefile's deps target: dpkg-query, install only what is missing, quietly)
# ---------------------------------------------------------------------------------------------
PACKAGES="kamailio kamailio-tls-modules kamailio-sqlite-modules gnuplot-nox python3 openssl iproute2 procps"
missing=""
for p in $PACKAGES; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=" $p"
done
if [[ -n "$missing" ]]; then
  log "installing$missing"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi
KAMAILIO="$(command -v kamailio || echo /usr/sbin/kamailio)"
[[ -x "$KAMAILIO" ]] || die "kamailio not found after installing it"
# The Debian package may start a system kamailio (on 5060/5061): ours use other ports, so it
# does not matter, and it is not ours to stop.
KAM_MODULES="$(dirname "$(dpkg -L kamailio-tls-modules | grep '/tls\.so$' | head -1)")"
[[ -f "$KAM_MODULES/tls.so" ]] || die "Kamailio's tls.so not found (kamailio-tls-modules)"

# ---------------------------------------------------------------------------------------------
# Temp dir, cleanup
# ---------------------------------------------------------------------------------------------
TMP="$(mktemp -d /tmp/bench-compare.XXXXXX)"
declare -A PID=() PROFILE=()
BENCH_PID=""

stop_server() {  # NAME
  stop_process_group "${PID[$1]:-}"
  PID[$1]=""
}

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [[ -n "$BENCH_PID" ]]; then kill -TERM "$BENCH_PID" 2>/dev/null || true; fi
  for s in "${SERVERS[@]}"; do stop_server "$s"; done
  keep_logs_and_tmp bench-compare "$TMP" "$OUT" "$KEEP"
  exit "$rc"
}
trap cleanup EXIT
trap 'echo "bench-compare: interrupted" >&2; exit 130' INT TERM

fresh_out_dir "$OUT"

# Descriptors: 10k idle connections need 10k on the client and about as many in the server.
ulimit -n 200000 2>/dev/null || ulimit -n "$(ulimit -Hn)"
NOFILE="$(ulimit -n)"
if [[ $((IDLE_CONNS + 1000)) -gt $NOFILE ]]; then
  log "open-file limit is $NOFILE (hard limit; no CAP_SYS_RESOURCE?): idle scenario reduced to $((NOFILE - 1000)) connections"
  IDLE_CONNS=$((NOFILE - 1000))
fi
MAX_CONNS=$((IDLE_CONNS > STORM_CONNS ? IDLE_CONNS + 10000 : STORM_CONNS + 10000))

for s in "${SERVERS[@]}"; do
  require_free_tcp_ports ${TCP_PORT[$s]} ${TLS_PORT[$s]} ${RSA_PORT[$s]} || exit 1
  p=${UDP_PORT[$s]}
  if ss -Hlun "sport = :$p" | grep -q .; then die "UDP port $p is in use on this machine (ss -lunp 'sport = :$p')"; fi
done

# ---------------------------------------------------------------------------------------------
# Certificates: a throwaway CA, an ECDSA P-256 and an RSA-2048 server certificate for 127.0.0.1
# ---------------------------------------------------------------------------------------------
log "certificates in $TMP"
make_throwaway_pki "$TMP" "bench-compare throwaway CA" 30
CA="$TMP/ca.pem"

# ---------------------------------------------------------------------------------------------
# Configurations
# ---------------------------------------------------------------------------------------------
python3 "$HERE/make_sipsd_cfg.py" "$REPO/etc/sipsd.cfg" "$TMP/sipsd.cfg" --workers "$WORKERS" \
  --tcp "${TCP_PORT[sipsd]}" --tls "${TLS_PORT[sipsd]}" --tls-rsa "${RSA_PORT[sipsd]}" \
  --max-conns "$MAX_CONNS" --ecdsa "$TMP/ecdsa.pem" "$TMP/ecdsa.key" \
  --rsa "$TMP/rsa.pem" "$TMP/rsa.key" --fifo "$TMP/sipsd_fifo"
"$SIPSD" -c -f "$TMP/sipsd.cfg" >"$TMP/sipsd-check.log" 2>&1 ||
  { cat "$TMP/sipsd-check.log" >&2; die "sipsd -c rejected the generated cfg"; }

# Does this Kamailio have the OpenSSL 3 fix (core parameter tls_threads_mode, 5.7.5+)?
KAM_THREADS_FIX=0
if grep -a -q 'tls_threads_mode' "$KAMAILIO"; then KAM_THREADS_FIX=1; fi

kam_cfg() {  # READERS OUTFILE
  local extra="# (no tls_threads_mode in this Kamailio: see the notes in bench-compare.sh)"
  [[ $KAM_THREADS_FIX -eq 1 ]] && extra="tls_threads_mode=2          # OpenSSL 3 state per process (5.7.5+)"
  sed -e "s|@TCP_PORT@|${TCP_PORT[kamailio]}|g" -e "s|@TLS_PORT@|${TLS_PORT[kamailio]}|g" \
    -e "s|@TLS_RSA_PORT@|${RSA_PORT[kamailio]}|g" -e "s|@WORKERS@|$1|g" \
    -e "s|@MAX_CONNS@|$MAX_CONNS|g" -e "s|@MODULE_DIR@|$KAM_MODULES|g" \
    -e "s|@TLS_CFG@|$TMP/kamailio-tls.cfg|g" -e "s|@EXTRA@|$extra|g" \
    "$HERE/kamailio.cfg.in" >"$2"
}
sed -e "s|@TLS_PORT@|${TLS_PORT[kamailio]}|g" -e "s|@TLS_RSA_PORT@|${RSA_PORT[kamailio]}|g" \
  -e "s|@ECDSA_CERT@|$TMP/ecdsa.pem|g" -e "s|@ECDSA_KEY@|$TMP/ecdsa.key|g" \
  -e "s|@RSA_CERT@|$TMP/rsa.pem|g" -e "s|@RSA_KEY@|$TMP/rsa.key|g" \
  "$HERE/kamailio-tls.cfg.in" >"$TMP/kamailio-tls.cfg"
kam_cfg "$WORKERS" "$TMP/kamailio.cfg"
KAM_HS_READERS=$WORKERS
if [[ $KAM_THREADS_FIX -eq 0 ]]; then KAM_HS_READERS=1; fi
if [[ -n "$KAM_HS_READERS_OPT" ]]; then
  [[ "$KAM_HS_READERS_OPT" =~ ^[1-9][0-9]*$ && $KAM_HS_READERS_OPT -le 64 ]] ||
    die "--kam-hs-readers must be 1..64"
  KAM_HS_READERS=$KAM_HS_READERS_OPT
fi
kam_cfg "$KAM_HS_READERS" "$TMP/kamailio-hs.cfg"
for c in kamailio.cfg kamailio-hs.cfg; do
  "$KAMAILIO" -c -f "$TMP/$c" >"$TMP/kamailio-check.log" 2>&1 ||
    { cat "$TMP/kamailio-check.log" >&2; die "kamailio -c rejected the generated $c"; }
done

# The relay scenarios: Kamailio with tm/rr; sipsd with the same proxy in OpenSIPS terms, run
# only when `sipsd -c` accepts it (with UDP, else over TCP/TLS only, else not at all).
sed -e "s|@ECDSA_CERT@|$TMP/ecdsa.pem|g" -e "s|@ECDSA_KEY@|$TMP/ecdsa.key|g" -e "s|@CA@|$CA|g" \
  "$HERE/kamailio-relay-tls.cfg.in" >"$TMP/kamailio-relay-tls.cfg"
extra="# (no tls_threads_mode in this Kamailio: see the notes in bench-compare.sh)"
[[ $KAM_THREADS_FIX -eq 1 ]] && extra="tls_threads_mode=2          # OpenSSL 3 state per process (5.7.5+)"
sed -e "s|@UDP_PORT@|${UDP_PORT[kamailio]}|g" -e "s|@TCP_PORT@|${TCP_PORT[kamailio]}|g" \
  -e "s|@TLS_PORT@|${TLS_PORT[kamailio]}|g" -e "s|@WORKERS@|$WORKERS|g" \
  -e "s|@MAX_CONNS@|$MAX_CONNS|g" -e "s|@MODULE_DIR@|$KAM_MODULES|g" \
  -e "s|@TLS_CFG@|$TMP/kamailio-relay-tls.cfg|g" -e "s|@EXTRA@|$extra|g" \
  "$HERE/kamailio-relay.cfg.in" >"$TMP/kamailio-relay.cfg"
"$KAMAILIO" -c -f "$TMP/kamailio-relay.cfg" >"$TMP/kamailio-check.log" 2>&1 ||
  { cat "$TMP/kamailio-check.log" >&2; die "kamailio -c rejected the generated kamailio-relay.cfg"; }
sipsd_relay_cfg() {  # udp|stream OUTFILE
  local udp="" 
  [[ $1 == stream ]] && udp="# (no UDP in this variant) "
  sed -e "s|@UDP_WORKERS@|$udp|g" -e "s|@UDP_SOCKET@|$udp|g" -e "s|@UDP_MODULE@|$udp|g" \
    -e "s|@UDP_PORT@|${UDP_PORT[sipsd]}|g" -e "s|@TCP_PORT@|${TCP_PORT[sipsd]}|g" \
    -e "s|@TLS_PORT@|${TLS_PORT[sipsd]}|g" -e "s|@WORKERS@|$WORKERS|g" \
    -e "s|@MAX_CONNS@|$MAX_CONNS|g" -e "s|@ECDSA_CERT@|$TMP/ecdsa.pem|g" \
    -e "s|@ECDSA_KEY@|$TMP/ecdsa.key|g" -e "s|@CA@|$CA|g" -e "s|@FIFO@|$TMP/sipsd_relay_fifo|g" \
    "$HERE/sipsd-relay.cfg.in" >"$2"
}
first_cfg_error() {  # LOG: its first diagnostic, from the cfg file's name on ("x.cfg:16:1: ...")
  local line
  line="$(grep -m1 -E '\.cfg:[0-9]+:[0-9]+: ' "$1" || head -1 "$1")"
  line="$(sed -E 's|^.*/([^/]+\.cfg:[0-9]+:[0-9]+: )|\1|' <<<"$line")"
  echo "${line:0:200}"
}
SIPSD_RELAY=none SIPSD_RELAY_WHY=""
sipsd_relay_cfg udp "$TMP/sipsd-relay.cfg"
sipsd_relay_cfg stream "$TMP/sipsd-relay-stream.cfg"
if "$SIPSD" -c -f "$TMP/sipsd-relay.cfg" >"$TMP/sipsd-relay-check.log" 2>&1; then
  SIPSD_RELAY=udp
elif "$SIPSD" -c -f "$TMP/sipsd-relay-stream.cfg" >"$TMP/sipsd-relay-stream-check.log" 2>&1; then
  SIPSD_RELAY=stream
  SIPSD_RELAY_WHY="no UDP: $(first_cfg_error "$TMP/sipsd-relay-check.log")"
  cp -f "$TMP/sipsd-relay-stream.cfg" "$TMP/sipsd-relay.cfg"
else
  SIPSD_RELAY_WHY="$(first_cfg_error "$TMP/sipsd-relay-stream-check.log") (and with UDP: $(first_cfg_error "$TMP/sipsd-relay-check.log"))"
fi
case $SIPSD_RELAY in
  udp) log "sipsd accepts the relay cfg: the relay scenarios run on both servers" ;;
  stream) log "sipsd accepts the relay cfg without UDP only: call_udp runs Kamailio only ($SIPSD_RELAY_WHY)" ;;
  none) log "sipsd -c rejects the relay cfg ($SIPSD_RELAY_WHY): the relay scenarios run Kamailio only" ;;
esac

# The register scenarios: both servers as registrars with auth_db on SQLite, each on its own
# schema, the same subscribers (ha1 = MD5(user:domain:password), inserted here in one
# transaction: `sipsctl user add` per user would take minutes for thousands).
REG_DOMAIN=bench.example
make_reg_dbs() {
  rm -f "$TMP/sipsd-reg.db" "$TMP/kamailio-reg.db"
  if [[ -x "$SIPSCTL" ]] && "$SIPSCTL" db init "sqlite://$TMP/sipsd-reg.db" >"$TMP/sipsctl.log" 2>&1; then
    SIPSD_REG_DB=1
  else
    SIPSD_REG_DB=0
    SIPSD_REG_WHY="sipsctl db init failed: $(tail -1 "$TMP/sipsctl.log" 2>/dev/null || echo "no $SIPSCTL")"
  fi
  python3 - "$TMP" "$REG_USERS" "$REG_DOMAIN" "$SIPSD_REG_DB" <<'PY'
import hashlib, sqlite3, sys
tmp, n, domain, sipsd_db = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4] == "1"
def rows():
    for i in range(n):
        user, pw = "alice%d" % i, "pw%d" % i
        ha1 = hashlib.md5(("%s:%s:%s" % (user, domain, pw)).encode()).hexdigest()
        yield user, domain, pw, ha1
kam = sqlite3.connect(tmp + "/kamailio-reg.db")
for f in ("standard", "auth_db"):
    kam.executescript(open("/usr/share/kamailio/db_sqlite/%s-create.sql" % f).read())
kam.executemany("INSERT INTO subscriber (username, domain, password, ha1) VALUES (?, ?, ?, ?)",
                rows())
kam.commit()
if sipsd_db:
    db = sqlite3.connect(tmp + "/sipsd-reg.db")
    db.executemany("INSERT INTO subscriber (username, domain, password, ha1, ha1_sha256, "
                   "ha1_sha512t256) VALUES (?, ?, ?, ?, ?, ?)",
                   ((u, d, p, h,
                     hashlib.sha256(("%s:%s:%s" % (u, d, p)).encode()).hexdigest(),
                     hashlib.new("sha512_256", ("%s:%s:%s" % (u, d, p)).encode()).hexdigest())
                    for u, d, p, h in rows()))
    db.commit()
PY
}
SIPSD_REG=0
SIPSD_REG_WHY=""
SIPSD_AUTH=0
SIPSD_AUTH_WHY=""
if [[ " $SCENARIOS " == *" register"* || " $SCENARIOS " == *" call_auth"* ]]; then
  make_reg_dbs || die "could not make the register scenarios' databases"
  sed -e "s|@UDP_PORT@|${UDP_PORT[kamailio]}|g" -e "s|@TCP_PORT@|${TCP_PORT[kamailio]}|g" \
    -e "s|@TLS_PORT@|${TLS_PORT[kamailio]}|g" -e "s|@WORKERS@|$WORKERS|g" \
    -e "s|@MAX_CONNS@|$MAX_CONNS|g" -e "s|@MODULE_DIR@|$KAM_MODULES|g" \
    -e "s|@TLS_CFG@|$TMP/kamailio-relay-tls.cfg|g" -e "s|@EXTRA@|$extra|g" \
    -e "s|@DB@|$TMP/kamailio-reg.db|g" \
    "$HERE/kamailio-register.cfg.in" >"$TMP/kamailio-register.cfg"
  "$KAMAILIO" -c -f "$TMP/kamailio-register.cfg" >"$TMP/kamailio-check.log" 2>&1 ||
    { cat "$TMP/kamailio-check.log" >&2; die "kamailio -c rejected the generated kamailio-register.cfg"; }
  sed -e "s|@UDP_PORT@|${UDP_PORT[sipsd]}|g" -e "s|@TCP_PORT@|${TCP_PORT[sipsd]}|g" \
    -e "s|@TLS_PORT@|${TLS_PORT[sipsd]}|g" -e "s|@WORKERS@|$WORKERS|g" \
    -e "s|@MAX_CONNS@|$MAX_CONNS|g" -e "s|@ECDSA_CERT@|$TMP/ecdsa.pem|g" \
    -e "s|@ECDSA_KEY@|$TMP/ecdsa.key|g" -e "s|@FIFO@|$TMP/sipsd_reg_fifo|g" \
    -e "s|@DB@|$TMP/sipsd-reg.db|g" \
    "$HERE/sipsd-register.cfg.in" >"$TMP/sipsd-register.cfg"
  if [[ $SIPSD_REG_DB -eq 0 ]]; then
    log "register: sipsd not run: $SIPSD_REG_WHY"
  elif "$SIPSD" -c -f "$TMP/sipsd-register.cfg" >"$TMP/sipsd-register-check.log" 2>&1; then
    SIPSD_REG=1
    log "register: $REG_USERS subscribers in both databases; sipsd accepts the registrar cfg"
  else
    SIPSD_REG_WHY="$(first_cfg_error "$TMP/sipsd-register-check.log")"
    log "register: sipsd -c rejects the registrar cfg ($SIPSD_REG_WHY): Kamailio only"
  fi
  # call_auth_tls: the same subscribers, a domain proxy (registrar + authenticated calls).
  sed -e "s|@TCP_PORT@|${TCP_PORT[kamailio]}|g" -e "s|@TLS_PORT@|${TLS_PORT[kamailio]}|g" \
    -e "s|@WORKERS@|$WORKERS|g" -e "s|@MAX_CONNS@|$MAX_CONNS|g" \
    -e "s|@MODULE_DIR@|$KAM_MODULES|g" -e "s|@TLS_CFG@|$TMP/kamailio-relay-tls.cfg|g" \
    -e "s|@EXTRA@|$extra|g" -e "s|@DB@|$TMP/kamailio-reg.db|g" \
    "$HERE/kamailio-call-auth.cfg.in" >"$TMP/kamailio-call-auth.cfg"
  "$KAMAILIO" -c -f "$TMP/kamailio-call-auth.cfg" >"$TMP/kamailio-check.log" 2>&1 ||
    { cat "$TMP/kamailio-check.log" >&2; die "kamailio -c rejected the generated kamailio-call-auth.cfg"; }
  sed -e "s|@TCP_PORT@|${TCP_PORT[sipsd]}|g" -e "s|@TLS_PORT@|${TLS_PORT[sipsd]}|g" \
    -e "s|@WORKERS@|$WORKERS|g" -e "s|@MAX_CONNS@|$MAX_CONNS|g" \
    -e "s|@ECDSA_CERT@|$TMP/ecdsa.pem|g" -e "s|@ECDSA_KEY@|$TMP/ecdsa.key|g" \
    -e "s|@FIFO@|$TMP/sipsd_auth_fifo|g" -e "s|@DB@|$TMP/sipsd-reg.db|g" \
    "$HERE/sipsd-call-auth.cfg.in" >"$TMP/sipsd-call-auth.cfg"
  if [[ $SIPSD_REG_DB -eq 0 ]]; then
    SIPSD_AUTH_WHY="$SIPSD_REG_WHY"
  elif "$SIPSD" -c -f "$TMP/sipsd-call-auth.cfg" >"$TMP/sipsd-call-auth-check.log" 2>&1; then
    SIPSD_AUTH=1
  else
    SIPSD_AUTH_WHY="$(first_cfg_error "$TMP/sipsd-call-auth-check.log")"
    [[ " $SCENARIOS " == *" call_auth"* ]] &&
      log "call_auth_tls: sipsd -c rejects the proxy cfg ($SIPSD_AUTH_WHY): Kamailio only"
  fi
fi

# ---------------------------------------------------------------------------------------------
# Servers
# ---------------------------------------------------------------------------------------------
START_COUNT=0
start_server() {  # NAME PROFILE(std|hs)
  local name="$1" profile="$2" logf="$TMP/$1.log"
  START_COUNT=$((START_COUNT + 1))
  echo "=== start $START_COUNT ($profile) $(date +%T)" >>"$logf"
  if [[ "$name" == sipsd ]]; then
    # sipsd has no OpenSSL-3 problem with several workers: one profile, and the proxy one.
    local cfg="$TMP/sipsd.cfg"
    [[ "$profile" == relay ]] && cfg="$TMP/sipsd-relay.cfg"
    [[ "$profile" == reg ]] && cfg="$TMP/sipsd-register.cfg"
    [[ "$profile" == auth ]] && cfg="$TMP/sipsd-call-auth.cfg"
    setsid "$SIPSD" -f "$cfg" >>"$logf" 2>&1 </dev/null &
  else
    local cfg="$TMP/kamailio.cfg"
    [[ "$profile" == hs ]] && cfg="$TMP/kamailio-hs.cfg"
    [[ "$profile" == relay ]] && cfg="$TMP/kamailio-relay.cfg"
    [[ "$profile" == reg ]] && cfg="$TMP/kamailio-register.cfg"
    [[ "$profile" == auth ]] && cfg="$TMP/kamailio-call-auth.cfg"
    # -m shared memory (connections, TLS state), -M per-process memory, both in MB.
    setsid "$KAMAILIO" -DD -E -f "$cfg" -m 1024 -M 32 >>"$logf" 2>&1 </dev/null &
  fi
  PID[$name]=$!
  PROFILE[$name]=$profile
  # Ready when it answers an OPTIONS with a 200 on each of its three listeners.
  local t
  for t in $(seq 1 100); do
    kill -0 "${PID[$name]}" 2>/dev/null || { tail -20 "$logf" >&2; die "$name exited at start (log above)"; }
    if ready_check "$name" "$profile"; then return 0; fi
    sleep 0.2
  done
  tail -20 "$logf" >&2
  die "$name does not answer an OPTIONS on 127.0.0.1 after 20 s"
}

ready_check() {  # NAME PROFILE: one OPTIONS (and its 200) per listener, each bounded
  local name="$1" t targets
  targets=("tcp:127.0.0.1:${TCP_PORT[$name]}" "tls:127.0.0.1:${TLS_PORT[$name]}")
  # The relay cfgs have no RSA listener; their UDP one is proven by call_udp itself.
  [[ "${2:-std}" != relay && "${2:-std}" != reg && "${2:-std}" != auth ]] && targets+=("tls:127.0.0.1:${RSA_PORT[$name]}")
  for t in "${targets[@]}"; do
    if [[ $t == tls:* ]]; then
      answers_options "$BENCH" "$t" "$CA" || return 1
    else
      answers_options "$BENCH" "$t" || return 1
    fi
  done
}

count_procs() {  # PID: the process and all its descendants
  local pid="$1" n=0 todo=("$1") p
  kill -0 "$pid" 2>/dev/null || { echo 0; return; }
  while [[ ${#todo[@]} -gt 0 ]]; do
    p="${todo[0]}"
    todo=("${todo[@]:1}")
    n=$((n + 1))
    # shellcheck disable=SC2207
    todo+=($(cat /proc/"$p"/task/*/children 2>/dev/null || true))
  done
  echo "$n"
}

ensure_server() {  # NAME PROFILE [fresh]
  local name="$1" profile="$2" fresh="${3:-}"
  if [[ -n "${PID[$name]:-}" ]] && kill -0 "${PID[$name]}" 2>/dev/null &&
    [[ "${PROFILE[$name]}" == "$profile" && -z "$fresh" ]]; then
    return 0
  fi
  stop_server "$name"
  start_server "$name" "$profile"
}

# ---------------------------------------------------------------------------------------------
# What the TLS listeners serve (certificate type, protocol, key-exchange group)
# ---------------------------------------------------------------------------------------------
probe_tls() {  # PORT -> "TLSv1.3 X25519 256-bit" etc.
  local out
  out="$(echo | timeout 5 openssl s_client -connect "127.0.0.1:$1" -CAfile "$CA" \
    -verify_return_error 2>&1 || true)"
  local proto group bits verify
  proto="$(sed -n 's/^New, \(TLSv[0-9.]*\), .*/\1/p' <<<"$out" | head -1)"
  group="$(sed -n 's/^Server Temp Key: \([^,]*\),.*/\1/p' <<<"$out" | head -1)"
  bits="$(sed -n 's/^Server public key is \([0-9]*\) bit.*/\1/p' <<<"$out" | head -1)"
  verify="$(sed -n 's/^ *Verify return code: \([0-9]*\).*/\1/p' <<<"$out" | head -1)"
  echo "${proto:-?} ${group:-?} ${bits:-?} ${verify:-?}"
}

# ---------------------------------------------------------------------------------------------
# Machine description, crypto ceiling
# ---------------------------------------------------------------------------------------------
log "machine description and crypto ceiling (openssl speed, ~12 s)"
CPU_MODEL="$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)"
CORES="$(nproc)"
KERNEL="$(uname -sr)"
OPENSSL_VER="$(openssl version)"
KAM_VER="$("$KAMAILIO" -v 2>/dev/null | sed -n 's/^version: kamailio //p' | head -1)"
SIPSD_VER="$("$SIPSD" -V 2>&1 | head -1)"

BENCH_HELP="$("$BENCH" --help)"
HAVE_IDLE=0 HAVE_RAMP=0 HAVE_CALL=0 HAVE_STORM=0 HAVE_REGISTER=0
grep -Eq '^  register ' <<<"$BENCH_HELP" && HAVE_REGISTER=1
grep -Eq '^  idle ' <<<"$BENCH_HELP" && HAVE_IDLE=1
grep -Eq '^  storm ' <<<"$BENCH_HELP" && HAVE_STORM=1
grep -Eq '^  ramp ' <<<"$BENCH_HELP" && HAVE_RAMP=1
grep -Eq '^  call ' <<<"$BENCH_HELP" && HAVE_CALL=1

for s in "${SERVERS[@]}"; do ensure_server "$s" std; done
declare -A TLS_INFO=()
for s in "${SERVERS[@]}"; do
  TLS_INFO[$s.ecdsa]="$(probe_tls "${TLS_PORT[$s]}")"
  TLS_INFO[$s.rsa]="$(probe_tls "${RSA_PORT[$s]}")"
  log "$s: ECDSA port ${TLS_PORT[$s]}: ${TLS_INFO[$s.ecdsa]}; RSA port ${RSA_PORT[$s]}: ${TLS_INFO[$s.rsa]} (protocol, group, key bits, verify code)"
  read -r _ _ b v <<<"${TLS_INFO[$s.ecdsa]}"
  [[ "$b" == 256 && "$v" == 0 ]] || die "$s does not serve the ECDSA P-256 certificate on ${TLS_PORT[$s]}"
  read -r _ _ b v <<<"${TLS_INFO[$s.rsa]}"
  [[ "$b" == 2048 && "$v" == 0 ]] || die "$s does not serve the RSA-2048 certificate on ${RSA_PORT[$s]}"
done
read -r _ GROUP _ _ <<<"${TLS_INFO[sipsd.ecdsa]}"
case "$GROUP" in
  X25519) KEX_ALG=ecdhx25519 ;;
  X448) KEX_ALG=ecdhx448 ;;
  P-256 | prime256v1 | ECDH) KEX_ALG=ecdhp256 ;;
  P-384 | secp384r1) KEX_ALG=ecdhp384 ;;
  *) KEX_ALG=ecdhx25519 ;;
esac
# The servers sit idle meanwhile; one core's worth of crypto, bounded by -seconds.
SPEED="$(timeout 120 openssl speed -seconds 2 -mr ecdsap256 rsa2048 "$KEX_ALG" 2>/dev/null | grep '^+F' || true)"

python3 - "$TMP/meta.json" <<EOF
import json, sys
json.dump({
  "cpu_model": r'''$CPU_MODEL''',
  "cores": $CORES,
  "kernel": r'''$KERNEL''',
  "openssl": r'''$OPENSSL_VER''',
  "kamailio": r'''$KAM_VER'''.strip(),
  "sipsd": r'''$SIPSD_VER''',
  "rounds": $ROUNDS,
  "workers": $WORKERS,
  "kamailio_handshake_readers": $KAM_HS_READERS,
  "kamailio_tls_threads_mode": $KAM_THREADS_FIX,
  "duration_s": $DURATION,
  "warmup_s": $WARMUP,
  "idle_connections": $IDLE_CONNS,
  "idle_hold_s": $IDLE_HOLD,
  "ramp": {"rate_start": $RAMP_START, "rate_step": "$RAMP_STEP", "rate_max": $RAMP_MAX,
           "step_duration_s": $RAMP_STEP_S},
  "kex_group": "$GROUP",
  "kex_alg": "$KEX_ALG",
  "tls": {"sipsd_ecdsa": "${TLS_INFO[sipsd.ecdsa]}", "sipsd_rsa": "${TLS_INFO[sipsd.rsa]}",
          "kamailio_ecdsa": "${TLS_INFO[kamailio.ecdsa]}",
          "kamailio_rsa": "${TLS_INFO[kamailio.rsa]}"},
  "have_idle": $HAVE_IDLE,
  "have_ramp": $HAVE_RAMP,
  "have_call": $HAVE_CALL,
  "have_register": $HAVE_REGISTER,
  "sipsd_register": $SIPSD_REG,
  "sipsd_register_why": r'''$SIPSD_REG_WHY''',
  "register": {"users": $REG_USERS, "concurrent": $REG_CONCURRENT, "conns": 4,
               "domain": "$REG_DOMAIN"},
  "sipsd_call_auth": $SIPSD_AUTH,
  "sipsd_call_auth_why": r'''$SIPSD_AUTH_WHY''',
  "sipsd_relay": "$SIPSD_RELAY",
  "sipsd_relay_why": r'''$SIPSD_RELAY_WHY''',
  "call": {"conns": 4, "callees": 4, "concurrent": $CALL_CONCURRENT, "hold_ms": 0,
           "paced": "half of the lower server's calls/s in the same round"},
  "openssl_speed_mr": r'''$(tr '\n' ' ' <<<"$SPEED")''',
}, open(sys.argv[1], "w"), indent=1)
EOF

# ---------------------------------------------------------------------------------------------
# Scenarios
# ---------------------------------------------------------------------------------------------
# Each prints the sipsbench arguments for SERVER (after the mode), or nothing to skip.
scenario_profile() {  # handshake-heavy scenarios use Kamailio's "hs" profile; calls a proxy
  case "$1" in
    hs_* | idle | storm) echo hs ;;
    call_auth*) echo auth ;;
    call_*) echo relay ;;
    register*) echo reg ;;
    *) echo std ;;
  esac
}
# Whether SERVER runs SCENARIO at all: sipsd runs the relay ones only with a relay cfg it
# accepts (call_udp only with UDP in it).
scenario_runs_on() {  # SCENARIO SERVER
  if [[ $2 == sipsd && $1 == register* ]]; then [[ $SIPSD_REG -eq 1 ]]; return; fi
  if [[ $2 == sipsd && $1 == call_auth* ]]; then [[ $SIPSD_AUTH -eq 1 ]]; return; fi
  [[ $2 == sipsd && $1 == call_* ]] || return 0
  [[ $SIPSD_RELAY == udp ]] && return 0
  [[ $SIPSD_RELAY == stream && $1 != call_udp* ]] && return 0
  return 1
}
# The paced run's offered rate: half of the lower calls/s of the maximum-rate runs of this
# round (each server's that ran), so both servers see the same load and neither is overloaded.
paced_rate() {  # BASE_SCENARIO ROUND
  python3 - "$OUT/raw" "$1" "$2" <<'PY'
import glob, json, sys
raw, scen, rnd = sys.argv[1:4]
peaks = []
for f in glob.glob("%s/*-%s-r%s.json" % (raw, scen, rnd)):
    try:
        v = json.load(open(f)).get("calls_per_s") or 0
    except (OSError, ValueError):
        continue
    if v > 0:
        peaks.append(v)
if peaks:
    print("%.1f" % max(1.0, min(peaks) / 2))
PY
}
# The sipsbench call arguments of a relay scenario (without the load).
call_args() {  # SCENARIO SERVER
  local base="${1%_paced}" n="$2"
  local common=(--conns 4 --callees 4 --hold 0 --timeout 5)
  case "$base" in
    call_tls) echo call --target "tls:127.0.0.1:${TLS_PORT[$n]}" --ca "$CA" --cert "$TMP/ecdsa.pem" \
      --key "$TMP/ecdsa.key" --callee-mode listen "${common[@]}" ;;
    call_tls_reuse) echo call --target "tls:127.0.0.1:${TLS_PORT[$n]}" --ca "$CA" \
      --callee-mode connect "${common[@]}" ;;
    call_udp) echo call --target "udp:127.0.0.1:${UDP_PORT[$n]}" --callee-mode listen "${common[@]}" ;;
    # Callees alice0..3 registered, callers alice4..7 authenticated (subscribers of make_reg_dbs).
    call_auth_tls) echo call --target "tls:127.0.0.1:${TLS_PORT[$n]}" --ca "$CA" \
      --callee-mode register --caller-auth --domain "$REG_DOMAIN" --password 'pw{i}' \
      "${common[@]}" ;;
  esac
}
scenario_args() {  # SCENARIO SERVER
  local s="$1" n="$2" tls="tls:127.0.0.1:${TLS_PORT[$2]}"
  local t=(--duration "$DURATION" --warmup "$WARMUP" --timeout 5)
  load_args "$s" "$tls" "tls:127.0.0.1:${RSA_PORT[$2]}" "tcp:127.0.0.1:${TCP_PORT[$n]}" "$CA" \
    "$DURATION" "$WARMUP" && return 0
  case "$s" in
    idle)
      [[ $HAVE_IDLE -eq 1 ]] || return 0
      echo idle --target "$tls" --ca "$CA" --connections "$IDLE_CONNS" --conns 64 \
        --duration "$IDLE_HOLD" --check 20 --timeout 10
      ;;
    storm)
      # Every phone drops and reconnects at once offering its session: 3 attempts of 10 s.
      [[ $HAVE_STORM -eq 1 ]] || return 0
      echo storm --target "$tls" --ca "$CA" --connections "$STORM_CONNS" --timeout 10
      ;;
    ramp)
      [[ $HAVE_RAMP -eq 1 ]] || return 0
      echo ramp --target "$tls" --ca "$CA" --conns 4 --rate-start "$RAMP_START" \
        --rate-step "$RAMP_STEP" --rate-max "$RAMP_MAX" --step-duration "$RAMP_STEP_S" \
        --warmup 1 --timeout 2
      ;;
    register | register_fresh)
      [[ $HAVE_REGISTER -eq 1 ]] || return 0
      local reuse=yes
      [[ $s == register_fresh ]] && reuse=no
      echo register --target "$tls" --ca "$CA" --conns 4 --users "$REG_USERS" \
        --domain "$REG_DOMAIN" --password 'pw{i}' --concurrent "$REG_CONCURRENT" \
        --nonce-reuse "$reuse" "${t[@]}"
      ;;
    call_*_paced)
      [[ $HAVE_CALL -eq 1 ]] || return 0
      local rate
      rate="$(paced_rate "${s%_paced}" "$CUR_ROUND")"
      [[ -n "$rate" ]] || return 0
      echo "$(call_args "$s" "$n")" --rate "$rate" --duration "$DURATION" --warmup "$WARMUP"
      ;;
    call_*)
      [[ $HAVE_CALL -eq 1 ]] || return 0
      echo "$(call_args "$s" "$n")" --concurrent "$CALL_CONCURRENT" --duration "$DURATION" \
        --warmup "$WARMUP"
      ;;
  esac
}
scenario_limit() {  # wall-clock cap of one sipsbench run, seconds
  case "$1" in
    idle) echo $((120 + IDLE_HOLD + 60)) ;;
    storm) echo $((120 + 120 + 60)) ;;
    ramp) echo 400 ;;
    # Calls: setup (<= 6 s), the run, the drain (<= 2 x 5 s) and a margin.
    call_*) echo "$(python3 -c "print(int($DURATION + $WARMUP + 45))")" ;;
    *) echo "$(python3 -c "print(int($DURATION + $WARMUP + 30))")" ;;
  esac
}

run_one() {  # SCENARIO SERVER ROUND
  local s="$1" n="$2" r="$3"
  if ! scenario_runs_on "$s" "$n"; then
    [[ $r -eq 1 && $s == call_* && $s != call_auth* && $s != *_paced ]] && log "$s: sipsd not run: its relay cfg is not accepted ($SIPSD_RELAY_WHY)"
    [[ $r -eq 1 && $s == register* ]] && log "$s: sipsd not run: $SIPSD_REG_WHY"
    [[ $r -eq 1 && $s == call_auth_tls ]] && log "$s: sipsd not run: $SIPSD_AUTH_WHY"
    return 0
  fi
  local args
  CUR_ROUND=$r
  args="$(scenario_args "$s" "$n")"
  if [[ -z "$args" ]]; then
    if [[ $s == call_*_paced ]]; then
      log "round $r  $s  $n: skipped: no maximum-rate run of ${s%_paced} completed calls this round"
    elif [[ $r -eq 1 && $n == sipsd ]]; then
      log "$s: skipped: sipsbench has no ${s%%_*} mode (rebuild bench/sipsbench)"
    fi
    return 0
  fi
  local profile fresh=""
  profile="$(scenario_profile "$s")"
  [[ $n == sipsd && $profile == hs ]] && profile=std
  # Memory per idle connection is measured on a fresh process, so earlier runs do not count.
  [[ $s == idle ]] && fresh=1
  # call_auth_tls: usrloc must hold only this run's registrations (old ones point at closed
  # connections and would be forked to).
  [[ $s == call_auth* ]] && fresh=1
  ensure_server "$n" "$profile" $fresh
  local pid="${PID[$n]}" json="$OUT/raw/$n-$s-r$r.json" txt="$OUT/raw/$n-$s-r$r.txt"
  rm -f "$json"
  local logf="$TMP/$n.log" log_before procs_before
  log_before="$(stat -c %s "$logf")"
  procs_before="$(count_procs "$pid")"
  local rc=0 try
  for try in 1 2; do
    rc=0
    # shellcheck disable=SC2086
    timeout --signal=INT --kill-after=10 "$(scenario_limit "$s")" \
      "$BENCH" $args --server-pid "$pid" --json "$json" --quiet >"$txt" 2>&1 &
    BENCH_PID=$!
    wait "$BENCH_PID" || rc=$?
    BENCH_PID=""
    # A ramp whose very first step (1000 req/s on 4 connections) did not keep up measured a
    # stall of the shared box (sipsbench's own send lag shows it), not the server: once more.
    if [[ $s == ramp && $try -eq 1 ]] && kill -0 "$pid" 2>/dev/null &&
      python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); sys.exit(0 if (j.get("max_sustained_per_s") or 0) > 0 else 1)' "$json" 2>/dev/null; then
      break
    elif [[ $s == ramp && $try -eq 1 ]] && kill -0 "$pid" 2>/dev/null; then
      log "round $r  $s  $n: the first step did not keep up ($(grep -m1 -o 'stopped: .*' "$txt" || echo 'no result')); once more"
      mv -f "$json" "${json%.json}.try1" 2>/dev/null || true
      mv -f "$txt" "${txt%.txt}.try1.txt"
      sleep 2
      continue
    fi
    break
  done
  local summary
  summary="$(python3 "$HERE/aggregate.py" --one "$json" 2>/dev/null || echo 'no JSON')"
  # A crash: a process of the server died by a signal (Kamailio: "exited by a signal", then
  # its main process shuts everything down, which takes a moment; sipsd: "killed by signal",
  # and the worker is replaced), or the main process is gone, or fewer processes remain.
  sleep 0.5
  local crash=""
  if grep -a -q -E 'exited by a signal|killed by signal|core was generated|BUG:' \
    <(tail -c +"$((log_before + 1))" "$logf"); then
    crash="$(tail -c +"$((log_before + 1))" "$logf" | grep -a -m1 -E 'exited by a signal|killed by signal|BUG:' | cut -c1-160)"
  elif ! kill -0 "$pid" 2>/dev/null; then
    crash="main process $pid is gone"
  elif [[ "$(count_procs "$pid")" -lt "$procs_before" ]]; then
    crash="$procs_before processes before the run, $(count_procs "$pid") after"
  fi
  if [[ -n "$crash" && ${RETRYING:-0} -eq 0 ]]; then
    # Once more on a restarted server: one crash should not leave a round without figures.
    # The crashed attempt stays in raw/ (*.crashed.json) and the table notes it.
    log "round $r  $s  $n: SERVER CRASHED during the run: $crash (log: $OUT/raw/$n.log); restarting it and running once more"
    python3 -c 'import json, sys; print(json.dumps({"crashed": True, "why": sys.argv[1]}))' \
      "$crash" >"$OUT/raw/$n-$s-r$r.retried"
    mv -f "$json" "${json%.json}.crashed.json" 2>/dev/null || true
    stop_server "$n"
    RETRYING=1 run_one "$s" "$n" "$r"
    return 0
  elif [[ -n "$crash" ]]; then
    log "round $r  $s  $n: SERVER CRASHED during the run: $crash (log: $OUT/raw/$n.log); figures not counted, restarting it"
    python3 -c 'import json, sys; print(json.dumps({"crashed": True, "why": sys.argv[1]}))' \
      "$crash" >"$OUT/raw/$n-$s-r$r.crash"
    stop_server "$n"
  elif [[ $rc -ne 0 ]]; then
    log "round $r  $s  $n: sipsbench exit $rc: $(tail -1 "$txt")"
  fi
  log "round $r  $s  $n: $summary"
  sleep 1  # let closing connections drain before the next run
}

# ---------------------------------------------------------------------------------------------
# Rounds: A B, then B A, ... per scenario, so drift and order effects hit both alike.
# ---------------------------------------------------------------------------------------------
if [[ $HAVE_IDLE -eq 0 && " $SCENARIOS " == *" idle "* ]]; then log "idle: skipped: sipsbench has no idle mode"; fi
if [[ $HAVE_RAMP -eq 0 && " $SCENARIOS " == *" ramp "* ]]; then log "ramp: skipped: sipsbench has no ramp mode"; fi
if [[ $HAVE_CALL -eq 0 && " $SCENARIOS " == *" call_"* ]]; then log "call_*: skipped: sipsbench has no call mode"; fi
if [[ $HAVE_REGISTER -eq 0 && " $SCENARIOS " == *" register"* ]]; then log "register*: skipped: sipsbench has no register mode"; fi
log "$ROUNDS round(s) of: $SCENARIOS(${DURATION}s + ${WARMUP}s warm-up each; idle: $IDLE_CONNS conns held ${IDLE_HOLD}s)"
for r in $(seq 1 "$ROUNDS"); do
  order=(sipsd kamailio)
  [[ $((r % 2)) -eq 0 ]] && order=(kamailio sipsd)
  for s in $SCENARIOS; do
    for n in "${order[@]}"; do run_one "$s" "$n" "$r"; done
  done
done

for s in "${SERVERS[@]}"; do stop_server "$s"; done
cp -f "$TMP/meta.json" "$OUT/raw/"
python3 "$HERE/aggregate.py" --raw "$OUT/raw" --meta "$TMP/meta.json" --out "$OUT" \
  --plot "$HERE/latency-vs-load.gp" | tee "$OUT/table.txt"
