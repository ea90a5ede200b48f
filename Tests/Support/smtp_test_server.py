"""A real SMTP server for Kuvert's tests (aiosmtpd), on 127.0.0.1 only.

Usage: smtp_test_server.py OUTDIR [PORT [USER:PASSWORD]]

With USER:PASSWORD the server offers AUTH (without TLS, loopback only) and
refuses mail from clients that did not log in.

Prints "PORT <n>" once listening, then serves until stdin closes or SIGTERM.
Every accepted message is written to OUTDIR/<n>.eml with its envelope in
OUTDIR/<n>.json; every event is appended to OUTDIR/events.log ("ehlo" once per
client session, "rcpt <code> <address>", "data <n>"). aiosmtpd's own log
(warnings, and the tracebacks of failures the tests provoke) goes to
OUTDIR/server.log, not into the test run's output.

Replies are chosen by the recipient's local part:
  reject...@   550 5.1.1 for the recipient, every time
  policy...@   550 5.7.1 (a policy refusal, not about the mailbox)
  full...@     552 5.2.2 (mailbox full: permanent, counts towards a bounce)
  defer-N...@  451 for the first N attempts (defer...@ without N: once)
  dataerror@   accepted as a recipient, then the handler fails during DATA
               (aiosmtpd answers 500 and keeps the transaction open, as a
               broken relay might)
  anything     250
"""
import asyncio
import json
import logging
import os
import re
import signal
import sys

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult


class Recorder:
    def __init__(self, outdir):
        self.outdir = outdir
        self.count = 0
        self.defers = {}
        self.events = open(os.path.join(outdir, "events.log"), "a", buffering=1)

    def event(self, text):
        self.events.write(text + "\n")

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        self.event("ehlo")
        session.host_name = hostname
        return responses

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local = address.split("@")[0].lower()
        if local.startswith("reject"):
            self.event(f"rcpt 550 {address}")
            return "550 5.1.1 No such user here"
        if local.startswith("full"):
            self.event(f"rcpt 552 {address}")
            return "552 5.2.2 Mailbox full"
        if local.startswith("policy"):
            self.event(f"rcpt 550 {address}")
            return "550 5.7.1 Sender not allowed by policy"
        if local.startswith("defer"):
            match = re.match(r"defer-(\d+)", local)
            limit = int(match.group(1)) if match else 1
            seen = self.defers.get(address, 0) + 1
            self.defers[address] = seen
            if seen <= limit:
                self.event(f"rcpt 451 {address}")
                return "451 4.3.0 Try again later"
        self.event(f"rcpt 250 {address}")
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        if any(address.lower().startswith("dataerror") for address in envelope.rcpt_tos):
            self.event("data 500")
            raise RuntimeError("storage failed")
        self.count += 1
        name = f"{self.count:06d}"
        with open(os.path.join(self.outdir, name + ".eml.tmp"), "wb") as file:
            file.write(envelope.original_content)
        with open(os.path.join(self.outdir, name + ".json"), "w") as file:
            json.dump({"from": envelope.mail_from, "to": envelope.rcpt_tos}, file)
        os.rename(os.path.join(self.outdir, name + ".eml.tmp"), os.path.join(self.outdir, name + ".eml"))
        self.event(f"data {name}")
        return f"250 2.0.0 Queued as {name}"


def main():
    # A parent's thread may have blocked signals (libdispatch's workers do), and
    # children inherit the mask: unblock, or SIGTERM would wait for ever.
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})
    outdir = sys.argv[1]
    port = int(sys.argv[2]) if len(sys.argv) > 2 else 0
    credentials = sys.argv[3] if len(sys.argv) > 3 else None
    os.makedirs(outdir, exist_ok=True)
    logging.basicConfig(filename=os.path.join(outdir, "server.log"), level=logging.INFO)
    logging.captureWarnings(True)
    recorder = Recorder(outdir)
    options = {}
    if credentials:
        user, password = credentials.encode().split(b":", 1)

        def authenticator(server, session, envelope, mechanism, auth_data):
            ok = auth_data.login == user and auth_data.password == password
            recorder.event(f"auth {'ok' if ok else 'denied'}")
            # handled=False: let aiosmtpd send the 535 itself.
            return AuthResult(success=ok, handled=False)

        options = {"authenticator": authenticator, "auth_required": True, "auth_require_tls": False}
    controller = Controller(recorder, hostname="127.0.0.1", port=port, data_size_limit=10 * 1024 * 1024,
                            enable_SMTPUTF8=True, **options)
    if port == 0:
        # aiosmtpd 1.4 cannot bind port 0 itself: find a free one first.
        import socket
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        controller.port = probe.getsockname()[1]
        probe.close()
    controller.start()
    print(f"PORT {controller.port}", flush=True)
    # Every message is on disk before it is acknowledged, so there is nothing to
    # tidy: exit at once (a graceful stop waits for open client connections).
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    try:
        sys.stdin.read()
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
