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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bytes::Bytes;
    use crate::diagnose::stale::Basis;
    use crate::report::reap::{Rules, SkippedJob};

    const PLAIN: Style = Style { color: false };

    fn report(dry_run: bool) -> SweepReport {
        let rules = Rules {
            lease_s: 300.0,
            since_field: Some("started_at".into()),
            heartbeat_key: None,
            all: false,
            max_attempts: 3,
        };
        let mut r = SweepReport::new(1, dry_run, rules);
        r.duration_ms = 250;
        r
    }

    fn moved(id: &str, to: &str, running_for_s: Option<f64>) -> MovedJob {
        MovedJob {
            job_id: id.into(),
            old_key: Bytes(format!("RedisJob:{id}:projA:running").into_bytes()),
            new_key: Bytes(format!("RedisJob:{id}:projA:{to}").into_bytes()),
            to: to.into(),
            attempts: 2,
            basis: Basis::SinceField,
            running_for_s,
        }
    }

    #[test]
    fn a_declined_sweep_says_nothing_was_written() {
        let mut r = report(false);
        r.not_run = Some(NotRun::Declined);
        assert_eq!(
            r.text(&PLAIN),
            "reap sweep 1: not run, declined: nothing written\n"
        );
    }

    #[test]
    fn sweeps_that_did_not_run_say_why_in_one_line() {
        let mut r = report(false);
        r.sweep = 2;
        r.not_run = Some(NotRun::LockHeld);
        r.lock.status = LockStatus::Held;
        r.lock.holder = Some(Bytes::from("host:12:ab"));
        r.lock.holder_ttl_ms = Some(1500);
        assert_eq!(
            r.text(&PLAIN),
            "reap sweep 2: not run, the reaper lock is held by host:12:ab, expires in 1.5 s\n"
        );
        // A lock without expiry (TTL -1) says nothing of when it goes.
        r.lock.holder_ttl_ms = Some(-1);
        assert_eq!(
            r.text(&PLAIN),
            "reap sweep 2: not run, the reaper lock is held by host:12:ab\n"
        );
        r.not_run = Some(NotRun::MinInterval);
        r.last_sweep_age_s = Some(3.24);
        assert_eq!(
            r.text(&PLAIN),
            "reap sweep 2: not run, the last sweep finished 3.2 s ago (--min-interval)\n"
        );
        r.not_run = Some(NotRun::Interrupted);
        assert_eq!(
            r.text(&PLAIN),
            "reap sweep 2: not run, interrupted while waiting for the lock\n"
        );
        r.not_run = Some(NotRun::Error);
        assert_eq!(
            r.text(&PLAIN),
            "reap sweep 2: not run, error (see stderr)\n"
        );
    }

    #[test]
    fn a_sweep_that_moved_jobs_names_its_run() {
        let mut r = report(false);
        r.ran = true;
        r.run_id = Some("run-9".into());
        r.lock.status = LockStatus::Acquired;
        r.counts.running = 4;
        r.counts.stale = 2;
        r.counts.to_pending = 1;
        r.counts.to_failed = 1;
        r.moved = vec![
            moved("j1", "pending", Some(3725.4)),
            moved("j2", "failed", None),
        ];
        let text = r.text(&PLAIN);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "reap sweep 1: 4 running, 2 stale: 1 to pending, 1 to failed, 0 skipped; lock acquired; 0.25 s"
        );
        assert_eq!(lines[1], "Run run-9: every move is in the audit stream.");
        assert!(lines.contains(&"moved"), "{text}");
        let j1 = lines.iter().find(|l| l.contains("j1")).unwrap();
        for cell in ["pending", "2", "1h 2m 5s", "RedisJob:j1:projA:running"] {
            assert!(j1.contains(cell), "{cell} in {j1}");
        }
        let j2 = lines.iter().find(|l| l.contains("j2")).unwrap();
        assert!(j2.contains(" - "), "unknown running time: {j2}");
        assert!(!text.contains('\u{1b}'), "colour off: {text:?}");
    }

    #[test]
    fn no_run_line_when_nothing_moved() {
        let mut r = report(false);
        r.ran = true;
        r.run_id = Some("run-9".into());
        r.lock.status = LockStatus::Acquired;
        r.counts.running = 3;
        let text = r.text(&PLAIN);
        assert_eq!(
            text,
            "reap sweep 1: 3 running, 0 stale: 0 to pending, 0 to failed, 0 skipped; lock acquired; 0.25 s\n"
        );
    }

    #[test]
    fn a_dry_run_lists_what_it_would_move() {
        let mut r = report(true);
        r.ran = true;
        r.counts.running = 3;
        r.counts.stale = 1;
        r.counts.alive = 1;
        r.counts.first_sightings = 2;
        r.would_move = vec![moved("j1", "pending", Some(400.0))];
        let text = r.text(&PLAIN);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "reap sweep 1 (dry run): 3 running, 1 stale, 1 would move, 1 over the lease with a heartbeat, 2 seen for the first time; no lock (dry run); 0.25 s"
        );
        assert!(lines.contains(&"would move"), "{text}");
        assert!(!lines.contains(&"moved"), "{text}");
        assert!(text.contains("6m 40s"), "{text}");
        assert!(!text.contains("Run "), "{text}");
    }

    #[test]
    fn stops_errors_and_skips_are_reported() {
        let mut r = report(false);
        r.ran = true;
        r.lock.status = LockStatus::Lost;
        r.counts.running = 2;
        r.counts.stale = 2;
        r.counts.skipped = 1;
        r.counts.failed = 1;
        r.stopped = Some(Stop::Interrupted);
        r.errors = vec!["boom".into()];
        r.skipped = vec![SkippedJob {
            job_id: "j1".into(),
            key: Bytes(b"RedisJob:j1:\xff:running".to_vec()),
            reason: "field_changed".into(),
            detail: Some("status is now completed".into()),
        }];
        let text = r.text(&PLAIN);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "reap sweep 1: 2 running, 2 stale: 0 to pending, 0 to failed, 2 skipped; lock lost; 0.25 s"
        );
        assert_eq!(lines[1], "stopped early: interrupted: run again to finish");
        assert_eq!(lines[2], "1 error(s), see stderr");
        assert!(lines.contains(&"skipped"), "{text}");
        let row = lines.iter().find(|l| l.contains("j1")).unwrap();
        assert!(
            row.contains("field_changed: status is now completed"),
            "{row}"
        );
        assert!(row.contains(r"RedisJob:j1:\xff:running"), "escaped: {row}");
        for (stop, why) in [
            (Stop::MaxJobs, "--max-jobs reached"),
            (Stop::MaxDuration, "--max-duration reached"),
            (Stop::Error, "error"),
        ] {
            r.stopped = Some(stop);
            assert!(
                r.text(&PLAIN)
                    .contains(&format!("\nstopped early: {why}\n")),
                "{why}"
            );
        }
    }

    #[test]
    fn ignored_members_are_listed_then_counted() {
        let mut r = report(false);
        r.ran = true;
        r.lock.status = LockStatus::Acquired;
        for i in 0..120 {
            r.ignore(format!("junk{i:03}").into_bytes(), "not a hash".into());
        }
        let text = r.text(&PLAIN);
        assert!(
            text.lines().next().unwrap().contains(", 120 ignored;"),
            "{text}"
        );
        assert!(text.contains("\nignored (not healthy running records)\n"));
        assert!(text.contains(&format!("junk{:03}", LISTED - 1)));
        assert!(!text.contains(&format!("junk{LISTED:03}")), "{text}");
        assert!(
            text.ends_with("... and 70 more (--json lists them all)\n"),
            "all 120 counted, not the 100 kept: {text}"
        );
    }

    #[test]
    fn a_huge_key_is_shown_bounded() {
        let mut r = report(false);
        r.ran = true;
        r.lock.status = LockStatus::Acquired;
        r.ignore(vec![b'x'; 1 << 20], "wrong type".into());
        let text = r.text(&PLAIN);
        assert!(text.len() < 2_000, "{} bytes", text.len());
        assert!(text.contains("… <1048576 bytes>"), "{text}");
    }

    #[test]
    fn json_has_the_documented_fields() {
        let mut r = report(false);
        r.not_run = Some(NotRun::Declined);
        assert_eq!(r.command(), "reap");
        let v = serde_json::to_value(&r).unwrap();
        let mut fields: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        fields.sort_unstable();
        assert_eq!(
            fields,
            [
                "counts",
                "dry_run",
                "duration_ms",
                "errors",
                "ignored",
                "lock",
                "moved",
                "not_run",
                "ran",
                "rules",
                "run_id",
                "skipped",
                "sweep"
            ]
        );
        assert_eq!(v["not_run"], "declined");
        assert_eq!(v["lock"]["status"], "not_taken");
        assert!(v["lock"].get("holder").is_none());
        assert_eq!(v["rules"]["lease_s"], 300.0);
        assert_eq!(v["rules"]["since_field"], "started_at");
        assert_eq!(v["counts"]["first_sightings"], 0);
        r.not_run = None;
        r.stopped = Some(Stop::MaxJobs);
        r.dry_run = true;
        r.would_move = vec![moved("j1", "pending", Some(1.0))];
        r.ignore(b"\xffk".to_vec(), "bad key".into());
        let v = serde_json::to_value(&r).unwrap();
        assert!(v.get("not_run").is_none());
        assert_eq!(v["stopped"], "max_jobs");
        assert_eq!(v["would_move"][0]["basis"], "since_field");
        assert_eq!(v["would_move"][0]["running_for_s"], 1.0);
        assert_eq!(v["would_move"][0]["old_key"], "RedisJob:j1:projA:running");
        assert_eq!(v["ignored"][0]["key"]["hex"], "ff6b");
    }

    #[test]
    fn each_lock_status_is_named_in_the_summary() {
        let mut r = report(false);
        r.ran = true;
        for (status, words) in [
            (LockStatus::Acquired, "; lock acquired; "),
            (LockStatus::Waited, "; lock acquired after waiting; "),
            (LockStatus::Held, "; lock held by another reaper; "),
            (LockStatus::NotTaken, "; no lock (dry run); "),
            (LockStatus::Lost, "; lock lost; "),
        ] {
            r.lock.status = status;
            let text = r.text(&PLAIN);
            assert!(
                text.lines().next().unwrap().contains(words),
                "{words}: {text}"
            );
        }
    }
}
