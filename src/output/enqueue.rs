use std::fmt::Write;

use super::{Render, Style};
use crate::report::enqueue::EnqueueReport;

impl Render for EnqueueReport {
    fn command(&self) -> &'static str {
        "enqueue"
    }

    /// The job ids, one per line: what a script wants from `$(jobq enqueue)`.
    fn text(&self, _style: &Style) -> String {
        let mut s = String::with_capacity(self.jobs.len() * 33);
        for j in &self.jobs {
            let _ = writeln!(s, "{}", j.job_id);
        }
        s
    }
}
