//! Container logs as evidence, the pure part: which containers' logs a responder wants
//! (`kubectl logs --previous` of whatever crashed), their documented snapshot-file
//! form (`kind: ContainerLog` List items), and attaching them to failing findings.
//! Fetching them is I/O and lives in `cluster.rs`.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::ContainerStatus;
use serde::Serialize;
use serde_json::{Value, json};

use crate::finding::{Evidence, Finding, ObjectRef};
use crate::snapshot::{
    ContainerLog, Gap, HasMeta, Kind, LogGap, LogSource, Snapshot, in_namespace,
};

/// How many last lines `--logs` fetches per container unless told otherwise.
pub const DEFAULT_TAIL_LINES: u32 = 20;

/// At most this many containers' logs per namespace: a namespace with hundreds of
/// crash-looping replicas needs a few examples, not hundreds of requests to kubelets.
pub const MAX_CONTAINERS: usize = 50;

/// The API version and kind of a log in a snapshot file (docs/output.md).
pub const ITEM_API_VERSION: &str = "triage/v1alpha1";
pub const ITEM_KIND: &str = "ContainerLog";

/// Kubelet waiting reasons of a container that ran and failed, so it has a log worth
/// reading: `CrashLoopBackOff` and `RunContainerError` are kubelet's sync errors
/// (pkg/kubelet/container/sync_result.go), `Error` the reason a failed start leaves.
/// Image pull and create errors (`ErrImagePull`, `CreateContainerConfigError`) are
/// left out: no instance of the container ever ran, there is no log.
const FAILED_WAITING: [&str; 3] = ["CrashLoopBackOff", "Error", "RunContainerError"];

/// The containers whose logs to fetch, in a stable order, and how many more the cap left out.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogSelection {
    pub wanted: Vec<LogSource>,
    /// Failing containers beyond [`MAX_CONTAINERS`].
    pub beyond_cap: usize,
}

/// Every container (init, sidecar, main) of every pod in `namespace` that failed:
/// waiting in a failure reason, terminated with a non-zero exit, or restarted and not
/// ready. `previous` when it restarted and its last instance terminated: that instance
/// wrote what explains the crash (`kubectl logs --previous`); the current one may not
/// have started yet. Sorted by pod, then container; at most `max`.
pub fn select(snapshot: &Snapshot, namespace: &str, max: usize) -> LogSelection {
    let mut wanted: Vec<LogSource> = Vec::new();
    for pod in in_namespace(&snapshot.pods, namespace) {
        let Some(status) = pod.status.as_ref() else {
            continue;
        };
        // Sidecars are init containers with restartPolicy Always: their statuses are
        // in initContainerStatuses too.
        let statuses = [
            status.init_container_statuses.as_deref(),
            status.container_statuses.as_deref(),
        ];
        for container in statuses.into_iter().flatten().flatten() {
            if failed(container) {
                wanted.push(LogSource {
                    namespace: namespace.to_string(),
                    pod: pod.name().to_string(),
                    container: container.name.clone(),
                    previous: wants_previous(container),
                });
            }
        }
    }
    wanted.sort();
    wanted.dedup();
    let beyond_cap = wanted.len().saturating_sub(max);
    wanted.truncate(max);
    LogSelection { wanted, beyond_cap }
}

fn failed(status: &ContainerStatus) -> bool {
    let state = status.state.as_ref();
    if let Some(terminated) = state.and_then(|s| s.terminated.as_ref()) {
        // NB: a terminated container with exit 0 is done (a Completed init container
        // that crashed on an earlier try included): its failure is history.
        return terminated.exit_code != 0;
    }
    let waiting_failed = state
        .and_then(|s| s.waiting.as_ref())
        .and_then(|w| w.reason.as_deref())
        .is_some_and(|reason| FAILED_WAITING.contains(&reason));
    waiting_failed || (status.restart_count > 0 && !status.ready)
}

fn wants_previous(status: &ContainerStatus) -> bool {
    status.restart_count > 0
        && status
            .last_state
            .as_ref()
            .is_some_and(|last| last.terminated.is_some())
}

/// Keeps the last `lines` lines of every log read from a file, as `--logs N` asks;
/// `0` drops logs and log gaps altogether.
pub fn limit(snapshot: &mut Snapshot, lines: u32) {
    if lines == 0 {
        snapshot.logs.clear();
        snapshot.log_gaps.clear();
        return;
    }
    let keep = lines as usize;
    for log in &mut snapshot.logs {
        let extra = log.lines.len().saturating_sub(keep);
        log.lines.drain(..extra);
    }
}

