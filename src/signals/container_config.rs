//! `container-config`: a container the kubelet cannot create or start from its spec:
//! waiting `CreateContainerConfigError` (the kubelet could not build its config: a
//! ConfigMap, Secret or key its env names is missing, runAsNonRoot on a root image),
//! `CreateContainerError` or `RunContainerError` (pkg/kubelet/container/sync_result.go,
//! pkg/kubelet/kuberuntime), or terminated `StartError`/`ContainerCannotRun` (exit 128:
//! the runtime could not exec the command, `executable file not found in $PATH`).
//! ConfigMaps the container reads (`env[].valueFrom.configMapKeyRef`,
//! `envFrom[].configMapRef`, mounted `configMap` and projected volumes) are checked
//! against the snapshot, honouring `optional: true`. Secrets are never read: they are
//! named only from the kubelet's messages (`secret "x" not found`, `couldn't find key
//! k in Secret ns/x`, kubelet_pods.go makeEnvironmentVariables).
//! https://kubernetes.io/docs/tasks/configure-pod-container/configure-pod-configmap/#restrictions

use k8s_openapi::api::core::v1::{ConfigMap, Pod};
use serde::Serialize;

use crate::finding::{Context, Evidence, Finding, ObjectRef, Status};
use crate::k8s::pod_state::{self, ContainerKind, ContainerView, RefProblem};
use crate::signals::Signal;
use crate::snapshot::{HasMeta, Kind, in_namespace};

pub struct ContainerConfig;

pub const ID: &str = "container-config";

/// Waiting reasons of a container that cannot be created or started.
const WAITING_REASONS: [&str; 3] = [
    "CreateContainerConfigError",
    "CreateContainerError",
    "RunContainerError",
];

/// Terminated reasons of a process the runtime could not start (containerd reports
/// `StartError`, dockershim reported `ContainerCannotRun`), both with exit code 128.
const START_REASONS: [&str; 2] = ["StartError", "ContainerCannotRun"];

/// What the kubelet could not resolve, or what the runtime could not run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Missing {
    /// `ConfigMap` or `Secret`.
    pub kind: String,
    pub name: String,
    pub key: Option<String>,
    /// Where it is named: a spec path, or `kubelet message` for Secrets.
    pub source: String,
    /// For a missing ConfigMap: the keys the container's spec reads from it, so the
    /// one that is created has them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub needed_keys: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Failing {
    pub pod: String,
    pub container: String,
    pub container_kind: ContainerKind,
    /// The waiting or terminated reason.
    pub reason: String,
    pub message: Option<String>,
    /// `missing-config`, `executable-not-found`, `run-as-non-root`, `start-failed`, `other`.
    pub problem: String,
    pub missing: Vec<Missing>,
    /// The command as the spec gives it, for an executable the runtime did not find.
    pub command: Option<String>,
    pub workload: String,
}

/// Its section of `docs/signals.md`.
const DOCS: &str = r#"
Keys on containers waiting `CreateContainerConfigError`, `CreateContainerError`,
`RunContainerError` (`pkg/kubelet/container/sync_result.go`), or whose latest termination
is `StartError`/`ContainerCannotRun` (exit 128, `executable file not found`) while not up.
The ConfigMaps the container reads (`env[].valueFrom.configMapKeyRef`,
`envFrom[].configMapRef`, mounted `configMap` and projected volumes) are checked against
the snapshot, honouring `optional: true`; Secrets only from the kubelet's messages
(`secret "x" not found`, `couldn't find key k in Secret ns/x`). Missing objects are
`causedBy`. Fix: `kubectl create configmap`, `kubectl patch configmap ... data`,
`kubectl create secret generic`, or correct the command. Look-alikes: optional or present
references, an application crash (exit 1), an old StartError of a container Ready since.
"#;

