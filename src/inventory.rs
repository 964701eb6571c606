//! The inventory view model: the get-everything pass over one namespace, with the
//! evidence a responder needs already in the columns. Pure: built from a snapshot,
//! rendered elsewhere.

use std::collections::BTreeMap;

use jiff::Timestamp;
use k8s_openapi::api::core::v1::{Event, Pod};
use k8s_openapi::api::networking::v1::NetworkPolicy;
use serde::Serialize;

use crate::k8s::events::event_time;
use crate::k8s::field_managers::controller_managers;
use crate::k8s::kubectl_style::{
    age, container_state, pod_ready, pod_restarts, pod_status, rule_short,
};
use crate::k8s::markers;
use crate::k8s::quantity::parse_quantity;
use crate::snapshot::{Gap, HasMeta, Kind, Snapshot, SnapshotOrigin, in_namespace};

/// Version of the JSON/YAML shape; bumped on any incompatible change.
pub const API_VERSION: &str = "triage/v1alpha1";

/// How many Warning events the inventory shows, newest first.
pub const EVENT_LIMIT: usize = 40;

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Inventory {
    pub api_version: &'static str,
    pub kind: &'static str,
    pub namespace: String,
    pub captured_at: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<SnapshotOrigin>,
    pub pods: Vec<PodRow>,
    pub jobs: Vec<JobRow>,
    /// Absent from the JSON when the namespace has none (older snapshots had none).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cron_jobs: Vec<CronJobRow>,
    pub persistent_volume_claims: Vec<PvcRow>,
    pub resource_quotas: Vec<QuotaRow>,
    pub network_policies: Vec<NetworkPolicyRow>,
    pub role_bindings: Vec<RoleBindingRow>,
    pub roles: Vec<RoleRow>,
    pub config_maps: Vec<ConfigMapRow>,
    pub deployments: Vec<WorkloadRow>,
    pub stateful_sets: Vec<WorkloadRow>,
    pub daemon_sets: Vec<WorkloadRow>,
    pub replica_sets: Vec<WorkloadRow>,
    pub services: Vec<ServiceRow>,
    /// Absent from the JSON when the input has none (`kubectl get all` omits them).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub endpoint_slices: Vec<EndpointSliceRow>,
    pub service_accounts: Vec<NamedRow>,
    pub limit_ranges: Vec<NamedRow>,
    /// The newest Warning events, at most [`EVENT_LIMIT`].
    pub warning_events: Vec<EventRow>,
    pub storage_classes: Vec<StorageClassRow>,
    /// Objects of kinds triage does not model, by kind.
    pub other_objects: BTreeMap<String, Vec<String>>,
    /// Kinds that could not be read, and why.
    pub gaps: BTreeMap<String, Gap>,
    /// Failing containers whose logs could not be fetched, and why.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub log_gaps: Vec<crate::logs::GapRow>,
    pub secrets_skipped: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PodRow {
    pub name: String,
    pub ready: String,
    pub status: String,
    pub restarts: i32,
    pub age: String,
    /// Each init container as `name: state`.
    pub init_containers: Vec<String>,
    pub node: Option<String>,
    pub ip: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JobRow {
    pub name: String,
    pub suspended: bool,
    pub hook: Option<String>,
    pub hook_delete_policy: Option<String>,
    pub finalizers: Vec<String>,
    /// Who manages it (markers::owners): owner labels, ownerReferences, Argo CD
    /// tracking, the Helm release, e.g. `bleater.io/owner=platform-team`.
    pub owners: Vec<String>,
    pub completions: String,
    pub age: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CronJobRow {
    pub name: String,
    pub schedule: String,
    pub suspended: bool,
    /// Jobs the CronJob lists in `status.active`.
    pub active: usize,
    /// Ages of `status.lastScheduleTime` and `status.lastSuccessfulTime`.
    pub last_schedule: Option<String>,
    pub last_successful: Option<String>,
    /// The last scheduled run ended without success: none is active, and
    /// lastSuccessfulTime is older than lastScheduleTime, or absent.
    pub last_run_unsuccessful: bool,
    pub age: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EndpointSliceRow {
    pub name: String,
    /// The `kubernetes.io/service-name` label.
    pub service: Option<String>,
    pub address_type: String,
    pub ports: Vec<String>,
    /// Endpoints whose `conditions.ready` is not false, and all endpoints.
    pub ready: usize,
    pub endpoints: usize,
    pub age: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PvcRow {
    pub name: String,
    pub phase: String,
    pub storage_class: Option<String>,
    /// Whether the named StorageClass exists (None when the claim names none).
    pub storage_class_exists: Option<bool>,
    pub capacity: Option<String>,
    pub access_modes: Vec<String>,
    pub volume: Option<String>,
    pub age: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct QuotaRow {
    pub name: String,
    pub resources: Vec<QuotaResource>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct QuotaResource {
    pub resource: String,
    pub used: Option<String>,
    pub hard: String,
    /// used >= hard: the next object of this resource is refused.
    pub exhausted: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NetworkPolicyRow {
    pub name: String,
    /// The pod selector in `key=value` form, `<all pods>` for `{}`.
    pub pod_selector: String,
    pub selected_pods: usize,
    pub policy_types: Vec<String>,
    pub ingress_rules: usize,
    pub egress_rules: usize,
    /// Egress is in the policy types and there is no egress rule: this policy on its
    /// own denies all outbound traffic of the pods it selects, DNS included.
    pub deny_all_egress: bool,
    /// Selected, not yet finished pods that no egress rule of any policy lets out at
    /// all (policies add up: another policy's allow rules lift the deny-all).
    pub pods_without_egress: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RoleBindingRow {
    pub name: String,
    pub role_ref: String,
    pub role_exists: bool,
    pub subjects: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RoleRow {
    pub name: String,
    pub rules: Vec<String>,
    /// Names of the RoleBindings in the namespace that bind this Role.
    pub bound_by: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConfigMapRow {
    pub name: String,
    /// Keys only: values can be large or sensitive.
    pub keys: Vec<String>,
    /// Field managers other than people's kubectl, from managedFields.
    pub managers: Vec<String>,
    pub age: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkloadRow {
    pub name: String,
    pub ready: i32,
    pub desired: i32,
    pub age: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceRow {
    pub name: String,
    pub service_type: String,
    pub cluster_ip: Option<String>,
    pub ports: Vec<String>,
    pub age: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NamedRow {
    pub name: String,
    pub age: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EventRow {
    pub last_seen: String,
    pub last_timestamp: Option<Timestamp>,
    pub reason: String,
    pub object: String,
    pub count: i32,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StorageClassRow {
    pub name: String,
    pub default: bool,
    pub provisioner: String,
    pub volume_binding_mode: String,
}

/// Builds the inventory of `namespace`; ages are computed against `now`.
pub fn build(
    snapshot: &Snapshot,
    namespace: &str,
    now: Option<Timestamp>,
    source: Option<SnapshotOrigin>,
) -> Inventory {
    let ns = namespace;
    let storage_class_names: Vec<&str> =
        snapshot.storage_classes.iter().map(|s| s.name()).collect();
    let pods_in_ns = in_namespace(&snapshot.pods, ns);

    let pods = pods_in_ns
        .iter()
        .map(|pod| PodRow {
            name: pod.name().to_string(),
            ready: pod_ready(pod),
            status: pod_status(pod),
            restarts: pod_restarts(pod),
            age: age(pod.metadata.creation_timestamp.as_ref(), now),
            init_containers: pod
                .status
                .as_ref()
                .and_then(|s| s.init_container_statuses.as_ref())
                .into_iter()
                .flatten()
                .map(|c| format!("{}: {}", c.name, container_state(c)))
                .collect(),
            node: pod.spec.as_ref().and_then(|s| s.node_name.clone()),
            ip: pod.status.as_ref().and_then(|s| s.pod_ip.clone()),
        })
        .collect();

    let jobs = in_namespace(&snapshot.jobs, ns)
        .into_iter()
        .map(|job| {
            let meta = &job.metadata;
            let status = job.status.as_ref();
            let desired = job.spec.as_ref().and_then(|s| s.completions).unwrap_or(1);
            let owners = markers::owners(meta, &[])
                .into_iter()
                .map(|owner| owner.short)
                .collect();
            JobRow {
                name: job.name().to_string(),
                suspended: job.spec.as_ref().and_then(|s| s.suspend).unwrap_or(false),
                hook: markers::hook(meta).map(str::to_string),
                hook_delete_policy: markers::hook_delete_policy(meta).map(str::to_string),
                finalizers: meta.finalizers.clone().unwrap_or_default(),
                owners,
                completions: format!(
                    "{}/{desired}",
                    status.and_then(|s| s.succeeded).unwrap_or(0)
                ),
                age: age(meta.creation_timestamp.as_ref(), now),
            }
        })
        .collect();

    let cron_jobs = in_namespace(&snapshot.cron_jobs, ns)
        .into_iter()
        .map(|cron_job| {
            let status = cron_job.status.as_ref();
            let scheduled = status.and_then(|s| s.last_schedule_time.as_ref());
            let succeeded = status.and_then(|s| s.last_successful_time.as_ref());
            let active = status.and_then(|s| s.active.as_ref()).map_or(0, Vec::len);
            CronJobRow {
                name: cron_job.name().to_string(),
                schedule: cron_job.spec.schedule.clone(),
                suspended: cron_job.spec.suspend.unwrap_or(false),
                active,
                last_schedule: scheduled.map(|t| age(Some(t), now)),
                last_successful: succeeded.map(|t| age(Some(t), now)),
                last_run_unsuccessful: active == 0
                    && scheduled
                        .is_some_and(|scheduled| succeeded.is_none_or(|ok| ok.0 < scheduled.0)),
                age: age(cron_job.metadata.creation_timestamp.as_ref(), now),
            }
        })
        .collect();

    let persistent_volume_claims = in_namespace(&snapshot.persistent_volume_claims, ns)
        .into_iter()
        .map(|pvc| {
            let spec = pvc.spec.as_ref();
            let status = pvc.status.as_ref();
            let class = spec.and_then(|s| s.storage_class_name.clone());
            PvcRow {
                name: pvc.name().to_string(),
                phase: status
                    .and_then(|s| s.phase.clone())
                    .unwrap_or_else(|| "Unknown".into()),
                storage_class_exists: class.as_deref().map(|c| storage_class_names.contains(&c)),
                storage_class: class,
                capacity: status
                    .and_then(|s| s.capacity.as_ref())
                    .and_then(|c| c.get("storage"))
                    .or_else(|| {
                        spec.and_then(|s| s.resources.as_ref()?.requests.as_ref()?.get("storage"))
                    })
                    .map(|q| q.0.clone()),
                access_modes: spec
                    .and_then(|s| s.access_modes.clone())
                    .unwrap_or_default(),
                volume: spec.and_then(|s| s.volume_name.clone()),
                age: age(pvc.metadata.creation_timestamp.as_ref(), now),
            }
        })
        .collect();

    let resource_quotas = in_namespace(&snapshot.resource_quotas, ns)
        .into_iter()
        .map(|quota| {
            let status = quota.status.as_ref();
            // NB: status.hard is what the API server enforces; spec.hard is only the
            // request until the quota controller has copied it.
            let hard = status
                .and_then(|s| s.hard.clone())
                .or_else(|| quota.spec.as_ref().and_then(|s| s.hard.clone()))
                .unwrap_or_default();
            let used = status.and_then(|s| s.used.clone()).unwrap_or_default();
            let resources = hard
                .iter()
                .map(|(resource, hard)| {
                    let used_q = used.get(resource).map(|q| q.0.clone());
                    let exhausted = match (
                        used_q.as_deref().and_then(parse_quantity),
                        parse_quantity(&hard.0),
                    ) {
                        (Some(u), Some(h)) => u >= h,
                        _ => false,
                    };
                    QuotaResource {
                        resource: resource.clone(),
                        used: used_q,
                        hard: hard.0.clone(),
                        exhausted,
                    }
                })
                .collect();
            QuotaRow {
                name: quota.name().to_string(),
                resources,
            }
        })
        .collect();

    let policies_in_ns = in_namespace(&snapshot.network_policies, ns);
    // Policy semantics (defaulted policyTypes, an absent podSelector selecting every
    // pod) come from `netpol`, the one evaluator the egress signal uses too.
    let has_egress_type = |policy: &NetworkPolicy| {
        policy.spec.as_ref().is_some_and(|spec| {
            crate::k8s::netpol::policy_types(spec)
                .iter()
                .any(|t| t == "Egress")
        })
    };
    let running_pods: Vec<&&Pod> = pods_in_ns
        .iter()
        .filter(|pod| {
            let phase = pod.status.as_ref().and_then(|s| s.phase.as_deref());
            !matches!(phase, Some("Succeeded" | "Failed"))
        })
        .collect();
    // Pods isolated for egress with not a single egress rule among all policies
    // selecting them.
    let shut_in: Vec<&str> = running_pods
        .iter()
        .filter(|pod| {
            let labels = pod.metadata.labels.as_ref();
            let selecting: Vec<&&NetworkPolicy> = policies_in_ns
                .iter()
                .filter(|p| crate::k8s::netpol::isolates_egress(p, labels))
                .collect();
            !selecting.is_empty()
                && selecting.iter().all(|p| {
                    p.spec
                        .as_ref()
                        .and_then(|s| s.egress.as_ref())
                        .is_none_or(Vec::is_empty)
                })
        })
        .map(|pod| pod.name())
        .collect();

    let network_policies = policies_in_ns
        .iter()
        .map(|policy| {
            let spec = policy.spec.as_ref();
            // NB: an absent podSelector selects every pod, like `{}`.
            let every_pod = Default::default();
            let selector = Some(
                spec.and_then(|s| s.pod_selector.as_ref())
                    .unwrap_or(&every_pod),
            );
            let policy_types = spec
                .map(crate::k8s::netpol::policy_types)
                .unwrap_or_default();
            let egress_rules = spec.and_then(|s| s.egress.as_ref()).map_or(0, Vec::len);
            let selected: Vec<&&&Pod> = running_pods
                .iter()
                .filter(|pod| crate::k8s::selector::matches(selector, pod.metadata.labels.as_ref()))
                .collect();
            NetworkPolicyRow {
                pods_without_egress: if has_egress_type(policy) {
                    selected
                        .iter()
                        .filter(|pod| shut_in.contains(&pod.name()))
                        .count()
                } else {
                    0
                },
                name: policy.name().to_string(),
                pod_selector: crate::k8s::selector::describe(selector),
                selected_pods: selected.len(),
                deny_all_egress: policy_types.iter().any(|t| t == "Egress") && egress_rules == 0,
                policy_types,
                ingress_rules: spec.and_then(|s| s.ingress.as_ref()).map_or(0, Vec::len),
                egress_rules,
            }
        })
        .collect();

    let roles_in_ns = in_namespace(&snapshot.roles, ns);
    let bindings_in_ns = in_namespace(&snapshot.role_bindings, ns);
    let role_bindings = bindings_in_ns
        .iter()
        .map(|binding| RoleBindingRow {
            name: binding.name().to_string(),
            role_ref: format!("{}/{}", binding.role_ref.kind, binding.role_ref.name),
            // A ClusterRole is cluster-scoped and not in the snapshot: assume it exists.
            role_exists: binding.role_ref.kind != "Role"
                || roles_in_ns
                    .iter()
                    .any(|r| r.name() == binding.role_ref.name),
            subjects: binding
                .subjects
                .iter()
                .flatten()
                .map(|s| match &s.namespace {
                    Some(subject_ns) => format!("{}/{}/{}", s.kind, subject_ns, s.name),
                    None => format!("{}/{}", s.kind, s.name),
                })
                .collect(),
        })
        .collect();
    let roles = roles_in_ns
        .iter()
        .map(|role| RoleRow {
            name: role.name().to_string(),
            rules: role.rules.iter().flatten().map(rule_short).collect(),
            bound_by: bindings_in_ns
                .iter()
                .filter(|b| b.role_ref.kind == "Role" && b.role_ref.name == role.name())
                .map(|b| b.name().to_string())
                .collect(),
        })
        .collect();

    let config_maps = in_namespace(&snapshot.config_maps, ns)
        .into_iter()
        .map(|cm| {
            let mut keys: Vec<String> = cm
                .data
                .iter()
                .flat_map(|d| d.keys().cloned())
                .chain(cm.binary_data.iter().flat_map(|d| d.keys().cloned()))
                .collect();
            keys.sort();
            ConfigMapRow {
                name: cm.name().to_string(),
                keys,
                managers: controller_managers(&cm.metadata),
                age: age(cm.metadata.creation_timestamp.as_ref(), now),
            }
        })
        .collect();

    let workload = |name: &str, ready: Option<i32>, desired: Option<i32>, created| WorkloadRow {
        name: name.to_string(),
        ready: ready.unwrap_or(0),
        desired: desired.unwrap_or(0),
        age: age(created, now),
    };
    let deployments = in_namespace(&snapshot.deployments, ns)
        .into_iter()
        .map(|d| {
            let status = d.status.as_ref();
            workload(
                d.name(),
                status.and_then(|s| s.ready_replicas),
                d.spec.as_ref().and_then(|s| s.replicas).or(Some(1)),
                d.metadata.creation_timestamp.as_ref(),
            )
        })
        .collect();
    let stateful_sets = in_namespace(&snapshot.stateful_sets, ns)
        .into_iter()
        .map(|s| {
            workload(
                s.name(),
                s.status.as_ref().and_then(|st| st.ready_replicas),
                s.spec.as_ref().and_then(|sp| sp.replicas).or(Some(1)),
                s.metadata.creation_timestamp.as_ref(),
            )
        })
        .collect();
    let daemon_sets = in_namespace(&snapshot.daemon_sets, ns)
        .into_iter()
        .map(|d| {
            let status = d.status.as_ref();
            workload(
                d.name(),
                status.map(|s| s.number_ready),
                status.map(|s| s.desired_number_scheduled),
                d.metadata.creation_timestamp.as_ref(),
            )
        })
        .collect();
    let replica_sets = in_namespace(&snapshot.replica_sets, ns)
        .into_iter()
        .map(|r| {
            workload(
                r.name(),
                r.status.as_ref().and_then(|s| s.ready_replicas),
                r.spec.as_ref().and_then(|s| s.replicas).or(Some(1)),
                r.metadata.creation_timestamp.as_ref(),
            )
        })
        .collect();

    let services = in_namespace(&snapshot.services, ns)
        .into_iter()
        .map(|svc| {
            let spec = svc.spec.as_ref();
            ServiceRow {
                name: svc.name().to_string(),
                service_type: spec
                    .and_then(|s| s.type_.clone())
                    .unwrap_or_else(|| "ClusterIP".into()),
                cluster_ip: spec.and_then(|s| s.cluster_ip.clone()),
                ports: spec
                    .and_then(|s| s.ports.as_ref())
                    .into_iter()
                    .flatten()
                    .map(|p| format!("{}/{}", p.port, p.protocol.as_deref().unwrap_or("TCP")))
                    .collect(),
                age: age(svc.metadata.creation_timestamp.as_ref(), now),
            }
        })
        .collect();

    let endpoint_slices = in_namespace(&snapshot.endpoint_slices, ns)
        .into_iter()
        .map(|slice| EndpointSliceRow {
            name: slice.name().to_string(),
            service: crate::k8s::endpoints::service_of(slice).map(str::to_string),
            address_type: slice.address_type.clone(),
            ports: slice
                .ports
                .iter()
                .flatten()
                .map(|p| {
                    format!(
                        "{}{}/{}",
                        p.name
                            .as_deref()
                            .filter(|n| !n.is_empty())
                            .map(|n| format!("{n}:"))
                            .unwrap_or_default(),
                        p.port.map_or_else(|| "*".to_string(), |n| n.to_string()),
                        p.protocol.as_deref().unwrap_or("TCP")
                    )
                })
                .collect(),
            ready: slice
                .endpoints
                .iter()
                .flatten()
                .filter(|e| crate::k8s::endpoints::endpoint_ready(e))
                .count(),
            endpoints: slice.endpoints.as_ref().map_or(0, Vec::len),
            age: age(slice.metadata.creation_timestamp.as_ref(), now),
        })
        .collect();

    let named =
        |items: Vec<&k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta>| -> Vec<NamedRow> {
            items
                .into_iter()
                .map(|m| NamedRow {
                    name: m.name.clone().unwrap_or_default(),
                    age: age(m.creation_timestamp.as_ref(), now),
                })
                .collect()
        };
    let service_accounts = named(
        in_namespace(&snapshot.service_accounts, ns)
            .into_iter()
            .map(|s| &s.metadata)
            .collect(),
    );
    let limit_ranges = named(
        in_namespace(&snapshot.limit_ranges, ns)
            .into_iter()
            .map(|l| &l.metadata)
            .collect(),
    );

    let mut storage_classes: Vec<StorageClassRow> = snapshot
        .storage_classes
        .iter()
        .map(|sc| StorageClassRow {
            name: sc.name().to_string(),
            default: crate::k8s::storage::is_default_class(sc),
            provisioner: sc.provisioner.clone(),
            volume_binding_mode: sc
                .volume_binding_mode
                .clone()
                .unwrap_or_else(|| "Immediate".into()),
        })
        .collect();
    storage_classes.sort_by(|a, b| a.name.cmp(&b.name));

    let mut other_objects: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for raw in &snapshot.other {
        if raw.namespace.as_deref() == Some(ns) {
            other_objects
                .entry(raw.kind.clone())
                .or_default()
                .push(raw.name.clone());
        }
    }
    other_objects.values_mut().for_each(|names| names.sort());

    Inventory {
        api_version: API_VERSION,
        kind: "Inventory",
        namespace: ns.to_string(),
        captured_at: now,
        source,
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
        warning_events: warning_events(&in_namespace(&snapshot.events, ns), now),
        storage_classes,
        other_objects,
        gaps: snapshot
            .gaps
            .iter()
            .map(|(kind, gap)| (kind.plural().to_string(), gap.clone()))
            .collect(),
        log_gaps: crate::logs::gap_rows(snapshot, ns),
        secrets_skipped: snapshot.secrets_skipped,
    }
}

fn warning_events(events: &[&Event], now: Option<Timestamp>) -> Vec<EventRow> {
    let mut warnings: Vec<&&Event> = events
        .iter()
        .filter(|e| e.type_.as_deref() == Some("Warning"))
        .collect();
    // Newest first; ties broken by name so the order is stable.
    warnings.sort_by(|a, b| {
        event_time(b)
            .cmp(&event_time(a))
            .then_with(|| a.name().cmp(b.name()))
    });
    warnings
        .into_iter()
        .take(EVENT_LIMIT)
        .map(|event| {
            let at = event_time(event);
            let object = &event.involved_object;
            EventRow {
                last_seen: at.map_or_else(
                    || "<unknown>".to_string(),
                    |at| {
                        crate::k8s::kubectl_style::human_duration(
                            now.unwrap_or(at).duration_since(at),
                        )
                    },
                ),
                last_timestamp: at,
                reason: event.reason.clone().unwrap_or_default(),
                object: format!(
                    "{}/{}",
                    object.kind.as_deref().unwrap_or("?").to_lowercase(),
                    object.name.as_deref().unwrap_or("?")
                ),
                count: event.count.unwrap_or(1),
                message: event.message.clone().unwrap_or_default().trim().to_string(),
            }
        })
        .collect()
}

impl Inventory {
    /// Kinds with no object in the namespace (and no gap), for the one-line summary.
    /// EndpointSlices are left out: they are derived from Services, and a file written
    /// by `kubectl get all` never has them, so their absence says nothing.
    pub fn empty_kinds(&self) -> Vec<&'static str> {
        let counts: [(Kind, usize); 17] = [
            (Kind::Pod, self.pods.len()),
            (Kind::Job, self.jobs.len()),
            (Kind::CronJob, self.cron_jobs.len()),
            (
                Kind::PersistentVolumeClaim,
                self.persistent_volume_claims.len(),
            ),
            (Kind::ResourceQuota, self.resource_quotas.len()),
            (Kind::NetworkPolicy, self.network_policies.len()),
            (Kind::RoleBinding, self.role_bindings.len()),
            (Kind::Role, self.roles.len()),
            (Kind::ConfigMap, self.config_maps.len()),
            (Kind::Deployment, self.deployments.len()),
            (Kind::StatefulSet, self.stateful_sets.len()),
            (Kind::DaemonSet, self.daemon_sets.len()),
            (Kind::ReplicaSet, self.replica_sets.len()),
            (Kind::Service, self.services.len()),
            (Kind::ServiceAccount, self.service_accounts.len()),
            (Kind::LimitRange, self.limit_ranges.len()),
            (Kind::StorageClass, self.storage_classes.len()),
        ];
        counts
            .into_iter()
            .filter(|(kind, count)| *count == 0 && !self.gaps.contains_key(kind.plural()))
            .map(|(kind, _)| kind.plural())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::parse::parse_snapshot;

    fn inventory(yaml: &str) -> Inventory {
        let snapshot = parse_snapshot(yaml.as_bytes(), "test").unwrap();
        build(&snapshot, "ns", snapshot.captured_at, None)
    }

    const CLASS: &str = "apiVersion: storage.k8s.io/v1\nkind: StorageClass\nmetadata: {name: local-path, annotations: {storageclass.kubernetes.io/is-default-class: \"true\"}}\nprovisioner: rancher.io/local-path\nvolumeBindingMode: WaitForFirstConsumer\n";

    #[test]
    fn pvc_names_whether_its_class_exists() {
        let inv = inventory(&format!(
            "{CLASS}---\napiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {{name: a, namespace: ns}}\nspec: {{storageClassName: fast-ssd-tier, resources: {{requests: {{storage: 5Gi}}}}}}\nstatus: {{phase: Pending}}\n---\napiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {{name: b, namespace: ns}}\nspec: {{storageClassName: local-path}}\nstatus: {{phase: Pending}}\n"
        ));
        let rows = &inv.persistent_volume_claims;
        assert_eq!(
            (rows[0].storage_class_exists, rows[0].capacity.as_deref()),
            (Some(false), Some("5Gi"))
        );
        assert_eq!(rows[1].storage_class_exists, Some(true));
        assert!(inv.storage_classes[0].default);
    }

    #[test]
    fn quota_is_exhausted_when_used_reaches_hard_from_status() {
        let inv = inventory(
            "apiVersion: v1\nkind: ResourceQuota\nmetadata: {name: q, namespace: ns}\nspec: {hard: {pods: \"100\"}}\nstatus:\n  hard: {pods: \"1\", requests.cpu: \"2\", requests.memory: 1Gi}\n  used: {pods: \"1\", requests.cpu: 500m, requests.memory: 1025Mi}\n",
        );
        let exhausted: Vec<(&str, bool)> = inv.resource_quotas[0]
            .resources
            .iter()
            .map(|r| (r.resource.as_str(), r.exhausted))
            .collect();
        assert_eq!(
            exhausted,
            vec![
                ("pods", true),
                ("requests.cpu", false),
                ("requests.memory", true)
            ]
        );
    }

    const POD: &str = "apiVersion: v1\nkind: Pod\nmetadata: {name: web, namespace: ns, labels: {app: web}}\nspec: {containers: [{name: c}]}\nstatus: {phase: Running}\n";
    const DENY: &str = "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: deny, namespace: ns}\nspec: {podSelector: {}, policyTypes: [Egress]}\n";

    #[test]
    fn deny_all_egress_counts_pods_no_policy_lets_out() {
        let inv = inventory(&format!("{POD}---\n{DENY}"));
        let deny = &inv.network_policies[0];
        assert!(deny.deny_all_egress);
        assert_eq!((deny.selected_pods, deny.pods_without_egress), (1, 1));
    }

    #[test]
    fn a_policy_without_pod_selector_selects_every_pod_as_the_egress_signal_says() {
        // The API server requires podSelector, but files and older objects omit it;
        // netpol (and so the egress signal) reads it as `{}`: inventory must agree.
        let no_selector = "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: deny, namespace: ns}\nspec: {policyTypes: [Egress]}\n";
        let inv = inventory(&format!("{POD}---\n{no_selector}"));
        let deny = &inv.network_policies[0];
        assert_eq!((deny.selected_pods, deny.pods_without_egress), (1, 1));
        assert!(deny.deny_all_egress);
        // `policyTypes: []` is defaulted like an absent list: egress rules imply Egress.
        let empty_types = "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: deny, namespace: ns}\nspec: {podSelector: {}, policyTypes: [], egress: [{ports: [{port: 53, protocol: UDP}]}]}\n";
        let inv = inventory(&format!("{POD}---\n{empty_types}"));
        let policy = &inv.network_policies[0];
        assert_eq!(policy.policy_types, vec!["Ingress", "Egress"]);
    }

    #[test]
    fn an_allow_policy_lifts_the_deny_all() {
        let allow = "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: allow-dns, namespace: ns}\nspec:\n  podSelector: {matchLabels: {app: web}}\n  policyTypes: [Egress]\n  egress: [{ports: [{port: 53, protocol: UDP}]}]\n";
        let inv = inventory(&format!("{POD}---\n{DENY}---\n{allow}"));
        let deny = inv
            .network_policies
            .iter()
            .find(|p| p.name == "deny")
            .unwrap();
        assert!(deny.deny_all_egress);
        assert_eq!(deny.pods_without_egress, 0);
    }

    #[test]
    fn role_binding_to_a_missing_role_and_unbound_roles() {
        let inv = inventory(
            "apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {name: rb, namespace: ns}\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: gone}\nsubjects: [{kind: ServiceAccount, name: runner, namespace: ns}]\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: {name: v2, namespace: ns}\nrules: [{apiGroups: [batch], resources: [jobs], verbs: [create]}]\n",
        );
        assert!(!inv.role_bindings[0].role_exists);
        assert_eq!(
            inv.role_bindings[0].subjects,
            vec!["ServiceAccount/ns/runner"]
        );
        assert!(inv.roles[0].bound_by.is_empty());
        assert_eq!(inv.roles[0].rules, vec!["jobs.batch: create"]);
    }

    #[test]
    fn jobs_show_hook_policy_finalizers_and_owners() {
        let inv = inventory(
            "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: j\n  namespace: ns\n  annotations: {argocd.argoproj.io/hook: PreSync, argocd.argoproj.io/hook-delete-policy: HookSucceeded}\n  labels: {bleater.io/owner: platform-team}\n  finalizers: [bleater.io/hook-cleanup]\nspec: {suspend: true, template: {spec: {containers: []}}}\n",
        );
        let job = &inv.jobs[0];
        assert!(job.suspended);
        assert_eq!(job.hook.as_deref(), Some("PreSync"));
        assert_eq!(job.hook_delete_policy.as_deref(), Some("HookSucceeded"));
        assert_eq!(job.finalizers, vec!["bleater.io/hook-cleanup"]);
        assert_eq!(job.owners, vec!["bleater.io/owner=platform-team"]);
        assert_eq!(job.completions, "0/1");
    }

    #[test]
    fn config_maps_show_keys_never_values() {
        let inv = inventory(
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: ns}\ndata: {status: locked, password: hunter2}\n",
        );
        assert_eq!(inv.config_maps[0].keys, vec!["password", "status"]);
        assert!(!serde_json::to_string(&inv).unwrap().contains("hunter2"));
    }

    #[test]
    fn warning_events_newest_first_limited_and_aged_from_capture_time() {
        let events: Vec<String> = (0..45)
            .map(|i| format!(
                "apiVersion: v1\nkind: Event\nmetadata: {{name: e{i:02}, namespace: ns}}\ninvolvedObject: {{kind: Pod, name: web}}\nreason: BackOff\ntype: {}\ncount: {i}\nlastTimestamp: \"2024-11-19T03:{i:02}:00Z\"\n",
                if i == 44 { "Normal" } else { "Warning" }
            ))
            .collect();
        let inv = inventory(&events.join("---\n"));
        assert_eq!(inv.warning_events.len(), EVENT_LIMIT);
        assert_eq!(inv.warning_events[0].count, 43);
        assert_eq!(inv.warning_events[0].last_seen, "60s");
        assert_eq!(inv.warning_events[0].object, "pod/web");
    }

    #[test]
    fn objects_of_other_namespaces_stay_out() {
        let inv = inventory(&format!(
            "{POD}---\n{}",
            POD.replace("namespace: ns", "namespace: other")
        ));
        assert_eq!(inv.pods.len(), 1);
        assert!(inv.empty_kinds().contains(&"jobs"));
    }

    #[test]
    fn cron_jobs_and_endpoint_slices_get_rows() {
        let inv = inventory(
            "apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: nightly, namespace: ns, creationTimestamp: \"2024-01-01T00:00:00Z\"}\nspec: {schedule: \"0 3 * * *\", jobTemplate: {spec: {template: {spec: {containers: []}}}}}\nstatus: {lastScheduleTime: \"2024-01-03T03:00:00Z\", lastSuccessfulTime: \"2024-01-02T03:04:00Z\"}\n---\napiVersion: batch/v1\nkind: CronJob\nmetadata: {name: running, namespace: ns}\nspec: {schedule: \"@hourly\", jobTemplate: {spec: {template: {spec: {containers: []}}}}}\nstatus: {lastScheduleTime: \"2024-01-03T03:00:00Z\", active: [{kind: Job, name: running-1}]}\n---\napiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: api-x1, namespace: ns, labels: {kubernetes.io/service-name: api}}\naddressType: IPv4\nports: [{name: http, port: 8080, protocol: TCP}]\nendpoints:\n- {addresses: [10.0.0.1], conditions: {ready: true}}\n- {addresses: [10.0.0.2], conditions: {ready: false}}\n- {addresses: [10.0.0.3]}\n",
        );
        let nightly = &inv.cron_jobs[0];
        assert_eq!(
            (
                nightly.name.as_str(),
                nightly.active,
                nightly.last_run_unsuccessful
            ),
            ("nightly", 0, true)
        );
        // A run in progress is not an unsuccessful one.
        assert!(!inv.cron_jobs[1].last_run_unsuccessful);
        let slice = &inv.endpoint_slices[0];
        assert_eq!(slice.service.as_deref(), Some("api"));
        // A nil `ready` counts as ready.
        assert_eq!((slice.ready, slice.endpoints), (2, 3));
        assert_eq!(slice.ports, vec!["http:8080/TCP"]);
        assert!(!inv.empty_kinds().contains(&"cronjobs"));
        assert!(!inv.empty_kinds().contains(&"endpointslices"));
    }
}
