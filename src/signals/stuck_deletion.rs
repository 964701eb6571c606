//! `stuck-deletion`: objects deleted more than [`STUCK_AFTER`] before the capture and
//! still present, held by finalizers (or, for a pod without any, by a kubelet that never
//! confirmed its containers stopped). Every kind counts: the typed ones, the raw ones
//! (custom resources), and the Namespace itself, whose `NamespaceDeletionContentFailure`,
//! `NamespaceFinalizersRemaining` and `NamespaceContentRemaining` conditions say what
//! the namespace controller is waiting for.
//! https://kubernetes.io/docs/concepts/overview/working-with-objects/finalizers/,
//! https://kubernetes.io/docs/concepts/architecture/garbage-collection/#foreground-deletion
//!
//! For each finalizer it says who could remove it (`crate::k8s::finalizers`): a built-in
//! controller and what it waits for (the pods still mounting a protected claim, the
//! dependents a foreground deletion waits for, the content of a terminating namespace),
//! or, for a custom one, a workload whose name matches the finalizer's domain; else "no
//! controller for it in this namespace". Look-alike: an object deleted seconds ago is
//! just being cleaned up.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::Serialize;

use crate::finding::{Context, Evidence, Finding, ObjectRef, Status};
use crate::k8s::finalizers;
use crate::k8s::kubectl_style::human_duration;
use crate::signals::{RawReads, Signal};
use crate::snapshot::{HasMeta, Kind, in_namespace};

pub struct StuckDeletion;

pub const ID: &str = "stuck-deletion";

/// Deletion takes seconds when nothing holds it (a pod's grace period is already in its
/// deletionTimestamp); five minutes on means something is stuck.
pub const STUCK_AFTER: jiff::SignedDuration = jiff::SignedDuration::from_secs(300);

/// Namespace conditions that explain a stuck namespace deletion (pkg/controller/namespace/deletion).
const NAMESPACE_CONDITIONS: [&str; 3] = [
    "NamespaceDeletionContentFailure",
    "NamespaceFinalizersRemaining",
    "NamespaceContentRemaining",
];

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Stuck {
    pub kind: String,
    pub name: String,
    pub deletion_timestamp: String,
    /// How long ago, as kubectl prints ages.
    pub deleted_ago: String,
    pub holds: Vec<Hold>,
}

/// One finalizer (or the kubelet) holding an object, and who could let go.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Hold {
    pub finalizer: String,
    /// The component or workload that removes it, or `no controller for it in this namespace`.
    pub removed_by: String,
    /// What it waits for, when known (`pod/a`, `job/b`, ...).
    pub waiting_for: Vec<String>,
    /// Whether something in the snapshot can remove it: a built-in controller, or a
    /// matching workload with a ready replica.
    pub controller_present: bool,
}

/// An object under deletion, whatever its kind.
struct Deleting {
    object: ObjectRef,
    /// What kubectl calls it (`persistentvolumeclaim`, `widget.example.com`).
    resource: String,
    meta: ObjectMeta,
    /// The Namespace's `spec.finalizers`.
    spec_finalizers: Vec<String>,
    /// The Namespace's deletion conditions: (index, type, message).
    conditions: Vec<(usize, String, String)>,
}

