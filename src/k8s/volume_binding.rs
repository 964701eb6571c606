//! Whether a PersistentVolume can take a claim, decided the way the PV controller and the
//! scheduler's volume binder decide it, with every reason it cannot, each tied to the
//! field that causes it. Pure: reads only the objects it is given.
//!
//! Upstream (kubernetes/kubernetes):
//! - `pkg/controller/volume/persistentvolume/pv_controller.go` `syncUnboundClaim`: a claim
//!   without `spec.volumeName` gets `findBestMatchForClaim`; a claim naming a volume gets
//!   `checkVolumeSatisfyClaim` (deletion, size, class, volume mode, access modes) when the
//!   PV is unclaimed, and `FailedBinding` "already bound to a different claim" when the
//!   PV's `claimRef` names another claim.
//! - `pkg/controller/volume/persistentvolume/index.go` `findByClaim`: only PVs whose access
//!   modes include every mode the claim asks for are searched.
//! - `staging/src/k8s.io/component-helpers/storage/volume/pv_helpers.go`
//!   `FindMatchingVolume`: skip PVs whose `claimRef` is another claim's, smaller than the
//!   request, of another volume mode, being deleted; a PV pre-bound to this claim wins;
//!   otherwise only `Available` PVs whose labels match the claim's selector and whose class
//!   equals the claim's, the smallest first; node affinity only on the scheduler's path
//!   (`WaitForFirstConsumer`), where access modes are checked too.
//! - `GetPersistentVolumeClaimClass` / `GetPersistentVolumeClass`: the beta annotation
//!   `volume.beta.kubernetes.io/storage-class` wins over `storageClassName`; unset is `""`.
//! - Docs: <https://kubernetes.io/docs/concepts/storage/persistent-volumes/#binding>,
//!   `#reserving-a-persistentvolume`, `#retain` (a Released PV needs an administrator).

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    NodeSelectorRequirement, PersistentVolume, PersistentVolumeClaim, Pod,
};
use serde::{Deserialize, Serialize};

use crate::k8s::quantity::parse_quantity;
use crate::snapshot::HasMeta;

/// The beta annotation that still overrides `storageClassName` on both objects.
pub const BETA_CLASS_ANNOTATION: &str = "volume.beta.kubernetes.io/storage-class";

/// The provisioner of classes that only ever bind pre-created PVs (local volumes).
/// <https://kubernetes.io/docs/concepts/storage/storage-classes/#local>
pub const NO_PROVISIONER: &str = "kubernetes.io/no-provisioner";

/// The node label the scheduler and local-volume PVs key on.
const HOSTNAME_LABEL: &str = "kubernetes.io/hostname";

/// The class a claim asks for (`GetPersistentVolumeClaimClass`): the beta annotation,
/// else `spec.storageClassName`; `None` when neither is set (the admission plugin or
/// the PV controller may still assign the default class).
pub fn claim_class(claim: &PersistentVolumeClaim) -> Option<String> {
    annotation(&claim.metadata.annotations, BETA_CLASS_ANNOTATION)
        .or_else(|| claim.spec.as_ref()?.storage_class_name.clone())
}

/// The class a PV offers (`GetPersistentVolumeClass`); `""` when unset.
pub fn volume_class(volume: &PersistentVolume) -> String {
    annotation(&volume.metadata.annotations, BETA_CLASS_ANNOTATION)
        .or_else(|| volume.spec.as_ref()?.storage_class_name.clone())
        .unwrap_or_default()
}

fn annotation(annotations: &Option<BTreeMap<String, String>>, key: &str) -> Option<String> {
    annotations.as_ref()?.get(key).cloned()
}

/// `status.phase` of a PV, `Pending` when unset (the API server's default).
pub fn volume_phase(volume: &PersistentVolume) -> &str {
    volume
        .status
        .as_ref()
        .and_then(|s| s.phase.as_deref())
        .unwrap_or("Pending")
}

/// `namespace/name` of the claim a PV's `claimRef` names, if any.
pub fn claim_ref_key(volume: &PersistentVolume) -> Option<String> {
    let claim_ref = volume.spec.as_ref()?.claim_ref.as_ref()?;
    Some(format!(
        "{}/{}",
        claim_ref.namespace.as_deref().unwrap_or_default(),
        claim_ref.name.as_deref().unwrap_or_default()
    ))
}

