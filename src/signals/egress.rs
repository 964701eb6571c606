//! `egress`: NetworkPolicies selecting the app pods deny egress to the cluster DNS
//! (kube-system, UDP 53) or to the database. Real NetworkPolicy semantics (crate::k8s::netpol,
//! https://kubernetes.io/docs/concepts/services-networking/network-policies/).
//!
//! The database is the profile's Service and port; without a profile, the first
//! Service (by name) whose name ends in `-db` or contains `postgres`, or that exposes
//! 5432; none found: only DNS is checked.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Pod, Service};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde::{Deserialize, Serialize};

use crate::finding::{Context, Evidence, Finding, ObjectRef, Status};
use crate::k8s::netpol::{self, Destination, NAMESPACE_NAME_LABEL, Verdict};
use crate::signals::{Chain, ChainState, Gate, RawReads, Signal};
use crate::snapshot::{HasMeta, Kind, in_namespace};

pub struct Egress;

pub const ID: &str = "egress";

const POSTGRES_PORT: i32 = 5432;

/// One pod's egress to DNS and the database.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PodVerdict {
    pub dns: Verdict,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database: Option<Verdict>,
    /// The database pods this pod may not reach (the Service's other pods may be fine).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub denied_database_pods: Vec<String>,
    /// The NetworkPolicies that select the pod for egress.
    pub isolating: Vec<String>,
    /// An Allowed verdict here rests on an ipBlock `0.0.0.0/0` matching pod traffic.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub plugin_dependent: bool,
}

