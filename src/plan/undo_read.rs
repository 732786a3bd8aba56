//! Reading an audit entry (format 2 or 3) as the change it records, in
//! every script's words (see the README's "Audit stream").

use super::{Change, Counter, Note, Pointer, Reading, Shape, Zadd, B};
use crate::store::audit::StreamEntry;

pub(super) fn numbered(e: &StreamEntry, prefix: &str) -> Vec<(String, B)> {
    (1..)
        .map(|i| format!("{prefix}.{i}"))
        .map_while(|n| e.get(&n).map(|v| (n, v.to_vec())))
        .collect()
}

fn prefixed(e: &StreamEntry, prefix: &[u8]) -> Vec<(B, B)> {
    e.fields
        .iter()
        .filter_map(|(f, v)| f.strip_prefix(prefix).map(|f| (f.to_vec(), v.clone())))
        .collect()
}

/// Read one entry (format 2 or 3).
pub fn read(e: &StreamEntry) -> Reading {
    let action = e.text("action");
    if action == crate::store::audit::START {
        return Reading::Start;
    }
    if action == "prune" {
        return Reading::Batch;
    }
    let Some(key) = e.get("key") else {
        return Reading::Opaque(format!("a {action} entry names no key"));
    };
    let is = |f: &str| e.get(f) == Some(b"1");
    let shape = if let Some(to) = e.get("moved_to") {
        Shape::Moved(to.to_vec())
    } else if is("deleted") {
        Shape::Deleted
    } else if action == "create" || action == "restore" || is("created") {
        Shape::Created
    } else if action == "remove_ghost" || action == "remove_pointers" || is("ghost") {
        Shape::Ghost
    } else {
        Shape::InPlace
    };
    let zadd = numbered(e, "zadd")
        .into_iter()
        .map(|(n, z)| Zadd {
            zset: z,
            score: e.get(&format!("{n}.score")).unwrap_or_default().to_vec(),
            before: e.get(&format!("{n}.before")).map(<[u8]>::to_vec),
        })
        .collect();
    let scored = |prefix: &str| -> Vec<(B, B)> {
        numbered(e, prefix)
            .into_iter()
            .map(|(n, z)| (z, e.get(&format!("{n}.score")).unwrap_or_default().to_vec()))
            .collect()
    };
    let counter = match (
        e.get("counter"),
        e.get("counter.field"),
        e.get("counter.before"),
    ) {
        (Some(h), Some(f), Some(b)) => {
            let after = match e.get("counter.after") {
                Some(a) => a.to_vec(),
                None => {
                    let n: i64 = String::from_utf8_lossy(b).parse().unwrap_or(0);
                    (n + 1).to_string().into_bytes()
                }
            };
            Some(Counter {
                hash: h.to_vec(),
                field: f.to_vec(),
                before: b.to_vec(),
                after,
            })
        }
        _ => None,
    };
    let note = if let Some(h) = e.get("note") {
        Some(Note {
            hash: h.to_vec(),
            field: e.get("note.field").unwrap_or(key).to_vec(),
            before: e.get("note.before").map(<[u8]>::to_vec),
            after: e.get("note.after").map(<[u8]>::to_vec),
        })
    } else {
        // Format 2's reap: `forgot` is the first-sightings hash, the note
        // was the old key's.
        e.get("forgot").map(|h| Note {
            hash: h.to_vec(),
            field: key.to_vec(),
            before: e.get("forgot.before").map(<[u8]>::to_vec),
            after: None,
        })
    };
    // The removed fields: undo's `unset.F`, and repoint's `hdel` (the field's
    // name) with `hdel.before` (its value).
    let mut before = prefixed(e, b"before.");
    let mut hdel: Vec<B> = prefixed(e, b"unset.").into_iter().map(|(f, _)| f).collect();
    if let (Some(f), Some(v)) = (e.get("hdel"), e.get("hdel.before")) {
        hdel.push(f.to_vec());
        before.push((f.to_vec(), v.to_vec()));
    }
    Reading::Change(Box::new(Change {
        pointers: pointers(e),
        action,
        job: e.get("job").unwrap_or_default().to_vec(),
        key: key.to_vec(),
        shape,
        before,
        hset: prefixed(e, b"hset."),
        hdel,
        sadd: numbered(e, "sadd").into_iter().map(|(_, s)| s).collect(),
        srem: numbered(e, "srem").into_iter().map(|(_, s)| s).collect(),
        zadd,
        zrem: scored("zrem"),
        zmove: scored("zmove"),
        counter,
        note,
        idempotency: e.get("idempotency").map(<[u8]>::to_vec),
        unclaim: None,
    }))
}

/// The change a prune made to one record, from its backup line (a prune
/// entry names the keys it deleted; the backup file holds them): the
/// record deleted, out of every set and zset it was in.
pub fn pruned(
    key: &[u8],
    job: &[u8],
    fields: Vec<(B, B)>,
    sets: Vec<B>,
    zsets: Vec<(B, B)>,
    strings: Vec<(B, B)>,
) -> Change {
    Change {
        action: "prune".into(),
        job: job.to_vec(),
        key: key.to_vec(),
        shape: Shape::Deleted,
        before: fields,
        hset: Vec::new(),
        hdel: Vec::new(),
        sadd: Vec::new(),
        srem: sets,
        zadd: Vec::new(),
        zrem: zsets,
        zmove: Vec::new(),
        counter: None,
        note: None,
        // An indexed record's pointers, deleted with it.
        pointers: strings
            .into_iter()
            .map(|(key, v)| Pointer {
                key,
                value: None,
                before: Some(v),
            })
            .collect(),
        idempotency: None,
        unclaim: None,
    }
}

/// The keys (and job_ids) a prune entry deleted: `key.N`, `job.N`.
pub fn pruned_keys(e: &StreamEntry) -> Vec<(B, B)> {
    numbered(e, "key")
        .into_iter()
        .enumerate()
        .map(|(i, (_, k))| {
            let job = e
                .get(&format!("job.{}", i + 1))
                .unwrap_or_default()
                .to_vec();
            (k, job)
        })
        .collect()
}

/// Every pointer an entry set or deleted, in each script's words:
/// `pointer.N` (`.value`, `.before`), repoint's `set` (`.value`,
/// `.before`) and `del` (`.value`), remove_pointers' `del.N` (`.value`).
fn pointers(e: &StreamEntry) -> Vec<Pointer> {
    let mut out = Vec::new();
    let get = |n: String| e.get(&n).map(<[u8]>::to_vec);
    for (n, k) in numbered(e, "pointer") {
        out.push(Pointer {
            key: k,
            value: get(format!("{n}.value")),
            before: get(format!("{n}.before")),
        });
    }
    if let Some(k) = e.get("set") {
        out.push(Pointer {
            key: k.to_vec(),
            value: get("set.value".into()),
            before: get("set.before".into()),
        });
    }
    if let Some(k) = e.get("del") {
        out.push(Pointer {
            key: k.to_vec(),
            value: None,
            before: get("del.value".into()),
        });
    }
    for (n, k) in numbered(e, "del") {
        out.push(Pointer {
            key: k,
            value: None,
            before: get(format!("{n}.value")),
        });
    }
    out
}
