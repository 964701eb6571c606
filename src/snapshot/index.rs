//! Lookups the signals make for every object, answered from an index built once per
//! snapshot (on first use), so a signal's cost follows what it reads rather than the
//! size of the namespace: objects of a kind in a namespace, the objects a controller
//! owns (ownerReferences), and the pods a label selector matches.

use std::collections::{BTreeMap, HashMap};

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::{
    ConfigMap, Event, LimitRange, PersistentVolume, PersistentVolumeClaim, Pod, ResourceQuota,
    Service, ServiceAccount,
};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::api::networking::v1::NetworkPolicy;
use k8s_openapi::api::rbac::v1::{ClusterRole, Role, RoleBinding};
use k8s_openapi::api::storage::v1::StorageClass;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::{HasMeta, Kind, Snapshot};

/// A typed kind the snapshot stores, and where.
pub trait Stored: HasMeta + Sized + 'static {
    const KIND: Kind;
    fn stored(snapshot: &Snapshot) -> &[Self];
}

macro_rules! stored {
    ($($type:ty => $kind:ident, $field:ident;)*) => {
        $(impl Stored for $type {
            const KIND: Kind = Kind::$kind;
            fn stored(snapshot: &Snapshot) -> &[Self] {
                &snapshot.$field
            }
        })*
    };
}

stored! {
    Pod => Pod, pods;
    Job => Job, jobs;
    CronJob => CronJob, cron_jobs;
    PersistentVolumeClaim => PersistentVolumeClaim, persistent_volume_claims;
    ResourceQuota => ResourceQuota, resource_quotas;
    NetworkPolicy => NetworkPolicy, network_policies;
    RoleBinding => RoleBinding, role_bindings;
    Role => Role, roles;
    ConfigMap => ConfigMap, config_maps;
    Deployment => Deployment, deployments;
    StatefulSet => StatefulSet, stateful_sets;
    DaemonSet => DaemonSet, daemon_sets;
    ReplicaSet => ReplicaSet, replica_sets;
    Service => Service, services;
    EndpointSlice => EndpointSlice, endpoint_slices;
    ServiceAccount => ServiceAccount, service_accounts;
    LimitRange => LimitRange, limit_ranges;
    Event => Event, events;
    StorageClass => StorageClass, storage_classes;
    PersistentVolume => PersistentVolume, persistent_volumes;
    ClusterRole => ClusterRole, cluster_roles;
}

/// Positions into the snapshot's per-kind lists, each list in name order.
#[derive(Debug, Clone, Default)]
pub struct Index {
    /// How many objects of each kind were indexed: a list that grew since (a test
    /// pushing objects after a lookup) is scanned instead, never answered stale.
    lengths: BTreeMap<Kind, usize>,
    by_namespace: HashMap<(Kind, String), Vec<usize>>,
    /// (kind, namespace, controller kind, controller name) -> the objects it controls.
    controlled: HashMap<(Kind, String, String, String), Vec<usize>>,
    /// (namespace, label key, label value) -> pods carrying that label.
    pods_by_label: HashMap<(String, String, String), Vec<usize>>,
    /// (namespace, claim name) -> pods mounting that PersistentVolumeClaim.
    pods_by_claim: HashMap<(String, String), Vec<usize>>,
}

/// The claims a pod mounts: `persistentVolumeClaim` volumes and the `<pod>-<volume>`
/// claims of generic ephemeral volumes
/// (<https://kubernetes.io/docs/concepts/storage/ephemeral-volumes/#persistentvolumeclaim-naming>).
pub fn claim_names(pod: &Pod) -> Vec<String> {
    pod.spec
        .iter()
        .flat_map(|s| s.volumes.iter().flatten())
        .filter_map(|v| {
            if let Some(source) = &v.persistent_volume_claim {
                Some(source.claim_name.clone())
            } else {
                v.ephemeral
                    .as_ref()
                    .map(|_| format!("{}-{}", pod.name(), v.name))
            }
        })
        .collect()
}

