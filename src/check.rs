//! The `check` view model: every selected signal's finding, and per app of the status
//! ConfigMap which failing signals gate it, following the reconciler's AND-chain the
//! signals declare (`Signal::chain`: lock, orphan-hook, schema, rbac, pvc, quota,
//! egress => Progressing; then init-container => Degraded; else Healthy). Pure: built
//! from a context.

use jiff::Timestamp;
use serde::Serialize;

use crate::causes::{self, Graph};
use crate::error::TriageError;
use crate::finding::{Context, Finding, Status};
use crate::signals::{self, ChainState, Signal};

pub const API_VERSION: &str = "triage/v1alpha1";

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Check {
    pub api_version: &'static str,
    pub kind: &'static str,
    pub namespace: String,
    pub captured_at: Option<Timestamp>,
    /// Which profile was used: a file path, `built-in bleater`, or none.
    pub profile: Option<String>,
    pub summary: Summary,
    pub findings: Vec<Finding>,
    /// Which failing finding causes which (nodes, edges with their reasons).
    pub graph: Graph,
    /// Each root cause with the symptoms that follow from it.
    pub causes: Vec<CauseGroup>,
    pub apps: Vec<AppStatus>,
    /// Said when the cap on fetched logs left failing containers without any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logs_note: Option<String>,
    /// Why there is no per-app view, when there is none (never silently empty).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub apps_note: Option<String>,
}

/// A failing finding that is not only a symptom, and the symptoms reachable from it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CauseGroup {
    pub cause: &'static str,
    pub symptoms: Vec<&'static str>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    pub fail: usize,
    pub ok: usize,
    pub unknown: usize,
    pub info: usize,
}

/// One app: what the status ConfigMap shows, what the signals imply, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AppStatus {
    pub app: String,
    /// The value in the status ConfigMap now (None without one).
    pub current: Option<String>,
    /// Progressing, Degraded or Healthy, from the failing signals.
    pub expected: String,
    /// Failing signals that gate it, in the reconciler's order.
    pub gated_by: Vec<String>,
}

/// Which signals to run: `--only` and `--skip`, validated against the list.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    pub only: Vec<String>,
    pub skip: Vec<String>,
}

impl Selection {
    /// For `repair`: every id names a signal or a repair step (`migrate`); an unknown
    /// one is a usage error listing both.
    pub fn validate_steps(&self) -> Result<(), TriageError> {
        let steps: Vec<&str> = crate::repair::ALL.iter().map(|r| r.id()).collect();
        for id in self.only.iter().chain(&self.skip) {
            if signals::by_id(id).is_none() && !steps.contains(&id.as_str()) {
                let mut valid = signals::ids();
                valid.extend(steps.iter().filter(|s| signals::by_id(s).is_none()));
                return Err(TriageError::usage(
                    format!("unknown signal or step `{id}`"),
                    Some(format!("valid ids: {}", valid.join(", "))),
                ));
            }
        }
        Ok(())
    }

    /// Whether the step `step` of signal `signal` is kept: `--only` names either,
    /// `--skip` names neither.
    pub fn keeps(&self, signal: &str, step: &str) -> bool {
        let named = |ids: &[String]| ids.iter().any(|id| id == signal || id == step);
        (self.only.is_empty() || named(&self.only)) && !named(&self.skip)
    }

    /// The selected signals in list order; an unknown id is a usage error.
    pub fn signals(&self) -> Result<Vec<&'static dyn Signal>, TriageError> {
        for id in self.only.iter().chain(&self.skip) {
            if signals::by_id(id).is_none() {
                return Err(TriageError::usage(
                    format!("unknown signal `{id}`"),
                    Some(format!("valid ids: {}", signals::ids().join(", "))),
                ));
            }
        }
        Ok(signals::ALL
            .iter()
            .copied()
            .filter(|s| self.only.is_empty() || self.only.iter().any(|id| id == s.id()))
            .filter(|s| !self.skip.iter().any(|id| id == s.id()))
            .collect())
    }
}

/// Runs `selected` signals against `context`.
pub fn build(context: &Context, selected: &[&dyn Signal], profile_name: Option<String>) -> Check {
    let mut findings: Vec<Finding> = selected.iter().map(|s| s.evaluate(context)).collect();
    crate::logs::attach(context.snapshot, &mut findings);
    let mut summary = Summary::default();
    for finding in &findings {
        match finding.status {
            Status::Fail => summary.fail += 1,
            Status::Ok => summary.ok += 1,
            Status::Unknown => summary.unknown += 1,
            Status::Info => summary.info += 1,
        }
    }
    let apps = app_statuses(context, &findings);
    let apps_note = apps.is_empty().then(|| apps_note(context));
    let graph = causes::graph(context, &findings);
    let causes = cause_groups(&graph);
    Check {
        api_version: API_VERSION,
        kind: "Check",
        namespace: context.namespace.to_string(),
        captured_at: context.now,
        profile: profile_name,
        summary,
        findings,
        graph,
        causes,
        apps,
        logs_note: crate::logs::cap_note(context.snapshot, context.namespace),
        apps_note,
    }
}

