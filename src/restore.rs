//! `restore`'s steps: every backed-up object becomes a step the executor runs like a
//! repair's (preview, confirm, server dry run, backup of what it overwrites, audit):
//! create it when it is missing, replace it when it differs (`--overwrite`), delete and
//! create it when the API server says a field that differs cannot change (never a
//! ResourceQuota or NetworkPolicy). Reads and dry runs only; nothing here writes.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::backup::{replacing, restorable};
use crate::cluster::api::Kube;
use crate::cluster::write::WriteMode;
use crate::error::{TriageError, immutable_fields};
use crate::executor::{Reread, Verdict};
use crate::repair::{Action, Step, Target, guard};
use crate::snapshot::Kind;

/// The step id of every restore step (`--only`/`--skip` do not apply to restore).
pub const STEP_ID: &str = "restore";

/// What restoring one backup takes, before it is asked.
#[derive(Debug, Clone, PartialEq)]
pub enum Planned {
    Step(Step),
    /// Nothing to write; the line says why (`kept ...`, `... is as backed up`).
    Nothing(String),
}

/// The backups of a run, each object once: an object backed up twice in a run
/// (patched, then deleted) is restored to its first backup, the state before the run
/// touched it.
pub fn first_backups(backups: Vec<(PathBuf, Value)>) -> Vec<(PathBuf, Value)> {
    let mut seen = Vec::new();
    backups
        .into_iter()
        .filter(|(_, object)| {
            let key = (
                object["kind"].clone(),
                object.pointer("/metadata/namespace").cloned(),
                object.pointer("/metadata/name").cloned(),
            );
            let first = !seen.contains(&key);
            seen.push(key);
            first
        })
        .collect()
}

/// The object a backup holds.
pub fn target_of(path: &Path, backup: &Value) -> Result<Target, TriageError> {
    let api_version = backup["apiVersion"].as_str().unwrap_or_default();
    let kind_name = backup["kind"].as_str().unwrap_or_default();
    let kind = Kind::from_type(api_version, kind_name).ok_or_else(|| {
        TriageError::input(
            format!(
                "backup `{}` holds a {kind_name}, which triage does not restore",
                path.display()
            ),
            None,
        )
    })?;
    let text = |pointer: &str| {
        backup
            .pointer(pointer)
            .and_then(Value::as_str)
            .unwrap_or_default()
    };
    Ok(Target::new(
        kind,
        text("/metadata/namespace"),
        text("/metadata/name"),
    ))
}

/// Whether `live` already holds everything `manifest` says (the server may add
/// defaults and its own metadata).
pub fn holds(live: &Value, manifest: &Value) -> bool {
    match (live, manifest) {
        (Value::Object(live), Value::Object(wanted)) => wanted
            .iter()
            .all(|(key, value)| live.get(key).is_some_and(|have| holds(have, value))),
        (live, wanted) => live == wanted,
    }
}

/// Plans the restore of one backup from the object as it is now.
pub async fn plan_one<K: Kube>(
    kube: &K,
    path: &Path,
    backup: &Value,
    overwrite: bool,
) -> Result<Planned, TriageError> {
    let target = target_of(path, backup)?;
    let manifest = restorable(backup.clone());
    let mut step = Step {
        id: STEP_ID,
        signal: STEP_ID,
        title: format!("put back {} from its backup", target.short()),
        reason: format!("backup `{}`", path.display()),
        unblocks: Vec::new(),
        warnings: Vec::new(),
        actions: Vec::new(),
    };
    let live = kube
        .get(target.kind, &target.namespace, &target.name)
        .await?;
    let Some(live) = live else {
        step.actions.push(Action::Create {
            target,
            object: manifest,
        });
        return Ok(Planned::Step(step));
    };
    if holds(&restorable(live.clone()), &manifest) {
        return Ok(Planned::Nothing(format!(
            "{} is as backed up: nothing to restore",
            target.short()
        )));
    }
    if !overwrite {
        return Ok(Planned::Nothing(format!(
            "kept {}: it exists (pass --overwrite to replace it with the backup)",
            target.short()
        )));
    }
    // Ask the server whether a replace would do (dry run): its structured refusal says
    // when a field that differs cannot change, and only then is it delete + create.
    let body = replacing(&live, &manifest);
    match kube
        .replace(target.kind, &target.namespace, &body, WriteMode::DryRun)
        .await
    {
        Ok(_) => step.actions.push(Action::Replace {
            target,
            before: live,
            after: manifest,
        }),
        Err(error) => {
            let Some(fields) = immutable_fields(&error) else {
                return Err(error);
            };
            step.warnings.push(format!(
                "{} cannot change in place ({}): it is deleted and created again",
                target.short(),
                fields.join(", ")
            ));
            step.actions.push(Action::Recreate {
                target,
                before: live,
                after: manifest,
            });
        }
    }
    guard(step).map(Planned::Step).map_err(|refusal| {
        TriageError::input(
            format!("cannot restore: {}: nothing was changed", refusal.reason),
            Some("put it back by hand from the backup file".to_string()),
        )
    })
}

