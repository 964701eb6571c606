//! Where a killed run stopped, from its journal (`journal.rs`). A write whose answer
//! never came (the run was killed mid-request, or the request timed out) is reported
//! as undecided, naming the object and what to check. A recreate whose delete went
//! through and whose create never came (it began and never ended) is resolved: the
//! next `triage repair` on the namespace or `triage restore` of the run looks at the
//! cluster and offers to finish the step (create the new version) or put the original
//! back from its backup; each command asks first in its own direction.

use std::io::Write;
use std::path::Path;

use serde_json::Value;

use crate::backup::{AuditEntry, RunDir, read_journal, read_run, restorable};
use crate::cluster::api::Kube;
use crate::cluster::write::WriteMode;
use crate::error::TriageError;
use crate::journal::{Entry, HalfDone, Intent, Resolution, Undecided, Verb, half_done, undecided};
use crate::terminal::Confirm;

/// Which way to resolve first: `repair` finishes, `restore` puts back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prefer {
    Finish,
    PutBack,
}

/// What recovery did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recovered {
    /// Nothing was half done (or nothing could be done yet).
    Nothing,
    /// This many objects were created (the new version or the original).
    Wrote(usize),
    /// The user declined both ways: the object stays missing, the backup stays.
    Declined,
}

/// The newest run directory of `namespace` under `root` whose journal has a recreate
/// that began and never ended.
pub fn newest_unfinished(root: &Path, namespace: &str) -> Option<std::path::PathBuf> {
    crate::backup::runs_for(root, namespace)
        .into_iter()
        .find(|dir| read_journal(dir).is_ok_and(|entries| !half_done(&entries).is_empty()))
}

/// The newest run directory of `namespace` under `root` (whose journal the next run
/// reads for undecided writes).
pub fn newest_run(root: &Path, namespace: &str) -> Option<std::path::PathBuf> {
    crate::backup::runs_for(root, namespace).into_iter().next()
}

/// Prints one line per undecided write of the run in `run_dir` (the writes of a
/// half-done recreate aside: [`recover`] offers to resolve those) and returns how many.
pub fn report_undecided(run_dir: &Path, out: &mut dyn Write) -> Result<usize, TriageError> {
    let entries = read_journal(run_dir)?;
    let recreating = half_done(&entries);
    let run = RunDir::open(run_dir);
    let lines: Vec<String> = undecided(&entries)
        .iter()
        .filter(|u| !recreating.iter().any(|h| h.object == u.intent.object))
        .map(|u| undecided_line(&run.id, u))
        .collect();
    for line in &lines {
        let _ = writeln!(out, "{line}");
    }
    Ok(lines.len())
}

/// `undecided: run `ID` step `quota`: the patch of resourcequota/q in `n` may or may
/// not have gone through (why); check ...`: what was sent, and what on the object tells
/// whether it went through.
fn undecided_line(run_id: &str, undecided: &Undecided) -> String {
    let intent = &undecided.intent;
    let object = &intent.object;
    let why = match &undecided.error {
        Some(error) => error.clone(),
        None => "the run stopped before its answer came".to_string(),
    };
    let get = format!(
        "`kubectl get {} {} -n {} -o yaml`",
        object.kind.to_lowercase(),
        object.name,
        object.namespace
    );
    let check = match (intent.verb, &intent.expected_resource_version) {
        (Verb::Create, _) => format!("{get}: if it exists, the create went through"),
        (Verb::Delete, _) => format!("{get}: if it is gone, the delete went through"),
        (verb, Some(expected)) => format!(
            "{get}: if its resourceVersion is still {expected}, the {} did not go through",
            verb.name()
        ),
        (verb, None) => format!("{get}: whether the {} went through", verb.name()),
    };
    let backup = intent
        .backup
        .as_ref()
        .map(|b| format!("; its backup is `{b}` in the run directory"))
        .unwrap_or_default();
    format!(
        "undecided: run `{run_id}` step `{}`: the {} of {} in `{}` may or may not have gone through ({why}); check {check}{backup}",
        intent.step,
        intent.verb.name(),
        object.short(),
        object.namespace
    )
}

