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
//! Orchestration only: must not print (the sink and `Ui` do), build keys
//! (`schema`), or talk to Redis other than through `store`.

pub mod stale;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Result};
use serde::Serialize;

use crate::bytes::Bytes;
use crate::cli::ReapArgs;
use crate::exit;
use crate::output::Ui;
use crate::schema::{Model, Namespace};
use crate::settings::{ConnectSettings, Settings};
use crate::store::audit::Audit;
use crate::store::moves::MoveOutcome;
use crate::store::reap::{time_text, LockAttempt, ReapScripts};
use crate::store::{backoff, Store};

use super::interrupt::Interrupt;
use crate::diagnose::probe::job_id_segment;

use stale::{
    classify, over_lease, plan_move, Basis, Note, PlannedMove, Policy, RunningJob, Seen, Staleness,
};

/// Members per SSCAN/HSCAN step, and so the most moves per round trip.
pub const PAGE: u32 = 1000;
/// The lock outlives a reaper that died by this much at most.
const LOCK_TTL: Duration = Duration::from_secs(30);
/// A sweep extends its lock this often (between pages).
const LOCK_EXTEND_EVERY: Duration = Duration::from_secs(10);
/// Ignored members listed in a report (all are counted).
const IGNORED_LISTED: usize = 100;

