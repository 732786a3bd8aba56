//! Undo, pure: an audit entry read as the change it records ([`Change`]),
//! the change that reverses it ([`Change::inverse`]), and the guarded step
//! that makes a change only from the state it starts from ([`Change::step`]).
//!
//! A change and its inverse are the same kind of thing, written in the same
//! words of the stream (README, "Audit stream"): undo applies the inverse
//! and records it as an entry of its own, so undoing an undo applies the
//! inverse of the inverse, the original change.
//!
//! Owns: reading entries as changes, inverting them, their guards and
//! writes. Must not: do I/O (the store runs a [`Step`] in one script).

#[cfg(test)]
use crate::store::audit::StreamEntry;

type B = Vec<u8>;

/// A zset score given: `before` is the score the member had (none when it
/// was not a member).
#[derive(Debug, Clone, PartialEq)]
pub struct Zadd {
    pub zset: B,
    pub score: B,
    pub before: Option<B>,
}

/// A counter field moved from `before` to `after` ("0": absent).
#[derive(Debug, Clone, PartialEq)]
pub struct Counter {
    pub hash: B,
    pub field: B,
    pub before: B,
    pub after: B,
}

/// A note (a field of one of jobq's hashes) set or dropped.
#[derive(Debug, Clone, PartialEq)]
pub struct Note {
    pub hash: B,
    pub field: B,
    pub before: Option<B>,
    pub after: Option<B>,
}

/// A string key (an indexed field's pointer) set or deleted: its value
/// after (none: deleted) and before (none: it did not exist).
#[derive(Debug, Clone, PartialEq)]
pub struct Pointer {
    pub key: B,
    pub value: Option<B>,
    pub before: Option<B>,
}

/// What happened to the record under `key`.
#[derive(Debug, Clone, PartialEq)]
pub enum Shape {
    /// Fields and memberships of a live record changed.
    InPlace,
    /// Memberships of a key with no record (a ghost) changed.
    Ghost,
    /// The record was created (`hset` is all of it).
    Created,
    /// The record was deleted (`before` is all of it).
    Deleted,
    /// The record was re-created under this key, then deleted.
    Moved(B),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    /// The entry's action (`move`, `delete`, `undo`...).
    pub action: String,
    pub job: B,
    pub key: B,
    pub shape: Shape,
    /// `before.F` in order: the old value of each field written, or the
    /// whole record when it was deleted or moved.
    pub before: Vec<(B, B)>,
    pub hset: Vec<(B, B)>,
    pub hdel: Vec<B>,
    pub sadd: Vec<B>,
    pub srem: Vec<B>,
    pub zadd: Vec<Zadd>,
    /// (zset, score it had).
    pub zrem: Vec<(B, B)>,
    /// (zset, score) of a move: the old key's score went to the new key.
    pub zmove: Vec<(B, B)>,
    pub counter: Option<Counter>,
    pub note: Option<Note>,
    /// Pointers set or deleted (the indexed status layout).
    pub pointers: Vec<Pointer>,
    /// The idempotency key a create claimed.
    pub idempotency: Option<B>,
    /// An idempotency key to drop when it still names `key` (reversing a
    /// create); not recorded, so a redo does not claim it again.
    pub unclaim: Option<B>,
}

/// One operation of a guarded step. Guards read; writes write, and only
/// once every guard held.
#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    /// The key is a hash.
    Hash(B),
    /// The key does not exist.
    Absent(B),
    /// The string key holds exactly this value.
    Text(B, B),
    /// The hash has exactly this many fields.
    Len(B, usize),
    Field(B, B, B),
    NoField(B, B),
    Member(B, B),
    NotMember(B, B),
    Score(B, B, B),
    NoScore(B, B),
    Hset(B, B, B),
    Hdel(B, B),
    Del(B),
    /// SET a string key.
    Set(B, B),
    /// DEL a string key.
    Unset(B),
    Sadd(B, B),
    Srem(B, B),
    Zadd(B, B, B),
    Zrem(B, B),
    /// DEL the string key when its value starts with the bytes given.
    Unclaim(B, B),
}

/// A guarded step: every guard holds, or nothing is written.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Step {
    pub guards: Vec<Op>,
    pub writes: Vec<Op>,
}

/// How an entry reads.
#[derive(Debug, Clone, PartialEq)]
pub enum Reading {
    /// A run's opening entry.
    Start,
    /// A change to one record.
    Change(Box<Change>),
    /// A prune batch: the records it deleted are in its backup file
    /// ([`pruned_keys`], [`pruned`]).
    Batch,
    /// A change undo cannot reverse, and why.
    Opaque(String),
}

