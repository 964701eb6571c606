//! Whole-CLI tests: stdout, stderr and exit code of the real binary on the bundled
//! fixtures and on bad input. No cluster needed (live paths are in `e2e/`).
//!
//! One test binary (one link) for every test that drives the binary without a control
//! plane: these general ones here, `check`/`plan` on each fixture (`cli/check_plan.rs`),
//! support bundles (`cli/bundles.rs`) and the database (`cli/db.rs`, with its private
//! PostgreSQL). Filter by module: `cargo test --test cli check_plan::`.

#[path = "cli/bundles.rs"]
mod bundles;
#[path = "cli/check_plan.rs"]
mod check_plan;
#[path = "cli/db.rs"]
mod db;

use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn example(name: &str) -> String {
    format!("examples/{name}")
}

/// Runs triage with a clean environment: no kubeconfig, no colour settings.
fn triage(args: &[&str]) -> Output {
    triage_with_stdin(args, None)
}

fn triage_with_stdin(args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_triage"));
    command
        .args(args)
        .env_remove("KUBECONFIG")
        .env_remove("NO_COLOR")
        .env("HOME", "/nonexistent-home-for-triage-tests")
        // Relative fixture paths, so output does not depend on where the repo lives.
        .current_dir(root())
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().expect("triage binary runs");
    if let Some(bytes) = stdin {
        child.stdin.take().unwrap().write_all(bytes).unwrap();
    }
    child.wait_with_output().unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The error contract: exactly one line on stderr, starting `error: `, and the code.
#[track_caller]
fn assert_one_line_error(output: &Output, code: i32, needle: &str) {
    let err = stderr(output);
    assert_eq!(output.status.code(), Some(code), "stderr: {err}");
    assert_eq!(err.lines().count(), 1, "expected one line, got: {err}");
    assert!(err.starts_with("error: "), "{err}");
    assert!(err.contains(needle), "expected `{needle}` in: {err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(stdout(output).is_empty(), "nothing on stdout on error");
}

fn temp_file(name: &str, bytes: &[u8]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("triage-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

fn kubeconfig_for(server: &str) -> PathBuf {
    temp_file(
        &format!("kubeconfig-{}", server.replace([':', '/', '.'], "_")),
        format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: test\nclusters:\n- name: c\n  cluster:\n    server: {server}\n    insecure-skip-tls-verify: true\ncontexts:\n- name: test\n  context: {{cluster: c, user: u, namespace: bleater}}\nusers:\n- name: u\n  user: {{token: not-a-real-token}}\n"
        )
        .as_bytes(),
    )
}

// ---- bad input ------------------------------------------------------------------

#[test]
fn no_kubeconfig_is_exit_3_with_a_way_out() {
    let output = triage(&["inventory", "-n", "bleater"]);
    assert_one_line_error(&output, 3, "no kubeconfig found");
    assert!(stderr(&output).contains("--snapshot"));
}

#[test]
fn unreachable_server_is_exit_3() {
    // A port that was just free: nothing listens there.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let kubeconfig = kubeconfig_for(&format!("https://127.0.0.1:{port}"));
    let output = triage(&[
        "inventory",
        "--kubeconfig",
        kubeconfig.to_str().unwrap(),
        "--request-timeout",
        "5s",
    ]);
    assert_one_line_error(&output, 3, "cannot reach `https://127.0.0.1:");
}

#[test]
fn tls_failure_is_exit_3() {
    // A server that answers in plain text where TLS is expected.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for mut stream in listener.incoming().take(4).flatten() {
            let _ = stream.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\nnot tls");
        }
    });
    let kubeconfig = kubeconfig_for(&format!("https://127.0.0.1:{port}"));
    let output = triage(&[
        "inventory",
        "--kubeconfig",
        kubeconfig.to_str().unwrap(),
        "--request-timeout",
        "5s",
    ]);
    assert_one_line_error(&output, 3, "cannot reach");
}

#[test]
fn unknown_context_is_a_usage_error() {
    let kubeconfig = kubeconfig_for("https://127.0.0.1:9");
    let output = triage(&[
        "inventory",
        "--kubeconfig",
        kubeconfig.to_str().unwrap(),
        "--context",
        "nope",
    ]);
    assert_one_line_error(&output, 2, "cannot use kubeconfig context `nope`");
}

