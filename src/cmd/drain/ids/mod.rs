//! `jobq drain --ids`: wait for just the given jobs and say how each ended
//! (completed, failed, or unknown: no live record any more, or two).
//!
//! A job id names its records only together with the job's other key
//! fields (`RedisJob:{job_id}:{project}:{status}`), so each job first gets
//! an identity: the key `enqueue --json` reported, or the one `--project`
//! gives (a model whose only other key field is `project_key`), or else
//! one walk of the model's keys (SCAN MATCH, as `inspect JOB_ID` finds a
//! job's records, but one walk for all the ids together; a second walk for
//! the ids the first did not see, as a job may move while it runs). That
//! walk happens once, at the start, never per poll.
//!
//! Then every poll costs, for the jobs not yet settled, one SMISMEMBER per
//! status index per 1000 jobs (their candidate keys, built by `schema`),
//! pipelined 5000 jobs to a round trip; plus, for at most
//! [`CHECKS_PER_POLL`] jobs that the indexes cannot settle (in a terminal
//! index, in none, in two), one EXISTS per candidate key. When no job is
//! open, the poll re-reads every job's indexes: an answer holds only if two
//! reads `--settle` apart agree.
//!
//! Owns: the orchestration of the `--ids` wait and its report. Must not:
//! print, format keys, or talk to Redis except through `store`.

use std::collections::HashMap;

use anyhow::{Context, Result};
use tokio::time::Instant;

mod answer;
mod find;

use answer::{list_jobs, outcome_of};
use find::{discover, identity, roles};

use super::jobs::{self, Answer, Open, Roles, State, Tally};
use super::watch::{Counts, DrainLimits, Watch, WatchOutcome};
use super::{absent, absent_error, rounded_secs, wait, Absent, Poller, Target};
use crate::cmd::session::Session;
use crate::exit;
use crate::output::{Progress, Ui};
use crate::report::drain::{DrainReport, Outcome, Reason};
use crate::schema::Model;
use crate::settings::drain::{DrainSettings, IdEntry};
use crate::settings::Settings;
use crate::store::drain::{is_unavailable, Unavailable};
use crate::store::drain_ids::MemberAsk;
use crate::store::Store;

/// Candidate keys per SMISMEMBER.
const IDS_PER_ASK: usize = 1000;
/// Jobs whose index reads share one round trip.
const IDS_PER_TRIP: usize = 5000;
/// EXISTS per round trip.
const KEYS_PER_TRIP: usize = 4000;
/// The most jobs one poll reads the records of; the others wait a poll.
pub const CHECKS_PER_POLL: usize = 1000;

/// The jobs followed, and what was last seen of each.
struct Jobs<'a> {
    model: &'a Model,
    roles: Roles,
    indexes: Vec<Vec<u8>>,
    ids: &'a [IdEntry],
    /// The key of each job's record under the first status: its identity.
    /// None: no record of it was found at the start.
    templates: Vec<Option<Vec<u8>>>,
    states: Vec<State>,
    /// Live records of jobs found twice by the start's walk.
    twins: HashMap<usize, Vec<Vec<u8>>>,
}

