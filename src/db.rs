//! The thin PostgreSQL I/O layer: parsing a `postgres://` URL, connecting with a
//! deadline, and reading the observed schema (`pg_tables`). Everything that talks to a
//! database lives here; nothing here decides what is healthy. Every message names the
//! server by its redacted URL: the password is never printed.
//!
//! NB: connections use `NoTls`. triage reaches the database over loopback (a
//! port-forward through the API server, or a local test server), where TLS adds
//! nothing; a URL asking for `sslmode=require` is refused rather than silently
//! downgraded.

use std::io::ErrorKind;
use std::str::FromStr;
use std::time::Duration;

use tokio_postgres::config::{Host, SslMode};
use tokio_postgres::error::SqlState;
use tokio_postgres::{Client, Config, NoTls};

use crate::error::TriageError;

/// Where to connect, parsed and completed, with the name shown to people.
#[derive(Clone)]
pub struct DatabaseTarget {
    config: Config,
    /// The URL with its password replaced by `***`.
    pub display: String,
    /// The password in use, so messages can be scrubbed of it too.
    secret: Option<String>,
    password_in_url: bool,
}

impl std::fmt::Debug for DatabaseTarget {
    // NB: tokio-postgres' `Config` Debug already hides the password; this keeps even
    // the config out of debug logs and shows only the redacted URL.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DatabaseTarget")
            .field("display", &self.display)
            .finish_non_exhaustive()
    }
}

/// Where the password came from when the URL has none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PasswordSource {
    /// The `PGPASSWORD` environment variable (libpq's convention).
    Env(String),
    /// A Secret's `password` key, read because the user asked (`--password-from-secret`).
    Secret { name: String, password: String },
}

