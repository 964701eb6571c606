//! `lock`: a hook-reconciliation lock is held: a ConfigMap whose lock key says locked,
//! with its reason and age. With a profile, its lock ConfigMap and key; without, any
//! ConfigMap whose name contains `lock` with a key among status/state/lock/locked set
//! to locked/true/held. `status: active` or `status: unlocked` is not a lock.

use k8s_openapi::api::core::v1::ConfigMap;
use serde::{Deserialize, Serialize};

use crate::finding::{Context, Evidence, Finding, ObjectRef, Status};
use crate::k8s::kubectl_style::human_duration;
use crate::k8s::markers;
use crate::signals::{Chain, ChainState, Gate, Signal};
use crate::snapshot::{HasMeta, Kind, in_namespace};

pub struct Lock;

pub const ID: &str = "lock";

const GENERIC_KEYS: [&str; 4] = ["status", "state", "lock", "locked"];
const GENERIC_VALUES: [&str; 3] = ["locked", "true", "held"];
const REASON_KEYS: [&str; 4] = ["lock-reason", "lockReason", "reason", "locked-reason"];
const SINCE_KEYS: [&str; 5] = [
    "locked-at",
    "lockedAt",
    "locked-since",
    "since",
    "acquired-at",
];

/// A held lock: the ConfigMap, its lock key and the optional reason/since keys.
struct Held<'a> {
    config_map: &'a ConfigMap,
    key: String,
    value: String,
    reason: Option<(String, String)>,
    since: Option<(String, String)>,
}

/// Its section of `docs/signals.md`.
const DOCS: &str = r#"
Keys on a ConfigMap's lock key. With a profile: `lock.configMap`, `lock.key`,
`lock.lockedValues`. Without: a ConfigMap whose name contains `lock` with a key among
`status`, `state`, `lock`, `locked` whose value is `locked`, `true` or `held`. Reports
the reason (`lock-reason`, `reason`, ...) and age (from `locked-at`/`since`/..., else the
creation time, against the snapshot's time). Look-alikes: `status: active`,
`status: unlocked`, `locked` in a ConfigMap not named like a lock. Fix: patch to
unlocked, leaving an audit value in the reason.
"#;

impl Signal for Lock {
    fn id(&self) -> &'static str {
        ID
    }

    fn title(&self) -> &'static str {
        "hook-reconciliation lock released"
    }

    fn reads(&self) -> &'static [Kind] {
        &[Kind::ConfigMap]
    }

    fn chain(&self) -> Option<Chain> {
        Some(Chain {
            state: ChainState::Progressing,
            position: 1,
        })
    }

    fn gates(&self) -> &'static [Gate] {
        &[Gate {
            gated: "derived-state",
            because: "blocks the reconciler advancing",
        }]
    }

    fn rationale(&self) -> Option<&'static str> {
        Some("the reconciler stays blocked until the lock is released")
    }

    fn docs(&self) -> &'static str {
        DOCS
    }

    fn evaluate(&self, context: &Context) -> Finding {
        let config_maps = in_namespace(&context.snapshot.config_maps, context.namespace);
        let data = |cm: &ConfigMap, key: &str| cm.data.as_ref().and_then(|d| d.get(key)).cloned();
        let first_of = |cm: &ConfigMap, keys: &[&str]| {
            keys.iter()
                .find_map(|k| data(cm, k).map(|v| (k.to_string(), v)))
        };
        let mut held = Vec::new();
        let mut checked = Vec::new();
        match context.profile.and_then(|p| p.lock.as_ref()) {
            Some(lock) => {
                let Some(cm) = config_maps.iter().find(|cm| cm.name() == lock.config_map) else {
                    return Finding::ok(
                        ID,
                        format!(
                            "lock ConfigMap `{}` does not exist: no lock held",
                            lock.config_map
                        ),
                    );
                };
                checked.push(cm.name().to_string());
                if let Some(value) = data(cm, &lock.key)
                    && lock
                        .locked_values
                        .iter()
                        .any(|v| v.eq_ignore_ascii_case(value.trim()))
                {
                    held.push(Held {
                        config_map: cm,
                        key: lock.key.clone(),
                        value,
                        reason: lock
                            .reason_key
                            .as_ref()
                            .and_then(|k| data(cm, k).map(|v| (k.clone(), v)))
                            .or_else(|| first_of(cm, &REASON_KEYS)),
                        since: lock
                            .since_key
                            .as_ref()
                            .and_then(|k| data(cm, k).map(|v| (k.clone(), v)))
                            .or_else(|| first_of(cm, &SINCE_KEYS)),
                    });
                }
            }
            None => {
                for cm in config_maps.iter().filter(|cm| cm.name().contains("lock")) {
                    checked.push(cm.name().to_string());
                    let hit = GENERIC_KEYS.iter().find_map(|key| {
                        data(cm, key)
                            .filter(|v| {
                                GENERIC_VALUES
                                    .iter()
                                    .any(|x| x.eq_ignore_ascii_case(v.trim()))
                            })
                            .map(|v| (key.to_string(), v))
                    });
                    if let Some((key, value)) = hit {
                        held.push(Held {
                            config_map: cm,
                            key,
                            value,
                            reason: first_of(cm, &REASON_KEYS),
                            since: first_of(cm, &SINCE_KEYS),
                        });
                    }
                }
            }
        }
        if held.is_empty() {
            return Finding::ok(
                ID,
                if checked.is_empty() {
                    "no lock ConfigMap".to_string()
                } else {
                    format!("not locked: {}", checked.join(", "))
                },
            );
        }
        let mut finding = Finding::new(ID, Status::Fail, "");
        let mut summaries = Vec::new();
        let mut fixes = Vec::new();
        let mut age = None;
        for lock in &held {
            let object = ObjectRef::of(Kind::ConfigMap, lock.config_map);
            finding.add_object(object.clone());
            finding.evidence.push(Evidence::field(
                &object,
                format!("data.{}", lock.key),
                lock.value.clone(),
            ));
            let mut summary = format!("`{}` {}={}", lock.config_map.name(), lock.key, lock.value);
            if let Some((key, reason)) = &lock.reason {
                finding.evidence.push(Evidence::field(
                    &object,
                    format!("data.{key}"),
                    reason.clone(),
                ));
                summary.push_str(&format!(", reason `{reason}`"));
            }
            let since = lock
                .since
                .as_ref()
                .and_then(|(_, v)| v.trim().parse::<jiff::Timestamp>().ok())
                .or_else(|| {
                    lock.config_map
                        .metadata
                        .creation_timestamp
                        .as_ref()
                        .map(|t| t.0)
                });
            if let Some((key, value)) = &lock.since {
                finding.evidence.push(Evidence::field(
                    &object,
                    format!("data.{key}"),
                    value.clone(),
                ));
            }
            if let (Some(since), Some(now)) = (since, context.now) {
                let held_for = human_duration(now.duration_since(since));
                summary.push_str(&format!(", held {held_for}"));
                age = Some(held_for);
            }
            let owners =
                markers::ownership(&lock.config_map.metadata, context.owner_labels()).reasons;
            if !owners.is_empty() {
                finding.evidence.push(Evidence::field_note(
                    &object,
                    "metadata",
                    owners.join(", "),
                    "managed by another owner: coordinate before patching",
                ));
            }
            summaries.push(summary);
            let unlocked = if lock.value.eq_ignore_ascii_case("true") {
                "false"
            } else {
                "unlocked"
            };
            let mut fix = format!("patch `{}` {}={unlocked}", lock.config_map.name(), lock.key);
            if let Some((key, _)) = &lock.reason {
                fix.push_str(&format!(
                    " and {key}=resolved-<incident> (leave an audit value, do not blank it)"
                ));
            }
            fixes.push(fix);
        }
        finding.set_details(Details {
            age,
            locks: held
                .iter()
                .map(|lock| HeldLock {
                    config_map: lock.config_map.name().to_string(),
                    key: lock.key.clone(),
                    value: lock.value.clone(),
                    unlocked_value: if lock.value.eq_ignore_ascii_case("true") {
                        "false"
                    } else {
                        "unlocked"
                    }
                    .to_string(),
                    reason_key: lock.reason.as_ref().map(|(key, _)| key.clone()),
                })
                .collect(),
        });
        finding.summary = format!("lock held: {}", summaries.join("; "));
        finding.fix = Some(fixes.join("; "));
        finding
    }
}

