//! `fault_sweep` (issue 13, item 1): the incident's whole plan (quota, rbac, pvc,
//! egress, lock, orphan-hook, migration-script, migrate, schema) is run once through the
//! fault proxy to record every request triage sends, each attributed to its step (the
//! load, then each step up to the namespace read that verifies it). Then recorded
//! requests (the K-th with their method and path) are failed, one fault kind at a time,
//! in fresh copies of the incident. Every copy has its own database (one PostgreSQL
//! server, a `CREATE DATABASE` per namespace holding the v1 and v2 schema) passed with
//! `--db-url`, and its own world simulator (`world.py --jobs-only`) running the
//! migration Job's pod against it, so `migrate` (the Job's dry run, create and polls)
//! and `schema` (the status ConfigMap's read and patch) are swept too. NB: only the
//! Kubernetes API is behind the fault proxy; triage talks to the database directly.
//! After every injected run:
//!
//! - triage exits with a documented code (0-9): one `error: ...` line on stderr when it
//!   failed, or (exit 6) its `verify ...: FAILED`/`NOT VERIFIED` line;
//! - every object the plan touches is as it was before the run, fully repaired, or
//!   missing/changed with a backup of what it was in the run's directory (never
//!   deleted without one);
//! - the next `triage repair --yes` without faults picks up where it stopped: it exits
//!   as the recorded run did (0), with every touched object as that run left it;
//! - `triage restore RUN_DIR --yes --overwrite` gives back the original of every object
//!   a run backed up (server fields aside).
//!
//! Every recorded request (the load's too) is failed with every fault kind. Requests
//! are replayed as chains, one namespace each: a chain holds one fault kind and some
//! rules (see `chains_of`: one per step for a fault that stops the run, one per request
//! path and step for a fault triage retries), run after run, each with the rules not
//! yet fired (a fresh proxy, so occurrences count from 1), until all fired, or a run
//! finished the plan firing none, or three runs in a row fired none; then the clean
//! run, then every run's restore, newest first. The rules a chain left are tried once
//! more in a chain of their own (a fresh copy). A request whose path another step also
//! sends (its occurrence shifts when earlier steps are skipped) is counted after an
//! anchor, the last earlier request of its step that only that step sends (an access
//! review is told apart by what it asks, see fault_proxy.py); a request without such
//! an anchor fails the sweep, naming it. Every rule must fire but a repeat of an
//! earlier request of its step (the migration Job's polls: how many depends on timing).
//! `TRIAGE_SWEEP_JOBS` (default 6) units run at once; `TRIAGE_SWEEP_MAX=N` stops after
//! N units (a quick look: the coverage checks are then skipped).

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde_json::Value;

use crate::harness::{self, Background, Incident, TestEnv, stderr, stdout, testenv};

/// The fault kinds (fault_proxy.py `--at`): a server error, a conflict, throttling with
/// `Retry-After`, unavailable, a connection reset after the server got the request,
/// and a response held past `--request-timeout`.
const FAULTS: [&str; 6] = ["500", "409", "429/1", "503", "reset-after", "hold"];

/// The injected run's request deadline, and how long a held response is held.
const REQUEST_TIMEOUT: &str = "4s";
const HOLD_SECONDS: &str = "6";

/// The collections the plan writes to, listed after every run (in process: a kubectl
/// each time was a large share of the sweep's CPU).
const TOUCHED_COLLECTIONS: [&str; 6] = [
    "/api/v1/namespaces/NS/resourcequotas",
    "/apis/rbac.authorization.k8s.io/v1/namespaces/NS/rolebindings",
    "/api/v1/namespaces/NS/persistentvolumeclaims",
    "/apis/networking.k8s.io/v1/namespaces/NS/networkpolicies",
    "/api/v1/namespaces/NS/configmaps",
    "/apis/batch/v1/namespaces/NS/jobs",
];

/// The sweep's PostgreSQL: one server (testenv/postgres.sh), a database per copy of the
/// incident, so no copy sees another's migration.
struct Postgres {
    vars: BTreeMap<String, String>,
}

impl Postgres {
    fn start(env: &TestEnv) -> Self {
        Self {
            vars: harness::start_postgres(env, "sweep"),
        }
    }

    /// `CREATE DATABASE` for namespace `ns`, owned by the application's role, holding
    /// the incident's v1 and v2 schema (from its `bleat-migrations` ConfigMap, as the
    /// responders left it: v3 never applied). Returns the database's name.
    fn database_for(&self, env: &TestEnv, ns: &str) -> String {
        let name = ns.replace('-', "_");
        let psql = |database: &str, sql: &str| {
            let output = std::process::Command::new("psql")
                .args(["-v", "ON_ERROR_STOP=1", "-q", "-d", database, "-c", sql])
                .envs(self.vars.iter().filter(|(k, _)| k.starts_with("PG")))
                .output()
                .expect("psql runs");
            assert!(
                output.status.success(),
                "psql on `{database}`: {sql:.80}: {}",
                stderr(&output)
            );
        };
        psql(
            &self.vars["TRIAGE_TEST_DB_ADMIN_URL"],
            &format!("CREATE DATABASE {name} OWNER {}", self.vars["PGUSER"]),
        );
        let migrations = env.get_json(&format!(
            "/api/v1/namespaces/{ns}/configmaps/bleat-migrations"
        ));
        for version in ["v1", "v2"] {
            let sql = migrations["data"][format!("{version}.sql")]
                .as_str()
                .unwrap_or_else(|| panic!("bleat-migrations has no {version}.sql"));
            psql(&name, sql);
        }
        name
    }