/// `IsVolumeBoundToClaim`: the PV's `claimRef` names this claim (and, once the binding
/// is complete, its uid).
pub fn is_bound_to(volume: &PersistentVolume, claim: &PersistentVolumeClaim) -> bool {
    let Some(claim_ref) = volume.spec.as_ref().and_then(|s| s.claim_ref.as_ref()) else {
        return false;
    };
    if claim_ref.name.as_deref() != Some(claim.name())
        || claim_ref.namespace.as_deref() != Some(claim.namespace())
    {
        return false;
    }
    match claim_ref.uid.as_deref().filter(|uid| !uid.is_empty()) {
        Some(uid) => claim.metadata.uid.as_deref() == Some(uid),
        None => true,
    }
}

/// Whether a live snapshot of `namespace` keeps this PV: its `claimRef` points into the
/// namespace, a claim there names it, or a claim there still waits for a volume and the
/// PV is unclaimed or offers that claim's class (a candidate the report can name).
pub fn relevant_to(
    volume: &PersistentVolume,
    claims: &[&PersistentVolumeClaim],
    namespace: &str,
) -> bool {
    let claim_ref = volume.spec.as_ref().and_then(|s| s.claim_ref.as_ref());
    if claim_ref.is_some_and(|r| r.namespace.as_deref() == Some(namespace)) {
        return true;
    }
    claims.iter().any(|claim| {
        let spec = claim.spec.as_ref();
        let named = spec.and_then(|s| s.volume_name.as_deref());
        if named == Some(volume.name()) {
            return true;
        }
        let waiting = named.is_none()
            && claim.status.as_ref().and_then(|s| s.phase.as_deref()) != Some("Bound");
        waiting
            && (claim_ref.is_none()
                || claim_class(claim).unwrap_or_default() == volume_class(volume))
    })
}

/// One reason a PV cannot take a claim, with the field that causes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "reason")]
pub enum Mismatch {
    /// `spec.storageClassName`: classes must be equal (`""` only matches `""`).
    #[serde(rename_all = "camelCase")]
    Class { claim: String, volume: String },
    /// `spec.claimRef`: the PV is reserved for or bound to another claim.
    #[serde(rename_all = "camelCase")]
    ClaimedByOther { claim_ref: String },
    /// `status.phase`: only `Available` PVs are offered; a `Released` one keeps its old
    /// `claimRef` until an administrator reclaims it.
    #[serde(rename_all = "camelCase")]
    Phase {
        phase: String,
        reclaim_policy: String,
    },
    /// `spec.capacity.storage` below the claim's `spec.resources.requests.storage`.
    #[serde(rename_all = "camelCase")]
    Capacity { requested: String, capacity: String },
    /// `spec.accessModes` lacks modes the claim asks for.
    #[serde(rename_all = "camelCase")]
    AccessModes {
        missing: Vec<String>,
        offered: Vec<String>,
    },
    /// `spec.volumeMode` differs (`Filesystem` when unset on either side).
    #[serde(rename_all = "camelCase")]
    VolumeMode { claim: String, volume: String },
    /// `metadata.labels` do not match the claim's `spec.selector`.
    #[serde(rename_all = "camelCase")]
    Selector { selector: String },
    /// `metadata.deletionTimestamp` is set.
    Deleting,
    /// `spec.nodeAffinity` excludes every node a pod that mounts the claim may run on.
    #[serde(rename_all = "camelCase")]
    NodeAffinity { pod: String, pod_nodes: String },
}

