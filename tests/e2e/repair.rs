//! `triage repair` and `triage restore` against the real control plane: the whole
//! incident, dry run, refusals, prompts on a real pseudo-terminal, conflicts, and a
//! fault-injecting proxy that fails a recreate halfway.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use serde_json::Value;

use crate::harness::{self, Incident, TestEnv, stderr, stdout, testenv};

impl Incident {
    /// Every object's resourceVersion in the namespace, by kind/name.
    fn versions(&self, env: &TestEnv) -> BTreeMap<String, String> {
        let kinds = "pods,configmaps,jobs,deployments,replicasets,statefulsets,services,serviceaccounts,roles,rolebindings,persistentvolumeclaims,resourcequotas,networkpolicies";
        let json: Value =
            serde_json::from_str(&env.kubectl_ok(&["get", kinds, "-n", &self.ns, "-o", "json"]))
                .unwrap();
        json["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| {
                (
                    format!(
                        "{}/{}",
                        o["kind"].as_str().unwrap(),
                        o["metadata"]["name"].as_str().unwrap()
                    ),
                    o["metadata"]["resourceVersion"]
                        .as_str()
                        .unwrap()
                        .to_string(),
                )
            })
            .collect()
    }

    fn object(&self, env: &TestEnv, kind: &str, name: &str) -> Value {
        serde_json::from_str(&env.kubectl_ok(&["get", kind, name, "-n", &self.ns, "-o", "json"]))
            .unwrap()
    }

    /// The run directory the repair wrote.
    fn run_dir(&self) -> PathBuf {
        let mut runs: Vec<PathBuf> = std::fs::read_dir(&self.state)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        runs.sort();
        runs.pop().expect("a run directory")
    }
}

