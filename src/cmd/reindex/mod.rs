//! `jobq reindex`: repair what the scan confirms, window by window as the
//! walk goes, or what a plan file says. Never deletes and rebuilds an
//! index: every repair is one key's memberships, one guarded step at a
//! time. Memory is bounded by a window of work (see `scan::window`): each
//! window is planned, applied and forgotten, and the report keeps the
//! first `--show` outcomes with every count exact.
//!
//! The gates: `--dry-run` scans and plans; `--yes` repairs each window as
//! soon as it is confirmed; asking first scans into a plan file (the
//! `--plan-out` given, or a private temporary one), shows it, and applies
//! that file once approved, exactly as `--plan FILE` would. A plan file is
//! read twice: once to check every step (a bad one refuses the plan whole,
//! before anything is written) and once to apply it.
//!
//! Ctrl-C before the first write ends the run with nothing written;
//! after it, the batches already sent are waited for and the report says
//! what was applied and what was not (exit 130).

mod apply;
mod file;
mod tally;

use std::collections::{BTreeSet, HashSet};
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::time::Instant;

use anyhow::Result;

use super::read_from::{self, Reads};
use super::Ctx;
use crate::cmd::interrupt::Interrupt;
use crate::diagnose::Finding;
use crate::exit;
use crate::jsonl::JsonLines;
use crate::output::Ui;
use crate::plan::file::PlanWriter;
use crate::plan::{self, Plan, Policy};
use crate::report::read_from::ReadFrom;
use crate::report::reindex::ReindexReport;
use crate::report::scan::report_header;
use crate::scan::{scan, ScanOutcome, Scanned, Sink, Stopped, Unconfirmed};
use crate::schema::Model;
use crate::settings::repair::{parameters, Gate, ReindexSettings};
use crate::settings::Settings;
use crate::store::audit::Audit;
use crate::store::Store;

use apply::Applier;
use file::{decide_and_apply, from_file};
use tally::Tally;

/// Actions read from a plan file before they are applied together.
const FILE_WINDOW: usize = 2_000;

/// Exit 130 before anything was written.
fn interrupted_before_writing() -> anyhow::Error {
    exit::with_code(exit::INTERRUPTED, "interrupted; nothing was written")
}

/// What a run ends with, besides its tally.
struct Ending {
    source: String,
    scanned: Option<Scanned>,
    unconfirmed: Option<Unconfirmed>,
}

pub async fn run(ctx: Ctx<'_>, args: &ReindexSettings) -> Result<(ReindexReport, u8)> {
    let Ctx { settings, ui, intr } = ctx;
    let started = Instant::now();
    // A plan file is not walked: only the scan reads a replica.
    let Reads {
        primary: mut store,
        read,
        report: read_from,
    } = tokio::select! {
        r = connect(settings, ui, args.plan.is_some()) => r?,
        _ = intr.wait() => return Err(interrupted_before_writing()),
    };
    let mut walks = Walks { read, read_from };
    // Refuse before the scan: a replica would only fail later.
    if args.gate != Gate::DryRun {
        store.require_writable()?;
    }
    let mut params = parameters("reindex", &args.scan);
    params["prefer"] = serde_json::json!(args.policy.prefer);
    params["keep_latest"] = serde_json::json!(args.policy.keep_latest);
    let report_out = match &args.report_out {
        Some(p) => Some(
            JsonLines::create(
                p,
                &report_header("reindex-report", &settings.model.class, params.clone()),
            )
            .map_err(|e| exit::usage(format!("{e:#}")))?,
        ),
        None => None,
    };
    let mut tally = Tally::new(args.show, report_out);
    let result = match (&args.plan, args.gate) {
        (None, Gate::DryRun) => {
            dry_run_scan(
                settings, ui, intr, args, &mut walks, &mut store, &mut tally, params,
            )
            .await
        }
        (None, Gate::Go) => {
            streaming_repair(
                settings, ui, intr, args, &mut walks, &mut store, &mut tally, params,
            )
            .await
        }
        (None, Gate::Ask) => {
            ask_then_apply(ctx, args, &mut walks, store, tally, params, started).await
        }
        (Some(path), gate) => from_file(ctx, args, store, tally, path, gate, started).await,
    };
    let (mut report, code) = result?;
    report.elapsed_seconds = started.elapsed().as_secs_f64();
    report.read_from = walks.read_from;
    Ok((report, code))
}

