use std::fmt::Write;

use comfy_table::Cell;

use super::{Render, Style, Ui};
use crate::bytes::escape_bytes;
use crate::report::reindex::{ActionResult, ReindexReport};

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
        let none = self.actions.is_empty() && self.not_listed.actions == 0;
        if none && unconfirmed > 0 {
            let _ = writeln!(s, "Nothing jobq can repair until that set is fixed.");
        } else if none {
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
            let more = self.actions.len().saturating_sub(SHOWN) as u64 + self.not_listed.actions;
            if more > 0 {
                let how = if self.not_listed.actions > 0 {
                    "--show all lists them, --report-out FILE writes every one"
                } else {
                    "--json shows all"
                };
                let _ = writeln!(s, "  ... {more} more ({how})");
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
        if self.not_listed.needs_policy > 0 {
            let _ = writeln!(
                s,
                "{} {} more (--show all lists them)",
                style.warn("needs a policy:"),
                self.not_listed.needs_policy
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
        if self.not_listed.untouched > 0 {
            let _ = writeln!(
                s,
                "{} {} more (--show all lists them)",
                style.warn("not touched:"),
                self.not_listed.untouched
            );
        }
        if self.dry_run {
            let planned: u64 = self.counts.values().map(|c| c.planned).sum();
            let _ = writeln!(
                s,
                "\nDry run: {planned} action(s) planned, nothing written."
            );
        } else if self.declined {
            let _ = writeln!(s, "\nDeclined: nothing written.");
        } else if !none {
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
    /// The first actions of the plan (as listed by `--show`) and how many
    /// there are in all.
    pub fn show_plan(&self, actions: &[ActionResult], total: u64) {
        if self.settings.quiet {
            return;
        }
        let style = self.err_style();
        let mut t = style.table(&["kind", "job_id", "action"]);
        for a in actions.iter().take(SHOWN) {
            t.add_row(vec![
                a.kind.name().to_owned(),
                a.job_id
                    .clone()
                    .unwrap_or_else(|| escape_bytes(a.key.as_slice())),
                a.description.clone(),
            ]);
        }
        eprintln!("{t}");
        let shown = actions.len().min(SHOWN) as u64;
        if total > shown {
            eprintln!("  ... {} more", total - shown);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::bytes::Bytes;
    use crate::diagnose::Kind;
    use crate::plan::Skip;
    use crate::report::reindex::{ActionResult, KindCounts};
    use crate::scan::{Scanned, Unconfirmed, UnconfirmedJob};

    const PLAIN: Style = Style { color: false };

    fn report(actions: Vec<ActionResult>) -> ReindexReport {
        let mut counts: BTreeMap<&'static str, KindCounts> = BTreeMap::new();
        for a in &actions {
            counts.entry(a.kind.name()).or_default().planned += 1;
        }
        ReindexReport {
            source: "scan".into(),
            dry_run: false,
            declined: false,
            counts,
            applied: 0,
            already_applied: 0,
            skipped: 0,
            failed: 0,
            unknown: 0,
            not_run: 0,
            interrupted: false,
            actions,
            needs_policy: vec![],
            untouched: vec![],
            not_listed: Default::default(),
            listed_at_most: Some(30),
            plan_out: None,
            report_out: None,
            scanned: None,
            unconfirmed: None,
            run_id: None,
            elapsed_seconds: 0.25,
            read_from: None,
        }
    }

    fn action(id: Option<&str>, key: &[u8], outcome: &str, reason: Option<&str>) -> ActionResult {
        ActionResult {
            kind: Kind::Orphan,
            job_id: id.map(str::to_owned),
            key: Bytes(key.to_vec()),
            description: "SADD $IndexF:RedisJob:status:pending".into(),
            outcome: outcome.into(),
            reason: reason.map(str::to_owned),
        }
    }

    fn row<'a>(text: &'a str, needle: &str) -> &'a str {
        text.lines()
            .find(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("no line with {needle:?} in:\n{text}"))
    }

    #[test]
    fn nothing_to_repair() {
        let text = report(vec![]).text(&PLAIN);
        assert_eq!(text, "Nothing to repair.\n");
    }

    #[test]
    fn unconfirmed_jobs_are_not_called_repaired() {
        let mut r = report(vec![]);
        r.unconfirmed = Some(Unconfirmed {
            count: 3,
            sample: vec![],
        });
        let text = r.text(&PLAIN);
        assert!(!text.contains("Nothing to repair."), "{text}");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines,
            [
                "3 job(s) unconfirmed: a set their diagnosis depends on cannot be read, so nothing is planned for them (jobq orphans scan lists them)",
                "Nothing jobq can repair until that set is fixed.",
            ]
        );
    }

    #[test]
    fn a_dry_run_says_nothing_was_written() {
        let mut r = report(vec![
            action(Some("j1"), b"RedisJob:j1:projA:pending", "planned", None),
            action(None, b"RedisJob:\xff:projA:pending", "planned", None),
        ]);
        r.dry_run = true;
        let text = r.text(&PLAIN);
        assert!(
            text.ends_with("\nDry run: 2 action(s) planned, nothing written.\n"),
            "{text}"
        );
        let header = text.lines().next().unwrap();
        for h in ["kind", "job_id", "action", "outcome"] {
            assert!(header.contains(h), "{header}");
        }
        let first = row(&text, "j1");
        assert!(first.trim_start().starts_with("orphan"), "{first}");
        assert!(
            first.contains("SADD $IndexF:RedisJob:status:pending"),
            "{first}"
        );
        assert!(first.trim_end().ends_with("planned"), "{first}");
        // Without a job_id the key stands in, escaped.
        row(&text, r"RedisJob:\xff:projA:pending");
        assert!(!text.contains("applied"), "{text}");
        assert!(!text.contains("Run "), "a dry run has no run id: {text}");
    }

    #[test]
    fn declined_says_nothing_was_written() {
        let mut r = report(vec![action(Some("j1"), b"k", "planned", None)]);
        r.declined = true;
        let text = r.text(&PLAIN);
        assert!(text.ends_with("\nDeclined: nothing written.\n"), "{text}");
        assert!(!text.contains("Run "), "{text}");
        assert!(!text.contains("applied,"), "{text}");
    }

    #[test]
    fn an_applied_run_counts_and_names_its_run() {
        let mut r = report(vec![
            action(Some("j1"), b"k1", "applied", None),
            action(Some("j2"), b"k2", "already_applied", None),
            action(Some("j3"), b"k3", "skipped", Some("field changed")),
            action(Some("j4"), b"k4", "failed", None),
        ]);
        r.applied = 1;
        r.already_applied = 1;
        r.skipped = 1;
        r.failed = 1;
        r.run_id = Some("run-42".into());
        let text = r.text(&PLAIN);
        assert!(row(&text, "j1").trim_end().ends_with("applied"));
        assert!(row(&text, "j2").trim_end().ends_with("already applied"));
        assert!(row(&text, "j3")
            .trim_end()
            .ends_with("skipped: field changed"));
        assert!(row(&text, "j4").trim_end().ends_with("failed"));
        assert!(
            text.contains(
                "\n1 applied, 1 already applied, 1 skipped (state changed), 1 failed, 0 unknown in 0.25s.\n"
            ),
            "{text}"
        );
        assert!(
            text.ends_with("Run run-42: every change is in the audit stream.\n"),
            "{text}"
        );
        assert!(!text.contains("interrupted"), "{text}");
        assert!(!text.contains('\u{1b}'), "colour off: {text:?}");
        let painted = r.text(&Style { color: true });
        assert!(painted.contains('\u{1b}'));
        assert_eq!(console::strip_ansi_codes(&painted), text);
    }

    #[test]
    fn an_interrupted_run_says_what_was_not_run() {
        let mut r = report(vec![
            action(Some("j1"), b"k1", "applied", None),
            action(Some("j2"), b"k2", "not_run", None),
        ]);
        r.applied = 1;
        r.not_run = 1;
        r.interrupted = true;
        r.run_id = Some("run-7".into());
        let text = r.text(&PLAIN);
        assert!(
            text.contains(
                "\n1 applied, 0 skipped (state changed), 0 failed, 0 unknown in 0.25s.\n"
            ),
            "no 'already applied' when there is none: {text}"
        );
        assert!(
            text.contains("\ninterrupted: 1 repair(s) not run; run again to finish.\n"),
            "{text}"
        );
        assert!(text.contains("Run run-7:"), "{text}");
    }

    #[test]
    fn skips_are_listed_with_their_reason() {
        let mut r = report(vec![]);
        r.needs_policy.push(Skip {
            kind: Kind::Duplicate,
            job_id: Some("j1".into()),
            key: Bytes(b"RedisJob:j1:\xfe:pending".to_vec()),
            reason: "pass --duplicates keep-newest".into(),
        });
        r.untouched.push(Skip {
            kind: Kind::Malformed,
            job_id: None,
            key: Bytes::from("junk"),
            reason: "never touched".into(),
        });
        let text = r.text(&PLAIN);
        assert!(
            text.contains(
                "\nneeds a policy: duplicate RedisJob:j1:\\xfe:pending: pass --duplicates keep-newest\n"
            ),
            "{text}"
        );
        assert!(
            text.contains("\nnot touched: malformed junk: never touched\n"),
            "{text}"
        );
    }

    #[test]
    fn a_long_plan_is_cut() {
        let actions = (0..SHOWN + 5)
            .map(|i| action(Some(&format!("job{i:03}")), b"k", "planned", None))
            .collect();
        let mut r = report(actions);
        r.dry_run = true;
        let text = r.text(&PLAIN);
        assert!(text.contains(&format!("job{:03}", SHOWN - 1)));
        assert!(!text.contains(&format!("job{SHOWN:03}")), "{text}");
        assert!(
            text.contains("\n  ... 5 more (--json shows all)\n"),
            "{text}"
        );
        assert!(text.contains("Dry run: 35 action(s) planned"), "{text}");
    }

    #[test]
    fn a_huge_key_is_shown_bounded() {
        let key = vec![0xffu8; 100_000];
        let r = report(vec![action(None, &key, "planned", None)]);
        let text = r.text(&PLAIN);
        assert!(text.len() < 4_000, "{} bytes", text.len());
        assert!(text.contains("… <100000 bytes>"), "{text}");
    }

    #[test]
    fn json_has_the_documented_fields() {
        let mut r = report(vec![action(None, b"\xffk", "skipped", Some("gone"))]);
        assert_eq!(r.command(), "reindex");
        let v = serde_json::to_value(&r).unwrap();
        let mut fields: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        fields.sort_unstable();
        assert_eq!(
            fields,
            [
                "actions",
                "already_applied",
                "applied",
                "counts",
                "declined",
                "dry_run",
                "elapsed_seconds",
                "failed",
                "interrupted",
                "listed_at_most",
                "needs_policy",
                "not_listed",
                "not_run",
                "run_id",
                "skipped",
                "source",
                "unknown",
                "untouched",
            ],
            "scanned and unconfirmed only when there was a scan"
        );
        assert_eq!(v["run_id"], serde_json::Value::Null);
        assert_eq!(v["actions"][0]["kind"], "orphan");
        assert_eq!(v["actions"][0]["key"]["hex"], "ff6b");
        assert_eq!(v["actions"][0]["outcome"], "skipped");
        assert_eq!(v["actions"][0]["reason"], "gone");
        let mut kc: Vec<&str> = v["counts"]["orphan"]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        kc.sort_unstable();
        assert_eq!(
            kc,
            [
                "already_applied",
                "applied",
                "failed",
                "needs_policy",
                "not_run",
                "planned",
                "skipped",
                "unknown",
                "untouched"
            ]
        );
        r.scanned = Some(Scanned::default());
        r.unconfirmed = Some(Unconfirmed {
            count: 1,
            sample: vec![UnconfirmedJob {
                key: Bytes::from("k"),
                why: "w".into(),
            }],
        });
        r.actions[0].reason = None;
        let v = serde_json::to_value(&r).unwrap();
        assert!(v.get("scanned").is_some());
        assert_eq!(v["unconfirmed"]["sample"][0]["why"], "w");
        assert!(
            v["actions"][0].get("reason").is_none(),
            "no reason, no field"
        );
    }
}
