#!/usr/bin/env python3
"""The world simulator: what a kubelet, a scheduler and a volume provisioner would do,
for a control plane that runs none of them. Deterministic rules, applied every
--interval seconds (or once with --once), each written here and nowhere else:

  R1 init container   A pod whose init container runs `pg_isready` (the bleat-service
                      shape) keeps that container in CrashLoopBackOff, restartCount +1
                      per tick, while its egress to the database (pods
                      app.kubernetes.io/name=bleat-db, TCP 5432) or to DNS (kube-system
                      UDP 53) is denied, or while bleat-db-schema declares a version
                      below 3 or lacks tables-v3. Once both hold, the init container
                      terminates Completed (exit 0), the app container runs, the pod is
                      Running and Ready.
  R2 scheduling       A pod without spec.nodeName is bound to node `testenv-node` (the
                      quota was already enforced by the API server at creation: pods
                      beyond the quota are never created, nothing to simulate).
  R3 provisioning     A Pending PVC on an EXISTING StorageClass with volumeBindingMode
                      WaitForFirstConsumer binds (a PV is created and both sides marked
                      Bound) once a scheduled, non-terminated pod mounts it. A PVC on a
                      missing class stays Pending forever.

The NetworkPolicy evaluation is shared with the reconciler oracle (testenv/kube_model.py),
never with triage.

Usage: world.py --kubeconfig K --namespace NS [--interval 3] [--once]
"""

import argparse
import json
import sys
import time

from kube_model import Cluster, egress_allowed

NODE = "testenv-node"
DB_LABELS = {"app.kubernetes.io/name": "bleat-db"}
REQUIRED_SCHEMA = 3


def now():
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def schema_ready(configmaps):
    schema = next((cm for cm in configmaps if cm["metadata"]["name"] == "bleat-db-schema"), None)
    data = (schema or {}).get("data") or {}
    try:
        version = int(data.get("version", "0"))
    except ValueError:
        return False
    return version >= REQUIRED_SCHEMA and f"tables-v{REQUIRED_SCHEMA}" in data


def runs_pg_isready(container):
    text = " ".join((container.get("command") or []) + (container.get("args") or []))
    return "pg_isready" in text


def r1_init_container(c, pod, netpols, ns_labels, configmaps):
    spec = pod["spec"]
    inits = [ic for ic in spec.get("initContainers") or [] if runs_pg_isready(ic)]
    if not inits:
        return
    labels = pod["metadata"].get("labels") or {}
    db_ok = egress_allowed(netpols, labels, c.namespace, c.namespace, ns_labels.get(c.namespace, {}),
                           DB_LABELS, "TCP", 5432)
    dns_ok = egress_allowed(netpols, labels, c.namespace, "kube-system", ns_labels.get("kube-system", {}),
                            {"k8s-app": "kube-dns"}, "UDP", 53)
    status = pod.get("status") or {}
    previous = {s["name"]: s for s in status.get("initContainerStatuses") or []}
    healthy = db_ok and dns_ok and schema_ready(configmaps)
    init_statuses = []
    for ic in spec.get("initContainers") or []:
        before = previous.get(ic["name"], {})
        restarts = before.get("restartCount", 0)
        base = {"name": ic["name"], "image": ic.get("image", ""), "imageID": "", "restartCount": restarts}
        if healthy:
            base.update(ready=True, state={"terminated": {"exitCode": 0, "reason": "Completed",
                                                         "startedAt": now(), "finishedAt": now()}})
        else:
            base.update(ready=False, restartCount=restarts + 1,
                        state={"waiting": {"reason": "CrashLoopBackOff",
                                           "message": f"back-off restarting failed container {ic['name']}"}},
                        lastState={"terminated": {"exitCode": 1, "reason": "Error",
                                                  "startedAt": now(), "finishedAt": now()}})
        init_statuses.append(base)
    containers = []
    for container in spec.get("containers") or []:
        entry = {"name": container["name"], "image": container.get("image", ""), "imageID": "", "restartCount": 0}
        if healthy:
            entry.update(ready=True, started=True, state={"running": {"startedAt": now()}})
        else:
            entry.update(ready=False, state={"waiting": {"reason": "PodInitializing"}})
        containers.append(entry)
    condition = "True" if healthy else "False"
    patch = {"status": {
        "phase": "Running" if healthy else "Pending",
        "initContainerStatuses": init_statuses,
        "containerStatuses": containers,
        "conditions": [
            {"type": "Initialized", "status": condition, "lastTransitionTime": now()},
            {"type": "Ready", "status": condition, "lastTransitionTime": now()},
            {"type": "ContainersReady", "status": condition, "lastTransitionTime": now()},
            {"type": "PodScheduled", "status": "True", "lastTransitionTime": now()},
        ],
    }}
    c.kubectl("patch", "pod", pod["metadata"]["name"], "-n", c.namespace, "--subresource=status",
              "--type=merge", "-p", json.dumps(patch))


