//! The thin Kubernetes I/O layer: connecting with kubectl's flags and listing a
//! namespace into a [`Snapshot`]. Everything that talks to an API server for reading
//! lives here; nothing here decides what is healthy.

use std::path::{Path, PathBuf};
use std::time::Duration;

use futures::future::join_all;
use http::header::{HeaderValue, USER_AGENT};
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::{
    ConfigMap, Event, LimitRange, Namespace, PersistentVolume, PersistentVolumeClaim, Pod,
    ResourceQuota, Service, ServiceAccount,
};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::api::networking::v1::NetworkPolicy;
use k8s_openapi::api::rbac::v1::{ClusterRole, Role, RoleBinding};
use k8s_openapi::api::storage::v1::StorageClass;
use kube::api::{Api, ApiResource, DynamicObject, ListParams, LogParams};
use kube::client::ClientBuilder;
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};

use crate::cli::GlobalArgs;
use crate::error::TriageError;
use crate::logs;
use crate::snapshot::{self, ContainerLog, Gap, Kind, LogGap, RawObject, Snapshot};

pub mod all_namespaces;
pub mod api;
#[cfg(test)]
pub mod fake;
pub mod port_forward;
pub mod retry;
pub mod write;

/// Sent on every request so audit logs can attribute triage's actions.
pub const USER_AGENT_VALUE: &str = concat!("triage/", env!("CARGO_PKG_VERSION"));

/// Page size for LIST requests: large enough for one round trip on most namespaces,
/// small enough to keep any single response bounded.
const PAGE_SIZE: u32 = 500;

/// At most this much of one container's log: 20 lines, even long ones, fit easily.
const LOG_LIMIT_BYTES: i64 = 256 * 1024;

/// A connection to one cluster, with the names a responder needs to see.
pub struct Cluster {
    pub client: Client,
    pub context: String,
    pub user: String,
    pub server: String,
    pub default_namespace: String,
    pub timeout: Option<Duration>,
    /// `-v`: say on stderr what was listed and how long it took; `-vv`: per kind.
    pub verbose: u8,
    /// The cluster DNS Service read beside the namespace (`kube-system`, `kube-dns`
    /// unless the profile names another), for the `egress` signal.
    pub dns: (String, String),
}

/// Connects with kubectl's rules: `--kubeconfig`/`KUBECONFIG` (colon-separated files
/// merged), else `~/.kube/config`; `--context`; `--as`/`--as-group`.
pub async fn connect(global: &GlobalArgs) -> Result<Cluster, TriageError> {
    let kubeconfig = read_kubeconfig(global.kubeconfig.as_deref())?;
    let context = global
        .context
        .clone()
        .or_else(|| kubeconfig.current_context.clone())
        .ok_or_else(|| {
            TriageError::usage(
                "the kubeconfig has no current-context",
                Some("pass --context NAME".to_string()),
            )
        })?;
    let user = kubeconfig
        .contexts
        .iter()
        .find(|c| c.name == context)
        .and_then(|c| c.context.as_ref())
        .and_then(|c| c.user.clone())
        .unwrap_or_else(|| "<none>".to_string());
    let options = KubeConfigOptions {
        context: Some(context.clone()),
        ..KubeConfigOptions::default()
    };
    let mut config = Config::from_custom_kubeconfig(kubeconfig, &options)
        .await
        .map_err(|err| {
            TriageError::usage(
                format!("cannot use kubeconfig context `{context}`: {err}"),
                Some("check `kubectl config get-contexts` and --context".to_string()),
            )
        })?;
    if let Some(as_user) = &global.as_user {
        config.auth_info.impersonate = Some(as_user.clone());
    }
    if !global.as_group.is_empty() {
        config.auth_info.impersonate_groups = Some(global.as_group.clone());
    }
    let timeout = global.request_timeout.0;
    config.connect_timeout = timeout;
    config.read_timeout = timeout;
    config.write_timeout = timeout;
    config
        .headers
        .push((USER_AGENT, HeaderValue::from_static(USER_AGENT_VALUE)));
    let server = config.cluster_url.to_string();
    let default_namespace = config.default_namespace.clone();
    // NB: kube retries 429/503/504 of any request by default, writes included;
    // triage's own policy (`retry.rs`) replaces it: bounded, and never a repeat of a
    // write without a precondition.
    config.default_retry = false;
    let client = ClientBuilder::try_from(config)
        .map_err(|err| {
            TriageError::unreachable(
                format!("cannot set up a client for `{server}`: {err}"),
                Some("check the certificate data in the kubeconfig".to_string()),
            )
        })?
        // The retry layer clones the service per attempt: a buffer makes it cloneable.
        .with_layer(&tower::buffer::BufferLayer::new(1024))
        .with_layer(&tower::retry::RetryLayer::new(retry::RetryPolicy::new(
            timeout,
        )))
        .build();
    let user = global
        .as_user
        .clone()
        .map_or(user, |as_user| format!("{as_user} (impersonated)"));
    Ok(Cluster {
        client,
        context,
        user,
        server,
        default_namespace,
        timeout,
        verbose: global.verbose,
        dns: ("kube-system".to_string(), "kube-dns".to_string()),
    })
}

