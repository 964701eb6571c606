//! `quota`: a ResourceQuota with no headroom left, or too little for the repair to
//! schedule its pods (https://kubernetes.io/docs/concepts/policy/resource-quotas/).
//! Proposes the smallest sufficient limits (or the profile's targets, if larger):
//! status.used + what `FailedCreate ... exceeded quota` events asked for + the pods
//! the repair must schedule.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::finding::{Context, Evidence, Finding, ObjectRef};
use crate::quantity::parse_quantity;
use crate::signals::Signal;
use crate::snapshot::{HasMeta, Kind, in_namespace};

pub struct Quota;

pub const ID: &str = "quota";

/// A proposed new limit for one resource of one quota.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Proposal {
    pub quota: String,
    pub resource: String,
    pub used: String,
    pub hard: String,
    /// The smallest limit that fits used + blocked + repair pods.
    pub needed: String,
    /// What to set: the larger of `needed` and the profile's target.
    pub proposed: String,
}

impl Signal for Quota {
    fn id(&self) -> &'static str {
        ID
    }

    fn title(&self) -> &'static str {
        "ResourceQuota headroom"
    }

    fn reads(&self) -> &'static [Kind] {
        &[Kind::ResourceQuota, Kind::Event]
    }

    fn evaluate(&self, context: &Context) -> Finding {
        let quotas = in_namespace(&context.snapshot.resource_quotas, context.namespace);
        if quotas.is_empty() {
            return Finding::ok(ID, "no ResourceQuota in the namespace");
        }
        let repair_pods = context
            .profile
            .and_then(|p| p.migration.as_ref())
            .map_or(1, |m| m.repair_pods);
        let targets = context.profile.map(|p| &p.quota_targets);
        let mut finding = Finding::ok(ID, "");
        let mut proposals = Vec::new();
        let mut problems = Vec::new();
        for quota in &quotas {
            let object = ObjectRef::of(Kind::ResourceQuota, *quota);
            let status = quota.status.as_ref();
            // NB: status.hard is what the API server enforces; spec.hard is the request.
            let (hard, hard_path) = match status.and_then(|s| s.hard.clone()) {
                Some(hard) => (hard, "status.hard"),
                None => (
                    quota
                        .spec
                        .as_ref()
                        .and_then(|s| s.hard.clone())
                        .unwrap_or_default(),
                    "spec.hard",
                ),
            };
            let used = status.and_then(|s| s.used.clone()).unwrap_or_default();
            let events: Vec<_> = in_namespace(&context.snapshot.events, context.namespace)
                .into_iter()
                .filter(|e| {
                    e.message
                        .as_deref()
                        .is_some_and(|m| m.contains(&format!("exceeded quota: {}", quota.name())))
                })
                .collect();
            let blocked = blocked_requests(&events);
            let mut failing_here = false;
            let mut quota_proposals = Vec::new();
            for (resource, hard_q) in &hard {
                let Some(hard_v) = parse_quantity(&hard_q.0) else {
                    continue;
                };
                let used_text = used.get(resource).map_or("0".to_string(), |q| q.0.clone());
                let used_v = parse_quantity(&used_text).unwrap_or(0.0);
                let is_pods = resource == "pods" || resource == "count/pods";
                let extra = blocked.get(resource).copied().unwrap_or(0.0)
                    + if is_pods { f64::from(repair_pods) } else { 0.0 };
                let needed = used_v + extra;
                let exhausted = used_v >= hard_v;
                let short = extra > 0.0 && hard_v < needed;
                let target = targets.and_then(|t| t.get(resource));
                let target_v = target.and_then(|t| parse_quantity(t));
                if exhausted || short {
                    failing_here = true;
                    let note = if exhausted {
                        format!("used {used_text} >= hard {}: exhausted", hard_q.0)
                    } else {
                        format!(
                            "the repair needs {} but hard is {}",
                            format_like(resource, needed),
                            hard_q.0
                        )
                    };
                    finding.evidence.push(Evidence::field_note(
                        &object,
                        format!("{hard_path}.{resource}"),
                        hard_q.0.clone(),
                        note,
                    ));
                    finding.evidence.push(Evidence::field(
                        &object,
                        format!("status.used.{resource}"),
                        used_text.clone(),
                    ));
                    problems.push(format!(
                        "`{}` {resource} {used_text}/{}",
                        quota.name(),
                        hard_q.0
                    ));
                }
                let needs_raise = exhausted || short || target_v.is_some_and(|t| t > hard_v);
                if needs_raise {
                    let proposed = match (target, target_v) {
                        (Some(t), Some(tv)) if tv >= needed && tv >= hard_v => t.clone(),
                        _ => format_like(
                            resource,
                            needed.max(hard_v + if exhausted && extra == 0.0 { 1.0 } else { 0.0 }),
                        ),
                    };
                    quota_proposals.push(Proposal {
                        quota: quota.name().to_string(),
                        resource: resource.clone(),
                        used: used_text,
                        hard: hard_q.0.clone(),
                        needed: format_like(resource, needed),
                        proposed,
                    });
                }
            }
            if failing_here {
                finding.add_object(object);
                finding.evidence.extend(collapse(&events));
                proposals.extend(quota_proposals);
            }
        }
        if problems.is_empty() {
            finding.summary = format!(
                "{} quota(s) leave room for {repair_pods} repair pod(s)",
                quotas.len()
            );
            return finding;
        }
        finding.status = crate::finding::Status::Fail;
        finding.summary = format!(
            "quota exhausted or too small for the repair: {}",
            problems.join(", ")
        );
        let raises: Vec<String> = proposals
            .iter()
            .map(|p| format!("{} {} -> {}", p.resource, p.hard, p.proposed))
            .collect();
        let names: Vec<&str> = {
            let mut n: Vec<&str> = proposals.iter().map(|p| p.quota.as_str()).collect();
            n.dedup();
            n
        };
        finding.fix = Some(format!(
            "raise `{}` in place ({}); do not delete the quota",
            names.join("`, `"),
            raises.join(", ")
        ));
        finding.detail("proposals", &proposals);
        finding.detail("repairPods", repair_pods);
        finding
    }
}

