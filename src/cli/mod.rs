//! The command line: clap derive structs only. Parsing of values lives in
//! small `value_parser` functions here; resolving them into settings lives in
//! `settings`.
//!
//! Must not: touch Redis, print, or hold logic beyond argument shapes.

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use clap::{ArgAction, Args, Parser, Subcommand, ValueEnum};

macro_rules! root_examples {
    () => {
        "\
  # The queue at a glance
  jobq inspect
  # Find every kind of damage (read-only; exit 1 when any is confirmed)
  jobq orphans scan
  # Show the repair plan without writing anything, then repair
  jobq reindex --dry-run
  jobq reindex --yes
  # From cron: requeue jobs whose worker died (75: another reaper runs)
  */5 * * * * jobq reap --once -q >/dev/null || [ $? -eq 75 ]
  # A CI step: create fixtures, then wait for the workers
  jobq enqueue --file jobs.jsonl && jobq drain --timeout 10m"
    };
}

/// The examples of `jobq --help` and of the `jobq(1)` man page.
pub const ROOT_EXAMPLES: &str = root_examples!();

/// `jobq --help`: the examples, then the exit codes.
fn after_long_help() -> String {
    format!(
        "Examples:\n{ROOT_EXAMPLES}\n\n{}",
        crate::exit::help_summary()
    )
}

