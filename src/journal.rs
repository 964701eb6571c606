//! The write-ahead journal of a repair run (`journal.jsonl` in the run directory,
//! append-only, fsync'd line by line): the intent before a recreate's delete, the
//! delete's result, and how the recreate ended. A run killed between the delete and the
//! create (SIGKILL, a lost laptop) leaves a `recreate-begin` without its
//! `recreate-end`; the next `triage repair` or `triage restore` finds it here and, seeing
//! the object missing, offers to finish the step or put the original back.
//!
//! Pure: entries are values; reading and appending live in `backup.rs`, acting on a
//! half-done recreate in `recovery.rs`.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::repair::Target;
use crate::snapshot::Kind;

/// The object a journal entry is about, spelled as the API does (the journal outlives
/// this version of triage's kind table).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectRef {
    pub api_version: String,
    pub kind: String,
    pub namespace: String,
    pub name: String,
}

impl ObjectRef {
    pub fn of(target: &Target) -> Self {
        let group = target.kind.group();
        Self {
            api_version: if group.is_empty() {
                "v1".to_string()
            } else {
                format!("{group}/v1")
            },
            kind: target.kind.name().to_string(),
            namespace: target.namespace.clone(),
            name: target.name.clone(),
        }
    }

    pub fn kind(&self) -> Option<Kind> {
        Kind::from_type(&self.api_version, &self.kind)
    }

    /// `rolebinding/x`, as kubectl names objects.
    pub fn short(&self) -> String {
        format!("{}/{}", self.kind.to_lowercase(), self.name)
    }
}

/// How a recreate ended. A recreate whose outcome is not known (the delete's or the
/// create's answer was lost, or neither version could be created) gets no end: the next
/// run looks at the cluster to see where it stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Ending {
    /// The new version was created.
    Created,
    /// The new version was refused and the original was created again from the backup.
    OriginalPutBack,
}

/// One line of the journal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
pub enum Entry {
    /// Written (and fsync'd) before the delete of a recreate: everything a later run
    /// needs to finish it (the new version) or undo it (the backup's file name).
    RecreateBegin {
        step: String,
        object: ObjectRef,
        original_uid: String,
        backup: String,
        new_version: Value,
    },
    /// The delete went through and the object is gone.
    RecreateDeleted { step: String, object: ObjectRef },
    /// The recreate is over, one way or the other.
    RecreateEnd {
        step: String,
        object: ObjectRef,
        ending: Ending,
    },
    /// A later run resolved a half-done recreate (`resolution` says how).
    RecreateResolved {
        object: ObjectRef,
        resolution: Resolution,
    },
}

/// How a later run resolved a half-done recreate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Resolution {
    /// The new version was created: the step is finished.
    Finished,
    /// The original was created again from its backup.
    PutBack,
    /// The object exists again (the killed run's create went through, or someone
    /// created it): nothing to do.
    FoundPresent,
}

/// A recreate that began and never ended: the run stopped between its writes.
#[derive(Debug, Clone, PartialEq)]
pub struct HalfDone {
    pub step: String,
    pub object: ObjectRef,
    pub original_uid: String,
    /// The backup's file name in the run directory.
    pub backup: String,
    pub new_version: Value,
    /// Whether the journal saw the delete go through (it may have without a record:
    /// the kill can fall between the request and the line).
    pub delete_recorded: bool,
}

/// The recreates in `entries` that began and were neither ended nor resolved, in the
/// order they began.
pub fn half_done(entries: &[Entry]) -> Vec<HalfDone> {
    let mut open: Vec<HalfDone> = Vec::new();
    for entry in entries {
        match entry {
            Entry::RecreateBegin {
                step,
                object,
                original_uid,
                backup,
                new_version,
            } => {
                open.retain(|h| &h.object != object);
                open.push(HalfDone {
                    step: step.clone(),
                    object: object.clone(),
                    original_uid: original_uid.clone(),
                    backup: backup.clone(),
                    new_version: new_version.clone(),
                    delete_recorded: false,
                });
            }
            Entry::RecreateDeleted { object, .. } => {
                if let Some(h) = open.iter_mut().find(|h| &h.object == object) {
                    h.delete_recorded = true;
                }
            }
            Entry::RecreateEnd { object, .. } | Entry::RecreateResolved { object, .. } => {
                open.retain(|h| &h.object != object);
            }
        }
    }
    open
}

/// Parses journal lines; a torn last line (the kill fell mid-write) is skipped, any
/// other unreadable line is an error naming its number.
pub fn parse(text: &str) -> Result<Vec<Entry>, String> {
    let lines: Vec<&str> = text.lines().collect();
    let mut entries = Vec::new();
    for (index, line) in lines.iter().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<Entry>(line) {
            Ok(entry) => entries.push(entry),
            Err(_) if index + 1 == lines.len() && !text.ends_with('\n') => {}
            Err(error) => return Err(format!("line {}: {error}", index + 1)),
        }
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn binding() -> ObjectRef {
        ObjectRef::of(&Target::new(
            Kind::RoleBinding,
            "bleater",
            "migration-runner-binding",
        ))
    }

    fn begin() -> Entry {
        Entry::RecreateBegin {
            step: "rbac".into(),
            object: binding(),
            original_uid: "u-1".into(),
            backup: "002-rolebinding-migration-runner-binding.yaml".into(),
            new_version: json!({"roleRef": {"name": "v2"}}),
        }
    }

    #[test]
    fn object_refs_name_the_api_group() {
        let object = binding();
        assert_eq!(object.api_version, "rbac.authorization.k8s.io/v1");
        assert_eq!(object.kind(), Some(Kind::RoleBinding));
        assert_eq!(object.short(), "rolebinding/migration-runner-binding");
        let claim = ObjectRef::of(&Target::new(Kind::PersistentVolumeClaim, "n", "data"));
        assert_eq!(claim.api_version, "v1");
        assert_eq!(claim.kind(), Some(Kind::PersistentVolumeClaim));
    }

    #[test]
    fn a_begin_without_an_end_is_half_done() {
        let deleted = Entry::RecreateDeleted {
            step: "rbac".into(),
            object: binding(),
        };
        let found = half_done(&[begin(), deleted.clone()]);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].step, "rbac");
        assert_eq!(found[0].original_uid, "u-1");
        assert!(found[0].delete_recorded);
        // Killed between the delete request and its journal line.
        assert!(!half_done(&[begin()])[0].delete_recorded);
    }

    #[test]
    fn an_ended_or_resolved_recreate_is_not() {
        let end = Entry::RecreateEnd {
            step: "rbac".into(),
            object: binding(),
            ending: Ending::Created,
        };
        assert!(half_done(&[begin(), end.clone()]).is_empty());
        let resolved = Entry::RecreateResolved {
            object: binding(),
            resolution: Resolution::PutBack,
        };
        assert!(half_done(&[begin(), resolved]).is_empty());
        // A later recreate of the same object that began again is open again.
        assert_eq!(half_done(&[begin(), end, begin()]).len(), 1);
    }

    #[test]
    fn lines_round_trip_and_a_torn_last_line_is_skipped() {
        let line = serde_json::to_string(&begin()).unwrap();
        assert!(
            line.starts_with(r#"{"event":"recreate-begin","step":"rbac""#),
            "{line}"
        );
        let text = format!("{line}\n{}", &line[..20]);
        assert_eq!(parse(&text).unwrap(), vec![begin()]);
        let broken = format!("{}\n{line}\n", &line[..20]);
        assert!(parse(&broken).unwrap_err().starts_with("line 1:"));
    }
}
