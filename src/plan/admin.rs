//! Planning of the admin verbs (`delete`, `retry`; prune in `plan::prune`):
//! which selected records may be touched ([`judge`]), the guarded
//! popoto-style delete of one record ([`delete_step`]) and its move back to
//! pending ([`retry_step`], through the move script reap shares).
//!
//! Owns: the shape of an admin delete and its audit entry. Must not: do
//! I/O. The one impurity is the audit entry's time, which `store::audit`
//! stamps as the entry is built.

use crate::schema::keys::ParsedKey;
use crate::schema::{msgpack, Model, Value};
use crate::store::audit::Audit;
use crate::store::delete::{DeleteRecord, FieldPointers};
use crate::store::moves::MoveRecord;

use super::status_move::status_move;

/// One record as read for an admin verb.
#[derive(Debug, Clone, PartialEq)]
pub struct Selected {
    pub key: Vec<u8>,
    pub job_id: Vec<u8>,
    /// The key parsed, or why it does not parse.
    pub parsed: Result<ParsedKey, String>,
    /// The status field's raw bytes: `None` when the hash has none (or the
    /// key is not a hash, see `not_a_hash`).
    pub status_raw: Option<Vec<u8>>,
    pub not_a_hash: bool,
}

impl Selected {
    /// The status field decoded as text, when it is one.
    pub fn status(&self) -> Option<String> {
        match msgpack::decode(self.status_raw.as_deref()?) {
            Ok(Value::Str(s)) => Some(s),
            _ => None,
        }
    }
}

/// Whether a selected record may be touched, and why not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Judgement {
    Go,
    /// Left alone; the reason says why and what would allow it.
    Refused(String),
}

/// May `record` be deleted? Never one that is not a hash, whose key does
/// not parse, or whose status cannot be read (there is no guard to plan
/// from); a running job only with `force` (its worker is still on it).
pub fn judge(model: &Model, record: &Selected, force: bool) -> Judgement {
    if record.not_a_hash {
        return Judgement::Refused("not a hash: never touched (see `jobq orphans scan`)".into());
    }
    if let Err(e) = &record.parsed {
        return Judgement::Refused(format!("the key does not parse ({e}): never touched"));
    }
    let Some(status) = record.status() else {
        return Judgement::Refused(
            "its status field is missing or not text: nothing to guard the step with".into(),
        );
    };
    if status == model.status.running && !force {
        return Judgement::Refused(format!(
            "{status}: a worker holds it; give --force to take it anyway"
        ));
    }
    Judgement::Go
}

/// Every set a record may be in, for a delete: each declared status index
/// and the one its key names, each other key-field index of its key's
/// values, and the class set last (popoto's order). The set an indexed
/// field's pointer names is found by the delete script itself.
pub fn sets_of(model: &Model, parsed: &ParsedKey) -> Vec<Vec<u8>> {
    let st = &model.status;
    let mut sets: Vec<Vec<u8>> = st.values.iter().map(|v| model.status_index(v)).collect();
    for f in model.keyf_fields() {
        let k = model.index_key(&f.name, parsed.get(&f.name));
        if !sets.contains(&k) {
            sets.push(k);
        }
    }
    sets.push(model.class_set());
    sets
}

/// The guarded delete of a record [`judge`] let through (`None` for one it
/// did not). `action` names it in the audit entry (`delete`, `prune`);
/// `extra` pairs follow the job's own.
pub fn delete_step(
    model: &Model,
    audit: &Audit,
    record: &Selected,
    action: &str,
    before_image: bool,
    extra: &[(&str, &[u8])],
) -> Option<DeleteRecord> {
    let parsed = record.parsed.as_ref().ok()?;
    let status = record.status_raw.clone()?;
    let mut pairs: Vec<(&str, &[u8])> = vec![
        ("action", action.as_bytes()),
        ("job", &record.job_id),
        ("key", &record.key),
    ];
    pairs.extend_from_slice(extra);
    Some(DeleteRecord {
        key: record.key.clone(),
        audit_stream: audit.stream.clone(),
        audit_maxlen: audit.maxlen,
        expect_field: model.status.field.clone(),
        expect_value: status,
        srem: sets_of(model, parsed),
        zrem: model
            .sorted_fields()
            .map(|f| model.sorted_key(&f.name))
            .collect(),
        pointers: model
            .indexf_fields()
            .map(|f| FieldPointers {
                pointer: model.index_pointer(&record.key, &f.name),
                legacy: model.legacy_pointer_key(&record.key, &f.name),
                set_prefix: model.index_prefix(&f.name),
            })
            .collect(),
        before_image,
        audit: audit.entry(&pairs),
    })
}