#[test]
fn empty_snapshot_is_exit_2() {
    let path = temp_file("empty.yaml", b"\n\n");
    let output = triage(&["inventory", "--snapshot", path.to_str().unwrap()]);
    assert_one_line_error(&output, 2, "is empty");
}

#[test]
fn malformed_snapshot_names_line_and_column() {
    let path = temp_file(
        "broken.yaml",
        b"apiVersion: v1\nkind: List\nitems:\n- kind: Pod\n  metadata: {name: [x\n",
    );
    let output = triage(&["inventory", "--snapshot", path.to_str().unwrap()]);
    assert_one_line_error(&output, 2, "is not valid YAML at line");
}

#[test]
fn non_utf8_snapshot_is_exit_2() {
    let path = temp_file("binary.yaml", &[0x6b, 0x3a, 0x20, 0xc3, 0x28, 0xff]);
    let output = triage(&["inventory", "--snapshot", path.to_str().unwrap()]);
    assert_one_line_error(&output, 2, "is not UTF-8 text");
}

#[test]
fn huge_snapshot_is_refused() {
    let path = temp_file("huge.yaml", &vec![b'#'; 257 * 1024 * 1024]);
    let output = triage(&["inventory", "--snapshot", path.to_str().unwrap()]);
    let _ = std::fs::remove_file(&path);
    assert_one_line_error(&output, 2, "over the 256 MiB limit");
}

#[test]
fn missing_snapshot_file_is_exit_2() {
    let output = triage(&["inventory", "--snapshot", "/nonexistent/snap.yaml"]);
    assert_one_line_error(&output, 2, "cannot read snapshot `/nonexistent/snap.yaml`");
}

#[test]
fn snapshot_from_stdin() {
    let pod = b"apiVersion: v1\nkind: Pod\nmetadata: {name: web, namespace: shop}\nspec: {containers: [{name: web, image: nginx}]}\n";
    let output = triage_with_stdin(&["inventory", "--snapshot", "-", "-o", "json"], Some(pod));
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json["namespace"], "shop");
    assert_eq!(json["pods"][0]["name"], "web");
}

#[test]
fn bad_flag_is_exit_2() {
    let output = triage(&["inventory", "--no-such-flag"]);
    assert_eq!(output.status.code(), Some(2));
}

#[test]
fn check_watch_refuses_a_snapshot_file() {
    let output = triage(&[
        "check",
        "--watch",
        "--snapshot",
        "examples/bleater-healthy.yaml",
    ]);
    let err = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{err}");
    assert!(err.contains("check --watch needs a live cluster"), "{err}");
}

#[test]
fn help_documents_every_exit_code() {
    let output = triage(&["--help"]);
    assert_eq!(output.status.code(), Some(0));
    let help = stdout(&output);
    for code in 0..=9 {
        assert!(
            help.contains(&format!("\n  {code}  ")),
            "exit code {code} missing from --help"
        );
    }
}

// ---- generated files --------------------------------------------------------------

/// Compares a generated file with its committed copy; `TRIAGE_BLESS=1` rewrites it.
fn assert_fresh(path: &Path, generated: &str) {
    if std::env::var_os("TRIAGE_BLESS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, generated).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        committed == generated,
        "`{}` is stale: run `TRIAGE_BLESS=1 cargo test --test cli generated` and commit it",
        path.display()
    );
}

#[test]
fn generated_completions_are_fresh() {
    use clap_complete::Shell;
    for (shell, file) in [
        (Shell::Bash, "triage.bash"),
        (Shell::Zsh, "_triage"),
        (Shell::Fish, "triage.fish"),
        (Shell::PowerShell, "_triage.ps1"),
        (Shell::Elvish, "triage.elv"),
    ] {
        assert_fresh(
            &root().join("completions").join(file),
            &triage::commands::completions::generate(shell),
        );
    }
}

#[test]
fn generated_man_page_is_fresh() {
    assert_fresh(
        &root().join("docs/triage.1"),
        &triage::commands::completions::man_page(),
    );
}

/// `docs/signals.md` is rendered from `signals::ALL`: a signal added, reordered or
/// re-documented without regenerating it fails here.
#[test]
fn generated_signal_docs_are_fresh() {
    assert_fresh(
        &root().join("docs/signals.md"),
        &triage::render::signal_docs::markdown(),
    );
}