impl Index {
    fn build(snapshot: &Snapshot) -> Index {
        let mut index = Index::default();
        fn add<K: Stored>(index: &mut Index, snapshot: &Snapshot) {
            let items = K::stored(snapshot);
            index.lengths.insert(K::KIND, items.len());
            let mut positions: Vec<usize> = (0..items.len()).collect();
            positions.sort_by(|&a, &b| items[a].name().cmp(items[b].name()));
            for position in positions {
                let meta = items[position].meta();
                let namespace = meta.namespace.clone().unwrap_or_default();
                if let Some(owner) = crate::k8s::workload::controller_of(meta) {
                    index
                        .controlled
                        .entry((
                            K::KIND,
                            namespace.clone(),
                            owner.kind.clone(),
                            owner.name.clone(),
                        ))
                        .or_default()
                        .push(position);
                }
                if K::KIND == Kind::Pod {
                    for (key, value) in meta.labels.iter().flatten() {
                        index
                            .pods_by_label
                            .entry((namespace.clone(), key.clone(), value.clone()))
                            .or_default()
                            .push(position);
                    }
                }
                index
                    .by_namespace
                    .entry((K::KIND, namespace))
                    .or_default()
                    .push(position);
            }
        }
        add::<Pod>(&mut index, snapshot);
        for (position, pod) in snapshot.pods.iter().enumerate() {
            let mut claims = claim_names(pod);
            claims.sort();
            claims.dedup();
            for claim in claims {
                index
                    .pods_by_claim
                    .entry((pod.namespace().to_string(), claim))
                    .or_default()
                    .push(position);
            }
        }
        add::<Job>(&mut index, snapshot);
        add::<CronJob>(&mut index, snapshot);
        add::<PersistentVolumeClaim>(&mut index, snapshot);
        add::<ResourceQuota>(&mut index, snapshot);
        add::<NetworkPolicy>(&mut index, snapshot);
        add::<RoleBinding>(&mut index, snapshot);
        add::<Role>(&mut index, snapshot);
        add::<ConfigMap>(&mut index, snapshot);
        add::<Deployment>(&mut index, snapshot);
        add::<StatefulSet>(&mut index, snapshot);
        add::<DaemonSet>(&mut index, snapshot);
        add::<ReplicaSet>(&mut index, snapshot);
        add::<Service>(&mut index, snapshot);
        add::<EndpointSlice>(&mut index, snapshot);
        add::<ServiceAccount>(&mut index, snapshot);
        add::<LimitRange>(&mut index, snapshot);
        add::<Event>(&mut index, snapshot);
        add::<StorageClass>(&mut index, snapshot);
        add::<PersistentVolume>(&mut index, snapshot);
        add::<ClusterRole>(&mut index, snapshot);
        index
    }

    fn current<K: Stored>(&self, snapshot: &Snapshot) -> bool {
        self.lengths.get(&K::KIND) == Some(&K::stored(snapshot).len())
    }
}

impl Snapshot {
    fn index(&self) -> &Index {
        self.index.get_or_init(|| Index::build(self))
    }

    /// The objects of kind `K` in `namespace`, in name order (as
    /// [`super::in_namespace`], from the index).
    pub fn objects_in<K: Stored>(&self, namespace: &str) -> Vec<&K> {
        let index = self.index();
        if !index.current::<K>(self) {
            return super::in_namespace(K::stored(self), namespace);
        }
        let items = K::stored(self);
        index
            .by_namespace
            .get(&(K::KIND, namespace.to_string()))
            .map(|positions| positions.iter().map(|&p| &items[p]).collect())
            .unwrap_or_default()
    }

    /// The objects of kind `K` that `owner` (of kind `kind`) controls, in name order
    /// (as [`crate::k8s::workload::controlled`], from the index).
    pub fn controlled<K: Stored>(&self, kind: Kind, owner: &ObjectMeta) -> Vec<&K> {
        let index = self.index();
        if !index.current::<K>(self) {
            return crate::k8s::workload::controlled(K::stored(self), kind, owner);
        }
        let items = K::stored(self);
        let key = (
            K::KIND,
            owner.namespace.clone().unwrap_or_default(),
            kind.name().to_string(),
            owner.name.clone().unwrap_or_default(),
        );
        index
            .controlled
            .get(&key)
            .into_iter()
            .flatten()
            .map(|&p| &items[p])
            .filter(|item| crate::k8s::workload::controlled_by(item.meta(), kind, owner))
            .collect()
    }

    /// The pods of `namespace` carrying every label of `selector` (equality-based, the
    /// Service selector's rule), in name order; an empty selector selects every pod.
    pub fn pods_with_labels(
        &self,
        namespace: &str,
        selector: &BTreeMap<String, String>,
    ) -> Vec<&Pod> {
        let matches = |pod: &&Pod| {
            selector
                .iter()
                .all(|(k, v)| pod.metadata.labels.as_ref().and_then(|l| l.get(k)) == Some(v))
        };
        let index = self.index();
        if selector.is_empty() || !index.current::<Pod>(self) {
            return super::in_namespace(&self.pods, namespace)
                .into_iter()
                .filter(matches)
                .collect();
        }
        // From the rarest label: positions are in name order already.
        let rarest = selector
            .iter()
            .map(|(k, v)| {
                index
                    .pods_by_label
                    .get(&(namespace.to_string(), k.clone(), v.clone()))
                    .map_or(&[][..], Vec::as_slice)
            })
            .min_by_key(|positions| positions.len())
            .unwrap_or_default();
        rarest
            .iter()
            .map(|&p| &self.pods[p])
            .filter(matches)
            .collect()
    }
}

