//! Planning of `jobq prune` and `jobq restore`: which keys a record is read
//! with ([`read_keys`]), its backup line and guarded delete from what was
//! read exactly ([`prune_step`]), and its guarded re-creation from a backup
//! line ([`restore_step`]).
//!
//! Owns: the shape of a prune step and of a restore step and its audit
//! entry. Must not: do I/O (the audit header's time aside, which
//! `store::audit` stamps as the entry is built).

use super::admin::sets_of;
use crate::backup::Record;
use crate::bytes::Bytes;
use crate::schema::keys::ParsedKey;
use crate::schema::Model;
use crate::store::audit::Audit;
use crate::store::moves::SkipReason;
use crate::store::prune::{record_digest, ExactRead, PruneStep, RestoreRecord};

/// The sets a record is read (and deleted) with: every index it may be in,
/// the class set last; and the model's zsets.
pub fn read_keys(model: &Model, parsed: &ParsedKey) -> (Vec<Vec<u8>>, Vec<Vec<u8>>) {
    (sets_of(model, parsed), zsets(model))
}

/// The string keys a record is read (and deleted) with: for each indexed
/// field, its `$IdxPtr` pointer then its 1.8.1-1.8.2 legacy pointer key
/// (popoto deletes both with the record).
pub fn pointer_keys(model: &Model, key: &[u8]) -> Vec<Vec<u8>> {
    model
        .indexf_fields()
        .flat_map(|f| {
            [
                model.index_pointer(key, &f.name),
                model.legacy_pointer_key(key, &f.name),
            ]
        })
        .collect()
}

/// The model's sorted-field zsets.
pub fn zsets(model: &Model) -> Vec<Vec<u8>> {
    model
        .sorted_fields()
        .map(|f| model.sorted_key(&f.name))
        .collect()
}

/// The backup line and the guarded delete of a record read exactly as
/// `read` with `strings` ([`pointer_keys`]): `None` when it is not a record
/// any more; `Err` when it is left: it carries a legacy pointer (a key or
/// 1.8.0's hash field: `reindex --migrate-pointers` migrates it), or its
/// pointer names one of the field's sets it was not read with (popoto's
/// delete would leave that set too, and no line would say it was in it).
pub fn prune_step(
    model: &Model,
    key: &[u8],
    job_id: &[u8],
    (sets, zsets): (Vec<Vec<u8>>, Vec<Vec<u8>>),
    strings: Vec<Vec<u8>>,
    read: ExactRead,
) -> Option<Result<(Record, PruneStep), SkipReason>> {
    let ExactRead::Record {
        fields,
        in_sets,
        scores,
        strings: values,
    } = read
    else {
        return None;
    };
    for (j, f) in model.indexf_fields().enumerate() {
        let legacy_field = model.legacy_pointer_field(&f.name);
        let legacy_key = values.get(2 * j + 1).is_some_and(|v| v.is_some());
        if legacy_key || fields.iter().any(|(n, _)| *n == legacy_field) {
            return Some(Err(SkipReason::LegacyPointer));
        }
        let prefix = model.index_prefix(&f.name);
        if let Some(Some(v)) = values.get(2 * j) {
            if v.starts_with(&prefix) && !sets.contains(v) {
                return Some(Err(SkipReason::PointerChanged));
            }
        }
    }
    let digest = record_digest(fields.iter().map(|(f, v)| (f.as_slice(), v.as_slice())));
    let record = Record {
        key: Bytes::from(key),
        job_id: Bytes::from(job_id),
        fields: fields
            .into_iter()
            .map(|(f, v)| (Bytes(f), Bytes(v)))
            .collect(),
        sets: sets
            .iter()
            .zip(&in_sets)
            .filter(|(_, &i)| i)
            .map(|(s, _)| Bytes(s.clone()))
            .collect(),
        zsets: zsets
            .iter()
            .zip(&scores)
            .filter_map(|(z, s)| {
                let s = s.as_ref()?;
                Some((Bytes(z.clone()), String::from_utf8_lossy(s).into_owned()))
            })
            .collect(),
        strings: strings
            .iter()
            .zip(&values)
            .filter_map(|(k, v)| Some((Bytes(k.clone()), Bytes(v.clone()?))))
            .collect(),
    };
    let step = PruneStep {
        key: key.to_vec(),
        job_id: job_id.to_vec(),
        sets,
        in_sets,
        zsets,
        scores,
        strings,
        values,
        digest,
    };
    Some(Ok((record, step)))
}

