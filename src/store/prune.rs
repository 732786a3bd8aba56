//! Prune's and restore's Redis side: reading a page of records exactly
//! (HGETALL, the memberships of every set each may be in with SMISMEMBER
//! per set, the zset scores with ZMSCORE, its pointers with GET, all in
//! one pipeline), deleting a batch of them in one `scripts/prune_batch.lua`
//! call guarded by what was read (one audit entry per batch), and
//! re-creating one record as a backup holds it (`scripts/restore_record.lua`,
//! one audit entry per record).
//!
//! Owns: [`ExactRead`], the digest of a record's fields both sides compute
//! ([`record_digest`]), [`PruneBatch`] and [`RestoreRecord`] (everything
//! one call touches, as bytes, built by `plan::prune`) and reading the
//! scripts' replies. Must not: build keys or decide which records to take.

use std::collections::HashMap;

use anyhow::{anyhow, Result};
use redis::Value;

use super::delete::DeleteOutcome;
use super::moves::SkipReason;
use super::script::{code_and_rest, scripts, Invocation};
use super::{reply, Reply, Store, StoreError};
use crate::bytes::escape_bytes;

/// A key asking about a set: its index among the keys, and the set's
/// position in its own list.
type Asker = (usize, usize);

/// One record as read, exactly.
#[derive(Debug, Clone, PartialEq)]
pub enum ExactRead {
    /// A hash: its fields in HGETALL's order, whether it is in each set
    /// asked about, and its score (as Redis wrote it) in each zset.
    Record {
        fields: Vec<(Vec<u8>, Vec<u8>)>,
        in_sets: Vec<bool>,
        scores: Vec<Option<Vec<u8>>>,
        /// The value of each string key asked about (its pointers), `None`
        /// where it does not exist.
        strings: Vec<Option<Vec<u8>>>,
    },
    /// Gone since it was listed (a worker moved it).
    Gone,
    /// This key (the record or one of its sets or zsets) has another type.
    WrongType(Vec<u8>),
}

/// The digest the prune script checks a record's fields against: sha1 hex
/// of HGETALL's reply (names and values, in its order) packed as a msgpack
/// array of strings, exactly as Lua's `cmsgpack.pack` packs it (fixstr,
/// str8, str16, str32 by length; fixarray, array16, array32).
pub fn record_digest<'a>(fields: impl IntoIterator<Item = (&'a [u8], &'a [u8])>) -> String {
    let items: Vec<&[u8]> = fields.into_iter().flat_map(|(n, v)| [n, v]).collect();
    let mut buf: Vec<u8> =
        Vec::with_capacity(16 + items.iter().map(|i| i.len() + 5).sum::<usize>());
    let n = items.len();
    if n < 16 {
        buf.push(0x90 | n as u8);
    } else if n <= 0xffff {
        buf.push(0xdc);
        buf.extend_from_slice(&(n as u16).to_be_bytes());
    } else {
        buf.push(0xdd);
        buf.extend_from_slice(&(n as u32).to_be_bytes());
    }
    for i in items {
        let l = i.len();
        if l < 32 {
            buf.push(0xa0 | l as u8);
        } else if l < 256 {
            buf.push(0xd9);
            buf.push(l as u8);
        } else if l <= 0xffff {
            buf.push(0xda);
            buf.extend_from_slice(&(l as u16).to_be_bytes());
        } else {
            buf.push(0xdb);
            buf.extend_from_slice(&(l as u32).to_be_bytes());
        }
        buf.extend_from_slice(i);
    }
    sha1_smol::Sha1::from(&buf).digest().to_string()
}

/// One record of a prune batch, fully planned.
#[derive(Debug, Clone, PartialEq)]
pub struct PruneStep {
    pub key: Vec<u8>,
    pub job_id: Vec<u8>,
    /// Every set it may be in, the class set last, and whether it was.
    pub sets: Vec<Vec<u8>>,
    pub in_sets: Vec<bool>,
    pub zsets: Vec<Vec<u8>>,
    pub scores: Vec<Option<Vec<u8>>>,
    /// String keys deleted with it (its pointers), and the value each had
    /// (`None`: it did not exist, and must not).
    pub strings: Vec<Vec<u8>>,
    pub values: Vec<Option<Vec<u8>>>,
    pub digest: String,
}

/// One call of the prune script.
#[derive(Debug, Clone, PartialEq)]
pub struct PruneBatch {
    pub audit_stream: Vec<u8>,
    pub audit_maxlen: u64,
    /// The audit header (see `Audit::header`).
    pub header: Vec<Vec<u8>>,
    /// The backup file's absolute path (empty without one).
    pub backup: Vec<u8>,
    pub steps: Vec<PruneStep>,
}