impl Snapshot {
    /// The pods of `namespace` that mount the claim `claim` ([`claim_names`]), in name
    /// order.
    pub fn pods_mounting(&self, namespace: &str, claim: &str) -> Vec<&Pod> {
        let index = self.index();
        if !index.current::<Pod>(self) {
            return super::in_namespace(&self.pods, namespace)
                .into_iter()
                .filter(|pod| claim_names(pod).iter().any(|c| c == claim))
                .collect();
        }
        let mut pods: Vec<&Pod> = index
            .pods_by_claim
            .get(&(namespace.to_string(), claim.to_string()))
            .into_iter()
            .flatten()
            .map(|&p| &self.pods[p])
            .collect();
        pods.sort_by(|a, b| a.name().cmp(b.name()));
        pods
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(name: &str, namespace: &str, labels: &[(&str, &str)], owner: Option<&str>) -> Pod {
        let mut pod = Pod::default();
        pod.metadata.name = Some(name.into());
        pod.metadata.namespace = Some(namespace.into());
        pod.metadata.labels = Some(
            labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        );
        pod.metadata.owner_references = owner.map(|owner| {
            vec![
                k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference {
                    kind: "ReplicaSet".into(),
                    name: owner.into(),
                    uid: format!("uid-{owner}"),
                    controller: Some(true),
                    ..Default::default()
                },
            ]
        });
        pod
    }

    fn snapshot() -> Snapshot {
        Snapshot {
            pods: vec![
                pod(
                    "web-b",
                    "shop",
                    &[("app", "web"), ("tier", "front")],
                    Some("web-1"),
                ),
                pod("web-a", "shop", &[("app", "web")], Some("web-1")),
                pod("db-0", "shop", &[("app", "db")], None),
                pod("web-c", "other", &[("app", "web")], Some("web-1")),
            ],
            ..Snapshot::default()
        }
    }

    fn names<K: HasMeta>(items: Vec<&K>) -> Vec<&str> {
        items.into_iter().map(HasMeta::name).collect()
    }

    #[test]
    fn objects_in_a_namespace_come_in_name_order() {
        let snapshot = snapshot();
        assert_eq!(
            names(snapshot.objects_in::<Pod>("shop")),
            ["db-0", "web-a", "web-b"]
        );
        assert!(snapshot.objects_in::<Pod>("none").is_empty());
    }

    #[test]
    fn controlled_matches_namespace_name_and_uid() {
        let snapshot = snapshot();
        let mut owner = ObjectMeta {
            name: Some("web-1".into()),
            namespace: Some("shop".into()),
            uid: Some("uid-web-1".into()),
            ..ObjectMeta::default()
        };
        assert_eq!(
            names(snapshot.controlled::<Pod>(Kind::ReplicaSet, &owner)),
            ["web-a", "web-b"]
        );
        // A recreated owner of the same name is another object.
        owner.uid = Some("uid-other".into());
        assert!(
            snapshot
                .controlled::<Pod>(Kind::ReplicaSet, &owner)
                .is_empty()
        );
        assert!(
            snapshot
                .controlled::<Pod>(Kind::StatefulSet, &owner)
                .is_empty()
        );
    }

    #[test]
    fn selector_lookup_needs_every_label() {
        let snapshot = snapshot();
        let selector = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        assert_eq!(
            names(snapshot.pods_with_labels("shop", &selector(&[("app", "web")]))),
            ["web-a", "web-b"]
        );
        assert_eq!(
            names(
                snapshot.pods_with_labels("shop", &selector(&[("app", "web"), ("tier", "front")]))
            ),
            ["web-b"]
        );
        assert!(
            snapshot
                .pods_with_labels("shop", &selector(&[("app", "web"), ("tier", "back")]))
                .is_empty()
        );
    }

    #[test]
    fn a_list_grown_after_indexing_is_scanned_not_answered_stale() {
        let mut snapshot = snapshot();
        assert_eq!(snapshot.objects_in::<Pod>("shop").len(), 3);
        snapshot
            .pods
            .push(pod("web-d", "shop", &[("app", "web")], None));
        assert_eq!(snapshot.objects_in::<Pod>("shop").len(), 4);
    }
}
