//! The walker's state and pass A: the joint walk of the class set with the
//! large indexes and zsets, the light reads of its members, and the full
//! examination of suspects (see the module doc of `scan`).
//!
//! Owns: [`Walker`] and its bookkeeping. Must not: print or write.

use std::collections::{BTreeSet, VecDeque};
use std::time::Duration;

use anyhow::Result;

use super::join::Join;
use super::window::{Sink, Windows};
use super::{Scanned, Unconfirmed};
use crate::diagnose::plainly_healthy;
use crate::output::Progress;
use crate::schema::probe::{
    job_id_segment, key_segment, record_identity, Layout, Probe, SeenFilter,
};
use crate::schema::Model;
use crate::store::cursor::PagesAhead;
use crate::store::in_flight::InFlightQueue;
use crate::store::observe::{parse_light, InFlight, InFlightObs};
use crate::store::server::Commands;
use crate::store::Collection;
use crate::store::Store;

/// One set or zset pass B walks.
pub(super) struct IndexWalk {
    pub(super) set: Vec<u8>,
    pub(super) kind: Collection,
    /// For a key-field index: the field and the (escaped) value it stands
    /// for, so that members naming another value are caught.
    pub(super) value: Option<(String, Vec<u8>)>,
    /// Sets to list in a finding that the observation does not cover.
    pub(super) found_in: Vec<Vec<u8>>,
}

impl IndexWalk {
    pub(super) fn index(set: &[u8], value: Option<(String, Vec<u8>)>) -> IndexWalk {
        IndexWalk {
            set: set.to_vec(),
            kind: Collection::Set,
            value,
            found_in: vec![],
        }
    }
}

/// The field and escaped value a secondary index stands for.
pub(super) fn secondary_value(model: &Model, set: &[u8]) -> Option<(String, Vec<u8>)> {
    model.secondary_key_fields().find_map(|f| {
        let prefix = model.index_prefix(&f.name);
        set.strip_prefix(prefix.as_slice())
            .map(|v| (f.name.clone(), v.to_vec()))
    })
}

/// Sort a page read by [`Store::read_light`] into suspects; plainly healthy
/// keys are done with.
pub(super) fn suspects_of(
    cmds: Commands,
    layout: &Layout,
    probes: Vec<Probe>,
    replies: Vec<crate::store::Reply>,
) -> Result<Vec<Probe>> {
    let light = parse_light(cmds, layout, &probes, replies)?;
    Ok(probes
        .into_iter()
        .zip(light)
        .filter(|(p, l)| !plainly_healthy(layout, p, l))
        .map(|(p, _)| p)
        .collect())
}

/// Keys per atomic re-check transaction.
pub(super) const RECHECK_BATCH: usize = 50;

/// Light reads (pass A) or class-set checks (pass B) sent before the oldest
/// reply is waited for: enough that the server never waits for this side.
/// With the memberships read off the walks, a light read is little server
/// work; 3 left the server idle while this side judged a page.
pub(super) const IN_FLIGHT: usize = 8;

/// In a mostly damaged stretch of the class set, one page in this many is
/// still read lightly, to notice where the damage ends.
pub(super) const RESAMPLE_EVERY: u64 = 8;

/// Pages of a cursor walk read ahead of the reads they feed.
pub(super) const PAGES_AHEAD: usize = 8;