/// One evidence per involved object: counts summed, the newest message kept (a
/// ReplicaSet retrying for hours leaves dozens of near-identical events).
fn collapse(events: &[&k8s_openapi::api::core::v1::Event]) -> Vec<Evidence> {
    let mut by_object: BTreeMap<(String, String), (i32, &k8s_openapi::api::core::v1::Event)> =
        BTreeMap::new();
    for event in events {
        let key = (
            event.involved_object.kind.clone().unwrap_or_default(),
            event.involved_object.name.clone().unwrap_or_default(),
        );
        let count = event.count.unwrap_or(1);
        by_object
            .entry(key)
            .and_modify(|(total, newest)| {
                *total += count;
                if crate::inventory::event_time(event) >= crate::inventory::event_time(newest) {
                    *newest = event;
                }
            })
            .or_insert((count, event));
    }
    by_object
        .into_values()
        .map(|(total, newest)| match Evidence::event(newest) {
            Evidence::Event {
                object,
                reason,
                message,
                ..
            } => Evidence::Event {
                object,
                reason,
                message,
                count: total,
            },
            other => other,
        })
        .collect()
}

/// What `exceeded quota` events asked for, per resource: the largest request per
/// involved object, summed over objects (one blocked pod per ReplicaSet/Job).
fn blocked_requests(events: &[&k8s_openapi::api::core::v1::Event]) -> BTreeMap<String, f64> {
    let mut per_object: BTreeMap<(String, String), f64> = BTreeMap::new();
    for event in events {
        let message = event.message.as_deref().unwrap_or_default();
        let Some(requested) = message
            .split_once("requested: ")
            .map(|(_, rest)| rest.split(", used:").next().unwrap_or(rest))
        else {
            continue;
        };
        let object = event.involved_object.name.clone().unwrap_or_default();
        for pair in requested.split(',') {
            if let Some((resource, amount)) = pair.trim().split_once('=')
                && let Some(value) = parse_quantity(amount)
            {
                let slot = per_object
                    .entry((resource.to_string(), object.clone()))
                    .or_default();
                *slot = slot.max(value);
            }
        }
    }
    let mut total = BTreeMap::new();
    for ((resource, _), value) in per_object {
        *total.entry(resource).or_insert(0.0) += value;
    }
    total
}