/// The connection the walks read (`--read-from`, else the primary's) and
/// what the report says of it.
struct Walks {
    read: Store,
    read_from: Option<ReadFrom>,
}

/// Connect to the primary, and to `--read-from` unless a plan file is
/// applied (nothing is walked then).
async fn connect(settings: &Settings, ui: &Ui, plan_file: bool) -> Result<Reads> {
    if plan_file {
        let store = crate::cmd::connect(&settings.connect, ui).await?;
        return Ok(Reads {
            read: store.clone(),
            primary: store,
            report: None,
        });
    }
    read_from::connect(settings, ui).await
}

/// The report of a run, with its exit code when nothing overrides it.
fn finish(
    mut tally: Tally,
    args: &ReindexSettings,
    ending: Ending,
    run_id: Option<String>,
    stopped: Option<&str>,
) -> Result<(ReindexReport, u8)> {
    tally.close(stopped)?;
    let unconfirmed = ending.unconfirmed.as_ref().map_or(0, |u| u.count);
    let needs_policy = tally.needs_policy_total;
    let mut report = tally.into_report(ending.source, args.show);
    report.scanned = ending.scanned;
    report.unconfirmed = ending.unconfirmed;
    report.run_id = run_id;
    report.plan_out = args.plan_out.as_ref().map(|p| p.display().to_string());
    report.report_out = args.report_out.as_ref().map(|p| p.display().to_string());
    let code = if report.skipped + report.failed + report.unknown > 0 {
        exit::PARTIAL
    } else {
        leftover_code(needs_policy, unconfirmed)
    };
    Ok((report, code))
}

/// Findings left for a policy flag, and records that could not be
/// diagnosed, make a run partial; malformed ones are never touched and only
/// reported.
fn leftover_code(needs_policy: u64, unconfirmed: u64) -> u8 {
    if needs_policy == 0 && unconfirmed == 0 {
        exit::OK
    } else {
        exit::PARTIAL
    }
}

/// The scan's window sink for every gate: plans the window (writing it to
/// `--plan-out`), counts it, then lists it as planned (a dry run) or sends
/// it to the applier (`--yes`).
struct Planner<'a, 'b> {
    model: &'a Model,
    policy: &'a Policy,
    intr: &'a Interrupt,
    tally: &'b mut Tally,
    plan_out: Option<PlanWriter>,
    removed: BTreeSet<Vec<u8>>,
    applier: Option<&'b mut Applier<'a>>,
}

impl Planner<'_, '_> {
    async fn window(&mut self, findings: Vec<Finding>) -> Result<Vec<usize>> {
        let plan = plan::build_window(self.model, &findings, self.policy, &mut self.removed);
        if let Some(w) = &mut self.plan_out {
            w.window(&plan)?;
        }
        let kept = left_alone(&findings, &plan);
        drop(findings);
        let Plan {
            actions,
            needs_policy,
            untouched,
            ..
        } = plan;
        for s in needs_policy {
            self.tally.needs_policy(s)?;
        }
        for s in untouched {
            self.tally.untouched(s)?;
        }
        for a in &actions {
            self.tally.planned(a);
        }
        match &mut self.applier {
            Some(applier) => {
                applier.apply(actions, self.tally).await?;
                if let Some(why) = &applier.refused {
                    // Every further step would be refused too.
                    return Err(refused_error(
                        why,
                        self.tally.applied,
                        &applier.audit.run_id,
                    ));
                }
            }
            None => {
                for a in &actions {
                    self.tally.listed_as_planned(a)?;
                }
                self.tally.flush()?;
            }
        }
        Ok(kept)
    }
}

impl Sink for Planner<'_, '_> {
    fn take<'s>(
        &'s mut self,
        findings: Vec<Finding>,
    ) -> Pin<Box<dyn Future<Output = Result<Vec<usize>>> + 's>> {
        Box::pin(self.window(findings))
    }

    fn stop(&self) -> bool {
        self.intr.is_set()
    }
}

/// The positions of the findings the plan leaves as they are (a policy is
/// needed, or they are never touched): the scan need not report them again.
fn left_alone(findings: &[Finding], plan: &Plan) -> Vec<usize> {
    if plan.needs_policy.is_empty() && plan.untouched.is_empty() {
        return Vec::new();
    }
    let keys: HashSet<&[u8]> = plan
        .needs_policy
        .iter()
        .chain(&plan.untouched)
        .map(|s| s.key.as_slice())
        .collect();
    findings
        .iter()
        .enumerate()
        .filter(|(_, f)| keys.contains(f.key.as_slice()))
        .map(|(i, _)| i)
        .collect()
}

