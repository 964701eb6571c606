//! The namespace snapshot: one typed, in-memory picture of a namespace (plus the
//! cluster-scoped StorageClasses and the namespace's PersistentVolumes, and any related
//! objects in other namespaces), the single input of everything downstream. It never
//! holds a Secret.

pub mod bundle;
pub mod by_namespace;
pub mod index;
pub mod kind;
pub mod parse;

use std::collections::BTreeMap;

use jiff::Timestamp;
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
use serde::Serialize;

pub use index::Stored;
pub use kind::Kind;

/// Where a snapshot came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase", tag = "type")]
pub enum SnapshotOrigin {
    /// Listed from a live API server.
    Live { context: String, server: String },
    /// Read from a file (`-` for stdin).
    File { path: String },
}

/// Why a kind is missing from a snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase", tag = "reason", content = "message")]
pub enum Gap {
    /// The API server forbade listing it (403).
    Forbidden(String),
    /// Listing failed for another reason.
    Failed(String),
}

/// An object of a kind triage does not model, kept as it was read.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RawObject {
    pub api_version: String,
    pub kind: String,
    pub namespace: Option<String>,
    pub name: String,
    pub object: serde_json::Value,
}

/// Which container's log: one instance of one container of one Pod.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LogSource {
    pub namespace: String,
    pub pod: String,
    pub container: String,
    /// The instance before the last restart (`kubectl logs --previous`), not the
    /// running or waiting one.
    pub previous: bool,
}

/// The last lines a container wrote, oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerLog {
    #[serde(flatten)]
    pub source: LogSource,
    pub lines: Vec<String>,
}

/// A container whose log was wanted but not fetched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LogGap {
    #[serde(flatten)]
    pub source: LogSource,
    pub gap: Gap,
}

/// Everything triage knows about a namespace at one moment.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    pub pods: Vec<Pod>,
    pub jobs: Vec<Job>,
    pub cron_jobs: Vec<CronJob>,
    pub persistent_volume_claims: Vec<PersistentVolumeClaim>,
    pub resource_quotas: Vec<ResourceQuota>,
    pub network_policies: Vec<NetworkPolicy>,
    pub role_bindings: Vec<RoleBinding>,
    pub roles: Vec<Role>,
    pub config_maps: Vec<ConfigMap>,
    pub deployments: Vec<Deployment>,
    pub stateful_sets: Vec<StatefulSet>,
    pub daemon_sets: Vec<DaemonSet>,
    pub replica_sets: Vec<ReplicaSet>,
    pub services: Vec<Service>,
    /// The Services' endpoints as the EndpointSlice controller published them.
    pub endpoint_slices: Vec<EndpointSlice>,
    pub service_accounts: Vec<ServiceAccount>,
    pub limit_ranges: Vec<LimitRange>,
    pub events: Vec<Event>,
    pub storage_classes: Vec<StorageClass>,
    /// Cluster-scoped: live, only those a claim of the namespace names, is bound to or
    /// could bind to (`cluster::relevant_volumes`); offline, whatever the file holds.
    pub persistent_volumes: Vec<PersistentVolume>,
    /// The ClusterRoles the namespace's RoleBindings reference (cluster-scoped).
    pub cluster_roles: Vec<ClusterRole>,
    /// Objects of other kinds (Namespaces, CRDs, ...), kept raw.
    pub other: Vec<RawObject>,
    /// Kinds that could not be loaded, and why.
    pub gaps: BTreeMap<Kind, Gap>,
    /// The last lines of failing containers (`kubectl logs [--previous]`), fetched live
    /// for the containers [`crate::logs::select`] chooses, or read back from a file.
    pub logs: Vec<ContainerLog>,
    /// Containers whose logs were wanted but could not be fetched, and why.
    pub log_gaps: Vec<LogGap>,
    /// Single objects read beside the namespace that could not be read, by what they
    /// are (`service kube-system/kube-dns`), and why.
    pub object_gaps: BTreeMap<String, Gap>,
    /// How many Secrets the input held; their content was dropped unread.
    pub secrets_skipped: usize,
    /// Events by the object they are about, oldest first: built on first use, so each
    /// signal's per-object lookup costs its own events, not a scan of all of them.
    pub events_by_object: std::sync::OnceLock<EventIndex>,
    /// Objects by namespace, by controller and pods by label: built on first use
    /// ([`index::Index`]).
    pub index: std::sync::OnceLock<index::Index>,
    /// When the picture was taken: the clock for live snapshots, the newest timestamp
    /// in the file for offline ones. Every age is computed against it, never the clock.
    pub captured_at: Option<Timestamp>,
}

