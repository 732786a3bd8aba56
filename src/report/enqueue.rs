//! The report of `jobq enqueue`.

use serde::Serialize;

use crate::bytes::Bytes;

#[derive(Debug, Serialize)]
pub struct EnqueueReport {
    pub jobs: Vec<EnqueuedJob>,
    pub created: usize,
    /// Jobs not created because their idempotency key was claimed before.
    pub existing: usize,
    /// Jobs not created because a record with their job_id exists.
    pub conflicts: usize,
    /// The id every audit entry of this run carries (`jobq:audit`).
    pub run_id: String,
}

#[derive(Debug, Serialize)]
pub struct EnqueuedJob {
    pub job_id: String,
    pub key: Bytes,
    pub created: bool,
    /// Line of the input file, for `--file`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    /// Why the job was not created.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}
