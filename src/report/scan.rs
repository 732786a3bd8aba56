//! The report of `jobq orphans scan`.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::diagnose::{Finding, Kind};
use crate::scan::{Scanned, Unconfirmed};

#[derive(Debug, Serialize)]
pub struct ScanReport {
    /// Confirmed findings per kind, every kind present (0 included).
    pub counts: BTreeMap<&'static str, u64>,
    pub total: u64,
    /// The first `--show N` findings (all with `--show all`), in the order
    /// the scan confirmed them; `findings_not_listed` counts the others.
    /// `--report-out` has every one.
    pub findings: Vec<Finding>,
    pub findings_not_listed: u64,
    /// `--show N` (`None`: all).
    pub listed_at_most: Option<usize>,
    /// Records neither healthy nor found damaged: a set their verdict
    /// depends on could not be read.
    pub unconfirmed: Unconfirmed,
    pub scanned: Scanned,
    pub candidates: u64,
    /// Candidates that did not hold on the re-check.
    pub transient: u64,
    pub deep: bool,
    pub grace_seconds: f64,
    pub elapsed_seconds: f64,
    /// Where the repair plan was written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plan_out: Option<String>,
    /// Where every finding was written (`--report-out`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub report_out: Option<String>,
    /// Findings shown per kind in the table.
    #[serde(skip)]
    pub limit: usize,
    /// With `--read-from`: the replica the walks read, and its lag.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub read_from: Option<crate::report::read_from::ReadFrom>,
}

pub fn counts(findings: &[Finding]) -> BTreeMap<&'static str, u64> {
    let mut c: BTreeMap<&'static str, u64> = Kind::ALL.iter().map(|k| (k.name(), 0)).collect();
    for f in findings {
        *c.entry(f.kind.name()).or_default() += 1;
    }
    c
}

/// The report file's format (`--report-out`), for both `orphans scan` and
/// `reindex`.
pub const REPORT_FORMAT: u32 = 1;

/// The header of a report file: what wrote it, and with which parameters.
pub fn report_header(what: &str, model: &str, parameters: serde_json::Value) -> serde_json::Value {
    serde_json::json!({
        "format": REPORT_FORMAT,
        "jobq": what,
        "model": model,
        "version": env!("CARGO_PKG_VERSION"),
        "parameters": parameters,
    })
}

/// A line of `orphans scan --report-out`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingLine<'a> {
    Finding(&'a Finding),
}

impl FindingLine<'_> {
    pub fn header(model: &str, parameters: serde_json::Value) -> serde_json::Value {
        report_header("scan-report", model, parameters)
    }

    /// The closing line: whether the scan finished, and its counts.
    pub fn end(
        complete: bool,
        reason: Option<&str>,
        counts: &BTreeMap<&'static str, u64>,
    ) -> serde_json::Value {
        serde_json::json!({"end": {
            "complete": complete,
            "reason": reason,
            "findings": counts.values().sum::<u64>(),
            "counts": counts,
        }})
    }
}