/// Resolves every half-done recreate of the run in `run_dir`. `confirm: None` (a dry
/// run) only reports them.
pub async fn recover<K: Kube>(
    kube: &K,
    user: &str,
    run_dir: &Path,
    prefer: Prefer,
    mut confirm: Option<&mut dyn Confirm>,
    out: &mut dyn Write,
) -> Result<Recovered, TriageError> {
    let pending = half_done(&read_journal(run_dir)?);
    let run = RunDir::open(run_dir);
    let mut wrote = 0;
    for half in &pending {
        let object = &half.object;
        let Some(kind) = object.kind() else {
            let _ = writeln!(
                out,
                "journal: {} {} is not a kind this triage handles; skipped",
                object.api_version, object.kind
            );
            continue;
        };
        let current = kube.get(kind, &object.namespace, &object.name).await?;
        match found(current.as_ref()) {
            Found::Missing => {}
            Found::BeingDeleted => {
                let _ = writeln!(
                    out,
                    "run `{}` stopped in step `{}`: {} is still being deleted; run again once it is gone",
                    run.id,
                    half.step,
                    object.short()
                );
                continue;
            }
            Found::Present => {
                let _ = writeln!(
                    out,
                    "run `{}` stopped in step `{}`: {} exists; nothing left half done",
                    run.id,
                    half.step,
                    object.short()
                );
                run.journal(&Entry::RecreateResolved {
                    object: object.clone(),
                    resolution: Resolution::FoundPresent,
                })?;
                continue;
            }
        }
        let backup = run_dir.join(&half.backup);
        let _ = writeln!(
            out,
            "run `{}` stopped halfway through step `{}`: {} was deleted and its new version never created (backup: {})",
            run.id,
            half.step,
            object.short(),
            backup.display()
        );
        let Some(confirm) = confirm.as_deref_mut() else {
            let _ = writeln!(
                out,
                "dry run: not resolved; `triage repair` finishes it, `triage restore {}` puts the original back",
                run_dir.display()
            );
            continue;
        };
        let order = match prefer {
            Prefer::Finish => [Resolution::Finished, Resolution::PutBack],
            Prefer::PutBack => [Resolution::PutBack, Resolution::Finished],
        };
        let mut chosen = None;
        for way in order {
            let question = match way {
                Resolution::Finished => format!(
                    "Finish step `{}`: create the new version of {}?",
                    half.step,
                    object.short()
                ),
                _ => format!("Put the original {} back from its backup?", object.short()),
            };
            if confirm.confirm(&question)? {
                chosen = Some(way);
                break;
            }
        }
        let Some(way) = chosen else {
            let _ = writeln!(
                out,
                "{} stays missing; its backup is {}",
                object.short(),
                backup.display()
            );
            return Ok(Recovered::Declined);
        };
        let manifest = match way {
            Resolution::Finished => half.new_version.clone(),
            _ => restorable(original(run_dir, half)?),
        };
        let intent = Intent {
            step: half.step.clone(),
            verb: Verb::Create,
            object: object.clone(),
            expected_resource_version: None,
            backup: Some(half.backup.clone()),
        };
        let created = run
            .journaled(
                intent,
                kube.create(kind, &object.namespace, &manifest, WriteMode::Apply),
                crate::executor::new_version,
            )
            .await?;
        let version = created
            .pointer("/metadata/resourceVersion")
            .and_then(Value::as_str)
            .unwrap_or_default();
        run.audit(&AuditEntry {
            time: jiff::Timestamp::now(),
            run_id: &run.id,
            context: kube.context(),
            user,
            verb: "create",
            kind: &object.kind,
            namespace: &object.namespace,
            name: &object.name,
            resource_version_before: None,
            resource_version_after: Some(version),
            step: &half.step,
        })?;
        run.journal(&Entry::RecreateResolved {
            object: object.clone(),
            resolution: way,
        })?;
        let _ = writeln!(
            out,
            "{} {} (resourceVersion {version})",
            match way {
                Resolution::Finished => "finished: created the new version of",
                _ => "put back: created the original",
            },
            object.short()
        );
        wrote += 1;
    }
    Ok(if wrote == 0 {
        Recovered::Nothing
    } else {
        Recovered::Wrote(wrote)
    })
}

/// Where a half-done recreate's object stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Found {
    /// Gone: deleted and never created again. The case to resolve.
    Missing,
    /// Still terminating (finalizers): nothing can be created under its name yet.
    BeingDeleted,
    /// There: the killed run's delete never happened, or its create (or someone's)
    /// did. Nothing to do.
    Present,
}

fn found(current: Option<&Value>) -> Found {
    match current {
        None => Found::Missing,
        Some(object) if object.pointer("/metadata/deletionTimestamp").is_some() => {
            Found::BeingDeleted
        }
        Some(_) => Found::Present,
    }
}

