//! `triage check`: run the signals, print the findings and the per-app view, exit 1
//! when any signal fails. Also the profile loading `plan` shares.

use std::path::Path;

use anyhow::Context as _;

use super::Outcome;
use super::source::{LiveExtras, Loaded, load_with};
use crate::check::{self, Selection};
use crate::cli::{GlobalArgs, OutputFormat, ProfileArgs, SourceArgs};
use crate::error::{TriageError, exit};
use crate::profile::Profile;
use crate::render;

/// Largest profile file read; a profile is a few dozen lines.
const MAX_PROFILE_BYTES: u64 = 1024 * 1024;

pub fn run(
    global: &GlobalArgs,
    source: &SourceArgs,
    profile_args: &ProfileArgs,
    logs: u32,
    only: Vec<String>,
    skip: Vec<String>,
) -> anyhow::Result<Outcome> {
    let format = global.output;
    if matches!(format, OutputFormat::Mermaid | OutputFormat::Dot) {
        return Err(TriageError::usage(
            format!("check has no `{}` output", render::format_name(format)),
            Some(
                "use -o table, wide, json, yaml, junit or sarif (`triage plan` draws graphs)"
                    .to_string(),
            ),
        )
        .into());
    }
    let selected = Selection { only, skip }.signals()?;
    let (loaded, profile, profile_name) = load_with_profile(global, source, profile_args, logs)?;
    let context = loaded.context(profile.as_ref());
    let view = check::build(&context, &selected, profile_name);
    let stdout = match format {
        OutputFormat::Table => render::check::table(&view, false),
        OutputFormat::Wide => render::check::table(&view, true),
        OutputFormat::Junit => render::junit::render(&view),
        OutputFormat::Sarif => render::sarif::render(&view)?,
        other => render::structured(&view, other)?,
    };
    Ok(Outcome {
        stdout,
        exit_code: if view.failing() {
            exit::FAILING_SIGNALS
        } else {
            exit::OK
        },
    })
}

/// The snapshot and the profile: `--profile FILE`, else the built-in one for the
/// namespace. The profile's related ConfigMaps in other namespaces load live with it,
/// and the last `logs` lines of failing containers' logs (0: none).
pub fn load_with_profile(
    global: &GlobalArgs,
    source: &SourceArgs,
    profile_args: &ProfileArgs,
    logs: u32,
) -> anyhow::Result<(Loaded, Option<Profile>, Option<String>)> {
    let from_file = match &profile_args.profile {
        Some(path) => Some((read_profile(path)?, path.display().to_string())),
        None => None,
    };
    let extras = |namespace: &str| {
        let profile = from_file
            .as_ref()
            .map(|(p, _)| p.clone())
            .or_else(|| Profile::builtin(namespace));
        LiveExtras {
            config_maps: profile
                .as_ref()
                .map(|p| p.extra_config_maps(namespace))
                .unwrap_or_default(),
            access: profile.as_ref().and_then(Profile::access_requests),
            dns: profile
                .as_ref()
                .and_then(|p| p.dns.as_ref())
                .map(|d| (d.namespace.clone(), d.service.clone())),
            logs,
        }
    };
    let loaded = load_with(global, source, &extras)?;
    let (profile, name) = match from_file {
        Some((profile, path)) => (Some(profile), Some(path)),
        None => match Profile::builtin(&loaded.namespace) {
            Some(profile) => (
                Some(profile),
                Some(format!("built-in {}", loaded.namespace)),
            ),
            None => (None, None),
        },
    };
    Ok((loaded, profile, name))
}

pub fn read_profile(path: &Path) -> anyhow::Result<Profile> {
    use std::io::Read;
    let origin = path.display().to_string();
    let file = std::fs::File::open(path).map_err(|err| {
        TriageError::input(
            format!("cannot read profile `{origin}`: {err}"),
            Some("check the path".to_string()),
        )
    })?;
    let mut text = String::new();
    file.take(MAX_PROFILE_BYTES)
        .read_to_string(&mut text)
        .map_err(|err| TriageError::input(format!("cannot read profile `{origin}`: {err}"), None))
        .context("reading the profile")?;
    Ok(Profile::parse(&text, &origin)?)
}
