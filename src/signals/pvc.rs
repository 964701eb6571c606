//! `pvc`: why a PersistentVolumeClaim does not bind, or a pod's claim does not exist,
//! decided the way the PV controller decides it (`crate::k8s::volume_binding`).
//!
//! - A class that does not exist, or no class and no default class
//!   (<https://kubernetes.io/docs/concepts/storage/persistent-volumes/#class-1>): the
//!   claim is re-created on an existing class (`triage repair`).
//! - Static binding: `storageClassName: ""`, a class whose provisioner is
//!   `kubernetes.io/no-provisioner`, or no class while no default exists (the controller
//!   then looks for `""` PVs): the closest PersistentVolume and every reason it does not
//!   fit, each with its field (capacity, access modes, volume mode, selector, class,
//!   another claim's `claimRef`, a `Released` phase, node affinity). A claim whose
//!   `spec.volumeName` names a PV: that PV, missing or mismatched
//!   (`checkVolumeSatisfyClaim`). Never repaired: the fix says what to change on the
//!   claim or the PV, and triage never edits a PV.
//! - Dynamic provisioning that failed: `ProvisioningFailed` Warning events on a claim of
//!   an existing class.
//! - A bound local volume whose node affinity excludes the node a pending pod is pinned
//!   to, or that the scheduler reports as `volume node affinity conflict`.
//! - A pod that mounts a claim the namespace does not have, with the quota that refused
//!   its creation when an event says so (`exceeded quota: NAME`).
//!
//! Look-alikes that stay ok: a Pending claim on a `WaitForFirstConsumer` class with no
//! pod yet (<https://kubernetes.io/docs/concepts/storage/storage-classes/#volume-binding-mode>),
//! a `Released` PV no claim waits for, a bound claim whose PV served other claims before.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Event, PersistentVolume, PersistentVolumeClaim, Pod};
use serde::{Deserialize, Serialize};

use crate::finding::{Context, Evidence, Finding, ObjectRef, STARTUP_GRACE, Status};
use crate::k8s::storage::{class_names_default_first, is_default_class};
use crate::k8s::volume_binding::{self, Mismatch, NO_PROVISIONER, Path};
use crate::signals::{Chain, ChainState, Gate, Signal};
use crate::snapshot::index::claim_names;
use crate::snapshot::{HasMeta, Kind, in_namespace};

pub struct Pvc;

pub const ID: &str = "pvc";

/// One claim that does not bind (or does not exist), and why: the typed detail under
/// `failing` (claims on a missing class stay under `claims`, which the repair reads).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Failing {
    pub claim: String,
    #[serde(flatten)]
    pub problem: Problem,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "problem")]
pub enum Problem {
    /// Static binding found no PV that fits: the closest one (if any PV of the pool
    /// exists) and every mismatch.
    #[serde(rename_all = "camelCase")]
    NoFittingVolume {
        class: String,
        closest: Option<String>,
        mismatches: Vec<Mismatch>,
    },
    /// `spec.volumeName` names a PV that does not exist.
    #[serde(rename_all = "camelCase")]
    VolumeNotFound { volume: String },
    /// `spec.volumeName` names a PV that cannot take the claim.
    #[serde(rename_all = "camelCase")]
    NamedVolumeMismatch {
        volume: String,
        mismatches: Vec<Mismatch>,
    },
    /// The class's provisioner reported `ProvisioningFailed`.
    #[serde(rename_all = "camelCase")]
    ProvisioningFailed {
        class: String,
        provisioner: String,
        message: String,
    },
    /// The claim is bound, but its PV's node affinity keeps a pod off its node.
    #[serde(rename_all = "camelCase")]
    NodeAffinity {
        volume: String,
        pod: String,
        pod_nodes: Option<String>,
    },
    /// Pods mount a claim the namespace does not have.
    #[serde(rename_all = "camelCase")]
    MissingClaim {
        pods: Vec<String>,
        quota: Option<String>,
        message: Option<String>,
    },
}