fn read_kubeconfig(explicit: Option<&Path>) -> Result<Kubeconfig, TriageError> {
    let paths: Vec<PathBuf> = match explicit {
        Some(paths) => std::env::split_paths(paths)
            .filter(|p| !p.as_os_str().is_empty())
            .collect(),
        None => home_kubeconfig().into_iter().collect(),
    };
    let existing: Vec<&PathBuf> = paths.iter().filter(|p| p.exists()).collect();
    if existing.is_empty() {
        let looked = paths
            .iter()
            .map(|p| format!("`{}`", p.display()))
            .collect::<Vec<_>>()
            .join(", ");
        return Err(TriageError::unreachable(
            format!(
                "no kubeconfig found (looked at {})",
                if looked.is_empty() {
                    "nothing".into()
                } else {
                    looked
                }
            ),
            Some(
                "pass --kubeconfig FILE, set KUBECONFIG, or work offline with --snapshot FILE"
                    .to_string(),
            ),
        ));
    }
    let mut merged: Option<Kubeconfig> = None;
    for path in existing {
        let next = Kubeconfig::read_from(path).map_err(|err| {
            TriageError::input(
                format!("kubeconfig `{}` cannot be read: {err}", path.display()),
                Some("fix the file or pass another with --kubeconfig".to_string()),
            )
        })?;
        merged = Some(match merged {
            None => next,
            Some(first) => first.merge(next).map_err(|err| {
                TriageError::input(format!("kubeconfig files cannot be merged: {err}"), None)
            })?,
        });
    }
    merged.ok_or_else(|| TriageError::unreachable("no kubeconfig found", None))
}

fn home_kubeconfig() -> Option<PathBuf> {
    std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".kube").join("config"))
}

/// What the API server told us, sorted into the cases a responder acts on differently.
pub fn classify(error: &kube::Error, server: &str, what: &str) -> TriageError {
    match error {
        kube::Error::Api(status) => classify_status(status, server, what),
        other => TriageError::unreachable(
            format!(
                "cannot reach `{server}` while {what}: {}",
                kube_error_text(other)
            ),
            Some("check the network, --context and the server's certificate".to_string()),
        ),
    }
}

/// An API server's refusal (its `Status`) as the error the user sees; the live client
/// and the test fake both go through here, so they classify alike.
pub fn classify_status(status: &kube::core::Status, server: &str, what: &str) -> TriageError {
    match status {
        status if status.code == 401 => TriageError::unreachable(
            format!(
                "`{server}` rejected the credentials while {what}: {}",
                status.message
            ),
            Some("log in again or refresh the token in the kubeconfig".to_string()),
        ),
        status if status.code == 403 => TriageError::forbidden(
            format!("forbidden while {what}: {}", status.message),
            Some(
                "ask for read access to the namespace, or use --as with a permitted user"
                    .to_string(),
            ),
        ),
        // NB: a 409 is also AlreadyExists on a create (reason `AlreadyExists`, not
        // `Conflict`): nobody changed what triage read, a name is taken. Read the
        // structured reason, never the message.
        status if status.code == 409 && status.is_already_exists() => TriageError::Refused {
            what: what.to_string(),
            status: Box::new(status.clone()),
            hint: Some(
                "another writer created it; run `triage check` to see the namespace as it is now"
                    .to_string(),
            ),
        },
        // NB: a failed JSON-patch `test` (our resourceVersion guard) is a bare 422,
        // not told apart here: the executor reads the object again (`patch_guarded`).
        status if status.code == 409 => TriageError::Conflict {
            message: format!("conflict while {what}: {}", status.message),
        },
        status => TriageError::Refused {
            what: what.to_string(),
            status: Box::new(status.clone()),
            hint: None,
        },
    }
}

/// A kube error in words: an API refusal as its message and code (kube's own Display
/// appends the whole `Status { ... }` in Debug form), anything else with its causes.
pub fn kube_error_text(error: &kube::Error) -> String {
    match error {
        kube::Error::Api(status) => {
            let message = if status.message.is_empty() {
                status.reason.as_str()
            } else {
                status.message.as_str()
            };
            format!("{message} ({})", status.code)
        }
        other => error_chain(other),
    }
}

/// An error and all its sources on one line (hyper hides the useful part in sources).
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let next = cause.to_string();
        if !text.contains(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        source = cause.source();
    }
    text
}

