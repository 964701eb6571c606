//! StorageClass facts shared by inventory, the `pvc` signal and its repair.

use k8s_openapi::api::storage::v1::StorageClass;

/// Annotations that mark the cluster's default class (the beta one is still honoured).
const DEFAULT_CLASS_ANNOTATIONS: [&str; 2] = [
    "storageclass.kubernetes.io/is-default-class",
    "storageclass.beta.kubernetes.io/is-default-class",
];

pub fn is_default_class(class: &StorageClass) -> bool {
    class
        .metadata
        .annotations
        .as_ref()
        .is_some_and(|annotations| {
            DEFAULT_CLASS_ANNOTATIONS
                .iter()
                .any(|key| annotations.get(*key).is_some_and(|v| v == "true"))
        })
}

/// Class names, the default first, then by name.
pub fn class_names_default_first(classes: &[StorageClass]) -> Vec<String> {
    let mut sorted: Vec<&StorageClass> = classes.iter().collect();
    sorted.sort_by_key(|c| (!is_default_class(c), c.metadata.name.clone()));
    sorted
        .into_iter()
        .filter_map(|c| c.metadata.name.clone())
        .collect()
}

/// Annotations that tie a claim to a node or a provisioner's earlier attempt; a
/// recreated claim must not carry them, or it would wait for the old binding.
pub const BINDING_ANNOTATIONS: [&str; 5] = [
    "pv.kubernetes.io/bind-completed",
    "pv.kubernetes.io/bound-by-controller",
    "volume.kubernetes.io/selected-node",
    "volume.kubernetes.io/storage-provisioner",
    "volume.beta.kubernetes.io/storage-provisioner",
];