fn failing_ids(check: &Value) -> Vec<String> {
    check["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["status"] == "fail")
        .map(|f| f["id"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn dry_run_changes_nothing() {
    let Some(env) = testenv("dry_run_changes_nothing") else {
        return;
    };
    let incident = Incident::load(env, "e2e-repair");
    let before = incident.versions(env);
    let output = incident.triage(env, &["repair", "--dry-run"]);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}{}",
        stdout(&output),
        stderr(&output)
    );
    let text = stdout(&output);
    assert!(text.contains("Repair order: quota -> rbac -> pvc -> egress -> lock -> orphan-hook -> migration-script"), "{text}");
    assert!(text.contains("dry run: nothing was changed"), "{text}");
    assert_eq!(
        text.matches("preflight: permissions and server-side dry run passed")
            .count(),
        7,
        "{text}"
    );
    assert_eq!(
        incident.versions(env),
        before,
        "a dry run changed a resourceVersion"
    );
    assert!(!incident.state.exists(), "a dry run wrote backups");
    // The status ConfigMap is an output: asking for it is refused with its inputs named.
    let derived = incident.triage(env, &["repair", "--dry-run", "--only", "derived-state"]);
    let text = stdout(&derived);
    assert!(
        text.contains("`derived-state`: refused: it is an output"),
        "{text}"
    );
    assert!(text.contains("bleater-status"), "{text}");
    assert_eq!(incident.versions(env), before);
}

#[test]
fn no_terminal_and_no_yes_refuses_before_any_write() {
    let Some(env) = testenv("no_terminal_and_no_yes_refuses_before_any_write") else {
        return;
    };
    let incident = Incident::load(env, "e2e-repair");
    let before = incident.versions(env);
    let output = incident.triage(env, &["repair"]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("no terminal to confirm changes on"),
        "{}",
        stderr(&output)
    );
    assert_eq!(incident.versions(env), before);
}

#[test]
fn read_only_user_gets_a_preflight_refusal_and_nothing_changes() {
    let Some(env) = testenv("read_only_user_gets_a_preflight_refusal_and_nothing_changes") else {
        return;
    };
    let incident = Incident::load(env, "e2e-repair");
    env.kubectl_apply(&format!(
        r#"
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {{name: oncall-view, namespace: {ns}}}
roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: triage-e2e-read}}
subjects: [{{apiGroup: rbac.authorization.k8s.io, kind: User, name: oncall}}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {{name: triage-e2e-read}}
rules:
- apiGroups: ["", apps, batch, rbac.authorization.k8s.io, networking.k8s.io, storage.k8s.io]
  resources: ["*"]
  verbs: [get, list]
"#,
        ns = incident.ns
    ));
    let before = incident.versions(env);
    let output = incident.triage(env, &["--context", "oncall", "repair", "--yes"]);
    assert_eq!(
        output.status.code(),
        Some(4),
        "{}{}",
        stdout(&output),
        stderr(&output)
    );
    assert!(
        stderr(&output).contains("preflight: you may not patch ResourceQuota `bleater-quota`"),
        "{}",
        stderr(&output)
    );
    let mut after = incident.versions(env);
    after.remove("RoleBinding/oncall-view");
    let mut before = before;
    before.remove("RoleBinding/oncall-view");
    assert_eq!(after, before);
}

#[test]
fn repair_yes_fixes_every_input_but_the_schema_and_loses_nothing() {
    let Some(env) = testenv("repair_yes_fixes_every_input_but_the_schema_and_loses_nothing") else {
        return;
    };
    let incident = Incident::load(env, "e2e-repair");
    let _reconciler = env.spawn_support(
        "reconciler.py",
        &[
            "--namespace",
            &incident.ns,
            "--system-namespace",
            &incident.system,
            "--interval",
            "3",
        ],
    );
    let binding = incident.object(env, "rolebinding", "migration-runner-binding");
    let decoy = incident.object(env, "job", "fanout-presync-validate");
    let deny = incident.object(env, "networkpolicy", "bleater-default-deny-egress");
    let quota = incident.object(env, "resourcequota", "bleater-quota");

    let output = incident.triage(env, &["repair", "--yes", "--reason", "hardening rollback"]);
    let text = stdout(&output);
    // Without a database the schema steps do not run: signals still fail after the run,
    // so repair exits 1 (not 0), and says so.
    assert_eq!(output.status.code(), Some(1), "{text}{}", stderr(&output));
    assert!(text.contains("signals still fail after the run"), "{text}");
    harness::assert_verified(
        &text,
        &[
            "quota",
            "rbac",
            "pvc",
            "egress",
            "lock",
            "orphan-hook",
            "migration-script",
        ],
    );

    // check: only the schema (and the init container it gates, and so bleat-service's
    // stalled rollout and its Service without a Ready pod) still fail;
    // growth-experiments-api's quota refusal is resolved.
    let check = incident.triage(env, &["check", "-o", "json"]);
    let check: Value = serde_json::from_slice(&check.stdout).unwrap();
    assert_eq!(
        failing_ids(&check),
        vec!["schema", "init-container", "rollout", "service-endpoints"]
    );

    // The independent reconciler agrees: the schema is the only input still gating.
    let gating = harness::wait_for(Duration::from_secs(20), || {
        env.config_map_value(&incident.system, "bleater-status", "gating")
            .filter(|g| {
                [
                    "auth-service",
                    "profile-service",
                    "timeline-service",
                    "fanout-service",
                    "bleat-service",
                ]
                .iter()
                .all(|app| g.contains(&format!("{app}=schema")))
            })
    });
    assert!(
        gating.is_some(),
        "reconciler still gated by something else: {:?}",
        env.config_map_value(&incident.system, "bleater-status", "gating")
    );

    // Nothing lost.
    let rebound = incident.object(env, "rolebinding", "migration-runner-binding");
    assert_eq!(rebound["roleRef"]["name"], "migration-runner-role-v2");
    assert_eq!(rebound["subjects"], binding["subjects"]);
    assert_eq!(rebound["metadata"]["labels"], binding["metadata"]["labels"]);
    assert_eq!(
        rebound["metadata"]["annotations"]["bleater.io/change-ticket"],
        binding["metadata"]["annotations"]["bleater.io/change-ticket"]
    );
    assert_eq!(
        incident.object(env, "job", "fanout-presync-validate")["metadata"]["resourceVersion"],
        decoy["metadata"]["resourceVersion"]
    );
    assert_eq!(
        incident.object(env, "networkpolicy", "bleater-default-deny-egress")["spec"],
        deny["spec"],
        "the deny-all policy was changed"
    );
    assert_eq!(
        incident.object(env, "resourcequota", "bleater-quota")["metadata"]["uid"],
        quota["metadata"]["uid"],
        "the quota was recreated"
    );
    assert!(
        env.kubectl(&[
            "get",
            "job",
            "auth-presync-migrate-legacy7r2x",
            "-n",
            &incident.ns
        ])
        .status
        .code()
            != Some(0),
        "orphan still there"
    );
    let lock = incident.object(env, "configmap", "hook-reconciliation-lock");
    assert_eq!(lock["data"]["status"], "unlocked");
    assert!(
        lock["data"]["lock-reason"]
            .as_str()
            .unwrap()
            .ends_with("-hardening-rollback"),
        "{}",
        lock["data"]
    );

    // Every mutated object has a backup; the audit log has a line per mutation.
    let run = incident.run_dir();
    let backups: Vec<String> = std::fs::read_dir(&run)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".yaml"))
        .collect();
    for needle in [
        "resourcequota-bleater-quota",
        "rolebinding-migration-runner-binding",
        "persistentvolumeclaim-bleat-migration-pvc",
        "configmap-hook-reconciliation-lock",
        "job-auth-presync-migrate-legacy7r2x",
        "configmap-bleat-migrations",
    ] {
        assert!(
            backups.iter().any(|b| b.contains(needle)),
            "no backup of {needle}: {backups:?}"
        );
    }
    let audit = std::fs::read_to_string(run.join("audit.jsonl")).unwrap();
    assert!(audit.lines().count() >= 9, "{audit}");
    assert!(
        audit
            .lines()
            .all(|l| serde_json::from_str::<Value>(l).unwrap()["user"] == "admin")
    );

    // Restore brings back the exact originals.
    // In the incident's state directory: restore writes a run directory of its own.
    let restore = harness::triage_in_state(
        &env.kubeconfig,
        &incident.state,
        &["restore", run.to_str().unwrap(), "--yes", "--overwrite"],
    );
    assert_eq!(
        restore.status.code(),
        Some(0),
        "{}{}",
        stdout(&restore),
        stderr(&restore)
    );
    let restored = incident.object(env, "rolebinding", "migration-runner-binding");
    assert_eq!(restored["roleRef"], binding["roleRef"]);
    assert_eq!(restored["subjects"], binding["subjects"]);
    assert_eq!(
        incident.object(env, "resourcequota", "bleater-quota")["spec"],
        quota["spec"]
    );
    assert_eq!(
        incident.object(env, "configmap", "hook-reconciliation-lock")["data"]["status"],
        "locked"
    );
    let orphan = incident.object(env, "job", "auth-presync-migrate-legacy7r2x");
    assert_eq!(
        orphan["metadata"]["finalizers"][0],
        "bleater.io/hook-cleanup"
    );
    // Clean up so the namespace can be deleted later.
    env.kubectl_ok(&[
        "patch",
        "job",
        "auth-presync-migrate-legacy7r2x",
        "-n",
        &incident.ns,
        "--type=json",
        "-p",
        r#"[{"op":"remove","path":"/metadata/finalizers"}]"#,
    ]);
}

