//! What `jobq reap` reads and the bookkeeping it keeps in Redis: walking the
//! running index page by page (SSCAN), reading the fields each member needs
//! (pipelined HMGET), heartbeat and counter look-ups, the first-sighting
//! notes, the reaper lock and the time of the last sweep. The moves
//! themselves go through [`super::moves`].
//!
//! Owns: these commands and scripts and the parsing of their replies. Must
//! not: build keys (they come from `schema`) or decide what is stale.

use anyhow::{anyhow, bail, Context, Result};
use redis::Value;

use super::script::{code_and_rest, scripts, Invocation};
use super::{reply, Reply, Store};
use crate::bytes::escape_bytes;

/// The fields of one record HMGET returned (None for a missing field, all
/// None for a missing key), or the server's error (a key of another type).
pub type FieldsRead = std::result::Result<Vec<Option<Vec<u8>>>, String>;

/// The answer to a lock request.
#[derive(Debug, Clone, PartialEq)]
pub enum LockAttempt {
    Acquired,
    /// Held by another owner (its token) for this many more milliseconds.
    Held {
        holder: Vec<u8>,
        ttl_ms: i64,
    },
}

/// Keys per first-sighting script call: each call stays well under a
/// millisecond of server time.
const NOTE_CHUNK: usize = 250;

/// A time as jobq stores it: seconds with microseconds, as text.
pub fn time_text(t: f64) -> String {
    format!("{t:.6}")
}

fn parse_time(b: &[u8]) -> Option<f64> {
    std::str::from_utf8(b)
        .ok()?
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|t| t.is_finite())
}

fn wrong_type(v: &Value) -> Option<String> {
    match code_and_rest(v) {
        Some((3, rest)) => Some(escape_bytes(
            &rest.first().and_then(reply::bytes).unwrap_or_default(),
        )),
        _ => None,
    }
}

impl Store {
    /// Load the move script and reap's own, so that the first page does not
    /// pay a NOSCRIPT round trip per script.
    pub async fn load_reap_scripts(&mut self) -> Result<()> {
        let scripts = scripts();
        self.load_script(&scripts.move_record).await?;
        self.load_script(&scripts.index_swap).await?;
        for s in scripts.reap() {
            self.load_script(s).await?;
        }
        Ok(())
    }

    /// One HSCAN step over a hash's fields (values dropped).
    pub async fn hscan_fields(
        &mut self,
        hash: &[u8],
        cursor: u64,
        count: u32,
    ) -> Result<(u64, Vec<Vec<u8>>)> {
        self.cursor_items(super::cursor::Cursor::Hash(hash), cursor, count)
            .await
    }

    /// The server time and, for each key, the named fields (one round trip:
    /// TIME then one HMGET per key).
    pub async fn read_fields(
        &mut self,
        keys: &[Vec<u8>],
        fields: &[String],
    ) -> Result<(f64, Vec<FieldsRead>)> {
        let mut pipe = redis::pipe();
        pipe.cmd("TIME");
        for k in keys {
            let c = pipe.cmd("HMGET").arg(k.as_slice());
            for f in fields {
                c.arg(f.as_str());
            }
        }
        let mut replies = self
            .pipeline(&mut pipe)
            .await
            .context("reading running jobs")?
            .into_iter();
        let now = match replies.next() {
            Some(Ok(v)) => {
                server_time(&v).ok_or_else(|| anyhow!("TIME: unexpected reply {v:?}"))?
            }
            Some(Err(e)) => bail!("TIME: {e}"),
            None => bail!("TIME: no reply"),
        };
        let reads = replies
            .map(|r| {
                let v = r.map_err(|e| e.to_string())?;
                let items = reply::array(&v).ok_or_else(|| format!("unexpected reply {v:?}"))?;
                Ok(items.iter().map(reply::bytes).collect())
            })
            .collect();
        Ok((now, reads))
    }

    /// Note `now` as the first sighting of each key that has no note yet
    /// (HSETNX, through `reap_note.lua`); each key's note after the call.
    pub async fn note_first_sightings(
        &mut self,
        notes: &[u8],
        now: f64,
        keys: &[Vec<u8>],
    ) -> Result<Vec<Option<f64>>> {
        let now = time_text(now).into_bytes();
        // Several short scripts in one round trip rather than one long one:
        // each is an atomic step that other clients wait for.
        let calls: Vec<Invocation> = keys
            .chunks(NOTE_CHUNK)
            .map(|chunk| {
                let mut args = Vec::with_capacity(chunk.len() + 1);
                args.push(now.clone());
                args.extend(chunk.iter().cloned());
                Invocation {
                    keys: vec![notes.to_vec()],
                    args,
                }
            })
            .collect();
        if calls.is_empty() {
            return Ok(Vec::new());
        }
        let mut out = Vec::with_capacity(keys.len());
        for r in self.eval_many(&scripts().reap_note, &calls).await? {
            let v = r.map_err(|e| anyhow!(e))?;
            if let Some(k) = wrong_type(&v) {
                bail!("{k} is not a hash: cannot keep first sightings there (remove it, or use another --namespace)");
            }
            let items =
                reply::array(&v).ok_or_else(|| anyhow!("reap_note: unexpected reply {v:?}"))?;
            out.extend(
                items
                    .iter()
                    .map(|i| reply::bytes(i).and_then(|b| parse_time(&b))),
            );
        }
        if out.len() != keys.len() {
            bail!("reap_note: {} notes for {} keys", out.len(), keys.len());
        }
        Ok(out)
    }

