//! `jobq reap`: give stale running jobs back to the queue, safely from cron.
//!
//! One sweep: take the reaper lock (or exit 75), skip if the last sweep is
//! more recent than `--min-interval`, walk the running index page by page
//! (SSCAN), read what each member needs (pipelined HMGET), note first
//! sightings, decide staleness (`stale`, pure), check heartbeats and reap
//! counts, and apply each page's moves as guarded scripts (pipelined
//! EVALSHA); then prune first sightings of keys no longer running, record
//! the sweep's end and release the lock. `--interval` repeats sweeps until
//! Ctrl-C, handing each sweep's report to the caller's sink.
//!
//! The rules are in `diagnose::stale`, the moves are planned by
//! `plan::reap`, the flags resolved by `settings::reap`, the report is
//! `report::reap`, and the lock's lifecycle is [`lock`].
//!
//! Orchestration only: must not print (the sink and `Ui` do), build keys
//! (`schema`), see `cli` types, or talk to Redis other than through `store`.

mod lock;

use std::collections::HashSet;
use std::time::Instant;

use anyhow::{anyhow, Result};
use rustc_hash::FxHashMap;

use crate::bytes::Bytes;
use crate::cmd::Decision;
use crate::diagnose::stale::{
    duplicate_of, judge_running, note_of, over_lease, Note, RunningJob, Seen, Staleness,
};
use crate::exit;
use crate::output::Ui;
use crate::plan::reap::{plan_moves, within_budget, Planned};
use crate::report::reap::{MovedJob, NotRun, Rules, SkippedJob, Stop, SweepReport};
use crate::schema::{Model, Namespace};
use crate::settings::reap::ReapSettings;
use crate::settings::repair::Gate;
use crate::settings::ConnectSettings;
use crate::store::audit::Audit;
use crate::store::moves::MoveOutcome;
use crate::store::reap::time_text;
use crate::store::Store;

use super::interrupt::Interrupt;
use super::session::Session;
use lock::Lock;

/// Members per SSCAN/HSCAN step, and so the most moves per round trip.
pub const PAGE: u32 = 1000;

/// Everything a sweep needs that does not change between sweeps.
struct Reaper<'a> {
    /// Where the password to keep out of the report comes from.
    connect: &'a ConnectSettings,
    model: &'a Model,
    ns: &'a Namespace,
    rs: &'a ReapSettings,
    audit: Audit,
    /// This process's lock token: host:pid:random.
    token: Vec<u8>,
    running_index: Vec<u8>,
    lock_key: Vec<u8>,
    seen_key: Vec<u8>,
    attempts_key: Vec<u8>,
    last_key: Vec<u8>,
}

impl Reaper<'_> {
    fn dry_run(&self) -> bool {
        self.rs.dry_run
    }
}

