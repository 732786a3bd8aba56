//! The text form of `jobq drain`'s report: one line saying drained, timed
//! out or stalled (and why), then the oldest pending job when there is one.

use std::fmt::Write;
use std::time::Duration;

use super::{Render, Style};
use crate::report::drain::{DrainReport, GoneAnswer, IdsOutcome, Outcome, Reason, UnknownReason};

impl Render for DrainReport {
    fn command(&self) -> &'static str {
        "drain"
    }

    fn text(&self, style: &Style) -> String {
        let what = match &self.project {
            Some(p) => format!("project {p:?} of {}", self.model),
            None => self.model.clone(),
        };
        let secs = |s: f64| {
            humantime::format_duration(Duration::from_millis((s * 1000.0).round() as u64))
                .to_string()
        };
        let mut s = String::new();
        if let Some(ids) = &self.ids {
            ids_text(&mut s, self, ids, &what, style);
            return s;
        }
        let _ = match self.reason {
            Reason::Drained => writeln!(
                s,
                "{} {what}: no pending or running jobs (two reads {} apart) after {}; {} job(s) finished",
                style.good("drained:"),
                secs(self.settle_seconds),
                secs(self.elapsed_seconds),
                self.jobs_finished
            ),
            Reason::Empty => writeln!(
                s,
                "{} {what} has no keys in this database and none appeared (--allow-empty)",
                style.good("drained:")
            ),
            Reason::Timeout => writeln!(
                s,
                "{} {what} after {}: {} pending, {} running left; {} of {} job(s) seen finished",
                style.bad("timed out:"),
                secs(self.elapsed_seconds),
                self.end.pending,
                self.end.running,
                self.jobs_finished,
                self.jobs_seen
            ),
            Reason::Stalled => writeln!(
                s,
                "{} {what}: {} pending, nothing running and no change for {}: \
                 nobody is working on the queue",
                style.bad("stalled:"),
                self.end.pending,
                secs(self.stall_timeout_seconds)
            ),
        };
        if let Some(o) = &self.oldest_pending {
            let id = o.job_id.as_ref().unwrap_or(&o.key).to_string();
            let _ = write!(
                s,
                "oldest pending: {} ({} {}",
                style.bold(id),
                o.field,
                o.score
            );
            if let Some(age) = o.age_seconds {
                let _ = write!(s, ", waiting {}", secs(age.floor()));
            }
            // The key names the record when the job_id could not be read
            // from it; then it has been shown already.
            match &o.job_id {
                Some(_) => {
                    let _ = writeln!(s, ") {}", o.key);
                }
                None => {
                    let _ = writeln!(s, ")");
                }
            }
        }
        if self.reconnects > 0 {
            let _ = writeln!(
                s,
                "{} reconnected to Redis {} time(s) while waiting",
                style.warn("note:"),
                self.reconnects
            );
        }
        s
    }
}

fn secs(s: f64) -> String {
    humantime::format_duration(Duration::from_millis((s * 1000.0).round() as u64)).to_string()
}

