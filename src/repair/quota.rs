//! `quota`: raise a ResourceQuota's limits in place to the signal's proposals (or the
//! user's `--set resource=value`). A quota is a governance control: it is never deleted
//! and a limit is never lowered, whatever the override says.

use serde_json::Value;

use super::{Action, Refusal, Repair, RepairOptions, Step, Target, details_of, snapshot_value};
use crate::finding::{Context, Finding};
use crate::k8s::quantity::parse_quantity;
use crate::signals::quota::Details;
use crate::snapshot::{HasMeta, Kind, in_namespace};

pub struct RaiseQuota;

const ID: &str = "quota";

impl Repair for RaiseQuota {
    fn id(&self) -> &'static str {
        ID
    }

    fn plan(
        &self,
        context: &Context,
        finding: &Finding,
        options: &RepairOptions,
    ) -> Result<Step, Refusal> {
        let details = details_of::<Details>(ID, finding)?;
        let proposals = &details.proposals;
        if proposals.is_empty() {
            return Err(Refusal::new(ID, "the quota finding proposes no limit"));
        }
        for (resource, value) in &options.quota_overrides {
            if parse_quantity(value).is_none() {
                return Err(Refusal::new(
                    ID,
                    format!("`--set {resource}={value}`: `{value}` is not a quantity"),
                ));
            }
        }
        let mut step = Step::new(ID, "", finding);
        for resource in options.quota_overrides.keys() {
            if !proposals.iter().any(|p| &p.resource == resource) {
                step.warnings.push(format!(
                    "`--set {resource}=...` ignored: no quota limit on `{resource}` needs raising"
                ));
            }
        }
        // Quotas in the order the proposals name them.
        let mut quota_names: Vec<&str> = Vec::new();
        for proposal in proposals {
            let name = proposal.quota.as_str();
            if !quota_names.contains(&name) {
                quota_names.push(name);
            }
        }
        let mut raises = Vec::new();
        for name in quota_names {
            let quota = in_namespace(&context.snapshot.resource_quotas, context.namespace)
                .into_iter()
                .find(|q| q.name() == name)
                .ok_or_else(|| {
                    Refusal::new(ID, format!("ResourceQuota `{name}` is not in the snapshot"))
                })?;
            let before = snapshot_value(ID, quota)?;
            let mut after = before.clone();
            for proposal in proposals.iter().filter(|p| p.quota == name) {
                let resource = proposal.resource.as_str();
                let proposed = proposal.proposed.as_str();
                // NB: spec.hard is what we write; status.hard follows it.
                let current = before["spec"]["hard"][resource]
                    .as_str()
                    .unwrap_or(&proposal.hard)
                    .to_string();
                let (wanted, source) = match options.quota_overrides.get(resource) {
                    Some(value) => (value.as_str(), "--set"),
                    None => (proposed, "proposed"),
                };
                let (Some(wanted_v), Some(current_v)) =
                    (parse_quantity(wanted), parse_quantity(&current))
                else {
                    return Err(Refusal::new(
                        ID,
                        format!("`{name}` {resource}: `{current}` or `{wanted}` is not a quantity"),
                    ));
                };
                if wanted_v < current_v {
                    step.warnings.push(format!(
                        "`{name}` {resource}: {source} {wanted} is below the current {current}; kept {current} (a limit is never lowered)"
                    ));
                    continue;
                }
                if wanted_v == current_v {
                    continue;
                }
                after["spec"]["hard"][resource] = Value::String(wanted.to_string());
                raises.push(format!("{resource} {current} -> {wanted}"));
            }
            if after != before {
                step.actions.push(Action::Patch {
                    target: Target::new(Kind::ResourceQuota, context.namespace, name),
                    before,
                    after,
                });
            }
        }
        if step.actions.is_empty() {
            return Err(Refusal::new(
                ID,
                format!(
                    "nothing to raise: {}",
                    if step.warnings.is_empty() {
                        "every limit already meets the proposal".to_string()
                    } else {
                        step.warnings.join("; ")
                    }
                ),
            ));
        }
        let names: Vec<String> = step
            .actions
            .iter()
            .map(|a| format!("`{}`", a.target().name))
            .collect();
        step.title = format!(
            "raise {} in place ({})",
            names.join(", "),
            raises.join(", ")
        );
        Ok(step)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::repair::test_support::{fixture_context, plan_for};

    fn patch(step: &Step) -> (&Value, &Value) {
        let [Action::Patch { before, after, .. }] = step.actions.as_slice() else {
            panic!("one patch expected: {:?}", step.actions);
        };
        (before, after)
    }

    #[test]
    fn raises_the_incident_quota_in_place_to_the_proposals() {
        let step = plan_for(
            &fixture_context("bleater-incident.yaml", "bleater"),
            &RaiseQuota,
            &RepairOptions::default(),
        )
        .unwrap();
        let (before, after) = patch(&step);
        assert_eq!(step.actions[0].target().name, "bleater-quota");
        assert_eq!(before["spec"]["hard"]["pods"], "1");
        // used 18 + 2 blocked + 1 repair pod; cpu: the profile's target (1125m used +
        // 75m blocked + the migration pod's 50m fit in 2); memory: 888Mi used + 80Mi
        // blocked + the migration pod's 64Mi = 1032Mi, more than the 1Gi target (with
        // 1Gi the migration pod itself would be refused).
        assert_eq!(after["spec"]["hard"]["pods"], "21");
        assert_eq!(after["spec"]["hard"]["requests.cpu"], "2");
        assert_eq!(after["spec"]["hard"]["requests.memory"], "1032Mi");
        // Only spec.hard changes: metadata (uid, resourceVersion) and status stay.
        assert_eq!(after["metadata"], before["metadata"]);
        assert_eq!(after["status"], before["status"]);
        let mut rest = after.clone();
        rest["spec"]["hard"] = before["spec"]["hard"].clone();
        assert_eq!(&rest, before);
        assert!(step.warnings.is_empty(), "{:?}", step.warnings);
        assert!(step.title.contains("pods 1 -> 21"), "{}", step.title);
    }

    #[test]
    fn overrides_win_over_the_proposal() {
        let options = RepairOptions {
            quota_overrides: [("pods".to_string(), "30".to_string())].into(),
            ..RepairOptions::default()
        };
        let step = plan_for(
            &fixture_context("bleater-incident.yaml", "bleater"),
            &RaiseQuota,
            &options,
        )
        .unwrap();
        let (_, after) = patch(&step);
        assert_eq!(after["spec"]["hard"]["pods"], "30");
        assert_eq!(after["spec"]["hard"]["requests.cpu"], "2");
    }

    #[test]
    fn look_alike_override_below_the_current_limit_keeps_it_and_warns() {
        // shop-compute: pods 4/4, proposal 6. `--set pods=2` would lower the limit.
        let options = RepairOptions {
            quota_overrides: [("pods".to_string(), "2".to_string())].into(),
            ..RepairOptions::default()
        };
        let refusal = plan_for(
            &fixture_context("shop-incident.yaml", "shop"),
            &RaiseQuota,
            &options,
        )
        .unwrap_err();
        assert!(
            refusal.reason.contains("never lowered"),
            "{}",
            refusal.reason
        );

        // On bleater, the other resources still go up; pods stays and a warning says so.
        let options = RepairOptions {
            quota_overrides: [("requests.cpu".to_string(), "100m".to_string())].into(),
            ..RepairOptions::default()
        };
        let step = plan_for(
            &fixture_context("bleater-incident.yaml", "bleater"),
            &RaiseQuota,
            &options,
        )
        .unwrap();
        let (_, after) = patch(&step);
        assert_eq!(after["spec"]["hard"]["requests.cpu"], "500m");
        assert_eq!(after["spec"]["hard"]["pods"], "21");
        assert!(
            step.warnings[0].contains("100m is below the current 500m"),
            "{:?}",
            step.warnings
        );
    }

    #[test]
    fn shop_quota_is_raised_without_a_profile() {
        let step = plan_for(
            &fixture_context("shop-incident.yaml", "shop"),
            &RaiseQuota,
            &RepairOptions::default(),
        )
        .unwrap();
        let (_, after) = patch(&step);
        assert_eq!(after["metadata"]["name"], "shop-compute");
        assert_eq!(after["spec"]["hard"]["pods"], "6");
    }

    #[test]
    fn an_override_that_is_not_a_quantity_is_refused() {
        let options = RepairOptions {
            quota_overrides: [("pods".to_string(), "lots".to_string())].into(),
            ..RepairOptions::default()
        };
        let refusal = plan_for(
            &fixture_context("shop-incident.yaml", "shop"),
            &RaiseQuota,
            &options,
        )
        .unwrap_err();
        assert!(
            refusal.reason.contains("not a quantity"),
            "{}",
            refusal.reason
        );
    }
}