impl Signal for ContainerConfig {
    fn id(&self) -> &'static str {
        ID
    }

    fn title(&self) -> &'static str {
        "containers can be created from their spec"
    }

    fn reads(&self) -> &'static [Kind] {
        &[Kind::Pod, Kind::ConfigMap, Kind::ReplicaSet, Kind::Event]
    }

    fn docs(&self) -> &'static str {
        DOCS
    }

    fn evaluate(&self, context: &Context) -> Finding {
        let snapshot = context.snapshot;
        let pods = in_namespace(&snapshot.pods, context.namespace);
        let config_maps = in_namespace(&snapshot.config_maps, context.namespace);
        let config_maps_known = !snapshot.gaps.contains_key(&Kind::ConfigMap);
        let mut finding = Finding::ok(ID, "");
        let mut failing = Vec::new();
        let mut apps = Vec::new();
        for pod in &pods {
            for view in pod_state::containers(pod) {
                let Some((path, reason)) = failure(&view) else {
                    continue;
                };
                let configs = config_maps_known.then_some(config_maps.as_slice());
                failing.push(describe(
                    context,
                    pod,
                    &view,
                    path,
                    reason,
                    configs,
                    &mut finding,
                ));
                apps.extend(context.app_of(&pod.metadata));
            }
        }
        if failing.is_empty() {
            finding.summary = format!(
                "{} pod(s), every container created from its spec",
                pods.len()
            );
            return finding;
        }
        finding.status = Status::Fail;
        finding.scope = context.scope(apps);
        finding.summary = failing
            .iter()
            .map(|f| {
                let mut text = format!(
                    "{} `{}` in pod `{}` {}",
                    f.container_kind.noun(),
                    f.container,
                    f.pod,
                    f.reason
                );
                if !f.missing.is_empty() {
                    let names: Vec<String> = f
                        .missing
                        .iter()
                        .map(|m| match &m.key {
                            Some(key) => format!("{} `{}` key `{key}`", m.kind, m.name),
                            None => format!("{} `{}`", m.kind, m.name),
                        })
                        .collect();
                    text.push_str(&format!(": missing {}", names.join(", ")));
                } else if f.problem == "executable-not-found" {
                    text.push_str(&format!(
                        ": executable not found (`{}`)",
                        f.command.as_deref().unwrap_or("image entrypoint")
                    ));
                } else if let Some(message) = &f.message {
                    text.push_str(&format!(": {message}"));
                }
                text
            })
            .collect::<Vec<_>>()
            .join("; ");
        let mut fixes: Vec<String> = failing
            .iter()
            .map(|f| fix_for(context.namespace, f))
            .collect();
        fixes.dedup();
        finding.fix = Some(fixes.join("; "));
        finding.detail("failing", &failing);
        finding
    }
}

/// The failing state and the status path it was read at.
fn failure<'a>(view: &ContainerView<'a>) -> Option<(String, &'a str)> {
    let base = view.status_path();
    if let Some(reason) = view
        .waiting_reason()
        .filter(|r| WAITING_REASONS.contains(r))
    {
        return Some((format!("{base}.state.waiting.reason"), reason));
    }
    // A start failure matters while the container is not up: the current state, or
    // the last one while it waits (back-off) or runs not Ready.
    if view.running() && view.ready() {
        return None;
    }
    let (at, terminated) = view.latest_termination()?;
    let text = terminated
        .message
        .as_deref()
        .unwrap_or_default()
        .to_ascii_lowercase();
    let start_failed = terminated
        .reason
        .as_deref()
        .is_some_and(|r| START_REASONS.contains(&r))
        || (terminated.exit_code == 128 && text.contains("oci runtime"))
        || text.contains("executable file not found");
    start_failed.then(|| {
        (
            format!("{base}.{at}.terminated.reason"),
            terminated.reason.as_deref().unwrap_or("ExitCode:128"),
        )
    })
}

