//! The repair plan: the causal graph between failing findings (`causes`: which fault
//! causes which, so which fix must land before another can work) and the order it
//! implies: topological, ties broken by the fixed priority of `signals::ALL`. Causes
//! are repaired (or, where triage has no repair, done by hand with the finding's fix);
//! symptoms are verified. Pure data; renderers draw it as a table, Mermaid or Graphviz.

use jiff::Timestamp;
use serde::Serialize;

use crate::causes::{self, priority};
pub use crate::causes::{Edge, Graph, Node};
use crate::finding::{Context, Finding, Status};
use crate::signals;

pub const API_VERSION: &str = "triage/v1alpha1";

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Plan {
    pub api_version: &'static str,
    pub kind: &'static str,
    pub namespace: String,
    pub captured_at: Option<Timestamp>,
    pub graph: Graph,
    pub steps: Vec<PlanStep>,
}

/// What to do about a failing finding at its place in the order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Treatment {
    /// Repair the fault (the finding's fix): `triage repair` does it.
    Repair,
    /// A cause triage has no repair for: the finding's fix says what to run by hand.
    Manual,
    /// Nothing to change: check it resolved once its gates were fixed.
    Verify,
    /// A gate that could not be decided (the finding says what is missing): find out
    /// before the steps it gates, which are held back until then.
    Decide,
}

/// One failing finding at its place in the repair order, with what to do about it
/// (the writes that carry out a `Repair` are a `repair::Step`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PlanStep {
    pub number: usize,
    pub id: &'static str,
    pub action: Treatment,
    /// Steps that must come first (its gates in the graph).
    pub after: Vec<&'static str>,
    /// Steps it unblocks.
    pub unblocks: Vec<&'static str>,
    /// Why it comes where it does.
    pub reason: String,
    pub fix: Option<String>,
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
        // Declared gates follow the priority order (a unit test checks it), but object
        // relations can form a cycle (two failing pods selected by each other's
        // Services): then take the highest priority rather than loop.
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

