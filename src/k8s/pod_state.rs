//! Pod and container state as the kubelet reports it, shared by the pod-level signals
//! (image-pull, crash-loop, oom-killed, container-config, mount, probe): every
//! container's status paired with its spec and its kind (init, native sidecar, main),
//! the exact status paths for evidence, the events about one container, and the object
//! names the kubelet's messages cite (`secret "x" not found`). Pure functions of a Pod.
//! https://kubernetes.io/docs/concepts/workloads/pods/pod-lifecycle/#container-states

use k8s_openapi::api::core::v1::{
    Container, ContainerStateTerminated, ContainerStateWaiting, ContainerStatus, Event, Pod,
};
use serde::Serialize;

use crate::finding::ObjectRef;
use crate::snapshot::HasMeta;

/// Which list of the pod spec a container comes from, and how it behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ContainerKind {
    /// `spec.initContainers` that run to completion, one after the other.
    Init,
    /// `spec.initContainers` with `restartPolicy: Always`: a native sidecar (KEP-753,
    /// on by default since Kubernetes 1.29). It starts in init order, then keeps
    /// running beside the main containers and is restarted like one: Running is its
    /// healthy state, not a stuck init step.
    /// https://kubernetes.io/docs/concepts/workloads/pods/sidecar-containers/
    Sidecar,
    /// `spec.containers`.
    Main,
}

impl ContainerKind {
    /// The words a summary uses: `init container`, `sidecar`, `container`.
    pub fn noun(self) -> &'static str {
        match self {
            ContainerKind::Init => "init container",
            ContainerKind::Sidecar => "sidecar",
            ContainerKind::Main => "container",
        }
    }

    /// The status list it is reported in.
    pub fn status_field(self) -> &'static str {
        match self {
            ContainerKind::Main => "containerStatuses",
            _ => "initContainerStatuses",
        }
    }

    /// The spec list it is declared in.
    pub fn spec_field(self) -> &'static str {
        match self {
            ContainerKind::Main => "containers",
            _ => "initContainers",
        }
    }
}

/// Since when the pod has existed as far as its own fields tell: the earliest of its
/// creation, its start and its conditions' transitions. On a live cluster that is the
/// creation time; a pod re-created from a backup or a fixture keeps the older times its
/// status carries, so its age is not reset by the copy.
pub fn pending_since(pod: &Pod) -> Option<&k8s_openapi::apimachinery::pkg::apis::meta::v1::Time> {
    let status = pod.status.as_ref();
    pod.metadata
        .creation_timestamp
        .iter()
        .chain(status.and_then(|s| s.start_time.as_ref()))
        .chain(
            status
                .and_then(|s| s.conditions.as_ref())
                .into_iter()
                .flatten()
                .filter_map(|c| c.last_transition_time.as_ref()),
        )
        .min_by_key(|t| t.0)
}

/// An init container with `restartPolicy: Always` is a native sidecar (KEP-753;
/// `isRestartableInitContainer` in kubectl's printers and the kubelet). The field is
/// only allowed on init containers, so a main container is never one.
pub fn is_native_sidecar(container: &Container) -> bool {
    container.restart_policy.as_deref() == Some("Always")
}

/// One container of a pod: its spec, its status (either may be missing: a pod not yet
/// started has no statuses; a snapshot may lack the spec), and where each lives.
#[derive(Debug, Clone, Copy)]
pub struct ContainerView<'a> {
    pub pod: &'a Pod,
    pub kind: ContainerKind,
    pub name: &'a str,
    pub spec: Option<&'a Container>,
    /// Position in `spec.initContainers` / `spec.containers`.
    pub spec_index: Option<usize>,
    pub status: Option<&'a ContainerStatus>,
    /// Position in `status.initContainerStatuses` / `status.containerStatuses`.
    pub status_index: Option<usize>,
}

impl<'a> ContainerView<'a> {
    /// `status.containerStatuses[1]`, for evidence paths (`<base>.state.waiting.reason`).
    /// A container without a status still gets the list's path, indexed by name.
    pub fn status_path(&self) -> String {
        match self.status_index {
            Some(index) => format!("status.{}[{index}]", self.kind.status_field()),
            None => format!("status.{}[{}]", self.kind.status_field(), self.name),
        }
    }

