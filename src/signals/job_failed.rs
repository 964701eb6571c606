//! `job-failed`: Jobs the Job controller gave up on, and CronJobs whose newest finished
//! run failed, with the failed pods' own words (phase, reason, exit code, message).
//!
//! The Job controller (pkg/controller/job/job_controller.go) adds the condition
//! `FailureTarget=True` as soon as it decides a Job failed, then `Failed=True` once the
//! pods are gone, with one of the batch/v1 reasons `BackoffLimitExceeded`,
//! `DeadlineExceeded`, `PodFailurePolicy`, `MaxFailedIndexesExceeded` (or
//! `FailedIndexes`). A Job that only had failed pods but is still within its
//! `backoffLimit` is retrying, not failed.
//! https://kubernetes.io/docs/concepts/workloads/controllers/job/#job-termination-and-cleanup
//!
//! A CronJob's runs are the Jobs it owns (ownerReferences); the CronJob controller
//! (pkg/controller/cronjob/cronjob_controllerv2.go) moves `status.lastSuccessfulTime`
//! only when a run completes, so a `lastSuccessfulTime` older than `lastScheduleTime`
//! with nothing active says the last run did not succeed. Only the newest finished run
//! counts: an old failure followed by a success is history. Jobs a CronJob owns are
//! judged through their CronJob, never on their own.
//!
//! Suspended Jobs are left alone: a suspended hook Job is `orphan-hook`'s domain.

use k8s_openapi::api::batch::v1::{CronJob, Job, JobCondition};
use k8s_openapi::api::core::v1::Pod;
use serde::Serialize;

use crate::finding::{Context, Evidence, Finding, ObjectRef, Status};
use crate::signals::Signal;
use crate::snapshot::{HasMeta, Kind, in_namespace};

pub struct JobFailed;

pub const ID: &str = "job-failed";

/// One failed Job, or one CronJob whose newest finished run failed.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Failing {
    /// `Job` or `CronJob`.
    pub kind: String,
    pub name: String,
    /// The failed Job (for a CronJob: its newest finished run); absent when a CronJob's
    /// failed run is no longer in the snapshot.
    pub job: Option<String>,
    /// The condition's reason (`BackoffLimitExceeded`, ...).
    pub reason: Option<String>,
    pub message: Option<String>,
    /// For a CronJob: how many of its newest finished runs failed in a row.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub consecutive_failures: Option<usize>,
    pub failed_pods: Vec<FailedPod>,
}

/// A pod of a failed Job, with why it failed.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FailedPod {
    pub name: String,
    pub phase: Option<String>,
    /// `status.reason` of the pod (`DeadlineExceeded`, `Evicted`, ...).
    pub reason: Option<String>,
    pub containers: Vec<ContainerExit>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerExit {
    pub name: String,
    pub exit_code: i32,
    pub reason: Option<String>,
    pub message: Option<String>,
}

