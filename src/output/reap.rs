//! The text form of a `reap` sweep: one summary line, then the moved (or,
//! in a dry run, the to-be-moved) jobs, the skipped ones and the ignored
//! members as tables, each cut at [`LISTED`] rows (`--json` has them all).

use std::fmt::Write;

use super::{Render, Style};
use crate::report::reap::{LockStatus, MovedJob, NotRun, Stop, SweepReport};

/// Rows shown per table in the text form.
pub const LISTED: usize = 50;

impl Render for SweepReport {
    fn command(&self) -> &'static str {
        "reap"
    }

    fn text(&self, style: &Style) -> String {
        let mut s = String::new();
        let head = if self.dry_run {
            format!("reap sweep {} (dry run)", self.sweep)
        } else {
            format!("reap sweep {}", self.sweep)
        };
        let secs = self.duration_ms as f64 / 1000.0;
        match self.not_run {
            Some(NotRun::LockHeld) => {
                let holder = self
                    .lock
                    .holder
                    .as_ref()
                    .map(|h| format!(" by {h}"))
                    .unwrap_or_default();
                let ttl = self
                    .lock
                    .holder_ttl_ms
                    .filter(|t| *t >= 0)
                    .map(|t| format!(", expires in {:.1} s", t as f64 / 1000.0))
                    .unwrap_or_default();
                let _ = writeln!(s, "{head}: not run, the reaper lock is held{holder}{ttl}");
                return s;
            }
            Some(NotRun::MinInterval) => {
                let age = self
                    .last_sweep_age_s
                    .map(|a| format!(" {a:.1} s ago"))
                    .unwrap_or_default();
                let _ = writeln!(
                    s,
                    "{head}: not run, the last sweep finished{age} (--min-interval)"
                );
                return s;
            }
            Some(NotRun::Interrupted) => {
                let _ = writeln!(s, "{head}: not run, interrupted while waiting for the lock");
                return s;
            }
            Some(NotRun::Declined) => {
                let _ = writeln!(s, "{head}: not run, declined: nothing written");
                return s;
            }
            Some(NotRun::Error) => {
                let _ = writeln!(s, "{head}: not run, {} (see stderr)", style.bad("error"));
                return s;
            }
            None => {}
        }
        let c = &self.counts;
        let lock = match self.lock.status {
            LockStatus::Acquired => "lock acquired",
            LockStatus::Waited => "lock acquired after waiting",
            LockStatus::Held => "lock held by another reaper",
            LockStatus::NotTaken => "no lock (dry run)",
            LockStatus::Lost => "lock lost",
        };
        let mut line = format!("{head}: {} running, {} stale", c.running, c.stale);
        if self.dry_run {
            let _ = write!(line, ", {} would move", self.would_move.len());
        } else {
            let _ = write!(
                line,
                ": {} to pending, {} to failed, {} skipped",
                style.good(c.to_pending),
                c.to_failed,
                if c.skipped + c.failed > 0 {
                    style.warn(c.skipped + c.failed)
                } else {
                    (c.skipped + c.failed).to_string()
                }
            );
        }
        if c.alive > 0 {
            let _ = write!(line, ", {} over the lease with a heartbeat", c.alive);
        }
        if c.first_sightings > 0 {
            let _ = write!(line, ", {} seen for the first time", c.first_sightings);
        }
        if c.ignored > 0 {
            let _ = write!(line, ", {} ignored", style.warn(c.ignored));
        }
        let _ = write!(line, "; {lock}; {secs:.2} s");
        let _ = writeln!(s, "{line}");
        if let Some(stop) = self.stopped {
            let why = match stop {
                Stop::MaxJobs => "--max-jobs reached",
                Stop::MaxDuration => "--max-duration reached",
                // What was moved stays moved; the rest is found again.
                Stop::Interrupted => "interrupted: run again to finish",
                Stop::Error => "error",
            };
            let _ = writeln!(s, "stopped early: {why}");
        }
        if !self.errors.is_empty() {
            let _ = writeln!(s, "{} error(s), see stderr", style.bad(self.errors.len()));
        }
        if let Some(run) = self
            .run_id
            .as_ref()
            .filter(|_| c.to_pending + c.to_failed > 0)
        {
            let _ = writeln!(s, "Run {run}: every move is in the audit stream.");
        }
        let jobs = if self.dry_run {
            &self.would_move
        } else {
            &self.moved
        };
        if !jobs.is_empty() {
            let _ = writeln!(
                s,
                "\n{}",
                style.bold(if self.dry_run { "would move" } else { "moved" })
            );
            s.push_str(&moved_table(style, jobs));
        }
        if !self.skipped.is_empty() {
            let _ = writeln!(s, "\n{}", style.bold("skipped"));
            let mut t = style.table(&["JOB_ID", "REASON", "KEY"]);
            for j in self.skipped.iter().take(LISTED) {
                let reason = match &j.detail {
                    Some(d) => format!("{}: {d}", j.reason),
                    None => j.reason.clone(),
                };
                t.add_row(vec![j.job_id.clone(), reason, j.key.to_string()]);
            }
            let _ = writeln!(s, "{t}");
            more(&mut s, self.skipped.len());
        }
        if !self.ignored.is_empty() {
            let _ = writeln!(
                s,
                "\n{}",
                style.bold("ignored (not healthy running records)")
            );
            let mut t = style.table(&["KEY", "REASON"]);
            for m in self.ignored.iter().take(LISTED) {
                t.add_row(vec![m.key.to_string(), m.reason.clone()]);
            }
            let _ = writeln!(s, "{t}");
            more(&mut s, c.ignored as usize);
        }
        s
    }
}

fn moved_table(style: &Style, jobs: &[MovedJob]) -> String {
    let mut t = style.table(&["JOB_ID", "TO", "REAPS", "RUNNING FOR", "OLD KEY"]);
    for j in jobs.iter().take(LISTED) {
        t.add_row(vec![
            j.job_id.clone(),
            j.to.clone(),
            j.attempts.to_string(),
            j.running_for_s
                .map(|a| {
                    humantime::format_duration(std::time::Duration::from_secs(a.max(0.0) as u64))
                        .to_string()
                })
                .unwrap_or_else(|| "-".into()),
            j.old_key.to_string(),
        ]);
    }
    let mut s = format!("{t}\n");
    more(&mut s, jobs.len());
    s
}

fn more(s: &mut String, total: usize) {
    if total > LISTED {
        let _ = writeln!(s, "... and {} more (--json lists them all)", total - LISTED);
    }
}
