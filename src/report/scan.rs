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
    pub findings: Vec<Finding>,
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
