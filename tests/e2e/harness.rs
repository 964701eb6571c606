//! The real control plane for end-to-end tests: one etcd + kube-apiserver +
//! kube-controller-manager per test binary run, started by `scripts/testenv up` with
//! this process as its owner (its watchdog stops everything when we exit, also after
//! a panic), and a fresh namespace per test.
//!
//! Without the binaries, tests print why they were skipped; with `TRIAGE_E2E=require`
//! (set by `scripts/test`) a missing environment fails the test instead.
//!
//! The API server keeps an audit log (Metadata level) in `$TRIAGE_E2E_AUDIT_DIR`
//! (set by `scripts/test`; else the control plane's own directory): after this binary
//! exits, `testenv/audit_check.py` proves from it that no request of triage's touched a
//! Secret beyond the reads a test declared with [`TestEnv::expect_secret_reads`].

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

pub struct TestEnv {
    pub dir: PathBuf,
    pub kubeconfig: PathBuf,
    pub vars: BTreeMap<String, String>,
    /// Where `audit.log` (the API server's) and the declared Secret reads are.
    pub audit_dir: PathBuf,
}

/// In the audit directory: the API server's log, one JSON event per line.
const AUDIT_LOG: &str = "audit.log";
/// In the audit directory: one JSON line per Secret read a test expects of triage.
const EXPECTED_SECRET_READS: &str = "expected-secret-reads.jsonl";
/// In the audit directory: the control plane's directory, so the checker can wait
/// until it is down (and the log complete).
const TESTENV_DIR: &str = "testenv-dir";

static ENV: OnceLock<Result<TestEnv, String>> = OnceLock::new();
static NAMESPACES: AtomicUsize = AtomicUsize::new(0);

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The shared control plane, or `None` after printing why the test is skipped.
/// Panics instead of skipping when `TRIAGE_E2E=require`.
pub fn testenv(test: &str) -> Option<&'static TestEnv> {
    match ENV.get_or_init(start) {
        Ok(env) => Some(env),
        Err(why) => {
            if std::env::var("TRIAGE_E2E").as_deref() == Ok("require") {
                panic!("TRIAGE_E2E=require but the test environment is unavailable: {why}");
            }
            // Straight to stderr: the test harness captures `eprintln!`, and a skip
            // must be seen.
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED {test}: no test control plane ({why}); run `scripts/test` to build and start one"
            );
            None
        }
    }
}

/// The Python interpreter `python3` names, resolved once: a version manager's shim
/// (pyenv's is a bash script running several more) would otherwise start with every
/// helper process, thousands of them in the fault sweep.
pub fn python() -> &'static Path {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON.get_or_init(|| {
        Command::new("python3")
            .args(["-c", "import sys; print(sys.executable)"])
            .stdin(Stdio::null())
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()))
            .filter(|p| p.is_file())
            .unwrap_or_else(|| PathBuf::from("python3"))
    })
}

thread_local! {
    /// Each thread's own client for [`TestEnv::get_json`] (a current-thread runtime
    /// drives one thread's connections).
    static ADMIN: OnceLock<(tokio::runtime::Runtime, kube::Client)> = const { OnceLock::new() };
}

/// `scripts/testenv up [extra...]` into `dir`, owned by this process.
pub fn up(dir: &Path, extra: &[&str]) -> Result<(), String> {
    let output = Command::new(root().join("scripts/testenv"))
        .arg("up")
        .args(extra)
        .arg("--dir")
        .arg(dir)
        .args(["--owner-pid", &std::process::id().to_string()])
        .stdin(Stdio::null())
        .output()
        .map_err(|err| format!("cannot run scripts/testenv: {err}"))?;
    if output.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    let last = stderr
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("no output");
    Err(format!("`scripts/testenv up` failed: {last}"))
}

fn start() -> Result<TestEnv, String> {
    let dir = std::env::temp_dir().join(format!("triage-e2e-{}", std::process::id()));
    let audit_dir = std::env::var_os("TRIAGE_E2E_AUDIT_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| dir.join("audit"));
    std::fs::create_dir_all(&audit_dir)
        .map_err(|err| format!("cannot create {}: {err}", audit_dir.display()))?;
    // A log left by an earlier run would be judged as this one's.
    for stale in [AUDIT_LOG, EXPECTED_SECRET_READS] {
        let _ = std::fs::remove_file(audit_dir.join(stale));
    }
    std::fs::write(
        audit_dir.join(TESTENV_DIR),
        dir.to_string_lossy().as_bytes(),
    )
    .map_err(|err| format!("cannot write to {}: {err}", audit_dir.display()))?;
    let audit_log = audit_dir.join(AUDIT_LOG);
    // No retry: `up` judges a component dead only when it has really exited (issue 15;
    // `scripts/testenv stress N` checks starts on a cold page cache).
    up(&dir, &["--audit-log", &audit_log.to_string_lossy()])?;
    let env_text =
        std::fs::read_to_string(dir.join("env")).map_err(|err| format!("no env file: {err}"))?;
    let vars: BTreeMap<String, String> = env_text
        .lines()
        .filter_map(|line| line.strip_prefix("export "))
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (k.to_string(), v.trim_matches('\'').to_string()))
        .collect();
    Ok(TestEnv {
        kubeconfig: dir.join("kubeconfig"),
        dir,
        vars,
        audit_dir,
    })
}

