//! What a signal sees ([`Context`]: the snapshot, the namespace, the optional profile,
//! the capture time, optional live answers) and what it says ([`Finding`]: a status,
//! the objects involved, the evidence as data, a one-line fix).

use std::any::Any;
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::Arc;

use jiff::Timestamp;
use k8s_openapi::api::core::v1::{Event, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::k8s::rbac::AccessAnswers;
use crate::profile::Profile;
use crate::snapshot::{Gap, HasMeta, Kind, Snapshot, in_namespace};

/// How long a pod may sit Pending, ContainerCreating or unscheduled before a signal
/// calls it stuck: the scheduler and kubelet retry on their own for a while, and a pod
/// created seconds before the capture is normal start-up, not a fault.
pub const STARTUP_GRACE: jiff::SignedDuration = jiff::SignedDuration::from_secs(120);

/// The label that names an app when no profile says otherwise.
pub const DEFAULT_APP_LABEL: &str = "app.kubernetes.io/name";
/// The older, shorter app label many charts and manifests still use; read when an
/// object has no `app.kubernetes.io/name` and no profile says which label to read.
pub const FALLBACK_APP_LABEL: &str = "app";

/// Everything a signal may read. Signals never do I/O: a live answer (e.g. a
/// SubjectAccessReview) is gathered by the caller and handed in here.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    pub snapshot: &'a Snapshot,
    pub namespace: &'a str,
    pub profile: Option<&'a Profile>,
    /// The moment ages are computed against (the snapshot's capture time).
    pub now: Option<Timestamp>,
    /// Live answers to "can the migration ServiceAccount do X?", when the caller
    /// asked the API server. Offline evaluation works without them.
    pub access: Option<&'a AccessAnswers>,
}

impl<'a> Context<'a> {
    pub fn new(snapshot: &'a Snapshot, namespace: &'a str) -> Self {
        Self {
            snapshot,
            namespace,
            profile: None,
            now: snapshot.captured_at,
            access: None,
        }
    }

    pub fn with_profile(mut self, profile: Option<&'a Profile>) -> Self {
        self.profile = profile;
        self
    }

    /// The label key that names an app.
    pub fn app_label(&self) -> &'a str {
        self.profile
            .and_then(|p| p.status.as_ref())
            .map_or(DEFAULT_APP_LABEL, |s| s.app_label.as_str())
    }

    /// The app an object belongs to, if any: with a profile, as its `status.apps` says
    /// (the app label's value, or the key whose selector matches); without one,
    /// `app.kubernetes.io/name`, else `app`.
    pub fn app_of(&self, meta: &ObjectMeta) -> Option<String> {
        let labels = meta.labels.as_ref()?;
        match self.profile.and_then(|p| p.status.as_ref()) {
            Some(status) => status.app_of(labels),
            None => labels
                .get(DEFAULT_APP_LABEL)
                .or_else(|| labels.get(FALLBACK_APP_LABEL))
                .cloned(),
        }
    }

    /// The apps the status ConfigMap reports on (profile), else every app label value
    /// among the namespace's pods, sorted.
    pub fn apps(&self) -> Vec<String> {
        if let Some(status) = self.profile.and_then(|p| p.status.as_ref()) {
            return status.apps.keys();
        }
        let mut apps: Vec<String> = in_namespace(&self.snapshot.pods, self.namespace)
            .into_iter()
            .filter_map(|pod| self.app_of(&pod.metadata))
            .collect();
        apps.sort();
        apps.dedup();
        apps
    }

    /// Pods of the managed apps: with a profile, pods whose app label names one of its
    /// apps; without one, every pod in the namespace.
    pub fn app_pods(&self) -> Vec<&'a Pod> {
        let pods = in_namespace(&self.snapshot.pods, self.namespace);
        match self.profile.and_then(|p| p.status.as_ref()) {
            Some(status) => pods
                .into_iter()
                .filter(|pod| {
                    self.app_of(&pod.metadata)
                        .is_some_and(|app| status.apps.keys().contains(&app))
                })
                .collect(),
            None => pods,
        }
    }

    /// The scope for a fault that holds back `apps_found`: only the apps this context
    /// knows; an object of no known app holds back the whole namespace.
    pub fn scope(&self, apps_found: Vec<String>) -> Scope {
        let known = self.apps();
        Scope::from_apps(
            apps_found
                .into_iter()
                .filter(|a| known.contains(a))
                .collect(),
        )
    }

    /// How long before the capture time `time` was; `None` without either.
    pub fn age(
        &self,
        time: Option<&k8s_openapi::apimachinery::pkg::apis::meta::v1::Time>,
    ) -> Option<jiff::SignedDuration> {
        let now = self.now?;
        Some(now.duration_since(time?.0))
    }

    /// Warning events about `kind`/`name`, oldest first.
    pub fn warnings_for(&self, kind: Kind, name: &str) -> Vec<&'a Event> {
        self.events_for(kind, name)
            .into_iter()
            .filter(|e| e.type_.as_deref() == Some("Warning"))
            .collect()
    }

    /// Labels that mark objects another owner manages (profile), for markers::ownership.
    pub fn owner_labels(&self) -> &'a [String] {
        self.profile.map_or(&[], |p| p.owner_labels.as_slice())
    }

    /// Events in the namespace about `kind`/`name`, oldest first.
    pub fn events_for(&self, kind: Kind, name: &str) -> Vec<&'a Event> {
        self.snapshot
            .events_about(self.namespace, kind.name(), name)
    }
}

