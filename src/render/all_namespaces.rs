//! `-A` as tables: one row per namespace (`inventory -A` in name order, `check -A`
//! worst first), then what could not be read cluster-wide.

use super::{kubectl_table, list_or_dash, truncate};
use crate::all_namespaces::{ClusterCheck, ClusterInventory, Scope};
use crate::snapshot::{Gap, SnapshotOrigin};

/// The failing-signals cell is cut here in `table` output (never in `wide`).
const SIGNALS_WIDTH: usize = 60;

pub fn inventory_table(inventory: &ClusterInventory) -> String {
    let mut out = format!(
        "{} namespace(s){}\n\n",
        inventory.namespaces.len(),
        origin(&inventory.scope)
    );
    let gaps = inventory.scope.gaps.len().to_string();
    let rows = inventory
        .namespaces
        .iter()
        .map(|row| {
            let o = &row.objects;
            vec![
                row.namespace.clone(),
                o.pods.to_string(),
                row.pods_not_ready.to_string(),
                o.workloads.to_string(),
                o.config_maps.to_string(),
                o.network.to_string(),
                o.persistent_volume_claims.to_string(),
                o.access.to_string(),
                o.policy.to_string(),
                o.events.to_string(),
                row.warning_events.to_string(),
                gaps.clone(),
            ]
        })
        .collect();
    out.push_str(&kubectl_table(
        &[
            "namespace",
            "pods",
            "not ready",
            "workloads",
            "configmaps",
            "network",
            "pvcs",
            "access",
            "policy",
            "events",
            "warnings",
            "gaps",
        ],
        rows,
    ));
    out.push_str(&footer(&inventory.scope));
    out
}

pub fn check_table(check: &ClusterCheck, wide: bool) -> String {
    let mut out = format!(
        "{} namespace(s){}: {} failing, {} passing\n\n",
        check.summary.namespaces,
        origin(&check.scope),
        check.summary.failing,
        check.summary.namespaces - check.summary.failing,
    );
    let rows = check
        .namespaces
        .iter()
        .map(|row| {
            let signals = row
                .failing_signals
                .iter()
                .map(|s| s.to_string())
                .collect::<Vec<_>>();
            let signals = list_or_dash(&signals, ",");
            vec![
                row.namespace.clone(),
                if row.failing > 0 { "fail" } else { "ok" }.to_string(),
                row.failing.to_string(),
                row.unknown.to_string(),
                row.top_cause.as_ref().map_or_else(
                    || "-".to_string(),
                    |top| match top.symptoms.len() {
                        0 => top.cause.to_string(),
                        n => format!("{} (+{n} symptom{})", top.cause, plural(n)),
                    },
                ),
                if wide {
                    signals
                } else {
                    truncate(&signals, SIGNALS_WIDTH)
                },
                row.objects.pods.to_string(),
                row.objects.total.to_string(),
                row.profile.clone().unwrap_or_else(|| "-".to_string()),
            ]
        })
        .collect();
    out.push_str(&kubectl_table(
        &[
            "namespace",
            "status",
            "failing",
            "unknown",
            "top cause",
            "failing signals",
            "pods",
            "objects",
            "profile",
        ],
        rows,
    ));
    out.push_str(&footer(&check.scope));
    if check.failing() {
        out.push_str("\nThe evidence and the fix of each: triage check -n NAMESPACE\n");
    }
    out
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

fn origin(scope: &Scope) -> String {
    let from = match &scope.source {
        SnapshotOrigin::Live { context, server } => format!(" on `{server}` (context `{context}`)"),
        SnapshotOrigin::File { path } => format!(" in `{path}`"),
    };
    let at = scope
        .captured_at
        .map(|at| format!(", captured {at}"))
        .unwrap_or_default();
    format!("{from}{at}")
}

/// Kinds not listed cluster-wide: missing in every namespace, said once.
fn footer(scope: &Scope) -> String {
    let mut lines = Vec::new();
    for (kind, gap) in &scope.gaps {
        lines.push(match gap {
            Gap::Forbidden(message) => format!(
                "Not readable cluster-wide: {kind} (forbidden: {message}); missing in every namespace."
            ),
            Gap::Failed(message) => {
                format!("Not loaded: {kind} ({message}); missing in every namespace.")
            }
        });
    }
    for (what, gap) in &scope.object_gaps {
        lines.push(match gap {
            Gap::Forbidden(message) => format!("Not readable: {what} (forbidden: {message})."),
            Gap::Failed(message) => format!("Not loaded: {what} ({message})."),
        });
    }
    if lines.is_empty() {
        return String::new();
    }
    format!("\n{}\n", lines.join("\n"))
}