/// Its section of `docs/signals.md`.
const DOCS: &str = r#"
Keys on NetworkPolicies with real semantics (`src/k8s/netpol.rs`,
[network policies](https://kubernetes.io/docs/concepts/services-networking/network-policies/)):
a pod is isolated for egress when a policy with `Egress` in `policyTypes` (or, without
policyTypes, with egress rules) selects it; it may send only what the union of those
policies' rules allows. Peers: `podSelector` (the policy's namespace), `namespaceSelector`
(namespace labels; every namespace has `kubernetes.io/metadata.name`), both combined,
`ipBlock` (matches a pod only as `0.0.0.0/0`/`::/0` without `except`: pod IPs are not in a
snapshot). Ports: protocol (default TCP), numbers, `endPort` ranges, named ports (matched
against the target's container port names when known, else `unknown`). A rule without
`to` matches every destination, without `ports` every port.
An `ipBlock` `0.0.0.0/0` allow is marked plugin-dependent in the evidence
(`spec.egress[N].to[].ipBlock.cidr`): whether ipBlocks match pod IPs is the network plugin's call.
Targets are the pods a Service actually selects, each with its own labels and container
ports (a named `targetPort` resolves per pod); a Service selecting no pod is not judged
here (`endpoints` reports it); one denied backend denies the target
(`details.pods.*.deniedDatabasePods`). DNS = the profile's `dns` Service, else
`kube-system/kube-dns`, when the snapshot holds it (live: read from kube-system; a 403
leaves it out): its UDP port, its pods and their namespace's labels; when it is absent, pods
`k8s-app: kube-dns` in kube-system on UDP 53 (container port names `dns`/`dns-tcp` as
upstream CoreDNS names them) with that assumption stated in the evidence. The database =
the profile's Service (the pods it selects, its target port). Without a profile: the first Service named `*-db` or
`*postgres*` or exposing 5432, checked only for pods whose command, args or env name that
Service; if none, only DNS. Pods checked: the profile's apps, else every pod. Fix: a
separate allow policy `<namespace>-allow-egress-essentials` (runbook/egress.md); the
default deny stays untouched. Look-alike: a policy allowing kube-system 53 and the
database port is ok.
"#;

impl Signal for Egress {
    fn id(&self) -> &'static str {
        ID
    }

    fn title(&self) -> &'static str {
        "NetworkPolicy egress to DNS and the database"
    }

    fn reads(&self) -> &'static [Kind] {
        &[Kind::NetworkPolicy, Kind::Pod, Kind::Service]
    }

    /// The Namespace's labels, which namespaceSelectors match.
    fn reads_raw(&self) -> RawReads {
        RawReads::Kinds(&["Namespace"])
    }

    fn chain(&self) -> Option<Chain> {
        Some(Chain {
            state: ChainState::Progressing,
            position: 7,
        })
    }

    fn gates(&self) -> &'static [Gate] {
        &[Gate {
            gated: "init-container",
            because: "blocks the pod from reaching DNS and the database",
        }]
    }

    fn rationale(&self) -> Option<&'static str> {
        Some("pods need DNS and the database before they can verify anything")
    }

    fn docs(&self) -> &'static str {
        DOCS
    }

    fn evaluate(&self, context: &Context) -> Finding {
        let ns = context.namespace;
        let snapshot = context.snapshot;
        if snapshot.gaps.contains_key(&Kind::NetworkPolicy) {
            return Finding::unknown(ID, "NetworkPolicies could not be listed");
        }
        let policies = in_namespace(&snapshot.network_policies, ns);
        let pods = context.app_pods();
        let dns = dns_target(context);
        let database = database_target(context);
        let mut finding = Finding::ok(ID, "");
        let mut verdicts = BTreeMap::new();
        let mut failing_pods: Vec<&Pod> = Vec::new();
        let mut unknown = false;
        // `policy#rule`s whose everything-ipBlock decided an Allowed verdict.
        let mut ip_block_rules = std::collections::BTreeSet::new();
        for pod in &pods {
            let labels = pod.metadata.labels.as_ref();
            let dns_answer = egress_to(&policies, labels, &dns.targets).unwrap_or(Answer {
                verdict: Verdict::Allowed,
                denied: Vec::new(),
                ip_block_rules: Vec::new(),
                isolating: Vec::new(),
            });
            let is_database_pod = database
                .as_ref()
                .is_some_and(|db| db.targets.iter().any(|(name, _)| name == pod.name()));
            // Without a profile, only pods that name the database Service need it.
            let needs_database = context.profile.is_some()
                || database
                    .as_ref()
                    .is_some_and(|db| mentions(pod, &db.service));
            let db_answer = database
                .as_ref()
                .filter(|_| !is_database_pod && needs_database)
                .and_then(|db| egress_to(&policies, labels, &db.targets));
            let mut plugin_dependent = false;
            for answer in std::iter::once(&dns_answer).chain(db_answer.as_ref()) {
                if !answer.ip_block_rules.is_empty() {
                    plugin_dependent = true;
                    ip_block_rules.extend(answer.ip_block_rules.iter().cloned());
                }
            }
            let verdict = PodVerdict {
                dns: dns_answer.verdict,
                database: db_answer.as_ref().map(|a| a.verdict),
                denied_database_pods: db_answer.map(|a| a.denied).unwrap_or_default(),
                isolating: dns_answer.isolating.clone(),
                plugin_dependent,
            };
            if verdict.dns == Verdict::Denied || verdict.database == Some(Verdict::Denied) {
                failing_pods.push(pod);
            } else if verdict.dns == Verdict::Unknown || verdict.database == Some(Verdict::Unknown)
            {
                unknown = true;
            }
            verdicts.insert(pod.name().to_string(), verdict);
        }
        let db_label = database.as_ref().map(|db| db.label.clone());
        // After the policies' own evidence: the ipBlock rules an Allowed verdict rests
        // on, and what was assumed about DNS (only where a policy isolates a pod).
        let mut notes = ip_block_evidence(&policies, &ip_block_rules);
        if verdicts.values().any(|v| !v.isolating.is_empty())
            && let Some(note) = &dns.assumption
        {
            notes.push(note.clone());
        }
        let dns_detail = DnsDetail {
            service: format!("{}/{}", dns.namespace, dns.service),
            port: dns.port,
            pods: dns.targets.iter().map(|(name, _)| name.clone()).collect(),
            assumed: dns.assumption.is_some(),
        };
        if failing_pods.is_empty() {
            finding.summary = format!(
                "{} app pod(s) may reach DNS{}",
                pods.len(),
                db_label
                    .as_ref()
                    .map(|l| format!(" and {l}"))
                    .unwrap_or_default()
            );
            if unknown {
                finding.status = Status::Unknown;
                finding.summary =
                    "a named port decides egress and the target pod is not in the snapshot"
                        .to_string();
            }
            finding.evidence.extend(notes);
            finding.set_details(Details {
                dns: dns_detail,
                pods: verdicts,
                database: None,
            });
            return finding;
        }

        // Evidence per policy that isolates a failing pod.
        let mut by_policy: BTreeMap<String, Vec<&Pod>> = BTreeMap::new();
        for pod in &failing_pods {
            for name in &verdicts[pod.name()].isolating {
                by_policy.entry(name.clone()).or_default().push(pod);
            }
        }
        let mut denied_what = Vec::new();
        if failing_pods
            .iter()
            .any(|p| verdicts[p.name()].dns == Verdict::Denied)
        {
            denied_what.push(format!("DNS ({} UDP/{})", dns.namespace, dns.port));
        }
        if let Some(label) = &db_label
            && failing_pods
                .iter()
                .any(|p| verdicts[p.name()].database == Some(Verdict::Denied))
        {
            denied_what.push(format!("the database ({label})"));
        }
        for (name, selected) in &by_policy {
            let policy = policies
                .iter()
                .find(|p| p.name() == name)
                .expect("isolating policy");
            let object = ObjectRef::of(Kind::NetworkPolicy, *policy);
            finding.add_object(object.clone());
            let names: Vec<&str> = selected.iter().map(|p| p.name()).collect();
            let written = policy.spec.as_ref().is_some_and(|s| s.egress.is_some());
            finding.evidence.push(Evidence::field_note(
                &object,
                if written { "spec.egress" } else { "spec" },
                netpol::describe_rules(policy),
                format!(
                    "selects {} ({}); policyTypes {}",
                    crate::k8s::selector::describe(
                        policy.spec.as_ref().and_then(|s| s.pod_selector.as_ref())
                    ),
                    names.join(", "),
                    netpol::policy_types(
                        policy.spec.as_ref().expect("isolating policy has a spec")
                    )
                    .join(",")
                ),
            ));
        }
        let apps: Vec<String> = failing_pods
            .iter()
            .filter_map(|p| context.app_of(&p.metadata))
            .collect();
        finding.status = Status::Fail;
        finding.scope = context.scope(apps);
        finding.summary = format!(
            "{} pod(s) may not reach {}: NetworkPolicy {}",
            failing_pods.len(),
            denied_what.join(" or "),
            by_policy
                .keys()
                .map(|k| format!("`{k}`"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let mut allow = vec![format!("{} UDP+TCP/{} (DNS)", dns.namespace, dns.port)];
        let database_denied = failing_pods
            .iter()
            .any(|p| verdicts[p.name()].database == Some(Verdict::Denied));
        if let Some(db) = database.as_ref().filter(|_| database_denied) {
            allow.push(format!(
                "pods {} TCP/{} ({})",
                db.selector
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join(","),
                db.port,
                db.label
            ));
        }
        finding.fix = Some(format!(
            "create a separate NetworkPolicy `{}` allowing {} for the pods {deny} shuts in; {deny} stays untouched",
            crate::repair::egress::policy_name(ns),
            allow.join(" and "),
            deny = by_policy
                .keys()
                .map(|k| format!("`{k}`"))
                .collect::<Vec<_>>()
                .join(", "),
        ));
        finding.evidence.extend(notes);
        finding.set_details(Details {
            dns: dns_detail,
            pods: verdicts,
            database: database.map(|db| DatabaseDetail {
                service: db.label,
                pod_labels: db.selector,
                port: db.port,
            }),
        });
        finding
    }
}

/// Whether any container of `pod` names `service` in its command, args or env.
fn mentions(pod: &Pod, service: &str) -> bool {
    let Some(spec) = pod.spec.as_ref() else {
        return false;
    };
    spec.containers
        .iter()
        .chain(spec.init_containers.iter().flatten())
        .any(|c| {
            c.command
                .iter()
                .flatten()
                .chain(c.args.iter().flatten())
                .chain(c.env.iter().flatten().filter_map(|e| e.value.as_ref()))
                .any(|text| text.contains(service))
        })
}

/// A namespace's labels: the automatic name label, plus any the snapshot holds.
pub(crate) fn namespace_labels(context: &Context, namespace: &str) -> BTreeMap<String, String> {
    let mut labels = BTreeMap::from([(NAMESPACE_NAME_LABEL.to_string(), namespace.to_string())]);
    for raw in &context.snapshot.other {
        if raw.kind == "Namespace"
            && raw.name == namespace
            && let Some(map) = raw
                .object
                .pointer("/metadata/labels")
                .and_then(|v| v.as_object())
        {
            for (key, value) in map {
                if let Some(value) = value.as_str() {
                    labels.insert(key.clone(), value.to_string());
                }
            }
        }
    }
    labels
}

/// The database: the Service, and one target per pod it selects.
struct Database {
    /// `Service \`bleat-db\` port 5432`.
    label: String,
    service: String,
    /// The Service's selector, for the suggested allow rule.
    selector: BTreeMap<String, String>,
    /// The Service's target port, as written or resolved (for the fix and detail).
    port: i32,
    /// The pods the Service selects, each with its own labels and container ports:
    /// a NetworkPolicy peer matches the destination pod's labels, not the Service's
    /// selector (a policy may select `tier: db` where the Service selects `app: db`),
    /// and a named targetPort resolves per pod (the endpoints controller's
    /// podutil.FindPort looks the name up in each pod's container ports).
    targets: Vec<(String, Destination)>,
}

/// The database as targets: the Service's port, resolved on each pod it selects.
fn database_target(context: &Context) -> Option<Database> {
    let services = in_namespace(&context.snapshot.services, context.namespace);
    let (service, port): (&Service, i32) = match context.profile.and_then(|p| p.database.as_ref()) {
        Some(db) => (*services.iter().find(|s| s.name() == db.service)?, db.port),
        None => {
            let exposes = |s: &Service| {
                s.spec
                    .iter()
                    .flat_map(|sp| sp.ports.iter().flatten())
                    .any(|p| p.port == POSTGRES_PORT)
            };
            let found = services.iter().find(|s| {
                s.name().ends_with("-db") || s.name().contains("postgres") || exposes(s)
            })?;
            let port = if exposes(found) {
                POSTGRES_PORT
            } else {
                found.spec.as_ref()?.ports.as_ref()?.first()?.port
            };
            (*found, port)
        }
    };
    let spec = service.spec.as_ref()?;
    let selector = spec.selector.clone().filter(|s| !s.is_empty())?;
    let service_port = spec.ports.iter().flatten().find(|p| p.port == port);
    let mut db_pods: Vec<&Pod> = in_namespace(&context.snapshot.pods, context.namespace)
        .into_iter()
        .filter(|pod| {
            let labels = pod.metadata.labels.as_ref();
            selector
                .iter()
                .all(|(k, v)| labels.and_then(|l| l.get(k)) == Some(v))
        })
        .collect();
    db_pods.sort_by(|a, b| a.name().cmp(b.name()));
    let protocol = service_port
        .and_then(|p| p.protocol.clone())
        .unwrap_or_else(|| "TCP".into());
    let namespace_labels = namespace_labels(context, context.namespace);
    let label = format!("Service `{}` port {port}", service.name());
    let mut display_port = match service_port.and_then(|p| p.target_port.as_ref()) {
        Some(IntOrString::Int(n)) => *n,
        _ => port,
    };
    let mut targets = Vec::new();
    for (index, pod) in db_pods.iter().enumerate() {
        let port_names: Vec<(String, i32, String)> = pod
            .spec
            .iter()
            .flat_map(|s| s.containers.iter())
            .flat_map(|c| c.ports.iter().flatten())
            .filter_map(|p| {
                Some((
                    p.name.clone()?,
                    p.container_port,
                    p.protocol.clone().unwrap_or_else(|| "TCP".into()),
                ))
            })
            .collect();
        // No targetPort defaults to the port (ServicePort.targetPort API doc).
        let target_port = match service_port.and_then(|p| p.target_port.as_ref()) {
            Some(IntOrString::Int(n)) => *n,
            Some(IntOrString::String(name)) => port_names
                .iter()
                .find(|(n, _, _)| n == name)
                .map_or(port, |(_, number, _)| *number),
            None => port,
        };
        if index == 0 {
            display_port = target_port;
        }
        targets.push((
            pod.name().to_string(),
            Destination {
                label: label.clone(),
                service: service.name().to_string(),
                namespace: context.namespace.to_string(),
                namespace_labels: namespace_labels.clone(),
                pod_labels: pod.metadata.labels.clone().unwrap_or_default(),
                port: target_port,
                protocol: protocol.clone(),
                port_names: Some(port_names),
            },
        ));
    }
    Some(Database {
        label,
        service: service.name().to_string(),
        selector,
        port: display_port,
        targets,
    })
}

/// Egress from a pod to the pods behind a Service.
struct Answer {
    verdict: Verdict,
    /// The destination pods denied.
    denied: Vec<String>,
    /// `policy#rule`s whose everything-ipBlock decided an Allowed verdict.
    ip_block_rules: Vec<String>,
    /// The policies isolating the source pod for egress.
    isolating: Vec<String>,
}

/// Egress from a pod to every pod behind a Service: the Service balances over all of
/// them, so one denied backend is a denied (intermittently failing) destination;
/// verdicts order Allowed < Unknown < Denied. None when there is no destination pod.
fn egress_to(
    policies: &[&k8s_openapi::api::networking::v1::NetworkPolicy],
    labels: Option<&BTreeMap<String, String>>,
    targets: &[(String, Destination)],
) -> Option<Answer> {
    if targets.is_empty() {
        // A Service selecting no pod has no destination to evaluate; the endpoints
        // signal reports it.
        return None;
    }
    let mut result = Answer {
        verdict: Verdict::Allowed,
        denied: Vec::new(),
        ip_block_rules: Vec::new(),
        isolating: Vec::new(),
    };
    for (pod, target) in targets {
        let answer = netpol::egress(policies, labels, target);
        if answer.verdict == Verdict::Denied {
            result.denied.push(pod.clone());
        }
        if answer.plugin_dependent {
            result.ip_block_rules.extend(answer.allowed_by);
        }
        result.verdict = result.verdict.max(answer.verdict);
        result.isolating = answer.isolating;
    }
    Some(result)
}

/// The cluster DNS, found the way the cluster defines it: the profile's `dns`
/// Service, else `kube-system/kube-dns` (the Service name every conformant cluster
/// DNS keeps, https://kubernetes.io/docs/tasks/administer-cluster/dns-custom-nameservers/);
/// its UDP port and selector, and the pods it selects with their own labels, container
/// ports and namespace labels. When the snapshot lacks it (an offline file, or a
/// user who may not read kube-system), the upstream default (pods `k8s-app: kube-dns`
/// in kube-system on port 53) with that assumption as evidence.
pub(crate) struct Dns {
    pub(crate) namespace: String,
    pub(crate) service: String,
    /// The Service's UDP port (what pods send to).
    pub(crate) port: i32,
    pub(crate) targets: Vec<(String, Destination)>,
    pub(crate) assumption: Option<Evidence>,
}

pub(crate) fn dns_target(context: &Context) -> Dns {
    let (namespace, name) = context
        .profile
        .and_then(|p| p.dns.as_ref())
        .map_or(("kube-system", "kube-dns"), |d| {
            (d.namespace.as_str(), d.service.as_str())
        });
    let object = ObjectRef::new(Kind::Service, namespace, name);
    let namespace_labels = namespace_labels(context, namespace);
    let service = in_namespace(&context.snapshot.services, namespace)
        .into_iter()
        .find(|s| s.name() == name);
    let spec = service.and_then(|s| s.spec.as_ref());
    let selector = spec
        .and_then(|s| s.selector.clone())
        .filter(|s| !s.is_empty());
    let ports: Vec<_> = spec.iter().flat_map(|s| s.ports.iter().flatten()).collect();
    // ServicePort.protocol defaults to TCP; resolvers query UDP first.
    let udp = ports
        .iter()
        .find(|p| p.protocol.as_deref() == Some("UDP"))
        .or(ports.first());
    let (Some(selector), Some(service_port)) = (selector, udp) else {
        let gap = context
            .snapshot
            .object_gaps
            .get(&format!("service {namespace}/{name}"));
        let why = match (service, gap) {
            (None, Some(crate::snapshot::Gap::Forbidden(message))) => {
                format!("`{namespace}/{name}` could not be read (forbidden: {message})")
            }
            (None, Some(crate::snapshot::Gap::Failed(message))) => {
                format!("`{namespace}/{name}` could not be read ({message})")
            }
            (None, None) => format!("`{namespace}/{name}` is not in the snapshot"),
            (Some(_), _) => format!("`{namespace}/{name}` has no selector or port"),
        };
        let mut default = Destination::dns("UDP", namespace_labels);
        default.namespace = namespace.to_string();
        default.service = name.to_string();
        default.label = format!("DNS {namespace} UDP/53");
        return Dns {
            namespace: namespace.to_string(),
            service: name.to_string(),
            port: 53,
            targets: vec![("<assumed>".to_string(), default)],
            assumption: Some(Evidence::field_note(
                &object,
                "spec.selector",
                "k8s-app=kube-dns (assumed)",
                format!(
                    "{why}: assumed the upstream DNS pods `k8s-app: kube-dns` on UDP/53; set the profile's `dns` to name the cluster's DNS Service"
                ),
            )),
        };
    };
    let protocol = service_port
        .protocol
        .clone()
        .unwrap_or_else(|| "TCP".to_string());
    let mut pods: Vec<&Pod> = in_namespace(&context.snapshot.pods, namespace)
        .into_iter()
        .filter(|pod| {
            let labels = pod.metadata.labels.as_ref();
            selector
                .iter()
                .all(|(k, v)| labels.and_then(|l| l.get(k)) == Some(v))
        })
        .collect();
    pods.sort_by(|a, b| a.name().cmp(b.name()));
    let label = format!("DNS {namespace} {protocol}/{}", service_port.port);
    let mut targets: Vec<(String, Destination)> = pods
        .iter()
        .map(|pod| {
            let port_names = container_ports(pod);
            let port = resolve_target_port(service_port, &port_names);
            (
                pod.name().to_string(),
                Destination {
                    label: label.clone(),
                    service: name.to_string(),
                    namespace: namespace.to_string(),
                    namespace_labels: namespace_labels.clone(),
                    pod_labels: pod.metadata.labels.clone().unwrap_or_default(),
                    port,
                    protocol: protocol.clone(),
                    port_names: Some(port_names),
                },
            )
        })
        .collect();
    let mut assumption = None;
    if targets.is_empty() {
        // The Service is known but not its pods (kube-system pods not readable):
        // judge by its selector; a named target port stays undecided.
        targets.push((
            "<selector>".to_string(),
            Destination {
                label,
                service: name.to_string(),
                namespace: namespace.to_string(),
                namespace_labels,
                pod_labels: selector.clone(),
                port: match &service_port.target_port {
                    Some(IntOrString::Int(n)) => *n,
                    _ => service_port.port,
                },
                protocol,
                port_names: None,
            },
        ));
        assumption = Some(Evidence::field_note(
            &object,
            "spec.selector",
            selector
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(","),
            "the pods it selects are not in the snapshot: judged by the Service's selector",
        ));
    }
    Dns {
        namespace: namespace.to_string(),
        service: name.to_string(),
        port: service_port.port,
        targets,
        assumption,
    }
}

/// A pod's named container ports: (name, number, protocol).
pub(crate) fn container_ports(pod: &Pod) -> Vec<(String, i32, String)> {
    pod.spec
        .iter()
        .flat_map(|s| s.containers.iter())
        .flat_map(|c| c.ports.iter().flatten())
        .filter_map(|p| {
            Some((
                p.name.clone()?,
                p.container_port,
                p.protocol.clone().unwrap_or_else(|| "TCP".into()),
            ))
        })
        .collect()
}

/// A Service port's target on one pod: a number as written, a name looked up in the
/// pod's container ports (the endpoints controller's podutil.FindPort), none the port.
pub(crate) fn resolve_target_port(
    service_port: &k8s_openapi::api::core::v1::ServicePort,
    port_names: &[(String, i32, String)],
) -> i32 {
    match &service_port.target_port {
        Some(IntOrString::Int(n)) => *n,
        Some(IntOrString::String(name)) => port_names
            .iter()
            .find(|(n, _, _)| n == name)
            .map_or(service_port.port, |(_, number, _)| *number),
        None => service_port.port,
    }
}

/// One note per `policy#rule` whose ipBlock `0.0.0.0/0` was taken to match pod
/// traffic: the NetworkPolicy docs leave pod traffic under ipBlock to the plugin
/// (https://kubernetes.io/docs/concepts/services-networking/network-policies/#behavior-of-to-and-from-selectors),
/// so that verdict is the plugin's call.
fn ip_block_evidence(
    policies: &[&k8s_openapi::api::networking::v1::NetworkPolicy],
    rules: &std::collections::BTreeSet<String>,
) -> Vec<Evidence> {
    rules
        .iter()
        .filter_map(|reference| {
            let (name, index) = reference.rsplit_once('#')?;
            let policy = policies.iter().find(|p| p.name() == name)?;
            let cidr = policy
                .spec
                .as_ref()?
                .egress
                .as_ref()?
                .get(index.parse::<usize>().ok()?)?
                .to
                .iter()
                .flatten()
                .find_map(|peer| peer.ip_block.as_ref().map(|b| b.cidr.clone()))?;
            Some(Evidence::field_note(
                &ObjectRef::of(Kind::NetworkPolicy, *policy),
                format!("spec.egress[{index}].to[].ipBlock.cidr"),
                cidr,
                "assumed to match pod traffic; whether an ipBlock matches pod IPs depends on the network plugin",
            ))
        })
        .collect()
}

/// What the `egress` repair reads: every app pod's verdict, and what it allows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Details {
    pub dns: DnsDetail,
    /// Pod name -> its verdict.
    pub pods: BTreeMap<String, PodVerdict>,
    /// The database, on a failing finding when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database: Option<DatabaseDetail>,
}

/// The cluster DNS as checked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DnsDetail {
    /// `kube-system/kube-dns`.
    pub service: String,
    pub port: i32,
    /// The DNS pods found (none when assumed).
    pub pods: Vec<String>,
    /// No DNS pod in the snapshot: the upstream default was assumed.
    pub assumed: bool,
}

