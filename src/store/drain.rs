//! The reads `drain` polls with: cheap, bounded, read-only. Set sizes in one
//! MULTI/EXEC; set intersections counted either server-side (SINTERCARD,
//! when the caller knows one side is small) or by walking one set with
//! SSCAN and checking membership in the others with pipelined SMISMEMBER
//! (SISMEMBER where the server lacks it, see `server`);
//! and the lowest-scored zset member that is in given sets.
//!
//! Owns: telling "Redis did not answer" ([`Unavailable`]: worth a reconnect)
//! from "Redis answered with an error" (a wrong-type key: retrying cannot
//! help). Must not: decide when the queue is drained, format keys, or print.

use anyhow::{anyhow, Result};
use redis::{Cmd, FromRedisValue, Pipeline, RedisError, Value};

use super::server::Commands;
use super::{describe_plain, reply, Reply, Store, StoreError};
use crate::bytes::escape_bytes;

/// Redis did not answer: the connection dropped or timed out, or the server
/// is still loading its data. The state of the queue is unknown, not empty.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Unavailable(pub String);

/// Whether an error means Redis did not answer (so a reconnect may help).
pub fn is_unavailable(e: &anyhow::Error) -> bool {
    e.chain().any(|c| c.is::<Unavailable>())
}

/// A failed request: [`Unavailable`] when Redis did not answer or cannot
/// yet (see [`StoreError::is_unavailable`]), else the error as it is.
fn failure(e: &RedisError) -> anyhow::Error {
    let e = StoreError::from_redis(e, describe_plain(e));
    if e.is_unavailable() {
        Unavailable(e.to_string()).into()
    } else {
        e.into()
    }
}

/// The error for one command's error reply about `key`.
fn reply_error(cmd: &str, key: &[u8], e: &StoreError) -> anyhow::Error {
    if matches!(e, StoreError::Busy(_)) {
        return Unavailable(format!("{cmd} {}: {e}", escape_bytes(key))).into();
    }
    let hint = if e.is_wrong_type() {
        " (this key is not the Redis type popoto writes; see `jobq orphans scan`)"
    } else {
        ""
    };
    anyhow!("{cmd} {}: {e}{hint}", escape_bytes(key))
}

/// The flags of one membership question (see
/// [`super::server::Commands::ask_members`]) about `set`, taken from `next`.
/// A set of another type is an error here: drain cannot count through it.
pub(super) fn take_flags(
    cmds: Commands,
    set: &[u8],
    next: &mut dyn FnMut() -> Reply,
    n: usize,
) -> Result<Vec<bool>> {
    let name = if cmds.smismember {
        "SMISMEMBER"
    } else {
        "SISMEMBER"
    };
    match cmds.take_members(next, n) {
        Ok(Some(f)) => Ok(f),
        Ok(None) => Err(reply_error(
            name,
            set,
            &StoreError::from_reply(
                "WRONGTYPE Operation against a key holding the wrong kind of value",
            ),
        )),
        Err(e) => Err(reply_error(name, set, &e)),
    }
}

/// `(cursor, members)` of an SSCAN reply.
fn sscan_page(key: &[u8], r: &Reply) -> Result<(u64, Vec<Vec<u8>>)> {
    let v = r.as_ref().map_err(|e| reply_error("SSCAN", key, e))?;
    let bad = || anyhow!("SSCAN {}: unexpected reply", escape_bytes(key));
    let parts = reply::array(v).ok_or_else(bad)?;
    let [cursor, members] = parts else {
        return Err(bad());
    };
    let cursor = reply::int(cursor)
        .and_then(|c| u64::try_from(c).ok())
        .or_else(|| reply::text(cursor)?.parse().ok())
        .ok_or_else(bad)?;
    let members = reply::array(members)
        .ok_or_else(bad)?
        .iter()
        .map(|m| reply::bytes(m).ok_or_else(bad))
        .collect::<Result<Vec<_>>>()?;
    Ok((cursor, members))
}

impl Store {
    /// One command, with connection failures marked [`Unavailable`].
    async fn read<T: FromRedisValue>(&mut self, cmd: &Cmd) -> Result<T> {
        cmd.query_async(&mut self.con)
            .await
            .map_err(|e| failure(&e))
    }

