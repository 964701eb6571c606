//! Workload relations the generic signals share: which controller owns an object
//! (ownerReferences), a ReplicaSet's revision, the workload a pod belongs to, and a
//! pod's first visible problem in one field. Pure functions of the snapshot.
//! https://kubernetes.io/docs/concepts/overview/working-with-objects/owners-dependents/

use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};

use crate::snapshot::{HasMeta, Kind, Snapshot};

/// The annotation the deployment controller writes on a Deployment and each of its
/// ReplicaSets (pkg/controller/deployment/util/deployment_util.go `RevisionAnnotation`).
pub const REVISION_ANNOTATION: &str = "deployment.kubernetes.io/revision";

/// The managing controller of an object: the ownerReference with `controller: true`.
pub fn controller_of(meta: &ObjectMeta) -> Option<&OwnerReference> {
    meta.owner_references
        .as_deref()?
        .iter()
        .find(|o| o.controller == Some(true))
}

/// Whether `meta` is controlled by the object of `kind` named `name` (and, when the
/// owner's uid is known, with that uid: a recreated owner of the same name is another
/// object).
pub fn controlled_by(meta: &ObjectMeta, kind: Kind, owner: &ObjectMeta) -> bool {
    controller_of(meta).is_some_and(|o| {
        o.kind == kind.name()
            && Some(o.name.as_str()) == owner.name.as_deref()
            && owner.uid.as_deref().is_none_or(|uid| uid == o.uid)
    })
}

/// The objects of `items` in `owner`'s namespace that it controls, in name order.
pub fn controlled<'a, K: HasMeta>(items: &'a [K], kind: Kind, owner: &ObjectMeta) -> Vec<&'a K> {
    let namespace = owner.namespace.as_deref().unwrap_or_default();
    crate::snapshot::in_namespace(items, namespace)
        .into_iter()
        .filter(|item| controlled_by(item.meta(), kind, owner))
        .collect()
}

/// The `deployment.kubernetes.io/revision` of a Deployment or ReplicaSet.
pub fn revision(meta: &ObjectMeta) -> Option<i64> {
    meta.annotations
        .as_ref()?
        .get(REVISION_ANNOTATION)?
        .trim()
        .parse()
        .ok()
}

/// The workload a pod belongs to, as kubectl names it (`deployment/api`,
/// `statefulset/db`, `job/migrate`, `replicaset/x` for a bare ReplicaSet), following
/// Pod -> ReplicaSet -> Deployment through controller ownerReferences.
pub fn workload_of(snapshot: &Snapshot, pod: &Pod) -> Option<(Kind, String)> {
    let owner = controller_of(&pod.metadata)?;
    let kind = match owner.kind.as_str() {
        "ReplicaSet" => {
            let rs = snapshot
                .replica_sets
                .iter()
                .find(|rs| rs.namespace() == pod.namespace() && rs.name() == owner.name);
            if let Some(deployment) = rs
                .and_then(|rs| controller_of(&rs.metadata))
                .filter(|o| o.kind == "Deployment")
            {
                return Some((Kind::Deployment, deployment.name.clone()));
            }
            Kind::ReplicaSet
        }
        "StatefulSet" => Kind::StatefulSet,
        "DaemonSet" => Kind::DaemonSet,
        "Job" => Kind::Job,
        _ => return None,
    };
    Some((kind, owner.name.clone()))
}

/// `kind/name` as kubectl spells a workload (`deployment/api`).
pub fn kubectl_name(kind: Kind, name: &str) -> String {
    format!("{}/{name}", kind.name().to_lowercase())
}

