//! One module per subcommand: orchestration only. Each `run` resolves what
//! it needs, calls `store`/`diagnose`/`plan`, and returns a typed report and
//! an exit code; `dispatch` hands the report to `output`.
//!
//! Must not: print (use the `Ui` handed in), format keys, or call Redis
//! directly.

mod admin;
pub mod audit;
pub mod delete;
pub mod drain;
pub mod enqueue;
pub mod generate;
pub mod inspect;
pub mod interrupt;
pub mod prune;
pub mod read_from;
pub mod reap;
pub mod reindex;
pub mod restore;
pub mod retry;
pub mod scan;
pub mod session;
pub mod undo;
mod undo_prune;

use anyhow::Result;

use crate::cli::{Command, OrphansCommand};
use crate::exit;
use crate::output::Ui;
use crate::settings::repair::Gate;
use crate::settings::Settings;
use interrupt::Interrupt;

/// What every command is handed: the resolved settings, the one output
/// handle, and the one Ctrl-C service.
#[derive(Clone, Copy)]
pub struct Ctx<'a> {
    pub settings: &'a Settings,
    pub ui: &'a Ui,
    pub intr: &'a Interrupt,
}

/// What came of [`Ctx::confirm`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Approved,
    /// The user said no: the command reports that nothing was written and
    /// exits 5 ([`exit::DECLINED`]).
    Declined,
    DryRun,
}

impl Ctx<'_> {
    /// Connect to Redis (see [`connect`]).
    pub async fn connect(&self) -> Result<crate::store::Store> {
        connect(&self.settings.connect, self.ui).await
    }

    /// The one confirmation before writing. A dry run and `--yes` never
    /// prompt; a prompt with no terminal is a usage error (exit 2), Ctrl-C
    /// at it exits 130, and "no" is [`Decision::Declined`]. The prompt text
    /// is only built when it is shown.
    pub fn confirm(&self, gate: Gate, prompt: impl FnOnce() -> String) -> Result<Decision> {
        Ok(match gate {
            Gate::DryRun => Decision::DryRun,
            Gate::Go => Decision::Approved,
            Gate::Ask if self.ui.confirm(&prompt())? => Decision::Approved,
            Gate::Ask => Decision::Declined,
        })
    }
}

/// Connect to Redis, and say with `-v` which server answered and which
/// commands it lacks (with the stand-in used for each).
pub async fn connect(
    cfg: &crate::settings::ConnectSettings,
    ui: &Ui,
) -> Result<crate::store::Store> {
    let store = crate::store::Store::connect(cfg).await?;
    for note in &store.notes {
        ui.debug(note);
    }
    // What a replica shows lags its primary, and with the link down it
    // may be far behind: a read there is not the queue's state.
    match &store.replica {
        Some(r) if !r.link_up => ui.warn(format!(
            "{} is a replica of {} and its link to it is down: what it shows may be stale",
            store.display_url(),
            r.primary
        )),
        Some(r) => ui.debug(format!("reading a replica of {} (link up)", r.primary)),
        None => {}
    }
    Ok(store)
}

/// Whether a command watches the [`Interrupt`] itself (to release a lock, restore the
/// terminal, or report what it did before stopping).
pub fn handles_interrupt(cmd: &Command) -> bool {
    matches!(
        cmd,
        Command::Reap(_)
            | Command::Drain(_)
            | Command::Reindex(_)
            | Command::Orphans(OrphansCommand::Scan(_))
            | Command::Delete(_)
            | Command::Retry(_)
            | Command::Undo(_)
            | Command::Prune(_)
            | Command::Restore(_)
    ) || matches!(cmd, Command::Inspect(a) if a.watch.is_some())
}

