#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""Decode the newest mail to ADDRESS in an outbox directory, for the C tests.

Usage: read_mail.py OUTBOX_DIR ADDRESS
Prints one JSON object: subject, to (decoded), text and html (the decoded
parts), longest_line (octets, without CRLF, of the raw message) and file.
Prints {} if no mail to ADDRESS is there. Python's email package does the
MIME and RFC 2047 decoding, so the tests check what a mail client shows.
"""
import email
import email.policy
import json
import os
import sys


def main():
    outbox, address = sys.argv[1], sys.argv[2].lower()
    names = sorted(n for n in os.listdir(outbox) if n.endswith(".eml"))
    for name in reversed(names):
        path = os.path.join(outbox, name)
        with open(path, "rb") as f:
            raw = f.read()
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        if address not in str(msg["to"]).lower():
            continue
        out = {
            "file": path,
            "subject": str(msg["subject"]),
            "to": str(msg["to"]),
            "longest_line": max(len(l) for l in raw.split(b"\r\n")),
        }
        for part in msg.walk():
            kind = part.get_content_type()
            if kind == "text/plain":
                out["text"] = part.get_content()
            elif kind == "text/html":
                out["html"] = part.get_content()
        print(json.dumps(out))
        return
    print("{}")


main()