#[test]
fn completions_command_prints_the_committed_script() {
    let output = triage(&["completions", "bash"]);
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(
        stdout(&output),
        std::fs::read_to_string(root().join("completions/triage.bash")).unwrap()
    );
}

// ---- inventory on the bundled fixtures ----------------------------------------------

fn inventory(fixture: &str, output: &str) -> Output {
    let result = triage(&[
        "inventory",
        "-n",
        "bleater",
        "--snapshot",
        &example(fixture),
        "-o",
        output,
    ]);
    assert_eq!(result.status.code(), Some(0), "{}", stderr(&result));
    result
}

/// Every fixture x format snapshot of `inventory` (one table: they differ only by the
/// fixture and `-o`).
#[test]
fn inventory_snapshots() {
    for (snapshot, fixture, format) in [
        ("incident_inventory_table", "bleater-incident.yaml", "table"),
        ("incident_inventory_wide", "bleater-incident.yaml", "wide"),
        ("healthy_inventory_table", "bleater-healthy.yaml", "table"),
        ("incident_inventory_json", "bleater-incident.yaml", "json"),
        ("healthy_inventory_json", "bleater-healthy.yaml", "json"),
    ] {
        let output = inventory(fixture, format);
        if format == "json" {
            let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
            insta::assert_json_snapshot!(snapshot, json);
        } else {
            insta::assert_snapshot!(snapshot, stdout(&output));
        }
    }
}

/// The raw evidence of each of the eight faults, as a responder would spot it.
#[test]
fn incident_inventory_shows_the_evidence_of_all_eight_faults() {
    let text = stdout(&inventory("bleater-incident.yaml", "table"));
    let line = |needle: &str| -> String {
        text.lines()
            .find(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("no line with `{needle}`"))
            .to_string()
    };
    // 1. lock: the lock ConfigMap, and the events naming it locked.
    assert!(line("hook-reconciliation-lock ").contains("status"));
    assert!(text.contains("hook-reconciliation-lock is locked"));
    // 2. orphan hook: suspended, PreSync, finalizer, no delete policy, no owner.
    let orphan = line("auth-presync-migrate-legacy7r2x");
    assert!(
        orphan.contains("yes")
            && orphan.contains("PreSync")
            && orphan.contains("bleater.io/hook-cleanup"),
        "{orphan}"
    );
    assert!(line("fanout-presync-validate").contains("HookSucceeded"));
    // 3. schema: declared keys stop at v2.
    let schema = line("bleat-db-schema ");
    assert!(
        schema.contains("tables-v2") && !schema.contains("tables-v3"),
        "{schema}"
    );
    // 4. rbac: the binding points at v1, v2 is unbound.
    assert!(line("migration-runner-binding ").contains("Role/migration-runner-role-v1"));
    assert!(line("migration-runner-role-v2").contains("<unbound>"));
    // 5. pvc: Pending on a class that does not exist.
    let pvc = line("bleat-migration-pvc");
    assert!(
        pvc.contains("Pending") && pvc.contains("fast-ssd-tier (missing)"),
        "{pvc}"
    );
    // 6. quota: pods hard 1, exhausted.
    let quota = line("bleater-quota   pods");
    assert!(
        quota.contains("EXHAUSTED") && quota.contains(" 1 "),
        "{quota}"
    );
    // 7. egress: deny-all, DNS included.
    assert!(line("bleater-default-deny-egress").contains("DENY-ALL egress"));
    // 8. init container: crash-looping, with its last exit code.
    let bleat = line("bleat-service-");
    assert!(
        bleat.contains("Init:CrashLoopBackOff") && bleat.contains("last exit 1"),
        "{bleat}"
    );
}

