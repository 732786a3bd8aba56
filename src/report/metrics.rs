//! The report of `jobq inspect --format prometheus`: the overview's figures
//! and, with `--scan`, the scan's confirmed findings per kind, with the
//! labels every sample carries.

use std::collections::BTreeMap;

use serde::Serialize;

use super::inspect::Overview;

#[derive(Debug, Serialize)]
pub struct Metrics {
    /// The `namespace` label (jobq's `--namespace`); `model` comes from
    /// the overview.
    pub namespace: String,
    pub overview: Overview,
    /// `--scan`: the scan's findings.
    pub scan: Option<ScanFigures>,
}

#[derive(Debug, Serialize)]
pub struct ScanFigures {
    /// Confirmed findings per kind, every kind present (0 included).
    pub counts: BTreeMap<&'static str, u64>,
    /// Records whose verdict could not be reached (a set was unreadable).
    pub unconfirmed: u64,
}
