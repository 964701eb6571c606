//! NetworkPolicy semantics, evaluated offline
//! (https://kubernetes.io/docs/concepts/services-networking/network-policies/):
//! a pod is isolated for egress (ingress) when any policy with `Egress` (`Ingress`) in
//! its policyTypes selects it; then it may send (accept) only what the union of those
//! policies' egress (ingress) rules allows. A connection needs both: the source's
//! egress and the destination's ingress ([`connection`]). Used by the `egress` signal;
//! tests/data/reachability.yaml holds the documented cases it must agree with.

use std::collections::BTreeMap;
use std::net::IpAddr;

use k8s_openapi::api::networking::v1::{
    IPBlock, NetworkPolicy, NetworkPolicyEgressRule, NetworkPolicyIngressRule, NetworkPolicyPeer,
    NetworkPolicyPort, NetworkPolicySpec,
};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde::{Deserialize, Serialize};

use crate::k8s::selector;
use crate::snapshot::HasMeta;

/// Labels every namespace carries since Kubernetes 1.22.
pub const NAMESPACE_NAME_LABEL: &str = "kubernetes.io/metadata.name";

/// Where traffic goes: a pod (by its labels, in a namespace with its labels) on a port.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Destination {
    /// What to call it in evidence (`DNS kube-system UDP/53`).
    pub label: String,
    /// The Service in front of it, when there is one.
    pub service: String,
    pub namespace: String,
    pub namespace_labels: BTreeMap<String, String>,
    pub pod_labels: BTreeMap<String, String>,
    pub port: i32,
    /// `TCP`, `UDP` or `SCTP`.
    pub protocol: String,
    /// The target's container ports by name (`dns` -> 53/UDP), when known.
    pub port_names: Option<Vec<(String, i32, String)>>,
}

impl Destination {
    /// The cluster DNS (CoreDNS/kube-dns in kube-system, labelled `k8s-app: kube-dns`,
    /// container ports `dns` 53/UDP and `dns-tcp` 53/TCP as the upstream manifests name
    /// them) on `protocol` port 53.
    pub fn dns(protocol: &str, namespace_labels: BTreeMap<String, String>) -> Self {
        Destination {
            label: format!("DNS kube-system {protocol}/53"),
            service: "kube-dns".to_string(),
            namespace: "kube-system".to_string(),
            namespace_labels,
            pod_labels: BTreeMap::from([("k8s-app".to_string(), "kube-dns".to_string())]),
            port: 53,
            protocol: protocol.to_string(),
            port_names: Some(vec![
                ("dns".to_string(), 53, "UDP".to_string()),
                ("dns-tcp".to_string(), 53, "TCP".to_string()),
                ("metrics".to_string(), 9153, "TCP".to_string()),
            ]),
        }
    }
}

/// Whether traffic may flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Allowed,
    /// Depends on something the snapshot does not hold (a named port of a pod it
    /// does not have).
    Unknown,
    Denied,
}

impl Verdict {
    fn or(self, other: Verdict) -> Verdict {
        self.min(other)
    }
}

/// The answer for one pod and one target, with the policies that decided it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EgressAnswer {
    pub verdict: Verdict,
    /// Names of the policies isolating the pod for egress (empty: not isolated).
    pub isolating: Vec<String>,
    /// `policy#rule` that allows it, when one does.
    pub allowed_by: Option<String>,
    /// The verdict is Allowed only because an ipBlock of the whole address space
    /// (`0.0.0.0/0`, `::/0`) is taken to match pod traffic. The NetworkPolicy docs leave
    /// pod-to-pod traffic under ipBlock to the plugin ("cluster ingress and egress
    /// mechanisms often require rewriting the source or destination IP"), so whether it
    /// holds depends on the network plugin.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub plugin_dependent: bool,
}

/// The policy types in force: explicit, else `Ingress` plus `Egress` when the spec
/// has egress rules. NB: `egress: []` without policyTypes does not isolate egress, and
/// `policyTypes: []` is defaulted like an absent list (the API server's
/// SetDefaults_NetworkPolicy tests `len(PolicyTypes) == 0`).
pub fn policy_types(spec: &NetworkPolicySpec) -> Vec<String> {
    match spec.policy_types.as_ref().filter(|t| !t.is_empty()) {
        Some(types) => types.clone(),
        None => {
            let mut types = vec!["Ingress".to_string()];
            if spec.egress.as_ref().is_some_and(|e| !e.is_empty()) {
                types.push("Egress".to_string());
            }
            types
        }
    }
}

/// Whether `policy` isolates a pod with `labels` in the policy's namespace for egress.
pub fn isolates_egress(policy: &NetworkPolicy, labels: Option<&BTreeMap<String, String>>) -> bool {
    let Some(spec) = policy.spec.as_ref() else {
        return false;
    };
    policy_types(spec).iter().any(|t| t == "Egress")
        && selector::matches(
            Some(spec.pod_selector.as_ref().unwrap_or(&Default::default())),
            labels,
        )
}

