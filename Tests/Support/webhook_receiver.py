#!/usr/bin/env python3
"""A website's webhook endpoint, for the tests: checks Kuvert-Signature as the
README tells integrators to, and appends each verified body as one line to
OUT. A request whose signature does not verify gets 401 and is recorded as
BAD-SIGNATURE; the first --fail-first verified requests get 503 (a website
having a bad moment) and are not recorded.

usage: webhook_receiver.py PORT SECRET OUT [--fail-first N]
Prints "ready" once listening; runs until killed.
"""
import hashlib
import hmac
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

port, secret, out = int(sys.argv[1]), sys.argv[2].encode(), sys.argv[3]
fail_first = int(sys.argv[5]) if len(sys.argv) > 5 and sys.argv[4] == "--fail-first" else 0
lock = threading.Lock()


def verified(header, body):
    fields = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    stamp, given = fields.get("t", ""), fields.get("v1", "")
    if not stamp.isdigit() or abs(time.time() - int(stamp)) > 300:
        return False
    expected = hmac.new(secret, stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, given)


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        global fail_first
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        with lock:
            if not verified(self.headers.get("Kuvert-Signature", ""), body):
                status = 401
                with open(out, "ab") as f:
                    f.write(b"BAD-SIGNATURE\n")
            elif fail_first > 0:
                fail_first -= 1
                status = 503
            else:
                status = 204
                with open(out, "ab") as f:
                    f.write(body + b"\n")
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
print("ready", flush=True)
server.serve_forever()
