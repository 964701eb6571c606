//! `migration-script`: make the migration script fail when the migration fails, by a
//! pure text transform of the ConfigMap key ([`fix_script`]): errexit right after the
//! shebang, no `|| exit 0`/`|| true`/`|| :` at the end of a command, and
//! `-v ON_ERROR_STOP=1` on every psql that lacks it
//! (https://www.postgresql.org/docs/current/app-psql.html). Everything else stays
//! byte for byte, the final newline too; only the keys the finding lists change.

use std::collections::BTreeMap;

use serde_json::Value;

use super::{Action, Refusal, Repair, RepairOptions, Step, Target, details_of, snapshot_value};
use crate::finding::{Context, Finding};
use crate::signals::migration_script::{Details, comment_start, psql_stops_on_error};
use crate::snapshot::{HasMeta, Kind, in_namespace};

pub struct FixMigrationScript;

const ID: &str = "migration-script";

/// What bash-like shells get.
const STRICT: &str = "set -euo pipefail";
/// What a POSIX `sh` script gets: `pipefail` is not in POSIX before 2024 and dash
/// (Debian's `/bin/sh`) refuses it, which would stop the script at its first line.
const STRICT_POSIX: &str = "set -eu";
const ON_ERROR_STOP: &str = "-v ON_ERROR_STOP=1";

impl Repair for FixMigrationScript {
    fn id(&self) -> &'static str {
        ID
    }

    fn plan(
        &self,
        context: &Context,
        finding: &Finding,
        _options: &RepairOptions,
    ) -> Result<Step, Refusal> {
        let details = details_of::<Details>(ID, finding)?;
        let problems = &details.problems;
        if problems.is_empty() {
            return Err(Refusal::new(
                ID,
                "the migration-script finding names no script",
            ));
        }
        // `configmap/key` -> keys per ConfigMap (names and keys never hold a `/`).
        let mut keys: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for entry in problems.keys() {
            let (name, key) = entry
                .split_once('/')
                .ok_or_else(|| Refusal::new(ID, format!("`{entry}` is not `configmap/key`")))?;
            keys.entry(name).or_default().push(key);
        }
        let mut step = Step::new(ID, "", finding);
        let mut fixed = Vec::new();
        for (name, keys) in keys {
            let config_map = in_namespace(&context.snapshot.config_maps, context.namespace)
                .into_iter()
                .find(|cm| cm.name() == name)
                .ok_or_else(|| {
                    Refusal::new(ID, format!("ConfigMap `{name}` is not in the snapshot"))
                })?;
            let before = snapshot_value(ID, config_map)?;
            let mut after = before.clone();
            for key in keys {
                let script = before["data"][key].as_str().ok_or_else(|| {
                    Refusal::new(ID, format!("ConfigMap `{name}` has no key `{key}`"))
                })?;
                let new = fix_script(script);
                if new == script {
                    continue;
                }
                if strictness(script) == STRICT_POSIX {
                    step.warnings.push(format!(
                        "`{name}` {key} runs under POSIX sh: it gets `{STRICT_POSIX}` (sh has no portable pipefail)"
                    ));
                }
                // What the text transform does not rewrite (`|| echo ...`, `; true`,
                // `set +e`): said before the write, left for a person.
                let left: Vec<String> = crate::signals::migration_script::analyse(&new)
                    .into_iter()
                    .map(|hit| format!("`{}` (line {})", hit.pattern, hit.line))
                    .collect();
                if !left.is_empty() {
                    step.warnings.push(format!(
                        "`{name}` {key} still needs a hand edit: {}",
                        left.join(", ")
                    ));
                }
                after["data"][key] = Value::String(new);
                fixed.push(format!("`{name}` {key}"));
            }
            if after != before {
                step.actions.push(Action::Patch {
                    target: Target::new(Kind::ConfigMap, context.namespace, name),
                    before,
                    after,
                });
            }
        }
        if step.actions.is_empty() {
            return Err(Refusal::new(
                ID,
                "the script's problems are not ones triage rewrites; edit it by hand",
            ));
        }
        step.title = format!(
            "fix {}: errexit after the shebang, drop `|| exit 0`/`|| true`, psql `{ON_ERROR_STOP}`",
            fixed.join(", ")
        );
        Ok(step)
    }
}

/// The script with failures no longer swallowed; every other byte kept.
pub fn fix_script(script: &str) -> String {
    let mut lines: Vec<Line> = script.split_inclusive('\n').map(Line::split).collect();
    drop_swallows(&mut lines);
    add_on_error_stop(&mut lines);
    ensure_errexit(&mut lines, strictness(script));
    let mut fixed = String::with_capacity(script.len() + 64);
    for line in &lines {
        fixed.push_str(&line.body);
        fixed.push_str(&line.ending);
    }
    fixed
}