/// Its section of `docs/signals.md`.
const DOCS: &str = r#"
Generic (no profile). Every object of the namespace (typed kinds, raw ones such as custom
resources, and the Namespace itself) whose `metadata.deletionTimestamp` is more than five
minutes before the capture time. For each finalizer (the Namespace's `spec.finalizers`
included) it says who removes it (`src/k8s/finalizers.rs`): a built-in controller and what it
waits for (`kubernetes.io/pvc-protection`: the pods still using the claim;
`foregroundDeletion`: the dependents; the namespace's `kubernetes`: its remaining content,
with its `NamespaceContentRemaining`/`NamespaceFinalizersRemaining`/`NamespaceDeletionContentFailure`
conditions), or for a custom finalizer a workload whose name matches the finalizer's domain
and looks like a controller, else "no controller for it in this namespace". A pod with no
finalizer waits for its kubelet (node down). Those pods and dependents are its causes.
[Finalizers](https://kubernetes.io/docs/concepts/overview/working-with-objects/finalizers/).
Fix: remove what it waits for; as a last resort, after confirming the controller is gone,
`kubectl patch KIND NAME --type=json -p='[{"op":"remove","path":"/metadata/finalizers"}]'`
(never `--force`, never a namespace's `spec.finalizers`). Look-alike: an object deleted
seconds ago is still being cleaned up.
"#;

impl Signal for StuckDeletion {
    fn id(&self) -> &'static str {
        ID
    }

    fn title(&self) -> &'static str {
        "no deletion stuck on a finalizer"
    }

    fn reads(&self) -> &'static [Kind] {
        &Kind::ALL
    }

    /// Custom resources and the Namespace itself get stuck in deletion too.
    fn reads_raw(&self) -> RawReads {
        RawReads::Every
    }

    fn docs(&self) -> &'static str {
        DOCS
    }

    fn evaluate(&self, context: &Context) -> Finding {
        let mut finding = Finding::ok(ID, "");
        let ns = context.namespace;
        let Some(now) = context.now else {
            finding.status = Status::Unknown;
            finding.summary = "no capture time: cannot tell how long a deletion has waited".into();
            return finding;
        };
        let all = deleting_objects(context);
        let mut recent = Vec::new();
        let mut stuck = Vec::new();
        let mut resources = Vec::new();
        let mut apps = Vec::new();
        for deleting in &all {
            let Some(at) = deleting.meta.deletion_timestamp.as_ref() else {
                continue;
            };
            let waited = now.duration_since(at.0);
            if waited < STUCK_AFTER {
                recent.push(format!(
                    "`{}` ({})",
                    deleting.object.short(),
                    human_duration(waited)
                ));
                continue;
            }
            let object = &deleting.object;
            finding.add_object(object.clone());
            apps.extend(context.app_of(&deleting.meta));
            finding.evidence.push(Evidence::field_note(
                object,
                "metadata.deletionTimestamp",
                at.0.to_string(),
                format!("deleted {} ago, still present", human_duration(waited)),
            ));
            let holds = holds_of(context, deleting, &all, &mut finding);
            resources.push(deleting.resource.as_str());
            stuck.push(Stuck {
                kind: object.kind.clone(),
                name: object.name.clone(),
                deletion_timestamp: at.0.to_string(),
                deleted_ago: human_duration(waited),
                holds,
            });
        }
        finding.detail("stuck", &stuck);
        if stuck.is_empty() {
            finding.summary = if recent.is_empty() {
                "no object is being deleted".to_string()
            } else {
                format!(
                    "nothing stuck; deleted moments ago and still being cleaned up: {}",
                    recent.join(", ")
                )
            };
            return finding;
        }
        // An object stuck in this finding is never also its own cause.
        let objects = finding.objects.clone();
        finding.caused_by.retain(|c| !objects.contains(c));
        finding.objects.sort();
        finding.caused_by.sort();
        finding.status = Status::Fail;
        finding.scope = context.scope(apps);
        finding.summary = stuck
            .iter()
            .map(|s| {
                format!(
                    "{} `{}` deleted {} ago, held by {}",
                    s.kind,
                    s.name,
                    s.deleted_ago,
                    s.holds
                        .iter()
                        .map(|h| {
                            let mut text = format!("`{}`", h.finalizer);
                            if !h.waiting_for.is_empty() {
                                text.push_str(&format!(
                                    " (waits for {})",
                                    h.waiting_for.join(", ")
                                ));
                            } else if !h.controller_present {
                                text.push_str(" (no controller for it in this namespace)");
                            }
                            text
                        })
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            })
            .collect::<Vec<_>>()
            .join("; ");
        finding.fix = Some(
            stuck
                .iter()
                .zip(&resources)
                .map(|(s, resource)| fix_of(s, resource, ns))
                .collect::<Vec<_>>()
                .join("; "),
        );
        finding
    }
}

