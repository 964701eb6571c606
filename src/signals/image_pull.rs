//! `image-pull`: a container (init, native sidecar or main) the kubelet cannot get an
//! image for: waiting with `ErrImagePull`, `ImagePullBackOff`, `InvalidImageName`,
//! `ErrImageNeverPull` (or the rarer `ImageInspectError`, `RegistryUnavailable`), the
//! reasons of pkg/kubelet/images/types.go. Why it failed is classified from the waiting
//! message and the container's `Failed`/`BackOff` events (the runtime's error text:
//! not found, unauthorized, unreachable registry, invalid reference). Pull secrets are
//! named from `spec.imagePullSecrets` only, never read.
//! https://kubernetes.io/docs/concepts/containers/images/#imagepullbackoff

use k8s_openapi::api::core::v1::{Event, Pod};
use serde::Serialize;

use crate::finding::{Context, Evidence, Finding, ObjectRef, Status};
use crate::k8s::pod_state::{self, ContainerKind, ContainerView};
use crate::signals::Signal;
use crate::snapshot::{HasMeta, Kind, in_namespace};

pub struct ImagePull;

pub const ID: &str = "image-pull";

/// Waiting reasons of a failed pull (pkg/kubelet/images/types.go).
const PULL_REASONS: [&str; 6] = [
    "ErrImagePull",
    "ImagePullBackOff",
    "InvalidImageName",
    "ErrImageNeverPull",
    "ImageInspectError",
    "RegistryUnavailable",
];

/// Why the pull failed, from the runtime's error text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PullCause {
    /// The repository or tag does not exist (`not found`, `manifest unknown`).
    NotFound,
    /// The registry refused the credentials or wants some (`unauthorized`,
    /// `access denied`, `authentication required`).
    Unauthorized,
    /// The registry could not be reached (`no such host`, `dial tcp`, `i/o timeout`).
    RegistryUnreachable,
    /// The reference does not parse (`invalid reference format`, `InvalidImageName`).
    InvalidReference,
    /// `imagePullPolicy: Never` and the image is not on the node.
    NeverPull,
    /// No message says why (a back-off whose pull error is not in the snapshot).
    Unknown,
}

impl PullCause {
    fn words(self) -> &'static str {
        match self {
            PullCause::NotFound => "image not found",
            PullCause::Unauthorized => "registry refused the credentials",
            PullCause::RegistryUnreachable => "registry unreachable",
            PullCause::InvalidReference => "invalid image reference",
            PullCause::NeverPull => "image not on the node and pull policy Never",
            PullCause::Unknown => "pull failed, no error text in the snapshot",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Failing {
    pub pod: String,
    pub container: String,
    pub container_kind: ContainerKind,
    pub image: String,
    pub reason: String,
    pub cause: PullCause,
    /// The registry host the reference resolves to (`docker.io` when none is named).
    pub registry: String,
    /// The runtime's error text (waiting message or latest `Failed` event).
    pub message: Option<String>,
    /// `spec.imagePullSecrets` names (never read).
    pub pull_secrets: Vec<String>,
    /// Pull secrets the kubelet reported it could not retrieve.
    pub missing_pull_secrets: Vec<String>,
    /// The object to edit (`deployment/api`).
    pub workload: String,
}

/// Its section of `docs/signals.md`.
const DOCS: &str = r#"
Keys on any container (init, native sidecar, main) waiting with `ErrImagePull`,
`ImagePullBackOff`, `InvalidImageName`, `ErrImageNeverPull`, `ImageInspectError`,
`RegistryUnavailable` (kubelet `pkg/kubelet/images/types.go`). The cause is classified
from the waiting message and the container's events (matched by
`involvedObject.fieldPath`): `not-found` (not found, manifest unknown), `unauthorized`
(unauthorized, access denied, authentication required; checked first because registries
answer an unauthenticated private pull with "repository does not exist or may require
authorization"), `registry-unreachable` (no such host, dial tcp, i/o timeout),
`invalid-reference`, `never-pull`, else `unknown`. Evidence: the image, the registry, the
`spec.imagePullSecrets` names; on a refused pull, or when the kubelet reports
`FailedToRetrieveImagePullSecret`, those Secrets are `causedBy` (never read). Fix:
`kubectl set image <deployment> <container>=...` or `kubectl create secret
docker-registry ...`. Look-alikes: `ContainerCreating`, a running container with an old
pull failure event.
"#;

impl Signal for ImagePull {
    fn id(&self) -> &'static str {
        ID
    }

    fn title(&self) -> &'static str {
        "container images can be pulled"
    }

