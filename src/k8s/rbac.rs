//! RBAC evaluated offline: does a Role's rules grant a verb on a resource? The same
//! matching the API server's RBAC authorizer does for namespaced resource requests
//! (https://kubernetes.io/docs/reference/access-authn-authz/rbac/), wildcards included.
//! A live SubjectAccessReview answer, when the caller has one, takes precedence.

use k8s_openapi::api::rbac::v1::{PolicyRule, Role, RoleBinding};
use serde::{Deserialize, Serialize};

use crate::profile::Permission;

/// One request: `verb` on `resource` in `group`, optionally one named object.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Request {
    pub verb: String,
    pub group: String,
    pub resource: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

impl Request {
    /// `create jobs.batch`, `patch configmaps/lock`.
    pub fn describe(&self) -> String {
        let mut text = format!("{} {}", self.verb, self.resource);
        if !self.group.is_empty() {
            text.push('.');
            text.push_str(&self.group);
        }
        if let Some(name) = &self.name {
            text.push('/');
            text.push_str(name);
        }
        text
    }
}

/// Every single request a permission stands for.
pub fn requests(permission: &Permission) -> Vec<Request> {
    let groups = if permission.api_groups.is_empty() {
        vec![String::new()]
    } else {
        permission.api_groups.clone()
    };
    let names: Vec<Option<String>> = if permission.resource_names.is_empty() {
        vec![None]
    } else {
        permission
            .resource_names
            .iter()
            .cloned()
            .map(Some)
            .collect()
    };
    let mut out = Vec::new();
    for group in &groups {
        for resource in &permission.resources {
            for verb in &permission.verbs {
                for name in &names {
                    out.push(Request {
                        verb: verb.clone(),
                        group: group.clone(),
                        resource: resource.clone(),
                        name: name.clone(),
                    });
                }
            }
        }
    }
    out
}

fn matches_item(items: &[String], wanted: &str) -> bool {
    items.iter().any(|item| item == "*" || item == wanted)
}

/// Whether `rule` allows `request`. NB: `resourceNames` never matches a request
/// without a name (a `create` cannot be limited by name), so a named rule does not
/// grant an unnamed request.
pub fn rule_allows(rule: &PolicyRule, request: &Request) -> bool {
    let groups = rule.api_groups.as_deref().unwrap_or_default();
    let resources = rule.resources.as_deref().unwrap_or_default();
    let names = rule.resource_names.as_deref().unwrap_or_default();
    let name_ok = names.is_empty()
        || request
            .name
            .as_deref()
            .is_some_and(|n| names.iter().any(|x| x == n));
    matches_item(&rule.verbs, &request.verb)
        && matches_item(groups, &request.group)
        && matches_item(resources, &request.resource)
        && name_ok
}

pub fn role_allows(role: &Role, request: &Request) -> bool {
    rules_allow(role.rules.as_deref().unwrap_or_default(), request)
}

/// Whether any of `rules` allows `request`: a Role's, or a ClusterRole's granted in one
/// namespace through a RoleBinding (the same rules, limited to the binding's namespace).
pub fn rules_allow(rules: &[PolicyRule], request: &Request) -> bool {
    rules.iter().any(|rule| rule_allows(rule, request))
}

/// Whether `binding` names ServiceAccount `account` of `namespace` among its subjects.
pub fn binds_service_account(binding: &RoleBinding, namespace: &str, account: &str) -> bool {
    binding.subjects.iter().flatten().any(|subject| {
        subject.kind == "ServiceAccount"
            && subject.name == account
            && subject.namespace.as_deref().unwrap_or(namespace) == namespace
    })
}

/// Live answers (SubjectAccessReview) for the migration ServiceAccount's requests.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AccessAnswers {
    pub answers: Vec<AccessAnswer>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AccessAnswer {
    pub request: Request,
    pub allowed: bool,
    /// The authorizer's reason, when it gave one.
    pub reason: Option<String>,
}

impl AccessAnswers {
    pub fn answer(&self, request: &Request) -> Option<&AccessAnswer> {
        self.answers.iter().find(|a| &a.request == request)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(yaml: &str) -> PolicyRule {
        serde_saphyr::from_str(yaml).unwrap()
    }

    fn request(verb: &str, group: &str, resource: &str, name: Option<&str>) -> Request {
        Request {
            verb: verb.into(),
            group: group.into(),
            resource: resource.into(),
            name: name.map(str::to_string),
        }
    }

    #[test]
    fn exact_and_wildcard_rules() {
        let read = rule("apiGroups: [batch]\nresources: [jobs]\nverbs: [get, list]\n");
        assert!(rule_allows(&read, &request("get", "batch", "jobs", None)));
        assert!(!rule_allows(
            &read,
            &request("create", "batch", "jobs", None)
        ));
        assert!(!rule_allows(&read, &request("get", "", "jobs", None)));
        let all = rule("apiGroups: ['*']\nresources: ['*']\nverbs: ['*']\n");
        assert!(rule_allows(
            &all,
            &request("delete", "apps", "deployments", None)
        ));
    }

    #[test]
    fn resource_names_limit_named_requests_only() {
        let named = rule(
            "apiGroups: ['']\nresources: [configmaps]\nverbs: [patch]\nresourceNames: [lock]\n",
        );
        assert!(rule_allows(
            &named,
            &request("patch", "", "configmaps", Some("lock"))
        ));
        assert!(!rule_allows(
            &named,
            &request("patch", "", "configmaps", Some("other"))
        ));
        assert!(!rule_allows(
            &named,
            &request("patch", "", "configmaps", None)
        ));
    }

    #[test]
    fn permissions_expand_to_requests() {
        let permission = Permission {
            api_groups: vec!["batch".into()],
            resources: vec!["jobs".into()],
            verbs: vec!["create".into(), "get".into()],
            resource_names: vec![],
        };
        let all = requests(&permission);
        assert_eq!(all.len(), 2);
        assert_eq!(all[0].describe(), "create jobs.batch");
    }
}
