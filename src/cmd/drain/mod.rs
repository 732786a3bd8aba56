//! `jobq drain`: wait until the queue (or one project) has no pending and no
//! running jobs, confirmed by two empty reads `--settle` apart; give up at
//! `--timeout` (exit 6), or when pending jobs sit with nothing running and
//! nothing changing for `--stall-timeout` (exit 7). A database without any
//! key of the model is not an empty queue (exit 3 unless `--allow-empty`),
//! and a read that failed is never taken for an empty one: Redis going away
//! means reconnecting with backoff, then exit 3. With `--read-from` the
//! polls read the replica (its link checked each time) and a poll that
//! finds the queue empty is read again on the primary.
//!
//! Owns: the orchestration of the wait (the decisions are in `watch`, pure)
//! and the [`DrainReport`]. Must not: print (progress and warnings go
//! through the `Ui`), format keys, or talk to Redis except through `store`.

mod ids;
mod jobs;
mod oldest;
mod watch;

use std::time::Duration;

use anyhow::{Context, Result};
use tokio::time::Instant;

use crate::bytes::Bytes;
use crate::cmd::read_from::{self, Reads};
use crate::cmd::session::Session;
use crate::cmd::Ctx;
use crate::exit;
use crate::output::{Progress, Ui};
use crate::report::drain::{DrainReport, Level, Reason};
use crate::schema::{FieldRole, Model};
use crate::settings::drain::DrainSettings;
use crate::settings::Settings;
use crate::store::drain::{is_unavailable, Unavailable};
use crate::store::Store;

use oldest::oldest_pending;
use watch::{pick_walk, Counts, DrainLimits, Next, Walk, Watch, WatchOutcome};

/// Members per SSCAN step of a project walk.
const SCAN_BATCH: u32 = 1000;
/// Zset members fetched per page, and looked at in all, when looking for
/// the oldest pending job among records of every status.
const OLDEST_PAGE: usize = 500;
const OLDEST_LIMIT: usize = 10_000;
/// How long the oldest-pending lookup may take.
const OLDEST_BUDGET: Duration = Duration::from_secs(5);
/// A sorted-field score this close to the server's clock is taken for unix
/// seconds, and shown as an age.
const PLAUSIBLE_AGE: f64 = 10.0 * 365.0 * 86_400.0;
/// How long a read may run past `--timeout` before it is cut short.
const READ_GRACE: Duration = Duration::from_secs(1);
/// The field `--project` selects on.
const PROJECT_FIELD: &str = "project_key";

impl From<Counts> for Level {
    fn from(c: Counts) -> Level {
        Level {
            pending: c.pending,
            running: c.running,
        }
    }
}

/// The sets one drain reads, built by `schema`.
struct Target {
    class: String,
    class_set: Vec<u8>,
    pending: Vec<u8>,
    running: Vec<u8>,
    /// Every other status index (completed, failed, ...).
    others: Vec<Vec<u8>>,
    project: Option<(String, Vec<u8>)>,
    /// The model's first sorted field and its zset.
    sorted: Option<(String, Vec<u8>)>,
}

impl Target {
    fn new(model: &Model, project: Option<&str>) -> Result<Target> {
        let st = &model.status;
        let project = match project {
            None => None,
            Some(p) => match model.field(PROJECT_FIELD) {
                Some(f) if f.role == FieldRole::Key => {
                    Some((p.to_owned(), model.index_key(PROJECT_FIELD, Some(p))))
                }
                _ => {
                    return Err(exit::usage(format!(
                        "--project needs a key field {PROJECT_FIELD:?}, which the {} model lacks",
                        model.class
                    )))
                }
            },
        };
        Ok(Target {
            class: model.class.clone(),
            class_set: model.class_set(),
            pending: model.status_index(&st.pending),
            running: model.status_index(&st.running),
            others: st
                .values
                .iter()
                .filter(|v| **v != st.pending && **v != st.running)
                .map(|v| model.status_index(v))
                .collect(),
            project,
            sorted: model
                .sorted_fields()
                .next()
                .map(|f| (f.name.clone(), model.sorted_key(&f.name))),
        })
    }

    /// The keys whose absence means "this model has no data here".
    fn model_keys(&self) -> Vec<Vec<u8>> {
        let mut keys = vec![
            self.class_set.clone(),
            self.pending.clone(),
            self.running.clone(),
        ];
        keys.extend(self.others.iter().cloned());
        keys
    }
}

/// What the startup check found missing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Absent {
    Nothing,
    Model,
    Project,
}