    fn reads(&self) -> &'static [Kind] {
        &[Kind::Pod, Kind::ReplicaSet, Kind::Event]
    }

    fn docs(&self) -> &'static str {
        DOCS
    }

    fn evaluate(&self, context: &Context) -> Finding {
        let pods = in_namespace(&context.snapshot.pods, context.namespace);
        let mut finding = Finding::ok(ID, "");
        let mut failing = Vec::new();
        let mut apps = Vec::new();
        for pod in &pods {
            let events = context.warnings_for(Kind::Pod, pod.name());
            for view in pod_state::containers(pod) {
                let Some(reason) = view.waiting_reason().filter(|r| PULL_REASONS.contains(r))
                else {
                    continue;
                };
                failing.push(describe(context, pod, &view, reason, &events, &mut finding));
                apps.extend(context.app_of(&pod.metadata));
            }
        }
        if failing.is_empty() {
            finding.summary = format!(
                "{} pod(s), no container failing to pull its image",
                pods.len()
            );
            return finding;
        }
        finding.status = Status::Fail;
        finding.scope = context.scope(apps);
        finding.summary = failing
            .iter()
            .map(|f| {
                format!(
                    "{} `{}` in pod `{}` {}: `{}` ({})",
                    f.container_kind.noun(),
                    f.container,
                    f.pod,
                    f.reason,
                    f.image,
                    f.cause.words()
                )
            })
            .collect::<Vec<_>>()
            .join("; ");
        let mut fixes: Vec<String> = failing.iter().map(fix_for).collect();
        fixes.dedup();
        finding.fix = Some(fixes.join("; "));
        finding.detail("failing", &failing);
        finding
    }
}

fn describe(
    context: &Context,
    pod: &Pod,
    view: &ContainerView,
    reason: &str,
    events: &[&Event],
    finding: &mut Finding,
) -> Failing {
    let object = ObjectRef::of(Kind::Pod, pod);
    finding.add_object(object.clone());
    let base = view.status_path();
    let image = view.image().to_string();
    finding.evidence.push(Evidence::field_note(
        &object,
        format!("{base}.state.waiting.reason"),
        reason,
        format!("{} image `{image}`", view.label()),
    ));
    // The kubelet tags pull events with the container's field path; the
    // FailedToRetrieveImagePullSecret warning is about the pod as a whole.
    let own: Vec<&Event> = events
        .iter()
        .copied()
        .filter(|e| view.is_subject_of(e))
        .collect();
    let secret_events: Vec<&Event> = events
        .iter()
        .copied()
        .filter(|e| e.reason.as_deref() == Some("FailedToRetrieveImagePullSecret"))
        .collect();
    let waiting_message = view.waiting_message();
    // The most informative text: a `Failed to pull image` event holds the runtime's
    // error; the waiting message of a back-off often only says "Back-off pulling image".
    let failed_message = own
        .iter()
        .rev()
        .filter(|e| e.reason.as_deref() == Some("Failed"))
        .filter_map(|e| e.message.as_deref())
        .find(|m| m.starts_with("Failed to pull image") || m.contains("rpc error"));
    let texts: Vec<&str> = waiting_message
        .into_iter()
        .chain(own.iter().filter_map(|e| e.message.as_deref()))
        .collect();
    let cause = classify(reason, &pod_state::joined_lower(texts));
    let message = failed_message
        .or(waiting_message)
        .map(|m| m.trim().to_string());
    if let Some(text) = waiting_message {
        finding.evidence.push(Evidence::field_note(
            &object,
            format!("{base}.state.waiting.message"),
            text.trim(),
            cause.words(),
        ));
    }
    finding.evidence.push(Evidence::field(
        &object,
        format!("{}.image", view.spec_path()),
        image.clone(),
    ));
    let pull_secrets = pod_state::pull_secret_names(pod);
    if !pull_secrets.is_empty() {
        finding.evidence.push(Evidence::field(
            &object,
            "spec.imagePullSecrets",
            pull_secrets.join(","),
        ));
    }
    for event in own.iter().chain(&secret_events) {
        finding.evidence.push(Evidence::event(event));
    }
    let missing_pull_secrets: Vec<String> = secret_events
        .iter()
        .filter_map(|e| e.message.as_deref())
        .flat_map(unretrievable_secrets)
        .fold(Vec::new(), |mut all, name| {
            if !all.contains(&name) {
                all.push(name);
            }
            all
        });
    // A refused pull names its credentials as the cause: the pull secrets the pod
    // names (the Secret may be wrong or absent; triage never reads it to tell).
    if cause == PullCause::Unauthorized || !missing_pull_secrets.is_empty() {
        for name in pull_secrets.iter().chain(&missing_pull_secrets) {
            finding.add_cause(pod_state::secret_ref(pod.namespace(), name));
        }
    }
    Failing {
        pod: pod.name().to_string(),
        container: view.name.to_string(),
        container_kind: view.kind,
        registry: registry_of(&image),
        image,
        reason: reason.to_string(),
        cause,
        message,
        pull_secrets,
        missing_pull_secrets,
        workload: pod_state::workload_of(context.snapshot, pod),
    }
}