impl DatabaseTarget {
    /// Parses `postgres://user[:password]@host[:port]/database[?options]`; a password
    /// in the URL wins, else `fallback` (the caller decides: a Secret, `PGPASSWORD`).
    pub fn from_url(url: &str, fallback: Option<PasswordSource>) -> Result<Self, TriageError> {
        let display = redact_url(url);
        if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            return Err(TriageError::usage(
                format!("database URL `{display}` does not start with `postgres://`"),
                Some("pass --db-url postgres://USER@HOST:PORT/DATABASE".to_string()),
            ));
        }
        let mut config = Config::from_str(url).map_err(|err| {
            TriageError::usage(
                format!("database URL `{display}` cannot be parsed: {err}"),
                Some("pass --db-url postgres://USER@HOST:PORT/DATABASE".to_string()),
            )
        })?;
        if config.get_user().is_none() {
            return Err(TriageError::usage(
                format!("database URL `{display}` names no user"),
                Some("pass --db-url postgres://USER@HOST:PORT/DATABASE".to_string()),
            ));
        }
        if config.get_ssl_mode() == SslMode::Require {
            return Err(TriageError::usage(
                format!("database URL `{display}` requires TLS, which this build does not speak"),
                Some("connect over a port-forward or loopback without sslmode=require".to_string()),
            ));
        }
        let mut secret = config
            .get_password()
            .map(|p| String::from_utf8_lossy(p).into_owned());
        let password_in_url = secret.is_some();
        if secret.is_none() {
            let password = match fallback {
                Some(PasswordSource::Env(password)) => Some(password),
                Some(PasswordSource::Secret { password, .. }) => Some(password),
                None => None,
            };
            if let Some(password) = password.filter(|p| !p.is_empty()) {
                config.password(password.clone());
                secret = Some(password);
            }
        }
        Ok(Self {
            config,
            display,
            secret,
            password_in_url,
        })
    }

    pub fn user(&self) -> &str {
        self.config.get_user().unwrap_or_default()
    }

    /// The database name (PostgreSQL's default is the user name).
    pub fn database(&self) -> &str {
        self.config.get_dbname().unwrap_or_else(|| self.user())
    }

    /// Whether the URL itself carried the password (it wins over any fallback).
    pub fn password_in_url(&self) -> bool {
        self.password_in_url
    }

    /// `text` with the password (if any) replaced: server messages echo what they were
    /// sent only rarely, but a leaked password in a pasted error is one too many.
    fn scrub(&self, text: &str) -> String {
        match &self.secret {
            Some(secret) if secret.len() >= 3 => text.replace(secret.as_str(), "***"),
            _ => text.to_string(),
        }
    }

    fn hosts(&self) -> String {
        let ports = self.config.get_ports();
        self.config
            .get_hosts()
            .iter()
            .enumerate()
            .map(|(i, host)| {
                let port = ports.get(i).or(ports.first()).copied().unwrap_or(5432);
                match host {
                    Host::Tcp(name) => format!("{name}:{port}"),
                    Host::Unix(path) => format!("{}:{port}", path.display()),
                }
            })
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// A connected client, with what every later message needs.
pub struct Database {
    client: Client,
    target: DatabaseTarget,
    timeout: Option<Duration>,
}

/// Connects within `timeout` (the global `--request-timeout`; `None`: wait forever).
/// The deadline covers TCP connect, startup and authentication.
pub async fn connect(
    target: &DatabaseTarget,
    timeout: Option<Duration>,
) -> Result<Database, TriageError> {
    let mut config = target.config.clone();
    if let Some(limit) = timeout {
        config.connect_timeout(limit);
    }
    config.application_name(crate::cluster::USER_AGENT_VALUE);
    let (client, connection) = with_deadline(timeout, config.connect(NoTls))
        .await
        .map_err(|()| failure_error(&Failure::TimedOut, target, "connecting", timeout))?
        .map_err(|err| failure_error(&classify(&err), target, "connecting", timeout))?;
    // The connection future drives the socket; it ends when the client is dropped.
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(Database {
        client,
        target: target.clone(),
        timeout,
    })
}

/// Connects over an already open stream (a port-forward through the API server):
/// same deadline, same error mapping as [`connect`].
pub async fn connect_stream<S>(
    target: &DatabaseTarget,
    stream: S,
    timeout: Option<Duration>,
) -> Result<Database, TriageError>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let mut config = target.config.clone();
    config.application_name(crate::cluster::USER_AGENT_VALUE);
    let (client, connection) = with_deadline(timeout, config.connect_raw(stream, NoTls))
        .await
        .map_err(|()| failure_error(&Failure::TimedOut, target, "connecting", timeout))?
        .map_err(|err| failure_error(&classify(&err), target, "connecting", timeout))?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(Database {
        client,
        target: target.clone(),
        timeout,
    })
}

/// How triage reaches the database.
#[derive(Debug, Clone)]
pub enum Access {
    /// `--db-url`: a server reachable from here.
    Direct(DatabaseTarget),
    /// The default: through the API server to the pod behind the profile's database
    /// Service (a kubelet serves the stream).
    PortForward {
        target: DatabaseTarget,
        namespace: String,
        service: String,
        port: i32,
    },
}

impl Access {
    pub fn target(&self) -> &DatabaseTarget {
        match self {
            Access::Direct(target) | Access::PortForward { target, .. } => target,
        }
    }

    /// How the connection goes, for people: the redacted URL, or the port-forward.
    pub fn describe(&self) -> String {
        match self {
            Access::Direct(target) => target.display.clone(),
            Access::PortForward {
                target,
                namespace,
                service,
                port,
            } => {
                format!(
                    "{} via a port-forward to Service `{namespace}/{service}` port {port}",
                    target.display
                )
            }
        }
    }

    pub async fn connect(
        &self,
        cluster: &crate::cluster::Cluster,
        timeout: Option<Duration>,
    ) -> Result<Database, TriageError> {
        match self {
            Access::Direct(target) => connect(target, timeout).await,
            Access::PortForward {
                target,
                namespace,
                service,
                port,
            } => {
                let (_pod, stream) = cluster
                    .forward_to_service(namespace, service, *port)
                    .await?;
                connect_stream(target, stream, timeout).await
            }
        }
    }
}