pub(crate) fn api_resource(kind: Kind) -> ApiResource {
    match kind {
        Kind::Pod => ApiResource::erase::<Pod>(&()),
        Kind::Job => ApiResource::erase::<Job>(&()),
        Kind::CronJob => ApiResource::erase::<CronJob>(&()),
        Kind::PersistentVolumeClaim => ApiResource::erase::<PersistentVolumeClaim>(&()),
        Kind::ResourceQuota => ApiResource::erase::<ResourceQuota>(&()),
        Kind::NetworkPolicy => ApiResource::erase::<NetworkPolicy>(&()),
        Kind::RoleBinding => ApiResource::erase::<RoleBinding>(&()),
        Kind::Role => ApiResource::erase::<Role>(&()),
        Kind::ConfigMap => ApiResource::erase::<ConfigMap>(&()),
        Kind::Deployment => ApiResource::erase::<Deployment>(&()),
        Kind::StatefulSet => ApiResource::erase::<StatefulSet>(&()),
        Kind::DaemonSet => ApiResource::erase::<DaemonSet>(&()),
        Kind::ReplicaSet => ApiResource::erase::<ReplicaSet>(&()),
        Kind::Service => ApiResource::erase::<Service>(&()),
        Kind::EndpointSlice => ApiResource::erase::<EndpointSlice>(&()),
        Kind::ServiceAccount => ApiResource::erase::<ServiceAccount>(&()),
        Kind::LimitRange => ApiResource::erase::<LimitRange>(&()),
        Kind::Event => ApiResource::erase::<Event>(&()),
        Kind::StorageClass => ApiResource::erase::<StorageClass>(&()),
        Kind::PersistentVolume => ApiResource::erase::<PersistentVolume>(&()),
        Kind::ClusterRole => ApiResource::erase::<ClusterRole>(&()),
    }
}

/// Every page of one kind's LIST, each page decoded straight into typed objects and
/// made lean ([`snapshot::lean`]) as it arrives, so a page's JSON is gone before the
/// next one is read. Pages reuse the client's pooled connection.
async fn list_pages<K>(api: Api<K>, kind: Kind) -> Result<Vec<K>, kube::Error>
where
    K: kube::Resource<DynamicType = ()> + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    let mut items = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut params = ListParams::default().limit(PAGE_SIZE);
        if let Some(token) = token.take() {
            params = params.continue_token(&token);
        }
        let page = api.list(&params).await?;
        items.extend(page.items.into_iter().map(|mut item| {
            snapshot::lean(item.meta_mut(), kind);
            item
        }));
        match page.metadata.continue_ {
            Some(next) if !next.is_empty() => token = Some(next),
            _ => break,
        }
    }
    Ok(items)
}

/// One kind of `namespace`, or of every namespace when `None` (cluster-scoped kinds:
/// all of them), listed into a snapshot of its own.
async fn list_kind(
    client: &Client,
    namespace: Option<&str>,
    kind: Kind,
) -> Result<Snapshot, kube::Error> {
    fn at<K>(client: &Client, namespace: Option<&str>) -> Api<K>
    where
        K: kube::Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>,
    {
        match namespace {
            Some(namespace) => Api::namespaced(client.clone(), namespace),
            None => Api::all(client.clone()),
        }
    }
    let c = client;
    let ns = namespace;
    let mut part = Snapshot::default();
    match kind {
        Kind::Pod => part.pods = list_pages(at(c, ns), kind).await?,
        Kind::Job => part.jobs = list_pages(at(c, ns), kind).await?,
        Kind::CronJob => part.cron_jobs = list_pages(at(c, ns), kind).await?,
        Kind::PersistentVolumeClaim => {
            part.persistent_volume_claims = list_pages(at(c, ns), kind).await?;
        }
        Kind::ResourceQuota => part.resource_quotas = list_pages(at(c, ns), kind).await?,
        Kind::NetworkPolicy => part.network_policies = list_pages(at(c, ns), kind).await?,
        Kind::RoleBinding => part.role_bindings = list_pages(at(c, ns), kind).await?,
        Kind::Role => part.roles = list_pages(at(c, ns), kind).await?,
        Kind::ConfigMap => part.config_maps = list_pages(at(c, ns), kind).await?,
        Kind::Deployment => part.deployments = list_pages(at(c, ns), kind).await?,
        Kind::StatefulSet => part.stateful_sets = list_pages(at(c, ns), kind).await?,
        Kind::DaemonSet => part.daemon_sets = list_pages(at(c, ns), kind).await?,
        Kind::ReplicaSet => part.replica_sets = list_pages(at(c, ns), kind).await?,
        Kind::Service => part.services = list_pages(at(c, ns), kind).await?,
        Kind::EndpointSlice => part.endpoint_slices = list_pages(at(c, ns), kind).await?,
        Kind::ServiceAccount => part.service_accounts = list_pages(at(c, ns), kind).await?,
        Kind::LimitRange => part.limit_ranges = list_pages(at(c, ns), kind).await?,
        Kind::Event => part.events = list_pages(at(c, ns), kind).await?,
        Kind::StorageClass => {
            part.storage_classes = list_pages(Api::all(c.clone()), kind).await?;
        }
        Kind::PersistentVolume => {
            part.persistent_volumes = list_pages(Api::all(c.clone()), kind).await?;
        }
        Kind::ClusterRole => part.cluster_roles = list_pages(Api::all(c.clone()), kind).await?,
    }
    Ok(part)
}

