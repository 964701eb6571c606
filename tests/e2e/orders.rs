//! The orders fixture (EKS, Helm 3; docs/fixtures.md) loaded into the real control
//! plane: `triage check` live must give the same verdicts as offline on the file, for
//! every signal this build has.
//!
//! Compared per finding: the signal id, its status, the objects it is about and the
//! objects it names as causes (kind, name, namespace mapped back to `orders`). Not
//! compared: summaries and evidence (they quote uids, cluster IPs and ages that differ
//! by construction; the inventory test in main.rs covers the objects themselves).

use std::collections::BTreeMap;

use serde_json::Value;

use crate::harness::{self, stderr, testenv};

const FIXTURE: &str = "orders-incident.yaml";
/// The fixture's capture time (docs/fixtures.md). Live, `--now` pins the clock to it:
/// the loader keeps every status and event timestamp of the capture, so ages computed
/// from them are the same as offline. What the API server stamps itself cannot be
/// pinned, see [`masked`].
const CAPTURED: &str = "2025-06-12T14:32:00Z";

/// One finding reduced to what must not differ between live and offline.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Verdict {
    status: String,
    objects: Vec<String>,
    caused_by: Vec<String>,
}

fn verdicts(check: &Value, namespace: &str) -> BTreeMap<String, Verdict> {
    let refs = |finding: &Value, key: &str| -> Vec<String> {
        let mut refs: Vec<String> = finding[key]
            .as_array()
            .into_iter()
            .flatten()
            .map(|o| {
                let ns = o["namespace"].as_str().unwrap_or_default();
                let ns = if ns == namespace { "orders" } else { ns };
                format!(
                    "{}/{ns}/{}",
                    o["kind"].as_str().unwrap_or_default(),
                    o["name"].as_str().unwrap_or_default()
                )
            })
            .collect();
        refs.sort();
        refs
    };
    check["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| {
            let id = f["id"].as_str().unwrap().to_string();
            let verdict = Verdict {
                status: f["status"].as_str().unwrap().to_string(),
                objects: refs(f, "objects"),
                caused_by: refs(f, "causedBy"),
            };
            (id, verdict)
        })
        .collect()
}

/// Signals whose live verdict legitimately differs from the capture's, and why. Each
/// is checked on its own below instead of compared.
fn masked(id: &str) -> Option<&'static str> {
    match id {
        // The loader creates every object through the API, so each ConfigMap reads back
        // with a managedFields entry of the loader's own field manager
        // (`triage-testenv-load-scenario`); the capture has no managedFields. To
        // derived-state that manager looks like a controller writing the map.
        "derived-state" => Some("loader field manager"),
        // A deletionTimestamp cannot be written: the loader adds the finalizer and sends
        // DELETE, so the API server stamps the load time. With `--now` at the capture
        // time that deletion lies in the future: neither ConfigMap is stuck live, while
        // offline `orders-legacy-routes` has waited 20 minutes (its look-alike
        // `orders-canary-flags` 30 s).
        "stuck-deletion" => Some("deletionTimestamp is the load time"),
        _ => None,
    }
}

#[test]
fn orders_fixture_live_check_equals_offline() {
    let Some(env) = testenv("orders_fixture_live_check_equals_offline") else {
        return;
    };
    let ns = env.unique_name("e2e-orders");
    env.load_scenario(FIXTURE, &[("orders", &ns)]);
    // The quota controller first counts every loaded pod, then releases the terminal
    // ones (Succeeded/Failed) when it sees their status: wait until its arithmetic has
    // settled on the fixture's, so live and offline read the same quota.
    let settled = harness::wait_for(std::time::Duration::from_secs(90), || {
        let used = env.kubectl_ok(&[
            "get", "resourcequota", "orders-quota", "-n", &ns, "-o",
            "jsonpath={.status.used.pods} {.status.used.requests\\.cpu} {.status.used.requests\\.memory}",
        ]);
        (used == "16 9650m 16000Mi").then_some(())
    });
    assert!(
        settled.is_some(),
        "the quota controller never settled on the fixture's usage"
    );

    let live = env.triage(&["check", "-n", &ns, "-o", "json", "--now", CAPTURED]);
    let offline = env.triage(&[
        "check",
        "-n",
        "orders",
        "--snapshot",
        harness::root()
            .join("examples")
            .join(FIXTURE)
            .to_str()
            .unwrap(),
        "-o",
        "json",
    ]);
    // At least the quota is exhausted (requests.memory): both exit 1.
    assert_eq!(live.status.code(), Some(1), "{}", stderr(&live));
    assert_eq!(offline.status.code(), Some(1), "{}", stderr(&offline));
    let live_json: Value = serde_json::from_slice(&live.stdout).unwrap();
    let offline_json: Value = serde_json::from_slice(&offline.stdout).unwrap();
    let mut live = verdicts(&live_json, &ns);
    let mut offline = verdicts(&offline_json, "orders");
    assert!(!offline.is_empty());

    // The quota controller recomputed status.used from the loaded pods (the fixture's
    // own quota status is never written when the controller answers): the same
    // exhausted quota, found live from the cluster's own arithmetic.
    assert_eq!(
        offline
            .get("quota")
            .map(|v| (v.status.as_str(), v.objects.clone())),
        Some((
            "fail",
            vec!["ResourceQuota/orders/orders-quota".to_string()]
        ))
    );
    let used = env.kubectl_ok(&[
        "get", "resourcequota", "orders-quota", "-n", &ns, "-o",
        "jsonpath={.status.used.pods} {.status.used.requests\\.cpu} {.status.used.requests\\.memory}",
    ]);
    assert_eq!(used, "16 9650m 16000Mi");

    for id in ["derived-state", "stuck-deletion"] {
        let (Some(l), Some(o)) = (live.remove(id), offline.remove(id)) else {
            continue; // the signal is not in this build
        };
        eprintln!(
            "{id}: not compared ({}): live {l:?}, offline {o:?}",
            masked(id).unwrap()
        );
        if id == "stuck-deletion" {
            let cm = |name: &str| format!("ConfigMap/orders/{name}");
            assert_eq!(o.status, "fail", "{o:?}");
            assert!(o.objects.contains(&cm("orders-legacy-routes")), "{o:?}");
            assert!(!o.objects.contains(&cm("orders-canary-flags")), "{o:?}");
            assert!(!l.objects.contains(&cm("orders-legacy-routes")), "{l:?}");
            assert!(!l.objects.contains(&cm("orders-canary-flags")), "{l:?}");
        }
    }
    // What the masks stand on: both ConfigMaps really are Terminating, held by their
    // finalizer.
    for name in ["orders-legacy-routes", "orders-canary-flags"] {
        let meta = env.kubectl_ok(&[
            "get",
            "configmap",
            name,
            "-n",
            &ns,
            "-o",
            "jsonpath={.metadata.finalizers[0]} {.metadata.deletionTimestamp}",
        ]);
        assert!(
            meta.starts_with("orders.example.com/route-drain 20"),
            "{name}: {meta}"
        );
    }

    let differences: Vec<String> = offline
        .keys()
        .chain(live.keys())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .filter(|id| live.get(*id) != offline.get(*id))
        .map(|id| {
            format!(
                "{id}: live {:?}\n  offline {:?}",
                live.get(id),
                offline.get(id)
            )
        })
        .collect();
    assert!(
        differences.is_empty(),
        "live differs from offline:\n{}",
        differences.join("\n")
    );
}
