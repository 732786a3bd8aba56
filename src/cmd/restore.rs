//! `jobq restore BACKUP`: re-create the records of a prune's backup file,
//! each in one guarded step (`plan::prune::restore_step`, the restore
//! script) with its own audit entry. The file is read a line at a time,
//! a batch of records per pipelined round trip: memory is bounded by a
//! batch, never by the file.
//!
//! Without `--yes`, a first read of the file counts its records (rows
//! listed up to the report's cap) and asks; the apply then reads it again
//! and restores up to the count confirmed. Ctrl-C between batches stops
//! the run (exit 130); a rerun skips what was restored (the key exists).

use std::time::Instant;

use anyhow::Result;

use super::admin::{final_code, is_refusal, step_end, StepEnd};
use super::{Ctx, Decision};
use crate::backup::{Reader, Record};
use crate::exit;
use crate::plan::prune::restore_step;
use crate::report::admin::{AdminReport, JobRow, Outcome};
use crate::schema::msgpack::{decode, Value};
use crate::schema::Model;
use crate::settings::repair::Gate;
use crate::settings::restore::RestoreSettings;
use crate::store::audit::Audit;
use crate::store::prune::{RestoreOutcome, RestoreRecord};

/// Records per pipelined round trip (one script call each).
const BATCH: usize = 100;

fn interrupted_before_writing() -> anyhow::Error {
    exit::with_code(exit::INTERRUPTED, "interrupted; nothing was written")
}

