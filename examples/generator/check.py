import re, sys, yaml, collections, json
import os
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lib import quota_request, fmt_cpu, fmt_mem
TS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
TSANY = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")
def walk(o, path=""):
    if isinstance(o, dict):
        for k, v in o.items(): yield from walk(v, path + "." + str(k))
    elif isinstance(o, list):
        for i, v in enumerate(o): yield from walk(v, path + f"[{i}]")
    else: yield path, o
def check(path, newest):
    doc = yaml.safe_load(open(path))
    assert doc["kind"] == "List" and doc["apiVersion"] == "v1"
    items = doc["items"]
    errs = []
    uids = collections.Counter(i["metadata"]["uid"] for i in items)
    errs += [f"dup uid {u}" for u, c in uids.items() if c > 1]
    rvs = collections.Counter(i["metadata"]["resourceVersion"] for i in items)
    errs += [f"dup rv {u}" for u, c in rvs.items() if c > 1]
    byuid = {i["metadata"]["uid"]: i for i in items}
    names = collections.Counter((i["kind"], i["metadata"].get("namespace"), i["metadata"]["name"]) for i in items)
    errs += [f"dup name {n}" for n, c in names.items() if c > 1]
    mx = max(v for i in items for p, v in walk(i) if isinstance(v, str) and TS.match(v))
    mxany = max(m for i in items for p, v in walk(i) if isinstance(v, str) for m in TSANY.findall(v))
    if mx != newest: errs.append(f"newest ts {mx} != {newest}")
    if mxany > newest: errs.append(f"newest embedded ts {mxany} > {newest}")
    for i in items:
        md = i["metadata"]
        for k in ("name", "uid", "resourceVersion", "creationTimestamp"):
            if not md.get(k): errs.append(f"{i['kind']}/{md.get('name')} missing {k}")
        assert md["resourceVersion"].isdigit()
        for o in md.get("ownerReferences", []):
            t = byuid.get(o["uid"])
            if not t or t["kind"] != o["kind"] or t["metadata"]["name"] != o["name"]:
                errs.append(f"bad owner {i['kind']}/{md['name']} -> {o['kind']}/{o['name']}")
            elif t["metadata"]["creationTimestamp"] > md["creationTimestamp"]:
                errs.append(f"owner newer than child {md['name']}")
        if i["kind"] == "Event":
            io = i["involvedObject"]
            t = byuid.get(io["uid"])
            if not t or t["kind"] != io["kind"] or t["metadata"]["name"] != io["name"]:
                errs.append(f"bad event target {md['name']}")
            # events.k8s.io events (the scheduler's) read back with eventTime and no first/lastTimestamp
            first = i["firstTimestamp"] or i["eventTime"][:19] + "Z"
            last = i["lastTimestamp"] or (i.get("series") or {}).get("lastObservedTime", first)[:19] + "Z"
            if first > last: errs.append(f"event order {md['name']}")
            if last > newest: errs.append(f"event after capture {md['name']}")
            if t and first < t["metadata"]["creationTimestamp"]: errs.append(f"event before object {md['name']}")
            if io.get("namespace", "default") != md["namespace"]: errs.append("event ns")
        if md["creationTimestamp"] > newest: errs.append("created in future")
    # quota
    for q in [i for i in items if i["kind"] == "ResourceQuota"]:
        ns = q["metadata"]["namespace"]
        pods = [p for p in items if p["kind"] == "Pod" and p["metadata"]["namespace"] == ns and p["status"]["phase"] not in ("Succeeded", "Failed")]
        cpu = sum(quota_request(p["spec"])[0] for p in pods); mem = sum(quota_request(p["spec"])[1] for p in pods)
        used = q["status"]["used"]
        exp = {"pods": str(len(pods)), "requests.cpu": fmt_cpu(cpu), "requests.memory": fmt_mem(mem)}
        for k, v in used.items():
            if k in exp and exp[k] != v: errs.append(f"quota {q['metadata']['name']} {k} {v} != {exp[k]}")
        print(f"  quota {q['metadata']['name']}: hard={q['status']['hard']} used={used}")
    kinds = collections.Counter(i["kind"] for i in items)
    for (k, ns), c in sorted(collections.Counter((i["kind"], i["metadata"].get("namespace", "-")) for i in items).items()):
        pass
    print(path, len(items), "items; newest", mx)
    print("  ", dict(sorted(kinds.items())))
    for e in errs: print("  ERR", e)
    return items
for p, n in [("bleater-incident.yaml", "2024-11-19T03:41:30Z"), ("bleater-healthy.yaml", "2024-11-19T05:10:00Z"), ("shop-incident.yaml", "2025-03-02T10:15:00Z"), ("orders-incident.yaml", "2025-06-12T14:32:00Z")]:
    try: check(os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), p), n)
    except FileNotFoundError: print("missing", p)
