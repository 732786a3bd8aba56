//! `jobq retry`: walk the status index retried from (SSCAN, page by page;
//! or the records of the job_ids given), read each page's records with
//! pipelined HMGETs, select with `plan::select`, and move each selected job
//! back to pending through the move script reap shares (`plan::admin`).
//!
//! Memory is bounded by a window of work: with `--yes` each page is applied
//! as it is read. Otherwise a first walk counts what would be retried and
//! asks; then, when the selection fits in the window ([`WINDOW`]), exactly
//! it is applied (a job changed since is `skipped`); a larger one is walked
//! again page by page, up to the count confirmed, and each page applied as
//! read, its guards re-checked by the script.

use std::time::Instant;

use anyhow::Result;

use super::admin::{final_code, leftover_code, step_end, Candidates, StepEnd, PAGE};
use super::{Ctx, Decision};
use crate::bytes::Bytes;
use crate::exit;
use crate::plan::admin::{retry_step, Selected};
use crate::plan::select::{pick, Pick};
use crate::report::admin::{AdminReport, JobRow, Outcome};
use crate::settings::repair::Gate;
use crate::settings::retry::RetrySettings;
use crate::settings::Settings;
use crate::store::audit::Audit;
use crate::store::moves::{MoveOutcome, MoveRecord};
use crate::store::Store;

/// A confirmed selection up to this size is kept and applied exactly.
pub const WINDOW: usize = 10_000;

fn interrupted_before_writing() -> anyhow::Error {
    exit::with_code(exit::INTERRUPTED, "interrupted; nothing was written")
}

/// The candidates of a retry: the status index, or the job_ids' records.
async fn candidates(
    store: &mut Store,
    settings: &Settings,
    rs: &RetrySettings,
) -> Result<Candidates> {
    let model = &settings.model;
    let keys = if rs.filter.ids.is_empty() {
        None
    } else {
        let found = super::delete::records_of(store, model, &rs.filter.ids).await?;
        Some(found.into_iter().flat_map(|(_, k)| k).collect())
    };
    Ok(Candidates::new(keys, model.status_index(&rs.status)))
}

