//! Job_ids held by two or more live records, whatever their other key
//! segments (another project): the twins a key's own segments cannot name.
//! `reap` asks before it requeues, so that a running copy of a job that
//! already completed under another project is not run again.
//!
//! Two walks of the class set in bounded memory: the first marks each
//! job_id in a filter of fixed size (see `SeenFilter`) and keeps the ones it
//! meets twice (a few more, where ids collide); the second gathers the keys
//! of just those. Memory: the filter and the keys of the repeated job_ids.
//!
//! Owns: the two walks. Must not: decide what a twin means for a command.

use anyhow::{Context, Result};
use rustc_hash::{FxHashMap, FxHashSet};

use crate::bytes::escape_bytes;
use crate::exit;
use crate::schema::probe::{job_id_segment, SeenFilter};
use crate::schema::Model;
use crate::store::Collection;
use crate::store::Store;

/// SSCAN members per step.
const PAGE: u32 = 1000;
/// Pages read ahead of the one being sorted.
const PAGES_AHEAD: usize = 4;

/// Every job_id (its key segment's raw bytes) held by two or more members
/// of the class set, with those members.
pub async fn held_twice(store: &Store, model: &Model) -> Result<FxHashMap<Vec<u8>, Vec<Vec<u8>>>> {
    let class = model.class_set();
    let size = store
        .clone()
        .scard(&class)
        .await
        .context("sizing the class set")?;
    let mut filter = SeenFilter::for_ids(size);
    let mut repeated: FxHashSet<Vec<u8>> = FxHashSet::default();
    let mut pages = store.pages_ahead(&class, Collection::Set, PAGE, PAGES_AHEAD);
    while let Some(page) = pages.next().await {
        let page = page.context("looking for job_ids held by two records")?;
        if let Some(why) = page.wrong_type {
            return Err(exit::with_code(
                exit::RUNTIME,
                format!(
                    "{} cannot be read ({why}), so records of one job_id cannot be told apart",
                    escape_bytes(&class)
                ),
            ));
        }
        for k in &page.items {
            if let Some(id) = job_id_segment(model, k) {
                if filter.insert(id) {
                    repeated.insert(id.to_vec());
                }
            }
        }
    }
    drop(filter);
    let mut groups: FxHashMap<Vec<u8>, Vec<Vec<u8>>> = FxHashMap::default();
    if repeated.is_empty() {
        return Ok(groups);
    }
    let mut pages = store.pages_ahead(&class, Collection::Set, PAGE, PAGES_AHEAD);
    while let Some(page) = pages.next().await {
        let page = page.context("gathering the records of repeated job_ids")?;
        for k in page.items {
            if let Some(id) = job_id_segment(model, &k).filter(|id| repeated.contains(*id)) {
                let keys = groups.entry(id.to_vec()).or_default();
                // SSCAN may return a member twice while the set is rehashed.
                if !keys.contains(&k) {
                    keys.push(k);
                }
            }
        }
    }
    groups.retain(|_, keys| keys.len() > 1);
    Ok(groups)
}
