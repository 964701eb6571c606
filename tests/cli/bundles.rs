//! `--snapshot` on support bundles: each bundled example written (at test time, by the
//! generator below) as a troubleshoot.sh bundle, a `kubectl cluster-info dump` folder
//! and a crust-gather snapshot, as a directory and as a `.tar.gz`; `check` on each must
//! print exactly what `check` on the List file prints. Bad bundles fail on one line.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::{Value, json};

use super::triage;

const FIXTURES: [(&str, &str); 5] = [
    ("bleater-incident.yaml", "bleater"),
    ("bleater-healthy.yaml", "bleater"),
    ("shop-incident.yaml", "shop"),
    ("orders-incident.yaml", "orders"),
    ("storage-incident.yaml", "vault"),
];

#[derive(Clone, Copy, Debug)]
enum Layout {
    Troubleshoot,
    ClusterInfoDump,
    CrustGather,
}

const LAYOUTS: [Layout; 3] = [
    Layout::Troubleshoot,
    Layout::ClusterInfoDump,
    Layout::CrustGather,
];

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("triage-bundles-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn items(fixture: &str) -> Vec<Value> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples")
        .join(fixture);
    let text = std::fs::read_to_string(path).unwrap();
    let list: Value = serde_saphyr::from_str(&text).unwrap();
    list["items"]
        .as_array()
        .cloned()
        .unwrap_or_else(|| vec![list])
}

fn text(value: &Value, key: &str) -> String {
    value[key].as_str().unwrap_or_default().to_string()
}

fn write(path: &Path, bytes: &[u8]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
}

/// troubleshoot.sh and cluster-info dump name a kind's file by its plural.
fn plural(kind: &str) -> String {
    let lower = kind.to_lowercase();
    if lower.ends_with('y') {
        format!("{}ies", &lower[..lower.len() - 1])
    } else if lower.ends_with('s') {
        format!("{lower}es")
    } else {
        format!("{lower}s")
    }
}

/// Writes `objects` (and `ContainerLog` items as log files) in `layout` under `dir`.
/// Lists are written as client-go's typed lists are: items without apiVersion/kind.
fn generate(layout: Layout, objects: &[Value], dir: &Path) {
    let mut lists: BTreeMap<(String, String, String), Vec<Value>> = BTreeMap::new();
    for object in objects {
        let kind = text(object, "kind");
        let api_version = text(object, "apiVersion");
        let namespace = text(&object["metadata"], "namespace");
        if kind == "ContainerLog" {
            let pod = text(&object["metadata"], "name");
            let container = text(object, "container");
            let previous = object["previous"] == json!(true);
            let lines: Vec<String> = object["lines"]
                .as_array()
                .unwrap()
                .iter()
                .map(|l| format!("{}\n", l.as_str().unwrap()))
                .collect();
            match layout {
                Layout::Troubleshoot => write(
                    &dir.join(format!(
                        "cluster-resources/pods/logs/{namespace}/{pod}/{container}{}.log",
                        if previous { "-previous" } else { "" }
                    )),
                    lines.concat().as_bytes(),
                ),
                Layout::ClusterInfoDump => write(
                    &dir.join(format!("{namespace}/{pod}/logs.txt")),
                    format!(
                        "==== START logs for container {container} of pod {namespace}/{pod} ====\n{}==== END logs for container {container} of pod {namespace}/{pod} ====\n",
                        lines.concat()
                    )
                    .as_bytes(),
                ),
                // Beside the pod's file: `<pod>/<container>/current.log|previous.log`
                // (crust-gather's log scanner).
                Layout::CrustGather => write(
                    &dir.join(format!(
                        "namespaces/{namespace}/v1/Pod/{pod}/{container}/{}.log",
                        if previous { "previous" } else { "current" }
                    )),
                    lines.concat().as_bytes(),
                ),
            }
            continue;
        }
        if let Layout::CrustGather = layout {
            let name = text(&object["metadata"], "name");
            let path = if namespace.is_empty() {
                format!("cluster/{api_version}/{kind}/{name}.yaml")
            } else {
                format!("namespaces/{namespace}/{api_version}/{kind}/{name}.yaml")
            };
            write(
                &dir.join(path),
                serde_saphyr::to_string(object).unwrap().as_bytes(),
            );
            continue;
        }
        lists
            .entry((kind, api_version, namespace))
            .or_default()
            .push(object.clone());
    }
    let mut written = std::collections::BTreeSet::new();
    for ((kind, api_version, namespace), items) in lists {
        let items: Vec<Value> = items
            .into_iter()
            .map(|mut item| {
                let fields = item.as_object_mut().unwrap();
                fields.remove("kind");
                fields.remove("apiVersion");
                item
            })
            .collect();
        let list = json!({"kind": format!("{kind}List"), "apiVersion": api_version, "metadata": {}, "items": items});
        let path = match (layout, namespace.is_empty()) {
            (Layout::Troubleshoot, false) => {
                format!("cluster-resources/{}/{namespace}.json", plural(&kind))
            }
            (Layout::Troubleshoot, true) => format!("cluster-resources/{}.json", plural(&kind)),
            (_, false) => format!("{namespace}/{}.json", plural(&kind)),
            (_, true) => format!("{}.json", plural(&kind)),
        };
        assert!(written.insert(path.clone()), "two lists at {path}");
        write(
            &dir.join(path),
            serde_json::to_string_pretty(&list).unwrap().as_bytes(),
        );
    }
    if let Layout::ClusterInfoDump = layout {
        // Every dump has nodes.json, even an empty one.
        if !dir.join("nodes.json").exists() {
            write(
                &dir.join("nodes.json"),
                br#"{"kind": "NodeList", "apiVersion": "v1", "metadata": {}, "items": []}"#,
            );
        }
    }
}