/// Whether a pod with `pod_labels` (in the policies' namespace) may reach `target`.
/// `policies` are the namespace's NetworkPolicies.
pub fn egress(
    policies: &[&NetworkPolicy],
    pod_labels: Option<&BTreeMap<String, String>>,
    target: &Destination,
) -> EgressAnswer {
    let isolating: Vec<&NetworkPolicy> = policies
        .iter()
        .copied()
        .filter(|p| isolates_egress(p, pod_labels))
        .collect();
    union_of_rules(&isolating, |policy| {
        let rules = policy
            .spec
            .as_ref()
            .and_then(|s| s.egress.as_deref())
            .unwrap_or_default();
        rules
            .iter()
            .map(|rule| {
                let verdict = rule_allows(rule, policy.namespace(), target);
                let by_selector = verdict == Verdict::Allowed
                    && !relies_on_ip_block(rule, policy.namespace(), target);
                (verdict, by_selector)
            })
            .collect()
    })
}

/// The union of the isolating policies' rules for one direction (a connection is
/// allowed when any rule of any policy isolating that side allows it: NetworkPolicy
/// semantics, https://kubernetes.io/docs/concepts/services-networking/network-policies/).
/// `rule_verdicts(policy)` judges each of its rules, with whether an allowing one
/// matched without leaning on an everything-ipBlock (then the verdict does not depend
/// on the network plugin). No isolating policy: allowed.
fn union_of_rules(
    isolating: &[&NetworkPolicy],
    rule_verdicts: impl Fn(&NetworkPolicy) -> Vec<(Verdict, bool)>,
) -> EgressAnswer {
    if isolating.is_empty() {
        return EgressAnswer {
            verdict: Verdict::Allowed,
            isolating: Vec::new(),
            allowed_by: None,
            plugin_dependent: false,
        };
    }
    let mut verdict = Verdict::Denied;
    let mut allowed_by = None;
    let mut allowed_by_selector = false;
    for policy in isolating {
        for (index, (rule_verdict, by_selector)) in rule_verdicts(policy).into_iter().enumerate() {
            if rule_verdict == Verdict::Allowed {
                if allowed_by.is_none() || (by_selector && !allowed_by_selector) {
                    allowed_by = Some(format!("{}#{}", policy.name(), index));
                }
                allowed_by_selector |= by_selector;
            }
            verdict = verdict.or(rule_verdict);
        }
    }
    EgressAnswer {
        verdict,
        isolating: isolating.iter().map(|p| p.name().to_string()).collect(),
        allowed_by,
        plugin_dependent: verdict == Verdict::Allowed && !allowed_by_selector,
    }
}

/// Whether an allowing rule matches `target` only through an ipBlock peer.
fn relies_on_ip_block(
    rule: &NetworkPolicyEgressRule,
    policy_namespace: &str,
    target: &Destination,
) -> bool {
    let peers = rule.to.as_deref().unwrap_or_default();
    !peers.is_empty()
        && !peers
            .iter()
            .any(|peer| peer.ip_block.is_none() && peer_matches(peer, policy_namespace, target))
}

/// One egress rule: no `to` matches every destination, no `ports` every port.
pub fn rule_allows(
    rule: &NetworkPolicyEgressRule,
    policy_namespace: &str,
    target: &Destination,
) -> Verdict {
    let peers = rule.to.as_deref().unwrap_or_default();
    let to_ok = peers.is_empty()
        || peers
            .iter()
            .any(|peer| peer_matches(peer, policy_namespace, target));
    if !to_ok {
        return Verdict::Denied;
    }
    let ports = rule.ports.as_deref().unwrap_or_default();
    if ports.is_empty() {
        return Verdict::Allowed;
    }
    ports
        .iter()
        .map(|port| port_matches(port, target))
        .fold(Verdict::Denied, Verdict::or)
}

/// NB: pod IPs are not in a snapshot, so an ipBlock matches a pod only when it is the
/// whole address space (`0.0.0.0/0` or `::/0`) with no `except`.
fn peer_matches(peer: &NetworkPolicyPeer, policy_namespace: &str, target: &Destination) -> bool {
    peer_matches_pod(
        peer,
        policy_namespace,
        &target.namespace,
        &target.namespace_labels,
        &target.pod_labels,
    )
}

