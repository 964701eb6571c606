//! Backups and the audit log of a repair run: every object is saved whole (uid and
//! resourceVersion included) before triage deletes or overwrites it, in a run
//! directory only the user can read, next to a JSON-lines audit log of every
//! mutation. `restorable` turns a backup back into a manifest the API server accepts.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use jiff::Timestamp;
use serde::Serialize;
use serde_json::Value;

use crate::error::TriageError;

/// Where run directories live: `$TRIAGE_STATE_DIR`, else `$XDG_STATE_HOME/triage/runs`,
/// else `~/.local/state/triage/runs`.
pub fn runs_root() -> Result<PathBuf, TriageError> {
    if let Some(dir) = std::env::var_os("TRIAGE_STATE_DIR") {
        return Ok(PathBuf::from(dir));
    }
    let base = std::env::var_os("XDG_STATE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".local/state")))
        .ok_or_else(|| {
            TriageError::usage(
                "cannot find a place for backups: neither XDG_STATE_HOME nor HOME is set",
                Some("set TRIAGE_STATE_DIR to a private directory".to_string()),
            )
        })?;
    Ok(base.join("triage").join("runs"))
}

/// One repair run's directory: backups, the audit log, the restore command.
#[derive(Debug, Clone)]
pub struct RunDir {
    pub id: String,
    pub path: PathBuf,
    saved: usize,
}

/// One line of the audit log.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditEntry<'a> {
    pub time: Timestamp,
    pub run_id: &'a str,
    pub context: &'a str,
    pub user: &'a str,
    pub verb: &'a str,
    pub kind: &'a str,
    pub namespace: &'a str,
    pub name: &'a str,
    pub resource_version_before: Option<&'a str>,
    pub resource_version_after: Option<&'a str>,
    pub step: &'a str,
}

impl RunDir {
    /// Creates `<root>/<time>-<namespace>` with mode 0700.
    pub fn create(root: &Path, namespace: &str, now: Timestamp) -> Result<Self, TriageError> {
        let stamp = now.strftime("%Y%m%dT%H%M%SZ").to_string();
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(root)
            .map_err(|e| io_error(root, e))?;
        // NB: two runs in the same second must not share a directory (the second
        // would number its backups from 001 again and overwrite the first's).
        let mut attempt = 1;
        loop {
            let id = match attempt {
                1 => format!("{stamp}-{namespace}"),
                n => format!("{stamp}.{n}-{namespace}"),
            };
            let path = root.join(&id);
            match fs::DirBuilder::new().mode(0o700).create(&path) {
                Ok(()) => return Ok(Self { id, path, saved: 0 }),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && attempt < 1000 => {
                    attempt += 1;
                }
                Err(e) => return Err(io_error(&path, e)),
            }
        }
    }

    /// Saves the whole object as YAML (mode 0600) and returns the file's path.
    pub fn save(&mut self, object: &Value) -> Result<PathBuf, TriageError> {
        self.saved += 1;
        let kind = object["kind"].as_str().unwrap_or("object").to_lowercase();
        let name = object
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or("unnamed");
        let path = self
            .path
            .join(format!("{:03}-{kind}-{name}.yaml", self.saved));
        let text = serde_saphyr::to_string(object).map_err(|e| {
            TriageError::input(
                format!("cannot serialize the backup of `{name}`: {e}"),
                None,
            )
        })?;
        write_private(&path, text.as_bytes(), false)?;
        Ok(path)
    }

    /// Appends one line to `audit.jsonl` (mode 0600).
    pub fn audit(&self, entry: &AuditEntry) -> Result<(), TriageError> {
        let mut line = serde_json::to_string(entry).unwrap_or_default();
        line.push('\n');
        write_private(&self.path.join("audit.jsonl"), line.as_bytes(), true)
    }

