//! `unschedulable`: pods the scheduler cannot place. Keys on the pod condition
//! `PodScheduled=False` with reason `Unschedulable` (the scheduler's
//! `v1.PodReasonUnschedulable`), older than [`STARTUP_GRACE`]: a pod waiting a few
//! seconds for a node is normal start-up. The scheduler's message is parsed into its
//! reasons with node counts and classified by the plugin that wrote them.
//! https://kubernetes.io/docs/concepts/scheduling-eviction/kube-scheduler/
//!
//! The message is `FitError.Error()` (pkg/scheduler/framework/types.go, used by
//! schedule_one.go): `0/N nodes are available: <PreFilterMsg>. <FilterMsg>. <PostFilterMsg>.`
//! where FilterMsg is the sorted histogram `"<count> <reason>"` joined with `", "`, a
//! PreFilter rejection (unbound immediate claims, a missing claim) has no count because
//! it rejects every node, and PostFilterMsg is preemption's own
//! `preemption: 0/N nodes are available: ...`. The reasons are the plugins' ErrReason
//! strings in pkg/scheduler/framework/plugins/*:
//! - noderesources/fit.go: `Insufficient <resource>`, `Too many pods`;
//! - tainttoleration: `node(s) had untolerated taint {key: value}` (before 1.25:
//!   `node(s) had taint {key: value}, that the pod didn't tolerate`);
//! - nodeaffinity `ErrReasonPod`: `node(s) didn't match Pod's node affinity/selector`;
//! - nodeunschedulable: `node(s) were unschedulable` (cordoned);
//! - volumebinding: `pod has unbound immediate PersistentVolumeClaims`,
//!   `persistentvolumeclaim "x" not found`, `node(s) had volume node affinity conflict`
//!   (newer: `node(s) didn't match PersistentVolume's node affinity`),
//!   `node(s) didn't find available persistent volumes to bind`;
//! - podtopologyspread: `node(s) didn't match pod topology spread constraints`;
//! - interpodaffinity: `node(s) didn't match pod affinity rules`,
//!   `node(s) didn't match pod anti-affinity rules`,
//!   `node(s) didn't satisfy existing pods anti-affinity rules`;
//! - nodeports: `node(s) didn't have free ports for the requested pod ports`.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Pod;
use serde::Serialize;

use crate::finding::{Context, Evidence, Finding, ObjectRef, STARTUP_GRACE, Status};
use crate::k8s::workload;
use crate::signals::Signal;
use crate::snapshot::{HasMeta, Kind, in_namespace};

pub struct Unschedulable;

pub const ID: &str = "unschedulable";

/// Taints every control-plane node carries (kubeadm): a pod that cannot go anywhere
/// else is rarely meant to tolerate them, so they are reported but not the fix.
const CONTROL_PLANE_TAINTS: [&str; 2] = [
    "node-role.kubernetes.io/control-plane",
    "node-role.kubernetes.io/master",
];

/// Which scheduler plugin refused the nodes, as a stable kebab-case class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Class {
    InsufficientCpu,
    InsufficientMemory,
    InsufficientPods,
    InsufficientResource,
    NodeSelector,
    UntoleratedTaint,
    UnboundClaim,
    MissingClaim,
    VolumeNodeAffinity,
    Volume,
    TopologySpread,
    PodAffinity,
    PodAntiAffinity,
    NodeUnschedulable,
    NodePorts,
    Other,
}

/// One reason of the scheduler's message.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Reason {
    pub reason: String,
    /// How many nodes it ruled out (a PreFilter rejection rules out every node).
    pub nodes: Option<u32>,
    pub class: Class,
}

/// The scheduler's message, structured.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SchedulerMessage {
    pub total_nodes: Option<u32>,
    pub reasons: Vec<Reason>,
    /// PostFilter's `preemption: ...` tail, kept for the evidence only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preemption: Option<String>,
}

/// One unschedulable pod.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Failing {
    pub pod: String,
    /// `deployment/api`, `statefulset/db`, ... when an owner is known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workload: Option<String>,
    /// Seconds since the condition (else the pod) was last changed, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pending_seconds: Option<i64>,
    pub message: String,
    pub total_nodes: Option<u32>,
    pub reasons: Vec<Reason>,
    /// Summed container requests (resource -> quantity text, per container joined
    /// with `+`), shown when a reason is an insufficient resource.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub requests: BTreeMap<String, String>,
    /// Claims the scheduler waits for (unbound or missing).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub claims: Vec<String>,
}

