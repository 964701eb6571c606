//! `migration-script`: a migration script that swallows errors, so a failed migration
//! reports success: `|| exit 0`, `|| true`, `|| :`, `|| /bin/true`, `|| echo ...` without
//! an exit, or `; true` after a command; no `set -e` (or `set -eu`, `set -euo pipefail`,
//! `set -o errexit`), or a `set +e` nothing undoes; psql without `ON_ERROR_STOP` on
//! (`-v`/`--set`, any psql boolean spelling); comments ignored
//! (https://www.postgresql.org/docs/current/app-psql.html, "ON_ERROR_STOP";
//! https://www.gnu.org/software/bash/manual/html_node/The-Set-Builtin.html). The
//! script is the profile's ConfigMap, else any ConfigMap key ending `.sh` that runs
//! psql or a migrate command. Every problem points at its key, line and text.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::ConfigMap;
use serde::{Deserialize, Serialize};

use crate::finding::{Context, Evidence, Finding, ObjectRef, Status};
use crate::signals::{Gate, Signal};
use crate::snapshot::{HasMeta, Kind, in_namespace};

pub struct MigrationScript;

pub const ID: &str = "migration-script";

/// One way a script hides a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Problem {
    /// `cmd || exit 0`, `cmd || true`, `cmd || :`, `cmd || echo ...`, `cmd; true`.
    SwallowedError,
    /// No `set -e`: a failing command does not stop the script.
    NoErrexit,
    /// `set +e` (or `set +o errexit`) with no `set -e` after it.
    ErrexitDisabled,
    /// psql continues after a failing statement and exits 0.
    NoOnErrorStop,
}

/// A problem found at a line of a script.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Hit {
    pub problem: Problem,
    pub line: usize,
    pub text: String,
    /// What was found, as written (`|| true`, `; :`, `set +e`, `psql`, `no set -e`).
    pub pattern: String,
}

/// Its section of `docs/signals.md`.
const DOCS: &str = r#"
Keys on the migration script: the profile's `migration.scriptConfigMap` (its `.sh` keys),
else any ConfigMap key ending `.sh` that runs psql or migrate. Comments are ignored.
Fails on: `|| exit 0`, `|| true`, `|| :`, `|| /bin/true`, `|| echo ...` without an
`exit`, `; true` after a command; a `set +e` nothing turns back; no errexit (`set -e`,
`set -eu`, `set -euo pipefail`, `set -o errexit`, `#!/bin/bash -e` all count); psql
without `ON_ERROR_STOP` on (`-v`/`--set`, `1`/`on`/`true`/`yes`). Messages quote the
pattern found
([psql](https://www.postgresql.org/docs/current/app-psql.html),
[set](https://www.gnu.org/software/bash/manual/html_node/The-Set-Builtin.html)).
Each problem points at key, line (backslash continuations joined, numbered by their first
line) and text. No script found: `unknown` (not applicable). Look-alike: the repaired
script (`set -euo pipefail`, `-v ON_ERROR_STOP=1`) is ok.
"#;

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

    fn gates(&self) -> &'static [Gate] {
        &[Gate {
            gated: "schema",
            because: "swallows the migration's errors",
        }]
    }

    fn rationale(&self) -> Option<&'static str> {
        Some("fix the script before the migration runs again")
    }

    fn docs(&self) -> &'static str {
        DOCS
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
        let mut swallowed: Vec<String> = Vec::new();
        let mut all_hits = BTreeMap::new();
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
                        Problem::SwallowedError => format!(
                            "`{}` swallows the command's failure: the script exits 0",
                            hit.pattern
                        ),
                        Problem::NoErrexit => {
                            "no `set -e` anywhere: a failing command does not stop the script"
                                .to_string()
                        }
                        Problem::ErrexitDisabled => {
                            "`set +e` turns errexit off and nothing turns it on again".to_string()
                        }
                        Problem::NoOnErrorStop => {
                            "psql without `-v ON_ERROR_STOP=1` exits 0 after a failing statement"
                                .to_string()
                        }
                    },
                });
                problems.push(hit.problem);
                if hit.problem == Problem::SwallowedError && !swallowed.contains(&hit.pattern) {
                    swallowed.push(hit.pattern.clone());
                }
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
        let quoted = swallowed
            .iter()
            .map(|p| format!("`{p}`"))
            .collect::<Vec<_>>()
            .join("/");
        finding.status = Status::Fail;
        finding.summary = format!(
            "migration script swallows errors: {}",
            problems
                .iter()
                .map(|p| match p {
                    Problem::SwallowedError => quoted.clone(),
                    Problem::NoErrexit => "no `set -e`".to_string(),
                    Problem::ErrexitDisabled => "`set +e`".to_string(),
                    Problem::NoOnErrorStop => "psql without ON_ERROR_STOP=1".to_string(),
                })
                .collect::<Vec<_>>()
                .join(", ")
        );
        let mut steps = Vec::new();
        if problems.contains(&Problem::NoErrexit) {
            steps.push("add `set -euo pipefail` after the shebang".to_string());
        }
        if problems.contains(&Problem::ErrexitDisabled) {
            steps.push("drop the `set +e`".to_string());
        }
        if problems.contains(&Problem::SwallowedError) {
            steps.push(format!("drop the {quoted}"));
        }
        if problems.contains(&Problem::NoOnErrorStop) {
            steps.push("run psql with `-v ON_ERROR_STOP=1`".to_string());
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
        finding.set_details(Details { problems: all_hits });
        finding
    }
}

