//! End-to-end tests against a real kube-apiserver + etcd (+ controller manager),
//! started once for this binary by `harness`. Each test works in its own namespace.

mod harness;

use harness::{stderr, stdout, testenv, triage_with};
use serde_json::Value;

/// Parses `triage ... -o json` output, failing with stderr on a non-zero exit.
#[track_caller]
fn json_of(output: &std::process::Output) -> Value {
    assert_eq!(output.status.code(), Some(0), "stderr: {}", stderr(output));
    serde_json::from_slice(&output.stdout).expect("triage prints JSON")
}

/// The inventory minus what legitimately differs between two reads of the same
/// objects: when and from where they were read, and ages computed from that moment.
fn comparable(mut inventory: Value) -> Value {
    fn strip(value: &mut Value) {
        match value {
            Value::Object(map) => {
                // Ages depend on the clock (CronJob rows carry two more).
                for key in [
                    "age",
                    "lastSeen",
                    "capturedAt",
                    "source",
                    "lastTimestamp",
                    "lastSchedule",
                    "lastSuccessful",
                ] {
                    map.remove(key);
                }
                map.values_mut().for_each(strip);
            }
            Value::Array(items) => items.iter_mut().for_each(strip),
            _ => {}
        }
    }
    strip(&mut inventory);
    // The API server's own repair loops for Service cluster IPs and node ports run
    // beside the load and can catch a Service between its allocation and the
    // bitmap's snapshot: they then say `ClusterIPNotAllocated`/`PortNotAllocated`
    // about a Service the fixture (captured elsewhere) has no event for. Control-plane
    // noise of this test cluster, not part of the namespace as loaded.
    // (kubernetes pkg/registry/core/service/ipallocator/controller/repair.go,
    // portallocator/controller/repair.go)
    if let Some(events) = inventory
        .get_mut("warningEvents")
        .and_then(Value::as_array_mut)
    {
        events.retain(|event| {
            !matches!(
                event["reason"].as_str(),
                Some("ClusterIPNotAllocated" | "PortNotAllocated")
            )
        });
    }
    inventory
}

#[test]
fn unknown_namespace_is_exit_2() {
    let Some(env) = testenv("unknown_namespace_is_exit_2") else {
        return;
    };
    let output = env.triage(&["inventory", "-n", "no-such-namespace"]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("namespace `no-such-namespace` does not exist"),
        "{}",
        stderr(&output)
    );
    assert_eq!(stderr(&output).lines().count(), 1);
}