/// Its section of `docs/signals.md`.
const DOCS: &str = r#"
Why a PersistentVolumeClaim does not bind, decided the way the PV controller decides it
(`src/k8s/volume_binding.rs`, after `pv_controller.go` `syncUnboundClaim` /
`checkVolumeSatisfyClaim`, `index.go` `findByClaim` and `FindMatchingVolume`).
[Binding](https://kubernetes.io/docs/concepts/storage/persistent-volumes/#binding),
[classes](https://kubernetes.io/docs/concepts/storage/persistent-volumes/#class-1),
[volume binding mode](https://kubernetes.io/docs/concepts/storage/storage-classes/#volume-binding-mode).
Reads claims, StorageClasses, PersistentVolumes (live: only those whose `claimRef` points
into the namespace, that a claim names, or that a waiting claim could bind to; a 403 is a
named gap and the PV-based reasons are then not judged), pods and events. Fails for:

- a claim naming a class that does not exist, or naming none when there is no default
  class and no `""` PV exists: lists the classes, the default first, suggests the default
  (`triage repair` re-creates the never-bound claim on it);
- static binding (`storageClassName: ""`, a `kubernetes.io/no-provisioner` class, or no
  class and no default while `""` PVs exist) with no PV that fits: the closest PV (fewest
  mismatches, then the smallest) and every reason with its field: `spec.capacity.storage`,
  `spec.accessModes`, `spec.volumeMode`, `metadata.labels` vs the claim's selector,
  `spec.storageClassName`, `spec.claimRef` held by another claim, `status.phase` (a
  `Released` PV keeps its old claimRef until an administrator reclaims it),
  `metadata.deletionTimestamp`, and on a `WaitForFirstConsumer` class with a stuck consumer,
  `spec.nodeAffinity` against the node the pod pins (`nodeName`, `nodeSelector`); or no PV
  of the class at all;
- `spec.volumeName` naming a PV that does not exist or does not fit (`VolumeMismatch`,
  "already bound to a different claim");
- `ProvisioningFailed` Warnings on a claim of an existing class (cause: the class);
- a bound local volume whose node affinity excludes the node a stuck pod is pinned to, or
  that the scheduler reports as `volume node affinity conflict`;
- a claim a pod mounts (volume or generic ephemeral volume) that does not exist, past the
  start-up grace or with an event; the ResourceQuota named in an `exceeded quota: NAME`
  event about it is its cause.

Static, provisioning and missing-claim reasons are never repaired: the fix says what to
change on the claim or the PV, and triage never writes a PV. Details: `claims` (what the
repair re-creates), `failing` (one typed item per other claim, with its mismatches).
Look-alikes (ok): a Pending claim on a `WaitForFirstConsumer` class with no pod yet, a
static claim with a fitting Available PV (bound on the controller's next sync), a
`Released` PV no claim waits for, a bound claim whose PV served other claims before, a
finished pod whose claim was deleted. Scope: the apps of the claims and of the pods
mounting them, else the whole namespace.
"#;

impl Signal for Pvc {
    fn id(&self) -> &'static str {
        ID
    }

    fn title(&self) -> &'static str {
        "PersistentVolumeClaims can bind"
    }

    fn reads(&self) -> &'static [Kind] {
        &[
            Kind::PersistentVolumeClaim,
            Kind::StorageClass,
            Kind::PersistentVolume,
            Kind::Pod,
            Kind::ResourceQuota,
            Kind::Event,
        ]
    }

    fn chain(&self) -> Option<Chain> {
        Some(Chain {
            state: ChainState::Progressing,
            position: 5,
        })
    }

    fn gates(&self) -> &'static [Gate] {
        &[
            Gate {
                gated: "schema",
                because: "the migration Job mounts the claim",
            },
            Gate {
                gated: "init-container",
                because: "the pod cannot mount its volume",
            },
        ]
    }

    fn rationale(&self) -> Option<&'static str> {
        Some("storage must bind before anything mounts it")
    }

    fn docs(&self) -> &'static str {
        DOCS
    }

    fn evaluate(&self, context: &Context) -> Finding {
        let snapshot = context.snapshot;
        let claims = in_namespace(&snapshot.persistent_volume_claims, context.namespace);
        if snapshot.gaps.contains_key(&Kind::StorageClass) {
            return Finding::unknown(ID, "StorageClasses could not be listed");
        }
        let volumes_readable = !snapshot.gaps.contains_key(&Kind::PersistentVolume);
        let classes = class_names_default_first(&snapshot.storage_classes);
        let classes_text = classes
            .iter()
            .map(|name| {
                let default = snapshot
                    .storage_classes
                    .iter()
                    .any(|c| c.name() == name && is_default_class(c));
                if default {
                    format!("{name} (default)")
                } else {
                    name.clone()
                }
            })
            .collect::<Vec<_>>()
            .join(", ");
        let has_default = snapshot.storage_classes.iter().any(is_default_class);
        let mut finding = Finding::ok(ID, "");
        let mut broken = Vec::new();
        let mut failing: Vec<(Failing, Vec<Evidence>)> = Vec::new();
        let mut apps = Vec::new();
        let mut waiting = 0;
        for claim in &claims {
            let phase = claim
                .status
                .as_ref()
                .and_then(|s| s.phase.as_deref())
                .unwrap_or("Pending");
            let object = ObjectRef::of(Kind::PersistentVolumeClaim, *claim);
            if phase == "Bound" {
                if let Some(item) = node_affinity_conflict(context, claim) {
                    failing.push(item);
                }
                continue;
            }
            if phase != "Pending" {
                continue;
            }
            let spec = claim.spec.as_ref();
            let consumers = consumers(context, claim.name());
            if let Some(volume) = spec
                .and_then(|s| s.volume_name.as_deref())
                .filter(|v| !v.is_empty())
            {
                if volumes_readable && let Some(item) = named_volume(context, claim, volume) {
                    failing.push(item);
                }
                continue;
            }
            let class_name = volume_binding::claim_class(claim);
            let class = class_name
                .as_deref()
                .map(|name| snapshot.storage_classes.iter().find(|c| c.name() == name));
            match (class_name.as_deref(), class) {
                (Some(""), _) => {
                    let note = "no dynamic provisioning: binds only an existing PersistentVolume of class \"\"";
                    judge_static(
                        context,
                        (claim, "", Path::Search, &consumers, note),
                        &mut failing,
                        &mut finding.evidence,
                    );
                }
                (Some(name), Some(Some(class))) => {
                    let mode = class.volume_binding_mode.as_deref().unwrap_or("Immediate");
                    let wait_for_consumer = mode == "WaitForFirstConsumer";
                    let provisioner = class.provisioner.as_str();
                    if wait_for_consumer && consumers.iter().all(|p| !stuck(context, p)) {
                        waiting += 1;
                        finding.evidence.push(Evidence::field_note(
                            &object,
                            "spec.storageClassName",
                            name,
                            "healthy: the class binds when a pod first uses the claim",
                        ));
                    } else if provisioner == NO_PROVISIONER {
                        let path = if wait_for_consumer {
                            Path::Scheduler
                        } else {
                            Path::Search
                        };
                        let note = format!(
                            "class `{name}` has provisioner {NO_PROVISIONER}: binds only an existing PersistentVolume of this class"
                        );
                        judge_static(
                            context,
                            (claim, name, path, &consumers, &note),
                            &mut failing,
                            &mut finding.evidence,
                        );
                    } else if let Some(item) =
                        provisioning_failed(context, claim, name, provisioner)
                    {
                        failing.push(item);
                    } else {
                        finding.evidence.push(Evidence::field_note(
                            &object,
                            "spec.storageClassName",
                            name,
                            format!("class `{name}` exists ({mode}); not this signal's fault"),
                        ));
                    }
                }
                (Some(name), _) => {
                    broken.push((claim, name.to_string()));
                    finding.evidence.push(Evidence::field_note(
                        &object,
                        "spec.storageClassName",
                        name,
                        format!(
                            "StorageClass not found; classes: {}",
                            or_none(&classes_text)
                        ),
                    ));
                }
                // No class and no default: the PV controller looks for `""` PVs
                // (GetPersistentVolumeClaimClass is "" for an unset class). Where there
                // are some, say why none fits; else the claim needs a class.
                (None, _)
                    if !has_default
                        && snapshot
                            .persistent_volumes
                            .iter()
                            .any(|v| volume_binding::volume_class(v).is_empty()) =>
                {
                    let note = "no class and no default class: binds only an existing PersistentVolume of class \"\"";
                    judge_static(
                        context,
                        (claim, "", Path::Search, &consumers, note),
                        &mut failing,
                        &mut finding.evidence,
                    );
                }
                (None, _) if classes.is_empty() || !has_default => {
                    broken.push((claim, String::new()));
                    finding.evidence.push(Evidence::field_note(
                        &object,
                        "spec.storageClassName",
                        "<unset>",
                        format!(
                            "no default StorageClass; classes: {}",
                            or_none(&classes_text)
                        ),
                    ));
                }
                (None, _) => {}
            }
        }
        failing.extend(missing_claims(context, &claims));
        for (claim, _) in &broken {
            let object = ObjectRef::of(Kind::PersistentVolumeClaim, **claim);
            finding.add_object(object.clone());
            finding
                .evidence
                .push(Evidence::field(&object, "status.phase", "Pending"));
            for event in context.warnings_for(Kind::PersistentVolumeClaim, claim.name()) {
                finding.evidence.push(Evidence::event(event));
            }
            apps.extend(claim_apps(context, Some(**claim), claim.name()));
        }
        for (item, evidence) in &failing {
            let claim = claims.iter().find(|c| c.name() == item.claim).copied();
            let claim_ref =
                ObjectRef::new(Kind::PersistentVolumeClaim, context.namespace, &item.claim);
            finding.add_object(claim_ref.clone());
            finding.evidence.extend(evidence.iter().cloned());
            apps.extend(claim_apps(context, claim, &item.claim));
            match &item.problem {
                Problem::NoFittingVolume {
                    closest: Some(volume),
                    ..
                }
                | Problem::NamedVolumeMismatch { volume, .. }
                | Problem::VolumeNotFound { volume }
                | Problem::NodeAffinity { volume, .. } => {
                    finding.add_cause_for(
                        &claim_ref,
                        ObjectRef::new(Kind::PersistentVolume, "", volume),
                    );
                }
                Problem::NoFittingVolume { closest: None, .. } => {}
                Problem::ProvisioningFailed { class, .. } => {
                    finding
                        .add_cause_for(&claim_ref, ObjectRef::new(Kind::StorageClass, "", class));
                }
                Problem::MissingClaim { pods, quota, .. } => {
                    // The missing claim and the pods waiting for it are explained by
                    // the claim's absence (and the quota that refused it), nothing more.
                    let mut affected = vec![claim_ref.clone()];
                    for pod in pods {
                        let pod = ObjectRef::new(Kind::Pod, context.namespace, pod);
                        finding.add_object(pod.clone());
                        affected.push(pod);
                    }
                    for object in &affected {
                        finding.add_cause_for(object, claim_ref.clone());
                        if let Some(quota) = quota {
                            finding.add_cause_for(
                                object,
                                ObjectRef::new(Kind::ResourceQuota, context.namespace, quota),
                            );
                        }
                    }
                }
            }
        }
        if broken.is_empty() && failing.is_empty() {
            finding.summary = if waiting > 0 {
                format!(
                    "{waiting} Pending claim(s) wait for a first consumer on an existing class; none names a missing class"
                )
            } else {
                format!("{} claim(s), none Pending on a missing class", claims.len())
            };
            return finding;
        }
        let suggested = classes.first().cloned();
        finding.status = Status::Fail;
        finding.scope = context.scope(apps);
        finding.objects.sort();
        let mut summaries: Vec<String> = broken
            .iter()
            .map(|(claim, class)| {
                if class.is_empty() {
                    format!(
                        "PVC `{}` Pending: no class and no default class",
                        claim.name()
                    )
                } else {
                    format!(
                        "PVC `{}` Pending on missing StorageClass `{class}`",
                        claim.name()
                    )
                }
            })
            .collect();
        let mut fixes = Vec::new();
        if !broken.is_empty() {
            let last = summaries.len() - 1;
            summaries[last].push_str(&format!(" (classes: {})", or_none(&classes_text)));
            fixes.push(match &suggested {
                Some(class) => format!(
                    "re-create {} with storageClassName `{class}`, same name and size (the class is immutable: export, delete, apply)",
                    broken
                        .iter()
                        .map(|(c, _)| format!("`{}`", c.name()))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                None => "create a StorageClass (none exists), then re-create the claim".to_string(),
            });
        }
        for (item, _) in &failing {
            summaries.push(summary_of(item));
            fixes.push(fix_of(item, context.namespace));
        }
        finding.summary = summaries.join("; ");
        finding.fix = Some(fixes.join("; "));
        finding.set_details(Details {
            recreate: (!broken.is_empty()).then(|| Recreate {
                classes,
                suggested_class: suggested,
                claims: broken
                    .iter()
                    .map(|(c, class)| (c.name().to_string(), class.clone()))
                    .collect(),
            }),
            failing: failing.into_iter().map(|(item, _)| item).collect(),
        });
        finding
    }
}

