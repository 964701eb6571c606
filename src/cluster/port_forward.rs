//! A port-forward through the API server to the pod behind a Service, as
//! `kubectl port-forward svc/NAME PORT` does: the database is reached without kubectl
//! and without exposing it. The API server hands the stream to the pod's kubelet.

use k8s_openapi::api::core::v1::{Pod, Service};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::api::{Api, ListParams};
use tokio::io::DuplexStream;

use super::{Cluster, classify};
use crate::error::TriageError;

impl Cluster {
    /// Opens a stream to `port` of the Service `service`: a Running, Ready pod its
    /// selector picks, on the Service port's targetPort. Returns the pod's name too.
    pub async fn forward_to_service(
        &self,
        namespace: &str,
        service: &str,
        port: i32,
    ) -> Result<(String, DuplexStream), TriageError> {
        let what = format!("port-forwarding to Service `{service}` port {port}");
        let services: Api<Service> = Api::namespaced(self.client.clone(), namespace);
        let found = services
            .get_opt(service)
            .await
            .map_err(|e| classify(&e, &self.server, &what))?
            .ok_or_else(|| {
                TriageError::input(
                    format!("Service `{service}` does not exist in namespace `{namespace}`"),
                    Some("pass --db-url, or fix `database.service` in the profile".to_string()),
                )
            })?;
        let spec = found.spec.unwrap_or_default();
        let selector = spec.selector.unwrap_or_default();
        if selector.is_empty() {
            return Err(TriageError::input(
                format!("Service `{service}` has no selector: no pod to forward to"),
                Some("pass --db-url".to_string()),
            ));
        }
        // NB: a named targetPort would need the container's ports; the numeric one (or
        // the Service port itself) covers PostgreSQL Services in practice.
        let target_port = spec
            .ports
            .unwrap_or_default()
            .into_iter()
            .find(|p| p.port == port)
            .and_then(|p| p.target_port)
            .and_then(|t| match t {
                IntOrString::Int(number) => Some(number),
                IntOrString::String(_) => None,
            })
            .unwrap_or(port);
        let labels: Vec<String> = selector.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let pods: Api<Pod> = Api::namespaced(self.client.clone(), namespace);
        let candidates = pods
            .list(&ListParams::default().labels(&labels.join(",")))
            .await
            .map_err(|e| classify(&e, &self.server, &what))?;
        let pod = candidates
            .items
            .into_iter()
            .find(|pod| {
                let status = pod.status.as_ref();
                status.and_then(|s| s.phase.as_deref()) == Some("Running")
                    && status
                        .and_then(|s| s.conditions.as_ref())
                        .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
            })
            .and_then(|pod| pod.metadata.name)
            .ok_or_else(|| {
                TriageError::input(
                    format!("no Running, Ready pod behind Service `{service}` to forward to"),
                    Some("pass --db-url".to_string()),
                )
            })?;
        let port_u16 = u16::try_from(target_port).map_err(|_| {
            TriageError::input(format!("port {target_port} is not a TCP port"), None)
        })?;
        let unreachable = |detail: String| {
            TriageError::unreachable(
                format!("cannot port-forward to pod `{pod}` port {port_u16} through `{}`: {detail}", self.server),
                Some("the kubelet of the pod's node must answer; or pass --db-url through another route".to_string()),
            )
        };
        let mut forwarder = pods
            .portforward(&pod, &[port_u16])
            .await
            .map_err(|e| unreachable(crate::cluster::kube_error_text(&e)))?;
        let stream = forwarder
            .take_stream(port_u16)
            .ok_or_else(|| unreachable("the API server opened no stream".to_string()))?;
        // The forwarder's task moves the bytes; it ends when the stream is dropped.
        tokio::spawn(async move {
            let _ = forwarder.join().await;
        });
        Ok((pod, stream))
    }
}