/// The first thing visibly wrong with a pod, as a status path and its value: a
/// waiting or failed (init) container, else an unscheduled pod, else a phase other
/// than Running/Succeeded, else a Running pod that is not Ready. `None` when Ready.
pub fn pod_problem(pod: &Pod) -> Option<(String, String)> {
    let status = pod.status.as_ref()?;
    let lists = [
        (
            "initContainerStatuses",
            status.init_container_statuses.as_deref(),
        ),
        ("containerStatuses", status.container_statuses.as_deref()),
    ];
    for (field, statuses) in lists {
        for (index, container) in statuses.unwrap_or_default().iter().enumerate() {
            let state = container.state.as_ref();
            if let Some(reason) = state
                .and_then(|s| s.waiting.as_ref())
                .and_then(|w| w.reason.clone())
                .filter(|r| r != "PodInitializing")
            {
                return Some((
                    format!("status.{field}[{index}].state.waiting.reason"),
                    reason,
                ));
            }
            if let Some(terminated) = state
                .and_then(|s| s.terminated.as_ref())
                .filter(|t| t.exit_code != 0)
            {
                let reason = terminated
                    .reason
                    .clone()
                    .unwrap_or_else(|| format!("ExitCode:{}", terminated.exit_code));
                return Some((
                    format!("status.{field}[{index}].state.terminated.reason"),
                    reason,
                ));
            }
        }
    }
    let conditions = status.conditions.as_deref().unwrap_or_default();
    if let Some((index, condition)) = conditions
        .iter()
        .enumerate()
        .find(|(_, c)| c.type_ == "PodScheduled" && c.status == "False")
    {
        let reason = condition
            .reason
            .clone()
            .unwrap_or_else(|| "NotScheduled".to_string());
        return Some((format!("status.conditions[{index}].reason"), reason));
    }
    let phase = status.phase.as_deref().unwrap_or("Unknown");
    if phase != "Running" && phase != "Succeeded" {
        return Some(("status.phase".to_string(), phase.to_string()));
    }
    conditions
        .iter()
        .enumerate()
        .find(|(_, c)| c.type_ == "Ready" && c.status != "True")
        .map(|(index, c)| {
            (
                format!("status.conditions[{index}].status"),
                format!("Ready={}", c.status),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signals::test_support::snapshot;

    const OWNED: &str = r#"apiVersion: v1
kind: List
items:
- apiVersion: apps/v1
  kind: ReplicaSet
  metadata:
    name: api-7f9
    namespace: app
    annotations: {deployment.kubernetes.io/revision: "4"}
    ownerReferences: [{apiVersion: apps/v1, kind: Deployment, name: api, uid: d1, controller: true}]
  spec: {selector: {matchLabels: {app: api}}}
- apiVersion: v1
  kind: Pod
  metadata:
    name: api-7f9-abcde
    namespace: app
    ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: api-7f9, uid: r1, controller: true}]
  spec: {containers: [{name: api, image: x}]}
  status:
    phase: Pending
    initContainerStatuses:
    - {name: init, image: x, imageID: "", ready: false, restartCount: 3, state: {waiting: {reason: CrashLoopBackOff}}}
- apiVersion: v1
  kind: Pod
  metadata:
    name: db-0
    namespace: app
    ownerReferences: [{apiVersion: apps/v1, kind: StatefulSet, name: db, uid: s1, controller: true}]
  spec: {containers: [{name: db, image: x}]}
  status:
    phase: Running
    conditions: [{type: Ready, status: "True"}]
"#;

    #[test]
    fn pods_resolve_to_their_workload() {
        let snap = snapshot(OWNED);
        let api = snap
            .pods
            .iter()
            .find(|p| p.name() == "api-7f9-abcde")
            .unwrap();
        let db = snap.pods.iter().find(|p| p.name() == "db-0").unwrap();
        assert_eq!(
            workload_of(&snap, api),
            Some((Kind::Deployment, "api".to_string()))
        );
        assert_eq!(
            workload_of(&snap, db),
            Some((Kind::StatefulSet, "db".to_string()))
        );
        assert_eq!(revision(&snap.replica_sets[0].metadata), Some(4));
        assert_eq!(
            pod_problem(api),
            Some((
                "status.initContainerStatuses[0].state.waiting.reason".to_string(),
                "CrashLoopBackOff".to_string()
            ))
        );
        assert_eq!(pod_problem(db), None);
    }
}