#[test]
fn healthy_inventory_marks_nothing() {
    let text = stdout(&inventory("bleater-healthy.yaml", "table"));
    for marker in [
        "(missing)",
        "EXHAUSTED",
        "DENY-ALL",
        "CrashLoopBackOff",
        "<unbound>",
    ] {
        let hits: Vec<&str> = text.lines().filter(|l| l.contains(marker)).collect();
        // migration-runner-role-v1 stays, unbound, after the fix: not a fault.
        let hits: Vec<&&str> = hits
            .iter()
            .filter(|l| !l.contains("migration-runner-role-v1"))
            .collect();
        assert!(
            hits.is_empty(),
            "`{marker}` marked in the healthy fixture: {hits:?}"
        );
    }
    let json: serde_json::Value =
        serde_json::from_slice(&inventory("bleater-healthy.yaml", "json").stdout).unwrap();
    assert!(json["resourceQuotas"].as_array().unwrap().iter().all(|q| {
        q["resources"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["exhausted"] == false)
    }));
    assert!(
        json["networkPolicies"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["podsWithoutEgress"] == 0)
    );
}

#[test]
fn inventory_json_and_yaml_carry_the_same_content() {
    let json: serde_json::Value =
        serde_json::from_slice(&inventory("bleater-incident.yaml", "json").stdout).unwrap();
    let yaml_text = stdout(&inventory("bleater-incident.yaml", "yaml"));
    let yaml: serde_json::Value = serde_saphyr::from_str(&yaml_text).unwrap();
    assert_eq!(json, yaml);
    assert_eq!(json["apiVersion"], "triage/v1alpha1");
    assert_eq!(json["kind"], "Inventory");
    // Round trip: what we print parses back to the same value.
    let again: serde_json::Value =
        serde_json::from_str(&serde_json::to_string(&json).unwrap()).unwrap();
    assert_eq!(json, again);
}

#[test]
fn inventory_shows_every_object_of_the_fixture_namespace() {
    let json: serde_json::Value =
        serde_json::from_slice(&inventory("bleater-incident.yaml", "json").stdout).unwrap();
    let fixture: serde_json::Value = serde_saphyr::from_str(
        &std::fs::read_to_string(root().join("examples/bleater-incident.yaml")).unwrap(),
    )
    .unwrap();
    let sections = [
        ("Pod", "pods"),
        ("Job", "jobs"),
        ("CronJob", "cronJobs"),
        ("PersistentVolumeClaim", "persistentVolumeClaims"),
        ("ResourceQuota", "resourceQuotas"),
        ("NetworkPolicy", "networkPolicies"),
        ("RoleBinding", "roleBindings"),
        ("Role", "roles"),
        ("ConfigMap", "configMaps"),
        ("Deployment", "deployments"),
        ("StatefulSet", "statefulSets"),
        ("DaemonSet", "daemonSets"),
        ("ReplicaSet", "replicaSets"),
        ("Service", "services"),
        ("EndpointSlice", "endpointSlices"),
        ("ServiceAccount", "serviceAccounts"),
        ("LimitRange", "limitRanges"),
    ];
    for item in fixture["items"].as_array().unwrap() {
        if item["metadata"]["namespace"] != "bleater" {
            continue;
        }
        let kind = item["kind"].as_str().unwrap();
        let name = item["metadata"]["name"].as_str().unwrap();
        if let Some((_, section)) = sections.iter().find(|(k, _)| *k == kind) {
            assert!(
                json[section]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|row| row["name"] == name),
                "{kind} `{name}` missing from the inventory"
            );
        } else if !["Event", "Secret"].contains(&kind) {
            assert!(
                json["otherObjects"][kind]
                    .as_array()
                    .is_some_and(|names| names.iter().any(|n| n == name)),
                "{kind} `{name}` missing"
            );
        }
    }
}

#[test]
fn several_namespaces_without_n_is_a_usage_error() {
    let output = triage(&["inventory", "--snapshot", &example("bleater-incident.yaml")]);
    assert_one_line_error(
        &output,
        2,
        "holds several namespaces: bleater, bleater-system",
    );
}

#[test]
fn unknown_namespace_in_a_snapshot_is_exit_2() {
    let output = triage(&[
        "inventory",
        "-n",
        "nope",
        "--snapshot",
        &example("bleater-incident.yaml"),
    ]);
    assert_one_line_error(
        &output,
        2,
        "namespace `nope` is not in snapshot `examples/bleater-incident.yaml`",
    );
}

// ---- colour ---------------------------------------------------------------------

