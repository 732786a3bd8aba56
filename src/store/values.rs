//! Reading the stored values of records' fields for `--deep`'s check that
//! each one is valid msgpack, in bounded reads: the lengths first
//! (`HSTRLEN`, pipelined), then only the values short enough to read
//! (`HMGET`), so that a 100 MB field never crosses the wire.
//!
//! Owns: the two pipelined reads. Must not: decide what a value means (see
//! `diagnose::bad_values`).

use anyhow::{anyhow, Result};

use super::{reply, Store};
use crate::bytes::{escape_bytes, Bytes};

/// The longest value `--deep` reads to decode; longer ones are counted as
/// not checked (see [`RecordValues::too_large`]).
pub const VALUE_CHECK_CAP: u64 = 64 * 1024;

/// What one record's fields hold, as far as it was read.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct RecordValues {
    /// The fields present and short enough, with their raw bytes.
    pub values: Vec<(String, Bytes)>,
    /// Fields present but longer than [`VALUE_CHECK_CAP`]: not read.
    pub too_large: u64,
    /// The key is not a hash (any more): nothing was read.
    pub not_a_hash: bool,
}

impl Store {
    /// The raw values of `fields` of each key (see the module doc). A key
    /// that is not a hash reads as `not_a_hash`; any other error fails the
    /// whole read, since a value not read is not a value checked.
    pub async fn record_values(
        &mut self,
        keys: &[Vec<u8>],
        fields: &[String],
    ) -> Result<Vec<RecordValues>> {
        let mut out = vec![RecordValues::default(); keys.len()];
        if keys.is_empty() || fields.is_empty() {
            return Ok(out);
        }
        let mut pipe = redis::pipe();
        for k in keys {
            for f in fields {
                pipe.cmd("HSTRLEN").arg(k.as_slice()).arg(f);
            }
        }
        let lengths = self.pipeline(&mut pipe).await?;
        let mut wanted: Vec<Vec<usize>> = vec![Vec::new(); keys.len()];
        for (i, r) in lengths.into_iter().enumerate() {
            let (ki, fi) = (i / fields.len(), i % fields.len());
            match r {
                Ok(v) => match reply::int(&v) {
                    Some(0) => {}
                    Some(n) if n as u64 <= VALUE_CHECK_CAP => wanted[ki].push(fi),
                    Some(_) => out[ki].too_large += 1,
                    None => {
                        return Err(anyhow!(
                            "{}: unexpected HSTRLEN reply {v:?}",
                            escape_bytes(&keys[ki])
                        ))
                    }
                },
                Err(e) if e.is_wrong_type() => out[ki].not_a_hash = true,
                Err(e) => return Err(anyhow!("{}: {e}", escape_bytes(&keys[ki]))),
            }
        }
        let mut pipe = redis::pipe();
        let asked: Vec<usize> = (0..keys.len())
            .filter(|&ki| !wanted[ki].is_empty() && !out[ki].not_a_hash)
            .collect();
        for &ki in &asked {
            let cmd = pipe.cmd("HMGET").arg(keys[ki].as_slice());
            for &fi in &wanted[ki] {
                cmd.arg(&fields[fi]);
            }
        }
        let replies = self.pipeline(&mut pipe).await?;
        for (&ki, r) in asked.iter().zip(replies) {
            match r {
                Ok(v) => {
                    let items = reply::array(&v).ok_or_else(|| {
                        anyhow!("{}: unexpected HMGET reply {v:?}", escape_bytes(&keys[ki]))
                    })?;
                    for (&fi, item) in wanted[ki].iter().zip(items) {
                        // A field deleted between the two reads is absent.
                        if let Some(raw) = reply::bytes(item) {
                            out[ki].values.push((fields[fi].clone(), Bytes(raw)));
                        }
                    }
                }
                Err(e) if e.is_wrong_type() => out[ki].not_a_hash = true,
                Err(e) => return Err(anyhow!("{}: {e}", escape_bytes(&keys[ki]))),
            }
        }
        Ok(out)
    }
}
