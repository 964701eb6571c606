#!/usr/bin/env python3
"""No Secret touched, proven from the API server's audit log (issue 13, item 3).

usage: testenv/audit_check.py AUDIT_DIR [--wait-down SECONDS]

AUDIT_DIR is what the e2e harness (tests/e2e/harness.rs) used: `audit.log`, the
kube-apiserver audit log at Metadata level (`scripts/testenv up --audit-log`), one
JSON event per line; `expected-secret-reads.jsonl`, the Secret reads the
`--password-from-secret` tests declared (`{"namespace", "name", "gets"}`); and
`testenv-dir`, the control plane's directory. `scripts/test` runs this after `cargo
test`, so it judges every request the whole e2e binary made, whatever order its tests
ran in.

It first waits until that control plane is down (the harness's watchdog stops it when
the test binary exits), so the log is complete. Then, for the requests whose User-Agent
is triage's (`triage/<version>`, src/cluster.rs), it fails (exit 1, one line per
offence) when any touched the `secrets` resource other than a declared GET, when a
declared Secret was not read exactly its declared number of times (a count of 0 means
the audit did not see it: the proof would be empty), or when there is no request of
triage's at all. The resource is the API server's own reading of the request
(`objectRef.resource`, from its RequestInfo), not a guess from the URL.
https://kubernetes.io/docs/tasks/debug/debug-cluster/audit/
"""

import argparse
import json
import os
import subprocess
import sys
import time
from collections import Counter

TRIAGE_AGENT = "triage/"
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def read_json_lines(path, what):
    """The JSON objects in `path`, one per non-empty line; ValueError names the line."""
    items = []
    with open(path, encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                items.append(json.loads(line))
            except json.JSONDecodeError as err:
                raise ValueError(f"{path}:{number}: not a JSON {what}: {err}") from None
    return items


def triage_requests(events):
    """One event per request of triage's (a watch logs ResponseStarted and
    ResponseComplete under one auditID; the last stage wins), in log order."""
    by_id = {}
    for event in events:
        if str(event.get("userAgent", "")).startswith(TRIAGE_AGENT):
            by_id[event.get("auditID") or id(event)] = event
    return list(by_id.values())


def describe(event):
    ref = event.get("objectRef") or {}
    where = f"{ref.get('namespace') or '(cluster)'}/{ref.get('name') or '*'}"
    return f"{event.get('verb')} secrets {where} ({event.get('requestURI')}, {event.get('userAgent')})"


def judge(events, expected):
    """(requests by triage, declared GETs seen, offences): offences empty when no
    request of triage's touched a Secret beyond what `expected` declares."""
    allowed = Counter()
    for read in expected:
        allowed[(read["namespace"], read["name"])] += int(read["gets"])
    requests = triage_requests(events)
    offences = []
    gets = Counter()
    for event in requests:
        ref = event.get("objectRef") or {}
        if ref.get("resource") != "secrets":
            continue
        key = (ref.get("namespace"), ref.get("name"))
        if event.get("verb") == "get" and key in allowed and not ref.get("subresource"):
            gets[key] += 1
        else:
            offences.append(f"triage touched a Secret: {describe(event)}")
    for (namespace, name), want in sorted(allowed.items()):
        got = gets[(namespace, name)]
        if got != want:
            offences.append(
                f"Secret `{namespace}/{name}`: {got} GET(s) by triage in the audit log, declared {want}"
            )
    if not requests:
        offences.append("no request by triage in the audit log: nothing was proven (did the e2e tests run?)")
    return len(requests), sum(gets.values()), offences


def wait_until_down(testenv_dir, seconds):
    """True once `scripts/testenv status` says the control plane is down with nothing
    left running (its audit log is then complete)."""
    deadline = time.monotonic() + seconds
    while True:
        status = subprocess.run(
            [os.path.join(REPO, "scripts", "testenv"), "status", "--dir", testenv_dir],
            capture_output=True, text=True, check=False)
        if status.returncode != 0 and "still running" not in status.stdout:
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.5)


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("audit_dir")
    parser.add_argument("--wait-down", type=float, default=60.0, metavar="SECONDS")
    args = parser.parse_args(argv)
    log = os.path.join(args.audit_dir, "audit.log")
    if not os.path.exists(log):
        print(f"audit: error: no audit log at {log}: the e2e tests did not run (run scripts/test without a filter)",
              file=sys.stderr)
        return 1
    marker = os.path.join(args.audit_dir, "testenv-dir")
    if os.path.exists(marker):
        with open(marker, encoding="utf-8") as f:
            testenv_dir = f.read().strip()
        if not wait_until_down(testenv_dir, args.wait_down):
            print(f"audit: error: the control plane in {testenv_dir} is still up after {args.wait_down:.0f}s, "
                  "so its audit log may be incomplete (run scripts/testenv down --dir on it)", file=sys.stderr)
            return 1
    expected_path = os.path.join(args.audit_dir, "expected-secret-reads.jsonl")
    try:
        events = read_json_lines(log, "audit event")
        expected = read_json_lines(expected_path, "declared read") if os.path.exists(expected_path) else []
    except (OSError, ValueError) as err:
        print(f"audit: error: {err}", file=sys.stderr)
        return 1
    requests, declared, offences = judge(events, expected)
    for offence in offences:
        print(f"audit: {offence}", file=sys.stderr)
    if offences:
        print(f"audit: FAILED: {len(offences)} offence(s) in {requests} requests by triage ({log})", file=sys.stderr)
        return 1
    print(f"audit: {requests} requests by triage in {len(events)} audit events; none touched a Secret "
          f"but the {declared} declared GET(s) of --password-from-secret")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