pub(super) struct Walker<'a> {
    /// Where the walks and the first look at each key read: a replica with
    /// `--read-from`, else the primary.
    pub(super) store: Store,
    /// The primary (`--url`): the second sighting reads it, so that nothing
    /// is confirmed on what a replica alone showed.
    pub(super) primary: Store,
    pub(super) model: &'a Model,
    pub(super) layout: &'a Layout,
    pub(super) batch: u32,
    pub(super) grace: Duration,
    pub(super) deep: bool,
    /// The candidates held, window by window, and the keys reported.
    pub(super) win: Windows,
    /// Where each window's confirmed findings go.
    pub(super) sink: &'a mut dyn Sink,
    /// Findings handed to the sink.
    pub(super) confirmed: u64,
    /// Candidates gone or changed on the re-check.
    pub(super) transient: u64,
    /// Examinations sent and not yet classified.
    pub(super) examining: InFlightQueue<InFlightObs>,
    /// Whether most keys of pass A's last light read were suspects.
    pub(super) mostly_suspect: bool,
    /// Other key-field indexes named by the keys met in pass A.
    pub(super) secondary: BTreeSet<Vec<u8>>,
    pub(super) seen: SeenFilter,
    /// Record identities (the key without its status) met in the class set.
    pub(super) seen_records: SeenFilter,
    /// job_ids the filter met twice in the class set (or collisions): the
    /// few that [`Walker::cross_duplicates`] looks at closely.
    pub(super) repeated: rustc_hash::FxHashSet<Vec<u8>>,
    pub(super) scanned: Scanned,
    /// The class set's size when the scan began: what the joint walk's
    /// pages are sized against.
    pub(super) class_size: u64,
    /// The walks of the joint pass, by lane (0: the class set).
    pub(super) lanes: Vec<Lane>,
    pub(super) join: Join,
    /// The joint pass's lane of each status index, sorted-field zset and
    /// other key-field index it walks; the others are looked up.
    pub(super) status_lane: Vec<Option<usize>>,
    pub(super) sorted_lane: Vec<Option<usize>>,
    pub(super) secondary_lane: rustc_hash::FxHashMap<Vec<u8>, usize>,
    /// Probes of the class set's pages read and not yet judged, in order.
    pub(super) class_pages: VecDeque<Vec<Probe>>,
    /// Light reads sent and not yet sorted.
    pub(super) reads: InFlightQueue<(Vec<Probe>, InFlight)>,
    pub(super) pages_read: u64,
    /// The progress bar's length so far.
    pub(super) length: u64,
    pub(super) unconfirmed: Unconfirmed,
    /// Keys counted in `unconfirmed`: a key met in two walks counts once.
    pub(super) unconfirmed_keys: rustc_hash::FxHashSet<Vec<u8>>,
}

/// One walk of the joint pass.
pub(super) struct Lane {
    pub(super) set: Vec<u8>,
    pub(super) role: Role,
    pub(super) pages: PagesAhead,
}

/// What the members of a joint walk's set stand for.
pub(super) enum Role {
    Class,
    /// A status index, by position in the layout.
    Status(usize),
    /// Another key-field index, and the field and escaped value it stands
    /// for (when its name parses).
    Secondary(Option<(String, Vec<u8>)>),
    Sorted,
}

/// A set joins the joint walk when it holds at least this share (1 in N)
/// of the class set: a smaller one's pages span more of the order, and the
/// class set's pages over that stretch would have to be kept.
pub(super) const JOIN_SHARE: u64 = 64;

/// At most this many walks in the joint pass (each reads ahead on a task of
/// its own); further sets are looked up.
pub(super) const MAX_LANES: usize = 64;

/// The lane of the class set.
pub(super) const CLASS_LANE: usize = 0;

