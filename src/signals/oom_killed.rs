//! `oom-killed`: a container (any kind) whose current or last termination is
//! `OOMKilled` (the runtime's reason when the kernel's OOM killer ended it; exit code
//! 137 = 128 + SIGKILL), or exit code 137 whose reason or message says OOM. Shows the
//! container's memory limit and request from the spec; the pod's real usage is not in
//! a snapshot (it needs metrics-server: `kubectl top pod`), and the finding says so.
//! Fails while the container is down or not Ready, or when the kill was recent
//! ([`crate::signals::crash_loop::RECENT`]); an old kill of a container up and Ready
//! since is history, named in the summary but not failing.
//! https://kubernetes.io/docs/tasks/configure-pod-container/assign-memory-resource/#exceed-a-container-s-memory-limit

use k8s_openapi::api::core::v1::{ContainerStateTerminated, Pod};
use serde::Serialize;

use crate::finding::{Context, Evidence, Finding, ObjectRef, Status};
use crate::k8s::kubectl_style::human_duration;
use crate::k8s::pod_state::{self, ContainerKind, ContainerView};
use crate::k8s::quantity::parse_quantity;
use crate::signals::Signal;
use crate::signals::crash_loop::RECENT;
use crate::snapshot::{HasMeta, Kind, in_namespace};

pub struct OomKilled;

pub const ID: &str = "oom-killed";

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Failing {
    pub pod: String,
    pub container: String,
    pub container_kind: ContainerKind,
    /// `state` (terminated now) or `lastState` (restarted since).
    pub termination: String,
    pub exit_code: i32,
    pub restarts: i32,
    pub finished_at: Option<String>,
    pub finished_ago: Option<String>,
    /// `resources.limits.memory` as written, `None` when unlimited.
    pub memory_limit: Option<String>,
    pub memory_request: Option<String>,
    /// The limit to try: 1.5 times the current one, in Mi.
    pub suggested_limit: Option<String>,
    pub workload: String,
}

/// Its section of `docs/signals.md`.
const DOCS: &str = r#"
Keys on any container whose current or last termination is `OOMKilled` (or exit 137 whose
text says OOM). Shows `resources.limits.memory`/`requests.memory` from the spec and says
the real usage is unknown (no metrics in a snapshot). Fails while the container is down or
not Ready, or when the kill was within 10 minutes; an older kill of a container Ready since
is listed in the summary as history, as is a failed Job attempt whose Job has completed since. Fix: `kubectl set resources ... --limits=memory=`
1.5x the current limit, or fix the leak. [Memory limits](https://kubernetes.io/docs/tasks/configure-pod-container/assign-memory-resource/#exceed-a-container-s-memory-limit).
"#;

impl Signal for OomKilled {
    fn id(&self) -> &'static str {
        ID
    }

    fn title(&self) -> &'static str {
        "containers fit their memory limits"
    }

    fn reads(&self) -> &'static [Kind] {
        &[Kind::Pod, Kind::Job, Kind::ReplicaSet, Kind::Event]
    }

    fn docs(&self) -> &'static str {
        DOCS
    }

    fn evaluate(&self, context: &Context) -> Finding {
        let pods = in_namespace(&context.snapshot.pods, context.namespace);
        let mut finding = Finding::ok(ID, "");
        let mut failing = Vec::new();
        let mut history = Vec::new();
        let mut apps = Vec::new();
        for pod in &pods {
            for view in pod_state::containers(pod) {
                let Some((at, terminated)) = oom_termination(&view) else {
                    continue;
                };
                let age = context.age(terminated.finished_at.as_ref());
                // A Job's failed attempt whose Job completed since is history: the
                // Job controller retried in a new pod and succeeded.
                if let Some(job) = completed_job(context, pod) {
                    history.push(format!(
                        "`{}` in pod `{}` (Job `{job}` completed since)",
                        view.name,
                        pod.name()
                    ));
                    continue;
                }
                let up_now = at == "lastState" && view.running() && view.ready();
                if up_now && age.is_some_and(|a| a > RECENT) {
                    history.push(format!(
                        "`{}` in pod `{}` {} ago",
                        view.name,
                        pod.name(),
                        age.map(human_duration).unwrap_or_default()
                    ));
                    continue;
                }
                failing.push(describe(context, pod, &view, at, terminated, &mut finding));
                apps.extend(context.app_of(&pod.metadata));
            }
        }
        if failing.is_empty() {
            finding.summary = if history.is_empty() {
                "no container OOMKilled".to_string()
            } else {
                format!(
                    "no container down from an OOM kill (earlier kills, Ready since: {})",
                    history.join(", ")
                )
            };
            return finding;
        }
        finding.status = Status::Fail;
        finding.scope = context.scope(apps);
        finding.summary = failing
            .iter()
            .map(|f| {
                let mut text = format!(
                    "{} `{}` in pod `{}` OOMKilled (restarts {}",
                    f.container_kind.noun(),
                    f.container,
                    f.pod,
                    f.restarts
                );
                if let Some(ago) = &f.finished_ago {
                    text.push_str(&format!(", {ago} ago"));
                }
                match &f.memory_limit {
                    Some(limit) => text.push_str(&format!(", memory limit {limit})")),
                    None => text.push_str(", no memory limit: the node ran out)"),
                }
                text
            })
            .collect::<Vec<_>>()
            .join("; ");
        finding
            .summary
            .push_str("; actual usage unknown (no metrics in a snapshot)");
        let first = &failing[0];
        finding.fix = Some(match (&first.memory_limit, &first.suggested_limit) {
            (Some(limit), Some(suggested)) => format!(
                "raise resources.limits.memory of `{}` from {limit}: kubectl set resources {} -c {} --limits=memory={suggested} (check `kubectl top pod` first), or fix the leak",
                first.container, first.workload, first.container
            ),
            (Some(limit), None) => format!(
                "raise resources.limits.memory of `{}` from {limit} (kubectl set resources {} -c {} --limits=memory=...), or fix the leak",
                first.container, first.workload, first.container
            ),
            (None, _) => format!(
                "the node's OOM killer chose `{}` (no limit): give it a memory request it really needs: kubectl set resources {} -c {} --requests=memory=... --limits=memory=..., or fix the leak",
                first.container, first.workload, first.container
            ),
        });
        finding.detail("failing", &failing);
        finding
    }
}

