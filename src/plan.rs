//! The repair plan: the dependency graph between failing signals (which fix must land
//! before another can work) and the order it implies: topological, ties broken by the
//! fixed priority of `signals::ALL`. Pure data; renderers draw it as a table, Mermaid
//! or Graphviz.

use jiff::Timestamp;
use serde::Serialize;

use crate::finding::{Finding, Status};
use crate::signals;

pub const API_VERSION: &str = "triage/v1alpha1";

/// `(gate, gated, why)`: the gate's fault keeps the gated one from being repaired.
pub const GATES: [(&str, &str, &str); 13] = [
    ("quota", "schema", "blocks scheduling of the migration Job"),
    (
        "quota",
        "init-container",
        "blocks scheduling of the app pod",
    ),
    (
        "rbac",
        "schema",
        "the migration Job cannot create jobs or patch configmaps",
    ),
    ("pvc", "schema", "the migration Job mounts the claim"),
    (
        "migration-script",
        "schema",
        "swallows the migration's errors",
    ),
    ("pvc", "init-container", "the pod cannot mount its volume"),
    (
        "egress",
        "init-container",
        "blocks the pod from reaching DNS and the database",
    ),
    (
        "schema",
        "init-container",
        "the init container verifies the schema",
    ),
    ("lock", "derived-state", "blocks the reconciler advancing"),
    (
        "orphan-hook",
        "derived-state",
        "blocks the reconciler advancing",
    ),
    (
        "schema",
        "derived-state",
        "the reconciler waits for the schema version",
    ),
    (
        "init-container",
        "derived-state",
        "the reconciler reports Degraded while it fails",
    ),
    (
        "init-container",
        "service-endpoints",
        "a pod is not Ready until its init containers complete",
    ),
];

