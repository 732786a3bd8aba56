//! The scan engine: the read-only, classified consistency scan that
//! `orphans scan` reports and `reindex` repairs from.
//!
//! The walk: pass A streams the class set (SSCAN) together with every index
//! and zset of about its size (the joint walk, see `join`): whether a
//! set holds a member is read off that set's pages over the same stretch of
//! Redis's walk order, not asked of the server. Each class-set member gets a
//! light read (its hash, and the memberships in the small sets); an index
//! member the class set did not return, or whose key names another value,
//! is examined in full. Pass B then walks the small sets alone and checks
//! their members against the class set (`passes`). `--deep` also walks the
//! keyspace (SCAN MATCH) for records and for indexes of undeclared statuses,
//! and decodes every stored value. Candidates are re-read after `--grace`
//! on the primary (the walks may read a replica, `--read-from`); only what
//! still holds is reported. Memory grows with the findings, not
//! with the queue.
//!
//! Owns: the walks and their bookkeeping (`walker`, `passes`, `join`), and
//! the job_ids held twice (`holders`). Must not: print (progress goes
//! through `output::Progress`), write to Redis, or know a subcommand's
//! flags (`cmd::scan` turns them into [`ScanOptions`]).

mod holders;
mod join;
mod passes;
mod pointers;
mod walker;
pub mod window;

pub use holders::held_twice;
pub use window::{CountKinds, Sink, Stopped};

use std::collections::{BTreeSet, VecDeque};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use serde::Serialize;

use crate::bytes::Bytes;
use crate::diagnose::Kind;
use crate::exit;
use crate::output::Ui;
use crate::schema::probe::{Layout, SeenFilter};
use crate::schema::Model;
use crate::store::in_flight::InFlightQueue;
use crate::store::Collection;
use crate::store::Store;

use join::Join;
use walker::{secondary_value, IndexWalk, Walker, IN_FLIGHT};

