//! `egress`: give the pods a default-deny policy shut in their DNS (and database) back,
//! with a NEW NetworkPolicy `<namespace>-allow-egress-essentials` beside it. The deny
//! policy is a governance control and stays exactly as it is: NetworkPolicies are
//! additive, so an allow policy selecting the same pods re-opens only what it lists
//! (https://kubernetes.io/docs/concepts/services-networking/network-policies/).
//!
//! Rules: kube-system on UDP and TCP 53 (DNS); the database pods on their port when a
//! failing pod may not reach them. The pod selector is the isolating policy's own, so
//! exactly the pods it shut in are let out.

use k8s_openapi::api::networking::v1::NetworkPolicy;
use serde_json::json;

use super::{Action, Refusal, Repair, RepairOptions, Step, Target, details_of};
use crate::finding::{Context, Finding};
use crate::k8s::netpol::{NAMESPACE_NAME_LABEL, Verdict};
use crate::k8s::selector;
use crate::signals::egress::{Details, PodVerdict};
use crate::snapshot::{HasMeta, Kind, in_namespace};

pub struct AllowEssentialEgress;

const ID: &str = "egress";

/// The name of the policy the repair creates.
pub fn policy_name(namespace: &str) -> String {
    format!("{namespace}-allow-egress-essentials")
}