/// The verdict of one signal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Checked, nothing wrong.
    Ok,
    /// The fault is present.
    Fail,
    /// Could not be decided (the reason says why); never counts as failing.
    Unknown,
    /// Informational; never counts as failing.
    Info,
}

impl Status {
    pub fn name(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Fail => "fail",
            Status::Unknown => "unknown",
            Status::Info => "info",
        }
    }
}

/// An object a finding is about.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct ObjectRef {
    pub kind: String,
    /// Empty for cluster-scoped objects.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub namespace: String,
    pub name: String,
}

impl ObjectRef {
    pub fn new(kind: Kind, namespace: &str, name: &str) -> Self {
        Self {
            kind: kind.name().to_string(),
            namespace: if kind.namespaced() {
                namespace.to_string()
            } else {
                String::new()
            },
            name: name.to_string(),
        }
    }

    pub fn of<K: HasMeta>(kind: Kind, object: &K) -> Self {
        Self::new(kind, object.namespace(), object.name())
    }

    /// `kind/name` as kubectl spells it (`configmap/bleat-db-schema`).
    pub fn short(&self) -> String {
        format!("{}/{}", self.kind.to_lowercase(), self.name)
    }
}

/// One fact a finding rests on, as data a tool can check.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase", tag = "type")]
pub enum Evidence {
    /// A field of an object and its value (`status.used.pods` = `1`).
    #[serde(rename_all = "camelCase")]
    Field {
        object: ObjectRef,
        path: String,
        value: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        note: Option<String>,
    },
    /// An event about an object.
    #[serde(rename_all = "camelCase")]
    Event {
        object: ObjectRef,
        reason: String,
        message: String,
        count: i32,
    },
    /// A line of a script held in a ConfigMap key.
    #[serde(rename_all = "camelCase")]
    Line {
        object: ObjectRef,
        key: String,
        line: usize,
        text: String,
        note: String,
    },
    /// The last lines a container of a Pod wrote (`kubectl logs [--previous]`), oldest
    /// first; `previous` when they are of the instance before the last restart.
    #[serde(rename_all = "camelCase")]
    Log {
        object: ObjectRef,
        container: String,
        previous: bool,
        lines: Vec<String>,
    },
    /// Logs of these containers of a Pod were wanted but could not be fetched.
    #[serde(rename_all = "camelCase")]
    LogGap {
        object: ObjectRef,
        containers: Vec<String>,
        gap: Gap,
    },
}

impl Evidence {
    pub fn field(object: &ObjectRef, path: impl Into<String>, value: impl Into<String>) -> Self {
        Self::Field {
            object: object.clone(),
            path: path.into(),
            value: value.into(),
            note: None,
        }
    }

    pub fn field_note(
        object: &ObjectRef,
        path: impl Into<String>,
        value: impl Into<String>,
        note: impl Into<String>,
    ) -> Self {
        Self::Field {
            object: object.clone(),
            path: path.into(),
            value: value.into(),
            note: Some(note.into()),
        }
    }

    pub fn event(event: &Event) -> Self {
        let involved = &event.involved_object;
        Self::Event {
            object: ObjectRef {
                kind: involved.kind.clone().unwrap_or_default(),
                namespace: involved.namespace.clone().unwrap_or_default(),
                name: involved.name.clone().unwrap_or_default(),
            },
            reason: event.reason.clone().unwrap_or_default(),
            message: event.message.clone().unwrap_or_default().trim().to_string(),
            count: event.count.unwrap_or(1),
        }
    }

