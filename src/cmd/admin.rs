//! What the admin verbs (`delete`, `retry`) share: how one guarded step's
//! end reads in their report.
//!
//! Owns: [`step_end`]. Must not: talk to Redis or print.

use crate::report::admin::Outcome;
use crate::store::error::StoreError;
use crate::store::moves::SkipReason;

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