impl Cluster {
    /// Lists every kind of `namespace` concurrently (one round of paginated LISTs)
    /// under one deadline. A kind the user may not list becomes a gap; the rest loads.
    pub async fn load(
        &self,
        namespace: &str,
        extra_config_maps: &[(String, String)],
    ) -> Result<Snapshot, TriageError> {
        let started = std::time::Instant::now();
        let work = self.load_unbounded(namespace, extra_config_maps);
        match self.timeout {
            Some(limit) => tokio::time::timeout(limit, work).await.unwrap_or_else(|_| {
                Err(TriageError::unreachable(
                    format!(
                        "`{}` did not answer within {}s",
                        self.server,
                        limit.as_secs()
                    ),
                    Some("raise --request-timeout or check the network".to_string()),
                ))
            }),
            None => work.await,
        }
        .inspect(|snapshot| self.report_load(namespace, snapshot, started.elapsed()))
    }

    /// [`Cluster::load`], then the last `tail_lines` lines of the logs of the containers
    /// [`logs::select`] picks, fetched concurrently before the same deadline. A log
    /// that cannot be read (403 on `pods/log`, no kubelet, the deadline) becomes a
    /// named gap in the snapshot, never an error of the command.
    pub async fn load_with_logs(
        &self,
        namespace: &str,
        extra_config_maps: &[(String, String)],
        tail_lines: u32,
    ) -> Result<Snapshot, TriageError> {
        let deadline = self
            .timeout
            .map(|limit| tokio::time::Instant::now() + limit);
        let mut snapshot = self.load(namespace, extra_config_maps).await?;
        if tail_lines > 0 {
            let started = std::time::Instant::now();
            self.fetch_logs(&mut snapshot, namespace, tail_lines, deadline)
                .await;
            if self.verbose > 0 {
                eprintln!(
                    "triage: fetched the logs of {} containers in namespace `{namespace}`, {} not readable, {} ms",
                    snapshot.logs.len() + snapshot.log_gaps.len(),
                    snapshot.log_gaps.len(),
                    started.elapsed().as_millis()
                );
            }
        }
        Ok(snapshot)
    }

    /// `GET pods/NAME/log?container=C&previous=P&tailLines=N` for each chosen container,
    /// all at once (kubectl logs, one request each).
    /// https://kubernetes.io/docs/reference/kubernetes-api/workload-resources/pod-v1/#get-read-log-of-the-specified-pod
    async fn fetch_logs(
        &self,
        snapshot: &mut Snapshot,
        namespace: &str,
        tail_lines: u32,
        deadline: Option<tokio::time::Instant>,
    ) {
        let selection = logs::select(snapshot, namespace, logs::MAX_CONTAINERS);
        let fetches = selection.wanted.into_iter().map(|source| async move {
            let api: Api<Pod> = Api::namespaced(self.client.clone(), &source.namespace);
            let params = LogParams {
                container: Some(source.container.clone()),
                previous: source.previous,
                tail_lines: Some(i64::from(tail_lines)),
                // NB: a program can write one enormous line; tailLines alone does not
                // bound the answer.
                limit_bytes: Some(LOG_LIMIT_BYTES),
                ..LogParams::default()
            };
            let request = api.logs(&source.pod, &params);
            let answer = match deadline {
                Some(at) => tokio::time::timeout_at(at, request).await.ok(),
                None => Some(request.await),
            };
            let result = match answer {
                Some(Ok(text)) => Ok(logs::split_lines(&text, tail_lines)),
                Some(Err(kube::Error::Api(status))) if status.code == 403 => {
                    Err(Gap::Forbidden(status.message.clone()))
                }
                Some(Err(kube::Error::Api(status))) => {
                    Err(Gap::Failed(format!("{} ({})", status.message, status.code)))
                }
                Some(Err(other)) => Err(Gap::Failed(error_chain(&other))),
                None => Err(Gap::Failed(
                    "no answer within --request-timeout".to_string(),
                )),
            };
            (source, result)
        });
        for (source, result) in join_all(fetches).await {
            match result {
                Ok(lines) => snapshot.logs.push(ContainerLog { source, lines }),
                Err(gap) => snapshot.log_gaps.push(LogGap { source, gap }),
            }
        }
    }

