//! `inventory -A` and `check -A`: the whole cluster (one cluster-wide LIST per kind) or
//! every namespace of a snapshot file, cut into namespaces, each evaluated as `-n NS`
//! would evaluate it, one row per namespace.
//!
//! Memory bound: the objects of all namespaces are held once (each moved into its
//! namespace's snapshot, [`by_namespace::split`]), plus a few copies per namespace of
//! what it reads from outside (StorageClasses, its PersistentVolumes and ClusterRoles,
//! the DNS Service and pods); findings exist for one namespace at a time and are
//! dropped once its row is built; rows are one per namespace. Container logs are not
//! read: up to `logs::MAX_CONTAINERS` requests per namespace would dwarf the LISTs, and
//! the rows show no log lines (`check -n NS` does).

use std::collections::BTreeMap;

use jiff::Timestamp;

use super::Outcome;
use super::check::read_profile;
use super::source::{read_file, runtime};
use crate::all_namespaces::{
    ClusterCheck, ClusterInventory, NamespaceCheck, NamespaceInventory, ObjectCounts, Scope,
};
use crate::check::{self, Selection};
use crate::cli::{GlobalArgs, OutputFormat, ProfileArgs, SourceArgs};
use crate::error::{TriageError, exit};
use crate::finding::Context;
use crate::k8s::rbac::AccessAnswers;
use crate::profile::Profile;
use crate::render;
use crate::snapshot::by_namespace::{Outside, split};
use crate::snapshot::{Snapshot, SnapshotOrigin};

pub fn inventory(global: &GlobalArgs, source: &SourceArgs) -> anyhow::Result<Outcome> {
    if !matches!(
        global.output,
        OutputFormat::Table | OutputFormat::Wide | OutputFormat::Json | OutputFormat::Yaml
    ) {
        return Err(TriageError::usage(
            format!(
                "inventory has no `{}` output",
                render::format_name(global.output)
            ),
            Some("use -o table, wide, json or yaml".to_string()),
        )
        .into());
    }
    let loaded = load(global, source, &BTreeMap::new())?;
    let scope = Scope::of(&loaded.snapshot, loaded.source, loaded.now);
    let rows = split(loaded.snapshot, &|_| default_outside())
        .into_iter()
        .map(|(namespace, part)| NamespaceInventory::build(&part, &namespace))
        .collect();
    let view = ClusterInventory::new(scope, rows);
    let stdout = match global.output {
        OutputFormat::Table | OutputFormat::Wide => render::all_namespaces::inventory_table(&view),
        format => render::structured(&view, format)?,
    };
    Ok(Outcome::ok(stdout))
}

pub fn check(
    global: &GlobalArgs,
    source: &SourceArgs,
    profile_args: &ProfileArgs,
    only: Vec<String>,
    skip: Vec<String>,
) -> anyhow::Result<Outcome> {
    if !matches!(
        global.output,
        OutputFormat::Table | OutputFormat::Wide | OutputFormat::Json | OutputFormat::Yaml
    ) {
        return Err(TriageError::usage(
            format!(
                "check -A has no `{}` output",
                render::format_name(global.output)
            ),
            Some(
                "use -o table, wide, json or yaml with -A, or name one namespace with -n"
                    .to_string(),
            ),
        )
        .into());
    }
    let selected = Selection { only, skip }.signals()?;
    let profile_file = match &profile_args.profile {
        Some(path) => Some(named_profile(path)?),
        None => None,
    };
    let loaded = load(global, source, &profile_file.iter().cloned().collect())?;
    let present = loaded.snapshot.namespaces();
    // A profile applies to the namespace it names, the built-in one to its namespace;
    // every other namespace is checked without one.
    let mut profiles: BTreeMap<String, (Profile, String)> = present
        .iter()
        .filter_map(|ns| {
            Profile::builtin(ns).map(|profile| (ns.clone(), (profile, format!("built-in {ns}"))))
        })
        .collect();
    if let Some((namespace, (profile, origin))) = profile_file {
        if !present.contains(&namespace) {
            return Err(TriageError::UnknownNamespace {
                hint: Some(format!(
                    "the profile `{origin}` names it; fix its `namespace:` or drop --profile"
                )),
                namespace,
                where_: format!("is not among the {} namespaces read", present.len()),
            }
            .into());
        }
        profiles.insert(namespace, (profile, origin));
    }
    let scope = Scope::of(&loaded.snapshot, loaded.source, loaded.now);
    let outside = |namespace: &str| match profiles.get(namespace) {
        Some((profile, _)) => Outside {
            dns: profile
                .dns
                .as_ref()
                .map(|d| (d.namespace.clone(), d.service.clone()))
                .unwrap_or_else(|| default_outside().dns),
            config_maps: profile.extra_config_maps(namespace),
        },
        None => default_outside(),
    };
    let mut rows = Vec::with_capacity(present.len());
    // Each namespace's snapshot and findings are dropped once its row is built.
    for (namespace, part) in split(loaded.snapshot, &outside) {
        let profile = profiles.get(&namespace);
        let mut context = Context::new(&part, &namespace).with_profile(profile.map(|(p, _)| p));
        context.now = loaded.now;
        context.access = loaded.access.get(&namespace);
        let view = check::build(&context, &selected, profile.map(|(_, name)| name.clone()));
        rows.push(NamespaceCheck::build(
            &view,
            ObjectCounts::of(&part, &namespace),
        ));
    }
    let view = ClusterCheck::new(scope, rows);
    let stdout = match global.output {
        OutputFormat::Table => render::all_namespaces::check_table(&view, false),
        OutputFormat::Wide => render::all_namespaces::check_table(&view, true),
        format => render::structured(&view, format)?,
    };
    Ok(Outcome {
        stdout,
        exit_code: if view.failing() {
            exit::FAILING_SIGNALS
        } else {
            exit::OK
        },
    })
}