impl Repair for AllowEssentialEgress {
    fn id(&self) -> &'static str {
        ID
    }

    fn plan(
        &self,
        context: &Context,
        finding: &Finding,
        _options: &RepairOptions,
    ) -> Result<Step, Refusal> {
        let ns = context.namespace;
        let name = policy_name(ns);
        let policies = in_namespace(&context.snapshot.network_policies, ns);
        if policies.iter().any(|p| p.name() == name) {
            return Err(Refusal::new(
                ID,
                format!(
                    "NetworkPolicy `{name}` already exists: triage will not overwrite it; check its rules by hand"
                ),
            ));
        }
        let details = details_of::<Details>(ID, finding)?;
        if details.pods.is_empty() {
            return Err(Refusal::new(ID, "the egress finding names no pod"));
        }
        let database_blocked = |v: &PodVerdict| v.database == Some(Verdict::Denied);
        let failing: Vec<(&String, &PodVerdict)> = details
            .pods
            .iter()
            .filter(|(_, v)| v.dns == Verdict::Denied || database_blocked(v))
            .collect();
        let database_denied = failing.iter().any(|(_, v)| database_blocked(v));
        let mut isolating: Vec<&NetworkPolicy> = Vec::new();
        for (_, verdict) in &failing {
            for policy_name in &verdict.isolating {
                if let Some(policy) = policies.iter().find(|p| p.name() == policy_name)
                    && !isolating.iter().any(|p| p.name() == policy.name())
                {
                    isolating.push(policy);
                }
            }
        }
        if isolating.is_empty() {
            return Err(Refusal::new(
                ID,
                "no NetworkPolicy in the snapshot isolates the failing pods",
            ));
        }
        let pod_labels: Vec<_> = failing
            .iter()
            .filter_map(|(pod, _)| {
                in_namespace(&context.snapshot.pods, ns)
                    .into_iter()
                    .find(|p| p.name() == pod.as_str())
            })
            .map(|p| p.metadata.labels.as_ref())
            .collect();
        // The isolating policy whose selector covers every failing pod (the deny-all).
        let chosen = isolating
            .iter()
            .find(|policy| {
                let selector = policy.spec.as_ref().and_then(|s| s.pod_selector.as_ref());
                let empty = Default::default();
                pod_labels
                    .iter()
                    .all(|labels| selector::matches(Some(selector.unwrap_or(&empty)), *labels))
            })
            .ok_or_else(|| {
                Refusal::new(
                    ID,
                    format!(
                        "the pods are shut in by policies with different pod selectors ({}): no single allow policy matches exactly them; allow egress by hand",
                        isolating
                            .iter()
                            .map(|p| format!("`{}`", p.name()))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                )
            })?;
        let pod_selector = chosen
            .spec
            .as_ref()
            .and_then(|s| s.pod_selector.clone())
            .unwrap_or_default();
        let pod_selector = serde_json::to_value(&pod_selector)
            .map_err(|e| Refusal::new(ID, format!("cannot serialize: {e}")))?;

        let mut rules = vec![json!({
            "to": [{"namespaceSelector": {"matchLabels": {NAMESPACE_NAME_LABEL: "kube-system"}}}],
            "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
        })];
        let mut allows = vec!["DNS (kube-system UDP+TCP/53)".to_string()];
        let database = details.database.as_ref().filter(|_| database_denied);
        if let Some(database) = database {
            rules.push(json!({
                "to": [{"podSelector": {"matchLabels": database.pod_labels}}],
                "ports": [{"protocol": "TCP", "port": database.port}],
            }));
            allows.push(format!(
                "the database ({} TCP/{})",
                database
                    .pod_labels
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join(","),
                database.port
            ));
        }
        let object = json!({
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": {
                "name": name,
                "namespace": ns,
                "labels": {"app.kubernetes.io/managed-by": "triage"},
            },
            "spec": {
                "podSelector": pod_selector,
                "policyTypes": ["Egress"],
                "egress": rules,
            },
        });
        let mut step = Step::new(
            ID,
            format!(
                "create NetworkPolicy `{name}` allowing {} for the pods `{}` selects ({}); `{}` stays untouched",
                allows.join(" and "),
                chosen.name(),
                selector::describe(chosen.spec.as_ref().and_then(|s| s.pod_selector.as_ref())),
                chosen.name()
            ),
            finding,
        );
        let others: Vec<String> = isolating
            .iter()
            .filter(|p| p.name() != chosen.name())
            .map(|p| format!("`{}`", p.name()))
            .collect();
        if !others.is_empty() {
            step.warnings.push(format!(
                "{} also isolate some of these pods; the allow policy covers them too, since policies add up",
                others.join(", ")
            ));
        }
        step.actions.push(Action::Create {
            target: Target::new(Kind::NetworkPolicy, ns, &name),
            object,
        });
        Ok(step)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;
    use crate::repair::test_support::{finding_for, fixture_context, plan_for};

    fn created(step: &Step) -> &Value {
        let [Action::Create { object, .. }] = step.actions.as_slice() else {
            panic!("one create expected: {:?}", step.actions);
        };
        object
    }

    #[test]
    fn incident_plan_matches_the_responders_allow_policy() {
        let step = plan_for(
            &fixture_context("bleater-incident.yaml", "bleater"),
            &AllowEssentialEgress,
            &RepairOptions::default(),
        )
        .unwrap();
        let object = created(&step);
        assert_eq!(
            step.actions[0].target().name,
            "bleater-allow-egress-essentials"
        );
        assert_eq!(
            object["metadata"]["labels"]["app.kubernetes.io/managed-by"],
            "triage"
        );
        // Same spec as the policy the responders applied (examples/bleater-healthy.yaml).
        let ours: NetworkPolicy = serde_json::from_value(object.clone()).unwrap();
        let healthy = fixture_context("bleater-healthy.yaml", "bleater");
        let theirs = healthy
            .snapshot
            .network_policies
            .iter()
            .find(|p| p.name() == "bleater-allow-egress-essentials")
            .unwrap();
        assert_eq!(ours.spec, theirs.spec);
        // The deny-all is neither patched nor deleted.
        assert!(
            step.actions
                .iter()
                .all(|a| a.target().name != "bleater-default-deny-egress")
        );
        assert!(step.title.contains("stays untouched"), "{}", step.title);
    }

    #[test]
    fn shop_gets_dns_only_for_the_pods_of_the_lockdown_policy() {
        let step = plan_for(
            &fixture_context("shop-incident.yaml", "shop"),
            &AllowEssentialEgress,
            &RepairOptions::default(),
        )
        .unwrap();
        let object = created(&step);
        assert_eq!(object["metadata"]["name"], "shop-allow-egress-essentials");
        assert_eq!(
            object["spec"]["podSelector"],
            json!({"matchLabels": {"app": "orders"}})
        );
        // The database is allowed already (or not needed): DNS only.
        assert_eq!(object["spec"]["egress"].as_array().unwrap().len(), 1);
        assert_eq!(object["spec"]["egress"][0]["ports"][0]["port"], 53);
    }

    #[test]
    fn look_alike_existing_allow_policy_name_is_refused() {
        // The incident's finding, planned where the allow policy already exists.
        let finding = finding_for(
            &fixture_context("bleater-incident.yaml", "bleater"),
            &AllowEssentialEgress,
        );
        let healthy = fixture_context("bleater-healthy.yaml", "bleater");
        let refusal = AllowEssentialEgress
            .plan(&healthy, &finding, &RepairOptions::default())
            .unwrap_err();
        assert!(
            refusal
                .reason
                .contains("`bleater-allow-egress-essentials` already exists"),
            "{}",
            refusal.reason
        );
    }
}
