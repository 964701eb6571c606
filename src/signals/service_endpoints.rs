//! `service-endpoints`: Services whose selector leaves them without a ready endpoint:
//! it matches no pod at all, or only pods none of which is Ready, or a named targetPort
//! that no selected pod's container declares. The EndpointSlices, when the snapshot has
//! them, are shown as corroborating evidence; the verdict comes from the pods, the same
//! input the EndpointSlice controller reads (`src/k8s/endpoints.rs` has the semantics).
//! https://kubernetes.io/docs/concepts/services-networking/service/
//!
//! Services the controller does not manage are not judged: ExternalName, and Services
//! without a selector (their endpoints are written by hand or by another controller). A
//! Service whose pods all come from workloads scaled to 0 has no endpoint by design:
//! `info`, never `fail`. Numeric targetPorts are never flagged: traffic reaches a port
//! a container does not declare. Pods younger than [`STARTUP_GRACE`] that are not Ready
//! yet are starting, not failing.

use k8s_openapi::api::core::v1::{Pod, PodTemplateSpec, Service};
use serde::Serialize;

use crate::finding::{Context, Evidence, Finding, ObjectRef, STARTUP_GRACE, Status};
use crate::k8s::endpoints;
use crate::k8s::kubectl_style::pod_status;
use crate::signals::Signal;
use crate::snapshot::{HasMeta, Kind, in_namespace};

pub struct ServiceEndpoints;

pub const ID: &str = "service-endpoints";

/// A Service without a ready endpoint, with what its selector selects.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Failing {
    pub service: String,
    /// The selector in `key=value` form.
    pub selector: String,
    /// `no-pods`, `no-ready-pods`, `named-port-missing`.
    pub problems: Vec<String>,
    /// Every pod the selector matches (finished ones included), with why it is not an
    /// endpoint when it is not.
    pub pods: Vec<SelectedPod>,
    /// Workloads whose pod template the selector matches, as `kind/name wants N`.
    pub workloads: Vec<String>,
    /// Named targetPorts that no selected pod declares.
    pub missing_ports: Vec<String>,
    /// Ready and total endpoints in the Service's EndpointSlices, when the snapshot has any.
    pub slice_endpoints: Option<(usize, usize)>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SelectedPod {
    pub name: String,
    /// kubectl's STATUS column (`Init:CrashLoopBackOff`, `Running`, ...).
    pub status: String,
    pub ready: bool,
    /// Why it is not a ready endpoint (`Ready=False: ContainersNotReady ...`, finished, no IP).
    pub not_ready_because: Option<String>,
}

/// A Service with no endpoint because everything it selects is scaled to 0.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ScaledToZero {
    pub service: String,
    pub workloads: Vec<String>,
}

