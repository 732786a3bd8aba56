//! `jobq delete JOB_ID...`: find every record of each job_id (a SCAN MATCH
//! of the keyspace per id, as `inspect JOB_ID` does), read their status
//! fields, judge each (`plan::admin`), show the plan and ask, then delete
//! each record popoto-style in one guarded script with its before-image in
//! the audit stream.
//!
//! Ctrl-C before the first write ends the run with nothing written; during
//! the writes, the batch sent is waited for and the rest reported not run
//! (exit 130).

use std::time::Instant;

use anyhow::Result;

use super::{Ctx, Decision};
use crate::bytes::Bytes;
use crate::exit;
use crate::plan::admin::{delete_step, judge, Judgement, Selected};
use crate::report::admin::{AdminReport, JobRow, Outcome};
use crate::settings::delete::DeleteSettings;
use crate::settings::repair::Gate;
use crate::settings::Settings;
use crate::store::audit::Audit;
use crate::store::delete::{DeleteOutcome, DeleteRecord};
use crate::store::Store;

/// Keys per SCAN step when looking for a job's records.
const SCAN_COUNT: u32 = 1000;
/// Deletes per pipelined round trip.
const BATCH: usize = 100;

fn interrupted_before_writing() -> anyhow::Error {
    exit::with_code(exit::INTERRUPTED, "interrupted; nothing was written")
}