/// Its section of `docs/signals.md`.
const DOCS: &str = r#"
Generic (no profile). Keys on Jobs with the condition `Failed=True` (or `FailureTarget=True`,
which the Job controller sets first while it still terminates the pods) and its reason
(`BackoffLimitExceeded`, `DeadlineExceeded`, `PodFailurePolicy`, `MaxFailedIndexesExceeded`;
pkg/controller/job/job_controller.go,
[Job termination](https://kubernetes.io/docs/concepts/workloads/controllers/job/#job-termination-and-cleanup)),
with the pods the Job owns that failed (phase `Failed`, `status.reason`, each container's
terminated exit code, reason and message) and the Job's and pods' Warning events; a
`FailedCreate ... exceeded quota: NAME` event names that ResourceQuota as the cause. A
CronJob's runs are the Jobs it owns, newest first by creation; it fails when its newest
*finished* run failed (with how many in a row), or, when no run is left in the snapshot and
none is active, when `status.lastSuccessfulTime` is older than `lastScheduleTime`. Jobs a
CronJob owns are judged only through it. Look-alikes: completed Jobs and their Succeeded
pods; a CronJob whose newest run succeeded after an old failure; a suspended Job
(`orphan-hook`'s domain); a Job retrying within its `backoffLimit`. Fix:
`kubectl logs job/NAME`, then re-create the Job or `kubectl create job --from=cronjob/NAME`.
"#;

impl Signal for JobFailed {
    fn id(&self) -> &'static str {
        ID
    }

    fn title(&self) -> &'static str {
        "no failed Job or CronJob run"
    }

    fn reads(&self) -> &'static [Kind] {
        &[Kind::Job, Kind::CronJob, Kind::Pod, Kind::Event]
    }

    fn docs(&self) -> &'static str {
        DOCS
    }

    fn evaluate(&self, context: &Context) -> Finding {
        let mut finding = Finding::ok(ID, "");
        let ns = context.namespace;
        let jobs = in_namespace(&context.snapshot.jobs, ns);
        let cron_jobs = in_namespace(&context.snapshot.cron_jobs, ns);
        let mut failing = Vec::new();
        let mut apps = Vec::new();
        let mut notes = Vec::new();

        for job in &jobs {
            if cron_job_of(job, &cron_jobs).is_some() || suspended(job) {
                continue;
            }
            let Some(condition) = failed_condition(job) else {
                if job.status.as_ref().and_then(|s| s.failed).unwrap_or(0) > 0
                    && finished(job).is_none()
                {
                    notes.push(format!(
                        "Job `{}` is retrying within its backoffLimit",
                        job.name()
                    ));
                }
                continue;
            };
            let object = ObjectRef::of(Kind::Job, *job);
            finding.add_object(object);
            apps.extend(context.app_of(&job.metadata));
            failing.push(describe_job(
                context,
                job,
                Some(condition),
                "Job",
                job.name(),
                &mut finding,
            ));
        }

        for cron_job in &cron_jobs {
            let mut runs: Vec<&Job> = jobs
                .iter()
                .copied()
                .filter(|job| cron_job_of(job, &[*cron_job]).is_some() && !suspended(job))
                .collect();
            // Newest first by creation (the schedule order); names break ties.
            runs.sort_by(|a, b| {
                let created = |j: &Job| j.metadata.creation_timestamp.as_ref().map(|t| t.0);
                created(b)
                    .cmp(&created(a))
                    .then_with(|| b.name().cmp(a.name()))
            });
            let finished_runs: Vec<(&Job, bool)> = runs
                .iter()
                .filter_map(|job| finished(job).map(|failed| (*job, failed)))
                .collect();
            let cron_object = ObjectRef::of(Kind::CronJob, *cron_job);
            match finished_runs.first() {
                Some((newest, true)) => {
                    let consecutive = finished_runs.iter().take_while(|(_, f)| *f).count();
                    finding.add_object(cron_object.clone());
                    finding.add_object(ObjectRef::of(Kind::Job, *newest));
                    apps.extend(context.app_of(&cron_job.metadata));
                    apps.extend(context.app_of(&newest.metadata));
                    schedule_evidence(cron_job, &cron_object, &mut finding);
                    let mut item = describe_job(
                        context,
                        newest,
                        failed_condition(newest),
                        "CronJob",
                        cron_job.name(),
                        &mut finding,
                    );
                    item.consecutive_failures = Some(consecutive);
                    failing.push(item);
                }
                Some((newest, false)) => {
                    if finished_runs.iter().any(|(_, failed)| *failed) {
                        notes.push(format!(
                            "CronJob `{}`: newest run `{}` succeeded after an earlier failure",
                            cron_job.name(),
                            newest.name()
                        ));
                    }
                }
                None => {
                    // No finished run in the snapshot: the status alone can still tell,
                    // when the Jobs were readable and nothing is running.
                    if runs.is_empty()
                        && !context.snapshot.gaps.contains_key(&Kind::Job)
                        && last_run_unsuccessful(cron_job)
                    {
                        finding.add_object(cron_object.clone());
                        apps.extend(context.app_of(&cron_job.metadata));
                        schedule_evidence(cron_job, &cron_object, &mut finding);
                        failing.push(Failing {
                            kind: "CronJob".to_string(),
                            name: cron_job.name().to_string(),
                            job: None,
                            reason: None,
                            message: Some(
                                "the last scheduled run did not succeed and its Job is gone (failedJobsHistoryLimit or ttlSecondsAfterFinished removed it)"
                                    .to_string(),
                            ),
                            consecutive_failures: None,
                            failed_pods: Vec::new(),
                        });
                    }
                }
            }
        }

        finding.detail("failing", &failing);
        if failing.is_empty() {
            let completed = jobs.iter().filter(|j| finished(j) == Some(false)).count();
            let running = jobs
                .iter()
                .filter(|j| finished(j).is_none() && !suspended(j))
                .count();
            let mut summary = format!(
                "no failed Job: {completed} completed, {running} running or pending; no CronJob's newest finished run failed ({} checked)",
                cron_jobs.len()
            );
            for note in notes {
                summary.push_str("; ");
                summary.push_str(&note);
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
            .collect::<Vec<_>>()
            .join("; ");
        finding.fix = Some(
            failing
                .iter()
                .map(|f| fix_of(f, ns))
                .collect::<Vec<_>>()
                .join("; "),
        );
        finding
    }
}

/// The condition that says the Job failed: `Failed=True`, else `FailureTarget=True`
/// (set first, while the controller still terminates the pods).
fn failed_condition(job: &Job) -> Option<&JobCondition> {
    let conditions = job.status.as_ref()?.conditions.as_ref()?;
    ["Failed", "FailureTarget"].iter().find_map(|wanted| {
        conditions
            .iter()
            .find(|c| c.type_ == *wanted && c.status == "True")
    })
}

/// `Some(true)` failed, `Some(false)` completed, `None` still running (or never ran).
fn finished(job: &Job) -> Option<bool> {
    if failed_condition(job).is_some() {
        return Some(true);
    }
    let complete = job
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .into_iter()
        .flatten()
        .any(|c| (c.type_ == "Complete" || c.type_ == "SuccessCriteriaMet") && c.status == "True");
    complete.then_some(false)
}

fn suspended(job: &Job) -> bool {
    job.spec.as_ref().and_then(|s| s.suspend).unwrap_or(false)
}

/// The CronJob among `cron_jobs` that owns `job` (ownerReference by name, and by uid
/// when both carry one).
fn cron_job_of<'a>(job: &Job, cron_jobs: &[&'a CronJob]) -> Option<&'a CronJob> {
    job.metadata
        .owner_references
        .iter()
        .flatten()
        .filter(|o| o.kind == "CronJob")
        .find_map(|owner| {
            cron_jobs.iter().copied().find(|c| {
                c.name() == owner.name
                    && c.metadata
                        .uid
                        .as_deref()
                        .is_none_or(|uid| owner.uid.is_empty() || uid == owner.uid)
            })
        })
}

