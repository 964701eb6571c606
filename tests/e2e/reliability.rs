//! Reliability against the real control plane (issue 13): the retry policy as the
//! server sees it through the fault proxy, a SIGKILL between the delete and the create
//! of a recreate and both ways out of it, and a writer racing `repair --yes`.

use serde_json::Value;

use crate::harness::{self, Incident, TestEnv, stderr, stdout, testenv};

/// The requests in a proxy log as `METHOD PATH` (the User-Agent dropped, and what an
/// access review asks: `#create:rbac.authorization.k8s.io/rolebindings//` is not a
/// request to `/rolebindings`).
fn requests(proxy: &harness::FaultProxy) -> Vec<String> {
    std::fs::read_to_string(&proxy.log)
        .unwrap_or_default()
        .lines()
        .map(|line| {
            let request = line.rsplit_once(' ').map_or(line, |(request, _)| request);
            request.split('#').next().unwrap_or(request).to_string()
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
    assert_lock_patched_on_a_retry(&output, &proxy);
    let lock = object(env, &incident.ns, "configmap", "hook-reconciliation-lock").unwrap();
    assert_eq!(lock["data"]["status"], "unlocked");
}

/// `repair --only lock` went through and verified, its guarded patch of the lock sent
/// twice (failed once, retried once).
#[track_caller]
fn assert_lock_patched_on_a_retry(output: &std::process::Output, proxy: &harness::FaultProxy) {
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}{}",
        stdout(output),
        stderr(output)
    );
    harness::assert_verified(&stdout(output), &["lock"]);
    let log = requests(proxy);
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
}

