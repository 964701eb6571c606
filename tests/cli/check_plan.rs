//! Whole-CLI tests of `check` and `plan` on the bundled fixtures: stdout snapshots
//! (insta, in tests/cli/snapshots), exit codes, and the error contract for bad selections
//! and profiles.

use std::process::Output;

use super::{assert_one_line_error, example, stderr, stdout, triage};

fn incident(args: &[&str]) -> Output {
    let path = example("bleater-incident.yaml");
    let mut all = vec![args[0], "--snapshot", &path, "-n", "bleater"];
    all.extend(&args[1..]);
    triage(&all)
}

fn json(output: &Output) -> serde_json::Value {
    serde_json::from_slice(&output.stdout).expect("valid JSON")
}

fn ids_with_status(check: &serde_json::Value, status: &str) -> Vec<String> {
    check["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["status"] == status)
        .map(|f| f["id"].as_str().unwrap().to_string())
        .collect()
}

// ---- check ------------------------------------------------------------------------

#[test]
fn check_incident_finds_the_eight_faults_and_the_script() {
    let output = incident(&["check", "-o", "json"]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let check = json(&output);
    assert_eq!(check["apiVersion"], "triage/v1alpha1");
    assert_eq!(check["kind"], "Check");
    assert_eq!(
        ids_with_status(&check, "fail"),
        vec![
            "quota",
            "rbac",
            "pvc",
            "egress",
            "lock",
            "orphan-hook",
            "migration-script",
            "schema",
            "init-container",
            // bleat-service past its progress deadline, growth-experiments-api refused
            // by the quota.
            "rollout",
            // The symptom of the init container: bleat-service's only pod is not Ready.
            "service-endpoints"
        ]
    );
    assert_eq!(ids_with_status(&check, "info"), vec!["derived-state"]);
    // The decoy is protected evidence, never an orphan.
    let orphan = &check["findings"][5];
    assert_eq!(orphan["objects"].as_array().unwrap().len(), 1);
    assert_eq!(
        orphan["objects"][0]["name"],
        "auth-presync-migrate-legacy7r2x"
    );
    let fanout = check["apps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["app"] == "fanout-service")
        .unwrap();
    assert_eq!(fanout["current"], "Progressing");
    assert_eq!(fanout["expected"], "Progressing");
}

#[test]
fn check_incident_table() {
    let output = incident(&["check"]);
    assert_eq!(output.status.code(), Some(1));
    insta::assert_snapshot!("check_bleater_incident_table", stdout(&output));
}

#[test]
fn check_incident_json() {
    let output = incident(&["check", "-o", "json"]);
    insta::assert_snapshot!("check_bleater_incident_json", stdout(&output));
}

#[test]
fn check_healthy_has_no_failing_signal() {
    let path = example("bleater-healthy.yaml");
    let output = triage(&["check", "--snapshot", &path, "-n", "bleater", "-o", "json"]);
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
    let check = json(&output);
    assert!(ids_with_status(&check, "fail").is_empty());
    assert!(
        check["apps"]
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a["expected"] == "Healthy")
    );
    let table = triage(&["check", "--snapshot", &path, "-n", "bleater"]);
    insta::assert_snapshot!("check_bleater_healthy_table", stdout(&table));
}

#[test]
fn check_shop_without_profile() {
    let path = example("shop-incident.yaml");
    let output = triage(&["check", "--snapshot", &path, "-o", "json"]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let check = json(&output);
    assert!(check["profile"].is_null());
    let mut failing = ids_with_status(&check, "fail");
    failing.sort();
    assert_eq!(
        failing,
        vec![
            "egress",
            "init-container",
            "lock",
            "migration-script",
            "orphan-hook",
            "pvc",
            "quota",
            // orders-api past its progress deadline, payments-api refused by the quota.
            "rollout",
            // orders-api's pod is not Ready (init container); payments-api has no pod (quota).
            "service-endpoints"
        ]
    );
    let table = triage(&["check", "--snapshot", &path]);
    insta::assert_snapshot!("check_shop_incident_table", stdout(&table));
    insta::assert_snapshot!("check_shop_incident_json", stdout(&output));
}

/// `Kind/name` of every object a finding lists under `key` (`objects`, `causedBy`).
fn refs(finding: &serde_json::Value, key: &str) -> Vec<String> {
    finding[key]
        .as_array()
        .into_iter()
        .flatten()
        .map(|o| {
            format!(
                "{}/{}",
                o["kind"].as_str().unwrap(),
                o["name"].as_str().unwrap()
            )
        })
        .collect()
}

/// The orders fixture (docs/fixtures.md): each fault is found by its signal, naming
/// the failing objects and the cause; no look-alike appears in a failing finding.
/// A signal this build does not have is skipped, so the test judges each signal as
/// it is merged.
#[test]
fn check_orders_finds_each_fault_and_leaves_the_look_alikes_green() {
    let path = example("orders-incident.yaml");
    let output = triage(&["check", "--snapshot", &path, "-o", "json"]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let check = json(&output);
    assert!(check["profile"].is_null());
    let findings = check["findings"].as_array().unwrap();

    // (signal, objects it must list, causes it must name); "A|B": either object.
    let faults: &[(&str, &[&str], &[&str])] = &[
        ("quota", &["ResourceQuota/orders-quota"], &[]),
        ("image-pull", &["Pod/orders-api-crtzvm6wsd-hbhmk"], &[]),
        ("crash-loop", &["Pod/orders-worker-dxkhxbrfkl-tblpz"], &[]),
        (
            "oom-killed",
            &["Pod/orders-reporting-lxv7dbq7cf-rd2nr"],
            &[],
        ),
        (
            "container-config",
            &[
                "Pod/orders-checkout-wr9wtvzzkz-2zrgr",
                "Pod/orders-checkout-wr9wtvzzkz-kx7tk",
            ],
            &["ConfigMap/orders-config"],
        ),
        (
            "mount",
            &["Pod/orders-notifier-pdjx5np526-qrhsw"],
            &["ConfigMap/orders-notifier-templates"],
        ),
        (
            "unschedulable",
            &["Pod/orders-ml-scorer-422b444kwj-qk68z"],
            &[],
        ),
        ("probe", &["Pod/orders-web-nk2kc54g2z-bs9wz"], &[]),
        (
            "rollout",
            &[
                "Deployment/orders-api",
                "Deployment/orders-checkout",
                "Deployment/orders-ml-scorer",
                "Deployment/orders-events-consumer",
            ],
            // orders-events-consumer's new pods are refused by the quota.
            &["ResourceQuota/orders-quota"],
        ),
        (
            "job-failed",
            &[
                "Job/orders-backfill-invoices",
                "CronJob/orders-settlement-export|Job/orders-settlement-export-29162280",
            ],
            &[],
        ),
        (
            "service-endpoints",
            &["Service/orders-checkout", "Service/orders-api-internal"],
            &[],
        ),
        ("stuck-deletion", &["ConfigMap/orders-legacy-routes"], &[]),
    ];
    for (id, objects, causes) in faults {
        let Some(finding) = findings.iter().find(|f| f["id"] == *id) else {
            continue; // not in this build
        };
        assert_eq!(finding["status"], "fail", "{id}: {finding}");
        let listed = refs(finding, "objects");
        for want in *objects {
            assert!(
                want.split('|').any(|w| listed.iter().any(|l| l == w)),
                "{id} does not list {want}: {listed:?}"
            );
        }
        let named = refs(finding, "causedBy");
        for want in *causes {
            assert!(
                named.iter().any(|n| n == want),
                "{id} does not name {want} as a cause: {named:?}"
            );
        }
    }

    let look_alikes = [
        // old restarts, Running and Ready since
        "Pod/orders-api-l5v5mcqxtz-9qdbp",
        "Pod/orders-web-nk2kc54g2z-qw9br",
        // Succeeded pods of completed Jobs
        "Pod/orders-seed-catalog-fgwhv",
        "Pod/orders-cleanup-carts-29162280-dp8rt",
        "Pod/orders-cleanup-carts-29162310-5f9cm",
        "Pod/orders-settlement-export-29162100-n9jff",
        "Job/orders-seed-catalog",
        "Job/orders-settlement-export-29162100",
        // mid-rollout within the deadline, its pod Pending for 10 s
        "Deployment/orders-search",
        "ReplicaSet/orders-search-jxqdcvd6v4",
        "Pod/orders-search-jxqdcvd6v4-t2hsj",
        "Pod/orders-search-n5vc8njczl-ngknv",
        "Service/orders-search",
        // native sidecar beside the app; the Evicted pod and its Ready replacement
        "Pod/orders-web-nk2kc54g2z-g559z",
        "Pod/orders-web-nk2kc54g2z-jschj",
        "Pod/orders-web-nk2kc54g2z-5bbdp",
        "Deployment/orders-web",
        "Service/orders-web",
        "Service/orders-api",
        // an old failed run, the newest runs succeeded
        "CronJob/orders-cleanup-carts",
        "Job/orders-cleanup-carts-29162190",
        "Job/orders-cleanup-carts-29162280",
        "Job/orders-cleanup-carts-29162310",
        // no selector, a hand-written EndpointSlice
        "Service/orders-erp",
        "EndpointSlice/orders-erp-1",
        // scaled to 0
        "Deployment/orders-recommendations",
        "ReplicaSet/orders-recommendations-n62pnzfldg",
        // deleted 30 s before the capture
        "ConfigMap/orders-canary-flags",
        // the one running consumer pod (its ReplicaSet is refused more)
        "Pod/orders-events-consumer-dhzjzx5q9n-f5s68",
    ];
    // Causes before symptoms: the missing ConfigMap's CreateContainerConfigError stalls
    // orders-checkout's rollout and leaves its Service without endpoints; the quota
    // refuses orders-events-consumer's pods.
    let edges: Vec<(String, String)> = check["graph"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["from"].as_str().unwrap().to_string(),
                e["to"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    for (from, to) in [
        ("container-config", "rollout"),
        ("container-config", "service-endpoints"),
        ("quota", "rollout"),
        ("image-pull", "rollout"),
        ("unschedulable", "rollout"),
    ] {
        assert!(
            edges.contains(&(from.to_string(), to.to_string())),
            "no edge {from} -> {to}: {edges:?}"
        );
    }
    let groups = check["causes"].as_array().unwrap();
    let container_config = groups
        .iter()
        .find(|g| g["cause"] == "container-config")
        .expect("container-config is a root cause");
    assert_eq!(container_config["symptoms"], serde_json::json!(["rollout"]));
    // rollout is explained by its causes; service-endpoints is not (orders-api-internal's
    // selector typo is a cause of its own).
    assert!(!groups.iter().any(|g| g["cause"] == "rollout"));
    assert!(groups.iter().any(|g| g["cause"] == "service-endpoints"));

    for finding in findings.iter().filter(|f| f["status"] == "fail") {
        let listed = refs(finding, "objects");
        for look_alike in look_alikes {
            assert!(
                !listed.iter().any(|l| l == look_alike),
                "{} fails on the look-alike {look_alike}: {}",
                finding["id"],
                finding["summary"]
            );
        }
    }
}

#[test]
fn only_and_skip_select_signals() {
    let only = json(&incident(&["check", "-o", "json", "--only", "lock,quota"]));
    let ids: Vec<&str> = only["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec!["quota", "lock"]);
    let skipped = incident(&[
        "check",
        "--skip",
        "quota,rbac,pvc,egress,lock,orphan-hook,migration-script,schema,init-container,unschedulable,rollout,service-endpoints",
    ]);
    assert_eq!(
        skipped.status.code(),
        Some(0),
        "only derived-state (info) left"
    );
}

#[test]
fn unknown_signal_id_is_a_usage_error_naming_valid_ids() {
    let output = incident(&["check", "--only", "quota,dns"]);
    assert_one_line_error(&output, 2, "unknown signal `dns`");
    assert!(stderr(&output).contains("valid ids: quota, rbac, pvc"));
}

#[test]
fn invalid_profile_names_the_line() {
    let dir = std::env::temp_dir().join(format!("triage-check-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("profile.yaml");
    std::fs::write(
        &path,
        "apiVersion: triage/v1alpha1\nkind: Profile\nlock:\n  configMap: l\n  colour: red\n",
    )
    .unwrap();
    let output = incident(&["check", "--profile", path.to_str().unwrap()]);
    assert_one_line_error(&output, 2, "line 5");
    assert!(stderr(&output).contains("colour"));
    let missing = incident(&["check", "--profile", "/nonexistent/profile.yaml"]);
    assert_one_line_error(&missing, 2, "cannot read profile");
}

#[test]
fn check_has_no_graph_output() {
    let output = incident(&["check", "-o", "mermaid"]);
    assert_one_line_error(&output, 2, "check has no `mermaid` output");
}

// ---- plan -------------------------------------------------------------------------

#[test]
fn plan_incident_order() {
    let output = incident(&["plan", "-o", "json"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let plan = json(&output);
    assert_eq!(plan["kind"], "Plan");
    let ids: Vec<&str> = plan["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        &ids[..8],
        &[
            "quota",
            "rbac",
            "pvc",
            "egress",
            "lock",
            "orphan-hook",
            "migration-script",
            "schema"
        ]
    );
    assert_eq!(
        &ids[8..],
        &[
            "init-container",
            "rollout",
            "service-endpoints",
            "derived-state"
        ]
    );
    insta::assert_snapshot!("plan_bleater_incident_json", stdout(&output));
}

#[test]
fn plan_incident_table_mermaid_and_dot() {
    insta::assert_snapshot!("plan_bleater_incident_table", stdout(&incident(&["plan"])));
    insta::assert_snapshot!(
        "plan_bleater_incident_mermaid",
        stdout(&incident(&["plan", "-o", "mermaid"]))
    );
    insta::assert_snapshot!(
        "plan_bleater_incident_dot",
        stdout(&incident(&["plan", "-o", "dot"]))
    );
}

#[test]
fn plan_healthy_is_empty_and_shop_orders_its_faults() {
    let healthy = example("bleater-healthy.yaml");
    let output = triage(&["plan", "--snapshot", &healthy, "-n", "bleater"]);
    assert_eq!(output.status.code(), Some(0));
    insta::assert_snapshot!("plan_bleater_healthy_table", stdout(&output));
    let shop = example("shop-incident.yaml");
    insta::assert_snapshot!(
        "plan_shop_incident_table",
        stdout(&triage(&["plan", "--snapshot", &shop]))
    );
}

/// Generic faults: causes triage cannot repair are `manual` steps carrying the kubectl
/// command; a finding explained by its causes (orders' rollouts) is `verify`; the check
/// table groups the symptoms under their causes.
#[test]
fn plan_and_check_orders_put_causes_first_and_symptoms_under_them() {
    let orders = example("orders-incident.yaml");
    let plan = triage(&["plan", "--snapshot", &orders]);
    assert_eq!(plan.status.code(), Some(0));
    let text = stdout(&plan);
    insta::assert_snapshot!("plan_orders_incident_table", text);
    assert!(text.contains("rollout             verify"), "{text}");
    assert!(
        text.contains("kubectl create configmap orders-config -n orders"),
        "{text}"
    );
    let check = triage(&["check", "--snapshot", &orders]);
    insta::assert_snapshot!("check_orders_incident_table", stdout(&check));
}

// ---- ledger: the shapes that once fooled triage (issue 11) ------------------------

fn ledger(file: &str, with_profile: bool, args: &[&str]) -> Output {
    let path = example(file);
    let profile = example("ledger-profile.yaml");
    let mut all = vec![args[0], "--snapshot", &path, "-n", "ledger"];
    if with_profile {
        all.extend(["--profile", profile.as_str()]);
    }
    all.extend(&args[1..]);
    triage(&all)
}

fn finding<'a>(check: &'a serde_json::Value, id: &str) -> &'a serde_json::Value {
    check["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == id)
        .unwrap()
}

fn objects(finding: &serde_json::Value) -> Vec<String> {
    finding["objects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            format!(
                "{}/{}",
                o["kind"].as_str().unwrap(),
                o["name"].as_str().unwrap()
            )
        })
        .collect()
}

#[test]
fn ledger_healthy_look_alikes_are_green_with_and_without_the_profile() {
    for with_profile in [false, true] {
        let output = ledger(
            "ledger-healthy.yaml",
            with_profile,
            &["check", "-o", "json"],
        );
        assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
        let check = json(&output);
        assert!(ids_with_status(&check, "fail").is_empty(), "{check:#}");
        // Helm hooks with delete policies: protected, never orphans.
        assert!(
            finding(&check, "orphan-hook")["summary"]
                .as_str()
                .unwrap()
                .contains("protected: `ledger-db-migrate`, `ledger-pre-upgrade-check`")
        );
        // Helm-written ConfigMaps are not derived state; the reconciler's status is.
        assert_eq!(
            objects(finding(&check, "derived-state")),
            vec!["ConfigMap/ledger-status"]
        );
    }
    let check = json(&ledger(
        "ledger-healthy.yaml",
        true,
        &["check", "-o", "json"],
    ));
    // The RoleBinding to ClusterRole `edit` is evaluated offline.
    assert_eq!(finding(&check, "rbac")["status"], "ok");
    // Status keys `api`/`worker` map to pods labelled `app=ledger-api`/`app=ledger-worker`.
    let apps: Vec<&str> = check["apps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["app"].as_str().unwrap())
        .collect();
    assert_eq!(apps, vec!["api", "worker"]);
    // The plan is empty and the offline repair preview has nothing to do.
    let plan = ledger("ledger-healthy.yaml", true, &["plan"]);
    assert_eq!(plan.status.code(), Some(0));
    // ledger-api's native sidecar reads as kubectl's printer shows it: both containers
    // ready and Running, not a stuck init step (and no signal failed on it above).
    let inventory = stdout(&ledger("ledger-healthy.yaml", false, &["inventory"]));
    let api_pod = inventory
        .lines()
        .find(|l| l.starts_with("ledger-api-"))
        .expect("the ledger-api pod row");
    let columns: Vec<&str> = api_pod.split_whitespace().collect();
    assert_eq!(&columns[1..3], &["2/2", "Running"], "{api_pod}");
}

#[test]
fn ledger_incident_fails_each_shape_naming_its_objects() {
    let output = ledger("ledger-incident.yaml", true, &["check", "-o", "json"]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let check = json(&output);
    assert_eq!(
        ids_with_status(&check, "fail"),
        vec!["quota", "rbac", "orphan-hook", "migration-script"]
    );
    let quota = finding(&check, "quota");
    assert_eq!(objects(quota), vec!["ResourceQuota/ledger-quota"]);
    // used 1960m + the newest refusal's 900m + the migration pod's 100m.
    assert_eq!(quota["details"]["proposals"][0]["needed"], "2960m");
    let rbac = finding(&check, "rbac");
    assert_eq!(
        objects(rbac),
        vec![
            "RoleBinding/ledger-migrator-edit",
            "ServiceAccount/ledger-migrator"
        ]
    );
    assert!(
        rbac["summary"]
            .as_str()
            .unwrap()
            .contains("(bound ClusterRole `view`) may not create jobs.batch, patch configmaps")
    );
    assert_eq!(
        objects(finding(&check, "orphan-hook")),
        vec!["Job/ledger-pre-upgrade-check"]
    );
    let script = finding(&check, "migration-script");
    assert_eq!(objects(script), vec!["ConfigMap/ledger-db-migrations"]);
    assert_eq!(
        script["summary"],
        "migration script swallows errors: `|| echo ...`/`|| /bin/true`, `set +e`"
    );
    // Without the profile the RoleBinding cannot be judged (no account named): unknown,
    // and the other shapes still fail.
    let check = json(&ledger(
        "ledger-incident.yaml",
        false,
        &["check", "-o", "json"],
    ));
    assert_eq!(
        ids_with_status(&check, "fail"),
        vec!["quota", "orphan-hook", "migration-script"]
    );
}

#[test]
fn check_sarif_has_one_result_per_failing_signal_located_at_its_objects() {
    let output = incident(&["check", "-o", "sarif"]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let log = json(&output);
    assert_eq!(log["version"], "2.1.0");
    let run = &log["runs"][0];
    let failing = ids_with_status(&json(&incident(&["check", "-o", "json"])), "fail");
    let results: Vec<&str> = run["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["ruleId"].as_str().unwrap())
        .collect();
    assert_eq!(results, failing);
    let pvc = run["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["ruleId"] == "pvc")
        .unwrap();
    assert_eq!(
        pvc["locations"][0]["logicalLocations"][0]["fullyQualifiedName"],
        "bleater/PersistentVolumeClaim/bleat-migration-pvc"
    );
    assert_eq!(pvc["level"], "error");
    let rule = &run["tool"]["driver"]["rules"][pvc["ruleIndex"].as_u64().unwrap() as usize];
    assert_eq!(rule["id"], "pvc");

    let healthy = example("bleater-healthy.yaml");
    let output = triage(&[
        "check",
        "--snapshot",
        &healthy,
        "-n",
        "bleater",
        "-o",
        "sarif",
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(json(&output)["runs"][0]["results"], serde_json::json!([]));
}

#[test]
fn check_junit_fails_the_failing_signals_and_passes_the_rest() {
    let output = incident(&["check", "-o", "junit"]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let text = stdout(&output);
    let checked = json(&incident(&["check", "-o", "json"]));
    let failing = ids_with_status(&checked, "fail");
    let total = checked["findings"].as_array().unwrap().len();
    assert!(text.contains(&format!(
        "<testsuite name=\"triage check bleater\" tests=\"{total}\" failures=\"{}\"",
        failing.len()
    )));
    assert_eq!(text.matches("<testcase ").count(), total);
    assert_eq!(text.matches("<failure ").count(), failing.len());
    assert!(text.contains(
        "<testcase classname=\"triage.bleater\" name=\"pvc\">\n      <failure type=\"pvc\""
    ));
}

#[test]
fn only_check_writes_ci_formats() {
    for command in ["plan", "inventory"] {
        let output = incident(&[command, "-o", "sarif"]);
        assert_one_line_error(&output, 2, &format!("{command} has no `sarif` output"));
    }
}
