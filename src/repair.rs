//! Repairs: one file per signal under `repair/`, each a pure function from a failing
//! finding (and the snapshot it came from) to a [`Step`]: a value that can be printed,
//! serialized, dry-run or executed. The executor (`executor.rs`) does all I/O.
//!
//! Adding a repair:
//! 1. write `repair/<signal>.rs` with a unit struct implementing [`Repair`]: `plan`
//!    reads its signal's typed details ([`details_of`]: the struct the signal passed to
//!    `Finding::set_details`, never keys of the JSON map) and returns the step's
//!    actions, each with the full object before and after (the executor derives the
//!    JSON patch, the preview diff and the backup from them), or a [`Refusal`] saying
//!    why not; its tests at the bottom;
//! 2. list it in [`ALL`];
//! 3. write its runbook page in `docs/runbook/`.

pub mod egress;
pub mod lock;
pub mod migrate;
pub mod migration_script;
pub mod orphan_hook;
pub mod pvc;
pub mod quota;
pub mod rbac;
pub mod schema;
#[cfg(test)]
pub mod test_support;

use std::borrow::Cow;
use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::Serialize;
use serde_json::Value;

use crate::finding::{Context, Finding, Status};
use crate::plan;
use crate::snapshot::Kind;

/// What the user chose on the command line that shapes a repair.
#[derive(Debug, Clone, Default)]
pub struct RepairOptions {
    /// The moment of the repair, for audit values (the lock's `resolved-<date>-...`).
    pub now: Option<Timestamp>,
    /// Free text for audit values (`--reason`).
    pub reason: Option<String>,
    /// Quota limits to set instead of the proposal (`--set pods=8`).
    pub quota_overrides: BTreeMap<String, String>,
    /// StorageClass for a re-created claim instead of the default (`--storage-class`).
    pub storage_class: Option<String>,
}

/// One repair, for one signal.
pub trait Repair: Sync {
    /// The step's id: the signal it repairs, or its own name when a signal takes
    /// several steps (`migrate`, then `schema`).
    fn id(&self) -> &'static str;
    /// The signal it repairs; several repairs of one signal run in list order.
    fn signal(&self) -> &'static str {
        self.id()
    }
    /// The step that repairs `finding` (a failing finding of this signal), or why
    /// triage will not do it. Pure: no I/O, no clock (the time is in `options`).
    fn plan(
        &self,
        context: &Context,
        finding: &Finding,
        options: &RepairOptions,
    ) -> Result<Step, Refusal>;
}

/// Every repair, in the order of the signal list.
pub const ALL: &[&dyn Repair] = &[
    &quota::RaiseQuota,
    &rbac::RebindRole,
    &pvc::RecreateClaim,
    &egress::AllowEssentialEgress,
    &lock::ReleaseLock,
    &orphan_hook::RemoveOrphanHook,
    &migration_script::FixMigrationScript,
    &migrate::RunMigration,
    &schema::WriteSchemaFromDatabase,
];

/// The typed details `finding`'s signal set (see [`Finding::typed_details`]), or a
/// refusal saying the finding has none the repair can read.
pub fn details_of<'f, D>(id: &'static str, finding: &'f Finding) -> Result<Cow<'f, D>, Refusal>
where
    D: serde::de::DeserializeOwned + Clone + Send + Sync + 'static,
{
    finding
        .typed_details()
        .map_err(|reason| Refusal::new(id, reason))
}

/// `object` as the snapshot holds it, as JSON (uid and resourceVersion included: the
/// executor's preconditions and backups rest on them).
pub fn snapshot_value<T: Serialize>(id: &'static str, object: &T) -> Result<Value, Refusal> {
    serde_json::to_value(object).map_err(|e| Refusal::new(id, format!("cannot serialize: {e}")))
}

/// Metadata the API server sets; an object created anew must not carry them.
pub const SERVER_FIELDS: [&str; 8] = [
    "uid",
    "resourceVersion",
    "creationTimestamp",
    "managedFields",
    "generation",
    "selfLink",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
];

