//! The reads `jobq inspect` needs: set sizes in one snapshot, keyspace and
//! set walks a page at a time, membership checks, and hashes read with every
//! value's size checked before the value itself.
//!
//! Owns: these read-only commands and the shapes of their replies. Must not:
//! write, format keys (they come from `schema`), decode values or judge what
//! they mean (that is `cmd::inspect`).

use anyhow::{anyhow, bail, Context, Result};
use redis::Value;

use super::{reply, Reply, Store};

/// A set's size, or the server's refusal (a key of another type).
pub type Size = std::result::Result<u64, String>;

/// A stored hash value, or only its length when it is over the cap.
#[derive(Debug, Clone, PartialEq)]
pub enum RawValue {
    Bytes(Vec<u8>),
    TooLarge(u64),
}

/// One key as found: its type, expiry and (for a hash) its fields.
#[derive(Debug, Clone, PartialEq)]
pub struct RawRecord {
    pub key: Vec<u8>,
    /// `TYPE`: `hash`, `none` (gone), or any other type.
    pub redis_type: String,
    /// `PTTL`: -1 without expiry, -2 when the key is gone.
    pub pttl_ms: i64,
    /// `HLEN` of a hash.
    pub hash_len: Option<u64>,
    /// The fields present, in the order asked for (or `HKEYS` order).
    pub fields: Vec<(Vec<u8>, RawValue)>,
    /// Fields of a hash too wide to list; only the declared ones were read.
    pub fields_not_listed: u64,
}

/// Which hash fields to read.
#[derive(Debug, Clone, Copy)]
pub enum FieldSelection<'a> {
    /// Only these (`HMGET`): a list page.
    Declared(&'a [String]),
    /// Every field (`HKEYS`), unless the hash has more than `max_fields`;
    /// then only the declared ones.
    All {
        declared: &'a [String],
        max_fields: u64,
    },
}

/// Is `member` in `set`? `sorted` sets are asked with `ZSCORE`.
#[derive(Debug, Clone)]
pub struct MemberCheck {
    pub set: Vec<u8>,
    pub member: Vec<u8>,
    pub sorted: bool,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Membership {
    Absent,
    Present,
    Scored(f64),
}

impl Membership {
    pub fn is_member(self) -> bool {
        !matches!(self, Membership::Absent)
    }
}

/// Keys per pipelined round trip when reading records.
const READ_BATCH: usize = 200;

impl Store {
    /// `SCARD` of every key inside one `MULTI`, so that the sizes are one
    /// snapshot: a job moved between two reads cannot make them disagree.
    pub async fn snapshot_sizes(&mut self, keys: &[Vec<u8>]) -> Result<Vec<Size>> {
        let mut pipe = redis::pipe();
        pipe.cmd("MULTI");
        for k in keys {
            pipe.cmd("SCARD").arg(k.as_slice());
        }
        pipe.cmd("EXEC");
        let replies = self
            .pipeline(&mut pipe)
            .await
            .context("reading set sizes")?;
        let exec = replies
            .last()
            .cloned()
            .unwrap_or_else(|| Err("no reply".into()))
            .map_err(|e| anyhow!("reading set sizes: {e}"))?;
        let items = reply::array(&exec)
            .ok_or_else(|| anyhow!("reading set sizes: unexpected reply {exec:?}"))?;
        if items.len() != keys.len() {
            bail!(
                "reading set sizes: {} replies for {} sets",
                items.len(),
                keys.len()
            );
        }
        Ok(items.iter().map(size_of).collect())
    }

    /// `SCARD` of each key, pipelined (not a snapshot).
    pub async fn sizes(&mut self, keys: &[Vec<u8>]) -> Result<Vec<Size>> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let mut pipe = redis::pipe();
        for k in keys {
            pipe.cmd("SCARD").arg(k.as_slice());
        }
        let replies = self
            .pipeline(&mut pipe)
            .await
            .context("reading set sizes")?;
        Ok(replies
            .into_iter()
            .map(|r| r.map_err(|e| e.to_string()).and_then(|v| size_of(&v)))
            .collect())
    }

    /// Keys in the database (`DBSIZE`, O(1)).
    pub async fn dbsize(&mut self) -> Result<u64> {
        let n: u64 = self.query(&redis::cmd("DBSIZE")).await.context("DBSIZE")?;
        Ok(n)
    }