    /// `spec.containers[0]`, for evidence about the spec (probes, limits, env).
    pub fn spec_path(&self) -> String {
        match self.spec_index {
            Some(index) => format!("spec.{}[{index}]", self.kind.spec_field()),
            None => format!("spec.{}[{}]", self.kind.spec_field(), self.name),
        }
    }

    /// `container `app``, `sidecar `proxy``, `init container `migrate``.
    pub fn label(&self) -> String {
        format!("{} `{}`", self.kind.noun(), self.name)
    }

    pub fn waiting(&self) -> Option<&'a ContainerStateWaiting> {
        self.status?.state.as_ref()?.waiting.as_ref()
    }

    pub fn waiting_reason(&self) -> Option<&'a str> {
        self.waiting()?.reason.as_deref().filter(|r| !r.is_empty())
    }

    pub fn waiting_message(&self) -> Option<&'a str> {
        self.waiting()?.message.as_deref().filter(|m| !m.is_empty())
    }

    /// The current state when it is terminated.
    pub fn terminated(&self) -> Option<&'a ContainerStateTerminated> {
        self.status?.state.as_ref()?.terminated.as_ref()
    }

    /// The previous run's termination (`lastState.terminated`).
    pub fn last_terminated(&self) -> Option<&'a ContainerStateTerminated> {
        self.status?.last_state.as_ref()?.terminated.as_ref()
    }

    /// The most recent termination: the current state if terminated, else the last
    /// one, with the path it was read from (`state` or `lastState`).
    pub fn latest_termination(&self) -> Option<(&'static str, &'a ContainerStateTerminated)> {
        self.terminated()
            .map(|t| ("state", t))
            .or_else(|| self.last_terminated().map(|t| ("lastState", t)))
    }

    pub fn running(&self) -> bool {
        self.status
            .and_then(|s| s.state.as_ref())
            .is_some_and(|s| s.running.is_some())
    }

    pub fn ready(&self) -> bool {
        self.status.is_some_and(|s| s.ready)
    }

    pub fn restarts(&self) -> i32 {
        self.status.map_or(0, |s| s.restart_count)
    }

    /// The image the spec asks for, else the one the status reports.
    pub fn image(&self) -> &'a str {
        self.spec
            .and_then(|c| c.image.as_deref())
            .or_else(|| self.status.map(|s| s.image.as_str()))
            .unwrap_or_default()
    }

    /// Whether `event` is about this container: the kubelet sets the event's
    /// `involvedObject.fieldPath` to `spec.containers{name}` (or `initContainers`)
    /// for per-container events (pulls, probes, back-offs).
    pub fn is_subject_of(&self, event: &Event) -> bool {
        event_container(event) == Some(self.name)
    }
}

/// Every container of `pod` in the order the kubelet starts them: init containers
/// and sidecars in spec order, then main containers. Statuses are paired with their
/// spec by name; a status whose container is not in the spec is still listed.
pub fn containers(pod: &Pod) -> Vec<ContainerView<'_>> {
    let spec = pod.spec.as_ref();
    let status = pod.status.as_ref();
    let init_specs = spec
        .and_then(|s| s.init_containers.as_deref())
        .unwrap_or_default();
    let main_specs = spec.map(|s| s.containers.as_slice()).unwrap_or_default();
    let init_statuses = status
        .and_then(|s| s.init_container_statuses.as_deref())
        .unwrap_or_default();
    let main_statuses = status
        .and_then(|s| s.container_statuses.as_deref())
        .unwrap_or_default();
    let mut views = Vec::new();
    for (specs, statuses, init) in [
        (init_specs, init_statuses, true),
        (main_specs, main_statuses, false),
    ] {
        let kind_of = |container: Option<&Container>| match (init, container) {
            (false, _) => ContainerKind::Main,
            (true, Some(c)) if is_native_sidecar(c) => ContainerKind::Sidecar,
            (true, _) => ContainerKind::Init,
        };
        for (spec_index, container) in specs.iter().enumerate() {
            let status_index = statuses.iter().position(|s| s.name == container.name);
            views.push(ContainerView {
                pod,
                kind: kind_of(Some(container)),
                name: &container.name,
                spec: Some(container),
                spec_index: Some(spec_index),
                status: status_index.map(|i| &statuses[i]),
                status_index,
            });
        }
        for (status_index, status) in statuses.iter().enumerate() {
            if specs.iter().any(|c| c.name == status.name) {
                continue;
            }
            views.push(ContainerView {
                pod,
                kind: kind_of(None),
                name: &status.name,
                spec: None,
                spec_index: None,
                status: Some(status),
                status_index: Some(status_index),
            });
        }
    }
    views
}

