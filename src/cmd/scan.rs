//! `jobq orphans scan`: the read-only, classified consistency scan, and the
//! scan engine `reindex` reuses.
//!
//! The walk: pass A streams the class set (SSCAN) together with every index
//! and zset of about its size (the joint walk, see `cmd::join`): whether a
//! set holds a member is read off that set's pages over the same stretch of
//! Redis's walk order, not asked of the server. Each class-set member gets a
//! light read (its hash, and the memberships in the small sets); an index
//! member the class set did not return, or whose key names another value,
//! is examined in full. Pass B then walks the small sets alone and checks
//! their members against the class set. `--deep` also walks the keyspace
//! (SCAN MATCH) for records and for indexes of undeclared statuses.
//! Candidates are re-read after `--grace`; only what still holds is
//! reported. Memory grows with the findings, not with the queue.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use serde::Serialize;

use super::join::Join;
use crate::bytes::Bytes;
use crate::cli::{ScanArgs, ScanCommandArgs};
use crate::diagnose::probe::{job_id_segment, key_segment, Layout, Probe, SeenFilter};
use crate::diagnose::{
    bad_values, classify, plainly_healthy, unconfirmed, BadValue, Finding, HashState, Kind,
    Observation,
};
use crate::exit;
use crate::output::{Progress, Ui};
use crate::plan::{self, Policy};
use crate::schema::Model;
use crate::settings::Settings;
use crate::store::observe::{flags_of, parse_light, InFlight, InFlightObs, PagesAhead};
use crate::store::server::Commands;
use crate::store::Store;

#[derive(Debug, Clone)]
pub struct ScanOptions {
    pub grace: Duration,
    pub deep: bool,
    pub batch: u32,
}

impl From<&ScanArgs> for ScanOptions {
    fn from(a: &ScanArgs) -> ScanOptions {
        ScanOptions {
            grace: a.grace,
            deep: a.deep,
            batch: a.batch,
        }
    }
}

/// How much was walked.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Scanned {
    /// Members of the class set read in pass A.
    pub class_members: u64,
    /// Members of the indexes and zsets walked in pass B.
    pub index_members: u64,
    /// Sets and zsets walked in pass B.
    pub indexes: u64,
    /// Keys the `--deep` keyspace walk looked at.
    pub keyspace_keys: u64,
    /// `--deep`: stored values decoded to check they are valid msgpack.
    pub values_checked: u64,
    /// `--deep`: values longer than the check reads (64 KiB): not decoded.
    pub values_too_large: u64,
}

/// Live records whose diagnosis depends on a set that could not be read:
/// neither healthy nor a finding. How many, and the first few.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Unconfirmed {
    pub count: u64,
    /// At most [`UNCONFIRMED_SHOWN`], in the order met.
    pub sample: Vec<UnconfirmedJob>,
}

#[derive(Debug, Clone, Serialize)]
pub struct UnconfirmedJob {
    pub key: Bytes,
    pub why: String,
}

/// Unconfirmed records listed by name; the rest are counted.
pub const UNCONFIRMED_SHOWN: usize = 10;

/// What the engine found: confirmed findings and how it got there.
#[derive(Debug, Clone)]
pub struct ScanOutcome {
    pub findings: Vec<Finding>,
    pub unconfirmed: Unconfirmed,
    pub scanned: Scanned,
    /// Candidates gone or changed on the re-check: transient states.
    pub transient: u64,
    pub candidates: u64,
    pub elapsed: Duration,
}

