#!/usr/bin/env python3
"""Load a captured namespace (a kubectl `kind: List` fixture) into a test cluster.

usage: load-scenario.py [--kubeconfig KC] [--context CTX] [--ns FROM=TO ...]
                        [--quota-wait SECONDS] [--no-freeze-jobs] FIXTURE

The cluster is the one `scripts/testenv up` starts: a real kube-apiserver, a
kube-controller-manager with a few controllers, no kubelet and no scheduler. The
loader recreates the captured objects and then writes, through the status
subresource, what only a kubelet or a controller would have written.

  1. YAML -> JSON with `kubectl create --dry-run=client -o json` (stdlib only); a
     FIXTURE ending in .json is read as that output.
  2. Namespaces are remapped (--ns bleater=NEW): metadata.namespace, Namespace names,
     RoleBinding subjects, Event involvedObject/related, PV claimRef, CronJob
     status.active, and `kubernetes.io/metadata.name` values in namespaceSelectors
     (plus `namespaces` lists in pod affinity terms).
  3. Server-set fields are stripped (uid, resourceVersion, creationTimestamp,
     managedFields, generation, selfLink, status); Services lose their cluster IPs and
     node ports, Jobs their generated selector and controller-uid template labels.
  4. Objects are created owners first. Every old uid string that appears in a later
     object (ownerReferences, Job pod labels, claimRef, event involvedObject, PV names
     like pvc-<uid>, messages) is replaced with the new uid, so the garbage collector
     sees consistent owners. Cluster-scoped objects that already exist are skipped
     (StorageClass); existing namespaced ones (the `default` ServiceAccount,
     kube-root-ca.crt) get the fixture's version merge-patched over them.
  5. Status is written for Pods (incl. init-container CrashLoopBackOff), PVCs, PVs,
     Jobs, CronJobs, Deployments, ReplicaSets, StatefulSets, ...
  6. LimitRange and ResourceQuota are created last (existing pods are admitted, pod
     specs are not defaulted). If no quota controller fills status.used within
     --quota-wait seconds, the fixture's quota status is written instead.
  7. Events are created.

Jobs that are not suspended are "frozen" with spec.managedBy (the built-in Job
controller ignores them), otherwise it would create pods the capture does not have.
Suspended Jobs stay with the real controller. --no-freeze-jobs disables this.

Prints a summary on stdout; exits 1 with `load-scenario: error: ...` on failure.
"""

import argparse
import copy
import json
import os
import sys
import time

from kube_api import Api, ApiError, KubeError, run

FREEZE_MANAGER = "testenv.triage.local/fixture"
NS_LABEL = "kubernetes.io/metadata.name"
JOB_UID_LABELS = ("batch.kubernetes.io/controller-uid", "controller-uid")
BINDING_MARKS = ("pv.kubernetes.io/bind-completed", "pv.kubernetes.io/bound-by-controller")
LAST = ("LimitRange", "ResourceQuota")  # created after everything else


# The loader's one-line errors (a bad fixture, an API failure) are the client's kind.
LoadError = KubeError


def describe(obj):
    m = obj.get("metadata", {})
    ns = m.get("namespace")
    return f"{obj.get('kind')} {ns + '/' if ns else ''}{m.get('name')}"


# ------------------------------------------------------------------ fixture parsing


def read_fixture(path, kubeconfig, context):
    if not os.path.exists(path):
        raise LoadError(f"no such fixture: {path}")
    if path.endswith(".json"):
        # Already what kubectl would print (a caller that loads one fixture many times
        # converts it once).
        with open(path) as f:
            text = f.read()
    else:
        cmd = ["kubectl", "create", "--dry-run=client", "--validate=false", "-o", "json", "-f", path]
        if kubeconfig:
            cmd += ["--kubeconfig", kubeconfig]
        if context:
            cmd += ["--context", context]
        text = run(cmd)
    dec, i, out = json.JSONDecoder(), 0, []
    while True:
        while i < len(text) and text[i].isspace():
            i += 1
        if i >= len(text):
            break
        obj, i = dec.raw_decode(text, i)
        out.append(obj)

    def flatten(objs):
        for o in objs:
            if o.get("kind", "").endswith("List") and "items" in o:
                yield from flatten(o["items"])
            else:
                yield o

    return list(flatten(out))


# ------------------------------------------------------------------ rewriting


