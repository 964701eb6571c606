//! One cluster-wide snapshot (`-A`: a cluster-wide LIST per kind, or a file holding
//! several namespaces) cut into one snapshot per namespace, so each namespace is
//! checked exactly as `-n NS` would check it.
//!
//! Memory: every namespaced object is *moved* into its namespace's snapshot, never
//! copied, so the objects of all namespaces are held once. Each namespace also gets
//! copies of the few objects from outside it that its signals read, as a live `-n NS`
//! load reads them: the StorageClasses, the PersistentVolumes relevant to its claims
//! ([`volume_binding::relevant_to`]), the ClusterRoles its RoleBindings reference, the
//! cluster DNS Service with its pods and namespace (for `egress`), and the ConfigMaps a
//! profile names elsewhere. That is a few objects per namespace, not a multiple of the
//! cluster.

use std::collections::{BTreeMap, BTreeSet};

use super::{HasMeta, RawObject, Snapshot};
use crate::k8s::volume_binding;

/// What a namespace's snapshot carries from outside the namespace.
#[derive(Debug, Clone, Default)]
pub struct Outside {
    /// The cluster DNS Service (namespace, name): `kube-system/kube-dns` unless the
    /// profile names another.
    pub dns: (String, String),
    /// ConfigMaps in other namespaces (namespace, name), e.g. a profile's status
    /// ConfigMap.
    pub config_maps: Vec<(String, String)>,
}

/// Every namespace of `snapshot` (those holding an object, and every Namespace object)
/// with its own snapshot, in name order. Kind gaps and object gaps apply to every
/// namespace (a kind that could not be listed cluster-wide is missing in each).
pub fn split(snapshot: Snapshot, outside: &dyn Fn(&str) -> Outside) -> Vec<(String, Snapshot)> {
    let names = snapshot.namespaces();
    let shell = Snapshot {
        gaps: snapshot.gaps.clone(),
        object_gaps: snapshot.object_gaps.clone(),
        captured_at: snapshot.captured_at,
        ..Snapshot::default()
    };
    let mut parts: BTreeMap<String, Snapshot> = names
        .iter()
        .map(|name| (name.clone(), shell.clone()))
        .collect();
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
        logs,
        log_gaps,
        ..
    } = snapshot;

    /// Moves each item into the snapshot of its namespace.
    fn deal<K: HasMeta>(
        parts: &mut BTreeMap<String, Snapshot>,
        items: Vec<K>,
        field: fn(&mut Snapshot) -> &mut Vec<K>,
    ) {
        for item in items {
            if let Some(part) = parts.get_mut(item.namespace()) {
                field(part).push(item);
            }
        }
    }
    deal(&mut parts, pods, |s| &mut s.pods);
    deal(&mut parts, jobs, |s| &mut s.jobs);
    deal(&mut parts, cron_jobs, |s| &mut s.cron_jobs);
    deal(&mut parts, persistent_volume_claims, |s| {
        &mut s.persistent_volume_claims
    });
    deal(&mut parts, resource_quotas, |s| &mut s.resource_quotas);
    deal(&mut parts, network_policies, |s| &mut s.network_policies);
    deal(&mut parts, role_bindings, |s| &mut s.role_bindings);
    deal(&mut parts, roles, |s| &mut s.roles);
    deal(&mut parts, config_maps, |s| &mut s.config_maps);
    deal(&mut parts, deployments, |s| &mut s.deployments);
    deal(&mut parts, stateful_sets, |s| &mut s.stateful_sets);
    deal(&mut parts, daemon_sets, |s| &mut s.daemon_sets);
    deal(&mut parts, replica_sets, |s| &mut s.replica_sets);
    deal(&mut parts, services, |s| &mut s.services);
    deal(&mut parts, endpoint_slices, |s| &mut s.endpoint_slices);
    deal(&mut parts, service_accounts, |s| &mut s.service_accounts);
    deal(&mut parts, limit_ranges, |s| &mut s.limit_ranges);
    deal(&mut parts, events, |s| &mut s.events);
    for log in logs {
        if let Some(part) = parts.get_mut(&log.source.namespace) {
            part.logs.push(log);
        }
    }
    for gap in log_gaps {
        if let Some(part) = parts.get_mut(&gap.source.namespace) {
            part.log_gaps.push(gap);
        }
    }
    // A Namespace object goes to its own namespace; other raw objects to theirs
    // (cluster-scoped ones of unmodelled kinds are read by no signal).
    for raw in other {
        let home = if raw.kind == "Namespace" {
            Some(&raw.name)
        } else {
            raw.namespace.as_ref()
        };
        if let Some(part) = home.and_then(|name| parts.get_mut(name)) {
            part.other.push(raw);
        }
    }

    // What each namespace reads from outside itself, cloned from where it now lives.
    let borrowed: Vec<(String, Snapshot)> = names
        .iter()
        .map(|name| {
            let wanted = outside(name);
            let mut extra = Snapshot::default();
            let (dns_namespace, dns_service) = &wanted.dns;
            if dns_namespace != name
                && let Some(home) = parts.get(dns_namespace)
            {
                copy_dns(home, dns_namespace, dns_service, &mut extra);
            }
            for (namespace, config_map) in &wanted.config_maps {
                if namespace == name {
                    continue;
                }
                if let Some(found) = parts.get(namespace).and_then(|home| {
                    home.config_maps
                        .iter()
                        .find(|cm| cm.name() == config_map.as_str())
                }) {
                    extra.config_maps.push(found.clone());
                }
            }
            (name.clone(), extra)
        })
        .collect();

    for (name, extra) in borrowed {
        let Some(part) = parts.get_mut(&name) else {
            continue;
        };
        part.services.extend(extra.services);
        part.pods.extend(extra.pods);
        part.config_maps.extend(extra.config_maps);
        part.other.extend(extra.other);
        part.storage_classes = storage_classes.clone();
        let claims = super::in_namespace(&part.persistent_volume_claims, &name);
        part.persistent_volumes = persistent_volumes
            .iter()
            .filter(|volume| volume_binding::relevant_to(volume, &claims, &name))
            .cloned()
            .collect();
        let referenced: BTreeSet<&str> = part
            .role_bindings
            .iter()
            .filter(|binding| binding.role_ref.kind == "ClusterRole")
            .map(|binding| binding.role_ref.name.as_str())
            .collect();
        part.cluster_roles = cluster_roles
            .iter()
            .filter(|role| referenced.contains(role.name()))
            .cloned()
            .collect();
    }
    parts.into_iter().collect()
}