/// The last `tail` lines of a log as the API server returned it.
pub fn split_lines(text: &str, tail: u32) -> Vec<String> {
    let lines: Vec<&str> = text.lines().collect();
    let skip = lines.len().saturating_sub(tail as usize);
    lines[skip..].iter().map(|line| line.to_string()).collect()
}

/// Adds the logs (and log gaps) of every container of every Pod named in a failing
/// finding's `objects`, in pod then container order, after the signal's own evidence.
pub fn attach(snapshot: &Snapshot, findings: &mut [Finding]) {
    for finding in findings.iter_mut().filter(|f| f.failing()) {
        let pods: Vec<ObjectRef> = finding
            .objects
            .iter()
            .filter(|o| o.kind == Kind::Pod.name())
            .cloned()
            .collect();
        for pod in pods {
            let of_pod =
                |source: &LogSource| source.namespace == pod.namespace && source.pod == pod.name;
            let mut logs: Vec<&ContainerLog> =
                snapshot.logs.iter().filter(|l| of_pod(&l.source)).collect();
            logs.sort_by(|a, b| a.source.cmp(&b.source));
            for log in logs {
                finding.evidence.push(Evidence::Log {
                    object: pod.clone(),
                    container: log.source.container.clone(),
                    previous: log.source.previous,
                    lines: log.lines.clone(),
                });
            }
            // One line per pod and reason: a 403 on pods/log says the same for
            // every container.
            let mut gaps: BTreeMap<(u8, &str), Vec<String>> = BTreeMap::new();
            for gap in snapshot.log_gaps.iter().filter(|g| of_pod(&g.source)) {
                let key = match &gap.gap {
                    Gap::Forbidden(message) => (0, message.as_str()),
                    Gap::Failed(message) => (1, message.as_str()),
                };
                gaps.entry(key)
                    .or_default()
                    .push(gap.source.container.clone());
            }
            for ((forbidden, message), mut containers) in gaps {
                containers.sort();
                containers.dedup();
                finding.evidence.push(Evidence::LogGap {
                    object: pod.clone(),
                    containers,
                    gap: if forbidden == 0 {
                        Gap::Forbidden(message.to_string())
                    } else {
                        Gap::Failed(message.to_string())
                    },
                });
            }
        }
    }
}

/// A sentence for output when the cap left failing containers without logs; `None`
/// when nothing was left out, or when no logs were fetched at all (`--logs 0`).
pub fn cap_note(snapshot: &Snapshot, namespace: &str) -> Option<String> {
    if snapshot.logs.is_empty() && snapshot.log_gaps.is_empty() {
        return None;
    }
    let selection = select(snapshot, namespace, MAX_CONTAINERS);
    (selection.beyond_cap > 0).then(|| {
        format!(
            "logs of the first {MAX_CONTAINERS} failing containers only; {} more have none (by pod name)",
            selection.beyond_cap
        )
    })
}

/// The snapshot-file form of every log and log gap, sorted by pod and container:
/// `{apiVersion: triage/v1alpha1, kind: ContainerLog, metadata: {namespace, name: POD},
/// container, previous, lines: [...]}`, with `gap: {reason, message}` instead of
/// `lines` for a log that could not be fetched.
pub fn to_items(snapshot: &Snapshot) -> Vec<Value> {
    let item = |source: &LogSource, body: (&str, Value)| {
        let mut value = json!({
            "apiVersion": ITEM_API_VERSION,
            "kind": ITEM_KIND,
            "metadata": {"namespace": source.namespace, "name": source.pod},
            "container": source.container,
            "previous": source.previous,
        });
        value[body.0] = body.1;
        (source.clone(), value)
    };
    let mut items: Vec<(LogSource, Value)> = snapshot
        .logs
        .iter()
        .map(|log| item(&log.source, ("lines", json!(log.lines))))
        .chain(snapshot.log_gaps.iter().map(|gap| {
            item(
                &gap.source,
                ("gap", serde_json::to_value(&gap.gap).unwrap_or_default()),
            )
        }))
        .collect();
    items.sort_by(|a, b| a.0.cmp(&b.0));
    items.into_iter().map(|(_, value)| value).collect()
}

/// One `ContainerLog` item read back from a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    Log(ContainerLog),
    Gap(LogGap),
}

