"""The bleater namespace: incident snapshot and healthy (repaired) snapshot."""
import copy
import json

import content
from k8s import (cond, cron_suffix, cstatus, dcond, dep_status_ok, deployment, job, job_status_active,
                 job_status_complete, job_status_suspended, make_pod, pod_status_running,
                 pod_status_succeeded, replicaset, rs_status, service, sport, terminated, cronjob)
from lib import (HARDENED, World, add_s, container, fmt_cpu, fmt_mem, hexs, http_probe, last_applied,
                 pod_spec, quota_request, safe, secret_env, template, ts, val_env)

NS = "bleater"
SYS = "bleater-system"
NODE = "k3s-node-1"
NS_CREATED = "2024-09-02T14:11:09Z"
ROLLOUT = "2024-11-18T23:00:00Z"
MANAGED_LABELS = {"app.kubernetes.io/part-of": "bleater", "bleater.io/managed": "true"}
ROLLOUT_LABEL = {"bleater.io/rollout": "hardening-2024-11-18"}
APPS = ["auth-service", "profile-service", "timeline-service", "fanout-service", "bleat-service"]

FAKE_CA = ("-----BEGIN CERTIFICATE-----\n"
           + "\n".join(
               __import__("base64").b64encode(bytes.fromhex(hexs("bleater-ca" + str(i), 64) * 3)[:48]).decode()
               for i in range(8))
           + "\n-----END CERTIFICATE-----\n")


def kube_root_ca(w, ns, created):
    cm = {"apiVersion": "v1", "kind": "ConfigMap",
          "metadata": w.meta("ConfigMap", "kube-root-ca.crt", ns, created, annotations={
              "kubernetes.io/description": "Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters."}),
          "data": {"ca.crt": FAKE_CA}}
    return w.add(cm, created)


def sa(w, name, ns, created, labels=None, annotations=None):
    return w.add({"apiVersion": "v1", "kind": "ServiceAccount",
                  "metadata": w.meta("ServiceAccount", name, ns, created, labels=labels, annotations=annotations)},
                 created)


def configmap(w, name, ns, created, data, mtime=None, labels=None, annotations=None, extra_md=None):
    md = w.meta("ConfigMap", name, ns, created, labels=labels, annotations=annotations, extra=extra_md)
    return w.add({"apiVersion": "v1", "kind": "ConfigMap", "metadata": md, "data": data}, mtime or created)


