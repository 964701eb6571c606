//! `mount`: pods Pending longer than [`STARTUP_GRACE`] whose containers never got past
//! `ContainerCreating` (or have no status yet) because a volume cannot be attached or
//! mounted. Keys on the kubelet's `FailedMount` and the attach-detach controller's
//! `FailedAttachVolume` Warning events (pkg/kubelet/volumemanager, pkg/controller/
//! volume/attachdetach), the scheduler's `FailedScheduling` when it names a claim
//! (`persistentvolumeclaim "x" not found`, `unbound immediate PersistentVolumeClaims`,
//! the VolumeBinding plugin), and, because events expire after an hour, the pod's own
//! volumes checked against the snapshot: a non-optional `configMap` volume whose
//! ConfigMap is missing, a claim that is missing or not Bound. Secrets are named only
//! from the messages (`secret "x" not found`), never looked up.
//! A pod Pending for seconds is normal start-up and stays green.
//! https://kubernetes.io/docs/concepts/storage/volumes/

use k8s_openapi::api::core::v1::{Event, Pod};
use serde::Serialize;

use crate::finding::{Context, Evidence, Finding, ObjectRef, STARTUP_GRACE, Status};
use crate::k8s::kubectl_style::human_duration;
use crate::k8s::pod_state::{self, RefProblem};
use crate::signals::Signal;
use crate::snapshot::{HasMeta, Kind, in_namespace};

pub struct Mount;

pub const ID: &str = "mount";

/// Container waiting reasons of a pod that has not started yet.
const NOT_STARTED: [&str; 2] = ["ContainerCreating", "PodInitializing"];

/// What keeps a volume from mounting, in a word.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Problem {
    ConfigMapNotFound,
    SecretNotFound,
    ClaimNotFound,
    ClaimUnbound,
    /// `Multi-Attach error`, `AttachVolume.Attach failed`.
    AttachFailed,
    /// `Unable to attach or mount volumes ... timed out waiting for the condition`.
    Timeout,
    /// Any other `MountVolume.SetUp failed` (NFS, CSI driver, permissions).
    MountFailed,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VolumeProblem {
    pub problem: Problem,
    /// The object at fault (`configmap/app-config`), when one is named.
    pub object: Option<String>,
    pub volume: Option<String>,
    /// The event message or spec check it was read from.
    pub source: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Failing {
    pub pod: String,
    /// How long since the pod was created, as kubectl prints ages.
    pub pending_for: Option<String>,
    pub problems: Vec<VolumeProblem>,
    pub workload: String,
}

/// Its section of `docs/signals.md`.
const DOCS: &str = r#"
Generic (every pod of the namespace, profile or not). Keys on pods Pending longer than
`STARTUP_GRACE` (120 s) whose containers have no status or wait in
`ContainerCreating`/`PodInitializing`, with `FailedMount`/`FailedAttachVolume` Warning
events, a `FailedScheduling` that names a claim, or volumes that do not resolve in the
snapshot (events expire after an hour): a non-optional `configMap` or projected
ConfigMap volume whose ConfigMap or key is missing, a `persistentVolumeClaim` (or generic
ephemeral volume's `<pod>-<volume>` claim) missing or not Bound (a Pending claim on a
`WaitForFirstConsumer` class is not blamed while the pod is unscheduled: it binds after
scheduling).
[Volumes](https://kubernetes.io/docs/concepts/storage/volumes/). Classifies
`configmap "x" not found`, `secret "x" not found`, `persistentvolumeclaim(s) "x" not
found`, unbound claims, `Multi-Attach`/`AttachVolume.Attach failed`, `timed out waiting
for the condition`; the named ConfigMap, Secret (by name only, never read) or claim is
`causedBy`. Look-alikes: a pod Pending for seconds with a FailedMount, an old Pending pod
whose volumes all resolve, an unrelated `FailedScheduling` (`Insufficient cpu`).
"#;

impl Signal for Mount {
    fn id(&self) -> &'static str {
        ID
    }

    fn title(&self) -> &'static str {
        "pod volumes mount"
    }

    fn reads(&self) -> &'static [Kind] {
        &[
            Kind::Pod,
            Kind::ConfigMap,
            Kind::PersistentVolumeClaim,
            // A Pending claim on a WaitForFirstConsumer class is not blamed before
            // scheduling.
            Kind::StorageClass,
            Kind::ReplicaSet,
            Kind::Event,
        ]
    }

    fn docs(&self) -> &'static str {
        DOCS
    }

    fn evaluate(&self, context: &Context) -> Finding {
        let pods = in_namespace(&context.snapshot.pods, context.namespace);
        let mut finding = Finding::ok(ID, "");
        let mut failing = Vec::new();
        let mut apps = Vec::new();
        let mut starting = 0;
        for pod in &pods {
            if !not_started(pod) {
                continue;
            }
            let age = context.age(pod_state::pending_since(pod));
            if age.is_some_and(|a| a <= STARTUP_GRACE) {
                starting += 1;
                continue;
            }
            if let Some(item) = describe(context, pod, age, &mut finding) {
                failing.push(item);
                apps.extend(context.app_of(&pod.metadata));
            }
        }
        if failing.is_empty() {
            finding.summary = if starting > 0 {
                format!(
                    "no pod stuck on a volume ({starting} starting, within the {}s grace)",
                    STARTUP_GRACE.as_secs()
                )
            } else {
                "no pod stuck on a volume".to_string()
            };
            return finding;
        }
        finding.status = Status::Fail;
        finding.scope = context.scope(apps);
        finding.summary = failing
            .iter()
            .map(|f| {
                let problems: Vec<String> = f.problems.iter().map(problem_words).collect();
                let mut text = format!("pod `{}` Pending", f.pod);
                if let Some(age) = &f.pending_for {
                    text.push_str(&format!(" {age}"));
                }
                text.push_str(&format!(": {}", dedup(problems).join(", ")));
                text
            })
            .collect::<Vec<_>>()
            .join("; ");
        let mut fixes: Vec<String> = failing
            .iter()
            .flat_map(|f| {
                f.problems
                    .iter()
                    .map(move |p| fix_for(context.namespace, f, p))
            })
            .collect();
        fixes = dedup(fixes);
        finding.fix = Some(fixes.join("; "));
        finding.detail("failing", &failing);
        finding
    }
}