fn describe(
    context: &Context,
    pod: &Pod,
    view: &ContainerView,
    path: String,
    reason: &str,
    config_maps: Option<&[&ConfigMap]>,
    finding: &mut Finding,
) -> Failing {
    let object = ObjectRef::of(Kind::Pod, pod);
    finding.add_object(object.clone());
    finding
        .evidence
        .push(Evidence::field_note(&object, path, reason, view.label()));
    let termination_message = view
        .latest_termination()
        .and_then(|(_, t)| t.message.as_deref());
    let message = view
        .waiting_message()
        .or(termination_message)
        .map(|m| m.trim().to_string())
        .filter(|m| !m.is_empty());
    if let Some(text) = &message {
        let at = if view.waiting_message().is_some() {
            "state.waiting.message"
        } else {
            "lastState.terminated.message"
        };
        finding.evidence.push(Evidence::field(
            &object,
            format!("{}.{at}", view.status_path()),
            text,
        ));
    }
    let events: Vec<_> = context
        .warnings_for(Kind::Pod, pod.name())
        .into_iter()
        .filter(|e| view.is_subject_of(e))
        .collect();
    for event in &events {
        finding.evidence.push(Evidence::event(event));
    }
    let texts: Vec<&str> = message
        .as_deref()
        .into_iter()
        .chain(events.iter().filter_map(|e| e.message.as_deref()))
        .collect();
    let joined = texts.join("\n");
    let lower = joined.to_ascii_lowercase();
    let mut missing = Vec::new();
    let references = pod_state::config_map_refs(view);
    let needed_keys = |name: &str| {
        let mut keys: Vec<String> = references
            .iter()
            .filter(|r| r.name == name)
            .filter_map(|r| r.key.clone())
            .collect();
        keys.sort();
        keys.dedup();
        keys
    };
    // ConfigMaps: the spec's references checked against the snapshot.
    for reference in &references {
        let Some(config_maps) = config_maps else {
            break;
        };
        let Some(problem) = pod_state::config_map_problem(config_maps, reference) else {
            continue;
        };
        let note = match problem {
            RefProblem::MissingConfigMap => {
                "ConfigMap not in the namespace (not optional)".to_string()
            }
            RefProblem::MissingKey => format!(
                "ConfigMap has no key `{}` (not optional)",
                reference.key.as_deref().unwrap_or_default()
            ),
        };
        finding.evidence.push(Evidence::field_note(
            &object,
            format!("{}.name", reference.path),
            reference.name.clone(),
            note,
        ));
        finding.add_cause(ObjectRef::new(
            Kind::ConfigMap,
            pod.namespace(),
            &reference.name,
        ));
        push_missing(
            &mut missing,
            Missing {
                kind: "ConfigMap".to_string(),
                name: reference.name.clone(),
                key: reference
                    .key
                    .clone()
                    .filter(|_| problem == RefProblem::MissingKey),
                source: reference.path.clone(),
                needed_keys: if problem == RefProblem::MissingConfigMap {
                    needed_keys(&reference.name)
                } else {
                    Vec::new()
                },
            },
        );
    }
    // The kubelet's own words, for ConfigMaps the snapshot could not show and for
    // Secrets, which are only ever named, never looked up.
    for (kind, words) in [
        ("ConfigMap", ["configmap", "configmaps"]),
        ("Secret", ["secret", "secrets"]),
    ] {
        let named = pod_state::not_found_names(&joined, &words)
            .into_iter()
            .map(|name| (name, None));
        let keys = pod_state::missing_keys(&joined, kind)
            .into_iter()
            .map(|m| (m.name, Some(m.key)));
        for (name, key) in named.chain(keys) {
            let cause = if kind == "Secret" {
                pod_state::secret_ref(pod.namespace(), &name)
            } else {
                ObjectRef::new(Kind::ConfigMap, pod.namespace(), &name)
            };
            finding.add_cause(cause);
            let needed = if kind == "ConfigMap" && key.is_none() {
                needed_keys(&name)
            } else {
                Vec::new()
            };
            push_missing(
                &mut missing,
                Missing {
                    kind: kind.to_string(),
                    name,
                    key,
                    source: "kubelet message".to_string(),
                    needed_keys: needed,
                },
            );
        }
    }
    let command = view.spec.and_then(|c| {
        let words: Vec<&str> = c
            .command
            .iter()
            .flatten()
            .chain(c.args.iter().flatten())
            .map(String::as_str)
            .collect();
        (!words.is_empty()).then(|| words.join(" "))
    });
    let problem = if !missing.is_empty() {
        "missing-config"
    } else if lower.contains("executable file not found")
        || lower.contains("no such file or directory")
    {
        "executable-not-found"
    } else if lower.contains("runasnonroot") {
        "run-as-non-root"
    } else if START_REASONS.contains(&reason) || reason == "RunContainerError" {
        "start-failed"
    } else {
        "other"
    };
    if problem == "executable-not-found" {
        finding.evidence.push(Evidence::field_note(
            &object,
            format!("{}.command", view.spec_path()),
            command
                .clone()
                .unwrap_or_else(|| "<image entrypoint>".to_string()),
            "the runtime could not find this executable in the image",
        ));
    }
    if reason == "CreateContainerConfigError" && missing.is_empty() && problem == "other" {
        finding.evidence.push(Evidence::field_note(
            &object,
            view.spec_path(),
            view.name,
            "every ConfigMap it names exists now; the kubelet retries on its next sync",
        ));
    }
    Failing {
        pod: pod.name().to_string(),
        container: view.name.to_string(),
        container_kind: view.kind,
        reason: reason.to_string(),
        message,
        problem: problem.to_string(),
        missing,
        command,
        workload: pod_state::workload_of(context.snapshot, pod),
    }
}

