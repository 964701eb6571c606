//! The write-ahead journal of a repair or restore run (`journal.jsonl` in the run
//! directory, append-only, fsync'd line by line).
//!
//! Every write the executor sends (patch, create, delete, replace; dry runs are not
//! writes) has an `intent` line, fsync'd before the request (step, verb, object, the
//! resourceVersion it expects, the backup it saved), and a `result` line after it:
//! `applied` with the new resourceVersion, `refused` with the HTTP code, or `unknown`
//! when the request failed in a way that leaves it undecided (a timeout, a reset
//! connection, a 5xx). An intent with no result (the run was killed mid-request) or
//! with an `unknown` one is an undecided write: the next `triage repair` or
//! `triage restore` names it and what to check before planning.
//!
//! A recreate (delete, then create) also has its own lines around its writes: a run
//! killed between the delete and the create (SIGKILL, a lost laptop) leaves a
//! `recreate-begin` without its `recreate-end`; the next run finds it here and, seeing
//! the object missing, offers to finish the step or put the original back.
//!
//! Pure: entries are values; reading and appending live in `backup.rs`, acting on a
//! half-done recreate and reporting undecided writes in `recovery.rs`.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::TriageError;
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
    /// Written (and fsync'd) just before a write request is sent.
    Intent(Intent),
    /// Written when the write's answer came (or its failure left it undecided).
    Result(WriteResult),
}

/// The request a write sends, as the API names it (`update` is a `replace`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verb {
    Patch,
    Create,
    Delete,
    Replace,
}

impl Verb {
    pub fn name(self) -> &'static str {
        match self {
            Verb::Patch => "patch",
            Verb::Create => "create",
            Verb::Delete => "delete",
            Verb::Replace => "replace",
        }
    }
}

/// A write about to be sent: enough for a later run to say what to check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Intent {
    pub step: String,
    pub verb: Verb,
    pub object: ObjectRef,
    /// The resourceVersion the write's precondition expects (`None` for a create).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_resource_version: Option<String>,
    /// The backup's file name in the run directory, when the write saved one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup: Option<String>,
}

impl Intent {
    /// The result line that answers this intent.
    pub fn answered(&self, outcome: Outcome) -> WriteResult {
        WriteResult {
            step: self.step.clone(),
            verb: self.verb,
            object: self.object.clone(),
            outcome,
        }
    }
}

/// How a write ended, as far as its answer tells.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WriteResult {
    pub step: String,
    pub verb: Verb,
    pub object: ObjectRef,
    pub outcome: Outcome,
}

/// What the API server's answer says about a write.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "kebab-case")]
pub enum Outcome {
    /// Persisted; the object's new resourceVersion (none after a delete).
    Applied {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        resource_version: Option<String>,
    },
    /// The server said no (a 4xx): nothing was written.
    Refused { code: u16 },
    /// No answer that settles it: it may or may not have been written.
    Unknown {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        code: Option<u16>,
        error: String,
    },
}

impl Outcome {
    /// The outcome a request's error stands for.
    // NB: a 4xx is a refusal decided before storage (validation, admission,
    // preconditions, RBAC, 429 from API Priority and Fairness). A 5xx is not: the
    // apimachinery `StatusReasonInternalError` (500) says "the outcome of the call is
    // unknown", and `StatusReasonTimeout` (504) "the request might succeed" later
    // (k8s.io/apimachinery/pkg/apis/meta/v1/types.go). No answer at all (a timeout, a
    // reset connection) leaves it undecided too.
    pub fn of_error(error: &TriageError) -> Self {
        match error {
            TriageError::Refused { status, .. } if status.code < 500 => {
                Outcome::Refused { code: status.code }
            }
            TriageError::Refused { status, .. } => Outcome::Unknown {
                code: Some(status.code),
                error: error.to_string(),
            },
            // `classify_status` makes these of a 409 and a 403 only.
            TriageError::Conflict { .. } => Outcome::Refused { code: 409 },
            TriageError::Forbidden { .. } => Outcome::Refused { code: 403 },
            other => Outcome::Unknown {
                code: None,
                error: other.to_string(),
            },
        }
    }
}

