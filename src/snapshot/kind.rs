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

/// What the API calls one kind: the one table every per-kind name is read from.
#[derive(Debug)]
pub struct KindInfo {
    pub kind: Kind,
    /// The `kind` field as the API spells it.
    pub name: &'static str,
    /// The resource name kubectl uses (`kubectl get <plural>`) and the API's URL path.
    pub plural: &'static str,
    /// The API group (`""` for core).
    pub group: &'static str,
    pub namespaced: bool,
}

const fn info(
    kind: Kind,
    name: &'static str,
    plural: &'static str,
    group: &'static str,
    namespaced: bool,
) -> KindInfo {
    KindInfo {
        kind,
        name,
        plural,
        group,
        namespaced,
    }
}

const APPS: &str = "apps";
const BATCH: &str = "batch";
const RBAC: &str = "rbac.authorization.k8s.io";

/// Every kind, in display order (the fault-bearing kinds first), which is also the
/// order of the enum: `Kind as usize` indexes it (a test holds them together).
pub const KINDS: [KindInfo; 21] = [
    info(Kind::Pod, "Pod", "pods", "", true),
    info(Kind::Job, "Job", "jobs", BATCH, true),
    info(Kind::CronJob, "CronJob", "cronjobs", BATCH, true),
    info(
        Kind::PersistentVolumeClaim,
        "PersistentVolumeClaim",
        "persistentvolumeclaims",
        "",
        true,
    ),
    info(
        Kind::ResourceQuota,
        "ResourceQuota",
        "resourcequotas",
        "",
        true,
    ),
    info(
        Kind::NetworkPolicy,
        "NetworkPolicy",
        "networkpolicies",
        "networking.k8s.io",
        true,
    ),
    info(Kind::RoleBinding, "RoleBinding", "rolebindings", RBAC, true),
    info(Kind::Role, "Role", "roles", RBAC, true),
    info(Kind::ConfigMap, "ConfigMap", "configmaps", "", true),
    info(Kind::Deployment, "Deployment", "deployments", APPS, true),
    info(Kind::StatefulSet, "StatefulSet", "statefulsets", APPS, true),
    info(Kind::DaemonSet, "DaemonSet", "daemonsets", APPS, true),
    info(Kind::ReplicaSet, "ReplicaSet", "replicasets", APPS, true),
    info(Kind::Service, "Service", "services", "", true),
    info(
        Kind::EndpointSlice,
        "EndpointSlice",
        "endpointslices",
        "discovery.k8s.io",
        true,
    ),
    info(
        Kind::ServiceAccount,
        "ServiceAccount",
        "serviceaccounts",
        "",
        true,
    ),
    info(Kind::LimitRange, "LimitRange", "limitranges", "", true),
    info(Kind::Event, "Event", "events", "", true),
    info(
        Kind::StorageClass,
        "StorageClass",
        "storageclasses",
        "storage.k8s.io",
        false,
    ),
    info(
        Kind::PersistentVolume,
        "PersistentVolume",
        "persistentvolumes",
        "",
        false,
    ),
    info(
        Kind::ClusterRole,
        "ClusterRole",
        "clusterroles",
        RBAC,
        false,
    ),
];

impl Kind {
    /// Every kind, in display order: the fault-bearing kinds first.
    pub const ALL: [Kind; KINDS.len()] = {
        let mut all = [Kind::Pod; KINDS.len()];
        let mut i = 0;
        while i < KINDS.len() {
            all[i] = KINDS[i].kind;
            i += 1;
        }
        all
    };

    /// This kind's row of [`KINDS`].
    pub fn info(self) -> &'static KindInfo {
        &KINDS[self as usize]
    }

    /// The `kind` field as the API spells it.
    pub fn name(self) -> &'static str {
        self.info().name
    }

    /// The resource name kubectl uses (`kubectl get <plural>`).
    pub fn plural(self) -> &'static str {
        self.info().plural
    }

    /// The API group (`""` for core).
    pub fn group(self) -> &'static str {
        self.info().group
    }

    pub fn namespaced(self) -> bool {
        self.info().namespaced
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
    fn the_table_is_in_enum_order() {
        for (position, row) in KINDS.iter().enumerate() {
            assert_eq!(row.kind as usize, position, "{row:?}");
            assert_eq!(row.kind.info().name, row.name);
        }
        assert_eq!(Kind::NetworkPolicy.plural(), "networkpolicies");
        assert_eq!(Kind::ClusterRole.group(), "rbac.authorization.k8s.io");
        assert_eq!(Kind::Event.name(), "Event");
        assert!(!Kind::StorageClass.namespaced() && Kind::ConfigMap.namespaced());
    }

    #[test]
    fn all_lists_every_kind_once() {
        let mut kinds = Kind::ALL.to_vec();
        kinds.sort();
        kinds.dedup();
        assert_eq!(kinds.len(), Kind::ALL.len());
    }
}
