"""The ledger namespace: healthy, and full of shapes that once fooled triage (issue 11):
Helm-managed objects and Helm hooks with delete policies, RoleBindings to ClusterRoles,
a quota at 60% with a stale refusal, safe migration scripts in several spellings,
Flyway-named SQL files, status keys that differ from the pods' app label.

`build(incident=True)` writes the same namespace with each shape turned into its fault
(the incident variant), so every look-alike has a twin that must fail.

ledger-api also runs a native sidecar (an init container with restartPolicy Always,
KEP-753): Running beside the app is its healthy state, and kubectl prints the pod
`2/2 Running`; this look-alike stays green in both variants.
"""
import copy

from bleater import configmap, kube_root_ca, sa
from k8s import (cond, dep_status_ok, deployment, job, job_status_complete, job_status_suspended, make_pod,
                 pod_status_running, replicaset, rs_status, service, sport)
from lib import World, add_s, container, pod_spec, safe, template

NS = "ledger"
NODE = "ledger-pool-a-7c2m"
NS_CREATED = "2025-01-06T08:00:00Z"
NOW = "2025-05-14T12:00:00Z"
REG = "registry.example.com/ledger"
HELM = {"app.kubernetes.io/managed-by": "Helm", "app.kubernetes.io/instance": "ledger",
        "helm.sh/chart": "ledger-3.2.1"}
RELEASE = {"meta.helm.sh/release-name": "ledger", "meta.helm.sh/release-namespace": NS}

# Migration scripts: each a safe spelling (healthy) or its swallowing twin (incident).
MIGRATE_SAFE = """#!/bin/bash
# Applies the Flyway-named migrations in order. Earlier versions ended lines in
# `|| true`; a failure must now stop the Job (comments never count).
set -o errexit
set -o nounset
for f in /migrations/V*__*.sql; do
  psql --set ON_ERROR_STOP=on -h "$DB_HOST" -U "$DB_USER" -d "$DB_NAME" -f "$f" \\
    || { echo "migration $f failed" >&2; exit 1; }
done
echo "migrations applied"
"""
MIGRATE_SWALLOWS = """#!/bin/bash
# Applies the Flyway-named migrations in order.
set -o errexit
set -o nounset
set +e
for f in /migrations/V*__*.sql; do
  psql --set ON_ERROR_STOP=on -h "$DB_HOST" -U "$DB_USER" -d "$DB_NAME" -f "$f" \\
    || echo "migration $f failed"
done
echo "migrations applied"
"""
VERIFY_SAFE = """#!/bin/sh
set -eu
psql -v ON_ERROR_STOP=1 -h "$DB_HOST" -U "$DB_USER" -d "$DB_NAME" -c 'select 1 from ledger_entries limit 1'
"""
VERIFY_SWALLOWS = """#!/bin/sh
set -eu
psql -v ON_ERROR_STOP=1 -h "$DB_HOST" -U "$DB_USER" -d "$DB_NAME" -c 'select 1 from ledger_entries limit 1' || /bin/true
"""
V1 = "CREATE TABLE IF NOT EXISTS accounts (id BIGSERIAL PRIMARY KEY, name TEXT NOT NULL);\n"
V2 = ("CREATE TABLE IF NOT EXISTS ledger_entries (id BIGSERIAL PRIMARY KEY,\n"
      "  account_id BIGINT NOT NULL REFERENCES accounts(id), amount_cents BIGINT NOT NULL);\n")


