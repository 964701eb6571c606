//! The inventory as tables: one section per non-empty kind, fault evidence marked in
//! the columns (`(missing)`, `EXHAUSTED`, `DENY-ALL`), empty kinds in one line.

use super::{kubectl_table, list_or_dash, truncate};
use crate::inventory::Inventory;
use crate::snapshot::{Gap, SnapshotOrigin};

/// Marker words a responder can grep for; the healthy fixture shows none of them.
pub const MISSING: &str = "(missing)";
pub const EXHAUSTED: &str = "EXHAUSTED";
pub const DENY_ALL: &str = "DENY-ALL";
/// A CronJob whose last scheduled run ended without success (none is running).
pub const LAST_RUN_FAILED: &str = "(last run unsuccessful)";

/// Event messages longer than this are cut in `table` output (never in `wide`).
const MESSAGE_WIDTH: usize = 100;

pub fn table(inventory: &Inventory, wide: bool) -> String {
    let mut out = String::new();
    out.push_str(&header(inventory));

    let mut section = |title: &str, body: String| {
        out.push('\n');
        out.push_str(title);
        out.push('\n');
        out.push_str(&body);
    };

    if !inventory.pods.is_empty() {
        let mut headers = vec![
            "name",
            "ready",
            "status",
            "restarts",
            "age",
            "init containers",
        ];
        if wide {
            headers.extend(["node", "ip"]);
        }
        let rows = inventory
            .pods
            .iter()
            .map(|p| {
                let mut row = vec![
                    p.name.clone(),
                    p.ready.clone(),
                    p.status.clone(),
                    p.restarts.to_string(),
                    p.age.clone(),
                    list_or_dash(&p.init_containers, "; "),
                ];
                if wide {
                    row.push(p.node.clone().unwrap_or_else(|| "<none>".into()));
                    row.push(p.ip.clone().unwrap_or_else(|| "<none>".into()));
                }
                row
            })
            .collect();
        section("PODS", kubectl_table(&headers, rows));
    }

    if !inventory.jobs.is_empty() {
        let rows = inventory
            .jobs
            .iter()
            .map(|j| {
                vec![
                    j.name.clone(),
                    if j.suspended { "yes" } else { "no" }.to_string(),
                    j.hook.clone().unwrap_or_else(|| "-".into()),
                    j.hook_delete_policy.clone().unwrap_or_else(|| "-".into()),
                    list_or_dash(&j.finalizers, ","),
                    list_or_dash(&j.owners, ","),
                    j.completions.clone(),
                    j.age.clone(),
                ]
            })
            .collect();
        section(
            "JOBS",
            kubectl_table(
                &[
                    "name",
                    "suspended",
                    "hook",
                    "hook-delete-policy",
                    "finalizers",
                    "owner",
                    "completions",
                    "age",
                ],
                rows,
            ),
        );
    }

    if !inventory.cron_jobs.is_empty() {
        let rows = inventory
            .cron_jobs
            .iter()
            .map(|c| {
                let mut successful = c.last_successful.clone().unwrap_or_else(|| "<none>".into());
                if c.last_run_unsuccessful {
                    successful.push_str(&format!(" {LAST_RUN_FAILED}"));
                }
                vec![
                    c.name.clone(),
                    c.schedule.clone(),
                    if c.suspended { "yes" } else { "no" }.to_string(),
                    c.active.to_string(),
                    c.last_schedule.clone().unwrap_or_else(|| "<none>".into()),
                    successful,
                    c.age.clone(),
                ]
            })
            .collect();
        section(
            "CRONJOBS",
            kubectl_table(
                &[
                    "name",
                    "schedule",
                    "suspended",
                    "active",
                    "last schedule",
                    "last successful",
                    "age",
                ],
                rows,
            ),
        );
    }

    if !inventory.persistent_volume_claims.is_empty() {
        let rows = inventory
            .persistent_volume_claims
            .iter()
            .map(|p| {
                let class = match (&p.storage_class, p.storage_class_exists) {
                    (Some(class), Some(false)) => format!("{class} {MISSING}"),
                    (Some(class), _) => class.clone(),
                    (None, _) => "<default>".to_string(),
                };
                vec![
                    p.name.clone(),
                    p.phase.clone(),
                    class,
                    p.capacity.clone().unwrap_or_else(|| "-".into()),
                    list_or_dash(&p.access_modes, ","),
                    p.volume.clone().unwrap_or_else(|| "-".into()),
                    p.age.clone(),
                ]
            })
            .collect();
        section(
            "PERSISTENTVOLUMECLAIMS",
            kubectl_table(
                &[
                    "name",
                    "status",
                    "storageclass",
                    "capacity",
                    "access modes",
                    "volume",
                    "age",
                ],
                rows,
            ),
        );
    }

    if !inventory.resource_quotas.is_empty() {
        let rows = inventory
            .resource_quotas
            .iter()
            .flat_map(|q| {
                q.resources.iter().map(move |r| {
                    vec![
                        q.name.clone(),
                        r.resource.clone(),
                        r.used.clone().unwrap_or_else(|| "<unset>".into()),
                        r.hard.clone(),
                        if r.exhausted {
                            EXHAUSTED.to_string()
                        } else {
                            String::new()
                        },
                    ]
                })
            })
            .collect();
        section(
            "RESOURCEQUOTAS",
            kubectl_table(&["name", "resource", "used", "hard", ""], rows),
        );
    }

    if !inventory.network_policies.is_empty() {
        let rows = inventory
            .network_policies
            .iter()
            .map(|n| {
                vec![
                    n.name.clone(),
                    format!("{} ({} running pods)", n.pod_selector, n.selected_pods),
                    list_or_dash(&n.policy_types, ","),
                    n.ingress_rules.to_string(),
                    n.egress_rules.to_string(),
                    if n.pods_without_egress > 0 {
                        format!(
                            "{DENY_ALL} egress for {} pods (DNS too)",
                            n.pods_without_egress
                        )
                    } else if n.deny_all_egress {
                        "deny-all, lifted by allow rules".to_string()
                    } else {
                        String::new()
                    },
                ]
            })
            .collect();
        section(
            "NETWORKPOLICIES",
            kubectl_table(
                &[
                    "name",
                    "pod selector",
                    "policy types",
                    "ingress rules",
                    "egress rules",
                    "",
                ],
                rows,
            ),
        );
    }

    if !inventory.role_bindings.is_empty() {
        let rows = inventory
            .role_bindings
            .iter()
            .map(|b| {
                let role = if b.role_exists {
                    b.role_ref.clone()
                } else {
                    format!("{} {MISSING}", b.role_ref)
                };
                vec![b.name.clone(), role, list_or_dash(&b.subjects, ",")]
            })
            .collect();
        section(
            "ROLEBINDINGS",
            kubectl_table(&["name", "role", "subjects"], rows),
        );
    }

    if !inventory.roles.is_empty() {
        let rows = inventory
            .roles
            .iter()
            .map(|r| {
                let bound = if r.bound_by.is_empty() {
                    "<unbound>".to_string()
                } else {
                    r.bound_by.join(",")
                };
                vec![r.name.clone(), bound, list_or_dash(&r.rules, "; ")]
            })
            .collect();
        section("ROLES", kubectl_table(&["name", "bound by", "rules"], rows));
    }

    if !inventory.config_maps.is_empty() {
        let rows = inventory
            .config_maps
            .iter()
            .map(|c| {
                vec![
                    c.name.clone(),
                    list_or_dash(&c.keys, ","),
                    list_or_dash(&c.managers, ","),
                    c.age.clone(),
                ]
            })
            .collect();
        section(
            "CONFIGMAPS",
            kubectl_table(&["name", "keys", "written by", "age"], rows),
        );
    }

    for (title, rows) in [
        ("DEPLOYMENTS", &inventory.deployments),
        ("STATEFULSETS", &inventory.stateful_sets),
        ("DAEMONSETS", &inventory.daemon_sets),
        ("REPLICASETS", &inventory.replica_sets),
    ] {
        if !rows.is_empty() {
            let rows = rows
                .iter()
                .map(|w| {
                    vec![
                        w.name.clone(),
                        format!("{}/{}", w.ready, w.desired),
                        w.age.clone(),
                    ]
                })
                .collect();
            section(title, kubectl_table(&["name", "ready", "age"], rows));
        }
    }

    if !inventory.services.is_empty() {
        let rows = inventory
            .services
            .iter()
            .map(|s| {
                vec![
                    s.name.clone(),
                    s.service_type.clone(),
                    s.cluster_ip.clone().unwrap_or_else(|| "<none>".into()),
                    list_or_dash(&s.ports, ","),
                    s.age.clone(),
                ]
            })
            .collect();
        section(
            "SERVICES",
            kubectl_table(&["name", "type", "cluster-ip", "ports", "age"], rows),
        );
    }

    if !inventory.endpoint_slices.is_empty() {
        let rows = inventory
            .endpoint_slices
            .iter()
            .map(|e| {
                vec![
                    e.name.clone(),
                    e.service.clone().unwrap_or_else(|| "<none>".into()),
                    e.address_type.clone(),
                    list_or_dash(&e.ports, ","),
                    format!("{}/{}", e.ready, e.endpoints),
                    e.age.clone(),
                ]
            })
            .collect();
        section(
            "ENDPOINTSLICES",
            kubectl_table(
                &["name", "service", "addresstype", "ports", "ready", "age"],
                rows,
            ),
        );
    }

    for (title, rows) in [
        ("SERVICEACCOUNTS", &inventory.service_accounts),
        ("LIMITRANGES", &inventory.limit_ranges),
    ] {
        if !rows.is_empty() {
            let rows = rows
                .iter()
                .map(|r| vec![r.name.clone(), r.age.clone()])
                .collect();
            section(title, kubectl_table(&["name", "age"], rows));
        }
    }

    if !inventory.storage_classes.is_empty() {
        let rows = inventory
            .storage_classes
            .iter()
            .map(|s| {
                let name = if s.default {
                    format!("{} (default)", s.name)
                } else {
                    s.name.clone()
                };
                vec![name, s.provisioner.clone(), s.volume_binding_mode.clone()]
            })
            .collect();
        section(
            "STORAGECLASSES (cluster)",
            kubectl_table(&["name", "provisioner", "volumebindingmode"], rows),
        );
    }

    if !inventory.warning_events.is_empty() {
        let rows = inventory
            .warning_events
            .iter()
            .map(|e| {
                let message = if wide {
                    e.message.clone()
                } else {
                    truncate(&e.message, MESSAGE_WIDTH)
                };
                vec![
                    e.last_seen.clone(),
                    e.reason.clone(),
                    e.object.clone(),
                    e.count.to_string(),
                    message,
                ]
            })
            .collect();
        section(
            &format!(
                "WARNING EVENTS (newest {}, by last seen)",
                inventory.warning_events.len()
            ),
            kubectl_table(&["last seen", "reason", "object", "count", "message"], rows),
        );
    }

    out.push('\n');
    out.push_str(&footer(inventory));
    out
}

