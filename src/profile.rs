//! The profile: what only the team knows about a namespace (which ConfigMap is the
//! reconciler's status, which is the lock, what the migration needs, ...). Read from
//! `--profile FILE`; the bleater profile is built in. Every key is documented in
//! `docs/profile.md`; an unknown key is an error naming its line.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::TriageError;

/// The built-in profile for namespace `bleater`, parsed by the same code as a file.
pub const BLEATER: &str = include_str!("profile/bleater.yaml");

pub const API_VERSION: &str = "triage/v1alpha1";

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Profile {
    /// `triage/v1alpha1`.
    pub api_version: String,
    /// `Profile`.
    pub kind: String,
    /// The namespace the profile describes (informational; `-n` decides).
    #[serde(default)]
    pub namespace: Option<String>,
    #[serde(default)]
    pub status: Option<StatusConfigMap>,
    #[serde(default)]
    pub lock: Option<Lock>,
    #[serde(default)]
    pub schema: Option<Schema>,
    #[serde(default)]
    pub migration: Option<Migration>,
    #[serde(default)]
    pub database: Option<Database>,
    /// Label keys that mark an object as managed by another owner (besides `owner`
    /// and `*/owner`, which always count).
    #[serde(default)]
    pub owner_labels: Vec<String>,
    /// Quota limits the team runs with in production, by resource name.
    #[serde(default)]
    pub quota_targets: BTreeMap<String, String>,
    /// The cluster DNS Service, when it is not `kube-system/kube-dns` (OpenShift:
    /// `openshift-dns/dns-default`).
    #[serde(default)]
    pub dns: Option<DnsService>,
}

/// Where the cluster's DNS Service lives.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DnsService {
    pub namespace: String,
    pub service: String,
}

/// A ConfigMap anywhere in the cluster.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConfigMapRef {
    pub namespace: String,
    pub name: String,
}

/// The status ConfigMap a reconciler writes: one key per app.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StatusConfigMap {
    pub config_map: ConfigMapRef,
    #[serde(default = "default_app_label")]
    pub app_label: String,
    pub apps: Apps,
}

/// The apps the status ConfigMap reports on: a list of keys that are also the values of
/// `appLabel` on their pods, or a map from key to the label selector of its pods, for
/// when the two differ (key `login`, pods `app=login-api`).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(untagged)]
pub enum Apps {
    List(Vec<String>),
    Map(BTreeMap<String, AppSelector>),
}

/// Which pods belong to an app: `app=login-api,tier=web`, or a map of labels; every
/// pair must match (the equality-based selectors of
/// https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(untagged)]
pub enum AppSelector {
    Text(String),
    Labels(BTreeMap<String, String>),
}

impl AppSelector {
    /// The `key=value` pairs it requires (`key==value` accepted, as kubectl does).
    pub fn pairs(&self) -> Vec<(String, String)> {
        match self {
            AppSelector::Labels(labels) => {
                labels.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
            }
            AppSelector::Text(text) => text
                .split(',')
                .filter_map(|pair| {
                    let (key, value) = pair.split_once("==").or_else(|| pair.split_once('='))?;
                    Some((key.trim().to_string(), value.trim().to_string()))
                })
                .collect(),
        }
    }

    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        let pairs = self.pairs();
        !pairs.is_empty() && pairs.iter().all(|(k, v)| labels.get(k) == Some(v))
    }
}

impl Apps {
    /// The status ConfigMap's keys, sorted as written (list) or by key (map).
    pub fn keys(&self) -> Vec<String> {
        match self {
            Apps::List(apps) => apps.clone(),
            Apps::Map(apps) => apps.keys().cloned().collect(),
        }
    }

    pub fn len(&self) -> usize {
        match self {
            Apps::List(apps) => apps.len(),
            Apps::Map(apps) => apps.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl StatusConfigMap {
    /// The app an object with `labels` belongs to: its `appLabel` value (list form),
    /// or the first key whose selector matches (map form).
    pub fn app_of(&self, labels: &BTreeMap<String, String>) -> Option<String> {
        match &self.apps {
            Apps::List(_) => labels.get(&self.app_label).cloned(),
            Apps::Map(apps) => apps
                .iter()
                .find(|(_, selector)| selector.matches(labels))
                .map(|(key, _)| key.clone()),
        }
    }
}

fn default_app_label() -> String {
    crate::finding::DEFAULT_APP_LABEL.to_string()
}

/// The lock ConfigMap (in the namespace) and the key that says locked.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Lock {
    pub config_map: String,
    #[serde(default = "default_lock_key")]
    pub key: String,
    #[serde(default = "default_locked_values")]
    pub locked_values: Vec<String>,
    #[serde(default)]
    pub reason_key: Option<String>,
    #[serde(default)]
    pub since_key: Option<String>,
}

fn default_lock_key() -> String {
    "status".to_string()
}

fn default_locked_values() -> Vec<String> {
    vec!["locked".to_string()]
}

/// The schema declaration ConfigMap (in the namespace).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Schema {
    pub config_map: String,
    #[serde(default = "default_version_key")]
    pub version_key: String,
    /// The tables key for version N is this prefix followed by N (`tables-v3`).
    #[serde(default = "default_tables_prefix")]
    pub tables_key_prefix: String,
    /// Without it, the highest `vN.sql` among the migration files.
    #[serde(default)]
    pub required_version: Option<u32>,
}

fn default_version_key() -> String {
    "version".to_string()
}

fn default_tables_prefix() -> String {
    "tables-v".to_string()
}

/// What the migration runs as, what it needs, and where its script lives.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Migration {
    #[serde(default)]
    pub service_account: Option<String>,
    #[serde(default)]
    pub script_config_map: Option<String>,
    #[serde(default)]
    pub permissions: Vec<Permission>,
    /// Pods the repair must schedule (the migration Job's pod).
    #[serde(default = "one")]
    pub repair_pods: u32,
    /// The pod spec the `migrate` repair runs as a Job (a Kubernetes PodSpec).
    #[serde(default)]
    pub job_template: Option<serde_json::Value>,
    /// Name prefix of the migration Job; a timestamp is appended [default: `<scriptConfigMap>-migrate`].
    #[serde(default)]
    pub job_name: Option<String>,
    /// How long `migrate` waits for the Job to finish, in seconds.
    #[serde(default = "default_job_timeout")]
    pub job_timeout_seconds: u64,
}

