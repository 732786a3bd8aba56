//! The report of `jobq reindex`.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::bytes::Bytes;
use crate::diagnose::Kind;
use crate::plan::Skip;
use crate::scan::{Scanned, Unconfirmed};

#[derive(Debug, Serialize)]
pub struct ReindexReport {
    /// `scan` or the plan file's path.
    pub source: String,
    pub dry_run: bool,
    pub declined: bool,
    /// Per kind: planned, applied, already_applied, skipped, failed, unknown,
    /// needs_policy, untouched.
    pub counts: BTreeMap<&'static str, KindCounts>,
    pub applied: u64,
    /// Steps whose changes were all in place already (a plan run twice):
    /// nothing written, and no reason for exit 4.
    pub already_applied: u64,
    pub skipped: u64,
    pub failed: u64,
    pub unknown: u64,
    /// Steps never sent because of Ctrl-C (outcome `not_run`).
    pub not_run: u64,
    /// Ctrl-C stopped the run before every step was sent.
    pub interrupted: bool,
    /// The first `--show N` outcomes (all of them with `--show all`); the
    /// counts above are complete, and `not_listed` says how many of each
    /// list were left out. `--report-out` has every one.
    pub actions: Vec<ActionResult>,
    pub needs_policy: Vec<Skip>,
    pub untouched: Vec<Skip>,
    pub not_listed: NotListed,
    /// `--show N`: how many of each list the report keeps (`None`: all).
    pub listed_at_most: Option<usize>,
    /// The files written as the run went (`--plan-out`, `--report-out`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plan_out: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub report_out: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scanned: Option<Scanned>,
    /// Records the scan could neither clear nor diagnose (a set they depend
    /// on cannot be read): nothing is planned for them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unconfirmed: Option<Unconfirmed>,
    /// The id every audit entry of this run carries (`jobq:audit`); `None`
    /// when nothing was to be written (a dry run, declined, nothing to do).
    pub run_id: Option<String>,
    pub elapsed_seconds: f64,
    /// With `--read-from`: the replica the scan's walks read, and its lag.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub read_from: Option<crate::report::read_from::ReadFrom>,
}

/// How many of each list the report left out (`--show`).
#[derive(Debug, Default, Clone, Serialize)]
pub struct NotListed {
    pub actions: u64,
    pub needs_policy: u64,
    pub untouched: u64,
}

#[derive(Debug, Default, Clone, Serialize)]
pub struct KindCounts {
    pub planned: u64,
    pub applied: u64,
    pub already_applied: u64,
    pub skipped: u64,
    pub failed: u64,
    pub unknown: u64,
    pub not_run: u64,
    pub needs_policy: u64,
    pub untouched: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct ActionResult {
    pub kind: Kind,
    pub job_id: Option<String>,
    pub key: Bytes,
    pub description: String,
    /// `planned` (dry run, declined), or what happened.
    pub outcome: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// A line of `reindex --report-out` after its header.
#[derive(Debug, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionLine<'a> {
    Action(&'a ActionResult),
    NeedsPolicy(&'a Skip),
    Untouched(&'a Skip),
}
