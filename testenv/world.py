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
  R4 migration Job    (only with --db-host) A scheduled, not yet terminated pod of a Job
                      that is not suspended, not finished and not frozen by the fixture
                      loader (spec.managedBy testenv.triage.local/fixture), whose first
                      container runs a script from a mounted ConfigMap (a command/args
                      word under a configMap volume's mountPath), is run like a kubelet
                      would: the ConfigMap's keys are copied to a temp dir, the mount path
                      is rewritten to it in every key and word, and the script runs with
                      bash and the container's literal env, DB_HOST/PGHOST, DB_PORT/PGPORT,
                      DB_USER/PGUSER, DB_PASSWORD/PGPASSWORD, DB_NAME/PGDATABASE overridden
                      by --db-host/--db-port/--db-user/--db-password/--db-name (env from
                      Secrets is not resolved). The pod gets phase Succeeded or Failed and
                      its container terminated with the exit code and the last lines of
                      output as terminated.message (no `kubectl logs` without a kubelet).
                      The real job-controller then writes the Job status (Complete +
                      SuccessCriteriaMet, or FailureTarget + Failed after backoffLimit
                      retries 10 s, 20 s, ... apart; succeeded/failed, completionTime):
                      writing it here would fight that controller (startTime is immutable
                      once it set it). Without a controller-manager no pod exists, nothing
                      runs.
  R5 termination      A pod bound to `testenv-node` and being deleted (deletionTimestamp
                      set, grace period not yet 0) is deleted for good with
                      gracePeriodSeconds=0, as a kubelet does once the pod's containers
                      have stopped (none run here, so at once). Without it the pod stays
                      Terminating until the pod GC removes pods bound to a missing Node,
                      after a 40 s quarantine: long enough to time out a foreground delete
                      of a Job whose pod was scheduled but not yet run.

The NetworkPolicy evaluation is shared with the reconciler oracle (testenv/kube_model.py),
never with triage.

--jobs-only applies R2 and R4 to the pods of runnable Jobs only, R5 to the pods of Jobs
being deleted, and lists the pods only while such a Job exists (one LIST of jobs per idle tick, over a kept connection): the fault sweep runs one
world per namespace, many at once, and needs nothing but its migration Job run.

Usage: world.py --kubeconfig K --namespace NS [--interval 3] [--once] [--jobs-only]
                [--db-host H --db-port P --db-user U --db-password PW --db-name DB]
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

from kube_model import Cluster, egress_allowed

NODE = "testenv-node"
DB_LABELS = {"app.kubernetes.io/name": "bleat-db"}
REQUIRED_SCHEMA = 3
FIXTURE_MANAGER = "testenv.triage.local/fixture"
SHELLS = ("bash", "sh")
MESSAGE_LINES = 20
MESSAGE_BYTES = 4096  # the kubelet's limit for a termination message
SCRIPT_TIMEOUT = 120  # seconds
# env names a migration container may use for each connection setting
DB_ENV = {
    "host": ("DB_HOST", "PGHOST"),
    "port": ("DB_PORT", "PGPORT"),
    "user": ("DB_USER", "PGUSER"),
    "password": ("DB_PASSWORD", "PGPASSWORD"),
    "name": ("DB_NAME", "PGDATABASE"),
}


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


# ------------------------------------------------------------------ R4 (pure parts)


def job_finished(job):
    return any(cond.get("type") in ("Complete", "Failed") and cond.get("status") == "True"
               for cond in (job.get("status") or {}).get("conditions") or [])


def job_runnable(job):
    spec = job.get("spec") or {}
    return (not spec.get("suspend") and spec.get("managedBy") != FIXTURE_MANAGER
            and not job_finished(job) and not job["metadata"].get("deletionTimestamp"))


def job_deleting(job):
    return bool(job["metadata"].get("deletionTimestamp"))


def awaits_final_delete(pod):
    """R5: deleted, on our node, and not yet given grace period 0. A kubelet's status
    manager deletes such a pod with gracePeriodSeconds=0 once its containers stopped
    (kubernetes pkg/kubelet/status/status_manager.go, canBeDeleted then Delete)."""
    meta = pod["metadata"]
    return (pod["spec"].get("nodeName") == NODE and bool(meta.get("deletionTimestamp"))
            and meta.get("deletionGracePeriodSeconds") != 0)


def owning_job(pod):
    return next((ref["name"] for ref in pod["metadata"].get("ownerReferences") or []
                 if ref.get("kind") == "Job" and ref.get("controller")), None)


def pod_terminated(pod):
    return (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed")


def migration_script(pod_spec):
    """(container, configmap name, mount path, argv) when the first container runs a
    script from a mounted ConfigMap, else None."""
    containers = pod_spec.get("containers") or []
    if not containers:
        return None
    container = containers[0]
    volumes = {v["name"]: v["configMap"]["name"] for v in pod_spec.get("volumes") or [] if v.get("configMap")}
    words = (container.get("command") or []) + (container.get("args") or [])
    for mount in container.get("volumeMounts") or []:
        if mount["name"] not in volumes:
            continue
        prefix = mount["mountPath"].rstrip("/") + "/"
        if any(prefix in word for word in words):
            return container, volumes[mount["name"]], mount["mountPath"].rstrip("/"), words
    return None


def rewrite(text, mount_path, directory):
    return text.replace(mount_path.rstrip("/") + "/", directory.rstrip("/") + "/")


def script_argv(words, mount_path, directory):
    """What to run: the words with the mount path rewritten; a shell stays a shell
    (bash), anything else runs the first word under the mount as a bash script."""
    argv = [rewrite(w, mount_path, directory) for w in words]
    if argv and os.path.basename(argv[0]) in SHELLS:
        return ["bash", *argv[1:]]
    prefix = mount_path.rstrip("/") + "/"
    script = next(rewrite(w, mount_path, directory) for w in words if prefix in w)
    return ["bash", script]


def script_env(container, overrides, base=None):
    """The container's literal env (valueFrom is not resolved), then each given
    override under every name the scripts use for it."""
    env = dict(base if base is not None else {"PATH": os.environ.get("PATH", "/usr/bin:/bin")})
    for entry in container.get("env") or []:
        if "value" in entry:
            env[entry["name"]] = entry["value"]
    for key, value in overrides.items():
        if value is None:
            continue
        for name in DB_ENV[key]:
            env[name] = str(value)
    return env


def termination_message(output):
    """The last MESSAGE_LINES lines, at most MESSAGE_BYTES bytes (cut at the front)."""
    lines = output.rstrip("\n").splitlines()[-MESSAGE_LINES:]
    text = "\n".join(lines).encode()
    if len(text) > MESSAGE_BYTES:
        text = text[-MESSAGE_BYTES:]
    return text.decode(errors="replace")


def terminated_status(container, exit_code, message, started, finished):
    state = {"terminated": {"exitCode": exit_code, "reason": "Completed" if exit_code == 0 else "Error",
                            "message": message, "startedAt": started, "finishedAt": finished}}
    phase = "Succeeded" if exit_code == 0 else "Failed"
    return {"status": {
        "phase": phase,
        "containerStatuses": [{"name": container["name"], "image": container.get("image", ""), "imageID": "",
                               "ready": False, "started": False, "restartCount": 0, "state": state}],
        "conditions": [
            {"type": "PodScheduled", "status": "True", "lastTransitionTime": finished},
            {"type": "Initialized", "status": "True", "lastTransitionTime": started},
            {"type": "Ready", "status": "False", "reason": "PodCompleted", "lastTransitionTime": finished},
            {"type": "ContainersReady", "status": "False", "reason": "PodCompleted", "lastTransitionTime": finished},
        ],
    }}


def run_script(data, mount_path, words, env, timeout=SCRIPT_TIMEOUT):
    """Copies the ConfigMap keys into a temp dir (mount path rewritten), runs the
    script; returns (exit code, combined output)."""
    directory = tempfile.mkdtemp(prefix="world-r4-")
    try:
        for key, value in (data or {}).items():
            with open(os.path.join(directory, key), "w") as f:
                f.write(rewrite(value, mount_path, directory))
        argv = script_argv(words, mount_path, directory)
        try:
            result = subprocess.run(argv, env=env, cwd=directory, stdin=subprocess.DEVNULL,
                                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=timeout)
            # messages name files as the pod would see them
            return result.returncode, rewrite(result.stdout, directory, mount_path)
        except subprocess.TimeoutExpired as err:
            out = err.stdout.decode(errors="replace") if isinstance(err.stdout, bytes) else (err.stdout or "")
            return 124, out + f"\nkilled after {timeout}s"
    finally:
        shutil.rmtree(directory, ignore_errors=True)


# ------------------------------------------------------------------ R4 (I/O)


def r4_run_job_pod(c, pod, jobs, configmaps, db):
    if not db or pod_terminated(pod) or not pod["spec"].get("nodeName") or pod["metadata"].get("deletionTimestamp"):
        return
    job = jobs.get(owning_job(pod) or "")
    if job is None or not job_runnable(job):
        return
    found = migration_script(pod["spec"])
    if found is None:
        return
    container, cm_name, mount_path, words = found
    cm = configmaps.get(cm_name)
    if cm is None:
        return  # a kubelet would wait for the volume: so do we
    started = now()
    code, output = run_script(cm.get("data") or {}, mount_path, words, script_env(container, db))
    print(f"R4 ran {pod['metadata']['name']} (Job {job['metadata']['name']}): exit {code}", flush=True)
    patch = terminated_status(container, code, termination_message(output), started, now())
    c.kubectl("patch", "pod", pod["metadata"]["name"], "-n", c.namespace, "--subresource=status",
              "--type=merge", "-p", json.dumps(patch))


def r5_finish_deletion(c, pod):
    if not awaits_final_delete(pod):
        return
    # kubectl spells a DELETE with gracePeriodSeconds=0 this way; the kubelet sends the
    # same request. Finalizers, if any, still hold the pod.
    c.kubectl("delete", "pod", pod["metadata"]["name"], "-n", c.namespace, "--grace-period=0",
              "--force", "--wait=false", check=False)


def tick(c, db=None):
    pods = c.items("pods")
    for pod in pods:
        r5_finish_deletion(c, pod)
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
    if db:
        jobs = {job["metadata"]["name"]: job for job in c.items("jobs")}
        by_name = {cm["metadata"]["name"]: cm for cm in configmaps}
        for pod in pods:
            r4_run_job_pod(c, pod, jobs, by_name, db)


def tick_jobs_only(c, db):
    """R2 then R4 for the pods of runnable Jobs, R5 for those of Jobs being deleted;
    nothing else is read or written."""
    jobs = {job["metadata"]["name"]: job for job in c.items("jobs")}
    if not any(job_runnable(job) or job_deleting(job) for job in jobs.values()):
        return
    pods = [pod for pod in c.items("pods") if owning_job(pod) in jobs]
    for pod in pods:
        r5_finish_deletion(c, pod)
        r2_schedule(c, pod)
    pods = [pod for pod in c.items("pods") if owning_job(pod) in jobs]
    by_name = {cm["metadata"]["name"]: cm for cm in c.items("configmaps")}
    for pod in pods:
        r4_run_job_pod(c, pod, jobs, by_name, db)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kubeconfig", required=True)
    parser.add_argument("--namespace", required=True)
    parser.add_argument("--interval", type=float, default=3.0)
    parser.add_argument("--once", action="store_true")
    parser.add_argument("--jobs-only", action="store_true", help="R2 and R4 for the pods of runnable Jobs only, R5 for those of deleted Jobs")
    parser.add_argument("--db-host", help="R4: run migration Job pods against this PostgreSQL")
    parser.add_argument("--db-port", type=int)
    parser.add_argument("--db-user")
    parser.add_argument("--db-password")
    parser.add_argument("--db-name")
    args = parser.parse_args()
    c = Cluster(args.kubeconfig, args.namespace, "triage-testenv-world")
    db = None
    if args.db_host:
        db = {"host": args.db_host, "port": args.db_port, "user": args.db_user,
              "password": args.db_password, "name": args.db_name}
    while True:
        try:
            if args.jobs_only:
                tick_jobs_only(c, db)
            else:
                tick(c, db)
        except Exception as err:  # keep ticking, like a kubelet would
            print(f"world tick failed: {err}", file=sys.stderr, flush=True)
        if args.once:
            return
        time.sleep(args.interval)


if __name__ == "__main__":
    main()
