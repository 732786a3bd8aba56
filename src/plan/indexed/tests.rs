use super::*;
use crate::diagnose::classify;
use crate::diagnose::indexed::tests_kit::{healthy, member, model};
use crate::plan::{build, check::check};

fn plan_of(o: &Observation, policy: &Policy) -> Plan {
    let m = model();
    let f: Vec<Finding> = classify(&m, o).into_iter().collect();
    let p = build(&m, &f, policy);
    for a in &p.actions {
        assert_eq!(check(&m, a), Ok(()), "{a:?}");
    }
    p
}

fn only(p: &Plan) -> &Step {
    assert_eq!(p.actions.len(), 1, "{p:?}");
    &p.actions[0].step
}

#[test]
fn a_wrong_index_moves_the_membership_then_the_pointer() {
    let mut o = healthy("running");
    member(&mut o, "running", false);
    member(&mut o, "pending", true);
    o.pointer.as_mut().unwrap().value = Some(Bytes(model().status_index("pending")));
    match only(&plan_of(&o, &Policy::default())) {
        Step::Repoint(r) => {
            let Repoint {
                sadd,
                srem,
                point_to,
                expect_pointer,
                migrate,
                ..
            } = &**r;
            assert_eq!(sadd, &vec![Bytes(model().status_index("running"))]);
            assert_eq!(srem, &vec![Bytes(model().status_index("pending"))]);
            assert_eq!(point_to, &Some(Bytes(model().status_index("running"))));
            assert_eq!(
                expect_pointer,
                &Some(Bytes(model().status_index("pending")))
            );
            assert!(!migrate);
        }
        s => panic!("{s:?}"),
    }
}

#[test]
fn a_legacy_pointer_waits_for_the_flag() {
    let mut o = healthy("pending");
    let p = o.pointer.as_mut().unwrap();
    p.value = None;
    p.legacy_field_value = Some(Bytes(model().status_index("pending")));
    let plan = plan_of(&o, &Policy::default());
    assert!(plan.actions.is_empty());
    assert_eq!(plan.needs_policy.len(), 1);
    let plan = plan_of(
        &o,
        &Policy {
            migrate_pointers: true,
            ..Policy::default()
        },
    );
    match only(&plan) {
        Step::Repoint(r) => {
            let Repoint {
                point_to, migrate, ..
            } = &**r;
            assert!(migrate);
            assert_eq!(point_to, &Some(Bytes(model().status_index("pending"))));
        }
        s => panic!("{s:?}"),
    }
    // An orphan with a legacy pointer gets its membership, not a pointer.
    member(&mut o, "pending", false);
    match only(&plan_of(&o, &Policy::default())) {
        Step::Repoint(r) => {
            let Repoint { point_to, sadd, .. } = &**r;
            assert_eq!(point_to, &None);
            assert_eq!(sadd.len(), 1);
        }
        s => panic!("{s:?}"),
    }
}

#[test]
fn a_partial_is_left_and_a_dangling_pointer_removed() {
    let mut o = healthy("pending");
    if let HashState::Hash { missing, .. } = &mut o.hash {
        *missing = vec!["job_id".into()];
    }
    let p = plan_of(&o, &Policy::default());
    assert!(p.actions.is_empty());
    assert_eq!(p.untouched.len(), 1);
    let mut o = healthy("pending");
    o.hash = HashState::Missing;
    o.class_set.member = Some(false);
    o.secondary_sets[0].member = Some(false);
    o.zsets[0].score = None;
    match only(&plan_of(&o, &Policy::default())) {
        Step::RemovePointers { pointers, srem, .. } => {
            assert_eq!(pointers.len(), 1);
            assert_eq!(srem, &vec![Bytes(model().status_index("pending"))]);
        }
        s => panic!("{s:?}"),
    }
}

#[test]
fn a_plan_file_may_not_point_elsewhere_or_touch_other_keys() {
    let m = model();
    let mut o = healthy("running");
    o.pointer.as_mut().unwrap().value = None;
    let p = plan_of(&o, &Policy::default());
    let mut a = p.actions[0].clone();
    if let Step::Repoint(r) = &mut a.step {
        let point_to = &mut r.point_to;
        *point_to = Some(Bytes(m.status_index("pending")));
    }
    assert!(check(&m, &a).is_err());
    let mut a = p.actions[0].clone();
    if let Step::Repoint(r) = &mut a.step {
        let pointer = &mut r.pointer;
        *pointer = Bytes::from("$IdxPtr:Job:other:p:status");
    }
    assert!(check(&m, &a).is_err());
    let mut a = p.actions[0].clone();
    a.step = Step::RemoveDuplicate {
        keep: a.key.clone(),
        srem: vec![],
        zrem: vec![],
    };
    assert!(check(&m, &a).is_err());
}