def r2_schedule(c, pod):
    if pod["spec"].get("nodeName") or pod["metadata"].get("deletionTimestamp"):
        return
    binding = {"apiVersion": "v1", "kind": "Binding",
               "metadata": {"name": pod["metadata"]["name"], "namespace": c.namespace},
               "target": {"apiVersion": "v1", "kind": "Node", "name": NODE}}
    c.kubectl("create", "--raw", f"/api/v1/namespaces/{c.namespace}/pods/{pod['metadata']['name']}/binding",
              "-f", "-", stdin=json.dumps(binding), check=False)


def r3_provision(c, pvc, pods, classes):
    if (pvc.get("status") or {}).get("phase") != "Pending":
        return
    name = pvc["metadata"]["name"]
    cls = classes.get(pvc["spec"].get("storageClassName") or "")
    if not cls or cls.get("volumeBindingMode") != "WaitForFirstConsumer":
        return
    consumers = [p for p in pods if p["spec"].get("nodeName")
                 and (p.get("status") or {}).get("phase") not in ("Succeeded", "Failed")
                 and any((v.get("persistentVolumeClaim") or {}).get("claimName") == name
                         for v in p["spec"].get("volumes") or [])]
    if not consumers:
        return
    size = pvc["spec"]["resources"]["requests"]["storage"]
    pv_name = f"pvc-{pvc['metadata']['uid']}"
    pv = {"apiVersion": "v1", "kind": "PersistentVolume",
          "metadata": {"name": pv_name, "annotations": {"pv.kubernetes.io/provisioned-by": cls["provisioner"]}},
          "spec": {"capacity": {"storage": size}, "accessModes": pvc["spec"].get("accessModes") or ["ReadWriteOnce"],
                   "storageClassName": cls["metadata"]["name"], "persistentVolumeReclaimPolicy": "Delete",
                   "hostPath": {"path": f"/var/lib/testenv/{pv_name}"},
                   "claimRef": {"namespace": c.namespace, "name": name, "uid": pvc["metadata"]["uid"]}}}
    c.kubectl("apply", "-f", "-", stdin=json.dumps(pv))
    c.kubectl("patch", "pv", pv_name, "--subresource=status", "--type=merge", "-p",
              json.dumps({"status": {"phase": "Bound"}}))
    c.kubectl("patch", "pvc", name, "-n", c.namespace, "--type=merge", "-p",
              json.dumps({"spec": {"volumeName": pv_name},
                          "metadata": {"annotations": {"pv.kubernetes.io/bind-completed": "yes",
                                                       "volume.kubernetes.io/selected-node": NODE}}}))
    c.kubectl("patch", "pvc", name, "-n", c.namespace, "--subresource=status", "--type=merge", "-p",
              json.dumps({"status": {"phase": "Bound", "accessModes": pvc["spec"].get("accessModes"),
                                     "capacity": {"storage": size}}}))


def tick(c):
    pods = c.items("pods")
    for pod in pods:
        r2_schedule(c, pod)
    netpols = c.items("networkpolicies")
    configmaps = c.items("configmaps")
    ns_labels = c.namespace_labels()
    for pod in pods:
        if pod["spec"].get("nodeName"):
            r1_init_container(c, pod, netpols, ns_labels, configmaps)
    classes = {sc["metadata"]["name"]: sc for sc in c.cluster_items("storageclasses")}
    pods = c.items("pods")
    for pvc in c.items("persistentvolumeclaims"):
        r3_provision(c, pvc, pods, classes)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kubeconfig", required=True)
    parser.add_argument("--namespace", required=True)
    parser.add_argument("--interval", type=float, default=3.0)
    parser.add_argument("--once", action="store_true")
    args = parser.parse_args()
    c = Cluster(args.kubeconfig, args.namespace)
    while True:
        try:
            tick(c)
        except Exception as err:  # keep ticking, like a kubelet would
            print(f"world tick failed: {err}", file=sys.stderr, flush=True)
        if args.once:
            return
        time.sleep(args.interval)


if __name__ == "__main__":
    main()
