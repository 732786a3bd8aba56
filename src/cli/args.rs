//! The arguments of each subcommand, with the long help that explains them.
//!
//! Must not: parse values beyond clap's shapes (see `parse`) or resolve them
//! into settings.

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Subcommand, ValueEnum};

use super::parse::{parse_count, parse_duration, parse_grace};

pub(super) const ENQUEUE_ABOUT: &str = "\
Create jobs exactly as popoto's create() does: one MULTI/EXEC per job with an
HSET of every declared field, SADD to the class set and every key-field index,
and ZADD to every sorted-field zset. Prints the job ids, one per line.

Examples:
  # One job of the default RedisJob model
  jobq enqueue --project billing --message 'rebuild invoices'
  # Any declared field, typed by the schema
  jobq enqueue --project ci --set created_at=1767225600.5
  # A retried CI step creates nothing twice
  jobq enqueue --project ci --idempotency-key ci-run-42
  # Many jobs from JSON Lines, validated whole before anything is written
  jobq enqueue --file fixtures.jsonl --json";

pub(super) const INSPECT_ABOUT: &str = "\
Without arguments: the class-set size and each status index's size (O(1)
reads, taken in one MULTI so they add up), the oldest pending job, and a
health line. Status indexes the schema does not list are found with a SCAN
over the keyspace (--no-discover skips it). With --status/--project: a list
of jobs (fields decoded). With a JOB_ID (or a full key): that job's records,
every set it is a member of, and a verdict. Exit 1 when the numbers do not
add up, the job is unknown, or its verdict is not healthy.

Examples:
  # Set sizes, the oldest pending job, and whether the numbers add up
  jobq inspect
  # The same, redrawn every 2 seconds until Ctrl-C
  jobq inspect --watch 2
  # Running jobs of one project, fields decoded
  jobq inspect --status running --project billing --limit 20
  # One job: its record, every set it is in, and a verdict
  jobq inspect 3f2a9c0e8b6d4f1a9e7c5b3d1f0a2c4e
  # A full record key stands for its job
  jobq inspect RedisJob:3f2a9c0e8b6d4f1a9e7c5b3d1f0a2c4e:billing:running
  # The overview for node_exporter's textfile collector (from cron)
  jobq inspect --format prometheus > q.prom.tmp && mv q.prom.tmp q.prom
  # The same, with the scan's confirmed findings per kind
  jobq inspect --format prometheus --scan";

pub(super) const REINDEX_ABOUT: &str = "\
Run the consistency scan, turn its confirmed findings into a plan, show it,
ask, and apply each action as a guarded Lua script that does nothing when the
state it was planned from has changed. Never deletes and rebuilds an index.

Examples:
  # What would be repaired; nothing written (exit 1 when there is work)
  jobq reindex --dry-run
  # Repair without asking, the ambiguous kinds included
  jobq reindex --yes --prefer key --duplicates keep-latest
  # Review a plan, then apply exactly it (every guard is re-checked)
  jobq orphans scan --plan-out plan.json
  jobq reindex --yes --plan plan.json";

pub(super) const REAP_ABOUT: &str = "\
Find running jobs whose worker is gone and move them back to pending (priority
high), or to failed after --max-attempts reaps, the way popoto moves a job:
one guarded script per job re-creates the record under its new key, and does
nothing (skipped) if a worker finished or touched the job meanwhile.

