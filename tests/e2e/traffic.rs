//! `triage explain-traffic` live against the loaded bleater incident and offline
//! against the fixture it was loaded from: the same question must get the same
//! answer, and the incident's default-deny egress denies bleat-service -> bleat-db.

use serde_json::Value;

use crate::harness::{self, Incident, stderr, stdout, testenv};

const FROM: &str = "app.kubernetes.io/name=bleat-service";
const TO: &str = "bleat-db";

/// Parses a JSON answer of `explain-traffic`, which exits 1 when denied.
#[track_caller]
fn denied_json(output: &std::process::Output) -> Value {
    assert_eq!(output.status.code(), Some(1), "stderr: {}", stderr(output));
    serde_json::from_slice(&output.stdout).expect("explain-traffic prints JSON")
}

#[test]
fn explain_traffic_answers_the_same_live_and_offline() {
    let Some(env) = testenv("explain_traffic_answers_the_same_live_and_offline") else {
        return;
    };
    let incident = Incident::load(env, "e2e-traffic");
    let live = denied_json(&incident.triage(env, &["explain-traffic", FROM, TO, "-o", "json"]));
    let fixture = harness::root().join("examples/bleater-incident.yaml");
    let offline = denied_json(&env.triage(&[
        "explain-traffic",
        "-n",
        "bleater",
        "--snapshot",
        fixture.to_str().unwrap(),
        FROM,
        TO,
        "-o",
        "json",
    ]));
    // The one mask: the loader maps namespace `bleater` to `e2e-traffic-N` (and
    // `bleater-system` to `e2e-traffic-N-system`), and that name shows in `namespace`,
    // in each pair's `to` (`NS/bleat-db-0`), and in the suggested policy (its
    // metadata.namespace and name, and the `kubernetes.io/metadata.name` label its
    // namespaceSelector matches). Pod names, labels, ports and policies are loaded as
    // the fixture has them, so nothing else may differ.
    let masked: Value =
        serde_json::from_str(&live.to_string().replace(&incident.ns, "bleater")).unwrap();
    assert_eq!(
        masked,
        offline,
        "live:\n{}\noffline:\n{}",
        serde_json::to_string_pretty(&masked).unwrap(),
        serde_json::to_string_pretty(&offline).unwrap()
    );
    // The verdict and why: the namespace's default-deny egress isolates the
    // bleat-service pods and no rule lets them reach the database.
    assert_eq!(offline["kind"], "TrafficExplanation");
    assert_eq!(offline["verdict"], "denied");
    // Everything was readable (admin): no objectGaps, no notes.
    assert_eq!(offline.get("objectGaps"), None);
    assert_eq!(offline["notes"], serde_json::json!([]));
    let pairs = offline["pairs"].as_array().unwrap();
    assert!(!pairs.is_empty());
    for pair in pairs {
        assert_eq!(pair["to"], "bleater/bleat-db-0");
        assert_eq!(
            (pair["port"].as_i64(), pair["protocol"].as_str()),
            (Some(5432), Some("TCP"))
        );
        assert_eq!(pair["egress"]["verdict"], "denied");
        assert_eq!(
            pair["egress"]["isolating"],
            serde_json::json!(["bleater-default-deny-egress"])
        );
        assert_eq!(pair["egress"]["allowedBy"], Value::Null);
        assert_eq!(pair["verdict"], "denied");
    }
    let suggestion = &offline["suggestions"][0];
    assert_eq!(
        suggestion["spec"]["policyTypes"],
        serde_json::json!(["Egress"])
    );
    assert_eq!(suggestion["metadata"]["namespace"], "bleater");
    // The text form says the same live.
    let text = incident.triage(env, &["explain-traffic", FROM, TO]);
    assert_eq!(text.status.code(), Some(1), "{}", stderr(&text));
    assert!(
        stdout(&text).contains("verdict: denied"),
        "{}",
        stdout(&text)
    );
}
