//! `pvc`: a PersistentVolumeClaim Pending because its StorageClass does not exist
//! (https://kubernetes.io/docs/concepts/storage/persistent-volumes/#class-1). A
//! Pending claim on an existing `WaitForFirstConsumer` class is healthy: it binds when
//! a pod uses it (https://kubernetes.io/docs/concepts/storage/storage-classes/#volume-binding-mode).

use crate::finding::{Context, Evidence, Finding, ObjectRef, Status};
use crate::signals::Signal;
use crate::snapshot::{HasMeta, Kind, in_namespace};
use crate::storage::{class_names_default_first, is_default_class};

pub struct Pvc;

pub const ID: &str = "pvc";

impl Signal for Pvc {
    fn id(&self) -> &'static str {
        ID
    }

    fn title(&self) -> &'static str {
        "PersistentVolumeClaims can bind"
    }

    fn reads(&self) -> &'static [Kind] {
        &[
            Kind::PersistentVolumeClaim,
            Kind::StorageClass,
            Kind::Pod,
            Kind::Event,
        ]
    }

    fn evaluate(&self, context: &Context) -> Finding {
        let snapshot = context.snapshot;
        let claims = in_namespace(&snapshot.persistent_volume_claims, context.namespace);
        if snapshot.gaps.contains_key(&Kind::StorageClass) {
            return Finding::unknown(ID, "StorageClasses could not be listed");
        }
        let classes = class_names_default_first(&snapshot.storage_classes);
        let classes_text = classes
            .iter()
            .map(|name| {
                let default = snapshot
                    .storage_classes
                    .iter()
                    .any(|c| c.name() == name && is_default_class(c));
                if default {
                    format!("{name} (default)")
                } else {
                    name.clone()
                }
            })
            .collect::<Vec<_>>()
            .join(", ");
        let mut finding = Finding::ok(ID, "");
        let mut broken = Vec::new();
        let mut apps = Vec::new();
        let mut waiting = 0;
        for claim in &claims {
            let phase = claim
                .status
                .as_ref()
                .and_then(|s| s.phase.as_deref())
                .unwrap_or("Pending");
            if phase != "Pending" {
                continue;
            }
            let object = ObjectRef::of(Kind::PersistentVolumeClaim, *claim);
            let class_name = claim
                .spec
                .as_ref()
                .and_then(|s| s.storage_class_name.clone());
            let class = class_name
                .as_deref()
                .map(|name| snapshot.storage_classes.iter().find(|c| c.name() == name));
            match (class_name.as_deref(), class) {
                (Some(name), Some(Some(class))) => {
                    let mode = class.volume_binding_mode.as_deref().unwrap_or("Immediate");
                    let note = if mode == "WaitForFirstConsumer" {
                        waiting += 1;
                        "healthy: the class binds when a pod first uses the claim".to_string()
                    } else {
                        format!("class `{name}` exists ({mode}); not this signal's fault")
                    };
                    finding.evidence.push(Evidence::field_note(
                        &object,
                        "spec.storageClassName",
                        name,
                        note,
                    ));
                }
                (Some(name), _) => {
                    broken.push((claim, name.to_string()));
                    finding.evidence.push(Evidence::field_note(
                        &object,
                        "spec.storageClassName",
                        name,
                        format!(
                            "StorageClass not found; classes: {}",
                            or_none(&classes_text)
                        ),
                    ));
                }
                (None, _)
                    if classes.is_empty()
                        || !snapshot.storage_classes.iter().any(is_default_class) =>
                {
                    broken.push((claim, String::new()));
                    finding.evidence.push(Evidence::field_note(
                        &object,
                        "spec.storageClassName",
                        "<unset>",
                        format!(
                            "no default StorageClass; classes: {}",
                            or_none(&classes_text)
                        ),
                    ));
                }
                (None, _) => {}
            }
        }
        for (claim, _) in &broken {
            let object = ObjectRef::of(Kind::PersistentVolumeClaim, **claim);
            finding.add_object(object.clone());
            finding
                .evidence
                .push(Evidence::field(&object, "status.phase", "Pending"));
            for event in context.warnings_for(Kind::PersistentVolumeClaim, claim.name()) {
                finding.evidence.push(Evidence::event(event));
            }
            apps.extend(context.app_of(&claim.metadata));
            for pod in in_namespace(&snapshot.pods, context.namespace) {
                let mounts = pod
                    .spec
                    .iter()
                    .flat_map(|s| s.volumes.iter().flatten())
                    .any(|v| {
                        v.persistent_volume_claim
                            .as_ref()
                            .is_some_and(|c| c.claim_name == claim.name())
                    });
                if mounts {
                    apps.extend(context.app_of(&pod.metadata));
                }
            }
        }
        if broken.is_empty() {
            finding.summary = if waiting > 0 {
                format!(
                    "{waiting} Pending claim(s) wait for a first consumer on an existing class; none names a missing class"
                )
            } else {
                format!("{} claim(s), none Pending on a missing class", claims.len())
            };
            return finding;
        }
        let suggested = classes.first().cloned();
        finding.status = Status::Fail;
        finding.scope = context.scope(apps);
        finding.summary = broken
            .iter()
            .map(|(claim, class)| {
                if class.is_empty() {
                    format!(
                        "PVC `{}` Pending: no class and no default class",
                        claim.name()
                    )
                } else {
                    format!(
                        "PVC `{}` Pending on missing StorageClass `{class}`",
                        claim.name()
                    )
                }
            })
            .collect::<Vec<_>>()
            .join("; ");
        finding
            .summary
            .push_str(&format!(" (classes: {})", or_none(&classes_text)));
        finding.fix = Some(match &suggested {
            Some(class) => format!(
                "re-create {} with storageClassName `{class}`, same name and size (the class is immutable: export, delete, apply)",
                broken
                    .iter()
                    .map(|(c, _)| format!("`{}`", c.name()))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            None => "create a StorageClass (none exists), then re-create the claim".to_string(),
        });
        finding.detail("classes", &classes);
        finding.detail("suggestedClass", &suggested);
        finding.detail(
            "claims",
            broken
                .iter()
                .map(|(c, class)| (c.name(), class.as_str()))
                .collect::<std::collections::BTreeMap<_, _>>(),
        );
        finding
    }
}