/// The runtime's error text in a word. Credentials are checked before "not found":
/// registries answer a private repository without credentials with
/// `pull access denied, repository does not exist or may require authorization`.
fn classify(reason: &str, text: &str) -> PullCause {
    let any = |needles: &[&str]| needles.iter().any(|n| text.contains(n));
    if reason == "InvalidImageName" || any(&["invalid reference format", "couldn't parse image"]) {
        PullCause::InvalidReference
    } else if reason == "ErrImageNeverPull" || text.contains("pull policy of never") {
        PullCause::NeverPull
    } else if any(&[
        "unauthorized",
        "access denied",
        "authentication required",
        "authorization failed",
        "no basic auth credentials",
        "403 forbidden",
        "requested access to the resource is denied",
    ]) {
        PullCause::Unauthorized
    } else if any(&[
        "not found",
        "manifest unknown",
        "name unknown",
        "does not exist",
    ]) {
        PullCause::NotFound
    } else if any(&[
        "no such host",
        "dial tcp",
        "i/o timeout",
        "connection refused",
        "tls handshake timeout",
        "network is unreachable",
        "context deadline exceeded",
    ]) || reason == "RegistryUnavailable"
    {
        PullCause::RegistryUnreachable
    } else {
        PullCause::Unknown
    }
}

/// The names in the kubelet's `Unable to retrieve some image pull secrets (a, b);
/// attempting to pull the image may not succeed.` (pkg/kubelet/kubelet_pods.go,
/// getPullSecretsForPod).
fn unretrievable_secrets(message: &str) -> Vec<String> {
    let Some((_, rest)) = message.split_once("image pull secrets (") else {
        return Vec::new();
    };
    let Some((names, _)) = rest.split_once(')') else {
        return Vec::new();
    };
    names
        .split(',')
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(str::to_string)
        .collect()
}

/// The registry host of an image reference: the first path component when it looks
/// like a host (has a `.` or `:`, or is `localhost`), else Docker Hub, as the
/// container runtimes resolve it (distribution/reference, ParseNormalizedNamed).
fn registry_of(image: &str) -> String {
    match image.split_once('/') {
        Some((first, _)) if first.contains(['.', ':']) || first == "localhost" => first.to_string(),
        _ => "docker.io".to_string(),
    }
}