/// User tables as `pg_tables` shows them, sorted; schema-qualified unless `public`.
/// Catalog schemas (`pg_catalog`, `pg_toast`, other sessions' `pg_temp_N`) and
/// `information_schema` are left out (user schemas cannot start with `pg_`).
pub async fn list_tables(db: &Database) -> Result<Vec<String>, TriageError> {
    const QUERY: &str = "SELECT schemaname::text, tablename::text FROM pg_catalog.pg_tables \
         WHERE schemaname NOT LIKE 'pg\\_%' AND schemaname <> 'information_schema'";
    let what = "listing tables";
    let rows = with_deadline(db.timeout, db.client.query(QUERY, &[]))
        .await
        .map_err(|()| failure_error(&Failure::TimedOut, &db.target, what, db.timeout))?
        .map_err(|err| failure_error(&classify(&err), &db.target, what, db.timeout))?;
    let mut tables: Vec<String> = rows
        .iter()
        .map(|row| qualified(row.get::<_, String>(0).as_str(), row.get(1)))
        .collect();
    tables.sort();
    Ok(tables)
}

impl Database {
    pub fn target(&self) -> &DatabaseTarget {
        &self.target
    }
}

fn qualified(schema: &str, table: &str) -> String {
    if schema == "public" {
        table.to_string()
    } else {
        format!("{schema}.{table}")
    }
}

async fn with_deadline<F: std::future::Future>(
    timeout: Option<Duration>,
    future: F,
) -> Result<F::Output, ()> {
    match timeout {
        Some(limit) => tokio::time::timeout(limit, future).await.map_err(|_| ()),
        None => Ok(future.await),
    }
}

/// What went wrong, in the cases a responder acts on differently.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// Nothing listens there (server stopped, wrong port, port-forward gone).
    Refused,
    /// No route, unknown host, reset: the network, not the server.
    Unreachable(String),
    /// The server rejected the user/password (or pg_hba refused the user).
    AuthFailed(String),
    /// The server wants a password and none was given.
    PasswordMissing,
    /// The database named in the URL does not exist.
    NoDatabase,
    /// The deadline passed.
    TimedOut,
    /// Anything else the server or driver said.
    Other(String),
}

/// Sorts a driver error into a [`Failure`]: SQLSTATE first, then the I/O error kind
/// found in the source chain.
pub fn classify(err: &tokio_postgres::Error) -> Failure {
    let io_kind = io_error_kind(err);
    let message = match err.as_db_error() {
        Some(db) => db.message().to_string(),
        None => error_chain(err),
    };
    classify_parts(err.code(), io_kind, &message)
}

/// The pure part of [`classify`], testable without a server.
pub fn classify_parts(
    code: Option<&SqlState>,
    io_kind: Option<ErrorKind>,
    message: &str,
) -> Failure {
    if let Some(code) = code {
        return if *code == SqlState::INVALID_PASSWORD
            || *code == SqlState::INVALID_AUTHORIZATION_SPECIFICATION
        {
            Failure::AuthFailed(message.to_string())
        } else if *code == SqlState::INVALID_CATALOG_NAME {
            Failure::NoDatabase
        } else {
            Failure::Other(format!("{message} (SQLSTATE {})", code.code()))
        };
    }
    match io_kind {
        Some(ErrorKind::ConnectionRefused) => Failure::Refused,
        Some(ErrorKind::TimedOut) => Failure::TimedOut,
        Some(_) => Failure::Unreachable(message.to_string()),
        // tokio-postgres' own connect timeout and its "password missing" config error
        None if message.contains("timeout waiting for server") => Failure::TimedOut,
        None if message.contains("password missing") => Failure::PasswordMissing,
        None => Failure::Other(message.to_string()),
    }
}

