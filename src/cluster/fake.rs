//! An in-memory [`Kube`] for unit tests of the executor and `restore`: objects keyed by
//! kind/namespace/name, a resourceVersion counter, preconditions and immutable fields
//! checked like the API server does, scripted failures per call, and a log of every
//! call so a test can prove what was (and was not) written.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::time::Duration;

use kube::core::Status;
use serde_json::{Value, json};

use super::api::Kube;
use super::classify_status;
use super::write::{AccessDecision, Deleted, WriteMode};
use crate::error::TriageError;
use crate::snapshot::Kind;

type Key = (Kind, String, String);

/// A failure the next matching call returns instead of doing its work.
struct Scripted {
    verb: &'static str,
    name: String,
    mode: Option<WriteMode>,
    effect: Effect,
}

enum Effect {
    /// The call fails with this status.
    Fail(Box<Status>),
    /// Another writer changes the object just before the call runs.
    Interfere,
    /// The call gets no answer within the request timeout (nothing is done here; the
    /// caller cannot tell).
    TimeOut,
}

pub struct FakeKube {
    objects: RefCell<BTreeMap<Key, Value>>,
    version: Cell<u64>,
    scripted: RefCell<Vec<Scripted>>,
    /// Every call, as `verb [dry-run] kind/name`, in order.
    pub calls: RefCell<Vec<String>>,
    /// `(kind, field)`: replacing a different value is a 422 like the API server's.
    immutable: Vec<(Kind, &'static str)>,
    /// `(verb, resource)` pairs SelfSubjectAccessReview denies.
    denied: Vec<(&'static str, &'static str)>,
    tables: Vec<String>,
}

impl FakeKube {
    /// A cluster holding `objects` (each with apiVersion, kind, metadata); objects
    /// without uid or resourceVersion get them.
    pub fn new(objects: impl IntoIterator<Item = Value>) -> Self {
        let fake = FakeKube {
            objects: RefCell::default(),
            version: Cell::new(100),
            scripted: RefCell::default(),
            calls: RefCell::default(),
            // NB: as the API server validates updates: a RoleBinding's roleRef
            // (pkg/apis/rbac/validation) and a claim's spec (pkg/apis/core/validation).
            immutable: vec![
                (Kind::RoleBinding, "roleRef"),
                (Kind::PersistentVolumeClaim, "spec"),
            ],
            denied: Vec::new(),
            tables: Vec::new(),
        };
        for object in objects {
            let kind = kind_of(&object);
            let (namespace, name) = names(&object);
            let mut stored = object;
            if stored.pointer("/metadata/uid").is_none() {
                stored["metadata"]["uid"] = json!(format!("uid-{name}"));
            }
            if stored.pointer("/metadata/resourceVersion").is_none() {
                stored["metadata"]["resourceVersion"] = json!(fake.next_version());
            }
            fake.objects
                .borrow_mut()
                .insert((kind, namespace, name), stored);
        }
        fake
    }

    pub fn with_tables(mut self, tables: &[&str]) -> Self {
        self.tables = tables.iter().map(|t| t.to_string()).collect();
        self
    }

    pub fn deny(mut self, verb: &'static str, resource: &'static str) -> Self {
        self.denied.push((verb, resource));
        self
    }

    /// The next `verb` on `name` (in `mode`, or any mode) fails with `status`.
    pub fn fail(&self, verb: &'static str, name: &str, mode: Option<WriteMode>, status: Status) {
        self.scripted.borrow_mut().push(Scripted {
            verb,
            name: name.to_string(),
            mode,
            effect: Effect::Fail(Box::new(status)),
        });
    }

    /// Just before the next `verb` on `name` (in `mode`), another writer changes the
    /// object: a write between triage's last read and its own.
    pub fn interfere(&self, verb: &'static str, name: &str, mode: Option<WriteMode>) {
        self.scripted.borrow_mut().push(Scripted {
            verb,
            name: name.to_string(),
            mode,
            effect: Effect::Interfere,
        });
    }

    /// The next `verb` on `name` (in `mode`) times out: an error that is no answer.
    pub fn time_out(&self, verb: &'static str, name: &str, mode: Option<WriteMode>) {
        self.scripted.borrow_mut().push(Scripted {
            verb,
            name: name.to_string(),
            mode,
            effect: Effect::TimeOut,
        });
    }

    pub fn object(&self, kind: Kind, namespace: &str, name: &str) -> Option<Value> {
        self.objects
            .borrow()
            .get(&(kind, namespace.to_string(), name.to_string()))
            .cloned()
    }

    /// The calls that wrote (not dry runs, not reads).
    pub fn writes(&self) -> Vec<String> {
        self.calls
            .borrow()
            .iter()
            .filter(|c| {
                !c.contains("dry-run")
                    && ["patch ", "create ", "replace ", "delete "]
                        .iter()
                        .any(|v| c.starts_with(v))
            })
            .cloned()
            .collect()
    }

