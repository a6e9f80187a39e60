#!/bin/sh
# SPDX-License-Identifier: AGPL-3.0-or-later
# Make a throwaway replication PKI in DIR, as replication-wire.md asks:
#   ca.pem, ca.key           the peers' CA
#   NAME.pem, NAME.key       for each NAME: CN=NAME, SAN DNS:NAME,
#                            DNS:localhost, IP:127.0.0.1, for both
#                            serverAuth and clientAuth, signed by the CA
#   rogue-ca.pem             another CA, and rogue.pem/rogue.key: a
#                            certificate it signed for CN=ROGUE_CN (the
#                            first NAME), which the peers must not trust
# Usage: make-peer-certs.sh DIR NAME...
set -eu
if [ $# -lt 2 ]; then
    echo "usage: $0 DIR NAME..." >&2
    exit 2
fi
if ! command -v openssl >/dev/null 2>&1; then
    echo "make-peer-certs.sh: openssl not found" >&2
    exit 77
fi
dir=$1
shift
mkdir -p "$dir"
cd "$dir"
newkey="-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes"

ca() { # name subject
    openssl req -x509 $newkey -keyout "$1.key" -out "$1.pem" -days 30 \
        -subj "/CN=$2" \
        -addext "basicConstraints=critical,CA:TRUE" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
}

cert() { # file cn ca
    cat > "$1.ext" <<EOC
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth, clientAuth
subjectAltName = DNS:$2, DNS:localhost, IP:127.0.0.1
EOC
    openssl req -new $newkey -keyout "$1.key" -out "$1.csr" \
        -subj "/CN=$2" 2>/dev/null
    openssl x509 -req -in "$1.csr" -CA "$3.pem" -CAkey "$3.key" \
        -CAcreateserial -out "$1.pem" -days 30 -extfile "$1.ext" 2>/dev/null
    rm -f "$1.csr" "$1.ext"
}

ca ca "glia replication test CA"
ca rogue-ca "someone else's CA"
for name in "$@"; do
    cert "$name" "$name" ca
done
cert rogue "$1" rogue-ca
rm -f ca.srl rogue-ca.srl
