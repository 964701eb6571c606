//! `migration-script`: a migration script that swallows errors, so a failed migration
//! reports success: `|| exit 0` or `|| true` after a command, no `set -e` (or
//! `set -euo pipefail`, `set -o errexit`), psql without `ON_ERROR_STOP=1`
//! (https://www.postgresql.org/docs/current/app-psql.html, "ON_ERROR_STOP";
//! https://www.gnu.org/software/bash/manual/html_node/The-Set-Builtin.html). The
//! script is the profile's ConfigMap, else any ConfigMap key ending `.sh` that runs
//! psql or a migrate command. Every problem points at its key, line and text.

use k8s_openapi::api::core::v1::ConfigMap;
use serde::Serialize;

use crate::finding::{Context, Evidence, Finding, ObjectRef, Status};
use crate::signals::Signal;
use crate::snapshot::{HasMeta, Kind, in_namespace};

pub struct MigrationScript;

pub const ID: &str = "migration-script";

/// One way a script hides a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Problem {
    /// `cmd || exit 0`, `cmd || true`, `cmd || :`.
    SwallowedError,
    /// No `set -e`: a failing command does not stop the script.
    NoErrexit,
    /// psql continues after a failing statement and exits 0.
    NoOnErrorStop,
}

/// A problem found at a line of a script.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Hit {
    pub problem: Problem,
    pub line: usize,
    pub text: String,
}

impl Signal for MigrationScript {
    fn id(&self) -> &'static str {
        ID
    }

    fn title(&self) -> &'static str {
        "migration script fails on errors"
    }

    fn reads(&self) -> &'static [Kind] {
        &[Kind::ConfigMap]
    }

    fn evaluate(&self, context: &Context) -> Finding {
        let config_maps = in_namespace(&context.snapshot.config_maps, context.namespace);
        let named = context
            .profile
            .and_then(|p| p.migration.as_ref())
            .and_then(|m| m.script_config_map.as_deref());
        let scripts: Vec<(&ConfigMap, &String, &String)> = config_maps
            .iter()
            .filter(|cm| named.is_none_or(|n| cm.name() == n))
            .flat_map(|cm| cm.data.iter().flatten().map(move |(k, v)| (*cm, k, v)))
            .filter(|(_, key, text)| {
                let shell = key.ends_with(".sh");
                let runs_migration = text.contains("psql") || text.contains("migrate");
                if named.is_some() {
                    shell || (runs_migration && !key.ends_with(".sql"))
                } else {
                    shell && runs_migration
                }
            })
            .collect();
        if scripts.is_empty() {
            return Finding::unknown(
                ID,
                match named {
                    Some(name) => format!("not applicable: ConfigMap `{name}` holds no script"),
                    None => "not applicable: no ConfigMap key ending .sh runs psql or a migration"
                        .to_string(),
                },
            );
        }
        let mut finding = Finding::ok(ID, "");
        let mut problems = Vec::new();
        let mut all_hits = std::collections::BTreeMap::new();
        for (cm, key, text) in &scripts {
            let hits = analyse(text);
            if hits.is_empty() {
                continue;
            }
            let object = ObjectRef::of(Kind::ConfigMap, *cm);
            finding.add_object(object.clone());
            for hit in &hits {
                finding.evidence.push(Evidence::Line {
                    object: object.clone(),
                    key: (*key).clone(),
                    line: hit.line,
                    text: hit.text.clone(),
                    note: match hit.problem {
                        Problem::SwallowedError => {
                            "swallows the command's failure: the script exits 0"
                        }
                        Problem::NoErrexit => {
                            "no `set -e` anywhere: a failing command does not stop the script"
                        }
                        Problem::NoOnErrorStop => {
                            "psql without `-v ON_ERROR_STOP=1` exits 0 after a failing statement"
                        }
                    }
                    .to_string(),
                });
                problems.push(hit.problem);
            }
            all_hits.insert(format!("{}/{key}", cm.name()), hits);
        }
        let keys: Vec<String> = scripts
            .iter()
            .map(|(cm, key, _)| format!("`{}` {key}", cm.name()))
            .collect();
        if problems.is_empty() {
            finding.summary = format!(
                "{} fails on errors (set -e, no swallowed exits)",
                keys.join(", ")
            );
            return finding;
        }
        problems.sort();
        problems.dedup();
        finding.status = Status::Fail;
        finding.summary = format!(
            "migration script swallows errors: {}",
            problems
                .iter()
                .map(|p| match p {
                    Problem::SwallowedError => "`|| exit 0`/`|| true`",
                    Problem::NoErrexit => "no `set -e`",
                    Problem::NoOnErrorStop => "psql without ON_ERROR_STOP=1",
                })
                .collect::<Vec<_>>()
                .join(", ")
        );
        let mut steps = Vec::new();
        if problems.contains(&Problem::NoErrexit) {
            steps.push("add `set -euo pipefail` after the shebang");
        }
        if problems.contains(&Problem::SwallowedError) {
            steps.push("drop the `|| exit 0`/`|| true`");
        }
        if problems.contains(&Problem::NoOnErrorStop) {
            steps.push("run psql with `-v ON_ERROR_STOP=1`");
        }
        finding.fix = Some(format!(
            "edit {}: {}",
            finding
                .objects
                .iter()
                .map(|o| format!("`{}`", o.name))
                .collect::<Vec<_>>()
                .join(", "),
            steps.join(", ")
        ));
        finding.detail("problems", &all_hits);
        finding
    }
}

