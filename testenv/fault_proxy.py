#!/usr/bin/env python3
"""A fault-injecting proxy between triage and the test kube-apiserver.

It listens on plain HTTP on a loopback port, forwards every request to the API server
over TLS (trusting the test CA), and fails the requests that match a rule with an
injected status, so tests can prove what triage does when the server fails halfway
through a step (e.g. the create of a delete+create).

--log FILE records every request's method, path and User-Agent (audit attribution); an
access review's path is followed by what it asks, `#VERB:GROUP/RESOURCE/SUBRESOURCE/NAME`,
and --at rules match that too (see request_key).

Rule: --fail METHOD:PATH_SUBSTRING:STATUS[:COUNT]  (COUNT defaults to 1; dry runs,
`dryRun=All` in the query or a DELETE's body, are never failed, so preflight passes and the real write fails).

Rule: --at 'METHOD|PATH|K|FAULT' fails exactly the K-th (1-based) request whose method
and path (with its query) equal METHOD and PATH, dry runs included: the fault sweep
records every request once (--log), then replays the run failing each in turn. A `*` in
PATH matches any characters but `/` and `?` (a name triage stamps with the time, like
the migration Job's), and K then counts the requests it matches. FAULT:
  500, 409, 503, ...   that status, a Kubernetes Status body (409 as reason Conflict)
  429/N                429 Too Many Requests with `Retry-After: N`
  reset                the connection is reset (RST) before the request is forwarded
  reset-after          forwarded (the server applies it), then the connection is reset
  hold                 forwarded, and the response held --hold-seconds (default 120,
                       past the client's --request-timeout), then the connection closed
Three more fields, 'METHOD|PATH|K|FAULT|AMETHOD|APATH|AK', anchor the count: only the
requests after the AK-th request matching AMETHOD and APATH (same pattern rules) count
toward K. The sweep anchors a request whose path several steps send (a LIST of the
namespace read, an access review) on a request only its own step sends, earlier in the
same step: counted from the start of the run, its K would shift whenever a run skips
steps an earlier run finished.
Every injection is appended to --injected FILE as `FAULT METHOD PATH #I`, I the 0-based
index of the --at rule that fired (two rules may name the same path).

--touch PATH makes the proxy a concurrent writer, deterministically: before it forwards
any request (not a dry run) for the object at PATH (e.g.
`/api/v1/namespaces/NS/configmaps/lock`), it merge-patches that object upstream itself
(annotation `e2e.example/concurrent-writer: N`, User-Agent `concurrent-writer`), so
whatever triage read of it is always one write behind.

Usage: fault_proxy.py --upstream https://127.0.0.1:PORT --ca CA_FILE --port-file F --fail POST:/rolebindings:500
It writes its port to --port-file once listening, and serves until killed.
"""

import argparse
import re
import http.client
import http.server
import json
import socket
import ssl
import struct
import sys
import threading
import time
import urllib.parse


