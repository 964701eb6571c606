//! `crash-loop`: main containers and native sidecars that keep dying: waiting in
//! `CrashLoopBackOff` (the kubelet's restart back-off, pkg/kubelet/container/
//! sync_result.go `ErrCrashLoopBackOff`), or restarted with their last termination
//! within [`RECENT`] of the capture and not Ready now (caught between back-offs).
//! Reports restarts, the last termination's reason, exit code, message and when it
//! ended (`lastState.terminated.finishedAt`).
//! Not here: a last termination `OOMKilled` (the `oom-killed` signal explains it with
//! the memory limit), plain init containers (`init-container` owns them), pods in a
//! terminal phase (Succeeded/Failed: nothing restarts them; an Evicted pod is replaced
//! by its controller).
//! https://kubernetes.io/docs/concepts/workloads/pods/pod-lifecycle/#container-restarts

use k8s_openapi::api::core::v1::{ContainerStateTerminated, Pod};
use serde::Serialize;

use crate::finding::{Context, Evidence, Finding, ObjectRef, Status};
use crate::k8s::kubectl_style::human_duration;
use crate::k8s::pod_state::{self, ContainerKind, ContainerView};
use crate::signals::Signal;
use crate::snapshot::{HasMeta, Kind, in_namespace};

pub struct CrashLoop;

pub const ID: &str = "crash-loop";

/// How recent a restart must be to count when the container is not in back-off right
/// now: the kubelet's back-off caps at 5 minutes (MaxContainerBackOff), so a container
/// still crashing has terminated within two of its periods.
pub const RECENT: jiff::SignedDuration = jiff::SignedDuration::from_secs(600);

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Failing {
    pub pod: String,
    pub container: String,
    pub container_kind: ContainerKind,
    /// `CrashLoopBackOff`, or `Running (not ready)` / the waiting reason between back-offs.
    pub state: String,
    pub restarts: i32,
    pub last_reason: Option<String>,
    pub last_exit_code: Option<i32>,
    pub last_message: Option<String>,
    /// `lastState.terminated.finishedAt`, RFC 3339.
    pub last_finished_at: Option<String>,
    /// How long before the capture it ended, as kubectl prints ages.
    pub last_finished_ago: Option<String>,
    /// What the exit code usually means.
    pub exit_meaning: Option<String>,
    pub workload: String,
}

/// Its section of `docs/signals.md`.
const DOCS: &str = r#"
Keys on main containers and native sidecars (init containers with `restartPolicy:
Always`) waiting `CrashLoopBackOff`, or restarted with `lastState.terminated.finishedAt`
within 10 minutes of the capture and not Ready. Reports restarts, last reason, exit code
(with its usual meaning: 137 SIGKILL, 143 SIGTERM, 127 not found, ...), message and when.
Excludes OOMKilled (oom-killed), plain init containers (init-container) and pods in a
terminal phase. Fix: `kubectl logs POD -c C --previous`, then fix or `kubectl rollout
undo`. Look-alikes: old restarts now Ready, a completed Job's pod, an Evicted pod.
"#;

impl Signal for CrashLoop {
    fn id(&self) -> &'static str {
        ID
    }

    fn title(&self) -> &'static str {
        "containers stay up"
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
        let mut settled = 0;
        for pod in &pods {
            // NB: a terminal pod's containers are never restarted again; its statuses
            // keep their last crash forever (a completed Job's pod, an Evicted pod).
            if pod_state::is_terminal(pod) {
                continue;
            }
            for view in pod_state::containers(pod) {
                if view.kind == ContainerKind::Init {
                    continue;
                }
                match crashing(context, &view) {
                    Some(state) => {
                        failing.push(describe(context, pod, &view, state, &mut finding));
                        apps.extend(context.app_of(&pod.metadata));
                    }
                    None => settled += usize::from(view.restarts() > 0 && view.ready()),
                }
            }
        }
        if failing.is_empty() {
            finding.summary = if settled > 0 {
                format!("no container crash-looping ({settled} restarted before and are up now)")
            } else {
                "no container crash-looping".to_string()
            };
            return finding;
        }
        finding.status = Status::Fail;
        finding.scope = context.scope(apps);
        finding.summary = failing
            .iter()
            .map(|f| {
                let mut text = format!(
                    "{} `{}` in pod `{}` {} (restarts {}",
                    f.container_kind.noun(),
                    f.container,
                    f.pod,
                    f.state,
                    f.restarts
                );
                if let Some(code) = f.last_exit_code {
                    text.push_str(&format!(", last exit {code}"));
                    if let Some(reason) = &f.last_reason {
                        text.push_str(&format!(" {reason}"));
                    }
                }
                if let Some(ago) = &f.last_finished_ago {
                    text.push_str(&format!(" {ago} ago"));
                }
                text.push(')');
                text
            })
            .collect::<Vec<_>>()
            .join("; ");
        let first = &failing[0];
        let mut fix = format!(
            "read why it exits: kubectl logs {} -c {} --previous",
            first.pod, first.container
        );
        if failing.len() > 1 {
            fix.push_str(" (and the same for the others)");
        }
        if first.workload.starts_with("deployment/") {
            fix.push_str(&format!(
                "; fix the code or config it fails on, or roll back: kubectl rollout undo {}",
                first.workload
            ));
        } else {
            fix.push_str("; fix the code or config it fails on");
        }
        finding.fix = Some(fix);
        finding.detail("failing", &failing);
        finding
    }
}

