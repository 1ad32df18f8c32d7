#!/bin/sh
# gen_certs.sh DIR — the test PKI for the unit and integration tests (throw-away keys, never
# trust them).
#
# From etc/gen-dev-certs.sh (CA common name "sipsd test CA"):
#   ca.pem, ca-key.pem            the test CA (ECDSA P-256), trust anchor of every test
#   cert.pem, ckey.pem            server cert, CN=localhost, SAN IP:127.0.0.1 + DNS:localhost,
#                                 ECDSA P-256, signed by ca.pem, EKU serverAuth + clientAuth
# Added here (all signed by ca.pem unless said otherwise; servers have EKU serverAuth +
# clientAuth, clients clientAuth; every SAN is a DNS name equal to the CN unless said otherwise):
#   server-rsa.pem, server-rsa-key.pem
#                                 the same server identity as cert.pem (CN=localhost, SAN
#                                 IP:127.0.0.1 + DNS:localhost) with an RSA-2048 key
#   sip-example.pem, sip-example-key.pem
#                                 server CN=sip.example.com, ECDSA P-256
#   other-example.pem, other-example-key.pem
#                                 server CN=other.example.com, RSA-2048
#   wild.pem, wild-key.pem        server CN=*.wild.example.com (SAN DNS:*.wild.example.com),
#                                 ECDSA P-256
#   server-expired.pem, server-expired-key.pem
#                                 server CN=localhost (SANs as cert.pem), valid from 60 to 30
#                                 days ago: expired
#   server-notyet.pem, server-notyet-key.pem
#                                 server CN=localhost (SANs as cert.pem), valid from 30 days
#                                 ahead for a year: not yet valid
#   server-expiring.pem, server-expiring-key.pem
#                                 server CN=localhost (SANs as cert.pem), valid for 5 days from
#                                 its creation (the 14-day expiry warning); made again whenever
#                                 fewer than 4 days are left, so it never expires under a test
#   int-ca.pem, int-ca-key.pem    intermediate CA "sipsd test intermediate CA" (CA:TRUE,
#                                 pathlen 0), ECDSA P-256
#   server-chain.pem, server-chain-key.pem
#                                 server CN=chain.example.com signed by int-ca.pem; the file
#                                 holds the leaf, then int-ca.pem (a chain that builds to ca.pem)
#   int-ca-expired.pem, int-ca-expired-key.pem
#                                 intermediate CA "sipsd test expired intermediate CA", valid
#                                 from 60 to 30 days ago
#   server-chain-expired-int.pem, server-chain-expired-int-key.pem
#                                 server CN=chain.example.com signed by int-ca-expired.pem; the
#                                 file holds the leaf (itself valid), then int-ca-expired.pem
#   client.pem, client-key.pem    client CN=alice.example.com, ECDSA P-256
#   client-revoked.pem, client-revoked-key.pem
#                                 client CN=mallory.example.com, ECDSA P-256, revoked in
#                                 crl/ca.crl (reason keyCompromise)
#   client-expired.pem, client-expired-key.pem
#                                 client CN=bob.example.com, ECDSA P-256, valid from 60 to 30
#                                 days ago
#   crl/ca.crl                    ca.pem's CRL (PEM, v2, next update in 10 years) revoking
#                                 client-revoked.pem; the directory holds nothing else
#   crl-stale/ca.crl              the same revocation in a CRL whose nextUpdate has passed
#                                 (issued 40 days ago, due 10 days ago)
#   ca2.pem, ca2-key.pem          a second, unrelated CA ("sipsd test CA 2")
#   client-ca2.pem, client-ca2-key.pem
#                                 the same client identity (CN=alice.example.com) signed by
#                                 ca2.pem: the "wrong CA" case, only the issuer differs
#   dh.pem                        DH parameters (PEM "DH PARAMETERS", the RFC 7919 ffdhe2048 group)
#   key-world-readable.pem        a copy of ckey.pem with mode 0644 (file-mode check test)
#   other-key.pem                 an ECDSA P-256 key that matches no certificate (key/cert
#                                 mismatch test)
#   .version                      marker: the PKI version below, written last
# Keys are mode 0600 except key-world-readable.pem; certificates, CRLs and DH parameters 0644;
# certificates without explicit dates above are valid 825 days.
#
# Idempotent: when .version holds this script's version, prints one line and changes nothing
# (except renewing server-expiring.pem, see above); otherwise (missing, older, half-made) removes
# the files above and makes them all again, so bump PKI_VERSION whenever a file is added or
# changed. Runs under flock(1) when available, so test processes started in parallel by ctest -j
# generate it once. Needs the OpenSSL 3 command-line tool and GNU date.
set -eu

