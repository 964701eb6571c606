//! How kubectl spells things (ages, pod status, role rules), so a responder reads
//! triage's columns exactly as they would read `kubectl get`.

use jiff::{SignedDuration, Timestamp};
use k8s_openapi::api::core::v1::{ContainerStatus, Pod};
use k8s_openapi::api::rbac::v1::PolicyRule;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

/// kubectl's `HumanDuration` (k8s.io/apimachinery/pkg/util/duration).
pub fn human_duration(duration: SignedDuration) -> String {
    let seconds = duration.as_secs();
    if seconds < -1 {
        return "<invalid>".to_string();
    }
    if seconds < 0 {
        return "0s".to_string();
    }
    let minutes = seconds / 60;
    let hours = seconds / 3600;
    let days = hours / 24;
    let years = days / 365;
    if seconds < 60 * 2 {
        format!("{seconds}s")
    } else if minutes < 10 {
        match seconds % 60 {
            0 => format!("{minutes}m"),
            s => format!("{minutes}m{s}s"),
        }
    } else if minutes < 60 * 3 {
        format!("{minutes}m")
    } else if hours < 8 {
        match minutes % 60 {
            0 => format!("{hours}h"),
            m => format!("{hours}h{m}m"),
        }
    } else if hours < 48 {
        format!("{hours}h")
    } else if hours < 24 * 8 {
        match hours % 24 {
            0 => format!("{days}d"),
            h => format!("{days}d{h}h"),
        }
    } else if days < 365 * 2 {
        format!("{days}d")
    } else if days < 365 * 8 {
        match days % 365 {
            0 => format!("{years}y"),
            d => format!("{years}y{d}d"),
        }
    } else {
        format!("{years}y")
    }
}

/// The age of `time` at `now`, `<unknown>` without either.
pub fn age(time: Option<&Time>, now: Option<Timestamp>) -> String {
    match (time, now) {
        (Some(Time(at)), Some(now)) => human_duration(now.duration_since(*at)),
        _ => "<unknown>".to_string(),
    }
}

/// The READY and STATUS columns of `kubectl get pods`, computed as kubectl's printPod
/// does (pkg/printers/internalversion/printers.go). Native sidecars (init containers
/// with `restartPolicy: Always`, KEP-753) count as regular containers: a started one
/// does not hold the pod in `Init:`, and a ready one counts in READY, so a pod with one
/// sidecar and one app container reads `2/2 Running`.
struct PodColumns {
    ready: usize,
    total: usize,
    reason: String,
}