/// Pending, not being deleted, and no container running or terminated yet.
fn not_started(pod: &Pod) -> bool {
    pod_state::phase(pod) == "Pending"
        && pod.metadata.deletion_timestamp.is_none()
        && pod_state::containers(pod).iter().all(|view| {
            view.status.is_none()
                || view
                    .waiting_reason()
                    .is_some_and(|r| NOT_STARTED.contains(&r))
                || (view.waiting().is_some() && view.waiting_reason().is_none())
        })
}

fn describe(
    context: &Context,
    pod: &Pod,
    age: Option<jiff::SignedDuration>,
    finding: &mut Finding,
) -> Option<Failing> {
    let namespace = pod.namespace();
    let object = ObjectRef::of(Kind::Pod, pod);
    let mut problems = Vec::new();
    let mut causes = Vec::new();
    let mut evidence = Vec::new();
    let events: Vec<&Event> = context
        .warnings_for(Kind::Pod, pod.name())
        .into_iter()
        .filter(|e| is_volume_event(e))
        .collect();
    for event in &events {
        let message = event.message.as_deref().unwrap_or_default();
        evidence.push(Evidence::event(event));
        classify(namespace, message, &mut problems, &mut causes, pod);
    }
    // The spec against the snapshot: what the events may no longer say.
    let snapshot = context.snapshot;
    if !snapshot.gaps.contains_key(&Kind::ConfigMap) {
        let config_maps = in_namespace(&snapshot.config_maps, namespace);
        for (volume, reference) in pod_state::volume_config_map_refs(pod) {
            if let Some(problem) = pod_state::config_map_problem(&config_maps, &reference) {
                let note = match problem {
                    RefProblem::MissingConfigMap => {
                        "ConfigMap not in the namespace (not optional)".to_string()
                    }
                    RefProblem::MissingKey => format!(
                        "ConfigMap has no key `{}` (not optional)",
                        reference.key.as_deref().unwrap_or_default()
                    ),
                };
                evidence.push(Evidence::field_note(
                    &object,
                    format!("{}.name", reference.path),
                    reference.name.clone(),
                    note,
                ));
                causes.push(ObjectRef::new(Kind::ConfigMap, namespace, &reference.name));
                push(
                    &mut problems,
                    VolumeProblem {
                        problem: Problem::ConfigMapNotFound,
                        object: Some(format!("configmap/{}", reference.name)),
                        volume: Some(volume),
                        source: reference.path.clone(),
                    },
                );
            }
        }
    }
    if !snapshot.gaps.contains_key(&Kind::PersistentVolumeClaim) {
        let claims = in_namespace(&snapshot.persistent_volume_claims, namespace);
        // NB: a claim on a WaitForFirstConsumer class binds only once the scheduler
        // picks a node for the pod; while the pod is unscheduled, its Pending claim is
        // the consequence, not the cause.
        let scheduled = pod
            .spec
            .as_ref()
            .and_then(|s| s.node_name.as_deref())
            .is_some_and(|n| !n.is_empty());
        for (index, volume, claim_name) in claim_volumes(pod) {
            let path = format!("spec.volumes[{index}]");
            let claim = claims.iter().find(|c| c.name() == claim_name);
            let claim_phase = claim
                .and_then(|c| c.status.as_ref())
                .and_then(|s| s.phase.as_deref());
            let problem = match claim_phase {
                None if claim.is_none() => Problem::ClaimNotFound,
                Some("Bound") => continue,
                _ if waits_for_first_consumer(snapshot, claim) && !scheduled => continue,
                _ => Problem::ClaimUnbound,
            };
            evidence.push(Evidence::field_note(
                &object,
                format!("{path}.persistentVolumeClaim.claimName"),
                claim_name.clone(),
                match problem {
                    Problem::ClaimNotFound => "claim not in the namespace".to_string(),
                    _ => format!("claim is {}", claim_phase.unwrap_or("Pending")),
                },
            ));
            causes.push(ObjectRef::new(
                Kind::PersistentVolumeClaim,
                namespace,
                &claim_name,
            ));
            push(
                &mut problems,
                VolumeProblem {
                    problem,
                    object: Some(format!("persistentvolumeclaim/{claim_name}")),
                    volume: Some(volume),
                    source: path,
                },
            );
        }
    }
    if problems.is_empty() {
        return None;
    }
    finding.add_object(object.clone());
    finding.evidence.push(Evidence::field_note(
        &object,
        "status.phase",
        "Pending",
        match age {
            Some(age) => format!("created {} before the capture", human_duration(age)),
            None => "creation time unknown".to_string(),
        },
    ));
    finding.evidence.extend(evidence);
    for cause in causes {
        finding.add_cause(cause);
    }
    problems.sort_by(|a, b| (a.problem, &a.object).cmp(&(b.problem, &b.object)));
    Some(Failing {
        pod: pod.name().to_string(),
        pending_for: age.map(human_duration),
        problems,
        workload: pod_state::workload_of(context.snapshot, pod),
    })
}