/// Event positions in [`Snapshot::events`] by (namespace, kind, name) of the object
/// they are about, each list oldest first.
pub type EventIndex = BTreeMap<(String, String, String), Vec<usize>>;

/// Anything with object metadata, so generic code can filter and sort.
pub trait HasMeta {
    fn meta(&self) -> &ObjectMeta;

    fn name(&self) -> &str {
        self.meta().name.as_deref().unwrap_or_default()
    }

    fn namespace(&self) -> &str {
        self.meta().namespace.as_deref().unwrap_or_default()
    }
}

impl<K: k8s_openapi::Metadata<Ty = ObjectMeta>> HasMeta for K {
    fn meta(&self) -> &ObjectMeta {
        self.metadata()
    }
}

/// The objects of `items` in `namespace`, in name order.
pub fn in_namespace<'a, K: HasMeta>(items: &'a [K], namespace: &str) -> Vec<&'a K> {
    let mut found: Vec<&K> = items
        .iter()
        .filter(|k| k.namespace() == namespace)
        .collect();
    found.sort_by(|a, b| a.name().cmp(b.name()));
    found
}

impl Snapshot {
    /// Events about `kind`/`name` in `namespace`, oldest first (by the event's own time).
    pub fn events_about(&self, namespace: &str, kind: &str, name: &str) -> Vec<&Event> {
        let index = self.events_by_object.get_or_init(|| {
            let mut index = EventIndex::new();
            for (position, event) in self.events.iter().enumerate() {
                let about = &event.involved_object;
                index
                    .entry((
                        event.metadata.namespace.clone().unwrap_or_default(),
                        about.kind.clone().unwrap_or_default(),
                        about.name.clone().unwrap_or_default(),
                    ))
                    .or_default()
                    .push(position);
            }
            // Oldest first; same-time events in name order, as a sorted scan gave them.
            for positions in index.values_mut() {
                positions.sort_by_key(|&p| {
                    let event = &self.events[p];
                    (
                        crate::k8s::events::event_time(event),
                        event.name().to_string(),
                    )
                });
            }
            index
        });
        index
            .get(&(namespace.to_string(), kind.to_string(), name.to_string()))
            .map(|positions| positions.iter().map(|&p| &self.events[p]).collect())
            .unwrap_or_default()
    }

    /// The namespaces that hold at least one namespaced object, sorted.
    pub fn namespaces(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .all_meta()
            .filter(|(kind, _)| kind.namespaced())
            .filter_map(|(_, meta)| meta.namespace.clone())
            .chain(
                self.other
                    .iter()
                    .filter(|raw| raw.kind == "Namespace")
                    .map(|raw| raw.name.clone()),
            )
            .collect();
        names.sort();
        names.dedup();
        names
    }

    /// Every typed object's kind and metadata.
    pub fn all_meta(&self) -> impl Iterator<Item = (Kind, &ObjectMeta)> {
        fn tag<K: HasMeta>(kind: Kind, items: &[K]) -> impl Iterator<Item = (Kind, &ObjectMeta)> {
            items.iter().map(move |item| (kind, item.meta()))
        }
        tag(Kind::Pod, &self.pods)
            .chain(tag(Kind::Job, &self.jobs))
            .chain(tag(Kind::CronJob, &self.cron_jobs))
            .chain(tag(
                Kind::PersistentVolumeClaim,
                &self.persistent_volume_claims,
            ))
            .chain(tag(Kind::ResourceQuota, &self.resource_quotas))
            .chain(tag(Kind::NetworkPolicy, &self.network_policies))
            .chain(tag(Kind::RoleBinding, &self.role_bindings))
            .chain(tag(Kind::Role, &self.roles))
            .chain(tag(Kind::ConfigMap, &self.config_maps))
            .chain(tag(Kind::Deployment, &self.deployments))
            .chain(tag(Kind::StatefulSet, &self.stateful_sets))
            .chain(tag(Kind::DaemonSet, &self.daemon_sets))
            .chain(tag(Kind::ReplicaSet, &self.replica_sets))
            .chain(tag(Kind::Service, &self.services))
            .chain(tag(Kind::EndpointSlice, &self.endpoint_slices))
            .chain(tag(Kind::ServiceAccount, &self.service_accounts))
            .chain(tag(Kind::LimitRange, &self.limit_ranges))
            .chain(tag(Kind::Event, &self.events))
            .chain(tag(Kind::StorageClass, &self.storage_classes))
            .chain(tag(Kind::PersistentVolume, &self.persistent_volumes))
            .chain(tag(Kind::ClusterRole, &self.cluster_roles))
    }

