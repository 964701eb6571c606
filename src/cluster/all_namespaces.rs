//! `-A`: the whole cluster in one round of cluster-wide LISTs, one paginated LIST per
//! kind (`GET /api/v1/pods?limit=500`, kubectl's `get -A`), decoded by the same code
//! as a namespace's load ([`list_kind`], [`Snapshot::insert_json`]).
//!
//! NB: a kind the user may not list cluster-wide (a 403 on the cluster-wide LIST; RBAC
//! grants it only through a ClusterRoleBinding,
//! https://kubernetes.io/docs/reference/access-authn-authz/rbac/#rolebinding-and-clusterrolebinding)
//! becomes a gap of every namespace. It is never read namespace by namespace instead:
//! that would be one request per namespace and kind, and a picture silently partial
//! where the user may read some namespaces and not others.

use futures::future::join_all;
use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::api::rbac::v1::ClusterRole;
use kube::api::{Api, ListParams};

use super::{Cluster, classify, error_chain, list_kind, namespace_json};
use crate::error::TriageError;
use crate::snapshot::{Gap, Kind, RawObject, Snapshot};

impl Cluster {
    /// Every namespace's objects, the Namespace objects, the cluster-scoped
    /// StorageClasses and PersistentVolumes (listed once, shared by every namespace
    /// when the snapshot is split) and the ClusterRoles any RoleBinding references
    /// (each read once with GET), under one deadline. No logs: see `check -A`'s help.
    pub async fn load_all_namespaces(&self) -> Result<Snapshot, TriageError> {
        let started = std::time::Instant::now();
        let work = self.load_all_namespaces_unbounded();
        let snapshot = match self.timeout {
            Some(limit) => tokio::time::timeout(limit, work).await.unwrap_or_else(|_| {
                Err(TriageError::unreachable(
                    format!(
                        "`{}` did not answer within {}s",
                        self.server,
                        limit.as_secs()
                    ),
                    Some("raise --request-timeout or check the network".to_string()),
                ))
            }),
            None => work.await,
        }?;
        if self.verbose > 0 {
            eprintln!(
                "triage: listed {} kinds in all namespaces on `{}` as `{}`: {} objects in {} namespaces, {} not readable, {} ms",
                Kind::ALL.len() - 1,
                self.server,
                self.user,
                snapshot.all_meta().count(),
                snapshot.namespaces().len(),
                snapshot.gaps.len(),
                started.elapsed().as_millis()
            );
        }
        Ok(snapshot)
    }

    async fn load_all_namespaces_unbounded(&self) -> Result<Snapshot, TriageError> {
        let mut snapshot = Snapshot {
            captured_at: Some(jiff::Timestamp::now()),
            ..Snapshot::default()
        };
        let lists = Kind::ALL
            .into_iter()
            .filter(|k| *k != Kind::ClusterRole)
            .map(|kind| async move { (kind, list_kind(&self.client, None, kind).await) });
        let namespaces = async {
            let api: Api<Namespace> = Api::all(self.client.clone());
            api.list(&ListParams::default()).await
        };
        let (lists, namespaces) = futures::join!(join_all(lists), namespaces);

        for (kind, result) in lists {
            match result {
                Ok(part) => snapshot.absorb(part),
                Err(kube::Error::Api(status)) if status.code == 403 => {
                    snapshot
                        .gaps
                        .insert(kind, Gap::Forbidden(status.message.clone()));
                }
                Err(kube::Error::Api(status)) if status.code != 401 => {
                    snapshot.gaps.insert(
                        kind,
                        Gap::Failed(format!("{} ({})", status.message, status.code)),
                    );
                }
                Err(other) => {
                    return Err(classify(
                        &other,
                        &self.server,
                        &format!("listing {} in all namespaces", kind.plural()),
                    ));
                }
            }
        }
        let namespaced_kinds = Kind::ALL.iter().filter(|k| k.namespaced()).count();
        let forbidden = snapshot
            .gaps
            .iter()
            .filter(|(kind, gap)| kind.namespaced() && matches!(gap, Gap::Forbidden(_)))
            .count();
        if forbidden == namespaced_kinds {
            return Err(TriageError::forbidden(
                format!(
                    "user `{}` may not list anything in all namespaces (context `{}`)",
                    self.user, self.context
                ),
                Some(
                    "ask for cluster-wide read access, or drop -A and name one namespace with -n"
                        .to_string(),
                ),
            ));
        }
        match namespaces {
            Ok(list) => {
                for namespace in list.items {
                    let name = namespace.metadata.name.clone().unwrap_or_default();
                    snapshot.other.push(RawObject {
                        api_version: "v1".into(),
                        kind: "Namespace".into(),
                        namespace: None,
                        name,
                        object: namespace_json(namespace),
                    });
                }
            }
            // Without the list, the namespaces are those holding an object.
            Err(kube::Error::Api(status)) if status.code == 403 => {
                snapshot.object_gaps.insert(
                    "namespaces".to_string(),
                    Gap::Forbidden(status.message.clone()),
                );
            }
            Err(error) => {
                snapshot
                    .object_gaps
                    .insert("namespaces".to_string(), Gap::Failed(error_chain(&error)));
            }
        }
        self.read_referenced_cluster_roles(&mut snapshot).await?;
        Ok(snapshot)
    }

    /// Every ClusterRole a RoleBinding of any namespace references, each GET once
    /// (most clusters bind a handful: `admin`, `edit`, `view`). A refusal is a gap.
    async fn read_referenced_cluster_roles(
        &self,
        snapshot: &mut Snapshot,
    ) -> Result<(), TriageError> {
        let mut names: Vec<String> = snapshot
            .role_bindings
            .iter()
            .filter(|b| b.role_ref.kind == "ClusterRole")
            .map(|b| b.role_ref.name.clone())
            .collect();
        names.sort();
        names.dedup();
        let api: Api<ClusterRole> = Api::all(self.client.clone());
        let reads = names.iter().map(|name| {
            let api = api.clone();
            async move { (name, api.get_opt(name).await) }
        });
        for (name, result) in join_all(reads).await {
            match result {
                Ok(Some(mut role)) => {
                    role.metadata.managed_fields = None;
                    snapshot.cluster_roles.push(role);
                }
                Ok(None) => {}
                Err(kube::Error::Api(status)) if status.code == 403 => {
                    snapshot
                        .gaps
                        .insert(Kind::ClusterRole, Gap::Forbidden(status.message.clone()));
                }
                Err(kube::Error::Api(status)) if status.code != 401 => {
                    snapshot.gaps.insert(
                        Kind::ClusterRole,
                        Gap::Failed(format!("{} ({})", status.message, status.code)),
                    );
                }
                Err(other) => {
                    return Err(classify(
                        &other,
                        &self.server,
                        &format!("reading clusterrole `{name}`"),
                    ));
                }
            }
        }
        Ok(())
    }
}
