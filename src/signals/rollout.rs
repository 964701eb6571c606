//! `rollout`: workloads whose rollout is stuck.
//!
//! - Deployments: `Progressing=False` with reason `ProgressDeadlineExceeded` (the
//!   deployment controller's `TimedOutReason`), or `ReplicaFailure=True` (its
//!   `FailedRSCreateReason`/the ReplicaSet controller's `FailedCreate`), on the Deployment
//!   or one of its ReplicaSets, or FailedCreate Warning events on a ReplicaSet still
//!   short of its replicas (pkg/controller/deployment/util/deployment_util.go; the same
//!   test `kubectl rollout status` fails on: "deployment exceeded its progress deadline",
//!   kubectl pkg/polymorphichelpers/rollout_status.go).
//!   https://kubernetes.io/docs/concepts/workloads/controllers/deployment/#failed-deployment
//! - StatefulSets: `readyReplicas < replicas`, or a RollingUpdate not finished
//!   (`updatedReplicas < replicas - partition`, kubectl's StatefulSetStatusViewer), with
//!   the newest pod (else the StatefulSet) older than [`STARTUP_GRACE`].
//! - DaemonSets: `numberReady < desiredNumberScheduled`, or a RollingUpdate not finished
//!   (`updatedNumberScheduled < desiredNumberScheduled`), same grace.
//!
//! For a Deployment it names the new and the previous ReplicaSet (controller
//! ownerReferences and the `deployment.kubernetes.io/revision` annotation), what changed
//! between their pod templates (images, env: names and plain values, Secrets by name
//! only; envFrom; resources; command), and the last good revision: the newest older
//! ReplicaSet with all its replicas available now, else the newest older one created
//! before the Deployment lost its `Available` condition (it served the Deployment while
//! it was available). Look-alikes that stay ok: a rollout within its deadline
//! (`Progressing=True`, `ReplicaSetUpdated`), a Deployment scaled to 0, a complete one
//! with old ReplicaSets at 0, a paused one (named in the summary: the controller does
//! not time out a paused rollout), a partitioned or OnDelete StatefulSet update.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::core::v1::{Container, Event, Pod, PodTemplateSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use serde::Serialize;

use crate::finding::{Context, Evidence, Finding, ObjectRef, STARTUP_GRACE, Status};
use crate::k8s::workload::{self, revision};
use crate::signals::Signal;
use crate::snapshot::{HasMeta, Kind, in_namespace};

pub struct Rollout;

pub const ID: &str = "rollout";

/// Env names whose plain values are not repeated in evidence.
const SENSITIVE: [&str; 5] = ["PASSWORD", "SECRET", "TOKEN", "KEY", "CREDENTIAL"];

/// A ReplicaSet of a Deployment, by revision.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Revision {
    pub replica_set: String,
    pub revision: Option<i64>,
    pub replicas: i32,
    pub available: i32,
}

/// The last revision known to have worked, and how it is known.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LastGood {
    pub replica_set: String,
    pub revision: i64,
    pub basis: String,
}

/// One difference between the previous and the new pod template.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Change {
    /// `containers[api]`, `initContainers[wait]`, or `pod` for pod-level fields.
    pub container: String,
    pub field: String,
    pub before: Option<String>,
    pub after: Option<String>,
}

/// Why the API server refused a workload's pods (a FailedCreate message).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateRefusal {
    /// `quota`, `limit-range`, `webhook`, `pod-security`, `service-account`, `other`.
    pub by: String,
    /// The quota, LimitRange, webhook or ServiceAccount named, when identifiable.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub object: Option<String>,
    pub message: String,
    /// The cause is gone: the quota now has room for what was requested.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub resolved: bool,
}

/// One workload whose rollout is stuck.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Failing {
    pub kind: String,
    pub name: String,
    /// `ProgressDeadlineExceeded`, `FailedCreate`, `NotReady`, `UpdateStalled`.
    pub problem: String,
    pub ready: i32,
    pub desired: i32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new_replica_set: Option<Revision>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous_replica_set: Option<Revision>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_good: Option<LastGood>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<Change>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub refusals: Vec<CreateRefusal>,
    /// Pods of the new ReplicaSet (or of the StatefulSet/DaemonSet) that are not ready.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unready_pods: Vec<String>,
    pub fix: String,
}