/// `status.phase`, `Unknown` when absent (as kubectl prints it).
pub fn phase(pod: &Pod) -> &str {
    pod.status
        .as_ref()
        .and_then(|s| s.phase.as_deref())
        .unwrap_or("Unknown")
}

/// Succeeded or Failed: the kubelet never restarts its containers again
/// (`IsPodPhaseTerminal`, pkg/api/v1/pod/util.go).
pub fn is_terminal(pod: &Pod) -> bool {
    matches!(phase(pod), "Succeeded" | "Failed")
}

/// The container an event is about, from `involvedObject.fieldPath`
/// (`spec.containers{app}`, `spec.initContainers{wait}`); `None` for pod-level events
/// (FailedMount, FailedScheduling).
pub fn event_container(event: &Event) -> Option<&str> {
    let path = event.involved_object.field_path.as_deref()?;
    let (_, rest) = path.split_once('{')?;
    rest.strip_suffix('}')
}

/// A Secret named by a pod's spec or the kubelet's messages. Secrets are never read:
/// this is only a name, for `caused_by`.
pub fn secret_ref(namespace: &str, name: &str) -> ObjectRef {
    ObjectRef {
        kind: "Secret".to_string(),
        namespace: namespace.to_string(),
        name: name.to_string(),
    }
}

/// `spec.imagePullSecrets` names (only names: the Secrets are never read).
pub fn pull_secret_names(pod: &Pod) -> Vec<String> {
    pod.spec
        .as_ref()
        .and_then(|s| s.image_pull_secrets.as_ref())
        .into_iter()
        .flatten()
        .filter_map(|r| Some(r.name.clone()).filter(|n| !n.is_empty()))
        .collect()
}

/// The names in `<resource> "NAME" not found` within `text`, for any of `resources`
/// (the API's NotFound error: `configmap "app-config" not found`, or its plural form
/// `persistentvolumeclaims "data" not found`), in order, without duplicates. The
/// resource word must start a word so `secret` does not match `mysecret`.
pub fn not_found_names(text: &str, resources: &[&str]) -> Vec<String> {
    let lower = text.to_ascii_lowercase();
    let mut names = Vec::new();
    for resource in resources {
        let needle = format!("{resource} \"");
        let mut from = 0;
        while let Some(found) = lower[from..].find(&needle) {
            let start = from + found;
            from = start + needle.len();
            let boundary = lower[..start]
                .chars()
                .next_back()
                .is_none_or(|c| !c.is_ascii_alphanumeric() && c != '-' && c != '.');
            if !boundary {
                continue;
            }
            let rest = &text[from..];
            let Some(end) = rest.find('"') else { break };
            let name = &rest[..end];
            if !name.is_empty()
                && rest[end + 1..].trim_start().starts_with("not found")
                && !names.iter().any(|n| n == name)
            {
                names.push(name.to_string());
            }
        }
    }
    names
}

/// A key the kubelet could not find: `couldn't find key KEY in Secret NS/NAME`
/// (kubelet_pods.go, makeEnvironmentVariables), for `kind` `Secret` or `ConfigMap`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct MissingKey {
    pub key: String,
    pub name: String,
}

pub fn missing_keys(text: &str, kind: &str) -> Vec<MissingKey> {
    let needle = "couldn't find key ";
    let marker = format!(" in {kind} ");
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(at) = text[from..].find(needle) {
        let start = from + at + needle.len();
        from = start;
        let rest = &text[start..];
        let Some(key_end) = rest.find(' ') else { break };
        let key = &rest[..key_end];
        let Some(after) = rest[key_end..].strip_prefix(marker.as_str()) else {
            continue;
        };
        let object: String = after
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '/' | '_'))
            .collect();
        let object = object.trim_end_matches('.');
        let name = object.rsplit('/').next().unwrap_or_default();
        if !key.is_empty() && !name.is_empty() {
            let item = MissingKey {
                key: key.to_string(),
                name: name.to_string(),
            };
            if !found.contains(&item) {
                found.push(item);
            }
        }
    }
    found
}

