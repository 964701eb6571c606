//! Support bundles as snapshots: `--snapshot` given a directory or a `.tar.gz` reads
//! one of three layouts, told apart by their top-level entries:
//!
//! - troubleshoot.sh support bundle: `cluster-resources/<kind>/<namespace>.json` (one
//!   list per kind and namespace; cluster-scoped kinds as `cluster-resources/<kind>.json`),
//!   pod logs under `cluster-resources/pods/logs/<namespace>/<pod>/<container>.log` and
//!   `<container>-previous.log` (the instance before the last restart);
//! - `kubectl cluster-info dump --output-directory DIR`: `DIR/<namespace>/<kind>.json` (`.yaml` with `--output yaml`)
//!   (pods, services, deployments, replicasets, daemonsets, replication-controllers,
//!   events), `DIR/nodes.json`, and per pod `DIR/<namespace>/<pod>/logs.txt` holding
//!   every container's log between kubectl's `==== START logs for container C of pod
//!   NS/POD ====` and `==== END logs ... ====` lines (kubectl
//!   pkg/cmd/clusterinfo/clusterinfo_dump.go);
//! - crust-gather: `namespaces/<namespace>/<group/version>/<kind>/<name>.yaml`, cluster
//!   objects under `cluster/`; pod logs beside the pod's file as
//!   `<pod>/<container>/current.log` and `previous.log` (crust-gather's log scanner
//!   names the file after its log group and puts it under the pod's directory:
//!   src/scanners/logs.rs, `LogGroup` and `with_file_name`).
//!
//! A bundle becomes the same objects a List file holds, logs as `ContainerLog` items,
//! so the rest of triage cannot tell them apart. Files under a `secret`/`secrets`
//! directory are skipped unopened (counted as Secrets skipped). The reading is I/O
//! (`read`); what is made of the files is pure (`assemble`).

use std::io::Read;
use std::path::Path;

use serde_json::{Value, json};

use super::Snapshot;
use super::parse::{Builder, MAX_SNAPSHOT_BYTES};
use crate::error::TriageError;

/// One file of a bundle: its path inside the bundle (`/`-separated) and its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub path: String,
    pub bytes: Vec<u8>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    Troubleshoot,
    ClusterInfoDump,
    CrustGather,
}

/// Whether `--snapshot PATH` names a bundle rather than a List file.
pub fn is_bundle(path: &Path) -> bool {
    let name = path.to_string_lossy();
    path.is_dir() || name.ends_with(".tar.gz") || name.ends_with(".tgz")
}

/// Reads the bundle at `path` (a directory or a `.tar.gz`).
pub fn read(path: &Path) -> Result<Snapshot, TriageError> {
    let origin = path.display().to_string();
    let (entries, secrets) = if path.is_dir() {
        read_dir(path, &origin)?
    } else {
        read_tar_gz(path, &origin)?
    };
    assemble(entries, secrets, &origin)
}

fn bad(origin: &str, file: &str, what: impl std::fmt::Display) -> TriageError {
    let at = if file.is_empty() {
        origin.to_string()
    } else {
        format!("{origin}: {file}")
    };
    TriageError::input(
        format!("bundle `{at}` {what}"),
        Some(
            "expected a troubleshoot.sh support bundle, a `kubectl cluster-info dump --output-directory` folder or a crust-gather snapshot (docs/output.md)"
                .to_string(),
        ),
    )
}

/// A Secret's file: any directory of its path named `secret` or `secrets`.
fn is_secret(path: &str) -> bool {
    let mut parts: Vec<&str> = path.split('/').collect();
    parts.pop();
    parts
        .iter()
        .any(|p| p.eq_ignore_ascii_case("secret") || p.eq_ignore_ascii_case("secrets"))
}

/// Files worth reading at all: objects and logs.
fn wanted(path: &str) -> bool {
    [".json", ".yaml", ".yml", ".log", ".txt"]
        .iter()
        .any(|ext| path.ends_with(ext))
}

struct Budget<'a> {
    used: usize,
    origin: &'a str,
}

