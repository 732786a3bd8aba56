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

use super::jobs::{self, Answer, Open, Roles, State, Tally, MAX_STATUSES};
use super::watch::{Counts, DrainLimits, Watch, WatchOutcome};
use super::{absent, absent_error, rounded_secs, wait, Absent, Poller, Target, PROJECT_FIELD};
use crate::bytes::Bytes;
use crate::cmd::session::Session;
use crate::exit;
use crate::output::{Progress, Ui};
use crate::report::drain::{
    DrainReport, FailedJob, GoneAnswer, IdsOutcome, Outcome, Reason, UnknownJob, UnknownReason,
};
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
/// The most jobs listed as failed, and as unknown.
pub const LISTED: usize = 50;
/// Characters of a failed job's message shown.
const MESSAGE_PREVIEW: usize = 200;
/// Keys per SCAN step of the walk that finds jobs' identities.
const WALK_COUNT: u32 = 1000;

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

/// The position of each status role among the model's statuses.
fn roles(model: &Model) -> Result<Roles> {
    let st = &model.status;
    if st.values.len() > MAX_STATUSES {
        return Err(exit::usage(format!(
            "--ids follows models with at most {MAX_STATUSES} status values; {} has {}",
            model.class,
            st.values.len()
        )));
    }
    let at = |v: &str| st.values.iter().position(|x| x == v).unwrap_or(usize::MAX);
    Ok(Roles {
        pending: at(&st.pending),
        running: at(&st.running),
        completed: at(&st.completed),
        failed: at(&st.failed),
        count: st.values.len(),
    })
}

/// A job's identity from what the file and the flags say, before any read:
/// `(template, from --project)`. A key of another project is a usage error.
fn identity(model: &Model, e: &IdEntry, project: Option<&str>) -> Result<(Option<Vec<u8>>, bool)> {
    let st = &model.status;
    let first = st.values[0].as_str();
    if let Some(parsed) = e.key.as_ref().and_then(|k| model.parse_key(k).ok()) {
        if model.job_id(&parsed) == e.job_id {
            check_project(e, parsed.get(PROJECT_FIELD), project)?;
            return Ok((Some(model.rekey(&parsed, &st.field, first)), false));
        }
    }
    let only_project =
        model.key_field_count() == 3 && model.field(PROJECT_FIELD).is_some_and(|f| f.is_key());
    match project {
        Some(p) if only_project => {
            let auto = &model.auto_field().name;
            let key = model.record_key(|name| {
                if name == auto {
                    Some(e.job_id.as_str())
                } else if name == PROJECT_FIELD {
                    Some(p)
                } else {
                    Some(first)
                }
            });
            Ok((Some(key), true))
        }
        _ => Ok((None, false)),
    }
}

fn check_project(e: &IdEntry, found: Option<&str>, project: Option<&str>) -> Result<()> {
    match (found, project) {
        (Some(f), Some(p)) if f != p => Err(exit::usage(format!(
            "line {}: job {} is of project {f:?}, not {p:?} (--project): nothing was waited for",
            e.line, e.job_id
        ))),
        _ => Ok(()),
    }
}

/// Every record key of the given job ids, from one walk of the model's
/// keys (SCAN MATCH, bounded steps; memory: the keys of these jobs only).
async fn walk(
    store: &mut Store,
    model: &Model,
    wanted: &HashMap<Vec<u8>, usize>,
) -> Result<HashMap<usize, Vec<Vec<u8>>>> {
    let pattern = model.record_pattern();
    let mut found: HashMap<usize, Vec<Vec<u8>>> = HashMap::new();
    let mut cursor = 0;
    loop {
        let page = store
            .scan_keys(&pattern, cursor, WALK_COUNT)
            .await
            .context("cannot walk the keys to find the jobs' records")?;
        for k in page.items {
            let Some(&i) = model.key_job_id_bytes(&k).and_then(|id| wanted.get(&id)) else {
                continue;
            };
            let keys = found.entry(i).or_default();
            if !keys.contains(&k) {
                keys.push(k);
            }
        }
        cursor = page.cursor;
        if cursor == 0 {
            return Ok(found);
        }
    }
}

