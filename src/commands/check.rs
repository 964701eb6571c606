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

/// How long after the first change `check --watch` waits for more before evaluating
/// again: a rollout or a repair touches several objects within a second or two.
const DEBOUNCE: std::time::Duration = std::time::Duration::from_secs(2);

/// `check --watch`: print, then on every (debounced) change in the namespace read it
/// again, evaluate and redraw, until no selected signal fails (exit 0) or the user
/// interrupts. Live only: a file does not change.
pub fn watch(
    global: &GlobalArgs,
    source: &SourceArgs,
    profile_args: &ProfileArgs,
    logs: u32,
    only: Vec<String>,
    skip: Vec<String>,
) -> anyhow::Result<Outcome> {
    use std::io::{IsTerminal, Write};
    if source.snapshot.is_some() {
        return Err(TriageError::usage(
            "check --watch needs a live cluster: a snapshot file does not change",
            Some("drop --snapshot, or run check without --watch".to_string()),
        )
        .into());
    }
    if !matches!(global.output, OutputFormat::Table | OutputFormat::Wide) {
        return Err(TriageError::usage(
            "check --watch redraws a table",
            Some("use -o table or wide with --watch".to_string()),
        )
        .into());
    }
    // Connect once for the watches; each evaluation reads the namespace afresh.
    let runtime = super::source::runtime()?;
    let cluster = runtime.block_on(crate::cluster::connect(global))?;
    let terminal = std::io::stdout().is_terminal();
    let mut changed: Option<&'static str> = None;
    loop {
        let outcome = run(
            global,
            source,
            profile_args,
            logs,
            only.clone(),
            skip.clone(),
        )?;
        let mut out = std::io::stdout().lock();
        if terminal {
            // Clear the screen and home the cursor (ECMA-48 ED 2, CUP).
            let _ = out.write_all(b"\x1b[2J\x1b[H");
        }
        if let Some(kind) = changed {
            let _ = writeln!(
                out,
                "# evaluated again after a {kind} changed ({})",
                jiff::Timestamp::now().strftime("%H:%M:%S")
            );
        }
        let _ = out.write_all(outcome.stdout.as_bytes());
        if outcome.exit_code == exit::OK {
            let _ = writeln!(out, "every signal passes");
            let _ = out.flush();
            return Ok(Outcome::ok(String::new()));
        }
        let _ = writeln!(out, "# watching for changes (^C to stop)");
        let _ = out.flush();
        drop(out);
        let namespace = global
            .namespace
            .clone()
            .unwrap_or_else(|| cluster.default_namespace.clone());
        let profile = match &profile_args.profile {
            Some(path) => Some(read_profile(path)?),
            None => Profile::builtin(&namespace),
        };
        let elsewhere: Vec<String> = profile
            .as_ref()
            .map(|p| p.extra_config_maps(&namespace))
            .unwrap_or_default()
            .into_iter()
            .map(|(ns, _)| ns)
            .collect();
        changed =
            Some(runtime.block_on(cluster.wait_for_change(&namespace, &elsewhere, DEBOUNCE))?);
    }
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