/// Every problem of one script, in line order. Comments (`#` at the start of a word,
/// outside quotes) are ignored, so `# set -e` does not count and `# || true` is no hit.
pub fn analyse(script: &str) -> Vec<Hit> {
    let mut hits = Vec::new();
    let mut errexit = false;
    // The last `set +e` not followed by a `set -e`: errexit is off from there on.
    let mut disabled: Option<(usize, String)> = None;
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
        let code = trimmed[..comment_start(trimmed)].trim();
        if code.is_empty() {
            continue;
        }
        for command in code.split(';').map(str::trim).filter(|c| !c.is_empty()) {
            let words: Vec<&str> = command.split_whitespace().collect();
            if words.first() == Some(&"set") {
                // https://www.gnu.org/software/bash/manual/html_node/The-Set-Builtin.html:
                // `-e`/`-o errexit` turn errexit on, `+e`/`+o errexit` turn it off.
                let mut previous = "";
                for word in &words[1..] {
                    let state = match (previous, *word) {
                        // `set -- -e`: the rest are positional parameters.
                        (_, "--") => break,
                        ("-o", "errexit") => Some(true),
                        ("+o", "errexit") => Some(false),
                        (_, w) if w.starts_with('-') && w.contains('e') => Some(true),
                        (_, w) if w.starts_with('+') && w.contains('e') => Some(false),
                        _ => None,
                    };
                    previous = word;
                    match state {
                        Some(true) => {
                            errexit = true;
                            disabled = None;
                        }
                        Some(false) => disabled = Some((line, trimmed.to_string())),
                        None => {}
                    }
                }
                continue;
            }
            if first_command.is_none() {
                first_command = Some((line, trimmed.to_string()));
            }
        }
        // One hit per pattern and line: a line repeating `|| true` is one problem, and
        // each hit copies the line (a 1 MB line of them made gigabytes, tests/fuzz.rs).
        let mut patterns = swallows(code);
        let mut seen = std::collections::HashSet::new();
        patterns.retain(|pattern| seen.insert(pattern.clone()));
        for pattern in patterns {
            hits.push(Hit {
                problem: Problem::SwallowedError,
                line,
                text: trimmed.to_string(),
                pattern,
            });
        }
        let words: Vec<&str> = code.split_whitespace().collect();
        let runs_psql = words.iter().any(|w| *w == "psql" || w.ends_with("/psql"));
        if runs_psql && !psql_stops_on_error(code) {
            hits.push(Hit {
                problem: Problem::NoOnErrorStop,
                line,
                text: trimmed.to_string(),
                pattern: "psql".to_string(),
            });
        }
    }
    if let Some((line, text)) = disabled
        && first_command.is_some()
    {
        hits.push(Hit {
            problem: Problem::ErrexitDisabled,
            line,
            text,
            pattern: "set +e".to_string(),
        });
    } else if !errexit && let Some((line, text)) = first_command {
        hits.push(Hit {
            problem: Problem::NoErrexit,
            line,
            text,
            pattern: "no set -e".to_string(),
        });
    }
    hits.sort_by_key(|h| (h.line, h.problem));
    hits
}

