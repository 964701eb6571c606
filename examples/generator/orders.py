"""The orders namespace on EKS (Kubernetes 1.29, containerd, three nodes), managed by
Helm 3: half an hour after `helm upgrade orders` (revision 12) every common failure
class is present once, each beside a look-alike that is healthy. docs/fixtures.md has
the table of faults and look-alikes; no profile, so every fault must be found
generically.

Message formats follow the component that writes them (cited where they are built).
Events follow the apiserver's default --event-ttl of 1h: nothing older than 13:32
survives, so e.g. the evicted pod keeps its status but lost its Evicted event.
"""
import base64
import copy

from bleater import configmap, kube_root_ca, quota_msg, sa
from k8s import cond, cron_suffix, cstatus, dcond, deployment, job, make_pod, replicaset, rs_status, service, sport, terminated
from lib import (World, add_s, container, fmt_cpu, fmt_mem, hexs, http_probe, pod_spec, quota_request,
                 safe, secret_env, sha, template, ts, val_env)

NS = "orders"
NS_CREATED = "2024-11-04T10:12:33Z"
PREV = "2025-06-10T09:14:20Z"     # helm upgrade, revision 11 (the last good one)
UPGRADE = "2025-06-12T14:02:05Z"  # helm upgrade, revision 12 (the incident)
DRAIN = "2025-06-12T13:51:10Z"    # node group update: ip-10-0-3-77 drained and replaced
NOW = "2025-06-12T14:32:00Z"      # capture time: the orders-worker BackOff event's lastTimestamp
REG = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/orders"
CHART = "orders-3.8.0"
APP_VERSION = "2025.06.2"
HELM_ANN = {"meta.helm.sh/release-name": "orders", "meta.helm.sh/release-namespace": NS}
# name -> (host IP, zone). Pod IPs come from the node's subnet (Amazon VPC CNI).
NODES = {
    "ip-10-0-1-23.eu-west-1.compute.internal": ("10.0.1.23", "eu-west-1a"),
    "ip-10-0-2-87.eu-west-1.compute.internal": ("10.0.2.87", "eu-west-1b"),
    "ip-10-0-3-141.eu-west-1.compute.internal": ("10.0.3.141", "eu-west-1c"),
}
N1, N2, N3 = list(NODES)
SCHED_INSTANCE = "default-scheduler-ip-172-16-58-201.eu-west-1.compute.internal"


def helm_labels(name):
    """What Helm 3 charts put on every object of the release (`helm create`'s
    `<chart>.labels`); pod templates carry only the selector labels, so an upgrade that
    changes the chart version does not roll every Deployment."""
    return {"app.kubernetes.io/name": name, "app.kubernetes.io/instance": "orders",
            "app.kubernetes.io/version": APP_VERSION, "app.kubernetes.io/managed-by": "Helm",
            "helm.sh/chart": CHART}


def sel(name):
    return {"app.kubernetes.io/name": name, "app.kubernetes.io/instance": "orders"}


def image(name, tag):
    return f"{REG}/{name}:{tag}"


class Orders:
    def __init__(self):
        self.w = World("orders-eks", "2024-11-01T00:00:00Z", N1, "10.0.1.23", "10.0.1", "172.20")
        self.nonterminal = []
        self.ips = set()

    # ---- pods -------------------------------------------------------------------
    def ip(self, key, node):
        subnet = NODES[node][0].split(".")[2]
        n = 20 + sha("ip" + key)[0] % 220
        while f"10.0.{subnet}.{n}" in self.ips:
            n += 1
        self.ips.add(f"10.0.{subnet}.{n}")
        return f"10.0.{subnet}.{n}"

    def status(self, key, node, phase, conditions, containers, started, sandbox=True, init=None, extra=None):
        host = NODES[node][0]
        st = {"conditions": conditions, "containerStatuses": containers, "hostIP": host, "hostIPs": [{"ip": host}],
              "phase": phase, "startTime": ts(started)}
        if sandbox:
            ip = self.ip(key, node)
            st.update({"podIP": ip, "podIPs": [{"ip": ip}]})
        if init:
            st["initContainerStatuses"] = init
        if extra:
            st.update(extra)
        return st

    def pod(self, name, created, tmpl, owner, status, node, mtime, gen_name=None):
        w = self.w
        extra = {"nodeName": node} if node else None
        p = make_pod(w, name, NS, created, tmpl, owner, status, gen_name=gen_name, node=False, extra_spec=extra)
        w.add(p, mtime)
        if status["phase"] not in ("Succeeded", "Failed"):
            self.nonterminal.append(p)
        return p

    def kubelet(self, pod, reason, message, etype, count, first, last, c=None, init=False):
        fp = f"spec.{'initContainers' if init else 'containers'}{{{c}}}" if c else None
        node = pod["spec"]["nodeName"]
        return self.w.event(pod, reason, message, etype, count, first, last, "kubelet", field_path=fp, host=node,
                            tag=(c or "") + message[:12])

    def scheduler(self, pod, reason, message, etype, first, series=None, tag=""):
        """kube-scheduler records through events.k8s.io/v1 (EventRecorder in
        k8s.io/client-go/tools/events): read back through core/v1 such an event has
        `eventTime` (micro-seconds), `series` once repeated, `action`, the reporting
        fields, and no firstTimestamp/lastTimestamp/count/source."""
        ev = self.w.event(pod, reason, message, etype, 1, first, series[1] if series else first, "default-scheduler",
                          reporting_instance=SCHED_INSTANCE, tag=tag)
        micro = int.from_bytes(sha(ev["metadata"]["name"])[:3], "big") % 1_000_000
        ev.update({"eventTime": f"{first[:-1]}.{micro:06d}Z", "firstTimestamp": None, "lastTimestamp": None,
                   "source": {}, "action": "Scheduling" if reason == "FailedScheduling" else "Binding"})
        ev.pop("count")
        if series:
            ev["series"] = {"count": series[0], "lastObservedTime": f"{series[1][:-1]}.{(micro * 7) % 1_000_000:06d}Z"}
        return ev

    # ---- deployments ------------------------------------------------------------
    def deployment(self, name, created, tmpl, replicas, revision, generation, strategy=None):
        labels = helm_labels(name)
        return deployment(self.w, name, NS, created, labels, sel(name), tmpl, replicas=replicas,
                          annotations=dict(HELM_ANN), generation=generation, revision=revision, strategy=strategy)

    def rs(self, dep, tmpl, created, revision, replicas, status):
        """The ReplicaSet of one revision: `tmpl` is that revision's pod template."""
        view = copy.deepcopy(dep)
        view["spec"]["template"] = copy.deepcopy(tmpl)
        h = safe(dep["metadata"]["name"] + hexs(repr(tmpl["spec"]), 16), 10)
        r = replicaset(self.w, view, h, created, revision, replicas, status)
        return r

    def endpoint_slice(self, svc, pods, port, created, mtime, ready=None):
        """As the endpointslice controller writes it (pkg/controller/endpointslice,
        reconciler.go + utils.go): owned by the Service, the Service's labels copied plus
        `kubernetes.io/service-name` and `endpointslice.kubernetes.io/managed-by`; one
        endpoint per pod that has an IP, `ready`/`serving` from the pod's Ready
        condition; a Service that selects nothing gets a placeholder slice with
        `endpoints: null`."""
        w = self.w
        name = svc["metadata"]["name"]
        labels = dict(svc["metadata"].get("labels") or {})
        labels.update({"endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io",
                       "kubernetes.io/service-name": name})
        eps = []
        for p in sorted(pods, key=lambda p: p["metadata"]["name"]):
            st = p["status"]
            if not st.get("podIP") or st["phase"] in ("Succeeded", "Failed"):
                continue
            r = any(c["type"] == "Ready" and c["status"] == "True" for c in st["conditions"])
            eps.append({"addresses": [st["podIP"]], "conditions": {"ready": r, "serving": r, "terminating": False},
                        "nodeName": p["spec"]["nodeName"],
                        "targetRef": {"kind": "Pod", "name": p["metadata"]["name"], "namespace": NS,
                                      "uid": p["metadata"]["uid"]},
                        "zone": NODES[p["spec"]["nodeName"]][1]})
        s = {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice", "addressType": "IPv4",
             "metadata": w.meta("EndpointSlice", f"{name}-{safe(name + 'eps', 5)}", NS, created, labels=labels,
                                annotations={"endpoints.kubernetes.io/last-change-trigger-time": ts(mtime)},
                                owners=[w.owner(svc)], generation=1 + len(eps), generate_name=f"{name}-"),
             "endpoints": eps or None,
             "ports": [{"name": port[0], "port": port[1], "protocol": "TCP"}] if port else None}
        return w.add(s, mtime)


