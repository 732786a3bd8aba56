//! What moving one record from one status to another touches, in either
//! status layout (docs/layout.md): the one shape `reap` and `retry` (and any
//! later move) fill their guarded step from.
//!
//! Owns: [`status_move`]. Must not: do I/O or choose which records move.

use crate::schema::keys::ParsedKey;
use crate::schema::{Model, StatusLayout};
use crate::store::moves::PointerSwap;

/// The keys of one status move, as `store::moves::MoveRecord` takes them.
#[derive(Debug, Clone, PartialEq)]
pub struct StatusMove {
    /// The record's key after the move (the same key in the indexed layout).
    pub new_key: Vec<u8>,
    /// Sets the record must be in: the set of the status it was read in.
    pub guard_sets: Vec<Vec<u8>>,
    pub srem: Vec<Vec<u8>>,
    pub sadd: Vec<Vec<u8>>,
    /// Zsets whose member is re-keyed (none when the key stays).
    pub zsets: Vec<Vec<u8>>,
    /// The job's keys under the other statuses, which must not exist (a
    /// twin makes it a duplicate; none in the indexed layout).
    pub twins: Vec<Vec<u8>>,
    /// The indexed layout's pointer swap.
    pub pointer: Option<PointerSwap>,
}

/// Move the record `key` (parsed) from status `from` to `to`. Key layout:
/// popoto's re-create under the key naming `to` (every key-field index and
/// the class set left and joined, zset scores moved). Indexed layout:
/// popoto's INDEX_SWAP, in place (the `from` set left, the `to` set joined,
/// the pointer moved from one to the other).
pub fn status_move(
    model: &Model,
    key: &[u8],
    parsed: &ParsedKey,
    from: &str,
    to: &str,
) -> StatusMove {
    let st = &model.status;
    let from_set = model.status_index(from);
    match model.status_layout() {
        StatusLayout::Indexed { unique } => StatusMove {
            new_key: key.to_vec(),
            guard_sets: vec![from_set.clone()],
            srem: vec![from_set.clone()],
            sadd: vec![model.status_index(to)],
            zsets: Vec::new(),
            twins: Vec::new(),
            pointer: Some(PointerSwap {
                key: model.index_pointer(key, &st.field),
                expect: from_set,
                value: model.status_index(to),
                legacy_key: model.legacy_pointer_key(key, &st.field),
                legacy_field: model.legacy_pointer_field(&st.field),
                unique,
            }),
        },
        StatusLayout::Key => {
            let mut srem = vec![model.class_set()];
            let mut sadd = vec![model.class_set()];
            for f in model.keyf_fields() {
                let old = parsed.get(&f.name);
                srem.push(model.index_key(&f.name, old));
                let new = if f.name == st.field { Some(to) } else { old };
                sadd.push(model.index_key(&f.name, new));
            }
            StatusMove {
                new_key: model.rekey(parsed, &st.field, to),
                guard_sets: vec![from_set],
                srem,
                sadd,
                zsets: model
                    .sorted_fields()
                    .map(|f| model.sorted_key(&f.name))
                    .collect(),
                twins: st
                    .values
                    .iter()
                    .filter(|s| *s != from && *s != to)
                    .map(|s| model.rekey(parsed, &st.field, s))
                    .collect(),
                pointer: None,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(b: &[u8]) -> String {
        String::from_utf8_lossy(b).into_owned()
    }

    #[test]
    fn the_key_layout_re_keys() {
        let m = Model::redis_job();
        let key = b"RedisJob:j1:p:running";
        let p = m.parse_key(key).expect("parses");
        let mv = status_move(&m, key, &p, "running", "pending");
        assert_eq!(s(&mv.new_key), "RedisJob:j1:p:pending");
        assert_eq!(mv.guard_sets, [m.status_index("running")]);
        assert!(mv.srem.contains(&m.status_index("running")));
        assert!(mv.sadd.contains(&m.status_index("pending")));
        assert_eq!(mv.zsets, [m.sorted_key("created_at")]);
        assert_eq!(mv.twins.len(), 2);
        assert!(mv.pointer.is_none());
    }

    #[test]
    fn the_indexed_layout_swaps_in_place() {
        let m = Model::from_toml(crate::schema::model::tests::INDEXED_SCHEMA).expect("schema");
        let key = b"Job:j1:p";
        let p = m.parse_key(key).expect("parses");
        let mv = status_move(&m, key, &p, "running", "pending");
        assert_eq!(mv.new_key, key);
        assert_eq!(s(&mv.guard_sets[0]), "$IndexF:Job:status:running");
        assert_eq!(mv.srem, mv.guard_sets);
        assert_eq!(mv.sadd, [b"$IndexF:Job:status:pending".to_vec()]);
        assert!(mv.zsets.is_empty() && mv.twins.is_empty());
        let ptr = mv.pointer.expect("a pointer swap");
        assert_eq!(s(&ptr.key), "$IdxPtr:Job:j1:p:status");
        assert_eq!(ptr.expect, mv.srem[0]);
        assert_eq!(ptr.value, mv.sadd[0]);
        assert_eq!(ptr.legacy_key, b"Job:j1:p\x00idxptr\x00status");
        assert_eq!(ptr.legacy_field, b"status\x00idxset");
    }
}
