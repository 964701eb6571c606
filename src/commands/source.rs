//! Where a command's snapshot comes from: a file (or stdin) when `--snapshot` is
//! given, else the live cluster. Also resolves which namespace is meant.

use std::io::Read;
use std::path::Path;

use jiff::Timestamp;

use crate::cli::{GlobalArgs, SourceArgs};
use crate::cluster::{self, Cluster};
use crate::error::TriageError;
use crate::k8s::rbac::{AccessAnswers, Request};
use crate::snapshot::parse::{MAX_SNAPSHOT_BYTES, parse_snapshot};
use crate::snapshot::{Snapshot, SnapshotOrigin};

/// A snapshot ready for the pure core, with the namespace it is about.
pub struct Loaded {
    pub snapshot: Snapshot,
    pub namespace: String,
    pub source: SnapshotOrigin,
    /// The moment ages are computed against.
    pub now: Option<Timestamp>,
    /// The API server's own answers on what the migration ServiceAccount may do
    /// (live only, and only when the user may ask).
    pub access: Option<AccessAnswers>,
}

/// What to read live beside the namespace, given the namespace: ConfigMaps in other
/// namespaces (a profile's status ConfigMap), and a ServiceAccount whose permissions
/// to ask the API server about.
#[derive(Debug, Clone, Default)]
pub struct LiveExtras {
    pub config_maps: Vec<(String, String)>,
    pub access: Option<(String, Vec<Request>)>,
    /// Last lines of failing containers' logs to fetch (`--logs`); 0 fetches none.
    pub logs: u32,
    /// The cluster DNS Service (namespace, name) when the profile names one.
    pub dns: Option<(String, String)>,
}

impl Loaded {
    /// The signals' view of this snapshot: its namespace, the profile, the capture
    /// time and any live access answers.
    pub fn context<'a>(
        &'a self,
        profile: Option<&'a crate::profile::Profile>,
    ) -> crate::finding::Context<'a> {
        let mut context =
            crate::finding::Context::new(&self.snapshot, &self.namespace).with_profile(profile);
        context.now = self.now;
        context.access = self.access.as_ref();
        context
    }
}

pub fn load(global: &GlobalArgs, source: &SourceArgs) -> anyhow::Result<Loaded> {
    load_with(global, source, &|_| LiveExtras::default())
}

pub type Extras<'a> = &'a dyn Fn(&str) -> LiveExtras;

/// Like [`load`], also loading `extras(namespace)` live (a file holds what it holds).
pub fn load_with(
    global: &GlobalArgs,
    source: &SourceArgs,
    extras: Extras,
) -> anyhow::Result<Loaded> {
    let mut loaded = match &source.snapshot {
        Some(path) => {
            let mut loaded = load_file(global, path)?;
            crate::logs::limit(&mut loaded.snapshot, extras(&loaded.namespace).logs);
            loaded
        }
        None => {
            let runtime = runtime()?;
            runtime.block_on(load_live_with(global, extras))?.0
        }
    };
    if let Some(now) = source.now {
        loaded.now = Some(now);
    }
    Ok(loaded)
}

/// A single-threaded runtime: triage's I/O is a handful of concurrent requests, and
/// a second thread buys nothing on a 2-core on-call laptop.
pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}

pub async fn load_live_with(
    global: &GlobalArgs,
    extras: Extras<'_>,
) -> Result<(Loaded, Cluster), TriageError> {
    let mut cluster = cluster::connect(global).await?;
    let namespace = global
        .namespace
        .clone()
        .unwrap_or_else(|| cluster.default_namespace.clone());
    let wanted = extras(&namespace);
    if let Some(dns) = &wanted.dns {
        cluster.dns = dns.clone();
    }
    let snapshot = cluster
        .load_with_logs(&namespace, &wanted.config_maps, wanted.logs)
        .await?;
    let access = match &wanted.access {
        Some((account, requests)) => {
            cluster
                .service_account_access(&namespace, account, requests)
                .await
        }
        None => None,
    };
    let loaded = Loaded {
        access,
        now: snapshot.captured_at,
        snapshot,
        namespace,
        source: SnapshotOrigin::Live {
            context: cluster.context.clone(),
            server: cluster.server.clone(),
        },
    };
    Ok((loaded, cluster))
}

/// A snapshot file, `-` (stdin) or a support bundle, whatever namespaces it holds.
pub fn read_file(path: &Path) -> Result<Snapshot, TriageError> {
    if crate::snapshot::bundle::is_bundle(path) {
        crate::snapshot::bundle::read(path)
    } else {
        let origin = path.display().to_string();
        parse_snapshot(&read_limited(path, &origin)?, &origin)
    }
}

fn load_file(global: &GlobalArgs, path: &Path) -> Result<Loaded, TriageError> {
    let origin = path.display().to_string();
    let snapshot = read_file(path)?;
    let present = snapshot.namespaces();
    let namespace = match &global.namespace {
        Some(ns) if present.contains(ns) => ns.clone(),
        Some(ns) => {
            return Err(TriageError::UnknownNamespace {
                namespace: ns.clone(),
                where_: format!("is not in snapshot `{origin}`"),
                hint: Some(format!("it holds: {}", list_or_nothing(&present))),
            });
        }
        None if present.len() == 1 => present[0].clone(),
        // A live snapshot also holds the cluster DNS Service and pods (kube-system)
        // for `egress`: they do not make the file ambiguous.
        None if present.iter().filter(|ns| *ns != "kube-system").count() == 1 => present
            .iter()
            .find(|ns| *ns != "kube-system")
            .cloned()
            .unwrap_or_default(),
        None => {
            return Err(TriageError::usage(
                format!(
                    "snapshot `{origin}` holds several namespaces: {}",
                    list_or_nothing(&present)
                ),
                Some("choose one with -n NAMESPACE".to_string()),
            ));
        }
    };
    Ok(Loaded {
        now: snapshot.captured_at,
        snapshot,
        namespace,
        source: SnapshotOrigin::File { path: origin },
        access: None,
    })
}

fn list_or_nothing(names: &[String]) -> String {
    if names.is_empty() {
        "no namespaced objects".to_string()
    } else {
        names.join(", ")
    }
}

/// Reads at most one byte past the limit, so a huge file is refused without being
/// read whole into memory.
fn read_limited(path: &Path, origin: &str) -> Result<Vec<u8>, TriageError> {
    let io_error = |err: std::io::Error| {
        TriageError::input(
            format!("cannot read snapshot `{origin}`: {err}"),
            Some("check the path".to_string()),
        )
    };
    let reader: Box<dyn Read> = if path == Path::new("-") {
        Box::new(std::io::stdin().lock())
    } else {
        if path.is_dir() {
            return Err(TriageError::input(
                format!("snapshot `{origin}` is a directory"),
                None,
            ));
        }
        Box::new(std::fs::File::open(path).map_err(io_error)?)
    };
    let mut bytes = Vec::new();
    reader
        .take(MAX_SNAPSHOT_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(io_error)?;
    Ok(bytes)
}