fn header(inventory: &Inventory) -> String {
    let captured = inventory
        .captured_at
        .map_or_else(|| "unknown time".to_string(), |at| at.to_string());
    let source = match &inventory.source {
        Some(SnapshotOrigin::Live { context, server }) => {
            format!("live, context `{context}`, {server}")
        }
        Some(SnapshotOrigin::File { path }) => format!("snapshot `{path}`"),
        None => "unknown source".to_string(),
    };
    format!(
        "Namespace `{}` at {captured} ({source})\n",
        inventory.namespace
    )
}

fn footer(inventory: &Inventory) -> String {
    let mut lines = Vec::new();
    let empty = inventory.empty_kinds();
    if !empty.is_empty() {
        lines.push(format!(
            "None in `{}`: {}.",
            inventory.namespace,
            empty.join(", ")
        ));
    }
    if inventory.warning_events.is_empty() {
        lines.push("No Warning events.".to_string());
    }
    for (kind, names) in &inventory.other_objects {
        lines.push(format!("Also present ({kind}): {}.", names.join(", ")));
    }
    for (kind, gap) in &inventory.gaps {
        lines.push(match gap {
            Gap::Forbidden(message) => format!("Not readable: {kind} (forbidden: {message})."),
            Gap::Failed(message) => format!("Not loaded: {kind} ({message})."),
        });
    }
    // One line per pod and reason: a 403 on pods/log is the same for every container.
    let mut log_gaps: Vec<(&str, &Gap, Vec<&str>)> = Vec::new();
    for row in &inventory.log_gaps {
        match log_gaps.last_mut() {
            Some((pod, gap, containers)) if *pod == row.pod && *gap == &row.gap => {
                containers.push(&row.container)
            }
            _ => log_gaps.push((&row.pod, &row.gap, vec![&row.container])),
        }
    }
    for (pod, gap, containers) in log_gaps {
        let containers = containers.join(", ");
        lines.push(match gap {
            Gap::Forbidden(message) => format!(
                "Logs not readable: pod/{pod} ({containers}) (forbidden (pods/log): {message})."
            ),
            Gap::Failed(message) => {
                format!("Logs not fetched: pod/{pod} ({containers}) ({message}).")
            }
        });
    }
    if inventory.secrets_skipped > 0 {
        lines.push(format!(
            "{} Secret(s) in the input were skipped unread.",
            inventory.secrets_skipped
        ));
    }
    let mut text = lines.join("\n");
    if !text.is_empty() {
        text.push('\n');
    }
    text
}
