//! `-A` view models: one row per namespace, for `inventory -A` (what is there) and
//! `check -A` (which namespaces are red, worst first, and the top root cause of
//! each). Pure: each row is built from one namespace's snapshot (see
//! [`crate::snapshot::by_namespace`]) or its [`Check`], so the caller can drop a
//! namespace's findings as soon as its row is made: memory holds the objects of all
//! namespaces once, the findings of one namespace, and one row per namespace.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::Serialize;

use crate::check::Check;
use crate::finding::Status;
use crate::k8s::pod_state;
use crate::snapshot::{Gap, Kind, Snapshot, SnapshotOrigin};

/// Version of the JSON/YAML shape (docs/output.md); bumped on any incompatible change.
pub const API_VERSION: &str = "triage/v1alpha1";

/// How many objects of each class a namespace holds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectCounts {
    pub pods: usize,
    /// Deployments, StatefulSets, DaemonSets, ReplicaSets, Jobs, CronJobs.
    pub workloads: usize,
    pub config_maps: usize,
    /// Services, EndpointSlices, NetworkPolicies.
    pub network: usize,
    pub persistent_volume_claims: usize,
    /// ServiceAccounts, Roles, RoleBindings.
    pub access: usize,
    /// ResourceQuotas, LimitRanges.
    pub policy: usize,
    pub events: usize,
    /// Every namespaced object above.
    pub total: usize,
}

impl ObjectCounts {
    /// The namespace's own objects only (not the DNS pods or the cluster-scoped
    /// objects copied in beside them).
    pub fn of(snapshot: &Snapshot, namespace: &str) -> Self {
        let mut counts = ObjectCounts::default();
        for (kind, meta) in snapshot.all_meta() {
            if meta.namespace.as_deref() != Some(namespace) {
                continue;
            }
            let class = match kind {
                Kind::Pod => &mut counts.pods,
                Kind::Deployment
                | Kind::StatefulSet
                | Kind::DaemonSet
                | Kind::ReplicaSet
                | Kind::Job
                | Kind::CronJob => &mut counts.workloads,
                Kind::ConfigMap => &mut counts.config_maps,
                Kind::Service | Kind::EndpointSlice | Kind::NetworkPolicy => &mut counts.network,
                Kind::PersistentVolumeClaim => &mut counts.persistent_volume_claims,
                Kind::ServiceAccount | Kind::Role | Kind::RoleBinding => &mut counts.access,
                Kind::ResourceQuota | Kind::LimitRange => &mut counts.policy,
                Kind::Event => &mut counts.events,
                Kind::StorageClass | Kind::PersistentVolume | Kind::ClusterRole => continue,
            };
            *class += 1;
            counts.total += 1;
        }
        counts
    }
}

/// What `-A` read and could not read, shared by both views.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Scope {
    pub captured_at: Option<Timestamp>,
    pub source: SnapshotOrigin,
    /// Kinds that could not be listed cluster-wide (by plural), and why: missing in
    /// every namespace, never read namespace by namespace instead.
    pub gaps: BTreeMap<String, Gap>,
    /// Other things that could not be read (the Namespace list), and why.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub object_gaps: BTreeMap<String, Gap>,
}

impl Scope {
    pub fn of(snapshot: &Snapshot, source: SnapshotOrigin, now: Option<Timestamp>) -> Self {
        Scope {
            captured_at: now,
            source,
            gaps: snapshot
                .gaps
                .iter()
                .map(|(kind, gap)| (kind.plural().to_string(), gap.clone()))
                .collect(),
            object_gaps: snapshot.object_gaps.clone(),
        }
    }
}

// ---- inventory -A --------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterInventory {
    pub api_version: &'static str,
    pub kind: &'static str,
    #[serde(flatten)]
    pub scope: Scope,
    /// In namespace name order.
    pub namespaces: Vec<NamespaceInventory>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NamespaceInventory {
    pub namespace: String,
    pub objects: ObjectCounts,
    /// Pods not Succeeded or Failed whose `Ready` condition is not True.
    pub pods_not_ready: usize,
    pub warning_events: usize,
}

impl NamespaceInventory {
    pub fn build(snapshot: &Snapshot, namespace: &str) -> Self {
        let own = |ns: Option<&String>| ns.map(String::as_str) == Some(namespace);
        NamespaceInventory {
            namespace: namespace.to_string(),
            objects: ObjectCounts::of(snapshot, namespace),
            pods_not_ready: snapshot
                .pods
                .iter()
                .filter(|pod| own(pod.metadata.namespace.as_ref()))
                .filter(|pod| !pod_state::is_terminal(pod) && !is_ready(pod))
                .count(),
            warning_events: snapshot
                .events
                .iter()
                .filter(|event| own(event.metadata.namespace.as_ref()))
                .filter(|event| event.type_.as_deref() == Some("Warning"))
                .count(),
        }
    }
}

/// The pod's `Ready` condition is True: every container ready and readiness gates met
/// (https://kubernetes.io/docs/concepts/workloads/pods/pod-lifecycle/#pod-conditions).
fn is_ready(pod: &k8s_openapi::api::core::v1::Pod) -> bool {
    pod.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|conditions| {
            conditions
                .iter()
                .any(|c| c.type_ == "Ready" && c.status == "True")
        })
}

