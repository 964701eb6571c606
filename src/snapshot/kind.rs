//! The kinds a snapshot holds, in the order inventory shows them.

use serde::Serialize;

/// A kind triage reads. Secrets are deliberately absent: triage never reads them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Kind {
    Pod,
    Job,
    CronJob,
    PersistentVolumeClaim,
    ResourceQuota,
    NetworkPolicy,
    RoleBinding,
    Role,
    ConfigMap,
    Deployment,
    StatefulSet,
    DaemonSet,
    ReplicaSet,
    Service,
    EndpointSlice,
    ServiceAccount,
    LimitRange,
    Event,
    StorageClass,
    /// Cluster-scoped; a snapshot keeps only those the namespace's claims name or
    /// could bind to.
    PersistentVolume,
    /// Only the ClusterRoles the namespace's RoleBindings reference (read with GET,
    /// never listed): what `rbac` needs to evaluate a binding offline.
    ClusterRole,
}

impl Kind {
    /// Every kind, in display order: the fault-bearing kinds first.
    pub const ALL: [Kind; 21] = [
        Kind::Pod,
        Kind::Job,
        Kind::CronJob,
        Kind::PersistentVolumeClaim,
        Kind::ResourceQuota,
        Kind::NetworkPolicy,
        Kind::RoleBinding,
        Kind::Role,
        Kind::ConfigMap,
        Kind::Deployment,
        Kind::StatefulSet,
        Kind::DaemonSet,
        Kind::ReplicaSet,
        Kind::Service,
        Kind::EndpointSlice,
        Kind::ServiceAccount,
        Kind::LimitRange,
        Kind::Event,
        Kind::StorageClass,
        Kind::PersistentVolume,
        Kind::ClusterRole,
    ];

    /// The `kind` field as the API spells it.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Pod => "Pod",
            Kind::Job => "Job",
            Kind::CronJob => "CronJob",
            Kind::PersistentVolumeClaim => "PersistentVolumeClaim",
            Kind::ResourceQuota => "ResourceQuota",
            Kind::NetworkPolicy => "NetworkPolicy",
            Kind::RoleBinding => "RoleBinding",
            Kind::Role => "Role",
            Kind::ConfigMap => "ConfigMap",
            Kind::Deployment => "Deployment",
            Kind::StatefulSet => "StatefulSet",
            Kind::DaemonSet => "DaemonSet",
            Kind::ReplicaSet => "ReplicaSet",
            Kind::Service => "Service",
            Kind::EndpointSlice => "EndpointSlice",
            Kind::ServiceAccount => "ServiceAccount",
            Kind::LimitRange => "LimitRange",
            Kind::Event => "Event",
            Kind::StorageClass => "StorageClass",
            Kind::PersistentVolume => "PersistentVolume",
            Kind::ClusterRole => "ClusterRole",
        }
    }

    /// The resource name kubectl uses (`kubectl get <plural>`).
    pub fn plural(self) -> &'static str {
        match self {
            Kind::Pod => "pods",
            Kind::Job => "jobs",
            Kind::CronJob => "cronjobs",
            Kind::PersistentVolumeClaim => "persistentvolumeclaims",
            Kind::ResourceQuota => "resourcequotas",
            Kind::NetworkPolicy => "networkpolicies",
            Kind::RoleBinding => "rolebindings",
            Kind::Role => "roles",
            Kind::ConfigMap => "configmaps",
            Kind::Deployment => "deployments",
            Kind::StatefulSet => "statefulsets",
            Kind::DaemonSet => "daemonsets",
            Kind::ReplicaSet => "replicasets",
            Kind::Service => "services",
            Kind::EndpointSlice => "endpointslices",
            Kind::ServiceAccount => "serviceaccounts",
            Kind::LimitRange => "limitranges",
            Kind::Event => "events",
            Kind::StorageClass => "storageclasses",
            Kind::PersistentVolume => "persistentvolumes",
            Kind::ClusterRole => "clusterroles",
        }
    }

    /// The API group (`""` for core).
    pub fn group(self) -> &'static str {
        match self {
            Kind::Job | Kind::CronJob => "batch",
            Kind::EndpointSlice => "discovery.k8s.io",
            Kind::Deployment | Kind::StatefulSet | Kind::DaemonSet | Kind::ReplicaSet => "apps",
            Kind::Role | Kind::RoleBinding | Kind::ClusterRole => "rbac.authorization.k8s.io",
            Kind::NetworkPolicy => "networking.k8s.io",
            Kind::StorageClass => "storage.k8s.io",
            _ => "",
        }
    }

    pub fn namespaced(self) -> bool {
        !matches!(
            self,
            Kind::StorageClass | Kind::PersistentVolume | Kind::ClusterRole
        )
    }

    /// The kind for an object's `apiVersion` and `kind`, if triage reads it.
    pub fn from_type(api_version: &str, kind: &str) -> Option<Kind> {
        let group = api_version.rsplit_once('/').map_or("", |(group, _)| group);
        Kind::ALL
            .into_iter()
            .find(|candidate| candidate.name() == kind && candidate.group() == group)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_type_matches_group_and_kind() {
        assert_eq!(Kind::from_type("v1", "Pod"), Some(Kind::Pod));
        assert_eq!(Kind::from_type("batch/v1", "Job"), Some(Kind::Job));
        assert_eq!(Kind::from_type("batch/v1", "CronJob"), Some(Kind::CronJob));
        assert_eq!(
            Kind::from_type("discovery.k8s.io/v1", "EndpointSlice"),
            Some(Kind::EndpointSlice)
        );
        assert_eq!(
            Kind::from_type("rbac.authorization.k8s.io/v1", "RoleBinding"),
            Some(Kind::RoleBinding)
        );
        // events.k8s.io Events have another shape: kept raw, not parsed as core Events.
        assert_eq!(Kind::from_type("events.k8s.io/v1", "Event"), None);
        assert_eq!(Kind::from_type("v1", "Secret"), None);
        assert_eq!(Kind::from_type("apps/v1", "Pod"), None);
        assert_eq!(
            Kind::from_type("v1", "PersistentVolume"),
            Some(Kind::PersistentVolume)
        );
        assert!(!Kind::PersistentVolume.namespaced());
        assert_eq!(
            Kind::from_type("rbac.authorization.k8s.io/v1", "ClusterRole"),
            Some(Kind::ClusterRole)
        );
        assert!(!Kind::ClusterRole.namespaced());
    }

    #[test]
    fn all_lists_every_kind_once() {
        let mut kinds = Kind::ALL.to_vec();
        kinds.sort();
        kinds.dedup();
        assert_eq!(kinds.len(), Kind::ALL.len());
    }
}
