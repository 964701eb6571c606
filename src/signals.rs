//! The health signals: one file each under `signals/`, each a pure function of the
//! snapshot and the optional profile that also describes itself: the kinds it reads, its
//! role in a repair, where the status reconciler's chain reads it, what its fault gates
//! and why, and its documentation. They are listed once in [`ALL`], in repair-priority
//! order, and everything else is derived from that list: `check`'s per-app chains,
//! the plan's declared gates, rationale and verify-only steps, `derived-state`'s inputs,
//! `repair`'s refusals and `docs/signals.md`.
//!
//! Adding a signal is one new file and two lines here:
//! 1. write `signals/<name>.rs` with a unit struct implementing [`Signal`]: a stable
//!    kebab-case `id`, a `title`, the kinds it `reads` (a unit test evaluates every
//!    signal on every bundled fixture with only those kinds kept and fails on any
//!    difference), its `docs` (what it keys on, the look-alikes it leaves green, the
//!    fix), `evaluate`; override `role`, `chain`, `gates` and `rationale` only when it
//!    has them. Its fault and look-alike tests go at the bottom of the file;
//! 2. add `pub mod <name>;` below and its line in [`ALL`] where its repair belongs;
//! 3. regenerate the docs: `TRIAGE_BLESS=1 cargo test --test cli generated`.

pub mod container_config;
pub mod crash_loop;
#[cfg(test)]
mod declared_reads;
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

/// One health signal: what it checks (`evaluate`) and everything the rest of triage
/// needs to know about it. Only `id`, `title`, `reads`, `docs` and `evaluate` are
/// required; the defaults describe a generic signal (a fault fixed by hand or by its
/// repair, outside the reconciler's chain, gating nothing by declaration).
pub trait Signal: Sync {
    /// Stable kebab-case id, shown everywhere and accepted by `--only`/`--skip`.
    fn id(&self) -> &'static str;
    /// What it checks, in a few words.
    fn title(&self) -> &'static str;
    /// The typed kinds it reads (through the snapshot or the context: `Context::apps`
    /// reads pods). Enforced: evaluated on a snapshot holding only these, every bundled
    /// fixture gives the same finding.
    fn reads(&self) -> &'static [Kind];
    /// The kinds it reads among the objects the snapshot keeps raw
    /// (`Snapshot::other`: Namespaces, custom resources).
    fn reads_raw(&self) -> RawReads {
        RawReads::None
    }
    /// What its failure asks of `repair`.
    fn role(&self) -> Role {
        Role::Repairable
    }
    /// Where the status ConfigMap's reconciler reads it, if it does.
    fn chain(&self) -> Option<Chain> {
        None
    }
    /// The signals its fault keeps from being repaired where the findings share no
    /// object to relate (the causal graph's fallback; `causes`).
    fn gates(&self) -> &'static [Gate] {
        &[]
    }
    /// Why its step goes where the registry puts it when nothing gates it (the plan's
    /// reason, after its priority); `None`: ordered by the causal graph alone.
    fn rationale(&self) -> Option<&'static str> {
        None
    }
    /// Its section of `docs/signals.md` (Markdown): what it keys on, with a link to the
    /// Kubernetes documentation, the look-alikes it leaves green, the fix.
    fn docs(&self) -> &'static str;
    /// The verdict, with its evidence. Pure: no I/O, no clock.
    fn evaluate(&self, context: &Context) -> Finding;
}

/// Which raw objects (kinds the snapshot does not type) a signal reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RawReads {
    None,
    /// These kinds, as the API spells them (`Namespace`).
    Kinds(&'static [&'static str]),
    /// Every raw object, whatever its kind.
    Every,
}

/// What a signal's failure asks of `repair`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// A fault to fix: by its repair when `repair::ALL` has one, else by hand with the
    /// finding's fix.
    Repairable,
    /// Resolves by itself once its gates are fixed: the plan verifies it and nothing is
    /// written. `not_written` is what `repair --only <id>` says instead.
    VerifyOnly { not_written: &'static str },
    /// An output a controller writes (a status ConfigMap): verified last, never patched.
    Output { not_written: &'static str },
}

impl Role {
    /// Verified, never repaired, whatever its objects say.
    pub fn verified_only(self) -> bool {
        self != Role::Repairable
    }

    /// Why `repair` writes nothing for it, if it does not.
    pub fn not_written(self) -> Option<&'static str> {
        match self {
            Role::Repairable => None,
            Role::VerifyOnly { not_written } | Role::Output { not_written } => Some(not_written),
        }
    }
}

