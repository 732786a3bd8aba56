//! Tests of applying repairs: invocations, batching into calls, and reading the replies.

use super::*;
use redis::Value;

fn item(code: i64, why: &str) -> Value {
    Value::Array(vec![Value::Int(code), Value::BulkString(why.into())])
}

#[test]
fn a_call_reports_each_action() {
    let r = Ok(Value::Array(vec![
        item(1, "applied"),
        item(0, "the record is gone"),
        item(0, "already applied"),
    ]));
    assert_eq!(
        call_outcomes(r, 3),
        (
            vec![
                RepairOutcome::Applied,
                RepairOutcome::Skipped("the record is gone".into()),
                RepairOutcome::AlreadyApplied("already applied".into()),
            ],
            Rest::None
        )
    );
}

#[test]
fn a_refusal_keeps_the_applied_and_stops_the_rest() {
    let r = Ok(Value::Array(vec![
        item(1, "applied"),
        item(-1, "NOPERM the Redis user may not run SADD on s"),
    ]));
    let (outs, rest) = call_outcomes(r, 4);
    assert_eq!(outs.len(), 2);
    assert_eq!(outs[0], RepairOutcome::Applied);
    assert!(matches!(&outs[1], RepairOutcome::Refused(e) if e.starts_with("NOPERM")));
    assert_eq!(rest, Rest::Stopped(2));
}

#[test]
fn another_error_fails_its_action_and_sends_the_rest_again() {
    let r = Ok(Value::Array(vec![item(-1, "ERR something odd")]));
    let (outs, rest) = call_outcomes(r, 3);
    assert_eq!(
        outs,
        vec![RepairOutcome::Failed("ERR something odd".into())]
    );
    assert_eq!(rest, Rest::Resend(1));
    // An error at the last action leaves nothing behind it.
    let r = Ok(Value::Array(vec![item(1, "applied"), item(-1, "ERR x")]));
    assert_eq!(call_outcomes(r, 2).1, Rest::None);
}

#[test]
fn a_failed_call_or_a_short_reply_covers_every_action() {
    let (outs, rest) = call_outcomes(Err("NOPERM no permissions".into()), 2);
    assert_eq!(outs.len(), 2);
    assert!(outs.iter().all(|o| matches!(o, RepairOutcome::Refused(_))));
    assert_eq!(rest, Rest::None);
    let (outs, _) = call_outcomes(Ok(Value::Array(vec![item(1, "applied")])), 3);
    assert_eq!(outs[0], RepairOutcome::Applied);
    assert!(matches!(&outs[1], RepairOutcome::Unknown(_)));
    assert!(matches!(&outs[2], RepairOutcome::Unknown(_)));
}

#[test]
fn calls_are_bounded_by_count_and_bytes() {
    let audit = Audit::new(b"jobq:audit".to_vec(), "reindex");
    let small = Invocation {
        keys: vec![b"k".to_vec()],
        args: vec![b"0".to_vec(), b"0".to_vec()],
    };
    let parts: Vec<Option<(usize, Invocation)>> =
        (0..70).map(|_| Some((1, small.clone()))).collect();
    let which: Vec<usize> = (0..70).collect();
    let got = calls(&which, &parts, 32, &audit, b"");
    let sizes: Vec<usize> = got.iter().map(|(g, _)| g.len()).collect();
    assert_eq!(sizes, [32, 32, 6]);
    // The call's layout (batch.lua): stream first, then each action's
    // keys; maxlen, count, header length, header, common argument, then
    // each action's counts and arguments.
    let (_, inv) = &got[2];
    assert_eq!(inv.keys.len(), 1 + 6);
    assert_eq!(inv.keys[0], b"jobq:audit".to_vec());
    assert_eq!(inv.args[1], b"6".to_vec());
    let h: usize = String::from_utf8_lossy(&inv.args[2]).parse().expect("h");
    assert_eq!(inv.args.len(), 3 + h + 1 + 6 * (2 + 2));
    let big = Invocation {
        keys: vec![b"k".to_vec()],
        args: vec![vec![b'x'; MAX_CALL_BYTES / 2]],
    };
    let parts = vec![
        Some((2, big.clone())),
        Some((2, big.clone())),
        Some((2, big)),
    ];
    let got = calls(&[0, 1, 2], &parts, 8, &audit, b"");
    assert_eq!(
        got.len(),
        3,
        "no call over the byte bound, unless one action is"
    );
}