PKI_VERSION=2
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
generated="ca.pem ca-key.pem cert.pem ckey.pem server-rsa.pem server-rsa-key.pem
  sip-example.pem sip-example-key.pem other-example.pem other-example-key.pem wild.pem
  wild-key.pem server-expired.pem server-expired-key.pem server-notyet.pem
  server-notyet-key.pem server-expiring.pem server-expiring-key.pem int-ca.pem int-ca-key.pem
  server-chain.pem server-chain-key.pem int-ca-expired.pem int-ca-expired-key.pem
  server-chain-expired-int.pem server-chain-expired-int-key.pem client.pem client-key.pem
  client-revoked.pem client-revoked-key.pem client-expired.pem client-expired-key.pem
  crl/ca.crl crl-stale/ca.crl ca2.pem ca2-key.pem client-ca2.pem client-ca2-key.pem dh.pem
  key-world-readable.pem other-key.pem .version"

umask 077
SAN=none  # the config reads ${ENV::SAN}; leaf and dated set it per certificate
export SAN
mkdir -p "$dir" || die "cannot create directory $dir"

if command -v flock >/dev/null 2>&1; then
  exec 9>"$dir/.lock"
  flock -w 120 9 || die "timed out waiting for the lock on $dir/.lock"
fi

tmp=""
cleanup() { if [ -n "$tmp" ]; then rm -rf "$tmp"; fi; }
trap cleanup EXIT
trap 'exit 1' HUP INT TERM
new_tmp() {
  tmp=$(mktemp -d "$dir/.gen_certs.XXXXXX") || die "cannot create a temporary directory in $dir"
}

ossl() {
  step=$1
  shift
  if ! out=$(openssl "$@" 2>&1); then
    printf '%s\n' "$out" >&2
    die "openssl failed: $step"
  fi
}

# GeneralizedTime N days from now (N may be negative), for openssl ca.
date_in() {
  date -u -d "@$(($(date +%s) + $1 * 86400))" +%Y%m%d%H%M%SZ
}

# Our own config (nothing from the distribution's openssl.cnf): request defaults, the
# extension sections, and a throw-away "openssl ca" database in $tmp/db for certificates with
# explicit dates and for the CRLs. SAN comes from the environment.
write_config() {
  mkdir -p "$tmp/db/new"
  : >"$tmp/db/index.txt"
  echo 1000 >"$tmp/db/serial"
  echo 1000 >"$tmp/db/crlnumber"
  cat >"$tmp/openssl.cnf" <<EOF
[req]
distinguished_name = dn
prompt = no
[dn]
[ca]
default_ca = test_ca
[test_ca]
dir = $tmp/db
database = \$dir/index.txt
new_certs_dir = \$dir/new
serial = \$dir/serial
crlnumber = \$dir/crlnumber
certificate = $dir/ca.pem
private_key = $dir/ca-key.pem
default_md = sha256
policy = policy_any
unique_subject = no
email_in_dn = no
[policy_any]
commonName = supplied
[server_ext]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth, clientAuth
subjectAltName = \${ENV::SAN}
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[client_ext]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
subjectAltName = \${ENV::SAN}
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[int_ext]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
EOF
}

genkey() {  # genkey FILE rsa|ec
  case $2 in
    rsa) ossl "$1" genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$tmp/$1" ;;
    ec) ossl "$1" genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$tmp/$1" ;;
  esac
}

# install FILE...: moves files made in $tmp into $dir (atomically each), with their modes.
install_files() {
  for f in "$@"; do
    case $f in
      *key.pem) chmod 600 "$tmp/$f" ;;
      *) chmod 644 "$tmp/$f" ;;
    esac
    mv "$tmp/$f" "$dir/$f"
  done
}

# leaf CERT KEY ALG CN EXT CA [DAYS [SAN]]: a new ALG (rsa|ec) key KEY and a certificate CERT
# for CN with the [EXT] extensions (subjectAltName SAN, default DNS:CN), signed by DIR/CA.pem,
# valid DAYS days (default 825) from now, checked against ca.pem (through CA.pem when that is an
# intermediate).
leaf() {
  cert=$1 key=$2 alg=$3 cn=$4 ext=$5 ca=$6 valid=${7:-$days} SAN=${8:-DNS:$4}
  export SAN
  genkey "$key" "$alg"
  ossl "$cert" req -config "$tmp/openssl.cnf" -new -key "$tmp/$key" -subj "/CN=$cn" \
    -CA "$dir/$ca.pem" -CAkey "$dir/$ca-key.pem" -sha256 -days "$valid" -extensions "$ext" \
    -out "$tmp/$cert"
  case $ca in
    ca | ca2) ossl "verify $cert" verify -CAfile "$dir/$ca.pem" "$tmp/$cert" ;;
    *) ossl "verify $cert" verify -no_check_time -CAfile "$dir/ca.pem" \
      -untrusted "$dir/$ca.pem" "$tmp/$cert" ;;
  esac
  install_files "$key" "$cert"
}

# dated CERT KEY CN EXT FROM TO [SAN]: like leaf with an EC key, signed by ca.pem through
# "openssl ca", valid from FROM to TO days relative to now (negative = in the past).
dated() {
  cert=$1 key=$2 cn=$3 ext=$4 from=$5 to=$6 SAN=${7:-DNS:$3}
  export SAN
  genkey "$key" ec
  ossl "$cert request" req -config "$tmp/openssl.cnf" -new -key "$tmp/$key" -subj "/CN=$cn" \
    -out "$tmp/$cert.csr"
  ossl "$cert" ca -config "$tmp/openssl.cnf" -batch -notext -extensions "$ext" \
    -startdate "$(date_in "$from")" -enddate "$(date_in "$to")" -in "$tmp/$cert.csr" \
    -out "$tmp/$cert"
  ossl "verify $cert" verify -no_check_time -CAfile "$dir/ca.pem" "$tmp/$cert"
  install_files "$key" "$cert"
}