A job is stale when it has run longer than --lease: by its --since-field (or
the schema's since_field) when it has a value, else since jobq first saw it
running (noted in Redis, so it survives restarts; a job first seen by this
sweep is never stale yet). With --heartbeat-key, only while that key is
absent. --all takes every running job, and so does a --lease under a minute:
both ask first unless --yes.

A lock keeps reapers on several hosts from overlapping: a run that finds it
held exits 75 at once (or waits, --wait-lock). --dry-run lists what would be
moved and writes nothing at all, not even first-sighting notes.

Exit: 0 done or nothing stale, 1 a dry run found stale jobs, 3 error, 4 some
moves skipped or failed, 75 lock held, 130 interrupted.

Examples:
  jobq reap --once --lease 30m
  jobq reap --once --heartbeat-key 'worker:{project_key}:alive'
  jobq reap --interval 1m --min-interval 50s --json
  */5 * * * * jobq reap --once -q || [ $? -eq 75 ]";

pub(super) const DRAIN_ABOUT: &str = "\
Wait until the queue (or one project) has no pending and no running jobs,
confirmed by two reads --settle apart. Detects a queue nobody is working on.
With --ids, wait for just the given jobs and say how each ended: completed,
failed, or unknown (no live record of it any more, or two).

Exit: 0 drained (with --ids: every job completed), 2 usage or a bad --ids
line, 3 no keys of the model or Redis stopped answering, 6 --timeout,
7 stalled, 8 --ids: a job failed, 9 --ids: a job's outcome is unknown,
130 interrupted

A read that failed is never taken for an empty queue. Exit 7 means jobs
pending with nothing running and no change for --stall-timeout; 3 also
means the database has no keys of the model at all (unless --allow-empty).

Examples:
  # CI: wait for the workers, at most 10 minutes (exit 6 after that)
  jobq drain --timeout 10m
  # One project; give up early when nobody works on it (exit 7)
  jobq drain --project ci-42 --timeout 5m --stall-timeout 2m
  # CI: wait for the jobs just enqueued and fail the step if one failed
  jobq enqueue --file fixtures.jsonl > job-ids.txt
  jobq drain --project ci-42 --ids job-ids.txt --timeout 10m
  # The application deletes the jobs it finished: a vanished job is done
  jobq enqueue --file f.jsonl --json > jobs.json
  jobq drain --ids jobs.json --gone-means completed";

#[derive(Debug, Args)]
pub struct EnqueueArgs {
    /// The job's project (project_key)
    #[arg(long, value_name = "KEY")]
    pub project: Option<String>,
    /// The job's message (message_text)
    #[arg(long, value_name = "TEXT")]
    pub message: Option<String>,
    /// The job's priority: high, normal or low
    #[arg(long, value_name = "PRIORITY")]
    pub priority: Option<String>,
    /// The job's status [default: the model's pending status]
    #[arg(long, value_name = "STATUS")]
    pub status: Option<String>,
    /// Set any declared field, typed by the schema (repeatable)
    ///
    /// VALUE is read as the field's type: text, an integer, a number, true or
    /// false, or an ISO 8601 datetime. Example: --set created_at=1767225600.5
    #[arg(long = "set", value_name = "FIELD=VALUE")]
    pub set: Vec<String>,
    /// Use this job_id instead of a new uuid4 hex (refused if it exists)
    #[arg(long, value_name = "ID")]
    pub job_id: Option<String>,
    /// Create the job only once for this key; a repeat reports the existing job
    ///
    /// The key is claimed (SET NX EX) in the same atomic step as the create,
    /// so a retried CI step creates nothing twice, even when two retries race.
    #[arg(long, value_name = "KEY")]
    pub idempotency_key: Option<String>,
    /// How long an idempotency key is remembered
    #[arg(long, default_value = "24h", value_parser = parse_duration, allow_hyphen_values = true, value_name = "DURATION")]
    pub idempotency_ttl: Duration,
    /// Read jobs from a JSON Lines file (- for stdin), one object of fields per line
    ///
    /// Each line may carry "idempotency_key". The whole file is validated
    /// before anything is written; a bad line is reported with its number.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["project", "message", "priority", "status", "set", "job_id", "idempotency_key"])]
    pub file: Option<PathBuf>,
    /// Jobs per pipelined round trip with --file
    #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(u32).range(1..=10000), allow_negative_numbers = true, value_name = "N")]
    pub batch: u32,
}

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// A job_id or a full record key: show that job
    ///
    /// Matched literally: glob characters (* ? [) and ':' in a job_id are
    /// not patterns, and any bytes are accepted.
    #[arg(value_name = "JOB_ID", value_parser = clap::value_parser!(OsString))]
    pub job: Option<OsString>,
    /// List jobs with this status
    #[arg(long, value_name = "STATUS", conflicts_with = "job")]
    pub status: Option<String>,
    /// List jobs of this project
    #[arg(long, value_name = "KEY", conflicts_with = "job")]
    pub project: Option<String>,
    /// How many jobs to list with --status or --project [default: 50]
    #[arg(long, value_parser = parse_count::<usize>, allow_negative_numbers = true, value_name = "N")]
    pub limit: Option<usize>,
    /// Redraw the overview every SECONDS until Ctrl-C
    ///
    /// The screen is cleared between frames only on a terminal; with --json,
    /// one object per frame (JSON Lines). Ctrl-C exits 130.
    #[arg(long, value_name = "SECONDS", allow_negative_numbers = true, conflicts_with_all = ["job", "status", "project"])]
    pub watch: Option<f64>,
    /// Do not walk the keyspace for status indexes the schema does not list
    ///
    /// Finding them is a SCAN MATCH over every key of the database (cheap
    /// per step, but one round trip per 1000 keys); on a database with many
    /// millions of keys, skip it and see only the schema's statuses.
    #[arg(long)]
    pub no_discover: bool,
    /// How to print the overview: a table, or Prometheus text exposition
    ///
    /// `prometheus` prints the overview's figures as gauges with # HELP and
    /// # TYPE lines, labelled with the model and the namespace, for
    /// node_exporter's textfile collector. It exits 0 whenever the figures
    /// were read: the health is the jobq_healthy gauge, not the exit code.
    #[arg(long, value_enum, default_value_t = InspectFormat::Table, value_name = "FORMAT", conflicts_with_all = ["job", "status", "project", "watch"])]
    pub format: InspectFormat,
    /// With --format prometheus: also run the consistency scan (as `orphans
    /// scan` does, read-only) and add its confirmed findings per kind
    #[arg(long)]
    pub scan: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum InspectFormat {
    /// The overview table (or JSON with --json)
    Table,
    /// Prometheus text exposition format (version 0.0.4)
    Prometheus,
}

#[derive(Debug, Subcommand)]
pub enum OrphansCommand {
    /// Read-only consistency scan: classify every kind of damage
    #[command(long_about = SCAN_ABOUT)]
    Scan(ScanCommandArgs),
}

pub(super) const SCAN_ABOUT: &str = "\
One non-blocking pass (SSCAN + pipelined SMISMEMBER, never a whole-set read)
over the class set and every index, classifying each inconsistency. A finding
is confirmed only if it still holds on a re-check after --grace. Exit 1 when
confirmed findings exist.

Examples:
  # Every kind of damage, a table per kind
  jobq orphans scan
  # Also find records missing from the class set; keep the JSON
  jobq orphans scan --deep --json > scan.json
  # Write the repair plan for a later `jobq reindex --plan plan.json`
  jobq orphans scan --plan-out plan.json";

#[derive(Debug, Args)]
pub struct ScanCommandArgs {
    #[command(flatten)]
    pub scan: ScanArgs,
    /// Write the repair plan (JSON Lines, mode 0600) for `jobq reindex --plan`, as the scan goes
    #[arg(long, value_name = "FILE")]
    pub plan_out: Option<PathBuf>,
}

/// Flags shared by `orphans scan` and `reindex`.
#[derive(Debug, Args, Clone)]
pub struct ScanArgs {
    /// Re-check candidates after this long; only what still holds is reported (0 disables)
    ///
    /// A job that is being created or moved looks damaged for a moment; the
    /// re-check keeps those transient states out of the findings.
    #[arg(long, default_value = "2s", value_parser = parse_grace, allow_hyphen_values = true, value_name = "DURATION")]
    pub grace: Duration,
    /// Also walk the keyspace (SCAN MATCH <Model>:*) to find records missing from the class set
    ///
    /// Without it, `unlisted` records cannot be seen: nothing else points at
    /// them. The walk visits every key of the database, one SCAN step at a time.
    /// It also decodes every declared field of every record it meets, so a
    /// stored value that is not valid msgpack is reported (malformed, never
    /// touched); values over 64 KiB are counted, not read.
    #[arg(long)]
    pub deep: bool,
    /// Members per SSCAN/SCAN step
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(10..=100000), allow_negative_numbers = true, value_name = "N")]
    pub batch: u32,
    /// Findings shown per kind in the table
    #[arg(long, default_value_t = 10, value_parser = parse_count::<usize>, allow_negative_numbers = true, value_name = "N")]
    pub limit: usize,
    /// List at most N findings or actions in the report (table and --json), or `all`
    ///
    /// The counts are always complete; the report says how many it did not
    /// list (`not_listed` in --json). A repair of millions of findings is
    /// not held in memory to be listed at the end: use --report-out for the
    /// complete list, written as the run goes.
    #[arg(long, default_value = "30", value_parser = parse_show, value_name = "N|all")]
    pub show: Show,
    /// Write every finding (orphans scan) or every action and its outcome
    /// (reindex) to FILE as JSON Lines, as the run goes
    ///
    /// One header line (format version, the run's parameters), then one line
    /// per finding or action, then a closing line saying whether the run
    /// finished; a run stopped early leaves a file valid up to its last line.
    /// Created with mode 0600: it holds job data.
    #[arg(long, value_name = "FILE")]
    pub report_out: Option<PathBuf>,
}