/// Its section of `docs/signals.md`.
const DOCS: &str = r#"
Generic (no profile). For every Service with a selector (not ExternalName; a Service
without a selector has endpoints managed by hand and is skipped), the pods it selects
(`src/k8s/endpoints.rs`, following the EndpointSlice controller): fails when the selector
matches no pod (naming the Deployments/StatefulSets/DaemonSets whose template it matches
and how many replicas they want, or saying it matches no workload at all: a selector typo),
when none of the non-finished pods is Ready (each pod with kubectl's STATUS and its Ready
condition's reason; `publishNotReadyAddresses` Services count every pod), or when a named
`targetPort` is declared by no selected pod's container (same name and protocol; numeric
targetPorts are never flagged, traffic reaches undeclared ports). EndpointSlices
(`kubernetes.io/service-name`, `conditions.ready`, nil meaning ready) are corroborating
evidence. [Services](https://kubernetes.io/docs/concepts/services-networking/service/).
Look-alikes: one Ready pod among several; a pod younger than the start-up grace; a Service
whose workloads are all scaled to 0 has no endpoint by design (`info`, never `fail`).
`triage plan` lists it as a `verify` step after `init-container`.
"#;

impl Signal for ServiceEndpoints {
    fn id(&self) -> &'static str {
        ID
    }

    fn title(&self) -> &'static str {
        "Services have ready endpoints"
    }

    fn reads(&self) -> &'static [Kind] {
        &[
            Kind::Service,
            Kind::Pod,
            Kind::EndpointSlice,
            Kind::Deployment,
            Kind::StatefulSet,
            Kind::DaemonSet,
            Kind::ReplicaSet,
            Kind::Event,
        ]
    }

    fn docs(&self) -> &'static str {
        DOCS
    }

    fn evaluate(&self, context: &Context) -> Finding {
        let mut finding = Finding::ok(ID, "");
        let ns = context.namespace;
        let slices = in_namespace(&context.snapshot.endpoint_slices, ns);
        let mut failing = Vec::new();
        let mut scaled_to_zero = Vec::new();
        let mut apps = Vec::new();
        let mut checked = 0;
        let mut unmanaged = 0;
        for service in in_namespace(&context.snapshot.services, ns) {
            let Some(selector) = endpoints::managed_selector(service) else {
                unmanaged += 1;
                continue;
            };
            checked += 1;
            let object = ObjectRef::of(Kind::Service, service);
            let selected: Vec<&Pod> = context.snapshot.pods_with_labels(ns, selector);
            let candidates: Vec<&Pod> = selected
                .iter()
                .copied()
                .filter(|pod| !crate::k8s::pod_state::is_terminal(pod))
                .collect();
            let selector_text = selector
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(",");
            let mut problems = Vec::new();
            let mut evidence = Vec::new();
            let mut workloads = Vec::new();
            let mut missing_ports = Vec::new();

            if candidates.is_empty() {
                let wanted = workloads_selected(context, selector);
                workloads = wanted
                    .iter()
                    .map(|(name, desired)| format!("{name} wants {desired}"))
                    .collect();
                if !wanted.is_empty() && wanted.iter().all(|(_, desired)| *desired == 0) {
                    scaled_to_zero.push(ScaledToZero {
                        service: service.name().to_string(),
                        workloads: wanted.iter().map(|(name, _)| name.clone()).collect(),
                    });
                    finding.evidence.push(Evidence::field_note(
                        &object,
                        "spec.selector",
                        selector_text.clone(),
                        format!(
                            "no endpoint by design: {} scaled to 0",
                            wanted
                                .iter()
                                .map(|(name, _)| name.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    ));
                    continue;
                }
                problems.push("no-pods".to_string());
                let note = match (selected.len(), wanted.is_empty()) {
                    (0, true) => "matches no pod and no workload's pod template".to_string(),
                    (0, false) => format!("matches no pod; {}", workloads.join(", ")),
                    (n, _) => format!("matches only {n} finished pod(s)"),
                };
                evidence.push(Evidence::field_note(
                    &object,
                    "spec.selector",
                    selector_text.clone(),
                    note,
                ));
            } else {
                let ready = candidates
                    .iter()
                    .filter(|pod| endpoints::endpoint_would_be_ready(service, pod))
                    .count();
                let starting = candidates.iter().all(|pod| starting(context, pod));
                if ready == 0 && !starting {
                    problems.push("no-ready-pods".to_string());
                    evidence.push(Evidence::field_note(
                        &object,
                        "spec.selector",
                        selector_text.clone(),
                        format!("matches {} pod(s), none Ready", candidates.len()),
                    ));
                    for pod in &candidates {
                        evidence.extend(not_ready_evidence(pod));
                        evidence.extend(
                            context
                                .warnings_for(Kind::Pod, pod.name())
                                .into_iter()
                                .map(Evidence::event),
                        );
                    }
                }
                for (index, port) in service
                    .spec
                    .as_ref()
                    .and_then(|s| s.ports.as_ref())
                    .into_iter()
                    .flatten()
                    .enumerate()
                {
                    let Some(name) = endpoints::named_target_port(port) else {
                        continue;
                    };
                    let protocol = port.protocol.as_deref().unwrap_or("TCP");
                    if candidates
                        .iter()
                        .any(|pod| endpoints::find_named_port(pod, name, protocol).is_some())
                    {
                        continue;
                    }
                    problems.push("named-port-missing".to_string());
                    missing_ports.push(name.to_string());
                    let declared = declared_ports(&candidates);
                    evidence.push(Evidence::field_note(
                        &object,
                        format!("spec.ports[{index}].targetPort"),
                        name,
                        format!(
                            "no selected pod's container declares a {protocol} port named `{name}`; they declare: {}",
                            if declared.is_empty() {
                                "none".to_string()
                            } else {
                                declared.join(", ")
                            }
                        ),
                    ));
                }
            }
            if problems.is_empty() {
                continue;
            }
            problems.dedup();
            let own_slices = endpoints::slices_of(service, &slices);
            let slice_endpoints = (!own_slices.is_empty()).then(|| {
                let all = own_slices.iter().flat_map(|s| s.endpoints.iter().flatten());
                let total = all.clone().count();
                let ready = all.filter(|e| endpoints::endpoint_ready(e)).count();
                (ready, total)
            });
            for slice in &own_slices {
                let endpoints_of = slice.endpoints.as_deref().unwrap_or_default();
                let ready = endpoints_of
                    .iter()
                    .filter(|e| endpoints::endpoint_ready(e))
                    .count();
                evidence.push(Evidence::field_note(
                    &ObjectRef::of(Kind::EndpointSlice, *slice),
                    "endpoints[*].conditions.ready",
                    format!("{ready}/{} ready", endpoints_of.len()),
                    format!(
                        "the EndpointSlice controller's view of `{}`",
                        service.name()
                    ),
                ));
            }
            finding.add_object(object);
            finding.evidence.extend(evidence);
            apps.extend(context.app_of(&service.metadata));
            apps.extend(selected.iter().filter_map(|p| context.app_of(&p.metadata)));
            failing.push(Failing {
                service: service.name().to_string(),
                selector: selector_text,
                problems,
                pods: selected
                    .iter()
                    .map(|pod| selected_pod(service, pod))
                    .collect(),
                workloads,
                missing_ports,
                slice_endpoints,
            });
        }

        finding.detail("failing", &failing);
        finding.detail("noEndpointsByDesign", &scaled_to_zero);
        let by_design = scaled_to_zero
            .iter()
            .map(|s| {
                format!(
                    "`{}` has no endpoint by design ({} scaled to 0)",
                    s.service,
                    s.workloads.join(", ")
                )
            })
            .collect::<Vec<_>>();
        if failing.is_empty() {
            let mut summary = format!(
                "every Service with a selector has a ready endpoint ({checked} checked, {unmanaged} without selector or ExternalName)"
            );
            if !by_design.is_empty() {
                finding.status = Status::Info;
                summary = format!("{}; {summary}", by_design.join("; "));
            }
            finding.summary = summary;
            return finding;
        }
        finding.status = Status::Fail;
        finding.scope = context.scope(apps);
        finding.objects.sort();
        finding.summary = failing
            .iter()
            .map(summary_of)
            .chain(by_design)
            .collect::<Vec<_>>()
            .join("; ");
        finding.fix = Some(
            failing
                .iter()
                .map(|f| fix_of(f, ns, context))
                .collect::<Vec<_>>()
                .join("; "),
        );
        finding
    }
}

/// Workloads in the namespace whose pod template the selector matches, as
/// (`kind/name`, desired replicas). ReplicaSets a Deployment owns are its Deployment's.
fn workloads_selected(
    context: &Context,
    selector: &std::collections::BTreeMap<String, String>,
) -> Vec<(String, i32)> {
    let ns = context.namespace;
    let snapshot = context.snapshot;
    let template_matches = |template: Option<&PodTemplateSpec>| {
        let pod = Pod {
            metadata: template
                .and_then(|t| t.metadata.clone())
                .unwrap_or_default(),
            ..Pod::default()
        };
        endpoints::selects(selector, &pod)
    };
    let mut found = Vec::new();
    for d in in_namespace(&snapshot.deployments, ns) {
        let spec = d.spec.as_ref();
        if template_matches(spec.map(|s| &s.template)) {
            found.push((
                format!("deployment/{}", d.name()),
                spec.and_then(|s| s.replicas).unwrap_or(1),
            ));
        }
    }
    for s in in_namespace(&snapshot.stateful_sets, ns) {
        let spec = s.spec.as_ref();
        if template_matches(spec.map(|s| &s.template)) {
            found.push((
                format!("statefulset/{}", s.name()),
                spec.and_then(|s| s.replicas).unwrap_or(1),
            ));
        }
    }
    for d in in_namespace(&snapshot.daemon_sets, ns) {
        if template_matches(d.spec.as_ref().map(|s| &s.template)) {
            found.push((
                format!("daemonset/{}", d.name()),
                d.status.as_ref().map_or(0, |s| s.desired_number_scheduled),
            ));
        }
    }
    for r in in_namespace(&snapshot.replica_sets, ns) {
        let owned = r
            .metadata
            .owner_references
            .iter()
            .flatten()
            .any(|o| o.kind == "Deployment");
        let spec = r.spec.as_ref();
        if !owned && template_matches(spec.and_then(|s| s.template.as_ref())) {
            found.push((
                format!("replicaset/{}", r.name()),
                spec.and_then(|s| s.replicas).unwrap_or(1),
            ));
        }
    }
    found
}

/// Young and showing no failure yet (no restart, no waiting reason beyond creating or
/// initializing, no non-zero exit): not Ready because it is still starting. A young pod
/// already crash-looping is failing, not starting.
fn starting(context: &Context, pod: &Pod) -> bool {
    let young = context
        .age(pod.metadata.creation_timestamp.as_ref())
        .is_some_and(|age| age < STARTUP_GRACE);
    let status = pod.status.as_ref();
    let failed = status
        .and_then(|s| s.init_container_statuses.as_ref())
        .into_iter()
        .flatten()
        .chain(
            status
                .and_then(|s| s.container_statuses.as_ref())
                .into_iter()
                .flatten(),
        )
        .any(|c| {
            let state = c.state.as_ref();
            c.restart_count > 0
                || state
                    .and_then(|s| s.waiting.as_ref())
                    .and_then(|w| w.reason.as_deref())
                    .is_some_and(|r| !["ContainerCreating", "PodInitializing"].contains(&r))
                || state
                    .and_then(|s| s.terminated.as_ref())
                    .is_some_and(|t| t.exit_code != 0)
        });
    young && !failed
}

/// Why a pod is not a ready endpoint, as evidence on its Ready condition (or phase/IP).
fn not_ready_evidence(pod: &Pod) -> Vec<Evidence> {
    let object = ObjectRef::of(Kind::Pod, pod);
    let status = pod.status.as_ref();
    let conditions = status
        .and_then(|s| s.conditions.as_deref())
        .unwrap_or_default();
    let mut evidence = Vec::new();
    match conditions.iter().position(|c| c.type_ == "Ready") {
        Some(index) => {
            let ready = &conditions[index];
            evidence.push(Evidence::field_note(
                &object,
                format!("status.conditions[{index}].status"),
                ready.status.clone(),
                format!(
                    "Ready; {}{}",
                    pod_status(pod),
                    ready_reason(pod)
                        .map(|r| format!(", {r}"))
                        .unwrap_or_default()
                ),
            ));
        }
        None => evidence.push(Evidence::field_note(
            &object,
            "status.phase",
            status
                .and_then(|s| s.phase.clone())
                .unwrap_or_else(|| "<none>".into()),
            format!("no Ready condition; {}", pod_status(pod)),
        )),
    }
    if pod.metadata.deletion_timestamp.is_some() {
        evidence.push(Evidence::field_note(
            &object,
            "metadata.deletionTimestamp",
            pod.metadata
                .deletion_timestamp
                .as_ref()
                .map(|t| t.0.to_string())
                .unwrap_or_default(),
            "terminating: never a ready endpoint",
        ));
    }
    evidence
}

/// `ContainersNotReady: containers with unready status: [app]`.
fn ready_reason(pod: &Pod) -> Option<String> {
    let ready = pod
        .status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == "Ready")?;
    let text = [ready.reason.as_deref(), ready.message.as_deref()]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(": ");
    (!text.is_empty()).then_some(text)
}

