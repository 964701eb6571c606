//! triage: find, order and safely repair the faults that keep a Kubernetes namespace
//! red. The pure core (snapshot -> inventory/signals -> plan) never sees a client, a
//! terminal or the clock; `cluster` is the only module that talks to an API server, `db` the only one that
//! talks to PostgreSQL.

pub mod backup;
pub mod causes;
pub mod check;
pub mod cli;
pub mod cluster;
pub mod commands;
pub mod db;
pub mod endpoints;
pub mod error;
pub mod executor;
pub mod finalizers;
pub mod finding;
pub mod green;
pub mod inventory;
pub mod kubectl_style;
pub mod logs;
pub mod markers;
pub mod netpol;
pub mod plan;
pub mod pod_state;
pub mod profile;
pub mod quantity;
pub mod rbac;
pub mod render;
pub mod repair;
pub mod selector;
pub mod signals;
pub mod snapshot;
pub mod storage;
pub mod terminal;
pub mod traffic;
pub mod volume_binding;
pub mod workload;
