//! The causal graph between failing findings: which fault causes which. Pure: built from
//! the findings and the snapshot they were evaluated on.
//!
//! An edge `A -> B` says A's fault is (part of) why B fails. Edges come from the objects
//! the findings name, in three ways, each with its reason:
//! - **named causes**: B's evidence names an object of A as its cause
//!   ([`Finding::caused_by`]: the quota in `exceeded quota: q`, the claim a pod waits for);
//! - **object relations** in the snapshot: a failing pod belongs to a failing workload
//!   (ownerReferences, the chain the garbage collector follows); a Service selects failing
//!   pods (the EndpointSlice controller's rule: selector equality on pod labels); a pod
//!   mounts a failing claim or reads a failing ConfigMap; a NetworkPolicy isolates a pod
//!   whose evidence says it cannot reach the network;
//! - **declared gates** ([`Signal::gates`](crate::signals::Signal::gates), gathered by
//!   [`signals::declared_gates`]) between the incident's signals, where only the kind of
//!   fault is known (a migration gated by RBAC has no object to point at yet).
//!
//! A failing finding every one of whose objects is explained by an incoming object edge is
//! a **symptom**: it resolves once its causes are repaired, so the plan verifies it
//! instead of repairing it.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::core::v1::{Pod, Service};
use k8s_openapi::api::networking::v1::NetworkPolicy;
use serde::Serialize;