/// The Job that owns terminal `pod`, when it has completed (condition `Complete`).
fn completed_job<'a>(context: &Context<'a>, pod: &Pod) -> Option<&'a str> {
    if !pod_state::is_terminal(pod) {
        return None;
    }
    let (kind, name) = pod_state::controller_of(pod)?;
    if kind != "Job" {
        return None;
    }
    let job = in_namespace(&context.snapshot.jobs, pod.namespace())
        .into_iter()
        .find(|j| j.name() == name)?;
    let complete = job
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|c| {
            c.iter()
                .any(|c| c.type_ == "Complete" && c.status == "True")
        });
    complete.then(|| job.name())
}

/// The termination that was an OOM kill: the current state first, then the last one.
fn oom_termination<'a>(
    view: &ContainerView<'a>,
) -> Option<(&'static str, &'a ContainerStateTerminated)> {
    [
        view.terminated().map(|t| ("state", t)),
        view.last_terminated().map(|t| ("lastState", t)),
    ]
    .into_iter()
    .flatten()
    .find(|(_, t)| is_oom(t))
}

/// `OOMKilled` as the reason, or exit 137 (SIGKILL) whose text says OOM: a runtime
/// that reports the kill as `Error` may still put the kernel's words in the message.
fn is_oom(terminated: &ContainerStateTerminated) -> bool {
    if terminated.reason.as_deref() == Some("OOMKilled") {
        return true;
    }
    let text = format!(
        "{} {}",
        terminated.reason.as_deref().unwrap_or_default(),
        terminated.message.as_deref().unwrap_or_default()
    )
    .to_ascii_lowercase();
    terminated.exit_code == 137
        && ["oomkilled", "oom-kill", "oom killed", "out of memory"]
            .iter()
            .any(|n| text.contains(n))
}