/// A physical line: its text and its line ending (`\n`, `\r\n` or none).
struct Line {
    body: String,
    ending: String,
}

impl Line {
    fn split(raw: &str) -> Line {
        let body = raw.trim_end_matches(['\n', '\r']);
        Line {
            body: body.to_string(),
            ending: raw[body.len()..].to_string(),
        }
    }

    fn continues(&self) -> bool {
        code_of(&self.body).trim_end().ends_with('\\')
    }
}

/// `set -eu` for a `sh`/`dash` shebang, else `set -euo pipefail`.
fn strictness(script: &str) -> &'static str {
    let Some(shebang) = script.lines().next().and_then(|l| l.strip_prefix("#!")) else {
        return STRICT;
    };
    let mut words = shebang.split_whitespace();
    let mut interpreter = words.next().unwrap_or_default();
    if interpreter.ends_with("/env") {
        interpreter = words.find(|w| !w.starts_with('-')).unwrap_or_default();
    }
    match interpreter.rsplit('/').next() {
        Some("sh" | "dash") => STRICT_POSIX,
        _ => STRICT,
    }
}

fn code_of(line: &str) -> &str {
    &line[..comment_start(line)]
}

/// `code` without a trailing `|| exit 0`, `|| true` or `|| :` (and a `;` after it),
/// `None` when it has none.
fn without_swallow(code: &str) -> Option<&str> {
    let trimmed = code.trim_end();
    let trimmed = trimmed.strip_suffix(';').map_or(trimmed, str::trim_end);
    for token in ["exit 0", "/usr/bin/true", "/bin/true", "true", ":"] {
        let Some(rest) = trimmed.strip_suffix(token) else {
            continue;
        };
        let spaced = rest.trim_end();
        // `|| true` or `||true`, never `||mytrue` (the token must be a whole word).
        if let Some(head) = spaced.strip_suffix("||")
            && (spaced.len() < rest.len() || rest.ends_with("||"))
        {
            return Some(head.trim_end());
        }
    }
    None
}

fn drop_swallows(lines: &mut Vec<Line>) {
    // Rebuilt in one pass: removing lines in place was quadratic (tests/fuzz.rs).
    let mut kept: Vec<Line> = Vec::with_capacity(lines.len());
    for mut line in lines.drain(..) {
        let body = std::mem::take(&mut line.body);
        let split = comment_start(&body);
        let (code, comment) = body.split_at(split);
        let Some(head) = without_swallow(code) else {
            line.body = body;
            kept.push(line);
            continue;
        };
        if head.trim().is_empty()
            && comment.is_empty()
            && let Some(above) = kept.last_mut().filter(|above| above.continues())
        {
            // `cmd \` then a line holding only `|| true`: end the command above.
            let code_end = comment_start(&above.body);
            let code = above.body[..code_end].trim_end();
            above.body = code
                .strip_suffix('\\')
                .unwrap_or(code)
                .trim_end()
                .to_string();
            continue;
        }
        line.body = if comment.is_empty() {
            head.to_string()
        } else {
            format!("{head} {comment}")
        };
        kept.push(line);
    }
    *lines = kept;
}

/// Whether psql is told to stop on the first error (the signal's own test).
fn stops_on_error(text: &str) -> bool {
    psql_stops_on_error(text)
}

/// The byte ranges of the whitespace-separated words of `text`.
fn words(text: &str) -> Vec<(usize, usize)> {
    let mut spans = Vec::new();
    let mut start = None;
    for (index, c) in text.char_indices() {
        match (c.is_whitespace(), start) {
            (true, Some(s)) => {
                spans.push((s, index));
                start = None;
            }
            (false, None) => start = Some(index),
            _ => {}
        }
    }
    if let Some(s) = start {
        spans.push((s, text.len()));
    }
    spans
}

