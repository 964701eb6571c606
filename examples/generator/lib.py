"""Shared builders for kubectl-style fixture objects (deterministic)."""
import copy
import datetime as dt
import hashlib
import json
import uuid

import yaml

ALPH = "bcdfghjklmnpqrstvwxz2456789"  # k8s SafeEncodeString alphabet


def sha(s):
    return hashlib.sha256(s.encode()).digest()


def hexs(s, n=64):
    return hashlib.sha256(s.encode()).hexdigest()[:n]


def safe(s, n):
    return "".join(ALPH[b % 27] for b in sha(s)[:n])


def T(s):
    return dt.datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.timezone.utc)


def ts(t):
    if isinstance(t, str):
        return t
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def add_s(t, secs):
    return ts(T(t) + dt.timedelta(seconds=secs))


def cpu_m(q):
    q = str(q)
    return int(q[:-1]) if q.endswith("m") else int(float(q) * 1000)


def mem_mi(q):
    q = str(q)
    if q.endswith("Mi"):
        return int(q[:-2])
    if q.endswith("Gi"):
        return int(q[:-2]) * 1024
    raise ValueError(q)


def fmt_cpu(m):
    return str(m // 1000) if m % 1000 == 0 else f"{m}m"


def fmt_mem(mi):
    return f"{mi // 1024}Gi" if mi % 1024 == 0 else f"{mi}Mi"


class World:
    def __init__(self, seed, t0, node, host_ip, pod_cidr, svc_cidr, runtime="containerd"):
        self.seed = seed
        self.t0 = T(t0)
        self.items = []
        self.node = node
        self.host_ip = host_ip
        self.pod_cidr = pod_cidr
        self.svc_cidr = svc_cidr
        self.runtime = runtime
        self.by_key = {}

    # ---- identities -------------------------------------------------
    def uid(self, key):
        return str(uuid.UUID(bytes=sha(self.seed + "|uid|" + key)[:16], version=4))

    def rv(self, mtime, key):
        secs = int((T(mtime) - self.t0).total_seconds())
        return 1_000_000 + secs * 100 + int.from_bytes(sha(self.seed + key)[:2], "big") % 100

    def pod_ip(self, key):
        return f"{self.pod_cidr}.{10 + sha(self.seed + 'ip' + key)[0] % 240}"

    def cluster_ip(self, key):
        d = sha(self.seed + "svc" + key)
        return f"{self.svc_cidr}.{d[0] % 250 + 1}.{d[1] % 250 + 2}"

    # ---- metadata ---------------------------------------------------
    def meta(self, kind, name, ns, created, labels=None, annotations=None, owners=None,
             finalizers=None, generation=None, uid_tag="", generate_name=None, extra=None):
        m = {"name": name, "creationTimestamp": ts(created)}
        if ns:
            m["namespace"] = ns
        m["uid"] = self.uid(f"{kind}/{ns}/{name}{uid_tag}")
        if labels:
            m["labels"] = dict(labels)
        if annotations:
            m["annotations"] = dict(annotations)
        if owners:
            m["ownerReferences"] = owners
        if finalizers:
            m["finalizers"] = list(finalizers)
        if generation is not None:
            m["generation"] = generation
        if generate_name:
            m["generateName"] = generate_name
        if extra:
            m.update(extra)
        return m

    def add(self, obj, mtime):
        key = f"{obj['kind']}/{obj['metadata'].get('namespace','')}/{obj['metadata']['name']}"
        rv = self.rv(mtime, key + obj["metadata"]["uid"])
        used = getattr(self, "_used_rv", set())
        while rv in used:
            rv += 1
        used.add(rv)
        self._used_rv = used
        obj["metadata"]["resourceVersion"] = str(rv)
        self.items.append(obj)
        self.by_key[key] = obj
        self.mtimes = getattr(self, "mtimes", {})
        self.mtimes[obj["metadata"]["uid"]] = ts(mtime)
        return obj

    def get(self, kind, ns, name):
        return self.by_key[f"{kind}/{ns or ''}/{name}"]

    # ---- events -----------------------------------------------------
    def event(self, obj, reason, message, etype, count, first, last, component,
              field_path=None, host=None, reporting_instance=None, tag=""):
        md = obj["metadata"]
        ns = md.get("namespace", "default")
        nanos = int(T(first).timestamp()) * 10**9 + int.from_bytes(
            sha(self.seed + reason + md["name"] + tag)[:4], "big") % 10**9
        involved = {
            "apiVersion": obj["apiVersion"],
            "kind": obj["kind"],
            "name": md["name"],
            # an early resourceVersion of the object (the one it was created with): stable across snapshots
            "resourceVersion": str(self.rv(md["creationTimestamp"],
                                           f"{obj['kind']}/{md.get('namespace', '')}/{md['name']}" + md["uid"])),
            "uid": md["uid"],
        }
        if "namespace" in md:
            involved["namespace"] = md["namespace"]
        if field_path:
            involved["fieldPath"] = field_path
        name = f"{md['name']}.{nanos:x}"
        src = {"component": component}
        if host:
            src["host"] = host
        ev = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {
                "name": name,
                "namespace": ns,
                "creationTimestamp": ts(first),
                "uid": self.uid(f"Event/{ns}/{name}"),
            },
            "involvedObject": involved,
            "reason": reason,
            "message": message,
            "type": etype,
            "count": count,
            "firstTimestamp": ts(first),
            "lastTimestamp": ts(last),
            "eventTime": None,
            "source": src,
            "reportingComponent": component,
            "reportingInstance": reporting_instance if reporting_instance is not None else (host or ""),
        }
        self.add(ev, last)
        return ev

    def kubelet_event(self, pod, reason, message, etype, count, first, last, container=None, init=False):
        fp = None
        if container:
            fp = f"spec.{'initContainers' if init else 'containers'}{{{container}}}"
        return self.event(pod, reason, message, etype, count, first, last, "kubelet",
                          field_path=fp, host=self.node, tag=(container or ""))

    # ---- workloads --------------------------------------------------
    def owner(self, obj, controller=True):
        return {
            "apiVersion": obj["apiVersion"],
            "kind": obj["kind"],
            "name": obj["metadata"]["name"],
            "uid": obj["metadata"]["uid"],
            "controller": controller,
            "blockOwnerDeletion": True,
        }