async fn absent(store: &mut Store, target: &Target) -> Result<Absent> {
    if store.count_existing(&target.model_keys()).await? == 0 {
        return Ok(Absent::Model);
    }
    if let Some((_, index)) = &target.project {
        if store.count_existing(std::slice::from_ref(index)).await? == 0 {
            return Ok(Absent::Project);
        }
    }
    Ok(Absent::Nothing)
}

fn absent_error(what: Absent, target: &Target, url: &str, context: &str) -> anyhow::Error {
    let msg = match (what, &target.project) {
        (Absent::Project, Some((p, index))) => format!(
            "{context}no job of project {p:?} exists in {url} (its index {} is absent): \
             a typo in --project? Pass --allow-empty if that counts as drained",
            Bytes(index.clone())
        ),
        _ => format!(
            "{context}{url} holds no {class} keys ({} and every status index are absent): \
             wrong --url, database number or --schema? Pass --allow-empty if an empty \
             database counts as drained",
            Bytes(target.class_set.clone()),
            class = target.class
        ),
    };
    exit::with_code(exit::RUNTIME, msg)
}

/// One read of the pending and running jobs (of the project).
async fn read_counts(store: &mut Store, target: &Target) -> Result<Counts> {
    let Some((_, project)) = &target.project else {
        let mut keys = vec![target.pending.clone(), target.running.clone()];
        keys.extend(target.others.iter().cloned());
        let sizes = store.set_sizes(&keys).await?;
        return Ok(Counts {
            pending: sizes[0],
            running: sizes[1],
            done: Some(sizes[2..].iter().sum()),
        });
    };
    let mut keys = vec![
        project.clone(),
        target.pending.clone(),
        target.running.clone(),
    ];
    keys.extend(target.others.iter().cloned());
    let sizes = store.set_sizes(&keys).await?;
    let statuses = &keys[1..];
    let exact = store.server.commands.sintercard;
    match pick_walk(sizes[0], sizes[1], sizes[2], &sizes[3..], exact) {
        Walk::None => Ok(Counts::default()),
        Walk::Exact { done } => {
            let n = if done { statuses } else { &statuses[..2] };
            let n = store.intersection_sizes(project, n).await?;
            Ok(Counts {
                pending: n[0],
                running: n[1],
                done: done.then(|| n[2..].iter().sum()),
            })
        }
        Walk::Project => {
            let n = store
                .count_members_in(project, statuses, SCAN_BATCH)
                .await?;
            Ok(Counts {
                pending: n[0],
                running: n[1],
                done: Some(n[2..].iter().sum()),
            })
        }
        Walk::Statuses => {
            let within = std::slice::from_ref(project);
            let pending = store
                .count_members_in(&target.pending, within, SCAN_BATCH)
                .await?[0];
            let running = store
                .count_members_in(&target.running, within, SCAN_BATCH)
                .await?[0];
            Ok(Counts {
                pending,
                running,
                done: None,
            })
        }
    }
}

/// The reads of the wait, on connections replaced after Redis stops
/// answering. With `--read-from` the polls read the replica, and a poll
/// that finds nothing pending or running is read again on the primary:
/// the queue is only ever found empty there.
struct Reader<'a> {
    session: Session<'a>,
    /// With `--read-from`: the primary, for the reads that find it empty.
    primary: Option<Session<'a>>,
    allow_empty: bool,
}

/// What the wait polls: one read of the counts, reconnecting first if the
/// last read failed.
trait Poller {
    async fn read(&mut self) -> Result<Counts>;
    fn display_url(&self) -> &str;
    /// The progress bar after a read.
    fn show(&self, progress: &Progress, watch: &Watch);
}

/// The queue-wide (or project) wait's reads.
struct QueuePoller<'a, 'b> {
    reader: Reader<'a>,
    target: &'b Target,
}

impl Poller for QueuePoller<'_, '_> {
    async fn read(&mut self) -> Result<Counts> {
        let r = self.reader.try_read(self.target).await;
        if matches!(&r, Err(e) if is_unavailable(e)) {
            self.reader.session.mark_broken();
            if let Some(p) = &mut self.reader.primary {
                p.mark_broken();
            }
        }
        r
    }

    fn display_url(&self) -> &str {
        self.reader.session.display_url()
    }

    fn show(&self, progress: &Progress, watch: &Watch) {
        show(progress, watch)
    }
}