fn fix_for(f: &Failing) -> String {
    let set_image = format!(
        "kubectl set image {} {}=<image:tag that exists>",
        f.workload, f.container
    );
    match f.cause {
        PullCause::NotFound | PullCause::InvalidReference => {
            format!("`{}` does not resolve: {set_image}", f.image)
        }
        PullCause::Unauthorized => {
            let secret = f
                .missing_pull_secrets
                .first()
                .or(f.pull_secrets.first())
                .cloned()
                .unwrap_or_else(|| "regcred".to_string());
            let attach = if f.pull_secrets.contains(&secret) {
                String::new()
            } else {
                format!(
                    " and name it in the pod's imagePullSecrets (or `kubectl patch serviceaccount default -p '{{\"imagePullSecrets\":[{{\"name\":\"{secret}\"}}]}}'`)"
                )
            };
            format!(
                "give the pull credentials for {}: kubectl create secret docker-registry {secret} --docker-server={} --docker-username=USER --docker-password=TOKEN --dry-run=client -o yaml | kubectl apply -f -{attach}",
                f.registry, f.registry
            )
        }
        PullCause::RegistryUnreachable => format!(
            "make registry `{}` resolvable and reachable from the node (DNS, egress, proxy), or {set_image}",
            f.registry
        ),
        PullCause::NeverPull => format!(
            "load `{}` onto the node or set imagePullPolicy: IfNotPresent on {} `{}` ({})",
            f.image,
            f.container_kind.noun(),
            f.container,
            f.workload
        ),
        PullCause::Unknown => format!(
            "kubectl describe pod {} (Events: the pull error), then correct the image or its pull secret",
            f.pod
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::Scope;
    use crate::signals::test_support::evaluate;

    fn pod(name: &str, extra_spec: &str, image: &str, state: &str) -> String {
        format!(
            r#"---
apiVersion: v1
kind: Pod
metadata:
  name: {name}
  namespace: shop
  labels: {{app.kubernetes.io/name: api}}
  ownerReferences: [{{apiVersion: apps/v1, kind: ReplicaSet, name: api-5f7c, uid: u1, controller: true}}]
spec:
  {extra_spec}
  containers: [{{name: app, image: "{image}"}}]
status:
  phase: Pending
  containerStatuses:
  - {{name: app, image: "{image}", imageID: "", ready: false, restartCount: 0, state: {state}}}
"#
        )
    }

    const REPLICA_SET: &str = r#"---
apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: api-5f7c
  namespace: shop
  ownerReferences: [{apiVersion: apps/v1, kind: Deployment, name: api, uid: u0, controller: true}]
spec: {selector: {}}
"#;

    fn event(pod: &str, container: &str, reason: &str, message: &str) -> String {
        format!(
            r#"---
apiVersion: v1
kind: Event
metadata: {{name: {pod}.{reason}, namespace: shop}}
involvedObject: {{kind: Pod, name: {pod}, namespace: shop, fieldPath: "spec.containers{{{container}}}"}}
reason: {reason}
type: Warning
count: 4
message: '{message}'
"#
        )
    }

    #[test]
    fn a_long_runtime_message_is_kept_whole_for_the_renderer_to_cut() {
        // 600 characters: the finding (and so `-o json`) keeps all of it; only the
        // table renderer shortens it for display.
        let tail = "x".repeat(520);
        let message =
            format!("Back-off pulling image \"registry.example.com/shop/api:9\": {tail} end");
        let text = format!(
            "{REPLICA_SET}{}",
            pod(
                "api-5f7c-a",
                "",
                "registry.example.com/shop/api:9",
                &format!("{{waiting: {{reason: ImagePullBackOff, message: '{message}'}}}}")
            ),
        );
        let finding = evaluate(&ImagePull, &text, "shop");
        assert_eq!(finding.status, Status::Fail, "{finding:?}");
        assert_eq!(finding.details["failing"][0]["message"], message.as_str());
        assert!(
            finding.evidence.iter().any(|e| matches!(
                e,
                Evidence::Field { value, .. } if *value == message
            )),
            "{:?}",
            finding.evidence
        );
    }

    #[test]
    fn back_off_on_a_missing_tag_fails_with_the_runtime_error_and_set_image_fix() {
        let text = format!(
            "{REPLICA_SET}{}{}{}",
            pod(
                "api-5f7c-a",
                "",
                "registry.example.com/shop/api:2025.03.9",
                "{waiting: {reason: ImagePullBackOff, message: 'Back-off pulling image \"registry.example.com/shop/api:2025.03.9\"'}}"
            ),
            event(
                "api-5f7c-a",
                "app",
                "Failed",
                "Failed to pull image \"registry.example.com/shop/api:2025.03.9\": rpc error: code = NotFound desc = failed to pull and unpack image: registry.example.com/shop/api:2025.03.9: not found"
            ),
            // An event about another container of the pod is not this one's evidence.
            event(
                "api-5f7c-a",
                "other",
                "Failed",
                "Failed to pull image \"x\": unauthorized"
            ),
        );
        let finding = evaluate(&ImagePull, &text, "shop");
        assert_eq!(finding.status, Status::Fail, "{finding:?}");
        assert_eq!(
            finding.summary,
            "container `app` in pod `api-5f7c-a` ImagePullBackOff: `registry.example.com/shop/api:2025.03.9` (image not found)"
        );
        assert_eq!(
            finding.objects,
            vec![ObjectRef::new(Kind::Pod, "shop", "api-5f7c-a")]
        );
        assert!(finding.caused_by.is_empty());
        assert_eq!(finding.scope, Scope::Apps(vec!["api".into()]));
        assert_eq!(
            finding.fix.as_deref(),
            Some(
                "`registry.example.com/shop/api:2025.03.9` does not resolve: kubectl set image deployment/api app=<image:tag that exists>"
            )
        );
        let failing = &finding.details["failing"][0];
        assert_eq!(failing["cause"], "not-found");
        assert_eq!(failing["registry"], "registry.example.com");
        assert!(
            failing["message"]
                .as_str()
                .unwrap()
                .contains("code = NotFound")
        );
        let events: Vec<&Evidence> = finding
            .evidence
            .iter()
            .filter(|e| matches!(e, Evidence::Event { .. }))
            .collect();
        assert_eq!(events.len(), 1, "{events:?}");
        assert!(finding.evidence.iter().any(|e| e.short()
            == "pod/api-5f7c-a status.containerStatuses[0].state.waiting.reason=ImagePullBackOff (container `app` image `registry.example.com/shop/api:2025.03.9`)"));
    }

    #[test]
    fn unauthorized_pull_names_the_pull_secret_as_cause() {
        let text = format!(
            "{}{}",
            pod(
                "api-5f7c-b",
                "imagePullSecrets: [{name: regcred}]",
                "ghcr.io/acme/api:1.2",
                "{waiting: {reason: ErrImagePull, message: 'failed to resolve reference \"ghcr.io/acme/api:1.2\": failed to authorize: failed to fetch anonymous token: 401 Unauthorized'}}"
            ),
            event(
                "api-5f7c-b",
                "app",
                "Failed",
                "Failed to pull image \"ghcr.io/acme/api:1.2\": pull access denied, repository does not exist or may require authorization"
            ),
        );
        let finding = evaluate(&ImagePull, &text, "shop");
        assert_eq!(finding.status, Status::Fail);
        assert_eq!(finding.details["failing"][0]["cause"], "unauthorized");
        assert_eq!(
            finding.caused_by,
            vec![pod_state::secret_ref("shop", "regcred")]
        );
        let fix = finding.fix.unwrap();
        assert!(
            fix.contains("kubectl create secret docker-registry regcred --docker-server=ghcr.io"),
            "{fix}"
        );
        // No ReplicaSet in the snapshot: the ReplicaSet is what can be named.
        assert_eq!(
            finding.details["failing"][0]["workload"],
            "replicaset/api-5f7c"
        );
    }

    #[test]
    fn invalid_name_in_a_native_sidecar_and_unreachable_registry_in_an_init_container() {
        let text = r#"apiVersion: v1
kind: Pod
metadata: {name: worker, namespace: shop}
spec:
  initContainers:
  - {name: fetch, image: "registry.internal:5000/tools/fetch:1"}
  - {name: proxy, image: "Envoy:Latest", restartPolicy: Always}
  containers: [{name: app, image: app}]
status:
  phase: Pending
  initContainerStatuses:
  - {name: fetch, image: "registry.internal:5000/tools/fetch:1", imageID: "", ready: false, restartCount: 0, state: {waiting: {reason: ErrImagePull, message: 'dial tcp: lookup registry.internal on 10.96.0.10:53: no such host'}}}
  - {name: proxy, image: "Envoy:Latest", imageID: "", ready: false, restartCount: 0, state: {waiting: {reason: InvalidImageName, message: 'Failed to apply default image tag "Envoy:Latest": couldnt parse image reference "Envoy:Latest": invalid reference format: repository name must be lowercase'}}}
  containerStatuses:
  - {name: app, image: app, imageID: "", ready: false, restartCount: 0, state: {waiting: {reason: PodInitializing}}}
"#;
        let finding = evaluate(&ImagePull, text, "shop");
        assert_eq!(finding.status, Status::Fail);
        let failing = finding.details["failing"].as_array().unwrap();
        let summary: Vec<(&str, &str, &str)> = failing
            .iter()
            .map(|f| {
                (
                    f["container"].as_str().unwrap(),
                    f["containerKind"].as_str().unwrap(),
                    f["cause"].as_str().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            summary,
            vec![
                ("fetch", "init", "registry-unreachable"),
                ("proxy", "sidecar", "invalid-reference")
            ]
        );
        assert_eq!(failing[0]["registry"], "registry.internal:5000");
        assert_eq!(failing[1]["registry"], "docker.io");
        assert_eq!(finding.scope, Scope::Namespace);
        assert!(
            finding
                .fix
                .unwrap()
                .contains("make registry `registry.internal:5000` resolvable")
        );
    }

    #[test]
    fn missing_pull_secret_reported_by_the_kubelet_is_a_cause() {
        let text = format!(
            "{}---\napiVersion: v1\nkind: Event\nmetadata: {{name: s, namespace: shop}}\ninvolvedObject: {{kind: Pod, name: api-5f7c-c, namespace: shop}}\nreason: FailedToRetrieveImagePullSecret\ntype: Warning\nmessage: 'Unable to retrieve some image pull secrets (regcred, mirror-cred); attempting to pull the image may not succeed.'\n",
            pod(
                "api-5f7c-c",
                "imagePullSecrets: [{name: regcred}, {name: mirror-cred}]",
                "private/api:1",
                "{waiting: {reason: ImagePullBackOff, message: 'Back-off pulling image \"private/api:1\"'}}"
            ),
        );
        let finding = evaluate(&ImagePull, &text, "shop");
        assert_eq!(finding.status, Status::Fail);
        assert_eq!(finding.details["failing"][0]["cause"], "unknown");
        assert_eq!(
            finding.caused_by,
            vec![
                pod_state::secret_ref("shop", "regcred"),
                pod_state::secret_ref("shop", "mirror-cred")
            ]
        );
        assert_eq!(
            finding.details["failing"][0]["missingPullSecrets"],
            serde_json::json!(["regcred", "mirror-cred"])
        );
    }

    #[test]
    fn look_alikes_pulling_creating_running_and_other_namespace_stay_green() {
        let text = format!(
            "{}{}{}---\napiVersion: v1\nkind: Pod\nmetadata: {{name: elsewhere, namespace: other}}\nspec: {{containers: [{{name: app, image: x}}]}}\nstatus:\n  phase: Pending\n  containerStatuses:\n  - {{name: app, image: x, imageID: '', ready: false, restartCount: 0, state: {{waiting: {{reason: ErrImagePull}}}}}}\n",
            pod(
                "api-1",
                "",
                "api:1",
                "{waiting: {reason: ContainerCreating}}"
            ),
            pod(
                "api-2",
                "",
                "api:1",
                "{running: {startedAt: '2025-03-02T10:00:00Z'}}"
            ),
            // A pull that failed before and has since succeeded: a Normal `Pulled`
            // and an old Warning remain, the container runs.
            event(
                "api-2",
                "app",
                "Failed",
                "Failed to pull image \"api:1\": i/o timeout"
            ),
        );
        let finding = evaluate(&ImagePull, &text, "shop");
        assert_eq!(finding.status, Status::Ok, "{finding:?}");
        assert_eq!(
            finding.summary,
            "2 pod(s), no container failing to pull its image"
        );
        assert!(finding.objects.is_empty() && finding.caused_by.is_empty());
    }

    #[test]
    fn classification_orders_credentials_before_not_found() {
        assert_eq!(
            classify(
                "ErrImagePull",
                "pull access denied, repository does not exist or may require authorization"
            ),
            PullCause::Unauthorized
        );
        assert_eq!(
            classify("ErrImagePull", "manifest unknown"),
            PullCause::NotFound
        );
        assert_eq!(classify("ErrImageNeverPull", ""), PullCause::NeverPull);
        assert_eq!(
            classify("ImagePullBackOff", "back-off pulling image"),
            PullCause::Unknown
        );
        assert_eq!(registry_of("localhost/x"), "localhost");
        assert_eq!(registry_of("library/nginx"), "docker.io");
        assert_eq!(registry_of("nginx"), "docker.io");
        assert_eq!(
            unretrievable_secrets("Unable to retrieve some image pull secrets (a); attempting"),
            vec!["a"]
        );
    }
}
