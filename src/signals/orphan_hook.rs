//! `orphan-hook`: a suspended hook Job (Argo CD `argocd.argoproj.io/hook` or Helm
//! `helm.sh/hook`) that holds a finalizer and has neither a hook-delete-policy nor an
//! owner (owner label, ownerReference, Argo CD tracking: crate::k8s::markers; Helm's release
//! labels are no owner of a hook: Helm never deletes a hook without a delete policy). Nothing will
//! ever clean it up, and its finalizer makes `kubectl delete` hang
//! (https://kubernetes.io/docs/concepts/overview/working-with-objects/finalizers/,
//! https://argo-cd.readthedocs.io/en/stable/user-guide/resource_hooks/). A look-alike
//! with a delete policy or an owner is managed: reported as protected, never as orphan.

use serde::{Deserialize, Serialize};

use crate::finding::{Context, Evidence, Finding, ObjectRef, Status};
use crate::k8s::markers;
use crate::signals::{Chain, ChainState, Gate, Signal};
use crate::snapshot::{HasMeta, Kind, in_namespace};

pub struct OrphanHook;

pub const ID: &str = "orphan-hook";

/// The finalizer the Job controller manages itself; never a sign of an orphan.
pub const JOB_TRACKING_FINALIZER: &str = crate::k8s::finalizers::JOB_TRACKING;

/// A managed look-alike hook Job, and what marks it as managed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Protected {
    pub name: String,
    pub reasons: Vec<String>,
}