def remap_namespaces(obj, ns_map):
    def m(ns):
        return ns_map.get(ns, ns)

    meta = obj.setdefault("metadata", {})
    kind = obj.get("kind")
    if meta.get("namespace"):
        meta["namespace"] = m(meta["namespace"])
    if kind == "Namespace":
        meta["name"] = m(meta["name"])
        if NS_LABEL in meta.get("labels", {}):
            meta["labels"][NS_LABEL] = meta["name"]
    if kind in ("RoleBinding", "ClusterRoleBinding"):
        for s in obj.get("subjects") or []:
            if s.get("namespace"):
                s["namespace"] = m(s["namespace"])
    if kind == "Event":
        for key in ("involvedObject", "related"):
            if (obj.get(key) or {}).get("namespace"):
                obj[key]["namespace"] = m(obj[key]["namespace"])
    if kind == "PersistentVolume":
        ref = obj.get("spec", {}).get("claimRef") or {}
        if ref.get("namespace"):
            ref["namespace"] = m(ref["namespace"])
    if kind == "CronJob":
        for ref in obj.get("status", {}).get("active") or []:
            if ref.get("namespace"):
                ref["namespace"] = m(ref["namespace"])

    def walk(node):
        if isinstance(node, dict):
            sel = node.get("namespaceSelector")
            if isinstance(sel, dict):
                labels = sel.get("matchLabels") or {}
                if NS_LABEL in labels:
                    labels[NS_LABEL] = m(labels[NS_LABEL])
                for expr in sel.get("matchExpressions") or []:
                    if expr.get("key") == NS_LABEL:
                        expr["values"] = [m(v) for v in expr.get("values") or []]
            if "topologyKey" in node and isinstance(node.get("namespaces"), list):
                node["namespaces"] = [m(v) for v in node["namespaces"]]
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(obj.get("spec"))


def strip_server_fields(obj, freeze_jobs):
    """Returns (status, own old uid, deferred spec patch or None)."""
    meta = obj["metadata"]
    uid = meta.pop("uid", None)
    for key in ("resourceVersion", "creationTimestamp", "managedFields", "selfLink", "generation",
                "deletionTimestamp", "deletionGracePeriodSeconds"):
        meta.pop(key, None)
    status = obj.pop("status", None)
    kind, spec = obj.get("kind"), obj.get("spec") or {}
    deferred = None
    if kind == "Service":
        if spec.get("clusterIP") not in ("None",):
            spec.pop("clusterIP", None)
            spec.pop("clusterIPs", None)
        spec.pop("healthCheckNodePort", None)
        for p in spec.get("ports") or []:
            p.pop("nodePort", None)
    elif kind == "Job":
        if not spec.get("manualSelector"):
            spec.pop("selector", None)
            labels = spec.get("template", {}).get("metadata", {}).get("labels") or {}
            for key in JOB_UID_LABELS:
                labels.pop(key, None)
        if freeze_jobs and not spec.get("suspend") and not spec.get("managedBy"):
            spec["managedBy"] = FREEZE_MANAGER
    elif kind == "PersistentVolumeClaim":
        # a dynamically provisioned PV is named pvc-<claim uid>: bind after both exist
        if uid and uid in (spec.get("volumeName") or ""):
            deferred = {"spec": {"volumeName": spec.pop("volumeName")}}
            # A claim marked bind-completed without its volume is "lost" to the PV
            # controller (syncBoundClaim: ClaimLost): the marks come back with the volume.
            annotations = meta.get("annotations") or {}
            marks = {k: annotations.pop(k) for k in BINDING_MARKS if k in annotations}
            if marks:
                deferred["metadata"] = {"annotations": marks}
    elif kind == "PersistentVolume":
        ref = spec.get("claimRef") or {}
        ref.pop("resourceVersion", None)
    return status, uid, deferred


def substitute(node, uid_map):
    """Replace every old uid occurring in string values with its new uid."""
    if not uid_map:
        return node
    text = json.dumps(node)
    for old, new in uid_map.items():
        if old in text:
            text = text.replace(old, new)
    return json.loads(text)


def creation_order(entries):
    """Owners before dependents: an object waits for every other fixture object whose
    uid appears in it (ownerReferences, claimRef, Job labels, ...)."""
    by_uid = {e["uid"]: e for e in entries if e["uid"]}
    for e in entries:
        text = json.dumps(e["obj"])
        e["deps"] = {u for u in by_uid if u != e["uid"] and u in text}
    done, order, pending = set(), [], list(entries)
    while pending:
        ready = [e for e in pending if e["deps"] <= done]
        if not ready:  # cycle: fall back to fixture order for the rest
            ready = pending[:1]
        for e in ready:
            order.append(e)
            if e["uid"]:
                done.add(e["uid"])
        pending = [e for e in pending if e not in ready]
    return order


def drop_dangling_owners(obj, known_uids, warn):
    refs = obj["metadata"].get("ownerReferences")
    if not refs:
        return
    keep = [r for r in refs if r.get("uid") in known_uids]
    for r in refs:
        if r.get("uid") not in known_uids:
            warn(f"{describe(obj)}: dropping ownerReference to {r.get('kind')} {r.get('name')} "
                 "(not in the fixture; the garbage collector would delete the object)")
    if keep:
        obj["metadata"]["ownerReferences"] = keep
    else:
        del obj["metadata"]["ownerReferences"]