/// Why no app could be named.
fn apps_note(context: &Context) -> String {
    match context.profile.and_then(|p| p.status.as_ref()) {
        Some(_) => "no per-app view: the profile's `status.apps` is empty".to_string(),
        None => format!(
            "no per-app view: no pod in `{}` carries a `{}` or `{}` label (a profile's `status.apps` can name the apps)",
            context.namespace,
            crate::finding::DEFAULT_APP_LABEL,
            crate::finding::FALLBACK_APP_LABEL
        ),
    }
}

/// Every failing node that is not a symptom, with the symptoms it leads to.
fn cause_groups(graph: &Graph) -> Vec<CauseGroup> {
    graph
        .nodes
        .iter()
        .filter(|n| !n.symptom && n.status == Status::Fail)
        .map(|n| CauseGroup {
            cause: n.id,
            symptoms: graph
                .descendants(n.id)
                .into_iter()
                .filter(|id| graph.node(id).is_some_and(|d| d.symptom))
                .collect(),
        })
        .collect()
}

/// Per app, the gating failing signals and the status they imply.
pub fn app_statuses(context: &Context, findings: &[Finding]) -> Vec<AppStatus> {
    let status_cm = context
        .profile
        .and_then(|p| p.status.as_ref())
        .and_then(|s| {
            context.snapshot.config_maps.iter().find(|cm| {
                cm.metadata.namespace.as_deref() == Some(s.config_map.namespace.as_str())
                    && cm.metadata.name.as_deref() == Some(s.config_map.name.as_str())
            })
        });
    let failing = |id: &str, app: &str| {
        findings
            .iter()
            .any(|f| f.id == id && f.failing() && f.scope.covers(app))
    };
    let progressing_chain = signals::chain(ChainState::Progressing);
    let degraded_chain = signals::chain(ChainState::Degraded);
    context
        .apps()
        .into_iter()
        .map(|app| {
            let progressing: Vec<String> = progressing_chain
                .iter()
                .filter(|id| failing(id, &app))
                .map(|id| id.to_string())
                .collect();
            let mut degraded: Vec<String> = degraded_chain
                .iter()
                .filter(|id| failing(id, &app))
                .map(|id| id.to_string())
                .collect();
            // Without a status ConfigMap to predict, any other failing finding about
            // the app's objects (a crash loop, a stalled rollout) degrades it; with one,
            // the view predicts what its reconciler writes, which reads only its chain.
            if status_cm.is_none() && context.profile.is_none() {
                degraded.extend(
                    findings
                        .iter()
                        .filter(|f| f.failing() && f.scope.covers(&app))
                        .filter(|f| {
                            !progressing_chain.contains(&f.id)
                                && !degraded_chain.contains(&f.id)
                                && f.scope != crate::finding::Scope::Namespace
                        })
                        .map(|f| f.id.to_string()),
                );
            }
            let expected = if !progressing.is_empty() {
                "Progressing"
            } else if !degraded.is_empty() {
                "Degraded"
            } else {
                "Healthy"
            };
            AppStatus {
                current: status_cm.and_then(|cm| cm.data.as_ref()?.get(&app).cloned()),
                expected: expected.to_string(),
                gated_by: progressing.into_iter().chain(degraded).collect(),
                app,
            }
        })
        .collect()
}

