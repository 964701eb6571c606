//! `triage snapshot`: a live namespace written as a `kind: List` that `--snapshot`
//! reads back. Secrets are never listed; last-applied annotations are redacted. The
//! failing containers' last log lines (and why some could not be read) are extra
//! `kind: ContainerLog` items (docs/output.md).

use serde_json::{Value, json};

use super::Outcome;
use super::source::{LiveExtras, load_live_with, runtime};
use crate::cli::{GlobalArgs, OutputFormat};
use crate::error::TriageError;
use crate::snapshot::parse::LAST_APPLIED;

pub const REDACTED: &str = "<redacted by triage>";

pub fn run(global: &GlobalArgs, logs: u32) -> anyhow::Result<Outcome> {
    let format = match global.output {
        OutputFormat::Table | OutputFormat::Yaml => OutputFormat::Yaml,
        OutputFormat::Json => OutputFormat::Json,
        other => {
            return Err(TriageError::usage(
                format!(
                    "snapshot has no `{}` output",
                    crate::render::format_name(other)
                ),
                Some("use -o yaml (the default) or -o json".to_string()),
            )
            .into());
        }
    };
    let extras = |_: &str| LiveExtras {
        logs,
        ..LiveExtras::default()
    };
    let (loaded, _cluster) = runtime()?.block_on(load_live_with(global, &extras))?;
    let mut items = loaded.snapshot.to_json_items();
    items.iter_mut().for_each(redact);
    let list = json!({ "apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": ""}, "items": items });
    Ok(Outcome::ok(crate::render::structured(&list, format)?))
}

/// Replaces kubectl's last-applied copy, which can hold values the object no longer
/// shows, with a marker.
pub fn redact(object: &mut Value) {
    if let Some(annotation) = object
        .pointer_mut("/metadata/annotations")
        .and_then(Value::as_object_mut)
        .and_then(|annotations| annotations.get_mut(LAST_APPLIED))
    {
        *annotation = Value::String(REDACTED.to_string());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_last_applied_only() {
        let mut object =
            json!({"metadata": {"annotations": {LAST_APPLIED: "{\"secret\":1}", "keep": "me"}}});
        redact(&mut object);
        assert_eq!(object["metadata"]["annotations"][LAST_APPLIED], REDACTED);
        assert_eq!(object["metadata"]["annotations"]["keep"], "me");
    }
}
