//! `probe`: containers (main or native sidecar) that are not up and Ready while the
//! kubelet reports their probes failing: `Unhealthy` Warning events
//! (`Readiness probe failed: ...`, `Liveness probe failed: ...`, `Startup probe
//! failed: ...`, pkg/kubelet/prober/prober.go) about the container, with their counts,
//! the latest message, and the probe's target and timing from the spec (httpGet
//! path:port, tcpSocket port, exec command, grpc port). A liveness failure restarts
//! the container (the `Killing` event "failed liveness probe, will be restarted"):
//! reported here with the probe details; `crash-loop` reports the restarts.
//! Look-alike: old Unhealthy events of a container Running and Ready now.
//! https://kubernetes.io/docs/tasks/configure-pod-container/configure-liveness-readiness-startup-probes/

use k8s_openapi::api::core::v1::{Container, Event, Pod, Probe};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde::Serialize;

use crate::finding::{Context, Evidence, Finding, ObjectRef, Status};
use crate::k8s::pod_state::{self, ContainerKind, ContainerView};
use crate::signals::Signal;
use crate::snapshot::{HasMeta, Kind, in_namespace};

pub struct ProbeSignal;

pub const ID: &str = "probe";

/// The three probes, as the kubelet names them in its messages and the spec in its
/// field names.
const PROBES: [(&str, &str); 3] = [
    ("Readiness", "readinessProbe"),
    ("Liveness", "livenessProbe"),
    ("Startup", "startupProbe"),
];

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProbeFailure {
    /// `Readiness`, `Liveness`, `Startup`.
    pub probe: String,
    /// Sum of the events' counts.
    pub failures: i32,
    pub last_message: String,
    /// `GET http://:8080/healthz`, `tcp :5432`, `exec pg_isready`, `grpc :9090`.
    pub target: Option<String>,
    /// `period 10s, timeout 1s, failureThreshold 3, initialDelay 0s`.
    pub timing: Option<String>,
    /// What the message suggests (refused, timed out, HTTP status, port mismatch).
    pub diagnosis: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Failing {
    pub pod: String,
    pub container: String,
    pub container_kind: ContainerKind,
    pub state: String,
    pub restarts: i32,
    pub probes: Vec<ProbeFailure>,
    pub workload: String,
}

/// Its section of `docs/signals.md`.
const DOCS: &str = r#"
Keys on main containers and native sidecars not up and Ready with `Unhealthy` events about
them (`Readiness|Liveness|Startup probe failed: ...`, `pkg/kubelet/prober`): failure counts,
the latest message, the probe's target (`GET http://:port/path`, `tcp :port`, `exec ...`,
`grpc :port`) and timing with the API defaults, a probe port the container does not
declare, and the `Killing` events of liveness restarts (crash-loop reports the restarts).
[Probes](https://kubernetes.io/docs/tasks/configure-pod-container/configure-liveness-readiness-startup-probes/).
Look-alikes: Unhealthy events of a container Ready now, events about another container.
"#;

impl Signal for ProbeSignal {
    fn id(&self) -> &'static str {
        ID
    }

    fn title(&self) -> &'static str {
        "container probes pass"
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
        let mut recovered = 0;
        for pod in &pods {
            if pod_state::is_terminal(pod) {
                continue;
            }
            let events = context.warnings_for(Kind::Pod, pod.name());
            for view in pod_state::containers(pod) {
                if view.kind == ContainerKind::Init {
                    continue;
                }
                let unhealthy: Vec<&Event> = events
                    .iter()
                    .copied()
                    .filter(|e| e.reason.as_deref() == Some("Unhealthy") && view.is_subject_of(e))
                    .collect();
                if unhealthy.is_empty() {
                    continue;
                }
                if view.running() && view.ready() {
                    recovered += 1;
                    continue;
                }
                failing.push(describe(
                    context,
                    pod,
                    &view,
                    &unhealthy,
                    &events,
                    &mut finding,
                ));
                apps.extend(context.app_of(&pod.metadata));
            }
        }
        if failing.is_empty() {
            finding.summary = if recovered > 0 {
                format!(
                    "no probe failing now ({recovered} container(s) failed probes before and are Ready)"
                )
            } else {
                "no probe failing".to_string()
            };
            return finding;
        }
        finding.status = Status::Fail;
        finding.scope = context.scope(apps);
        finding.summary = failing
            .iter()
            .map(|f| {
                let probes: Vec<String> = f
                    .probes
                    .iter()
                    .map(|p| match &p.target {
                        Some(target) => {
                            format!("{} x{} on {target} ({})", p.probe, p.failures, p.diagnosis)
                        }
                        None => format!("{} x{} ({})", p.probe, p.failures, p.diagnosis),
                    })
                    .collect();
                format!(
                    "{} `{}` in pod `{}` {}: {}",
                    f.container_kind.noun(),
                    f.container,
                    f.pod,
                    f.state,
                    probes.join(", ")
                )
            })
            .collect::<Vec<_>>()
            .join("; ");
        finding.fix = Some(fix_for(&failing[0]));
        finding.detail("failing", &failing);
        finding
    }
}

