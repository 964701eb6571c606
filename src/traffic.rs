//! `triage explain-traffic`: why can (or can't) FROM reach TO? Pure core: resolves
//! both ends to pods of the snapshot and evaluates each pair with
//! [`netpol::connection`] (the source's egress AND the destination's ingress, as
//! Kubernetes enforces them), then proposes the smallest allow policy for a denied
//! side (printed, never applied).

use std::collections::BTreeMap;
use std::net::IpAddr;

use k8s_openapi::api::core::v1::Pod;
use serde::Serialize;
use serde_json::json;

use crate::finding::Context;
use crate::k8s::netpol::{self, Destination, NAMESPACE_NAME_LABEL, Source, Verdict};
use crate::signals::egress;
use crate::snapshot::{Gap, HasMeta, Kind, in_namespace};

/// The `kind` of `explain-traffic -o json|yaml`.
pub const KIND: &str = "TrafficExplanation";

/// One side of a connection: the source's egress or the destination's ingress.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Side {
    pub verdict: Verdict,
    /// Not isolated: no policy of that direction selects the pod, so all flows.
    pub isolated: bool,
    pub isolating: Vec<String>,
    /// `policy#rule` that allows it.
    pub allowed_by: Option<String>,
    /// Allowed only because an ipBlock `0.0.0.0/0` is taken to match pods.
    pub plugin_dependent: bool,
}

/// One source pod to one destination pod.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Pair {
    pub from: String,
    pub to: String,
    pub port: i32,
    pub protocol: String,
    pub egress: Side,
    /// None (`null`) when the destination is an IP that is no pod of the snapshot:
    /// there is no destination pod whose ingress triage could evaluate.
    pub ingress: Option<Side>,
    pub verdict: Verdict,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Explanation {
    /// `triage/v1alpha1`, like every structured output (docs/output.md).
    pub api_version: &'static str,
    /// `TrafficExplanation`.
    pub kind: &'static str,
    pub namespace: String,
    pub from: String,
    pub to: String,
    pub pairs: Vec<Pair>,
    /// The worst pair: one denied pod behind a Service is a denied Service.
    pub verdict: Verdict,
    /// Assumptions the verdict rests on (DNS not in the snapshot, ...).
    pub notes: Vec<String>,
    /// Smallest allow policies that would permit the denied pairs (YAML, never applied).
    pub suggestions: Vec<serde_json::Value>,
    /// Single objects read beside the namespace (the `kube-dns` Service, the pods it
    /// selects, namespaces) that could not be read, by what they are
    /// (`service kube-system/kube-dns`): the notes say what was assumed instead.
    /// Omitted when none; a snapshot file never holds them.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub object_gaps: BTreeMap<String, Gap>,
}

/// Explains `from` -> `to` (`TO[:PORT[/PROTO]]`) in the context's namespace. When the
/// NetworkPolicies could not be listed every answer rests on "there are none", so the
/// verdict is unknown and a note says why.
pub fn explain(context: &Context, from: &str, to: &str) -> Result<Explanation, String> {
    let mut view = explain_pairs(context, from, to)?;
    view.object_gaps = context.snapshot.object_gaps.clone();
    if let Some(gap) = context.snapshot.gaps.get(&Kind::NetworkPolicy) {
        let why = match gap {
            Gap::Forbidden(message) => format!("forbidden: {message}"),
            Gap::Failed(message) => message.clone(),
        };
        view.verdict = Verdict::Unknown;
        view.notes.push(format!(
            "NetworkPolicies could not be listed ({why}): the pairs assume there are none, so the verdict is unknown"
        ));
    }
    Ok(view)
}

