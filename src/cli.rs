//! The command line: kubectl's global flags, the subcommands, and the exit codes
//! shown in `--help`. Parsing only; what each command does lives in `commands/`.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

const EXIT_CODES: &str = "\
Exit codes:
  0  success (check: no failing signal)
  1  check found failing signals; repair ran but signals still fail (refused or manual steps)
  2  usage or input error, or a prompt needed without a terminal and without --yes
  3  cluster unreachable or credentials rejected (or a LIST failed before repair wrote)
  4  forbidden by RBAC
  5  repair or restore stopped at a prompt
  6  a repair or restore step was applied but its verification failed
  7  repair, restore: another writer changed an object and re-planning once did not resolve it
  8  repair, restore: a step failed after part of it was applied (restore from the run directory)
  9  repair: every step done, but an app in the status ConfigMap did not read Healthy
     within --wait";

/// Find, order and safely repair what keeps a Kubernetes namespace red.
#[derive(Debug, Parser)]
#[command(name = "triage", version, about, after_help = EXIT_CODES, max_term_width = 100)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,

    #[command(subcommand)]
    pub command: Command,
}

/// Flags every command accepts, spelled as kubectl spells them.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Namespace to look at [default: the kubeconfig context's namespace, or the only
    /// namespace in a snapshot file]
    #[arg(short = 'n', long, global = true, value_name = "NAMESPACE")]
    pub namespace: Option<String>,

    /// Kubeconfig context to use [default: current-context]
    #[arg(long, global = true, value_name = "CONTEXT")]
    pub context: Option<String>,

    /// Path to the kubeconfig file
    #[arg(long, global = true, env = "KUBECONFIG", value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,

    /// User to impersonate for the operation
    #[arg(long = "as", global = true, value_name = "USER")]
    pub as_user: Option<String>,

    /// Group to impersonate (repeat for several)
    #[arg(long = "as-group", global = true, value_name = "GROUP")]
    pub as_group: Vec<String>,

    /// How long to wait for the server: `30s`, `2m`, `0` for no limit
    #[arg(long, global = true, default_value = "30s", value_parser = parse_timeout, value_name = "DURATION")]
    pub request_timeout: Timeout,

    /// Output format
    #[arg(short = 'o', long, global = true, value_enum, default_value_t = OutputFormat::Table)]
    pub output: OutputFormat,

    /// Never colour the output (also: the NO_COLOR environment variable)
    #[arg(long, global = true, env = "NO_COLOR", value_parser = clap::builder::FalseyValueParser::new())]
    pub no_color: bool,

    /// More log detail on stderr (-v, -vv)
    #[arg(short = 'v', long = "verbose", global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

/// Where the objects come from: a snapshot file, or the live cluster.
#[derive(Debug, Args, Clone, Default)]
pub struct SourceArgs {
    /// Read objects from a file written by `triage snapshot` or `kubectl get -o yaml|json`
    /// (`-` for stdin), or from a support bundle (a directory or `.tar.gz`: troubleshoot.sh,
    /// `kubectl cluster-info dump --output-directory`, crust-gather), instead of the cluster
    #[arg(long, value_name = "FILE")]
    pub snapshot: Option<PathBuf>,

    /// The moment ages are computed against [default: now for a live cluster, the
    /// newest timestamp in a snapshot file]
    #[arg(long, value_name = "RFC3339")]
    pub now: Option<jiff::Timestamp>,
}

/// How much of the failing containers' logs to read.
#[derive(Debug, Args, Clone)]
pub struct LogArgs {
    /// Last lines of each failing container's log to fetch live (of the instance before
    /// the last restart when it restarted, as `kubectl logs --previous`), shown under
    /// the findings; from a file, the last N lines kept; `0` for none
    #[arg(long, value_name = "N", default_value_t = crate::logs::DEFAULT_TAIL_LINES)]
    pub logs: u32,
}