    /// Read-only counterpart of [`Store::note_first_sightings`] (dry runs):
    /// each key's note, if any.
    pub async fn read_first_sightings(
        &mut self,
        notes: &[u8],
        keys: &[Vec<u8>],
    ) -> Result<Vec<Option<f64>>> {
        Ok(self
            .hmget(notes, keys)
            .await?
            .into_iter()
            .map(|b| b.and_then(|b| parse_time(&b)))
            .collect())
    }

    /// HMGET of one hash; a missing hash reads as all None.
    pub async fn hmget(&mut self, hash: &[u8], fields: &[Vec<u8>]) -> Result<Vec<Option<Vec<u8>>>> {
        if fields.is_empty() {
            return Ok(Vec::new());
        }
        let mut c = redis::cmd("HMGET");
        c.arg(hash);
        for f in fields {
            c.arg(f.as_slice());
        }
        let v: Value = self
            .query(&c)
            .await
            .with_context(|| format!("HMGET {}", escape_bytes(hash)))?;
        let items = reply::array(&v).ok_or_else(|| anyhow!("HMGET: unexpected reply {v:?}"))?;
        Ok(items.iter().map(reply::bytes).collect())
    }

    /// Drop the notes, among `fields`, of keys no longer in `running`
    /// (through `reap_prune.lua`); how many were dropped.
    pub async fn prune_first_sightings(
        &mut self,
        notes: &[u8],
        running: &[u8],
        fields: Vec<Vec<u8>>,
    ) -> Result<u64> {
        if fields.is_empty() {
            return Ok(0);
        }
        let call = Invocation {
            keys: vec![notes.to_vec(), running.to_vec()],
            args: fields,
        };
        let v = one(self.eval_many(&scripts().reap_prune, &[call]).await?)?;
        if let Some(k) = wrong_type(&v) {
            bail!("{k} has the wrong type: cannot prune first sightings");
        }
        reply::int(&v)
            .map(|n| n.max(0) as u64)
            .ok_or_else(|| anyhow!("reap_prune: unexpected reply {v:?}"))
    }

    /// Try to take the lock once.
    pub async fn lock_acquire(
        &mut self,
        lock: &[u8],
        token: &[u8],
        ttl_ms: u64,
    ) -> Result<LockAttempt> {
        let call = Invocation {
            keys: vec![lock.to_vec()],
            args: vec![token.to_vec(), ttl_ms.to_string().into_bytes()],
        };
        let v = one(self.eval_many(&scripts().lock_acquire, &[call]).await?)?;
        match code_and_rest(&v) {
            Some((1, _)) => Ok(LockAttempt::Acquired),
            Some((0, rest)) => Ok(LockAttempt::Held {
                holder: rest.first().and_then(reply::bytes).unwrap_or_default(),
                ttl_ms: rest.get(1).and_then(reply::int).unwrap_or(-1),
            }),
            Some((3, _)) => bail!(
                "{} is not a string: cannot use it as the reaper lock",
                escape_bytes(lock)
            ),
            _ => bail!("lock_acquire: unexpected reply {v:?}"),
        }
    }

    /// Extend the lock if this token still holds it.
    pub async fn lock_extend(&mut self, lock: &[u8], token: &[u8], ttl_ms: u64) -> Result<bool> {
        let call = Invocation {
            keys: vec![lock.to_vec()],
            args: vec![token.to_vec(), ttl_ms.to_string().into_bytes()],
        };
        let v = one(self.eval_many(&scripts().lock_extend, &[call]).await?)?;
        Ok(reply::int(&v) == Some(1))
    }

    /// Release the lock if this token still holds it, recording `finished`
    /// (server seconds) in `last` when given.
    pub async fn lock_release(
        &mut self,
        lock: &[u8],
        last: &[u8],
        token: &[u8],
        finished: Option<f64>,
    ) -> Result<bool> {
        let call = Invocation {
            keys: vec![lock.to_vec(), last.to_vec()],
            args: vec![
                token.to_vec(),
                finished.map(time_text).unwrap_or_default().into_bytes(),
            ],
        };
        let v = one(self.eval_many(&scripts().lock_release, &[call]).await?)?;
        if let Some(k) = wrong_type(&v) {
            bail!("{k} is not a string: cannot record the last sweep there");
        }
        Ok(reply::int(&v) == Some(1))
    }

    /// A time jobq stored as text (the last sweep), if any.
    pub async fn get_time(&mut self, key: &[u8]) -> Result<Option<f64>> {
        let v: Value = self
            .query(redis::cmd("GET").arg(key))
            .await
            .with_context(|| format!("GET {}", escape_bytes(key)))?;
        Ok(reply::bytes(&v).and_then(|b| parse_time(&b)))
    }

    /// SCARD.
    pub async fn scard(&mut self, set: &[u8]) -> Result<u64> {
        let n: i64 = self
            .query(redis::cmd("SCARD").arg(set))
            .await
            .with_context(|| format!("SCARD {}", escape_bytes(set)))?;
        Ok(n.max(0) as u64)
    }
}

fn one(mut replies: Vec<Reply>) -> Result<Value> {
    match replies.pop() {
        Some(r) => r.map_err(|e| anyhow!(e)),
        None => bail!("no reply"),
    }
}

fn server_time(v: &Value) -> Option<f64> {
    let a = reply::array(v)?;
    let s = reply::int(a.first()?)?;
    let us = reply::int(a.get(1)?)?;
    Some(s as f64 + us as f64 / 1e6)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_round_trip_as_text() {
        assert_eq!(time_text(1767225600.5), "1767225600.500000");
        assert_eq!(parse_time(b"1767225600.500000"), Some(1767225600.5));
        assert_eq!(parse_time(b"soon"), None);
        assert_eq!(parse_time(b"\xff"), None);
        assert_eq!(parse_time(b"inf"), None);
    }
}
