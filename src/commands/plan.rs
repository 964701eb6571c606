//! `triage plan`: the repair order implied by the failing signals' dependency graph.

use super::Outcome;
use super::check::load_with_profile;
use crate::check::Selection;
use crate::cli::{GlobalArgs, OutputFormat, ProfileArgs, SourceArgs};
use crate::error::TriageError;
use crate::{check, plan, render};

pub fn run(
    global: &GlobalArgs,
    source: &SourceArgs,
    profile_args: &ProfileArgs,
) -> anyhow::Result<Outcome> {
    if matches!(global.output, OutputFormat::Junit | OutputFormat::Sarif) {
        return Err(TriageError::usage(
            format!(
                "plan has no `{}` output",
                render::format_name(global.output)
            ),
            Some(
                "use -o table, json, yaml, mermaid or dot (`triage check` writes junit and sarif)"
                    .to_string(),
            ),
        )
        .into());
    }
    let (loaded, profile, profile_name) = load_with_profile(global, source, profile_args, 0)?;
    let context = loaded.context(profile.as_ref());
    let selected = Selection::default().signals()?;
    let findings = check::build(&context, &selected, profile_name).findings;
    let view = plan::build(&context, &findings);
    let stdout = match global.output {
        OutputFormat::Table | OutputFormat::Wide => render::plan::table(&view),
        OutputFormat::Mermaid => render::plan::mermaid(&view),
        OutputFormat::Dot => render::plan::dot(&view),
        other => render::structured(&view, other)?,
    };
    Ok(Outcome::ok(stdout))
}
