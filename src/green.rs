//! "Is it green yet?": what the status ConfigMap a reconciler writes says about each
//! app the profile lists. Pure: the waiting (a Kubernetes watch on that ConfigMap) is
//! in `cluster.rs`, shaped like kube-runtime's `await_condition`: this module is the
//! condition, the cluster layer the wait.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::check::AppStatus;
use crate::finding::Finding;
use crate::profile::{Apps, ConfigMapRef, StatusConfigMap};
use crate::snapshot::Snapshot;

/// The value the write-up's reconciler writes for an app whose AND-chain passes (the
/// health names Argo CD uses: Healthy, Progressing, Degraded; see
/// https://argo-cd.readthedocs.io/en/stable/operator-manual/health/). Compared exactly:
/// `healthy` or `Healthy ` is not what the dashboard shows green.
pub const HEALTHY: &str = "Healthy";

/// One app as the status ConfigMap shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Reading {
    pub app: String,
    /// The ConfigMap's value for the app's key; None when the key (or the ConfigMap)
    /// is missing.
    pub value: Option<String>,
}

impl Reading {
    pub fn healthy(&self) -> bool {
        self.value.as_deref() == Some(HEALTHY)
    }

    /// The value as printed: `<missing>` for an absent key.
    pub fn shown(&self) -> &str {
        self.value.as_deref().unwrap_or("<missing>")
    }
}

/// Every app the profile lists, in the profile's order, with its value in `data` (the
/// ConfigMap's data; None when the ConfigMap does not exist).
pub fn readings(status: &StatusConfigMap, data: Option<&BTreeMap<String, String>>) -> Vec<Reading> {
    status
        .apps
        .keys()
        .into_iter()
        .map(|app| Reading {
            value: data.and_then(|d| d.get(&app)).cloned(),
            app,
        })
        .collect()
}

/// The apps that do not read healthy yet; empty means green. A profile listing no app
/// is green at once (there is nothing to wait for).
pub fn not_healthy(
    status: &StatusConfigMap,
    data: Option<&BTreeMap<String, String>>,
) -> Vec<Reading> {
    readings(status, data)
        .into_iter()
        .filter(|r| !r.healthy())
        .collect()
}

/// The health words Argo CD's health assessment uses (see [`HEALTHY`]); a ConfigMap
/// whose every value is one of them reads as a status board.
const HEALTH_WORDS: [&str; 6] = [
    "Healthy",
    "Progressing",
    "Degraded",
    "Suspended",
    "Missing",
    "Unknown",
];

/// Without a profile naming one: the first ConfigMap the `derived-state` signal found
/// to be controller-written whose every value is a health word, as a status ConfigMap
/// listing all its keys (sorted). None when there is no such output: nothing to watch.
pub fn detected(snapshot: &Snapshot, findings: &[Finding]) -> Option<StatusConfigMap> {
    let outputs = findings
        .iter()
        .find(|f| f.id == crate::signals::derived_state::ID)?;
    outputs
        .objects
        .iter()
        .filter(|o| o.kind == "ConfigMap")
        .find_map(|o| {
            let cm = snapshot.config_maps.iter().find(|cm| {
                cm.metadata.namespace.as_deref() == Some(o.namespace.as_str())
                    && cm.metadata.name.as_deref() == Some(o.name.as_str())
            })?;
            let data = cm.data.as_ref().filter(|d| !d.is_empty())?;
            data.values()
                .all(|v| HEALTH_WORDS.contains(&v.as_str()))
                .then(|| StatusConfigMap {
                    config_map: ConfigMapRef {
                        namespace: o.namespace.clone(),
                        name: o.name.clone(),
                    },
                    app_label: crate::finding::DEFAULT_APP_LABEL.to_string(),
                    apps: Apps::List(data.keys().cloned().collect()),
                })
        })
}

/// Each app's value before the repair and after the watch, one line per app.
pub fn before_after(before: &[Reading], after: &[Reading]) -> String {
    let mut text = String::from("\nApps before -> after:\n");
    for reading in after {
        let was = before
            .iter()
            .find(|b| b.app == reading.app)
            .map_or("<missing>", Reading::shown);
        text.push_str(&format!(
            "  {:<17} {} -> {}\n",
            reading.app,
            was,
            reading.shown()
        ));
    }
    text
}