fn or_none(text: &str) -> &str {
    if text.is_empty() { "none" } else { text }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::Scope;
    use crate::signals::test_support::evaluate;

    const CLASS: &str = "apiVersion: storage.k8s.io/v1\nkind: StorageClass\nmetadata:\n  name: local-path\n  annotations: {storageclass.kubernetes.io/is-default-class: \"true\"}\nprovisioner: rancher.io/local-path\nvolumeBindingMode: WaitForFirstConsumer\n";

    fn claim(name: &str, class: &str) -> String {
        format!(
            "---\napiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {{name: {name}, namespace: app, labels: {{app.kubernetes.io/name: web}}}}\nspec: {{storageClassName: {class}, accessModes: [ReadWriteOnce], resources: {{requests: {{storage: 1Gi}}}}}}\nstatus: {{phase: Pending}}\n"
        )
    }

    #[test]
    fn pending_on_a_missing_class_fails_and_names_the_classes() {
        let text = format!(
            "{CLASS}{}---\napiVersion: v1\nkind: Event\nmetadata: {{name: e, namespace: app}}\ninvolvedObject: {{kind: PersistentVolumeClaim, name: data, namespace: app}}\nreason: ProvisioningFailed\ntype: Warning\ncount: 12\nmessage: 'storageclass.storage.k8s.io \"fast-ssd\" not found'\n",
            claim("data", "fast-ssd")
        );
        let finding = evaluate(&Pvc, &text, "app");
        assert_eq!(finding.status, Status::Fail);
        assert!(finding.summary.contains("missing StorageClass `fast-ssd`"));
        assert!(finding.summary.contains("local-path (default)"));
        assert_eq!(finding.details["suggestedClass"], "local-path");
        // No pod of app `web` is in the snapshot: the claim holds back the namespace.
        assert_eq!(finding.scope, Scope::Namespace);
        assert!(
            finding
                .evidence
                .iter()
                .any(|e| matches!(e, Evidence::Event { count: 12, .. }))
        );
    }

    #[test]
    fn look_alike_pending_on_an_existing_wait_for_first_consumer_class_is_healthy() {
        let finding = evaluate(
            &Pvc,
            &format!("{CLASS}{}", claim("cache", "local-path")),
            "app",
        );
        assert_eq!(finding.status, Status::Ok, "{finding:?}");
        assert!(finding.summary.contains("wait for a first consumer"));
    }
}