impl Budget<'_> {
    fn take(&mut self, bytes: usize) -> Result<(), TriageError> {
        self.used += bytes;
        if self.used > MAX_SNAPSHOT_BYTES {
            return Err(bad(
                self.origin,
                "",
                format!(
                    "holds over {} MiB of objects and logs",
                    MAX_SNAPSHOT_BYTES / (1024 * 1024)
                ),
            ));
        }
        Ok(())
    }
}

fn read_dir(root: &Path, origin: &str) -> Result<(Vec<Entry>, usize), TriageError> {
    let mut entries = Vec::new();
    let mut secrets = 0;
    let mut budget = Budget { used: 0, origin };
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let listing = std::fs::read_dir(&dir).map_err(|err| bad(origin, "", err))?;
        for item in listing {
            let item = item.map_err(|err| bad(origin, "", err))?;
            let path = item.path();
            let relative = path
                .strip_prefix(root)
                .unwrap_or(&path)
                .to_string_lossy()
                .replace('\\', "/");
            let file_type = item
                .file_type()
                .map_err(|err| bad(origin, &relative, err))?;
            if file_type.is_dir() {
                stack.push(path);
            } else if file_type.is_file() && wanted(&relative) {
                if is_secret(&relative) {
                    secrets += 1;
                    continue;
                }
                let mut bytes = Vec::new();
                std::fs::File::open(&path)
                    .and_then(|f| {
                        f.take(MAX_SNAPSHOT_BYTES as u64 + 1)
                            .read_to_end(&mut bytes)
                    })
                    .map_err(|err| bad(origin, &relative, format!("cannot be read: {err}")))?;
                budget.take(bytes.len())?;
                entries.push(Entry {
                    path: relative,
                    bytes,
                });
            }
        }
    }
    entries.sort_by(|a, b| a.path.cmp(&b.path));
    Ok((entries, secrets))
}

fn read_tar_gz(path: &Path, origin: &str) -> Result<(Vec<Entry>, usize), TriageError> {
    let file = std::fs::File::open(path).map_err(|err| {
        TriageError::input(
            format!("cannot read snapshot `{origin}`: {err}"),
            Some("check the path".to_string()),
        )
    })?;
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(file));
    let mut entries = Vec::new();
    let mut secrets = 0;
    let mut budget = Budget { used: 0, origin };
    let broken = |err: std::io::Error| bad(origin, "", format!("is not a readable .tar.gz: {err}"));
    for item in archive.entries().map_err(broken)? {
        let mut item = item.map_err(broken)?;
        if !item.header().entry_type().is_file() {
            continue;
        }
        let relative = item
            .path()
            .map_err(broken)?
            .to_string_lossy()
            .trim_start_matches("./")
            .to_string();
        if !wanted(&relative) {
            continue;
        }
        if is_secret(&relative) {
            // Skipped unread: the archive moves past its bytes without decoding them here.
            secrets += 1;
            continue;
        }
        let mut bytes = Vec::new();
        (&mut item)
            .take(MAX_SNAPSHOT_BYTES as u64 + 1)
            .read_to_end(&mut bytes)
            .map_err(|err| bad(origin, &relative, format!("cannot be read: {err}")))?;
        budget.take(bytes.len())?;
        entries.push(Entry {
            path: relative,
            bytes,
        });
    }
    entries.sort_by(|a, b| a.path.cmp(&b.path));
    Ok((entries, secrets))
}

/// The layout of a bundle whose paths are `paths`, if any.
pub fn detect<'a>(paths: impl Iterator<Item = &'a str> + Clone) -> Option<Layout> {
    if paths.clone().any(|p| p.starts_with("cluster-resources/")) {
        return Some(Layout::Troubleshoot);
    }
    if paths.clone().any(|p| p.starts_with("namespaces/")) {
        return Some(Layout::CrustGather);
    }
    let dump_file = |p: &str| {
        let parts: Vec<&str> = p.split('/').collect();
        // kubectl writes `.json`, or `.yaml` with `--output yaml`.
        let named = |name: &str, stems: &[&str]| {
            stems.iter().any(|stem| {
                name.strip_prefix(stem)
                    .is_some_and(|ext| ext == ".json" || ext == ".yaml")
            })
        };
        match parts.as_slice() {
            [_, file] => named(file, &["pods", "events"]),
            [file] => named(file, &["nodes"]),
            _ => false,
        }
    };
    if paths.clone().any(dump_file) {
        return Some(Layout::ClusterInfoDump);
    }
    None
}

