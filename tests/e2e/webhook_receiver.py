#!/usr/bin/env python3
"""Loopback HTTP(S) receiver for the end-to-end tests: appends every POST body as one line to OUT,
prints its port on stdout. Listens on 127.0.0.1 only. OUT.arrivals gets the arrival time (epoch
seconds) of each body, line for line, to measure alert latency; OUT.headers the request headers.

usage: webhook_receiver.py OUT [--port P] [--status CODE] [--tls CERT KEY] [--client-ca CA]
  --status CODE   answer CODE instead of 200 (the body is recorded all the same)
  --tls CERT KEY  serve HTTPS with this certificate
  --client-ca CA  require a client certificate signed by CA (mutual TLS)
"""
import argparse
import http.server
import ssl
import time

ap = argparse.ArgumentParser()
ap.add_argument("out")
ap.add_argument("--port", type=int, default=0)
ap.add_argument("--status", type=int, default=200)
ap.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"))
ap.add_argument("--client-ca")
args = ap.parse_args()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        now = time.time()
        with open(args.out, "ab") as f:
            f.write(body.replace(b"\n", b" ") + b"\n")
        with open(args.out + ".arrivals", "a") as f:
            f.write(f"{now:.6f}\n")
        with open(args.out + ".headers", "a") as f:
            f.write(str(self.headers).replace("\n", " | ") + "\n")
        answer = b'{"status":"recorded"}'
        self.send_response(args.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *a):
        pass


class Server(http.server.HTTPServer):
    allow_reuse_address = True


server = Server(("127.0.0.1", args.port), Handler)
if args.tls:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(args.tls[0], args.tls[1])
    if args.client_ca:
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.load_verify_locations(args.client_ca)
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
print(server.server_address[1], flush=True)
server.serve_forever()