#[derive(Debug, Clone)]
pub struct ScanOptions {
    pub grace: Duration,
    pub deep: bool,
    pub batch: u32,
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

/// How the engine got there (its findings went to the sink).
#[derive(Debug, Clone)]
pub struct ScanOutcome {
    /// Confirmed findings handed to the sink.
    pub confirmed: u64,
    pub unconfirmed: Unconfirmed,
    pub scanned: Scanned,
    /// Candidates gone or changed on the re-check: transient states.
    pub transient: u64,
    pub candidates: u64,
    pub elapsed: Duration,
}

/// Run the scan engine: the walks read `store` (a replica with
/// `--read-from`, else the primary), the second sighting reads `primary`;
/// the confirmed findings go to `sink` window by window as the walk goes
/// (see `window`).
pub async fn scan(
    store: &mut Store,
    primary: &Store,
    model: &Model,
    opts: &ScanOptions,
    ui: &Ui,
    sink: &mut dyn Sink,
) -> Result<ScanOutcome> {
    let started = Instant::now();
    let run_ids = [store.run_id.clone(), primary.run_id.clone()];
    let layout = Layout::of(model);
    let mut sizes: Vec<(Vec<u8>, Collection)> = vec![(layout.class_set.clone(), Collection::Set)];
    sizes.extend(
        layout
            .statuses
            .iter()
            .map(|(_, k)| (k.clone(), Collection::Set)),
    );
    sizes.extend(
        layout
            .sorted
            .iter()
            .map(|(_, k)| (k.clone(), Collection::Zset)),
    );
    let cards = store.cardinalities(&sizes).await?;
    let total: u64 = cards.iter().flatten().sum();
    let mut w = Walker {
        store: store.clone(),
        primary: primary.clone(),
        model,
        layout: &layout,
        batch: opts.batch,
        grace: opts.grace,
        deep: opts.deep,
        win: Default::default(),
        sink,
        confirmed: 0,
        transient: 0,
        // Up to IN_FLIGHT examinations in flight beside the one awaited.
        examining: InFlightQueue::new(IN_FLIGHT),
        mostly_suspect: false,
        secondary: BTreeSet::new(),
        seen: SeenFilter::for_ids(cards.first().copied().flatten().unwrap_or(0)),
        seen_records: SeenFilter::for_ids(cards.first().copied().flatten().unwrap_or(0)),
        repeated: Default::default(),
        scanned: Scanned::default(),
        class_size: cards.first().copied().flatten().unwrap_or(0),
        lanes: Vec::new(),
        join: Join::default(),
        status_lane: vec![None; layout.statuses.len()],
        sorted_lane: vec![None; layout.sorted.len()],
        secondary_lane: Default::default(),
        class_pages: VecDeque::new(),
        // IN_FLIGHT light reads out, counting the one awaited.
        reads: InFlightQueue::new(IN_FLIGHT - 1),
        pages_read: 0,
        length: total,
        unconfirmed: Unconfirmed::default(),
        unconfirmed_keys: Default::default(),
    };
    let progress = ui.progress(Some(total), "scan");

    // The class set and the large indexes and zsets are walked together
    // (see `join`); the small ones, whose pages would span too much
    // of the order to keep, are walked after it, each member looked up.
    let status_sizes = &cards[1..1 + layout.statuses.len()];
    let sorted_sizes = &cards[1 + layout.statuses.len()..];
    w.joint_walk(status_sizes, sorted_sizes, &progress)
        .await
        .context("scanning the class set")?;
    let mut walks: Vec<IndexWalk> = Vec::new();
    for (si, ((_, idx), esc)) in layout
        .statuses
        .iter()
        .zip(&layout.escaped_statuses)
        .enumerate()
    {
        if w.status_lane[si].is_none() {
            // Under the indexed layout the key names no status: every
            // member the class set holds was examined in pass A, where
            // its memberships are read against its field.
            let value = model
                .status_in_key()
                .then(|| (model.status.field.clone(), esc.clone()));
            walks.push(IndexWalk::index(idx, value));
        }
    }
    for set in &w.secondary {
        walks.push(IndexWalk::index(set, secondary_value(model, set)));
    }
    for (zi, (_, z)) in layout.sorted.iter().enumerate() {
        if w.sorted_lane[zi].is_none() {
            walks.push(IndexWalk {
                set: z.clone(),
                kind: Collection::Zset,
                value: None,
                found_in: vec![],
            });
        }
    }
    if opts.deep {
        progress.set_message("discovering indexes");
        for idx in w.discover_status_indexes().await? {
            walks.push(IndexWalk {
                set: idx.clone(),
                kind: Collection::Set,
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
    if !model.status_in_key() {
        progress.set_message("walking the index pointers");
        w.pointer_walk(&progress)
            .await
            .context("walking the index pointers")?;
    }
    progress.set_message("looking for job_ids held twice");
    w.cross_duplicates()
        .await
        .context("looking for job_ids held by two records")?;
    if opts.deep {
        progress.set_message("walking the keyspace (--deep)");
        w.deep(&progress).await.context("walking the keyspace")?;
    }
    if !w.win.open.is_empty() || !w.win.waiting.is_empty() {
        let held = w.win.open.len() + w.win.waiting_len;
        if !opts.grace.is_zero() {
            progress.set_message(format!("re-checking {held} candidate(s) after --grace"));
        }
    }
    w.pump(true).await.context("re-checking candidates")?;
    progress.finish();
    // A cursor means nothing on another run of the server: a restart in the
    // middle would have skipped members, so such a scan is not reported.
    // The walks' server and the re-checks' one are both asked.
    for (mut s, run_id) in [store.clone(), primary.clone()].into_iter().zip(run_ids) {
        let now_id = s
            .current_run_id()
            .await
            .context("checking the server did not restart")?;
        if now_id != run_id {
            return Err(exit::with_code(
                exit::RUNTIME,
                format!("Redis at {} restarted during the scan (its run_id changed), so the scan may have skipped members; run it again", s.display_url()),
            ));
        }
    }
    Ok(ScanOutcome {
        confirmed: w.confirmed,
        unconfirmed: w.unconfirmed,
        scanned: w.scanned,
        transient: w.transient,
        candidates: w.win.candidates,
        elapsed: started.elapsed(),
    })
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ghost_may_turn_stale_on_the_second_look() {
        assert!(same_damage(Kind::Orphan, Kind::Orphan));
        assert!(same_damage(Kind::Dangling, Kind::StaleKey));
        assert!(same_damage(Kind::StaleKey, Kind::Dangling));
        assert!(!same_damage(Kind::Orphan, Kind::WrongIndex));
        assert!(!same_damage(Kind::Dangling, Kind::Orphan));
        for a in Kind::ALL {
            for b in Kind::ALL {
                assert_eq!(same_damage(a, b), same_damage(b, a), "{a:?} {b:?}");
            }
        }
    }

    #[test]
    fn the_report_json_of_what_was_walked() {
        let v = serde_json::to_value(Unconfirmed {
            count: 2,
            sample: vec![UnconfirmedJob {
                key: Bytes(b"\xffk".to_vec()),
                why: "not a set".into(),
            }],
        })
        .unwrap();
        assert_eq!(
            v,
            serde_json::json!({"count": 2, "sample": [{"key": {"hex": "ff6b"}, "why": "not a set"}]})
        );
    }
}
