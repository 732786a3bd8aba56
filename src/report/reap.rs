//! The report of one `jobq reap` sweep ([`SweepReport`]) and the facts it
//! carries: whether and why it ran, the lock, the rules applied, the counts,
//! and the jobs moved, skipped and ignored. Its exit code follows the
//! README's contract ([`SweepReport::exit_code`]).
//!
//! Owns: the report's shape (the JSON the README documents). Must not: do
//! I/O, print (`output::reap` renders it), or import `cmd`.

use serde::Serialize;

use crate::bytes::Bytes;
use crate::diagnose::stale::{Basis, ReapPolicy};
use crate::exit;
use crate::plan::reap::Planned;

/// Ignored members listed in a report (all are counted).
pub const IGNORED_LISTED: usize = 100;

/// The report of one sweep.
#[derive(Debug, Serialize)]
pub struct SweepReport {
    /// 1 for the first sweep of this process.
    pub sweep: u64,
    pub dry_run: bool,
    /// The id every audit entry of this process's sweeps carries
    /// (`jobq:audit`); `None` in a dry run, which writes nothing.
    pub run_id: Option<String>,
    /// Whether the sweep walked the running index (false: lock held, or a
    /// recent sweep with `--min-interval`).
    pub ran: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_run: Option<NotRun>,
    pub lock: LockReport,
    /// Seconds since the last completed sweep (read with `--min-interval`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_sweep_age_s: Option<f64>,
    pub rules: Rules,
    pub counts: SweepCounts,
    /// Jobs moved by this sweep.
    pub moved: Vec<MovedJob>,
    /// With `--dry-run`: the jobs a sweep would move.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub would_move: Vec<MovedJob>,
    /// Stale jobs not moved: the state changed under us, or the move failed.
    pub skipped: Vec<SkippedJob>,
    /// Running-index members that are not healthy running records, left
    /// alone (the first 100; `counts.ignored` has them all).
    pub ignored: Vec<IgnoredMember>,
    /// Why the sweep stopped before walking the whole running index.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stopped: Option<Stop>,
    pub errors: Vec<String>,
    pub duration_ms: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NotRun {
    /// Another reaper holds the lock.
    LockHeld,
    /// The last sweep finished less than `--min-interval` ago.
    MinInterval,
    /// Ctrl-C while waiting for the lock.
    Interrupted,
    /// Redis could not be reached.
    Error,
    /// The user said no at the prompt: nothing was written (exit 5).
    Declined,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Stop {
    MaxJobs,
    MaxDuration,
    Interrupted,
    Error,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LockStatus {
    /// Taken at once.
    Acquired,
    /// Taken after waiting for another reaper (`--wait-lock`).
    Waited,
    /// Held by another reaper: this sweep did not run.
    Held,
    /// Not taken: a dry run (it writes nothing), or the sweep stopped
    /// before (Redis unreachable).
    NotTaken,
    /// Expired under us mid-sweep (Redis stalled for longer than its TTL).
    Lost,
}

#[derive(Debug, Serialize)]
pub struct LockReport {
    pub status: LockStatus,
    /// The token (host:pid:random) of the reaper that held it when this
    /// one asked: with `held`, and with `waited` (the one waited for).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub holder: Option<Bytes>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub holder_ttl_ms: Option<i64>,
}

/// The rules the sweep applied.
#[derive(Debug, Serialize)]
pub struct Rules {
    pub lease_s: f64,
    /// The since field, or null when running time comes from first sightings.
    pub since_field: Option<String>,
    pub heartbeat_key: Option<String>,
    pub all: bool,
    pub max_attempts: u64,
}

impl Rules {
    pub fn of(p: &ReapPolicy) -> Rules {
        Rules {
            lease_s: p.lease,
            since_field: p.since_field.clone(),
            heartbeat_key: p.heartbeat_text.clone(),
            all: p.all,
            max_attempts: p.max_attempts,
        }
    }
}

#[derive(Debug, Default, Serialize)]
pub struct SweepCounts {
    /// Healthy running records seen.
    pub running: u64,
    /// Running keys first seen by this sweep (noted; stale at the earliest
    /// on a later sweep).
    pub first_sightings: u64,
    /// Stale by the lease (or `--all`) with no heartbeat: to be moved.
    pub stale: u64,
    /// Over the lease, but the heartbeat key exists: left running.
    pub alive: u64,
    pub to_pending: u64,
    pub to_failed: u64,
    /// Not moved because the state changed between read and move.
    pub skipped: u64,
    /// Not moved because the move failed (a key of the wrong type, an error).
    pub failed: u64,
    /// Members that are not healthy running records, left alone.
    pub ignored: u64,
    /// Members whose record was gone when read (moved by a worker).
    pub vanished: u64,
    /// First-sighting notes dropped because their key is no longer running.
    pub pruned: u64,
}

#[derive(Debug, Serialize)]
pub struct MovedJob {
    pub job_id: String,
    pub old_key: Bytes,
    pub new_key: Bytes,
    /// The status it was moved to (pending, or failed after max attempts).
    pub to: String,
    /// How many times it has been reaped, this time included.
    pub attempts: u64,
    pub basis: Basis,
    /// Seconds it had been running (at least), when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub running_for_s: Option<f64>,
}

impl MovedJob {
    /// A planned move as the report lists it; `attempts`: its reap count.
    pub fn planned(p: &Planned, attempts: u64) -> MovedJob {
        MovedJob {
            job_id: p.job.job_id.clone(),
            old_key: Bytes(p.job.key.clone()),
            new_key: Bytes(p.plan.record.new_key.clone()),
            to: p.plan.to_status.clone(),
            attempts,
            basis: p.staleness.basis,
            running_for_s: p.staleness.age.map(|a| (a * 1000.0).round() / 1000.0),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct SkippedJob {
    pub job_id: String,
    pub key: Bytes,
    /// gone, field_changed, not_in_set, target_exists, key_exists,
    /// counter_changed (the state changed: nothing written); wrong_type,
    /// error (the move failed: nothing known to be written).
    pub reason: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct IgnoredMember {
    pub key: Bytes,
    pub reason: String,
}

impl SweepReport {
    /// A sweep that has not run yet: nothing counted, the lock not taken.
    pub fn new(sweep: u64, dry_run: bool, rules: Rules) -> SweepReport {
        SweepReport {
            sweep,
            dry_run,
            run_id: None,
            ran: false,
            not_run: None,
            lock: LockReport {
                status: LockStatus::NotTaken,
                holder: None,
                holder_ttl_ms: None,
            },
            last_sweep_age_s: None,
            rules,
            counts: SweepCounts::default(),
            moved: Vec::new(),
            would_move: Vec::new(),
            skipped: Vec::new(),
            ignored: Vec::new(),
            stopped: None,
            errors: Vec::new(),
            duration_ms: 0,
        }
    }

    /// The exit code of a run that ends with this sweep.
    pub fn exit_code(&self) -> u8 {
        if self.stopped == Some(Stop::Interrupted) || self.not_run == Some(NotRun::Interrupted) {
            exit::INTERRUPTED
        } else if self.not_run == Some(NotRun::LockHeld) {
            exit::LOCKED
        } else if self.not_run == Some(NotRun::Declined) {
            exit::DECLINED
        } else if !self.errors.is_empty() {
            exit::RUNTIME
        } else if self.dry_run && !self.would_move.is_empty() {
            exit::FINDINGS
        } else if self.counts.skipped + self.counts.failed > 0 {
            exit::PARTIAL
        } else {
            exit::OK
        }
    }

    /// Count a member left alone, and list it while the list is short.
    pub fn ignore(&mut self, key: Vec<u8>, reason: String) {
        self.counts.ignored += 1;
        if self.ignored.len() < IGNORED_LISTED {
            self.ignored.push(IgnoredMember {
                key: Bytes(key),
                reason,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(dry_run: bool) -> SweepReport {
        let rules = Rules {
            lease_s: 1.0,
            since_field: None,
            heartbeat_key: None,
            all: false,
            max_attempts: 3,
        };
        SweepReport::new(1, dry_run, rules)
    }

    fn moved() -> MovedJob {
        MovedJob {
            job_id: "j".into(),
            old_key: Bytes::from("a"),
            new_key: Bytes::from("b"),
            to: "pending".into(),
            attempts: 1,
            basis: Basis::All,
            running_for_s: None,
        }
    }

    #[test]
    fn exit_codes_follow_the_contract() {
        assert_eq!(report(false).exit_code(), exit::OK);
        let mut r = report(true);
        assert_eq!(r.exit_code(), exit::OK, "a dry run with nothing stale");
        r.would_move.push(moved());
        assert_eq!(r.exit_code(), exit::FINDINGS);
        let mut r = report(false);
        r.counts.skipped = 1;
        assert_eq!(r.exit_code(), exit::PARTIAL);
        r.counts.skipped = 0;
        r.counts.failed = 1;
        assert_eq!(r.exit_code(), exit::PARTIAL);
        r.errors.push("boom".into());
        assert_eq!(r.exit_code(), exit::RUNTIME, "errors outrank skips");
        r.not_run = Some(NotRun::LockHeld);
        assert_eq!(r.exit_code(), exit::LOCKED);
        r.stopped = Some(Stop::Interrupted);
        assert_eq!(r.exit_code(), exit::INTERRUPTED);
        let mut r = report(false);
        r.not_run = Some(NotRun::MinInterval);
        assert_eq!(r.exit_code(), exit::OK, "a skipped sweep is not a failure");
    }
}