/// Pods of the namespace that mount `claim` and have not finished.
fn consumers<'a>(context: &Context<'a>, claim: &str) -> Vec<&'a Pod> {
    context
        .snapshot
        .pods_mounting(context.namespace, claim)
        .into_iter()
        .filter(|pod| {
            let phase = pod.status.as_ref().and_then(|s| s.phase.as_deref());
            !matches!(phase, Some("Succeeded" | "Failed"))
        })
        .collect()
}

/// A pod still Pending (not bound to a node or not started) past the start-up grace.
fn stuck(context: &Context, pod: &Pod) -> bool {
    let pending = pod.status.as_ref().and_then(|s| s.phase.as_deref()) != Some("Running");
    pending
        && context
            .age(pod.metadata.creation_timestamp.as_ref())
            .is_none_or(|age| age > STARTUP_GRACE)
}

/// The apps of a claim and of the pods that mount it.
fn claim_apps(context: &Context, claim: Option<&PersistentVolumeClaim>, name: &str) -> Vec<String> {
    let mut apps: Vec<String> = claim
        .into_iter()
        .filter_map(|c| context.app_of(&c.metadata))
        .collect();
    apps.extend(
        context
            .snapshot
            .pods_mounting(context.namespace, name)
            .into_iter()
            .filter_map(|pod| context.app_of(&pod.metadata)),
    );
    apps
}

/// The claim's binding events (the controller records `FailedBinding` as Normal when
/// no PV and no class exist, `VolumeMismatch` and "already bound" as Warning), and its
/// other Warnings, oldest first.
fn claim_events<'a>(context: &Context<'a>, claim: &str) -> Vec<&'a Event> {
    context
        .events_for(Kind::PersistentVolumeClaim, claim)
        .into_iter()
        .filter(|e| {
            e.type_.as_deref() == Some("Warning")
                || matches!(
                    e.reason.as_deref(),
                    Some("FailedBinding" | "VolumeMismatch" | "ProvisioningFailed")
                )
        })
        .collect()
}

/// Static binding judged, or, when the PVs could not be listed, said to be unjudged.
fn judge_static(
    context: &Context,
    (claim, class, path, consumers, note): (&PersistentVolumeClaim, &str, Path, &[&Pod], &str),
    failing: &mut Vec<(Failing, Vec<Evidence>)>,
    evidence: &mut Vec<Evidence>,
) {
    if context.snapshot.gaps.contains_key(&Kind::PersistentVolume) {
        evidence.push(Evidence::field_note(
            &ObjectRef::of(Kind::PersistentVolumeClaim, claim),
            "spec.storageClassName",
            if class.is_empty() { "\"\"" } else { class },
            "static binding, but PersistentVolumes could not be listed: not judged",
        ));
    } else if let Some(item) = static_binding(context, claim, class, path, consumers, note) {
        failing.push(item);
    }
}

/// `volume_binding` over the PVs the snapshot holds: the closest candidate and every
/// reason it does not fit; `None` when one fits (the controller binds it on its next
/// sync) or the PVs could not be read.
fn static_binding(
    context: &Context,
    claim: &PersistentVolumeClaim,
    class: &str,
    path: Path,
    consumers: &[&Pod],
    note: &str,
) -> Option<(Failing, Vec<Evidence>)> {
    let snapshot = context.snapshot;
    if snapshot.gaps.contains_key(&Kind::PersistentVolume) {
        return None;
    }
    let object = ObjectRef::of(Kind::PersistentVolumeClaim, claim);
    let ranked = volume_binding::candidates(claim, &snapshot.persistent_volumes, path, consumers);
    if ranked.first().is_some_and(|(_, m)| m.is_empty()) {
        return None;
    }
    let shown_class = if class.is_empty() {
        "\"\"".to_string()
    } else {
        class.to_string()
    };
    let mut evidence = vec![Evidence::field_note(
        &object,
        "spec.storageClassName",
        shown_class,
        note,
    )];
    let (closest, mismatches) = match ranked.first() {
        Some((volume, mismatches)) => {
            let pv = ObjectRef::of(Kind::PersistentVolume, *volume);
            for mismatch in mismatches {
                evidence.push(Evidence::field_note(
                    &pv,
                    mismatch.field(),
                    mismatch.value(),
                    mismatch.describe(),
                ));
            }
            (Some(volume.name().to_string()), mismatches.clone())
        }
        None => (None, Vec::new()),
    };
    evidence.push(Evidence::field(&object, "status.phase", "Pending"));
    evidence.extend(
        claim_events(context, claim.name())
            .into_iter()
            .map(Evidence::event),
    );
    for pod in consumers {
        evidence.extend(
            context
                .warnings_for(Kind::Pod, pod.name())
                .into_iter()
                .filter(|e| e.reason.as_deref() == Some("FailedScheduling"))
                .map(Evidence::event),
        );
    }
    Some((
        Failing {
            claim: claim.name().to_string(),
            problem: Problem::NoFittingVolume {
                class: class.to_string(),
                closest,
                mismatches,
            },
        },
        evidence,
    ))
}