fn pod_columns(pod: &Pod) -> PodColumns {
    let spec = pod.spec.as_ref();
    let init_specs = spec
        .and_then(|s| s.init_containers.as_deref())
        .unwrap_or_default();
    let total = spec.map_or(0, |s| s.containers.len())
        + init_specs.iter().filter(|c| is_native_sidecar(c)).count();
    let Some(status) = pod.status.as_ref() else {
        // NB: kubectl prints the empty phase; "Unknown" is triage's word for it.
        return PodColumns {
            ready: 0,
            total,
            reason: "Unknown".to_string(),
        };
    };
    let conditions = status.conditions.as_deref().unwrap_or_default();
    let condition_true = |kind: &str| {
        conditions
            .iter()
            .any(|c| c.type_ == kind && c.status == "True")
    };
    let mut reason = status
        .reason
        .clone()
        .filter(|r| !r.is_empty())
        .or_else(|| status.phase.clone())
        .unwrap_or_else(|| "Unknown".to_string());
    if conditions
        .iter()
        .any(|c| c.type_ == "PodScheduled" && c.reason.as_deref() == Some("SchedulingGated"))
    {
        reason = "SchedulingGated".to_string();
    }
    let mut ready = 0;

    let init_statuses = status
        .init_container_statuses
        .as_deref()
        .unwrap_or_default();
    let sidecar = |name: &str| {
        init_specs
            .iter()
            .any(|c| c.name == name && is_native_sidecar(c))
    };
    let mut initializing = false;
    for (index, container) in init_statuses.iter().enumerate() {
        let state = container.state.as_ref();
        let terminated = state.and_then(|s| s.terminated.as_ref());
        if terminated.is_some_and(|t| t.exit_code == 0) {
            continue;
        }
        if sidecar(&container.name) && container.started == Some(true) {
            ready += usize::from(container.ready);
            continue;
        }
        if let Some(terminated) = terminated {
            reason = match &terminated.reason {
                Some(r) if !r.is_empty() => format!("Init:{r}"),
                _ => match terminated.signal {
                    Some(signal) if signal != 0 => format!("Init:Signal:{signal}"),
                    _ => format!("Init:ExitCode:{}", terminated.exit_code),
                },
            };
        } else if let Some(r) = state
            .and_then(|s| s.waiting.as_ref())
            .and_then(|w| w.reason.as_deref())
            .filter(|r| !r.is_empty() && *r != "PodInitializing")
        {
            reason = format!("Init:{r}");
        } else {
            let count = if spec.is_some_and(|s| s.init_containers.is_some()) {
                init_specs.len()
            } else {
                init_statuses.len()
            };
            reason = format!("Init:{index}/{count}");
        }
        initializing = true;
        break;
    }

    if !initializing || condition_true("Initialized") {
        let mut has_running = false;
        for container in status
            .container_statuses
            .as_deref()
            .unwrap_or_default()
            .iter()
            .rev()
        {
            let state = container.state.as_ref();
            if let Some(r) = state
                .and_then(|s| s.waiting.as_ref())
                .and_then(|w| w.reason.as_deref())
                .filter(|r| !r.is_empty())
            {
                reason = r.to_string();
            } else if let Some(terminated) = state.and_then(|s| s.terminated.as_ref()) {
                reason = match &terminated.reason {
                    Some(r) if !r.is_empty() => r.clone(),
                    _ => match terminated.signal {
                        Some(signal) if signal != 0 => format!("Signal:{signal}"),
                        _ => format!("ExitCode:{}", terminated.exit_code),
                    },
                };
            } else if container.ready && state.is_some_and(|s| s.running.is_some()) {
                has_running = true;
                ready += 1;
            }
        }
        if reason == "Completed" && has_running {
            reason = if condition_true("Ready") {
                "Running".to_string()
            } else {
                "NotReady".to_string()
            };
        }
    }

    if pod.metadata.deletion_timestamp.is_some() {
        let terminal = matches!(status.phase.as_deref(), Some("Succeeded" | "Failed"));
        if status.reason.as_deref() == Some("NodeLost") {
            reason = "Unknown".to_string();
        } else if !terminal {
            reason = "Terminating".to_string();
        }
    }
    PodColumns {
        ready,
        total,
        reason,
    }
}

/// An init container with `restartPolicy: Always` (`IsRestartableInitContainer`).
fn is_native_sidecar(container: &k8s_openapi::api::core::v1::Container) -> bool {
    crate::k8s::pod_state::is_native_sidecar(container)
}

/// The STATUS column of `kubectl get pods` (kubectl's printPod), including the
/// `Init:` forms that hide a crash-looping init container.
pub fn pod_status(pod: &Pod) -> String {
    pod_columns(pod).reason
}

/// `ready/total` containers, as in kubectl's READY column (native sidecars count).
pub fn pod_ready(pod: &Pod) -> String {
    let columns = pod_columns(pod);
    format!("{}/{}", columns.ready, columns.total)
}

/// Sum of container restarts, with the age of the last one as kubectl shows it.
pub fn pod_restarts(pod: &Pod) -> i32 {
    let statuses = pod.status.as_ref();
    let containers = statuses
        .and_then(|s| s.container_statuses.as_deref())
        .unwrap_or_default();
    let init = statuses
        .and_then(|s| s.init_container_statuses.as_deref())
        .unwrap_or_default();
    init.iter().chain(containers).map(|c| c.restart_count).sum()
}

/// One init container's state in a few words: `CrashLoopBackOff (restarts 47, last exit 1 Error)`.
pub fn container_state(container: &ContainerStatus) -> String {
    let state = container.state.as_ref();
    let now = if let Some(waiting) = state.and_then(|s| s.waiting.as_ref()) {
        waiting
            .reason
            .clone()
            .unwrap_or_else(|| "Waiting".to_string())
    } else if let Some(terminated) = state.and_then(|s| s.terminated.as_ref()) {
        format!(
            "{} (exit {})",
            terminated.reason.as_deref().unwrap_or("Terminated"),
            terminated.exit_code
        )
    } else if state.is_some_and(|s| s.running.is_some()) {
        "Running".to_string()
    } else {
        "Unknown".to_string()
    };
    let mut details = Vec::new();
    if container.restart_count > 0 {
        details.push(format!("restarts {}", container.restart_count));
    }
    if let Some(last) = container
        .last_state
        .as_ref()
        .and_then(|s| s.terminated.as_ref())
    {
        details.push(format!(
            "last exit {}{}",
            last.exit_code,
            last.reason
                .as_deref()
                .map(|r| format!(" {r}"))
                .unwrap_or_default()
        ));
    }
    if details.is_empty() {
        now
    } else {
        format!("{now} ({})", details.join(", "))
    }
}

