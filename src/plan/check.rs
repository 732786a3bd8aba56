//! Checking a plan read from a file against the model before anything is
//! written: a plan file is input like any other, and an edited one must not
//! make jobq write what no scan would have planned. Each step may touch only
//! the sets the model defines for its own key, make only the change its
//! kind allows, and is described from what it does, not from the file's
//! words.
//!
//! Owns: those rules (pure). Must not: talk to Redis, or print.

use crate::bytes::{escape_bytes, Bytes};
use crate::diagnose::Kind;
use crate::schema::{Model, ParsedKey};

use super::{Action, Step};

/// Why one step of a plan file is refused.
pub fn check(model: &Model, a: &Action) -> Result<(), String> {
    if !model.status_in_key() {
        return super::indexed::check(model, a);
    }
    let parsed = model.parse_key(a.key.as_slice()).map_err(|e| {
        format!(
            "its key is not a record key of the {} model ({e})",
            model.class
        )
    })?;
    let sets = Sets::of(model, &parsed);
    let own = model.status_index(model.key_status(&parsed));
    let bad = |what: &str, set: &Bytes| Err(format!("{what} {}", escape_bytes(set.as_slice())));
    match &a.step {
        Step::Reconcile {
            restore,
            overwrite,
            sadd,
            srem,
            zadd,
            ..
        } => {
            if !matches!(
                a.kind,
                Kind::Orphan
                    | Kind::Unlisted
                    | Kind::MultiIndexed
                    | Kind::WrongIndex
                    | Kind::FieldMismatch
                    | Kind::Partial
                    | Kind::SecondaryGap
            ) {
                return Err(format!("a {} finding is never reconciled", a.kind.name()));
            }
            for s in sadd {
                let allowed = s.0 == sets.class || s.0 == own || sets.own_secondary.contains(&s.0);
                if !allowed {
                    return bad(
                        "it adds the record to a set that is not its own class set, status index or key-field index:",
                        s,
                    );
                }
            }
            for s in srem {
                if s.0 == sets.class {
                    return bad("it removes a live record from", s);
                }
                if !sets.is_index(s) {
                    return bad(
                        "it removes the record from a set the model does not define:",
                        s,
                    );
                }
            }
            for (z, _) in zadd {
                if !sets.zsets.contains(&z.0) {
                    return bad("it adds the record to a zset the model does not define:", z);
                }
            }
            for (f, _) in restore.iter().chain(overwrite) {
                if model.field(f).is_none() {
                    return Err(format!(
                        "it writes {f:?}, a field the model does not declare"
                    ));
                }
            }
            if let Some((f, _)) = overwrite.iter().find(|(f, _)| *f != model.status.field) {
                return Err(format!(
                    "it overwrites {f:?}; only the status field is ever overwritten"
                ));
            }
        }
        Step::Repoint(_) | Step::RemovePointers { .. } => {
            return Err("the status of this model is in its key: it has no pointers".into());
        }
        Step::RemoveGhost { srem, zrem } => {
            if !matches!(a.kind, Kind::Dangling | Kind::StaleKey) {
                return Err(format!("a {} finding is not a ghost", a.kind.name()));
            }
            sets.all_known(srem, zrem)?;
        }
        Step::Move {
            to,
            srem,
            sadd,
            zsets,
            ..
        } => {
            if a.kind != Kind::FieldMismatch {
                return Err(format!("a {} finding is never moved", a.kind.name()));
            }
            let to_parsed = model.parse_key(to.as_slice()).map_err(|e| {
                format!(
                    "it moves the record to {}, not a record key ({e})",
                    escape_bytes(to.as_slice())
                )
            })?;
            if model.job_id(&to_parsed) != model.job_id(&parsed)
                || sets.own_secondary != Sets::of(model, &to_parsed).own_secondary
            {
                return Err(format!(
                    "it moves the record to {}, which is not the same job under another status",
                    escape_bytes(to.as_slice())
                ));
            }
            let new_own = model.status_index(model.key_status(&to_parsed));
            for s in sadd {
                if s.0 != sets.class && s.0 != new_own && !sets.own_secondary.contains(&s.0) {
                    return bad("it adds the moved record to a set that is not its own:", s);
                }
            }
            sets.all_known(srem, zsets)?;
        }
        Step::RemoveDuplicate { keep, srem, zrem } => {
            if a.kind != Kind::Duplicate {
                return Err(format!("a {} finding is not a duplicate", a.kind.name()));
            }
            let kept = model.parse_key(keep.as_slice()).map_err(|e| {
                format!(
                    "the record it keeps, {}, is not a record key ({e})",
                    escape_bytes(keep.as_slice())
                )
            })?;
            if model.job_id(&kept) != model.job_id(&parsed) || keep.0 == a.key.0 {
                return Err(format!(
                    "the record it keeps, {}, is not another record of the same job_id",
                    escape_bytes(keep.as_slice())
                ));
            }
            sets.all_known(srem, zrem)?;
        }
    }
    Ok(())
}