    fn url(&self, database: &str) -> String {
        let v = &self.vars;
        format!(
            "postgres://{}:{}@{}:{}/{database}",
            v["PGUSER"], v["PGPASSWORD"], v["PGHOST"], v["PGPORT"]
        )
    }
}

/// A copy of the incident in a fresh namespace pair, with its own database and a world
/// simulator that plays the kubelet for the migration Job's pod only (running its
/// script against that database), so `migrate` and `schema` run as in production.
struct Copy {
    incident: Incident,
    db_url: String,
    _world: Background,
}

impl Copy {
    fn load(env: &TestEnv, postgres: &Postgres) -> Self {
        let incident = Incident::load(env, "e2e-sweep");
        let database = postgres.database_for(env, &incident.ns);
        let v = &postgres.vars;
        let world = env.spawn_support(
            "world.py",
            &[
                "--namespace",
                &incident.ns,
                "--jobs-only",
                "--interval",
                "1",
                "--db-host",
                &v["PGHOST"],
                "--db-port",
                &v["PGPORT"],
                "--db-user",
                &v["PGUSER"],
                "--db-password",
                &v["PGPASSWORD"],
                "--db-name",
                &database,
            ],
        );
        Self {
            db_url: postgres.url(&database),
            incident,
            _world: world,
        }
    }

    /// `repair --yes` with the sweep's request deadline, through `kubeconfig` (a proxy).
    fn repair_via(&self, kubeconfig: &Path) -> std::process::Output {
        let mut args = repair_args();
        args.extend(["--db-url", &self.db_url]);
        self.incident.triage_via(kubeconfig, &args)
    }

    /// Deletes the migration Jobs the runs created, and their pods, as whoever puts the
    /// originals back does first: the claim a Job's pod mounts is in use as long as
    /// that pod exists, finished or not (the pvc-protection controller counts every
    /// scheduled pod naming the claim), so restoring the original claim (delete, then
    /// create) would wait on it. A finished pod goes at once (no kubelet to wait for).
    fn remove_migration_jobs(&self, env: &TestEnv) {
        env.kubectl_ok(&[
            "delete",
            "jobs",
            "-n",
            &self.incident.ns,
            "-l",
            "triage.dev/step=migrate",
            "--cascade=foreground",
            "--timeout=150s",
        ]);
    }

    /// The next run: `repair --yes` straight to the API server, default deadlines.
    fn next_repair(&self, env: &TestEnv) -> std::process::Output {
        self.incident.triage(
            env,
            &["repair", "--yes", "--wait", "0", "--db-url", &self.db_url],
        )
    }
}

/// One recorded request.
#[derive(Debug, Clone)]
struct Request {
    method: String,
    path: String,
    /// 1-based: the K-th request with this method and path.
    occurrence: usize,
    /// The step it belongs to (`load` before the first).
    step: String,
    /// For a request whose path other steps send too, the last earlier request of its
    /// step that no other step sends, and this request's K counted after it (see
    /// `anchor_shared_requests`).
    anchor: Option<Anchor>,
}

/// A request only its own step sends (so its occurrence, counted from the start of a
/// run, is the same in every run that goes through that step), and how many requests
/// with the anchored request's method and path follow it up to that one.
#[derive(Debug, Clone)]
struct Anchor {
    method: String,
    path: String,
    occurrence: usize,
    nth_after: usize,
}

impl Request {
    /// The fault proxy's `--at` rule failing this request with `fault` in a copy of the
    /// incident in namespace `to`: its K-th occurrence counted from the run's start, or,
    /// `anchored` and with an anchor, counted after its anchor (a chain's later runs
    /// skip the steps earlier runs finished, which shifts every shared path's K).
    fn rule(&self, fault: &str, from: &str, to: &str, anchored: bool) -> String {
        let path = remap(&self.path, from, to);
        match self.anchor.as_ref().filter(|_| anchored) {
            Some(anchor) => format!(
                "{}|{path}|{}|{fault}|{}|{}|{}",
                self.method,
                anchor.nth_after,
                anchor.method,
                remap(&anchor.path, from, to),
                anchor.occurrence
            ),
            None => format!("{}|{path}|{}|{fault}", self.method, self.occurrence),
        }
    }

    /// The path without its query (the proxy logs `...reviews?` for a POST without one).
    fn bare_path(&self) -> &str {
        self.path.split('?').next().unwrap_or_default()
    }

    fn is_write(&self) -> bool {
        self.method != "GET"
            && !self.path.contains("dryRun=")
            && !self.bare_path().ends_with("reviews")
    }

    fn is_dry_run(&self) -> bool {
        self.path.contains("dryRun=")
    }

    /// A request of the namespace read (`observe`) in namespace `ns`: the paged LISTs
    /// and the reads that run concurrently beside them (the namespace object, the
    /// profile's objects in other namespaces: its status ConfigMap, the DNS Service;
    /// its access reviews). A run of these after a step is that step's verification.
    /// NB: the LISTs are concurrent, so those reads can land between two LISTs; leaving
    /// them out would split one read into two rounds and shift every later step.
    fn is_observe(&self, ns: &str) -> bool {
        let bare = self.bare_path();
        let get = self.method == "GET";
        (get && self.path.contains("limit="))
            || bare.ends_with("localsubjectaccessreviews")
            || (get && bare == format!("/api/v1/namespaces/{ns}"))
            || (get
                && bare.contains("/namespaces/")
                && !bare.contains(&format!("/namespaces/{ns}/")))
    }
}

/// `kind/name` -> the object's content without server fields, the namespace names
/// written as `NS`, dates as `DATE` (the lock's audit value carries the day).
type Contents = BTreeMap<String, Value>;

