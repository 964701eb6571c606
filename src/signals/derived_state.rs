//! `derived-state` (informational, never failing): objects a controller writes rather
//! than people: ConfigMaps with a controller among their managedFields managers
//! (https://kubernetes.io/docs/reference/using-api/server-side-apply/#field-management)
//! or an `app.kubernetes.io/managed-by` label other than Helm, and always the profile's
//! status ConfigMap. They are outputs: patching them is reverted on the controller's
//! next tick; fix the input signals that feed them instead.

use k8s_openapi::api::core::v1::ConfigMap;
use serde::Serialize;

use crate::finding::{Context, Evidence, Finding, ObjectRef, Status};
use crate::k8s::field_managers::controller_managers;
use crate::signals::{Role, Signal};
use crate::snapshot::{HasMeta, Kind, in_namespace};

pub struct DerivedState;

pub const ID: &str = "derived-state";

/// The label a tool sets on what it manages.
const MANAGED_BY: &str = "app.kubernetes.io/managed-by";

/// ConfigMaps other signals read as inputs (the lock, the schema declaration, the
/// migration script): a controller may write them too, but they are what a repair
/// patches, not outputs.
fn is_input(context: &Context, cm: &ConfigMap) -> bool {
    if cm.namespace() != context.namespace {
        return false;
    }
    let name = cm.name();
    match context.profile {
        Some(profile) => {
            profile.lock.as_ref().is_some_and(|l| l.config_map == name)
                || profile
                    .schema
                    .as_ref()
                    .is_some_and(|s| s.config_map == name)
                || profile
                    .migration
                    .as_ref()
                    .and_then(|m| m.script_config_map.as_deref())
                    .is_some_and(|n| n == name)
        }
        None => name.contains("lock") || name.contains("schema") || name.contains("migration"),
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Output {
    pub object: ObjectRef,
    pub writers: Vec<String>,
    /// The signals that feed it (empty when unknown).
    pub inputs: Vec<String>,
}

/// Its section of `docs/signals.md`.
const DOCS: &str = r#"
Keys on ConfigMaps written by a controller: a managedFields manager other than kubectl
(`inventory::controller_managers`,
[field management](https://kubernetes.io/docs/reference/using-api/server-side-apply/#field-management)),
(Helm's field manager `helm` is a client, not a controller),
or an `app.kubernetes.io/managed-by` label other than Helm, and always the profile's status
ConfigMap. ConfigMaps other signals read as inputs (lock, schema, migration script) and
`kube-root-ca.crt` are excluded. Marked as outputs with the signals that feed them (for
the status ConfigMap, the reconciler's AND-chain) and the warning that patching them is
reverted. Never failing.
"#;

impl Signal for DerivedState {
    fn id(&self) -> &'static str {
        ID
    }

    fn title(&self) -> &'static str {
        "controller-written outputs (do not patch)"
    }

    fn reads(&self) -> &'static [Kind] {
        &[Kind::ConfigMap]
    }

    fn role(&self) -> Role {
        Role::Output {
            not_written: "refused: it is an output its controller rewrites within seconds; triage repairs its inputs instead",
        }
    }

    fn rationale(&self) -> Option<&'static str> {
        Some("outputs are verified last")
    }

    fn docs(&self) -> &'static str {
        DOCS
    }

    fn evaluate(&self, context: &Context) -> Finding {
        let status_ref = context
            .profile
            .and_then(|p| p.status.as_ref())
            .map(|s| &s.config_map);
        let is_status = |cm: &ConfigMap| {
            status_ref.is_some_and(|r| r.namespace == cm.namespace() && r.name == cm.name())
        };
        let mut candidates: Vec<&ConfigMap> =
            in_namespace(&context.snapshot.config_maps, context.namespace);
        candidates.extend(
            context
                .snapshot
                .config_maps
                .iter()
                .filter(|cm| is_status(cm) && cm.namespace() != context.namespace),
        );
        let mut outputs = Vec::new();
        let mut finding = Finding::new(ID, Status::Info, "");
        for cm in candidates {
            // NB: kube-root-ca.crt is written by kube-controller-manager in every
            // namespace; true but never what a responder is tempted to patch.
            if cm.name() == "kube-root-ca.crt" {
                continue;
            }
            let mut writers = controller_managers(&cm.metadata);
            let managed_by = cm
                .metadata
                .labels
                .as_ref()
                .and_then(|l| l.get(MANAGED_BY))
                .filter(|v| !v.eq_ignore_ascii_case("helm"));
            if let Some(by) = managed_by {
                writers.push(format!("{MANAGED_BY}={by}"));
            }
            if (writers.is_empty() && !is_status(cm)) || is_input(context, cm) {
                continue;
            }
            let object = ObjectRef::of(Kind::ConfigMap, cm);
            finding.add_object(object.clone());
            for manager in controller_managers(&cm.metadata) {
                finding.evidence.push(Evidence::field_note(
                    &object,
                    "metadata.managedFields[].manager",
                    manager,
                    "written by a controller",
                ));
            }
            if let Some(by) = managed_by {
                finding.evidence.push(Evidence::field(
                    &object,
                    format!("metadata.labels[{MANAGED_BY}]"),
                    by.clone(),
                ));
            }
            let inputs: Vec<String> = if is_status(cm) {
                for app in context.apps() {
                    if let Some(value) = cm.data.as_ref().and_then(|d| d.get(&app)) {
                        finding.evidence.push(Evidence::field(
                            &object,
                            format!("data.{app}"),
                            value.clone(),
                        ));
                    }
                }
                crate::signals::status_inputs()
                    .into_iter()
                    .map(str::to_string)
                    .collect()
            } else {
                Vec::new()
            };
            outputs.push(Output {
                object,
                writers,
                inputs,
            });
        }
        if outputs.is_empty() {
            return Finding::ok(ID, "no controller-written ConfigMap");
        }
        finding.summary = format!(
            "{} is written by {}: an output, patches are reverted",
            outputs
                .iter()
                .map(|o| format!("`{}`", o.object.name))
                .collect::<Vec<_>>()
                .join(", "),
            {
                let mut writers: Vec<&str> = outputs
                    .iter()
                    .flat_map(|o| o.writers.iter().map(String::as_str))
                    .collect();
                writers.sort();
                writers.dedup();
                if writers.is_empty() {
                    "a reconciler".to_string()
                } else {
                    writers.join(", ")
                }
            }
        );
        let inputs: Vec<&str> = outputs
            .iter()
            .flat_map(|o| o.inputs.iter().map(String::as_str))
            .collect();
        finding.fix = Some(if inputs.is_empty() {
            "do not patch it; fix what its controller reads".to_string()
        } else {
            format!(
                "do not patch it; fix its inputs ({}) and let the reconciler rewrite it",
                crate::signals::status_inputs().join(", ")
            )
        });
        finding.detail("outputs", &outputs);
        finding
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signals::test_support::{evaluate, evaluate_with};

    const STATUS: &str = r#"apiVersion: v1
kind: ConfigMap
metadata:
  name: app-status
  namespace: app-system
  managedFields:
  - {manager: app-reconciler, operation: Update, apiVersion: v1}
data: {web: Progressing}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  namespace: app
  managedFields:
  - {manager: kubectl-client-side-apply, operation: Update, apiVersion: v1}
data: {a: b}
"#;

    #[test]
    fn status_config_map_is_an_output_with_its_inputs() {
        let profile = "apiVersion: triage/v1alpha1\nkind: Profile\nstatus: {configMap: {namespace: app-system, name: app-status}, apps: [web]}\n";
        let finding = evaluate_with(&DerivedState, STATUS, "app", profile);
        assert_eq!(finding.status, Status::Info);
        assert_eq!(
            finding.objects,
            vec![ObjectRef::new(Kind::ConfigMap, "app-system", "app-status")]
        );
        assert!(finding.summary.contains("app-reconciler"));
        assert!(
            finding
                .evidence
                .iter()
                .any(|e| e.short().contains("data.web=Progressing"))
        );
        assert_eq!(finding.details["outputs"][0]["inputs"][0], "lock");
    }

    #[test]
    fn look_alike_kubectl_applied_config_map_is_not_derived() {
        let finding = evaluate(&DerivedState, STATUS, "app");
        assert_eq!(finding.status, Status::Ok, "{finding:?}");
    }

    #[test]
    fn look_alike_helm_written_config_map_is_not_derived() {
        let text = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: checkout-settings\n  namespace: app\n  labels: {app.kubernetes.io/managed-by: Helm, app.kubernetes.io/instance: checkout}\n  annotations: {meta.helm.sh/release-name: checkout}\n  managedFields:\n  - {manager: helm, operation: Update, apiVersion: v1}\ndata: {a: b}\n";
        let finding = evaluate(&DerivedState, text, "app");
        assert_eq!(finding.status, Status::Ok, "{finding:?}");
        // The same ConfigMap written by an operator is an output.
        let operator = text.replace("manager: helm", "manager: checkout-operator");
        let finding = evaluate(&DerivedState, &operator, "app");
        assert_eq!(finding.status, Status::Info);
        assert_eq!(
            finding.objects,
            vec![ObjectRef::new(Kind::ConfigMap, "app", "checkout-settings")]
        );
    }
}