/// Why each app still does not read healthy when the wait ran out: the failing signals
/// that gate it (from `check::app_statuses` on a fresh read), or, when none does, that
/// its reconciler has not rewritten it (not running, or slower than `--wait`).
pub fn timeout_report(
    config_map: &str,
    waited: &str,
    pending: &[Reading],
    apps: &[AppStatus],
) -> String {
    let mut text = format!(
        "\n{} of the apps in `{config_map}` did not read {HEALTHY} within {waited}:\n",
        pending.len()
    );
    for reading in pending {
        let gates = apps
            .iter()
            .find(|a| a.app == reading.app)
            .map(|a| a.gated_by.clone())
            .unwrap_or_default();
        let why = if gates.is_empty() {
            "no failing signal gates it: its reconciler has not rewritten it yet (is it running?)"
                .to_string()
        } else {
            format!(
                "gated by {}",
                gates
                    .iter()
                    .map(|g| format!("`{g}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        text.push_str(&format!(
            "  {:<17} {}: {why}\n",
            reading.app,
            reading.shown()
        ));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signals::Signal;

    fn status(apps: &[&str]) -> StatusConfigMap {
        StatusConfigMap {
            config_map: ConfigMapRef {
                namespace: "sys".to_string(),
                name: "app-status".to_string(),
            },
            app_label: "app".to_string(),
            apps: Apps::List(apps.iter().map(|a| a.to_string()).collect()),
        }
    }

    fn data(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn every_listed_app_healthy_is_green() {
        let status = status(&["api", "web"]);
        // A key for an app the profile does not list does not matter.
        let cm = data(&[("api", "Healthy"), ("web", "Healthy"), ("old", "Degraded")]);
        assert!(not_healthy(&status, Some(&cm)).is_empty());
    }

    #[test]
    fn apps_not_reading_healthy_are_named_in_profile_order() {
        let status = status(&["web", "api", "db"]);
        let cm = data(&[
            ("web", "Progressing"),
            ("api", "Healthy"),
            ("db", "healthy"),
        ]);
        let pending = not_healthy(&status, Some(&cm));
        assert_eq!(
            pending,
            vec![
                Reading {
                    app: "web".into(),
                    value: Some("Progressing".into())
                },
                // Case matters: the dashboard shows `healthy` as unknown, not green.
                Reading {
                    app: "db".into(),
                    value: Some("healthy".into())
                },
            ]
        );
    }

    #[test]
    fn a_missing_key_or_config_map_is_not_healthy() {
        let status = status(&["api", "web"]);
        let cm = data(&[("api", "Healthy")]);
        let pending = not_healthy(&status, Some(&cm));
        assert_eq!(pending.len(), 1);
        assert_eq!(
            (pending[0].app.as_str(), pending[0].shown()),
            ("web", "<missing>")
        );
        assert_eq!(not_healthy(&status, None).len(), 2);
        // Nothing listed: nothing to wait for.
        assert!(not_healthy(&self::status(&[]), None).is_empty());
    }

    #[test]
    fn map_form_keys_are_read() {
        let mut status = status(&[]);
        status.apps = serde_json::from_str(r#"{"login": "app=login-api"}"#).unwrap();
        let cm = data(&[("login", "Degraded")]);
        let pending = not_healthy(&status, Some(&cm));
        assert_eq!(pending[0].app, "login");
        assert_eq!(pending[0].shown(), "Degraded");
    }

    #[test]
    fn a_controller_written_health_board_is_detected_without_a_profile() {
        let snapshot = crate::signals::test_support::snapshot(
            r#"{"apiVersion": "v1", "kind": "List", "items": [
              {"apiVersion": "v1", "kind": "ConfigMap",
               "metadata": {"name": "app-settings", "namespace": "shop",
                            "labels": {"app.kubernetes.io/managed-by": "shop-operator"}},
               "data": {"mode": "fast"}},
              {"apiVersion": "v1", "kind": "ConfigMap",
               "metadata": {"name": "board", "namespace": "shop",
                            "labels": {"app.kubernetes.io/managed-by": "shop-reconciler"}},
               "data": {"web": "Healthy", "cart": "Degraded"}},
              {"apiVersion": "v1", "kind": "ConfigMap",
               "metadata": {"name": "typed-by-hand", "namespace": "shop"},
               "data": {"web": "Healthy"}}]}"#,
        );
        let context = crate::finding::Context::new(&snapshot, "shop");
        let findings = vec![crate::signals::derived_state::DerivedState.evaluate(&context)];
        let status = detected(&snapshot, &findings).unwrap();
        // Not `app-settings` (its values are not health words), not `typed-by-hand`
        // (no controller writes it).
        assert_eq!(status.config_map.name, "board");
        assert_eq!(status.apps.keys(), vec!["cart", "web"]);
        let pending = not_healthy(&status, snapshot.config_maps[1].data.as_ref());
        assert_eq!(pending.len(), 1);
        assert_eq!(pending[0].app, "cart");
        // No derived-state finding: nothing detected.
        assert!(detected(&snapshot, &[]).is_none());
    }

    #[test]
    fn before_after_and_timeout_name_each_app() {
        let status = status(&["api", "web"]);
        let before = readings(&status, Some(&data(&[("api", "Progressing")])));
        let after = readings(
            &status,
            Some(&data(&[("api", "Healthy"), ("web", "Degraded")])),
        );
        let text = before_after(&before, &after);
        assert!(
            text.contains("api               Progressing -> Healthy"),
            "{text}"
        );
        assert!(
            text.contains("web               <missing> -> Degraded"),
            "{text}"
        );

        let apps = vec![
            AppStatus {
                app: "web".into(),
                current: Some("Degraded".into()),
                expected: "Progressing".into(),
                gated_by: vec!["quota".into(), "init-container".into()],
            },
            AppStatus {
                app: "api".into(),
                current: Some("Progressing".into()),
                expected: "Healthy".into(),
                gated_by: vec![],
            },
        ];
        let pending = not_healthy(&status, Some(&data(&[("web", "Degraded")])));
        let text = timeout_report("sys/app-status", "3s", &pending, &apps);
        assert!(
            text.contains("2 of the apps in `sys/app-status` did not read Healthy within 3s"),
            "{text}"
        );
        assert!(
            text.contains("web               Degraded: gated by `quota`, `init-container`"),
            "{text}"
        );
        assert!(
            text.contains("api               <missing>: no failing signal gates it"),
            "{text}"
        );
    }
}
