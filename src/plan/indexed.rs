//! Planning under the indexed status layout (docs/layout.md, "The other
//! status layout"): the record's status field is the truth, and a repair
//! puts its `$IndexF` memberships right first, then points its `$IdxPtr` at
//! the set it is now in. A partial record (popoto's create interrupted
//! between its index script and its MULTI) is never completed from
//! nothing; a 1.8.0-1.8.2 pointer is moved over only with
//! `--migrate-pointers`.
//!
//! Owns: the steps of that layout's findings. Must not: talk to Redis,
//! print, or diagnose.

use super::{split_sets, Action, LegacyPointers, Plan, Policy, Repoint, Skip, Step};
use crate::bytes::Bytes;
use crate::diagnose::indexed::dangling_pointers;
use crate::diagnose::{field_status, sorted_score, FieldStatus, Finding, Kind};
use crate::schema::observed::{HashState, Observation};
use crate::schema::Model;

/// Plan one finding of a model whose status is indexed into `plan`.
pub(super) fn plan(model: &Model, f: &Finding, policy: &Policy, plan: &mut Plan) {
    let skip = |reason: String| Skip {
        kind: f.kind,
        job_id: f.job_id.clone(),
        key: f.key.clone(),
        reason,
    };
    let action = |description: String, step: Step| Action {
        kind: f.kind,
        also: f.also.clone(),
        job_id: f.job_id.clone(),
        key: f.key.clone(),
        description,
        step,
    };
    match f.kind {
        Kind::Malformed => plan.untouched.push(skip(f.seen.clone())),
        Kind::Partial => plan.untouched.push(skip(f.repair.clone())),
        Kind::Dangling | Kind::DanglingPointer | Kind::StaleKey => {
            let pointers: Vec<(Bytes, Bytes)> = ghost_pointers(&f.observed);
            let (srem, zrem) = split_sets(model, &f.observed.member_sets());
            let step = if pointers.is_empty() {
                Step::RemoveGhost { srem, zrem }
            } else {
                Step::RemovePointers {
                    pointers,
                    srem,
                    zrem,
                }
            };
            plan.actions.push(action(f.repair.clone(), step));
        }
        _ => match repoint(model, &f.observed, policy.migrate_pointers) {
            Some(step) => {
                let legacy_left = !policy.migrate_pointers
                    && (f.kind == Kind::LegacyPointer || f.also.contains(&Kind::LegacyPointer));
                let mut words = f.repair.clone();
                if legacy_left {
                    words = words
                        .split("; ")
                        .filter(|w| !w.starts_with("with --migrate-pointers"))
                        .collect::<Vec<_>>()
                        .join("; ");
                    words.push_str("; its popoto 1.8 pointer is left (--migrate-pointers)");
                }
                plan.actions.push(action(words, step));
            }
            None if f.kind == Kind::LegacyPointer && !policy.migrate_pointers => plan
                .needs_policy
                .push(skip("needs --migrate-pointers".into())),
            None => plan.untouched.push(skip("nothing safe to do".into())),
        },
    }
}

/// The pointer keys a gone record left, with the values seen.
fn ghost_pointers(obs: &Observation) -> Vec<(Bytes, Bytes)> {
    let Some(p) = &obs.pointer else {
        return Vec::new();
    };
    dangling_pointers(Some(p))
        .into_iter()
        .filter_map(|k| {
            let v = if k == p.key {
                p.value.clone()
            } else {
                p.legacy_key_value.clone()
            };
            v.map(|v| (k, v))
        })
        .collect()
}

/// The step that makes a live record right for the status its field holds;
/// `None` when there is nothing it may do.
fn repoint(model: &Model, obs: &Observation, migrate: bool) -> Option<Step> {
    let HashState::Hash {
        status: Some(raw),
        sorted,
        missing,
        ..
    } = &obs.hash
    else {
        return None;
    };
    if !missing.is_empty() {
        return None;
    }
    let FieldStatus::Text(field) = field_status(Some(raw)) else {
        return None;
    };
    let p = obs.pointer.as_ref()?;
    let right = Bytes(model.status_index(&field));
    let mut sadd = Vec::new();
    let mut srem = Vec::new();
    if obs.class_set.member == Some(false) {
        sadd.push(obs.class_set.set.clone());
    }
    let mut in_right = false;
    for m in &obs.status_sets {
        match m.member {
            Some(true) if m.set == right => in_right = true,
            Some(true) => srem.push(m.set.clone()),
            _ => {}
        }
    }
    srem.extend(obs.found_in.iter().filter(|s| **s != right).cloned());
    if !in_right {
        sadd.push(right.clone());
    }
    for m in &obs.secondary_sets {
        if m.member == Some(false) {
            sadd.push(m.set.clone());
        }
    }
    let mut zadd = Vec::new();
    for z in obs.zsets.iter().filter(|z| z.known && z.score.is_none()) {
        let value = sorted
            .iter()
            .find(|(f, _)| *f == z.field)
            .and_then(|(_, v)| v.as_ref());
        if let Some(score) = value.and_then(sorted_score) {
            zadd.push((z.zset.clone(), score));
        }
    }
    let legacy = LegacyPointers {
        key: p.legacy_key.clone(),
        expect_key: p.legacy_key_value.clone(),
        field: p.legacy_field.clone(),
        expect_field: p.legacy_field_value.clone(),
    };
    let migrate = migrate && p.legacy();
    let point_to = if p.legacy() && !migrate {
        // popoto 1.10.1 falls back to the old pointer only while no $IdxPtr
        // exists: one is written only together with the old one's removal.
        None
    } else if migrate || p.value.as_ref() != Some(&right) {
        Some(right)
    } else {
        None
    };
    if sadd.is_empty() && srem.is_empty() && zadd.is_empty() && point_to.is_none() {
        return None;
    }
    Some(Step::Repoint(Box::new(Repoint {
        expect_status: raw.clone(),
        sadd,
        srem,
        zadd,
        pointer: p.key.clone(),
        expect_pointer: p.value.clone(),
        point_to,
        legacy,
        migrate,
    })))
}