fn explain_pairs(context: &Context, from: &str, to: &str) -> Result<Explanation, String> {
    let ns = context.namespace;
    let sources = resolve_pods(context, from)?;
    if sources.is_empty() {
        return Err(format!("`{from}` selects no pod in namespace `{ns}`"));
    }
    let (what, port, protocol) = split_port(to)?;
    let mut notes = Vec::new();
    let targets: Vec<(String, Destination)> = if what == "dns" {
        let dns = egress::dns_target(context);
        if let Some(crate::finding::Evidence::Field {
            note: Some(note), ..
        }) = &dns.assumption
        {
            notes.push(note.clone());
        }
        let mut targets = dns.targets;
        if let Some(port) = port {
            for (_, t) in &mut targets {
                t.port = port;
            }
        }
        if let Some(protocol) = &protocol {
            for (_, t) in &mut targets {
                t.protocol = protocol.clone();
            }
        }
        targets
    } else if let Ok(ip) = what.parse::<IpAddr>() {
        let port = port
            .ok_or_else(|| format!("`{what}` is an IP: give the port (`{what}:PORT[/PROTO]`)"))?;
        let protocol = protocol.unwrap_or_else(|| "TCP".to_string());
        match pod_with_ip(context, ip) {
            Some(pod) => {
                notes.push(format!(
                    "{ip} is the IP of pod `{}/{}` (status.podIPs): both sides are evaluated as for that pod",
                    pod.namespace(),
                    pod.name()
                ));
                vec![pod_target(context, pod, port, &protocol)]
            }
            None => {
                return Ok(explain_external(
                    context, from, to, &sources, ip, port, &protocol,
                ));
            }
        }
    } else {
        service_targets(context, &what, port, protocol.as_deref())?.map_or_else(
            || pod_targets(context, &what, port, protocol.as_deref()),
            Ok,
        )?
    };
    if targets.is_empty() {
        return Err(format!("`{what}` selects no pod"));
    }
    let policies: Vec<_> = context.snapshot.network_policies.iter().collect();
    let source_ns_labels = egress::namespace_labels(context, ns);
    let mut pairs = Vec::new();
    let mut suggestions = Vec::new();
    for pod in &sources {
        let source = Source {
            namespace: ns.to_string(),
            namespace_labels: source_ns_labels.clone(),
            pod_labels: pod.metadata.labels.clone().unwrap_or_default(),
        };
        for (name, target) in &targets {
            let (out, into, verdict) = netpol::connection(&policies, &policies, &source, target);
            let side = |a: netpol::EgressAnswer| Side {
                verdict: a.verdict,
                isolated: !a.isolating.is_empty(),
                isolating: a.isolating,
                allowed_by: a.allowed_by,
                plugin_dependent: a.plugin_dependent,
            };
            let (egress_side, ingress_side) = (side(out), side(into));
            if egress_side.verdict == Verdict::Denied {
                push_unique(&mut suggestions, allow_egress(&source, target));
            }
            if ingress_side.verdict == Verdict::Denied {
                push_unique(&mut suggestions, allow_ingress(&source, target));
            }
            pairs.push(Pair {
                from: pod.name().to_string(),
                to: format!("{}/{}", target.namespace, name),
                port: target.port,
                protocol: target.protocol.clone(),
                egress: egress_side,
                ingress: Some(ingress_side),
                verdict,
            });
        }
    }
    let verdict = pairs
        .iter()
        .map(|p| p.verdict)
        .max()
        .unwrap_or(Verdict::Unknown);
    if pairs.iter().any(|p| {
        p.egress.plugin_dependent || p.ingress.as_ref().is_some_and(|s| s.plugin_dependent)
    }) {
        notes.push("an ipBlock 0.0.0.0/0 is taken to match pod traffic; whether it does depends on the network plugin".to_string());
    }
    Ok(Explanation {
        api_version: crate::inventory::API_VERSION,
        kind: KIND,
        namespace: ns.to_string(),
        from: from.to_string(),
        to: to.to_string(),
        pairs,
        verdict,
        notes,
        suggestions,
        object_gaps: BTreeMap::new(),
    })
}

