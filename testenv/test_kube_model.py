"""Unit tests of the oracle's NetworkPolicy model (run by scripts/test:
`python3 -m unittest discover -s testenv`)."""

import unittest

from kube_model import egress_allowed

DENY_ALL = {"metadata": {"name": "deny"}, "spec": {"podSelector": {}, "policyTypes": ["Egress"], "egress": []}}
ALLOW = {"metadata": {"name": "allow"}, "spec": {
    "podSelector": {"matchLabels": {"app.kubernetes.io/part-of": "bleater"}},
    "policyTypes": ["Egress"],
    "egress": [
        {"to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}}}],
         "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]},
        {"to": [{"podSelector": {"matchLabels": {"app.kubernetes.io/name": "bleat-db"}}}],
         "ports": [{"protocol": "TCP", "port": 5432}]},
    ]}}
APP = {"app.kubernetes.io/name": "bleat-service", "app.kubernetes.io/part-of": "bleater"}
KS = {"kubernetes.io/metadata.name": "kube-system"}
NS = {"kubernetes.io/metadata.name": "bleater"}
DB = {"app.kubernetes.io/name": "bleat-db"}


class EgressModel(unittest.TestCase):
    def test_no_policy_allows_everything(self):
        self.assertTrue(egress_allowed([], APP, "bleater", "kube-system", KS, {}, "UDP", 53))

    def test_deny_all_denies_dns_and_db(self):
        self.assertFalse(egress_allowed([DENY_ALL], APP, "bleater", "kube-system", KS, {}, "UDP", 53))
        self.assertFalse(egress_allowed([DENY_ALL], APP, "bleater", "bleater", NS, DB, "TCP", 5432))

    def test_union_with_allow_rules(self):
        both = [DENY_ALL, ALLOW]
        self.assertTrue(egress_allowed(both, APP, "bleater", "kube-system", KS, {}, "UDP", 53))
        self.assertTrue(egress_allowed(both, APP, "bleater", "bleater", NS, DB, "TCP", 5432))
        self.assertFalse(egress_allowed(both, APP, "bleater", "bleater", NS, DB, "TCP", 5433))
        self.assertFalse(egress_allowed(both, APP, "bleater", "other", {}, {}, "UDP", 53))

    def test_allow_rules_do_not_cover_unselected_pods(self):
        other = {"app.kubernetes.io/name": "search"}
        self.assertFalse(egress_allowed([DENY_ALL, ALLOW], other, "bleater", "kube-system", KS, {}, "UDP", 53))


if __name__ == "__main__":
    unittest.main()