impl TestEnv {
    /// Declares that triage will GET Secret `name` in `namespace` exactly `gets` times
    /// during this run (`--password-from-secret`); any other request of triage's on
    /// `secrets` fails `testenv/audit_check.py`.
    pub fn expect_secret_reads(&self, namespace: &str, name: &str, gets: usize) {
        let line = serde_json::json!({"namespace": namespace, "name": name, "gets": gets});
        // One write of one line per call on an O_APPEND file: parallel tests' lines
        // never interleave.
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.audit_dir.join(EXPECTED_SECRET_READS))
            .unwrap();
        file.write_all(format!("{line}\n").as_bytes()).unwrap();
    }

    /// The audit events written so far whose User-Agent is triage's, in log order.
    pub fn triage_audit_events(&self) -> Vec<serde_json::Value> {
        let agent = concat!("triage/", env!("CARGO_PKG_VERSION"));
        std::fs::read_to_string(self.audit_dir.join(AUDIT_LOG))
            .unwrap_or_default()
            .lines()
            .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
            .filter(|event| {
                event["userAgent"]
                    .as_str()
                    .is_some_and(|ua| ua.starts_with(agent))
            })
            .collect()
    }

    /// A namespace name no other test uses.
    pub fn unique_name(&self, prefix: &str) -> String {
        format!("{prefix}-{}", NAMESPACES.fetch_add(1, Ordering::SeqCst))
    }

    /// GET `path` as the admin user, in process (one kept connection per thread): for
    /// reads a test repeats after every run, where a kubectl process each is most of the
    /// cost. A LIST's items get the `kind` and `apiVersion` kubectl would print.
    #[track_caller]
    pub fn get_json(&self, path: &str) -> serde_json::Value {
        let mut value = ADMIN.with(|admin| {
            let (runtime, client) = admin.get_or_init(|| {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                let client = runtime.block_on(async {
                    let kubeconfig = kube::config::Kubeconfig::read_from(&self.kubeconfig)
                        .expect("the test environment's kubeconfig");
                    let config = kube::Config::from_custom_kubeconfig(
                        kubeconfig,
                        &kube::config::KubeConfigOptions::default(),
                    )
                    .await
                    .expect("a client configuration");
                    kube::Client::try_from(config).expect("a client for the test environment")
                });
                (runtime, client)
            });
            let request = http::Request::get(path).body(Vec::new()).unwrap();
            runtime
                .block_on(client.request::<serde_json::Value>(request))
                .unwrap_or_else(|err| panic!("GET {path}: {err}"))
        });
        if let Some(kind) = value["kind"].as_str().and_then(|k| k.strip_suffix("List")) {
            let kind = kind.to_string();
            let api_version = value["apiVersion"].clone();
            for item in value["items"].as_array_mut().into_iter().flatten() {
                item["kind"] = kind.clone().into();
                item["apiVersion"] = api_version.clone();
            }
        }
        value
    }

    /// `fixture` (under examples/) as the JSON kubectl reads it into, converted once per
    /// test process: the loader would convert it with a kubectl each time.
    fn fixture_json(&self, fixture: &str) -> PathBuf {
        static CONVERTED: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());
        let json = self.dir.join(format!("{fixture}.json"));
        let mut converted = CONVERTED.lock().unwrap();
        if !converted.iter().any(|f| f == fixture) {
            let text = self.kubectl_ok(&[
                "create",
                "--dry-run=client",
                "--validate=false",
                "-o",
                "json",
                "-f",
                &root().join("examples").join(fixture).to_string_lossy(),
            ]);
            std::fs::write(&json, text).unwrap();
            converted.push(fixture.to_string());
        }
        json
    }

    /// kubectl as the admin user.
    pub fn kubectl(&self, args: &[&str]) -> Output {
        Command::new("kubectl")
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("kubectl runs")
    }

    #[track_caller]
    pub fn kubectl_ok(&self, args: &[&str]) -> String {
        let output = self.kubectl(args);
        assert!(
            output.status.success(),
            "kubectl {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    #[track_caller]
    pub fn kubectl_apply(&self, yaml: &str) {
        let mut child = Command::new("kubectl")
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .args(["apply", "-f", "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        std::io::Write::write_all(&mut child.stdin.take().unwrap(), yaml.as_bytes()).unwrap();
        let output = child.wait_with_output().unwrap();
        assert!(
            output.status.success(),
            "kubectl apply failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }

    pub fn create_namespace(&self, prefix: &str) -> String {
        let name = self.unique_name(prefix);
        self.kubectl_ok(&["create", "namespace", &name]);
        name
    }

    /// The triage binary against this control plane (admin context unless `args`
    /// says otherwise).
    pub fn triage(&self, args: &[&str]) -> Output {
        triage_with(&self.kubeconfig, args)
    }

    /// Loads a fixture into the cluster with the scenario loader, remapping namespaces.
    #[track_caller]
    pub fn load_scenario(&self, fixture: &str, namespace_map: &[(&str, &str)]) {
        let mut command = Command::new(python());
        command
            .arg(root().join("testenv/load-scenario.py"))
            .arg("--kubeconfig")
            .arg(&self.kubeconfig);
        for (from, to) in namespace_map {
            command.args(["--ns", &format!("{from}={to}")]);
        }
        let output = command
            .arg(self.fixture_json(fixture))
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "loading {fixture} failed: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

pub fn triage_with(kubeconfig: &Path, args: &[&str]) -> Output {
    triage_command(kubeconfig, args)
        .output()
        .expect("triage runs")
}

/// triage against `kubeconfig`, repair runs kept in `state` (never the user's own
/// state directory).
pub fn triage_in_state(kubeconfig: &Path, state: &Path, args: &[&str]) -> Output {
    triage_command(kubeconfig, args)
        .env("TRIAGE_STATE_DIR", state)
        .output()
        .expect("triage runs")
}

pub fn triage_command(kubeconfig: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_triage"));
    command
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args(args)
        .env_remove("NO_COLOR")
        .stdin(Stdio::null());
    command
}

/// Every step in `ids` was applied and verified, as `triage repair` reports it.
#[track_caller]
pub fn assert_verified(repair_output: &str, ids: &[&str]) {
    for id in ids {
        assert!(
            repair_output.contains(&format!("verify `{id}`: ok")),
            "`{id}` not verified:\n{repair_output}"
        );
    }
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A background test-support process (reconciler oracle, world simulator), killed
/// when the guard drops (also when the test panics).
pub struct Background(std::process::Child);

impl Background {
    /// Starts `command` (stdin closed, output discarded) as a background process.
    pub fn spawn(command: &mut Command) -> Self {
        Self(
            command
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("the support process starts"),
        )
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl TestEnv {
    /// Starts `testenv/<script>` with this environment's kubeconfig and `args`.
    pub fn spawn_support(&self, script: &str, args: &[&str]) -> Background {
        let log = std::fs::File::create(
            self.dir
                .join(format!("{script}-{}.log", self.unique_name("run"))),
        )
        .unwrap();
        let child = Command::new(python())
            .arg(root().join("testenv").join(script))
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .args(args)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("python3 runs");
        Background(child)
    }

    /// One key of a ConfigMap, `None` when the map or key is absent.
    pub fn config_map_value(&self, namespace: &str, name: &str, key: &str) -> Option<String> {
        let output = self.kubectl(&["get", "configmap", name, "-n", namespace, "-o", "json"]);
        if !output.status.success() {
            return None;
        }
        let json: serde_json::Value = serde_json::from_slice(&output.stdout).ok()?;
        json["data"][key].as_str().map(str::to_string)
    }
}

/// Polls `check` every 500 ms until it returns `Some`, or `None` after `limit`.
pub fn wait_for<T>(limit: std::time::Duration, mut check: impl FnMut() -> Option<T>) -> Option<T> {
    let start = std::time::Instant::now();
    loop {
        if let Some(found) = check() {
            return Some(found);
        }
        if start.elapsed() > limit {
            return None;
        }
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
}

/// A private PostgreSQL for one test (testenv/postgres.sh), stopped when this test
/// binary exits. Returns its env vars (PGHOST, PGPORT, ..., TRIAGE_TEST_DB_URL).
pub fn start_postgres(env: &TestEnv, name: &str) -> BTreeMap<String, String> {
    let dir = env.dir.join(format!("pg-{name}"));
    let output = Command::new(root().join("testenv/postgres.sh"))
        .args(["up", "--dir"])
        .arg(&dir)
        .args(["--owner-pid", &std::process::id().to_string()])
        .stdin(Stdio::null())
        .output()
        .expect("testenv/postgres.sh runs");
    assert!(
        output.status.success(),
        "postgres.sh up failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    std::fs::read_to_string(dir.join("env"))
        .unwrap()
        .lines()
        .filter_map(|line| line.strip_prefix("export "))
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (k.to_string(), v.trim_matches('\'').to_string()))
        .collect()
}

/// The incident in a fresh namespace pair, with a profile file pointing at them.
pub struct Incident {
    pub ns: String,
    pub system: String,
    /// The built-in bleater profile, pointed at the remapped status namespace.
    pub profile: PathBuf,
    /// TRIAGE_STATE_DIR for this incident's repair runs.
    pub state: PathBuf,
}

impl Incident {
    /// Loads the bleater incident into a fresh namespace pair `<prefix>-N` and
    /// `<prefix>-N-system`.
    pub fn load(env: &TestEnv, prefix: &str) -> Incident {
        let ns = env.unique_name(prefix);
        let system = format!("{ns}-system");
        env.load_scenario(
            "bleater-incident.yaml",
            &[("bleater", &ns), ("bleater-system", &system)],
        );
        let text = std::fs::read_to_string(root().join("src/profile/bleater.yaml"))
            .unwrap()
            .replace("bleater-system", &system);
        let profile = env.dir.join(format!("{ns}-profile.yaml"));
        std::fs::write(&profile, text).unwrap();
        let state = env.dir.join(format!("{ns}-state"));
        Incident {
            ns,
            system,
            profile,
            state,
        }
    }

    pub fn triage(&self, env: &TestEnv, args: &[&str]) -> std::process::Output {
        self.triage_via(&env.kubeconfig, args)
    }

    /// Like [`Incident::triage`], through another kubeconfig (a proxy, another user).
    pub fn triage_via(&self, kubeconfig: &Path, args: &[&str]) -> std::process::Output {
        let mut all = args.to_vec();
        all.extend(["-n", &self.ns, "--profile", self.profile.to_str().unwrap()]);
        triage_in_state(kubeconfig, &self.state, &all)
    }
}

/// testenv/fault_proxy.py between triage and the API server: plain HTTP on loopback,
/// failing the requests that match `fails` (`METHOD:PATH:STATUS`), logging each
/// request's method, path and User-Agent. Stopped on drop.
pub struct FaultProxy {
    pub kubeconfig: PathBuf,
    pub log: PathBuf,
    _process: Background,
}

impl FaultProxy {
    pub fn start(env: &TestEnv, name: &str, fails: &[&str]) -> Self {
        let args: Vec<String> = fails
            .iter()
            .flat_map(|fail| ["--fail".to_string(), fail.to_string()])
            .collect();
        Self::start_with(env, name, &args)
    }

    /// The proxy with raw arguments (`--at 'METHOD|PATH|K|FAULT'`, `--hold-seconds`).
    pub fn start_with(env: &TestEnv, name: &str, extra: &[String]) -> Self {
        let port_file = env.dir.join(format!("{name}-proxy-port"));
        let log = env.dir.join(format!("{name}-proxy.log"));
        let mut command = Command::new(python());
        command
            .arg(root().join("testenv/fault_proxy.py"))
            .args([
                "--upstream",
                &env.vars["TRIAGE_TESTENV_SERVER"],
                "--ca",
                &env.vars["TRIAGE_TESTENV_CA_FILE"],
            ])
            .arg("--port-file")
            .arg(&port_file)
            .arg("--log")
            .arg(&log)
            .stdin(Stdio::null())
            .stderr(Stdio::null());
        command.args(extra);
        let process = Background(command.spawn().expect("python3 runs"));
        let port = wait_for(std::time::Duration::from_secs(10), || {
            std::fs::read_to_string(&port_file)
                .ok()
                .filter(|p| !p.is_empty())
        })
        .expect("the proxy listens");
        let kubeconfig = env.dir.join(format!("{name}-proxy-kubeconfig"));
        std::fs::write(
            &kubeconfig,
            format!(
                "apiVersion: v1\nkind: Config\ncurrent-context: proxied\nclusters: [{{name: proxy, cluster: {{server: 'http://127.0.0.1:{port}'}}}}]\ncontexts: [{{name: proxied, context: {{cluster: proxy, user: admin}}}}]\nusers: [{{name: admin, user: {{token: '{}'}}}}]\n",
                env.vars["TRIAGE_TESTENV_ADMIN_TOKEN"]
            ),
        )
        .unwrap();
        Self {
            kubeconfig,
            log,
            _process: process,
        }
    }
}
