//! Cursor walks: SSCAN, ZSCAN, SCAN MATCH and HSCAN, one step at a time or
//! read ahead by a task of their own. Every walk of a set, a zset, the
//! keyspace or a hash goes through [`Store::cursor_step`], so a walk's
//! reply is parsed in one place.
//!
//! Owns: the cursor commands and their replies ([`Cursor`], [`Page`],
//! [`PagesAhead`]). Must not: decide what to do with the members (that is
//! `scan`), or build keys (they come from `schema`).

use std::collections::HashSet;

use anyhow::{Context, Result};
use redis::Value;

use super::{reply, Collection, Store};

/// What a cursor walks.
#[derive(Debug, Clone, Copy)]
pub enum Cursor<'a> {
    /// `SSCAN set`: members.
    Set(&'a [u8]),
    /// `ZSCAN zset`: members, scores dropped (not sent, where the server
    /// has `NOSCORES`).
    Zset(&'a [u8]),
    /// `SCAN MATCH pattern`: key names.
    Keys(&'a [u8]),
    /// `HSCAN hash`: field names, values dropped.
    Hash(&'a [u8]),
}

impl Cursor<'_> {
    fn command(&self, cursor: u64, count: u32, noscores: bool) -> redis::Cmd {
        let mut cmd = match self {
            Cursor::Set(k) => redis::cmd("SSCAN").arg(*k).arg(cursor).clone(),
            Cursor::Zset(k) => redis::cmd("ZSCAN").arg(*k).arg(cursor).clone(),
            Cursor::Hash(k) => redis::cmd("HSCAN").arg(*k).arg(cursor).clone(),
            Cursor::Keys(p) => redis::cmd("SCAN").arg(cursor).arg("MATCH").arg(*p).clone(),
        };
        cmd.arg("COUNT").arg(count);
        if noscores && matches!(self, Cursor::Zset(_)) {
            cmd.arg("NOSCORES");
        }
        cmd
    }

    /// Whether the reply's items come in pairs (member, score / field,
    /// value), of which the first is kept.
    fn pairs(&self, noscores: bool) -> bool {
        match self {
            Cursor::Zset(_) => !noscores,
            Cursor::Hash(_) => true,
            Cursor::Set(_) | Cursor::Keys(_) => false,
        }
    }

    fn name(&self) -> &'static str {
        match self {
            Cursor::Set(_) => "SSCAN",
            Cursor::Zset(_) => "ZSCAN",
            Cursor::Keys(_) => "SCAN",
            Cursor::Hash(_) => "HSCAN",
        }
    }

    fn key(&self) -> &[u8] {
        match self {
            Cursor::Set(k) | Cursor::Zset(k) | Cursor::Keys(k) | Cursor::Hash(k) => k,
        }
    }
}

/// One step of a cursor walk.
#[derive(Debug, Default)]
pub struct Page {
    /// 0 when the walk is complete.
    pub cursor: u64,
    pub items: Vec<Vec<u8>>,
    /// The walked key has another type: nothing can be walked.
    pub wrong_type: Option<String>,
}

/// Pages of a cursor walk read ahead (see [`Store::pages_ahead`]). Dropping
/// it stops the walk.
pub struct PagesAhead {
    rx: tokio::sync::mpsc::Receiver<Result<Page>>,
    task: tokio::task::JoinHandle<()>,
}

impl PagesAhead {
    /// The next page, or `None` when the walk is complete.
    pub async fn next(&mut self) -> Option<Result<Page>> {
        self.rx.recv().await
    }
}

impl Drop for PagesAhead {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Store {
    /// One step of a walk; a key of another type is a page that says so.
    pub async fn cursor_step(&mut self, walk: Cursor<'_>, cursor: u64, count: u32) -> Result<Page> {
        let noscores = self.server.commands.zscan_noscores;
        let mut pipe = redis::pipe();
        pipe.add_command(walk.command(cursor, count, noscores));
        let r = self
            .pipeline(&mut pipe)
            .await?
            .pop()
            .unwrap_or_else(|| Err("no reply".into()));
        let v = match r {
            Ok(v) => v,
            Err(e) if e.is_wrong_type() => {
                return Ok(Page {
                    wrong_type: Some(e.to_string()),
                    ..Page::default()
                })
            }
            Err(e) => return Err(e.into()),
        };
        parse_page(v, walk.pairs(noscores))
    }

    /// `SSCAN set cursor COUNT n`.
    pub async fn sscan(&mut self, set: &[u8], cursor: u64, count: u32) -> Result<Page> {
        self.cursor_step(Cursor::Set(set), cursor, count).await
    }

    /// `ZSCAN zset cursor COUNT n`: members only.
    pub async fn zscan(&mut self, zset: &[u8], cursor: u64, count: u32) -> Result<Page> {
        self.cursor_step(Cursor::Zset(zset), cursor, count).await
    }

    /// `SCAN cursor MATCH pattern COUNT n`.
    pub async fn scan_keys(&mut self, pattern: &[u8], cursor: u64, count: u32) -> Result<Page> {
        self.cursor_step(Cursor::Keys(pattern), cursor, count).await
    }

    /// One step as `(next cursor, items)`; a key of another type is an
    /// error naming the command and the key.
    pub async fn cursor_items(
        &mut self,
        walk: Cursor<'_>,
        cursor: u64,
        count: u32,
    ) -> Result<(u64, Vec<Vec<u8>>)> {
        let what = || format!("{} {}", walk.name(), crate::bytes::escape_bytes(walk.key()));
        let page = self
            .cursor_step(walk, cursor, count)
            .await
            .with_context(what)?;
        if let Some(e) = page.wrong_type {
            return Err(anyhow::anyhow!(e)).with_context(what);
        }
        Ok((page.cursor, page.items))
    }

    /// One `SSCAN` step: the next cursor (0 at the end) and some members.
    pub async fn sscan_page(
        &mut self,
        key: &[u8],
        cursor: u64,
        count: u32,
    ) -> Result<(u64, Vec<Vec<u8>>)> {
        self.cursor_items(Cursor::Set(key), cursor, count).await
    }

    /// Every key matching `pattern`: a whole `SCAN MATCH` walk, `count` keys
    /// per step. Each step is cheap for the server, but the walk visits the
    /// whole keyspace. The result is deduplicated (SCAN may repeat a key).
    pub async fn scan_match(&mut self, pattern: &[u8], count: u32) -> Result<Vec<Vec<u8>>> {
        let mut cursor: u64 = 0;
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        loop {
            let (next, keys) = self
                .cursor_items(Cursor::Keys(pattern), cursor, count)
                .await
                .context("SCAN")?;
            for k in keys {
                if seen.insert(k.clone()) {
                    out.push(k);
                }
            }
            if next == 0 {
                return Ok(out);
            }
            cursor = next;
        }
    }

    /// The pages of one SSCAN (ZSCAN for a zset) walk, read ahead by a
    /// task of its own: the server always has the next page to work on
    /// while the caller reads the members of the previous ones. The walk
    /// stops at the first error (sent as the last item) or when the
    /// receiver is dropped.
    pub fn pages_ahead(
        &self,
        set: &[u8],
        kind: Collection,
        count: u32,
        depth: usize,
    ) -> PagesAhead {
        let (tx, rx) = tokio::sync::mpsc::channel(depth.max(1));
        let mut store = self.clone();
        let set = set.to_vec();
        let task = tokio::spawn(async move {
            let walk = match kind {
                Collection::Set => Cursor::Set(&set),
                Collection::Zset => Cursor::Zset(&set),
            };
            let mut cursor = 0;
            loop {
                let page = store.cursor_step(walk, cursor, count).await;
                let stop = match &page {
                    Ok(p) => p.cursor == 0 || p.wrong_type.is_some(),
                    Err(_) => true,
                };
                if let Ok(p) = &page {
                    cursor = p.cursor;
                }
                if tx.send(page).await.is_err() || stop {
                    return;
                }
            }
        });
        PagesAhead { rx, task }
    }
}

/// A cursor reply `[cursor, [items...]]`, taken apart by value: a walk's
/// members are most of what a scan receives, and copying each out of the
/// reply cost an allocation. With `pairs`, every second item is dropped.
pub fn parse_page(v: Value, pairs: bool) -> Result<Page> {
    let (Value::Array(parts) | Value::Set(parts)) = v else {
        anyhow::bail!("unexpected cursor reply");
    };
    let mut parts = parts.into_iter();
    let cursor = parts
        .next()
        .as_ref()
        .and_then(|c| {
            reply::int(c)
                .and_then(|c| u64::try_from(c).ok())
                .or_else(|| reply::text(c)?.parse().ok())
        })
        .context("unexpected cursor")?;
    let raw = match parts.next() {
        Some(Value::Array(raw) | Value::Set(raw)) => raw,
        _ => Vec::new(),
    };
    let step = if pairs { 2 } else { 1 };
    let items = raw
        .into_iter()
        .step_by(step)
        .filter_map(reply::into_bytes)
        .collect();
    Ok(Page {
        cursor,
        items,
        wrong_type: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_are_read_from_cursor_replies() {
        let v = Value::Array(vec![
            Value::BulkString(b"17".to_vec()),
            Value::Array(vec![
                Value::BulkString(b"a".to_vec()),
                Value::BulkString(b"1".to_vec()),
                Value::BulkString(b"b".to_vec()),
                Value::BulkString(b"2".to_vec()),
            ]),
        ]);
        let p = parse_page(v.clone(), true).expect("a page");
        assert_eq!(
            (p.cursor, p.items),
            (17, vec![b"a".to_vec(), b"b".to_vec()])
        );
        let p = parse_page(v, false).expect("a page");
        assert_eq!(p.items.len(), 4);
        assert!(parse_page(Value::Nil, false).is_err());
    }

    #[test]
    fn scan_replies() {
        // Moved from `reap` with HSCAN's parser: members need not be UTF-8.
        let v = Value::Array(vec![
            Value::BulkString(b"17".to_vec()),
            Value::Array(vec![Value::BulkString(b"a\xff".to_vec())]),
        ]);
        let p = parse_page(v, false).ok().map(|p| (p.cursor, p.items));
        assert_eq!(p, Some((17, vec![b"a\xff".to_vec()])));
        assert!(parse_page(Value::Nil, false).is_err());
    }

    fn args_of(cmd: &redis::Cmd) -> Vec<Vec<u8>> {
        cmd.args_iter()
            .filter_map(|a| match a {
                redis::Arg::Simple(b) => Some(b.to_vec()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn every_walk_asks_for_count() {
        assert_eq!(
            args_of(&Cursor::Keys(b"p*").command(5, 100, true)),
            [&b"SCAN"[..], b"5", b"MATCH", b"p*", b"COUNT", b"100"].map(<[u8]>::to_vec)
        );
    }

    #[test]
    fn only_a_zset_walk_drops_its_scores_on_the_server() {
        let z = Cursor::Zset(b"z");
        assert_eq!(
            args_of(&z.command(0, 10, true)),
            [&b"ZSCAN"[..], b"z", b"0", b"COUNT", b"10", b"NOSCORES"].map(<[u8]>::to_vec)
        );
        assert_eq!(args_of(&z.command(0, 10, false)).len(), 5);
        assert!(z.pairs(false) && !z.pairs(true));
        let h = Cursor::Hash(b"h");
        assert_eq!(args_of(&h.command(0, 10, true)).len(), 5);
        assert!(h.pairs(true), "HSCAN keeps its pairs");
        assert!(!Cursor::Set(b"s").pairs(true));
    }
}