/// A claim whose `spec.volumeName` names a PV (`syncUnboundClaim`, "volume requested").
fn named_volume(
    context: &Context,
    claim: &PersistentVolumeClaim,
    name: &str,
) -> Option<(Failing, Vec<Evidence>)> {
    let object = ObjectRef::of(Kind::PersistentVolumeClaim, claim);
    let volume: Option<&PersistentVolume> = context
        .snapshot
        .persistent_volumes
        .iter()
        .find(|v| v.name() == name);
    let mut evidence = Vec::new();
    let problem = match volume {
        None => {
            evidence.push(Evidence::field_note(
                &object,
                "spec.volumeName",
                name,
                "no such PersistentVolume: the controller retries until it exists",
            ));
            Problem::VolumeNotFound {
                volume: name.to_string(),
            }
        }
        Some(volume) if volume_binding::is_bound_to(volume, claim) => return None,
        Some(volume) => {
            let mismatches = volume_binding::mismatches(claim, volume, Path::Named, &[]);
            if mismatches.is_empty() {
                return None;
            }
            evidence.push(Evidence::field_note(
                &object,
                "spec.volumeName",
                name,
                "the claim asks for this PersistentVolume only",
            ));
            let pv = ObjectRef::of(Kind::PersistentVolume, volume);
            for mismatch in &mismatches {
                evidence.push(Evidence::field_note(
                    &pv,
                    mismatch.field(),
                    mismatch.value(),
                    mismatch.describe(),
                ));
            }
            Problem::NamedVolumeMismatch {
                volume: name.to_string(),
                mismatches,
            }
        }
    };
    evidence.push(Evidence::field(&object, "status.phase", "Pending"));
    evidence.extend(
        claim_events(context, claim.name())
            .into_iter()
            .map(Evidence::event),
    );
    Some((
        Failing {
            claim: claim.name().to_string(),
            problem,
        },
        evidence,
    ))
}

/// `ProvisioningFailed` Warnings on a claim of an existing class: the provisioner's own
/// error (`provisionClaimOperation` records it on the claim).
fn provisioning_failed(
    context: &Context,
    claim: &PersistentVolumeClaim,
    class: &str,
    provisioner: &str,
) -> Option<(Failing, Vec<Evidence>)> {
    let events: Vec<&Event> = context
        .warnings_for(Kind::PersistentVolumeClaim, claim.name())
        .into_iter()
        .filter(|e| e.reason.as_deref() == Some("ProvisioningFailed"))
        .collect();
    let last = events.last()?;
    let object = ObjectRef::of(Kind::PersistentVolumeClaim, claim);
    let mut evidence = vec![
        Evidence::field_note(
            &object,
            "spec.storageClassName",
            class,
            format!("class exists; its provisioner `{provisioner}` reports failures"),
        ),
        Evidence::field(&object, "status.phase", "Pending"),
    ];
    evidence.extend(events.iter().map(|e| Evidence::event(e)));
    Some((
        Failing {
            claim: claim.name().to_string(),
            problem: Problem::ProvisioningFailed {
                class: class.to_string(),
                provisioner: provisioner.to_string(),
                message: last.message.clone().unwrap_or_default().trim().to_string(),
            },
        },
        evidence,
    ))
}

/// The scheduler's message when a bound PV's node affinity rules a node out
/// (VolumeBinding plugin `ErrReasonNodeConflict`).
const NODE_CONFLICT: &str = "volume node affinity conflict";

/// A bound claim whose PV's node affinity keeps a stuck pod that mounts it off the node
/// it is pinned to, or that the scheduler names in a `FailedScheduling` event.
fn node_affinity_conflict(
    context: &Context,
    claim: &PersistentVolumeClaim,
) -> Option<(Failing, Vec<Evidence>)> {
    let name = claim.spec.as_ref()?.volume_name.as_deref()?;
    let volume = context
        .snapshot
        .persistent_volumes
        .iter()
        .find(|v| v.name() == name)?;
    volume.spec.as_ref()?.node_affinity.as_ref()?;
    for pod in consumers(context, claim.name()) {
        if !stuck(context, pod) {
            continue;
        }
        let pinned = volume_binding::node_conflict(volume, pod);
        let events: Vec<&Event> = context
            .warnings_for(Kind::Pod, pod.name())
            .into_iter()
            .filter(|e| {
                e.reason.as_deref() == Some("FailedScheduling")
                    && e.message
                        .as_deref()
                        .is_some_and(|m| m.contains(NODE_CONFLICT))
            })
            .collect();
        if pinned.is_none() && events.is_empty() {
            continue;
        }
        let pv = ObjectRef::of(Kind::PersistentVolume, volume);
        let claim_object = ObjectRef::of(Kind::PersistentVolumeClaim, claim);
        let mut evidence = vec![Evidence::field_note(
            &claim_object,
            "spec.volumeName",
            name,
            "bound",
        )];
        evidence.push(Evidence::field_note(
            &pv,
            "spec.nodeAffinity",
            "<required>",
            match &pinned {
                Some(nodes) => format!("excludes where pod `{}` may run ({nodes})", pod.name()),
                None => format!("the scheduler finds no node for pod `{}`", pod.name()),
            },
        ));
        evidence.extend(events.into_iter().map(Evidence::event));
        return Some((
            Failing {
                claim: claim.name().to_string(),
                problem: Problem::NodeAffinity {
                    volume: name.to_string(),
                    pod: pod.name().to_string(),
                    pod_nodes: pinned,
                },
            },
            evidence,
        ));
    }
    None
}

/// Claims that pods mount but the namespace does not have, with the quota an event
/// names as refusing their creation (`... persistentvolumeclaims "x" is forbidden:
/// exceeded quota: q, requested: requests.storage=...`, as the StatefulSet controller
/// records it). A pod younger than the start-up grace without an event is left alone:
/// its claim may be on its way.
fn missing_claims(
    context: &Context,
    claims: &[&PersistentVolumeClaim],
) -> Vec<(Failing, Vec<Evidence>)> {
    let mut missing: BTreeMap<String, Vec<&Pod>> = BTreeMap::new();
    let existing: std::collections::BTreeSet<&str> = claims.iter().map(|c| c.name()).collect();
    for pod in in_namespace(&context.snapshot.pods, context.namespace) {
        let phase = pod.status.as_ref().and_then(|s| s.phase.as_deref());
        if matches!(phase, Some("Succeeded" | "Failed")) {
            continue;
        }
        for claim in claim_names(pod) {
            if !existing.contains(claim.as_str()) {
                missing.entry(claim).or_default().push(pod);
            }
        }
    }
    let warnings: Vec<&Event> = in_namespace(&context.snapshot.events, context.namespace)
        .into_iter()
        .filter(|e| e.type_.as_deref() == Some("Warning"))
        .collect();
    let mut out = Vec::new();
    for (claim, pods) in missing {
        let quoted = format!("\"{claim}\"");
        let refusal = warnings
            .iter()
            .filter(|e| {
                e.message
                    .as_deref()
                    .is_some_and(|m| m.contains(&quoted) && m.contains("exceeded quota: "))
            })
            .max_by_key(|e| crate::k8s::events::event_time(e));
        let not_found: Vec<&Event> = pods
            .iter()
            .flat_map(|pod| context.warnings_for(Kind::Pod, pod.name()))
            .filter(|e| {
                e.message.as_deref().is_some_and(|m| {
                    m.contains(&format!("persistentvolumeclaim {quoted} not found"))
                })
            })
            .collect();
        let old_enough = pods.iter().any(|pod| stuck(context, pod));
        if refusal.is_none() && not_found.is_empty() && !old_enough {
            continue;
        }
        let object = ObjectRef::new(Kind::PersistentVolumeClaim, context.namespace, &claim);
        let mut evidence = Vec::new();
        for pod in &pods {
            let index = pod
                .spec
                .iter()
                .flat_map(|s| s.volumes.iter().flatten())
                .position(|v| {
                    v.persistent_volume_claim
                        .as_ref()
                        .is_some_and(|c| c.claim_name == claim)
                });
            let path = index.map_or("spec.volumes[].ephemeral".to_string(), |i| {
                format!("spec.volumes[{i}].persistentVolumeClaim.claimName")
            });
            evidence.push(Evidence::field_note(
                &ObjectRef::of(Kind::Pod, *pod),
                path,
                &claim,
                format!("PVC `{}` does not exist in the namespace", object.name),
            ));
        }
        evidence.extend(not_found.iter().map(|e| Evidence::event(e)));
        let quota = refusal.and_then(|e| quota_name(e.message.as_deref().unwrap_or_default()));
        if let Some(event) = refusal {
            evidence.push(Evidence::event(event));
        }
        out.push((
            Failing {
                claim: claim.clone(),
                problem: Problem::MissingClaim {
                    pods: pods.iter().map(|p| p.name().to_string()).collect(),
                    quota,
                    message: refusal
                        .and_then(|e| e.message.clone())
                        .map(|m| m.trim().to_string()),
                },
            },
            evidence,
        ));
    }
    out
}

