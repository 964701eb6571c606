//! `check -A` against the live control plane: one cluster-wide LIST per kind (never a
//! namespace's own collection), a red namespace above a green one, exit 1, and the
//! kinds a user may not list cluster-wide named as gaps. Other tests' namespaces are
//! in the cluster too, so rows are found by name and compared by position.

use serde_json::Value;

use crate::harness::{self, Incident, stderr, stdout, testenv, triage_with};

/// The position of `namespace` in `check -A -o json`'s rows, and the row.
#[track_caller]
fn row<'a>(check: &'a Value, namespace: &str) -> (usize, &'a Value) {
    check["namespaces"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
        .find(|(_, row)| row["namespace"] == namespace)
        .unwrap_or_else(|| panic!("no row for `{namespace}` in {check:#}"))
}

#[test]
fn check_all_namespaces_lists_red_first_and_names_what_may_not_be_listed() {
    let Some(env) =
        testenv("check_all_namespaces_lists_red_first_and_names_what_may_not_be_listed")
    else {
        return;
    };
    let red = Incident::load(env, "e2e-allred");
    let green = env.create_namespace("e2e-allgreen");
    env.kubectl_ok(&[
        "create",
        "configmap",
        "settings",
        "-n",
        &green,
        "--from-literal=mode=calm",
    ]);

    // The root-CA publisher writes kube-root-ca.crt into every new namespace.
    harness::wait_for(std::time::Duration::from_secs(10), || {
        let get = env.kubectl(&["get", "configmap", "kube-root-ca.crt", "-n", &green]);
        get.status.success().then_some(())
    })
    .expect("kube-root-ca.crt is published");

    // As admin, through the logging proxy: every collection is listed cluster-wide.
    let proxy = harness::FaultProxy::start(env, &green, &[]);
    let output = triage_with(&proxy.kubeconfig, &["-v", "check", "-A", "-o", "json"]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let check: Value = serde_json::from_slice(&output.stdout).unwrap();
    let (red_at, red_row) = row(&check, &red.ns);
    let (green_at, green_row) = row(&check, &green);
    assert!(red_at < green_at, "worst first: {check:#}");
    assert!(red_row["failing"].as_u64().unwrap() > 0, "{red_row}");
    assert!(
        red_row["failingSignals"]
            .as_array()
            .unwrap()
            .contains(&Value::from("quota")),
        "{red_row}"
    );
    assert_eq!(green_row["failing"], 0, "{green_row}");
    assert_eq!(
        green_row["objects"]["configMaps"], 2,
        "settings and kube-root-ca.crt"
    );
    assert_eq!(check["gaps"], serde_json::json!({}));
    let log = std::fs::read_to_string(&proxy.log).unwrap();
    let lists: Vec<&str> = log
        .lines()
        .filter(|line| line.starts_with("GET ") && line.contains("limit=500"))
        .collect();
    assert_eq!(
        lists.len(),
        triage::snapshot::Kind::ALL.len() - 1,
        "one paginated LIST per kind (ClusterRoles are read with GET): {log}"
    );
    assert!(
        !log.contains("/namespaces/"),
        "no request into one namespace, not even a per-namespace fallback: {log}"
    );

    // The table: the red namespace's row above the green one's.
    let table = env.triage(&["check", "-A"]);
    assert_eq!(table.status.code(), Some(1), "{}", stderr(&table));
    let text = stdout(&table);
    let line_of = |namespace: &str| {
        text.lines()
            .position(|line| line.split_whitespace().next() == Some(namespace))
            .unwrap_or_else(|| panic!("no `{namespace}` row: {text}"))
    };
    assert!(line_of(&red.ns) < line_of(&green), "{text}");
    assert!(
        text.lines()
            .nth(line_of(&red.ns))
            .unwrap()
            .contains(" fail "),
        "{text}"
    );

    // A user who may list only some kinds cluster-wide: the rest are gaps of every
    // namespace, said once, and nothing is read namespace by namespace instead.
    let user = env.unique_name("e2e-allns-reader");
    env.kubectl_apply(&format!(
        "apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {{name: {user}}}
rules:
- apiGroups: ['']
  resources: [pods, configmaps, events, resourcequotas, namespaces]
  verbs: [list]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {{name: {user}}}
roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: {user}}}
subjects:
- {{apiGroup: rbac.authorization.k8s.io, kind: User, name: {user}}}
"
    ));
    // RBAC is evaluated from an informer cache: wait until the grant is seen.
    harness::wait_for(std::time::Duration::from_secs(10), || {
        let can = env.kubectl(&["auth", "can-i", "list", "pods", "-A", "--as", &user]);
        can.status.success().then_some(())
    })
    .expect("the ClusterRoleBinding takes effect");
    let limited = env.triage(&["check", "-A", "--as", &user, "-o", "json"]);
    let check: Value =
        serde_json::from_slice(&limited.stdout).unwrap_or_else(|_| panic!("{}", stderr(&limited)));
    let mut gaps: Vec<&str> = check["gaps"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    gaps.sort();
    let mut expected: Vec<&str> = triage::snapshot::Kind::ALL
        .iter()
        .map(|kind| kind.plural())
        .filter(|plural| {
            ![
                "pods",
                "configmaps",
                "events",
                "resourcequotas",
                "clusterroles",
            ]
            .contains(plural)
        })
        .collect();
    expected.sort();
    assert_eq!(gaps, expected, "{check:#}");
    assert_eq!(check["gaps"]["rolebindings"]["reason"], "forbidden");
    let (red_at, red_row) = row(&check, &red.ns);
    let (green_at, _) = row(&check, &green);
    assert!(red_at < green_at, "{check:#}");
    assert!(
        red_row["failingSignals"]
            .as_array()
            .unwrap()
            .contains(&Value::from("quota")),
        "quota and pods are readable: {red_row}"
    );
    assert_eq!(limited.status.code(), Some(1), "{}", stderr(&limited));
    let table = env.triage(&["check", "-A", "--as", &user]);
    assert!(
        stdout(&table).contains("Not readable cluster-wide: rolebindings (forbidden: "),
        "{}",
        stdout(&table)
    );
}
