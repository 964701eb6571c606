//! `plan` as text: numbered steps, or the graph as Mermaid or Graphviz dot.

use super::{kubectl_table, list_or_dash};
use crate::plan::{Plan, Treatment};

pub fn table(plan: &Plan) -> String {
    if plan.steps.is_empty() {
        return format!(
            "Namespace {}: no failing signal, nothing to repair\n",
            plan.namespace
        );
    }
    let mut out = format!(
        "Namespace {}: {} step(s), in dependency order\n\n",
        plan.namespace,
        plan.steps.len()
    );
    let rows = plan
        .steps
        .iter()
        .map(|step| {
            let after: Vec<String> = step.after.iter().map(|s| s.to_string()).collect();
            vec![
                step.number.to_string(),
                step.id.to_string(),
                action_name(step.action).to_string(),
                list_or_dash(&after, ","),
            ]
        })
        .collect();
    out.push_str(&kubectl_table(&["step", "signal", "action", "after"], rows));
    out.push('\n');
    for step in &plan.steps {
        out.push_str(&format!(
            "{}. {} ({}): {}\n",
            step.number,
            step.id,
            action_name(step.action),
            step.reason
        ));
        if let Some(fix) = step
            .fix
            .as_ref()
            .filter(|_| step.action != Treatment::Verify)
        {
            out.push_str(&format!("   fix: {fix}\n"));
        }
    }
    out
}

fn action_name(action: Treatment) -> &'static str {
    match action {
        Treatment::Repair => "repair",
        Treatment::Verify => "verify",
        Treatment::Manual => "manual",
        Treatment::Decide => "decide",
    }
}

/// Mermaid node ids cannot hold `-`.
fn node_id(id: &str) -> String {
    id.replace('-', "_")
}

fn step_number(plan: &Plan, id: &str) -> usize {
    plan.steps
        .iter()
        .find(|s| s.id == id)
        .map_or(0, |s| s.number)
}

pub fn mermaid(plan: &Plan) -> String {
    let mut out = String::from("flowchart TD\n");
    for node in &plan.graph.nodes {
        out.push_str(&format!(
            "  {}[\"{}. {}\"]\n",
            node_id(node.id),
            step_number(plan, node.id),
            node.id
        ));
    }
    for edge in &plan.graph.edges {
        out.push_str(&format!(
            "  {} -->|{}| {}\n",
            node_id(edge.from),
            edge.label.replace('|', "/"),
            node_id(edge.to)
        ));
    }
    out
}

pub fn dot(plan: &Plan) -> String {
    let mut out = String::from("digraph plan {\n  rankdir=TB;\n  node [shape=box];\n");
    for node in &plan.graph.nodes {
        out.push_str(&format!(
            "  \"{}\" [label=\"{}. {}\"];\n",
            node.id,
            step_number(plan, node.id),
            node.id
        ));
    }
    for edge in &plan.graph.edges {
        out.push_str(&format!(
            "  \"{}\" -> \"{}\" [label=\"{}\"];\n",
            edge.from,
            edge.to,
            edge.label.replace('"', "'")
        ));
    }
    out.push_str("}\n");
    out
}