/// Warnings about a pod's volumes: the kubelet's and attach-detach controller's, and
/// the scheduler's when it waits for a claim.
fn is_volume_event(event: &Event) -> bool {
    match event.reason.as_deref() {
        Some("FailedMount" | "FailedAttachVolume" | "FailedMapVolume") => true,
        Some("FailedScheduling") => event
            .message
            .as_deref()
            .unwrap_or_default()
            .to_ascii_lowercase()
            .contains("persistentvolumeclaim"),
        _ => false,
    }
}

/// Reads the problems and their objects out of one event message.
fn classify(
    namespace: &str,
    message: &str,
    problems: &mut Vec<VolumeProblem>,
    causes: &mut Vec<ObjectRef>,
    pod: &Pod,
) {
    let lower = message.to_ascii_lowercase();
    let volume = quoted_after(message, "volume \"");
    let source = message.trim().to_string();
    let mut named = false;
    for name in pod_state::not_found_names(message, &["configmap", "configmaps"]) {
        causes.push(ObjectRef::new(Kind::ConfigMap, namespace, &name));
        push(
            problems,
            VolumeProblem {
                problem: Problem::ConfigMapNotFound,
                object: Some(format!("configmap/{name}")),
                volume: volume.clone(),
                source: source.clone(),
            },
        );
        named = true;
    }
    for name in pod_state::not_found_names(message, &["secret", "secrets"]) {
        causes.push(pod_state::secret_ref(namespace, &name));
        push(
            problems,
            VolumeProblem {
                problem: Problem::SecretNotFound,
                object: Some(format!("secret/{name}")),
                volume: volume.clone(),
                source: source.clone(),
            },
        );
        named = true;
    }
    for name in pod_state::not_found_names(
        message,
        &["persistentvolumeclaim", "persistentvolumeclaims"],
    ) {
        causes.push(ObjectRef::new(
            Kind::PersistentVolumeClaim,
            namespace,
            &name,
        ));
        push(
            problems,
            VolumeProblem {
                problem: Problem::ClaimNotFound,
                object: Some(format!("persistentvolumeclaim/{name}")),
                volume: volume.clone(),
                source: source.clone(),
            },
        );
        named = true;
    }
    if named {
        return;
    }
    if lower.contains("unbound immediate persistentvolumeclaims")
        || lower.contains("unbound persistentvolumeclaims")
    {
        // The scheduler does not name the claim: the pod's claims are the suspects;
        // the spec check above names the ones not Bound.
        for (_, volume, claim) in claim_volumes(pod) {
            push(
                problems,
                VolumeProblem {
                    problem: Problem::ClaimUnbound,
                    object: Some(format!("persistentvolumeclaim/{claim}")),
                    volume: Some(volume),
                    source: source.clone(),
                },
            );
        }
        return;
    }
    let problem = if lower.contains("multi-attach") || lower.contains("attachvolume.attach failed")
    {
        Problem::AttachFailed
    } else if lower.contains("timed out waiting for the condition")
        || lower.contains("unable to attach or mount volumes")
    {
        Problem::Timeout
    } else {
        Problem::MountFailed
    };
    push(
        problems,
        VolumeProblem {
            problem,
            object: None,
            volume,
            source,
        },
    );
}