    /// A pipeline; one reply per command, server errors kept in the replies,
    /// connection failures marked [`Unavailable`].
    pub(super) async fn read_pipe(&mut self, pipe: &mut Pipeline) -> Result<Vec<Reply>> {
        pipe.ignore_errors();
        let replies: Vec<redis::RedisResult<Value>> = pipe
            .query_async(&mut self.con)
            .await
            .map_err(|e| failure(&e))?;
        Ok(replies
            .into_iter()
            .map(|r| r.map_err(|e| StoreError::from_redis(&e, describe_plain(&e))))
            .collect())
    }

    /// How many of `keys` exist (one EXISTS).
    pub async fn count_existing(&mut self, keys: &[Vec<u8>]) -> Result<u64> {
        if keys.is_empty() {
            return Ok(0);
        }
        let mut cmd = redis::cmd("EXISTS");
        for k in keys {
            cmd.arg(k.as_slice());
        }
        self.read(&cmd).await
    }

    /// SCARD of each key, all in one MULTI/EXEC: a job moving from one of
    /// the sets to another (popoto moves in one transaction) is counted in
    /// exactly one of them, never in none.
    pub async fn set_sizes(&mut self, keys: &[Vec<u8>]) -> Result<Vec<u64>> {
        let mut pipe = redis::pipe();
        pipe.atomic();
        for k in keys {
            pipe.cmd("SCARD").arg(k.as_slice());
        }
        let replies = self.read_pipe(&mut pipe).await?;
        if replies.len() != keys.len() {
            return Err(anyhow!(
                "MULTI/EXEC of {} SCARD: {} replies",
                keys.len(),
                replies.len()
            ));
        }
        keys.iter()
            .zip(&replies)
            .map(|(k, r)| {
                let v = r.as_ref().map_err(|e| reply_error("SCARD", k, e))?;
                reply::int(v)
                    .and_then(|n| u64::try_from(n).ok())
                    .ok_or_else(|| anyhow!("SCARD {}: unexpected reply", escape_bytes(k)))
            })
            .collect()
    }

    /// SINTERCARD of `base` with each of `others`, all in one MULTI/EXEC.
    /// Redis iterates the smaller set of each pair: callers must know one
    /// side is small (see `cmd::drain`'s `EXACT_LIMIT`).
    pub async fn intersection_sizes(
        &mut self,
        base: &[u8],
        others: &[Vec<u8>],
    ) -> Result<Vec<u64>> {
        let mut pipe = redis::pipe();
        pipe.atomic();
        for o in others {
            pipe.cmd("SINTERCARD").arg(2).arg(base).arg(o.as_slice());
        }
        let replies = self.read_pipe(&mut pipe).await?;
        if replies.len() != others.len() {
            return Err(anyhow!(
                "MULTI/EXEC of {} SINTERCARD: {} replies",
                others.len(),
                replies.len()
            ));
        }
        others
            .iter()
            .zip(&replies)
            .map(|(k, r)| {
                let v = r.as_ref().map_err(|e| reply_error("SINTERCARD", k, e))?;
                reply::int(v)
                    .and_then(|n| u64::try_from(n).ok())
                    .ok_or_else(|| anyhow!("SINTERCARD {}: unexpected reply", escape_bytes(k)))
            })
            .collect()
    }

