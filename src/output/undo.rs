//! Text form of `jobq undo`'s and `jobq audit`'s reports.

use std::fmt::Write;

use comfy_table::Cell;

use super::{Render, Style};
use crate::report::admin::{Outcome, MAX_ROWS};
use crate::report::undo::{AuditReport, Trimmed, UndoReport};

/// Rows shown in a table (JSON has more).
const SHOWN: usize = 50;

/// Milliseconds since the epoch as RFC 3339, to the second.
fn when(ms: u64) -> String {
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms);
    humantime::format_rfc3339_seconds(t).to_string()
}

fn trimmed_line(s: &mut String, t: &Trimmed) {
    let _ = writeln!(s, "incomplete: {}", t.missing);
}

impl Render for UndoReport {
    fn command(&self) -> &'static str {
        "undo"
    }

    fn text(&self, style: &Style) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "undo of run {}{}",
            self.undoes,
            self.undoes_argv
                .as_deref()
                .map(|a| format!(": {a}"))
                .unwrap_or_default()
        );
        let mut t = style.table(&["entry", "action", "job_id", "key", "outcome", "reason"]);
        for row in self.changes.iter().take(SHOWN) {
            let word = word(row.outcome);
            let cell = match row.outcome {
                Outcome::Applied => style.good_cell(word),
                Outcome::Planned => Cell::new(word),
                _ => style.bad_cell(word),
            };
            t.add_row(vec![
                Cell::new(&row.entry),
                Cell::new(&row.action),
                Cell::new(&row.job_id),
                Cell::new(&row.key),
                cell,
                Cell::new(row.reason.as_deref().unwrap_or("")),
            ]);
        }
        let _ = writeln!(s, "{t}");
        let more = self.changes.len().saturating_sub(SHOWN) as u64 + self.changes_not_listed;
        if more > 0 {
            let _ = writeln!(
                s,
                "  ... {more} more rows (--json lists the first {MAX_ROWS})"
            );
        }
        if let Some(tr) = &self.trimmed {
            trimmed_line(&mut s, tr);
        }
        let counts: Vec<String> = Outcome::ALL
            .iter()
            .filter(|o| self.count(**o) > 0)
            .map(|o| format!("{} {}", self.count(*o), word(*o)))
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
            "nothing to undo".to_owned()
        } else {
            counts.join(", ")
        };
        let _ = writeln!(s, "{head}{counts}");
        if let Some(run) = &self.run_id {
            let _ = writeln!(s, "run id: {run} (jobq undo {run} redoes it)");
        }
        s
    }
}

fn word(o: Outcome) -> String {
    match o {
        Outcome::Applied => "undone".to_owned(),
        Outcome::Planned => "would be undone".to_owned(),
        Outcome::NotRun => "not run".to_owned(),
        Outcome::NotFound => "not found".to_owned(),
        other => other.name().to_owned(),
    }
}

impl Render for AuditReport {
    fn command(&self) -> &'static str {
        "audit"
    }

    fn text(&self, style: &Style) -> String {
        let mut s = String::new();
        if self.view == "runs" {
            let mut t = style.table(&["run_id", "time", "command", "host", "changes", "actions"]);
            for r in &self.runs {
                let actions: Vec<String> =
                    r.actions.iter().map(|(a, n)| format!("{a} {n}")).collect();
                let command = r.argv.clone().unwrap_or_else(|| r.command.clone());
                t.add_row(vec![
                    Cell::new(&r.run_id),
                    Cell::new(when(r.time_ms)),
                    Cell::new(command),
                    Cell::new(&r.host),
                    Cell::new(r.changes),
                    Cell::new(actions.join(", ")),
                ]);
            }
            if self.runs.is_empty() {
                let _ = writeln!(s, "no runs in the audit stream");
            } else {
                let _ = writeln!(s, "{t}");
            }
            if self.more_runs {
                let _ = writeln!(s, "  ... older runs not listed (--limit)");
            }
        } else {
            let mut t = style.table(&["entry", "time", "run", "action", "job_id", "key", "fields"]);
            for e in self.entries.iter().take(SHOWN) {
                t.add_row(vec![
                    Cell::new(&e.id),
                    Cell::new(when(e.time_ms)),
                    Cell::new(&e.run),
                    Cell::new(&e.action),
                    Cell::new(&e.job_id),
                    Cell::new(&e.key),
                    Cell::new(e.fields.len()),
                ]);
            }
            if self.entries.is_empty() {
                let _ = writeln!(s, "no entries");
            } else {
                let _ = writeln!(s, "{t}");
            }
            let more = self.entries.len().saturating_sub(SHOWN) as u64 + self.entries_not_listed;
            if more > 0 {
                let _ = writeln!(s, "  ... {more} more entries (--json, --limit)");
            }
        }
        if let Some(tr) = &self.trimmed {
            trimmed_line(&mut s, tr);
        }
        let _ = writeln!(
            s,
            "the stream holds {} entries{}",
            self.stream_length,
            self.oldest_entry
                .as_deref()
                .map(|id| {
                    let ms = id
                        .split('-')
                        .next()
                        .and_then(|m| m.parse().ok())
                        .unwrap_or(0);
                    format!(", the oldest from {}", when(ms))
                })
                .unwrap_or_default()
        );
        s
    }
}