    fn report_load(&self, namespace: &str, snapshot: &Snapshot, took: Duration) {
        if self.verbose == 0 {
            return;
        }
        let objects = snapshot.all_meta().count();
        eprintln!(
            "triage: listed {} kinds in namespace `{namespace}` on `{}` as `{}`: {objects} objects, {} not readable, {} ms",
            // ClusterRoles are read one by one, not listed.
            Kind::ALL.len() - 1,
            self.server,
            self.user,
            snapshot.gaps.len(),
            took.as_millis()
        );
        if self.verbose >= 2 {
            for kind in Kind::ALL {
                let count = snapshot.all_meta().filter(|(k, _)| *k == kind).count();
                let gap = snapshot
                    .gaps
                    .get(&kind)
                    .map(|g| format!(" ({g:?})"))
                    .unwrap_or_default();
                eprintln!("triage:   {:<24} {count}{gap}", kind.plural());
            }
        }
    }

    /// One round of requests, all at once: the namespace's existence, every kind's
    /// paginated LIST, the extra ConfigMaps and the cluster DNS Service. Nothing waits
    /// for anything but what it needs (the ClusterRoles its RoleBindings name wait for
    /// the RoleBinding LIST only).
    async fn load_unbounded(
        &self,
        namespace: &str,
        extra_config_maps: &[(String, String)],
    ) -> Result<Snapshot, TriageError> {
        let mut snapshot = Snapshot {
            captured_at: Some(jiff::Timestamp::now()),
            ..Snapshot::default()
        };
        // NB: a LIST in a namespace that does not exist answers an empty list, not 404:
        // the GET tells a typo from an empty namespace. It runs beside the LISTs.
        let namespaces: Api<Namespace> = Api::all(self.client.clone());
        let exists = namespaces.get(namespace);
        // NB: ClusterRoles are never listed (a namespace's reader rarely may, and most
        // are irrelevant); the ones its RoleBindings reference are read one by one as
        // soon as the RoleBindings are in.
        let lists = Kind::ALL
            .into_iter()
            .filter(|k| *k != Kind::ClusterRole)
            .map(|kind| async move {
                let listed = list_kind(&self.client, Some(namespace), kind).await;
                let cluster_roles = match &listed {
                    Ok(part) if kind == Kind::RoleBinding => {
                        Some(self.load_cluster_roles(part, namespace).await)
                    }
                    _ => None,
                };
                (kind, listed, cluster_roles)
            });
        let extras = extra_config_maps.iter().map(|(ns, name)| async move {
            let api: Api<ConfigMap> = Api::namespaced(self.client.clone(), ns);
            (ns, name, api.get_opt(name).await)
        });
        let (dns_namespace, dns_service) = &self.dns;
        let dns = async {
            if dns_namespace == namespace {
                None
            } else {
                Some(self.read_dns(dns_namespace, dns_service).await)
            }
        };
        let (exists, lists, extras, dns) =
            futures::join!(exists, join_all(lists), join_all(extras), dns);

        match exists {
            Ok(object) => snapshot.other.push(RawObject {
                api_version: "v1".into(),
                kind: "Namespace".into(),
                namespace: None,
                name: namespace.to_string(),
                object: namespace_json(object),
            }),
            Err(kube::Error::Api(status)) if status.code == 404 => {
                return Err(TriageError::UnknownNamespace {
                    namespace: namespace.to_string(),
                    where_: format!(
                        "does not exist on `{}` (context `{}`)",
                        self.server, self.context
                    ),
                    hint: Some("check the name with `kubectl get namespaces`".to_string()),
                });
            }
            // Limited users often may not GET the namespace object: carry on listing.
            Err(kube::Error::Api(status)) if status.code == 403 => {}
            Err(other) => {
                return Err(classify(
                    &other,
                    &self.server,
                    &format!("reading namespace `{namespace}`"),
                ));
            }
        }

        let mut cluster_roles = Snapshot::default();
        for (kind, result, roles) in lists {
            match result {
                Ok(part) => snapshot.absorb(part),
                Err(kube::Error::Api(status)) if status.code == 403 => {
                    snapshot
                        .gaps
                        .insert(kind, Gap::Forbidden(status.message.clone()));
                }
                Err(kube::Error::Api(status)) if status.code != 401 => {
                    snapshot.gaps.insert(
                        kind,
                        Gap::Failed(format!("{} ({})", status.message, status.code)),
                    );
                }
                Err(kube::Error::SerdeError(err)) => {
                    return Err(TriageError::input(
                        format!("the server sent a malformed {}: {err}", kind.name()),
                        None,
                    ));
                }
                Err(other) => {
                    return Err(classify(
                        &other,
                        &self.server,
                        &format!("listing {}", kind.plural()),
                    ));
                }
            }
            if let Some(roles) = roles {
                cluster_roles.absorb(roles?);
            }
        }
        // PersistentVolumes are listed cluster-wide once; only this namespace's stay.
        let claims = crate::snapshot::in_namespace(&snapshot.persistent_volume_claims, namespace);
        let volumes = std::mem::take(&mut snapshot.persistent_volumes);
        snapshot.persistent_volumes = volumes
            .into_iter()
            .filter(|v| crate::k8s::volume_binding::relevant_to(v, &claims, namespace))
            .collect();
        let namespaced_kinds = Kind::ALL.iter().filter(|k| k.namespaced()).count();
        let forbidden = snapshot
            .gaps
            .iter()
            .filter(|(kind, gap)| kind.namespaced() && matches!(gap, Gap::Forbidden(_)))
            .count();
        if forbidden == namespaced_kinds {
            return Err(TriageError::forbidden(
                format!(
                    "user `{}` may not list anything in namespace `{namespace}` (context `{}`)",
                    self.user, self.context
                ),
                Some("ask for read access, or use --as with a permitted user".to_string()),
            ));
        }
        snapshot.absorb(cluster_roles);
        if let Some(dns) = dns {
            snapshot.absorb(dns);
        }
        for (ns, name, result) in extras {
            match result {
                Ok(Some(config_map)) => snapshot.config_maps.push(config_map),
                Ok(None) => {}
                Err(kube::Error::Api(status)) if status.code == 403 => {}
                Err(other) => {
                    return Err(classify(
                        &other,
                        &self.server,
                        &format!("reading configmap `{ns}/{name}`"),
                    ));
                }
            }
        }
        Ok(snapshot)
    }
}

