//! `orphans scan` and `reindex` resolved: the scan's options, how many
//! findings the table shows, the repair policy the flags choose, and whether
//! to write, ask or only show ([`Gate`]).
//!
//! Must not: touch Redis or print.

use std::path::PathBuf;

use crate::cli::{
    ConfirmArgs, DuplicatePolicy, Prefer as CliPrefer, ReindexArgs, ScanArgs, ScanCommandArgs,
};
use crate::plan::{Policy, Prefer};
use crate::scan::ScanOptions;

/// How a command that writes may go ahead, as its flags say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gate {
    /// `--dry-run`: nothing is written and nobody is asked.
    DryRun,
    /// `--yes`, or nothing that needs asking: go ahead.
    Go,
    /// Ask at the terminal first.
    Ask,
}

impl From<&ConfirmArgs> for Gate {
    fn from(a: &ConfirmArgs) -> Gate {
        if a.dry_run {
            Gate::DryRun
        } else if a.yes {
            Gate::Go
        } else {
            Gate::Ask
        }
    }
}

impl From<&ScanArgs> for ScanOptions {
    fn from(a: &ScanArgs) -> ScanOptions {
        ScanOptions {
            grace: a.grace,
            deep: a.deep,
            batch: a.batch,
        }
    }
}

/// What `jobq orphans scan` was asked.
pub struct ScanSettings {
    pub options: ScanOptions,
    /// Findings shown per kind in the table.
    pub limit: usize,
    /// Findings the report lists (`--show`; `None`: all).
    pub show: Option<usize>,
    /// Where to write the repair plan (`--plan-out`).
    pub plan_out: Option<PathBuf>,
    /// Where to write every finding (`--report-out`).
    pub report_out: Option<PathBuf>,
}

impl ScanSettings {
    /// Exit 2 when two of the files given are one.
    pub fn from_args(a: &ScanCommandArgs) -> anyhow::Result<ScanSettings> {
        distinct_files(&[
            ("--plan-out", a.plan_out.as_deref()),
            ("--report-out", a.scan.report_out.as_deref()),
        ])?;
        Ok(ScanSettings {
            options: ScanOptions::from(&a.scan),
            limit: a.scan.limit,
            show: a.scan.show.0,
            plan_out: a.plan_out.clone(),
            report_out: a.scan.report_out.clone(),
        })
    }
}

/// Refuse one file named by two flags: the second would overwrite the
/// first as both are written (or the plan being read).
fn distinct_files(files: &[(&str, Option<&std::path::Path>)]) -> anyhow::Result<()> {
    let given: Vec<(&str, &std::path::Path)> = files
        .iter()
        .filter_map(|(f, p)| p.map(|p| (*f, p)))
        .collect();
    for (i, (fa, pa)) in given.iter().enumerate() {
        for (fb, pb) in &given[i + 1..] {
            let same = pa == pb
                || matches!((pa.canonicalize(), pb.canonicalize()), (Ok(a), Ok(b)) if a == b);
            if same {
                return Err(crate::exit::usage(format!(
                    "{fa} and {fb} name the same file ({}); give each its own",
                    pa.display()
                )));
            }
        }
    }
    Ok(())
}

/// The run's parameters, as a plan or report file's header records them.
pub fn parameters(command: &str, o: &ScanOptions) -> serde_json::Value {
    serde_json::json!({
        "command": command,
        "grace_seconds": o.grace.as_secs_f64(),
        "deep": o.deep,
        "batch": o.batch,
    })
}

/// What `jobq reindex` was asked.
pub struct ReindexSettings {
    pub scan: ScanOptions,
    pub gate: Gate,
    /// Apply this plan file instead of scanning (`--plan`).
    pub plan: Option<PathBuf>,
    pub plan_out: Option<PathBuf>,
    /// Every action's outcome, as JSON Lines (`--report-out`).
    pub report_out: Option<PathBuf>,
    /// Actions the report lists (`--show`; `None`: all).
    pub show: Option<usize>,
    /// `--prefer` and `--duplicates`.
    pub policy: Policy,
}

impl ReindexSettings {
    /// Exit 2 when two of the files given are one.
    pub fn from_args(a: &ReindexArgs) -> anyhow::Result<ReindexSettings> {
        distinct_files(&[
            ("--plan", a.plan.as_deref()),
            ("--plan-out", a.plan_out.as_deref()),
            ("--report-out", a.scan.report_out.as_deref()),
        ])?;
        Ok(ReindexSettings {
            scan: ScanOptions::from(&a.scan),
            gate: Gate::from(&a.confirm),
            plan: a.plan.clone(),
            plan_out: a.plan_out.clone(),
            report_out: a.scan.report_out.clone(),
            show: a.scan.show.0,
            policy: Policy {
                prefer: a.prefer.map(|p| match p {
                    CliPrefer::Key => Prefer::Key,
                    CliPrefer::Field => Prefer::Field,
                }),
                keep_latest: matches!(a.duplicates, Some(DuplicatePolicy::KeepLatest)),
                migrate_pointers: a.migrate_pointers,
            },
        })
    }
}
