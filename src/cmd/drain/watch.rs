//! The decisions of the drain loop, as a pure state machine fed with
//! observations: when the queue counts as drained (two empty reads at least
//! `--settle` apart, with no failed or non-empty read between), stalled,
//! timed out, or given up on because Redis stopped answering; how long to
//! wait before the next read; how many jobs were seen and finished.
//!
//! Time is a `Duration` since the start, so the tests need no clock. Must
//! not: do I/O.

use std::cmp::{max, min};
use std::time::Duration;

/// The first wait between reads, and the wait again after a change.
pub const MIN_INTERVAL: Duration = Duration::from_millis(50);
/// The longest wait between reads of an unchanging queue.
pub const MAX_INTERVAL: Duration = Duration::from_secs(1);
/// Wait at least this many times as long as the last read took, so that a
/// slow read (a large project walk) keeps Redis busy a fifth of the time at
/// most.
const READ_COST_FACTOR: u32 = 4;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DrainLimits {
    pub settle: Duration,
    pub stall_timeout: Duration,
    pub timeout: Option<Duration>,
}

/// One read of the queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counts {
    pub pending: u64,
    pub running: u64,
    /// Jobs in any other status (completed, failed, ...), when the read
    /// could tell: it turns "net change" into jobs finished and arrived.
    pub done: Option<u64>,
}

impl Counts {
    pub fn active(&self) -> u64 {
        self.pending.saturating_add(self.running)
    }

