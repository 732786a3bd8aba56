//! The windows of a streaming scan: candidates are gathered in an open
//! window, which is sealed when it is full; a sealed window waits until
//! `--grace` after its last candidate, is re-checked, and its confirmed
//! findings go to the [`Sink`] and are forgotten. So what the engine holds
//! is bounded by [`WINDOW`] and [`MAX_WAITING`], never by the findings.
//!
//! Owns: [`Windows`] (the bookkeeping) and the [`Sink`] contract. Must not:
//! talk to Redis (the walker re-checks a window) or print.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::hash::{Hash, Hasher};
use std::pin::Pin;
use std::time::{Duration, Instant};

use anyhow::Result;

use crate::diagnose::Finding;

/// Candidates per window: a window is re-checked in one go, and its
/// findings planned and applied in one go.
pub const WINDOW: usize = 2_000;

/// Candidates sealed and waiting for their re-check at most: past it the
/// walk pauses until the oldest window is due. With `--grace 2s` this lets
/// the scan confirm about 10k findings a second while holding at most
/// this many (a candidate with its observation is a few KB).
pub const MAX_WAITING: usize = 20_000;

/// Where the confirmed findings of a streaming scan go, one window at a
/// time, in the order the walk met them.
pub trait Sink {
    /// Take one window's confirmed findings. Returns the positions (in
    /// `findings`) of those left as they were (reported, or left for a
    /// policy, but not sent for repair): if the walk meets one of those
    /// keys again, it is not reported twice. An error stops the scan.
    fn take<'s>(
        &'s mut self,
        findings: Vec<Finding>,
    ) -> Pin<Box<dyn Future<Output = Result<Vec<usize>>> + 's>>;

    /// Whether the scan should stop now (Ctrl-C): asked between pages.
    fn stop(&self) -> bool {
        false
    }
}

/// A sink that only counts the findings of each kind (a metrics scrape).
#[derive(Default)]
pub struct CountKinds(pub std::collections::BTreeMap<&'static str, u64>);

impl CountKinds {
    /// Every kind, at 0.
    pub fn new() -> CountKinds {
        CountKinds(
            crate::diagnose::Kind::ALL
                .iter()
                .map(|k| (k.name(), 0))
                .collect(),
        )
    }
}

impl Sink for CountKinds {
    fn take<'s>(
        &'s mut self,
        findings: Vec<Finding>,
    ) -> Pin<Box<dyn Future<Output = Result<Vec<usize>>> + 's>> {
        let kept = (0..findings.len()).collect();
        for f in &findings {
            *self.0.entry(f.kind.name()).or_default() += 1;
        }
        Box::pin(std::future::ready(Ok(kept)))
    }
}

/// The scan stopped because the sink asked it to (Ctrl-C).
#[derive(Debug, thiserror::Error)]
#[error("the scan was stopped")]
pub struct Stopped;

/// Windows handed to the sink whose keys are still remembered: the
/// walks that meet one key (the class set, its indexes, the zset) meet it
/// within a few pages of each other, long before this many windows pass.
pub const RECENT_WINDOWS: usize = 4;

/// A sealed window: its candidates and when they may be re-checked.
pub(super) struct Sealed {
    pub(super) due: Instant,
    pub(super) candidates: HashMap<Vec<u8>, Finding>,
}

/// The open window, the sealed ones waiting, and the keys already reported.
#[derive(Default)]
pub(super) struct Windows {
    /// By key. Unordered: keys share long prefixes, which made an ordered
    /// map's comparisons a tenth of a damaged scan's CPU.
    pub(super) open: HashMap<Vec<u8>, Finding>,
    /// When the open window's last candidate was met.
    pub(super) last: Option<Instant>,
    pub(super) waiting: VecDeque<Sealed>,
    pub(super) waiting_len: usize,
    /// Fingerprints of the keys handed to the sink and left as they were:
    /// 8 bytes a key rather than the key and its finding. A collision
    /// (about one in 10^6 at five million keys) would hide one re-met key.
    reported: rustc_hash::FxHashSet<u64>,
    /// Fingerprints of the keys of the last [`RECENT_WINDOWS`] windows
    /// handed to the sink, repaired or not: an examination sent before a
    /// window's repairs landed (another walk meeting the same key over the
    /// same stretch) must not report the key a second time.
    recent: VecDeque<Vec<u64>>,
    /// Candidates met in all.
    pub(super) candidates: u64,
}

fn fingerprint(key: &[u8]) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    key.hash(&mut h);
    h.finish()
}

impl Windows {
    /// Whether `key` is a candidate still held, or was reported already.
    pub(super) fn knows(&self, key: &[u8]) -> bool {
        self.open.contains_key(key)
            || self.waiting.iter().any(|w| w.candidates.contains_key(key))
            || self.reported(key)
    }

    /// Whether `key` was handed to the sink and left as it was, or went to
    /// it in one of the last few windows.
    pub(super) fn reported(&self, key: &[u8]) -> bool {
        let f = fingerprint(key);
        (!self.reported.is_empty() && self.reported.contains(&f))
            || self.recent.iter().any(|w| w.binary_search(&f).is_ok())
    }