def job_status_for_server(obj, status, warn):
    """Since 1.31 the API server only accepts Complete=True after SuccessCriteriaMet=True
    and Failed=True after FailureTarget=True (the 1.36 Job controller writes both).
    Captures from older clusters lack them: add them with the same timestamps."""
    conds = status.get("conditions") or []
    types = {c.get("type") for c in conds if c.get("status") == "True"}
    extra = []
    for final, interim, reason, message in (
            ("Complete", "SuccessCriteriaMet", "CompletionsReached", "Reached expected number of succeeded pods"),
            ("Failed", "FailureTarget", None, None)):
        if final in types and interim not in types:
            c = next(c for c in conds if c.get("type") == final and c.get("status") == "True")
            add = dict(c, type=interim)
            if reason:
                add["reason"], add["message"] = c.get("reason") or reason, c.get("message") or message
            extra.append(add)
            warn(f"{describe(obj)}: adding {interim}=True before {final}=True (required by the API server)")
    if extra:
        status = dict(status, conditions=extra + conds)
    return status


# ------------------------------------------------------------------ loading


class Loader:
    def __init__(self, api, quota_wait, warn):
        self.api = api
        self.quota_wait = quota_wait
        self.warn = warn
        self.uid_map = {}
        self.stats = {"created": 0, "replaced": 0, "skipped": 0, "status": 0, "events": 0}

    def create(self, obj, old_uid):
        api = self.api
        plural, namespaced = api.resource(obj["apiVersion"], obj["kind"])
        try:
            _, out = api.request("POST", api.path(obj, named=False), obj)
            self.stats["created"] += 1
        except ApiError as err:
            # quota admission answers 403 before the 409 AlreadyExists of a reload
            if err.status not in (403, 409):
                raise LoadError(f"create {describe(obj)}: {err}")
            status, cur = api.request("GET", api.path(obj), ok=None)
            if status != 200:
                raise LoadError(f"create {describe(obj)}: {err}")
            if obj["kind"] == "Namespace":
                patch = {"metadata": {k: obj["metadata"][k] for k in ("labels", "annotations") if obj["metadata"].get(k)}}
                _, out = api.request("PATCH", api.path(obj), patch, "application/merge-patch+json")
                self.stats["replaced"] += 1
            elif not namespaced:
                self.warn(f"{describe(obj)} already exists; keeping the cluster's")
                out = cur
                self.stats["skipped"] += 1
            else:
                # merge-patch the fixture over the live object: fields the loader stripped
                # (generated Job selector, cluster IPs, a bound PVC's volumeName) stay
                try:
                    _, out = api.request("PATCH", api.path(obj), obj, "application/merge-patch+json")
                except ApiError as err2:
                    raise LoadError(f"update existing {describe(obj)} (load into fresh namespaces?): {err2}")
                self.stats["replaced"] += 1
        if old_uid:
            self.uid_map[old_uid] = out["metadata"]["uid"]
        return out

    def patch(self, obj, body, sub=None, what="patch"):
        try:
            self.api.request("PATCH", self.api.path(obj, sub=sub), body, "application/merge-patch+json")
        except ApiError as err:
            raise LoadError(f"{what} {describe(obj)}: {err}")

    def write_status(self, obj, status):
        status = substitute(status, self.uid_map)
        if obj["kind"] == "Job":
            status = job_status_for_server(obj, status, self.warn)
        self.patch(obj, {"status": status}, sub="status", what="write status of")
        self.stats["status"] += 1

    def has_status_subresource(self, obj):
        plural, _ = self.api.resource(obj["apiVersion"], obj["kind"])
        base = "/api/v1" if obj["apiVersion"] == "v1" else f"/apis/{obj['apiVersion']}"
        key = (base, "sub")
        if key not in self.api.discovery:
            _, doc = self.api.request("GET", base)
            self.api.discovery[key] = {r["name"] for r in doc.get("resources", [])}
        return f"{plural}/status" in self.api.discovery[key]

    def wait_quota(self, obj):
        deadline = time.monotonic() + self.quota_wait
        while True:
            _, cur = self.api.request("GET", self.api.path(obj))
            if (cur.get("status") or {}).get("used") is not None:
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.2)

    def load(self, items, ns_map, freeze_jobs):
        entries = []
        for raw in items:
            obj = copy.deepcopy(raw)
            if not obj.get("apiVersion") or not obj.get("kind") or not obj.get("metadata", {}).get("name"):
                raise LoadError(f"fixture item without apiVersion/kind/name: {json.dumps(raw)[:120]}")
            remap_namespaces(obj, ns_map)
            status, uid, deferred = strip_server_fields(obj, freeze_jobs)
            entries.append({"obj": obj, "status": status, "uid": uid, "deferred": deferred,
                            "deleting": "deletionTimestamp" in raw.get("metadata", {})})
        known = {e["uid"] for e in entries if e["uid"]}
        for e in entries:
            drop_dangling_owners(e["obj"], known, self.warn)

        kind = lambda e: e["obj"]["kind"]
        namespaces = [e for e in entries if kind(e) == "Namespace"]
        events = [e for e in entries if kind(e) == "Event"]
        last = [e for e in entries if kind(e) in LAST]
        rest = [e for e in entries if kind(e) not in ("Namespace", "Event") + LAST]

        for e in namespaces:
            e["live"] = self.create(e["obj"], e["uid"])
        for e in creation_order(rest):
            e["live"] = self.create(substitute(e["obj"], self.uid_map), e["uid"])
        for e in rest:
            if e["deferred"]:
                self.patch(e["live"], substitute(e["deferred"], self.uid_map), what="bind")

        # what a kubelet / controllers would have written
        for e in rest:
            st = e["status"]
            if st and kind(e) != "Service" and self.has_status_subresource(e["obj"]):
                self.write_status(e["live"], st)
            elif st and kind(e) == "Service" and (st.get("loadBalancer") or {}).get("ingress"):
                self.write_status(e["live"], st)

        quota_source = {}
        for e in sorted(last, key=lambda e: LAST.index(kind(e))):
            e["live"] = self.create(substitute(e["obj"], self.uid_map), e["uid"])
        for e in last:
            if kind(e) == "ResourceQuota":
                name = describe(e["live"])
                if self.wait_quota(e["live"]):
                    quota_source[name] = "controller"
                elif e["status"]:
                    self.write_status(e["live"], e["status"])
                    quota_source[name] = "fixture (no quota controller answered)"
                else:
                    quota_source[name] = "none"

        for e in events:
            self.create(substitute(e["obj"], self.uid_map), e["uid"])
            self.stats["events"] += 1

        deleted = 0
        for e in rest + last:
            if e["deleting"]:
                try:
                    self.api.request("DELETE", self.api.path(e["live"]), ok=(200, 202))
                except ApiError as err:
                    raise LoadError(f"delete (fixture is Terminating) {describe(e['live'])}: {err}")
                deleted += 1
        return quota_source, deleted


