//! `rbac`: point the migration ServiceAccount's RoleBinding at the Role that grants
//! what it lacks. NB: roleRef is immutable
//! (https://kubernetes.io/docs/reference/access-authn-authz/rbac/#clusterrolebinding-example):
//! a change is delete + create, with the old binding as the template so the subjects,
//! labels, annotations and ownerReferences survive.
//!
//! `kubectl.kubernetes.io/last-applied-configuration` is kept with its roleRef swung to
//! the new Role too (what `kubectl apply` of the edited export leaves), so a later
//! `kubectl apply` diffs against the truth; if it is not JSON it is dropped, with a
//! warning.

use serde_json::Value;

use super::{Action, Refusal, Repair, RepairOptions, Step, Target, details_of, snapshot_value};
use crate::finding::{Context, Finding};
use crate::k8s::markers;
use crate::k8s::rbac::{Request, role_allows};
use crate::signals::rbac::Details;
use crate::snapshot::parse::LAST_APPLIED;
use crate::snapshot::{HasMeta, Kind, in_namespace};

pub struct RebindRole;

const ID: &str = "rbac";

impl Repair for RebindRole {
    fn id(&self) -> &'static str {
        ID
    }

    fn plan(
        &self,
        context: &Context,
        finding: &Finding,
        _options: &RepairOptions,
    ) -> Result<Step, Refusal> {
        let ns = context.namespace;
        let details = details_of::<Details>(ID, finding)?;
        let account = details.service_account.as_str();
        let missing = &details.missing;
        let missing_text = missing
            .iter()
            .map(Request::describe)
            .collect::<Vec<_>>()
            .join(", ");
        let bindings = in_namespace(&context.snapshot.role_bindings, ns);
        let binding = details
            .bindings
            .iter()
            .find_map(|name| bindings.iter().find(|b| b.name() == name))
            .copied()
            .ok_or_else(|| {
                Refusal::new(
                    ID,
                    format!(
                        "ServiceAccount `{account}` has no RoleBinding to rebind; bind a Role that grants {missing_text} by hand"
                    ),
                )
            })?;
        let roles = in_namespace(&context.snapshot.roles, ns);
        // Roles that grant everything missing (re-checked here, not only trusted).
        let granting: Vec<&str> = details
            .granting_roles
            .iter()
            .filter_map(|name| roles.iter().find(|r| r.name() == name))
            .filter(|role| missing.iter().all(|request| role_allows(role, request)))
            .map(|role| role.name())
            .collect();
        let bound_elsewhere = |role: &str| -> Vec<&str> {
            bindings
                .iter()
                .filter(|b| b.name() != binding.name())
                .filter(|b| b.role_ref.kind == "Role" && b.role_ref.name == role)
                .map(|b| b.name())
                .collect()
        };
        let Some(role) = granting
            .iter()
            .find(|r| bound_elsewhere(r).is_empty())
            .or(granting.first())
            .copied()
        else {
            return Err(Refusal::new(
                ID,
                format!(
                    "no Role in `{ns}` grants everything ServiceAccount `{account}` is missing ({missing_text}); write one, then bind it"
                ),
            ));
        };

        let mut step = Step::new(ID, "", finding);
        let others = bound_elsewhere(role);
        if !others.is_empty() {
            step.warnings.push(format!(
                "Role `{role}` is also bound by `{}`: changing the Role later changes them too",
                others.join("`, `")
            ));
        }
        let argo = markers::argo_managed(&binding.metadata);
        if !argo.is_empty() {
            step.warnings.push(format!(
                "Argo CD tracks RoleBinding `{}` ({}): self-heal may revert a manual change; fix the roleRef in Git too",
                binding.name(),
                argo.join(", ")
            ));
        }
        step.warnings.push(format!(
            "between the delete and the create, `{account}` loses what `{}` grants (seconds)",
            binding.name()
        ));

        let before = snapshot_value(ID, binding)?;
        let mut after = before.clone();
        super::strip_server_fields(&mut after);
        after["roleRef"]["kind"] = Value::String("Role".to_string());
        after["roleRef"]["name"] = Value::String(role.to_string());
        if let Some(annotations) = after["metadata"]
            .get_mut("annotations")
            .and_then(Value::as_object_mut)
            && let Some(text) = annotations
                .get(LAST_APPLIED)
                .and_then(Value::as_str)
                .map(str::to_string)
        {
            match swing_last_applied(&text, role) {
                Some(updated) => {
                    annotations.insert(LAST_APPLIED.to_string(), Value::String(updated));
                }
                None => {
                    annotations.remove(LAST_APPLIED);
                    step.warnings.push(format!(
                        "`{LAST_APPLIED}` is not JSON: dropped from the new binding"
                    ));
                }
            }
        }
        step.title = format!(
            "recreate RoleBinding `{}` with roleRef Role `{role}` (was `{}`; roleRef is immutable)",
            binding.name(),
            binding.role_ref.name
        );
        step.actions.push(Action::Recreate {
            target: Target::new(Kind::RoleBinding, ns, binding.name()),
            before,
            after,
        });
        Ok(step)
    }
}