/// The pod of the snapshot (any namespace) whose `status.podIP` or
/// `status.podIPs[*].ip` is `ip`. Addresses compare parsed, so `2001:db8::1` and
/// `2001:0db8::1` are the same pod. Pods that finished (Succeeded/Failed) no longer
/// hold their IP, so they are skipped.
fn pod_with_ip<'a>(context: &'a Context, ip: IpAddr) -> Option<&'a Pod> {
    let same = |text: &str| text.parse::<IpAddr>().ok() == Some(ip);
    let mut pods: Vec<&Pod> = context
        .snapshot
        .pods
        .iter()
        .filter(|pod| {
            let Some(status) = pod.status.as_ref() else {
                return false;
            };
            let finished = matches!(status.phase.as_deref(), Some("Succeeded" | "Failed"));
            !finished
                && (status.pod_ip.as_deref().is_some_and(same)
                    || status.pod_ips.iter().flatten().any(|p| same(&p.ip)))
        })
        .collect();
    // Host-network pods share their node's IP: prefer the one in our namespace, then by name.
    pods.sort_by_key(|p| (p.namespace() != context.namespace, p.namespace(), p.name()));
    pods.into_iter().next()
}

/// FROM -> an IP no pod of the snapshot holds: only the source's egress can be
/// evaluated (ipBlock peers, ports, protocols: [`netpol::egress_to_ip`]); what is at
/// that address (or a firewall before it) decides the rest, so ingress is `null`.
fn explain_external(
    context: &Context,
    from: &str,
    to: &str,
    sources: &[&Pod],
    ip: IpAddr,
    port: i32,
    protocol: &str,
) -> Explanation {
    let ns = context.namespace;
    let policies: Vec<_> = in_namespace(&context.snapshot.network_policies, ns);
    let mut pairs = Vec::new();
    let mut suggestions = Vec::new();
    for pod in sources {
        let answer =
            netpol::egress_to_ip(&policies, pod.metadata.labels.as_ref(), ip, port, protocol);
        if answer.verdict == Verdict::Denied {
            push_unique(
                &mut suggestions,
                allow_egress_to_ip(ns, pod.metadata.labels.as_ref(), ip, port, protocol),
            );
        }
        pairs.push(Pair {
            from: pod.name().to_string(),
            to: ip.to_string(),
            port,
            protocol: protocol.to_string(),
            verdict: answer.verdict,
            egress: Side {
                verdict: answer.verdict,
                isolated: !answer.isolating.is_empty(),
                isolating: answer.isolating,
                allowed_by: answer.allowed_by,
                plugin_dependent: false,
            },
            ingress: None,
        });
    }
    let verdict = pairs
        .iter()
        .map(|p| p.verdict)
        .max()
        .unwrap_or(Verdict::Unknown);
    Explanation {
        api_version: crate::inventory::API_VERSION,
        kind: KIND,
        namespace: ns.to_string(),
        from: from.to_string(),
        to: to.to_string(),
        pairs,
        verdict,
        notes: vec![format!(
            "ingress not evaluated: {ip} is not a pod triage knows (no pod in the snapshot has that IP); the verdict is the source's egress only"
        )],
        suggestions,
        object_gaps: BTreeMap::new(),
    }
}

/// The smallest egress allow to one address: that host (`/32`, `/128`) on that port.
fn allow_egress_to_ip(
    namespace: &str,
    labels: Option<&BTreeMap<String, String>>,
    ip: IpAddr,
    port: i32,
    protocol: &str,
) -> serde_json::Value {
    let host = match ip {
        IpAddr::V4(_) => format!("{ip}/32"),
        IpAddr::V6(_) => format!("{ip}/128"),
    };
    let name = ip.to_string().replace([':', '.'], "-");
    json!({
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": format!("allow-egress-to-{name}-{port}"), "namespace": namespace},
        "spec": {
            "podSelector": {"matchLabels": stable(&labels.cloned().unwrap_or_default())},
            "policyTypes": ["Egress"],
            "egress": [{"to": [{"ipBlock": {"cidr": host}}], "ports": [{"protocol": protocol, "port": port}]}],
        }
    })
}

fn push_unique(list: &mut Vec<serde_json::Value>, item: serde_json::Value) {
    if !list.contains(&item) {
        list.push(item);
    }
}