    /// Appends one entry to the write-ahead `journal.jsonl` (mode 0600, fsync'd
    /// before this returns: the entry survives a SIGKILL right after).
    pub fn journal(&self, entry: &crate::journal::Entry) -> Result<(), TriageError> {
        let mut line = serde_json::to_string(entry).unwrap_or_default();
        line.push('\n');
        write_private(&self.path.join(JOURNAL), line.as_bytes(), true)
    }

    /// Sends one write with its journal lines around it: `intent` fsync'd before the
    /// request is sent (a future does nothing until awaited), its result after,
    /// whatever the answer. `new_version` reads the resourceVersion off a success.
    pub async fn journaled<T>(
        &self,
        intent: crate::journal::Intent,
        request: impl std::future::Future<Output = Result<T, TriageError>>,
        new_version: impl Fn(&T) -> Option<String>,
    ) -> Result<T, TriageError> {
        use crate::journal::{Entry, Outcome};
        self.journal(&Entry::Intent(intent.clone()))?;
        let answer = request.await;
        let outcome = match &answer {
            Ok(written) => Outcome::Applied {
                resource_version: new_version(written),
            },
            Err(error) => Outcome::of_error(error),
        };
        let recorded = self.journal(&Entry::Result(intent.answered(outcome)));
        // The request's own failure says more than a journal that cannot be written.
        match (answer, recorded) {
            (Ok(_), Err(unrecorded)) => Err(unrecorded),
            (answer, _) => answer,
        }
    }

    /// An existing run directory, to append to its journal and audit log.
    pub fn open(path: &Path) -> Self {
        let id = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        Self {
            id,
            path: path.to_path_buf(),
            saved: 0,
        }
    }

    /// The command that puts every saved object back.
    pub fn restore_command(&self) -> String {
        format!("triage restore {}", self.path.display())
    }
}

fn io_error(path: &Path, error: std::io::Error) -> TriageError {
    TriageError::input(
        format!("cannot write `{}`: {error}", path.display()),
        Some("set TRIAGE_STATE_DIR to a writable private directory".to_string()),
    )
}

fn write_private(path: &Path, bytes: &[u8], append: bool) -> Result<(), TriageError> {
    let mut file = OpenOptions::new()
        .create(true)
        .write(true)
        .append(append)
        .truncate(!append)
        .mode(0o600)
        .open(path)
        .map_err(|e| io_error(path, e))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(|e| io_error(path, e))
}

/// The journal's file name in a run directory.
const JOURNAL: &str = "journal.jsonl";

/// The journal of a run directory (empty when it has none: a run before journals, or
/// one that wrote nothing).
pub fn read_journal(dir: &Path) -> Result<Vec<crate::journal::Entry>, TriageError> {
    let path = dir.join(JOURNAL);
    let text = match fs::read_to_string(&path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(error) => return Err(io_error(&path, error)),
    };
    crate::journal::parse(&text).map_err(|why| {
        TriageError::input(
            format!("journal `{}` cannot be read: {why}", path.display()),
            None,
        )
    })
}

/// The run directories under `root` for `namespace`, newest first (their names start
/// with the run's UTC time and end with `-<namespace>`).
pub fn runs_for(root: &Path, namespace: &str) -> Vec<PathBuf> {
    let suffix = format!("-{namespace}");
    let mut runs: Vec<PathBuf> = fs::read_dir(root)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.is_dir())
                .filter(|p| {
                    p.file_name()
                        .and_then(|n| n.to_str())
                        .and_then(|n| n.strip_suffix(&suffix))
                        // `<YYYYmmddTHHMMSSZ>[.N]`: a namespace ending in `-x` is not `x`.
                        .is_some_and(|stamp| {
                            let (time, _) = stamp.split_once('.').unwrap_or((stamp, ""));
                            time.len() == 16 && time.ends_with('Z')
                        })
                })
                .collect()
        })
        .unwrap_or_default();
    runs.sort();
    runs.reverse();
    runs
}

