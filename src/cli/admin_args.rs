//! The arguments of the admin verbs (`retry`, `delete`, `prune`,
//! `restore`), with the long help that explains them.
//!
//! Must not: parse values beyond clap's shapes (see `parse`) or resolve them
//! into settings.

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use super::args::ConfirmArgs;
use super::parse::{parse_count, parse_duration};

pub(super) const DELETE_ABOUT: &str = "\
Delete the given jobs, every record of each job_id (duplicates included),
the way popoto deletes: SREM from every index, ZREM, DEL, SREM from the
class set, one guarded script per record that does nothing (skipped) if the
record's status changed since it was read. Each record's before-image (every
field's exact bytes, every set and zset it was in, with scores) goes to the
audit stream. A running job is deleted only with --force.

Exit: 0 every record deleted, 1 a dry run found records to delete, 2 usage
or no terminal to ask on, 3 error, 4 a record skipped or refused or failed
or a job_id not found, 5 declined, 130 interrupted.

Examples:
  # Show what would be deleted
  jobq delete 3f2a9c0e8b6d4f1a9e7c5b3d1f0a2c4e --dry-run
  # Delete two jobs without asking
  jobq delete 3f2a9c0e8b6d4f1a9e7c5b3d1f0a2c4e 9b1d --yes
  # A poisoned job a worker keeps crashing on, running or not
  jobq delete 3f2a9c0e8b6d4f1a9e7c5b3d1f0a2c4e --force --yes";

pub(super) const RETRY_ABOUT: &str = "\
Move jobs of a status (default failed) back to pending, the way popoto moves
a job: one guarded script per job re-creates the record under its pending key
with every other field kept, and does nothing (skipped) if the job changed
since it was selected. The status index is walked with SSCAN page by page,
each page's records read with pipelined HMGETs and filtered here.

Filters: --project, --older-than/--newer-than (by the model's since_field,
else its first sorted field), --match FIELD=VALUE (exact, on the decoded
value; repeatable), --limit, and job_ids as arguments. A running job is
never retried unless --include-running, which always asks first.

Exit: 0 every selected job retried or none matched, 1 a dry run found jobs to
retry, 2 usage or no terminal to ask on, 3 error, 4 some skipped or refused
or failed, 5 declined, 130 interrupted.

Examples:
  # What would be retried (nothing written)
  jobq retry --dry-run
  # Failed jobs of one project from the last hour, high priority, no prompt
  jobq retry --project billing --newer-than 1h --priority high --yes
  # Two given jobs
  jobq retry 3f2a9c0e8b6d4f1a9e7c5b3d1f0a2c4e 9b1d0c --yes
  # Completed jobs whose message matches, at most 100
  jobq retry --status completed --match message_text=rebuild --limit 100";

pub(super) const PRUNE_ABOUT: &str = "\
Delete old jobs of terminal statuses (default completed; --status failed, or
both), the way popoto deletes: SREM from every index, ZREM, DEL, SREM from the
class set. Each status index is walked with SSCAN page by page; each page's
records are read exactly (every field's bytes, every set and zset they are in,
with scores) and written to the --backup file, which is fsync'd before any of
them is deleted. Then one guarded script per batch deletes the records still
exactly as the backup holds them (a record changed since is skipped) and
writes one audit entry for the batch naming the backup file and the jobs.

--older-than is required unless job_ids are given, so no prune empties a queue
by accident. --backup FILE (created with mode 0600, never overwriting a file)
or --no-backup must be given. Pending or running jobs only with --force, which
always asks, even with --yes. `jobq restore FILE` puts a backup back.

Filters: --project, --older-than/--newer-than (by the model's since_field,
else its first sorted field), --match FIELD=VALUE (exact, on the decoded
value; repeatable), --limit, and job_ids as arguments.

Exit: 0 every selected job pruned or none matched, 1 a dry run found jobs to
prune, 2 usage or an existing --backup file or no terminal to ask on, 3
error, 4 some skipped (changed since they were read) or failed, 5 declined,
130 interrupted (the backup file is closed with complete: false).

Examples:
  # What would be pruned (nothing written; exit 1 when there is work)
  jobq prune --older-than 30d --backup prune.jsonl --dry-run
  # Completed and failed jobs older than 90 days, backed up, no prompt
  jobq prune --status completed --status failed --older-than 90d \\
    --backup /var/backups/jobq/prune-$(date +%F).jsonl --yes
  # One project's completed jobs, at most 100000, without a backup
  jobq prune --project billing --older-than 7d --limit 100000 \\
    --no-backup --yes
  # Put them back
  jobq restore /var/backups/jobq/prune-2026-12-06.jsonl --yes";

pub(super) const RESTORE_ABOUT: &str = "\
Re-create the records of a `jobq prune --backup` file byte for byte: under
its original key, every field's exact bytes, every set and zset it was in
with its exact score. One guarded script per record does nothing (skipped)
when the key exists or the job exists under another status, and writes one
audit entry (action restore) so that `jobq undo` can reverse it. The file is
read a line at a time. A file without its closing line (its prune was killed)
is restored all the same: every line on disk was written before its record
was deleted; stderr says so.