/// The snapshot a bundle's files make. Pure.
pub fn assemble(
    mut entries: Vec<Entry>,
    secrets_skipped: usize,
    origin: &str,
) -> Result<Snapshot, TriageError> {
    let mut layout = detect(entries.iter().map(|e| e.path.as_str()));
    // An archive usually wraps the bundle in one folder (`support-bundle-2024-.../`).
    if layout.is_none()
        && let Some(top) = entries
            .first()
            .and_then(|e| e.path.split_once('/'))
            .map(|(top, _)| format!("{top}/"))
        && entries.iter().all(|e| e.path.starts_with(&top))
    {
        for entry in &mut entries {
            entry.path = entry.path[top.len()..].to_string();
        }
        layout = detect(entries.iter().map(|e| e.path.as_str()));
    }
    let Some(layout) = layout else {
        return Err(bad(
            origin,
            "",
            "is not a known bundle layout (no cluster-resources/, namespaces/ or NAMESPACE/pods.json)",
        ));
    };
    let mut builder = Builder::new(origin);
    for entry in &entries {
        let at = format!("{origin}: {}", entry.path);
        match classify(layout, &entry.path) {
            File::Objects => builder.read(&entry.bytes, &at)?,
            File::Log {
                namespace,
                pod,
                container,
                previous,
            } => {
                let text = utf8(&entry.bytes, origin, &entry.path)?;
                builder.add(log_item(&namespace, &pod, &container, previous, text))?;
            }
            File::DumpLogs { namespace, pod } => {
                let text = utf8(&entry.bytes, origin, &entry.path)?;
                for (container, lines) in split_dump_logs(text) {
                    builder.add(log_item(&namespace, &pod, &container, false, &lines))?;
                }
            }
            File::Ignored => {}
        }
    }
    let mut snapshot = builder.finish();
    snapshot.secrets_skipped += secrets_skipped;
    Ok(snapshot)
}

fn utf8<'a>(bytes: &'a [u8], origin: &str, file: &str) -> Result<&'a str, TriageError> {
    std::str::from_utf8(bytes).map_err(|err| {
        bad(
            origin,
            file,
            format!(
                "is not UTF-8 text (invalid byte at offset {})",
                err.valid_up_to()
            ),
        )
    })
}

enum File {
    Objects,
    Log {
        namespace: String,
        pod: String,
        container: String,
        previous: bool,
    },
    DumpLogs {
        namespace: String,
        pod: String,
    },
    Ignored,
}

fn classify(layout: Layout, path: &str) -> File {
    let parts: Vec<&str> = path.split('/').collect();
    let object_file = |p: &str| p.ends_with(".json") || p.ends_with(".yaml") || p.ends_with(".yml");
    match layout {
        Layout::Troubleshoot => match parts.as_slice() {
            ["cluster-resources", "pods", "logs", namespace, pod, file] => {
                match file.strip_suffix(".log") {
                    Some(stem) => {
                        let (container, previous) = match stem.strip_suffix("-previous") {
                            Some(container) => (container, true),
                            None => (stem, false),
                        };
                        File::Log {
                            namespace: namespace.to_string(),
                            pod: pod.to_string(),
                            container: container.to_string(),
                            previous,
                        }
                    }
                    None => File::Ignored,
                }
            }
            // Not objects: the collector's own error lists, RBAC reviews of the
            // collecting identity.
            ["cluster-resources", "auth-cani-list", ..] => File::Ignored,
            ["cluster-resources", .., last] if last.ends_with("-errors.json") => File::Ignored,
            ["cluster-resources", rest @ ..] if rest.len() <= 2 && path.ends_with(".json") => {
                File::Objects
            }
            _ => File::Ignored,
        },
        Layout::ClusterInfoDump => match parts.as_slice() {
            [namespace, pod, "logs.txt"] => File::DumpLogs {
                namespace: namespace.to_string(),
                pod: pod.to_string(),
            },
            [file] | [_, file] if object_file(file) => File::Objects,
            _ => File::Ignored,
        },
        Layout::CrustGather => match parts.as_slice() {
            [
                "namespaces",
                namespace,
                ..,
                pod,
                container,
                file @ ("current.log" | "previous.log"),
            ] => File::Log {
                namespace: namespace.to_string(),
                pod: pod.to_string(),
                container: container.to_string(),
                previous: *file == "previous.log",
            },
            ["namespaces" | "cluster", ..] if object_file(path) => File::Objects,
            _ => File::Ignored,
        },
    }
}