impl Jobs<'_> {
    /// The job's key under each status, in the model's order.
    fn candidates(&self, i: usize) -> Vec<Vec<u8>> {
        let m = self.model;
        let Some(parsed) = self.templates[i].as_ref().and_then(|t| m.parse_key(t).ok()) else {
            return Vec::new();
        };
        m.status
            .values
            .iter()
            .map(|s| m.rekey(&parsed, &m.status.field, s))
            .collect()
    }

    /// Which status indexes hold each job's key under that status.
    async fn index_masks(&self, store: &mut Store, targets: &[usize]) -> Result<Vec<u64>> {
        let mut out = Vec::with_capacity(targets.len());
        for trip in targets.chunks(IDS_PER_TRIP) {
            let keys: Vec<Vec<Vec<u8>>> = trip.iter().map(|&i| self.candidates(i)).collect();
            let mut asks = Vec::new();
            for chunk in keys.chunks(IDS_PER_ASK) {
                for (s, set) in self.indexes.iter().enumerate() {
                    asks.push(MemberAsk {
                        set,
                        members: chunk
                            .iter()
                            .filter_map(|c| c.get(s).map(Vec::as_slice))
                            .collect(),
                    });
                }
            }
            let answers = store.members_in(&asks, asks.len()).await?;
            let mut flags = vec![0u64; trip.len()];
            for (a, answer) in answers.iter().enumerate() {
                let (chunk, s) = (a / self.indexes.len(), a % self.indexes.len());
                // Jobs without candidates asked nothing: line the answers
                // up with the jobs that did.
                let asked = (chunk * IDS_PER_ASK..trip.len().min((chunk + 1) * IDS_PER_ASK))
                    .filter(|&j| !keys[j].is_empty());
                for (j, f) in asked.zip(answer) {
                    if *f {
                        flags[j] |= 1 << s;
                    }
                }
            }
            out.extend(flags);
        }
        Ok(out)
    }

    /// One read: the open jobs, or every job when none is open (the
    /// confirming read). At most `check_limit` jobs get their records read.
    async fn read(&mut self, store: &mut Store, check_limit: usize) -> Result<Counts> {
        let followed = |i: &usize| self.templates[*i].is_some();
        let open: Vec<usize> = (0..self.ids.len())
            .filter(followed)
            .filter(|&i| matches!(self.states[i], State::Open(_)))
            .collect();
        let confirming = open.is_empty();
        let targets = if confirming {
            (0..self.ids.len()).filter(followed).collect()
        } else {
            open
        };
        let masks = self.index_masks(store, &targets).await?;
        let mut check = Vec::new();
        for (&i, &seen) in targets.iter().zip(&masks) {
            if confirming {
                // An answer that no longer holds is open again: the wait
                // goes on, and a new answer needs its own confirmation.
                if !jobs::still_holds(self.states[i], seen) {
                    let open = jobs::from_indexes(&self.roles, seen).unwrap_or(Open::Other);
                    self.states[i] = State::Open(open);
                }
                continue;
            }
            match jobs::from_indexes(&self.roles, seen) {
                Some(open) => self.states[i] = State::Open(open),
                None if check.len() < check_limit => check.push((i, seen)),
                None => self.states[i] = State::Open(Open::Other),
            }
        }
        let keys: Vec<Vec<u8>> = check
            .iter()
            .flat_map(|&(i, _)| self.candidates(i))
            .collect();
        let live = store.keys_exist(&keys, KEYS_PER_TRIP).await?;
        let n = self.roles.count;
        for (c, &(i, seen)) in check.iter().enumerate() {
            let flags = live.get(c * n..(c + 1) * n).unwrap_or_default();
            self.states[i] =
                jobs::from_records(&self.roles, seen, jobs::mask(flags.iter().copied()));
        }
        Ok(self.counts())
    }

    fn tally(&self) -> Tally {
        Tally::of(&self.states)
    }

    fn counts(&self) -> Counts {
        let t = self.tally();
        Counts {
            pending: t.pending,
            running: t.running,
            done: Some(t.settled()),
        }
    }
}

/// The `--ids` wait's reads, on a connection replaced after Redis stops
/// answering.
struct IdsPoller<'a, 'b> {
    session: Session<'a>,
    jobs: Jobs<'b>,
    target: &'b Target,
    allow_empty: bool,
    reads: u64,
}

impl IdsPoller<'_, '_> {
    async fn try_read(&mut self) -> Result<Counts> {
        self.session
            .reconnect_if_broken()
            .await
            .map_err(|e| Unavailable(format!("{e:#}")))?;
        if self.session.restarted() && !self.allow_empty {
            let what = absent(self.session.store(), self.target).await?;
            self.session.restart_weighed();
            if what == Absent::Model {
                return Err(absent_error(
                    what,
                    self.target,
                    self.session.display_url(),
                    "Redis restarted while waiting (its run_id changed) and now: ",
                ));
            }
        }
        self.reads += 1;
        self.jobs.read(self.session.store(), CHECKS_PER_POLL).await
    }
}

impl Poller for IdsPoller<'_, '_> {
    async fn read(&mut self) -> Result<Counts> {
        let r = self.try_read().await;
        if matches!(&r, Err(e) if is_unavailable(e)) {
            self.session.mark_broken();
        }
        r
    }

    fn display_url(&self) -> &str {
        self.session.display_url()
    }

    fn show(&self, progress: &Progress, watch: &Watch) {
        let t = self.jobs.tally();
        progress.set_length(self.jobs.ids.len() as u64);
        progress.set_position(t.settled());
        let last = watch.last();
        progress.set_message(format!(
            "{} pending, {} running, {} failed",
            last.pending, last.running, t.failed
        ));
    }
}

