//! The effectful shell the executor and `restore` are written against: the few
//! Kubernetes operations a repair is made of, as a trait. The live [`Cluster`]
//! implements it over kube-rs; `cluster::fake` (tests) implements it in memory, so the
//! executor's sequencing, refusals and recovery are unit-tested without a server.

use std::time::Duration;

use serde_json::Value;

use super::Cluster;
use super::write::{AccessDecision, Deleted, WriteMode};
use crate::error::TriageError;
use crate::snapshot::Kind;

/// One cluster, as the executor sees it. Every write takes a [`WriteMode`]: a server
/// dry run (`dryRun=All`) runs the same admission and validation without persisting.
// NB: native async fn in a trait; triage runs one current-thread runtime and the
// executor is generic over `K: Kube`, so no `Send` bound and no `dyn` are needed.
#[expect(
    async_fn_in_trait,
    reason = "used with generics on a current-thread runtime"
)]
pub trait Kube {
    /// The kubeconfig context, shown before any change and written in the audit log.
    fn context(&self) -> &str;
    /// The API server's address, shown beside the context.
    fn server(&self) -> &str;
    /// The authenticated user as the API server sees it (SelfSubjectReview).
    async fn whoami(&self) -> Result<String, TriageError>;
    /// SelfSubjectAccessReview: may the current user `verb` this resource?
    async fn can_i(
        &self,
        verb: &str,
        group: &str,
        resource: &str,
        namespace: &str,
        name: Option<&str>,
    ) -> Result<AccessDecision, TriageError>;
    /// The object as JSON (apiVersion and kind set), `None` when it does not exist.
    async fn get(
        &self,
        kind: Kind,
        namespace: &str,
        name: &str,
    ) -> Result<Option<Value>, TriageError>;
    /// The pods a Job created (label `job-name`).
    async fn job_pods(&self, namespace: &str, job: &str) -> Result<Vec<Value>, TriageError>;
    /// A JSON patch (RFC 6902); callers guard it with a `test` of the resourceVersion.
    async fn json_patch(
        &self,
        kind: Kind,
        namespace: &str,
        name: &str,
        patch: Value,
        mode: WriteMode,
    ) -> Result<Value, TriageError>;
    /// Creates `object` (a full manifest).
    async fn create(
        &self,
        kind: Kind,
        namespace: &str,
        object: &Value,
        mode: WriteMode,
    ) -> Result<Value, TriageError>;
    /// Replaces the object (PUT); `object` carries the resourceVersion it replaces, so a
    /// concurrent change is a 409 Conflict (optimistic concurrency).
    async fn replace(
        &self,
        kind: Kind,
        namespace: &str,
        object: &Value,
        mode: WriteMode,
    ) -> Result<Value, TriageError>;
    /// Deletes exactly the object with `uid` at `resource_version` (preconditions),
    /// Background propagation, never forced.
    async fn delete_exact(
        &self,
        kind: Kind,
        namespace: &str,
        name: &str,
        uid: &str,
        resource_version: &str,
        mode: WriteMode,
    ) -> Result<Deleted, TriageError>;
    /// Waits up to `limit` until the object is gone; `false` when it is still there.
    async fn wait_gone(
        &self,
        kind: Kind,
        namespace: &str,
        name: &str,
        limit: Duration,
    ) -> Result<bool, TriageError>;
    /// The last `lines` lines of a pod's log, `None` when the server cannot get them.
    async fn pod_log_tail(&self, namespace: &str, pod: &str, lines: i64) -> Option<String>;
    /// The tables the database really has (`pg_tables`), reached directly or through a
    /// port-forward this cluster opens.
    async fn database_tables(
        &self,
        database: &crate::db::Access,
        timeout: Option<Duration>,
    ) -> Result<Vec<String>, TriageError>;
}

impl Kube for Cluster {
    fn context(&self) -> &str {
        &self.context
    }

    fn server(&self) -> &str {
        &self.server
    }

    async fn whoami(&self) -> Result<String, TriageError> {
        Cluster::whoami(self).await
    }

    async fn can_i(
        &self,
        verb: &str,
        group: &str,
        resource: &str,
        namespace: &str,
        name: Option<&str>,
    ) -> Result<AccessDecision, TriageError> {
        Cluster::can_i(self, verb, group, resource, namespace, name).await
    }

    async fn get(
        &self,
        kind: Kind,
        namespace: &str,
        name: &str,
    ) -> Result<Option<Value>, TriageError> {
        self.get_json(kind, namespace, name).await
    }

    async fn job_pods(&self, namespace: &str, job: &str) -> Result<Vec<Value>, TriageError> {
        Cluster::job_pods(self, namespace, job).await
    }

    async fn json_patch(
        &self,
        kind: Kind,
        namespace: &str,
        name: &str,
        patch: Value,
        mode: WriteMode,
    ) -> Result<Value, TriageError> {
        Cluster::json_patch(self, kind, namespace, name, patch, mode).await
    }

    async fn create(
        &self,
        kind: Kind,
        namespace: &str,
        object: &Value,
        mode: WriteMode,
    ) -> Result<Value, TriageError> {
        Cluster::create(self, kind, namespace, object, mode).await
    }

    async fn replace(
        &self,
        kind: Kind,
        namespace: &str,
        object: &Value,
        mode: WriteMode,
    ) -> Result<Value, TriageError> {
        Cluster::replace(self, kind, namespace, object, mode).await
    }

    async fn delete_exact(
        &self,
        kind: Kind,
        namespace: &str,
        name: &str,
        uid: &str,
        resource_version: &str,
        mode: WriteMode,
    ) -> Result<Deleted, TriageError> {
        Cluster::delete_exact(self, kind, namespace, name, uid, resource_version, mode).await
    }

    async fn wait_gone(
        &self,
        kind: Kind,
        namespace: &str,
        name: &str,
        limit: Duration,
    ) -> Result<bool, TriageError> {
        Cluster::wait_gone(self, kind, namespace, name, limit).await
    }

    async fn pod_log_tail(&self, namespace: &str, pod: &str, lines: i64) -> Option<String> {
        Cluster::pod_log_tail(self, namespace, pod, lines).await
    }

    async fn database_tables(
        &self,
        database: &crate::db::Access,
        timeout: Option<Duration>,
    ) -> Result<Vec<String>, TriageError> {
        let connection = database.connect(self, timeout).await?;
        crate::db::list_tables(&connection).await
    }
}
