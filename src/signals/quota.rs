//! `quota`: a ResourceQuota with no headroom left, or too little for the repair to
//! schedule its pods (https://kubernetes.io/docs/concepts/policy/resource-quotas/).
//! Proposes the smallest sufficient limits (or the profile's targets, if larger):
//! status.used + what `FailedCreate ... exceeded quota` events asked for + what the
//! repair itself needs: its pods (`pods`, `count/pods`), its Job (`count/jobs.batch`)
//! and its pod's requests and limits (cpu, memory, from the migration Job's template,
//! LimitRange defaults applied as the LimitRanger admission plugin does). A refused
//! create stops counting once a later `SuccessfulCreate` exists for the same owner (the
//! controller got its pod after all). A pod without a request for a tracked compute
//! resource is refused outright ("must specify"), so that fails too.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use k8s_openapi::api::core::v1::{Container, Event, PodSpec};

use crate::finding::{Context, Evidence, Finding, ObjectRef};
use crate::k8s::quantity::parse_quantity;
use crate::signals::{Chain, ChainState, Gate, Signal};
use crate::snapshot::{HasMeta, Kind, in_namespace};

pub struct Quota;

pub const ID: &str = "quota";

/// A proposed new limit for one resource of one quota.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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

/// Its section of `docs/signals.md`.
const DOCS: &str = r#"
Keys on ResourceQuota `status.hard` (what the API server enforces; `spec.hard` only when
status is missing) and `status.used`, and `FailedCreate` events whose message says
`exceeded quota: <name>, requested: ...`.
[Resource quotas](https://kubernetes.io/docs/concepts/policy/resource-quotas/).
Fails when any resource has used >= hard, or when hard is below used + what the events
asked for + what the repair itself needs: its pods (`pods`, `count/pods`:
`migration.repairPods`, default 1), its Job (`count/jobs.batch`, with a migration in the
profile) and its pod's cpu/memory requests and limits (the migration Job template, else
the pod spec of the Job that mounts the script; LimitRange defaults applied as the
LimitRanger does). A pod that sets no request for a tracked compute resource is refused
outright ("must specify"): that fails too. A refusal followed by a later
`SuccessfulCreate` for the same owner is stale and no longer counts. Proposes the
smallest sufficient limit, or the profile's `quotaTargets` if larger. Fix: raise in
place, never delete. Look-alikes: a quota at 60% with room for the repair pod's requests,
and a stale refusal, are ok.
"#;

