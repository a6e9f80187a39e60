#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""Generate glia's canonical JSON and signed JSON test vectors.

The outputs come from the Python reference implementations that Synapse and
Sydent use (Debian's python3-canonicaljson and python3-signedjson), so the C
tests check glia against what the rest of the Matrix world produces and
expects. The generated files are checked in; the C tests never run Python.

    /usr/bin/python3 tests/vectors/gen_vectors.py

The output is deterministic (fixed random seed, ed25519 is deterministic),
so re-running it must leave the files unchanged.
"""

import hashlib
import json
import os
import random

import canonicaljson
import signedjson.key
import signedjson.sign
from unpaddedbase64 import decode_base64, encode_base64

HERE = os.path.dirname(os.path.abspath(__file__))
INT_MAX = 2**53 - 1

# ---------------------------------------------------------------------------
# Canonical JSON
# ---------------------------------------------------------------------------

CONTROL = "".join(chr(c) for c in range(0x20))

# (name, JSON text). Texts are parsed by both Python (here) and jansson (in
# the C test), so they also exercise input escapes and whitespace.
HAND = [
    # Spec appendix "Canonical JSON" examples (those Python gets right;
    # -0 is an integer here, 1e10 is a float and is tested in C).
    ("appendix empty", "{}"),
    ("appendix one two", '{"one": 1, "two": "Two"}'),
    ("appendix b a", '{"b": "2", "a": "1"}'),
    ("appendix cjk keys", '{"本": 2, "日": 1}'),
    ("appendix unicode escape", '{"a": "\\u65E5"}'),
    ("appendix null", '{"a": null}'),
    ("appendix minus zero int", '{"a": -0}'),
    (
        "appendix nested auth",
        """{
            "auth": {
                "success": true,
                "mxid": "@john.doe:example.com",
                "profile": {
                    "display_name": "John Doe",
                    "three_pids": [
                        {"medium": "email", "address": "john.doe@example.org"},
                        {"medium": "msisdn", "address": "123456789"}
                    ]
                }
            }
        }""",
    ),
    # Strings.
    ("all control chars", json.dumps({"c": CONTROL})),
    ("each control char", json.dumps([chr(c) for c in range(0x20)])),
    ("control char keys", json.dumps({chr(c): c for c in range(1, 0x20)})),
    ("quote backslash slash", r'["\"", "\\", "/", "\/", "a\\b\"c/d"]'),
    ("del and c1", '["\\u007f", "\\u0080", "\\u009f", "\\u00a0"]'),
    ("nul inside string", '{"a": "x\\u0000y", "b": "\\u0000"}'),
    ("uppercase escapes", '["\\u00E9\\u00C9", "\\u001F", "\\u000B"]'),
    ("raw non-ascii", '["é", "ß", "Ω", "日本語", "😀", "\ufeff"]'),
    ("surrogate pair escape", '["\\ud83d\\ude00", "\\uD834\\uDD1E"]'),
    ("line separators", '["\\u2028", "\\u2029", "\u2028"]'),
    ("bmp edges", '["\\u07ff", "\\u0800", "\\uffff", "\\ufffd", "\\ue000"]'),
    ("astral edges", '["\\ud800\\udc00", "\\udbff\\udfff"]'),
    ("empty strings", '{"": ""}'),
    ("long string", json.dumps("x\n" * 2000)),
    # Key order.
    ("prefix keys", '{"aa": 1, "a": 2, "": 3, "ab": 4, "a0": 5, "aaa": 6}'),
    ("case keys", '{"b": 1, "B": 2, "a": 3, "A": 4, "_": 5, "~": 6, "0": 7}'),
    (
        "non-ascii keys",
        json.dumps(
            {
                "é": 1,
                "e": 2,
                "z": 3,
                "\u00ff": 4,
                "\u0100": 5,
                "\uffff": 6,
                "\U0001f600": 7,
                "\U0010ffff": 8,
                "\u0800": 9,
                "\u07ff": 10,
            }
        ),
    ),
    ("duplicate keys last wins", '{"a": 1, "b": 2, "a": 3}'),
    # Numbers.
    ("int boundaries", json.dumps([INT_MAX, -INT_MAX, 0, 1, -1, 2**31, -(2**31) - 1, 2**32, 2**52])),
    ("int max in object", json.dumps({"max": INT_MAX, "min": -INT_MAX})),
    ("small ints", "[0, -0, 7, 10, 100, 1000000, -42]"),
    # Literals, scalars, nesting.
    ("literals", "[true, false, null]"),
    ("top-level string", '"top"'),
    ("top-level int", "42"),
    ("top-level null", "null"),
    ("top-level true", "true"),
    ("empty array", "[]"),
    ("nested empties", '{"a": {}, "b": [], "c": [{}, []], "d": {"e": {}}}'),
    ("arrays keep order", '[3, 1, 2, {"b": 1, "a": [2, 1]}]'),
    ("whitespace everywhere", ' \n\t{ "b" :\r\n [ 1 , 2 ] , "a" : { } } \n'),
    ("deep arrays 100", "[" * 100 + "1" + "]" * 100),
    ("deep objects 100", '{"a":' * 100 + "1" + "}" * 100),
    ("many keys", json.dumps({"k%04d" % i: i for i in reversed(range(500))})),
]

# Inputs jansson parses but that have no canonical form: glia must reject
# them. Python's encoder has no opinion (it writes floats and big ints), so
# these come from the spec's rules, not from the reference.
REJECT = [
    ("int above max", "9007199254740992"),
    ("int below min", "-9007199254740992"),
    ("int64 max in array", "[9223372036854775807]"),
    ("int64 min in object", '{"a": -9223372036854775808}'),
    ("big int deep", '{"a": [1, {"b": 9007199254740993}]}'),
    ("fraction", "1.5"),
    ("small fraction", '{"a": 0.1}'),
    ("negative fraction", "[-2.5]"),
    ("integral real out of range", "[1e16]"),
    ("real just out of range", "9007199254740992.0"),
    ("huge real", "-1e300"),
    ("tiny real", "1e-7"),
    ("fraction deep", '[1, 2, [3, {"x": 2.5}]]'),
    ("too deep arrays", "[" * 129 + "]" * 129),
    ("too deep objects", '{"a":' * 129 + "1" + "}" * 129),
]

# Character pools for random strings: ASCII, every escape, multi-byte
# sequences of each length, and the awkward code points.
POOLS = [
    [chr(c) for c in range(0x20, 0x7F)],
    [chr(c) for c in range(0x00, 0x20)] + ['"', "\\", "/", "\x7f"],
    ["é", "ß", "ñ", "Ω", "ж", "\u0301", "\u00a0", "\u07ff"],
    ["日", "本", "語", "\u0800", "\u2028", "\u2029", "\ufeff", "\ufffd", "\uffff", "\ue000"],
    ["😀", "🎉", "\U00010000", "\U0001d11e", "\U0010ffff"],
]


def rand_string(rng, key=False):
    out = []
    for _ in range(rng.randint(0, 12)):
        pool = rng.choice(POOLS)
        c = rng.choice(pool)
        if key and c == "\x00":
            continue  # jansson refuses NUL in object keys
        out.append(c)
    return "".join(out)


def rand_int(rng):
    return rng.choice(
        [
            0,
            1,
            -1,
            INT_MAX,
            -INT_MAX,
            INT_MAX - 1,
            rng.randint(-INT_MAX, INT_MAX),
            rng.randint(-1000, 1000),
        ]
    )


def rand_value(rng, depth):
    kinds = ["str", "int", "lit"]
    if depth < 5:
        kinds += ["obj", "arr", "obj"]
    kind = rng.choice(kinds)
    if kind == "str":
        return rand_string(rng)
    if kind == "int":
        return rand_int(rng)
    if kind == "lit":
        return rng.choice([True, False, None])
    if kind == "arr":
        return [rand_value(rng, depth + 1) for _ in range(rng.randint(0, 5))]
    return {rand_string(rng, key=True): rand_value(rng, depth + 1) for _ in range(rng.randint(0, 6))}


def shuffled_dumps(rng, value):
    """JSON text with object keys in a random order and random escaping."""

    def shuffle(v):
        if isinstance(v, dict):
            items = list(v.items())
            rng.shuffle(items)
            return dict((k, shuffle(x)) for k, x in items)
        if isinstance(v, list):
            return [shuffle(x) for x in v]
        return v

    return json.dumps(
        shuffle(value),
        ensure_ascii=rng.choice([True, False]),
        indent=rng.choice([None, 2]),
    )


def reject_float(text):
    raise ValueError("float in a canonical JSON vector: " + text)


def check_ints(v):
    if isinstance(v, bool):
        return
    if isinstance(v, int):
        assert -INT_MAX <= v <= INT_MAX, v
    elif isinstance(v, dict):
        for x in v.values():
            check_ints(x)
    elif isinstance(v, list):
        for x in v:
            check_ints(x)


def canonical(text):
    # Python's encoder writes floats and out-of-range ints verbatim, which
    # the spec forbids; make sure no vector depends on that.
    value = json.loads(text, parse_float=reject_float)
    check_ints(value)
    return canonicaljson.encode_canonical_json(value).decode("utf-8")


def gen_canonical():
    rng = random.Random(20240611)
    cases = list(HAND)
    for i in range(200):
        cases.append(("random %d" % i, shuffled_dumps(rng, rand_value(rng, 0))))
    valid = [{"name": n, "input": t, "canonical": canonical(t)} for n, t in cases]
    return {
        "comment": "Generated by gen_vectors.py with python3-canonicaljson %s; "
        "see README.md. valid: input (JSON text) -> canonical. "
        "reject: inputs with no canonical form (from the spec rules)." % canonicaljson.__version__,
        "valid": valid,
        "reject": [{"name": n, "input": t} for n, t in REJECT],
    }


# ---------------------------------------------------------------------------
# Signed JSON
# ---------------------------------------------------------------------------

APPENDIX_SEED = "YJDBA9Xnr2sVqXD9Vj7XVUnmFZcZrlw8Md7kMW+3XA1"
APPENDIX_PK = "XGX0JRS2Af3be3knz2fBiRbApjm2Dh61gXDJA8kcJNI"
APPENDIX_SIG_EMPTY = "K8280/U9SSy9IVtjBuVeLr+HpOB4BQFWbg+UZaADMtTdGYI7Geitb76LTrr5QV/7Xg4ahLwYGYZzuHGZKM5ZAQ"
APPENDIX_SIG_ONE_TWO = "KqmLSbO39/Bzb0QIYE82zqLwsA+PDzYIpIRA2sRQ4sL53+sN6/fpNSoqE7BP7vBZhG6kYdD13EIMJpvhJI+6Bw"

KEYS = [
    # (entity, version, seed)
    ("domain", "1", APPENDIX_SEED),
    ("id.example.org", "a_B9", encode_base64(hashlib.sha256(b"glia test vector key 2").digest())),
]

OBJECTS = [
    ("empty", {}),
    ("one two", {"one": 1, "two": "Two"}),
    (
        "unicode",
        {"name": "Jürgen 日本 😀", "é": "e-acute", "ctrl": "\x01\x1f\t\n\x00", "\u2028": "/"},
    ),
    (
        "store-invite shape",
        {
            "mxid": "@alice:example.org",
            "sender": "@bob:example.org",
            "token": "abcDEF123",
            "room_id": "!room:example.org",
            "nested": {"b": [3, 2, 1], "a": {"z": None, "y": True, "x": False}},
        },
    ),
    ("with unsigned", {"a": 1, "unsigned": {"age": 5, "note": "not signed"}}),
    (
        "other entity signed",
        {"a": [1, 2, 3], "signatures": {"other.example": {"ed25519:x": "c2lnbmF0dXJl"}}},
    ),
    (
        "same entity other key",
        {"b": True, "signatures": {"domain": {"ed25519:0": "AAAA"}, "id.example.org": {"ed25519:old": "BBBB"}}},
    ),
    (
        "signatures and unsigned",
        {
            "content": {"body": "hi"},
            "unsigned": {"x": [1]},
            "signatures": {"other.example": {"ed25519:1": "c2ln"}},
        },
    ),
    ("int boundaries", {"max": INT_MAX, "min": -INT_MAX, "zero": 0}),
    ("deep", {"a": {"b": {"c": {"d": {"e": [{"f": "g"}]}}}}}),
]


def gen_signed():
    # The appendix values must hold, or nothing below means anything.
    sk = signedjson.key.decode_signing_key_base64("ed25519", "1", APPENDIX_SEED)
    assert encode_base64(sk.verify_key.encode()) == APPENDIX_PK
    s = signedjson.sign.sign_json({}, "domain", sk)
    assert s["signatures"]["domain"]["ed25519:1"] == APPENDIX_SIG_EMPTY
    s = signedjson.sign.sign_json({"one": 1, "two": "Two"}, "domain", sk)
    assert s["signatures"]["domain"]["ed25519:1"] == APPENDIX_SIG_ONE_TWO

    cases = []
    for entity, version, seed in KEYS:
        sk = signedjson.key.decode_signing_key_base64("ed25519", version, seed)
        key_id = "ed25519:" + version
        pk = encode_base64(sk.verify_key.encode())
        for name, obj in OBJECTS:
            text = json.dumps(obj, ensure_ascii=False)
            signed = signedjson.sign.sign_json(json.loads(text), entity, sk)
            signedjson.sign.verify_signed_json(signed, entity, signedjson.key.get_verify_key(sk))
            signable = {k: v for k, v in obj.items() if k not in ("signatures", "unsigned")}
            cases.append(
                {
                    "name": "%s / %s" % (name, key_id),
                    "entity": entity,
                    "key_id": key_id,
                    "seed": seed,
                    "public_key": pk,
                    "input": text,
                    "signable": canonicaljson.encode_canonical_json(signable).decode("utf-8"),
                    "signature": signed["signatures"][entity][key_id],
                    "signed": json.dumps(signed, ensure_ascii=False),
                }
            )
    assert len(decode_base64(KEYS[1][2])) == 32
    return {
        "comment": "Generated by gen_vectors.py with python3-signedjson (signedjson.sign.sign_json); "
        "see README.md. input is signed by key seed as entity/key_id; signature is "
        "signatures[entity][key_id] of signed, python's complete output.",
        "cases": cases,
    }


def write(name, data):
    path = os.path.join(HERE, name)
    with open(path, "w", encoding="ascii") as f:
        # ASCII with escapes, so the files survive any editor or diff tool.
        json.dump(data, f, ensure_ascii=True, indent=1)
        f.write("\n")
    print("wrote", path)


if __name__ == "__main__":
    write("canonical.json", gen_canonical())
    write("signed.json", gen_signed())
