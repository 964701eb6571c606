//! `triage explain-traffic`: load (live or offline), explain with the pure core,
//! render. Exit 0 when allowed, 1 when denied or unknown (like `check` failing).

use super::Outcome;
use super::check::load_with_profile;
use crate::cli::{GlobalArgs, OutputFormat, ProfileArgs, SourceArgs};
use crate::error::TriageError;
use crate::k8s::netpol::Verdict;
use crate::{render, traffic};

pub fn run(
    global: &GlobalArgs,
    source: &SourceArgs,
    profile_args: &ProfileArgs,
    from: &str,
    to: &str,
) -> anyhow::Result<Outcome> {
    let (loaded, profile, _) = load_with_profile(global, source, profile_args, 0)?;
    let context = loaded.context(profile.as_ref());
    let view = traffic::explain(&context, from, to).map_err(|message| {
        TriageError::usage(
            message,
            Some("FROM: pod, deployment/NAME or k=v; TO: pod:PORT, Service[:PORT], deployment/NAME:PORT, IP:PORT[/PROTO] or dns".to_string()),
        )
    })?;
    let stdout = match global.output {
        OutputFormat::Table | OutputFormat::Wide => render::traffic::text(&view),
        other => render::structured(&view, other)?,
    };
    Ok(Outcome {
        stdout,
        exit_code: if view.verdict == Verdict::Allowed {
            crate::error::exit::OK
        } else {
            crate::error::exit::FAILING_SIGNALS
        },
    })
}
