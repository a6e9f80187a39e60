#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""A strict SMTP sink for glia's mail tests (Debian's python3-aiosmtpd).

Listens on 127.0.0.1 (or --bind) on a free port, writes the port to
--port-file (atomically), and stores every accepted message as DIR/<n>.eml
(the DATA exactly as received, dot-unstuffed) with DIR/<n>.json beside it:
the envelope (mail_from, rcpt_tos), what the connection was (tls,
auth_user) and what the message looked like on the wire: max_line (longest
line without CRLF), bare_lf, bare_cr, eight_bit, size. aiosmtpd itself
answers 500 to a line over 1000 octets, as strict servers do.

  --mode plain|starttls|tls  transport (tls: implicit TLS, "SMTPS")
  --tls-cert/--tls-key       certificate for starttls and tls
  --auth USER:PASS           require AUTH (PLAIN, LOGIN) before MAIL
  --auth-plain-ok            allow AUTH without TLS (plain mode tests)
  --reject                   answer 550 to every RCPT TO
  --hang                     accept TCP connections, never send a greeting
Exits on SIGTERM or SIGINT.
"""
import argparse
import asyncio
import json
import logging
import os
import signal
import ssl
import sys
import warnings

try:
    from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword
except ImportError:  # the C test skips when this exits 3
    sys.stderr.write("smtp_sink: python3-aiosmtpd is not installed\n")
    sys.exit(3)


def write_atomic(path, data):
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.rename(tmp, path)


def wire_facts(data):
    """Line facts of the DATA as received (CRLF-separated)."""
    lines = data.split(b"\r\n")
    if lines and lines[-1] == b"":
        lines.pop()
    return {
        "max_line": max((len(l) for l in lines), default=0),
        "bare_lf": any(b"\n" in l for l in lines),
        "bare_cr": any(b"\r" in l for l in lines),
        "eight_bit": any(b >= 0x80 for b in data),
        "size": len(data),
    }


class Sink:
    def __init__(self, directory, reject):
        self.dir = directory
        self.reject = reject
        self.count = 0

    async def handle_RCPT(self, server, session, envelope, address, options):
        if self.reject:
            return "550 5.1.1 <%s>: recipient rejected by the sink" % address
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        n = self.count
        data = envelope.original_content
        facts = wire_facts(data)
        facts.update({
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "tls": (server.transport.get_extra_info("ssl_object") is not None
                    or session.ssl is not None),
            "auth_user": (session.auth_data.login.decode()
                          if isinstance(session.auth_data, LoginPassword)
                          else None),
        })
        write_atomic(os.path.join(self.dir, "%d.eml" % n), data)
        write_atomic(os.path.join(self.dir, "%d.json" % n),
                     json.dumps(facts, indent=1).encode())
        return "250 2.0.0 stored as %d" % n


def make_authenticator(user, password):
    def authenticator(server, session, envelope, mechanism, auth_data):
        if (isinstance(auth_data, LoginPassword)
                and auth_data.login == user.encode()
                and auth_data.password == password.encode()):
            return AuthResult(success=True, auth_data=auth_data)
        return AuthResult(success=False, handled=False)
    return authenticator


async def hang(reader, writer):
    """Accept and say nothing, until the client gives up."""
    try:
        await reader.read()
    finally:
        writer.close()


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--bind", default="127.0.0.1")
    ap.add_argument("--mode", choices=("plain", "starttls", "tls"),
                    default="plain")
    ap.add_argument("--tls-cert")
    ap.add_argument("--tls-key")
    ap.add_argument("--auth")
    ap.add_argument("--auth-plain-ok", action="store_true")
    ap.add_argument("--reject", action="store_true")
    ap.add_argument("--hang", action="store_true")
    a = ap.parse_args()
    # Quiet: aiosmtpd warns about AUTH without TLS, which tests do on
    # purpose, about its own deprecations, and logs a traceback for every
    # TLS handshake a test makes fail.
    warnings.simplefilter("ignore")
    logging.getLogger("mail.log").setLevel(logging.CRITICAL)

    loop = asyncio.get_running_loop()
    stop = loop.create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, lambda: stop.done() or stop.set_result(0))

    ctx = None
    if a.mode != "plain":
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(a.tls_cert, a.tls_key)

    if a.hang:
        server = await asyncio.start_server(hang, a.bind, 0)
    else:
        sink = Sink(a.dir, a.reject)
        kw = {"hostname": "sink.test", "enable_SMTPUTF8": False}
        if a.mode == "starttls":
            kw.update(tls_context=ctx, require_starttls=True)
        if a.auth:
            user, _, password = a.auth.partition(":")
            kw.update(authenticator=make_authenticator(user, password),
                      auth_required=True,
                      # aiosmtpd does not count implicit TLS as TLS
                      auth_require_tls=(a.mode == "starttls"
                                        or (a.mode == "plain"
                                            and not a.auth_plain_ok)))
        server = await loop.create_server(
            lambda: SMTP(sink, **kw), a.bind, 0,
            ssl=ctx if a.mode == "tls" else None)
    port = server.sockets[0].getsockname()[1]
    write_atomic(a.port_file, b"%d\n" % port)
    await stop
    server.close()


if __name__ == "__main__":
    asyncio.run(main())
