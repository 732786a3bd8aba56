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

use super::admin::{delete_end, is_refusal, leftover_code};
use super::{Ctx, Decision};
use crate::bytes::Bytes;
use crate::exit;
use crate::plan::admin::{delete_step, judge, Judgement, Selected};
use crate::report::admin::{AdminReport, JobRow, Outcome};
use crate::settings::delete::DeleteSettings;
use crate::settings::repair::Gate;
use crate::settings::Settings;
use crate::store::audit::Audit;
use crate::store::delete::DeleteRecord;
use crate::store::Store;

/// Keys per SCAN step when looking for a job's records.
const SCAN_COUNT: u32 = 1000;
/// Up to this many ids, each gets its own `SCAN MATCH`; more share one walk.
const PER_ID_WALKS: usize = 8;
/// Records whose status is read per pipelined round trip.
const READ_PAGE: usize = 1000;
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
    // One row per record (bounded by the ids given); the report is built
    // from them at the end, since it lists only the first rows.
    let mut rows: Vec<JobRow> = Vec::new();
    // Rows planned for deletion: their index in `rows` and the record.
    let mut planned: Vec<(usize, Selected)> = Vec::new();
    for (id, records) in selected {
        if records.is_empty() {
            rows.push(JobRow {
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
            rows.push(JobRow {
                job_id: Bytes(rec.job_id.clone()),
                key: Some(Bytes(rec.key.clone())),
                status: rec.status(),
                outcome,
                reason,
            });
            if outcome == Outcome::Planned {
                planned.push((rows.len() - 1, rec));
            }
        }
    }
    let dry_run = ds.gate == Gate::DryRun;
    let finish = |rows: Vec<JobRow>, f: &dyn Fn(&mut AdminReport), code: Option<u8>| {
        let mut report = AdminReport::new("delete", dry_run);
        for row in rows {
            report.push(row);
        }
        f(&mut report);
        report.elapsed_seconds = started.elapsed().as_secs_f64();
        let code = code.unwrap_or_else(|| leftover_code(&report));
        Ok((report, code))
    };
    if planned.is_empty() {
        return finish(rows, &|_| {}, None);
    }
    if ds.gate == Gate::Ask {
        let mut preview = AdminReport::new("delete", dry_run);
        for row in &rows {
            preview.push(row.clone());
        }
        ui.show_admin_plan(&preview);
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
        Decision::DryRun => return finish(rows, &|_| {}, Some(exit::FINDINGS)),
        Decision::Declined => {
            return finish(rows, &|r| r.declined = true, Some(exit::DECLINED));
        }
    }
    if intr.is_set() {
        return Err(interrupted_before_writing());
    }
    store.require_writable()?;
    let audit = Audit::new(settings.ns.audit(), "delete");
    store.open_run(&audit).await?;
    store.load_delete_script().await?;
    let run_id = audit.run_id.clone();
    let mut interrupted = false;
    let progress = ui.progress(Some(planned.len() as u64), "delete");
    let mut stop = false;
    for chunk in planned.chunks(BATCH) {
        if stop || intr.is_set() {
            interrupted |= intr.is_set();
            for (i, _) in chunk {
                set(&mut rows, *i, Outcome::NotRun, None);
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
                    let (outcome, reason) = delete_end(&o, "read");
                    if outcome == Outcome::Failed && is_refusal(reason.as_deref()) {
                        stop = true;
                    }
                    set(&mut rows, *i, outcome, reason);
                }
            }
            Err(e) => {
                // No reply: which of these ran is unknown. Stop; a rerun
                // re-reads, and its guards make that safe.
                let why = format!("{e:#}");
                for (i, _) in chunk {
                    set(&mut rows, *i, Outcome::Unknown, Some(why.clone()));
                }
                stop = true;
            }
        }
        progress.inc(chunk.len() as u64);
    }
    progress.finish();
    let code = interrupted.then_some(exit::INTERRUPTED);
    finish(
        rows,
        &|r| {
            r.run_id = Some(run_id.clone());
            r.interrupted = interrupted;
        },
        code,
    )
}

/// The record keys of each job_id, in the order given, each id's sorted.
/// A few ids: one `SCAN MATCH` per id with the id in the pattern (cheap on
/// the server, few keys back). More: one walk of the model's keys, kept
/// only when their job_id is asked for, so both the round trips and the
/// memory stay bounded by the ids, not by the queue.
pub async fn records_of(
    store: &mut Store,
    model: &crate::schema::Model,
    ids: &[Vec<u8>],
) -> Result<Vec<(Vec<u8>, Vec<Vec<u8>>)>> {
    let mut found: Vec<(Vec<u8>, Vec<Vec<u8>>)> =
        ids.iter().map(|id| (id.clone(), Vec::new())).collect();
    if ids.len() <= PER_ID_WALKS {
        for (id, keys) in &mut found {
            *keys = store
                .scan_match(&model.job_pattern(id), SCAN_COUNT)
                .await?
                .into_iter()
                .filter(|k| model.key_job_id_bytes(k).as_deref() == Some(id.as_slice()))
                .collect();
        }
    } else {
        let at: std::collections::HashMap<Vec<u8>, usize> = ids
            .iter()
            .enumerate()
            .map(|(i, id)| (id.clone(), i))
            .collect();
        let pattern = model.record_pattern();
        let mut cursor = 0;
        loop {
            let page = store.scan_keys(&pattern, cursor, SCAN_COUNT).await?;
            for k in page.items {
                let Some(i) = model
                    .key_job_id_bytes(&k)
                    .and_then(|id| at.get(&id).copied())
                else {
                    continue;
                };
                // SCAN may return a key twice.
                if !found[i].1.contains(&k) {
                    found[i].1.push(k);
                }
            }
            cursor = page.cursor;
            if cursor == 0 {
                break;
            }
        }
    }
    for (_, keys) in &mut found {
        keys.sort();
    }
    Ok(found)
}

/// Every record of each id, with its status field read.
async fn read(
    settings: &Settings,
    ui: &crate::output::Ui,
    ds: &DeleteSettings,
) -> Result<(Store, Vec<(Vec<u8>, Vec<Selected>)>)> {
    let model = &settings.model;
    let mut store = crate::cmd::connect(&settings.connect, ui).await?;
    let found = records_of(&mut store, model, &ds.ids).await?;
    let all: Vec<Vec<u8>> = found.iter().flat_map(|(_, k)| k.iter().cloned()).collect();
    // The status fields of every record, a page of pipelined reads at a time.
    let mut values = Vec::with_capacity(all.len());
    for chunk in all.chunks(READ_PAGE) {
        values.extend(
            store
                .record_values(chunk, std::slice::from_ref(&model.status.field))
                .await?,
        );
    }
    let mut values = values.into_iter();
    let mut out = Vec::with_capacity(found.len());
    for (id, keys) in found {
        let records = keys
            .into_iter()
            .zip(values.by_ref())
            .map(|(key, v)| Selected {
                parsed: model.parse_key(&key).map_err(|e| e.to_string()),
                job_id: id.clone(),
                status_raw: v.values.into_iter().next().map(|(_, b)| b.0),
                not_a_hash: v.not_a_hash,
                key,
            })
            .collect();
        out.push((id, records));
    }
    Ok((store, out))
}

fn set(rows: &mut [JobRow], i: usize, outcome: Outcome, reason: Option<String>) {
    if let Some(row) = rows.get_mut(i) {
        row.outcome = outcome;
        row.reason = reason;
    }
}
