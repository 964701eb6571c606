//! `triage restore RUN_DIR`: put back every object a repair run backed up, through the
//! same executor as `repair` (preview as a diff against the live object, confirmation
//! with the same `--yes`/terminal rules, server dry run, its own run directory with
//! backups of what it overwrites, audit log). What each backup takes is planned in
//! `crate::restore`.

use std::io::Write;
use std::path::Path;

use super::Outcome;
use super::source::runtime;
use crate::backup::{RunDir, read_run, runs_root};
use crate::cli::GlobalArgs;
use crate::cluster::{self, api::Kube};
use crate::error::{TriageError, exit};
use crate::executor::{Actor, Mode, Ran, run_steps};
use crate::recovery::{Prefer, Recovered, recover};
use crate::restore::{BackupReread, Planned, first_backups, plan};
use crate::terminal::{self, Confirm};

pub fn run(
    global: &GlobalArgs,
    run_dir: &Path,
    yes: bool,
    overwrite: bool,
    dry_run: bool,
) -> anyhow::Result<Outcome> {
    let backups = first_backups(read_run(run_dir)?);
    if backups.is_empty() {
        return Err(TriageError::input(
            format!("run directory `{}` holds no backups", run_dir.display()),
            None,
        )
        .into());
    }
    // Refuse before any request when a prompt would be needed and cannot be shown.
    let confirm = if dry_run {
        None
    } else {
        Some(terminal::confirmer(yes)?)
    };
    let root = match confirm {
        Some(_) => Some(runs_root()?),
        None => None,
    };
    let code = runtime()?.block_on(async {
        let cluster = cluster::connect(global).await?;
        restore(
            &cluster,
            run_dir,
            &backups,
            overwrite,
            confirm.zip(root),
            global.request_timeout.0,
            &mut terminal::Progress,
        )
        .await
    })?;
    Ok(Outcome {
        stdout: String::new(),
        exit_code: code,
    })
}