/// `--profile FILE` with `-A`: it must say which namespace it describes.
fn named_profile(path: &std::path::Path) -> anyhow::Result<(String, (Profile, String))> {
    let profile = read_profile(path)?;
    let origin = path.display().to_string();
    match profile.namespace.clone() {
        Some(namespace) => Ok((namespace, (profile, origin))),
        None => Err(TriageError::usage(
            format!("profile `{origin}` names no namespace, so -A cannot tell where it applies"),
            Some("add `namespace: NAME` to the profile, or use -n NAME instead of -A".to_string()),
        )
        .into()),
    }
}

fn default_outside() -> Outside {
    Outside {
        dns: ("kube-system".to_string(), "kube-dns".to_string()),
        config_maps: Vec::new(),
    }
}

/// Everything read, before it is cut into namespaces.
struct LoadedCluster {
    snapshot: Snapshot,
    source: SnapshotOrigin,
    now: Option<Timestamp>,
    /// Live only: the API server's answers for the migration ServiceAccount of each
    /// profiled namespace.
    access: BTreeMap<String, AccessAnswers>,
}

/// A file (every namespace in it) or the live cluster (cluster-wide LISTs), and live,
/// the access questions of each profiled namespace.
fn load(
    global: &GlobalArgs,
    source: &SourceArgs,
    profiles: &BTreeMap<String, (Profile, String)>,
) -> anyhow::Result<LoadedCluster> {
    let mut loaded = match &source.snapshot {
        Some(path) => {
            let mut snapshot = read_file(path)?;
            if snapshot.namespaces().is_empty() {
                return Err(TriageError::input(
                    format!("snapshot `{}` holds no namespaced objects", path.display()),
                    Some("check that it is the file you meant".to_string()),
                )
                .into());
            }
            snapshot.logs.clear();
            snapshot.log_gaps.clear();
            LoadedCluster {
                now: snapshot.captured_at,
                snapshot,
                source: SnapshotOrigin::File {
                    path: path.display().to_string(),
                },
                access: BTreeMap::new(),
            }
        }
        None => runtime()?.block_on(async {
            let cluster = crate::cluster::connect(global).await?;
            let snapshot = cluster.load_all_namespaces().await?;
            let mut access = BTreeMap::new();
            let mut builtin: Vec<(String, Profile)> = snapshot
                .namespaces()
                .into_iter()
                .filter(|ns| !profiles.contains_key(ns))
                .filter_map(|ns| Profile::builtin(&ns).map(|p| (ns, p)))
                .collect();
            builtin.extend(profiles.iter().map(|(ns, (p, _))| (ns.clone(), p.clone())));
            for (namespace, profile) in builtin {
                if let Some((account, requests)) = profile.access_requests()
                    && let Some(answers) = cluster
                        .service_account_access(&namespace, &account, &requests)
                        .await
                {
                    access.insert(namespace, answers);
                }
            }
            Ok::<_, TriageError>(LoadedCluster {
                now: snapshot.captured_at,
                snapshot,
                source: SnapshotOrigin::Live {
                    context: cluster.context.clone(),
                    server: cluster.server.clone(),
                },
                access,
            })
        })?,
    };
    if let Some(now) = source.now {
        loaded.now = Some(now);
    }
    Ok(loaded)
}
