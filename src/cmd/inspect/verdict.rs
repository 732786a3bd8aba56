//! The provisional verdict on one job: which of LAYOUT.md's damage kinds its
//! records show, and what `jobq reindex` would do about each.
//!
//! Pure: it reads [`RecordFacts`] and nothing else, so that the one entry
//! point, [`provisional_verdict`], can be swapped for the shared diagnosis
//! module (`crate::diagnose`) when that lands, without touching the reads.
//!
//! Must not: talk to Redis, print, or build keys other than through `schema`.

use serde::Serialize;

use super::job::{RecordFacts, SetCheck};
use super::FieldValue;
use crate::bytes::{escape_bytes, Bytes};
use crate::schema::Model;

pub const HEALTHY: &str = "healthy";
pub const NOT_FOUND: &str = "not_found";
pub const DUPLICATE: &str = "duplicate";
pub const MALFORMED: &str = "malformed";
pub const PARTIAL: &str = "partial";
pub const FIELD_MISMATCH: &str = "field_mismatch";
pub const UNLISTED: &str = "unlisted";
pub const ORPHAN: &str = "orphan";
pub const MULTI_INDEXED: &str = "multi_indexed";
pub const WRONG_INDEX: &str = "wrong_index";
pub const SECONDARY_GAP: &str = "secondary_gap";
pub const STALE_KEY: &str = "stale_key";
pub const DANGLING_INDEX: &str = "dangling_index";
pub const DANGLING_CLASS: &str = "dangling_class";

/// Which finding heads the verdict when a job shows several: the ones that
/// decide what can be repaired at all come first.
const SEVERITY: &[&str] = &[
    DUPLICATE,
    MALFORMED,
    PARTIAL,
    FIELD_MISMATCH,
    UNLISTED,
    ORPHAN,
    MULTI_INDEXED,
    WRONG_INDEX,
    SECONDARY_GAP,
    STALE_KEY,
    DANGLING_INDEX,
    DANGLING_CLASS,
];

/// The verdict on one job_id: the headline kind, and every finding.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verdict {
    /// `healthy`, `not_found`, or the most severe finding's kind.
    pub kind: String,
    pub detail: String,
    /// What `jobq reindex` would do, in one line.
    pub repair: String,
    pub findings: Vec<Finding>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    pub kind: String,
    /// The record (or set) the finding is about.
    pub key: Bytes,
    pub detail: String,
    pub repair: String,
}

fn finding(kind: &str, key: &Bytes, detail: String, repair: String) -> Finding {
    Finding {
        kind: kind.to_owned(),
        key: key.clone(),
        detail,
        repair,
    }
}

fn severity(kind: &str) -> usize {
    SEVERITY
        .iter()
        .position(|k| *k == kind)
        .unwrap_or(SEVERITY.len())
}