fn selected_pod(service: &Service, pod: &Pod) -> SelectedPod {
    let ready = endpoints::endpoint_would_be_ready(service, pod);
    let not_ready_because = if ready {
        None
    } else if crate::k8s::pod_state::is_terminal(pod) {
        Some("finished: never an endpoint".to_string())
    } else if pod.metadata.deletion_timestamp.is_some() {
        Some("terminating".to_string())
    } else {
        Some(ready_reason(pod).unwrap_or_else(|| "no Ready=True condition".to_string()))
    };
    SelectedPod {
        name: pod.name().to_string(),
        status: pod_status(pod),
        ready,
        not_ready_because,
    }
}

/// The container ports the pods declare, as `8080/TCP (http)`, deduplicated.
fn declared_ports(pods: &[&Pod]) -> Vec<String> {
    let mut declared: Vec<String> = pods
        .iter()
        .filter_map(|pod| pod.spec.as_ref())
        .flat_map(|spec| spec.containers.iter())
        .flat_map(|c| c.ports.iter().flatten())
        .map(|p| {
            let mut text = format!(
                "{}/{}",
                p.container_port,
                p.protocol.as_deref().unwrap_or("TCP")
            );
            if let Some(name) = p.name.as_deref().filter(|n| !n.is_empty()) {
                text.push_str(&format!(" ({name})"));
            }
            text
        })
        .collect();
    declared.sort();
    declared.dedup();
    declared
}