    /// Note the keys of a window handed to the sink (see `recent`).
    pub(super) fn handed(&mut self, keys: &[Vec<u8>]) {
        let mut f: Vec<u64> = keys.iter().map(|k| fingerprint(k)).collect();
        f.sort_unstable();
        if self.recent.len() == RECENT_WINDOWS {
            self.recent.pop_front();
        }
        self.recent.push_back(f);
    }

    pub(super) fn remember(&mut self, key: &[u8]) {
        self.reported.insert(fingerprint(key));
    }

    /// Drop a candidate wherever it is held (a later, truer look replaces it).
    pub(super) fn forget(&mut self, key: &[u8]) {
        if self.open.remove(key).is_none() {
            for w in &mut self.waiting {
                if w.candidates.remove(key).is_some() {
                    self.waiting_len -= 1;
                    break;
                }
            }
        }
    }

    /// Seal the open window if it is full (or `always`, at the end of the
    /// walk), due `grace` after its last candidate.
    pub(super) fn seal(&mut self, grace: Duration, always: bool) {
        if self.open.is_empty() || (!always && self.open.len() < WINDOW) {
            return;
        }
        let due = self.last.unwrap_or_else(Instant::now) + grace;
        let candidates = std::mem::take(&mut self.open);
        self.waiting_len += candidates.len();
        self.waiting.push_back(Sealed { due, candidates });
        self.last = None;
    }

    /// The oldest sealed window, if it is due, or if too many wait (then
    /// the caller waits for it), or if `all` are wanted.
    pub(super) fn next_due(&mut self, all: bool) -> Option<Sealed> {
        let front = self.waiting.front()?;
        if all || front.due <= Instant::now() || self.waiting_len > MAX_WAITING {
            let w = self.waiting.pop_front()?;
            self.waiting_len -= w.candidates.len();
            Some(w)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bytes::Bytes;
    use crate::diagnose::Kind;
    use crate::schema::observed::{HashState, Membership, Observation};

    fn finding(key: &str) -> Finding {
        Finding {
            kind: Kind::Orphan,
            also: vec![],
            job_id: None,
            key: Bytes(key.as_bytes().to_vec()),
            sets: vec![],
            seen: String::new(),
            repair: String::new(),
            observed: Observation {
                key: Bytes(key.as_bytes().to_vec()),
                hash: HashState::Missing,
                class_set: Membership {
                    set: Bytes(b"c".to_vec()),
                    label: "class".into(),
                    member: None,
                },
                status_sets: vec![],
                secondary_sets: vec![],
                zsets: vec![],
                twins: None,
                found_in: vec![],
                bad_values: vec![],
                pointer: None,
            },
        }
    }

    fn fill(w: &mut Windows, from: usize, n: usize) {
        for i in from..from + n {
            let f = finding(&format!("k{i}"));
            w.open.insert(f.key.0.clone(), f);
        }
        w.last = Some(Instant::now());
    }

    #[test]
    fn a_window_is_sealed_only_when_full_or_at_the_end() {
        let mut w = Windows::default();
        fill(&mut w, 0, WINDOW - 1);
        w.seal(Duration::ZERO, false);
        assert!(w.waiting.is_empty());
        fill(&mut w, WINDOW, 1);
        w.seal(Duration::ZERO, false);
        assert_eq!(w.waiting.len(), 1);
        assert_eq!(w.waiting_len, WINDOW);
        assert!(w.open.is_empty());
        fill(&mut w, 10 * WINDOW, 3);
        w.seal(Duration::ZERO, true);
        assert_eq!(w.waiting.len(), 2);
        assert_eq!(w.waiting_len, WINDOW + 3);
    }

    #[test]
    fn a_window_waits_for_its_grace_unless_too_many_wait() {
        let mut w = Windows::default();
        fill(&mut w, 0, 5);
        w.seal(Duration::from_secs(3600), true);
        assert!(w.next_due(false).is_none(), "not due for an hour");
        assert!(w.knows(b"k3"));
        let mut n = 5;
        while n <= MAX_WAITING {
            fill(&mut w, n, WINDOW);
            n += WINDOW;
            w.seal(Duration::from_secs(3600), true);
        }
        let first = w.next_due(false).expect("too many wait: the oldest goes");
        assert_eq!(first.candidates.len(), 5);
        assert!(!w.knows(b"k3"), "a window taken is no longer held");
        assert!(w.next_due(true).is_some());
    }

    #[test]
    fn a_reported_key_is_known_and_a_forgotten_candidate_is_not() {
        let mut w = Windows::default();
        fill(&mut w, 0, 2);
        w.seal(Duration::ZERO, true);
        fill(&mut w, 2, 1);
        assert!(w.knows(b"k0") && w.knows(b"k2"));
        w.forget(b"k0");
        w.forget(b"k2");
        assert!(!w.knows(b"k0") && !w.knows(b"k2"));
        assert_eq!(w.waiting_len, 1);
        assert!(!w.reported(b"x"));
        w.remember(b"x");
        assert!(w.reported(b"x") && w.knows(b"x"));
        // A window handed over is remembered for a few windows more.
        w.handed(&[b"y".to_vec()]);
        assert!(w.reported(b"y"));
        for i in 0..RECENT_WINDOWS {
            w.handed(&[format!("z{i}").into_bytes()]);
        }
        assert!(!w.reported(b"y"), "forgotten after {RECENT_WINDOWS} more");
        assert!(w.reported(b"z0"));
    }
}