impl Cluster {
    /// Waits until `done` holds for the ConfigMap `namespace/name` (None while it does
    /// not exist), or `limit` runs out: one LIST for the current object and its
    /// resourceVersion, then a WATCH from there (the list-then-watch of
    /// https://kubernetes.io/docs/reference/using-api/api-concepts/#efficient-detection-of-changes),
    /// re-listed when the server ends the watch or answers 410 Gone (the version is too
    /// old). `done` is called on every version seen, in order; `seen` on each too, for a
    /// spinner. The wait half of kube-runtime's `await_condition`, without the
    /// dependency. Returns whether `done` held, and the last version seen.
    pub async fn wait_for_config_map(
        &self,
        namespace: &str,
        name: &str,
        limit: Duration,
        done: &dyn Fn(Option<&ConfigMap>) -> bool,
        seen: &dyn Fn(Option<&ConfigMap>),
    ) -> Result<(bool, Option<ConfigMap>), TriageError> {
        use futures::{StreamExt, TryStreamExt};
        use kube::api::{WatchEvent, WatchParams};

        let api: Api<ConfigMap> = Api::namespaced(self.client.clone(), namespace);
        let field = format!("metadata.name={name}");
        let what = format!("watching configmap {namespace}/{name}");
        let mut last: Option<ConfigMap> = None;
        let work = async {
            loop {
                let list = api
                    .list(&ListParams::default().fields(&field))
                    .await
                    .map_err(|e| classify(&e, &self.server, &what))?;
                last = list.items.into_iter().next();
                seen(last.as_ref());
                if done(last.as_ref()) {
                    return Ok::<bool, TriageError>(true);
                }
                let version = list.metadata.resource_version.unwrap_or_default();
                // The server closes a watch after timeoutSeconds; then list again.
                let params = WatchParams::default().fields(&field).timeout(60);
                let mut events = api
                    .watch(&params, &version)
                    .await
                    .map_err(|e| classify(&e, &self.server, &what))?
                    .boxed();
                while let Some(event) = events
                    .try_next()
                    .await
                    .map_err(|e| classify(&e, &self.server, &what))?
                {
                    match event {
                        WatchEvent::Added(cm) | WatchEvent::Modified(cm) => last = Some(cm),
                        WatchEvent::Deleted(_) => last = None,
                        WatchEvent::Bookmark(_) => continue,
                        // 410 Gone and other in-stream errors: start over with a LIST.
                        WatchEvent::Error(_) => break,
                    }
                    seen(last.as_ref());
                    if done(last.as_ref()) {
                        return Ok(true);
                    }
                }
            }
        };
        let met = match tokio::time::timeout(limit, work).await {
            Ok(result) => result?,
            Err(_) => false,
        };
        Ok((met, last))
    }

    /// Waits for the first change to an object `check` reads in `namespace` (and to the
    /// ConfigMaps of `config_map_namespaces`, where a profile's status ConfigMap
    /// lives), then `debounce` more so a burst of events (a rollout touches a
    /// Deployment, a ReplicaSet and pods) becomes one re-evaluation. Per kind a LIST of
    /// one item for the collection's resourceVersion, then a WATCH from it, so objects
    /// that already exist are not reported as added. A kind that may not be listed or
    /// watched (403) is left out; Events are left out (they change constantly and
    /// change no signal on their own). Returns the kind that changed.
    pub async fn wait_for_change(
        &self,
        namespace: &str,
        config_map_namespaces: &[String],
        debounce: Duration,
    ) -> Result<&'static str, TriageError> {
        use futures::FutureExt;
        use futures::future::{BoxFuture, select_all};