fn refused_error(why: &str, applied: u64, run_id: &str) -> anyhow::Error {
    let mut why = why.to_owned();
    if why.contains("can't run this command") && !why.contains("ACL user") {
        why.push_str(": the ACL user lacks a permission jobq needs (NOPERM; the README's \"Production safety\" lists them)");
    }
    exit::with_code(
        exit::RUNTIME,
        format!(
            "Redis refused the repair ({why}); {applied} repair(s) were applied before that (each in the audit stream, run {run_id}), none half-applied; run jobq reindex again once it accepts writes"
        ),
    )
}

fn plan_writer(
    args: &ReindexSettings,
    model: &Model,
    params: serde_json::Value,
) -> Result<Option<PlanWriter>> {
    match &args.plan_out {
        Some(p) => Ok(Some(
            PlanWriter::create(p, model, params).map_err(|e| exit::usage(format!("{e:#}")))?,
        )),
        None => Ok(None),
    }
}

/// Close the plan file of a scan that stopped early with a line saying so.
fn close_plan(w: Option<PlanWriter>, stopped: Option<&str>) -> Result<()> {
    match w {
        Some(w) => w.finish(stopped),
        None => Ok(()),
    }
}

/// Scan, planning each window into `tally` (as planned) and `writer`;
/// the plan file is closed either way, saying whether the scan finished.
#[allow(clippy::too_many_arguments)]
async fn scan_into_plan(
    settings: &Settings,
    ui: &Ui,
    intr: &Interrupt,
    args: &ReindexSettings,
    walks: &mut Walks,
    store: &Store,
    tally: &mut Tally,
    writer: Option<PlanWriter>,
) -> Result<ScanOutcome> {
    let model = &settings.model;
    let mut planner = Planner {
        model,
        policy: &args.policy,
        intr,
        tally,
        plan_out: writer,
        removed: BTreeSet::new(),
        applier: None,
    };
    let out = scan(&mut walks.read, store, model, &args.scan, ui, &mut planner).await;
    let writer = planner.plan_out.take();
    match out {
        Ok(out) => {
            close_plan(writer, None)?;
            Ok(out)
        }
        Err(e) => {
            let stopped = e.downcast_ref::<Stopped>().is_some();
            let why = if stopped {
                "interrupted"
            } else {
                "the scan failed"
            };
            close_plan(writer, Some(why))?;
            Err(if stopped {
                interrupted_before_writing()
            } else {
                e
            })
        }
    }
}

/// `--dry-run`: scan and plan, write nothing.
#[allow(clippy::too_many_arguments)]
async fn dry_run_scan(
    settings: &Settings,
    ui: &Ui,
    intr: &Interrupt,
    args: &ReindexSettings,
    walks: &mut Walks,
    store: &mut Store,
    tally: &mut Tally,
    params: serde_json::Value,
) -> Result<(ReindexReport, u8)> {
    let model = &settings.model;
    let writer = plan_writer(args, model, params)?;
    let out = scan_into_plan(settings, ui, intr, args, walks, store, tally, writer).await?;
    let tally = std::mem::replace(tally, Tally::new(args.show, None));
    let planned = tally.planned;
    let (mut report, code) = finish(
        tally,
        args,
        Ending {
            source: "scan".into(),
            scanned: Some(out.scanned),
            unconfirmed: Some(out.unconfirmed),
        },
        None,
        None,
    )?;
    report.dry_run = true;
    Ok((report, if planned > 0 { exit::FINDINGS } else { code }))
}

/// Check the server takes jobq's writes, and open the run.
async fn ready_to_write<'a>(
    settings: &Settings,
    store: &mut Store,
    intr: &'a Interrupt,
) -> Result<Applier<'a>> {
    store.require_writable()?;
    let audit = Audit::new(settings.ns.audit(), "reindex");
    store.open_run(&audit).await?;
    store.load_repair_scripts().await?;
    Ok(Applier::new(
        store.clone(),
        audit,
        &settings.model.status.field,
        intr,
    ))
}