/// A moved record's new image: the old one in its order, the written
/// fields' new values in place, the dropped ones left out, the new ones
/// after (as `scripts/move.lua` builds it).
pub fn moved_image(before: &[(B, B)], hset: &[(B, B)], hdel: &[B]) -> Vec<(B, B)> {
    let mut out: Vec<(B, B)> = before
        .iter()
        .filter(|(f, _)| !hdel.contains(f))
        .map(|(f, v)| {
            let v = hset.iter().find(|(h, _)| h == f).map_or(v, |(_, n)| n);
            (f.clone(), v.clone())
        })
        .collect();
    for (f, v) in hset {
        if !before.iter().any(|(b, _)| b == f) {
            out.push((f.clone(), v.clone()));
        }
    }
    out
}

fn swap_zadd(zadd: &[Zadd], zrem: &[(B, B)]) -> (Vec<Zadd>, Vec<(B, B)>) {
    let mut za = Vec::new();
    let mut zr = Vec::new();
    for z in zadd {
        match &z.before {
            Some(b) => za.push(Zadd {
                zset: z.zset.clone(),
                score: b.clone(),
                before: Some(z.score.clone()),
            }),
            None => zr.push((z.zset.clone(), z.score.clone())),
        }
    }
    for (z, s) in zrem {
        za.push(Zadd {
            zset: z.clone(),
            score: s.clone(),
            before: None,
        });
    }
    (za, zr)
}

impl Change {
    fn before_of(&self, f: &[u8]) -> Option<&B> {
        self.before.iter().find(|(b, _)| b == f).map(|(_, v)| v)
    }

    /// The change that puts back what this one changed; `action` names
    /// it in the stream. An error says why it cannot be reversed.
    pub fn inverse(&self, action: &str) -> Result<Change, String> {
        let (zadd, zrem) = swap_zadd(&self.zadd, &self.zrem);
        let mut inv = Change {
            action: action.to_owned(),
            job: self.job.clone(),
            key: self.key.clone(),
            shape: self.shape.clone(),
            before: Vec::new(),
            hset: Vec::new(),
            hdel: Vec::new(),
            sadd: self.srem.clone(),
            srem: self.sadd.clone(),
            zadd,
            zrem,
            zmove: Vec::new(),
            counter: self.counter.as_ref().map(|c| Counter {
                hash: c.hash.clone(),
                field: c.field.clone(),
                before: c.after.clone(),
                after: c.before.clone(),
            }),
            note: self.note.as_ref().map(|n| Note {
                hash: n.hash.clone(),
                field: n.field.clone(),
                before: n.after.clone(),
                after: n.before.clone(),
            }),
            pointers: self
                .pointers
                .iter()
                .map(|p| Pointer {
                    key: p.key.clone(),
                    value: p.before.clone(),
                    before: p.value.clone(),
                })
                .collect(),
            idempotency: None,
            unclaim: None,
        };
        match &self.shape {
            Shape::InPlace | Shape::Ghost => {
                for (f, v) in &self.hset {
                    match self.before_of(f) {
                        Some(b) => inv.hset.push((f.clone(), b.clone())),
                        None => inv.hdel.push(f.clone()),
                    }
                    inv.before.push((f.clone(), v.clone()));
                }
                for f in &self.hdel {
                    if let Some(b) = self.before_of(f) {
                        inv.hset.push((f.clone(), b.clone()));
                    }
                }
            }
            Shape::Created => {
                if self.hset.is_empty() {
                    return Err(
                        "a create of format 2 lists no fields: whether the job was changed since cannot be told"
                            .into(),
                    );
                }
                inv.shape = Shape::Deleted;
                inv.before = self.hset.clone();
                inv.unclaim = self.idempotency.clone();
            }
            Shape::Deleted => {
                if self.before.is_empty() {
                    return Err("the entry holds no before-image of the record".into());
                }
                inv.shape = Shape::Created;
                inv.hset = self.before.clone();
            }
            Shape::Moved(to) => {
                inv.key = to.clone();
                inv.shape = Shape::Moved(self.key.clone());
                inv.before = moved_image(&self.before, &self.hset, &self.hdel);
                for (f, _) in &self.hset {
                    match self.before_of(f) {
                        Some(b) => inv.hset.push((f.clone(), b.clone())),
                        None => inv.hdel.push(f.clone()),
                    }
                }
                for f in &self.hdel {
                    if let Some(b) = self.before_of(f) {
                        inv.hset.push((f.clone(), b.clone()));
                    }
                }
                inv.zmove = self.zmove.clone();
            }
        }
        Ok(inv)
    }

