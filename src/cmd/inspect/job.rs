//! `jobq inspect JOB_ID`: every record of one job_id, decoded, with every
//! set each record is (or should be) a member of, and a verdict.
//!
//! The job_id is user input and is matched literally: glob characters are
//! escaped in the SCAN pattern (`Model::job_pattern`) and every match is
//! parsed back and compared byte for byte.

use std::collections::BTreeMap;

use anyhow::Result;

use super::{status_indexes, StatusIndex, SCAN_COUNT};
use crate::bytes::{escape_bytes, Bytes};
use crate::diagnose::verdict;
use crate::exit;
use crate::output::Ui;
use crate::report::inspect::{
    ExtraField, FieldValue, Fields, JobReport, PointerFacts, RecordFacts, SetCheck, HEALTHY,
};
use crate::schema::probe::{Layout, Probe};
use crate::schema::Model;
use crate::settings::Settings;
use crate::store::inspect::{FieldSelection, MemberCheck, Membership, RawRecord};
use crate::store::Store;

/// A value longer than this is shown as its length only.
pub const JOB_VALUE_CAP: u64 = 1 << 20;
/// A hash with more fields than this has only its declared fields read.
pub const MAX_LISTED_FIELDS: u64 = 1000;

pub async fn run(
    settings: &Settings,
    ui: &Ui,
    store: &mut Store,
    arg: &[u8],
    discover: bool,
) -> Result<(JobReport, u8)> {
    let model = &settings.model;
    if arg.is_empty() {
        return Err(exit::usage("JOB_ID must not be empty"));
    }
    // A full key stands for its job_id; its own state is shown too, even if
    // the key is gone (a ghost still in some index).
    let (job_id, given_key) = match model.key_job_id_bytes(arg) {
        Some(id) => (id, Some(arg.to_vec())),
        None => (arg.to_vec(), None),
    };
    let pattern = model.job_pattern(&job_id);
    let mut keys: Vec<Vec<u8>> = store
        .scan_match(&pattern, SCAN_COUNT)
        .await?
        .into_iter()
        .filter(|k| model.key_job_id_bytes(k).as_deref() == Some(job_id.as_slice()))
        .collect();
    keys.sort();
    if let Some(g) = &given_key {
        if !keys.contains(g) {
            keys.push(g.clone());
        }
    }
    let (mut statuses, discovery) = status_indexes(store, model, discover).await?;
    let declared: Vec<String> = model.fields.iter().map(|f| f.name.clone()).collect();
    let raws = store
        .read_records(
            &keys,
            FieldSelection::All {
                declared: &declared,
                max_fields: MAX_LISTED_FIELDS,
            },
            JOB_VALUE_CAP,
        )
        .await?;

    let mut notes = Vec::new();
    let mut records: Vec<RecordFacts> = Vec::new();
    for raw in raws {
        if raw.redis_type == "none" && given_key.as_ref() != Some(&raw.key) {
            notes.push(format!(
                "{} vanished between the scan and the read (moved by a worker?); run again",
                escape_bytes(&raw.key)
            ));
            continue;
        }
        records.push(facts_of(model, raw));
    }
    if discovery.walked_keyspace {
        notes.push(format!(
            "status indexes: the schema's plus a SCAN MATCH {} over the whole keyspace ({} keys); --no-discover skips that walk",
            discovery.pattern,
            discovery.keys_in_db.unwrap_or(0)
        ));
    }

    read_pointers(store, model, &mut records).await?;

    // The statuses its key, its field and its pointer name are looked at
    // even when the schema does not list them and discovery was off.
    for r in &records {
        let named = r
            .pointers
            .iter()
            .filter(|p| p.field == model.status.field)
            .filter_map(|p| model.index_value(&model.status.field, &p.names.as_ref()?.0))
            .filter_map(|v| String::from_utf8(v).ok());
        let own = [
            r.key_fields
                .as_ref()
                .and_then(|k| k.get(&model.status.field))
                .cloned(),
            r.fields
                .get(&model.status.field)
                .and_then(FieldValue::key_text)
                .map(str::to_owned),
        ];
        for s in own.into_iter().flatten().chain(named) {
            let key = model.status_index(&s);
            if !statuses.iter().any(|x| x.key.0 == key) {
                statuses.push(StatusIndex {
                    status: Bytes::from(s.as_str()),
                    key: Bytes(key),
                    declared: model.is_status(&s),
                });
            }
        }
    }

    check_memberships(store, model, &statuses, &mut records).await?;
    for r in &mut records {
        for p in &mut r.pointers {
            if let Some(n) = &p.names {
                p.names_member = r
                    .status_indexes
                    .iter()
                    .find(|c| &c.set == n)
                    .and_then(|c| c.member);
            }
        }
    }

    // The verdict is the shared diagnosis of each record, observed in one
    // snapshot with its twins (other live records of the job_id).
    // Every other key found for the job_id is a twin, whatever its other
    // key segments (another project is as much a duplicate as another
    // status).
    let probes: Vec<Probe> = records
        .iter()
        .map(|r| {
            let mut p = Probe::new(model, r.key.as_slice()).with_twins();
            for o in &records {
                if o.key != r.key && !p.twins.contains(&o.key.0) {
                    p.twins.push(o.key.0.clone());
                }
            }
            p
        })
        .collect();
    let observations = store.observe(&Layout::of(model), &probes, true).await?;
    let bad_values: Vec<verdict::BadValue> = records
        .iter()
        .flat_map(|r| {
            r.fields.0.iter().filter_map(|(name, v)| match v {
                FieldValue::Undecodable { undecodable, .. } => Some(verdict::BadValue {
                    key: r.key.clone(),
                    detail: format!("field {name} is not valid msgpack ({undecodable})"),
                }),
                _ => None,
            })
        })
        .collect();
    let verdict = verdict::of(model, &observations, &bad_values);
    let found = records.iter().any(|r| r.redis_type != "none");
    if !found {
        ui.info(format!(
            "jobq: no record of job_id {} (SCAN MATCH {})",
            escape_bytes(&job_id),
            escape_bytes(&pattern)
        ));
    }
    let code = if found && verdict.kind == HEALTHY {
        exit::OK
    } else {
        exit::FINDINGS
    };
    Ok((
        JobReport {
            job_id: Bytes(job_id),
            given_key: given_key.map(Bytes),
            found,
            pattern: Bytes(pattern),
            records,
            verdict,
            discovery,
            notes,
        },
        code,
    ))
}