/// The pod's controller (`ownerReferences` with `controller: true`), as `Kind/name`.
pub fn controller_of(pod: &Pod) -> Option<(&str, &str)> {
    crate::k8s::workload::controller_of(&pod.metadata).map(|o| (o.kind.as_str(), o.name.as_str()))
}

/// What an engineer would `kubectl set image`/`edit`: the workload owning the pod
/// (`crate::k8s::workload::workload_of`: the Deployment behind its ReplicaSet, ...), else
/// its controller of another kind, else the pod itself, as `deployment/api`.
pub fn workload_of(snapshot: &crate::snapshot::Snapshot, pod: &Pod) -> String {
    if let Some((kind, name)) = crate::k8s::workload::workload_of(snapshot, pod) {
        return crate::k8s::workload::kubectl_name(kind, &name);
    }
    match controller_of(pod) {
        Some((kind, name)) => format!("{}/{name}", kind.to_ascii_lowercase()),
        None => format!("pod/{}", pod.name()),
    }
}

/// A place where a pod spec names a ConfigMap (and maybe a key of it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConfigMapUse {
    pub name: String,
    pub key: Option<String>,
    /// `optional: true`: the kubelet skips it when missing (kubelet_pods.go,
    /// makeEnvironmentVariables; the configmap volume plugin).
    pub optional: bool,
    /// Where, as a spec path (`spec.containers[0].env[2].valueFrom.configMapKeyRef`).
    pub path: String,
}

/// What is wrong with a ConfigMap reference in the snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RefProblem {
    /// No ConfigMap of that name in the namespace.
    MissingConfigMap,
    /// The ConfigMap exists without the key (in `data` or `binaryData`).
    MissingKey,
}

/// The ConfigMaps `view`'s container reads through `env` (`configMapKeyRef`),
/// `envFrom` (`configMapRef`) and the `configMap` and projected `configMap` volumes
/// it mounts.
pub fn config_map_refs(view: &ContainerView) -> Vec<ConfigMapUse> {
    let Some(container) = view.spec else {
        return Vec::new();
    };
    let base = view.spec_path();
    let mut refs = Vec::new();
    for (index, env) in container.env.iter().flatten().enumerate() {
        if let Some(selector) = env
            .value_from
            .as_ref()
            .and_then(|v| v.config_map_key_ref.as_ref())
        {
            refs.push(ConfigMapUse {
                name: selector.name.clone(),
                key: Some(selector.key.clone()),
                optional: selector.optional == Some(true),
                path: format!("{base}.env[{index}].valueFrom.configMapKeyRef"),
            });
        }
    }
    for (index, source) in container.env_from.iter().flatten().enumerate() {
        if let Some(source) = &source.config_map_ref {
            refs.push(ConfigMapUse {
                name: source.name.clone(),
                key: None,
                optional: source.optional == Some(true),
                path: format!("{base}.envFrom[{index}].configMapRef"),
            });
        }
    }
    let mounted: Vec<&str> = container
        .volume_mounts
        .iter()
        .flatten()
        .map(|m| m.name.as_str())
        .collect();
    refs.extend(
        volume_config_map_refs(view.pod)
            .into_iter()
            .filter(|(volume, _)| mounted.contains(&volume.as_str()))
            .map(|(_, r)| r),
    );
    refs
}