impl PruneBatch {
    fn invocation(&self) -> Invocation {
        let n = |v: usize| v.to_string().into_bytes();
        let mut keys = vec![self.audit_stream.clone()];
        let mut args = vec![
            self.audit_maxlen.to_string().into_bytes(),
            n(self.steps.len()),
            n(self.header.len()),
        ];
        args.extend(self.header.iter().cloned());
        args.push(self.backup.clone());
        for s in &self.steps {
            keys.push(s.key.clone());
            keys.extend(s.sets.iter().cloned());
            keys.extend(s.zsets.iter().cloned());
            keys.extend(s.strings.iter().cloned());
            args.push(n(s.sets.len()));
            args.push(n(s.zsets.len()));
            args.push(n(s.strings.len()));
            args.push(s.digest.clone().into_bytes());
            args.push(
                s.in_sets
                    .iter()
                    .map(|&b| if b { b'1' } else { b'0' })
                    .collect(),
            );
            args.push(
                s.values
                    .iter()
                    .map(|v| if v.is_some() { b'1' } else { b'0' })
                    .collect(),
            );
            args.extend(s.scores.iter().map(|x| x.clone().unwrap_or_default()));
            args.extend(s.values.iter().map(|x| x.clone().unwrap_or_default()));
            args.push(s.job_id.clone());
        }
        Invocation { keys, args }
    }
}

/// One record re-created, fully planned.
#[derive(Debug, Clone, PartialEq)]
pub struct RestoreRecord {
    pub key: Vec<u8>,
    pub audit_stream: Vec<u8>,
    pub audit_maxlen: u64,
    pub fields: Vec<(Vec<u8>, Vec<u8>)>,
    pub sets: Vec<Vec<u8>>,
    /// Zsets and the score text to ZADD with.
    pub zsets: Vec<(Vec<u8>, Vec<u8>)>,
    /// Keys that must not exist: the job under every other status.
    pub absent: Vec<Vec<u8>>,
    /// String keys to SET (must not exist): its pointers.
    pub strings: Vec<(Vec<u8>, Vec<u8>)>,
    /// XADD field/value list (see `Audit::entry`).
    pub audit: Vec<Vec<u8>>,
}

impl RestoreRecord {
    fn invocation(&self) -> Invocation {
        let n = |v: usize| v.to_string().into_bytes();
        let mut keys = vec![self.key.clone(), self.audit_stream.clone()];
        keys.extend(self.sets.iter().cloned());
        keys.extend(self.zsets.iter().map(|(z, _)| z.clone()));
        keys.extend(self.absent.iter().cloned());
        keys.extend(self.strings.iter().map(|(k, _)| k.clone()));
        let mut args = vec![
            self.audit_maxlen.to_string().into_bytes(),
            n(self.sets.len()),
            n(self.zsets.len()),
            n(self.absent.len()),
            n(self.fields.len()),
            n(self.strings.len()),
        ];
        for (f, v) in &self.fields {
            args.push(f.clone());
            args.push(v.clone());
        }
        args.extend(self.zsets.iter().map(|(_, s)| s.clone()));
        args.extend(self.strings.iter().map(|(_, v)| v.clone()));
        args.extend(self.audit.iter().cloned());
        Invocation { keys, args }
    }
}

/// What came of re-creating one record.
#[derive(Debug, Clone, PartialEq)]
pub enum RestoreOutcome {
    Restored,
    /// Nothing written: the key exists, or another record of the job does.
    Skipped(SkipReason),
    WrongType(Vec<u8>),
    Error(StoreError),
}

impl Store {
    /// Load the prune script (before the first batch).
    pub async fn load_prune_script(&mut self) -> Result<()> {
        self.load_script(&scripts().prune_batch).await
    }

    /// Load the restore script (before the first record).
    pub async fn load_restore_script(&mut self) -> Result<()> {
        self.load_script(&scripts().restore_record).await
    }