/// The pod's claims: `persistentVolumeClaim` volumes, and generic ephemeral volumes,
/// whose claim the ephemeral volume controller names `<pod>-<volume>`.
/// https://kubernetes.io/docs/concepts/storage/ephemeral-volumes/#persistentvolumeclaim-naming
fn claim_volumes(pod: &Pod) -> Vec<(usize, String, String)> {
    pod.spec
        .as_ref()
        .and_then(|s| s.volumes.as_deref())
        .unwrap_or_default()
        .iter()
        .enumerate()
        .filter_map(|(index, volume)| {
            let claim = match (&volume.persistent_volume_claim, &volume.ephemeral) {
                (Some(source), _) => source.claim_name.clone(),
                (None, Some(_)) => format!("{}-{}", pod.name(), volume.name),
                _ => return None,
            };
            Some((index, volume.name.clone(), claim))
        })
        .collect()
}

/// Whether `claim`'s StorageClass (the named one, else the default) binds on first
/// consumer (https://kubernetes.io/docs/concepts/storage/storage-classes/#volume-binding-mode).
fn waits_for_first_consumer(
    snapshot: &crate::snapshot::Snapshot,
    claim: Option<&&k8s_openapi::api::core::v1::PersistentVolumeClaim>,
) -> bool {
    let Some(claim) = claim else { return false };
    let named = claim
        .spec
        .as_ref()
        .and_then(|s| s.storage_class_name.as_deref());
    snapshot
        .storage_classes
        .iter()
        .find(|c| match named {
            Some(name) => c.name() == name,
            None => crate::k8s::storage::is_default_class(c),
        })
        .is_some_and(|c| c.volume_binding_mode.as_deref() == Some("WaitForFirstConsumer"))
}