impl Walker<'_> {
    /// Full observations (every status index, twins) of suspect keys, then
    /// their classification. Suspects are few in a healthy queue; in a
    /// damaged one they are many, so a few batches of them stay in flight
    /// while earlier ones are classified ([`Walker::settle`] waits for all).
    pub(super) async fn examine(&mut self, suspects: Vec<Probe>) -> Result<()> {
        for chunk in suspects.chunks(self.batch as usize) {
            let probes: Vec<Probe> = chunk
                .iter()
                .map(|p| {
                    let mut full = Probe::new(self.model, &p.key).with_twins();
                    full.found_in = p.found_in.clone();
                    for t in &p.twins {
                        if !full.twins.contains(t) {
                            full.twins.push(t.clone());
                        }
                    }
                    full
                })
                .collect();
            let request = self.store.observe_in_flight(self.layout, probes);
            if let Some(oldest) = self.examining.push(request) {
                let obs = oldest.observations().await?;
                self.note(obs);
            }
        }
        Ok(())
    }

    /// Records of one job_id under other key segments (another project):
    /// the twins a key's own segments cannot name. The class-set walk
    /// marked each job_id it met twice (in a filter of fixed size, so also
    /// a few that collide); one more SSCAN of the class set gathers the
    /// keys of just those, and every job_id with two or more is examined
    /// with all of them as twins. Memory: the filter, and the keys of the
    /// marked job_ids.
    pub(super) async fn cross_duplicates(&mut self) -> Result<()> {
        if self.repeated.is_empty() {
            return Ok(());
        }
        let mut groups: rustc_hash::FxHashMap<Vec<u8>, Vec<Vec<u8>>> = Default::default();
        let mut pages = self.store.pages_ahead(
            &self.layout.class_set,
            Collection::Set,
            self.batch,
            PAGES_AHEAD,
        );
        while let Some(page) = pages.next().await {
            let page = page?;
            if page.wrong_type.is_some() {
                // Reported by the first walk.
                break;
            }
            for k in page.items {
                if let Some(id) = job_id_segment(self.model, &k) {
                    if self.repeated.contains(id) {
                        let keys = groups.entry(id.to_vec()).or_default();
                        // SSCAN may return a member twice while the set
                        // is rehashed.
                        if !keys.contains(&k) {
                            keys.push(k);
                        }
                    }
                }
            }
        }
        self.repeated.clear();
        let mut probes = Vec::new();
        for keys in groups.into_values().filter(|g| g.len() > 1) {
            for k in &keys {
                let mut p = Probe::new(self.model, k).with_twins();
                for t in &keys {
                    if t != k && !p.twins.contains(t) {
                        p.twins.push(t.clone());
                    }
                }
                probes.push(p);
            }
        }
        self.examine(probes).await?;
        self.settle().await
    }

    /// Wait for every examination still in flight.
    pub(super) async fn settle(&mut self) -> Result<()> {
        while let Some(oldest) = self.examining.pop_oldest() {
            let obs = oldest.observations().await?;
            self.note(obs);
        }
        Ok(())
    }

    /// The SSCAN/ZSCAN `COUNT` that makes a walk of a set of `size`
    /// members move through the order at the class set's pace, or `None`
    /// when the set is too small (or the lanes too many) to join.
    pub(super) fn lane_count(&self, size: Option<u64>) -> Option<u32> {
        let size = size?;
        if self.lanes.len() >= MAX_LANES || size.saturating_mul(JOIN_SHARE) < self.class_size {
            return None;
        }
        let batch = u64::from(self.batch.max(1));
        let count = (batch.saturating_mul(size) / self.class_size.max(1)).clamp(10, 4 * batch);
        u32::try_from(count).ok()
    }

    pub(super) fn add_lane(
        &mut self,
        set: &[u8],
        kind: Collection,
        count: u32,
        role: Role,
    ) -> usize {
        let pages = self.store.pages_ahead(set, kind, count, PAGES_AHEAD);
        let id = self.join.add_lane();
        self.lanes.push(Lane {
            set: set.to_vec(),
            role,
            pages,
        });
        if id != CLASS_LANE {
            self.scanned.indexes += 1;
        }
        id
    }

    /// Pass A, with the large sets of pass B: walk the class set, every
    /// large status index, zset and other key-field index together, and
    /// judge each stretch of the order once every walk has read past it.
    /// A class-set member gets a light read (its hash; memberships the
    /// walks did not see); an index member the class-set walk did not
    /// return, or whose key names another value, is examined in full.
    pub(super) async fn joint_walk(
        &mut self,
        status_sizes: &[Option<u64>],
        sorted_sizes: &[Option<u64>],
        progress: &Progress,
    ) -> Result<()> {
        let class = self.layout.class_set.clone();
        self.add_lane(&class, Collection::Set, self.batch, Role::Class);
        for (si, (_, idx)) in self.layout.statuses.iter().enumerate() {
            if let Some(count) = self.lane_count(status_sizes.get(si).copied().flatten()) {
                let lane = self.add_lane(idx, Collection::Set, count, Role::Status(si));
                self.status_lane[si] = Some(lane);
            }
        }
        for (zi, (_, z)) in self.layout.sorted.iter().enumerate() {
            if let Some(count) = self.lane_count(sorted_sizes.get(zi).copied().flatten()) {
                let lane = self.add_lane(z, Collection::Zset, count, Role::Sorted);
                self.sorted_lane[zi] = Some(lane);
            }
        }
        while let Some(l) = self.join.next_lane() {
            let page = match self.lanes[l].pages.next().await {
                Some(page) => page?,
                // The walk's task ended before its cursor came back to 0:
                // never take a walk cut short for a complete one.
                None => anyhow::bail!(
                    "the walk of {} stopped before its end",
                    crate::bytes::escape_bytes(&self.lanes[l].set)
                ),
            };
            if let Some(why) = page.wrong_type {
                let set = self.lanes[l].set.clone();
                self.note_set_problem(&set, &why);
                self.join.finish(l);
            } else {
                if l == CLASS_LANE {
                    let before = self.length;
                    let probes = self.class_probes(&page.items).await?;
                    self.class_pages.push_back(probes);
                    if self.length != before {
                        progress.set_length(self.length);
                    }
                }
                self.join.push(l, page.cursor, page.items);
            }
            for ready in self.join.ready() {
                if ready.lane == CLASS_LANE {
                    self.judge_class_page(progress).await?;
                } else {
                    self.judge_index_page(ready.lane, ready.items, progress)
                        .await?;
                }
            }
            self.join.compact();
            self.pump(false).await?;
        }
        // Stop the walks' tasks (all at their end by now).
        self.lanes.clear();
        while let Some(oldest) = self.reads.pop_oldest() {
            self.sort_light(Some(oldest), progress).await?;
        }
        self.settle().await
    }

    /// Light probes of a page of the class set, read as it arrives: other
    /// key-field indexes its keys name for the first time join the walk
    /// here, before any of the page is judged, or are left to pass B.
    pub(super) async fn class_probes(&mut self, items: &[Vec<u8>]) -> Result<Vec<Probe>> {
        let mut fresh: Vec<Vec<u8>> = Vec::new();
        let probes: Vec<Probe> = items
            .iter()
            .map(|k| {
                let p = Probe::light(self.model, k);
                for (_, s) in &p.secondary {
                    if !self.secondary.contains(s)
                        && !self.secondary_lane.contains_key(s)
                        && !fresh.contains(s)
                    {
                        fresh.push(s.clone());
                    }
                }
                // A job_id seen before (or a filter collision): read its
                // twins to know whether it lives twice. Its twins under the
                // key's own other segments (a status change's ghost, a
                // record in two statuses) are what this probe reads; only
                // a job_id also met under other segments (another project)
                // needs `cross_duplicates`' second walk. Telling the two
                // apart by a second filter keeps `repeated` to those few,
                // where a queue of popoto-0.9 ghosts put every job_id in
                // it (a false hit of that filter, about one in 10^5 at ten
                // million keys, would leave one such pair to `--deep`).
                let id = job_id_segment(self.model, k);
                let again = id.is_some_and(|id| self.seen.insert(id));
                let same_record =
                    record_identity(self.model, k).is_some_and(|r| self.seen_records.insert(&r));
                match id {
                    Some(id) if again => {
                        if !same_record {
                            self.repeated.insert(id.to_vec());
                        }
                        p.with_twins()
                    }
                    _ => p,
                }
            })
            .collect();
        if !fresh.is_empty() {
            let keys: Vec<(Vec<u8>, Collection)> =
                fresh.iter().map(|s| (s.clone(), Collection::Set)).collect();
            let sizes = self.store.cardinalities(&keys).await?;
            for (set, size) in fresh.into_iter().zip(sizes) {
                match self.lane_count(size) {
                    Some(count) => {
                        let value = secondary_value(self.model, &set);
                        let lane =
                            self.add_lane(&set, Collection::Set, count, Role::Secondary(value));
                        self.secondary_lane.insert(set, lane);
                        self.length += size.unwrap_or(0);
                    }
                    None => {
                        self.secondary.insert(set);
                    }
                }
            }
        }
        Ok(probes)
    }

    /// Judge the oldest page of the class set: fill in what the walks saw,
    /// then read it lightly (with [`IN_FLIGHT`] reads sent before the
    /// oldest reply is sorted), or in full in a mostly damaged stretch.
    pub(super) async fn judge_class_page(&mut self, progress: &Progress) -> Result<()> {
        let Some(mut probes) = self.class_pages.pop_front() else {
            return Ok(());
        };
        for p in &mut probes {
            if let Some(lane) = p.own_status.and_then(|si| self.status_lane[si]) {
                p.seen.own_status = Some(self.join.seen(lane, &p.key));
            }
            p.seen.secondary = p
                .secondary
                .iter()
                .map(|(_, s)| {
                    self.secondary_lane
                        .get(s)
                        .map(|&lane| self.join.seen(lane, &p.key))
                })
                .collect();
            p.seen.sorted = self
                .sorted_lane
                .iter()
                .map(|lane| lane.map(|lane| self.join.seen(lane, &p.key)))
                .collect();
        }
        self.pages_read += 1;
        if self.mostly_suspect && !self.pages_read.is_multiple_of(RESAMPLE_EVERY) {
            // Most keys of the last light read were suspects: read this
            // page in full at once rather than twice. Every few pages a
            // light read tells whether the damage goes on.
            let n = probes.len() as u64;
            self.examine(probes).await?;
            self.scanned.class_members += n;
            progress.inc(n);
            return Ok(());
        }
        let request = self.store.read_light(self.layout, &probes);
        if let Some(oldest) = self.reads.push((probes, request)) {
            self.sort_light(Some(oldest), progress).await?;
        }
        Ok(())
    }

    /// Judge a page of an index or zset of the joint walk: a member the
    /// class-set walk did not return over the same stretch, or whose key
    /// names another value than the index stands for, is examined in full.
    pub(super) async fn judge_index_page(
        &mut self,
        lane: usize,
        items: Vec<Vec<u8>>,
        progress: &Progress,
    ) -> Result<()> {
        let n = items.len() as u64;
        let suspects: Vec<Probe> = items
            .into_iter()
            .filter(|k| !self.win.knows(k))
            .filter(|k| {
                let names_this = match &self.lanes[lane].role {
                    // Under the indexed layout the key names no status:
                    // pass A reads a member's sets against its field.
                    Role::Status(_) if !self.model.status_in_key() => true,
                    Role::Status(si) => {
                        key_segment(self.model, k, &self.model.status.field)
                            == self.layout.escaped_statuses.get(*si).map(Vec::as_slice)
                    }
                    Role::Secondary(Some((field, value))) => {
                        key_segment(self.model, k, field) == Some(value.as_slice())
                    }
                    Role::Secondary(None) | Role::Sorted | Role::Class => true,
                };
                !names_this || !self.join.seen(CLASS_LANE, k)
            })
            .map(|k| Probe::new(self.model, &k))
            .collect();
        self.examine(suspects).await?;
        self.scanned.index_members += n;
        progress.inc(n);
        Ok(())
    }

    /// Wait for one light read, and examine its suspects in full.
    pub(super) async fn sort_light(
        &mut self,
        read: Option<(Vec<Probe>, InFlight)>,
        progress: &Progress,
    ) -> Result<()> {
        let Some((probes, request)) = read else {
            return Ok(());
        };
        let n = probes.len() as u64;
        let replies = request.replies().await?;
        let suspects = suspects_of(self.store.server.commands, self.layout, probes, replies)?;
        self.mostly_suspect = suspects.len() as u64 * 2 > n;
        self.examine(suspects).await?;
        self.scanned.class_members += n;
        progress.inc(n);
        Ok(())
    }

    pub(super) async fn secondary_total(&mut self) -> Result<u64> {
        let sets: Vec<(Vec<u8>, Collection)> = self
            .secondary
            .iter()
            .map(|s| (s.clone(), Collection::Set))
            .collect();
        Ok(self
            .store
            .cardinalities(&sets)
            .await?
            .into_iter()
            .flatten()
            .sum())
    }
}

mod notes;
#[cfg(test)]
mod tests;
