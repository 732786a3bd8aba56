//! The typed reports commands return and `output` renders: plain data with
//! `Serialize`, one file per command. The JSON documented in the README is
//! these types.
//!
//! Owns: the report types and the small facts they carry. Must not: do I/O,
//! print, or import `cmd` (the commands import these; `output` renders them
//! without knowing how they were made).

pub mod admin;
pub mod drain;
pub mod enqueue;
pub mod inspect;
pub mod metrics;
pub mod reap;
pub mod reindex;
pub mod scan;

use serde::Serialize;

use crate::bytes::Bytes;

/// The pending job lowest in the model's first sorted field (created_at for
/// RedisJob): what `inspect` and `drain` show of a queue's backlog.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OldestPending {
    pub key: Bytes,
    pub job_id: Option<Bytes>,
    /// The sorted field, and the job's score in it.
    pub field: String,
    pub score: f64,
    /// Server time minus the score; `None` when the score does not look
    /// like unix seconds (drain reads any sorted field).
    pub age_seconds: Option<f64>,
}
