//! `triage repair`: plan the repairs of the failing signals in cascade order and hand
//! each step to the executor; verify each against a fresh read; show check before and
//! after. Progress is printed as it happens (a person is watching).

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::time::Duration;

use k8s_openapi::api::core::v1::ConfigMap;

use super::Outcome;
use super::check::read_profile;
use super::db::resolve_access;
use super::source::{LiveExtras, load_live_with};
use crate::backup::{RunDir, runs_root};
use crate::check::Selection;
use crate::cli::{GlobalArgs, RepairArgs};
use crate::cluster::Cluster;
use crate::error::{TriageError, exit};
use crate::executor::{Actor, Mode, Ran, Reread, Verdict, run_steps};
use crate::finding::{Context, Finding, Status};
use crate::green;
use crate::profile::{Profile, StatusConfigMap};
use crate::recovery::{self, Prefer, Recovered};
use crate::render::repair::plan_summary;
use crate::repair::{RepairOptions, Step, plan_repairs, replan_step};
use crate::snapshot::Snapshot;
use crate::terminal::{self, Confirm};
use crate::{k8s::rbac::AccessAnswers, signals};

pub fn run(global: &GlobalArgs, args: &RepairArgs) -> anyhow::Result<Outcome> {
    let selection = Selection {
        only: args.only.clone(),
        skip: args.skip.clone(),
    };
    selection.validate_steps()?;
    if let Some(path) = &args.snapshot {
        if !args.dry_run {
            return Err(TriageError::usage(
                "repair --snapshot only previews: a file cannot be repaired",
                Some("add --dry-run for an offline preview, or repair the live namespace without --snapshot".to_string()),
            )
            .into());
        }
        return offline_preview(global, args, &selection, path);
    }
    // Refuse before any request when a prompt would be needed and cannot be shown.
    let confirm = if args.dry_run {
        None
    } else {
        Some(terminal::confirmer(args.yes)?)
    };
    let file_profile = match &args.profile.profile {
        Some(path) => Some(read_profile(path)?),
        None => None,
    };
    let runtime = super::source::runtime()?;
    let code = runtime.block_on(repair(global, args, &selection, file_profile, confirm))?;
    Ok(Outcome {
        stdout: String::new(),
        exit_code: code,
    })
}

/// `repair --dry-run --snapshot FILE`: every step's preview (diffs, deletes, refusals)
/// rendered from the file, with no server to check permissions or dry-run the writes.
fn offline_preview(
    global: &GlobalArgs,
    args: &RepairArgs,
    selection: &Selection,
    path: &std::path::Path,
) -> anyhow::Result<Outcome> {
    let source = crate::cli::SourceArgs {
        snapshot: Some(path.to_path_buf()),
        now: None,
    };
    let loaded = super::source::load_with(global, &source, &|_| LiveExtras::default())?;
    let profile = match &args.profile.profile {
        Some(path) => Some(read_profile(path)?),
        None => Profile::builtin(&loaded.namespace),
    };
    let context = loaded.context(profile.as_ref());
    let findings: Vec<Finding> = signals::ALL.iter().map(|s| s.evaluate(&context)).collect();
    let options = RepairOptions {
        // The snapshot's capture time, so the preview is the same on every run.
        now: loaded.now,
        reason: args.reason.clone(),
        quota_overrides: args.set.iter().cloned().collect::<BTreeMap<_, _>>(),
        storage_class: args.storage_class.clone(),
    };
    let selected = |signal: &str, step: &str| selection.keeps(signal, step);
    let plan = plan_repairs(&context, &findings, &options, &selected);
    let mut out = format!(
        "Repairing namespace `{}` from snapshot `{}` [offline preview: not checked by a server]\n",
        loaded.namespace,
        path.display()
    );
    out.push_str(&plan_summary(&plan));
    let total = plan.steps.len();
    for (index, step) in plan.steps.iter().enumerate() {
        out.push_str(&crate::render::repair::step_preview(step, index + 1, total));
    }
    out.push_str(
        "\noffline preview: not checked by a server (no permission checks, no server-side dry run); nothing was changed\n",
    );
    Ok(Outcome::ok(out))
}