/// Its section of `docs/signals.md`.
const DOCS: &str = r#"
Keys on pods with condition `PodScheduled=False` reason `Unschedulable` (not yet bound to
a node) whose condition `lastTransitionTime` (else creation) is older than the 120 s
start-up grace. [kube-scheduler](https://kubernetes.io/docs/concepts/scheduling-eviction/kube-scheduler/).
The scheduler's message (`FitError.Error()`: `0/N nodes are available: <PreFilter>.
<count reason, ...>. preemption: ...`) is parsed into reasons with node counts (a
PreFilter rejection counts every node; the `preemption:` tail is kept as evidence only)
and classified by plugin: insufficient cpu/memory/pods/other resource (noderesources),
node selector/affinity, untolerated taint, unbound immediate claims and missing claims
(volumebinding), volume node affinity, topology spread, pod (anti-)affinity, cordoned
nodes, host ports. Evidence: the condition with its message, FailedScheduling events,
the container requests for insufficient resources. Causes: the claim named `not found`,
and for unbound immediate claims every mounted claim that is not Bound. Fix per class
(`kubectl set resources ... --requests`, `kubectl label node`, a toleration, bind or
create the claim, `kubectl uncordon`, ...); a control-plane taint next to another reason
is not the fix. Look-alikes: a pod unschedulable for less than the grace, a scheduled
pod, another namespace's pod.
"#;

impl Signal for Unschedulable {
    fn id(&self) -> &'static str {
        ID
    }

    fn title(&self) -> &'static str {
        "pods can be scheduled"
    }

    fn reads(&self) -> &'static [Kind] {
        &[
            Kind::Pod,
            Kind::PersistentVolumeClaim,
            Kind::ReplicaSet,
            Kind::Event,
        ]
    }

    fn docs(&self) -> &'static str {
        DOCS
    }

    fn evaluate(&self, context: &Context) -> Finding {
        let mut finding = Finding::ok(ID, "");
        let mut failing = Vec::new();
        let mut fixes: Vec<String> = Vec::new();
        let mut apps = Vec::new();
        let mut recent = Vec::new();
        for pod in in_namespace(&context.snapshot.pods, context.namespace) {
            // A pod being deleted will never be scheduled, nor needs to be.
            if pod.metadata.deletion_timestamp.is_some() {
                continue;
            }
            let Some((index, since)) = unschedulable_condition(pod) else {
                continue;
            };
            let age = context
                .age(since)
                .or_else(|| context.age(pod.metadata.creation_timestamp.as_ref()));
            // NB: without a capture time the age is unknown; the scheduler already said
            // Unschedulable, so it is reported rather than hidden.
            if age.is_some_and(|a| a < STARTUP_GRACE) {
                recent.push(pod.name().to_string());
                continue;
            }
            let item = describe(context, pod, index, age, &mut finding);
            fixes.extend(fixes_for(context, pod, &item));
            apps.extend(context.app_of(&pod.metadata));
            failing.push(item);
        }
        if failing.is_empty() {
            finding.summary = if recent.is_empty() {
                "every pod is scheduled or schedulable".to_string()
            } else {
                format!(
                    "no pod unschedulable beyond the {}s start-up grace (`{}` waiting for a node)",
                    STARTUP_GRACE.as_secs(),
                    recent.join("`, `")
                )
            };
            return finding;
        }
        finding.status = Status::Fail;
        finding.scope = context.scope(apps);
        finding.summary = failing
            .iter()
            .map(|f| {
                let reasons = f
                    .reasons
                    .iter()
                    .map(|r| match r.nodes {
                        Some(n) => format!("{n} {}", r.reason),
                        None => r.reason.clone(),
                    })
                    .collect::<Vec<_>>()
                    .join(", ");
                let nodes = f
                    .total_nodes
                    .map_or(String::new(), |n| format!("0/{n} nodes: "));
                format!("pod `{}` unschedulable ({nodes}{reasons})", f.pod)
            })
            .collect::<Vec<_>>()
            .join("; ");
        let mut seen = Vec::new();
        fixes.retain(|f| {
            let new = !seen.contains(f);
            seen.push(f.clone());
            new
        });
        finding.fix = Some(fixes.join("; "));
        finding.objects.sort();
        finding.caused_by.sort();
        finding.detail("failing", &failing);
        finding
    }
}

/// The index and lastTransitionTime of a `PodScheduled=False/Unschedulable` condition.
/// A pod already bound to a node (`spec.nodeName`) is past scheduling.
fn unschedulable_condition(
    pod: &Pod,
) -> Option<(
    usize,
    Option<&k8s_openapi::apimachinery::pkg::apis::meta::v1::Time>,
)> {
    if pod
        .spec
        .as_ref()
        .and_then(|s| s.node_name.as_deref())
        .is_some_and(|n| !n.is_empty())
    {
        return None;
    }
    let conditions = pod.status.as_ref()?.conditions.as_deref()?;
    conditions
        .iter()
        .enumerate()
        .find(|(_, c)| {
            c.type_ == "PodScheduled"
                && c.status == "False"
                && c.reason.as_deref() == Some("Unschedulable")
        })
        .map(|(index, c)| (index, c.last_transition_time.as_ref()))
}

fn describe(
    context: &Context,
    pod: &Pod,
    index: usize,
    age: Option<jiff::SignedDuration>,
    finding: &mut Finding,
) -> Failing {
    let object = ObjectRef::of(Kind::Pod, pod);
    finding.add_object(object.clone());
    let condition = pod
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_deref())
        .and_then(|c| c.get(index));
    let events: Vec<_> = context
        .warnings_for(Kind::Pod, pod.name())
        .into_iter()
        .filter(|e| e.reason.as_deref() == Some("FailedScheduling"))
        .collect();
    // The condition carries the latest message; the newest FailedScheduling event
    // says the same when the condition's message is empty.
    let message = condition
        .and_then(|c| c.message.clone())
        .filter(|m| !m.trim().is_empty())
        .or_else(|| events.last().and_then(|e| e.message.clone()))
        .unwrap_or_default()
        .trim()
        .to_string();
    finding.evidence.push(Evidence::field_note(
        &object,
        format!("status.conditions[{index}].reason"),
        "Unschedulable",
        if message.is_empty() {
            "PodScheduled=False, no scheduler message".to_string()
        } else {
            message.clone()
        },
    ));
    for event in &events {
        finding.evidence.push(Evidence::event(event));
    }
    let parsed = parse_message(&message);
    let mut requests = BTreeMap::new();
    if parsed.reasons.iter().any(|r| {
        matches!(
            r.class,
            Class::InsufficientCpu | Class::InsufficientMemory | Class::InsufficientResource
        )
    }) {
        let wanted: Vec<String> = parsed
            .reasons
            .iter()
            .filter_map(|r| r.reason.strip_prefix("Insufficient ").map(str::to_string))
            .collect();
        let containers = pod
            .spec
            .as_ref()
            .map(|s| s.containers.as_slice())
            .unwrap_or_default();
        for (i, container) in containers.iter().enumerate() {
            let Some(container_requests) = container
                .resources
                .as_ref()
                .and_then(|r| r.requests.as_ref())
            else {
                continue;
            };
            for resource in &wanted {
                if let Some(quantity) = container_requests.get(resource) {
                    finding.evidence.push(Evidence::field_note(
                        &object,
                        format!("spec.containers[{i}].resources.requests.{resource}"),
                        quantity.0.clone(),
                        format!("container `{}`", container.name),
                    ));
                    requests
                        .entry(resource.clone())
                        .and_modify(|t: &mut String| {
                            t.push('+');
                            t.push_str(&quantity.0);
                        })
                        .or_insert_with(|| quantity.0.clone());
                }
            }
        }
    }
    let claims = waited_claims(context, pod, &parsed);
    for claim in &claims {
        finding.add_cause(ObjectRef::new(
            Kind::PersistentVolumeClaim,
            context.namespace,
            claim,
        ));
    }
    Failing {
        pod: pod.name().to_string(),
        workload: workload::workload_of(context.snapshot, pod)
            .map(|(kind, name)| workload::kubectl_name(kind, &name)),
        pending_seconds: age.map(|a| a.as_secs()),
        message,
        total_nodes: parsed.total_nodes,
        reasons: parsed.reasons,
        requests,
        claims,
    }
}

/// The claims the scheduler waits for: the one named `not found`, and for
/// `unbound immediate PersistentVolumeClaims` every claim the pod mounts that is not
/// Bound (or not in the snapshot).
fn waited_claims(context: &Context, pod: &Pod, parsed: &SchedulerMessage) -> Vec<String> {
    let mut claims = Vec::new();
    for reason in &parsed.reasons {
        match reason.class {
            Class::MissingClaim => claims.extend(quoted(&reason.reason)),
            Class::UnboundClaim => {
                let mounted = pod
                    .spec
                    .as_ref()
                    .and_then(|s| s.volumes.as_deref())
                    .unwrap_or_default()
                    .iter()
                    .filter_map(|v| v.persistent_volume_claim.as_ref())
                    .map(|c| c.claim_name.clone());
                for name in mounted {
                    let bound = in_namespace(
                        &context.snapshot.persistent_volume_claims,
                        context.namespace,
                    )
                    .into_iter()
                    .find(|c| c.name() == name)
                    .and_then(|c| c.status.as_ref())
                    .and_then(|s| s.phase.as_deref())
                        == Some("Bound");
                    if !bound {
                        claims.push(name);
                    }
                }
            }
            _ => {}
        }
    }
    claims.sort();
    claims.dedup();
    claims
}

/// The text between the first pair of double quotes.
fn quoted(text: &str) -> Option<String> {
    let start = text.find('"')? + 1;
    let len = text[start..].find('"')?;
    Some(text[start..start + len].to_string())
}

/// Parses `FitError.Error()`; anything else becomes one `Other` reason.
pub fn parse_message(message: &str) -> SchedulerMessage {
    let message = message.trim();
    let (head, preemption) = match message.find(" preemption: ") {
        Some(at) => (&message[..at], Some(message[at + 1..].trim().to_string())),
        None => (message, None),
    };
    let mut total_nodes = None;
    let mut body = head;
    if let Some(rest) = head.strip_prefix("0/")
        && let Some((count, after)) = rest.split_once(" nodes are available:")
    {
        total_nodes = count.trim().parse().ok();
        body = after;
    }
    let body = body.trim().trim_end_matches('.');
    let mut reasons = Vec::new();
    // PreFilter, Filter (and, without the preemption tail, PostFilter) parts are
    // separated by `. `; none of the plugins' reasons contains one.
    for sentence in body.split(". ").map(str::trim).filter(|s| !s.is_empty()) {
        for item in split_items(sentence) {
            let (nodes, reason) = match item.split_once(' ') {
                Some((n, rest)) if n.chars().all(|c| c.is_ascii_digit()) => {
                    (n.parse().ok(), rest.to_string())
                }
                // A PreFilter rejection: every node.
                _ => (total_nodes, item.clone()),
            };
            let class = classify(&reason);
            reasons.push(Reason {
                reason,
                nodes,
                class,
            });
        }
    }
    SchedulerMessage {
        total_nodes,
        reasons,
        preemption,
    }
}

/// Splits a histogram on `, ` only before a `<count> ` item: the pre-1.25 taint
/// reason (`had taint {k: v}, that the pod didn't tolerate`) contains a comma.
fn split_items(sentence: &str) -> Vec<String> {
    let mut items: Vec<String> = Vec::new();
    for part in sentence.split(", ") {
        let counted = part
            .split_once(' ')
            .is_some_and(|(n, _)| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()));
        match items.last_mut() {
            Some(last) if !counted => {
                last.push_str(", ");
                last.push_str(part);
            }
            _ => items.push(part.to_string()),
        }
    }
    items
}

