//! Planning: a pure function from confirmed findings and a policy to the
//! repair actions, each carrying the guard state it expects. No I/O but
//! reading and writing a plan file.
//!
//! Owns: [`Plan`], [`Action`], [`Step`], [`build`]; `reap` plans reap's
//! moves. Must not: talk to Redis, print, or diagnose (it takes findings as
//! given).

use serde::{Deserialize, Serialize};

use crate::bytes::{escape_bytes, Bytes};
use crate::diagnose::{survivor, Finding, Kind};
use crate::schema::msgpack::{encode, Value};
use crate::schema::observed::{HashState, Observation};
use crate::schema::Model;

/// The plan file's format (`file`): 2 is JSON Lines; 1, one JSON object,
/// is still read.
pub const PLAN_FORMAT: u32 = 2;

/// Which side wins a `field_mismatch`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Prefer {
    Key,
    Field,
}

/// Choices for the kinds whose truth is ambiguous.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Policy {
    pub prefer: Option<Prefer>,
    pub keep_latest: bool,
    /// `--migrate-pointers`: move a popoto 1.8.0-1.8.2 pointer over to the
    /// `$IdxPtr` key 1.10.1 reads (the indexed status layout).
    pub migrate_pointers: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub format: u32,
    /// The model the plan was made for.
    pub model: String,
    pub actions: Vec<Action>,
    /// Findings left alone until a policy flag is given.
    pub needs_policy: Vec<Skip>,
    /// Findings never touched (malformed).
    pub untouched: Vec<Skip>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Skip {
    pub kind: Kind,
    pub job_id: Option<String>,
    pub key: Bytes,
    pub reason: String,
}

/// One guarded step on one key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Action {
    pub kind: Kind,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub also: Vec<Kind>,
    pub job_id: Option<String>,
    pub key: Bytes,
    /// What the step does, in words.
    pub description: String,
    pub step: Step,
}

/// The write a step makes, and (in its fields) the state it expects.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Step {
    /// Put a live record's memberships (and restorable fields) right.
    /// Guard: the key is a hash; its status field is still `expect_status`
    /// (`None`: still absent); every `restore` field is still absent.
    Reconcile {
        expect_status: Option<Bytes>,
        /// Fields to write only while absent (partial records).
        restore: Vec<(String, Bytes)>,
        /// Fields to overwrite (the status field under `--prefer key`).
        overwrite: Vec<(String, Bytes)>,
        sadd: Vec<Bytes>,
        srem: Vec<Bytes>,
        zadd: Vec<(Bytes, f64)>,
    },
    /// Remove a ghost from its sets. Guard: the key still does not exist.
    RemoveGhost { srem: Vec<Bytes>, zrem: Vec<Bytes> },
    /// Move the record to `to`, popoto-style (re-create there, drop the old
    /// key from every set, DEL it). Guard: the key is a hash whose status
    /// field is still `expect_status`; `to` does not exist.
    Move {
        to: Bytes,
        expect_status: Bytes,
        srem: Vec<Bytes>,
        sadd: Vec<Bytes>,
        zsets: Vec<Bytes>,
    },
    /// Remove one record of a duplicated job, popoto-style. Guard: the key
    /// still exists, and so does `keep`, the record that stays.
    RemoveDuplicate {
        keep: Bytes,
        srem: Vec<Bytes>,
        zrem: Vec<Bytes>,
    },
    /// Indexed status layout: put a live record's memberships right for
    /// the status its field holds, then its pointer (`point_to`), and with
    /// `migrate` move a 1.8.0-1.8.2 pointer over. Guard: the status field
    /// still holds `expect_status`, the pointer `expect_pointer` (`None`:
    /// absent), and when migrating the old pointers what `legacy` expects.
    Repoint(Box<Repoint>),
    /// Indexed status layout: delete the pointers a gone record left and
    /// drop it from its sets. Guard: the record still does not exist, each
    /// pointer still holds the value given (or is gone).
    RemovePointers {
        pointers: Vec<(Bytes, Bytes)>,
        srem: Vec<Bytes>,
        zrem: Vec<Bytes>,
    },
}

/// A [`Step::Repoint`]'s fields (boxed: the largest step by far).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Repoint {
    pub expect_status: Bytes,
    pub sadd: Vec<Bytes>,
    pub srem: Vec<Bytes>,
    pub zadd: Vec<(Bytes, f64)>,
    pub pointer: Bytes,
    pub expect_pointer: Option<Bytes>,
    /// The set the pointer must name; `None`: pointers left as they are.
    pub point_to: Option<Bytes>,
    pub legacy: LegacyPointers,
    #[serde(default)]
    pub migrate: bool,
}