pub fn build(context: &Context, findings: &[Finding]) -> Plan {
    let graph = causes::graph(context, findings);
    let order = order(&graph);
    let steps = order
        .iter()
        .enumerate()
        .map(|(index, &id)| {
            let gates: Vec<&Edge> = graph.edges.iter().filter(|e| e.to == id).collect();
            let gated: Vec<&Edge> = graph.edges.iter().filter(|e| e.from == id).collect();
            let node = graph.node(id);
            let action = if node.is_some_and(|n| n.status == Status::Unknown) {
                Treatment::Decide
            } else if node.is_some_and(|n| n.symptom) {
                Treatment::Verify
            } else if crate::repair::ALL.iter().any(|r| r.signal() == id) {
                Treatment::Repair
            } else {
                Treatment::Manual
            };
            let mut reason = if gates.is_empty() {
                "nothing gates it".to_string()
            } else {
                format!(
                    "after {}",
                    grouped(gates.iter().map(|e| (e.from, e.label.as_str())))
                )
            };
            if !gated.is_empty() {
                reason.push_str(&format!(
                    "; must precede {}",
                    grouped(gated.iter().map(|e| (e.to, e.label.as_str())))
                ));
            }
            if let Some(why) = rationale(id).filter(|_| gates.is_empty()) {
                reason.push_str(&format!("; {why}"));
            }
            match action {
                Treatment::Verify => reason.push_str(
                    "; resolves by itself once its gates are fixed: verify, do not patch",
                ),
                Treatment::Manual => {
                    reason.push_str("; triage has no repair for it: run the fix by hand")
                }
                Treatment::Decide => reason.push_str(&format!(
                    "; unknown: {}; decide it before the steps it gates",
                    node.map(|n| n.summary.as_str()).unwrap_or_default()
                )),
                Treatment::Repair => {}
            }
            let held = held_by(&graph, id);
            if !held.is_empty() && action != Treatment::Decide {
                reason.push_str(&format!(
                    "; held back until {} is decided (unknown, not open)",
                    held.iter()
                        .map(|h| format!("`{h}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
            let finding = findings.iter().find(|f| f.id == id);
            PlanStep {
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
        namespace: context.namespace.to_string(),
        captured_at: context.now,
        graph,
        steps,
    }
}

/// `lock, orphan-hook (blocks the reconciler advancing), schema (...)`: steps that share
/// a reason are listed together, so no phrase is repeated.
fn grouped<'a>(edges: impl Iterator<Item = (&'static str, &'a str)>) -> String {
    let mut groups: Vec<(Vec<&str>, &str)> = Vec::new();
    for (id, label) in edges {
        match groups.iter_mut().find(|(_, l)| *l == label) {
            Some((ids, _)) => ids.push(id),
            None => groups.push((vec![id], label)),
        }
    }
    groups
        .iter()
        .map(|(ids, label)| format!("{} ({label})", ids.join(", ")))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The unknown gates `id` waits for, directly or through other steps.
pub fn held_by(graph: &Graph, id: &str) -> Vec<&'static str> {
    graph
        .nodes
        .iter()
        .filter(|n| n.status == Status::Unknown && graph.descendants(n.id).contains(&id))
        .map(|n| n.id)
        .collect()
}

/// Why a signal's step goes where it does when nothing gates it: its priority (its
/// position in `signals::ALL`, "lowest" for the last) and the reason it declares
/// ([`Signal::rationale`](crate::signals::Signal::rationale)); `None` for signals
/// ordered by the causal graph alone.
fn rationale(id: &str) -> Option<String> {
    let why = signals::by_id(id)?.rationale()?;
    let position = priority(id);
    Some(if position + 1 == signals::ALL.len() {
        format!("lowest priority: {why}")
    } else {
        format!("priority {}: {why}", position + 1)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::snapshot::Snapshot;

    fn fail(id: &'static str) -> Finding {
        Finding::fail(id, format!("{id} is broken"))
    }

    fn build(namespace: &str, findings: &[Finding]) -> Plan {
        let snapshot = Snapshot::default();
        super::build(&Context::new(&snapshot, namespace), findings)
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
        let plan = build("bleater", &findings);
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
        assert_eq!(plan.steps[8].action, Treatment::Verify);
        assert!(plan.steps[0].reason.contains("must precede schema"));
    }

    #[test]
    fn gates_sharing_a_reason_say_it_once() {
        let findings = vec![
            fail("lock"),
            fail("orphan-hook"),
            Finding::new("derived-state", Status::Info, "output"),
        ];
        let plan = build("x", &findings);
        let last = plan.steps.last().unwrap();
        assert_eq!(last.id, "derived-state");
        assert!(
            last.reason
                .starts_with("after lock, orphan-hook (blocks the reconciler advancing);"),
            "{}",
            last.reason
        );
        assert_eq!(
            last.reason
                .matches("blocks the reconciler advancing")
                .count(),
            1
        );
    }

    #[test]
    fn only_failing_signals_are_nodes() {
        let findings = vec![Finding::ok("quota", "fine"), fail("schema"), fail("egress")];
        let plan = build("x", &findings);
        assert_eq!(plan.graph.nodes.len(), 2);
        assert!(plan.graph.edges.is_empty());
        let ids: Vec<&str> = plan.steps.iter().map(|s| s.id).collect();
        assert_eq!(ids, vec!["egress", "schema"]);
    }

    #[test]
    fn an_unknown_gate_is_not_open_the_gated_step_is_held_back() {
        let findings = vec![
            Finding::unknown(
                "rbac",
                "cannot tell offline whether ClusterRole `edit` grant(s) create jobs.batch",
            ),
            fail("schema"),
            fail("init-container"),
        ];
        let plan = build("x", &findings);
        let ids: Vec<(&str, Treatment)> = plan.steps.iter().map(|s| (s.id, s.action)).collect();
        assert_eq!(
            ids,
            vec![
                ("rbac", Treatment::Decide),
                ("schema", Treatment::Repair),
                ("init-container", Treatment::Verify)
            ]
        );
        assert_eq!(plan.steps[1].after, vec!["rbac"]);
        assert!(
            plan.steps[0]
                .reason
                .contains("unknown: cannot tell offline whether ClusterRole `edit`")
        );
        assert!(
            plan.steps[1]
                .reason
                .contains("held back until `rbac` is decided"),
            "{}",
            plan.steps[1].reason
        );
        // The repair plan says so and schedules nothing the gate holds.
        let snapshot = Snapshot::default();
        let context = Context::new(&snapshot, "x");
        let repairs = crate::repair::plan_repairs(
            &context,
            &findings,
            &crate::repair::RepairOptions::default(),
            &|_, _| true,
        );
        assert!(repairs.steps.is_empty(), "{:?}", repairs.steps);
        assert_eq!(repairs.manual[0].id, "rbac");
        assert_eq!(repairs.refused[0].id, "schema");
        assert!(
            repairs.refused[0]
                .reason
                .contains("gated by `rbac`, which could not be decided")
        );
    }

    #[test]
    fn look_alike_not_applicable_or_ungated_unknowns_change_nothing() {
        // Unknown rbac with nothing failing that it gates; "not applicable" schema.
        let findings = vec![
            Finding::unknown("rbac", "no profile names the migration ServiceAccount"),
            Finding::unknown("schema", "not applicable: no schema ConfigMap"),
            fail("init-container"),
            fail("egress"),
        ];
        let plan = build("x", &findings);
        let ids: Vec<&str> = plan.steps.iter().map(|s| s.id).collect();
        assert_eq!(ids, vec!["egress", "init-container"]);
        assert!(plan.steps.iter().all(|s| !s.reason.contains("held back")));
    }
}
