#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""A fake replication peer for the pusher tests: mutual TLS, like a sydent.

Usage: fake_peer.py PORT_FILE LOG_FILE CERT KEY CA CONTROL_DIR
Serves POST /_matrix/identity/replicate/v1/push over HTTPS, requiring a
client certificate from CA. It logs each push it accepts (one JSON line:
the client certificate's CN and the ids) to LOG_FILE and answers
{"success": true}, except:
  - while CONTROL_DIR/hold exists: 503 (the peer is down);
  - entries whose address contains "refuse-me": 400 M_VERIFICATION_FAILED
    with their ids in failed_ids, as sydent answers, nothing stored.
SIGTERM stops it.
"""
import json
import os
import signal
import ssl
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        if os.path.exists(os.path.join(self.server.control, "hold")):
            return self.reply(503, {"errcode": "M_UNKNOWN", "error": "down"})
        assocs = body.get("sgAssocs", {})
        bad = [k for k, v in assocs.items()
               if "refuse-me" in str(v.get("address"))]
        if bad:
            return self.reply(400, {"errcode": "M_VERIFICATION_FAILED",
                                    "error": "refused", "failed_ids": bad})
        cert = self.connection.getpeercert()
        cn = dict(x[0] for x in cert["subject"]).get("commonName")
        with open(self.server.log_file, "a") as f:
            f.write(json.dumps({"cn": cn, "ids": sorted(assocs, key=int),
                                "addresses": [v.get("address")
                                              for v in assocs.values()]})
                    + "\n")
        self.reply(200, {"success": True})

    def reply(self, status, obj):
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, fmt, *args):
        sys.stderr.write("fake_peer: " + (fmt % args) + "\n")


def main():
    port_file, log_file, cert, key, ca, control = sys.argv[1:7]
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    ctx.load_verify_locations(ca)
    ctx.verify_mode = ssl.CERT_REQUIRED
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    server.log_file = log_file
    server.control = control
    signal.signal(signal.SIGTERM, lambda *a: threading.Thread(
        target=server.shutdown).start())
    with open(port_file + ".tmp", "w") as f:
        f.write(str(server.server_address[1]))
    os.rename(port_file + ".tmp", port_file)
    server.serve_forever()


main()
