//! The `triage` binary: parse, run, print, exit with the documented code.

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;
use triage::cli::Cli;
use triage::error::{Report, exit, exit_code_of};

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            let code = if err.use_stderr() {
                exit::USAGE
            } else {
                exit::OK
            };
            let _ = err.print();
            return ExitCode::from(code);
        }
    };
    match triage::commands::run(cli) {
        Ok(outcome) => {
            let mut stdout = std::io::stdout().lock();
            match stdout
                .write_all(outcome.stdout.as_bytes())
                .and_then(|()| stdout.flush())
            {
                // A closed pipe (`| head`) is the reader's choice, not an error.
                Err(err) if err.kind() != std::io::ErrorKind::BrokenPipe => {
                    eprintln!("error: cannot write output: {err}");
                    ExitCode::from(exit::USAGE)
                }
                _ => ExitCode::from(outcome.exit_code),
            }
        }
        Err(err) => {
            eprintln!("{}", Report(&err));
            ExitCode::from(exit_code_of(&err))
        }
    }
}