fn normalized(mut object: Value, ns: &str) -> Value {
    if let Some(meta) = object.get_mut("metadata").and_then(Value::as_object_mut) {
        for field in [
            "uid",
            "resourceVersion",
            "creationTimestamp",
            "generation",
            "managedFields",
            "selfLink",
        ] {
            meta.remove(field);
        }
    }
    if let Some(map) = object.as_object_mut() {
        map.remove("status");
    }
    // As `restorable` makes a backup fit to create: the server regenerates these.
    if object["kind"] == "Job" {
        if let Some(spec) = object.get_mut("spec").and_then(Value::as_object_mut) {
            spec.remove("selector");
        }
        for pointer in ["/metadata/labels", "/spec/template/metadata/labels"] {
            if let Some(labels) = object.pointer_mut(pointer).and_then(Value::as_object_mut) {
                labels.remove("controller-uid");
                labels.remove("batch.kubernetes.io/controller-uid");
            }
        }
    }
    if object["kind"] == "PersistentVolumeClaim" {
        if let Some(spec) = object.get_mut("spec").and_then(Value::as_object_mut) {
            spec.remove("volumeName");
        }
        if let Some(annotations) = object
            .pointer_mut("/metadata/annotations")
            .and_then(Value::as_object_mut)
        {
            annotations.retain(|k, _| !k.starts_with("pv.kubernetes.io/"));
            annotations.remove("volume.kubernetes.io/selected-node");
        }
    }
    let text = serde_json::to_string(&object).unwrap().replace(ns, "NS");
    serde_json::from_str(&undated(&unstamped(&text, "STAMP"))).unwrap()
}

/// The time stamp triage puts in the migration Job's name (`-20261130120000`, see
/// src/repair/migrate.rs) -> `-{replacement}` anywhere in `text`: each run creates its
/// Job under the second it planned in.
fn unstamped(text: &str, replacement: &str) -> String {
    const DIGITS: usize = 14;
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < bytes.len() {
        let end = i + 1 + DIGITS;
        let is_stamp = bytes[i] == b'-'
            && end <= bytes.len()
            && bytes[i + 1..end].iter().all(u8::is_ascii_digit)
            && bytes.get(end).is_none_or(|b| !b.is_ascii_digit());
        if is_stamp {
            out.push('-');
            out.push_str(replacement);
            i = end;
        } else {
            let c = text[i..].chars().next().unwrap();
            out.push(c);
            i += c.len_utf8();
        }
    }
    out
}

/// `2026-11-30` -> `DATE` anywhere in `text`.
fn undated(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < bytes.len() {
        let is_date = i + 10 <= bytes.len()
            && bytes[i..i + 10].iter().enumerate().all(|(j, b)| match j {
                4 | 7 => *b == b'-',
                _ => b.is_ascii_digit(),
            });
        if is_date {
            out.push_str("DATE");
            i += 10;
        } else {
            let c = text[i..].chars().next().unwrap();
            out.push(c);
            i += c.len_utf8();
        }
    }
    out
}

/// `Kind/name`, the namespace's name in it written as `NS` (the allow policy triage
/// creates is named after the namespace).
fn key(object: &Value, ns: &str) -> String {
    let key = format!(
        "{}/{}",
        object["kind"].as_str().unwrap_or_default(),
        object["metadata"]["name"].as_str().unwrap_or_default()
    )
    .replace(ns, "NS");
    unstamped(&key, "STAMP")
}

/// The touched objects as they are now in `ns` (absent ones left out).
fn contents(env: &TestEnv, ns: &str, touched: &[String]) -> Contents {
    let lists: Vec<Value> = TOUCHED_COLLECTIONS
        .iter()
        .map(|path| env.get_json(&path.replace("NS", ns)))
        .collect();
    lists
        .iter()
        .flat_map(|list| list["items"].as_array().unwrap())
        .filter(|o| touched.contains(&key(o, ns)))
        // An object being deleted (finalizers) is as good as gone.
        .filter(|o| o["metadata"].get("deletionTimestamp").is_none())
        .map(|o| (key(o, ns), normalized(o.clone(), ns)))
        .collect()
}

/// The backups of a run directory, first backup per object, normalized.
fn backups(run: &Path, ns: &str) -> Contents {
    let mut first = Contents::new();
    let mut files: Vec<PathBuf> = std::fs::read_dir(run)
        .map(|entries| entries.map(|e| e.unwrap().path()).collect())
        .unwrap_or_default();
    files.sort();
    for file in files {
        if file.extension().is_none_or(|e| e != "yaml") {
            continue;
        }
        let object: Value =
            serde_saphyr::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        first
            .entry(key(&object, ns))
            .or_insert_with(|| normalized(object, ns));
    }
    first
}

fn newest_run(state: &Path) -> Option<PathBuf> {
    let mut runs: Vec<PathBuf> = std::fs::read_dir(state)
        .ok()?
        .map(|e| e.unwrap().path())
        .collect();
    runs.sort();
    runs.pop()
}

fn repair_args() -> Vec<&'static str> {
    vec![
        "repair",
        "--yes",
        "--wait",
        "0",
        "--request-timeout",
        REQUEST_TIMEOUT,
    ]
}

/// The recorded run: its requests by step, the objects it touched and their repaired
/// contents.
struct Recording {
    requests: Vec<Request>,
    steps: Vec<String>,
    touched: Vec<String>,
    repaired: Contents,
    /// Each signal's state after the recorded run (`Check before -> after`).
    verdicts: BTreeMap<String, String>,
    ns: String,
}

/// The `after` state of each signal in a repair's `Check before -> after` table.
fn verdicts(repair_stdout: &str) -> BTreeMap<String, String> {
    repair_stdout
        .lines()
        .skip_while(|l| !l.starts_with("Check before -> after"))
        .skip(1)
        .filter_map(|l| {
            let mut words = l.split_whitespace();
            let signal = words.next()?;
            let after = words.nth(2)?;
            Some((signal.to_string(), after.to_string()))
        })
        .collect()
}

