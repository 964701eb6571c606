#!/usr/bin/env python3
"""A fake kubelet's log endpoint, so `kubectl logs` (and triage's log fetch) work on the
test control plane, which has no kubelet.

The API server answers `GET pods/NAME/log` by calling the kubelet of the pod's node
over HTTPS at `GET /containerLogs/NAMESPACE/POD/CONTAINER?previous=..&tailLines=..`
(the node's address from `status.addresses`, the port from
`status.daemonEndpoints.kubeletEndpoint.Port`). Register a Node with InternalIP
127.0.0.1 and this server's port, bind a pod to it, and its logs come from here.
Without `--kubelet-certificate-authority` the API server does not verify the
kubelet's serving certificate; the test PKI's apiserver certificate serves.

Each container's log is 30 numbered lines naming the instance:
`CONTAINER previous|current line N`; `tailLines` keeps the last N. Every request's
path is appended to --log.

Usage: fake_kubelet.py --cert CRT --key KEY --port-file F [--log FILE]
It writes its port to --port-file once listening, and serves until killed.
"""

import argparse
import http.server
import ssl
import threading
import urllib.parse

LINES = 30


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--cert", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--port-file", required=True)
    parser.add_argument("--log")
    args = parser.parse_args()
    lock = threading.Lock()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            if args.log:
                with lock, open(args.log, "a") as log:
                    log.write(f"GET {self.path}\n")
            url = urllib.parse.urlparse(self.path)
            parts = url.path.strip("/").split("/")
            if len(parts) != 4 or parts[0] != "containerLogs":
                self.send_error(404, "only /containerLogs/NS/POD/CONTAINER")
                return
            query = urllib.parse.parse_qs(url.query)
            previous = query.get("previous", ["false"])[0] == "true"
            instance = "previous" if previous else "current"
            lines = [f"{parts[3]} {instance} line {i}" for i in range(1, LINES + 1)]
            tail = query.get("tailLines")
            if tail:
                lines = lines[-int(tail[0]):] if int(tail[0]) > 0 else []
            body = "".join(line + "\n" for line in lines).encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(args.cert, args.key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    with open(args.port_file, "w") as f:
        f.write(str(server.server_address[1]))
    server.serve_forever()


if __name__ == "__main__":
    main()
