"""What the test-support processes (reconciler oracle, world simulator) know about
Kubernetes: a kubectl wrapper and NetworkPolicy egress semantics. Shared by those two
processes only; triage's own code is never imported, so they can judge it.
"""

import json
import subprocess


class Cluster:
    def __init__(self, kubeconfig, namespace):
        self.kubeconfig = kubeconfig
        self.namespace = namespace

    def kubectl(self, *args, stdin=None, check=True):
        result = subprocess.run(
            ["kubectl", "--kubeconfig", self.kubeconfig, *args],
            input=stdin, capture_output=True, text=True, timeout=30,
        )
        if check and result.returncode != 0:
            raise RuntimeError(f"kubectl {' '.join(args)}: {result.stderr.strip()}")
        return result

    def items(self, kind, namespace=None):
        out = self.kubectl("get", kind, "-n", namespace or self.namespace, "-o", "json").stdout
        return json.loads(out)["items"]

    def cluster_items(self, kind):
        return json.loads(self.kubectl("get", kind, "-o", "json").stdout)["items"]

    def namespace_labels(self):
        out = self.kubectl("get", "namespaces", "-o", "json").stdout
        return {n["metadata"]["name"]: n["metadata"].get("labels", {}) for n in json.loads(out)["items"]}

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