/// Run the scan engine on an open connection.
pub async fn scan(
    store: &mut Store,
    model: &Model,
    opts: &ScanOptions,
    ui: &Ui,
) -> Result<ScanOutcome> {
    let started = Instant::now();
    let run_id = store.run_id.clone();
    let layout = Layout::of(model);
    let mut sizes: Vec<(Vec<u8>, bool)> = vec![(layout.class_set.clone(), false)];
    sizes.extend(layout.statuses.iter().map(|(_, k)| (k.clone(), false)));
    sizes.extend(layout.sorted.iter().map(|(_, k)| (k.clone(), true)));
    let cards = store.cardinalities(&sizes).await?;
    let total: u64 = cards.iter().flatten().sum();
    let mut w = Walker {
        store: store.clone(),
        model,
        layout: &layout,
        batch: opts.batch,
        candidates: HashMap::new(),
        examining: VecDeque::new(),
        mostly_suspect: false,
        secondary: BTreeSet::new(),
        seen: SeenFilter::for_ids(cards.first().copied().flatten().unwrap_or(0)),
        repeated: Default::default(),
        scanned: Scanned::default(),
        last_candidate: None,
        class_size: cards.first().copied().flatten().unwrap_or(0),
        lanes: Vec::new(),
        join: Join::default(),
        status_lane: vec![None; layout.statuses.len()],
        sorted_lane: vec![None; layout.sorted.len()],
        secondary_lane: Default::default(),
        class_pages: VecDeque::new(),
        reads: VecDeque::new(),
        pages_read: 0,
        length: total,
        unconfirmed: Unconfirmed::default(),
        unconfirmed_keys: Default::default(),
    };
    let progress = ui.progress(Some(total), "scan");

    // The class set and the large indexes and zsets are walked together
    // (see `cmd::join`); the small ones, whose pages would span too much
    // of the order to keep, are walked after it, each member looked up.
    let status_sizes = &cards[1..1 + layout.statuses.len()];
    let sorted_sizes = &cards[1 + layout.statuses.len()..];
    w.joint_walk(status_sizes, sorted_sizes, &progress)
        .await
        .context("scanning the class set")?;
    let mut walks: Vec<Walk> = Vec::new();
    for (si, ((_, idx), esc)) in layout
        .statuses
        .iter()
        .zip(&layout.escaped_statuses)
        .enumerate()
    {
        if w.status_lane[si].is_none() {
            walks.push(Walk::index(
                idx,
                Some((model.status.field.clone(), esc.clone())),
            ));
        }
    }
    for set in &w.secondary {
        walks.push(Walk::index(set, secondary_value(model, set)));
    }
    for (zi, (_, z)) in layout.sorted.iter().enumerate() {
        if w.sorted_lane[zi].is_none() {
            walks.push(Walk {
                set: z.clone(),
                zset: true,
                value: None,
                found_in: vec![],
            });
        }
    }
    if opts.deep {
        progress.set_message("discovering indexes");
        for idx in w.discover_status_indexes().await? {
            walks.push(Walk {
                set: idx.clone(),
                zset: false,
                value: None,
                found_in: vec![idx],
            });
        }
    }
    let more = w.secondary_total().await?;
    progress.set_length(w.length + more);
    for walk in &walks {
        w.pass_b(walk, &progress)
            .await
            .with_context(|| format!("scanning {}", crate::bytes::escape_bytes(&walk.set)))?;
    }
    progress.set_message("looking for job_ids held twice");
    w.cross_duplicates()
        .await
        .context("looking for job_ids held by two records")?;
    if opts.deep {
        progress.set_message("walking the keyspace (--deep)");
        w.deep(&progress).await.context("walking the keyspace")?;
    }
    let candidates = w.candidates.len() as u64;
    let (findings, transient) = if opts.grace.is_zero() || w.candidates.is_empty() {
        (std::mem::take(&mut w.candidates).into_values().collect(), 0)
    } else {
        let due = w
            .last_candidate
            .map(|t| t + opts.grace)
            .unwrap_or_else(Instant::now);
        let wait = due.saturating_duration_since(Instant::now());
        progress.set_message(format!(
            "re-checking {} candidate(s) in {:.1}s",
            w.candidates.len(),
            wait.as_secs_f64()
        ));
        tokio::time::sleep(wait).await;
        w.recheck().await.context("re-checking candidates")?
    };
    progress.finish();
    // A cursor means nothing on another run of the server: a restart in the
    // middle would have skipped members, so such a scan is not reported.
    let now_id = store
        .current_run_id()
        .await
        .context("checking the server did not restart")?;
    if now_id != run_id {
        return Err(exit::with_code(
            exit::RUNTIME,
            "Redis restarted during the scan (its run_id changed), so the scan may have skipped members; run it again",
        ));
    }
    Ok(ScanOutcome {
        findings,
        unconfirmed: w.unconfirmed,
        scanned: w.scanned,
        transient,
        candidates,
        elapsed: started.elapsed(),
    })
}

/// One set or zset pass B walks.
struct Walk {
    set: Vec<u8>,
    zset: bool,
    /// For a key-field index: the field and the (escaped) value it stands
    /// for, so that members naming another value are caught.
    value: Option<(String, Vec<u8>)>,
    /// Sets to list in a finding that the observation does not cover.
    found_in: Vec<Vec<u8>>,
}