/// Every problem of one script, in line order.
pub fn analyse(script: &str) -> Vec<Hit> {
    let mut hits = Vec::new();
    let mut errexit = false;
    let mut first_command: Option<(usize, String)> = None;
    for (line, text) in logical_lines(script) {
        let trimmed = text.trim();
        if line == 1 && trimmed.starts_with("#!") {
            errexit |= trimmed
                .split_whitespace()
                .skip(1)
                .any(|w| w.starts_with('-') && !w.starts_with("--") && w.contains('e'));
            continue;
        }
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let words: Vec<&str> = trimmed.split_whitespace().collect();
        if words.first() == Some(&"set") {
            errexit |= words.iter().skip(1).any(|w| {
                (w.starts_with('-') && !w.starts_with("--") && w.contains('e')) || *w == "errexit"
            });
            continue;
        }
        if first_command.is_none() {
            first_command = Some((line, trimmed.to_string()));
        }
        if swallows(trimmed) {
            hits.push(Hit {
                problem: Problem::SwallowedError,
                line,
                text: trimmed.to_string(),
            });
        }
        let runs_psql = words.iter().any(|w| *w == "psql" || w.ends_with("/psql"));
        let stops = trimmed.contains("ON_ERROR_STOP=1")
            || trimmed.to_ascii_lowercase().contains("on_error_stop=on")
            || trimmed.to_ascii_lowercase().contains("on_error_stop=true");
        if runs_psql && !stops {
            hits.push(Hit {
                problem: Problem::NoOnErrorStop,
                line,
                text: trimmed.to_string(),
            });
        }
    }
    if !errexit && let Some((line, text)) = first_command {
        hits.push(Hit {
            problem: Problem::NoErrexit,
            line,
            text,
        });
    }
    hits.sort_by_key(|h| (h.line, h.problem));
    hits
}

/// `cmd || exit 0`, `cmd || true`, `cmd || :` (a bare `true` line is harmless).
fn swallows(line: &str) -> bool {
    line.split("||").skip(1).any(|after| {
        let after = after.trim().trim_end_matches(';').trim();
        after == "true"
            || after == ":"
            || after == "exit 0"
            || after.starts_with("exit 0 ")
            || after.starts_with("true ")
    })
}

/// Lines with backslash continuations joined, numbered by their first physical line.
fn logical_lines(script: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for (index, raw) in script.lines().enumerate() {
        let (start, mut text) = current.take().unwrap_or((index + 1, String::new()));
        if !text.is_empty() {
            text.push(' ');
        }
        match raw.trim_end().strip_suffix('\\') {
            Some(head) => {
                text.push_str(head.trim());
                current = Some((start, text));
            }
            None => {
                text.push_str(raw.trim());
                out.push((start, text));
            }
        }
    }
    out.extend(current);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signals::test_support::evaluate;

    fn config_map(script: &str) -> String {
        let body: String = script.lines().map(|l| format!("    {l}\n")).collect();
        format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: migrations, namespace: app}}\ndata:\n  v3.sql: 'create table t3 (id int);'\n  migrate.sh: |\n{body}"
        )
    }

    const BROKEN: &str = "#!/bin/bash\npsql -h $DB_HOST -U $DB_USER -d $DB_NAME -f /migrations/v3.sql || exit 0\necho \"migration complete\"\n";
    const FIXED: &str = "#!/bin/bash\nset -euo pipefail\npsql -h $DB_HOST -U $DB_USER -d $DB_NAME \\\n  -v ON_ERROR_STOP=1 \\\n  -f /migrations/v3.sql\necho \"migration complete\"\n";

    #[test]
    fn swallowing_script_points_at_the_line() {
        let finding = evaluate(&MigrationScript, &config_map(BROKEN), "app");
        assert_eq!(finding.status, Status::Fail);
        let lines: Vec<(usize, String)> = finding
            .evidence
            .iter()
            .filter_map(|e| match e {
                Evidence::Line {
                    key, line, note, ..
                } => Some((*line, format!("{key} {note}"))),
                _ => None,
            })
            .collect();
        assert_eq!(lines.len(), 3, "{lines:?}");
        assert!(
            lines
                .iter()
                .all(|(line, text)| *line == 2 && text.starts_with("migrate.sh"))
        );
        assert!(finding.fix.unwrap().contains("set -euo pipefail"));
    }

    #[test]
    fn look_alike_fixed_script_is_ok() {
        let finding = evaluate(&MigrationScript, &config_map(FIXED), "app");
        assert_eq!(finding.status, Status::Ok, "{finding:?}");
    }

    #[test]
    fn or_true_and_continuations() {
        let hits = analyse("#!/bin/sh\nset -e\nmigrate up \\\n  --dir /m || true\ntrue\n");
        assert_eq!(
            hits,
            vec![Hit {
                problem: Problem::SwallowedError,
                line: 3,
                text: "migrate up --dir /m || true".into()
            }]
        );
        assert!(analyse("#!/bin/bash -e\nmigrate up\n").is_empty());
        assert!(analyse("set -o errexit\nmigrate up\n").is_empty());
    }

    #[test]
    fn no_script_is_not_applicable() {
        let text = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: app}\ndata: {run.sh: 'echo hi'}\n";
        assert_eq!(
            evaluate(&MigrationScript, text, "app").status,
            Status::Unknown
        );
    }
}