/// The backups of a run directory, in the order they were saved.
pub fn read_run(dir: &Path) -> Result<Vec<(PathBuf, Value)>, TriageError> {
    let entries = fs::read_dir(dir).map_err(|e| {
        TriageError::input(
            format!("cannot read run directory `{}`: {e}", dir.display()),
            Some("pass the directory printed by `triage repair`".to_string()),
        )
    })?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|ext| ext == "yaml"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|path| {
            let text = fs::read_to_string(&path).map_err(|e| io_error(&path, e))?;
            let value: Value = serde_saphyr::from_str(&text).map_err(|e| {
                TriageError::input(
                    format!("backup `{}` is not valid YAML: {e}", path.display()),
                    None,
                )
            })?;
            Ok((path, value))
        })
        .collect()
}

/// Labels the API server derives from a Job's uid.
const JOB_GENERATED_LABELS: [&str; 2] = ["controller-uid", "batch.kubernetes.io/controller-uid"];

/// A backup made fit to create again (Velero-style): the fields the server owns are
/// dropped (uid, resourceVersion, creationTimestamp, generation, managedFields,
/// deletion marks, status), and for a claim, the binding to its old volume.
pub fn restorable(mut object: Value) -> Value {
    if let Some(meta) = object.get_mut("metadata").and_then(Value::as_object_mut) {
        for field in [
            "uid",
            "resourceVersion",
            "creationTimestamp",
            "generation",
            "managedFields",
            "selfLink",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
        ] {
            meta.remove(field);
        }
    }
    if let Some(map) = object.as_object_mut() {
        map.remove("status");
    }
    if object["kind"] == "Job" {
        // NB: the API server generates a Job's selector and its controller-uid labels
        // from the Job's uid; a re-created Job must let it generate them again.
        if let Some(spec) = object.get_mut("spec").and_then(Value::as_object_mut) {
            spec.remove("selector");
        }
        for pointer in ["/metadata/labels", "/spec/template/metadata/labels"] {
            if let Some(labels) = object.pointer_mut(pointer).and_then(Value::as_object_mut) {
                labels.retain(|key, _| !JOB_GENERATED_LABELS.contains(&key.as_str()));
            }
        }
    }
    if object["kind"] == "PersistentVolumeClaim" {
        if let Some(spec) = object.get_mut("spec").and_then(Value::as_object_mut) {
            spec.remove("volumeName");
        }
        if let Some(annotations) = object
            .pointer_mut("/metadata/annotations")
            .and_then(Value::as_object_mut)
        {
            annotations
                .retain(|key, _| !crate::k8s::storage::BINDING_ANNOTATIONS.contains(&key.as_str()));
        }
    }
    object
}

/// `after` as a PUT body over `current` (the live object): the current resourceVersion
/// is the precondition (optimistic concurrency), server-owned metadata is the server's,
/// and the fields the server generated for the live object's identity, which
/// [`restorable`] strips for a create, are the live object's: a Job's selector and
/// controller-uid labels (immutable, derived from its uid), a bound claim's volumeName
/// and binding annotations. A PUT keeps the object, so they must match it.
pub fn replacing(current: &Value, after: &Value) -> Value {
    let mut body = restorable(after.clone());
    body["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"].clone();
    let mut carry = |pointer: &str, key: &str| {
        let Some(value) = current.pointer(pointer).and_then(|o| o.get(key)).cloned() else {
            return;
        };
        if let Some(into) = ensure_object(&mut body, pointer) {
            into.entry(key.to_string()).or_insert(value);
        }
    };
    match current["kind"].as_str() {
        Some("Job") => {
            carry("/spec", "selector");
            for label in JOB_GENERATED_LABELS {
                carry("/metadata/labels", label);
                carry("/spec/template/metadata/labels", label);
            }
        }
        Some("PersistentVolumeClaim") => {
            carry("/spec", "volumeName");
            for annotation in crate::k8s::storage::BINDING_ANNOTATIONS {
                carry("/metadata/annotations", annotation);
            }
        }
        _ => {}
    }
    body
}