/// Run `jobq reap`: one sweep (`--once`, or no `--interval`), or a sweep
/// every `--interval` until Ctrl-C. Each sweep's report goes to `sink`; the
/// exit code is the last sweep's (130 after Ctrl-C).
pub async fn run<F>(ctx: crate::cmd::Ctx<'_>, rs: &ReapSettings, mut sink: F) -> Result<u8>
where
    F: FnMut(&SweepReport) -> Result<()>,
{
    let crate::cmd::Ctx { settings, ui, intr } = ctx;
    let model = &settings.model;
    let ns = &settings.ns;
    let dry_run = rs.dry_run;
    let mut store = crate::cmd::connect(&settings.connect, ui).await?;
    prepare(&mut store, dry_run, &ns.audit()).await?;
    let running_index = model.status_index(&model.status.running);
    let gate = if rs.ask {
        Gate::Ask
    } else if dry_run {
        Gate::DryRun
    } else {
        Gate::Go
    };
    let n = match gate {
        Gate::Ask => store.scard(&running_index).await?,
        _ => 0,
    };
    if ctx.confirm(gate, || prompt(model, rs, n))? == Decision::Declined {
        let mut report = SweepReport::new(1, dry_run, Rules::of(&rs.policy));
        report.not_run = Some(NotRun::Declined);
        sink(&report)?;
        return Ok(report.exit_code());
    }
    let audit = Audit::new(ns.audit(), "reap");
    let token = format!(
        "{}:{}:{}",
        audit.host,
        audit.pid,
        crate::bytes::hex(&rand::random::<[u8; 8]>())
    )
    .into_bytes();
    let reaper = Reaper {
        connect: &settings.connect,
        model,
        ns,
        rs,
        audit,
        token,
        lock_key: ns.reap_lock(&model.class),
        seen_key: ns.reap_seen(&model.class),
        attempts_key: ns.reap_attempts(&model.class),
        last_key: ns.reap_last(&model.class),
        running_index,
    };
    let mut session = Session::new(&settings.connect, store);
    let mut n = 0;
    loop {
        n += 1;
        let report = sweep(&reaper, &mut session, n, intr, ui).await;
        // On stderr even with -q; the report keeps them too.
        for e in &report.errors {
            ui.error(&anyhow!("reap sweep {n}: {e}"));
        }
        warn_about(ui, &report);
        sink(&report)?;
        let code = report.exit_code();
        let Some(interval) = rs.interval else {
            return Ok(code);
        };
        if code == exit::INTERRUPTED || intr.sleep(interval).await {
            return Ok(exit::INTERRUPTED);
        }
    }
}

/// The question asked before a sweep that takes every running job, or
/// nearly (`--all`, a lease under a minute); `n`: how many run now.
fn prompt(model: &Model, rs: &ReapSettings, n: u64) -> String {
    let which = if rs.policy.all {
        format!("every running {} job ({n} now)", model.class)
    } else {
        format!(
            "every running {} job that has run longer than {} ({n} running now)",
            model.class,
            humantime::format_duration(rs.lease)
        )
    };
    let every = if rs.interval.is_some() {
        ", on every sweep"
    } else {
        ""
    };
    format!("Move {which} back to {}{every}?", model.status.pending)
}

fn warn_about(ui: &Ui, r: &SweepReport) {
    if r.counts.ignored > 0 {
        ui.warn(format!(
            "{} running-index member(s) are not healthy running records and were left alone; `jobq orphans scan` classifies them",
            r.counts.ignored
        ));
    }
    if r.not_run == Some(NotRun::LockHeld) {
        ui.info("another reaper holds the lock; this sweep did not run");
    }
}

/// One sweep; never fails: errors are in the report. A connection that
/// failed is marked broken, so that the next sweep connects again.
async fn sweep(
    reaper: &Reaper<'_>,
    session: &mut Session<'_>,
    n: u64,
    intr: &Interrupt,
    ui: &Ui,
) -> SweepReport {
    let t0 = Instant::now();
    let mut rep = SweepReport::new(n, reaper.dry_run(), Rules::of(&reaper.rs.policy));
    if !reaper.dry_run() {
        rep.run_id = Some(reaper.audit.run_id.clone());
    }
    let ready = match session.reconnect_if_broken().await {
        Ok(true) => prepare(session.store(), reaper.dry_run(), &reaper.audit.stream).await,
        Ok(false) => Ok(()),
        Err(e) => Err(e),
    };
    if let Err(e) = ready {
        session.mark_broken();
        rep.errors.push(error_text(reaper, &e));
        rep.not_run = Some(NotRun::Error);
        rep.duration_ms = t0.elapsed().as_millis() as u64;
        return rep;
    }
    let result = lock::locked_sweep(reaper, session.store(), &mut rep, intr, ui, t0).await;
    if let Err(e) = result {
        session.mark_broken();
        rep.errors.push(error_text(reaper, &e));
        if rep.stopped.is_none() && rep.ran {
            rep.stopped = Some(Stop::Error);
        } else if !rep.ran && rep.not_run.is_none() {
            rep.not_run = Some(NotRun::Error);
        }
    }
    rep.duration_ms = t0.elapsed().as_millis() as u64;
    rep
}

/// An error for the report: one line, never the password.
fn error_text(reaper: &Reaper<'_>, e: &anyhow::Error) -> String {
    let text = format!("{e:#}").replace('\n', " ");
    crate::settings::scrub(&text, reaper.connect.secret.as_deref())
}

/// Make a connection ready to write (a dry run writes nothing): a primary,
/// the audit stream writable, the scripts loaded.
async fn prepare(store: &mut Store, dry_run: bool, audit: &[u8]) -> Result<()> {
    if !dry_run {
        store.require_writable()?;
        store.require_audit_permission(audit).await?;
        store.load_reap_scripts().await?;
    }
    Ok(())
}

/// The sweep proper, with the lock held (or in a dry run): skip it under
/// `--min-interval`, walk the running index, prune first sightings.
async fn walk(
    reaper: &Reaper<'_>,
    store: &mut Store,
    rep: &mut SweepReport,
    intr: &Interrupt,
    ui: &Ui,
    t0: Instant,
    mut lock: Option<&mut Lock>,
) -> Result<()> {
    if let Some(min) = reaper.rs.min_interval {
        if let Some(last) = store.get_time(&reaper.last_key).await? {
            let age = store.server_time().await? - last;
            rep.last_sweep_age_s = Some(age);
            if age < min.as_secs_f64() {
                rep.not_run = Some(NotRun::MinInterval);
                return Ok(());
            }
        }
    }
    rep.ran = true;
    let over_budget = |rep: &mut SweepReport| -> bool {
        if intr.is_set() {
            rep.stopped = Some(Stop::Interrupted);
        } else if reaper.rs.max_duration.is_some_and(|d| t0.elapsed() >= d) {
            rep.stopped = Some(Stop::MaxDuration);
        }
        rep.stopped.is_some()
    };
    let total = store.scard(&reaper.running_index).await?;
    let progress = ui.progress(Some(total), "reap");
    let mut seen: HashSet<Vec<u8>> = HashSet::new();
    // Three steps overlap on the one connection: the previous page's moves
    // are applied while this page is read and decided and the next page is
    // scanned. Each move is still guarded by the state it was planned from.
    let mut page = store.sscan_page(&reaper.running_index, 0, PAGE).await?;
    let mut planned: Vec<Planned> = Vec::new();
    // Read once per sweep, when the first stale job is met.
    let mut twins: Option<Twins> = None;
    loop {
        if over_budget(rep) {
            break;
        }
        lock::keep(reaper, store, rep, lock.as_deref_mut()).await?;
        let (next, members) = std::mem::take(&mut page);
        // SSCAN may return a member twice; a second move of it would only
        // be skipped, but it would be counted twice.
        let fresh: Vec<Vec<u8>> = members
            .into_iter()
            .filter(|m| seen.insert(m.clone()))
            .collect();
        progress.inc(fresh.len() as u64);
        let (mut mover, mut scanner) = (store.clone(), store.clone());
        let to_apply = std::mem::take(&mut planned);
        let (applied, decided, scanned) = tokio::join!(
            apply(&mut mover, &to_apply),
            decide(reaper, store, rep, fresh, &mut twins),
            async {
                if next == 0 {
                    Ok((0, Vec::new()))
                } else {
                    scanner.sscan_page(&reaper.running_index, next, PAGE).await
                }
            }
        );
        refused(record(reaper, rep, &to_apply, applied?))?;
        planned = decided?;
        if rep.stopped.is_some() || next == 0 {
            break;
        }
        page = scanned?;
    }
    // The last page's moves (also after Ctrl-C: they are planned, and one
    // round trip of atomic scripts is quick).
    let outcomes = apply(store, &planned).await?;
    refused(record(reaper, rep, &planned, outcomes))?;
    progress.finish();
    if rep.stopped.is_none() && !reaper.dry_run() {
        prune(reaper, store, rep, lock, &over_budget).await?;
    }
    Ok(())
}

/// Job_ids held by two or more live records, with their keys (see
/// `scan::held_twice`).
type Twins = FxHashMap<Vec<u8>, Vec<Vec<u8>>>;

/// One page of running-index members: read them, note first sightings,
/// decide which are stale, check heartbeats and reap counts, and plan their
/// moves (a dry run lists them instead).
async fn decide(
    reaper: &Reaper<'_>,
    store: &mut Store,
    rep: &mut SweepReport,
    keys: Vec<Vec<u8>>,
    twins: &mut Option<Twins>,
) -> Result<Vec<Planned>> {
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let (model, policy) = (reaper.model, &reaper.rs.policy);
    let (now, reads) = store.read_fields(&keys, &policy.read_fields).await?;
    let mut jobs: Vec<RunningJob> = Vec::with_capacity(keys.len());
    for (key, read) in keys.into_iter().zip(reads) {
        match judge_running(model, policy, &key, &read) {
            Seen::Running(j) => jobs.push(j),
            Seen::Vanished => rep.counts.vanished += 1,
            Seen::Ignored(reason) => rep.ignore(key, reason),
        }
    }
    rep.counts.running += jobs.len() as u64;

    let need: Vec<usize> = (0..jobs.len())
        .filter(|&i| policy.needs_note(&jobs[i]))
        .collect();
    let mut notes: Vec<Option<Note>> = vec![None; jobs.len()];
    if !need.is_empty() {
        let nk: Vec<Vec<u8>> = need.iter().map(|&i| jobs[i].key.clone()).collect();
        let got = if reaper.dry_run() {
            store.read_first_sightings(&reaper.seen_key, &nk).await?
        } else {
            store
                .note_first_sightings(&reaper.seen_key, now, &nk)
                .await?
        };
        let written: Option<f64> = match reaper.dry_run() {
            true => None,
            false => time_text(now).parse().ok(),
        };
        for (&i, t) in need.iter().zip(got) {
            notes[i] = note_of(t, written);
            if notes[i].is_some_and(|n| n.new) {
                rep.counts.first_sightings += 1;
            }
        }
    }

    let mut cands: Vec<(RunningJob, Staleness)> = jobs
        .into_iter()
        .zip(notes)
        .filter_map(|(j, note)| over_lease(policy, now, &j, note).map(|s| (j, s)))
        .collect();
    if policy.heartbeat.is_some() && !cands.is_empty() {
        let hk: Vec<Vec<u8>> = cands
            .iter()
            .map(|(j, _)| j.heartbeat.clone().unwrap_or_default())
            .collect();
        let alive = store.exists_many(&hk).await?;
        rep.counts.alive += alive.iter().filter(|a| **a).count() as u64;
        cands = cands
            .into_iter()
            .zip(alive)
            .filter(|(_, a)| !a)
            .map(|(c, _)| c)
            .collect();
    }
    if !cands.is_empty() {
        let held = match twins {
            Some(h) => h,
            None => twins.insert(crate::scan::held_twice(store, model).await?),
        };
        let mut rest = Vec::with_capacity(cands.len());
        for (j, s) in cands {
            match duplicate_of(model, held, &j) {
                Some(reason) => rep.ignore(j.key, reason),
                None => rest.push((j, s)),
            }
        }
        cands = rest;
    }
    if within_budget(&mut cands, reaper.rs.max_jobs, rep.counts.stale) {
        rep.stopped = Some(Stop::MaxJobs);
    }
    rep.counts.stale += cands.len() as u64;
    if cands.is_empty() {
        return Ok(Vec::new());
    }

    let ids: Vec<Vec<u8>> = cands
        .iter()
        .map(|(j, _)| j.job_id.as_bytes().to_vec())
        .collect();
    let attempts = store.hmget(&reaper.attempts_key, &ids).await?;
    let planned = plan_moves(model, reaper.ns, policy, &reaper.audit, cands, attempts);
    if reaper.dry_run() {
        for p in &planned {
            rep.would_move.push(MovedJob::planned(p, p.plan.attempts));
        }
        return Ok(Vec::new());
    }
    // The run's start entry, before its first move (once per process).
    store.open_run(&reaper.audit).await?;
    Ok(planned)
}

/// Apply planned moves in one pipelined round trip.
async fn apply(store: &mut Store, planned: &[Planned]) -> Result<Vec<MoveOutcome>> {
    if planned.is_empty() {
        return Ok(Vec::new());
    }
    store
        .move_records(planned.iter().map(|p| &p.plan.record))
        .await
}

/// A move the server refused (no permission, out of memory, a read-only
/// replica, a failing disk) stops the sweep with an error (exit 3): every
/// further move would be refused the same way. The move script checks
/// before it writes, so none was half-applied.
fn refused(why: Option<String>) -> Result<()> {
    match why {
        Some(why) => Err(anyhow!(
            "Redis refused a move ({why}); the moves before it were applied (each in the audit stream), none half-applied"
        )),
        None => Ok(()),
    }
}

/// Put the outcomes of applied moves into the report; the first refusal
/// among them, if any.
fn record(
    reaper: &Reaper<'_>,
    rep: &mut SweepReport,
    planned: &[Planned],
    outcomes: Vec<MoveOutcome>,
) -> Option<String> {
    let mut refusal = None;
    for (p, o) in planned.iter().zip(outcomes) {
        let skip = |reason: &str, detail: Option<String>| SkippedJob {
            job_id: p.job.job_id.clone(),
            key: Bytes(p.job.key.clone()),
            reason: reason.to_owned(),
            detail,
        };
        match o {
            MoveOutcome::Moved { count } => {
                if p.plan.to_status == reaper.model.status.failed {
                    rep.counts.to_failed += 1;
                } else {
                    rep.counts.to_pending += 1;
                }
                rep.moved.push(MovedJob::planned(p, count));
            }
            MoveOutcome::Skipped(reason) => {
                rep.counts.skipped += 1;
                rep.skipped.push(skip(reason.name(), None));
            }
            MoveOutcome::WrongType(k) => {
                rep.counts.failed += 1;
                rep.skipped.push(skip(
                    "wrong_type",
                    Some(format!("{} has the wrong type", Bytes(k))),
                ));
            }
            MoveOutcome::Error(e) => {
                if refusal.is_none() && e.is_refusal() {
                    refusal = Some(e.to_string());
                }
                rep.counts.failed += 1;
                rep.skipped.push(skip("error", Some(e.to_string())));
            }
        }
    }
    refusal
}

/// Drop first-sighting notes of keys no longer running, a page at a time.
async fn prune(
    reaper: &Reaper<'_>,
    store: &mut Store,
    rep: &mut SweepReport,
    mut lock: Option<&mut Lock>,
    over_budget: &dyn Fn(&mut SweepReport) -> bool,
) -> Result<()> {
    let mut cursor = 0;
    loop {
        if over_budget(rep) {
            return Ok(());
        }
        lock::keep(reaper, store, rep, lock.as_deref_mut()).await?;
        let (next, fields) = store.hscan_fields(&reaper.seen_key, cursor, PAGE).await?;
        rep.counts.pruned += store
            .prune_first_sightings(&reaper.seen_key, &reaper.running_index, fields)
            .await?;
        cursor = next;
        if cursor == 0 {
            return Ok(());
        }
    }
}