#[test]
fn rejected_credentials_are_exit_3() {
    let Some(env) = testenv("rejected_credentials_are_exit_3") else {
        return;
    };
    let text = std::fs::read_to_string(&env.kubeconfig).unwrap();
    let token = env
        .vars
        .get("TRIAGE_TESTENV_ONCALL_TOKEN")
        .expect("oncall token in env");
    let forged = text.replace(token.as_str(), "expired-or-forged-token");
    assert_ne!(forged, text, "the kubeconfig holds the oncall token");
    let path = env.dir.join("kubeconfig-bad-token");
    std::fs::write(&path, forged).unwrap();
    let output = triage_with(
        &path,
        &["--context", "oncall", "inventory", "-n", "default"],
    );
    assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("rejected the credentials"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn user_without_any_grant_is_exit_4() {
    let Some(env) = testenv("user_without_any_grant_is_exit_4") else {
        return;
    };
    let ns = env.create_namespace("e2e-forbidden");
    let output = env.triage(&["--context", "oncall", "inventory", "-n", &ns]);
    assert_eq!(output.status.code(), Some(4), "{}", stderr(&output));
    assert!(
        stderr(&output).contains(&format!("may not list anything in namespace `{ns}`")),
        "{}",
        stderr(&output)
    );
}

#[test]
fn one_forbidden_kind_still_shows_the_others() {
    let Some(env) = testenv("one_forbidden_kind_still_shows_the_others") else {
        return;
    };
    let ns = env.create_namespace("e2e-partial");
    // Everything triage reads except networkpolicies.
    env.kubectl_apply(&format!(
        r#"
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {{name: read-most, namespace: {ns}}}
rules:
- apiGroups: ["", apps, batch, rbac.authorization.k8s.io, discovery.k8s.io]
  resources: [pods, configmaps, jobs, cronjobs, endpointslices, deployments, statefulsets, daemonsets, replicasets, services, serviceaccounts, roles, rolebindings, persistentvolumeclaims, resourcequotas, limitranges, events]
  verbs: [get, list]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {{name: oncall-read-most, namespace: {ns}}}
roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: Role, name: read-most}}
subjects: [{{apiGroup: rbac.authorization.k8s.io, kind: User, name: oncall}}]
---
apiVersion: v1
kind: ConfigMap
metadata: {{name: visible, namespace: {ns}}}
data: {{k: v}}
"#
    ));
    let output = env.triage(&["--context", "oncall", "inventory", "-n", &ns]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let text = stdout(&output);
    assert!(
        text.contains("Not readable: networkpolicies (forbidden"),
        "{text}"
    );
    assert!(
        text.contains("Not readable: storageclasses (forbidden"),
        "{text}"
    );
    assert!(text.contains("visible"), "{text}");
    let json = json_of(&env.triage(&["--context", "oncall", "inventory", "-n", &ns, "-o", "json"]));
    assert_eq!(json["gaps"]["networkpolicies"]["reason"], "forbidden");
    assert!(
        json["configMaps"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["name"] == "visible")
    );
}

#[test]
fn lists_are_paginated() {
    let Some(env) = testenv("lists_are_paginated") else {
        return;
    };
    let ns = env.create_namespace("e2e-pages");
    let items: Vec<String> = (0..520)
        .map(|i| format!(r#"{{"apiVersion":"v1","kind":"ConfigMap","metadata":{{"name":"cm-{i:04}","namespace":"{ns}"}}}}"#))
        .collect();
    env.kubectl_apply(&format!(
        r#"{{"apiVersion":"v1","kind":"List","items":[{}]}}"#,
        items.join(",")
    ));
    let json = json_of(&env.triage(&["inventory", "-n", &ns, "-o", "json"]));
    let names: Vec<&str> = json["configMaps"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["name"].as_str())
        .collect();
    // 520 of ours plus kube-root-ca.crt from the root-ca publisher, when it runs.
    assert!(
        names.iter().filter(|n| n.starts_with("cm-")).count() == 520,
        "got {}",
        names.len()
    );
}

#[test]
fn live_snapshot_reads_back_as_the_same_inventory() {
    let Some(env) = testenv("live_snapshot_reads_back_as_the_same_inventory") else {
        return;
    };
    let ns = env.create_namespace("e2e-roundtrip");
    env.kubectl_apply(&format!(
        r#"
apiVersion: v1
kind: ConfigMap
metadata:
  name: app-config
  namespace: {ns}
  annotations:
    kubectl.kubernetes.io/last-applied-configuration: '{{"secret":"do-not-copy"}}'
data: {{mode: fast}}
---
apiVersion: v1
kind: Secret
metadata: {{name: creds, namespace: {ns}}}
stringData: {{password: hunter2-never-printed}}
---
apiVersion: batch/v1
kind: Job
metadata:
  name: presync
  namespace: {ns}
  annotations: {{argocd.argoproj.io/hook: PreSync}}
  finalizers: [example.com/hook-cleanup]
spec:
  suspend: true
  template:
    spec:
      restartPolicy: Never
      containers: [{{name: c, image: busybox}}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {{name: deny-egress, namespace: {ns}}}
spec: {{podSelector: {{}}, policyTypes: [Egress]}}
"#
    ));
    let live = json_of(&env.triage(&["inventory", "-n", &ns, "-o", "json"]));
    let snapshot = env.triage(&["snapshot", "-n", &ns]);
    assert_eq!(snapshot.status.code(), Some(0), "{}", stderr(&snapshot));
    let text = stdout(&snapshot);
    assert!(
        !text.contains("hunter2"),
        "secret data leaked into the snapshot"
    );
    assert!(
        !text.contains("do-not-copy"),
        "last-applied-configuration not redacted"
    );
    let path = env.dir.join(format!("{ns}.yaml"));
    std::fs::write(&path, &text).unwrap();
    let offline = json_of(&env.triage(&[
        "inventory",
        "-n",
        &ns,
        "--snapshot",
        path.to_str().unwrap(),
        "-o",
        "json",
    ]));
    assert_eq!(comparable(live.clone()), comparable(offline));
    let job = &live["jobs"][0];
    assert_eq!(job["name"], "presync");
    assert_eq!(job["suspended"], true);
    assert_eq!(job["finalizers"][0], "example.com/hook-cleanup");
    assert_eq!(live["networkPolicies"][0]["denyAllEgress"], true);
    // Clean up the finalizer so the namespace can go away with the run.
    env.kubectl_ok(&[
        "patch",
        "job",
        "presync",
        "-n",
        &ns,
        "--type=json",
        "-p",
        r#"[{"op":"remove","path":"/metadata/finalizers"}]"#,
    ]);
}

#[test]
fn stopped_apiserver_is_exit_3() {
    let Some(env) = testenv("stopped_apiserver_is_exit_3") else {
        return;
    };
    // A second, short-lived control plane that we stop ourselves.
    let dir = env.dir.with_extension("stopped");
    let testenv_script = harness::root().join("scripts/testenv");
    harness::up(&dir, &["--no-controller-manager"])
        .or_else(|_| harness::up(&dir, &["--no-controller-manager"]))
        .unwrap();
    // Keep a copy of its kubeconfig: `down` removes the original with the certificates.
    let kubeconfig = env.dir.join("kubeconfig-stopped");
    std::fs::copy(dir.join("kubeconfig"), &kubeconfig).unwrap();
    let before = triage_with(&kubeconfig, &["inventory", "-n", "default"]);
    assert_eq!(before.status.code(), Some(0), "{}", stderr(&before));
    let down = std::process::Command::new(&testenv_script)
        .args(["down", "--purge", "--dir"])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(
        down.status.success(),
        "{}",
        String::from_utf8_lossy(&down.stderr)
    );
    let after = triage_with(
        &kubeconfig,
        &["inventory", "-n", "default", "--request-timeout", "5s"],
    );
    assert_eq!(after.status.code(), Some(3), "{}", stderr(&after));
    assert!(
        stderr(&after).starts_with("error: cannot reach"),
        "{}",
        stderr(&after)
    );
    assert_eq!(stderr(&after).lines().count(), 1);
}

/// Loads the bleater incident into a fresh namespace pair; returns (namespace, system namespace).
fn load_incident(env: &harness::TestEnv, fixture: &str) -> (String, String) {
    let ns = env.unique_name("e2e-bleater");
    let system = format!("{ns}-system");
    env.load_scenario(fixture, &[("bleater", &ns), ("bleater-system", &system)]);
    (ns, system)
}

#[test]
fn live_inventory_of_the_loaded_incident_equals_the_fixture_offline() {
    let Some(env) = testenv("live_inventory_of_the_loaded_incident_equals_the_fixture_offline")
    else {
        return;
    };
    let (ns, system) = load_incident(env, "bleater-incident.yaml");
    let offline = json_of(
        &env.triage(&[
            "inventory",
            "-n",
            "bleater",
            "--snapshot",
            harness::root()
                .join("examples/bleater-incident.yaml")
                .to_str()
                .unwrap(),
            "-o",
            "json",
        ]),
    );
    // The fixture holds no logs (and this control plane has no kubelet to give any).
    let live = json_of(&env.triage(&["inventory", "-n", &ns, "--logs", "0", "-o", "json"]));
    // Same objects, read back with the namespaces mapped back to the fixture's.
    let live_text = serde_json::to_string(&live)
        .unwrap()
        .replace(&system, "bleater-system")
        .replace(&ns, "bleater");
    let mut live: Value = serde_json::from_str(&live_text).unwrap();
    let mut offline = offline;
    for inventory in [&mut live, &mut offline] {
        normalize_cluster_assigned(inventory);
    }
    let differences = json_differences("", &comparable(live), &comparable(offline));
    assert!(
        differences.is_empty(),
        "live differs from offline:\n{}",
        differences.join("\n")
    );
}

/// Replaces every UUID (8-4-4-4-12 hex) in `text` with `<uid>`.
fn mask_uids(text: &str) -> String {
    let bytes = text.as_bytes();
    let is_uuid = |at: usize| {
        bytes.len() >= at + 36
            && bytes[at..at + 36].iter().enumerate().all(|(i, b)| match i {
                8 | 13 | 18 | 23 => *b == b'-',
                _ => b.is_ascii_hexdigit(),
            })
    };
    let mut out = String::new();
    let mut at = 0;
    while at < bytes.len() {
        if is_uuid(at) {
            out.push_str("<uid>");
            at += 36;
        } else {
            let ch = text[at..].chars().next().unwrap();
            out.push(ch);
            at += ch.len_utf8();
        }
    }
    out
}

/// Paths where two JSON values differ, with both sides, for a readable failure.
fn json_differences(path: &str, left: &Value, right: &Value) -> Vec<String> {
    match (left, right) {
        (Value::Object(a), Value::Object(b)) => {
            let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
            keys.sort();
            keys.dedup();
            keys.into_iter()
                .flat_map(|k| {
                    json_differences(
                        &format!("{path}/{k}"),
                        a.get(k).unwrap_or(&Value::Null),
                        b.get(k).unwrap_or(&Value::Null),
                    )
                })
                .collect()
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => a
            .iter()
            .zip(b)
            .enumerate()
            .flat_map(|(i, (x, y))| json_differences(&format!("{path}/{i}"), x, y))
            .collect(),
        (a, b) if a == b => Vec::new(),
        (a, b) => vec![format!("{path}: live {} / offline {}", short(a), short(b))],
    }
}

fn short(value: &Value) -> String {
    let text = value.to_string();
    if text.len() > 200 {
        format!("{}...", &text[..200])
    } else {
        text
    }
}

/// Removes what the API server and its controllers assign on their own (cluster IPs,
/// volume names, field managers, the root CA ConfigMap and default ServiceAccount
/// every namespace gets) and the Secrets count (a live read never touches Secrets).
///
/// A fixture may also carry kinds triage does not list live (CronJobs, PVs); offline
/// they show as `otherObjects`. Event messages quote object uids, which the loader
/// maps to the new objects' uids.
fn normalize_cluster_assigned(inventory: &mut Value) {
    inventory.as_object_mut().unwrap().remove("secretsSkipped");
    // The PV controller re-reports what a fixture's claim event already says (its own
    // `ProvisioningFailed` for a missing class): keep only the row with the higher count.
    if let Some(events) = inventory["warningEvents"].as_array_mut() {
        let key = |e: &Value| {
            (
                e["object"].clone(),
                e["reason"].clone(),
                e["message"].clone(),
            )
        };
        let snapshot = events.clone();
        events.retain(|e| {
            !snapshot
                .iter()
                .any(|other| key(other) == key(e) && other["count"].as_i64() > e["count"].as_i64())
        });
    }
    inventory.as_object_mut().unwrap().remove("otherObjects");
    for event in inventory["warningEvents"]
        .as_array_mut()
        .into_iter()
        .flatten()
    {
        let message = event["message"].as_str().unwrap_or_default();
        event["message"] = Value::String(mask_uids(message));
    }
    for claim in inventory["persistentVolumeClaims"]
        .as_array_mut()
        .into_iter()
        .flatten()
    {
        claim.as_object_mut().unwrap().remove("volume");
    }
    for service in inventory["services"].as_array_mut().into_iter().flatten() {
        service.as_object_mut().unwrap().remove("clusterIp");
    }
    if let Some(maps) = inventory["configMaps"].as_array_mut() {
        maps.retain(|m| m["name"] != "kube-root-ca.crt");
        maps.iter_mut().for_each(|m| {
            m.as_object_mut().unwrap().remove("managers");
        });
    }
    if let Some(accounts) = inventory["serviceAccounts"].as_array_mut() {
        accounts.retain(|a| a["name"] != "default");
    }
}

#[test]
fn reconciler_reverts_a_patched_status_within_15_seconds() {
    let Some(env) = testenv("reconciler_reverts_a_patched_status_within_15_seconds") else {
        return;
    };
    let (ns, system) = load_incident(env, "bleater-incident.yaml");
    let _reconciler = env.spawn_support(
        "reconciler.py",
        &["--namespace", &ns, "--system-namespace", &system],
    );
    // First tick: the oracle computes Progressing (the lock gates every app).
    let first = harness::wait_for(std::time::Duration::from_secs(30), || {
        env.config_map_value(&system, "bleater-status", "gating")
            .filter(|g| g.contains("auth-service=lock"))
    });
    assert!(first.is_some(), "the reconciler never wrote its status");
    // The on-call engineer's cosmetic patch.
    env.kubectl_ok(&[
        "patch",
        "configmap",
        "bleater-status",
        "-n",
        &system,
        "--type=merge",
        "-p",
        r#"{"data":{"auth-service":"Healthy"}}"#,
    ]);
    assert_eq!(
        env.config_map_value(&system, "bleater-status", "auth-service")
            .as_deref(),
        Some("Healthy")
    );
    let started = std::time::Instant::now();
    let reverted = harness::wait_for(std::time::Duration::from_secs(15), || {
        env.config_map_value(&system, "bleater-status", "auth-service")
            .filter(|v| v == "Progressing")
    });
    assert!(reverted.is_some(), "the patch survived 15 s");
    eprintln!(
        "patch reverted after {:.1}s",
        started.elapsed().as_secs_f64()
    );
}

#[test]
fn world_simulator_keeps_the_init_container_crash_looping_while_faults_remain() {
    let Some(env) =
        testenv("world_simulator_keeps_the_init_container_crash_looping_while_faults_remain")
    else {
        return;
    };
    let (ns, _system) = load_incident(env, "bleater-incident.yaml");
    let pod_restarts = || -> Option<i64> {
        let json: Value = serde_json::from_str(&env.kubectl_ok(&[
            "get",
            "pods",
            "-n",
            &ns,
            "-l",
            "app.kubernetes.io/name=bleat-service",
            "-o",
            "json",
        ]))
        .ok()?;
        json["items"][0]["status"]["initContainerStatuses"][0]["restartCount"].as_i64()
    };
    let before = pod_restarts().expect("the bleat-service pod has an init container status");
    let world = std::process::Command::new(harness::python())
        .arg(harness::root().join("testenv/world.py"))
        .args([
            "--kubeconfig",
            env.kubeconfig.to_str().unwrap(),
            "--namespace",
            &ns,
            "--once",
        ])
        .output()
        .unwrap();
    assert!(
        world.status.success(),
        "{}",
        String::from_utf8_lossy(&world.stderr)
    );
    let after = pod_restarts().unwrap();
    assert_eq!(
        after,
        before + 1,
        "R1: still crash-looping while egress and schema are broken"
    );
    let live = json_of(&env.triage(&["inventory", "-n", &ns, "-o", "json"]));
    let bleat = live["pods"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"].as_str().unwrap().starts_with("bleat-service"))
        .unwrap();
    assert_eq!(bleat["status"], "Init:CrashLoopBackOff");
}

/// Each finding's id and status, and each app's view: the answers a responder acts on.
fn verdicts(check: &Value) -> Vec<String> {
    let findings = check["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| format!("{} {}", f["id"], f["status"]));
    let apps = check["apps"].as_array().unwrap().iter().map(|a| {
        format!(
            "{} {} {} {}",
            a["app"], a["current"], a["expected"], a["gatedBy"]
        )
    });
    findings.chain(apps).collect()
}

#[test]
fn check_live_gives_the_same_answers_as_offline_and_asks_the_server_about_rbac() {
    let Some(env) =
        testenv("check_live_gives_the_same_answers_as_offline_and_asks_the_server_about_rbac")
    else {
        return;
    };
    // The built-in profile is for `bleater`; a live namespace with another name uses
    // the same profile from a file, pointed at the remapped status ConfigMap.
    let incident = harness::Incident::load(env, "e2e-check");
    let live = incident.triage(env, &["check", "-o", "json"]);
    assert_eq!(
        live.status.code(),
        Some(1),
        "failing signals exit 1: {}",
        stderr(&live)
    );
    let live: Value = serde_json::from_slice(&live.stdout).unwrap();
    let offline = env.triage(&[
        "check",
        "-n",
        "bleater",
        "--snapshot",
        harness::root()
            .join("examples/bleater-incident.yaml")
            .to_str()
            .unwrap(),
        "-o",
        "json",
    ]);
    assert_eq!(offline.status.code(), Some(1));
    let offline: Value = serde_json::from_slice(&offline.stdout).unwrap();
    assert_eq!(verdicts(&live), verdicts(&offline));
    // Live, the rbac verdict carries the API server's own SubjectAccessReview answers
    // beside the evaluated Role rules.
    let rbac = live["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == "rbac")
        .unwrap();
    let evidence = rbac["evidence"].to_string();
    assert!(
        evidence.contains("subjectAccessReview[create jobs.batch]"),
        "{evidence}"
    );
    assert!(evidence.contains("migration-runner-role-v2"), "{evidence}");
}

mod all_namespaces;
mod incident;
mod logs;
mod orders;
mod reliability;
mod repair;
mod secrets;
mod storage;
mod sweep;
mod traffic;
mod watch;

/// Audit logs attribute triage's requests: every one carries `triage/<version>`; and
/// `-v` says on stderr what was listed.
#[test]
fn every_request_carries_the_triage_user_agent_and_v_reports_the_load() {
    let Some(env) = testenv("every_request_carries_the_triage_user_agent_and_v_reports_the_load")
    else {
        return;
    };
    let ns = env.create_namespace("e2e-agent");
    let proxy = harness::FaultProxy::start(env, &ns, &[]);
    let output = triage_with(&proxy.kubeconfig, &["-v", "inventory", "-n", &ns]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(
        stderr(&output).contains(&format!(
            "triage: listed {} kinds in namespace `{ns}`",
            // ClusterRoles are read one by one (GET), never listed.
            triage::snapshot::Kind::ALL.len() - 1
        )),
        "{}",
        stderr(&output)
    );
    let log = std::fs::read_to_string(&proxy.log).unwrap();
    let requests: Vec<&str> = log.lines().collect();
    assert!(
        requests.len() >= 20,
        "one LIST per kind and the namespace GET: {log}"
    );
    let agent = concat!("triage/", env!("CARGO_PKG_VERSION"));
    assert!(requests.iter().all(|line| line.ends_with(agent)), "{log}");
}
