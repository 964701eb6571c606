//! The health signals: one file each under `signals/`, each a pure function of the
//! snapshot and the optional profile, listed once in [`ALL`] in repair-priority order.
//!
//! Adding a signal:
//! 1. write `signals/<name>.rs` with a unit struct implementing [`Signal`] (a stable
//!    kebab-case id, the kinds it reads, `evaluate`), its fault and look-alike tests at
//!    the bottom;
//! 2. add it to [`ALL`] where its repair belongs, and to the graph in `plan.rs` if it
//!    gates or is gated by another;
//! 3. document it in `docs/signals.md`.

pub mod container_config;
pub mod crash_loop;
pub mod derived_state;
pub mod egress;
pub mod image_pull;
pub mod init_container;
pub mod job_failed;
pub mod lock;
pub mod migration_script;
pub mod mount;
pub mod oom_killed;
pub mod orphan_hook;
pub mod probe;
pub mod pvc;
pub mod quota;
pub mod rbac;
pub mod rollout;
pub mod schema;
pub mod service_endpoints;
pub mod stuck_deletion;
#[cfg(test)]
pub mod test_support;
pub mod unschedulable;

use crate::finding::{Context, Finding};
use crate::snapshot::Kind;

/// One health signal.
pub trait Signal: Sync {
    /// Stable kebab-case id, shown everywhere and accepted by `--only`/`--skip`.
    fn id(&self) -> &'static str;
    /// What it checks, in a few words.
    fn title(&self) -> &'static str;
    /// The kinds it reads.
    fn reads(&self) -> &'static [Kind];
    /// The verdict, with its evidence. Pure: no I/O, no clock.
    fn evaluate(&self, context: &Context) -> Finding;
}

/// Every signal, in repair-priority order (ties in the plan are broken by it).
pub const ALL: &[&dyn Signal] = &[
    &quota::Quota,
    &rbac::Rbac,
    &pvc::Pvc,
    &egress::Egress,
    &lock::Lock,
    &orphan_hook::OrphanHook,
    &migration_script::MigrationScript,
    &schema::SchemaVersion,
    &init_container::InitContainer,
    // The pod-level signals, in the order the kubelet starts a container: volumes,
    // image, container config, then what happens once it runs.
    &mount::Mount,
    &image_pull::ImagePull,
    &container_config::ContainerConfig,
    &oom_killed::OomKilled,
    &crash_loop::CrashLoop,
    &probe::ProbeSignal,
    &unschedulable::Unschedulable,
    &rollout::Rollout,
    &job_failed::JobFailed,
    &service_endpoints::ServiceEndpoints,
    &stuck_deletion::StuckDeletion,
    &derived_state::DerivedState,
];

/// The signal with `id`.
pub fn by_id(id: &str) -> Option<&'static dyn Signal> {
    ALL.iter().copied().find(|s| s.id() == id)
}

/// Every id, in list order.
pub fn ids() -> Vec<&'static str> {
    ALL.iter().map(|s| s.id()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `docs/signals.md` has one `## <id>` section per signal, in registry order: a
    /// signal added without its documentation, or documented out of order, fails here.
    #[test]
    fn docs_describe_every_signal_in_registry_order() {
        let docs = include_str!("../docs/signals.md");
        let documented: Vec<&str> = docs
            .lines()
            .filter_map(|line| line.strip_prefix("## "))
            .filter_map(|title| title.split_whitespace().next())
            .filter(|id| by_id(id).is_some())
            .collect();
        assert_eq!(documented, ids());
    }

    #[test]
    fn ids_are_unique_kebab_case() {
        let mut seen = ids();
        seen.sort();
        seen.dedup();
        assert_eq!(seen.len(), ALL.len());
        for id in ids() {
            assert!(
                id.chars().all(|c| c.is_ascii_lowercase() || c == '-'),
                "{id}"
            );
        }
    }
}