def ready_conditions(start, ready, initialized=None):
    return [cond("PodReadyToStartContainers", "True", add_s(start, 2)),
            cond("Initialized", "True", initialized or start),
            cond("Ready", "True", ready), cond("ContainersReady", "True", ready),
            cond("PodScheduled", "True", start)]


def unready_conditions(start, since, names, sandbox=True, initialized=None):
    # kubelet's status_manager / pkg/kubelet/status/generate.go: ContainersNotReady
    msg = f"containers with unready status: [{' '.join(names)}]"
    return [cond("PodReadyToStartContainers", "True" if sandbox else "False", add_s(start, 2) if sandbox else start),
            cond("Initialized", "True", initialized or start),
            cond("Ready", "False", since, "ContainersNotReady", msg),
            cond("ContainersReady", "False", since, "ContainersNotReady", msg),
            cond("PodScheduled", "True", start)]


def build():
    o = Orders()
    w = o.w
    E = w.event

    w.add({"apiVersion": "v1", "kind": "Namespace",
           "metadata": w.meta("Namespace", NS, None, NS_CREATED,
                              labels={"kubernetes.io/metadata.name": NS, "team": "checkout-platform"}),
           "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}}, NS_CREATED)
    ca = kube_root_ca(w, NS, add_s(NS_CREATED, 1))
    # this cluster's own (fake) CA, not bleater's
    ca["data"]["ca.crt"] = ("-----BEGIN CERTIFICATE-----\n" + "\n".join(
        base64.b64encode(bytes.fromhex(hexs("orders-eks-ca" + str(i), 64) * 3)[:48]).decode() for i in range(8))
        + "\n-----END CERTIFICATE-----\n")
    sa(w, "default", NS, add_s(NS_CREATED, 1))
    sa(w, "orders", NS, "2024-11-04T10:14:02Z", labels=helm_labels("orders"), annotations=dict(HELM_ANN))
    for name, data in [("orders-db", {"url": "cG9zdGdyZXM6Ly9vcmRlcnNAb3JkZXJzLWRiLmNsdXN0ZXItY3gxMi5ldS13ZXN0LTEucmRzLmFtYXpvbmF3cy5jb206NTQzMi9vcmRlcnM="}),
                       ("orders-worker-kafka", {"username": "b3JkZXJzLXdvcmtlcg==", "password": "VGs0cVp3OG5WeDJtUjdjTA=="})]:
        w.add({"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
               "metadata": w.meta("Secret", name, NS, "2024-11-04T10:14:03Z", labels=helm_labels(name),
                                  annotations=dict(HELM_ANN)), "data": data}, "2025-06-12T13:40:12Z")

    # ---- config maps ------------------------------------------------------------------------
    configmap(w, "orders-checkout-config", NS, UPGRADE,
              {"CHECKOUT_PAYMENT_PROVIDER": "adyen", "CHECKOUT_CURRENCY": "EUR", "LOG_LEVEL": "info"},
              labels=helm_labels("orders-checkout"), annotations=dict(HELM_ANN))
    configmap(w, "orders-web-config", NS, "2024-11-04T10:14:05Z",
              {"ORDERS_API_URL": "http://orders-api", "FEATURE_NEW_BASKET": "true"},
              mtime=PREV, labels=helm_labels("orders-web"), annotations=dict(HELM_ANN))
    # fault: stuck in deletion 20 minutes; its controller (route-drainer) is gone
    configmap(w, "orders-legacy-routes", NS, "2025-01-20T08:30:00Z",
              {"routes.yaml": "- path: /v1/orders\n  backend: orders-api\n"},
              mtime="2025-06-12T14:12:00Z", labels={"app.kubernetes.io/name": "orders-legacy-routes"},
              extra_md={"deletionTimestamp": "2025-06-12T14:12:00Z", "deletionGracePeriodSeconds": 0,
                        "finalizers": ["orders.example.com/route-drain"]})
    # look-alike: deleted 30 s before the capture, its finalizer not yet released
    configmap(w, "orders-canary-flags", NS, "2025-06-12T13:00:00Z",
              {"canary-percent": "5"},
              mtime="2025-06-12T14:31:30Z", labels={"app.kubernetes.io/name": "orders-canary-flags"},
              extra_md={"deletionTimestamp": "2025-06-12T14:31:30Z", "deletionGracePeriodSeconds": 0,
                        "finalizers": ["orders.example.com/route-drain"]})

    probe = http_probe("/healthz/ready")
    http = [{"containerPort": 8080, "name": "http", "protocol": "TCP"}]
    pods_of = {}

    def svc(name, created=None, selector=None, port=("http", 80, "http")):
        s = service(w, name, NS, created or "2024-11-04T10:14:10Z", helm_labels(name),
                    selector if selector is not None else sel(name), [sport(*port)], annotations=dict(HELM_ANN))
        if not selector and selector is not None:
            s["spec"].pop("selector")
        return w.add(s, created or "2024-11-04T10:14:10Z")

    # ======================= orders-api: revision 4 has a tag that was never pushed ============
    # Faults: image pull (pod of revision 4), rollout (revision 4 ProgressDeadlineExceeded while
    # revision 3 serves). Look-alike: old pod with restarts from two days ago, Running and Ready.
    def api_tmpl(tag):
        c = container("orders-api", image("orders-api", tag), ("250m", "512Mi"), ("1", "512Mi"), ports=http,
                      probe=probe, env=[secret_env("DATABASE_URL", "orders-db", "url")])
        return template(sel("orders-api"), pod_spec([c], sa="orders"))
    api_old_t, api_new_t = api_tmpl("1.14.2"), api_tmpl("1.15.0-rc1")
    api = o.deployment("orders-api", "2024-11-04T10:14:20Z", api_new_t, 2, 4, 14)
    api_old = o.rs(api, api_old_t, "2025-05-28T16:40:00Z", 3, 2, rs_status(2, 2, 3))
    api_old["metadata"]["generation"] = 3
    api_new = o.rs(api, api_new_t, add_s(UPGRADE, 1), 4, 1, rs_status(1, 0, 1))
    api_new["status"].update({"availableReplicas": 0, "readyReplicas": 0})
    w.add(api_old, "2025-05-28T16:41:10Z")
    w.add(api_new, add_s(UPGRADE, 2))
    deadline_api = add_s(UPGRADE, 603)
    api["status"] = {"availableReplicas": 2, "observedGeneration": 14, "readyReplicas": 2, "replicas": 3,
                     "unavailableReplicas": 1, "updatedReplicas": 1, "conditions": [
                         dcond("Available", "True", "2025-05-28T16:41:10Z", "2025-05-28T16:41:10Z",
                               "MinimumReplicasAvailable", "Deployment has minimum availability."),
                         # pkg/controller/deployment/progress.go + util: TimedOutReason
                         dcond("Progressing", "False", deadline_api, deadline_api, "ProgressDeadlineExceeded",
                               f'ReplicaSet "{api_new["metadata"]["name"]}" has timed out progressing.')]}
    w.add(api, deadline_api)
    pods_of["orders-api"] = []
    for i, (node, created, restarts) in enumerate([(N1, "2025-05-28T16:40:01Z", 1), (N2, "2025-05-28T16:40:31Z", 0)]):
        n = f"{api_old['metadata']['name']}-{safe('apiold' + str(i), 5)}"
        c = api_old_t["spec"]["containers"][0]
        last = None
        run_from = add_s(created, 4)
        if restarts:
            # old OOM on 2025-06-10 (a bad query), Running and Ready since: a look-alike
            last = terminated(w, n, 137, "OOMKilled", "2025-05-28T16:40:05Z", "2025-06-10T22:17:43Z")
            run_from = "2025-06-10T22:17:44Z"
        st = o.status(n, node, "Running", ready_conditions(created, "2025-06-10T22:17:55Z" if restarts else add_s(created, 18)),
                      [cstatus(w, n, c, {"running": {"startedAt": run_from}}, True, True, restarts, last)], created)
        pods_of["orders-api"].append(o.pod(n, created, api_old["spec"]["template"], api_old, st, node,
                                           "2025-06-10T22:17:55Z" if restarts else add_s(created, 18),
                                           gen_name=f"{api_old['metadata']['name']}-"))
    api_pull = f"{api_new['metadata']['name']}-{safe('apinew', 5)}"
    c = api_new_t["spec"]["containers"][0]
    created = add_s(UPGRADE, 2)
    # pkg/kubelet/images/image_manager.go: the waiting message while backing off
    st = o.status(api_pull, N2, "Pending", unready_conditions(created, created, ["orders-api"]),
                  [cstatus(w, api_pull, c, {"waiting": {"reason": "ImagePullBackOff",
                                                        "message": f'Back-off pulling image "{c["image"]}"'}},
                           False, False, 0, created=False)], created)
    api_pull_pod = o.pod(api_pull, created, api_new["spec"]["template"], api_new, st, N2, "2025-06-12T14:31:21Z",
                         gen_name=f"{api_new['metadata']['name']}-")
    pods_of["orders-api"].append(api_pull_pod)
    img = c["image"]
    o.scheduler(api_pull_pod, "Scheduled", f"Successfully assigned {NS}/{api_pull} to {N2}", "Normal", created)
    o.kubelet(api_pull_pod, "Pulling", f'Pulling image "{img}"', "Normal", 7, add_s(created, 1), "2025-06-12T14:28:14Z", "orders-api")
    # image_manager.go "Failed to pull image %q: %v" with containerd's NotFound from the CRI
    o.kubelet(api_pull_pod, "Failed",
              f'Failed to pull image "{img}": rpc error: code = NotFound desc = failed to pull and unpack image '
              f'"{img}": failed to resolve reference "{img}": {img}: not found',
              "Warning", 7, add_s(created, 2), "2025-06-12T14:28:15Z", "orders-api")
    # kuberuntime_container.go startContainer: "Error: %v" with the sync error (ErrImagePull)
    o.kubelet(api_pull_pod, "Failed", "Error: ErrImagePull", "Warning", 7, add_s(created, 2), "2025-06-12T14:28:15Z", "orders-api")
    o.kubelet(api_pull_pod, "BackOff", f'Back-off pulling image "{img}"', "Normal", 131, add_s(created, 3), "2025-06-12T14:31:21Z", "orders-api")
    o.kubelet(api_pull_pod, "Failed", "Error: ImagePullBackOff", "Warning", 131, add_s(created, 3), "2025-06-12T14:31:21Z", "orders-api")
    E(api, "ScalingReplicaSet", f"Scaled up replica set {api_new['metadata']['name']} to 1", "Normal", 1,
      add_s(UPGRADE, 1), add_s(UPGRADE, 1), "deployment-controller")
    E(api_new, "SuccessfulCreate", f"Created pod: {api_pull}", "Normal", 1, created, created, "replicaset-controller")
    api_svc = svc("orders-api")
    o.endpoint_slice(api_svc, pods_of["orders-api"], ("http", 8080), "2024-11-04T10:14:10Z", add_s(created, 3))

    # ======================= orders-worker: crash loop, exit 1 with a termination message =========
    wk_c = container("orders-worker", image("orders-worker", "3.2.0"), ("200m", "256Mi"), ("500m", "256Mi"),
                     env=[val_env("KAFKA_BROKERS", "b-1.orders-msk.k3x9qz.c4.kafka.eu-west-1.amazonaws.com:9096"),
                          secret_env("KAFKA_USERNAME", "orders-worker-kafka", "username"),
                          secret_env("KAFKA_PASSWORD", "orders-worker-kafka", "password")])
    wk_t = template(sel("orders-worker"), pod_spec([wk_c], sa="orders"))
    wk = o.deployment("orders-worker", "2024-11-04T10:14:21Z", wk_t, 1, 7, 7)
    wk_rs = o.rs(wk, wk_t, "2025-04-02T11:20:00Z", 7, 1, rs_status(1, 0, 1))
    wk_rs["status"].update({"availableReplicas": 0, "readyReplicas": 0})
    w.add(wk_rs, add_s(DRAIN, 2))
    wk["status"] = {"observedGeneration": 7, "replicas": 1, "unavailableReplicas": 1, "updatedReplicas": 1, "conditions": [
        dcond("Progressing", "True", "2025-04-02T11:20:31Z", "2025-04-02T11:20:31Z", "NewReplicaSetAvailable",
              f'ReplicaSet "{wk_rs["metadata"]["name"]}" has successfully progressed.'),
        dcond("Available", "False", DRAIN, DRAIN, "MinimumReplicasUnavailable", "Deployment does not have minimum availability.")]}
    w.add(wk, DRAIN)
    wn = f"{wk_rs['metadata']['name']}-{safe('wk', 5)}"
    created = add_s(DRAIN, 2)
    wk_uid = w.uid(f"Pod/{NS}/{wn}")
    last = terminated(w, wn, 1, "Error", "2025-06-12T14:31:44Z", "2025-06-12T14:31:46Z", 12)
    # terminationMessagePolicy File: what the process wrote to /dev/termination-log
    last["terminated"]["message"] = ('startup check failed: kafka: SASL authentication failed for user "orders-worker" on '
                                     'b-1.orders-msk.k3x9qz.c4.kafka.eu-west-1.amazonaws.com:9096 '
                                     '(credentials from secret orders-worker-kafka)\n')
    st = o.status(wn, N3, "Running", unready_conditions(created, add_s(created, 4), ["orders-worker"]),
                  [cstatus(w, wn, wk_c, {"waiting": {"reason": "CrashLoopBackOff",
                                                     # kuberuntime_manager.go doBackOff
                                                     "message": f"back-off 5m0s restarting failed container=orders-worker pod={wn}_{NS}({wk_uid})"}},
                           False, False, 12, last)], created)
    wk_pod = o.pod(wn, created, wk_rs["spec"]["template"], wk_rs, st, N3, "2025-06-12T14:31:47Z", gen_name=f"{wk_rs['metadata']['name']}-")
    o.kubelet(wk_pod, "Pulled", f'Container image "{wk_c["image"]}" already present on machine', "Normal", 13,
              add_s(created, 3), "2025-06-12T14:31:44Z", "orders-worker")
    o.kubelet(wk_pod, "Created", "Created container orders-worker", "Normal", 13, add_s(created, 3), "2025-06-12T14:31:44Z", "orders-worker")
    o.kubelet(wk_pod, "Started", "Started container orders-worker", "Normal", 13, add_s(created, 3), "2025-06-12T14:31:44Z", "orders-worker")
    o.kubelet(wk_pod, "BackOff", f"Back-off restarting failed container orders-worker in pod {wn}_{NS}({wk_uid})",
              "Warning", 187, add_s(created, 8), NOW, "orders-worker")

    # ======================= orders-reporting: OOMKilled crash loop under a 256Mi limit ===========
    rp_c = container("orders-reporting", image("orders-reporting", "2.4.1"), ("100m", "256Mi"), ("500m", "256Mi"),
                     ports=http, probe=probe)
    rp_t = template(sel("orders-reporting"), pod_spec([rp_c], sa="orders"))
    rp = o.deployment("orders-reporting", "2024-11-04T10:14:22Z", rp_t, 1, 5, 5)
    rp_rs = o.rs(rp, rp_t, PREV, 5, 1, rs_status(1, 0, 1))
    rp_rs["status"].update({"availableReplicas": 0, "readyReplicas": 0})
    w.add(rp_rs, "2025-06-12T14:30:13Z")
    rp["status"] = {"observedGeneration": 5, "replicas": 1, "unavailableReplicas": 1, "updatedReplicas": 1, "conditions": [
        dcond("Progressing", "True", add_s(PREV, 25), add_s(PREV, 25), "NewReplicaSetAvailable",
              f'ReplicaSet "{rp_rs["metadata"]["name"]}" has successfully progressed.'),
        dcond("Available", "False", "2025-06-12T14:30:13Z", "2025-06-12T14:30:13Z", "MinimumReplicasUnavailable",
              "Deployment does not have minimum availability.")]}
    w.add(rp, "2025-06-12T14:30:13Z")
    rn = f"{rp_rs['metadata']['name']}-{safe('rp', 5)}"
    created = add_s(PREV, 1)
    rp_uid = w.uid(f"Pod/{NS}/{rn}")
    last = terminated(w, rn, 137, "OOMKilled", "2025-06-12T14:29:05Z", "2025-06-12T14:30:13Z", 8)
    st = o.status(rn, N1, "Running", unready_conditions(created, "2025-06-12T14:30:13Z", ["orders-reporting"]),
                  [cstatus(w, rn, rp_c, {"waiting": {"reason": "CrashLoopBackOff",
                                                     "message": f"back-off 5m0s restarting failed container=orders-reporting pod={rn}_{NS}({rp_uid})"}},
                           False, False, 8, last)], created)
    rp_pod = o.pod(rn, created, rp_rs["spec"]["template"], rp_rs, st, N1, "2025-06-12T14:30:14Z", gen_name=f"{rp_rs['metadata']['name']}-")
    o.kubelet(rp_pod, "Pulled", f'Container image "{rp_c["image"]}" already present on machine', "Normal", 8,
              "2025-06-12T13:48:52Z", "2025-06-12T14:29:05Z", "orders-reporting")
    o.kubelet(rp_pod, "Created", "Created container orders-reporting", "Normal", 8, "2025-06-12T13:48:52Z", "2025-06-12T14:29:05Z", "orders-reporting")
    o.kubelet(rp_pod, "Started", "Started container orders-reporting", "Normal", 8, "2025-06-12T13:48:52Z", "2025-06-12T14:29:05Z", "orders-reporting")
    o.kubelet(rp_pod, "BackOff", f"Back-off restarting failed container orders-reporting in pod {rn}_{NS}({rp_uid})",
              "Warning", 96, "2025-06-12T13:50:02Z", "2025-06-12T14:31:52Z", "orders-reporting")
    rp_svc = svc("orders-reporting")
    o.endpoint_slice(rp_svc, [rp_pod], ("http", 8080), "2024-11-04T10:14:10Z", "2025-06-12T14:30:13Z")

    # ======================= orders-checkout: new in revision 12, its ConfigMap was never rendered ===
    # The chain: ConfigMap orders-config missing -> pods CreateContainerConfigError -> Deployment
    # ProgressDeadlineExceeded -> Service orders-checkout without a ready endpoint.
    ck_c = container("orders-checkout", image("orders-checkout", "1.0.0"), ("250m", "384Mi"), ("1", "384Mi"),
                     ports=http, probe=probe, env_from=[{"configMapRef": {"name": "orders-config"}}],
                     env=[secret_env("DATABASE_URL", "orders-db", "url")])
    ck_t = template(sel("orders-checkout"), pod_spec([ck_c], sa="orders"))
    ck = o.deployment("orders-checkout", UPGRADE, ck_t, 2, 1, 1)
    ck_rs = o.rs(ck, ck_t, add_s(UPGRADE, 1), 1, 2, rs_status(2, 0, 1))
    ck_rs["status"].update({"availableReplicas": 0, "readyReplicas": 0})
    ck_rs["metadata"]["generation"] = 1
    w.add(ck_rs, add_s(UPGRADE, 3))
    deadline_ck = add_s(UPGRADE, 604)
    ck["status"] = {"observedGeneration": 1, "replicas": 2, "unavailableReplicas": 2, "updatedReplicas": 2, "conditions": [
        dcond("Available", "False", add_s(UPGRADE, 1), add_s(UPGRADE, 1), "MinimumReplicasUnavailable",
              "Deployment does not have minimum availability."),
        dcond("Progressing", "False", deadline_ck, deadline_ck, "ProgressDeadlineExceeded",
              f'ReplicaSet "{ck_rs["metadata"]["name"]}" has timed out progressing.')]}
    w.add(ck, deadline_ck)
    pods_of["orders-checkout"] = []
    for i, node in enumerate([N1, N2]):
        n = f"{ck_rs['metadata']['name']}-{safe('ck' + str(i), 5)}"
        created = add_s(UPGRADE, 2)
        # pkg/kubelet/kuberuntime: ErrCreateContainerConfig with the ConfigMap manager's NotFound
        st = o.status(n, node, "Pending", unready_conditions(created, created, ["orders-checkout"]),
                      [cstatus(w, n, ck_c, {"waiting": {"reason": "CreateContainerConfigError",
                                                        "message": 'configmap "orders-config" not found'}},
                               False, False, 0, created=False)], created)
        p = o.pod(n, created, ck_rs["spec"]["template"], ck_rs, st, node, "2025-06-12T14:31:33Z", gen_name=f"{ck_rs['metadata']['name']}-")
        pods_of["orders-checkout"].append(p)
        o.scheduler(p, "Scheduled", f"Successfully assigned {NS}/{n} to {node}", "Normal", created, tag=str(i))
        o.kubelet(p, "Pulled", f'Container image "{ck_c["image"]}" already present on machine', "Normal", 141,
                  add_s(created, 2), f"2025-06-12T14:31:{30 + i}Z", "orders-checkout")
        o.kubelet(p, "Failed", 'Error: configmap "orders-config" not found', "Warning", 141,
                  add_s(created, 2), f"2025-06-12T14:31:{30 + i}Z", "orders-checkout")
        E(ck_rs, "SuccessfulCreate", f"Created pod: {n}", "Normal", 1, created, created, "replicaset-controller", tag=str(i))
    E(ck, "ScalingReplicaSet", f"Scaled up replica set {ck_rs['metadata']['name']} to 2", "Normal", 1,
      add_s(UPGRADE, 1), add_s(UPGRADE, 1), "deployment-controller")
    ck_svc = svc("orders-checkout", created=UPGRADE)
    o.endpoint_slice(ck_svc, pods_of["orders-checkout"], ("http", 8080), UPGRADE, add_s(UPGRADE, 5))

    # ======================= orders-ml-scorer: new in revision 12, asks for more cpu than a node has =
    ml_c = container("orders-ml-scorer", image("orders-ml-scorer", "0.9.0"), ("6", "8Gi"), ("6", "8Gi"), ports=http, probe=probe)
    ml_t = template(sel("orders-ml-scorer"), pod_spec([ml_c], sa="orders"))
    ml = o.deployment("orders-ml-scorer", UPGRADE, ml_t, 1, 1, 1)
    ml_rs = o.rs(ml, ml_t, add_s(UPGRADE, 1), 1, 1, rs_status(1, 0, 1))
    ml_rs["status"].update({"availableReplicas": 0, "readyReplicas": 0})
    w.add(ml_rs, add_s(UPGRADE, 2))
    ml["status"] = {"observedGeneration": 1, "replicas": 1, "unavailableReplicas": 1, "updatedReplicas": 1, "conditions": [
        dcond("Available", "False", add_s(UPGRADE, 1), add_s(UPGRADE, 1), "MinimumReplicasUnavailable",
              "Deployment does not have minimum availability."),
        dcond("Progressing", "False", deadline_ck, deadline_ck, "ProgressDeadlineExceeded",
              f'ReplicaSet "{ml_rs["metadata"]["name"]}" has timed out progressing.')]}
    w.add(ml, deadline_ck)
    mn = f"{ml_rs['metadata']['name']}-{safe('ml', 5)}"
    created = add_s(UPGRADE, 2)
    # pkg/scheduler/framework/types.go FitError.Error(): " %v." after the filter histogram and
    # again after the PostFilter (preemption) message, which already ends in "." (hence "..")
    unsched = ("0/3 nodes are available: 3 Insufficient cpu. preemption: 0/3 nodes are available: "
               "3 No preemption victims found for incoming pod..")
    ml_pod = make_pod(w, mn, NS, created, ml_rs["spec"]["template"], ml_rs,
                      {"conditions": [cond("PodScheduled", "False", created, "Unschedulable", unsched)],
                       "phase": "Pending"}, gen_name=f"{ml_rs['metadata']['name']}-", node=False)
    w.add(ml_pod, created)
    o.nonterminal.append(ml_pod)
    o.scheduler(ml_pod, "FailedScheduling", unsched, "Warning", created, series=(9, "2025-06-12T14:27:18Z"))
    E(ml_rs, "SuccessfulCreate", f"Created pod: {mn}", "Normal", 1, created, created, "replicaset-controller")
    E(ml, "ScalingReplicaSet", f"Scaled up replica set {ml_rs['metadata']['name']} to 1", "Normal", 1,
      add_s(UPGRADE, 1), add_s(UPGRADE, 1), "deployment-controller")

    # ======================= orders-notifier: rescheduled by the drain, its ConfigMap is gone =========
    nt_c = container("orders-notifier", image("orders-notifier", "1.7.3"), ("100m", "128Mi"), ("250m", "128Mi"),
                     mounts=[{"mountPath": "/etc/notifier/templates", "name": "templates", "readOnly": True}])
    nt_t = template(sel("orders-notifier"), pod_spec([nt_c], sa="orders", volumes=[
        {"name": "templates", "configMap": {"name": "orders-notifier-templates", "defaultMode": 420}}]))
    nt = o.deployment("orders-notifier", "2024-11-04T10:14:23Z", nt_t, 1, 3, 3)
    nt_rs = o.rs(nt, nt_t, "2025-03-18T10:02:00Z", 3, 1, rs_status(1, 0, 1))
    nt_rs["status"].update({"availableReplicas": 0, "readyReplicas": 0})
    w.add(nt_rs, add_s(DRAIN, 2))
    nt["status"] = {"observedGeneration": 3, "replicas": 1, "unavailableReplicas": 1, "updatedReplicas": 1, "conditions": [
        dcond("Progressing", "True", "2025-03-18T10:02:20Z", "2025-03-18T10:02:20Z", "NewReplicaSetAvailable",
              f'ReplicaSet "{nt_rs["metadata"]["name"]}" has successfully progressed.'),
        dcond("Available", "False", DRAIN, DRAIN, "MinimumReplicasUnavailable", "Deployment does not have minimum availability.")]}
    w.add(nt, DRAIN)
    nn = f"{nt_rs['metadata']['name']}-{safe('nt', 5)}"
    created = add_s(DRAIN, 2)
    # volumes are mounted before the sandbox exists: no pod IP, PodReadyToStartContainers False
    st = o.status(nn, N3, "Pending", unready_conditions(created, created, ["orders-notifier"], sandbox=False),
                  [cstatus(w, nn, nt_c, {"waiting": {"reason": "ContainerCreating"}}, False, False, 0, created=False)],
                  created, sandbox=False)
    nt_pod = o.pod(nn, created, nt_rs["spec"]["template"], nt_rs, st, N3, created, gen_name=f"{nt_rs['metadata']['name']}-")
    # pkg/volume/util/operationexecutor: "MountVolume.SetUp failed for volume %q : %v"
    o.kubelet(nt_pod, "FailedMount",
              'MountVolume.SetUp failed for volume "templates" : configmap "orders-notifier-templates" not found',
              "Warning", 28, add_s(created, 1), "2025-06-12T14:30:36Z")
    # pkg/kubelet/volumemanager/volume_manager.go WaitForAttachAndMount
    o.kubelet(nt_pod, "FailedMount",
              "Unable to attach or mount volumes: unmounted volumes=[templates], unattached volumes=[], "
              "failed to process volumes=[]: timed out waiting for the condition",
              "Warning", 18, add_s(created, 124), "2025-06-12T14:30:58Z")

    # ======================= orders-web: 4 replicas with a native sidecar =========================
    # Fault: one pod Running but not Ready (readiness 503). Look-alikes: the sidecar init
    # container Running beside the app; an Evicted pod already replaced by a Ready one; a pod with
    # old restarts.
    web_c = container("orders-web", image("orders-web", "5.3.0"), ("200m", "512Mi"), ("1", "1Gi"), ports=http,
                      probe=probe, env_from=[{"configMapRef": {"name": "orders-web-config"}}])
    sidecar = container("log-router", "public.ecr.aws/aws-observability/aws-for-fluent-bit:2.32.2",
                        ("50m", "64Mi"), ("200m", "128Mi"))
    sidecar["restartPolicy"] = "Always"  # KEP-753 native sidecar, beta and on by default in 1.29
    web_t = template(sel("orders-web"), pod_spec([web_c], sa="orders", init=[sidecar]))
    web = o.deployment("orders-web", "2024-11-04T10:14:24Z", web_t, 4, 9, 9)
    web_rs = o.rs(web, web_t, PREV, 9, 4, rs_status(4, 3, 1))
    web_rs["status"]["availableReplicas"] = 3
    w.add(web_rs, "2025-06-12T14:10:21Z")
    web["status"] = {"availableReplicas": 3, "observedGeneration": 9, "readyReplicas": 3, "replicas": 4,
                     "unavailableReplicas": 1, "updatedReplicas": 4, "conditions": [
                         dcond("Progressing", "True", add_s(PREV, 40), add_s(PREV, 40), "NewReplicaSetAvailable",
                               f'ReplicaSet "{web_rs["metadata"]["name"]}" has successfully progressed.'),
                         dcond("Available", "True", add_s(PREV, 40), add_s(PREV, 40), "MinimumReplicasAvailable",
                               "Deployment has minimum availability.")]}
    w.add(web, "2025-06-12T14:10:21Z")
    pods_of["orders-web"] = []
    web_rs_name = web_rs["metadata"]["name"]

    def web_pod(tag, node, created, ready_since=None, unready_since=None, restarts=0, last=None):
        n = f"{web_rs_name}-{safe('web' + tag, 5)}"
        side = cstatus(w, n, sidecar, {"running": {"startedAt": add_s(created, 3)}}, True, True, 0)
        run_from = add_s(created, 5) if not last else add_s(last["terminated"]["finishedAt"], 1)
        app = cstatus(w, n, web_c, {"running": {"startedAt": run_from}}, unready_since is None, True, restarts, last)
        conds = (ready_conditions(created, ready_since, initialized=add_s(created, 4)) if unready_since is None else
                 unready_conditions(created, unready_since, ["orders-web"], initialized=add_s(created, 4)))
        st = o.status(n, node, "Running", conds, [app], created, init=[side])
        p = o.pod(n, created, web_rs["spec"]["template"], web_rs, st, node, unready_since or ready_since,
                  gen_name=f"{web_rs_name}-")
        pods_of["orders-web"].append(p)
        return p

    web_pod("a", N1, add_s(PREV, 2), ready_since="2025-06-11T03:12:40Z", restarts=2,
            last=terminated(w, "weba", 1, "Error", "2025-06-11T03:11:58Z", "2025-06-11T03:12:20Z", 2))
    web_pod("b", N2, add_s(PREV, 2), ready_since=add_s(PREV, 21))
    unready = web_pod("c", N1, add_s(PREV, 20), unready_since="2025-06-12T14:10:21Z")
    web_pod("d", N3, "2025-06-12T12:05:32Z", ready_since="2025-06-12T12:05:51Z")
    # pkg/kubelet/prober/prober.go: "%s probe failed: %s" with the HTTP prober's output
    o.kubelet(unready, "Unhealthy", "Readiness probe failed: HTTP probe failed with statuscode: 503", "Warning", 131,
              "2025-06-12T14:10:01Z", "2025-06-12T14:31:51Z", "orders-web")
    # The Evicted pod: phase Failed, reason/message from pkg/kubelet/eviction/helpers.go (note the
    # trailing space), DisruptionTarget condition (TerminationByKubelet). Its event expired (1h TTL).
    ev_name = f"{web_rs_name}-{safe('webevicted', 5)}"
    ev_created = add_s(PREV, 21)
    evict_msg = ("The node was low on resource: memory. Threshold quantity: 100Mi, available: 91128Ki. "
                 "Container orders-web was using 1425772Ki, request is 512Mi, has larger consumption of memory. ")
    ev_st = o.status(ev_name, N2, "Failed", [
        cond("PodReadyToStartContainers", "False", "2025-06-12T12:05:33Z"),
        cond("Initialized", "True", add_s(ev_created, 4)),
        cond("Ready", "False", "2025-06-12T12:05:31Z", "PodFailed"),
        cond("ContainersReady", "False", "2025-06-12T12:05:31Z", "PodFailed"),
        cond("PodScheduled", "True", ev_created),
        cond("DisruptionTarget", "True", "2025-06-12T12:05:31Z", "TerminationByKubelet", evict_msg)],
        [cstatus(w, ev_name, web_c, terminated(w, ev_name + "app", 137, "Error", add_s(ev_created, 5), "2025-06-12T12:05:31Z"),
                 False, False, 0)], ev_created,
        init=[cstatus(w, ev_name, sidecar, terminated(w, ev_name + "side", 137, "Error", add_s(ev_created, 3), "2025-06-12T12:05:31Z"),
                      False, False, 0)],
        extra={"message": evict_msg, "reason": "Evicted"})
    ev_pod = o.pod(ev_name, ev_created, web_rs["spec"]["template"], web_rs, ev_st, N2, "2025-06-12T12:05:33Z",
                   gen_name=f"{web_rs_name}-")
    pods_of["orders-web"].append(ev_pod)
    web_svc = svc("orders-web")
    o.endpoint_slice(web_svc, pods_of["orders-web"], ("http", 8080), "2024-11-04T10:14:10Z", "2025-06-12T14:10:21Z")

    # ======================= orders-search: mid-rollout, 10 s into revision 6 (look-alike) ========
    def search_tmpl(tag):
        c = container("orders-search", image("orders-search", tag), ("250m", "256Mi"), ("1", "512Mi"), ports=http, probe=probe)
        return template(sel("orders-search"), pod_spec([c], sa="orders"))
    se_old_t, se_new_t = search_tmpl("4.1.0"), search_tmpl("4.1.1")
    rollout = "2025-06-12T14:31:50Z"
    se = o.deployment("orders-search", "2024-11-04T10:14:25Z", se_new_t, 1, 6, 6,
                      strategy={"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}})
    se_old = o.rs(se, se_old_t, "2025-05-02T09:00:00Z", 5, 1, rs_status(1, 1, 2))
    se_new = o.rs(se, se_new_t, rollout, 6, 1, rs_status(1, 0, 1))
    se_new["status"].update({"availableReplicas": 0, "readyReplicas": 0})
    w.add(se_old, "2025-05-02T09:00:21Z")
    w.add(se_new, rollout)
    se["status"] = {"availableReplicas": 1, "observedGeneration": 6, "readyReplicas": 1, "replicas": 2,
                    "unavailableReplicas": 1, "updatedReplicas": 1, "conditions": [
                        dcond("Available", "True", "2025-05-02T09:00:21Z", "2025-05-02T09:00:21Z",
                              "MinimumReplicasAvailable", "Deployment has minimum availability."),
                        # status unchanged (True), so lastTransitionTime stays; the reason and
                        # lastUpdateTime move (deployment util SetDeploymentCondition)
                        dcond("Progressing", "True", "2025-05-02T09:00:21Z", rollout, "ReplicaSetUpdated",
                              f'ReplicaSet "{se_new["metadata"]["name"]}" is progressing.')]}
    w.add(se, rollout)
    so = f"{se_old['metadata']['name']}-{safe('seold', 5)}"
    so_created = "2025-05-02T09:00:01Z"
    st = o.status(so, N2, "Running", ready_conditions(so_created, add_s(so_created, 20)),
                  [cstatus(w, so, se_old_t["spec"]["containers"][0], {"running": {"startedAt": add_s(so_created, 4)}}, True, True)],
                  so_created)
    se_old_pod = o.pod(so, so_created, se_old["spec"]["template"], se_old, st, N2, add_s(so_created, 20), gen_name=f"{se_old['metadata']['name']}-")
    sn = f"{se_new['metadata']['name']}-{safe('senew', 5)}"
    # 10 s in: sandbox up (pod IP), image still being pulled
    st = o.status(sn, N1, "Pending", unready_conditions(rollout, rollout, ["orders-search"]),
                  [cstatus(w, sn, se_new_t["spec"]["containers"][0], {"waiting": {"reason": "ContainerCreating"}},
                           False, False, 0, created=False)], rollout)
    se_new_pod = o.pod(sn, rollout, se_new["spec"]["template"], se_new, st, N1, add_s(rollout, 2),
                       gen_name=f"{se_new['metadata']['name']}-")
    o.scheduler(se_new_pod, "Scheduled", f"Successfully assigned {NS}/{sn} to {N1}", "Normal", rollout)
    o.kubelet(se_new_pod, "Pulling", f'Pulling image "{se_new_t["spec"]["containers"][0]["image"]}"', "Normal", 1,
              add_s(rollout, 2), add_s(rollout, 2), "orders-search")
    E(se, "ScalingReplicaSet", f"Scaled up replica set {se_new['metadata']['name']} to 1", "Normal", 1, rollout, rollout,
      "deployment-controller")
    E(se_new, "SuccessfulCreate", f"Created pod: {sn}", "Normal", 1, rollout, rollout, "replicaset-controller")
    se_svc = svc("orders-search")
    o.endpoint_slice(se_svc, [se_old_pod, se_new_pod], ("http", 8080), "2024-11-04T10:14:10Z", add_s(rollout, 2))

    # ======================= orders-recommendations: scaled to 0 on purpose (look-alike) ==========
    rc_c = container("orders-recommendations", image("orders-recommendations", "1.2.0"), ("100m", "256Mi"), ("500m", "512Mi"),
                     ports=http, probe=probe)
    rc_t = template(sel("orders-recommendations"), pod_spec([rc_c], sa="orders"))
    rc = o.deployment("orders-recommendations", "2024-11-04T10:14:26Z", rc_t, 0, 2, 4)
    rc_rs = o.rs(rc, rc_t, "2025-02-10T12:00:00Z", 2, 0, rs_status(0, 0, 3))
    rc_rs["metadata"]["generation"] = 3
    w.add(rc_rs, "2025-05-20T08:00:03Z")
    rc["status"] = {"observedGeneration": 4, "conditions": [
        dcond("Available", "True", "2025-02-10T12:00:30Z", "2025-02-10T12:00:30Z", "MinimumReplicasAvailable",
              "Deployment has minimum availability."),
        dcond("Progressing", "True", "2025-02-10T12:00:00Z", "2025-02-10T12:00:30Z", "NewReplicaSetAvailable",
              f'ReplicaSet "{rc_rs["metadata"]["name"]}" has successfully progressed.')]}
    w.add(rc, "2025-05-20T08:00:03Z")

    # ======================= Services without pods ================================================
    # fault: the selector says `order-api` (typo in revision 12), no pod carries it
    internal = svc("orders-api-internal", created=UPGRADE,
                   selector={"app.kubernetes.io/name": "order-api", "app.kubernetes.io/instance": "orders"})
    o.endpoint_slice(internal, [], None, UPGRADE, UPGRADE)
    # look-alike: no selector on purpose; the platform team maintains its EndpointSlice by hand
    erp = svc("orders-erp", selector={}, port=("https", 443, 8443))
    w.add({"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice", "addressType": "IPv4",
           "metadata": w.meta("EndpointSlice", "orders-erp-1", NS, "2024-11-04T10:20:00Z",
                              labels={"kubernetes.io/service-name": "orders-erp",
                                      "endpointslice.kubernetes.io/managed-by": "platform-team"},
                              generation=1),
           "endpoints": [{"addresses": ["10.20.4.15"], "conditions": {"ready": True}}],
           "ports": [{"name": "https", "port": 8443, "protocol": "TCP"}]}, "2024-11-04T10:20:00Z")
    assert erp

    # ======================= Jobs ===================================================================
    def job_pod(j, tag, node, created, finish, exit_code, message=None):
        n = f"{j['metadata']['name']}-{safe(tag, 5)}"
        c = j["spec"]["template"]["spec"]["containers"][0]
        t = terminated(w, n, exit_code, "Completed" if exit_code == 0 else "Error", add_s(created, 3), finish)
        if message:
            t["terminated"]["message"] = message
        ok = exit_code == 0
        why = "PodCompleted" if ok else "PodFailed"
        st = o.status(n, node, "Succeeded" if ok else "Failed", [
            cond("PodReadyToStartContainers", "False", add_s(finish, 1)),
            cond("Initialized", "True", created, why if ok else None),
            cond("Ready", "False", add_s(finish, 1), why), cond("ContainersReady", "False", add_s(finish, 1), why),
            cond("PodScheduled", "True", created)],
            [cstatus(w, n, c, t, False, False, 0)], created)
        return o.pod(n, created, j["spec"]["template"], j, st, node, add_s(finish, 1), gen_name=f"{j['metadata']['name']}-")

    def failed_status(start, failed_at, failed):
        # pkg/controller/job/job_controller.go: JobReasonBackoffLimitExceeded
        return {"conditions": [{"lastProbeTime": ts(failed_at), "lastTransitionTime": ts(failed_at),
                                "message": "Job has reached the specified backoff limit",
                                "reason": "BackoffLimitExceeded", "status": "True", "type": "Failed"}],
                "failed": failed, "ready": 0, "startTime": ts(start), "terminating": 0, "uncountedTerminatedPods": {}}

    def complete_status(start, done):
        return {"completionTime": ts(done), "conditions": [{"lastProbeTime": ts(done), "lastTransitionTime": ts(done),
                                                            "status": "True", "type": "Complete"}],
                "ready": 0, "startTime": ts(start), "succeeded": 1, "terminating": 0, "uncountedTerminatedPods": {}}

    # fault: a one-off backfill run with kubectl (no Helm labels), 4 pods failed (backoffLimit 3)
    bf_labels = {"app.kubernetes.io/name": "orders-backfill-invoices"}
    bf_c = container("backfill", image("orders-api", "1.14.2"), ("100m", "128Mi"), ("500m", "256Mi"),
                     command=["/app/orders-api", "backfill", "invoices", "--since=2025-06-01"],
                     env=[secret_env("DATABASE_URL", "orders-db", "url")])
    bf_start = "2025-06-12T14:05:12Z"
    bf = job(w, "orders-backfill-invoices", NS, bf_start, bf_labels,
             template(bf_labels, pod_spec([bf_c], restart="Never", sa="orders")), None, backoff=3)
    bf_msg = 'backfill: invoice 2025-06-03/INV-88412: pq: duplicate key value violates unique constraint "invoices_number_key"\n'
    t, fails = bf_start, []
    for i, gap in enumerate([0, 10, 20, 40]):
        created = add_s(t, gap)
        finish = add_s(created, 38)
        fails.append(job_pod(bf, f"bf{i}", [N1, N2, N3, N1][i], created, finish, 1, bf_msg))
        E(bf, "SuccessfulCreate", f"Created pod: {fails[-1]['metadata']['name']}", "Normal", 1, created, created,
          "job-controller", tag=str(i))
        t = finish
    bf["status"] = failed_status(bf_start, add_s(t, 1), 4)
    w.add(bf, add_s(t, 1))
    E(bf, "BackoffLimitExceeded", "Job has reached the specified backoff limit", "Warning", 1, add_s(t, 1), add_s(t, 1),
      "job-controller")

    # look-alike: a completed one-off Job with its Succeeded pod
    sd_labels = {"app.kubernetes.io/name": "orders-seed-catalog"}
    sd_c = container("seed", image("orders-api", "1.14.2"), ("100m", "128Mi"), ("500m", "256Mi"),
                     command=["/app/orders-api", "seed", "catalog"], env=[secret_env("DATABASE_URL", "orders-db", "url")])
    sd = job(w, "orders-seed-catalog", NS, "2025-06-12T13:40:00Z", sd_labels,
             template(sd_labels, pod_spec([sd_c], restart="Never", sa="orders")), None, backoff=2)
    sd_pod = job_pod(sd, "sd", N2, "2025-06-12T13:40:00Z", "2025-06-12T13:41:12Z", 0)
    sd["status"] = complete_status("2025-06-12T13:40:00Z", "2025-06-12T13:41:13Z")
    w.add(sd, "2025-06-12T13:41:13Z")
    E(sd, "SuccessfulCreate", f"Created pod: {sd_pod['metadata']['name']}", "Normal", 1, "2025-06-12T13:40:00Z",
      "2025-06-12T13:40:00Z", "job-controller")
    E(sd, "Completed", "Job completed", "Normal", 1, "2025-06-12T13:41:13Z", "2025-06-12T13:41:13Z", "job-controller")

    # ======================= CronJobs ================================================================
    def cron(name, schedule, created, runs, command, failed_limit, ok_limit, last_success):
        """runs: [(scheduled time, exit code, node)], oldest first, as kept by the history limits."""
        labels = helm_labels(name)
        c = container(name.removeprefix("orders-"), image("orders-batch", "2025.06.1"), ("100m", "128Mi"), ("500m", "256Mi"),
                      command=command, env=[secret_env("DATABASE_URL", "orders-db", "url")])
        jt_labels = sel(name)
        tmpl = template(jt_labels, pod_spec([c], restart="Never", sa="orders"))
        cj = {"apiVersion": "batch/v1", "kind": "CronJob",
              "metadata": w.meta("CronJob", name, NS, created, labels=labels, annotations=dict(HELM_ANN), generation=1),
              "spec": {"concurrencyPolicy": "Forbid", "failedJobsHistoryLimit": failed_limit,
                       "jobTemplate": {"metadata": {"creationTimestamp": None, "labels": dict(jt_labels)},
                                       "spec": {"backoffLimit": 0, "template": copy.deepcopy(tmpl)}},
                       "schedule": schedule, "successfulJobsHistoryLimit": ok_limit, "suspend": False,
                       "timeZone": "Etc/UTC"},
              "status": {"lastScheduleTime": runs[-1][0], "lastSuccessfulTime": last_success}}
        w.add(cj, add_s(runs[-1][0], 40))
        for sched, code, node in runs:
            jn = f"{name}-{cron_suffix(sched)}"
            # pkg/controller/cronjob/utils.go getJobFromTemplate2: scheduled-timestamp annotation
            j = job(w, jn, NS, sched, jt_labels, tmpl, None, backoff=0, owners=[w.owner(cj)],
                    annotations={"batch.kubernetes.io/cronjob-scheduled-timestamp": sched})
            finish = add_s(sched, 25 if code == 0 else 31)
            msg = None if code == 0 else ("export: PUT s3://orders-settlements-eu/2025/06/12/settlement.csv: "
                                          "AccessDenied: Access Denied (status 403)\n")
            p = job_pod(j, jn, node, add_s(sched, 1), finish, code, msg)
            j["status"] = (complete_status(sched, add_s(finish, 1)) if code == 0 else failed_status(sched, add_s(finish, 1), 1))
            w.add(j, add_s(finish, 1))
            if ts(sched) >= "2025-06-12T13:32:00Z":  # events younger than the 1h TTL
                E(cj, "SuccessfulCreate", f"Created job {jn}", "Normal", 1, sched, sched, "cronjob-controller", tag=jn)
                E(j, "SuccessfulCreate", f"Created pod: {p['metadata']['name']}", "Normal", 1, add_s(sched, 1), add_s(sched, 1),
                  "job-controller")
                E(cj, "SawCompletedJob", f"Saw completed job: {jn}, status: {'Complete' if code == 0 else 'Failed'}",
                  "Normal", 1, add_s(finish, 2), add_s(finish, 2), "cronjob-controller", tag="saw" + jn)
                if code:
                    E(j, "BackoffLimitExceeded", "Job has reached the specified backoff limit", "Warning", 1,
                      add_s(finish, 1), add_s(finish, 1), "job-controller")
                else:
                    E(j, "Completed", "Job completed", "Normal", 1, add_s(finish, 1), add_s(finish, 1), "job-controller")
        return cj

    # fault: the last three hourly runs failed (S3 AccessDenied); the last success was at 11:00
    cron("orders-settlement-export", "0 * * * *", "2025-03-01T09:00:00Z",
         [("2025-06-12T11:00:00Z", 0, N1), ("2025-06-12T12:00:00Z", 1, N2), ("2025-06-12T13:00:00Z", 1, N3),
          ("2025-06-12T14:00:00Z", 1, N1)],
         ["/app/batch", "settlement-export"], 3, 1, "2025-06-12T11:00:26Z")
    # look-alike: an old failed run kept by failedJobsHistoryLimit, the newest runs succeeded
    cron("orders-cleanup-carts", "*/30 * * * *", "2025-01-15T10:00:00Z",
         [("2025-06-12T12:30:00Z", 1, N3), ("2025-06-12T14:00:00Z", 0, N2), ("2025-06-12T14:30:00Z", 0, N1)],
         ["/app/batch", "cleanup-carts", "--older-than=72h"], 1, 2, "2025-06-12T14:30:26Z")

    # ======================= orders-events-consumer: scaled 1 -> 3, the quota refuses the pods ======
    ec_c = container("orders-events-consumer", image("orders-events-consumer", "2.0.4"), ("500m", "2Gi"), ("1", "2Gi"))
    ec_t = template(sel("orders-events-consumer"), pod_spec([ec_c], sa="orders"))
    ec = o.deployment("orders-events-consumer", "2024-11-04T10:14:27Z", ec_t, 3, 5, 8)
    ec_rs = o.rs(ec, ec_t, "2025-05-14T15:30:00Z", 5, 3, None)
    ec_rs["metadata"]["generation"] = 4
    ec_rs["metadata"]["annotations"]["deployment.kubernetes.io/desired-replicas"] = "3"
    ec_rs["metadata"]["annotations"]["deployment.kubernetes.io/max-replicas"] = "4"
    en = f"{ec_rs['metadata']['name']}-{safe('ec', 5)}"
    ec_created = "2025-05-14T15:30:01Z"
    st = o.status(en, N3, "Running", ready_conditions(ec_created, add_s(ec_created, 12)),
                  [cstatus(w, en, ec_c, {"running": {"startedAt": add_s(ec_created, 4)}}, True, True)], ec_created)
    o.pod(en, ec_created, ec_rs["spec"]["template"], ec_rs, st, N3, add_s(ec_created, 12), gen_name=f"{ec_rs['metadata']['name']}-")

    # ---- the quota: requests.memory is what is exhausted ----------------------------------------
    # At 14:20 (scale-up) and at 14:31:40 (last retry) every pod of the capture existed except the
    # orders-search pod created at 14:31:50; that one fitted, a 2Gi consumer does not.
    ec_req = quota_request(ec_t["spec"])
    before = [p for p in o.nonterminal if p is not se_new_pod]
    cpu_b = sum(quota_request(p["spec"])[0] for p in before)
    mem_b = sum(quota_request(p["spec"])[1] for p in before)
    cpu = cpu_b + quota_request(se_new_pod["spec"])[0]
    mem = mem_b + quota_request(se_new_pod["spec"])[1]
    hard_mem_gi = -(-mem // 1024)
    assert mem <= hard_mem_gi * 1024 < mem_b + ec_req[1], (mem, mem_b, hard_mem_gi)
    hard = {"pods": "30", "requests.cpu": "24", "requests.memory": f"{hard_mem_gi}Gi"}
    fail_at = "2025-06-12T14:20:03Z"
    msg = quota_msg(f"{ec_rs['metadata']['name']}-{safe('ecfail0', 5)}", ec_req, len(before), cpu_b, mem_b, hard,
                    qname="orders-quota")
    ec_rs["status"] = rs_status(1, 1, 4, conditions=[{"type": "ReplicaFailure", "status": "True", "reason": "FailedCreate",
                                                      "message": msg, "lastTransitionTime": fail_at}])
    w.add(ec_rs, fail_at)
    ec["status"] = {"availableReplicas": 1, "observedGeneration": 8, "readyReplicas": 1, "replicas": 1,
                    "unavailableReplicas": 2, "updatedReplicas": 1, "conditions": [
                        dcond("Progressing", "True", "2025-05-14T15:30:13Z", "2025-05-14T15:30:13Z", "NewReplicaSetAvailable",
                              f'ReplicaSet "{ec_rs["metadata"]["name"]}" has successfully progressed.'),
                        dcond("Available", "False", fail_at, fail_at, "MinimumReplicasUnavailable",
                              "Deployment does not have minimum availability."),
                        # deployment sync.go calculateStatus copies the ReplicaSet's ReplicaFailure
                        dcond("ReplicaFailure", "True", fail_at, fail_at, "FailedCreate", msg)]}
    w.add(ec, fail_at)
    E(ec, "ScalingReplicaSet", f"Scaled up replica set {ec_rs['metadata']['name']} to 3 from 1", "Normal", 1,
      fail_at, fail_at, "deployment-controller")
    for i in range(10):
        pn = f"{ec_rs['metadata']['name']}-{safe('ecfail' + str(i), 5)}"
        E(ec_rs, "FailedCreate", "Error creating: " + quota_msg(pn, ec_req, len(before), cpu_b, mem_b, hard, qname="orders-quota"),
          "Warning", 1, add_s(fail_at, i // 3), add_s(fail_at, i // 3), "replicaset-controller", tag=str(i))
    last_msg = quota_msg(f"{ec_rs['metadata']['name']}-{safe('ecfaillast', 5)}", ec_req, len(before), cpu_b, mem_b, hard,
                         qname="orders-quota")
    # client-go tools/record EventAggregator: after 10 similar events in 10 minutes
    E(ec_rs, "FailedCreate", "(combined from similar events): Error creating: " + last_msg, "Warning", 21,
      "2025-06-12T14:20:08Z", "2025-06-12T14:31:40Z", "replicaset-controller", tag="combined")
    w.add({"apiVersion": "v1", "kind": "ResourceQuota",
           "metadata": w.meta("ResourceQuota", "orders-quota", NS, "2024-11-04T10:13:00Z",
                              labels={"app.kubernetes.io/managed-by": "terraform", "team": "checkout-platform"}),
           "spec": {"hard": dict(hard)},
           "status": {"hard": dict(hard), "used": {"pods": str(len(o.nonterminal)), "requests.cpu": fmt_cpu(cpu),
                                                   "requests.memory": fmt_mem(mem)}}}, "2025-06-12T14:31:50Z")
    return w