fn add_on_error_stop(lines: &mut [Line]) {
    let mut start = 0;
    while start < lines.len() {
        // One logical line: physical lines joined by trailing backslashes.
        let mut end = start;
        while end + 1 < lines.len() && lines[end].continues() {
            end += 1;
        }
        // Most lines run no psql: nothing to add, and no need to join and scan them.
        if !lines[start..=end].iter().any(|l| l.body.contains("psql")) {
            start = end + 1;
            continue;
        }
        let logical: String = lines[start..=end]
            .iter()
            .map(|l| code_of(&l.body))
            .collect::<Vec<_>>()
            .join(" ");
        if !stops_on_error(&logical) {
            for line in &mut lines[start..=end] {
                let code = code_of(&line.body).to_string();
                let psql_ends: Vec<usize> = words(&code)
                    .into_iter()
                    .filter(|(s, e)| {
                        let word = &code[*s..*e];
                        word == "psql" || word.ends_with("/psql")
                    })
                    .map(|(_, e)| e)
                    .collect();
                if psql_ends.is_empty() {
                    continue;
                }
                // One pass (an insert per psql word was quadratic, tests/fuzz.rs).
                let mut body = String::with_capacity(line.body.len() + psql_ends.len() * 20);
                let mut from = 0;
                for at in psql_ends {
                    body.push_str(&line.body[from..at]);
                    body.push(' ');
                    body.push_str(ON_ERROR_STOP);
                    from = at;
                }
                body.push_str(&line.body[from..]);
                line.body = body;
            }
        }
        start = end + 1;
    }
}

/// Whether a `set` line only toggles errexit, nounset and pipefail (so replacing it
/// with the strict line loses nothing), and whether it already is that strict.
fn simple_set(body: &str, strict: &str) -> Option<bool> {
    let code = code_of(body);
    let mut words = code.split_whitespace();
    if words.next() != Some("set") {
        return None;
    }
    let (mut e, mut u, mut pipefail) = (false, false, false);
    let mut expect_name = false;
    for word in words {
        if expect_name {
            match word {
                "errexit" => e = true,
                "nounset" => u = true,
                "pipefail" => pipefail = true,
                _ => return None,
            }
            expect_name = false;
            continue;
        }
        let flags = word.strip_prefix('-')?;
        if flags.is_empty() || !flags.chars().all(|c| matches!(c, 'e' | 'u' | 'o')) {
            return None;
        }
        e |= flags.contains('e');
        u |= flags.contains('u');
        expect_name = flags.ends_with('o');
    }
    if !e || expect_name {
        return None;
    }
    Some(e && u && (pipefail || strict == STRICT_POSIX))
}

