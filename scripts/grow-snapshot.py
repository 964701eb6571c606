#!/usr/bin/env python3
"""Grow a snapshot file to N objects for benchmarks: copies of its namespaced objects
under new names, so the copies relate to each other the way the originals do.

usage: grow-snapshot.py INPUT OBJECTS OUTPUT   (OUTPUT ending .json is JSON, else YAML)

Copy 0 is the input itself; copy k renames every namespaced object `x` to `x-ck` and
every uid to a new one derived from it, and rewrites every string value that equals a
renamed name or uid (ownerReferences, selectors and the labels they select, volume
claims, ConfigMap references, event subjects), so owners, selectors and references
stay within their copy. Namespace names and cluster-scoped objects (StorageClasses,
PersistentVolumes, Namespaces) are kept once. Free text (messages) is left alone.
The last copy is cut short so the file holds OBJECTS objects (cluster-scoped ones
included).
"""

import hashlib
import json
import sys

import yaml

CLUSTER_SCOPED = {"Namespace", "StorageClass", "PersistentVolume", "ClusterRole"}


def main():
    source, wanted, target = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with open(source) as f:
        document = yaml.load(f, Loader=loader)
    items = document["items"]
    cluster = [i for i in items if i["kind"] in CLUSTER_SCOPED]
    namespaced = [i for i in items if i["kind"] not in CLUSTER_SCOPED]
    namespaces = {i["metadata"]["name"] for i in items if i["kind"] == "Namespace"}
    namespaces |= {i["metadata"].get("namespace") for i in namespaced}
    names = {i["metadata"]["name"] for i in namespaced} - namespaces
    uids = {i["metadata"]["uid"] for i in namespaced if i["metadata"].get("uid")}

    def renamed(node, copy, key=None):
        if isinstance(node, dict):
            return {k: renamed(v, copy, k) for k, v in node.items()}
        if isinstance(node, list):
            return [renamed(v, copy, key) for v in node]
        if isinstance(node, str) and key != "namespace":
            if node in names:
                return f"{node}-c{copy}"
            if node in uids:
                h = hashlib.md5(f"{node}/{copy}".encode()).hexdigest()
                return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"
        return node

    out = list(cluster)
    copy = 0
    while len(out) < wanted:
        room = wanted - len(out)
        batch = namespaced if copy == 0 else [renamed(i, copy) for i in namespaced]
        out.extend(batch[:room])
        copy += 1
    document["items"] = out
    with open(target, "w") as f:
        if target.endswith(".json"):
            json.dump(document, f)
        else:
            dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
            yaml.dump(document, f, Dumper=dumper, default_flow_style=False, sort_keys=False)


if __name__ == "__main__":
    main()