        // What the signals read, Events and cluster-scoped kinds aside.
        const WATCHED: [Kind; 11] = [
            Kind::Pod,
            Kind::Job,
            Kind::Deployment,
            Kind::StatefulSet,
            Kind::DaemonSet,
            Kind::PersistentVolumeClaim,
            Kind::ResourceQuota,
            Kind::NetworkPolicy,
            Kind::RoleBinding,
            Kind::Service,
            Kind::EndpointSlice,
        ];
        let watch =
            |kind: Kind, namespace: &str| -> BoxFuture<'_, Result<&'static str, TriageError>> {
                let api = Api::<DynamicObject>::namespaced_with(
                    self.client.clone(),
                    namespace,
                    &api_resource(kind),
                );
                self.first_change(api, kind.name()).boxed()
            };
        let mut watches: Vec<BoxFuture<'_, Result<&'static str, TriageError>>> =
            WATCHED.iter().map(|&kind| watch(kind, namespace)).collect();
        let mut cm_namespaces = vec![namespace.to_string()];
        cm_namespaces.extend(config_map_namespaces.iter().cloned());
        cm_namespaces.sort();
        cm_namespaces.dedup();
        for n in &cm_namespaces {
            watches.push(watch(Kind::ConfigMap, n));
        }
        let (changed, _, _) = select_all(watches).await;
        let kind = changed?;
        tokio::time::sleep(debounce).await;
        Ok(kind)
    }

    /// The first added, modified or deleted object of `api` from now on; never returns
    /// when the kind may not be watched (403/404: the wait goes on with the others).
    async fn first_change<K>(
        &self,
        api: Api<K>,
        kind: &'static str,
    ) -> Result<&'static str, TriageError>
    where
        K: kube::Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug + Send + 'static,
    {
        use futures::{StreamExt, TryStreamExt};
        use kube::api::{WatchEvent, WatchParams};

        let what = format!("watching {kind}s");
        let skip =
            |e: &kube::Error| matches!(e, kube::Error::Api(s) if s.code == 403 || s.code == 404);
        loop {
            let version = match api.list(&ListParams::default().limit(1)).await {
                Ok(list) => list.metadata.resource_version.unwrap_or_default(),
                Err(e) if skip(&e) => return futures::future::pending().await,
                Err(e) => return Err(classify(&e, &self.server, &what)),
            };
            let mut events = match api
                .watch(&WatchParams::default().timeout(290), &version)
                .await
            {
                Ok(events) => events.boxed(),
                Err(e) if skip(&e) => return futures::future::pending().await,
                Err(e) => return Err(classify(&e, &self.server, &what)),
            };
            while let Some(event) = events
                .try_next()
                .await
                .map_err(|e| classify(&e, &self.server, &what))?
            {
                match event {
                    WatchEvent::Added(_) | WatchEvent::Modified(_) | WatchEvent::Deleted(_) => {
                        return Ok(kind);
                    }
                    WatchEvent::Bookmark(_) => {}
                    // 410 Gone: list again for a fresh version.
                    WatchEvent::Error(_) => break,
                }
            }
        }
    }

    /// GETs every ClusterRole a RoleBinding of `namespace` references, so `rbac` can
    /// evaluate the binding offline too (https://kubernetes.io/docs/reference/access-authn-authz/rbac/#rolebinding-and-clusterrolebinding:
    /// a RoleBinding may reference a ClusterRole to grant its rules in the namespace).
    /// A refusal is recorded as a gap, never fatal.
    async fn load_cluster_roles(
        &self,
        listed: &Snapshot,
        namespace: &str,
    ) -> Result<Snapshot, TriageError> {
        let mut names: Vec<String> = listed
            .role_bindings
            .iter()
            .filter(|b| b.metadata.namespace.as_deref() == Some(namespace))
            .filter(|b| b.role_ref.kind == "ClusterRole")
            .map(|b| b.role_ref.name.clone())
            .collect();
        names.sort();
        names.dedup();
        let api: Api<ClusterRole> = Api::all(self.client.clone());
        let reads = names.iter().map(|name| {
            let api = api.clone();
            async move { (name, api.get_opt(name).await) }
        });
        let mut part = Snapshot::default();
        for (name, result) in join_all(reads).await {
            match result {
                Ok(Some(mut role)) => {
                    snapshot::lean(&mut role.metadata, Kind::ClusterRole);
                    part.cluster_roles.push(role);
                }
                Ok(None) => {}
                Err(kube::Error::Api(status)) if status.code == 403 => {
                    part.gaps
                        .insert(Kind::ClusterRole, Gap::Forbidden(status.message.clone()));
                }
                Err(kube::Error::Api(status)) if status.code != 401 => {
                    part.gaps.insert(
                        Kind::ClusterRole,
                        Gap::Failed(format!("{} ({})", status.message, status.code)),
                    );
                }
                Err(other) => {
                    return Err(classify(
                        &other,
                        &self.server,
                        &format!("reading clusterrole `{name}`"),
                    ));
                }
            }
        }
        Ok(part)
    }

    /// The cluster DNS Service, the pods it selects and its namespace (for their
    /// labels), read so `egress` judges DNS the way this cluster defines it. Never an
    /// error: what cannot be read is a named gap, and `egress` states its assumption.
    async fn read_dns(&self, namespace: &str, name: &str) -> Snapshot {
        let mut snapshot = Snapshot::default();
        let gap = |error: kube::Error| match error {
            kube::Error::Api(status) if status.code == 403 => Gap::Forbidden(status.message),
            other => Gap::Failed(error_chain(&other)),
        };
        let services: Api<Service> = Api::namespaced(self.client.clone(), namespace);
        let namespaces: Api<Namespace> = Api::all(self.client.clone());
        // The namespace (for its labels) beside the Service, not after it.
        let (service, dns_namespace) =
            futures::join!(services.get_opt(name), namespaces.get(namespace));
        let service = match service {
            Ok(Some(service)) => service,
            Ok(None) => return snapshot,
            Err(error) => {
                snapshot
                    .object_gaps
                    .insert(format!("service {namespace}/{name}"), gap(error));
                return snapshot;
            }
        };
        let selector: Vec<String> = service
            .spec
            .as_ref()
            .and_then(|s| s.selector.as_ref())
            .into_iter()
            .flatten()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        snapshot.services.push(service);
        if !selector.is_empty() {
            let pods: Api<Pod> = Api::namespaced(self.client.clone(), namespace);
            match pods
                .list(&ListParams::default().labels(&selector.join(",")))
                .await
            {
                Ok(list) => snapshot.pods.extend(list.items.into_iter().map(|mut pod| {
                    snapshot::lean(&mut pod.metadata, Kind::Pod);
                    pod
                })),
                Err(error) => {
                    snapshot.object_gaps.insert(
                        format!("pods {namespace} {}", selector.join(",")),
                        gap(error),
                    );
                }
            }
        }
        match dns_namespace {
            Ok(object) => snapshot.other.push(RawObject {
                api_version: "v1".into(),
                kind: "Namespace".into(),
                namespace: None,
                name: namespace.to_string(),
                object: namespace_json(object),
            }),
            Err(error) => {
                snapshot
                    .object_gaps
                    .insert(format!("namespace {namespace}"), gap(error));
            }
        }
        snapshot
    }
}

