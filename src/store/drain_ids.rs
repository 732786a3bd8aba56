//! The reads `drain --ids` polls with: for many jobs at once, whether each
//! of their candidate record keys is a member of a status index (one
//! SMISMEMBER per index per batch of keys), and whether keys exist (one
//! EXISTS per key). Pipelined, a bounded number of commands per round trip,
//! so that thousands of jobs cost a few round trips, not one per job.
//!
//! Owns: the pipelines and reading their replies. Must not: build keys
//! (the caller hands them over, built by `schema`), judge what the answers
//! mean, or print. A reply jobq cannot read fails the whole read: it is
//! never taken for "not a member" or "gone".

use anyhow::{anyhow, Result};

use super::drain::{take_flags, Unavailable};
use super::{reply, Store};
use crate::bytes::escape_bytes;

/// One membership question: which of `members` are in `set`.
#[derive(Debug, Clone)]
pub struct MemberAsk<'a> {
    pub set: &'a [u8],
    pub members: Vec<&'a [u8]>,
}

impl Store {
    /// The answer to each ask, in order. `per_trip` asks go in one round
    /// trip (each ask is one SMISMEMBER, or one SISMEMBER per member on a
    /// server without it).
    pub async fn members_in(
        &mut self,
        asks: &[MemberAsk<'_>],
        per_trip: usize,
    ) -> Result<Vec<Vec<bool>>> {
        let cmds = self.server.commands;
        let mut out = Vec::with_capacity(asks.len());
        for trip in asks.chunks(per_trip.max(1)) {
            let mut pipe = redis::pipe();
            for a in trip {
                cmds.ask_members(&mut pipe, a.set, a.members.iter().copied());
            }
            let replies = self.read_pipe(&mut pipe).await?;
            let mut r = replies.into_iter();
            let mut next = || r.next().unwrap_or_else(|| Err("no reply".into()));
            for a in trip {
                if a.members.is_empty() {
                    out.push(Vec::new());
                    continue;
                }
                out.push(take_flags(cmds, a.set, &mut next, a.members.len())?);
            }
        }
        Ok(out)
    }

    /// Whether each of `keys` exists, `per_trip` EXISTS per round trip.
    pub async fn keys_exist(&mut self, keys: &[Vec<u8>], per_trip: usize) -> Result<Vec<bool>> {
        let mut out = Vec::with_capacity(keys.len());
        for trip in keys.chunks(per_trip.max(1)) {
            let mut pipe = redis::pipe();
            for k in trip {
                pipe.cmd("EXISTS").arg(k.as_slice());
            }
            let replies = self.read_pipe(&mut pipe).await?;
            if replies.len() != trip.len() {
                return Err(Unavailable(format!(
                    "{} EXISTS: {} replies",
                    trip.len(),
                    replies.len()
                ))
                .into());
            }
            for (k, r) in trip.iter().zip(replies) {
                let v = r.map_err(|e| anyhow!("EXISTS {}: {e}", escape_bytes(k)))?;
                match reply::int(&v) {
                    Some(n) => out.push(n > 0),
                    None => {
                        return Err(anyhow!(
                            "EXISTS {}: unexpected reply {v:?}",
                            escape_bytes(k)
                        ))
                    }
                }
            }
        }
        Ok(out)
    }
}