def main(argv=None):
    ap = argparse.ArgumentParser(description="Load a kubectl List fixture into a test cluster.")
    ap.add_argument("fixture")
    ap.add_argument("--kubeconfig", default=os.environ.get("KUBECONFIG"))
    ap.add_argument("--context")
    ap.add_argument("--ns", action="append", default=[], metavar="FROM=TO",
                    help="namespace remapping, repeatable")
    ap.add_argument("--quota-wait", type=float, default=15.0,
                    help="seconds to wait for the quota controller before writing the fixture's quota status")
    ap.add_argument("--no-freeze-jobs", action="store_true",
                    help="leave non-suspended Jobs to the Job controller (it may create pods)")
    ap.add_argument("-q", "--quiet", action="store_true", help="no warnings")
    args = ap.parse_args(argv)

    def warn(msg):
        if not args.quiet:
            print(f"load-scenario: warning: {msg}", file=sys.stderr)

    try:
        ns_map = {}
        for pair in args.ns:
            src, sep, dst = pair.partition("=")
            if not sep or not src or not dst:
                raise LoadError(f"--ns expects FROM=TO, got {pair!r}")
            ns_map[src] = dst
        kubeconfig = args.kubeconfig.split(os.pathsep)[0] if args.kubeconfig else None
        started = time.monotonic()
        items = read_fixture(args.fixture, kubeconfig, args.context)
        api = Api(kubeconfig, args.context, "triage-testenv-load-scenario")
        loader = Loader(api, args.quota_wait, warn)
        quota, deleted = loader.load(items, ns_map, not args.no_freeze_jobs)
    except LoadError as err:
        print(f"load-scenario: error: {err}", file=sys.stderr)
        return 1
    s = loader.stats
    mapping = ", ".join(f"{k}->{v}" for k, v in ns_map.items()) or "none"
    print(f"loaded {args.fixture}: {len(items)} items in {time.monotonic() - started:.1f}s; "
          f"created {s['created']}, replaced {s['replaced']}, skipped {s['skipped']} existing cluster-scoped; "
          f"status written for {s['status']}; events {s['events']}; deleted {deleted}; namespaces {mapping}")
    for name, src in quota.items():
        print(f"quota {name}: status from {src}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
