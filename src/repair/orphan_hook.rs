//! `orphan-hook`: strip the stuck finalizer from an orphaned hook Job, then delete it
//! (never `--force`). NB: a finalizer nobody will ever remove makes a delete hang
//! forever (https://kubernetes.io/docs/concepts/overview/working-with-objects/finalizers/),
//! so the patch comes first. Only the non-standard hook-cleanup finalizers go; the
//! Job controller's own (`batch.kubernetes.io/job-tracking`) and any other
//! `kubernetes.io` one stay. A Job with any sign of an owner (crate::k8s::markers) is
//! refused even if the finding lists it: its owner cleans it up.

use super::{Action, Refusal, Repair, RepairOptions, Step, Target, details_of, snapshot_value};
use crate::finding::{Context, Finding};
use crate::k8s::markers;
use crate::signals::orphan_hook::Details;
use crate::snapshot::{HasMeta, Kind, in_namespace};

pub struct RemoveOrphanHook;

const ID: &str = "orphan-hook";

/// Finalizers Kubernetes itself manages (the Job controller's, garbage collection's):
/// never stripped.
fn is_standard(finalizer: &str) -> bool {
    finalizer.contains("kubernetes.io/")
        || finalizer.contains("k8s.io/")
        || matches!(finalizer, "foregroundDeletion" | "orphan")
}

impl Repair for RemoveOrphanHook {
    fn id(&self) -> &'static str {
        ID
    }

    fn plan(
        &self,
        context: &Context,
        finding: &Finding,
        _options: &RepairOptions,
    ) -> Result<Step, Refusal> {
        let ns = context.namespace;
        let details = details_of::<Details>(ID, finding)?;
        let orphans = &details.orphans;
        if orphans.is_empty() {
            return Err(Refusal::new(ID, "the orphan-hook finding names no Job"));
        }
        let mut step = Step::new(ID, "", finding);
        let mut done = Vec::new();
        for name in orphans {
            let job = in_namespace(&context.snapshot.jobs, ns)
                .into_iter()
                .find(|j| j.name() == name.as_str())
                .ok_or_else(|| Refusal::new(ID, format!("Job `{name}` is not in the snapshot")))?;
            let owners = markers::ownership(&job.metadata, context.owner_labels()).reasons;
            if !owners.is_empty() {
                return Err(Refusal::new(
                    ID,
                    format!(
                        "Job `{name}` is managed ({}): its owner cleans it up, triage never deletes it",
                        owners.join(", ")
                    ),
                ));
            }
            let before = snapshot_value(ID, job)?;
            let finalizers: Vec<&str> = job
                .metadata
                .finalizers
                .iter()
                .flatten()
                .map(String::as_str)
                .collect();
            let (kept, stuck): (Vec<&str>, Vec<&str>) =
                finalizers.iter().partition(|f| is_standard(f));
            let target = Target::new(Kind::Job, ns, name);
            if !stuck.is_empty() {
                let mut after = before.clone();
                let meta = after["metadata"]
                    .as_object_mut()
                    .expect("metadata is an object");
                if kept.is_empty() {
                    meta.remove("finalizers");
                } else {
                    meta.insert("finalizers".to_string(), kept.clone().into());
                }
                step.actions.push(Action::Patch {
                    target: target.clone(),
                    before: before.clone(),
                    after,
                });
            }
            step.actions.push(Action::Delete { target, before });
            done.push(if stuck.is_empty() {
                format!("delete Job `{name}`")
            } else {
                format!(
                    "remove finalizer `{}` from Job `{name}`, then delete it",
                    stuck.join("`, `")
                )
            });
        }
        let protected: Vec<String> = details
            .protected
            .iter()
            .map(|p| format!("`{}`", p.name))
            .collect();
        if !protected.is_empty() {
            step.warnings
                .push(format!("left alone (managed): {}", protected.join(", ")));
        }
        step.title = done.join("; ");
        Ok(step)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::repair::test_support::{context_of, fixture_context, fixture_snapshot, plan_for};

    #[test]
    fn strips_the_finalizer_then_deletes_the_incident_orphan() {
        let step = plan_for(
            &fixture_context("bleater-incident.yaml", "bleater"),
            &RemoveOrphanHook,
            &RepairOptions::default(),
        )
        .unwrap();
        let [
            Action::Patch {
                target,
                before,
                after,
            },
            Action::Delete {
                target: deleted,
                before: delete_before,
            },
        ] = step.actions.as_slice()
        else {
            panic!("patch then delete expected: {:?}", step.actions);
        };
        assert_eq!(target.name, "auth-presync-migrate-legacy7r2x");
        assert_eq!(deleted, target);
        assert_eq!(delete_before, before);
        assert_eq!(
            before["metadata"]["finalizers"],
            serde_json::json!(["bleater.io/hook-cleanup"])
        );
        assert!(after["metadata"].get("finalizers").is_none());
        // Nothing but the finalizers changes.
        let mut rest = before.clone();
        rest["metadata"]
            .as_object_mut()
            .unwrap()
            .remove("finalizers");
        assert_eq!(&rest, after);
        assert!(step.warnings[0].contains("`fanout-presync-validate`"));
        assert!(
            step.title
                .contains("remove finalizer `bleater.io/hook-cleanup`"),
            "{}",
            step.title
        );
    }

    #[test]
    fn keeps_the_job_tracking_finalizer() {
        let mut snapshot = fixture_snapshot("shop-incident.yaml");
        let job = snapshot
            .jobs
            .iter_mut()
            .find(|j| j.name() == "orders-presync-db-init")
            .unwrap();
        job.metadata.finalizers = Some(vec![
            "batch.kubernetes.io/job-tracking".to_string(),
            "shop.example.com/cleanup".to_string(),
        ]);
        let step = plan_for(
            &context_of(snapshot, "shop"),
            &RemoveOrphanHook,
            &RepairOptions::default(),
        )
        .unwrap();
        let Action::Patch { after, .. } = &step.actions[0] else {
            panic!("{:?}", step.actions)
        };
        assert_eq!(
            after["metadata"]["finalizers"],
            serde_json::json!(["batch.kubernetes.io/job-tracking"])
        );
        assert!(matches!(step.actions[1], Action::Delete { .. }));
    }

    #[test]
    fn look_alike_decoy_named_as_orphan_is_refused() {
        let context = fixture_context("bleater-incident.yaml", "bleater");
        let mut finding = Finding::fail(ID, "hand-made: names the decoy");
        finding.detail("orphans", ["fanout-presync-validate"]);
        let refusal = RemoveOrphanHook
            .plan(&context, &finding, &RepairOptions::default())
            .unwrap_err();
        assert!(
            refusal
                .reason
                .contains("Job `fanout-presync-validate` is managed"),
            "{}",
            refusal.reason
        );
        assert!(
            refusal.reason.contains("hook-delete-policy HookSucceeded"),
            "{}",
            refusal.reason
        );
        assert!(
            refusal.reason.contains("bleater.io/owner=platform-team"),
            "{}",
            refusal.reason
        );
    }

    #[test]
    fn look_alike_shop_job_with_an_owner_reference_is_refused() {
        let context = fixture_context("shop-incident.yaml", "shop");
        let mut finding = Finding::fail(ID, "hand-made");
        finding.detail(
            "orphans",
            ["orders-presync-db-init", "payments-presync-check"],
        );
        let refusal = RemoveOrphanHook
            .plan(&context, &finding, &RepairOptions::default())
            .unwrap_err();
        assert!(
            refusal
                .reason
                .contains("ownerReference ConfigMap/payments-release-state"),
            "{}",
            refusal.reason
        );
    }
}