/// `NAME[:PORT[/PROTO]]`; an IPv6 address with a port is bracketed as in a URL
/// (`[2001:db8::5]:443/TCP`), a bare one (`2001:db8::5`) has no port.
fn split_port(to: &str) -> Result<(String, Option<i32>, Option<String>), String> {
    let bracketed = to
        .strip_prefix('[')
        .and_then(|rest| rest.split_once(']'))
        .map(|(address, after)| (address.to_string(), after));
    let (what, rest) = match bracketed {
        Some((address, "")) => return Ok((address, None, None)),
        Some((address, after)) => match after.strip_prefix(':') {
            Some(rest) => (address, rest),
            None => return Err(format!("`{to}`: write [IPv6]:PORT[/PROTO]")),
        },
        None => match to.rsplit_once(':').filter(|(w, _)| !w.contains(':')) {
            Some((what, rest)) => (what.to_string(), rest),
            None => return Ok((to.to_string(), None, None)),
        },
    };
    let (port, protocol) = match rest.split_once('/') {
        Some((p, proto)) => (p, Some(proto.to_ascii_uppercase())),
        None => (rest, None),
    };
    if let Some(proto) = &protocol
        && !["TCP", "UDP", "SCTP"].contains(&proto.as_str())
    {
        return Err(format!("`{proto}`: the protocol is TCP, UDP or SCTP"));
    }
    let port = port
        .parse::<i32>()
        .map_err(|_| format!("`{rest}`: the port is a number (PORT[/PROTO])"))?;
    Ok((what, Some(port), protocol))
}

fn strip<'a>(text: &'a str, prefixes: &[&str]) -> Option<&'a str> {
    prefixes.iter().find_map(|p| text.strip_prefix(p))
}

/// FROM: `pod/NAME` or `NAME`, `deployment/NAME`, or a label selector `k=v,k2=v2`.
fn resolve_pods<'a>(context: &'a Context, from: &str) -> Result<Vec<&'a Pod>, String> {
    let pods = in_namespace(&context.snapshot.pods, context.namespace);
    if let Some(name) = strip(from, &["deployment/", "deploy/", "deployment.apps/"]) {
        let deployment = in_namespace(&context.snapshot.deployments, context.namespace)
            .into_iter()
            .find(|d| d.name() == name)
            .ok_or_else(|| {
                format!(
                    "deployment `{name}` is not in namespace `{}`",
                    context.namespace
                )
            })?;
        let selector = deployment.spec.as_ref().map(|s| &s.selector);
        let mut found: Vec<&Pod> = pods
            .into_iter()
            .filter(|p| {
                selector.is_some()
                    && crate::k8s::selector::matches(selector, p.metadata.labels.as_ref())
            })
            .collect();
        found.sort_by(|a, b| a.name().cmp(b.name()));
        return Ok(found);
    }
    if from.contains('=') {
        let wanted: BTreeMap<&str, &str> = from
            .split(',')
            .filter_map(|pair| pair.split_once('='))
            .map(|(k, v)| (k.trim(), v.trim()))
            .collect();
        let mut found: Vec<&Pod> = pods
            .into_iter()
            .filter(|p| {
                wanted.iter().all(|(k, v)| {
                    p.metadata
                        .labels
                        .as_ref()
                        .and_then(|l| l.get(*k))
                        .map(String::as_str)
                        == Some(*v)
                })
            })
            .collect();
        found.sort_by(|a, b| a.name().cmp(b.name()));
        return Ok(found);
    }
    let name = strip(from, &["pod/", "pods/", "po/"]).unwrap_or(from);
    pods.into_iter()
        .find(|p| p.name() == name)
        .map(|p| vec![p])
        .ok_or_else(|| format!("pod `{name}` is not in namespace `{}`", context.namespace))
}

fn pod_target(context: &Context, pod: &Pod, port: i32, protocol: &str) -> (String, Destination) {
    (
        pod.name().to_string(),
        Destination {
            label: pod.name().to_string(),
            service: String::new(),
            namespace: pod.namespace().to_string(),
            namespace_labels: egress::namespace_labels(context, pod.namespace()),
            pod_labels: pod.metadata.labels.clone().unwrap_or_default(),
            port,
            protocol: protocol.to_string(),
            port_names: Some(egress::container_ports(pod)),
        },
    )
}

