#!/usr/bin/env python3
"""Loopback HTTP receiver for the end-to-end test: appends every POST body as one line to OUT,
answers 200, prints its port on stdout. Listens on 127.0.0.1 only. OUT.arrivals gets the
arrival time (epoch seconds) of each body, line for line, to measure alert latency."""
import http.server
import sys
import time

out_path = sys.argv[1]


class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        now = time.time()
        with open(out_path, "ab") as f:
            f.write(body.replace(b"\n", b" ") + b"\n")
        with open(out_path + ".arrivals", "a") as f:
            f.write(f"{now:.6f}\n")
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
