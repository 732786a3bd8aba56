use std::fmt::Write;

use comfy_table::Cell;

use super::{Render, Style, Ui};
use crate::bytes::escape_bytes;
use crate::plan::Plan;
use crate::report::reindex::ReindexReport;

/// Rows of the action table shown, before "... N more".
const SHOWN: usize = 30;

impl Render for ReindexReport {
    fn command(&self) -> &'static str {
        "reindex"
    }

    fn text(&self, style: &Style) -> String {
        let mut s = String::new();
        let unconfirmed = self.unconfirmed.as_ref().map_or(0, |u| u.count);
        if unconfirmed > 0 {
            let _ = writeln!(
                s,
                "{}",
                style.warn(format!("{unconfirmed} job(s) unconfirmed: a set their diagnosis depends on cannot be read, so nothing is planned for them (jobq orphans scan lists them)"))
            );
        }
        if self.actions.is_empty() && unconfirmed > 0 {
            let _ = writeln!(s, "Nothing jobq can repair until that set is fixed.");
        } else if self.actions.is_empty() {
            let _ = writeln!(s, "{}", style.good("Nothing to repair."));
        } else {
            let mut t = style.table(&["kind", "job_id", "action", "outcome"]);
            for a in self.actions.iter().take(SHOWN) {
                let outcome = match (&a.outcome[..], &a.reason) {
                    ("applied", _) => style.good_cell("applied"),
                    ("already_applied", _) => style.good_cell("already applied"),
                    ("planned", _) => Cell::new("planned"),
                    (o, Some(r)) => style.warn_cell(format!("{o}: {r}")),
                    (o, None) => style.warn_cell(o),
                };
                t.add_row(vec![
                    Cell::new(a.kind.name()),
                    Cell::new(
                        a.job_id
                            .clone()
                            .unwrap_or_else(|| escape_bytes(a.key.as_slice())),
                    ),
                    Cell::new(&a.description),
                    outcome,
                ]);
            }
            let _ = writeln!(s, "{t}");
            if self.actions.len() > SHOWN {
                let _ = writeln!(
                    s,
                    "  ... {} more (--json shows all)",
                    self.actions.len() - SHOWN
                );
            }
        }
        for n in &self.needs_policy {
            let _ = writeln!(
                s,
                "{} {} {}: {}",
                style.warn("needs a policy:"),
                n.kind.name(),
                escape_bytes(n.key.as_slice()),
                n.reason
            );
        }
        for n in &self.untouched {
            let _ = writeln!(
                s,
                "{} {} {}: {}",
                style.warn("not touched:"),
                n.kind.name(),
                escape_bytes(n.key.as_slice()),
                n.reason
            );
        }
        if self.dry_run {
            let _ = writeln!(
                s,
                "\nDry run: {} action(s) planned, nothing written.",
                self.actions.len()
            );
        } else if self.declined {
            let _ = writeln!(s, "\nDeclined: nothing written.");
        } else if !self.actions.is_empty() {
            let already = if self.already_applied > 0 {
                format!(", {} already applied", self.already_applied)
            } else {
                String::new()
            };
            let _ = writeln!(
                s,
                "\n{} applied{already}, {} skipped (state changed), {} failed, {} unknown in {:.2}s.",
                self.applied, self.skipped, self.failed, self.unknown, self.elapsed_seconds
            );
            if self.interrupted {
                let _ = writeln!(
                    s,
                    "{} {} repair(s) not run; run again to finish.",
                    style.warn("interrupted:"),
                    self.not_run
                );
            }
            if let Some(run) = &self.run_id {
                let _ = writeln!(s, "Run {run}: every change is in the audit stream.");
            }
        }
        s
    }
}

impl Ui {
    /// The plan, on stderr, before asking to apply it.
    pub fn show_plan(&self, plan: &Plan) {
        if self.settings.quiet {
            return;
        }
        let style = self.err_style();
        let mut t = style.table(&["kind", "job_id", "action"]);
        for a in plan.actions.iter().take(SHOWN) {
            t.add_row(vec![
                a.kind.name().to_owned(),
                a.job_id
                    .clone()
                    .unwrap_or_else(|| escape_bytes(a.key.as_slice())),
                a.description.clone(),
            ]);
        }
        eprintln!("{t}");
        if plan.actions.len() > SHOWN {
            eprintln!("  ... {} more", plan.actions.len() - SHOWN);
        }
    }
}