fn record(env: &TestEnv, postgres: &Postgres) -> Recording {
    let copy = Copy::load(env, postgres);
    let incident = &copy.incident;
    let proxy = harness::FaultProxy::start_with(env, &format!("{}-record", incident.ns), &[]);
    let output = copy.repair_via(&proxy.kubeconfig);
    let text = stdout(&output);
    // The whole plan, the database steps included, applied and verified.
    assert_eq!(output.status.code(), Some(0), "{text}{}", stderr(&output));
    assert!(
        text.lines()
            .any(|l| l.starts_with("job/bleat-schema-migrate-") && l.ends_with(" succeeded")),
        "the migration Job did not run: {text}"
    );
    harness::assert_verified(&text, &["schema"]);
    let steps: Vec<String> = text
        .lines()
        .find_map(|l| l.strip_prefix("Repair order: "))
        .expect("a repair order")
        .split(" -> ")
        .map(str::to_string)
        .collect();
    let log = std::fs::read_to_string(&proxy.log).unwrap();
    drop(proxy);

    // Requests in order, each attributed to a step: the load until the first step's
    // requests, then each step until the end of the observe round that verifies it.
    let mut seen: BTreeMap<(String, String), usize> = BTreeMap::new();
    let mut requests = Vec::new();
    let mut step_index: Option<usize> = None;
    let mut in_observe = false;
    for line in log.lines() {
        let mut parts = line.splitn(3, ' ');
        let (method, path, agent) = (
            parts.next().unwrap().to_string(),
            parts.next().unwrap().to_string(),
            parts.next().unwrap_or_default(),
        );
        if !agent.starts_with("triage/") {
            continue;
        }
        let count = seen.entry((method.clone(), path.clone())).or_default();
        *count += 1;
        let mut request = Request {
            method,
            path,
            occurrence: *count,
            step: String::new(),
            anchor: None,
        };
        let observe = request.is_observe(&incident.ns);
        if !observe && in_observe {
            // The end of an observe round (the load first): the next step's requests
            // begin (the reads between the load and the first step go with the first).
            step_index = Some(step_index.map_or(0, |i| i + 1));
        }
        in_observe = observe;
        request.step = match step_index {
            None => "load".to_string(),
            Some(i) => steps.get(i).cloned().unwrap_or_else(|| "after".to_string()),
        };
        requests.push(request);
    }
    anchor_shared_requests(&mut requests);
    // One namespace read to plan, one to verify each step, and none more: the
    // before/after table is judged on the last step's verification read.
    let pod_lists = requests
        .iter()
        .filter(|r| r.method == "GET" && r.bare_path().ends_with(&format!("/{}/pods", incident.ns)))
        .count();
    assert_eq!(
        pod_lists,
        steps.len() + 1,
        "namespace reads in a run of {} steps",
        steps.len()
    );

    let run = newest_run(&incident.state).unwrap();
    let audit = std::fs::read_to_string(run.join("audit.jsonl")).unwrap();
    let mut touched: Vec<String> = audit
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .map(|e| {
            format!(
                "{}/{}",
                e["kind"].as_str().unwrap(),
                e["name"].as_str().unwrap()
            )
            .replace(&incident.ns, "NS")
        })
        .map(|key| unstamped(&key, "STAMP"))
        .collect();
    touched.sort();
    touched.dedup();
    let repaired = contents(env, &incident.ns, &touched);
    Recording {
        requests,
        steps,
        touched,
        repaired,
        verdicts: verdicts(&text),
        ns: incident.ns.clone(),
    }
}

/// Whether an earlier request of the same step has this one's method and path (a poll).
fn is_repeat(requests: &[Request], request: &Request) -> bool {
    requests.iter().any(|r| {
        r.step == request.step
            && (&r.method, &r.path) == (&request.method, &request.path)
            && r.occurrence < request.occurrence
    })
}

/// Whether no other step (nor the load) sends a request with this one's method and path.
fn own(requests: &[Request], request: &Request) -> bool {
    requests
        .iter()
        .all(|r| r.step == request.step || (&r.method, &r.path) != (&request.method, &request.path))
}

/// Anchors every request of a step whose path other steps send too on the last
/// earlier request of the same step that only that step sends and that is not a repeat
/// (a poll), if there is one. The step's
/// requests are sent one after another up to its namespace read, whose concurrent
/// LISTs each come once, so the count after the anchor is the same in every run.
fn anchor_shared_requests(requests: &mut [Request]) {
    for i in 0..requests.len() {
        let request = &requests[i];
        if request.step == "load" || own(requests, request) {
            continue;
        }
        // Not a repeat of an earlier request of the step: how often a step polls (the
        // migration Job until it finishes) depends on timing, so a 2nd poll may never
        // come in a run that a 1st one does.
        let Some(a) = (0..i)
            .rev()
            .take_while(|&j| requests[j].step == request.step)
            .find(|&j| own(requests, &requests[j]) && !is_repeat(requests, &requests[j]))
        else {
            continue;
        };
        let nth_after = requests[a + 1..=i]
            .iter()
            .filter(|r| (&r.method, &r.path) == (&request.method, &request.path))
            .count();
        let anchor = Anchor {
            method: requests[a].method.clone(),
            path: requests[a].path.clone(),
            occurrence: requests[a].occurrence,
            nth_after,
        };
        requests[i].anchor = Some(anchor);
    }
}