    /// The guarded step that makes this change, from the state it starts
    /// from: every field, membership and score it touches is checked to be
    /// as it was before the change (so the step is exact, and its entry is
    /// known before it runs). `absent`: other keys that must not exist
    /// (the job's records under other statuses, for a re-created record).
    pub fn step(&self, absent: &[B]) -> Step {
        let mut g = Vec::new();
        let mut w = Vec::new();
        let k = &self.key;
        match &self.shape {
            Shape::InPlace => {
                g.push(Op::Hash(k.clone()));
                for (f, v) in &self.hset {
                    g.push(match self.before_of(f) {
                        Some(b) => Op::Field(k.clone(), f.clone(), b.clone()),
                        None => Op::NoField(k.clone(), f.clone()),
                    });
                    w.push(Op::Hset(k.clone(), f.clone(), v.clone()));
                }
                for f in &self.hdel {
                    if let Some(b) = self.before_of(f) {
                        g.push(Op::Field(k.clone(), f.clone(), b.clone()));
                    }
                    w.push(Op::Hdel(k.clone(), f.clone()));
                }
            }
            Shape::Ghost => g.push(Op::Absent(k.clone())),
            Shape::Created => {
                g.push(Op::Absent(k.clone()));
                for (f, v) in &self.hset {
                    w.push(Op::Hset(k.clone(), f.clone(), v.clone()));
                }
            }
            Shape::Deleted | Shape::Moved(_) => {
                g.push(Op::Hash(k.clone()));
                g.push(Op::Len(k.clone(), self.before.len()));
                for (f, v) in &self.before {
                    g.push(Op::Field(k.clone(), f.clone(), v.clone()));
                }
            }
        }
        for a in absent {
            g.push(Op::Absent(a.clone()));
        }
        // Memberships: a move's old key leaves and its new key joins.
        let joins = match &self.shape {
            Shape::Moved(to) => to,
            _ => k,
        };
        for s in &self.srem {
            g.push(Op::Member(s.clone(), k.clone()));
            w.push(Op::Srem(s.clone(), k.clone()));
        }
        for s in &self.sadd {
            g.push(Op::NotMember(s.clone(), joins.clone()));
            w.push(Op::Sadd(s.clone(), joins.clone()));
        }
        for (z, s) in &self.zrem {
            g.push(Op::Score(z.clone(), k.clone(), s.clone()));
            w.push(Op::Zrem(z.clone(), k.clone()));
        }
        for z in &self.zadd {
            g.push(match &z.before {
                Some(b) => Op::Score(z.zset.clone(), joins.clone(), b.clone()),
                None => Op::NoScore(z.zset.clone(), joins.clone()),
            });
            w.push(Op::Zadd(z.zset.clone(), joins.clone(), z.score.clone()));
        }
        if let Shape::Moved(to) = &self.shape {
            g.push(Op::Absent(to.clone()));
            for (z, s) in &self.zmove {
                g.push(Op::Score(z.clone(), k.clone(), s.clone()));
                g.push(Op::NoScore(z.clone(), to.clone()));
                w.push(Op::Zrem(z.clone(), k.clone()));
                w.push(Op::Zadd(z.clone(), to.clone(), s.clone()));
            }
            for (f, v) in moved_image(&self.before, &self.hset, &self.hdel) {
                w.push(Op::Hset(to.clone(), f, v));
            }
        }
        if matches!(self.shape, Shape::Deleted | Shape::Moved(_)) {
            w.push(Op::Del(k.clone()));
        }
        if let Some(c) = &self.counter {
            g.push(if c.before == b"0" {
                Op::NoField(c.hash.clone(), c.field.clone())
            } else {
                Op::Field(c.hash.clone(), c.field.clone(), c.before.clone())
            });
            w.push(if c.after == b"0" {
                Op::Hdel(c.hash.clone(), c.field.clone())
            } else {
                Op::Hset(c.hash.clone(), c.field.clone(), c.after.clone())
            });
        }
        if let Some(n) = &self.note {
            g.push(match &n.before {
                Some(b) => Op::Field(n.hash.clone(), n.field.clone(), b.clone()),
                None => Op::NoField(n.hash.clone(), n.field.clone()),
            });
            w.push(match &n.after {
                Some(a) => Op::Hset(n.hash.clone(), n.field.clone(), a.clone()),
                None => Op::Hdel(n.hash.clone(), n.field.clone()),
            });
        }
        for p in &self.pointers {
            g.push(match &p.before {
                Some(b) => Op::Text(p.key.clone(), b.clone()),
                None => Op::Absent(p.key.clone()),
            });
            w.push(match &p.value {
                Some(v) => Op::Set(p.key.clone(), v.clone()),
                None => Op::Unset(p.key.clone()),
            });
        }
        if let Some(i) = &self.unclaim {
            let mut prefix = k.clone();
            prefix.push(b'\n');
            w.push(Op::Unclaim(i.clone(), prefix));
        }
        Step {
            guards: g,
            writes: w,
        }
    }

