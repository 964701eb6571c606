//! `triage db tables`: the schema as PostgreSQL has it. Reads `pg_tables` through
//! `--db-url`, or by default a port-forward through the API server to the profile's
//! database Service; the password comes from the URL, `--password-from-secret` or
//! PGPASSWORD.

use k8s_openapi::api::core::v1::Secret;
use kube::Api;

use super::Outcome;
use super::source::runtime;
use crate::cli::{DbArgs, GlobalArgs, OutputFormat, ProfileArgs};
use crate::db::{self, DatabaseTarget, PasswordSource};
use crate::error::TriageError;
use crate::profile::Profile;
use crate::render::{self, db::DbTables};

pub fn tables(
    global: &GlobalArgs,
    args: &DbArgs,
    profile_args: &ProfileArgs,
) -> anyhow::Result<Outcome> {
    if matches!(
        global.output,
        OutputFormat::Mermaid | OutputFormat::Dot | OutputFormat::Junit | OutputFormat::Sarif
    ) {
        return Err(TriageError::usage(
            format!(
                "db tables has no `{}` output",
                render::format_name(global.output)
            ),
            Some("use -o table, json or yaml".to_string()),
        )
        .into());
    }
    let file_profile = match &profile_args.profile {
        Some(path) => Some(super::check::read_profile(path)?),
        None => None,
    };
    let runtime = runtime()?;
    let view = runtime.block_on(async {
        // A direct URL needs no cluster (unless the password is in a Secret); the
        // port-forward does, and then the cluster's own error is the one to show.
        let (cluster, cluster_error) = match crate::cluster::connect(global).await {
            Ok(cluster) => (Some(cluster), None),
            Err(error) => (None, Some(error)),
        };
        if let (None, Some(error)) = (&args.db_url, cluster_error) {
            return Err(error);
        }
        let namespace = global
            .namespace
            .clone()
            .or_else(|| cluster.as_ref().map(|c| c.default_namespace.clone()))
            .unwrap_or_else(|| "default".to_string());
        let profile = file_profile
            .clone()
            .or_else(|| Profile::builtin(&namespace));
        let access =
            resolve_access(global, args, profile.as_ref(), &namespace, cluster.as_ref()).await?;
        let database = match (&access, &cluster) {
            (db::Access::PortForward { .. }, Some(cluster)) => {
                access.connect(cluster, global.request_timeout.0).await?
            }
            (_, _) => db::connect(access.target(), global.request_timeout.0).await?,
        };
        let tables = db::list_tables(&database).await?;
        let target = access.target();
        Ok::<_, TriageError>(DbTables::new(
            Some(namespace),
            access.describe(),
            target.database().to_string(),
            target.user().to_string(),
            tables,
        ))
    })?;
    let stdout = match global.output {
        OutputFormat::Table | OutputFormat::Wide => render::db::table(&view),
        format => render::structured(&view, format)?,
    };
    Ok(Outcome::ok(stdout))
}

/// How to reach the database: `--db-url` as given, else a port-forward to the
/// profile's database Service as its user and database. The password comes from the
/// URL, `--password-from-secret` or `PGPASSWORD`, in that order.
pub(crate) async fn resolve_access(
    global: &GlobalArgs,
    args: &DbArgs,
    profile: Option<&Profile>,
    namespace: &str,
    cluster: Option<&crate::cluster::Cluster>,
) -> Result<db::Access, TriageError> {
    let fallback = match &args.password_from_secret {
        Some(name) => Some(secret_password(global, name).await?),
        None => std::env::var("PGPASSWORD").ok().map(PasswordSource::Env),
    };
    if let Some(url) = &args.db_url {
        let target = DatabaseTarget::from_url(url, fallback)?;
        if args.password_from_secret.is_some() && target.password_in_url() {
            return Err(TriageError::usage(
                "--password-from-secret and a password in --db-url both given",
                Some("pass the password one way".to_string()),
            ));
        }
        return Ok(db::Access::Direct(target));
    }
    let database = profile.and_then(|p| p.database.as_ref());
    let (Some(database), Some(_)) = (database, cluster) else {
        return Err(TriageError::usage(
            "no database to connect to: no --db-url, and no profile names the database Service",
            Some("pass --db-url postgres://USER@HOST:PORT/DATABASE".to_string()),
        ));
    };
    let (Some(user), Some(name)) = (&database.user, &database.name) else {
        return Err(TriageError::usage(
            format!(
                "the profile names Service `{}` but not `database.user` and `database.name`",
                database.service
            ),
            Some("add them to the profile (docs/profile.md), or pass --db-url".to_string()),
        ));
    };
    let url = format!(
        "postgres://{user}@{}.{namespace}:{}/{name}",
        database.service, database.port
    );
    Ok(db::Access::PortForward {
        target: DatabaseTarget::from_url(&url, fallback)?,
        namespace: namespace.to_string(),
        service: database.service.clone(),
        port: database.port,
    })
}

/// The `password` key of Secret `name` in the namespace; nothing else of the Secret is
/// kept, and the value is never printed.
pub(crate) async fn secret_password(
    global: &GlobalArgs,
    name: &str,
) -> Result<PasswordSource, TriageError> {
    let cluster = crate::cluster::connect(global).await?;
    let namespace = global
        .namespace
        .clone()
        .unwrap_or_else(|| cluster.default_namespace.clone());
    let what = format!("reading Secret `{name}` in namespace `{namespace}`");
    let secret = Api::<Secret>::namespaced(cluster.client.clone(), &namespace)
        .get_opt(name)
        .await
        .map_err(|err| crate::cluster::classify(&err, &cluster.server, &what))?
        .ok_or_else(|| {
            TriageError::input(
                format!("Secret `{name}` not found in namespace `{namespace}`"),
                Some("check --password-from-secret and -n".to_string()),
            )
        })?;
    let bytes = secret
        .data
        .as_ref()
        .and_then(|data| data.get("password"))
        .map(|value| value.0.clone())
        .or_else(|| {
            secret
                .string_data
                .as_ref()
                .and_then(|data| data.get("password"))
                .map(|value| value.clone().into_bytes())
        })
        .ok_or_else(|| {
            TriageError::input(
                format!("Secret `{name}` in namespace `{namespace}` has no `password` key"),
                None,
            )
        })?;
    let password = String::from_utf8(bytes).map_err(|_| {
        TriageError::input(
            format!("the `password` key of Secret `{name}` is not UTF-8"),
            None,
        )
    })?;
    Ok(PasswordSource::Secret {
        name: name.to_string(),
        password,
    })
}
