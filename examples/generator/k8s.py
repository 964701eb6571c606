"""Workload builders: Deployment/ReplicaSet/Pod, StatefulSet, Job, CronJob, Service, PVC/PV."""
import copy

from lib import (add_s, container, hexs, image_ref, safe, template, ts)

TOLERATIONS = [
    {"effect": "NoExecute", "key": "node.kubernetes.io/not-ready", "operator": "Exists", "tolerationSeconds": 300},
    {"effect": "NoExecute", "key": "node.kubernetes.io/unreachable", "operator": "Exists", "tolerationSeconds": 300},
]


def qos(spec):
    cs = spec["containers"] + spec.get("initContainers", [])
    guaranteed = all(c["resources"]["requests"] == c["resources"]["limits"] for c in cs)
    return "Guaranteed" if guaranteed else "Burstable"


def cond(ctype, status, t, reason=None, message=None, probe=False):
    c = {"type": ctype, "status": status, "lastProbeTime": None, "lastTransitionTime": ts(t)}
    if reason:
        c["reason"] = reason
    if message:
        c["message"] = message
    return c


def running_state(t):
    return {"running": {"startedAt": ts(t)}}


def terminated(w, key, exit_code, reason, started, finished, restart=0):
    return {"terminated": {"containerID": f"{w.runtime}://{hexs(key + 'term' + str(restart))}",
                           "exitCode": exit_code, "reason": reason,
                           "startedAt": ts(started), "finishedAt": ts(finished)}}


def cstatus(w, podkey, c, state, ready, started, restarts=0, last=None, created=True):
    image, image_id = image_ref(c["image"])
    s = {"name": c["name"], "image": image if created else c["image"],
         "imageID": image_id if created else "",
         "ready": ready, "restartCount": restarts, "started": started,
         "state": state, "lastState": last or {}}
    if created:
        s["containerID"] = f"{w.runtime}://{hexs(podkey + c['name'] + str(restarts))}"
        # the status names the newest container: the current one, else the last terminated one
        for src in (state, last or {}):
            if "terminated" in src:
                s["containerID"] = src["terminated"]["containerID"]
                break
            if "running" in src:
                break
    return s


