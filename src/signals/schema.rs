//! `schema`: the declared schema version is below the required one, or the tables key
//! for the required version is missing. The declaration is the profile's schema
//! ConfigMap, else a ConfigMap whose name contains `schema` with a `version` key. The
//! required version is the profile's, else the highest `vN.sql` among the ConfigMap
//! keys of the namespace (the migration files). Nothing to compare: unknown.

use k8s_openapi::api::core::v1::ConfigMap;
use serde::{Deserialize, Serialize};

use crate::finding::{Context, Evidence, Finding, ObjectRef, Status};
use crate::signals::{Chain, ChainState, Gate, Signal};
use crate::snapshot::{HasMeta, Kind, in_namespace};

pub struct SchemaVersion;

pub const ID: &str = "schema";

/// Its section of `docs/signals.md`.
const DOCS: &str = r#"
Keys on the schema ConfigMap (profile `schema.configMap`, else a ConfigMap whose name
contains `schema` with a `version` key): fails when the declared version is below the
required one or the tables key for the required version (`tables-v3`) is missing. The
required version is the profile's, else the highest `vN.sql` (or Flyway
`V5__name.sql`) key among the migration files. No schema ConfigMap or no required version: `unknown` (not applicable).
Look-alike: version 3 with `tables-v3` is ok. Fix: run the migration, then write the
tables key from the live database, not from the script's intent.
"#;

impl Signal for SchemaVersion {
    fn id(&self) -> &'static str {
        ID
    }

    fn title(&self) -> &'static str {
        "declared schema version is current"
    }

    fn reads(&self) -> &'static [Kind] {
        &[Kind::ConfigMap]
    }

    fn chain(&self) -> Option<Chain> {
        Some(Chain {
            state: ChainState::Progressing,
            position: 3,
        })
    }

    fn gates(&self) -> &'static [Gate] {
        &[
            Gate {
                gated: "init-container",
                because: "the init container verifies the schema",
            },
            Gate {
                gated: "derived-state",
                because: "the reconciler waits for the schema version",
            },
        ]
    }

    fn rationale(&self) -> Option<&'static str> {
        Some("the migration runs once its gates are clear")
    }

    fn docs(&self) -> &'static str {
        DOCS
    }

    fn evaluate(&self, context: &Context) -> Finding {
        let config_maps = in_namespace(&context.snapshot.config_maps, context.namespace);
        let schema = context.profile.and_then(|p| p.schema.as_ref());
        let (version_key, prefix) = schema.map_or(("version", "tables-v"), |s| {
            (s.version_key.as_str(), s.tables_key_prefix.as_str())
        });
        let data = |cm: &ConfigMap, key: &str| cm.data.as_ref().and_then(|d| d.get(key)).cloned();
        let declaration = match schema {
            Some(s) => config_maps.iter().find(|cm| cm.name() == s.config_map),
            None => config_maps
                .iter()
                .find(|cm| cm.name().contains("schema") && data(cm, version_key).is_some()),
        };
        let Some(declaration) = declaration else {
            return Finding::unknown(
                ID,
                match schema {
                    Some(s) => format!("schema ConfigMap `{}` not found", s.config_map),
                    None => "not applicable: no profile and no ConfigMap named *schema* with a `version` key".to_string(),
                },
            );
        };
        let object = ObjectRef::of(Kind::ConfigMap, *declaration);
        let declared_text = data(declaration, version_key).unwrap_or_default();
        let declared = parse_version(&declared_text);

        let migration_cm = context
            .profile
            .and_then(|p| p.migration.as_ref())
            .and_then(|m| m.script_config_map.as_deref());
        let (required, source) = match schema.and_then(|s| s.required_version) {
            Some(version) => (Some(version), "the profile".to_string()),
            None => {
                let highest = config_maps
                    .iter()
                    .filter(|cm| migration_cm.is_none_or(|n| cm.name() == n))
                    .flat_map(|cm| cm.data.iter().flatten().map(move |(k, _)| (cm.name(), k)))
                    .filter_map(|(cm, key)| Some((sql_version(key)?, cm, key.clone())))
                    .max();
                match highest {
                    Some((version, cm, key)) => (Some(version), format!("`{key}` in `{cm}`")),
                    None => (None, String::new()),
                }
            }
        };
        let Some(required) = required else {
            return Finding::unknown(
                ID,
                format!(
                    "declared version {declared_text}, but no required version: no profile and no vN.sql migration file"
                ),
            );
        };
        let Some(declared) = declared else {
            let mut finding = Finding::unknown(
                ID,
                format!(
                    "`{}` {version_key} `{declared_text}` is not a version number",
                    declaration.name()
                ),
            );
            finding.add_object(object);
            return finding;
        };
        let tables_key = format!("{prefix}{required}");
        let tables_present = data(declaration, &tables_key).is_some();
        let mut finding = Finding::ok(ID, "");
        if declared >= required && tables_present {
            finding.summary = format!(
                "`{}` declares version {declared} with `{tables_key}`",
                declaration.name()
            );
            return finding;
        }
        finding.status = Status::Fail;
        finding.add_object(object.clone());
        finding.evidence.push(Evidence::field_note(
            &object,
            format!("data.{version_key}"),
            declared_text.clone(),
            format!("required {required} (from {source})"),
        ));
        let mut present: Vec<String> = declaration
            .data
            .iter()
            .flatten()
            .map(|(k, _)| k.clone())
            .filter(|k| k.starts_with(prefix))
            .collect();
        present.sort();
        if !tables_present {
            finding.evidence.push(Evidence::field_note(
                &object,
                format!("data.{tables_key}"),
                "<absent>",
                format!(
                    "present: {}",
                    if present.is_empty() {
                        "none".to_string()
                    } else {
                        present.join(", ")
                    }
                ),
            ));
        }
        let mut problems = Vec::new();
        if declared < required {
            problems.push(format!("declares version {declared}, required {required}"));
        }
        if !tables_present {
            problems.push(format!("no `{tables_key}`"));
        }
        finding.summary = format!("`{}` {}", declaration.name(), problems.join(", "));
        finding.fix = Some(format!(
            "once the migration can run, apply v{required}, then write `{tables_key}` from the live database (pg_tables), not from the script, and set {version_key}={required}"
        ));
        finding.set_details(Details {
            declared,
            required,
            tables_key,
        });
        finding
    }
}

