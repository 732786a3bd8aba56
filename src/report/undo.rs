//! The reports of `jobq undo` (one row per change of the run undone) and
//! `jobq audit` (runs, or entries).

use std::collections::BTreeMap;

use serde::Serialize;

use super::admin::{Outcome, MAX_ROWS};
use crate::bytes::Bytes;

/// What became of one change of the run undone.
#[derive(Debug, Clone, Serialize)]
pub struct ChangeRow {
    /// The entry's stream id.
    pub entry: String,
    /// The entry's action (`move`, `delete`, `create`...).
    pub action: String,
    pub job_id: Bytes,
    pub key: Bytes,
    pub outcome: Outcome,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// What the stream no longer holds of a run.
#[derive(Debug, Clone, Serialize)]
pub struct Trimmed {
    /// The oldest entry the stream still holds (none: it is empty).
    pub oldest_entry: Option<String>,
    pub missing: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct UndoReport {
    /// The undo's own run id (none when nothing was written).
    pub run_id: Option<String>,
    /// The run reversed.
    pub undoes: String,
    /// Its command line and jobq version, from its start entry.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub undoes_argv: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub undoes_version: Option<String>,
    pub dry_run: bool,
    pub declined: bool,
    pub interrupted: bool,
    /// Changes per outcome, every outcome present (0 included).
    pub counts: BTreeMap<&'static str, u64>,
    /// The first [`MAX_ROWS`] changes, newest first.
    pub changes: Vec<ChangeRow>,
    pub changes_not_listed: u64,
    /// Set when the stream was trimmed past the run's start.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trimmed: Option<Trimmed>,
    pub elapsed_seconds: f64,
}

impl UndoReport {
    pub fn new(undoes: &str, dry_run: bool) -> UndoReport {
        UndoReport {
            run_id: None,
            undoes: undoes.to_owned(),
            undoes_argv: None,
            undoes_version: None,
            dry_run,
            declined: false,
            interrupted: false,
            counts: Outcome::ALL.iter().map(|o| (o.name(), 0)).collect(),
            changes: Vec::new(),
            changes_not_listed: 0,
            trimmed: None,
            elapsed_seconds: 0.0,
        }
    }

    pub fn count(&self, o: Outcome) -> u64 {
        self.counts.get(o.name()).copied().unwrap_or(0)
    }

    pub fn add(&mut self, o: Outcome, n: u64) {
        *self.counts.entry(o.name()).or_default() += n;
    }

    pub fn push(&mut self, row: ChangeRow) {
        self.add(row.outcome, 1);
        if self.changes.len() < MAX_ROWS {
            self.changes.push(row);
        } else {
            self.changes_not_listed += 1;
        }
    }
}

/// One run, as `jobq audit` lists it.
#[derive(Debug, Clone, Serialize, Default)]
pub struct RunRow {
    pub run_id: String,
    /// The subcommand (`reindex`).
    pub command: String,
    /// The whole command line (scrubbed), from the start entry.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub argv: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    pub host: String,
    /// Milliseconds since the epoch of its oldest entry seen.
    pub time_ms: u64,
    /// Its changes (the start entry aside).
    pub changes: u64,
    /// Changes per action.
    pub actions: BTreeMap<String, u64>,
    /// Whether its start entry is in the stream (format 3): false means
    /// the stream was trimmed into the run, or it predates format 3.
    pub start_seen: bool,
}

/// One entry, as `jobq audit RUN_ID` and `--job` list them.
#[derive(Debug, Clone, Serialize)]
pub struct EntryRow {
    pub id: String,
    pub run: String,
    pub action: String,
    pub job_id: Bytes,
    pub key: Bytes,
    pub time_ms: u64,
    /// Every field after the header, in order.
    pub fields: Vec<(Bytes, Bytes)>,
}

#[derive(Debug, Clone, Serialize)]
pub struct AuditReport {
    /// `runs`, `run` or `job`.
    pub view: &'static str,
    /// The run or job asked about.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<Bytes>,
    pub runs: Vec<RunRow>,
    /// Whether more runs are in the stream than listed.
    pub more_runs: bool,
    pub entries: Vec<EntryRow>,
    pub entries_not_listed: u64,
    /// The stream's length and oldest entry: what it covers.
    pub stream_length: u64,
    pub oldest_entry: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trimmed: Option<Trimmed>,
}