/// triage on a real pseudo-terminal, as a person would run it.
fn pty(env: &TestEnv, incident: &Incident, args: &[&str]) -> rexpect::session::PtySession {
    let mut command = Command::new(env!("CARGO_BIN_EXE_triage"));
    command
        .arg("--kubeconfig")
        .arg(&env.kubeconfig)
        .args(args)
        .args([
            "-n",
            &incident.ns,
            "--profile",
            incident.profile.to_str().unwrap(),
        ])
        .env("TRIAGE_STATE_DIR", &incident.state)
        .env("NO_COLOR", "1");
    rexpect::session::spawn_command(command, Some(60_000)).expect("spawn on a pty")
}

fn exit_code(session: &rexpect::session::PtySession) -> i32 {
    match session.process().wait().unwrap() {
        rexpect::process::WaitStatus::Exited(_, code) => code,
        other => panic!("triage did not exit normally: {other:?}"),
    }
}

/// `triage restore RUN_DIR` on a real pseudo-terminal.
fn restore_pty(env: &TestEnv, incident: &Incident, args: &[&str]) -> rexpect::session::PtySession {
    let mut command = Command::new(env!("CARGO_BIN_EXE_triage"));
    command
        .arg("--kubeconfig")
        .arg(&env.kubeconfig)
        .arg("restore")
        .args(args)
        .env("TRIAGE_STATE_DIR", &incident.state)
        .env("NO_COLOR", "1");
    rexpect::session::spawn_command(command, Some(60_000)).expect("spawn on a pty")
}