/// The 1.8.0-1.8.2 pointers a migration removes, and what they must hold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LegacyPointers {
    pub key: Bytes,
    pub expect_key: Option<Bytes>,
    pub field: Bytes,
    pub expect_field: Option<Bytes>,
}

/// Turn confirmed findings into actions.
pub fn build(model: &Model, findings: &[Finding], policy: &Policy) -> Plan {
    build_window(model, findings, policy, &mut Default::default())
}

/// [`build`] for one window of a streaming scan: `removed` holds the
/// duplicate records planned for removal by earlier windows (every record
/// of a group reports the whole group, and a group may span windows), so
/// that each removal is planned once.
pub fn build_window(
    model: &Model,
    findings: &[Finding],
    policy: &Policy,
    removed: &mut std::collections::BTreeSet<Vec<u8>>,
) -> Plan {
    let mut plan = Plan {
        format: PLAN_FORMAT,
        model: model.class.clone(),
        actions: Vec::new(),
        needs_policy: Vec::new(),
        untouched: Vec::new(),
    };
    for f in findings {
        if !model.status_in_key() {
            indexed::plan(model, f, policy, &mut plan);
            continue;
        }
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
            Kind::Dangling | Kind::StaleKey => {
                let (srem, zrem) = split_sets(model, &f.sets);
                let names = join(&f.sets);
                plan.actions.push(action(
                    format!("remove the ghost from {names}"),
                    Step::RemoveGhost { srem, zrem },
                ));
            }
            Kind::FieldMismatch => match policy.prefer {
                None => plan.needs_policy.push(skip(f.repair.clone())),
                Some(side) => {
                    if let Some(a) = mismatch(model, f, side) {
                        plan.actions.push(action(a.0, a.1));
                    } else {
                        plan.untouched.push(skip("the key does not parse".into()));
                    }
                }
            },
            Kind::Duplicate => {
                if !policy.keep_latest {
                    plan.needs_policy.push(skip(f.repair.clone()));
                    continue;
                }
                let mut group: Vec<&Bytes> = f.observed.twins.iter().flatten().collect();
                group.push(&f.key);
                let Some(keep) = survivor(model, &group).cloned() else {
                    continue;
                };
                for x in group.into_iter().filter(|x| **x != keep) {
                    // Every record of the group reports the same group: plan
                    // each removal once.
                    if !removed.insert(x.0.clone()) {
                        continue;
                    }
                    let (srem, zrem) = record_sets(model, x);
                    plan.actions.push(Action {
                        kind: Kind::Duplicate,
                        also: vec![],
                        job_id: f.job_id.clone(),
                        key: x.clone(),
                        description: format!(
                            "remove the duplicate {} (keep {})",
                            show(x),
                            show(&keep)
                        ),
                        step: Step::RemoveDuplicate {
                            keep: keep.clone(),
                            srem,
                            zrem,
                        },
                    });
                }
            }
            _ => match reconcile(model, &f.observed, None) {
                Some(step) => plan.actions.push(action(f.repair.clone(), step)),
                None => plan.untouched.push(skip("nothing safe to do".into())),
            },
        }
    }
    plan
}

fn show(b: &Bytes) -> String {
    escape_bytes(b.as_slice())
}

fn join(sets: &[Bytes]) -> String {
    sets.iter().map(show).collect::<Vec<_>>().join(", ")
}

/// Sets vs sorted-field zsets, told apart by the model's zset names.
pub(crate) fn split_sets(model: &Model, sets: &[Bytes]) -> (Vec<Bytes>, Vec<Bytes>) {
    let zsets: Vec<Vec<u8>> = model
        .sorted_fields()
        .map(|f| model.sorted_key(&f.name))
        .collect();
    sets.iter().cloned().partition(|s| !zsets.contains(&s.0))
}

/// Every set and zset a record key can be in (for removing a record).
fn record_sets(model: &Model, key: &Bytes) -> (Vec<Bytes>, Vec<Bytes>) {
    let mut srem = vec![Bytes(model.class_set())];
    srem.extend(
        model
            .status
            .values
            .iter()
            .map(|s| Bytes(model.status_index(s))),
    );
    if let Ok(p) = model.parse_key(key.as_slice()) {
        srem.extend(
            model
                .secondary_key_fields()
                .map(|f| Bytes(model.index_key(&f.name, p.get(&f.name)))),
        );
    }
    let zrem = model
        .sorted_fields()
        .map(|f| Bytes(model.sorted_key(&f.name)))
        .collect();
    (srem, zrem)
}