/// `dir` as a `.tar.gz` whose entries sit under one top folder, as archived bundles do.
fn tar_gz(dir: &Path, out: &Path) {
    let file = std::fs::File::create(out).unwrap();
    let gz = flate2::write::GzEncoder::new(file, flate2::Compression::fast());
    let mut archive = tar::Builder::new(gz);
    archive
        .append_dir_all("support-bundle-2024-11-19T03_41_30", dir)
        .unwrap();
    archive.into_inner().unwrap().finish().unwrap();
}

fn list_file(objects: &[Value], path: &Path) {
    let list = json!({"apiVersion": "v1", "kind": "List", "items": objects});
    write(path, serde_json::to_string(&list).unwrap().as_bytes());
}

fn check(snapshot: &Path, namespace: &str, output: &str) -> Output {
    triage(&[
        "check",
        "--snapshot",
        &snapshot.display().to_string(),
        "-n",
        namespace,
        "-o",
        output,
    ])
}

#[track_caller]
fn assert_same_check(list: &Path, bundle: &Path, namespace: &str) {
    for output in ["json", "table"] {
        let expected = check(list, namespace, output);
        let actual = check(bundle, namespace, output);
        assert_eq!(
            String::from_utf8_lossy(&actual.stderr),
            "",
            "{}",
            bundle.display()
        );
        assert_eq!(actual.status.code(), expected.status.code());
        assert_eq!(
            String::from_utf8_lossy(&actual.stdout),
            String::from_utf8_lossy(&expected.stdout),
            "check -o {output} on {} differs from the List file",
            bundle.display()
        );
    }
}

#[test]
fn check_on_every_bundle_layout_equals_check_on_the_list_file() {
    for (fixture, namespace) in FIXTURES {
        let objects = items(fixture);
        let list = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("examples")
            .join(fixture);
        for layout in LAYOUTS {
            let dir = scratch(&format!("{fixture}-{layout:?}"));
            let bundle = dir.join("bundle");
            generate(layout, &objects, &bundle);
            assert_same_check(&list, &bundle, namespace);
            let archive = dir.join("bundle.tar.gz");
            tar_gz(&bundle, &archive);
            assert_same_check(&list, &archive, namespace);
            let _ = std::fs::remove_dir_all(&dir);
        }
    }
}

