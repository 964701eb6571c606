#!/usr/bin/env python3
"""A fault-injecting proxy between triage and the test kube-apiserver.

It listens on plain HTTP on a loopback port, forwards every request to the API server
over TLS (trusting the test CA), and fails the requests that match a rule with an
injected status, so tests can prove what triage does when the server fails halfway
through a step (e.g. the create of a delete+create).

--log FILE records every request's method, path and User-Agent (audit attribution).

Rule: --fail METHOD:PATH_SUBSTRING:STATUS[:COUNT]  (COUNT defaults to 1; dry runs,
`dryRun=All`, are never failed, so preflight passes and the real write fails).

Usage: fault_proxy.py --upstream https://127.0.0.1:PORT --ca CA_FILE --port-file F --fail POST:/rolebindings:500
It writes its port to --port-file once listening, and serves until killed.
"""

import argparse
import http.client
import http.server
import json
import ssl
import sys
import threading
import urllib.parse


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--upstream", required=True)
    parser.add_argument("--ca", required=True)
    parser.add_argument("--port-file", required=True)
    parser.add_argument("--fail", action="append", default=[])
    parser.add_argument("--log", help="append `METHOD PATH USER-AGENT` per request to this file")
    args = parser.parse_args()

    upstream = urllib.parse.urlparse(args.upstream)
    context = ssl.create_default_context(cafile=args.ca)
    rules = []
    for rule in args.fail:
        parts = rule.split(":")
        method, path, status = parts[0], parts[1], int(parts[2])
        count = int(parts[3]) if len(parts) > 3 else 1
        rules.append({"method": method, "path": path, "status": status, "left": count})
    lock = threading.Lock()

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *a):
            sys.stderr.write("proxy: " + (fmt % a) + "\n")

        def injected(self):
            if "dryRun=" in self.path:
                return None
            with lock:
                for rule in rules:
                    if rule["left"] > 0 and rule["method"] == self.command and rule["path"] in self.path:
                        rule["left"] -= 1
                        return rule["status"]
            return None

        def forward(self):
            if args.log:
                with lock, open(args.log, "a") as log:
                    log.write(f"{self.command} {self.path} {self.headers.get('User-Agent', '-')}\n")
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            status = self.injected()
            if status is not None:
                payload = json.dumps({"kind": "Status", "apiVersion": "v1", "status": "Failure",
                                      "message": "injected by fault_proxy", "reason": "InternalError",
                                      "code": status}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
                sys.stderr.write(f"proxy: injected {status} for {self.command} {self.path}\n")
                return
            conn = http.client.HTTPSConnection(upstream.hostname, upstream.port, context=context, timeout=30)
            headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
            conn.request(self.command, self.path, body=body, headers=headers)
            response = conn.getresponse()
            data = response.read()
            self.send_response(response.status)
            for key, value in response.getheaders():
                if key.lower() not in ("transfer-encoding", "connection", "content-length"):
                    self.send_header(key, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            conn.close()

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = forward

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    with open(args.port_file, "w") as f:
        f.write(str(server.server_address[1]))
    server.serve_forever()


if __name__ == "__main__":
    main()