/// One unit of the sweep, in its own copy of the incident: one fault kind, its rules
/// run after run in one namespace until every one fired, or a run finished the plan
/// firing none, or three runs in a row fired none. The rules left are tried once more
/// in a fresh copy (`second_try`).
struct Chain {
    fault: &'static str,
    rules: Vec<Request>,
    second_try: bool,
}

/// A request the way the tally names it: step, method, path, occurrence, fault kind.
type Injection = (String, String, String, usize, String);

fn injection(request: &Request, fault: &str) -> Injection {
    (
        request.step.clone(),
        request.method.clone(),
        request.path.clone(),
        request.occurrence,
        fault.to_string(),
    )
}

/// The fault kinds triage retries on a read, a dry run or a guarded write
/// (src/cluster/retry.rs: 429, 503, a connection lost mid-request): such a run goes on
/// after the fault, so one run fires many of a chain's rules.
const RETRIED: [&str; 3] = ["429/1", "503", "reset-after"];

/// Every recorded request (the load's too) with every fault kind, in chains: the R-th
/// chain of a fault kind holds the R-th rule of every step. A fault that stops the run
/// (500, 409, hold: a failed step ends it) fires one rule per run, and the next run
/// skips the steps done, so a chain holds one rule per step. A fault triage retries
/// lets the run go on: its chain holds every rule of a step but one per request path
/// (a retried request is sent again, and the copy would count as the next occurrence
/// of its path). A rule a chain could not reach is tried once more in a fresh copy.
fn chains_of(recording: &Recording) -> Vec<Chain> {
    let mut chains: Vec<Vec<Vec<Request>>> = vec![Vec::new(); FAULTS.len()];
    let mut groups = vec!["load".to_string()];
    groups.extend(recording.steps.iter().cloned());
    // A chain replays its rules in runs that skip the steps already done (a fresh
    // proxy each run, counting from its start), so it fails the load's requests (every
    // run begins with them), those only their step sends, and those anchored on one
    // (`anchor_shared_requests`).
    for request in &recording.requests {
        let chainable =
            request.step == "load" || request.anchor.is_some() || own(&recording.requests, request);
        assert!(
            chainable,
            "{} {} #{} of step `{}`: other steps send it too and no earlier request of its step is its own to count from; give `anchor_shared_requests` an anchor for it",
            request.method, request.path, request.occurrence, request.step
        );
    }
    for group in &groups {
        let requests: Vec<&Request> = recording
            .requests
            .iter()
            .filter(|r| &r.step == group)
            .collect();
        for (f, fault) in FAULTS.iter().enumerate() {
            let retried = RETRIED.contains(fault);
            let mut rank_of_path: BTreeMap<(&str, &str), usize> = BTreeMap::new();
            let mut position = 0;
            for request in &requests {
                let chain = if retried {
                    let rank = rank_of_path
                        .entry((request.method.as_str(), request.path.as_str()))
                        .or_default();
                    *rank += 1;
                    *rank - 1
                } else {
                    position += 1;
                    position - 1
                };
                if chains[f].len() <= chain {
                    chains[f].push(Vec::new());
                }
                chains[f][chain].push((*request).clone());
            }
        }
    }
    // The longest units first (the most rules), so the last ones to finish are short.
    let mut work: Vec<Chain> = Vec::new();
    for (fault, rounds) in FAULTS.iter().zip(chains) {
        work.extend(rounds.into_iter().map(|rules| Chain {
            fault,
            rules,
            second_try: false,
        }));
    }
    work.sort_by_key(|w| std::cmp::Reverse(w.rules.len()));
    work
}

/// The namespace names in a recorded path, remapped to another copy of the incident.
fn remap(path: &str, from: &str, to: &str) -> String {
    let (base, query) = path
        .split_once('?')
        .map_or((path, None), |(b, q)| (b, Some(q)));
    let segments: Vec<String> = base
        .split('/')
        .map(|s| {
            if s == from {
                to.to_string()
            } else if s == format!("{from}-system") {
                format!("{to}-system")
            } else {
                // Another run's migration Job has another stamp.
                unstamped(s, "*")
            }
        })
        .collect();
    let base = segments.join("/");
    match query {
        // An access review's question (`#verb:group/resource/subresource/name`, see
        // fault_proxy.py) can name an object named after the namespace.
        Some(q) => format!("{base}?{}", unstamped(&q.replace(from, to), "*")),
        None => base,
    }
}

#[derive(Default)]
struct Tally {
    /// Every injection that fired (each fires once: a second try holds only its first
    /// chain's unfired rules).
    fired_rules: std::collections::BTreeSet<Injection>,
    lost: Vec<String>,
    unrestorable: Vec<String>,
    failures: Vec<String>,
    /// Objects the next run left unlike the recorded run, with every signal as the
    /// recorded run left it (a step cut off after a write that already settled its
    /// signal: the orphan hook Job whose finalizer is gone is harmless and stays).
    settled_otherwise: Vec<String>,
    /// The chain runs that fired none of their rules, with their exit and last line.
    barren: Vec<String>,
}

