//! Sizes of sets and zsets (`SCARD`/`ZCARD`), pipelined, for the scan's
//! totals and the sizing of its walks.
//!
//! Owns: [`Collection`] (whether a key is read as a set or a zset) and the
//! size reads. Must not: decide what a size means for the queue.

use anyhow::Result;

use super::{reply, Store};

/// Which kind of collection a key is read as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Collection {
    Set,
    Zset,
}

impl Store {
    /// `SCARD`/`ZCARD` of several keys; `None` for a key of the wrong type.
    pub async fn cardinalities(
        &mut self,
        keys: &[(Vec<u8>, Collection)],
    ) -> Result<Vec<Option<u64>>> {
        let mut pipe = redis::pipe();
        for (k, kind) in keys {
            pipe.cmd(match kind {
                Collection::Set => "SCARD",
                Collection::Zset => "ZCARD",
            })
            .arg(k.as_slice());
        }
        let replies = self.pipeline(&mut pipe).await?;
        replies
            .into_iter()
            .zip(keys)
            .map(|(r, (k, _))| match r {
                Ok(v) => reply::int(&v)
                    .map(|n| Some(n.max(0) as u64))
                    .ok_or_else(|| {
                        anyhow::anyhow!("{}: unexpected reply {v:?}", crate::bytes::escape_bytes(k))
                    }),
                Err(e) if e.is_wrong_type() => Ok(None),
                Err(e) => Err(anyhow::anyhow!("{}: {e}", crate::bytes::escape_bytes(k))),
            })
            .collect()
    }
}
