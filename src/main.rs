//! The `triage` binary: parse, run, print, exit with the documented code.

use std::io::Write;
use std::process::ExitCode;

use triage::cli::Cli;
use triage::error::{Report, exit, exit_code_of};

/// Installed as `kubectl-triage`, triage runs as a kubectl plugin (`kubectl triage ...`)
/// and says so in its help and errors.
fn parse_args() -> Result<Cli, clap::Error> {
    use clap::{CommandFactory, FromArgMatches};
    let invoked_as = std::env::args_os().next().unwrap_or_default();
    let plugin = std::path::Path::new(&invoked_as)
        .file_name()
        .is_some_and(|name| name == "kubectl-triage");
    let mut command = Cli::command();
    if plugin {
        command = command.bin_name("kubectl triage");
    }
    Cli::from_arg_matches(&command.try_get_matches()?)
}

fn main() -> ExitCode {
    let cli = match parse_args() {
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
    {
        use std::io::IsTerminal;
        triage::render::set_color(!cli.global.no_color && std::io::stdout().is_terminal());
    }
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