/// lastScheduleTime is set and nothing is active, and lastSuccessfulTime is older or absent.
fn last_run_unsuccessful(cron_job: &CronJob) -> bool {
    let Some(status) = cron_job.status.as_ref() else {
        return false;
    };
    let Some(scheduled) = status.last_schedule_time.as_ref() else {
        return false;
    };
    status.active.as_ref().is_none_or(Vec::is_empty)
        && status
            .last_successful_time
            .as_ref()
            .is_none_or(|ok| ok.0 < scheduled.0)
}

fn schedule_evidence(cron_job: &CronJob, object: &ObjectRef, finding: &mut Finding) {
    let status = cron_job.status.as_ref();
    let scheduled = status.and_then(|s| s.last_schedule_time.as_ref());
    let succeeded = status.and_then(|s| s.last_successful_time.as_ref());
    if let Some(scheduled) = scheduled {
        finding.evidence.push(Evidence::field(
            object,
            "status.lastScheduleTime",
            scheduled.0.to_string(),
        ));
    }
    let note = match (scheduled, succeeded) {
        (Some(s), Some(ok)) if ok.0 < s.0 => {
            "older than lastScheduleTime: the last run did not succeed"
        }
        (Some(_), None) => "never succeeded",
        _ => "",
    };
    let value = succeeded.map_or_else(|| "<none>".to_string(), |t| t.0.to_string());
    finding.evidence.push(if note.is_empty() {
        Evidence::field(object, "status.lastSuccessfulTime", value)
    } else {
        Evidence::field_note(object, "status.lastSuccessfulTime", value, note)
    });
}