impl Check {
    pub fn failing(&self) -> bool {
        self.summary.fail > 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_signal_id_names_the_valid_ones() {
        let selection = Selection {
            only: vec!["quota".into(), "nope".into()],
            skip: vec![],
        };
        let err = selection.signals().err().unwrap();
        assert_eq!(err.to_string(), "unknown signal `nope`");
        assert!(err.hint().unwrap().contains("orphan-hook"));
    }

    #[test]
    fn only_and_skip_keep_list_order() {
        let selection = Selection {
            only: vec!["schema".into(), "quota".into(), "lock".into()],
            skip: vec!["lock".into()],
        };
        let ids: Vec<&str> = selection
            .signals()
            .unwrap()
            .iter()
            .map(|s| s.id())
            .collect();
        assert_eq!(ids, vec!["quota", "schema"]);
    }

    #[test]
    fn without_a_profile_a_crash_looping_app_is_degraded_not_healthy() {
        let snapshot = crate::signals::test_support::snapshot(
            r#"
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Pod
  metadata: {name: api-1, namespace: ns, labels: {app.kubernetes.io/name: api}}
  spec: {containers: [{name: api, image: api:1}]}
  status:
    phase: Running
    containerStatuses:
    - name: api
      image: api:1
      imageID: ""
      ready: false
      restartCount: 9
      state: {waiting: {reason: CrashLoopBackOff, message: back-off 5m0s restarting failed container}}
      lastState: {terminated: {exitCode: 1, reason: Error, finishedAt: "2025-01-01T00:00:00Z"}}
- apiVersion: v1
  kind: Pod
  metadata: {name: web-1, namespace: ns, labels: {app.kubernetes.io/name: web}}
  spec: {containers: [{name: web, image: web:1}]}
  status:
    phase: Running
    conditions: [{type: Ready, status: "True"}]
    containerStatuses:
    - {name: web, image: web:1, imageID: "", ready: true, restartCount: 0, state: {running: {}}}
"#,
        );
        let context = Context::new(&snapshot, "ns");
        let view = build(&context, signals::ALL, None);
        let api = view.apps.iter().find(|a| a.app == "api").unwrap();
        assert_eq!(api.expected, "Degraded");
        assert!(api.gated_by.contains(&"crash-loop".to_string()), "{api:?}");
        let web = view.apps.iter().find(|a| a.app == "web").unwrap();
        assert_eq!((web.expected.as_str(), web.gated_by.len()), ("Healthy", 0));
    }

    #[test]
    fn repair_selection_takes_step_ids() {
        let only_migrate = Selection {
            only: vec!["migrate".into()],
            skip: vec![],
        };
        only_migrate.validate_steps().unwrap();
        assert!(only_migrate.keeps("schema", "migrate"));
        assert!(!only_migrate.keeps("schema", "schema"));
        let skip_migrate = Selection {
            only: vec![],
            skip: vec!["migrate".into()],
        };
        assert!(!skip_migrate.keeps("schema", "migrate"));
        assert!(skip_migrate.keeps("schema", "schema"));
        assert!(skip_migrate.keeps("quota", "quota"));
        let skip_signal = Selection {
            only: vec![],
            skip: vec!["schema".into()],
        };
        assert!(!skip_signal.keeps("schema", "migrate"));
        let unknown = Selection {
            only: vec!["nope".into()],
            skip: vec![],
        };
        let err = unknown.validate_steps().unwrap_err();
        assert_eq!(err.to_string(), "unknown signal or step `nope`");
        assert!(err.hint().unwrap().contains("migrate"));
    }

    const PODS: &str = "apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: Pod, metadata: {name: login-api-1, namespace: shop, labels: {app: login-api}}, spec: {containers: []}}\n- {apiVersion: v1, kind: Pod, metadata: {name: cart-1, namespace: shop, labels: {app.kubernetes.io/name: cart, app: cart-legacy}}, spec: {containers: []}}\n- {apiVersion: v1, kind: Pod, metadata: {name: debug, namespace: shop}, spec: {containers: []}}\n";

    fn profile_with(apps: &str) -> crate::profile::Profile {
        crate::profile::Profile::parse(
            &format!("apiVersion: triage/v1alpha1\nkind: Profile\nstatus:\n  configMap: {{namespace: shop-system, name: shop-status}}\n  apps: {apps}\n"),
            "p",
        )
        .unwrap()
    }

    #[test]
    fn status_keys_map_to_label_selectors() {
        let snapshot = crate::signals::test_support::snapshot(PODS);
        let profile =
            profile_with("{login: 'app=login-api', cart: {app.kubernetes.io/name: cart}}");
        let context = Context::new(&snapshot, "shop").with_profile(Some(&profile));
        assert_eq!(context.apps(), vec!["cart", "login"]);
        let names: Vec<(String, Option<String>)> = context
            .app_pods()
            .iter()
            .map(|p| {
                (
                    p.metadata.name.clone().unwrap(),
                    context.app_of(&p.metadata),
                )
            })
            .collect();
        assert_eq!(
            names,
            vec![
                ("cart-1".to_string(), Some("cart".to_string())),
                ("login-api-1".to_string(), Some("login".to_string()))
            ]
        );
        // A failing finding about the login pod holds back `login`, not `cart`.
        let mut finding = Finding::fail("init-container", "x");
        finding.scope = context.scope(vec!["login".to_string()]);
        let apps = app_statuses(&context, &[finding]);
        assert_eq!(apps[1].app, "login");
        assert_eq!(apps[1].gated_by, vec!["init-container"]);
        assert!(apps[0].gated_by.is_empty());
        // The list form stays: keys are the app label's values.
        let listed = profile_with("[cart]");
        let context = Context::new(&snapshot, "shop").with_profile(Some(&listed));
        assert_eq!(context.apps(), vec!["cart"]);
        assert_eq!(context.app_pods().len(), 1);
        assert_eq!(
            context.app_pods()[0].metadata.name.as_deref(),
            Some("cart-1")
        );
    }

    #[test]
    fn without_a_profile_apps_come_from_the_name_label_then_app() {
        let snapshot = crate::signals::test_support::snapshot(PODS);
        let context = Context::new(&snapshot, "shop");
        assert_eq!(context.apps(), vec!["cart", "login-api"]);
        let check = build(&context, &[], None);
        assert_eq!(check.apps.len(), 2);
        assert_eq!(check.apps_note, None);
    }

    #[test]
    fn an_empty_per_app_view_says_why() {
        let snapshot = crate::signals::test_support::snapshot(
            "apiVersion: v1\nkind: Pod\nmetadata: {name: debug, namespace: shop}\nspec: {containers: []}\n",
        );
        let check = build(&Context::new(&snapshot, "shop"), &[], None);
        assert!(check.apps.is_empty());
        assert_eq!(
            check.apps_note.as_deref(),
            Some(
                "no per-app view: no pod in `shop` carries a `app.kubernetes.io/name` or `app` label (a profile's `status.apps` can name the apps)"
            )
        );
    }
}
