//! Hand-built observations for the unit tests of diagnose and plan.

use super::*;
use crate::schema::msgpack::{encode, Value};
use crate::schema::observed::ZMembership;

pub fn m() -> Model {
    Model::redis_job()
}

pub fn b(s: &str) -> Bytes {
    Bytes::from(s)
}

pub fn key(id: &str, status: &str) -> String {
    format!("RedisJob:{id}:projA:{status}")
}

/// A healthy pending job's observation; tests then break one thing.
pub fn healthy(id: &str, status: &str) -> Observation {
    let model = m();
    let k = key(id, status);
    Observation {
        key: b(&k),
        hash: HashState::Hash {
            field_count: 6,
            status: Some(Bytes(encode(&Value::Str(status.into())))),
            sorted: vec![(
                "created_at".into(),
                Some(Bytes(encode(&Value::Float(1767225600.5)))),
            )],
            missing: vec![],
        },
        class_set: Membership {
            set: b("$Class:RedisJob"),
            label: "class".into(),
            member: Some(true),
        },
        status_sets: model
            .status
            .values
            .iter()
            .map(|s| Membership {
                set: Bytes(model.status_index(s)),
                label: s.clone(),
                member: Some(s == status),
            })
            .collect(),
        secondary_sets: vec![Membership {
            set: b("$KeyF:RedisJob:project_key:projA"),
            label: "project_key".into(),
            member: Some(true),
        }],
        zsets: vec![ZMembership {
            zset: b("$SortF:RedisJob:created_at"),
            field: "created_at".into(),
            score: Some(1767225600.5),
            known: true,
        }],
        twins: Some(vec![]),
        found_in: vec![],
        bad_values: vec![],
        pointer: None,
    }
}

pub fn set_member(o: &mut Observation, status: &str, member: bool) {
    for m in &mut o.status_sets {
        if m.label == status {
            m.member = Some(member);
        }
    }
}