/// Every object of the namespace that carries a deletionTimestamp (typed, raw, and the
/// Namespace), in a stable order: the Namespace first, then by kind and name.
fn deleting_objects(context: &Context) -> Vec<Deleting> {
    let ns = context.namespace;
    let mut found = Vec::new();
    for raw in &context.snapshot.other {
        let is_namespace = raw.kind == "Namespace" && raw.name == ns;
        if !is_namespace && raw.namespace.as_deref() != Some(ns) {
            continue;
        }
        let Some(meta) = raw
            .object
            .get("metadata")
            .and_then(|m| serde_json::from_value::<ObjectMeta>(m.clone()).ok())
        else {
            continue;
        };
        if meta.deletion_timestamp.is_none() {
            continue;
        }
        let group = raw.api_version.rsplit_once('/').map(|(group, _)| group);
        let spec_finalizers = raw
            .object
            .pointer("/spec/finalizers")
            .and_then(|f| f.as_array())
            .into_iter()
            .flatten()
            .filter_map(|f| f.as_str().map(str::to_string))
            .collect();
        let conditions = raw
            .object
            .pointer("/status/conditions")
            .and_then(|c| c.as_array())
            .into_iter()
            .flatten()
            .enumerate()
            .filter(|(_, c)| c.get("status").and_then(|s| s.as_str()) == Some("True"))
            .filter_map(|(index, c)| {
                let type_ = c.get("type")?.as_str()?;
                NAMESPACE_CONDITIONS.contains(&type_).then(|| {
                    (
                        index,
                        type_.to_string(),
                        c.get("message")
                            .and_then(|m| m.as_str())
                            .unwrap_or_default()
                            .to_string(),
                    )
                })
            })
            .collect();
        found.push(Deleting {
            object: ObjectRef {
                kind: raw.kind.clone(),
                namespace: if is_namespace {
                    String::new()
                } else {
                    ns.to_string()
                },
                name: raw.name.clone(),
            },
            resource: match group {
                Some(group) => format!("{}.{group}", raw.kind.to_ascii_lowercase()),
                None => raw.kind.to_ascii_lowercase(),
            },
            meta,
            spec_finalizers: if is_namespace {
                spec_finalizers
            } else {
                Vec::new()
            },
            conditions: if is_namespace { conditions } else { Vec::new() },
        });
    }
    for (kind, meta) in context.snapshot.all_meta() {
        if !kind.namespaced()
            || kind == Kind::Event
            || meta.namespace.as_deref() != Some(ns)
            || meta.deletion_timestamp.is_none()
        {
            continue;
        }
        found.push(Deleting {
            object: ObjectRef::new(kind, ns, meta.name.as_deref().unwrap_or_default()),
            resource: kind.name().to_ascii_lowercase(),
            meta: meta.clone(),
            spec_finalizers: Vec::new(),
            conditions: Vec::new(),
        });
    }
    found.sort_by(|a, b| {
        (a.object.kind != "Namespace", &a.object.kind, &a.object.name).cmp(&(
            b.object.kind != "Namespace",
            &b.object.kind,
            &b.object.name,
        ))
    });
    found
}