/// One line per failure, naming the server by its redacted URL.
pub fn failure_error(
    failure: &Failure,
    target: &DatabaseTarget,
    what: &str,
    timeout: Option<Duration>,
) -> TriageError {
    let url = &target.display;
    let hosts = target.hosts();
    let user = target.user();
    let database = target.database();
    let error = match failure {
        Failure::Refused => TriageError::unreachable(
            format!(
                "PostgreSQL at `{url}` refused the connection while {what} (nothing listens on {hosts})"
            ),
            Some("check that the server runs and the host and port in --db-url".to_string()),
        ),
        Failure::Unreachable(why) => TriageError::unreachable(
            format!("cannot reach PostgreSQL at `{url}` while {what}: {why}"),
            Some("check the network and the host in --db-url".to_string()),
        ),
        Failure::AuthFailed(why) => TriageError::unreachable(
            format!("PostgreSQL at `{url}` rejected user `{user}`: {why}"),
            Some("check the password (PGPASSWORD or --db-url) and the user".to_string()),
        ),
        Failure::PasswordMissing => TriageError::unreachable(
            format!("PostgreSQL at `{url}` asks user `{user}` for a password and none was given"),
            Some("set PGPASSWORD, or pass it in --db-url".to_string()),
        ),
        Failure::NoDatabase => TriageError::input(
            format!("database `{database}` does not exist on PostgreSQL at `{url}`"),
            Some("check the database name in --db-url".to_string()),
        ),
        Failure::TimedOut => TriageError::unreachable(
            match timeout {
                Some(limit) => format!(
                    "PostgreSQL at `{url}` did not answer within {}s while {what}",
                    limit.as_secs()
                ),
                None => format!("PostgreSQL at `{url}` timed out while {what}"),
            },
            Some("check the network path, or raise --request-timeout".to_string()),
        ),
        Failure::Other(why) => TriageError::input(
            format!("PostgreSQL at `{url}` failed while {what}: {why}"),
            None,
        ),
    };
    scrub_error(error, target)
}

fn scrub_error(error: TriageError, target: &DatabaseTarget) -> TriageError {
    match error {
        TriageError::Unreachable { message, hint } => TriageError::Unreachable {
            message: target.scrub(&message),
            hint,
        },
        TriageError::Input { message, hint } => TriageError::Input {
            message: target.scrub(&message),
            hint,
        },
        other => other,
    }
}

fn io_error_kind(err: &(dyn std::error::Error + 'static)) -> Option<ErrorKind> {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(cause) = source {
        if let Some(io) = cause.downcast_ref::<std::io::Error>() {
            return Some(io.kind());
        }
        source = cause.source();
    }
    None
}

/// An error and its sources on one line (tokio-postgres keeps the cause in sources).
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