/// Plans every backup, in order.
pub async fn plan<K: Kube>(
    kube: &K,
    backups: &[(PathBuf, Value)],
    overwrite: bool,
) -> Result<Vec<Planned>, TriageError> {
    let mut planned = Vec::new();
    for (path, backup) in backups {
        planned.push(plan_one(kube, path, backup, overwrite).await?);
    }
    Ok(planned)
}

/// `restore`'s answer to "read again": the object the step puts back, as it is now.
pub struct BackupReread<'a, K> {
    pub kube: &'a K,
    pub backups: &'a [(PathBuf, Value)],
    pub overwrite: bool,
}

impl<K: Kube> BackupReread<'_, K> {
    fn backup_of(&self, step: &Step) -> Option<&(PathBuf, Value)> {
        let target = step.actions.first()?.target();
        self.backups
            .iter()
            .find(|(path, backup)| target_of(path, backup).is_ok_and(|t| t == *target))
    }
}

impl<K: Kube> Reread for BackupReread<'_, K> {
    async fn replan(&mut self, step: &Step) -> Result<Option<Step>, TriageError> {
        let Some((path, backup)) = self.backup_of(step) else {
            return Ok(None);
        };
        Ok(
            match plan_one(self.kube, path, backup, self.overwrite).await? {
                Planned::Step(fresh) => Some(fresh),
                Planned::Nothing(_) => None,
            },
        )
    }

    async fn verify(&mut self, step: &Step) -> Result<Verdict, TriageError> {
        let Some((_, backup)) = self.backup_of(step) else {
            return Ok(Verdict::NotChecked);
        };
        let Some(target) = step.actions.first().map(Action::target) else {
            return Ok(Verdict::NotChecked);
        };
        let live = self
            .kube
            .get(target.kind, &target.namespace, &target.name)
            .await?;
        Ok(match live {
            None => Verdict::Failed(format!("{} is missing", target.short())),
            Some(live) if holds(&restorable(live.clone()), &restorable(backup.clone())) => {
                Verdict::Passed(format!("{} matches its backup", target.short()))
            }
            Some(_) => Verdict::Failed(format!(
                "{} differs from its backup after the write",
                target.short()
            )),
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn holds_allows_server_additions_but_not_differences() {
        let manifest = json!({"metadata": {"name": "a", "labels": {"x": "1"}}, "data": {"k": "v"}});
        let live = json!({"metadata": {"name": "a", "uid": "u", "labels": {"x": "1", "y": "2"}}, "data": {"k": "v"}});
        assert!(holds(&live, &manifest));
        let changed = json!({"metadata": {"name": "a", "labels": {"x": "2"}}, "data": {"k": "v"}});
        assert!(!holds(&changed, &manifest));
        let fewer = json!({"metadata": {"name": "a", "labels": {"x": "1"}}, "data": {}});
        assert!(!holds(&fewer, &manifest));
        // Lists are compared whole: a subject more is a difference.
        let subjects = json!({"subjects": [{"name": "a"}]});
        assert!(!holds(
            &json!({"subjects": [{"name": "a"}, {"name": "b"}]}),
            &subjects
        ));
    }

    #[test]
    fn an_object_backed_up_twice_is_restored_to_its_first_backup() {
        let job = |finalizers: bool| {
            let mut job = json!({"apiVersion": "batch/v1", "kind": "Job",
                "metadata": {"name": "hook", "namespace": "ns"}});
            if finalizers {
                job["metadata"]["finalizers"] = json!(["x/cleanup"]);
            }
            job
        };
        let backups = vec![
            (PathBuf::from("001-job-hook.yaml"), job(true)),
            (PathBuf::from("002-job-hook.yaml"), job(false)),
        ];
        let first = first_backups(backups);
        assert_eq!(first.len(), 1);
        assert_eq!(first[0].0, PathBuf::from("001-job-hook.yaml"));
        assert_eq!(first[0].1["metadata"]["finalizers"][0], "x/cleanup");
    }

    #[test]
    fn a_backup_of_a_kind_triage_does_not_know_is_refused_by_name() {
        let secret = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}});
        let error = target_of(Path::new("/runs/r/001-secret-s.yaml"), &secret).unwrap_err();
        assert_eq!(
            error.to_string(),
            "backup `/runs/r/001-secret-s.yaml` holds a Secret, which triage does not restore"
        );
    }
}