/// Who holds `deleting`, with evidence and causes.
fn holds_of(
    context: &Context,
    deleting: &Deleting,
    all: &[Deleting],
    finding: &mut Finding,
) -> Vec<Hold> {
    let ns = context.namespace;
    let object = &deleting.object;
    let meta_finalizers = deleting.meta.finalizers.clone().unwrap_or_default();
    if !meta_finalizers.is_empty() {
        finding.evidence.push(Evidence::field(
            object,
            "metadata.finalizers",
            format!("[{}]", meta_finalizers.join(", ")),
        ));
    }
    for (index, type_, message) in &deleting.conditions {
        finding.evidence.push(Evidence::field_note(
            object,
            format!("status.conditions[{index}].message"),
            message.clone(),
            type_.clone(),
        ));
    }
    let mut holds = Vec::new();
    let finalizers = deleting
        .spec_finalizers
        .iter()
        .enumerate()
        .map(|(i, f)| (f, format!("spec.finalizers[{i}]")))
        .chain(
            meta_finalizers
                .iter()
                .enumerate()
                .map(|(i, f)| (f, format!("metadata.finalizers[{i}]"))),
        );
    for (finalizer, path) in finalizers {
        let mut waiting_for = Vec::new();
        let (removed_by, controller_present) = match finalizers::built_in(finalizer) {
            Some((controller, _)) => (controller.to_string(), true),
            None => {
                let candidates = finalizers::candidates(context.snapshot, finalizer, ns);
                match candidates.first() {
                    Some(c) => (
                        format!(
                            "maybe {} in `{}` ({}/{} ready; its name matches the finalizer's domain)",
                            c.workload, c.namespace, c.ready, c.desired
                        ),
                        c.ready > 0,
                    ),
                    None => ("no controller for it in this namespace".to_string(), false),
                }
            }
        };
        match finalizer.as_str() {
            finalizers::PVC_PROTECTION if object.kind == "PersistentVolumeClaim" => {
                for pod in in_namespace(&context.snapshot.pods, ns) {
                    if crate::k8s::pod_state::is_terminal(pod) {
                        continue;
                    }
                    let volumes = pod
                        .spec
                        .as_ref()
                        .and_then(|s| s.volumes.as_ref())
                        .map(Vec::as_slice)
                        .unwrap_or_default();
                    let Some(index) = volumes.iter().position(|v| {
                        v.persistent_volume_claim
                            .as_ref()
                            .is_some_and(|c| c.claim_name == object.name)
                    }) else {
                        continue;
                    };
                    let pod_object = ObjectRef::of(Kind::Pod, pod);
                    finding.evidence.push(Evidence::field_note(
                        &pod_object,
                        format!("spec.volumes[{index}].persistentVolumeClaim.claimName"),
                        object.name.clone(),
                        format!(
                            "still uses the claim (phase {})",
                            pod.status
                                .as_ref()
                                .and_then(|s| s.phase.as_deref())
                                .unwrap_or("unknown")
                        ),
                    ));
                    finding.add_cause(pod_object.clone());
                    waiting_for.push(pod_object.short());
                }
            }
            finalizers::FOREGROUND_DELETION => {
                for dependent in dependents(context, &deleting.meta) {
                    finding.add_cause(dependent.clone());
                    waiting_for.push(dependent.short());
                }
            }
            finalizers::NAMESPACE_CONTENT if object.kind == "Namespace" => {
                for content in all.iter().filter(|d| d.object.kind != "Namespace") {
                    waiting_for.push(content.object.short());
                }
            }
            _ => {}
        }
        let note = match finalizers::built_in(finalizer) {
            Some((controller, waits)) => format!("removed by {controller} once it sees {waits}"),
            None => removed_by.clone(),
        };
        finding
            .evidence
            .push(Evidence::field_note(object, path, finalizer.clone(), note));
        holds.push(Hold {
            finalizer: finalizer.clone(),
            removed_by,
            waiting_for,
            controller_present,
        });
    }
    if holds.is_empty() && object.kind == "Pod" {
        // NB: a pod's deletionTimestamp already includes its grace period; without a
        // finalizer only the kubelet's confirmation is missing (node down or partitioned).
        let node = in_namespace(&context.snapshot.pods, ns)
            .into_iter()
            .find(|p| p.name() == object.name)
            .and_then(|p| p.spec.as_ref()?.node_name.clone());
        let waiting_for: Vec<String> = node.iter().map(|n| format!("node/{n}")).collect();
        finding.evidence.push(Evidence::field_note(
            object,
            "spec.nodeName",
            node.clone().unwrap_or_else(|| "<none>".into()),
            "the kubelet never confirmed the containers stopped",
        ));
        holds.push(Hold {
            finalizer: "<kubelet>".to_string(),
            removed_by: "the kubelet on its node".to_string(),
            waiting_for,
            controller_present: node.is_some(),
        });
    }
    holds
}

