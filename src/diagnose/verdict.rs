//! The verdict on one job: the shared diagnosis (`crate::diagnose`) of each
//! of its records, so that `inspect` and `orphans scan` can never disagree.
//!
//! Must not: talk to Redis or print.

use crate::bytes::Bytes;
use crate::diagnose::{classify, Kind};
use crate::report::inspect::{JobFinding, Verdict, HEALTHY, NOT_FOUND, UNKNOWN};
use crate::schema::observed::{HashState, Observation};
use crate::schema::Model;

/// A stored value that is not one valid msgpack object: the record's key
/// and what is wrong (`field message_text is not valid msgpack: ...`).
#[derive(Debug, Clone, PartialEq)]
pub struct BadValue {
    pub key: Bytes,
    pub detail: String,
}

/// Diagnose every record of one job_id (observed with their twins), with
/// the values of theirs that do not decode (docs/layout.md's `malformed`).
pub fn of(model: &Model, observations: &[Observation], bad_values: &[BadValue]) -> Verdict {
    let mut findings: Vec<(crate::diagnose::Kind, JobFinding)> = observations
        .iter()
        .filter_map(|o| classify(model, o))
        .map(|f| {
            let repair = if f.kind.needs_policy() || f.kind == Kind::Malformed {
                f.repair.clone()
            } else {
                format!("jobq reindex would {}", f.repair)
            };
            let out = JobFinding {
                kind: f.kind.name().to_owned(),
                also: f.also.iter().map(|k| k.name().to_owned()).collect(),
                key: f.key.clone(),
                detail: f.seen.clone(),
                repair,
            };
            (f.kind, out)
        })
        .collect();
    findings.extend(unreadable_own_sets(model, observations));
    for b in bad_values {
        if findings
            .iter()
            .any(|(k, f)| *k == Kind::Malformed && f.key == b.key)
        {
            continue;
        }
        findings.push((
            Kind::Malformed,
            JobFinding {
                kind: Kind::Malformed.name().to_owned(),
                also: Vec::new(),
                key: b.key.clone(),
                detail: b.detail.clone(),
                repair: "never touched: fix by hand".into(),
            },
        ));
    }
    findings.sort_by_key(|(k, _)| std::cmp::Reverse(k.severity()));
    let live = observations
        .iter()
        .any(|o| !matches!(o.hash, HashState::Missing));
    let unknown = observations
        .iter()
        .find_map(|o| crate::diagnose::unconfirmed(model, o));
    match (findings.first(), unknown) {
        (Some((_, head)), _) => Verdict {
            kind: head.kind.clone(),
            detail: head.detail.clone(),
            repair: head.repair.clone(),
            findings: findings.into_iter().map(|(_, f)| f).collect(),
        },
        (None, Some(why)) if live => Verdict {
            kind: UNKNOWN.into(),
            detail: why,
            repair: "fix the set that cannot be read by hand, then inspect again".into(),
            findings: Vec::new(),
        },
        (None, _) if live => Verdict {
            kind: HEALTHY.into(),
            detail: "the record agrees with every index".into(),
            repair: "nothing to do".into(),
            findings: Vec::new(),
        },
        (None, _) => Verdict {
            kind: NOT_FOUND.into(),
            detail: "no record and no index entry".into(),
            repair: "nothing to do".into(),
            findings: Vec::new(),
        },
    }
}

/// A set a live record belongs in that could not be read (wrong type): the
/// record's memberships there are unknown, and the set itself is malformed.
fn unreadable_own_sets(model: &Model, observations: &[Observation]) -> Vec<(Kind, JobFinding)> {
    let mut out: Vec<(Kind, JobFinding)> = Vec::new();
    for o in observations
        .iter()
        .filter(|o| matches!(o.hash, HashState::Hash { .. }))
    {
        let Ok(parsed) = model.parse_key(o.key.as_slice()) else {
            continue;
        };
        let own = model.status_index(model.key_status(&parsed));
        let sets = o
            .status_sets
            .iter()
            .filter(|m| m.set.as_slice() == own.as_slice())
            .chain(&o.secondary_sets)
            .chain(std::iter::once(&o.class_set));
        for m in sets.filter(|m| m.member.is_none()) {
            if out.iter().any(|(_, f)| f.key == m.set) {
                continue;
            }
            out.push((
                Kind::Malformed,
                JobFinding {
                    kind: Kind::Malformed.name().to_owned(),
                    also: Vec::new(),
                    key: m.set.clone(),
                    detail: "the record belongs in this set, which cannot be read (wrong type)"
                        .into(),
                    repair: "never touched: fix by hand".into(),
                },
            ));
        }
    }
    out
}
