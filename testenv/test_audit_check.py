"""Unit tests of audit_check.py: each offence is found, and what is allowed passes."""

import contextlib
import io
import json
import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import audit_check  # noqa: E402

TRIAGE = "triage/0.1.0"
KUBECTL = "kubectl/v1.36.3 (linux/amd64) kubernetes/abcdef"


def event(audit_id, verb, resource, namespace="ns", name=None, agent=TRIAGE, stage="ResponseComplete"):
    ref = {"resource": resource, "namespace": namespace, "apiVersion": "v1"}
    if name:
        ref["name"] = name
    return {"auditID": audit_id, "stage": stage, "verb": verb, "objectRef": ref, "userAgent": agent,
            "requestURI": f"/api/v1/namespaces/{namespace}/{resource}" + (f"/{name}" if name else "")}


DECLARED = [{"namespace": "pw", "name": "db", "gets": 1}]


class Judge(unittest.TestCase):
    def test_the_declared_get_and_other_kinds_pass(self):
        events = [event("1", "list", "pods"), event("2", "get", "secrets", "pw", "db")]
        self.assertEqual(audit_check.judge(events, DECLARED), (2, 1, []))

    def test_a_list_of_secrets_by_triage_fails(self):
        events = [event("1", "list", "pods"), event("2", "list", "secrets")]
        _, _, offences = audit_check.judge(events, [])
        self.assertEqual(offences, ["triage touched a Secret: list secrets ns/* (/api/v1/namespaces/ns/secrets, triage/0.1.0)"])

    def test_a_cluster_wide_watch_of_secrets_fails_once_for_its_two_stages(self):
        events = [event("w", "watch", "secrets", None, stage="ResponseStarted"),
                  event("w", "watch", "secrets", None, stage="ResponseComplete")]
        _, _, offences = audit_check.judge(events, [])
        self.assertEqual(len(offences), 1)
        self.assertIn("watch secrets (cluster)/*", offences[0])

    def test_another_secret_in_the_declared_namespace_fails(self):
        events = [event("1", "get", "secrets", "pw", "db"), event("2", "get", "secrets", "pw", "tls")]
        _, _, offences = audit_check.judge(events, DECLARED)
        self.assertEqual(len(offences), 1)
        self.assertIn("get secrets pw/tls", offences[0])

    def test_a_write_to_the_declared_secret_fails(self):
        events = [event("1", "get", "secrets", "pw", "db"), event("2", "patch", "secrets", "pw", "db")]
        _, _, offences = audit_check.judge(events, DECLARED)
        self.assertEqual(len(offences), 1)
        self.assertIn("patch secrets pw/db", offences[0])

    def test_two_gets_of_a_secret_declared_once_fail(self):
        events = [event("1", "get", "secrets", "pw", "db"), event("2", "get", "secrets", "pw", "db")]
        _, _, offences = audit_check.judge(events, DECLARED)
        self.assertEqual(offences, ["Secret `pw/db`: 2 GET(s) by triage in the audit log, declared 1"])

    def test_a_declared_read_the_audit_did_not_see_fails(self):
        _, _, offences = audit_check.judge([event("1", "list", "pods")], DECLARED)
        self.assertEqual(offences, ["Secret `pw/db`: 0 GET(s) by triage in the audit log, declared 1"])

    def test_other_clients_may_touch_secrets(self):
        events = [event("1", "list", "pods"), event("2", "list", "secrets", agent=KUBECTL),
                  event("3", "create", "secrets", "pw", "db", agent="python-requests/2.31")]
        self.assertEqual(audit_check.judge(events, []), (1, 0, []))

    def test_a_log_without_triage_proves_nothing_and_fails(self):
        _, _, offences = audit_check.judge([event("1", "list", "secrets", agent=KUBECTL)], [])
        self.assertEqual(len(offences), 1)
        self.assertIn("no request by triage", offences[0])


class Main(unittest.TestCase):
    def run_on(self, events, expected=None):
        with tempfile.TemporaryDirectory() as audit_dir:
            with open(os.path.join(audit_dir, "audit.log"), "w", encoding="utf-8") as log:
                log.writelines(json.dumps(e) + "\n" for e in events)
            if expected is not None:
                with open(os.path.join(audit_dir, "expected-secret-reads.jsonl"), "w", encoding="utf-8") as f:
                    f.writelines(json.dumps(e) + "\n" for e in expected)
            with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
                return audit_check.main([audit_dir])

    def test_exit_status(self):
        self.assertEqual(self.run_on([event("1", "get", "secrets", "pw", "db")], DECLARED), 0)
        self.assertEqual(self.run_on([event("1", "list", "secrets")]), 1)

    def test_a_missing_log_fails(self):
        with tempfile.TemporaryDirectory() as audit_dir, contextlib.redirect_stderr(io.StringIO()) as err:
            self.assertEqual(audit_check.main([audit_dir]), 1)
        self.assertIn("no audit log at", err.getvalue())


if __name__ == "__main__":
    unittest.main()
