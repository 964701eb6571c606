//! triage: find, order and safely repair the faults that keep a Kubernetes namespace
//! red. The pure core (snapshot -> inventory/signals -> plan) never sees a client, a
//! terminal or the clock; `cluster` is the only module that talks to an API server, `db` the only one that
//! talks to PostgreSQL.

pub mod all_namespaces;
pub mod backup;
pub mod causes;
pub mod check;
pub mod cli;
pub mod cluster;
pub mod commands;
pub mod db;
pub mod error;
pub mod executor;
pub mod finding;
pub mod green;
pub mod inventory;
pub mod journal;
pub mod k8s;
pub mod logs;
pub mod plan;
pub mod profile;
pub mod recovery;
pub mod render;
pub mod repair;
pub mod restore;
pub mod signals;
pub mod snapshot;
pub mod terminal;
pub mod traffic;