/// The exit code once a repair ran: 1 while a signal that needs a change still fails
/// afterwards (a step refused or left manual, the schema steps not run without a
/// database), else 0. Only the signals `--only`/`--skip` selected count. Verify-only signals (`init-container`, `derived-state`) are not
/// counted: they recover by themselves, on the kubelet's back-off, after their gates.
/// Exit 1 when a selected signal that needs a change still fails after the run: a
/// symptom (it recovers by itself once its causes are fixed, e.g. init-container, a
/// rollout stalled by a pod that now starts) does not count, its causes do.
fn exit_after(context: &Context, after: &[Finding], selected: &dyn Fn(&str, &str) -> bool) -> u8 {
    let graph = crate::causes::graph(context, after);
    let symptom = |id: &str| graph.node(id).is_some_and(|n| n.symptom);
    if after
        .iter()
        .any(|f| f.failing() && selected(f.id, f.id) && !symptom(f.id))
    {
        exit::FAILING_SIGNALS
    } else {
        exit::OK
    }
}

/// What one read of the cluster gives the pure core.
struct Observed {
    snapshot: Snapshot,
    access: Option<AccessAnswers>,
}

impl Observed {
    fn context<'a>(&'a self, namespace: &'a str, profile: Option<&'a Profile>) -> Context<'a> {
        let mut context = Context::new(&self.snapshot, namespace).with_profile(profile);
        context.access = self.access.as_ref();
        context
    }

    fn findings(&self, namespace: &str, profile: Option<&Profile>) -> Vec<Finding> {
        let context = self.context(namespace, profile);
        signals::ALL.iter().map(|s| s.evaluate(&context)).collect()
    }
}

async fn observe(
    cluster: &Cluster,
    namespace: &str,
    extras: &LiveExtras,
) -> Result<Observed, TriageError> {
    let snapshot = cluster.load(namespace, &extras.config_maps).await?;
    let access = match &extras.access {
        Some((account, requests)) => {
            cluster
                .service_account_access(namespace, account, requests)
                .await
        }
        None => None,
    };
    Ok(Observed { snapshot, access })
}

/// `repair`'s answer to "read again": the namespace's signals on a fresh read. A step
/// is re-planned by its id (`schema` is not `migrate`, though both repair `schema`)
/// and verified by its own signal's finding.
struct NamespaceReread<'a> {
    cluster: &'a Cluster,
    namespace: &'a str,
    extras: &'a LiveExtras,
    profile: Option<&'a Profile>,
    options: &'a RepairOptions,
    /// Kinds the plan was made without (e.g. forbidden): not the verify read's fault.
    gaps_when_planned: &'a BTreeMap<crate::snapshot::Kind, crate::snapshot::Gap>,
    /// The complete read that verified the last step, until a re-plan (whose step
    /// writes next) makes it stale. The executor verifies every step it applies, last
    /// thing, so after a completed run this is the namespace as the run left it: the
    /// before/after table is judged on it instead of a second read of everything.
    last_verified: Option<Observed>,
}

impl Reread for NamespaceReread<'_> {
    async fn replan(&mut self, step: &Step) -> Result<Option<Step>, TriageError> {
        self.last_verified = None;
        let observed = observe(self.cluster, self.namespace, self.extras).await?;
        let findings = observed.findings(self.namespace, self.profile);
        let context = observed.context(self.namespace, self.profile);
        Ok(replan_step(&context, &findings, self.options, step))
    }

    async fn verify(&mut self, step: &Step) -> Result<Verdict, TriageError> {
        let observed = observe(self.cluster, self.namespace, self.extras).await?;
        if let Some(lost) = unread_kinds(&observed.snapshot, self.gaps_when_planned) {
            // A verdict from a partial read could call a good step failed (or a bad one
            // fixed): say the step went unverified, and why.
            return Ok(Verdict::Unverified(format!(
                "the read after applying lost {lost}; the step was applied: run `triage check -n {}`",
                self.namespace
            )));
        }
        let findings = observed.findings(self.namespace, self.profile);
        self.last_verified = Some(observed);
        Ok(verdict_of(&findings, step))
    }
}

