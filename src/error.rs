//! The one user-facing error type: every variant names what went wrong, maps to a
//! documented exit code, and may carry a hint saying what to do next.

use std::fmt;

/// Exit codes, documented in the README and `--help`. One constant each so the code,
/// the docs and the tests cannot drift apart.
pub mod exit {
    /// Success (for `check`: no failing signal).
    pub const OK: u8 = 0;
    /// `check` found at least one failing signal; `repair` ran but signals still fail
    /// after it (steps refused, left manual, or not run without a database).
    pub const FAILING_SIGNALS: u8 = 1;
    /// Usage or input error, also a prompt needed without a terminal and without `--yes`.
    pub const USAGE: u8 = 2;
    /// The cluster is unreachable or rejected the credentials (or, before `repair`
    /// writes, a LIST failed by accident).
    pub const UNREACHABLE: u8 = 3;
    /// The API server forbade a request (RBAC).
    pub const FORBIDDEN: u8 = 4;
    /// A repair was stopped at a prompt.
    pub const STOPPED_AT_PROMPT: u8 = 5;
    /// A repair step was applied but its verification failed.
    pub const VERIFY_FAILED: u8 = 6;
    /// Another writer changed an object triage was repairing, and reading again and
    /// re-planning once did not resolve it: nothing of triage's was overwritten.
    pub const CONFLICT: u8 = 7;
    /// A step failed after part of it was applied (e.g. the delete of a recreate went
    /// through, the create did not): the run directory holds the backup to restore.
    pub const PARTIALLY_APPLIED: u8 = 8;
    /// `repair` did every step and no selected signal still fails, but an app in the
    /// profile's status ConfigMap did not read Healthy before `--wait` ran out (its
    /// reconciler is not running, or slower): distinct from 1, where triage knows a
    /// signal still fails.
    pub const NOT_GREEN_IN_TIME: u8 = 9;
}

/// What went wrong, in words an on-call engineer can act on.
#[derive(Debug, thiserror::Error)]
pub enum TriageError {
    /// Bad flags or arguments.
    #[error("{message}")]
    Usage {
        message: String,
        hint: Option<String>,
    },
    /// A snapshot, profile or other input file that cannot be used.
    #[error("{message}")]
    Input {
        message: String,
        hint: Option<String>,
    },
    /// The namespace does not exist (live) or is not in the snapshot (offline).
    #[error("namespace `{namespace}` {where_}")]
    UnknownNamespace {
        namespace: String,
        where_: String,
        hint: Option<String>,
    },
    /// No kubeconfig, no route to the server, TLS failure, rejected credentials.
    #[error("{message}")]
    Unreachable {
        message: String,
        hint: Option<String>,
    },
    /// Someone else changed the object between triage's read and its write (a 409
    /// precondition failure or a failed JSON-patch `test`): nothing was overwritten.
    #[error("{message}")]
    Conflict { message: String },
    /// A step was applied but did not achieve what it is for (a migration Job failed,
    /// the database lacks the tables a schema needs).
    #[error("{message}")]
    VerifyFailed { message: String },
    /// A step failed after some of its writes were applied; `cause` is why it failed.
    // The cause is printed by the error chain (`: cause`), not repeated here.
    #[error("{applied}; the step stopped")]
    PartiallyApplied {
        /// What was applied before the failure (`deleted rolebinding/x`).
        applied: String,
        #[source]
        cause: Box<TriageError>,
        /// The restore command for the run's backups.
        restore: String,
    },
    /// The API server refused a request for a reason other than RBAC or a conflict
    /// (422 Invalid, 409 AlreadyExists, 404 ...). The server's `Status` is kept whole as
    /// data (reason, `details.causes[].field`) so callers decide from its structure,
    /// never from the message text (e.g. [`immutable_fields`]).
    #[error("the API server refused {what}: {} ({})", status.message, status.code)]
    Refused {
        /// What triage was doing (`replacing RoleBinding `x``).
        what: String,
        status: Box<kube::core::Status>,
        hint: Option<String>,
    },
    /// RBAC said no.
    #[error("{message}")]
    Forbidden {
        message: String,
        hint: Option<String>,
    },
}

impl TriageError {
    pub fn usage(message: impl Into<String>, hint: impl Into<Option<String>>) -> Self {
        Self::Usage {
            message: message.into(),
            hint: hint.into(),
        }
    }

    pub fn input(message: impl Into<String>, hint: impl Into<Option<String>>) -> Self {
        Self::Input {
            message: message.into(),
            hint: hint.into(),
        }
    }

    pub fn unreachable(message: impl Into<String>, hint: impl Into<Option<String>>) -> Self {
        Self::Unreachable {
            message: message.into(),
            hint: hint.into(),
        }
    }

