//! Reliability against the real control plane (issue 13): the retry policy as the
//! server sees it through the fault proxy, a SIGKILL between the delete and the create
//! of a recreate and both ways out of it, and a writer racing `repair --yes`.

use serde_json::Value;

use crate::harness::{self, Incident, TestEnv, stderr, stdout, testenv};

/// The requests in a proxy log as `METHOD PATH` (the User-Agent dropped).
fn requests(proxy: &harness::FaultProxy) -> Vec<String> {
    std::fs::read_to_string(&proxy.log)
        .unwrap_or_default()
        .lines()
        .map(|line| {
            line.rsplit_once(' ')
                .map_or(line, |(request, _)| request)
                .to_string()
        })
        .collect()
}

fn object(env: &TestEnv, ns: &str, kind: &str, name: &str) -> Option<Value> {
    let output = env.kubectl(&["get", kind, name, "-n", ns, "-o", "json"]);
    output
        .status
        .success()
        .then(|| serde_json::from_slice(&output.stdout).unwrap())
}

/// A 503 on a read is retried and the read succeeds; a 503 on a guarded write (a JSON
/// patch testing the resourceVersion) is retried too.
#[test]
fn transient_failures_of_reads_and_guarded_writes_are_retried() {
    let Some(env) = testenv("transient_failures_of_reads_and_guarded_writes_are_retried") else {
        return;
    };
    let incident = Incident::load(env, "e2e-retry");
    let proxy = harness::FaultProxy::start(
        env,
        &format!("{}-retry", incident.ns),
        &[
            "GET:/configmaps:503:2",
            "PATCH:/configmaps/hook-reconciliation-lock:503",
        ],
    );
    let output = incident.triage_via(&proxy.kubeconfig, &["repair", "--yes", "--only", "lock"]);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}{}",
        stdout(&output),
        stderr(&output)
    );
    harness::assert_verified(&stdout(&output), &["lock"]);
    let log = requests(&proxy);
    let patches = log
        .iter()
        .filter(|r| {
            r.starts_with("PATCH ")
                && r.contains("hook-reconciliation-lock")
                && !r.contains("dryRun")
        })
        .count();
    assert_eq!(
        patches, 2,
        "the failed guarded patch was sent again once: {log:#?}"
    );
    let lock = object(env, &incident.ns, "configmap", "hook-reconciliation-lock").unwrap();
    assert_eq!(lock["data"]["status"], "unlocked");
}

/// A create is never retried: a 503 on the real create of the rbac recreate leaves it
/// failed (the original put back at once, exit 8), where a retry would have gone on.
#[test]
fn a_create_is_never_retried() {
    let Some(env) = testenv("a_create_is_never_retried") else {
        return;
    };
    let incident = Incident::load(env, "e2e-retry");
    let proxy = harness::FaultProxy::start(
        env,
        &format!("{}-noretry", incident.ns),
        &["POST:/rolebindings:503"],
    );
    let output = incident.triage_via(&proxy.kubeconfig, &["repair", "--yes", "--only", "rbac"]);
    assert_eq!(output.status.code(), Some(8), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("created the original again from the backup"),
        "{}",
        stderr(&output)
    );
    let creates = requests(&proxy)
        .iter()
        .filter(|r| r.starts_with("POST ") && r.contains("/rolebindings") && !r.contains("dryRun"))
        .count();
    assert_eq!(creates, 2, "the new version once, then the original");
    let binding = object(env, &incident.ns, "rolebinding", "migration-runner-binding").unwrap();
    assert_eq!(binding["roleRef"]["name"], "migration-runner-role-v1");
}