/// `drain --ids`: one line with the counts, then the failed and the
/// unknown jobs (the first `listed_limit` of each).
fn ids_text(s: &mut String, r: &DrainReport, ids: &IdsOutcome, what: &str, style: &Style) {
    let label = match (ids.outcome, r.reason) {
        (Outcome::Completed, _) => style.good("completed:"),
        (Outcome::Failed, _) => style.bad("failed:"),
        (Outcome::Unknown, _) => style.bad("unknown:"),
        (Outcome::Unfinished, Reason::Stalled) => style.bad("stalled:"),
        (Outcome::Unfinished, _) => style.bad("timed out:"),
    };
    let _ = write!(
        s,
        "{label} {} job(s) of {what}: {} completed, {} failed, {} unknown",
        ids.total, ids.completed, ids.failed, ids.unknown
    );
    if ids.outcome == Outcome::Unfinished {
        let _ = write!(s, ", {} pending, {} running", ids.pending, ids.running);
    }
    let _ = writeln!(s, " after {}", secs(r.elapsed_seconds));
    if r.reason == Reason::Stalled {
        let _ = writeln!(
            s,
            "nothing running and no change for {}: nobody is working on these jobs",
            secs(r.stall_timeout_seconds)
        );
    }
    if ids.gone > 0 {
        let counted = match ids.gone_means {
            GoneAnswer::Completed => "counted completed (--gone-means completed)",
            GoneAnswer::Unknown => "unknown (deleted after they finished, or lost)",
        };
        let _ = writeln!(
            s,
            "{} job(s) have no live record any more: {counted}",
            ids.gone
        );
    }
    if ids.duplicates > 0 {
        let _ = writeln!(
            s,
            "{} job(s) have two or more live records (see `jobq inspect JOB_ID`): unknown",
            ids.duplicates
        );
    }
    let more = |s: &mut String, total: u64, listed: usize, what: &str| {
        if total > listed as u64 {
            let _ = writeln!(
                s,
                "… and {} more {what} job(s) (the first {listed} are listed; --json has the same)",
                total - listed as u64
            );
        }
    };
    if !ids.failed_jobs.is_empty() {
        let mut t = style.table(&["FAILED JOB", "PROJECT", "STATUS", "MESSAGE"]);
        for j in &ids.failed_jobs {
            let msg = match (&j.message_field, &j.message) {
                (Some(f), Some(m)) => format!("{f}: {m}"),
                _ => String::new(),
            };
            t.add_row(vec![
                j.job_id.clone(),
                j.project.clone().unwrap_or_default(),
                j.status.clone(),
                msg,
            ]);
        }
        let _ = writeln!(s, "{t}");
        more(s, ids.failed, ids.failed_jobs.len(), "failed");
    }
    if !ids.unknown_jobs.is_empty() {
        let mut t = style.table(&["UNKNOWN JOB", "REASON", "RECORDS"]);
        for j in &ids.unknown_jobs {
            let reason = match j.reason {
                UnknownReason::Gone => "no live record",
                UnknownReason::Duplicate => "two or more live records",
            };
            let keys: Vec<String> = j.keys.iter().map(ToString::to_string).collect();
            t.add_row(vec![j.job_id.clone(), reason.to_owned(), keys.join(" ")]);
        }
        let _ = writeln!(s, "{t}");
        more(s, ids.unknown, ids.unknown_jobs.len(), "unknown");
    }
    if r.reconnects > 0 {
        let _ = writeln!(
            s,
            "{} reconnected to Redis {} time(s) while waiting",
            style.warn("note:"),
            r.reconnects
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bytes::Bytes;
    use crate::report::drain::Level;
    use crate::report::OldestPending;

    const PLAIN: Style = Style { color: false };

    fn report(reason: Reason) -> DrainReport {
        DrainReport {
            drained: reason == Reason::Drained || reason == Reason::Empty,
            reason,
            model: "RedisJob".into(),
            project: None,
            start: Level {
                pending: 5,
                running: 1,
            },
            end: Level {
                pending: 2,
                running: 1,
            },
            elapsed_seconds: 65.0,
            jobs_seen: 5,
            jobs_finished: 3,
            oldest_pending: None,
            reconnects: 0,
            settle_seconds: 2.0,
            stall_timeout_seconds: 60.0,
            timeout_seconds: Some(30.0),
            read_from: None,
            ids: None,
        }
    }

    #[test]
    fn each_reason_has_its_line() {
        assert_eq!(
            report(Reason::Drained).text(&PLAIN),
            "drained: RedisJob: no pending or running jobs (two reads 2s apart) after 1m 5s; 3 job(s) finished\n"
        );
        assert_eq!(
            report(Reason::Empty).text(&PLAIN),
            "drained: RedisJob has no keys in this database and none appeared (--allow-empty)\n"
        );
        assert_eq!(
            report(Reason::Timeout).text(&PLAIN),
            "timed out: RedisJob after 1m 5s: 2 pending, 1 running left; 3 of 5 job(s) seen finished\n"
        );
        assert_eq!(
            report(Reason::Stalled).text(&PLAIN),
            "stalled: RedisJob: 2 pending, nothing running and no change for 1m: nobody is working on the queue\n"
        );
    }

    #[test]
    fn a_project_is_named() {
        let mut r = report(Reason::Drained);
        r.project = Some("projA".into());
        assert!(
            r.text(&PLAIN)
                .starts_with("drained: project \"projA\" of RedisJob: no pending"),
            "{}",
            r.text(&PLAIN)
        );
    }

    #[test]
    fn the_oldest_pending_job_and_reconnects() {
        let mut r = report(Reason::Timeout);
        r.oldest_pending = Some(OldestPending {
            key: Bytes::from("RedisJob:j9:projA:pending"),
            job_id: Some(Bytes::from("j9")),
            field: "created_at".into(),
            score: 1767225600.5,
            age_seconds: Some(3600.9),
        });
        r.reconnects = 2;
        let text = r.text(&PLAIN);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3, "{text}");
        assert_eq!(
            lines[1],
            "oldest pending: j9 (created_at 1767225600.5, waiting 1h) RedisJob:j9:projA:pending"
        );
        assert_eq!(
            lines[2],
            "note: reconnected to Redis 2 time(s) while waiting"
        );
        assert!(!text.contains('\u{1b}'), "colour off: {text:?}");
        let painted = r.text(&Style { color: true });
        assert!(painted.contains('\u{1b}'));
        assert_eq!(console::strip_ansi_codes(&painted), text);
    }

    #[test]
    fn an_oldest_job_without_id_or_age_is_shown_by_its_key_escaped() {
        let mut r = report(Reason::Stalled);
        r.oldest_pending = Some(OldestPending {
            key: Bytes(b"RedisJob:\xff:projA:pending".to_vec()),
            job_id: None,
            field: "priority".into(),
            score: 3.0,
            age_seconds: None,
        });
        let text = r.text(&PLAIN);
        assert_eq!(
            text.lines().nth(1).unwrap(),
            r"oldest pending: RedisJob:\xff:projA:pending (priority 3)"
        );
    }

    #[test]
    fn ids_list_their_failed_and_unknown_jobs_bounded() {
        use crate::report::drain::{FailedJob, IdsOutcome, UnknownJob};
        let mut r = report(Reason::Drained);
        r.project = Some("ci".into());
        r.ids = Some(IdsOutcome {
            outcome: Outcome::Failed,
            total: 60,
            completed: 2,
            failed: 58,
            unknown: 0,
            pending: 0,
            running: 0,
            gone: 2,
            duplicates: 0,
            gone_means: GoneAnswer::Completed,
            reads: 3,
            listed_limit: 1,
            failed_jobs: vec![FailedJob {
                job_id: "j1".into(),
                project: Some("ci".into()),
                status: "failed".into(),
                key: Bytes::from("RedisJob:j1:ci:failed"),
                message_field: Some("message_text".into()),
                message: Some("boom".into()),
            }],
            unknown_jobs: Vec::<UnknownJob>::new(),
        });
        let text = r.text(&PLAIN);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "failed: 60 job(s) of project \"ci\" of RedisJob: 2 completed, 58 failed, 0 unknown after 1m 5s"
        );
        assert_eq!(
            lines[1],
            "2 job(s) have no live record any more: counted completed (--gone-means completed)"
        );
        assert!(
            lines[3].contains("j1") && lines[3].contains("message_text: boom"),
            "{text}"
        );
        assert_eq!(
            lines[4],
            "… and 57 more failed job(s) (the first 1 are listed; --json has the same)"
        );
        assert!(!text.contains("UNKNOWN JOB"), "{text}");
    }

    #[test]
    fn json_has_the_documented_fields() {
        let r = report(Reason::Stalled);
        assert_eq!(r.command(), "drain");
        let v = serde_json::to_value(&r).unwrap();
        let mut fields: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        fields.sort_unstable();
        assert_eq!(
            fields,
            [
                "drained",
                "elapsed_seconds",
                "end",
                "jobs_finished",
                "jobs_seen",
                "model",
                "oldest_pending",
                "project",
                "reason",
                "reconnects",
                "settle_seconds",
                "stall_timeout_seconds",
                "start",
                "timeout_seconds"
            ]
        );
        assert_eq!(v["reason"], "stalled");
        assert_eq!(v["end"]["pending"], 2);
        assert_eq!(v["end"]["running"], 1);
        assert_eq!(v["oldest_pending"], serde_json::Value::Null);
        assert_eq!(v["project"], serde_json::Value::Null);
    }
}
