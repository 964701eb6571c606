//! `triage explain-traffic` as text: per pair, each side (isolated or not, by which
//! policies, which rule allows it), the verdict, then the suggested allow policies.

use std::fmt::Write;

use crate::k8s::netpol::Verdict;
use crate::traffic::{Explanation, Side};

fn word(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::Allowed => "allowed",
        Verdict::Unknown => "unknown",
        Verdict::Denied => "denied",
    }
}

fn side(name: &str, side: &Side) -> String {
    if !side.isolated {
        return format!("  {name}: not isolated (no policy selects the pod for {name}): allowed");
    }
    let by = match &side.allowed_by {
        Some(rule) => format!("allowed by rule {rule}"),
        None if side.verdict == Verdict::Unknown => {
            "a named port decides and the pod's ports are unknown".to_string()
        }
        None => "no rule allows it: denied".to_string(),
    };
    let plugin = if side.plugin_dependent {
        " (through ipBlock 0.0.0.0/0: depends on the network plugin)"
    } else {
        ""
    };
    format!(
        "  {name}: isolated by {}; {by}{plugin}",
        side.isolating
            .iter()
            .map(|p| format!("networkpolicy/{p}"))
            .collect::<Vec<_>>()
            .join(", ")
    )
}

pub fn text(view: &Explanation) -> String {
    let mut out = String::new();
    for pair in &view.pairs {
        let _ = writeln!(
            out,
            "{}/{} -> {} {}/{}: {}",
            view.namespace,
            pair.from,
            pair.to,
            pair.protocol,
            pair.port,
            word(pair.verdict)
        );
        let _ = writeln!(out, "{}", side("egress", &pair.egress));
        match &pair.ingress {
            Some(ingress) => {
                let _ = writeln!(out, "{}", side("ingress", ingress));
            }
            None => {
                let _ = writeln!(
                    out,
                    "  ingress: not evaluated (the destination is not a pod triage knows)"
                );
            }
        }
    }
    let _ = writeln!(
        out,
        "verdict: {} ({} -> {})",
        word(view.verdict),
        view.from,
        view.to
    );
    for note in &view.notes {
        let _ = writeln!(out, "note: {note}");
    }
    for (what, gap) in &view.object_gaps {
        let why = match gap {
            crate::snapshot::Gap::Forbidden(message) => format!("forbidden: {message}"),
            crate::snapshot::Gap::Failed(message) => message.clone(),
        };
        let _ = writeln!(out, "gap: {what} could not be read ({why})");
    }
    if !view.suggestions.is_empty() {
        let _ = writeln!(
            out,
            "\nsmallest allow policy (not applied; review, then `kubectl apply -f -`):"
        );
        for policy in &view.suggestions {
            let _ = writeln!(out, "---");
            out.push_str(&serde_saphyr::to_string(policy).unwrap_or_default());
        }
    }
    out
}