/// The URL with any password replaced by `***`: in the user-info part
/// (`user:secret@`) and in a `password=` query parameter.
pub fn redact_url(url: &str) -> String {
    let (scheme, rest) = match url.find("://") {
        Some(at) => url.split_at(at + 3),
        None => ("", url),
    };
    // The authority ends at the first `/` or `?` after the user info; the user info
    // ends at the LAST `@` before that (a raw `@` or `/` in a password is common
    // enough in pasted URLs to handle).
    let (before_query, query) = match rest.find('?') {
        Some(at) => rest.split_at(at),
        None => (rest, ""),
    };
    let redacted_authority = match before_query.rfind('@') {
        Some(at) => {
            let (userinfo, after) = before_query.split_at(at);
            match userinfo.find(':') {
                Some(colon) => format!("{}:***{after}", &userinfo[..colon]),
                None => before_query.to_string(),
            }
        }
        None => before_query.to_string(),
    };
    let redacted_query = query
        .split_inclusive('&')
        .map(|pair| {
            let (body, amp) = match pair.strip_suffix('&') {
                Some(body) => (body, "&"),
                None => (pair, ""),
            };
            let lead = if body.starts_with('?') { "?" } else { "" };
            let body = body.trim_start_matches('?');
            match body.split_once('=') {
                Some((key, _)) if key.eq_ignore_ascii_case("password") => {
                    format!("{lead}{key}=***{amp}")
                }
                _ => format!("{lead}{body}{amp}"),
            }
        })
        .collect::<String>();
    format!("{scheme}{redacted_authority}{redacted_query}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::exit;

    #[test]
    fn passwords_are_redacted_from_user_info_and_query() {
        assert_eq!(
            redact_url("postgres://bleat:s3cret@127.0.0.1:5432/bleat"),
            "postgres://bleat:***@127.0.0.1:5432/bleat"
        );
        assert_eq!(
            redact_url("postgresql://bleat:p@ss/w0rd@db:5432/bleat?sslmode=disable"),
            "postgresql://bleat:***@db:5432/bleat?sslmode=disable"
        );
        assert_eq!(
            redact_url("postgres://bleat@db/bleat?password=s3cret&application_name=x"),
            "postgres://bleat@db/bleat?password=***&application_name=x"
        );
        assert_eq!(
            redact_url("postgres://db/bleat?user=bleat&password=s3cret"),
            "postgres://db/bleat?user=bleat&password=***"
        );
    }

    #[test]
    fn urls_without_a_password_are_unchanged() {
        for url in [
            "postgres://bleat@127.0.0.1:5432/bleat",
            "postgres://127.0.0.1/bleat",
            "postgres://bleat@db/bleat?sslmode=disable&connect_timeout=3",
        ] {
            assert_eq!(redact_url(url), url);
        }
    }

    #[test]
    fn url_password_wins_over_the_fallback() {
        let target = DatabaseTarget::from_url(
            "postgres://bleat:fromurl@127.0.0.1:5432/bleat",
            Some(PasswordSource::Env("fromenv".into())),
        )
        .unwrap();
        assert_eq!(target.secret.as_deref(), Some("fromurl"));
        let target = DatabaseTarget::from_url(
            "postgres://bleat@127.0.0.1:5432/bleat",
            Some(PasswordSource::Env("fromenv".into())),
        )
        .unwrap();
        assert_eq!(target.secret.as_deref(), Some("fromenv"));
        assert_eq!(target.display, "postgres://bleat@127.0.0.1:5432/bleat");
        assert!(!format!("{target:?}").contains("fromenv"));
    }

    #[test]
    fn bad_urls_are_usage_errors_without_the_password() {
        for url in [
            "mysql://bleat:hunter22@db/bleat",
            "postgres://db/bleat",
            "postgres://bleat:hunter22@db:notaport/bleat",
            "postgres://bleat:hunter22@db/bleat?sslmode=require",
        ] {
            let err = DatabaseTarget::from_url(url, None).unwrap_err();
            assert_eq!(err.exit_code(), exit::USAGE, "{url}");
            assert!(!err.to_string().contains("hunter22"), "{err}");
        }
    }

    #[test]
    fn sqlstates_and_io_kinds_map_to_failures() {
        assert_eq!(
            classify_parts(
                Some(&SqlState::INVALID_PASSWORD),
                None,
                "password authentication failed for user \"bleat\""
            ),
            Failure::AuthFailed("password authentication failed for user \"bleat\"".into())
        );
        assert_eq!(
            classify_parts(
                Some(&SqlState::INVALID_AUTHORIZATION_SPECIFICATION),
                None,
                "no pg_hba.conf entry"
            ),
            Failure::AuthFailed("no pg_hba.conf entry".into())
        );
        assert_eq!(
            classify_parts(
                Some(&SqlState::INVALID_CATALOG_NAME),
                None,
                "database \"x\" does not exist"
            ),
            Failure::NoDatabase
        );
        assert_eq!(
            classify_parts(None, Some(ErrorKind::ConnectionRefused), "refused"),
            Failure::Refused
        );
        assert_eq!(
            classify_parts(None, Some(ErrorKind::TimedOut), "timed out"),
            Failure::TimedOut
        );
        assert_eq!(
            classify_parts(None, None, "timeout waiting for server"),
            Failure::TimedOut
        );
        assert_eq!(
            classify_parts(None, None, "invalid configuration: password missing"),
            Failure::PasswordMissing
        );
        assert!(matches!(
            classify_parts(None, Some(ErrorKind::HostUnreachable), "no route"),
            Failure::Unreachable(_)
        ));
        assert!(matches!(
            classify_parts(Some(&SqlState::SYNTAX_ERROR), None, "syntax error"),
            Failure::Other(m) if m.contains("42601")
        ));
    }

    #[test]
    fn failures_map_to_documented_exit_codes_in_one_line_without_the_password() {
        let target =
            DatabaseTarget::from_url("postgres://bleat:hunter22@127.0.0.1:1/nope", None).unwrap();
        let cases = [
            (
                Failure::Refused,
                exit::UNREACHABLE,
                "refused the connection",
            ),
            (
                Failure::Unreachable("no route to host".into()),
                exit::UNREACHABLE,
                "cannot reach",
            ),
            (
                Failure::AuthFailed("password authentication failed for user \"bleat\"".into()),
                exit::UNREACHABLE,
                "rejected user `bleat`",
            ),
            (
                Failure::PasswordMissing,
                exit::UNREACHABLE,
                "none was given",
            ),
            (
                Failure::NoDatabase,
                exit::USAGE,
                "database `nope` does not exist",
            ),
            (
                Failure::TimedOut,
                exit::UNREACHABLE,
                "did not answer within 5s",
            ),
            (
                Failure::Other("echo hunter22".into()),
                exit::USAGE,
                "failed while connecting",
            ),
        ];
        for (failure, code, phrase) in cases {
            let err = failure_error(
                &failure,
                &target,
                "connecting",
                Some(Duration::from_secs(5)),
            );
            let line = format!("{err}; {}", err.hint().unwrap_or_default());
            assert_eq!(err.exit_code(), code, "{line}");
            assert!(line.contains(phrase), "{line}");
            assert!(
                line.contains("postgres://bleat:***@127.0.0.1:1/nope"),
                "{line}"
            );
            assert!(!line.contains("hunter22"), "{line}");
            assert!(!line.contains('\n'), "{line}");
        }
    }

    #[test]
    fn non_public_schemas_are_qualified() {
        assert_eq!(qualified("public", "users"), "users");
        assert_eq!(qualified("audit", "log"), "audit.log");
    }

    /// A real driver error without a server: a loopback port nobody listens on.
    #[test]
    fn a_closed_port_is_refused() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let target =
            DatabaseTarget::from_url(&format!("postgres://bleat:pw@127.0.0.1:{port}/bleat"), None)
                .unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let err = runtime
            .block_on(connect(&target, Some(Duration::from_secs(5))))
            .err()
            .expect("nothing listens there");
        assert_eq!(err.exit_code(), exit::UNREACHABLE, "{err}");
        assert!(err.to_string().contains("refused the connection"), "{err}");
    }

    /// A listener that accepts TCP but never speaks: the deadline, not the driver,
    /// ends the wait.
    #[test]
    fn a_silent_server_times_out_at_the_deadline() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let target =
            DatabaseTarget::from_url(&format!("postgres://bleat:pw@127.0.0.1:{port}/bleat"), None)
                .unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let started = std::time::Instant::now();
        let err = runtime
            .block_on(connect(&target, Some(Duration::from_secs(1))))
            .err()
            .expect("nobody answers");
        assert!(started.elapsed() < Duration::from_secs(5));
        assert_eq!(err.exit_code(), exit::UNREACHABLE, "{err}");
        assert!(
            err.to_string().contains("did not answer within 1s"),
            "{err}"
        );
        drop(listener);
    }
}
