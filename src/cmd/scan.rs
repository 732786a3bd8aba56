//! `jobq orphans scan`: the scan engine's findings (`crate::scan`) as a
//! typed report, streamed: each window of confirmed findings is counted,
//! written to `--plan-out` (as its plan) and `--report-out` (as findings),
//! and kept for the report only up to `--show`, so memory does not grow
//! with the findings.
//!
//! Ctrl-C stops the walk between pages; the files written so far are
//! closed with a line saying the run did not finish (exit 130).

use std::collections::BTreeSet;
use std::future::Future;
use std::pin::Pin;

use anyhow::Result;

use crate::cmd::interrupt::Interrupt;
use crate::cmd::Ctx;
use crate::diagnose::{Finding, Kind};
use crate::exit;
use crate::jsonl::JsonLines;
use crate::plan::file::PlanWriter;
use crate::plan::{self, Policy};
use crate::report::scan::{FindingLine, ScanReport};
use crate::report::Listed;
use crate::scan::{scan, Sink, Stopped};
use crate::schema::Model;
use crate::settings::repair::{parameters, ScanSettings};

/// Counts every finding, keeps the first `--show`, writes the files.
struct Tally<'a> {
    model: &'a Model,
    intr: &'a Interrupt,
    counts: std::collections::BTreeMap<&'static str, u64>,
    listed: Listed<Finding>,
    plan: Option<PlanWriter>,
    report: Option<JsonLines>,
    removed: BTreeSet<Vec<u8>>,
}

impl Tally<'_> {
    fn window(&mut self, findings: Vec<Finding>) -> Result<Vec<usize>> {
        if let Some(w) = &mut self.plan {
            let plan =
                plan::build_window(self.model, &findings, &Policy::default(), &mut self.removed);
            w.window(&plan)?;
        }
        let n = findings.len();
        for f in findings {
            *self.counts.entry(f.kind.name()).or_default() += 1;
            if let Some(r) = &mut self.report {
                r.push(&FindingLine::Finding(&f))?;
            }
            self.listed.push(f);
        }
        if let Some(r) = &mut self.report {
            r.flush()?;
        }
        // A scan repairs nothing: every finding stays as it was.
        Ok((0..n).collect())
    }
}

impl Sink for Tally<'_> {
    fn take<'s>(
        &'s mut self,
        findings: Vec<Finding>,
    ) -> Pin<Box<dyn Future<Output = Result<Vec<usize>>> + 's>> {
        Box::pin(std::future::ready(self.window(findings)))
    }

    fn stop(&self) -> bool {
        self.intr.is_set()
    }
}

pub async fn run(ctx: Ctx<'_>, ss: &ScanSettings) -> Result<(ScanReport, u8)> {
    let Ctx { settings, ui, intr } = ctx;
    let model = &settings.model;
    let opts = &ss.options;
    let params = parameters("orphans scan", opts);
    let mut tally = Tally {
        model,
        intr,
        counts: Kind::ALL.iter().map(|k| (k.name(), 0)).collect(),
        listed: Listed::new(ss.show),
        plan: match &ss.plan_out {
            Some(p) => Some(PlanWriter::create(p, model, params.clone()).map_err(file_error)?),
            None => None,
        },
        report: match &ss.report_out {
            Some(p) => Some(
                JsonLines::create(p, &FindingLine::header(&model.class, params.clone()))
                    .map_err(file_error)?,
            ),
            None => None,
        },
        removed: BTreeSet::new(),
    };
    let mut reads = tokio::select! {
        r = crate::cmd::read_from::connect(settings, ui) => r?,
        _ = intr.wait() => return Err(exit::with_code(exit::INTERRUPTED, "interrupted")),
    };
    let out = match scan(&mut reads.read, &reads.primary, model, opts, ui, &mut tally).await {
        Ok(out) => out,
        Err(e) => {
            let stopped = e.downcast_ref::<Stopped>().is_some();
            let why = if stopped {
                "interrupted"
            } else {
                "the scan failed"
            };
            let written = close_unfinished(&mut tally, why);
            if stopped {
                return Err(exit::with_code(
                    exit::INTERRUPTED,
                    format!("interrupted{written}"),
                ));
            }
            return Err(e);
        }
    };
    let total: u64 = tally.counts.values().sum();
    if let Some(w) = tally.plan.take() {
        w.finish(None)?;
    }
    if let Some(r) = tally.report.take() {
        r.finish(&FindingLine::end(true, None, &tally.counts))?;
    }
    let report = ScanReport {
        counts: tally.counts,
        total,
        findings_not_listed: tally.listed.not_listed,
        listed_at_most: ss.show,
        findings: tally.listed.items,
        unconfirmed: out.unconfirmed,
        scanned: out.scanned,
        candidates: out.candidates,
        transient: out.transient,
        deep: opts.deep,
        grace_seconds: opts.grace.as_secs_f64(),
        elapsed_seconds: out.elapsed.as_secs_f64(),
        plan_out: ss.plan_out.as_ref().map(|p| p.display().to_string()),
        report_out: ss.report_out.as_ref().map(|p| p.display().to_string()),
        limit: ss.limit,
        read_from: reads.report,
    };
    // An unconfirmed record is not healthy: the answer is not "no damage".
    let code = if total > 0 || report.unconfirmed.count > 0 {
        exit::FINDINGS
    } else {
        exit::OK
    };
    Ok((report, code))
}

/// A file that cannot be created is the user's to fix: exit 2, before the
/// scan starts.
fn file_error(e: anyhow::Error) -> anyhow::Error {
    exit::usage(format!("{e:#}"))
}

/// Close the files of a scan that did not finish with a line that says so;
/// the words to add to the error about what they hold.
fn close_unfinished(tally: &mut Tally<'_>, why: &str) -> String {
    let mut said = String::new();
    if let Some(w) = tally.plan.take() {
        let path = w.path().display().to_string();
        if w.finish(Some(why)).is_ok() {
            said.push_str(&format!(
                "; {path} holds the plan so far, marked unfinished"
            ));
        }
    }
    if let Some(r) = tally.report.take() {
        let path = r.path().display().to_string();
        if r.finish(&FindingLine::end(false, Some(why), &tally.counts))
            .is_ok()
        {
            said.push_str(&format!(
                "; {path} holds the findings so far, marked unfinished"
            ));
        }
    }
    said
}