fn describe(
    context: &Context,
    pod: &Pod,
    view: &ContainerView,
    unhealthy: &[&Event],
    events: &[&Event],
    finding: &mut Finding,
) -> Failing {
    let object = ObjectRef::of(Kind::Pod, pod);
    finding.add_object(object.clone());
    let base = view.status_path();
    let state = match view.waiting_reason() {
        Some(reason) => reason.to_string(),
        None if view.running() => "Running, not Ready".to_string(),
        None => "not running".to_string(),
    };
    finding.evidence.push(Evidence::field_note(
        &object,
        format!("{base}.ready"),
        view.ready().to_string(),
        format!("{} {state}", view.label()),
    ));
    if view.restarts() > 0 {
        finding.evidence.push(Evidence::field(
            &object,
            format!("{base}.restartCount"),
            view.restarts().to_string(),
        ));
    }
    let mut probes = Vec::new();
    for (word, field) in PROBES {
        let prefix = format!("{word} probe");
        let mine: Vec<&Event> = unhealthy
            .iter()
            .copied()
            .filter(|e| {
                e.message
                    .as_deref()
                    .unwrap_or_default()
                    .starts_with(&prefix)
            })
            .collect();
        let Some(last) = mine.last() else { continue };
        let spec = view.spec.and_then(|c| probe_of(c, field));
        let target = spec.and_then(target_of);
        let last_message = last
            .message
            .as_deref()
            .unwrap_or_default()
            .trim()
            .to_string();
        let mut diagnosis = diagnose(&last_message);
        if let (Some(container), Some(probe)) = (view.spec, spec)
            && let Some(mismatch) = port_mismatch(container, probe)
        {
            diagnosis = mismatch;
        }
        if let Some(probe) = spec {
            finding.evidence.push(Evidence::field_note(
                &object,
                format!("{}.{field}", view.spec_path()),
                target.clone().unwrap_or_else(|| "<no handler>".to_string()),
                timing_of(probe),
            ));
        }
        for event in &mine {
            finding.evidence.push(Evidence::event(event));
        }
        probes.push(ProbeFailure {
            probe: word.to_string(),
            failures: mine.iter().map(|e| e.count.unwrap_or(1)).sum(),
            last_message,
            target,
            timing: spec.map(timing_of),
            diagnosis,
        });
    }
    // The kubelet's kill after a failed liveness or startup probe.
    for event in events.iter().filter(|e| {
        e.reason.as_deref() == Some("Killing")
            && view.is_subject_of(e)
            && e.message.as_deref().unwrap_or_default().contains("probe")
    }) {
        finding.evidence.push(Evidence::event(event));
    }
    Failing {
        pod: pod.name().to_string(),
        container: view.name.to_string(),
        container_kind: view.kind,
        state,
        restarts: view.restarts(),
        probes,
        workload: pod_state::workload_of(context.snapshot, pod),
    }
}