def make_pod(w, name, ns, created, tmpl, owner, status, gen_name=None, finalizers=None,
             node=True, extra_spec=None, annotations=None):
    """Pod from a template: adds what admission/scheduler add (SA token volume, tolerations, node)."""
    spec = copy.deepcopy(tmpl["spec"])
    vol = f"kube-api-access-{safe(ns + name + 'kaa', 5)}"
    mount = {"mountPath": "/var/run/secrets/kubernetes.io/serviceaccount", "name": vol, "readOnly": True}
    for c in spec["containers"] + spec.get("initContainers", []):
        c.setdefault("volumeMounts", []).append(dict(mount))
    spec.setdefault("volumes", []).append({
        "name": vol,
        "projected": {"defaultMode": 420, "sources": [
            {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
            {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
            {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}},
        ]},
    })
    spec.update({"enableServiceLinks": True, "preemptionPolicy": "PreemptLowerPriority", "priority": 0,
                 "serviceAccount": spec["serviceAccountName"], "tolerations": copy.deepcopy(TOLERATIONS)})
    if node:
        spec["nodeName"] = w.node
    if extra_spec:
        spec.update(extra_spec)
    labels = dict(tmpl["metadata"]["labels"])
    ann = dict(tmpl["metadata"].get("annotations") or {})
    if annotations:
        ann.update(annotations)
    md = w.meta("Pod", name, ns, created, labels=labels, annotations=ann or None,
                owners=[w.owner(owner)] if owner else None, finalizers=finalizers,
                generate_name=gen_name)
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": md, "spec": spec, "status": status}
    status.setdefault("qosClass", qos(spec))
    return pod


def pod_status_running(w, key, spec, start, ready_at, restarts=None, lasts=None, init_done=None):
    """All containers running and ready. init_done: (start, finish) of init containers."""
    restarts = restarts or {}
    lasts = lasts or {}
    ip = w.pod_ip(key)
    st = {
        "conditions": [
            cond("PodReadyToStartContainers", "True", add_s(start, 2)),
            cond("Initialized", "True", init_done[1] if init_done else start),
            cond("Ready", "True", ready_at),
            cond("ContainersReady", "True", ready_at),
            cond("PodScheduled", "True", start),
        ],
        "containerStatuses": [
            cstatus(w, key, c, running_state(add_s(init_done[1] if init_done else start, 3)), True, True,
                    restarts.get(c["name"], 0), lasts.get(c["name"]))
            for c in spec["containers"]
        ],
        "hostIP": w.host_ip, "hostIPs": [{"ip": w.host_ip}],
        "phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}], "startTime": ts(start),
    }
    if spec.get("initContainers"):
        # A native sidecar (restartPolicy Always, KEP-753) keeps running beside the app:
        # the kubelet reports it running, started and ready, never Completed.
        st["initContainerStatuses"] = [
            cstatus(w, key, c, running_state(add_s(init_done[0], 1)), True, True, 0)
            if c.get("restartPolicy") == "Always" else
            cstatus(w, key, c, terminated(w, key + c["name"], 0, "Completed", init_done[0], init_done[1]),
                    True, False, 0) for c in spec["initContainers"]]
    return st


def pod_status_succeeded(w, key, spec, start, finish):
    ip = w.pod_ip(key)
    return {
        "conditions": [
            cond("PodReadyToStartContainers", "False", add_s(finish, 1)),
            cond("Initialized", "True", start, reason="PodCompleted"),
            cond("Ready", "False", add_s(finish, 1), reason="PodCompleted"),
            cond("ContainersReady", "False", add_s(finish, 1), reason="PodCompleted"),
            cond("PodScheduled", "True", start),
        ],
        "containerStatuses": [
            cstatus(w, key, c, terminated(w, key + c["name"], 0, "Completed", add_s(start, 3), finish),
                    False, False, 0) for c in spec["containers"]
        ],
        "hostIP": w.host_ip, "hostIPs": [{"ip": w.host_ip}],
        "phase": "Succeeded", "podIP": ip, "podIPs": [{"ip": ip}], "startTime": ts(start),
    }


# ---- Deployments ------------------------------------------------------------
def deployment(w, name, ns, created, labels, selector, tmpl, replicas=1, annotations=None,
               generation=1, revision=1, strategy=None, status=None):
    ann = {"deployment.kubernetes.io/revision": str(revision)}
    if annotations:
        ann.update(annotations)
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": w.meta("Deployment", name, ns, created, labels=labels, annotations=ann, generation=generation),
        "spec": {
            "progressDeadlineSeconds": 600, "replicas": replicas, "revisionHistoryLimit": 10,
            "selector": {"matchLabels": dict(selector)},
            "strategy": strategy or {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
            "template": copy.deepcopy(tmpl),
        },
        "status": status,
    }


def dcond(ctype, status, t_trans, t_upd, reason, message):
    return {"type": ctype, "status": status, "lastTransitionTime": ts(t_trans), "lastUpdateTime": ts(t_upd),
            "reason": reason, "message": message}


def dep_status_ok(gen, rs_name, t_avail, t_prog, replicas=1):
    return {
        "availableReplicas": replicas, "observedGeneration": gen, "readyReplicas": replicas,
        "replicas": replicas, "updatedReplicas": replicas,
        "conditions": [
            dcond("Available", "True", t_avail, t_avail, "MinimumReplicasAvailable", "Deployment has minimum availability."),
            dcond("Progressing", "True", t_prog, t_prog, "NewReplicaSetAvailable", f'ReplicaSet "{rs_name}" has successfully progressed.'),
        ],
    }


def replicaset(w, dep, tmpl_hash, created, revision, replicas, status, ready=None, uid_tag=""):
    d = dep
    name = f"{d['metadata']['name']}-{tmpl_hash}"
    tmpl = copy.deepcopy(d["spec"]["template"])
    tmpl["metadata"]["labels"]["pod-template-hash"] = tmpl_hash
    labels = dict(tmpl["metadata"]["labels"])
    sel = dict(d["spec"]["selector"]["matchLabels"])
    sel["pod-template-hash"] = tmpl_hash
    desired = d["spec"]["replicas"]
    ann = {"deployment.kubernetes.io/desired-replicas": str(desired),
           "deployment.kubernetes.io/max-replicas": str(desired + (1 if d["spec"]["strategy"]["type"] == "RollingUpdate" else 0)),
           "deployment.kubernetes.io/revision": str(revision)}
    rs = {
        "apiVersion": "apps/v1", "kind": "ReplicaSet",
        "metadata": w.meta("ReplicaSet", name, d["metadata"]["namespace"], created, labels=labels, annotations=ann,
                           owners=[w.owner(d)], generation=1 if replicas == 1 else 2),
        "spec": {"replicas": replicas, "selector": {"matchLabels": sel}, "template": tmpl},
        "status": status,
    }
    return rs


def rs_status(replicas, ready, gen, conditions=None):
    s = {"observedGeneration": gen, "replicas": replicas}
    if replicas:
        s.update({"availableReplicas": ready, "fullyLabeledReplicas": replicas, "readyReplicas": ready})
    if conditions:
        s["conditions"] = conditions
    return s


# ---- Services ----------------------------------------------------------------
def service(w, name, ns, created, labels, selector, ports, annotations=None, headless=False):
    ip = "None" if headless else w.cluster_ip(ns + name)
    return {
        "apiVersion": "v1", "kind": "Service",
        "metadata": w.meta("Service", name, ns, created, labels=labels, annotations=annotations),
        "spec": {
            "clusterIP": ip, "clusterIPs": [ip], "internalTrafficPolicy": "Cluster",
            "ipFamilies": ["IPv4"], "ipFamilyPolicy": "SingleStack",
            "ports": ports, "selector": dict(selector), "sessionAffinity": "None", "type": "ClusterIP",
        },
        "status": {"loadBalancer": {}},
    }


def sport(name, port, target, proto="TCP"):
    return {"name": name, "port": port, "protocol": proto, "targetPort": target}


# ---- Jobs --------------------------------------------------------------------
def job_spec(w, job_uid, name, tmpl, suspend=False, backoff=6, extra=None):
    t = copy.deepcopy(tmpl)
    t["metadata"]["labels"].update({
        "batch.kubernetes.io/controller-uid": job_uid, "batch.kubernetes.io/job-name": name,
        "controller-uid": job_uid, "job-name": name})
    s = {"backoffLimit": backoff, "completionMode": "NonIndexed", "completions": 1, "manualSelector": False,
         "parallelism": 1, "podReplacementPolicy": "TerminatingOrFailed",
         "selector": {"matchLabels": {"batch.kubernetes.io/controller-uid": job_uid}},
         "suspend": suspend, "template": t}
    if extra:
        s.update(extra)
    return s


def job(w, name, ns, created, labels, tmpl, status, annotations=None, owners=None, finalizers=None,
        suspend=False, backoff=6, extra_spec=None, uid_tag="", generation=1):
    md = w.meta("Job", name, ns, created, labels=labels, annotations=annotations, owners=owners,
                finalizers=finalizers, generation=generation, uid_tag=uid_tag)
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": md,
            "spec": job_spec(w, md["uid"], name, tmpl, suspend, backoff, extra_spec), "status": status}