/// Restores `backups` on `kube`: `apply` (who confirms, and where run directories go)
/// is `None` for a dry run. Returns the exit code; errors stop the run (what was
/// applied is named by the error).
pub async fn restore<K: Kube>(
    kube: &K,
    run_dir: &Path,
    backups: &[(std::path::PathBuf, serde_json::Value)],
    overwrite: bool,
    apply: Option<(Box<dyn Confirm>, std::path::PathBuf)>,
    timeout: Option<std::time::Duration>,
    out: &mut dyn Write,
) -> Result<u8, TriageError> {
    let user = kube.whoami().await?;
    let _ = writeln!(
        out,
        "Restoring {} object(s) from `{}` on context `{}` ({}) as user `{user}`{}",
        backups.len(),
        run_dir.display(),
        kube.context(),
        kube.server(),
        if apply.is_none() {
            " [dry run: reads and server-side dry runs only]"
        } else {
            ""
        }
    );
    // Writes of the run that got no answer are named; a recreate the run left half
    // done (killed between its delete and its create): put the original back, or
    // finish the step, before planning the rest.
    let (mut confirm, root) = apply.unzip();
    crate::recovery::report_undecided(run_dir, out)?;
    match recover(
        kube,
        &user,
        run_dir,
        Prefer::PutBack,
        confirm.as_mut().map(|c| &mut **c as &mut dyn Confirm),
        out,
    )
    .await?
    {
        Recovered::Declined => return Ok(exit::STOPPED_AT_PROMPT),
        Recovered::Wrote(_) | Recovered::Nothing => {}
    }
    let planned = plan(kube, backups, overwrite).await?;
    let steps: Vec<_> = planned
        .iter()
        .filter_map(|p| match p {
            Planned::Step(step) => Some(step.clone()),
            Planned::Nothing(_) => None,
        })
        .collect();
    // Its own run directory: what the restore overwrites is backed up too, and
    // `triage restore` of it undoes the restore.
    let namespace = steps
        .first()
        .and_then(|s| s.actions.first())
        .map(|a| a.target().namespace.clone())
        .unwrap_or_default();
    let mut run = match (&root, steps.is_empty()) {
        (Some(root), false) => Some(RunDir::create(
            root,
            &format!("{namespace}-restore"),
            jiff::Timestamp::now(),
        )?),
        _ => None,
    };
    if let Some(run) = &run {
        let _ = writeln!(out, "Backups and audit log: {}", run.path.display());
    }
    for line in planned.iter().filter_map(|p| match p {
        Planned::Nothing(line) => Some(line),
        Planned::Step(_) => None,
    }) {
        let _ = writeln!(out, "{line}");
    }
    if steps.is_empty() {
        let _ = writeln!(out, "nothing to restore");
        return Ok(exit::OK);
    }
    let actor = Actor {
        context: kube.context().to_string(),
        user,
        database: None,
        timeout,
    };
    let mut mode = match (&mut confirm, &mut run) {
        (Some(confirm), Some(run)) => Mode::Apply {
            confirm: confirm.as_mut(),
            run,
        },
        _ => Mode::DryRun,
    };
    let mut reread = BackupReread {
        kube,
        backups,
        overwrite,
    };
    let ran = run_steps(kube, &actor, &steps, &mut mode, &mut reread, out).await;
    let undo = run
        .as_ref()
        .map(|run| format!("To undo: {}\n", run.restore_command()))
        .unwrap_or_default();
    let code = match ran {
        Ok(Ran::Completed) if run.is_none() => {
            let _ = writeln!(out, "\ndry run: nothing was changed");
            exit::OK
        }
        Ok(Ran::Completed) => exit::OK,
        Ok(Ran::Declined { .. }) => exit::STOPPED_AT_PROMPT,
        Ok(Ran::VerifyFailed { .. }) => exit::VERIFY_FAILED,
        Err(error) => {
            let _ = write!(out, "{undo}");
            return Err(error);
        }
    };
    let _ = write!(out, "{undo}");
    Ok(code)
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use serde_json::{Value, json};

    use super::*;
    use crate::cluster::fake::FakeKube;
    use crate::executor::on_the_fake::{Answers, block_on, scratch};
    use crate::snapshot::Kind;

    fn config_map(data: &str, version: &str) -> Value {
        json!({"apiVersion": "v1", "kind": "ConfigMap",
               "metadata": {"name": "settings", "namespace": "shop", "uid": "u-1", "resourceVersion": version},
               "data": {"mode": data}})
    }

    fn binding(role: &str, version: &str) -> Value {
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
               "metadata": {"name": "runner", "namespace": "shop", "uid": "u-2", "resourceVersion": version},
               "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": role},
               "subjects": [{"kind": "ServiceAccount", "name": "runner", "namespace": "shop"}]})
    }

    fn backups(objects: &[Value]) -> Vec<(PathBuf, Value)> {
        objects
            .iter()
            .enumerate()
            .map(|(i, o)| {
                (
                    PathBuf::from(format!("/runs/r/{:03}.yaml", i + 1)),
                    o.clone(),
                )
            })
            .collect()
    }

    struct Restored {
        code: Result<u8, TriageError>,
        out: String,
        /// The restore's own run directory, when it made one.
        run: Option<PathBuf>,
    }

    fn restore_on(
        fake: &FakeKube,
        objects: &[Value],
        overwrite: bool,
        answers: Option<&[bool]>,
        name: &str,
    ) -> Restored {
        let root = scratch(name);
        let apply = answers.map(|answers| {
            let confirm: Box<dyn Confirm> = Box::new(Answers::new(answers));
            (confirm, root.clone())
        });
        let mut out = Vec::new();
        let code = block_on(restore(
            fake,
            std::path::Path::new("/runs/r"),
            &backups(objects),
            overwrite,
            apply,
            None,
            &mut out,
        ));
        let run = std::fs::read_dir(&root)
            .unwrap()
            .filter_map(Result::ok)
            .map(|e| e.path())
            .next();
        Restored {
            code,
            out: String::from_utf8(out).unwrap(),
            run,
        }
    }

    fn audit(run: &std::path::Path) -> Vec<String> {
        std::fs::read_to_string(run.join("audit.jsonl"))
            .unwrap()
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

    #[test]
    fn a_missing_object_is_created_from_its_backup_and_audited() {
        let fake = FakeKube::new([]);
        let restored = restore_on(
            &fake,
            &[config_map("strict", "7")],
            false,
            Some(&[true]),
            "create",
        );
        assert_eq!(restored.code.unwrap(), exit::OK, "{}", restored.out);
        assert_eq!(fake.writes(), ["create configmap/settings"]);
        let created = fake.object(Kind::ConfigMap, "shop", "settings").unwrap();
        assert_eq!(created["data"]["mode"], "strict");
        // Previewed (as a create of the whole object), dry-run by the server first.
        assert!(
            restored.out.contains("create configmap/settings:"),
            "{}",
            restored.out
        );
        assert!(restored.out.contains("+  mode: strict"), "{}", restored.out);
        assert_eq!(
            fake.calls.borrow()[..3],
            [
                "get configmap/settings",
                "create dry-run configmap/settings",
                "create configmap/settings"
            ]
        );
        let run = restored.run.unwrap();
        assert_eq!(audit(&run), ["restore create ConfigMap/settings"]);
        assert!(
            restored
                .out
                .contains(&format!("To undo: triage restore {}", run.display()))
        );
    }

    #[test]
    fn a_differing_object_is_replaced_only_with_overwrite_and_backed_up_first() {
        let fake = FakeKube::new([config_map("lax", "9")]);
        let kept = restore_on(
            &fake,
            &[config_map("strict", "7")],
            false,
            Some(&[true]),
            "keep",
        );
        assert_eq!(kept.code.unwrap(), exit::OK);
        assert!(
            kept.out
                .contains("kept configmap/settings: it exists (pass --overwrite"),
            "{}",
            kept.out
        );
        assert!(fake.writes().is_empty());

        let restored = restore_on(
            &fake,
            &[config_map("strict", "7")],
            true,
            Some(&[true]),
            "replace",
        );
        assert_eq!(restored.code.unwrap(), exit::OK, "{}", restored.out);
        assert_eq!(fake.writes(), ["replace configmap/settings"]);
        assert_eq!(
            fake.object(Kind::ConfigMap, "shop", "settings").unwrap()["data"]["mode"],
            "strict"
        );
        // The preview is a diff against the live object.
        assert!(
            restored.out.contains("-  mode: lax\n+  mode: strict"),
            "{}",
            restored.out
        );
        assert!(
            restored
                .out
                .contains("verify `restore`: configmap/settings matches its backup")
        );
        let run = restored.run.unwrap();
        assert_eq!(audit(&run), ["restore replace ConfigMap/settings"]);
        // What it overwrote is in its own run directory.
        let saved = crate::backup::read_run(&run).unwrap();
        assert_eq!(saved.len(), 1);
        assert_eq!(saved[0].1["data"]["mode"], "lax");
    }

    #[test]
    fn an_immutable_field_is_deleted_and_created_from_the_api_status() {
        let fake = FakeKube::new([binding("runner-v2", "9")]);
        let restored = restore_on(
            &fake,
            &[binding("runner-v1", "7")],
            true,
            Some(&[true]),
            "immutable",
        );
        assert_eq!(restored.code.unwrap(), exit::OK, "{}", restored.out);
        assert!(
            restored
                .out
                .contains("rolebinding/runner cannot change in place (roleRef)"),
            "{}",
            restored.out
        );
        assert_eq!(
            fake.writes(),
            ["delete rolebinding/runner", "create rolebinding/runner"]
        );
        assert_eq!(
            fake.object(Kind::RoleBinding, "shop", "runner").unwrap()["roleRef"]["name"],
            "runner-v1"
        );
        assert_eq!(
            audit(&restored.run.unwrap()),
            [
                "restore delete RoleBinding/runner",
                "restore create RoleBinding/runner"
            ]
        );
    }

    #[test]
    fn a_refusal_without_field_causes_is_not_taken_for_immutability() {
        let fake = FakeKube::new([binding("runner-v2", "9")]);
        let invalid = crate::cluster::fake::status(422, "Invalid", "denied by a webhook", &[]);
        fake.fail(
            "replace",
            "runner",
            Some(crate::cluster::write::WriteMode::DryRun),
            invalid,
        );
        let restored = restore_on(
            &fake,
            &[binding("runner-v1", "7")],
            true,
            Some(&[true]),
            "webhook",
        );
        let error = restored.code.unwrap_err();
        assert_eq!(error.exit_code(), exit::USAGE);
        assert!(error.to_string().contains("denied by a webhook"), "{error}");
        assert!(fake.writes().is_empty());
    }

    #[test]
    fn a_dry_run_previews_and_writes_nothing() {
        let fake = FakeKube::new([config_map("lax", "9")]);
        let restored = restore_on(&fake, &[config_map("strict", "7")], true, None, "dry");
        assert_eq!(restored.code.unwrap(), exit::OK);
        assert!(fake.writes().is_empty(), "{:?}", fake.writes());
        assert!(
            fake.calls
                .borrow()
                .contains(&"replace dry-run configmap/settings".to_string())
        );
        assert!(
            restored.out.contains("dry run: nothing was changed"),
            "{}",
            restored.out
        );
        assert!(restored.run.is_none());
    }

    #[test]
    fn declining_writes_nothing() {
        let fake = FakeKube::new([]);
        let restored = restore_on(
            &fake,
            &[config_map("strict", "7")],
            false,
            Some(&[false]),
            "no",
        );
        assert_eq!(restored.code.unwrap(), exit::STOPPED_AT_PROMPT);
        assert!(fake.writes().is_empty());
        assert!(fake.object(Kind::ConfigMap, "shop", "settings").is_none());
    }

    #[test]
    fn a_quota_is_never_deleted_even_when_a_field_cannot_change() {
        let quota = |pods: &str, version: &str| {
            json!({"apiVersion": "v1", "kind": "ResourceQuota",
                   "metadata": {"name": "q", "namespace": "shop", "uid": "u-3", "resourceVersion": version},
                   "spec": {"hard": {"pods": pods}}})
        };
        let fake = FakeKube::new([quota("8", "9")]);
        let immutable = crate::cluster::fake::status(
            422,
            "Invalid",
            "ResourceQuota \"q\" is invalid",
            &[("FieldValueForbidden", "spec.hard")],
        );
        fake.fail(
            "replace",
            "q",
            Some(crate::cluster::write::WriteMode::DryRun),
            immutable,
        );
        let restored = restore_on(&fake, &[quota("1", "7")], true, Some(&[true]), "quota");
        let error = restored.code.unwrap_err();
        assert_eq!(
            error.to_string(),
            "cannot restore: would delete ResourceQuota `q`: governance controls are repaired in place, never deleted: nothing was changed"
        );
        assert!(fake.writes().is_empty());
    }
}