/// The backup the half-done recreate saved before its delete.
fn original(run_dir: &Path, half: &HalfDone) -> Result<Value, TriageError> {
    read_run(run_dir)?
        .into_iter()
        .find(|(path, _)| path.file_name().is_some_and(|n| *n == *half.backup))
        .map(|(_, object)| object)
        .ok_or_else(|| {
            TriageError::input(
                format!(
                    "the backup `{}` of {} is missing from `{}`",
                    half.backup,
                    half.object.short(),
                    run_dir.display()
                ),
                Some("create the object by hand from another copy".to_string()),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_a_missing_object_is_offered_for_recovery() {
        assert_eq!(found(None), Found::Missing);
        let terminating = json!({"metadata": {"name": "data", "deletionTimestamp": "2024-11-19T04:00:00Z", "finalizers": ["kubernetes.io/pvc-protection"]}});
        assert_eq!(found(Some(&terminating)), Found::BeingDeleted);
        let there = json!({"metadata": {"name": "data", "uid": "u-2"}});
        assert_eq!(found(Some(&there)), Found::Present);
    }

    /// Killed between a recreate's delete and its create (the create's intent on disk,
    /// no result): no "undecided" line, the finish/put-back offer instead; finishing
    /// journals its own create and settles the run.
    #[test]
    fn a_half_done_recreate_is_offered_not_reported_and_its_finish_is_journaled() {
        use crate::cluster::fake::FakeKube;
        use crate::executor::on_the_fake::{Answers, block_on, scratch};
        use crate::journal::{ObjectRef, Outcome, undecided};
        use crate::repair::Target;
        use crate::snapshot::Kind;
        let root = scratch("recovery-undecided");
        let run = RunDir::create(&root, "ns", "2024-11-19T03:00:00Z".parse().unwrap()).unwrap();
        let object = ObjectRef::of(&Target::new(Kind::RoleBinding, "ns", "rb"));
        let new_version = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
            "metadata": {"name": "rb", "namespace": "ns"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "v2"}});
        let write = |verb: Verb, expected: Option<&str>| Intent {
            step: "rbac".into(),
            verb,
            object: object.clone(),
            expected_resource_version: expected.map(str::to_string),
            backup: Some("001-rolebinding-rb.yaml".into()),
        };
        for entry in [
            Entry::RecreateBegin {
                step: "rbac".into(),
                object: object.clone(),
                original_uid: "u-1".into(),
                backup: "001-rolebinding-rb.yaml".into(),
                new_version: new_version.clone(),
            },
            Entry::Intent(write(Verb::Delete, Some("7"))),
            Entry::Result(write(Verb::Delete, Some("7")).answered(Outcome::Applied {
                resource_version: None,
            })),
            Entry::RecreateDeleted {
                step: "rbac".into(),
                object: object.clone(),
            },
            Entry::Intent(write(Verb::Create, None)),
        ] {
            run.journal(&entry).unwrap();
        }
        let mut out = Vec::new();
        assert_eq!(report_undecided(&run.path, &mut out).unwrap(), 0);
        assert!(out.is_empty());

        let fake = FakeKube::new([]);
        let mut answers = Answers::new(&[true]);
        let recovered = block_on(recover(
            &fake,
            "fake-user",
            &run.path,
            Prefer::Finish,
            Some(&mut answers),
            &mut out,
        ))
        .unwrap();
        assert_eq!(recovered, Recovered::Wrote(1));
        assert_eq!(fake.writes(), ["create rolebinding/rb"]);
        let entries = read_journal(&run.path).unwrap();
        let created = fake.object(Kind::RoleBinding, "ns", "rb").unwrap();
        let version = created["metadata"]["resourceVersion"].as_str().unwrap();
        assert_eq!(
            entries[5..],
            [
                Entry::Intent(write(Verb::Create, None)),
                Entry::Result(write(Verb::Create, None).answered(Outcome::Applied {
                    resource_version: Some(version.to_string()),
                })),
                Entry::RecreateResolved {
                    object: object.clone(),
                    resolution: Resolution::Finished,
                },
            ]
        );
        assert!(half_done(&entries).is_empty());
        assert!(undecided(&entries).is_empty());
    }

    #[test]
    fn the_newest_run_with_an_open_recreate_is_found() {
        use crate::journal::ObjectRef;
        use crate::repair::Target;
        use crate::snapshot::Kind;
        let root = std::env::temp_dir().join(format!("triage-recovery-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let object = ObjectRef::of(&Target::new(Kind::RoleBinding, "ns", "rb"));
        let begin = Entry::RecreateBegin {
            step: "rbac".into(),
            object: object.clone(),
            original_uid: "u-1".into(),
            backup: "001-rolebinding-rb.yaml".into(),
            new_version: json!({}),
        };
        let older = RunDir::create(&root, "ns", "2024-11-19T03:00:00Z".parse().unwrap()).unwrap();
        older.journal(&begin).unwrap();
        let newer = RunDir::create(&root, "ns", "2024-11-19T04:00:00Z".parse().unwrap()).unwrap();
        newer.journal(&begin).unwrap();
        newer
            .journal(&Entry::RecreateEnd {
                step: "rbac".into(),
                object,
                ending: crate::journal::Ending::Created,
            })
            .unwrap();
        // The newer run finished its recreate; the older one did not.
        assert_eq!(newest_unfinished(&root, "ns"), Some(older.path.clone()));
        assert_eq!(newest_unfinished(&root, "other"), None);
    }
}