/// `object` (a snapshot value) made fit to be created again: server-set metadata and
/// `status` removed, everything else kept.
pub fn strip_server_fields(object: &mut Value) {
    if let Some(meta) = object.get_mut("metadata").and_then(Value::as_object_mut) {
        for field in SERVER_FIELDS {
            meta.remove(field);
        }
    }
    if let Some(map) = object.as_object_mut() {
        map.remove("status");
    }
}

/// The object an action touches (kind, namespace, name). NB: the one `Target` of the
/// crate; where traffic goes is `netpol::Destination`, which database to connect to
/// `db::DatabaseTarget`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Target {
    pub kind: Kind,
    pub namespace: String,
    pub name: String,
}

impl Target {
    pub fn new(kind: Kind, namespace: &str, name: &str) -> Self {
        Self {
            kind,
            namespace: namespace.to_string(),
            name: name.to_string(),
        }
    }

    /// `configmap/hook-reconciliation-lock`, as kubectl names objects.
    pub fn short(&self) -> String {
        format!("{}/{}", self.kind.name().to_lowercase(), self.name)
    }
}

/// One change to the cluster. `before` is always the full object as the snapshot
/// holds it: the executor re-reads it, refuses to go on if it changed (resourceVersion),
/// and saves it as the backup.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase", tag = "type")]
pub enum Action {
    /// Change the object in place: a JSON patch from `before` to `after`, guarded by a
    /// `test` on the resourceVersion.
    Patch {
        target: Target,
        before: Value,
        after: Value,
    },
    /// Create a new object.
    Create { target: Target, object: Value },
    /// Delete exactly this object (uid and resourceVersion preconditions, Background
    /// propagation, never forced) and wait until it is gone.
    Delete { target: Target, before: Value },
    /// Put `after` in place of the whole object (PUT), carrying `before`'s
    /// resourceVersion so a concurrent writer makes it a conflict (`restore`).
    Replace {
        target: Target,
        before: Value,
        after: Value,
    },
    /// Delete and create again as `after` (for immutable fields: roleRef,
    /// storageClassName). If the create fails, `before` is created again at once.
    Recreate {
        target: Target,
        before: Value,
        after: Value,
    },
    /// Create a Job and wait until it succeeds (a failure or the deadline stops the
    /// cascade). Skipped when the database already holds every table in `unless_tables`
    /// (the migration already ran; running it twice would fail on existing tables).
    RunJob {
        target: Target,
        object: Value,
        timeout_seconds: u64,
        unless_tables: Vec<String>,
        /// Migration Jobs an earlier run started that were still running when the
        /// namespace was read: waited for first, so two migrations never run against
        /// the database at once (the second fails on the tables the first created).
        #[serde(skip_serializing_if = "Vec::is_empty")]
        after_jobs: Vec<String>,
    },
    /// Read the tables the database really has; only if every one in `expected` is
    /// there, patch the schema ConfigMap (`before`): `version_key` = `version` and
    /// `tables_key` = the observed tables, sorted. Never from the migration's intent.
    WriteSchema {
        target: Target,
        before: Value,
        version_key: String,
        version: String,
        tables_key: String,
        expected: Vec<String>,
    },
}

impl Action {
    pub fn target(&self) -> &Target {
        match self {
            Action::Patch { target, .. }
            | Action::Create { target, .. }
            | Action::Delete { target, .. }
            | Action::Recreate { target, .. }
            | Action::Replace { target, .. }
            | Action::RunJob { target, .. }
            | Action::WriteSchema { target, .. } => target,
        }
    }

    /// What was done, for "deleted rolebinding/x, then: ..." lines.
    pub fn verb_past(&self) -> &'static str {
        match self {
            Action::Patch { .. } | Action::WriteSchema { .. } => "patched",
            Action::Create { .. } => "created",
            Action::Delete { .. } => "deleted",
            Action::Recreate { .. } => "recreated",
            Action::Replace { .. } => "replaced",
            Action::RunJob { .. } => "ran",
        }
    }
}

/// A repair step: what it changes, why, and what it unblocks.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Step {
    /// The step's id (the repair's id: the signal's, or its own name when a signal
    /// takes several steps); `--only`/`--skip` take it or the signal's id.
    pub id: &'static str,
    /// The signal it repairs.
    pub signal: &'static str,
    /// One line: what the step does.
    pub title: String,
    /// Why: the finding's summary.
    pub reason: String,
    /// The signals whose repair or recovery this one unblocks (from the plan graph).
    pub unblocks: Vec<&'static str>,
    /// Things to know before confirming (e.g. Argo CD self-heal may revert it).
    pub warnings: Vec<String>,
    pub actions: Vec<Action>,
}

