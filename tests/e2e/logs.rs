//! Container logs live: the test control plane has no kubelet, so every log request
//! fails at the API server; triage names that as a gap under the finding and the
//! command's verdict is unchanged. `--logs 0` sends no log request at all; a user
//! without `pods/log` gets a `forbidden` gap, kept by `triage snapshot` so an offline
//! check shows the same line. With a fake kubelet (testenv/fake_kubelet.py) behind a
//! registered Node, the lines come through the API server as they would in a cluster.

use serde_json::Value;

use crate::harness::{self, FaultProxy, TestEnv, stderr, stdout, testenv, triage_with};

const POD: &str = "api-7f9c";

/// A namespace with one pod whose init container crash-loops (status written as a
/// kubelet would, through the status subresource), bound to a node with no kubelet.
fn crash_looping_pod(env: &TestEnv, prefix: &str) -> String {
    let ns = env.create_namespace(prefix);
    crash_looping_pod_on(env, &ns, "no-kubelet-node");
    ns
}

fn crash_looping_pod_on(env: &TestEnv, ns: &str, node: &str) {
    env.kubectl_apply(&format!(
        r#"
apiVersion: v1
kind: Pod
metadata: {{name: {POD}, namespace: {ns}, labels: {{app.kubernetes.io/name: api}}}}
spec:
  nodeName: {node}
  initContainers: [{{name: migrate, image: busybox, command: [sh, -c, exit 1]}}]
  containers: [{{name: app, image: busybox}}]
"#
    ));
    env.kubectl_ok(&[
        "patch",
        "pod",
        POD,
        "-n",
        ns,
        "--subresource=status",
        "--type=merge",
        "-p",
        r#"{"status":{"phase":"Pending",
            "initContainerStatuses":[{"name":"migrate","image":"busybox","imageID":"","ready":false,"restartCount":6,
              "state":{"waiting":{"reason":"CrashLoopBackOff","message":"back-off 2m40s restarting failed container"}},
              "lastState":{"terminated":{"exitCode":1,"reason":"Error","startedAt":"2024-11-19T03:30:00Z","finishedAt":"2024-11-19T03:30:01Z"}}}],
            "containerStatuses":[{"name":"app","image":"busybox","imageID":"","ready":false,"restartCount":0,
              "state":{"waiting":{"reason":"PodInitializing"}}}]}}"#,
    ]);
}

fn init_container_finding(check: &Value) -> &Value {
    check["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == "init-container")
        .expect("an init-container finding")
}

fn log_evidence(finding: &Value) -> Vec<&Value> {
    finding["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == "log" || e["type"] == "logGap")
        .collect()
}

fn log_requests(log: &std::path::Path) -> Vec<String> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        // The path, not what an access review asks (after a `#`, see fault_proxy.py).
        .filter(|line| line.split('#').next().unwrap_or(line).contains("/log"))
        .map(str::to_string)
        .collect()
}

#[test]
fn live_check_names_the_log_gap_instead_of_failing_and_logs_0_asks_nothing() {
    let Some(env) = testenv("live_check_names_the_log_gap_instead_of_failing") else {
        return;
    };
    let ns = crash_looping_pod(env, "e2e-logs");

    // --logs 0: the verdict, and not one request for a log.
    let quiet = FaultProxy::start(env, &format!("{ns}-quiet"), &[]);
    let without = triage_with(
        &quiet.kubeconfig,
        &["check", "-n", &ns, "--logs", "0", "-o", "json"],
    );
    assert_eq!(without.status.code(), Some(1), "{}", stderr(&without));
    let without: Value = serde_json::from_slice(&without.stdout).unwrap();
    assert!(log_evidence(init_container_finding(&without)).is_empty());
    assert_eq!(log_requests(&quiet.log), Vec::<String>::new());

    // Default: one request for the crashed instance, which fails (no kubelet); the
    // gap is named under the finding and the exit code is the same.
    let proxy = FaultProxy::start(env, &ns, &[]);
    let with = triage_with(&proxy.kubeconfig, &["check", "-n", &ns, "-o", "json"]);
    assert_eq!(with.status.code(), Some(1), "{}", stderr(&with));
    let with: Value = serde_json::from_slice(&with.stdout).unwrap();
    let requests = log_requests(&proxy.log);
    assert_eq!(requests.len(), 1, "{requests:?}");
    for part in [
        format!("/api/v1/namespaces/{ns}/pods/{POD}/log?"),
        "container=migrate".to_string(),
        "previous=true".to_string(),
        "tailLines=20".to_string(),
    ] {
        assert!(requests[0].contains(&part), "{part} not in {}", requests[0]);
    }
    let evidence = log_evidence(init_container_finding(&with));
    assert_eq!(evidence.len(), 1, "{evidence:?}");
    let gap = evidence[0];
    assert_eq!(gap["type"], "logGap");
    assert_eq!(gap["object"]["name"], POD);
    assert_eq!(gap["containers"], serde_json::json!(["migrate"]));
    assert_eq!(gap["gap"]["reason"], "failed");
    assert!(
        gap["gap"]["message"]
            .as_str()
            .unwrap()
            .contains("no-kubelet-node"),
        "{gap}"
    );
    // Everything else is as without logs.
    let mut stripped = with.clone();
    for finding in stripped["findings"].as_array_mut().unwrap() {
        finding["evidence"]
            .as_array_mut()
            .unwrap()
            .retain(|e| e["type"] != "logGap");
    }
    let mut without = without;
    for view in [&mut stripped, &mut without] {
        view.as_object_mut().unwrap().remove("capturedAt");
    }
    assert_eq!(stripped, without);

    // The table says it in one line under the finding.
    let table = stdout(&env.triage(&["check", "-n", &ns]));
    assert!(
        table.contains(&format!("  - logs of pod/{POD} (migrate): not fetched: ")),
        "{table}"
    );
}

#[test]
fn forbidden_pods_log_is_a_named_gap_that_a_snapshot_keeps() {
    let Some(env) = testenv("forbidden_pods_log_is_a_named_gap_that_a_snapshot_keeps") else {
        return;
    };
    let ns = crash_looping_pod(env, "e2e-logs-forbidden");
    // The oncall user may read pods and events, not pods/log.
    env.kubectl_apply(&format!(
        r#"
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {{name: read-pods, namespace: {ns}}}
rules:
- apiGroups: [""]
  resources: [pods, events]
  verbs: [get, list]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {{name: oncall-read-pods, namespace: {ns}}}
roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: Role, name: read-pods}}
subjects: [{{apiGroup: rbac.authorization.k8s.io, kind: User, name: oncall}}]
"#
    ));
    let live = env.triage(&["--context", "oncall", "check", "-n", &ns]);
    assert_eq!(live.status.code(), Some(1), "{}", stderr(&live));
    let line = format!("  - logs of pod/{POD} (migrate): forbidden (pods/log): ");
    let live_text = stdout(&live);
    assert!(live_text.contains(&line), "{live_text}");
    assert!(
        live_text.contains("cannot get resource \"pods/log\""),
        "{live_text}"
    );

    let snapshot = env.triage(&["--context", "oncall", "snapshot", "-n", &ns]);
    assert_eq!(snapshot.status.code(), Some(0), "{}", stderr(&snapshot));
    let text = stdout(&snapshot);
    assert!(text.contains("kind: ContainerLog"), "{text}");
    let path = env.dir.join(format!("{ns}.yaml"));
    std::fs::write(&path, &text).unwrap();
    let offline = harness::triage_with(
        &env.kubeconfig,
        &["check", "-n", &ns, "--snapshot", path.to_str().unwrap()],
    );
    assert_eq!(offline.status.code(), Some(1), "{}", stderr(&offline));
    let gap_line = |text: &str| {
        text.lines()
            .find(|l| l.starts_with(&line))
            .map(str::to_string)
    };
    assert_eq!(gap_line(&stdout(&offline)), gap_line(&live_text));
}

