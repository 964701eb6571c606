//! `triage check --watch` against a live namespace: it redraws on a change seen through
//! a Kubernetes watch and exits 0 once every selected signal passes.

use std::process::{Child, Stdio};
use std::time::Duration;

use crate::harness::{self, Incident, testenv};

/// A `triage` left running in the background; killed when the test ends.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn check_watch_redraws_on_a_change_until_every_signal_passes() {
    let Some(env) = testenv("check_watch_redraws_on_a_change_until_every_signal_passes") else {
        return;
    };
    let incident = Incident::load(env, "e2e-checkwatch");
    let ns = &incident.ns;
    let out_path = env.dir.join(format!("{ns}-check-watch.out"));
    let err_path = env.dir.join(format!("{ns}-check-watch.err"));
    let profile = incident.profile.to_str().unwrap();
    let mut running = Running(
        harness::triage_command(
            &env.kubeconfig,
            &[
                "check",
                "--watch",
                "--only",
                "lock",
                "--logs",
                "0",
                "-n",
                ns,
                "--profile",
                profile,
            ],
        )
        .stdout(std::fs::File::create(&out_path).unwrap())
        .stderr(std::fs::File::create(&err_path).unwrap())
        .stdin(Stdio::null())
        .spawn()
        .expect("triage runs"),
    );
    let read = || std::fs::read_to_string(&out_path).unwrap_or_default();
    let err = || std::fs::read_to_string(&err_path).unwrap_or_default();
    // The first evaluation: the lock is held, so it waits for a change.
    let waiting = harness::wait_for(Duration::from_secs(30), || {
        read().contains("# watching for changes").then_some(())
    });
    assert!(
        waiting.is_some(),
        "no first evaluation: {}{}",
        read(),
        err()
    );
    assert!(read().contains("lock"), "{}", read());
    assert!(
        running.0.try_wait().unwrap().is_none(),
        "exited while the lock is held: {}{}",
        read(),
        err()
    );

    // A change the watch must see: the lock released, as its owner would.
    env.kubectl_ok(&[
        "patch",
        "configmap",
        "hook-reconciliation-lock",
        "-n",
        ns,
        "--type=merge",
        "-p",
        r#"{"data":{"status":"unlocked"}}"#,
    ]);
    let status = harness::wait_for(Duration::from_secs(30), || running.0.try_wait().unwrap());
    let text = read();
    assert_eq!(
        status.and_then(|s| s.code()),
        Some(0),
        "check --watch did not exit 0 after the change: {text}{}",
        err()
    );
    assert!(
        text.contains("# evaluated again after a ConfigMap changed"),
        "{text}"
    );
    assert!(text.trim_end().ends_with("every signal passes"), "{text}");
    // One wait: the first evaluation after the change passed, and ended the watch.
    assert_eq!(text.matches("# watching for changes").count(), 1, "{text}");
}