Why not `jobq enqueue --file BACKUP --restore`: enqueue creates new jobs
(new ids, pending, never asks); restore puts back exact records, asks first,
and refuses a backup of another model. One verb each keeps both honest.

Exit: 0 every record restored, 1 a dry run found records to restore, 2 usage
or a file that is not a backup (or one of another model) or no terminal to
ask on, 3 error, 4 some skipped (the job exists) or failed, 5 declined, 130
interrupted.

Examples:
  # What would be restored
  jobq restore prune.jsonl --dry-run
  # Put every record back, without asking
  jobq restore prune.jsonl --yes --json";

#[derive(Debug, Args)]
pub struct DeleteArgs {
    /// The job_ids to delete (every record of each), matched byte for byte
    #[arg(value_name = "JOB_ID", required = true, value_parser = clap::value_parser!(OsString))]
    pub ids: Vec<OsString>,
    /// Delete running jobs too (a worker may still be on them)
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub confirm: ConfirmArgs,
}

#[derive(Debug, Args)]
pub struct RetryArgs {
    /// Retry only these job_ids (every record of each that matches)
    #[arg(value_name = "JOB_ID", value_parser = clap::value_parser!(OsString))]
    pub ids: Vec<OsString>,
    /// The status to retry from [default: the model's failed status]
    #[arg(long, value_name = "STATUS")]
    pub status: Option<String>,
    /// Only jobs of this project
    #[arg(long, value_name = "KEY")]
    pub project: Option<String>,
    /// Only jobs older than this, by the since field or the first sorted field
    #[arg(long, value_parser = parse_duration, allow_hyphen_values = true, value_name = "DURATION")]
    pub older_than: Option<Duration>,
    /// Only jobs newer than this, by the since field or the first sorted field
    #[arg(long, value_parser = parse_duration, allow_hyphen_values = true, value_name = "DURATION")]
    pub newer_than: Option<Duration>,
    /// Only jobs whose FIELD decodes to exactly VALUE (typed by the schema; repeatable)
    #[arg(long = "match", value_name = "FIELD=VALUE")]
    pub matches: Vec<String>,
    /// Retry at most N jobs
    #[arg(long, value_parser = parse_count::<u64>, allow_negative_numbers = true, value_name = "N")]
    pub limit: Option<u64>,
    /// Give retried jobs this priority (when the model has a priority field)
    #[arg(long, value_name = "PRIORITY")]
    pub priority: Option<String>,
    /// Allow --status running (a worker may still be on those); always asks
    #[arg(long)]
    pub include_running: bool,
    #[command(flatten)]
    pub confirm: ConfirmArgs,
}

#[derive(Debug, Args)]
pub struct PruneArgs {
    /// Prune only these job_ids (every record of each that matches)
    #[arg(value_name = "JOB_ID", value_parser = clap::value_parser!(OsString))]
    pub ids: Vec<OsString>,
    /// A status to prune (repeatable) [default: the model's completed status]
    ///
    /// completed and failed; any other (pending, running...) only with --force.
    #[arg(long, value_name = "STATUS")]
    pub status: Vec<String>,
    /// Only jobs of this project
    #[arg(long, value_name = "KEY")]
    pub project: Option<String>,
    /// Only jobs older than this, by the since field or the first sorted field (required unless job_ids are given)
    #[arg(long, value_parser = parse_duration, allow_hyphen_values = true, value_name = "DURATION")]
    pub older_than: Option<Duration>,
    /// Only jobs newer than this, by the since field or the first sorted field
    #[arg(long, value_parser = parse_duration, allow_hyphen_values = true, value_name = "DURATION")]
    pub newer_than: Option<Duration>,
    /// Only jobs whose FIELD decodes to exactly VALUE (typed by the schema; repeatable)
    #[arg(long = "match", value_name = "FIELD=VALUE")]
    pub matches: Vec<String>,
    /// Prune at most N jobs
    #[arg(long, value_parser = parse_count::<u64>, allow_negative_numbers = true, value_name = "N")]
    pub limit: Option<u64>,
    /// Write every record pruned to FILE first (JSON Lines, mode 0600; must not exist)
    ///
    /// Each page's lines are on disk (fsync) before any record they hold
    /// is deleted. `jobq restore FILE` re-creates them byte for byte.
    #[arg(long, value_name = "FILE", conflicts_with = "no_backup")]
    pub backup: Option<PathBuf>,
    /// Keep no backup: pruned jobs cannot be restored
    #[arg(long)]
    pub no_backup: bool,
    /// Allow statuses other than completed and failed (a worker may be on them); always asks
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub confirm: ConfirmArgs,
}

#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// The backup file `jobq prune --backup` wrote
    #[arg(value_name = "BACKUP")]
    pub file: PathBuf,
    #[command(flatten)]
    pub confirm: ConfirmArgs,
}
