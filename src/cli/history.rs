//! The flags and long help of `jobq undo` and `jobq audit`, the two
//! commands that read the audit stream's history.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::Args;

use super::{parse_count, ConfirmArgs};

pub(super) const UNDO_ABOUT: &str = "\
Reverse one run of jobq (reindex, reap, enqueue, retry, delete, or an undo)
from its entries in the audit stream, newest first. Each entry is one
guarded script that first checks the job is still exactly as that run left
it (the key, its fields, its memberships and scores) and otherwise leaves it
alone, skipped with the reason. Undo is a run of its own: its id is printed,
its entries are in the stream, and undoing it redoes what it reversed.

The stream is read a page at a time (XREVRANGE COUNT), from the newest entry
back to the run's start entry. When the stream was trimmed past that start
(MAXLEN), undo reverses what is left and says what is missing (exit 4).

Exit: 0 every change of the run reversed, 1 a dry run found changes to
reverse, 2 usage or an unknown run or no terminal to ask on, 3 error, 4 a
change skipped or failed or the run's start trimmed away, 5 declined, 130
interrupted.

Examples:
  # The last runs, to find the one to reverse
  jobq audit
  # What undo would do (nothing written)
  jobq undo 20261203T150602Z-9f3a --dry-run
  # Reverse it without asking
  jobq undo 20261203T150602Z-9f3a --yes
  # Changed your mind: undo the undo (its run id was printed)
  jobq undo 20261203T151210Z-07bc --yes";

pub(super) const AUDIT_ABOUT: &str = "\
Read the audit stream jobq writes with every change: the last runs (run id,
command, host, time, changes per action), every entry of one run, or
everything jobq did to one job, oldest first. The stream is read a page at a
time (XREVRANGE/XRANGE COUNT), never whole. When it was trimmed (MAXLEN) past
a run's start, jobq says so and what is missing.

Exit: 0 shown, 2 usage or an unknown run, 3 error, 4 the run's start
trimmed away, 130 interrupted.

Examples:
  # The last 20 runs
  jobq audit
  # Every entry of one run, as JSON
  jobq audit 20261203T150602Z-9f3a --json
  # Everything done to one job
  jobq audit --job 3f2a9c0e8b6d4f1a9e7c5b3d1f0a2c4e";

#[derive(Debug, Args)]
pub struct UndoArgs {
    /// The run to reverse (its id is printed at the end of every run, and
    /// listed by `jobq audit`)
    #[arg(value_name = "RUN_ID")]
    pub run: String,
    /// Where the run's backup file is now, when it was moved (prune)
    #[arg(long, value_name = "FILE")]
    pub backup: Option<PathBuf>,
    #[command(flatten)]
    pub confirm: ConfirmArgs,
}

#[derive(Debug, Args)]
pub struct AuditArgs {
    /// Every entry of this run, oldest first
    #[arg(value_name = "RUN_ID", conflicts_with = "job")]
    pub run: Option<String>,
    /// Everything done to this job_id, oldest first
    #[arg(long, value_name = "JOB_ID", value_parser = clap::value_parser!(OsString))]
    pub job: Option<OsString>,
    /// Show at most N runs (or entries) [default: 20 runs, 1000 entries]
    #[arg(long, value_parser = parse_count::<u64>, allow_negative_numbers = true, value_name = "N")]
    pub limit: Option<u64>,
}
