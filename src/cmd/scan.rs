//! `jobq orphans scan`: the scan engine's findings (`crate::scan`) as a
//! typed report, and the plan file with `--plan-out`.

use std::collections::BTreeMap;

use anyhow::Result;
use serde::Serialize;

use crate::cli::{ScanArgs, ScanCommandArgs};
use crate::diagnose::{Finding, Kind};
use crate::exit;
use crate::output::Ui;
use crate::plan::{self, Policy};
use crate::scan::{scan, ScanOptions, Scanned, Unconfirmed};
use crate::settings::Settings;

impl From<&ScanArgs> for ScanOptions {
    fn from(a: &ScanArgs) -> ScanOptions {
        ScanOptions {
            grace: a.grace,
            deep: a.deep,
            batch: a.batch,
        }
    }
}

// ---- the subcommand ------------------------------------------------------

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
}

pub fn counts(findings: &[Finding]) -> BTreeMap<&'static str, u64> {
    let mut c: BTreeMap<&'static str, u64> = Kind::ALL.iter().map(|k| (k.name(), 0)).collect();
    for f in findings {
        *c.entry(f.kind.name()).or_default() += 1;
    }
    c
}

pub async fn run(settings: &Settings, ui: &Ui, args: &ScanCommandArgs) -> Result<(ScanReport, u8)> {
    let opts = ScanOptions::from(&args.scan);
    let mut store = crate::cmd::connect(&settings.connect, ui).await?;
    let out = scan(&mut store, &settings.model, &opts, ui).await?;
    let mut findings = out.findings;
    findings.sort_by(|a, b| (a.kind, &a.key).cmp(&(b.kind, &b.key)));
    let plan_out = match &args.plan_out {
        Some(path) => {
            let plan = plan::build(&settings.model, &findings, &Policy::default());
            plan::write(&plan, path)?;
            Some(path.display().to_string())
        }
        None => None,
    };
    let total = findings.len() as u64;
    let report = ScanReport {
        counts: counts(&findings),
        total,
        findings,
        unconfirmed: out.unconfirmed,
        scanned: out.scanned,
        candidates: out.candidates,
        transient: out.transient,
        deep: opts.deep,
        grace_seconds: opts.grace.as_secs_f64(),
        elapsed_seconds: out.elapsed.as_secs_f64(),
        plan_out,
        limit: args.scan.limit,
    };
    // An unconfirmed record is not healthy: the answer is not "no damage".
    let code = if total > 0 || report.unconfirmed.count > 0 {
        exit::FINDINGS
    } else {
        exit::OK
    };
    Ok((report, code))
}