    /// Another writer changes the object (its resourceVersion moves).
    pub fn touch(&self, kind: Kind, namespace: &str, name: &str) {
        let version = self.next_version();
        if let Some(object) =
            self.objects
                .borrow_mut()
                .get_mut(&(kind, namespace.to_string(), name.to_string()))
        {
            object["metadata"]["resourceVersion"] = json!(version);
        }
    }

    fn next_version(&self) -> String {
        self.version.set(self.version.get() + 1);
        self.version.get().to_string()
    }

    fn log(&self, verb: &str, mode: Option<WriteMode>, kind: Kind, name: &str) {
        let dry = if mode == Some(WriteMode::DryRun) {
            " dry-run"
        } else {
            ""
        };
        self.calls
            .borrow_mut()
            .push(format!("{verb}{dry} {}/{name}", kind.name().to_lowercase()));
    }

    fn scripted_failure(
        &self,
        verb: &'static str,
        name: &str,
        mode: Option<WriteMode>,
        what: &str,
    ) -> Result<(), TriageError> {
        let found = {
            let mut scripted = self.scripted.borrow_mut();
            let index = scripted.iter().position(|s| {
                s.verb == verb && s.name == name && (s.mode.is_none() || s.mode == mode)
            });
            index.map(|index| scripted.remove(index))
        };
        match found.map(|s| s.effect) {
            Some(Effect::Fail(status)) => Err(refusal(&status, what)),
            Some(Effect::TimeOut) => Err(TriageError::unreachable(
                format!("cannot reach `https://fake` while {what}: operation timed out"),
                None,
            )),
            Some(Effect::Interfere) => {
                let keys: Vec<Key> = self
                    .objects
                    .borrow()
                    .keys()
                    .filter(|(_, _, n)| n == name)
                    .cloned()
                    .collect();
                for (kind, namespace, name) in keys {
                    self.touch(kind, &namespace, &name);
                }
                Ok(())
            }
            None => Ok(()),
        }
    }