/// Memberships (and fields) that make a live record right for the status in
/// its key; `overwrite` rewrites fields first (`--prefer key`).
fn reconcile(model: &Model, obs: &Observation, overwrite: Option<(String, Bytes)>) -> Option<Step> {
    let HashState::Hash {
        status,
        sorted,
        missing,
        ..
    } = &obs.hash
    else {
        return None;
    };
    let parsed = model.parse_key(obs.key.as_slice()).ok()?;
    let key_status = model.key_status(&parsed);
    let right = model.status_index(key_status);
    let mut sadd = Vec::new();
    let mut srem = Vec::new();
    if obs.class_set.member == Some(false) {
        sadd.push(obs.class_set.set.clone());
    }
    for m in &obs.status_sets {
        let is_right = m.set.as_slice() == right.as_slice();
        match m.member {
            Some(true) if !is_right => srem.push(m.set.clone()),
            Some(false) if is_right => sadd.push(m.set.clone()),
            _ => {}
        }
    }
    for m in &obs.secondary_sets {
        if m.member == Some(false) {
            sadd.push(m.set.clone());
        }
    }
    let mut zadd = Vec::new();
    for z in obs.zsets.iter().filter(|z| z.known && z.score.is_none()) {
        let raw = sorted
            .iter()
            .find(|(f, _)| *f == z.field)
            .and_then(|(_, v)| v.as_ref());
        if let Some(score) = raw.and_then(crate::diagnose::sorted_score) {
            zadd.push((z.zset.clone(), score));
        }
    }
    // A partial record gets back what its key says, never anything invented.
    let restore: Vec<(String, Bytes)> = missing
        .iter()
        .filter_map(|f| {
            parsed
                .get(f)
                .map(|v| (f.clone(), Bytes(encode(&Value::Str(v.to_owned())))))
        })
        .collect();
    let overwrite: Vec<(String, Bytes)> = overwrite.into_iter().collect();
    if sadd.is_empty()
        && srem.is_empty()
        && zadd.is_empty()
        && restore.is_empty()
        && overwrite.is_empty()
    {
        return None;
    }
    Some(Step::Reconcile {
        expect_status: status.clone(),
        restore,
        overwrite,
        sadd,
        srem,
        zadd,
    })
}

fn mismatch(model: &Model, f: &Finding, side: Prefer) -> Option<(String, Step)> {
    let HashState::Hash {
        status: Some(field_raw),
        ..
    } = &f.observed.hash
    else {
        return None;
    };
    let parsed = model.parse_key(f.key.as_slice()).ok()?;
    let key_status = model.key_status(&parsed).to_owned();
    let field_status = match crate::diagnose::field_status(Some(field_raw)) {
        crate::diagnose::FieldStatus::Text(s) => s,
        _ => return None,
    };
    match side {
        Prefer::Key => {
            let new = Bytes(encode(&Value::Str(key_status.clone())));
            let step = reconcile(model, &f.observed, Some((model.status.field.clone(), new)))?;
            Some((
                format!(
                    "set the status field to {key_status:?} (the key wins) and fix its indexes"
                ),
                step,
            ))
        }
        Prefer::Field => {
            let to = Bytes(model.rekey(&parsed, &model.status.field, &field_status));
            // The old key leaves every set (class set included, as popoto's
            // move does); the new key joins the ones its values name.
            let (srem, zsets) = record_sets(model, &f.key);
            let mut sadd = vec![
                Bytes(model.class_set()),
                Bytes(model.status_index(&field_status)),
            ];
            sadd.extend(
                model
                    .secondary_key_fields()
                    .map(|fl| Bytes(model.index_key(&fl.name, parsed.get(&fl.name)))),
            );
            Some((
                format!("move the record to {} (the field wins)", show(&to)),
                Step::Move {
                    to,
                    expect_status: field_raw.clone(),
                    srem,
                    sadd,
                    zsets,
                },
            ))
        }
    }
}

pub mod admin;
mod check;
pub mod file;
mod indexed;
pub mod prune;
pub mod reap;
pub mod select;
pub mod status_move;
pub mod undo;

#[cfg(test)]
mod tests;
