//! "The kinds it reads" enforced: every signal, on every bundled fixture, says the same
//! with only the kinds it declares (`Signal::reads`, `Signal::reads_raw`) left in the
//! snapshot. Test-only.

use std::collections::{BTreeMap, BTreeSet};

use crate::finding::{Context, Finding};
use crate::profile::Profile;
use crate::signals::{ALL, RawReads, Signal};
use crate::snapshot::parse::parse_snapshot;
use crate::snapshot::{Kind, Snapshot};

/// `snapshot` with only `kinds` (and the raw objects `raw` names) kept: what a signal
/// that reads only those sees. Logs go too: no signal declares them.
fn only(snapshot: &Snapshot, kinds: &[Kind], raw: RawReads) -> Snapshot {
    let mut kept = snapshot.clone();
    for kind in Kind::ALL {
        if kinds.contains(&kind) {
            continue;
        }
        // Exhaustive on purpose: a new kind must say which field holds it.
        match kind {
            Kind::Pod => kept.pods.clear(),
            Kind::Job => kept.jobs.clear(),
            Kind::CronJob => kept.cron_jobs.clear(),
            Kind::PersistentVolumeClaim => kept.persistent_volume_claims.clear(),
            Kind::ResourceQuota => kept.resource_quotas.clear(),
            Kind::NetworkPolicy => kept.network_policies.clear(),
            Kind::RoleBinding => kept.role_bindings.clear(),
            Kind::Role => kept.roles.clear(),
            Kind::ConfigMap => kept.config_maps.clear(),
            Kind::Deployment => kept.deployments.clear(),
            Kind::StatefulSet => kept.stateful_sets.clear(),
            Kind::DaemonSet => kept.daemon_sets.clear(),
            Kind::ReplicaSet => kept.replica_sets.clear(),
            Kind::Service => kept.services.clear(),
            Kind::EndpointSlice => kept.endpoint_slices.clear(),
            Kind::ServiceAccount => kept.service_accounts.clear(),
            Kind::LimitRange => kept.limit_ranges.clear(),
            Kind::Event => kept.events.clear(),
            Kind::StorageClass => kept.storage_classes.clear(),
            Kind::PersistentVolume => kept.persistent_volumes.clear(),
            Kind::ClusterRole => kept.cluster_roles.clear(),
        }
    }
    kept.gaps.retain(|kind, _| kinds.contains(kind));
    match raw {
        RawReads::None => kept.other.clear(),
        RawReads::Kinds(names) => kept.other.retain(|o| names.contains(&o.kind.as_str())),
        RawReads::Every => {}
    }
    kept.logs.clear();
    kept.log_gaps.clear();
    kept.events_by_object = Default::default();
    kept
}

/// Every bundled fixture (examples/*.yaml that are snapshots), each with the
/// profiles that go with it: none, the built-in one for its namespace, and
/// `examples/<name>-profile.yaml` for `<name>-*.yaml`.
fn fixtures() -> Vec<(String, Snapshot, Vec<Option<Profile>>)> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    paths.sort();
    let mut found = Vec::new();
    for path in &paths {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if name.ends_with("-profile.yaml") {
            continue;
        }
        let snapshot = parse_snapshot(&std::fs::read(path).unwrap(), &name).unwrap();
        let mut profiles = vec![None];
        profiles.extend(
            snapshot
                .namespaces()
                .iter()
                .filter_map(|n| Profile::builtin(n))
                .map(Some),
        );
        let prefix = name.split('-').next().unwrap();
        let file = dir.join(format!("{prefix}-profile.yaml"));
        if let Ok(text) = std::fs::read_to_string(&file) {
            profiles.push(Some(Profile::parse(&text, "profile").unwrap()));
        }
        found.push((name, snapshot, profiles));
    }
    assert!(found.len() >= 7, "{} fixtures", found.len());
    found
}

/// The enforcement below can fail: a signal that counts pods while declaring only
/// ConfigMaps says something else once the pods are gone.
#[test]
fn an_undeclared_read_changes_the_finding() {
    struct CountsPods;
    impl Signal for CountsPods {
        fn id(&self) -> &'static str {
            "counts-pods"
        }
        fn title(&self) -> &'static str {
            "pods"
        }
        fn reads(&self) -> &'static [Kind] {
            &[Kind::ConfigMap]
        }
        fn docs(&self) -> &'static str {
            ""
        }
        fn evaluate(&self, context: &Context) -> Finding {
            Finding::ok(self.id(), format!("{} pods", context.snapshot.pods.len()))
        }
    }
    let (_, snapshot, _) = fixtures()
        .into_iter()
        .find(|(name, ..)| name == "bleater-incident.yaml")
        .unwrap();
    let restricted = only(&snapshot, CountsPods.reads(), CountsPods.reads_raw());
    assert!(restricted.pods.is_empty() && !restricted.config_maps.is_empty());
    let context = |s| Context::new(s, "bleater");
    assert_ne!(
        CountsPods.evaluate(&context(&snapshot)),
        CountsPods.evaluate(&context(&restricted))
    );
}

/// "The kinds it reads" is enforced: each signal, evaluated on a copy of every
/// fixture holding only the kinds it declares, says exactly what it says on the
/// whole snapshot. A signal reading an undeclared kind (directly, or through
/// `Context::apps` and friends) fails here, and the message names the kinds whose
/// declaration would make it pass.
#[test]
fn every_signal_reads_only_the_kinds_it_declares() {
    let mut compared = 0;
    let mut undeclared: BTreeMap<&str, (BTreeSet<Kind>, Vec<String>)> = BTreeMap::new();
    for (name, snapshot, profiles) in fixtures() {
        for namespace in snapshot.namespaces() {
            for profile in &profiles {
                let evaluate = |signal: &dyn Signal, snapshot: &Snapshot| {
                    signal.evaluate(
                        &Context::new(snapshot, &namespace).with_profile(profile.as_ref()),
                    )
                };
                for signal in ALL {
                    compared += 1;
                    let whole = evaluate(*signal, &snapshot);
                    let declared = only(&snapshot, signal.reads(), signal.reads_raw());
                    if evaluate(*signal, &declared) == whole {
                        continue;
                    }
                    // Which kinds it needs: every kind, less one at a time.
                    let needed: Vec<Kind> = Kind::ALL
                        .into_iter()
                        .filter(|k| !signal.reads().contains(k))
                        .filter(|k| {
                            let without: Vec<Kind> =
                                Kind::ALL.into_iter().filter(|o| o != k).collect();
                            let copy = only(&snapshot, &without, RawReads::Every);
                            evaluate(*signal, &copy) != whole
                        })
                        .collect();
                    let entry = undeclared.entry(signal.id()).or_default();
                    entry.0.extend(needed);
                    entry.1.push(format!(
                        "{name} (namespace {namespace}, {})",
                        if profile.is_some() {
                            "profile"
                        } else {
                            "no profile"
                        }
                    ));
                }
            }
        }
    }
    assert!(
        undeclared.is_empty(),
        "signals read kinds they do not declare:\n{}",
        undeclared
            .iter()
            .map(|(id, (kinds, cases))| format!(
                "`{id}` needs {kinds:?} (raw objects if empty) on {}",
                cases.join(", ")
            ))
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert!(compared > 100, "{compared}");
}