/// What only the team knows about a namespace.
#[derive(Debug, Args, Clone, Default)]
pub struct ProfileArgs {
    /// Profile YAML naming the status, lock and schema ConfigMaps, the migration's
    /// ServiceAccount and needs, the database (docs/profile.md) [default: built in for
    /// namespace `bleater`, none otherwise]
    #[arg(long, value_name = "FILE")]
    pub profile: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show everything in the namespace that matters during an incident
    Inventory {
        #[command(flatten)]
        source: SourceArgs,

        #[command(flatten)]
        logs: LogArgs,

        /// Every namespace (kubectl's -A): one cluster-wide LIST per kind, or every
        /// namespace of a snapshot file; one row per namespace. Reads no container logs
        /// (`-n NAMESPACE` shows them)
        #[arg(short = 'A', long, conflicts_with = "namespace")]
        all_namespaces: bool,
    },
    /// Evaluate every health signal: what is failing, the evidence, the fix, and why each
    /// app shows what it shows (exit 1 when any signal fails)
    Check {
        #[command(flatten)]
        source: SourceArgs,

        #[command(flatten)]
        profile: ProfileArgs,

        #[command(flatten)]
        logs: LogArgs,

        /// Run only these signals (comma separated ids)
        #[arg(long, value_delimiter = ',', value_name = "IDS")]
        only: Vec<String>,

        /// Skip these signals (comma separated ids)
        #[arg(long, value_delimiter = ',', value_name = "IDS")]
        skip: Vec<String>,

        /// Live only: after printing, wait for a change in the namespace (a Kubernetes
        /// watch, debounced), evaluate again and redraw, until no signal fails (exit 0)
        /// or ^C
        #[arg(long, short = 'w')]
        watch: bool,

        /// Every namespace (kubectl's -A), worst first: failing signals, the top root
        /// cause, object counts; one cluster-wide LIST per kind, or every namespace of a
        /// snapshot file. A profile applies to the namespace it names. Reads no container
        /// logs (`-n NAMESPACE` shows them)
        #[arg(short = 'A', long, conflicts_with_all = ["namespace", "watch"])]
        all_namespaces: bool,
    },
    /// Order the repairs: the dependency graph between failing signals and the steps
    /// it implies (-o table|json|yaml|mermaid|dot); one namespace at a time (no -A)
    Plan {
        #[command(flatten)]
        source: SourceArgs,

        #[command(flatten)]
        profile: ProfileArgs,
    },
    /// Repair the failing signals in cascade order: each step previewed, confirmed,
    /// checked by the server (permissions, dry run), backed up, applied and verified;
    /// one namespace at a time (no -A)
    Repair(RepairArgs),
    /// Put back the objects a repair run backed up, each previewed as a diff, confirmed,
    /// checked by the server and audited like a repair step (never overwrites an
    /// existing object unless --overwrite)
    Restore {
        /// The run directory `triage repair` printed
        #[arg(value_name = "RUN_DIR")]
        run_dir: PathBuf,

        /// Answer yes to every prompt
        #[arg(long)]
        yes: bool,

        /// Replace objects that exist now with their backed-up version
        #[arg(long)]
        overwrite: bool,

        /// Preview and run the server-side dry runs only; change nothing
        #[arg(long)]
        dry_run: bool,
    },
    /// Write a live snapshot of the namespace (Secrets left out) for offline use, with
    /// the failing containers' last log lines as `kind: ContainerLog` items
    Snapshot {
        #[command(flatten)]
        logs: LogArgs,
    },
    /// Read the database itself: what the schema really is, not what a ConfigMap says
    Db {
        #[command(subcommand)]
        command: DbCommand,
    },
    /// Why can (or can't) FROM reach TO: each side's NetworkPolicies (egress of the
    /// source, ingress of the destination), the verdict, the smallest allow policy
    /// (printed, never applied); exit 1 unless allowed
    ExplainTraffic {
        #[command(flatten)]
        source: SourceArgs,

        #[command(flatten)]
        profile: ProfileArgs,

        /// A pod name, deployment/NAME, or a label selector k=v[,k=v]
        #[arg(value_name = "FROM")]
        from: String,

        /// A pod, Service, deployment/NAME, `dns` or an IP ([IPv6]), with :PORT[/PROTO]
        /// (a Service's first port and `dns` UDP/53 by default)
        #[arg(value_name = "TO")]
        to: String,
    },
    /// Print shell completions
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

/// `triage db ...`
#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// List the user tables PostgreSQL has (pg_tables; schema-qualified unless `public`),
    /// the observed schema to compare with the schema ConfigMap (-o table|json|yaml)
    Tables {
        #[command(flatten)]
        db: DbArgs,

        #[command(flatten)]
        profile: ProfileArgs,
    },
}

/// How to reach the database.
#[derive(Debug, Args, Clone, Default)]
pub struct DbArgs {
    /// postgres://USER[:PASSWORD]@HOST:PORT/DATABASE; without a password in it,
    /// PGPASSWORD is used [default: a port-forward through the API server to the pod
    /// behind the profile's database Service, as the profile's user and database]
    #[arg(long, value_name = "URL")]
    pub db_url: Option<String>,

    /// Take the password from this Secret's `password` key in the namespace (read only
    /// when asked; never printed)
    #[arg(long, value_name = "SECRET")]
    pub password_from_secret: Option<String>,
}

/// Flags of `triage repair`.
#[derive(Debug, Args)]
pub struct RepairArgs {
    #[command(flatten)]
    pub profile: ProfileArgs,

    /// With --dry-run: preview every step from a snapshot file, offline (not checked by
    /// a server); refused without --dry-run
    #[arg(long, value_name = "FILE")]
    pub snapshot: Option<PathBuf>,

    /// The database the `migrate` and `schema` steps read the tables from
    #[command(flatten)]
    pub db: DbArgs,

