//! Diagnosis under the indexed status layout (docs/layout.md, "The other
//! status layout"): the status is a hash field kept in `$IndexF` sets with
//! a `$IdxPtr` pointer per record, not a segment of the key. The record's
//! field is the truth there; the sets and the pointer follow it.
//!
//! Owns: the judgement of one observation of that layout. Must not: talk
//! to Redis, print, or plan (that is `plan::indexed`).

use super::placement::{listing, status_sets, Notes, Placement, Words};
use super::{field_status, join, list, show, sorted_problem, FieldStatus};
use super::{Finding, Kind};
use crate::bytes::{quote, Bytes};
use crate::schema::observed::{HashState, Membership, Observation, PointerObs};
use crate::schema::Model;

/// Classify one record key of a model whose status is indexed. `None`:
/// healthy, or nothing there at all.
pub fn classify(model: &Model, obs: &Observation) -> Option<Finding> {
    let job_id = match model.parse_key(obs.key.as_slice()) {
        Ok(p) => Some(model.job_id(&p).to_owned()),
        Err(e) => {
            return Some(Finding::new(
                Kind::Malformed,
                None,
                obs,
                obs.member_sets(),
                format!("member {e}"),
                "never touched: not a record key of the model; remove it by hand if it is garbage"
                    .into(),
            ));
        }
    };
    let malformed = |seen: String| {
        Some(Finding::new(
            Kind::Malformed,
            job_id.clone(),
            obs,
            obs.member_sets(),
            seen,
            "never touched: fix by hand".into(),
        ))
    };
    if let Some(k) = obs.pointer.as_ref().and_then(|p| p.wrong_type.as_ref()) {
        return malformed(format!("pointer {} is not a string", show(k)));
    }
    match &obs.hash {
        HashState::WrongType { redis_type } => {
            malformed(format!("key is a {redis_type}, not a hash"))
        }
        HashState::Missing => ghost(obs, job_id),
        HashState::Hash {
            status,
            sorted,
            missing,
            ..
        } => {
            let field = match field_status(status.as_ref()) {
                FieldStatus::Bad(why) => return malformed(why),
                FieldStatus::Text(s) if !model.is_status(&s) => {
                    return malformed(format!(
                        "status field {} is not a status the schema declares",
                        quote(&s)
                    ));
                }
                FieldStatus::Text(s) => Some(s),
                FieldStatus::Absent => None,
            };
            for (name, raw) in sorted {
                if let Some(why) = raw.as_ref().and_then(|r| sorted_problem(r.as_slice())) {
                    return malformed(format!("{name} {why}"));
                }
            }
            if let Some(b) = obs.bad_values.first() {
                return malformed(format!(
                    "field {} is not valid msgpack ({})",
                    b.field, b.why
                ));
            }
            if !missing.is_empty() {
                return Some(partial(obs, job_id, missing));
            }
            // A hash whose status field is absent lists it in `missing`.
            let field = field?;
            live(model, obs, job_id, &field, sorted)
        }
    }
}

/// A hash with declared fields missing: popoto's create interrupted between
/// its index script and its MULTI leaves exactly the status field. Its
/// other fields cannot be known, so it is reported, never completed.
fn partial(obs: &Observation, job_id: Option<String>, missing: &[String]) -> Finding {
    let listed = if obs.class_set.member == Some(false) {
        format!(", not in {}", show(&obs.class_set.set))
    } else {
        String::new()
    };
    Finding::new(
        Kind::Partial,
        job_id,
        obs,
        obs.member_sets(),
        format!("hash lacks {}{listed}", list(missing)),
        "reported for a human: its other fields cannot be known (popoto's create stopped between its index script and its MULTI); never completed from nothing".into(),
    )
}

/// Index members and pointers of a record whose hash is gone.
fn ghost(obs: &Observation, job_id: Option<String>) -> Option<Finding> {
    let mut sets = obs.member_sets();
    let pointers = dangling_pointers(obs.pointer.as_ref());
    if sets.is_empty() && pointers.is_empty() {
        return None;
    }
    let mut seen = Vec::new();
    let mut repair = Vec::new();
    let mut kinds = Vec::new();
    if !sets.is_empty() {
        kinds.push(Kind::Dangling);
        seen.push(format!("hash is gone but the key is in {}", join(&sets)));
        repair.push(format!("remove it from {}", join(&sets)));
    }
    if !pointers.is_empty() {
        kinds.push(Kind::DanglingPointer);
        seen.push(format!("pointer {} outlives its record", join(&pointers)));
        repair.push(format!("delete {}", join(&pointers)));
        sets.extend(pointers);
    }
    let mut f = Finding::new(
        kinds[0],
        job_id,
        obs,
        sets,
        seen.join("; "),
        format!("{} while the hash stays missing", repair.join("; ")),
    );
    f.also = kinds[1..].to_vec();
    Some(f)
}

