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
    let code = runtime()?.block_on(async {
        let cluster = cluster::connect(global).await?;
        restore(
            &cluster,
            run_dir,
            &backups,
            overwrite,
            confirm,
            global.request_timeout.0,
            &mut Progress,
        )
        .await
    })?;
    Ok(Outcome {
        stdout: String::new(),
        exit_code: code,
    })
}

/// Restores `backups` on `kube`: `confirm` is `None` for a dry run. Returns the exit
/// code; errors stop the run (what was applied is named by the error).
pub async fn restore<K: Kube>(
    kube: &K,
    run_dir: &Path,
    backups: &[(std::path::PathBuf, serde_json::Value)],
    overwrite: bool,
    mut confirm: Option<Box<dyn Confirm>>,
    timeout: Option<std::time::Duration>,
    out: &mut dyn Write,
) -> Result<u8, TriageError> {
    let user = kube.whoami().await?;
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
    let mut run = match (&confirm, steps.is_empty()) {
        (Some(_), false) => Some(RunDir::create(
            &runs_root()?,
            &format!("{namespace}-restore"),
            jiff::Timestamp::now(),
        )?),
        _ => None,
    };
    let _ = writeln!(
        out,
        "Restoring {} object(s) from `{}` on context `{}` ({}) as user `{user}`{}",
        backups.len(),
        run_dir.display(),
        kube.context(),
        kube.server(),
        if confirm.is_none() {
            " [dry run: reads and server-side dry runs only]"
        } else {
            ""
        }
    );
    if let Some(run) = &run {
        let _ = writeln!(out, "Backups and audit log: {}", run.path.display());
    }
    for line in planned.iter().filter_map(|p| match p {
        Planned::Nothing(line) => Some(line),
        Planned::Step(_) => None,
    }) {
        let _ = writeln!(out, "{line}");
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

/// Progress on stdout as it happens (a person is watching).
struct Progress;

impl Write for Progress {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        let mut out = std::io::stdout().lock();
        out.write_all(bytes)?;
        out.flush()?;
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stdout().flush()
    }
}