/// The status reconciler's AND-chain: any failing `Progressing` input makes an app
/// Progressing; else any failing `Degraded` input makes it Degraded; else Healthy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ChainState {
    Progressing,
    Degraded,
}

/// Where a signal sits in the reconciler's chain: the state it holds an app in and its
/// position among that state's inputs (the reconciler's order, not the registry's).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Chain {
    pub state: ChainState,
    pub position: u8,
}

/// A declared gate: this signal's fault keeps `gated` from being repaired, `because`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gate {
    pub gated: &'static str,
    pub because: &'static str,
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

/// Position in [`ALL`]: the tie-break of the repair order (unknown ids last).
pub fn priority(id: &str) -> usize {
    ALL.iter().position(|s| s.id() == id).unwrap_or(usize::MAX)
}

/// The signal's role; an unknown id is a fault to repair.
pub fn role(id: &str) -> Role {
    by_id(id).map_or(Role::Repairable, |s| s.role())
}

/// The inputs that hold an app in `state`, in the reconciler's order.
pub fn chain(state: ChainState) -> Vec<&'static str> {
    let mut inputs: Vec<(u8, &'static str)> = ALL
        .iter()
        .filter_map(|s| {
            s.chain()
                .filter(|c| c.state == state)
                .map(|c| (c.position, s.id()))
        })
        .collect();
    inputs.sort();
    inputs.into_iter().map(|(_, id)| id).collect()
}

/// Every signal the status reconciler reads: its Progressing inputs, then its Degraded
/// ones, each in the reconciler's order.
pub fn status_inputs() -> Vec<&'static str> {
    let mut inputs = chain(ChainState::Progressing);
    inputs.extend(chain(ChainState::Degraded));
    inputs
}

/// Every declared gate as `(gate, gated, because)`, listed by the step they hold back
/// (its priority), then by the gate's priority.
pub fn declared_gates() -> Vec<(&'static str, &'static str, &'static str)> {
    let mut gates: Vec<(&'static str, &'static str, &'static str)> = ALL
        .iter()
        .flat_map(|s| s.gates().iter().map(|g| (s.id(), g.gated, g.because)))
        .collect();
    gates.sort_by_key(|(gate, gated, _)| (priority(gated), priority(gate)));
    gates
}

#[cfg(test)]
mod tests {
    use super::*;

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

    /// Each state's positions are 1, 2, 3, ...: two signals claiming one position, or a
    /// gap, would make the reconciler's order depend on the registry's.
    #[test]
    fn chain_positions_are_distinct_and_contiguous() {
        for state in [ChainState::Progressing, ChainState::Degraded] {
            let mut positions: Vec<u8> = ALL
                .iter()
                .filter_map(|s| s.chain())
                .filter(|c| c.state == state)
                .map(|c| c.position)
                .collect();
            positions.sort();
            let expected: Vec<u8> = (1..=positions.len() as u8).collect();
            assert_eq!(positions, expected, "{state:?}");
        }
        assert_eq!(
            status_inputs(),
            vec![
                "lock",
                "orphan-hook",
                "schema",
                "rbac",
                "pvc",
                "quota",
                "egress",
                "init-container"
            ]
        );
    }

    /// A gate names a real signal that comes later in the registry, so the registry
    /// order never contradicts a declared gate (the plan's topological order keeps it).
    #[test]
    fn gates_name_real_signals_later_in_the_registry() {
        let gates = declared_gates();
        assert!(gates.contains(&("quota", "schema", "blocks scheduling of the migration Job")));
        for (gate, gated, because) in gates {
            assert!(by_id(gated).is_some(), "{gate} -> {gated}");
            assert!(priority(gate) < priority(gated), "{gate} -> {gated}");
            assert!(!because.is_empty() && !because.ends_with('.'), "{because}");
        }
    }

    #[test]
    fn only_verify_only_and_output_signals_say_why_nothing_is_written() {
        for signal in ALL {
            assert_eq!(
                signal.role().verified_only(),
                signal.role().not_written().is_some(),
                "{}",
                signal.id()
            );
        }
        assert!(role("init-container").verified_only());
        assert!(matches!(role("derived-state"), Role::Output { .. }));
        assert_eq!(role("quota"), Role::Repairable);
    }

    #[test]
    fn every_signal_documents_itself() {
        for signal in ALL {
            let docs = signal.docs().trim();
            assert!(docs.len() > 80, "{}: {docs:?}", signal.id());
            assert!(
                !docs.starts_with('#'),
                "{}: no heading of its own",
                signal.id()
            );
        }
    }
}
