//! The write side of the Kubernetes I/O layer: who am I, may I, and the few object
//! operations repairs are made of (get, JSON patch, create, delete with
//! preconditions), each optionally as a server-side dry run. Nothing here decides
//! what to change; the repair plan does.

use std::time::Duration;

use k8s_openapi::api::authentication::v1::SelfSubjectReview;
use k8s_openapi::api::authorization::v1::{
    LocalSubjectAccessReview, ResourceAttributes, SelfSubjectAccessReview,
    SelfSubjectAccessReviewSpec, SubjectAccessReviewSpec,
};
use kube::api::{
    Api, DeleteParams, DynamicObject, Patch, PatchParams, PostParams, Preconditions,
    PropagationPolicy,
};
use serde_json::Value;

use super::{Cluster, api_resource, classify};
use crate::error::TriageError;
use crate::k8s::rbac::{AccessAnswer, AccessAnswers, Request};
use crate::snapshot::Kind;

/// Field manager recorded in managedFields for every write triage makes.
pub const FIELD_MANAGER: &str = "triage";

/// Whether a write is persisted or only run through the server's admission and
/// validation (`dryRun=All`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteMode {
    Apply,
    DryRun,
}

/// The answer to "may I?", with the authorizer's reason when it gave one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessDecision {
    pub allowed: bool,
    pub reason: Option<String>,
}

/// What a delete left behind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Deleted {
    /// The object is gone.
    Gone,
    /// The object is marked for deletion but finalizers still hold it.
    HeldBy(Vec<String>),
}

impl Cluster {
    fn api(&self, kind: Kind, namespace: &str) -> Api<DynamicObject> {
        let resource = api_resource(kind);
        if kind.namespaced() {
            Api::namespaced_with(self.client.clone(), namespace, &resource)
        } else {
            Api::all_with(self.client.clone(), &resource)
        }
    }

    fn fail(&self, error: kube::Error, what: String) -> TriageError {
        classify(&error, &self.server, &what)
    }

    /// The authenticated user as the API server sees it (SelfSubjectReview), so a
    /// responder sees who will make the change before confirming it.
    pub async fn whoami(&self) -> Result<String, TriageError> {
        let api: Api<SelfSubjectReview> = Api::all(self.client.clone());
        let review = api
            .create(&PostParams::default(), &SelfSubjectReview::default())
            .await
            .map_err(|e| self.fail(e, "asking who the user is".into()))?;
        Ok(review
            .status
            .and_then(|s| s.user_info)
            .and_then(|u| u.username)
            .unwrap_or_else(|| self.user.clone()))
    }

    /// SelfSubjectAccessReview: may the current user `verb` the `resource`?
    pub async fn can_i(
        &self,
        verb: &str,
        group: &str,
        resource: &str,
        namespace: &str,
        name: Option<&str>,
    ) -> Result<AccessDecision, TriageError> {
        let api: Api<SelfSubjectAccessReview> = Api::all(self.client.clone());
        let review = SelfSubjectAccessReview {
            spec: SelfSubjectAccessReviewSpec {
                resource_attributes: Some(ResourceAttributes {
                    verb: Some(verb.to_string()),
                    group: Some(group.to_string()),
                    resource: Some(resource.to_string()),
                    namespace: (!namespace.is_empty()).then(|| namespace.to_string()),
                    name: name.map(str::to_string),
                    ..ResourceAttributes::default()
                }),
                ..SelfSubjectAccessReviewSpec::default()
            },
            ..SelfSubjectAccessReview::default()
        };
        let answer = api
            .create(&PostParams::default(), &review)
            .await
            .map_err(|e| self.fail(e, format!("asking whether you may {verb} {resource}")))?;
        let status = answer.status.unwrap_or_default();
        Ok(AccessDecision {
            allowed: status.allowed,
            reason: status.reason.filter(|r| !r.is_empty()),
        })
    }

