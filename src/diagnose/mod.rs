//! Diagnosis: a pure function from what was read about one record key to the
//! damage it shows (docs/layout.md, "The damage jobq names"). No I/O here: the
//! scan, the grace re-check and `inspect` all feed the same [`Observation`]
//! to [`classify`], so they can never disagree.
//!
//! Owns: [`Kind`], [`Finding`], [`classify`]; `stale` holds reap's
//! staleness rules and `verdict` the verdict on one job. The [`Observation`]
//! it reads is plain data in `schema::observed`. Must not: talk to Redis,
//! print, or decide how to repair (that is `plan`).

pub mod indexed;
mod kind;
mod placement;
pub mod stale;
pub mod values;
pub mod verdict;

pub use kind::Kind;
pub use values::{bad_values, field_status, sorted_problem, sorted_score, FieldStatus};

// What a read saw of one key is plain data in `schema`, which `store` and
// `scan` import too.
use crate::schema::observed::{HashState, LightObs, Membership, Observation};

use serde::{Deserialize, Serialize};

use crate::bytes::{escape_bytes, quote, Bytes};
use crate::schema::msgpack;
use crate::schema::{Model, ParsedKey};

/// One affected key and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    pub kind: Kind,
    /// Further kinds the same key shows; its repair covers them too.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub also: Vec<Kind>,
    pub job_id: Option<String>,
    pub key: Bytes,
    /// The sets involved.
    pub sets: Vec<Bytes>,
    /// What was seen, in words.
    pub seen: String,
    /// The repair `jobq reindex` would make, or why it needs a policy choice.
    pub repair: String,
    /// The facts the finding rests on (and the repair's guard).
    pub observed: Observation,
}

/// True only when `classify` would surely find nothing: a hash with every
/// declared field (by count: a hash that lacks a declared field but carries
/// an undeclared one in its place passes; popoto never writes undeclared
/// fields, and reading every field's presence would cost a command each), its status field saying what its key says,
/// in the class set, its own status index, its other indexes and every
/// zset. Anything else gets a full observation. Memberships in the other
/// status indexes are not known here; walking those indexes (pass B) finds
/// members whose key names another status.
pub fn plainly_healthy(
    layout: &crate::schema::probe::Layout,
    probe: &crate::schema::probe::Probe,
    light: &LightObs,
) -> bool {
    let Some(own) = probe.own_status else {
        return false;
    };
    let Some(count) = light.field_count else {
        return false;
    };
    count as usize >= layout.fields.len()
        && light.status.as_deref() == layout.packed_statuses.get(own).map(Vec::as_slice)
        && light.in_class == Some(true)
        && light.in_own_status == Some(true)
        && light.secondary.len() == probe.secondary.len()
        && light.secondary.iter().all(|m| *m == Some(true))
        && light.sorted.iter().all(|(raw, member)| {
            *member == Some(true) && raw.as_deref().is_none_or(|r| sorted_problem(r).is_none())
        })
        && !probe.probe_twins
}

pub(crate) fn show(b: &Bytes) -> String {
    escape_bytes(b.as_slice())
}

pub(crate) fn join(sets: &[Bytes]) -> String {
    sets.iter().map(show).collect::<Vec<_>>().join(", ")
}

