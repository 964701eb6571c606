//! `pvc`: re-create a claim that never bound, on a StorageClass that exists. NB:
//! `spec.storageClassName` is immutable, so the change is delete + create, same name,
//! size, access modes, volume mode, labels and annotations (minus those that tie it to
//! an earlier binding attempt). Only a claim that is Pending and never had a volume is
//! touched: there is no data to lose. A Bound claim, one with a volumeName, or one a
//! Running pod mounts is refused.

use serde_json::Value;

use super::{Action, Refusal, Repair, RepairOptions, Step, Target, details_of, snapshot_value};
use crate::finding::{Context, Finding};
use crate::k8s::storage::BINDING_ANNOTATIONS;
use crate::signals::pvc::Details;
use crate::snapshot::{HasMeta, Kind, in_namespace};

pub struct RecreateClaim;

const ID: &str = "pvc";

impl Repair for RecreateClaim {
    fn id(&self) -> &'static str {
        ID
    }

    fn plan(
        &self,
        context: &Context,
        finding: &Finding,
        options: &RepairOptions,
    ) -> Result<Step, Refusal> {
        let ns = context.namespace;
        let snapshot = context.snapshot;
        let details = details_of::<Details>(ID, finding)?;
        let recreate = details
            .recreate
            .as_ref()
            .filter(|r| !r.claims.is_empty())
            .ok_or_else(|| match &finding.fix {
                // Static binding, a failing provisioner, a missing claim: what to change
                // is on the claim's author or the administrator's PV; triage never edits
                // a PersistentVolume.
                Some(fix) if !details.failing.is_empty() => Refusal::new(
                    ID,
                    format!("no claim to re-create on another class; change by hand: {fix}"),
                ),
                _ => Refusal::new(ID, "the pvc finding names no claim"),
            })?;
        let claims = &recreate.claims;
        let class_name = options
            .storage_class
            .clone()
            .or_else(|| recreate.suggested_class.clone())
            .ok_or_else(|| {
                Refusal::new(
                    ID,
                    "no StorageClass to use: the cluster has no default class; pass --storage-class",
                )
            })?;
        let class = snapshot
            .storage_classes
            .iter()
            .find(|c| c.name() == class_name)
            .ok_or_else(|| {
                Refusal::new(
                    ID,
                    format!("StorageClass `{class_name}` does not exist in the cluster"),
                )
            })?;
        let mut step = Step::new(ID, "", finding);
        let mut names = Vec::new();
        for name in claims.keys() {
            let claim = in_namespace(&snapshot.persistent_volume_claims, ns)
                .into_iter()
                .find(|c| c.name() == name)
                .ok_or_else(|| Refusal::new(ID, format!("PVC `{name}` is not in the snapshot")))?;
            let phase = claim
                .status
                .as_ref()
                .and_then(|s| s.phase.as_deref())
                .unwrap_or("Pending");
            if phase != "Pending" {
                return Err(Refusal::new(
                    ID,
                    format!(
                        "PVC `{name}` is {phase}: only a Pending claim that never bound is re-created"
                    ),
                ));
            }
            if let Some(volume) = claim.spec.as_ref().and_then(|s| s.volume_name.as_deref()) {
                return Err(Refusal::new(
                    ID,
                    format!(
                        "PVC `{name}` names volume `{volume}`: it was bound once, re-creating it could lose data"
                    ),
                ));
            }
            for pod in in_namespace(&snapshot.pods, ns) {
                let mounts = pod
                    .spec
                    .iter()
                    .flat_map(|s| s.volumes.iter().flatten())
                    .any(|v| {
                        v.persistent_volume_claim
                            .as_ref()
                            .is_some_and(|c| c.claim_name == *name)
                    });
                if !mounts {
                    continue;
                }
                let pod_phase = pod
                    .status
                    .as_ref()
                    .and_then(|s| s.phase.as_deref())
                    .unwrap_or("Pending");
                if pod_phase == "Running" {
                    return Err(Refusal::new(
                        ID,
                        format!("PVC `{name}` is mounted by Running pod `{}`", pod.name()),
                    ));
                }
                step.warnings.push(format!(
                    "pod `{}` ({pod_phase}) uses PVC `{name}`: it picks up the new claim by name",
                    pod.name()
                ));
            }
            let before = snapshot_value(ID, claim)?;
            let mut after = before.clone();
            super::strip_server_fields(&mut after);
            after["spec"]["storageClassName"] = Value::String(class_name.clone());
            if let Some(annotations) = after["metadata"]
                .get_mut("annotations")
                .and_then(Value::as_object_mut)
            {
                for key in BINDING_ANNOTATIONS {
                    annotations.remove(key);
                }
                if annotations.is_empty() {
                    after["metadata"]
                        .as_object_mut()
                        .expect("metadata is an object")
                        .remove("annotations");
                }
            }
            let old_class = claims[name].as_str();
            names.push(if old_class.is_empty() {
                format!("`{name}`")
            } else {
                format!("`{name}` (was `{old_class}`)")
            });
            step.actions.push(Action::Recreate {
                target: Target::new(Kind::PersistentVolumeClaim, ns, name),
                before,
                after,
            });
        }
        if class.volume_binding_mode.as_deref() == Some("WaitForFirstConsumer") {
            step.warnings.push(format!(
                "`{class_name}` is WaitForFirstConsumer: the new claim stays Pending until a pod that mounts it is scheduled (expected, not a failure)"
            ));
        }
        step.title = format!(
            "re-create PVC {} on StorageClass `{class_name}`, same name and size (never bound: no data to lose)",
            names.join(", ")
        );
        Ok(step)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::repair::test_support::{
        context_of, finding_for, fixture_context, fixture_snapshot, plan_for,
    };
    use k8s_openapi::api::core::v1::{PersistentVolumeClaimVolumeSource, Volume};

    fn recreate(step: &Step) -> (&Value, &Value) {
        let [Action::Recreate { before, after, .. }] = step.actions.as_slice() else {
            panic!("one recreate expected: {:?}", step.actions);
        };
        (before, after)
    }

    #[test]
    fn recreates_the_incident_claim_on_the_default_class() {
        let step = plan_for(
            &fixture_context("bleater-incident.yaml", "bleater"),
            &RecreateClaim,
            &RepairOptions::default(),
        )
        .unwrap();
        let (before, after) = recreate(&step);
        assert_eq!(before["spec"]["storageClassName"], "fast-ssd-tier");
        assert_eq!(after["spec"]["storageClassName"], "local-path");
        assert_eq!(after["metadata"]["name"], "bleat-migration-pvc");
        assert_eq!(after["spec"]["resources"]["requests"]["storage"], "5Gi");
        assert_eq!(after["spec"]["accessModes"], before["spec"]["accessModes"]);
        assert_eq!(after["spec"]["volumeMode"], "Filesystem");
        assert_eq!(after["metadata"]["labels"], before["metadata"]["labels"]);
        assert_eq!(
            after["metadata"]["annotations"]["bleater.io/change-ticket"],
            "SEC-2291"
        );
        assert!(after.get("status").is_none());
        assert!(after["metadata"].get("uid").is_none());
        assert!(after["metadata"].get("resourceVersion").is_none());
        assert!(
            step.warnings
                .iter()
                .any(|w| w.contains("WaitForFirstConsumer")),
            "{:?}",
            step.warnings
        );
    }

    #[test]
    fn shop_claim_takes_the_chosen_class_and_drops_binding_annotations() {
        let mut snapshot = fixture_snapshot("shop-incident.yaml");
        let claim = snapshot
            .persistent_volume_claims
            .iter_mut()
            .find(|c| c.name() == "orders-data")
            .unwrap();
        claim.metadata.annotations = Some(
            [
                (
                    "volume.kubernetes.io/selected-node".to_string(),
                    "n1".into(),
                ),
                ("team".to_string(), "commerce".into()),
            ]
            .into(),
        );
        let options = RepairOptions {
            storage_class: Some("standard-rwo".to_string()),
            ..RepairOptions::default()
        };
        let step = plan_for(&context_of(snapshot, "shop"), &RecreateClaim, &options).unwrap();
        let (_, after) = recreate(&step);
        assert_eq!(after["spec"]["storageClassName"], "standard-rwo");
        assert_eq!(after["spec"]["resources"]["requests"]["storage"], "50Gi");
        assert_eq!(
            after["metadata"]["annotations"],
            serde_json::json!({"team": "commerce"})
        );
    }

    #[test]
    fn a_class_that_does_not_exist_is_refused() {
        let options = RepairOptions {
            storage_class: Some("premium-rwo".to_string()),
            ..RepairOptions::default()
        };
        let refusal = plan_for(
            &fixture_context("shop-incident.yaml", "shop"),
            &RecreateClaim,
            &options,
        )
        .unwrap_err();
        assert!(
            refusal.reason.contains("does not exist"),
            "{}",
            refusal.reason
        );
    }

    #[test]
    fn look_alike_bound_claim_is_refused() {
        // The incident's finding, planned against the healthy namespace where the
        // same claim is Bound with a volumeName.
        let finding = finding_for(
            &fixture_context("bleater-incident.yaml", "bleater"),
            &RecreateClaim,
        );
        let healthy = fixture_context("bleater-healthy.yaml", "bleater");
        let refusal = RecreateClaim
            .plan(&healthy, &finding, &RepairOptions::default())
            .unwrap_err();
        assert!(refusal.reason.contains("is Bound"), "{}", refusal.reason);
    }

    #[test]
    fn look_alike_claim_with_a_volume_name_is_refused() {
        let mut snapshot = fixture_snapshot("bleater-incident.yaml");
        let claim = snapshot
            .persistent_volume_claims
            .iter_mut()
            .find(|c| c.name() == "bleat-migration-pvc")
            .unwrap();
        claim.spec.as_mut().unwrap().volume_name = Some("pvc-old".to_string());
        let refusal = plan_for(
            &context_of(snapshot, "bleater"),
            &RecreateClaim,
            &RepairOptions::default(),
        )
        .unwrap_err();
        assert!(refusal.reason.contains("pvc-old"), "{}", refusal.reason);
    }

    #[test]
    fn look_alike_claim_mounted_by_a_running_pod_is_refused() {
        let mut snapshot = fixture_snapshot("bleater-incident.yaml");
        let pod = snapshot
            .pods
            .iter_mut()
            .find(|p| {
                p.namespace() == "bleater"
                    && p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running")
            })
            .unwrap();
        let pod_name = pod.name().to_string();
        pod.spec
            .as_mut()
            .unwrap()
            .volumes
            .get_or_insert_with(Vec::new)
            .push(Volume {
                name: "scratch".to_string(),
                persistent_volume_claim: Some(PersistentVolumeClaimVolumeSource {
                    claim_name: "bleat-migration-pvc".to_string(),
                    read_only: None,
                }),
                ..Volume::default()
            });
        let refusal = plan_for(
            &context_of(snapshot, "bleater"),
            &RecreateClaim,
            &RepairOptions::default(),
        )
        .unwrap_err();
        assert!(
            refusal
                .reason
                .contains(&format!("mounted by Running pod `{pod_name}`")),
            "{}",
            refusal.reason
        );
    }
}