/// The report of one sweep.
#[derive(Debug, Serialize)]
pub struct SweepReport {
    /// 1 for the first sweep of this process.
    pub sweep: u64,
    pub dry_run: bool,
    /// The id every audit entry of this process's sweeps carries
    /// (`jobq:audit`); `None` in a dry run, which writes nothing.
    pub run_id: Option<String>,
    /// Whether the sweep walked the running index (false: lock held, or a
    /// recent sweep with `--min-interval`).
    pub ran: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_run: Option<NotRun>,
    pub lock: LockReport,
    /// Seconds since the last completed sweep (read with `--min-interval`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_sweep_age_s: Option<f64>,
    pub rules: Rules,
    pub counts: Counts,
    /// Jobs moved by this sweep.
    pub moved: Vec<MovedJob>,
    /// With `--dry-run`: the jobs a sweep would move.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub would_move: Vec<MovedJob>,
    /// Stale jobs not moved: the state changed under us, or the move failed.
    pub skipped: Vec<SkippedJob>,
    /// Running-index members that are not healthy running records, left
    /// alone (the first 100; `counts.ignored` has them all).
    pub ignored: Vec<IgnoredMember>,
    /// Why the sweep stopped before walking the whole running index.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stopped: Option<Stop>,
    pub errors: Vec<String>,
    pub duration_ms: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NotRun {
    /// Another reaper holds the lock.
    LockHeld,
    /// The last sweep finished less than `--min-interval` ago.
    MinInterval,
    /// Ctrl-C while waiting for the lock.
    Interrupted,
    /// Redis could not be reached.
    Error,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Stop {
    MaxJobs,
    MaxDuration,
    Interrupted,
    Error,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LockStatus {
    /// Taken at once.
    Acquired,
    /// Taken after waiting for another reaper (`--wait-lock`).
    Waited,
    /// Held by another reaper: this sweep did not run.
    Held,
    /// Not taken: a dry run (it writes nothing), or the sweep stopped
    /// before (Redis unreachable).
    NotTaken,
    /// Expired under us mid-sweep (Redis stalled for longer than its TTL).
    Lost,
}

#[derive(Debug, Serialize)]
pub struct LockReport {
    pub status: LockStatus,
    /// The token (host:pid:random) of the reaper that held it when this
    /// one asked: with `held`, and with `waited` (the one waited for).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub holder: Option<Bytes>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub holder_ttl_ms: Option<i64>,
}

/// The rules the sweep applied.
#[derive(Debug, Serialize)]
pub struct Rules {
    pub lease_s: f64,
    /// The since field, or null when running time comes from first sightings.
    pub since_field: Option<String>,
    pub heartbeat_key: Option<String>,
    pub all: bool,
    pub max_attempts: u64,
}

#[derive(Debug, Default, Serialize)]
pub struct Counts {
    /// Healthy running records seen.
    pub running: u64,
    /// Running keys first seen by this sweep (noted; stale at the earliest
    /// on a later sweep).
    pub first_sightings: u64,
    /// Stale by the lease (or `--all`) with no heartbeat: to be moved.
    pub stale: u64,
    /// Over the lease, but the heartbeat key exists: left running.
    pub alive: u64,
    pub to_pending: u64,
    pub to_failed: u64,
    /// Not moved because the state changed between read and move.
    pub skipped: u64,
    /// Not moved because the move failed (a key of the wrong type, an error).
    pub failed: u64,
    /// Members that are not healthy running records, left alone.
    pub ignored: u64,
    /// Members whose record was gone when read (moved by a worker).
    pub vanished: u64,
    /// First-sighting notes dropped because their key is no longer running.
    pub pruned: u64,
}

#[derive(Debug, Serialize)]
pub struct MovedJob {
    pub job_id: String,
    pub old_key: Bytes,
    pub new_key: Bytes,
    /// The status it was moved to (pending, or failed after max attempts).
    pub to: String,
    /// How many times it has been reaped, this time included.
    pub attempts: u64,
    pub basis: Basis,
    /// Seconds it had been running (at least), when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub running_for_s: Option<f64>,
}

#[derive(Debug, Serialize)]
pub struct SkippedJob {
    pub job_id: String,
    pub key: Bytes,
    /// gone, field_changed, not_in_set, target_exists, key_exists,
    /// counter_changed (the state changed: nothing written); wrong_type,
    /// error (the move failed: nothing known to be written).
    pub reason: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct IgnoredMember {
    pub key: Bytes,
    pub reason: String,
}

impl SweepReport {
    fn new(sweep: u64, dry_run: bool, rules: Rules) -> SweepReport {
        SweepReport {
            sweep,
            dry_run,
            run_id: None,
            ran: false,
            not_run: None,
            lock: LockReport {
                status: LockStatus::NotTaken,
                holder: None,
                holder_ttl_ms: None,
            },
            last_sweep_age_s: None,
            rules,
            counts: Counts::default(),
            moved: Vec::new(),
            would_move: Vec::new(),
            skipped: Vec::new(),
            ignored: Vec::new(),
            stopped: None,
            errors: Vec::new(),
            duration_ms: 0,
        }
    }

    /// The exit code of a run that ends with this sweep.
    pub fn exit_code(&self) -> u8 {
        if self.stopped == Some(Stop::Interrupted) || self.not_run == Some(NotRun::Interrupted) {
            exit::INTERRUPTED
        } else if self.not_run == Some(NotRun::LockHeld) {
            exit::LOCKED
        } else if !self.errors.is_empty() {
            exit::RUNTIME
        } else if self.dry_run && !self.would_move.is_empty() {
            exit::FINDINGS
        } else if self.counts.skipped + self.counts.failed > 0 {
            exit::PARTIAL
        } else {
            exit::OK
        }
    }

    fn ignore(&mut self, key: Vec<u8>, reason: String) {
        self.counts.ignored += 1;
        if self.ignored.len() < IGNORED_LISTED {
            self.ignored.push(IgnoredMember {
                key: Bytes(key),
                reason,
            });
        }
    }
}

/// Everything a sweep needs that does not change between sweeps.
struct Ctx<'a> {
    /// For connecting again after a sweep failed (`--interval`).
    connect: &'a ConnectSettings,
    model: &'a Model,
    ns: &'a Namespace,
    args: &'a ReapArgs,
    policy: Policy,
    scripts: ReapScripts,
    audit: Audit,
    /// This process's lock token: host:pid:random.
    token: Vec<u8>,
    running_index: Vec<u8>,
    lock_key: Vec<u8>,
    seen_key: Vec<u8>,
    attempts_key: Vec<u8>,
    last_key: Vec<u8>,
}

impl Ctx<'_> {
    fn dry_run(&self) -> bool {
        self.args.confirm.dry_run
    }

    fn rules(&self) -> Rules {
        Rules {
            lease_s: self.policy.lease,
            since_field: self.policy.since_field.clone(),
            heartbeat_key: self.policy.heartbeat_text.clone(),
            all: self.policy.all,
            max_attempts: self.policy.max_attempts,
        }
    }
}

/// A lease this short takes jobs that are merely running, not stale: no
/// worker heartbeats or finishes that fast, so it is as sweeping as
/// `--all` and asks first as `--all` does.
pub const ASK_BELOW_LEASE: std::time::Duration = std::time::Duration::from_secs(60);

/// Run `jobq reap`: one sweep (`--once`, or no `--interval`), or a sweep
/// every `--interval` until Ctrl-C. Each sweep's report goes to `sink`; the
/// exit code is the last sweep's (130 after Ctrl-C).
pub async fn run<F>(settings: &Settings, ui: &Ui, args: &ReapArgs, mut sink: F) -> Result<u8>
where
    F: FnMut(&SweepReport) -> Result<()>,
{
    let model = &settings.model;
    let ns = &settings.ns;
    let policy = Policy::new(model, args)?;
    if args.interval.is_some_and(|d| d.is_zero()) {
        return Err(exit::usage("--interval must be above zero"));
    }
    if args.max_jobs == Some(0) {
        return Err(exit::usage("--max-jobs must be at least 1"));
    }
    let dry_run = args.confirm.dry_run;
    let mut store = crate::cmd::connect(&settings.connect, ui).await?;
    let scripts = ReapScripts::default();
    if !dry_run {
        store.require_writable()?;
        store.require_audit_permission(&settings.ns.audit()).await?;
        store.load_reap_scripts(&scripts).await?;
    }
    let running_index = model.status_index(&model.status.running);
    // Before the prompt: a Ctrl-C there is raised as SIGINT by the prompt
    // itself, and without a handler it would end the process with the
    // cursor still hidden and nothing said.
    let intr = Interrupt::install();
    let short_lease = args.lease < ASK_BELOW_LEASE;
    if (args.all || short_lease) && !args.confirm.yes && !dry_run {
        let n = store.scard(&running_index).await?;
        let which = if args.all {
            format!("every running {} job ({n} now)", model.class)
        } else {
            format!(
                "every running {} job that has run longer than {} ({n} running now)",
                model.class,
                humantime::format_duration(args.lease)
            )
        };
        let prompt = format!(
            "Move {which} back to {}{}?",
            model.status.pending,
            if args.interval.is_some() {
                ", on every sweep"
            } else {
                ""
            }
        );
        if !ui.confirm(&prompt)? {
            return Err(exit::with_code(
                exit::DECLINED,
                "declined; nothing was changed",
            ));
        }
    }
    let audit = Audit::new(ns.audit(), "reap");
    let token = format!(
        "{}:{}:{}",
        audit.host,
        audit.pid,
        crate::bytes::hex(&rand::random::<[u8; 8]>())
    )
    .into_bytes();
    let ctx = Ctx {
        connect: &settings.connect,
        model,
        ns,
        args,
        policy,
        scripts,
        audit,
        token,
        lock_key: ns.reap_lock(&model.class),
        seen_key: ns.reap_seen(&model.class),
        attempts_key: ns.reap_attempts(&model.class),
        last_key: ns.reap_last(&model.class),
        running_index,
    };
    let mut store = Some(store);
    let mut n = 0;
    loop {
        n += 1;
        let report = sweep(&ctx, &mut store, n, &intr, ui).await;
        // On stderr even with -q; the report keeps them too.
        for e in &report.errors {
            let e = anyhow!("reap sweep {n}: {e}");
            crate::output::print_error(&e, None, ui.settings.color_stderr);
        }
        warn_about(ui, &report);
        sink(&report)?;
        let code = report.exit_code();
        let Some(interval) = args.interval else {
            return Ok(code);
        };
        if code == exit::INTERRUPTED || intr.sleep(interval).await {
            return Ok(exit::INTERRUPTED);
        }
    }
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

/// One sweep; never fails: errors are in the report. A store that failed is
/// dropped so that the next sweep connects again.
async fn sweep(
    ctx: &Ctx<'_>,
    slot: &mut Option<Store>,
    n: u64,
    intr: &Interrupt,
    ui: &Ui,
) -> SweepReport {
    let t0 = Instant::now();
    let mut rep = SweepReport::new(n, ctx.dry_run(), ctx.rules());
    if !ctx.dry_run() {
        rep.run_id = Some(ctx.audit.run_id.clone());
    }
    let mut store = match slot.take() {
        Some(s) => s,
        None => match reconnect(ctx).await {
            Ok(s) => s,
            Err(e) => {
                rep.errors.push(error_text(ctx, &e));
                rep.not_run = Some(NotRun::Error);
                rep.duration_ms = t0.elapsed().as_millis() as u64;
                return rep;
            }
        },
    };
    let result = locked_sweep(ctx, &mut store, &mut rep, intr, ui, t0).await;
    match result {
        Ok(()) => *slot = Some(store),
        Err(e) => {
            rep.errors.push(error_text(ctx, &e));
            if rep.stopped.is_none() && rep.ran {
                rep.stopped = Some(Stop::Error);
            } else if !rep.ran && rep.not_run.is_none() {
                rep.not_run = Some(NotRun::Error);
            }
        }
    }
    rep.duration_ms = t0.elapsed().as_millis() as u64;
    rep
}

/// An error for the report: one line, never the password.
fn error_text(ctx: &Ctx<'_>, e: &anyhow::Error) -> String {
    let text = format!("{e:#}").replace('\n', " ");
    match ctx.connect.secret.as_deref() {
        Some(s) if s.len() >= 3 => text.replace(s, "***"),
        _ => text,
    }
}

/// A new connection after a failed sweep (`--interval`), scripts loaded.
async fn reconnect(ctx: &Ctx<'_>) -> Result<Store> {
    let mut store = Store::connect(ctx.connect).await?;
    if !ctx.dry_run() {
        store.require_writable()?;
        store.require_audit_permission(&ctx.audit.stream).await?;
        store.load_reap_scripts(&ctx.scripts).await?;
    }
    Ok(store)
}

/// The held lock: when it was last extended.
struct Lock {
    extended: Instant,
}

async fn locked_sweep(
    ctx: &Ctx<'_>,
    store: &mut Store,
    rep: &mut SweepReport,
    intr: &Interrupt,
    ui: &Ui,
    t0: Instant,
) -> Result<()> {
    let mut lock = None;
    if !ctx.dry_run() {
        match acquire(ctx, store, rep, intr).await? {
            Some(l) => lock = Some(l),
            None => return Ok(()),
        }
    }
    let result = walk(ctx, store, rep, intr, ui, t0, lock.as_mut()).await;
    if lock.is_none() {
        return result;
    }
    // A sweep counts as done unless it was cut short by Ctrl-C or an error;
    // budgets (--max-jobs, --max-duration) end it normally.
    let complete =
        result.is_ok() && rep.ran && !matches!(rep.stopped, Some(Stop::Interrupted | Stop::Error));
    match release(ctx, store, complete).await {
        Ok(true) => {}
        Ok(false) if rep.lock.status == LockStatus::Lost => {}
        Ok(false) => {
            rep.lock.status = LockStatus::Lost;
            rep.errors.push(
                "the reaper lock expired during the sweep (Redis stalled?); another reaper may have run meanwhile"
                    .into(),
            );
        }
        // The sweep's own error says more; the lock expires by itself.
        Err(e) if result.is_err() => rep
            .errors
            .push(error_text(ctx, &e.context("releasing the lock"))),
        Err(e) => return Err(e.context("releasing the reaper lock")),
    }
    result
}

/// Release the lock, recording the sweep's end when it was complete;
/// whether it was still ours.
async fn release(ctx: &Ctx<'_>, store: &mut Store, complete: bool) -> Result<bool> {
    let finished = if complete {
        Some(store.server_time().await?)
    } else {
        None
    };
    store
        .lock_release(
            &ctx.scripts,
            &ctx.lock_key,
            &ctx.last_key,
            &ctx.token,
            finished,
        )
        .await
}

/// Take the lock, waiting for it with `--wait-lock`. None: not taken (held
/// by another reaper, or Ctrl-C while waiting), and the report says why.
async fn acquire(
    ctx: &Ctx<'_>,
    store: &mut Store,
    rep: &mut SweepReport,
    intr: &Interrupt,
) -> Result<Option<Lock>> {
    let ttl = LOCK_TTL.as_millis() as u64;
    let mut attempt = 0;
    loop {
        match store
            .lock_acquire(&ctx.scripts, &ctx.lock_key, &ctx.token, ttl)
            .await?
        {
            LockAttempt::Acquired => {
                rep.lock.status = if attempt == 0 {
                    LockStatus::Acquired
                } else {
                    LockStatus::Waited
                };
                return Ok(Some(Lock {
                    extended: Instant::now(),
                }));
            }
            LockAttempt::Held { holder, ttl_ms } => {
                rep.lock.status = LockStatus::Held;
                rep.lock.holder = Some(Bytes(holder));
                rep.lock.holder_ttl_ms = Some(ttl_ms);
                if !ctx.args.wait_lock {
                    rep.not_run = Some(NotRun::LockHeld);
                    return Ok(None);
                }
                if intr.sleep(backoff(attempt)).await {
                    rep.not_run = Some(NotRun::Interrupted);
                    return Ok(None);
                }
                attempt += 1;
            }
        }
    }
}

/// Extend the lock when due; an error if it was lost.
async fn keep(
    ctx: &Ctx<'_>,
    store: &mut Store,
    rep: &mut SweepReport,
    lock: Option<&mut Lock>,
) -> Result<()> {
    let Some(lock) = lock else { return Ok(()) };
    if lock.extended.elapsed() < LOCK_EXTEND_EVERY {
        return Ok(());
    }
    let ttl = LOCK_TTL.as_millis() as u64;
    if store
        .lock_extend(&ctx.scripts, &ctx.lock_key, &ctx.token, ttl)
        .await?
    {
        lock.extended = Instant::now();
        Ok(())
    } else {
        rep.lock.status = LockStatus::Lost;
        Err(anyhow!(
            "lost the reaper lock mid-sweep (Redis stalled for over {} s?); stopped so that two reapers do not overlap",
            LOCK_TTL.as_secs()
        ))
    }
}

/// The sweep proper, with the lock held (or in a dry run): skip it under
/// `--min-interval`, walk the running index, prune first sightings.
async fn walk(
    ctx: &Ctx<'_>,
    store: &mut Store,
    rep: &mut SweepReport,
    intr: &Interrupt,
    ui: &Ui,
    t0: Instant,
    mut lock: Option<&mut Lock>,
) -> Result<()> {
    if let Some(min) = ctx.args.min_interval {
        if let Some(last) = store.get_time(&ctx.last_key).await? {
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
        } else if ctx.args.max_duration.is_some_and(|d| t0.elapsed() >= d) {
            rep.stopped = Some(Stop::MaxDuration);
        }
        rep.stopped.is_some()
    };
    let total = store.scard(&ctx.running_index).await?;
    let progress = ui.progress(Some(total), "reap");
    let mut seen: HashSet<Vec<u8>> = HashSet::new();
    // Three steps overlap on the one connection: the previous page's moves
    // are applied while this page is read and decided and the next page is
    // scanned. Each move is still guarded by the state it was planned from.
    let mut page = store.sscan_page(&ctx.running_index, 0, PAGE).await?;
    let mut planned: Vec<Planned> = Vec::new();
    // Read once per sweep, when the first stale job is met.
    let mut twins: Option<Twins> = None;
    loop {
        if over_budget(rep) {
            break;
        }
        keep(ctx, store, rep, lock.as_deref_mut()).await?;
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
            decide(ctx, store, rep, fresh, &mut twins),
            async {
                if next == 0 {
                    Ok((0, Vec::new()))
                } else {
                    scanner.sscan_page(&ctx.running_index, next, PAGE).await
                }
            }
        );
        refused(record(ctx, rep, &to_apply, applied?))?;
        planned = decided?;
        if rep.stopped.is_some() || next == 0 {
            break;
        }
        page = scanned?;
    }
    // The last page's moves (also after Ctrl-C: they are planned, and one
    // round trip of atomic scripts is quick).
    let outcomes = apply(store, &planned).await?;
    refused(record(ctx, rep, &planned, outcomes))?;
    progress.finish();
    if rep.stopped.is_none() && !ctx.dry_run() {
        prune(ctx, store, rep, lock, &over_budget).await?;
    }
    Ok(())
}

/// Job_ids held by two or more live records, with their keys (see
/// `scan::held_twice`).
struct Twins(rustc_hash::FxHashMap<Vec<u8>, Vec<Vec<u8>>>);

/// A stale job and the move planned for it.
struct Planned {
    job: RunningJob,
    staleness: Staleness,
    plan: PlannedMove,
}

impl Planned {
    fn moved(&self, attempts: u64) -> MovedJob {
        MovedJob {
            job_id: self.job.job_id.clone(),
            old_key: Bytes(self.job.key.clone()),
            new_key: Bytes(self.plan.record.new_key.clone()),
            to: self.plan.to_status.clone(),
            attempts,
            basis: self.staleness.basis,
            running_for_s: self.staleness.age.map(|a| (a * 1000.0).round() / 1000.0),
        }
    }
}

/// One page of running-index members: read them, note first sightings,
/// decide which are stale, check heartbeats and reap counts, and plan their
/// moves (a dry run lists them instead).
async fn decide(
    ctx: &Ctx<'_>,
    store: &mut Store,
    rep: &mut SweepReport,
    keys: Vec<Vec<u8>>,
    twins: &mut Option<Twins>,
) -> Result<Vec<Planned>> {
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let (model, policy) = (ctx.model, &ctx.policy);
    let (now, reads) = store.read_fields(&keys, &policy.read_fields).await?;
    let mut jobs: Vec<RunningJob> = Vec::with_capacity(keys.len());
    for (key, read) in keys.into_iter().zip(reads) {
        match classify(model, policy, &key, &read) {
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
        let got = if ctx.dry_run() {
            store.read_first_sightings(&ctx.seen_key, &nk).await?
        } else {
            store
                .note_first_sightings(&ctx.scripts, &ctx.seen_key, now, &nk)
                .await?
        };
        // A note holding exactly this sweep's time was written by it.
        let now_stored: Option<f64> = time_text(now).parse().ok();
        for (&i, t) in need.iter().zip(got) {
            notes[i] = t.map(|first_seen| Note {
                first_seen,
                new: !ctx.dry_run() && Some(first_seen) == now_stored,
            });
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
        // A job_id another live record holds (under another project) is a
        // duplicate, not a stale job: requeueing the running copy would run
        // a job that may have completed as the other. Left to `reindex`.
        if twins.is_none() {
            *twins = Some(Twins(crate::scan::held_twice(store, model).await?));
        }
        let held = twins.as_ref().map(|t| &t.0);
        let others_of = |j: &RunningJob| -> Vec<String> {
            job_id_segment(model, &j.key)
                .and_then(|id| held.and_then(|h| h.get(id)))
                .into_iter()
                .flatten()
                .filter(|k| **k != j.key)
                .map(|k| crate::bytes::escape_bytes(k))
                .collect()
        };
        let mut rest = Vec::with_capacity(cands.len());
        for (j, s) in cands {
            let others = others_of(&j);
            if others.is_empty() {
                rest.push((j, s));
                continue;
            }
            let reason = format!(
                "a duplicate: job_id {} is also held by {}; not requeued (see jobq reindex --prefer)",
                j.job_id,
                others.join(", ")
            );
            rep.ignore(j.key, reason);
        }
        cands = rest;
    }
    if let Some(max) = ctx.args.max_jobs {
        let left = max.saturating_sub(rep.counts.stale) as usize;
        if cands.len() >= left {
            cands.truncate(left);
            rep.stopped = Some(Stop::MaxJobs);
        }
    }
    rep.counts.stale += cands.len() as u64;
    if cands.is_empty() {
        return Ok(Vec::new());
    }

    let ids: Vec<Vec<u8>> = cands
        .iter()
        .map(|(j, _)| j.job_id.as_bytes().to_vec())
        .collect();
    let attempts = store.hmget(&ctx.attempts_key, &ids).await?;
    let planned: Vec<Planned> = cands
        .into_iter()
        .zip(attempts)
        .map(|((job, staleness), a)| {
            let before = a
                .and_then(|b| std::str::from_utf8(&b).ok()?.parse::<u64>().ok())
                .unwrap_or(0);
            let plan = plan_move(model, ctx.ns, policy, &ctx.audit, &job, before, &staleness);
            Planned {
                job,
                staleness,
                plan,
            }
        })
        .collect();
    if ctx.dry_run() {
        for p in &planned {
            rep.would_move.push(p.moved(p.plan.attempts));
        }
        return Ok(Vec::new());
    }
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
    ctx: &Ctx<'_>,
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
                if p.plan.to_status == ctx.model.status.failed {
                    rep.counts.to_failed += 1;
                } else {
                    rep.counts.to_pending += 1;
                }
                rep.moved.push(p.moved(count));
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
                if refusal.is_none() && crate::store::is_refusal(&e) {
                    refusal = Some(e.clone());
                }
                rep.counts.failed += 1;
                rep.skipped.push(skip("error", Some(e)));
            }
        }
    }
    refusal
}

/// Drop first-sighting notes of keys no longer running, a page at a time.
async fn prune(
    ctx: &Ctx<'_>,
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
        keep(ctx, store, rep, lock.as_deref_mut()).await?;
        let (next, fields) = store.hscan_fields(&ctx.seen_key, cursor, PAGE).await?;
        rep.counts.pruned += store
            .prune_first_sightings(&ctx.scripts, &ctx.seen_key, &ctx.running_index, fields)
            .await?;
        cursor = next;
        if cursor == 0 {
            return Ok(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(dry_run: bool) -> SweepReport {
        let rules = Rules {
            lease_s: 1.0,
            since_field: None,
            heartbeat_key: None,
            all: false,
            max_attempts: 3,
        };
        SweepReport::new(1, dry_run, rules)
    }

    fn moved() -> MovedJob {
        MovedJob {
            job_id: "j".into(),
            old_key: Bytes::from("a"),
            new_key: Bytes::from("b"),
            to: "pending".into(),
            attempts: 1,
            basis: Basis::All,
            running_for_s: None,
        }
    }

    #[test]
    fn exit_codes_follow_the_contract() {
        assert_eq!(report(false).exit_code(), exit::OK);
        let mut r = report(true);
        assert_eq!(r.exit_code(), exit::OK, "a dry run with nothing stale");
        r.would_move.push(moved());
        assert_eq!(r.exit_code(), exit::FINDINGS);
        let mut r = report(false);
        r.counts.skipped = 1;
        assert_eq!(r.exit_code(), exit::PARTIAL);
        r.counts.skipped = 0;
        r.counts.failed = 1;
        assert_eq!(r.exit_code(), exit::PARTIAL);
        r.errors.push("boom".into());
        assert_eq!(r.exit_code(), exit::RUNTIME, "errors outrank skips");
        r.not_run = Some(NotRun::LockHeld);
        assert_eq!(r.exit_code(), exit::LOCKED);
        r.stopped = Some(Stop::Interrupted);
        assert_eq!(r.exit_code(), exit::INTERRUPTED);
        let mut r = report(false);
        r.not_run = Some(NotRun::MinInterval);
        assert_eq!(r.exit_code(), exit::OK, "a skipped sweep is not a failure");
    }
}