impl Mismatch {
    /// The PV field that causes it.
    pub fn field(&self) -> &'static str {
        match self {
            Mismatch::Class { .. } => "spec.storageClassName",
            Mismatch::ClaimedByOther { .. } => "spec.claimRef",
            Mismatch::Phase { .. } => "status.phase",
            Mismatch::Capacity { .. } => "spec.capacity.storage",
            Mismatch::AccessModes { .. } => "spec.accessModes",
            Mismatch::VolumeMode { .. } => "spec.volumeMode",
            Mismatch::Selector { .. } => "metadata.labels",
            Mismatch::Deleting => "metadata.deletionTimestamp",
            Mismatch::NodeAffinity { .. } => "spec.nodeAffinity",
        }
    }

    /// The PV's value of that field, for the evidence.
    pub fn value(&self) -> String {
        match self {
            Mismatch::Class { volume, .. } => quoted_class(volume),
            Mismatch::ClaimedByOther { claim_ref } => claim_ref.clone(),
            Mismatch::Phase { phase, .. } => phase.clone(),
            Mismatch::Capacity { capacity, .. } => capacity.clone(),
            Mismatch::AccessModes { offered, .. } => offered.join(","),
            Mismatch::VolumeMode { volume, .. } => volume.clone(),
            Mismatch::Selector { .. } => "<labels>".to_string(),
            Mismatch::Deleting => "set".to_string(),
            Mismatch::NodeAffinity { .. } => "<required>".to_string(),
        }
    }

    /// Why it does not fit, in a few words.
    pub fn describe(&self) -> String {
        match self {
            Mismatch::Class { claim, volume } => format!(
                "class {} != claim's {}",
                quoted_class(volume),
                quoted_class(claim)
            ),
            Mismatch::ClaimedByOther { claim_ref } => format!("claimed by `{claim_ref}`"),
            Mismatch::Phase {
                phase,
                reclaim_policy,
            } if phase == "Released" => format!(
                "Released ({reclaim_policy}): keeps its old claimRef until an administrator reclaims it"
            ),
            Mismatch::Phase { phase, .. } => format!("phase {phase}, not Available"),
            Mismatch::Capacity {
                requested,
                capacity,
            } => format!("capacity {capacity} < requested {requested}"),
            Mismatch::AccessModes { missing, offered } => format!(
                "access modes {} lack {}",
                or_none(offered),
                missing.join(",")
            ),
            Mismatch::VolumeMode { claim, volume } => {
                format!("volumeMode {volume} != claim's {claim}")
            }
            Mismatch::Selector { selector } => {
                format!("labels do not match the claim's selector `{selector}`")
            }
            Mismatch::Deleting => "being deleted".to_string(),
            Mismatch::NodeAffinity { pod, pod_nodes } => {
                format!("node affinity excludes where pod `{pod}` may run ({pod_nodes})")
            }
        }
    }

    /// What to change, and on which side, for the fix line. Never a write triage does:
    /// PVs are the administrator's.
    pub fn change(&self, claim: &str, volume: &str) -> String {
        match self {
            Mismatch::Class { volume: class, .. } => format!(
                "re-create claim `{claim}` with storageClassName {} (immutable)",
                quoted_class(class)
            ),
            Mismatch::ClaimedByOther { claim_ref } => format!(
                "PV `{volume}` belongs to `{claim_ref}`: use another PV, or an administrator frees it"
            ),
            Mismatch::Phase { phase, .. } if phase == "Released" => format!(
                "an administrator reclaims PV `{volume}` after saving its data: `kubectl patch pv {volume} --type json -p '[{{\"op\":\"remove\",\"path\":\"/spec/claimRef\"}}]'`"
            ),
            Mismatch::Phase { .. } => format!("wait for PV `{volume}` to become Available"),
            Mismatch::Capacity {
                requested,
                capacity,
            } => format!(
                "re-create claim `{claim}` requesting at most {capacity}, or provide a PV of at least {requested}"
            ),
            Mismatch::AccessModes { missing, offered } => format!(
                "re-create claim `{claim}` with accessModes {}, or provide a PV offering {}",
                or_none(offered),
                missing.join(",")
            ),
            Mismatch::VolumeMode { volume: mode, .. } => {
                format!("re-create claim `{claim}` with volumeMode {mode}")
            }
            Mismatch::Selector { .. } => format!(
                "label PV `{volume}` to match (`kubectl label pv {volume} KEY=VALUE`) or re-create claim `{claim}` without the selector"
            ),
            Mismatch::Deleting => format!("provide another PV: `{volume}` is being deleted"),
            Mismatch::NodeAffinity { pod, .. } => format!(
                "schedule pod `{pod}` onto the node PV `{volume}` is on, or provide a PV there"
            ),
        }
    }
}

fn quoted_class(class: &str) -> String {
    if class.is_empty() {
        "\"\"".to_string()
    } else {
        format!("`{class}`")
    }
}

fn or_none(modes: &[String]) -> String {
    if modes.is_empty() {
        "<none>".to_string()
    } else {
        modes.join(",")
    }
}

/// Which checks apply: the PV controller's search, its check of a PV the claim names,
/// or the scheduler's (node-aware) search for a `WaitForFirstConsumer` claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Path {
    /// `findBestMatchForClaim`: the claim names no volume.
    Search,
    /// `checkVolumeSatisfyClaim`: the claim's `spec.volumeName` names this PV.
    Named,
    /// The scheduler's `FindMatchingVolume` with a node: also access modes and node
    /// affinity against the consumer pods.
    Scheduler,
}

