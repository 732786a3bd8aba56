//! The reaper lock's lifecycle: take it (waiting with `--wait-lock`),
//! extend it between pages, and release it, recording the sweep's end when
//! the sweep was complete. The lock is one key with a TTL and a token
//! (host:pid:random), so a reaper that died frees it within [`LOCK_TTL`].
//!
//! Owns: when the lock is taken, extended and released, and what the report
//! says about it. Must not: print, or talk to Redis other than through
//! `store::reap`'s lock scripts.

use std::time::{Duration, Instant};

use anyhow::{anyhow, Result};

use super::Reaper;
use crate::bytes::Bytes;
use crate::cmd::interrupt::Interrupt;
use crate::output::Ui;
use crate::report::reap::{LockStatus, NotRun, Stop, SweepReport};
use crate::store::reap::LockAttempt;
use crate::store::{backoff, Store};

/// The lock outlives a reaper that died by this much at most.
const LOCK_TTL: Duration = Duration::from_secs(30);
/// A sweep extends its lock this often (between pages).
const LOCK_EXTEND_EVERY: Duration = Duration::from_secs(10);

/// The held lock: when it was last extended.
pub struct Lock {
    extended: Instant,
}

/// A sweep with the lock held (or in a dry run, without it): take it, walk,
/// release it.
pub async fn locked_sweep(
    reaper: &Reaper<'_>,
    store: &mut Store,
    rep: &mut SweepReport,
    intr: &Interrupt,
    ui: &Ui,
    t0: Instant,
) -> Result<()> {
    let mut lock = None;
    if !reaper.dry_run() {
        match acquire(reaper, store, rep, intr).await? {
            Some(l) => lock = Some(l),
            None => return Ok(()),
        }
    }
    let result = super::walk(reaper, store, rep, intr, ui, t0, lock.as_mut()).await;
    if lock.is_none() {
        return result;
    }
    // A sweep counts as done unless it was cut short by Ctrl-C or an error;
    // budgets (--max-jobs, --max-duration) end it normally.
    let complete =
        result.is_ok() && rep.ran && !matches!(rep.stopped, Some(Stop::Interrupted | Stop::Error));
    match release(reaper, store, complete).await {
        Ok(true) => {}
        Ok(false) if rep.lock.status == LockStatus::Lost => {}
        Ok(false) => {
            rep.lock.status = LockStatus::Lost;
            rep.errors.push(
                "the reaper lock expired during the sweep (Redis stalled?); another reaper may have run meanwhile"
                    .into(),
            );
        }
        // The sweep's own error says more; the lock expires by itself.
        Err(e) if result.is_err() => rep
            .errors
            .push(super::error_text(reaper, &e.context("releasing the lock"))),
        Err(e) => return Err(e.context("releasing the reaper lock")),
    }
    result
}

/// Release the lock, recording the sweep's end when it was complete;
/// whether it was still ours.
pub async fn release(reaper: &Reaper<'_>, store: &mut Store, complete: bool) -> Result<bool> {
    let finished = if complete {
        Some(store.server_time().await?)
    } else {
        None
    };
    store
        .lock_release(&reaper.lock_key, &reaper.last_key, &reaper.token, finished)
        .await
}

/// Take the lock, waiting for it with `--wait-lock`. None: not taken (held
/// by another reaper, or Ctrl-C while waiting), and the report says why.
pub async fn acquire(
    reaper: &Reaper<'_>,
    store: &mut Store,
    rep: &mut SweepReport,
    intr: &Interrupt,
) -> Result<Option<Lock>> {
    let ttl = LOCK_TTL.as_millis() as u64;
    let mut attempt = 0;
    loop {
        match store
            .lock_acquire(&reaper.lock_key, &reaper.token, ttl)
            .await?
        {
            LockAttempt::Acquired => {
                rep.lock.status = if attempt == 0 {
                    LockStatus::Acquired
                } else {
                    LockStatus::Waited
                };
                return Ok(Some(Lock {
                    extended: Instant::now(),
                }));
            }
            LockAttempt::Held { holder, ttl_ms } => {
                rep.lock.status = LockStatus::Held;
                rep.lock.holder = Some(Bytes(holder));
                rep.lock.holder_ttl_ms = Some(ttl_ms);
                if !reaper.rs.wait_lock {
                    rep.not_run = Some(NotRun::LockHeld);
                    return Ok(None);
                }
                if intr.sleep(backoff(attempt)).await {
                    rep.not_run = Some(NotRun::Interrupted);
                    return Ok(None);
                }
                attempt += 1;
            }
        }
    }
}

/// Extend the lock when due; an error if it was lost.
pub async fn keep(
    reaper: &Reaper<'_>,
    store: &mut Store,
    rep: &mut SweepReport,
    lock: Option<&mut Lock>,
) -> Result<()> {
    let Some(lock) = lock else { return Ok(()) };
    if lock.extended.elapsed() < LOCK_EXTEND_EVERY {
        return Ok(());
    }
    let ttl = LOCK_TTL.as_millis() as u64;
    if store
        .lock_extend(&reaper.lock_key, &reaper.token, ttl)
        .await?
    {
        lock.extended = Instant::now();
        Ok(())
    } else {
        rep.lock.status = LockStatus::Lost;
        Err(anyhow!(
            "lost the reaper lock mid-sweep (Redis stalled for over {} s?); stopped so that two reapers do not overlap",
            LOCK_TTL.as_secs()
        ))
    }
}
