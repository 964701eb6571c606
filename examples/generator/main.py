"""Regenerates the fixtures in examples/ (deterministic: same input, same bytes).

Run: python3 examples/generator/main.py [OUT_DIR]   then   python3 examples/generator/check.py
(test_fresh.py, run by scripts/test, fails when the committed fixtures are stale)
"""
import os
import sys
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import bleater
from lib import dump_list as _dump
import random


def dump_list(items, path, header):
    objs = [i for i in items if i["kind"] != "Event"]
    evs = [i for i in items if i["kind"] == "Event"]
    random.Random(os.path.basename(path)).shuffle(evs)  # no particular order, same every run and every checkout
    _dump(objs + evs, path, header)

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(HERE)
HDR = "# {title}\n# Generated fixture (kubectl get -o yaml style List). See docs/fixtures.md.\n"
w = bleater.build(False)
dump_list(w.items, f"{OUT}/bleater-incident.yaml", HDR.format(title="bleater namespace during the incident; capture time 2024-11-19T03:41:30Z"))
w = bleater.build(True)
dump_list(w.items, f"{OUT}/bleater-healthy.yaml", HDR.format(title="bleater namespace after the repairs; capture time 2024-11-19T05:10:00Z"))
import shop
w = shop.build()
dump_list(w.items, f"{OUT}/shop-incident.yaml", HDR.format(title="shop namespace during a release incident; capture time 2025-03-02T10:15:00Z"))
import orders
w = orders.build()
dump_list(w.items, f"{OUT}/orders-incident.yaml", HDR.format(title="orders namespace (EKS, Helm) after a bad upgrade; capture time 2025-06-12T14:32:00Z"))
import storage
w = storage.build()
dump_list(w.items, f"{OUT}/storage-incident.yaml", HDR.format(title="vault namespace: claims that do not bind; capture time 2025-05-06T14:20:00Z"))
import ledger
w = ledger.build(False)
dump_list(w.items, f"{OUT}/ledger-healthy.yaml", HDR.format(title="ledger namespace, healthy, full of look-alikes (issue 11); capture time 2025-05-14T12:00:00Z"))
w = ledger.build(True)
dump_list(w.items, f"{OUT}/ledger-incident.yaml", HDR.format(title="ledger namespace with each look-alike turned into its fault; capture time 2025-05-14T12:00:00Z"))


def one_cluster(*worlds):
    """The namespaces of several fixtures as one cluster's capture (for `-A`): every
    object once; a cluster-scoped object two fixtures share (a StorageClass) kept as the
    first one wrote it."""
    seen, items = set(), []
    for world in worlds:
        for item in world.items:
            key = (item["kind"], item["metadata"].get("namespace"), item["metadata"]["name"])
            if key not in seen:
                seen.add(key)
                items.append(item)
    return items


dump_list(one_cluster(bleater.build(False), shop.build(), orders.build(), ledger.build(False)),
          f"{OUT}/cluster-incident.yaml",
          HDR.format(title="one cluster, namespaces bleater, bleater-system (incident), shop, orders, ledger (healthy): for -A; capture time 2025-06-12T14:32:00Z"))