#[test]
fn restore_previews_asks_dry_runs_and_writes_audit_lines() {
    let Some(env) = testenv("restore_previews_asks_dry_runs_and_writes_audit_lines") else {
        return;
    };
    let incident = Incident::load(env, "e2e-restore");
    let repaired = incident.triage(env, &["repair", "--only", "lock", "--yes", "--wait", "0"]);
    assert_eq!(
        repaired.status.code(),
        Some(0),
        "{}{}",
        stdout(&repaired),
        stderr(&repaired)
    );
    let repair_run = incident.run_dir();
    let run = repair_run.to_str().unwrap();
    let before = incident.versions(env);

    // Dry run: previewed as a diff against the live object, checked by the server,
    // nothing written, no run directory.
    let dry = harness::triage_in_state(
        &env.kubeconfig,
        &incident.state,
        &["restore", run, "--overwrite", "--dry-run"],
    );
    let text = stdout(&dry);
    assert_eq!(dry.status.code(), Some(0), "{text}{}", stderr(&dry));
    assert!(
        text.contains("replace configmap/hook-reconciliation-lock"),
        "{text}"
    );
    assert!(text.contains("+  status: locked"), "{text}");
    assert!(
        text.contains("preflight: permissions and server-side dry run passed"),
        "{text}"
    );
    assert!(text.contains("dry run: nothing was changed"), "{text}");
    assert_eq!(incident.versions(env), before);
    assert_eq!(
        incident.run_dir(),
        repair_run,
        "a dry run makes no run directory"
    );

    // Asked, as repair asks; no writes nothing.
    let mut session = restore_pty(env, &incident, &[run, "--overwrite"]);
    session.exp_string("as user `admin`").unwrap();
    session.exp_string("+  status: locked").unwrap();
    session
        .exp_string("Apply step `restore` as `admin` on context `admin`?")
        .unwrap();
    session.send_line("n").unwrap();
    session
        .exp_string("stopped at `restore`: nothing of this step was changed")
        .unwrap();
    session.exp_eof().unwrap();
    assert_eq!(exit_code(&session), 5, "stopped at a prompt is exit 5");
    assert_eq!(incident.versions(env), before);

    // Yes: written, verified, audited in a run directory of its own that backs up what
    // it overwrote.
    let restored = harness::triage_in_state(
        &env.kubeconfig,
        &incident.state,
        &["restore", run, "--overwrite", "--yes"],
    );
    let text = stdout(&restored);
    assert_eq!(
        restored.status.code(),
        Some(0),
        "{text}{}",
        stderr(&restored)
    );
    assert!(
        text.contains("verify `restore`: configmap/hook-reconciliation-lock matches its backup"),
        "{text}"
    );
    assert_eq!(
        incident.object(env, "configmap", "hook-reconciliation-lock")["data"]["status"],
        "locked"
    );
    let restore_run = incident.run_dir();
    assert_ne!(restore_run, repair_run);
    assert!(
        text.contains(&format!(
            "To undo: triage restore {}",
            restore_run.display()
        )),
        "{text}"
    );
    let audit = std::fs::read_to_string(restore_run.join("audit.jsonl")).unwrap();
    let lines: Vec<Value> = audit
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 1, "{audit}");
    assert_eq!(lines[0]["verb"], "replace");
    assert_eq!(lines[0]["kind"], "ConfigMap");
    assert_eq!(lines[0]["name"], "hook-reconciliation-lock");
    assert_eq!(lines[0]["user"], "admin");
    assert_eq!(lines[0]["step"], "restore");
    let saved = std::fs::read_dir(&restore_run)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".yaml"))
        .collect::<Vec<_>>();
    assert_eq!(saved, ["001-configmap-hook-reconciliation-lock.yaml"]);
}

