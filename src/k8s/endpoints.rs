//! Service endpoint semantics in one place: which pods a Service's selector picks, which
//! of them the EndpointSlice controller publishes and as ready, how a named targetPort
//! resolves, and how to read an EndpointSlice. Pure; the signals and the inventory use it.
//!
//! Follows the EndpointSlice controller (pkg/controller/endpointslice, with
//! `ShouldPodBeInEndpoints` and `FindPort` in staging/src/k8s.io/endpointslice/utils.go
//! and pkg/api/v1/pod/util.go) and
//! https://kubernetes.io/docs/concepts/services-networking/service/#services-without-selectors.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Pod, Service, ServicePort};
use k8s_openapi::api::discovery::v1::{Endpoint, EndpointSlice};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use crate::snapshot::HasMeta;

/// The label the EndpointSlice controller puts on every slice it manages for a Service.
pub const SERVICE_NAME_LABEL: &str = "kubernetes.io/service-name";

/// The Service's selector, when the endpoints controllers manage its endpoints: not
/// ExternalName, and a non-empty selector (NB: an empty or absent selector means
/// "endpoints are managed by someone else", not "select every pod").
pub fn managed_selector(service: &Service) -> Option<&BTreeMap<String, String>> {
    let spec = service.spec.as_ref()?;
    if spec.type_.as_deref() == Some("ExternalName") {
        return None;
    }
    spec.selector.as_ref().filter(|s| !s.is_empty())
}

/// Whether `pod` carries every label of a Service's equality-based selector.
pub fn selects(selector: &BTreeMap<String, String>, pod: &Pod) -> bool {
    let as_label_selector = LabelSelector {
        match_labels: Some(selector.clone()),
        match_expressions: None,
    };
    crate::k8s::selector::matches(Some(&as_label_selector), pod.metadata.labels.as_ref())
}

/// The pod's `Ready` condition is `True` (podutil.IsPodReady).
pub fn pod_ready(pod: &Pod) -> bool {
    pod.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .into_iter()
        .flatten()
        .any(|c| c.type_ == "Ready" && c.status == "True")
}

/// Whether the pod's endpoint would be `ready`: Ready and not terminating, or any listed
/// pod when the Service publishes not-ready addresses.
pub fn endpoint_would_be_ready(service: &Service, pod: &Pod) -> bool {
    let publish_not_ready = service
        .spec
        .as_ref()
        .and_then(|s| s.publish_not_ready_addresses)
        .unwrap_or(false);
    if publish_not_ready {
        return !crate::k8s::pod_state::is_terminal(pod);
    }
    pod_ready(pod) && pod.metadata.deletion_timestamp.is_none()
}

/// The container port a named targetPort resolves to in `pod` (FindPort: same name and
/// protocol), `None` when no container declares it.
pub fn find_named_port(pod: &Pod, name: &str, protocol: &str) -> Option<i32> {
    pod.spec
        .as_ref()?
        .containers
        .iter()
        .flat_map(|c| c.ports.iter().flatten())
        .find(|p| {
            p.name.as_deref() == Some(name) && p.protocol.as_deref().unwrap_or("TCP") == protocol
        })
        .map(|p| p.container_port)
}

/// The port's targetPort when it is a name (a number, or no targetPort, always resolves:
/// a port a container does not declare still receives traffic).
pub fn named_target_port(port: &ServicePort) -> Option<&str> {
    match port.target_port.as_ref()? {
        IntOrString::String(name) if name.parse::<i32>().is_err() => Some(name.as_str()),
        _ => None,
    }
}

/// The Service a slice belongs to (its `kubernetes.io/service-name` label).
pub fn service_of(slice: &EndpointSlice) -> Option<&str> {
    slice
        .metadata
        .labels
        .as_ref()?
        .get(SERVICE_NAME_LABEL)
        .map(String::as_str)
}

/// NB: a nil `conditions.ready` means ready (discovery.k8s.io/v1 EndpointConditions).
pub fn endpoint_ready(endpoint: &Endpoint) -> bool {
    endpoint
        .conditions
        .as_ref()
        .and_then(|c| c.ready)
        .unwrap_or(true)
}

/// The slices of `service` among `slices` (same namespace), in name order.
pub fn slices_of<'a>(service: &Service, slices: &[&'a EndpointSlice]) -> Vec<&'a EndpointSlice> {
    slices
        .iter()
        .copied()
        .filter(|s| s.namespace() == service.namespace() && service_of(s) == Some(service.name()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn service(yaml: &str) -> Service {
        serde_saphyr::from_str(yaml).unwrap()
    }

    #[test]
    fn empty_selector_and_external_name_are_not_managed() {
        assert!(
            managed_selector(&service("metadata: {name: a}\nspec: {selector: {}}\n")).is_none()
        );
        assert!(managed_selector(&service("metadata: {name: a}\nspec: {}\n")).is_none());
        assert!(
            managed_selector(&service(
                "metadata: {name: a}\nspec: {type: ExternalName, externalName: db.example.com, selector: {app: a}}\n"
            ))
            .is_none()
        );
        assert!(
            managed_selector(&service(
                "metadata: {name: a}\nspec: {selector: {app: a}}\n"
            ))
            .is_some()
        );
    }

    #[test]
    fn numeric_target_ports_are_not_names() {
        let port: ServicePort = serde_saphyr::from_str("{port: 80, targetPort: \"8080\"}").unwrap();
        assert_eq!(named_target_port(&port), None);
        let port: ServicePort = serde_saphyr::from_str("{port: 80, targetPort: http}").unwrap();
        assert_eq!(named_target_port(&port), Some("http"));
    }
}
