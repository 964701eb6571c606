//! `lock`: release a held hook-reconciliation lock in place. The reason key gets an
//! audit value (`resolved-<date>-<text>`), never a blank: the next responder must be
//! able to tell a lock that was released on purpose from one nobody ever set.

use serde_json::Value;

use super::{Action, Refusal, Repair, RepairOptions, Step, Target, details_of};
use crate::finding::{Context, Finding};
use crate::signals::lock::Details;
use crate::snapshot::{HasMeta, Kind, in_namespace};

pub struct ReleaseLock;

const ID: &str = "lock";

impl Repair for ReleaseLock {
    fn id(&self) -> &'static str {
        ID
    }

    fn plan(
        &self,
        context: &Context,
        finding: &Finding,
        options: &RepairOptions,
    ) -> Result<Step, Refusal> {
        let details = details_of::<Details>(ID, finding)?;
        if details.locks.is_empty() {
            return Err(Refusal::new(ID, "the lock finding names no lock"));
        }
        let audit = audit_value(options);
        let mut step = Step::new(ID, "", finding);
        let mut names = Vec::new();
        for lock in &details.locks {
            let name = lock.config_map.as_str();
            let key = lock.key.as_str();
            let config_map = in_namespace(&context.snapshot.config_maps, context.namespace)
                .into_iter()
                .find(|cm| cm.name() == name)
                .ok_or_else(|| {
                    Refusal::new(
                        ID,
                        format!("lock ConfigMap `{name}` is not in the snapshot"),
                    )
                })?;
            let before =
                serde_json::to_value(config_map).map_err(|e| Refusal::new(ID, e.to_string()))?;
            let mut after = before.clone();
            after["data"][key] = Value::String(lock.unlocked_value.clone());
            if let Some(reason_key) = &lock.reason_key {
                after["data"][reason_key] = Value::String(audit.clone());
            }
            names.push(format!("`{name}`"));
            step.actions.push(Action::Patch {
                target: Target::new(Kind::ConfigMap, context.namespace, name),
                before,
                after,
            });
        }
        step.title = format!(
            "release the lock in {} (reason becomes `{audit}`)",
            names.join(", ")
        );
        Ok(step)
    }
}

/// `resolved-2024-11-19-hardening-rollback`: the date of the repair and the user's
/// reason, lower-case, spaces as dashes.
fn audit_value(options: &RepairOptions) -> String {
    let date = options
        .now
        .map(|now| now.strftime("%Y-%m-%d").to_string())
        .unwrap_or_else(|| "unknown-date".to_string());
    let text = options.reason.as_deref().unwrap_or("triage-repair");
    let slug: String = text
        .trim()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    format!("resolved-{date}-{}", slug.trim_matches('-'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::repair::test_support::{fixture_context, plan_for};

    #[test]
    fn releases_the_incident_lock_with_an_audit_reason() {
        let options = RepairOptions {
            now: Some("2024-11-19T04:30:00Z".parse().unwrap()),
            reason: Some("Hardening rollback".to_string()),
            ..RepairOptions::default()
        };
        let step = plan_for(
            &fixture_context("bleater-incident.yaml", "bleater"),
            &ReleaseLock,
            &options,
        )
        .unwrap();
        let [
            Action::Patch {
                target,
                before,
                after,
            },
        ] = step.actions.as_slice()
        else {
            panic!("one patch expected: {:?}", step.actions);
        };
        assert_eq!(target.name, "hook-reconciliation-lock");
        assert_eq!(before["data"]["status"], "locked");
        assert_eq!(after["data"]["status"], "unlocked");
        assert_eq!(
            after["data"]["lock-reason"],
            "resolved-2024-11-19-hardening-rollback"
        );
        // Nothing else changes: metadata (uid, resourceVersion) and other keys stay.
        assert_eq!(after["metadata"], before["metadata"]);
        assert_eq!(after["data"]["locked-by"], before["data"]["locked-by"]);
    }

    #[test]
    fn generic_lock_without_reason_key_only_flips_the_value() {
        let step = plan_for(
            &fixture_context("shop-incident.yaml", "shop"),
            &ReleaseLock,
            &RepairOptions::default(),
        )
        .unwrap();
        let Action::Patch { after, before, .. } = &step.actions[0] else {
            panic!()
        };
        assert_eq!(before["data"]["state"], "locked");
        assert_eq!(after["data"]["state"], "unlocked");
    }

    #[test]
    fn audit_value_is_never_blank() {
        assert_eq!(
            audit_value(&RepairOptions::default()),
            "resolved-unknown-date-triage-repair"
        );
    }
}