#[test]
fn answering_no_at_the_prompt_stops_and_changes_nothing() {
    let Some(env) = testenv("answering_no_at_the_prompt_stops_and_changes_nothing") else {
        return;
    };
    let incident = Incident::load(env, "e2e-repair");
    let before = incident.versions(env);
    let mut session = pty(env, &incident, &["repair", "--only", "lock"]);
    session.exp_string("as user `admin`").unwrap();
    session.exp_string("-  status: locked").unwrap();
    session
        .exp_string("Apply step `lock` as `admin` on context `admin`?")
        .unwrap();
    session.send_line("n").unwrap();
    session
        .exp_string("stopped at `lock`: nothing of this step was changed")
        .unwrap();
    session.exp_eof().unwrap();
    assert_eq!(exit_code(&session), 5, "stopped at a prompt is exit 5");
    assert_eq!(incident.versions(env), before);
}

#[test]
fn a_concurrent_write_is_detected_and_the_step_replanned() {
    let Some(env) = testenv("a_concurrent_write_is_detected_and_the_step_replanned") else {
        return;
    };
    let incident = Incident::load(env, "e2e-repair");
    let mut session = pty(env, &incident, &["repair", "--only", "lock"]);
    session.exp_string("Apply step `lock`").unwrap();
    // Someone else writes the lock while the prompt waits.
    env.kubectl_ok(&[
        "annotate",
        "configmap",
        "hook-reconciliation-lock",
        "-n",
        &incident.ns,
        "oncall.example/note=looking",
    ]);
    session.send_line("y").unwrap();
    session.exp_string("conflict:").unwrap();
    session.exp_string("Apply step `lock`").unwrap();
    session.send_line("y").unwrap();
    session.exp_string("verify `lock`: ok").unwrap();
    session.exp_eof().unwrap();
    assert_eq!(exit_code(&session), 0);
    let lock = incident.object(env, "configmap", "hook-reconciliation-lock");
    assert_eq!(lock["data"]["status"], "unlocked");
    assert_eq!(
        lock["metadata"]["annotations"]["oncall.example/note"], "looking",
        "the other writer's change was overwritten"
    );
}

/// A user who may delete and create RoleBindings but may not bind the new Role (and
/// does not hold its permissions): the escalation check would reject the create after
/// the delete, so preflight refuses the step before its first write.
#[test]
fn create_forbidden_after_an_allowed_delete_is_refused_in_preflight() {
    let Some(env) = testenv("create_forbidden_after_an_allowed_delete_is_refused_in_preflight")
    else {
        return;
    };
    let incident = Incident::load(env, "e2e-repair");
    env.kubectl_apply(&format!(
        r#"
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {{name: triage-e2e-binding-editor}}
rules:
- apiGroups: ["", apps, batch, rbac.authorization.k8s.io, networking.k8s.io]
  resources: ["*"]
  verbs: [get, list]
- apiGroups: [rbac.authorization.k8s.io]
  resources: [rolebindings]
  verbs: [create, delete]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {{name: oncall-binding-editor, namespace: {ns}}}
roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: triage-e2e-binding-editor}}
subjects: [{{apiGroup: rbac.authorization.k8s.io, kind: User, name: oncall}}]
"#,
        ns = incident.ns
    ));
    let binding = incident.object(env, "rolebinding", "migration-runner-binding");
    let output = incident.triage(
        env,
        &["--context", "oncall", "repair", "--yes", "--only", "rbac"],
    );
    assert_eq!(
        output.status.code(),
        Some(4),
        "{}{}",
        stdout(&output),
        stderr(&output)
    );
    assert!(
        stderr(&output).contains("creating RoleBinding"),
        "{}",
        stderr(&output)
    );
    let after = incident.object(env, "rolebinding", "migration-runner-binding");
    assert_eq!(
        after["metadata"]["uid"], binding["metadata"]["uid"],
        "the binding was deleted"
    );
}