/// Whether a psql command line sets `ON_ERROR_STOP` to a true value: `-v`, `--set`,
/// `--variable`, with or without `=`, any of psql's boolean spellings
/// (https://www.postgresql.org/docs/current/app-psql.html: "on", "true", "1", "yes", case
/// insensitive, unique prefixes accepted).
pub fn psql_stops_on_error(code: &str) -> bool {
    let lower = code.to_ascii_lowercase();
    lower.match_indices("on_error_stop=").any(|(index, found)| {
        let value: String = lower[index + found.len()..]
            .trim_start_matches(['"', '\''])
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect();
        !value.is_empty()
            && (["on", "true", "yes", "1"]
                .iter()
                .any(|t| t.starts_with(value.as_str()))
                && value != "o")
    })
}

/// The byte offset where a shell comment starts (`#` at the start of a word, outside
/// quotes), or the length.
pub fn comment_start(line: &str) -> usize {
    let mut quote: Option<char> = None;
    let mut escaped = false;
    let mut previous: Option<char> = None;
    for (index, c) in line.char_indices() {
        if escaped {
            escaped = false;
        } else if quote == Some('\'') {
            if c == '\'' {
                quote = None;
            }
        } else if c == '\\' {
            escaped = true;
        } else if quote == Some('"') {
            if c == '"' {
                quote = None;
            }
        } else if c == '\'' || c == '"' {
            quote = Some(c);
        } else if c == '#' && previous.is_none_or(char::is_whitespace) {
            return index;
        }
        previous = Some(c);
    }
    line.len()
}

