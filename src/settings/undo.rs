//! `jobq undo` and `jobq audit` resolved: the run id (checked for the shape
//! jobq gives it), `--backup`, the job_id, the limit, and whether to write,
//! ask or only show.
//!
//! Must not: touch Redis or print.

use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

use anyhow::Result;

use super::repair::Gate;
use crate::cli::{AuditArgs, UndoArgs};
use crate::exit;

#[derive(Debug, Clone)]
pub struct UndoSettings {
    pub run: String,
    pub backup: Option<PathBuf>,
    pub gate: Gate,
}

/// What `jobq audit` shows.
#[derive(Debug, Clone, PartialEq)]
pub enum AuditView {
    /// The last runs, at most this many.
    Runs(usize),
    /// Every entry of one run (at most this many listed).
    Run(String, usize),
    /// Everything done to one job_id (at most this many listed).
    Job(Vec<u8>, usize),
}

/// Runs `jobq audit` lists without `--limit`.
pub const DEFAULT_RUNS: usize = 20;
/// Entries it lists without `--limit`.
pub const DEFAULT_ENTRIES: usize = 1000;

/// A run id as jobq makes them (`20261203T150602Z-9f3a`, see
/// `store::audit::new_run_id`): anything else is a typo, refused before
/// anything connects.
pub fn run_id(s: &str) -> Result<String> {
    let b = s.as_bytes();
    let ok = b.len() == 21
        && b[..8].iter().all(u8::is_ascii_digit)
        && b[8] == b'T'
        && b[9..15].iter().all(u8::is_ascii_digit)
        && b[15] == b'Z'
        && b[16] == b'-'
        && b[17..].iter().all(u8::is_ascii_hexdigit);
    if ok {
        Ok(s.to_owned())
    } else {
        Err(exit::usage(format!(
            "{s:?} is not a run id (like 20261203T150602Z-9f3a; `jobq audit` lists them)"
        )))
    }
}

impl UndoSettings {
    pub fn from_args(a: &UndoArgs) -> Result<UndoSettings> {
        Ok(UndoSettings {
            run: run_id(&a.run)?,
            backup: a.backup.clone(),
            gate: Gate::from(&a.confirm),
        })
    }
}

impl AuditView {
    pub fn from_args(a: &AuditArgs) -> Result<AuditView> {
        let limit = |default: usize| -> Result<usize> {
            match a.limit {
                Some(0) => Err(exit::usage("--limit must be at least 1")),
                Some(n) => Ok(usize::try_from(n).unwrap_or(usize::MAX)),
                None => Ok(default),
            }
        };
        if let Some(job) = &a.job {
            if job.is_empty() {
                return Err(exit::usage("--job must not be empty"));
            }
            return Ok(AuditView::Job(
                job.as_bytes().to_vec(),
                limit(DEFAULT_ENTRIES)?,
            ));
        }
        match &a.run {
            Some(r) => Ok(AuditView::Run(run_id(r)?, limit(DEFAULT_ENTRIES)?)),
            None => Ok(AuditView::Runs(limit(DEFAULT_RUNS)?)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_ids_have_jobqs_shape() {
        assert!(run_id("20261203T150602Z-9f3a").is_ok());
        for bad in [
            "",
            "20261203T150602Z",
            "2026-12-03T15:06:02Z-9f3a",
            "20261203T150602Z-9f3g",
        ] {
            assert!(run_id(bad).is_err(), "{bad}");
        }
    }
}