    /// For each member, whether it is in the set `key` (SMISMEMBER, or
    /// SISMEMBER where the server lacks it). A key of another type is an
    /// error here.
    pub async fn smismember(&mut self, key: &[u8], members: &[Vec<u8>]) -> Result<Vec<bool>> {
        if members.is_empty() {
            return Ok(Vec::new());
        }
        let cmds = self.server.commands;
        let mut pipe = redis::pipe();
        cmds.ask_members(&mut pipe, key, members.iter().map(Vec::as_slice));
        let what = || format!("checking members of {}", crate::bytes::escape_bytes(key));
        let replies = self.pipeline(&mut pipe).await.with_context(what)?;
        let mut r = replies.into_iter();
        let mut next = || r.next().unwrap_or_else(|| Err("missing reply".into()));
        match cmds.take_members(&mut next, members.len()) {
            Ok(Some(flags)) => Ok(flags),
            Ok(None) => Err(anyhow!("WRONGTYPE the key is not a set")).with_context(what),
            Err(e) => Err(anyhow!(e)).with_context(what),
        }
    }

    /// `EXISTS` of each key, pipelined.
    pub async fn exists_many(&mut self, keys: &[Vec<u8>]) -> Result<Vec<bool>> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let mut pipe = redis::pipe();
        for k in keys {
            pipe.cmd("EXISTS").arg(k.as_slice());
        }
        let replies = self.pipeline(&mut pipe).await.context("EXISTS")?;
        keys.iter()
            .zip(&replies)
            .map(|(k, r)| Ok(need(Some(r), "EXISTS", k, reply::int)? == 1))
            .collect()
    }

    /// The members with the lowest scores, `count` of them from `offset`
    /// (`ZRANGE key -inf +inf BYSCORE LIMIT offset count WITHSCORES`).
    pub async fn zrange_lowest(
        &mut self,
        key: &[u8],
        offset: u64,
        count: u64,
    ) -> Result<Vec<(Vec<u8>, f64)>> {
        let cmd = zrange_by_score(
            self.server.commands,
            key,
            "-inf",
            "+inf",
            offset,
            count,
            true,
        );
        let v: Value = self
            .query(&cmd)
            .await
            .with_context(|| format!("ZRANGE {}", crate::bytes::escape_bytes(key)))?;
        scored_members(&v).ok_or_else(|| anyhow!("ZRANGE: unexpected reply {v:?}"))
    }

    /// Membership checks (`SISMEMBER` / `ZSCORE`), pipelined; a check on a
    /// key of the wrong type keeps the server's error in its place.
    pub async fn check_members(
        &mut self,
        checks: &[MemberCheck],
    ) -> Result<Vec<std::result::Result<Membership, String>>> {
        if checks.is_empty() {
            return Ok(Vec::new());
        }
        let mut pipe = redis::pipe();
        for c in checks {
            let cmd = if c.sorted { "ZSCORE" } else { "SISMEMBER" };
            pipe.cmd(cmd).arg(c.set.as_slice()).arg(c.member.as_slice());
        }
        let replies = self
            .pipeline(&mut pipe)
            .await
            .context("checking memberships")?;
        Ok(checks
            .iter()
            .zip(replies)
            .map(|(c, r)| {
                let v = r.map_err(|e| e.to_string())?;
                if let Some(e) = reply::is_error(&v) {
                    return Err(e.to_string());
                }
                if c.sorted {
                    match v {
                        Value::Nil => Ok(Membership::Absent),
                        other => reply::float(&other)
                            .map(Membership::Scored)
                            .ok_or_else(|| format!("unexpected ZSCORE reply {other:?}")),
                    }
                } else {
                    match reply::int(&v) {
                        Some(1) => Ok(Membership::Present),
                        Some(_) => Ok(Membership::Absent),
                        None => Err(format!("unexpected SISMEMBER reply {v:?}")),
                    }
                }
            })
            .collect())
    }

    /// Small values read by name, pipelined: `GET key`, or `HGET key field`
    /// (a pointer and its legacy forms). A read of a key of the wrong type
    /// keeps the server's error in its place.
    pub async fn read_values(
        &mut self,
        reads: &[(Vec<u8>, Option<Vec<u8>>)],
    ) -> Result<Vec<std::result::Result<Option<Vec<u8>>, String>>> {
        if reads.is_empty() {
            return Ok(Vec::new());
        }
        let mut pipe = redis::pipe();
        for (key, field) in reads {
            match field {
                None => pipe.cmd("GET").arg(key.as_slice()),
                Some(f) => pipe.cmd("HGET").arg(key.as_slice()).arg(f.as_slice()),
            };
        }
        let replies = self.pipeline(&mut pipe).await.context("reading pointers")?;
        Ok(replies
            .into_iter()
            .map(|r| {
                let v = r.map_err(|e| e.to_string())?;
                if let Some(e) = reply::is_error(&v) {
                    return Err(e.to_string());
                }
                match v {
                    Value::Nil => Ok(None),
                    other => reply::bytes(&other)
                        .map(Some)
                        .ok_or_else(|| format!("unexpected reply {other:?}")),
                }
            })
            .collect())
    }

    /// Read keys as records: type, expiry, and (for hashes) the selected
    /// fields. A value longer than `cap` bytes is not read, only measured
    /// (`HSTRLEN`), so that a 100 MB field never crosses the wire.
    pub async fn read_records(
        &mut self,
        keys: &[Vec<u8>],
        selection: FieldSelection<'_>,
        cap: u64,
    ) -> Result<Vec<RawRecord>> {
        let mut out = Vec::with_capacity(keys.len());
        for chunk in keys.chunks(READ_BATCH) {
            out.extend(self.read_chunk(chunk, selection, cap).await?);
        }
        Ok(out)
    }

    async fn read_chunk(
        &mut self,
        keys: &[Vec<u8>],
        selection: FieldSelection<'_>,
        cap: u64,
    ) -> Result<Vec<RawRecord>> {
        // Round 1: what each key is.
        let mut pipe = redis::pipe();
        for k in keys {
            pipe.cmd("TYPE").arg(k.as_slice());
            pipe.cmd("PTTL").arg(k.as_slice());
            pipe.cmd("HLEN").arg(k.as_slice());
        }
        let r1 = self.pipeline(&mut pipe).await.context("reading keys")?;
        let mut recs: Vec<RawRecord> = Vec::with_capacity(keys.len());
        for (i, k) in keys.iter().enumerate() {
            let redis_type = need(r1.get(3 * i), "TYPE", k, reply::text)?;
            let pttl_ms = need(r1.get(3 * i + 1), "PTTL", k, reply::int)?;
            let hash = redis_type == "hash";
            let hash_len = if hash {
                Some(need(r1.get(3 * i + 2), "HLEN", k, reply::int)?.max(0) as u64)
            } else {
                None
            };
            recs.push(RawRecord {
                key: k.clone(),
                pttl_ms,
                hash_len,
                redis_type,
                fields: Vec::new(),
                fields_not_listed: 0,
            });
        }

        // Round 2: the field names of each hash.
        let mut names: Vec<Vec<Vec<u8>>> = vec![Vec::new(); recs.len()];
        let mut listed = Vec::new();
        for (i, r) in recs.iter_mut().enumerate() {
            let Some(len) = r.hash_len else { continue };
            let declared = match selection {
                FieldSelection::Declared(d) => d,
                FieldSelection::All {
                    declared,
                    max_fields,
                } => {
                    if len <= max_fields {
                        listed.push(i);
                        continue;
                    }
                    r.fields_not_listed = len;
                    declared
                }
            };
            names[i] = declared.iter().map(|n| n.as_bytes().to_vec()).collect();
        }
        if !listed.is_empty() {
            let mut pipe = redis::pipe();
            for &i in &listed {
                pipe.cmd("HKEYS").arg(recs[i].key.as_slice());
            }
            let r2 = self.pipeline(&mut pipe).await.context("HKEYS")?;
            for (&i, r) in listed.iter().zip(&r2) {
                names[i] = need(Some(r), "HKEYS", &recs[i].key, |v| {
                    reply::array(v).map(|a| a.iter().filter_map(reply::bytes).collect())
                })?;
            }
        }

        // Round 3: how long each value is.
        let mut pipe = redis::pipe();
        let mut asked = 0usize;
        for (r, ns) in recs.iter().zip(&names) {
            for n in ns {
                pipe.cmd("HSTRLEN").arg(r.key.as_slice()).arg(n.as_slice());
                asked += 1;
            }
        }
        if asked == 0 {
            return Ok(recs);
        }
        let r3 = self.pipeline(&mut pipe).await.context("HSTRLEN")?;
        let mut lens = r3.iter();

        // Round 4: the values under the cap. A missing field reads as nil,
        // which HSTRLEN (0) could not tell from an empty value.
        let mut pipe = redis::pipe();
        let mut plan: Vec<Vec<(Vec<u8>, Option<u64>)>> = Vec::with_capacity(recs.len());
        let mut hmgets = Vec::new();
        for (i, (r, ns)) in recs.iter().zip(&names).enumerate() {
            let mut fields = Vec::with_capacity(ns.len());
            let mut small = Vec::new();
            for n in ns {
                let len = need(lens.next(), "HSTRLEN", &r.key, reply::int)?.max(0) as u64;
                if len > cap {
                    fields.push((n.clone(), Some(len)));
                } else {
                    fields.push((n.clone(), None));
                    small.push(n.clone());
                }
            }
            if !small.is_empty() {
                let cmd = pipe.cmd("HMGET").arg(r.key.as_slice());
                for n in &small {
                    cmd.arg(n.as_slice());
                }
                hmgets.push(i);
            }
            plan.push(fields);
        }
        let r4 = if hmgets.is_empty() {
            Vec::new()
        } else {
            self.pipeline(&mut pipe).await.context("HMGET")?
        };
        let mut values: Vec<Vec<Option<Vec<u8>>>> = vec![Vec::new(); recs.len()];
        for (&i, r) in hmgets.iter().zip(&r4) {
            values[i] = need(Some(r), "HMGET", &recs[i].key, |v| {
                reply::array(v).map(|a| a.iter().map(reply::bytes).collect())
            })?;
        }
        for (i, (r, fields)) in recs.iter_mut().zip(plan).enumerate() {
            let mut small_values = values[i].drain(..);
            for (name, too_large) in fields {
                match too_large {
                    Some(len) => r.fields.push((name, RawValue::TooLarge(len))),
                    None => {
                        if let Some(Some(v)) = small_values.next() {
                            r.fields.push((name, RawValue::Bytes(v)));
                        }
                    }
                }
            }
        }
        Ok(recs)
    }
}