/// Reads a `ContainerLog` item; the error names what is wrong with it.
pub fn from_item(value: &Value) -> Result<Item, String> {
    let text = |path: &str| value.pointer(path).and_then(Value::as_str);
    let (Some(namespace), Some(pod)) = (text("/metadata/namespace"), text("/metadata/name")) else {
        return Err("needs `metadata.namespace` and `metadata.name` (the pod)".to_string());
    };
    let Some(container) = text("/container") else {
        return Err("needs `container` (a string)".to_string());
    };
    let previous = match value.get("previous") {
        None => false,
        Some(Value::Bool(previous)) => *previous,
        Some(_) => return Err("`previous` is not true or false".to_string()),
    };
    let source = LogSource {
        namespace: namespace.to_string(),
        pod: pod.to_string(),
        container: container.to_string(),
        previous,
    };
    match (value.get("lines"), value.get("gap")) {
        (Some(lines), None) => {
            let lines = lines
                .as_array()
                .and_then(|items| {
                    items
                        .iter()
                        .map(|line| line.as_str().map(str::to_string))
                        .collect::<Option<Vec<String>>>()
                })
                .ok_or("`lines` is not a list of strings")?;
            Ok(Item::Log(ContainerLog { source, lines }))
        }
        (None, Some(gap)) => {
            let message = gap
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            let gap = match gap.get("reason").and_then(Value::as_str) {
                Some("forbidden") => Gap::Forbidden(message),
                Some("failed") => Gap::Failed(message),
                _ => return Err("`gap.reason` is not `forbidden` or `failed`".to_string()),
            };
            Ok(Item::Gap(LogGap { source, gap }))
        }
        _ => Err("needs exactly one of `lines` and `gap`".to_string()),
    }
}

/// Log gaps in `namespace` as typed rows for the inventory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GapRow {
    pub pod: String,
    pub container: String,
    pub previous: bool,
    #[serde(flatten)]
    pub gap: Gap,
}