/// TO as a Service (`service/NAME` or a Service's name): the pods it selects, each on
/// the Service port's target port. None when no Service has that name.
fn service_targets(
    context: &Context,
    what: &str,
    port: Option<i32>,
    protocol: Option<&str>,
) -> Result<Option<Vec<(String, Destination)>>, String> {
    let explicit = strip(what, &["service/", "svc/"]);
    let name = explicit.unwrap_or(what);
    let Some(service) = in_namespace(&context.snapshot.services, context.namespace)
        .into_iter()
        .find(|s| s.name() == name)
    else {
        return match explicit {
            Some(_) => Err(format!(
                "service `{name}` is not in namespace `{}`",
                context.namespace
            )),
            None => Ok(None),
        };
    };
    let spec = service.spec.as_ref();
    let ports: Vec<_> = spec.iter().flat_map(|s| s.ports.iter().flatten()).collect();
    let service_port = match port {
        Some(number) => ports
            .iter()
            .find(|p| {
                p.port == number
                    && protocol.is_none_or(|proto| p.protocol.as_deref().unwrap_or("TCP") == proto)
            })
            .ok_or_else(|| format!("service `{name}` has no port {number}"))?,
        None => ports
            .first()
            .ok_or_else(|| format!("service `{name}` has no port"))?,
    };
    let selector = spec.and_then(|s| s.selector.clone()).unwrap_or_default();
    if selector.is_empty() {
        return Err(format!(
            "service `{name}` has no selector: its endpoints are not pods triage can judge"
        ));
    }
    let protocol = service_port
        .protocol
        .clone()
        .unwrap_or_else(|| "TCP".into());
    let mut pods: Vec<&Pod> = in_namespace(&context.snapshot.pods, context.namespace)
        .into_iter()
        .filter(|p| {
            selector
                .iter()
                .all(|(k, v)| p.metadata.labels.as_ref().and_then(|l| l.get(k)) == Some(v))
        })
        .collect();
    pods.sort_by(|a, b| a.name().cmp(b.name()));
    Ok(Some(
        pods.into_iter()
            .map(|pod| {
                let target_port =
                    egress::resolve_target_port(service_port, &egress::container_ports(pod));
                pod_target(context, pod, target_port, &protocol)
            })
            .collect(),
    ))
}

/// TO as a pod (`pod/NAME` or a pod's name) or `deployment/NAME`; a port is needed.
fn pod_targets(
    context: &Context,
    what: &str,
    port: Option<i32>,
    protocol: Option<&str>,
) -> Result<Vec<(String, Destination)>, String> {
    let port = port.ok_or_else(|| {
        format!("`{what}` is not a Service: give the port (`{what}:PORT[/PROTO]`)")
    })?;
    let pods = resolve_pods(context, what)?;
    Ok(pods
        .into_iter()
        .map(|pod| pod_target(context, pod, port, protocol.unwrap_or("TCP")))
        .collect())
}