impl Walk {
    fn index(set: &[u8], value: Option<(String, Vec<u8>)>) -> Walk {
        Walk {
            set: set.to_vec(),
            zset: false,
            value,
            found_in: vec![],
        }
    }
}

/// The field and escaped value a secondary index stands for.
fn secondary_value(model: &Model, set: &[u8]) -> Option<(String, Vec<u8>)> {
    model.secondary_key_fields().find_map(|f| {
        let prefix = model.index_prefix(&f.name);
        set.strip_prefix(prefix.as_slice())
            .map(|v| (f.name.clone(), v.to_vec()))
    })
}

/// Sort a page read by [`Store::read_light`] into suspects; plainly healthy
/// keys are done with.
fn suspects_of(
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
const RECHECK_BATCH: usize = 50;

/// Light reads (pass A) or class-set checks (pass B) sent before the oldest
/// reply is waited for: enough that the server never waits for this side.
/// With the memberships read off the walks, a light read is little server
/// work; 3 left the server idle while this side judged a page.
const IN_FLIGHT: usize = 8;

/// In a mostly damaged stretch of the class set, one page in this many is
/// still read lightly, to notice where the damage ends.
const RESAMPLE_EVERY: u64 = 8;

/// Pages of a cursor walk read ahead of the reads they feed.
const PAGES_AHEAD: usize = 8;

struct Walker<'a> {
    store: Store,
    model: &'a Model,
    layout: &'a Layout,
    batch: u32,
    /// By key. Unordered: keys share long prefixes, which made an ordered
    /// map's comparisons a tenth of a damaged scan's CPU; callers sort the
    /// findings they report.
    candidates: HashMap<Vec<u8>, Finding>,
    /// Examinations sent and not yet classified.
    examining: VecDeque<InFlightObs>,
    /// Whether most keys of pass A's last light read were suspects.
    mostly_suspect: bool,
    /// Other key-field indexes named by the keys met in pass A.
    secondary: BTreeSet<Vec<u8>>,
    seen: SeenFilter,
    /// job_ids the filter met twice in the class set (or collisions): the
    /// few that [`Walker::cross_duplicates`] looks at closely.
    repeated: rustc_hash::FxHashSet<Vec<u8>>,
    scanned: Scanned,
    last_candidate: Option<Instant>,
    /// The class set's size when the scan began: what the joint walk's
    /// pages are sized against.
    class_size: u64,
    /// The walks of the joint pass, by lane (0: the class set).
    lanes: Vec<Lane>,
    join: Join,
    /// The joint pass's lane of each status index, sorted-field zset and
    /// other key-field index it walks; the others are looked up.
    status_lane: Vec<Option<usize>>,
    sorted_lane: Vec<Option<usize>>,
    secondary_lane: rustc_hash::FxHashMap<Vec<u8>, usize>,
    /// Probes of the class set's pages read and not yet judged, in order.
    class_pages: VecDeque<Vec<Probe>>,
    /// Light reads sent and not yet sorted.
    reads: VecDeque<(Vec<Probe>, InFlight)>,
    pages_read: u64,
    /// The progress bar's length so far.
    length: u64,
    unconfirmed: Unconfirmed,
    /// Keys counted in `unconfirmed`: a key met in two walks counts once.
    unconfirmed_keys: rustc_hash::FxHashSet<Vec<u8>>,
}

/// One walk of the joint pass.
struct Lane {
    set: Vec<u8>,
    role: Role,
    pages: PagesAhead,
}