    pub fn forbidden(message: impl Into<String>, hint: impl Into<Option<String>>) -> Self {
        Self::Forbidden {
            message: message.into(),
            hint: hint.into(),
        }
    }

    /// The documented exit code of this error.
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Usage { .. }
            | Self::Input { .. }
            | Self::UnknownNamespace { .. }
            | Self::Refused { .. } => exit::USAGE,
            Self::Conflict { .. } => exit::CONFLICT,
            Self::PartiallyApplied { .. } => exit::PARTIALLY_APPLIED,
            Self::Unreachable { .. } => exit::UNREACHABLE,
            Self::VerifyFailed { .. } => exit::VERIFY_FAILED,
            Self::Forbidden { .. } => exit::FORBIDDEN,
        }
    }

    pub fn hint(&self) -> Option<&str> {
        match self {
            Self::Usage { hint, .. }
            | Self::Input { hint, .. }
            | Self::UnknownNamespace { hint, .. }
            | Self::Unreachable { hint, .. }
            | Self::Refused { hint, .. }
            | Self::Forbidden { hint, .. } => hint.as_deref(),
            Self::Conflict { .. } => {
                Some("the object changed while triage worked on it: run again to re-plan")
            }
            Self::PartiallyApplied { restore, .. } => Some(restore.as_str()),
            Self::VerifyFailed { .. } => None,
        }
    }
}

/// The fields an update was refused for because they cannot change after creation,
/// read from the API's structured status: reason `Invalid` (422) whose every
/// `details.causes[]` names a field with cause type `FieldValueInvalid` or
/// `FieldValueForbidden`. `None` for any other refusal.
///
/// NB: Kubernetes reports immutability as a field error on update, never as a reason
/// of its own: `ValidateImmutableField` gives `field.Invalid(path, v, "field is
/// immutable")` (FieldValueInvalid), RoleBinding's roleRef `field.Invalid(roleRef,
/// ..., "cannot change roleRef")`, a claim's spec `field.Forbidden(spec, "spec is
/// immutable after creation except ...")` (FieldValueForbidden); the messages differ,
/// the cause types and fields do not (k8s.io/apimachinery/pkg/api/validation,
/// pkg/apis/rbac/validation, pkg/apis/core/validation). The caller still dry-runs the
/// create of the whole object, so a value that is invalid on its own is refused there.
pub fn immutable_fields(error: &TriageError) -> Option<Vec<String>> {
    let TriageError::Refused { status, .. } = error else {
        return None;
    };
    if status.reason != "Invalid" {
        return None;
    }
    let causes = status.details.as_ref().map(|d| d.causes.as_slice())?;
    let immutable = |cause: &kube::core::response::StatusCause| {
        !cause.field.is_empty()
            && matches!(
                cause.reason.as_str(),
                "FieldValueInvalid" | "FieldValueForbidden"
            )
    };
    if causes.is_empty() || !causes.iter().all(immutable) {
        return None;
    }
    let mut fields: Vec<String> = causes.iter().map(|c| c.field.clone()).collect();
    fields.dedup();
    Some(fields)
}

/// Renders any error chain as the single line triage prints on stderr:
/// `error: what: why; hint` (causes joined with `: ` like anyhow's alternate format),
/// so a responder reads one line and knows what to do.
pub struct Report<'a>(pub &'a anyhow::Error);

impl fmt::Display for Report<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "error: {:#}", self.0)?;
        let hint = self
            .0
            .chain()
            .find_map(|cause| cause.downcast_ref::<TriageError>())
            .and_then(TriageError::hint);
        if let Some(hint) = hint {
            write!(f, "; {hint}")?;
        }
        Ok(())
    }
}

