//! The answer of `drain --ids`: the counts and the outcome the exit code
//! gives, and the bounded lists of failed and unknown jobs with what a CI
//! log needs (the failed ones' message, the duplicates' records).
//!
//! Must not: print; its reads only add detail, and one that fails leaves
//! the detail out with a warning.

use super::{IdsPoller, KEYS_PER_TRIP};
use crate::bytes::Bytes;
use crate::cmd::drain::jobs::{Answer, State, Tally};
use crate::cmd::drain::watch::WatchOutcome;
use crate::cmd::drain::PROJECT_FIELD;
use crate::output::Ui;
use crate::report::drain::{FailedJob, GoneAnswer, IdsOutcome, Outcome, UnknownJob, UnknownReason};

/// The most jobs listed as failed, and as unknown.
pub const LISTED: usize = 50;
/// Characters of a failed job's message shown.
const MESSAGE_PREVIEW: usize = 200;

/// The counts of the report, and the answer the exit code gives.
pub(super) fn outcome_of(
    t: &Tally,
    watch: WatchOutcome,
    gone_completed: bool,
    reads: u64,
) -> IdsOutcome {
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
pub(super) async fn list_jobs(
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