/// Checks one injected run: a documented exit code and one error line; every touched
/// object as it was before the run (`before`), repaired, or backed up in the run's
/// directory as it was before the run. Returns the run directory.
#[allow(clippy::too_many_arguments)]
fn check_injected_run(
    what: &str,
    ns: &str,
    output: &std::process::Output,
    state: &Path,
    runs_before: usize,
    recording: &Recording,
    before: &Contents,
    now: &Contents,
    tally: &Mutex<Tally>,
) -> Option<PathBuf> {
    let code = output.status.code();
    let err = stderr(output);
    match code {
        Some(0 | 1) => {}
        // A step applied and not confirmed by the read after it (an injected failure
        // of a LIST: `NOT VERIFIED`, naming the kind): said on stdout, not an error.
        Some(6) => {
            let text = stdout(output);
            if !text.lines().any(|l| {
                l.starts_with("verify `")
                    && (l.contains(": FAILED after applying") || l.contains(": NOT VERIFIED: "))
            }) {
                tally
                    .lock()
                    .unwrap()
                    .failures
                    .push(format!("{what}: exit 6 without its verify line: {text}"));
            }
        }
        Some(2..=9) => {
            let lines: Vec<&str> = err.trim().lines().collect();
            if lines.len() != 1 || !lines[0].starts_with("error: ") {
                tally.lock().unwrap().failures.push(format!(
                    "{what}: exit {code:?} without one clear error line: {err}"
                ));
            }
        }
        _ => tally
            .lock()
            .unwrap()
            .failures
            .push(format!("{what}: undocumented exit {code:?}: {err}")),
    }
    let run = newest_run(state)
        .filter(|_| std::fs::read_dir(state).map_or(0, |entries| entries.count()) > runs_before);
    let saved = run.as_deref().map(|r| backups(r, ns)).unwrap_or_default();
    for object in &recording.touched {
        let current = now.get(object);
        if current == before.get(object) || current == recording.repaired.get(object) {
            continue;
        }
        match (saved.get(object), before.get(object)) {
            (Some(backup), Some(first)) if backup == first => {}
            _ => tally.lock().unwrap().lost.push(format!(
                "{what}: {object} is {} and has no backup of what it was",
                if current.is_none() {
                    "missing"
                } else {
                    "changed"
                }
            )),
        }
    }
    run
}

/// One fault kind through the whole plan in one namespace: run after run, each with
/// the rules that have not fired yet (a fresh proxy, so occurrences count from 1), each
/// checked; then a clean run must finish the plan, and restoring every run's backups,
/// newest first, must give back the original of every object any run backed up.
/// Returns the rules that did not fire.
fn chain(
    env: &TestEnv,
    postgres: &Postgres,
    recording: &Recording,
    fault: &str,
    rules: &[Request],
    tally: &Mutex<Tally>,
) -> Vec<Request> {
    let copy = Copy::load(env, postgres);
    let incident = &copy.incident;
    let ns = incident.ns.clone();
    let original = contents(env, &ns, &recording.touched);
    let mut before = original.clone();
    let mut pending: Vec<&Request> = rules.iter().collect();
    let mut runs: Vec<PathBuf> = Vec::new();
    // A run can stop before the steps of its pending rules for a reason of its own,
    // every invariant holding (seen on a loaded machine, 10 units at once: a connect
    // to the proxy timed out, exit 3); the next run goes on from there, so the chain
    // gives up only after that many such runs in a row (each is listed at the end).
    const BARREN_RUNS: usize = 3;
    let mut barren = 0;
    for round in 0..rules.len() + BARREN_RUNS {
        if pending.is_empty() {
            break;
        }
        let injected_log = env.dir.join(format!("{ns}-injected-{round}"));
        let mut args = vec![
            "--hold-seconds".to_string(),
            HOLD_SECONDS.to_string(),
            "--injected".to_string(),
            injected_log.to_string_lossy().into_owned(),
        ];
        for rule in &pending {
            args.push("--at".to_string());
            args.push(rule.rule(fault, &recording.ns, &ns, true));
        }
        let proxy = harness::FaultProxy::start_with(env, &format!("{ns}-chain-{round}"), &args);
        let runs_before = std::fs::read_dir(&incident.state).map_or(0, |e| e.count());
        let output = copy.repair_via(&proxy.kubeconfig);
        drop(proxy);
        // For whoever debugs a chain: what each run said.
        let _ = std::fs::write(
            env.dir.join(format!("{ns}-chain-{round}.out")),
            format!(
                "exit {:?}\n{}{}",
                output.status.code(),
                stdout(&output),
                stderr(&output)
            ),
        );
        let fired: Vec<String> = std::fs::read_to_string(&injected_log)
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect();
        let what = format!("{fault} chain in `{ns}`, run {round} (fired: {fired:?})");
        let now = contents(env, &ns, &recording.touched);
        if let Some(run) = check_injected_run(
            &what,
            &ns,
            &output,
            &incident.state,
            runs_before,
            recording,
            &before,
            &now,
            tally,
        ) {
            runs.push(run);
        }
        before = now;
        // Each line names the index of its rule among this run's `--at` rules.
        let mut fired_indexes: Vec<usize> = fired
            .iter()
            .filter_map(|line| line.rsplit_once(" #")?.1.parse().ok())
            .filter(|&i| i < pending.len())
            .collect();
        fired_indexes.sort_unstable();
        fired_indexes.dedup();
        let mut done = Vec::new();
        for i in fired_indexes.into_iter().rev() {
            done.push(pending.remove(i));
        }
        let mut tally = tally.lock().unwrap();
        for rule in &done {
            tally.fired_rules.insert(injection(rule, fault));
        }
        // The plan finished: later runs have no step left to reach a pending rule in.
        let finished = output.status.code() == Some(0);
        if done.is_empty() && finished {
            break;
        }
        if done.is_empty() {
            let last = stderr(&output)
                .lines()
                .last()
                .unwrap_or_default()
                .to_string();
            tally
                .barren
                .push(format!("{what}: exit {:?} {last}", output.status.code()));
        }
        barren = if done.is_empty() { barren + 1 } else { 0 };
        if barren == BARREN_RUNS {
            break;
        }
    }

    // The next run picks up where the last one stopped.
    let next = copy.next_repair(env);
    if next.status.code() != Some(0) {
        tally.lock().unwrap().failures.push(format!(
            "{fault} chain in `{ns}`: the clean run exited {:?}: {}{}",
            next.status.code(),
            stdout(&next),
            stderr(&next)
        ));
    }
    let after = contents(env, &ns, &recording.touched);
    for object in &recording.touched {
        if after.get(object) != recording.repaired.get(object) {
            let mut tally = tally.lock().unwrap();
            if !after.contains_key(object) {
                tally.lost.push(format!(
                    "{fault} chain in `{ns}`: {object} missing after the clean run"
                ));
            } else if verdicts(&stdout(&next)) == recording.verdicts {
                // What differs, as a JSON patch from the recorded run's object.
                let difference = match recording.repaired.get(object) {
                    Some(recorded) => {
                        serde_json::to_string(&json_patch::diff(recorded, &after[object]))
                            .unwrap_or_default()
                    }
                    None => "still there, gone after the recorded run".to_string(),
                };
                tally
                    .settled_otherwise
                    .push(format!("{fault} chain in `{ns}`: {object}: {difference}"));
            } else {
                tally.failures.push(format!(
                    "{fault} chain in `{ns}`: {object} not repaired by the clean run: {}",
                    stdout(&next)
                ));
            }
        }
    }

    // Every run's backups, newest run first, give back the original.
    copy.remove_migration_jobs(env);
    let mut backed_up = std::collections::BTreeSet::new();
    for run in runs.iter().rev() {
        let saved = backups(run, &ns);
        if saved.is_empty() {
            continue;
        }
        backed_up.extend(saved.into_keys());
        let restore = harness::triage_in_state(
            &env.kubeconfig,
            &incident.state,
            &["restore", run.to_str().unwrap(), "--yes", "--overwrite"],
        );
        if restore.status.code() != Some(0) {
            tally.lock().unwrap().failures.push(format!(
                "{fault} chain in `{ns}`: restore of {} exited {:?}: {}",
                run.display(),
                restore.status.code(),
                stderr(&restore)
            ));
        }
    }
    let restored = contents(env, &ns, &recording.touched);
    for object in backed_up {
        if restored.get(&object) != original.get(&object) {
            tally.lock().unwrap().unrestorable.push(format!(
                "{fault} chain in `{ns}`: {object} not restored to its original"
            ));
        }
    }
    let _ = env.kubectl(&[
        "delete",
        "namespace",
        &ns,
        &format!("{ns}-system"),
        "--wait=false",
    ]);
    pending.into_iter().cloned().collect()
}