impl Step {
    /// Whether the step belongs to the schema repair, which reads the database (the
    /// migration is skipped when the tables exist; the schema is written from them):
    /// without `--db-url` these steps cannot run.
    pub fn needs_database(&self) -> bool {
        self.actions
            .iter()
            .any(|a| matches!(a, Action::WriteSchema { .. } | Action::RunJob { .. }))
    }

    pub fn new(id: &'static str, title: impl Into<String>, finding: &Finding) -> Self {
        Self {
            id,
            signal: id,
            title: title.into(),
            reason: finding.summary.clone(),
            unblocks: Vec::new(),
            warnings: Vec::new(),
            actions: Vec::new(),
        }
    }
}

/// Why triage will not repair something (printed, never silently skipped).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Refusal {
    pub id: &'static str,
    pub reason: String,
}

impl Refusal {
    pub fn new(id: &'static str, reason: impl Into<String>) -> Self {
        Self {
            id,
            reason: reason.into(),
        }
    }
}

/// The repair plan for a namespace: steps in cascade order, what is refused, and what
/// is left for others (no repair here, or verified only).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RepairPlan {
    pub steps: Vec<Step>,
    pub refused: Vec<Refusal>,
    /// Failing signals triage has no repair for (e.g. `schema`), with the finding's fix.
    pub manual: Vec<Refusal>,
}

/// Kinds no repair may delete or recreate, whatever a repair file says: governance
/// controls are repaired in place, Secrets are never touched.
pub const NEVER_DELETED: [Kind; 2] = [Kind::ResourceQuota, Kind::NetworkPolicy];

/// Plans every repair for the failing findings, in the plan graph's order.
/// `selected(signal, step)` says whether `--only`/`--skip` keep a step.
pub fn plan_repairs(
    context: &Context,
    findings: &[Finding],
    options: &RepairOptions,
    selected: &dyn Fn(&str, &str) -> bool,
) -> RepairPlan {
    let plan = plan::build(context, findings);
    let mut result = RepairPlan {
        steps: Vec::new(),
        refused: Vec::new(),
        manual: Vec::new(),
    };
    for planned in plan
        .steps
        .iter()
        .filter(|s| s.action != plan::Treatment::Verify)
    {
        if planned.action == plan::Treatment::Decide {
            if !selected(planned.id, planned.id) {
                continue;
            }
            let summary = findings
                .iter()
                .find(|f| f.id == planned.id)
                .map_or("", |f| f.summary.as_str());
            result.manual.push(Refusal::new(
                planned.id,
                format!("unknown: {summary}; decide it before the steps it gates"),
            ));
            continue;
        }
        let held = plan::held_by(&plan.graph, planned.id);
        if !held.is_empty() {
            if !selected(planned.id, planned.id) {
                continue;
            }
            result.refused.push(Refusal::new(
                planned.id,
                format!(
                    "held back: it is gated by {}, which could not be decided (unknown is not open); settle {} first, then run repair again",
                    held.iter().map(|h| format!("`{h}`")).collect::<Vec<_>>().join(", "),
                    if held.len() == 1 { "it" } else { "them" }
                ),
            ));
            continue;
        }
        let Some(finding) = findings
            .iter()
            .find(|f| f.id == planned.id && f.status == Status::Fail)
        else {
            continue;
        };
        let repairs: Vec<&dyn Repair> = ALL
            .iter()
            .copied()
            .filter(|r| r.signal() == planned.id)
            .collect();
        if repairs.is_empty() {
            if !selected(planned.id, planned.id) {
                continue;
            }
            result.manual.push(Refusal::new(
                planned.id,
                finding
                    .fix
                    .clone()
                    .unwrap_or_else(|| "no automatic repair".to_string()),
            ));
            continue;
        }
        for repair in repairs {
            if !selected(planned.id, repair.id()) {
                continue;
            }
            match repair.plan(context, finding, options).and_then(guard) {
                Ok(mut step) => {
                    step.signal = repair.signal();
                    warn_about_argo(&mut step);
                    step.unblocks = planned.unblocks.clone();
                    result.steps.push(step);
                }
                Err(refusal) => {
                    result.refused.push(refusal);
                    // A later step of the same signal depends on this one.
                    break;
                }
            }
        }
    }
    result
}