    /// Adds one typed object from its JSON form, lean (see [`lean`]).
    pub fn insert_json(&mut self, kind: Kind, value: serde_json::Value) -> serde_json::Result<()> {
        fn push<K>(
            items: &mut Vec<K>,
            kind: Kind,
            value: serde_json::Value,
        ) -> serde_json::Result<()>
        where
            K: k8s_openapi::Metadata<Ty = ObjectMeta> + serde::de::DeserializeOwned,
        {
            let mut object: K = serde_json::from_value(value)?;
            lean(object.metadata_mut(), kind);
            items.push(object);
            Ok(())
        }
        match kind {
            Kind::Pod => push(&mut self.pods, kind, value),
            Kind::Job => push(&mut self.jobs, kind, value),
            Kind::CronJob => push(&mut self.cron_jobs, kind, value),
            Kind::PersistentVolumeClaim => push(&mut self.persistent_volume_claims, kind, value),
            Kind::ResourceQuota => push(&mut self.resource_quotas, kind, value),
            Kind::NetworkPolicy => push(&mut self.network_policies, kind, value),
            Kind::RoleBinding => push(&mut self.role_bindings, kind, value),
            Kind::Role => push(&mut self.roles, kind, value),
            Kind::ConfigMap => push(&mut self.config_maps, kind, value),
            Kind::Deployment => push(&mut self.deployments, kind, value),
            Kind::StatefulSet => push(&mut self.stateful_sets, kind, value),
            Kind::DaemonSet => push(&mut self.daemon_sets, kind, value),
            Kind::ReplicaSet => push(&mut self.replica_sets, kind, value),
            Kind::Service => push(&mut self.services, kind, value),
            Kind::EndpointSlice => push(&mut self.endpoint_slices, kind, value),
            Kind::ServiceAccount => push(&mut self.service_accounts, kind, value),
            Kind::LimitRange => push(&mut self.limit_ranges, kind, value),
            Kind::Event => push(&mut self.events, kind, value),
            Kind::StorageClass => push(&mut self.storage_classes, kind, value),
            Kind::PersistentVolume => push(&mut self.persistent_volumes, kind, value),
            Kind::ClusterRole => push(&mut self.cluster_roles, kind, value),
        }
    }

    /// Moves every object, gap and log of `other` into this snapshot (each kind's LIST
    /// is decoded on its own, page by page, then gathered here).
    pub fn absorb(&mut self, other: Snapshot) {
        let Snapshot {
            pods,
            jobs,
            cron_jobs,
            persistent_volume_claims,
            resource_quotas,
            network_policies,
            role_bindings,
            roles,
            config_maps,
            deployments,
            stateful_sets,
            daemon_sets,
            replica_sets,
            services,
            endpoint_slices,
            service_accounts,
            limit_ranges,
            events,
            storage_classes,
            persistent_volumes,
            cluster_roles,
            other,
            gaps,
            logs,
            log_gaps,
            object_gaps,
            secrets_skipped,
            events_by_object: _,
            index: _,
            captured_at: _,
        } = other;
        self.pods.extend(pods);
        self.jobs.extend(jobs);
        self.cron_jobs.extend(cron_jobs);
        self.persistent_volume_claims
            .extend(persistent_volume_claims);
        self.resource_quotas.extend(resource_quotas);
        self.network_policies.extend(network_policies);
        self.role_bindings.extend(role_bindings);
        self.roles.extend(roles);
        self.config_maps.extend(config_maps);
        self.deployments.extend(deployments);
        self.stateful_sets.extend(stateful_sets);
        self.daemon_sets.extend(daemon_sets);
        self.replica_sets.extend(replica_sets);
        self.services.extend(services);
        self.endpoint_slices.extend(endpoint_slices);
        self.service_accounts.extend(service_accounts);
        self.limit_ranges.extend(limit_ranges);
        self.events.extend(events);
        self.storage_classes.extend(storage_classes);
        self.persistent_volumes.extend(persistent_volumes);
        self.cluster_roles.extend(cluster_roles);
        self.other.extend(other);
        self.gaps.extend(gaps);
        self.logs.extend(logs);
        self.log_gaps.extend(log_gaps);
        self.object_gaps.extend(object_gaps);
        self.secrets_skipped += secrets_skipped;
        self.events_by_object = std::sync::OnceLock::new();
        self.index = std::sync::OnceLock::new();
    }

