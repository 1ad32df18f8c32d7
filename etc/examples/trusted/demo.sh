#!/bin/sh
# The trusted-call example, end to end on this machine: two domains (a.example on 127.0.0.1,
# b.example on 127.0.0.2), each with its own CA, its own sipsd and its own SQLite database, and a
# third domain's server (c.example, its own CA, played by phone.py) that b.example accepts over
# TLS but does not trust;
# users created with sipsctl; phones (etc/examples/trusted/phone.py, a small SIP UA over TLS
# with digest authentication) register with their home server and place calls; every phone
# prints what it saw, in particular whether the INVITE that rang it carried the trusted
# Alert-Info.
#
# Usage: etc/examples/trusted/demo.sh [BUILD_DIR]   (default build/; run `make` first)
# Everything lives in a temporary directory that is removed at the end (KEEP=1 keeps it).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
build=$(cd "${1:-$root/build}" && pwd)
sipsd=$build/sipsd
sipsctl=$build/sipsctl
[ -x "$sipsd" ] && [ -x "$sipsctl" ] || { echo "demo: build sipsd first (make)" >&2; exit 1; }
dir=$(mktemp -d /tmp/sipsd-trusted.XXXXXX)
pids=""
cleanup() {
  for p in $pids; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ "${KEEP:-0}" = 1 ]; then echo "demo: kept $dir"; else rm -rf "$dir"; fi
}
trap cleanup EXIT INT TERM

# One CA per domain, and the server's certificate: CN and first DNS name sip.<d>.example, and
# the server's address, so that the peer can check it by name or by IP.
make_pki() {  # NAME IP
  d=$dir/$1
  mkdir -p "$d"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
    -subj "/CN=$1.example CA" -keyout "$d/ca-key.pem" -out "$d/ca.pem" 2>/dev/null
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -subj "/CN=sip.$1.example" -keyout "$d/key.pem" -out "$d/req.pem" 2>/dev/null
  printf 'subjectAltName=DNS:sip.%s.example,IP:%s\nextendedKeyUsage=serverAuth,clientAuth\n' \
    "$1" "$2" >"$d/ext.cnf"
  openssl x509 -req -in "$d/req.pem" -CA "$d/ca.pem" -CAkey "$d/ca-key.pem" -CAcreateserial \
    -days 30 -extfile "$d/ext.cnf" -out "$d/cert.pem" 2>/dev/null
  chmod 600 "$d/key.pem" "$d/ca-key.pem"
}
# A domain with its own sipsd: its PKI, its database, its cfg.
make_domain() {  # NAME IP
  make_pki "$1" "$2"
  d=$dir/$1
  "$sipsctl" db init "sqlite://$d/$1.db" >/dev/null
  sed "s|@DIR@|$dir|g" "$here/$1.cfg" >"$d/$1.cfg"
}
make_domain a 127.0.0.1
make_domain b 127.0.0.2
# A third domain, c.example, runs no sipsd here: phone.py plays its server, relaying calls to
# b.example's peering port with c.example's certificate. b.example's peering port accepts the
# CAs of its federation, a.example's and c.example's (the TLS handshake succeeds), but trusts
# calls only from the peer host it names (route[classify] in common-routes.cfg).
make_pki c 127.0.0.3
cat "$dir/a/ca.pem" "$dir/c/ca.pem" >"$dir/b/peer-cas.pem"
sed "s|@DIR@|$dir|g" "$here/common-routes.cfg" >"$dir/common-routes.cfg"

SIPSCTL_DB_URL=sqlite://$dir/a/a.db "$sipsctl" user add alice@a.example alicepw
SIPSCTL_DB_URL=sqlite://$dir/a/a.db "$sipsctl" user add alice2@a.example alice2pw
SIPSCTL_DB_URL=sqlite://$dir/b/b.db "$sipsctl" user add bob@b.example bobpw

for d in a b; do
  "$sipsd" -c -f "$dir/$d/$d.cfg" >"$dir/$d/check.log" 2>&1 ||
    { cat "$dir/$d/check.log" >&2; echo "demo: sipsd -c rejected $d.cfg" >&2; exit 1; }
  "$sipsd" -f "$dir/$d/$d.cfg" >"$dir/$d/sipsd.log" 2>&1 &
  pids="$pids $!"
done
sleep 1

python3 "$here/phone.py" --dir "$dir" || { echo "demo: a phone failed; the servers said:" >&2;
  tail -n 30 "$dir/a/sipsd.log" "$dir/b/sipsd.log" >&2; exit 1; }
echo
echo "what the servers decided (their trust: log lines):"
grep -h "trust:" "$dir/a/sipsd.log" "$dir/b/sipsd.log" | sed 's/^/  /'
