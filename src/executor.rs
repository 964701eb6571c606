//! The one place steps meet the cluster, for `repair` and `restore` alike: preview ->
//! confirm -> preflight -> backup -> apply -> verify, in that order, for every step, and
//! on a conflict one re-read and re-plan of that same step (by its id). Dry-run is a
//! mode of this executor (preview and preflight only), not a flag threaded through the
//! repairs. It is written against the [`Kube`] trait: the live cluster, or the
//! in-memory fake its tests run on.

use std::io::Write;
use std::time::Duration;

use serde_json::{Value, json};

use crate::backup::{AuditEntry, RunDir, replacing, restorable};
use crate::cluster::api::Kube;
use crate::cluster::write::{Deleted, WriteMode};
use crate::error::TriageError;
use crate::journal::{Ending, Entry, Intent, ObjectRef, Verb};
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

/// What the executor learns by reading the cluster again, from whoever planned the
/// steps (the namespace's signals for `repair`, the backups for `restore`).
#[expect(
    async_fn_in_trait,
    reason = "used with generics on a current-thread runtime"
)]
pub trait Reread {
    /// Reads again and plans the step with `step.id` anew from what is there now (after
    /// a conflict): never another step of the same signal. `None` when it no longer
    /// needs doing.
    async fn replan(&mut self, step: &Step) -> Result<Option<Step>, TriageError>;
    /// Reads again after the step was applied: did it achieve what it is for?
    async fn verify(&mut self, step: &Step) -> Result<Verdict, TriageError>;
}

/// A step's verification against a fresh read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// It holds; the words say what was seen (`ok (quota has room)`).
    Passed(String),
    /// It was applied but does not hold; the words say what is still wrong.
    Failed(String),
    /// Nothing to verify for this step on its own (a later step's signal).
    NotChecked,
    /// It was applied, but the read after it came back incomplete (a kind failed to
    /// list): no verdict either way; the words say what was lost.
    Unverified(String),
}

