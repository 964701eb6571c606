//! `check -o sarif`: the check as a SARIF 2.1.0 log (OASIS Static Analysis Results
//! Interchange Format), the format code-scanning dashboards ingest. kube-score's SARIF
//! output is the model: one rule per check, one result per failing one.
//!
//! - `tool.driver.rules`: one per signal run, `id` = the signal id, in signal order;
//! - `results`: one per failing finding (`ok`, `info` and `unknown` have none), `level`
//!   `error`, `message.text` the finding's summary;
//! - `locations`: Kubernetes objects have no file and line, so each object the finding
//!   is about is a *logical* location (SARIF §3.33) of kind `resource` named
//!   `namespace/Kind/name`; the objects named as the cause are `relatedLocations`;
//! - the evidence (as in `-o json`) and the fix ride in the result's property bag.
//!
//! Validated against the OASIS schema (tests/data/sarif-schema-2.1.0.json) in
//! tests/formats.

use serde_json::{Value, json};

use crate::check::Check;
use crate::finding::{Finding, ObjectRef, Status};
use crate::signals;

pub const SCHEMA: &str =
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";

pub fn render(check: &Check) -> anyhow::Result<String> {
    let rules: Vec<Value> = check
        .findings
        .iter()
        .map(|finding| {
            let title = signals::by_id(finding.id).map_or(finding.id, |s| s.title());
            json!({
                "id": finding.id,
                "shortDescription": {"text": title},
                "defaultConfiguration": {"level": "error"},
            })
        })
        .collect();
    let results: Vec<Value> = check
        .findings
        .iter()
        .enumerate()
        .filter(|(_, f)| f.status == Status::Fail)
        .map(|(index, finding)| result(check, index, finding))
        .collect::<anyhow::Result<_>>()?;
    let mut properties = json!({"namespace": check.namespace});
    if let Some(at) = check.captured_at {
        properties["capturedAt"] = json!(at.to_string());
    }
    if let Some(profile) = &check.profile {
        properties["profile"] = json!(profile);
    }
    let log = json!({
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "triage",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": rules,
            }},
            // Runs of the same namespace compare with each other, not with other namespaces'.
            "automationDetails": {"id": format!("triage/check/{}/", check.namespace)},
            "results": results,
            "properties": properties,
        }],
    });
    Ok(format!("{}\n", serde_json::to_string_pretty(&log)?))
}

fn result(check: &Check, rule_index: usize, finding: &Finding) -> anyhow::Result<Value> {
    let mut locations: Vec<Value> = finding
        .objects
        .iter()
        .map(|object| json!({"logicalLocations": [logical(object)]}))
        .collect();
    if locations.is_empty() {
        // A finding about the namespace as a whole (no object named): the namespace.
        locations.push(json!({"logicalLocations": [{
            "name": check.namespace,
            "fullyQualifiedName": check.namespace,
            "kind": "namespace",
        }]}));
    }
    let related: Vec<Value> = finding
        .caused_by
        .iter()
        .enumerate()
        .map(|(id, object)| {
            json!({
                "id": id,
                "message": {"text": format!("cause: {}", object.short())},
                "logicalLocations": [logical(object)],
            })
        })
        .collect();
    let mut properties = json!({"evidence": serde_json::to_value(&finding.evidence)?});
    if let Some(fix) = &finding.fix {
        properties["fix"] = json!(fix);
    }
    let mut result = json!({
        "ruleId": finding.id,
        "ruleIndex": rule_index,
        "level": "error",
        "kind": "fail",
        "message": {"text": finding.summary},
        "locations": locations,
        // Same signal and same objects: the same result across runs.
        "partialFingerprints": {"triageObjects/v1": fingerprint(finding)},
        "properties": properties,
    });
    if !related.is_empty() {
        result["relatedLocations"] = json!(related);
    }
    Ok(result)
}

/// `namespace/Kind/name` (`Kind/name` for cluster-scoped objects).
fn qualified(object: &ObjectRef) -> String {
    if object.namespace.is_empty() {
        format!("{}/{}", object.kind, object.name)
    } else {
        format!("{}/{}/{}", object.namespace, object.kind, object.name)
    }
}

fn logical(object: &ObjectRef) -> Value {
    json!({
        "name": object.name,
        "fullyQualifiedName": qualified(object),
        "kind": "resource",
    })
}

fn fingerprint(finding: &Finding) -> String {
    let objects: Vec<String> = finding.objects.iter().map(qualified).collect();
    format!("{}:{}", finding.id, objects.join(","))
}