/// The crash state in a word, `None` when the container is fine or not this
/// signal's (OOMKilled).
fn crashing(context: &Context, view: &ContainerView) -> Option<String> {
    let last = view.last_terminated();
    if last.is_some_and(|t| t.reason.as_deref() == Some("OOMKilled")) {
        return None;
    }
    if view.waiting_reason() == Some("CrashLoopBackOff") {
        return Some("CrashLoopBackOff".to_string());
    }
    if view.restarts() == 0 || view.ready() {
        return None;
    }
    let age = context.age(last.and_then(|t| t.finished_at.as_ref()))?;
    if age > RECENT {
        return None;
    }
    Some(match view.waiting_reason() {
        Some(reason) => reason.to_string(),
        None if view.running() => "Running (not ready)".to_string(),
        None => "not running".to_string(),
    })
}

fn describe(
    context: &Context,
    pod: &Pod,
    view: &ContainerView,
    state: String,
    finding: &mut Finding,
) -> Failing {
    let object = ObjectRef::of(Kind::Pod, pod);
    finding.add_object(object.clone());
    let base = view.status_path();
    let state_path = if view.waiting().is_some() {
        "state.waiting.reason"
    } else if view.running() {
        "ready"
    } else {
        "state"
    };
    finding.evidence.push(Evidence::field_note(
        &object,
        format!("{base}.{state_path}"),
        if state_path == "ready" {
            "false".to_string()
        } else {
            state.clone()
        },
        view.label(),
    ));
    finding.evidence.push(Evidence::field(
        &object,
        format!("{base}.restartCount"),
        view.restarts().to_string(),
    ));
    let last = view.last_terminated();
    let exit_meaning = last.and_then(exit_meaning);
    if let Some(last) = last {
        finding.evidence.push(Evidence::field_note(
            &object,
            format!("{base}.lastState.terminated.exitCode"),
            last.exit_code.to_string(),
            match (&last.reason, &exit_meaning) {
                (Some(reason), Some(meaning)) => format!("{reason}: {meaning}"),
                (Some(reason), None) => reason.clone(),
                (None, Some(meaning)) => meaning.clone(),
                (None, None) => "no reason".to_string(),
            },
        ));
        if let Some(finished) = &last.finished_at {
            finding.evidence.push(Evidence::field_note(
                &object,
                format!("{base}.lastState.terminated.finishedAt"),
                finished.0.to_string(),
                crate::k8s::kubectl_style::age(Some(finished), context.now) + " before the capture",
            ));
        }
        if let Some(message) = last.message.as_deref().filter(|m| !m.trim().is_empty()) {
            finding.evidence.push(Evidence::field(
                &object,
                format!("{base}.lastState.terminated.message"),
                message.trim(),
            ));
        }
    }
    for event in context
        .warnings_for(Kind::Pod, pod.name())
        .into_iter()
        .filter(|e| view.is_subject_of(e))
    {
        finding.evidence.push(Evidence::event(event));
    }
    Failing {
        pod: pod.name().to_string(),
        container: view.name.to_string(),
        container_kind: view.kind,
        state,
        restarts: view.restarts(),
        last_reason: last.and_then(|t| t.reason.clone()),
        last_exit_code: last.map(|t| t.exit_code),
        last_message: last
            .and_then(|t| t.message.as_deref())
            .map(|m| m.trim().to_string())
            .filter(|m| !m.is_empty()),
        last_finished_at: last
            .and_then(|t| t.finished_at.as_ref())
            .map(|t| t.0.to_string()),
        last_finished_ago: context
            .age(last.and_then(|t| t.finished_at.as_ref()))
            .map(human_duration),
        exit_meaning,
        workload: pod_state::workload_of(context.snapshot, pod),
    }
}