impl ClusterInventory {
    pub fn new(scope: Scope, mut namespaces: Vec<NamespaceInventory>) -> Self {
        namespaces.sort_by(|a, b| a.namespace.cmp(&b.namespace));
        ClusterInventory {
            api_version: API_VERSION,
            kind: "ClusterInventory",
            scope,
            namespaces,
        }
    }
}

// ---- check -A ------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterCheck {
    pub api_version: &'static str,
    pub kind: &'static str,
    #[serde(flatten)]
    pub scope: Scope,
    pub summary: ClusterSummary,
    /// Worst first: most failing signals, then most unknown, then by name.
    pub namespaces: Vec<NamespaceCheck>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterSummary {
    pub namespaces: usize,
    /// Namespaces with at least one failing signal.
    pub failing: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NamespaceCheck {
    pub namespace: String,
    /// The profile used for this namespace, if any.
    pub profile: Option<String>,
    pub failing: usize,
    pub unknown: usize,
    /// The failing signals' ids, in signal order.
    pub failing_signals: Vec<&'static str>,
    /// The root cause that explains the most symptoms (ties: the first in the causal
    /// graph's order), as `check -n NS` lists it under CAUSES.
    pub top_cause: Option<TopCause>,
    pub objects: ObjectCounts,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TopCause {
    pub cause: &'static str,
    pub symptoms: Vec<&'static str>,
}

impl NamespaceCheck {
    /// The row of one namespace's check; `objects` counted from its snapshot.
    pub fn build(check: &Check, objects: ObjectCounts) -> Self {
        let top_cause = check
            .causes
            .iter()
            .enumerate()
            // Most symptoms first; among equals the earliest (max_by_key keeps the last).
            .max_by_key(|(position, group)| (group.symptoms.len(), usize::MAX - position))
            .map(|(_, group)| TopCause {
                cause: group.cause,
                symptoms: group.symptoms.clone(),
            });
        NamespaceCheck {
            namespace: check.namespace.clone(),
            profile: check.profile.clone(),
            failing: check.summary.fail,
            unknown: check.summary.unknown,
            failing_signals: check
                .findings
                .iter()
                .filter(|f| f.status == Status::Fail)
                .map(|f| f.id)
                .collect(),
            top_cause,
            objects,
        }
    }
}

impl ClusterCheck {
    pub fn new(scope: Scope, mut namespaces: Vec<NamespaceCheck>) -> Self {
        namespaces.sort_by(|a, b| {
            (b.failing, b.unknown)
                .cmp(&(a.failing, a.unknown))
                .then_with(|| a.namespace.cmp(&b.namespace))
        });
        ClusterCheck {
            api_version: API_VERSION,
            kind: "ClusterCheck",
            scope,
            summary: ClusterSummary {
                namespaces: namespaces.len(),
                failing: namespaces.iter().filter(|n| n.failing > 0).count(),
            },
            namespaces,
        }
    }

    pub fn failing(&self) -> bool {
        self.summary.failing > 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::{CauseGroup, Summary};

    fn row(namespace: &str, failing: usize, unknown: usize) -> NamespaceCheck {
        NamespaceCheck {
            namespace: namespace.to_string(),
            profile: None,
            failing,
            unknown,
            failing_signals: Vec::new(),
            top_cause: None,
            objects: ObjectCounts::default(),
        }
    }

    fn scope() -> Scope {
        Scope {
            captured_at: None,
            source: SnapshotOrigin::File {
                path: "x".to_string(),
            },
            gaps: BTreeMap::new(),
            object_gaps: BTreeMap::new(),
        }
    }

    #[test]
    fn namespaces_are_ordered_worst_first_then_by_name() {
        let check = ClusterCheck::new(
            scope(),
            vec![
                row("b-green", 0, 0),
                row("a-green", 0, 0),
                row("unsure", 0, 2),
                row("red", 3, 0),
                row("redder", 5, 0),
                row("red-unsure", 3, 1),
            ],
        );
        let order: Vec<&str> = check
            .namespaces
            .iter()
            .map(|n| n.namespace.as_str())
            .collect();
        assert_eq!(
            order,
            [
                "redder",
                "red-unsure",
                "red",
                "unsure",
                "a-green",
                "b-green"
            ]
        );
        assert_eq!(check.summary.failing, 3);
        assert!(check.failing());
        assert!(!ClusterCheck::new(scope(), vec![row("g", 0, 4)]).failing());
    }

    #[test]
    fn the_top_cause_explains_the_most_symptoms_and_ties_keep_graph_order() {
        let mut check = Check {
            api_version: "v",
            kind: "Check",
            namespace: "ns".to_string(),
            captured_at: None,
            profile: None,
            summary: Summary::default(),
            findings: Vec::new(),
            graph: Default::default(),
            causes: vec![
                CauseGroup {
                    cause: "lock",
                    symptoms: vec!["derived-state"],
                },
                CauseGroup {
                    cause: "quota",
                    symptoms: vec!["rollout", "derived-state"],
                },
                CauseGroup {
                    cause: "egress",
                    symptoms: vec!["crash-loop", "derived-state"],
                },
            ],
            apps: Vec::new(),
            logs_note: None,
            apps_note: None,
        };
        let top = NamespaceCheck::build(&check, ObjectCounts::default()).top_cause;
        assert_eq!(top.map(|t| t.cause), Some("quota"));
        check.causes.clear();
        assert_eq!(
            NamespaceCheck::build(&check, ObjectCounts::default()).top_cause,
            None
        );
    }
}
