//! `migrate` (first step for `schema`): run the migration as a Job under the migration
//! ServiceAccount, from the profile's pod template or, without one, the pod spec of a
//! suspended migration hook found in the namespace, under a fresh name. The executor
//! waits for it; a failed or late Job stops the cascade. Skipped when the database
//! already holds the tables the required migration creates.

use serde_json::{Value, json};

use super::schema::{required_migration_tables, schema_config};
use super::{Action, Refusal, Repair, RepairOptions, Step, Target, details_of};
use crate::finding::{Context, Finding};
use crate::signals::schema::Details;
use crate::snapshot::{HasMeta, Kind, in_namespace};

pub struct RunMigration;

const ID: &str = "migrate";

impl Repair for RunMigration {
    fn id(&self) -> &'static str {
        ID
    }

    fn signal(&self) -> &'static str {
        "schema"
    }

    fn plan(
        &self,
        context: &Context,
        finding: &Finding,
        options: &RepairOptions,
    ) -> Result<Step, Refusal> {
        // The schema finding's version decides which tables mean "already migrated".
        details_of::<Details>(ID, finding)?;
        let migration = context.profile.and_then(|p| p.migration.as_ref());
        let script_config_map = migration.and_then(|m| m.script_config_map.clone());
        let (pod_spec, source) = repair_pod_spec(context)
                .ok_or_else(|| Refusal::new(ID, "no migration Job template: the profile has no `migration.jobTemplate` and no Job in the namespace mounts the migration script"))?;
        serde_json::from_value::<k8s_openapi::api::core::v1::PodSpec>(pod_spec.clone()).map_err(
            |e| {
                Refusal::new(
                    ID,
                    format!("the migration pod template is not a valid PodSpec: {e}"),
                )
            },
        )?;
        let prefix = migration
            .and_then(|m| m.job_name.clone())
            .or_else(|| script_config_map.map(|cm| format!("{cm}-migrate")))
            .unwrap_or_else(|| "triage-migrate".to_string());
        let stamp = options
            .now
            .map(|now| now.strftime("%Y%m%d%H%M%S").to_string())
            .unwrap_or_else(|| "now".to_string());
        let name = format!("{prefix}-{stamp}");
        let labels = json!({"app.kubernetes.io/managed-by": "triage", "triage.dev/step": ID});
        let job = json!({
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {"name": name, "namespace": context.namespace, "labels": labels},
            "spec": {
                // One attempt: a failing migration must stop the cascade, not retry blind.
                "backoffLimit": 0,
                "template": {"metadata": {"labels": labels}, "spec": pod_spec},
            }
        });
        let timeout_seconds = migration.map_or(300, |m| m.job_timeout_seconds);
        let mut step = Step::new(
            ID,
            format!(
                "run the migration as Job `{name}` from {source} and wait up to {timeout_seconds}s"
            ),
            finding,
        );
        step.actions.push(Action::RunJob {
            target: Target::new(Kind::Job, context.namespace, &name),
            object: job,
            timeout_seconds,
            unless_tables: required_migration_tables(context, finding).unwrap_or_default(),
            after_jobs: running_migrations(context),
        });
        if schema_config(context).is_none() {
            step.warnings.push(
                "no schema ConfigMap in the profile: the next step cannot record the result".into(),
            );
        }
        Ok(step)
    }
}

/// The migration Jobs an earlier run of this step created (its label) that have not
/// finished: a run cut off while it waited leaves its Job running.
fn running_migrations(context: &Context) -> Vec<String> {
    in_namespace(&context.snapshot.jobs, context.namespace)
        .into_iter()
        .filter(|job| {
            job.meta()
                .labels
                .as_ref()
                .and_then(|labels| labels.get("triage.dev/step"))
                .is_some_and(|step| step == ID)
        })
        .filter(|job| job.meta().deletion_timestamp.is_none())
        .filter(|job| {
            // NB: a finished Job has its Complete or Failed condition True
            // (https://kubernetes.io/docs/concepts/workloads/controllers/job/#terminal-job-conditions).
            !job.status
                .as_ref()
                .and_then(|status| status.conditions.as_ref())
                .is_some_and(|conditions| {
                    conditions.iter().any(|c| {
                        (c.type_ == "Complete" || c.type_ == "Failed") && c.status == "True"
                    })
                })
        })
        .map(|job| job.name().to_string())
        .collect()
}