/// The check table on a terminal: verdicts coloured, unless --no-color or NO_COLOR.
fn check_on_a_terminal(extra: &[&str], no_color_env: bool) -> String {
    let mut command = Command::new(env!("CARGO_BIN_EXE_triage"));
    command
        .current_dir(root())
        .args([
            "check",
            "-n",
            "bleater",
            "--snapshot",
            "examples/bleater-incident.yaml",
        ])
        .args(extra)
        .env_remove("NO_COLOR");
    if no_color_env {
        command.env("NO_COLOR", "1");
    }
    let mut session = rexpect::session::spawn_command(command, Some(20_000)).unwrap();
    session.exp_eof().unwrap()
}

#[test]
fn verdicts_are_coloured_on_a_terminal_only_when_allowed() {
    assert!(
        check_on_a_terminal(&[], false).contains("\u{1b}["),
        "no colour on a terminal"
    );
    assert!(
        !check_on_a_terminal(&["--no-color"], false).contains("\u{1b}["),
        "--no-color ignored"
    );
    assert!(
        !check_on_a_terminal(&[], true).contains("\u{1b}["),
        "NO_COLOR ignored"
    );
    // Not a terminal: never colour (the snapshot tests above rely on it).
    let piped = triage(&[
        "check",
        "-n",
        "bleater",
        "--snapshot",
        &example("bleater-incident.yaml"),
    ]);
    assert!(!stdout(&piped).contains('\u{1b}'));
}