/// A proxy fails the real create of the delete+create; triage puts the original back.
#[test]
fn a_failed_recreate_restores_the_original_automatically() {
    let Some(env) = testenv("a_failed_recreate_restores_the_original_automatically") else {
        return;
    };
    let incident = Incident::load(env, "e2e-repair");
    let proxy = harness::FaultProxy::start(env, &incident.ns, &["POST:/rolebindings:500"]);
    let kubeconfig = proxy.kubeconfig.clone();
    let binding = incident.object(env, "rolebinding", "migration-runner-binding");
    let output = incident.triage_via(&kubeconfig, &["repair", "--yes", "--only", "rbac"]);
    drop(proxy);
    // A failure after part of the step was applied (the delete): exit 8, the restore
    // command as the hint, on one line.
    assert_eq!(output.status.code(), Some(8), "{}", stdout(&output));
    let err = stderr(&output);
    assert!(
        err.contains("deleted rolebinding/migration-runner-binding"),
        "{err}"
    );
    assert!(
        err.contains("created the original again from the backup"),
        "{err}"
    );
    assert!(err.contains("injected by fault_proxy (500)"), "{err}");
    assert!(err.contains("to undo: triage restore "), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    let after = incident.object(env, "rolebinding", "migration-runner-binding");
    assert_eq!(after["roleRef"], binding["roleRef"]);
    assert_eq!(after["subjects"], binding["subjects"]);
    assert_eq!(after["metadata"]["labels"], binding["metadata"]["labels"]);
}

/// Another team's namespace, other names, no profile: the generic repairs fix every
/// input they can, and leave the look-alikes alone.
#[test]
fn repair_works_without_a_profile_on_other_names() {
    let Some(env) = testenv("repair_works_without_a_profile_on_other_names") else {
        return;
    };
    let ns = env.unique_name("e2e-shop");
    env.load_scenario("shop-incident.yaml", &[("shop", &ns)]);
    let decoy_version = |env: &TestEnv| {
        let job: Value = serde_json::from_str(&env.kubectl_ok(&[
            "get",
            "job",
            "payments-presync-check",
            "-n",
            &ns,
            "-o",
            "json",
        ]))
        .unwrap();
        job["metadata"]["resourceVersion"].clone()
    };
    let decoy = decoy_version(env);
    let state = env.dir.join(format!("{ns}-state"));
    let output = harness::triage_in_state(&env.kubeconfig, &state, &["repair", "--yes", "-n", &ns]);
    let text = stdout(&output);
    harness::assert_verified(
        &text,
        &[
            "quota",
            "pvc",
            "egress",
            "lock",
            "orphan-hook",
            "migration-script",
        ],
    );
    let check = harness::triage_with(&env.kubeconfig, &["check", "-n", &ns, "-o", "json"]);
    let check: Value = serde_json::from_slice(&check.stdout).unwrap();
    // The init container waits for a kubelet restart no process here performs, so
    // orders-api's rollout stays past its deadline and its Service has no Ready pod
    // (payments-api's quota refusal is resolved).
    assert_eq!(
        failing_ids(&check),
        vec!["init-container", "rollout", "service-endpoints"]
    );
    // What still fails and is not a symptom of something failing: this control plane
    // runs no ReplicaSet controller, so nothing creates the payments-api pod the
    // raised quota now admits, and its Service stays without endpoints. repair says so
    // and exits 1 (signals still fail), as it would until a controller acts.
    let causes: Vec<&str> = check["causes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["cause"].as_str().unwrap())
        .collect();
    eprintln!("causes after the repair: {causes:?}");
    assert_eq!(causes, vec!["service-endpoints"], "{check:#}");
    assert_eq!(output.status.code(), Some(1), "{text}{}", stderr(&output));
    assert!(text.contains("signals still fail after the run"), "{text}");
    assert_eq!(
        decoy_version(env),
        decoy,
        "the owned look-alike hook Job was touched"
    );
    assert!(
        env.kubectl(&["get", "job", "orders-presync-db-init", "-n", &ns])
            .status
            .code()
            != Some(0),
        "the orphan is still there"
    );
}