/// The sweep's units, taken by `jobs` threads; a chain's unfired rules come back as a
/// unit of their own, once.
struct Queue {
    state: Mutex<(std::collections::VecDeque<Chain>, usize)>,
    changed: std::sync::Condvar,
}

impl Queue {
    fn new(work: Vec<Chain>) -> Self {
        Self {
            state: Mutex::new((work.into(), 0)),
            changed: std::sync::Condvar::new(),
        }
    }

    /// The next unit, waiting while a running unit may still give one back; `None`
    /// when all are done.
    fn take(&self) -> Option<Chain> {
        let mut state = self.state.lock().unwrap();
        loop {
            if let Some(work) = state.0.pop_front() {
                state.1 += 1;
                return Some(work);
            }
            if state.1 == 0 {
                return None;
            }
            state = self.changed.wait(state).unwrap();
        }
    }

    /// A unit is done, giving back `more` (if any).
    fn done(&self, more: Option<Chain>) {
        let mut state = self.state.lock().unwrap();
        state.1 -= 1;
        state.0.extend(more);
        self.changed.notify_all();
    }
}

#[test]
fn fault_sweep() {
    let Some(env) = testenv("fault_sweep") else {
        return;
    };
    let clock = std::time::Instant::now();
    let postgres = Postgres::start(env);
    let recording = record(env, &postgres);
    let chains = chains_of(&recording);
    // For whoever debugs a failure: what was recorded, step by step.
    let listing: String = recording
        .requests
        .iter()
        .map(|r| format!("{} {} {} #{}\n", r.step, r.method, r.path, r.occurrence))
        .collect();
    std::fs::write(env.dir.join("sweep-recording.txt"), listing).unwrap();
    let jobs: usize = std::env::var("TRIAGE_SWEEP_JOBS")
        .ok()
        .and_then(|j| j.parse().ok())
        .unwrap_or(6);
    let limit: usize = std::env::var("TRIAGE_SWEEP_MAX")
        .ok()
        .and_then(|j| j.parse().ok())
        .unwrap_or(usize::MAX);
    let tally = Mutex::new(Tally::default());
    let queue = Queue::new(chains.into_iter().take(limit).collect());
    // Every unit that ran, second tries included, for the coverage checks below.
    let ran: Mutex<Vec<Chain>> = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..jobs {
            scope.spawn(|| {
                while let Some(work) = queue.take() {
                    let left = chain(env, &postgres, &recording, work.fault, &work.rules, &tally);
                    // Rules a chain could not reach (it finished its plan, or stopped,
                    // before their step) get one chain of their own.
                    let more =
                        (!work.second_try && !left.is_empty() && left.len() < work.rules.len())
                            .then_some(Chain {
                                fault: work.fault,
                                rules: left,
                                second_try: true,
                            });
                    ran.lock().unwrap().push(work);
                    queue.done(more);
                }
            });
        }
    });
    let ran: Vec<Chain> = ran.into_inner().unwrap();
    let tally = tally.into_inner().unwrap();
    // The (step, fault kind) pairs some injection fired in.
    let pairs: std::collections::BTreeSet<(&str, &str)> = tally
        .fired_rules
        .iter()
        .map(|(step, _, _, _, fault)| (step.as_str(), fault.as_str()))
        .collect();
    if !tally.barren.is_empty() {
        let _ = writeln!(
            std::io::stderr(),
            "fault sweep: chain runs that fired nothing: {:#?}",
            tally.barren
        );
    }
    assert!(tally.failures.is_empty(), "{:#?}", tally.failures);
    assert!(tally.lost.is_empty(), "{:#?}", tally.lost);
    assert!(tally.unrestorable.is_empty(), "{:#?}", tally.unrestorable);
    // Each rule once (a second try repeats its first chain's unfired rules), with
    // whether it may go unfired: a repeat of an earlier request of its step (a poll of
    // the migration Job, sent as often as the Job takes) need not recur.
    let rules: std::collections::BTreeSet<(Injection, bool, bool)> = ran
        .iter()
        .flat_map(|chain| chain.rules.iter().map(|r| (r, chain.fault)))
        .map(|(r, fault)| {
            (
                injection(r, fault),
                is_repeat(&recording.requests, r),
                r.is_write() || r.is_dry_run(),
            )
        })
        .collect();
    let unfired: Vec<&(Injection, bool, bool)> = rules
        .iter()
        .filter(|(i, _, _)| !tally.fired_rules.contains(i))
        .collect();
    if !unfired.is_empty() {
        let _ = writeln!(
            std::io::stderr(),
            "fault sweep: requests that did not recur in their injected runs (twice): {unfired:#?}"
        );
    }
    if limit == usize::MAX {
        // Every request fired with every fault kind, but repeats that did not recur.
        let missed: Vec<&Injection> = unfired
            .iter()
            .filter(|(_, repeat, _)| !repeat)
            .map(|(i, _, _)| i)
            .collect();
        assert!(missed.is_empty(), "never fired: {missed:#?}");
        for step in &recording.steps {
            for fault in FAULTS {
                assert!(
                    pairs.contains(&(step.as_str(), fault)),
                    "no {fault} fired in step `{step}`"
                );
            }
        }
    }
    if !tally.settled_otherwise.is_empty() {
        let _ = writeln!(
            std::io::stderr(),
            "fault sweep: settled by another path (every signal as after the recorded run): {:?}",
            tally.settled_otherwise
        );
    }
    let steps: std::collections::BTreeSet<&str> = pairs.iter().map(|(s, _)| *s).collect();
    let changes = rules.iter().filter(|(_, _, change)| *change).count();
    let _ = writeln!(
        std::io::stderr(),
        "fault sweep: {} of {} rules fired ({changes} of them on writes and dry runs); {} chains {jobs} at once, in {:.0}s",
        tally.fired_rules.len(),
        rules.len(),
        ran.len(),
        clock.elapsed().as_secs_f64()
    );
    // Straight to stderr: the test harness captures `println!`, and this line is the
    // sweep's result.
    let _ = writeln!(
        std::io::stderr(),
        "fault sweep: {} injections across {} steps: {} objects lost, {} unrestorable",
        tally.fired_rules.len(),
        steps.len(),
        tally.lost.len(),
        tally.unrestorable.len()
    );
}