/// Every ConfigMap the pod's `configMap` and projected volumes name, with the volume.
pub fn volume_config_map_refs(pod: &Pod) -> Vec<(String, ConfigMapUse)> {
    let mut refs = Vec::new();
    let volumes = pod
        .spec
        .as_ref()
        .and_then(|s| s.volumes.as_deref())
        .unwrap_or_default();
    for (index, volume) in volumes.iter().enumerate() {
        let mut push = |name: &str,
                        items: Option<&Vec<k8s_openapi::api::core::v1::KeyToPath>>,
                        optional: Option<bool>,
                        path: String| {
            let keys: Vec<Option<String>> = match items.filter(|i| !i.is_empty()) {
                Some(items) => items.iter().map(|i| Some(i.key.clone())).collect(),
                None => vec![None],
            };
            for key in keys {
                refs.push((
                    volume.name.clone(),
                    ConfigMapUse {
                        name: name.to_string(),
                        key,
                        optional: optional == Some(true),
                        path: path.clone(),
                    },
                ));
            }
        };
        if let Some(source) = &volume.config_map {
            push(
                &source.name,
                source.items.as_ref(),
                source.optional,
                format!("spec.volumes[{index}].configMap"),
            );
        }
        for (at, projection) in volume
            .projected
            .iter()
            .flat_map(|p| p.sources.iter().flatten())
            .enumerate()
        {
            if let Some(source) = &projection.config_map {
                push(
                    &source.name,
                    source.items.as_ref(),
                    source.optional,
                    format!("spec.volumes[{index}].projected.sources[{at}].configMap"),
                );
            }
        }
    }
    refs
}

/// Whether `reference` resolves among `config_maps` (the namespace's). An optional
/// reference is never a problem.
pub fn config_map_problem(
    config_maps: &[&k8s_openapi::api::core::v1::ConfigMap],
    reference: &ConfigMapUse,
) -> Option<RefProblem> {
    if reference.optional {
        return None;
    }
    let Some(config_map) = config_maps.iter().find(|c| c.name() == reference.name) else {
        return Some(RefProblem::MissingConfigMap);
    };
    let key = reference.key.as_deref()?;
    let present = config_map
        .data
        .as_ref()
        .is_some_and(|d| d.contains_key(key))
        || config_map
            .binary_data
            .as_ref()
            .is_some_and(|d| d.contains_key(key));
    (!present).then_some(RefProblem::MissingKey)
}

/// The messages of `events` and `extra` texts joined, lowercased, for classifying.
pub fn joined_lower<'e>(texts: impl IntoIterator<Item = &'e str>) -> String {
    texts
        .into_iter()
        .collect::<Vec<_>>()
        .join("\n")
        .to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_copied_pod_keeps_the_age_its_status_carries() {
        let pod: Pod = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "p", "creationTimestamp": "2026-01-01T00:00:00Z"},
            "status": {"phase": "Pending", "conditions": [
                {"type": "PodScheduled", "status": "True", "lastTransitionTime": "2025-06-12T14:00:00Z"}
            ]}
        }))
        .unwrap();
        assert_eq!(
            pending_since(&pod).map(|t| t.0.to_string()),
            Some("2025-06-12T14:00:00Z".to_string())
        );
        let fresh: Pod = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "p", "creationTimestamp": "2025-06-12T13:00:00Z"},
            "status": {"conditions": [
                {"type": "PodScheduled", "status": "True", "lastTransitionTime": "2025-06-12T13:00:01Z"}
            ]}
        }))
        .unwrap();
        assert_eq!(
            pending_since(&fresh).map(|t| t.0.to_string()),
            Some("2025-06-12T13:00:00Z".to_string())
        );
    }

    fn pod(yaml: &str) -> Pod {
        serde_saphyr::from_str(yaml).unwrap()
    }

    const SIDECAR_POD: &str = r#"
apiVersion: v1
kind: Pod
metadata: {name: p, namespace: app}
spec:
  initContainers:
  - {name: migrate, image: m}
  - {name: proxy, image: envoy, restartPolicy: Always}
  containers:
  - {name: app, image: a}
status:
  phase: Running
  initContainerStatuses:
  - {name: proxy, image: envoy, imageID: "", ready: true, restartCount: 1, started: true, state: {running: {}}}
  - {name: migrate, image: m, imageID: "", ready: true, restartCount: 0, state: {terminated: {exitCode: 0, reason: Completed}}}
  containerStatuses:
  - {name: app, image: a, imageID: "", ready: false, restartCount: 2, state: {waiting: {reason: CrashLoopBackOff}}, lastState: {terminated: {exitCode: 1, reason: Error}}}
  - {name: ghost, image: g, imageID: "", ready: false, restartCount: 0}