/// The patterns in `code` that throw a command's failure away, as written: `|| exit 0`,
/// `|| true`, `|| /bin/true`, `|| :`, `|| echo ...` without an `exit` after it, and
/// `cmd; true` (`; :`), whose status replaces the command's. A bare `true` line, and
/// `|| { echo failed; exit 1; }`, are harmless.
fn swallows(code: &str) -> Vec<String> {
    let mut found = Vec::new();
    for after in code.split("||").skip(1) {
        // Only up to the next `&&`/`|`: `a || b && c` is `(a || b) && c`.
        let after = after.split("&&").next().unwrap_or(after).trim();
        let after = after.strip_prefix('{').unwrap_or(after).trim();
        let first = after.split(';').next().unwrap_or(after).trim();
        let word = first.split_whitespace().next().unwrap_or_default();
        let exits_nonzero = after.split(';').map(str::trim).any(|c| {
            c.starts_with("exit") && c != "exit" && c != "exit 0" && !c.starts_with("exit 0 ")
        });
        let pattern = match word {
            "true" | ":" | "/bin/true" | "/usr/bin/true" => Some(format!("|| {word}")),
            // Named `|| exit 0` whatever follows it, so a line has a bounded number of
            // distinct patterns.
            "exit" if first == "exit 0" || first.starts_with("exit 0 ") => {
                Some("|| exit 0".to_string())
            }
            "exit" if first == "exit" => Some("|| exit".to_string()),
            "echo" | "printf" if !exits_nonzero => Some(format!("|| {word} ...")),
            _ => None,
        };
        found.extend(pattern);
    }
    let commands: Vec<&str> = code.split(';').map(str::trim).collect();
    for pair in commands.windows(2) {
        let before = pair[0];
        if !before.is_empty()
            && !before.starts_with("set ")
            && !before.ends_with("then")
            && !before.ends_with("do")
            && (pair[1] == "true" || pair[1] == ":")
        {
            found.push(format!("; {}", pair[1]));
        }
    }
    found
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

/// What the `migration-script` repair reads: the scripts to fix.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Details {
    /// `configmap/key` -> its problems, in line order (names and keys never hold a `/`).
    pub problems: BTreeMap<String, Vec<Hit>>,
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
                text: "migrate up --dir /m || true".into(),
                pattern: "|| true".into(),
            }]
        );
        assert!(analyse("#!/bin/bash -e\nmigrate up\n").is_empty());
        assert!(analyse("set -o errexit\nmigrate up\n").is_empty());
    }

    /// The patterns found in one script, as the hits quote them.
    fn patterns(script: &str) -> Vec<(Problem, String)> {
        analyse(script)
            .into_iter()
            .map(|h| (h.problem, h.pattern))
            .collect()
    }

    #[test]
    fn every_spelling_of_a_swallowed_failure_is_found_and_quoted() {
        let strict = "#!/bin/sh\nset -e\n";
        for (line, pattern) in [
            ("migrate up || :", "|| :"),
            ("migrate up || /bin/true", "|| /bin/true"),
            ("migrate up ||true", "|| true"),
            ("migrate up || echo \"migration failed\"", "|| echo ..."),
            ("migrate up || { echo failed; }", "|| echo ..."),
            ("migrate up; true", "; true"),
            ("migrate up ; :", "; :"),
        ] {
            assert_eq!(
                patterns(&format!("{strict}{line}\n")),
                vec![(Problem::SwallowedError, pattern.to_string())],
                "{line}"
            );
        }
        let finding = evaluate(
            &MigrationScript,
            &config_map("#!/bin/bash\nset -e\nmigrate up || /bin/true\n"),
            "app",
        );
        assert_eq!(finding.status, Status::Fail);
        assert_eq!(
            finding.summary,
            "migration script swallows errors: `|| /bin/true`"
        );
        assert!(finding.fix.unwrap().contains("drop the `|| /bin/true`"));
    }

    #[test]
    fn set_plus_e_without_set_minus_e_after_it_fails() {
        assert_eq!(
            patterns("#!/bin/bash\nset -euo pipefail\nset +e\nmigrate up\n"),
            vec![(Problem::ErrexitDisabled, "set +e".to_string())]
        );
        assert_eq!(
            patterns("#!/bin/bash\nset -e\nset +o errexit\nmigrate up\n"),
            vec![(Problem::ErrexitDisabled, "set +e".to_string())]
        );
        // Turned off for one command and on again: fine.
        assert!(
            analyse("#!/bin/bash\nset -e\nset +e\nrm -f /tmp/x\nset -e\nmigrate up\n").is_empty()
        );
    }

    #[test]
    fn look_alike_safe_spellings_stay_green() {
        for script in [
            "#!/bin/sh\nset -o errexit\nmigrate up\n",
            "#!/bin/sh\nset -eu\nmigrate up\n",
            "#!/bin/bash\nset -Eeuo pipefail\nmigrate up\n",
            "#!/bin/bash\nset -e\npsql --set ON_ERROR_STOP=on -f v1.sql\n",
            "#!/bin/bash\nset -e\npsql -v ON_ERROR_STOP=on -f v1.sql\n",
            "#!/bin/bash\nset -e\npsql --set=ON_ERROR_STOP=true -f v1.sql\n",
            "#!/bin/bash\nset -e\npsql -v 'ON_ERROR_STOP=1' -f v1.sql\n",
            // A handled failure: report it and exit non-zero.
            "#!/bin/bash\nset -e\nmigrate up || { echo failed >&2; exit 1; }\n",
            "#!/bin/bash\nset -e\nmigrate up || echo failed; exit 1\n",
            // Comments never count.
            "#!/bin/bash\nset -e\n# migrate up || true was the old way\nmigrate up # not || true\n",
            // Loops and conditions are not `; true`.
            "#!/bin/bash\nset -e\nwhile true; do migrate up && break; done\n",
        ] {
            assert!(
                analyse(script).is_empty(),
                "{script}: {:?}",
                analyse(script)
            );
        }
        // psql told to go on after errors, or errexit only in a comment, still fail.
        assert_eq!(
            patterns("#!/bin/bash\nset -e\npsql -v ON_ERROR_STOP=off -f v1.sql\n"),
            vec![(Problem::NoOnErrorStop, "psql".to_string())]
        );
        assert_eq!(
            patterns("#!/bin/bash\n# set -e\nmigrate up\n"),
            vec![(Problem::NoErrexit, "no set -e".to_string())]
        );
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
