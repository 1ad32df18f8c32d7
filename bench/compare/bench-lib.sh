# shellcheck shell=bash
# Shared by the bench/compare scripts (sourced, not run).

# make_throwaway_pki DIR CN DAYS: a throwaway CA (DIR/ca.pem) and ECDSA P-256 and RSA-2048 server
# certificates for 127.0.0.1 (DIR/ecdsa.{pem,key}, DIR/rsa.{pem,key}).
make_throwaway_pki() {
  local dir="$1" cn="$2" days="$3"
  (
    cd "$dir" || exit 1
    umask 077
    openssl ecparam -name prime256v1 -genkey -noout -out ca.key 2>/dev/null
    openssl req -x509 -new -key ca.key -sha256 -days "$days" -subj "/CN=$cn" -out ca.pem 2>/dev/null
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out ecdsa.key 2>/dev/null
    openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out rsa.key 2>/dev/null
    cat >ext.cnf <<'CNF'
subjectAltName=IP:127.0.0.1,DNS:localhost
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
CNF
    for k in ecdsa rsa; do
      openssl req -new -key "$k.key" -subj "/CN=127.0.0.1" -out "$k.csr" 2>/dev/null
      openssl x509 -req -in "$k.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -days "$days" \
        -sha256 -extfile ext.cnf -out "$k.pem" 2>/dev/null
    done
    chmod 0644 ca.pem ecdsa.pem rsa.pem
  )
}

# stop_process_group PID: SIGTERM to the server's process group (setsid), SIGKILL after 10 s
# (its readers/workers too, if the main process went first).
stop_process_group() {
  local pid="$1"
  [[ -n "$pid" ]] || return 0
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
  fi
  kill -KILL -- "-$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

# require_free_tcp_ports PORT...: false (with the port named on stderr) when one is listened on.
require_free_tcp_ports() {
  local p
  for p in "$@"; do
    if ss -Hltn "sport = :$p" | grep -q .; then
      echo "port $p is in use on this machine (ss -ltnp 'sport = :$p')" >&2
      return 1
    fi
  done
}

# answers_options SIPSBENCH TARGET [CA]: one OPTIONS to TARGET (tls:/tcp:ip:port) got a 2xx,
# within 10 s.
answers_options() {
  local bench="$1" target="$2" ca=() out
  [[ -n "${3:-}" ]] && ca=(--ca "$3")
  out="$(timeout 10 "$bench" throughput --target "$target" "${ca[@]}" --conns 1 --duration 0.2 \
    --warmup 0 --timeout 2 --quiet 2>&1)" || return 1
  grep -q '2xx' <<<"$out"
}

# load_args SCENARIO TLS_TARGET RSA_TARGET TCP_TARGET CA DURATION WARMUP: the sipsbench
# arguments of the per-request and per-connection loads bench-compare and ab-sipsd share;
# false for another scenario.
#   tls32 / tls1 / tcp32   throughput, 4 connections x 32 (or 1) in flight
#   hs_ecdsa / hs_rsa      handshake, 4 at a time: connect, full handshake, one OPTIONS, close
#   hs_resume              the same with session resumption
load_args() {
  local tls="$2" rsa="$3" tcp="$4" cafile="$5" t=(--duration "$6" --warmup "$7" --timeout 5)
  case "$1" in
    tls32) echo throughput --target "$tls" --ca "$cafile" --conns 4 --inflight 32 "${t[@]}" ;;
    tls1) echo throughput --target "$tls" --ca "$cafile" --conns 4 --inflight 1 "${t[@]}" ;;
    tcp32) echo throughput --target "$tcp" --conns 4 --inflight 32 "${t[@]}" ;;
    hs_ecdsa) echo handshake --target "$tls" --ca "$cafile" --conns 4 "${t[@]}" ;;
    hs_rsa) echo handshake --target "$rsa" --ca "$cafile" --conns 4 "${t[@]}" ;;
    hs_resume) echo handshake --target "$tls" --ca "$cafile" --conns 4 --resume "${t[@]}" ;;
    *) return 1 ;;
  esac
}

# fresh_out_dir OUT: OUT/ exists and OUT/raw/ is empty (each run's JSON, output, logs, cfgs).
fresh_out_dir() {
  mkdir -p "$1"
  rm -rf "$1/raw"
  mkdir -p "$1/raw"
}

# keep_logs_and_tmp NAME TMP OUT KEEP: at exit, the servers' logs and cfgs from TMP go to
# OUT/raw/; TMP is removed unless KEEP is 1 (then NAME says where it is).
keep_logs_and_tmp() {
  local name="$1" tmp="$2" out="$3" keep="$4"
  if [[ -d "$out/raw" ]]; then cp -f "$tmp"/*.log "$tmp"/*.cfg "$out/raw/" 2>/dev/null || true; fi
  if [[ $keep -eq 1 ]]; then
    echo "$name: temp dir kept: $tmp"
  else
    rm -rf "$tmp"
  fi
}