/// The `ContainerLog` item a List file would carry for these lines (docs/output.md).
fn log_item(namespace: &str, pod: &str, container: &str, previous: bool, text: &str) -> Value {
    let lines: Vec<&str> = text.lines().collect();
    json!({
        "apiVersion": crate::logs::ITEM_API_VERSION,
        "kind": crate::logs::ITEM_KIND,
        "metadata": {"namespace": namespace, "name": pod},
        "container": container,
        "previous": previous,
        "lines": lines,
    })
}

/// Each container's log in a cluster-info dump's `logs.txt`, in file order.
fn split_dump_logs(text: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    let mut current: Option<(String, String)> = None;
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("==== START logs for container ") {
            if let Some(done) = current.take() {
                out.push(done);
            }
            let container = rest.split(" of pod ").next().unwrap_or_default();
            current = Some((container.to_string(), String::new()));
        } else if line.starts_with("==== END logs for container ") {
            if let Some(done) = current.take() {
                out.push(done);
            }
        } else if let Some((_, lines)) = current.as_mut() {
            lines.push_str(line);
            lines.push('\n');
        }
    }
    out.extend(current);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(path: &str, text: &str) -> Entry {
        Entry {
            path: path.to_string(),
            bytes: text.as_bytes().to_vec(),
        }
    }

    #[test]
    fn layouts_are_told_apart_by_their_entries() {
        let detect_one = |paths: &[&str]| detect(paths.iter().copied());
        assert_eq!(
            detect_one(&["version.yaml", "cluster-resources/pods/shop.json"]),
            Some(Layout::Troubleshoot)
        );
        assert_eq!(
            detect_one(&["namespaces/shop/apps/v1/Deployment/web.yaml"]),
            Some(Layout::CrustGather)
        );
        assert_eq!(
            detect_one(&["shop/pods.json"]),
            Some(Layout::ClusterInfoDump)
        );
        assert_eq!(
            detect_one(&["shop/events.yaml"]),
            Some(Layout::ClusterInfoDump)
        );
        assert_eq!(detect_one(&["nodes.json"]), Some(Layout::ClusterInfoDump));
        // Look-alikes: a pods.json deeper down, a stray nodes file in a folder.
        assert_eq!(detect_one(&["a/b/pods.json", "shop/nodes.json"]), None);
        assert_eq!(detect_one(&["shop/podsx.json"]), None);
    }

    #[test]
    fn secret_files_are_recognised_by_their_directory_only() {
        assert!(is_secret("cluster-resources/secrets/shop.json"));
        assert!(is_secret("namespaces/shop/v1/Secret/db.yaml"));
        assert!(!is_secret("cluster-resources/configmaps/secrets.json"));
        assert!(!is_secret("cluster-resources/pods/shop.json"));
    }

    #[test]
    fn dump_logs_split_per_container() {
        let text = "==== START logs for container init of pod shop/web-1 ====\nboot\n==== END logs for container init of pod shop/web-1 ====\n==== START logs for container web of pod shop/web-1 ====\nRequest log error: gone\npanic: x\n==== END logs for container web of pod shop/web-1 ====\n";
        assert_eq!(
            split_dump_logs(text),
            vec![
                ("init".to_string(), "boot\n".to_string()),
                (
                    "web".to_string(),
                    "Request log error: gone\npanic: x\n".to_string()
                ),
            ]
        );
        assert!(split_dump_logs("no markers\n").is_empty());
    }

    #[test]
    fn troubleshoot_logs_and_typed_lists_make_the_snapshot() {
        let pods = r#"{"kind": "PodList", "apiVersion": "v1", "items": [{"metadata": {"name": "web-1", "namespace": "shop"}, "spec": {"containers": []}}]}"#;
        let snapshot = assemble(
            vec![
                entry("sb/cluster-resources/pods/shop.json", pods),
                entry(
                    "sb/cluster-resources/pods/logs/shop/web-1/web-previous.log",
                    "a\nb\n",
                ),
                entry("sb/cluster-resources/pods/logs/shop/web-1/web.log", "c\n"),
                entry("sb/cluster-resources/auth-cani-list/shop.json", "[1]"),
                entry("sb/cluster-resources/pods-errors.json", "[\"x\"]"),
            ],
            2,
            "sb.tar.gz",
        )
        .unwrap();
        assert_eq!(snapshot.pods.len(), 1);
        assert_eq!(snapshot.secrets_skipped, 2);
        let logs: Vec<(&str, bool, Vec<String>)> = snapshot
            .logs
            .iter()
            .map(|l| {
                (
                    l.source.container.as_str(),
                    l.source.previous,
                    l.lines.clone(),
                )
            })
            .collect();
        assert_eq!(
            logs,
            vec![
                ("web", true, vec!["a".to_string(), "b".to_string()]),
                ("web", false, vec!["c".to_string()]),
            ]
        );
    }

    #[test]
    fn crust_gather_logs_sit_beside_the_pod_in_either_path_form() {
        let pod = "apiVersion: v1\nkind: Pod\nmetadata: {name: web-1, namespace: shop}\nspec: {containers: [{name: web, image: x}]}\n";
        let snapshot = assemble(
            vec![
                entry("crust-gather/namespaces/shop/v1/pod/web-1.yaml", pod),
                entry(
                    "crust-gather/namespaces/shop/v1/pod/web-1/web/previous.log",
                    "boom\n",
                ),
                // Older crust-gather versions: no group/version directory.
                entry(
                    "crust-gather/namespaces/shop/pod/web-1/web/current.log",
                    "up\n",
                ),
                // A file that merely ends in .log elsewhere is not a container log.
                entry(
                    "crust-gather/namespaces/shop/v1/pod/web-1/web/other.log",
                    "x\n",
                ),
            ],
            0,
            "cg.tar.gz",
        )
        .unwrap();
        assert_eq!(snapshot.pods.len(), 1);
        let mut logs: Vec<(String, String, String, bool, Vec<String>)> = snapshot
            .logs
            .iter()
            .map(|l| {
                (
                    l.source.namespace.clone(),
                    l.source.pod.clone(),
                    l.source.container.clone(),
                    l.source.previous,
                    l.lines.clone(),
                )
            })
            .collect();
        logs.sort();
        assert_eq!(
            logs,
            vec![
                (
                    "shop".into(),
                    "web-1".into(),
                    "web".into(),
                    false,
                    vec!["up".to_string()]
                ),
                (
                    "shop".into(),
                    "web-1".into(),
                    "web".into(),
                    true,
                    vec!["boom".to_string()]
                ),
            ]
        );
    }

    #[test]
    fn a_bad_file_is_named_in_the_error() {
        let err = assemble(vec![entry("shop/pods.json", "{\"items\": [")], 0, "dump")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("`dump: shop/pods.json` is not valid JSON"),
            "{err}"
        );
        let err = assemble(vec![entry("x/y.txt", "hi")], 0, "dir")
            .unwrap_err()
            .to_string();
        assert!(err.contains("is not a known bundle layout"), "{err}");
    }
}