fn push_missing(all: &mut Vec<Missing>, item: Missing) {
    let seen = all
        .iter()
        .any(|m| m.kind == item.kind && m.name == item.name && m.key == item.key);
    if !seen {
        all.push(item);
    }
}

fn fix_for(namespace: &str, f: &Failing) -> String {
    if let Some(m) = f.missing.first() {
        let key = m.key.as_deref().unwrap_or("KEY");
        return match (m.kind.as_str(), &m.key) {
            ("Secret", _) => format!(
                "create the Secret: kubectl create secret generic {} -n {namespace} --from-literal={key}=VALUE (or correct the name in {})",
                m.name, f.workload
            ),
            ("ConfigMap", Some(_)) => format!(
                "add the key: kubectl patch configmap {} -n {namespace} --type merge -p '{{\"data\":{{\"{key}\":\"VALUE\"}}}}'",
                m.name
            ),
            _ => {
                let literals = if m.needed_keys.is_empty() {
                    format!("--from-literal={key}=VALUE")
                } else {
                    m.needed_keys
                        .iter()
                        .map(|k| format!("--from-literal={k}=VALUE"))
                        .collect::<Vec<_>>()
                        .join(" ")
                };
                format!(
                    "create the ConfigMap: kubectl create configmap {} -n {namespace} {literals} (or correct the name in {})",
                    m.name, f.workload
                )
            }
        };
    }
    match f.problem.as_str() {
        "executable-not-found" => format!(
            "correct the command of `{}` to one the image has: kubectl edit {}",
            f.container, f.workload
        ),
        "run-as-non-root" => format!(
            "set securityContext.runAsUser to a non-zero uid for `{}` (kubectl edit {}) or use an image that runs as non-root",
            f.container, f.workload
        ),
        _ => format!(
            "kubectl describe pod {} (the runtime's error), then correct `{}` in {}",
            f.pod, f.container, f.workload
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::Scope;
    use crate::signals::test_support::evaluate;

    fn pod(name: &str, container: &str, status: &str) -> String {
        format!(
            r#"---
apiVersion: v1
kind: Pod
metadata:
  name: {name}
  namespace: shop
  labels: {{app.kubernetes.io/name: checkout}}
spec:
  containers:
  - {container}
  volumes:
  - {{name: cfg, configMap: {{name: checkout-files}}}}
  - {{name: opt, configMap: {{name: not-there, optional: true}}}}
status:
  phase: Pending
  containerStatuses:
  - {{name: app, image: checkout, imageID: "", ready: false, restartCount: 0, {status}}}
"#
        )
    }

    const CONFIG_MAPS: &str = r#"---
apiVersion: v1
kind: ConfigMap
metadata: {name: checkout-config, namespace: shop}
data: {LOG_LEVEL: info}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: checkout-files, namespace: shop}
data: {app.yaml: x}
"#;

    #[test]
    fn missing_config_map_key_and_missing_config_map_are_causes() {
        let text = format!(
            "{CONFIG_MAPS}{}",
            pod(
                "checkout-1",
                "{name: app, image: checkout, env: [{name: LOG_LEVEL, valueFrom: {configMapKeyRef: {name: checkout-config, key: LOG_LEVEL}}}, {name: REGION, valueFrom: {configMapKeyRef: {name: checkout-config, key: REGION}}}, {name: X, valueFrom: {configMapKeyRef: {name: flags, key: x, optional: true}}}], envFrom: [{configMapRef: {name: checkout-env}}], volumeMounts: [{name: cfg, mountPath: /etc/c}, {name: opt, mountPath: /etc/o}]}",
                "state: {waiting: {reason: CreateContainerConfigError, message: \"couldn't find key REGION in ConfigMap shop/checkout-config\"}}"
            )
        );
        let finding = evaluate(&ContainerConfig, &text, "shop");
        assert_eq!(finding.status, Status::Fail, "{finding:?}");
        assert_eq!(
            finding.summary,
            "container `app` in pod `checkout-1` CreateContainerConfigError: missing ConfigMap `checkout-config` key `REGION`, ConfigMap `checkout-env`"
        );
        assert_eq!(
            finding.caused_by,
            vec![
                ObjectRef::new(Kind::ConfigMap, "shop", "checkout-config"),
                ObjectRef::new(Kind::ConfigMap, "shop", "checkout-env"),
            ]
        );
        assert_eq!(
            finding.objects,
            vec![ObjectRef::new(Kind::Pod, "shop", "checkout-1")]
        );
        assert_eq!(finding.scope, Scope::Apps(vec!["checkout".into()]));
        assert_eq!(
            finding.fix.as_deref(),
            Some(
                "add the key: kubectl patch configmap checkout-config -n shop --type merge -p '{\"data\":{\"REGION\":\"VALUE\"}}'"
            )
        );
        assert!(finding.evidence.iter().any(|e| e.short()
            == "pod/checkout-1 spec.containers[0].envFrom[0].configMapRef.name=checkout-env (ConfigMap not in the namespace (not optional))"));
    }

    #[test]
    fn a_missing_config_map_fix_names_the_keys_the_spec_reads() {
        let text = pod(
            "checkout-7",
            "{name: app, image: checkout, env: [{name: A, valueFrom: {configMapKeyRef: {name: flags, key: beta}}}, {name: B, valueFrom: {configMapKeyRef: {name: flags, key: alpha}}}]}",
            "state: {waiting: {reason: CreateContainerConfigError, message: 'configmap \"flags\" not found'}}",
        );
        let finding = evaluate(&ContainerConfig, &text, "shop");
        assert_eq!(finding.status, Status::Fail);
        assert_eq!(
            finding.caused_by,
            vec![ObjectRef::new(Kind::ConfigMap, "shop", "flags")]
        );
        assert_eq!(
            finding.fix.as_deref(),
            Some(
                "create the ConfigMap: kubectl create configmap flags -n shop --from-literal=alpha=VALUE --from-literal=beta=VALUE (or correct the name in pod/checkout-7)"
            )
        );
        assert_eq!(
            finding.details["failing"][0]["missing"][0]["neededKeys"],
            serde_json::json!(["alpha", "beta"])
        );
    }

    #[test]
    fn missing_secret_is_named_from_the_kubelet_message_only() {
        let text = format!(
            "{CONFIG_MAPS}{}---\napiVersion: v1\nkind: Event\nmetadata: {{name: e, namespace: shop}}\ninvolvedObject: {{kind: Pod, name: checkout-2, namespace: shop, fieldPath: 'spec.containers{{app}}'}}\nreason: Failed\ntype: Warning\ncount: 9\nmessage: 'Error: secret \"checkout-db\" not found'\n",
            pod(
                "checkout-2",
                "{name: app, image: checkout, env: [{name: DB_PASSWORD, valueFrom: {secretKeyRef: {name: checkout-db, key: password}}}]}",
                "state: {waiting: {reason: CreateContainerConfigError, message: 'secret \"checkout-db\" not found'}}"
            )
        );
        let finding = evaluate(&ContainerConfig, &text, "shop");
        assert_eq!(finding.status, Status::Fail);
        assert_eq!(
            finding.caused_by,
            vec![pod_state::secret_ref("shop", "checkout-db")]
        );
        assert_eq!(
            finding.summary,
            "container `app` in pod `checkout-2` CreateContainerConfigError: missing Secret `checkout-db`"
        );
        assert!(
            finding.fix.unwrap().starts_with(
                "create the Secret: kubectl create secret generic checkout-db -n shop"
            )
        );
        assert!(
            finding
                .evidence
                .iter()
                .any(|e| matches!(e, Evidence::Event { count: 9, .. }))
        );
    }

    #[test]
    fn start_error_executable_not_found_in_back_off() {
        let text = pod(
            "checkout-3",
            "{name: app, image: checkout, command: [/app/checkoutd], args: [--port, '8080']}",
            "state: {waiting: {reason: CrashLoopBackOff}}, lastState: {terminated: {exitCode: 128, reason: StartError, message: 'failed to create containerd task: failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: exec: \"/app/checkoutd\": stat /app/checkoutd: no such file or directory: unknown'}}",
        );
        let finding = evaluate(&ContainerConfig, &text, "shop");
        assert_eq!(finding.status, Status::Fail, "{finding:?}");
        assert_eq!(
            finding.summary,
            "container `app` in pod `checkout-3` StartError: executable not found (`/app/checkoutd --port 8080`)"
        );
        assert_eq!(
            finding.details["failing"][0]["problem"],
            "executable-not-found"
        );
        assert!(finding.caused_by.is_empty());
        assert_eq!(
            finding.fix.as_deref(),
            Some("correct the command of `app` to one the image has: kubectl edit pod/checkout-3")
        );
    }

    #[test]
    fn look_alikes_optional_refs_present_keys_and_healthy_states_stay_green() {
        let text = format!(
            "{CONFIG_MAPS}{}{}{}",
            // Every reference resolves (or is optional); the container is creating.
            pod(
                "checkout-4",
                "{name: app, image: checkout, env: [{name: LOG_LEVEL, valueFrom: {configMapKeyRef: {name: checkout-config, key: LOG_LEVEL}}}, {name: X, valueFrom: {configMapKeyRef: {name: flags, key: x, optional: true}}}], volumeMounts: [{name: cfg, mountPath: /etc/c}, {name: opt, mountPath: /etc/o}]}",
                "state: {waiting: {reason: ContainerCreating}}"
            ),
            // An ordinary application crash (exit 1) is crash-loop's, not a start failure.
            pod(
                "checkout-5",
                "{name: app, image: checkout}",
                "state: {waiting: {reason: CrashLoopBackOff}}, lastState: {terminated: {exitCode: 1, reason: Error, message: 'no such table'}}"
            ),
            // A StartError long ago, Running and Ready since.
            pod(
                "checkout-6",
                "{name: app, image: checkout}",
                "ready: true, state: {running: {}}, lastState: {terminated: {exitCode: 128, reason: StartError}}"
            )
            .replace("ready: false, restartCount: 0, ready: true", "restartCount: 1, ready: true"),
        );
        let finding = evaluate(&ContainerConfig, &text, "shop");
        assert_eq!(finding.status, Status::Ok, "{finding:?}");
        assert_eq!(
            finding.summary,
            "3 pod(s), every container created from its spec"
        );
    }
}
