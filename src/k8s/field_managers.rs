//! Field managers (metadata.managedFields[].manager): who wrote an object. Server-side
//! apply and every client record a manager name per write
//! (https://kubernetes.io/docs/reference/using-api/server-side-apply/#managers), so the
//! names tell a controller's writes from a person's.

/// Managers in managedFields that are controllers rather than people: anything but
/// kubectl's own manager names.
pub fn controller_managers(
    meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
) -> Vec<String> {
    let mut managers: Vec<String> = meta
        .managed_fields
        .iter()
        .flatten()
        .filter_map(|entry| entry.manager.clone())
        // NB: Helm writes with field manager `helm`: a client like kubectl, not a
        // controller; what it wrote is a release, not a reconciler output.
        .filter(|manager| {
            !manager.starts_with("kubectl") && manager != "triage" && manager != "helm"
        })
        .collect();
    managers.sort();
    managers.dedup();
    managers
}
