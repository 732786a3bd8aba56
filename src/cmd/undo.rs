//! `jobq undo RUN_ID`: reverse one run's changes, newest entry first, each
//! a guarded step (`plan::undo`, `scripts/undo.lua`) that first checks the
//! job is still as that run left it, and otherwise skips it with the reason.
//! Undo is a run of its own (its start entry, its id, one entry per change
//! reversed), so undoing it redoes.
//!
//! The stream is read twice, a page at a time: once to count the run's
//! changes and find its start (for the prompt and the progress bar), then
//! from its newest entry down to its start, each page's steps sent in one
//! pipeline. Memory: one page of entries and steps, and the report's first
//! rows. Ctrl-C before the first write: nothing written; during the
//! writes: the page sent is waited for, the rest reported not run (130).

use std::time::Instant;

use anyhow::Result;

use super::audit::{survey, unknown_run, PAGE};
use super::{Ctx, Decision};
use crate::bytes::Bytes;
use crate::exit;
use crate::plan::undo::{pruned_keys, read, Change, Reading};
use crate::report::admin::Outcome;
use crate::report::undo::{ChangeRow, UndoReport};
use crate::settings::repair::Gate;
use crate::settings::undo::UndoSettings;
use crate::store::audit::{Audit, StreamEntry, READABLE_VERSIONS};
use crate::store::undo::{UndoOutcome, UndoStep};

/// The `action` of undo's own entries.
pub const ACTION: &str = "undo";

fn interrupted_before_writing() -> anyhow::Error {
    exit::with_code(exit::INTERRUPTED, "interrupted; nothing was written")
}