/// Every reason `volume` cannot take `claim` on `path`; empty when it can. Unlike the
/// controller (which stops at the first), all are collected, so the report can name
/// everything to change. `consumers` are the pods that mount the claim.
pub fn mismatches(
    claim: &PersistentVolumeClaim,
    volume: &PersistentVolume,
    path: Path,
    consumers: &[&Pod],
) -> Vec<Mismatch> {
    let mut found = Vec::new();
    let Some(spec) = volume.spec.as_ref() else {
        return found;
    };
    let claim_spec = claim.spec.clone().unwrap_or_default();
    let bound_here = is_bound_to(volume, claim);
    if let Some(claim_ref) = claim_ref_key(volume).filter(|_| !bound_here) {
        found.push(Mismatch::ClaimedByOther { claim_ref });
    }
    if volume.metadata.deletion_timestamp.is_some() {
        found.push(Mismatch::Deleting);
    }
    let requested = claim_spec
        .resources
        .as_ref()
        .and_then(|r| r.requests.as_ref())
        .and_then(|r| r.get("storage"))
        .map(|q| q.0.clone());
    let capacity = spec
        .capacity
        .as_ref()
        .and_then(|c| c.get("storage"))
        .map(|q| q.0.clone());
    let requested_value = requested.as_deref().and_then(parse_quantity).unwrap_or(0.0);
    let capacity_value = capacity.as_deref().and_then(parse_quantity).unwrap_or(0.0);
    if capacity_value < requested_value {
        found.push(Mismatch::Capacity {
            requested: requested.unwrap_or_default(),
            capacity: capacity.unwrap_or_else(|| "<unset>".to_string()),
        });
    }
    let claim_mode = claim_spec
        .volume_mode
        .clone()
        .unwrap_or_else(|| "Filesystem".into());
    let volume_mode = spec
        .volume_mode
        .clone()
        .unwrap_or_else(|| "Filesystem".into());
    if claim_mode != volume_mode {
        found.push(Mismatch::VolumeMode {
            claim: claim_mode,
            volume: volume_mode,
        });
    }
    // The index only offers PVs whose modes include every requested mode
    // (index.go allPossibleMatchingAccessModes); checkVolumeSatisfyClaim checks the same.
    let offered: Vec<String> = spec.access_modes.clone().unwrap_or_default();
    let missing: Vec<String> = claim_spec
        .access_modes
        .iter()
        .flatten()
        .filter(|m| !offered.contains(m))
        .cloned()
        .collect();
    if !missing.is_empty() {
        found.push(Mismatch::AccessModes { missing, offered });
    }
    // A PV pre-bound to this claim is taken on size, mode and deletion alone
    // (FindMatchingVolume returns it before the class, phase and selector checks).
    if bound_here && path != Path::Named {
        return found;
    }
    let claim_class = claim_class(claim).unwrap_or_default();
    let offered_class = volume_class(volume);
    if claim_class != offered_class {
        found.push(Mismatch::Class {
            claim: claim_class,
            volume: offered_class,
        });
    }
    if path == Path::Named {
        return found;
    }
    let phase = volume_phase(volume);
    let claimed = |found: &[Mismatch]| {
        found
            .iter()
            .any(|m| matches!(m, Mismatch::ClaimedByOther { .. }))
    };
    // A Released PV's claimRef names the deleted claim: the phase is the telling reason.
    // A Bound one's claimRef already says all.
    if phase == "Released" || phase != "Available" && !claimed(&found) {
        found.retain(|m| !matches!(m, Mismatch::ClaimedByOther { .. }));
        found.push(Mismatch::Phase {
            phase: phase.to_string(),
            reclaim_policy: spec
                .persistent_volume_reclaim_policy
                .clone()
                .unwrap_or_else(|| "Retain".into()),
        });
    }
    if let Some(selector) = claim_spec.selector.as_ref()
        && !crate::k8s::selector::matches(Some(selector), volume.metadata.labels.as_ref())
    {
        found.push(Mismatch::Selector {
            selector: crate::k8s::selector::describe(Some(selector)),
        });
    }
    if path == Path::Scheduler {
        for pod in consumers {
            if let Some(pod_nodes) = node_conflict(volume, pod) {
                found.push(Mismatch::NodeAffinity {
                    pod: pod.name().to_string(),
                    pod_nodes,
                });
            }
        }
    }
    found
}

