"""`triage check -o sarif` and `-o junit` on every bundled fixture validate against the
vendored schemas (tests/data/README.md says where they come from).

Run by scripts/test after `cargo test` has built the binary; TRIAGE_BIN overrides the
binary's path. Needs the PyPI packages `jsonschema` and `xmlschema` (scripts/test
installs them)."""

import json
import os
import subprocess
import unittest
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import xmlschema

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data"
FIXTURES = [
    ("bleater-incident.yaml", "bleater"),
    ("bleater-healthy.yaml", "bleater"),
    ("shop-incident.yaml", "shop"),
    ("orders-incident.yaml", "orders"),
    ("storage-incident.yaml", "vault"),
]


def binary():
    if os.environ.get("TRIAGE_BIN"):
        return os.environ["TRIAGE_BIN"]
    target = os.environ.get("CARGO_TARGET_DIR", str(ROOT / "target"))
    return str(Path(target) / "debug" / "triage")


def check(fixture, namespace, output):
    env = {k: v for k, v in os.environ.items() if k not in ("KUBECONFIG", "NO_COLOR")}
    env["HOME"] = "/nonexistent-home-for-triage-tests"
    run = subprocess.run(
        [binary(), "check", "--snapshot", str(ROOT / "examples" / fixture), "-n", namespace, "-o", output],
        capture_output=True, text=True, env=env, stdin=subprocess.DEVNULL, check=False,
    )
    if run.returncode not in (0, 1):
        raise AssertionError(f"triage exited {run.returncode}: {run.stderr}")
    return run


def check_json(fixture, namespace):
    return json.loads(check(fixture, namespace, "json").stdout)


class Sarif(unittest.TestCase):
    schema = json.loads((DATA / "sarif-schema-2.1.0.json").read_text())

    def test_every_fixture_is_valid_sarif_with_one_result_per_failing_signal(self):
        for fixture, namespace in FIXTURES:
            with self.subTest(fixture=fixture):
                run = check(fixture, namespace, "sarif")
                log = json.loads(run.stdout)
                jsonschema.Draft4Validator(self.schema).validate(log)
                findings = check_json(fixture, namespace)["findings"]
                failing = [f for f in findings if f["status"] == "fail"]
                results = log["runs"][0]["results"]
                rules = log["runs"][0]["tool"]["driver"]["rules"]
                self.assertEqual([r["id"] for r in rules], [f["id"] for f in findings])
                self.assertEqual([r["ruleId"] for r in results], [f["id"] for f in failing])
                for result, finding in zip(results, failing):
                    self.assertEqual(rules[result["ruleIndex"]]["id"], result["ruleId"])
                    self.assertEqual(result["message"]["text"], finding["summary"])
                    names = [l["logicalLocations"][0]["fullyQualifiedName"] for l in result["locations"]]
                    expected = [f'{o.get("namespace", "") + "/" if o.get("namespace") else ""}{o["kind"]}/{o["name"]}'
                                for o in finding["objects"]] or [namespace]
                    self.assertEqual(names, expected)
                self.assertEqual(run.returncode, 1 if failing else 0)

    def test_the_healthy_fixture_has_no_result(self):
        log = json.loads(check("bleater-healthy.yaml", "bleater", "sarif").stdout)
        self.assertEqual(log["runs"][0]["results"], [])

    def test_the_schema_rejects_a_broken_log(self):
        # The validation can fail: a result without its message is not SARIF.
        log = json.loads(check("bleater-incident.yaml", "bleater", "sarif").stdout)
        del log["runs"][0]["results"][0]["message"]
        with self.assertRaises(jsonschema.ValidationError):
            jsonschema.Draft4Validator(self.schema).validate(log)


class Junit(unittest.TestCase):
    schema = xmlschema.XMLSchema(str(DATA / "junit-10.xsd"))

    def test_every_fixture_is_valid_junit_with_one_case_per_signal(self):
        for fixture, namespace in FIXTURES:
            with self.subTest(fixture=fixture):
                text = check(fixture, namespace, "junit").stdout
                self.schema.validate(text)
                findings = check_json(fixture, namespace)["findings"]
                root = ET.fromstring(text)
                cases = root.findall("./testsuite/testcase")
                self.assertEqual([c.get("name") for c in cases], [f["id"] for f in findings])
                self.assertTrue(all(c.get("classname") == f"triage.{namespace}" for c in cases))
                failed = [c.get("name") for c in cases if c.find("failure") is not None]
                self.assertEqual(failed, [f["id"] for f in findings if f["status"] == "fail"])
                suite = root.find("testsuite")
                self.assertEqual(int(suite.get("failures")), len(failed))
                self.assertEqual(int(suite.get("tests")), len(findings))

    def test_a_failure_carries_the_evidence_and_the_fix(self):
        root = ET.fromstring(check("bleater-incident.yaml", "bleater", "junit").stdout)
        pvc = root.find("./testsuite/testcase[@name='pvc']/failure")
        self.assertIn("spec.storageClassName=fast-ssd-tier", pvc.text)
        self.assertIn("event ProvisioningFailed", pvc.text)
        self.assertIn("fix: re-create `bleat-migration-pvc`", pvc.text)

    def test_the_schema_rejects_a_broken_report(self):
        text = check("bleater-incident.yaml", "bleater", "junit").stdout
        broken = text.replace('<testcase classname="triage.bleater" name="pvc">', '<testcase classname="triage.bleater">', 1)
        self.assertNotEqual(text, broken)
        with self.assertRaises(xmlschema.XMLSchemaValidationError):
            self.schema.validate(broken)


if __name__ == "__main__":
    unittest.main()