/// Whether `peer` of a policy in `policy_namespace` matches a pod with `pod_labels` in
/// `namespace` (labelled `namespace_labels`): podSelector alone means the policy's
/// namespace, namespaceSelector alone every pod of the matching namespaces, both
/// together the matching pods of the matching namespaces (NetworkPolicyPeer API doc).
fn peer_matches_pod(
    peer: &NetworkPolicyPeer,
    policy_namespace: &str,
    namespace: &str,
    namespace_labels: &BTreeMap<String, String>,
    pod_labels: &BTreeMap<String, String>,
) -> bool {
    if let Some(block) = &peer.ip_block {
        let everything = block.cidr == "0.0.0.0/0" || block.cidr == "::/0";
        return everything && block.except.as_ref().is_none_or(Vec::is_empty);
    }
    let pod_ok = |sel| selector::matches(sel, Some(pod_labels));
    match (&peer.pod_selector, &peer.namespace_selector) {
        (Some(pods), None) => namespace == policy_namespace && pod_ok(Some(pods)),
        (None, Some(namespaces)) => selector::matches(Some(namespaces), Some(namespace_labels)),
        (Some(pods), Some(namespaces)) => {
            selector::matches(Some(namespaces), Some(namespace_labels)) && pod_ok(Some(pods))
        }
        // A peer with nothing set is rejected by the API server.
        (None, None) => false,
    }
}

fn port_matches(port: &NetworkPolicyPort, target: &Destination) -> Verdict {
    let protocol = port.protocol.as_deref().unwrap_or("TCP");
    if !protocol.eq_ignore_ascii_case(&target.protocol) {
        return Verdict::Denied;
    }
    match &port.port {
        None => Verdict::Allowed,
        Some(IntOrString::Int(number)) => {
            let end = port.end_port.unwrap_or(*number);
            if (*number..=end).contains(&target.port) {
                Verdict::Allowed
            } else {
                Verdict::Denied
            }
        }
        Some(IntOrString::String(name)) => match &target.port_names {
            Some(names) => {
                let hit = names.iter().any(|(n, number, proto)| {
                    n == name
                        && *number == target.port
                        && proto.eq_ignore_ascii_case(&target.protocol)
                });
                if hit {
                    Verdict::Allowed
                } else {
                    Verdict::Denied
                }
            }
            None => Verdict::Unknown,
        },
    }
}

/// Whether `ip` lies in `cidr` (`10.0.0.0/8`, `2001:db8::/32`; a bare address is a
/// /32 or /128). None when `cidr` does not parse; an IPv4 address never lies in an
/// IPv6 block nor the reverse (ipBlock's cidr is "a CIDR" of one family, IPBlock API doc).
pub fn cidr_contains(cidr: &str, ip: IpAddr) -> Option<bool> {
    let (address, prefix) = match cidr.trim().split_once('/') {
        Some((a, p)) => (a.parse::<IpAddr>().ok()?, Some(p.parse::<u32>().ok()?)),
        None => (cidr.trim().parse::<IpAddr>().ok()?, None),
    };
    match (address, ip) {
        (IpAddr::V4(net), IpAddr::V4(ip)) => {
            let prefix = prefix.unwrap_or(32);
            if prefix > 32 {
                return None;
            }
            let mask = u32::MAX.checked_shl(32 - prefix).unwrap_or(0);
            Some(u32::from(net) & mask == u32::from(ip) & mask)
        }
        (IpAddr::V6(net), IpAddr::V6(ip)) => {
            let prefix = prefix.unwrap_or(128);
            if prefix > 128 {
                return None;
            }
            let mask = u128::MAX.checked_shl(128 - prefix).unwrap_or(0);
            Some(u128::from(net) & mask == u128::from(ip) & mask)
        }
        _ => Some(false),
    }
}

/// An ipBlock matches `ip` when its cidr holds it and no `except` entry does (the
/// docs: "except ... IPs that should not be included").
fn ip_block_matches(block: &IPBlock, ip: IpAddr) -> bool {
    cidr_contains(&block.cidr, ip) == Some(true)
        && !block
            .except
            .iter()
            .flatten()
            .any(|except| cidr_contains(except, ip) == Some(true))
}