/// The failed Job's condition, counts, pods and events as evidence; the item for details.
fn describe_job(
    context: &Context,
    job: &Job,
    condition: Option<&JobCondition>,
    kind: &str,
    name: &str,
    finding: &mut Finding,
) -> Failing {
    let object = ObjectRef::of(Kind::Job, job);
    let conditions = job
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_deref())
        .unwrap_or_default();
    let found = condition.and_then(|condition| {
        let index = conditions.iter().position(|c| std::ptr::eq(c, condition))?;
        Some((index, condition))
    });
    if let Some((index, condition)) = found {
        finding.evidence.push(Evidence::field_note(
            &object,
            format!("status.conditions[{index}].reason"),
            condition.reason.clone().unwrap_or_default(),
            format!(
                "{}=True: {}",
                condition.type_,
                condition.message.as_deref().unwrap_or("no message")
            ),
        ));
    }
    if let Some(status) = job.status.as_ref() {
        let backoff = job.spec.as_ref().and_then(|s| s.backoff_limit).unwrap_or(6);
        finding.evidence.push(Evidence::field_note(
            &object,
            "status.failed",
            status.failed.unwrap_or(0).to_string(),
            format!("spec.backoffLimit {backoff}"),
        ));
    }
    for event in context.warnings_for(Kind::Job, job.name()) {
        finding.evidence.push(Evidence::event(event));
        // A Job whose pods the quota refused fails on its deadline: the quota is the cause.
        if let Some(quota) = event
            .message
            .as_deref()
            .and_then(|m| m.split("exceeded quota: ").nth(1))
            .and_then(|rest| rest.split([',', ' ']).next())
            .filter(|q| !q.is_empty())
        {
            finding.add_cause(ObjectRef::new(
                Kind::ResourceQuota,
                context.namespace,
                quota,
            ));
        }
    }
    let mut failed_pods = Vec::new();
    for pod in pods_of(context, job) {
        let Some(failed) = failed_pod(pod) else {
            continue;
        };
        let pod_object = ObjectRef::of(Kind::Pod, pod);
        if let Some(reason) = &failed.reason {
            finding.evidence.push(Evidence::field(
                &pod_object,
                "status.reason",
                reason.clone(),
            ));
        }
        let statuses = pod
            .status
            .as_ref()
            .and_then(|s| s.container_statuses.as_deref())
            .unwrap_or_default();
        for exit in &failed.containers {
            let index = statuses
                .iter()
                .position(|s| s.name == exit.name)
                .unwrap_or(0);
            let current = statuses
                .get(index)
                .and_then(|s| s.state.as_ref()?.terminated.as_ref())
                .is_some_and(|t| t.exit_code != 0);
            let state = if current { "state" } else { "lastState" };
            finding.evidence.push(Evidence::field_note(
                &pod_object,
                format!("status.containerStatuses[{index}].{state}.terminated.exitCode"),
                exit.exit_code.to_string(),
                format!(
                    "container `{}`: {}{}",
                    exit.name,
                    exit.reason.as_deref().unwrap_or("no reason"),
                    exit.message
                        .as_deref()
                        .map(|m| format!(": {}", m.trim()))
                        .unwrap_or_default()
                ),
            ));
        }
        for event in context.warnings_for(Kind::Pod, pod.name()) {
            finding.evidence.push(Evidence::event(event));
        }
        failed_pods.push(failed);
    }
    Failing {
        kind: kind.to_string(),
        name: name.to_string(),
        job: Some(job.name().to_string()),
        reason: condition.and_then(|c| c.reason.clone()),
        message: condition.and_then(|c| c.message.clone()),
        consecutive_failures: None,
        failed_pods,
    }
}