/// A step's verdict from fresh findings: its own id's finding (a step of a signal
/// that takes several, `migrate`, has none of its own and is judged by the last).
fn verdict_of(findings: &[Finding], step: &Step) -> Verdict {
    match findings.iter().find(|f| f.id == step.id) {
        Some(finding) if finding.failing() => Verdict::Failed(finding.summary.clone()),
        Some(finding) => {
            Verdict::Passed(format!("{} ({})", finding.status.name(), finding.summary))
        }
        None => Verdict::NotChecked,
    }
}

fn say(text: impl AsRef<str>) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_ref().as_bytes());
    let _ = out.flush();
}

async fn repair(
    global: &GlobalArgs,
    args: &RepairArgs,
    selection: &Selection,
    file_profile: Option<Profile>,
    confirm: Option<Box<dyn Confirm>>,
) -> Result<u8, TriageError> {
    let profile_for =
        |namespace: &str| file_profile.clone().or_else(|| Profile::builtin(namespace));
    let extras_for = |namespace: &str| {
        let profile = profile_for(namespace);
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
            // Repairs act on objects; logs are for reading (`check`).
            logs: 0,
        }
    };
    let (loaded, cluster) = load_live_with(global, &extras_for).await?;
    let namespace = loaded.namespace.clone();
    let profile = profile_for(&namespace);
    let extras = extras_for(&namespace);
    let user = cluster.whoami().await?;
    let mut confirm = confirm;
    let mut loaded = loaded;
    let asker = confirm.as_mut().map(|c| &mut **c as &mut dyn Confirm);
    match recover_stopped_run(&cluster, &user, &namespace, asker).await? {
        Recovered::Declined => return Ok(exit::STOPPED_AT_PROMPT),
        Recovered::Wrote(_) => {
            let fresh = observe(&cluster, &namespace, &extras).await?;
            loaded.snapshot = fresh.snapshot;
            loaded.access = fresh.access;
        }
        Recovered::Nothing => {}
    }
    // The schema steps read the database: `--db-url`, else a port-forward to the
    // profile's database Service. Checked once, read-only, before the first write: an
    // explicit URL that fails stops here; an unreachable default leaves the schema
    // steps out (listed as not repaired) and the other repairs go ahead.
    let database = match resolve_access(
        global,
        &args.db,
        profile.as_ref(),
        &namespace,
        Some(&cluster),
    )
    .await
    {
        Ok(access) => match access.connect(&cluster, global.request_timeout.0).await {
            Ok(_) => Some(access),
            Err(error) if args.db.db_url.is_some() => return Err(error),
            Err(error) => {
                say(format!(
                    "database: {error}; the schema steps need --db-url\n"
                ));
                None
            }
        },
        Err(error) if args.db.db_url.is_some() => return Err(error),
        Err(_) => None,
    };
    let actor = Actor {
        context: cluster.context.clone(),
        user: user.clone(),
        database,
        timeout: global.request_timeout.0,
    };
    let options = RepairOptions {
        now: Some(jiff::Timestamp::now()),
        reason: args.reason.clone(),
        quota_overrides: args.set.iter().cloned().collect::<BTreeMap<_, _>>(),
        storage_class: args.storage_class.clone(),
    };
    let selected = |signal: &str, step: &str| selection.keeps(signal, step);

    let mut observed = Observed {
        snapshot: loaded.snapshot,
        access: loaded.access,
    };
    let before = observed.findings(&namespace, profile.as_ref());
    // What the dashboard showed before any write, for the before/after of the watch.
    // The status ConfigMap to watch: the profile's, else one `derived-state` detects.
    let status = profile
        .as_ref()
        .and_then(|p| p.status.clone())
        .or_else(|| green::detected(&observed.snapshot, &before));
    let status_before = status
        .as_ref()
        .map(|status| green::readings(status, status_data(&observed.snapshot, status)))
        .unwrap_or_default();
    // Kinds the plan was made without (e.g. forbidden): not the verify read's fault.
    let gaps_when_planned = observed.snapshot.gaps.clone();
    // A LIST that failed by accident (a 500, a reset, a timeout) leaves the plan blind to
    // that kind: a step it would have planned (or a gate it would have seen) is missing.
    // Writing on such a read is acting on a partial picture; a dry run only shows it.
    if confirm.is_some()
        && let Some(failed) = accidental_gaps(&observed.snapshot)
    {
        return Err(TriageError::unreachable(
            format!(
                "listing {failed} in `{namespace}` failed: a repair planned without them could act on a partial picture; nothing was changed"
            ),
            Some(format!(
                "run it again; `triage check -n {namespace}` shows what could be read"
            )),
        ));
    }
    let plan = {
        let context = observed.context(&namespace, profile.as_ref());
        let mut plan = plan_repairs(&context, &before, &options, &selected);
        if actor.database.is_none() && plan.steps.iter().any(|s| s.needs_database()) {
            plan.steps.retain(|s| !s.needs_database());
            plan.manual.push(crate::repair::Refusal::new(
                "schema",
                "needs the database to run the migration and read the tables back: pass --db-url postgres://USER@HOST:PORT/DATABASE",
            ));
        }
        plan
    };

    let mut run = match confirm.is_some() {
        true => Some(RunDir::create(
            &runs_root()?,
            &namespace,
            jiff::Timestamp::now(),
        )?),
        false => None,
    };
    say(header(
        &cluster,
        &user,
        &namespace,
        run.as_ref(),
        args.dry_run,
    ));
    say(plan_summary(&plan));
    // Signals never repaired by writing to their own objects say why when named.
    for (id, why) in signals::ALL
        .iter()
        .filter_map(|s| Some((s.id(), s.role().not_written()?)))
    {
        let named = selection.only.iter().any(|o| o == id);
        let finding = before.iter().find(|f| f.id == id && f.status != Status::Ok);
        if let (true, Some(finding)) = (named, finding)
            && !plan.manual.iter().any(|m| m.id == id)
        {
            let fix = finding
                .fix
                .as_deref()
                .map(|fix| format!("; {fix}"))
                .unwrap_or_default();
            say(format!("`{id}`: {why}: {}{fix}\n", finding.summary));
        }
    }

    let mut mode = match (&mut confirm, &mut run) {
        (Some(confirm), Some(run)) => Mode::Apply {
            confirm: confirm.as_mut(),
            run,
        },
        _ => Mode::DryRun,
    };
    let mut reread = NamespaceReread {
        cluster: &cluster,
        namespace: &namespace,
        extras: &extras,
        profile: profile.as_ref(),
        options: &options,
        gaps_when_planned: &gaps_when_planned,
        last_verified: None,
    };
    let ran = run_steps(
        &cluster,
        &actor,
        &plan.steps,
        &mut mode,
        &mut reread,
        &mut terminal::Progress,
    )
    .await;
    match ran {
        Ok(Ran::Completed) => {}
        Ok(Ran::Declined { .. }) => {
            say(restore_hint(run.as_ref()));
            return Ok(exit::STOPPED_AT_PROMPT);
        }
        Ok(Ran::VerifyFailed { .. }) => {
            say(restore_hint(run.as_ref()));
            return Ok(exit::VERIFY_FAILED);
        }
        Err(error) => {
            say(restore_hint(run.as_ref()));
            return Err(error);
        }
    }

    if run.is_some() {
        observed = match reread.last_verified.take() {
            Some(verified) => verified,
            None => observe(&cluster, &namespace, &extras).await?,
        };
        let after = observed.findings(&namespace, profile.as_ref());
        say(before_after(&before, &after));
        say(restore_hint(run.as_ref()));
        let code = exit_after(
            &observed.context(&namespace, profile.as_ref()),
            &after,
            &selected,
        );
        if code != exit::OK {
            say(
                "signals still fail after the run (see the refused and manual steps above): exit 1\n",
            );
            return Ok(code);
        }
        if let (Some(status), Some(limit)) = (status.as_ref(), args.wait.0) {
            return wait_for_green(
                &cluster,
                &extras,
                &namespace,
                profile.as_ref(),
                status,
                &status_before,
                &after,
                &observed,
                limit,
            )
            .await;
        }
        return Ok(code);
    }
    say("\ndry run: nothing was changed\n");
    Ok(exit::OK)
}