def build(incident=False):
    w = World("ledger-" + ("incident" if incident else "healthy"), "2025-01-01T00:00:00Z", NODE, "10.40.0.12",
              "10.44.3", "10.96")
    w.add({"apiVersion": "v1", "kind": "Namespace",
           "metadata": w.meta("Namespace", NS, None, NS_CREATED,
                              labels={"kubernetes.io/metadata.name": NS, "team": "payments"}),
           "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}}, NS_CREATED)
    w.add({"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
           "metadata": w.meta("StorageClass", "standard", None, "2025-01-02T10:00:00Z",
                              annotations={"storageclass.kubernetes.io/is-default-class": "true"}),
           "provisioner": "pd.csi.storage.gke.io", "reclaimPolicy": "Delete",
           "volumeBindingMode": "WaitForFirstConsumer"}, "2025-01-02T10:00:00Z")
    kube_root_ca(w, NS, add_s(NS_CREATED, 1))
    sa(w, "default", NS, add_s(NS_CREATED, 1))
    sa(w, "ledger-migrator", NS, "2025-01-06T08:05:00Z", labels=HELM, annotations=RELEASE)

    # ---- RBAC: RoleBindings to ClusterRoles (written by `triage snapshot`) ----
    # The incident binds the migrator to `view`: read only.
    rules = {
        "edit": [{"apiGroups": ["batch"], "resources": ["jobs"],
                  "verbs": ["create", "delete", "get", "list", "patch", "update", "watch"]},
                 {"apiGroups": [""], "resources": ["configmaps", "pods", "pods/log"],
                  "verbs": ["create", "delete", "get", "list", "patch", "update", "watch"]}],
        "view": [{"apiGroups": ["batch"], "resources": ["jobs"], "verbs": ["get", "list", "watch"]},
                 {"apiGroups": [""], "resources": ["configmaps", "pods", "pods/log"],
                  "verbs": ["get", "list", "watch"]}],
    }
    for name, role_rules in rules.items():
        w.add({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
               "metadata": w.meta("ClusterRole", name, None, "2025-01-02T10:00:00Z",
                                  labels={"kubernetes.io/bootstrapping": "rbac-defaults"},
                                  annotations={"rbac.authorization.kubernetes.io/autoupdate": "true"}),
               "rules": role_rules}, "2025-01-02T10:00:00Z")
    w.add({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
           "metadata": w.meta("RoleBinding", "ledger-migrator-edit", NS, "2025-01-06T08:05:01Z",
                              labels=HELM, annotations=RELEASE),
           "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                       "name": "view" if incident else "edit"},
           "subjects": [{"kind": "ServiceAccount", "name": "ledger-migrator", "namespace": NS}]},
          "2025-01-06T08:05:01Z")
    w.add({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
           "metadata": w.meta("RoleBinding", "ledger-readers", NS, "2025-01-06T08:05:02Z", labels=HELM,
                              annotations=RELEASE),
           "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
           "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "payments-oncall"}]},
          "2025-01-06T08:05:02Z")

    # ---- config maps ---------------------------------------------------------
    helm_fields = [{"apiVersion": "v1", "fieldsType": "FieldsV1", "manager": "helm", "operation": "Update",
                    "time": "2025-05-02T09:00:00Z"}]
    configmap(w, "ledger-api-config", NS, "2025-01-06T08:05:03Z",
              {"LOG_LEVEL": "info", "DB_POOL": "10"}, mtime="2025-05-02T09:00:00Z",
              labels={**HELM, "app": "ledger-api"}, annotations=RELEASE,
              extra_md={"managedFields": helm_fields})
    configmap(w, "ledger-db-migrations", NS, "2025-01-06T08:05:04Z",
              {"migrate.sh": MIGRATE_SWALLOWS if incident else MIGRATE_SAFE,
               "verify.sh": VERIFY_SWALLOWS if incident else VERIFY_SAFE,
               "V1__create_accounts.sql": V1, "V2__create_ledger_entries.sql": V2},
              mtime="2025-05-02T09:00:00Z", labels={**HELM, "app": "ledger-db"}, annotations=RELEASE,
              extra_md={"managedFields": copy.deepcopy(helm_fields)})
    configmap(w, "ledger-db-schema", NS, "2025-01-06T08:05:05Z",
              {"version": "2", "tables-v1": "accounts", "tables-v2": "accounts,ledger_entries"},
              mtime="2025-05-02T09:01:30Z", labels={"app": "ledger-db"})
    configmap(w, "ledger-release-lock", NS, "2025-01-06T08:05:06Z",
              {"status": "unlocked", "reason": "released 2025.05.2"}, mtime="2025-05-02T09:02:00Z",
              labels={"app": "ledger-release"})
    configmap(w, "ledger-status", NS, "2025-01-06T08:05:07Z",
              {"api": "Healthy", "worker": "Healthy"}, mtime="2025-05-14T11:59:30Z",
              labels={"app": "ledger-reconciler"},
              extra_md={"managedFields": [{"apiVersion": "v1", "fieldsType": "FieldsV1",
                                           "manager": "ledger-reconciler", "operation": "Update",
                                           "time": "2025-05-14T11:59:30Z"}]})

    # ---- quota at 60% (incident: full) ----------------------------------------
    hard = {"pods": "10", "requests.cpu": "2", "requests.memory": "2Gi", "count/jobs.batch": "10"}
    used = {"pods": "6", "requests.cpu": "1210m", "requests.memory": "1244Mi", "count/jobs.batch": "4"}
    if incident:
        used = {"pods": "9", "requests.cpu": "1960m", "requests.memory": "1816Mi", "count/jobs.batch": "4"}
    w.add({"apiVersion": "v1", "kind": "ResourceQuota",
           "metadata": w.meta("ResourceQuota", "ledger-quota", NS, "2025-01-06T08:05:08Z", labels={"team": "payments"}),
           "spec": {"hard": dict(hard)}, "status": {"hard": dict(hard), "used": used}}, "2025-05-14T11:00:00Z")

    # ---- egress: explicit DNS and database ------------------------------------
    w.add({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
           "metadata": w.meta("NetworkPolicy", "ledger-egress", NS, "2025-01-06T08:05:09Z", labels=HELM,
                              annotations=RELEASE, generation=1),
           "spec": {"podSelector": {}, "policyTypes": ["Egress"],
                    "egress": [{"to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}}}],
                                "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]},
                               {"to": [{"podSelector": {"matchLabels": {"app": "ledger-db"}}}],
                                "ports": [{"protocol": "TCP", "port": 5432}]}]}}, "2025-01-06T08:05:09Z")

    # ---- database ---------------------------------------------------------------
    db_labels = {"app": "ledger-db"}
    w.add(service(w, "ledger-db", NS, "2025-01-06T08:05:10Z", db_labels, db_labels,
                  [sport("postgres", 5432, 5432)]), "2025-01-06T08:05:10Z")
    w.add({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
           "metadata": w.meta("PersistentVolumeClaim", "data-ledger-db-0", NS, "2025-01-06T08:05:11Z",
                              labels=db_labels, finalizers=["kubernetes.io/pvc-protection"]),
           "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "20Gi"}},
                    "storageClassName": "standard", "volumeMode": "Filesystem",
                    "volumeName": "pvc-" + w.uid("ledger-db-pv")},
           "status": {"phase": "Bound", "accessModes": ["ReadWriteOnce"], "capacity": {"storage": "20Gi"}}},
          "2025-01-06T08:06:00Z")
    db = container("postgres", "postgres:16-alpine", ("250m", "256Mi"), ("1", "512Mi"),
                   ports=[{"containerPort": 5432, "name": "postgres", "protocol": "TCP"}])
    db_spec = pod_spec([db], volumes=[{"name": "data", "persistentVolumeClaim": {"claimName": "data-ledger-db-0"}}])
    db_tmpl = template(db_labels, db_spec)
    db_pod = make_pod(w, "ledger-db-0", NS, "2025-05-02T08:50:00Z", db_tmpl, None,
                      pod_status_running(w, "ledger-db-0", db_spec, "2025-05-02T08:50:00Z", "2025-05-02T08:50:20Z"))
    w.add(db_pod, "2025-05-02T08:50:20Z")

    # ---- apps: Helm-labelled Deployments whose pods carry `app=ledger-*` -------
    def app(name, created, req, lim):
        labels = {"app": name, **HELM}
        wait = container("wait-for-db", f"{REG}/pg-wait:1.2", ("10m", "16Mi"), ("50m", "32Mi"),
                         command=["pg_isready", "-h", "ledger-db", "-p", "5432"])
        c = container(name, f"{REG}/{name}:2025.05.2", req, lim,
                      env_from=[{"configMapRef": {"name": "ledger-api-config"}}],
                      ports=[{"containerPort": 8080, "name": "http", "protocol": "TCP"}])
        init = [wait]
        if name == "ledger-api":
            # A native sidecar after the wait: it starts once the wait completes and runs
            # beside the app (its requests count toward the quota with the app's).
            shipper = container("log-shipper", f"{REG}/log-shipper:0.9.1", ("10m", "16Mi"), ("100m", "64Mi"))
            shipper["restartPolicy"] = "Always"
            init.append(shipper)
        spec = pod_spec([c], init=init)
        tmpl = template(labels, spec)
        dep = deployment(w, name, NS, created, labels, {"app": name}, tmpl, annotations=RELEASE, revision=4,
                         generation=4)
        h = safe(name + "2025.05.2", 10)
        rs_name = f"{name}-{h}"
        dep["status"] = dep_status_ok(4, rs_name, "2025-05-02T09:03:00Z", "2025-05-02T09:03:00Z")
        rs = replicaset(w, dep, h, "2025-05-02T09:02:30Z", 4, 1, rs_status(1, 1, 4))
        w.add(dep, "2025-05-02T09:03:00Z")
        w.add(rs, "2025-05-02T09:03:00Z")
        pname = f"{rs_name}-{safe(name + 'pod', 5)}"
        pod = make_pod(w, pname, NS, "2025-05-02T09:02:30Z", rs["spec"]["template"], rs,
                       pod_status_running(w, pname, spec, "2025-05-02T09:02:31Z", "2025-05-02T09:03:00Z",
                                          init_done=("2025-05-02T09:02:33Z", "2025-05-02T09:02:40Z")))
        w.add(pod, "2025-05-02T09:03:00Z")
        w.add(service(w, name, NS, created, labels, {"app": name}, [sport("http", 80, "http")],
                      annotations=RELEASE), created)
        return rs, pname

    app("ledger-api", "2025-01-06T08:06:00Z", ("300m", "384Mi"), ("1", "768Mi"))
    worker_rs, worker_pod = app("ledger-worker", "2025-01-06T08:06:05Z", ("300m", "384Mi"), ("1", "768Mi"))

    # A refusal the quota gave the worker's ReplicaSet during the release, then the pod
    # it created once the old pods were gone: stale, not blocking. In the incident the
    # successful create came first and the refusal is the newest word.
    refused_at, created_at = ("2025-05-14T11:40:00Z", "2025-05-14T11:10:00Z") if incident else \
        ("2025-05-02T09:02:00Z", "2025-05-02T09:02:30Z")
    w.event(worker_rs, "FailedCreate",
            f'Error creating: pods "{worker_pod[:-5]}x8k2q" is forbidden: exceeded quota: ledger-quota, '
            f"requested: requests.cpu=900m, used: requests.cpu=1200m, limited: requests.cpu=2",
            "Warning", 3, add_s(refused_at, -60), refused_at, "replicaset-controller")
    w.event(worker_rs, "SuccessfulCreate", f"Created pod: {worker_pod}", "Normal", 1, created_at, created_at,
            "replicaset-controller")

    # ---- Helm hooks: with delete policies (incident: a suspended one without) ----
    hook_spec = pod_spec([container("migrate", "postgres:16-alpine", ("100m", "128Mi"), ("500m", "256Mi"),
                                    command=["/bin/bash", "/migrations/migrate.sh"],
                                    mounts=[{"name": "migrations", "mountPath": "/migrations", "readOnly": True}])],
                         sa="ledger-migrator", restart="Never",
                         volumes=[{"name": "migrations", "configMap": {"name": "ledger-db-migrations", "defaultMode": 493}}])
    hook_labels = {**HELM, "app": "ledger-db-migrate"}
    migrate = job(w, "ledger-db-migrate", NS, "2025-05-02T09:00:10Z", hook_labels,
                  template({"app": "ledger-db-migrate"}, hook_spec),
                  job_status_complete("2025-05-02T09:00:11Z", "2025-05-02T09:01:20Z"),
                  annotations={"helm.sh/hook": "pre-upgrade,pre-install", "helm.sh/hook-weight": "-5",
                               "helm.sh/hook-delete-policy": "before-hook-creation"})
    w.add(migrate, "2025-05-02T09:01:20Z")
    check_ann = {"helm.sh/hook": "pre-upgrade"}
    if not incident:
        check_ann["helm.sh/hook-delete-policy"] = "before-hook-creation,hook-succeeded"
    check = job(w, "ledger-pre-upgrade-check", NS, "2025-05-02T09:00:05Z", {**HELM, "app": "ledger-check"},
                template({"app": "ledger-check"}, hook_spec), job_status_suspended("2025-05-02T09:00:05Z"),
                annotations=check_ann, finalizers=["ledger.example.com/hook-cleanup"], suspend=True)
    w.add(check, "2025-05-02T09:00:05Z")

    # The capture: the reconciler's last write.
    w.event(w.get("ConfigMap", NS, "ledger-status"), "Reconciled", "api=Healthy worker=Healthy", "Normal", 1,
            NOW, NOW, "ledger-reconciler")
    return w
