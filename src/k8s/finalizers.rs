//! Finalizers: which Kubernetes component removes the well-known ones and what it waits
//! for, and which workload in a snapshot might own a custom one (by its domain). Used by
//! `orphan-hook` (the Job controller's own finalizer is never an orphan's) and
//! `stuck-deletion`.
//! https://kubernetes.io/docs/concepts/overview/working-with-objects/finalizers/

use crate::snapshot::{HasMeta, Snapshot};

/// The Job controller's finalizer on the pods it tracks (pkg/controller/job): removed
/// once the pod's end is counted in the Job's status.
pub const JOB_TRACKING: &str = "batch.kubernetes.io/job-tracking";
/// Removed by the pvc-protection controller once no pod uses the claim
/// (pkg/controller/volume/pvcprotection).
pub const PVC_PROTECTION: &str = "kubernetes.io/pvc-protection";
/// The garbage collector's: the owner goes once its blocking dependents are gone.
pub const FOREGROUND_DELETION: &str = "foregroundDeletion";
/// The garbage collector's: dependents lose their ownerReference, then the owner goes.
pub const ORPHAN: &str = "orphan";
/// The namespace controller's (`spec.finalizers` of a Namespace): removed once every
/// object in the namespace is gone (pkg/controller/namespace/deletion).
pub const NAMESPACE_CONTENT: &str = "kubernetes";

/// The component that removes a well-known finalizer, and what it waits for.
pub fn built_in(finalizer: &str) -> Option<(&'static str, &'static str)> {
    Some(match finalizer {
        JOB_TRACKING => (
            "the Job controller (kube-controller-manager)",
            "the pod's end to be counted in its Job's status",
        ),
        PVC_PROTECTION => (
            "the pvc-protection controller (kube-controller-manager)",
            "no pod to use the claim",
        ),
        "kubernetes.io/pv-protection" => (
            "the pv-protection controller (kube-controller-manager)",
            "the volume to be unbound",
        ),
        FOREGROUND_DELETION => (
            "the garbage collector (kube-controller-manager)",
            "its dependents to be deleted",
        ),
        ORPHAN => (
            "the garbage collector (kube-controller-manager)",
            "its dependents to be orphaned",
        ),
        NAMESPACE_CONTENT => (
            "the namespace controller (kube-controller-manager)",
            "every object in the namespace to be gone",
        ),
        "service.kubernetes.io/load-balancer-cleanup" => (
            "the service controller (cloud-controller-manager)",
            "the cloud load balancer to be deleted",
        ),
        _ => return None,
    })
}

/// Parts of a finalizer's domain that say nothing about its owner.
const GENERIC: [&str; 14] = [
    "io",
    "com",
    "org",
    "net",
    "dev",
    "sh",
    "cloud",
    "k8s",
    "x-k8s",
    "kubernetes",
    "example",
    "www",
    "finalizer",
    "finalizers",
];

/// The distinctive words of a finalizer's domain: `bleater.io/hook-cleanup` gives
/// `bleater`; `resources-finalizer.argocd.argoproj.io` gives `argocd`, `argoproj`.
pub fn domain_words(finalizer: &str) -> Vec<String> {
    let domain = finalizer.split('/').next().unwrap_or_default();
    domain
        .split('.')
        .map(str::to_ascii_lowercase)
        .filter(|word| word.len() >= 3 && !GENERIC.contains(&word.as_str()))
        .filter(|word| !word.contains("finalizer"))
        .collect()
}

/// A workload that may run the controller for a custom finalizer.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Candidate {
    /// `deployment/bleater-system/bleater-reconciler`.
    pub workload: String,
    pub namespace: String,
    pub ready: i32,
    pub desired: i32,
}

/// Words in workload names that say "I am a controller".
const CONTROLLER_WORDS: [&str; 6] = [
    "controller",
    "operator",
    "manager",
    "reconciler",
    "webhook",
    "cleanup",
];

/// Workloads anywhere in the snapshot whose name contains a word of the finalizer's
/// domain and a controller word (`bleater-reconciler` for `bleater.io/...`), those in
/// `namespace` first. A heuristic: names are all a snapshot has to go on.
pub fn candidates(snapshot: &Snapshot, finalizer: &str, namespace: &str) -> Vec<Candidate> {
    let words = domain_words(finalizer);
    if words.is_empty() {
        return Vec::new();
    }
    let fits = |name: &str| {
        let name = name.to_ascii_lowercase();
        words.iter().any(|w| name.contains(w.as_str()))
            && CONTROLLER_WORDS.iter().any(|c| name.contains(c))
    };
    let mut found = Vec::new();
    for d in &snapshot.deployments {
        if fits(d.name()) {
            found.push(Candidate {
                workload: format!("deployment/{}", d.name()),
                namespace: d.namespace().to_string(),
                ready: d
                    .status
                    .as_ref()
                    .and_then(|s| s.ready_replicas)
                    .unwrap_or(0),
                desired: d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1),
            });
        }
    }
    for s in &snapshot.stateful_sets {
        if fits(s.name()) {
            found.push(Candidate {
                workload: format!("statefulset/{}", s.name()),
                namespace: s.namespace().to_string(),
                ready: s
                    .status
                    .as_ref()
                    .and_then(|s| s.ready_replicas)
                    .unwrap_or(0),
                desired: s.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1),
            });
        }
    }
    for d in &snapshot.daemon_sets {
        if fits(d.name()) {
            let status = d.status.as_ref();
            found.push(Candidate {
                workload: format!("daemonset/{}", d.name()),
                namespace: d.namespace().to_string(),
                ready: status.map_or(0, |s| s.number_ready),
                desired: status.map_or(0, |s| s.desired_number_scheduled),
            });
        }
    }
    found.sort_by(|a, b| {
        (a.namespace != namespace, &a.namespace, &a.workload).cmp(&(
            b.namespace != namespace,
            &b.namespace,
            &b.workload,
        ))
    });
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domain_words_keep_the_distinctive_parts() {
        assert_eq!(domain_words("bleater.io/hook-cleanup"), vec!["bleater"]);
        assert_eq!(
            domain_words("resources-finalizer.argocd.argoproj.io"),
            vec!["argocd", "argoproj"]
        );
        assert!(domain_words("example.io/x").is_empty());
    }

    #[test]
    fn built_in_finalizers_name_their_controller() {
        assert!(
            built_in(PVC_PROTECTION)
                .unwrap()
                .0
                .contains("pvc-protection")
        );
        assert!(built_in("bleater.io/hook-cleanup").is_none());
    }
}