/// What the members of a joint walk's set stand for.
enum Role {
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
const JOIN_SHARE: u64 = 64;

/// At most this many walks in the joint pass (each reads ahead on a task of
/// its own); further sets are looked up.
const MAX_LANES: usize = 64;

/// The lane of the class set.
const CLASS_LANE: usize = 0;

impl Walker<'_> {
    fn note(&mut self, obs: Vec<Observation>) {
        for o in obs {
            if let Some(f) = classify(self.model, &o) {
                // A key looked at again with more twins (see
                // `cross_duplicates`) may turn out a duplicate as well.
                let dup =
                    |f: &Finding| f.kind == Kind::Duplicate || f.also.contains(&Kind::Duplicate);
                match self.candidates.entry(f.key.0.clone()) {
                    std::collections::hash_map::Entry::Occupied(mut e) => {
                        if dup(&f) && !dup(e.get()) {
                            e.insert(f);
                        }
                    }
                    std::collections::hash_map::Entry::Vacant(e) => {
                        e.insert(f);
                    }
                }
                self.last_candidate = Some(Instant::now());
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

    fn note_set_problem(&mut self, set: &[u8], why: &str) {
        let key = set.to_vec();
        let obs = Observation {
            key: Bytes(key.clone()),
            hash: HashState::Missing,
            class_set: crate::diagnose::Membership {
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
        self.candidates.entry(key).or_insert(f);
    }

    /// Full observations (every status index, twins) of suspect keys, then
    /// their classification. Suspects are few in a healthy queue; in a
    /// damaged one they are many, so a few batches of them stay in flight
    /// while earlier ones are classified ([`Walker::settle`] waits for all).
    async fn examine(&mut self, suspects: Vec<Probe>) -> Result<()> {
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
            self.examining.push_back(request);
            while self.examining.len() > IN_FLIGHT {
                if let Some(oldest) = self.examining.pop_front() {
                    let obs = oldest.observations().await?;
                    self.note(obs);
                }
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
    async fn cross_duplicates(&mut self) -> Result<()> {
        if self.repeated.is_empty() {
            return Ok(());
        }
        let mut groups: rustc_hash::FxHashMap<Vec<u8>, Vec<Vec<u8>>> = Default::default();
        let mut pages =
            self.store
                .pages_ahead(&self.layout.class_set, false, self.batch, PAGES_AHEAD);
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
    async fn settle(&mut self) -> Result<()> {
        while let Some(oldest) = self.examining.pop_front() {
            let obs = oldest.observations().await?;
            self.note(obs);
        }
        Ok(())
    }

    /// The SSCAN/ZSCAN `COUNT` that makes a walk of a set of `size`
    /// members move through the order at the class set's pace, or `None`
    /// when the set is too small (or the lanes too many) to join.
    fn lane_count(&self, size: Option<u64>) -> Option<u32> {
        let size = size?;
        if self.lanes.len() >= MAX_LANES || size.saturating_mul(JOIN_SHARE) < self.class_size {
            return None;
        }
        let batch = u64::from(self.batch.max(1));
        let count = (batch.saturating_mul(size) / self.class_size.max(1)).clamp(10, 4 * batch);
        u32::try_from(count).ok()
    }

    fn add_lane(&mut self, set: &[u8], zset: bool, count: u32, role: Role) -> usize {
        let pages = self.store.pages_ahead(set, zset, count, PAGES_AHEAD);
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
    async fn joint_walk(
        &mut self,
        status_sizes: &[Option<u64>],
        sorted_sizes: &[Option<u64>],
        progress: &Progress,
    ) -> Result<()> {
        let class = self.layout.class_set.clone();
        self.add_lane(&class, false, self.batch, Role::Class);
        for (si, (_, idx)) in self.layout.statuses.iter().enumerate() {
            if let Some(count) = self.lane_count(status_sizes.get(si).copied().flatten()) {
                let lane = self.add_lane(idx, false, count, Role::Status(si));
                self.status_lane[si] = Some(lane);
            }
        }
        for (zi, (_, z)) in self.layout.sorted.iter().enumerate() {
            if let Some(count) = self.lane_count(sorted_sizes.get(zi).copied().flatten()) {
                let lane = self.add_lane(z, true, count, Role::Sorted);
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
        }
        // Stop the walks' tasks (all at their end by now).
        self.lanes.clear();
        while let Some(oldest) = self.reads.pop_front() {
            self.sort_light(Some(oldest), progress).await?;
        }
        self.settle().await
    }

    /// Light probes of a page of the class set, read as it arrives: other
    /// key-field indexes its keys name for the first time join the walk
    /// here, before any of the page is judged, or are left to pass B.
    async fn class_probes(&mut self, items: &[Vec<u8>]) -> Result<Vec<Probe>> {
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
                // twins to know whether it lives twice.
                match job_id_segment(self.model, k) {
                    Some(id) if self.seen.insert(id) => {
                        self.repeated.insert(id.to_vec());
                        p.with_twins()
                    }
                    _ => p,
                }
            })
            .collect();
        if !fresh.is_empty() {
            let keys: Vec<(Vec<u8>, bool)> = fresh.iter().map(|s| (s.clone(), false)).collect();
            let sizes = self.store.cardinalities(&keys).await?;
            for (set, size) in fresh.into_iter().zip(sizes) {
                match self.lane_count(size) {
                    Some(count) => {
                        let value = secondary_value(self.model, &set);
                        let lane = self.add_lane(&set, false, count, Role::Secondary(value));
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
    async fn judge_class_page(&mut self, progress: &Progress) -> Result<()> {
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
        self.reads.push_back((probes, request));
        if self.reads.len() >= IN_FLIGHT {
            let oldest = self.reads.pop_front();
            self.sort_light(oldest, progress).await?;
        }
        Ok(())
    }

    /// Judge a page of an index or zset of the joint walk: a member the
    /// class-set walk did not return over the same stretch, or whose key
    /// names another value than the index stands for, is examined in full.
    async fn judge_index_page(
        &mut self,
        lane: usize,
        items: Vec<Vec<u8>>,
        progress: &Progress,
    ) -> Result<()> {
        let n = items.len() as u64;
        let suspects: Vec<Probe> = items
            .into_iter()
            .filter(|k| !self.candidates.contains_key(k))
            .filter(|k| {
                let names_this = match &self.lanes[lane].role {
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
    async fn sort_light(
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

    async fn secondary_total(&mut self) -> Result<u64> {
        let sets: Vec<(Vec<u8>, bool)> =
            self.secondary.iter().map(|s| (s.clone(), false)).collect();
        Ok(self
            .store
            .cardinalities(&sets)
            .await?
            .into_iter()
            .flatten()
            .sum())
    }

    /// Pass B: walk one index or zset too small for the joint walk. A member
    /// whose key names another value than the index stands for is a suspect
    /// (pass A checked only the index its key names); so is one missing from
    /// the class set (pass A never saw it). Pages are read ahead and their class-set checks kept
    /// in flight, as in pass A.
    async fn pass_b(&mut self, walk: &Walk, progress: &Progress) -> Result<()> {
        self.scanned.indexes += 1;
        let set = walk.set.as_slice();
        let class = self.layout.class_set.clone();
        let mut pages = self
            .store
            .pages_ahead(set, walk.zset, self.batch, PAGES_AHEAD);
        let mut in_flight: VecDeque<(u64, Vec<Vec<u8>>, InFlight)> = VecDeque::new();
        while let Some(page) = pages.next().await {
            let mut page = page?;
            if let Some(why) = page.wrong_type.take() {
                self.note_set_problem(set, &why);
                break;
            }
            let n = page.items.len() as u64;
            let mut suspects: Vec<Probe> = Vec::new();
            let mut check: Vec<Vec<u8>> = Vec::new();
            for k in page.items.drain(..) {
                if self.candidates.contains_key(&k) {
                    continue;
                }
                let names_this = match &walk.value {
                    Some((field, value)) => {
                        key_segment(self.model, &k, field) == Some(value.as_slice())
                    }
                    None => true,
                };
                if names_this {
                    check.push(k);
                } else {
                    let mut p = Probe::new(self.model, &k);
                    p.found_in = walk.found_in.clone();
                    suspects.push(p);
                }
            }
            self.examine(suspects).await?;
            let request = self.store.members_of_in_flight(&class, &check);
            in_flight.push_back((n, check, request));
            if in_flight.len() >= IN_FLIGHT {
                self.sort_members(in_flight.pop_front(), walk, progress)
                    .await?;
            }
        }
        while let Some(oldest) = in_flight.pop_front() {
            self.sort_members(Some(oldest), walk, progress).await?;
        }
        self.settle().await
    }

    /// Wait for one class-set check of pass B, and examine the members
    /// missing from the class set in full.
    async fn sort_members(
        &mut self,
        read: Option<(u64, Vec<Vec<u8>>, InFlight)>,
        walk: &Walk,
        progress: &Progress,
    ) -> Result<()> {
        let Some((n, check, request)) = read else {
            return Ok(());
        };
        let in_class = flags_of(
            self.store.server.commands,
            request.replies().await?,
            check.len(),
        )?;
        let suspects: Vec<Probe> = check
            .iter()
            .enumerate()
            .filter(|(i, _)| in_class.as_ref().is_none_or(|f| !f[*i]))
            .map(|(_, k)| {
                let mut p = Probe::new(self.model, k);
                p.found_in = walk.found_in.clone();
                p
            })
            .collect();
        self.examine(suspects).await?;
        self.scanned.index_members += n;
        progress.inc(n);
        Ok(())
    }

    /// Indexes of the status field whose status the schema does not declare.
    async fn discover_status_indexes(&mut self) -> Result<Vec<Vec<u8>>> {
        let pattern = self.model.index_pattern(&self.model.status.field);
        let known: BTreeSet<&[u8]> = self
            .layout
            .statuses
            .iter()
            .map(|(_, k)| k.as_slice())
            .collect();
        let mut found = BTreeSet::new();
        let mut cursor = 0;
        loop {
            let page = self.store.scan_keys(&pattern, cursor, self.batch).await?;
            self.scanned.keyspace_keys += page.items.len() as u64;
            for k in page.items {
                if !known.contains(k.as_slice()) {
                    found.insert(k);
                }
            }
            cursor = page.cursor;
            if cursor == 0 {
                return Ok(found.into_iter().collect());
            }
        }
    }

    /// `--deep`: every record key of the model, to find those missing from
    /// the class set (no other walk can see them).
    async fn deep(&mut self, progress: &Progress) -> Result<()> {
        let pattern = self.model.record_pattern();
        let mut cursor = 0;
        loop {
            let page = self.store.scan_keys(&pattern, cursor, self.batch).await?;
            self.scanned.keyspace_keys += page.items.len() as u64;
            // A record with a value that does not decode is malformed
            // whatever else it shows (an earlier walk may have found it
            // orphaned): it is reported as that alone, and never touched.
            let bad = self.check_values(&page.items).await?;
            let (keys, bad): (Vec<Vec<u8>>, Vec<Vec<BadValue>>) = page
                .items
                .iter()
                .cloned()
                .zip(bad)
                .filter(|(_, b)| !b.is_empty())
                .unzip();
            let fresh: Vec<Vec<u8>> = page
                .items
                .into_iter()
                .filter(|k| !self.candidates.contains_key(k) && !keys.contains(k))
                .collect();
            let in_class = self
                .store
                .members_of(&self.layout.class_set, &fresh)
                .await?;
            let probes: Vec<Probe> = fresh
                .iter()
                .enumerate()
                .filter(|(i, _)| in_class.as_ref().is_none_or(|f| !f[*i]))
                .map(|(_, k)| Probe::new(self.model, k))
                .collect();
            self.examine(probes).await?;
            if !keys.is_empty() {
                for k in &keys {
                    self.candidates.remove(k);
                }
                let probes: Vec<Probe> = keys
                    .iter()
                    .map(|k| Probe::new(self.model, k).with_twins())
                    .collect();
                let mut obs = self.store.observe(self.layout, &probes, false).await?;
                for (o, b) in obs.iter_mut().zip(bad) {
                    o.bad_values = b;
                }
                self.note(obs);
            }
            progress.inc(0);
            cursor = page.cursor;
            if cursor == 0 {
                return self.settle().await;
            }
        }
    }

    /// `--deep`: the fields of each key whose stored value is not valid
    /// msgpack (values over the read cap are counted, not decoded).
    async fn check_values(&mut self, keys: &[Vec<u8>]) -> Result<Vec<Vec<BadValue>>> {
        let fields = self.model.unread_fields();
        let read = self.store.record_values(keys, &fields).await?;
        Ok(read
            .into_iter()
            .map(|r| {
                self.scanned.values_checked += r.values.len() as u64;
                self.scanned.values_too_large += r.too_large;
                bad_values(&r.values)
            })
            .collect())
    }

    /// Second sighting: re-read every candidate; keep what still holds.
    async fn recheck(&mut self) -> Result<(Vec<Finding>, u64)> {
        let firsts: Vec<Finding> = std::mem::take(&mut self.candidates).into_values().collect();
        let mut confirmed = Vec::new();
        let mut transient = 0;
        // Small atomic batches: each shows one instant, and none holds the
        // server for long.
        for chunk in firsts.chunks(RECHECK_BATCH) {
            let (sets, records): (Vec<&Finding>, Vec<&Finding>) = chunk
                .iter()
                .partition(|f| f.job_id.is_none() && f.observed.status_sets.is_empty());
            // A set that could not be walked is re-checked by its type.
            for f in sets {
                let t = self.store.key_type(f.key.as_slice()).await?;
                if t != "set" && t != "zset" && t != "none" {
                    confirmed.push(f.clone());
                } else {
                    transient += 1;
                }
            }
            let probes: Vec<Probe> = records
                .iter()
                .map(|f| {
                    let mut p = Probe::new(self.model, f.key.as_slice()).with_twins();
                    p.found_in = f.observed.found_in.iter().map(|b| b.0.clone()).collect();
                    // Twins under other key segments (another project) are
                    // not among the ones the key's own segments name.
                    for t in f.observed.twins.iter().flatten() {
                        if !p.twins.contains(&t.0) {
                            p.twins.push(t.0.clone());
                        }
                    }
                    p
                })
                .collect();
            let mut obs = self.store.observe(self.layout, &probes, true).await?;
            // A bad value is read again, as everything else is.
            let again: Vec<usize> = (0..records.len())
                .filter(|&i| !records[i].observed.bad_values.is_empty())
                .collect();
            if !again.is_empty() {
                let keys: Vec<Vec<u8>> = again.iter().map(|&i| records[i].key.0.clone()).collect();
                let fields = self.model.unread_fields();
                let read = self.store.record_values(&keys, &fields).await?;
                for (&i, r) in again.iter().zip(read) {
                    obs[i].bad_values = bad_values(&r.values);
                }
            }
            for (first, o) in records.into_iter().zip(obs) {
                match classify(self.model, &o) {
                    Some(again) if same_damage(first.kind, again.kind) => confirmed.push(again),
                    _ => transient += 1,
                }
            }
        }
        Ok((confirmed, transient))
    }
}

/// A ghost may turn out stale (its job's new key found) on the second look.
fn same_damage(a: Kind, b: Kind) -> bool {
    a == b
        || matches!(
            (a, b),
            (
                Kind::Dangling | Kind::StaleKey,
                Kind::Dangling | Kind::StaleKey
            )
        )
}

// ---- the subcommand ------------------------------------------------------

#[derive(Debug, Serialize)]
pub struct ScanReport {
    /// Confirmed findings per kind, every kind present (0 included).
    pub counts: BTreeMap<&'static str, u64>,
    pub total: u64,
    pub findings: Vec<Finding>,
    /// Records neither healthy nor found damaged: a set their verdict
    /// depends on could not be read.
    pub unconfirmed: Unconfirmed,
    pub scanned: Scanned,
    pub candidates: u64,
    /// Candidates that did not hold on the re-check.
    pub transient: u64,
    pub deep: bool,
    pub grace_seconds: f64,
    pub elapsed_seconds: f64,
    /// Where the repair plan was written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plan_out: Option<String>,
    /// Findings shown per kind in the table.
    #[serde(skip)]
    pub limit: usize,
}

pub fn counts(findings: &[Finding]) -> BTreeMap<&'static str, u64> {
    let mut c: BTreeMap<&'static str, u64> = Kind::ALL.iter().map(|k| (k.name(), 0)).collect();
    for f in findings {
        *c.entry(f.kind.name()).or_default() += 1;
    }
    c
}

pub async fn run(settings: &Settings, ui: &Ui, args: &ScanCommandArgs) -> Result<(ScanReport, u8)> {
    let opts = ScanOptions::from(&args.scan);
    let mut store = crate::cmd::connect(&settings.connect, ui).await?;
    let out = scan(&mut store, &settings.model, &opts, ui).await?;
    let mut findings = out.findings;
    findings.sort_by(|a, b| (a.kind, &a.key).cmp(&(b.kind, &b.key)));
    let plan_out = match &args.plan_out {
        Some(path) => {
            let plan = plan::build(&settings.model, &findings, &Policy::default());
            plan::write(&plan, path)?;
            Some(path.display().to_string())
        }
        None => None,
    };
    let total = findings.len() as u64;
    let report = ScanReport {
        counts: counts(&findings),
        total,
        findings,
        unconfirmed: out.unconfirmed,
        scanned: out.scanned,
        candidates: out.candidates,
        transient: out.transient,
        deep: opts.deep,
        grace_seconds: opts.grace.as_secs_f64(),
        elapsed_seconds: out.elapsed.as_secs_f64(),
        plan_out,
        limit: args.scan.limit,
    };
    // An unconfirmed record is not healthy: the answer is not "no damage".
    let code = if total > 0 || report.unconfirmed.count > 0 {
        exit::FINDINGS
    } else {
        exit::OK
    };
    Ok((report, code))
}
