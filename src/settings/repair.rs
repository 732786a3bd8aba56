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
    /// Where to write the repair plan (`--plan-out`).
    pub plan_out: Option<PathBuf>,
}

impl From<&ScanCommandArgs> for ScanSettings {
    fn from(a: &ScanCommandArgs) -> ScanSettings {
        ScanSettings {
            options: ScanOptions::from(&a.scan),
            limit: a.scan.limit,
            plan_out: a.plan_out.clone(),
        }
    }
}

/// What `jobq reindex` was asked.
pub struct ReindexSettings {
    pub scan: ScanOptions,
    pub gate: Gate,
    /// Apply this plan file instead of scanning (`--plan`).
    pub plan: Option<PathBuf>,
    pub plan_out: Option<PathBuf>,
    /// `--prefer` and `--duplicates`.
    pub policy: Policy,
}

impl From<&ReindexArgs> for ReindexSettings {
    fn from(a: &ReindexArgs) -> ReindexSettings {
        ReindexSettings {
            scan: ScanOptions::from(&a.scan),
            gate: Gate::from(&a.confirm),
            plan: a.plan.clone(),
            plan_out: a.plan_out.clone(),
            policy: Policy {
                prefer: a.prefer.map(|p| match p {
                    CliPrefer::Key => Prefer::Key,
                    CliPrefer::Field => Prefer::Field,
                }),
                keep_latest: matches!(a.duplicates, Some(DuplicatePolicy::KeepLatest)),
            },
        }
    }
}
