#!/usr/bin/env python3
"""An independent reconciler, like the in-house one in the incident write-up.

Every --interval seconds it computes each managed app's health from the live objects
with the write-up's AND-chain and rewrites the status ConfigMap. It is the oracle that
triage's repairs are judged by, so it shares no code with triage: it reads the cluster
with kubectl and asks the API server itself (`kubectl auth can-i`, a real
SubjectAccessReview) whether the migration ServiceAccount may do its work.

The predicates, in the write-up's order (the first that fails decides):
  lock       ConfigMap hook-reconciliation-lock has status=locked        -> Progressing
  orphan     a hook Job for the app (label app.kubernetes.io/name) holds
             a finalizer with no hook-delete-policy and no owner         -> Progressing
  schema     bleat-db-schema version < REQUIRED or no tables-v<REQUIRED> -> Progressing
  rbac       migration-runner cannot create jobs or patch configmaps     -> Progressing
  pvc        a PVC of the app's part-of group is Pending on a class that
             does not exist (Pending on an existing WaitForFirstConsumer
             class is provisionable, hence fine)                         -> Progressing
  quota      a ResourceQuota has status.used >= status.hard for pods     -> Progressing
  egress     the app's pods are egress-isolated and no rule allows DNS
             (kube-system UDP 53) and the database (bleat-db pods, 5432) -> Progressing
  init       an init container of the app's pod is crash-looping/failed  -> Degraded
  otherwise                                                              -> Healthy

Usage: reconciler.py --kubeconfig K --namespace NS --system-namespace SYS [--interval 10] [--once]
"""

import argparse
import datetime
import json
import sys
import time

from kube_model import Cluster, egress_allowed

APPS = ["auth-service", "profile-service", "timeline-service", "fanout-service", "bleat-service"]
APP_LABEL = "app.kubernetes.io/name"
REQUIRED_SCHEMA = 3
DB_LABELS = {APP_LABEL: "bleat-db"}
DB_PORT = 5432
FIELD_MANAGER = "bleater-reconciler"


def app_health(c, app, snap):
    lock = next((cm for cm in snap["configmaps"] if cm["metadata"]["name"] == "hook-reconciliation-lock"), None)
    if lock and (lock.get("data") or {}).get("status") == "locked":
        return "Progressing", "lock"
    for job in snap["jobs"]:
        meta = job["metadata"]
        ann, labels = meta.get("annotations") or {}, meta.get("labels") or {}
        if (labels.get(APP_LABEL) == app and "argocd.argoproj.io/hook" in ann and meta.get("finalizers")
                and "argocd.argoproj.io/hook-delete-policy" not in ann and "bleater.io/owner" not in labels
                and not meta.get("ownerReferences")):
            return "Progressing", "orphan"
    schema = next((cm for cm in snap["configmaps"] if cm["metadata"]["name"] == "bleat-db-schema"), None)
    data = (schema or {}).get("data") or {}
    try:
        version = int(data.get("version", "0"))
    except ValueError:
        version = 0
    if version < REQUIRED_SCHEMA or f"tables-v{REQUIRED_SCHEMA}" not in data:
        return "Progressing", "schema"
    if not snap["rbac"]:
        return "Progressing", "rbac"
    classes = {sc["metadata"]["name"] for sc in snap["storageclasses"]}
    for pvc in snap["pvcs"]:
        if pvc.get("status", {}).get("phase") == "Pending" and pvc["spec"].get("storageClassName") not in classes:
            return "Progressing", "pvc"
    for quota in snap["quotas"]:
        status = quota.get("status") or {}
        hard, used = status.get("hard") or {}, status.get("used") or {}
        if "pods" in hard and int(used.get("pods", "0")) >= int(hard["pods"]):
            return "Progressing", "quota"
    pods = [p for p in snap["pods"] if (p["metadata"].get("labels") or {}).get(APP_LABEL) == app]
    ns_labels = snap["namespace_labels"]
    for pod in pods:
        labels = pod["metadata"].get("labels") or {}
        dns = egress_allowed(snap["netpols"], labels, c.namespace, "kube-system", ns_labels.get("kube-system", {}),
                             {"k8s-app": "kube-dns"}, "UDP", 53)
        db = egress_allowed(snap["netpols"], labels, c.namespace, c.namespace, ns_labels.get(c.namespace, {}),
                            DB_LABELS, "TCP", DB_PORT)
        if not (dns and db):
            return "Progressing", "egress"
    for pod in pods:
        for status in (pod.get("status") or {}).get("initContainerStatuses") or []:
            state = status.get("state") or {}
            waiting = (state.get("waiting") or {}).get("reason")
            terminated = state.get("terminated")
            if waiting == "CrashLoopBackOff" or (terminated and terminated.get("exitCode", 0) != 0):
                return "Degraded", "init"
    return "Healthy", None


def reconcile(c, system_namespace):
    snap = {
        "configmaps": c.items("configmaps"),
        "jobs": c.items("jobs"),
        "pvcs": c.items("persistentvolumeclaims"),
        "quotas": c.items("resourcequotas"),
        "netpols": c.items("networkpolicies"),
        "pods": c.items("pods"),
        "storageclasses": c.cluster_items("storageclasses"),
        "namespace_labels": c.namespace_labels(),
        "rbac": c.can_i("create", "jobs.batch") and c.can_i("patch", "configmaps"),
    }
    status, reasons = {}, {}
    for app in APPS:
        status[app], reasons[app] = app_health(c, app, snap)
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    data = dict(status)
    data["last-reconciled"] = now
    data["gating"] = ",".join(f"{app}={reasons[app]}" for app in APPS if reasons[app])
    manifest = {
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "bleater-status", "namespace": system_namespace,
                     "labels": {"app.kubernetes.io/managed-by": FIELD_MANAGER}},
        "data": data,
    }
    c.kubectl("apply", "--server-side", "--force-conflicts", "--field-manager", FIELD_MANAGER,
              "-f", "-", stdin=json.dumps(manifest))
    return status, reasons


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kubeconfig", required=True)
    parser.add_argument("--namespace", required=True)
    parser.add_argument("--system-namespace", required=True)
    parser.add_argument("--interval", type=float, default=10.0)
    parser.add_argument("--once", action="store_true")
    args = parser.parse_args()
    c = Cluster(args.kubeconfig, args.namespace, "triage-testenv-reconciler")
    while True:
        try:
            status, reasons = reconcile(c, args.system_namespace)
            print(json.dumps({"status": status, "gating": reasons}), flush=True)
        except Exception as err:  # keep ticking, like a controller would
            print(f"reconcile failed: {err}", file=sys.stderr, flush=True)
        if args.once:
            return
        time.sleep(args.interval)


if __name__ == "__main__":
    main()