/// The guarded re-creation of a backup's record: under its own key, with
/// its exact fields, sets and scores, as long as neither its key nor the
/// job's key under any other status exists. `Err` says why it cannot be
/// planned (its key does not parse as the model's).
pub fn restore_step(
    model: &Model,
    audit: &Audit,
    record: &Record,
    backup: &[u8],
) -> Result<RestoreRecord, String> {
    let key = record.key.as_slice();
    let parsed = model
        .parse_key(key)
        .map_err(|e| format!("the key does not parse as a {} key ({e})", model.class))?;
    if model.key_job_id_bytes(key).as_deref() != Some(record.job_id.as_slice()) {
        return Err("its job_id is not the one its key names".into());
    }
    let st = &model.status;
    let own = model.key_status(&parsed).to_owned();
    let absent = st
        .values
        .iter()
        .filter(|s| **s != own)
        .map(|s| model.rekey(&parsed, &st.field, s))
        .collect();
    // Only this record's own pointer keys are written: a line's strings
    // are data, never trusted to name any key.
    let own_pointers = pointer_keys(model, key);
    if let Some((k, _)) = record
        .strings
        .iter()
        .find(|(k, _)| !own_pointers.contains(&k.0))
    {
        return Err(format!(
            "{} is not one of its pointer keys",
            crate::bytes::escape_bytes(&k.0)
        ));
    }
    // Every field written (`hset.F`, as a create lists them), so that undo
    // can tell the record untouched since.
    let hset: Vec<(String, &[u8])> = record
        .fields
        .iter()
        .map(|(f, v)| {
            (
                format!("hset.{}", String::from_utf8_lossy(f.as_slice())),
                v.as_slice(),
            )
        })
        .collect();
    let mut pairs: Vec<(&str, &[u8])> = vec![
        ("action", b"restore"),
        ("key", key),
        ("job", record.job_id.as_slice()),
        ("backup", backup),
    ];
    pairs.extend(hset.iter().map(|(f, v)| (f.as_str(), *v)));
    let entry = audit.entry(&pairs);
    Ok(RestoreRecord {
        key: key.to_vec(),
        audit_stream: audit.stream.clone(),
        audit_maxlen: audit.maxlen,
        fields: record
            .fields
            .iter()
            .map(|(f, v)| (f.0.clone(), v.0.clone()))
            .collect(),
        sets: record.sets.iter().map(|s| s.0.clone()).collect(),
        zsets: record
            .zsets
            .iter()
            .map(|(z, s)| (z.0.clone(), s.clone().into_bytes()))
            .collect(),
        absent,
        strings: record
            .strings
            .iter()
            .map(|(k, v)| (k.0.clone(), v.0.clone()))
            .collect(),
        audit: entry,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_backup_line_holds_what_was_read_and_restores_to_the_same_key() {
        let m = Model::redis_job();
        let key = b"RedisJob:j1:p:completed";
        let parsed = m.parse_key(key).expect("parse");
        let (sets, zs) = read_keys(&m, &parsed);
        let mut in_sets = vec![false; sets.len()];
        in_sets[2] = true;
        *in_sets.last_mut().expect("class") = true;
        let read = ExactRead::Record {
            fields: vec![(b"status".to_vec(), b"\xa9completed".to_vec())],
            in_sets,
            scores: vec![Some(b"1.5".to_vec())],
            strings: vec![],
        };
        let (rec, step) = prune_step(&m, key, b"j1", (sets, zs), vec![], read)
            .expect("step")
            .expect("taken");
        assert_eq!(
            rec.sets,
            [
                Bytes::from("$KeyF:RedisJob:status:completed"),
                Bytes::from("$Class:RedisJob")
            ]
        );
        assert_eq!(rec.zsets[0].1, "1.5");
        assert_eq!(step.digest.len(), 40);
        assert!(prune_step(&m, key, b"j1", (vec![], vec![]), vec![], ExactRead::Gone).is_none());
        let audit = Audit::new(b"jobq:audit".to_vec(), "restore");
        let r = restore_step(&m, &audit, &rec, b"/tmp/b").expect("restore");
        assert_eq!(r.key, key);
        assert!(r.absent.contains(&b"RedisJob:j1:p:pending".to_vec()));
        assert!(!r.absent.contains(&key.to_vec()));
        assert_eq!(
            r.zsets,
            [(b"$SortF:RedisJob:created_at".to_vec(), b"1.5".to_vec())]
        );
        let mut other = rec.clone();
        other.job_id = Bytes::from("j2");
        assert!(restore_step(&m, &audit, &other, b"").is_err());
    }
}
