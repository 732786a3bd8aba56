//! Planning from hand-built findings.

use super::*;
use crate::diagnose::classify;
use crate::diagnose::testkit::*;
use crate::schema::observed::HashState;

fn plan_of(obs: &[crate::schema::observed::Observation], policy: &Policy) -> Plan {
    let model = m();
    let findings: Vec<Finding> = obs.iter().filter_map(|o| classify(&model, o)).collect();
    build(&model, &findings, policy)
}

fn only_step(p: &Plan) -> &Step {
    assert_eq!(p.actions.len(), 1, "{p:#?}");
    &p.actions[0].step
}

#[test]
fn orphan_gets_its_index() {
    let mut o = healthy("a", "pending");
    set_member(&mut o, "pending", false);
    let p = plan_of(&[o], &Policy::default());
    match only_step(&p) {
        Step::Reconcile {
            sadd,
            srem,
            zadd,
            restore,
            overwrite,
            expect_status,
        } => {
            assert_eq!(sadd, &vec![b("$KeyF:RedisJob:status:pending")]);
            assert!(
                srem.is_empty() && zadd.is_empty() && restore.is_empty() && overwrite.is_empty()
            );
            assert!(expect_status.is_some());
        }
        s => panic!("{s:?}"),
    }
}

#[test]
fn wrong_and_multi_index() {
    let mut o = healthy("a", "completed");
    set_member(&mut o, "completed", false);
    set_member(&mut o, "pending", true);
    let p = plan_of(&[o], &Policy::default());
    match only_step(&p) {
        Step::Reconcile { sadd, srem, .. } => {
            assert_eq!(sadd, &vec![b("$KeyF:RedisJob:status:completed")]);
            assert_eq!(srem, &vec![b("$KeyF:RedisJob:status:pending")]);
        }
        s => panic!("{s:?}"),
    }
}

#[test]
fn ghosts_are_removed_from_sets_and_zsets() {
    let mut o = healthy("a", "pending");
    o.hash = HashState::Missing;
    let p = plan_of(&[o], &Policy::default());
    match only_step(&p) {
        Step::RemoveGhost { srem, zrem } => {
            assert_eq!(srem.len(), 3);
            assert_eq!(zrem, &vec![b("$SortF:RedisJob:created_at")]);
        }
        s => panic!("{s:?}"),
    }
}

#[test]
fn partial_restores_key_fields_only() {
    let mut o = healthy("a", "pending");
    if let HashState::Hash { missing, .. } = &mut o.hash {
        *missing = vec!["job_id".into(), "priority".into()];
    }
    let p = plan_of(&[o], &Policy::default());
    match only_step(&p) {
        Step::Reconcile { restore, .. } => {
            assert_eq!(
                restore,
                &vec![("job_id".to_string(), Bytes(encode(&Value::Str("a".into()))))]
            );
        }
        s => panic!("{s:?}"),
    }
}

#[test]
fn policies() {
    let mut o = healthy("a", "pending");
    if let HashState::Hash { status, .. } = &mut o.hash {
        *status = Some(Bytes(encode(&Value::Str("completed".into()))));
    }
    let p = plan_of(std::slice::from_ref(&o), &Policy::default());
    assert!(p.actions.is_empty());
    assert_eq!(p.needs_policy.len(), 1);
    let p = plan_of(
        std::slice::from_ref(&o),
        &Policy {
            prefer: Some(Prefer::Key),
            keep_latest: false,
            migrate_pointers: false,
        },
    );
    match only_step(&p) {
        Step::Reconcile {
            overwrite,
            expect_status,
            ..
        } => {
            assert_eq!(overwrite[0].1, Bytes(encode(&Value::Str("pending".into()))));
            assert_eq!(
                expect_status.as_ref().map(|s| s.0.clone()),
                Some(encode(&Value::Str("completed".into())))
            );
        }
        s => panic!("{s:?}"),
    }
    let p = plan_of(
        std::slice::from_ref(&o),
        &Policy {
            prefer: Some(Prefer::Field),
            keep_latest: false,
            migrate_pointers: false,
        },
    );
    match only_step(&p) {
        Step::Move { to, sadd, srem, .. } => {
            assert_eq!(to, &b("RedisJob:a:projA:completed"));
            assert!(sadd.contains(&b("$KeyF:RedisJob:status:completed")));
            assert!(sadd.contains(&b("$Class:RedisJob")) && srem.contains(&b("$Class:RedisJob")));
        }
        s => panic!("{s:?}"),
    }
}

#[test]
fn duplicates_keep_the_latest_once() {
    let mut a = healthy("a", "pending");
    a.twins = Some(vec![b(&key("a", "completed"))]);
    let mut c = healthy("a", "completed");
    c.twins = Some(vec![b(&key("a", "pending"))]);
    let p = plan_of(&[a.clone(), c], &Policy::default());
    assert_eq!(p.needs_policy.len(), 2);
    let mut c = healthy("a", "completed");
    c.twins = Some(vec![b(&key("a", "pending"))]);
    let p = plan_of(
        &[a, c],
        &Policy {
            prefer: None,
            keep_latest: true,
            migrate_pointers: false,
        },
    );
    match only_step(&p) {
        Step::RemoveDuplicate { keep, srem, .. } => {
            assert_eq!(keep, &b(&key("a", "completed")));
            assert!(srem.contains(&b("$Class:RedisJob")));
        }
        s => panic!("{s:?}"),
    }
    assert_eq!(p.actions[0].key, b(&key("a", "pending")));
}

#[test]
fn malformed_is_untouched_and_plans_round_trip() {
    let mut o = healthy("a", "pending");
    o.hash = HashState::WrongType {
        redis_type: "string".into(),
    };
    let mut g = healthy("b", "pending");
    g.hash = HashState::Missing;
    let p = plan_of(&[o, g], &Policy::default());
    assert_eq!(p.untouched.len(), 1);
    let text = serde_json::to_string(&p).expect("json");
    let back: Plan = serde_json::from_str(&text).expect("parse");
    assert_eq!(back, p);
}
