//! `init-container`: init containers crash-looping or failing, with restarts, last
//! exit code and reason, and whether the database was reachable: a command that runs
//! `pg_isready` then a second step, with pg_isready's "accepting connections" in the
//! termination message or events, means the later step (schema verification) fails.
//! A Completed init container that restarted before is healthy. Native sidecars
//! (init containers with `restartPolicy: Always`) are not init steps: skipped.
//! https://kubernetes.io/docs/concepts/workloads/pods/init-containers/

use k8s_openapi::api::core::v1::{Container, ContainerStatus, Pod};
use serde::Serialize;

use crate::finding::{Context, Evidence, Finding, ObjectRef, Status};
use crate::k8s::pod_state;
use crate::signals::{Chain, ChainState, Gate, Role, Signal};
use crate::snapshot::{HasMeta, Kind};

pub struct InitContainer;

pub const ID: &str = "init-container";

/// Waiting reasons that are normal start-up, not failures.
const STARTING: [&str; 2] = ["PodInitializing", "ContainerCreating"];

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Failing {
    pub pod: String,
    pub container: String,
    pub state: String,
    pub restarts: i32,
    pub last_exit_code: Option<i32>,
    pub last_reason: Option<String>,
    /// From pg_isready's output in the termination message or events, when there.
    pub database_reachable: Option<bool>,
}

/// Its section of `docs/signals.md`.
const DOCS: &str = r#"
Keys on pods' `status.initContainerStatuses`: waiting with a reason other than
`PodInitializing`/`ContainerCreating` (CrashLoopBackOff, ...), terminated non-zero, or
running again after a failed run. [Init containers](https://kubernetes.io/docs/concepts/workloads/pods/init-containers/).
Reports restarts, last exit code and reason, the Warning events, and, when the command
runs `pg_isready` then a second step, whether the database was reachable: from
`accepting connections` / `no response` in the termination message or events, else from
the exit code (pg_isready exits 2 when the server does not answer and 3 on bad
parameters, so another non-zero code came from the later step: schema verification
failing, not the connection). Look-alikes: a Completed init container that restarted
before is healthy; a native sidecar (`restartPolicy: Always`) stopped with its Failed or
Succeeded pod (an evicted pod, `orders-incident.yaml`) is the pod's shutdown, not an init
failure. `triage plan` lists it as a `verify` step: it completes once its gates
are fixed.
"#;

impl Signal for InitContainer {
    fn id(&self) -> &'static str {
        ID
    }

    fn title(&self) -> &'static str {
        "init containers complete"
    }

    fn reads(&self) -> &'static [Kind] {
        &[Kind::Pod, Kind::Event]
    }

    fn role(&self) -> Role {
        Role::VerifyOnly {
            not_written: "nothing to write: it completes by itself once what gates it is repaired (verified after the other steps)",
        }
    }

    fn chain(&self) -> Option<Chain> {
        Some(Chain {
            state: ChainState::Degraded,
            position: 1,
        })
    }

    fn gates(&self) -> &'static [Gate] {
        &[Gate {
            gated: "derived-state",
            because: "the reconciler reports Degraded while it fails",
        }]
    }

    fn rationale(&self) -> Option<&'static str> {
        Some("resolves once its gates are fixed")
    }

    fn docs(&self) -> &'static str {
        DOCS
    }

    fn evaluate(&self, context: &Context) -> Finding {
        let mut finding = Finding::ok(ID, "");
        let mut failing = Vec::new();
        let mut apps = Vec::new();
        let mut restarted_but_completed = 0;
        for pod in context.app_pods() {
            let statuses = pod
                .status
                .as_ref()
                .and_then(|s| s.init_container_statuses.as_deref())
                .unwrap_or_default();
            let specs = pod
                .spec
                .as_ref()
                .and_then(|s| s.init_containers.as_deref())
                .unwrap_or_default();
            for (index, status) in statuses.iter().enumerate() {
                // NB: a native sidecar (restartPolicy: Always, KEP-753) keeps running
                // beside the app: Running is its healthy state, and its crashes are
                // crash-loop's, not a stuck init step.
                let sidecar = specs
                    .iter()
                    .any(|c| c.name == status.name && pod_state::is_native_sidecar(c));
                if sidecar {
                    continue;
                }
                let Some(state) = failing_state(status) else {
                    restarted_but_completed += usize::from(status.restart_count > 0);
                    continue;
                };
                let spec = pod
                    .spec
                    .as_ref()
                    .and_then(|s| s.init_containers.as_ref())
                    .and_then(|c| c.iter().find(|c| c.name == status.name));
                failing.push(self.describe(context, pod, index, status, spec, state, &mut finding));
                apps.extend(context.app_of(&pod.metadata));
            }
        }
        if failing.is_empty() {
            finding.summary = if restarted_but_completed > 0 {
                format!(
                    "every init container completed ({restarted_but_completed} after earlier restarts)"
                )
            } else {
                "no failing init container".to_string()
            };
            return finding;
        }
        finding.status = Status::Fail;
        finding.scope = context.scope(apps);
        finding.summary = failing
            .iter()
            .map(|f| {
                let mut text = format!(
                    "`{}` in pod `{}` {} (restarts {}",
                    f.container, f.pod, f.state, f.restarts
                );
                if let Some(code) = f.last_exit_code {
                    text.push_str(&format!(", last exit {code}"));
                }
                text.push(')');
                if f.database_reachable == Some(true) {
                    text.push_str(": database reachable, schema verification fails");
                } else if f.database_reachable == Some(false) {
                    text.push_str(": database unreachable");
                }
                text
            })
            .collect::<Vec<_>>()
            .join("; ");
        finding.fix = Some(
            "fix what gates it (egress, pvc, schema, quota); it then completes on its next restart (or delete the pod to skip the backoff)"
                .to_string(),
        );
        finding.detail("failing", &failing);
        finding
    }
}