pub async fn run(ctx: Ctx<'_>, us: &UndoSettings) -> Result<(UndoReport, u8)> {
    let Ctx { settings, ui, intr } = ctx;
    let started = Instant::now();
    let stream = settings.ns.audit();
    let dry_run = us.gate == Gate::DryRun;
    let (mut store, s) = tokio::select! {
        r = async {
            let mut store = ctx.connect().await?;
            let s = survey(&mut store, &stream, &us.run).await?;
            anyhow::Ok((store, s))
        } => r?,
        _ = intr.wait() => return Err(interrupted_before_writing()),
    };
    if s.start.is_none() && s.changes == 0 {
        return Err(unknown_run(&mut store, &us.run, &stream, s.stream_oldest.as_deref()).await);
    }
    let mut report = UndoReport::new(&us.run, dry_run);
    report.undoes_argv = s.start.as_ref().map(|e| e.text("argv"));
    report.undoes_version = s.start.as_ref().map(|e| e.text("version"));
    report.trimmed = s.trimmed(&us.run);
    let finish = |mut report: UndoReport, code: u8| {
        report.elapsed_seconds = started.elapsed().as_secs_f64();
        Ok((report, code))
    };
    if s.changes == 0 {
        let code = leftover_code(&report);
        return finish(report, code);
    }
    let prompt = || {
        format!(
            "Undo {} change(s) of run {}{} on {}?",
            s.changes,
            us.run,
            report
                .undoes_argv
                .as_deref()
                .map(|a| format!(" ({a})"))
                .unwrap_or_default(),
            store.display_url()
        )
    };
    let decision = ctx.confirm(us.gate, prompt)?;
    if decision == Decision::Declined {
        report.declined = true;
        return finish(report, exit::DECLINED);
    }
    if intr.is_set() {
        return Err(interrupted_before_writing());
    }
    let audit = Audit::new(stream.clone(), ACTION);
    if decision == Decision::Approved {
        store.require_writable()?;
        store.open_run(&audit).await?;
        report.run_id = Some(audit.run_id.clone());
    }
    store.load_undo_script().await?;
    let progress = ui.progress(Some(s.changes), "undo");
    let mut end = s.newest.clone().unwrap_or_else(|| "+".to_owned());
    let start_id = s.start.as_ref().map(|e| e.id.clone());
    let mut seen = 0u64;
    let mut stop = false;
    'pages: loop {
        let page = store.audit_page_rev(&stream, &end, PAGE).await?;
        let Some(last) = page.last() else { break };
        end = format!("({}", last.id);
        let mine: Vec<&StreamEntry> = page
            .iter()
            .take_while(|e| Some(&e.id) != start_id.as_ref())
            .filter(|e| e.get("run") == Some(us.run.as_bytes()))
            .collect();
        let reached_start = page.iter().any(|e| Some(&e.id) == start_id.as_ref());
        if stop || intr.is_set() {
            report.interrupted |= intr.is_set();
            report.add(Outcome::NotRun, s.changes.saturating_sub(seen));
            break 'pages;
        }
        let mut steps: Vec<UndoStep> = Vec::new();
        let mut rows: Vec<ChangeRow> = Vec::new();
        // The records the page's prune entries deleted, from their backups.
        let pruned = super::undo_prune::records(&mine, us.backup.as_deref());
        for e in mine {
            seen += 1;
            for (row, step) in plan_entry(settings, &audit, e, &us.run, &pruned) {
                match step {
                    Some(step) => {
                        steps.push(step);
                        rows.push(row);
                    }
                    None => report.push(row),
                }
            }
        }
        match store
            .undo_steps(&stream, audit.maxlen, dry_run, &steps)
            .await
        {
            Ok(outs) => {
                for (mut row, o) in rows.into_iter().zip(outs) {
                    let (outcome, reason) = describe(o);
                    if outcome == Outcome::Failed
                        && reason
                            .as_deref()
                            .is_some_and(|r| r.starts_with("refused: "))
                    {
                        stop = true;
                    }
                    row.outcome = outcome;
                    row.reason = reason;
                    report.push(row);
                }
            }
            Err(e) => {
                // No reply: which of these ran is unknown. Stop; a rerun
                // re-reads, and its guards make that safe.
                let why = format!("{e:#}");
                for mut row in rows {
                    row.outcome = Outcome::Unknown;
                    row.reason = Some(why.clone());
                    report.push(row);
                }
                stop = true;
            }
        }
        progress.set_position(seen);
        if reached_start || page.len() < PAGE || seen >= s.changes {
            break;
        }
    }
    progress.finish();
    let code = if report.interrupted {
        exit::INTERRUPTED
    } else if dry_run {
        if report.count(Outcome::Planned) > 0 {
            exit::FINDINGS
        } else {
            leftover_code(&report)
        }
    } else {
        leftover_code(&report)
    };
    finish(report, code)
}

/// One entry's rows, each with its step (none when it cannot be
/// reversed: the row says why). A prune entry has one per record.
fn plan_entry(
    settings: &crate::settings::Settings,
    audit: &Audit,
    e: &StreamEntry,
    run: &str,
    pruned: &super::undo_prune::Pruned,
) -> Vec<(ChangeRow, Option<UndoStep>)> {
    if e.get("action") == Some(b"prune") && READABLE_VERSIONS.contains(&e.text("v").as_str()) {
        return pruned_keys(e)
            .into_iter()
            .map(|(key, job)| {
                let row = ChangeRow {
                    entry: e.id.clone(),
                    action: "prune".into(),
                    job_id: Bytes(job),
                    key: Bytes(key.clone()),
                    outcome: Outcome::Refused,
                    reason: None,
                };
                match pruned.change(e, &key) {
                    Ok(c) => step_of(settings, audit, e, run, row, c),
                    Err(why) => (
                        ChangeRow {
                            reason: Some(why),
                            ..row
                        },
                        None,
                    ),
                }
            })
            .collect();
    }
    vec![plan_one(settings, audit, e, run)]
}