    /// The evidence in one short line, for tables.
    pub fn short(&self) -> String {
        match self {
            Evidence::Field {
                object,
                path,
                value,
                note,
            } => {
                let mut text = format!("{} {path}={value}", object.short());
                if let Some(note) = note {
                    text.push_str(&format!(" ({note})"));
                }
                text
            }
            Evidence::Event {
                object,
                reason,
                message,
                count,
            } => format!("{} event {reason} x{count}: {message}", object.short()),
            Evidence::Line {
                object,
                key,
                line,
                text,
                note,
            } => format!("{} {key}:{line} `{text}` ({note})", object.short()),
            Evidence::Log {
                object,
                container,
                previous,
                lines,
            } => format!(
                "logs of {} container {container}{}: {} lines",
                object.short(),
                if *previous {
                    " (previous instance)"
                } else {
                    ""
                },
                lines.len()
            ),
            Evidence::LogGap {
                object,
                containers,
                gap,
            } => {
                let (what, message) = match gap {
                    Gap::Forbidden(message) => ("forbidden (pods/log)", message),
                    Gap::Failed(message) => ("not fetched", message),
                };
                format!(
                    "logs of {} ({}): {what}: {message}",
                    object.short(),
                    containers.join(", ")
                )
            }
        }
    }
}

/// Which apps a finding holds back: all of them, or some.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase", tag = "scope", content = "apps")]
pub enum Scope {
    /// Namespace-wide: every app waits on it.
    Namespace,
    /// Only these apps.
    Apps(Vec<String>),
}

impl Scope {
    pub fn covers(&self, app: &str) -> bool {
        match self {
            Scope::Namespace => true,
            Scope::Apps(apps) => apps.iter().any(|a| a == app),
        }
    }

    /// The apps of `apps_found`, or the whole namespace when none could be named.
    pub fn from_apps(mut apps_found: Vec<String>) -> Self {
        apps_found.sort();
        apps_found.dedup();
        if apps_found.is_empty() {
            Scope::Namespace
        } else {
            Scope::Apps(apps_found)
        }
    }
}

/// A signal's typed details, kept beside their serialized form.
///
/// NB: why `Any` and not an enum of every signal's details: a signal and its repair
/// share their struct (defined in the signal's file) and nothing else has to list it,
/// so adding a signal stays one file. The repair downcasts to the struct it knows; when
/// the value is absent (or of another type) it deserializes the serialized map instead,
/// which holds the same content: so two findings compare equal on their `details` map
/// alone, and `Debug` does not print the value twice.
#[derive(Clone, Default)]
struct TypedDetails(Option<Arc<dyn Any + Send + Sync>>);

impl PartialEq for TypedDetails {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl std::fmt::Debug for TypedDetails {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() { "typed" } else { "none" })
    }
}

/// What one signal found.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Finding {
    pub id: &'static str,
    pub status: Status,
    /// One line: what is wrong (or why it is fine, or why it cannot be told).
    pub summary: String,
    pub objects: Vec<ObjectRef>,
    pub evidence: Vec<Evidence>,
    /// The repair in one line; `None` when nothing is to be done.
    pub fix: Option<String>,
    /// Which apps it holds back (meaningful when failing).
    #[serde(flatten)]
    pub scope: Scope,
    /// Signal-specific numbers a repair needs (proposed limits, missing verbs, ...), as
    /// output shows them: a repairable signal's typed details serialized field by field
    /// ([`Finding::set_details`]), or loose keys ([`Finding::detail`]).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub details: BTreeMap<String, serde_json::Value>,
    /// The same details as the signal's typed struct, for its repair
    /// ([`Finding::typed_details`]).
    #[serde(skip)]
    typed: TypedDetails,
    /// Objects the evidence names as this fault's cause (the ConfigMap a pod cannot
    /// find, the quota that refused a ReplicaSet's pods, the claim a pod waits for),
    /// present in the snapshot or not. The plan links this finding to the findings
    /// about those objects: they are causes, this one their symptom.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub caused_by: Vec<ObjectRef>,
    /// For a cause that explains only some of the finding's objects (this PV keeps
    /// that claim Pending, not the others): cause -> the objects it explains. A cause
    /// absent here explains every object of the finding.
    #[serde(skip)]
    pub cause_scope: BTreeMap<ObjectRef, Vec<ObjectRef>>,
}

impl Finding {
    pub fn new(id: &'static str, status: Status, summary: impl Into<String>) -> Self {
        Self {
            id,
            status,
            summary: summary.into(),
            objects: Vec::new(),
            evidence: Vec::new(),
            fix: None,
            scope: Scope::Namespace,
            details: BTreeMap::new(),
            typed: TypedDetails::default(),
            caused_by: Vec::new(),
            cause_scope: BTreeMap::new(),
        }
    }

    pub fn ok(id: &'static str, summary: impl Into<String>) -> Self {
        Self::new(id, Status::Ok, summary)
    }

    pub fn fail(id: &'static str, summary: impl Into<String>) -> Self {
        Self::new(id, Status::Fail, summary)
    }