fn size_of(v: &Value) -> Size {
    if let Some(e) = reply::is_error(v) {
        return Err(e.to_string());
    }
    reply::int(v)
        .map(|n| n.max(0) as u64)
        .ok_or_else(|| format!("unexpected SCARD reply {v:?}"))
}

/// A reply that must be there and of the expected shape: an error reply,
/// a missing one or an odd one fails the read (the key was replaced with
/// another type between two round trips, or the server refused the
/// command) rather than standing in as a default.
fn need<T>(
    r: Option<&Reply>,
    cmd: &str,
    key: &[u8],
    shape: impl FnOnce(&Value) -> Option<T>,
) -> Result<T> {
    let key = crate::bytes::escape_bytes(key);
    match r {
        None => bail!("{cmd} {key}: no reply"),
        Some(Err(e)) => bail!("{cmd} {key}: {e}"),
        Some(Ok(v)) => shape(v).ok_or_else(|| anyhow!("{cmd} {key}: unexpected reply {v:?}")),
    }
}

/// The members of `key` with scores in `min..=max`, `count` from `offset`:
/// `ZRANGE ... BYSCORE LIMIT` (6.2), or the older `ZRANGEBYSCORE`, which
/// every server has.
pub fn zrange_by_score(
    cmds: super::server::Commands,
    key: &[u8],
    min: &str,
    max: &str,
    offset: u64,
    count: u64,
    with_scores: bool,
) -> redis::Cmd {
    let mut cmd = if cmds.zrange_byscore {
        let mut c = redis::cmd("ZRANGE");
        c.arg(key).arg(min).arg(max).arg("BYSCORE");
        c
    } else {
        let mut c = redis::cmd("ZRANGEBYSCORE");
        c.arg(key).arg(min).arg(max);
        c
    };
    cmd.arg("LIMIT").arg(offset).arg(count);
    if with_scores {
        cmd.arg("WITHSCORES");
    }
    cmd
}

