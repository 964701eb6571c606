//! Storage, end to end: claims and PersistentVolumes in a real API server with the
//! controller-manager's `persistentvolume-binder-controller` running, so binding,
//! phases and events are the PV controller's own; triage's `pvc` finding must name each
//! reason with its PV and field, and read the same from its snapshot offline.

use std::time::Duration;

use serde_json::Value;

use crate::harness::{self, stderr, stdout, testenv};

/// The `pvc` finding of `triage check ... -o json`, with what legitimately changes
/// between two reads removed: event counts (the controller retries every resync).
fn pvc_finding(output: &std::process::Output) -> Value {
    assert_eq!(output.status.code(), Some(1), "{}", stderr(output));
    let check: Value = serde_json::from_slice(&output.stdout).unwrap();
    let mut finding = check["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == "pvc")
        .cloned()
        .unwrap();
    for evidence in finding["evidence"].as_array_mut().into_iter().flatten() {
        evidence.as_object_mut().unwrap().remove("count");
    }
    finding
}

fn claim_phase(env: &harness::TestEnv, ns: &str, claim: &str) -> String {
    env.kubectl_ok(&[
        "get",
        "pvc",
        claim,
        "-n",
        ns,
        "-o",
        "jsonpath={.status.phase}",
    ])
}

fn has_event(env: &harness::TestEnv, ns: &str, claim: &str, reason: &str) -> bool {
    !env.kubectl_ok(&[
        "get",
        "events",
        "-n",
        ns,
        "--field-selector",
        &format!("involvedObject.name={claim},reason={reason}"),
        "-o",
        "name",
    ])
    .trim()
    .is_empty()
}

#[test]
fn the_pv_controller_and_triage_agree_on_why_claims_do_not_bind() {
    let Some(env) = testenv("the_pv_controller_and_triage_agree_on_why_claims_do_not_bind") else {
        return;
    };
    let ns = env.create_namespace("e2e-storage");
    // PVs and classes are cluster-scoped: every name carries the namespace.
    env.kubectl_apply(&format!(
        r#"
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {{name: {ns}-local}}
provisioner: kubernetes.io/no-provisioner
volumeBindingMode: Immediate
---
apiVersion: v1
kind: PersistentVolume
metadata: {{name: {ns}-pv-small}}
spec:
  storageClassName: {ns}-local
  capacity: {{storage: 1Gi}}
  accessModes: [ReadWriteOnce]
  persistentVolumeReclaimPolicy: Retain
  hostPath: {{path: /tmp/{ns}/small}}
---
apiVersion: v1
kind: PersistentVolume
metadata: {{name: {ns}-pv-fit}}
spec:
  storageClassName: {ns}-local
  capacity: {{storage: 2Gi}}
  accessModes: [ReadWriteOnce]
  persistentVolumeReclaimPolicy: Retain
  hostPath: {{path: /tmp/{ns}/fit}}
---
apiVersion: v1
kind: PersistentVolume
metadata:
  name: {ns}-pv-rox
  labels: {{triage-e2e: {ns}-modes}}
spec:
  storageClassName: ""
  capacity: {{storage: 5Gi}}
  accessModes: [ReadOnlyMany]
  persistentVolumeReclaimPolicy: Retain
  hostPath: {{path: /tmp/{ns}/rox}}
---
apiVersion: v1
kind: PersistentVolume
metadata: {{name: {ns}-pv-taken}}
spec:
  storageClassName: ""
  capacity: {{storage: 5Gi}}
  accessModes: [ReadWriteOnce]
  persistentVolumeReclaimPolicy: Retain
  claimRef: {{name: other, namespace: {ns}}}
  hostPath: {{path: /tmp/{ns}/taken}}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {{name: small, namespace: {ns}}}
spec:
  storageClassName: {ns}-local
  accessModes: [ReadWriteOnce]
  resources: {{requests: {{storage: 10Gi}}}}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {{name: fits, namespace: {ns}}}
spec:
  storageClassName: {ns}-local
  accessModes: [ReadWriteOnce]
  resources: {{requests: {{storage: 2Gi}}}}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {{name: modes, namespace: {ns}}}
spec:
  storageClassName: ""
  selector: {{matchLabels: {{triage-e2e: {ns}-modes}}}}
  accessModes: [ReadWriteOnce]
  resources: {{requests: {{storage: 1Gi}}}}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {{name: taken, namespace: {ns}}}
spec:
  storageClassName: ""
  volumeName: {ns}-pv-taken
  accessModes: [ReadWriteOnce]
  resources: {{requests: {{storage: 1Gi}}}}
"#
    ));
    // The controller's verdicts: `fits` binds to the 2Gi PV, the others stay Pending
    // with the events it records.
    let settled = harness::wait_for(Duration::from_secs(60), || {
        (claim_phase(env, &ns, "fits") == "Bound"
            && has_event(env, &ns, "taken", "FailedBinding")
            && has_event(env, &ns, "modes", "FailedBinding"))
        .then_some(())
    });
    assert!(
        settled.is_some(),
        "the PV controller did not act: {}",
        env.kubectl_ok(&["get", "pvc,events", "-n", &ns])
    );
    for claim in ["small", "modes", "taken"] {
        assert_eq!(claim_phase(env, &ns, claim), "Pending", "{claim}");
    }

    let live = pvc_finding(&env.triage(&["check", "-n", &ns, "-o", "json"]));
    let by_claim = |claim: &str| -> Value {
        live["details"]["failing"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["claim"] == claim)
            .cloned()
            .unwrap_or(Value::Null)
    };
    assert_eq!(by_claim("small")["problem"], "noFittingVolume", "{live:#}");
    assert_eq!(by_claim("small")["closest"], format!("{ns}-pv-small"));
    assert_eq!(by_claim("small")["mismatches"][0]["reason"], "capacity");
    assert_eq!(by_claim("small")["mismatches"].as_array().unwrap().len(), 1);
    assert_eq!(
        by_claim("modes")["closest"],
        format!("{ns}-pv-rox"),
        "{live:#}"
    );
    assert_eq!(by_claim("modes")["mismatches"][0]["reason"], "accessModes");
    assert_eq!(by_claim("taken")["problem"], "namedVolumeMismatch");
    assert_eq!(
        by_claim("taken")["mismatches"][0]["claimRef"],
        format!("{ns}/other")
    );
    assert_eq!(by_claim("fits"), Value::Null, "a bound claim is fine");
    let summary = live["summary"].as_str().unwrap();
    assert!(
        summary.contains(&format!(
            "closest PV `{ns}-pv-small` does not fit: capacity 1Gi < requested 10Gi (spec.capacity.storage)"
        )),
        "{summary}"
    );
    let evidence = live["evidence"].to_string();
    assert!(
        evidence.contains("already bound to a different claim"),
        "the controller's own event is evidence: {evidence}"
    );
    let causes: Vec<&str> = live["causedBy"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    for pv in ["pv-small", "pv-rox", "pv-taken"] {
        assert!(
            causes.contains(&format!("{ns}-{pv}").as_str()),
            "{causes:?}"
        );
    }

    // The snapshot keeps the namespace's PVs, and reads back to the same finding.
    let snapshot = env.triage(&["snapshot", "-n", &ns]);
    assert_eq!(snapshot.status.code(), Some(0), "{}", stderr(&snapshot));
    let text = stdout(&snapshot);
    assert!(
        text.contains(&format!("name: {ns}-pv-small")),
        "PVs in the snapshot"
    );
    let path = env.dir.join(format!("{ns}.yaml"));
    std::fs::write(&path, &text).unwrap();
    let live_again = pvc_finding(&env.triage(&["check", "-n", &ns, "-o", "json"]));
    let offline = pvc_finding(&env.triage(&[
        "check",
        "-n",
        &ns,
        "--snapshot",
        path.to_str().unwrap(),
        "-o",
        "json",
    ]));
    assert_eq!(live_again, offline);
    assert_eq!(live["details"], offline["details"]);

    // triage never repairs a static binding: the plan says what to change by hand.
    let repair = env.triage(&["repair", "-n", &ns, "--dry-run", "-o", "json"]);
    let text = format!("{}{}", stdout(&repair), stderr(&repair));
    assert!(text.contains("change by hand"), "{text}");
    assert!(!text.contains("\"kind\": \"PersistentVolume\""), "{text}");
}