#[cfg(test)]
mod tests;

/// [`super::check::check`] for a model whose status is indexed: a step may
/// touch only the record's own sets, pointer and old pointers, and a
/// repoint may name only the set of the status its guard expects.
pub(super) fn check(model: &Model, a: &Action) -> Result<(), String> {
    use crate::bytes::escape_bytes;
    let parsed = model.parse_key(a.key.as_slice()).map_err(|e| {
        format!(
            "its key is not a record key of the {} model ({e})",
            model.class
        )
    })?;
    let k = a.key.as_slice();
    let field = &model.status.field;
    let class = Bytes(model.class_set());
    let status_prefix = model.index_prefix(field);
    let secondary: Vec<Bytes> = model
        .secondary_key_fields()
        .map(|f| Bytes(model.index_key(&f.name, parsed.get(&f.name))))
        .collect();
    let zsets: Vec<Bytes> = model
        .sorted_fields()
        .map(|f| Bytes(model.sorted_key(&f.name)))
        .collect();
    let pointer = Bytes(model.index_pointer(k, field));
    let legacy_key = Bytes(model.legacy_pointer_key(k, field));
    let bad = |what: &str, s: &Bytes| Err(format!("{what} {}", escape_bytes(s.as_slice())));
    let removable =
        |s: &Bytes| *s == class || s.0.starts_with(&status_prefix) || secondary.contains(s);
    let known = |srem: &[Bytes], zrem: &[Bytes]| -> Result<(), String> {
        if let Some(s) = srem.iter().find(|s| !removable(s)) {
            return bad(
                "it removes the record from a set the model does not define:",
                s,
            );
        }
        if let Some(z) = zrem.iter().find(|z| !zsets.contains(z)) {
            return bad(
                "it removes the record from a zset the model does not define:",
                z,
            );
        }
        Ok(())
    };
    match &a.step {
        Step::Repoint(r) => {
            let Repoint {
                expect_status,
                sadd,
                srem,
                zadd,
                pointer: p,
                point_to,
                legacy,
                ..
            } = &**r;
            if matches!(
                a.kind,
                Kind::Malformed
                    | Kind::Partial
                    | Kind::Dangling
                    | Kind::DanglingPointer
                    | Kind::StaleKey
                    | Kind::Duplicate
                    | Kind::FieldMismatch
            ) {
                return Err(format!("a {} finding is never repointed", a.kind.name()));
            }
            let FieldStatus::Text(status) = field_status(Some(expect_status)) else {
                return Err("its expected status is not a string".into());
            };
            if !model.is_status(&status) {
                return Err(format!("its expected status {status:?} is not declared"));
            }
            let right = Bytes(model.status_index(&status));
            if *p != pointer || legacy.key != legacy_key {
                return bad("it writes a pointer that is not the record's own:", p);
            }
            if legacy.field.0 != model.legacy_pointer_field(field) {
                return bad(
                    "it removes a hash field that is not a pointer:",
                    &legacy.field,
                );
            }
            if let Some(to) = point_to.as_ref().filter(|to| **to != right) {
                return bad(
                    "it points the record at a set its status does not name:",
                    to,
                );
            }
            for s in sadd {
                if *s != class && *s != right && !secondary.contains(s) {
                    return bad(
                        "it adds the record to a set that is not its own class set, status set or key-field index:",
                        s,
                    );
                }
            }
            if let Some(s) = srem.iter().find(|s| **s == class || **s == right) {
                return bad("it removes a live record from", s);
            }
            known(srem, &[])?;
            if let Some((z, _)) = zadd.iter().find(|(z, _)| !zsets.contains(z)) {
                return bad("it adds the record to a zset the model does not define:", z);
            }
        }
        Step::RemovePointers {
            pointers,
            srem,
            zrem,
        } => {
            if !matches!(a.kind, Kind::Dangling | Kind::DanglingPointer) {
                return Err(format!("a {} finding is not a ghost", a.kind.name()));
            }
            if let Some((p, _)) = pointers
                .iter()
                .find(|(p, _)| *p != pointer && *p != legacy_key)
            {
                return bad("it deletes a key that is not the record's pointer:", p);
            }
            known(srem, zrem)?;
        }
        Step::RemoveGhost { srem, zrem } => {
            if !matches!(a.kind, Kind::Dangling | Kind::StaleKey) {
                return Err(format!("a {} finding is not a ghost", a.kind.name()));
            }
            known(srem, zrem)?;
        }
        Step::Reconcile { .. } | Step::Move { .. } | Step::RemoveDuplicate { .. } => {
            return Err(
                "the status of this model is an indexed field: that step is never planned for it"
                    .into(),
            );
        }
    }
    Ok(())
}