impl InitContainer {
    #[expect(clippy::too_many_arguments)]
    fn describe(
        &self,
        context: &Context,
        pod: &Pod,
        index: usize,
        status: &ContainerStatus,
        spec: Option<&Container>,
        state: String,
        finding: &mut Finding,
    ) -> Failing {
        let object = ObjectRef::of(Kind::Pod, pod);
        finding.add_object(object.clone());
        let base = format!("status.initContainerStatuses[{index}]");
        let current = status.state.as_ref();
        let state_path = if current.and_then(|s| s.waiting.as_ref()).is_some() {
            "state.waiting.reason"
        } else if current.and_then(|s| s.terminated.as_ref()).is_some() {
            "state.terminated.reason"
        } else {
            "state"
        };
        finding.evidence.push(Evidence::field_note(
            &object,
            format!("{base}.{state_path}"),
            state.clone(),
            format!("init container `{}`", status.name),
        ));
        finding.evidence.push(Evidence::field(
            &object,
            format!("{base}.restartCount"),
            status.restart_count.to_string(),
        ));
        let last = status
            .last_state
            .as_ref()
            .and_then(|s| s.terminated.as_ref())
            .or_else(|| current.and_then(|s| s.terminated.as_ref()));
        if let Some(last) = last {
            finding.evidence.push(Evidence::field_note(
                &object,
                format!("{base}.lastState.terminated.exitCode"),
                last.exit_code.to_string(),
                last.reason
                    .clone()
                    .unwrap_or_else(|| "no reason".to_string()),
            ));
        }
        let events = context.warnings_for(Kind::Pod, pod.name());
        let mut texts: Vec<String> = last.and_then(|l| l.message.clone()).into_iter().collect();
        texts.extend(events.iter().filter_map(|e| e.message.clone()));
        for event in &events {
            finding.evidence.push(Evidence::event(event));
        }
        let command = spec
            .map(|c| {
                c.command
                    .iter()
                    .flatten()
                    .chain(c.args.iter().flatten())
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .unwrap_or_default();
        let mut reachable = None;
        if let Some(second) = step_after_pg_isready(&command) {
            let joined = texts.join("\n").to_ascii_lowercase();
            reachable = if joined.contains("accepting connections") {
                Some(true)
            } else if [
                "no response",
                "could not translate host name",
                "name or service not known",
                "timed out",
                "timeout",
            ]
            .iter()
            .any(|needle| joined.contains(needle))
            {
                Some(false)
            } else {
                None
            };
            let note = match reachable {
                Some(true) => format!(
                    "pg_isready succeeded, then `{second}` failed: the schema verification is failing, not the connection"
                ),
                Some(false) => "pg_isready could not reach the database".to_string(),
                None => format!(
                    "runs pg_isready then `{second}`; no log in the snapshot says which step failed"
                ),
            };
            finding.evidence.push(Evidence::field_note(
                &object,
                format!("spec.initContainers[{}].command", status.name),
                command,
                note,
            ));
        }
        Failing {
            pod: pod.name().to_string(),
            container: status.name.clone(),
            state,
            restarts: status.restart_count,
            last_exit_code: last.map(|l| l.exit_code),
            last_reason: last.and_then(|l| l.reason.clone()),
            database_reachable: reachable,
        }
    }
}

/// The failing state in a word, `None` when the container is fine (running without
/// restarts, starting, or Completed even after earlier restarts).
fn failing_state(status: &ContainerStatus) -> Option<String> {
    let state = status.state.as_ref()?;
    if let Some(waiting) = &state.waiting {
        let reason = waiting
            .reason
            .clone()
            .unwrap_or_else(|| "Waiting".to_string());
        let crashed_before = status
            .last_state
            .as_ref()
            .and_then(|s| s.terminated.as_ref())
            .is_some_and(|t| t.exit_code != 0);
        return (!STARTING.contains(&reason.as_str()) || crashed_before).then_some(reason);
    }
    if let Some(terminated) = &state.terminated {
        return (terminated.exit_code != 0).then(|| {
            terminated
                .reason
                .clone()
                .unwrap_or_else(|| format!("ExitCode:{}", terminated.exit_code))
        });
    }
    let crashed_before = status
        .last_state
        .as_ref()
        .and_then(|s| s.terminated.as_ref())
        .is_some_and(|t| t.exit_code != 0);
    (state.running.is_some() && status.restart_count > 0 && crashed_before)
        .then(|| "Running (retrying)".to_string())
}

/// The first command after `pg_isready` in a shell command line, if it runs one.
fn step_after_pg_isready(command: &str) -> Option<String> {
    let at = command.find("pg_isready")?;
    let rest = &command[at..];
    let after = rest
        .split(['\n', ';'])
        .flat_map(|part| part.split("&&"))
        .map(str::trim)
        .skip_while(|part| !part.contains("pg_isready"))
        .skip(1)
        .find(|part| {
            !part.is_empty()
                && !part.starts_with("do")
                && !part.starts_with("done")
                && !part.starts_with("sleep")
                && !part.starts_with("echo")
        })?;
    Some(after.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::Scope;
    use crate::signals::test_support::evaluate;

    fn pod(init_status: &str, message: &str) -> String {
        format!(
            r#"apiVersion: v1
kind: Pod
metadata: {{name: bleat-1, namespace: app, labels: {{app.kubernetes.io/name: bleat-service}}}}
spec:
  initContainers:
  - name: wait-for-db-schema
    image: postgres
    command: [sh, -c]
    args: ["pg_isready -h bleat-db -p 5432 && psql -h bleat-db -tAc \"select 1 from pg_tables where tablename='bleats_v3'\" | grep -q 1"]
  containers: [{{name: app, image: x}}]
status:
  phase: Pending
  initContainerStatuses:
  - name: wait-for-db-schema
    image: postgres
    imageID: ""
    ready: false
    {init_status}
    lastState: {{terminated: {{exitCode: 1, reason: Error, message: "{message}"}}}}
"#
        )
    }

    #[test]
    fn crash_looping_init_container_fails_with_schema_verification_evidence() {
        let text = pod(
            "restartCount: 47\n    state: {waiting: {reason: CrashLoopBackOff}}",
            "bleat-db:5432 - accepting connections",
        );
        let finding = evaluate(&InitContainer, &text, "app");
        assert_eq!(finding.status, Status::Fail);
        assert!(
            finding
                .summary
                .contains("CrashLoopBackOff (restarts 47, last exit 1)"),
            "{}",
            finding.summary
        );
        assert!(
            finding.summary.contains("schema verification fails"),
            "{}",
            finding.summary
        );
        assert_eq!(finding.scope, Scope::Apps(vec!["bleat-service".into()]));
        assert!(
            finding
                .evidence
                .iter()
                .any(|e| e.short().contains("psql -h bleat-db"))
        );
    }

    #[test]
    fn look_alike_completed_after_restarts_is_healthy() {
        let text = pod(
            "restartCount: 3\n    state: {terminated: {exitCode: 0, reason: Completed}}",
            "",
        );
        let finding = evaluate(&InitContainer, &text, "app");
        assert_eq!(finding.status, Status::Ok, "{finding:?}");
        assert!(finding.summary.contains("after earlier restarts"));
    }

    fn evicted_pod_with_sidecar(restart_policy: &str) -> String {
        format!(
            r#"apiVersion: v1
kind: Pod
metadata: {{name: web-1, namespace: app, labels: {{app.kubernetes.io/name: web}}}}
spec:
  initContainers: [{{name: log-router, image: fluent-bit{restart_policy}}}]
  containers: [{{name: web, image: x}}]
status:
  phase: Failed
  reason: Evicted
  initContainerStatuses:
  - {{name: log-router, image: fluent-bit, imageID: "", ready: false, restartCount: 0,
     state: {{terminated: {{exitCode: 137, reason: Error}}}}}}
"#
        )
    }

    #[test]
    fn look_alike_sidecar_stopped_with_an_evicted_pod_is_healthy() {
        let text = evicted_pod_with_sidecar(", restartPolicy: Always");
        let finding = evaluate(&InitContainer, &text, "app");
        assert_eq!(finding.status, Status::Ok, "{finding:?}");
        assert!(finding.objects.is_empty());
    }

    #[test]
    fn a_plain_init_container_that_failed_its_pod_still_fails() {
        let finding = evaluate(&InitContainer, &evicted_pod_with_sidecar(""), "app");
        assert_eq!(finding.status, Status::Fail, "{finding:?}");
        assert_eq!(finding.objects.len(), 1);
        assert_eq!(finding.objects[0].name, "web-1");
        assert!(
            finding
                .summary
                .contains("`log-router` in pod `web-1` Error"),
            "{}",
            finding.summary
        );
    }

    #[test]
    fn look_alike_native_sidecar_running_after_restarts_is_not_an_init_failure() {
        let text = r#"apiVersion: v1
kind: Pod
metadata: {name: web-1, namespace: app}
spec:
  initContainers:
  - {name: proxy, image: envoy, restartPolicy: Always}
  - {name: log-shipper, image: fluent-bit, restartPolicy: Always}
  containers: [{name: app, image: x}]
status:
  phase: Running
  initContainerStatuses:
  - {name: proxy, image: envoy, imageID: "", ready: true, started: true, restartCount: 2, state: {running: {}}, lastState: {terminated: {exitCode: 1, reason: Error}}}
  - {name: log-shipper, image: fluent-bit, imageID: "", ready: false, started: false, restartCount: 5, state: {waiting: {reason: CrashLoopBackOff}}, lastState: {terminated: {exitCode: 1, reason: Error}}}
"#;
        let finding = evaluate(&InitContainer, text, "app");
        assert_eq!(finding.status, Status::Ok, "{finding:?}");
        // The same statuses on plain init containers fail: the skip is the sidecar's.
        let plain = text.replace(", restartPolicy: Always", "");
        let finding = evaluate(&InitContainer, &plain, "app");
        assert_eq!(finding.status, Status::Fail);
        assert_eq!(finding.details["failing"].as_array().unwrap().len(), 2);
    }

    #[test]
    fn second_step_is_found() {
        assert_eq!(
            step_after_pg_isready("until pg_isready -h db; do sleep 2; done; psql -c 'select 1'")
                .as_deref(),
            Some("psql -c 'select 1'")
        );
        assert_eq!(step_after_pg_isready("pg_isready -h db"), None);
    }
}