fn classify(reason: &str) -> Class {
    let lower = reason.to_ascii_lowercase();
    if let Some(resource) = lower.strip_prefix("insufficient ") {
        return match resource.trim() {
            "cpu" => Class::InsufficientCpu,
            "memory" => Class::InsufficientMemory,
            "pods" => Class::InsufficientPods,
            _ => Class::InsufficientResource,
        };
    }
    let has = |needle: &str| lower.contains(needle);
    if has("too many pods") {
        Class::InsufficientPods
    } else if has("untolerated taint") || (has("had taint") && has("didn't tolerate")) {
        Class::UntoleratedTaint
    } else if has("unbound immediate persistentvolumeclaims") {
        Class::UnboundClaim
    } else if lower.starts_with("persistentvolumeclaim \"") && has("not found") {
        Class::MissingClaim
    } else if has("volume node affinity conflict") || has("persistentvolume's node affinity") {
        Class::VolumeNodeAffinity
    } else if has("persistent volumes to bind")
        || has("enough free storage")
        || has("non-existent pv")
        || has("max volume count")
    {
        Class::Volume
    } else if has("node affinity/selector")
        || has("match node selector")
        || has("scheduler-enforced node affinity")
        || has("requested node name")
    {
        Class::NodeSelector
    } else if has("topology spread constraints") {
        Class::TopologySpread
    } else if has("anti-affinity") {
        Class::PodAntiAffinity
    } else if has("pod affinity") {
        Class::PodAffinity
    } else if has("were unschedulable") {
        Class::NodeUnschedulable
    } else if has("free ports") {
        Class::NodePorts
    } else {
        Class::Other
    }
}

