//! `triage db tables`: the schema as PostgreSQL has it. Reads `pg_tables` through
//! `--db-url`; the password comes from the URL, `--password-from-secret` or PGPASSWORD.

use k8s_openapi::api::core::v1::Secret;
use kube::Api;

use super::Outcome;
use super::source::runtime;
use crate::cli::{DbArgs, GlobalArgs, OutputFormat};
use crate::db::{self, PasswordSource, Target};
use crate::error::TriageError;
use crate::render::{self, db::DbTables};

pub fn tables(global: &GlobalArgs, args: &DbArgs) -> anyhow::Result<Outcome> {
    if matches!(global.output, OutputFormat::Mermaid | OutputFormat::Dot) {
        return Err(TriageError::usage(
            format!(
                "db tables has no `{}` output",
                render::format_name(global.output)
            ),
            Some("use -o table, json or yaml".to_string()),
        )
        .into());
    }
    let Some(url) = &args.db_url else {
        // NB: the default path would port-forward through the API server to the
        // database pod (kube's `ws` feature). Not built: the test control plane has no
        // kubelet to forward to, so it could not be tested (docs/database.md).
        return Err(TriageError::usage(
            "a port-forward to the database pod is not available in this build",
            Some(
                "run `kubectl port-forward svc/bleat-db 5432` and pass --db-url postgres://USER@127.0.0.1:5432/DATABASE"
                    .to_string(),
            ),
        )
        .into());
    };
    let runtime = runtime()?;
    let view = runtime.block_on(async {
        let fallback = match &args.password_from_secret {
            Some(name) => Some(secret_password(global, name).await?),
            None => std::env::var("PGPASSWORD").ok().map(PasswordSource::Env),
        };
        let target = Target::from_url(url, fallback)?;
        if args.password_from_secret.is_some() && target.password_in_url() {
            return Err(TriageError::usage(
                "--password-from-secret and a password in --db-url both given",
                Some("pass the password one way".to_string()),
            ));
        }
        let database = db::connect(&target, global.request_timeout.0).await?;
        let tables = db::list_tables(&database).await?;
        Ok::<_, TriageError>(DbTables::new(
            global.namespace.clone(),
            target.display.clone(),
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
