use super::*;
use crate::schema::msgpack::{encode, Value};
use crate::schema::observed::ZMembership;

pub(crate) fn model() -> Model {
    Model::from_toml(crate::schema::model::tests::INDEXED_SCHEMA).unwrap()
}

const K: &str = "Job:0123456789abcdef0123456789abcdef:p";

fn b(s: &str) -> Bytes {
    Bytes::from(s)
}

fn set(status: &str) -> Bytes {
    Bytes(model().status_index(status))
}

/// A healthy record of `status` under 1.10.1's pointer scheme.
pub(crate) fn healthy(status: &str) -> Observation {
    let m = model();
    Observation {
        key: b(K),
        hash: HashState::Hash {
            field_count: 5,
            status: Some(Bytes(encode(&Value::Str(status.into())))),
            sorted: vec![("created_at".into(), Some(Bytes(encode(&Value::Float(1.5)))))],
            missing: vec![],
        },
        class_set: Membership {
            set: b("$Class:Job"),
            label: "class".into(),
            member: Some(true),
        },
        status_sets: m
            .status
            .values
            .iter()
            .map(|s| Membership {
                set: Bytes(m.status_index(s)),
                label: s.clone(),
                member: Some(s == status),
            })
            .collect(),
        secondary_sets: vec![Membership {
            set: b("$KeyF:Job:project_key:p"),
            label: "project_key".into(),
            member: Some(true),
        }],
        zsets: vec![ZMembership {
            zset: b("$SortF:Job:created_at"),
            field: "created_at".into(),
            score: Some(1.5),
            known: true,
        }],
        twins: None,
        found_in: vec![],
        bad_values: vec![],
        pointer: Some(PointerObs {
            key: Bytes(m.index_pointer(K.as_bytes(), "status")),
            value: Some(set(status)),
            legacy_key: Bytes(m.legacy_pointer_key(K.as_bytes(), "status")),
            legacy_key_value: None,
            legacy_field: Bytes(m.legacy_pointer_field("status")),
            legacy_field_value: None,
            wrong_type: None,
        }),
    }
}

pub(crate) fn member(o: &mut Observation, status: &str, v: bool) {
    for m in &mut o.status_sets {
        if m.label == status {
            m.member = Some(v);
        }
    }
}

fn kinds(o: &Observation) -> Vec<Kind> {
    match classify(&model(), o) {
        None => vec![],
        Some(f) => std::iter::once(f.kind).chain(f.also).collect(),
    }
}

#[test]
fn the_model_keys_are_those_popoto_writes() {
    let m = model();
    assert!(!m.status_in_key());
    assert_eq!(set("pending").0, b"$IndexF:Job:status:pending");
    assert_eq!(
        m.index_pointer(K.as_bytes(), "status"),
        format!("$IdxPtr:{K}:status").into_bytes()
    );
}

#[test]
fn a_healthy_record_is_healthy_and_goes_through_the_shared_classify() {
    assert_eq!(kinds(&healthy("pending")), vec![]);
    assert_eq!(
        crate::diagnose::classify(&model(), &healthy("running")),
        None
    );
}

#[test]
fn memberships_against_the_field() {
    let mut o = healthy("running");
    member(&mut o, "running", false);
    assert_eq!(kinds(&o), vec![Kind::Orphan]);
    member(&mut o, "pending", true);
    // The pointer still names running: after the move it is right.
    assert_eq!(kinds(&o), vec![Kind::WrongIndex]);
    member(&mut o, "running", true);
    assert_eq!(kinds(&o), vec![Kind::MultiIndexed]);
}

#[test]
fn the_pointer_against_the_set_the_field_names() {
    let mut o = healthy("running");
    o.pointer.as_mut().unwrap().value = Some(set("pending"));
    assert_eq!(kinds(&o), vec![Kind::PointerMismatch]);
    o.pointer.as_mut().unwrap().value = None;
    assert_eq!(kinds(&o), vec![Kind::PointerMissing]);
    member(&mut o, "running", false);
    assert_eq!(kinds(&o), vec![Kind::Orphan, Kind::PointerMissing]);
}

#[test]
fn legacy_pointers_are_their_own_kind_never_malformed() {
    for (key, field) in [(true, false), (false, true), (true, true)] {
        let mut o = healthy("pending");
        let p = o.pointer.as_mut().unwrap();
        p.value = None;
        if key {
            p.legacy_key_value = Some(set("pending"));
        }
        if field {
            p.legacy_field_value = Some(set("pending"));
        }
        let f = classify(&model(), &o).unwrap();
        assert_eq!(f.kind, Kind::LegacyPointer);
        assert!(f.also.is_empty(), "{:?}", f.also);
        assert!(f.kind.needs_policy());
    }
}

#[test]
fn a_ghost_with_pointers_is_dangling_and_a_bare_pointer_dangling_pointer() {
    let mut o = healthy("pending");
    o.hash = HashState::Missing;
    o.class_set.member = Some(false);
    o.secondary_sets[0].member = Some(false);
    o.zsets[0].score = None;
    let f = classify(&model(), &o).unwrap();
    assert_eq!(
        (f.kind, f.also.clone()),
        (Kind::Dangling, vec![Kind::DanglingPointer])
    );
    member(&mut o, "pending", false);
    o.pointer.as_mut().unwrap().legacy_key_value = Some(set("running"));
    let f = classify(&model(), &o).unwrap();
    assert_eq!(f.kind, Kind::DanglingPointer);
    assert_eq!(f.sets.len(), 2, "both pointer keys: {:?}", f.sets);
    o.pointer = None;
    assert_eq!(classify(&model(), &o), None);
}

#[test]
fn popotos_interrupted_create_is_partial_and_never_completed() {
    let mut o = healthy("pending");
    o.class_set.member = Some(false);
    o.secondary_sets[0].member = Some(false);
    o.zsets[0].score = None;
    if let HashState::Hash {
        missing,
        field_count,
        sorted,
        ..
    } = &mut o.hash
    {
        *missing = vec![
            "job_id".into(),
            "project_key".into(),
            "priority".into(),
            "created_at".into(),
        ];
        *field_count = 1;
        sorted[0].1 = None;
    }
    let f = classify(&model(), &o).unwrap();
    assert_eq!(f.kind, Kind::Partial);
    assert!(f.also.is_empty());
    assert!(f.repair.contains("never completed"), "{}", f.repair);
}

#[test]
fn an_unlisted_record_and_its_gaps() {
    let mut o = healthy("pending");
    o.class_set.member = Some(false);
    o.zsets[0].score = None;
    assert_eq!(kinds(&o), vec![Kind::Unlisted, Kind::SecondaryGap]);
}

#[test]
fn a_pointer_of_another_type_is_malformed() {
    let mut o = healthy("pending");
    let p = o.pointer.as_mut().unwrap();
    p.wrong_type = Some(p.key.clone());
    assert_eq!(kinds(&o), vec![Kind::Malformed]);
}