    /// Asks the API server (LocalSubjectAccessReview) whether ServiceAccount `account`
    /// may make each request. `None` when the user may not ask or the server does not
    /// answer: the caller falls back to evaluating the Roles itself.
    pub async fn service_account_access(
        &self,
        namespace: &str,
        account: &str,
        requests: &[Request],
    ) -> Option<AccessAnswers> {
        let api: Api<LocalSubjectAccessReview> = Api::namespaced(self.client.clone(), namespace);
        let user = format!("system:serviceaccount:{namespace}:{account}");
        let mut answers = Vec::new();
        for request in requests {
            let review = LocalSubjectAccessReview {
                metadata: kube::api::ObjectMeta {
                    namespace: Some(namespace.to_string()),
                    ..Default::default()
                },
                spec: SubjectAccessReviewSpec {
                    user: Some(user.clone()),
                    groups: Some(vec![
                        "system:serviceaccounts".to_string(),
                        format!("system:serviceaccounts:{namespace}"),
                        "system:authenticated".to_string(),
                    ]),
                    resource_attributes: Some(ResourceAttributes {
                        verb: Some(request.verb.clone()),
                        group: Some(request.group.clone()),
                        resource: Some(request.resource.clone()),
                        name: request.name.clone(),
                        namespace: Some(namespace.to_string()),
                        ..ResourceAttributes::default()
                    }),
                    ..SubjectAccessReviewSpec::default()
                },
                ..LocalSubjectAccessReview::default()
            };
            let status = api
                .create(&PostParams::default(), &review)
                .await
                .ok()?
                .status?;
            answers.push(AccessAnswer {
                request: request.clone(),
                allowed: status.allowed,
                reason: status.reason.filter(|r| !r.is_empty()),
            });
        }
        Some(AccessAnswers { answers })
    }

    /// The object as JSON, `None` when it does not exist.
    pub async fn get_json(
        &self,
        kind: Kind,
        namespace: &str,
        name: &str,
    ) -> Result<Option<Value>, TriageError> {
        let object = self
            .api(kind, namespace)
            .get_opt(name)
            .await
            .map_err(|e| self.fail(e, format!("reading {} `{name}`", kind.name())))?;
        Ok(object.map(|o| with_type(kind, o)))
    }

    /// Applies a JSON patch (RFC 6902). Callers put a `test` on
    /// `/metadata/resourceVersion` first, so a concurrent writer makes it fail with
    /// 422/409 instead of being overwritten.
    pub async fn json_patch(
        &self,
        kind: Kind,
        namespace: &str,
        name: &str,
        patch: Value,
        mode: WriteMode,
    ) -> Result<Value, TriageError> {
        let patch: json_patch::Patch = serde_json::from_value(patch).map_err(|e| {
            TriageError::input(format!("invalid JSON patch for `{name}`: {e}"), None)
        })?;
        let params = PatchParams {
            field_manager: Some(FIELD_MANAGER.to_string()),
            dry_run: mode == WriteMode::DryRun,
            ..PatchParams::default()
        };
        let object = self
            .api(kind, namespace)
            .patch(name, &params, &Patch::<()>::Json(patch))
            .await
            .map_err(|e| self.fail(e, format!("patching {} `{name}`", kind.name())))?;
        Ok(with_type(kind, object))
    }

    /// Creates `object` (a full manifest).
    pub async fn create(
        &self,
        kind: Kind,
        namespace: &str,
        object: &Value,
        mode: WriteMode,
    ) -> Result<Value, TriageError> {
        let name = object
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or("?")
            .to_string();
        let dynamic: DynamicObject = serde_json::from_value(object.clone())
            .map_err(|e| TriageError::input(format!("invalid manifest for `{name}`: {e}"), None))?;
        let params = PostParams {
            dry_run: mode == WriteMode::DryRun,
            field_manager: Some(FIELD_MANAGER.to_string()),
        };
        let created = self
            .api(kind, namespace)
            .create(&params, &dynamic)
            .await
            .map_err(|e| self.fail(e, format!("creating {} `{name}`", kind.name())))?;
        Ok(with_type(kind, created))
    }

