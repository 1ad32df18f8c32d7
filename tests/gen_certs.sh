#!/bin/sh
# gen_certs.sh DIR — the test PKI for the integration tests (throw-away keys, never trust them).
#
# From etc/gen-dev-certs.sh (CA common name "sipsd test CA"):
#   ca.pem, ca-key.pem            the test CA (ECDSA P-256), trust anchor of every test
#   cert.pem, ckey.pem            server cert, CN=localhost, SAN IP:127.0.0.1 + DNS:localhost,
#                                 ECDSA P-256, signed by ca.pem, EKU serverAuth + clientAuth
# Added here:
#   server-rsa.pem, server-rsa-key.pem
#                                 the same server identity (CN, SANs) with an RSA-2048 key,
#                                 signed by ca.pem
#   client.pem, client-key.pem    client cert CN=alice.example.com (SAN DNS:alice.example.com),
#                                 ECDSA P-256, EKU clientAuth, signed by ca.pem
#   ca2.pem, ca2-key.pem          a second, unrelated CA ("sipsd test CA 2")
#   client-ca2.pem, client-ca2-key.pem
#                                 the same client identity (CN=alice.example.com) signed by
#                                 ca2.pem: the "wrong CA" case, only the issuer differs
#   key-world-readable.pem        a copy of ckey.pem with mode 0644 (file-mode check test)
#   other-key.pem                 an ECDSA P-256 key that matches no certificate (key/cert
#                                 mismatch test)
#   .version                      marker: the PKI version below, written last
# Keys are mode 0600 except key-world-readable.pem; certificates 0644; everything valid 825 days.
#
# Idempotent: when .version holds this script's version, prints one line and changes nothing;
# otherwise (missing, older, half-made) removes the files above and makes them all again, so
# bump PKI_VERSION whenever a file is added or changed. Runs under flock(1) when available, so
# test processes started in parallel by ctest -j generate it once.
set -eu

PKI_VERSION=1
prog=gen_certs
die() {
  echo "$prog: $*" >&2
  exit 1
}

if [ $# -ne 1 ] || [ -z "$1" ]; then die "usage: $0 DIR"; fi
dir=$1
here=$(cd "$(dirname "$0")" && pwd)
dev_certs=$here/../etc/gen-dev-certs.sh
[ -f "$dev_certs" ] || die "missing $dev_certs"
days=825
marker="sipsd-test-pki $PKI_VERSION"
generated="ca.pem ca-key.pem cert.pem ckey.pem server-rsa.pem server-rsa-key.pem client.pem
  client-key.pem ca2.pem ca2-key.pem client-ca2.pem client-ca2-key.pem key-world-readable.pem
  other-key.pem .version"

umask 077
mkdir -p "$dir" || die "cannot create directory $dir"

if command -v flock >/dev/null 2>&1; then
  exec 9>"$dir/.lock"
  flock -w 120 9 || die "timed out waiting for the lock on $dir/.lock"
fi

if [ -f "$dir/.version" ] && [ "$(cat "$dir/.version")" = "$marker" ]; then
  echo "test certificates already in $dir"
  exit 0
fi

for f in $generated; do rm -f "$dir/$f"; done

tmp=$(mktemp -d "$dir/.gen_certs.XXXXXX") || die "cannot create a temporary directory in $dir"
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' HUP INT TERM

SIPSD_CA_CN="sipsd test CA" sh "$dev_certs" "$dir" >/dev/null
SIPSD_CA_CN="sipsd test CA 2" sh "$dev_certs" "$tmp/ca2" >/dev/null
mv "$tmp/ca2/ca.pem" "$dir/ca2.pem"
mv "$tmp/ca2/ca-key.pem" "$dir/ca2-key.pem"

cat >"$tmp/openssl.cnf" <<'EOF'
[req]
distinguished_name = dn
prompt = no
[dn]
[server_ext]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth, clientAuth
subjectAltName = IP:127.0.0.1, DNS:localhost
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[client_ext]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
subjectAltName = DNS:alice.example.com
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
EOF

ossl() {
  step=$1
  shift
  if ! out=$(openssl "$@" 2>&1); then
    printf '%s\n' "$out" >&2
    die "openssl failed: $step"
  fi
}

# leaf CERT KEY ALG CN EXT CA: a new ALG (rsa|ec) key DIR/KEY and a certificate DIR/CERT for
# CN with the [EXT] extensions, signed by DIR/CA.pem (key DIR/CA-key.pem).
leaf() {
  cert=$1 key=$2 alg=$3 cn=$4 ext=$5 ca=$6
  case $alg in
    rsa) ossl "$key" genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$tmp/$key" ;;
    ec) ossl "$key" genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$tmp/$key" ;;
  esac
  ossl "$cert" req -config "$tmp/openssl.cnf" -new -key "$tmp/$key" -subj "/CN=$cn" \
    -CA "$dir/$ca.pem" -CAkey "$dir/$ca-key.pem" -sha256 -days "$days" -extensions "$ext" \
    -out "$tmp/$cert"
  ossl "verify $cert" verify -CAfile "$dir/$ca.pem" "$tmp/$cert"
  chmod 600 "$tmp/$key"
  chmod 644 "$tmp/$cert"
  mv "$tmp/$key" "$dir/$key"
  mv "$tmp/$cert" "$dir/$cert"
}

leaf server-rsa.pem server-rsa-key.pem rsa localhost server_ext ca
leaf client.pem client-key.pem ec alice.example.com client_ext ca
leaf client-ca2.pem client-ca2-key.pem ec alice.example.com client_ext ca2

cp "$dir/ckey.pem" "$dir/key-world-readable.pem"
chmod 644 "$dir/key-world-readable.pem"
ossl "other-key.pem" genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
  -out "$dir/other-key.pem"
chmod 600 "$dir/other-key.pem"

echo "$marker" >"$tmp/.version"
mv "$tmp/.version" "$dir/.version"
echo "$prog: test certificates created in $dir"
