//! What the admin verbs (`delete`, `retry`, `prune`, `restore`) share: how
//! one guarded step's end reads in their report, the exit code a report
//! ends with, and the walk of a status index (or of the records of the
//! job_ids given) page by page.
//!
//! Owns: [`step_end`], [`delete_end`], [`leftover_code`], [`final_code`], [`Candidates`].
//! Must not: print.

use anyhow::Result;

use crate::exit;
use crate::report::admin::{AdminReport, Outcome};
use crate::store::delete::DeleteOutcome;
use crate::store::error::StoreError;
use crate::store::moves::SkipReason;
use crate::store::Store;

/// How a guarded step on one record ended.
pub(super) enum StepEnd<'a> {
    Applied,
    Skipped(&'a SkipReason),
    WrongType(&'a [u8]),
    Error(&'a StoreError),
}

/// The report's outcome and reason for a step's end; `since` says when
/// the record was looked at ("read", "selected").
pub(super) fn step_end(end: StepEnd<'_>, since: &str) -> (Outcome, Option<String>) {
    match end {
        StepEnd::Applied => (Outcome::Applied, None),
        // Not a change since: the record's pointer predates popoto 1.8.3.
        StepEnd::Skipped(SkipReason::LegacyPointer) => (
            Outcome::Skipped,
            Some(
                "it carries a popoto 1.8.0-1.8.2 index pointer: untouched (`jobq reindex` migrates it)"
                    .into(),
            ),
        ),
        StepEnd::Skipped(r) => (
            Outcome::Skipped,
            Some(format!(
                "{} since it was {since} (a worker moved it?): untouched",
                r.name().replace('_', " ")
            )),
        ),
        StepEnd::WrongType(k) => (
            Outcome::Failed,
            Some(format!(
                "{} has the wrong type: untouched",
                crate::bytes::escape_bytes(k)
            )),
        ),
        StepEnd::Error(e) if e.is_refusal() => (Outcome::Failed, Some(format!("refused: {e}"))),
        StepEnd::Error(e) => (Outcome::Failed, Some(e.to_string())),
    }
}

/// The report's outcome and reason for a popoto-style delete's end.
pub(super) fn delete_end(o: &DeleteOutcome, since: &str) -> (Outcome, Option<String>) {
    let end = match o {
        DeleteOutcome::Deleted => StepEnd::Applied,
        DeleteOutcome::Skipped(r) => StepEnd::Skipped(r),
        DeleteOutcome::WrongType(k) => StepEnd::WrongType(k),
        DeleteOutcome::Error(e) => StepEnd::Error(e),
    };
    step_end(end, since)
}

/// A reason [`step_end`] gave for a refusal: the server refused the
/// user a write, so the run stops there.
pub(super) fn is_refusal(reason: Option<&str>) -> bool {
    reason.is_some_and(|r| r.starts_with("refused: "))
}

/// 130 when interrupted, else [`leftover_code`].
pub(super) fn final_code(report: &AdminReport) -> u8 {
    if report.interrupted {
        exit::INTERRUPTED
    } else {
        leftover_code(report)
    }
}

/// 0 when everything selected was done (or nothing matched); 4 when
/// anything was skipped, refused, not found, failed, unknown or not run.
pub(super) fn leftover_code(report: &AdminReport) -> u8 {
    let left: u64 = [
        Outcome::Skipped,
        Outcome::Refused,
        Outcome::NotFound,
        Outcome::Failed,
        Outcome::Unknown,
        Outcome::NotRun,
    ]
    .iter()
    .map(|o| report.count(*o))
    .sum();
    if left > 0 {
        exit::PARTIAL
    } else {
        exit::OK
    }
}

/// Members per SSCAN step, and records per pipelined read.
pub(super) const PAGE: u32 = 1000;

/// Where a verb's candidates come from: a status index walked with SSCAN
/// page by page, or the records of the job_ids given (found up front:
/// bounded by the arguments).
pub(super) struct Candidates {
    keys: Option<Vec<Vec<u8>>>,
    index: Vec<u8>,
    cursor: u64,
    done: bool,
}

impl Candidates {
    pub(super) fn new(keys: Option<Vec<Vec<u8>>>, index: Vec<u8>) -> Candidates {
        Candidates {
            keys,
            index,
            cursor: 0,
            done: false,
        }
    }

    /// The next page of candidate keys; `None` when the walk is done.
    pub(super) async fn next(&mut self, store: &mut Store) -> Result<Option<Vec<Vec<u8>>>> {
        if self.done {
            return Ok(None);
        }
        if let Some(keys) = &mut self.keys {
            self.done = true;
            return Ok(Some(std::mem::take(keys)));
        }
        let page = store.sscan(&self.index, self.cursor, PAGE).await?;
        if let Some(e) = page.wrong_type {
            anyhow::bail!(
                "{} cannot be walked ({e}); see `jobq orphans scan`",
                crate::bytes::escape_bytes(&self.index)
            );
        }
        self.cursor = page.cursor;
        self.done = page.cursor == 0;
        Ok(Some(page.items))
    }
}
