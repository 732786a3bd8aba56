use super::*;

fn entry(pairs: &[(&str, &[u8])]) -> StreamEntry {
    StreamEntry {
        id: "1-0".into(),
        fields: pairs
            .iter()
            .map(|(f, v)| (f.as_bytes().to_vec(), v.to_vec()))
            .collect(),
    }
}

fn change(pairs: &[(&str, &[u8])]) -> Change {
    match read(&entry(pairs)) {
        Reading::Change(c) => *c,
        other => panic!("not a change: {other:?}"),
    }
}

/// The entry an undo writes reads back as the change it made, and
/// reversing it again gives the original change (undo of an undo redoes).
fn round_trip(c: &Change) {
    let inv = c.inverse("undo").expect("reversible");
    let written: Vec<(String, Vec<u8>)> = std::iter::once(("action".into(), b"undo".to_vec()))
        .chain(inv.entry())
        .collect();
    let pairs: Vec<(&str, &[u8])> = written
        .iter()
        .map(|(f, v)| (f.as_str(), v.as_slice()))
        .collect();
    let mut back = change(&pairs);
    // An idempotency key dropped is not recorded: a redo does not claim it.
    back.unclaim = inv.unclaim.clone();
    assert_eq!(back, inv);
    let again = back.inverse(&c.action).expect("reversible");
    assert_eq!(again.step(&[]), c.step(&[]), "{c:?}");
}

#[test]
fn a_reap_move_reverses_to_the_old_key_with_its_counter_and_note() {
    let c = change(&[
        ("action", b"reap_requeue"),
        ("job", b"j1"),
        ("key", b"R:j1:running"),
        ("moved_to", b"R:j1:pending"),
        ("before.job_id", b"j1"),
        ("before.status", b"running"),
        ("hset.status", b"pending"),
        ("hset.attempts", b"1"),
        ("srem.1", b"S:running"),
        ("sadd.1", b"S:pending"),
        ("zmove.1", b"Z"),
        ("zmove.1.score", b"17.5"),
        ("counter", b"C"),
        ("counter.field", b"j1"),
        ("counter.before", b"0"),
        ("forgot", b"N"),
        ("forgot.before", b"100"),
    ]);
    let inv = c.inverse("undo").expect("reversible");
    assert_eq!(inv.key, b"R:j1:pending");
    assert_eq!(inv.shape, Shape::Moved(b"R:j1:running".to_vec()));
    assert_eq!(
        inv.before,
        vec![
            (b"job_id".to_vec(), b"j1".to_vec()),
            (b"status".to_vec(), b"pending".to_vec()),
            (b"attempts".to_vec(), b"1".to_vec()),
        ]
    );
    assert_eq!(inv.hdel, vec![b"attempts".to_vec()]);
    let step = inv.step(&[]);
    // The old record comes back whole, in its order.
    let written: Vec<&Op> = step
        .writes
        .iter()
        .filter(|o| matches!(o, Op::Hset(k, _, _) if k == b"R:j1:running"))
        .collect();
    assert_eq!(written.len(), 2);
    assert!(step
        .guards
        .contains(&Op::Field(b"C".to_vec(), b"j1".to_vec(), b"1".to_vec())));
    assert!(step
        .writes
        .contains(&Op::Hdel(b"C".to_vec(), b"j1".to_vec())));
    assert!(step.writes.contains(&Op::Hset(
        b"N".to_vec(),
        b"R:j1:running".to_vec(),
        b"100".to_vec()
    )));
    round_trip(&c);
}

#[test]
fn a_create_reverses_to_a_guarded_delete_and_back() {
    let c = change(&[
        ("action", b"create"),
        ("job", b"j1"),
        ("key", b"R:j1:pending"),
        ("hset.job_id", b"j1"),
        ("hset.status", b"pending"),
        ("idempotency", b"I"),
        ("sadd.1", b"CLASS"),
        ("zadd.1", b"Z"),
        ("zadd.1.score", b"3"),
    ]);
    let inv = c.inverse("undo").expect("reversible");
    assert_eq!(inv.shape, Shape::Deleted);
    let step = inv.step(&[]);
    assert!(step.guards.contains(&Op::Len(b"R:j1:pending".to_vec(), 2)));
    assert!(step.writes.contains(&Op::Del(b"R:j1:pending".to_vec())));
    assert!(step
        .writes
        .contains(&Op::Unclaim(b"I".to_vec(), b"R:j1:pending\n".to_vec())));
    round_trip(&c);
}

#[test]
fn a_format_2_create_cannot_be_told_untouched() {
    let c = change(&[("action", b"create"), ("key", b"k"), ("sadd.1", b"C")]);
    assert!(c.inverse("undo").is_err());
}

#[test]
fn a_delete_reverses_to_a_create_guarded_by_the_jobs_other_keys() {
    let c = change(&[
        ("action", b"delete"),
        ("job", b"j1"),
        ("key", b"k"),
        ("before.a", b"1"),
        ("before.b", b"2"),
        ("srem.1", b"S"),
        ("zrem.1", b"Z"),
        ("zrem.1.score", b"5"),
        ("deleted", b"1"),
    ]);
    assert!(c.reverse_restores_a_job());
    let inv = c.inverse("undo").expect("reversible");
    let step = inv.step(&[b"k2".to_vec()]);
    assert!(step.guards.contains(&Op::Absent(b"k".to_vec())));
    assert!(step.guards.contains(&Op::Absent(b"k2".to_vec())));
    assert!(step
        .writes
        .contains(&Op::Zadd(b"Z".to_vec(), b"k".to_vec(), b"5".to_vec())));
    round_trip(&c);
}

#[test]
fn a_reconcile_reverses_field_by_field() {
    let c = change(&[
        ("action", b"reconcile"),
        ("key", b"k"),
        ("hset.status", b"new"),
        ("before.status", b"old"),
        ("hset.job_id", b"j"),
        ("sadd.1", b"S"),
        ("srem.1", b"T"),
        ("zadd.1", b"Z"),
        ("zadd.1.score", b"2"),
        ("zadd.1.before", b"1"),
    ]);
    let inv = c.inverse("undo").expect("reversible");
    assert_eq!(inv.hset, vec![(b"status".to_vec(), b"old".to_vec())]);
    assert_eq!(inv.hdel, vec![b"job_id".to_vec()]);
    round_trip(&c);
    let ghost = change(&[("action", b"remove_ghost"), ("key", b"g"), ("srem.1", b"S")]);
    assert_eq!(ghost.shape, Shape::Ghost);
    round_trip(&ghost);
}

#[test]
fn a_start_entry_is_no_change() {
    assert_eq!(read(&entry(&[("action", b"start")])), Reading::Start);
}