fn ensure_errexit(lines: &mut Vec<Line>, strict: &str) {
    let shebang = lines.first().is_some_and(|l| l.body.starts_with("#!"));
    let first = usize::from(shebang);
    // Only the leading block (blank lines, comments, `set` lines) may hold the line
    // to strengthen; a `set -e` after commands comes too late for them.
    for line in lines.iter_mut().skip(first) {
        let code = code_of(&line.body).trim();
        if code.is_empty() {
            continue;
        }
        match simple_set(&line.body, strict) {
            Some(true) => return,
            Some(false) => {
                let indent_len = line.body.len() - line.body.trim_start().len();
                let comment = &line.body[comment_start(&line.body)..];
                let comment = if comment.is_empty() {
                    String::new()
                } else {
                    format!(" {comment}")
                };
                line.body = format!("{}{strict}{comment}", &line.body[..indent_len]);
                return;
            }
            None if code.split_whitespace().next() == Some("set") => continue,
            None => break,
        }
    }
    let ending = lines
        .first()
        .map(|l| l.ending.clone())
        .filter(|e| !e.is_empty())
        .unwrap_or_else(|| "\n".to_string());
    if shebang && lines[0].ending.is_empty() {
        lines[0].ending = ending.clone();
    }
    lines.insert(
        first,
        Line {
            body: strict.to_string(),
            ending,
        },
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::repair::test_support::{fixture_context, plan_for};
    use crate::signals::migration_script::analyse;

    fn script_of(step: &Step, key: &str) -> (String, String) {
        let [Action::Patch { before, after, .. }] = step.actions.as_slice() else {
            panic!("one patch expected: {:?}", step.actions);
        };
        (
            before["data"][key].as_str().unwrap().to_string(),
            after["data"][key].as_str().unwrap().to_string(),
        )
    }

    #[test]
    fn what_the_transform_does_not_rewrite_is_named_before_the_write() {
        let snapshot = crate::signals::test_support::snapshot(
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: m, namespace: app}\ndata:\n  migrate.sh: |\n    #!/bin/bash\n    set -e\n    set +e\n    migrate up || echo failed\n    psql -f v1.sql || /bin/true\n",
        );
        let context = Context::new(&snapshot, "app");
        let finding = crate::signals::by_id(ID).unwrap().evaluate(&context);
        let step = FixMigrationScript
            .plan(&context, &finding, &RepairOptions::default())
            .unwrap();
        let (_, after) = script_of(&step, "migrate.sh");
        assert!(!after.contains("/bin/true"), "{after}");
        assert_eq!(
            step.warnings,
            vec![
                "`m` migrate.sh still needs a hand edit: `set +e` (line 3), `|| echo ...` (line 4)"
            ]
        );
    }

    #[test]
    fn fixes_the_incident_script_like_the_responders_did() {
        let step = plan_for(
            &fixture_context("bleater-incident.yaml", "bleater"),
            &FixMigrationScript,
            &RepairOptions::default(),
        )
        .unwrap();
        let (before, after) = script_of(&step, "migrate.sh");
        assert_eq!(
            after,
            before
                .replacen("#!/bin/bash\n", "#!/bin/bash\nset -euo pipefail\n", 1)
                .replace("psql -h", "psql -v ON_ERROR_STOP=1 -h")
                .replace(" || exit 0", "")
        );
        // The write-up's corrected shape: strict line right after the shebang, every
        // psql stops on error, nothing swallowed; the signal is satisfied.
        assert!(after.starts_with("#!/bin/bash\nset -euo pipefail\n"));
        assert!(!after.contains("|| exit 0"));
        assert_eq!(after.matches("psql -v ON_ERROR_STOP=1 ").count(), 2);
        assert!(analyse(&after).is_empty(), "{:?}", analyse(&after));
        assert!(after.ends_with("echo \"migration complete\"\n"));
        // Only the listed key changes; the SQL files are untouched.
        let Action::Patch { before, after, .. } = &step.actions[0] else {
            unreachable!()
        };
        assert_eq!(after["data"]["v3.sql"], before["data"]["v3.sql"]);
        assert_eq!(after["metadata"], before["metadata"]);
        assert!(step.warnings.is_empty(), "{:?}", step.warnings);
    }

    #[test]
    fn fixes_the_shop_or_true_script_for_posix_sh() {
        let step = plan_for(
            &fixture_context("shop-incident.yaml", "shop"),
            &FixMigrationScript,
            &RepairOptions::default(),
        )
        .unwrap();
        let (_, after) = script_of(&step, "migrate.sh");
        assert_eq!(
            after,
            "#!/bin/sh\nset -eu\n# orders-db schema migrations, applied in lexical order by the release pipeline.\nfor f in /migrations/*.sql; do\n  echo \"applying $f\"\n  psql -v ON_ERROR_STOP=1 \"$DATABASE_URL\" -f \"$f\"\ndone\necho \"orders-db migrations done\"\n"
        );
        assert!(analyse(&after).is_empty());
        assert!(step.warnings[0].contains("POSIX sh"), "{:?}", step.warnings);
    }

    #[test]
    fn write_up_script() {
        let found = "#!/bin/bash\npsql -h $DB_HOST -U $DB_USER -d $DB_NAME -f /migrations/v3.sql || exit 0\necho \"migration complete\"\n";
        assert_eq!(
            fix_script(found),
            "#!/bin/bash\nset -euo pipefail\npsql -v ON_ERROR_STOP=1 -h $DB_HOST -U $DB_USER -d $DB_NAME -f /migrations/v3.sql\necho \"migration complete\"\n"
        );
    }

    #[test]
    fn weaker_set_lines_are_replaced_not_duplicated() {
        assert_eq!(
            fix_script("#!/bin/bash\nset -e\nmigrate up\n"),
            "#!/bin/bash\nset -euo pipefail\nmigrate up\n"
        );
        assert_eq!(
            fix_script("#!/bin/bash\n# header\nset -eu\nmigrate up\n"),
            "#!/bin/bash\n# header\nset -euo pipefail\nmigrate up\n"
        );
        assert_eq!(
            fix_script("#!/bin/bash\nset -o errexit\nmigrate up\n"),
            "#!/bin/bash\nset -euo pipefail\nmigrate up\n"
        );
        // Already strict: untouched.
        for strict in [
            "set -euo pipefail",
            "set -eu -o pipefail",
            "set -o errexit -o nounset -o pipefail",
        ] {
            let script = format!("#!/bin/bash\n{strict}\nmigrate up\n");
            assert_eq!(fix_script(&script), script);
        }
        // `set -ex` carries more than errexit: kept, the strict line goes above it.
        assert_eq!(
            fix_script("#!/bin/bash\nset -ex\nmigrate up\n"),
            "#!/bin/bash\nset -euo pipefail\nset -ex\nmigrate up\n"
        );
        // A `set -e` after the first command comes too late: the strict line goes first.
        assert_eq!(
            fix_script("#!/bin/bash\necho hi\nset -e\n"),
            "#!/bin/bash\nset -euo pipefail\necho hi\nset -e\n"
        );
    }

    #[test]
    fn shebang_is_kept_and_its_absence_puts_the_line_on_top() {
        assert_eq!(
            fix_script("migrate up\n"),
            "set -euo pipefail\nmigrate up\n"
        );
        assert_eq!(
            fix_script("#!/usr/bin/env bash\nmigrate up\n"),
            "#!/usr/bin/env bash\nset -euo pipefail\nmigrate up\n"
        );
        assert_eq!(
            fix_script("#!/usr/bin/env sh\nmigrate up\n"),
            "#!/usr/bin/env sh\nset -eu\nmigrate up\n"
        );
        assert_eq!(
            fix_script("#!/bin/bash"),
            "#!/bin/bash\nset -euo pipefail\n"
        );
        assert_eq!(fix_script(""), "set -euo pipefail\n");
    }

    #[test]
    fn swallowed_errors_go_in_every_spelling() {
        let fixed = |line: &str| fix_script(&format!("set -euo pipefail\n{line}\n"));
        assert_eq!(
            fixed("migrate up || true"),
            "set -euo pipefail\nmigrate up\n"
        );
        assert_eq!(
            fixed("migrate up ||true"),
            "set -euo pipefail\nmigrate up\n"
        );
        assert_eq!(
            fixed("migrate up   ||   exit 0  "),
            "set -euo pipefail\nmigrate up\n"
        );
        assert_eq!(
            fixed("migrate up || true;"),
            "set -euo pipefail\nmigrate up\n"
        );
        assert_eq!(fixed("migrate up || :"), "set -euo pipefail\nmigrate up\n");
        assert_eq!(
            fixed("migrate up || true # best effort"),
            "set -euo pipefail\nmigrate up # best effort\n"
        );
        // Look-alikes stay: quoted, a bare `true`, another command after `||`, `|| exit 1`.
        for keep in [
            "echo \"a || true\"",
            "true",
            "migrate up || mytrue",
            "migrate up || exit 1",
            "# x || true",
        ] {
            assert_eq!(
                fixed(keep),
                format!("set -euo pipefail\n{keep}\n"),
                "{keep}"
            );
        }
        // `|| true` alone on a continuation line: the command above just ends.
        assert_eq!(
            fixed("migrate up \\\n  || true\necho done"),
            "set -euo pipefail\nmigrate up\necho done\n"
        );
    }

    #[test]
    fn on_error_stop_goes_right_after_psql_across_continuations() {
        let script = "set -euo pipefail\npsql -h db \\\n  -f a.sql\n";
        assert_eq!(
            fix_script(script),
            "set -euo pipefail\npsql -v ON_ERROR_STOP=1 -h db \\\n  -f a.sql\n"
        );
        // Already stopping (on any line of the command, any spelling): untouched.
        for stops in [
            "psql -h db \\\n  -v ON_ERROR_STOP=1 \\\n  -f a.sql",
            "/usr/bin/psql --set=on_error_stop=on -f a.sql",
        ] {
            let script = format!("set -euo pipefail\n{stops}\n");
            assert_eq!(fix_script(&script), script);
        }
        assert_eq!(
            fix_script("set -euo pipefail\n/usr/bin/psql -f a.sql && psql -f b.sql\n"),
            "set -euo pipefail\n/usr/bin/psql -v ON_ERROR_STOP=1 -f a.sql && psql -v ON_ERROR_STOP=1 -f b.sql\n"
        );
        // psql in a comment or inside a word is not a psql invocation.
        for keep in ["# run psql -f a.sql", "echo mypsql"] {
            let script = format!("set -euo pipefail\n{keep}\n");
            assert_eq!(fix_script(&script), script);
        }
    }

    #[test]
    fn line_endings_and_missing_final_newline_are_kept() {
        assert_eq!(
            fix_script("#!/bin/bash\r\nmigrate up || true\r\n"),
            "#!/bin/bash\r\nset -euo pipefail\r\nmigrate up\r\n"
        );
        assert_eq!(
            fix_script("#!/bin/bash\nmigrate up || true"),
            "#!/bin/bash\nset -euo pipefail\nmigrate up"
        );
    }

    #[test]
    fn fixed_script_is_a_fixed_point() {
        let once = fix_script("#!/bin/bash\nset -e\npsql -f a.sql || exit 0\n");
        assert_eq!(fix_script(&once), once);
    }
}
