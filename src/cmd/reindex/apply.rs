//! The guarded apply of a stream of actions: batches of steps sent as
//! pipelined scripts, a couple in flight so the server never waits for
//! this side, each batch's outcomes counted as they come back. Fed window
//! by window (by the streaming scan, or from a plan file); holds only the
//! batches in flight.
//!
//! A batch with no reply, or a refusal, stops the sending: the steps after
//! it are reported `not_attempted`, and a rerun re-reads the state. Ctrl-C
//! stops it between batches: the batches already sent are waited for, the
//! rest reported `not_run`.
//!
//! Owns: [`Applier`]. Must not: plan, or print.

use std::sync::Arc;

use anyhow::Result;

use super::tally::Tally;
use crate::cmd::interrupt::Interrupt;
use crate::plan::Action;
use crate::store::audit::Audit;
use crate::store::in_flight::InFlightQueue;
use crate::store::repair::{InFlightApply, RepairOutcome as Outcome};
use crate::store::Store;

/// Actions per pipelined batch.
pub(super) const APPLY_BATCH: usize = 200;

/// Batches sent before the oldest one's outcomes are waited for.
const APPLY_IN_FLIGHT: usize = 2;

pub(super) struct Applier<'a> {
    store: Store,
    pub(super) audit: Audit,
    status_field: String,
    intr: &'a Interrupt,
    in_flight: InFlightQueue<(Arc<Vec<Action>>, InFlightApply)>,
    /// An outcome was unknown: nothing more is sent.
    pub(super) stopped: bool,
    /// Redis refused a step (the first one's reason): nothing more is sent.
    pub(super) refused: Option<String>,
    /// Ctrl-C came: nothing more is sent.
    pub(super) interrupted: bool,
    /// Batches sent.
    pub(super) sent: u64,
}

impl<'a> Applier<'a> {
    pub(super) fn new(
        store: Store,
        audit: Audit,
        status_field: &str,
        intr: &'a Interrupt,
    ) -> Applier<'a> {
        Applier {
            store,
            audit,
            status_field: status_field.to_owned(),
            intr,
            in_flight: InFlightQueue::new(APPLY_IN_FLIGHT - 1),
            stopped: false,
            refused: None,
            interrupted: false,
            sent: 0,
        }
    }

    /// Send `actions` in batches; count the outcomes of those that come back.
    pub(super) async fn apply(&mut self, actions: Vec<Action>, tally: &mut Tally) -> Result<()> {
        let mut rest = actions.into_iter();
        loop {
            let batch: Vec<Action> = rest.by_ref().take(APPLY_BATCH).collect();
            if batch.is_empty() {
                break;
            }
            if self.stopped || self.refused.is_some() {
                for a in &batch {
                    tally.outcome(a, Outcome::NotAttempted)?;
                }
                continue;
            }
            // Checked between batches: each step is one atomic script, so
            // the batches already sent are applied whole, and waited for.
            if self.interrupted || self.intr.is_set() {
                if !self.interrupted {
                    // What was sent is counted before what was not.
                    self.interrupted = true;
                    self.finish(tally).await?;
                }
                for a in &batch {
                    tally.not_run(a)?;
                }
                continue;
            }
            let batch = Arc::new(batch);
            let n = batch.len();
            let request = self.store.apply_in_flight(
                Arc::clone(&batch),
                0..n,
                &self.audit,
                &self.status_field,
            );
            self.sent += 1;
            if let Some((done, request)) = self.in_flight.push((batch, request)) {
                let outcomes = request.outcomes().await?;
                self.settle(&done, outcomes, tally)?;
            }
        }
        tally.flush()
    }

    /// Wait for every batch still in flight.
    pub(super) async fn finish(&mut self, tally: &mut Tally) -> Result<()> {
        while let Some((done, request)) = self.in_flight.pop_oldest() {
            let outcomes = request.outcomes().await?;
            self.settle(&done, outcomes, tally)?;
        }
        tally.flush()
    }

    /// Count one batch's outcomes; note a refusal (the first one's reason)
    /// and an unknown outcome, either of which stops the sending.
    fn settle(
        &mut self,
        batch: &[Action],
        outcomes: Vec<Outcome>,
        tally: &mut Tally,
    ) -> Result<()> {
        for (a, o) in batch.iter().zip(outcomes) {
            match &o {
                Outcome::Refused(why) if self.refused.is_none() => self.refused = Some(why.clone()),
                // The outcome of what was sent is unknown: stop, and let a
                // rerun re-read the state rather than send anything twice.
                Outcome::Unknown(_) => self.stopped = true,
                _ => {}
            }
            tally.outcome(a, o)?;
        }
        Ok(())
    }
}
