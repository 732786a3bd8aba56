//! The report of the admin verbs (`delete`, `retry`, `prune`, `restore`):
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

/// Rows a report lists; the counts go on.
pub const MAX_ROWS: usize = 1000;

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
    /// The backup file written (`prune`) or read (`restore`), absolute.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backup: Option<String>,
    /// Record lines written to the backup file (`prune`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backup_records: Option<u64>,
    /// Records per outcome, every outcome present (0 included).
    pub counts: BTreeMap<&'static str, u64>,
    /// The rows, the first [`MAX_ROWS`]: a retry of a million jobs counts
    /// them all but lists no more than this.
    pub jobs: Vec<JobRow>,
    /// Rows counted but not listed.
    pub jobs_not_listed: u64,
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
            backup: None,
            backup_records: None,
            counts: Outcome::ALL.iter().map(|o| (o.name(), 0)).collect(),
            jobs: Vec::new(),
            jobs_not_listed: 0,
            elapsed_seconds: 0.0,
        }
    }

    pub fn count(&self, o: Outcome) -> u64 {
        self.counts.get(o.name()).copied().unwrap_or(0)
    }

    pub fn push(&mut self, row: JobRow) {
        *self.counts.entry(row.outcome.name()).or_default() += 1;
        if self.jobs.len() < MAX_ROWS {
            self.jobs.push(row);
        } else {
            self.jobs_not_listed += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(o: Outcome) -> JobRow {
        JobRow {
            job_id: Bytes::from("j"),
            key: None,
            status: None,
            outcome: o,
            reason: None,
        }
    }

    #[test]
    fn rows_stop_at_the_cap_and_the_counts_go_on() {
        let mut r = AdminReport::new("retry", false);
        for _ in 0..MAX_ROWS + 5 {
            r.push(row(Outcome::Applied));
        }
        assert_eq!(r.jobs.len(), MAX_ROWS);
        assert_eq!(r.jobs_not_listed, 5);
        assert_eq!(r.count(Outcome::Applied), MAX_ROWS as u64 + 5);
    }
}
