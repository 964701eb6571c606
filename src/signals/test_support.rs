//! Helpers for the signals' unit tests: a snapshot from inline YAML.

use crate::finding::{Context, Finding};
use crate::profile::Profile;
use crate::signals::Signal;
use crate::snapshot::Snapshot;
use crate::snapshot::parse::parse_snapshot;

pub fn snapshot(yaml: &str) -> Snapshot {
    parse_snapshot(yaml.as_bytes(), "test.yaml").unwrap()
}

pub fn evaluate(signal: &dyn Signal, yaml: &str, namespace: &str) -> Finding {
    let snapshot = snapshot(yaml);
    signal.evaluate(&Context::new(&snapshot, namespace))
}

pub fn evaluate_with(signal: &dyn Signal, yaml: &str, namespace: &str, profile: &str) -> Finding {
    let snapshot = snapshot(yaml);
    let profile = Profile::parse(profile, "test-profile.yaml").unwrap();
    signal.evaluate(&Context::new(&snapshot, namespace).with_profile(Some(&profile)))
}