impl Signal for Quota {
    fn id(&self) -> &'static str {
        ID
    }

    fn title(&self) -> &'static str {
        "ResourceQuota headroom"
    }

    fn reads(&self) -> &'static [Kind] {
        // LimitRanges default the repair pod's requests; a Job that mounts the
        // migration script gives its pod spec when the profile has no job template.
        &[
            Kind::ResourceQuota,
            Kind::Event,
            Kind::LimitRange,
            Kind::Job,
        ]
    }

    fn chain(&self) -> Option<Chain> {
        Some(Chain {
            state: ChainState::Progressing,
            position: 6,
        })
    }

    fn gates(&self) -> &'static [Gate] {
        &[
            Gate {
                gated: "schema",
                because: "blocks scheduling of the migration Job",
            },
            Gate {
                gated: "init-container",
                because: "blocks scheduling of the app pod",
            },
        ]
    }

    fn rationale(&self) -> Option<&'static str> {
        Some("every other repair needs to schedule a pod")
    }

    fn docs(&self) -> &'static str {
        DOCS
    }

    fn evaluate(&self, context: &Context) -> Finding {
        let quotas = in_namespace(&context.snapshot.resource_quotas, context.namespace);
        if quotas.is_empty() {
            return Finding::ok(ID, "no ResourceQuota in the namespace");
        }
        let all_events = in_namespace(&context.snapshot.events, context.namespace);
        // Events by the quota their message names (`exceeded quota: NAME, requested: ...`,
        // the admission plugin's words), read once instead of once per quota.
        let mut refused_by: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
        for (position, event) in all_events.iter().enumerate() {
            let message = event.message.as_deref().unwrap_or_default();
            for (at, _) in message.match_indices(QUOTA_REFUSAL) {
                let rest = &message[at + QUOTA_REFUSAL.len()..];
                let end = rest
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '.'))
                    .unwrap_or(rest.len());
                refused_by.entry(&rest[..end]).or_default().push(position);
            }
        }
        let repair_pods = context
            .profile
            .and_then(|p| p.migration.as_ref())
            .map_or(1, |m| m.repair_pods);
        let repair = RepairNeeds::of(context, repair_pods);
        let targets = context.profile.map(|p| &p.quota_targets);
        let mut finding = Finding::ok(ID, "");
        let mut proposals = Vec::new();
        let mut problems = Vec::new();
        // Tracked resources the repair's pod does not specify (refused outright).
        let mut unspecified: Vec<String> = Vec::new();
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
            // A message names this quota when the name follows the words (also as a
            // prefix of a longer name, as a substring test would read it).
            let mut positions: Vec<usize> = refused_by
                .range(quota.name()..)
                .take_while(|(named, _)| named.starts_with(quota.name()))
                .flat_map(|(_, positions)| positions.iter().copied())
                .collect();
            positions.sort_unstable();
            positions.dedup();
            let (events, stale): (Vec<_>, Vec<_>) = positions
                .into_iter()
                .map(|p| all_events[p])
                .partition(|e| !created_later(context, e));
            let blocked = blocked_requests(&events);
            let mut failing_here = false;
            let mut quota_proposals = Vec::new();
            for (resource, hard_q) in &hard {
                let Some(hard_v) = parse_quantity(&hard_q.0) else {
                    continue;
                };
                let used_text = used.get(resource).map_or("0".to_string(), |q| q.0.clone());
                let used_v = parse_quantity(&used_text).unwrap_or(0.0);
                let for_repair = repair.amount(resource);
                let extra =
                    blocked.get(resource).copied().unwrap_or(0.0) + for_repair.unwrap_or(0.0);
                let needed = used_v + extra;
                let exhausted = used_v >= hard_v;
                let short = extra > 0.0 && hard_v < needed;
                // NB: a quota on a compute resource refuses a pod that does not say how
                // much it requests ("must specify requests.cpu"), whatever the headroom
                // (https://kubernetes.io/docs/concepts/policy/resource-quotas/#requests-vs-limits).
                if for_repair.is_none() {
                    failing_here = true;
                    unspecified.push(resource.clone());
                    finding.evidence.push(Evidence::field_note(
                        &object,
                        format!("{hard_path}.{resource}"),
                        hard_q.0.clone(),
                        format!(
                            "the repair's pod ({}) sets no {resource}: the quota refuses it (must specify {resource})",
                            repair.source
                        ),
                    ));
                    problems.push(format!(
                        "`{}` refuses the repair's pod (no {resource} in {})",
                        quota.name(),
                        repair.source
                    ));
                    continue;
                }
                let target = targets.and_then(|t| t.get(resource));
                let target_v = target.and_then(|t| parse_quantity(t));
                if exhausted || short {
                    failing_here = true;
                    let note = if exhausted {
                        format!("used {used_text} >= hard {}: exhausted", hard_q.0)
                    } else {
                        format!(
                            "used {used_text} + {} for the repair and refused creates = {} > hard {}",
                            format_like(resource, extra),
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
                finding.add_object(object.clone());
                finding.evidence.extend(collapse(&events));
                for event in &stale {
                    finding.evidence.push(Evidence::field_note(
                        &object,
                        "events",
                        format!(
                            "{} {}/{}",
                            event.reason.as_deref().unwrap_or_default(),
                            event.involved_object.kind.as_deref().unwrap_or_default(),
                            event.involved_object.name.as_deref().unwrap_or_default()
                        ),
                        "stale: a later SuccessfulCreate for the same owner",
                    ));
                }
                proposals.extend(quota_proposals);
            }
        }
        if problems.is_empty() {
            finding.summary = format!(
                "{} quota(s) leave room for {}",
                quotas.len(),
                repair.describe()
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
        let mut fixes = Vec::new();
        if !proposals.is_empty() {
            fixes.push(format!(
                "raise `{}` in place ({}); do not delete the quota",
                names.join("`, `"),
                raises.join(", ")
            ));
        }
        unspecified.sort();
        unspecified.dedup();
        if !unspecified.is_empty() {
            fixes.push(format!(
                "set {} in the migration pod ({})",
                unspecified.join(", "),
                repair.source
            ));
        }
        finding.fix = Some(fixes.join("; "));
        finding.set_details(Details {
            proposals,
            repair_pods,
        });
        finding
    }
}

/// What the repair itself will ask the quota for.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RepairNeeds {
    pub pods: u32,
    /// Jobs it creates (the migration Job, when the profile describes a migration).
    pub jobs: u32,
    /// Per pod, by `requests.cpu`, `limits.memory`, ...; `None` when the pod spec does
    /// not say (and no LimitRange defaults it).
    pub per_pod: BTreeMap<String, Option<f64>>,
    /// Where the pod spec comes from (`the profile's job template`), or `unknown`.
    pub source: String,
    #[serde(skip)]
    known_spec: bool,
}

impl RepairNeeds {
    fn of(context: &Context, pods: u32) -> Self {
        let migration = context.profile.and_then(|p| p.migration.as_ref());
        let spec = crate::repair::migrate::repair_pod_spec(context).and_then(|(value, source)| {
            serde_json::from_value::<PodSpec>(value)
                .ok()
                .map(|s| (s, source))
        });
        let defaults = limit_range_defaults(context);
        let mut per_pod = BTreeMap::new();
        let known_spec = spec.is_some();
        if let Some((spec, _)) = &spec {
            for kind in ["requests", "limits"] {
                for resource in ["cpu", "memory"] {
                    per_pod.insert(
                        format!("{kind}.{resource}"),
                        pod_amount(spec, kind, resource, &defaults),
                    );
                }
            }
        }
        Self {
            pods,
            jobs: u32::from(migration.is_some()),
            per_pod,
            source: spec.map_or_else(|| "unknown".to_string(), |(_, source)| source),
            known_spec,
        }
    }

    /// What the repair adds to quota resource `resource`: `Some(0)` when it adds
    /// nothing, `None` when its pod would be refused for not saying.
    fn amount(&self, resource: &str) -> Option<f64> {
        let pods = f64::from(self.pods);
        let key = match resource {
            "pods" | "count/pods" => return Some(pods),
            "count/jobs.batch" => return Some(f64::from(self.jobs)),
            "cpu" | "memory" => format!("requests.{resource}"),
            other => other.to_string(),
        };
        if !self.known_spec {
            return Some(0.0);
        }
        match self.per_pod.get(&key) {
            Some(Some(amount)) => Some(amount * pods),
            Some(None) => None,
            None => Some(0.0),
        }
    }

    /// `1 repair pod(s)`, with its requests when known.
    fn describe(&self) -> String {
        let mut text = format!("{} repair pod(s)", self.pods);
        let requests: Vec<String> = ["requests.cpu", "requests.memory"]
            .iter()
            .filter_map(|key| {
                let amount = (*self.per_pod.get(*key)?)?;
                Some(format!("{key}={}", format_like(key, amount)))
            })
            .collect();
        if !requests.is_empty() {
            text.push_str(&format!(" ({})", requests.join(", ")));
        }
        if self.jobs > 0 {
            text.push_str(&format!(" and {} Job(s)", self.jobs));
        }
        text
    }
}

/// Container defaults from the namespace's LimitRanges: `(requests|limits, resource)`
/// -> amount.
fn limit_range_defaults(context: &Context) -> BTreeMap<(String, String), f64> {
    let mut defaults = BTreeMap::new();
    for range in in_namespace(&context.snapshot.limit_ranges, context.namespace) {
        for item in range.spec.iter().flat_map(|s| s.limits.iter()) {
            if item.type_ != "Container" {
                continue;
            }
            for (kind, values) in [
                ("requests", item.default_request.as_ref()),
                ("limits", item.default.as_ref()),
            ] {
                for (resource, quantity) in values.into_iter().flatten() {
                    if let Some(amount) = parse_quantity(&quantity.0) {
                        defaults.insert((kind.to_string(), resource.clone()), amount);
                    }
                }
            }
        }
    }
    defaults
}

/// One container's request or limit of `resource`, as admission leaves it: its own
/// value; for a request, else its limit (the API defaults a missing request to the
/// limit), else the LimitRange's defaultRequest, else its default limit.
fn container_amount(
    container: &Container,
    kind: &str,
    resource: &str,
    defaults: &BTreeMap<(String, String), f64>,
) -> Option<f64> {
    let resources = container.resources.as_ref();
    let own = |which: &str| {
        let map = match which {
            "requests" => resources.and_then(|r| r.requests.as_ref()),
            _ => resources.and_then(|r| r.limits.as_ref()),
        };
        map.and_then(|m| m.get(resource))
            .and_then(|q| parse_quantity(&q.0))
    };
    let default = |which: &str| {
        defaults
            .get(&(which.to_string(), resource.to_string()))
            .copied()
    };
    match kind {
        "requests" => own("requests")
            .or_else(|| own("limits"))
            .or_else(|| default("requests"))
            .or_else(|| default("limits")),
        _ => own("limits").or_else(|| default("limits")),
    }
}

/// The pod's effective amount: the sum over its containers, or the largest init
/// container if that is more (init containers run one at a time, before the others).
fn pod_amount(
    spec: &PodSpec,
    kind: &str,
    resource: &str,
    defaults: &BTreeMap<(String, String), f64>,
) -> Option<f64> {
    let mut sum = 0.0;
    for container in &spec.containers {
        sum += container_amount(container, kind, resource, defaults)?;
    }
    let mut init_max: f64 = 0.0;
    for container in spec.init_containers.iter().flatten() {
        init_max = init_max.max(container_amount(container, kind, resource, defaults)?);
    }
    Some(sum.max(init_max))
}

/// A later `SuccessfulCreate` event about the same owner says the refused create went
/// through after all (the quota was raised, or pods finished): the refusal is stale.
/// What the ResourceQuota admission plugin writes before the quota's name.
const QUOTA_REFUSAL: &str = "exceeded quota: ";

fn created_later(context: &Context, event: &Event) -> bool {
    let when = crate::k8s::events::event_time(event);
    let about = &event.involved_object;
    context
        .snapshot
        .events_about(
            context.namespace,
            about.kind.as_deref().unwrap_or_default(),
            about.name.as_deref().unwrap_or_default(),
        )
        .into_iter()
        .any(|other| {
            other.reason.as_deref() == Some("SuccessfulCreate")
                && crate::k8s::events::event_time(other) > when
        })
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
                if crate::k8s::events::event_time(event) >= crate::k8s::events::event_time(newest) {
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

/// What the `quota` repair reads: the limits to raise.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Details {
    /// In the order the quotas were read; the repair patches them in this order.
    pub proposals: Vec<Proposal>,
    /// Pods the repair itself runs (the profile's `repairPods`, else 1).
    pub repair_pods: u32,
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

    /// A migration whose Job template requests 50m cpu and 64Mi memory.
    const PROFILE: &str = "apiVersion: triage/v1alpha1\nkind: Profile\nmigration:\n  repairPods: 1\n  jobTemplate:\n    restartPolicy: Never\n    containers:\n    - name: migrate\n      image: postgres:15\n      resources: {requests: {cpu: 50m, memory: 64Mi}, limits: {cpu: 250m, memory: 128Mi}}\n";

    #[test]
    fn the_repair_pods_cpu_and_memory_requests_count() {
        // 980m of 1 cpu used: room for a pod, not for one that requests 50m.
        let text = quota(
            "{pods: \"10\", requests.cpu: \"1\", requests.memory: 1Gi}",
            "{pods: \"4\", requests.cpu: 980m, requests.memory: 512Mi}",
        );
        let finding = evaluate_with(&Quota, &text, "shop", PROFILE);
        assert_eq!(finding.status, Status::Fail, "{finding:?}");
        assert_eq!(finding.details["proposals"][0]["resource"], "requests.cpu");
        assert_eq!(finding.details["proposals"][0]["proposed"], "1030m");
        assert_eq!(finding.details["proposals"].as_array().unwrap().len(), 1);
        // Look-alike: the same quota at 60%: green, and it says what it made room for.
        let text = quota(
            "{pods: \"10\", requests.cpu: \"1\", requests.memory: 1Gi}",
            "{pods: \"6\", requests.cpu: 600m, requests.memory: 600Mi}",
        );
        let finding = evaluate_with(&Quota, &text, "shop", PROFILE);
        assert_eq!(finding.status, Status::Ok, "{finding:?}");
        assert_eq!(
            finding.summary,
            "1 quota(s) leave room for 1 repair pod(s) (requests.cpu=50m, requests.memory=64Mi) and 1 Job(s)"
        );
    }

    #[test]
    fn the_repair_job_counts_against_count_jobs() {
        let text = quota("{count/jobs.batch: \"3\"}", "{count/jobs.batch: \"3\"}");
        let finding = evaluate_with(&Quota, &text, "shop", PROFILE);
        assert_eq!(finding.status, Status::Fail);
        assert_eq!(finding.details["proposals"][0]["needed"], "4");
        let text = quota("{count/jobs.batch: \"5\"}", "{count/jobs.batch: \"3\"}");
        assert_eq!(
            evaluate_with(&Quota, &text, "shop", PROFILE).status,
            Status::Ok
        );
    }

    #[test]
    fn a_repair_pod_without_a_tracked_request_is_refused_unless_a_limit_range_defaults_it() {
        let profile = PROFILE.replace(
            "resources: {requests: {cpu: 50m, memory: 64Mi}, limits: {cpu: 250m, memory: 128Mi}}",
            "resources: {requests: {cpu: 50m}}",
        );
        let text = quota(
            "{pods: \"10\", requests.memory: 1Gi}",
            "{pods: \"2\", requests.memory: 100Mi}",
        );
        let finding = evaluate_with(&Quota, &text, "shop", &profile);
        assert_eq!(finding.status, Status::Fail, "{finding:?}");
        assert!(
            finding.summary.contains(
                "`q` refuses the repair's pod (no requests.memory in the profile's job template)"
            ),
            "{}",
            finding.summary
        );
        assert!(
            finding
                .fix
                .unwrap()
                .contains("set requests.memory in the migration pod")
        );
        let defaulted = format!(
            "{text}---\napiVersion: v1\nkind: LimitRange\nmetadata: {{name: defaults, namespace: shop}}\nspec: {{limits: [{{type: Container, defaultRequest: {{memory: 64Mi}}, default: {{memory: 128Mi}}}}]}}\n"
        );
        let finding = evaluate_with(&Quota, &defaulted, "shop", &profile);
        assert_eq!(finding.status, Status::Ok, "{finding:?}");
    }

    fn rs_event(name: &str, reason: &str, time: &str, message: &str) -> String {
        format!(
            "---\napiVersion: v1\nkind: Event\nmetadata: {{name: {name}, namespace: shop}}\ninvolvedObject: {{kind: ReplicaSet, name: api-7d9, namespace: shop}}\nreason: {reason}\ntype: {}\ncount: 1\nlastTimestamp: \"{time}\"\nmessage: '{message}'\n",
            if reason == "FailedCreate" {
                "Warning"
            } else {
                "Normal"
            }
        )
    }

    #[test]
    fn a_refusal_followed_by_a_successful_create_is_stale() {
        let refused = rs_event(
            "e1",
            "FailedCreate",
            "2024-11-19T01:00:00Z",
            "Error creating: pods \"api-7d9-x\" is forbidden: exceeded quota: q, requested: pods=1, used: pods=2, limited: pods=2",
        );
        let created =
            |time: &str| rs_event("e2", "SuccessfulCreate", time, "Created pod: api-7d9-y");
        // 1 of 2 pods used now; the refusal was before the create went through.
        let stale = format!(
            "{}{refused}{}",
            quota("{pods: \"2\"}", "{pods: \"1\"}"),
            created("2024-11-19T01:05:00Z")
        );
        let finding = evaluate(&Quota, &stale, "shop");
        assert_eq!(finding.status, Status::Ok, "{finding:?}");
        // The create came first, the refusal after it: still blocking.
        let blocking = format!(
            "{}{refused}{}",
            quota("{pods: \"2\"}", "{pods: \"1\"}"),
            created("2024-11-19T00:55:00Z")
        );
        let finding = evaluate(&Quota, &blocking, "shop");
        assert_eq!(finding.status, Status::Fail);
        assert_eq!(
            finding.objects,
            vec![ObjectRef::new(Kind::ResourceQuota, "shop", "q")]
        );
        assert_eq!(finding.details["proposals"][0]["needed"], "3");
    }
}