#[test]
fn shared_requests_are_counted_after_their_steps_own_request() {
    let request = |step: &str, method: &str, path: &str, occurrence: usize| Request {
        method: method.to_string(),
        path: path.to_string(),
        occurrence,
        step: step.to_string(),
        anchor: None,
    };
    let list = "/api/v1/namespaces/ns/configmaps?&limit=500";
    let review = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews?";
    let mut requests = vec![
        request("load", "GET", list, 1),
        request("quota", "POST", review, 1),
        request(
            "quota",
            "PATCH",
            "/api/v1/namespaces/ns/resourcequotas/q",
            1,
        ),
        request("quota", "GET", list, 2),
        request("lock", "POST", review, 2),
        request("lock", "GET", "/api/v1/namespaces/ns/configmaps/lock", 1),
        request("lock", "POST", review, 3),
        request("lock", "GET", list, 3),
        request("migrate", "GET", "/apis/batch/v1/namespaces/ns/jobs/m", 1),
        request("migrate", "GET", "/apis/batch/v1/namespaces/ns/jobs/m", 2),
        request("migrate", "GET", list, 4),
    ];
    anchor_shared_requests(&mut requests);
    let anchor = |i: usize| {
        requests[i]
            .anchor
            .as_ref()
            .map(|a| (a.path.as_str(), a.occurrence, a.nth_after))
    };
    // The load and a step's own requests count from the start of the run.
    assert!(anchor(0).is_none() && anchor(2).is_none() && anchor(5).is_none());
    // A step's access review before its first own request has nothing to count from.
    assert!(anchor(1).is_none() && anchor(4).is_none());
    // The namespace read after the quota's patch: the 1st LIST after it, not the 2nd of
    // the run (a chain's later run that skips `quota` sends only one).
    assert_eq!(
        anchor(3),
        Some(("/api/v1/namespaces/ns/resourcequotas/q", 1, 1))
    );
    assert_eq!(
        anchor(6),
        Some(("/api/v1/namespaces/ns/configmaps/lock", 1, 1))
    );
    assert_eq!(
        anchor(7),
        Some(("/api/v1/namespaces/ns/configmaps/lock", 1, 1))
    );
    // After the first poll of the Job, not the last: how many come depends on timing.
    assert_eq!(
        anchor(10),
        Some(("/apis/batch/v1/namespaces/ns/jobs/m", 1, 1))
    );
    let rule = requests[7].rule("500", "ns", "copy", true);
    assert_eq!(
        rule,
        "GET|/api/v1/namespaces/copy/configmaps?&limit=500|1|500|GET|/api/v1/namespaces/copy/configmaps/lock|1"
    );
    assert_eq!(
        requests[7].rule("500", "ns", "copy", false),
        "GET|/api/v1/namespaces/copy/configmaps?&limit=500|3|500"
    );
}
