//! `reindex --plan FILE`, and the second half of asking first: count the
//! plan file (checking every step, so a bad one refuses it whole before
//! anything is written), show it, ask as the gate says, then read it
//! again and apply it window by window.
//!
//! Owns: [`from_file`], [`decide_and_apply`]. Must not: print (the `Ui`
//! does) or plan.

use std::path::Path;
use std::time::Instant;

use anyhow::Result;

use super::{finish, interrupted_before_writing, ready_to_write, Ending, Tally, FILE_WINDOW};
use crate::cmd::{Ctx, Decision};
use crate::exit;
use crate::plan::file::{PlanLine, PlanReader};
use crate::plan::Action;
use crate::report::reindex::ReindexReport;
use crate::settings::repair::{Gate, ReindexSettings};
use crate::store::Store;

/// `--plan FILE`: check the whole file, then (as the gate says) apply it.
pub(super) async fn from_file(
    ctx: Ctx<'_>,
    args: &ReindexSettings,
    store: Store,
    tally: Tally,
    path: &Path,
    gate: Gate,
    started: Instant,
) -> Result<(ReindexReport, u8)> {
    let model = &ctx.settings.model;
    let mut tally = tally;
    // A dry run's report file lists the plan as read.
    let out = if gate == Gate::DryRun {
        tally.out.take()
    } else {
        None
    };
    let mut preview = Tally::new(args.show, out);
    let mut reader = PlanReader::open(path, model)?;
    while let Some(line) = reader.next(path, model)? {
        match line {
            PlanLine::Action(a) => {
                preview.planned(&a);
                preview.listed_as_planned(&a)?;
            }
            PlanLine::NeedsPolicy(s) => preview.needs_policy(s)?,
            PlanLine::Untouched(s) => preview.untouched(s)?,
            PlanLine::End(_) => {}
        }
    }
    if !reader.complete() {
        ctx.ui.warn(format!(
            "{} does not say it is complete (the scan that wrote it was stopped{}): it holds {} step(s), and only those are applied",
            path.display(),
            if reader.cut { ", in the middle of a line, which is ignored" } else { "" },
            preview.planned
        ));
    }
    let ending = Ending {
        source: path.display().to_string(),
        scanned: None,
        unconfirmed: None,
    };
    decide_and_apply(
        ctx, args, store, tally, preview, path, ending, gate, started,
    )
    .await
}

/// Show the plan counted in `preview`, ask as the gate says, and apply the
/// plan file `path` once approved.
#[allow(clippy::too_many_arguments)]
pub(super) async fn decide_and_apply(
    ctx: Ctx<'_>,
    args: &ReindexSettings,
    mut store: Store,
    mut tally: Tally,
    preview: Tally,
    path: &Path,
    ending: Ending,
    gate: Gate,
    started: Instant,
) -> Result<(ReindexReport, u8)> {
    let Ctx { settings, ui, intr } = ctx;
    let elapsed = |mut r: (ReindexReport, u8)| {
        r.0.elapsed_seconds = started.elapsed().as_secs_f64();
        Ok(r)
    };
    let planned = preview.planned;
    let shown = |preview: Tally, dry_run: bool, declined: bool, code: u8| {
        let (mut report, leftover) = finish(preview, args, ending_copy(&ending), None, None)?;
        report.dry_run = dry_run;
        report.declined = declined;
        Ok::<_, anyhow::Error>((report, if code == exit::OK { leftover } else { code }))
    };
    if planned == 0 {
        tally.close(None)?;
        return elapsed(shown(preview, gate == Gate::DryRun, false, exit::OK)?);
    }
    if gate == Gate::Ask {
        ui.show_plan(&preview.actions.items, planned);
    }
    let prompt = || format!("Apply {planned} repair(s) to {}?", store.display_url());
    match ctx.confirm(gate, prompt)? {
        Decision::Approved => {}
        Decision::DryRun => {
            tally.close(None)?;
            return elapsed(shown(preview, true, false, exit::FINDINGS)?);
        }
        Decision::Declined => {
            tally.close(Some("declined"))?;
            return elapsed(shown(preview, false, true, exit::DECLINED)?);
        }
    }
    // A signal while the prompt waited (it blocks this thread) is seen now.
    if intr.is_set() {
        tally.close(Some("interrupted"))?;
        return Err(interrupted_before_writing());
    }
    let model = &settings.model;
    let mut applier = ready_to_write(settings, &mut store, intr).await?;
    let progress = ui.progress(Some(planned), "repair");
    let mut reader = PlanReader::open(path, model)?;
    let mut window: Vec<Action> = Vec::with_capacity(FILE_WINDOW);
    let mut failed: Option<anyhow::Error> = None;
    loop {
        let line = match reader.next(path, model) {
            Ok(l) => l,
            Err(e) => {
                failed = Some(e);
                None
            }
        };
        let last = line.is_none();
        match line {
            Some(PlanLine::Action(a)) => {
                tally.planned(&a);
                window.push(a);
            }
            Some(PlanLine::NeedsPolicy(s)) => tally.needs_policy(s)?,
            Some(PlanLine::Untouched(s)) => tally.untouched(s)?,
            Some(PlanLine::End(_)) | None => {}
        }
        if window.len() >= FILE_WINDOW || (last && !window.is_empty()) {
            let n = window.len() as u64;
            let batch = std::mem::replace(&mut window, Vec::with_capacity(FILE_WINDOW));
            if let Err(e) = applier.apply(batch, &mut tally).await {
                failed = Some(e);
                break;
            }
            progress.inc(n);
            if applier.refused.is_some() {
                break;
            }
        }
        if last {
            break;
        }
    }
    let drained = applier.finish(&mut tally).await;
    progress.finish();
    if let Some(e) = failed {
        tally.close(Some("the run failed"))?;
        return Err(e);
    }
    drained?;
    if let Some(why) = &applier.refused {
        tally.close(Some("refused"))?;
        return Err(super::refused_error(
            why,
            tally.applied,
            &applier.audit.run_id,
        ));
    }
    if applier.stopped {
        ui.warn("a batch got no reply, so its outcome is unknown; the run stopped there. Run jobq reindex again: it re-reads the state and its guards make that safe.");
    }
    let run_id = applier.audit.run_id.clone();
    if applier.interrupted {
        ui.warn(format!(
            "interrupted: {} repair(s) applied (run {run_id}), {} not run; run again to finish (jobq reindex re-reads the state, so what was done is not redone)",
            tally.applied, tally.not_run
        ));
        let (mut report, _) = finish(tally, args, ending, Some(run_id), Some("interrupted"))?;
        report.interrupted = true;
        return elapsed((report, exit::INTERRUPTED));
    }
    elapsed(finish(tally, args, ending, Some(run_id), None)?)
}

fn ending_copy(e: &Ending) -> Ending {
    Ending {
        source: e.source.clone(),
        scanned: e.scanned.clone(),
        unconfirmed: e.unconfirmed.clone(),
    }
}