/// Administer and repair popoto job queues stored in Redis.
///
/// jobq reads the popoto layout (a hash per job, a class set, one index set
/// per status) and finds and repairs every way these drift apart, safely on a
/// live queue: every write is a guarded, atomic step that does nothing when
/// the state changed since it was planned.
#[derive(Debug, Parser)]
#[command(
    name = "jobq",
    version,
    propagate_version = true,
    after_help = crate::exit::help_summary(),
    after_long_help = after_long_help()
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Flags every subcommand takes; listed under their own heading so that a
/// subcommand's own flags stand out.
#[derive(Debug, Args)]
#[command(next_help_heading = "Global options")]
pub struct GlobalArgs {
    /// Redis URL (redis://, rediss:// for TLS, unix://); user:password work
    ///
    /// The password is never printed. Examples: redis://127.0.0.1:6379/0,
    /// rediss://app:secret@redis.internal:6380/2, unix:///run/redis.sock?db=1
    #[arg(
        long,
        env = "REDIS_URL",
        default_value = "redis://127.0.0.1:6379/0",
        global = true,
        hide_env_values = true,
        value_name = "URL"
    )]
    pub url: String,

    /// A replica of --url to read from; re-checks and writes stay on --url
    ///
    /// The walks of `orphans scan` and `reindex`, the overview and lists of
    /// `inspect` and the polls of `drain` read the replica; every second
    /// sighting, every guard and every write go to --url. jobq checks (INFO
    /// replication) that it replicates --url with its link up, and refuses
    /// it otherwise (exit 3); its lag is shown at start and reported in the
    /// JSON. Same schemes and --tls-* options as --url. Examples:
    /// --read-from redis://replica.internal:6379/0,
    /// rediss://app:secret@replica.internal:6380/0
    #[arg(
        long,
        env = "JOBQ_READ_FROM",
        global = true,
        hide_env_values = true,
        value_name = "URL"
    )]
    pub read_from: Option<String>,

    /// PEM file of CA certificates to trust (with rediss://)
    ///
    /// Trusted in addition to the Mozilla root certificates jobq trusts
    /// without it: for a server whose certificate a private CA signed.
    #[arg(
        long,
        env = "JOBQ_TLS_CA",
        global = true,
        hide_env_values = true,
        value_name = "FILE"
    )]
    pub tls_ca: Option<PathBuf>,

    /// PEM file of the client certificate to present (with --tls-key)
    ///
    /// For a server started with `tls-auth-clients yes`. The file may hold
    /// the chain: the client's certificate first, then its issuers.
    #[arg(
        long,
        env = "JOBQ_TLS_CERT",
        global = true,
        hide_env_values = true,
        value_name = "FILE"
    )]
    pub tls_cert: Option<PathBuf>,

    /// PEM file of the client certificate's private key (with --tls-cert)
    #[arg(
        long,
        env = "JOBQ_TLS_KEY",
        global = true,
        hide_env_values = true,
        value_name = "FILE"
    )]
    pub tls_key: Option<PathBuf>,

    /// Do not verify the server's certificate (a test server only)
    ///
    /// The connection is still encrypted, but anyone between jobq and the
    /// server can read and change it. jobq says so on stderr every run.
    /// JOBQ_TLS_INSECURE takes 1/0, true/false, yes/no or on/off.
    #[arg(
        long,
        env = "JOBQ_TLS_INSECURE",
        global = true,
        hide_env_values = true,
        value_parser = clap::builder::BoolishValueParser::new()
    )]
    pub tls_insecure: bool,

    /// TOML file describing the popoto model [default: RedisJob]
    ///
    /// Without it, jobq works on popoto's RedisJob model (job_id, project_key,
    /// status, priority, message_text, created_at). The format is in the README;
    /// the keys and bytes jobq reads for a model are in docs/layout.md.
    #[arg(
        long,
        env = "JOBQ_SCHEMA",
        global = true,
        hide_env_values = true,
        value_name = "FILE"
    )]
    pub schema: Option<PathBuf>,

    /// Prefix of jobq's own keys (audit stream, locks, reaper state)
    #[arg(long, default_value = "jobq", global = true, value_name = "PREFIX")]
    pub namespace: String,

    /// Print one JSON object on stdout instead of a table
    ///
    /// Every object carries "schema": 1 and "command"; bytes that are not
    /// UTF-8 are written as {"hex": "..."}. Progress and warnings stay on
    /// stderr. The format of each command is in the README.
    #[arg(long, global = true)]
    pub json: bool,

    /// When to use colour (NO_COLOR is honoured with auto)
    #[arg(long, value_enum, default_value_t = ColorWhen::Auto, global = true, value_name = "WHEN")]
    pub color: ColorWhen,

    /// Print nothing on stderr but errors
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,

    /// More detail on stderr (repeat for more)
    #[arg(short, long, action = ArgAction::Count, global = true)]
    pub verbose: u8,

    /// Give up connecting to Redis after this long
    #[arg(long, default_value = "5s", value_parser = parse_duration, allow_hyphen_values = true, global = true, value_name = "DURATION")]
    pub connect_timeout: Duration,

    /// Give up waiting for one Redis reply after this long
    ///
    /// A write whose reply did not arrive in time has an unknown outcome:
    /// jobq re-reads the state instead of sending it again.
    #[arg(long, default_value = "30s", value_parser = parse_duration, allow_hyphen_values = true, global = true, value_name = "DURATION")]
    pub response_timeout: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorWhen {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create jobs exactly as popoto's create() does
    #[command(long_about = ENQUEUE_ABOUT)]
    Enqueue(EnqueueArgs),
    /// Show the queue at a glance, list jobs, or examine one job
    #[command(long_about = INSPECT_ABOUT)]
    Inspect(InspectArgs),
    /// Find jobs and index entries that have drifted apart
    #[command(subcommand)]
    Orphans(OrphansCommand),
    /// Repair what `orphans scan` finds, member by member, while workers run
    #[command(long_about = REINDEX_ABOUT)]
    Reindex(ReindexArgs),
    /// Move stale running jobs back to pending (or to failed)
    #[command(long_about = REAP_ABOUT)]
    Reap(ReapArgs),
    /// Move failed (or other) jobs back to pending, popoto-style, filtered
    #[command(long_about = RETRY_ABOUT)]
    Retry(RetryArgs),
    /// Delete jobs by job_id, popoto-style, each record's before-image audited
    #[command(long_about = DELETE_ABOUT)]
    Delete(DeleteArgs),
    /// Reverse one run of jobq, each change guarded, from the audit stream
    #[command(long_about = UNDO_ABOUT)]
    Undo(UndoArgs),
    /// The history of what jobq did: runs, one run's entries, one job's
    #[command(long_about = AUDIT_ABOUT)]
    Audit(AuditArgs),
    /// Delete old completed (or failed) jobs, backed up first, one audit entry per batch
    #[command(long_about = PRUNE_ABOUT)]
    Prune(PruneArgs),
    /// Re-create the records of a prune's backup file, byte for byte
    #[command(long_about = RESTORE_ABOUT)]
    Restore(RestoreArgs),
    /// Wait until the queue has no pending and no running jobs
    #[command(long_about = DRAIN_ABOUT)]
    Drain(DrainArgs),
    /// Write shell completions and man pages (for packagers)
    #[command(hide = true)]
    Generate(GenerateArgs),
}

/// The subcommand the arguments name (`jobq orphans scan`), for pointing
/// at the right `--help` when they do not parse.
pub fn command_path(args: &[OsString]) -> String {
    use clap::CommandFactory;
    let mut cmd = Cli::command();
    let mut path = vec![cmd.get_name().to_owned()];
    for arg in args.iter().skip(1) {
        if arg == "--" {
            break;
        }
        let Some(word) = arg.to_str() else { continue };
        let Some(sub) = cmd.find_subcommand(word).cloned() else {
            continue;
        };
        path.push(sub.get_name().to_owned());
        cmd = sub;
    }
    path.join(" ")
}

pub use admin_args::*;
use admin_args::{DELETE_ABOUT, PRUNE_ABOUT, RESTORE_ABOUT, RETRY_ABOUT};
pub use args::*;
use args::{DRAIN_ABOUT, ENQUEUE_ABOUT, INSPECT_ABOUT, REAP_ABOUT, REINDEX_ABOUT};
pub use history::{AuditArgs, UndoArgs};
use history::{AUDIT_ABOUT, UNDO_ABOUT};
pub use parse::*;

mod admin_args;
mod args;
mod history;
mod parse;

#[cfg(test)]
mod tests;