/// The whole path through the API server: a Node whose kubelet is
/// testenv/fake_kubelet.py on loopback, a crash-looping pod bound to it.
#[test]
fn logs_from_a_kubelet_show_under_the_finding_live_and_offline() {
    let Some(env) = testenv("logs_from_a_kubelet_show_under_the_finding_live_and_offline") else {
        return;
    };
    let ns = env.create_namespace("e2e-logs-kubelet");
    let node = format!("{ns}-node");
    let port_file = env.dir.join(format!("{ns}-kubelet-port"));
    let requests = env.dir.join(format!("{ns}-kubelet.log"));
    let pki = env.dir.join("pki");
    let _kubelet = harness::Background::spawn(
        std::process::Command::new(harness::python())
            .arg(harness::root().join("testenv/fake_kubelet.py"))
            .arg("--cert")
            .arg(pki.join("apiserver.crt"))
            .arg("--key")
            .arg(pki.join("apiserver.key"))
            .arg("--port-file")
            .arg(&port_file)
            .arg("--log")
            .arg(&requests),
    );
    let port = harness::wait_for(std::time::Duration::from_secs(10), || {
        std::fs::read_to_string(&port_file)
            .ok()
            .filter(|p| !p.is_empty())
    })
    .expect("the fake kubelet listens");
    env.kubectl_apply(&format!(
        "apiVersion: v1\nkind: Node\nmetadata: {{name: {node}}}\n"
    ));
    env.kubectl_ok(&[
        "patch",
        "node",
        &node,
        "--subresource=status",
        "--type=merge",
        "-p",
        &format!(
            r#"{{"status":{{"addresses":[{{"type":"InternalIP","address":"127.0.0.1"}}],"daemonEndpoints":{{"kubeletEndpoint":{{"Port":{port}}}}}}}}}"#
        ),
    ]);
    crash_looping_pod_on(env, &ns, &node);

    let live = env.triage(&["check", "-n", &ns, "--logs", "3"]);
    assert_eq!(live.status.code(), Some(1), "{}", stderr(&live));
    let section = |text: &str| {
        text.split("\ninit-container (fail): ")
            .nth(1)
            .and_then(|rest| rest.split("\n\n").next())
            .map(str::to_string)
            .unwrap_or_default()
    };
    let live_section = section(&stdout(&live));
    let expected = format!(
        "  - logs of pod/{POD} container migrate (previous instance): 3 lines
      | migrate previous line 28
      | migrate previous line 29
      | migrate previous line 30
"
    );
    assert!(live_section.contains(&expected), "{live_section}");
    let asked = std::fs::read_to_string(&requests).unwrap_or_default();
    assert!(
        asked.contains(&format!("/containerLogs/{ns}/{POD}/migrate?"))
            && asked.contains("previous=true"),
        "{asked}"
    );

    // The snapshot keeps the lines; offline, the same evidence.
    let snapshot = env.triage(&["snapshot", "-n", &ns, "--logs", "3"]);
    assert_eq!(snapshot.status.code(), Some(0), "{}", stderr(&snapshot));
    let path = env.dir.join(format!("{ns}.yaml"));
    std::fs::write(&path, stdout(&snapshot)).unwrap();
    let offline = env.triage(&["check", "-n", &ns, "--snapshot", path.to_str().unwrap()]);
    assert_eq!(offline.status.code(), Some(1), "{}", stderr(&offline));
    assert_eq!(section(&stdout(&offline)), live_section);
    let _ = env.kubectl(&["delete", "node", &node, "--wait=false"]);
}