    /// Walk `scan` with SSCAN (`COUNT batch`) and count how many of its
    /// members are in each of `check`. One round trip per page: the
    /// SMISMEMBERs of a page go in the same pipeline as the SSCAN of the
    /// next. The walk is not a snapshot: a member moved while it runs may
    /// be missed, and SSCAN may return a member twice while the set is
    /// rehashed, so callers must treat the counts as one sighting.
    pub async fn count_members_in(
        &mut self,
        scan: &[u8],
        check: &[Vec<u8>],
        batch: u32,
    ) -> Result<Vec<u64>> {
        let mut counts = vec![0u64; check.len()];
        let mut pipe = redis::pipe();
        pipe.cmd("SSCAN")
            .arg(scan)
            .arg(0u64)
            .arg("COUNT")
            .arg(batch);
        let mut replies = self.read_pipe(&mut pipe).await?;
        loop {
            let page = replies
                .pop()
                .ok_or_else(|| anyhow!("SSCAN {}: no reply", escape_bytes(scan)))?;
            let (cursor, members) = sscan_page(scan, &page)?;
            if members.is_empty() && cursor == 0 {
                return Ok(counts);
            }
            let cmds = self.server.commands;
            let mut pipe = redis::pipe();
            if !members.is_empty() {
                for c in check {
                    cmds.ask_members(&mut pipe, c, members.iter().map(Vec::as_slice));
                }
            }
            if cursor != 0 {
                pipe.cmd("SSCAN")
                    .arg(scan)
                    .arg(cursor)
                    .arg("COUNT")
                    .arg(batch);
            }
            let got = self.read_pipe(&mut pipe).await?;
            let mut r = got.into_iter();
            if !members.is_empty() {
                let mut next = || r.next().unwrap_or_else(|| Err("no reply".into()));
                for (i, c) in check.iter().enumerate() {
                    let found = take_flags(cmds, c, &mut next, members.len())?;
                    counts[i] += found.into_iter().filter(|&f| f).count() as u64;
                }
            }
            replies = r.collect();
            if cursor == 0 {
                return Ok(counts);
            }
        }
    }

    /// The lowest-scored member of `zset` that is a member of every set in
    /// `within`, with its score. Looks at no more than `limit` members, in
    /// pages of `page` (ZRANGE BYSCORE LIMIT, then SMISMEMBER): the zset
    /// holds jobs of every status, and the oldest ones are usually done.
    /// None when no such member is among the first `limit`.
    pub async fn lowest_member_in(
        &mut self,
        zset: &[u8],
        within: &[Vec<u8>],
        page: usize,
        limit: usize,
    ) -> Result<Option<(Vec<u8>, f64)>> {
        let mut offset = 0usize;
        while offset < limit {
            let cmds = self.server.commands;
            let cmd = super::inspect::zrange_by_score(
                cmds,
                zset,
                "-inf",
                "+inf",
                offset as u64,
                page as u64,
                true,
            );
            let v: Value = self
                .read(&cmd)
                .await
                .map_err(|e| e.context(format!("ZRANGE {}", escape_bytes(zset))))?;
            let entries = scored_members(&v)
                .ok_or_else(|| anyhow!("ZRANGE {}: unexpected reply", escape_bytes(zset)))?;
            if entries.is_empty() {
                return Ok(None);
            }
            let members: Vec<&[u8]> = entries.iter().map(|(m, _)| m.as_slice()).collect();
            let mut pipe = redis::pipe();
            for s in within {
                cmds.ask_members(&mut pipe, s, members.iter().copied());
            }
            let replies = self.read_pipe(&mut pipe).await?;
            let mut r = replies.into_iter();
            let mut next = || r.next().unwrap_or_else(|| Err("no reply".into()));
            let mut all = vec![true; entries.len()];
            for s in within {
                for (a, f) in all
                    .iter_mut()
                    .zip(take_flags(cmds, s, &mut next, entries.len())?)
                {
                    *a &= f;
                }
            }
            if let Some(i) = all.iter().position(|&a| a) {
                return Ok(entries.into_iter().nth(i));
            }
            if entries.len() < page {
                return Ok(None);
            }
            offset += entries.len();
        }
        Ok(None)
    }