/// The taint key of `{key: value}` in a taint reason.
fn taint_key(reason: &str) -> Option<&str> {
    let start = reason.find('{')? + 1;
    let end = reason[start..].find(':')? + start;
    Some(reason[start..end].trim())
}

/// One line of repair per reason class, most specific first. A control-plane taint
/// next to another reason is not the fix: the other reason is.
fn fixes_for(context: &Context, pod: &Pod, item: &Failing) -> Vec<String> {
    let target = item
        .workload
        .clone()
        .unwrap_or_else(|| format!("pod/{}", pod.name()));
    let spec = pod.spec.as_ref();
    let only_control_plane_taints = item.reasons.iter().all(|r| {
        r.class == Class::UntoleratedTaint
            && taint_key(&r.reason).is_some_and(|k| CONTROL_PLANE_TAINTS.contains(&k))
    });
    let mut classes: Vec<&Reason> = item.reasons.iter().collect();
    classes.sort_by_key(|r| r.class);
    let mut fixes = Vec::new();
    for reason in classes {
        let fix = match reason.class {
            Class::InsufficientCpu | Class::InsufficientMemory | Class::InsufficientResource => {
                let resource = reason
                    .reason
                    .strip_prefix("Insufficient ")
                    .unwrap_or("cpu")
                    .to_string();
                let asked = item
                    .requests
                    .get(&resource)
                    .map_or(String::new(), |q| format!(" (requests {q})"));
                format!(
                    "lower the {resource} requests of `{target}`{asked} (`kubectl set resources {target} --requests={resource}=<lower> -n {}`) or add nodes with free {resource}",
                    context.namespace
                )
            }
            Class::InsufficientPods => {
                "every node is at its pod limit: add nodes or free pods".to_string()
            }
            Class::NodeSelector => {
                let selector = spec
                    .and_then(|s| s.node_selector.as_ref())
                    .map(|m| {
                        m.iter()
                            .map(|(k, v)| format!("{k}={v}"))
                            .collect::<Vec<_>>()
                            .join(" ")
                    })
                    .filter(|s| !s.is_empty());
                match selector {
                    Some(labels) => format!(
                        "fix the nodeSelector/affinity of `{target}` or label a node to match (`kubectl label node <node> {labels}`)"
                    ),
                    None => format!(
                        "fix the required node affinity of `{target}` (spec.template.spec.affinity.nodeAffinity) or label a node to match"
                    ),
                }
            }
            Class::UntoleratedTaint => {
                let key = taint_key(&reason.reason).unwrap_or("<key>");
                if CONTROL_PLANE_TAINTS.contains(&key) && !only_control_plane_taints {
                    continue;
                }
                format!(
                    "add a toleration for taint `{key}` to `{target}` (spec.template.spec.tolerations) or remove it (`kubectl taint nodes <node> {key}-`)"
                )
            }
            Class::UnboundClaim | Class::MissingClaim => {
                if item.claims.is_empty() {
                    format!(
                        "bind the claims `{target}` mounts (`kubectl get pvc -n {}`)",
                        context.namespace
                    )
                } else if reason.class == Class::MissingClaim {
                    format!(
                        "create PersistentVolumeClaim `{}` (`kubectl apply -n {} -f <claim>.yaml`) or fix the claimName in `{target}`",
                        item.claims.join("`, `"),
                        context.namespace
                    )
                } else {
                    format!(
                        "bind claim `{}` (see the pvc signal: `kubectl describe pvc {} -n {}`)",
                        item.claims.join("`, `"),
                        item.claims.join(" "),
                        context.namespace
                    )
                }
            }
            Class::VolumeNodeAffinity => format!(
                "the volume of `{target}` is pinned to nodes the pod cannot use: schedule it where the volume is, or recreate the claim with a WaitForFirstConsumer class"
            ),
            Class::Volume => {
                "no PersistentVolume fits the claim on any node: provision one (`kubectl get pv`)"
                    .to_string()
            }
            Class::TopologySpread => format!(
                "relax the topologySpreadConstraints of `{target}` (whenUnsatisfiable: ScheduleAnyway) or add nodes in the missing domains"
            ),
            Class::PodAffinity | Class::PodAntiAffinity => format!(
                "relax the required pod (anti-)affinity of `{target}` to preferredDuringScheduling, or add nodes"
            ),
            Class::NodeUnschedulable => {
                "uncordon the cordoned nodes (`kubectl uncordon <node>`) or add nodes".to_string()
            }
            Class::NodePorts => {
                format!("drop or change the hostPort of `{target}`: every node's port is taken")
            }
            Class::Other => format!(
                "read the scheduler's reason (`kubectl describe pod {} -n {}`)",
                pod.name(),
                context.namespace
            ),
        };
        fixes.push(fix);
    }
    fixes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::Scope;
    use crate::signals::test_support::evaluate;

    const CAPTURED: &str = "2024-11-18T23:30:00Z";

    /// A pod unschedulable since `since`, with `message`, plus an event that pins the
    /// capture time.
    fn pending_pod(name: &str, since: &str, message: &str, extra_spec: &str) -> String {
        // Single-quoted YAML: a quote is written twice.
        let message = message.replace('\'', "''");
        format!(
            r#"- apiVersion: v1
  kind: Pod
  metadata:
    name: {name}
    namespace: app
    creationTimestamp: "{since}"
    labels: {{app.kubernetes.io/name: api}}
    ownerReferences: [{{apiVersion: apps/v1, kind: ReplicaSet, name: api-5d8, uid: r1, controller: true}}]
  spec:
    containers:
    - name: api
      image: x
      resources: {{requests: {{cpu: "4", memory: 8Gi}}}}
{extra_spec}
  status:
    phase: Pending
    conditions:
    - type: PodScheduled
      status: "False"
      reason: Unschedulable
      lastTransitionTime: "{since}"
      message: '{message}'
"#
        )
    }

    fn list(items: &[String]) -> String {
        format!(
            r#"apiVersion: v1
kind: List
items:
- apiVersion: apps/v1
  kind: ReplicaSet
  metadata:
    name: api-5d8
    namespace: app
    ownerReferences: [{{apiVersion: apps/v1, kind: Deployment, name: api, uid: d1, controller: true}}]
  spec: {{selector: {{matchLabels: {{app: api}}}}}}
- apiVersion: v1
  kind: Event
  metadata: {{name: clock, namespace: app}}
  involvedObject: {{kind: ConfigMap, name: x, namespace: app}}
  reason: Clock
  type: Normal
  lastTimestamp: "{CAPTURED}"
{}"#,
            items.join("")
        )
    }

    const CPU_AND_TAINT: &str = "0/3 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }, 2 Insufficient cpu. preemption: 0/3 nodes are available: 1 Preemption is not helpful for scheduling, 2 No preemption victims found for incoming pod.";

    #[test]
    fn parses_the_fit_error_into_reasons_with_node_counts() {
        let parsed = parse_message(CPU_AND_TAINT);
        assert_eq!(parsed.total_nodes, Some(3));
        assert_eq!(
            parsed.reasons,
            vec![
                Reason {
                    reason:
                        "node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }"
                            .into(),
                    nodes: Some(1),
                    class: Class::UntoleratedTaint,
                },
                Reason {
                    reason: "Insufficient cpu".into(),
                    nodes: Some(2),
                    class: Class::InsufficientCpu,
                },
            ]
        );
        assert!(
            parsed
                .preemption
                .as_deref()
                .is_some_and(|p| p.starts_with("preemption: 0/3 nodes"))
        );
    }

    #[test]
    fn parses_prefilter_and_old_style_reasons() {
        let parsed = parse_message(
            "0/2 nodes are available: pod has unbound immediate PersistentVolumeClaims. preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling.",
        );
        assert_eq!(parsed.total_nodes, Some(2));
        assert_eq!(parsed.reasons.len(), 1);
        assert_eq!(parsed.reasons[0].class, Class::UnboundClaim);
        assert_eq!(parsed.reasons[0].nodes, Some(2));

        let old = parse_message(
            "0/4 nodes are available: 1 node(s) had taint {dedicated: gpu}, that the pod didn't tolerate, 3 node(s) didn't match node selector.",
        );
        assert_eq!(
            old.reasons
                .iter()
                .map(|r| (r.class, r.nodes))
                .collect::<Vec<_>>(),
            vec![
                (Class::UntoleratedTaint, Some(1)),
                (Class::NodeSelector, Some(3))
            ]
        );
        let classes: Vec<Class> = parse_message(
            "0/6 nodes are available: 1 Too many pods, 1 node(s) didn't match pod topology spread constraints, 1 node(s) didn't match pod anti-affinity rules, 1 node(s) had volume node affinity conflict, 1 node(s) were unschedulable, 1 Insufficient nvidia.com/gpu.",
        )
        .reasons
        .iter()
        .map(|r| r.class)
        .collect();
        assert_eq!(
            classes,
            vec![
                Class::InsufficientPods,
                Class::TopologySpread,
                Class::PodAntiAffinity,
                Class::VolumeNodeAffinity,
                Class::NodeUnschedulable,
                Class::InsufficientResource
            ]
        );
        let other = parse_message("no nodes available to schedule pods");
        assert_eq!(other.total_nodes, None);
        assert_eq!(other.reasons[0].class, Class::Other);
    }

    #[test]
    fn pod_unschedulable_for_insufficient_cpu_fails_with_requests_and_fix() {
        let text = list(&[pending_pod(
            "api-5d8-x1",
            "2024-11-18T23:00:00Z",
            CPU_AND_TAINT,
            "",
        )]);
        let finding = evaluate(&Unschedulable, &text, "app");
        assert_eq!(finding.status, Status::Fail, "{finding:?}");
        assert_eq!(
            finding.objects,
            vec![ObjectRef::new(Kind::Pod, "app", "api-5d8-x1")]
        );
        assert!(finding.caused_by.is_empty());
        assert_eq!(finding.scope, Scope::Apps(vec!["api".into()]));
        assert!(
            finding.summary.contains(
                "pod `api-5d8-x1` unschedulable (0/3 nodes: 1 node(s) had untolerated taint"
            ),
            "{}",
            finding.summary
        );
        let fix = finding.fix.clone().unwrap();
        assert!(
            fix.contains("kubectl set resources deployment/api --requests=cpu=<lower> -n app"),
            "{fix}"
        );
        assert!(fix.contains("(requests 4)"), "{fix}");
        // The control-plane taint is noise next to the real reason.
        assert!(!fix.contains("toleration"), "{fix}");
        assert!(finding.evidence.iter().any(|e| e.short()
            == "pod/api-5d8-x1 spec.containers[0].resources.requests.cpu=4 (container `api`)"));
        let failing = &finding.details["failing"][0];
        assert_eq!(failing["workload"], "deployment/api");
        assert_eq!(failing["pendingSeconds"], 1800);
        assert_eq!(failing["totalNodes"], 3);
        assert_eq!(failing["reasons"][1]["class"], "insufficient-cpu");
        assert_eq!(failing["reasons"][1]["nodes"], 2);
        assert_eq!(failing["requests"]["cpu"], "4");
    }

    #[test]
    fn unbound_and_missing_claims_are_named_as_causes() {
        let volumes = "    volumes:\n    - {name: data, persistentVolumeClaim: {claimName: data-pending}}\n    - {name: logs, persistentVolumeClaim: {claimName: logs-bound}}";
        let claims = r#"- apiVersion: v1
  kind: PersistentVolumeClaim
  metadata: {name: data-pending, namespace: app}
  spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
  status: {phase: Pending}
- apiVersion: v1
  kind: PersistentVolumeClaim
  metadata: {name: logs-bound, namespace: app}
  spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
  status: {phase: Bound}
"#;
        let text = list(&[
            pending_pod(
                "api-5d8-x1",
                "2024-11-18T23:00:00Z",
                "0/3 nodes are available: pod has unbound immediate PersistentVolumeClaims. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.",
                volumes,
            ),
            pending_pod(
                "api-5d8-x2",
                "2024-11-18T23:00:00Z",
                r#"0/3 nodes are available: persistentvolumeclaim "cache" not found. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling."#,
                "",
            ),
            claims.to_string(),
        ]);
        let finding = evaluate(&Unschedulable, &text, "app");
        assert_eq!(finding.status, Status::Fail);
        assert_eq!(
            finding.caused_by,
            vec![
                ObjectRef::new(Kind::PersistentVolumeClaim, "app", "cache"),
                ObjectRef::new(Kind::PersistentVolumeClaim, "app", "data-pending"),
            ]
        );
        assert_eq!(finding.objects.len(), 2);
        let fix = finding.fix.unwrap();
        assert!(fix.contains("bind claim `data-pending`"), "{fix}");
        assert!(
            fix.contains("create PersistentVolumeClaim `cache`"),
            "{fix}"
        );
        assert!(!fix.contains("logs-bound"), "{fix}");
    }

    #[test]
    fn selector_and_taint_fixes_name_the_labels_and_key() {
        let text = list(&[pending_pod(
            "api-5d8-x1",
            "2024-11-18T23:00:00Z",
            "0/3 nodes are available: 1 node(s) had untolerated taint {dedicated: gpu}, 2 node(s) didn't match Pod's node affinity/selector. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.",
            "    nodeSelector: {disktype: ssd}",
        )]);
        let finding = evaluate(&Unschedulable, &text, "app");
        let fix = finding.fix.unwrap();
        assert!(
            fix.contains("kubectl label node <node> disktype=ssd"),
            "{fix}"
        );
        assert!(fix.contains("toleration for taint `dedicated`"), "{fix}");
    }

    #[test]
    fn look_alikes_stay_green() {
        // Pending for 30 seconds: the scheduler is still retrying.
        let fresh = pending_pod("api-5d8-new", "2024-11-18T23:29:30Z", CPU_AND_TAINT, "");
        // Scheduled and running; an old FailedScheduling condition has been replaced.
        let running = r#"- apiVersion: v1
  kind: Pod
  metadata: {name: web-1, namespace: app, creationTimestamp: "2024-11-18T20:00:00Z"}
  spec: {nodeName: node-1, containers: [{name: web, image: x}]}
  status:
    phase: Running
    conditions: [{type: PodScheduled, status: "True", lastTransitionTime: "2024-11-18T20:00:01Z"}]
"#
        .to_string();
        // Another namespace's unschedulable pod is not this namespace's fault.
        let elsewhere = pending_pod("api-5d8-x1", "2024-11-18T23:00:00Z", CPU_AND_TAINT, "")
            .replace("namespace: app", "namespace: other");
        // Being deleted: it will never be scheduled, nor needs to be.
        let deleting = pending_pod("api-5d8-old", "2024-11-18T23:00:00Z", CPU_AND_TAINT, "")
            .replace(
                "    namespace: app\n",
                "    namespace: app\n    deletionTimestamp: \"2024-11-18T23:01:00Z\"\n",
            );
        let text = list(&[fresh, running, elsewhere, deleting]);
        let finding = evaluate(&Unschedulable, &text, "app");
        assert_eq!(finding.status, Status::Ok, "{finding:?}");
        assert!(
            finding.summary.contains("`api-5d8-new` waiting for a node"),
            "{}",
            finding.summary
        );
        assert!(finding.objects.is_empty());
    }
}