/// The crash-looping init container of the incident, with the log of its last instance.
fn with_logs(previous: bool) -> Vec<Value> {
    let mut objects = items("bleater-incident.yaml");
    objects.push(json!({
        "apiVersion": "triage/v1alpha1", "kind": "ContainerLog",
        "metadata": {"namespace": "bleater", "name": "bleat-service-lmbfdm22s8-4s7r9"},
        "container": "wait-for-db-schema", "previous": previous,
        "lines": ["waiting for schema v3", "schema_version is 2, want 3: exit 1"],
    }));
    objects
}

#[test]
fn bundle_logs_become_the_log_evidence() {
    for (layout, previous) in [
        (Layout::Troubleshoot, true),
        (Layout::ClusterInfoDump, false),
        (Layout::CrustGather, true),
    ] {
        let dir = scratch(&format!("logs-{layout:?}"));
        let objects = with_logs(previous);
        list_file(&objects, &dir.join("list.json"));
        generate(layout, &objects, &dir.join("bundle"));
        assert_same_check(&dir.join("list.json"), &dir.join("bundle"), "bleater");
        let _ = std::fs::remove_dir_all(&dir);
    }
    // The previous instance's log is what a crash-looping container's finding shows.
    let dir = scratch("logs-shown");
    generate(Layout::Troubleshoot, &with_logs(true), &dir.join("bundle"));
    let output = check(&dir.join("bundle"), "bleater", "json");
    let checked: Value = serde_json::from_slice(&output.stdout).unwrap();
    let logs: Vec<&Value> = checked["findings"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|f| f["evidence"].as_array().unwrap())
        .filter(|e| e["type"] == "log")
        .collect();
    assert!(!logs.is_empty(), "no log evidence: {checked}");
    assert_eq!(logs[0]["container"], "wait-for-db-schema");
    assert_eq!(logs[0]["previous"], true);
    assert_eq!(
        logs[0]["lines"],
        json!([
            "waiting for schema v3",
            "schema_version is 2, want 3: exit 1"
        ])
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn secrets_in_a_bundle_are_skipped_unopened() {
    let dir = scratch("secrets");
    let bundle = dir.join("bundle");
    generate(
        Layout::Troubleshoot,
        &items("bleater-healthy.yaml"),
        &bundle,
    );
    // Not even valid JSON: opening it would fail the load.
    write(
        &bundle.join("cluster-resources/secrets/bleater.json"),
        b"\xff not json",
    );
    let output = triage(&[
        "inventory",
        "--snapshot",
        &bundle.display().to_string(),
        "-n",
        "bleater",
        "-o",
        "json",
    ]);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let inventory: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(inventory["secretsSkipped"], json!(1));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bad_bundles_fail_on_one_line_naming_the_file() {
    let dir = scratch("bad");
    let cases: [(&str, &[u8], &str); 3] = [
        (
            "cluster-resources/pods/bleater.json",
            b"{\"kind\": \"PodList\", \"items\": [",
            "cluster-resources/pods/bleater.json` is not valid JSON at line 1",
        ),
        (
            "cluster-resources/pods/logs/bleater/p/c.log",
            b"\xff\xfe",
            "cluster-resources/pods/logs/bleater/p/c.log` is not UTF-8 text",
        ),
        ("notes/readme.txt", b"hello", "is not a known bundle layout"),
    ];
    for (index, (path, bytes, needle)) in cases.into_iter().enumerate() {
        let bundle = dir.join(format!("b{index}"));
        write(&bundle.join(path), bytes);
        let output = triage(&["check", "--snapshot", &bundle.display().to_string()]);
        let err = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{err}");
        assert!(err.contains(needle), "{needle:?} not in {err}");
        assert_eq!(
            err.lines().filter(|l| l.starts_with("error")).count(),
            1,
            "{err}"
        );
    }
    let archive = dir.join("broken.tar.gz");
    write(&archive, b"not gzip at all");
    let output = triage(&["check", "--snapshot", &archive.display().to_string()]);
    let err = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{err}");
    assert!(
        err.contains("broken.tar.gz` is not a readable .tar.gz"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