/// `--show`: a number of items, or every one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Show(pub Option<usize>);

fn parse_show(s: &str) -> Result<Show, String> {
    if s.trim().eq_ignore_ascii_case("all") {
        return Ok(Show(None));
    }
    parse_count::<usize>(s)
        .map(|n| Show(Some(n)))
        .map_err(|e| format!("{e} (or `all`)"))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Prefer {
    /// Trust the key: rewrite the hash's status field from the key
    Key,
    /// Trust the hash field: move the record to the key its field names
    Field,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DuplicatePolicy {
    /// Keep the record furthest along (pending < running < completed/failed)
    KeepLatest,
}

/// Confirmation flags for commands that write.
#[derive(Debug, Args, Clone)]
pub struct ConfirmArgs {
    /// Do not ask; apply the plan
    ///
    /// Where the command would ask before writing, --yes answers for you;
    /// without it and with no terminal to ask on, it refuses (exit 2) and
    /// writes nothing.
    #[arg(short, long)]
    pub yes: bool,
    /// Show the plan and stop (exit 1 when there is something to do)
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub struct ReindexArgs {
    #[command(flatten)]
    pub scan: ScanArgs,
    #[command(flatten)]
    pub confirm: ConfirmArgs,
    /// Apply a plan written by `orphans scan --plan-out` instead of scanning
    ///
    /// Every action's guard is re-checked: an action whose state changed since
    /// the plan was written is skipped (exit 4), never forced.
    #[arg(long, value_name = "FILE", conflicts_with = "plan_out")]
    pub plan: Option<PathBuf>,
    /// Write the plan (with the policies given) to FILE, for `--plan` later (JSON Lines, mode 0600)
    #[arg(long, value_name = "FILE")]
    pub plan_out: Option<PathBuf>,
    /// Repair field_mismatch findings, trusting the key or the hash field
    ///
    /// Without it, field_mismatch findings are reported and left alone (exit 4):
    /// only you know which of the two is true.
    #[arg(long, value_enum, value_name = "SIDE")]
    pub prefer: Option<Prefer>,
    /// Repair duplicate findings with this policy
    ///
    /// Without it, duplicates are reported and left alone (exit 4). The record
    /// removed is kept in the audit stream as a before-image.
    #[arg(long, value_enum, value_name = "POLICY")]
    pub duplicates: Option<DuplicatePolicy>,
    /// Move popoto 1.8.0-1.8.2 index pointers over to the $IdxPtr key 1.10.1 reads
    ///
    /// Only for a schema whose status is indexed. Without it, legacy_pointer
    /// findings are reported and left alone (exit 4): a popoto 1.8 node still
    /// running would no longer find its own pointer. The old pointer's value
    /// is kept in the audit stream.
    #[arg(long)]
    pub migrate_pointers: bool,
}

#[derive(Debug, Args)]
pub struct ReapArgs {
    /// A job running longer than this is stale (by --since-field, else since first seen running); under 1m asks unless --yes
    #[arg(long, default_value = "30m", value_parser = parse_duration, allow_hyphen_values = true, value_name = "DURATION")]
    pub lease: Duration,
    /// Timestamp field saying when the job started running [default: the schema's since_field]
    #[arg(long, value_name = "FIELD")]
    pub since_field: Option<String>,
    /// Stale only while this key is absent; {field} is the job's field, escaped as popoto escapes keys
    #[arg(long, value_name = "TEMPLATE")]
    pub heartbeat_key: Option<String>,
    /// Every running job is stale, whatever the lease (after all workers crashed); asks unless --yes
    #[arg(long)]
    pub all: bool,
    /// Priority given to a requeued job (when the model has a priority field)
    #[arg(long, default_value = "high", value_name = "PRIORITY")]
    pub requeue_priority: String,
    /// After this many reaps a job goes to failed instead of pending
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..), allow_negative_numbers = true, value_name = "N")]
    pub max_attempts: u32,
    /// One sweep, then exit (for cron)
    #[arg(long, conflicts_with = "interval")]
    pub once: bool,
    /// Sweep every DURATION until Ctrl-C
    #[arg(long, value_parser = parse_duration, allow_hyphen_values = true, value_name = "DURATION")]
    pub interval: Option<Duration>,
    /// Wait for another reaper's lock instead of exiting 75
    #[arg(long)]
    pub wait_lock: bool,
    /// Skip the sweep if one (on any host) finished less than DURATION ago
    #[arg(long, value_parser = parse_duration, allow_hyphen_values = true, value_name = "DURATION")]
    pub min_interval: Option<Duration>,
    /// Move at most N jobs per sweep, then stop the sweep
    #[arg(long, value_parser = parse_count::<u64>, allow_negative_numbers = true, value_name = "N")]
    pub max_jobs: Option<u64>,
    /// Stop a sweep after this long (moves already planned are applied)
    #[arg(long, value_parser = parse_duration, allow_hyphen_values = true, value_name = "DURATION")]
    pub max_duration: Option<Duration>,
    #[command(flatten)]
    pub confirm: ConfirmArgs,
}

