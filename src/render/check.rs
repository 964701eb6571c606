//! `check` as text: one row per signal, then each failing signal's evidence in full,
//! then the per-app view ("why is fanout Progressing?").

use super::{kubectl_table, list_or_dash, truncate};
use crate::check::Check;
use crate::finding::{Evidence, Finding, Status};

/// Cell widths in `table` output (never cut in `wide`).
const EVIDENCE_WIDTH: usize = 70;
const FIX_WIDTH: usize = 90;
const OBJECTS_SHOWN: usize = 2;
/// Log lines are cut here in `table` output (never in `wide`).
const LOG_LINE_WIDTH: usize = 160;
/// A value, note or message of one piece of evidence is cut here in `table` output
/// (never in `wide`): a container may leave a 4 KiB termination message. Findings keep
/// the full text, so `-o json|yaml` and `wide` show it whole.
const EVIDENCE_TEXT_WIDTH: usize = 500;

pub fn table(check: &Check, wide: bool) -> String {
    let mut out = format!(
        "Namespace {}{}{}: {} failing, {} ok, {} unknown, {} info\n\n",
        check.namespace,
        check
            .captured_at
            .map(|at| format!(", captured {at}"))
            .unwrap_or_default(),
        check
            .profile
            .as_ref()
            .map_or_else(|| ", no profile".to_string(), |p| format!(", profile {p}")),
        check.summary.fail,
        check.summary.ok,
        check.summary.unknown,
        check.summary.info,
    );
    let cut = |text: String, width: usize| if wide { text } else { truncate(&text, width) };
    let rows = check
        .findings
        .iter()
        .map(|f| {
            vec![
                f.id.to_string(),
                f.status.name().to_string(),
                objects(f, wide),
                cut(evidence_cell(f), EVIDENCE_WIDTH),
                cut(f.fix.clone().unwrap_or_else(|| "-".to_string()), FIX_WIDTH),
            ]
        })
        .collect();
    out.push_str(&kubectl_table(
        &["signal", "status", "objects", "evidence", "fix"],
        rows,
    ));

    for finding in check.findings.iter().filter(|f| f.status == Status::Fail) {
        out.push_str(&format!("\n{} (fail): {}\n", finding.id, finding.summary));
        for evidence in &finding.evidence {
            let line = if wide {
                evidence.short()
            } else {
                cut_evidence(evidence, EVIDENCE_TEXT_WIDTH).short()
            };
            out.push_str(&format!("  - {line}\n"));
            if let Evidence::Log { lines, .. } = evidence {
                for line in lines {
                    out.push_str(&format!(
                        "      | {}\n",
                        cut(printable(line), LOG_LINE_WIDTH)
                    ));
                }
            }
        }
        if let Some(fix) = &finding.fix {
            out.push_str(&format!("  fix: {fix}\n"));
        }
    }

    if let Some(note) = &check.logs_note {
        out.push_str(&format!("\nNote: {note}.\n"));
    }

    if check.graph.edges.iter().any(|e| !e.via.is_empty()) || check.causes.len() > 1 {
        out.push_str(&causes(check));
    }

    if let Some(note) = &check.apps_note {
        out.push_str(&format!("\nAPPS\n{note}\n"));
    }
    if !check.apps.is_empty() {
        out.push_str("\nAPPS\n");
        let rows = check
            .apps
            .iter()
            .map(|app| {
                vec![
                    app.app.clone(),
                    app.current.clone().unwrap_or_else(|| "-".to_string()),
                    app.expected.clone(),
                    list_or_dash(&app.gated_by, ", "),
                ]
            })
            .collect();
        out.push_str(&kubectl_table(
            &["app", "status now", "signals imply", "gated by"],
            rows,
        ));
    }
    out
}

fn objects(finding: &Finding, wide: bool) -> String {
    let names: Vec<String> = finding.objects.iter().map(|o| o.short()).collect();
    if wide || names.len() <= OBJECTS_SHOWN {
        return list_or_dash(&names, ",");
    }
    format!(
        "{} (+{})",
        names[..OBJECTS_SHOWN].join(","),
        names.len() - OBJECTS_SHOWN
    )
}

/// `evidence` with its free-text parts cut to `width` characters each.
fn cut_evidence(evidence: &Evidence, width: usize) -> Evidence {
    let mut evidence = evidence.clone();
    match &mut evidence {
        Evidence::Field { value, note, .. } => {
            *value = truncate(value, width);
            if let Some(note) = note {
                *note = truncate(note, width);
            }
        }
        Evidence::Event { message, .. } => *message = truncate(message, width),
        Evidence::Line { text, note, .. } => {
            *text = truncate(text, width);
            *note = truncate(note, width);
        }
        Evidence::Log { .. } | Evidence::LogGap { .. } => {}
    }
    evidence
}

/// Failing: the first evidence and how many more; otherwise the summary (for unknown,
/// the reason).
fn evidence_cell(finding: &Finding) -> String {
    match (finding.status, finding.evidence.first()) {
        (Status::Fail, Some(first)) if finding.evidence.len() > 1 => {
            format!("{} (+{} more)", first.short(), finding.evidence.len() - 1)
        }
        (Status::Fail, Some(first)) => first.short(),
        _ => finding.summary.clone(),
    }
}

/// Root causes with the symptoms that follow from them, and why each link holds.
fn causes(check: &Check) -> String {
    let symptoms = check.graph.nodes.iter().filter(|n| n.symptom).count();
    let mut out = format!(
        "\nCAUSES: {} cause(s), {} symptom(s)\n",
        check.causes.len(),
        symptoms
    );
    for group in &check.causes {
        if group.symptoms.is_empty() {
            out.push_str(&format!("  {}\n", group.cause));
        } else {
            out.push_str(&format!(
                "  {} -> {}\n",
                group.cause,
                group.symptoms.join(", ")
            ));
        }
    }
    for edge in check.graph.edges.iter().filter(|e| !e.via.is_empty()) {
        out.push_str(&format!("  {} -> {}: {}\n", edge.from, edge.to, edge.label));
    }
    out
}

/// A log line safe to print on a terminal: control characters (escape sequences a
/// crashing program may write) become U+FFFD; tabs stay.
fn printable(line: &str) -> String {
    line.chars()
        .map(|c| {
            if c.is_control() && c != '\t' {
                '\u{fffd}'
            } else {
                c
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::ObjectRef;
    use crate::snapshot::Kind;

    #[test]
    fn table_cuts_long_evidence_text_that_the_finding_keeps() {
        let pod = ObjectRef::new(Kind::Pod, "ns", "p");
        let message = "m".repeat(600);
        let field = Evidence::field_note(&pod, "status.message", message.clone(), "n".repeat(10));
        let cut = cut_evidence(&field, EVIDENCE_TEXT_WIDTH);
        let Evidence::Field { value, note, .. } = &cut else {
            panic!("{cut:?}")
        };
        assert_eq!(value.chars().count(), EVIDENCE_TEXT_WIDTH);
        assert!(value.ends_with("..."), "{value}");
        assert_eq!(note.as_deref(), Some("nnnnnnnnnn"));
        // The original is untouched.
        assert!(matches!(&field, Evidence::Field { value, .. } if *value == message));
    }

    #[test]
    fn log_lines_cannot_drive_the_terminal() {
        assert_eq!(
            printable("\u{1b}[31mred\tx\r"),
            "\u{fffd}[31mred\tx\u{fffd}"
        );
    }
}
