#!/bin/sh
# SPDX-License-Identifier: AGPL-3.0-or-later
# Make a throwaway PKI for the federation tests in DIR:
#   ca.pem                   a self-signed CA
#   server.pem, server.key   a server certificate signed by it, valid for
#                            IP 127.0.0.1, IP ::1 and DNS localhost
#   self.pem, self.key       a self-signed certificate for the same names,
#                            which no CA vouches for
# ECDSA P-256 keys: quick to make, and both libmicrohttpd's GnuTLS and
# libcurl take them. Needs the openssl command (1.1.1 or later: -addext).
set -eu
if [ $# -ne 1 ]; then
    echo "usage: $0 DIR" >&2
    exit 2
fi
if ! command -v openssl >/dev/null 2>&1; then
    echo "make-certs.sh: openssl not found" >&2
    exit 77
fi
mkdir -p "$1"
cd "$1"

san="subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost"
newkey="-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes"

openssl req -x509 $newkey -keyout ca.key -out ca.pem -days 30 \
    -subj "/CN=glia test CA" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null

cat > server.ext <<EOC
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
$san
EOC
openssl req -new $newkey -keyout server.key -out server.csr \
    -subj "/CN=localhost" 2>/dev/null
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
    -out server.pem -days 30 -extfile server.ext 2>/dev/null

openssl req -x509 $newkey -keyout self.key -out self.pem -days 30 \
    -subj "/CN=localhost" -addext "$san" 2>/dev/null

rm -f server.csr server.ext ca.srl
