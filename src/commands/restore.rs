//! `triage restore RUN_DIR`: put back every object a repair run backed up. A missing
//! object is created from its backup; an existing one is left alone unless
//! `--overwrite`, then replaced in place (or, for an immutable field such as roleRef,
//! deleted and created again; never a ResourceQuota or NetworkPolicy).

use std::io::Write;
use std::path::Path;

use serde_json::Value;

use super::Outcome;
use super::source::runtime;
use crate::backup::{read_run, restorable};
use crate::cli::GlobalArgs;
use crate::cluster::write::WriteMode;
use crate::cluster::{self, Cluster};
use crate::error::{TriageError, exit};
use crate::recovery::{Prefer, Recovered, recover};
use crate::repair::NEVER_DELETED;
use crate::snapshot::Kind;
use crate::terminal::{self, Confirm};

pub fn run(
    global: &GlobalArgs,
    run_dir: &Path,
    yes: bool,
    overwrite: bool,
) -> anyhow::Result<Outcome> {
    let mut backups = read_run(run_dir)?;
    // An object backed up twice in a run (patched, then deleted) is restored to its
    // first backup: the state before the run touched it.
    let mut seen = Vec::new();
    backups.retain(|(_, object)| {
        let key = (
            object["kind"].clone(),
            object.pointer("/metadata/namespace").cloned(),
            object.pointer("/metadata/name").cloned(),
        );
        let first = !seen.contains(&key);
        seen.push(key);
        first
    });
    if backups.is_empty() {
        return Err(TriageError::input(
            format!("run directory `{}` holds no backups", run_dir.display()),
            None,
        )
        .into());
    }
    let mut confirm = terminal::confirmer(yes)?;
    let code = runtime()?.block_on(async {
        let cluster = cluster::connect(global).await?;
        let user = cluster.whoami().await?;
        say(format!(
            "Restoring {} object(s) from `{}` on context `{}` ({}) as user `{user}`\n",
            backups.len(),
            run_dir.display(),
            cluster.context,
            cluster.server
        ));
        // A recreate the run left half done (killed between its delete and its
        // create): put the original back, or finish the step, first.
        let mut out = std::io::stdout();
        match recover(
            &cluster,
            &user,
            run_dir,
            Prefer::PutBack,
            Some(confirm.as_mut()),
            &mut out,
        )
        .await?
        {
            Recovered::Declined => return Ok::<u8, TriageError>(exit::STOPPED_AT_PROMPT),
            Recovered::Wrote(_) | Recovered::Nothing => {}
        }
        for (path, object) in &backups {
            if !restore_one(&cluster, object, overwrite, confirm.as_mut(), path).await? {
                return Ok::<u8, TriageError>(exit::STOPPED_AT_PROMPT);
            }
        }
        Ok(exit::OK)
    })?;
    Ok(Outcome {
        stdout: String::new(),
        exit_code: code,
    })
}

fn say(text: impl AsRef<str>) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_ref().as_bytes());
    let _ = out.flush();
}

/// Restores one backup; `false` when the user declined.
async fn restore_one(
    cluster: &Cluster,
    backup: &Value,
    overwrite: bool,
    confirm: &mut dyn Confirm,
    path: &Path,
) -> Result<bool, TriageError> {
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
    let namespace = backup
        .pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let name = backup
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let label = format!("{}/{name}", kind.name().to_lowercase());
    let manifest = restorable(backup.clone());
    match cluster.get_json(kind, namespace, name).await? {
        None => {
            if !confirm.confirm(&format!("Create {label} in `{namespace}` from its backup?"))? {
                return Ok(false);
            }
            cluster
                .create(kind, namespace, &manifest, WriteMode::Apply)
                .await?;
            say(format!("created {label} from {}\n", path.display()));
        }
        Some(current) if !overwrite => {
            let _ = current;
            say(format!(
                "kept {label}: it exists (pass --overwrite to replace it with the backup)\n"
            ));
        }
        Some(current) => {
            if !confirm.confirm(&format!(
                "Replace {label} in `{namespace}` with its backup?"
            ))? {
                return Ok(false);
            }
            let mut replacement = manifest.clone();
            replacement["metadata"]["resourceVersion"] =
                current["metadata"]["resourceVersion"].clone();
            match cluster.replace(kind, namespace, &replacement).await {
                Ok(_) => say(format!("replaced {label} from {}\n", path.display())),
                // An immutable field changed (roleRef, storageClassName): delete and
                // create, except for governance controls, which are never deleted.
                Err(TriageError::Input { message, .. })
                    if message.contains("(422)") && !NEVER_DELETED.contains(&kind) =>
                {
                    let uid = current
                        .pointer("/metadata/uid")
                        .and_then(Value::as_str)
                        .unwrap_or_default();
                    let version = current
                        .pointer("/metadata/resourceVersion")
                        .and_then(Value::as_str)
                        .unwrap_or_default();
                    cluster
                        .delete_exact(kind, namespace, name, uid, version, WriteMode::Apply)
                        .await?;
                    cluster
                        .wait_gone(kind, namespace, name, std::time::Duration::from_secs(60))
                        .await?;
                    cluster
                        .create(kind, namespace, &manifest, WriteMode::Apply)
                        .await?;
                    say(format!(
                        "recreated {label} from {} (immutable field)\n",
                        path.display()
                    ));
                }
                Err(other) => return Err(other),
            }
        }
    }
    Ok(true)
}