/// `WITHSCORES` replies: flat `[m, s, m, s]` (RESP2) or `[[m, s], ...]` (RESP3).
fn scored_members(v: &Value) -> Option<Vec<(Vec<u8>, f64)>> {
    let items = reply::array(v)?;
    if items.iter().all(|i| reply::array(i).is_some()) {
        return items
            .iter()
            .map(|pair| {
                let p = reply::array(pair)?;
                Some((reply::bytes(p.first()?)?, reply::float(p.get(1)?)?))
            })
            .collect();
    }
    if !items.len().is_multiple_of(2) {
        return None;
    }
    items
        .chunks(2)
        .map(|p| Some((reply::bytes(&p[0])?, reply::float(&p[1])?)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn withscores_in_both_protocols() {
        let flat = Value::Array(vec![
            Value::BulkString(b"a".to_vec()),
            Value::BulkString(b"1.5".to_vec()),
        ]);
        assert_eq!(scored_members(&flat), Some(vec![(b"a".to_vec(), 1.5)]));
        let nested = Value::Array(vec![Value::Array(vec![
            Value::BulkString(b"a".to_vec()),
            Value::Double(1.5),
        ])]);
        assert_eq!(scored_members(&nested), Some(vec![(b"a".to_vec(), 1.5)]));
        assert_eq!(scored_members(&Value::Array(vec![])), Some(vec![]));
        assert_eq!(scored_members(&Value::Int(3)), None);
    }
}