/// `3`, `v3`, `"3"` -> 3.
fn parse_version(text: &str) -> Option<u32> {
    text.trim()
        .trim_matches('"')
        .trim_start_matches(['v', 'V'])
        .parse()
        .ok()
}

/// `v3.sql`, `v3_name.sql` and Flyway's versioned migrations `V5__add_table.sql`
/// (https://documentation.red-gate.com/fd/migrations-184127470.html: prefix `V`, version,
/// `__`, description) -> the version. Not `003_v3.sql`, not Flyway's repeatable `R__`.
fn sql_version(key: &str) -> Option<u32> {
    let stem = key.strip_suffix(".sql")?;
    let stem = stem.strip_prefix('v').or_else(|| stem.strip_prefix('V'))?;
    let digits: String = stem.chars().take_while(char::is_ascii_digit).collect();
    let rest = &stem[digits.len()..];
    (rest.is_empty() || rest.starts_with(['_', '-'])).then_some(())?;
    digits.parse().ok()
}

/// What the `migrate` and `schema` repairs read: the version to reach and where its
/// tables are recorded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Details {
    /// The version the schema ConfigMap declares.
    pub declared: u32,
    /// The version the profile or the newest `vN.sql` requires.
    pub required: u32,
    /// The key that lists the required version's tables (`tables-v4`).
    pub tables_key: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signals::test_support::{evaluate, evaluate_with};

    fn objects(schema_data: &str) -> String {
        format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: db-schema, namespace: app}}\ndata: {schema_data}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {{name: migrations, namespace: app}}\ndata: {{migrate.sh: 'psql', v1.sql: a, v2.sql: b, v3.sql: c}}\n"
        )
    }

    #[test]
    fn version_behind_and_missing_tables_key_fails() {
        let finding = evaluate(
            &SchemaVersion,
            &objects("{version: \"2\", tables-v1: a, tables-v2: b}"),
            "app",
        );
        assert_eq!(finding.status, Status::Fail);
        assert_eq!(finding.details["required"], 3);
        assert!(
            finding.summary.contains("declares version 2, required 3"),
            "{}",
            finding.summary
        );
        assert!(finding.summary.contains("no `tables-v3`"));
        assert!(
            finding
                .evidence
                .iter()
                .any(|e| e.short().contains("v3.sql"))
        );
    }

    #[test]
    fn look_alike_current_schema_is_ok() {
        let finding = evaluate(
            &SchemaVersion,
            &objects("{version: \"3\", tables-v3: 'a,b'}"),
            "app",
        );
        assert_eq!(finding.status, Status::Ok, "{finding:?}");
    }

    #[test]
    fn without_a_schema_config_map_it_is_not_applicable() {
        let text = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings, namespace: app}\ndata: {version: \"2\"}\n";
        assert_eq!(
            evaluate(&SchemaVersion, text, "app").status,
            Status::Unknown
        );
    }

    #[test]
    fn profile_required_version_wins() {
        let profile = "apiVersion: triage/v1alpha1\nkind: Profile\nschema: {configMap: db-schema, requiredVersion: 4}\n";
        let finding = evaluate_with(
            &SchemaVersion,
            &objects("{version: \"3\", tables-v3: a}"),
            "app",
            profile,
        );
        assert_eq!(finding.status, Status::Fail);
        assert_eq!(finding.details["tablesKey"], "tables-v4");
    }

    #[test]
    fn sql_versions() {
        assert_eq!(sql_version("v3.sql"), Some(3));
        assert_eq!(sql_version("v12_add_index.sql"), Some(12));
        assert_eq!(sql_version("vacuum.sql"), None);
        assert_eq!(sql_version("v3.sh"), None);
        assert_eq!(sql_version("V5__add_table.sql"), Some(5));
        assert_eq!(sql_version("R__refresh_views.sql"), None);
    }
}
