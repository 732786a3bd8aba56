//! Text form of the admin verbs' report (`delete`, `retry`, `prune`,
//! `restore`), and the plan shown on
//! stderr before the prompt.

use std::fmt::Write;

use comfy_table::Cell;

use super::{Render, Style, Ui};
use crate::report::admin::{AdminReport, Outcome, MAX_ROWS};

/// Rows shown in the table (JSON has them all).
const SHOWN: usize = 50;

impl Render for AdminReport {
    fn command(&self) -> &'static str {
        self.verb
    }

    fn text(&self, style: &Style) -> String {
        let mut s = String::new();
        let mut t = style.table(&["job_id", "key", "status", "outcome", "reason"]);
        for row in self.jobs.iter().take(SHOWN) {
            let word = word(self.verb, row.outcome);
            let cell = match row.outcome {
                Outcome::Applied => style.good_cell(word),
                Outcome::Planned => Cell::new(word),
                _ => style.bad_cell(word),
            };
            t.add_row(vec![
                Cell::new(&row.job_id),
                Cell::new(row.key.as_ref().map(|k| k.to_string()).unwrap_or_default()),
                Cell::new(row.status.as_deref().unwrap_or("")),
                cell,
                Cell::new(row.reason.as_deref().unwrap_or("")),
            ]);
        }
        let _ = writeln!(s, "{t}");
        // JSON lists up to MAX_ROWS of them; the counts below cover all.
        let more = self.jobs.len().saturating_sub(SHOWN) as u64 + self.jobs_not_listed;
        if more > 0 {
            let _ = writeln!(
                s,
                "  ... {more} more rows (--json lists the first {MAX_ROWS})"
            );
        }
        let counts: Vec<String> = Outcome::ALL
            .iter()
            .filter(|o| self.count(**o) > 0)
            .map(|o| format!("{} {}", self.count(*o), word(self.verb, *o)))
            .collect();
        let head = if self.dry_run {
            "dry run, nothing written: "
        } else if self.declined {
            "declined, nothing written: "
        } else if self.interrupted {
            "interrupted: "
        } else {
            ""
        };
        let counts = if counts.is_empty() {
            "nothing to do".to_owned()
        } else {
            counts.join(", ")
        };
        let _ = writeln!(s, "{head}{counts}");
        if let Some(b) = &self.backup {
            match self.backup_records {
                Some(n) => {
                    let _ = writeln!(s, "backup: {b} ({n} records)");
                }
                None => {
                    let _ = writeln!(s, "backup: {b}");
                }
            }
        }
        if let Some(run) = &self.run_id {
            let _ = writeln!(s, "run id: {run} (see the audit stream)");
        }
        s
    }
}

/// An outcome in the verb's own words: `deleted`, `would delete`.
fn word(verb: &str, o: Outcome) -> String {
    let done = match verb {
        "delete" => "deleted",
        "retry" => "retried",
        "prune" => "pruned",
        "restore" => "restored",
        other => other,
    };
    match o {
        Outcome::Applied => done.to_owned(),
        Outcome::Planned => format!("would be {done}"),
        Outcome::NotFound => "not found".to_owned(),
        Outcome::NotRun => "not run".to_owned(),
        other => other.name().to_owned(),
    }
}

impl Ui {
    /// The plan, on stderr, before the prompt asks about it (unless `-q`).
    pub fn show_admin_plan(&self, report: &AdminReport) {
        if self.settings.quiet {
            return;
        }
        eprint!("{}", report.text(&self.err_style()));
    }
}
