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
            let _ = writeln!(s, ") {}", o.key);
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