fn names<'a>(sets: impl IntoIterator<Item = &'a Bytes>) -> String {
    sets.into_iter()
        .map(|s| escape_bytes(&s.0))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Classify the records of one job_id (the keys found for it, including a
/// given key that no longer exists) into LAYOUT.md's damage kinds.
pub fn provisional_verdict(model: &Model, records: &[RecordFacts]) -> Verdict {
    let live: Vec<&RecordFacts> = records.iter().filter(|r| r.redis_type == "hash").collect();
    let mut findings = Vec::new();
    if live.len() >= 2 {
        findings.push(duplicate(model, &live));
    }
    for r in records {
        if r.redis_type == "none" {
            findings.extend(ghost(model, r, &live));
        } else {
            findings.extend(record(model, r));
        }
    }
    findings.sort_by_key(|f| severity(&f.kind));
    if let Some(head) = findings.first() {
        return Verdict {
            kind: head.kind.clone(),
            detail: head.detail.clone(),
            repair: head.repair.clone(),
            findings,
        };
    }
    if records.iter().all(|r| r.redis_type == "none") {
        return Verdict {
            kind: NOT_FOUND.into(),
            detail: "no key of this job_id exists, and no set holds the key given".into(),
            repair: "nothing to repair".into(),
            findings,
        };
    }
    Verdict {
        kind: HEALTHY.into(),
        detail: "in the class set, in exactly its own status index, its project index and every zset; key and fields agree".into(),
        repair: "nothing to repair".into(),
        findings,
    }
}

fn key_status(model: &Model, r: &RecordFacts) -> Option<String> {
    r.key_fields.as_ref().map(|k| {
        k.get(&model.status.field)
            .cloned()
            .unwrap_or_else(|| "None".into())
    })
}

fn duplicate(model: &Model, live: &[&RecordFacts]) -> Finding {
    let rank = |r: &RecordFacts| {
        key_status(model, r)
            .map(|s| model.status.progress_rank(&s))
            .unwrap_or(0)
    };
    let best = live.iter().map(|r| rank(r)).max().unwrap_or(0);
    let leaders: Vec<&&RecordFacts> = live.iter().filter(|r| rank(r) == best).collect();
    let all = names(live.iter().map(|r| &r.key));
    let detail = format!("{} live records for one job_id: {all}", live.len());
    match leaders.as_slice() {
        [keep] => {
            let others = names(live.iter().filter(|r| r.key != keep.key).map(|r| &r.key));
            finding(
                DUPLICATE,
                &keep.key,
                detail,
                format!(
                    "needs --duplicates keep-latest: reindex keeps {} (furthest along) and removes {others}",
                    keep.key
                ),
            )
        }
        _ => finding(
            DUPLICATE,
            &live[0].key,
            detail,
            "needs --duplicates keep-latest, but several records are equally far along: decide by hand".into(),
        ),
    }
}

/// A key that does not exist (given on the command line) but may still be
/// a member somewhere.
fn ghost(model: &Model, r: &RecordFacts, live: &[&RecordFacts]) -> Vec<Finding> {
    let indexes: Vec<&SetCheck> = r
        .status_indexes
        .iter()
        .chain(&r.key_field_indexes)
        .chain(&r.sorted_sets)
        .filter(|c| c.is_member())
        .collect();
    let in_class = r.class_set.is_member();
    if indexes.is_empty() && !in_class {
        return Vec::new();
    }
    let all: Vec<&Bytes> = indexes
        .iter()
        .map(|c| &c.set)
        .chain(in_class.then_some(&r.class_set.set))
        .collect();
    if let Some(l) = live.first() {
        return vec![finding(
            STALE_KEY,
            &r.key,
            format!(
                "{} is gone but still in {}; the job lives on at {}",
                r.key,
                names(all.iter().copied()),
                l.key
            ),
            format!("reindex removes it from {}", names(all.iter().copied())),
        )];
    }
    let mut out = Vec::new();
    if !indexes.is_empty() {
        let sets = names(indexes.iter().map(|c| &c.set));
        out.push(finding(
            DANGLING_INDEX,
            &r.key,
            format!(
                "{} is gone but still in {sets}: counted, never loaded",
                r.key
            ),
            format!("reindex removes it from {sets}"),
        ));
    }
    if in_class {
        let class = escape_bytes(&model.class_set());
        out.push(finding(
            DANGLING_CLASS,
            &r.key,
            format!("{} is gone but still in {class}: count() counts it", r.key),
            format!("reindex removes it from {class}"),
        ));
    }
    out
}

const HANDS_OFF: &str = "reindex never touches it: look at it and fix or remove it by hand";

/// Why a status field's value is not a status.
fn unusable(v: &FieldValue) -> String {
    match v {
        FieldValue::Undecodable { undecodable, .. } => format!("undecodable ({undecodable})"),
        FieldValue::TooLarge { too_large_bytes } => format!("{too_large_bytes} bytes long"),
        FieldValue::Value(v) => format!("not a string ({})", v.display()),
    }
}

/// The findings on one existing key.
fn record(model: &Model, r: &RecordFacts) -> Vec<Finding> {
    let key = &r.key;
    if r.redis_type != "hash" {
        return vec![finding(
            MALFORMED,
            key,
            format!("{key} is a {}, not a hash", r.redis_type),
            HANDS_OFF.into(),
        )];
    }
    let mut out = Vec::new();
    let (Some(kf), Some(own_status)) = (&r.key_fields, key_status(model, r)) else {
        out.push(finding(
            MALFORMED,
            key,
            format!(
                "the key does not parse as a {} key: {}",
                model.class,
                r.parse_error.as_deref().unwrap_or("unknown reason")
            ),
            HANDS_OFF.into(),
        ));
        return out;
    };
    let own_index = Bytes(model.status_index(&own_status));
    // A set of the wrong type is damage to this job only if the job belongs
    // in it; any other shows in the facts (and in the overview).
    let belongs = |c: &SetCheck| {
        c.set == r.class_set.set
            || c.set == own_index
            || c.source == Some("key")
            || r.sorted_sets.iter().any(|z| z.set == c.set)
    };
    for c in std::iter::once(&r.class_set)
        .chain(&r.status_indexes)
        .chain(&r.key_field_indexes)
        .chain(&r.sorted_sets)
        .filter(|c| belongs(c))
    {
        if let Some(e) = &c.error {
            out.push(finding(
                MALFORMED,
                &c.set,
                format!("cannot tell whether {key} is in {}: {e}", c.set),
                "reindex never touches a set of the wrong type: fix or remove it by hand".into(),
            ));
        }
    }
    let status_field = &model.status.field;
    let field_status = match r.fields.get(status_field) {
        None => None,
        Some(v) => match v.key_text() {
            Some(s) => Some(s.to_owned()),
            None => {
                out.push(finding(
                    MALFORMED,
                    key,
                    format!("its {status_field} field is {}", unusable(v)),
                    HANDS_OFF.into(),
                ));
                None
            }
        },
    };
    if !r.missing_fields.is_empty() {
        out.push(partial(model, r));
    }
    let mismatch = field_status.as_ref().filter(|f| **f != own_status);
    let needs_prefer = format!(
        "needs --prefer key|field first: its key says {own_status}, its {status_field} field says {}",
        mismatch.map(String::as_str).unwrap_or("")
    );
    if let Some(fs) = mismatch {
        let moved = model.record_key(|n| {
            if n == status_field {
                Some(fs.as_str())
            } else {
                kf.get(n).map(String::as_str)
            }
        });
        out.push(finding(
            FIELD_MISMATCH,
            key,
            format!("its key says {own_status}, its {status_field} field says {fs}"),
            format!(
                "needs --prefer key|field: key rewrites the field to {own_status}, field moves the record to {}",
                escape_bytes(&moved)
            ),
        ));
    }
    let target = mismatch.is_none().then_some(&own_index);
    let in_status: Vec<&SetCheck> = r.status_indexes.iter().filter(|c| c.is_member()).collect();
    let class = Bytes(model.class_set());

    if r.class_set.is_absent() {
        let mut adds = vec![&class];
        let mut repair = String::new();
        if in_status.is_empty() {
            match target {
                Some(t) => adds.push(t),
                None => repair = format!("; its status index {needs_prefer}"),
            }
        }
        out.push(finding(
            UNLISTED,
            key,
            format!("{key} is not in {class}: all() and count() miss it"),
            format!("reindex adds it to {}{repair}", names(adds)),
        ));
    }
    // A status index that could not be read may hold it: no orphan claim.
    let unknown = r.status_indexes.iter().any(|c| c.member.is_none());
    if in_status.is_empty() {
        if r.class_set.is_member() && !unknown {
            out.push(finding(
                ORPHAN,
                key,
                format!("{key} is in {class} but in no status index: no worker will pick it up"),
                match target {
                    Some(t) => format!("reindex adds it to {t}"),
                    None => needs_prefer.clone(),
                },
            ));
        }
    } else if in_status.len() >= 2 {
        let repair = match target {
            Some(t) => {
                let others = names(in_status.iter().map(|c| &c.set).filter(|s| *s != t));
                if in_status.iter().any(|c| &c.set == t) {
                    format!("reindex removes it from {others}, keeping {t}")
                } else {
                    format!("reindex removes it from {others} and adds it to {t}")
                }
            }
            None => needs_prefer.clone(),
        };
        out.push(finding(
            MULTI_INDEXED,
            key,
            format!(
                "{key} is in {} status indexes ({}): seen in states it is not in",
                in_status.len(),
                names(in_status.iter().map(|c| &c.set))
            ),
            repair,
        ));
    } else if let Some(t) = target.filter(|t| in_status[0].set != **t) {
        let wrong = &in_status[0].set;
        out.push(finding(
            WRONG_INDEX,
            key,
            format!("its key and {status_field} field say {own_status}, but it is only in {wrong}"),
            format!("reindex moves it from {wrong} to {t}"),
        ));
    }

    for c in &r.key_field_indexes {
        if c.source == Some("key") && c.is_absent() {
            out.push(finding(
                SECONDARY_GAP,
                key,
                format!(
                    "{key} is missing from {}: filter({}=...) misses it",
                    c.set,
                    c.field.as_deref().unwrap_or("?")
                ),
                format!("reindex adds it to {}", c.set),
            ));
        }
    }
    for c in &r.sorted_sets {
        let field = c.field.as_deref().unwrap_or("?");
        // popoto writes no zset entry for a None value: nothing is missing.
        let Some(score) = r.fields.get(field).and_then(FieldValue::as_f64) else {
            continue;
        };
        if c.is_absent() {
            out.push(finding(
                SECONDARY_GAP,
                key,
                format!(
                    "{key} is missing from {}: ordering by {field} misses it",
                    c.set
                ),
                format!(
                    "reindex adds it to {} with score {}",
                    c.set,
                    crate::schema::msgpack::format_float(score)
                ),
            ));
        }
    }
    out
}

fn partial(model: &Model, r: &RecordFacts) -> Finding {
    let (from_key, lost): (Vec<&String>, Vec<&String>) = r
        .missing_fields
        .iter()
        .partition(|n| model.field(n).is_some_and(|f| f.is_key()));
    let join = |v: &[&String]| v.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ");
    let repair = match (from_key.is_empty(), lost.is_empty()) {
        (false, true) => format!(
            "reindex rewrites {} from the key; nothing is deleted",
            join(&from_key)
        ),
        (false, false) => format!(
            "reindex rewrites {} from the key; {} cannot be recovered and stay unset",
            join(&from_key),
            join(&lost)
        ),
        _ => format!(
            "reindex leaves it as it is: {} cannot be recovered from the key (set them with HSET by hand)",
            join(&lost)
        ),
    };
    finding(
        PARTIAL,
        &r.key,
        format!(
            "the hash lacks {}: popoto loads None there, and its clean_indexes() would delete the job",
            join(&r.missing_fields.iter().collect::<Vec<_>>())
        ),
        repair,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cmd::inspect::Fields;
    use crate::schema::Value;
    use std::collections::BTreeMap;

    fn m() -> Model {
        Model::redis_job()
    }

    fn check(set: Vec<u8>, member: bool) -> SetCheck {
        let mut c = SetCheck::new(set);
        c.member = Some(member);
        c
    }

    /// A healthy record as inspect would have read it.
    fn healthy(job: &str, project: &str, status: &str) -> RecordFacts {
        let model = m();
        let key = model.record_key(|n| match n {
            "job_id" => Some(job),
            "project_key" => Some(project),
            "status" => Some(status),
            _ => None,
        });
        let s = |v: &str| FieldValue::Value(Value::Str(v.into()));
        let mut kf = BTreeMap::new();
        kf.insert("job_id".to_string(), job.to_string());
        kf.insert("project_key".to_string(), project.to_string());
        kf.insert("status".to_string(), status.to_string());
        let mut project_idx = check(model.index_key("project_key", Some(project)), true);
        project_idx.source = Some("key");
        project_idx.field = Some("project_key".into());
        let mut zset = check(model.sorted_key("created_at"), true);
        zset.field = Some("created_at".into());
        zset.score = Some(5.0);
        RecordFacts {
            key: Bytes(key),
            key_fields: Some(kf),
            parse_error: None,
            redis_type: "hash".into(),
            ttl_seconds: None,
            fields: Fields(vec![
                ("job_id".into(), s(job)),
                ("project_key".into(), s(project)),
                ("status".into(), s(status)),
                ("priority".into(), s("normal")),
                ("message_text".into(), FieldValue::Value(Value::Nil)),
                ("created_at".into(), FieldValue::Value(Value::Float(5.0))),
            ]),
            extra_fields: Vec::new(),
            fields_not_listed: 0,
            missing_fields: Vec::new(),
            class_set: check(model.class_set(), true),
            status_indexes: model
                .status
                .values
                .iter()
                .map(|v| check(model.status_index(v), v == status))
                .collect(),
            key_field_indexes: vec![project_idx],
            sorted_sets: vec![zset],
            member_of: Vec::new(),
        }
    }

    fn set_status(r: &mut RecordFacts, status: &str, member: bool) {
        let idx = m().status_index(status);
        for c in &mut r.status_indexes {
            if c.set.0 == idx {
                c.member = Some(member);
            }
        }
    }

    fn kinds(v: &Verdict) -> Vec<&str> {
        v.findings.iter().map(|f| f.kind.as_str()).collect()
    }

    #[test]
    fn healthy_record() {
        let v = provisional_verdict(&m(), &[healthy("j", "p", "pending")]);
        assert_eq!(v.kind, HEALTHY, "{v:?}");
        assert!(v.findings.is_empty());
    }

    #[test]
    fn nothing_is_not_found() {
        assert_eq!(provisional_verdict(&m(), &[]).kind, NOT_FOUND);
    }

    #[test]
    fn orphan() {
        let mut r = healthy("j", "p", "pending");
        set_status(&mut r, "pending", false);
        let v = provisional_verdict(&m(), &[r]);
        assert_eq!(kinds(&v), [ORPHAN]);
        assert_eq!(v.repair, "reindex adds it to $KeyF:RedisJob:status:pending");
    }

    #[test]
    fn unlisted() {
        let mut r = healthy("j", "p", "pending");
        r.class_set.member = Some(false);
        let v = provisional_verdict(&m(), &[r]);
        assert_eq!(kinds(&v), [UNLISTED]);
        assert_eq!(v.repair, "reindex adds it to $Class:RedisJob");
        // In neither: unlisted, and the repair restores both.
        let mut r = healthy("j", "p", "pending");
        r.class_set.member = Some(false);
        set_status(&mut r, "pending", false);
        let v = provisional_verdict(&m(), &[r]);
        assert_eq!(kinds(&v), [UNLISTED]);
        assert_eq!(
            v.repair,
            "reindex adds it to $Class:RedisJob, $KeyF:RedisJob:status:pending"
        );
    }

    #[test]
    fn multi_indexed() {
        let mut r = healthy("j", "p", "running");
        set_status(&mut r, "pending", true);
        let v = provisional_verdict(&m(), &[r]);
        assert_eq!(kinds(&v), [MULTI_INDEXED]);
        assert_eq!(
            v.repair,
            "reindex removes it from $KeyF:RedisJob:status:pending, keeping $KeyF:RedisJob:status:running"
        );
    }

    #[test]
    fn wrong_index() {
        let mut r = healthy("j", "p", "pending");
        set_status(&mut r, "pending", false);
        set_status(&mut r, "completed", true);
        let v = provisional_verdict(&m(), &[r]);
        assert_eq!(kinds(&v), [WRONG_INDEX]);
        assert_eq!(
            v.repair,
            "reindex moves it from $KeyF:RedisJob:status:completed to $KeyF:RedisJob:status:pending"
        );
    }

    #[test]
    fn field_mismatch() {
        let mut r = healthy("j", "p", "pending");
        r.fields.0[2].1 = FieldValue::Value(Value::Str("running".into()));
        let v = provisional_verdict(&m(), &[r]);
        assert_eq!(kinds(&v), [FIELD_MISMATCH]);
        assert!(v.repair.starts_with("needs --prefer key|field"), "{v:?}");
        assert!(v.repair.ends_with("RedisJob:j:p:running"), "{v:?}");
    }

    #[test]
    fn partial() {
        let mut r = healthy("j", "p", "pending");
        r.fields.0.retain(|(n, _)| n == "status");
        r.missing_fields = [
            "job_id",
            "project_key",
            "priority",
            "message_text",
            "created_at",
        ]
        .map(String::from)
        .to_vec();
        let v = provisional_verdict(&m(), &[r]);
        assert_eq!(kinds(&v), [PARTIAL]);
        assert!(
            v.repair
                .contains("rewrites job_id, project_key from the key"),
            "{v:?}"
        );
    }

    #[test]
    fn secondary_gap() {
        let mut r = healthy("j", "p", "pending");
        r.key_field_indexes[0].member = Some(false);
        r.sorted_sets[0].member = Some(false);
        let v = provisional_verdict(&m(), &[r]);
        assert_eq!(kinds(&v), [SECONDARY_GAP, SECONDARY_GAP]);
        assert_eq!(v.repair, "reindex adds it to $KeyF:RedisJob:project_key:p");
        assert_eq!(
            v.findings[1].repair,
            "reindex adds it to $SortF:RedisJob:created_at with score 5.0"
        );
        // No created_at value: popoto writes no zset entry, nothing is missing.
        let mut r = healthy("j", "p", "pending");
        r.fields.0[5].1 = FieldValue::Value(Value::Nil);
        r.sorted_sets[0].member = Some(false);
        assert_eq!(provisional_verdict(&m(), &[r]).kind, HEALTHY);
    }

    #[test]
    fn duplicate_keeps_the_furthest_along() {
        let a = healthy("j", "p", "pending");
        let b = healthy("j", "p", "running");
        let v = provisional_verdict(&m(), &[a, b]);
        assert_eq!(kinds(&v), [DUPLICATE]);
        assert_eq!(
            v.repair,
            "needs --duplicates keep-latest: reindex keeps RedisJob:j:p:running (furthest along) and removes RedisJob:j:p:pending"
        );
    }

    #[test]
    fn malformed() {
        let mut r = healthy("j", "p", "pending");
        r.redis_type = "string".into();
        assert_eq!(kinds(&provisional_verdict(&m(), &[r])), [MALFORMED]);
        let mut r = healthy("j", "p", "pending");
        r.fields.0[2].1 = FieldValue::Undecodable {
            undecodable: "bad".into(),
            raw: Bytes::from("pending"),
            bytes: 7,
        };
        assert_eq!(kinds(&provisional_verdict(&m(), &[r])), [MALFORMED]);
        let mut r = healthy("j", "p", "pending");
        r.key_fields = None;
        r.parse_error = Some("a key segment is not valid UTF-8".into());
        let v = provisional_verdict(&m(), &[r]);
        assert_eq!(kinds(&v), [MALFORMED]);
        assert!(v.detail.contains("not valid UTF-8"));
        let mut r = healthy("j", "p", "pending");
        r.status_indexes[0].member = None;
        r.status_indexes[0].error = Some("WRONGTYPE".into());
        let v = provisional_verdict(&m(), &[r]);
        assert_eq!(kinds(&v), [MALFORMED]);
        assert_eq!(
            v.findings[0].key,
            Bytes::from("$KeyF:RedisJob:status:pending")
        );
        // Another status's index of the wrong type is not this job's damage.
        let mut r = healthy("j", "p", "pending");
        r.status_indexes[1].member = None;
        r.status_indexes[1].error = Some("WRONGTYPE".into());
        assert_eq!(provisional_verdict(&m(), &[r]).kind, HEALTHY);
    }

    #[test]
    fn ghosts() {
        let mut gone = healthy("j", "p", "pending");
        gone.redis_type = "none".into();
        gone.fields = Fields::default();
        let live = healthy("j", "p", "running");
        let v = provisional_verdict(&m(), &[gone.clone(), live]);
        assert_eq!(kinds(&v), [STALE_KEY]);
        let v = provisional_verdict(&m(), std::slice::from_ref(&gone));
        assert_eq!(kinds(&v), [DANGLING_INDEX, DANGLING_CLASS]);
        let mut nowhere = gone;
        for c in nowhere
            .status_indexes
            .iter_mut()
            .chain(&mut nowhere.key_field_indexes)
            .chain(&mut nowhere.sorted_sets)
        {
            c.member = Some(false);
        }
        nowhere.class_set.member = Some(false);
        assert_eq!(provisional_verdict(&m(), &[nowhere]).kind, NOT_FOUND);
    }

    #[test]
    fn severity_orders_the_headline() {
        let mut r = healthy("j", "p", "pending");
        set_status(&mut r, "pending", false);
        r.key_field_indexes[0].member = Some(false);
        r.missing_fields = vec!["message_text".into()];
        let v = provisional_verdict(&m(), &[r]);
        assert_eq!(kinds(&v), [PARTIAL, ORPHAN, SECONDARY_GAP]);
        assert_eq!(v.kind, PARTIAL);
    }
}
