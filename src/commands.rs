//! Command glue: each command loads its input, builds a view model with the pure
//! core, and hands it to a renderer. `anyhow` context frames live here only.

pub mod all_namespaces;
pub mod check;
pub mod completions;
pub mod db;
pub mod explain_traffic;
pub mod inventory;
pub mod plan;
pub mod repair;
pub mod restore;
pub mod snapshot;
pub mod source;

use crate::cli::{Cli, Command, DbCommand};

/// What a command produced: text for stdout and the exit code to end with.
pub struct Outcome {
    pub stdout: String,
    pub exit_code: u8,
}

impl Outcome {
    pub fn ok(stdout: String) -> Self {
        Self {
            stdout,
            exit_code: crate::error::exit::OK,
        }
    }
}

pub fn run(cli: Cli) -> anyhow::Result<Outcome> {
    match cli.command {
        Command::Inventory {
            source,
            all_namespaces: true,
            ..
        } => all_namespaces::inventory(&cli.global, &source),
        Command::Inventory { source, logs, .. } => inventory::run(&cli.global, &source, logs.logs),
        Command::Check {
            source,
            profile,
            only,
            skip,
            all_namespaces: true,
            ..
        } => all_namespaces::check(&cli.global, &source, &profile, only, skip),
        Command::Check {
            source,
            profile,
            logs,
            only,
            skip,
            watch: false,
            ..
        } => check::run(&cli.global, &source, &profile, logs.logs, only, skip),
        Command::Check {
            source,
            profile,
            logs,
            only,
            skip,
            watch: true,
            ..
        } => check::watch(&cli.global, &source, &profile, logs.logs, only, skip),
        Command::Plan { source, profile } => plan::run(&cli.global, &source, &profile),
        Command::Repair(args) => repair::run(&cli.global, &args),
        Command::Restore {
            run_dir,
            yes,
            overwrite,
            dry_run,
        } => restore::run(&cli.global, &run_dir, yes, overwrite, dry_run),
        Command::Snapshot { logs } => snapshot::run(&cli.global, logs.logs),
        Command::Db {
            command: DbCommand::Tables { db, profile },
        } => db::tables(&cli.global, &db, &profile),
        Command::ExplainTraffic {
            source,
            profile,
            from,
            to,
        } => explain_traffic::run(&cli.global, &source, &profile, &from, &to),
        Command::Completions { shell } => Ok(Outcome::ok(completions::generate(shell))),
    }
}