/// Each request has its own `--request-timeout` to retry within, counted from its own
/// first attempt: a throttled read (429, `Retry-After: 1`) early in the run, then a
/// throttled guarded patch more than a deadline minus a second into the run. Counted
/// from the run's first request, the patch's retry would not fit and the run would
/// fail on it.
#[test]
fn a_throttled_write_late_in_a_run_is_retried_within_its_own_deadline() {
    let Some(env) = testenv("a_throttled_write_late_in_a_run_is_retried_within_its_own_deadline")
    else {
        return;
    };
    let incident = Incident::load(env, "e2e-retry-late");
    let ns = &incident.ns;
    let rules = [
        format!("GET|/api/v1/namespaces/{ns}|1|429/1"),
        format!(
            "PATCH|/api/v1/namespaces/{ns}/configmaps/hook-reconciliation-lock?&fieldManager=triage|1|429/1"
        ),
    ];
    let args: Vec<String> = rules
        .iter()
        .flat_map(|rule| ["--at".to_string(), rule.clone()])
        .collect();
    let proxy = harness::FaultProxy::start_with(env, &format!("{ns}-late"), &args);
    let output = incident.triage_via(
        &proxy.kubeconfig,
        &[
            "repair",
            "--yes",
            "--only",
            "lock",
            "--request-timeout",
            "2s",
        ],
    );
    assert_lock_patched_on_a_retry(&output, &proxy);
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

/// The newest run directory of an incident's repairs.
fn newest_run(incident: &Incident) -> std::path::PathBuf {
    let mut runs: Vec<_> = std::fs::read_dir(&incident.state)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    runs.sort();
    runs.pop().expect("a run directory")
}

/// `repair --yes --only rbac` SIGKILLed between the delete and the create of the
/// RoleBinding's recreate (the test-only pause hook holds it there): the binding is
/// gone, the journal says the recreate began and never ended.
fn kill_between_delete_and_create(env: &TestEnv, incident: &Incident) -> Value {
    let original = object(env, &incident.ns, "rolebinding", "migration-runner-binding").unwrap();
    let pause = env.dir.join(format!("{}-paused", incident.ns));
    let mut child = harness::triage_command(
        &env.kubeconfig,
        &[
            "repair",
            "--yes",
            "--only",
            "rbac",
            "-n",
            &incident.ns,
            "--profile",
            incident.profile.to_str().unwrap(),
        ],
    )
    .env("TRIAGE_STATE_DIR", &incident.state)
    .env("TRIAGE_TEST_PAUSE_AFTER_DELETE", &pause)
    .stdout(std::process::Stdio::null())
    .stderr(std::process::Stdio::null())
    .spawn()
    .unwrap();
    let paused = harness::wait_for(std::time::Duration::from_secs(60), || {
        pause.exists().then_some(())
    });
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    assert!(
        paused.is_some(),
        "triage never reached the pause after the delete"
    );
    assert!(
        object(env, &incident.ns, "rolebinding", "migration-runner-binding").is_none(),
        "the binding was not deleted before the kill"
    );
    let journal = std::fs::read_to_string(newest_run(incident).join("journal.jsonl")).unwrap();
    let events: Vec<String> = journal
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["event"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    // The delete's own intent and result sit inside the recreate's lines; the kill
    // came before the create's intent.
    assert_eq!(
        events,
        vec!["recreate-begin", "intent", "result", "recreate-deleted"]
    );
    assert!(
        journal.contains(r#""outcome":{"result":"applied"}"#),
        "{journal}"
    );
    original
}

#[test]
fn a_recreate_killed_after_its_delete_is_finished_by_the_next_repair() {
    let Some(env) = testenv("a_recreate_killed_after_its_delete_is_finished_by_the_next_repair")
    else {
        return;
    };
    let incident = Incident::load(env, "e2e-kill");
    let original = kill_between_delete_and_create(env, &incident);
    let output = incident.triage(env, &["repair", "--yes", "--only", "rbac"]);
    let text = stdout(&output);
    assert_eq!(output.status.code(), Some(0), "{text}{}", stderr(&output));
    assert!(
        text.contains("stopped halfway through step `rbac`: rolebinding/migration-runner-binding was deleted and its new version never created"),
        "{text}"
    );
    // Every write of the killed run was answered: the recreate is offered, no write is
    // reported undecided.
    assert!(!text.contains("undecided:"), "{text}");
    assert!(
        text.contains("finished: created the new version of rolebinding/migration-runner-binding"),
        "{text}"
    );
    let binding = object(env, &incident.ns, "rolebinding", "migration-runner-binding").unwrap();
    assert_eq!(binding["roleRef"]["name"], "migration-runner-role-v2");
    assert_eq!(binding["subjects"], original["subjects"]);
    assert_eq!(
        binding["metadata"]["labels"],
        original["metadata"]["labels"]
    );
    // Resolved once: the next run does not offer it again.
    let again = incident.triage(env, &["repair", "--yes", "--only", "rbac"]);
    assert_eq!(again.status.code(), Some(0), "{}", stderr(&again));
    assert!(
        !stdout(&again).contains("stopped halfway"),
        "{}",
        stdout(&again)
    );
}

#[test]
fn a_recreate_killed_after_its_delete_is_put_back_by_restore() {
    let Some(env) = testenv("a_recreate_killed_after_its_delete_is_put_back_by_restore") else {
        return;
    };
    let incident = Incident::load(env, "e2e-kill");
    let original = kill_between_delete_and_create(env, &incident);
    let run = newest_run(&incident);
    let output = harness::triage_in_state(
        &env.kubeconfig,
        &incident.state,
        &["restore", run.to_str().unwrap(), "--yes"],
    );
    let text = stdout(&output);
    assert_eq!(output.status.code(), Some(0), "{text}{}", stderr(&output));
    assert!(
        text.contains("put back: created the original rolebinding/migration-runner-binding"),
        "{text}"
    );
    let binding = object(env, &incident.ns, "rolebinding", "migration-runner-binding").unwrap();
    for pointer in [
        "/roleRef",
        "/subjects",
        "/metadata/labels",
        "/metadata/annotations",
    ] {
        assert_eq!(
            binding.pointer(pointer),
            original.pointer(pointer),
            "{pointer}"
        );
    }
}

/// A 500 on the lock's patch (the API's `InternalError`: "the outcome of the call is
/// unknown") is journaled as `unknown`; the next repair names the write as undecided,
/// with what to check, before planning, then repairs; the run after that, reading a
/// clean journal, says nothing.
#[test]
fn a_write_whose_outcome_is_unknown_is_reported_by_the_next_repair() {
    let Some(env) = testenv("a_write_whose_outcome_is_unknown_is_reported_by_the_next_repair")
    else {
        return;
    };
    let incident = Incident::load(env, "e2e-undecided");
    let proxy = harness::FaultProxy::start(
        env,
        &format!("{}-undecided", incident.ns),
        &["PATCH:/configmaps/hook-reconciliation-lock:500"],
    );
    let failed = incident.triage_via(&proxy.kubeconfig, &["repair", "--yes", "--only", "lock"]);
    assert_ne!(failed.status.code(), Some(0), "{}", stdout(&failed));
    let journal = std::fs::read_to_string(newest_run(&incident).join("journal.jsonl")).unwrap();
    let last: Value = serde_json::from_str(journal.lines().last().unwrap()).unwrap();
    assert_eq!(last["event"], "result", "{journal}");
    assert_eq!(last["outcome"]["result"], "unknown", "{journal}");
    assert_eq!(last["outcome"]["code"], 500, "{journal}");

    let next = incident.triage(env, &["repair", "--yes", "--only", "lock"]);
    let text = stdout(&next);
    assert_eq!(next.status.code(), Some(0), "{text}{}", stderr(&next));
    let undecided: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("undecided:"))
        .collect();
    assert_eq!(undecided.len(), 1, "{text}");
    assert!(
        undecided[0].contains(&format!(
            "step `lock`: the patch of configmap/hook-reconciliation-lock in `{}` may or may not have gone through",
        incident.ns
        )) && undecided[0].contains(&format!(
            "check `kubectl get configmap hook-reconciliation-lock -n {} -o yaml`: if its resourceVersion is still ",
            incident.ns
        )),
        "{}",
        undecided[0]
    );
    // Reported before planning, so ahead of anything the repair applies.
    assert!(
        text.find("undecided:") < text.find("verify `lock`"),
        "{text}"
    );
    harness::assert_verified(&text, &["lock"]);

    let again = incident.triage(env, &["repair", "--yes", "--only", "lock"]);
    assert!(!stdout(&again).contains("undecided:"), "{}", stdout(&again));
}

/// Another client writes the lock ConfigMap every time triage looks at it (the proxy
/// patches it upstream before forwarding triage's request): triage's preconditions
/// catch it, it re-plans the step once, then stops with exit 7 and one line, having
/// overwritten nothing; the steps before it stay applied with their backups, the steps
/// after it never ran; once the writer stops, the next run picks up from there.
#[test]
fn a_writer_racing_repair_is_never_overwritten_and_stops_it_with_exit_7() {
    let Some(env) = testenv("a_writer_racing_repair_is_never_overwritten_and_stops_it_with_exit_7")
    else {
        return;
    };
    let incident = Incident::load(env, "e2e-race");
    let lock_path = format!(
        "/api/v1/namespaces/{}/configmaps/hook-reconciliation-lock",
        incident.ns
    );
    let lock_before = object(env, &incident.ns, "configmap", "hook-reconciliation-lock").unwrap();
    let proxy = harness::FaultProxy::start_with(
        env,
        &format!("{}-race", incident.ns),
        &["--touch".to_string(), lock_path.clone()],
    );
    let output = incident.triage_via(&proxy.kubeconfig, &["repair", "--yes", "--wait", "0"]);
    drop(proxy);
    let (text, err) = (stdout(&output), stderr(&output));
    assert_eq!(output.status.code(), Some(7), "{text}{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(
        err.contains("ConfigMap `hook-reconciliation-lock` changed since it was read"),
        "{err}"
    );
    assert!(err.contains("run again to re-plan"), "{err}");
    assert_eq!(
        text.matches("reading the namespace again and re-planning `lock`")
            .count(),
        1,
        "re-planned exactly once:\n{text}"
    );
    harness::assert_verified(&text, &["quota", "rbac", "pvc", "egress"]);
    assert!(!text.contains("verify `orphan-hook`"), "{text}");

    let lock = object(env, &incident.ns, "configmap", "hook-reconciliation-lock").unwrap();
    assert_eq!(lock["data"], lock_before["data"], "triage wrote the lock");
    let touches: u32 = lock["metadata"]["annotations"]["e2e.example/concurrent-writer"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(touches >= 2, "the writer wrote {touches} time(s)");

    // The run directory is consistent: every object the audit log says was changed
    // before a patch or delete has its backup, and no recreate is left open.
    let run = newest_run(&incident);
    let audit = std::fs::read_to_string(run.join("audit.jsonl")).unwrap();
    let backups: Vec<String> = std::fs::read_dir(&run)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".yaml"))
        .collect();
    for line in audit.lines() {
        let entry: Value = serde_json::from_str(line).unwrap();
        assert_ne!(entry["step"], "lock", "the lock step wrote: {line}");
        if entry["verb"] == "patch" || entry["verb"] == "delete" {
            let name = entry["name"].as_str().unwrap();
            let kind = entry["kind"].as_str().unwrap().to_lowercase();
            assert!(
                backups
                    .iter()
                    .any(|b| b.ends_with(&format!("-{kind}-{name}.yaml"))),
                "no backup of {kind}/{name}: {backups:?}"
            );
        }
    }
    let journal = std::fs::read_to_string(run.join("journal.jsonl")).unwrap_or_default();
    let begun = journal.matches("\"recreate-begin\"").count();
    let ended = journal.matches("\"recreate-end\"").count();
    assert_eq!(begun, ended, "{journal}");

    // The writer stopped: the next run repairs the lock and what follows it.
    let next = incident.triage(env, &["repair", "--yes", "--wait", "0"]);
    assert_eq!(
        next.status.code(),
        Some(1),
        "{}{}",
        stdout(&next),
        stderr(&next)
    );
    harness::assert_verified(&stdout(&next), &["lock", "orphan-hook", "migration-script"]);
    let lock = object(env, &incident.ns, "configmap", "hook-reconciliation-lock").unwrap();
    assert_eq!(lock["data"]["status"], "unlocked");
    assert_eq!(
        lock["metadata"]["annotations"]["e2e.example/concurrent-writer"],
        touches.to_string(),
        "the other writer's annotation was overwritten"
    );
}