    /// Read `keys` exactly, in one round trip: each one's HGETALL, its
    /// membership of each of its `sets` (SMISMEMBER per distinct set), its
    /// score in each of `zsets` (ZMSCORE per zset) and the value of each of
    /// its `strings` (GET; its pointers). A reply jobq cannot read fails
    /// the whole read.
    pub async fn read_exact(
        &mut self,
        keys: &[Vec<u8>],
        sets: &[Vec<Vec<u8>>],
        zsets: &[Vec<u8>],
        strings: &[Vec<Vec<u8>>],
    ) -> Result<Vec<ExactRead>> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let cmds = self.server.commands;
        // Which keys ask about each distinct set, and at which position of
        // their own list.
        let mut by_set: Vec<(&[u8], Vec<Asker>)> = Vec::new();
        let mut at: HashMap<&[u8], usize> = HashMap::new();
        for (ki, ss) in sets.iter().enumerate() {
            for (si, s) in ss.iter().enumerate() {
                let i = *at.entry(s.as_slice()).or_insert_with(|| {
                    by_set.push((s.as_slice(), Vec::new()));
                    by_set.len() - 1
                });
                by_set[i].1.push((ki, si));
            }
        }
        let mut pipe = redis::pipe();
        for k in keys {
            pipe.cmd("HGETALL").arg(k.as_slice());
        }
        for (set, who) in &by_set {
            cmds.ask_members(
                &mut pipe,
                set,
                who.iter().map(|&(ki, _)| keys[ki].as_slice()),
            );
        }
        for z in zsets {
            if cmds.zmscore {
                let c = pipe.cmd("ZMSCORE").arg(z.as_slice());
                for k in keys {
                    c.arg(k.as_slice());
                }
            } else {
                for k in keys {
                    pipe.cmd("ZSCORE").arg(z.as_slice()).arg(k.as_slice());
                }
            }
        }
        for ss in strings {
            for s in ss {
                pipe.cmd("GET").arg(s.as_slice());
            }
        }
        let replies = self.pipeline(&mut pipe).await?;
        let mut r = replies.into_iter();
        let mut next = || r.next().unwrap_or_else(|| Err("missing reply".into()));
        let mut out: Vec<ExactRead> = Vec::with_capacity(keys.len());
        for (k, ss) in keys.iter().zip(sets) {
            out.push(match next() {
                Ok(v) => match pairs(v) {
                    Some(f) if f.is_empty() => ExactRead::Gone,
                    Some(fields) => ExactRead::Record {
                        fields,
                        in_sets: vec![false; ss.len()],
                        scores: vec![None; zsets.len()],
                        strings: Vec::new(),
                    },
                    None => return Err(anyhow!("HGETALL {}: unexpected reply", escape_bytes(k))),
                },
                Err(e) if e.is_wrong_type() => ExactRead::WrongType(k.clone()),
                Err(e) => return Err(anyhow!("HGETALL {}: {e}", escape_bytes(k))),
            });
        }
        for (set, who) in &by_set {
            let flags = cmds
                .take_members(&mut next, who.len())
                .map_err(|e| anyhow!("{}: {e}", escape_bytes(set)))?;
            for (j, &(ki, si)) in who.iter().enumerate() {
                match (&mut out[ki], &flags) {
                    (ExactRead::Record { in_sets, .. }, Some(f)) => {
                        in_sets[si] = f.get(j).copied().unwrap_or(false)
                    }
                    (o @ ExactRead::Record { .. }, None) => *o = ExactRead::WrongType(set.to_vec()),
                    _ => {}
                }
            }
        }
        for (zi, z) in zsets.iter().enumerate() {
            let scores: Vec<Reply> = if cmds.zmscore {
                match next() {
                    Ok(v) => match v {
                        Value::Array(items) => items.into_iter().map(Ok).collect(),
                        other => return Err(anyhow!("ZMSCORE: unexpected reply {other:?}")),
                    },
                    Err(e) if e.is_wrong_type() => {
                        vec![Err(e); keys.len()]
                    }
                    Err(e) => return Err(anyhow!("ZMSCORE {}: {e}", escape_bytes(z))),
                }
            } else {
                (0..keys.len()).map(|_| next()).collect()
            };
            for (ki, s) in scores.into_iter().enumerate() {
                let Some(ExactRead::Record { scores, .. }) = out.get_mut(ki) else {
                    continue;
                };
                match s {
                    Ok(Value::Nil) => {}
                    Ok(Value::Double(d)) => scores[zi] = Some(format!("{d}").into_bytes()),
                    Ok(v) => match reply::into_bytes(v) {
                        Some(b) => scores[zi] = Some(b),
                        None => {
                            return Err(anyhow!("ZSCORE {}: unexpected reply", escape_bytes(z)))
                        }
                    },
                    Err(e) if e.is_wrong_type() => out[ki] = ExactRead::WrongType(z.clone()),
                    Err(e) => return Err(anyhow!("ZSCORE {}: {e}", escape_bytes(z))),
                }
            }
        }
        for (ki, ss) in strings.iter().enumerate() {
            for s in ss {
                let v = match next() {
                    Ok(Value::Nil) => None,
                    Ok(v) => Some(
                        reply::into_bytes(v)
                            .ok_or_else(|| anyhow!("GET {}: unexpected reply", escape_bytes(s)))?,
                    ),
                    Err(e) if e.is_wrong_type() => {
                        if let Some(o @ ExactRead::Record { .. }) = out.get_mut(ki) {
                            *o = ExactRead::WrongType(s.clone());
                        }
                        continue;
                    }
                    Err(e) => return Err(anyhow!("GET {}: {e}", escape_bytes(s))),
                };
                if let Some(ExactRead::Record { strings, .. }) = out.get_mut(ki) {
                    strings.push(v);
                }
            }
        }
        Ok(out)
    }

    /// Run prune batches, pipelined (one script call each); per batch, one
    /// outcome per step. An error of the whole round trip is returned as
    /// such: which batches ran is then unknown.
    pub async fn prune_batches(
        &mut self,
        batches: &[PruneBatch],
    ) -> Result<Vec<Vec<DeleteOutcome>>> {
        let calls: Vec<Invocation> = batches.iter().map(PruneBatch::invocation).collect();
        if calls.is_empty() {
            return Ok(Vec::new());
        }
        let replies = self.eval_many(&scripts().prune_batch, &calls).await?;
        Ok(batches
            .iter()
            .zip(replies)
            .map(|(b, r)| batch_outcomes(r, b.steps.len()))
            .collect())
    }

    /// Re-create records, pipelined (one script call each); one outcome per
    /// record, in order.
    pub async fn restore_records(
        &mut self,
        records: &[RestoreRecord],
    ) -> Result<Vec<RestoreOutcome>> {
        let calls: Vec<Invocation> = records.iter().map(RestoreRecord::invocation).collect();
        if calls.is_empty() {
            return Ok(Vec::new());
        }
        let replies = self.eval_many(&scripts().restore_record, &calls).await?;
        Ok(replies.into_iter().map(restore_outcome).collect())
    }
}