/// kubectl's last-applied JSON with its roleRef naming `role`, in kubectl's shape
/// (compact, keys sorted, a final newline when it had one). `None` if not JSON.
fn swing_last_applied(text: &str, role: &str) -> Option<String> {
    let mut applied: Value = serde_json::from_str(text).ok()?;
    if let Some(role_ref) = applied.get_mut("roleRef").and_then(Value::as_object_mut) {
        role_ref.insert("kind".to_string(), Value::String("Role".to_string()));
        role_ref.insert("name".to_string(), Value::String(role.to_string()));
    }
    let mut out = serde_json::to_string(&applied).ok()?;
    if text.ends_with('\n') {
        out.push('\n');
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::repair::test_support::{
        context_of, finding_for, fixture_context, fixture_snapshot, plan_for,
    };

    #[test]
    fn recreates_the_incident_binding_with_the_v2_role() {
        let step = plan_for(
            &fixture_context("bleater-incident.yaml", "bleater"),
            &RebindRole,
            &RepairOptions::default(),
        )
        .unwrap();
        let [
            Action::Recreate {
                target,
                before,
                after,
            },
        ] = step.actions.as_slice()
        else {
            panic!("one recreate expected: {:?}", step.actions);
        };
        assert_eq!(target.name, "migration-runner-binding");
        assert_eq!(before["roleRef"]["name"], "migration-runner-role-v1");
        assert_eq!(after["roleRef"]["name"], "migration-runner-role-v2");
        assert_eq!(after["roleRef"]["apiGroup"], "rbac.authorization.k8s.io");
        assert_eq!(after["subjects"], before["subjects"]);
        assert_eq!(after["metadata"]["name"], before["metadata"]["name"]);
        assert_eq!(after["metadata"]["labels"], before["metadata"]["labels"]);
        assert_eq!(
            after["metadata"]["annotations"]["bleater.io/change-ticket"],
            "SEC-2291"
        );
        for field in ["uid", "resourceVersion", "creationTimestamp"] {
            assert!(before["metadata"].get(field).is_some(), "{field}");
            assert!(after["metadata"].get(field).is_none(), "{field}");
        }
        // last-applied now names v2, exactly as the responders' healthy binding has it.
        let healthy = fixture_context("bleater-healthy.yaml", "bleater");
        let fixed = healthy
            .snapshot
            .role_bindings
            .iter()
            .find(|b| b.name() == "migration-runner-binding")
            .unwrap();
        assert_eq!(
            after["metadata"]["annotations"][LAST_APPLIED].as_str(),
            fixed.metadata.annotations.as_ref().unwrap()[LAST_APPLIED]
                .as_str()
                .into()
        );
        assert!(
            step.title.contains("roleRef is immutable"),
            "{}",
            step.title
        );
        assert!(!step.warnings.iter().any(|w| w.contains("Argo CD")));
    }

    #[test]
    fn argo_tracked_binding_warns_about_self_heal() {
        let mut snapshot = fixture_snapshot("bleater-incident.yaml");
        let binding = snapshot
            .role_bindings
            .iter_mut()
            .find(|b| b.name() == "migration-runner-binding")
            .unwrap();
        binding.metadata.annotations.as_mut().unwrap().insert(
            markers::ARGO_TRACKING_ID.to_string(),
            "bleater:rbac.authorization.k8s.io/RoleBinding:bleater/migration-runner-binding"
                .to_string(),
        );
        let step = plan_for(
            &context_of(snapshot, "bleater"),
            &RebindRole,
            &RepairOptions::default(),
        )
        .unwrap();
        assert!(
            step.warnings.iter().any(|w| w.contains("self-heal")),
            "{:?}",
            step.warnings
        );
    }

    #[test]
    fn look_alike_binding_with_no_granting_role_is_refused() {
        // Without v2 nothing grants create jobs / patch configmaps.
        let mut snapshot = fixture_snapshot("bleater-incident.yaml");
        snapshot
            .roles
            .retain(|r| r.name() != "migration-runner-role-v2");
        let context = context_of(snapshot, "bleater");
        let finding = finding_for(&context, &RebindRole);
        assert!(finding.failing());
        let refusal = RebindRole
            .plan(&context, &finding, &RepairOptions::default())
            .unwrap_err();
        assert!(
            refusal
                .reason
                .contains("no Role in `bleater` grants everything"),
            "{}",
            refusal.reason
        );
        assert!(
            refusal.reason.contains("create jobs.batch"),
            "{}",
            refusal.reason
        );
    }

    #[test]
    fn last_applied_keeps_kubectl_shape() {
        let text = "{\"kind\":\"RoleBinding\",\"roleRef\":{\"apiGroup\":\"g\",\"kind\":\"Role\",\"name\":\"v1\"}}\n";
        assert_eq!(
            swing_last_applied(text, "v2").unwrap(),
            text.replace("v1", "v2")
        );
        assert_eq!(swing_last_applied("not json", "v2"), None);
    }
}
