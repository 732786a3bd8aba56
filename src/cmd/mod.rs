//! One module per subcommand: orchestration only. Each `run` resolves what
//! it needs, calls `store`/`diagnose`/`plan`, and returns a typed report and
//! an exit code; `dispatch` hands the report to `output`.
//!
//! Must not: print (use the `Ui` handed in), format keys, or call Redis
//! directly.

pub mod enqueue;
pub mod generate;
pub mod reap;

use anyhow::Result;

use crate::cli::{Command, OrphansCommand};
use crate::exit;
use crate::output::Ui;
use crate::settings::Settings;

/// Whether a command handles Ctrl-C itself (to release a lock, restore the
/// terminal, or report what it did before stopping).
pub fn handles_interrupt(cmd: &Command) -> bool {
    matches!(cmd, Command::Reap(_) | Command::Drain(_))
        || matches!(cmd, Command::Inspect(a) if a.watch.is_some())
}

/// Run a command and print its report; the exit code.
pub async fn dispatch(settings: &Settings, ui: &Ui, command: &Command) -> Result<u8> {
    match command {
        Command::Enqueue(args) => {
            let (report, code) = enqueue::run(settings, ui, args).await?;
            ui.emit(&report)?;
            Ok(code)
        }
        Command::Inspect(_) => not_yet("inspect"),
        Command::Orphans(OrphansCommand::Scan(_)) => not_yet("orphans scan"),
        Command::Reindex(_) => not_yet("reindex"),
        Command::Reap(args) => reap::run(settings, ui, args, |report| ui.emit(report)).await,
        Command::Drain(_) => not_yet("drain"),
        Command::Generate(args) => {
            generate::run(&args.out_dir)?;
            Ok(exit::OK)
        }
    }
}

fn not_yet(name: &str) -> Result<u8> {
    Err(exit::with_code(
        exit::RUNTIME,
        format!("`jobq {name}` is not implemented yet"),
    ))
}
