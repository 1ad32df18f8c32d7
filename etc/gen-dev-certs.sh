#!/bin/sh
# gen-dev-certs.sh DIR — a private development CA and a server certificate for 127.0.0.1.
#
# Creates, only when none of them exists yet:
#   DIR/ca.pem        the development CA certificate (self-signed): give it to clients as the
#                     trust anchor (tls_mgm ca_list, sipp/openssl -CAfile)
#   DIR/ca-key.pem    the CA's private key (0600); only needed to sign more certificates
#   DIR/cert.pem      the server certificate, CN=localhost, SAN IP:127.0.0.1 + DNS:localhost,
#                     signed by the CA; the leaf alone, no chain (the CA is ca.pem)
#   DIR/ckey.pem      the server's private key (0600)
# All keys are ECDSA P-256, all certificates valid 825 days; DIR is made mode 0700.
#
# Idempotent: when all four files exist it prints one line and changes nothing. When only some
# exist it refuses (it never overwrites a key). Files are built in a temporary directory inside
# DIR and moved into place at the end, so an interrupted run leaves nothing half-made.
#
# SIPSD_CA_CN overrides the CA's common name (tests/gen_certs.sh uses it to make a second CA).
# Needs the OpenSSL 3 command-line tool only. These certificates are for development and tests:
# never trust ca.pem outside this machine.
set -eu

prog=gen-dev-certs
die() {
  echo "$prog: $*" >&2
  exit 1
}

if [ $# -ne 1 ] || [ -z "$1" ]; then die "usage: $0 DIR"; fi
dir=$1
ca_cn=${SIPSD_CA_CN:-sipsd development CA}
days=825
files="ca.pem ca-key.pem cert.pem ckey.pem"

present=""
missing=""
for f in $files; do
  if [ -e "$dir/$f" ]; then present="$present $f"; else missing="$missing $f"; fi
done
if [ -z "$missing" ]; then
  echo "dev certificates already in $dir"
  exit 0
fi
if [ -n "$present" ]; then
  die "$dir has$present but not$missing; remove the rest or choose an empty directory"
fi

command -v openssl >/dev/null 2>&1 || die "openssl not found (apt-get install openssl)"
version=$(openssl version) || die "cannot run openssl"
case $version in
  "OpenSSL 3."*) ;;
  *) die "needs the OpenSSL 3 command-line tool, found: $version" ;;
esac

umask 077
mkdir -p "$dir" || die "cannot create directory $dir"
chmod 700 "$dir" || die "cannot make $dir mode 0700"

tmp=$(mktemp -d "$dir/.gen-dev-certs.XXXXXX") || die "cannot create a temporary directory in $dir"
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' HUP INT TERM

# Our own config, so the distribution's openssl.cnf defaults add nothing unexpected.
cat >"$tmp/openssl.cnf" <<'EOF'
[req]
distinguished_name = dn
prompt = no
[dn]
[ca_ext]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[server_ext]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth, clientAuth
subjectAltName = IP:127.0.0.1, DNS:localhost
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
EOF

# Runs an openssl command quietly; on failure shows what it said and stops.
ossl() {
  step=$1
  shift
  if ! out=$(openssl "$@" 2>&1); then
    printf '%s\n' "$out" >&2
    die "openssl failed: $step"
  fi
}

ossl "CA key" genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$tmp/ca-key.pem"
ossl "CA certificate" req -config "$tmp/openssl.cnf" -x509 -new -key "$tmp/ca-key.pem" \
  -sha256 -days "$days" -subj "/CN=$ca_cn" -extensions ca_ext -out "$tmp/ca.pem"
ossl "server key" genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$tmp/ckey.pem"
ossl "server certificate" req -config "$tmp/openssl.cnf" -new -key "$tmp/ckey.pem" \
  -subj "/CN=localhost" -CA "$tmp/ca.pem" -CAkey "$tmp/ca-key.pem" -sha256 -days "$days" \
  -extensions server_ext -out "$tmp/cert.pem"

# Check what we made before moving it into place.
ossl "verify server certificate" verify -CAfile "$tmp/ca.pem" "$tmp/cert.pem"
ossl "server public key" pkey -in "$tmp/ckey.pem" -pubout -out "$tmp/key.pub"
ossl "certificate public key" x509 -in "$tmp/cert.pem" -noout -pubkey -out "$tmp/cert.pub"
cmp -s "$tmp/key.pub" "$tmp/cert.pub" || die "server key does not match server certificate"

chmod 600 "$tmp/ca-key.pem" "$tmp/ckey.pem"
chmod 644 "$tmp/ca.pem" "$tmp/cert.pem"
for f in ca-key.pem ckey.pem ca.pem cert.pem; do
  mv "$tmp/$f" "$dir/$f"
done

echo "$prog: created in $dir: ca.pem (CA '$ca_cn'), ca-key.pem, cert.pem (CN=localhost," \
  "SAN IP:127.0.0.1 DNS:localhost), ckey.pem; ECDSA P-256, valid $days days"