use crate::finding::{Context, Evidence, Finding, ObjectRef, Status};
use crate::signals;
use crate::snapshot::{HasMeta, Snapshot, in_namespace};

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Graph {
    pub nodes: Vec<Node>,
    pub edges: Vec<Edge>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Node {
    pub id: &'static str,
    pub status: Status,
    pub summary: String,
    /// It only results from other failing findings (every object it names is explained
    /// by an incoming edge, or the signal is verify-only).
    pub symptom: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Edge {
    pub from: &'static str,
    pub to: &'static str,
    /// Why, in a few words.
    pub label: String,
    /// The object relations behind it (`pod/api-7d9-x belongs to deployment/api`);
    /// empty for a declared gate.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub via: Vec<String>,
    /// The objects of `to` this edge accounts for.
    #[serde(skip)]
    explains: BTreeSet<ObjectRef>,
}

impl Graph {
    pub fn node(&self, id: &str) -> Option<&Node> {
        self.nodes.iter().find(|n| n.id == id)
    }

    /// Every node reachable from `id` along edges, in node order.
    pub fn descendants(&self, id: &str) -> Vec<&'static str> {
        let mut seen: BTreeSet<&str> = BTreeSet::new();
        let mut stack = vec![id];
        while let Some(current) = stack.pop() {
            for edge in self.edges.iter().filter(|e| e.from == current) {
                if edge.to != id && seen.insert(edge.to) {
                    stack.push(edge.to);
                }
            }
        }
        self.nodes
            .iter()
            .map(|n| n.id)
            .filter(|id| seen.contains(id))
            .collect()
    }
}

/// The graph over the failing findings (plus the derived-state output they feed).
pub fn graph(context: &Context, findings: &[Finding]) -> Graph {
    let mut members: Vec<&Finding> = findings
        .iter()
        .filter(|f| {
            f.status == Status::Fail
                || (f.status == Status::Info
                    && matches!(signals::role(f.id), signals::Role::Output { .. }))
        })
        .collect();
    // NB: an `unknown` gate is not an open gate: rbac that cannot be decided offline
    // may well be the fault that makes the migration fail. It joins the graph (declared
    // gates only) in front of every failing finding it gates that would be repaired,
    // so the plan says what is unknown and holds the gated step back. "Not applicable"
    // (no script, no schema declared) gates nothing.
    let gates = signals::declared_gates();
    let verify_only = |id: &str| signals::role(id).verified_only();
    let unknown_gates: Vec<&Finding> = findings
        .iter()
        .filter(|f| f.status == Status::Unknown && !f.summary.starts_with("not applicable"))
        .filter(|f| {
            gates.iter().any(|(from, to, _)| {
                *from == f.id
                    && !verify_only(to)
                    && members
                        .iter()
                        .any(|m| m.id == *to && m.status == Status::Fail)
            })
        })
        .collect();
    members.extend(unknown_gates);
    members.sort_by_key(|f| (priority(f.id), f.id));
    let relations = Relations::index(context);
    let mut edges: Vec<Edge> = Vec::new();
    let unreachable: Vec<BTreeSet<&ObjectRef>> = members
        .iter()
        .map(|effect| cannot_reach_network(effect))
        .collect();
    for cause in &members {
        let causes = ObjectsByName::of(&cause.objects);
        for (effect, unreachable) in members.iter().zip(&unreachable) {
            // Unknown findings are linked by declared gates only.
            if cause.id == effect.id
                || cause.status == Status::Unknown
                || effect.status == Status::Unknown
            {
                continue;
            }
            let mut via = Vec::new();
            let mut explains = BTreeSet::new();
            for named in &effect.caused_by {
                if cause.objects.contains(named) {
                    via.push(format!(
                        "{} names {} as its cause",
                        effect.id,
                        named.short()
                    ));
                    explains.extend(effect.explained_by(named).iter().cloned());
                }
            }
            // NB: only the pairs the indexes say may be related are tested, so the cost
            // follows the relations, not |cause objects| x |effect objects|.
            for to in &effect.objects {
                let cannot_reach = unreachable.contains(to);
                for from in relations.candidates(to, &causes, cannot_reach) {
                    if let Some(why) = relations.relate(from, to, cannot_reach) {
                        via.push(why);
                        explains.insert(to.clone());
                    }
                }
            }
            if via.is_empty() {
                continue;
            }
            via.sort();
            via.dedup();
            edges.push(Edge {
                from: cause.id,
                to: effect.id,
                label: label(&via),
                via,
                explains,
            });
        }
    }
    // Declared gates first, by the step they hold back (`signals::declared_gates`),
    // each carrying the object relations that also back it; then the edges that only
    // the objects show.
    let present = |id: &str| members.iter().any(|f| f.id == id);
    let mut ordered: Vec<Edge> = Vec::new();
    let unknown = |id: &str| {
        members
            .iter()
            .any(|f| f.id == id && f.status == Status::Unknown)
    };
    for (from, to, why) in gates {
        if !(present(from) && present(to)) || unknown(to) || (unknown(from) && verify_only(to)) {
            continue;
        }
        let (via, explains) = match edges.iter().position(|e| e.from == from && e.to == to) {
            Some(index) => {
                let edge = edges.remove(index);
                (edge.via, edge.explains)
            }
            None => (Vec::new(), BTreeSet::new()),
        };
        // A declared gate between findings whose objects can be related is named only
        // when they are: a claim gates the pods that mount it, a policy the pods it
        // isolates, not every failing pod.
        let finding_of = |id: &str| members.iter().find(|f| f.id == id);
        if via.is_empty()
            && let (Some(gate), Some(gated)) = (finding_of(from), finding_of(to))
            && !relations.gate_applies(gate, gated)
        {
            continue;
        }
        ordered.push(Edge {
            from,
            to,
            label: if unknown(from) {
                format!("unknown whether it {why}")
            } else {
                why.to_string()
            },
            via,
            explains,
        });
    }
    ordered.extend(edges);
    let edges = ordered;
    let nodes = members
        .iter()
        .map(|f| Node {
            id: f.id,
            status: f.status,
            summary: f.summary.clone(),
            symptom: f.status != Status::Unknown && (verify_only(f.id) || explained(f, &edges)),
        })
        .collect();
    Graph { nodes, edges }
}

/// Every object of `finding` is accounted for by an incoming object edge.
fn explained(finding: &Finding, edges: &[Edge]) -> bool {
    !finding.objects.is_empty()
        && finding.objects.iter().all(|object| {
            edges
                .iter()
                .any(|e| e.to == finding.id && e.explains.contains(object))
        })
}

/// The first relation, and how many more back the edge.
fn label(via: &[String]) -> String {
    match via.len() {
        1 => via[0].clone(),
        n => format!("{} (+{} more)", via[0], n - 1),
    }
}

/// Position in `signals::ALL`: the tie-break of the repair order.
pub use crate::signals::priority;

/// Words in a symptom's evidence that say the pod could not reach the network, so a
/// policy that isolates it is a likely cause (and nothing else is claimed).
const NETWORK_FAILURES: [&str; 8] = [
    "i/o timeout",
    "connection timed out",
    "connection refused",
    "no such host",
    "could not translate host name",
    "temporary failure in name resolution",
    "network is unreachable",
    "dial tcp",
];

/// The snapshot's object relations, indexed once.
struct Relations<'a> {
    namespace: &'a str,
    pods: BTreeMap<&'a str, &'a Pod>,
    /// `(kind, name)` -> every owner its ownerReferences reach, transitively.
    ancestors: BTreeMap<(String, String), BTreeSet<(String, String)>>,
    /// `(kind, name)` of an owner -> every object that reaches it, transitively.
    descendants: BTreeMap<(String, String), Vec<(String, String)>>,
    /// `(kind, name)` of an owner -> the pods it owns, directly or through others.
    owned_pods: BTreeMap<(String, String), Vec<&'a str>>,
    /// The namespace's Services and NetworkPolicies by name.
    services: BTreeMap<&'a str, &'a Service>,
    policies: BTreeMap<&'a str, &'a NetworkPolicy>,
    /// `(label key, value)` -> the pods carrying it, so a selector's pods are found
    /// from its rarest label, not by testing every pod.
    pods_by_label: BTreeMap<(&'a str, &'a str), Vec<&'a str>>,
    /// The same for workloads' pod templates: `(kind, name)` of the workload.
    templates_by_label: BTreeMap<(&'a str, &'a str), Vec<(&'static str, &'a str)>>,
    context: &'a Context<'a>,
}

