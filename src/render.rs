//! Renderers: view models in, text out. Nothing here decides anything; every
//! decision was made when the view model was built.

pub mod all_namespaces;
pub mod check;
pub mod db;
pub mod inventory;
pub mod junit;
pub mod plan;
pub mod repair;
pub mod sarif;
pub mod signal_docs;
pub mod traffic;

use std::sync::atomic::{AtomicBool, Ordering};

use comfy_table::{Cell, Color, ContentArrangement, Table, presets};
use serde::Serialize;

use crate::cli::OutputFormat;
use crate::error::TriageError;

/// JSON or YAML of any view model, with a trailing newline.
pub fn structured<T: Serialize>(value: &T, format: OutputFormat) -> anyhow::Result<String> {
    Ok(match format {
        OutputFormat::Json => format!("{}\n", serde_json::to_string_pretty(value)?),
        OutputFormat::Yaml => serde_saphyr::to_string(value)?,
        other => {
            return Err(TriageError::usage(
                format!("output `{}` is not structured", format_name(other)),
                None,
            )
            .into());
        }
    })
}

pub fn format_name(format: OutputFormat) -> &'static str {
    match format {
        OutputFormat::Table => "table",
        OutputFormat::Wide => "wide",
        OutputFormat::Json => "json",
        OutputFormat::Yaml => "yaml",
        OutputFormat::Mermaid => "mermaid",
        OutputFormat::Dot => "dot",
        OutputFormat::Junit => "junit",
        OutputFormat::Sarif => "sarif",
    }
}

/// Whether tables colour their status cells: set once at start-up, on only when stdout
/// is a terminal and neither `--no-color` nor `NO_COLOR` asks otherwise.
static COLOR: AtomicBool = AtomicBool::new(false);

pub fn set_color(enabled: bool) {
    COLOR.store(enabled, Ordering::Relaxed);
}

/// The colour of a cell that states a verdict, `None` for every other cell.
fn verdict_color(text: &str) -> Option<Color> {
    match text {
        "fail" | "EXHAUSTED" | "Progressing" | "Degraded" => Some(Color::Red),
        "ok" | "Healthy" => Some(Color::Green),
        "unknown" => Some(Color::Yellow),
        "info" => Some(Color::Cyan),
        _ if text.starts_with("DENY-ALL")
            || text.ends_with("(missing)")
            || text.starts_with("Init:") =>
        {
            Some(Color::Red)
        }
        _ if text.contains("CrashLoopBackOff") || text == "Error" => Some(Color::Red),
        _ => None,
    }
}

/// A borderless table aligned like `kubectl get`: upper-case headers, three spaces
/// between columns, no wrapping, no trailing spaces (stable for snapshot tests).
pub fn kubectl_table(headers: &[&str], rows: Vec<Vec<String>>) -> String {
    let mut table = Table::new();
    table
        .load_style(presets::NOTHING)
        .set_content_arrangement(ContentArrangement::Disabled)
        .set_header(headers.iter().map(|h| h.to_uppercase()));
    let color = COLOR.load(Ordering::Relaxed);
    if color {
        table.enforce_styling();
    }
    for row in rows {
        table.add_row(
            row.into_iter()
                .map(|text| match verdict_color(&text).filter(|_| color) {
                    Some(paint) => Cell::new(text).fg(paint),
                    None => Cell::new(text),
                }),
        );
    }
    for column in table.column_iter_mut() {
        column.set_padding((0, 3));
    }
    let mut text = String::new();
    for line in table.lines() {
        text.push_str(line.trim_end());
        text.push('\n');
    }
    text
}

/// `-` for an empty list, else the items joined.
pub fn list_or_dash(items: &[String], separator: &str) -> String {
    if items.is_empty() {
        "-".to_string()
    } else {
        items.join(separator)
    }
}

/// Cuts `text` to at most `max` characters, marking the cut.
pub fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut cut: String = text.chars().take(max.saturating_sub(3)).collect();
    cut.push_str("...");
    cut
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_align_like_kubectl() {
        let text = kubectl_table(
            &["name", "ready"],
            vec![
                vec!["a".into(), "1/1".into()],
                vec!["longer-name".into(), "0/1".into()],
            ],
        );
        assert_eq!(
            text,
            "NAME          READY\na             1/1\nlonger-name   0/1\n"
        );
    }

    #[test]
    fn verdicts_are_coloured_and_nothing_else() {
        assert_eq!(verdict_color("fail"), Some(Color::Red));
        assert_eq!(verdict_color("fast-ssd-tier (missing)"), Some(Color::Red));
        assert_eq!(verdict_color("ok"), Some(Color::Green));
        assert_eq!(verdict_color("bleater-quota"), None);
        assert_eq!(verdict_color("okay-service"), None);
    }

    #[test]
    fn truncation_marks_the_cut() {
        assert_eq!(truncate("abcdef", 5), "ab...");
        assert_eq!(truncate("abc", 5), "abc");
    }
}