def build(healthy):
    w = World("bleater-k3s", "2024-08-20T00:00:00Z", NODE, "192.168.10.21", "10.42.0", "10.43")
    S = healthy
    evs = []  # deferred event specs are emitted after objects so RVs exist
    pods_nonterminal = []

    # ---- cluster scoped --------------------------------------------------
    for name, created, extra_labels in [(NS, NS_CREATED, {"app.kubernetes.io/part-of": "bleater"}),
                                        (SYS, "2024-09-02T14:11:10Z", {"app.kubernetes.io/part-of": "bleater"})]:
        w.add({"apiVersion": "v1", "kind": "Namespace",
               "metadata": w.meta("Namespace", name, None, created,
                                  labels={"kubernetes.io/metadata.name": name, **extra_labels}),
               "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}}, created)
    sc_created = "2024-09-02T13:58:41Z"
    w.add({"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
           "metadata": w.meta("StorageClass", "local-path", None, sc_created,
                              labels={"objectset.rio.cattle.io/hash": "183f35c65ffbc3064603f43f1580d8c68a2dabd4"},
                              annotations={"defaultVolumeType": "hostPath",
                                           "objectset.rio.cattle.io/id": "",
                                           "objectset.rio.cattle.io/owner-gvk": "k3s.cattle.io/v1, Kind=Addon",
                                           "objectset.rio.cattle.io/owner-name": "local-storage",
                                           "objectset.rio.cattle.io/owner-namespace": "kube-system",
                                           "storageclass.kubernetes.io/is-default-class": "true"}),
           "provisioner": "rancher.io/local-path", "reclaimPolicy": "Delete",
           "volumeBindingMode": "WaitForFirstConsumer"}, sc_created)

    # ---- namespace basics ------------------------------------------------
    kube_root_ca(w, NS, add_s(NS_CREATED, 1))
    sa(w, "default", NS, add_s(NS_CREATED, 1))
    for app in APPS:
        sa(w, app, NS, "2024-09-02T15:02:31Z", labels={"app.kubernetes.io/name": app, **MANAGED_LABELS})
    sa(w, "migration-runner", NS, "2024-09-02T15:02:33Z",
       labels={"app.kubernetes.io/name": "migration-runner", "app.kubernetes.io/part-of": "bleater"})
    sa(w, "otel-collector", NS, "2024-10-03T10:20:07Z",
       labels={"app.kubernetes.io/name": "otel-collector", "bleater.io/owner": "observability"})
    sa(w, "search", NS, "2024-10-09T08:41:55Z",
       labels={"app.kubernetes.io/name": "search", "bleater.io/owner": "search"})

    secret_created = "2024-09-02T15:02:35Z"
    w.add({"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
           "metadata": w.meta("Secret", "bleat-db-credentials", NS, secret_created,
                              labels={"app.kubernetes.io/name": "bleat-db", "app.kubernetes.io/part-of": "bleater"}),
           "data": {"username": "YmxlYXQ=",  # bleat
                    "password": "cVc3ekY5bUtwVjJ4THQ0Ug=="}},  # qW7zF9mKpV2xLt4R
          secret_created)
    helm_created = "2024-11-15T10:02:11Z"
    w.add({"apiVersion": "v1", "kind": "Secret", "type": "helm.sh/release.v1",
           "metadata": w.meta("Secret", "sh.helm.release.v1.bleater-edge.v3", NS, helm_created,
                              labels={"name": "bleater-edge", "owner": "helm", "status": "deployed", "version": "3",
                                      "modifiedAt": "1731664942"}),
           "data": {"release": __import__("base64").b64encode(("H4sIAAAAAAAC/" + hexs("helmrel", 64) * 2).encode()).decode()}},
          "2024-11-15T10:02:22Z")

    w.add({"apiVersion": "v1", "kind": "LimitRange",
           "metadata": w.meta("LimitRange", "bleater-limits", NS, "2024-09-02T14:11:30Z",
                              labels={"app.kubernetes.io/part-of": "bleater", "bleater.io/owner": "platform-team"}),
           "spec": {"limits": [{"type": "Container",
                                "default": {"cpu": "500m", "memory": "256Mi"},
                                "defaultRequest": {"cpu": "50m", "memory": "32Mi"},
                                "max": {"cpu": "2", "memory": "1Gi"}}]}}, "2024-09-02T14:11:30Z")

    # ---- config maps -----------------------------------------------------
    lock_data = {"status": "locked",
                 "lock-reason": "hardening-rollout-2024-11-18 presync in progress",
                 "locked-at": "2024-11-18T23:04:12Z",
                 "locked-by": "bleater-reconciler"}
    if S:
        lock_data.update({"status": "unlocked", "lock-reason": "resolved-2024-11-19-hardening-rollback"})
    lock = configmap(w, "hook-reconciliation-lock", NS, "2024-09-20T11:30:02Z", lock_data,
                     mtime="2024-11-19T04:21:00Z" if S else "2024-11-18T23:04:12Z",
                     labels={"app.kubernetes.io/managed-by": "bleater-reconciler", "app.kubernetes.io/part-of": "bleater"})
    schema_data = {"version": "2", "tables-v1": "bleats,users", "tables-v2": "bleats,follows,timelines,users"}
    if S:
        schema_data.update({"version": "3", "tables-v3": "bleat_media,bleats,follows,reactions,timelines,users"})
    configmap(w, "bleat-db-schema", NS, "2024-09-02T15:02:40Z", schema_data,
              mtime="2024-11-19T04:31:00Z" if S else "2024-10-01T09:12:44Z",
              labels={"app.kubernetes.io/name": "bleat-db", "app.kubernetes.io/part-of": "bleater"})
    configmap(w, "bleat-migrations", NS, "2024-09-02T15:02:41Z",
              {"migrate.sh": content.MIGRATE_FIXED if S else content.MIGRATE_BROKEN,
               "v1.sql": content.V1_SQL, "v2.sql": content.V2_SQL, "v3.sql": content.V3_SQL},
              mtime="2024-11-19T04:26:00Z" if S else "2024-11-11T16:40:09Z",
              labels={"app.kubernetes.io/name": "bleat-db", "app.kubernetes.io/component": "migrations",
                      "app.kubernetes.io/part-of": "bleater"})
    configmap(w, "feature-flags", NS, "2024-10-14T12:00:31Z",
              {"status": "active", "owner": "growth",
               "flags.json": json.dumps({"reactions-ui": {"enabled": False, "rollout": 0},
                                         "media-upload": {"enabled": False, "rollout": 0},
                                         "new-onboarding": {"enabled": True, "rollout": 50}},
                                        indent=2, sort_keys=True) + "\n"},
              mtime="2024-11-14T09:30:18Z",
              labels={"app.kubernetes.io/name": "feature-flag-service", "app.kubernetes.io/part-of": "bleater",
                      "bleater.io/owner": "growth"})
    configmap(w, "search-index-lock", NS, "2024-10-09T08:42:10Z",
              {"status": "unlocked", "holder": "", "last-compaction": "2024-11-18T22:16:38Z"},
              mtime="2024-11-18T22:16:38Z",
              labels={"app.kubernetes.io/name": "search-indexer", "bleater.io/owner": "search"})
    configmap(w, "auth-service-config", NS, "2024-09-02T15:02:45Z",
              {"LOG_LEVEL": "info", "TOKEN_TTL_SECONDS": "3600", "SESSION_STORE": "postgres"},
              mtime="2024-10-22T13:05:51Z",
              labels={"app.kubernetes.io/name": "auth-service", **MANAGED_LABELS})
    configmap(w, "bleat-service-config", NS, "2024-09-02T15:02:46Z",
              {"LOG_LEVEL": "info", "MAX_BLEAT_LENGTH": "280", "TIMELINE_URL": "http://timeline-service",
               "FANOUT_URL": "http://fanout-service", "REACTIONS_ENABLED": "true"},
              mtime="2024-11-18T23:00:36Z",
              labels={"app.kubernetes.io/name": "bleat-service", **MANAGED_LABELS})
    configmap(w, "otel-collector-config", NS, "2024-10-03T10:20:09Z",
              {"collector.yaml": ("receivers:\n  otlp:\n    protocols:\n      grpc:\n        endpoint: 0.0.0.0:4317\n"
                                  "exporters:\n  otlphttp:\n    endpoint: https://otel.observability.bleater.io\n"
                                  "service:\n  pipelines:\n    traces:\n      receivers: [otlp]\n      exporters: [otlphttp]\n")},
              labels={"app.kubernetes.io/name": "otel-collector", "app.kubernetes.io/part-of": "bleater",
                      "bleater.io/owner": "observability"})

    # ---- RBAC ------------------------------------------------------------
    role_labels = {"app.kubernetes.io/name": "migration-runner", "app.kubernetes.io/part-of": "bleater"}
    w.add({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
           "metadata": w.meta("Role", "migration-runner-role-v1", NS, "2024-09-02T15:02:34Z", labels=role_labels),
           "rules": [{"apiGroups": ["batch"], "resources": ["jobs"], "verbs": ["get", "list", "watch"]},
                     {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list", "watch"]}]},
          "2024-09-02T15:02:34Z")
    w.add({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
           "metadata": w.meta("Role", "migration-runner-role-v2", NS, "2024-11-11T16:40:02Z", labels=role_labels),
           "rules": [{"apiGroups": ["batch"], "resources": ["jobs"], "verbs": ["get", "list", "watch", "create", "delete"]},
                     {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list", "watch", "create", "update", "patch"]},
                     {"apiGroups": [""], "resources": ["pods", "pods/log"], "verbs": ["get", "list", "watch"]}]},
          "2024-11-11T16:40:02Z")
    rb_role = "migration-runner-role-v2" if S else "migration-runner-role-v1"
    rb_labels = {"app.kubernetes.io/name": "migration-runner", "app.kubernetes.io/part-of": "bleater", **ROLLOUT_LABEL}
    rb_ann = {"bleater.io/change-ticket": "SEC-2291"}
    rb_body = {"roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": rb_role},
               "subjects": [{"kind": "ServiceAccount", "name": "migration-runner", "namespace": NS}]}
    applied = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
               "metadata": {"annotations": rb_ann, "labels": rb_labels, "name": "migration-runner-binding",
                            "namespace": NS}, **rb_body}
    rb_created = "2024-11-19T04:09:31Z" if S else "2024-11-18T23:00:07Z"
    w.add({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
           "metadata": w.meta("RoleBinding", "migration-runner-binding", NS, rb_created, labels=rb_labels,
                              annotations={**rb_ann, "kubectl.kubernetes.io/last-applied-configuration": last_applied(applied)},
                              uid_tag="#recreated" if S else "#rollout"),
           **rb_body}, rb_created)
    # the reconciler's own (healthy) access: a RoleBinding look-alike
    rec_labels = {"app.kubernetes.io/name": "bleater-reconciler", "app.kubernetes.io/part-of": "bleater"}
    w.add({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
           "metadata": w.meta("Role", "bleater-reconciler-observer", NS, "2024-09-02T15:01:12Z", labels=rec_labels),
           "rules": [{"apiGroups": ["", "apps", "batch", "networking.k8s.io", "rbac.authorization.k8s.io"],
                      "resources": ["pods", "configmaps", "persistentvolumeclaims", "resourcequotas", "deployments",
                                    "jobs", "networkpolicies", "roles", "rolebindings"],
                      "verbs": ["get", "list", "watch"]},
                     {"apiGroups": [""], "resources": ["configmaps"], "resourceNames": ["hook-reconciliation-lock"],
                      "verbs": ["update", "patch"]},
                     {"apiGroups": [""], "resources": ["events"], "verbs": ["create", "patch"]}]},
          "2024-09-02T15:01:12Z")
    w.add({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
           "metadata": w.meta("RoleBinding", "bleater-reconciler-observer", NS, "2024-09-02T15:01:12Z", labels=rec_labels),
           "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "bleater-reconciler-observer"},
           "subjects": [{"kind": "ServiceAccount", "name": "bleater-reconciler", "namespace": SYS}]},
          "2024-09-02T15:01:12Z")

    # ---- quota -------------------------------------------------------------
    # filled in at the end (status.used is computed from the pods)

    # ---- network policies ---------------------------------------------------
    deny_ann = {"bleater.io/change-ticket": "SEC-2291"}
    deny_spec = {"podSelector": {}, "policyTypes": ["Egress"], "egress": []}
    deny_applied = {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                    "metadata": {"annotations": deny_ann, "labels": {"app.kubernetes.io/part-of": "bleater", **ROLLOUT_LABEL},
                                 "name": "bleater-default-deny-egress", "namespace": NS},
                    "spec": deny_spec}
    w.add({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
           "metadata": w.meta("NetworkPolicy", "bleater-default-deny-egress", NS, "2024-11-18T23:00:09Z",
                              labels={"app.kubernetes.io/part-of": "bleater", **ROLLOUT_LABEL}, generation=1,
                              annotations={**deny_ann, "kubectl.kubernetes.io/last-applied-configuration": last_applied(deny_applied)}),
           "spec": copy.deepcopy(deny_spec)}, "2024-11-18T23:00:09Z")
    w.add({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
           "metadata": w.meta("NetworkPolicy", "bleater-allow-ingress-from-gateway", NS, "2024-09-02T15:03:02Z",
                              labels={"app.kubernetes.io/part-of": "bleater", "bleater.io/owner": "platform-team"},
                              generation=2),
           "spec": {"podSelector": {"matchLabels": {"app.kubernetes.io/part-of": "bleater"}},
                    "policyTypes": ["Ingress"],
                    "ingress": [{"from": [
                        {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-gateway"}}},
                        {"podSelector": {}}]}]}}, "2024-10-07T12:44:19Z")
    if S:
        ess_labels = {"app.kubernetes.io/part-of": "bleater", "bleater.io/incident": "INC-4471"}
        ess_spec = {"podSelector": {},
                    "policyTypes": ["Egress"],
                    "egress": [
                        {"to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}}}],
                         "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]},
                        {"to": [{"podSelector": {"matchLabels": {"app.kubernetes.io/name": "bleat-db"}}}],
                         "ports": [{"protocol": "TCP", "port": 5432}]}]}
        ess_applied = {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                       "metadata": {"labels": ess_labels, "name": "bleater-allow-egress-essentials", "namespace": NS},
                       "spec": ess_spec}
        w.add({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
               "metadata": w.meta("NetworkPolicy", "bleater-allow-egress-essentials", NS, "2024-11-19T04:18:00Z",
                                  labels=ess_labels, generation=1,
                                  annotations={"kubectl.kubernetes.io/last-applied-configuration": last_applied(ess_applied)}),
               "spec": copy.deepcopy(ess_spec)}, "2024-11-19T04:18:00Z")

    # ---- managed apps ----------------------------------------------------------
    db_env = [val_env("DB_HOST", "bleat-db"), val_env("DB_NAME", "bleat"),
              secret_env("DB_USER", "bleat-db-credentials", "username"),
              secret_env("DB_PASSWORD", "bleat-db-credentials", "password")]
    app_cfg = {
        # name: (tag, revision, deploy created, current RS created, req cpu, req mem)
        "auth-service": ("1.14.2", 9, "2024-09-02T15:04:10Z", "2024-11-12T16:21:03Z", "50m", "48Mi"),
        "profile-service": ("2.3.0", 7, "2024-09-02T15:04:11Z", "2024-11-12T16:22:40Z", "50m", "48Mi"),
        "timeline-service": ("1.9.4", 11, "2024-09-02T15:04:12Z", "2024-11-12T16:24:02Z", "50m", "48Mi"),
        "fanout-service": ("1.6.1", 6, "2024-09-02T15:04:13Z", "2024-11-12T16:25:17Z", "50m", "48Mi"),
        "bleat-service": ("3.8.0", 14, "2024-09-02T15:04:14Z", "2024-11-18T23:00:41Z", "100m", "64Mi"),
    }
    bleat_pod = None
    for app, (tag, rev, dcreated, rscreated, rcpu, rmem) in app_cfg.items():
        sel = {"app.kubernetes.io/name": app, "app.kubernetes.io/component": "server"}
        labels = {"app.kubernetes.io/name": app, **MANAGED_LABELS}
        plabels = {**sel, **MANAGED_LABELS, "app.kubernetes.io/version": tag}
        env = list(db_env) + [val_env("PORT", "8080")]
        env_from = [{"configMapRef": {"name": f"{app}-config"}}] if app in ("auth-service", "bleat-service") else None
        main = container(app, f"registry.bleater.io/bleater/{app}:{tag}", (rcpu, rmem), ("500m", "256Mi"),
                         env=env, env_from=env_from,
                         ports=[{"containerPort": 8080, "name": "http", "protocol": "TCP"}],
                         probe=http_probe("/healthz"), secctx=HARDENED,
                         mounts=[{"mountPath": "/tmp", "name": "tmp"}])
        init = None
        if app == "bleat-service":
            init = [container("wait-for-db-schema", "postgres:15-alpine", ("50m", "32Mi"), ("200m", "64Mi"),
                              command=["sh", "-c",
                                       'pg_isready -h bleat-db -p 5432 -t 5 && psql -h bleat-db -U bleat -d bleat '
                                       '-v ON_ERROR_STOP=1 -c "SELECT 1 FROM reactions LIMIT 1"'],
                              env=[secret_env("PGPASSWORD", "bleat-db-credentials", "password"),
                                   val_env("PGCONNECT_TIMEOUT", "5")],
                              secctx={"allowPrivilegeEscalation": False, "runAsUser": 70, "runAsGroup": 70,
                                      "capabilities": {"drop": ["ALL"]}})]
        spec = pod_spec([main], sa=app, init=init, volumes=[{"name": "tmp", "emptyDir": {}}],
                        security={"seccompProfile": {"type": "RuntimeDefault"}})
        tmpl = template(plabels, spec)
        strategy = {"type": "Recreate"} if app == "bleat-service" else None
        gen = {"auth-service": 9, "profile-service": 7, "timeline-service": 12, "fanout-service": 6, "bleat-service": 15}[app]
        dep = deployment(w, app, NS, dcreated, labels, sel, tmpl, generation=gen, revision=rev, strategy=strategy,
                         status=None)
        h = safe(app + tag + "hash", 10)
        rs_name = f"{app}-{h}"
        pod_name = f"{rs_name}-{safe(app + tag + 'pod', 5)}"
        if app != "bleat-service":
            ready_at = add_s(rscreated, 14)
            dep["status"] = dep_status_ok(gen, rs_name, add_s(ready_at, 0), ready_at)
            rs = replicaset(w, dep, h, rscreated, rev, 1, rs_status(1, 1, 1))
            w.add(dep, ready_at)
            w.add(rs, ready_at)
            restarts, lasts = {}, {}
            if app == "timeline-service":
                # look-alike: restarts from an old OOM days before the incident, healthy since
                restarts = {app: 2}
                lasts = {app: terminated(w, pod_name + "oom", 137, "OOMKilled", "2024-11-14T07:51:02Z",
                                         "2024-11-14T08:03:44Z", 1)}
            st = pod_status_running(w, pod_name, tmpl["spec"], add_s(rscreated, 0), ready_at, restarts, lasts)
            if restarts:
                st["containerStatuses"][0]["state"] = {"running": {"startedAt": "2024-11-14T08:03:45Z"}}
                for c in st["conditions"]:
                    if c["type"] in ("Ready", "ContainersReady"):
                        c["lastTransitionTime"] = "2024-11-14T08:03:57Z"
            pod = make_pod(w, pod_name, NS, rscreated, rs["spec"]["template"], rs, st, gen_name=f"{rs_name}-")
            w.add(pod, "2024-11-14T08:03:57Z" if restarts else ready_at)
            pods_nonterminal.append(pod)
            continue

        # bleat-service: rolled by the hardening rollout (init container added), Recreate strategy
        old_h = safe(app + "3.7.2" + "hash", 10)
        old_rs_tmpl_spec = copy.deepcopy(spec)
        old_rs_tmpl_spec.pop("initContainers")
        old_rs_tmpl_spec["containers"][0]["image"] = "registry.bleater.io/bleater/bleat-service:3.7.2"
        old_labels = dict(plabels, **{"app.kubernetes.io/version": "3.7.2"})
        old_dep_view = copy.deepcopy(dep)
        old_dep_view["spec"]["template"] = template(old_labels, old_rs_tmpl_spec)
        old_rs = replicaset(w, old_dep_view, old_h, "2024-11-12T16:26:30Z", rev - 1, 0, rs_status(0, 0, 3))
        old_rs["metadata"]["generation"] = 3
        old_rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"] = str(rev - 1)
        w.add(old_rs, "2024-11-18T23:00:40Z")
        rs = replicaset(w, dep, h, rscreated, rev, 1, None)
        created = rscreated
        if not S:
            dep["status"] = {"observedGeneration": gen, "replicas": 1, "unavailableReplicas": 1, "updatedReplicas": 1,
                             "conditions": [
                                 dcond("Available", "False", "2024-11-18T23:00:38Z", "2024-11-18T23:00:38Z",
                                       "MinimumReplicasUnavailable", "Deployment does not have minimum availability."),
                                 dcond("Progressing", "False", "2024-11-18T23:10:42Z", "2024-11-18T23:10:42Z",
                                       "ProgressDeadlineExceeded", f'ReplicaSet "{rs_name}" has timed out progressing.')]}
            rs["status"] = rs_status(1, 0, 1)
            rs["status"].update({"availableReplicas": 0, "readyReplicas": 0})
            w.add(dep, "2024-11-18T23:10:42Z")
            w.add(rs, "2024-11-18T23:00:41Z")
            key = pod_name
            init_c = tmpl["spec"]["initContainers"][0]
            ip = w.pod_ip(key)
            pod_uid = w.uid(f"Pod/{NS}/{pod_name}")
            st = {
                "conditions": [
                    cond("PodReadyToStartContainers", "True", "2024-11-18T23:00:43Z"),
                    cond("Initialized", "False", created, "ContainersNotInitialized",
                         "containers with incomplete status: [wait-for-db-schema]"),
                    cond("Ready", "False", created, "ContainersNotReady", "containers with unready status: [bleat-service]"),
                    cond("ContainersReady", "False", created, "ContainersNotReady",
                         "containers with unready status: [bleat-service]"),
                    cond("PodScheduled", "True", created)],
                "containerStatuses": [cstatus(w, key, tmpl["spec"]["containers"][0],
                                              {"waiting": {"reason": "PodInitializing"}}, False, False, 0, created=False)],
                "hostIP": w.host_ip, "hostIPs": [{"ip": w.host_ip}],
                "initContainerStatuses": [cstatus(
                    w, key, init_c,
                    {"waiting": {"reason": "CrashLoopBackOff",
                                 "message": f"back-off 5m0s restarting failed container=wait-for-db-schema pod={pod_name}_{NS}({pod_uid})"}},
                    False, False, 47,
                    terminated(w, key + "init", 1, "Error", "2024-11-19T03:38:17Z", "2024-11-19T03:38:19Z", 47))],
                "phase": "Pending", "podIP": ip, "podIPs": [{"ip": ip}], "startTime": created,
            }
            pod = make_pod(w, pod_name, NS, created, rs["spec"]["template"], rs, st, gen_name=f"{rs_name}-")
            w.add(pod, "2024-11-19T03:38:20Z")
        else:
            ready_at = "2024-11-19T04:29:20Z"
            dep["status"] = {"availableReplicas": 1, "observedGeneration": gen, "readyReplicas": 1, "replicas": 1,
                             "updatedReplicas": 1, "conditions": [
                                 dcond("Available", "True", ready_at, ready_at, "MinimumReplicasAvailable",
                                       "Deployment has minimum availability."),
                                 dcond("Progressing", "True", ready_at, ready_at, "NewReplicaSetAvailable",
                                       f'ReplicaSet "{rs_name}" has successfully progressed.')]}
            rs["status"] = rs_status(1, 1, 1)
            w.add(dep, ready_at)
            w.add(rs, ready_at)
            st = pod_status_running(w, pod_name, tmpl["spec"], created, ready_at,
                                    init_done=("2024-11-19T04:29:07Z", "2024-11-19T04:29:09Z"))
            st["initContainerStatuses"][0]["restartCount"] = 57
            st["initContainerStatuses"][0]["state"]["terminated"]["containerID"] = f"containerd://{hexs(pod_name + 'wait-for-db-schema57')}"
            st["initContainerStatuses"][0]["containerID"] = st["initContainerStatuses"][0]["state"]["terminated"]["containerID"]
            st["initContainerStatuses"][0]["lastState"] = terminated(
                w, pod_name + "init", 1, "Error", "2024-11-19T04:24:02Z", "2024-11-19T04:24:04Z", 56)
            st["containerStatuses"][0]["state"] = {"running": {"startedAt": "2024-11-19T04:29:10Z"}}
            for c in st["conditions"]:
                if c["type"] == "Initialized":
                    c["lastTransitionTime"] = "2024-11-19T04:29:09Z"
                if c["type"] == "PodReadyToStartContainers":
                    c["lastTransitionTime"] = "2024-11-18T23:00:43Z"
            pod = make_pod(w, pod_name, NS, created, rs["spec"]["template"], rs, st, gen_name=f"{rs_name}-")
            w.add(pod, ready_at)
        bleat_pod = pod
        pods_nonterminal.append(pod)

    for app in APPS:
        sel = {"app.kubernetes.io/name": app, "app.kubernetes.io/component": "server"}
        w.add(service(w, app, NS, "2024-09-02T15:04:20Z", {"app.kubernetes.io/name": app, **MANAGED_LABELS}, sel,
                      [sport("http", 80, "http")]), "2024-09-02T15:04:20Z")

    # ---- postgres ----------------------------------------------------------------
    db_sel = {"app.kubernetes.io/name": "bleat-db"}
    db_labels = {"app.kubernetes.io/name": "bleat-db", "app.kubernetes.io/part-of": "bleater"}
    db_c = container("postgres", "postgres:15-alpine", ("250m", "128Mi"), ("1", "512Mi"),
                     env=[val_env("POSTGRES_DB", "bleat"),
                          secret_env("POSTGRES_USER", "bleat-db-credentials", "username"),
                          secret_env("POSTGRES_PASSWORD", "bleat-db-credentials", "password"),
                          val_env("PGDATA", "/var/lib/postgresql/data/pgdata")],
                     ports=[{"containerPort": 5432, "name": "postgres", "protocol": "TCP"}],
                     probe={"exec": {"command": ["pg_isready", "-U", "bleat", "-d", "bleat"]}, "periodSeconds": 10,
                            "timeoutSeconds": 3, "successThreshold": 1, "failureThreshold": 3},
                     mounts=[{"mountPath": "/var/lib/postgresql/data", "name": "data"}])
    db_spec = pod_spec([db_c], security={"fsGroup": 70})
    db_tmpl = template({**db_labels, "app.kubernetes.io/component": "database"}, db_spec)
    sts_created = "2024-09-02T15:03:40Z"
    rev_hash = f"bleat-db-{safe('bleatdbrev', 10)}"
    sts = {"apiVersion": "apps/v1", "kind": "StatefulSet",
           "metadata": w.meta("StatefulSet", "bleat-db", NS, sts_created, labels=db_labels, generation=2),
           "spec": {"persistentVolumeClaimRetentionPolicy": {"whenDeleted": "Retain", "whenScaled": "Retain"},
                    "podManagementPolicy": "OrderedReady", "replicas": 1, "revisionHistoryLimit": 10,
                    "selector": {"matchLabels": db_sel}, "serviceName": "bleat-db", "template": db_tmpl,
                    "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}},
                    "volumeClaimTemplates": [{"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                                              "metadata": {"creationTimestamp": None, "name": "data"},
                                              "spec": {"accessModes": ["ReadWriteOnce"],
                                                       "resources": {"requests": {"storage": "10Gi"}},
                                                       "storageClassName": "local-path", "volumeMode": "Filesystem"},
                                              "status": {"phase": "Pending"}}]},
           "status": {"availableReplicas": 1, "collisionCount": 0, "currentReplicas": 1, "currentRevision": rev_hash,
                      "observedGeneration": 2, "readyReplicas": 1, "replicas": 1, "updateRevision": rev_hash,
                      "updatedReplicas": 1}}
    w.add(sts, "2024-11-04T09:13:41Z")
    db_pod_created = "2024-11-04T09:13:22Z"
    db_pod_tmpl = copy.deepcopy(db_tmpl)
    db_pod_tmpl["metadata"]["labels"].update({"apps.kubernetes.io/pod-index": "0", "controller-revision-hash": rev_hash,
                                              "statefulset.kubernetes.io/pod-name": "bleat-db-0"})
    db_pod_tmpl["spec"]["volumes"] = [{"name": "data", "persistentVolumeClaim": {"claimName": "data-bleat-db-0"}}]
    st = pod_status_running(w, "bleat-db-0", db_pod_tmpl["spec"], db_pod_created, "2024-11-04T09:13:41Z")
    db_pod = make_pod(w, "bleat-db-0", NS, db_pod_created, db_pod_tmpl, sts, st,
                      extra_spec={"hostname": "bleat-db-0", "subdomain": "bleat-db"})
    w.add(db_pod, "2024-11-04T09:13:41Z")
    pods_nonterminal.append(db_pod)
    w.add(service(w, "bleat-db", NS, "2024-09-02T15:03:39Z", db_labels, db_sel, [sport("postgres", 5432, "postgres")]),
          "2024-09-02T15:03:39Z")

    def local_pvc_pv(name, created, size, labels, bound_at, uid_tag="", extra_ann=None):
        pvc_uid = w.uid(f"PersistentVolumeClaim/{NS}/{name}{uid_tag}")
        pv_name = f"pvc-{pvc_uid}"
        pvc = {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
               "metadata": w.meta("PersistentVolumeClaim", name, NS, created, labels=labels, uid_tag=uid_tag,
                                  finalizers=["kubernetes.io/pvc-protection"],
                                  annotations={"pv.kubernetes.io/bind-completed": "yes",
                                               "pv.kubernetes.io/bound-by-controller": "yes",
                                               "volume.beta.kubernetes.io/storage-provisioner": "rancher.io/local-path",
                                               "volume.kubernetes.io/selected-node": NODE,
                                               "volume.kubernetes.io/storage-provisioner": "rancher.io/local-path",
                                               **(extra_ann or {})}),
               "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": size}},
                        "storageClassName": "local-path", "volumeMode": "Filesystem", "volumeName": pv_name},
               "status": {"accessModes": ["ReadWriteOnce"], "capacity": {"storage": size}, "phase": "Bound"}}
        w.add(pvc, bound_at)
        pv = {"apiVersion": "v1", "kind": "PersistentVolume",
              "metadata": w.meta("PersistentVolume", pv_name, None, add_s(bound_at, -1),
                                 annotations={"local.path.provisioner/selected-node": NODE,
                                              "pv.kubernetes.io/provisioned-by": "rancher.io/local-path"},
                                 finalizers=["kubernetes.io/pv-protection"]),
              "spec": {"accessModes": ["ReadWriteOnce"], "capacity": {"storage": size},
                       "claimRef": {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "name": name, "namespace": NS,
                                    "resourceVersion": pvc["metadata"]["resourceVersion"], "uid": pvc_uid},
                       "hostPath": {"path": f"/var/lib/rancher/k3s/storage/{pv_name}_{NS}_{name}", "type": "DirectoryOrCreate"},
                       "nodeAffinity": {"required": {"nodeSelectorTerms": [{"matchExpressions": [
                           {"key": "kubernetes.io/hostname", "operator": "In", "values": [NODE]}]}]}},
                       "persistentVolumeReclaimPolicy": "Delete", "storageClassName": "local-path",
                       "volumeMode": "Filesystem"},
              "status": {"lastPhaseTransitionTime": ts(bound_at), "phase": "Bound"}}
        w.add(pv, bound_at)
        return pvc, pv

    local_pvc_pv("data-bleat-db-0", "2024-09-02T15:03:40Z", "10Gi", db_sel, "2024-09-02T15:03:44Z")

    # ---- the migration PVC --------------------------------------------------------
    mig_pvc_labels = {"app.kubernetes.io/name": "bleat-db", "app.kubernetes.io/component": "migrations",
                      "app.kubernetes.io/part-of": "bleater", **ROLLOUT_LABEL}
    if not S:
        mig_pvc = {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                   "metadata": w.meta("PersistentVolumeClaim", "bleat-migration-pvc", NS, "2024-11-18T23:02:10Z",
                                      labels=mig_pvc_labels, finalizers=["kubernetes.io/pvc-protection"],
                                      annotations={"bleater.io/change-ticket": "SEC-2291"}),
                   "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "5Gi"}},
                            "storageClassName": "fast-ssd-tier", "volumeMode": "Filesystem"},
                   "status": {"phase": "Pending"}}
        w.add(mig_pvc, "2024-11-18T23:02:10Z")
    else:
        mig_pvc, mig_pv = local_pvc_pv("bleat-migration-pvc", "2024-11-19T04:14:02Z", "5Gi", mig_pvc_labels,
                                       "2024-11-19T04:27:04Z", uid_tag="#recreated",
                                       extra_ann={"bleater.io/change-ticket": "SEC-2291"})

    # ---- the presync hook Jobs ----------------------------------------------------
    mig_env = [val_env("DB_HOST", "bleat-db"), val_env("DB_NAME", "bleat"),
               secret_env("DB_USER", "bleat-db-credentials", "username"),
               secret_env("PGPASSWORD", "bleat-db-credentials", "password")]
    mig_mounts = [{"mountPath": "/migrations", "name": "migrations", "readOnly": True}]
    mig_vols = [{"name": "migrations", "configMap": {"name": "bleat-migrations", "defaultMode": 493}}]

    def hook_job(name, app, created, ann, extra_labels, cmd, sa_name, uid_tag=""):
        c = container("migrate" if "migrate" in name else "validate", "postgres:15-alpine", ("50m", "64Mi"),
                      ("250m", "128Mi"), command=cmd, env=mig_env, mounts=mig_mounts)
        t = template({"app.kubernetes.io/name": app, "app.kubernetes.io/component": "presync-hook"},
                     pod_spec([c], sa=sa_name, restart="Never", volumes=mig_vols))
        j = job(w, name, NS, created,
                {"app.kubernetes.io/name": app, "app.kubernetes.io/part-of": "bleater",
                 "app.kubernetes.io/component": "presync-hook", **extra_labels},
                t, job_status_suspended(created), annotations=ann, finalizers=["bleater.io/hook-cleanup"],
                suspend=True, backoff=2, uid_tag=uid_tag)
        return w.add(j, created)

    orphan = None
    if not S:
        orphan = hook_job("auth-presync-migrate-legacy7r2x", "auth-service", "2024-11-18T23:01:04Z",
                          {"argocd.argoproj.io/hook": "PreSync", "argocd.argoproj.io/sync-wave": "-1"}, {},
                          ["/bin/bash", "/migrations/migrate.sh"], "migration-runner")
    decoy = hook_job("fanout-presync-validate", "fanout-service", "2024-11-18T23:01:07Z",
                     {"argocd.argoproj.io/hook": "PreSync", "argocd.argoproj.io/hook-delete-policy": "HookSucceeded",
                      "argocd.argoproj.io/sync-wave": "-1"},
                     {"bleater.io/owner": "platform-team"},
                     ["sh", "-c", "psql -h \"$DB_HOST\" -U \"$DB_USER\" -d \"$DB_NAME\" -v ON_ERROR_STOP=1 -c 'SELECT count(*) FROM follows'"],
                     "fanout-service")

    # ---- other teams' workloads ---------------------------------------------------
    events_other = []

    def team_deploy(name, team, created, image, req, lim, labels_extra=None, sel=None, replicas=1, argo=None,
                    helm=None, sa_name="default", ready_at=None, port=8080, gen=1, rev=1, strategy=None,
                    env=None, probe_path="/ready"):
        sel = sel or {"app.kubernetes.io/name": name}
        labels = {**sel, "bleater.io/owner": team, **(labels_extra or {})}
        ann = None
        if argo:
            labels["app.kubernetes.io/instance"] = argo
            ann = {"argocd.argoproj.io/tracking-id": f"{argo}:apps/Deployment:{NS}/{name}"}
        if helm:
            labels.update({"app.kubernetes.io/instance": helm[0], "app.kubernetes.io/managed-by": "Helm",
                           "helm.sh/chart": helm[1]})
            ann = {"meta.helm.sh/release-name": helm[0], "meta.helm.sh/release-namespace": NS}
        plabels = {k: v for k, v in labels.items() if k not in ("helm.sh/chart",)}
        c = container(name.split("-")[-1] if name.startswith("auth-service") else name, image, req, lim, env=env,
                      ports=[{"containerPort": port, "name": "http", "protocol": "TCP"}],
                      probe=http_probe(probe_path))
        spec = pod_spec([c], sa=sa_name)
        tmpl = template(plabels, spec)
        dep = deployment(w, name, NS, created, labels, sel, tmpl, replicas=replicas, annotations=ann,
                         generation=gen, revision=rev, strategy=strategy)
        h = safe(name + image + "hash", 10)
        rs_name = f"{name}-{h}"
        ready_at = ready_at or add_s(created, 20)
        return dep, h, rs_name, tmpl, ready_at

    def simple_team_deploy(*a, **kw):
        dep, h, rs_name, tmpl, ready_at = team_deploy(*a, **kw)
        dep["status"] = dep_status_ok(dep["metadata"]["generation"], rs_name, ready_at, ready_at)
        rs = replicaset(w, dep, h, dep["metadata"]["creationTimestamp"] if dep["metadata"]["generation"] == 1 else add_s(ready_at, -20),
                        int(dep["metadata"]["annotations"]["deployment.kubernetes.io/revision"]), 1, rs_status(1, 1, 1))
        w.add(dep, ready_at)
        w.add(rs, ready_at)
        pname = f"{rs_name}-{safe(rs_name + 'p', 5)}"
        pc = rs["metadata"]["creationTimestamp"]
        p = make_pod(w, pname, NS, pc, rs["spec"]["template"], rs,
                     pod_status_running(w, pname, rs["spec"]["template"]["spec"], pc, ready_at), gen_name=f"{rs_name}-")
        w.add(p, ready_at)
        pods_nonterminal.append(p)
        return dep, rs, p

    simple_team_deploy("auth-service-metrics-exporter", "observability", "2024-10-03T10:25:12Z",
                       "quay.io/prometheuscommunity/postgres-exporter:v0.15.0", ("25m", "24Mi"), ("100m", "64Mi"),
                       labels_extra={"app.kubernetes.io/part-of": "bleater"},
                       sel={"app.kubernetes.io/name": "auth-service", "app.kubernetes.io/component": "metrics-exporter"},
                       port=9187, probe_path="/metrics")
    simple_team_deploy("otel-collector", "observability", "2024-10-03T10:20:12Z",
                       "otel/opentelemetry-collector-contrib:0.112.0", ("50m", "64Mi"), ("500m", "256Mi"),
                       labels_extra={"app.kubernetes.io/part-of": "bleater"}, argo="otel-collector",
                       sa_name="otel-collector", port=13133, probe_path="/")
    simple_team_deploy("fluent-bit-aggregator", "observability", "2024-10-03T10:21:40Z",
                       "fluent/fluent-bit:3.1.9", ("50m", "32Mi"), ("200m", "128Mi"), port=2020,
                       probe_path="/api/v1/health")
    _, _, search_indexer_pod = simple_team_deploy(
        "search-indexer", "search", "2024-10-09T08:43:02Z", "registry.bleater.io/search/indexer:5.2.1",
        ("100m", "48Mi"), ("1", "512Mi"), labels_extra={"app.kubernetes.io/part-of": "bleater"},
        argo="search", sa_name="search", gen=3, rev=3, ready_at="2024-11-13T11:02:18Z")
    simple_team_deploy("search-query-api", "search", "2024-10-09T08:43:05Z",
                       "registry.bleater.io/search/query-api:5.2.1", ("50m", "48Mi"), ("500m", "256Mi"),
                       labels_extra={"app.kubernetes.io/part-of": "bleater"}, argo="search", sa_name="search",
                       gen=3, rev=3, ready_at="2024-11-13T11:03:02Z")
    simple_team_deploy("feature-flag-service", "growth", "2024-10-14T12:01:10Z",
                       "registry.bleater.io/growth/flagd:0.11.2", ("25m", "32Mi"), ("200m", "128Mi"),
                       labels_extra={"app.kubernetes.io/part-of": "bleater"}, argo="feature-flags")
    simple_team_deploy("profile-service-avatar-resizer", "media", "2024-10-21T15:30:44Z",
                       "registry.bleater.io/media/avatar-resizer:1.3.0", ("50m", "48Mi"), ("500m", "256Mi"),
                       labels_extra={"app.kubernetes.io/part-of": "bleater"},
                       sel={"app.kubernetes.io/name": "profile-service", "app.kubernetes.io/component": "avatar-resizer"})
    simple_team_deploy("fanout-service-dlq-worker", "platform-team", "2024-10-25T09:12:05Z",
                       "registry.bleater.io/platform/dlq-worker:0.8.4", ("25m", "32Mi"), ("200m", "128Mi"),
                       labels_extra={"app.kubernetes.io/part-of": "bleater"},
                       sel={"app.kubernetes.io/name": "fanout-service", "app.kubernetes.io/component": "dlq-worker"})
    simple_team_deploy("bleater-edge-ratelimit", "platform-team", "2024-11-01T14:20:33Z",
                       "registry.bleater.io/platform/ratelimit:2.0.1", ("25m", "32Mi"), ("200m", "128Mi"),
                       labels_extra={"app.kubernetes.io/part-of": "bleater"},
                       helm=("bleater-edge", "bleater-edge-0.4.2"), gen=3, rev=3, ready_at="2024-11-15T10:02:40Z")

    # growth-experiments-api: scaled 1 -> 2 right after the quota landed; the 2nd pod is forbidden
    g_dep, h, grs_name, tmpl, _ = team_deploy(
        "growth-experiments-api", "growth", "2024-10-14T12:05:51Z", "registry.bleater.io/growth/experiments-api:0.19.0",
        ("25m", "32Mi"), ("250m", "128Mi"), replicas=2, gen=2,
        strategy={"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 1}})
    g_rs = replicaset(w, g_dep, h, "2024-10-14T12:05:51Z", 1, 2, None)
    g_rs["metadata"]["annotations"]["deployment.kubernetes.io/desired-replicas"] = "2"
    g_rs["metadata"]["annotations"]["deployment.kubernetes.io/max-replicas"] = "3"
    g_req = quota_request(tmpl["spec"])
    gp1 = f"{grs_name}-{safe(grs_name + 'p', 5)}"
    gp1_pod = make_pod(w, gp1, NS, "2024-10-14T12:05:51Z", g_rs["spec"]["template"], g_rs,
                       pod_status_running(w, gp1, tmpl["spec"], "2024-10-14T12:05:51Z", "2024-10-14T12:06:09Z"),
                       gen_name=f"{grs_name}-")
    w.add(gp1_pod, "2024-10-14T12:06:09Z")
    pods_nonterminal.append(gp1_pod)
    gp2 = f"{grs_name}-{safe(grs_name + 'p2', 5)}"
    if S:
        gp2_pod = make_pod(w, gp2, NS, "2024-11-19T04:05:02Z", g_rs["spec"]["template"], g_rs,
                           pod_status_running(w, gp2, tmpl["spec"], "2024-11-19T04:05:02Z", "2024-11-19T04:05:21Z"),
                           gen_name=f"{grs_name}-")
        pods_nonterminal.append(gp2_pod)
    # ---- cron jobs --------------------------------------------------------------------
    # timeline-reindex: long-running job started before the rollout (pod holds the job-tracking finalizer)
    tr_labels = {"app.kubernetes.io/name": "timeline-service", "app.kubernetes.io/component": "reindex",
                 "app.kubernetes.io/part-of": "bleater", "bleater.io/owner": "platform-team"}
    tr_c = container("reindex", "registry.bleater.io/platform/timeline-reindex:1.4.0", ("100m", "48Mi"), ("1", "256Mi"),
                     env=db_env)
    tr_tmpl = template(tr_labels, pod_spec([tr_c], restart="OnFailure"))
    tr_sched = "2024-11-18T22:30:00Z"
    tr_job_name = f"timeline-reindex-{cron_suffix(tr_sched)}"
    cj_tr = cronjob(w, "timeline-reindex", NS, "2024-10-02T09:00:12Z", tr_labels, "30 22 * * *", tr_labels, tr_tmpl,
                    None, concurrency="Forbid", history=0, extra_job_spec={"activeDeadlineSeconds": 28800})
    tr_job_uid = w.uid(f"Job/{NS}/{tr_job_name}")
    cj_tr["status"] = {"active": [{"apiVersion": "batch/v1", "kind": "Job", "name": tr_job_name, "namespace": NS,
                                   "resourceVersion": "", "uid": tr_job_uid}],
                       "lastScheduleTime": tr_sched, "lastSuccessfulTime": "2024-11-18T03:12:51Z"}
    w.add(cj_tr, tr_sched)
    tr_job = job(w, tr_job_name, NS, tr_sched, tr_labels, tr_tmpl,
                 job_status_active(tr_sched, 1, 1), owners=[w.owner(cj_tr)],
                 annotations={"batch.kubernetes.io/cronjob-scheduled-timestamp": tr_sched},
                 extra_spec={"activeDeadlineSeconds": 28800}, backoff=2)
    w.add(tr_job, "2024-11-18T22:30:14Z")
    cj_tr["status"]["active"][0]["resourceVersion"] = tr_job["metadata"]["resourceVersion"]
    trp = f"{tr_job_name}-{safe(tr_job_name + 'p', 5)}"
    tr_pod = make_pod(w, trp, NS, tr_sched, tr_job["spec"]["template"], tr_job,
                      pod_status_running(w, trp, tr_job["spec"]["template"]["spec"], tr_sched, "2024-11-18T22:30:14Z"),
                      gen_name=f"{tr_job_name}-", finalizers=["batch.kubernetes.io/job-tracking"])
    w.add(tr_pod, "2024-11-18T22:30:14Z")
    pods_nonterminal.append(tr_pod)

    # search-index-compaction: hourly, Forbid; the 23:15 run cannot create its pod (quota)
    sc_labels = {"app.kubernetes.io/name": "search-indexer", "app.kubernetes.io/component": "compaction",
                 "bleater.io/owner": "search"}
    sc_c = container("compact", "registry.bleater.io/search/indexer:5.2.1", ("50m", "48Mi"), ("500m", "256Mi"),
                     command=["/indexer", "compact", "--lock-configmap=search-index-lock"])
    sc_tmpl = template(sc_labels, pod_spec([sc_c], sa="search", restart="Never"))
    cj_sc = cronjob(w, "search-index-compaction", NS, "2024-10-09T08:44:00Z", sc_labels, "15 * * * *", sc_labels,
                    sc_tmpl, None, concurrency="Forbid", history=1,
                    annotations={"argocd.argoproj.io/tracking-id": f"search:batch/CronJob:{NS}/search-index-compaction"})
    cj_sc["metadata"]["labels"]["app.kubernetes.io/instance"] = "search"
    # successfulJobsHistoryLimit 1: only the newest finished run is kept
    runs = [("2024-11-18T22:15:00Z", "2024-11-18T22:16:38Z")]
    blocked = "2024-11-18T23:15:00Z"
    if S:
        runs = [("2024-11-19T04:15:00Z", "2024-11-19T04:16:22Z")]
        cj_sc["status"] = {"lastScheduleTime": "2024-11-19T04:15:00Z", "lastSuccessfulTime": "2024-11-19T04:16:22Z"}
        w.add(cj_sc, "2024-11-19T04:16:22Z")
    else:
        cj_sc["status"] = {"active": [{"apiVersion": "batch/v1", "kind": "Job", "namespace": NS,
                                       "name": f"search-index-compaction-{cron_suffix(blocked)}",
                                       "uid": w.uid(f"Job/{NS}/search-index-compaction-{cron_suffix(blocked)}"),
                                       "resourceVersion": ""}],
                           "lastScheduleTime": blocked, "lastSuccessfulTime": "2024-11-18T22:16:38Z"}
        w.add(cj_sc, blocked)
    sc_jobs = {}
    for sched, done in runs:
        jn = f"search-index-compaction-{cron_suffix(sched)}"
        start = sched if sched != blocked else blocked
        pod_start = sched if sched != blocked else "2024-11-19T04:05:03Z"
        j = job(w, jn, NS, sched, sc_labels, sc_tmpl, job_status_complete(start, done), owners=[w.owner(cj_sc)],
                annotations={"batch.kubernetes.io/cronjob-scheduled-timestamp": sched}, backoff=2)
        j["metadata"]["labels"]["app.kubernetes.io/instance"] = "search"
        w.add(j, done)
        pn = f"{jn}-{safe(jn + 'p', 5)}"
        p = make_pod(w, pn, NS, pod_start, j["spec"]["template"], j,
                     pod_status_succeeded(w, pn, j["spec"]["template"]["spec"], pod_start, add_s(done, -2)),
                     gen_name=f"{jn}-")
        w.add(p, done)
        sc_jobs[sched] = (j, p)
    if not S:
        jn = f"search-index-compaction-{cron_suffix(blocked)}"
        j = job(w, jn, NS, blocked, sc_labels, sc_tmpl, job_status_active(blocked, 0, 0), owners=[w.owner(cj_sc)],
                annotations={"batch.kubernetes.io/cronjob-scheduled-timestamp": blocked}, backoff=2)
        j["metadata"]["labels"]["app.kubernetes.io/instance"] = "search"
        w.add(j, blocked)
        cj_sc["status"]["active"][0]["resourceVersion"] = j["metadata"]["resourceVersion"]
        sc_jobs[blocked] = (j, None)

    # growth-email-digest: daily 06:00, last run completed well before the rollout
    gd_labels = {"app.kubernetes.io/name": "growth-email-digest", "bleater.io/owner": "growth"}
    gd_c = container("digest", "registry.bleater.io/growth/email-digest:2.1.0", ("50m", "64Mi"), ("500m", "256Mi"))
    gd_tmpl = template(gd_labels, pod_spec([gd_c], restart="OnFailure"))
    cj_gd = cronjob(w, "growth-email-digest", NS, "2024-10-14T12:10:02Z", gd_labels, "0 6 * * *", gd_labels, gd_tmpl,
                    history=1, status={"lastScheduleTime": "2024-11-18T06:00:00Z", "lastSuccessfulTime": "2024-11-18T06:07:12Z"})
    w.add(cj_gd, "2024-11-18T06:07:12Z")
    gd_sched = "2024-11-18T06:00:00Z"
    gjn = f"growth-email-digest-{cron_suffix(gd_sched)}"
    gj = job(w, gjn, NS, gd_sched, gd_labels, gd_tmpl, job_status_complete(gd_sched, "2024-11-18T06:07:12Z"),
             owners=[w.owner(cj_gd)], annotations={"batch.kubernetes.io/cronjob-scheduled-timestamp": gd_sched}, backoff=2)
    w.add(gj, "2024-11-18T06:07:12Z")
    gpn = f"{gjn}-{safe(gjn + 'p', 5)}"
    w.add(make_pod(w, gpn, NS, gd_sched, gj["spec"]["template"], gj,
                   pod_status_succeeded(w, gpn, gj["spec"]["template"]["spec"], gd_sched, "2024-11-18T06:07:10Z"),
                   gen_name=f"{gjn}-"), "2024-11-18T06:07:12Z")

    # timeline-cache: redis StatefulSet, platform-team
    tc_sel = {"app.kubernetes.io/name": "timeline-cache"}
    tc_labels = {**tc_sel, "app.kubernetes.io/part-of": "bleater", "bleater.io/owner": "platform-team"}
    tc_c = container("redis", "redis:7.2-alpine", ("50m", "64Mi"), ("500m", "256Mi"), command=["redis-server", "--save", "", "--appendonly", "no"],
                     ports=[{"containerPort": 6379, "name": "redis", "protocol": "TCP"}],
                     probe={"tcpSocket": {"port": "redis"}, "periodSeconds": 10, "timeoutSeconds": 1,
                            "successThreshold": 1, "failureThreshold": 3})
    tc_tmpl = template(tc_labels, pod_spec([tc_c]))
    tc_rev = f"timeline-cache-{safe('tcrev', 10)}"
    tc_sts = {"apiVersion": "apps/v1", "kind": "StatefulSet",
              "metadata": w.meta("StatefulSet", "timeline-cache", NS, "2024-09-20T10:00:03Z", labels=tc_labels, generation=1),
              "spec": {"persistentVolumeClaimRetentionPolicy": {"whenDeleted": "Retain", "whenScaled": "Retain"},
                       "podManagementPolicy": "OrderedReady", "replicas": 1, "revisionHistoryLimit": 10,
                       "selector": {"matchLabels": tc_sel}, "serviceName": "timeline-cache", "template": tc_tmpl,
                       "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}}},
              "status": {"availableReplicas": 1, "collisionCount": 0, "currentReplicas": 1, "currentRevision": tc_rev,
                         "observedGeneration": 1, "readyReplicas": 1, "replicas": 1, "updateRevision": tc_rev,
                         "updatedReplicas": 1}}
    w.add(tc_sts, "2024-11-04T09:14:02Z")
    tcp_tmpl = copy.deepcopy(tc_tmpl)
    tcp_tmpl["metadata"]["labels"].update({"apps.kubernetes.io/pod-index": "0", "controller-revision-hash": tc_rev,
                                           "statefulset.kubernetes.io/pod-name": "timeline-cache-0"})
    tc_pod = make_pod(w, "timeline-cache-0", NS, "2024-11-04T09:13:50Z", tcp_tmpl, tc_sts,
                      pod_status_running(w, "timeline-cache-0", tcp_tmpl["spec"], "2024-11-04T09:13:50Z", "2024-11-04T09:14:02Z"),
                      extra_spec={"hostname": "timeline-cache-0", "subdomain": "timeline-cache"})
    w.add(tc_pod, "2024-11-04T09:14:02Z")
    pods_nonterminal.append(tc_pod)
    w.add(service(w, "timeline-cache", NS, "2024-09-20T10:00:02Z", tc_labels, tc_sel, [sport("redis", 6379, "redis")],
                  headless=True), "2024-09-20T10:00:02Z")

    # Helm pre-upgrade hook (completed) of the bleater-edge release
    hk_labels = {"app.kubernetes.io/name": "bleater-edge-db-check", "app.kubernetes.io/instance": "bleater-edge",
                 "app.kubernetes.io/managed-by": "Helm", "helm.sh/chart": "bleater-edge-0.4.2",
                 "bleater.io/owner": "platform-team"}
    hk_c = container("db-check", "postgres:15-alpine", ("25m", "32Mi"), ("100m", "64Mi"),
                     command=["pg_isready", "-h", "bleat-db", "-p", "5432", "-t", "10"])
    hk_tmpl = template({k: v for k, v in hk_labels.items() if k != "helm.sh/chart"}, pod_spec([hk_c], restart="Never"))
    hk_created = "2024-11-15T10:02:12Z"
    hk = job(w, "bleater-edge-db-check", NS, hk_created, hk_labels, hk_tmpl,
             job_status_complete(hk_created, "2024-11-15T10:02:21Z"), backoff=1,
             annotations={"helm.sh/hook": "pre-upgrade", "helm.sh/hook-delete-policy": "before-hook-creation",
                          "helm.sh/hook-weight": "-5"})
    w.add(hk, "2024-11-15T10:02:21Z")
    hkp = f"bleater-edge-db-check-{safe('hkp', 5)}"
    w.add(make_pod(w, hkp, NS, hk_created, hk["spec"]["template"], hk,
                   pod_status_succeeded(w, hkp, hk["spec"]["template"]["spec"], hk_created, "2024-11-15T10:02:20Z"),
                   gen_name="bleater-edge-db-check-"), "2024-11-15T10:02:21Z")

    # ---- healthy: the migration job that ran after the repairs ------------------------
    if S:
        mj_labels = {"app.kubernetes.io/name": "bleat-db", "app.kubernetes.io/component": "migrations",
                     "app.kubernetes.io/part-of": "bleater", "bleater.io/incident": "INC-4471"}
        mj_c = container("migrate", "postgres:15-alpine", ("50m", "64Mi"), ("250m", "128Mi"),
                         command=["/bin/bash", "/migrations/migrate.sh"], env=mig_env,
                         mounts=mig_mounts + [{"mountPath": "/work", "name": "work"}])
        mj_tmpl = template(mj_labels, pod_spec([mj_c], sa="migration-runner", restart="Never",
                                               volumes=mig_vols + [{"name": "work", "persistentVolumeClaim": {"claimName": "bleat-migration-pvc"}}]))
        mj = job(w, "bleat-schema-migrate-v3", NS, "2024-11-19T04:27:00Z", mj_labels, mj_tmpl,
                 job_status_complete("2024-11-19T04:27:00Z", "2024-11-19T04:27:33Z"), backoff=0)
        w.add(mj, "2024-11-19T04:27:33Z")
        mjp = f"bleat-schema-migrate-v3-{safe('mjp', 5)}"
        mj_pod = make_pod(w, mjp, NS, "2024-11-19T04:27:00Z", mj["spec"]["template"], mj,
                          pod_status_succeeded(w, mjp, mj["spec"]["template"]["spec"], "2024-11-19T04:27:05Z",
                                               "2024-11-19T04:27:31Z"), gen_name="bleat-schema-migrate-v3-")
        w.add(mj_pod, "2024-11-19T04:27:33Z")

    # ---- growth RS + deployment status (needs quota outcome) ---------------------------
    if S:
        g_rs["status"] = rs_status(2, 2, 2)
        g_dep["status"] = dep_status_ok(2, grs_name, "2024-11-19T04:05:21Z", "2024-11-19T04:05:21Z", replicas=2)
        w.add(g_dep, "2024-11-19T04:05:21Z")
        w.add(g_rs, "2024-11-19T04:05:21Z")
        w.add(gp2_pod, "2024-11-19T04:05:21Z")

    # ---- quota -------------------------------------------------------------------
    cpu = sum(quota_request(p["spec"])[0] for p in pods_nonterminal)
    mem = sum(quota_request(p["spec"])[1] for p in pods_nonterminal)
    npods = len(pods_nonterminal)
    hard = ({"pods": "24", "requests.cpu": "2", "requests.memory": "1Gi"} if S
            else {"pods": "1", "requests.cpu": "500m", "requests.memory": "256Mi"})
    used = {"pods": str(npods), "requests.cpu": fmt_cpu(cpu), "requests.memory": fmt_mem(mem)}
    w.add({"apiVersion": "v1", "kind": "ResourceQuota",
           "metadata": w.meta("ResourceQuota", "bleater-quota", NS, "2024-11-18T23:03:27Z",
                              labels={"app.kubernetes.io/part-of": "bleater", **ROLLOUT_LABEL},
                              annotations={"bleater.io/change-ticket": "SEC-2291"}),
           "spec": {"hard": dict(hard)},
           "status": {"hard": dict(hard), "used": used}},
          "2024-11-19T04:05:21Z" if S else "2024-11-18T23:03:28Z")

    if not S:
        # incident: growth deployment wants 2, has 1; RS reports the quota failure
        fail_pod = f"{grs_name}-{safe(grs_name + 'failz', 5)}"
        msg = quota_msg(fail_pod, g_req, npods, cpu, mem, hard)
        g_rs["status"] = rs_status(1, 1, 2, conditions=[
            {"type": "ReplicaFailure", "status": "True", "reason": "FailedCreate", "message": msg,
             "lastTransitionTime": "2024-11-18T23:06:02Z"}])
        g_dep["status"] = {"availableReplicas": 1, "observedGeneration": 2, "readyReplicas": 1, "replicas": 1,
                         "unavailableReplicas": 1, "updatedReplicas": 1, "conditions": [
                             dcond("Available", "True", "2024-10-14T12:06:09Z", "2024-10-14T12:06:09Z",
                                   "MinimumReplicasAvailable", "Deployment has minimum availability."),
                             dcond("ReplicaFailure", "True", "2024-11-18T23:06:02Z", "2024-11-18T23:06:02Z",
                                   "FailedCreate", msg),
                             dcond("Progressing", "False", "2024-11-18T23:16:02Z", "2024-11-18T23:16:02Z",
                                   "ProgressDeadlineExceeded", f'ReplicaSet "{grs_name}" has timed out progressing.')]}
        w.add(g_dep, "2024-11-18T23:16:02Z")
        w.add(g_rs, "2024-11-18T23:06:02Z")

    # ---- bleater-system ---------------------------------------------------------------
    sys_created = "2024-09-02T14:11:10Z"
    kube_root_ca(w, SYS, add_s(sys_created, 1))
    sa(w, "default", SYS, add_s(sys_created, 1))
    sa(w, "bleater-reconciler", SYS, "2024-09-02T15:01:10Z", labels=rec_labels)
    configmap(w, "bleater-reconciler-config", SYS, "2024-09-02T15:01:11Z", {"config.yaml": content.RECONCILER_CONFIG},
              mtime="2024-11-11T16:40:05Z", labels=rec_labels)
    w.add({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
           "metadata": w.meta("Role", "bleater-status-writer", SYS, "2024-09-02T15:01:12Z", labels=rec_labels),
           "rules": [{"apiGroups": [""], "resources": ["configmaps"], "resourceNames": ["bleater-status"],
                      "verbs": ["get", "update", "patch"]},
                     {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["create"]},
                     {"apiGroups": [""], "resources": ["events"], "verbs": ["create", "patch"]}]}, "2024-09-02T15:01:12Z")
    w.add({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
           "metadata": w.meta("RoleBinding", "bleater-status-writer", SYS, "2024-09-02T15:01:12Z", labels=rec_labels),
           "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "bleater-status-writer"},
           "subjects": [{"kind": "ServiceAccount", "name": "bleater-reconciler", "namespace": SYS}]},
          "2024-09-02T15:01:12Z")
    rc = container("reconciler", "python:3.12-slim", ("50m", "64Mi"), ("250m", "128Mi"),
                   command=["python", "/app/reconcile.py", "--config", "/etc/bleater/config.yaml"],
                   env=[val_env("PYTHONUNBUFFERED", "1"),
                        {"name": "POD_NAME", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.name"}}}],
                   mounts=[{"mountPath": "/etc/bleater", "name": "config", "readOnly": True}],
                   secctx=HARDENED)
    rspec = pod_spec([rc], sa="bleater-reconciler", volumes=[{"name": "config", "configMap": {"name": "bleater-reconciler-config", "defaultMode": 420}}])
    rsel = {"app.kubernetes.io/name": "bleater-reconciler"}
    rtmpl = template({**rsel, "app.kubernetes.io/part-of": "bleater"}, rspec)
    rdep = deployment(w, "bleater-reconciler", SYS, "2024-09-02T15:01:14Z", rec_labels, rsel, rtmpl, generation=4, revision=4)
    rh = safe("reconciler-hash", 10)
    rrs_name = f"bleater-reconciler-{rh}"
    rdep["status"] = dep_status_ok(4, rrs_name, "2024-11-11T16:41:02Z", "2024-11-11T16:41:02Z")
    rrs = replicaset(w, rdep, rh, "2024-11-11T16:40:41Z", 4, 1, rs_status(1, 1, 1))
    w.add(rdep, "2024-11-11T16:41:02Z")
    w.add(rrs, "2024-11-11T16:41:02Z")
    rpn = f"{rrs_name}-{safe('rpod', 5)}"
    rpod = make_pod(w, rpn, SYS, "2024-11-11T16:40:41Z", rrs["spec"]["template"], rrs,
                    pod_status_running(w, rpn, rspec, "2024-11-11T16:40:41Z", "2024-11-11T16:41:02Z"), gen_name=f"{rrs_name}-")
    w.add(rpod, "2024-11-11T16:41:02Z")

    now = "2024-11-19T05:10:00Z" if S else "2024-11-19T03:41:30Z"
    status_val = "Healthy" if S else "Progressing"
    status_data = {a: status_val for a in APPS}
    status_data["last-reconciled"] = now
    fields_data = {".": {}, **{f"f:{k}": {} for k in sorted(status_data)}}
    status_cm = configmap(
        w, "bleater-status", SYS, "2024-09-02T15:01:20Z", status_data, mtime=now,
        labels={"app.kubernetes.io/managed-by": "bleater-reconciler", "app.kubernetes.io/part-of": "bleater"},
        annotations={"bleater.io/manual-override": "INC-4471 mark healthy to silence pages"},
        extra_md={"managedFields": [
            {"apiVersion": "v1", "fieldsType": "FieldsV1",
             "fieldsV1": {"f:data": fields_data,
                          "f:metadata": {"f:labels": {".": {}, "f:app.kubernetes.io/managed-by": {},
                                                      "f:app.kubernetes.io/part-of": {}}}},
             "manager": "bleater-reconciler", "operation": "Update", "time": now},
            {"apiVersion": "v1", "fieldsType": "FieldsV1",
             "fieldsV1": {"f:metadata": {"f:annotations": {".": {}, "f:bleater.io/manual-override": {}}}},
             "manager": "kubectl-patch", "operation": "Update", "time": "2024-11-19T03:12:29Z"}]})

    # ---- events ---------------------------------------------------------------------
    E = w.event
    K = w.kubelet_event
    bdep = w.get("Deployment", NS, "bleat-service")
    bpod = bleat_pod
    b_rs = w.get("ReplicaSet", NS, f"bleat-service-{safe('bleat-service3.8.0hash', 10)}")
    old_rs_obj = w.get("ReplicaSet", NS, f"bleat-service-{old_h}")
    init_fp = "wait-for-db-schema"
    E(bdep, "ScalingReplicaSet", f"Scaled down replica set {old_rs_obj['metadata']['name']} to 0 from 1", "Normal", 1,
      "2024-11-18T23:00:38Z", "2024-11-18T23:00:38Z", "deployment-controller")
    E(bdep, "ScalingReplicaSet", f"Scaled up replica set {b_rs['metadata']['name']} to 1", "Normal", 1,
      "2024-11-18T23:00:41Z", "2024-11-18T23:00:41Z", "deployment-controller")
    old_pod_name = f"{old_rs_obj['metadata']['name']}-{safe('oldbleatpod', 5)}"
    E(old_rs_obj, "SuccessfulDelete", f"Deleted pod: {old_pod_name}", "Normal", 1,
      "2024-11-18T23:00:38Z", "2024-11-18T23:00:38Z", "replicaset-controller")
    E(b_rs, "SuccessfulCreate", f"Created pod: {bpod['metadata']['name']}", "Normal", 1,
      "2024-11-18T23:00:41Z", "2024-11-18T23:00:41Z", "replicaset-controller")
    E(bpod, "Scheduled", f"Successfully assigned {NS}/{bpod['metadata']['name']} to {NODE}", "Normal", 1,
      "2024-11-18T23:00:41Z", "2024-11-18T23:00:41Z", "default-scheduler")
    K(bpod, "Pulling", 'Pulling image "postgres:15-alpine"', "Normal", 1, "2024-11-18T23:00:42Z", "2024-11-18T23:00:42Z",
      init_fp, init=True)
    K(bpod, "Pulled", 'Successfully pulled image "postgres:15-alpine" in 4.312s (4.312s including waiting). Image size: 109402573 bytes.',
      "Normal", 1, "2024-11-18T23:00:46Z", "2024-11-18T23:00:46Z", init_fp, init=True)
    runs_n = 58 if S else 48
    last_run = "2024-11-19T04:29:07Z" if S else "2024-11-19T03:38:17Z"
    K(bpod, "Pulled", 'Container image "postgres:15-alpine" already present on machine', "Normal", runs_n - 1,
      "2024-11-18T23:01:02Z", last_run, init_fp, init=True)
    K(bpod, "Created", "Created container wait-for-db-schema", "Normal", runs_n, "2024-11-18T23:00:46Z", last_run,
      init_fp, init=True)
    K(bpod, "Started", "Started container wait-for-db-schema", "Normal", runs_n, "2024-11-18T23:00:46Z", last_run,
      init_fp, init=True)
    K(bpod, "BackOff", f"Back-off restarting failed container wait-for-db-schema in pod {bpod['metadata']['name']}_{NS}({bpod['metadata']['uid']})",
      "Warning", 1287 if S else 1203, "2024-11-18T23:00:49Z",
      "2024-11-19T04:28:55Z" if S else "2024-11-19T03:41:27Z", init_fp, init=True)
    if S:
        K(bpod, "Pulling", 'Pulling image "registry.bleater.io/bleater/bleat-service:3.8.0"', "Normal", 1,
          "2024-11-19T04:29:09Z", "2024-11-19T04:29:09Z", "bleat-service")
        K(bpod, "Pulled", 'Successfully pulled image "registry.bleater.io/bleater/bleat-service:3.8.0" in 1.118s (1.118s including waiting). Image size: 48211907 bytes.',
          "Normal", 1, "2024-11-19T04:29:10Z", "2024-11-19T04:29:10Z", "bleat-service")
        K(bpod, "Created", "Created container bleat-service", "Normal", 1, "2024-11-19T04:29:10Z", "2024-11-19T04:29:10Z", "bleat-service")
        K(bpod, "Started", "Started container bleat-service", "Normal", 1, "2024-11-19T04:29:10Z", "2024-11-19T04:29:10Z", "bleat-service")

    # suspended hook jobs
    if orphan:
        E(orphan, "Suspended", "Job suspended", "Normal", 1, "2024-11-18T23:01:04Z", "2024-11-18T23:01:04Z", "job-controller")
    E(decoy, "Suspended", "Job suspended", "Normal", 1, "2024-11-18T23:01:07Z", "2024-11-18T23:01:07Z", "job-controller")

    # quota: growth RS
    gdep = w.get("Deployment", NS, "growth-experiments-api")
    E(gdep, "ScalingReplicaSet", f"Scaled up replica set {grs_name} to 2 from 1", "Normal", 1,
      "2024-11-18T23:06:02Z", "2024-11-18T23:06:02Z", "deployment-controller")
    quota_hard_incident = {"pods": "1", "requests.cpu": "500m", "requests.memory": "256Mi"}
    # pods/cpu/mem in use while the quota was at 1 (identical in both files: nothing changed until the fix)
    inc_pods, inc_cpu, inc_mem = (npods - 1, cpu - g_req[0], mem - g_req[1]) if S else (npods, cpu, mem)
    for i in range(10):
        pn = f"{grs_name}-{safe(grs_name + 'fail' + str(i), 5)}"
        E(g_rs, "FailedCreate", "Error creating: " + quota_msg(pn, g_req, inc_pods, inc_cpu, inc_mem, quota_hard_incident),
          "Warning", 1, add_s("2024-11-18T23:06:02Z", i // 3), add_s("2024-11-18T23:06:02Z", i // 3),
          "replicaset-controller", tag=str(i))
    E(g_rs, "FailedCreate", "(combined from similar events): Error creating: "
      + quota_msg(f"{grs_name}-{safe(grs_name + ('failz2' if S else 'failz'), 5)}", g_req, inc_pods, inc_cpu, inc_mem, quota_hard_incident),
      "Warning", 41 if S else 37, "2024-11-18T23:06:18Z", "2024-11-19T04:03:40Z" if S else "2024-11-19T03:39:51Z",
      "replicaset-controller", tag="combined")
    if S:
        E(g_rs, "SuccessfulCreate", f"Created pod: {gp2}", "Normal", 1, "2024-11-19T04:05:02Z", "2024-11-19T04:05:02Z",
          "replicaset-controller")
        E(gp2_pod, "Scheduled", f"Successfully assigned {NS}/{gp2} to {NODE}", "Normal", 1,
          "2024-11-19T04:05:02Z", "2024-11-19T04:05:02Z", "default-scheduler")
        K(gp2_pod, "Pulled", 'Container image "registry.bleater.io/growth/experiments-api:0.19.0" already present on machine',
          "Normal", 1, "2024-11-19T04:05:04Z", "2024-11-19T04:05:04Z", "growth-experiments-api")
        K(gp2_pod, "Created", "Created container growth-experiments-api", "Normal", 1, "2024-11-19T04:05:04Z", "2024-11-19T04:05:04Z", "growth-experiments-api")
        K(gp2_pod, "Started", "Started container growth-experiments-api", "Normal", 1, "2024-11-19T04:05:05Z", "2024-11-19T04:05:05Z", "growth-experiments-api")

    # search compaction cron
    sc_req = quota_request(sc_tmpl["spec"])
    j22name = f"search-index-compaction-{cron_suffix('2024-11-18T22:15:00Z')}"
    jbname = f"search-index-compaction-{cron_suffix(blocked)}"
    E(cj_sc, "SuccessfulCreate", f"Created job {j22name}", "Normal", 1,
      "2024-11-18T22:15:00Z", "2024-11-18T22:15:00Z", "cronjob-controller")
    E(cj_sc, "SawCompletedJob", f"Saw completed job: {j22name}, condition: Complete", "Normal", 1,
      "2024-11-18T22:16:38Z", "2024-11-18T22:16:38Z", "cronjob-controller")
    E(cj_sc, "SuccessfulCreate", f"Created job {jbname}", "Normal", 1, blocked, blocked, "cronjob-controller")
    E(cj_sc, "JobAlreadyActive", "Not starting job because prior execution is running and concurrency policy is Forbid",
      "Normal", 4, "2024-11-19T00:15:00Z", "2024-11-19T03:15:00Z", "cronjob-controller")
    if not S:
        j22, p22 = sc_jobs["2024-11-18T22:15:00Z"]
        E(j22, "SuccessfulCreate", f"Created pod: {p22['metadata']['name']}", "Normal", 1,
          "2024-11-18T22:15:00Z", "2024-11-18T22:15:00Z", "job-controller")
        E(p22, "Scheduled", f"Successfully assigned {NS}/{p22['metadata']['name']} to {NODE}", "Normal", 1,
          "2024-11-18T22:15:00Z", "2024-11-18T22:15:00Z", "default-scheduler")
        K(p22, "Pulled", 'Container image "registry.bleater.io/search/indexer:5.2.1" already present on machine', "Normal", 1,
          "2024-11-18T22:15:02Z", "2024-11-18T22:15:02Z", "compact")
        K(p22, "Created", "Created container compact", "Normal", 1, "2024-11-18T22:15:02Z", "2024-11-18T22:15:02Z", "compact")
        K(p22, "Started", "Started container compact", "Normal", 1, "2024-11-18T22:15:03Z", "2024-11-18T22:15:03Z", "compact")
        E(j22, "Completed", "Job completed", "Normal", 1, "2024-11-18T22:16:38Z", "2024-11-18T22:16:38Z", "job-controller")
        jb, _ = sc_jobs[blocked]
        fail_times = ["2024-11-18T23:15:00Z", "2024-11-18T23:15:10Z", "2024-11-18T23:15:30Z", "2024-11-18T23:16:10Z",
                      "2024-11-18T23:17:30Z", "2024-11-18T23:20:10Z"]
        for i, t in enumerate(fail_times):
            pn = f"{jbname}-{safe(jbname + 'fail' + str(i), 5)}"
            E(jb, "FailedCreate", "Error creating: " + quota_msg(pn, sc_req, inc_pods, inc_cpu, inc_mem, quota_hard_incident),
              "Warning", 1, t, t, "job-controller", tag=str(i))
        pnz = f"{jbname}-{safe(jbname + 'failz', 5)}"
        E(jb, "FailedCreate", "(combined from similar events): Error creating: "
          + quota_msg(pnz, sc_req, inc_pods, inc_cpu, inc_mem, quota_hard_incident),
          "Warning", 19, "2024-11-18T23:25:30Z", "2024-11-19T03:36:12Z", "job-controller", tag="combined")
    else:
        # the blocked 23:15 run got its pod after the quota fix; history limit 1 then pruned the older jobs
        E(cj_sc, "SawCompletedJob", f"Saw completed job: {jbname}, condition: Complete", "Normal", 1,
          "2024-11-19T04:06:31Z", "2024-11-19T04:06:31Z", "cronjob-controller", tag="b")
        E(cj_sc, "SuccessfulDelete", f"Deleted job {j22name}", "Normal", 1,
          "2024-11-19T04:06:31Z", "2024-11-19T04:06:31Z", "cronjob-controller", tag="b")
        j4, p4 = sc_jobs["2024-11-19T04:15:00Z"]
        E(cj_sc, "SuccessfulCreate", f"Created job {j4['metadata']['name']}", "Normal", 1,
          "2024-11-19T04:15:00Z", "2024-11-19T04:15:00Z", "cronjob-controller", tag="c")
        E(j4, "SuccessfulCreate", f"Created pod: {p4['metadata']['name']}", "Normal", 1,
          "2024-11-19T04:15:00Z", "2024-11-19T04:15:00Z", "job-controller")
        E(p4, "Scheduled", f"Successfully assigned {NS}/{p4['metadata']['name']} to {NODE}", "Normal", 1,
          "2024-11-19T04:15:00Z", "2024-11-19T04:15:00Z", "default-scheduler")
        K(p4, "Pulled", 'Container image "registry.bleater.io/search/indexer:5.2.1" already present on machine', "Normal", 1,
          "2024-11-19T04:15:02Z", "2024-11-19T04:15:02Z", "compact")
        K(p4, "Created", "Created container compact", "Normal", 1, "2024-11-19T04:15:02Z", "2024-11-19T04:15:02Z", "compact")
        K(p4, "Started", "Started container compact", "Normal", 1, "2024-11-19T04:15:03Z", "2024-11-19T04:15:03Z", "compact")
        E(j4, "Completed", "Job completed", "Normal", 1, "2024-11-19T04:16:22Z", "2024-11-19T04:16:22Z", "job-controller")
        E(cj_sc, "SawCompletedJob", f"Saw completed job: {j4['metadata']['name']}, condition: Complete", "Normal", 1,
          "2024-11-19T04:16:22Z", "2024-11-19T04:16:22Z", "cronjob-controller", tag="c")
        E(cj_sc, "SuccessfulDelete", f"Deleted job {jbname}", "Normal", 1,
          "2024-11-19T04:16:22Z", "2024-11-19T04:16:22Z", "cronjob-controller", tag="c")

    # timeline-reindex
    E(cj_tr, "SuccessfulCreate", f"Created job {tr_job_name}", "Normal", 1, tr_sched, tr_sched, "cronjob-controller")
    E(tr_job, "SuccessfulCreate", f"Created pod: {trp}", "Normal", 1, tr_sched, tr_sched, "job-controller")
    E(tr_pod, "Scheduled", f"Successfully assigned {NS}/{trp} to {NODE}", "Normal", 1, tr_sched, tr_sched, "default-scheduler")
    K(tr_pod, "Pulled", 'Container image "registry.bleater.io/platform/timeline-reindex:1.4.0" already present on machine',
      "Normal", 1, "2024-11-18T22:30:02Z", "2024-11-18T22:30:02Z", "reindex")
    K(tr_pod, "Created", "Created container reindex", "Normal", 1, "2024-11-18T22:30:02Z", "2024-11-18T22:30:02Z", "reindex")
    K(tr_pod, "Started", "Started container reindex", "Normal", 1, "2024-11-18T22:30:03Z", "2024-11-18T22:30:03Z", "reindex")

    # the migration PVC
    if not S:
        E(mig_pvc, "ProvisioningFailed", 'storageclass.storage.k8s.io "fast-ssd-tier" not found', "Warning", 1118,
          "2024-11-18T23:02:10Z", "2024-11-19T03:41:25Z", "persistentvolume-controller")
    else:
        E(mig_pvc, "WaitForFirstConsumer", "waiting for first consumer to be created before binding", "Normal", 52,
          "2024-11-19T04:14:02Z", "2024-11-19T04:26:47Z", "persistentvolume-controller")
        E(mig_pvc, "ExternalProvisioning",
          "Waiting for a volume to be created either by the external provisioner 'rancher.io/local-path' or manually by the system administrator. If volume creation is delayed, please verify that the provisioner is running and correctly registered.",
          "Normal", 2, "2024-11-19T04:27:00Z", "2024-11-19T04:27:02Z", "persistentvolume-controller")
        lpp = "rancher.io/local-path_local-path-provisioner-6795b5f9d8-gkq2m_3c9a3a9e-61bb-4a5e-9d0c-2f7e1b8c4d21"
        E(mig_pvc, "Provisioning", f'External provisioner is provisioning volume for claim "{NS}/bleat-migration-pvc"',
          "Normal", 1, "2024-11-19T04:27:00Z", "2024-11-19T04:27:00Z", lpp)
        E(mig_pvc, "ProvisioningSucceeded", f"Successfully provisioned volume {mig_pvc['spec']['volumeName']}", "Normal", 1,
          "2024-11-19T04:27:04Z", "2024-11-19T04:27:04Z", lpp)
        E(mj, "SuccessfulCreate", f"Created pod: {mjp}", "Normal", 1, "2024-11-19T04:27:00Z", "2024-11-19T04:27:00Z", "job-controller")
        E(mj_pod, "Scheduled", f"Successfully assigned {NS}/{mjp} to {NODE}", "Normal", 1,
          "2024-11-19T04:27:05Z", "2024-11-19T04:27:05Z", "default-scheduler")
        K(mj_pod, "Pulled", 'Container image "postgres:15-alpine" already present on machine', "Normal", 1,
          "2024-11-19T04:27:07Z", "2024-11-19T04:27:07Z", "migrate")
        K(mj_pod, "Created", "Created container migrate", "Normal", 1, "2024-11-19T04:27:07Z", "2024-11-19T04:27:07Z", "migrate")
        K(mj_pod, "Started", "Started container migrate", "Normal", 1, "2024-11-19T04:27:08Z", "2024-11-19T04:27:08Z", "migrate")
        E(mj, "Completed", "Job completed", "Normal", 1, "2024-11-19T04:27:33Z", "2024-11-19T04:27:33Z", "job-controller")

    # the reconciler's own events on the managed Deployments
    rinst = rpn
    for app in APPS:
        d = w.get("Deployment", NS, app)
        w.event(d, "SyncBlocked",
                f"{app} held at Progressing: {NS}/hook-reconciliation-lock is locked "
                f"(hardening-rollout-2024-11-18 presync in progress)",
                "Warning", 1306 if S else 1109, "2024-11-18T23:04:14Z",
                "2024-11-19T04:20:45Z" if S else "2024-11-19T03:41:30Z", "bleater-reconciler",
                reporting_instance=rinst)
        if S:
            w.event(d, "Healthy", f"{app} is Healthy: all 8 gates pass", "Normal", 1,
                    "2024-11-19T04:31:12Z", "2024-11-19T04:31:12Z", "bleater-reconciler", reporting_instance=rinst)

    # unrelated noise: a flaky readiness probe on another team's pod (still Ready)
    K(search_indexer_pod, "Unhealthy", "Readiness probe failed: HTTP probe failed with statuscode: 503", "Warning", 7,
      "2024-11-19T02:51:40Z", "2024-11-19T02:58:10Z", "search-indexer")

    # bleater-system: the on-call's patch being reverted
    w.event(status_cm, "ExternalChangeReverted",
            "data keys auth-service,bleat-service,fanout-service,profile-service,timeline-service changed by kubectl-patch; "
            "restored computed status (Progressing)", "Warning", 1, "2024-11-19T03:12:41Z", "2024-11-19T03:12:41Z",
            "bleater-reconciler", reporting_instance=rinst)

    return w


def quota_msg(pod_name, req, used_pods, used_cpu, used_mem, hard, qname="bleater-quota"):
    """kube-apiserver ResourceQuota admission message, listing only the exceeded resources (sorted)."""
    from lib import cpu_m, mem_mi
    hp, hc, hm = int(hard["pods"]), cpu_m(hard["requests.cpu"]), mem_mi(hard["requests.memory"])
    names = []
    if used_pods + 1 > hp:
        names.append(("pods", "1", str(used_pods), hard["pods"]))
    if used_cpu + req[0] > hc:
        names.append(("requests.cpu", fmt_cpu(req[0]), fmt_cpu(used_cpu), hard["requests.cpu"]))
    if used_mem + req[1] > hm:
        names.append(("requests.memory", fmt_mem(req[1]), fmt_mem(used_mem), hard["requests.memory"]))
    j = lambda i: ",".join(f"{n[0]}={n[i]}" for n in names)
    return (f'pods "{pod_name}" is forbidden: exceeded quota: {qname}, requested: {j(1)}, used: {j(2)}, '
            f"limited: {j(3)}")
