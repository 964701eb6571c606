//! `triage completions SHELL`, and the generated files committed in `completions/`.

use clap_complete::Shell;

pub fn generate(shell: Shell) -> String {
    let mut command = crate::cli::command();
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut command, "triage", &mut out);
    String::from_utf8_lossy(&out).into_owned()
}

/// The man page (roff), as committed in `docs/triage.1`.
pub fn man_page() -> String {
    let mut out = Vec::new();
    // Rendering into a Vec cannot fail.
    let _ = clap_mangen::Man::new(crate::cli::command()).render(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}