/// Objects in the namespace whose ownerReferences name `owner` (by uid).
fn dependents(context: &Context, owner: &ObjectMeta) -> Vec<ObjectRef> {
    let Some(uid) = owner.uid.as_deref() else {
        return Vec::new();
    };
    let ns = context.namespace;
    let owned = |meta: &ObjectMeta| meta.owner_references.iter().flatten().any(|o| o.uid == uid);
    let mut found: Vec<ObjectRef> = context
        .snapshot
        .all_meta()
        .filter(|(kind, meta)| {
            kind.namespaced() && meta.namespace.as_deref() == Some(ns) && owned(meta)
        })
        .map(|(kind, meta)| ObjectRef::new(kind, ns, meta.name.as_deref().unwrap_or_default()))
        .collect();
    for raw in &context.snapshot.other {
        if raw.namespace.as_deref() != Some(ns) {
            continue;
        }
        let meta: Option<ObjectMeta> = raw
            .object
            .get("metadata")
            .and_then(|m| serde_json::from_value(m.clone()).ok());
        if meta.as_ref().is_some_and(owned) {
            found.push(ObjectRef {
                kind: raw.kind.clone(),
                namespace: ns.to_string(),
                name: raw.name.clone(),
            });
        }
    }
    found.sort();
    found
}

