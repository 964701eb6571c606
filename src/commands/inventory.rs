//! `triage inventory`: the get-everything pass.

use super::Outcome;
use super::source::{LiveExtras, load_with};
use crate::cli::{GlobalArgs, OutputFormat, SourceArgs};
use crate::error::TriageError;
use crate::{inventory, render};

pub fn run(global: &GlobalArgs, source: &SourceArgs, logs: u32) -> anyhow::Result<Outcome> {
    if matches!(
        global.output,
        OutputFormat::Mermaid | OutputFormat::Dot | OutputFormat::Junit | OutputFormat::Sarif
    ) {
        return Err(TriageError::usage(
            format!(
                "inventory has no `{}` output",
                render::format_name(global.output)
            ),
            Some("use -o table, wide, json or yaml".to_string()),
        )
        .into());
    }
    let loaded = load_with(global, source, &|_| LiveExtras {
        logs,
        ..LiveExtras::default()
    })?;
    let view = inventory::build(
        &loaded.snapshot,
        &loaded.namespace,
        loaded.now,
        Some(loaded.source),
    );
    let stdout = match global.output {
        OutputFormat::Table => render::inventory::table(&view, false),
        OutputFormat::Wide => render::inventory::table(&view, true),
        format => render::structured(&view, format)?,
    };
    Ok(Outcome::ok(stdout))
}