/// The kinds whose LIST failed by accident (not a 403, nor a kind the server does not
/// serve, 404: those are lasting and the plan is made knowing them), as
/// `PersistentVolumeClaim (message)`, or `None`.
fn accidental_gaps(snapshot: &Snapshot) -> Option<String> {
    let failed: Vec<String> = snapshot
        .gaps
        .iter()
        .filter_map(|(kind, gap)| match gap {
            crate::snapshot::Gap::Failed(why) if !why.ends_with("(404)") => {
                Some(format!("{} ({why})", kind.name()))
            }
            _ => None,
        })
        .collect();
    (!failed.is_empty()).then(|| failed.join(", "))
}

/// The kinds a read failed to list that the plan's read had (a 403, or a kind the
/// server never served, is a lasting gap the plan was made with; a 500 or a 409 on a
/// LIST is this read's accident), as `ResourceQuota (message)`, or `None`.
fn unread_kinds(
    snapshot: &Snapshot,
    when_planned: &BTreeMap<crate::snapshot::Kind, crate::snapshot::Gap>,
) -> Option<String> {
    let lost: Vec<String> = snapshot
        .gaps
        .iter()
        .filter(|(kind, _)| !when_planned.contains_key(kind))
        .filter_map(|(kind, gap)| match gap {
            crate::snapshot::Gap::Failed(why) => Some(format!("{} ({why})", kind.name())),
            crate::snapshot::Gap::Forbidden(_) => None,
        })
        .collect();
    (!lost.is_empty()).then(|| lost.join(", "))
}