/// What a walk does with what it selects.
enum Mode<'a> {
    /// Count it (rows as planned), keeping the records while they fit.
    Plan(&'a mut Option<Vec<Selected>>),
    /// Move it, page by page.
    Apply(&'a Audit),
}

pub async fn run(ctx: Ctx<'_>, rs: &RetrySettings) -> Result<(AdminReport, u8)> {
    let Ctx { settings, ui, intr } = ctx;
    let started = Instant::now();
    let finish = |mut report: AdminReport, code: u8| {
        report.elapsed_seconds = started.elapsed().as_secs_f64();
        Ok((report, code))
    };
    let mut store = tokio::select! {
        s = crate::cmd::connect(&settings.connect, ui) => s?,
        _ = intr.wait() => return Err(interrupted_before_writing()),
    };
    let mut limit = rs.limit;
    if rs.gate != Gate::Go {
        let mut kept = Some(Vec::new());
        let mut report = AdminReport::new("retry", rs.gate == Gate::DryRun);
        tokio::select! {
            r = walk(ctx, &mut store, rs, limit, &mut report, Mode::Plan(&mut kept)) => r?,
            _ = intr.wait() => return Err(interrupted_before_writing()),
        };
        let planned = report.count(Outcome::Planned);
        if planned == 0 {
            let code = leftover_code(&report);
            return finish(report, code);
        }
        if rs.gate == Gate::Ask {
            ui.show_admin_plan(&report);
        }
        let prompt = || {
            format!(
                "Move {planned} {} job(s) back to {} on {}?",
                rs.status,
                settings.model.status.pending,
                store.display_url()
            )
        };
        match ctx.confirm(rs.gate, prompt)? {
            Decision::Approved => {}
            Decision::DryRun => return finish(report, exit::FINDINGS),
            Decision::Declined => {
                report.declined = true;
                return finish(report, exit::DECLINED);
            }
        }
        if intr.is_set() {
            return Err(interrupted_before_writing());
        }
        // What was shown is what is applied: never more than confirmed.
        limit = Some(planned);
        if let Some(kept) = kept {
            let refused: Vec<JobRow> = report
                .jobs
                .iter()
                .filter(|r| r.outcome == Outcome::Refused)
                .cloned()
                .collect();
            let mut report = AdminReport::new("retry", false);
            for row in refused {
                report.push(row);
            }
            let audit = prepare(settings, &mut store).await?;
            report.run_id = Some(audit.run_id.clone());
            let progress = ui.progress(Some(kept.len() as u64), "retry");
            for chunk in kept.chunks(PAGE as usize) {
                if intr.is_set() {
                    report.interrupted = true;
                    for sel in chunk {
                        report.push(row(sel, Outcome::NotRun, None));
                    }
                    continue;
                }
                apply(settings, &mut store, rs, &audit, chunk, &mut report).await;
                progress.inc(chunk.len() as u64);
            }
            progress.finish();
            let code = final_code(&report);
            return finish(report, code);
        }
    }
    let mut report = AdminReport::new("retry", false);
    let audit = prepare(settings, &mut store).await?;
    report.run_id = Some(audit.run_id.clone());
    walk(ctx, &mut store, rs, limit, &mut report, Mode::Apply(&audit)).await?;
    // Nothing selected, nothing sent: no run to name.
    if report.jobs.iter().all(|r| r.outcome == Outcome::Refused) && report.jobs_not_listed == 0 {
        report.run_id = None;
    }
    let code = final_code(&report);
    finish(report, code)
}

/// Before the first write: a writable primary, the audit stream writable,
/// the move script loaded; the run's audit header.
async fn prepare(settings: &Settings, store: &mut Store) -> Result<Audit> {
    store.require_writable()?;
    let audit = Audit::new(settings.ns.audit(), "retry");
    store.open_run(&audit).await?;
    let scripts = crate::store::script::scripts();
    store.load_script(&scripts.move_record).await?;
    store.load_script(&scripts.index_swap).await?;
    Ok(audit)
}

/// Walk the candidates page by page, selecting up to `limit`.
async fn walk(
    ctx: Ctx<'_>,
    store: &mut Store,
    rs: &RetrySettings,
    limit: Option<u64>,
    report: &mut AdminReport,
    mut mode: Mode<'_>,
) -> Result<()> {
    let Ctx { settings, ui, intr } = ctx;
    let model = &settings.model;
    let fields = rs.filter.read_fields(model);
    let mut cand = candidates(store, settings, rs).await?;
    let mut taken: u64 = 0;
    let progress = ui.progress(None, "retry");
    while let Some(keys) = cand.next(store).await? {
        if keys.is_empty() {
            continue;
        }
        let (now, reads) = store.read_fields(&keys, &fields).await?;
        let mut page: Vec<Selected> = Vec::new();
        for (key, read) in keys.iter().zip(&reads) {
            if limit.is_some_and(|l| taken >= l) {
                break;
            }
            match pick(model, &rs.filter, &rs.status, now, key, &fields, read) {
                Pick::Take(sel) => {
                    taken += 1;
                    page.push(sel);
                }
                Pick::Refuse(sel, why) => report.push(row(&sel, Outcome::Refused, Some(why))),
                Pick::Pass => {}
            }
        }
        match &mut mode {
            Mode::Plan(kept) => {
                for sel in &page {
                    report.push(row(sel, Outcome::Planned, None));
                }
                if let Some(k) = kept {
                    if k.len() + page.len() <= WINDOW {
                        k.extend(page);
                    } else {
                        // Too many to hold: the apply walks again.
                        **kept = None;
                    }
                }
            }
            Mode::Apply(audit) => {
                // Ctrl-C between pages: what was applied stays applied,
                // the rest is left for a rerun.
                if intr.is_set() {
                    report.interrupted = true;
                    break;
                }
                apply(settings, store, rs, audit, &page, report).await;
                if report.count(Outcome::Unknown) > 0 || refused(report) {
                    break;
                }
            }
        }
        progress.inc(keys.len() as u64);
        if limit.is_some_and(|l| taken >= l) {
            break;
        }
    }
    progress.finish();
    Ok(())
}

fn refused(report: &AdminReport) -> bool {
    report.jobs.iter().any(|r| {
        r.outcome == Outcome::Failed
            && r.reason
                .as_deref()
                .is_some_and(|w| w.starts_with("refused: "))
    })
}

/// Move a page of selected jobs (one pipelined round trip of the move
/// script); a row per job.
async fn apply(
    settings: &Settings,
    store: &mut Store,
    rs: &RetrySettings,
    audit: &Audit,
    page: &[Selected],
    report: &mut AdminReport,
) {
    let model = &settings.model;
    let moves: Vec<(&Selected, MoveRecord)> = page
        .iter()
        .filter_map(|sel| retry_step(model, audit, sel, rs.priority.as_ref()).map(|m| (sel, m)))
        .collect();
    match store.move_records(moves.iter().map(|(_, m)| m)).await {
        Ok(outs) => {
            for ((sel, _), o) in moves.iter().zip(outs) {
                let (outcome, reason) = describe(o);
                report.push(row(sel, outcome, reason));
            }
        }
        Err(e) => {
            let why = format!("{e:#}");
            for (sel, _) in &moves {
                report.push(row(sel, Outcome::Unknown, Some(why.clone())));
            }
        }
    }
}

fn row(sel: &Selected, outcome: Outcome, reason: Option<String>) -> JobRow {
    JobRow {
        job_id: Bytes(sel.job_id.clone()),
        key: Some(Bytes(sel.key.clone())),
        status: sel.status(),
        outcome,
        reason,
    }
}

fn describe(o: MoveOutcome) -> (Outcome, Option<String>) {
    let end = match &o {
        MoveOutcome::Moved { .. } => StepEnd::Applied,
        MoveOutcome::Skipped(r) => StepEnd::Skipped(r),
        MoveOutcome::WrongType(k) => StepEnd::WrongType(k),
        MoveOutcome::Error(e) => StepEnd::Error(e),
    };
    step_end(end, "selected")
}
