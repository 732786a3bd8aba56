//! Pass B (the small sets, each member looked up), the `--deep` keyspace
//! walk and value check, and the second sighting of every candidate.
//!
//! Owns: those walks over a [`Walker`]. Must not: print or write.

use std::collections::BTreeSet;

use anyhow::Result;

use super::same_damage;
use super::walker::{IndexWalk, Walker, IN_FLIGHT, PAGES_AHEAD, RECHECK_BATCH};
use crate::diagnose::{bad_values, classify, Finding};
use crate::output::Progress;
use crate::schema::observed::{BadValue, HashState};
use crate::schema::probe::{key_segment, Probe};
use crate::store::in_flight::InFlightQueue;
use crate::store::observe::{flags_of, InFlight};

impl Walker<'_> {
    /// Pass B: walk one index or zset too small for the joint walk. A member
    /// whose key names another value than the index stands for is a suspect
    /// (pass A checked only the index its key names); so is one missing from
    /// the class set (pass A never saw it). Pages are read ahead and their class-set checks kept
    /// in flight, as in pass A.
    pub(super) async fn pass_b(&mut self, walk: &IndexWalk, progress: &Progress) -> Result<()> {
        self.scanned.indexes += 1;
        let set = walk.set.as_slice();
        let class = self.layout.class_set.clone();
        let mut pages = self
            .store
            .pages_ahead(set, walk.kind, self.batch, PAGES_AHEAD);
        // IN_FLIGHT membership checks out, counting the one awaited.
        let mut in_flight: InFlightQueue<(u64, Vec<Vec<u8>>, InFlight)> =
            InFlightQueue::new(IN_FLIGHT - 1);
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
                if self.win.knows(&k) {
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
            if let Some(oldest) = in_flight.push((n, check, request)) {
                self.sort_members(Some(oldest), walk, progress).await?;
            }
            self.pump(false).await?;
        }
        while let Some(oldest) = in_flight.pop_oldest() {
            self.sort_members(Some(oldest), walk, progress).await?;
        }
        self.settle().await
    }

    /// Wait for one class-set check of pass B, and examine the members
    /// missing from the class set in full.
    pub(super) async fn sort_members(
        &mut self,
        read: Option<(u64, Vec<Vec<u8>>, InFlight)>,
        walk: &IndexWalk,
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
    pub(super) async fn discover_status_indexes(&mut self) -> Result<Vec<Vec<u8>>> {
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
    pub(super) async fn deep(&mut self, progress: &Progress) -> Result<()> {
        let pattern = self.model.record_pattern();
        let mut cursor = 0;
        loop {
            let mut page = self.store.scan_keys(&pattern, cursor, self.batch).await?;
            self.scanned.keyspace_keys += page.items.len() as u64;
            // popoto 1.8.1-1.8.2's pointer keys match the records' pattern:
            // they are the pointer walk's, never records (nor malformed).
            page.items
                .retain(|k| self.model.parse_legacy_pointer_key(k).is_none());
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
                .filter(|k| !self.win.knows(k) && !keys.contains(k))
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
                    self.win.forget(k);
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
            self.pump(false).await?;
            cursor = page.cursor;
            if cursor == 0 {
                return self.settle().await;
            }
        }
    }

    /// `--deep`: the fields of each key whose stored value is not valid
    /// msgpack (values over the read cap are counted, not decoded).
    pub(super) async fn check_values(&mut self, keys: &[Vec<u8>]) -> Result<Vec<Vec<BadValue>>> {
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

    /// The fields of each key whose value does not decode, read again for a
    /// re-check, on the primary (not counted in what the walk checked).
    async fn bad_values_of(&mut self, keys: &[Vec<u8>]) -> Result<Vec<Vec<BadValue>>> {
        let fields = self.model.unread_fields();
        let read = self.primary.record_values(keys, &fields).await?;
        Ok(read.into_iter().map(|r| bad_values(&r.values)).collect())
    }

    /// The second sighting of one window's candidates: what still holds
    /// is confirmed, the rest counted transient. Without `--grace` the
    /// first sighting stands, except that `--deep` still reads the values
    /// of every record candidate, so that a record whose values do not
    /// decode is reported malformed (and never repaired) even when an
    /// earlier walk met it for another reason.
    pub(super) async fn confirm(&mut self, firsts: Vec<Finding>) -> Result<(Vec<Finding>, u64)> {
        if self.grace.is_zero() {
            if !self.deep {
                return Ok((firsts, 0));
            }
            let mut out = Vec::with_capacity(firsts.len());
            for chunk in firsts.chunks(RECHECK_BATCH) {
                let keys: Vec<Vec<u8>> = chunk.iter().map(|f| f.key.0.clone()).collect();
                let bad = self.bad_values_of(&keys).await?;
                for (f, b) in chunk.iter().zip(bad) {
                    if b.is_empty() || !matches!(f.observed.hash, HashState::Hash { .. }) {
                        out.push(f.clone());
                        continue;
                    }
                    let mut o = f.observed.clone();
                    o.bad_values = b;
                    out.push(classify(self.model, &o).unwrap_or_else(|| f.clone()));
                }
            }
            return Ok((out, 0));
        }
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
                let t = self.primary.key_type(f.key.as_slice()).await?;
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
            let mut obs = self.primary.observe(self.layout, &probes, true).await?;
            // A bad value is read again, as everything else is; with
            // `--deep` every record's values are (see above).
            let again: Vec<usize> = (0..records.len())
                .filter(|&i| self.deep || !records[i].observed.bad_values.is_empty())
                .collect();
            if !again.is_empty() {
                let keys: Vec<Vec<u8>> = again.iter().map(|&i| records[i].key.0.clone()).collect();
                let bad = self.bad_values_of(&keys).await?;
                for (&i, b) in again.iter().zip(bad) {
                    obs[i].bad_values = b;
                }
            }
            for (first, o) in records.into_iter().zip(obs) {
                match classify(self.model, &o) {
                    Some(again) if same_damage(first.kind, again.kind) => confirmed.push(again),
                    // Its values do not decode: malformed now, whatever
                    // the first look (which did not read them) said.
                    Some(again)
                        if again.kind == crate::diagnose::Kind::Malformed
                            && !o.bad_values.is_empty() =>
                    {
                        confirmed.push(again)
                    }
                    _ => transient += 1,
                }
            }
        }
        Ok((confirmed, transient))
    }
}