    /// Answer yes to every prompt (for scripts); without a terminal it is required
    #[arg(long)]
    pub yes: bool,

    /// Preview every step and run only reads and server-side dry runs: nothing is changed
    #[arg(long)]
    pub dry_run: bool,

    /// Repair only these signals (comma separated ids)
    #[arg(long, value_delimiter = ',', value_name = "IDS")]
    pub only: Vec<String>,

    /// Do not repair these signals (comma separated ids)
    #[arg(long, value_delimiter = ',', value_name = "IDS")]
    pub skip: Vec<String>,

    /// Quota limit to set instead of the proposal, e.g. `--set pods=8` (repeatable)
    #[arg(long = "set", value_name = "RESOURCE=QUANTITY", value_parser = parse_assignment)]
    pub set: Vec<(String, String)>,

    /// StorageClass for a re-created claim [default: the cluster's default class]
    #[arg(long, value_name = "CLASS")]
    pub storage_class: Option<String>,

    /// Words for audit values, e.g. the lock's `resolved-<date>-<reason>`
    #[arg(long, value_name = "TEXT")]
    pub reason: Option<String>,

    /// After the repairs, watch the profile's status ConfigMap this long for every app
    /// to read Healthy (its reconciler takes a tick or two): `90s`, `2m`, `0` to skip
    #[arg(long, default_value = "2m", value_parser = parse_timeout, value_name = "DURATION")]
    pub wait: Timeout,
}

fn parse_assignment(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((key, value)) if !key.trim().is_empty() && !value.trim().is_empty() => {
            Ok((key.trim().to_string(), value.trim().to_string()))
        }
        _ => Err(format!("`{text}` is not RESOURCE=QUANTITY, e.g. pods=8")),
    }
}

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// Tables for people
    Table,
    /// Tables with extra columns
    Wide,
    /// JSON with a versioned, documented shape
    Json,
    /// YAML with the same shape as JSON
    Yaml,
    /// Mermaid flowchart (plan only)
    Mermaid,
    /// Graphviz dot (plan only)
    Dot,
    /// JUnit XML, one test case per signal (check only)
    Junit,
    /// SARIF 2.1.0, one result per failing signal (check only)
    Sarif,
}

/// A request deadline; `None` means wait forever (kubectl's `0`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeout(pub Option<Duration>);

fn parse_timeout(text: &str) -> Result<Timeout, String> {
    let text = text.trim();
    let (number, unit) = text
        .find(|c: char| !c.is_ascii_digit())
        .map_or((text, "s"), |at| text.split_at(at));
    let value: u64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a duration like 30s, 2m or 0"))?;
    let seconds = match unit {
        "s" => value,
        "m" => value * 60,
        "h" => value * 3600,
        _ => return Err(format!("`{text}` has unknown unit `{unit}`: use s, m or h")),
    };
    Ok(Timeout((seconds > 0).then(|| Duration::from_secs(seconds))))
}

/// The clap command, for completions and the man page.
pub fn command() -> clap::Command {
    <Cli as clap::CommandFactory>::command()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cli_definition_is_consistent() {
        command().debug_assert();
    }

    #[test]
    fn timeouts_parse_like_kubectl() {
        assert_eq!(
            parse_timeout("30s"),
            Ok(Timeout(Some(Duration::from_secs(30))))
        );
        assert_eq!(
            parse_timeout("2m"),
            Ok(Timeout(Some(Duration::from_secs(120))))
        );
        assert_eq!(
            parse_timeout("15"),
            Ok(Timeout(Some(Duration::from_secs(15))))
        );
        assert_eq!(parse_timeout("0"), Ok(Timeout(None)));
        assert!(parse_timeout("soon").is_err());
        assert!(parse_timeout("5d").is_err());
    }

    #[test]
    fn global_flags_work_after_the_subcommand() {
        let cli =
            Cli::try_parse_from(["triage", "inventory", "-n", "bleater", "-o", "json"]).unwrap();
        assert_eq!(cli.global.namespace.as_deref(), Some("bleater"));
        assert_eq!(cli.global.output, OutputFormat::Json);
    }

    #[test]
    fn logs_default_to_twenty_lines_and_zero_turns_them_off() {
        let logs_of = |args: &[&str]| match Cli::try_parse_from(args).unwrap().command {
            Command::Inventory { logs, .. }
            | Command::Check { logs, .. }
            | Command::Snapshot { logs } => logs.logs,
            other => panic!("unexpected {other:?}"),
        };
        assert_eq!(logs_of(&["triage", "check"]), 20);
        assert_eq!(logs_of(&["triage", "inventory", "--logs", "0"]), 0);
        assert_eq!(logs_of(&["triage", "snapshot", "--logs", "5"]), 5);
        assert!(Cli::try_parse_from(["triage", "check", "--logs", "-1"]).is_err());
    }
}