/// The DNS Service, the pods its selector matches, and their Namespace object, as a
/// live load reads them beside a namespace (`Cluster::read_dns`).
fn copy_dns(home: &Snapshot, namespace: &str, service: &str, extra: &mut Snapshot) {
    let Some(found) = home.services.iter().find(|s| s.name() == service) else {
        return;
    };
    let selector = found.spec.as_ref().and_then(|s| s.selector.as_ref());
    if let Some(selector) = selector.filter(|s| !s.is_empty()) {
        // A Service selects pods whose labels hold every pair of its selector
        // (https://kubernetes.io/docs/concepts/services-networking/service/#services-in-kubernetes).
        extra.pods.extend(
            home.pods
                .iter()
                .filter(|pod| {
                    let labels = pod.metadata.labels.as_ref();
                    selector
                        .iter()
                        .all(|(k, v)| labels.and_then(|l| l.get(k)) == Some(v))
                })
                .cloned(),
        );
    }
    extra.services.push(found.clone());
    extra.other.extend(
        home.other
            .iter()
            .filter(|raw| raw.kind == "Namespace" && raw.name == namespace)
            .cloned()
            .collect::<Vec<RawObject>>(),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::parse::parse_snapshot;

    fn outside(_: &str) -> Outside {
        Outside {
            dns: ("kube-system".to_string(), "kube-dns".to_string()),
            config_maps: vec![("status".to_string(), "app-status".to_string())],
        }
    }

    const CLUSTER: &str = r#"
apiVersion: v1
kind: List
items:
- {apiVersion: v1, kind: Namespace, metadata: {name: empty, labels: {team: none}}}
- {apiVersion: v1, kind: Namespace, metadata: {name: kube-system}}
- {apiVersion: v1, kind: Pod, metadata: {name: a1, namespace: a}}
- {apiVersion: v1, kind: Pod, metadata: {name: a2, namespace: a}}
- {apiVersion: v1, kind: Pod, metadata: {name: b1, namespace: b}}
- {apiVersion: v1, kind: PersistentVolumeClaim, metadata: {name: data, namespace: b}, spec: {volumeName: pv-b}}
- {apiVersion: v1, kind: PersistentVolume, metadata: {name: pv-b}, spec: {claimRef: {namespace: b, name: data}}}
- {apiVersion: v1, kind: PersistentVolume, metadata: {name: pv-c}, spec: {claimRef: {namespace: c, name: data}}}
- {apiVersion: storage.k8s.io/v1, kind: StorageClass, metadata: {name: standard}, provisioner: x}
- {apiVersion: rbac.authorization.k8s.io/v1, kind: RoleBinding, metadata: {name: rb, namespace: a}, roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: edit}, subjects: []}
- {apiVersion: rbac.authorization.k8s.io/v1, kind: ClusterRole, metadata: {name: edit}}
- {apiVersion: rbac.authorization.k8s.io/v1, kind: ClusterRole, metadata: {name: view}}
- {apiVersion: v1, kind: Service, metadata: {name: kube-dns, namespace: kube-system}, spec: {selector: {k8s-app: kube-dns}}}
- {apiVersion: v1, kind: Pod, metadata: {name: coredns-1, namespace: kube-system, labels: {k8s-app: kube-dns}}}
- {apiVersion: v1, kind: Pod, metadata: {name: metrics, namespace: kube-system}}
- {apiVersion: v1, kind: ConfigMap, metadata: {name: app-status, namespace: status}, data: {api: Healthy}}
"#;

    fn names<K: HasMeta>(items: &[K]) -> Vec<&str> {
        items.iter().map(|item| item.name()).collect()
    }

    #[test]
    fn every_object_lands_once_in_its_namespace_with_what_it_reads_from_outside() {
        let snapshot = parse_snapshot(CLUSTER.as_bytes(), "cluster.yaml").unwrap();
        let parts: BTreeMap<String, Snapshot> = split(snapshot, &outside).into_iter().collect();
        assert_eq!(
            parts.keys().collect::<Vec<_>>(),
            ["a", "b", "empty", "kube-system", "status"]
        );
        let a = &parts["a"];
        // Its own pods, then the DNS pod (never kube-system's other pods).
        assert_eq!(names(&a.pods), ["a1", "a2", "coredns-1"]);
        assert_eq!(names(&a.services), ["kube-dns"]);
        assert_eq!(names(&a.cluster_roles), ["edit"]);
        assert_eq!(names(&a.storage_classes), ["standard"]);
        assert!(a.persistent_volumes.is_empty());
        assert_eq!(names(&a.config_maps), ["app-status"]);
        let b = &parts["b"];
        assert_eq!(names(&b.pods), ["b1", "coredns-1"]);
        assert_eq!(names(&b.persistent_volumes), ["pv-b"]);
        assert!(b.cluster_roles.is_empty());
        // kube-system keeps its own pods once; nothing is borrowed from itself.
        assert_eq!(names(&parts["kube-system"].pods), ["coredns-1", "metrics"]);
        assert_eq!(names(&parts["kube-system"].services), ["kube-dns"]);
        let empty = &parts["empty"];
        assert_eq!(
            empty
                .other
                .iter()
                .map(|raw| raw.name.as_str())
                .collect::<Vec<_>>(),
            ["empty", "kube-system"]
        );
        // The status ConfigMap stays in its own namespace, copied nowhere twice.
        assert_eq!(names(&parts["status"].config_maps), ["app-status"]);
    }

    #[test]
    fn kind_gaps_reach_every_namespace() {
        let mut snapshot = parse_snapshot(CLUSTER.as_bytes(), "cluster.yaml").unwrap();
        snapshot.gaps.insert(
            crate::snapshot::Kind::RoleBinding,
            crate::snapshot::Gap::Forbidden("no".to_string()),
        );
        for (name, part) in split(snapshot, &outside) {
            assert!(
                part.gaps.contains_key(&crate::snapshot::Kind::RoleBinding),
                "{name}"
            );
        }
    }
}
