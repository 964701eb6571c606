//! What a repair step will do, for a person to read before saying yes: the reason,
//! what it unblocks, warnings, and per action a diff of the object (or the exact
//! delete). Server-owned noise (managedFields, status) is left out of the diff.

use serde_json::Value;
use similar::TextDiff;

use crate::repair::{Action, RepairPlan, Step};

/// The object as a person wants to compare it: no managedFields, no status.
pub fn readable(object: &Value) -> Value {
    let mut object = object.clone();
    if let Some(meta) = object.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.remove("managedFields");
    }
    if let Some(map) = object.as_object_mut() {
        map.remove("status");
    }
    object
}

fn yaml(object: &Value) -> String {
    serde_saphyr::to_string(&readable(object)).unwrap_or_default()
}

/// A unified diff of two objects' YAML, three lines of context.
pub fn diff(before: &Value, after: &Value) -> String {
    let (old, new) = (yaml(before), yaml(after));
    TextDiff::from_lines(&old, &new)
        .unified_diff()
        .context_radius(3)
        .header("before", "after")
        .to_string()
}

fn identity(object: &Value) -> String {
    let uid = object
        .pointer("/metadata/uid")
        .and_then(Value::as_str)
        .unwrap_or("?");
    let version = object
        .pointer("/metadata/resourceVersion")
        .and_then(Value::as_str)
        .unwrap_or("?");
    format!("uid {uid}, resourceVersion {version}")
}

/// The preview of one step, numbered `number` of `total`.
pub fn step_preview(step: &Step, number: usize, total: usize) -> String {
    let mut out = format!("\n== Step {number}/{total} `{}`: {}\n", step.id, step.title);
    out.push_str(&format!("why: {}\n", step.reason));
    if !step.unblocks.is_empty() {
        out.push_str(&format!("unblocks: {}\n", step.unblocks.join(", ")));
    }
    for warning in &step.warnings {
        out.push_str(&format!("warning: {warning}\n"));
    }
    for action in &step.actions {
        let target = action.target();
        match action {
            Action::Patch { before, after, .. } => {
                out.push_str(&format!(
                    "patch {} ({}):\n",
                    target.short(),
                    identity(before)
                ));
                out.push_str(&diff(before, after));
            }
            Action::Create { object, .. } => {
                out.push_str(&format!("create {}:\n", target.short()));
                out.push_str(&diff(&Value::Null, object));
            }
            Action::Delete { before, .. } => {
                out.push_str(&format!(
                    "delete {} ({}), propagation Background, not forced\n",
                    target.short(),
                    identity(before)
                ));
            }
            Action::Replace { before, after, .. } => {
                out.push_str(&format!(
                    "replace {} ({}) with:\n",
                    target.short(),
                    identity(before)
                ));
                // Server-set metadata (uid, creationTimestamp) would be noise: the
                // replacement keeps them.
                out.push_str(&diff(
                    &crate::backup::restorable(before.clone()),
                    &crate::backup::restorable(after.clone()),
                ));
            }
            Action::Recreate { before, after, .. } => {
                out.push_str(&format!(
                    "recreate {} ({}): delete, then create as below (the changed field is immutable); \
                     if the create fails, the original is created again\n",
                    target.short(),
                    identity(before)
                ));
                out.push_str(&diff(before, after));
            }
            Action::RunJob {
                object,
                timeout_seconds,
                unless_tables,
                after_jobs,
                ..
            } => {
                for earlier in after_jobs {
                    out.push_str(&format!(
                        "first wait for job/{earlier}, started by an earlier run and still running\n"
                    ));
                }
                let skip = if unless_tables.is_empty() {
                    String::new()
                } else {
                    format!(
                        " (skipped if the database already has {})",
                        unless_tables.join(", ")
                    )
                };
                out.push_str(&format!(
                    "run Job {} and wait up to {timeout_seconds}s for it to succeed{skip}:\n",
                    target.short()
                ));
                out.push_str(&diff(&Value::Null, object));
            }
            Action::WriteSchema {
                before,
                version_key,
                version,
                tables_key,
                expected,
                ..
            } => {
                out.push_str(&format!(
                    "patch {} ({}): {version_key}={version} and {tables_key}=<the tables the database shows at apply time>, \
                     only if it has {}; otherwise nothing is written\n",
                    target.short(),
                    identity(before),
                    expected.join(", ")
                ));
            }
        }
    }
    out
}