/// The last run on this namespace's undecided writes, reported; a run killed halfway
/// through a recreate (its journal says the delete began and the create never ended):
/// finish the step, or put the original back, before planning anything new.
/// `confirm: None` (a dry run) only reports it.
async fn recover_stopped_run(
    cluster: &Cluster,
    user: &str,
    namespace: &str,
    confirm: Option<&mut dyn Confirm>,
) -> Result<Recovered, TriageError> {
    let root = runs_root().ok();
    let mut out = std::io::stdout();
    // The last run's writes that got no answer (killed mid-request, timed out).
    if let Some(last) = root
        .as_deref()
        .and_then(|root| recovery::newest_run(root, namespace))
    {
        // An unreadable old journal is named, not a reason to refuse this repair.
        if let Err(unreadable) = recovery::report_undecided(&last, &mut out) {
            let _ = writeln!(out, "{unreadable}; its undecided writes are not known");
        }
    }
    let Some(stopped) = root
        .as_deref()
        .and_then(|root| recovery::newest_unfinished(root, namespace))
    else {
        return Ok(Recovered::Nothing);
    };
    recovery::recover(cluster, user, &stopped, Prefer::Finish, confirm, &mut out).await
}

/// The data of the profile's status ConfigMap in `snapshot` (None when it was not read
/// or does not exist).
fn status_data<'a>(
    snapshot: &'a Snapshot,
    status: &StatusConfigMap,
) -> Option<&'a BTreeMap<String, String>> {
    snapshot
        .config_maps
        .iter()
        .find(|cm| {
            cm.metadata.namespace.as_deref() == Some(status.config_map.namespace.as_str())
                && cm.metadata.name.as_deref() == Some(status.config_map.name.as_str())
        })
        .and_then(|cm| cm.data.as_ref())
}

/// `30s`, `2m`: a wait as the user would have typed it.
fn shown_duration(limit: Duration) -> String {
    let secs = limit.as_secs();
    if secs >= 60 && secs.is_multiple_of(60) {
        format!("{}m", secs / 60)
    } else {
        format!("{secs}s")
    }
}