/// Run a command and print its report; the exit code.
pub async fn dispatch(
    settings: &Settings,
    ui: &Ui,
    intr: &Interrupt,
    command: &Command,
) -> Result<u8> {
    let ctx = Ctx { settings, ui, intr };
    // Only the walks and polls read a replica; a command with none says
    // that the flag changes nothing for it.
    if settings.read_from.is_some()
        && matches!(
            command,
            Command::Enqueue(_)
                | Command::Reap(_)
                | Command::Retry(_)
                | Command::Delete(_)
                | Command::Prune(_)
                | Command::Restore(_)
        )
    {
        ui.warn("--read-from: this command reads nothing a replica could serve; everything goes to --url");
    }
    if settings.read_from.is_some() && matches!(command, Command::Drain(a) if a.ids.is_some()) {
        ui.warn("--read-from: drain --ids reads the given jobs on --url, so that no answer is a replica's");
    }
    match command {
        Command::Enqueue(args) => {
            let es = crate::settings::enqueue::EnqueueSettings::from_args(&settings.model, args)?;
            let (report, code) = enqueue::run(ctx, &es).await?;
            ui.emit(&report)?;
            Ok(code)
        }
        Command::Inspect(args) => {
            let is = crate::settings::inspect::InspectSettings::from_args(args, ui.settings.json)?;
            if let Some(m) = is.metrics {
                let (report, code) = inspect::metrics::run(ctx, &is, m).await?;
                ui.emit(&report)?;
                return Ok(code);
            }
            if let Some(period) = is.watch {
                let mut frames = crate::output::inspect::Frames::new(ui);
                let code = inspect::watch(ctx, &is, period, |r| frames.show(r)).await;
                frames.finish();
                return code;
            }
            let (report, code) = inspect::run(ctx, &is).await?;
            ui.emit(&report)?;
            Ok(code)
        }
        Command::Orphans(OrphansCommand::Scan(args)) => {
            let ss = crate::settings::repair::ScanSettings::from_args(args)?;
            let (report, code) = scan::run(ctx, &ss).await?;
            ui.emit(&report)?;
            Ok(code)
        }
        Command::Reindex(args) => {
            let rs = crate::settings::repair::ReindexSettings::from_args(args)?;
            let (report, code) = reindex::run(ctx, &rs).await?;
            ui.emit(&report)?;
            Ok(code)
        }
        Command::Reap(args) => {
            let rs = crate::settings::reap::ReapSettings::from_args(&settings.model, args)?;
            reap::run(ctx, &rs, |report| ui.emit(report)).await
        }
        Command::Retry(args) => {
            let rs = crate::settings::retry::RetrySettings::from_args(&settings.model, args)?;
            let (report, code) = retry::run(ctx, &rs).await?;
            ui.emit(&report)?;
            Ok(code)
        }
        Command::Delete(args) => {
            let ds = crate::settings::delete::DeleteSettings::from_args(args)?;
            let (report, code) = delete::run(ctx, &ds).await?;
            ui.emit(&report)?;
            Ok(code)
        }
        Command::Undo(args) => {
            let us = crate::settings::undo::UndoSettings::from_args(args)?;
            let (report, code) = undo::run(ctx, &us).await?;
            ui.emit(&report)?;
            Ok(code)
        }
        Command::Audit(args) => {
            let view = crate::settings::undo::AuditView::from_args(args)?;
            let (report, code) = audit::run(ctx, &view).await?;
            ui.emit(&report)?;
            Ok(code)
        }
        Command::Prune(args) => {
            let ps = crate::settings::prune::PruneSettings::from_args(&settings.model, args)?;
            let (report, code) = prune::run(ctx, &ps).await?;
            ui.emit(&report)?;
            Ok(code)
        }
        Command::Restore(args) => {
            let rs = crate::settings::restore::RestoreSettings::from_args(args);
            let (report, code) = restore::run(ctx, &rs).await?;
            ui.emit(&report)?;
            Ok(code)
        }
        Command::Drain(args) => {
            let ds = crate::settings::drain::DrainSettings::from_args(args)?;
            let (report, code) = drain::run(ctx, &ds).await?;
            ui.emit(&report)?;
            Ok(code)
        }
        Command::Generate(args) => {
            generate::run(&args.out_dir)?;
            Ok(exit::OK)
        }
    }
}