/// `NAME` in `exceeded quota: NAME, requested: ...` (the quota admission plugin's text).
fn quota_name(message: &str) -> Option<String> {
    let rest = message.split("exceeded quota: ").nth(1)?;
    let name = rest.split([',', ' ']).next()?.trim();
    (!name.is_empty()).then(|| name.to_string())
}

fn summary_of(item: &Failing) -> String {
    let claim = &item.claim;
    match &item.problem {
        Problem::NoFittingVolume {
            class,
            closest: Some(volume),
            mismatches,
        } => format!(
            "PVC `{claim}` Pending (static binding, class {}): closest PV `{volume}` does not fit: {}",
            quoted(class),
            mismatches
                .iter()
                .map(|m| format!("{} ({})", m.describe(), m.field()))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Problem::NoFittingVolume { class, .. } => format!(
            "PVC `{claim}` Pending (static binding, class {}): no PersistentVolume of that class exists",
            quoted(class)
        ),
        Problem::VolumeNotFound { volume } => {
            format!(
                "PVC `{claim}` Pending: its spec.volumeName names PV `{volume}`, which does not exist"
            )
        }
        Problem::NamedVolumeMismatch { volume, mismatches } => format!(
            "PVC `{claim}` Pending: the PV it names, `{volume}`, does not fit: {}",
            mismatches
                .iter()
                .map(|m| format!("{} ({})", m.describe(), m.field()))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Problem::ProvisioningFailed {
            class,
            provisioner,
            message,
        } => format!(
            "PVC `{claim}` Pending: provisioner `{provisioner}` of StorageClass `{class}` fails: {message}"
        ),
        Problem::NodeAffinity {
            volume,
            pod,
            pod_nodes,
        } => match pod_nodes {
            Some(nodes) => format!(
                "PVC `{claim}` is bound to PV `{volume}`, whose spec.nodeAffinity excludes where pod `{pod}` may run ({nodes})"
            ),
            None => format!(
                "PVC `{claim}` is bound to PV `{volume}`, whose spec.nodeAffinity leaves pod `{pod}` no node ({NODE_CONFLICT})"
            ),
        },
        Problem::MissingClaim { pods, quota, .. } => {
            let pods = pods
                .iter()
                .map(|p| format!("`{p}`"))
                .collect::<Vec<_>>()
                .join(", ");
            match quota {
                Some(quota) => format!(
                    "PVC `{claim}` does not exist (pod {pods} mounts it): its creation was refused by ResourceQuota `{quota}`"
                ),
                None => format!("PVC `{claim}` does not exist (pod {pods} mounts it)"),
            }
        }
    }
}

fn fix_of(item: &Failing, namespace: &str) -> String {
    let claim = &item.claim;
    match &item.problem {
        Problem::NoFittingVolume {
            closest: Some(volume),
            mismatches,
            ..
        }
        | Problem::NamedVolumeMismatch {
            volume, mismatches, ..
        } => mismatches
            .iter()
            .map(|m| m.change(claim, volume))
            .collect::<Vec<_>>()
            .join("; "),
        Problem::NoFittingVolume { class, .. } => format!(
            "an administrator creates a PersistentVolume of class {} for `{claim}`, or re-create `{claim}` on a provisioning class (`kubectl get storageclass`)",
            quoted(class)
        ),
        Problem::VolumeNotFound { volume } => {
            format!("create PV `{volume}`, or re-create `{claim}` without spec.volumeName")
        }
        Problem::ProvisioningFailed {
            class, provisioner, ..
        } => format!(
            "fix provisioner `{provisioner}` (its controller's logs: `kubectl describe pvc {claim} -n {namespace}`), or re-create `{claim}` on another class than `{class}`"
        ),
        Problem::NodeAffinity { volume, pod, .. } => format!(
            "schedule pod `{pod}` onto the node PV `{volume}` is on (`kubectl get pv {volume} -o jsonpath='{{.spec.nodeAffinity}}'`)"
        ),
        Problem::MissingClaim {
            quota: Some(quota), ..
        } => format!(
            "make room in ResourceQuota `{quota}` (`kubectl describe resourcequota {quota} -n {namespace}`); the claim's owner then creates `{claim}`"
        ),
        Problem::MissingClaim { .. } => {
            format!("create PVC `{claim}` in `{namespace}` (`kubectl apply -f` its manifest)")
        }
    }
}

fn quoted(class: &str) -> String {
    if class.is_empty() {
        "\"\"".to_string()
    } else {
        format!("`{class}`")
    }
}

fn or_none(text: &str) -> &str {
    if text.is_empty() { "none" } else { text }
}

/// What the `pvc` repair reads: the claims to re-create on another class, and the
/// claims that fail for other reasons (which the repair names but never changes).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Details {
    /// Claims Pending on a missing class (absent when there are none).
    #[serde(flatten)]
    pub recreate: Option<Recreate>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failing: Vec<Failing>,
}

/// Claims Pending on a StorageClass that does not exist (or on no class without a
/// default), and the classes there are to move them to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Recreate {
    /// The cluster's StorageClasses, the default first.
    pub classes: Vec<String>,
    /// The class to re-create them on: the default, else the first; `None` when the
    /// cluster has none.
    pub suggested_class: Option<String>,
    /// Claim name -> the class it names (`""` for none).
    pub claims: BTreeMap<String, String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::Scope;
    use crate::signals::test_support::evaluate;

    const CLASS: &str = "apiVersion: storage.k8s.io/v1\nkind: StorageClass\nmetadata:\n  name: local-path\n  annotations: {storageclass.kubernetes.io/is-default-class: \"true\"}\nprovisioner: rancher.io/local-path\nvolumeBindingMode: WaitForFirstConsumer\n";

    fn claim(name: &str, class: &str) -> String {
        format!(
            "---\napiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {{name: {name}, namespace: app, labels: {{app.kubernetes.io/name: web}}}}\nspec: {{storageClassName: {class}, accessModes: [ReadWriteOnce], resources: {{requests: {{storage: 1Gi}}}}}}\nstatus: {{phase: Pending}}\n"
        )
    }

    #[test]
    fn pending_on_a_missing_class_fails_and_names_the_classes() {
        let text = format!(
            "{CLASS}{}---\napiVersion: v1\nkind: Event\nmetadata: {{name: e, namespace: app}}\ninvolvedObject: {{kind: PersistentVolumeClaim, name: data, namespace: app}}\nreason: ProvisioningFailed\ntype: Warning\ncount: 12\nmessage: 'storageclass.storage.k8s.io \"fast-ssd\" not found'\n",
            claim("data", "fast-ssd")
        );
        let finding = evaluate(&Pvc, &text, "app");
        assert_eq!(finding.status, Status::Fail);
        assert!(finding.summary.contains("missing StorageClass `fast-ssd`"));
        assert!(finding.summary.contains("local-path (default)"));
        assert_eq!(finding.details["suggestedClass"], "local-path");
        // No pod of app `web` is in the snapshot: the claim holds back the namespace.
        assert_eq!(finding.scope, Scope::Namespace);
        assert!(
            finding
                .evidence
                .iter()
                .any(|e| matches!(e, Evidence::Event { count: 12, .. }))
        );
    }

    #[test]
    fn look_alike_pending_on_an_existing_wait_for_first_consumer_class_is_healthy() {
        let finding = evaluate(
            &Pvc,
            &format!("{CLASS}{}", claim("cache", "local-path")),
            "app",
        );
        assert_eq!(finding.status, Status::Ok, "{finding:?}");
        assert!(finding.summary.contains("wait for a first consumer"));
    }

    fn pvc(name: &str, class: &str, extra: &str) -> String {
        format!(
            "---\napiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {{name: {name}, namespace: app, uid: u-{name}, labels: {{app.kubernetes.io/name: web}}}}\nspec: {{storageClassName: '{class}', accessModes: [ReadWriteOnce], resources: {{requests: {{storage: 10Gi}}}}{extra}}}\nstatus: {{phase: Pending}}\n"
        )
    }

    /// A 10Gi ReadWriteOnce PV unless `extra` says otherwise.
    fn pv(name: &str, class: &str, extra: &str, phase: &str) -> String {
        let mut defaults = String::new();
        if !extra.contains("capacity:") {
            defaults.push_str(", capacity: {storage: 10Gi}");
        }
        if !extra.contains("accessModes:") {
            defaults.push_str(", accessModes: [ReadWriteOnce]");
        }
        format!(
            "---\napiVersion: v1\nkind: PersistentVolume\nmetadata: {{name: {name}}}\nspec: {{storageClassName: '{class}', persistentVolumeReclaimPolicy: Retain{defaults}{extra}}}\nstatus: {{phase: {phase}}}\n"
        )
    }

    fn pod(name: &str, claim: &str, extra: &str) -> String {
        format!(
            "---\napiVersion: v1\nkind: Pod\nmetadata: {{name: {name}, namespace: app, creationTimestamp: '2024-01-01T00:00:00Z', labels: {{app.kubernetes.io/name: web}}}}\nspec: {{containers: [{{name: c, image: x}}], volumes: [{{name: data, persistentVolumeClaim: {{claimName: {claim}}}}}]{extra}}}\nstatus: {{phase: Pending}}\n"
        )
    }

    fn event(kind: &str, name: &str, reason: &str, type_: &str, message: &str) -> String {
        format!(
            "---\napiVersion: v1\nkind: Event\nmetadata: {{name: e-{name}-{reason}, namespace: app}}\ninvolvedObject: {{kind: {kind}, name: {name}, namespace: app}}\nreason: {reason}\ntype: {type_}\ncount: 3\nlastTimestamp: '2024-01-01T00:10:00Z'\nmessage: '{message}'\n"
        )
    }

    fn failing(finding: &Finding) -> &serde_json::Value {
        &finding.details["failing"][0]
    }

    fn pv_ref(name: &str) -> ObjectRef {
        ObjectRef::new(Kind::PersistentVolume, "", name)
    }

    #[test]
    fn static_claim_names_the_closest_volume_and_its_capacity() {
        let text = format!(
            "{CLASS}{}{}{}{}",
            pvc("data", "", ""),
            pv("pv-small", "", ", capacity: {storage: 1Gi}", "Available"),
            pv("pv-gold", "gold", ", capacity: {storage: 1Gi}", "Available"),
            event(
                "PersistentVolumeClaim",
                "data",
                "FailedBinding",
                "Normal",
                "no persistent volumes available for this claim and no storage class is set"
            )
        );
        let finding = evaluate(&Pvc, &text, "app");
        assert_eq!(finding.status, Status::Fail, "{finding:?}");
        assert_eq!(
            finding.summary,
            "PVC `data` Pending (static binding, class \"\"): closest PV `pv-small` does not fit: capacity 1Gi < requested 10Gi (spec.capacity.storage)"
        );
        assert_eq!(finding.caused_by, [pv_ref("pv-small")]);
        assert_eq!(
            finding.objects,
            [ObjectRef::new(Kind::PersistentVolumeClaim, "app", "data")]
        );
        assert_eq!(failing(&finding)["problem"], "noFittingVolume");
        assert_eq!(failing(&finding)["mismatches"][0]["reason"], "capacity");
        assert!(
            !finding.details.contains_key("claims"),
            "nothing to re-create"
        );
        assert!(finding.evidence.contains(&Evidence::field_note(
            &pv_ref("pv-small"),
            "spec.capacity.storage",
            "1Gi",
            "capacity 1Gi < requested 10Gi"
        )));
        assert!(
            finding
                .evidence
                .iter()
                .any(|e| matches!(e, Evidence::Event { reason, .. } if reason == "FailedBinding"))
        );
        assert!(
            finding
                .fix
                .as_deref()
                .unwrap()
                .contains("requesting at most 1Gi, or provide a PV of at least 10Gi")
        );
    }

    #[test]
    fn static_claim_reports_access_mode_selector_and_class() {
        let text = format!(
            "{}{}",
            pvc("data", "", ", selector: {matchLabels: {tier: fast}}"),
            pv(
                "pv-1",
                "manual",
                ", accessModes: [ReadOnlyMany]",
                "Available"
            )
        );
        let finding = evaluate(&Pvc, &text, "app");
        assert_eq!(finding.status, Status::Fail);
        let reasons: Vec<&str> = failing(&finding)["mismatches"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["reason"].as_str().unwrap())
            .collect();
        assert_eq!(reasons, ["accessModes", "class", "selector"]);
        assert!(finding.summary.contains(
            "access modes ReadOnlyMany lack ReadWriteOnce (spec.accessModes), class `manual` != claim's \"\" (spec.storageClassName), labels do not match the claim's selector `tier=fast` (metadata.labels)"
        ), "{}", finding.summary);
        assert!(
            finding
                .fix
                .as_deref()
                .unwrap()
                .contains("re-create claim `data` with storageClassName `manual`")
        );
    }

    #[test]
    fn static_claim_whose_only_volume_belongs_to_another_claim() {
        let text = format!(
            "{}{}",
            pvc("data", "", ""),
            pv(
                "pv-1",
                "",
                ", claimRef: {name: cache, namespace: other, uid: u-9}",
                "Bound"
            )
        );
        let finding = evaluate(&Pvc, &text, "app");
        assert_eq!(finding.status, Status::Fail);
        assert!(
            finding.summary.contains(
                "closest PV `pv-1` does not fit: claimed by `other/cache` (spec.claimRef)"
            ),
            "{}",
            finding.summary
        );
        assert_eq!(finding.caused_by, [pv_ref("pv-1")]);
    }

    #[test]
    fn static_claim_and_a_released_retained_volume_needs_an_administrator() {
        let text = format!(
            "{}{}",
            pvc("data", "", ""),
            pv(
                "pv-1",
                "",
                ", claimRef: {name: data, namespace: app, uid: deleted-uid}",
                "Released"
            )
        );
        let finding = evaluate(&Pvc, &text, "app");
        assert_eq!(finding.status, Status::Fail);
        assert!(
            finding.summary.contains(
                "Released (Retain): keeps its old claimRef until an administrator reclaims it (status.phase)"
            ),
            "{}",
            finding.summary
        );
        let fix = finding.fix.as_deref().unwrap();
        assert!(fix.contains("an administrator reclaims PV `pv-1`"), "{fix}");
        assert!(fix.contains("kubectl patch pv pv-1"), "{fix}");
    }

    #[test]
    fn static_claim_without_any_volume_says_none_exists() {
        let finding = evaluate(&Pvc, &format!("{CLASS}{}", pvc("data", "", "")), "app");
        assert_eq!(finding.status, Status::Fail);
        assert_eq!(
            finding.summary,
            "PVC `data` Pending (static binding, class \"\"): no PersistentVolume of that class exists"
        );
        assert!(finding.caused_by.is_empty());
    }

    #[test]
    fn look_alike_static_claim_with_a_fitting_available_volume_is_ok() {
        let text = format!(
            "{}{}{}",
            pvc("data", "", ""),
            pv("pv-1", "", "", "Available"),
            pv("pv-small", "", ", capacity: {storage: 1Gi}", "Available")
        );
        let finding = evaluate(&Pvc, &text, "app");
        assert_eq!(finding.status, Status::Ok, "{finding:?}");
    }

    #[test]
    fn claim_naming_a_missing_volume_or_one_bound_elsewhere() {
        let missing = evaluate(&Pvc, &pvc("data", "", ", volumeName: pv-gone"), "app");
        assert_eq!(missing.status, Status::Fail);
        assert_eq!(
            missing.summary,
            "PVC `data` Pending: its spec.volumeName names PV `pv-gone`, which does not exist"
        );
        assert_eq!(missing.caused_by, [pv_ref("pv-gone")]);
        let text = format!(
            "{}{}{}",
            pvc("data", "", ", volumeName: pv-1"),
            pv(
                "pv-1",
                "",
                ", claimRef: {name: old, namespace: app, uid: u-old}",
                "Bound"
            ),
            event(
                "PersistentVolumeClaim",
                "data",
                "FailedBinding",
                "Warning",
                "volume \"pv-1\" already bound to a different claim."
            )
        );
        let taken = evaluate(&Pvc, &text, "app");
        assert_eq!(taken.status, Status::Fail);
        assert!(
            taken.summary.contains(
                "the PV it names, `pv-1`, does not fit: claimed by `app/old` (spec.claimRef)"
            ),
            "{}",
            taken.summary
        );
        assert_eq!(failing(&taken)["problem"], "namedVolumeMismatch");
    }

    #[test]
    fn look_alike_claim_naming_a_volume_pre_bound_to_it_is_ok() {
        let text = format!(
            "{}{}",
            pvc("data", "", ", volumeName: pv-1"),
            pv(
                "pv-1",
                "",
                ", claimRef: {name: data, namespace: app}",
                "Available"
            )
        );
        assert_eq!(evaluate(&Pvc, &text, "app").status, Status::Ok);
    }

    #[test]
    fn local_volume_on_another_node_than_the_pinned_consumer() {
        let local = "---\napiVersion: storage.k8s.io/v1\nkind: StorageClass\nmetadata: {name: local}\nprovisioner: kubernetes.io/no-provisioner\nvolumeBindingMode: WaitForFirstConsumer\n";
        let text = format!(
            "{local}{}{}{}{}",
            pvc("data", "local", ""),
            pv(
                "local-a",
                "local",
                ", local: {path: /mnt/a}, nodeAffinity: {required: {nodeSelectorTerms: [{matchExpressions: [{key: kubernetes.io/hostname, operator: In, values: [node-a]}]}]}}",
                "Available"
            ),
            pod(
                "web-0",
                "data",
                ", nodeSelector: {kubernetes.io/hostname: node-b}"
            ),
            event(
                "Pod",
                "web-0",
                "FailedScheduling",
                "Warning",
                "0/2 nodes are available: 1 node(s) did not match Pod''s node affinity/selector, 1 node(s) didn''t find available persistent volumes to bind."
            )
        );
        let finding = evaluate(&Pvc, &text, "app");
        assert_eq!(finding.status, Status::Fail, "{finding:?}");
        assert!(
            finding.summary.contains(
                "closest PV `local-a` does not fit: node affinity excludes where pod `web-0` may run (kubernetes.io/hostname=node-b) (spec.nodeAffinity)"
            ),
            "{}",
            finding.summary
        );
        assert_eq!(finding.scope, Scope::Apps(vec!["web".into()]));
        // Without a consumer the same claim is the WaitForFirstConsumer look-alike.
        let idle = format!(
            "{local}{}{}",
            pvc("data", "local", ""),
            pv("local-a", "local", "", "Available")
        );
        assert_eq!(evaluate(&Pvc, &idle, "app").status, Status::Ok);
    }

    #[test]
    fn provisioning_failures_on_an_existing_class_name_the_class() {
        let class = "---\napiVersion: storage.k8s.io/v1\nkind: StorageClass\nmetadata: {name: fast}\nprovisioner: ebs.csi.aws.com\nvolumeBindingMode: Immediate\n";
        let text = format!(
            "{class}{}{}",
            pvc("data", "fast", ""),
            event(
                "PersistentVolumeClaim",
                "data",
                "ProvisioningFailed",
                "Warning",
                "failed to provision volume with StorageClass \"fast\": rpc error: code = Internal desc = UnauthorizedOperation"
            )
        );
        let finding = evaluate(&Pvc, &text, "app");
        assert_eq!(finding.status, Status::Fail);
        assert!(
            finding
                .summary
                .starts_with("PVC `data` Pending: provisioner `ebs.csi.aws.com` of StorageClass `fast` fails: failed to provision"),
            "{}",
            finding.summary
        );
        assert_eq!(
            finding.caused_by,
            [ObjectRef::new(Kind::StorageClass, "", "fast")]
        );
        // The same claim without the events: the provisioner may just be working.
        let quiet = evaluate(&Pvc, &format!("{class}{}", pvc("data", "fast", "")), "app");
        assert_eq!(quiet.status, Status::Ok);
    }

    #[test]
    fn a_claim_refused_by_a_quota_is_missing_and_names_the_quota() {
        let text = format!(
            "{}{}{}",
            pod("web-0", "data-web-0", ""),
            event(
                "StatefulSet",
                "web",
                "FailedCreate",
                "Warning",
                "create Claim data-web-0 for Pod web-0 in StatefulSet web failed error: persistentvolumeclaims \"data-web-0\" is forbidden: exceeded quota: storage-quota, requested: requests.storage=10Gi, used: requests.storage=0, limited: requests.storage=5Gi"
            ),
            event(
                "Pod",
                "web-0",
                "FailedScheduling",
                "Warning",
                "0/1 nodes are available: persistentvolumeclaim \"data-web-0\" not found."
            )
        );
        let finding = evaluate(&Pvc, &text, "app");
        assert_eq!(finding.status, Status::Fail);
        assert_eq!(
            finding.summary,
            "PVC `data-web-0` does not exist (pod `web-0` mounts it): its creation was refused by ResourceQuota `storage-quota`"
        );
        assert_eq!(
            finding.objects,
            [
                ObjectRef::new(Kind::PersistentVolumeClaim, "app", "data-web-0"),
                ObjectRef::new(Kind::Pod, "app", "web-0"),
            ]
        );
        assert_eq!(
            finding.caused_by,
            [
                ObjectRef::new(Kind::PersistentVolumeClaim, "app", "data-web-0"),
                ObjectRef::new(Kind::ResourceQuota, "app", "storage-quota"),
            ]
        );
        assert_eq!(failing(&finding)["quota"], "storage-quota");
    }

    #[test]
    fn look_alike_finished_or_young_pods_with_a_missing_claim_are_ok() {
        let finished = pod("job-x", "scratch", "").replace("phase: Pending", "phase: Succeeded");
        // A pod created at the capture moment: its claim may be on its way.
        let young =
            pod("web-1", "data-web-1", "").replace("2024-01-01T00:00:00Z", "2024-01-01T00:10:00Z");
        let text = format!(
            "{finished}{young}{}",
            event("Pod", "other", "Pulled", "Normal", "ok")
        );
        let finding = evaluate(&Pvc, &text, "app");
        assert_eq!(finding.status, Status::Ok, "{finding:?}");
    }

    #[test]
    fn bound_local_volume_whose_node_affinity_keeps_the_pod_off() {
        let text = format!(
            "{}{}{}{}",
            pvc("data", "local", ", volumeName: local-a").replace("phase: Pending", "phase: Bound"),
            pv(
                "local-a",
                "local",
                ", claimRef: {name: data, namespace: app, uid: u-data}, nodeAffinity: {required: {nodeSelectorTerms: [{matchExpressions: [{key: kubernetes.io/hostname, operator: In, values: [node-a]}]}]}}",
                "Bound"
            ),
            pod("web-0", "data", ", nodeName: node-b"),
            event("Pod", "web-0", "Scheduled", "Normal", "assigned to node-b")
        );
        let finding = evaluate(&Pvc, &text, "app");
        assert_eq!(finding.status, Status::Fail);
        assert_eq!(
            finding.summary,
            "PVC `data` is bound to PV `local-a`, whose spec.nodeAffinity excludes where pod `web-0` may run (kubernetes.io/hostname=node-b)"
        );
        assert_eq!(finding.caused_by, [pv_ref("local-a")]);
    }

    #[test]
    fn look_alike_released_volume_nobody_needs_and_bound_volume_with_history_are_ok() {
        let bound = pvc("data", "", ", volumeName: pv-1").replace("phase: Pending", "phase: Bound");
        let text = format!(
            "{bound}{}{}{}",
            // Served `old` before, now bound to `data` (same uid): history, not a fault.
            pv(
                "pv-1",
                "",
                ", claimRef: {name: data, namespace: app, uid: u-data}",
                "Bound"
            )
            .replace(
                "metadata: {name: pv-1}",
                "metadata: {name: pv-1, annotations: {pv.kubernetes.io/bound-by-controller: 'yes'}}"
            ),
            // Released by a deleted claim of this namespace, and no claim waits for it.
            pv(
                "pv-2",
                "",
                ", claimRef: {name: gone, namespace: app, uid: u-gone}",
                "Released"
            ),
            event(
                "PersistentVolume",
                "pv-1",
                "VolumeFailedRecycle",
                "Warning",
                "recycler failed for the claim old"
            )
        );
        let finding = evaluate(&Pvc, &text, "app");
        assert_eq!(finding.status, Status::Ok, "{finding:?}");
    }

    #[test]
    fn look_alike_unset_class_with_a_default_class_is_ok() {
        let text = format!(
            "{CLASS}---\napiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {{name: data, namespace: app}}\nspec: {{accessModes: [ReadWriteOnce], resources: {{requests: {{storage: 1Gi}}}}}}\nstatus: {{phase: Pending}}\n"
        );
        assert_eq!(evaluate(&Pvc, &text, "app").status, Status::Ok);
    }

    #[test]
    fn the_storage_fixture_gives_each_claim_its_reason_and_keeps_the_look_alikes_ok() {
        let context =
            crate::repair::test_support::fixture_context("storage-incident.yaml", "vault");
        let finding = Pvc.evaluate(&context);
        assert_eq!(finding.status, Status::Fail);
        let reasons: BTreeMap<String, (String, String, String)> = finding.details["failing"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                let first = &f["mismatches"][0]["reason"];
                (
                    f["claim"].as_str().unwrap().to_string(),
                    (
                        f["problem"].as_str().unwrap().to_string(),
                        f["closest"]
                            .as_str()
                            .or(f["volume"].as_str())
                            .or(f["quota"].as_str())
                            .unwrap_or_default()
                            .to_string(),
                        first.as_str().unwrap_or_default().to_string(),
                    ),
                )
            })
            .collect();
        let expect = |p: &str, o: &str, r: &str| (p.to_string(), o.to_string(), r.to_string());
        assert_eq!(
            reasons,
            BTreeMap::from([
                (
                    "archive".to_string(),
                    expect("namedVolumeMismatch", "nas-archive", "claimedByOther")
                ),
                (
                    "backups".to_string(),
                    expect("noFittingVolume", "nas-backups-1g", "capacity")
                ),
                (
                    "data-ingest-0".to_string(),
                    expect("missingClaim", "storage", "")
                ),
                (
                    "exports".to_string(),
                    expect("noFittingVolume", "nas-exports", "phase")
                ),
                (
                    "reports".to_string(),
                    expect("noFittingVolume", "nas-reports", "accessModes")
                ),
                (
                    "search-index".to_string(),
                    expect("noFittingVolume", "local-ssd-worker-a", "nodeAffinity")
                ),
            ])
        );
        // Look-alikes: the WaitForFirstConsumer claim, the bound claim with history and
        // the Released PV nobody waits for are not among the failing objects or causes.
        for name in ["cache", "db"] {
            assert!(!finding.objects.iter().any(|o| o.name == name), "{name}");
        }
        assert!(!finding.caused_by.iter().any(|o| o.name == "nas-logs-2024"));
        assert!(
            !finding.details.contains_key("claims"),
            "nothing to re-create"
        );
    }

    #[test]
    fn unreadable_persistent_volumes_leave_static_claims_unjudged() {
        let mut snapshot = crate::signals::test_support::snapshot(&pvc("data", "", ""));
        snapshot.gaps.insert(
            Kind::PersistentVolume,
            crate::snapshot::Gap::Forbidden("persistentvolumes is forbidden".into()),
        );
        let finding = Pvc.evaluate(&Context::new(&snapshot, "app"));
        assert_eq!(finding.status, Status::Ok, "{finding:?}");
        assert!(finding.evidence.contains(&Evidence::field_note(
            &ObjectRef::new(Kind::PersistentVolumeClaim, "app", "data"),
            "spec.storageClassName",
            "\"\"",
            "static binding, but PersistentVolumes could not be listed: not judged"
        )));
    }
}