fn default_job_timeout() -> u64 {
    300
}

fn one() -> u32 {
    1
}

/// A permission, spelled like a Role rule: every verb on every resource of every group.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Permission {
    #[serde(default)]
    pub api_groups: Vec<String>,
    pub resources: Vec<String>,
    pub verbs: Vec<String>,
    #[serde(default)]
    pub resource_names: Vec<String>,
}

/// The database the apps must reach.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Database {
    pub service: String,
    pub port: i32,
    /// The role triage logs in as when it reaches the database through a
    /// port-forward (no `--db-url`).
    #[serde(default)]
    pub user: Option<String>,
    /// The database name for that connection.
    #[serde(default)]
    pub name: Option<String>,
}

impl Profile {
    /// Parses a profile read from `origin`; errors name the line and column.
    pub fn parse(text: &str, origin: &str) -> Result<Profile, TriageError> {
        let hint = || Some("every key is documented in docs/profile.md".to_string());
        let profile: Profile = serde_saphyr::from_str(text).map_err(|err| {
            let message = err.to_string();
            let first = message.lines().next().unwrap_or_default().trim();
            let first = first.strip_prefix("error: ").unwrap_or(first);
            let first = match first.strip_prefix("line ").and_then(|r| r.split_once(": ")) {
                Some((_, rest)) => rest,
                None => first,
            };
            let at = err
                .location()
                .map(|at| format!(" at line {}, column {}", at.line(), at.column()))
                .unwrap_or_default();
            TriageError::input(
                format!("profile `{origin}` is invalid{at}: {first}"),
                hint(),
            )
        })?;
        if profile.api_version != API_VERSION || profile.kind != "Profile" {
            return Err(TriageError::input(
                format!(
                    "profile `{origin}` has apiVersion `{}` and kind `{}`, expected `{API_VERSION}` and `Profile`",
                    profile.api_version, profile.kind
                ),
                hint(),
            ));
        }
        Ok(profile)
    }

    /// The built-in profile for `namespace`, if triage ships one.
    pub fn builtin(namespace: &str) -> Option<Profile> {
        (namespace == "bleater").then(|| {
            Profile::parse(BLEATER, "<built-in bleater>").expect("the built-in profile parses")
        })
    }

    /// ConfigMaps in other namespaces the signals read, to load live with the namespace.
    /// The migration ServiceAccount and every request it must be allowed, for a live
    /// SubjectAccessReview; `None` when the profile names no such account.
    pub fn access_requests(&self) -> Option<(String, Vec<crate::k8s::rbac::Request>)> {
        let migration = self.migration.as_ref()?;
        let account = migration.service_account.clone()?;
        let requests: Vec<crate::k8s::rbac::Request> = migration
            .permissions
            .iter()
            .flat_map(crate::k8s::rbac::requests)
            .collect();
        (!requests.is_empty()).then_some((account, requests))
    }

    pub fn extra_config_maps(&self, namespace: &str) -> Vec<(String, String)> {
        self.status
            .iter()
            .map(|s| &s.config_map)
            .filter(|cm| cm.namespace != namespace)
            .map(|cm| (cm.namespace.clone(), cm.name.clone()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_bleater_profile_parses() {
        let profile = Profile::builtin("bleater").unwrap();
        assert_eq!(profile.status.as_ref().unwrap().apps.len(), 5);
        assert_eq!(profile.quota_targets["pods"], "8");
        assert_eq!(
            profile.extra_config_maps("bleater"),
            vec![("bleater-system".to_string(), "bleater-status".to_string())]
        );
        assert!(Profile::builtin("shop").is_none());
    }

    #[test]
    fn unknown_key_names_its_line() {
        let text =
            "apiVersion: triage/v1alpha1\nkind: Profile\nlock:\n  configMap: l\n  colour: red\n";
        let err = Profile::parse(text, "p.yaml").unwrap_err().to_string();
        assert!(err.contains("line 5"), "{err}");
        assert!(err.contains("colour"), "{err}");
    }

    #[test]
    fn wrong_kind_is_refused() {
        let err = Profile::parse("apiVersion: v1\nkind: ConfigMap\n", "p.yaml")
            .unwrap_err()
            .to_string();
        assert!(err.contains("expected `triage/v1alpha1`"), "{err}");
    }
}