/// What the `lock` repair reads: which key holds each lock, its unlocked value, its
/// reason key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Details {
    /// How long the last lock listed has been held, when its time is known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub age: Option<String>,
    pub locks: Vec<HeldLock>,
}

/// One held lock, as the repair releases it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HeldLock {
    pub config_map: String,
    pub key: String,
    pub value: String,
    /// `false` for a `true` lock, else `unlocked`.
    pub unlocked_value: String,
    /// Where the lock's reason is written (an audit value replaces it), if it has one.
    pub reason_key: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signals::test_support::{evaluate, evaluate_with};

    fn lock_cm(name: &str, data: &str) -> String {
        format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: {name}, namespace: app, creationTimestamp: '2025-03-01T00:00:00Z'}}\ndata: {data}\n---\napiVersion: v1\nkind: Pod\nmetadata: {{name: p, namespace: app, creationTimestamp: '2025-03-01T04:00:00Z'}}\nspec: {{containers: [{{name: c, image: x}}]}}\n"
        )
    }

    #[test]
    fn held_lock_fails_with_reason_and_age() {
        let text = lock_cm(
            "release-lock",
            "{state: locked, reason: hardening, locked-at: '2025-03-01T01:00:00Z'}",
        );
        let finding = evaluate(&Lock, &text, "app");
        assert_eq!(finding.status, Status::Fail);
        assert!(
            finding.summary.contains("reason `hardening`"),
            "{}",
            finding.summary
        );
        assert!(finding.summary.contains("held 3h"), "{}", finding.summary);
    }

    #[test]
    fn look_alikes_active_and_unlocked_are_not_locks() {
        for data in ["{status: active}", "{status: unlocked}", "{state: free}"] {
            let finding = evaluate(&Lock, &lock_cm("hook-lock", data), "app");
            assert_eq!(finding.status, Status::Ok, "{data}: {finding:?}");
        }
        // `locked` in a ConfigMap that is not a lock by name.
        assert_eq!(
            evaluate(&Lock, &lock_cm("settings", "{status: locked}"), "app").status,
            Status::Ok
        );
    }

    #[test]
    fn profile_names_the_lock_and_its_keys() {
        let profile = "apiVersion: triage/v1alpha1\nkind: Profile\nlock: {configMap: gate, key: phase, lockedValues: [closed], reasonKey: why}\n";
        let finding = evaluate_with(
            &Lock,
            &lock_cm("gate", "{phase: closed, why: rollout}"),
            "app",
            profile,
        );
        assert_eq!(finding.status, Status::Fail);
        assert!(
            finding
                .fix
                .unwrap()
                .contains("phase=unlocked and why=resolved")
        );
    }
}