fn summary_of(failing: &Failing) -> String {
    let mut parts = Vec::new();
    for problem in &failing.problems {
        parts.push(match problem.as_str() {
            "no-pods" if failing.workloads.is_empty() => format!(
                "selector `{}` matches no pod and no workload",
                failing.selector
            ),
            "no-pods" => format!("selects no running pod ({})", failing.workloads.join(", ")),
            "no-ready-pods" => format!(
                "no ready endpoint: {}",
                failing
                    .pods
                    .iter()
                    .filter(|p| !p.ready)
                    .map(|p| format!("pod `{}` {}", p.name, p.status))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            _ => format!(
                "targetPort {} declared by no selected pod",
                failing
                    .missing_ports
                    .iter()
                    .map(|p| format!("`{p}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        });
    }
    if let Some((ready, total)) = failing.slice_endpoints {
        parts.push(format!("EndpointSlices: {ready}/{total} ready"));
    }
    format!("Service `{}`: {}", failing.service, parts.join(", "))
}

fn fix_of(failing: &Failing, ns: &str, context: &Context) -> String {
    let name = &failing.service;
    let mut fixes = Vec::new();
    for problem in &failing.problems {
        fixes.push(match problem.as_str() {
            "no-pods" if failing.workloads.is_empty() => format!(
                "fix the selector to match the pods' labels: `kubectl edit service -n {ns} {name}`"
            ),
            "no-pods" => {
                let workload = failing
                    .workloads
                    .first()
                    .and_then(|w| w.split(' ').next())
                    .unwrap_or_default()
                    .to_string();
                format!("`kubectl describe -n {ns} {workload}` shows why it has no pods (quota, scheduling)")
            }
            "no-ready-pods" => {
                let pod = failing
                    .pods
                    .iter()
                    .find(|p| !p.ready)
                    .map_or("POD", |p| p.name.as_str());
                format!(
                    "`kubectl describe pod -n {ns} {pod}` shows why it is not Ready; the Service gets endpoints once it is"
                )
            }
            _ => port_fix(failing, ns, context),
        });
    }
    fixes.join("; ")
}

/// A patch to the one port every selected pod declares, else an edit.
fn port_fix(failing: &Failing, ns: &str, context: &Context) -> String {
    let name = &failing.service;
    let service = in_namespace(&context.snapshot.services, ns)
        .into_iter()
        .find(|s| s.name() == name);
    let index = service
        .and_then(|s| s.spec.as_ref())
        .and_then(|s| s.ports.as_ref())
        .and_then(|ports| {
            ports.iter().position(|p| {
                endpoints::named_target_port(p)
                    .is_some_and(|n| failing.missing_ports.iter().any(|m| m == n))
            })
        });
    let numbers: Vec<i32> = {
        let pods: Vec<&Pod> = in_namespace(&context.snapshot.pods, ns)
            .into_iter()
            .filter(|p| failing.pods.iter().any(|s| s.name == p.name()))
            .collect();
        let mut numbers: Vec<i32> = pods
            .iter()
            .filter_map(|pod| pod.spec.as_ref())
            .flat_map(|spec| spec.containers.iter())
            .flat_map(|c| c.ports.iter().flatten())
            .map(|p| p.container_port)
            .collect();
        numbers.sort();
        numbers.dedup();
        numbers
    };
    match (index, numbers.as_slice()) {
        (Some(index), [port]) => format!(
            "point targetPort at the declared port: `kubectl patch service -n {ns} {name} --type=json -p='[{{\"op\":\"replace\",\"path\":\"/spec/ports/{index}/targetPort\",\"value\":{port}}}]'`"
        ),
        _ => format!(
            "name the container port `{}` in the pod template, or point targetPort at a declared port: `kubectl edit service -n {ns} {name}`",
            failing.missing_ports.join("`, `")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::Scope;
    use crate::signals::test_support::evaluate;

    fn service(name: &str, spec: &str) -> String {
        format!(
            "apiVersion: v1\nkind: Service\nmetadata: {{name: {name}, namespace: app, labels: {{app.kubernetes.io/name: {name}}}}}\nspec: {spec}\n"
        )
    }

    fn pod(name: &str, app: &str, ready: bool, extra_status: &str) -> String {
        let (status, reason) = if ready {
            ("\"True\"", "")
        } else {
            (
                "\"False\"",
                ", reason: ContainersNotReady, message: \"containers with unready status: [web]\"",
            )
        };
        format!(
            r#"apiVersion: v1
kind: Pod
metadata: {{name: {name}, namespace: app, creationTimestamp: "2024-01-01T00:00:00Z", labels: {{app.kubernetes.io/name: {app}}}}}
spec: {{containers: [{{name: web, image: x, ports: [{{name: http, containerPort: 8080}}]}}]}}
status:
  phase: Running
  podIP: 10.0.0.9
  conditions: [{{type: Ready, status: {status}{reason}}}]
{extra_status}"#
        )
    }

    const NOW: &str = "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: clock, namespace: app, creationTimestamp: \"2024-01-01T01:00:00Z\"}\n";

    fn deployment(name: &str, replicas: i32) -> String {
        format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: {name}, namespace: app}}\nspec: {{replicas: {replicas}, selector: {{matchLabels: {{app.kubernetes.io/name: {name}}}}}, template: {{metadata: {{labels: {{app.kubernetes.io/name: {name}}}}}, spec: {{containers: [{{name: web, image: x}}]}}}}}}\n"
        )
    }

    #[test]
    fn service_whose_only_pod_is_not_ready_fails_naming_the_pod() {
        let text = [
            service("api", "{selector: {app.kubernetes.io/name: api}, ports: [{port: 80, targetPort: http}]}"),
            pod(
                "api-1",
                "api",
                false,
                "  containerStatuses: [{name: web, image: x, imageID: \"\", ready: false, restartCount: 9, state: {waiting: {reason: CrashLoopBackOff}}}]\n",
            ),
            "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: api-abcde, namespace: app, labels: {kubernetes.io/service-name: api}}\naddressType: IPv4\nendpoints: [{addresses: [10.0.0.9], conditions: {ready: false}}]\n".to_string(),
        ]
        .join("---\n")
            + NOW;
        let finding = evaluate(&ServiceEndpoints, &text, "app");
        assert_eq!(finding.status, Status::Fail, "{finding:?}");
        assert_eq!(
            finding.objects,
            vec![ObjectRef::new(Kind::Service, "app", "api")]
        );
        assert!(finding.caused_by.is_empty());
        assert_eq!(
            finding.summary,
            "Service `api`: no ready endpoint: pod `api-1` CrashLoopBackOff, EndpointSlices: 0/1 ready"
        );
        assert_eq!(finding.scope, Scope::Apps(vec!["api".into()]));
        let failing = &finding.details["failing"][0];
        assert_eq!(failing["pods"][0]["name"], "api-1");
        assert_eq!(
            failing["pods"][0]["notReadyBecause"],
            "ContainersNotReady: containers with unready status: [web]"
        );
        assert!(finding.evidence.iter().any(|e| e.short()
            == "pod/api-1 status.conditions[0].status=False (Ready; CrashLoopBackOff, ContainersNotReady: containers with unready status: [web])"));
        assert!(finding.evidence.iter().any(|e| e.short()
            == "endpointslice/api-abcde endpoints[*].conditions.ready=0/1 ready (the EndpointSlice controller's view of `api`)"));
        assert!(
            finding
                .fix
                .unwrap()
                .contains("kubectl describe pod -n app api-1")
        );
    }

    #[test]
    fn selector_matching_nothing_fails_and_names_the_workload_that_wants_pods() {
        let typo = service(
            "api",
            "{selector: {app.kubernetes.io/name: apii}, ports: [{port: 80}]}",
        );
        let finding = evaluate(&ServiceEndpoints, &(typo.clone() + NOW), "app");
        assert_eq!(finding.status, Status::Fail);
        assert_eq!(
            finding.summary,
            "Service `api`: selector `app.kubernetes.io/name=apii` matches no pod and no workload"
        );
        assert!(
            finding
                .fix
                .unwrap()
                .contains("kubectl edit service -n app api")
        );

        let starved = format!(
            "{}---\n{}{NOW}",
            service(
                "api",
                "{selector: {app.kubernetes.io/name: api}, ports: [{port: 80}]}"
            ),
            deployment("api", 2)
        );
        let finding = evaluate(&ServiceEndpoints, &starved, "app");
        assert_eq!(finding.status, Status::Fail);
        assert_eq!(
            finding.summary,
            "Service `api`: selects no running pod (deployment/api wants 2)"
        );
        assert_eq!(finding.details["failing"][0]["problems"][0], "no-pods");
    }

    #[test]
    fn named_target_port_no_pod_declares_fails_and_a_numeric_one_is_fine() {
        let text = format!(
            "{}---\n{}{NOW}",
            service(
                "api",
                "{selector: {app.kubernetes.io/name: api}, ports: [{port: 80, targetPort: web-http}, {port: 81, targetPort: 9999}]}"
            ),
            pod("api-1", "api", true, "")
        );
        let finding = evaluate(&ServiceEndpoints, &text, "app");
        assert_eq!(finding.status, Status::Fail, "{finding:?}");
        assert_eq!(
            finding.summary,
            "Service `api`: targetPort `web-http` declared by no selected pod"
        );
        assert_eq!(finding.details["failing"][0]["missingPorts"][0], "web-http");
        assert!(finding.evidence.iter().any(|e| e.short()
            == "service/api spec.ports[0].targetPort=web-http (no selected pod's container declares a TCP port named `web-http`; they declare: 8080/TCP (http))"));
        assert!(
            finding.fix.unwrap().contains(
                r#"-p='[{"op":"replace","path":"/spec/ports/0/targetPort","value":8080}]'"#
            )
        );
    }

    #[test]
    fn look_alikes_ready_pods_no_selector_external_name_and_publish_not_ready() {
        let text = [
            service("api", "{selector: {app.kubernetes.io/name: api}, ports: [{port: 80, targetPort: http}]}"),
            pod("api-1", "api", true, ""),
            // One of two not Ready is fine: the Service still has an endpoint.
            pod("api-2", "api", false, ""),
            service("manual", "{ports: [{port: 5432}]}"),
            service("external", "{type: ExternalName, externalName: db.example.com}"),
            service("peers", "{clusterIP: None, publishNotReadyAddresses: true, selector: {app.kubernetes.io/name: peers}}"),
            pod("peers-0", "peers", false, ""),
            // A finished pod beside a ready one does not matter.
            pod("api-job", "api", false, "").replace("phase: Running", "phase: Succeeded"),
        ]
        .join("---\n")
            + NOW;
        let finding = evaluate(&ServiceEndpoints, &text, "app");
        assert_eq!(finding.status, Status::Ok, "{finding:?}");
        assert_eq!(
            finding.summary,
            "every Service with a selector has a ready endpoint (2 checked, 2 without selector or ExternalName)"
        );
    }

    #[test]
    fn look_alike_scaled_to_zero_is_info_not_fail() {
        let text = format!(
            "{}---\n{}{NOW}",
            service(
                "batch",
                "{selector: {app.kubernetes.io/name: batch}, ports: [{port: 80}]}"
            ),
            deployment("batch", 0)
        );
        let finding = evaluate(&ServiceEndpoints, &text, "app");
        assert_eq!(finding.status, Status::Info, "{finding:?}");
        assert!(finding.objects.is_empty());
        assert!(
            finding
                .summary
                .starts_with("`batch` has no endpoint by design (deployment/batch scaled to 0)"),
            "{}",
            finding.summary
        );
        assert_eq!(
            finding.details["noEndpointsByDesign"][0]["service"],
            "batch"
        );
    }

    #[test]
    fn look_alike_pod_still_starting_is_not_a_failure() {
        let young =
            pod("api-1", "api", false, "").replace("2024-01-01T00:00:00Z", "2024-01-01T00:59:30Z");
        let text = format!(
            "{}---\n{young}{NOW}",
            service("api", "{selector: {app.kubernetes.io/name: api}}")
        );
        assert_eq!(evaluate(&ServiceEndpoints, &text, "app").status, Status::Ok);
        // Young but already crash-looping: failing, not starting.
        let crashing = young.clone()
            + "  containerStatuses: [{name: web, image: x, imageID: \"\", ready: false, restartCount: 2, state: {waiting: {reason: CrashLoopBackOff}}}]\n";
        let text = format!(
            "{}---\n{crashing}{NOW}",
            service("api", "{selector: {app.kubernetes.io/name: api}}")
        );
        assert_eq!(
            evaluate(&ServiceEndpoints, &text, "app").status,
            Status::Fail
        );
    }
}