    /// Replaces the object (PUT) with `object`, which must carry the current
    /// resourceVersion: optimistic concurrency, a concurrent change makes it a conflict.
    pub async fn replace(
        &self,
        kind: Kind,
        namespace: &str,
        object: &Value,
        mode: WriteMode,
    ) -> Result<Value, TriageError> {
        let name = object
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or("?")
            .to_string();
        let dynamic: DynamicObject = serde_json::from_value(object.clone())
            .map_err(|e| TriageError::input(format!("invalid manifest for `{name}`: {e}"), None))?;
        let params = PostParams {
            dry_run: mode == WriteMode::DryRun,
            field_manager: Some(FIELD_MANAGER.to_string()),
        };
        let replaced = self
            .api(kind, namespace)
            .replace(&name, &params, &dynamic)
            .await
            .map_err(|e| self.fail(e, format!("replacing {} `{name}`", kind.name())))?;
        Ok(with_type(kind, replaced))
    }

    /// Deletes exactly the object with `uid` at `resource_version` (preconditions),
    /// with Background propagation so a Job's pods are not orphaned. Never forced: no
    /// zero grace period, finalizers are respected.
    pub async fn delete_exact(
        &self,
        kind: Kind,
        namespace: &str,
        name: &str,
        uid: &str,
        resource_version: &str,
        mode: WriteMode,
    ) -> Result<Deleted, TriageError> {
        let params = DeleteParams {
            dry_run: mode == WriteMode::DryRun,
            propagation_policy: Some(PropagationPolicy::Background),
            preconditions: Some(Preconditions {
                uid: Some(uid.to_string()),
                resource_version: Some(resource_version.to_string()),
            }),
            ..DeleteParams::default()
        };
        let outcome = self
            .api(kind, namespace)
            .delete(name, &params)
            .await
            .map_err(|e| self.fail(e, format!("deleting {} `{name}`", kind.name())))?;
        Ok(match outcome.left() {
            Some(still_there) => {
                let finalizers = still_there.metadata.finalizers.unwrap_or_default();
                if finalizers.is_empty() {
                    Deleted::Gone
                } else {
                    Deleted::HeldBy(finalizers)
                }
            }
            None => Deleted::Gone,
        })
    }

    /// The pods a Job created (label `job-name`), as JSON.
    pub async fn job_pods(&self, namespace: &str, job: &str) -> Result<Vec<Value>, TriageError> {
        let params = kube::api::ListParams::default().labels(&format!("job-name={job}"));
        let pods = self
            .api(Kind::Pod, namespace)
            .list(&params)
            .await
            .map_err(|e| self.fail(e, format!("listing the pods of Job `{job}`")))?;
        Ok(pods
            .items
            .into_iter()
            .map(|p| with_type(Kind::Pod, p))
            .collect())
    }

    /// The last `lines` lines of a pod's log (needs a kubelet; `None` when the API
    /// server cannot get them).
    pub async fn pod_log_tail(&self, namespace: &str, pod: &str, lines: i64) -> Option<String> {
        let api: Api<k8s_openapi::api::core::v1::Pod> =
            Api::namespaced(self.client.clone(), namespace);
        let params = kube::api::LogParams {
            tail_lines: Some(lines),
            ..kube::api::LogParams::default()
        };
        api.logs(pod, &params)
            .await
            .ok()
            .filter(|text| !text.trim().is_empty())
    }

    /// Waits until the object is gone, polling every 500 ms, up to `limit`.
    pub async fn wait_gone(
        &self,
        kind: Kind,
        namespace: &str,
        name: &str,
        limit: Duration,
    ) -> Result<bool, TriageError> {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            if self.get_json(kind, namespace, name).await?.is_none() {
                return Ok(true);
            }
            if tokio::time::Instant::now() >= deadline {
                return Ok(false);
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
}

/// A DynamicObject as JSON with its apiVersion and kind filled in.
fn with_type(kind: Kind, mut object: DynamicObject) -> Value {
    let resource = api_resource(kind);
    object.types = Some(kube::api::TypeMeta {
        api_version: resource.api_version,
        kind: resource.kind,
    });
    serde_json::to_value(object).unwrap_or_default()
}