pub async fn run(ctx: Ctx<'_>, ds: &DeleteSettings) -> Result<(AdminReport, u8)> {
    let Ctx { settings, ui, intr } = ctx;
    let started = Instant::now();
    let (mut store, selected) = tokio::select! {
        r = read(settings, ui, ds) => r?,
        _ = intr.wait() => return Err(interrupted_before_writing()),
    };
    let model = &settings.model;
    let mut report = AdminReport::new("delete", ds.gate == Gate::DryRun);
    // Rows planned for deletion: their index in the report and the record.
    let mut planned: Vec<(usize, Selected)> = Vec::new();
    for (id, records) in selected {
        if records.is_empty() {
            report.push(JobRow {
                job_id: Bytes(id),
                key: None,
                status: None,
                outcome: Outcome::NotFound,
                reason: Some("no record of this job_id".into()),
            });
            continue;
        }
        for rec in records {
            let (outcome, reason) = match judge(model, &rec, ds.force) {
                Judgement::Go => (Outcome::Planned, None),
                Judgement::Refused(why) => (Outcome::Refused, Some(why)),
            };
            report.push(JobRow {
                job_id: Bytes(rec.job_id.clone()),
                key: Some(Bytes(rec.key.clone())),
                status: rec.status(),
                outcome,
                reason,
            });
            if outcome == Outcome::Planned {
                planned.push((report.jobs.len() - 1, rec));
            }
        }
    }
    let finish = |mut report: AdminReport, code: u8| {
        report.elapsed_seconds = started.elapsed().as_secs_f64();
        Ok((report, code))
    };
    if planned.is_empty() {
        let code = leftover_code(&report);
        return finish(report, code);
    }
    if ds.gate == Gate::Ask {
        ui.show_admin_plan(&report);
    }
    let prompt = || {
        format!(
            "Delete {} record(s) from {}?",
            planned.len(),
            store.display_url()
        )
    };
    match ctx.confirm(ds.gate, prompt)? {
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
    store.require_writable()?;
    store.require_audit_permission(&settings.ns.audit()).await?;
    store.load_delete_script().await?;
    let audit = Audit::new(settings.ns.audit(), "delete");
    report.run_id = Some(audit.run_id.clone());
    let progress = ui.progress(Some(planned.len() as u64), "delete");
    let mut stop = false;
    for chunk in planned.chunks(BATCH) {
        if stop || intr.is_set() {
            report.interrupted |= intr.is_set();
            for (i, _) in chunk {
                report.set_outcome(*i, Outcome::NotRun, None);
            }
            continue;
        }
        let steps: Vec<DeleteRecord> = chunk
            .iter()
            .filter_map(|(_, rec)| delete_step(model, &audit, rec, "delete", true, &[]))
            .collect();
        match store.delete_records(&steps).await {
            Ok(outs) => {
                for ((i, _), o) in chunk.iter().zip(outs) {
                    let (outcome, reason) = describe(o);
                    if outcome == Outcome::Failed && reason.as_deref().is_some_and(is_refusal) {
                        stop = true;
                    }
                    report.set_outcome(*i, outcome, reason);
                }
            }
            Err(e) => {
                // No reply: which of these ran is unknown. Stop; a rerun
                // re-reads, and its guards make that safe.
                let why = format!("{e:#}");
                for (i, _) in chunk {
                    report.set_outcome(*i, Outcome::Unknown, Some(why.clone()));
                }
                stop = true;
            }
        }
        progress.inc(chunk.len() as u64);
    }
    progress.finish();
    let code = if report.interrupted {
        exit::INTERRUPTED
    } else {
        leftover_code(&report)
    };
    finish(report, code)
}

/// Every record of each id, with its status field read.
async fn read(
    settings: &Settings,
    ui: &crate::output::Ui,
    ds: &DeleteSettings,
) -> Result<(Store, Vec<(Vec<u8>, Vec<Selected>)>)> {
    let model = &settings.model;
    let mut store = crate::cmd::connect(&settings.connect, ui).await?;
    let mut out = Vec::with_capacity(ds.ids.len());
    for id in &ds.ids {
        let mut keys: Vec<Vec<u8>> = store
            .scan_match(&model.job_pattern(id), SCAN_COUNT)
            .await?
            .into_iter()
            .filter(|k| model.key_job_id_bytes(k).as_deref() == Some(id.as_slice()))
            .collect();
        keys.sort();
        let values = store
            .record_values(&keys, std::slice::from_ref(&model.status.field))
            .await?;
        let records = keys
            .into_iter()
            .zip(values)
            .map(|(key, v)| Selected {
                parsed: model.parse_key(&key).map_err(|e| e.to_string()),
                job_id: id.clone(),
                status_raw: v.values.into_iter().next().map(|(_, b)| b.0),
                not_a_hash: v.not_a_hash,
                key,
            })
            .collect();
        out.push((id.clone(), records));
    }
    Ok((store, out))
}

fn describe(o: DeleteOutcome) -> (Outcome, Option<String>) {
    match o {
        DeleteOutcome::Deleted => (Outcome::Applied, None),
        DeleteOutcome::Skipped(r) => (
            Outcome::Skipped,
            Some(format!(
                "{} since it was read (a worker moved it?): untouched",
                r.name().replace('_', " ")
            )),
        ),
        DeleteOutcome::WrongType(k) => (
            Outcome::Failed,
            Some(format!(
                "{} has the wrong type: untouched",
                crate::bytes::escape_bytes(&k)
            )),
        ),
        DeleteOutcome::Error(e) if e.is_refusal() => {
            (Outcome::Failed, Some(format!("refused: {e}")))
        }
        DeleteOutcome::Error(e) => (Outcome::Failed, Some(e.to_string())),
    }
}

fn is_refusal(reason: &str) -> bool {
    reason.starts_with("refused: ")
}

/// 0 when everything asked was done; 4 when anything was skipped, refused,
/// not found, failed, unknown or not run.
fn leftover_code(report: &AdminReport) -> u8 {
    let left = [
        Outcome::Skipped,
        Outcome::Refused,
        Outcome::NotFound,
        Outcome::Failed,
        Outcome::Unknown,
        Outcome::NotRun,
    ]
    .iter()
    .map(|o| report.count(*o))
    .sum::<u64>();
    if left > 0 {
        exit::PARTIAL
    } else {
        exit::OK
    }
}