pub fn gap_rows(snapshot: &Snapshot, namespace: &str) -> Vec<GapRow> {
    let mut gaps: Vec<&LogGap> = snapshot
        .log_gaps
        .iter()
        .filter(|g| g.source.namespace == namespace)
        .collect();
    gaps.sort_by(|a, b| a.source.cmp(&b.source));
    gaps.into_iter()
        .map(|g| GapRow {
            pod: g.source.pod.clone(),
            container: g.source.container.clone(),
            previous: g.source.previous,
            gap: g.gap.clone(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signals::test_support::snapshot;

    /// A pod with one init container and one main container in the given states.
    fn pod(name: &str, init: &str, main: &str) -> String {
        format!(
            "- apiVersion: v1
  kind: Pod
  metadata: {{name: {name}, namespace: shop}}
  spec: {{containers: [{{name: app, image: app}}], initContainers: [{{name: init, image: init}}]}}
  status:
    initContainerStatuses:
    - {{name: init, image: init, imageID: '', {init}}}
    containerStatuses:
    - {{name: app, image: app, imageID: '', {main}}}
"
        )
    }

    const DONE: &str =
        "ready: true, restartCount: 0, state: {terminated: {exitCode: 0, reason: Completed}}";
    const RUNNING: &str = "ready: true, restartCount: 0, state: {running: {}}";

    fn list(pods: &[String]) -> Snapshot {
        snapshot(&format!(
            "apiVersion: v1\nkind: List\nitems:\n{}",
            pods.concat()
        ))
    }

    fn source(pod: &str, container: &str, previous: bool) -> LogSource {
        LogSource {
            namespace: "shop".into(),
            pod: pod.into(),
            container: container.into(),
            previous,
        }
    }

    #[test]
    fn crash_looping_init_container_wants_its_previous_instance() {
        let snapshot = list(&[pod(
            "api-1",
            "ready: false, restartCount: 47, state: {waiting: {reason: CrashLoopBackOff}}, lastState: {terminated: {exitCode: 1, reason: Error}}",
            "ready: false, restartCount: 0, state: {waiting: {reason: PodInitializing}}",
        )]);
        let selection = select(&snapshot, "shop", MAX_CONTAINERS);
        assert_eq!(selection.wanted, vec![source("api-1", "init", true)]);
        assert_eq!(selection.beyond_cap, 0);
    }

    #[test]
    fn each_failure_shape_is_selected_and_healthy_look_alikes_are_not() {
        let snapshot = list(&[
            // Terminated non-zero without a restart (restartPolicy Never): its own log.
            pod(
                "a-failed",
                DONE,
                "ready: false, restartCount: 0, state: {terminated: {exitCode: 2, reason: Error}}",
            ),
            // Restarted, running, not ready: the instance before the restart.
            pod(
                "b-flapping",
                DONE,
                "ready: false, restartCount: 3, state: {running: {}}, lastState: {terminated: {exitCode: 137, reason: OOMKilled}}",
            ),
            // RunContainerError without any earlier instance: the current one.
            pod(
                "c-runerror",
                DONE,
                "ready: false, restartCount: 0, state: {waiting: {reason: RunContainerError}}",
            ),
            // Look-alikes: restarted but ready again; an init container that crashed
            // once and then completed; a pod still pulling its image; healthy.
            pod(
                "d-recovered",
                DONE,
                "ready: true, restartCount: 5, state: {running: {}}, lastState: {terminated: {exitCode: 1}}",
            ),
            pod(
                "e-init-recovered",
                "ready: true, restartCount: 2, state: {terminated: {exitCode: 0, reason: Completed}}, lastState: {terminated: {exitCode: 1}}",
                RUNNING,
            ),
            pod(
                "f-pulling",
                DONE,
                "ready: false, restartCount: 0, state: {waiting: {reason: ImagePullBackOff}}",
            ),
            pod("g-healthy", DONE, RUNNING),
        ]);
        let selection = select(&snapshot, "shop", MAX_CONTAINERS);
        assert_eq!(
            selection.wanted,
            vec![
                source("a-failed", "app", false),
                source("b-flapping", "app", true),
                source("c-runerror", "app", false),
            ]
        );
    }

    #[test]
    fn pods_without_status_and_other_namespaces_are_skipped() {
        let snapshot = snapshot(
            "apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: Pod, metadata: {name: bare, namespace: shop}, spec: {containers: [{name: c}]}}\n- apiVersion: v1\n  kind: Pod\n  metadata: {name: elsewhere, namespace: other}\n  spec: {containers: [{name: c}]}\n  status: {containerStatuses: [{name: c, image: c, imageID: '', ready: false, restartCount: 0, state: {waiting: {reason: CrashLoopBackOff}}}]}\n",
        );
        assert_eq!(
            select(&snapshot, "shop", MAX_CONTAINERS),
            LogSelection::default()
        );
        assert_eq!(select(&snapshot, "other", MAX_CONTAINERS).wanted.len(), 1);
    }

    #[test]
    fn the_cap_keeps_the_first_in_order_and_counts_the_rest() {
        let crashing = "ready: false, restartCount: 1, state: {waiting: {reason: CrashLoopBackOff}}, lastState: {terminated: {exitCode: 1}}";
        let pods: Vec<String> = (0..4)
            .map(|i| pod(&format!("web-{i}"), DONE, crashing))
            .collect();
        let selection = select(&list(&pods), "shop", 3);
        assert_eq!(
            selection
                .wanted
                .iter()
                .map(|s| s.pod.as_str())
                .collect::<Vec<_>>(),
            vec!["web-0", "web-1", "web-2"]
        );
        assert_eq!(selection.beyond_cap, 1);
    }

    #[test]
    fn split_lines_keeps_the_tail() {
        assert_eq!(split_lines("a\nb\nc\n", 2), vec!["b", "c"]);
        assert_eq!(split_lines("a\r\nb", 20), vec!["a", "b"]);
        assert!(split_lines("", 20).is_empty());
    }

    #[test]
    fn limit_keeps_the_last_lines_and_zero_drops_everything() {
        let mut snapshot = Snapshot {
            logs: vec![ContainerLog {
                source: source("p", "c", true),
                lines: vec!["1".into(), "2".into(), "3".into()],
            }],
            log_gaps: vec![LogGap {
                source: source("q", "c", false),
                gap: Gap::Failed("x".into()),
            }],
            ..Snapshot::default()
        };
        limit(&mut snapshot, 2);
        assert_eq!(snapshot.logs[0].lines, vec!["2", "3"]);
        assert_eq!(snapshot.log_gaps.len(), 1);
        limit(&mut snapshot, 0);
        assert!(snapshot.logs.is_empty() && snapshot.log_gaps.is_empty());
    }

    #[test]
    fn items_read_back_as_they_were_written() {
        let log = ContainerLog {
            source: source("p", "init", true),
            lines: vec!["FATAL: relation \"bleats\" does not exist".into()],
        };
        let gap = LogGap {
            source: source("p", "app", false),
            gap: Gap::Forbidden("pods \"p\" is forbidden".into()),
        };
        let snapshot = Snapshot {
            logs: vec![log.clone()],
            log_gaps: vec![gap.clone()],
            ..Snapshot::default()
        };
        let items = to_items(&snapshot);
        // Sorted by container: `app` (the gap) before `init`.
        assert_eq!(items[0]["gap"]["reason"], "forbidden");
        assert_eq!(items[1]["kind"], "ContainerLog");
        assert_eq!(items[1]["metadata"]["name"], "p");
        assert_eq!(from_item(&items[0]), Ok(Item::Gap(gap)));
        assert_eq!(from_item(&items[1]), Ok(Item::Log(log)));
    }

    #[test]
    fn malformed_items_say_what_is_wrong() {
        let base = json!({"apiVersion": ITEM_API_VERSION, "kind": ITEM_KIND,
            "metadata": {"namespace": "shop", "name": "p"}, "container": "c", "lines": ["x"]});
        let broken = |pointer: &str, value: Value| {
            let mut item = base.clone();
            *item.pointer_mut(pointer).unwrap() = value;
            from_item(&item).unwrap_err()
        };
        assert!(from_item(&base).is_ok());
        assert_eq!(
            broken("/lines", json!("x")),
            "`lines` is not a list of strings"
        );
        assert_eq!(
            broken("/lines", json!([1])),
            "`lines` is not a list of strings"
        );
        assert_eq!(
            broken("/container", json!(3)),
            "needs `container` (a string)"
        );
        assert!(broken("/metadata", json!({})).contains("metadata.namespace"));
        let mut both = base.clone();
        both["gap"] = json!({"reason": "failed", "message": "m"});
        assert_eq!(
            from_item(&both).unwrap_err(),
            "needs exactly one of `lines` and `gap`"
        );
        let mut previous = base.clone();
        previous["previous"] = json!("yes");
        assert_eq!(
            from_item(&previous).unwrap_err(),
            "`previous` is not true or false"
        );
        let mut gap = base;
        gap.as_object_mut().unwrap().remove("lines");
        gap["gap"] = json!({"reason": "nope"});
        assert!(from_item(&gap).unwrap_err().contains("gap.reason"));
    }

    #[test]
    fn attach_adds_the_logs_of_pods_of_failing_findings_only() {
        let snapshot = Snapshot {
            logs: vec![
                ContainerLog {
                    source: source("p", "init", true),
                    lines: vec!["boom".into()],
                },
                ContainerLog {
                    source: source("other", "c", false),
                    lines: vec!["unrelated".into()],
                },
            ],
            log_gaps: vec![
                LogGap {
                    source: source("p", "b", false),
                    gap: Gap::Forbidden("no".into()),
                },
                LogGap {
                    source: source("p", "a", false),
                    gap: Gap::Forbidden("no".into()),
                },
            ],
            ..Snapshot::default()
        };
        let pod = ObjectRef::new(Kind::Pod, "shop", "p");
        let mut failing = Finding::fail("x", "pod `p` fails");
        failing.add_object(pod.clone());
        let mut ok = Finding::ok("y", "fine");
        ok.add_object(ObjectRef::new(Kind::Pod, "shop", "other"));
        let mut findings = vec![failing, ok];
        attach(&snapshot, &mut findings);
        assert_eq!(
            findings[0].evidence,
            vec![
                Evidence::Log {
                    object: pod.clone(),
                    container: "init".into(),
                    previous: true,
                    lines: vec!["boom".into()],
                },
                Evidence::LogGap {
                    object: pod,
                    containers: vec!["a".into(), "b".into()],
                    gap: Gap::Forbidden("no".into()),
                },
            ]
        );
        assert!(findings[1].evidence.is_empty());
    }

    #[test]
    fn cap_note_only_when_logs_were_fetched_and_some_left_out() {
        let crashing =
            "ready: false, restartCount: 0, state: {waiting: {reason: CrashLoopBackOff}}";
        let pods: Vec<String> = (0..MAX_CONTAINERS + 2)
            .map(|i| pod(&format!("web-{i:03}"), DONE, crashing))
            .collect();
        let mut snapshot = list(&pods);
        assert_eq!(cap_note(&snapshot, "shop"), None, "--logs 0: no note");
        snapshot.log_gaps.push(LogGap {
            source: source("web-000", "app", false),
            gap: Gap::Failed("x".into()),
        });
        assert_eq!(
            cap_note(&snapshot, "shop").unwrap(),
            "logs of the first 50 failing containers only; 2 more have none (by pod name)"
        );
    }
}