/// A pod's labels without those that name one pod or one revision (set by the
/// Deployment and StatefulSet controllers: pod-template-hash,
/// controller-revision-hash, statefulset.kubernetes.io/pod-name,
/// apps.kubernetes.io/pod-index), so the allow survives the next rollout.
fn stable(labels: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    const PER_POD: [&str; 4] = [
        "pod-template-hash",
        "controller-revision-hash",
        "statefulset.kubernetes.io/pod-name",
        "apps.kubernetes.io/pod-index",
    ];
    labels
        .iter()
        .filter(|(k, _)| !PER_POD.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

fn peer(namespace: &str, labels: &BTreeMap<String, String>) -> serde_json::Value {
    json!({
        "namespaceSelector": {"matchLabels": {NAMESPACE_NAME_LABEL: namespace}},
        "podSelector": {"matchLabels": stable(labels)},
    })
}

/// The smallest egress allow: only the source pods (by their labels), only to the
/// destination pods (by theirs, in their namespace), only that port. A separate
/// policy: policies are a union, so adding one never weakens another.
fn allow_egress(source: &Source, target: &Destination) -> serde_json::Value {
    json!({
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": format!("allow-egress-to-{}-{}", target.namespace, target.port), "namespace": source.namespace},
        "spec": {
            "podSelector": {"matchLabels": stable(&source.pod_labels)},
            "policyTypes": ["Egress"],
            "egress": [{"to": [peer(&target.namespace, &target.pod_labels)], "ports": [{"protocol": target.protocol, "port": target.port}]}],
        }
    })
}

/// The smallest ingress allow, mirrored.
fn allow_ingress(source: &Source, target: &Destination) -> serde_json::Value {
    json!({
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": format!("allow-ingress-from-{}-{}", source.namespace, target.port), "namespace": target.namespace},
        "spec": {
            "podSelector": {"matchLabels": stable(&target.pod_labels)},
            "policyTypes": ["Ingress"],
            "ingress": [{"from": [peer(&source.namespace, &source.pod_labels)], "ports": [{"protocol": target.protocol, "port": target.port}]}],
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signals::test_support::snapshot;

    const SHOP: &str = r#"apiVersion: v1
kind: Pod
metadata: {name: web-1, namespace: shop, labels: {app: web, pod-template-hash: abc}}
spec: {containers: [{name: web, image: x}]}
---
apiVersion: v1
kind: Pod
metadata: {name: db-0, namespace: shop, labels: {app: db, tier: db}}
spec: {containers: [{name: pg, image: postgres, ports: [{name: pg, containerPort: 5433}]}]}
---
apiVersion: v1
kind: Service
metadata: {name: db, namespace: shop}
spec: {selector: {app: db}, ports: [{port: 5432, targetPort: pg}]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: db-in, namespace: shop}
spec:
  podSelector: {matchLabels: {tier: db}}
  ingress: [{from: [{podSelector: {matchLabels: {app: api}}}], ports: [{port: pg}]}]
"#;

    #[test]
    fn a_service_is_its_pods_on_their_port_and_ingress_decides() {
        let snapshot = snapshot(SHOP);
        let context = Context::new(&snapshot, "shop");
        let view = explain(&context, "web-1", "db").unwrap();
        assert_eq!(view.verdict, Verdict::Denied);
        assert_eq!(view.pairs.len(), 1);
        let pair = &view.pairs[0];
        assert_eq!((pair.to.as_str(), pair.port), ("shop/db-0", 5433));
        assert!(!pair.egress.isolated);
        assert_eq!(pair.ingress.as_ref().unwrap().isolating, vec!["db-in"]);
        assert_eq!(pair.ingress.as_ref().unwrap().allowed_by, None);
        assert_eq!(view.suggestions.len(), 1);
        let suggestion = &view.suggestions[0];
        assert_eq!(suggestion["spec"]["policyTypes"], json!(["Ingress"]));
        assert_eq!(
            suggestion["spec"]["ingress"][0]["from"][0]["podSelector"]["matchLabels"],
            json!({"app": "web"}),
            "pod-template-hash is left out"
        );
        assert_eq!(suggestion["spec"]["ingress"][0]["ports"][0]["port"], 5433);
        // The look-alike: an `app: api` pod is allowed by rule db-in#0.
        let api = SHOP.replace(
            "name: web-1, namespace: shop, labels: {app: web",
            "name: web-1, namespace: shop, labels: {app: api",
        );
        let snapshot = crate::signals::test_support::snapshot(&api);
        let view = explain(
            &Context::new(&snapshot, "shop"),
            "app=api",
            "service/db:5432/tcp",
        )
        .unwrap();
        assert_eq!(view.verdict, Verdict::Allowed);
        assert_eq!(
            view.pairs[0]
                .ingress
                .as_ref()
                .unwrap()
                .allowed_by
                .as_deref(),
            Some("db-in#0")
        );
        assert!(view.suggestions.is_empty());
    }

    #[test]
    fn bad_inputs_are_named() {
        let snapshot = snapshot(SHOP);
        let context = Context::new(&snapshot, "shop");
        assert_eq!(
            explain(&context, "nope", "db").unwrap_err(),
            "pod `nope` is not in namespace `shop`"
        );
        assert!(
            explain(&context, "web-1", "db-0")
                .unwrap_err()
                .contains("give the port")
        );
        assert!(
            explain(&context, "web-1", "db:99")
                .unwrap_err()
                .contains("no port 99")
        );
        assert!(
            explain(&context, "web-1", "10.0.0.1")
                .unwrap_err()
                .contains("is an IP: give the port")
        );
        assert!(
            explain(&context, "web-1", "db-0:80/icmp")
                .unwrap_err()
                .contains("TCP, UDP or SCTP")
        );
        let dns = explain(&context, "web-1", "dns").unwrap();
        assert_eq!(dns.verdict, Verdict::Allowed);
        assert_eq!(
            (dns.pairs[0].port, dns.pairs[0].protocol.as_str()),
            (53, "UDP")
        );
        assert!(
            dns.notes[0].contains("kube-system/kube-dns"),
            "{:?}",
            dns.notes
        );
    }

    /// SHOP with pod IPs and an egress policy for `app: web`: 203.0.113.0/24 except
    /// its upper half on 443, and the `tier: db` pods on any port.
    fn with_ips() -> String {
        let shop = SHOP
            .replace(
                "spec: {containers: [{name: web, image: x}]}",
                "spec: {containers: [{name: web, image: x}]}\nstatus: {phase: Running, podIP: 10.0.1.5}",
            )
            .replace(
                "containerPort: 5433}]}]}",
                "containerPort: 5433}]}]}\nstatus: {phase: Running, podIP: 10.0.3.7, podIPs: [{ip: 10.0.3.7}, {ip: 'fd00::37'}]}",
            );
        format!(
            "{shop}---\napiVersion: v1\nkind: Pod\nmetadata: {{name: old-job, namespace: shop}}\nspec: {{containers: [{{name: j, image: x}}]}}\nstatus: {{phase: Succeeded, podIP: 10.0.9.9}}\n---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: web-out, namespace: shop}}\nspec:\n  podSelector: {{matchLabels: {{app: web}}}}\n  policyTypes: [Egress]\n  egress:\n  - to: [{{ipBlock: {{cidr: 203.0.113.0/24, except: [203.0.113.128/25]}}}}]\n    ports: [{{port: 443}}]\n  - to: [{{podSelector: {{matchLabels: {{tier: db}}}}}}]\n"
        )
    }

    #[test]
    fn an_external_ip_is_judged_by_the_sources_ip_blocks_only() {
        let snapshot = snapshot(&with_ips());
        let context = Context::new(&snapshot, "shop");
        let view = explain(&context, "web-1", "203.0.113.9:443").unwrap();
        assert_eq!(view.verdict, Verdict::Allowed);
        let pair = &view.pairs[0];
        assert_eq!(
            (pair.to.as_str(), pair.port, pair.protocol.as_str()),
            ("203.0.113.9", 443, "TCP")
        );
        assert_eq!(pair.egress.isolating, vec!["web-out"]);
        assert_eq!(pair.egress.allowed_by.as_deref(), Some("web-out#0"));
        assert_eq!(pair.ingress, None, "no destination pod to evaluate");
        assert!(
            view.notes[0]
                .starts_with("ingress not evaluated: 203.0.113.9 is not a pod triage knows"),
            "{:?}",
            view.notes
        );
        assert!(view.suggestions.is_empty());
        // The except carves the upper half out; the wrong port or protocol is denied too.
        for to in [
            "203.0.113.200:443",
            "203.0.113.9:80",
            "203.0.113.9:443/udp",
            "198.51.100.1:443",
        ] {
            let view = explain(&context, "web-1", to).unwrap();
            assert_eq!(view.verdict, Verdict::Denied, "{to}");
            assert_eq!(view.pairs[0].egress.allowed_by, None, "{to}");
        }
        let denied = explain(&context, "web-1", "203.0.113.200:443").unwrap();
        let suggestion = &denied.suggestions[0];
        assert_eq!(
            suggestion["spec"]["egress"][0]["to"][0]["ipBlock"]["cidr"],
            "203.0.113.200/32"
        );
        assert_eq!(
            suggestion["spec"]["podSelector"]["matchLabels"],
            json!({"app": "web"})
        );
        assert_eq!(
            suggestion["spec"]["egress"][0]["ports"][0],
            json!({"protocol": "TCP", "port": 443})
        );
        // A pod no egress policy selects is not isolated: allowed, no suggestion.
        let db = explain(&context, "db-0", "[2001:db8::5]:443").unwrap();
        assert_eq!(db.verdict, Verdict::Allowed);
        assert!(!db.pairs[0].egress.isolated);
        assert_eq!(db.pairs[0].to, "2001:db8::5");
        // The IP of a finished pod is nobody's: external.
        let finished = explain(&context, "web-1", "10.0.9.9:443").unwrap();
        assert_eq!(finished.pairs[0].ingress, None);
        assert_eq!(finished.verdict, Verdict::Denied);
    }

    #[test]
    fn a_pod_ip_is_that_pod_on_both_sides() {
        let snapshot = snapshot(&with_ips());
        let context = Context::new(&snapshot, "shop");
        for to in ["10.0.3.7:5433", "[fd00::37]:5433/TCP"] {
            let view = explain(&context, "web-1", to).unwrap();
            let pair = &view.pairs[0];
            assert_eq!(pair.to, "shop/db-0", "{to}");
            // Egress allowed by the selector rule, ingress denied by db-in (only app: api).
            assert_eq!(pair.egress.allowed_by.as_deref(), Some("web-out#1"), "{to}");
            let ingress = pair.ingress.as_ref().unwrap();
            assert_eq!(ingress.isolating, vec!["db-in"]);
            assert_eq!(ingress.verdict, Verdict::Denied);
            assert_eq!(view.verdict, Verdict::Denied);
            assert!(
                view.notes[0].contains("pod `shop/db-0`"),
                "{:?}",
                view.notes
            );
        }
        // The look-alike: the same pod by IP on its named port's number, from an
        // `app: api` pod, is allowed on both sides (db-in#0 names port `pg` = 5433).
        let api = with_ips().replace(
            "labels: {app: web, pod-template-hash",
            "labels: {app: api, pod-template-hash",
        );
        let snapshot = crate::signals::test_support::snapshot(&api);
        let view = explain(&Context::new(&snapshot, "shop"), "web-1", "10.0.3.7:5433").unwrap();
        assert_eq!(view.verdict, Verdict::Allowed);
        assert_eq!(
            view.pairs[0]
                .ingress
                .as_ref()
                .unwrap()
                .allowed_by
                .as_deref(),
            Some("db-in#0")
        );
        assert!(
            explain(&context, "web-1", "[fd00::37]5433")
                .unwrap_err()
                .contains("[IPv6]:PORT")
        );
    }

    #[test]
    fn unlisted_policies_make_the_verdict_unknown_and_gaps_are_carried() {
        let mut snapshot = snapshot(SHOP);
        snapshot
            .gaps
            .insert(Kind::NetworkPolicy, Gap::Forbidden("no list".into()));
        snapshot.object_gaps.insert(
            "service kube-system/kube-dns".into(),
            Gap::Failed("timeout".into()),
        );
        let view = explain(&Context::new(&snapshot, "shop"), "web-1", "db").unwrap();
        assert_eq!(view.verdict, Verdict::Unknown);
        assert!(
            view.notes
                .last()
                .unwrap()
                .starts_with("NetworkPolicies could not be listed (forbidden: no list)"),
            "{:?}",
            view.notes
        );
        let json = serde_json::to_value(&view).unwrap();
        assert_eq!(json["apiVersion"], "triage/v1alpha1");
        assert_eq!(json["kind"], "TrafficExplanation");
        assert_eq!(
            json["objectGaps"]["service kube-system/kube-dns"],
            json!({"reason": "failed", "message": "timeout"})
        );
        // The look-alike: a complete snapshot has a verdict and no objectGaps key.
        let complete = crate::signals::test_support::snapshot(SHOP);
        let view = explain(&Context::new(&complete, "shop"), "web-1", "db").unwrap();
        assert_eq!(view.verdict, Verdict::Denied);
        assert!(
            serde_json::to_value(&view)
                .unwrap()
                .get("objectGaps")
                .is_none()
        );
    }
}
