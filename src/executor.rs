//! The one place repair steps meet the cluster: preview -> confirm -> preflight ->
//! backup -> apply -> verify, in that order, for every step. Dry-run is a mode of this
//! executor (preview and preflight only), not a flag threaded through the repairs.

use std::io::Write;
use std::time::Duration;

use serde_json::{Value, json};

use crate::backup::{AuditEntry, RunDir, restorable};
use crate::cluster::Cluster;
use crate::cluster::write::{Deleted, WriteMode};
use crate::error::TriageError;
use crate::journal::{Ending, Entry, ObjectRef};
use crate::render::repair::{readable, step_preview};
use crate::repair::{Action, Step, Target};
use crate::snapshot::Kind;
use crate::terminal::Confirm;

/// How long a deleted object may take to go away (finalizers run by controllers,
/// e.g. pvc-protection) before the step is reported as stuck.
const GONE_WITHIN: Duration = Duration::from_secs(60);

/// Whether steps are applied or only previewed and checked by the server.
pub enum Mode<'a> {
    Apply {
        confirm: &'a mut dyn Confirm,
        run: &'a mut RunDir,
    },
    DryRun,
}

/// Who is acting where: printed before any change and written in the audit log.
pub struct Actor {
    pub context: String,
    pub user: String,
    /// How the schema steps reach the database, when they can.
    pub database: Option<crate::db::Access>,
    pub timeout: Option<Duration>,
}

/// How a step ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepOutcome {
    /// Applied (or, in dry-run, passed every server check).
    Done,
    /// The user said no: nothing of this step was changed.
    Declined,
}

/// Runs one step. Errors mean the step did not complete; the message says what, if
/// anything, was changed.
pub async fn run_step(
    cluster: &Cluster,
    actor: &Actor,
    step: &Step,
    number: usize,
    total: usize,
    mode: &mut Mode<'_>,
    out: &mut dyn Write,
) -> Result<StepOutcome, TriageError> {
    let _ = write!(out, "{}", step_preview(step, number, total));

    if let Mode::Apply { confirm, .. } = mode {
        let question = format!(
            "Apply step `{}` as `{}` on context `{}`?",
            step.id, actor.user, actor.context
        );
        let _ = out.flush();
        if !confirm.confirm(&question)? {
            let _ = writeln!(
                out,
                "stopped at `{}`: nothing of this step was changed",
                step.id
            );
            return Ok(StepOutcome::Declined);
        }
    }

    // Preflight, before the first write: permissions, the objects are still what the
    // plan saw, and the server accepts every write (dry run).
    for action in &step.actions {
        preflight(cluster, action, actor.database.as_ref(), actor.timeout).await?;
    }
    let _ = writeln!(out, "preflight: permissions and server-side dry run passed");

    let Mode::Apply { run, .. } = mode else {
        let _ = writeln!(out, "dry run: `{}` not applied", step.id);
        return Ok(StepOutcome::Done);
    };

    // A patch changes the resourceVersion a following delete must match.
    let mut versions: Vec<(Target, String)> = Vec::new();
    let mut applied: Vec<String> = Vec::new();
    for action in &step.actions {
        if let Err(error) = apply(cluster, actor, step, action, run, &mut versions, out).await {
            return Err(after_partial_apply(error, &applied, run));
        }
        applied.push(format!(
            "{} {}",
            action.verb_past(),
            action.target().short()
        ));
    }
    Ok(StepOutcome::Done)
}

/// A failure after earlier actions of the step went through is a partial apply (its
/// own exit code, the restore command as its hint). A conflict stays a conflict: the
/// caller reads again and re-plans from what is there now.
fn after_partial_apply(error: TriageError, applied: &[String], run: &RunDir) -> TriageError {
    match error {
        TriageError::Conflict { .. }
        | TriageError::PartiallyApplied { .. }
        | TriageError::VerifyFailed { .. } => error,
        error if applied.is_empty() => error,
        error => TriageError::PartiallyApplied {
            applied: applied.join(", "),
            cause: Box::new(error),
            restore: format!("to undo: {}", run.restore_command()),
        },
    }
}

