//! `docs/signals.md`, generated from the registry (`signals::ALL`): a header, then one
//! section per signal from what it declares (title, kinds, role, reconciler chain,
//! gates) and its own `docs` text, then the per-app view its chains imply. A test in
//! `tests/cli.rs` keeps the committed file fresh (`TRIAGE_BLESS=1` rewrites it).

use crate::signals::{self, ChainState, RawReads, Role, Signal};

const HEADER: &str = "\
# Signals

<!-- Generated from `signals::ALL` (each signal's file in `src/signals/`): edit the
signal, then run `TRIAGE_BLESS=1 cargo test --test cli generated`. -->

Each signal is one file in `src/signals/`, a pure function of the snapshot and the
optional [profile](profile.md), with its fault and look-alike tests at the bottom. They
run in this order (also the repair priority `triage plan` uses to break ties). Ids are
stable and accepted by `triage check --only/--skip`. Statuses: `ok`, `fail`, `unknown`
(cannot be decided; the summary says why; never failing), `info` (never failing).
Objects carrying owner markers (hook-delete-policy, `owner`/`*/owner` labels, the
profile's `ownerLabels`, ownerReferences, Argo CD tracking: `src/k8s/markers.rs`) are
reported as managed and protected, never as faults to delete.

Each section opens with what the signal declares: the kinds it reads (a unit test
evaluates it on every bundled fixture holding only those and requires the same
finding), its role in `triage repair`, where the status reconciler reads it, and the
steps its fault gates when the findings share no object to relate.
";

/// The whole of `docs/signals.md`.
pub fn markdown() -> String {
    let mut out = String::from(HEADER);
    for signal in signals::ALL {
        out.push_str(&section(*signal));
    }
    out.push_str(&per_app_view());
    out
}

fn section(signal: &dyn Signal) -> String {
    let mut kinds: Vec<&str> = signal.reads().iter().map(|k| k.name()).collect();
    match signal.reads_raw() {
        RawReads::None => {}
        RawReads::Kinds(names) => kinds.extend(names.iter().copied()),
        RawReads::Every => kinds.push("every other kind the snapshot holds"),
    }
    let mut out = format!(
        "\n## {}\n\n- checks: {}\n- reads: {}\n- role: {}\n",
        signal.id(),
        signal.title(),
        kinds.join(", "),
        role(signal)
    );
    if let Some(chain) = signal.chain() {
        let state = match chain.state {
            ChainState::Progressing => "Progressing",
            ChainState::Degraded => "Degraded",
        };
        out.push_str(&format!(
            "- status reconciler: holds an app {state} (input {} of {})\n",
            chain.position,
            signals::chain(chain.state).len()
        ));
    }
    if !signal.gates().is_empty() {
        let gates: Vec<String> = signal
            .gates()
            .iter()
            .map(|g| format!("`{}` ({})", g.gated, g.because))
            .collect();
        out.push_str(&format!("- gates: {}\n", gates.join(", ")));
    }
    out.push('\n');
    out.push_str(signal.docs().trim());
    out.push('\n');
    out
}

/// What `repair` does about it.
fn role(signal: &dyn Signal) -> String {
    match signal.role() {
        Role::Repairable => {
            let steps: Vec<String> = crate::repair::ALL
                .iter()
                .filter(|r| r.signal() == signal.id())
                .map(|r| format!("`{}`", r.id()))
                .collect();
            if steps.is_empty() {
                "a fault fixed by hand (its finding's fix says how)".to_string()
            } else {
                format!("repaired by `triage repair` (step {})", steps.join(", "))
            }
        }
        Role::VerifyOnly { not_written } => format!("verified, never written ({not_written})"),
        Role::Output { not_written } => {
            format!(
                "an output, `info` and never failing; verified last, never written ({not_written})"
            )
        }
    }
}

fn per_app_view() -> String {
    let listed = |state| {
        signals::chain(state)
            .iter()
            .map(|id| format!("`{id}`"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    format!(
        "
## The per-app view

`check` shows, for each app of the status ConfigMap (`status.apps`, a list of app label
values or a map from key to label selector; without a profile: each value of
`app.kubernetes.io/name`, else `app`, among the pods; when there is none, it says why),
what the status ConfigMap says now and what the failing signals imply, following the
reconciler's AND-chain (the signals' `chain`, in the reconciler's order):

- Progressing: any of {} covering the app;
- else Degraded: any of {} covering it;
- else Healthy.

A finding covers an app when its scope is the namespace or names the app.
",
        listed(ChainState::Progressing),
        listed(ChainState::Degraded),
    )
}