/// The pods the Job owns, in name order.
fn pods_of<'a>(context: &Context<'a>, job: &Job) -> Vec<&'a Pod> {
    in_namespace(&context.snapshot.pods, context.namespace)
        .into_iter()
        .filter(|pod| {
            pod.metadata.owner_references.iter().flatten().any(|o| {
                o.kind == "Job"
                    && o.name == job.name()
                    && job
                        .metadata
                        .uid
                        .as_deref()
                        .is_none_or(|uid| o.uid.is_empty() || uid == o.uid)
            })
        })
        .collect()
}

/// A pod that failed (phase `Failed`) or whose containers exited non-zero, with the
/// terminated state of each such container (current state, else the last one).
fn failed_pod(pod: &Pod) -> Option<FailedPod> {
    let status = pod.status.as_ref()?;
    let containers: Vec<ContainerExit> = status
        .container_statuses
        .iter()
        .flatten()
        .filter_map(|c| {
            let current = c.state.as_ref().and_then(|s| s.terminated.as_ref());
            let last = c.last_state.as_ref().and_then(|s| s.terminated.as_ref());
            let ended = current
                .filter(|t| t.exit_code != 0)
                .or(last.filter(|t| t.exit_code != 0))?;
            Some(ContainerExit {
                name: c.name.clone(),
                exit_code: ended.exit_code,
                reason: ended.reason.clone(),
                message: ended.message.clone(),
            })
        })
        .collect();
    let phase = status.phase.clone();
    if phase.as_deref() != Some("Failed") && containers.is_empty() {
        return None;
    }
    Some(FailedPod {
        name: pod.name().to_string(),
        phase,
        reason: status.reason.clone(),
        containers,
    })
}

fn summary_of(failing: &Failing) -> String {
    let cause = failing.reason.as_deref().unwrap_or("failed");
    let mut text = match (failing.kind.as_str(), &failing.job) {
        ("CronJob", Some(job)) => format!(
            "CronJob `{}`: newest run `{job}` failed ({cause}{})",
            failing.name,
            match failing.consecutive_failures {
                Some(n) if n > 1 => format!(", {n} runs in a row"),
                _ => String::new(),
            }
        ),
        ("CronJob", None) => format!(
            "CronJob `{}`: the last scheduled run did not succeed and its Job is gone",
            failing.name
        ),
        _ => format!("Job `{}` failed ({cause})", failing.name),
    };
    if let Some(pod) = failing.failed_pods.first() {
        text.push_str(&format!(": pod `{}`", pod.name));
        match pod.containers.first() {
            Some(exit) => text.push_str(&format!(
                " exit {} {}",
                exit.exit_code,
                exit.reason.as_deref().unwrap_or("")
            )),
            None => {
                if let Some(reason) = &pod.reason {
                    text.push_str(&format!(" {reason}"));
                }
            }
        }
        let text_len = text.trim_end().len();
        text.truncate(text_len);
        if failing.failed_pods.len() > 1 {
            text.push_str(&format!(
                " (+{} more failed pods)",
                failing.failed_pods.len() - 1
            ));
        }
    }
    text
}