#[derive(Debug, Args)]
pub struct DrainArgs {
    /// Wait only for this project's jobs
    #[arg(long, value_name = "KEY")]
    pub project: Option<String>,
    /// Give up after this long (exit 6)
    #[arg(long, value_parser = parse_duration, allow_hyphen_values = true, value_name = "DURATION")]
    pub timeout: Option<Duration>,
    /// Two empty reads this far apart mean drained
    #[arg(long, default_value = "200ms", value_parser = parse_duration, allow_hyphen_values = true, value_name = "DURATION")]
    pub settle: Duration,
    /// Pending jobs, nothing running and no change for this long: stalled (exit 7)
    ///
    /// Running jobs that do not change for this long are not a stall (someone
    /// claims them) but get a warning pointing at `jobq reap`.
    #[arg(long, default_value = "60s", value_parser = parse_duration, allow_hyphen_values = true, value_name = "DURATION")]
    pub stall_timeout: Duration,
    /// Treat a database with no keys of the model as drained
    ///
    /// Without it, such a database is exit 3: a wrong --url, db number or
    /// --schema looks exactly like an empty queue.
    #[arg(long)]
    pub allow_empty: bool,
    /// Wait for just these jobs: a file of job ids, one per line (- for stdin)
    ///
    /// Exactly what `jobq enqueue` prints, or its --json output. Each job's
    /// answer is completed, failed or unknown (no live record of it any
    /// more, or two); the report lists the failed and unknown ones. Exit 0
    /// when every job completed, 8 when one failed, 9 when one is unknown.
    /// A bad line is exit 2, naming it, before anything is read from Redis.
    #[arg(long, value_name = "FILE")]
    pub ids: Option<PathBuf>,
    /// What a job with no live record any more means (with --ids)
    ///
    /// `unknown` (the default): deleted after it finished, or lost; jobq
    /// cannot tell. `completed`: the application deletes jobs it finished;
    /// stderr says how many jobs this was applied to.
    #[arg(long, value_enum, default_value_t = GoneMeans::Unknown, value_name = "ANSWER", requires = "ids")]
    pub gone_means: GoneMeans,
}

/// What `drain --ids` makes of a job that has no live record any more.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GoneMeans {
    /// The job's outcome is unknown (exit 9)
    Unknown,
    /// The application deletes finished jobs: count it completed
    Completed,
}

#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// Directory to write completions/ and man/ into
    #[arg(long, value_name = "DIR")]
    pub out_dir: PathBuf,
}