/// The whole plan in a few lines, before the first step.
pub fn plan_summary(plan: &RepairPlan) -> String {
    let mut out = String::new();
    if plan.steps.is_empty() {
        out.push_str("Nothing to repair.\n");
    } else {
        let ids: Vec<&str> = plan.steps.iter().map(|s| s.id).collect();
        out.push_str(&format!("Repair order: {}\n", ids.join(" -> ")));
    }
    for refused in &plan.refused {
        out.push_str(&format!("refused `{}`: {}\n", refused.id, refused.reason));
    }
    for manual in &plan.manual {
        out.push_str(&format!(
            "not repaired here `{}`: {}\n",
            manual.id, manual.reason
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::{Finding, Status};
    use crate::repair::Target;
    use crate::snapshot::Kind;
    use serde_json::json;

    #[test]
    fn patch_preview_is_a_diff_without_server_noise() {
        let before = json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "lock", "uid": "u1", "resourceVersion": "7", "managedFields": [{"manager": "x"}]},
            "data": {"status": "locked", "lock-reason": "rollout"}});
        let mut after = before.clone();
        after["data"]["status"] = json!("unlocked");
        let finding = Finding::new("lock", Status::Fail, "lock held");
        let mut step = Step::new("lock", "release the lock", &finding);
        step.unblocks = vec!["derived-state"];
        step.actions.push(Action::Patch {
            target: Target::new(Kind::ConfigMap, "ns", "lock"),
            before,
            after,
        });
        let text = step_preview(&step, 5, 7);
        assert!(
            text.contains("== Step 5/7 `lock`: release the lock"),
            "{text}"
        );
        assert!(
            text.contains("patch configmap/lock (uid u1, resourceVersion 7)"),
            "{text}"
        );
        assert!(
            text.contains("-  status: locked\n+  status: unlocked"),
            "{text}"
        );
        assert!(!text.contains("managedFields"), "{text}");
        assert!(text.contains("unblocks: derived-state"));
    }

    /// Every repair's preview on the incident fixture, as a person reads it before
    /// answering: one snapshot per step id.
    #[test]
    fn incident_previews() {
        let context =
            crate::repair::test_support::fixture_context("bleater-incident.yaml", "bleater");
        let findings: Vec<Finding> = crate::signals::ALL
            .iter()
            .map(|s| s.evaluate(&context))
            .collect();
        let options = crate::repair::RepairOptions {
            now: context.now,
            ..Default::default()
        };
        let plan = crate::repair::plan_repairs(&context, &findings, &options, &|_, _| true);
        assert_eq!(plan.steps.len(), 9);
        let total = plan.steps.len();
        for (index, step) in plan.steps.iter().enumerate() {
            insta::assert_snapshot!(
                format!("preview_{}", step.id),
                step_preview(step, index + 1, total)
            );
        }
    }

    /// `restore`'s replace: a diff against the live object, without the server-set
    /// metadata the replacement keeps.
    #[test]
    fn restore_replace_preview() {
        let live = json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "settings", "namespace": "shop", "uid": "u1", "resourceVersion": "9",
                         "creationTimestamp": "2024-11-19T03:00:00Z"},
            "data": {"mode": "lax"}});
        let backup = json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "settings", "namespace": "shop"},
            "data": {"mode": "strict"}});
        let finding = Finding::new("restore", Status::Fail, "backup `/runs/r/001.yaml`");
        let mut step = Step::new(
            "restore",
            "put back configmap/settings from its backup",
            &finding,
        );
        step.actions.push(Action::Replace {
            target: Target::new(Kind::ConfigMap, "shop", "settings"),
            before: live,
            after: backup,
        });
        insta::assert_snapshot!(step_preview(&step, 1, 1));
    }
}