"#;

    #[test]
    fn containers_pair_spec_and_status_by_name_with_kinds() {
        let p = pod(SIDECAR_POD);
        let views = containers(&p);
        let summary: Vec<(ContainerKind, &str, Option<usize>, Option<usize>)> = views
            .iter()
            .map(|v| (v.kind, v.name, v.spec_index, v.status_index))
            .collect();
        assert_eq!(
            summary,
            vec![
                (ContainerKind::Init, "migrate", Some(0), Some(1)),
                (ContainerKind::Sidecar, "proxy", Some(1), Some(0)),
                (ContainerKind::Main, "app", Some(0), Some(0)),
                (ContainerKind::Main, "ghost", None, Some(1)),
            ]
        );
        let proxy = &views[1];
        assert_eq!(proxy.status_path(), "status.initContainerStatuses[0]");
        assert_eq!(proxy.spec_path(), "spec.initContainers[1]");
        assert!(proxy.running() && proxy.ready());
        assert_eq!(proxy.label(), "sidecar `proxy`");
        let app = &views[2];
        assert_eq!(app.waiting_reason(), Some("CrashLoopBackOff"));
        assert_eq!(app.restarts(), 2);
        assert_eq!(
            app.latest_termination().map(|(at, t)| (at, t.exit_code)),
            Some(("lastState", 1))
        );
        assert_eq!(views[3].image(), "g");
        assert_eq!(views[3].spec_path(), "spec.containers[ghost]");
    }

    #[test]
    fn a_pod_without_spec_or_status_has_no_panic() {
        let bare = pod("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\n");
        assert!(containers(&bare).is_empty());
        assert_eq!(phase(&bare), "Unknown");
        assert!(!is_terminal(&bare));
        assert!(pull_secret_names(&bare).is_empty());
        assert_eq!(controller_of(&bare), None);
        let unstarted = pod(
            "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: app}]}\nstatus: {phase: Pending}\n",
        );
        let views = containers(&unstarted);
        assert_eq!(views.len(), 1);
        assert_eq!(views[0].status_path(), "status.containerStatuses[app]");
        assert_eq!(views[0].waiting_reason(), None);
        assert!(!views[0].running());
    }

    #[test]
    fn not_found_names_parse_the_api_error_forms() {
        assert_eq!(
            not_found_names(
                r#"MountVolume.SetUp failed for volume "cfg" : configmap "app-config" not found"#,
                &["configmap", "configmaps"]
            ),
            vec!["app-config"]
        );
        assert_eq!(
            not_found_names(r#"secret "db-creds" not found"#, &["secret"]),
            vec!["db-creds"]
        );
        // The word must start a word, and the quote must be followed by `not found`.
        assert!(not_found_names(r#"mysecret "x" not found"#, &["secret"]).is_empty());
        assert!(not_found_names(r#"secret "x" is forbidden"#, &["secret"]).is_empty());
        assert_eq!(
            not_found_names(
                r#"persistentvolumeclaims "data" not found; persistentvolumeclaim "data" not found"#,
                &["persistentvolumeclaim", "persistentvolumeclaims"]
            ),
            vec!["data"]
        );
        assert!(not_found_names(r#"secret "unterminated"#, &["secret"]).is_empty());
    }

    #[test]
    fn missing_keys_parse_the_kubelet_message() {
        assert_eq!(
            missing_keys(
                "couldn't find key password in Secret shop/db-creds",
                "Secret"
            ),
            vec![MissingKey {
                key: "password".into(),
                name: "db-creds".into()
            }]
        );
        assert!(
            missing_keys(
                "couldn't find key password in Secret shop/db-creds",
                "ConfigMap"
            )
            .is_empty()
        );
        assert_eq!(
            missing_keys(
                "Error: couldn't find key LOG_LEVEL in ConfigMap shop/app-config.",
                "ConfigMap"
            ),
            vec![MissingKey {
                key: "LOG_LEVEL".into(),
                name: "app-config".into()
            }]
        );
    }

    #[test]
    fn workload_is_the_deployment_behind_the_replica_set() {
        let snapshot = crate::signals::test_support::snapshot(
            r#"apiVersion: v1
kind: List
items:
- apiVersion: apps/v1
  kind: ReplicaSet
  metadata:
    name: api-7d9f
    namespace: app
    ownerReferences: [{apiVersion: apps/v1, kind: Deployment, name: api, uid: u1, controller: true}]
  spec: {selector: {}}
- apiVersion: v1
  kind: Pod
  metadata:
    name: api-7d9f-x
    namespace: app
    ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: api-7d9f, uid: u2, controller: true}]
- apiVersion: v1
  kind: Pod
  metadata:
    name: db-0
    namespace: app
    ownerReferences: [{apiVersion: apps/v1, kind: StatefulSet, name: db, uid: u3, controller: true}]
- apiVersion: v1
  kind: Pod
  metadata: {name: bare, namespace: app}
"#,
        );
        let by_name = |name: &str| snapshot.pods.iter().find(|p| p.name() == name).unwrap();
        assert_eq!(
            workload_of(&snapshot, by_name("api-7d9f-x")),
            "deployment/api"
        );
        assert_eq!(workload_of(&snapshot, by_name("db-0")), "statefulset/db");
        assert_eq!(workload_of(&snapshot, by_name("bare")), "pod/bare");
    }

    #[test]
    fn config_map_refs_cover_env_env_from_and_mounted_volumes_only() {
        let p = pod(r#"
apiVersion: v1
kind: Pod
metadata: {name: p, namespace: app}
spec:
  containers:
  - name: app
    env:
    - {name: A, value: x}
    - {name: LOG, valueFrom: {configMapKeyRef: {name: app-config, key: log-level}}}
    - {name: OPT, valueFrom: {configMapKeyRef: {name: extra, key: k, optional: true}}}
    envFrom: [{configMapRef: {name: app-env}}, {secretRef: {name: s}}]
    volumeMounts: [{name: cfg, mountPath: /etc/cfg}, {name: proj, mountPath: /etc/p}]
  volumes:
  - {name: cfg, configMap: {name: files, items: [{key: a.yaml, path: a.yaml}, {key: b.yaml, path: b.yaml}]}}
  - {name: proj, projected: {sources: [{secret: {name: s}}, {configMap: {name: bundle}}]}}
  - {name: unmounted, configMap: {name: nobody}}
"#);
        let views = containers(&p);
        let refs = config_map_refs(&views[0]);
        let short: Vec<(&str, Option<&str>, bool, &str)> = refs
            .iter()
            .map(|r| {
                (
                    r.name.as_str(),
                    r.key.as_deref(),
                    r.optional,
                    r.path.as_str(),
                )
            })
            .collect();
        assert_eq!(
            short,
            vec![
                (
                    "app-config",
                    Some("log-level"),
                    false,
                    "spec.containers[0].env[1].valueFrom.configMapKeyRef"
                ),
                (
                    "extra",
                    Some("k"),
                    true,
                    "spec.containers[0].env[2].valueFrom.configMapKeyRef"
                ),
                (
                    "app-env",
                    None,
                    false,
                    "spec.containers[0].envFrom[0].configMapRef"
                ),
                ("files", Some("a.yaml"), false, "spec.volumes[0].configMap"),
                ("files", Some("b.yaml"), false, "spec.volumes[0].configMap"),
                (
                    "bundle",
                    None,
                    false,
                    "spec.volumes[1].projected.sources[1].configMap"
                ),
            ]
        );
        assert_eq!(volume_config_map_refs(&p).len(), 4);
        let cm: k8s_openapi::api::core::v1::ConfigMap =
            serde_saphyr::from_str("metadata: {name: files}\ndata: {a.yaml: x}\n").unwrap();
        let maps = [&cm];
        assert_eq!(config_map_problem(&maps, &refs[3]), None);
        assert_eq!(
            config_map_problem(&maps, &refs[4]),
            Some(RefProblem::MissingKey)
        );
        assert_eq!(
            config_map_problem(&maps, &refs[0]),
            Some(RefProblem::MissingConfigMap)
        );
        assert_eq!(config_map_problem(&maps, &refs[1]), None, "optional");
    }

    #[test]
    fn event_container_reads_the_field_path() {
        let event: Event = serde_saphyr::from_str(
            "metadata: {name: e}\ninvolvedObject: {kind: Pod, name: p, fieldPath: 'spec.initContainers{wait}'}\n",
        )
        .unwrap();
        assert_eq!(event_container(&event), Some("wait"));
        let pod_level: Event =
            serde_saphyr::from_str("metadata: {name: e}\ninvolvedObject: {kind: Pod, name: p}\n")
                .unwrap();
        assert_eq!(event_container(&pod_level), None);
    }
}