    /// The member of `set` that is also in every set of `within` and has
    /// the lowest score in `zset` (ZMSCORE), by walking `set` with SSCAN.
    /// Exact, where paging the zset is bounded; None when no member
    /// qualifies or the walk would pass `limit` members.
    pub async fn lowest_scored_in(
        &mut self,
        set: &[u8],
        zset: &[u8],
        within: &[Vec<u8>],
        batch: u32,
        limit: usize,
    ) -> Result<Option<(Vec<u8>, f64)>> {
        let mut best: Option<(Vec<u8>, f64)> = None;
        let mut cursor = 0u64;
        let mut walked = 0usize;
        loop {
            let mut pipe = redis::pipe();
            pipe.cmd("SSCAN")
                .arg(set)
                .arg(cursor)
                .arg("COUNT")
                .arg(batch);
            let page = self.read_pipe(&mut pipe).await?;
            let page = page
                .first()
                .ok_or_else(|| anyhow!("SSCAN {}: no reply", escape_bytes(set)))?;
            let (next, members) = sscan_page(set, page)?;
            walked += members.len();
            if walked > limit {
                return Ok(None);
            }
            if !members.is_empty() {
                let cmds = self.server.commands;
                let mut pipe = redis::pipe();
                let asked = || members.iter().map(Vec::as_slice);
                cmds.ask_scores(&mut pipe, zset, asked());
                for s in within {
                    cmds.ask_members(&mut pipe, s, asked());
                }
                let replies = self.read_pipe(&mut pipe).await?;
                let mut r = replies.into_iter();
                let mut next = || r.next().unwrap_or_else(|| Err("no reply".into()));
                let name = if cmds.zmscore { "ZMSCORE" } else { "ZSCORE" };
                let scores: Vec<Option<f64>> =
                    match cmds.take_scores(&mut next, members.len()) {
                        Ok(Some(s)) => s,
                        Ok(None) => return Err(reply_error(
                            name,
                            zset,
                            &StoreError::from_reply(
                                "WRONGTYPE Operation against a key holding the wrong kind of value",
                            ),
                        )),
                        Err(e) => return Err(reply_error(name, zset, &e)),
                    };
                let mut ok = vec![true; members.len()];
                for s in within {
                    for (a, f) in ok
                        .iter_mut()
                        .zip(take_flags(cmds, s, &mut next, members.len())?)
                    {
                        *a &= f;
                    }
                }
                for ((m, score), ok) in members.into_iter().zip(scores).zip(ok) {
                    match (score, &best) {
                        (Some(sc), Some((_, b))) if ok && sc < *b => best = Some((m, sc)),
                        (Some(sc), None) if ok => best = Some((m, sc)),
                        _ => {}
                    }
                }
            }
            if next == 0 {
                return Ok(best);
            }
            cursor = next;
        }
    }
}

/// `(member, score)` pairs of a ZRANGE WITHSCORES reply: a flat array
/// (RESP2) or an array of pairs (RESP3).
fn scored_members(v: &Value) -> Option<Vec<(Vec<u8>, f64)>> {
    let items = reply::array(v)?;
    if items.iter().all(|i| reply::array(i).is_some()) {
        items
            .iter()
            .map(|pair| match reply::array(pair)? {
                [m, s] => Some((reply::bytes(m)?, reply::float(s)?)),
                _ => None,
            })
            .collect()
    } else if items.len() % 2 == 0 {
        items
            .chunks(2)
            .map(|c| Some((reply::bytes(&c[0])?, reply::float(&c[1])?)))
            .collect()
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scored_members_both_protocols() {
        let flat = Value::Array(vec![
            Value::BulkString(b"a".to_vec()),
            Value::BulkString(b"1.5".to_vec()),
            Value::BulkString(b"b".to_vec()),
            Value::BulkString(b"2".to_vec()),
        ]);
        assert_eq!(
            scored_members(&flat),
            Some(vec![(b"a".to_vec(), 1.5), (b"b".to_vec(), 2.0)])
        );
        let pairs = Value::Array(vec![Value::Array(vec![
            Value::BulkString(b"a".to_vec()),
            Value::Double(1.5),
        ])]);
        assert_eq!(scored_members(&pairs), Some(vec![(b"a".to_vec(), 1.5)]));
        let odd = Value::Array(vec![Value::BulkString(b"a".to_vec())]);
        assert_eq!(scored_members(&odd), None);
    }

    #[test]
    fn busy_replies_are_unavailable() {
        let e = reply_error(
            "SCARD",
            b"k",
            &"LOADING Redis is loading the dataset in memory".into(),
        );
        assert!(is_unavailable(&e));
        let e = reply_error("SCARD", b"k", &"WRONGTYPE Operation against a key".into());
        assert!(!is_unavailable(&e));
        assert!(format!("{e}").contains("not the Redis type"));
    }
}
