//! Kubernetes semantics, evaluated offline, in one place: what a selector matches, what
//! a NetworkPolicy allows, what RBAC grants, how quantities compare, how kubectl prints
//! a pod, which PersistentVolume can take a claim, which pods back a Service, who owns
//! an object, who removes a finalizer, when an event happened, who wrote a field. Each
//! module follows the definition it names in its doc comment. Pure: no client, no
//! clock, no terminal.

pub mod endpoints;
pub mod events;
pub mod field_managers;
pub mod finalizers;
pub mod kubectl_style;
pub mod markers;
pub mod netpol;
pub mod pod_state;
pub mod quantity;
pub mod rbac;
pub mod selector;
pub mod storage;
pub mod volume_binding;
pub mod workload;