/// The pointer keys present (the 1.8.0 in-hash field dies with its hash).
pub fn dangling_pointers(p: Option<&PointerObs>) -> Vec<Bytes> {
    let Some(p) = p else {
        return Vec::new();
    };
    let mut out = Vec::new();
    if p.value.is_some() {
        out.push(p.key.clone());
    }
    if p.legacy_key_value.is_some() {
        out.push(p.legacy_key.clone());
    }
    out
}

fn live(
    model: &Model,
    obs: &Observation,
    job_id: Option<String>,
    field: &str,
    sorted: &[(String, Option<Bytes>)],
) -> Option<Finding> {
    let right = Bytes(model.status_index(field));
    let mut kinds: Vec<Kind> = Vec::new();
    let mut seen: Vec<String> = Vec::new();
    let mut repair: Vec<String> = Vec::new();
    let mut sets: Vec<Bytes> = Vec::new();
    let indexed: Vec<&Membership> = obs
        .status_sets
        .iter()
        .filter(|m| m.member == Some(true))
        .collect();
    let in_right = indexed.iter().any(|m| m.set == right);
    // Sets of statuses the schema does not declare (`--deep`) count too.
    let mut wrong: Vec<Bytes> = indexed
        .iter()
        .filter(|m| m.set != right)
        .map(|m| m.set.clone())
        .collect();
    wrong.extend(obs.found_in.iter().filter(|s| **s != right).cloned());
    let unknown = obs.status_sets.iter().any(|m| m.member.is_none());
    let mut notes = Notes {
        kinds: &mut kinds,
        seen: &mut seen,
        repair: &mut repair,
        sets: &mut sets,
    };
    let placement = Placement {
        right: &right,
        in_right,
        wrong: &wrong,
        unknown,
    };
    let words = Words {
        nowhere: format!("in no status set (its field says {field:?})"),
        status: field,
        how: "",
    };
    status_sets(&mut notes, &placement, words);
    listing(&mut notes, obs, sorted);
    if let Some(p) = &obs.pointer {
        pointer_kinds(p, &right, &mut kinds, &mut seen, &mut repair, &mut sets);
    }
    let kind = *kinds.first()?;
    let mut f = Finding::new(kind, job_id, obs, sets, seen.join("; "), repair.join("; "));
    f.also = kinds[1..].to_vec();
    Some(f)
}

/// What the record's pointers say against `right`, the set its field names
/// (where it is, once its memberships are right).
fn pointer_kinds(
    p: &PointerObs,
    right: &Bytes,
    kinds: &mut Vec<Kind>,
    seen: &mut Vec<String>,
    repair: &mut Vec<String>,
    sets: &mut Vec<Bytes>,
) {
    if p.legacy() {
        let mut old = Vec::new();
        if let Some(v) = &p.legacy_key_value {
            old.push(format!("key {} = {}", show(&p.legacy_key), show(v)));
        }
        if let Some(v) = &p.legacy_field_value {
            old.push(format!(
                "hash field {} = {}",
                show(&p.legacy_field),
                show(v)
            ));
        }
        kinds.push(Kind::LegacyPointer);
        seen.push(format!("pointer of popoto 1.8.0-1.8.2: {}", old.join(", ")));
        repair.push(format!(
            "with --migrate-pointers: point {} at {} and delete the old pointer",
            show(&p.key),
            show(right)
        ));
        sets.push(p.key.clone());
        return;
    }
    match &p.value {
        None => {
            kinds.push(Kind::PointerMissing);
            seen.push(format!("no pointer {}", show(&p.key)));
            repair.push(format!("point {} at {}", show(&p.key), show(right)));
            sets.push(p.key.clone());
        }
        Some(v) if v != right => {
            kinds.push(Kind::PointerMismatch);
            seen.push(format!("pointer {} names {}", show(&p.key), show(v)));
            repair.push(format!("point {} at {}", show(&p.key), show(right)));
            sets.push(p.key.clone());
        }
        Some(_) => {}
    }
}

/// [`super::unconfirmed`] for this layout: a live record none of whose
/// findings can be trusted because a set it may be in could not be read.
pub fn unconfirmed(obs: &Observation) -> Option<String> {
    let unreadable: Vec<Bytes> = std::iter::once(&obs.class_set)
        .chain(&obs.status_sets)
        .chain(&obs.secondary_sets)
        .filter(|m| m.member.is_none())
        .map(|m| m.set.clone())
        .chain(
            obs.zsets
                .iter()
                .filter(|z| !z.known)
                .map(|z| z.zset.clone()),
        )
        .collect();
    (!unreadable.is_empty()).then(|| {
        format!(
            "its memberships in {} are unknown (cannot be read: wrong type)",
            join(&unreadable)
        )
    })
}

#[cfg(test)]
pub(crate) mod tests_kit {
    pub(crate) use super::tests::{healthy, member, model};
}
#[cfg(test)]
mod tests;