    pub fn unknown(id: &'static str, reason: impl Into<String>) -> Self {
        Self::new(id, Status::Unknown, reason)
    }

    pub fn detail(&mut self, key: &str, value: impl Serialize) {
        if let Ok(value) = serde_json::to_value(value) {
            self.details.insert(key.to_string(), value);
        }
    }

    /// Sets a repairable signal's details: each field of `details` becomes a key of
    /// [`Finding::details`] (so `check -o json` shows them as before), and the value
    /// itself is kept for the repair, which reads it with [`Finding::typed_details`].
    pub fn set_details<D: Serialize + Send + Sync + 'static>(&mut self, details: D) {
        if let Ok(serde_json::Value::Object(fields)) = serde_json::to_value(&details) {
            self.details.extend(fields);
        }
        self.typed = TypedDetails(Some(Arc::new(details)));
    }

    /// The details as the typed struct `D` of this finding's signal: the value the
    /// signal set, else [`Finding::details`] read back into `D` (a finding built by
    /// hand in a test, or one that went through its serialized form), so the repair
    /// sees the same struct either way. Errs, with a sentence naming the signal, when
    /// the finding has no details or they are not a `D`.
    pub fn typed_details<D>(&self) -> Result<Cow<'_, D>, String>
    where
        D: DeserializeOwned + Clone + Send + Sync + 'static,
    {
        if let Some(typed) = self.typed.0.as_ref().and_then(|t| t.downcast_ref::<D>()) {
            return Ok(Cow::Borrowed(typed));
        }
        if self.details.is_empty() {
            return Err(format!("the `{}` finding carries no details", self.id));
        }
        let map = self
            .details
            .iter()
            .map(|(key, value)| (key.clone(), value.clone()))
            .collect::<serde_json::Map<_, _>>();
        serde_json::from_value(serde_json::Value::Object(map))
            .map(Cow::Owned)
            .map_err(|e| format!("the `{}` finding's details cannot be read: {e}", self.id))
    }

    pub fn add_object(&mut self, object: ObjectRef) {
        if !self.objects.contains(&object) {
            self.objects.push(object);
        }
    }

    /// Names `object` as a cause of this finding (see [`Finding::caused_by`]).
    pub fn add_cause(&mut self, object: ObjectRef) {
        if !self.caused_by.contains(&object) {
            self.caused_by.push(object);
        }
    }

    /// Names `cause` as the cause of `effect`, one of this finding's objects only.
    pub fn add_cause_for(&mut self, effect: &ObjectRef, cause: ObjectRef) {
        let scope = self.cause_scope.entry(cause.clone()).or_default();
        if !scope.contains(effect) {
            scope.push(effect.clone());
        }
        self.add_cause(cause);
    }

    /// The objects of this finding that `cause` explains.
    pub fn explained_by(&self, cause: &ObjectRef) -> &[ObjectRef] {
        self.cause_scope
            .get(cause)
            .map_or(self.objects.as_slice(), Vec::as_slice)
    }

    pub fn failing(&self) -> bool {
        self.status == Status::Fail
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Sample {
        limit_name: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        note: Option<String>,
    }

    #[test]
    fn typed_details_serialize_field_by_field_and_are_kept() {
        let mut finding = Finding::fail("sample", "s");
        finding.set_details(Sample {
            limit_name: "pods".to_string(),
            note: None,
        });
        assert_eq!(
            serde_json::to_value(&finding).unwrap()["details"],
            serde_json::json!({"limitName": "pods"})
        );
        let typed = finding.typed_details::<Sample>().unwrap();
        assert!(
            matches!(typed, Cow::Borrowed(_)),
            "the kept value, not a copy"
        );
        assert_eq!(typed.limit_name, "pods");
    }

    #[test]
    fn details_without_the_typed_value_are_read_back_from_the_map() {
        let mut finding = Finding::fail("sample", "s");
        finding.detail("limitName", "pods");
        finding.detail("note", "by hand");
        let typed = finding.typed_details::<Sample>().unwrap();
        assert!(matches!(typed, Cow::Owned(_)));
        assert_eq!(
            *typed,
            Sample {
                limit_name: "pods".to_string(),
                note: Some("by hand".to_string())
            }
        );
    }

    #[test]
    fn missing_or_misshapen_details_are_a_sentence() {
        let finding = Finding::fail("sample", "s");
        assert_eq!(
            finding.typed_details::<Sample>().unwrap_err(),
            "the `sample` finding carries no details"
        );
        let mut finding = Finding::fail("sample", "s");
        finding.detail("note", "no limit name");
        let error = finding.typed_details::<Sample>().unwrap_err();
        assert!(
            error.starts_with(
                "the `sample` finding's details cannot be read: missing field `limitName`"
            ),
            "{error}"
        );
    }
}
