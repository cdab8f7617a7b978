#!/bin/sh
# make-certs.sh DIR — make the throwaway TLS material the tests need.
#
# Creates in DIR (made if missing):
#   ca.pem, ca.key              the test CA, which the module is told to trust
#   server.pem, server.key      localhost, 127.0.0.1, ::1; signed by the test CA
#   wrong-host.pem, .key        only DNS:wrong-host.invalid; same CA, wrong name
#   other-ca.pem, other-ca.key  an unrelated CA (the "unknown CA" case)
#   other-server.pem, .key      localhost, 127.0.0.1, ::1; signed by other-ca
#   expired.pem, expired.key    localhost, 127.0.0.1, ::1; test CA, expired 2020
#
# EC P-256 keys, because RSA key generation would make this slow; everything
# but the expired certificate is valid for 2 days from now. Key files are 0600.
# Prints nothing on success; on failure, openssl's own message goes to stderr.
set -eu

if [ $# -ne 1 ]; then
	echo "usage: $0 DIR" >&2
	exit 2
fi
dir=$1
mkdir -p "$dir"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/make-certs.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' HUP INT TERM

# openssl chatters on stderr even when it succeeds ("Using configuration
# from ...", "Certificate request self-signature ok"); keep that quiet and
# show it only when the command fails.
quiet() {
	if ! "$@" 2>"$tmp/err"; then
		cat "$tmp/err" >&2
		exit 1
	fi
}

# Our own config, so neither the system openssl.cnf nor $OPENSSL_CONF can add
# or change extensions behind our back.
cnf=$tmp/openssl.cnf
cat >"$cnf" <<EOF
[ req ]
distinguished_name = req_dn
prompt             = no

[ req_dn ]
CN = unused

[ ca_ext ]
basicConstraints     = critical, CA:true
keyUsage             = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash

[ server_ext ]
basicConstraints       = critical, CA:false
keyUsage               = critical, digitalSignature
extendedKeyUsage       = serverAuth
subjectAltName         = DNS:localhost, IP:127.0.0.1, IP:::1
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid

[ wrong_host_ext ]
basicConstraints       = critical, CA:false
keyUsage               = critical, digitalSignature
extendedKeyUsage       = serverAuth
subjectAltName         = DNS:wrong-host.invalid
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid

# Only for the expired certificate: OpenSSL 3.0's "x509 -req" cannot set a
# start date, but "ca" can (-startdate/-enddate), given this minimal setup.
[ ca ]
default_ca = expired_ca

[ expired_ca ]
database        = $tmp/index.txt
new_certs_dir   = $tmp
serial          = $tmp/serial
default_md      = sha256
policy          = any_name
unique_subject  = no
copy_extensions = none
email_in_dn     = no

[ any_name ]
commonName = supplied
EOF
: >"$tmp/index.txt"

# A random positive serial, so two runs never issue the same issuer+serial.
serial() {
	printf '0x70%s' "$(od -An -N15 -tx1 /dev/urandom | tr -d ' \n')"
}

# newkey NAME: EC P-256 private key, never readable by anyone else.
newkey() {
	(umask 077 && quiet openssl genpkey -algorithm EC \
		-pkeyopt ec_paramgen_curve:P-256 -out "$dir/$1.key")
	chmod 600 "$dir/$1.key"
}

# newca NAME CN: self-signed CA.
newca() {
	newkey "$1"
	quiet openssl req -config "$cnf" -new -x509 -sha256 -days 2 \
		-key "$dir/$1.key" -subj "/CN=$2" -set_serial "$(serial)" \
		-extensions ca_ext -out "$dir/$1.pem"
}

# newleaf NAME CA EXTENSIONS CN: key + certificate signed by CA.
newleaf() {
	newkey "$1"
	quiet openssl req -config "$cnf" -new -sha256 -key "$dir/$1.key" \
		-subj "/CN=$4" -out "$tmp/$1.csr"
	quiet openssl x509 -req -sha256 -days 2 -in "$tmp/$1.csr" \
		-CA "$dir/$2.pem" -CAkey "$dir/$2.key" -set_serial "$(serial)" \
		-extfile "$cnf" -extensions "$3" -out "$dir/$1.pem"
}

newca ca "pam_heroku test CA"
newleaf server ca server_ext localhost
newleaf wrong-host ca wrong_host_ext wrong-host.invalid

newca other-ca "pam_heroku unrelated CA"
newleaf other-server other-ca server_ext localhost

# Expired: valid for one day in 2020, signed by the test CA.
newkey expired
quiet openssl req -config "$cnf" -new -sha256 -key "$dir/expired.key" \
	-subj "/CN=localhost" -out "$tmp/expired.csr"
serial | sed 's/^0x//' >"$tmp/serial"
quiet openssl ca -config "$cnf" -batch -notext -md sha256 \
	-cert "$dir/ca.pem" -keyfile "$dir/ca.key" \
	-startdate 20200101000000Z -enddate 20200102000000Z \
	-extensions server_ext -extfile "$cnf" \
	-in "$tmp/expired.csr" -out "$dir/expired.pem"

# Certificates are public: readable by a fake server run as another user.
chmod 644 "$dir/ca.pem" "$dir/server.pem" "$dir/wrong-host.pem" \
	"$dir/other-ca.pem" "$dir/other-server.pem" "$dir/expired.pem"