fn describe(
    context: &Context,
    pod: &Pod,
    view: &ContainerView,
    at: &'static str,
    terminated: &ContainerStateTerminated,
    finding: &mut Finding,
) -> Failing {
    let object = ObjectRef::of(Kind::Pod, pod);
    finding.add_object(object.clone());
    let base = format!("{}.{at}.terminated", view.status_path());
    finding.evidence.push(Evidence::field_note(
        &object,
        format!("{base}.reason"),
        terminated.reason.clone().unwrap_or_default(),
        format!("{} exit {}", view.label(), terminated.exit_code),
    ));
    if let Some(finished) = &terminated.finished_at {
        finding.evidence.push(Evidence::field_note(
            &object,
            format!("{base}.finishedAt"),
            finished.0.to_string(),
            crate::k8s::kubectl_style::age(Some(finished), context.now) + " before the capture",
        ));
    }
    finding.evidence.push(Evidence::field(
        &object,
        format!("{}.restartCount", view.status_path()),
        view.restarts().to_string(),
    ));
    let resources = view.spec.and_then(|c| c.resources.as_ref());
    let memory = |map: Option<
        &std::collections::BTreeMap<
            String,
            k8s_openapi::apimachinery::pkg::api::resource::Quantity,
        >,
    >| { map.and_then(|m| m.get("memory")).map(|q| q.0.clone()) };
    let memory_limit = memory(resources.and_then(|r| r.limits.as_ref()));
    let memory_request = memory(resources.and_then(|r| r.requests.as_ref()));
    finding.evidence.push(Evidence::field_note(
        &object,
        format!("{}.resources.limits.memory", view.spec_path()),
        memory_limit.clone().unwrap_or_else(|| "<unset>".to_string()),
        match &memory_limit {
            Some(_) => "the cgroup limit the kernel enforced; actual usage is not in a snapshot (kubectl top pod)",
            None => "no limit: the node's OOM killer ended it under node memory pressure; actual usage is not in a snapshot",
        },
    ));
    if let Some(request) = &memory_request {
        finding.evidence.push(Evidence::field(
            &object,
            format!("{}.resources.requests.memory", view.spec_path()),
            request.clone(),
        ));
    }
    for event in context
        .warnings_for(Kind::Pod, pod.name())
        .into_iter()
        .filter(|e| view.is_subject_of(e) || e.reason.as_deref() == Some("OOMKilling"))
    {
        finding.evidence.push(Evidence::event(event));
    }
    Failing {
        pod: pod.name().to_string(),
        container: view.name.to_string(),
        container_kind: view.kind,
        termination: at.to_string(),
        exit_code: terminated.exit_code,
        restarts: view.restarts(),
        finished_at: terminated.finished_at.as_ref().map(|t| t.0.to_string()),
        finished_ago: context
            .age(terminated.finished_at.as_ref())
            .map(human_duration),
        suggested_limit: memory_limit.as_deref().and_then(suggest_limit),
        memory_limit,
        memory_request,
        workload: pod_state::workload_of(context.snapshot, pod),
    }
}