fn fix_of(stuck: &Stuck, resource: &str, ns: &str) -> String {
    let name = &stuck.name;
    if stuck.kind == "Namespace" {
        return format!(
            "namespace `{name}` finishes deleting once its content is gone: clear what holds each object above (never patch its spec.finalizers)"
        );
    }
    let patch = format!(
        "as a last resort, after confirming its controller is gone: `kubectl patch {resource} {name} -n {ns} --type=json -p='[{{\"op\":\"remove\",\"path\":\"/metadata/finalizers\"}}]'`"
    );
    let mut steps: Vec<String> = Vec::new();
    for hold in &stuck.holds {
        match hold.finalizer.as_str() {
            finalizers::PVC_PROTECTION if !hold.waiting_for.is_empty() => steps.push(format!(
                "stop the pods using claim `{name}` ({}; scale their workload to 0), then it goes by itself",
                hold.waiting_for.join(", ")
            )),
            finalizers::FOREGROUND_DELETION if !hold.waiting_for.is_empty() => steps.push(format!(
                "`{name}` goes once its dependents do ({})",
                hold.waiting_for.join(", ")
            )),
            "<kubelet>" => steps.push(format!(
                "bring {} back, or once it is confirmed gone `kubectl delete {}` lets the pod go (not --force)",
                hold.waiting_for.first().map_or("its node", String::as_str),
                hold.waiting_for.first().map_or("node NODE", String::as_str)
            )),
            _ if hold.controller_present && finalizers::built_in(&hold.finalizer).is_none() => {
                steps.push(format!(
                    "{} should remove `{}`: check its logs",
                    hold.removed_by.trim_start_matches("maybe ").split(" (").next().unwrap_or_default(),
                    hold.finalizer
                ));
            }
            _ => {}
        }
    }
    if stuck.holds.iter().any(|h| h.finalizer != "<kubelet>") {
        steps.push(patch);
    }
    format!("{} `{name}`: {}", stuck.kind, steps.join(", or "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signals::test_support::evaluate;

    /// Capture time 2024-01-01T01:00:00Z.
    const NOW: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: clock, namespace: app, creationTimestamp: \"2024-01-01T01:00:00Z\"}\n";

    fn with_now(parts: &[String]) -> String {
        let mut text = parts.join("---\n");
        text.push_str("---\n");
        text.push_str(NOW);
        text
    }

    fn pvc(deleted: &str) -> String {
        format!(
            "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {{name: data, namespace: app, uid: pvc-1, deletionTimestamp: \"{deleted}\", finalizers: [kubernetes.io/pvc-protection]}}\nspec: {{resources: {{requests: {{storage: 1Gi}}}}}}\nstatus: {{phase: Bound}}\n"
        )
    }

    fn pod_using(claim: &str, phase: &str) -> String {
        format!(
            "apiVersion: v1\nkind: Pod\nmetadata: {{name: db-0, namespace: app, labels: {{app.kubernetes.io/name: db}}}}\nspec: {{containers: [{{name: db, image: x}}], volumes: [{{name: data, persistentVolumeClaim: {{claimName: {claim}}}}}]}}\nstatus: {{phase: {phase}}}\n"
        )
    }

    #[test]
    fn protected_claim_names_the_pod_still_using_it() {
        let text = with_now(&[pvc("2024-01-01T00:30:00Z"), pod_using("data", "Running")]);
        let finding = evaluate(&StuckDeletion, &text, "app");
        assert_eq!(finding.status, Status::Fail, "{finding:?}");
        assert_eq!(
            finding.objects,
            vec![ObjectRef::new(Kind::PersistentVolumeClaim, "app", "data")]
        );
        assert_eq!(
            finding.caused_by,
            vec![ObjectRef::new(Kind::Pod, "app", "db-0")]
        );
        assert_eq!(
            finding.summary,
            "PersistentVolumeClaim `data` deleted 30m ago, held by `kubernetes.io/pvc-protection` (waits for pod/db-0)"
        );
        assert!(finding.evidence.iter().any(|e| e.short()
            == "pod/db-0 spec.volumes[0].persistentVolumeClaim.claimName=data (still uses the claim (phase Running))"));
        let fix = finding.fix.unwrap();
        assert!(
            fix.contains("stop the pods using claim `data` (pod/db-0"),
            "{fix}"
        );
        assert!(
            fix.contains("kubectl patch persistentvolumeclaim data -n app --type=json -p='[{\"op\":\"remove\",\"path\":\"/metadata/finalizers\"}]'"),
            "{fix}"
        );
        assert!(!fix.contains("--force"));
        // A finished pod no longer protects the claim.
        let done = with_now(&[pvc("2024-01-01T00:30:00Z"), pod_using("data", "Succeeded")]);
        let finding = evaluate(&StuckDeletion, &done, "app");
        assert_eq!(finding.status, Status::Fail);
        assert!(finding.caused_by.is_empty());
    }

    #[test]
    fn custom_finalizer_without_a_controller_says_so_and_one_with_a_controller_names_it() {
        let widget = "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w1, namespace: app, uid: w-1, deletionTimestamp: \"2024-01-01T00:00:00Z\", finalizers: [widgets.acme.io/cleanup]}\n".to_string();
        let finding = evaluate(
            &StuckDeletion,
            &with_now(std::slice::from_ref(&widget)),
            "app",
        );
        assert_eq!(finding.status, Status::Fail);
        assert_eq!(
            finding.objects,
            vec![ObjectRef {
                kind: "Widget".into(),
                namespace: "app".into(),
                name: "w1".into()
            }]
        );
        assert_eq!(
            finding.summary,
            "Widget `w1` deleted 60m ago, held by `widgets.acme.io/cleanup` (no controller for it in this namespace)"
        );
        assert!(
            finding
                .fix
                .unwrap()
                .contains("kubectl patch widget.example.com w1 -n app")
        );

        let controller = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: acme-controller, namespace: acme-system}\nspec: {replicas: 1, selector: {matchLabels: {a: b}}, template: {metadata: {labels: {a: b}}, spec: {containers: [{name: c, image: x}]}}}\nstatus: {readyReplicas: 1}\n".to_string();
        let finding = evaluate(&StuckDeletion, &with_now(&[widget, controller]), "app");
        assert_eq!(
            finding.details["stuck"][0]["holds"][0]["controllerPresent"],
            true
        );
        assert!(
            finding.details["stuck"][0]["holds"][0]["removedBy"]
                .as_str()
                .unwrap()
                .starts_with("maybe deployment/acme-controller in `acme-system` (1/1 ready"),
            "{:?}",
            finding.details
        );
        assert!(
            finding
                .fix
                .unwrap()
                .contains("deployment/acme-controller in `acme-system` should remove")
        );
    }

    #[test]
    fn terminating_namespace_names_its_conditions_and_the_content_it_waits_for() {
        let namespace = "apiVersion: v1\nkind: Namespace\nmetadata: {name: app, deletionTimestamp: \"2024-01-01T00:10:00Z\"}\nspec: {finalizers: [kubernetes]}\nstatus:\n  phase: Terminating\n  conditions:\n  - {type: NamespaceDeletionDiscoveryFailure, status: \"False\", reason: ResourcesDiscovered}\n  - {type: NamespaceContentRemaining, status: \"True\", reason: SomeResourcesRemain, message: 'Some resources are remaining: persistentvolumeclaims. has 1 resource instances'}\n  - {type: NamespaceFinalizersRemaining, status: \"True\", reason: SomeFinalizersRemain, message: 'Some content in the namespace has finalizers remaining: kubernetes.io/pvc-protection in 1 resource instances'}\n".to_string();
        let text = with_now(&[
            namespace,
            pvc("2024-01-01T00:10:00Z"),
            pod_using("data", "Running"),
        ]);
        let finding = evaluate(&StuckDeletion, &text, "app");
        assert_eq!(finding.status, Status::Fail);
        assert_eq!(
            finding.objects,
            vec![
                ObjectRef {
                    kind: "Namespace".into(),
                    namespace: String::new(),
                    name: "app".into()
                },
                ObjectRef::new(Kind::PersistentVolumeClaim, "app", "data"),
            ]
        );
        // The claim is stuck in this finding itself: only the pod is a cause.
        assert_eq!(
            finding.caused_by,
            vec![ObjectRef::new(Kind::Pod, "app", "db-0")]
        );
        assert!(
            finding.summary.starts_with(
                "Namespace `app` deleted 50m ago, held by `kubernetes` (waits for persistentvolumeclaim/data)"
            ),
            "{}",
            finding.summary
        );
        assert!(finding.evidence.iter().any(|e| e.short()
            == "namespace/app status.conditions[2].message=Some content in the namespace has finalizers remaining: kubernetes.io/pvc-protection in 1 resource instances (NamespaceFinalizersRemaining)"));
        assert!(
            finding
                .fix
                .unwrap()
                .contains("never patch its spec.finalizers")
        );
    }

    #[test]
    fn foreground_deletion_waits_for_dependents() {
        let owner = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: api, namespace: app, uid: d-1, deletionTimestamp: \"2024-01-01T00:00:00Z\", finalizers: [foregroundDeletion]}\nspec: {selector: {matchLabels: {a: b}}, template: {metadata: {labels: {a: b}}, spec: {containers: [{name: c, image: x}]}}}\n".to_string();
        let rs = "apiVersion: apps/v1\nkind: ReplicaSet\nmetadata: {name: api-1, namespace: app, ownerReferences: [{apiVersion: apps/v1, kind: Deployment, name: api, uid: d-1, blockOwnerDeletion: true}]}\nspec: {selector: {matchLabels: {a: b}}}\n".to_string();
        let finding = evaluate(&StuckDeletion, &with_now(&[owner, rs]), "app");
        assert_eq!(finding.status, Status::Fail);
        assert_eq!(
            finding.caused_by,
            vec![ObjectRef::new(Kind::ReplicaSet, "app", "api-1")]
        );
        assert!(
            finding
                .summary
                .contains("`foregroundDeletion` (waits for replicaset/api-1)")
        );
    }

    #[test]
    fn look_alike_deleted_thirty_seconds_ago_is_just_cleaning_up() {
        let text = with_now(&[pvc("2024-01-01T00:59:30Z"), pod_using("data", "Running")]);
        let finding = evaluate(&StuckDeletion, &text, "app");
        assert_eq!(finding.status, Status::Ok, "{finding:?}");
        assert!(finding.objects.is_empty());
        assert_eq!(
            finding.summary,
            "nothing stuck; deleted moments ago and still being cleaned up: `persistentvolumeclaim/data` (30s)"
        );
        let nothing = with_now(&[pod_using("data", "Running")]);
        assert_eq!(
            evaluate(&StuckDeletion, &nothing, "app").summary,
            "no object is being deleted"
        );
    }

    #[test]
    fn pod_without_finalizers_waits_for_its_kubelet() {
        let pod = "apiVersion: v1\nkind: Pod\nmetadata: {name: web-1, namespace: app, deletionTimestamp: \"2024-01-01T00:20:00Z\", deletionGracePeriodSeconds: 30}\nspec: {nodeName: node-7, containers: [{name: c, image: x}]}\nstatus: {phase: Running}\n".to_string();
        let finding = evaluate(&StuckDeletion, &with_now(&[pod]), "app");
        assert_eq!(finding.status, Status::Fail);
        assert_eq!(
            finding.summary,
            "Pod `web-1` deleted 40m ago, held by `<kubelet>` (waits for node/node-7)"
        );
        let fix = finding.fix.unwrap();
        assert!(fix.contains("bring node/node-7 back"), "{fix}");
        assert!(!fix.contains("kubectl patch"), "{fix}");
    }
}
