//! `jobq reindex`: scan (or read a plan file), plan, show, confirm, apply
//! each action as a guarded script, report. Never deletes and rebuilds an
//! index: every repair is one key's memberships, one step at a time.
//!
//! Ctrl-C before the writes start ends the run with nothing written; during
//! them, the batches already sent are waited for and the report says what
//! was applied and what was not run (exit 130).

use std::sync::Arc;
use std::time::Instant;

use anyhow::Result;

use super::{Ctx, Decision};
use crate::diagnose::Kind;
use crate::exit;
use crate::output::Ui;
use crate::plan::{self, Action, Plan};
use crate::report::reindex::{ActionResult, KindCounts, ReindexReport};
use crate::settings::repair::Gate;
use crate::settings::repair::ReindexSettings;
use crate::settings::Settings;
use crate::store::audit::Audit;
use crate::store::in_flight::InFlightQueue;
use crate::store::repair::{InFlightApply, RepairOutcome as Outcome};

use super::read_from::{self, Reads};
use crate::report::read_from::ReadFrom;

use crate::scan::{scan, Scanned, Unconfirmed};

/// Actions per pipelined batch.
const APPLY_BATCH: usize = 200;

/// Batches sent before the oldest one's outcomes are waited for.
const APPLY_IN_FLIGHT: usize = 2;

/// Exit 130 before anything was written.
fn interrupted_before_writing() -> anyhow::Error {
    exit::with_code(exit::INTERRUPTED, "interrupted; nothing was written")
}