/// Its section of `docs/signals.md`.
const DOCS: &str = r#"
Keys on Deployments with `Progressing=False` reason `ProgressDeadlineExceeded` or
`ReplicaFailure=True` (on the Deployment or a ReplicaSet, or FailedCreate Warning events
on a ReplicaSet short of its replicas), as `kubectl rollout status` does
([failed deployment](https://kubernetes.io/docs/concepts/workloads/controllers/deployment/#failed-deployment));
StatefulSets with `readyReplicas < replicas` or a RollingUpdate short of
`replicas - partition` updated pods, and DaemonSets with `numberReady` or
`updatedNumberScheduled < desiredNumberScheduled`, when the newest pod (else the
workload) is older than the start-up grace. For a Deployment: the new and previous
ReplicaSet (controller ownerReferences, `deployment.kubernetes.io/revision`), what
changed between their templates (images, init containers added/removed, command, env
by name with plain values (hidden for secret-looking names) and Secret references by
name only, envFrom, resources, serviceAccountName), and the last good revision: the
newest older ReplicaSet with all replicas available now, else the newest one created
before the Deployment's `Available` turned False. FailedCreate messages name their
cause: `exceeded quota: NAME` (ResourceQuota), LimitRanger's `maximum cpu usage per
Container is ...` (the LimitRange, when one constrains that resource), admission
webhooks, PodSecurity, a missing ServiceAccount. Unready pods of the new ReplicaSet
(or of the StatefulSet/DaemonSet) are named as causes. Fix: the refusal's cause first,
else `kubectl rollout undo deployment/NAME --to-revision=N` when a good revision is
known (StatefulSet: undo then delete the stuck pod, the forced rollback), else the new
pods' failure. Look-alikes (ok): a rollout within its deadline, a Deployment scaled to
0, a complete one with old ReplicaSets at 0 and stale FailedCreate events, a paused one
(named in the summary), a recovering one (the new pods are Ready, or the quota now
admits what was refused: the controller's status lags), a partitioned or OnDelete
update, a StatefulSet pod still starting.
"#;

impl Signal for Rollout {
    fn id(&self) -> &'static str {
        ID
    }

    fn title(&self) -> &'static str {
        "rollouts complete"
    }

    fn reads(&self) -> &'static [Kind] {
        &[
            Kind::Deployment,
            Kind::ReplicaSet,
            Kind::StatefulSet,
            Kind::DaemonSet,
            Kind::Pod,
            Kind::ResourceQuota,
            Kind::LimitRange,
            Kind::Event,
        ]
    }

    fn docs(&self) -> &'static str {
        DOCS
    }

    fn evaluate(&self, context: &Context) -> Finding {
        let mut finding = Finding::ok(ID, "");
        let mut failing = Vec::new();
        let mut notes = Vec::new();
        let mut apps = Vec::new();
        let snapshot = context.snapshot;
        let mut workloads = 0;
        for deployment in in_namespace(&snapshot.deployments, context.namespace) {
            workloads += 1;
            if let Some(item) = check_deployment(context, deployment, &mut finding, &mut notes) {
                apps.extend(app_of_template(
                    context,
                    deployment.spec.as_ref().map(|s| &s.template),
                    &deployment.metadata,
                ));
                failing.push(item);
            }
        }
        for set in in_namespace(&snapshot.stateful_sets, context.namespace) {
            workloads += 1;
            if let Some(item) = check_stateful_set(context, set, &mut finding, &mut notes) {
                apps.extend(app_of_template(
                    context,
                    set.spec.as_ref().map(|s| &s.template),
                    &set.metadata,
                ));
                failing.push(item);
            }
        }
        for set in in_namespace(&snapshot.daemon_sets, context.namespace) {
            workloads += 1;
            if let Some(item) = check_daemon_set(context, set, &mut finding, &mut notes) {
                apps.extend(app_of_template(
                    context,
                    set.spec.as_ref().map(|s| &s.template),
                    &set.metadata,
                ));
                failing.push(item);
            }
        }
        if failing.is_empty() {
            let mut summary = if workloads == 0 {
                "no Deployment, StatefulSet or DaemonSet in the namespace".to_string()
            } else {
                format!("{workloads} workload(s) rolled out or within their deadline")
            };
            if !notes.is_empty() {
                summary.push_str(&format!(" ({})", notes.join("; ")));
            }
            finding.summary = summary;
            return finding;
        }
        finding.status = Status::Fail;
        finding.scope = context.scope(apps);
        finding.summary = failing.iter().map(summarize).collect::<Vec<_>>().join("; ");
        finding.fix = Some(
            failing
                .iter()
                .map(|f| f.fix.clone())
                .collect::<Vec<_>>()
                .join("; "),
        );
        finding.objects.sort();
        finding.caused_by.sort();
        finding.detail("failing", &failing);
        finding
    }
}

/// The app of a workload: its pod template's app label, else its own.
fn app_of_template(
    context: &Context,
    template: Option<&PodTemplateSpec>,
    meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
) -> Option<String> {
    template
        .and_then(|t| t.metadata.as_ref())
        .and_then(|m| context.app_of(m))
        .or_else(|| context.app_of(meta))
}

fn summarize(f: &Failing) -> String {
    let kind = f.kind.to_lowercase();
    let mut text = match f.problem.as_str() {
        "ProgressDeadlineExceeded" => format!(
            "{kind} `{}` exceeded its progress deadline ({}/{} available)",
            f.name, f.ready, f.desired
        ),
        "FailedCreate" => format!(
            "{kind} `{}` cannot create pods ({}/{} available)",
            f.name, f.ready, f.desired
        ),
        "UpdateStalled" => format!(
            "{kind} `{}` update stalled ({}/{} ready)",
            f.name, f.ready, f.desired
        ),
        _ => format!("{kind} `{}` {}/{} ready", f.name, f.ready, f.desired),
    };
    if let Some(new) = &f.new_replica_set {
        text.push_str(&format!(
            ": revision {} `{}`",
            new.revision.map_or("?".to_string(), |r| r.to_string()),
            new.replica_set
        ));
    }
    let refused: Vec<String> = f
        .refusals
        .iter()
        .map(|r| match &r.object {
            Some(object) => format!("{} `{object}`", r.by),
            None => r.by.clone(),
        })
        .collect();
    if !refused.is_empty() {
        text.push_str(&format!(", refused by {}", refused.join(", ")));
    }
    if !f.unready_pods.is_empty() {
        text.push_str(&format!(
            ", pod `{}` not ready",
            f.unready_pods.join("`, `")
        ));
    }
    if let Some(good) = &f.last_good {
        text.push_str(&format!(", last good revision {}", good.revision));
    }
    text
}

/// The condition of `type_` in a list, with its index.
fn condition<'a, C>(
    conditions: &'a [C],
    type_of: impl Fn(&C) -> &str,
    type_: &str,
) -> Option<(usize, &'a C)> {
    conditions
        .iter()
        .enumerate()
        .find(|(_, c)| type_of(c) == type_)
}

fn check_deployment(
    context: &Context,
    deployment: &Deployment,
    out: &mut Finding,
    notes: &mut Vec<String>,
) -> Option<Failing> {
    // Evidence and causes are gathered here and kept only if the Deployment fails.
    let mut local = Finding::fail(ID, "");
    let finding = &mut local;
    let name = deployment.name();
    let spec = deployment.spec.as_ref();
    let desired = spec.and_then(|s| s.replicas).unwrap_or(1);
    if spec.and_then(|s| s.paused) == Some(true) {
        // NB: a paused Deployment is not checked against its progress deadline (the
        // controller sets Progressing=Unknown/DeploymentPaused); resuming continues it.
        notes.push(format!("deployment `{name}` is paused"));
        return None;
    }
    if desired == 0 {
        return None;
    }
    let status = deployment.status.as_ref();
    let conditions = status
        .and_then(|s| s.conditions.as_deref())
        .unwrap_or_default();
    let progressing = condition(conditions, |c| c.type_.as_str(), "Progressing");
    let deadline = progressing.filter(|(_, c)| {
        c.status == "False" && c.reason.as_deref() == Some("ProgressDeadlineExceeded")
    });
    let replica_failure = condition(conditions, |c| c.type_.as_str(), "ReplicaFailure")
        .filter(|(_, c)| c.status == "True");

    let mut replica_sets: Vec<&ReplicaSet> = context
        .snapshot
        .controlled(Kind::Deployment, &deployment.metadata);
    replica_sets.sort_by_key(|rs| (revision(&rs.metadata), rs.name().to_string()));
    let deployment_revision = revision(&deployment.metadata);
    let new_rs = replica_sets
        .iter()
        .rev()
        .find(|rs| deployment_revision.is_some() && revision(&rs.metadata) == deployment_revision)
        .or_else(|| replica_sets.last())
        .copied();

    // ReplicaSets refused pods: their ReplicaFailure condition, or FailedCreate events
    // while still short of their replicas (older events of a ReplicaSet that has since
    // created its pods are history, not a fault).
    let mut rs_failures: Vec<(&ReplicaSet, Option<usize>, Vec<&Event>)> = Vec::new();
    for rs in &replica_sets {
        let rs_conditions = rs
            .status
            .as_ref()
            .and_then(|s| s.conditions.as_deref())
            .unwrap_or_default();
        let failure = condition(rs_conditions, |c| c.type_.as_str(), "ReplicaFailure")
            .filter(|(_, c)| c.status == "True")
            .map(|(i, _)| i);
        let wanted = rs.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
        let has = rs.status.as_ref().map_or(0, |s| s.replicas);
        let events: Vec<&Event> = context
            .warnings_for(Kind::ReplicaSet, rs.name())
            .into_iter()
            .filter(|e| e.reason.as_deref() == Some("FailedCreate"))
            .collect();
        if failure.is_some() || (has < wanted && !events.is_empty()) {
            rs_failures.push((rs, failure, events));
        }
    }
    let failed_create = replica_failure.is_some() || !rs_failures.is_empty();
    if deadline.is_none() && !failed_create {
        if let Some((_, c)) = progressing
            && c.status == "True"
            && c.reason.as_deref() != Some("NewReplicaSetAvailable")
            && status.map_or(0, |s| s.updated_replicas.unwrap_or(0)) < desired
        {
            notes.push(format!(
                "deployment `{name}` rolling out within its progress deadline"
            ));
        }
        return None;
    }

    let object = ObjectRef::of(Kind::Deployment, deployment);
    finding.add_object(object.clone());
    if let Some((index, c)) = deadline {
        let seconds = spec
            .and_then(|s| s.progress_deadline_seconds)
            .unwrap_or(600);
        finding.evidence.push(Evidence::field_note(
            &object,
            format!("status.conditions[{index}].reason"),
            "ProgressDeadlineExceeded",
            format!(
                "{}; progressDeadlineSeconds {seconds}",
                c.message
                    .as_deref()
                    .unwrap_or("Progressing=False")
                    .trim_end_matches('.')
            ),
        ));
    }
    let mut messages = Vec::new();
    if let Some((index, c)) = replica_failure {
        let message = c.message.clone().unwrap_or_default();
        finding.evidence.push(Evidence::field_note(
            &object,
            format!("status.conditions[{index}].reason"),
            c.reason.clone().unwrap_or_else(|| "ReplicaFailure".into()),
            message.clone(),
        ));
        messages.push(message);
    }
    for (rs, failure, events) in &rs_failures {
        let rs_object = ObjectRef::of(Kind::ReplicaSet, *rs);
        if let Some(index) = failure
            && let Some(c) = rs
                .status
                .as_ref()
                .and_then(|s| s.conditions.as_deref())
                .and_then(|c| c.get(*index))
        {
            let message = c.message.clone().unwrap_or_default();
            finding.evidence.push(Evidence::field_note(
                &rs_object,
                format!("status.conditions[{index}].reason"),
                c.reason.clone().unwrap_or_else(|| "ReplicaFailure".into()),
                message.clone(),
            ));
            messages.push(message);
        }
        if let Some(evidence) = collapse(events) {
            finding.evidence.push(evidence);
        }
        messages.extend(events.iter().filter_map(|e| e.message.clone()));
    }
    let refusals = refusals(context, &messages, finding);
    // NB: controllers record status after the fact. The new ReplicaSet's pods all
    // Ready, or refusals whose cause is gone (the quota now admits the request; the
    // ReplicaSet controller retries with backoff), mean the rollout is recovering and
    // the next sync clears the condition: the snapshot's pods and quotas are fresher.
    let ready_now = new_rs.map_or(0, |rs| ready_pods(context, rs));
    let active = refusals.iter().any(|r| !r.resolved);
    let resolved = !refusals.is_empty() && !active;
    if !active && (ready_now >= desired || resolved) {
        notes.push(format!(
            "deployment `{name}` recovering: {}",
            if resolved {
                "what refused its pods now admits them"
            } else {
                "its new pods are ready"
            }
        ));
        return None;
    }

    let available = status.and_then(|s| s.available_replicas).unwrap_or(0);
    let new_revision = new_rs.map(as_revision);
    let mut unready_pods = Vec::new();
    if let Some(rs) = new_rs {
        let rs_object = ObjectRef::of(Kind::ReplicaSet, rs);
        finding.add_object(rs_object.clone());
        let info = as_revision(rs);
        finding.evidence.push(Evidence::field_note(
            &rs_object,
            format!("metadata.annotations[{}]", workload::REVISION_ANNOTATION),
            info.revision.map_or("?".to_string(), |r| r.to_string()),
            format!(
                "new ReplicaSet: {}/{} available",
                info.available, info.replicas
            ),
        ));
        unready_pods = unready(context, Kind::ReplicaSet, &rs.metadata, finding);
    }
    let new_number = new_rs.and_then(|rs| revision(&rs.metadata));
    let older: Vec<&ReplicaSet> = replica_sets
        .iter()
        .copied()
        .filter(|rs| new_rs.is_some_and(|n| n.name() != rs.name()))
        .filter(|rs| match (revision(&rs.metadata), new_number) {
            (Some(r), Some(n)) => r < n,
            _ => true,
        })
        .collect();
    let previous = older.last().copied();
    let available_since = condition(conditions, |c| c.type_.as_str(), "Available")
        .filter(|(_, c)| c.status == "False")
        .and_then(|(_, c)| c.last_transition_time.as_ref());
    let last_good = last_good(&older, available_since);
    let mut changes = Vec::new();
    if let Some(rs) = previous {
        let rs_object = ObjectRef::of(Kind::ReplicaSet, rs);
        let info = as_revision(rs);
        let good = match &last_good {
            Some(good) if good.replica_set == rs.name() => format!(", last good: {}", good.basis),
            _ => String::new(),
        };
        finding.evidence.push(Evidence::field_note(
            &rs_object,
            format!("metadata.annotations[{}]", workload::REVISION_ANNOTATION),
            info.revision.map_or("?".to_string(), |r| r.to_string()),
            format!(
                "previous ReplicaSet: {}/{} available{good}",
                info.available, info.replicas
            ),
        ));
        if let Some(new) = new_rs {
            changes = template_changes(
                rs.spec.as_ref().and_then(|s| s.template.as_ref()),
                new.spec.as_ref().and_then(|s| s.template.as_ref()),
            );
            let new_object = ObjectRef::of(Kind::ReplicaSet, new);
            for change in &changes {
                finding.evidence.push(Evidence::field_note(
                    &new_object,
                    format!("spec.template.spec.{}.{}", change.container, change.field),
                    change.after.clone().unwrap_or_else(|| "(none)".into()),
                    format!(
                        "was {} in revision {}",
                        change.before.clone().unwrap_or_else(|| "(none)".into()),
                        info.revision.map_or("?".to_string(), |r| r.to_string())
                    ),
                ));
            }
        }
    }
    if let Some(good) = &last_good
        && previous.is_none_or(|p| p.name() != good.replica_set)
        && let Some(rs) = older.iter().find(|rs| rs.name() == good.replica_set)
    {
        finding.evidence.push(Evidence::field_note(
            &ObjectRef::of(Kind::ReplicaSet, *rs),
            format!("metadata.annotations[{}]", workload::REVISION_ANNOTATION),
            good.revision.to_string(),
            format!("last good ReplicaSet: {}", good.basis),
        ));
    }
    for event in context.warnings_for(Kind::Deployment, name) {
        if event.reason.as_deref() == Some("FailedCreate")
            || event.reason.as_deref() == Some("ReplicaSetCreateError")
        {
            finding.evidence.push(Evidence::event(event));
        }
    }

    let target = workload::kubectl_name(Kind::Deployment, name);
    let fix = if refusals.iter().any(|r| !r.resolved) {
        refusal_fix(context, &target, &refusals)
    } else if let Some(good) = &last_good {
        format!(
            "kubectl rollout undo {target} --to-revision={} -n {}",
            good.revision, context.namespace
        )
    } else {
        let hash = new_rs
            .and_then(|rs| rs.metadata.labels.as_ref())
            .and_then(|l| l.get("pod-template-hash"))
            .map_or(String::new(), |h| format!(" -l pod-template-hash={h}"));
        format!(
            "no earlier revision is known good: fix why the new pods fail (`kubectl describe pods -n {}{hash}`)",
            context.namespace
        )
    };
    for object in local.objects {
        out.add_object(object);
    }
    out.evidence.extend(local.evidence);
    for cause in local.caused_by {
        out.add_cause(cause);
    }
    Some(Failing {
        kind: "Deployment".to_string(),
        name: name.to_string(),
        problem: if deadline.is_some() {
            "ProgressDeadlineExceeded"
        } else {
            "FailedCreate"
        }
        .to_string(),
        ready: available,
        desired,
        new_replica_set: new_revision,
        previous_replica_set: previous.map(as_revision),
        last_good,
        changes,
        refusals,
        unready_pods,
        fix,
    })
}

/// Pods of `rs` that are Ready (and not being deleted).
fn ready_pods(context: &Context, rs: &ReplicaSet) -> i32 {
    let ready = context
        .snapshot
        .controlled::<Pod>(Kind::ReplicaSet, &rs.metadata)
        .into_iter()
        .filter(|pod| pod.metadata.deletion_timestamp.is_none())
        .filter(|pod| {
            pod.status
                .as_ref()
                .and_then(|s| s.conditions.as_deref())
                .unwrap_or_default()
                .iter()
                .any(|c| c.type_ == "Ready" && c.status == "True")
        })
        .count();
    i32::try_from(ready).unwrap_or(i32::MAX)
}

fn as_revision(rs: &ReplicaSet) -> Revision {
    Revision {
        replica_set: rs.name().to_string(),
        revision: revision(&rs.metadata),
        replicas: rs.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1),
        available: rs
            .status
            .as_ref()
            .and_then(|s| s.available_replicas)
            .unwrap_or(0),
    }
}

/// The newest older ReplicaSet with every replica available now; else the newest one
/// created before the Deployment's `Available` turned False (it was the Deployment's
/// newest ReplicaSet while the Deployment was available). `older` is in revision order.
fn last_good(older: &[&ReplicaSet], unavailable_since: Option<&Time>) -> Option<LastGood> {
    let numbered = |rs: &&&ReplicaSet| revision(&rs.metadata).is_some();
    if let Some(rs) = older.iter().rev().filter(numbered).find(|rs| {
        let info = as_revision(rs);
        info.replicas > 0 && info.available >= info.replicas
    }) {
        let info = as_revision(rs);
        return Some(LastGood {
            replica_set: rs.name().to_string(),
            revision: info.revision?,
            basis: format!(
                "{}/{} replicas available now",
                info.available, info.replicas
            ),
        });
    }
    let since = unavailable_since?;
    let rs = older.iter().rev().filter(numbered).find(|rs| {
        rs.metadata
            .creation_timestamp
            .as_ref()
            .is_some_and(|created| created.0 <= since.0)
    })?;
    Some(LastGood {
        replica_set: rs.name().to_string(),
        revision: revision(&rs.metadata)?,
        basis: format!("the Deployment was available with it until {}", since.0),
    })
}

/// Pods controlled by `owner` that are not ready, named as causes, with their first
/// visible problem as evidence.
fn unready(
    context: &Context,
    kind: Kind,
    owner: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
    finding: &mut Finding,
) -> Vec<String> {
    let mut names = Vec::new();
    for pod in context.snapshot.controlled::<Pod>(kind, owner) {
        if pod.metadata.deletion_timestamp.is_some() {
            continue;
        }
        let Some((path, value)) = workload::pod_problem(pod) else {
            continue;
        };
        let object = ObjectRef::of(Kind::Pod, pod);
        finding.evidence.push(Evidence::field_note(
            &object,
            path,
            value,
            format!(
                "pod of {} `{}`",
                kind.name(),
                owner.name.as_deref().unwrap_or_default()
            ),
        ));
        finding.add_cause(object);
        names.push(pod.name().to_string());
    }
    names
}

/// One evidence for a ReplicaSet's FailedCreate events: counts summed, the newest
/// message kept (a ReplicaSet retrying for hours leaves dozens of them).
fn collapse(events: &[&Event]) -> Option<Evidence> {
    let newest = events.last()?;
    let total: i32 = events.iter().map(|e| e.count.unwrap_or(1)).sum();
    match Evidence::event(newest) {
        Evidence::Event {
            object,
            reason,
            message,
            ..
        } => Some(Evidence::Event {
            object,
            reason,
            message,
            count: total,
        }),
        other => Some(other),
    }
}

/// Parses FailedCreate messages (the API server's admission errors), naming the
/// quota, LimitRange and ServiceAccount as causes.
/// - ResourceQuota admission: `exceeded quota: NAME, requested: ..., used: ..., limited: ...`
///   (https://kubernetes.io/docs/concepts/policy/resource-quotas/);
/// - LimitRanger (plugin/pkg/admission/limitranger): `maximum cpu usage per Container
///   is 500m, but limit is 1`, `minimum ... usage per ...`, `... max limit to request
///   ratio per ...`; the message does not name the LimitRange, so it is named only when
///   one LimitRange in the namespace constrains that resource;
/// - dynamic admission: `admission webhook "NAME" denied the request: ...`;
/// - Pod Security admission: `violates PodSecurity "restricted:latest": ...`;
/// - ServiceAccount admission: `serviceaccount "NAME" not found`.
fn refusals(context: &Context, messages: &[String], finding: &mut Finding) -> Vec<CreateRefusal> {
    let mut found: BTreeMap<(String, Option<String>), (String, bool)> = BTreeMap::new();
    for message in messages {
        let message = message.trim();
        let mut resolved = false;
        let (by, object) = if let Some(at) = message.find("exceeded quota: ") {
            let rest = &message[at + "exceeded quota: ".len()..];
            let name = rest
                .split([',', ' '])
                .next()
                .unwrap_or_default()
                .to_string();
            resolved = quota_admits(context, &name, rest);
            if !resolved {
                finding.add_cause(ObjectRef::new(
                    Kind::ResourceQuota,
                    context.namespace,
                    &name,
                ));
            }
            ("quota", Some(name))
        } else if message.contains(" usage per ")
            || message.contains(" limit to request ratio per ")
        {
            let name = limit_range_for(context, message);
            if let Some(name) = &name {
                finding.add_cause(ObjectRef::new(Kind::LimitRange, context.namespace, name));
            }
            ("limit-range", name)
        } else if let Some(at) = message.find("admission webhook \"") {
            let rest = &message[at + "admission webhook \"".len()..];
            ("webhook", rest.split('"').next().map(str::to_string))
        } else if let Some(at) = message.find("violates PodSecurity \"") {
            let rest = &message[at + "violates PodSecurity \"".len()..];
            ("pod-security", rest.split('"').next().map(str::to_string))
        } else if let Some(at) = message.find("serviceaccount \"") {
            let rest = &message[at + "serviceaccount \"".len()..];
            let name = rest.split('"').next().unwrap_or_default().to_string();
            finding.add_cause(ObjectRef::new(
                Kind::ServiceAccount,
                context.namespace,
                &name,
            ));
            ("service-account", Some(name))
        } else {
            ("other", None)
        };
        found
            .entry((by.to_string(), object))
            .or_insert_with(|| (message.to_string(), resolved));
    }
    found
        .into_iter()
        .map(|((by, object), (message, resolved))| CreateRefusal {
            by,
            object,
            message,
            resolved,
        })
        .collect()
}

/// Whether quota `name` now has room for what the refusal (`..., requested:
/// pods=1,requests.cpu=25m, used: ...`) asked: `status.used + requested <= status.hard`
/// for every requested resource. `false` when the quota or a number is unknown.
fn quota_admits(context: &Context, name: &str, refusal: &str) -> bool {
    let Some(quota) = in_namespace(&context.snapshot.resource_quotas, context.namespace)
        .into_iter()
        .find(|q| q.name() == name)
    else {
        return false;
    };
    let Some(status) = quota.status.as_ref() else {
        return false;
    };
    let Some(requested) = refusal
        .split_once("requested: ")
        .map(|(_, rest)| rest.split(", used:").next().unwrap_or(rest))
    else {
        return false;
    };
    let value = |map: &Option<
        BTreeMap<String, k8s_openapi::apimachinery::pkg::api::resource::Quantity>,
    >,
                 resource: &str| {
        map.as_ref()
            .and_then(|m| m.get(resource))
            .and_then(|q| crate::k8s::quantity::parse_quantity(&q.0))
    };
    let mut any = false;
    for pair in requested.split(',') {
        let Some((resource, amount)) = pair.trim().split_once('=') else {
            return false;
        };
        let (Some(amount), Some(hard)) = (
            crate::k8s::quantity::parse_quantity(amount),
            value(&status.hard, resource),
        ) else {
            return false;
        };
        let used = value(&status.used, resource).unwrap_or(0.0);
        if used + amount > hard {
            return false;
        }
        any = true;
    }
    any
}

/// The one LimitRange in the namespace with a limit of the message's type and
/// resource (`maximum cpu usage per Container ...`), if exactly one.
fn limit_range_for(context: &Context, message: &str) -> Option<String> {
    let words: Vec<&str> = message.split_whitespace().collect();
    let per = words.iter().position(|w| *w == "per")?;
    let limit_type = words.get(per + 1)?.trim_end_matches([',', '.']);
    let resource = words
        .iter()
        .position(|w| *w == "usage" || *w == "limit")
        .and_then(|i| i.checked_sub(1))
        .and_then(|i| words.get(i))?;
    let candidates: Vec<String> = in_namespace(&context.snapshot.limit_ranges, context.namespace)
        .into_iter()
        .filter(|lr| {
            lr.spec.as_ref().is_some_and(|spec| {
                spec.limits.iter().any(|item| {
                    item.type_ == limit_type
                        && [&item.max, &item.min, &item.max_limit_request_ratio]
                            .into_iter()
                            .flatten()
                            .any(|m| m.contains_key(*resource))
                })
            })
        })
        .map(|lr| lr.name().to_string())
        .collect();
    (candidates.len() == 1).then(|| candidates[0].clone())
}

fn refusal_fix(context: &Context, target: &str, refusals: &[CreateRefusal]) -> String {
    let namespace = context.namespace;
    refusals
        .iter()
        .filter(|r| !r.resolved)
        .map(|r| match (r.by.as_str(), &r.object) {
            ("quota", Some(quota)) => format!(
                "raise ResourceQuota `{quota}` in place (`kubectl edit resourcequota {quota} -n {namespace}`, see the quota signal); the ReplicaSet retries by itself"
            ),
            ("limit-range", _) => match max_limit(&r.message) {
                Some((resource, max)) => format!(
                    "keep the {resource} limit of `{target}` within the LimitRange (`kubectl set resources {target} --limits={resource}={max} -n {namespace}`)"
                ),
                None => format!(
                    "make `{target}` fit the LimitRange (`kubectl describe limitrange -n {namespace}`)"
                ),
            },
            ("webhook", Some(webhook)) => format!(
                "change `{target}` so admission webhook `{webhook}` admits it (its message says why), or fix the webhook"
            ),
            ("pod-security", level) => format!(
                "make the pod template of `{target}` meet PodSecurity `{}` (securityContext)",
                level.as_deref().unwrap_or("level")
            ),
            ("service-account", Some(account)) => format!(
                "kubectl create serviceaccount {account} -n {namespace}"
            ),
            _ => format!(
                "read why the pods are refused (`kubectl describe {target} -n {namespace}`)"
            ),
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// `(resource, max)` from `maximum cpu usage per Container is 500m, but limit is 1`.
fn max_limit(message: &str) -> Option<(String, String)> {
    let at = message.find("maximum ")?;
    let words: Vec<&str> = message[at..].split_whitespace().collect();
    let resource = words.get(1)?.to_string();
    let is = words.iter().position(|w| *w == "is")?;
    let max = words.get(is + 1)?.trim_end_matches([',', '.']).to_string();
    Some((resource, max))
}

/// What changed between two pod templates, container by container (matched by name).
fn template_changes(
    before: Option<&PodTemplateSpec>,
    after: Option<&PodTemplateSpec>,
) -> Vec<Change> {
    let mut changes = Vec::new();
    let spec_before = before.and_then(|t| t.spec.as_ref());
    let spec_after = after.and_then(|t| t.spec.as_ref());
    let lists = [
        (
            "initContainers",
            spec_before.and_then(|s| s.init_containers.as_deref()),
            spec_after.and_then(|s| s.init_containers.as_deref()),
        ),
        (
            "containers",
            spec_before.map(|s| s.containers.as_slice()),
            spec_after.map(|s| s.containers.as_slice()),
        ),
    ];
    for (list, old, new) in lists {
        let old = old.unwrap_or_default();
        let new = new.unwrap_or_default();
        for container in new {
            let label = format!("{list}[{}]", container.name);
            match old.iter().find(|c| c.name == container.name) {
                None => changes.push(Change {
                    container: label,
                    field: "image".to_string(),
                    before: None,
                    after: Some(format!(
                        "{} (added)",
                        container.image.clone().unwrap_or_default()
                    )),
                }),
                Some(previous) => changes.extend(container_changes(&label, previous, container)),
            }
        }
        for container in old {
            if !new.iter().any(|c| c.name == container.name) {
                changes.push(Change {
                    container: format!("{list}[{}]", container.name),
                    field: "image".to_string(),
                    before: container.image.clone(),
                    after: None,
                });
            }
        }
    }
    let account = |s: Option<&k8s_openapi::api::core::v1::PodSpec>| {
        s.and_then(|s| s.service_account_name.clone())
    };
    if account(spec_before) != account(spec_after) {
        changes.push(Change {
            container: "pod".to_string(),
            field: "serviceAccountName".to_string(),
            before: account(spec_before),
            after: account(spec_after),
        });
    }
    changes
}

fn container_changes(label: &str, old: &Container, new: &Container) -> Vec<Change> {
    let mut changes = Vec::new();
    let mut push = |field: String, before: Option<String>, after: Option<String>| {
        if before != after {
            changes.push(Change {
                container: label.to_string(),
                field,
                before,
                after,
            });
        }
    };
    push("image".into(), old.image.clone(), new.image.clone());
    let command = |c: &Container| {
        let words: Vec<String> = c
            .command
            .iter()
            .flatten()
            .chain(c.args.iter().flatten())
            .cloned()
            .collect();
        (!words.is_empty()).then(|| words.join(" "))
    };
    push("command".into(), command(old), command(new));
    let env_old = env_map(old);
    let env_new = env_map(new);
    for name in env_old
        .keys()
        .chain(env_new.keys())
        .collect::<std::collections::BTreeSet<_>>()
    {
        push(
            format!("env[{name}]"),
            env_old.get(name).cloned(),
            env_new.get(name).cloned(),
        );
    }
    let env_from = |c: &Container| {
        let mut refs: Vec<String> = c
            .env_from
            .iter()
            .flatten()
            .filter_map(|source| {
                source
                    .config_map_ref
                    .as_ref()
                    .map(|r| format!("configMapRef {}", r.name))
                    .or_else(|| {
                        source
                            .secret_ref
                            .as_ref()
                            .map(|r| format!("secretRef {}", r.name))
                    })
            })
            .collect();
        refs.sort();
        (!refs.is_empty()).then(|| refs.join(", "))
    };
    push("envFrom".into(), env_from(old), env_from(new));
    let resources = |c: &Container| {
        let mut map = BTreeMap::new();
        if let Some(r) = &c.resources {
            for (kind, list) in [("requests", &r.requests), ("limits", &r.limits)] {
                for (name, quantity) in list.iter().flatten() {
                    map.insert(format!("resources.{kind}.{name}"), quantity.0.clone());
                }
            }
        }
        map
    };
    let res_old = resources(old);
    let res_new = resources(new);
    for key in res_old
        .keys()
        .chain(res_new.keys())
        .collect::<std::collections::BTreeSet<_>>()
    {
        push(
            key.clone(),
            res_old.get(key).cloned(),
            res_new.get(key).cloned(),
        );
    }
    changes
}

/// Env vars by name: plain values as written (hidden for names that look secret),
/// references by the object they name, never a Secret's value.
fn env_map(container: &Container) -> BTreeMap<String, String> {
    let mut map = BTreeMap::new();
    for var in container.env.iter().flatten() {
        let value = if let Some(source) = &var.value_from {
            if let Some(r) = &source.secret_key_ref {
                format!("secretKeyRef {}/{}", r.name, r.key)
            } else if let Some(r) = &source.config_map_key_ref {
                format!("configMapKeyRef {}/{}", r.name, r.key)
            } else if let Some(r) = &source.field_ref {
                format!("fieldRef {}", r.field_path)
            } else if let Some(r) = &source.resource_field_ref {
                format!("resourceFieldRef {}", r.resource)
            } else {
                "valueFrom".to_string()
            }
        } else {
            let value = var.value.clone().unwrap_or_default();
            let upper = var.name.to_ascii_uppercase();
            if SENSITIVE.iter().any(|s| upper.contains(s)) {
                // Same hidden text for every value would hide a change: keep a length.
                format!("(hidden, {} chars)", value.len())
            } else {
                value
            }
        };
        map.insert(var.name.clone(), value);
    }
    map
}

/// The newest creation time among `pods`, else `fallback`'s.
fn newest<'a>(pods: &[&'a Pod], fallback: Option<&'a Time>) -> Option<&'a Time> {
    pods.iter()
        .filter_map(|p| p.metadata.creation_timestamp.as_ref())
        .max_by_key(|t| t.0)
        .or(fallback)
}

/// FailedCreate Warning events of a StatefulSet/DaemonSet, as evidence and refusals.
fn workload_refusals(
    context: &Context,
    kind: Kind,
    name: &str,
    finding: &mut Finding,
) -> Vec<CreateRefusal> {
    let events: Vec<&Event> = context
        .warnings_for(kind, name)
        .into_iter()
        .filter(|e| e.reason.as_deref() == Some("FailedCreate"))
        .collect();
    if let Some(evidence) = collapse(&events) {
        finding.evidence.push(evidence);
    }
    let messages: Vec<String> = events.iter().filter_map(|e| e.message.clone()).collect();
    refusals(context, &messages, finding)
}

fn check_stateful_set(
    context: &Context,
    set: &StatefulSet,
    finding: &mut Finding,
    notes: &mut Vec<String>,
) -> Option<Failing> {
    let name = set.name();
    let spec = set.spec.as_ref();
    let desired = spec.and_then(|s| s.replicas).unwrap_or(1);
    if desired == 0 {
        return None;
    }
    let status = set.status.as_ref();
    let ready = status.and_then(|s| s.ready_replicas).unwrap_or(0);
    let updated = status.and_then(|s| s.updated_replicas).unwrap_or(0);
    let current_revision = status.and_then(|s| s.current_revision.clone());
    let update_revision = status.and_then(|s| s.update_revision.clone());
    let strategy = spec.and_then(|s| s.update_strategy.as_ref());
    let on_delete = strategy.and_then(|s| s.type_.as_deref()) == Some("OnDelete");
    let partition = strategy
        .and_then(|s| s.rolling_update.as_ref())
        .and_then(|r| r.partition)
        .unwrap_or(0);
    // kubectl's StatefulSetStatusViewer: a RollingUpdate is done when
    // updatedReplicas >= replicas - partition; OnDelete updates wait for a person.
    let update_pending = !on_delete
        && update_revision.is_some()
        && update_revision != current_revision
        && updated < desired - partition;
    if on_delete && update_revision.is_some() && update_revision != current_revision {
        notes.push(format!(
            "statefulset `{name}` has an OnDelete update waiting for its pods to be deleted"
        ));
    }
    if ready >= desired && !update_pending {
        return None;
    }
    let pods = context
        .snapshot
        .controlled::<Pod>(Kind::StatefulSet, &set.metadata);
    let since = newest(&pods, set.metadata.creation_timestamp.as_ref());
    if context.age(since).is_some_and(|age| age < STARTUP_GRACE) {
        notes.push(format!(
            "statefulset `{name}` starting ({ready}/{desired} ready)"
        ));
        return None;
    }
    let object = ObjectRef::of(Kind::StatefulSet, set);
    finding.add_object(object.clone());
    finding.evidence.push(Evidence::field_note(
        &object,
        "status.readyReplicas",
        ready.to_string(),
        format!("{desired} desired"),
    ));
    if update_pending {
        finding.evidence.push(Evidence::field_note(
            &object,
            "status.updateRevision",
            update_revision.clone().unwrap_or_default(),
            format!(
                "currentRevision {}, {updated}/{} pods updated",
                current_revision.clone().unwrap_or_default(),
                desired - partition
            ),
        ));
    }
    let unready_pods = unready(context, Kind::StatefulSet, &set.metadata, finding);
    let refusals = workload_refusals(context, Kind::StatefulSet, name, finding);
    let target = workload::kubectl_name(Kind::StatefulSet, name);
    let fix = if refusals.iter().any(|r| !r.resolved) {
        refusal_fix(context, &target, &refusals)
    } else if update_pending {
        // NB: with the default OrderedReady policy a broken update stalls for good,
        // even after a rollback, until the broken pod is deleted ("forced rollback",
        // https://kubernetes.io/docs/concepts/workloads/controllers/statefulset/#forced-rollback).
        let stuck = unready_pods.last().map_or(String::new(), |p| {
            format!(", then `kubectl delete pod {p} -n {}`", context.namespace)
        });
        format!(
            "kubectl rollout undo {target} -n {}{stuck} (forced rollback) or fix the new revision",
            context.namespace
        )
    } else {
        format!(
            "fix why the pods are not ready (`kubectl describe pods -n {} {}`)",
            context.namespace,
            unready_pods.join(" ")
        )
    };
    Some(Failing {
        kind: "StatefulSet".to_string(),
        name: name.to_string(),
        problem: if update_pending {
            "UpdateStalled"
        } else {
            "NotReady"
        }
        .to_string(),
        ready,
        desired,
        new_replica_set: None,
        previous_replica_set: None,
        last_good: None,
        changes: Vec::new(),
        refusals,
        unready_pods,
        fix,
    })
}

fn check_daemon_set(
    context: &Context,
    set: &DaemonSet,
    finding: &mut Finding,
    notes: &mut Vec<String>,
) -> Option<Failing> {
    let name = set.name();
    let status = set.status.as_ref()?;
    let desired = status.desired_number_scheduled;
    if desired == 0 {
        return None;
    }
    let ready = status.number_ready;
    let updated = status.updated_number_scheduled.unwrap_or(desired);
    let on_delete = set
        .spec
        .as_ref()
        .and_then(|s| s.update_strategy.as_ref())
        .and_then(|s| s.type_.as_deref())
        == Some("OnDelete");
    // kubectl's DaemonSetStatusViewer: done when every scheduled pod is updated and
    // available; OnDelete updates wait for a person.
    let update_pending = !on_delete && updated < desired;
    if ready >= desired && !update_pending {
        return None;
    }
    let pods = context
        .snapshot
        .controlled::<Pod>(Kind::DaemonSet, &set.metadata);
    let since = newest(&pods, set.metadata.creation_timestamp.as_ref());
    if context.age(since).is_some_and(|age| age < STARTUP_GRACE) {
        notes.push(format!(
            "daemonset `{name}` starting ({ready}/{desired} ready)"
        ));
        return None;
    }
    let object = ObjectRef::of(Kind::DaemonSet, set);
    finding.add_object(object.clone());
    finding.evidence.push(Evidence::field_note(
        &object,
        "status.numberReady",
        ready.to_string(),
        format!("{desired} desired, {updated} updated"),
    ));
    let unready_pods = unready(context, Kind::DaemonSet, &set.metadata, finding);
    let refusals = workload_refusals(context, Kind::DaemonSet, name, finding);
    let target = workload::kubectl_name(Kind::DaemonSet, name);
    let fix = if refusals.iter().any(|r| !r.resolved) {
        refusal_fix(context, &target, &refusals)
    } else if update_pending {
        format!(
            "kubectl rollout undo {target} -n {} or fix the new revision",
            context.namespace
        )
    } else {
        format!(
            "fix why the pods are not ready (`kubectl describe pods -n {} {}`)",
            context.namespace,
            unready_pods.join(" ")
        )
    };
    Some(Failing {
        kind: "DaemonSet".to_string(),
        name: name.to_string(),
        problem: if update_pending {
            "UpdateStalled"
        } else {
            "NotReady"
        }
        .to_string(),
        ready,
        desired,
        new_replica_set: None,
        previous_replica_set: None,
        last_good: None,
        changes: Vec::new(),
        refusals,
        unready_pods,
        fix,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::Scope;
    use crate::signals::test_support::evaluate;

    fn list(items: &str) -> String {
        format!(
            r#"apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Event
  metadata: {{name: clock, namespace: app}}
  involvedObject: {{kind: ConfigMap, name: x, namespace: app}}
  reason: Clock
  type: Normal
  lastTimestamp: "2024-11-18T23:30:00Z"
{items}"#
        )
    }

    /// A Deployment `api` (Recreate) whose revision 14 timed out; revision 13 served
    /// until 23:00:38.
    const STALLED: &str = r#"- apiVersion: apps/v1
  kind: Deployment
  metadata:
    name: api
    namespace: app
    uid: d1
    annotations: {deployment.kubernetes.io/revision: "14"}
    labels: {app.kubernetes.io/name: api}
  spec:
    replicas: 1
    progressDeadlineSeconds: 600
    strategy: {type: Recreate}
    selector: {matchLabels: {app: api}}
    template:
      metadata: {labels: {app: api, app.kubernetes.io/name: api}}
      spec: {containers: [{name: api, image: api:3.8.0}]}
  status:
    replicas: 1
    updatedReplicas: 1
    unavailableReplicas: 1
    conditions:
    - {type: Available, status: "False", reason: MinimumReplicasUnavailable, lastTransitionTime: "2024-11-18T23:00:38Z", message: Deployment does not have minimum availability.}
    - {type: Progressing, status: "False", reason: ProgressDeadlineExceeded, lastTransitionTime: "2024-11-18T23:10:42Z", message: ReplicaSet "api-new" has timed out progressing.}
- apiVersion: apps/v1
  kind: ReplicaSet
  metadata:
    name: api-old
    namespace: app
    creationTimestamp: "2024-11-12T16:26:30Z"
    annotations: {deployment.kubernetes.io/revision: "13"}
    ownerReferences: [{apiVersion: apps/v1, kind: Deployment, name: api, uid: d1, controller: true}]
  spec:
    replicas: 0
    selector: {matchLabels: {app: api}}
    template:
      metadata: {labels: {app: api}}
      spec:
        containers:
        - name: api
          image: api:3.7.2
          env:
          - {name: DB_HOST, value: db-old}
          - {name: DB_PASSWORD, valueFrom: {secretKeyRef: {name: db-credentials, key: password}}}
          resources: {requests: {cpu: 100m}}
  status: {replicas: 0}
- apiVersion: apps/v1
  kind: ReplicaSet
  metadata:
    name: api-new
    namespace: app
    creationTimestamp: "2024-11-18T23:00:41Z"
    annotations: {deployment.kubernetes.io/revision: "14"}
    labels: {pod-template-hash: new}
    ownerReferences: [{apiVersion: apps/v1, kind: Deployment, name: api, uid: d1, controller: true}]
  spec:
    replicas: 1
    selector: {matchLabels: {app: api}}
    template:
      metadata: {labels: {app: api}}
      spec:
        initContainers:
        - {name: wait-for-db, image: "postgres:15"}
        containers:
        - name: api
          image: api:3.8.0
          env:
          - {name: DB_HOST, value: db}
          - {name: DB_PASSWORD, valueFrom: {secretKeyRef: {name: db-credentials-v2, key: password}}}
          resources: {requests: {cpu: 200m}}
  status: {replicas: 1, readyReplicas: 0, availableReplicas: 0}
- apiVersion: v1
  kind: Pod
  metadata:
    name: api-new-x1
    namespace: app
    labels: {app: api, app.kubernetes.io/name: api}
    creationTimestamp: "2024-11-18T23:00:41Z"
    ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: api-new, uid: r14, controller: true}]
  spec: {containers: [{name: api, image: api:3.8.0}]}
  status:
    phase: Pending
    initContainerStatuses:
    - {name: wait-for-db, image: x, imageID: "", ready: false, restartCount: 9, state: {waiting: {reason: CrashLoopBackOff}}}
"#;

    #[test]
    fn progress_deadline_names_revisions_changes_and_the_last_good_one() {
        let finding = evaluate(&Rollout, &list(STALLED), "app");
        assert_eq!(finding.status, Status::Fail, "{finding:?}");
        assert_eq!(
            finding.objects,
            vec![
                ObjectRef::new(Kind::Deployment, "app", "api"),
                ObjectRef::new(Kind::ReplicaSet, "app", "api-new"),
            ]
        );
        assert_eq!(
            finding.caused_by,
            vec![ObjectRef::new(Kind::Pod, "app", "api-new-x1")]
        );
        assert_eq!(finding.scope, Scope::Apps(vec!["api".into()]));
        assert_eq!(
            finding.summary,
            "deployment `api` exceeded its progress deadline (0/1 available): revision 14 `api-new`, pod `api-new-x1` not ready, last good revision 13"
        );
        assert_eq!(
            finding.fix.as_deref(),
            Some("kubectl rollout undo deployment/api --to-revision=13 -n app")
        );
        let failing = &finding.details["failing"][0];
        assert_eq!(failing["problem"], "ProgressDeadlineExceeded");
        assert_eq!(failing["previousReplicaSet"]["replicaSet"], "api-old");
        assert_eq!(failing["lastGood"]["revision"], 13);
        assert_eq!(
            failing["lastGood"]["basis"],
            "the Deployment was available with it until 2024-11-18T23:00:38Z"
        );
        let changes: Vec<(String, String, String)> = failing["changes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                (
                    format!(
                        "{}.{}",
                        c["container"].as_str().unwrap(),
                        c["field"].as_str().unwrap()
                    ),
                    c["before"].as_str().unwrap_or("-").to_string(),
                    c["after"].as_str().unwrap_or("-").to_string(),
                )
            })
            .collect();
        let expect = |a: &str, b: &str, c: &str| (a.to_string(), b.to_string(), c.to_string());
        assert_eq!(
            changes,
            vec![
                expect(
                    "initContainers[wait-for-db].image",
                    "-",
                    "postgres:15 (added)"
                ),
                expect("containers[api].image", "api:3.7.2", "api:3.8.0"),
                expect("containers[api].env[DB_HOST]", "db-old", "db"),
                expect(
                    "containers[api].env[DB_PASSWORD]",
                    "secretKeyRef db-credentials/password",
                    "secretKeyRef db-credentials-v2/password"
                ),
                expect("containers[api].resources.requests.cpu", "100m", "200m"),
            ]
        );
        let shorts: Vec<String> = finding.evidence.iter().map(Evidence::short).collect();
        assert!(shorts.contains(&"deployment/api status.conditions[1].reason=ProgressDeadlineExceeded (ReplicaSet \"api-new\" has timed out progressing; progressDeadlineSeconds 600)".to_string()), "{shorts:#?}");
        assert!(shorts.contains(&"pod/api-new-x1 status.initContainerStatuses[0].state.waiting.reason=CrashLoopBackOff (pod of ReplicaSet `api-new`)".to_string()), "{shorts:#?}");
        assert!(shorts.contains(&"replicaset/api-new spec.template.spec.containers[api].image=api:3.8.0 (was api:3.7.2 in revision 13)".to_string()), "{shorts:#?}");
    }

    #[test]
    fn without_a_known_good_revision_the_fix_is_the_cause() {
        // The Deployment was never available: revision 13 cannot be called good.
        let text = list(&STALLED.replace(
            "lastTransitionTime: \"2024-11-18T23:00:38Z\"",
            "lastTransitionTime: \"2024-11-01T00:00:00Z\"",
        ));
        let finding = evaluate(&Rollout, &text, "app");
        assert_eq!(finding.status, Status::Fail);
        assert!(finding.details["failing"][0].get("lastGood").is_none());
        assert_eq!(
            finding.fix.as_deref(),
            Some(
                "no earlier revision is known good: fix why the new pods fail (`kubectl describe pods -n app -l pod-template-hash=new`)"
            )
        );
    }

    /// A single-revision Deployment whose ReplicaSet the quota refuses.
    const REFUSED: &str = r#"- apiVersion: apps/v1
  kind: Deployment
  metadata: {name: worker, namespace: app, uid: d2, annotations: {deployment.kubernetes.io/revision: "1"}}
  spec:
    replicas: 2
    selector: {matchLabels: {app: worker}}
    template:
      metadata: {labels: {app: worker}}
      spec: {containers: [{name: worker, image: worker:1, resources: {limits: {cpu: "1"}}}]}
  status:
    replicas: 1
    availableReplicas: 1
    conditions:
    - {type: Available, status: "True", reason: MinimumReplicasAvailable}
    - {type: ReplicaFailure, status: "True", reason: FailedCreate, message: 'pods "worker-7c9-abcde" is forbidden: exceeded quota: compute, requested: pods=1, used: pods=4, limited: pods=4'}
    - {type: Progressing, status: "True", reason: ReplicaSetUpdated}
- apiVersion: apps/v1
  kind: ReplicaSet
  metadata:
    name: worker-7c9
    namespace: app
    annotations: {deployment.kubernetes.io/revision: "1"}
    ownerReferences: [{apiVersion: apps/v1, kind: Deployment, name: worker, uid: d2, controller: true}]
  spec: {replicas: 2, selector: {matchLabels: {app: worker}}}
  status: {replicas: 1, availableReplicas: 1}
- apiVersion: v1
  kind: Event
  metadata: {name: worker-7c9.1, namespace: app}
  involvedObject: {kind: ReplicaSet, name: worker-7c9, namespace: app}
  reason: FailedCreate
  type: Warning
  count: 7
  lastTimestamp: "2024-11-18T23:20:00Z"
  message: 'Error creating: pods "worker-7c9-fghij" is forbidden: maximum cpu usage per Container is 500m, but limit is 1'
- apiVersion: v1
  kind: LimitRange
  metadata: {name: container-limits, namespace: app}
  spec: {limits: [{type: Container, max: {cpu: 500m}}]}
- apiVersion: v1
  kind: LimitRange
  metadata: {name: pvc-limits, namespace: app}
  spec: {limits: [{type: PersistentVolumeClaim, max: {storage: 10Gi}}]}
"#;

    #[test]
    fn refused_pods_name_the_quota_and_the_limit_range() {
        let finding = evaluate(&Rollout, &list(REFUSED), "app");
        assert_eq!(finding.status, Status::Fail, "{finding:?}");
        assert_eq!(
            finding.caused_by,
            vec![
                ObjectRef::new(Kind::LimitRange, "app", "container-limits"),
                ObjectRef::new(Kind::ResourceQuota, "app", "compute"),
            ]
        );
        assert_eq!(
            finding.objects,
            vec![
                ObjectRef::new(Kind::Deployment, "app", "worker"),
                ObjectRef::new(Kind::ReplicaSet, "app", "worker-7c9"),
            ]
        );
        assert_eq!(
            finding.summary,
            "deployment `worker` cannot create pods (1/2 available): revision 1 `worker-7c9`, refused by limit-range `container-limits`, quota `compute`"
        );
        let fix = finding.fix.unwrap();
        assert!(
            fix.contains("kubectl set resources deployment/worker --limits=cpu=500m -n app"),
            "{fix}"
        );
        assert!(
            fix.contains("kubectl edit resourcequota compute -n app"),
            "{fix}"
        );
        assert!(!fix.contains("rollout undo"), "{fix}");
        assert!(finding.evidence.iter().any(|e| matches!(
            e,
            Evidence::Event { reason, count: 7, .. } if reason == "FailedCreate"
        )));
    }

    #[test]
    fn recovering_rollouts_stay_green() {
        // The new pod turned Ready after the deadline: the controller's next sync
        // clears the condition.
        let ready = STALLED.replace(
            "    phase: Pending\n    initContainerStatuses:",
            "    phase: Running\n    conditions: [{type: Ready, status: \"True\"}]\n    initContainerStatuses:",
        ).replace("state: {waiting: {reason: CrashLoopBackOff}}", "state: {terminated: {exitCode: 0, reason: Completed}}");
        // The quota was raised: it now admits what the ReplicaSet asked for.
        let deployment_only = REFUSED
            .split("- apiVersion: v1\n  kind: Event")
            .next()
            .unwrap();
        let raised = format!(
            "{deployment_only}- apiVersion: v1
  kind: ResourceQuota
  metadata: {{name: compute, namespace: app}}
  spec: {{hard: {{pods: \"10\"}}}}
  status: {{hard: {{pods: \"10\"}}, used: {{pods: \"4\"}}}}
"
        );
        let finding = evaluate(&Rollout, &list(&(ready + &raised)), "app");
        assert_eq!(finding.status, Status::Ok, "{finding:?}");
        assert_eq!(
            finding.summary,
            "2 workload(s) rolled out or within their deadline (deployment `api` recovering: its new pods are ready; deployment `worker` recovering: what refused its pods now admits them)"
        );
        assert!(finding.caused_by.is_empty() && finding.evidence.is_empty());

        // Still exhausted: the quota is named as the cause.
        let exhausted = raised.replace("used: {pods: \"4\"}", "used: {pods: \"10\"}");
        let finding = evaluate(&Rollout, &list(&exhausted), "app");
        assert_eq!(finding.status, Status::Fail);
        assert_eq!(
            finding.caused_by,
            vec![ObjectRef::new(Kind::ResourceQuota, "app", "compute")]
        );
    }

    #[test]
    fn deployment_look_alikes_stay_green() {
        let deployment = |name: &str, spec: &str, status: &str| {
            format!(
                r#"- apiVersion: apps/v1
  kind: Deployment
  metadata: {{name: {name}, namespace: app, uid: {name}-uid, annotations: {{deployment.kubernetes.io/revision: "2"}}}}
  spec:
{spec}
    selector: {{matchLabels: {{app: {name}}}}}
    template:
      metadata: {{labels: {{app: {name}}}}}
      spec: {{containers: [{{name: c, image: x}}]}}
  status:
{status}
"#
            )
        };
        let mut items = String::new();
        // Mid-rollout within its deadline.
        items.push_str(&deployment(
            "rolling",
            "    replicas: 3",
            "    replicas: 4\n    updatedReplicas: 1\n    availableReplicas: 3\n    conditions:\n    - {type: Progressing, status: \"True\", reason: ReplicaSetUpdated}",
        ));
        // Scaled to 0 (an old timeout on it no longer matters).
        items.push_str(&deployment(
            "scaled",
            "    replicas: 0",
            "    conditions:\n    - {type: Progressing, status: \"False\", reason: ProgressDeadlineExceeded}",
        ));
        // Paused mid-rollout.
        items.push_str(&deployment(
            "held",
            "    replicas: 1\n    paused: true",
            "    conditions:\n    - {type: Progressing, status: \"Unknown\", reason: DeploymentPaused}",
        ));
        // Complete, with the old ReplicaSet at 0 and old FailedCreate events on the
        // new one, which has since created its pods.
        items.push_str(&deployment(
            "done",
            "    replicas: 1",
            "    replicas: 1\n    updatedReplicas: 1\n    availableReplicas: 1\n    conditions:\n    - {type: Available, status: \"True\", reason: MinimumReplicasAvailable}\n    - {type: Progressing, status: \"True\", reason: NewReplicaSetAvailable}",
        ));
        items.push_str(
            r#"- apiVersion: apps/v1
  kind: ReplicaSet
  metadata:
    name: done-1
    namespace: app
    annotations: {deployment.kubernetes.io/revision: "1"}
    ownerReferences: [{apiVersion: apps/v1, kind: Deployment, name: done, uid: done-uid, controller: true}]
  spec: {replicas: 0, selector: {matchLabels: {app: done}}}
  status: {replicas: 0}
- apiVersion: apps/v1
  kind: ReplicaSet
  metadata:
    name: done-2
    namespace: app
    annotations: {deployment.kubernetes.io/revision: "2"}
    ownerReferences: [{apiVersion: apps/v1, kind: Deployment, name: done, uid: done-uid, controller: true}]
  spec: {replicas: 1, selector: {matchLabels: {app: done}}}
  status: {replicas: 1, readyReplicas: 1, availableReplicas: 1}
- apiVersion: v1
  kind: Event
  metadata: {name: done-2.1, namespace: app}
  involvedObject: {kind: ReplicaSet, name: done-2, namespace: app}
  reason: FailedCreate
  type: Warning
  lastTimestamp: "2024-11-18T22:00:00Z"
  message: 'Error creating: pods "done-2-x" is forbidden: exceeded quota: compute, requested: pods=1, used: pods=4, limited: pods=4'
"#,
        );
        let finding = evaluate(&Rollout, &list(&items), "app");
        assert_eq!(finding.status, Status::Ok, "{finding:?}");
        assert_eq!(
            finding.summary,
            "4 workload(s) rolled out or within their deadline (deployment `held` is paused; deployment `rolling` rolling out within its progress deadline)"
        );
        assert!(finding.objects.is_empty() && finding.caused_by.is_empty());
    }

    fn stateful_set(
        name: &str,
        spec: &str,
        status: &str,
        pod_created: &str,
        pod_status: &str,
    ) -> String {
        format!(
            r#"- apiVersion: apps/v1
  kind: StatefulSet
  metadata: {{name: {name}, namespace: app, uid: {name}-uid, creationTimestamp: "2024-11-01T00:00:00Z", labels: {{app.kubernetes.io/name: {name}}}}}
  spec:
    replicas: 3
    serviceName: {name}
    selector: {{matchLabels: {{app: {name}}}}}
    template:
      metadata: {{labels: {{app: {name}}}}}
      spec: {{containers: [{{name: c, image: x}}]}}
{spec}
  status:
    replicas: 3
{status}
- apiVersion: v1
  kind: Pod
  metadata:
    name: {name}-2
    namespace: app
    creationTimestamp: "{pod_created}"
    ownerReferences: [{{apiVersion: apps/v1, kind: StatefulSet, name: {name}, uid: {name}-uid, controller: true}}]
  spec: {{containers: [{{name: c, image: x}}]}}
  status:
{pod_status}
"#
        )
    }

    const CRASHING: &str = "    phase: Running\n    containerStatuses:\n    - {name: c, image: x, imageID: \"\", ready: false, restartCount: 12, state: {waiting: {reason: CrashLoopBackOff}}}";

    #[test]
    fn stalled_stateful_set_update_fails_with_forced_rollback() {
        let text = list(&stateful_set(
            "db",
            "",
            "    readyReplicas: 2\n    updatedReplicas: 1\n    currentRevision: db-aaa\n    updateRevision: db-bbb",
            "2024-11-18T23:00:00Z",
            CRASHING,
        ));
        let finding = evaluate(&Rollout, &text, "app");
        assert_eq!(finding.status, Status::Fail, "{finding:?}");
        assert_eq!(
            finding.objects,
            vec![ObjectRef::new(Kind::StatefulSet, "app", "db")]
        );
        assert_eq!(
            finding.caused_by,
            vec![ObjectRef::new(Kind::Pod, "app", "db-2")]
        );
        assert_eq!(
            finding.summary,
            "statefulset `db` update stalled (2/3 ready), pod `db-2` not ready"
        );
        assert_eq!(
            finding.fix.as_deref(),
            Some(
                "kubectl rollout undo statefulset/db -n app, then `kubectl delete pod db-2 -n app` (forced rollback) or fix the new revision"
            )
        );
        assert!(finding.evidence.iter().any(|e| e.short()
            == "statefulset/db status.updateRevision=db-bbb (currentRevision db-aaa, 1/3 pods updated)"));
    }

    #[test]
    fn stateful_set_look_alikes_stay_green() {
        // A partitioned update (canary): 1 of 3 - 2 pods updated is the goal.
        let partitioned = stateful_set(
            "canary",
            "    updateStrategy: {type: RollingUpdate, rollingUpdate: {partition: 2}}",
            "    readyReplicas: 3\n    updatedReplicas: 1\n    currentRevision: canary-aaa\n    updateRevision: canary-bbb",
            "2024-11-18T23:00:00Z",
            "    phase: Running",
        );
        // A pod created 20 seconds ago, still starting.
        let starting = stateful_set(
            "cache",
            "",
            "    readyReplicas: 2\n    updatedReplicas: 3\n    currentRevision: cache-aaa\n    updateRevision: cache-aaa",
            "2024-11-18T23:29:40Z",
            CRASHING,
        );
        let finding = evaluate(&Rollout, &list(&(partitioned + &starting)), "app");
        assert_eq!(finding.status, Status::Ok, "{finding:?}");
        assert_eq!(
            finding.summary,
            "2 workload(s) rolled out or within their deadline (statefulset `cache` starting (2/3 ready))"
        );
    }

    #[test]
    fn daemon_set_not_ready_fails_and_on_delete_update_stays_green() {
        let daemon_set = |name: &str, strategy: &str, status: &str| {
            format!(
                r#"- apiVersion: apps/v1
  kind: DaemonSet
  metadata: {{name: {name}, namespace: app, uid: {name}-uid, creationTimestamp: "2024-11-01T00:00:00Z"}}
  spec:
    selector: {{matchLabels: {{app: {name}}}}}
    updateStrategy: {{type: {strategy}}}
    template:
      metadata: {{labels: {{app: {name}}}}}
      spec: {{containers: [{{name: c, image: x}}]}}
  status:
{status}
"#
            )
        };
        let broken = daemon_set(
            "agent",
            "RollingUpdate",
            "    desiredNumberScheduled: 3\n    currentNumberScheduled: 3\n    numberReady: 1\n    numberMisscheduled: 0\n    updatedNumberScheduled: 3",
        );
        let waiting = daemon_set(
            "logs",
            "OnDelete",
            "    desiredNumberScheduled: 3\n    currentNumberScheduled: 3\n    numberReady: 3\n    numberMisscheduled: 0\n    updatedNumberScheduled: 0",
        );
        let finding = evaluate(&Rollout, &list(&(broken + &waiting)), "app");
        assert_eq!(finding.status, Status::Fail, "{finding:?}");
        assert_eq!(
            finding.objects,
            vec![ObjectRef::new(Kind::DaemonSet, "app", "agent")]
        );
        assert_eq!(finding.summary, "daemonset `agent` 1/3 ready");
        assert!(finding.evidence.iter().any(|e| e.short()
            == "daemonset/agent status.numberReady=1 (3 desired, 3 updated)"));
    }
}
