//! What both status layouts judge alike about a live record: where it is
//! among the status sets against the one its status names (orphan,
//! wrong_index, multi_indexed), whether the class set lists it (unlisted),
//! and its secondary indexes (secondary_gap). Pure.
//!
//! Owns: those judgements and their words. Must not: decide a record's
//! status (each layout's `live` does, the key layout from its key and
//! field, the indexed one from its field).

use super::{join, secondary_gaps, show, Kind};
use crate::bytes::Bytes;
use crate::schema::observed::Observation;

/// The finding being built: its kinds, what was seen, the repairs, and
/// the sets involved.
pub(super) struct Notes<'a> {
    pub kinds: &'a mut Vec<Kind>,
    pub seen: &'a mut Vec<String>,
    pub repair: &'a mut Vec<String>,
    pub sets: &'a mut Vec<Bytes>,
}

impl Notes<'_> {
    fn add_set(&mut self, b: &Bytes) {
        if !self.sets.contains(b) {
            self.sets.push(b.clone());
        }
    }
}

/// Where the record is among the status sets.
pub(super) struct Placement<'a> {
    /// The set its status names.
    pub right: &'a Bytes,
    pub in_right: bool,
    /// The other status sets it is in.
    pub wrong: &'a [Bytes],
    /// A membership could not be read: never judged an orphan.
    pub unknown: bool,
}

/// The layout's words for the findings.
pub(super) struct Words<'a> {
    /// What is seen when it is in no status set.
    pub nowhere: String,
    /// Its status, as the other findings name it (`"pending"`).
    pub status: &'a str,
    /// After "move it from A to B" (the key layout's ` (SMOVE)`).
    pub how: &'a str,
}

/// Orphan, wrong_index or multi_indexed, when the placement is one.
pub(super) fn status_sets(n: &mut Notes, p: &Placement, w: Words) {
    let (right, wrong) = (p.right, p.wrong);
    if !p.in_right && wrong.is_empty() && !p.unknown {
        n.kinds.push(Kind::Orphan);
        n.seen.push(w.nowhere);
        n.repair.push(format!("add it to {}", show(right)));
        n.add_set(right);
    } else if !p.in_right && wrong.len() == 1 {
        n.kinds.push(Kind::WrongIndex);
        n.seen
            .push(format!("{:?} job only in {}", w.status, show(&wrong[0])));
        n.repair.push(format!(
            "move it from {} to {}{}",
            show(&wrong[0]),
            show(right),
            w.how
        ));
        n.add_set(&wrong[0]);
        n.add_set(right);
    } else if !wrong.is_empty() {
        n.kinds.push(Kind::MultiIndexed);
        let mut all = wrong.to_vec();
        if p.in_right {
            all.insert(0, right.clone());
        }
        n.seen.push(format!("{:?} job in {}", w.status, join(&all)));
        let mut r = format!("remove it from {}", join(wrong));
        if !p.in_right {
            r.push_str(&format!(" and add it to {}", show(right)));
        }
        n.repair.push(r);
        for s in &all {
            n.add_set(s);
        }
        n.add_set(right);
    }
}

/// Unlisted (not in the class set) and secondary_gap (missing from a
/// key-field or sorted index), when it is either.
pub(super) fn listing(n: &mut Notes, obs: &Observation, sorted: &[(String, Option<Bytes>)]) {
    if obs.class_set.member == Some(false) {
        n.kinds.push(Kind::Unlisted);
        n.seen.push(format!("not in {}", show(&obs.class_set.set)));
        n.repair
            .push(format!("add it to {}", show(&obs.class_set.set)));
        n.add_set(&obs.class_set.set);
    }
    let gaps = secondary_gaps(obs, sorted, n.sets);
    if !gaps.is_empty() {
        n.kinds.push(Kind::SecondaryGap);
        n.seen.push(format!(
            "missing from {}",
            gaps.iter()
                .map(|g| g.trim_start_matches("add it to "))
                .collect::<Vec<_>>()
                .join(", ")
        ));
        n.repair.extend(gaps);
    }
}