/// Give the jobs not found by the first read an identity from the walk
/// (twice, for a job moved while the first ran): one record, a duplicate,
/// or none (gone).
async fn discover(
    ui: &Ui,
    store: &mut Store,
    jobs: &mut Jobs<'_>,
    lost: Vec<usize>,
    project: Option<&str>,
) -> Result<()> {
    let model = jobs.model;
    let mut wanted: HashMap<Vec<u8>, usize> = lost
        .iter()
        .map(|&i| (jobs.ids[i].job_id.as_bytes().to_vec(), i))
        .collect();
    ui.debug(format!(
        "{} job(s) without a known record: walking the keys of {}",
        wanted.len(),
        model.class
    ));
    let mut found = walk(store, model, &wanted).await?;
    wanted.retain(|_, i| !found.contains_key(i));
    if !wanted.is_empty() {
        found.extend(walk(store, model, &wanted).await?);
    }
    let first = model.status.values[0].as_str();
    for i in lost {
        let Some(keys) = found.remove(&i) else {
            jobs.states[i] = State::Settled {
                answer: Answer::Gone,
                seen: 0,
            };
            continue;
        };
        let mut identities: Vec<Vec<u8>> = Vec::new();
        let mut projects = Vec::new();
        for k in &keys {
            if let Ok(p) = model.parse_key(k) {
                projects.push(p.get(PROJECT_FIELD).map(str::to_owned));
                let t = model.rekey(&p, &model.status.field, first);
                if !identities.contains(&t) {
                    identities.push(t);
                }
            }
        }
        if let Some(p) = project {
            if !projects.iter().any(|f| f.as_deref() == Some(p)) {
                let other = projects.iter().flatten().next().map(String::as_str);
                check_project(&jobs.ids[i], other, project)?;
            }
        }
        match identities.len() {
            0 => {
                jobs.states[i] = State::Settled {
                    answer: Answer::Gone,
                    seen: 0,
                }
            }
            1 => {
                jobs.templates[i] = identities.pop();
                jobs.states[i] = State::Open(Open::Other);
            }
            _ => {
                jobs.templates[i] = None;
                jobs.twins.insert(i, keys);
                jobs.states[i] = State::Settled {
                    answer: Answer::Duplicate,
                    seen: 0,
                };
            }
        }
    }
    Ok(())
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
        ids: Some(report_ids),
    };
    Ok((report, code))
}

/// The counts of the report, and the answer the exit code gives.
fn outcome_of(t: &Tally, watch: WatchOutcome, gone_completed: bool, reads: u64) -> IdsOutcome {
    let (completed, unknown) = if gone_completed {
        (t.completed + t.gone, t.duplicate)
    } else {
        (t.completed, t.gone + t.duplicate)
    };
    let outcome = if watch != WatchOutcome::Drained {
        Outcome::Unfinished
    } else if unknown > 0 {
        Outcome::Unknown
    } else if t.failed > 0 {
        Outcome::Failed
    } else {
        Outcome::Completed
    };
    IdsOutcome {
        outcome,
        total: t.pending + t.running + t.settled(),
        completed,
        failed: t.failed,
        unknown,
        pending: t.pending,
        running: t.running,
        gone: t.gone,
        duplicates: t.duplicate,
        gone_means: if gone_completed {
            GoneAnswer::Completed
        } else {
            GoneAnswer::Unknown
        },
        reads,
        listed_limit: LISTED,
        failed_jobs: Vec::new(),
        unknown_jobs: Vec::new(),
    }
}

