//! Markers that say an object belongs to someone: hook annotations, delete policies,
//! owner labels, ownerReferences, Argo CD and Helm tracking. Signals use them to tell a
//! forgotten object from a managed look-alike; repairs use them to refuse.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::Serialize;

/// Argo CD hook annotation (`PreSync`, `Sync`, `PostSync`, ...).
pub const ARGO_HOOK: &str = "argocd.argoproj.io/hook";
/// Argo CD hook delete policy: Argo CD deletes the hook itself.
pub const ARGO_HOOK_DELETE_POLICY: &str = "argocd.argoproj.io/hook-delete-policy";
/// Argo CD resource tracking (self-heal may revert manual changes).
pub const ARGO_TRACKING_ID: &str = "argocd.argoproj.io/tracking-id";
/// Label Argo CD (and Helm) use for the owning application instance.
pub const APP_INSTANCE: &str = "app.kubernetes.io/instance";
/// Helm hook annotations.
pub const HELM_HOOK: &str = "helm.sh/hook";
pub const HELM_HOOK_DELETE_POLICY: &str = "helm.sh/hook-delete-policy";

/// Why an object is considered owned by someone else.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Ownership {
    /// Human-readable reasons, e.g. `label bleater.io/owner=platform-team`.
    pub reasons: Vec<String>,
}

fn annotation<'a>(meta: &'a ObjectMeta, key: &str) -> Option<&'a str> {
    meta.annotations.as_ref()?.get(key).map(String::as_str)
}

/// The hook phase (`PreSync`, `pre-upgrade`, ...) when the object is a hook.
pub fn hook(meta: &ObjectMeta) -> Option<&str> {
    annotation(meta, ARGO_HOOK).or_else(|| annotation(meta, HELM_HOOK))
}

/// The hook delete policy, when one is set (the tool that created the hook cleans up).
pub fn hook_delete_policy(meta: &ObjectMeta) -> Option<&str> {
    annotation(meta, ARGO_HOOK_DELETE_POLICY).or_else(|| annotation(meta, HELM_HOOK_DELETE_POLICY))
}

/// Labels that name an owner: `owner`, or any `<prefix>/owner`, plus `extra_owner_labels`
/// from the profile.
pub fn owner_labels<'a>(
    meta: &'a ObjectMeta,
    extra_owner_labels: &[String],
) -> Vec<(&'a str, &'a str)> {
    meta.labels
        .iter()
        .flatten()
        .filter(|(key, _)| {
            key.as_str() == "owner"
                || key.ends_with("/owner")
                || extra_owner_labels.iter().any(|extra| extra == *key)
        })
        .map(|(key, value)| (key.as_str(), value.as_str()))
        .collect()
}

/// Every sign that some other owner manages this object, empty when none.
pub fn ownership(meta: &ObjectMeta, extra_owner_labels: &[String]) -> Ownership {
    let mut reasons = Vec::new();
    if let Some(policy) = hook_delete_policy(meta) {
        reasons.push(format!("hook-delete-policy {policy}"));
    }
    for (key, value) in owner_labels(meta, extra_owner_labels) {
        reasons.push(format!("label {key}={value}"));
    }
    for owner in meta.owner_references.iter().flatten() {
        reasons.push(format!("ownerReference {}/{}", owner.kind, owner.name));
    }
    reasons.extend(argo_managed(meta));
    Ownership { reasons }
}

/// Signs that Argo CD tracks the object (self-heal may revert a manual change).
pub fn argo_managed(meta: &ObjectMeta) -> Vec<String> {
    let mut reasons = Vec::new();
    if let Some(id) = annotation(meta, ARGO_TRACKING_ID) {
        reasons.push(format!("annotation {ARGO_TRACKING_ID}={id}"));
    }
    if let Some(instance) = meta.labels.as_ref().and_then(|l| l.get(APP_INSTANCE)) {
        reasons.push(format!("label {APP_INSTANCE}={instance}"));
    }
    reasons
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(yaml: &str) -> ObjectMeta {
        serde_saphyr::from_str(yaml).unwrap()
    }

    #[test]
    fn bare_hook_has_no_owner() {
        let m = meta(
            "name: j\nannotations: {argocd.argoproj.io/hook: PreSync}\nlabels: {app.kubernetes.io/name: auth}\n",
        );
        assert_eq!(hook(&m), Some("PreSync"));
        assert!(ownership(&m, &[]).reasons.is_empty());
    }

    #[test]
    fn delete_policy_owner_label_and_references_all_count() {
        let m = meta(
            "name: j\nannotations: {argocd.argoproj.io/hook-delete-policy: HookSucceeded}\nlabels: {bleater.io/owner: platform-team}\nownerReferences: [{apiVersion: v1, kind: ConfigMap, name: c, uid: u}]\n",
        );
        assert_eq!(
            ownership(&m, &[]).reasons,
            vec![
                "hook-delete-policy HookSucceeded",
                "label bleater.io/owner=platform-team",
                "ownerReference ConfigMap/c"
            ]
        );
    }

    #[test]
    fn profile_owner_labels_and_argo_tracking() {
        let m = meta("name: d\nlabels: {team: search, app.kubernetes.io/instance: search}\n");
        assert!(
            ownership(&m, &[])
                .reasons
                .iter()
                .any(|r| r.contains("instance"))
        );
        assert!(
            ownership(&m, &["team".to_string()])
                .reasons
                .contains(&"label team=search".to_string())
        );
    }
}
