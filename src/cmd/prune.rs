//! `jobq prune`: walk each status index pruned (SSCAN, page by page; or the
//! records of the job_ids given), select with `plan::select` as retry does,
//! read each page's selected records exactly (`store::prune`), write their
//! lines to the backup file and fsync it, then delete them in batches, one
//! guarded `prune_batch.lua` call (and one audit entry) per batch.
//!
//! Memory is bounded by a page: without `--yes`, a first walk counts what
//! would be pruned (rows listed up to the report's cap) and asks; the apply
//! then walks again and prunes up to the count confirmed, page by page.
//! Ctrl-C before the first write writes nothing; during the writes, the
//! page under way is finished, the backup file is closed with `complete:
//! false`, and the run exits 130.

use std::time::Instant;

use anyhow::Result;

use super::admin::{delete_end, final_code, is_refusal, leftover_code, Candidates};
use super::{Ctx, Decision};
use crate::backup::{End, Header, Writer};
use crate::bytes::{escape_bytes, Bytes};
use crate::exit;
use crate::plan::admin::Selected;
use crate::plan::prune::{pointer_keys, prune_step, read_keys, zsets};
use crate::plan::select::{pick, Pick};
use crate::report::admin::{AdminReport, JobRow, Outcome};
use crate::settings::prune::PruneSettings;
use crate::settings::repair::Gate;
use crate::settings::Settings;
use crate::store::audit::Audit;
use crate::store::delete::DeleteOutcome;
use crate::store::prune::{ExactRead, PruneBatch, PruneStep};
use crate::store::Store;

/// Records per prune script call (several pipelined per round trip).
/// bench/prune.sh measures the calls: about 30 µs a record on the loaded
/// 2-core machine (3.2 ms a call of 100, with calls over 10 ms when the
/// server lost its core); 50 keeps a call near 1.5 ms for about the same
/// throughput, the per-call work (XADD, TYPE) being small.
pub const BATCH: usize = 50;

fn interrupted_before_writing() -> anyhow::Error {
    exit::with_code(exit::INTERRUPTED, "interrupted; nothing was written")
}

/// What the apply walk writes with.
struct Apply {
    audit: Audit,
    backup: Option<Writer>,
    /// The backup's absolute path, as the audit entries name it.
    backup_path: Vec<u8>,
    /// The run stopped early (an unknown outcome, a refusal): why.
    stopped: Option<String>,
}

