//! Test helpers for repairs: a context over a bundled fixture and the step a repair
//! plans for its signal's finding there.

use crate::finding::{Context, Finding};
use crate::profile::Profile;
use crate::repair::{Refusal, Repair, RepairOptions, Step};
use crate::signals;
use crate::snapshot::Snapshot;
use crate::snapshot::parse::parse_snapshot;

/// The fixture's snapshot, to change before [`context_of`] (look-alike tests).
pub fn fixture_snapshot(fixture: &str) -> Snapshot {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples")
        .join(fixture);
    let bytes = std::fs::read(path).unwrap();
    parse_snapshot(&bytes, fixture).unwrap()
}

/// The fixture's snapshot and profile, leaked for the test's lifetime.
pub fn fixture_context(fixture: &str, namespace: &'static str) -> Context<'static> {
    context_of(fixture_snapshot(fixture), namespace)
}

/// A context over `snapshot` (with the built-in profile of `namespace`, if any), leaked.
pub fn context_of(snapshot: Snapshot, namespace: &'static str) -> Context<'static> {
    let snapshot: &'static Snapshot = Box::leak(Box::new(snapshot));
    let profile: Option<&'static Profile> =
        Profile::builtin(namespace).map(|p| &*Box::leak(Box::new(p)));
    Context::new(snapshot, namespace).with_profile(profile)
}

/// The finding of the repair's signal on `context` (failing or not).
pub fn finding_for(context: &Context, repair: &dyn Repair) -> Finding {
    signals::by_id(repair.signal()).unwrap().evaluate(context)
}

/// Evaluates the repair's signal on `context` and plans the repair for its finding.
pub fn plan_for(
    context: &Context,
    repair: &dyn Repair,
    options: &RepairOptions,
) -> Result<Step, Refusal> {
    let finding: Finding = signals::by_id(repair.signal()).unwrap().evaluate(context);
    assert!(
        finding.failing(),
        "`{}` does not fail here: {}",
        repair.id(),
        finding.summary
    );
    repair.plan(context, &finding, options)
}