/// Whether a pod with `pod_labels` (in the policies' namespace) may send to `ip`, an
/// address that is no pod of the snapshot. Only ipBlock peers can match it: pod and
/// namespace selectors select pods, and the docs give ipBlock for "cluster-external
/// IPs" (https://kubernetes.io/docs/concepts/services-networking/network-policies/#networkpolicy-resource).
/// A rule without `to` matches every destination; a named port never matches (it
/// names a container port of a destination pod, and there is none).
pub fn egress_to_ip(
    policies: &[&NetworkPolicy],
    pod_labels: Option<&BTreeMap<String, String>>,
    ip: IpAddr,
    port: i32,
    protocol: &str,
) -> EgressAnswer {
    let isolating: Vec<&NetworkPolicy> = policies
        .iter()
        .copied()
        .filter(|p| isolates_egress(p, pod_labels))
        .collect();
    // Ports are judged as for a pod with no named container ports.
    let target = Destination {
        label: ip.to_string(),
        service: String::new(),
        namespace: String::new(),
        namespace_labels: BTreeMap::new(),
        pod_labels: BTreeMap::new(),
        port,
        protocol: protocol.to_string(),
        port_names: Some(Vec::new()),
    };
    // Only ipBlock peers can match an address, so no verdict here leans on the
    // plugin's reading of an everything-ipBlock for pod traffic.
    union_of_rules(&isolating, |policy| {
        let rules = policy
            .spec
            .as_ref()
            .and_then(|s| s.egress.as_deref())
            .unwrap_or_default();
        rules
            .iter()
            .map(|rule| {
                let peers = rule.to.as_deref().unwrap_or_default();
                let to_ok = peers.is_empty()
                    || peers
                        .iter()
                        .filter_map(|peer| peer.ip_block.as_ref())
                        .any(|block| ip_block_matches(block, ip));
                let ports = rule.ports.as_deref().unwrap_or_default();
                let ports_ok = ports.is_empty()
                    || ports
                        .iter()
                        .any(|p| port_matches(p, &target) == Verdict::Allowed);
                if to_ok && ports_ok {
                    (Verdict::Allowed, true)
                } else {
                    (Verdict::Denied, false)
                }
            })
            .collect()
    })
}

/// Where traffic comes from: a pod, by its labels, in a namespace with its labels.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Source {
    pub namespace: String,
    pub namespace_labels: BTreeMap<String, String>,
    pub pod_labels: BTreeMap<String, String>,
}

/// Whether `policy` isolates a pod with `labels` in the policy's namespace for
/// ingress: `Ingress` is in its (defaulted) policyTypes and its podSelector selects it.
pub fn isolates_ingress(policy: &NetworkPolicy, labels: Option<&BTreeMap<String, String>>) -> bool {
    let Some(spec) = policy.spec.as_ref() else {
        return false;
    };
    policy_types(spec).iter().any(|t| t == "Ingress")
        && selector::matches(
            Some(spec.pod_selector.as_ref().unwrap_or(&Default::default())),
            labels,
        )
}

/// Whether `target`'s pod accepts traffic from `source`. `policies` are the
/// NetworkPolicies of the target's namespace. A pod no Ingress policy selects
/// accepts everything; an isolated one only what the union of those policies'
/// ingress rules allows (`from` peers match the source, `ports` the target's port;
/// named ports resolve against the target's own container ports).
pub fn ingress(policies: &[&NetworkPolicy], source: &Source, target: &Destination) -> EgressAnswer {
    let isolating: Vec<&NetworkPolicy> = policies
        .iter()
        .copied()
        .filter(|p| p.namespace() == target.namespace)
        .filter(|p| isolates_ingress(p, Some(&target.pod_labels)))
        .collect();
    union_of_rules(&isolating, |policy| {
        let rules = policy
            .spec
            .as_ref()
            .and_then(|s| s.ingress.as_deref())
            .unwrap_or_default();
        rules
            .iter()
            .map(|rule| ingress_rule_allows(rule, policy.namespace(), source, target))
            .collect()
    })
}

/// One ingress rule: no `from` matches every source, no `ports` every port. Also
/// whether it matched without leaning on an everything-ipBlock.
fn ingress_rule_allows(
    rule: &NetworkPolicyIngressRule,
    policy_namespace: &str,
    source: &Source,
    target: &Destination,
) -> (Verdict, bool) {
    let peers = rule.from.as_deref().unwrap_or_default();
    let matches = |peer: &&NetworkPolicyPeer| {
        peer_matches_pod(
            peer,
            policy_namespace,
            &source.namespace,
            &source.namespace_labels,
            &source.pod_labels,
        )
    };
    let by_selector = peers.is_empty()
        || peers
            .iter()
            .filter(|p| p.ip_block.is_none())
            .any(|p| matches(&p));
    if !(peers.is_empty() || peers.iter().any(|p| matches(&p))) {
        return (Verdict::Denied, false);
    }
    let ports = rule.ports.as_deref().unwrap_or_default();
    let verdict = if ports.is_empty() {
        Verdict::Allowed
    } else {
        ports
            .iter()
            .map(|port| port_matches(port, target))
            .fold(Verdict::Denied, Verdict::or)
    };
    (verdict, by_selector)
}

/// A connection as Kubernetes enforces it: the source's egress AND the target's
/// ingress. `source_policies` are the source namespace's policies, `target_policies`
/// the target namespace's.
pub fn connection(
    source_policies: &[&NetworkPolicy],
    target_policies: &[&NetworkPolicy],
    source: &Source,
    target: &Destination,
) -> (EgressAnswer, EgressAnswer, Verdict) {
    let out = egress(
        &source_policies
            .iter()
            .copied()
            .filter(|p| p.namespace() == source.namespace)
            .collect::<Vec<_>>(),
        Some(&source.pod_labels),
        target,
    );
    let into = ingress(target_policies, source, target);
    let verdict = out.verdict.max(into.verdict);
    (out, into, verdict)
}

