//! The report of `jobq drain`.

use serde::Serialize;

use super::OldestPending;

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
