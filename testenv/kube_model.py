"""What the test-support processes (reconciler oracle, world simulator) know about
Kubernetes: a cluster handle (reads through kube_api, writes with kubectl) and
NetworkPolicy egress semantics. Shared by those two
processes only; triage's own code is never imported, so they can judge it.
"""

import subprocess

from kube_api import Api


class Cluster:
    """One namespace of a cluster: reads over one keep-alive connection (kube_api.Api),
    writes with kubectl."""

    # The kinds the scripts list, by plural: their API group's path.
    GROUPS = {
        "pods": "/api/v1",
        "configmaps": "/api/v1",
        "persistentvolumeclaims": "/api/v1",
        "resourcequotas": "/api/v1",
        "namespaces": "/api/v1",
        "jobs": "/apis/batch/v1",
        "networkpolicies": "/apis/networking.k8s.io/v1",
        "storageclasses": "/apis/storage.k8s.io/v1",
    }

    def __init__(self, kubeconfig, namespace, user_agent="triage-testenv"):
        self.kubeconfig = kubeconfig
        self.namespace = namespace
        self.user_agent = user_agent
        self.api = None

    def kubectl(self, *args, stdin=None, check=True):
        result = subprocess.run(
            ["kubectl", "--kubeconfig", self.kubeconfig, *args],
            input=stdin, capture_output=True, text=True, timeout=30,
        )
        if check and result.returncode != 0:
            raise RuntimeError(f"kubectl {' '.join(args)}: {result.stderr.strip()}")
        return result

    def list(self, plural, namespace=None):
        if self.api is None:
            self.api = Api(self.kubeconfig, None, self.user_agent)
        base = self.GROUPS[plural]
        scope = f"/namespaces/{namespace}" if namespace else ""
        return self.api.request("GET", f"{base}{scope}/{plural}")[1]["items"]

    def items(self, kind, namespace=None):
        return self.list(kind, namespace or self.namespace)

    def cluster_items(self, kind):
        return self.list(kind)

    def namespace_labels(self):
        return {n["metadata"]["name"]: n["metadata"].get("labels", {}) for n in self.list("namespaces")}

    def can_i(self, verb, resource):
        sa = f"system:serviceaccount:{self.namespace}:migration-runner"
        result = self.kubectl("auth", "can-i", verb, resource, "-n", self.namespace, "--as", sa, check=False)
        return result.stdout.strip() == "yes"


def selects(selector, labels):
    """matchLabels/matchExpressions semantics for the selectors the fixtures use."""
    if selector is None:
        return False
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr["key"], expr["operator"], expr.get("values") or []
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and labels.get(key) in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


def port_allows(ports, protocol, number):
    if not ports:
        return True
    for port in ports:
        if port.get("protocol", "TCP") != protocol:
            continue
        p = port.get("port")
        if p is None:
            return True
        if isinstance(p, int) and (p == number or (port.get("endPort") and p <= number <= port["endPort"])):
            return True
    return False


def peer_allows(peer, own_ns, target_ns, target_ns_labels, target_pod_labels):
    ns_sel, pod_sel = peer.get("namespaceSelector"), peer.get("podSelector")
    if "ipBlock" in peer:
        return peer["ipBlock"].get("cidr") == "0.0.0.0/0" and not peer["ipBlock"].get("except")
    if ns_sel is None and target_ns != own_ns:
        return False
    if ns_sel is not None and not selects(ns_sel, target_ns_labels):
        return False
    if pod_sel is not None and target_pod_labels is not None and not selects(pod_sel, target_pod_labels):
        return False
    if pod_sel is not None and target_pod_labels is None:
        return False
    return True


def egress_allowed(policies, pod_labels, own_ns, target_ns, target_ns_labels, target_pod_labels, protocol, port):
    selecting = [p for p in policies if selects(p["spec"].get("podSelector"), pod_labels)
                 and "Egress" in (p["spec"].get("policyTypes") or ["Ingress"] + (["Egress"] if p["spec"].get("egress") else []))]
    if not selecting:
        return True  # not isolated for egress
    for policy in selecting:
        for rule in policy["spec"].get("egress") or []:
            if not port_allows(rule.get("ports"), protocol, port):
                continue
            peers = rule.get("to")
            if not peers:
                return True
            if any(peer_allows(peer, own_ns, target_ns, target_ns_labels, target_pod_labels) for peer in peers):
                return True
    return False