/// "Is it green yet?": once every step is done and verified, watch the status
/// ConfigMap the profile names until every app it lists reads Healthy (its reconciler
/// rewrites it on its own tick), then print each app's before and after. Not when a
/// failing signal outside this run's selection (not a symptom) still gates an app:
/// that wait could only time out. Exit 9 when `limit` runs out, naming the apps and their gates.
#[allow(clippy::too_many_arguments)]
async fn wait_for_green(
    cluster: &Cluster,
    extras: &LiveExtras,
    namespace: &str,
    profile: Option<&Profile>,
    status: &StatusConfigMap,
    before: &[green::Reading],
    after: &[Finding],
    observed: &Observed,
    limit: Duration,
) -> Result<u8, TriageError> {
    let config_map = format!("{}/{}", status.config_map.namespace, status.config_map.name);
    let context = observed.context(namespace, profile);
    let apps = crate::check::app_statuses(&context, after);
    // A symptom gate (an init container on the kubelet's back-off) recovers by itself
    // once its causes are fixed, as `exit_after` counts it: worth waiting for.
    let graph = crate::causes::graph(&context, after);
    let lasting = |id: &String| !graph.node(id).is_some_and(|n| n.symptom);
    let gated: Vec<String> = apps
        .iter()
        .filter(|a| a.gated_by.iter().any(lasting))
        .map(|a| format!("`{}` ({})", a.app, a.gated_by.join(", ")))
        .collect();
    if !gated.is_empty() {
        say(format!(
            "\nnot waiting for `{config_map}`: failing signals not repaired in this run still gate {}\n",
            gated.join(", ")
        ));
        return Ok(exit::OK);
    }
    // A spinner on a terminal only: piped output stays the plain lines below.
    let spinner = if std::io::stderr().is_terminal() {
        let bar = indicatif::ProgressBar::new_spinner();
        bar.enable_steady_tick(Duration::from_millis(120));
        bar
    } else {
        indicatif::ProgressBar::hidden()
    };
    let waited = shown_duration(limit);
    spinner.set_message(format!("waiting up to {waited} for `{config_map}`"));
    say(format!(
        "\nwatching `{config_map}` up to {waited} for every app to read {}\n",
        green::HEALTHY
    ));
    let done = |cm: Option<&ConfigMap>| {
        green::not_healthy(status, cm.and_then(|cm| cm.data.as_ref())).is_empty()
    };
    let seen = |cm: Option<&ConfigMap>| {
        let data = cm.and_then(|cm| cm.data.as_ref());
        let total = status.apps.len();
        let pending = green::not_healthy(status, data).len();
        spinner.set_message(format!(
            "`{config_map}`: {}/{total} apps {}",
            total - pending,
            green::HEALTHY
        ));
    };
    let waited_for = cluster
        .wait_for_config_map(
            &status.config_map.namespace,
            &status.config_map.name,
            limit,
            &done,
            &seen,
        )
        .await;
    spinner.finish_and_clear();
    let (met, last) = waited_for?;
    let data = last.as_ref().and_then(|cm| cm.data.as_ref());
    let now = green::readings(status, data);
    say(green::before_after(before, &now));
    if met {
        say(format!(
            "every app in `{config_map}` reads {}\n",
            green::HEALTHY
        ));
        return Ok(exit::OK);
    }
    // Why not: the signals on a fresh read, per app.
    let fresh = observe(cluster, namespace, extras).await?;
    let findings = fresh.findings(namespace, profile);
    let apps = crate::check::app_statuses(&fresh.context(namespace, profile), &findings);
    let pending = green::not_healthy(status, data);
    say(green::timeout_report(&config_map, &waited, &pending, &apps));
    say(format!("exit {}\n", exit::NOT_GREEN_IN_TIME));
    Ok(exit::NOT_GREEN_IN_TIME)
}

fn header(
    cluster: &Cluster,
    user: &str,
    namespace: &str,
    run: Option<&RunDir>,
    dry_run: bool,
) -> String {
    let mut text = format!(
        "Repairing namespace `{namespace}` on context `{}` ({}) as user `{user}`{}\n",
        cluster.context,
        cluster.server,
        if dry_run {
            " [dry run: reads and server-side dry runs only]"
        } else {
            ""
        }
    );
    if let Some(run) = run {
        text.push_str(&format!("Backups and audit log: {}\n", run.path.display()));
    }
    text
}

fn restore_hint(run: Option<&RunDir>) -> String {
    run.map(|run| format!("To undo: {}\n", run.restore_command()))
        .unwrap_or_default()
}