/// The text between `prefix` and the next `"`.
fn quoted_after(text: &str, prefix: &str) -> Option<String> {
    let (_, rest) = text.split_once(prefix)?;
    let (name, _) = rest.split_once('"')?;
    Some(name.to_string()).filter(|n| !n.is_empty())
}

fn push(problems: &mut Vec<VolumeProblem>, item: VolumeProblem) {
    let seen = problems.iter().any(|p| {
        p.problem == item.problem
            && p.object == item.object
            && (item.object.is_some() || p.volume == item.volume)
    });
    if !seen {
        problems.push(item);
    }
}

fn dedup(items: Vec<String>) -> Vec<String> {
    let mut seen = Vec::new();
    for item in items {
        if !seen.contains(&item) {
            seen.push(item);
        }
    }
    seen
}

fn problem_words(p: &VolumeProblem) -> String {
    let object = p
        .object
        .as_deref()
        .map(|o| format!("`{o}`"))
        .unwrap_or_default();
    let volume = p
        .volume
        .as_deref()
        .map(|v| format!("volume `{v}`"))
        .unwrap_or_else(|| "a volume".to_string());
    match p.problem {
        Problem::ConfigMapNotFound | Problem::SecretNotFound | Problem::ClaimNotFound => {
            format!("{object} not found")
        }
        Problem::ClaimUnbound => format!("{object} not Bound"),
        Problem::AttachFailed => format!("{volume} cannot attach"),
        Problem::Timeout => "timed out attaching or mounting".to_string(),
        Problem::MountFailed => format!("{volume} fails to mount"),
    }
}