impl Reader<'_> {
    /// A read of the counts (see `weighed_read`), through the replica when
    /// `--read-from` is given, and then on the primary when it shows the
    /// queue empty.
    async fn try_read(&mut self, target: &Target) -> Result<Counts> {
        let counts = weighed_read(&mut self.session, target, self.allow_empty).await?;
        let Some(primary) = &mut self.primary else {
            return Ok(counts);
        };
        // The replica's link, checked after each poll: a replica that
        // stopped following its primary shows a queue that stands still
        // (a false stall), so its polls count as failed reads until it
        // follows again (exit 3 if it never does).
        read_from::link_up(self.session.store())
            .await
            .map_err(|e| Unavailable(format!("{e:#}")))?;
        if counts.active() > 0 {
            return Ok(counts);
        }
        weighed_read(primary, target, self.allow_empty).await
    }

    fn reconnects(&self) -> u32 {
        self.session.reconnects() + self.primary.as_ref().map_or(0, |p| p.reconnects())
    }
}

/// One read on a session, reconnecting first if it broke. A server that
/// restarted is checked again for the model's keys before its counts are
/// believed: a restart without persistence loses the queue, which is not
/// draining it.
async fn weighed_read(
    session: &mut Session<'_>,
    target: &Target,
    allow_empty: bool,
) -> Result<Counts> {
    session
        .reconnect_if_broken()
        .await
        .map_err(|e| Unavailable(format!("{e:#}")))?;
    if session.restarted() && !allow_empty {
        let what = absent(session.store(), target).await?;
        session.restart_weighed();
        if what != Absent::Nothing {
            return Err(absent_error(
                what,
                target,
                session.display_url(),
                "Redis restarted while waiting (its run_id changed) and now: ",
            ));
        }
    }
    read_counts(session.store(), target).await
}

pub async fn run(ctx: Ctx<'_>, args: &DrainSettings) -> Result<(DrainReport, u8)> {
    let Ctx { settings, ui, intr } = ctx;
    // drain only reads, so it can stop anywhere; dropping the future drops
    // (and clears) the progress bar before the error is printed.
    let what = "interrupted: the queue was not confirmed drained";
    intr.or_stop(drain(settings, ui, args), what).await
}

async fn drain(settings: &Settings, ui: &Ui, args: &DrainSettings) -> Result<(DrainReport, u8)> {
    if let Some(list) = &args.ids {
        return ids::drain_ids(settings, ui, args, list).await;
    }
    let target = Target::new(&settings.model, args.project.as_deref())?;
    let policy = DrainLimits {
        settle: args.settle,
        stall_timeout: args.stall_timeout,
        timeout: args.timeout,
    };
    let clock = Instant::now();
    let reads = read_from::connect(settings, ui).await?;
    let read_settings = reads.read_settings(settings);
    let Reads {
        mut primary,
        mut read,
        report: read_from,
    } = reads;
    let mut store = primary.clone();
    let was_absent = absent(&mut store, &target).await?;
    if was_absent != Absent::Nothing {
        if !args.allow_empty {
            return Err(absent_error(was_absent, &target, store.display_url(), ""));
        }
        ui.debug("no keys of the model (or project) yet; --allow-empty: waiting for the settle");
    }
    let t0 = clock.elapsed();
    let mut first = read_counts(&mut read, &target)
        .await
        .context("cannot read the queue")?;
    if read_from.is_some() && first.active() == 0 {
        first = read_counts(&mut primary, &target)
            .await
            .context("cannot read the queue")?;
    }
    let t1 = clock.elapsed();
    let mut watch = Watch::new(policy, first, t1);
    let progress = ui.progress(Some(first.active()), "drain");
    show(&progress, &watch);
    let mut poller = QueuePoller {
        reader: Reader {
            session: Session::new(read_settings, read),
            primary: read_from
                .is_some()
                .then(|| Session::new(&settings.connect, primary)),
            allow_empty: args.allow_empty,
        },
        target: &target,
    };
    let first_step = watch.start(t0, t1);
    let outcome = wait(ui, &mut poller, &mut watch, &progress, clock, first_step).await?;
    let reader = &mut poller.reader;
    progress.finish();
    let last = watch.last();
    let oldest_pending = match outcome {
        WatchOutcome::Timeout | WatchOutcome::Stalled if last.pending > 0 => {
            // A detail of the report: not worth waiting on a hung server.
            let lookup = oldest_pending(ui, reader.session.store(), &settings.model, &target);
            tokio::time::timeout(OLDEST_BUDGET, lookup)
                .await
                .unwrap_or(None)
        }
        _ => None,
    };
    let reason = match outcome {
        WatchOutcome::Drained if was_absent != Absent::Nothing && watch.seen() == 0 => {
            Reason::Empty
        }
        WatchOutcome::Drained => Reason::Drained,
        WatchOutcome::Timeout => Reason::Timeout,
        WatchOutcome::Stalled => Reason::Stalled,
    };
    let code = match reason {
        Reason::Drained | Reason::Empty => exit::OK,
        Reason::Timeout => exit::DRAIN_TIMEOUT,
        Reason::Stalled => exit::STALLED,
    };
    let report = DrainReport {
        drained: code == exit::OK,
        reason,
        model: target.class.clone(),
        project: args.project.clone(),
        start: watch.first().into(),
        end: last.into(),
        elapsed_seconds: rounded_secs(clock.elapsed()),
        jobs_seen: watch.seen(),
        jobs_finished: watch.finished(),
        oldest_pending,
        reconnects: reader.reconnects(),
        settle_seconds: rounded_secs(args.settle),
        stall_timeout_seconds: rounded_secs(args.stall_timeout),
        timeout_seconds: args.timeout.map(rounded_secs),
        read_from,
        ids: None,
    };
    Ok((report, code))
}

