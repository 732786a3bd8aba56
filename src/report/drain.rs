//! The report of `jobq drain`.

use serde::Serialize;

use super::OldestPending;
use crate::bytes::Bytes;

#[derive(Debug, Serialize)]
pub struct DrainReport {
    pub drained: bool,
    pub reason: Reason,
    pub model: String,
    pub project: Option<String>,
    /// Pending and running jobs at the first read.
    pub start: Level,
    /// Pending and running jobs at the last read.
    pub end: Level,
    pub elapsed_seconds: f64,
    /// Jobs seen pending or running (the first read, plus arrivals).
    pub jobs_seen: u64,
    /// Of those, jobs no longer pending or running.
    pub jobs_finished: u64,
    /// With pending jobs left: the one lowest in the model's first sorted
    /// field (created_at for RedisJob).
    pub oldest_pending: Option<OldestPending>,
    /// Times the connection was re-established after Redis stopped answering.
    pub reconnects: u32,
    /// The limits that applied, in seconds.
    pub settle_seconds: f64,
    pub stall_timeout_seconds: f64,
    pub timeout_seconds: Option<f64>,
    /// With `--read-from`: the replica the polls read (a poll that found
    /// the queue empty was read again on the primary).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub read_from: Option<crate::report::read_from::ReadFrom>,
    /// With `--ids`: how each of the given jobs ended.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ids: Option<IdsOutcome>,
}

/// What `drain --ids` found: the counts are complete, the lists bounded.
#[derive(Debug, Serialize)]
pub struct IdsOutcome {
    /// The answer the exit code gives.
    pub outcome: Outcome,
    /// Distinct job ids in the file.
    pub total: u64,
    pub completed: u64,
    pub failed: u64,
    pub unknown: u64,
    /// Not finished yet (at a timeout or stall).
    pub pending: u64,
    pub running: u64,
    /// Jobs with no live record: counted unknown, or completed with
    /// `--gone-means completed`.
    pub gone: u64,
    /// Jobs with two or more live records (always unknown).
    pub duplicates: u64,
    pub gone_means: GoneAnswer,
    /// Polls of the jobs' records after the first read.
    pub reads: u64,
    /// The most jobs listed in `failed_jobs` and in `unknown_jobs`.
    pub listed_limit: usize,
    pub failed_jobs: Vec<FailedJob>,
    pub unknown_jobs: Vec<UnknownJob>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// Every job completed (exit 0).
    Completed,
    /// Every job finished, at least one failed, none unknown (exit 8).
    Failed,
    /// At least one job's outcome is unknown (exit 9).
    Unknown,
    /// The wait ended (timeout, stall) before every job finished.
    Unfinished,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum GoneAnswer {
    Unknown,
    Completed,
}

/// A failed job, with what a CI log needs.
#[derive(Debug, Serialize)]
pub struct FailedJob {
    pub job_id: String,
    /// The `project_key` key field, when the model has one.
    pub project: Option<String>,
    pub status: String,
    pub key: Bytes,
    /// The schema's message field (`message_field`) and its text, cut to a
    /// preview; None when the model has none or the record holds none.
    pub message_field: Option<String>,
    pub message: Option<String>,
}

/// A job whose outcome is unknown, and why.
#[derive(Debug, Serialize)]
pub struct UnknownJob {
    pub job_id: String,
    pub reason: UnknownReason,
    /// Its live records (a duplicate), or the key it was last known by.
    pub keys: Vec<Bytes>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum UnknownReason {
    /// No live record of it any more: deleted after it finished, or lost.
    Gone,
    /// Two or more live records of one job_id.
    Duplicate,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Reason {
    /// Two empty reads `--settle` apart.
    Drained,
    /// `--timeout` passed first (exit 6).
    Timeout,
    /// Pending jobs, nothing running, no change for `--stall-timeout` (exit 7).
    Stalled,
    /// The model (or project) had no keys at all, and `--allow-empty` was given.
    Empty,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Level {
    pub pending: u64,
    pub running: u64,
}