def container(name, image, req, lim, command=None, args=None, env=None, ports=None,
              probe=None, mounts=None, secctx=None, env_from=None, term_policy="File",
              liveness=None):
    c = {"name": name, "image": image, "imagePullPolicy": "IfNotPresent"}
    if command:
        c["command"] = command
    if args:
        c["args"] = args
    if env:
        c["env"] = env
    if env_from:
        c["envFrom"] = env_from
    if ports:
        c["ports"] = ports
    if probe:
        c["readinessProbe"] = probe
    if liveness:
        c["livenessProbe"] = liveness
    c["resources"] = {
        "requests": {"cpu": req[0], "memory": req[1]},
        "limits": {"cpu": lim[0], "memory": lim[1]},
    }
    if secctx:
        c["securityContext"] = secctx
    c["terminationMessagePath"] = "/dev/termination-log"
    c["terminationMessagePolicy"] = term_policy
    if mounts:
        c["volumeMounts"] = mounts
    return c


def http_probe(path, port="http", period=10):
    return {"httpGet": {"path": path, "port": port, "scheme": "HTTP"}, "periodSeconds": period,
            "timeoutSeconds": 1, "successThreshold": 1, "failureThreshold": 3}


def secret_env(name, secret, key):
    return {"name": name, "valueFrom": {"secretKeyRef": {"name": secret, "key": key}}}


def val_env(name, value):
    return {"name": name, "value": value}