pub async fn run(ctx: Ctx<'_>, args: &ReindexSettings) -> Result<(ReindexReport, u8)> {
    let Ctx { settings, ui, intr } = ctx;
    let started = Instant::now();
    // Until the first write, stopping at once loses nothing.
    let (mut store, mut plan, source, scanned, unconfirmed, read_from) = tokio::select! {
        r = prepare(settings, ui, args) => r?,
        _ = intr.wait() => return Err(interrupted_before_writing()),
    };
    let model = &settings.model;
    let mut report = ReindexReport {
        source,
        dry_run: args.gate == Gate::DryRun,
        declined: false,
        counts: Kind::ALL
            .iter()
            .map(|k| (k.name(), KindCounts::default()))
            .collect(),
        applied: 0,
        already_applied: 0,
        skipped: 0,
        failed: 0,
        unknown: 0,
        not_run: 0,
        interrupted: false,
        actions: Vec::with_capacity(plan.actions.len()),
        needs_policy: plan.needs_policy.clone(),
        untouched: plan.untouched.clone(),
        scanned,
        unconfirmed,
        run_id: None,
        elapsed_seconds: 0.0,
        read_from,
    };
    for s in &plan.needs_policy {
        entry(&mut report, s.kind).needs_policy += 1;
    }
    for s in &plan.untouched {
        entry(&mut report, s.kind).untouched += 1;
    }
    for a in &plan.actions {
        entry(&mut report, a.kind).planned += 1;
    }
    let finish = |mut report: ReindexReport, code: u8| {
        report.elapsed_seconds = started.elapsed().as_secs_f64();
        Ok((report, code))
    };
    let unconfirmed = report.unconfirmed.as_ref().map_or(0, |u| u.count);
    if plan.actions.is_empty() {
        return finish(report, leftover_code(&plan, unconfirmed));
    }
    let gate = args.gate;
    if gate == Gate::Ask {
        ui.show_plan(&plan);
    }
    let prompt = || {
        format!(
            "Apply {} repair(s) to {}?",
            plan.actions.len(),
            store.display_url()
        )
    };
    match ctx.confirm(gate, prompt)? {
        Decision::Approved => {}
        Decision::DryRun => {
            record_planned(&mut report, &plan.actions);
            return finish(report, exit::FINDINGS);
        }
        Decision::Declined => {
            report.declined = true;
            record_planned(&mut report, &plan.actions);
            return finish(report, exit::DECLINED);
        }
    }
    // A signal while the prompt waited (it blocks this thread) is seen now.
    if intr.is_set() {
        return Err(interrupted_before_writing());
    }
    store.require_writable()?;
    store.require_audit_permission(&settings.ns.audit()).await?;
    store.load_repair_scripts().await?;
    let audit = Audit::new(settings.ns.audit(), "reindex");
    report.run_id = Some(audit.run_id.clone());
    let progress = ui.progress(Some(plan.actions.len() as u64), "repair");
    let mut stopped = false;
    // Batches go out while the previous one is still being applied, so that
    // the server never waits for this side to build the next one. Redis runs
    // them in order, on one connection. A batch with no reply, or a refusal,
    // stops the sending; the one batch already sent behind it is reported
    // as whatever happened to it.
    let mut in_flight: InFlightQueue<(usize, InFlightApply)> =
        InFlightQueue::new(APPLY_IN_FLIGHT - 1);
    let mut refused: Option<String> = None;
    // Shared with the tasks that send them, rather than copied per batch.
    let actions = Arc::new(std::mem::take(&mut plan.actions));
    let chunks: Vec<&[Action]> = actions.chunks(APPLY_BATCH).collect();
    // The first batch not sent because of Ctrl-C.
    let mut unsent = chunks.len();
    for (ci, chunk) in chunks.iter().enumerate() {
        if stopped || refused.is_some() {
            for a in chunk.iter() {
                record(&mut report, a, Outcome::NotAttempted);
            }
            progress.inc(chunk.len() as u64);
            continue;
        }
        // Checked between batches: each step is one atomic script, so the
        // batches already sent are applied whole, and waited for below.
        if intr.is_set() {
            unsent = ci;
            break;
        }
        let oldest = in_flight.push((
            ci,
            store.apply_in_flight(
                Arc::clone(&actions),
                ci * APPLY_BATCH..ci * APPLY_BATCH + chunk.len(),
                &audit,
                &model.status.field,
            ),
        ));
        if let Some((done, request)) = oldest {
            let outcomes = request.outcomes().await?;
            settle(
                &mut report,
                chunks[done],
                outcomes,
                &mut stopped,
                &mut refused,
            );
            progress.inc(chunks[done].len() as u64);
        }
    }
    while let Some((done, request)) = in_flight.pop_oldest() {
        let outcomes = request.outcomes().await?;
        settle(
            &mut report,
            chunks[done],
            outcomes,
            &mut stopped,
            &mut refused,
        );
        progress.inc(chunks[done].len() as u64);
    }
    for chunk in &chunks[unsent..] {
        for a in chunk.iter() {
            record_not_run(&mut report, a);
        }
    }
    report.interrupted = unsent < chunks.len();
    if let Some(mut why) = refused {
        // Every further step would be refused too; each step is one script
        // that checks before it writes, so none is half-applied.
        progress.finish();
        if why.contains("can't run this command") && !why.contains("ACL user") {
            why.push_str(": the ACL user lacks a permission jobq needs (NOPERM; the README's \"Production safety\" lists them)");
        }
        return Err(exit::with_code(
            exit::RUNTIME,
            format!(
                "Redis refused the repair ({why}); {} repair(s) were applied before that (each in the audit stream, run {}), none half-applied; run jobq reindex again once it accepts writes",
                report.applied, audit.run_id
            ),
        ));
    }
    progress.finish();
    if stopped {
        ui.warn("a batch got no reply, so its outcome is unknown; the run stopped there. Run jobq reindex again: it re-reads the state and its guards make that safe.");
    }
    if report.interrupted {
        ui.warn(format!(
            "interrupted: {} repair(s) applied (run {}), {} not run; run again to finish (jobq reindex re-reads the state, so what was done is not redone)",
            report.applied, audit.run_id, report.not_run
        ));
        return finish(report, exit::INTERRUPTED);
    }
    let code = if report.skipped + report.failed + report.unknown > 0 {
        exit::PARTIAL
    } else {
        leftover_code(&plan, unconfirmed)
    };
    finish(report, code)
}