fn probe_of<'a>(container: &'a Container, field: &str) -> Option<&'a Probe> {
    match field {
        "readinessProbe" => container.readiness_probe.as_ref(),
        "livenessProbe" => container.liveness_probe.as_ref(),
        _ => container.startup_probe.as_ref(),
    }
}

fn port_text(port: &IntOrString) -> String {
    match port {
        IntOrString::Int(n) => n.to_string(),
        IntOrString::String(name) => name.clone(),
    }
}

/// The probe's handler in a few words.
fn target_of(probe: &Probe) -> Option<String> {
    if let Some(http) = &probe.http_get {
        let scheme = http
            .scheme
            .as_deref()
            .unwrap_or("HTTP")
            .to_ascii_lowercase();
        return Some(format!(
            "GET {scheme}://{}:{}{}",
            http.host.as_deref().unwrap_or_default(),
            port_text(&http.port),
            http.path.as_deref().unwrap_or("/")
        ));
    }
    if let Some(tcp) = &probe.tcp_socket {
        return Some(format!(
            "tcp {}:{}",
            tcp.host.as_deref().unwrap_or_default(),
            port_text(&tcp.port)
        ));
    }
    if let Some(exec) = &probe.exec {
        let command = exec.command.as_deref().unwrap_or_default().join(" ");
        return Some(format!("exec {command}"));
    }
    probe.grpc.as_ref().map(|grpc| match &grpc.service {
        Some(service) if !service.is_empty() => format!("grpc :{} {service}", grpc.port),
        _ => format!("grpc :{}", grpc.port),
    })
}

/// The probe's timing with the API defaults filled in (period 10 s, timeout 1 s,
/// failureThreshold 3, initialDelay 0 s; core/v1 Probe).
fn timing_of(probe: &Probe) -> String {
    format!(
        "period {}s, timeout {}s, failureThreshold {}, initialDelay {}s",
        probe.period_seconds.unwrap_or(10),
        probe.timeout_seconds.unwrap_or(1),
        probe.failure_threshold.unwrap_or(3),
        probe.initial_delay_seconds.unwrap_or(0)
    )
}

/// A numeric probe port the container does not declare, or a named one it lacks
/// (named ports resolve only against the container's own `ports`).
fn port_mismatch(container: &Container, probe: &Probe) -> Option<String> {
    let port = probe
        .http_get
        .as_ref()
        .map(|h| &h.port)
        .or(probe.tcp_socket.as_ref().map(|t| &t.port))?;
    let ports = container.ports.as_deref().unwrap_or_default();
    let declared = || {
        ports
            .iter()
            .map(|p| p.container_port.to_string())
            .collect::<Vec<_>>()
            .join(",")
    };
    match port {
        IntOrString::String(name) if !ports.iter().any(|p| p.name.as_deref() == Some(name)) => {
            Some(format!(
                "named port `{name}` is not among the container's ports"
            ))
        }
        IntOrString::Int(number)
            if !ports.is_empty() && !ports.iter().any(|p| p.container_port == *number) =>
        {
            Some(format!(
                "probe port {number} is not a declared container port ({})",
                declared()
            ))
        }
        _ => None,
    }
}

/// The kubelet prober's message in a few words.
fn diagnose(message: &str) -> String {
    let lower = message.to_ascii_lowercase();
    if lower.contains("connection refused") {
        "connection refused: nothing listens on the port".to_string()
    } else if lower.contains("context deadline exceeded")
        || lower.contains("timeout")
        || lower.contains("timed out")
    {
        "timed out: the endpoint is slower than timeoutSeconds".to_string()
    } else if let Some(code) = lower
        .split_once("statuscode: ")
        .and_then(|(_, rest)| rest.split_whitespace().next())
    {
        format!("HTTP {code}")
    } else if lower.contains("command") && lower.contains("exit") || lower.contains("exit code") {
        "the exec command exits non-zero".to_string()
    } else {
        "probe failed".to_string()
    }
}

