//! The pointer reads of an observation under the indexed status layout
//! (docs/layout.md, "The other status layout"): per record, `GET` of its
//! `$IdxPtr:{K}:{field}` and of the 1.8.1-1.8.2 `{K}\x00idxptr\x00{field}`
//! key, and `HGET` of the 1.8.0 `{field}\x00idxset` hash field, asked in
//! the same pipeline (the same MULTI for a re-check) as the memberships, so
//! that the pointer and the sets are seen at one instant.
//!
//! Owns: asking and reading those three replies. Must not: judge them
//! (that is `diagnose::indexed`), or build keys (the probe carries them).

use redis::Value;

use super::{reply, Reply, StoreError};
use crate::bytes::Bytes;
use crate::schema::observed::PointerObs;
use crate::schema::probe::{Layout, Probe};

/// Ask, in `pipe`, for the pointers of every probe that has them.
pub(super) fn ask(pipe: &mut redis::Pipeline, layout: &Layout, probes: &[Probe]) {
    let Some(field) = &layout.legacy_pointer_field else {
        return;
    };
    for p in probes {
        if let Some((ptr, legacy)) = &p.pointers {
            pipe.cmd("GET").arg(ptr.as_slice());
            pipe.cmd("GET").arg(legacy.as_slice());
            pipe.cmd("HGET").arg(p.key.as_slice()).arg(field.as_slice());
        }
    }
}

/// The replies to [`ask`], one entry per probe (`None` for a probe without
/// pointers). A pointer key of another type is noted, not an error; any
/// other error reply is.
pub(super) fn take(
    next: &mut dyn FnMut() -> Reply,
    layout: &Layout,
    probes: &[Probe],
) -> Result<Vec<Option<PointerObs>>, StoreError> {
    let mut out = Vec::with_capacity(probes.len());
    let Some(field) = &layout.legacy_pointer_field else {
        out.resize(probes.len(), None);
        return Ok(out);
    };
    for p in probes {
        let Some((ptr, legacy)) = &p.pointers else {
            out.push(None);
            continue;
        };
        let mut wrong_type = None;
        let mut string = |r: Reply, key: &[u8]| -> Result<Option<Bytes>, StoreError> {
            match r {
                Ok(Value::Nil) => Ok(None),
                Ok(v) => Ok(reply::into_bytes(v).map(Bytes)),
                Err(e) if e.is_wrong_type() => {
                    wrong_type.get_or_insert_with(|| Bytes(key.to_vec()));
                    Ok(None)
                }
                Err(e) => Err(e),
            }
        };
        let value = string(next(), ptr)?;
        let legacy_key_value = string(next(), legacy)?;
        // The record itself of another type is the hash state's to report.
        let legacy_field_value = match next() {
            Ok(Value::Nil) => None,
            Ok(v) => reply::into_bytes(v).map(Bytes),
            Err(e) if e.is_wrong_type() => None,
            Err(e) => return Err(e),
        };
        out.push(Some(PointerObs {
            key: Bytes(ptr.clone()),
            value,
            legacy_key: Bytes(legacy.clone()),
            legacy_key_value,
            legacy_field: Bytes(field.clone()),
            legacy_field_value,
            wrong_type,
        }));
    }
    Ok(out)
}
