#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""A fake SMS gateway for the phone validation tests.

Usage: fake_sms.py PORT_FILE LOG_FILE
Listens on 127.0.0.1 and a free port (written to PORT_FILE), and records
every request as one JSON line in LOG_FILE: method, path, headers (names
lower-cased), body. It answers like the gateway the path names:
  /openmarket...  202 with a Location header, as OpenMarket does
  /twilio...      201 {"sid": "SM..."}, as Twilio does
  /fail...        500 (a gateway that refuses)
  anything else   200 {}
The tests read the code from LOG_FILE and submit it. SIGTERM stops it.
"""
import json
import signal
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode("utf-8", "replace")
        entry = {
            "method": "POST",
            "path": self.path,
            "headers": {k.lower(): v for k, v in self.headers.items()},
            "body": body,
        }
        with LOCK, open(self.server.log_file, "a") as f:
            f.write(json.dumps(entry) + "\n")
        if self.path.startswith("/fail"):
            self.reply(500, b'{"error":"refused"}')
        elif self.path.startswith("/openmarket"):
            self.reply(202, b"", {"Location": "/sms/v4/mt/ticket-1"})
        elif self.path.startswith("/twilio"):
            self.reply(201, b'{"sid":"SM123"}')
        else:
            self.reply(200, b"{}")

    def reply(self, status, body, headers=None):
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, fmt, *args):
        sys.stderr.write("fake_sms: " + (fmt % args) + "\n")


def main():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.log_file = sys.argv[2]
    signal.signal(signal.SIGTERM, lambda *a: threading.Thread(
        target=server.shutdown).start())
    with open(sys.argv[1] + ".tmp", "w") as f:
        f.write(str(server.server_address[1]))
    import os
    os.rename(sys.argv[1] + ".tmp", sys.argv[1])
    server.serve_forever()


main()