/// 1.5 times `limit`, rounded up to a whole Mi: a step large enough to tell a limit
/// set too tight from a leak (a leak exhausts the new limit too).
fn suggest_limit(limit: &str) -> Option<String> {
    let bytes = parse_quantity(limit)?;
    if bytes <= 0.0 {
        return None;
    }
    let mebibytes = (bytes * 1.5 / (1024.0 * 1024.0)).ceil();
    Some(format!("{mebibytes}Mi"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::Scope;
    use crate::signals::test_support::evaluate;

    fn pod(name: &str, resources: &str, status: &str) -> String {
        format!(
            r#"---
apiVersion: v1
kind: Pod
metadata:
  name: {name}
  namespace: shop
  labels: {{app.kubernetes.io/name: cart}}
spec:
  containers: [{{name: app, image: cart, resources: {resources}}}]
status:
  phase: Running
  containerStatuses:
  - {{name: app, image: cart, imageID: "", {status}}}
"#
        )
    }

    const CLOCK: &str = "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: clock, namespace: shop, creationTimestamp: '2025-03-02T10:15:00Z'}\n";

    #[test]
    fn oom_killed_in_back_off_fails_with_the_limit_and_a_suggestion() {
        let text = format!(
            "{CLOCK}{}",
            pod(
                "cart-1",
                "{limits: {memory: 256Mi}, requests: {memory: 128Mi}}",
                "ready: false, restartCount: 7, state: {waiting: {reason: CrashLoopBackOff}}, lastState: {terminated: {exitCode: 137, reason: OOMKilled, finishedAt: '2025-03-02T10:13:00Z'}}"
            )
        );
        let finding = evaluate(&OomKilled, &text, "shop");
        assert_eq!(finding.status, Status::Fail, "{finding:?}");
        assert_eq!(
            finding.summary,
            "container `app` in pod `cart-1` OOMKilled (restarts 7, 2m ago, memory limit 256Mi); actual usage unknown (no metrics in a snapshot)"
        );
        assert_eq!(
            finding.objects,
            vec![ObjectRef::new(Kind::Pod, "shop", "cart-1")]
        );
        assert_eq!(finding.scope, Scope::Apps(vec!["cart".into()]));
        let failing = &finding.details["failing"][0];
        assert_eq!(failing["memoryLimit"], "256Mi");
        assert_eq!(failing["memoryRequest"], "128Mi");
        assert_eq!(failing["suggestedLimit"], "384Mi");
        assert_eq!(failing["termination"], "lastState");
        assert_eq!(
            finding.fix.as_deref(),
            Some(
                "raise resources.limits.memory of `app` from 256Mi: kubectl set resources pod/cart-1 -c app --limits=memory=384Mi (check `kubectl top pod` first), or fix the leak"
            )
        );
        assert!(finding.evidence.iter().any(|e| e.short().starts_with(
            "pod/cart-1 status.containerStatuses[0].lastState.terminated.reason=OOMKilled"
        )));
    }

    #[test]
    fn init_container_terminated_137_with_oom_text_and_no_limit() {
        let text = r#"apiVersion: v1
kind: Pod
metadata: {name: load-1, namespace: shop}
spec:
  initContainers: [{name: warm-cache, image: w}]
  containers: [{name: app, image: a}]
status:
  phase: Pending
  initContainerStatuses:
  - {name: warm-cache, image: w, imageID: "", ready: false, restartCount: 0, state: {terminated: {exitCode: 137, reason: Error, message: "Memory cgroup out of memory: Killed process 42"}}}
"#;
        let finding = evaluate(&OomKilled, text, "shop");
        assert_eq!(finding.status, Status::Fail);
        assert!(
            finding
                .summary
                .starts_with("init container `warm-cache` in pod `load-1` OOMKilled (restarts 0, no memory limit: the node ran out)"),
            "{}",
            finding.summary
        );
        assert_eq!(finding.details["failing"][0]["termination"], "state");
        assert!(finding.details["failing"][0]["suggestedLimit"].is_null());
        assert!(finding.fix.unwrap().contains("--requests=memory="));
    }

    #[test]
    fn look_alikes_old_kill_ready_since_plain_137_and_clean_exit_stay_green() {
        let text = format!(
            "{CLOCK}{}{}{}",
            // Killed yesterday, Running and Ready since: history, not a fault.
            pod(
                "cart-old",
                "{limits: {memory: 256Mi}}",
                "ready: true, restartCount: 1, state: {running: {}}, lastState: {terminated: {exitCode: 137, reason: OOMKilled, finishedAt: '2025-03-01T09:00:00Z'}}"
            ),
            // 137 without OOM: a liveness kill (crash-loop/probe territory).
            pod(
                "cart-killed",
                "{limits: {memory: 256Mi}}",
                "ready: false, restartCount: 3, state: {waiting: {reason: CrashLoopBackOff}}, lastState: {terminated: {exitCode: 137, reason: Error, finishedAt: '2025-03-02T10:14:00Z'}}"
            ),
            pod(
                "cart-ok",
                "{}",
                "ready: true, restartCount: 0, state: {running: {}}"
            ),
        );
        let finding = evaluate(&OomKilled, &text, "shop");
        assert_eq!(finding.status, Status::Ok, "{finding:?}");
        assert_eq!(
            finding.summary,
            "no container down from an OOM kill (earlier kills, Ready since: `app` in pod `cart-old` 25h ago)"
        );
    }

    #[test]
    fn a_failed_job_attempt_is_history_once_the_job_completed() {
        let attempt = |job_condition: &str| {
            format!(
                r#"{CLOCK}---
apiVersion: batch/v1
kind: Job
metadata: {{name: reindex, namespace: shop}}
spec: {{template: {{spec: {{containers: [{{name: run, image: r}}], restartPolicy: Never}}}}}}
status: {{conditions: [{{type: {job_condition}, status: "True"}}]}}
---
apiVersion: v1
kind: Pod
metadata:
  name: reindex-a
  namespace: shop
  ownerReferences: [{{apiVersion: batch/v1, kind: Job, name: reindex, uid: u, controller: true}}]
spec: {{containers: [{{name: run, image: r, resources: {{limits: {{memory: 64Mi}}}}}}], restartPolicy: Never}}
status:
  phase: Failed
  containerStatuses:
  - {{name: run, image: r, imageID: "", ready: false, restartCount: 0, state: {{terminated: {{exitCode: 137, reason: OOMKilled, finishedAt: '2025-03-02T10:10:00Z'}}}}}}
"#
            )
        };
        let done = evaluate(&OomKilled, &attempt("Complete"), "shop");
        assert_eq!(done.status, Status::Ok, "{done:?}");
        assert!(
            done.summary
                .contains("`run` in pod `reindex-a` (Job `reindex` completed since)")
        );
        let failed = evaluate(&OomKilled, &attempt("Failed"), "shop");
        assert_eq!(failed.status, Status::Fail);
        assert_eq!(
            failed.objects,
            vec![ObjectRef::new(Kind::Pod, "shop", "reindex-a")]
        );
        assert_eq!(failed.details["failing"][0]["workload"], "job/reindex");
    }

    #[test]
    fn suggested_limits_round_up_to_mebibytes() {
        assert_eq!(suggest_limit("256Mi").as_deref(), Some("384Mi"));
        assert_eq!(suggest_limit("1Gi").as_deref(), Some("1536Mi"));
        assert_eq!(suggest_limit("500M").as_deref(), Some("716Mi"));
        assert_eq!(suggest_limit("lots"), None);
    }
}