/// A finding's objects by kind, then name.
struct ObjectsByName<'f>(BTreeMap<&'f str, BTreeMap<&'f str, Vec<&'f ObjectRef>>>);

impl<'f> ObjectsByName<'f> {
    fn of(objects: &'f [ObjectRef]) -> Self {
        let mut by_name: BTreeMap<&str, BTreeMap<&str, Vec<&ObjectRef>>> = BTreeMap::new();
        for object in objects {
            by_name
                .entry(object.kind.as_str())
                .or_default()
                .entry(object.name.as_str())
                .or_default()
                .push(object);
        }
        Self(by_name)
    }

    fn get(&self, kind: &str, name: &str) -> impl Iterator<Item = &'f ObjectRef> + '_ {
        self.0
            .get(kind)
            .and_then(|names| names.get(name))
            .into_iter()
            .flatten()
            .copied()
    }

    fn of_kind(&self, kind: &str) -> impl Iterator<Item = &'f ObjectRef> + '_ {
        self.0
            .get(kind)
            .into_iter()
            .flat_map(|names| names.values().flatten().copied())
    }
}

/// The names of the items carrying every label of `selector`, looked up from its rarest
/// label (an empty selector: none).
fn matching<'a, T: Copy>(
    index: &BTreeMap<(&'a str, &'a str), Vec<T>>,
    selector: &BTreeMap<String, String>,
    labels_of: impl Fn(T) -> Option<&'a BTreeMap<String, String>>,
) -> Vec<T> {
    let Some(rarest) = selector
        .iter()
        .map(|(k, v)| {
            index
                .get(&(k.as_str(), v.as_str()))
                .map_or(&[][..], Vec::as_slice)
        })
        .min_by_key(|items| items.len())
    else {
        return Vec::new();
    };
    rarest
        .iter()
        .copied()
        .filter(|&item| {
            selector
                .iter()
                .all(|(k, v)| labels_of(item).and_then(|l| l.get(k)) == Some(v))
        })
        .collect()
}

/// Every owner `object` reaches through ownerReferences (cycles, which the garbage
/// collector would break, are cut by the visited set).
fn reach(
    owners: &BTreeMap<(String, String), Vec<(String, String)>>,
    object: &(String, String),
) -> BTreeSet<(String, String)> {
    let mut seen = BTreeSet::new();
    let mut stack = vec![object.clone()];
    while let Some(current) = stack.pop() {
        for next in owners.get(&current).into_iter().flatten() {
            if seen.insert(next.clone()) {
                stack.push(next.clone());
            }
        }
    }
    seen
}

