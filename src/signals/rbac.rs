//! `rbac`: the migration ServiceAccount cannot do what the migration needs. Offline,
//! its RoleBindings' Roles, and the ClusterRoles they reference (a RoleBinding to a
//! ClusterRole grants its rules in the binding's namespace; `triage snapshot` writes
//! those ClusterRoles), are evaluated rule by rule (crate::k8s::rbac); a live
//! SubjectAccessReview answer in the context wins when present. Names the bound Role or
//! ClusterRole, what it lacks, and any unbound Role in the namespace that grants it (the
//! `-v2` pattern). Only a referenced ClusterRole missing from the snapshot makes it
//! `unknown`. https://kubernetes.io/docs/reference/access-authn-authz/rbac/

use serde::{Deserialize, Serialize};

use crate::finding::{Context, Evidence, Finding, ObjectRef, Status};
use crate::k8s::kubectl_style::rule_short;
use crate::k8s::rbac::{Request, binds_service_account, requests, role_allows, rules_allow};
use crate::signals::{Chain, ChainState, Gate, Signal};
use crate::snapshot::{HasMeta, Kind, in_namespace};

pub struct Rbac;

pub const ID: &str = "rbac";

/// Its section of `docs/signals.md`.
const DOCS: &str = r#"
Needs the profile (`migration.serviceAccount`, `migration.permissions`); without it,
`unknown`. Evaluates the Roles bound to the ServiceAccount by RoleBindings in the
namespace, rule by rule like the RBAC authorizer: `*` in verbs, apiGroups and resources;
`resourceNames` only match named requests.
[RBAC](https://kubernetes.io/docs/reference/access-authn-authz/rbac/). Names the bound
Role, the missing requests, and any unbound Role in the namespace granting all of them
(the `-v2` pattern). A RoleBinding to a ClusterRole grants the ClusterRole's rules in the
namespace: `triage snapshot` writes the ClusterRoles the namespace's RoleBindings
reference (read one by one, never listed) and the file reader keeps them, so such a
binding is evaluated offline and named (`bound ClusterRole `view``). Only a referenced
ClusterRole missing from the snapshot makes it `unknown`; in the plan an unknown gate is
not open (the steps it gates are held back). A live SubjectAccessReview answer
(`Context.access`) overrides the offline evaluation per request. Fix: recreate the
RoleBinding (roleRef is immutable). Look-alike: a binding to the role that grants it is ok.
"#;

impl Signal for Rbac {
    fn id(&self) -> &'static str {
        ID
    }

    fn title(&self) -> &'static str {
        "migration ServiceAccount permissions"
    }

    fn reads(&self) -> &'static [Kind] {
        &[
            Kind::ServiceAccount,
            Kind::RoleBinding,
            Kind::Role,
            Kind::ClusterRole,
        ]
    }

    fn chain(&self) -> Option<Chain> {
        Some(Chain {
            state: ChainState::Progressing,
            position: 4,
        })
    }

    fn gates(&self) -> &'static [Gate] {
        &[Gate {
            gated: "schema",
            because: "the migration Job cannot create jobs or patch configmaps",
        }]
    }

    fn rationale(&self) -> Option<&'static str> {
        Some("the migration runs as this ServiceAccount")
    }

    fn docs(&self) -> &'static str {
        DOCS
    }

    fn evaluate(&self, context: &Context) -> Finding {
        let migration = context.profile.and_then(|p| p.migration.as_ref());
        let (Some(account), Some(permissions)) = (
            migration.and_then(|m| m.service_account.as_deref()),
            migration.map(|m| &m.permissions).filter(|p| !p.is_empty()),
        ) else {
            return Finding::unknown(
                ID,
                "no profile names the migration ServiceAccount and the permissions it needs",
            );
        };
        let ns = context.namespace;
        let snapshot = context.snapshot;
        let account_ref = ObjectRef::new(Kind::ServiceAccount, ns, account);
        let wanted: Vec<Request> = permissions.iter().flat_map(requests).collect();
        let roles = in_namespace(&snapshot.roles, ns);
        let bindings: Vec<_> = in_namespace(&snapshot.role_bindings, ns)
            .into_iter()
            .filter(|b| binds_service_account(b, ns, account))
            .collect();

        let mut finding = Finding::ok(ID, "");
        let account_exists = in_namespace(&snapshot.service_accounts, ns)
            .iter()
            .any(|sa| sa.name() == account);
        if !account_exists && !snapshot.gaps.contains_key(&Kind::ServiceAccount) {
            finding.evidence.push(Evidence::field_note(
                &account_ref,
                "metadata.name",
                account,
                "ServiceAccount not found",
            ));
        }

        let mut bound_role_names = Vec::new();
        let mut bound_cluster_roles = Vec::new();
        // The rules of every bound Role and ClusterRole found.
        let mut bound_rules: Vec<&k8s_openapi::api::rbac::v1::PolicyRule> = Vec::new();
        let mut unevaluable = Vec::new();
        for binding in &bindings {
            let binding_ref = ObjectRef::of(Kind::RoleBinding, *binding);
            let role_ref = &binding.role_ref;
            finding.evidence.push(Evidence::field(
                &binding_ref,
                "roleRef",
                format!("{}/{}", role_ref.kind, role_ref.name),
            ));
            finding.add_object(binding_ref.clone());
            match role_ref.kind.as_str() {
                "Role" => match roles.iter().find(|r| r.name() == role_ref.name) {
                    Some(role) => {
                        bound_role_names.push(role.name().to_string());
                        bound_rules.extend(role.rules.iter().flatten());
                        let rules: Vec<String> =
                            role.rules.iter().flatten().map(rule_short).collect();
                        finding.evidence.push(Evidence::field(
                            &ObjectRef::of(Kind::Role, *role),
                            "rules",
                            format!("[{}]", rules.join("; ")),
                        ));
                    }
                    None => finding.evidence.push(Evidence::field_note(
                        &binding_ref,
                        "roleRef.name",
                        role_ref.name.clone(),
                        "the Role does not exist",
                    )),
                },
                "ClusterRole" => match snapshot
                    .cluster_roles
                    .iter()
                    .find(|r| r.name() == role_ref.name)
                {
                    Some(role) => {
                        bound_cluster_roles.push(role.name().to_string());
                        bound_rules.extend(role.rules.iter().flatten());
                        let rules: Vec<String> =
                            role.rules.iter().flatten().map(rule_short).collect();
                        finding.evidence.push(Evidence::field_note(
                            &ObjectRef::of(Kind::ClusterRole, role),
                            "rules",
                            format!("[{}]", rules.join("; ")),
                            format!("granted in `{ns}` by RoleBinding `{}`", binding.name()),
                        ));
                    }
                    None => {
                        finding.evidence.push(Evidence::field_note(
                            &binding_ref,
                            "roleRef.name",
                            role_ref.name.clone(),
                            match snapshot.gaps.get(&Kind::ClusterRole) {
                                Some(_) => "the ClusterRole could not be read",
                                None => "the ClusterRole is not in the snapshot",
                            },
                        ));
                        unevaluable.push(format!("ClusterRole `{}`", role_ref.name));
                    }
                },
                other => unevaluable.push(format!("{other} `{}`", role_ref.name)),
            }
        }
        let mut missing = Vec::new();
        let mut unknown = Vec::new();
        for request in &wanted {
            if let Some(answer) = context.access.and_then(|a| a.answer(request)) {
                finding.evidence.push(Evidence::field_note(
                    &account_ref,
                    format!("subjectAccessReview[{}]", request.describe()),
                    answer.allowed.to_string(),
                    answer
                        .reason
                        .clone()
                        .unwrap_or_else(|| "live answer".to_string()),
                ));
                if !answer.allowed {
                    missing.push(request.clone());
                }
                continue;
            }
            let granted = rules_allow(
                &bound_rules.iter().map(|r| (*r).clone()).collect::<Vec<_>>(),
                request,
            );
            if !granted {
                if unevaluable.is_empty() {
                    missing.push(request.clone());
                } else {
                    unknown.push(request.clone());
                }
            }
        }

        if missing.is_empty() && unknown.is_empty() {
            finding.summary = format!(
                "ServiceAccount `{account}` may {}",
                wanted
                    .iter()
                    .map(Request::describe)
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            finding.evidence.clear();
            return finding;
        }
        if missing.is_empty() {
            finding.status = Status::Unknown;
            finding.summary = format!(
                "cannot tell offline whether {} grant(s) {}: not in the snapshot (`triage snapshot` writes the ClusterRoles a RoleBinding references)",
                unevaluable.join(", "),
                unknown
                    .iter()
                    .map(Request::describe)
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            return finding;
        }

        // Roles in the namespace, not bound to the account, that grant everything missing.
        let granting: Vec<String> = roles
            .iter()
            .filter(|role| !bound_role_names.iter().any(|b| b == role.name()))
            .filter(|role| missing.iter().all(|request| role_allows(role, request)))
            .map(|role| role.name().to_string())
            .collect();
        for name in &granting {
            let role = roles
                .iter()
                .find(|r| r.name() == name)
                .expect("listed above");
            let rules: Vec<String> = role.rules.iter().flatten().map(rule_short).collect();
            finding.evidence.push(Evidence::field_note(
                &ObjectRef::of(Kind::Role, *role),
                "rules",
                format!("[{}]", rules.join("; ")),
                "unbound Role that grants what is missing",
            ));
        }
        let missing_text: Vec<String> = missing.iter().map(Request::describe).collect();
        finding.status = Status::Fail;
        finding.add_object(account_ref);
        let mut bound_parts = Vec::new();
        if !bound_role_names.is_empty() {
            bound_parts.push(format!("Role `{}`", bound_role_names.join("`, `")));
        }
        if !bound_cluster_roles.is_empty() {
            bound_parts.push(format!(
                "ClusterRole `{}`",
                bound_cluster_roles.join("`, `")
            ));
        }
        let bound = if bound_parts.is_empty() {
            "no bound Role".to_string()
        } else {
            format!("bound {}", bound_parts.join(", "))
        };
        finding.summary = format!(
            "ServiceAccount `{account}` ({bound}) may not {}",
            missing_text.join(", ")
        );
        finding.fix = Some(match (bindings.first(), granting.first()) {
            (Some(binding), Some(role)) => format!(
                "recreate RoleBinding `{}` with roleRef Role `{role}` (roleRef is immutable: delete + create, keep its subjects)",
                binding.name()
            ),
            (None, Some(role)) => {
                format!("bind Role `{role}` to ServiceAccount `{account}` with a new RoleBinding")
            }
            _ => format!(
                "grant ServiceAccount `{account}`: {}",
                missing_text.join(", ")
            ),
        });
        finding.set_details(Details {
            service_account: account.to_string(),
            bindings: bindings.iter().map(|b| b.name().to_string()).collect(),
            bound_roles: bound_role_names,
            bound_cluster_roles,
            missing,
            granting_roles: granting,
        });
        finding
    }
}

/// What the `rbac` repair reads: the account, what it lacks, and which RoleBinding to
/// re-point at which Role.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Details {
    pub service_account: String,
    /// The account's RoleBindings in the namespace; the repair re-points the first.
    pub bindings: Vec<String>,
    pub bound_roles: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub bound_cluster_roles: Vec<String>,
    pub missing: Vec<Request>,
    /// Unbound Roles in the namespace that grant everything missing.
    pub granting_roles: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::k8s::rbac::{AccessAnswer, AccessAnswers};
    use crate::signals::test_support::{evaluate, evaluate_with, snapshot};

    const PROFILE: &str = "apiVersion: triage/v1alpha1\nkind: Profile\nmigration:\n  serviceAccount: runner\n  permissions:\n  - {apiGroups: [batch], resources: [jobs], verbs: [create]}\n  - {apiGroups: [\"\"], resources: [configmaps], verbs: [patch]}\n";

    fn objects(bound: &str) -> String {
        format!(
            r#"apiVersion: v1
kind: ServiceAccount
metadata: {{name: runner, namespace: app}}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {{name: role-v1, namespace: app}}
rules:
- {{apiGroups: [batch], resources: [jobs], verbs: [get, list, watch]}}
- {{apiGroups: [""], resources: [configmaps], verbs: [get]}}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {{name: role-v2, namespace: app}}
rules:
- {{apiGroups: [batch], resources: [jobs], verbs: [create, get]}}
- {{apiGroups: [""], resources: ["*"], verbs: [patch]}}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {{name: runner-binding, namespace: app}}
roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: Role, name: {bound}}}
subjects: [{{kind: ServiceAccount, name: runner, namespace: app}}]
"#
        )
    }

    #[test]
    fn read_only_bound_role_fails_and_names_the_unbound_v2() {
        let finding = evaluate_with(&Rbac, &objects("role-v1"), "app", PROFILE);
        assert_eq!(finding.status, Status::Fail);
        assert!(
            finding.summary.contains("bound Role `role-v1`"),
            "{}",
            finding.summary
        );
        assert!(
            finding
                .summary
                .contains("create jobs.batch, patch configmaps"),
            "{}",
            finding.summary
        );
        assert_eq!(finding.details["grantingRoles"][0], "role-v2");
        assert!(finding.fix.unwrap().contains("roleRef is immutable"));
    }

    #[test]
    fn look_alike_binding_to_v2_is_ok() {
        let finding = evaluate_with(&Rbac, &objects("role-v2"), "app", PROFILE);
        assert_eq!(finding.status, Status::Ok, "{finding:?}");
    }

    #[test]
    fn without_profile_it_is_unknown() {
        assert_eq!(
            evaluate(&Rbac, &objects("role-v1"), "app").status,
            Status::Unknown
        );
    }

    #[test]
    fn live_answer_overrides_offline_evaluation() {
        let snapshot = snapshot(&objects("role-v1"));
        let profile = crate::profile::Profile::parse(PROFILE, "p").unwrap();
        let answers = AccessAnswers {
            answers: crate::k8s::rbac::requests(
                &profile.migration.as_ref().unwrap().permissions[0],
            )
            .into_iter()
            .chain(crate::k8s::rbac::requests(
                &profile.migration.as_ref().unwrap().permissions[1],
            ))
            .map(|request| AccessAnswer {
                request,
                allowed: true,
                reason: None,
            })
            .collect(),
        };
        let mut context = Context::new(&snapshot, "app").with_profile(Some(&profile));
        context.access = Some(&answers);
        assert_eq!(Rbac.evaluate(&context).status, Status::Ok);
    }

    /// The account bound to ClusterRole `role` by a RoleBinding; ClusterRoles `view`
    /// (read only) and `edit` (creates jobs, patches configmaps) in the file.
    fn cluster_bound(role: &str, with_cluster_roles: bool) -> String {
        let mut text = format!(
            r#"apiVersion: v1
kind: ServiceAccount
metadata: {{name: runner, namespace: app}}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {{name: runner-edit, namespace: app}}
roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: {role}}}
subjects: [{{kind: ServiceAccount, name: runner, namespace: app}}]
"#
        );
        if with_cluster_roles {
            text.push_str(
                r#"---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: view}
rules:
- {apiGroups: [batch], resources: [jobs], verbs: [get, list, watch]}
- {apiGroups: [""], resources: [configmaps], verbs: [get, list, watch]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: edit}
rules:
- {apiGroups: [batch], resources: [jobs], verbs: [create, delete, get, list, patch, update, watch]}
- {apiGroups: [""], resources: [configmaps], verbs: [create, delete, get, list, patch, update, watch]}
"#,
            );
        }
        text
    }

    #[test]
    fn role_binding_to_a_read_only_cluster_role_fails_offline_and_names_it() {
        let finding = evaluate_with(&Rbac, &cluster_bound("view", true), "app", PROFILE);
        assert_eq!(finding.status, Status::Fail, "{finding:?}");
        assert_eq!(
            finding.summary,
            "ServiceAccount `runner` (bound ClusterRole `view`) may not create jobs.batch, patch configmaps"
        );
        assert!(!finding.summary.contains("no bound Role"));
        assert_eq!(
            finding.objects,
            vec![
                ObjectRef::new(Kind::RoleBinding, "app", "runner-edit"),
                ObjectRef::new(Kind::ServiceAccount, "app", "runner"),
            ]
        );
        assert!(
            finding.evidence.iter().any(|e| e.short().starts_with(
                "clusterrole/view rules=[jobs.batch: get,list,watch; configmaps: get,list,watch]"
            )),
            "{:?}",
            finding.evidence
        );
    }

    #[test]
    fn look_alike_role_binding_to_cluster_role_edit_is_ok() {
        let finding = evaluate_with(&Rbac, &cluster_bound("edit", true), "app", PROFILE);
        assert_eq!(finding.status, Status::Ok, "{finding:?}");
    }

    #[test]
    fn a_cluster_role_missing_from_the_file_is_unknown_and_named() {
        let finding = evaluate_with(&Rbac, &cluster_bound("view", false), "app", PROFILE);
        assert_eq!(finding.status, Status::Unknown);
        assert!(
            finding.summary.contains("ClusterRole `view`"),
            "{}",
            finding.summary
        );
    }

    #[test]
    fn a_cluster_role_survives_snapshot_and_reload_so_fail_stays_fail() {
        let first = snapshot(&cluster_bound("view", true));
        assert_eq!(first.cluster_roles.len(), 2);
        let list =
            serde_json::json!({"apiVersion": "v1", "kind": "List", "items": first.to_json_items()});
        let reloaded =
            crate::snapshot::parse::parse_snapshot(list.to_string().as_bytes(), "reloaded.json")
                .unwrap();
        assert_eq!(reloaded.cluster_roles.len(), 2);
        assert!(reloaded.other.is_empty());
        let profile = crate::profile::Profile::parse(PROFILE, "p").unwrap();
        let context = Context::new(&reloaded, "app").with_profile(Some(&profile));
        assert_eq!(Rbac.evaluate(&context).status, Status::Fail);
    }
}