/// `--yes` without a plan file: each window is repaired once confirmed.
#[allow(clippy::too_many_arguments)]
async fn streaming_repair(
    settings: &Settings,
    ui: &Ui,
    intr: &Interrupt,
    args: &ReindexSettings,
    walks: &mut Walks,
    store: &mut Store,
    tally: &mut Tally,
    params: serde_json::Value,
) -> Result<(ReindexReport, u8)> {
    let model = &settings.model;
    let mut applier = ready_to_write(settings, store, intr).await?;
    let mut planner = Planner {
        model,
        policy: &args.policy,
        intr,
        tally,
        plan_out: plan_writer(args, model, params)?,
        removed: BTreeSet::new(),
        applier: Some(&mut applier),
    };
    let out = scan(&mut walks.read, store, model, &args.scan, ui, &mut planner).await;
    let plan_out = planner.plan_out.take();
    drop(planner);
    // Whatever stopped the scan, the batches already sent are waited for.
    let drained = applier.finish(tally).await;
    let out = match out {
        Ok(out) => {
            close_plan(plan_out, None)?;
            drained?;
            out
        }
        Err(e) => {
            let stopped = e.downcast_ref::<Stopped>().is_some();
            close_plan(
                plan_out,
                Some(if stopped {
                    "interrupted"
                } else {
                    "the run failed"
                }),
            )?;
            drained?;
            if !stopped {
                tally.close(Some("the run failed"))?;
                return Err(e);
            }
            if applier.sent == 0 {
                tally.close(Some("interrupted"))?;
                return Err(interrupted_before_writing());
            }
            let run_id = applier.audit.run_id.clone();
            ui.warn(format!(
                "interrupted: {} repair(s) applied (run {run_id}); run again to finish (jobq reindex re-reads the state, so what was done is not redone)",
                tally.applied
            ));
            let tally = std::mem::replace(tally, Tally::new(args.show, None));
            let (mut report, _) = finish(
                tally,
                args,
                Ending {
                    source: "scan".into(),
                    scanned: None,
                    unconfirmed: None,
                },
                Some(run_id),
                Some("interrupted"),
            )?;
            report.interrupted = true;
            return Ok((report, exit::INTERRUPTED));
        }
    };
    if let Some(why) = &applier.refused {
        tally.close(Some("refused"))?;
        return Err(refused_error(why, tally.applied, &applier.audit.run_id));
    }
    if applier.stopped {
        ui.warn("a batch got no reply, so its outcome is unknown; nothing was sent after it. Run jobq reindex again: it re-reads the state and its guards make that safe.");
    }
    let run_id = (applier.sent > 0).then(|| applier.audit.run_id.clone());
    let tally = std::mem::replace(tally, Tally::new(args.show, None));
    finish(
        tally,
        args,
        Ending {
            source: "scan".into(),
            scanned: Some(out.scanned),
            unconfirmed: Some(out.unconfirmed),
        },
        run_id,
        None,
    )
}

/// Asking first: scan into a plan file, show it, and apply that file once
/// approved; declined or a dry run, the plan as counted is the report.
async fn ask_then_apply(
    ctx: Ctx<'_>,
    args: &ReindexSettings,
    walks: &mut Walks,
    store: Store,
    tally: Tally,
    params: serde_json::Value,
    started: Instant,
) -> Result<(ReindexReport, u8)> {
    let Ctx { settings, ui, intr } = ctx;
    let model = &settings.model;
    let (path, temporary) = match &args.plan_out {
        Some(p) => (p.clone(), false),
        None => (temp_plan_path(), true),
    };
    let _cleanup = temporary.then(|| RemoveOnDrop(path.clone()));
    let writer =
        PlanWriter::create(&path, model, params).map_err(|e| exit::usage(format!("{e:#}")))?;
    let mut preview = Tally::new(args.show, None);
    let out = scan_into_plan(
        settings,
        ui,
        intr,
        args,
        walks,
        &store,
        &mut preview,
        Some(writer),
    )
    .await?;
    let ending = Ending {
        source: "scan".into(),
        scanned: Some(out.scanned),
        unconfirmed: Some(out.unconfirmed),
    };
    decide_and_apply(
        ctx,
        args,
        store,
        tally,
        preview,
        &path,
        ending,
        Gate::Ask,
        started,
    )
    .await
}

/// A private file for the plan a prompt shows (removed after the run).
fn temp_plan_path() -> PathBuf {
    std::env::temp_dir().join(format!(
        "jobq-plan-{}-{:08x}.jsonl",
        std::process::id(),
        rand::random::<u32>()
    ))
}

struct RemoveOnDrop(PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}
