//! The report of the admin verbs (`delete`; `retry` and `prune` to come):
//! one row per record touched or left alone, and the counts per outcome.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::bytes::Bytes;

/// What became of one record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Done (deleted, retried...).
    Applied,
    /// A dry run, or a declined prompt: it would be done.
    Planned,
    /// Its state changed since it was read (a worker moved it): untouched.
    Skipped,
    /// Left alone by rule (running without --force, not a hash...).
    Refused,
    /// No record of this job_id exists.
    NotFound,
    /// The server refused the step or a key had the wrong type: untouched.
    Failed,
    /// No reply came: it may or may not have been done.
    Unknown,
    /// Not sent: the run stopped before it (Ctrl-C, an unknown outcome).
    NotRun,
}

impl Outcome {
    pub const ALL: [Outcome; 8] = [
        Outcome::Applied,
        Outcome::Planned,
        Outcome::Skipped,
        Outcome::Refused,
        Outcome::NotFound,
        Outcome::Failed,
        Outcome::Unknown,
        Outcome::NotRun,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Outcome::Applied => "applied",
            Outcome::Planned => "planned",
            Outcome::Skipped => "skipped",
            Outcome::Refused => "refused",
            Outcome::NotFound => "not_found",
            Outcome::Failed => "failed",
            Outcome::Unknown => "unknown",
            Outcome::NotRun => "not_run",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct JobRow {
    pub job_id: Bytes,
    /// The record's key; none for a job_id with no record.
    pub key: Option<Bytes>,
    /// Its status field, as read.
    pub status: Option<String>,
    pub outcome: Outcome,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct AdminReport {
    /// The subcommand (`delete`), the JSON envelope's `command`.
    #[serde(skip)]
    pub verb: &'static str,
    /// The run id every audit entry of the run carries (none when nothing
    /// was written).
    pub run_id: Option<String>,
    pub dry_run: bool,
    pub declined: bool,
    pub interrupted: bool,
    /// Records per outcome, every outcome present (0 included).
    pub counts: BTreeMap<&'static str, u64>,
    pub jobs: Vec<JobRow>,
    pub elapsed_seconds: f64,
}

impl AdminReport {
    pub fn new(verb: &'static str, dry_run: bool) -> AdminReport {
        AdminReport {
            verb,
            run_id: None,
            dry_run,
            declined: false,
            interrupted: false,
            counts: Outcome::ALL.iter().map(|o| (o.name(), 0)).collect(),
            jobs: Vec::new(),
            elapsed_seconds: 0.0,
        }
    }

    pub fn count(&self, o: Outcome) -> u64 {
        self.counts.get(o.name()).copied().unwrap_or(0)
    }

    pub fn push(&mut self, row: JobRow) {
        *self.counts.entry(row.outcome.name()).or_default() += 1;
        self.jobs.push(row);
    }

    /// Rows of one outcome become another (planned -> applied...).
    pub fn set_outcome(&mut self, i: usize, outcome: Outcome, reason: Option<String>) {
        if let Some(row) = self.jobs.get_mut(i) {
            if let Some(c) = self.counts.get_mut(row.outcome.name()) {
                *c = c.saturating_sub(1);
            }
            *self.counts.entry(outcome.name()).or_default() += 1;
            row.outcome = outcome;
            row.reason = reason;
        }
    }
}