/// The database as the allow rule names it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DatabaseDetail {
    /// `Service \`bleat-db\` port 5432`.
    pub service: String,
    /// The Service's selector: the allow rule's pod selector.
    pub pod_labels: BTreeMap<String, String>,
    pub port: i32,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::Scope;
    use crate::signals::test_support::evaluate;

    const PODS: &str = r#"apiVersion: v1
kind: Pod
metadata: {name: orders-1, namespace: shop, labels: {app: orders}}
spec: {containers: [{name: app, image: x, env: [{name: DB_HOST, value: orders-db}]}]}
---
apiVersion: v1
kind: Pod
metadata: {name: db-0, namespace: shop, labels: {app: orders-db}}
spec: {containers: [{name: pg, image: postgres, ports: [{name: pg, containerPort: 5432}]}]}
---
apiVersion: v1
kind: Service
metadata: {name: orders-db, namespace: shop}
spec: {selector: {app: orders-db}, ports: [{port: 5432, targetPort: pg}]}
"#;

    fn with_policy(egress: &str) -> String {
        format!(
            "{PODS}---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: lockdown, namespace: shop}}\nspec:\n  podSelector: {{matchLabels: {{app: orders}}}}\n  policyTypes: [Egress]\n  egress: {egress}\n"
        )
    }

    #[test]
    fn egress_only_to_a_cache_denies_dns_and_the_database() {
        let text = with_policy(
            "[{to: [{podSelector: {matchLabels: {app: cache}}}], ports: [{port: 6379}]}]",
        );
        let finding = evaluate(&Egress, &text, "shop");
        assert_eq!(finding.status, Status::Fail, "{finding:?}");
        assert!(finding.summary.contains("DNS"), "{}", finding.summary);
        assert!(finding.summary.contains("orders-db"), "{}", finding.summary);
        assert_eq!(finding.objects[0].name, "lockdown");
        // No app.kubernetes.io/name label: the `app` label names the app.
        assert_eq!(
            finding.scope,
            Scope::Apps(vec!["orders".to_string()]),
            "app=orders"
        );
    }

    #[test]
    fn look_alike_policy_allowing_dns_and_database_is_ok() {
        let text = with_policy(
            "[{to: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: kube-system}}}], ports: [{protocol: UDP, port: 53}, {protocol: TCP, port: 53}]}, {to: [{podSelector: {matchLabels: {app: orders-db}}}], ports: [{port: pg}]}]",
        );
        let finding = evaluate(&Egress, &text, "shop");
        assert_eq!(finding.status, Status::Ok, "{finding:?}");
    }

    #[test]
    fn no_policy_means_not_isolated() {
        assert_eq!(evaluate(&Egress, PODS, "shop").status, Status::Ok);
    }

    /// Issue 16: pod `db-0 {app: orders-db, tier: db}` behind a Service selecting
    /// `{app: orders-db}`; the policy's peer selects the pod's own label `tier: db`.
    const TIERED: &str = r#"apiVersion: v1
