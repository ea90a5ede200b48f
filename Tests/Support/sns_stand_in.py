#!/usr/bin/env python3
"""Stands in for an SNS host in the tests: serves https on 127.0.0.1 with
DIR/server.pem and DIR/server.key (a certificate for
sns.eu-north-1.amazonaws.com from the test's own CA, which the test tells
Kuvert to trust and where to connect for that name), answers
GET /SimpleNotificationService-*.pem with DIR/signing.pem (the certificate
whose key signs the test's SNS messages) and GET /?Action=ConfirmSubscription…
with 200, and appends each request's path to DIR/requests.log.

usage: sns_stand_in.py DIR
Prints "PORT n" once listening; runs until killed.
"""
import os
import ssl
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

directory = sys.argv[1]
lock = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        with lock:
            with open(os.path.join(directory, "requests.log"), "a") as log:
                log.write(self.path + "\n")
        if self.path.startswith("/SimpleNotificationService-") and self.path.endswith(".pem"):
            with open(os.path.join(directory, "signing.pem"), "rb") as f:
                body, status = f.read(), 200
        elif self.path.startswith("/?Action=ConfirmSubscription"):
            body, status = b"<ConfirmSubscriptionResponse/>", 200
        else:
            body, status = b"not found", 404
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(os.path.join(directory, "server.pem"), os.path.join(directory, "server.key"))
server.socket = context.wrap_socket(server.socket, server_side=True)
print("PORT %d" % server.server_address[1], flush=True)
server.serve_forever()