/// Seconds, rounded to the millisecond (the JSON shows no more).
fn rounded_secs(d: Duration) -> f64 {
    (d.as_secs_f64() * 1000.0).round() / 1000.0
}

fn show(progress: &Progress, watch: &Watch) {
    let last = watch.last();
    progress.set_length(watch.seen());
    progress.set_position(watch.finished());
    progress.set_message(format!(
        "{} pending, {} running",
        last.pending, last.running
    ));
}

/// Poll until the watch decides. Redis not answering is retried until the
/// watch gives up; any other read error ends the wait.
async fn wait(
    ui: &Ui,
    reader: &mut impl Poller,
    watch: &mut Watch,
    progress: &Progress,
    clock: Instant,
    mut next: Next,
) -> Result<WatchOutcome> {
    let mut warned_running = false;
    loop {
        let delay = match next {
            Next::Stop(outcome) => return Ok(outcome),
            Next::Wait(d) => d,
        };
        tokio::time::sleep(delay).await;
        let start = clock.elapsed();
        // A read (or reconnect) that hangs must not outlive --timeout.
        let read = match watch_deadline(watch, clock) {
            Some(deadline) => match tokio::time::timeout_at(deadline, reader.read()).await {
                Ok(r) => r,
                Err(_) if watch.in_outage() => {
                    Err(Unavailable("no answer before the timeout".into()).into())
                }
                Err(_) => return Ok(WatchOutcome::Timeout),
            },
            None => reader.read().await,
        };
        let end = clock.elapsed();
        match read {
            Ok(counts) => {
                let before = watch.last();
                next = watch.observe(start, end, counts);
                if counts != before {
                    ui.debug(format!(
                        "{:.1}s: {} pending, {} running",
                        end.as_secs_f64(),
                        counts.pending,
                        counts.running
                    ));
                }
                reader.show(progress, watch);
                if !warned_running && watch.running_unchanged(end) {
                    warned_running = true;
                    ui.warn(format!(
                        "{} job(s) running and nothing changed for {}; if their workers died, \
                         `jobq reap` moves them back to pending",
                        counts.running,
                        humantime::format_duration(watch_stall(watch))
                    ));
                }
            }
            Err(e) if is_unavailable(&e) => match watch.failed(end) {
                Some(retry) => {
                    progress.set_message(format!("Redis not answering ({e:#}); retrying"));
                    ui.debug(format!("{:.1}s: read failed: {e:#}", end.as_secs_f64()));
                    next = Next::Wait(retry);
                }
                None => {
                    let down = watch.outage(end).unwrap_or_default();
                    return Err(e.context(format!(
                        "Redis at {} has not answered for {:.1}s; the queue's state is unknown, \
                         so it is not reported drained",
                        reader.display_url(),
                        down.as_secs_f64()
                    )));
                }
            },
            Err(e) => return Err(e.context("cannot read the queue")),
        }
    }
}

/// When to cut a read short: a little after `--timeout`, so that the read
/// the watch asks for at the timeout can still report what is left.
fn watch_deadline(watch: &Watch, clock: Instant) -> Option<Instant> {
    watch.policy().timeout.map(|t| clock + t + READ_GRACE)
}

fn watch_stall(watch: &Watch) -> Duration {
    watch.policy().stall_timeout
}