kind: Pod
metadata: {name: orders-1, namespace: shop, labels: {app: orders}}
spec: {containers: [{name: app, image: x, env: [{name: DB_HOST, value: orders-db}]}]}
---
apiVersion: v1
kind: Pod
metadata: {name: db-0, namespace: shop, labels: {app: orders-db, tier: db}}
spec: {containers: [{name: pg, image: postgres, ports: [{name: pg, containerPort: 5433}]}]}
---
apiVersion: v1
kind: Service
metadata: {name: orders-db, namespace: shop}
spec: {selector: {app: orders-db}, ports: [{port: 5432, targetPort: pg}]}
"#;

    fn tiered(peer: &str, port: &str) -> String {
        format!(
            "{TIERED}---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: lockdown, namespace: shop}}\nspec:\n  podSelector: {{matchLabels: {{app: orders}}}}\n  policyTypes: [Egress]\n  egress: [{{to: [{{namespaceSelector: {{}}}}], ports: [{{protocol: UDP, port: 53}}]}}, {{to: [{{podSelector: {peer}}}], ports: [{{port: {port}}}]}}]\n"
        )
    }

    #[test]
    fn database_is_judged_by_the_selected_pods_labels_not_the_service_selector() {
        // The pod carries tier=db: Kubernetes allows it (the named target port pg
        // resolves to 5433 on db-0).
        let allowed = evaluate(
            &Egress,
            &tiered("{matchLabels: {tier: db}}", "5433"),
            "shop",
        );
        assert_eq!(allowed.status, Status::Ok, "{allowed:?}");
        // NotIn [db] does not match db-0: denied, though the selector lacks `tier`.
        let denied = evaluate(
            &Egress,
            &tiered(
                "{matchExpressions: [{key: tier, operator: NotIn, values: [db]}]}",
                "5433",
            ),
            "shop",
        );
        assert_eq!(denied.status, Status::Fail, "{denied:?}");
        assert!(
            denied
                .summary
                .contains("the database (Service `orders-db` port 5432)"),
            "{}",
            denied.summary
        );
        assert!(!denied.summary.contains("DNS"), "{}", denied.summary);
        let pods = &denied.details["pods"]["orders-1"];
        assert_eq!(pods["deniedDatabasePods"], serde_json::json!(["db-0"]));
        // The named port resolves on the pod: a rule for 5432 (the Service port) is
        // not the pod's port 5433.
        let wrong_port = evaluate(
            &Egress,
            &tiered("{matchLabels: {tier: db}}", "5432"),
            "shop",
        );
        assert_eq!(wrong_port.status, Status::Fail, "{wrong_port:?}");
    }

    #[test]
    fn a_service_selecting_no_pod_is_not_judged_here() {
        let text = tiered("{matchLabels: {tier: nothing}}", "5433")
            .replace("selector: {app: orders-db}", "selector: {app: gone}");
        let finding = evaluate(&Egress, &text, "shop");
        assert_eq!(finding.status, Status::Ok, "{finding:?}");
        assert_eq!(
            finding.details["pods"]["orders-1"].get("database"),
            None,
            "no destination pod"
        );
    }

    #[test]
    fn an_everything_ip_block_allow_says_it_depends_on_the_plugin() {
        let finding = evaluate(
            &Egress,
            &with_policy("[{to: [{ipBlock: {cidr: 0.0.0.0/0}}]}]"),
            "shop",
        );
        assert_eq!(finding.status, Status::Ok, "{finding:?}");
        assert_eq!(finding.details["pods"]["orders-1"]["pluginDependent"], true);
        let notes: Vec<String> = finding
            .evidence
            .iter()
            .map(|e| format!("{e:?}"))
            .filter(|e| e.contains("ipBlock"))
            .collect();
        assert_eq!(notes.len(), 1, "{notes:?}");
        assert!(
            notes[0].contains("spec.egress[0].to[].ipBlock.cidr"),
            "{notes:?}"
        );
        assert!(notes[0].contains("network plugin"), "{notes:?}");
        // A selector-based allow does not lean on the plugin.
        let plain = evaluate(
            &Egress,
            &with_policy("[{to: [{namespaceSelector: {}}]}]"),
            "shop",
        );
        assert_eq!(plain.status, Status::Ok);
        assert!(
            !format!("{:?}", plain.evidence).contains("ipBlock"),
            "{:?}",
            plain.evidence
        );
        assert_eq!(
            plain.details["pods"]["orders-1"].get("pluginDependent"),
            None
        );
    }

    /// OpenShift-like DNS: Service `openshift-dns/dns-default` selecting pods that
    /// listen on 5353 (named `dns`), in a namespace labelled `dns: yes`.
    const OPENSHIFT_DNS: &str = r#"---