/// The exit code for any error: a [`TriageError`] anywhere in the chain decides it,
/// anything else is an internal failure reported as a usage/input error.
pub fn exit_code_of(error: &anyhow::Error) -> u8 {
    error
        .chain()
        .find_map(|cause| cause.downcast_ref::<TriageError>())
        .map_or(exit::USAGE, TriageError::exit_code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_variant_maps_to_its_documented_code() {
        assert_eq!(TriageError::usage("x", None).exit_code(), 2);
        assert_eq!(TriageError::input("x", None).exit_code(), 2);
        assert_eq!(TriageError::unreachable("x", None).exit_code(), 3);
        assert_eq!(TriageError::forbidden("x", None).exit_code(), 4);
        let conflict = TriageError::Conflict {
            message: "x".into(),
        };
        assert_eq!(conflict.exit_code(), exit::CONFLICT);
        let partial = TriageError::PartiallyApplied {
            applied: "deleted rolebinding/x".into(),
            cause: Box::new(TriageError::input("create refused", None)),
            restore: "triage restore /tmp/run".into(),
        };
        assert_eq!(partial.exit_code(), exit::PARTIALLY_APPLIED);
        assert_eq!(
            partial.to_string(),
            "deleted rolebinding/x; the step stopped"
        );
        assert_eq!(partial.hint(), Some("triage restore /tmp/run"));
        // The cause stays data, not only text.
        let source = std::error::Error::source(&partial).unwrap();
        assert_eq!(source.to_string(), "create refused");
        let line = Report(&anyhow::Error::new(partial)).to_string();
        assert_eq!(
            line,
            "error: deleted rolebinding/x; the step stopped: create refused; triage restore /tmp/run"
        );
    }

    #[test]
    fn exit_code_is_found_below_context_frames() {
        let err = anyhow::Error::new(TriageError::forbidden("cannot list pods", None))
            .context("loading namespace `bleater`");
        assert_eq!(exit_code_of(&err), exit::FORBIDDEN);
    }

    #[test]
    fn report_is_one_line_with_causes_and_hint() {
        let err = anyhow::Error::new(TriageError::unreachable(
            "cannot reach `https://127.0.0.1:1`",
            Some("check --context".to_string()),
        ))
        .context("loading namespace `bleater`");
        let text = Report(&err).to_string();
        assert_eq!(
            text,
            "error: loading namespace `bleater`: cannot reach `https://127.0.0.1:1`; check --context"
        );
    }

    /// Every kind of error line a user can see, as `exit N | error: ...`: the API
    /// server's refusals as the live client and the fake classify them, and each
    /// variant the commands build.
    #[test]
    fn user_facing_error_lines() {
        use crate::cluster::classify_status;
        use crate::cluster::fake::status;
        let server = "https://10.0.0.1:6443";
        let what = "creating RoleBinding `runner`";
        let errors: Vec<(&str, anyhow::Error)> = vec![
            ("401", classify_status(&status(401, "Unauthorized", "Unauthorized", &[]), server, what).into()),
            ("403", classify_status(&status(403, "Forbidden", "rolebindings.rbac.authorization.k8s.io is forbidden: User \"dev\" cannot create resource \"rolebindings\"", &[]), server, what).into()),
            ("409 AlreadyExists", classify_status(&status(409, "AlreadyExists", "rolebindings.rbac.authorization.k8s.io \"runner\" already exists", &[]), server, what).into()),
            ("409 Conflict", classify_status(&status(409, "Conflict", "Operation cannot be fulfilled on rolebindings.rbac.authorization.k8s.io \"runner\": the object has been modified", &[]), server, what).into()),
            ("422 bare (a failed patch test: the executor reads again)", classify_status(&status(422, "", "the server rejected our request due to an error in our request: testing value /metadata/resourceVersion failed: test failed", &[]), server, "patching ConfigMap `lock`").into()),
            ("422 Invalid", classify_status(&status(422, "Invalid", "RoleBinding.rbac.authorization.k8s.io \"runner\" is invalid: roleRef: Invalid value: cannot change roleRef", &[("FieldValueInvalid", "roleRef")]), server, "replacing RoleBinding `runner`").into()),
            ("usage", TriageError::usage("no terminal to confirm changes on, and --yes was not given: nothing was changed", Some("run in a terminal, preview with --dry-run, or pass --yes to apply without asking".to_string())).into()),
            ("input", TriageError::input("run directory `/runs/r` holds no backups", None).into()),
            ("unknown namespace", TriageError::UnknownNamespace { namespace: "bleatr".into(), where_: "is not in snapshot `incident.yaml`".into(), hint: Some("it holds: bleater".into()) }.into()),
            ("unreachable", anyhow::Error::new(TriageError::unreachable("cannot reach `https://127.0.0.1:1` while listing pods: connection refused", Some("check the network, --context and the server's certificate".to_string()))).context("loading namespace `bleater`")),
            ("verify", TriageError::VerifyFailed { message: "job/bleat-schema-migrate failed: BackoffLimitExceeded; the cascade stops here".into() }.into()),
            ("partial", TriageError::PartiallyApplied { applied: "deleted rolebinding/runner and, when its new version was refused, created the original again from the backup".into(), cause: Box::new(TriageError::forbidden("forbidden while creating RoleBinding `runner`: user may not bind", None)), restore: "to undo: triage restore /runs/r".into() }.into()),
        ];
        let lines: Vec<String> = errors
            .iter()
            .map(|(label, error)| {
                format!("{label}: exit {} | {}", exit_code_of(error), Report(error))
            })
            .collect();
        insta::assert_snapshot!(lines.join("\n"));
    }
}
