//! The terminal side of mutations: asking before every change. `--yes` answers for
//! the user; without a terminal and without `--yes` triage refuses before it writes.

use std::io::{IsTerminal, Write};

use crate::error::TriageError;

/// Something that answers "apply this?".
pub trait Confirm {
    fn confirm(&mut self, question: &str) -> Result<bool, TriageError>;
}

/// `--yes`: every question answered yes (scripted use).
pub struct AssumeYes;

impl Confirm for AssumeYes {
    fn confirm(&mut self, _question: &str) -> Result<bool, TriageError> {
        Ok(true)
    }
}

/// A y/N prompt on the terminal, default No.
pub struct TerminalPrompt;

impl Confirm for TerminalPrompt {
    fn confirm(&mut self, question: &str) -> Result<bool, TriageError> {
        dialoguer::Confirm::new()
            .with_prompt(question)
            .default(false)
            .wait_for_newline(true)
            .interact()
            .map_err(|err| TriageError::usage(format!("cannot read the answer: {err}"), None))
    }
}

/// The confirmer for this run, or the refusal when a prompt is needed but there is
/// no terminal to ask on.
pub fn confirmer(yes: bool) -> Result<Box<dyn Confirm>, TriageError> {
    if yes {
        return Ok(Box::new(AssumeYes));
    }
    if !(std::io::stdin().is_terminal() && std::io::stderr().is_terminal()) {
        return Err(TriageError::usage(
            "no terminal to confirm changes on, and --yes was not given: nothing was changed",
            Some(
                "run in a terminal, preview with --dry-run, or pass --yes to apply without asking"
                    .to_string(),
            ),
        ));
    }
    Ok(Box::new(TerminalPrompt))
}

/// The executor's progress, on stdout as it happens and flushed at once (a person is
/// watching `repair` and `restore` work).
pub struct Progress;

impl Write for Progress {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        let mut out = std::io::stdout().lock();
        out.write_all(bytes)?;
        out.flush()?;
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stdout().flush()
    }
}