/// A write whose fate the journal does not know: its intent has no result (the run
/// was killed mid-request) or an `unknown` one (`error` says what happened).
#[derive(Debug, Clone, PartialEq)]
pub struct Undecided {
    pub intent: Intent,
    pub error: Option<String>,
}

/// The undecided writes in `entries`, in the order they were sent. Writes are sent one
/// at a time, so a result answers the intent just before it; a recreate's end (or a
/// later run's resolution of it) settles the recreate's writes on that object.
pub fn undecided(entries: &[Entry]) -> Vec<Undecided> {
    let mut found: Vec<Undecided> = Vec::new();
    let mut open: Option<Intent> = None;
    for entry in entries {
        match entry {
            Entry::Intent(intent) => {
                if let Some(unanswered) = open.replace(intent.clone()) {
                    found.push(Undecided {
                        intent: unanswered,
                        error: None,
                    });
                }
            }
            Entry::Result(result) => {
                let Some(intent) = open.take() else { continue };
                if let Outcome::Unknown { error, .. } = &result.outcome {
                    found.push(Undecided {
                        intent,
                        error: Some(error.clone()),
                    });
                }
            }
            // How a recreate ended (in its run, or resolved by a later one) says where
            // its object stands: e.g. the original put back after a create that got a
            // 503 proves that create did not go through (its name was free).
            Entry::RecreateEnd { object, .. } | Entry::RecreateResolved { object, .. } => {
                found.retain(|u| &u.intent.object != object);
                open = open.filter(|intent| &intent.object != object);
            }
            Entry::RecreateBegin { .. } | Entry::RecreateDeleted { .. } => {}
        }
    }
    found.extend(open.map(|intent| Undecided {
        intent,
        error: None,
    }));
    found
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
            Entry::Intent(_) | Entry::Result(_) => {}
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

    fn intent(verb: Verb) -> Intent {
        Intent {
            step: "rbac".into(),
            verb,
            object: binding(),
            expected_resource_version: (verb != Verb::Create).then(|| "41".to_string()),
            backup: Some("001-rolebinding-migration-runner-binding.yaml".into()),
        }
    }

    fn result(verb: Verb, outcome: Outcome) -> Entry {
        Entry::Result(intent(verb).answered(outcome))
    }

    #[test]
    fn intents_and_results_are_one_json_line_each() {
        let line = serde_json::to_string(&Entry::Intent(intent(Verb::Delete))).unwrap();
        assert_eq!(
            line,
            r#"{"event":"intent","step":"rbac","verb":"delete","object":{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"RoleBinding","namespace":"bleater","name":"migration-runner-binding"},"expected_resource_version":"41","backup":"001-rolebinding-migration-runner-binding.yaml"}"#
        );
        let applied = result(
            Verb::Create,
            Outcome::Applied {
                resource_version: Some("42".into()),
            },
        );
        let line = serde_json::to_string(&applied).unwrap();
        assert!(
            line.starts_with(r#"{"event":"result","step":"rbac","verb":"create","#)
                && line.ends_with(r#""outcome":{"result":"applied","resource_version":"42"}}"#),
            "{line}"
        );
        let refused = result(Verb::Patch, Outcome::Refused { code: 422 });
        let line = serde_json::to_string(&refused).unwrap();
        assert!(
            line.ends_with(r#""outcome":{"result":"refused","code":422}}"#),
            "{line}"
        );
        let text = format!(
            "{}\n{line}\n",
            serde_json::to_string(&Entry::Intent(intent(Verb::Patch))).unwrap()
        );
        assert_eq!(
            parse(&text).unwrap(),
            vec![Entry::Intent(intent(Verb::Patch)), refused]
        );
    }

    #[test]
    fn a_4xx_is_refused_and_a_5xx_or_no_answer_is_unknown() {
        use crate::cluster::classify_status;
        use crate::cluster::fake::status;
        let refusal = |code: u16, reason: &str| {
            Outcome::of_error(&classify_status(
                &status(code, reason, "no", &[]),
                "https://k",
                "patching ConfigMap `x`",
            ))
        };
        assert_eq!(refusal(422, "Invalid"), Outcome::Refused { code: 422 });
        assert_eq!(refusal(409, "Conflict"), Outcome::Refused { code: 409 });
        assert_eq!(
            refusal(409, "AlreadyExists"),
            Outcome::Refused { code: 409 }
        );
        assert_eq!(refusal(403, "Forbidden"), Outcome::Refused { code: 403 });
        assert_eq!(
            refusal(429, "TooManyRequests"),
            Outcome::Refused { code: 429 }
        );
        assert!(matches!(
            refusal(500, "InternalError"),
            Outcome::Unknown {
                code: Some(500),
                ..
            }
        ));
        assert!(matches!(
            refusal(504, "Timeout"),
            Outcome::Unknown {
                code: Some(504),
                ..
            }
        ));
        let reset = TriageError::unreachable("cannot reach `https://k`: connection reset", None);
        assert_eq!(
            Outcome::of_error(&reset),
            Outcome::Unknown {
                code: None,
                error: "cannot reach `https://k`: connection reset".into()
            }
        );
    }

    #[test]
    fn an_intent_without_a_result_or_with_an_unknown_one_is_undecided() {
        let applied = Outcome::Applied {
            resource_version: Some("42".into()),
        };
        let delete = Entry::Intent(intent(Verb::Delete));
        let create = Entry::Intent(intent(Verb::Create));
        // Answered, one way or the other: decided.
        assert!(undecided(&[delete.clone(), result(Verb::Delete, applied.clone())]).is_empty());
        assert!(
            undecided(&[
                delete.clone(),
                result(Verb::Delete, Outcome::Refused { code: 409 })
            ])
            .is_empty()
        );
        // Killed mid-request: the last intent has no result.
        let killed = undecided(&[
            delete.clone(),
            result(Verb::Delete, applied.clone()),
            create.clone(),
        ]);
        assert_eq!(
            killed,
            vec![Undecided {
                intent: intent(Verb::Create),
                error: None
            }]
        );
        // Timed out: a result that settles nothing.
        let timed_out = Outcome::Unknown {
            code: None,
            error: "timed out".into(),
        };
        let found = undecided(&[delete.clone(), result(Verb::Delete, timed_out)]);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].intent.verb, Verb::Delete);
        assert_eq!(found[0].error.as_deref(), Some("timed out"));
        // A later run appended to the journal after a kill: the first stays open.
        let found = undecided(&[
            delete.clone(),
            create.clone(),
            result(Verb::Create, applied),
        ]);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].intent.verb, Verb::Delete);
        // A half-done recreate resolved by a later run settles its writes.
        let resolved = Entry::RecreateResolved {
            object: binding(),
            resolution: Resolution::PutBack,
        };
        assert!(undecided(&[delete.clone(), create.clone(), resolved]).is_empty());
        let put_back = Entry::RecreateEnd {
            step: "rbac".into(),
            object: binding(),
            ending: Ending::OriginalPutBack,
        };
        let unavailable = Outcome::Unknown {
            code: Some(503),
            error: "the API server refused creating: unavailable (503)".into(),
        };
        assert!(
            undecided(&[
                create.clone(),
                result(Verb::Create, unavailable),
                create,
                result(
                    Verb::Create,
                    Outcome::Applied {
                        resource_version: Some("43".into())
                    }
                ),
                put_back
            ])
            .is_empty()
        );
    }

    #[test]
    fn a_torn_result_line_leaves_its_intent_undecided() {
        let intent_line = serde_json::to_string(&Entry::Intent(intent(Verb::Patch))).unwrap();
        let result_line =
            serde_json::to_string(&result(Verb::Patch, Outcome::Refused { code: 422 })).unwrap();
        // Killed while writing the result: half of it reached the disk.
        let text = format!("{intent_line}\n{}", &result_line[..30]);
        let entries = parse(&text).unwrap();
        assert_eq!(entries, vec![Entry::Intent(intent(Verb::Patch))]);
        assert_eq!(undecided(&entries)[0].intent, intent(Verb::Patch));
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