    /// The change in the stream's words (after the header and `action`):
    /// what [`read`] reads back as this change.
    pub fn entry(&self) -> Vec<(String, B)> {
        let mut e: Vec<(String, B)> = vec![
            ("job".into(), self.job.clone()),
            ("key".into(), self.key.clone()),
        ];
        match &self.shape {
            Shape::InPlace => {}
            Shape::Ghost => e.push(("ghost".into(), b"1".to_vec())),
            Shape::Created => e.push(("created".into(), b"1".to_vec())),
            Shape::Deleted => e.push(("deleted".into(), b"1".to_vec())),
            Shape::Moved(to) => e.push(("moved_to".into(), to.clone())),
        }
        let name = |p: &str, f: &[u8]| format!("{p}.{}", String::from_utf8_lossy(f));
        for (f, v) in &self.before {
            e.push((name("before", f), v.clone()));
        }
        for (f, v) in &self.hset {
            e.push((name("hset", f), v.clone()));
        }
        for f in &self.hdel {
            e.push((name("unset", f), Vec::new()));
        }
        let mut list = |p: &str, items: &[(B, Option<B>)], extra: &[(&str, Vec<Option<B>>)]| {
            for (i, (v, _)) in items.iter().enumerate() {
                let n = format!("{p}.{}", i + 1);
                e.push((n.clone(), v.clone()));
                for (suffix, vals) in extra {
                    if let Some(Some(x)) = vals.get(i) {
                        e.push((format!("{n}.{suffix}"), x.clone()));
                    }
                }
            }
        };
        let plain = |v: &[B]| v.iter().map(|s| (s.clone(), None)).collect::<Vec<_>>();
        list("sadd", &plain(&self.sadd), &[]);
        list("srem", &plain(&self.srem), &[]);
        let za: Vec<(B, Option<B>)> = self.zadd.iter().map(|z| (z.zset.clone(), None)).collect();
        list(
            "zadd",
            &za,
            &[
                (
                    "score",
                    self.zadd.iter().map(|z| Some(z.score.clone())).collect(),
                ),
                (
                    "before",
                    self.zadd.iter().map(|z| z.before.clone()).collect(),
                ),
            ],
        );
        for (p, v) in [("zrem", &self.zrem), ("zmove", &self.zmove)] {
            let items: Vec<(B, Option<B>)> = v.iter().map(|(z, _)| (z.clone(), None)).collect();
            list(
                p,
                &items,
                &[("score", v.iter().map(|(_, s)| Some(s.clone())).collect())],
            );
        }
        for (i, p) in self.pointers.iter().enumerate() {
            let n = format!("pointer.{}", i + 1);
            e.push((n.clone(), p.key.clone()));
            if let Some(v) = &p.value {
                e.push((format!("{n}.value"), v.clone()));
            }
            if let Some(b) = &p.before {
                e.push((format!("{n}.before"), b.clone()));
            }
        }
        if let Some(c) = &self.counter {
            e.push(("counter".into(), c.hash.clone()));
            e.push(("counter.field".into(), c.field.clone()));
            e.push(("counter.before".into(), c.before.clone()));
            e.push(("counter.after".into(), c.after.clone()));
        }
        if let Some(n) = &self.note {
            e.push(("note".into(), n.hash.clone()));
            e.push(("note.field".into(), n.field.clone()));
            if let Some(b) = &n.before {
                e.push(("note.before".into(), b.clone()));
            }
            if let Some(a) = &n.after {
                e.push(("note.after".into(), a.clone()));
            }
        }
        e
    }

    /// Whether reversing this change puts a record back that must be its
    /// job's only one: not for a duplicate reindex removed (the record it
    /// kept is there by design).
    pub fn reverse_restores_a_job(&self) -> bool {
        self.shape == Shape::Deleted && self.action != "remove_duplicate"
    }
}

#[path = "undo_read.rs"]
mod read;
pub use read::{pruned, pruned_keys, read};

#[cfg(test)]
#[path = "undo_tests.rs"]
mod tests;