    /// Every object as JSON, in kind order then namespace and name: the body of the
    /// `kind: List` that `triage snapshot` writes.
    pub fn to_json_items(&self) -> Vec<serde_json::Value> {
        fn push_all<K: Serialize + HasMeta>(out: &mut Vec<serde_json::Value>, items: &[K]) {
            let mut sorted: Vec<&K> = items.iter().collect();
            sorted.sort_by(|a, b| (a.namespace(), a.name()).cmp(&(b.namespace(), b.name())));
            out.extend(
                sorted
                    .into_iter()
                    .filter_map(|k| serde_json::to_value(k).ok()),
            );
        }
        let mut out = Vec::new();
        let mut namespaces: Vec<&RawObject> = self
            .other
            .iter()
            .filter(|raw| raw.kind == "Namespace")
            .collect();
        namespaces.sort_by(|a, b| a.name.cmp(&b.name));
        out.extend(namespaces.into_iter().map(|raw| raw.object.clone()));
        push_all(&mut out, &self.storage_classes);
        push_all(&mut out, &self.persistent_volumes);
        push_all(&mut out, &self.cluster_roles);
        push_all(&mut out, &self.pods);
        push_all(&mut out, &self.jobs);
        push_all(&mut out, &self.cron_jobs);
        push_all(&mut out, &self.persistent_volume_claims);
        push_all(&mut out, &self.resource_quotas);
        push_all(&mut out, &self.network_policies);
        push_all(&mut out, &self.role_bindings);
        push_all(&mut out, &self.roles);
        push_all(&mut out, &self.config_maps);
        push_all(&mut out, &self.deployments);
        push_all(&mut out, &self.stateful_sets);
        push_all(&mut out, &self.daemon_sets);
        push_all(&mut out, &self.replica_sets);
        push_all(&mut out, &self.services);
        push_all(&mut out, &self.endpoint_slices);
        push_all(&mut out, &self.service_accounts);
        push_all(&mut out, &self.limit_ranges);
        push_all(&mut out, &self.events);
        out.extend(
            self.other
                .iter()
                .filter(|raw| raw.kind != "Namespace")
                .map(|raw| raw.object.clone()),
        );
        out.extend(crate::logs::to_items(self));
        out
    }
}

/// Drops what triage never reads but every object can carry in bulk, so memory follows
/// what the signals use: each `managedFields` entry keeps its manager name and operation
/// (`k8s::field_managers` tells controllers' writes from people's by them), not the
/// field set (`fieldsV1`, often larger than the object); kubectl's last-applied
/// annotation (a full copy of the object) goes, except on RoleBindings, whose repair
/// carries it over to the re-pointed binding (`repair::rbac`).
/// https://kubernetes.io/docs/reference/using-api/server-side-apply/#field-management
pub fn lean(meta: &mut ObjectMeta, kind: Kind) {
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ManagedFieldsEntry;
    if let Some(entries) = meta.managed_fields.as_mut() {
        for entry in entries.iter_mut() {
            *entry = ManagedFieldsEntry {
                manager: entry.manager.take(),
                operation: entry.operation.take(),
                ..ManagedFieldsEntry::default()
            };
        }
    }
    if kind != Kind::RoleBinding
        && let Some(annotations) = meta.annotations.as_mut()
    {
        annotations.remove(parse::LAST_APPLIED);
    }
}