/// HGETALL's reply as pairs: a flat array (RESP2) or a map (RESP3).
fn pairs(v: Value) -> Option<Vec<(Vec<u8>, Vec<u8>)>> {
    match v {
        Value::Array(items) => {
            let mut out = Vec::with_capacity(items.len() / 2);
            let mut it = items.into_iter();
            while let Some(f) = it.next() {
                out.push((reply::into_bytes(f)?, reply::into_bytes(it.next()?)?));
            }
            Some(out)
        }
        Value::Map(m) => m
            .into_iter()
            .map(|(f, v)| Some((reply::into_bytes(f)?, reply::into_bytes(v)?)))
            .collect(),
        _ => None,
    }
}

fn batch_outcomes(r: Reply, n: usize) -> Vec<DeleteOutcome> {
    let v = match r {
        Ok(v) => v,
        Err(e) => return vec![DeleteOutcome::Error(e); n],
    };
    let odd =
        |v: &Value| DeleteOutcome::Error(StoreError::Other(format!("unexpected reply {v:?}")));
    let Some(items) = reply::array(&v) else {
        return vec![odd(&v); n];
    };
    let mut out: Vec<DeleteOutcome> = items
        .iter()
        .map(|item| {
            let Some((code, rest)) = code_and_rest(item) else {
                return odd(item);
            };
            match (code, rest.first().and_then(reply::bytes)) {
                (1, _) => DeleteOutcome::Deleted,
                (0, Some(b)) => {
                    SkipReason::parse(&b).map_or_else(|| odd(item), DeleteOutcome::Skipped)
                }
                (3, Some(key)) => DeleteOutcome::WrongType(key),
                _ => odd(item),
            }
        })
        .collect();
    out.resize_with(n, || odd(&v));
    out
}

fn restore_outcome(r: Reply) -> RestoreOutcome {
    let v = match r {
        Ok(v) => v,
        Err(e) => return RestoreOutcome::Error(e),
    };
    let odd = || RestoreOutcome::Error(StoreError::Other(format!("unexpected reply {v:?}")));
    let Some((code, rest)) = code_and_rest(&v) else {
        return odd();
    };
    match (code, rest.first().and_then(reply::bytes)) {
        (1, _) => RestoreOutcome::Restored,
        (0, Some(b)) => SkipReason::parse(&b).map_or_else(odd, RestoreOutcome::Skipped),
        (3, Some(key)) => RestoreOutcome::WrongType(key),
        _ => odd(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_digest_packs_as_cmsgpack_does_so_no_two_splits_collide() {
        let a = record_digest([(&b"ab"[..], &b"c"[..])]);
        let b = record_digest([(&b"a"[..], &b"bc"[..])]);
        assert_ne!(a, b);
        // [ "ab", "c" ]: fixarray 2, fixstr 2, fixstr 1.
        let packed = b"\x92\xa2ab\xa1c";
        assert_eq!(a, sha1_smol::Sha1::from(&packed[..]).digest().to_string());
        let long = vec![b'x'; 40];
        let d = record_digest([(&b"f"[..], long.as_slice())]);
        let mut packed = b"\x92\xa1f\xd9\x28".to_vec();
        packed.extend_from_slice(&long);
        assert_eq!(d, sha1_smol::Sha1::from(&packed).digest().to_string());
    }
}
