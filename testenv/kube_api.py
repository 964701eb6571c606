"""A minimal Kubernetes REST client for the test-support scripts (stdlib only): the
kubeconfig's server and credentials (from `kubectl config view`, once), one keep-alive
HTTPS connection. The scripts that poll (world.py, reconciler.py) read through it
instead of starting a kubectl per read: a process per read per second per namespace
was most of the fault sweep's CPU.
"""

import base64
import http.client
import json
import os
import ssl
import subprocess
import tempfile
import urllib.parse


class KubeError(Exception):
    """The cluster could not be reached or read as asked (one line, for the user)."""


class Api:
    """Minimal Kubernetes REST client over one keep-alive HTTPS connection."""

    def __init__(self, kubeconfig, context, user_agent):
        cmd = ["kubectl", "config", "view", "--raw", "--minify", "--flatten", "-o", "json"]
        if kubeconfig:
            cmd += ["--kubeconfig", kubeconfig]
        if context:
            cmd += ["--context", context]
        cfg = json.loads(run(cmd))
        try:
            cluster = cfg["clusters"][0]["cluster"]
            user = cfg["users"][0]["user"] if cfg.get("users") else {}
        except (KeyError, IndexError):
            raise KubeError("kubeconfig has no current cluster/user")
        url = urllib.parse.urlsplit(cluster["server"])
        if url.scheme != "https":
            raise KubeError(f"only https servers are supported, got {cluster['server']}")
        self.host, self.port = url.hostname, url.port or 443
        self.prefix = url.path.rstrip("/")
        ctx = ssl.create_default_context()
        if cluster.get("insecure-skip-tls-verify"):
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        elif cluster.get("certificate-authority-data"):
            ctx = ssl.create_default_context(
                cadata=base64.b64decode(cluster["certificate-authority-data"]).decode())
        self.headers = {"Accept": "application/json", "User-Agent": user_agent}
        if user.get("token"):
            self.headers["Authorization"] = "Bearer " + user["token"]
        elif user.get("client-certificate-data"):
            self._tmp = tempfile.TemporaryDirectory()
            crt, key = os.path.join(self._tmp.name, "c.crt"), os.path.join(self._tmp.name, "c.key")
            with open(crt, "wb") as f:
                f.write(base64.b64decode(user["client-certificate-data"]))
            with open(key, "wb") as f:
                f.write(base64.b64decode(user["client-key-data"]))
            ctx.load_cert_chain(crt, key)
        elif user:
            raise KubeError("kubeconfig user needs a token or client certificate (exec plugins unsupported)")
        self.ctx = ctx
        self.conn = None
        self.discovery = {}

    def request(self, method, path, body=None, content_type="application/json", ok=(200, 201)):
        data = None if body is None else json.dumps(body).encode()
        headers = dict(self.headers)
        if data is not None:
            headers["Content-Type"] = content_type
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPSConnection(self.host, self.port, context=self.ctx, timeout=30)
            try:
                self.conn.request(method, self.prefix + path, body=data, headers=headers)
                resp = self.conn.getresponse()
                raw = resp.read()
                break
            except (http.client.HTTPException, ConnectionError, OSError) as err:
                self.conn.close()
                self.conn = None
                if attempt == 2:
                    raise KubeError(f"{method} {path}: {err}")
        try:
            obj = json.loads(raw) if raw else {}
        except ValueError:
            obj = {"message": raw.decode(errors="replace")}
        if ok is not None and resp.status not in ok:
            raise ApiError(resp.status, obj)
        return resp.status, obj

    def resource(self, api_version, kind):
        """(plural, namespaced) for apiVersion+kind, from discovery."""
        if api_version not in self.discovery:
            path = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
            try:
                _, doc = self.request("GET", path)
            except ApiError as err:
                raise KubeError(f"discovery {path}: {err}")
            self.discovery[api_version] = {
                r["kind"]: (r["name"], r["namespaced"]) for r in doc.get("resources", []) if "/" not in r["name"]
            }
        try:
            return self.discovery[api_version][kind]
        except KeyError:
            raise KubeError(f"the server has no {kind} in {api_version}")

    def path(self, obj, named=True, sub=None):
        plural, namespaced = self.resource(obj["apiVersion"], obj["kind"])
        base = "/api/v1" if obj["apiVersion"] == "v1" else f"/apis/{obj['apiVersion']}"
        if namespaced:
            ns = obj["metadata"].get("namespace")
            if not ns:
                raise KubeError(f"{describe(obj)} has no namespace")
            base += f"/namespaces/{ns}"
        base += f"/{plural}"
        if named:
            base += "/" + obj["metadata"]["name"]
        if sub:
            base += "/" + sub
        return base


class ApiError(KubeError):
    def __init__(self, status, obj):
        self.status = status
        self.reason = obj.get("reason", "")
        super().__init__(f"{status} {obj.get('message') or obj}")


def run(cmd):
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    except FileNotFoundError:
        raise KubeError(f"{cmd[0]} not found in PATH")
    if proc.returncode != 0:
        raise KubeError(f"{' '.join(cmd[:3])} ...: {proc.stderr.strip() or 'exit ' + str(proc.returncode)}")
    return proc.stdout