pub(super) async fn drain_ids(
    settings: &Settings,
    ui: &Ui,
    args: &DrainSettings,
    ids: &[IdEntry],
) -> Result<(DrainReport, u8)> {
    let model = &settings.model;
    let project = args.project.as_deref();
    let target = Target::new(model, project)?;
    let mut templates = Vec::with_capacity(ids.len());
    let mut derived = Vec::with_capacity(ids.len());
    for e in ids {
        let (t, d) = identity(model, e, project)?;
        templates.push(t);
        derived.push(d);
    }
    let mut jobs = Jobs {
        model,
        roles: roles(model)?,
        indexes: model
            .status
            .values
            .iter()
            .map(|s| model.status_index(s))
            .collect(),
        ids,
        templates,
        states: vec![State::Open(Open::Other); ids.len()],
        twins: HashMap::new(),
    };
    let policy = DrainLimits {
        settle: args.settle,
        stall_timeout: args.stall_timeout,
        timeout: args.timeout,
    };
    let clock = Instant::now();
    let mut store = crate::cmd::connect(&settings.connect, ui).await?;
    if !args.allow_empty && absent(&mut store, &target).await? == Absent::Model {
        return Err(absent_error(
            Absent::Model,
            &target,
            store.display_url(),
            "",
        ));
    }
    let t0 = clock.elapsed();
    // The first read checks every job's records it must (no per-poll
    // bound): the jobs it finds no record of are looked for by a walk.
    jobs.read(&mut store, usize::MAX)
        .await
        .context("cannot read the jobs")?;
    let lost: Vec<usize> = (0..ids.len())
        .filter(|&i| match jobs.states[i] {
            State::Settled {
                answer: Answer::Gone,
                ..
            } => derived[i],
            _ => jobs.templates[i].is_none(),
        })
        .collect();
    let first = if lost.is_empty() {
        jobs.counts()
    } else {
        discover(ui, &mut store, &mut jobs, lost, project).await?;
        jobs.read(&mut store, usize::MAX)
            .await
            .context("cannot read the jobs")?
    };
    let t1 = clock.elapsed();
    let mut watch = Watch::new(policy, first, t1);
    let progress = ui.progress(Some(ids.len() as u64), "drain");
    let mut poller = IdsPoller {
        session: Session::new(&settings.connect, store),
        jobs,
        target: &target,
        allow_empty: args.allow_empty,
        reads: 0,
    };
    poller.show(&progress, &watch);
    let first_step = watch.start(t0, t1);
    let outcome = wait(ui, &mut poller, &mut watch, &progress, clock, first_step).await?;
    progress.finish();
    let t = poller.jobs.tally();
    if args.gone_completed {
        ui.warn(format!(
            "--gone-means completed: {} job(s) with no live record counted completed",
            t.gone
        ));
    }
    let mut report_ids = outcome_of(&t, outcome, args.gone_completed, poller.reads);
    list_jobs(ui, &mut poller, args.gone_completed, &mut report_ids).await;
    let (reason, code) = match outcome {
        WatchOutcome::Timeout => (Reason::Timeout, exit::DRAIN_TIMEOUT),
        WatchOutcome::Stalled => (Reason::Stalled, exit::STALLED),
        WatchOutcome::Drained => (
            Reason::Drained,
            match report_ids.outcome {
                Outcome::Unknown => exit::JOBS_UNKNOWN,
                Outcome::Failed => exit::JOBS_FAILED,
                _ => exit::OK,
            },
        ),
    };
    let last = watch.last();
    let report = DrainReport {
        drained: reason == Reason::Drained,
        reason,
        model: target.class.clone(),
        project: args.project.clone(),
        start: watch.first().into(),
        end: last.into(),
        elapsed_seconds: rounded_secs(clock.elapsed()),
        jobs_seen: ids.len() as u64,
        jobs_finished: t.settled(),
        oldest_pending: None,
        reconnects: poller.session.reconnects(),
        settle_seconds: rounded_secs(args.settle),
        stall_timeout_seconds: rounded_secs(args.stall_timeout),
        timeout_seconds: args.timeout.map(rounded_secs),
        // The given jobs' records are read on the primary (`--read-from`
        // is for the queue-wide counts): an answer is never a replica's.
        read_from: None,
        ids: Some(report_ids),
    };
    Ok((report, code))
}