pub async fn run(ctx: Ctx<'_>, ps: &PruneSettings) -> Result<(AdminReport, u8)> {
    let Ctx { settings, ui, intr } = ctx;
    let started = Instant::now();
    let finish = |mut report: AdminReport, code: u8| {
        report.elapsed_seconds = started.elapsed().as_secs_f64();
        Ok((report, code))
    };
    let (mut store, id_keys) = tokio::select! {
        r = connect(ctx, ps) => r?,
        _ = intr.wait() => return Err(interrupted_before_writing()),
    };
    let mut limit = ps.limit;
    if ps.gate != Gate::Go {
        let mut report = AdminReport::new("prune", ps.gate == Gate::DryRun);
        tokio::select! {
            r = walk(ctx, &mut store, ps, &id_keys, limit, &mut report, None) => r?,
            _ = intr.wait() => return Err(interrupted_before_writing()),
        };
        let planned = report.count(Outcome::Planned);
        if planned == 0 {
            let code = leftover_code(&report);
            return finish(report, code);
        }
        if ps.gate == Gate::Ask {
            ui.show_admin_plan(&report);
        }
        let prompt = || {
            let kept = match &ps.backup {
                Some(p) => format!("backed up to {}", p.display()),
                None => "with NO backup (they cannot be restored)".to_owned(),
            };
            format!(
                "Prune {planned} {} job(s) from {}, {kept}?",
                ps.statuses.join("/"),
                store.display_url()
            )
        };
        match ctx.confirm(ps.gate, prompt)? {
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
    }
    store.require_writable()?;
    let audit = Audit::new(settings.ns.audit(), "prune");
    store.open_run(&audit).await?;
    store.load_prune_script().await?;
    let backup = match &ps.backup {
        None => None,
        Some(p) => {
            let header = Header::new(
                &audit.run_id,
                &settings.model.class,
                settings.ns.prefix(),
                ps.parameters(),
            );
            Some(Writer::create(p, &header).map_err(|e| {
                let exists = e
                    .downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::AlreadyExists);
                if exists {
                    exit::usage(format!(
                        "--backup {}: the file exists; a backup never overwrites one, give a new name (nothing was written)",
                        p.display()
                    ))
                } else {
                    e
                }
            })?)
        }
    };
    let mut report = AdminReport::new("prune", false);
    report.run_id = Some(audit.run_id.clone());
    let backup_path = backup
        .as_ref()
        .map(|w| w.absolute.to_string_lossy().into_owned())
        .unwrap_or_default();
    report.backup = backup.as_ref().map(|_| backup_path.clone());
    let mut apply = Apply {
        audit,
        backup,
        backup_path: backup_path.into_bytes(),
        stopped: None,
    };
    let walked = walk(
        ctx,
        &mut store,
        ps,
        &id_keys,
        limit,
        &mut report,
        Some(&mut apply),
    )
    .await;
    let reason = match &walked {
        Err(e) => Some(format!("{e:#}")),
        Ok(()) if report.interrupted => Some("interrupted".to_owned()),
        Ok(()) => apply.stopped.clone(),
    };
    if let Some(w) = apply.backup.take() {
        report.backup_records = Some(w.records());
        let end = End {
            complete: reason.is_none(),
            records: w.records(),
            deleted: report.count(Outcome::Applied),
            reason,
        };
        // The walk's own error, if any, is the one to tell.
        let closed = w.finish(end);
        walked?;
        closed?;
    } else {
        walked?;
    }
    // Nothing selected, nothing sent: no run to name.
    if report.jobs.iter().all(|r| r.outcome == Outcome::Refused) && report.jobs_not_listed == 0 {
        report.run_id = None;
    }
    let code = final_code(&report);
    finish(report, code)
}

/// Connect, and find the records of the job_ids given (bounded by them).
async fn connect(ctx: Ctx<'_>, ps: &PruneSettings) -> Result<(Store, Option<Vec<Vec<u8>>>)> {
    let mut store = ctx.connect().await?;
    let keys = if ps.filter.ids.is_empty() {
        None
    } else {
        let found =
            super::delete::records_of(&mut store, &ctx.settings.model, &ps.filter.ids).await?;
        Some(found.into_iter().flat_map(|(_, k)| k).collect())
    };
    Ok((store, keys))
}

/// Walk the candidates of each status, page by page, selecting up to
/// `limit`: counted as planned (`apply` none), or pruned.
async fn walk(
    ctx: Ctx<'_>,
    store: &mut Store,
    ps: &PruneSettings,
    id_keys: &Option<Vec<Vec<u8>>>,
    limit: Option<u64>,
    report: &mut AdminReport,
    mut apply: Option<&mut Apply>,
) -> Result<()> {
    let Ctx { settings, ui, intr } = ctx;
    let model = &settings.model;
    let fields = ps.filter.read_fields(model);
    let mut taken: u64 = 0;
    let progress = ui.progress(limit.filter(|_| apply.is_some()), "prune");
    'statuses: for status in &ps.statuses {
        let mut cand = Candidates::new(id_keys.clone(), model.status_index(status));
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
                match pick(model, &ps.filter, status, now, key, &fields, read) {
                    Pick::Take(sel) => {
                        taken += 1;
                        page.push(sel);
                    }
                    Pick::Refuse(sel, why) => report.push(row(&sel, Outcome::Refused, Some(why))),
                    Pick::Pass => {}
                }
            }
            match apply.as_deref_mut() {
                None => {
                    for sel in &page {
                        report.push(row(sel, Outcome::Planned, None));
                    }
                    progress.inc(keys.len() as u64);
                }
                Some(ap) => {
                    // Ctrl-C between pages: what was pruned stays pruned
                    // (its lines are in the backup), the rest is left.
                    if intr.is_set() {
                        report.interrupted = true;
                        break 'statuses;
                    }
                    apply_page(settings, store, ap, &page, report).await?;
                    progress.inc(page.len() as u64);
                    if ap.stopped.is_some() {
                        break 'statuses;
                    }
                }
            }
            if limit.is_some_and(|l| taken >= l) {
                break 'statuses;
            }
        }
    }
    progress.finish();
    Ok(())
}