/// The guarded move of a selected record back to pending, popoto-style:
/// re-created under its pending key with every field kept (the status, and
/// with `priority` the priority, written over), guarded by the status bytes
/// read and by its membership of the status index it was read from; no
/// record of the job may exist under its pending key or any other status.
pub fn retry_step(
    model: &Model,
    audit: &Audit,
    record: &Selected,
    priority: Option<&(String, Vec<u8>)>,
) -> Option<MoveRecord> {
    let parsed = record.parsed.as_ref().ok()?;
    let expect = record.status_raw.clone()?;
    let st = &model.status;
    // The status it was read in: its key's (key layout) or its field's,
    // the set it was found in (indexed layout; `pick` checked they agree).
    let from = if model.status_in_key() {
        model.key_status(parsed).to_owned()
    } else {
        record.status()?
    };
    let to = &st.pending;
    let mv = status_move(model, &record.key, parsed, &from, to);
    let mut overrides = vec![(st.field.clone(), msgpack::encode(&Value::Str(to.clone())))];
    if let Some((f, v)) = priority {
        overrides.push((f.clone(), v.clone()));
    }
    let entry = audit.entry(&[
        ("action", b"retry"),
        ("job", &record.job_id),
        ("key", &record.key),
        ("new_key", &mv.new_key),
        ("to", to.as_bytes()),
    ]);
    Some(MoveRecord {
        old_key: record.key.clone(),
        absent: mv.twins,
        new_key: mv.new_key,
        audit_stream: audit.stream.clone(),
        audit_maxlen: audit.maxlen,
        expect_field: st.field.clone(),
        expect_value: expect,
        guard_sets: mv.guard_sets,
        srem: mv.srem,
        sadd: mv.sadd,
        zsets: mv.zsets,
        overrides,
        counter: None,
        forget_in: None,
        audit: entry,
        pointer: mv.pointer,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::msgpack::encode;

    fn selected(model: &Model, key: &str, status: Option<&str>) -> Selected {
        Selected {
            key: key.as_bytes().to_vec(),
            job_id: b"j1".to_vec(),
            parsed: model.parse_key(key.as_bytes()).map_err(|e| e.to_string()),
            status_raw: status.map(|s| encode(&Value::Str(s.into()))),
            not_a_hash: false,
        }
    }

    #[test]
    fn running_needs_force_and_broken_records_are_never_touched() {
        let m = Model::redis_job();
        let run = selected(&m, "RedisJob:j1:p:running", Some("running"));
        assert!(matches!(judge(&m, &run, false), Judgement::Refused(r) if r.contains("--force")));
        assert_eq!(judge(&m, &run, true), Judgement::Go);
        let done = selected(&m, "RedisJob:j1:p:completed", Some("completed"));
        assert_eq!(judge(&m, &done, false), Judgement::Go);
        let partial = selected(&m, "RedisJob:j1:p:completed", None);
        assert!(matches!(judge(&m, &partial, true), Judgement::Refused(_)));
        let mut bad = selected(&m, "RedisJob:j1", Some("completed"));
        assert!(matches!(judge(&m, &bad, true), Judgement::Refused(r) if r.contains("parse")));
        bad = selected(&m, "RedisJob:j1:p:completed", Some("completed"));
        bad.not_a_hash = true;
        assert!(matches!(judge(&m, &bad, true), Judgement::Refused(_)));
    }

    #[test]
    fn a_retry_moves_to_pending_guarded_by_what_was_read() {
        let m = Model::redis_job();
        let audit = Audit::new(b"jobq:audit".to_vec(), "retry");
        let rec = selected(&m, "RedisJob:j1:p:failed", Some("failed"));
        let prio = ("priority".to_owned(), encode(&Value::Str("high".into())));
        let mv = retry_step(&m, &audit, &rec, Some(&prio)).expect("move");
        assert_eq!(mv.new_key, b"RedisJob:j1:p:pending");
        assert_eq!(mv.guard_sets, [b"$KeyF:RedisJob:status:failed".to_vec()]);
        assert_eq!(mv.expect_value, encode(&Value::Str("failed".into())));
        assert_eq!(mv.overrides.len(), 2);
        assert!(mv.absent.contains(&b"RedisJob:j1:p:running".to_vec()));
        assert!(!mv.absent.contains(&b"RedisJob:j1:p:failed".to_vec()));
        assert!(mv.sadd.contains(&b"$KeyF:RedisJob:status:pending".to_vec()));
    }

    #[test]
    fn a_delete_leaves_every_index_then_the_class_set() {
        let m = Model::redis_job();
        let audit = Audit::new(b"jobq:audit".to_vec(), "delete");
        let rec = selected(&m, "RedisJob:j1:p:lost", Some("lost"));
        let d = delete_step(&m, &audit, &rec, "delete", true, &[]).expect("step");
        let sets: Vec<String> = d
            .srem
            .iter()
            .map(|s| String::from_utf8_lossy(s).into_owned())
            .collect();
        assert_eq!(
            sets,
            [
                "$KeyF:RedisJob:status:pending",
                "$KeyF:RedisJob:status:running",
                "$KeyF:RedisJob:status:completed",
                "$KeyF:RedisJob:status:failed",
                "$KeyF:RedisJob:project_key:p",
                "$KeyF:RedisJob:status:lost",
                "$Class:RedisJob",
            ]
        );
        assert_eq!(d.zrem, [b"$SortF:RedisJob:created_at".to_vec()]);
        assert_eq!(d.expect_value, encode(&Value::Str("lost".into())));
        assert!(d
            .audit
            .windows(2)
            .any(|w| w[0] == b"run" && w[1] == audit.run_id.as_bytes()));
    }
}
