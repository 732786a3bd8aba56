//! What a reindex run did, counted as it goes: every count exact, the
//! first `--show` outcomes kept for the report, and every one written to
//! `--report-out` as it is known. Nothing here grows with the findings.
//!
//! Owns: [`Tally`]. Must not: talk to Redis or print.

use std::collections::BTreeMap;

use anyhow::Result;

use crate::diagnose::Kind;
use crate::jsonl::JsonLines;
use crate::plan::{Action, Skip};
use crate::report::reindex::{ActionLine, ActionResult, KindCounts, NotListed, ReindexReport};
use crate::report::Listed;
use crate::store::repair::RepairOutcome as Outcome;

pub(super) struct Tally {
    pub(super) counts: BTreeMap<&'static str, KindCounts>,
    pub(super) planned: u64,
    pub(super) applied: u64,
    pub(super) already_applied: u64,
    pub(super) skipped: u64,
    pub(super) failed: u64,
    pub(super) unknown: u64,
    pub(super) not_run: u64,
    pub(super) needs_policy_total: u64,
    pub(super) actions: Listed<ActionResult>,
    pub(super) needs_policy: Listed<Skip>,
    pub(super) untouched: Listed<Skip>,
    /// `--report-out`, while open.
    pub(super) out: Option<JsonLines>,
}

impl Tally {
    pub(super) fn new(show: Option<usize>, out: Option<JsonLines>) -> Tally {
        Tally {
            counts: Kind::ALL
                .iter()
                .map(|k| (k.name(), KindCounts::default()))
                .collect(),
            planned: 0,
            applied: 0,
            already_applied: 0,
            skipped: 0,
            failed: 0,
            unknown: 0,
            not_run: 0,
            needs_policy_total: 0,
            actions: Listed::new(show),
            needs_policy: Listed::new(show),
            untouched: Listed::new(show),
            out,
        }
    }

    fn entry(&mut self, kind: Kind) -> &mut KindCounts {
        self.counts.entry(kind.name()).or_default()
    }

    fn write(&mut self, line: &ActionLine<'_>) -> Result<()> {
        match &mut self.out {
            Some(out) => out.push(line),
            None => Ok(()),
        }
    }

    /// Write what was gathered for `--report-out` (once a window).
    pub(super) fn flush(&mut self) -> Result<()> {
        match &mut self.out {
            Some(out) => out.flush(),
            None => Ok(()),
        }
    }

    pub(super) fn planned(&mut self, a: &Action) {
        self.planned += 1;
        self.entry(a.kind).planned += 1;
    }

    pub(super) fn needs_policy(&mut self, s: Skip) -> Result<()> {
        self.needs_policy_total += 1;
        self.entry(s.kind).needs_policy += 1;
        self.write(&ActionLine::NeedsPolicy(&s))?;
        self.needs_policy.push(s);
        Ok(())
    }

    pub(super) fn untouched(&mut self, s: Skip) -> Result<()> {
        self.entry(s.kind).untouched += 1;
        self.write(&ActionLine::Untouched(&s))?;
        self.untouched.push(s);
        Ok(())
    }

    fn result(&mut self, a: &Action, outcome: &str, reason: Option<String>) -> Result<()> {
        let r = ActionResult {
            kind: a.kind,
            job_id: a.job_id.clone(),
            key: a.key.clone(),
            description: a.description.clone(),
            outcome: outcome.into(),
            reason,
        };
        self.write(&ActionLine::Action(&r))?;
        self.actions.push(r);
        Ok(())
    }

    /// A step shown, not run (a dry run, or declined).
    pub(super) fn listed_as_planned(&mut self, a: &Action) -> Result<()> {
        self.result(a, "planned", None)
    }

    /// A step that was never sent: Ctrl-C came first.
    pub(super) fn not_run(&mut self, a: &Action) -> Result<()> {
        self.not_run += 1;
        self.entry(a.kind).not_run += 1;
        self.result(a, "not_run", Some("interrupted before it was sent".into()))
    }

    pub(super) fn outcome(&mut self, a: &Action, o: Outcome) -> Result<()> {
        let (name, reason) = match o {
            Outcome::Applied => {
                self.applied += 1;
                self.entry(a.kind).applied += 1;
                ("applied", None)
            }
            Outcome::AlreadyApplied(r) => {
                self.already_applied += 1;
                self.entry(a.kind).already_applied += 1;
                ("already_applied", Some(r))
            }
            Outcome::Skipped(r) => {
                self.skipped += 1;
                self.entry(a.kind).skipped += 1;
                ("skipped", Some(r))
            }
            Outcome::Failed(r) | Outcome::Refused(r) => {
                self.failed += 1;
                self.entry(a.kind).failed += 1;
                ("failed", Some(r))
            }
            Outcome::Unknown(r) => {
                self.unknown += 1;
                self.entry(a.kind).unknown += 1;
                ("unknown", Some(r))
            }
            Outcome::NotAttempted => {
                self.unknown += 1;
                self.entry(a.kind).unknown += 1;
                (
                    "not_attempted",
                    Some(
                        "not run: an earlier step's outcome was unknown, or Redis refused one"
                            .into(),
                    ),
                )
            }
        };
        self.result(a, name, reason)
    }

    /// Close `--report-out`: `None` when the run finished, else why not.
    pub(super) fn close(&mut self, stopped: Option<&str>) -> Result<()> {
        let Some(out) = self.out.take() else {
            return Ok(());
        };
        out.finish(&serde_json::json!({"end": {
            "complete": stopped.is_none(),
            "reason": stopped,
            "planned": self.planned,
            "applied": self.applied,
            "already_applied": self.already_applied,
            "skipped": self.skipped,
            "failed": self.failed,
            "unknown": self.unknown,
            "not_run": self.not_run,
            "counts": self.counts,
        }}))
    }

    /// The report's lists and counts; the caller fills in the rest.
    pub(super) fn into_report(self, source: String, show: Option<usize>) -> ReindexReport {
        ReindexReport {
            source,
            dry_run: false,
            declined: false,
            counts: self.counts,
            applied: self.applied,
            already_applied: self.already_applied,
            skipped: self.skipped,
            failed: self.failed,
            unknown: self.unknown,
            not_run: self.not_run,
            interrupted: false,
            not_listed: NotListed {
                actions: self.actions.not_listed,
                needs_policy: self.needs_policy.not_listed,
                untouched: self.untouched.not_listed,
            },
            listed_at_most: show,
            actions: self.actions.items,
            needs_policy: self.needs_policy.items,
            untouched: self.untouched.items,
            plan_out: None,
            report_out: None,
            scanned: None,
            unconfirmed: None,
            run_id: None,
            elapsed_seconds: 0.0,
            read_from: None,
        }
    }
}
