#!/bin/sh
# SPDX-License-Identifier: AGPL-3.0-or-later
# glia's signatures verify with an independent Matrix implementation:
# python3-signedjson (what sydent and synapse use). The verify key is derived
# by Python from the seed in glia's key file, not taken from glia.
PY=/usr/bin/python3
admin=${GLIA_ADMIN_BIN:-src/glia-admin}
if ! $PY -c 'import signedjson.sign, signedjson.key' 2>/dev/null; then
    echo "1..0 # SKIP python3-signedjson is not installed"
    exit 77
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$admin" keygen --out "$tmp/signing.key" --version abc_1 > "$tmp/keygen.out" || exit 1

i=0
echo "1..8"
check() { # description json
    i=$((i + 1))
    if printf '%s' "$2" | "$admin" sign-json --key "$tmp/signing.key" \
            --name id.example.org > "$tmp/signed.json" &&
        $PY - "$tmp/signing.key" "$tmp/signed.json" <<'PYEOF'
import json, sys
import signedjson.key, signedjson.sign
with open(sys.argv[1]) as f:
    alg, version, seed = f.read().split()
sk = signedjson.key.decode_signing_key_base64(alg, version, seed)
with open(sys.argv[2]) as f:
    obj = json.load(f)
signedjson.sign.verify_signed_json(obj, "id.example.org", signedjson.key.get_verify_key(sk))
PYEOF
    then
        echo "ok $i - $1"
    else
        echo "not ok $i - $1"
    fi
}
check "empty object" '{}'
check "the bind association shape" '{"address":"alice@example.org","medium":"email","mxid":"@alice:example.org","not_before":1700000000000,"not_after":4853600000000,"ts":1700000000000}'
check "unicode and escapes" '{"name":"Strauß 日本 😀","ctl":"\u0001\n\t","q":"\"\\/"}'
check "nested, keeping unsigned" '{"b":{"z":[3,2,1],"a":{"c":null,"b":true}},"unsigned":{"age":5},"a":-9007199254740991}'
check "existing signatures of another entity are kept" '{"x":1,"signatures":{"other.org":{"ed25519:1":"abc"}}}'
check "large key set" "$($PY -c 'import json; print(json.dumps({"k%03d" % i: i for i in range(300)}))')"

# The public key glia prints is the one Python derives from the seed.
i=$((i + 1))
py_pk=$($PY -c '
import sys, signedjson.key
alg, version, seed = open(sys.argv[1]).read().split()
sk = signedjson.key.decode_signing_key_base64(alg, version, seed)
print(signedjson.key.encode_verify_key_base64(sk.verify_key))' "$tmp/signing.key")
if grep -q "^ed25519:abc_1 $py_pk\$" "$tmp/keygen.out"; then
    echo "ok $i - glia-admin keygen prints the verify key Python derives"
else
    echo "not ok $i - keygen printed $(cat "$tmp/keygen.out"), Python derives $py_pk"
fi

# A tampered signature must fail in Python too (the check is not vacuous).
i=$((i + 1))
printf '{"a":1}' | "$admin" sign-json --key "$tmp/signing.key" --name id.example.org |
    sed 's/"a":1/"a":2/' > "$tmp/tampered.json"
$PY - "$tmp/signing.key" "$tmp/tampered.json" 2>/dev/null <<'PYEOF'
import json, sys
import signedjson.key, signedjson.sign
alg, version, seed = open(sys.argv[1]).read().split()
sk = signedjson.key.decode_signing_key_base64(alg, version, seed)
vk = signedjson.key.get_verify_key(sk)
try:
    signedjson.sign.verify_signed_json(json.load(open(sys.argv[2])), "id.example.org", vk)
except signedjson.sign.SignatureVerifyException:
    sys.exit(3)
sys.exit(0)
PYEOF
# Exit 3 is "signature did not verify"; anything else is a broken check.
if [ $? -eq 3 ]; then
    echo "ok $i - a tampered object does not verify"
else
    echo "not ok $i - a tampered object was not rejected as a bad signature"
fi