fn fix_for(f: &Failing) -> String {
    let Some(probe) = f.probes.first() else {
        return format!("kubectl describe pod {}", f.pod);
    };
    let field = PROBES
        .iter()
        .find(|(word, _)| *word == probe.probe)
        .map_or("readinessProbe", |(_, field)| *field);
    if probe.diagnosis.starts_with("timed out") {
        format!(
            "the {} probe of `{}` times out: check `kubectl logs {} -c {}`, or raise {field}.timeoutSeconds in {} (kubectl edit {})",
            probe.probe.to_ascii_lowercase(),
            f.container,
            f.pod,
            f.container,
            f.workload,
            f.workload
        )
    } else if probe.diagnosis.contains("port") && !probe.diagnosis.starts_with("connection") {
        format!(
            "point {field} of `{}` at the port the app serves: kubectl edit {}",
            f.container, f.workload
        )
    } else {
        format!(
            "find why `{}` fails its {} probe ({}): kubectl logs {} -c {}; then fix the app or {field} in {}",
            f.container,
            probe.probe.to_ascii_lowercase(),
            probe.diagnosis,
            f.pod,
            f.container,
            f.workload
        )
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
  labels: {{app.kubernetes.io/name: orders}}
spec:
  containers:
  - {container}
status:
  phase: Running
  containerStatuses:
  - {{name: app, image: orders, imageID: "", {status}}}
"#
        )
    }

    fn event(pod: &str, container: &str, reason: &str, count: i32, message: &str) -> String {
        format!(
            "---\napiVersion: v1\nkind: Event\nmetadata: {{name: {pod}.{reason}.{count}, namespace: shop}}\ninvolvedObject: {{kind: Pod, name: {pod}, namespace: shop, fieldPath: 'spec.containers{{{container}}}'}}\nreason: {reason}\ntype: Warning\ncount: {count}\nmessage: '{message}'\n"
        )
    }

    const CONTAINER: &str = "{name: app, image: orders, ports: [{containerPort: 8080, name: http}], readinessProbe: {httpGet: {path: /ready, port: http}, periodSeconds: 5}, livenessProbe: {tcpSocket: {port: 8080}, timeoutSeconds: 2}}";

    #[test]
    fn running_not_ready_with_readiness_failures_fails_with_target_and_count() {
        let text = format!(
            "{}{}{}",
            pod(
                "orders-1",
                CONTAINER,
                "ready: false, restartCount: 0, state: {running: {}}"
            ),
            // Event names sort the 503 first, then the time-out (the latest message).
            event(
                "orders-1",
                "app",
                "Unhealthy",
                12,
                "Readiness probe failed: HTTP probe failed with statuscode: 503"
            ),
            event(
                "orders-1",
                "app",
                "Unhealthy",
                30,
                "Readiness probe failed: Get \"http://10.0.0.5:8080/ready\": context deadline exceeded"
            ),
        );
        let finding = evaluate(&ProbeSignal, &text, "shop");
        assert_eq!(finding.status, Status::Fail, "{finding:?}");
        assert_eq!(
            finding.summary,
            "container `app` in pod `orders-1` Running, not Ready: Readiness x42 on GET http://:http/ready (timed out: the endpoint is slower than timeoutSeconds)"
        );
        assert_eq!(
            finding.objects,
            vec![ObjectRef::new(Kind::Pod, "shop", "orders-1")]
        );
        assert_eq!(finding.scope, Scope::Apps(vec!["orders".into()]));
        assert!(finding.caused_by.is_empty());
        let probe = &finding.details["failing"][0]["probes"][0];
        assert_eq!(
            probe["timing"],
            "period 5s, timeout 1s, failureThreshold 3, initialDelay 0s"
        );
        assert!(
            finding
                .fix
                .unwrap()
                .contains("raise readinessProbe.timeoutSeconds in pod/orders-1")
        );
    }

    #[test]
    fn liveness_kills_in_back_off_report_the_probe_and_the_kill() {
        let text = format!(
            "{}{}{}",
            pod(
                "orders-2",
                CONTAINER,
                "ready: false, restartCount: 6, state: {waiting: {reason: CrashLoopBackOff}}, lastState: {terminated: {exitCode: 137, reason: Error}}"
            ),
            event(
                "orders-2",
                "app",
                "Unhealthy",
                18,
                "Liveness probe failed: dial tcp 10.0.0.6:8080: connect: connection refused"
            ),
            event(
                "orders-2",
                "app",
                "Killing",
                6,
                "Container app failed liveness probe, will be restarted"
            ),
        );
        let finding = evaluate(&ProbeSignal, &text, "shop");
        assert_eq!(finding.status, Status::Fail);
        assert_eq!(
            finding.summary,
            "container `app` in pod `orders-2` CrashLoopBackOff: Liveness x18 on tcp :8080 (connection refused: nothing listens on the port)"
        );
        assert!(
            finding.evidence.iter().any(
                |e| matches!(e, Evidence::Event { reason, count: 6, .. } if reason == "Killing")
            )
        );
        assert_eq!(finding.details["failing"][0]["restarts"], 6);
    }

    #[test]
    fn probe_on_an_undeclared_port_is_diagnosed() {
        let container = "{name: app, image: orders, ports: [{containerPort: 8080}], readinessProbe: {httpGet: {path: /healthz, port: 9090}}}";
        let text = format!(
            "{}{}",
            pod(
                "orders-3",
                container,
                "ready: false, restartCount: 0, state: {running: {}}"
            ),
            event(
                "orders-3",
                "app",
                "Unhealthy",
                50,
                "Readiness probe failed: Get \"http://10.0.0.7:9090/healthz\": dial tcp 10.0.0.7:9090: connect: connection refused"
            ),
        );
        let finding = evaluate(&ProbeSignal, &text, "shop");
        assert_eq!(finding.status, Status::Fail);
        assert_eq!(
            finding.details["failing"][0]["probes"][0]["diagnosis"],
            "probe port 9090 is not a declared container port (8080)"
        );
        assert_eq!(
            finding.fix.as_deref(),
            Some(
                "point readinessProbe of `app` at the port the app serves: kubectl edit pod/orders-3"
            )
        );
    }

    #[test]
    fn look_alikes_ready_now_not_ready_without_events_and_other_containers_events() {
        let text = format!(
            "{}{}{}{}",
            // Failed readiness while starting, Ready now.
            pod(
                "orders-4",
                CONTAINER,
                "ready: true, restartCount: 0, state: {running: {}}"
            ),
            event(
                "orders-4",
                "app",
                "Unhealthy",
                3,
                "Readiness probe failed: HTTP probe failed with statuscode: 503"
            ),
            // Not Ready, but the only Unhealthy events are about another container.
            pod(
                "orders-5",
                CONTAINER,
                "ready: false, restartCount: 0, state: {running: {}}"
            ),
            event(
                "orders-5",
                "metrics",
                "Unhealthy",
                3,
                "Readiness probe failed: HTTP probe failed with statuscode: 500"
            ),
        );
        let finding = evaluate(&ProbeSignal, &text, "shop");
        assert_eq!(finding.status, Status::Ok, "{finding:?}");
        assert_eq!(
            finding.summary,
            "no probe failing now (1 container(s) failed probes before and are Ready)"
        );
    }

    #[test]
    fn diagnoses_and_targets() {
        assert_eq!(
            diagnose("Readiness probe failed: HTTP probe failed with statuscode: 404"),
            "HTTP 404"
        );
        let probe: Probe =
            serde_saphyr::from_str("exec: {command: [pg_isready, -h, localhost]}\n").unwrap();
        assert_eq!(
            target_of(&probe).as_deref(),
            Some("exec pg_isready -h localhost")
        );
        let grpc: Probe = serde_saphyr::from_str("grpc: {port: 9090}\n").unwrap();
        assert_eq!(target_of(&grpc).as_deref(), Some("grpc :9090"));
        assert_eq!(target_of(&Probe::default()), None);
    }
}