/// A role rule in one short line: `jobs.batch: get,list,watch`. A rule spanning
/// several API groups names them once instead of multiplying every resource:
/// `pods,jobs [groups: core,batch]: get`.
pub fn rule_short(rule: &PolicyRule) -> String {
    let groups = rule.api_groups.as_deref().unwrap_or_default();
    let mut names: Vec<String> = rule.resources.clone().unwrap_or_default();
    if let [group] = groups
        && !group.is_empty()
    {
        names = names.into_iter().map(|r| format!("{r}.{group}")).collect();
    }
    names.extend(rule.non_resource_urls.iter().flatten().cloned());
    let mut text = names.join(",");
    if groups.len() > 1 {
        let spelled: Vec<&str> = groups
            .iter()
            .map(|g| if g.is_empty() { "core" } else { g.as_str() })
            .collect();
        text.push_str(&format!(" [groups: {}]", spelled.join(",")));
    }
    text.push_str(&format!(": {}", rule.verbs.join(",")));
    if let Some(names) = rule.resource_names.as_ref().filter(|n| !n.is_empty()) {
        text.push_str(&format!(" [{}]", names.join(",")));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: i64) -> String {
        human_duration(SignedDuration::from_secs(s))
    }

    #[test]
    fn durations_match_kubectl() {
        assert_eq!(secs(-5), "<invalid>");
        assert_eq!(secs(45), "45s");
        assert_eq!(secs(119), "119s");
        assert_eq!(secs(150), "2m30s");
        assert_eq!(secs(600), "10m");
        assert_eq!(secs(4 * 3600 + 42 * 60), "4h42m");
        assert_eq!(secs(20 * 3600), "20h");
        assert_eq!(secs(3 * 86400 + 5 * 3600), "3d5h");
        assert_eq!(secs(40 * 86400), "40d");
        assert_eq!(secs(3 * 365 * 86400 + 86400), "3y1d");
    }

    fn pod(yaml: &str) -> Pod {
        serde_saphyr::from_str(yaml).unwrap()
    }

    #[test]
    fn crash_looping_init_container_shows_as_kubectl_does() {
        let p = pod(r#"
apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  initContainers: [{name: wait}]
  containers: [{name: app}]
status:
  phase: Pending
  initContainerStatuses:
  - name: wait
    image: x
    imageID: ""
    ready: false
    restartCount: 47
    state: {waiting: {reason: CrashLoopBackOff}}
    lastState: {terminated: {exitCode: 1, reason: Error}}
  containerStatuses:
  - name: app
    image: x
    imageID: ""
    ready: false
    restartCount: 0
    state: {waiting: {reason: PodInitializing}}
"#);
        assert_eq!(pod_status(&p), "Init:CrashLoopBackOff");
        assert_eq!(pod_ready(&p), "0/1");
        assert_eq!(pod_restarts(&p), 47);
        let init = &p
            .status
            .as_ref()
            .unwrap()
            .init_container_statuses
            .as_ref()
            .unwrap()[0];
        assert_eq!(
            container_state(init),
            "CrashLoopBackOff (restarts 47, last exit 1 Error)"
        );
    }

    #[test]
    fn completed_init_and_running_app_is_running() {
        let p = pod(r#"
apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  initContainers: [{name: wait}]
  containers: [{name: app}]
status:
  phase: Running
  initContainerStatuses:
  - {name: wait, image: x, imageID: "", ready: true, restartCount: 3, state: {terminated: {exitCode: 0, reason: Completed}}}
  containerStatuses:
  - {name: app, image: x, imageID: "", ready: true, restartCount: 0, state: {running: {}}}
"#);
        assert_eq!(pod_status(&p), "Running");
        assert_eq!(pod_ready(&p), "1/1");
    }

    #[test]
    fn init_error_and_progress_forms() {
        let p = pod(r#"
apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  initContainers: [{name: a}, {name: b}]
  containers: [{name: app}]
status:
  phase: Pending
  initContainerStatuses:
  - {name: a, image: x, imageID: "", ready: true, restartCount: 0, state: {terminated: {exitCode: 0}}}
  - {name: b, image: x, imageID: "", ready: false, restartCount: 0, state: {running: {}}}
"#);
        assert_eq!(pod_status(&p), "Init:1/2");
        let failed = pod(r#"
apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  initContainers: [{name: a}]
  containers: [{name: app}]
status:
  phase: Pending
  initContainerStatuses:
  - {name: a, image: x, imageID: "", ready: false, restartCount: 0, state: {terminated: {exitCode: 2}}}
"#);
        assert_eq!(pod_status(&failed), "Init:ExitCode:2");
    }

    #[test]
    fn native_sidecar_counts_as_a_container_as_kubectl_prints_it() {
        let p = pod(r#"
apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  initContainers: [{name: migrate}, {name: proxy, restartPolicy: Always}]
  containers: [{name: app}]
status:
  phase: Running
  conditions: [{type: Initialized, status: "True"}, {type: Ready, status: "True"}]
  initContainerStatuses:
  - {name: migrate, image: x, imageID: "", ready: true, restartCount: 0, state: {terminated: {exitCode: 0, reason: Completed}}}
  - {name: proxy, image: x, imageID: "", ready: true, started: true, restartCount: 0, state: {running: {}}}
  containerStatuses:
  - {name: app, image: x, imageID: "", ready: true, restartCount: 0, state: {running: {}}}
"#);
        assert_eq!(pod_status(&p), "Running");
        assert_eq!(pod_ready(&p), "2/2");
        // The sidecar started but is not ready yet: counted in the total, not ready.
        let starting = pod(r#"
apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  initContainers: [{name: proxy, restartPolicy: Always}]
  containers: [{name: app}]
status:
  phase: Pending
  initContainerStatuses:
  - {name: proxy, image: x, imageID: "", ready: false, started: true, restartCount: 0, state: {running: {}}}
  containerStatuses:
  - {name: app, image: x, imageID: "", ready: false, restartCount: 0, state: {waiting: {reason: ContainerCreating}}}
"#);
        assert_eq!(pod_status(&starting), "ContainerCreating");
        assert_eq!(pod_ready(&starting), "0/2");
        // A sidecar not started yet holds the pod in Init, like any init container.
        let unstarted = pod(r#"
apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  initContainers: [{name: proxy, restartPolicy: Always}]
  containers: [{name: app}]
status:
  phase: Pending
  initContainerStatuses:
  - {name: proxy, image: x, imageID: "", ready: false, started: false, restartCount: 0, state: {waiting: {reason: ImagePullBackOff}}}
"#);
        assert_eq!(pod_status(&unstarted), "Init:ImagePullBackOff");
        assert_eq!(pod_ready(&unstarted), "0/2");
    }

    #[test]
    fn terminating_completed_and_gated_forms() {
        let deleted_done = pod(r#"
apiVersion: v1
kind: Pod
metadata: {name: p, deletionTimestamp: "2025-01-01T00:00:00Z"}
spec: {containers: [{name: app}]}
status:
  phase: Succeeded
  containerStatuses:
  - {name: app, image: x, imageID: "", ready: false, restartCount: 0, state: {terminated: {exitCode: 0, reason: Completed}}}
"#);
        // kubectl shows Terminating only for pods not in a terminal phase.
        assert_eq!(pod_status(&deleted_done), "Completed");
        let deleting = pod(r#"
apiVersion: v1
kind: Pod
metadata: {name: p, deletionTimestamp: "2025-01-01T00:00:00Z"}
spec: {containers: [{name: app}]}
status: {phase: Running}
"#);
        assert_eq!(pod_status(&deleting), "Terminating");
        let gated = pod(r#"
apiVersion: v1
kind: Pod
metadata: {name: p}
spec: {containers: [{name: app}]}
status: {phase: Pending, conditions: [{type: PodScheduled, status: "False", reason: SchedulingGated}]}
"#);
        assert_eq!(pod_status(&gated), "SchedulingGated");
        assert_eq!(pod_ready(&gated), "0/1");
        let bare = pod("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\n");
        assert_eq!(pod_status(&bare), "Unknown");
        assert_eq!(pod_ready(&bare), "0/0");
    }

    #[test]
    fn role_rules_in_short_form() {
        let rule: PolicyRule = serde_saphyr::from_str(
            "apiGroups: [batch]\nresources: [jobs]\nverbs: [get, list, watch]\n",
        )
        .unwrap();
        assert_eq!(rule_short(&rule), "jobs.batch: get,list,watch");
        let core: PolicyRule =
            serde_saphyr::from_str("apiGroups: [\"\"]\nresources: [configmaps, pods]\nverbs: [patch]\nresourceNames: [lock]\n").unwrap();
        assert_eq!(rule_short(&core), "configmaps,pods: patch [lock]");
        let multi: PolicyRule = serde_saphyr::from_str(
            "apiGroups: [\"\", batch]\nresources: [pods, jobs]\nverbs: [get]\n",
        )
        .unwrap();
        assert_eq!(rule_short(&multi), "pods,jobs [groups: core,batch]: get");
    }
}