/// One entry's row, and its step (none when it cannot be reversed: the
/// row says why).
fn plan_one(
    settings: &crate::settings::Settings,
    audit: &Audit,
    e: &StreamEntry,
    run: &str,
) -> (ChangeRow, Option<UndoStep>) {
    let mut row = ChangeRow {
        entry: e.id.clone(),
        action: e.text("action"),
        job_id: Bytes(e.get("job").unwrap_or_default().to_vec()),
        key: Bytes(e.get("key").unwrap_or_default().to_vec()),
        outcome: Outcome::Refused,
        reason: None,
    };
    let v = e.text("v");
    if !READABLE_VERSIONS.contains(&v.as_str()) {
        row.reason = Some(format!(
            "an entry of format {v:?}, which this jobq does not read"
        ));
        return (row, None);
    }
    let change: Change = match read(e) {
        Reading::Change(c) => *c,
        Reading::Start => {
            row.reason = Some("a run's start entry".into());
            return (row, None);
        }
        Reading::Opaque(why) => {
            row.reason = Some(why);
            return (row, None);
        }
        Reading::Batch => {
            row.reason = Some("a batch entry of an unreadable format".into());
            return (row, None);
        }
    };
    step_of(settings, audit, e, run, row, change)
}

/// The step that reverses `change` (read from entry `e`), with undo's
/// entry for it.
fn step_of(
    settings: &crate::settings::Settings,
    audit: &Audit,
    e: &StreamEntry,
    run: &str,
    mut row: ChangeRow,
    change: Change,
) -> (ChangeRow, Option<UndoStep>) {
    let inverse = match change.inverse(ACTION) {
        Ok(i) => i,
        Err(why) => {
            row.reason = Some(why);
            return (row, None);
        }
    };
    let absent = if change.reverse_restores_a_job() {
        other_keys(&settings.model, &change.key)
    } else {
        Vec::new()
    };
    let mut pairs: Vec<(String, Vec<u8>)> = vec![
        ("action".into(), ACTION.as_bytes().to_vec()),
        ("undoes".into(), e.id.as_bytes().to_vec()),
        ("undoes.run".into(), run.as_bytes().to_vec()),
        ("undoes.action".into(), change.action.as_bytes().to_vec()),
    ];
    pairs.extend(inverse.entry());
    let refs: Vec<(&str, &[u8])> = pairs
        .iter()
        .map(|(f, v)| (f.as_str(), v.as_slice()))
        .collect();
    let step = UndoStep {
        step: inverse.step(&absent),
        entry: audit.entry(&refs),
    };
    (row, Some(step))
}

/// The job's records under every other status: a record put back must be
/// its job's only one (a worker may have re-created it meanwhile).
fn other_keys(model: &crate::schema::Model, key: &[u8]) -> Vec<Vec<u8>> {
    let Ok(parsed) = model.parse_key(key) else {
        return Vec::new();
    };
    model
        .status
        .values
        .iter()
        .map(|st| model.rekey(&parsed, &model.status.field, st))
        .filter(|k| k.as_slice() != key)
        .collect()
}

fn describe(o: UndoOutcome) -> (Outcome, Option<String>) {
    match o {
        UndoOutcome::Applied => (Outcome::Applied, None),
        UndoOutcome::WouldApply => (Outcome::Planned, None),
        UndoOutcome::Skipped(why) => (
            Outcome::Skipped,
            Some(format!("{why} since that run: untouched")),
        ),
        UndoOutcome::WrongType(k) => (
            Outcome::Failed,
            Some(format!(
                "{} has the wrong type: untouched",
                crate::bytes::escape_bytes(&k)
            )),
        ),
        UndoOutcome::Error(e) if e.is_refusal() => (Outcome::Failed, Some(format!("refused: {e}"))),
        UndoOutcome::Error(e) => (Outcome::Failed, Some(e.to_string())),
    }
}

/// 0 when every change was reversed; 4 when any was skipped, refused,
/// failed, unknown or not run, or the stream lost the run's start.
fn leftover_code(report: &UndoReport) -> u8 {
    let left: u64 = [
        Outcome::Skipped,
        Outcome::Refused,
        Outcome::Failed,
        Outcome::Unknown,
        Outcome::NotRun,
    ]
    .iter()
    .map(|o| report.count(*o))
    .sum();
    if left > 0 || report.trimmed.is_some() {
        exit::PARTIAL
    } else {
        exit::OK
    }
}