fn before_after(before: &[Finding], after: &[Finding]) -> String {
    let mut text = String::from("\nCheck before -> after:\n");
    for finding in before {
        let now = after
            .iter()
            .find(|f| f.id == finding.id)
            .map_or(Status::Unknown, |f| f.status);
        text.push_str(&format!(
            "  {:<17} {} -> {}\n",
            finding.id,
            finding.status.name(),
            now.name()
        ));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_accidental_list_failure_stops_a_repair() {
        use crate::snapshot::{Gap, Kind};
        let mut snapshot = Snapshot::default();
        assert_eq!(accidental_gaps(&snapshot), None);
        snapshot
            .gaps
            .insert(Kind::Role, Gap::Forbidden("no".into()));
        snapshot.gaps.insert(
            Kind::CronJob,
            Gap::Failed("the server could not find the requested resource (404)".into()),
        );
        assert_eq!(
            accidental_gaps(&snapshot),
            None,
            "lasting gaps the plan knows"
        );
        snapshot.gaps.insert(
            Kind::PersistentVolumeClaim,
            Gap::Failed("injected (500)".into()),
        );
        assert_eq!(
            accidental_gaps(&snapshot).as_deref(),
            Some("PersistentVolumeClaim (injected (500))")
        );
    }

    #[test]
    fn a_read_that_lost_a_kind_is_not_a_verdict() {
        use crate::snapshot::{Gap, Kind};
        let mut snapshot = Snapshot::default();
        let mut planned = BTreeMap::new();
        assert_eq!(unread_kinds(&snapshot, &planned), None);
        snapshot
            .gaps
            .insert(Kind::Role, Gap::Forbidden("no".into()));
        assert_eq!(
            unread_kinds(&snapshot, &planned),
            None,
            "a 403 is not an accident"
        );
        snapshot
            .gaps
            .insert(Kind::CronJob, Gap::Failed("not served (404)".into()));
        planned.insert(Kind::CronJob, Gap::Failed("not served (404)".into()));
        assert_eq!(
            unread_kinds(&snapshot, &planned),
            None,
            "missing when planned too"
        );
        snapshot
            .gaps
            .insert(Kind::ResourceQuota, Gap::Failed("injected (500)".into()));
        assert_eq!(
            unread_kinds(&snapshot, &planned).as_deref(),
            Some("ResourceQuota (injected (500))")
        );
    }

    #[test]
    fn waits_are_shown_as_typed() {
        assert_eq!(shown_duration(Duration::from_secs(120)), "2m");
        assert_eq!(shown_duration(Duration::from_secs(90)), "90s");
        assert_eq!(shown_duration(Duration::from_secs(3)), "3s");
        assert_eq!(shown_duration(Duration::from_secs(60)), "1m");
    }

    #[test]
    fn status_data_is_the_profiles_config_map_only() {
        let snapshot = crate::signals::test_support::snapshot(
            r#"{"apiVersion": "v1", "kind": "List", "items": [
              {"apiVersion": "v1", "kind": "ConfigMap",
               "metadata": {"name": "app-status", "namespace": "other"}, "data": {"api": "Degraded"}},
              {"apiVersion": "v1", "kind": "ConfigMap",
               "metadata": {"name": "app-status", "namespace": "sys"}, "data": {"api": "Healthy"}}]}"#,
        );
        let status: StatusConfigMap = serde_json::from_value(serde_json::json!({
            "configMap": {"namespace": "sys", "name": "app-status"},
            "apps": ["api"]
        }))
        .unwrap();
        let data = status_data(&snapshot, &status).unwrap();
        assert_eq!(data.get("api").map(String::as_str), Some("Healthy"));
        let mut missing = status.clone();
        missing.config_map.name = "nope".to_string();
        assert!(status_data(&snapshot, &missing).is_none());
    }

    #[test]
    fn repair_exits_1_while_signals_still_fail() {
        let snapshot = Snapshot::default();
        let context = Context::new(&snapshot, "x");
        let fixed = vec![Finding::ok("quota", "room"), Finding::unknown("rbac", "?")];
        let all = |_: &str, _: &str| true;
        assert_eq!(exit_after(&context, &fixed, &all), exit::OK);
        let refused = vec![
            Finding::ok("quota", "room"),
            Finding::fail("schema", "v2 < v3"),
        ];
        assert_eq!(exit_after(&context, &refused, &all), exit::FAILING_SIGNALS);
        // `--only quota`: the schema was not asked for.
        let only_quota = |signal: &str, _: &str| signal == "quota";
        assert_eq!(exit_after(&context, &refused, &only_quota), exit::OK);
        // A symptom alone (the init container waits for its next restart) recovers by
        // itself: not counted.
        let waiting = vec![Finding::fail("init-container", "back-off")];
        assert_eq!(exit_after(&context, &waiting, &all), exit::OK);
    }
}