/// The sets the model defines around one record key.
struct Sets {
    class: Vec<u8>,
    /// The other key-field indexes for the values in the key.
    own_secondary: Vec<Vec<u8>>,
    zsets: Vec<Vec<u8>>,
    /// Prefixes of every index of a key field (any value).
    index_prefixes: Vec<Vec<u8>>,
}

impl Sets {
    fn of(model: &Model, parsed: &ParsedKey) -> Sets {
        Sets {
            class: model.class_set(),
            own_secondary: model
                .secondary_key_fields()
                .map(|f| model.index_key(&f.name, parsed.get(&f.name)))
                .collect(),
            zsets: model
                .sorted_fields()
                .map(|f| model.sorted_key(&f.name))
                .collect(),
            index_prefixes: model
                .key_fields()
                .map(|f| model.index_prefix(&f.name))
                .collect(),
        }
    }

    /// An index set of one of the model's key fields (any value: a ghost
    /// may sit in an index its key does not name).
    fn is_index(&self, s: &Bytes) -> bool {
        self.index_prefixes.iter().any(|p| s.0.starts_with(p))
    }

    fn all_known(&self, sets: &[Bytes], zsets: &[Bytes]) -> Result<(), String> {
        if let Some(s) = sets.iter().find(|s| s.0 != self.class && !self.is_index(s)) {
            return Err(format!(
                "it removes the record from a set the model does not define: {}",
                escape_bytes(s.as_slice())
            ));
        }
        if let Some(z) = zsets.iter().find(|z| !self.zsets.contains(&z.0)) {
            return Err(format!(
                "it removes the record from a zset the model does not define: {}",
                escape_bytes(z.as_slice())
            ));
        }
        Ok(())
    }
}

/// What a step does, in words, from the step alone: a plan file's own
/// description is not shown, since an edited file could say anything.
pub fn describe(a: &Action) -> String {
    let list = |sets: &[Bytes]| {
        sets.iter()
            .map(|s| escape_bytes(s.as_slice()))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut parts: Vec<String> = Vec::new();
    match &a.step {
        Step::Reconcile {
            restore,
            overwrite,
            sadd,
            srem,
            zadd,
            ..
        } => {
            if !restore.is_empty() {
                let names: Vec<&str> = restore.iter().map(|(f, _)| f.as_str()).collect();
                parts.push(format!("restore {} from the key", names.join(", ")));
            }
            if !overwrite.is_empty() {
                let names: Vec<&str> = overwrite.iter().map(|(f, _)| f.as_str()).collect();
                parts.push(format!("set {} from the key", names.join(", ")));
            }
            if !srem.is_empty() {
                parts.push(format!("remove it from {}", list(srem)));
            }
            if !sadd.is_empty() {
                parts.push(format!("add it to {}", list(sadd)));
            }
            for (z, score) in zadd {
                parts.push(format!(
                    "add it to {} with score {score}",
                    escape_bytes(z.as_slice())
                ));
            }
        }
        Step::RemoveGhost { srem, zrem } => {
            let all: Vec<Bytes> = srem.iter().chain(zrem).cloned().collect();
            parts.push(format!("remove the ghost from {}", list(&all)));
        }
        Step::Repoint(r) => {
            let super::Repoint {
                sadd,
                srem,
                zadd,
                pointer,
                point_to,
                legacy,
                migrate,
                ..
            } = &**r;
            if !srem.is_empty() {
                parts.push(format!("remove it from {}", list(srem)));
            }
            if !sadd.is_empty() {
                parts.push(format!("add it to {}", list(sadd)));
            }
            for (z, score) in zadd {
                parts.push(format!(
                    "add it to {} with score {score}",
                    escape_bytes(z.as_slice())
                ));
            }
            if let Some(to) = point_to {
                parts.push(format!(
                    "point {} at {}",
                    escape_bytes(pointer.as_slice()),
                    escape_bytes(to.as_slice())
                ));
            }
            if *migrate {
                parts.push(format!(
                    "delete the popoto 1.8 pointer {} / hash field {}",
                    escape_bytes(legacy.key.as_slice()),
                    escape_bytes(legacy.field.as_slice())
                ));
            }
        }
        Step::RemovePointers {
            pointers,
            srem,
            zrem,
        } => {
            let keys: Vec<Bytes> = pointers.iter().map(|(k, _)| k.clone()).collect();
            parts.push(format!("delete {}", list(&keys)));
            let all: Vec<Bytes> = srem.iter().chain(zrem).cloned().collect();
            if !all.is_empty() {
                parts.push(format!("remove the ghost from {}", list(&all)));
            }
        }
        Step::Move { to, .. } => {
            parts.push(format!(
                "move the record to {}",
                escape_bytes(to.as_slice())
            ));
        }
        Step::RemoveDuplicate { keep, .. } => {
            parts.push(format!(
                "remove the duplicate {} (keep {})",
                escape_bytes(a.key.as_slice()),
                escape_bytes(keep.as_slice())
            ));
        }
    }
    if parts.is_empty() {
        "nothing to change".into()
    } else {
        parts.join("; ")
    }
}
