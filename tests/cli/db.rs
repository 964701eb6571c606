//! Against a real PostgreSQL 15: the incident's migration script, fixed and unfixed,
//! read back with `db::list_tables` and `triage db tables`, and the connection errors a
//! responder meets. One private server per test binary (`testenv/postgres.sh up
//! --owner-pid <this process>`: its watchdog stops it when we exit, also after a
//! panic), and a fresh database per test.
//!
//! Without PostgreSQL, tests print why they were skipped; with `TRIAGE_E2E=require`
//! (set by `scripts/test`) a missing server fails the test instead.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use triage::db::{self, DatabaseTarget};

use super::{root, stderr, stdout};

struct PgEnv {
    host: String,
    port: String,
    password: String,
    admin_url: String,
}

static PG: OnceLock<Result<PgEnv, String>> = OnceLock::new();
static DATABASES: AtomicUsize = AtomicUsize::new(0);

/// The shared server, or `None` after printing why the test is skipped.
fn postgres(test: &str) -> Option<&'static PgEnv> {
    match PG.get_or_init(|| {
        start(&std::env::temp_dir().join(format!("triage-pg-{}", std::process::id())))
    }) {
        Ok(env) => Some(env),
        Err(why) => {
            if std::env::var("TRIAGE_E2E").as_deref() == Ok("require") {
                panic!("TRIAGE_E2E=require but PostgreSQL is unavailable: {why}");
            }
            // Straight to stderr: the test harness captures `eprintln!`, and a skip
            // must be seen.
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED {test}: no test PostgreSQL ({why}); run `scripts/test`"
            );
            None
        }
    }
}

fn start(dir: &Path) -> Result<PgEnv, String> {
    let vars = up(dir)?;
    let get = |name: &str| {
        vars.get(name)
            .cloned()
            .ok_or_else(|| format!("{name} missing from the env file"))
    };
    Ok(PgEnv {
        host: get("PGHOST")?,
        port: get("PGPORT")?,
        password: get("PGPASSWORD")?,
        admin_url: get("TRIAGE_TEST_DB_ADMIN_URL")?,
    })
}

/// `testenv/postgres.sh up` owned by this process; the env file as a map.
fn up(dir: &Path) -> Result<BTreeMap<String, String>, String> {
    let output = Command::new(root().join("testenv/postgres.sh"))
        .args(["up", "--dir"])
        .arg(dir)
        .args(["--owner-pid", &std::process::id().to_string()])
        .stdin(Stdio::null())
        .output()
        .map_err(|err| format!("cannot run testenv/postgres.sh: {err}"))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let last = stderr
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("no output");
        return Err(format!("`testenv/postgres.sh up` failed: {last}"));
    }
    let text =
        std::fs::read_to_string(dir.join("env")).map_err(|err| format!("no env file: {err}"))?;
    Ok(text
        .lines()
        .filter_map(|line| line.strip_prefix("export "))
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (k.to_string(), v.trim_matches('\'').to_string()))
        .collect())
}

impl PgEnv {
    /// A new, empty database owned by `bleat`, unique to the calling test.
    fn create_database(&self, prefix: &str) -> String {
        let name = format!("{prefix}_{}", DATABASES.fetch_add(1, Ordering::SeqCst));
        let output = Command::new("psql")
            .arg(&self.admin_url)
            .args(["-v", "ON_ERROR_STOP=1", "-q", "-c"])
            .arg(format!("CREATE DATABASE {name} OWNER bleat"))
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", stderr(&output));
        name
    }

    fn url(&self, database: &str) -> String {
        format!(
            "postgres://bleat:{}@{}:{}/{database}",
            self.password, self.host, self.port
        )
    }

    /// `bash script` with the migration Job's environment, pointed at `database`.
    fn run_script(&self, script: &Path, database: &str) -> Output {
        Command::new("bash")
            .arg(script)
            .env("DB_HOST", &self.host)
            .env("DB_USER", "bleat")
            .env("DB_NAME", database)
            .env("PGPORT", &self.port)
            .env("PGPASSWORD", &self.password)
            .env_remove("PGHOST")
            .env_remove("PGDATABASE")
            .env_remove("PGUSER")
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }

    /// What `psql \dt` lists (tables on the search path), names only.
    fn psql_dt(&self, database: &str) -> Vec<String> {
        let output = Command::new("psql")
            .arg(self.url(database))
            .args(["-At", "-c", r"\dt"])
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", stderr(&output));
        let mut names: Vec<String> = stdout(&output)
            .lines()
            .filter_map(|line| line.split('|').nth(1))
            .map(str::to_string)
            .collect();
        names.sort();
        names
    }