pub async fn run(ctx: Ctx<'_>, rs: &RestoreSettings) -> Result<(AdminReport, u8)> {
    let Ctx { settings, ui, intr } = ctx;
    let model = &settings.model;
    let started = Instant::now();
    let finish = |mut report: AdminReport, code: u8| {
        report.elapsed_seconds = started.elapsed().as_secs_f64();
        Ok((report, code))
    };
    let mut reader = open(model, rs)?;
    let absolute = std::fs::canonicalize(&rs.file)
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_else(|_| rs.file.to_string_lossy().into_owned());
    let mut store = tokio::select! {
        s = ctx.connect() => s?,
        _ = intr.wait() => return Err(interrupted_before_writing()),
    };
    let mut limit: Option<u64> = None;
    if rs.gate != Gate::Go {
        let mut report = AdminReport::new("restore", rs.gate == Gate::DryRun);
        report.backup = Some(absolute.clone());
        while let Some(rec) = reader.next_record()? {
            if intr.is_set() {
                return Err(interrupted_before_writing());
            }
            report.push(row(model, &rec, Outcome::Planned, None));
        }
        warn_unfinished(ui, &reader);
        let planned = report.count(Outcome::Planned);
        if planned == 0 {
            return finish(report, exit::OK);
        }
        if rs.gate == Gate::Ask {
            ui.show_admin_plan(&report);
        }
        let prompt = || {
            format!(
                "Restore {planned} record(s) from {} to {}?",
                rs.file.display(),
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
        limit = Some(planned);
        reader = open(model, rs)?;
    }
    store.require_writable()?;
    let audit = Audit::new(settings.ns.audit(), "restore");
    store.open_run(&audit).await?;
    store.load_restore_script().await?;
    let mut report = AdminReport::new("restore", false);
    report.run_id = Some(audit.run_id.clone());
    report.backup = Some(absolute.clone());
    let progress = ui.progress(limit, "restore");
    let mut read: u64 = 0;
    let mut stop = false;
    loop {
        let mut batch: Vec<Record> = Vec::with_capacity(BATCH);
        while batch.len() < BATCH && limit.is_none_or(|l| read < l) {
            match reader.next_record()? {
                Some(r) => {
                    read += 1;
                    batch.push(r);
                }
                None => break,
            }
        }
        if batch.is_empty() {
            break;
        }
        if stop || intr.is_set() {
            report.interrupted |= intr.is_set();
            for rec in &batch {
                report.push(row(model, rec, Outcome::NotRun, None));
            }
            continue;
        }
        let mut steps: Vec<(&Record, RestoreRecord)> = Vec::with_capacity(batch.len());
        for rec in &batch {
            match restore_step(model, &audit, rec, absolute.as_bytes()) {
                Ok(s) => steps.push((rec, s)),
                Err(why) => report.push(row(
                    model,
                    rec,
                    Outcome::Refused,
                    Some(format!("{why}: never touched")),
                )),
            }
        }
        let calls: Vec<RestoreRecord> = steps.iter().map(|(_, s)| s.clone()).collect();
        match store.restore_records(&calls).await {
            Ok(outs) => {
                for ((rec, _), o) in steps.iter().zip(outs) {
                    let (outcome, reason) = describe(&o);
                    stop |= outcome == Outcome::Failed && is_refusal(reason.as_deref());
                    report.push(row(model, rec, outcome, reason));
                }
            }
            Err(e) => {
                let why = format!("{e:#}");
                for (rec, _) in &steps {
                    report.push(row(model, rec, Outcome::Unknown, Some(why.clone())));
                }
                stop = true;
            }
        }
        progress.inc(batch.len() as u64);
    }
    progress.finish();
    if rs.gate == Gate::Go {
        warn_unfinished(ui, &reader);
    }
    if report.count(Outcome::Applied) == 0 {
        report.run_id = None;
    }
    let code = final_code(&report);
    finish(report, code)
}

/// The backup, its header checked against the model (exit 2 when it is
/// not a backup, or one of another model).
fn open(model: &Model, rs: &RestoreSettings) -> Result<Reader> {
    let reader = Reader::open(&rs.file)?;
    if reader.header.model != model.class {
        return Err(exit::usage(format!(
            "{} is a backup of the {} model, not of {} (see --schema); nothing was written",
            rs.file.display(),
            reader.header.model,
            model.class
        )));
    }
    Ok(reader)
}

/// A backup whose closing line is missing: its prune was killed. Every
/// line on disk was written before its record was deleted, so restoring
/// it is safe; say so.
fn warn_unfinished(ui: &crate::output::Ui, reader: &Reader) {
    let cut = if reader.cut {
        " (its last line was cut short and is ignored: that record was never deleted)"
    } else {
        ""
    };
    match &reader.ended {
        None => ui.warn(format!(
            "{} has no closing line: its prune was killed before it finished{cut}; every complete line is restorable",
            reader.path().display()
        )),
        Some(e) if !e.complete => ui.warn(format!(
            "{}: its prune did not finish ({}); the records it holds are restorable",
            reader.path().display(),
            e.reason.as_deref().unwrap_or("no reason given")
        )),
        Some(_) => {}
    }
}

fn describe(o: &RestoreOutcome) -> (Outcome, Option<String>) {
    let end = match o {
        RestoreOutcome::Restored => StepEnd::Applied,
        RestoreOutcome::Skipped(r) => {
            return (
                Outcome::Skipped,
                Some(format!(
                    "{}: the job exists (restored already, or re-created since): untouched",
                    r.name().replace('_', " ")
                )),
            )
        }
        RestoreOutcome::WrongType(k) => StepEnd::WrongType(k),
        RestoreOutcome::Error(e) => StepEnd::Error(e),
    };
    step_end(end, "read")
}

fn row(model: &Model, rec: &Record, outcome: Outcome, reason: Option<String>) -> JobRow {
    let status = rec
        .fields
        .iter()
        .find(|(f, _)| f.as_slice() == model.status.field.as_bytes())
        .and_then(|(_, v)| match decode(v.as_slice()) {
            Ok(Value::Str(s)) => Some(s),
            _ => None,
        });
    JobRow {
        job_id: rec.job_id.clone(),
        key: Some(rec.key.clone()),
        status,
        outcome,
        reason,
    }
}
