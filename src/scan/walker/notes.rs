//! What the walks saw, kept: each observation classified into the open
//! window of candidates (or the unconfirmed count), and the windows handed
//! to the sink once their second sighting is due (see `scan::window`).
//!
//! Owns: [`Walker::note`], [`Walker::pump`]. Must not: print or write.

use std::time::{Duration, Instant};

use anyhow::Result;

use super::Walker;
use crate::bytes::Bytes;
use crate::diagnose::{classify, unconfirmed, Finding, Kind};
use crate::scan::window::Stopped;
use crate::scan::{UnconfirmedJob, UNCONFIRMED_SHOWN};
use crate::schema::observed::{HashState, Observation};
use crate::schema::probe::job_id_segment;

impl Walker<'_> {
    pub(in crate::scan) fn note(&mut self, obs: Vec<Observation>) {
        for o in obs {
            if let Some(f) = classify(self.model, &o) {
                // Reported already and left as it was: once is enough.
                if self.win.reported(&f.key.0) {
                    continue;
                }
                // A key looked at again with more twins (see
                // `cross_duplicates`) may turn out a duplicate as well.
                let dup =
                    |f: &Finding| f.kind == Kind::Duplicate || f.also.contains(&Kind::Duplicate);
                // A job_id that lives twice: every record of it is reported,
                // those met before this one too, by `cross_duplicates`.
                if dup(&f) {
                    if let Some(id) = job_id_segment(self.model, &f.key.0) {
                        self.repeated.insert(id.to_vec());
                    }
                }
                let key = f.key.0.clone();
                let held = std::iter::once(&mut self.win.open)
                    .chain(self.win.waiting.iter_mut().map(|w| &mut w.candidates))
                    .find_map(|m| m.get_mut(&key));
                match held {
                    Some(e) => {
                        if dup(&f) && !dup(e) {
                            *e = f;
                        }
                    }
                    None => {
                        self.win.open.insert(key, f);
                        self.win.candidates += 1;
                    }
                }
                self.win.last = Some(Instant::now());
            } else if let Some(why) = unconfirmed(self.model, &o) {
                if self.unconfirmed_keys.insert(o.key.0.clone()) {
                    self.unconfirmed.count += 1;
                    if self.unconfirmed.sample.len() < UNCONFIRMED_SHOWN {
                        self.unconfirmed
                            .sample
                            .push(UnconfirmedJob { key: o.key, why });
                    }
                }
            }
        }
    }

    /// Hand every window that is due (all of them with `all`, at the end)
    /// to the sink, after its second sighting; stop if the sink says so.
    /// Called between pages, so the walk goes on while windows wait.
    pub(in crate::scan) async fn pump(&mut self, all: bool) -> Result<()> {
        if self.sink.stop() {
            return Err(Stopped.into());
        }
        self.win.seal(self.grace, all);
        while let Some(w) = self.win.next_due(all) {
            // Waited in slices, so that Ctrl-C is seen while a window waits.
            loop {
                let wait = w.due.saturating_duration_since(Instant::now());
                if wait.is_zero() {
                    break;
                }
                tokio::time::sleep(wait.min(Duration::from_millis(100))).await;
                if self.sink.stop() {
                    return Err(Stopped.into());
                }
            }
            let (mut confirmed, transient) =
                self.confirm(w.candidates.into_values().collect()).await?;
            self.transient += transient;
            self.confirmed += confirmed.len() as u64;
            // Keys are unique, so an unstable sort gives the one order.
            confirmed.sort_unstable_by(|a, b| (a.kind, &a.key).cmp(&(b.kind, &b.key)));
            let keys: Vec<Vec<u8>> = confirmed.iter().map(|f| f.key.0.clone()).collect();
            self.win.handed(&keys);
            let kept = self.sink.take(confirmed).await?;
            for i in kept {
                if let Some(k) = keys.get(i) {
                    self.win.remember(k);
                }
            }
            if self.sink.stop() {
                return Err(Stopped.into());
            }
        }
        Ok(())
    }

    pub(in crate::scan) fn note_set_problem(&mut self, set: &[u8], why: &str) {
        let key = set.to_vec();
        let obs = Observation {
            key: Bytes(key.clone()),
            hash: HashState::Missing,
            class_set: crate::schema::observed::Membership {
                set: Bytes(self.layout.class_set.clone()),
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
        };
        let f = Finding {
            kind: Kind::Malformed,
            also: vec![],
            job_id: None,
            key: Bytes(key.clone()),
            sets: vec![Bytes(key.clone())],
            seen: format!("cannot be walked: {why}"),
            repair: "never touched: fix by hand; memberships in it were not checked".into(),
            observed: obs,
        };
        if !self.win.knows(&key) {
            self.win.open.insert(key, f);
            self.win.candidates += 1;
            self.win.last = Some(Instant::now());
        }
    }
}