/// The PVs of `volumes` a claim could bind to on `path`, each with its mismatches,
/// closest first: fewest reasons, then one whose claimRef names the claim, then (as the
/// controller prefers) the smallest capacity, then name.
pub fn candidates<'a>(
    claim: &PersistentVolumeClaim,
    volumes: &'a [PersistentVolume],
    path: Path,
    consumers: &[&Pod],
) -> Vec<(&'a PersistentVolume, Vec<Mismatch>)> {
    let mut ranked: Vec<(&PersistentVolume, Vec<Mismatch>)> = volumes
        .iter()
        .map(|v| (v, mismatches(claim, v, path, consumers)))
        .collect();
    ranked.sort_by(|(a, ma), (b, mb)| {
        let size = |v: &PersistentVolume| {
            v.spec
                .as_ref()
                .and_then(|s| s.capacity.as_ref()?.get("storage"))
                .and_then(|q| parse_quantity(&q.0))
                .unwrap_or(f64::MAX)
        };
        // A PV whose claimRef names this claim (by name: a Released one keeps the old
        // claim's uid) is the one the claim's author means.
        let named = |v: &PersistentVolume| {
            claim_ref_key(v) != Some(format!("{}/{}", claim.namespace(), claim.name()))
        };
        ma.len()
            .cmp(&mb.len())
            .then(named(a).cmp(&named(b)))
            .then(size(a).total_cmp(&size(b)))
            .then(a.name().cmp(b.name()))
    });
    ranked
}