/// What an exit code usually means: 128+N is death by signal N (shell convention the
/// runtimes report), 126/127 are the shell's "not executable" / "not found", 128 with
/// `StartError` is the runtime failing to start the process.
fn exit_meaning(terminated: &ContainerStateTerminated) -> Option<String> {
    let text = match (terminated.exit_code, terminated.reason.as_deref()) {
        (128, Some("StartError")) | (128, Some("ContainerCannotRun")) => {
            "the runtime could not start the process (see container-config)"
        }
        (126, _) => "command not executable",
        (127, _) => "command not found",
        (137, _) => {
            "SIGKILL: a failed liveness probe, a preStop timeout or the node, not the OOM killer"
        }
        (139, _) => "SIGSEGV: the process crashed",
        (143, _) => "SIGTERM: stopped from outside (probe, rollout, node drain)",
        (0, _) => "exited successfully, but a container of this pod must keep running",
        _ => return None,
    };
    Some(text.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::Scope;
    use crate::signals::test_support::evaluate;

    /// A snapshot captured at 10:15:00 (the newest timestamp: the marker pod's start).
    const CLOCK: &str = r#"---
apiVersion: v1
kind: Pod
metadata: {name: zz-clock, namespace: shop, creationTimestamp: "2025-03-02T10:15:00Z"}
spec: {containers: [{name: c, image: x}]}
status:
  phase: Running
  containerStatuses:
  - {name: c, image: x, imageID: "", ready: true, restartCount: 0, state: {running: {startedAt: "2025-03-02T10:14:00Z"}}}
"#;

    fn pod(name: &str, phase: &str, status: &str) -> String {
        format!(
            r#"---
apiVersion: v1
kind: Pod
metadata:
  name: {name}
  namespace: shop
  labels: {{app.kubernetes.io/name: api}}
spec:
  containers: [{{name: app, image: "api:1"}}]
status:
  phase: {phase}
  containerStatuses:
  - {{name: app, image: "api:1", imageID: "", {status}}}
"#
        )
    }

    #[test]
    fn back_off_fails_with_restarts_exit_and_since_when() {
        let text = format!(
            "{CLOCK}{}---\napiVersion: v1\nkind: Event\nmetadata: {{name: b, namespace: shop}}\ninvolvedObject: {{kind: Pod, name: api-1, namespace: shop, fieldPath: 'spec.containers{{app}}'}}\nreason: BackOff\ntype: Warning\ncount: 40\nmessage: Back-off restarting failed container app in pod api-1\n",
            pod(
                "api-1",
                "Running",
                "ready: false, restartCount: 12, state: {waiting: {reason: CrashLoopBackOff, message: 'back-off 5m0s restarting failed container=app'}}, lastState: {terminated: {exitCode: 1, reason: Error, message: 'panic: DATABASE_URL not set', finishedAt: '2025-03-02T10:12:00Z'}}"
            )
        );
        let finding = evaluate(&CrashLoop, &text, "shop");
        assert_eq!(finding.status, Status::Fail, "{finding:?}");
        assert_eq!(
            finding.summary,
            "container `app` in pod `api-1` CrashLoopBackOff (restarts 12, last exit 1 Error 3m ago)"
        );
        assert_eq!(
            finding.objects,
            vec![ObjectRef::new(Kind::Pod, "shop", "api-1")]
        );
        assert_eq!(finding.scope, Scope::Apps(vec!["api".into()]));
        let failing = &finding.details["failing"][0];
        assert_eq!(failing["lastMessage"], "panic: DATABASE_URL not set");
        assert_eq!(failing["lastFinishedAt"], "2025-03-02T10:12:00Z");
        assert!(
            finding
                .evidence
                .iter()
                .any(|e| matches!(e, Evidence::Event { count: 40, .. }))
        );
        assert_eq!(
            finding.fix.as_deref(),
            Some(
                "read why it exits: kubectl logs api-1 -c app --previous; fix the code or config it fails on"
            )
        );
    }

    #[test]
    fn recent_restart_not_ready_between_back_offs_fails_and_a_native_sidecar_counts() {
        let text = format!(
            r#"{CLOCK}---
apiVersion: v1
kind: Pod
metadata: {{name: web-1, namespace: shop}}
spec:
  initContainers:
  - {{name: proxy, image: envoy, restartPolicy: Always}}
  containers: [{{name: app, image: web}}]
status:
  phase: Running
  initContainerStatuses:
  - {{name: proxy, image: envoy, imageID: "", ready: false, started: false, restartCount: 3, state: {{running: {{startedAt: "2025-03-02T10:14:50Z"}}}}, lastState: {{terminated: {{exitCode: 143, reason: Error, finishedAt: "2025-03-02T10:14:49Z"}}}}}}
  containerStatuses:
  - {{name: app, image: web, imageID: "", ready: true, restartCount: 0, state: {{running: {{}}}}}}
"#
        );
        let finding = evaluate(&CrashLoop, &text, "shop");
        assert_eq!(finding.status, Status::Fail, "{finding:?}");
        assert_eq!(
            finding.summary,
            "sidecar `proxy` in pod `web-1` Running (not ready) (restarts 3, last exit 143 Error 11s ago)"
        );
        assert!(
            finding.details["failing"][0]["exitMeaning"]
                .as_str()
                .unwrap()
                .starts_with("SIGTERM")
        );
        assert_eq!(finding.scope, Scope::Namespace);
    }

    #[test]
    fn look_alikes_stay_green() {
        let text = format!(
            r#"{CLOCK}{}{}{}{}{}---
apiVersion: v1
kind: Pod
metadata: {{name: migrate-x, namespace: shop}}
spec:
  initContainers: [{{name: wait, image: pg}}]
  containers: [{{name: app, image: x}}]
status:
  phase: Pending
  initContainerStatuses:
  - {{name: wait, image: pg, imageID: "", ready: false, restartCount: 9, state: {{waiting: {{reason: CrashLoopBackOff}}}}, lastState: {{terminated: {{exitCode: 1, finishedAt: "2025-03-02T10:14:00Z"}}}}}}
"#,
            // Old restarts, Running and Ready now.
            pod(
                "api-old",
                "Running",
                "ready: true, restartCount: 4, state: {running: {}}, lastState: {terminated: {exitCode: 1, reason: Error, finishedAt: '2025-03-01T22:00:00Z'}}"
            ),
            // A completed Job's pod (restartPolicy OnFailure retried once, then succeeded).
            pod(
                "job-done",
                "Succeeded",
                "ready: false, restartCount: 1, state: {terminated: {exitCode: 0, reason: Completed}}, lastState: {terminated: {exitCode: 1, reason: Error, finishedAt: '2025-03-02T10:13:00Z'}}"
            ),
            // Evicted: phase Failed; its ReplicaSet runs a replacement (api-old).
            pod(
                "api-evicted",
                "Failed\n  reason: Evicted",
                "ready: false, restartCount: 2, state: {terminated: {exitCode: 137, reason: Error}}, lastState: {terminated: {exitCode: 1, reason: Error, finishedAt: '2025-03-02T10:14:00Z'}}"
            ),
            // OOMKilled in back-off: oom-killed reports it.
            pod(
                "api-oom",
                "Running",
                "ready: false, restartCount: 5, state: {waiting: {reason: CrashLoopBackOff}}, lastState: {terminated: {exitCode: 137, reason: OOMKilled, finishedAt: '2025-03-02T10:14:00Z'}}"
            ),
            // Recently restarted and already Ready again.
            pod(
                "api-ready",
                "Running",
                "ready: true, restartCount: 1, state: {running: {}}, lastState: {terminated: {exitCode: 1, reason: Error, finishedAt: '2025-03-02T10:14:30Z'}}"
            ),
        );
        let finding = evaluate(&CrashLoop, &text, "shop");
        assert_eq!(finding.status, Status::Ok, "{finding:?}");
        assert_eq!(
            finding.summary,
            "no container crash-looping (2 restarted before and are up now)"
        );
    }

    #[test]
    fn a_restart_older_than_ten_minutes_and_not_ready_is_not_a_crash_loop() {
        let text = format!(
            "{CLOCK}{}",
            pod(
                "api-slow",
                "Running",
                "ready: false, restartCount: 1, state: {running: {}}, lastState: {terminated: {exitCode: 1, reason: Error, finishedAt: '2025-03-02T10:04:00Z'}}"
            )
        );
        assert_eq!(evaluate(&CrashLoop, &text, "shop").status, Status::Ok);
        let recent = text.replace("10:04:00Z", "10:06:00Z");
        assert_eq!(evaluate(&CrashLoop, &recent, "shop").status, Status::Fail);
    }
}