fn fix_for(namespace: &str, f: &Failing, p: &VolumeProblem) -> String {
    let name = p
        .object
        .as_deref()
        .and_then(|o| o.split_once('/'))
        .map(|(_, n)| n)
        .unwrap_or_default();
    match p.problem {
        Problem::ConfigMapNotFound => format!(
            "create the ConfigMap: kubectl create configmap {name} -n {namespace} --from-file=... (or correct the volume in {})",
            f.workload
        ),
        Problem::SecretNotFound => format!(
            "create the Secret: kubectl create secret generic {name} -n {namespace} --from-literal=KEY=VALUE (or correct the volume in {})",
            f.workload
        ),
        Problem::ClaimNotFound => format!(
            "create the claim `{name}` (kubectl apply -f its manifest) or correct claimName in {}",
            f.workload
        ),
        Problem::ClaimUnbound => format!(
            "make the claim bind: kubectl describe pvc {name} -n {namespace} (see the pvc signal)"
        ),
        Problem::AttachFailed => format!(
            "the volume is still attached elsewhere or the driver refuses it: kubectl get volumeattachments, then kubectl describe pod {} -n {namespace}",
            f.pod
        ),
        Problem::Timeout | Problem::MountFailed => format!(
            "kubectl describe pod {} -n {namespace} (the mount error) and fix the volume's source",
            f.pod
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::Scope;
    use crate::signals::test_support::evaluate;

    fn pod(name: &str, created: &str, volumes: &str) -> String {
        format!(
            r#"---
apiVersion: v1
kind: Pod
metadata:
  name: {name}
  namespace: shop
  creationTimestamp: "{created}"
  labels: {{app.kubernetes.io/name: search}}
spec:
  containers: [{{name: app, image: search}}]
  volumes: {volumes}
status:
  phase: Pending
  containerStatuses:
  - {{name: app, image: search, imageID: "", ready: false, restartCount: 0, state: {{waiting: {{reason: ContainerCreating}}}}}}
"#
        )
    }

    fn event(pod: &str, reason: &str, message: &str) -> String {
        format!(
            "---\napiVersion: v1\nkind: Event\nmetadata: {{name: {pod}.{reason}, namespace: shop}}\ninvolvedObject: {{kind: Pod, name: {pod}, namespace: shop}}\nreason: {reason}\ntype: Warning\ncount: 11\nlastTimestamp: '2025-03-02T10:15:00Z'\nmessage: '{message}'\n"
        )
    }

    /// Captured at 10:15 without any event.
    const CLOCK: &str = "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: clock, namespace: shop, creationTimestamp: '2025-03-02T10:15:00Z'}\n";

    const BOUND: &str = "---\napiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: index, namespace: shop}\nspec: {accessModes: [ReadWriteOnce]}\nstatus: {phase: Bound}\n";

    #[test]
    fn missing_config_map_and_secret_from_failed_mount_are_causes() {
        let text = format!(
            "{}{}{}",
            pod(
                "search-1",
                "2025-03-02T10:00:00Z",
                "[{name: cfg, configMap: {name: search-config}}, {name: tls, secret: {secretName: search-tls}}]"
            ),
            event(
                "search-1",
                "FailedMount",
                "MountVolume.SetUp failed for volume \"cfg\" : configmap \"search-config\" not found"
            ),
            event(
                "search-1",
                "FailedMount",
                "MountVolume.SetUp failed for volume \"tls\" : secret \"search-tls\" not found"
            ),
        );
        let finding = evaluate(&Mount, &text, "shop");
        assert_eq!(finding.status, Status::Fail, "{finding:?}");
        assert_eq!(
            finding.summary,
            "pod `search-1` Pending 15m: `configmap/search-config` not found, `secret/search-tls` not found"
        );
        assert_eq!(
            finding.caused_by,
            vec![
                ObjectRef::new(Kind::ConfigMap, "shop", "search-config"),
                pod_state::secret_ref("shop", "search-tls"),
            ]
        );
        assert_eq!(
            finding.objects,
            vec![ObjectRef::new(Kind::Pod, "shop", "search-1")]
        );
        assert_eq!(finding.scope, Scope::Apps(vec!["search".into()]));
        let problems = &finding.details["failing"][0]["problems"];
        assert_eq!(problems[0]["volume"], "cfg");
        assert_eq!(problems[1]["problem"], "secret-not-found");
        assert!(
            finding.fix.unwrap().starts_with(
                "create the ConfigMap: kubectl create configmap search-config -n shop"
            )
        );
    }

    #[test]
    fn missing_claim_from_the_scheduler_and_spec_without_events() {
        let text = format!(
            "{BOUND}{}{}{}",
            pod(
                "search-2",
                "2025-03-02T10:00:00Z",
                "[{name: data, persistentVolumeClaim: {claimName: search-data}}]"
            ),
            event(
                "search-2",
                "FailedScheduling",
                "0/3 nodes are available: persistentvolumeclaim \"search-data\" not found. preemption: 0/3 nodes are available."
            ),
            // No events left (they expire): the spec check still names the claim.
            pod(
                "search-3",
                "2025-03-02T09:00:00Z",
                "[{name: data, persistentVolumeClaim: {claimName: search-data}}, {name: idx, persistentVolumeClaim: {claimName: index}}]"
            ),
        );
        let finding = evaluate(&Mount, &text, "shop");
        assert_eq!(finding.status, Status::Fail, "{finding:?}");
        assert_eq!(
            finding.summary,
            "pod `search-2` Pending 15m: `persistentvolumeclaim/search-data` not found; pod `search-3` Pending 75m: `persistentvolumeclaim/search-data` not found"
        );
        assert_eq!(
            finding.objects,
            vec![
                ObjectRef::new(Kind::Pod, "shop", "search-2"),
                ObjectRef::new(Kind::Pod, "shop", "search-3")
            ]
        );
        assert_eq!(
            finding.caused_by,
            vec![ObjectRef::new(
                Kind::PersistentVolumeClaim,
                "shop",
                "search-data"
            )]
        );
    }

    #[test]
    fn multi_attach_and_timeout_are_classified_without_a_cause() {
        let text = format!(
            "{BOUND}{}{}{}",
            pod(
                "search-4",
                "2025-03-02T10:00:00Z",
                "[{name: idx, persistentVolumeClaim: {claimName: index}}]"
            ),
            event(
                "search-4",
                "FailedAttachVolume",
                "Multi-Attach error for volume \"pvc-1f2e\" Volume is already used by pod(s) search-0"
            ),
            event(
                "search-4",
                "FailedMount",
                "Unable to attach or mount volumes: unmounted volumes=[idx], unattached volumes=[idx]: timed out waiting for the condition"
            ),
        );
        let finding = evaluate(&Mount, &text, "shop");
        assert_eq!(finding.status, Status::Fail);
        assert_eq!(
            finding.summary,
            "pod `search-4` Pending 15m: volume `pvc-1f2e` cannot attach, timed out attaching or mounting"
        );
        assert!(finding.caused_by.is_empty());
        assert!(
            finding
                .fix
                .unwrap()
                .contains("kubectl get volumeattachments")
        );
    }

    #[test]
    fn a_wait_for_first_consumer_claim_of_an_unscheduled_pod_is_not_blamed() {
        let class = "---\napiVersion: storage.k8s.io/v1\nkind: StorageClass\nmetadata: {name: local-path}\nprovisioner: rancher.io/local-path\nvolumeBindingMode: WaitForFirstConsumer\n";
        let claim = "---\napiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: cache, namespace: shop}\nspec: {storageClassName: local-path, accessModes: [ReadWriteOnce]}\nstatus: {phase: Pending}\n";
        let unscheduled = format!(
            "{class}{claim}{CLOCK}{}",
            pod(
                "search-5",
                "2025-03-02T10:00:00Z",
                "[{name: c, persistentVolumeClaim: {claimName: cache}}]"
            )
        );
        assert_eq!(evaluate(&Mount, &unscheduled, "shop").status, Status::Ok);
        // Once the pod is on a node, a claim still Pending is the volume's fault.
        let scheduled = unscheduled.replace(
            "spec:\n  containers:",
            "spec:\n  nodeName: node-1\n  containers:",
        );
        let finding = evaluate(&Mount, &scheduled, "shop");
        assert_eq!(finding.status, Status::Fail, "{finding:?}");
        assert_eq!(
            finding.caused_by,
            vec![ObjectRef::new(Kind::PersistentVolumeClaim, "shop", "cache")]
        );
        assert!(
            finding
                .summary
                .ends_with("`persistentvolumeclaim/cache` not Bound"),
            "{}",
            finding.summary
        );
    }

    #[test]
    fn look_alikes_seconds_old_bound_optional_running_stay_green() {
        let text = format!(
            "{BOUND}{}{}{}{}---\napiVersion: v1\nkind: Pod\nmetadata: {{name: search-ok, namespace: shop, creationTimestamp: '2025-03-02T09:00:00Z'}}\nspec:\n  containers: [{{name: app, image: s}}]\n  volumes: [{{name: cfg, configMap: {{name: gone}}}}]\nstatus:\n  phase: Running\n  containerStatuses:\n  - {{name: app, image: s, imageID: '', ready: true, restartCount: 0, state: {{running: {{}}}}}}\n",
            // Pending for 30 s with a FailedMount: normal start-up, within the grace.
            pod(
                "search-new",
                "2025-03-02T10:14:30Z",
                "[{name: cfg, configMap: {name: search-config}}]"
            ),
            event(
                "search-new",
                "FailedMount",
                "MountVolume.SetUp failed for volume \"cfg\" : configmap \"search-config\" not found"
            ),
            // Old and Pending, but every volume resolves: not a mount fault (no events).
            pod(
                "search-sched",
                "2025-03-02T09:00:00Z",
                "[{name: idx, persistentVolumeClaim: {claimName: index}}, {name: o, configMap: {name: nope, optional: true}}]"
            ),
            // A scheduling failure that is not about claims is not this signal's.
            event(
                "search-sched",
                "FailedScheduling",
                "0/3 nodes are available: 3 Insufficient cpu."
            ),
        );
        let finding = evaluate(&Mount, &text, "shop");
        assert_eq!(finding.status, Status::Ok, "{finding:?}");
        assert_eq!(
            finding.summary,
            "no pod stuck on a volume (1 starting, within the 120s grace)"
        );
    }
}
