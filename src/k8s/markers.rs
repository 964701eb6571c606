//! Markers that say an object belongs to someone: hook annotations, delete policies,
//! owner labels, ownerReferences, Argo CD tracking and Helm releases. Signals use them to
//! tell a forgotten object from a managed look-alike; repairs use them to refuse;
//! inventory's OWNER column shows [`owners`], the same predicate.
//!
//! NB: `app.kubernetes.io/instance` is Helm's standard release label
//! (https://helm.sh/docs/chart_best_practices/labels/); alone it does not mean Argo CD
//! tracks the object: Argo CD 3.x tracks by the `argocd.argoproj.io/tracking-id`
//! annotation, label tracking is an opt-in setting
//! (https://argo-cd.readthedocs.io/en/stable/user-guide/resource_tracking/).

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::Serialize;

/// Argo CD hook annotation (`PreSync`, `Sync`, `PostSync`, ...).
pub const ARGO_HOOK: &str = "argocd.argoproj.io/hook";
/// Argo CD hook delete policy: Argo CD deletes the hook itself.
pub const ARGO_HOOK_DELETE_POLICY: &str = "argocd.argoproj.io/hook-delete-policy";
/// Argo CD resource tracking (self-heal may revert manual changes).
pub const ARGO_TRACKING_ID: &str = "argocd.argoproj.io/tracking-id";
/// Helm's standard release label (also Argo CD's legacy, opt-in tracking label).
pub const APP_INSTANCE: &str = "app.kubernetes.io/instance";
/// The tool that manages an object (`Helm` for a Helm release).
pub const MANAGED_BY: &str = "app.kubernetes.io/managed-by";
/// Helm 3 stamps every resource of a release with its name (and namespace).
pub const HELM_RELEASE_NAME: &str = "meta.helm.sh/release-name";
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

/// Every sign that some other owner manages this object, empty when none: the hook
/// delete policy (the tool that created the hook deletes it) and every [`owners`] entry.
pub fn ownership(meta: &ObjectMeta, extra_owner_labels: &[String]) -> Ownership {
    let mut reasons = Vec::new();
    if let Some(policy) = hook_delete_policy(meta) {
        reasons.push(format!("hook-delete-policy {policy}"));
    }
    reasons.extend(
        owners(meta, extra_owner_labels)
            .into_iter()
            .map(|owner| owner.reason),
    );
    Ownership { reasons }
}

/// One owner of an object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Owner {
    /// As inventory's OWNER column shows it (`team=search`, `ConfigMap/release`,
    /// `argocd:app:...`, `helm:checkout`).
    pub short: String,
    /// As a signal or refusal says it (`label team=search`, ...).
    pub reason: String,
}

/// Who manages the object: owner labels, ownerReferences, Argo CD tracking, the Helm
/// release. The one predicate behind inventory's OWNER column, every signal's "managed
/// look-alike" and every repair's refusal.
///
/// NB: a Helm hook is not part of its release: Helm does not track or delete hook
/// resources, only its `helm.sh/hook-delete-policy` does
/// (https://helm.sh/docs/topics/charts_hooks/#hook-resources-are-not-managed-with-corresponding-releases),
/// so Helm's release markers on a hook name no owner.
pub fn owners(meta: &ObjectMeta, extra_owner_labels: &[String]) -> Vec<Owner> {
    let mut found = Vec::new();
    for (key, value) in owner_labels(meta, extra_owner_labels) {
        found.push(Owner {
            short: format!("{key}={value}"),
            reason: format!("label {key}={value}"),
        });
    }
    for owner in meta.owner_references.iter().flatten() {
        found.push(Owner {
            short: format!("{}/{}", owner.kind, owner.name),
            reason: format!("ownerReference {}/{}", owner.kind, owner.name),
        });
    }
    if let Some(id) = annotation(meta, ARGO_TRACKING_ID) {
        found.push(Owner {
            short: format!("argocd:{id}"),
            reason: format!("annotation {ARGO_TRACKING_ID}={id}"),
        });
    }
    if hook(meta).is_none()
        && let Some(release) = helm_release(meta)
    {
        found.push(Owner {
            short: format!("helm:{release}"),
            reason: format!("Helm release `{release}`"),
        });
    }
    found
}

/// The Helm release that manages the object: `meta.helm.sh/release-name`, else the
/// `app.kubernetes.io/instance` label of an object labelled `managed-by: Helm`.
pub fn helm_release(meta: &ObjectMeta) -> Option<&str> {
    annotation(meta, HELM_RELEASE_NAME).or_else(|| {
        let labels = meta.labels.as_ref()?;
        labels
            .get(MANAGED_BY)
            .filter(|by| by.eq_ignore_ascii_case("helm"))?;
        labels.get(APP_INSTANCE).map(String::as_str)
    })
}

/// Signs that Argo CD tracks the object (self-heal may revert a manual change): its
/// tracking-id annotation. A Helm release label alone is not one (module note).
pub fn argo_managed(meta: &ObjectMeta) -> Vec<String> {
    annotation(meta, ARGO_TRACKING_ID)
        .map(|id| format!("annotation {ARGO_TRACKING_ID}={id}"))
        .into_iter()
        .collect()
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
        let m = meta(
            "name: d\nlabels: {team: search}\nannotations: {argocd.argoproj.io/tracking-id: 'search:apps/Deployment:shop/d'}\n",
        );
        assert_eq!(
            argo_managed(&m),
            vec!["annotation argocd.argoproj.io/tracking-id=search:apps/Deployment:shop/d"]
        );
        assert!(
            ownership(&m, &["team".to_string()])
                .reasons
                .contains(&"label team=search".to_string())
        );
    }

    #[test]
    fn helm_instance_label_alone_is_not_argo_tracking() {
        let m = meta("name: d\nlabels: {app.kubernetes.io/instance: search}\n");
        assert!(argo_managed(&m).is_empty());
        assert!(ownership(&m, &[]).reasons.is_empty());
    }

    #[test]
    fn helm_release_owns_its_objects_but_not_its_hooks() {
        let released = meta(
            "name: d\nlabels: {app.kubernetes.io/instance: checkout, app.kubernetes.io/managed-by: Helm}\n",
        );
        assert_eq!(helm_release(&released), Some("checkout"));
        assert_eq!(
            ownership(&released, &[]).reasons,
            vec!["Helm release `checkout`"]
        );
        assert!(argo_managed(&released).is_empty());
        let hook = meta(
            "name: j\nlabels: {app.kubernetes.io/instance: checkout, app.kubernetes.io/managed-by: Helm}\nannotations: {helm.sh/hook: pre-upgrade, meta.helm.sh/release-name: checkout}\n",
        );
        assert!(ownership(&hook, &[]).reasons.is_empty());
        let cleaned = meta(
            "name: j\nannotations: {helm.sh/hook: pre-upgrade, helm.sh/hook-delete-policy: before-hook-creation}\n",
        );
        assert_eq!(
            ownership(&cleaned, &[]).reasons,
            vec!["hook-delete-policy before-hook-creation"]
        );
    }
}