/// The step `step` planned again from fresh findings (after a conflict), found by its
/// step id: a signal may take several steps (`migrate`, then `schema`) and only this
/// one is redone. `None` when it no longer needs repair.
pub fn replan_step(
    context: &Context,
    findings: &[Finding],
    options: &RepairOptions,
    step: &Step,
) -> Option<Step> {
    plan_repairs(context, findings, options, &|signal, id| {
        signal == step.signal && id == step.id
    })
    .steps
    .into_iter()
    .find(|s| s.id == step.id)
}

/// Objects Argo CD tracks (tracking-id annotation; a Helm release label alone is not
/// Argo CD: crate::k8s::markers) may be put back by self-heal: say so in every step that
/// writes one.
fn warn_about_argo(step: &mut Step) {
    let mut warnings = Vec::new();
    for action in &step.actions {
        let before = match action {
            Action::Patch { before, .. }
            | Action::Delete { before, .. }
            | Action::Recreate { before, .. }
            | Action::Replace { before, .. }
            | Action::WriteSchema { before, .. } => before,
            Action::Create { .. } | Action::RunJob { .. } => continue,
        };
        let Ok(meta) = serde_json::from_value::<
            k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
        >(before.get("metadata").cloned().unwrap_or_default()) else {
            continue;
        };
        let reasons = crate::k8s::markers::argo_managed(&meta);
        let target = action.target();
        let already = step
            .warnings
            .iter()
            .any(|w| w.contains("self-heal") && w.contains(&target.name));
        if !reasons.is_empty() && !already {
            warnings.push(format!(
                "Argo CD tracks {} ({}): self-heal may revert this manual change; make it in Git too",
                target.short(),
                reasons.join(", ")
            ));
        }
    }
    step.warnings.extend(warnings);
}