/// Its section of `docs/signals.md`.
const DOCS: &str = r#"
Keys on Jobs with a hook annotation (`argocd.argoproj.io/hook`, `helm.sh/hook`) that are
suspended, hold a finalizer other than the Job controller's
`batch.kubernetes.io/job-tracking`, and have no owner marker (`markers::owners`, the same
predicate inventory's OWNER column uses: owner labels, ownerReferences, the Argo CD
`tracking-id` annotation, the Helm release of a non-hook object). Helm's release labels
(`app.kubernetes.io/instance`, `managed-by: Helm`) are no owner of a hook: Helm never
deletes a hook without `helm.sh/hook-delete-policy`
([Helm hooks](https://helm.sh/docs/topics/charts_hooks/)), and the instance label alone
is not Argo CD tracking.
[Finalizers](https://kubernetes.io/docs/concepts/overview/working-with-objects/finalizers/),
[Argo CD hooks](https://argo-cd.readthedocs.io/en/stable/user-guide/resource_hooks/).
Look-alikes: a hook Job with a hook-delete-policy, an owner label or an ownerReference is
listed as protected evidence (`details.protected`), never as an orphan; a running non-hook
Job with the job-tracking finalizer is not a fault. Fix: strip the finalizers, then delete
(not `--force`).
"#;

impl Signal for OrphanHook {
    fn id(&self) -> &'static str {
        ID
    }

    fn title(&self) -> &'static str {
        "no orphaned hook Job holding a finalizer"
    }

    fn reads(&self) -> &'static [Kind] {
        // Pods: without a profile, the apps that scope the finding are the pods' labels.
        &[Kind::Job, Kind::Pod]
    }

    fn chain(&self) -> Option<Chain> {
        Some(Chain {
            state: ChainState::Progressing,
            position: 2,
        })
    }

    fn gates(&self) -> &'static [Gate] {
        &[Gate {
            gated: "derived-state",
            because: "blocks the reconciler advancing",
        }]
    }

    fn rationale(&self) -> Option<&'static str> {
        Some("the reconciler stays blocked by the orphan")
    }

    fn docs(&self) -> &'static str {
        DOCS
    }

    fn evaluate(&self, context: &Context) -> Finding {
        let mut finding = Finding::ok(ID, "");
        let mut orphans = Vec::new();
        let mut protected = Vec::new();
        let mut apps = Vec::new();
        for job in in_namespace(&context.snapshot.jobs, context.namespace) {
            let meta = &job.metadata;
            let Some(hook) = markers::hook(meta) else {
                continue;
            };
            let object = ObjectRef::of(Kind::Job, job);
            let suspended = job.spec.as_ref().and_then(|s| s.suspend).unwrap_or(false);
            let finalizers: Vec<String> = meta
                .finalizers
                .iter()
                .flatten()
                .filter(|f| f.as_str() != JOB_TRACKING_FINALIZER)
                .cloned()
                .collect();
            let owners = markers::ownership(meta, context.owner_labels()).reasons;
            if !owners.is_empty() {
                finding.evidence.push(Evidence::field_note(
                    &object,
                    "metadata",
                    owners.join(", "),
                    "managed look-alike: protected, never delete",
                ));
                protected.push(Protected {
                    name: job.name().to_string(),
                    reasons: owners,
                });
                continue;
            }
            if !suspended || finalizers.is_empty() {
                continue;
            }
            finding.add_object(object.clone());
            finding.evidence.push(Evidence::field(
                &object,
                format!(
                    "metadata.annotations[{}]",
                    if meta
                        .annotations
                        .as_ref()
                        .is_some_and(|a| a.contains_key(markers::ARGO_HOOK))
                    {
                        markers::ARGO_HOOK
                    } else {
                        markers::HELM_HOOK
                    }
                ),
                hook,
            ));
            finding
                .evidence
                .push(Evidence::field(&object, "spec.suspend", "true"));
            finding.evidence.push(Evidence::field(
                &object,
                "metadata.finalizers",
                format!("[{}]", finalizers.join(", ")),
            ));
            finding.evidence.push(Evidence::field_note(
                &object,
                "metadata.annotations[hook-delete-policy]",
                "<absent>",
                "no delete policy, no owner label, no ownerReference",
            ));
            apps.extend(context.app_of(meta));
            orphans.push(job.name().to_string());
        }
        if orphans.is_empty() {
            finding.summary = if protected.is_empty() {
                "no suspended hook Job without an owner".to_string()
            } else {
                format!(
                    "no orphan; managed hook Job(s) protected: {}",
                    protected
                        .iter()
                        .map(|p| format!("`{}`", p.name))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            };
            finding.set_details(Details { orphans, protected });
            return finding;
        }
        // Evidence of the orphans first, the protected look-alikes after.
        finding.evidence.sort_by_key(
            |e| matches!(e, Evidence::Field { note: Some(n), .. } if n.starts_with("managed")),
        );
        finding.status = Status::Fail;
        finding.scope = context.scope(apps);
        let names = orphans
            .iter()
            .map(|n| format!("`{n}`"))
            .collect::<Vec<_>>()
            .join(", ");
        finding.summary = format!(
            "suspended hook Job {names} holds a finalizer with no delete policy and no owner"
        );
        let mut fix = format!("remove the finalizers of {names}, then delete it (not --force)");
        if !protected.is_empty() {
            fix.push_str(&format!(
                "; leave {} alone (managed)",
                protected
                    .iter()
                    .map(|p| format!("`{}`", p.name))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        finding.fix = Some(fix);
        finding.set_details(Details { orphans, protected });
        finding
    }
}

/// What the `orphan-hook` repair reads: the Jobs to delete, and the look-alikes it
/// names as left alone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Details {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub orphans: Vec<String>,
    #[serde(default)]
    pub protected: Vec<Protected>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::Scope;
    use crate::signals::test_support::evaluate;

    const ORPHAN: &str = r#"apiVersion: batch/v1
kind: Job
metadata:
  name: auth-presync-migrate-legacy
  namespace: app
  labels: {app.kubernetes.io/name: auth-service}
  annotations: {argocd.argoproj.io/hook: PreSync}
  finalizers: [example.io/hook-cleanup]
spec:
  suspend: true
  template: {spec: {restartPolicy: Never, containers: [{name: m, image: x}]}}
"#;

    const DECOY: &str = r#"apiVersion: batch/v1
kind: Job
metadata:
  name: fanout-presync-validate
  namespace: app
  labels: {example.io/owner: platform-team}
  annotations: {argocd.argoproj.io/hook: PreSync, argocd.argoproj.io/hook-delete-policy: HookSucceeded}
  finalizers: [example.io/hook-cleanup]
spec:
  suspend: true
  template: {spec: {restartPolicy: Never, containers: [{name: m, image: x}]}}
"#;

    const TRACKED: &str = r#"apiVersion: batch/v1
kind: Job
metadata:
  name: nightly-report
  namespace: app
  finalizers: [batch.kubernetes.io/job-tracking]
spec:
  template: {spec: {restartPolicy: Never, containers: [{name: m, image: x}]}}
status: {active: 1}
"#;

    #[test]
    fn orphan_fails_and_the_decoy_is_protected() {
        let finding = evaluate(&OrphanHook, &format!("{ORPHAN}---\n{DECOY}"), "app");
        assert_eq!(finding.status, Status::Fail);
        assert_eq!(finding.objects.len(), 1);
        assert_eq!(finding.objects[0].name, "auth-presync-migrate-legacy");
        // No auth-service pod in the snapshot: no known app, so the whole namespace.
        assert_eq!(finding.scope, Scope::Namespace);
        assert_eq!(
            finding.details["protected"][0]["name"],
            "fanout-presync-validate"
        );
        assert!(
            finding
                .fix
                .unwrap()
                .contains("leave `fanout-presync-validate` alone")
        );
    }

    #[test]
    fn look_alike_decoy_alone_is_not_an_orphan() {
        let finding = evaluate(&OrphanHook, DECOY, "app");
        assert_eq!(finding.status, Status::Ok);
        assert!(finding.summary.contains("protected"));
    }

    #[test]
    fn owner_reference_makes_it_managed() {
        let owned = ORPHAN.replace(
            "  finalizers:",
            "  ownerReferences: [{apiVersion: v1, kind: ConfigMap, name: release, uid: u1}]\n  finalizers:",
        );
        assert_eq!(evaluate(&OrphanHook, &owned, "app").status, Status::Ok);
    }

    #[test]
    fn job_tracking_finalizer_on_a_running_job_is_not_a_fault() {
        assert_eq!(evaluate(&OrphanHook, TRACKED, "app").status, Status::Ok);
        // Even on a suspended hook Job, the controller's own finalizer is not one.
        let hook = ORPHAN.replace("example.io/hook-cleanup", JOB_TRACKING_FINALIZER);
        assert_eq!(evaluate(&OrphanHook, &hook, "app").status, Status::Ok);
    }

    const HELM_HOOK: &str = r#"apiVersion: batch/v1
kind: Job
metadata:
  name: checkout-db-init
  namespace: app
  labels: {app.kubernetes.io/instance: checkout, app.kubernetes.io/managed-by: Helm, helm.sh/chart: checkout-1.4.0}
  annotations: {helm.sh/hook: pre-upgrade, meta.helm.sh/release-name: checkout}
  finalizers: [example.io/hook-cleanup]
spec:
  suspend: true
  template: {spec: {restartPolicy: Never, containers: [{name: m, image: x}]}}
"#;

    #[test]
    fn helm_hook_without_delete_policy_is_an_orphan_despite_its_release_labels() {
        // Helm never deletes a hook without a delete policy, and its release labels are
        // not Argo CD tracking: nothing will clean it up.
        let finding = evaluate(&OrphanHook, HELM_HOOK, "app");
        assert_eq!(finding.status, Status::Fail, "{finding:?}");
        assert_eq!(
            finding.objects,
            vec![ObjectRef::new(Kind::Job, "app", "checkout-db-init")]
        );
        assert!(finding.evidence.iter().any(|e| {
            e.short()
                .contains("metadata.annotations[helm.sh/hook]=pre-upgrade")
        }));
    }

    #[test]
    fn look_alike_helm_hook_with_a_delete_policy_is_protected() {
        let managed = HELM_HOOK.replace(
            "helm.sh/hook: pre-upgrade,",
            "helm.sh/hook: pre-upgrade, helm.sh/hook-delete-policy: before-hook-creation,",
        );
        let finding = evaluate(&OrphanHook, &managed, "app");
        assert_eq!(finding.status, Status::Ok);
        assert_eq!(
            finding.details["protected"][0]["reasons"][0],
            "hook-delete-policy before-hook-creation"
        );
    }
}