    fn store(&self, kind: Kind, namespace: &str, object: Value, mode: WriteMode) -> Value {
        if mode == WriteMode::Apply {
            let name = names(&object).1;
            self.objects
                .borrow_mut()
                .insert((kind, namespace.to_string(), name), object.clone());
        }
        object
    }
}

/// A Status as the API server sends it (parsed from its JSON, as kube-rs does):
/// `code`, `reason`, and `(cause type, field)` causes.
pub fn status(code: u16, reason: &str, message: &str, causes: &[(&str, &str)]) -> Status {
    let causes: Vec<Value> = causes
        .iter()
        .map(|(reason, field)| {
            json!({"reason": reason, "field": field, "message": format!("Invalid value: {field}")})
        })
        .collect();
    serde_json::from_value(json!({
        "kind": "Status",
        "apiVersion": "v1",
        "status": "Failure",
        "code": code,
        "reason": reason,
        "message": message,
        "details": {"causes": causes},
    }))
    .expect("a Status")
}

fn refusal(status: &Status, what: &str) -> TriageError {
    classify_status(status, "https://fake", what)
}

fn kind_of(object: &Value) -> Kind {
    Kind::from_type(
        object["apiVersion"].as_str().unwrap_or_default(),
        object["kind"].as_str().unwrap_or_default(),
    )
    .unwrap_or_else(|| panic!("the fake holds known kinds only: {object}"))
}

fn names(object: &Value) -> (String, String) {
    let text = |pointer: &str| {
        object
            .pointer(pointer)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    (text("/metadata/namespace"), text("/metadata/name"))
}

fn text(object: &Value, pointer: &str) -> String {
    object
        .pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

impl Kube for FakeKube {
    fn context(&self) -> &str {
        "fake-context"
    }

    fn server(&self) -> &str {
        "https://fake"
    }

    async fn whoami(&self) -> Result<String, TriageError> {
        Ok("fake-user".to_string())
    }

    async fn can_i(
        &self,
        verb: &str,
        _group: &str,
        resource: &str,
        _namespace: &str,
        _name: Option<&str>,
    ) -> Result<AccessDecision, TriageError> {
        let denied = self
            .denied
            .iter()
            .any(|(v, r)| *v == verb && *r == resource);
        Ok(AccessDecision {
            allowed: !denied,
            reason: denied.then(|| "denied by the fake".to_string()),
        })
    }

    async fn get(
        &self,
        kind: Kind,
        namespace: &str,
        name: &str,
    ) -> Result<Option<Value>, TriageError> {
        self.log("get", None, kind, name);
        self.scripted_failure("get", name, None, &format!("reading `{name}`"))?;
        Ok(self.object(kind, namespace, name))
    }

    async fn job_pods(&self, _namespace: &str, _job: &str) -> Result<Vec<Value>, TriageError> {
        Ok(Vec::new())
    }

    async fn json_patch(
        &self,
        kind: Kind,
        namespace: &str,
        name: &str,
        patch: Value,
        mode: WriteMode,
    ) -> Result<Value, TriageError> {
        self.log("patch", Some(mode), kind, name);
        let what = format!("patching {} `{name}`", kind.name());
        self.scripted_failure("patch", name, Some(mode), &what)?;
        let Some(mut object) = self.object(kind, namespace, name) else {
            return Err(refusal(&status(404, "NotFound", "not found", &[]), &what));
        };
        let patch: json_patch::Patch = serde_json::from_value(patch).expect("a JSON patch");
        if let Err(error) = json_patch::patch(&mut object, &patch) {
            // As apiserver's patch handler: the library's error in a bare 422.
            let message = format!("the server rejected our request: {error}");
            return Err(refusal(&status(422, "Invalid", &message, &[]), &what));
        }
        object["metadata"]["resourceVersion"] = json!(self.next_version());
        Ok(self.store(kind, namespace, object, mode))
    }

    async fn create(
        &self,
        kind: Kind,
        namespace: &str,
        object: &Value,
        mode: WriteMode,
    ) -> Result<Value, TriageError> {
        let name = text(object, "/metadata/name");
        self.log("create", Some(mode), kind, &name);
        let what = format!("creating {} `{name}`", kind.name());
        self.scripted_failure("create", &name, Some(mode), &what)?;
        if self.object(kind, namespace, &name).is_some() {
            let message = format!("{} \"{name}\" already exists", kind.plural());
            return Err(refusal(&status(409, "AlreadyExists", &message, &[]), &what));
        }
        let mut created = object.clone();
        created["metadata"]["namespace"] = json!(namespace);
        created["metadata"]["uid"] = json!(format!("uid-{name}-{}", self.version.get() + 1));
        created["metadata"]["resourceVersion"] = json!(self.next_version());
        Ok(self.store(kind, namespace, created, mode))
    }

    async fn replace(
        &self,
        kind: Kind,
        namespace: &str,
        object: &Value,
        mode: WriteMode,
    ) -> Result<Value, TriageError> {
        let name = text(object, "/metadata/name");
        self.log("replace", Some(mode), kind, &name);
        let what = format!("replacing {} `{name}`", kind.name());
        self.scripted_failure("replace", &name, Some(mode), &what)?;
        let Some(current) = self.object(kind, namespace, &name) else {
            return Err(refusal(&status(404, "NotFound", "not found", &[]), &what));
        };
        if text(object, "/metadata/resourceVersion") != text(&current, "/metadata/resourceVersion")
        {
            let message = "the object has been modified; please apply your changes to the latest version and try again";
            return Err(refusal(&status(409, "Conflict", message, &[]), &what));
        }
        let changed: Vec<(&str, &str)> = self
            .immutable
            .iter()
            .filter(|(k, field)| *k == kind && object.get(*field) != current.get(*field))
            .map(|(_, field)| ("FieldValueInvalid", *field))
            .collect();
        if !changed.is_empty() {
            let message = format!("{} \"{name}\" is invalid: field is immutable", kind.name());
            return Err(refusal(&status(422, "Invalid", &message, &changed), &what));
        }
        let mut replaced = object.clone();
        replaced["metadata"]["uid"] = current["metadata"]["uid"].clone();
        replaced["metadata"]["namespace"] = json!(namespace);
        replaced["metadata"]["resourceVersion"] = json!(self.next_version());
        Ok(self.store(kind, namespace, replaced, mode))
    }

    async fn delete_exact(
        &self,
        kind: Kind,
        namespace: &str,
        name: &str,
        uid: &str,
        resource_version: &str,
        mode: WriteMode,
    ) -> Result<Deleted, TriageError> {
        self.log("delete", Some(mode), kind, name);
        let what = format!("deleting {} `{name}`", kind.name());
        self.scripted_failure("delete", name, Some(mode), &what)?;
        let Some(current) = self.object(kind, namespace, name) else {
            return Err(refusal(&status(404, "NotFound", "not found", &[]), &what));
        };
        if text(&current, "/metadata/uid") != uid
            || text(&current, "/metadata/resourceVersion") != resource_version
        {
            let message =
                "Precondition failed: UID or ResourceVersion in precondition does not match";
            return Err(refusal(&status(409, "Conflict", message, &[]), &what));
        }
        if mode == WriteMode::Apply {
            self.objects
                .borrow_mut()
                .remove(&(kind, namespace.to_string(), name.to_string()));
        }
        Ok(Deleted::Gone)
    }

    async fn wait_gone(
        &self,
        kind: Kind,
        namespace: &str,
        name: &str,
        _limit: Duration,
    ) -> Result<bool, TriageError> {
        Ok(self.object(kind, namespace, name).is_none())
    }

    async fn pod_log_tail(&self, _namespace: &str, _pod: &str, _lines: i64) -> Option<String> {
        None
    }

    async fn database_tables(
        &self,
        _database: &crate::db::Access,
        _timeout: Option<Duration>,
    ) -> Result<Vec<String>, TriageError> {
        self.calls.borrow_mut().push("tables".to_string());
        Ok(self.tables.clone())
    }
}