impl<'a> Relations<'a> {
    fn index(context: &'a Context<'a>) -> Self {
        let snapshot = context.snapshot;
        let namespace = context.namespace;
        let mut owners = BTreeMap::new();
        for (kind, meta) in snapshot.all_meta() {
            if meta.namespace.as_deref() != Some(namespace) {
                continue;
            }
            let refs: Vec<(String, String)> = meta
                .owner_references
                .iter()
                .flatten()
                .map(|o| (o.kind.clone(), o.name.clone()))
                .collect();
            if !refs.is_empty() {
                owners.insert(
                    (
                        kind.name().to_string(),
                        meta.name.clone().unwrap_or_default(),
                    ),
                    refs,
                );
            }
        }
        for raw in &snapshot.other {
            if raw.namespace.as_deref() != Some(namespace) {
                continue;
            }
            let refs: Vec<(String, String)> = raw.object["metadata"]["ownerReferences"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|o| Some((o["kind"].as_str()?.into(), o["name"].as_str()?.into())))
                .collect();
            if !refs.is_empty() {
                owners.insert((raw.kind.clone(), raw.name.clone()), refs);
            }
        }
        let pods: BTreeMap<&str, &Pod> = in_namespace(&snapshot.pods, namespace)
            .into_iter()
            .map(|p| (p.name(), p))
            .collect();
        // Indexed once: the graph asks "does this object belong to that one" for every
        // pair of failing objects, and "which pods does it own" for every Service.
        let ancestors: BTreeMap<(String, String), BTreeSet<(String, String)>> = owners
            .keys()
            .map(|object| (object.clone(), reach(&owners, object)))
            .collect();
        let mut owned_pods: BTreeMap<(String, String), Vec<&str>> = BTreeMap::new();
        for pod in pods.keys() {
            let key = ("Pod".to_string(), pod.to_string());
            for owner in ancestors.get(&key).into_iter().flatten() {
                owned_pods.entry(owner.clone()).or_default().push(pod);
            }
        }
        let mut descendants: BTreeMap<(String, String), Vec<(String, String)>> = BTreeMap::new();
        for (object, owners) in &ancestors {
            for owner in owners {
                descendants
                    .entry(owner.clone())
                    .or_default()
                    .push(object.clone());
            }
        }
        let mut pods_by_label: BTreeMap<(&str, &str), Vec<&str>> = BTreeMap::new();
        for (name, pod) in &pods {
            for (k, v) in pod.metadata.labels.iter().flatten() {
                pods_by_label.entry((k, v)).or_default().push(name);
            }
        }
        let mut templates_by_label: BTreeMap<(&str, &str), Vec<(&'static str, &str)>> =
            BTreeMap::new();
        let templates = snapshot
            .deployments
            .iter()
            .map(|d| {
                (
                    "Deployment",
                    &d.metadata,
                    d.spec.as_ref().and_then(|s| s.template.metadata.as_ref()),
                )
            })
            .chain(snapshot.stateful_sets.iter().map(|s| {
                (
                    "StatefulSet",
                    &s.metadata,
                    s.spec.as_ref().and_then(|s| s.template.metadata.as_ref()),
                )
            }))
            .chain(snapshot.daemon_sets.iter().map(|d| {
                (
                    "DaemonSet",
                    &d.metadata,
                    d.spec.as_ref().and_then(|s| s.template.metadata.as_ref()),
                )
            }))
            .chain(snapshot.replica_sets.iter().map(|r| {
                (
                    "ReplicaSet",
                    &r.metadata,
                    r.spec
                        .as_ref()
                        .and_then(|s| s.template.as_ref()?.metadata.as_ref()),
                )
            }));
        for (kind, meta, template) in templates {
            if meta.namespace.as_deref() != Some(namespace) {
                continue;
            }
            let name = meta.name.as_deref().unwrap_or_default();
            for (k, v) in template
                .and_then(|t| t.labels.as_ref())
                .into_iter()
                .flatten()
            {
                templates_by_label
                    .entry((k, v))
                    .or_default()
                    .push((kind, name));
            }
        }
        let services = in_namespace(&snapshot.services, namespace)
            .into_iter()
            .map(|s| (s.name(), s))
            .collect();
        let policies = in_namespace(&snapshot.network_policies, namespace)
            .into_iter()
            .map(|p| (p.name(), p))
            .collect();
        Self {
            namespace,
            pods,
            ancestors,
            descendants,
            owned_pods,
            services,
            policies,
            pods_by_label,
            templates_by_label,
            context,
        }
    }

    /// The objects of a cause that [`Relations::relate`] may relate to `to`: a superset
    /// of the pairs for which it answers, found through the indexes (each arm of
    /// `relate` has its lookup here).
    fn candidates<'f>(
        &self,
        to: &ObjectRef,
        causes: &ObjectsByName<'f>,
        cannot_reach: bool,
    ) -> Vec<&'f ObjectRef> {
        let mut found: Vec<&'f ObjectRef> = Vec::new();
        let key = (to.kind.clone(), to.name.clone());
        // What belongs to `to` (pods and other objects alike).
        for (kind, name) in self.descendants.get(&key).into_iter().flatten() {
            found.extend(causes.get(kind, name));
        }
        match to.kind.as_str() {
            "Service" => {
                let selected: Vec<&str> = match self.service_selector(&to.name) {
                    Some(selector) => matching(&self.pods_by_label, selector, |pod| {
                        self.pods.get(pod).and_then(|p| p.metadata.labels.as_ref())
                    }),
                    None => Vec::new(),
                };
                for pod in &selected {
                    found.extend(causes.get("Pod", pod));
                    let owners = self.ancestors.get(&("Pod".to_string(), pod.to_string()));
                    for (kind, name) in owners.into_iter().flatten() {
                        found.extend(causes.get(kind, name));
                    }
                }
                if let Some(selector) = self.service_selector(&to.name) {
                    let workloads = matching(&self.templates_by_label, selector, |(kind, name)| {
                        self.template_labels(kind, name)
                    });
                    for (kind, name) in workloads {
                        found.extend(causes.get(kind, name));
                    }
                }
            }
            "Pod" => {
                if let Some(spec) = self
                    .pods
                    .get(to.name.as_str())
                    .and_then(|p| p.spec.as_ref())
                {
                    for volume in spec.volumes.iter().flatten() {
                        if let Some(claim) = &volume.persistent_volume_claim {
                            found.extend(causes.get("PersistentVolumeClaim", &claim.claim_name));
                        }
                    }
                }
                for config_map in self.config_maps_read(&to.name) {
                    found.extend(causes.get("ConfigMap", config_map));
                }
                if cannot_reach {
                    found.extend(causes.of_kind("NetworkPolicy"));
                }
            }
            _ => {}
        }
        found.sort();
        found.dedup();
        found
    }

    fn service_selector(&self, service: &str) -> Option<&'a BTreeMap<String, String>> {
        self.services
            .get(service)
            .and_then(|s| s.spec.as_ref()?.selector.as_ref())
            .filter(|s| !s.is_empty())
    }

    /// The labels of a workload's pod template.
    fn template_labels(&self, kind: &str, name: &str) -> Option<&'a BTreeMap<String, String>> {
        use crate::snapshot::Stored;
        fn named<'s, K: Stored>(
            snapshot: &'s Snapshot,
            namespace: &str,
            name: &str,
        ) -> Option<&'s K> {
            let found = snapshot.objects_in::<K>(namespace);
            let at = found.binary_search_by(|k| k.name().cmp(name)).ok()?;
            Some(found[at])
        }
        let snapshot = self.context.snapshot;
        let namespace = self.namespace;
        let template = match kind {
            "Deployment" => named::<Deployment>(snapshot, namespace, name)
                .and_then(|d| d.spec.as_ref()?.template.metadata.as_ref()),
            "StatefulSet" => named::<StatefulSet>(snapshot, namespace, name)
                .and_then(|s| s.spec.as_ref()?.template.metadata.as_ref()),
            "DaemonSet" => named::<DaemonSet>(snapshot, namespace, name)
                .and_then(|d| d.spec.as_ref()?.template.metadata.as_ref()),
            "ReplicaSet" => named::<ReplicaSet>(snapshot, namespace, name)
                .and_then(|r| r.spec.as_ref()?.template.as_ref()?.metadata.as_ref()),
            _ => None,
        };
        template.and_then(|t| t.labels.as_ref())
    }

    /// Whether `from` (an object of a cause) explains `to` (an object of an effect whose
    /// evidence says `to` cannot reach the network when `cannot_reach`), and why.
    fn relate(&self, from: &ObjectRef, to: &ObjectRef, cannot_reach: bool) -> Option<String> {
        if from == to || !from.namespace.is_empty() && from.namespace != self.namespace {
            return None;
        }
        let why = |verb: &str| Some(format!("{} {verb} {}", to.short(), from.short()));
        match (from.kind.as_str(), to.kind.as_str()) {
            // A pod's failure is its controller's: the ReplicaSet, Deployment, Job, ...
            ("Pod", _) if self.owned_by(from, to) => {
                Some(format!("{} belongs to {}", from.short(), to.short()))
            }
            // A workload's broken pods are the pods a Service selects.
            ("Pod", "Service") if self.selects(&to.name, &from.name) => why("selects"),
            (_, "Service")
                if self.workload_pods(from).any(|p| self.selects(&to.name, p))
                    || self.template_selected(from, &to.name) =>
            {
                why("selects the pods of")
            }
            // A ReplicaSet's failure is its Deployment's.
            (_, _) if from.kind != "Pod" && self.owned_by(from, to) => {
                Some(format!("{} belongs to {}", from.short(), to.short()))
            }
            ("PersistentVolumeClaim", "Pod") if self.mounts_claim(&to.name, &from.name) => {
                why("mounts")
            }
            ("ConfigMap", "Pod") if self.reads_config_map(&to.name, &from.name) => why("reads"),
            ("NetworkPolicy", "Pod") if cannot_reach && self.isolates(&from.name, &to.name) => {
                Some(format!(
                    "{} isolates {}, whose evidence says it cannot reach the network",
                    from.short(),
                    to.short()
                ))
            }
            _ => None,
        }
    }

    /// Whether a declared gate between two findings holds for their objects: `false` only
    /// where the relation can be checked and no object of `gate` touches one of `gated`:
    /// a gate naming claims holds for pods that mount one, a gate naming
    /// NetworkPolicies for pods one of them isolates.
    fn gate_applies(&self, gate: &Finding, gated: &Finding) -> bool {
        let pods: Vec<&str> = gated
            .objects
            .iter()
            .filter(|o| o.kind == "Pod")
            .map(|o| o.name.as_str())
            .collect();
        if pods.is_empty() {
            return true;
        }
        let of_kind = |kind: &str| -> Vec<&str> {
            gate.objects
                .iter()
                .filter(|o| o.kind == kind)
                .map(|o| o.name.as_str())
                .collect()
        };
        let touches = |names: Vec<&str>, relation: &dyn Fn(&str, &str) -> bool| {
            names.is_empty() || names.iter().any(|n| pods.iter().any(|p| relation(p, n)))
        };
        touches(of_kind("PersistentVolumeClaim"), &|pod, claim| {
            self.mounts_claim(pod, claim)
        }) && touches(of_kind("NetworkPolicy"), &|pod, policy| {
            self.isolates(policy, pod)
        })
    }

    /// `object`'s ownerReferences, followed transitively, reach `owner`.
    fn owned_by(&self, object: &ObjectRef, owner: &ObjectRef) -> bool {
        self.ancestors
            .get(&(object.kind.clone(), object.name.clone()))
            .is_some_and(|all| all.contains(&(owner.kind.clone(), owner.name.clone())))
    }

    /// Names of the pods `workload` owns, directly or through a ReplicaSet.
    fn workload_pods(&self, workload: &ObjectRef) -> impl Iterator<Item = &'a str> + '_ {
        self.owned_pods
            .get(&(workload.kind.clone(), workload.name.clone()))
            .into_iter()
            .flatten()
            .copied()
    }

    /// The Service's selector matches the pod's labels (an absent or empty selector
    /// selects nothing: such a Service's endpoints are managed by hand).
    fn selects(&self, service: &str, pod: &str) -> bool {
        let Some(pod) = self.pods.get(pod) else {
            return false;
        };
        self.selector_matches(service, pod.metadata.labels.as_ref())
    }

    /// The workload's pod template carries labels the Service selects: its pods would
    /// be the Service's endpoints, even when it has none now (a quota refused them).
    fn template_selected(&self, workload: &ObjectRef, service: &str) -> bool {
        self.template_labels(&workload.kind, &workload.name)
            .is_some_and(|labels| self.selector_matches(service, Some(labels)))
    }

    fn selector_matches(&self, service: &str, labels: Option<&BTreeMap<String, String>>) -> bool {
        let Some(selector) = self.service_selector(service) else {
            return false;
        };
        selector
            .iter()
            .all(|(k, v)| labels.and_then(|l| l.get(k)) == Some(v))
    }

    fn mounts_claim(&self, pod: &str, claim: &str) -> bool {
        self.pods
            .get(pod)
            .and_then(|p| p.spec.as_ref()?.volumes.as_ref())
            .into_iter()
            .flatten()
            .any(|v| {
                v.persistent_volume_claim
                    .as_ref()
                    .is_some_and(|c| c.claim_name == claim)
            })
    }

    /// The pod reads the ConfigMap through a volume, a projected volume, `envFrom` or
    /// an env `configMapKeyRef`.
    fn reads_config_map(&self, pod: &str, config_map: &str) -> bool {
        self.config_maps_read(pod).contains(&config_map)
    }

    /// The ConfigMaps a pod reads (volumes, projected volumes, `envFrom`, env
    /// `configMapKeyRef`), by name.
    fn config_maps_read(&self, pod: &str) -> Vec<&'a str> {
        let Some(spec) = self.pods.get(pod).and_then(|p| p.spec.as_ref()) else {
            return Vec::new();
        };
        let mut names: Vec<&str> = Vec::new();
        for volume in spec.volumes.iter().flatten() {
            names.extend(volume.config_map.as_ref().map(|c| c.name.as_str()));
            let projected = volume
                .projected
                .iter()
                .flat_map(|p| p.sources.iter().flatten());
            names.extend(projected.filter_map(|s| Some(s.config_map.as_ref()?.name.as_str())));
        }
        for container in spec
            .containers
            .iter()
            .chain(spec.init_containers.iter().flatten())
        {
            let env_from = container.env_from.iter().flatten();
            names.extend(env_from.filter_map(|e| Some(e.config_map_ref.as_ref()?.name.as_str())));
            let env = container.env.iter().flatten();
            names.extend(env.filter_map(|e| {
                Some(
                    e.value_from
                        .as_ref()?
                        .config_map_key_ref
                        .as_ref()?
                        .name
                        .as_str(),
                )
            }));
        }
        names
    }

    fn isolates(&self, policy: &str, pod: &str) -> bool {
        let Some(pod) = self.pods.get(pod) else {
            return false;
        };
        self.policies
            .get(policy)
            .is_some_and(|p| crate::k8s::netpol::isolates_egress(p, pod.metadata.labels.as_ref()))
    }
}