/// Where `pod` may run, when its own spec pins it and the PV's required node affinity
/// excludes all of it: `Some(description of the pod's nodes)`. Only what the pod pins
/// can be judged without Node objects: `spec.nodeName` (as `kubernetes.io/hostname`) and
/// `spec.nodeSelector`. A PV term is a conjunction, the terms a disjunction
/// (`v1.NodeSelector`, checked by `CheckNodeAffinity`).
pub fn node_conflict(volume: &PersistentVolume, pod: &Pod) -> Option<String> {
    let terms = volume
        .spec
        .as_ref()?
        .node_affinity
        .as_ref()?
        .required
        .as_ref()?
        .node_selector_terms
        .clone();
    let spec = pod.spec.as_ref()?;
    let mut pinned: BTreeMap<String, String> = spec.node_selector.clone().unwrap_or_default();
    if let Some(node) = spec.node_name.as_ref() {
        pinned.insert(HOSTNAME_LABEL.to_string(), node.clone());
    }
    if pinned.is_empty() || terms.is_empty() {
        return None;
    }
    let excluded = |req: &NodeSelectorRequirement| {
        let Some(value) = pinned.get(&req.key) else {
            return false;
        };
        let values = req.values.as_deref().unwrap_or_default();
        match req.operator.as_str() {
            "In" => !values.contains(value),
            "NotIn" => values.contains(value),
            "DoesNotExist" => true,
            _ => false,
        }
    };
    let all_excluded = terms
        .iter()
        .all(|term| term.match_expressions.iter().flatten().any(&excluded));
    all_excluded.then(|| {
        pinned
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(",")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn volume(yaml: &str) -> PersistentVolume {
        serde_saphyr::from_str(yaml).unwrap()
    }

    fn claim(yaml: &str) -> PersistentVolumeClaim {
        serde_saphyr::from_str(yaml).unwrap()
    }

    const CLAIM: &str = "metadata: {name: data, namespace: app, uid: u-1}\nspec: {storageClassName: '', accessModes: [ReadWriteOnce], resources: {requests: {storage: 10Gi}}}\n";

    fn pv(class: &str, extra: &str) -> String {
        format!(
            "metadata: {{name: pv-1}}\nspec: {{capacity: {{storage: 10Gi}}, accessModes: [ReadWriteOnce], storageClassName: '{class}'{extra}}}\nstatus: {{phase: Available}}\n"
        )
    }

    #[test]
    fn a_fitting_available_volume_has_no_mismatch() {
        let found = mismatches(&claim(CLAIM), &volume(&pv("", "")), Path::Search, &[]);
        assert_eq!(found, Vec::new());
    }

    #[test]
    fn every_reason_is_collected_with_its_field() {
        let pv = volume(
            "metadata: {name: pv-1, labels: {tier: slow}}\nspec: {capacity: {storage: 1Gi}, accessModes: [ReadOnlyMany], storageClassName: manual, volumeMode: Block}\nstatus: {phase: Available}\n",
        );
        let claim = claim(
            "metadata: {name: data, namespace: app}\nspec: {storageClassName: '', accessModes: [ReadWriteOnce], selector: {matchLabels: {tier: fast}}, resources: {requests: {storage: 10Gi}}}\n",
        );
        let found = mismatches(&claim, &pv, Path::Search, &[]);
        let fields: Vec<&str> = found.iter().map(Mismatch::field).collect();
        assert_eq!(
            fields,
            [
                "spec.capacity.storage",
                "spec.volumeMode",
                "spec.accessModes",
                "spec.storageClassName",
                "metadata.labels"
            ]
        );
        assert_eq!(found[0].describe(), "capacity 1Gi < requested 10Gi");
        assert_eq!(found[3].describe(), "class `manual` != claim's \"\"");
    }

    #[test]
    fn the_beta_annotation_overrides_the_class_field() {
        let claim = claim(
            "metadata: {name: d, namespace: a, annotations: {volume.beta.kubernetes.io/storage-class: gold}}\nspec: {storageClassName: silver}\n",
        );
        assert_eq!(claim_class(&claim).as_deref(), Some("gold"));
    }

    #[test]
    fn a_volume_pre_bound_to_the_claim_skips_class_and_phase() {
        let pv = volume(&pv("other", ", claimRef: {name: data, namespace: app}"));
        assert!(is_bound_to(&pv, &claim(CLAIM)));
        assert_eq!(
            mismatches(&claim(CLAIM), &pv, Path::Search, &[]),
            Vec::new()
        );
    }

    #[test]
    fn a_released_volume_of_a_deleted_claim_needs_an_administrator() {
        let pv = volume(
            "metadata: {name: pv-1}\nspec: {capacity: {storage: 10Gi}, accessModes: [ReadWriteOnce], storageClassName: '', persistentVolumeReclaimPolicy: Retain, claimRef: {name: data, namespace: app, uid: old-uid}}\nstatus: {phase: Released}\n",
        );
        let found = mismatches(&claim(CLAIM), &pv, Path::Search, &[]);
        assert_eq!(
            found,
            [Mismatch::Phase {
                phase: "Released".into(),
                reclaim_policy: "Retain".into()
            }]
        );
    }

    #[test]
    fn a_volume_bound_elsewhere_is_claimed_by_other() {
        let pv = volume(
            "metadata: {name: pv-1}\nspec: {capacity: {storage: 10Gi}, accessModes: [ReadWriteOnce], storageClassName: '', claimRef: {name: other, namespace: app, uid: u-2}}\nstatus: {phase: Bound}\n",
        );
        let found = mismatches(&claim(CLAIM), &pv, Path::Search, &[]);
        assert_eq!(
            found,
            [Mismatch::ClaimedByOther {
                claim_ref: "app/other".into()
            }]
        );
    }

    #[test]
    fn node_affinity_conflicts_only_when_the_pod_pins_another_node() {
        let pv = volume(
            "metadata: {name: local-1}\nspec: {nodeAffinity: {required: {nodeSelectorTerms: [{matchExpressions: [{key: kubernetes.io/hostname, operator: In, values: [node-a]}]}]}}}\n",
        );
        let pinned: Pod = serde_saphyr::from_str(
            "metadata: {name: p}\nspec: {nodeSelector: {kubernetes.io/hostname: node-b}, containers: []}\n",
        )
        .unwrap();
        let same: Pod = serde_saphyr::from_str(
            "metadata: {name: p}\nspec: {nodeName: node-a, containers: []}\n",
        )
        .unwrap();
        let free: Pod =
            serde_saphyr::from_str("metadata: {name: p}\nspec: {containers: []}\n").unwrap();
        assert_eq!(
            node_conflict(&pv, &pinned).as_deref(),
            Some("kubernetes.io/hostname=node-b")
        );
        assert_eq!(node_conflict(&pv, &same), None);
        assert_eq!(node_conflict(&pv, &free), None);
    }

    #[test]
    fn relevant_volumes_are_the_namespaces_and_its_waiting_claims_candidates() {
        let waiting = claim(CLAIM);
        let claims = [&waiting];
        let ours = volume(&pv("gold", ", claimRef: {name: x, namespace: app}"));
        let elsewhere_same_class = volume(&pv("", ", claimRef: {name: x, namespace: other}"));
        let elsewhere_other_class = volume(&pv("gold", ", claimRef: {name: x, namespace: other}"));
        assert!(relevant_to(&ours, &claims, "app"));
        assert!(relevant_to(&elsewhere_same_class, &claims, "app"));
        assert!(!relevant_to(&elsewhere_other_class, &claims, "app"));
        assert!(!relevant_to(&elsewhere_same_class, &[], "app"));
    }
}
