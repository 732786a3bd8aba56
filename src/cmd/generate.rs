//! `jobq generate --out-dir DIR` (hidden): shell completions and man pages,
//! generated from the clap tree. Both are checked in; a test compares them.

use std::path::Path;

use anyhow::{Context, Result};
use clap::CommandFactory;

use crate::cli::Cli;

/// Every generated file: (path relative to the out dir, contents).
pub fn files() -> Result<Vec<(String, Vec<u8>)>> {
    use clap_complete::Shell;
    let mut out = Vec::new();
    for shell in [
        Shell::Bash,
        Shell::Zsh,
        Shell::Fish,
        Shell::Elvish,
        Shell::PowerShell,
    ] {
        let mut cmd = Cli::command();
        let mut buf = Vec::new();
        clap_complete::generate(shell, &mut cmd, "jobq", &mut buf);
        let name = match shell {
            Shell::Bash => "jobq.bash",
            Shell::Zsh => "_jobq",
            Shell::Fish => "jobq.fish",
            Shell::Elvish => "jobq.elv",
            _ => "_jobq.ps1",
        };
        out.push((format!("completions/{name}"), buf));
    }
    out.extend(crate::output::man::pages()?);
    Ok(out)
}

pub fn run(out_dir: &Path) -> Result<()> {
    for (rel, bytes) in files()? {
        let path = out_dir.join(&rel);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
        }
        std::fs::write(&path, bytes).with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}