fn fix_of(failing: &Failing, ns: &str) -> String {
    match (failing.kind.as_str(), &failing.job) {
        ("CronJob", Some(job)) => format!(
            "`kubectl logs -n {ns} job/{job}` shows why; fix it, then `kubectl create job -n {ns} {}-manual --from=cronjob/{}` runs it again",
            failing.name, failing.name
        ),
        ("CronJob", None) => format!(
            "`kubectl create job -n {ns} {}-manual --from=cronjob/{}` and watch it (`kubectl get pods -n {ns} -l job-name={}-manual`)",
            failing.name, failing.name, failing.name
        ),
        _ => format!(
            "`kubectl logs -n {ns} job/{}` shows why; fix it, then `kubectl delete job -n {ns} {}` and re-apply its manifest (a Job's template is immutable)",
            failing.name, failing.name
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::Scope;
    use crate::signals::test_support::evaluate;

    fn job(name: &str, created: &str, extra_meta: &str, spec: &str, status: &str) -> String {
        format!(
            r#"apiVersion: batch/v1
kind: Job
metadata: {{name: {name}, namespace: app, uid: uid-{name}, creationTimestamp: "{created}", labels: {{app.kubernetes.io/name: reports}}{extra_meta}}}
spec: {{backoffLimit: 2, template: {{spec: {{restartPolicy: Never, containers: [{{name: main, image: x}}]}}}}{spec}}}
status: {status}
"#
        )
    }

    fn pod(name: &str, job: &str, phase: &str, exit: i32, message: &str) -> String {
        format!(
            r#"apiVersion: v1
kind: Pod
metadata:
  name: {name}
  namespace: app
  labels: {{app.kubernetes.io/name: reports}}
  ownerReferences: [{{apiVersion: batch/v1, kind: Job, name: {job}, uid: uid-{job}, controller: true}}]
spec: {{containers: [{{name: main, image: x}}]}}
status:
  phase: {phase}
  containerStatuses:
  - {{name: main, image: x, imageID: "", ready: false, restartCount: 0, state: {{terminated: {{exitCode: {exit}, reason: {reason}, message: "{message}"}}}}}}
"#,
            reason = if exit == 0 { "Completed" } else { "Error" }
        )
    }

    const FAILED: &str = "{failed: 3, conditions: [{type: FailureTarget, status: \"True\", reason: BackoffLimitExceeded, message: Job has reached the specified backoff limit}, {type: Failed, status: \"True\", reason: BackoffLimitExceeded, message: Job has reached the specified backoff limit}]}";
    const COMPLETE: &str = "{succeeded: 1, conditions: [{type: SuccessCriteriaMet, status: \"True\"}, {type: Complete, status: \"True\"}]}";
    const OWNED: &str = ", ownerReferences: [{apiVersion: batch/v1, kind: CronJob, name: nightly, uid: uid-nightly, controller: true}]";

    fn cron_job(status: &str) -> String {
        format!(
            r#"apiVersion: batch/v1
kind: CronJob
metadata: {{name: nightly, namespace: app, uid: uid-nightly, labels: {{app.kubernetes.io/name: reports}}}}
spec: {{schedule: "0 3 * * *", jobTemplate: {{spec: {{template: {{spec: {{restartPolicy: Never, containers: [{{name: main, image: x}}]}}}}}}}}}}
status: {status}
"#
        )
    }

    #[test]
    fn failed_job_names_its_reason_and_the_failed_pods_exit() {
        let text = [
            job("migrate", "2024-01-01T00:00:00Z", "", "", FAILED),
            pod(
                "migrate-a",
                "migrate",
                "Failed",
                3,
                "relation bleats_v3 already exists",
            ),
            pod(
                "migrate-b",
                "migrate",
                "Failed",
                3,
                "relation bleats_v3 already exists",
            ),
        ]
        .join("---\n");
        let finding = evaluate(&JobFailed, &text, "app");
        assert_eq!(finding.status, Status::Fail, "{finding:?}");
        assert_eq!(
            finding.objects,
            vec![ObjectRef::new(Kind::Job, "app", "migrate")]
        );
        assert_eq!(
            finding.summary,
            "Job `migrate` failed (BackoffLimitExceeded): pod `migrate-a` exit 3 Error (+1 more failed pods)"
        );
        // The failed pods carry the app label: the app is known, so the scope names it.
        assert_eq!(finding.scope, Scope::Apps(vec!["reports".into()]));
        let failing = &finding.details["failing"][0];
        assert_eq!(failing["reason"], "BackoffLimitExceeded");
        assert_eq!(failing["failedPods"][1]["containers"][0]["exitCode"], 3);
        assert_eq!(
            failing["failedPods"][0]["containers"][0]["message"],
            "relation bleats_v3 already exists"
        );
        assert!(finding.evidence.iter().any(|e| e.short()
            == "job/migrate status.conditions[1].reason=BackoffLimitExceeded (Failed=True: Job has reached the specified backoff limit)"));
        assert!(
            finding
                .evidence
                .iter()
                .any(|e| e.short() == "job/migrate status.failed=3 (spec.backoffLimit 2)")
        );
        assert!(finding.evidence.iter().any(|e| e.short()
            == "pod/migrate-a status.containerStatuses[0].state.terminated.exitCode=3 (container `main`: Error: relation bleats_v3 already exists)"));
        assert!(
            finding
                .fix
                .unwrap()
                .contains("kubectl logs -n app job/migrate")
        );
    }

    #[test]
    fn deadline_exceeded_names_the_quota_that_refused_its_pods() {
        let failed = FAILED
            .replace("BackoffLimitExceeded", "DeadlineExceeded")
            .replace(
                "Job has reached the specified backoff limit",
                "Job was active longer than specified deadline",
            );
        let text = format!(
            "{}---\napiVersion: v1\nkind: Event\nmetadata: {{name: e1, namespace: app}}\ninvolvedObject: {{kind: Job, name: compact, namespace: app}}\ntype: Warning\nreason: FailedCreate\nmessage: 'Error creating: pods \"compact-x\" is forbidden: exceeded quota: team-quota, requested: pods=1, used: pods=4, limited: pods=4'\ncount: 9\n",
            job("compact", "2024-01-01T00:00:00Z", "", "", &failed)
        );
        let finding = evaluate(&JobFailed, &text, "app");
        assert_eq!(finding.status, Status::Fail);
        assert_eq!(finding.summary, "Job `compact` failed (DeadlineExceeded)");
        assert_eq!(
            finding.caused_by,
            vec![ObjectRef::new(Kind::ResourceQuota, "app", "team-quota")]
        );
    }

    #[test]
    fn cron_job_whose_newest_runs_failed() {
        let text = [
            cron_job("{lastScheduleTime: \"2024-01-03T03:00:00Z\", lastSuccessfulTime: \"2024-01-01T03:02:00Z\"}"),
            job("nightly-1", "2024-01-01T03:00:00Z", OWNED, "", COMPLETE),
            job("nightly-2", "2024-01-02T03:00:00Z", OWNED, "", FAILED),
            job("nightly-3", "2024-01-03T03:00:00Z", OWNED, "", FAILED),
            pod("nightly-3-x", "nightly-3", "Failed", 1, "connection refused"),
            pod("nightly-1-x", "nightly-1", "Succeeded", 0, ""),
        ]
        .join("---\n");
        let finding = evaluate(&JobFailed, &text, "app");
        assert_eq!(finding.status, Status::Fail, "{finding:?}");
        assert_eq!(
            finding.objects,
            vec![
                ObjectRef::new(Kind::CronJob, "app", "nightly"),
                ObjectRef::new(Kind::Job, "app", "nightly-3"),
            ]
        );
        assert_eq!(
            finding.summary,
            "CronJob `nightly`: newest run `nightly-3` failed (BackoffLimitExceeded, 2 runs in a row): pod `nightly-3-x` exit 1 Error"
        );
        assert_eq!(finding.details["failing"].as_array().unwrap().len(), 1);
        assert!(finding.evidence.iter().any(|e| e.short()
            == "cronjob/nightly status.lastSuccessfulTime=2024-01-01T03:02:00Z (older than lastScheduleTime: the last run did not succeed)"));
        assert!(
            finding
                .fix
                .unwrap()
                .contains("kubectl create job -n app nightly-manual --from=cronjob/nightly")
        );
    }

    #[test]
    fn cron_job_whose_failed_run_is_gone_fails_on_its_status() {
        let text = cron_job(
            "{lastScheduleTime: \"2024-01-03T03:00:00Z\", lastSuccessfulTime: \"2024-01-01T03:02:00Z\"}",
        );
        let finding = evaluate(&JobFailed, &text, "app");
        assert_eq!(finding.status, Status::Fail);
        assert_eq!(
            finding.objects,
            vec![ObjectRef::new(Kind::CronJob, "app", "nightly")]
        );
        assert_eq!(
            finding.summary,
            "CronJob `nightly`: the last scheduled run did not succeed and its Job is gone"
        );
    }

    #[test]
    fn look_alike_old_failure_then_success_is_history() {
        let text = [
            cron_job("{lastScheduleTime: \"2024-01-03T03:00:00Z\", lastSuccessfulTime: \"2024-01-03T03:02:00Z\"}"),
            job("nightly-2", "2024-01-02T03:00:00Z", OWNED, "", FAILED),
            job("nightly-3", "2024-01-03T03:00:00Z", OWNED, "", COMPLETE),
            pod("nightly-2-x", "nightly-2", "Failed", 1, "boom"),
        ]
        .join("---\n");
        let finding = evaluate(&JobFailed, &text, "app");
        assert_eq!(finding.status, Status::Ok, "{finding:?}");
        assert!(
            finding.summary.contains(
                "CronJob `nightly`: newest run `nightly-3` succeeded after an earlier failure"
            ),
            "{}",
            finding.summary
        );
    }

    #[test]
    fn look_alike_running_run_after_a_failure_keeps_the_failure_visible() {
        // The newest run is still active: the newest *finished* run decides.
        let text = [
            cron_job("{lastScheduleTime: \"2024-01-03T03:00:00Z\", active: [{kind: Job, name: nightly-3}]}"),
            job("nightly-2", "2024-01-02T03:00:00Z", OWNED, "", FAILED),
            job("nightly-3", "2024-01-03T03:00:00Z", OWNED, "", "{active: 1}"),
        ]
        .join("---\n");
        let finding = evaluate(&JobFailed, &text, "app");
        assert_eq!(finding.status, Status::Fail);
        assert_eq!(finding.details["failing"][0]["job"], "nightly-2");
        // Only running, nothing finished: fine.
        let running = [
            cron_job("{lastScheduleTime: \"2024-01-03T03:00:00Z\", active: [{kind: Job, name: nightly-3}]}"),
            job("nightly-3", "2024-01-03T03:00:00Z", OWNED, "", "{active: 1}"),
        ]
        .join("---\n");
        assert_eq!(evaluate(&JobFailed, &running, "app").status, Status::Ok);
    }

    #[test]
    fn look_alikes_completed_suspended_and_retrying_jobs_are_fine() {
        let text = [
            job("done", "2024-01-01T00:00:00Z", "", "", COMPLETE),
            pod("done-x", "done", "Succeeded", 0, ""),
            // Suspended: orphan-hook's domain, even with a failure condition.
            job(
                "held",
                "2024-01-01T00:00:00Z",
                "",
                ", suspend: true",
                FAILED,
            ),
            // Retrying within backoffLimit: one failed pod, one active.
            job(
                "retry",
                "2024-01-01T00:00:00Z",
                "",
                "",
                "{failed: 1, active: 1}",
            ),
            pod("retry-a", "retry", "Failed", 1, "flaky"),
        ]
        .join("---\n");
        let finding = evaluate(&JobFailed, &text, "app");
        assert_eq!(finding.status, Status::Ok, "{finding:?}");
        assert!(finding.objects.is_empty());
        assert!(
            finding
                .summary
                .starts_with("no failed Job: 1 completed, 1 running or pending"),
            "{}",
            finding.summary
        );
        assert!(
            finding
                .summary
                .contains("Job `retry` is retrying within its backoffLimit")
        );
    }
}