/// The first [`LISTED`] failed and unknown jobs, in the file's order, with
/// the failed ones' message and the duplicates' records. These reads only
/// add detail: one that fails is a warning, and the detail is left out.
async fn list_jobs(
    ui: &Ui,
    poller: &mut IdsPoller<'_, '_>,
    gone_completed: bool,
    out: &mut IdsOutcome,
) {
    let jobs = &poller.jobs;
    let model = jobs.model;
    let mut failed = Vec::new();
    let mut unknown = Vec::new();
    for (i, s) in jobs.states.iter().enumerate() {
        match s {
            State::Settled {
                answer: Answer::Failed,
                ..
            } if failed.len() < LISTED => failed.push(i),
            State::Settled {
                answer: Answer::Duplicate,
                ..
            } if unknown.len() < LISTED => unknown.push((i, UnknownReason::Duplicate)),
            State::Settled {
                answer: Answer::Gone,
                ..
            } if !gone_completed && unknown.len() < LISTED => {
                unknown.push((i, UnknownReason::Gone))
            }
            _ => {}
        }
    }
    let failed_keys: Vec<Vec<u8>> = failed
        .iter()
        .map(|&i| {
            jobs.candidates(i)
                .get(jobs.roles.failed)
                .cloned()
                .unwrap_or_default()
        })
        .collect();
    let dup_keys: Vec<Vec<u8>> = unknown
        .iter()
        .filter(|(i, r)| *r == UnknownReason::Duplicate && !jobs.twins.contains_key(i))
        .flat_map(|&(i, _)| jobs.candidates(i))
        .collect();
    let field = model.message_field.clone();
    let fields: Vec<String> = field.iter().cloned().collect();
    let store = poller.session.store();
    let messages = match store.record_values(&failed_keys, &fields).await {
        Ok(v) => v,
        Err(e) => {
            ui.warn(format!("cannot read the failed jobs' messages: {e:#}"));
            Vec::new()
        }
    };
    let live = match store.keys_exist(&dup_keys, KEYS_PER_TRIP).await {
        Ok(v) => v,
        Err(e) => {
            ui.warn(format!("cannot read the duplicates' records: {e:#}"));
            Vec::new()
        }
    };
    for (n, (&i, key)) in failed.iter().zip(failed_keys).enumerate() {
        let message = messages
            .get(n)
            .and_then(|v| v.values.first())
            .map(|(_, raw)| {
                let text = match crate::schema::msgpack::decode(&raw.0) {
                    Ok(v) => v.as_str().map(str::to_owned).unwrap_or_else(|| v.display()),
                    Err(_) => Bytes(raw.0.clone()).to_string(),
                };
                preview(&text)
            });
        let parsed = model.parse_key(&key).ok();
        out.failed_jobs.push(FailedJob {
            job_id: jobs.ids[i].job_id.clone(),
            project: parsed
                .as_ref()
                .and_then(|p| p.get(PROJECT_FIELD).map(str::to_owned)),
            status: model.status.failed.clone(),
            key: Bytes(key),
            message_field: field.clone(),
            message,
        });
    }
    let mut live = live.into_iter();
    for (i, reason) in unknown {
        let keys = match (reason, jobs.twins.get(&i)) {
            (UnknownReason::Gone, _) => Vec::new(),
            (_, Some(twins)) => twins.iter().cloned().map(Bytes).collect(),
            (_, None) => jobs
                .candidates(i)
                .into_iter()
                .filter(|_| live.next().unwrap_or(false))
                .map(Bytes)
                .collect(),
        };
        out.unknown_jobs.push(UnknownJob {
            job_id: jobs.ids[i].job_id.clone(),
            reason,
            keys,
        });
    }
}

/// A message cut to [`MESSAGE_PREVIEW`] characters, on one line.
fn preview(text: &str) -> String {
    let one_line: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(MESSAGE_PREVIEW + 1)
        .collect();
    if one_line.chars().count() > MESSAGE_PREVIEW {
        let cut: String = one_line.chars().take(MESSAGE_PREVIEW).collect();
        format!("{cut}…")
    } else {
        one_line
    }
}