/// Steps that resolve by themselves once their gates are fixed: verified, not repaired.
/// A Service gets its endpoints back once its pods are Ready.
const VERIFY_ONLY: [&str; 3] = ["init-container", "service-endpoints", "derived-state"];

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Plan {
    pub api_version: &'static str,
    pub kind: &'static str,
    pub namespace: String,
    pub captured_at: Option<Timestamp>,
    pub graph: Graph,
    pub steps: Vec<Step>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Graph {
    pub nodes: Vec<Node>,
    pub edges: Vec<Edge>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Node {
    pub id: &'static str,
    pub status: Status,
    pub summary: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Edge {
    pub from: &'static str,
    pub to: &'static str,
    pub label: &'static str,
}

/// What to do at a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// Repair the fault (the finding's fix).
    Repair,
    /// Nothing to change: check it resolved once its gates were fixed.
    Verify,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Step {
    pub number: usize,
    pub id: &'static str,
    pub action: Action,
    /// Steps that must come first (its gates in the graph).
    pub after: Vec<&'static str>,
    /// Steps it unblocks.
    pub unblocks: Vec<&'static str>,
    /// Why it comes where it does.
    pub reason: String,
    pub fix: Option<String>,
}

/// The graph over the failing findings (plus the derived-state output they feed).
pub fn graph(findings: &[Finding]) -> Graph {
    let nodes: Vec<Node> = signals::ALL
        .iter()
        .filter_map(|signal| findings.iter().find(|f| f.id == signal.id()))
        .filter(|f| {
            f.status == Status::Fail || (f.status == Status::Info && f.id == "derived-state")
        })
        .map(|f| Node {
            id: f.id,
            status: f.status,
            summary: f.summary.clone(),
        })
        .collect();
    let present = |id: &str| nodes.iter().any(|n| n.id == id);
    let edges = GATES
        .iter()
        .filter(|(from, to, _)| present(from) && present(to))
        .map(|&(from, to, label)| Edge { from, to, label })
        .collect();
    Graph { nodes, edges }
}

fn priority(id: &str) -> usize {
    signals::ids()
        .iter()
        .position(|s| *s == id)
        .unwrap_or(usize::MAX)
}

/// The repair order: Kahn's algorithm, always taking the ready node of highest
/// priority, so the order is deterministic.
pub fn order(graph: &Graph) -> Vec<&'static str> {
    let mut remaining: Vec<&'static str> = graph.nodes.iter().map(|n| n.id).collect();
    let mut done: Vec<&'static str> = Vec::new();
    while !remaining.is_empty() {
        let ready = remaining
            .iter()
            .copied()
            .filter(|id| {
                graph
                    .edges
                    .iter()
                    .filter(|e| e.to == *id)
                    .all(|e| done.contains(&e.from))
            })
            .min_by_key(|id| priority(id));
        // GATES is acyclic (a unit test checks it), so something is always ready;
        // fall back to priority order rather than loop if that ever breaks.
        let next = ready.unwrap_or_else(|| {
            *remaining
                .iter()
                .min_by_key(|id| priority(id))
                .expect("non-empty")
        });
        remaining.retain(|id| *id != next);
        done.push(next);
    }
    done
}

pub fn build(namespace: &str, captured_at: Option<Timestamp>, findings: &[Finding]) -> Plan {
    let graph = graph(findings);
    let order = order(&graph);
    let steps = order
        .iter()
        .enumerate()
        .map(|(index, &id)| {
            let gates: Vec<&Edge> = graph.edges.iter().filter(|e| e.to == id).collect();
            let gated: Vec<&Edge> = graph.edges.iter().filter(|e| e.from == id).collect();
            let action = if VERIFY_ONLY.contains(&id) {
                Action::Verify
            } else {
                Action::Repair
            };
            let mut reason = if gates.is_empty() {
                "nothing gates it".to_string()
            } else {
                format!(
                    "after {}",
                    gates
                        .iter()
                        .map(|e| format!("{} ({})", e.from, e.label))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            };
            if !gated.is_empty() {
                reason.push_str(&format!(
                    "; must precede {}",
                    gated
                        .iter()
                        .map(|e| format!("{} ({})", e.to, e.label))
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
            if gates.is_empty() {
                reason.push_str(&format!("; {}", rationale(id)));
            }
            if action == Action::Verify {
                reason.push_str(
                    "; resolves by itself once its gates are fixed: verify, do not patch",
                );
            }
            let finding = findings.iter().find(|f| f.id == id);
            Step {
                number: index + 1,
                id,
                action,
                after: gates.iter().map(|e| e.from).collect(),
                unblocks: gated.iter().map(|e| e.to).collect(),
                reason,
                fix: finding.and_then(|f| f.fix.clone()),
            }
        })
        .collect();
    Plan {
        api_version: API_VERSION,
        kind: "Plan",
        namespace: namespace.to_string(),
        captured_at,
        graph,
        steps,
    }
}

/// Why a signal's repair goes early or late when nothing orders it.
fn rationale(id: &str) -> &'static str {
    match id {
        "quota" => "priority 1: every other repair needs to schedule a pod",
        "rbac" => "priority 2: the migration runs as this ServiceAccount",
        "pvc" => "priority 3: storage must bind before anything mounts it",
        "egress" => "priority 4: pods need DNS and the database before they can verify anything",
        "lock" => "priority 5: the reconciler stays blocked until the lock is released",
        "orphan-hook" => "priority 6: the reconciler stays blocked by the orphan",
        "migration-script" => "priority 7: fix the script before the migration runs again",
        "schema" => "priority 8: the migration runs once its gates are clear",
        "init-container" => "priority 9: resolves once its gates are fixed",
        "service-endpoints" => "priority 10: a Service has endpoints once its pods are Ready",
        _ => "lowest priority: outputs are verified last",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fail(id: &'static str) -> Finding {
        Finding::fail(id, format!("{id} is broken"))
    }

    #[test]
    fn bundled_incident_order() {
        let mut findings: Vec<Finding> = [
            "quota",
            "rbac",
            "pvc",
            "egress",
            "lock",
            "orphan-hook",
            "migration-script",
            "schema",
            "init-container",
        ]
        .into_iter()
        .map(fail)
        .collect();
        findings.reverse();
        findings.push(Finding::new("derived-state", Status::Info, "output"));
        let plan = build("bleater", None, &findings);
        let ids: Vec<&str> = plan.steps.iter().map(|s| s.id).collect();
        assert_eq!(
            ids,
            vec![
                "quota",
                "rbac",
                "pvc",
                "egress",
                "lock",
                "orphan-hook",
                "migration-script",
                "schema",
                "init-container",
                "derived-state"
            ]
        );
        assert_eq!(
            plan.steps[7].after,
            vec!["quota", "rbac", "pvc", "migration-script"]
        );
        assert_eq!(plan.steps[8].action, Action::Verify);
        assert!(plan.steps[0].reason.contains("must precede schema"));
    }

    #[test]
    fn gates_are_acyclic_and_name_real_signals() {
        for (from, to, _) in GATES {
            assert!(
                signals::by_id(from).is_some() && signals::by_id(to).is_some(),
                "{from} -> {to}"
            );
            assert!(
                priority(from) < priority(to),
                "{from} -> {to} goes against the priority order"
            );
        }
    }

    #[test]
    fn only_failing_signals_are_nodes() {
        let findings = vec![Finding::ok("quota", "fine"), fail("schema"), fail("egress")];
        let plan = build("x", None, &findings);
        assert_eq!(plan.graph.nodes.len(), 2);
        assert!(plan.graph.edges.is_empty());
        let ids: Vec<&str> = plan.steps.iter().map(|s| s.id).collect();
        assert_eq!(ids, vec!["egress", "schema"]);
    }
}