/// Connect, and scan (or read the plan file) and plan; nothing is written
/// but `--plan-out`. The scan's walks read `--read-from` if given; the
/// connection returned, for the writes, is `--url`'s.
#[allow(clippy::type_complexity)]
async fn prepare(
    settings: &Settings,
    ui: &Ui,
    args: &ReindexSettings,
) -> Result<(
    crate::store::Store,
    Plan,
    String,
    Option<Scanned>,
    Option<Unconfirmed>,
    Option<ReadFrom>,
)> {
    let model = &settings.model;
    // A plan file is not walked: only the scan reads a replica.
    let Reads {
        primary: store,
        mut read,
        report: read_from,
    } = match &args.plan {
        Some(_) => {
            let store = crate::cmd::connect(&settings.connect, ui).await?;
            Reads {
                read: store.clone(),
                primary: store,
                report: None,
            }
        }
        None => read_from::connect(settings, ui).await?,
    };
    // Refuse before the scan: a replica would only fail later.
    if args.gate != Gate::DryRun {
        store.require_writable()?;
    }
    let (plan, source, scanned, unconfirmed) = match &args.plan {
        Some(path) => (
            plan::read(path, model)?,
            path.display().to_string(),
            None,
            None,
        ),
        None => {
            let out = scan(&mut read, &store, model, &args.scan, ui).await?;
            let mut findings = out.findings;
            // Keys are unique, so an unstable sort gives the one order, in
            // place: a stable one copied every (large) finding once more.
            findings.sort_unstable_by(|a, b| (a.kind, &a.key).cmp(&(b.kind, &b.key)));
            (
                plan::build(model, &findings, &args.policy),
                "scan".to_owned(),
                Some(out.scanned),
                Some(out.unconfirmed),
            )
        }
    };
    if let Some(path) = &args.plan_out {
        plan::write(&plan, path)?;
    }
    Ok((store, plan, source, scanned, unconfirmed, read_from))
}

/// Findings left for a policy flag, and records that could not be
/// diagnosed, make a run partial; malformed ones are never touched and only
/// reported.
fn leftover_code(plan: &Plan, unconfirmed: u64) -> u8 {
    if plan.needs_policy.is_empty() && unconfirmed == 0 {
        exit::OK
    } else {
        exit::PARTIAL
    }
}

fn entry(report: &mut ReindexReport, kind: Kind) -> &mut KindCounts {
    report.counts.entry(kind.name()).or_default()
}

fn record_planned(report: &mut ReindexReport, actions: &[Action]) {
    for a in actions {
        report.actions.push(ActionResult {
            kind: a.kind,
            job_id: a.job_id.clone(),
            key: a.key.clone(),
            description: a.description.clone(),
            outcome: "planned".into(),
            reason: None,
        });
    }
}

/// Record one batch's outcomes; note a refusal (the first one's reason) and
/// an unknown outcome, either of which stops the sending.
fn settle(
    report: &mut ReindexReport,
    chunk: &[Action],
    outcomes: Vec<Outcome>,
    stopped: &mut bool,
    refused: &mut Option<String>,
) {
    for (a, o) in chunk.iter().zip(outcomes) {
        match &o {
            Outcome::Refused(why) if refused.is_none() => *refused = Some(why.clone()),
            // The outcome of what was sent is unknown: stop, and let a rerun
            // re-read the state rather than send anything twice.
            Outcome::Unknown(_) => *stopped = true,
            _ => {}
        }
        record(report, a, o);
    }
}

/// A step that was never sent: Ctrl-C came first.
fn record_not_run(report: &mut ReindexReport, a: &Action) {
    report.not_run += 1;
    entry(report, a.kind).not_run += 1;
    report.actions.push(ActionResult {
        kind: a.kind,
        job_id: a.job_id.clone(),
        key: a.key.clone(),
        description: a.description.clone(),
        outcome: "not_run".into(),
        reason: Some("interrupted before it was sent".into()),
    });
}

fn record(report: &mut ReindexReport, a: &Action, o: Outcome) {
    let (name, reason) = match o {
        Outcome::Applied => {
            report.applied += 1;
            entry(report, a.kind).applied += 1;
            ("applied", None)
        }
        Outcome::AlreadyApplied(r) => {
            report.already_applied += 1;
            entry(report, a.kind).already_applied += 1;
            ("already_applied", Some(r))
        }
        Outcome::Skipped(r) => {
            report.skipped += 1;
            entry(report, a.kind).skipped += 1;
            ("skipped", Some(r))
        }
        Outcome::Failed(r) | Outcome::Refused(r) => {
            report.failed += 1;
            entry(report, a.kind).failed += 1;
            ("failed", Some(r))
        }
        Outcome::Unknown(r) => {
            report.unknown += 1;
            entry(report, a.kind).unknown += 1;
            ("unknown", Some(r))
        }
        Outcome::NotAttempted => {
            report.unknown += 1;
            entry(report, a.kind).unknown += 1;
            (
                "not_attempted",
                Some("not run: an earlier step's outcome was unknown, or Redis refused one".into()),
            )
        }
    };
    report.actions.push(ActionResult {
        kind: a.kind,
        job_id: a.job_id.clone(),
        key: a.key.clone(),
        description: a.description.clone(),
        outcome: name.into(),
        reason,
    });
}