/// The object at `pointer` in `value`, created (with its parents) when missing; `None`
/// when something that is not an object is in the way.
fn ensure_object<'a>(
    value: &'a mut Value,
    pointer: &str,
) -> Option<&'a mut serde_json::Map<String, Value>> {
    let mut at = value;
    for key in pointer.split('/').skip(1) {
        let map = at.as_object_mut()?;
        at = map
            .entry(key.to_string())
            .or_insert_with(|| Value::Object(serde_json::Map::new()));
    }
    at.as_object_mut()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn temp_root(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("triage-backup-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn backups_are_private_and_complete() {
        let root = temp_root("private");
        let mut run =
            RunDir::create(&root, "bleater", "2024-11-19T03:41:30Z".parse().unwrap()).unwrap();
        assert_eq!(run.id, "20241119T034130Z-bleater");
        let object = serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "lock", "uid": "u-1", "resourceVersion": "42"}, "data": {"status": "locked"}});
        let path = run.save(&object).unwrap();
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert_eq!(
            fs::metadata(&run.path).unwrap().permissions().mode() & 0o777,
            0o700
        );
        let read = read_run(&run.path).unwrap();
        assert_eq!(read.len(), 1);
        assert_eq!(
            read[0].1, object,
            "uid and resourceVersion are kept in the backup"
        );
        assert!(run.restore_command().starts_with("triage restore "));
    }

    #[test]
    fn runs_in_the_same_second_get_their_own_directories() {
        let root = temp_root("same-second");
        let now: Timestamp = "2024-11-19T03:41:30Z".parse().unwrap();
        let first = RunDir::create(&root, "bleater", now).unwrap();
        let second = RunDir::create(&root, "bleater", now).unwrap();
        let other = RunDir::create(&root, "x-bleater", now).unwrap();
        assert_eq!(second.id, "20241119T034130Z.2-bleater");
        assert_ne!(first.path, second.path);
        // Newest first, and `x-bleater` is not a run of `bleater`.
        assert_eq!(runs_for(&root, "bleater"), vec![second.path, first.path]);
        assert_eq!(runs_for(&root, "x-bleater"), vec![other.path]);
    }

    #[test]
    fn the_journal_is_appended_and_read_back() {
        use crate::journal::{Entry, ObjectRef};
        let root = temp_root("journal");
        let run = RunDir::create(&root, "ns", Timestamp::UNIX_EPOCH).unwrap();
        assert!(read_journal(&run.path).unwrap().is_empty());
        let object = ObjectRef::of(&crate::repair::Target::new(
            crate::snapshot::Kind::ConfigMap,
            "ns",
            "lock",
        ));
        let entry = Entry::RecreateDeleted {
            step: "lock".into(),
            object,
        };
        RunDir::open(&run.path).journal(&entry).unwrap();
        run.journal(&entry).unwrap();
        assert_eq!(read_journal(&run.path).unwrap(), vec![entry.clone(), entry]);
        assert_eq!(
            fs::metadata(run.path.join("journal.jsonl"))
                .unwrap()
                .permissions()
                .mode()
                & 0o777,
            0o600
        );
    }

    #[test]
    fn audit_log_appends_json_lines() {
        let root = temp_root("audit");
        let run = RunDir::create(&root, "ns", Timestamp::UNIX_EPOCH).unwrap();
        for verb in ["patch", "delete"] {
            run.audit(&AuditEntry {
                time: Timestamp::UNIX_EPOCH,
                run_id: &run.id,
                context: "admin",
                user: "admin",
                verb,
                kind: "ConfigMap",
                namespace: "ns",
                name: "lock",
                resource_version_before: Some("1"),
                resource_version_after: None,
                step: "lock",
            })
            .unwrap();
        }
        let text = fs::read_to_string(run.path.join("audit.jsonl")).unwrap();
        let verbs: Vec<String> = text
            .lines()
            .map(|l| {
                serde_json::from_str::<Value>(l).unwrap()["verb"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect();
        assert_eq!(verbs, vec!["patch", "delete"]);
    }

    #[test]
    fn restorable_job_lets_the_server_generate_its_selector() {
        let job = serde_json::json!({
            "apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": "j", "labels": {"app": "a", "controller-uid": "u"}, "finalizers": ["x/y"]},
            "spec": {"suspend": true, "selector": {"matchLabels": {"batch.kubernetes.io/controller-uid": "u"}},
                     "template": {"metadata": {"labels": {"batch.kubernetes.io/controller-uid": "u", "job-name": "j", "app": "a"}}}}
        });
        let clean = restorable(job);
        assert!(clean["spec"].get("selector").is_none());
        assert_eq!(
            clean["spec"]["template"]["metadata"]["labels"],
            serde_json::json!({"job-name": "j", "app": "a"})
        );
        assert_eq!(clean["metadata"]["labels"], serde_json::json!({"app": "a"}));
        assert_eq!(
            clean["metadata"]["finalizers"][0], "x/y",
            "finalizers are part of the original"
        );
    }

    #[test]
    fn replacing_a_job_keeps_the_live_jobs_generated_selector() {
        // The sweep's case: a run removed the finalizer and was cut off; restoring the
        // backup over the live Job must PUT the live selector (immutable, required).
        let generated =
            serde_json::json!({"matchLabels": {"batch.kubernetes.io/controller-uid": "u"}});
        let live = serde_json::json!({
            "apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": "j", "uid": "u", "resourceVersion": "12", "labels": {"app": "a", "controller-uid": "u"}},
            "spec": {"suspend": true, "selector": generated.clone(),
                     "template": {"metadata": {"labels": {"batch.kubernetes.io/controller-uid": "u", "job-name": "j", "app": "a"}}}}
        });
        let mut backup = live.clone();
        backup["metadata"]["resourceVersion"] = "7".into();
        backup["metadata"]["finalizers"] = serde_json::json!(["x/y"]);
        let body = replacing(&live, &backup);
        assert_eq!(body["spec"]["selector"], generated);
        assert_eq!(
            body["metadata"]["resourceVersion"], "12",
            "the live version is the precondition"
        );
        assert_eq!(
            body["metadata"]["finalizers"][0], "x/y",
            "the backup's content"
        );
        assert_eq!(body["metadata"]["labels"]["controller-uid"], "u");
        assert_eq!(
            body["spec"]["template"]["metadata"]["labels"]["batch.kubernetes.io/controller-uid"],
            "u"
        );
        assert!(body["metadata"].get("uid").is_none());
        // Nothing invented where the live object has nothing.
        let config_map = serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "c", "resourceVersion": "3"}, "data": {"k": "v"}});
        assert_eq!(
            replacing(&config_map, &config_map),
            serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": "c", "resourceVersion": "3"}, "data": {"k": "v"}})
        );
    }

    #[test]
    fn restorable_strips_server_fields_and_claim_binding() {
        let pvc = serde_json::json!({
            "apiVersion": "v1", "kind": "PersistentVolumeClaim",
            "metadata": {"name": "data", "uid": "u", "resourceVersion": "9", "creationTimestamp": "2024-01-01T00:00:00Z",
                         "labels": {"app": "db"}, "annotations": {"pv.kubernetes.io/bind-completed": "yes", "team": "x"}},
            "spec": {"volumeName": "pv-1", "storageClassName": "local-path"},
            "status": {"phase": "Bound"}
        });
        let clean = restorable(pvc);
        assert_eq!(
            clean["metadata"],
            serde_json::json!({"name": "data", "labels": {"app": "db"}, "annotations": {"team": "x"}})
        );
        assert_eq!(
            clean["spec"],
            serde_json::json!({"storageClassName": "local-path"})
        );
        assert!(clean.get("status").is_none());
    }
}