    /// Whether two reads differ in what they both saw.
    fn differs(&self, other: &Counts) -> bool {
        let done_differs = matches!((self.done, other.done), (Some(a), Some(b)) if a != b);
        self.pending != other.pending || self.running != other.running || done_differs
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WatchOutcome {
    Drained,
    Timeout,
    Stalled,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// Read again after this long.
    Wait(Duration),
    Stop(WatchOutcome),
}

#[derive(Debug, Clone)]
pub struct Watch {
    policy: DrainLimits,
    first: Counts,
    last: Counts,
    /// End of the last read, if it and every read since the settle chain
    /// began were empty (a failed read breaks the chain).
    empty_since: Option<Duration>,
    /// Last time the counts changed.
    changed_at: Duration,
    /// Last time there was evidence of a worker: a change, or a job running.
    active_at: Duration,
    interval: Duration,
    seen: u64,
    finished: u64,
    /// When reads started failing, while they do.
    outage_since: Option<Duration>,
    failures: u32,
}

impl Watch {
    /// Start from the first read, which ended at `at`.
    pub fn new(policy: DrainLimits, first: Counts, at: Duration) -> Watch {
        Watch {
            policy,
            first,
            last: first,
            empty_since: None,
            changed_at: at,
            active_at: at,
            interval: MIN_INTERVAL,
            seen: first.active(),
            finished: 0,
            outage_since: None,
            failures: 0,
        }
    }

    pub fn policy(&self) -> DrainLimits {
        self.policy
    }

    pub fn first(&self) -> Counts {
        self.first
    }

    pub fn last(&self) -> Counts {
        self.last
    }

    /// Jobs seen pending or running since the start: the first read's
    /// count plus every arrival since (an estimate from counts: a job that
    /// arrived and finished between two reads is not seen).
    pub fn seen(&self) -> u64 {
        self.seen
    }

    /// Jobs seen that are no longer pending or running.
    pub fn finished(&self) -> u64 {
        self.finished
    }

    pub fn in_outage(&self) -> bool {
        self.outage_since.is_some()
    }

    /// Jobs are running but nothing changed for the stall timeout: their
    /// workers may be dead (not a stall: something claims to work).
    pub fn running_unchanged(&self, at: Duration) -> bool {
        self.last.running > 0 && at.saturating_sub(self.changed_at) >= self.policy.stall_timeout
    }

    /// What to do after the first read (taken at startup).
    pub fn start(&mut self, start: Duration, end: Duration) -> Next {
        self.decide(start, end)
    }

    /// A read that started at `start` and ended at `end` saw `counts`.
    pub fn observe(&mut self, start: Duration, end: Duration, counts: Counts) -> Next {
        let prev = self.last;
        let d_active = counts.active() as i128 - prev.active() as i128;
        let d_done = match (prev.done, counts.done) {
            (Some(a), Some(b)) => b as i128 - a as i128,
            _ => 0,
        };
        // A drop in active jobs is at least that many finished; the done
        // count may say more (jobs that arrived and finished in between)
        // or less (finished jobs deleted by the application).
        let finished = max(max(d_done, -d_active), 0);
        let arrived = finished + d_active;
        self.finished = self.finished.saturating_add(finished as u64);
        self.seen = self.seen.saturating_add(arrived.max(0) as u64);
        let changed = counts.differs(&prev);
        self.last = counts;
        if changed {
            self.changed_at = end;
            self.interval = MIN_INTERVAL;
        } else {
            self.interval = min(self.interval * 2, MAX_INTERVAL);
        }
        if self.outage_since.take().is_some() {
            // Time without answers is no evidence that nobody works.
            self.changed_at = end;
            self.active_at = end;
            self.failures = 0;
        }
        if changed || counts.running > 0 || counts.pending == 0 {
            self.active_at = end;
        }
        self.interval = max(self.interval, end.saturating_sub(start) * READ_COST_FACTOR);
        self.decide(start, end)
    }

    fn decide(&mut self, start: Duration, end: Duration) -> Next {
        let counts = self.last;
        let p = &self.policy;
        let mut wait = self.interval;
        if counts.active() == 0 {
            match self.empty_since {
                Some(since) if start.saturating_sub(since) >= p.settle => {
                    return Next::Stop(WatchOutcome::Drained);
                }
                Some(since) => wait = p.settle - start.saturating_sub(since),
                None => {
                    self.empty_since = Some(end);
                    wait = p.settle;
                }
            }
        } else {
            self.empty_since = None;
        }
        if counts.pending > 0 && counts.running == 0 {
            let quiet = end.saturating_sub(self.active_at);
            if quiet >= p.stall_timeout {
                return Next::Stop(WatchOutcome::Stalled);
            }
            wait = min(wait, p.stall_timeout - quiet);
        }
        if let Some(t) = p.timeout {
            if end >= t {
                return Next::Stop(WatchOutcome::Timeout);
            }
            wait = min(wait, t - end);
        }
        Next::Wait(wait)
    }

    /// A read failed at `at` because Redis did not answer. Some(wait) to
    /// retry after; None to give up: at the timeout, or without one after
    /// the stall timeout of failures.
    pub fn failed(&mut self, at: Duration) -> Option<Duration> {
        self.empty_since = None;
        let since = *self.outage_since.get_or_insert(at);
        let give_up_at = match self.policy.timeout {
            Some(t) => t,
            None => since + self.policy.stall_timeout,
        };
        if at >= give_up_at {
            return None;
        }
        let wait = crate::store::backoff(self.failures);
        self.failures = self.failures.saturating_add(1);
        Some(min(wait, give_up_at - at))
    }

    /// How long reads have been failing, at `at`.
    pub fn outage(&self, at: Duration) -> Option<Duration> {
        self.outage_since.map(|s| at.saturating_sub(s))
    }
}

/// The largest set SINTERCARD may iterate. It walks the smaller of its two
/// sets server-side in one step, so this bounds that step like one SSCAN
/// page with its SMISMEMBER.
pub const EXACT_LIMIT: u64 = 1000;

/// How to count one project's pending and running jobs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Walk {
    /// Nothing is pending or running anywhere, or the project is empty.
    None,
    /// Every intersection has a small side: SINTERCARD each in one
    /// MULTI/EXEC, exact and atomic (a job moving between two statuses is
    /// counted once). `done`: the other statuses' intersections too.
    Exact { done: bool },
    /// Walk the project index, checking the status indexes.
    Project,
    /// Walk the pending and running indexes, checking the project index.
    Statuses,
}

/// Pick the cheapest way, from the sizes of the project index and of the
/// pending, running and other status indexes. A walk is the fallback for
/// large intersections, and for servers without SINTERCARD (before 7.0, or
/// with it renamed away: `exact` false): bounded steps, but not a snapshot.
pub fn pick_walk(project: u64, pending: u64, running: u64, others: &[u64], exact: bool) -> Walk {
    let small = |n: u64| project.min(n) <= EXACT_LIMIT;
    let active = pending.saturating_add(running);
    if active == 0 || project == 0 {
        Walk::None
    } else if exact && small(pending) && small(running) {
        Walk::Exact {
            done: others.iter().all(|&n| small(n)),
        }
    } else if project <= active {
        Walk::Project
    } else {
        Walk::Statuses
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn c(pending: u64, running: u64) -> Counts {
        Counts {
            pending,
            running,
            done: None,
        }
    }

    fn policy() -> DrainLimits {
        DrainLimits {
            settle: ms(200),
            stall_timeout: ms(60_000),
            timeout: None,
        }
    }

    /// Feed instantaneous reads at the times the watch asks for.
    fn run(w: &mut Watch, mut at: Duration, reads: &[Counts]) -> (Next, Duration) {
        let mut next = Next::Wait(Duration::ZERO);
        for r in reads {
            next = w.observe(at, at, *r);
            match next {
                Next::Wait(d) => at += d,
                Next::Stop(_) => break,
            }
        }
        (next, at)
    }

    #[test]
    fn two_empty_reads_a_settle_apart_drain() {
        let mut w = Watch::new(policy(), c(0, 0), ms(0));
        assert_eq!(w.start(ms(0), ms(0)), Next::Wait(ms(200)));
        assert_eq!(
            w.observe(ms(200), ms(201), c(0, 0)),
            Next::Stop(WatchOutcome::Drained)
        );
    }

    #[test]
    fn an_early_second_read_does_not_confirm() {
        let mut w = Watch::new(policy(), c(0, 0), ms(10));
        w.start(ms(0), ms(10));
        // Started 150 ms after the first empty read ended: wait the rest.
        assert_eq!(w.observe(ms(160), ms(170), c(0, 0)), Next::Wait(ms(50)));
        assert_eq!(
            w.observe(ms(210), ms(215), c(0, 0)),
            Next::Stop(WatchOutcome::Drained)
        );
    }

    #[test]
    fn a_job_seen_during_the_settle_window_restarts_it() {
        let mut w = Watch::new(policy(), c(1, 0), ms(0));
        assert_eq!(w.start(ms(0), ms(0)), Next::Wait(MIN_INTERVAL));
        assert_eq!(w.observe(ms(50), ms(50), c(0, 0)), Next::Wait(ms(200)));
        // The confirming read sees a new job: not drained.
        assert_eq!(
            w.observe(ms(250), ms(250), c(1, 0)),
            Next::Wait(MIN_INTERVAL)
        );
        // Empty again: a whole new settle window is needed.
        assert_eq!(w.observe(ms(300), ms(300), c(0, 0)), Next::Wait(ms(200)));
        assert_eq!(
            w.observe(ms(500), ms(500), c(0, 0)),
            Next::Stop(WatchOutcome::Drained)
        );
        assert_eq!(w.seen(), 2);
        assert_eq!(w.finished(), 2);
    }

    #[test]
    fn a_failed_read_breaks_the_settle_chain() {
        let mut w = Watch::new(policy(), c(0, 0), ms(0));
        w.start(ms(0), ms(0));
        assert!(w.failed(ms(200)).is_some());
        assert!(w.in_outage());
        assert_eq!(w.observe(ms(300), ms(300), c(0, 0)), Next::Wait(ms(200)));
        assert!(!w.in_outage());
        assert_eq!(
            w.observe(ms(500), ms(500), c(0, 0)),
            Next::Stop(WatchOutcome::Drained)
        );
    }

    #[test]
    fn zero_settle_still_needs_two_reads() {
        let p = DrainLimits {
            settle: Duration::ZERO,
            ..policy()
        };
        let mut w = Watch::new(p, c(0, 0), ms(0));
        assert_eq!(w.start(ms(0), ms(0)), Next::Wait(Duration::ZERO));
        assert_eq!(
            w.observe(ms(0), ms(1), c(0, 0)),
            Next::Stop(WatchOutcome::Drained)
        );
    }

    #[test]
    fn backoff_grows_to_a_second_and_resets_on_change() {
        let mut w = Watch::new(policy(), c(1, 1), ms(0));
        w.start(ms(0), ms(0));
        let mut waits = Vec::new();
        let mut at = ms(0);
        for _ in 0..8 {
            match w.observe(at, at, c(1, 1)) {
                Next::Wait(d) => {
                    waits.push(d.as_millis());
                    at += d;
                }
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(waits, [100, 200, 400, 800, 1000, 1000, 1000, 1000]);
        assert_eq!(w.observe(at, at, c(0, 1)), Next::Wait(MIN_INTERVAL));
    }

    #[test]
    fn slow_reads_slow_the_polling() {
        let mut w = Watch::new(policy(), c(1, 1), ms(0));
        w.start(ms(0), ms(0));
        // A 2 s walk: wait at least 8 s before the next.
        assert_eq!(w.observe(ms(0), ms(2000), c(1, 1)), Next::Wait(ms(8000)));
    }

    #[test]
    fn pending_with_nothing_running_stalls() {
        let p = DrainLimits {
            stall_timeout: ms(1000),
            ..policy()
        };
        let mut w = Watch::new(p, c(3, 0), ms(0));
        assert_eq!(w.start(ms(0), ms(0)), Next::Wait(MIN_INTERVAL));
        let (next, at) = run(&mut w, ms(50), &[c(3, 0); 20]);
        assert_eq!(next, Next::Stop(WatchOutcome::Stalled));
        assert_eq!(
            at,
            ms(1000),
            "asks for a read exactly at the stall deadline"
        );
    }

    #[test]
    fn a_running_job_or_a_change_is_not_a_stall() {
        let p = DrainLimits {
            stall_timeout: ms(1000),
            timeout: Some(ms(5000)),
            ..policy()
        };
        let mut w = Watch::new(p, c(3, 1), ms(0));
        w.start(ms(0), ms(0));
        let (next, at) = run(&mut w, ms(50), &[c(3, 1); 40]);
        assert_eq!(next, Next::Stop(WatchOutcome::Timeout));
        assert_eq!(at, ms(5000));
        assert!(w.running_unchanged(at));
        // Pending only, but it changes every 600 ms: someone works.
        let mut w = Watch::new(p, c(9, 0), ms(0));
        w.start(ms(0), ms(0));
        let mut at = ms(0);
        for pending in (4..9).rev() {
            at += ms(600);
            assert!(matches!(w.observe(at, at, c(pending, 0)), Next::Wait(_)));
        }
    }

    #[test]
    fn arrivals_without_workers_are_a_change() {
        // The brief's definition: "no change" for the stall timeout. A
        // producer that keeps adding jobs is a change; the timeout bounds it.
        let p = DrainLimits {
            stall_timeout: ms(1000),
            ..policy()
        };
        let mut w = Watch::new(p, c(1, 0), ms(0));
        w.start(ms(0), ms(0));
        for i in 1..10u64 {
            let at = ms(500 * i);
            assert!(matches!(w.observe(at, at, c(1 + i, 0)), Next::Wait(_)));
        }
    }

    #[test]
    fn timeout_is_a_hard_bound_even_while_settling() {
        let p = DrainLimits {
            settle: ms(5000),
            timeout: Some(ms(1000)),
            ..policy()
        };
        let mut w = Watch::new(p, c(0, 0), ms(900));
        assert_eq!(w.start(ms(900), ms(900)), Next::Wait(ms(100)));
        assert_eq!(
            w.observe(ms(1000), ms(1000), c(0, 0)),
            Next::Stop(WatchOutcome::Timeout)
        );
    }

    #[test]
    fn outage_gives_up_at_the_timeout_or_after_the_stall_timeout() {
        let p = DrainLimits {
            timeout: Some(ms(3000)),
            ..policy()
        };
        let mut w = Watch::new(p, c(1, 1), ms(0));
        assert_eq!(w.failed(ms(1000)), Some(ms(50)));
        assert_eq!(w.failed(ms(1050)), Some(ms(100)));
        assert_eq!(w.failed(ms(2990)), Some(ms(10)));
        assert_eq!(w.failed(ms(3000)), None);
        assert_eq!(w.outage(ms(3000)), Some(ms(2000)));

        let p = DrainLimits {
            stall_timeout: ms(2000),
            ..policy()
        };
        let mut w = Watch::new(p, c(1, 1), ms(0));
        assert!(w.failed(ms(10_000)).is_some());
        assert!(w.failed(ms(11_999)).is_some());
        assert_eq!(w.failed(ms(12_000)), None);
    }

    #[test]
    fn outage_is_not_evidence_of_a_stall() {
        let p = DrainLimits {
            stall_timeout: ms(1000),
            ..policy()
        };
        let mut w = Watch::new(p, c(2, 0), ms(0));
        w.start(ms(0), ms(0));
        assert!(w.failed(ms(100)).is_some());
        assert!(w.failed(ms(900)).is_some());
        // Back after 1.4 s with the same counts: the clock starts again.
        assert_eq!(w.observe(ms(1500), ms(1500), c(2, 0)), Next::Wait(ms(100)));
        assert_eq!(
            w.observe(ms(2500), ms(2500), c(2, 0)),
            Next::Stop(WatchOutcome::Stalled)
        );
    }

    #[test]
    fn done_counts_reveal_throughput_at_a_steady_level() {
        let done = |pending, d| Counts {
            pending,
            running: 2,
            done: Some(d),
        };
        let mut w = Watch::new(policy(), done(10, 100), ms(0));
        w.observe(ms(50), ms(50), done(10, 105)); // 5 finished, 5 arrived
        w.observe(ms(100), ms(100), done(7, 108)); // 3 finished
        w.observe(ms(150), ms(150), done(3, 109)); // 4 fewer, 1 counted: 4 finished
        assert_eq!(w.finished(), 12);
        assert_eq!(w.seen(), 17);
        assert_eq!(w.seen() - w.finished(), w.last().active());
    }

    #[test]
    fn walk_the_smaller_side() {
        // A small side anywhere: counted exactly, server-side.
        assert_eq!(
            pick_walk(1_000_000, 3, 1, &[999_000], true),
            Walk::Exact { done: false }
        );
        assert_eq!(
            pick_walk(10, 500_000, 0, &[20], true),
            Walk::Exact { done: true }
        );
        assert_eq!(
            pick_walk(1000, 5000, 5000, &[], true),
            Walk::Exact { done: true }
        );
        // Both sides large: walk the smaller.
        assert_eq!(pick_walk(1_000_000, 3000, 1, &[], true), Walk::Statuses);
        assert_eq!(pick_walk(2000, 1500, 1500, &[], true), Walk::Project);
        assert_eq!(pick_walk(2000, 0, 2000, &[], true), Walk::Project);
        assert_eq!(pick_walk(10, 0, 0, &[], true), Walk::None);
        assert_eq!(pick_walk(0, 3, 0, &[], true), Walk::None);
        // Without SINTERCARD (before 7.0): the walk, even for small sides.
        assert_eq!(pick_walk(10, 500_000, 0, &[20], false), Walk::Project);
        assert_eq!(pick_walk(1_000_000, 3, 1, &[], false), Walk::Statuses);
    }
}
