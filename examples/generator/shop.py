"""The shop namespace on GKE: a different team's incident, no bleater names, no profile."""
import copy

import content
from bleater import configmap, kube_root_ca, quota_msg, sa
from k8s import (cond, cstatus, dcond, dep_status_ok, deployment, job, job_status_suspended, make_pod,
                 pod_status_running, replicaset, rs_status, service, sport, terminated)
from lib import (World, add_s, container, fmt_cpu, fmt_mem, http_probe, pod_spec, quota_request, safe, secret_env,
                 template, ts, val_env)

NS = "shop"
NODE = "gke-shop-prod-default-pool-3f2a9c1e-k7xq"
ZONE = "europe-west1-b"
REG = "europe-west1-docker.pkg.dev/shop-prod/shop"
NS_CREATED = "2024-06-11T09:30:12Z"
NOW = "2025-03-02T10:15:00Z"
PART = {"app.kubernetes.io/part-of": "shop"}


def build():
    w = World("shop-gke", "2024-06-01T00:00:00Z", NODE, "10.132.0.17", "10.8.1", "10.12")
    nonterminal = []

    w.add({"apiVersion": "v1", "kind": "Namespace",
           "metadata": w.meta("Namespace", NS, None, NS_CREATED,
                              labels={"kubernetes.io/metadata.name": NS, "team": "commerce"}),
           "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}}, NS_CREATED)
    for name, ptype, default in [("standard", "pd-standard", True), ("standard-rwo", "pd-balanced", False)]:
        ann = {"components.gke.io/component-name": "pdcsi", "components.gke.io/component-version": "0.18.23"}
        if default:
            ann["storageclass.kubernetes.io/is-default-class"] = "true"
        w.add({"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
               "metadata": w.meta("StorageClass", name, None, "2024-06-10T15:02:44Z",
                                  labels={"addonmanager.kubernetes.io/mode": "EnsureExists"}, annotations=ann),
               "allowVolumeExpansion": True, "parameters": {"type": ptype},
               "provisioner": "pd.csi.storage.gke.io", "reclaimPolicy": "Delete",
               "volumeBindingMode": "WaitForFirstConsumer"}, "2024-06-10T15:02:44Z")

    kube_root_ca(w, NS, add_s(NS_CREATED, 1))
    sa(w, "default", NS, add_s(NS_CREATED, 1))
    sa(w, "orders-api", NS, "2024-06-11T09:40:02Z", labels={"app": "orders", **PART})
    sa(w, "release-bot", NS, "2024-06-11T09:40:03Z", labels={"app.kubernetes.io/name": "release-bot", **PART})
    w.add({"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
           "metadata": w.meta("Secret", "orders-db-auth", NS, "2024-06-11T09:40:05Z", labels={"app": "orders-db", **PART}),
           "data": {"username": "b3JkZXJz",  # orders
                    "password": "Wm1Ucjh2UWMzTnBLd0UyeQ==",  # ZmTr8vQc3NpKwE2y
                    "url": "cG9zdGdyZXM6Ly9vcmRlcnM6Wm1Ucjh2UWMzTnBLd0UyeUBvcmRlcnMtZGI6NTQzMi9vcmRlcnM="}},
          "2024-06-11T09:40:05Z")

    # ---- config maps -------------------------------------------------------
    configmap(w, "release-lock", NS, "2024-06-11T09:41:00Z",
              {"state": "locked", "reason": "release 2025.03.2: pre-sync hooks running",
               "since": "2025-03-02T08:31:44Z", "holder": "release-bot"},
              mtime="2025-03-02T08:31:44Z", labels={"app.kubernetes.io/managed-by": "release-bot", **PART})
    configmap(w, "orders-db-migrations", NS, "2024-06-11T09:41:05Z",
              {"migrate.sh": content.SHOP_MIGRATE, "001_init.sql": content.SHOP_001,
               "002_add_index.sql": content.SHOP_002},
              mtime="2025-03-02T08:30:40Z", labels={"app": "orders-db", **PART})
    pay_state = configmap(w, "payments-release-state", NS, "2025-03-02T08:30:20Z",
                          {"release": "2025.03.2", "phase": "presync", "hooks": "payments-presync-check"},
                          mtime="2025-03-02T08:31:52Z",
                          labels={"app": "payments", "app.kubernetes.io/managed-by": "payments-release-controller", **PART})
    configmap(w, "catalog-config", NS, "2024-06-11T09:41:10Z",
              {"CACHE_URL": "redis://cache:6379/0", "PAGE_SIZE": "48", "LOG_LEVEL": "info"},
              mtime="2025-02-20T14:02:09Z", labels={"app": "catalog", **PART})

    # ---- quotas (status filled at the end) ----------------------------------
    # ---- network policies ---------------------------------------------------
    dns = {"to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}}}],
           "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]}
    w.add({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
           "metadata": w.meta("NetworkPolicy", "orders-lockdown", NS, "2024-09-03T11:12:40Z",
                              labels={"app": "orders", **PART}, generation=2,
                              annotations={"shop.example.com/change": "CHG-1187 least-privilege egress for orders"}),
           "spec": {"podSelector": {"matchLabels": {"app": "orders"}},
                    "policyTypes": ["Ingress", "Egress"],
                    "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "catalog"}}},
                                          {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "gke-gateway"}}}],
                                 "ports": [{"protocol": "TCP", "port": 8080}]}],
                    "egress": [{"to": [{"podSelector": {"matchLabels": {"app": "cache"}}}],
                                "ports": [{"protocol": "TCP", "port": 6379}]}]}},
          "2025-03-02T08:35:02Z")
    w.add({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
           "metadata": w.meta("NetworkPolicy", "catalog-egress", NS, "2024-09-03T11:12:41Z",
                              labels={"app": "catalog", **PART}, generation=1),
           "spec": {"podSelector": {"matchLabels": {"app": "catalog"}}, "policyTypes": ["Egress"],
                    "egress": [copy.deepcopy(dns),
                               {"to": [{"podSelector": {"matchLabels": {"app": "cache"}}}],
                                "ports": [{"protocol": "TCP", "port": 6379}]},
                               {"to": [{"podSelector": {"matchLabels": {"app": "orders"}}}],
                                "ports": [{"protocol": "TCP", "port": 8080}]}]}}, "2024-09-03T11:12:41Z")
    w.add({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
           "metadata": w.meta("NetworkPolicy", "orders-db-ingress", NS, "2024-09-03T11:12:42Z",
                              labels={"app": "orders-db", **PART}, generation=1),
           "spec": {"podSelector": {"matchLabels": {"app": "orders-db"}}, "policyTypes": ["Ingress"],
                    "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "orders"}}}],
                                 "ports": [{"protocol": "TCP", "port": 5432}]}]}}, "2024-09-03T11:12:42Z")

    # ---- catalog (healthy) ---------------------------------------------------
    def deploy(name, app, tag, created, req, lim, rev, gen, strategy=None, init=None, env=None, sa_name="default",
               env_from=None):
        sel = {"app": app, "app.kubernetes.io/name": name}
        labels = {**sel, **PART}
        c = container(name, f"{REG}/{name}:{tag}", req, lim, env=env, env_from=env_from,
                      ports=[{"containerPort": 8080, "name": "http", "protocol": "TCP"}], probe=http_probe("/readyz"))
        spec = pod_spec([c], sa=sa_name, init=init)
        tmpl = template({**labels, "app.kubernetes.io/version": tag}, spec)
        dep = deployment(w, name, NS, created, labels, sel, tmpl, generation=gen, revision=rev, strategy=strategy)
        h = safe(name + tag, 10)
        return dep, h, f"{name}-{h}", tmpl

    cat, h, cat_rs_name, cat_tmpl = deploy("catalog", "catalog", "2025.02.4", "2024-06-11T09:45:00Z", ("200m", "256Mi"),
                                           ("1", "512Mi"), 17, 17, env_from=[{"configMapRef": {"name": "catalog-config"}}])
    cat["status"] = dep_status_ok(17, cat_rs_name, "2025-02-20T14:03:01Z", "2025-02-20T14:03:01Z")
    cat_rs = replicaset(w, cat, h, "2025-02-20T14:02:40Z", 17, 1, rs_status(1, 1, 1))
    w.add(cat, "2025-02-20T14:03:01Z")
    w.add(cat_rs, "2025-02-20T14:03:01Z")
    cpn = f"{cat_rs_name}-{safe('catp', 5)}"
    cat_pod = make_pod(w, cpn, NS, "2025-02-20T14:02:40Z", cat_rs["spec"]["template"], cat_rs,
                       pod_status_running(w, cpn, cat_tmpl["spec"], "2025-02-20T14:02:40Z", "2025-02-20T14:03:01Z"),
                       gen_name=f"{cat_rs_name}-")
    w.add(cat_pod, "2025-02-20T14:03:01Z")
    nonterminal.append(cat_pod)

    # ---- stateful sets: cache, orders-db -----------------------------------------
    def sts(name, app, image, req, lim, port, pname, created, pod_created, ready, vct=None, env=None, mounts=None):
        sel = {"app": app}
        labels = {**sel, "app.kubernetes.io/name": name, **PART}
        c = container(name if name != "orders-db" else "postgres", image, req, lim, env=env, mounts=mounts,
                      ports=[{"containerPort": port, "name": pname, "protocol": "TCP"}],
                      probe={"tcpSocket": {"port": pname}, "periodSeconds": 10, "timeoutSeconds": 1,
                             "successThreshold": 1, "failureThreshold": 3})
        tmpl = template(labels, pod_spec([c]))
        rev = f"{name}-{safe(name + 'rev', 10)}"
        spec = {"persistentVolumeClaimRetentionPolicy": {"whenDeleted": "Retain", "whenScaled": "Retain"},
                "podManagementPolicy": "OrderedReady", "replicas": 1, "revisionHistoryLimit": 10,
                "selector": {"matchLabels": sel}, "serviceName": name, "template": tmpl,
                "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}}}
        if vct:
            spec["volumeClaimTemplates"] = vct
        s = {"apiVersion": "apps/v1", "kind": "StatefulSet",
             "metadata": w.meta("StatefulSet", name, NS, created, labels=labels, generation=3),
             "spec": spec,
             "status": {"availableReplicas": 1, "collisionCount": 0, "currentReplicas": 1, "currentRevision": rev,
                        "observedGeneration": 3, "readyReplicas": 1, "replicas": 1, "updateRevision": rev,
                        "updatedReplicas": 1}}
        w.add(s, ready)
        pt = copy.deepcopy(tmpl)
        pt["metadata"]["labels"].update({"apps.kubernetes.io/pod-index": "0", "controller-revision-hash": rev,
                                         "statefulset.kubernetes.io/pod-name": f"{name}-0"})
        if vct:
            pt["spec"]["volumes"] = [{"name": "data", "persistentVolumeClaim": {"claimName": f"data-{name}-0"}}]
        p = make_pod(w, f"{name}-0", NS, pod_created, pt, s,
                     pod_status_running(w, f"{name}-0", pt["spec"], pod_created, ready),
                     extra_spec={"hostname": f"{name}-0", "subdomain": name})
        w.add(p, ready)
        nonterminal.append(p)
        w.add(service(w, name, NS, created, labels, sel, [sport(pname, port, pname)]), created)
        return s, p

    sts("cache", "cache", "redis:7.2-alpine", ("100m", "128Mi"), ("500m", "512Mi"), 6379, "redis",
        "2024-06-11T09:44:00Z", "2025-02-27T03:10:41Z", "2025-02-27T03:10:52Z")
    db_vct = [{"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"creationTimestamp": None, "name": "data"},
               "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "20Gi"}},
                        "storageClassName": "standard-rwo", "volumeMode": "Filesystem"},
               "status": {"phase": "Pending"}}]
    sts("orders-db", "orders-db", "postgres:16-alpine", ("250m", "512Mi"), ("1", "1Gi"), 5432, "postgres",
        "2024-06-11T09:43:00Z", "2025-02-27T03:11:20Z", "2025-02-27T03:11:44Z", vct=db_vct,
        env=[val_env("POSTGRES_DB", "orders"), secret_env("POSTGRES_USER", "orders-db-auth", "username"),
             secret_env("POSTGRES_PASSWORD", "orders-db-auth", "password"),
             val_env("PGDATA", "/var/lib/postgresql/data/pgdata")],
        mounts=[{"mountPath": "/var/lib/postgresql/data", "name": "data"}])

    # orders-db PVC + PV (bound, standard-rwo)
    pvc_name = "data-orders-db-0"
    pvc_uid = w.uid(f"PersistentVolumeClaim/{NS}/{pvc_name}")
    pv_name = f"pvc-{pvc_uid}"
    pvc = {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
           "metadata": w.meta("PersistentVolumeClaim", pvc_name, NS, "2024-06-11T09:43:00Z", labels={"app": "orders-db"},
                              finalizers=["kubernetes.io/pvc-protection"],
                              annotations={"pv.kubernetes.io/bind-completed": "yes",
                                           "pv.kubernetes.io/bound-by-controller": "yes",
                                           "volume.beta.kubernetes.io/storage-provisioner": "pd.csi.storage.gke.io",
                                           "volume.kubernetes.io/selected-node": "gke-shop-prod-default-pool-3f2a9c1e-9wz2",
                                           "volume.kubernetes.io/storage-provisioner": "pd.csi.storage.gke.io"}),
           "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "20Gi"}},
                    "storageClassName": "standard-rwo", "volumeMode": "Filesystem", "volumeName": pv_name},
           "status": {"accessModes": ["ReadWriteOnce"], "capacity": {"storage": "20Gi"}, "phase": "Bound"}}
    w.add(pvc, "2024-06-11T09:43:09Z")
    w.add({"apiVersion": "v1", "kind": "PersistentVolume",
           "metadata": w.meta("PersistentVolume", pv_name, None, "2024-06-11T09:43:08Z",
                              annotations={"pv.kubernetes.io/provisioned-by": "pd.csi.storage.gke.io",
                                           "volume.kubernetes.io/provisioner-deletion-secret-name": "",
                                           "volume.kubernetes.io/provisioner-deletion-secret-namespace": ""},
                              finalizers=["kubernetes.io/pv-protection", "external-attacher/pd-csi-storage-gke-io"]),
           "spec": {"accessModes": ["ReadWriteOnce"], "capacity": {"storage": "20Gi"},
                    "claimRef": {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "name": pvc_name, "namespace": NS,
                                 "resourceVersion": pvc["metadata"]["resourceVersion"], "uid": pvc_uid},
                    "csi": {"driver": "pd.csi.storage.gke.io", "fsType": "ext4",
                            "volumeAttributes": {"storage.kubernetes.io/csiProvisionerIdentity": "1718019762231-8081-pd.csi.storage.gke.io"},
                            "volumeHandle": f"projects/shop-prod/zones/{ZONE}/disks/{pv_name}"},
                    "nodeAffinity": {"required": {"nodeSelectorTerms": [{"matchExpressions": [
                        {"key": "topology.gke.io/zone", "operator": "In", "values": [ZONE]}]}]}},
                    "persistentVolumeReclaimPolicy": "Delete", "storageClassName": "standard-rwo",
                    "volumeMode": "Filesystem"},
           "status": {"lastPhaseTransitionTime": "2024-06-11T09:43:09Z", "phase": "Bound"}}, "2024-06-11T09:43:09Z")

    # the two Pending claims
    orders_data = w.add({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                         "metadata": w.meta("PersistentVolumeClaim", "orders-data", NS, "2025-03-02T08:32:05Z",
                                            labels={"app": "orders", **PART}, finalizers=["kubernetes.io/pvc-protection"]),
                         "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "50Gi"}},
                                  "storageClassName": "premium-rwo", "volumeMode": "Filesystem"},
                         "status": {"phase": "Pending"}}, "2025-03-02T08:32:05Z")
    reports_cache = w.add({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                           "metadata": w.meta("PersistentVolumeClaim", "reports-cache", NS, "2025-03-02T09:00:00Z",
                                              labels={"app": "reports", **PART}, finalizers=["kubernetes.io/pvc-protection"]),
                           "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "10Gi"}},
                                    "storageClassName": "standard", "volumeMode": "Filesystem"},
                           "status": {"phase": "Pending"}}, "2025-03-02T09:00:00Z")

    # reports-nightly: the future consumer of reports-cache (first run tonight)
    rp_labels = {"app": "reports", "app.kubernetes.io/name": "reports-nightly", **PART}
    rp_c = container("reports", f"{REG}/reports:2025.03.2", ("100m", "256Mi"), ("1", "1Gi"),
                     mounts=[{"mountPath": "/cache", "name": "cache"}])
    rp_tmpl = template(rp_labels, pod_spec([rp_c], restart="OnFailure",
                                           volumes=[{"name": "cache", "persistentVolumeClaim": {"claimName": "reports-cache"}}]))
    w.add({"apiVersion": "batch/v1", "kind": "CronJob",
           "metadata": w.meta("CronJob", "reports-nightly", NS, "2025-03-02T09:00:00Z", labels=rp_labels, generation=1),
           "spec": {"concurrencyPolicy": "Forbid", "failedJobsHistoryLimit": 1,
                    "jobTemplate": {"metadata": {"creationTimestamp": None, "labels": dict(rp_labels)},
                                    "spec": {"backoffLimit": 2, "template": rp_tmpl}},
                    "schedule": "0 2 * * *", "successfulJobsHistoryLimit": 3, "suspend": False},
           "status": {}}, "2025-03-02T09:00:00Z")

    # ---- presync hook Jobs --------------------------------------------------------
    def hook(name, app, created, owners):
        c = container("hook", f"{REG}/{'orders-api' if app == 'orders' else 'payments-api'}:2025.03.2",
                      ("50m", "64Mi"), ("250m", "256Mi"),
                      command=["/app/release-hook", "--phase=presync"],
                      env=[secret_env("DATABASE_URL", "orders-db-auth", "url")] if app == "orders" else None)
        t = template({"app": app, "app.kubernetes.io/component": "presync-hook"}, pod_spec([c], restart="Never",
                                                                                          sa="release-bot"))
        j = job(w, name, NS, created, {"app": app, "app.kubernetes.io/component": "presync-hook", **PART}, t,
                job_status_suspended(created), annotations={"argocd.argoproj.io/hook": "PreSync"},
                owners=owners, finalizers=["shop.example.com/cleanup"], suspend=True, backoff=1)
        return w.add(j, created)

    orphan = hook("orders-presync-db-init", "orders", "2025-03-02T08:31:50Z", None)
    owned = hook("payments-presync-check", "payments", "2025-03-02T08:31:52Z", [w.owner(pay_state)])

    # ---- payments-api: Recreate rollout at 09:15, new pod forbidden by shop-compute -----
    pay, ph, pay_rs_name, pay_tmpl = deploy("payments-api", "payments", "2025.03.2", "2024-06-11T09:46:00Z",
                                            ("200m", "256Mi"), ("1", "512Mi"), 9, 9, strategy={"type": "Recreate"})
    old_ph = safe("payments-api" + "2025.02.1", 10)
    old_pay_view = copy.deepcopy(pay)
    old_pay_view["spec"]["template"]["spec"]["containers"][0]["image"] = f"{REG}/payments-api:2025.02.1"
    old_pay_view["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/version"] = "2025.02.1"
    old_pay_rs = replicaset(w, old_pay_view, old_ph, "2025-02-11T10:20:00Z", 8, 0, rs_status(0, 0, 3))
    old_pay_rs["metadata"]["generation"] = 3
    w.add(old_pay_rs, "2025-03-02T09:15:01Z")
    pay_rs = replicaset(w, pay, ph, "2025-03-02T09:15:03Z", 9, 1, None)
    pay_req = quota_request(pay_tmpl["spec"])

    # ---- orders-api: Recreate rollout at 09:32, init container crash-looping ------------
    init = [container("db-migrate-check", f"{REG}/orders-api:2025.03.2", ("50m", "64Mi"), ("250m", "128Mi"),
                      command=["/app/orders-api", "migrate", "--check", "--dir=/migrations"],
                      env=[secret_env("DATABASE_URL", "orders-db-auth", "url")],
                      mounts=[{"mountPath": "/migrations", "name": "migrations", "readOnly": True}],
                      term_policy="FallbackToLogsOnError")]
    orders, oh, ord_rs_name, ord_tmpl = deploy(
        "orders-api", "orders", "2025.03.2", "2024-06-11T09:47:00Z", ("250m", "256Mi"), ("1", "512Mi"), 23, 23,
        strategy={"type": "Recreate"}, init=init, sa_name="orders-api",
        env=[secret_env("DATABASE_URL", "orders-db-auth", "url"), val_env("CACHE_URL", "redis://cache:6379/1")])
    for t in (orders["spec"]["template"], ord_tmpl):
        t["spec"]["volumes"] = [{"name": "migrations", "configMap": {"name": "orders-db-migrations", "defaultMode": 420}}]
    old_oh = safe("orders-api" + "2025.02.3", 10)
    old_ord_view = copy.deepcopy(orders)
    old_ord_view["spec"]["template"]["spec"].pop("initContainers")
    old_ord_view["spec"]["template"]["spec"]["containers"][0]["image"] = f"{REG}/orders-api:2025.02.3"
    old_ord_view["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/version"] = "2025.02.3"
    old_ord_rs = replicaset(w, old_ord_view, old_oh, "2025-02-18T13:05:00Z", 22, 0, rs_status(0, 0, 3))
    old_ord_rs["metadata"]["generation"] = 3
    w.add(old_ord_rs, "2025-03-02T09:32:01Z")
    ord_rs = replicaset(w, orders, oh, "2025-03-02T09:32:04Z", 23, 1, rs_status(1, 0, 1))
    ord_rs["status"].update({"availableReplicas": 0, "readyReplicas": 0})
    w.add(ord_rs, "2025-03-02T09:32:05Z")
    orders["status"] = {"observedGeneration": 23, "replicas": 1, "unavailableReplicas": 1, "updatedReplicas": 1,
                        "conditions": [
                            dcond("Available", "False", "2025-03-02T09:32:01Z", "2025-03-02T09:32:01Z",
                                  "MinimumReplicasUnavailable", "Deployment does not have minimum availability."),
                            dcond("Progressing", "False", "2025-03-02T09:42:05Z", "2025-03-02T09:42:05Z",
                                  "ProgressDeadlineExceeded", f'ReplicaSet "{ord_rs_name}" has timed out progressing.')]}
    w.add(orders, "2025-03-02T09:42:05Z")
    opn = f"{ord_rs_name}-{safe('ordp', 5)}"
    created = "2025-03-02T09:32:05Z"
    ip = w.pod_ip(opn)
    pod_uid = w.uid(f"Pod/{NS}/{opn}")
    ic = ord_tmpl["spec"]["initContainers"][0]
    last = terminated(w, opn + "init", 2, "Error", "2025-03-02T10:12:41Z", "2025-03-02T10:12:43Z", 12)
    last["terminated"]["message"] = ("level=info msg=\"checking migrations\" dir=/migrations files=2\n"
                                     "level=error msg=\"cannot reach database\" err=\"dial tcp: lookup orders-db on 10.12.0.10:53: read udp 10.8.1.%s:41873->10.12.0.10:53: i/o timeout\"\n" % ip.rsplit(".", 1)[1])
    st = {"conditions": [
        cond("PodReadyToStartContainers", "True", "2025-03-02T09:32:07Z"),
        cond("Initialized", "False", created, "ContainersNotInitialized", "containers with incomplete status: [db-migrate-check]"),
        cond("Ready", "False", created, "ContainersNotReady", "containers with unready status: [orders-api]"),
        cond("ContainersReady", "False", created, "ContainersNotReady", "containers with unready status: [orders-api]"),
        cond("PodScheduled", "True", created)],
        "containerStatuses": [cstatus(w, opn, ord_tmpl["spec"]["containers"][0], {"waiting": {"reason": "PodInitializing"}},
                                      False, False, 0, created=False)],
        "hostIP": w.host_ip, "hostIPs": [{"ip": w.host_ip}],
        "initContainerStatuses": [cstatus(
            w, opn, ic, {"waiting": {"reason": "CrashLoopBackOff",
                                     "message": f"back-off 5m0s restarting failed container=db-migrate-check pod={opn}_{NS}({pod_uid})"}},
            False, False, 12, last)],
        "phase": "Pending", "podIP": ip, "podIPs": [{"ip": ip}], "startTime": created}
    ord_pod = make_pod(w, opn, NS, created, ord_rs["spec"]["template"], ord_rs, st, gen_name=f"{ord_rs_name}-")
    w.add(ord_pod, "2025-03-02T10:12:44Z")
    nonterminal.append(ord_pod)

    # quota outcome for payments
    cpu = sum(quota_request(p["spec"])[0] for p in nonterminal)
    mem = sum(quota_request(p["spec"])[1] for p in nonterminal)
    hard = {"pods": "4", "requests.cpu": "4", "requests.memory": "8Gi"}
    fail_name = f"{pay_rs_name}-{safe('payfailz', 5)}"
    msg = quota_msg(fail_name, pay_req, len(nonterminal), cpu, mem, hard, qname="shop-compute")
    pay_rs["status"] = rs_status(0, 0, 1, conditions=[{"type": "ReplicaFailure", "status": "True", "reason": "FailedCreate",
                                                       "message": msg, "lastTransitionTime": "2025-03-02T09:15:03Z"}])
    w.add(pay_rs, "2025-03-02T09:15:03Z")
    pay["status"] = {"observedGeneration": 9, "replicas": 0, "unavailableReplicas": 1, "conditions": [
        dcond("Available", "False", "2025-03-02T09:15:01Z", "2025-03-02T09:15:01Z", "MinimumReplicasUnavailable",
              "Deployment does not have minimum availability."),
        dcond("ReplicaFailure", "True", "2025-03-02T09:15:03Z", "2025-03-02T09:15:03Z", "FailedCreate", msg),
        dcond("Progressing", "False", "2025-03-02T09:25:03Z", "2025-03-02T09:25:03Z", "ProgressDeadlineExceeded",
              f'ReplicaSet "{pay_rs_name}" has timed out progressing.')]}
    w.add(pay, "2025-03-02T09:25:03Z")
    for name, app in [("orders-api", "orders"), ("payments-api", "payments"), ("catalog", "catalog")]:
        w.add(service(w, name, NS, "2024-06-11T09:45:30Z", {"app": app, "app.kubernetes.io/name": name, **PART},
                      {"app": app, "app.kubernetes.io/name": name}, [sport("http", 80, "http")]), "2024-06-11T09:45:30Z")

    w.add({"apiVersion": "v1", "kind": "ResourceQuota",
           "metadata": w.meta("ResourceQuota", "shop-compute", NS, "2024-06-11T09:31:00Z", labels=dict(PART)),
           "spec": {"hard": dict(hard)},
           "status": {"hard": dict(hard), "used": {"pods": str(len(nonterminal)), "requests.cpu": fmt_cpu(cpu),
                                                   "requests.memory": fmt_mem(mem)}}}, "2025-03-02T09:32:05Z")
    shard = {"persistentvolumeclaims": "10", "requests.storage": "200Gi"}
    w.add({"apiVersion": "v1", "kind": "ResourceQuota",
           "metadata": w.meta("ResourceQuota", "shop-storage", NS, "2024-06-11T09:31:01Z", labels=dict(PART)),
           "spec": {"hard": dict(shard)},
           "status": {"hard": dict(shard), "used": {"persistentvolumeclaims": "3", "requests.storage": "80Gi"}}},
          "2025-03-02T09:00:01Z")

    # ---- events -------------------------------------------------------------------
    E, K = w.event, w.kubelet_event
    E(orders_data, "ProvisioningFailed", 'storageclass.storage.k8s.io "premium-rwo" not found', "Warning", 412,
      "2025-03-02T08:32:05Z", "2025-03-02T10:14:52Z", "persistentvolume-controller")
    E(reports_cache, "WaitForFirstConsumer", "waiting for first consumer to be created before binding", "Normal", 300,
      "2025-03-02T09:00:00Z", "2025-03-02T10:14:47Z", "persistentvolume-controller")
    E(orphan, "Suspended", "Job suspended", "Normal", 1, "2025-03-02T08:31:50Z", "2025-03-02T08:31:50Z", "job-controller")
    E(owned, "Suspended", "Job suspended", "Normal", 1, "2025-03-02T08:31:52Z", "2025-03-02T08:31:52Z", "job-controller")
    E(pay, "ScalingReplicaSet", f"Scaled down replica set {old_pay_rs['metadata']['name']} to 0 from 1", "Normal", 1,
      "2025-03-02T09:15:01Z", "2025-03-02T09:15:01Z", "deployment-controller")
    E(pay, "ScalingReplicaSet", f"Scaled up replica set {pay_rs_name} to 1", "Normal", 1,
      "2025-03-02T09:15:03Z", "2025-03-02T09:15:03Z", "deployment-controller")
    E(old_pay_rs, "SuccessfulDelete", f"Deleted pod: {old_pay_rs['metadata']['name']}-{safe('oldpay', 5)}", "Normal", 1,
      "2025-03-02T09:15:01Z", "2025-03-02T09:15:01Z", "replicaset-controller")
    hard_msg = dict(hard)
    for i in range(10):
        pn = f"{pay_rs_name}-{safe('payfail' + str(i), 5)}"
        E(pay_rs, "FailedCreate", "Error creating: " + quota_msg(pn, pay_req, 4, cpu, mem, hard_msg, qname="shop-compute"),
          "Warning", 1, add_s("2025-03-02T09:15:03Z", i // 3), add_s("2025-03-02T09:15:03Z", i // 3),
          "replicaset-controller", tag=str(i))
    E(pay_rs, "FailedCreate", "(combined from similar events): Error creating: " + msg, "Warning", 23,
      "2025-03-02T09:15:20Z", "2025-03-02T10:11:38Z", "replicaset-controller", tag="combined")
    E(orders, "ScalingReplicaSet", f"Scaled down replica set {old_ord_rs['metadata']['name']} to 0 from 1", "Normal", 1,
      "2025-03-02T09:32:01Z", "2025-03-02T09:32:01Z", "deployment-controller")
    E(orders, "ScalingReplicaSet", f"Scaled up replica set {ord_rs_name} to 1", "Normal", 1,
      "2025-03-02T09:32:04Z", "2025-03-02T09:32:04Z", "deployment-controller")
    E(old_ord_rs, "SuccessfulDelete", f"Deleted pod: {old_ord_rs['metadata']['name']}-{safe('oldord', 5)}", "Normal", 1,
      "2025-03-02T09:32:01Z", "2025-03-02T09:32:01Z", "replicaset-controller")
    E(ord_rs, "SuccessfulCreate", f"Created pod: {opn}", "Normal", 1, created, created, "replicaset-controller")
    E(ord_pod, "Scheduled", f"Successfully assigned {NS}/{opn} to {NODE}", "Normal", 1, created, created, "default-scheduler")
    img = f"{REG}/orders-api:2025.03.2"
    K(ord_pod, "Pulling", f'Pulling image "{img}"', "Normal", 1, "2025-03-02T09:32:05Z", "2025-03-02T09:32:05Z",
      "db-migrate-check", init=True)
    K(ord_pod, "Pulled", f'Successfully pulled image "{img}" in 1.874s (1.874s including waiting). Image size: 31877412 bytes.',
      "Normal", 1, "2025-03-02T09:32:07Z", "2025-03-02T09:32:07Z", "db-migrate-check", init=True)
    K(ord_pod, "Pulled", f'Container image "{img}" already present on machine', "Normal", 12,
      "2025-03-02T09:32:19Z", "2025-03-02T10:12:41Z", "db-migrate-check", init=True)
    K(ord_pod, "Created", "Created container db-migrate-check", "Normal", 13, "2025-03-02T09:32:07Z",
      "2025-03-02T10:12:41Z", "db-migrate-check", init=True)
    K(ord_pod, "Started", "Started container db-migrate-check", "Normal", 13, "2025-03-02T09:32:07Z",
      "2025-03-02T10:12:41Z", "db-migrate-check", init=True)
    K(ord_pod, "BackOff", f"Back-off restarting failed container db-migrate-check in pod {opn}_{NS}({pod_uid})", "Warning",
      221, "2025-03-02T09:32:10Z", NOW, "db-migrate-check", init=True)
    return w