/// The record's own facts, before any membership is checked.
fn facts_of(model: &Model, raw: RawRecord) -> RecordFacts {
    let (key_fields, parse_error) = match model.parse_key(&raw.key) {
        Ok(p) => (
            Some(p.values().iter().cloned().collect::<BTreeMap<_, _>>()),
            None,
        ),
        Err(e) => (None, Some(e.to_string())),
    };
    let mut fields = Vec::new();
    let mut extra_fields = Vec::new();
    for (name, value) in &raw.fields {
        let value = FieldValue::from_raw(value);
        match std::str::from_utf8(name)
            .ok()
            .filter(|n| model.field(n).is_some())
        {
            Some(n) => fields.push((n.to_owned(), value)),
            None => extra_fields.push(ExtraField {
                name: Bytes(name.clone()),
                value,
            }),
        }
    }
    // Declaration order, whatever order HKEYS gave.
    fields.sort_by_key(|(n, _)| model.fields.iter().position(|f| &f.name == n));
    let missing_fields = if raw.redis_type == "hash" {
        model
            .fields
            .iter()
            .filter(|f| !fields.iter().any(|(n, _)| n == &f.name))
            .map(|f| f.name.clone())
            .collect()
    } else {
        Vec::new()
    };
    RecordFacts {
        key: Bytes(raw.key.clone()),
        key_fields,
        parse_error,
        redis_type: raw.redis_type,
        ttl_seconds: (raw.pttl_ms >= 0).then(|| raw.pttl_ms as f64 / 1000.0),
        fields: Fields(fields),
        extra_fields,
        fields_not_listed: raw.fields_not_listed,
        missing_fields,
        class_set: SetCheck::new(model.class_set()),
        status_indexes: Vec::new(),
        key_field_indexes: Vec::new(),
        sorted_sets: Vec::new(),
        member_of: Vec::new(),
        pointers: Vec::new(),
    }
}