def job_pod_template_labels(j):
    return j["spec"]["template"]["metadata"]["labels"]


def job_status_complete(start, done):
    return {"completionTime": ts(done),
            "conditions": [{"lastProbeTime": ts(done), "lastTransitionTime": ts(done), "status": "True", "type": "Complete"}],
            "ready": 0, "startTime": ts(start), "succeeded": 1, "terminating": 0, "uncountedTerminatedPods": {}}


def job_status_suspended(t):
    return {"conditions": [{"lastProbeTime": ts(t), "lastTransitionTime": ts(t), "message": "Job suspended",
                            "reason": "JobSuspended", "status": "True", "type": "Suspended"}],
            "ready": 0, "terminating": 0, "uncountedTerminatedPods": {}}


def job_status_active(start, active, ready):
    s = {"ready": ready, "startTime": ts(start), "terminating": 0, "uncountedTerminatedPods": {}}
    if active:
        s["active"] = active
    return s


def cronjob(w, name, ns, created, labels, schedule, job_tmpl_labels, tmpl, status, concurrency="Allow",
            annotations=None, extra_job_spec=None, history=3):
    jt = {"metadata": {"creationTimestamp": None, "labels": dict(job_tmpl_labels)},
          "spec": {"backoffLimit": 2, "template": copy.deepcopy(tmpl)}}
    if extra_job_spec:
        jt["spec"].update(extra_job_spec)
    return {"apiVersion": "batch/v1", "kind": "CronJob",
            "metadata": w.meta("CronJob", name, ns, created, labels=labels, annotations=annotations, generation=1),
            "spec": {"concurrencyPolicy": concurrency, "failedJobsHistoryLimit": 1, "jobTemplate": jt,
                     "schedule": schedule, "successfulJobsHistoryLimit": history, "suspend": False},
            "status": status}


def cron_suffix(t):
    from lib import T
    return str(int(T(t).timestamp()) // 60)