fn namespace_json(mut namespace: Namespace) -> serde_json::Value {
    namespace.metadata.managed_fields = None;
    serde_json::to_value(namespace).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::exit;

    fn api_error(code: u16, reason: &str, message: &str) -> kube::Error {
        let mut status = kube::core::Status::failure(message, reason);
        status.code = code;
        kube::Error::Api(Box::new(status))
    }

    #[test]
    fn already_exists_is_not_a_conflict() {
        let error = classify(
            &api_error(
                409,
                "AlreadyExists",
                "networkpolicies.networking.k8s.io \"x\" already exists",
            ),
            "https://k",
            "creating networkpolicy/x",
        );
        assert_eq!(error.exit_code(), exit::USAGE);
        assert!(error.to_string().contains("already exists"), "{error}");
        assert!(!matches!(error, TriageError::Conflict { .. }));
    }

    #[test]
    fn a_changed_object_is_a_conflict() {
        let error = classify(
            &api_error(
                409,
                "Conflict",
                "Operation cannot be fulfilled on rolebindings: the object has been modified",
            ),
            "https://k",
            "patching rolebinding/x",
        );
        assert!(matches!(error, TriageError::Conflict { .. }));
        assert_eq!(error.exit_code(), exit::CONFLICT);
    }

    #[test]
    fn api_errors_read_as_their_message_never_a_debug_status() {
        let status: kube::core::Status = serde_json::from_value(serde_json::json!({
            "status": "Failure",
            "message": "pods \"bleat-db-0\" is forbidden: User \"x\" cannot create resource \"pods/portforward\"",
            "reason": "Forbidden",
            "code": 403
        }))
        .unwrap();
        let error = kube::Error::Api(Box::new(status));
        // What kube itself prints: the Debug form of the Status.
        assert!(error.to_string().contains("Status {"));
        let text = kube_error_text(&error);
        assert_eq!(
            text,
            "pods \"bleat-db-0\" is forbidden: User \"x\" cannot create resource \"pods/portforward\" (403)"
        );
        assert!(!text.contains("Status {"));
    }
}