/// The objects whose evidence in `effect` says they could not reach the network, so a
/// policy that isolates them is a likely cause.
fn cannot_reach_network(effect: &Finding) -> BTreeSet<&ObjectRef> {
    let says = |text: &str| {
        let text = text.to_ascii_lowercase();
        NETWORK_FAILURES.iter().any(|n| text.contains(n))
    };
    effect
        .evidence
        .iter()
        .filter_map(|evidence| match evidence {
            Evidence::Event {
                object, message, ..
            } if says(message) => Some(object),
            Evidence::Field {
                object,
                value,
                note,
                ..
            } if says(value) || note.as_deref().is_some_and(says) => Some(object),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signals::test_support::snapshot;
    use crate::snapshot::Kind;

    const NS: &str = "orders";

    /// Deployment `api` -> ReplicaSet `api-7d9` -> Pod `api-7d9-x`, selected by Service
    /// `api`; Service `other` selects nothing; ConfigMap `api-config` read by the pod;
    /// quota `q`.
    const WORLD: &str = r#"
apiVersion: v1
kind: List
items:
- apiVersion: apps/v1
  kind: Deployment
  metadata: {name: api, namespace: orders, uid: d1}
- apiVersion: apps/v1
  kind: ReplicaSet
  metadata:
    name: api-7d9
    namespace: orders
    uid: r1
    ownerReferences: [{apiVersion: apps/v1, kind: Deployment, name: api, uid: d1, controller: true}]
- apiVersion: v1
  kind: Pod
  metadata:
    name: api-7d9-x
    namespace: orders
    labels: {app: api}
    ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: api-7d9, uid: r1, controller: true}]
  spec:
    containers:
    - name: api
      image: api:1
      envFrom: [{configMapRef: {name: api-config}}]
    volumes: [{name: data, persistentVolumeClaim: {claimName: api-data}}]
- apiVersion: v1
  kind: Service
  metadata: {name: api, namespace: orders}
  spec: {selector: {app: api}}
- apiVersion: v1
  kind: Service
  metadata: {name: other, namespace: orders}
  spec: {selector: {app: nothing}}
"#;

    fn finding(id: &'static str, objects: &[(Kind, &str)]) -> Finding {
        let mut f = Finding::fail(id, format!("{id} fails"));
        for (kind, name) in objects {
            f.add_object(ObjectRef::new(*kind, NS, name));
        }
        f
    }

    fn graph_of(findings: &[Finding]) -> Graph {
        let snapshot = snapshot(WORLD);
        graph(&Context::new(&snapshot, NS), findings)
    }

    /// The edges as (from, to), sorted: the order follows the registry, which these
    /// tests do not pin.
    fn edge_ids(graph: &Graph) -> Vec<(&str, &str)> {
        let mut ids: Vec<(&str, &str)> = graph.edges.iter().map(|e| (e.from, e.to)).collect();
        ids.sort();
        ids
    }

    #[test]
    fn a_missing_config_map_causes_the_chain_pod_rollout_service() {
        let mut config = finding("container-config", &[(Kind::Pod, "api-7d9-x")]);
        config.add_cause(ObjectRef::new(Kind::ConfigMap, NS, "api-config"));
        let rollout = finding(
            "rollout",
            &[(Kind::Deployment, "api"), (Kind::ReplicaSet, "api-7d9")],
        );
        let endpoints = finding("service-endpoints", &[(Kind::Service, "api")]);
        let graph = graph_of(&[endpoints, rollout, config]);
        assert_eq!(
            edge_ids(&graph),
            vec![
                ("container-config", "rollout"),
                ("container-config", "service-endpoints"),
                ("rollout", "service-endpoints"),
            ]
        );
        let to_rollout = graph.edges.iter().find(|e| e.to == "rollout").unwrap();
        assert!(
            to_rollout
                .via
                .contains(&"pod/api-7d9-x belongs to deployment/api".to_string()),
            "{:?}",
            to_rollout.via
        );
        assert!(!graph.node("container-config").unwrap().symptom);
        assert!(graph.node("rollout").unwrap().symptom);
        assert!(graph.node("service-endpoints").unwrap().symptom);
        let mut reached = graph.descendants("container-config");
        reached.sort();
        assert_eq!(reached, vec!["rollout", "service-endpoints"]);
    }

    #[test]
    fn a_workload_without_pods_still_feeds_the_service_its_template_matches() {
        // A quota refused every pod of `web`: the Service selecting its template's
        // labels has no endpoints because of the rollout, not a selector typo.
        let world = format!(
            "{WORLD}- apiVersion: apps/v1\n  kind: Deployment\n  metadata: {{name: web, namespace: orders}}\n  spec:\n    selector: {{matchLabels: {{app: web}}}}\n    template:\n      metadata: {{labels: {{app: web}}}}\n      spec: {{containers: [{{name: web, image: web:1}}]}}\n- apiVersion: v1\n  kind: Service\n  metadata: {{name: web, namespace: orders}}\n  spec: {{selector: {{app: web}}}}\n"
        );
        let snapshot = snapshot(&world);
        let rollout = finding("rollout", &[(Kind::Deployment, "web")]);
        let endpoints = finding("service-endpoints", &[(Kind::Service, "web")]);
        let graph = graph(&Context::new(&snapshot, NS), &[rollout, endpoints]);
        assert_eq!(edge_ids(&graph), vec![("rollout", "service-endpoints")]);
        assert_eq!(
            graph.edges[0].label,
            "service/web selects the pods of deployment/web"
        );
        // The Service `other` selects nothing the Deployment would run.
        let endpoints = finding("service-endpoints", &[(Kind::Service, "other")]);
        let rollout = finding("rollout", &[(Kind::Deployment, "web")]);
        let graph = super::graph(&Context::new(&snapshot, NS), &[rollout, endpoints]);
        assert!(graph.edges.is_empty());
    }

    #[test]
    fn a_named_cause_links_the_finding_about_that_object() {
        let quota = finding("quota", &[(Kind::ResourceQuota, "q")]);
        let mut rollout = finding("rollout", &[(Kind::Deployment, "api")]);
        rollout.add_cause(ObjectRef::new(Kind::ResourceQuota, NS, "q"));
        let graph = graph_of(&[quota, rollout]);
        assert_eq!(edge_ids(&graph), vec![("quota", "rollout")]);
        assert_eq!(
            graph.edges[0].label,
            "rollout names resourcequota/q as its cause"
        );
        assert!(graph.node("rollout").unwrap().symptom);
    }

    #[test]
    fn a_cause_of_one_object_leaves_the_others_to_their_own_causes() {
        // The quota refused one claim; the other claim waits on a PV that does not fit:
        // the pvc finding is not merely the quota's symptom.
        let quota = finding("quota", &[(Kind::ResourceQuota, "q")]);
        let mut pvc = finding(
            "pvc",
            &[
                (Kind::PersistentVolumeClaim, "a"),
                (Kind::PersistentVolumeClaim, "b"),
            ],
        );
        let a = ObjectRef::new(Kind::PersistentVolumeClaim, NS, "a");
        pvc.add_cause_for(&a, ObjectRef::new(Kind::ResourceQuota, NS, "q"));
        let graph = graph_of(&[quota.clone(), pvc.clone()]);
        assert_eq!(edge_ids(&graph), vec![("quota", "pvc")]);
        assert!(!graph.node("pvc").unwrap().symptom);
        // Had the quota been named for both, pvc would be its symptom.
        let b = ObjectRef::new(Kind::PersistentVolumeClaim, NS, "b");
        pvc.add_cause_for(&b, ObjectRef::new(Kind::ResourceQuota, NS, "q"));
        let graph = graph_of(&[quota, pvc]);
        assert!(graph.node("pvc").unwrap().symptom);
    }

    #[test]
    fn unrelated_failures_stay_separate_root_causes() {
        // The Service `other` selects no pod at all: its own fault, not the pod's.
        let crash = finding("crash-loop", &[(Kind::Pod, "api-7d9-x")]);
        let endpoints = finding("service-endpoints", &[(Kind::Service, "other")]);
        let graph = graph_of(&[crash, endpoints]);
        assert!(graph.edges.is_empty());
        assert!(graph.nodes.iter().all(|n| !n.symptom));
    }

    #[test]
    fn a_partly_explained_finding_is_still_a_cause() {
        // rollout names two Deployments; the crash explains only one of them.
        let crash = finding("crash-loop", &[(Kind::Pod, "api-7d9-x")]);
        let rollout = finding(
            "rollout",
            &[(Kind::Deployment, "api"), (Kind::Deployment, "web")],
        );
        let graph = graph_of(&[crash, rollout]);
        assert_eq!(edge_ids(&graph), vec![("crash-loop", "rollout")]);
        assert!(!graph.node("rollout").unwrap().symptom);
    }

    #[test]
    fn declared_gates_link_the_incident_signals_without_making_symptoms() {
        let quota = finding("quota", &[(Kind::ResourceQuota, "q")]);
        let schema = finding("schema", &[(Kind::ConfigMap, "schema")]);
        let graph = graph_of(&[quota, schema]);
        assert_eq!(edge_ids(&graph), vec![("quota", "schema")]);
        assert!(graph.edges[0].via.is_empty());
        assert!(!graph.node("schema").unwrap().symptom);
    }

    #[test]
    fn a_claim_gates_only_the_pods_that_mount_it() {
        let pods = finding("init-container", &[(Kind::Pod, "api-7d9-x")]);
        // `reports-scratch` is mounted by no failing pod: no gate, whatever the table says.
        let elsewhere = finding("pvc", &[(Kind::PersistentVolumeClaim, "reports-scratch")]);
        let graph = graph_of(&[elsewhere, pods.clone()]);
        assert!(edge_ids(&graph).is_empty(), "{:?}", graph.edges);
        let mounted = finding("pvc", &[(Kind::PersistentVolumeClaim, "api-data")]);
        let graph = graph_of(&[mounted, pods]);
        assert_eq!(edge_ids(&graph), vec![("pvc", "init-container")]);
        assert_eq!(graph.edges[0].label, "the pod cannot mount its volume");
    }

    #[test]
    fn a_policy_gates_only_the_pods_it_isolates() {
        let pods = finding("init-container", &[(Kind::Pod, "api-7d9-x")]);
        // WORLD holds no policy `deny`: it isolates no pod of it, so no gate.
        let elsewhere = finding("egress", &[(Kind::NetworkPolicy, "deny")]);
        let graph = graph_of(&[elsewhere, pods.clone()]);
        assert!(edge_ids(&graph).is_empty(), "{:?}", graph.edges);
        // An egress finding naming no policy cannot be checked: the gate holds.
        let unnamed = finding("egress", &[]);
        let graph = graph_of(&[unnamed, pods]);
        assert_eq!(edge_ids(&graph), vec![("egress", "init-container")]);
        assert_eq!(
            graph.edges[0].label,
            "blocks the pod from reaching DNS and the database"
        );
    }
}
