//! `schema`: record the schema the database really has. The executor reads the
//! tables from PostgreSQL (`pg_tables`); only if every table the required migration
//! creates is there does it write `version` and `tables-vN` (the observed list) into
//! the schema ConfigMap. Never from the migration's stated intent.

use super::{Action, Refusal, Repair, RepairOptions, Step, Target, details_of};
use crate::finding::{Context, Finding};
use crate::profile::Schema;
use crate::signals::schema::Details;
use crate::snapshot::{HasMeta, Kind, in_namespace};

pub struct WriteSchemaFromDatabase;

const ID: &str = "schema";

impl Repair for WriteSchemaFromDatabase {
    fn id(&self) -> &'static str {
        ID
    }

    fn plan(
        &self,
        context: &Context,
        finding: &Finding,
        _options: &RepairOptions,
    ) -> Result<Step, Refusal> {
        let schema = schema_config(context)
            .ok_or_else(|| Refusal::new(ID, "no profile names the schema ConfigMap"))?;
        let required = details_of::<Details>(ID, finding)?.required;
        let expected = required_migration_tables(context, finding)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                Refusal::new(
                    ID,
                    format!("cannot tell which tables v{required}.sql creates"),
                )
            })?;
        let config_map = in_namespace(&context.snapshot.config_maps, context.namespace)
            .into_iter()
            .find(|cm| cm.name() == schema.config_map)
            .ok_or_else(|| {
                Refusal::new(
                    ID,
                    format!(
                        "schema ConfigMap `{}` is not in the namespace",
                        schema.config_map
                    ),
                )
            })?;
        let tables_key = format!("{}{required}", schema.tables_key_prefix);
        let mut step = Step::new(
            ID,
            format!(
                "write `{}` {}={required} and `{tables_key}` from the tables the database shows (needs {})",
                schema.config_map,
                schema.version_key,
                expected.join(", ")
            ),
            finding,
        );
        step.actions.push(Action::WriteSchema {
            target: Target::new(Kind::ConfigMap, context.namespace, &schema.config_map),
            before: serde_json::to_value(config_map)
                .map_err(|e| Refusal::new(ID, e.to_string()))?,
            version_key: schema.version_key.clone(),
            version: required.to_string(),
            tables_key,
            expected,
        });
        Ok(step)
    }
}

pub fn schema_config<'a>(context: &Context<'a>) -> Option<&'a Schema> {
    context.profile.and_then(|p| p.schema.as_ref())
}

/// The tables `vN.sql` (N = the required version) creates, from the migration script
/// ConfigMap, sorted. `None` when that file is not there.
pub fn required_migration_tables(context: &Context, finding: &Finding) -> Option<Vec<String>> {
    let required = finding.typed_details::<Details>().ok()?.required;
    let script = context
        .profile?
        .migration
        .as_ref()?
        .script_config_map
        .clone()?;
    let config_map = in_namespace(&context.snapshot.config_maps, context.namespace)
        .into_iter()
        .find(|cm| cm.name() == script)?;
    let sql = config_map.data.as_ref()?.get(&format!("v{required}.sql"))?;
    Some(created_tables(sql))
}

/// Table names a SQL file creates (`CREATE TABLE [IF NOT EXISTS] [schema.]name`),
/// lower-cased and sorted; quoted names keep their case.
pub fn created_tables(sql: &str) -> Vec<String> {
    let mut tables = Vec::new();
    let words: Vec<&str> = sql
        .split(|c: char| c.is_whitespace() || c == '(' || c == ';')
        .filter(|w| !w.is_empty())
        .collect();
    let mut index = 0;
    while index + 2 < words.len() {
        if words[index].eq_ignore_ascii_case("create")
            && words[index + 1].eq_ignore_ascii_case("table")
        {
            let mut at = index + 2;
            if words.get(at).is_some_and(|w| w.eq_ignore_ascii_case("if"))
                && words
                    .get(at + 1)
                    .is_some_and(|w| w.eq_ignore_ascii_case("not"))
                && words
                    .get(at + 2)
                    .is_some_and(|w| w.eq_ignore_ascii_case("exists"))
            {
                at += 3;
            }
            if let Some(name) = words.get(at) {
                let name = name.rsplit('.').next().unwrap_or(name);
                let name = if name.starts_with('"') {
                    name.trim_matches('"').to_string()
                } else {
                    name.to_lowercase()
                };
                if !name.is_empty() {
                    tables.push(name);
                }
            }
            index = at;
        }
        index += 1;
    }
    tables.sort();
    tables.dedup();
    tables
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::repair::test_support::{fixture_context, plan_for};

    #[test]
    fn created_tables_reads_create_table_statements() {
        let sql = "BEGIN;\nCREATE TABLE reactions (id bigserial PRIMARY KEY);\ncreate table if not exists public.bleat_media(\n id int);\nCREATE INDEX reactions_idx ON reactions (id);\nCREATE TABLE \"Mixed\" (x int);\nCOMMIT;\n";
        assert_eq!(
            created_tables(sql),
            vec!["Mixed", "bleat_media", "reactions"]
        );
    }

    #[test]
    fn writes_the_observed_tables_only_if_v3_tables_exist() {
        let step = plan_for(
            &fixture_context("bleater-incident.yaml", "bleater"),
            &WriteSchemaFromDatabase,
            &RepairOptions::default(),
        )
        .unwrap();
        let [
            Action::WriteSchema {
                target,
                version_key,
                version,
                tables_key,
                expected,
                before,
            },
        ] = step.actions.as_slice()
        else {
            panic!("{:?}", step.actions)
        };
        assert_eq!(target.name, "bleat-db-schema");
        assert_eq!(
            (version_key.as_str(), version.as_str(), tables_key.as_str()),
            ("version", "3", "tables-v3")
        );
        assert_eq!(
            expected,
            &vec!["bleat_media".to_string(), "reactions".to_string()]
        );
        assert_eq!(before["data"]["version"], "2");
    }

    #[test]
    fn incident_plan_runs_migrate_then_schema_after_the_script_fix() {
        let context = fixture_context("bleater-incident.yaml", "bleater");
        let findings: Vec<_> = crate::signals::ALL
            .iter()
            .map(|s| s.evaluate(&context))
            .collect();
        let plan =
            crate::repair::plan_repairs(&context, &findings, &RepairOptions::default(), &|_, _| {
                true
            });
        let ids: Vec<&str> = plan.steps.iter().map(|s| s.id).collect();
        assert_eq!(
            ids,
            vec![
                "quota",
                "rbac",
                "pvc",
                "egress",
                "lock",
                "orphan-hook",
                "migration-script",
                "migrate",
                "schema"
            ]
        );
        // `rollout` (bleat-service past its progress deadline, growth-experiments-api
        // refused by the quota) is a symptom of the init container and the quota: it is
        // verified after them, neither planned nor listed as manual work.
        assert!(plan.manual.is_empty(), "{:?}", plan.manual);
    }
}