HARDENED = {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
            "runAsNonRoot": True, "capabilities": {"drop": ["ALL"]}}


def pod_spec(containers, sa="default", init=None, volumes=None, restart="Always", grace=30,
             security=None, extra=None):
    s = {"containers": containers}
    if init:
        s["initContainers"] = init
    s.update({
        "dnsPolicy": "ClusterFirst",
        "restartPolicy": restart,
        "schedulerName": "default-scheduler",
        "securityContext": security or {},
        "serviceAccountName": sa,
        "terminationGracePeriodSeconds": grace,
    })
    if sa == "default":
        # kubectl shows the SA only when set; keep it explicit for readability
        pass
    if volumes:
        s["volumes"] = volumes
    if extra:
        s.update(extra)
    return s


def template(labels, spec, annotations=None):
    md = {"creationTimestamp": None, "labels": dict(labels)}
    if annotations:
        md["annotations"] = dict(annotations)
    return {"metadata": md, "spec": copy.deepcopy(spec)}


def quota_request(spec):
    """Effective pod request as ResourceQuota counts it (PodRequests in
    k8s.io/component-helpers/resource, used by the quota's pod evaluator): the sum of
    the containers plus every native sidecar (init container with restartPolicy
    Always), or the largest init container plus the sidecars started before it,
    whichever is larger. Without sidecars: max(sum(containers), max(init))."""
    cpu = sum(cpu_m(c["resources"]["requests"]["cpu"]) for c in spec["containers"])
    mem = sum(mem_mi(c["resources"]["requests"]["memory"]) for c in spec["containers"])
    side_cpu = side_mem = init_cpu = init_mem = 0
    for c in spec.get("initContainers", []):
        c_cpu, c_mem = cpu_m(c["resources"]["requests"]["cpu"]), mem_mi(c["resources"]["requests"]["memory"])
        if c.get("restartPolicy") == "Always":
            cpu, mem = cpu + c_cpu, mem + c_mem
            side_cpu, side_mem = side_cpu + c_cpu, side_mem + c_mem
            c_cpu, c_mem = side_cpu, side_mem
        else:
            c_cpu, c_mem = c_cpu + side_cpu, c_mem + side_mem
        init_cpu, init_mem = max(init_cpu, c_cpu), max(init_mem, c_mem)
    return max(cpu, init_cpu), max(mem, init_mem)


def image_ref(image):
    repo, _, tag = image.rpartition(":")
    if "/" not in repo:
        repo = "docker.io/library/" + repo
    elif repo.count("/") == 1 and "." not in repo.split("/")[0]:
        repo = "docker.io/" + repo
    return f"{repo}:{tag}", f"{repo}@sha256:{hexs('img' + image)}"


def last_applied(obj):
    """kubectl.kubernetes.io/last-applied-configuration value for a minimal applied manifest."""
    return json.dumps(obj, separators=(",", ":"), sort_keys=True) + "\n"


# ---- YAML output ----------------------------------------------------------
class Dumper(yaml.SafeDumper):
    pass


def _str(dumper, data):
    if "\n" in data:
        return dumper.represent_scalar("tag:yaml.org,2002:str", data, style="|")
    # like go-yaml (kubectl): a string that would read back as another type is double-quoted
    if dumper.resolve(yaml.ScalarNode, data, (True, False)) != "tag:yaml.org,2002:str":
        return dumper.represent_scalar("tag:yaml.org,2002:str", data, style='"')
    return dumper.represent_scalar("tag:yaml.org,2002:str", data)


Dumper.add_representer(str, _str)


def dump_list(items, path, header=None):
    doc = {"apiVersion": "v1", "kind": "List", "items": items, "metadata": {"resourceVersion": ""}}
    text = yaml.dump(doc, Dumper=Dumper, sort_keys=True, default_flow_style=False,
                     width=4096, allow_unicode=True)
    with open(path, "w") as f:
        if header:
            f.write(header)
        f.write(text)