/// Prune one page of selected records: read them exactly, write their
/// backup lines and fsync, then one pipelined round trip of batch calls.
async fn apply_page(
    settings: &Settings,
    store: &mut Store,
    ap: &mut Apply,
    page: &[Selected],
    report: &mut AdminReport,
) -> Result<()> {
    let model = &settings.model;
    let zs = zsets(model);
    let mut chosen: Vec<&Selected> = Vec::with_capacity(page.len());
    let mut sets = Vec::with_capacity(page.len());
    let mut strings = Vec::with_capacity(page.len());
    for sel in page {
        // `pick` refuses a key that does not parse: never here.
        if let Ok(parsed) = &sel.parsed {
            chosen.push(sel);
            sets.push(read_keys(model, parsed).0);
            strings.push(pointer_keys(model, &sel.key));
        }
    }
    if chosen.is_empty() {
        return Ok(());
    }
    let keys: Vec<Vec<u8>> = chosen.iter().map(|s| s.key.clone()).collect();
    let reads = store.read_exact(&keys, &sets, &zs, &strings).await?;
    let mut steps: Vec<(&Selected, PruneStep)> = Vec::with_capacity(chosen.len());
    for (((sel, s), ptrs), read) in chosen.into_iter().zip(sets).zip(strings).zip(reads) {
        match read {
            ExactRead::Gone => report.push(row(
                sel,
                Outcome::Skipped,
                Some("gone since it was selected (a worker moved it?): untouched".into()),
            )),
            ExactRead::WrongType(k) => report.push(row(
                sel,
                Outcome::Failed,
                Some(format!(
                    "{} has the wrong type: untouched",
                    escape_bytes(&k)
                )),
            )),
            read => match prune_step(model, &sel.key, &sel.job_id, (s, zs.clone()), ptrs, read) {
                Some(Ok((line, step))) => {
                    if let Some(w) = &mut ap.backup {
                        w.push(&line)?;
                    }
                    steps.push((sel, step));
                }
                Some(Err(why)) => {
                    let (outcome, reason) = delete_end(&DeleteOutcome::Skipped(why), "read");
                    report.push(row(sel, outcome, reason));
                }
                None => {}
            },
        }
    }
    // Every line on disk before any record it holds is deleted.
    if let Some(w) = &mut ap.backup {
        w.sync()?;
    }
    if steps.is_empty() {
        return Ok(());
    }
    // Records that share their sets go in the same batch: the script asks
    // and writes once per distinct set of a batch (SMISMEMBER, SREM), so a
    // batch of one project's jobs makes a few calls where a page's order
    // (SSCAN's) made one per project. bench/prune.sh: 27 set calls a
    // batch came to 8.
    steps.sort_by(|a, b| a.1.sets.cmp(&b.1.sets));
    let header = ap.audit.header();
    let batches: Vec<PruneBatch> = steps
        .chunks(BATCH)
        .map(|c| PruneBatch {
            audit_stream: ap.audit.stream.clone(),
            audit_maxlen: ap.audit.maxlen,
            header: header.clone(),
            backup: ap.backup_path.clone(),
            steps: c.iter().map(|(_, s)| s.clone()).collect(),
        })
        .collect();
    match store.prune_batches(&batches).await {
        Ok(outs) => {
            for ((sel, _), o) in steps.iter().zip(outs.into_iter().flatten()) {
                let (outcome, reason) = delete_end(&o, "read");
                if outcome == Outcome::Failed && is_refusal(reason.as_deref()) {
                    ap.stopped = reason.clone();
                }
                report.push(row(sel, outcome, reason));
            }
        }
        Err(e) => {
            // No reply: which batches ran is unknown. Stop; a rerun
            // re-reads, and the guards make that safe.
            let why = format!("{e:#}");
            for (sel, _) in &steps {
                report.push(row(sel, Outcome::Unknown, Some(why.clone())));
            }
            ap.stopped = Some(why);
        }
    }
    Ok(())
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
