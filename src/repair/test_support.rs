//! Test helpers for repairs: a context over a bundled fixture and the step a repair
//! plans for its signal's finding there.

use crate::finding::{Context, Finding};
use crate::profile::Profile;
use crate::repair::{Refusal, Repair, RepairOptions, Step};
use crate::signals;
use crate::snapshot::Snapshot;
use crate::snapshot::parse::parse_snapshot;

/// The fixture's snapshot and profile, leaked for the test's lifetime.
pub fn fixture_context(fixture: &str, namespace: &'static str) -> Context<'static> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples")
        .join(fixture);
    let bytes = std::fs::read(path).unwrap();
    let snapshot: &'static Snapshot = Box::leak(Box::new(parse_snapshot(&bytes, fixture).unwrap()));
    let profile: Option<&'static Profile> =
        Profile::builtin(namespace).map(|p| &*Box::leak(Box::new(p)));
    Context::new(snapshot, namespace).with_profile(profile)
}

/// Evaluates the repair's signal on `context` and plans the repair for its finding.
pub fn plan_for(
    context: &Context,
    repair: &dyn Repair,
    options: &RepairOptions,
) -> Result<Step, Refusal> {
    let finding: Finding = signals::by_id(repair.id()).unwrap().evaluate(context);
    assert!(
        finding.failing(),
        "`{}` does not fail here: {}",
        repair.id(),
        finding.summary
    );
    repair.plan(context, &finding, options)
}