/// A value written back as a quantity in the unit people use for `resource`.
fn format_like(resource: &str, value: f64) -> String {
    let is_bytes = resource.contains("memory") || resource.contains("storage");
    let is_cpu = resource.contains("cpu");
    if is_bytes {
        let mib = (value / (1024.0 * 1024.0)).ceil();
        if mib >= 1024.0 && (mib % 1024.0) == 0.0 {
            format!("{}Gi", mib / 1024.0)
        } else {
            format!("{mib}Mi")
        }
    } else if is_cpu && value.fract() != 0.0 {
        format!("{}m", (value * 1000.0).ceil())
    } else {
        format!("{}", value.ceil())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::Status;
    use crate::signals::test_support::{evaluate, evaluate_with};

    fn quota(hard: &str, used: &str) -> String {
        format!(
            "apiVersion: v1\nkind: ResourceQuota\nmetadata: {{name: q, namespace: shop}}\nspec: {{hard: {hard}}}\nstatus: {{hard: {hard}, used: {used}}}\n"
        )
    }

    const EVENT: &str = "---\napiVersion: v1\nkind: Event\nmetadata: {name: e1, namespace: shop}\ninvolvedObject: {kind: Job, name: migrate, namespace: shop}\nreason: FailedCreate\ntype: Warning\ncount: 4\nmessage: 'Error creating: pods \"migrate-x\" is forbidden: exceeded quota: q, requested: pods=1, used: pods=1, limited: pods=1'\n";

    #[test]
    fn exhausted_pods_quota_fails_with_smallest_raise() {
        let text = format!("{}{EVENT}", quota("{pods: \"1\"}", "{pods: \"1\"}"));
        let finding = evaluate(&Quota, &text, "shop");
        assert_eq!(finding.status, Status::Fail);
        // used 1 + 1 blocked by the event + 1 repair pod.
        assert_eq!(finding.details["proposals"][0]["proposed"], "3");
        assert!(
            finding
                .evidence
                .iter()
                .any(|e| matches!(e, Evidence::Event { count: 4, .. }))
        );
        assert!(finding.fix.unwrap().contains("pods 1 -> 3"));
    }

    #[test]
    fn profile_targets_win_when_larger() {
        let text = quota(
            "{pods: \"1\", requests.cpu: \"1\", requests.memory: 512Mi}",
            "{pods: \"1\", requests.cpu: 200m, requests.memory: 128Mi}",
        );
        let profile = "apiVersion: triage/v1alpha1\nkind: Profile\nquotaTargets: {pods: \"8\", requests.cpu: \"2\", requests.memory: 1Gi}\n";
        let finding = evaluate_with(&Quota, &text, "shop", profile);
        assert_eq!(finding.status, Status::Fail);
        let fix = finding.fix.unwrap();
        assert!(fix.contains("pods 1 -> 8"), "{fix}");
        assert!(fix.contains("requests.cpu 1 -> 2"), "{fix}");
        assert!(fix.contains("requests.memory 512Mi -> 1Gi"), "{fix}");
    }

    #[test]
    fn look_alike_quota_with_headroom_is_ok() {
        let text = quota(
            "{pods: \"8\", requests.cpu: \"2\"}",
            "{pods: \"5\", requests.cpu: 500m}",
        );
        let finding = evaluate(&Quota, &text, "shop");
        assert_eq!(finding.status, Status::Ok, "{finding:?}");
        assert!(finding.fix.is_none());
    }

    #[test]
    fn full_quota_without_room_for_the_repair_fails() {
        // 3 of 3 pods used: the repair's migration pod would be refused.
        let finding = evaluate(&Quota, &quota("{pods: \"3\"}", "{pods: \"3\"}"), "shop");
        assert_eq!(finding.status, Status::Fail);
        assert_eq!(finding.details["proposals"][0]["proposed"], "4");
    }
}