/// One egress rule in a few words, for evidence: `to app=cache on TCP/6379`.
pub fn describe_rules(policy: &NetworkPolicy) -> String {
    // NB: `egress: []` (written, empty) and no `egress` key deny the same once Egress is
    // in policyTypes, but only the first is `spec.egress=[]`: say what the object holds.
    let Some(rules) = policy.spec.as_ref().and_then(|s| s.egress.as_deref()) else {
        return "no egress rules".to_string();
    };
    if rules.is_empty() {
        return "[]".to_string();
    }
    rules
        .iter()
        .map(|rule| {
            let to: Vec<String> = rule
                .to
                .iter()
                .flatten()
                .map(|peer| {
                    if let Some(block) = &peer.ip_block {
                        return format!("ipBlock {}", block.cidr);
                    }
                    let mut parts = Vec::new();
                    if let Some(ns) = &peer.namespace_selector {
                        parts.push(format!(
                            "ns {}",
                            selector::describe(Some(ns)).replace("<all pods>", "<all>")
                        ));
                    }
                    if let Some(pods) = &peer.pod_selector {
                        parts.push(format!("pods {}", selector::describe(Some(pods))));
                    }
                    parts.join(" ")
                })
                .collect();
            let ports: Vec<String> = rule
                .ports
                .iter()
                .flatten()
                .map(|p| {
                    let proto = p.protocol.as_deref().unwrap_or("TCP");
                    match (&p.port, p.end_port) {
                        (None, _) => format!("{proto}/*"),
                        (Some(IntOrString::Int(n)), Some(end)) => format!("{proto}/{n}-{end}"),
                        (Some(IntOrString::Int(n)), None) => format!("{proto}/{n}"),
                        (Some(IntOrString::String(s)), _) => format!("{proto}/{s}"),
                    }
                })
                .collect();
            let to = if to.is_empty() {
                "anywhere".to_string()
            } else {
                to.join(" | ")
            };
            let ports = if ports.is_empty() {
                "any port".to_string()
            } else {
                ports.join(",")
            };
            format!("to {to} on {ports}")
        })
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(yaml: &str) -> NetworkPolicy {
        serde_saphyr::from_str(yaml).unwrap()
    }

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn kube_system() -> BTreeMap<String, String> {
        labels(&[(NAMESPACE_NAME_LABEL, "kube-system")])
    }

    fn db(port_names: Option<Vec<(String, i32, String)>>) -> Destination {
        Destination {
            label: "db".into(),
            service: "db".into(),
            namespace: "shop".into(),
            namespace_labels: labels(&[(NAMESPACE_NAME_LABEL, "shop")]),
            pod_labels: labels(&[("app", "db")]),
            port: 5432,
            protocol: "TCP".into(),
            port_names,
        }
    }

    const HEAD: &str = "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: p, namespace: shop}\n";

    #[test]
    fn empty_egress_with_type_denies_everything() {
        let p = policy(&format!(
            "{HEAD}spec:\n  podSelector: {{}}\n  policyTypes: [Egress]\n  egress: []\n"
        ));
        let answer = egress(
            &[&p],
            Some(&labels(&[("app", "web")])),
            &Destination::dns("UDP", kube_system()),
        );
        assert_eq!(answer.verdict, Verdict::Denied);
        assert_eq!(answer.isolating, vec!["p"]);
    }

    #[test]
    fn without_policy_types_empty_egress_does_not_isolate() {
        let p = policy(&format!("{HEAD}spec:\n  podSelector: {{}}\n  egress: []\n"));
        let answer = egress(&[&p], None, &Destination::dns("UDP", kube_system()));
        assert_eq!(answer.verdict, Verdict::Allowed);
        assert!(answer.isolating.is_empty());
    }

    #[test]
    fn union_of_policies_and_namespace_selector_for_dns() {
        let deny = policy(&format!(
            "{HEAD}spec:\n  podSelector: {{}}\n  policyTypes: [Egress]\n"
        ));
        let dns = policy(
            "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: dns, namespace: shop}\nspec:\n  podSelector: {}\n  policyTypes: [Egress]\n  egress:\n  - to:\n    - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: kube-system}}\n      podSelector: {matchLabels: {k8s-app: kube-dns}}\n    ports: [{protocol: UDP, port: 53}, {protocol: TCP, port: dns-tcp}]\n",
        );
        let udp = egress(
            &[&deny, &dns],
            None,
            &Destination::dns("UDP", kube_system()),
        );
        assert_eq!(udp.verdict, Verdict::Allowed);
        assert_eq!(udp.allowed_by.as_deref(), Some("dns#0"));
        let tcp = egress(
            &[&deny, &dns],
            None,
            &Destination::dns("TCP", kube_system()),
        );
        assert_eq!(tcp.verdict, Verdict::Allowed, "named port dns-tcp");
        // A pod selector alone means the policy's own namespace, not kube-system.
        let same_ns = policy(&format!(
            "{HEAD}spec:\n  podSelector: {{}}\n  policyTypes: [Egress]\n  egress:\n  - to: [{{podSelector: {{matchLabels: {{k8s-app: kube-dns}}}}}}]\n"
        ));
        assert_eq!(
            egress(&[&same_ns], None, &Destination::dns("UDP", kube_system())).verdict,
            Verdict::Denied
        );
    }

    #[test]
    fn ports_protocols_ranges_and_named_ports() {
        let p = policy(&format!(
            "{HEAD}spec:\n  podSelector: {{matchLabels: {{app: web}}}}\n  policyTypes: [Egress]\n  egress:\n  - to: [{{podSelector: {{matchLabels: {{app: db}}}}}}]\n    ports: [{{port: 5000, endPort: 6000}}]\n"
        ));
        let web = labels(&[("app", "web")]);
        assert_eq!(
            egress(&[&p], Some(&web), &db(None)).verdict,
            Verdict::Allowed
        );
        let mut udp = db(None);
        udp.protocol = "UDP".into();
        assert_eq!(egress(&[&p], Some(&web), &udp).verdict, Verdict::Denied);
        // Not selected: not isolated.
        assert_eq!(
            egress(&[&p], Some(&labels(&[("app", "other")])), &udp).verdict,
            Verdict::Allowed
        );
        let named = policy(&format!(
            "{HEAD}spec:\n  podSelector: {{}}\n  policyTypes: [Egress]\n  egress:\n  - ports: [{{port: postgres}}]\n"
        ));
        assert_eq!(egress(&[&named], None, &db(None)).verdict, Verdict::Unknown);
        let known = Some(vec![("postgres".to_string(), 5432, "TCP".to_string())]);
        assert_eq!(
            egress(&[&named], None, &db(known)).verdict,
            Verdict::Allowed
        );
    }

    #[test]
    fn ip_blocks_match_only_everything() {
        let any = policy(&format!(
            "{HEAD}spec:\n  podSelector: {{}}\n  policyTypes: [Egress]\n  egress:\n  - to: [{{ipBlock: {{cidr: 0.0.0.0/0}}}}]\n"
        ));
        let answer = egress(&[&any], None, &db(None));
        assert_eq!(answer.verdict, Verdict::Allowed);
        assert!(
            answer.plugin_dependent,
            "0.0.0.0/0 matching a pod is the plugin's call"
        );
        // With a selector rule allowing it too, the verdict no longer depends on it.
        let both = policy(&format!(
            "{}spec:\n  podSelector: {{}}\n  policyTypes: [Egress]\n  egress:\n  - to: [{{podSelector: {{matchLabels: {{app: db}}}}}}]\n",
            HEAD.replace("name: p,", "name: q,")
        ));
        let answer = egress(&[&any, &both], None, &db(None));
        assert_eq!(answer.verdict, Verdict::Allowed);
        assert!(!answer.plugin_dependent);
        assert_eq!(answer.allowed_by.as_deref(), Some("q#0"));
        let except = policy(&format!(
            "{HEAD}spec:\n  podSelector: {{}}\n  policyTypes: [Egress]\n  egress:\n  - to: [{{ipBlock: {{cidr: 0.0.0.0/0, except: [10.0.0.0/8]}}}}]\n"
        ));
        assert_eq!(egress(&[&except], None, &db(None)).verdict, Verdict::Denied);
        assert_eq!(describe_rules(&except), "to ipBlock 0.0.0.0/0 on any port");
        let written: NetworkPolicy = serde_saphyr::from_str(
            "metadata: {name: p}\nspec: {podSelector: {}, policyTypes: [Egress], egress: []}\n",
        )
        .unwrap();
        assert_eq!(describe_rules(&written), "[]");
        let absent: NetworkPolicy = serde_saphyr::from_str(
            "metadata: {name: p}\nspec: {podSelector: {}, policyTypes: [Egress]}\n",
        )
        .unwrap();
        assert_eq!(describe_rules(&absent), "no egress rules");
    }

    /// The reachability cases in tests/data/reachability.yaml (from the Kubernetes
    /// NetworkPolicy docs' examples), each through `connection`.
    #[test]
    fn reachability_cases_from_the_kubernetes_docs() {
        let data: serde_json::Value =
            serde_saphyr::from_str(include_str!("../../tests/data/reachability.yaml")).unwrap();
        let namespace_labels = |ns: &str| {
            let mut labels: BTreeMap<String, String> = data["namespaces"][ns]
                .as_object()
                .unwrap_or_else(|| panic!("namespace {ns}"))
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
                .collect();
            labels.insert(NAMESPACE_NAME_LABEL.to_string(), ns.to_string());
            labels
        };
        let pod = |reference: &str| {
            let (ns, name) = reference.split_once('/').unwrap();
            data["pods"]
                .as_array()
                .unwrap()
                .iter()
                .find(|p| p["name"] == name && p["namespace"] == ns)
                .unwrap_or_else(|| panic!("pod {reference}"))
                .clone()
        };
        let labels_of = |p: &serde_json::Value| -> BTreeMap<String, String> {
            serde_json::from_value(p["labels"].clone()).unwrap()
        };
        let mut checked = 0;
        for case in data["cases"].as_array().unwrap() {
            let name = case["name"].as_str().unwrap();
            let policies: Vec<NetworkPolicy> = case["policies"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| {
                    let mut p = p.clone();
                    p["apiVersion"] = "networking.k8s.io/v1".into();
                    p["kind"] = "NetworkPolicy".into();
                    serde_json::from_value(p).unwrap()
                })
                .collect();
            let all: Vec<&NetworkPolicy> = policies.iter().collect();
            for row in case["expect"].as_array().unwrap() {
                let [from, to, port, verdict] = [0, 1, 2, 3].map(|i| row[i].as_str().unwrap());
                let want = match verdict {
                    "allowed" => Verdict::Allowed,
                    "denied" => Verdict::Denied,
                    other => panic!("verdict {other}"),
                };
                let (number, protocol) = port.split_once('/').unwrap();
                if let Ok(ip) = to.parse::<IpAddr>() {
                    let source_pod = pod(from);
                    let source_ns = source_pod["namespace"].as_str().unwrap();
                    let source_policies: Vec<&NetworkPolicy> = all
                        .iter()
                        .copied()
                        .filter(|p| p.namespace() == source_ns)
                        .collect();
                    let labels = labels_of(&source_pod);
                    let out = egress_to_ip(
                        &source_policies,
                        Some(&labels),
                        ip,
                        number.parse().unwrap(),
                        protocol,
                    );
                    assert_eq!(
                        out.verdict, want,
                        "case `{name}`: {from} -> {to} {port}: egress {out:?}"
                    );
                    checked += 1;
                    continue;
                }
                let (source_pod, target_pod) = (pod(from), pod(to));
                let source_ns = source_pod["namespace"].as_str().unwrap();
                let target_ns = target_pod["namespace"].as_str().unwrap();
                let source = Source {
                    namespace: source_ns.to_string(),
                    namespace_labels: namespace_labels(source_ns),
                    pod_labels: labels_of(&source_pod),
                };
                let target = Destination {
                    label: to.to_string(),
                    service: String::new(),
                    namespace: target_ns.to_string(),
                    namespace_labels: namespace_labels(target_ns),
                    pod_labels: labels_of(&target_pod),
                    port: number.parse().unwrap(),
                    protocol: protocol.to_string(),
                    port_names: Some(
                        target_pod["ports"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .map(|p| {
                                (
                                    p["name"].as_str().unwrap().to_string(),
                                    p["port"].as_i64().unwrap() as i32,
                                    p["protocol"].as_str().unwrap_or("TCP").to_string(),
                                )
                            })
                            .collect(),
                    ),
                };
                let (out, into, got) = connection(&all, &all, &source, &target);
                assert_eq!(
                    got, want,
                    "case `{name}`: {from} -> {to} {port}: egress {out:?}, ingress {into:?}"
                );
                checked += 1;
            }
        }
        assert!(checked >= 65, "{checked} cases");
    }

    #[test]
    fn ingress_names_the_isolating_policies_and_the_allowing_rule() {
        let deny = policy(&format!("{HEAD}spec:\n  podSelector: {{}}\n"));
        let allow = policy(
            "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: allow, namespace: shop}\nspec:\n  podSelector: {matchLabels: {app: db}}\n  ingress:\n  - from: [{podSelector: {matchLabels: {app: web}}}]\n  - from: [{ipBlock: {cidr: 0.0.0.0/0}}]\n",
        );
        let source = |app: &str| Source {
            namespace: "shop".into(),
            namespace_labels: labels(&[(NAMESPACE_NAME_LABEL, "shop")]),
            pod_labels: labels(&[("app", app)]),
        };
        let answer = ingress(&[&deny, &allow], &source("web"), &db(None));
        assert_eq!(answer.verdict, Verdict::Allowed);
        assert_eq!(answer.isolating, vec!["p", "allow"]);
        assert_eq!(answer.allowed_by.as_deref(), Some("allow#0"));
        assert!(!answer.plugin_dependent);
        let other = ingress(&[&deny, &allow], &source("other"), &db(None));
        assert_eq!(other.verdict, Verdict::Allowed);
        assert_eq!(other.allowed_by.as_deref(), Some("allow#1"));
        assert!(other.plugin_dependent, "only the 0.0.0.0/0 rule admits it");
        let only_deny = ingress(&[&deny], &source("web"), &db(None));
        assert_eq!(only_deny.verdict, Verdict::Denied);
        assert_eq!(only_deny.allowed_by, None);
    }

    #[test]
    fn cidrs_of_both_families() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert_eq!(cidr_contains("10.0.0.0/8", ip("10.200.3.7")), Some(true));
        assert_eq!(cidr_contains("10.0.0.0/8", ip("11.0.0.1")), Some(false));
        assert_eq!(cidr_contains("10.0.3.7", ip("10.0.3.7")), Some(true));
        assert_eq!(cidr_contains("10.0.3.7/32", ip("10.0.3.8")), Some(false));
        assert_eq!(cidr_contains("0.0.0.0/0", ip("203.0.113.9")), Some(true));
        assert_eq!(
            cidr_contains("2001:db8::/32", ip("2001:db8:1::5")),
            Some(true)
        );
        assert_eq!(
            cidr_contains("2001:db8::/32", ip("2001:db9::5")),
            Some(false)
        );
        assert_eq!(cidr_contains("::/0", ip("2001:db9::5")), Some(true));
        // Families never mix; a bad cidr is no match, never a panic.
        assert_eq!(cidr_contains("0.0.0.0/0", ip("::1")), Some(false));
        assert_eq!(cidr_contains("10.0.0.0/33", ip("10.0.0.1")), None);
        assert_eq!(cidr_contains("nonsense", ip("10.0.0.1")), None);
    }

    #[test]
    fn egress_to_an_external_ip_follows_ip_blocks_except_and_ports() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        let out = policy(&format!(
            "{HEAD}spec:\n  podSelector: {{matchLabels: {{app: api}}}}\n  policyTypes: [Egress]\n  egress:\n  - to: [{{ipBlock: {{cidr: 10.0.0.0/16, except: [10.0.3.0/24]}}}}]\n    ports: [{{port: 5432}}]\n  - to: [{{podSelector: {{}}}}, {{namespaceSelector: {{}}}}]\n  - to: [{{ipBlock: {{cidr: '2001:db8::/32'}}}}]\n    ports: [{{protocol: UDP, port: 53}}, {{port: https}}]\n"
        ));
        let api = labels(&[("app", "api")]);
        let check = |addr: &str, port: i32, proto: &str| {
            egress_to_ip(&[&out], Some(&api), ip(addr), port, proto)
        };
        let inside = check("10.0.9.7", 5432, "TCP");
        assert_eq!(inside.verdict, Verdict::Allowed);
        assert_eq!(inside.allowed_by.as_deref(), Some("p#0"));
        assert_eq!(inside.isolating, vec!["p"]);
        assert!(!inside.plugin_dependent);
        // The except carves 10.0.3.0/24 out; selectors of rule #1 never match an IP.
        let excepted = check("10.0.3.7", 5432, "TCP");
        assert_eq!(excepted.verdict, Verdict::Denied);
        assert_eq!(excepted.allowed_by, None);
        assert_eq!(check("10.0.9.7", 5433, "TCP").verdict, Verdict::Denied);
        assert_eq!(check("10.0.9.7", 5432, "UDP").verdict, Verdict::Denied);
        assert_eq!(check("203.0.113.9", 443, "TCP").verdict, Verdict::Denied);
        // IPv6: UDP/53 allowed by rule #2; the named port matches no external address.
        let v6 = check("2001:db8::53", 53, "UDP");
        assert_eq!(v6.allowed_by.as_deref(), Some("p#2"));
        assert_eq!(check("2001:db8::53", 443, "TCP").verdict, Verdict::Denied);
        assert_eq!(check("2001:db9::53", 53, "UDP").verdict, Verdict::Denied);
        // A pod the policy does not select is not isolated: allowed, no policy named.
        let other = egress_to_ip(
            &[&out],
            Some(&labels(&[("app", "web")])),
            ip("203.0.113.9"),
            443,
            "TCP",
        );
        assert_eq!(
            (other.verdict, other.isolating.len()),
            (Verdict::Allowed, 0)
        );
        // A rule without `to` reaches any address on its ports.
        let any = policy(&format!(
            "{HEAD}spec:\n  podSelector: {{}}\n  policyTypes: [Egress]\n  egress:\n  - ports: [{{port: 443}}]\n"
        ));
        let answer = egress_to_ip(&[&any], None, ip("203.0.113.9"), 443, "TCP");
        assert_eq!(answer.verdict, Verdict::Allowed);
        assert_eq!(answer.allowed_by.as_deref(), Some("p#0"));
    }
}
