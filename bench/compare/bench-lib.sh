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