    fn list_tables(&self, database: &str) -> Vec<String> {
        let target = DatabaseTarget::from_url(&self.url(database), None).unwrap();
        runtime().block_on(async {
            let db = db::connect(&target, Some(Duration::from_secs(10)))
                .await
                .unwrap();
            db::list_tables(&db).await.unwrap()
        })
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn triage(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_triage"))
        .args(args)
        .env_remove("PGPASSWORD")
        .env_remove("NO_COLOR")
        .stdin(Stdio::null())
        .output()
        .expect("triage runs")
}

/// The keys of ConfigMap `bleat-migrations` in the incident fixture.
fn migrations() -> BTreeMap<String, String> {
    #[derive(serde::Deserialize)]
    struct List {
        items: Vec<serde_json::Value>,
    }
    let text = std::fs::read_to_string(root().join("examples/bleater-incident.yaml")).unwrap();
    let list: List = serde_saphyr::from_str(&text).unwrap();
    let config_map = list
        .items
        .iter()
        .find(|item| item["kind"] == "ConfigMap" && item["metadata"]["name"] == "bleat-migrations")
        .expect("bleat-migrations in the fixture");
    serde_json::from_value(config_map["data"].clone()).unwrap()
}

/// The ConfigMap's keys as files in a fresh temp dir, `/migrations/` rewritten to it
/// (what the Job's volume mount does), with `overrides` replacing or adding keys.
fn mount(name: &str, overrides: &[(&str, &str)]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("triage-db-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let mut keys = migrations();
    for (key, value) in overrides {
        keys.insert(key.to_string(), value.to_string());
    }
    let prefix = format!("{}/", dir.display());
    for (key, value) in keys {
        std::fs::write(dir.join(key), value.replace("/migrations/", &prefix)).unwrap();
    }
    dir
}

/// The corrected script: stop at the first failure, psql included, and say so.
const FIXED_SCRIPT: &str = r#"#!/bin/bash
# Applies the bleat schema migrations in order; any failure fails the Job.
set -euo pipefail
echo "migrating ${DB_NAME} on ${DB_HOST} as ${DB_USER}"
for v in v1 v2 v3; do
  psql -h "$DB_HOST" -U "$DB_USER" -d "$DB_NAME" -v ON_ERROR_STOP=1 -f "/migrations/${v}.sql"
done
echo "migration complete"
"#;

const V1_V2_TABLES: [&str; 4] = ["bleats", "follows", "timelines", "users"];
const V3_TABLES: [&str; 6] = [
    "bleat_media",
    "bleats",
    "follows",
    "reactions",
    "timelines",
    "users",
];

/// v3.sql with one broken statement inside its transaction (a column that does not
/// exist), so PostgreSQL rolls the whole of v3 back.
fn broken_v3() -> String {
    let v3 = migrations().remove("v3.sql").unwrap();
    let anchor = "CREATE TABLE bleat_media";
    assert!(v3.contains(anchor));
    v3.replacen(
        anchor,
        &format!("CREATE INDEX reactions_kind_idx ON reactions (reaction_kind);\n\n{anchor}"),
        1,
    )
}

#[test]
fn fixed_script_creates_the_v3_tables_and_list_tables_matches_psql() {
    let Some(pg) = postgres("fixed_script_creates_the_v3_tables_and_list_tables_matches_psql")
    else {
        return;
    };
    let database = pg.create_database("fixed");
    let dir = mount("fixed", &[("migrate.sh", FIXED_SCRIPT)]);
    let run = pg.run_script(&dir.join("migrate.sh"), &database);
    assert!(run.status.success(), "{}{}", stdout(&run), stderr(&run));
    assert!(stdout(&run).contains("migration complete"));

    let tables = pg.list_tables(&database);
    assert_eq!(tables, V3_TABLES);
    assert_eq!(tables, pg.psql_dt(&database));

    // the same through the binary, as the documented json shape
    let output = triage(&[
        "db",
        "tables",
        "-n",
        "bleater",
        "--db-url",
        &pg.url(&database),
        "-o",
        "json",
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json["apiVersion"], "triage/v1alpha1");
    assert_eq!(json["kind"], "DbTables");
    assert_eq!(json["namespace"], "bleater");
    assert_eq!(json["database"], database.as_str());
    assert_eq!(json["tables"], serde_json::json!(V3_TABLES));
    assert!(!stdout(&output).contains(&pg.password), "password printed");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn unfixed_script_exits_0_without_the_v3_tables() {
    let Some(pg) = postgres("unfixed_script_exits_0_without_the_v3_tables") else {
        return;
    };
    let broken = broken_v3();

    let database = pg.create_database("unfixed");
    let dir = mount("unfixed", &[("v3.sql", &broken)]);
    let script = std::fs::read_to_string(dir.join("migrate.sh")).unwrap();
    assert!(
        script.contains("|| exit 0") && !script.contains("set -e"),
        "the fixture's script"
    );
    let run = pg.run_script(&dir.join("migrate.sh"), &database);
    assert_eq!(
        run.status.code(),
        Some(0),
        "{}{}",
        stdout(&run),
        stderr(&run)
    );
    assert!(stderr(&run).contains("reaction_kind"), "{}", stderr(&run));
    // the schema is what v1 and v2 made: v3 rolled back, nobody told
    assert_eq!(pg.list_tables(&database), V1_V2_TABLES);
    assert_eq!(pg.psql_dt(&database), V1_V2_TABLES);

    // the fixed script on the same broken SQL fails the Job instead
    let database = pg.create_database("fixed_broken");
    let dir_fixed = mount(
        "fixed-broken",
        &[("migrate.sh", FIXED_SCRIPT), ("v3.sql", &broken)],
    );
    let run = pg.run_script(&dir_fixed.join("migrate.sh"), &database);
    assert_ne!(run.status.code(), Some(0), "{}", stdout(&run));
    assert!(!stdout(&run).contains("migration complete"));
    assert_eq!(pg.list_tables(&database), V1_V2_TABLES);
    let _ = std::fs::remove_dir_all(dir);
    let _ = std::fs::remove_dir_all(dir_fixed);
}

/// The one stderr line of a failed run, checked for what every error line must be.
#[track_caller]
fn one_error_line(output: &Output, secret: &str) -> String {
    let text = stderr(output);
    assert_eq!(text.lines().count(), 1, "one line: {text}");
    assert!(text.starts_with("error: "), "{text}");
    assert!(!text.contains(secret), "password printed: {text}");
    assert!(stdout(output).is_empty(), "{}", stdout(output));
    text
}

#[test]
fn wrong_password_is_an_auth_error_exit_3() {
    let Some(pg) = postgres("wrong_password_is_an_auth_error_exit_3") else {
        return;
    };
    let url = format!(
        "postgres://bleat:not-the-password@{}:{}/bleat",
        pg.host, pg.port
    );
    let output = triage(&["db", "tables", "--db-url", &url]);
    assert_eq!(output.status.code(), Some(3));
    let line = one_error_line(&output, "not-the-password");
    assert!(line.contains("rejected user `bleat`"), "{line}");
    assert!(line.contains("password authentication failed"), "{line}");
    assert!(line.contains("PGPASSWORD"), "hint: {line}");

    // the same with the password from PGPASSWORD and none in the URL
    let url = format!("postgres://bleat@{}:{}/bleat", pg.host, pg.port);
    let output = Command::new(env!("CARGO_BIN_EXE_triage"))
        .args(["db", "tables", "--db-url", &url])
        .env("PGPASSWORD", "also-wrong")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(3));
    one_error_line(&output, "also-wrong");

    // and PGPASSWORD right: it is used
    let output = Command::new(env!("CARGO_BIN_EXE_triage"))
        .args(["db", "tables", "--db-url", &url])
        .env("PGPASSWORD", &pg.password)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
}

#[test]
fn stopped_server_is_connection_refused_exit_3() {
    let Some(_) = postgres("stopped_server_is_connection_refused_exit_3") else {
        return;
    };
    // a server of its own, stopped: its port is where the shared one's is not
    let dir = std::env::temp_dir().join(format!("triage-pg-stopped-{}", std::process::id()));
    let vars = up(&dir).unwrap();
    let url = vars["TRIAGE_TEST_DB_URL"].clone();
    let password = vars["PGPASSWORD"].clone();
    let output = triage(&["db", "tables", "--db-url", &url]);
    assert!(output.status.success(), "up: {}", stderr(&output));
    let down = Command::new(root().join("testenv/postgres.sh"))
        .args(["down", "--purge", "--dir"])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(down.status.success(), "{}", stderr(&down));

    let output = triage(&["db", "tables", "--db-url", &url]);
    assert_eq!(output.status.code(), Some(3));
    let line = one_error_line(&output, &password);
    assert!(line.contains("refused the connection"), "{line}");
    assert!(line.contains("bleat:***@127.0.0.1:"), "{line}");
}

#[test]
fn unknown_database_is_exit_2() {
    let Some(pg) = postgres("unknown_database_is_exit_2") else {
        return;
    };
    let output = triage(&["db", "tables", "--db-url", &pg.url("no_such_db")]);
    assert_eq!(output.status.code(), Some(2));
    let line = one_error_line(&output, &pg.password);
    assert!(
        line.contains("database `no_such_db` does not exist"),
        "{line}"
    );
}

#[test]
fn an_empty_database_lists_no_tables() {
    let Some(pg) = postgres("an_empty_database_lists_no_tables") else {
        return;
    };
    let database = pg.create_database("empty");
    assert!(pg.list_tables(&database).is_empty());
    let output = triage(&["db", "tables", "--db-url", &pg.url(&database)]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(stdout(&output).starts_with(&format!("No tables in database `{database}`")));
}

#[test]
fn other_schemas_are_qualified_and_catalogs_left_out() {
    let Some(pg) = postgres("other_schemas_are_qualified_and_catalogs_left_out") else {
        return;
    };
    let database = pg.create_database("schemas");
    let output = Command::new("psql")
        .arg(pg.url(&database))
        .args(["-v", "ON_ERROR_STOP=1", "-q", "-c"])
        .arg("CREATE SCHEMA audit; CREATE TABLE audit.log (id int); CREATE TABLE users (id int);")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(pg.list_tables(&database), ["audit.log", "users"]);
}
