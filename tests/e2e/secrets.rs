//! The one Secret triage ever reads: `--password-from-secret NAME`, the `password` key
//! of that Secret, with one GET, proven from the API server's audit log (and the
//! suite-wide proof that nothing else of triage's touched `secrets` is
//! `testenv/audit_check.py`, which `scripts/test` runs after this binary exits).

use std::process::Command;

use serde_json::Value;

use crate::harness::{self, stderr, stdout, testenv, wait_for};

/// `db tables --password-from-secret` logs in with the Secret's password (PGPASSWORD
/// unset, none in the URL), prints neither it nor anything else of the Secret, and the
/// audit log shows exactly one request of triage's on `secrets`: a GET of that Secret.
#[test]
fn password_from_secret_reads_exactly_that_secret_with_one_get() {
    let Some(env) = testenv("password_from_secret_reads_exactly_that_secret_with_one_get") else {
        return;
    };
    let ns = env.create_namespace("e2e-pw-secret");
    let pg = harness::start_postgres(env, &ns);
    let created = Command::new("psql")
        .args(["-v", "ON_ERROR_STOP=1", "-q", "-c"])
        .arg("CREATE TABLE read_with_the_secret_password (id int)")
        .envs(pg.iter().filter(|(k, _)| k.starts_with("PG")))
        .output()
        .unwrap();
    assert!(created.status.success(), "{}", stderr(&created));
    let password = &pg["PGPASSWORD"];
    env.kubectl_ok(&[
        "create",
        "secret",
        "generic",
        "bleat-db-credentials",
        "-n",
        &ns,
        &format!("--from-literal=password={password}"),
        "--from-literal=unrelated=never-read",
    ]);
    env.expect_secret_reads(&ns, "bleat-db-credentials", 1);

    let url = format!(
        "postgres://{}@{}:{}/{}",
        pg["PGUSER"], pg["PGHOST"], pg["PGPORT"], pg["PGDATABASE"]
    );
    let output = harness::triage_command(
        &env.kubeconfig,
        &[
            "db",
            "tables",
            "-n",
            &ns,
            "--db-url",
            &url,
            "--password-from-secret",
            "bleat-db-credentials",
            "-o",
            "json",
        ],
    )
    .env_remove("PGPASSWORD")
    .output()
    .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let (out, err) = (stdout(&output), stderr(&output));
    assert!(!out.contains(password.as_str()) && !err.contains(password.as_str()));
    let view: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        view["tables"],
        serde_json::json!(["read_with_the_secret_password"])
    );

    // Blocking audit mode writes each event before its response completes; the wait
    // covers only the write reaching the file, and the second read, after triage has
    // long exited, anything written meanwhile.
    let on_secrets = || -> Vec<(String, String)> {
        env.triage_audit_events()
            .into_iter()
            .filter(|e| {
                e["objectRef"]["resource"] == "secrets"
                    && e["objectRef"]["namespace"] == ns.as_str()
            })
            .map(|e| {
                let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
                (text(&e["verb"]), text(&e["objectRef"]["name"]))
            })
            .collect()
    };
    wait_for(std::time::Duration::from_secs(10), || {
        Some(()).filter(|()| !on_secrets().is_empty())
    })
    .expect("the audit log records triage's GET of the Secret");
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert_eq!(
        on_secrets(),
        vec![("get".to_string(), "bleat-db-credentials".to_string())],
        "triage's requests on secrets in `{ns}`"
    );
}