/// Each indexed field's pointers of each hash record: popoto 1.10.1's
/// `$IdxPtr` key and the 1.8.0-1.8.2 forms, read in one round trip.
async fn read_pointers(
    store: &mut Store,
    model: &Model,
    records: &mut [RecordFacts],
) -> Result<()> {
    let mut reads = Vec::new();
    let mut slots = Vec::new();
    for (i, r) in records.iter().enumerate() {
        if r.redis_type != "hash" {
            continue;
        }
        for f in model.indexf_fields() {
            let k = &r.key.0;
            reads.push((model.index_pointer(k, &f.name), None));
            reads.push((model.legacy_pointer_key(k, &f.name), None));
            reads.push((k.clone(), Some(model.legacy_pointer_field(&f.name))));
            slots.push((i, f.name.clone()));
        }
    }
    let answers = store.read_values(&reads).await?;
    for ((i, field), (read, answer)) in slots
        .into_iter()
        .zip(reads.chunks(3).zip(answers.chunks(3)))
    {
        let mut error = None;
        let mut got = |a: &Result<Option<Vec<u8>>, String>| match a {
            Ok(v) => v.clone().map(Bytes),
            Err(e) => {
                error.get_or_insert_with(|| e.clone());
                None
            }
        };
        let names = got(&answer[0]);
        let legacy_key = got(&answer[1]).map(|v| (Bytes(read[1].0.clone()), v));
        let legacy_field = got(&answer[2]);
        records[i].pointers.push(PointerFacts {
            field,
            key: Bytes(read[0].0.clone()),
            names,
            names_member: None,
            legacy_key,
            legacy_field,
            error,
        });
    }
    Ok(())
}

/// Where a check's answer goes.
#[derive(Clone, Copy)]
enum Slot {
    Class,
    Status,
    KeyField,
    Sorted,
}

/// Plan every membership check of every record, run them in one pipeline,
/// and file the answers.
async fn check_memberships(
    store: &mut Store,
    model: &Model,
    statuses: &[StatusIndex],
    records: &mut [RecordFacts],
) -> Result<()> {
    let mut plan: Vec<(usize, Slot, SetCheck, MemberCheck)> = Vec::new();
    for (i, r) in records.iter().enumerate() {
        let member = r.key.0.clone();
        let mut add = |slot: Slot, check: SetCheck, sorted: bool| {
            let mc = MemberCheck {
                set: check.set.0.clone(),
                member: member.clone(),
                sorted,
            };
            plan.push((i, slot, check, mc));
        };
        add(Slot::Class, SetCheck::new(model.class_set()), false);
        for s in statuses {
            let mut c = SetCheck::new(s.key.0.clone());
            c.field = Some(model.status.field.clone());
            c.value = Some(s.status.clone());
            c.declared = Some(s.declared);
            add(Slot::Status, c, false);
        }
        for f in model.secondary_key_fields() {
            let in_key = r.key_fields.as_ref().and_then(|k| k.get(&f.name)).cloned();
            let in_field = r
                .fields
                .get(&f.name)
                .and_then(FieldValue::key_text)
                .map(str::to_owned);
            let mut values = Vec::new();
            if let Some(v) = in_key.clone() {
                values.push((v, "key"));
            }
            if let Some(v) = in_field {
                if Some(&v) != in_key.as_ref() {
                    values.push((v, "field"));
                }
            }
            for (v, source) in values {
                let mut c = SetCheck::new(model.index_key(&f.name, Some(&v)));
                c.field = Some(f.name.clone());
                c.value = Some(Bytes::from(v.as_str()));
                c.source = Some(source);
                add(Slot::KeyField, c, false);
            }
        }
        for f in model.sorted_fields() {
            let mut c = SetCheck::new(model.sorted_key(&f.name));
            c.field = Some(f.name.clone());
            add(Slot::Sorted, c, true);
        }
    }
    let checks: Vec<MemberCheck> = plan.iter().map(|(_, _, _, mc)| mc.clone()).collect();
    let answers = store.check_members(&checks).await?;
    for ((i, slot, mut check, _), answer) in plan.into_iter().zip(answers) {
        match answer {
            Ok(Membership::Absent) => check.member = Some(false),
            Ok(Membership::Present) => check.member = Some(true),
            Ok(Membership::Scored(s)) => {
                check.member = Some(true);
                check.score = Some(s);
            }
            Err(e) => check.error = Some(e),
        }
        let r = &mut records[i];
        if check.is_member() {
            r.member_of.push(check.set.clone());
        }
        match slot {
            Slot::Class => r.class_set = check,
            Slot::Status => r.status_indexes.push(check),
            Slot::KeyField => r.key_field_indexes.push(check),
            Slot::Sorted => r.sorted_sets.push(check),
        }
    }
    Ok(())
}
