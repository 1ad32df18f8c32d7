#!/usr/bin/env bash
# relay-check.sh BUILD_DIR [SERVER] - a manual check (not part of `make test`: Kamailio is no test
# dependency) that `sipsbench call` completes calls through a real stateful proxy: TLS with
# listening callees, TLS with connected callees (connection reuse), UDP; 2 s each, every call
# must complete. SERVER is kamailio (default; Debian's kamailio + kamailio-tls-modules must be
# installed) or sipsd (BUILD_DIR/sipsd with bench/compare/sipsd-relay.cfg.in: needs tm, rr,
# maxfwd). Uses throwaway certificates and ports 2707x on 127.0.0.1; stops what it started.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
[[ $# -ge 1 ]] || { echo "usage: $0 BUILD_DIR [kamailio|sipsd]" >&2; exit 2; }
BUILD="$(cd "$1" && pwd)"
SERVER="${2:-kamailio}"
BENCH="$BUILD/bench/sipsbench"
[[ -x "$BENCH" ]] || { echo "relay-check: $BENCH not found" >&2; exit 2; }
UDP=27073 TCP=27070 TLS=27071

TMP="$(mktemp -d /tmp/relay-check.XXXXXX)"
PID=""
cleanup() {
  if [[ -n "$PID" ]]; then
    kill -TERM -- "-$PID" 2>/dev/null || kill -TERM "$PID" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL -- "-$PID" 2>/dev/null || true
  fi
  rm -rf "$TMP"
}
trap cleanup EXIT

(
  cd "$TMP"
  umask 077
  openssl ecparam -name prime256v1 -genkey -noout -out ca.key 2>/dev/null
  openssl req -x509 -new -key ca.key -sha256 -days 2 -subj "/CN=relay-check CA" -out ca.pem 2>/dev/null
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out ecdsa.key 2>/dev/null
  printf 'subjectAltName=IP:127.0.0.1\nbasicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n' >ext.cnf
  openssl req -new -key ecdsa.key -subj "/CN=127.0.0.1" -out ecdsa.csr 2>/dev/null
  openssl x509 -req -in ecdsa.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -sha256 \
    -extfile ext.cnf -out ecdsa.pem 2>/dev/null
)

if [[ "$SERVER" == kamailio ]]; then
  KAM="$(command -v kamailio || echo /usr/sbin/kamailio)"
  [[ -x "$KAM" ]] || { echo "relay-check: kamailio is not installed (apt-get install kamailio kamailio-tls-modules)" >&2; exit 2; }
  MODS="$(dirname "$(dpkg -L kamailio-tls-modules | grep '/tls\.so$' | head -1)")"
  sed -e "s|@ECDSA_CERT@|$TMP/ecdsa.pem|g" -e "s|@ECDSA_KEY@|$TMP/ecdsa.key|g" -e "s|@CA@|$TMP/ca.pem|g" \
    "$HERE/kamailio-relay-tls.cfg.in" >"$TMP/tls.cfg"
  sed -e "s|@UDP_PORT@|$UDP|g" -e "s|@TCP_PORT@|$TCP|g" -e "s|@TLS_PORT@|$TLS|g" -e "s|@WORKERS@|2|g" \
    -e "s|@MAX_CONNS@|2048|g" -e "s|@MODULE_DIR@|$MODS|g" -e "s|@TLS_CFG@|$TMP/tls.cfg|g" \
    -e "s|@EXTRA@||g" "$HERE/kamailio-relay.cfg.in" >"$TMP/server.cfg"
  "$KAM" -c -f "$TMP/server.cfg" >"$TMP/check.log" 2>&1 || { cat "$TMP/check.log" >&2; exit 1; }
  setsid "$KAM" -DD -E -f "$TMP/server.cfg" -m 256 -M 16 >"$TMP/server.log" 2>&1 </dev/null &
else
  sed -e "s|@UDP_WORKERS@||g" -e "s|@UDP_SOCKET@||g" -e "s|@UDP_MODULE@||g" -e "s|@UDP_PORT@|$UDP|g" \
    -e "s|@TCP_PORT@|$TCP|g" -e "s|@TLS_PORT@|$TLS|g" -e "s|@WORKERS@|2|g" -e "s|@MAX_CONNS@|2048|g" \
    -e "s|@ECDSA_CERT@|$TMP/ecdsa.pem|g" -e "s|@ECDSA_KEY@|$TMP/ecdsa.key|g" -e "s|@CA@|$TMP/ca.pem|g" \
    -e "s|@FIFO@|$TMP/fifo|g" "$HERE/sipsd-relay.cfg.in" >"$TMP/server.cfg"
  "$BUILD/sipsd" -c -f "$TMP/server.cfg" >"$TMP/check.log" 2>&1 || { cat "$TMP/check.log" >&2; exit 1; }
  setsid "$BUILD/sipsd" -f "$TMP/server.cfg" >"$TMP/server.log" 2>&1 </dev/null &
fi
PID=$!
ready=0
for _ in $(seq 1 50); do
  kill -0 "$PID" 2>/dev/null || { cat "$TMP/server.log" >&2; echo "relay-check: $SERVER exited" >&2; exit 1; }
  if timeout 5 "$BENCH" throughput --target "tcp:127.0.0.1:$TCP" --conns 1 --duration 0.2 --warmup 0 \
    --timeout 1 --quiet 2>/dev/null | grep -q 2xx; then ready=1; break; fi
  sleep 0.2
done
[[ $ready -eq 1 ]] || { cat "$TMP/server.log" >&2; echo "relay-check: $SERVER does not answer OPTIONS" >&2; exit 1; }

failed=0
run() {  # NAME ARGS...
  local name="$1"
  shift
  local rc=0
  timeout 60 "$BENCH" call "$@" --conns 2 --callees 3 --duration 2 --warmup 0.5 --timeout 5 \
    --server-pid "$PID" --json "$TMP/$name.json" --quiet >"$TMP/$name.txt" 2>&1 || rc=$?
  local verdict
  verdict="$(python3 - "$TMP/$name.json" <<'PY'
import json, sys
try:
    j = json.load(open(sys.argv[1]))
except (OSError, ValueError):
    print("FAIL no report"); sys.exit()
ok = j["calls_completed"] > 0 and j["calls_failed"] == 0 and j["calls_unfinished"] == 0
print("%s %d calls completed, %d failed (%.0f calls/s, setup p50 %.2f ms p99 %.2f ms)%s" % (
    "ok  " if ok else "FAIL", j["calls_completed"], j["calls_failed"], j["calls_per_s"],
    j["setup_latency_us"]["p50"] / 1000, j["setup_latency_us"]["p99"] / 1000,
    "" if ok else "; first failure: %s; first error: %s%s" % (
        j["first_failure"], j["first_error"],
        "; not started: " + j["stop_reason"] if j["stop_reason"] else "")))
PY
)"
  echo "$SERVER $name: $verdict"
  [[ $rc -eq 0 && $verdict == ok* ]] || { failed=1; tail -20 "$TMP/$name.txt"; }
}
run tls-listen --target "tls:127.0.0.1:$TLS" --ca "$TMP/ca.pem" --cert "$TMP/ecdsa.pem" \
  --key "$TMP/ecdsa.key" --callee-mode listen --concurrent 16
run tls-connect --target "tls:127.0.0.1:$TLS" --ca "$TMP/ca.pem" --callee-mode connect --concurrent 16
run tcp-listen-hold --target "tcp:127.0.0.1:$TCP" --callee-mode listen --rate 100 --hold 200
run udp-listen --target "udp:127.0.0.1:$UDP" --callee-mode listen --concurrent 16
run udp-connect --target "udp:127.0.0.1:$UDP" --callee-mode connect --rate 100
exit $failed