/// Writes the delete of `target` went through but it is still there (finalizers).
fn still_there(target: &Target, saved: &std::path::Path, run: &RunDir) -> TriageError {
    TriageError::PartiallyApplied {
        applied: format!("deleted {}", target.short()),
        cause: Box::new(TriageError::input(
            format!(
                "it is marked for deletion but still there after {}s (finalizers?); backup: {}",
                GONE_WITHIN.as_secs(),
                saved.display()
            ),
            None,
        )),
        restore: format!("to undo: {}", run.restore_command()),
    }
}

fn uid_and_version(object: &Value) -> (String, String) {
    let text = |pointer: &str| {
        object
            .pointer(pointer)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    (text("/metadata/uid"), text("/metadata/resourceVersion"))
}

/// The group and resource name an API request for `kind` uses.
fn resource_of(kind: Kind) -> (&'static str, &'static str) {
    (kind.group(), kind.plural())
}

async fn require(
    cluster: &Cluster,
    verb: &str,
    target: &Target,
    name: Option<&str>,
) -> Result<(), TriageError> {
    let (group, resource) = resource_of(target.kind);
    let permission = cluster
        .can_i(verb, group, resource, &target.namespace, name)
        .await?;
    if permission.allowed {
        return Ok(());
    }
    Err(TriageError::forbidden(
        format!(
            "preflight: you may not {verb} {} `{}` in `{}`{}: nothing was changed",
            target.kind.name(),
            target.name,
            target.namespace,
            permission
                .reason
                .map(|r| format!(" ({r})"))
                .unwrap_or_default()
        ),
        Some("ask for the permission, or use --as with a permitted user".to_string()),
    ))
}

/// The object must still be the one the plan was made from.
async fn still_as_planned(
    cluster: &Cluster,
    target: &Target,
    before: &Value,
) -> Result<Value, TriageError> {
    let current = cluster
        .get_json(target.kind, &target.namespace, &target.name)
        .await?
        .ok_or_else(|| TriageError::Conflict {
            message: format!(
                "{} `{}` was deleted since it was read",
                target.kind.name(),
                target.name
            ),
        })?;
    let (planned_uid, planned_version) = uid_and_version(before);
    let (uid, version) = uid_and_version(&current);
    if uid != planned_uid || version != planned_version {
        return Err(TriageError::Conflict {
            message: format!(
                "{} `{}` changed since it was read (resourceVersion {planned_version} -> {version})",
                target.kind.name(),
                target.name
            ),
        });
    }
    Ok(current)
}

/// The JSON patch from `before` to `after`, guarded by a test of the resourceVersion
/// so a concurrent writer makes it fail instead of being overwritten.
pub fn guarded_patch(before: &Value, after: &Value) -> Value {
    let (_, version) = uid_and_version(before);
    let mut ops =
        vec![json!({"op": "test", "path": "/metadata/resourceVersion", "value": version})];
    let diff = json_patch::diff(&readable(before), &readable(after));
    ops.extend(
        serde_json::to_value(diff)
            .ok()
            .and_then(|v| v.as_array().cloned())
            .unwrap_or_default(),
    );
    Value::Array(ops)
}

/// A manifest for creating `object` under another name, to dry-run a create whose
/// name is still taken (a create of an existing name is a 409, even in a dry run).
fn under_preflight_name(object: &Value) -> Value {
    let mut copy = restorable(object.clone());
    let name = copy
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("object")
        .to_string();
    copy["metadata"]["name"] =
        Value::String(format!("{}-triage-preflight", truncate_name(&name, 200)));
    copy
}

fn truncate_name(name: &str, max: usize) -> &str {
    &name[..name.len().min(max)]
}

async fn preflight(
    cluster: &Cluster,
    action: &Action,
    database: Option<&crate::db::Access>,
    timeout: Option<Duration>,
) -> Result<(), TriageError> {
    let target = action.target();
    let (kind, ns, name) = (target.kind, target.namespace.as_str(), target.name.as_str());
    match action {
        Action::Patch { before, after, .. } => {
            require(cluster, "patch", target, Some(name)).await?;
            still_as_planned(cluster, target, before).await?;
            cluster
                .json_patch(
                    kind,
                    ns,
                    name,
                    guarded_patch(before, after),
                    WriteMode::DryRun,
                )
                .await?;
        }
        Action::Create { object, .. } => {
            require(cluster, "create", target, None).await?;
            cluster.create(kind, ns, object, WriteMode::DryRun).await?;
        }
        Action::Delete { before, .. } => {
            require(cluster, "delete", target, Some(name)).await?;
            let current = still_as_planned(cluster, target, before).await?;
            let (uid, version) = uid_and_version(&current);
            cluster
                .delete_exact(kind, ns, name, &uid, &version, WriteMode::DryRun)
                .await?;
        }
        Action::Recreate { before, after, .. } => {
            require(cluster, "delete", target, Some(name)).await?;
            require(cluster, "create", target, None).await?;
            let current = still_as_planned(cluster, target, before).await?;
            let (uid, version) = uid_and_version(&current);
            cluster
                .delete_exact(kind, ns, name, &uid, &version, WriteMode::DryRun)
                .await?;
            // NB: the create must also pass RBAC's escalation check (a RoleBinding needs
            // `bind` on its role or all of the role's permissions): the dry run runs it,
            // so a create that would fail after the delete is refused here instead.
            cluster
                .create(kind, ns, &under_preflight_name(after), WriteMode::DryRun)
                .await?;
        }
        Action::RunJob { object, .. } => {
            require(cluster, "create", target, None).await?;
            cluster.create(kind, ns, object, WriteMode::DryRun).await?;
        }
        Action::WriteSchema { before, .. } => {
            require(cluster, "patch", target, Some(name)).await?;
            still_as_planned(cluster, target, before).await?;
            // Read-only: proves the database answers before anything is written.
            observed_tables(cluster, actor_database(database)?, timeout).await?;
        }
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn audit(
    run: &RunDir,
    actor: &Actor,
    step: &Step,
    verb: &str,
    target: &Target,
    before: Option<&str>,
    after: Option<&str>,
) -> Result<(), TriageError> {
    run.audit(&AuditEntry {
        time: jiff::Timestamp::now(),
        run_id: &run.id,
        context: &actor.context,
        user: &actor.user,
        verb,
        kind: target.kind.name(),
        namespace: &target.namespace,
        name: &target.name,
        resource_version_before: before,
        resource_version_after: after,
        step: step.id,
    })
}

async fn apply(
    cluster: &Cluster,
    actor: &Actor,
    step: &Step,
    action: &Action,
    run: &mut RunDir,
    versions: &mut Vec<(Target, String)>,
    out: &mut dyn Write,
) -> Result<(), TriageError> {
    let target = action.target();
    let (kind, ns, name) = (target.kind, target.namespace.as_str(), target.name.as_str());
    let known_version = versions
        .iter()
        .rev()
        .find(|(t, _)| t == target)
        .map(|(_, v)| v.clone());
    match action {
        Action::Patch { before, after, .. } => {
            let current = still_as_planned(cluster, target, before).await?;
            let saved = run.save(&current)?;
            let _ = writeln!(out, "backup: {}", saved.display());
            let patched = cluster
                .json_patch(
                    kind,
                    ns,
                    name,
                    guarded_patch(before, after),
                    WriteMode::Apply,
                )
                .await?;
            let (_, old) = uid_and_version(&current);
            let (_, new) = uid_and_version(&patched);
            audit(run, actor, step, "patch", target, Some(&old), Some(&new))?;
            let _ = writeln!(
                out,
                "patched {} (resourceVersion {old} -> {new})",
                target.short()
            );
            versions.push((target.clone(), new));
        }
        Action::Create { object, .. } => {
            let created = cluster.create(kind, ns, object, WriteMode::Apply).await?;
            let (_, new) = uid_and_version(&created);
            audit(run, actor, step, "create", target, None, Some(&new))?;
            let _ = writeln!(out, "created {} (resourceVersion {new})", target.short());
        }
        Action::Delete { before, .. } => {
            let current = match &known_version {
                // Patched earlier in this step: our own write, still the same object.
                Some(version) => {
                    let mut object = before.clone();
                    object["metadata"]["resourceVersion"] = Value::String(version.clone());
                    still_as_planned(cluster, target, &object).await?
                }
                None => still_as_planned(cluster, target, before).await?,
            };
            let saved = run.save(&current)?;
            let _ = writeln!(out, "backup: {}", saved.display());
            let (uid, version) = uid_and_version(&current);
            let outcome = cluster
                .delete_exact(kind, ns, name, &uid, &version, WriteMode::Apply)
                .await?;
            audit(run, actor, step, "delete", target, Some(&version), None)?;
            if let Deleted::HeldBy(finalizers) = &outcome {
                let _ = writeln!(
                    out,
                    "waiting for finalizers {} of {}",
                    finalizers.join(","),
                    target.short()
                );
            }
            if !cluster.wait_gone(kind, ns, name, GONE_WITHIN).await? {
                return Err(still_there(target, &saved, run));
            }
            let _ = writeln!(out, "deleted {}", target.short());
        }
        Action::Recreate { before, after, .. } => {
            let current = still_as_planned(cluster, target, before).await?;
            let saved = run.save(&current)?;
            let _ = writeln!(out, "backup: {}", saved.display());
            let (uid, version) = uid_and_version(&current);
            journal_recreate_begin(run, step, target, &uid, &saved, after)?;
            cluster
                .delete_exact(kind, ns, name, &uid, &version, WriteMode::Apply)
                .await?;
            audit(run, actor, step, "delete", target, Some(&version), None)?;
            if !cluster.wait_gone(kind, ns, name, GONE_WITHIN).await? {
                return Err(still_there(target, &saved, run));
            }
            journal_recreate_deleted(run, step, target)?;
            pause_after_delete_for_tests();
            match cluster
                .create(kind, ns, &restorable(after.clone()), WriteMode::Apply)
                .await
            {
                Ok(created) => {
                    let (_, new) = uid_and_version(&created);
                    audit(run, actor, step, "create", target, None, Some(&new))?;
                    journal_recreate_end(run, step, target, Ending::Created)?;
                    let _ = writeln!(out, "recreated {} (resourceVersion {new})", target.short());
                }
                Err(create_error) => {
                    // Put the original back at once: never leave the object missing.
                    let restored = cluster
                        .create(kind, ns, &restorable(current.clone()), WriteMode::Apply)
                        .await;
                    let applied = match &restored {
                        Ok(object) => {
                            let (_, new) = uid_and_version(object);
                            audit(run, actor, step, "create", target, None, Some(&new))?;
                            journal_recreate_end(run, step, target, Ending::OriginalPutBack)?;
                            format!(
                                "deleted {0} and, when its new version was refused, created the original again from the backup",
                                target.short()
                            )
                        }
                        Err(restore_error) => format!(
                            "deleted {}; putting the original back ALSO failed ({restore_error})",
                            target.short()
                        ),
                    };
                    return Err(TriageError::PartiallyApplied {
                        applied,
                        cause: Box::new(create_error),
                        restore: format!("to undo: {}", run.restore_command()),
                    });
                }
            }
        }
        Action::RunJob {
            object,
            timeout_seconds,
            unless_tables,
            ..
        } => {
            if !unless_tables.is_empty()
                && let Some(database) = actor.database.as_ref()
            {
                let tables = observed_tables(cluster, database, actor.timeout).await?;
                if unless_tables.iter().all(|t| tables.contains(t)) {
                    let _ = writeln!(
                        out,
                        "skipped {}: the database already has {}",
                        target.short(),
                        unless_tables.join(", ")
                    );
                    return Ok(());
                }
            }
            let created = cluster.create(kind, ns, object, WriteMode::Apply).await?;
            let (_, new) = uid_and_version(&created);
            audit(run, actor, step, "create", target, None, Some(&new))?;
            let _ = writeln!(out, "created {}; waiting for it to finish", target.short());
            match wait_for_job(cluster, target, Duration::from_secs(*timeout_seconds)).await? {
                JobVerdict::Succeeded => {
                    let _ = writeln!(out, "{} succeeded", target.short());
                }
                JobVerdict::Failed(why) => {
                    let tail = job_output(cluster, target).await;
                    return Err(TriageError::VerifyFailed {
                        message: format!(
                            "{} failed: {why}{tail}; the cascade stops here",
                            target.short()
                        ),
                    });
                }
            }
        }
        Action::WriteSchema {
            before,
            version_key,
            version,
            tables_key,
            expected,
            ..
        } => {
            let tables = observed_tables(
                cluster,
                actor_database(actor.database.as_ref())?,
                actor.timeout,
            )
            .await?;
            let missing: Vec<String> = expected
                .iter()
                .filter(|t| !tables.contains(t))
                .map(|t| format!("`{t}`"))
                .collect();
            if !missing.is_empty() {
                return Err(TriageError::VerifyFailed {
                    message: format!(
                        "the database lacks {} (it has: {}): `{}` not written, its version stays",
                        missing.join(", "),
                        tables.join(", "),
                        target.name
                    ),
                });
            }
            let current = still_as_planned(cluster, target, before).await?;
            let saved = run.save(&current)?;
            let _ = writeln!(out, "backup: {}", saved.display());
            let mut after = current.clone();
            after["data"][version_key.as_str()] = Value::String(version.clone());
            after["data"][tables_key.as_str()] = Value::String(tables.join(","));
            let patched = cluster
                .json_patch(
                    kind,
                    ns,
                    name,
                    guarded_patch(&current, &after),
                    WriteMode::Apply,
                )
                .await?;
            let (_, old) = uid_and_version(&current);
            let (_, new) = uid_and_version(&patched);
            audit(run, actor, step, "patch", target, Some(&old), Some(&new))?;
            let _ = writeln!(
                out,
                "wrote {version_key}={version} and {tables_key}={} (observed in the database)",
                tables.join(",")
            );
        }
    }
    Ok(())
}

/// The journal's intent line, fsync'd before a recreate's delete: what a later run
/// needs to finish the step (the new version) or undo it (the backup).
fn journal_recreate_begin(
    run: &RunDir,
    step: &Step,
    target: &Target,
    original_uid: &str,
    backup: &std::path::Path,
    new_version: &Value,
) -> Result<(), TriageError> {
    run.journal(&Entry::RecreateBegin {
        step: step.id.to_string(),
        object: ObjectRef::of(target),
        original_uid: original_uid.to_string(),
        backup: backup
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        new_version: restorable(new_version.clone()),
    })
}

fn journal_recreate_deleted(run: &RunDir, step: &Step, target: &Target) -> Result<(), TriageError> {
    run.journal(&Entry::RecreateDeleted {
        step: step.id.to_string(),
        object: ObjectRef::of(target),
    })
}

fn journal_recreate_end(
    run: &RunDir,
    step: &Step,
    target: &Target,
    ending: Ending,
) -> Result<(), TriageError> {
    run.journal(&Entry::RecreateEnd {
        step: step.id.to_string(),
        object: ObjectRef::of(target),
        ending,
    })
}

/// TEST ONLY: with `TRIAGE_TEST_PAUSE_AFTER_DELETE=FILE`, a recreate writes FILE once
/// its delete went through and then sleeps, so the crash-safety e2e test can SIGKILL
/// triage at exactly that point. Not a user-facing setting.
fn pause_after_delete_for_tests() {
    if let Some(file) = std::env::var_os("TRIAGE_TEST_PAUSE_AFTER_DELETE") {
        let _ = std::fs::write(&file, b"deleted\n");
        loop {
            std::thread::sleep(Duration::from_secs(3600));
        }
    }
}

fn actor_database(database: Option<&crate::db::Access>) -> Result<&crate::db::Access, TriageError> {
    database.ok_or_else(|| {
        TriageError::usage(
            "the schema steps read the tables from the database, and no database was given",
            Some(
                "pass --db-url postgres://USER@HOST:PORT/DATABASE (e.g. through `kubectl port-forward`), or --skip schema"
                    .to_string(),
            ),
        )
    })
}

async fn observed_tables(
    cluster: &Cluster,
    database: &crate::db::Access,
    timeout: Option<Duration>,
) -> Result<Vec<String>, TriageError> {
    let connection = database.connect(cluster, timeout).await?;
    crate::db::list_tables(&connection).await
}

enum JobVerdict {
    Succeeded,
    Failed(String),
}

/// Polls the Job's conditions until Complete or Failed, or the deadline (a failure
/// too); a spinner shows while it runs when stderr is a terminal.
async fn wait_for_job(
    cluster: &Cluster,
    target: &Target,
    limit: Duration,
) -> Result<JobVerdict, TriageError> {
    use std::io::IsTerminal;
    let spinner = std::io::stderr().is_terminal().then(|| {
        let bar = indicatif::ProgressBar::new_spinner();
        bar.set_message(format!("waiting for {}", target.short()));
        bar.enable_steady_tick(Duration::from_millis(120));
        bar
    });
    let deadline = tokio::time::Instant::now() + limit;
    let verdict = loop {
        let job = cluster
            .get_json(Kind::Job, &target.namespace, &target.name)
            .await?;
        let conditions = job
            .as_ref()
            .and_then(|j| j.pointer("/status/conditions"))
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let holds = |kind: &str| {
            conditions
                .iter()
                .find(|c| c["type"] == kind && c["status"] == "True")
                .cloned()
        };
        if holds("Complete").is_some() {
            break JobVerdict::Succeeded;
        }
        if let Some(failed) = holds("Failed") {
            let why = failed["message"]
                .as_str()
                .or(failed["reason"].as_str())
                .unwrap_or("failed");
            break JobVerdict::Failed(why.to_string());
        }
        if job.is_none() {
            break JobVerdict::Failed("the Job disappeared".to_string());
        }
        if tokio::time::Instant::now() >= deadline {
            break JobVerdict::Failed(format!("not finished after {}s", limit.as_secs()));
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    };
    if let Some(bar) = spinner {
        bar.finish_and_clear();
    }
    Ok(verdict)
}

/// The last lines its pod left: the log when the API server can fetch it (a kubelet
/// serves it), else the container's termination message, which is in the API.
async fn job_output(cluster: &Cluster, target: &Target) -> String {
    let Ok(pods) = cluster.job_pods(&target.namespace, &target.name).await else {
        return String::new();
    };
    let mut parts = Vec::new();
    for pod in &pods {
        let name = pod
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if let Some(log) = cluster.pod_log_tail(&target.namespace, name, 10).await {
            parts.push(format!("log of {name}: {}", last_lines(&log, 10)));
            continue;
        }
        let statuses = pod
            .pointer("/status/containerStatuses")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        for status in statuses {
            let Some(terminated) = status.pointer("/state/terminated") else {
                continue;
            };
            let message = terminated["message"].as_str().unwrap_or_default();
            let mut part = format!(
                "{name} exit {} {}",
                terminated["exitCode"],
                terminated["reason"].as_str().unwrap_or_default()
            );
            if !message.trim().is_empty() {
                part.push_str(&format!(": {}", last_lines(message, 5)));
            }
            parts.push(part);
        }
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!(" ({})", parts.join("; "))
    }
}

/// The last `count` non-empty lines of `text`, joined with ` | `.
fn last_lines(text: &str, count: usize) -> String {
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    lines[lines.len().saturating_sub(count)..].join(" | ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patches_test_the_resource_version_first() {
        let before = json!({"metadata": {"name": "q", "resourceVersion": "41", "managedFields": [1]}, "spec": {"hard": {"pods": "1"}}});
        let mut after = before.clone();
        after["spec"]["hard"]["pods"] = json!("8");
        let patch = guarded_patch(&before, &after);
        assert_eq!(
            patch,
            json!([
                {"op": "test", "path": "/metadata/resourceVersion", "value": "41"},
                {"op": "replace", "path": "/spec/hard/pods", "value": "8"}
            ])
        );
    }

    #[test]
    fn finalizer_removal_is_a_remove_op() {
        let before = json!({"metadata": {"name": "j", "resourceVersion": "5", "finalizers": ["bleater.io/hook-cleanup"]}});
        let mut after = before.clone();
        after["metadata"]
            .as_object_mut()
            .unwrap()
            .remove("finalizers");
        let patch = guarded_patch(&before, &after);
        assert_eq!(
            patch[1],
            json!({"op": "remove", "path": "/metadata/finalizers"})
        );
    }

    #[test]
    fn last_lines_keeps_the_tail() {
        assert_eq!(last_lines("a\n\nb\nc\nd\n", 2), "c | d");
        assert_eq!(last_lines("only\n", 5), "only");
    }

    #[test]
    fn preflight_name_differs_and_drops_server_fields() {
        let object = json!({"kind": "RoleBinding", "metadata": {"name": "rb", "uid": "u", "resourceVersion": "3"}});
        let copy = under_preflight_name(&object);
        assert_eq!(copy["metadata"], json!({"name": "rb-triage-preflight"}));
    }
}