def request_key(method, path, body):
    """The request as --at rules match it and --log records it: its path with the query,
    and for an access review (a POST to `...reviews`) what it asks, after a `#` (never
    part of a request target): `#VERB:GROUP/RESOURCE/SUBRESOURCE/NAME`. Every step of a
    repair asks on the same path; what it asks tells the steps apart, so the fault sweep
    can fail a step's first review in a chain instead of alone in a fresh copy."""
    if method != "POST" or not path.split("?")[0].endswith("reviews") or not body:
        return path
    try:
        attributes = json.loads(body)["spec"]["resourceAttributes"]
    except (ValueError, KeyError, TypeError):
        return path
    fields = [attributes.get(k) or "" for k in ("verb", "group", "resource", "subresource", "name")]
    return f"{path}#{fields[0]}:{'/'.join(fields[1:])}"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--upstream", required=True)
    parser.add_argument("--ca", required=True)
    parser.add_argument("--port-file", required=True)
    parser.add_argument("--fail", action="append", default=[])
    parser.add_argument("--at", action="append", default=[])
    parser.add_argument("--hold-seconds", type=float, default=120)
    parser.add_argument("--touch", action="append", default=[])
    parser.add_argument("--injected", help="append `FAULT METHOD PATH` per injection to this file")
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
    def compile_path(path):
        return re.compile("[^/?]*".join(re.escape(part) for part in path.split("*")))

    exact = []
    for index, rule in enumerate(args.at):
        fields = rule.split("|")
        if len(fields) not in (4, 7):
            parser.error(f"--at {rule!r}: want METHOD|PATH|K|FAULT[|AMETHOD|APATH|AK]")
        method, path, occurrence, fault = fields[:4]
        anchor = None
        if len(fields) == 7:
            anchor = {"method": fields[4], "pattern": compile_path(fields[5]), "occurrence": int(fields[6]),
                      "seen": 0}
        exact.append({"method": method, "pattern": compile_path(path), "occurrence": int(occurrence),
                      "fault": fault, "seen": 0, "anchor": anchor, "index": index})
    seen = {}
    lock = threading.Lock()

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *a):
            sys.stderr.write("proxy: " + (fmt % a) + "\n")

        def matches(self, rule):
            return rule["method"] == self.command and rule["pattern"].fullmatch(self.key)

        def injected(self, body):
            """The fault to inject (None: forward as is) and the index of its --at rule."""
            with lock:
                # A rule counts only requests after its anchor was reached: whether it
                # was is decided before this request counts toward the anchor.
                opened = [rule["anchor"] is None or rule["anchor"]["seen"] >= rule["anchor"]["occurrence"]
                          for rule in exact]
                for rule in exact:
                    if rule["anchor"] is not None and self.matches(rule["anchor"]):
                        rule["anchor"]["seen"] += 1
                fired = None
                for rule, open_ in zip(exact, opened):
                    if open_ and self.matches(rule):
                        rule["seen"] += 1
                        if rule["seen"] == rule["occurrence"] and fired is None:
                            fired = rule
                if fired is not None:
                    return fired["fault"], fired["index"]
            # A DELETE carries its dry run in the body (DeleteOptions.dryRun).
            if "dryRun=" in self.path or (body and b'"dryRun":["All"]' in body.replace(b" ", b"")):
                return None, None
            with lock:
                for rule in rules:
                    if rule["left"] > 0 and rule["method"] == self.command and rule["path"] in self.path:
                        rule["left"] -= 1
                        return rule["status"], None
            return None, None

        def forward(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            self.key = request_key(self.command, self.path, body)
            if args.log:
                with lock, open(args.log, "a") as log:
                    log.write(f"{self.command} {self.key} {self.headers.get('User-Agent', '-')}\n")
            if "dryRun" not in self.path + str(body or "") and self.path.split("?")[0] in args.touch:
                self.touch()
            fault, index = self.injected(body)
            if fault is not None:
                fault = str(fault)
                sys.stderr.write(f"proxy: injected {fault} for {self.command} {self.key}\n")
                if args.injected:
                    with lock, open(args.injected, "a") as log:
                        log.write(f"{fault} {self.command} {self.key}" + (f" #{index}" if index is not None else "") + "\n")
            if fault == "reset":
                return self.reset()
            if fault is not None and fault not in ("reset-after", "hold"):
                return self.status(fault)
            headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
            response, data = self.send_upstream(body, headers)
            if fault == "reset-after":
                return self.reset()
            if fault == "hold":
                time.sleep(args.hold_seconds)
                self.close_connection = True
                return
            self.send_response(response.status)
            for key, value in response.getheaders():
                if key.lower() not in ("transfer-encoding", "connection", "content-length"):
                    self.send_header(key, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        upstream_conn = None

        def send_upstream(self, body, headers):
            """Forwards this request on the upstream connection of this client connection
            (a handler serves one), opened on first use and kept: a TLS handshake per
            request was most of the proxy's CPU in the fault sweep. A kept connection the
            API server closed while idle is reopened once, for a GET only (any other
            request may have been applied)."""
            for attempt in range(2):
                reused = self.upstream_conn is not None
                if not reused:
                    self.upstream_conn = http.client.HTTPSConnection(upstream.hostname, upstream.port,
                                                                     context=context, timeout=30)
                try:
                    self.upstream_conn.request(self.command, self.path, body=body, headers=headers)
                    response = self.upstream_conn.getresponse()
                    return response, response.read()
                except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                    self.upstream_conn.close()
                    self.upstream_conn = None
                    if not reused or self.command != "GET" or attempt:
                        raise

        def finish(self):
            try:
                super().finish()
            finally:
                if self.upstream_conn is not None:
                    self.upstream_conn.close()

        def touch(self):
            with lock:
                seen["touches"] = seen.get("touches", 0) + 1
                count = seen["touches"]
            patch = json.dumps({"metadata": {"annotations": {"e2e.example/concurrent-writer": str(count)}}})
            conn = http.client.HTTPSConnection(upstream.hostname, upstream.port, context=context, timeout=30)
            conn.request("PATCH", self.path.split("?")[0], body=patch, headers={
                "Authorization": self.headers.get("Authorization", ""),
                "Content-Type": "application/merge-patch+json",
                "User-Agent": "concurrent-writer"})
            conn.getresponse().read()
            conn.close()

        def status(self, fault):
            code, _, retry_after = fault.partition("/")
            code = int(code)
            reason = {409: "Conflict", 429: "TooManyRequests", 503: "ServiceUnavailable",
                      504: "Timeout"}.get(code, "InternalError")
            payload = json.dumps({"kind": "Status", "apiVersion": "v1", "status": "Failure",
                                  "message": "injected by fault_proxy", "reason": reason,
                                  "code": code}).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            if retry_after:
                self.send_header("Retry-After", retry_after)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def reset(self):
            # SO_LINGER 0: close() sends RST, the client sees "connection reset by peer".
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
            self.connection.close()

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = forward

    class Server(http.server.ThreadingHTTPServer):
        # triage sends its namespace read's LISTs at once: socketserver's default
        # listen backlog (5) overflows on a loaded machine and connects time out.
        request_queue_size = 128

    server = Server(("127.0.0.1", 0), Handler)
    with open(args.port_file, "w") as f:
        f.write(str(server.server_address[1]))
    server.serve_forever()


if __name__ == "__main__":
    main()