#[test]
fn installed_as_kubectl_triage_it_is_a_kubectl_plugin() {
    let dir = std::env::temp_dir().join(format!("triage-plugin-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let plugin = dir.join("kubectl-triage");
    let _ = std::fs::remove_file(&plugin);
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_triage"), &plugin).unwrap();
    let output = Command::new(&plugin).arg("--help").output().unwrap();
    assert_eq!(output.status.code(), Some(0));
    assert!(
        stdout(&output).contains("Usage: kubectl triage [OPTIONS] <COMMAND>"),
        "{}",
        stdout(&output)
    );
}

// ---- container logs in a snapshot file ---------------------------------------------

const CRASHING_POD: &str = "bleat-service-lmbfdm22s8-4s7r9";

/// The incident fixture plus what `triage snapshot` writes for its crash-looping init
/// container: the previous instance's last lines, and a 403 for the main container.
fn incident_with_logs() -> PathBuf {
    let mut text = std::fs::read_to_string(root().join("examples/bleater-incident.yaml")).unwrap();
    text.push_str(&format!(
        r#"---
apiVersion: triage/v1alpha1
kind: ContainerLog
metadata: {{namespace: bleater, name: {CRASHING_POD}}}
container: wait-for-db-schema
previous: true
lines:
- "bleat-db:5432 - accepting connections"
- 'ERROR:  relation "reactions" does not exist'
- "LINE 1: SELECT 1 FROM reactions LIMIT 1"
---
apiVersion: triage/v1alpha1
kind: ContainerLog
metadata: {{namespace: bleater, name: {CRASHING_POD}}}
container: bleat-service
previous: false
gap: {{reason: forbidden, message: 'pods "{CRASHING_POD}" is forbidden: User "oncall" cannot get resource "pods/log"'}}
"#
    ));
    temp_file("incident-with-logs.yaml", text.as_bytes())
}

fn check_with_logs(extra: &[&str]) -> Output {
    let path = incident_with_logs();
    let mut args = vec![
        "check",
        "-n",
        "bleater",
        "--snapshot",
        path.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let output = triage(&args);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    output
}

#[test]
fn check_shows_the_crashed_instance_log_under_its_finding() {
    let text = stdout(&check_with_logs(&[]));
    let section = text
        .split("\ninit-container (fail): ")
        .nth(1)
        .and_then(|rest| rest.split("\n\n").next())
        .expect("the init-container section");
    let expected = format!(
        "  - logs of pod/{CRASHING_POD} container wait-for-db-schema (previous instance): 3 lines
      | bleat-db:5432 - accepting connections
      | ERROR:  relation \"reactions\" does not exist
      | LINE 1: SELECT 1 FROM reactions LIMIT 1
  - logs of pod/{CRASHING_POD} (bleat-service): forbidden (pods/log): pods \"{CRASHING_POD}\" is forbidden: User \"oncall\" cannot get resource \"pods/log\"
  fix: "
    );
    assert!(section.contains(&expected), "{section}");
    // Only under the finding about that pod: no other finding names it.
    assert_eq!(text.matches("| ERROR:  relation").count(), 1, "{text}");
}

#[test]
fn check_json_carries_the_log_evidence_and_logs_n_keeps_the_last_lines() {
    let json: serde_json::Value =
        serde_json::from_slice(&check_with_logs(&["-o", "json", "--logs", "1"]).stdout).unwrap();
    let finding = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == "init-container")
        .unwrap();
    let logs: Vec<&serde_json::Value> = finding["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == "log" || e["type"] == "logGap")
        .collect();
    assert_eq!(
        serde_json::Value::Array(logs.into_iter().cloned().collect()),
        serde_json::json!([
            {"type": "log", "object": {"kind": "Pod", "namespace": "bleater", "name": CRASHING_POD},
             "container": "wait-for-db-schema", "previous": true,
             "lines": ["LINE 1: SELECT 1 FROM reactions LIMIT 1"]},
            {"type": "logGap", "object": {"kind": "Pod", "namespace": "bleater", "name": CRASHING_POD},
             "containers": ["bleat-service"],
             "gap": {"reason": "forbidden", "message": format!("pods \"{CRASHING_POD}\" is forbidden: User \"oncall\" cannot get resource \"pods/log\"")}},
        ])
    );
}

#[test]
fn logs_zero_leaves_the_check_as_without_logs() {
    let with_zero = stdout(&check_with_logs(&["--logs", "0"]));
    let plain = stdout(&triage(&[
        "check",
        "-n",
        "bleater",
        "--snapshot",
        &example("bleater-incident.yaml"),
    ]));
    assert!(!with_zero.contains("logs of pod/"), "{with_zero}");
    assert_eq!(
        with_zero.replace(incident_with_logs().to_str().unwrap(), "X"),
        plain.replace("examples/bleater-incident.yaml", "X")
    );
}

#[test]
fn inventory_names_the_log_gap() {
    let path = incident_with_logs();
    let output = triage(&[
        "inventory",
        "-n",
        "bleater",
        "--snapshot",
        path.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(
        stdout(&output).contains(&format!(
            "Logs not readable: pod/{CRASHING_POD} (bleat-service) (forbidden (pods/log): pods \"{CRASHING_POD}\" is forbidden"
        )),
        "{}",
        stdout(&output)
    );
}

#[test]
fn malformed_container_log_is_one_error_naming_the_item() {
    let path = temp_file(
        "bad-log.yaml",
        b"apiVersion: v1\nkind: Pod\nmetadata: {name: web, namespace: shop}\nspec: {containers: [{name: web, image: nginx}]}\n---\napiVersion: triage/v1alpha1\nkind: ContainerLog\nmetadata: {namespace: shop, name: web}\ncontainer: web\nlines: [ok, 7]\n",
    );
    let output = triage(&["check", "--snapshot", path.to_str().unwrap()]);
    assert_one_line_error(
        &output,
        2,
        "has a malformed ContainerLog `shop/web` container `web`: `lines` is not a list of strings",
    );
}

#[test]
fn offline_repair_preview_renders_every_step_from_the_file() {
    let output = triage(&[
        "repair",
        "-n",
        "bleater",
        "--dry-run",
        "--snapshot",
        &example("bleater-incident.yaml"),
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let text = stdout(&output);
    assert!(
        text.starts_with("Repairing namespace `bleater` from snapshot `examples/bleater-incident.yaml` [offline preview: not checked by a server]\n"),
        "{text}"
    );
    // Every step's preview: the quota patch, the binding's delete + create, the
    // orphan's delete, the migration Job, the schema write.
    for needle in [
        "== Step 1/9 `quota`",
        "patch resourcequota/bleater-quota",
        "recreate rolebinding/migration-runner-binding",
        "job/auth-presync-migrate-legacy7r2x",
        "== Step 9/9 `schema`",
    ] {
        assert!(text.contains(needle), "`{needle}` missing from:\n{text}");
    }
    assert!(text.ends_with("offline preview: not checked by a server (no permission checks, no server-side dry run); nothing was changed\n"));
}

#[test]
fn repair_from_a_snapshot_without_dry_run_is_refused() {
    let output = triage(&[
        "repair",
        "-n",
        "bleater",
        "--snapshot",
        &example("bleater-incident.yaml"),
    ]);
    assert_one_line_error(&output, 2, "repair --snapshot only previews");
    assert!(stdout(&output).is_empty());
}

#[test]
fn explain_traffic_offline_names_the_denying_policy_and_prints_the_allow() {
    let output = triage(&[
        "explain-traffic",
        "--snapshot",
        "examples/bleater-incident.yaml",
        "-n",
        "bleater",
        "app.kubernetes.io/name=bleat-service",
        "bleat-db",
    ]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let text = stdout(&output);
    assert!(
        text.contains("egress: isolated by networkpolicy/bleater-default-deny-egress; no rule allows it: denied"),
        "{text}"
    );
    assert!(text.contains("verdict: denied"), "{text}");
    assert!(text.contains("policyTypes:\n  - Egress"), "{text}");
    assert!(!text.contains("pod-template-hash"), "{text}");

    let output = triage(&[
        "explain-traffic",
        "--snapshot",
        "examples/bleater-healthy.yaml",
        "-n",
        "bleater",
        "app.kubernetes.io/name=bleat-service",
        "bleat-db",
        "-o",
        "json",
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let json: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(json["verdict"], "allowed");
    assert_eq!(json["suggestions"], serde_json::json!([]));
}

#[test]
fn explain_traffic_to_an_ip_is_a_pod_when_the_snapshot_has_it_else_egress_only() {
    // 10.42.0.173 is bleat-db-0's status.podIP in both fixtures.
    let output = triage(&[
        "explain-traffic",
        "--snapshot",
        "examples/bleater-healthy.yaml",
        "-n",
        "bleater",
        "app.kubernetes.io/name=bleat-service",
        "10.42.0.173:5432",
        "-o",
        "json",
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let json: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(json["verdict"], "allowed");
    assert_eq!(json["pairs"][0]["to"], "bleater/bleat-db-0");
    assert_eq!(
        json["pairs"][0]["ingress"]["allowedBy"],
        "bleater-allow-ingress-from-gateway#0"
    );
    // An address no pod holds: the source's egress alone, ingress null.
    let output = triage(&[
        "explain-traffic",
        "--snapshot",
        "examples/bleater-incident.yaml",
        "-n",
        "bleater",
        "app.kubernetes.io/name=bleat-service",
        "203.0.113.9:443",
    ]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let text = stdout(&output);
    assert!(
        text.contains("egress: isolated by networkpolicy/bleater-default-deny-egress; no rule allows it: denied"),
        "{text}"
    );
    assert!(
        text.contains("ingress: not evaluated (the destination is not a pod triage knows)"),
        "{text}"
    );
    assert!(text.contains("cidr: 203.0.113.9/32"), "{text}");
}

// ---- -A: every namespace of a file --------------------------------------------------

const CLUSTER: &str = "examples/cluster-incident.yaml";

fn all_namespaces(command: &str, extra: &[&str]) -> Output {
    let mut args = vec![command, "-A", "--snapshot", CLUSTER];
    args.extend_from_slice(extra);
    triage(&args)
}

#[test]
fn check_all_namespaces_table_is_worst_first_and_exits_1() {
    let output = all_namespaces("check", &[]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let text = stdout(&output);
    let order: Vec<&str> = text
        .lines()
        .skip_while(|line| !line.starts_with("NAMESPACE"))
        .skip(1)
        .take_while(|line| !line.is_empty())
        .map(|line| line.split_whitespace().next().unwrap())
        .collect();
    assert_eq!(
        order,
        ["orders", "bleater", "shop", "bleater-system", "ledger"]
    );
    insta::assert_snapshot!(text);
}

#[test]
fn check_all_namespaces_json() {
    let output = all_namespaces("check", &["-o", "json"]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json["kind"], "ClusterCheck");
    assert_eq!(json["summary"]["failing"], 3);
    insta::assert_json_snapshot!(json);
}

/// Each namespace's row says what `check -n NS` on the namespace's own fixture says:
/// the cut into namespaces loses nothing and borrows nothing.
#[test]
fn each_row_agrees_with_check_of_that_namespace_alone() {
    let all = all_namespaces("check", &["-o", "json"]);
    let all: serde_json::Value = serde_json::from_slice(&all.stdout).unwrap();
    for (fixture, namespace) in [
        ("bleater-incident.yaml", "bleater"),
        ("bleater-incident.yaml", "bleater-system"),
        ("shop-incident.yaml", "shop"),
        ("orders-incident.yaml", "orders"),
        ("ledger-healthy.yaml", "ledger"),
    ] {
        let alone = triage(&[
            "check",
            "-n",
            namespace,
            "--snapshot",
            &example(fixture),
            "--logs",
            "0",
            "-o",
            "json",
        ]);
        let alone: serde_json::Value = serde_json::from_slice(&alone.stdout).unwrap();
        let row = all["namespaces"]
            .as_array()
            .unwrap()
            .iter()
            .find(|row| row["namespace"] == namespace)
            .unwrap_or_else(|| panic!("no row for {namespace}"));
        let failing: Vec<&serde_json::Value> = alone["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["status"] == "fail")
            .map(|f| &f["id"])
            .collect();
        assert_eq!(
            row["failingSignals"]
                .as_array()
                .unwrap()
                .iter()
                .collect::<Vec<_>>(),
            failing,
            "{namespace}"
        );
        assert_eq!(row["unknown"], alone["summary"]["unknown"], "{namespace}");
        assert_eq!(
            row["topCause"]["cause"],
            alone["causes"]
                .get(0)
                .map_or(serde_json::Value::Null, |c| c["cause"].clone()),
            "{namespace}"
        );
    }
}

#[test]
fn inventory_all_namespaces_table_and_json() {
    let table = all_namespaces("inventory", &[]);
    assert_eq!(table.status.code(), Some(0), "{}", stderr(&table));
    insta::assert_snapshot!("inventory_all_namespaces_table", stdout(&table));
    let json = all_namespaces("inventory", &["-o", "json"]);
    let json: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(json["kind"], "ClusterInventory");
    let orders = &json["namespaces"][3];
    assert_eq!(orders["namespace"], "orders");
    assert_eq!(orders["objects"]["pods"], 29);
    assert_eq!(orders["podsNotReady"], 9);
    insta::assert_json_snapshot!("inventory_all_namespaces_json", json);
}

#[test]
fn all_namespaces_of_a_green_file_exit_0() {
    let output = triage(&[
        "check",
        "-A",
        "--snapshot",
        &example("bleater-healthy.yaml"),
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(stdout(&output).contains(": 0 failing, 2 passing"));
}

#[test]
fn a_profile_applies_to_the_namespace_it_names_and_no_other() {
    let output = all_namespaces(
        "check",
        &["--profile", "examples/ledger-profile.yaml", "-o", "json"],
    );
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let profiles: Vec<(String, serde_json::Value)> = json["namespaces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| {
            (
                row["namespace"].as_str().unwrap().to_string(),
                row["profile"].clone(),
            )
        })
        .collect();
    for (namespace, profile) in profiles {
        let expected = match namespace.as_str() {
            "ledger" => serde_json::json!("examples/ledger-profile.yaml"),
            "bleater" => serde_json::json!("built-in bleater"),
            _ => serde_json::Value::Null,
        };
        assert_eq!(profile, expected, "{namespace}");
    }
}

#[test]
fn all_namespaces_refuses_a_profile_without_its_namespace() {
    let profile = temp_file(
        "profile-without-namespace.yaml",
        b"apiVersion: triage/v1alpha1\nkind: Profile\n",
    );
    let output = all_namespaces("check", &["--profile", profile.to_str().unwrap()]);
    assert_one_line_error(
        &output,
        2,
        "names no namespace, so -A cannot tell where it applies",
    );
}

#[test]
fn all_namespaces_conflicts_with_namespace_and_plan_has_none() {
    let output = all_namespaces("check", &["-n", "bleater"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("'--all-namespaces' cannot be used with '--namespace"),
        "{}",
        stderr(&output)
    );
    let output = triage(&["plan", "-A", "--snapshot", CLUSTER]);
    assert_eq!(output.status.code(), Some(2));
    let output = all_namespaces("check", &["-o", "sarif"]);
    assert_one_line_error(&output, 2, "check -A has no `sarif` output");
}
