"""The vault namespace: claims that do not bind for the reasons the PV controller has, each
beside its look-alike (issue 17). Static binding (storageClassName ""), a volumeName
pre-binding, a local-volume class with node affinity, a quota that refused a StatefulSet's
claim; and a WaitForFirstConsumer claim with no pod yet, a Released PV nobody waits for, a
bound claim whose PV served another claim before."""
from k8s import cond, make_pod
from lib import World, add_s, container, pod_spec, template, ts

NS = "vault"
NODE = "worker-a"
NS_CREATED = "2025-01-20T08:00:00Z"
NOW = "2025-05-06T14:20:00Z"
STUCK = "2025-05-06T13:02:11Z"   # when the claims and pods were created
APP = "app.kubernetes.io/name"


def build():
    w = World("vault-onprem", "2025-01-01T00:00:00Z", NODE, "192.168.10.21", "10.42.0", "10.43")
    w.add({"apiVersion": "v1", "kind": "Namespace",
           "metadata": w.meta("Namespace", NS, None, NS_CREATED, labels={"kubernetes.io/metadata.name": NS}),
           "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}}, NS_CREATED)
    classes = [
        # local disks: only pre-created PVs, bound when the pod is scheduled
        ("local-ssd", "kubernetes.io/no-provisioner", "WaitForFirstConsumer", False),
        ("standard", "rancher.io/local-path", "WaitForFirstConsumer", True),
    ]
    for name, provisioner, mode, default in classes:
        ann = {"storageclass.kubernetes.io/is-default-class": "true"} if default else None
        w.add({"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
               "metadata": w.meta("StorageClass", name, None, "2025-01-20T07:50:00Z", annotations=ann),
               "provisioner": provisioner, "reclaimPolicy": "Delete", "volumeBindingMode": mode},
              "2025-01-20T07:50:00Z")

    def pv(name, size, modes, cls="", labels=None, claim=None, phase="Available", policy="Retain",
           node=None, created="2025-02-03T10:00:00Z", annotations=None):
        spec = {"accessModes": modes, "capacity": {"storage": size}, "persistentVolumeReclaimPolicy": policy,
                "storageClassName": cls, "volumeMode": "Filesystem"}
        if node:
            spec["local"] = {"path": f"/mnt/disks/{name}"}
            spec["nodeAffinity"] = {"required": {"nodeSelectorTerms": [{"matchExpressions": [
                {"key": "kubernetes.io/hostname", "operator": "In", "values": [node]}]}]}}
        else:
            spec["nfs"] = {"server": "nas.vault.internal", "path": f"/export/{name}"}
        if claim:
            ref_ns, ref_name, ref_uid = claim
            spec["claimRef"] = {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "name": ref_name,
                                "namespace": ref_ns, "uid": ref_uid}
        return w.add({"apiVersion": "v1", "kind": "PersistentVolume",
                      "metadata": w.meta("PersistentVolume", name, None, created, labels=labels,
                                         annotations=annotations, finalizers=["kubernetes.io/pv-protection"]),
                      "spec": spec, "status": {"phase": phase, "lastPhaseTransitionTime": ts(created)}}, created)

    def pvc(name, size, modes, cls, app, phase="Pending", selector=None, volume=None, created=STUCK,
            annotations=None):
        spec = {"accessModes": modes, "resources": {"requests": {"storage": size}},
                "storageClassName": cls, "volumeMode": "Filesystem"}
        if selector:
            spec["selector"] = {"matchLabels": selector}
        if volume:
            spec["volumeName"] = volume
        status = {"phase": phase}
        if phase == "Bound":
            status.update({"accessModes": modes, "capacity": {"storage": size}})
        return w.add({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                      "metadata": w.meta("PersistentVolumeClaim", name, NS, created, labels={APP: app},
                                         annotations=annotations, finalizers=["kubernetes.io/pvc-protection"]),
                      "spec": spec, "status": status}, created)

    def pending_pod(name, app, claim, node_selector=None):
        spec = pod_spec([container("main", f"registry.vault.internal/{app}:2.4.1", ("100m", "128Mi"),
                                   ("500m", "256Mi"))],
                        volumes=[{"name": "data", "persistentVolumeClaim": {"claimName": claim}}],
                        extra={"nodeSelector": node_selector} if node_selector else None)
        status = {"phase": "Pending", "conditions": [cond("PodScheduled", "False", STUCK, "Unschedulable",
                                                          None)]}
        pod = make_pod(w, name, NS, STUCK, template({APP: app}, spec), None, status, node=False)
        return w.add(pod, STUCK)

    pv_event = "persistentvolume-controller"
    # 1. static binding, only PV too small
    backups = pvc("backups", "10Gi", ["ReadWriteOnce"], "", "backup")
    pv("nas-backups-1g", "1Gi", ["ReadWriteOnce"])
    w.event(backups, "FailedBinding", "no persistent volumes available for this claim and no storage class is set",
            "Normal", 316, STUCK, NOW, pv_event)
    # 2. static binding, selector and access modes
    reports = pvc("reports", "5Gi", ["ReadWriteMany"], "", "reports", selector={"vault.io/dataset": "reports"})
    pv("nas-reports", "20Gi", ["ReadOnlyMany"], labels={"vault.io/dataset": "reports-archive"})
    w.event(reports, "FailedBinding", "no persistent volumes available for this claim and no storage class is set",
            "Normal", 316, STUCK, NOW, pv_event)
    # 3. pre-bound to a PV another claim holds
    archive = pvc("archive", "50Gi", ["ReadWriteOnce"], "", "archive", volume="nas-archive")
    pv("nas-archive", "50Gi", ["ReadWriteOnce"], claim=("records", "archive", w.uid("records-archive")),
       phase="Bound")
    w.event(archive, "FailedBinding", 'volume "nas-archive" already bound to a different claim.', "Warning", 316,
            STUCK, NOW, pv_event)
    # 4. a Released PV (Retain) still holding the deleted claim of the same name
    exports = pvc("exports", "5Gi", ["ReadWriteOnce"], "", "exports")
    pv("nas-exports", "5Gi", ["ReadWriteOnce"], claim=(NS, "exports", w.uid("exports-before-migration")),
       phase="Released")
    w.event(exports, "FailedBinding", "no persistent volumes available for this claim and no storage class is set",
            "Normal", 316, STUCK, NOW, pv_event)
    # 5. local volume on worker-a, pod pinned to worker-b
    pvc("search-index", "100Gi", ["ReadWriteOnce"], "local-ssd", "search")
    pv("local-ssd-worker-a", "375Gi", ["ReadWriteOnce"], cls="local-ssd", node="worker-a")
    search = pending_pod("search-0", "search", "search-index", {"kubernetes.io/hostname": "worker-b"})
    w.event(search, "FailedScheduling",
            "0/3 nodes are available: 1 node(s) didn't find available persistent volumes to bind, "
            "2 node(s) didn't match Pod's node affinity/selector. preemption: 0/3 nodes are available: "
            "3 Preemption is not helpful for scheduling.", "Warning", 42, STUCK, NOW, "default-scheduler")
    # 6. the quota refused the StatefulSet's claim: no claim, a pod waiting for it
    w.add({"apiVersion": "v1", "kind": "ResourceQuota",
           "metadata": w.meta("ResourceQuota", "storage", NS, NS_CREATED),
           "spec": {"hard": {"requests.storage": "200Gi", "persistentvolumeclaims": "10"}},
           "status": {"hard": {"requests.storage": "200Gi", "persistentvolumeclaims": "10"},
                      "used": {"requests.storage": "175Gi", "persistentvolumeclaims": "7"}}}, NOW)
    sts = w.add({"apiVersion": "apps/v1", "kind": "StatefulSet",
                 "metadata": w.meta("StatefulSet", "ingest", NS, STUCK, labels={APP: "ingest"}, generation=1),
                 "spec": {"replicas": 1, "serviceName": "ingest", "selector": {"matchLabels": {APP: "ingest"}},
                          "template": template({APP: "ingest"}, pod_spec([container(
                              "main", "registry.vault.internal/ingest:2.4.1", ("100m", "128Mi"),
                              ("500m", "256Mi"))])),
                          "volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": {
                              "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "50Gi"}}}}]},
                 "status": {"replicas": 1, "availableReplicas": 0, "currentReplicas": 1, "observedGeneration": 1}},
                STUCK)
    ingest = pending_pod("ingest-0", "ingest", "data-ingest-0")
    ingest["metadata"]["ownerReferences"] = [w.owner(sts)]
    w.event(sts, "FailedCreate",
            'create Claim data-ingest-0 for Pod ingest-0 in StatefulSet ingest failed error: persistentvolumeclaims '
            '"data-ingest-0" is forbidden: exceeded quota: storage, requested: requests.storage=50Gi, '
            'used: requests.storage=175Gi, limited: requests.storage=200Gi', "Warning", 61, STUCK, NOW,
            "statefulset-controller")
    w.event(ingest, "FailedScheduling", '0/3 nodes are available: persistentvolumeclaim "data-ingest-0" not found. '
            'preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.', "Warning", 42,
            STUCK, NOW, "default-scheduler")

    # look-alikes
    cache = pvc("cache", "20Gi", ["ReadWriteOnce"], "standard", "cache")   # WaitForFirstConsumer, no pod yet
    w.event(cache, "WaitForFirstConsumer", "waiting for first consumer to be created before binding", "Normal",
            316, STUCK, NOW, pv_event)
    pv("nas-logs-2024", "100Gi", ["ReadWriteMany"], claim=(NS, "logs-2024", w.uid("logs-2024")),
       phase="Released")                                                      # nobody waits for it
    ledger_uid = w.uid(f"PersistentVolumeClaim/{NS}/db")
    pvc("db", "50Gi", ["ReadWriteOnce"], "", "db", phase="Bound", volume="nas-db", created="2025-02-03T11:00:00Z",
        annotations={"pv.kubernetes.io/bind-completed": "yes"})
    pv("nas-db", "50Gi", ["ReadWriteOnce"], claim=(NS, "db", ledger_uid), phase="Bound",
       annotations={"pv.kubernetes.io/bound-by-controller": "yes",
                    "vault.io/previous-claim": "records/db-2024 (released 2025-02-01, data wiped)"})
    return w