apiVersion: v1
kind: Namespace
metadata: {name: openshift-dns, labels: {dns: "yes"}}
---
apiVersion: v1
kind: Service
metadata: {name: dns-default, namespace: openshift-dns}
spec: {selector: {dns.operator.openshift.io/daemonset-dns: default}, ports: [{name: dns, port: 53, protocol: UDP, targetPort: dns}, {name: dns-tcp, port: 53, protocol: TCP, targetPort: dns-tcp}]}
---
apiVersion: v1
kind: Pod
metadata: {name: dns-default-abc, namespace: openshift-dns, labels: {dns.operator.openshift.io/daemonset-dns: default}}
spec: {containers: [{name: dns, image: coredns, ports: [{name: dns, containerPort: 5353, protocol: UDP}, {name: dns-tcp, containerPort: 5353, protocol: TCP}]}]}
"#;

    fn dns_policy(peer: &str, port: &str) -> String {
        format!(
            "{PODS}---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: lockdown, namespace: shop}}\nspec:\n  podSelector: {{matchLabels: {{app: orders}}}}\n  policyTypes: [Egress]\n  egress: [{{to: [{peer}], ports: [{{protocol: UDP, port: {port}}}]}}, {{to: [{{podSelector: {{matchLabels: {{app: orders-db}}}}}}]}}]\n{OPENSHIFT_DNS}"
        )
    }

    fn with_dns_profile(text: &str) -> Finding {
        let snapshot = crate::signals::test_support::snapshot(text);
        let profile = crate::profile::Profile::parse(
            "apiVersion: triage/v1alpha1\nkind: Profile\ndns: {namespace: openshift-dns, service: dns-default}\n",
            "test",
        )
        .unwrap();
        let mut context = Context::new(&snapshot, "shop");
        context.profile = Some(&profile);
        Egress.evaluate(&context)
    }

    #[test]
    fn dns_is_the_service_the_cluster_defines_with_its_pods_port_and_namespace() {
        // Allowed by the DNS namespace's own label and the pods' real port 5353.
        let allowed = with_dns_profile(&dns_policy(
            "{namespaceSelector: {matchLabels: {dns: \"yes\"}}}",
            "5353",
        ));
        assert_eq!(allowed.status, Status::Ok, "{allowed:?}");
        assert_eq!(
            allowed.details["dns"]["pods"],
            serde_json::json!(["dns-default-abc"])
        );
        assert_eq!(allowed.details["dns"]["assumed"], false);
        // Port 53 is the Service's port, not what the pods listen on: denied.
        let denied = with_dns_profile(&dns_policy(
            "{namespaceSelector: {matchLabels: {dns: \"yes\"}}}",
            "53",
        ));
        assert_eq!(denied.status, Status::Fail, "{denied:?}");
        assert!(
            denied.summary.contains("DNS (openshift-dns UDP/53)"),
            "{}",
            denied.summary
        );
        assert!(
            denied
                .fix
                .as_deref()
                .unwrap()
                .contains("openshift-dns UDP+TCP/53 (DNS)")
        );
        // kube-system rules do not reach openshift-dns.
        let kube_system = with_dns_profile(&dns_policy(
            "{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: kube-system}}}",
            "5353",
        ));
        assert_eq!(kube_system.status, Status::Fail, "{kube_system:?}");
    }

    #[test]
    fn kube_dns_in_the_snapshot_is_used_and_its_absence_is_stated() {
        let kube_dns = r#"---
apiVersion: v1
kind: Service
metadata: {name: kube-dns, namespace: kube-system}
spec: {selector: {k8s-app: coredns}, ports: [{name: dns, port: 53, protocol: UDP, targetPort: 53}]}
---
apiVersion: v1
kind: Pod
metadata: {name: coredns-1, namespace: kube-system, labels: {k8s-app: coredns}}
spec: {containers: [{name: coredns, image: coredns}]}
"#;
        // The policy allows the upstream default label k8s-app=kube-dns; this
        // cluster's DNS pods are k8s-app=coredns: denied.
        let policy = with_policy(
            "[{to: [{namespaceSelector: {}, podSelector: {matchLabels: {k8s-app: kube-dns}}}], ports: [{protocol: UDP, port: 53}]}, {to: [{podSelector: {matchLabels: {app: orders-db}}}]}]",
        );
        let found = evaluate(&Egress, &format!("{policy}{kube_dns}"), "shop");
        assert_eq!(found.status, Status::Fail, "{found:?}");
        assert!(
            found.summary.contains("DNS (kube-system UDP/53)"),
            "{}",
            found.summary
        );
        assert!(!format!("{:?}", found.evidence).contains("assumed"));
        // Without the Service in the snapshot, the default is assumed, and said so.
        let assumed = evaluate(&Egress, &policy, "shop");
        assert_eq!(assumed.status, Status::Ok, "{assumed:?}");
        assert_eq!(assumed.details["dns"]["assumed"], true);
        let evidence = format!("{:?}", assumed.evidence);
        assert!(
            evidence.contains("`kube-system/kube-dns` is not in the snapshot"),
            "{evidence}"
        );
        // Live, a 403 on kube-system is named.
        let mut snapshot = crate::signals::test_support::snapshot(&policy);
        snapshot.object_gaps.insert(
            "service kube-system/kube-dns".to_string(),
            crate::snapshot::Gap::Forbidden("services \"kube-dns\" is forbidden".to_string()),
        );
        let forbidden = Egress.evaluate(&Context::new(&snapshot, "shop"));
        let evidence = format!("{:?}", forbidden.evidence);
        assert!(
            evidence.contains("`kube-system/kube-dns` could not be read (forbidden: services"),
            "{evidence}"
        );
        // Not isolated: nothing to state.
        let open = evaluate(&Egress, PODS, "shop");
        assert!(open.evidence.is_empty(), "{:?}", open.evidence);
    }
}