/// The pod spec of a Job that mounts the migration script ConfigMap (a suspended
/// PreSync hook usually), as a template for a fresh Job.
/// The pod spec the migration Job will run, and where it comes from: the profile's
/// `migration.jobTemplate`, else the pod spec of a Job that mounts the script. The
/// quota signal reads it too, to count what the repair's pod requests.
pub fn repair_pod_spec(context: &Context) -> Option<(Value, String)> {
    let migration = context.profile.and_then(|p| p.migration.as_ref());
    match migration.and_then(|m| m.job_template.clone()) {
        Some(template) => Some((template, "the profile's job template".to_string())),
        None => hook_pod_spec(
            context,
            migration.and_then(|m| m.script_config_map.as_deref()),
        ),
    }
}

fn hook_pod_spec(context: &Context, script_config_map: Option<&str>) -> Option<(Value, String)> {
    let script = script_config_map?;
    in_namespace(&context.snapshot.jobs, context.namespace)
        .into_iter()
        .find_map(|job| {
            let spec = job.spec.as_ref()?.template.spec.as_ref()?;
            let mounts_script = spec
                .volumes
                .iter()
                .flatten()
                .any(|v| v.config_map.as_ref().is_some_and(|cm| cm.name == script));
            mounts_script.then(|| {
                (
                    serde_json::to_value(spec).unwrap_or_default(),
                    format!("the pod spec of Job `{}`", job.name()),
                )
            })
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::repair::test_support::fixture_context;
    use crate::signals;

    fn plan(context: &Context) -> Result<Step, Refusal> {
        let finding = signals::by_id("schema").unwrap().evaluate(context);
        let options = RepairOptions {
            now: Some("2024-11-19T04:30:00Z".parse().unwrap()),
            ..RepairOptions::default()
        };
        RunMigration.plan(context, &finding, &options)
    }

    #[test]
    fn runs_the_profile_template_under_a_fresh_name_once() {
        let step = plan(&fixture_context("bleater-incident.yaml", "bleater")).unwrap();
        let [
            Action::RunJob {
                target,
                object,
                timeout_seconds,
                unless_tables,
                after_jobs,
            },
        ] = step.actions.as_slice()
        else {
            panic!("{:?}", step.actions)
        };
        assert_eq!(target.name, "bleat-schema-migrate-20241119043000");
        assert_eq!(object["spec"]["backoffLimit"], 0);
        assert_eq!(
            object["spec"]["template"]["spec"]["serviceAccountName"],
            "migration-runner"
        );
        assert_eq!(*timeout_seconds, 300);
        assert_eq!(
            unless_tables,
            &vec!["bleat_media".to_string(), "reactions".to_string()]
        );
        // The fixture's Jobs are the responders', none of this step's.
        assert!(after_jobs.is_empty(), "{after_jobs:?}");
    }

    /// A Job this step started in an earlier run, cut off while it waited: still
    /// running, so this run waits for it; a finished one, or a responder's Job, not.
    #[test]
    fn an_earlier_runs_unfinished_migration_job_is_waited_for() {
        use crate::repair::test_support::{context_of, fixture_snapshot};
        let mut snapshot = fixture_snapshot("bleater-incident.yaml");
        let job = |name: &str, step: &str, finished: Option<&str>| {
            let conditions: Vec<Value> = finished
                .map(|kind| json!({"type": kind, "status": "True"}))
                .into_iter()
                .collect();
            serde_json::from_value::<k8s_openapi::api::batch::v1::Job>(json!({
                "metadata": {"name": name, "namespace": "bleater",
                             "labels": {"triage.dev/step": step}},
                "status": {"conditions": conditions}
            }))
            .unwrap()
        };
        snapshot.jobs.extend([
            job("bleat-schema-migrate-20241119042900", "migrate", None),
            job(
                "bleat-schema-migrate-20241119042800",
                "migrate",
                Some("Failed"),
            ),
            job(
                "bleat-schema-migrate-20241119042700",
                "migrate",
                Some("Complete"),
            ),
            job("someone-elses", "other", None),
        ]);
        let step = plan(&context_of(snapshot, "bleater")).unwrap();
        let [Action::RunJob { after_jobs, .. }] = step.actions.as_slice() else {
            panic!("{:?}", step.actions)
        };
        assert_eq!(after_jobs, &["bleat-schema-migrate-20241119042900"]);
    }

    #[test]
    fn without_a_template_the_hook_spec_is_reused() {
        let context = fixture_context("bleater-incident.yaml", "bleater");
        let mut profile = context.profile.unwrap().clone();
        profile.migration.as_mut().unwrap().job_template = None;
        let profile: &'static _ = Box::leak(Box::new(profile));
        let context = context.with_profile(Some(profile));
        match plan(&context) {
            Ok(step) => assert!(step.title.contains("the pod spec of Job"), "{}", step.title),
            Err(refusal) => assert!(
                refusal.reason.contains("no migration Job template"),
                "{}",
                refusal.reason
            ),
        }
    }
}
