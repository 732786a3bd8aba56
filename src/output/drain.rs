//! The text form of `jobq drain`'s report: one line saying drained, timed
//! out or stalled (and why), then the oldest pending job when there is one.

use std::fmt::Write;
use std::time::Duration;

use super::{Render, Style};
use crate::report::drain::{DrainReport, Reason};

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