/// How a run of steps ended, when no error stopped it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ran {
    /// Every step done (applied and verified, or in dry run, checked by the server).
    Completed,
    /// The user said no at this step: nothing of it was changed.
    Declined { step: &'static str },
    /// This step was applied but its verification failed; the run stopped there.
    VerifyFailed { step: &'static str },
}

/// Runs `steps` in order: each previewed, confirmed, checked, backed up, applied and
/// verified. A conflict (another writer changed an object since it was read) reads
/// again and re-plans that step once, by its id; a second conflict is an error (exit
/// 7), as is a failure after part of a step was applied (exit 8).
pub async fn run_steps<K: Kube>(
    kube: &K,
    actor: &Actor,
    steps: &[Step],
    mode: &mut Mode<'_>,
    reread: &mut impl Reread,
    out: &mut dyn Write,
) -> Result<Ran, TriageError> {
    let total = steps.len();
    let applying = matches!(mode, Mode::Apply { .. });
    for (index, planned) in steps.iter().enumerate() {
        let mut step = planned.clone();
        let mut replanned = false;
        loop {
            match run_step(kube, actor, &step, index + 1, total, mode, out).await {
                Ok(StepOutcome::Done) => break,
                Ok(StepOutcome::Declined) => return Ok(Ran::Declined { step: step.id }),
                Err(TriageError::Conflict { message }) if !replanned => {
                    // Someone else wrote in between: read again, plan again, ask again.
                    let _ = writeln!(
                        out,
                        "conflict: {message}; reading the namespace again and re-planning `{}`",
                        step.id
                    );
                    replanned = true;
                    match reread.replan(&step).await? {
                        Some(fresh) if fresh.id == step.id => step = fresh,
                        _ => {
                            let _ = writeln!(out, "`{}` no longer needs repair", step.id);
                            break;
                        }
                    }
                }
                Err(error) => return Err(error),
            }
        }
        if !applying {
            continue;
        }
        match reread.verify(&step).await? {
            Verdict::Passed(seen) => {
                let _ = writeln!(out, "verify `{}`: {seen}", step.id);
            }
            Verdict::Failed(wrong) => {
                let _ = writeln!(out, "verify `{}`: FAILED after applying: {wrong}", step.id);
                return Ok(Ran::VerifyFailed { step: step.id });
            }
            Verdict::Unverified(why) => {
                let _ = writeln!(out, "verify `{}`: NOT VERIFIED: {why}", step.id);
                return Ok(Ran::VerifyFailed { step: step.id });
            }
            Verdict::NotChecked => {}
        }
    }
    Ok(Ran::Completed)
}

/// Runs one step. Errors mean the step did not complete; the message says what, if
/// anything, was changed.
pub async fn run_step<K: Kube>(
    kube: &K,
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
        preflight(kube, action, actor.database.as_ref(), actor.timeout).await?;
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
        if let Err(error) = apply(kube, actor, step, action, run, &mut versions, out).await {
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

async fn require<K: Kube>(
    kube: &K,
    verb: &str,
    target: &Target,
    name: Option<&str>,
) -> Result<(), TriageError> {
    let (group, resource) = resource_of(target.kind);
    let permission = kube
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
async fn still_as_planned<K: Kube>(
    kube: &K,
    target: &Target,
    before: &Value,
) -> Result<Value, TriageError> {
    let current = kube
        .get(target.kind, &target.namespace, &target.name)
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

/// Applies the [`guarded_patch`] from `before` to `after`. A 422 is a conflict when
/// the object moved on since `before`: the object is read again to tell.
// NB: the API server reports a failed JSON-patch `test` as a bare 422 (the patch
// handler wraps the json-patch library's error in NewGenericServerResponse): no reason
// or cause of its own, so only a fresh read of the resourceVersion says whether it
// was our guard, never the message text.
async fn patch_guarded<K: Kube>(
    kube: &K,
    target: &Target,
    before: &Value,
    after: &Value,
    mode: WriteMode,
) -> Result<Value, TriageError> {
    let patched = send_guarded_patch(kube, target, before, after, mode).await;
    conflict_if_moved_on(kube, target, before, patched).await
}

/// The request of [`patch_guarded`] alone (what the journal's result records: the
/// server's own answer).
async fn send_guarded_patch<K: Kube>(
    kube: &K,
    target: &Target,
    before: &Value,
    after: &Value,
    mode: WriteMode,
) -> Result<Value, TriageError> {
    kube.json_patch(
        target.kind,
        &target.namespace,
        &target.name,
        guarded_patch(before, after),
        mode,
    )
    .await
}

/// The read after a guarded patch's 422 that tells our guard (a conflict) from a
/// refusal of the change itself.
async fn conflict_if_moved_on<K: Kube>(
    kube: &K,
    target: &Target,
    before: &Value,
    patched: Result<Value, TriageError>,
) -> Result<Value, TriageError> {
    if let Err(TriageError::Refused { status, .. }) = &patched
        && status.code == 422
    {
        still_as_planned(kube, target, before).await?;
    }
    patched
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

async fn preflight<K: Kube>(
    kube: &K,
    action: &Action,
    database: Option<&crate::db::Access>,
    timeout: Option<Duration>,
) -> Result<(), TriageError> {
    let target = action.target();
    let (kind, ns, name) = (target.kind, target.namespace.as_str(), target.name.as_str());
    match action {
        Action::Patch { before, after, .. } => {
            require(kube, "patch", target, Some(name)).await?;
            still_as_planned(kube, target, before).await?;
            patch_guarded(kube, target, before, after, WriteMode::DryRun).await?;
        }
        Action::Create { object, .. } => {
            require(kube, "create", target, None).await?;
            kube.create(kind, ns, object, WriteMode::DryRun).await?;
        }
        Action::Delete { before, .. } => {
            require(kube, "delete", target, Some(name)).await?;
            let current = still_as_planned(kube, target, before).await?;
            let (uid, version) = uid_and_version(&current);
            kube.delete_exact(kind, ns, name, &uid, &version, WriteMode::DryRun)
                .await?;
        }
        Action::Replace { before, after, .. } => {
            require(kube, "update", target, Some(name)).await?;
            let current = still_as_planned(kube, target, before).await?;
            kube.replace(kind, ns, &replacing(&current, after), WriteMode::DryRun)
                .await?;
        }
        Action::Recreate { before, after, .. } => {
            require(kube, "delete", target, Some(name)).await?;
            require(kube, "create", target, None).await?;
            let current = still_as_planned(kube, target, before).await?;
            let (uid, version) = uid_and_version(&current);
            kube.delete_exact(kind, ns, name, &uid, &version, WriteMode::DryRun)
                .await?;
            // NB: the create must also pass RBAC's escalation check (a RoleBinding needs
            // `bind` on its role or all of the role's permissions): the dry run runs it,
            // so a create that would fail after the delete is refused here instead.
            kube.create(kind, ns, &under_preflight_name(after), WriteMode::DryRun)
                .await?;
        }
        Action::RunJob { object, .. } => {
            require(kube, "create", target, None).await?;
            kube.create(kind, ns, object, WriteMode::DryRun).await?;
        }
        Action::WriteSchema { before, .. } => {
            require(kube, "patch", target, Some(name)).await?;
            still_as_planned(kube, target, before).await?;
            // Read-only: proves the database answers before anything is written.
            observed_tables(kube, actor_database(database)?, timeout).await?;
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

async fn apply<K: Kube>(
    kube: &K,
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
            let current = still_as_planned(kube, target, before).await?;
            let saved = run.save(&current)?;
            let _ = writeln!(out, "backup: {}", saved.display());
            let (_, old) = uid_and_version(&current);
            let patched = run
                .journaled(
                    intent(step, Verb::Patch, target, Some(&old), Some(&saved)),
                    send_guarded_patch(kube, target, before, after, WriteMode::Apply),
                    new_version,
                )
                .await;
            let patched = conflict_if_moved_on(kube, target, before, patched).await?;
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
            let created = run
                .journaled(
                    intent(step, Verb::Create, target, None, None),
                    kube.create(kind, ns, object, WriteMode::Apply),
                    new_version,
                )
                .await?;
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
                    still_as_planned(kube, target, &object).await?
                }
                None => still_as_planned(kube, target, before).await?,
            };
            let saved = run.save(&current)?;
            let _ = writeln!(out, "backup: {}", saved.display());
            let (uid, version) = uid_and_version(&current);
            let outcome = run
                .journaled(
                    intent(step, Verb::Delete, target, Some(&version), Some(&saved)),
                    kube.delete_exact(kind, ns, name, &uid, &version, WriteMode::Apply),
                    |_| None,
                )
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
            if !kube.wait_gone(kind, ns, name, GONE_WITHIN).await? {
                return Err(still_there(target, &saved, run));
            }
            let _ = writeln!(out, "deleted {}", target.short());
        }
        Action::Replace { before, after, .. } => {
            let current = still_as_planned(kube, target, before).await?;
            let saved = run.save(&current)?;
            let _ = writeln!(out, "backup: {}", saved.display());
            let (_, old) = uid_and_version(&current);
            let replaced = run
                .journaled(
                    intent(step, Verb::Replace, target, Some(&old), Some(&saved)),
                    kube.replace(kind, ns, &replacing(&current, after), WriteMode::Apply),
                    new_version,
                )
                .await?;
            let (_, new) = uid_and_version(&replaced);
            audit(run, actor, step, "replace", target, Some(&old), Some(&new))?;
            let _ = writeln!(
                out,
                "replaced {} (resourceVersion {old} -> {new})",
                target.short()
            );
        }
        Action::Recreate { before, after, .. } => {
            recreate(kube, actor, step, target, before, after, run, out).await?;
        }
        Action::RunJob {
            object,
            timeout_seconds,
            unless_tables,
            after_jobs,
            ..
        } => {
            for earlier in after_jobs {
                let earlier = Target::new(Kind::Job, ns, earlier);
                let _ = writeln!(
                    out,
                    "{} from an earlier run is still running; waiting for it first",
                    earlier.short()
                );
                // Its verdict does not matter: the tables decide below whether ours runs.
                wait_for_job(kube, &earlier, Duration::from_secs(*timeout_seconds)).await?;
            }
            if !unless_tables.is_empty()
                && let Some(database) = actor.database.as_ref()
            {
                let tables = observed_tables(kube, database, actor.timeout).await?;
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
            let created = run
                .journaled(
                    intent(step, Verb::Create, target, None, None),
                    kube.create(kind, ns, object, WriteMode::Apply),
                    new_version,
                )
                .await?;
            let (_, new) = uid_and_version(&created);
            audit(run, actor, step, "create", target, None, Some(&new))?;
            let _ = writeln!(out, "created {}; waiting for it to finish", target.short());
            match wait_for_job(kube, target, Duration::from_secs(*timeout_seconds)).await? {
                JobVerdict::Succeeded => {
                    let _ = writeln!(out, "{} succeeded", target.short());
                }
                JobVerdict::Failed(why) => {
                    let tail = job_output(kube, target).await;
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
                kube,
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
            let current = still_as_planned(kube, target, before).await?;
            let saved = run.save(&current)?;
            let _ = writeln!(out, "backup: {}", saved.display());
            let mut after = current.clone();
            after["data"][version_key.as_str()] = Value::String(version.clone());
            after["data"][tables_key.as_str()] = Value::String(tables.join(","));
            let (_, old) = uid_and_version(&current);
            let patched = run
                .journaled(
                    intent(step, Verb::Patch, target, Some(&old), Some(&saved)),
                    send_guarded_patch(kube, target, &current, &after, WriteMode::Apply),
                    new_version,
                )
                .await;
            let patched = conflict_if_moved_on(kube, target, &current, patched).await?;
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

/// Delete and create again, for a change to an immutable field: the object is saved
/// first, deleted exactly (uid and resourceVersion preconditions), awaited until gone,
/// and created as `after`; if that create fails, the original is created again at once
/// from the backup so the object is never left missing (exit 8 either way: part of the
/// step was applied). One function so the crash-safe journal can wrap it whole.
#[allow(clippy::too_many_arguments)]
async fn recreate<K: Kube>(
    kube: &K,
    actor: &Actor,
    step: &Step,
    target: &Target,
    before: &Value,
    after: &Value,
    run: &mut RunDir,
    out: &mut dyn Write,
) -> Result<(), TriageError> {
    let (kind, ns, name) = (target.kind, target.namespace.as_str(), target.name.as_str());
    let current = still_as_planned(kube, target, before).await?;
    let saved = run.save(&current)?;
    let _ = writeln!(out, "backup: {}", saved.display());
    let (uid, version) = uid_and_version(&current);
    journal_recreate_begin(run, step, target, &uid, &saved, after)?;
    run.journaled(
        intent(step, Verb::Delete, target, Some(&version), Some(&saved)),
        kube.delete_exact(kind, ns, name, &uid, &version, WriteMode::Apply),
        |_| None,
    )
    .await?;
    audit(run, actor, step, "delete", target, Some(&version), None)?;
    if !kube.wait_gone(kind, ns, name, GONE_WITHIN).await? {
        return Err(still_there(target, &saved, run));
    }
    journal_recreate_deleted(run, step, target)?;
    pause_after_delete_for_tests();
    match run
        .journaled(
            intent(step, Verb::Create, target, None, Some(&saved)),
            kube.create(kind, ns, &restorable(after.clone()), WriteMode::Apply),
            new_version,
        )
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
            let restored = run
                .journaled(
                    intent(step, Verb::Create, target, None, Some(&saved)),
                    kube.create(kind, ns, &restorable(current.clone()), WriteMode::Apply),
                    new_version,
                )
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
    Ok(())
}

/// The journal's intent line of one write of `step` (`expected`: the resourceVersion
/// its precondition names; `backup`: the file saved before it).
fn intent(
    step: &Step,
    verb: Verb,
    target: &Target,
    expected: Option<&str>,
    backup: Option<&std::path::Path>,
) -> Intent {
    Intent {
        step: step.id.to_string(),
        verb,
        object: ObjectRef::of(target),
        expected_resource_version: expected.map(str::to_string),
        backup: backup.map(file_name),
    }
}

/// A backup's name in the run directory (the journal outlives where it lies).
fn file_name(path: &std::path::Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// The resourceVersion a write's answer carries, for its journal result.
pub(crate) fn new_version(written: &Value) -> Option<String> {
    written
        .pointer("/metadata/resourceVersion")
        .and_then(Value::as_str)
        .map(str::to_string)
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
        backup: file_name(backup),
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

async fn observed_tables<K: Kube>(
    kube: &K,
    database: &crate::db::Access,
    timeout: Option<Duration>,
) -> Result<Vec<String>, TriageError> {
    kube.database_tables(database, timeout).await
}

enum JobVerdict {
    Succeeded,
    Failed(String),
}

/// Polls the Job's conditions until Complete or Failed, or the deadline (a failure
/// too); a spinner shows while it runs when stderr is a terminal.
async fn wait_for_job<K: Kube>(
    kube: &K,
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
        let job = kube.get(Kind::Job, &target.namespace, &target.name).await?;
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
async fn job_output<K: Kube>(kube: &K, target: &Target) -> String {
    let Ok(pods) = kube.job_pods(&target.namespace, &target.name).await else {
        return String::new();
    };
    let mut parts = Vec::new();
    for pod in &pods {
        let name = pod
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if let Some(log) = kube.pod_log_tail(&target.namespace, name, 10).await {
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

/// The executor on the in-memory fake: what it writes, in which order, and what it
/// leaves alone when told no, when another writer interferes, or when a write fails.
#[cfg(test)]
pub(crate) mod on_the_fake {
    use std::collections::BTreeMap;
    use std::path::PathBuf;

    use super::*;
    use crate::cluster::fake::{FakeKube, status};
    use crate::finding::{Context, Finding};
    use crate::repair::test_support::fixture_context;
    use crate::repair::{RepairOptions, RepairPlan, plan_repairs, replan_step};

    /// The incident fixture's objects, as the fake's cluster.
    pub fn incident_cluster() -> FakeKube {
        FakeKube::new(incident_objects())
    }

    fn incident_objects() -> Vec<Value> {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/examples/bleater-incident.yaml"
        );
        let list: Value = serde_saphyr::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let known = list["items"].as_array().unwrap().iter().filter(|item| {
            Kind::from_type(
                item["apiVersion"].as_str().unwrap_or_default(),
                item["kind"].as_str().unwrap_or_default(),
            )
            .is_some()
        });
        known.cloned().collect()
    }

    struct Incident {
        context: Context<'static>,
        findings: Vec<Finding>,
        options: RepairOptions,
        plan: RepairPlan,
    }

    fn incident() -> Incident {
        let context = fixture_context("bleater-incident.yaml", "bleater");
        let findings: Vec<Finding> = crate::signals::ALL
            .iter()
            .map(|s| s.evaluate(&context))
            .collect();
        let options = RepairOptions {
            now: context.now,
            ..RepairOptions::default()
        };
        let plan = plan_repairs(&context, &findings, &options, &|_, _| true);
        Incident {
            context,
            findings,
            options,
            plan,
        }
    }

    impl Incident {
        fn steps(&self, ids: &[&str]) -> Vec<Step> {
            ids.iter()
                .map(|id| {
                    self.plan
                        .steps
                        .iter()
                        .find(|s| s.id == *id)
                        .unwrap()
                        .clone()
                })
                .collect()
        }
    }

    /// Re-plans from the fixture (what a fresh read of an unchanged namespace gives)
    /// and verifies as told; records which steps it was asked to re-plan.
    struct FixtureReread<'a> {
        incident: &'a Incident,
        verdicts: BTreeMap<&'static str, Verdict>,
        replanned: Vec<&'static str>,
    }

    impl Reread for FixtureReread<'_> {
        async fn replan(&mut self, step: &Step) -> Result<Option<Step>, TriageError> {
            self.replanned.push(step.id);
            let incident = self.incident;
            Ok(replan_step(
                &incident.context,
                &incident.findings,
                &incident.options,
                step,
            ))
        }

        async fn verify(&mut self, step: &Step) -> Result<Verdict, TriageError> {
            Ok(self
                .verdicts
                .get(step.id)
                .cloned()
                .unwrap_or(Verdict::NotChecked))
        }
    }

    /// Answers each question in turn, and remembers the questions.
    pub struct Answers {
        pub answers: Vec<bool>,
        pub asked: Vec<String>,
    }

    impl Answers {
        pub fn new(answers: &[bool]) -> Self {
            Self {
                answers: answers.to_vec(),
                asked: Vec::new(),
            }
        }
    }

    impl Confirm for Answers {
        fn confirm(&mut self, question: &str) -> Result<bool, TriageError> {
            self.asked.push(question.to_string());
            Ok(!self.answers.is_empty() && self.answers.remove(0))
        }
    }

    /// A fresh private directory under the system's temp dir.
    pub fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("triage-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    pub fn block_on<F: std::future::Future>(future: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap()
            .block_on(future)
    }

    fn actor() -> Actor {
        Actor {
            context: "fake-context".into(),
            user: "fake-user".into(),
            database: Some(crate::db::Access::Direct(
                crate::db::DatabaseTarget::from_url("postgres://u@127.0.0.1:1/bleater", None)
                    .unwrap(),
            )),
            timeout: None,
        }
    }

    struct Outcome {
        ran: Result<Ran, TriageError>,
        out: String,
        run: RunDir,
        replanned: Vec<&'static str>,
        asked: Vec<String>,
    }

    fn apply(
        fake: &FakeKube,
        incident: &Incident,
        steps: &[Step],
        answers: &[bool],
        verdicts: BTreeMap<&'static str, Verdict>,
        name: &str,
    ) -> Outcome {
        let mut run =
            RunDir::create(&scratch(name), "bleater", jiff::Timestamp::UNIX_EPOCH).unwrap();
        let mut answers = Answers::new(answers);
        let mut reread = FixtureReread {
            incident,
            verdicts,
            replanned: Vec::new(),
        };
        let mut out = Vec::new();
        let mut mode = Mode::Apply {
            confirm: &mut answers,
            run: &mut run,
        };
        let ran = block_on(run_steps(
            fake,
            &actor(),
            steps,
            &mut mode,
            &mut reread,
            &mut out,
        ));
        Outcome {
            ran,
            out: String::from_utf8(out).unwrap(),
            run,
            replanned: reread.replanned,
            asked: answers.asked,
        }
    }

    fn audit_verbs(run: &RunDir) -> Vec<String> {
        std::fs::read_to_string(run.path.join("audit.jsonl"))
            .unwrap_or_default()
            .lines()
            .map(|line| {
                let entry: Value = serde_json::from_str(line).unwrap();
                format!(
                    "{} {} {}/{}",
                    entry["step"].as_str().unwrap(),
                    entry["verb"].as_str().unwrap(),
                    entry["kind"].as_str().unwrap(),
                    entry["name"].as_str().unwrap()
                )
            })
            .collect()
    }

    /// The run's journal, one line per entry: `intent STEP VERB kind/name expects RV
    /// [backup]`, `result STEP VERB kind/name applied RV|refused CODE|unknown`, and the
    /// recreate's own events.
    fn journal_lines(run: &RunDir) -> Vec<String> {
        use crate::journal::Outcome;
        crate::backup::read_journal(&run.path)
            .unwrap()
            .iter()
            .map(|entry| match entry {
                Entry::Intent(intent) => format!(
                    "intent {} {} {} expects {}{}",
                    intent.step,
                    intent.verb.name(),
                    intent.object.short(),
                    intent.expected_resource_version.as_deref().unwrap_or("-"),
                    if intent.backup.is_some() {
                        " backup"
                    } else {
                        ""
                    }
                ),
                Entry::Result(result) => format!(
                    "result {} {} {} {}",
                    result.step,
                    result.verb.name(),
                    result.object.short(),
                    match &result.outcome {
                        Outcome::Applied { resource_version } =>
                            format!("applied {}", resource_version.as_deref().unwrap_or("-")),
                        Outcome::Refused { code } => format!("refused {code}"),
                        Outcome::Unknown { .. } => "unknown".to_string(),
                    }
                ),
                Entry::RecreateBegin { object, .. } => format!("recreate-begin {}", object.short()),
                Entry::RecreateDeleted { object, .. } => {
                    format!("recreate-deleted {}", object.short())
                }
                Entry::RecreateEnd { object, ending, .. } => {
                    format!("recreate-end {} {ending:?}", object.short())
                }
                Entry::RecreateResolved { object, .. } => {
                    format!("recreate-resolved {}", object.short())
                }
            })
            .collect()
    }

    fn version_of(fake: &FakeKube, kind: Kind, name: &str) -> String {
        let object = fake.object(kind, "bleater", name).unwrap();
        uid_and_version(&object).1
    }

    #[test]
    fn every_write_has_its_intent_before_and_its_result_after() {
        let incident = incident();
        let fake = incident_cluster();
        let quota_before = version_of(&fake, Kind::ResourceQuota, "bleater-quota");
        let lock_before = version_of(&fake, Kind::ConfigMap, "hook-reconciliation-lock");
        let binding_before = version_of(&fake, Kind::RoleBinding, "migration-runner-binding");
        let steps = incident.steps(&["quota", "lock", "rbac"]);
        let outcome = apply(
            &fake,
            &incident,
            &steps,
            &[true, true, true],
            BTreeMap::new(),
            "journal-all",
        );
        assert_eq!(outcome.ran.unwrap(), Ran::Completed, "{}", outcome.out);
        let quota = version_of(&fake, Kind::ResourceQuota, "bleater-quota");
        let lock = version_of(&fake, Kind::ConfigMap, "hook-reconciliation-lock");
        let binding = version_of(&fake, Kind::RoleBinding, "migration-runner-binding");
        assert_eq!(
            journal_lines(&outcome.run),
            [
                format!(
                    "intent quota patch resourcequota/bleater-quota expects {quota_before} backup"
                ),
                format!("result quota patch resourcequota/bleater-quota applied {quota}"),
                format!(
                    "intent lock patch configmap/hook-reconciliation-lock expects {lock_before} backup"
                ),
                format!("result lock patch configmap/hook-reconciliation-lock applied {lock}"),
                "recreate-begin rolebinding/migration-runner-binding".to_string(),
                format!(
                    "intent rbac delete rolebinding/migration-runner-binding expects {binding_before} backup"
                ),
                "result rbac delete rolebinding/migration-runner-binding applied -".to_string(),
                "recreate-deleted rolebinding/migration-runner-binding".to_string(),
                "intent rbac create rolebinding/migration-runner-binding expects - backup"
                    .to_string(),
                format!(
                    "result rbac create rolebinding/migration-runner-binding applied {binding}"
                ),
                "recreate-end rolebinding/migration-runner-binding Created".to_string(),
            ]
        );
        // One intent per write the cluster saw, none for the dry runs.
        let intents: Vec<String> = journal_lines(&outcome.run)
            .iter()
            .filter_map(|l| l.strip_prefix("intent "))
            .map(|l| l.split(' ').skip(1).take(2).collect::<Vec<_>>().join(" "))
            .collect();
        assert_eq!(intents, fake.writes());
        assert!(
            crate::journal::undecided(&crate::backup::read_journal(&outcome.run.path).unwrap())
                .is_empty()
        );
    }

    #[test]
    fn a_refused_write_has_a_refused_result() {
        let incident = incident();
        let fake = incident_cluster();
        let refused = status(422, "Invalid", "admission webhook denied the request", &[]);
        fake.fail(
            "create",
            "migration-runner-binding",
            Some(WriteMode::Apply),
            refused,
        );
        let outcome = apply(
            &fake,
            &incident,
            &incident.steps(&["rbac"]),
            &[true],
            BTreeMap::new(),
            "journal-refused",
        );
        assert!(outcome.ran.is_err());
        let put_back = version_of(&fake, Kind::RoleBinding, "migration-runner-binding");
        let lines = journal_lines(&outcome.run);
        assert_eq!(
            lines[4..],
            [
                "intent rbac create rolebinding/migration-runner-binding expects - backup"
                    .to_string(),
                "result rbac create rolebinding/migration-runner-binding refused 422".to_string(),
                "intent rbac create rolebinding/migration-runner-binding expects - backup"
                    .to_string(),
                format!(
                    "result rbac create rolebinding/migration-runner-binding applied {put_back}"
                ),
                "recreate-end rolebinding/migration-runner-binding OriginalPutBack".to_string(),
            ],
            "{lines:#?}"
        );
    }

    /// The schema ConfigMap write is journaled; a conflict is a refused 409, and the
    /// re-planned write has its own intent and result.
    #[test]
    fn the_schema_write_is_journaled_through_a_conflict() {
        let incident = incident();
        let fake = incident_cluster().with_tables(&["bleat_media", "bleats", "reactions", "users"]);
        let before = version_of(&fake, Kind::ConfigMap, "bleat-db-schema");
        let conflict = status(409, "Conflict", "the object has been modified", &[]);
        fake.fail("patch", "bleat-db-schema", Some(WriteMode::Apply), conflict);
        let outcome = apply(
            &fake,
            &incident,
            &incident.steps(&["schema"]),
            &[true, true],
            BTreeMap::new(),
            "journal-schema",
        );
        assert_eq!(outcome.ran.unwrap(), Ran::Completed, "{}", outcome.out);
        let after = version_of(&fake, Kind::ConfigMap, "bleat-db-schema");
        assert_eq!(
            journal_lines(&outcome.run),
            [
                format!("intent schema patch configmap/bleat-db-schema expects {before} backup"),
                "result schema patch configmap/bleat-db-schema refused 409".to_string(),
                format!("intent schema patch configmap/bleat-db-schema expects {before} backup"),
                format!("result schema patch configmap/bleat-db-schema applied {after}"),
            ]
        );
    }

    /// A write that timed out is `unknown` in the journal, and the next run (a
    /// restore of that run, here a dry run) names it before planning.
    #[test]
    fn a_timed_out_write_is_unknown_and_reported_by_the_next_run() {
        let incident = incident();
        let fake = incident_cluster();
        let before = version_of(&fake, Kind::ResourceQuota, "bleater-quota");
        fake.time_out("patch", "bleater-quota", Some(WriteMode::Apply));
        let outcome = apply(
            &fake,
            &incident,
            &incident.steps(&["quota"]),
            &[true],
            BTreeMap::new(),
            "journal-timeout",
        );
        let error = outcome.ran.unwrap_err();
        assert_eq!(
            error.exit_code(),
            crate::error::exit::UNREACHABLE,
            "{error}"
        );
        assert_eq!(
            journal_lines(&outcome.run),
            [
                format!("intent quota patch resourcequota/bleater-quota expects {before} backup"),
                "result quota patch resourcequota/bleater-quota unknown".to_string(),
            ]
        );
        let mut out = Vec::new();
        let backups = crate::backup::read_run(&outcome.run.path).unwrap();
        block_on(crate::commands::restore::restore(
            &fake,
            &outcome.run.path,
            &backups,
            false,
            None,
            None,
            &mut out,
        ))
        .unwrap();
        let out = String::from_utf8(out).unwrap();
        let line = out
            .lines()
            .find(|l| l.starts_with("undecided:"))
            .unwrap_or_else(|| panic!("{out}"));
        assert_eq!(
            line,
            format!(
                "undecided: run `{}` step `quota`: the patch of resourcequota/bleater-quota in `bleater` may or may not have gone through (cannot reach `https://fake` while patching ResourceQuota `bleater-quota`: operation timed out); check `kubectl get resourcequota bleater-quota -n bleater -o yaml`: if its resourceVersion is still {before}, the patch did not go through; its backup is `001-resourcequota-bleater-quota.yaml` in the run directory",
                outcome.run.id
            )
        );
        assert_eq!(out.matches("undecided:").count(), 1, "{out}");
    }

    /// Killed mid-request: the journal ends with an intent (and a torn line); the next
    /// repair on the namespace reads the newest run and names the write.
    #[test]
    fn an_unfinished_intent_is_reported_by_the_next_run() {
        let incident = incident();
        let fake = incident_cluster();
        let outcome = apply(
            &fake,
            &incident,
            &incident.steps(&["quota", "lock"]),
            &[true, true],
            BTreeMap::new(),
            "journal-killed",
        );
        assert_eq!(outcome.ran.unwrap(), Ran::Completed);
        // Cut the journal as a SIGKILL during the lock's patch would: its intent on
        // disk, its result half written.
        let path = outcome.run.path.join("journal.jsonl");
        let text = std::fs::read_to_string(&path).unwrap();
        let last = text.trim_end().rfind('\n').unwrap();
        std::fs::write(
            &path,
            format!("{}{}", &text[..=last], &text[last + 1..last + 20]),
        )
        .unwrap();
        let root = outcome.run.path.parent().unwrap();
        let newest = crate::recovery::newest_run(root, "bleater").unwrap();
        assert_eq!(newest, outcome.run.path);
        let mut out = Vec::new();
        assert_eq!(
            crate::recovery::report_undecided(&newest, &mut out).unwrap(),
            1
        );
        let out = String::from_utf8(out).unwrap();
        assert!(
            out.starts_with(&format!(
                "undecided: run `{}` step `lock`: the patch of configmap/hook-reconciliation-lock in `bleater` may or may not have gone through (the run stopped before its answer came); check `kubectl get configmap hook-reconciliation-lock -n bleater -o yaml`: if its resourceVersion is still ",
                outcome.run.id
            )),
            "{out}"
        );
        assert_eq!(out.lines().count(), 1, "{out}");
    }

    #[test]
    fn each_step_is_asked_checked_backed_up_and_applied_before_the_next() {
        let incident = incident();
        let fake = incident_cluster();
        let steps = incident.steps(&["quota", "lock"]);
        let outcome = apply(
            &fake,
            &incident,
            &steps,
            &[true, true],
            BTreeMap::new(),
            "order",
        );
        assert_eq!(outcome.ran.unwrap(), Ran::Completed);
        assert_eq!(
            *fake.calls.borrow(),
            [
                "get resourcequota/bleater-quota",
                "patch dry-run resourcequota/bleater-quota",
                "get resourcequota/bleater-quota",
                "patch resourcequota/bleater-quota",
                "get configmap/hook-reconciliation-lock",
                "patch dry-run configmap/hook-reconciliation-lock",
                "get configmap/hook-reconciliation-lock",
                "patch configmap/hook-reconciliation-lock",
            ]
        );
        assert_eq!(outcome.asked.len(), 2);
        assert!(
            outcome.asked[0]
                .starts_with("Apply step `quota` as `fake-user` on context `fake-context`")
        );
        let quota = fake
            .object(Kind::ResourceQuota, "bleater", "bleater-quota")
            .unwrap();
        assert_eq!(quota["spec"]["hard"]["pods"], "21");
        assert_eq!(
            audit_verbs(&outcome.run),
            [
                "quota patch ResourceQuota/bleater-quota",
                "lock patch ConfigMap/hook-reconciliation-lock"
            ]
        );
        let backups = crate::backup::read_run(&outcome.run.path).unwrap();
        assert_eq!(backups.len(), 2);
        assert_eq!(backups[0].1["spec"]["hard"]["pods"], "1");
    }

    #[test]
    fn declining_writes_nothing_and_checks_nothing() {
        let incident = incident();
        let fake = incident_cluster();
        let steps = incident.steps(&["quota", "lock"]);
        let outcome = apply(
            &fake,
            &incident,
            &steps,
            &[false],
            BTreeMap::new(),
            "decline",
        );
        assert_eq!(outcome.ran.unwrap(), Ran::Declined { step: "quota" });
        assert!(fake.calls.borrow().is_empty(), "{:?}", fake.calls.borrow());
        assert!(audit_verbs(&outcome.run).is_empty());
        assert!(
            outcome
                .out
                .contains("stopped at `quota`: nothing of this step was changed")
        );
    }

    /// An earlier run's migration Job, still running when this run read the namespace
    /// (that run was cut off while it waited): waited for before anything else, and
    /// once it has created the tables no second migration runs against the database.
    #[test]
    fn migrate_waits_for_an_earlier_runs_job_and_runs_no_second_one() {
        let incident = incident();
        let earlier = json!({
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {"name": "bleat-schema-migrate-earlier", "namespace": "bleater",
                         "labels": {"triage.dev/step": "migrate"}},
            "status": {"conditions": [{"type": "Complete", "status": "True"}]}
        });
        let fake = FakeKube::new(incident_objects().into_iter().chain([earlier])).with_tables(&[
            "bleat_media",
            "bleats",
            "reactions",
            "users",
        ]);
        let mut steps = incident.steps(&["migrate"]);
        let Action::RunJob { after_jobs, .. } = &mut steps[0].actions[0] else {
            panic!("{:?}", steps[0].actions)
        };
        *after_jobs = vec!["bleat-schema-migrate-earlier".to_string()];
        let outcome = apply(
            &fake,
            &incident,
            &steps,
            &[true],
            BTreeMap::new(),
            "migrate-earlier",
        );
        assert_eq!(outcome.ran.unwrap(), Ran::Completed, "{}", outcome.out);
        assert!(
            outcome.out.contains(
                "job/bleat-schema-migrate-earlier from an earlier run is still running; waiting for it first"
            ),
            "{}",
            outcome.out
        );
        assert!(
            outcome
                .out
                .contains("the database already has bleat_media, reactions"),
            "{}",
            outcome.out
        );
        assert!(fake.writes().is_empty(), "{:?}", fake.writes());
    }

    #[test]
    fn a_conflict_on_schema_replans_schema_not_migrate() {
        let incident = incident();
        let fake = incident_cluster().with_tables(&["bleat_media", "bleats", "reactions", "users"]);
        let conflict = status(409, "Conflict", "the object has been modified", &[]);
        fake.fail("patch", "bleat-db-schema", Some(WriteMode::Apply), conflict);
        let steps = incident.steps(&["schema"]);
        let outcome = apply(
            &fake,
            &incident,
            &steps,
            &[true, true],
            BTreeMap::new(),
            "schema",
        );
        assert_eq!(outcome.ran.unwrap(), Ran::Completed, "{}", outcome.out);
        assert_eq!(outcome.replanned, ["schema"]);
        assert!(
            outcome
                .out
                .contains("reading the namespace again and re-planning `schema`"),
            "{}",
            outcome.out
        );
        // Asked again for the re-planned step, which is `schema` again.
        assert_eq!(outcome.asked.len(), 2);
        assert!(outcome.asked[1].starts_with("Apply step `schema`"));
        assert_eq!(
            fake.writes(),
            [
                "patch configmap/bleat-db-schema",
                "patch configmap/bleat-db-schema"
            ]
        );
        assert!(!fake.calls.borrow().iter().any(|c| c.contains("job/")));
        let schema = fake
            .object(Kind::ConfigMap, "bleater", "bleat-db-schema")
            .unwrap();
        assert_eq!(schema["data"]["version"], "3");
        assert_eq!(
            audit_verbs(&outcome.run),
            ["schema patch ConfigMap/bleat-db-schema"]
        );
    }

    #[test]
    fn a_conflict_that_persists_after_replanning_is_exit_7_and_writes_nothing() {
        let incident = incident();
        let fake = incident_cluster();
        // Another writer moved the quota on: the fresh plan (the fixture) is stale too.
        fake.touch(Kind::ResourceQuota, "bleater", "bleater-quota");
        let steps = incident.steps(&["quota"]);
        let outcome = apply(
            &fake,
            &incident,
            &steps,
            &[true, true],
            BTreeMap::new(),
            "conflict",
        );
        let error = outcome.ran.unwrap_err();
        assert_eq!(error.exit_code(), crate::error::exit::CONFLICT, "{error}");
        assert_eq!(outcome.replanned, ["quota"]);
        assert!(fake.writes().is_empty(), "{:?}", fake.writes());
    }

    #[test]
    fn a_failed_verification_stops_before_the_next_step() {
        let incident = incident();
        let fake = incident_cluster();
        let steps = incident.steps(&["quota", "lock"]);
        let verdicts = BTreeMap::from([("quota", Verdict::Failed("pods still refused".into()))]);
        let outcome = apply(&fake, &incident, &steps, &[true, true], verdicts, "verify");
        assert_eq!(outcome.ran.unwrap(), Ran::VerifyFailed { step: "quota" });
        assert!(
            outcome
                .out
                .contains("verify `quota`: FAILED after applying: pods still refused")
        );
        assert_eq!(fake.writes(), ["patch resourcequota/bleater-quota"]);
        assert_eq!(outcome.asked.len(), 1);
    }

    #[test]
    fn a_refused_recreate_puts_the_original_back() {
        let incident = incident();
        let fake = incident_cluster();
        let refused = status(422, "Invalid", "admission webhook denied the request", &[]);
        fake.fail(
            "create",
            "migration-runner-binding",
            Some(WriteMode::Apply),
            refused,
        );
        let steps = incident.steps(&["rbac"]);
        let outcome = apply(
            &fake,
            &incident,
            &steps,
            &[true],
            BTreeMap::new(),
            "recreate",
        );
        let error = outcome.ran.unwrap_err();
        assert_eq!(error.exit_code(), crate::error::exit::PARTIALLY_APPLIED);
        assert!(
            error
                .to_string()
                .contains("created the original again from the backup"),
            "{error}"
        );
        assert_eq!(
            fake.writes(),
            [
                "delete rolebinding/migration-runner-binding",
                "create rolebinding/migration-runner-binding",
                "create rolebinding/migration-runner-binding",
            ]
        );
        let binding = fake
            .object(Kind::RoleBinding, "bleater", "migration-runner-binding")
            .unwrap();
        assert_eq!(binding["roleRef"]["name"], "migration-runner-role-v1");
        assert_eq!(
            audit_verbs(&outcome.run),
            [
                "rbac delete RoleBinding/migration-runner-binding",
                "rbac create RoleBinding/migration-runner-binding"
            ]
        );
    }

    #[test]
    fn a_recreate_deletes_then_creates_the_new_version() {
        let incident = incident();
        let fake = incident_cluster();
        let steps = incident.steps(&["rbac"]);
        let outcome = apply(&fake, &incident, &steps, &[true], BTreeMap::new(), "rebind");
        assert_eq!(outcome.ran.unwrap(), Ran::Completed);
        // The create is dry-run under another name first: the name is still taken.
        assert!(fake.calls.borrow().contains(
            &"create dry-run rolebinding/migration-runner-binding-triage-preflight".to_string()
        ));
        let binding = fake
            .object(Kind::RoleBinding, "bleater", "migration-runner-binding")
            .unwrap();
        assert_eq!(binding["roleRef"]["name"], "migration-runner-role-v2");
    }

    #[test]
    fn a_forbidden_verb_stops_in_preflight_before_any_write() {
        let incident = incident();
        let fake = incident_cluster().deny("create", "rolebindings");
        let steps = incident.steps(&["rbac"]);
        let outcome = apply(
            &fake,
            &incident,
            &steps,
            &[true],
            BTreeMap::new(),
            "forbidden",
        );
        let error = outcome.ran.unwrap_err();
        assert_eq!(error.exit_code(), crate::error::exit::FORBIDDEN);
        assert!(fake.writes().is_empty());
    }

    #[test]
    fn a_dry_run_asks_nothing_and_writes_nothing() {
        let incident = incident();
        let fake = incident_cluster();
        let steps = incident.steps(&["quota", "rbac", "lock"]);
        let mut reread = FixtureReread {
            incident: &incident,
            verdicts: BTreeMap::new(),
            replanned: Vec::new(),
        };
        let mut out = Vec::new();
        let ran = block_on(run_steps(
            &fake,
            &actor(),
            &steps,
            &mut Mode::DryRun,
            &mut reread,
            &mut out,
        ));
        assert_eq!(ran.unwrap(), Ran::Completed);
        assert!(fake.writes().is_empty(), "{:?}", fake.writes());
        let out = String::from_utf8(out).unwrap();
        assert_eq!(out.matches("dry run: `").count(), 3, "{out}");
    }

    /// The error lines the executor's refusals and recoveries end in, as the user sees
    /// them (each from its real path on the fake).
    #[test]
    fn executor_error_lines() {
        let incident = incident();
        let line = |error: TriageError, run: &RunDir| {
            let text = crate::error::Report(&anyhow::Error::new(error)).to_string();
            text.replace(&run.path.display().to_string(), "RUN_DIR")
        };
        let mut lines = Vec::new();

        let fake = incident_cluster().deny("create", "rolebindings");
        let outcome = apply(
            &fake,
            &incident,
            &incident.steps(&["rbac"]),
            &[true],
            BTreeMap::new(),
            "lines-4",
        );
        lines.push(line(outcome.ran.unwrap_err(), &outcome.run));

        let fake = incident_cluster();
        fake.touch(Kind::ResourceQuota, "bleater", "bleater-quota");
        let outcome = apply(
            &fake,
            &incident,
            &incident.steps(&["quota"]),
            &[true, true],
            BTreeMap::new(),
            "lines-7",
        );
        lines.push(line(outcome.ran.unwrap_err(), &outcome.run));

        let fake = incident_cluster();
        let refused = status(
            422,
            "Invalid",
            "admission webhook \"policy\" denied the request",
            &[],
        );
        fake.fail(
            "create",
            "migration-runner-binding",
            Some(WriteMode::Apply),
            refused,
        );
        let outcome = apply(
            &fake,
            &incident,
            &incident.steps(&["rbac"]),
            &[true],
            BTreeMap::new(),
            "lines-8",
        );
        lines.push(line(outcome.ran.unwrap_err(), &outcome.run));

        let fake = incident_cluster();
        let taken = status(
            409,
            "AlreadyExists",
            "networkpolicies.networking.k8s.io \"bleater-allow-egress-essentials\" already exists",
            &[],
        );
        fake.fail(
            "create",
            "bleater-allow-egress-essentials",
            Some(WriteMode::Apply),
            taken,
        );
        let outcome = apply(
            &fake,
            &incident,
            &incident.steps(&["egress"]),
            &[true],
            BTreeMap::new(),
            "lines-2",
        );
        lines.push(line(outcome.ran.unwrap_err(), &outcome.run));

        insta::assert_snapshot!(lines.join("\n"));
    }

    /// Another writer between the preflight's read and the patch: the resourceVersion
    /// `test` fails (a bare 422), a fresh read shows the object moved on, so it is a
    /// conflict, re-planned once like any other.
    #[test]
    fn a_failed_resource_version_test_is_a_conflict_by_a_fresh_read() {
        let incident = incident();
        let fake = incident_cluster();
        fake.interfere("patch", "bleater-quota", Some(WriteMode::Apply));
        let steps = incident.steps(&["quota"]);
        let outcome = apply(
            &fake,
            &incident,
            &steps,
            &[true, true],
            BTreeMap::new(),
            "test-op",
        );
        // The re-plan (from the fixture) is stale too: exit 7, nothing overwritten.
        let error = outcome.ran.unwrap_err();
        assert_eq!(error.exit_code(), crate::error::exit::CONFLICT, "{error}");
        assert_eq!(outcome.replanned, ["quota"]);
        let quota = fake
            .object(Kind::ResourceQuota, "bleater", "bleater-quota")
            .unwrap();
        assert_eq!(quota["spec"]["hard"]["pods"], "1");
    }

    /// A 422 on an object nobody touched is the server refusing the change itself:
    /// reported as it is (exit 2), not taken for a conflict, whatever its text says.
    #[test]
    fn a_refused_patch_of_an_unchanged_object_is_not_a_conflict() {
        let incident = incident();
        let fake = incident_cluster();
        let invalid = status(
            422,
            "Invalid",
            "spec.hard: the latest test value is invalid",
            &[],
        );
        fake.fail("patch", "bleater-quota", Some(WriteMode::Apply), invalid);
        let steps = incident.steps(&["quota"]);
        let outcome = apply(
            &fake,
            &incident,
            &steps,
            &[true],
            BTreeMap::new(),
            "invalid",
        );
        let error = outcome.ran.unwrap_err();
        assert_eq!(error.exit_code(), crate::error::exit::USAGE, "{error}");
        assert!(outcome.replanned.is_empty());
    }
}