localhost_san="IP:127.0.0.1, DNS:localhost"
make_expiring() {
  leaf server-expiring.pem server-expiring-key.pem ec localhost server_ext ca 5 "$localhost_san"
}

if [ -f "$dir/.version" ] && [ "$(cat "$dir/.version")" = "$marker" ]; then
  if ! openssl x509 -in "$dir/server-expiring.pem" -noout -checkend 345600 >/dev/null 2>&1; then
    new_tmp
    write_config
    make_expiring
    echo "$prog: renewed server-expiring.pem in $dir"
    exit 0
  fi
  echo "test certificates already in $dir"
  exit 0
fi

for f in $generated; do rm -f "$dir/$f"; done
rm -rf "$dir/crl" "$dir/crl-stale"

new_tmp
SIPSD_CA_CN="sipsd test CA" sh "$dev_certs" "$dir" >/dev/null
SIPSD_CA_CN="sipsd test CA 2" sh "$dev_certs" "$tmp/ca2" >/dev/null
mv "$tmp/ca2/ca.pem" "$dir/ca2.pem"
mv "$tmp/ca2/ca-key.pem" "$dir/ca2-key.pem"
write_config

leaf server-rsa.pem server-rsa-key.pem rsa localhost server_ext ca "$days" "$localhost_san"
leaf sip-example.pem sip-example-key.pem ec sip.example.com server_ext ca
leaf other-example.pem other-example-key.pem rsa other.example.com server_ext ca
leaf wild.pem wild-key.pem ec '*.wild.example.com' server_ext ca
leaf client.pem client-key.pem ec alice.example.com client_ext ca
leaf client-ca2.pem client-ca2-key.pem ec alice.example.com client_ext ca2
make_expiring

dated server-expired.pem server-expired-key.pem localhost server_ext -60 -30 "$localhost_san"
dated server-notyet.pem server-notyet-key.pem localhost server_ext 30 395 "$localhost_san"
dated client-expired.pem client-expired-key.pem bob.example.com client_ext -60 -30
dated client-revoked.pem client-revoked-key.pem mallory.example.com client_ext -1 "$days"

# Intermediate CAs (int_ext has no subjectAltName), and leaves whose files carry the chain.
leaf int-ca.pem int-ca-key.pem ec "sipsd test intermediate CA" int_ext ca
dated int-ca-expired.pem int-ca-expired-key.pem "sipsd test expired intermediate CA" int_ext \
  -60 -30
leaf server-chain.pem server-chain-key.pem ec chain.example.com server_ext int-ca
cat "$dir/int-ca.pem" >>"$dir/server-chain.pem"
leaf server-chain-expired-int.pem server-chain-expired-int-key.pem ec chain.example.com \
  server_ext int-ca-expired
cat "$dir/int-ca-expired.pem" >>"$dir/server-chain-expired-int.pem"

# CRLs of ca.pem revoking client-revoked.pem: a current one and one past its nextUpdate.
ossl "revoke client-revoked.pem" ca -config "$tmp/openssl.cnf" -batch \
  -revoke "$dir/client-revoked.pem" -crl_reason keyCompromise
mkdir -p "$tmp/crl" "$tmp/crl-stale"
ossl "crl/ca.crl" ca -config "$tmp/openssl.cnf" -batch -gencrl -crldays 3650 \
  -out "$tmp/crl/ca.crl"
ossl "crl-stale/ca.crl" ca -config "$tmp/openssl.cnf" -batch -gencrl \
  -crl_lastupdate "$(date_in -40)" -crl_nextupdate "$(date_in -10)" -out "$tmp/crl-stale/ca.crl"
ossl "check crl/ca.crl" crl -in "$tmp/crl/ca.crl" -CAfile "$dir/ca.pem" -noout
chmod 644 "$tmp/crl/ca.crl" "$tmp/crl-stale/ca.crl"
chmod 755 "$tmp/crl" "$tmp/crl-stale"
mv "$tmp/crl" "$dir/crl"
mv "$tmp/crl-stale" "$dir/crl-stale"

ossl "dh.pem" genpkey -genparam -algorithm DH -pkeyopt dh_param:ffdhe2048 -out "$tmp/dh.pem"
install_files dh.pem

cp "$dir/ckey.pem" "$dir/key-world-readable.pem"
chmod 644 "$dir/key-world-readable.pem"
ossl "other-key.pem" genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
  -out "$dir/other-key.pem"
chmod 600 "$dir/other-key.pem"

echo "$marker" >"$tmp/.version"
mv "$tmp/.version" "$dir/.version"
echo "$prog: test certificates created in $dir"