/// Classify one record key. `None` means healthy, or nothing to say (a key
/// that is gone from everywhere).
pub fn classify(model: &Model, obs: &Observation) -> Option<Finding> {
    if !model.status_in_key() {
        return indexed::classify(model, obs);
    }
    let parsed = match model.parse_key(obs.key.as_slice()) {
        Ok(p) => p,
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
    let job_id = Some(model.job_id(&parsed).to_owned());
    match &obs.hash {
        HashState::WrongType { redis_type } => Some(Finding::new(
            Kind::Malformed,
            job_id,
            obs,
            obs.member_sets(),
            format!("key is a {redis_type}, not a hash"),
            "never touched: fix by hand".into(),
        )),
        HashState::Missing => ghost(obs, job_id),
        HashState::Hash {
            status,
            sorted,
            missing,
            ..
        } => live(
            model,
            obs,
            &parsed,
            job_id,
            status.as_ref(),
            sorted,
            missing,
        ),
    }
}

fn ghost(obs: &Observation, job_id: Option<String>) -> Option<Finding> {
    let sets = obs.member_sets();
    if sets.is_empty() {
        return None;
    }
    let names = join(&sets);
    let repair = format!("remove it from {names} while the hash stays missing");
    match obs.twins.as_ref().and_then(|t| t.first()) {
        Some(live) => Some(Finding::new(
            Kind::StaleKey,
            job_id,
            obs,
            sets.clone(),
            format!(
                "hash is gone but the key is in {names}; the job lives on as {}",
                show(live)
            ),
            repair,
        )),
        None => Some(Finding::new(
            Kind::Dangling,
            job_id,
            obs,
            sets.clone(),
            format!("hash is gone but the key is in {names}"),
            repair,
        )),
    }
}

fn live(
    model: &Model,
    obs: &Observation,
    parsed: &ParsedKey,
    job_id: Option<String>,
    status: Option<&Bytes>,
    sorted: &[(String, Option<Bytes>)],
    missing: &[String],
) -> Option<Finding> {
    let key_status = model.key_status(parsed).to_owned();
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
    if !model.is_status(&key_status) {
        return malformed(format!(
            "key names status {}, which the schema does not declare",
            quote(&key_status)
        ));
    }
    let field = match field_status(status) {
        FieldStatus::Bad(why) => return malformed(why),
        FieldStatus::Absent => None,
        FieldStatus::Text(s) if !model.is_status(&s) => {
            return malformed(format!(
                "status field {} is not a status the schema declares",
                quote(&s)
            ));
        }
        FieldStatus::Text(s) => Some(s),
    };
    for (name, raw) in sorted {
        if let Some(why) = raw.as_ref().and_then(|r| sorted_problem(r.as_slice())) {
            return malformed(format!("{name} {why}"));
        }
    }
    if let Some(b) = obs.bad_values.first() {
        let more = match obs.bad_values.len() {
            1 => String::new(),
            n => format!(" (and {} more field(s))", n - 1),
        };
        return malformed(format!(
            "field {} is not valid msgpack ({}){more}",
            b.field, b.why
        ));
    }
    let right_index = model.status_index(&key_status);

    // Every problem the key shows, most severe first (see Kind::severity);
    // the first is the kind.
    let mut kinds: Vec<Kind> = Vec::new();
    let mut seen: Vec<String> = Vec::new();
    let mut repair: Vec<String> = Vec::new();
    let mut sets: Vec<Bytes> = Vec::new();
    let add_set = |sets: &mut Vec<Bytes>, b: &Bytes| {
        if !sets.contains(b) {
            sets.push(b.clone());
        }
    };

    if !missing.is_empty() {
        kinds.push(Kind::Partial);
        let recoverable: Vec<&String> =
            missing.iter().filter(|f| parsed.get(f).is_some()).collect();
        let lost: Vec<&String> = missing.iter().filter(|f| parsed.get(f).is_none()).collect();
        seen.push(format!("hash lacks {}", list(missing)));
        if !recoverable.is_empty() {
            repair.push(format!("restore {} from the key", list(&recoverable)));
        }
        if !lost.is_empty() {
            repair.push(format!(
                "{} cannot be recovered (reported, never invented)",
                list(&lost)
            ));
        }
    }
    let mismatch = matches!(&field, Some(f) if *f != key_status);
    if let Some(f) = field.as_ref().filter(|_| mismatch) {
        kinds.push(Kind::FieldMismatch);
        seen.push(format!(
            "key says {key_status:?}, the status field says {f:?}"
        ));
        repair.push(format!(
            "needs a choice: --prefer key (set the field to {key_status:?}) or --prefer field (move the record to the {f:?} key)"
        ));
    }
    if let Some(twins) = obs.twins.as_ref().filter(|t| !t.is_empty()) {
        kinds.push(Kind::Duplicate);
        seen.push(format!("the same job_id also lives as {}", join(twins)));
        let mut all: Vec<&Bytes> = twins.iter().collect();
        all.push(&obs.key);
        let keep = survivor(model, &all);
        repair.push(match keep {
            Some(k) => format!("needs --duplicates keep-latest (would keep {})", show(k)),
            None => "needs --duplicates keep-latest".into(),
        });
        for t in twins {
            add_set(&mut sets, t);
        }
    }
    // With a field mismatch the right index is a policy question; leave the
    // index kinds to that choice rather than call one side right.
    if !mismatch {
        let indexed: Vec<&Membership> = obs
            .status_sets
            .iter()
            .filter(|m| m.member == Some(true))
            .collect();
        let in_right = indexed
            .iter()
            .any(|m| m.set.as_slice() == right_index.as_slice());
        let wrong: Vec<Bytes> = indexed
            .iter()
            .filter(|m| m.set.as_slice() != right_index.as_slice())
            .map(|m| m.set.clone())
            .collect();
        let unknown = obs.status_sets.iter().any(|m| m.member.is_none());
        let right = Bytes(right_index.clone());
        let words = placement::Words {
            nowhere: format!("in no status index (key and field say {key_status:?})"),
            status: &key_status,
            how: " (SMOVE)",
        };
        let placement = placement::Placement {
            right: &right,
            in_right,
            wrong: &wrong,
            unknown,
        };
        placement::status_sets(
            &mut placement::Notes {
                kinds: &mut kinds,
                seen: &mut seen,
                repair: &mut repair,
                sets: &mut sets,
            },
            &placement,
            words,
        );
    }
    placement::listing(
        &mut placement::Notes {
            kinds: &mut kinds,
            seen: &mut seen,
            repair: &mut repair,
            sets: &mut sets,
        },
        obs,
        sorted,
    );
    let kind = *kinds.first()?;
    let mut f = Finding::new(kind, job_id, obs, sets, seen.join("; "), repair.join("; "));
    f.also = kinds[1..].to_vec();
    Some(f)
}

/// The repairs of a live record's gaps in its other key-field indexes and
/// sorted-field zsets ("add it to ..."), the sets named added to `sets`.
pub(crate) fn secondary_gaps(
    obs: &Observation,
    sorted: &[(String, Option<Bytes>)],
    sets: &mut Vec<Bytes>,
) -> Vec<String> {
    let mut add_set = |b: &Bytes| {
        if !sets.contains(b) {
            sets.push(b.clone());
        }
    };
    let mut gaps: Vec<String> = Vec::new();
    for m in &obs.secondary_sets {
        if m.member == Some(false) {
            gaps.push(format!("add it to {}", show(&m.set)));
            add_set(&m.set);
        }
    }
    for z in obs.zsets.iter().filter(|z| z.known && z.score.is_none()) {
        let value = sorted
            .iter()
            .find(|(f, _)| *f == z.field)
            .and_then(|(_, v)| v.as_ref());
        if let Some(score) = value.and_then(sorted_score) {
            gaps.push(format!(
                "add it to {} with score {}",
                show(&z.zset),
                msgpack::format_float(score)
            ));
            add_set(&z.zset);
        }
    }
    gaps
}

/// Why the diagnosis of a live record that [`classify`] found nothing wrong
/// with cannot be trusted: a set its verdict depends on could not be read
/// (another Redis type). The record is not confirmed in its own status
/// index, and an unreadable status index may hold it (then it is in the
/// wrong index) or not (then it is lost); or its class set, own index or
/// other key-field index could not be read at all. `None`: confirmed.
pub fn unconfirmed(model: &Model, obs: &Observation) -> Option<String> {
    if !matches!(obs.hash, HashState::Hash { .. }) {
        return None;
    }
    if !model.status_in_key() {
        return indexed::unconfirmed(obs);
    }
    let parsed = model.parse_key(obs.key.as_slice()).ok()?;
    let own = model.status_index(model.key_status(&parsed));
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
    if unreadable.is_empty() {
        return None;
    }
    let in_own = obs
        .status_sets
        .iter()
        .any(|m| m.set.as_slice() == own.as_slice() && m.member == Some(true));
    let own_unreadable = unreadable.iter().any(|s| s.as_slice() == own.as_slice());
    let status_unreadable = obs.status_sets.iter().any(|m| m.member.is_none());
    let other_unreadable = obs.class_set.member.is_none()
        || obs.secondary_sets.iter().any(|m| m.member.is_none())
        || obs.zsets.iter().any(|z| !z.known);
    if in_own && !other_unreadable {
        // In its own index; an unreadable other index can only add a
        // second membership, which that index's own finding covers.
        return None;
    }
    let why = if !in_own && status_unreadable && !own_unreadable {
        format!(
            "not in {}; whether it is in {} is unknown (cannot be read: wrong type)",
            escape_bytes(&own),
            join(&unreadable)
        )
    } else {
        format!(
            "its memberships in {} are unknown (cannot be read: wrong type)",
            join(&unreadable)
        )
    };
    Some(why)
}

/// The record to keep among duplicates: furthest along pending → running →
/// completed/failed, by the status in its key; ties keep the smallest key, so
/// that every run picks the same one.
pub fn survivor<'a>(model: &Model, keys: &[&'a Bytes]) -> Option<&'a Bytes> {
    let rank = |k: &Bytes| {
        model
            .parse_key(k.as_slice())
            .map(|p| model.status.progress_rank(model.key_status(&p)))
            .unwrap_or(0)
    };
    let mut best: Option<&'a Bytes> = None;
    for k in keys {
        if best.is_none_or(|b| {
            rank(k) > rank(b) || (rank(k) == rank(b) && k.as_slice() < b.as_slice())
        }) {
            best = Some(k);
        }
    }
    best
}

pub(crate) fn list<S: AsRef<str>>(items: &[S]) -> String {
    items
        .iter()
        .map(|s| s.as_ref())
        .collect::<Vec<_>>()
        .join(", ")
}

impl Finding {
    pub(crate) fn new(
        kind: Kind,
        job_id: Option<String>,
        obs: &Observation,
        sets: Vec<Bytes>,
        seen: String,
        repair: String,
    ) -> Finding {
        Finding {
            kind,
            also: Vec::new(),
            job_id,
            key: obs.key.clone(),
            sets,
            seen,
            repair,
            observed: obs.clone(),
        }
    }

    /// Whether a re-check shows the same damage (same kind and same facts
    /// that the repair would rely on).
    pub fn confirmed_by(&self, again: &Finding) -> bool {
        self.kind == again.kind && self.key == again.key
    }
}

#[cfg(test)]
pub(crate) mod testkit;
#[cfg(test)]
mod tests;