/// The last line of defence: a step that would delete a governance control, touch a
/// Secret, or write an object someone else's controller derives is refused whole.
pub(crate) fn guard(step: Step) -> Result<Step, Refusal> {
    for action in &step.actions {
        let target = action.target();
        if target.kind == Kind::PersistentVolume {
            // NB: a PV holds someone's data and belongs to the administrator: its
            // claimRef, phase or reclaim policy are changed by hand, never by triage.
            return Err(Refusal::new(
                step.id,
                format!(
                    "would write PersistentVolume `{}`: PVs are changed by an administrator, never by triage",
                    target.name
                ),
            ));
        }
        let destructive = matches!(action, Action::Delete { .. } | Action::Recreate { .. });
        if destructive && NEVER_DELETED.contains(&target.kind) {
            return Err(Refusal::new(
                step.id,
                format!(
                    "would delete {} `{}`: governance controls are repaired in place, never deleted",
                    target.kind.name(),
                    target.name
                ),
            ));
        }
    }
    Ok(step)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::repair::test_support::fixture_context;

    fn plan_fixture(fixture: &str, namespace: &'static str) -> RepairPlan {
        let context = fixture_context(fixture, namespace);
        let findings: Vec<Finding> = crate::signals::ALL
            .iter()
            .map(|s| s.evaluate(&context))
            .collect();
        let options = RepairOptions {
            now: context.now,
            ..RepairOptions::default()
        };
        plan_repairs(&context, &findings, &options, &|_, _| true)
    }

    #[test]
    fn a_conflict_replans_the_same_step_not_its_signals_first() {
        let context = fixture_context("bleater-incident.yaml", "bleater");
        let findings: Vec<Finding> = crate::signals::ALL
            .iter()
            .map(|s| s.evaluate(&context))
            .collect();
        let plan = plan_fixture("bleater-incident.yaml", "bleater");
        for id in ["schema", "migrate", "rbac"] {
            let step = plan.steps.iter().find(|s| s.id == id).unwrap();
            let again = replan_step(&context, &findings, &RepairOptions::default(), step)
                .unwrap_or_else(|| panic!("`{id}` still needs repair"));
            assert_eq!(again.id, id);
            assert_eq!(again.signal, step.signal);
        }
        let migrate = plan.steps.iter().find(|s| s.id == "migrate").unwrap();
        assert_eq!(migrate.signal, "schema");
    }

    #[test]
    fn incident_plan_repairs_every_layer_in_cascade_order() {
        let plan = plan_fixture("bleater-incident.yaml", "bleater");
        let ids: Vec<&str> = plan.steps.iter().map(|s| s.id).collect();
        assert_eq!(
            ids,
            [
                "quota",
                "rbac",
                "pvc",
                "egress",
                "lock",
                "orphan-hook",
                "migration-script",
                "migrate",
                "schema"
            ]
        );
        assert!(plan.refused.is_empty(), "{:?}", plan.refused);
        // `rollout` (bleat-service past its progress deadline, growth-experiments-api
        // refused by the quota) is a symptom of the init container and the quota: it is
        // verified after them, neither planned nor listed as manual work.
        assert!(plan.manual.is_empty(), "{:?}", plan.manual);
        // The governance controls are changed in place or added to, never deleted.
        for step in &plan.steps {
            for action in &step.actions {
                assert!(
                    !(matches!(action, Action::Delete { .. } | Action::Recreate { .. })
                        && NEVER_DELETED.contains(&action.target().kind)),
                    "{step:?}"
                );
            }
        }
    }

    /// Every failing finding of a repairable signal on the bundled fixtures, with its
    /// context.
    fn failing_findings() -> Vec<(Context<'static>, Finding)> {
        let mut found = Vec::new();
        for (fixture, namespace) in [
            ("bleater-incident.yaml", "bleater"),
            ("shop-incident.yaml", "shop"),
            ("orders-incident.yaml", "orders"),
            ("storage-incident.yaml", "vault"),
        ] {
            let context = fixture_context(fixture, namespace);
            for signal in crate::signals::ALL {
                if !ALL.iter().any(|r| r.signal() == signal.id()) {
                    continue;
                }
                let finding = signal.evaluate(&context);
                if finding.failing() {
                    found.push((context, finding));
                }
            }
        }
        found
    }

    #[test]
    fn a_finding_read_back_from_its_details_map_plans_the_same_step() {
        // What a repair sees through the signal's typed value and through the
        // serialized map alone (a finding that went through `check -o json`) agree.
        let mut planned = 0;
        for (context, finding) in failing_findings() {
            let mut read_back = Finding::new(finding.id, finding.status, &finding.summary);
            read_back.details = finding.details.clone();
            read_back.fix = finding.fix.clone();
            read_back.objects = finding.objects.clone();
            for repair in ALL.iter().filter(|r| r.signal() == finding.id) {
                let options = RepairOptions {
                    now: context.now,
                    ..RepairOptions::default()
                };
                let typed = repair.plan(&context, &finding, &options);
                let from_map = repair.plan(&context, &read_back, &options);
                assert_eq!(
                    typed,
                    from_map,
                    "`{}` on `{}`",
                    repair.id(),
                    context.namespace
                );
                planned += usize::from(typed.is_ok());
            }
        }
        // quota, rbac, pvc, egress, lock, orphan-hook, migration-script, migrate and
        // schema on bleater; quota (and more) on shop, pvc on vault.
        assert!(planned >= 11, "{planned} steps planned");
    }

    #[test]
    fn a_finding_without_details_is_refused_with_a_sentence() {
        let context = fixture_context("bleater-incident.yaml", "bleater");
        for repair in ALL {
            let finding = Finding::fail(repair.signal(), "hand-made, no details");
            let refusal = repair
                .plan(&context, &finding, &RepairOptions::default())
                .unwrap_err();
            assert_eq!(refusal.id, repair.id());
            assert_eq!(
                refusal.reason,
                format!("the `{}` finding carries no details", repair.signal())
            );
        }
    }

    #[test]
    fn details_of_another_shape_are_refused_not_a_panic() {
        let context = fixture_context("bleater-incident.yaml", "bleater");
        let mut finding = Finding::fail("quota", "hand-made");
        finding.detail("proposals", "not a list");
        let refusal = quota::RaiseQuota
            .plan(&context, &finding, &RepairOptions::default())
            .unwrap_err();
        assert!(
            refusal
                .reason
                .starts_with("the `quota` finding's details cannot be read: "),
            "{}",
            refusal.reason
        );
    }

    #[test]
    fn healthy_namespace_plans_nothing() {
        let plan = plan_fixture("bleater-healthy.yaml", "bleater");
        assert!(plan.steps.is_empty(), "{:?}", plan.steps);
        assert!(plan.refused.is_empty(), "{:?}", plan.refused);
        assert!(plan.manual.is_empty(), "{:?}", plan.manual);
    }

    #[test]
    fn every_repair_is_listed_once_in_signal_order() {
        let order: Vec<&str> = crate::signals::ALL.iter().map(|s| s.id()).collect();
        let positions: Vec<usize> = ALL
            .iter()
            .map(|r| order.iter().position(|id| *id == r.signal()).unwrap())
            .collect();
        // Non-decreasing: several repairs of one signal (migrate, schema) sit together.
        assert!(positions.windows(2).all(|w| w[0] <= w[1]), "{positions:?}");
        let mut ids: Vec<&str> = ALL.iter().map(|r| r.id()).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), ALL.len(), "repair ids are unique");
    }

    #[test]
    fn guard_refuses_deleting_a_quota_or_network_policy() {
        for kind in NEVER_DELETED {
            let step = Step {
                id: "quota",
                signal: "quota",
                title: "x".into(),
                reason: "x".into(),
                unblocks: vec![],
                warnings: vec![],
                actions: vec![Action::Delete {
                    target: Target::new(kind, "ns", "governance"),
                    before: Value::Null,
                }],
            };
            let refusal = guard(step).unwrap_err();
            assert!(
                refusal.reason.contains("never deleted"),
                "{}",
                refusal.reason
            );
        }
    }

    #[test]
    fn guard_refuses_any_write_to_a_persistent_volume() {
        let step = Step {
            id: "pvc",
            signal: "pvc",
            title: "x".into(),
            reason: "x".into(),
            unblocks: vec![],
            warnings: vec![],
            actions: vec![Action::Patch {
                target: Target::new(Kind::PersistentVolume, "", "pv-1"),
                before: Value::Null,
                after: Value::Null,
            }],
        };
        let refusal = guard(step).unwrap_err();
        assert!(
            refusal.reason.contains("PersistentVolume `pv-1`"),
            "{}",
            refusal.reason
        );
    }

    #[test]
    fn argo_tracked_objects_get_a_self_heal_warning() {
        let tracked = serde_json::json!({"metadata": {"name": "q", "annotations": {"argocd.argoproj.io/tracking-id": "bleater:/ResourceQuota:ns/q"}}});
        // Helm's release labels alone: not Argo CD, no self-heal warning.
        let plain = serde_json::json!({"metadata": {"name": "p", "labels": {"app.kubernetes.io/instance": "bleater", "app.kubernetes.io/managed-by": "Helm"}}});
        let mut step = Step {
            id: "quota",
            signal: "quota",
            title: "x".into(),
            reason: "x".into(),
            unblocks: vec![],
            warnings: vec![],
            actions: vec![
                Action::Patch {
                    target: Target::new(Kind::ResourceQuota, "ns", "q"),
                    before: tracked.clone(),
                    after: tracked,
                },
                Action::Patch {
                    target: Target::new(Kind::ConfigMap, "ns", "p"),
                    before: plain.clone(),
                    after: plain,
                },
            ],
        };
        warn_about_argo(&mut step);
        assert_eq!(step.warnings.len(), 1, "{:?}", step.warnings);
        assert!(
            step.warnings[0].contains("resourcequota/q") && step.warnings[0].contains("self-heal")
        );
    }

    #[test]
    fn guard_lets_in_place_patches_of_governance_through() {
        let step = Step {
            id: "quota",
            signal: "quota",
            title: "x".into(),
            reason: "x".into(),
            unblocks: vec![],
            warnings: vec![],
            actions: vec![Action::Patch {
                target: Target::new(Kind::ResourceQuota, "ns", "q"),
                before: Value::Null,
                after: Value::Null,
            }],
        };
        assert!(guard(step).is_ok());
    }
}
